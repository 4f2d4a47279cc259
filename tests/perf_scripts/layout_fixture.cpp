// Known layouts for tests/perf_scripts/perf_scripts_test.sh: the layout
// audit must pass the padded types and fail the packed ones, naming the
// field and the fix (rules: layout_fixture.rules). Compiled with -g -c by
// scripts/layout_audit.sh; never linked.
#include <atomic>

namespace layout_fixture {

struct packed_counters {  // consumed shares produced's block
  alignas(128) std::atomic<long> produced{0};
  std::atomic<long> consumed{0};
};

struct padded_counters {
  alignas(128) std::atomic<long> produced{0};
  alignas(128) std::atomic<long> consumed{0};
};

struct unaligned_state {  // a shared type without alignas
  std::atomic<long> head{0};
  std::atomic<long> tail{0};
};

struct misplaced_hot {  // the hot field does not start a block
  long read_mostly = 0;
  std::atomic<long> hot{0};
  alignas(128) long other = 0;
};

}  // namespace layout_fixture
