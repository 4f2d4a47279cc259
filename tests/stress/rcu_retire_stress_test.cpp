// Stress: readers traverse RCU-protected objects while writers replace and
// retire them, for every flavour. Every object carries a canary that its
// deleter poisons; poisoned objects are quarantined (not freed) until the
// test ends, so a reader that touches reclaimed memory reads the poison
// deterministically instead of whatever the allocator put there. Payload
// fields carry invariants (b == a + 100, c == 3a) so torn reads are caught.
#include <quiesce/rcu.hpp>

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

namespace {

constexpr std::uint64_t live_canary = 0x51ee9c0ffee0a11eULL;
constexpr std::uint64_t dead_canary = 0xdeadbeefdeadbeefULL;
#if QUIESCE_TSAN
constexpr int scale = 10;
#else
constexpr int scale = 1;
#endif

struct item;
struct quarantine_deleter {
  void operator()(item* p) const;
};

struct item : quiesce::rcu_obj_base<item, quarantine_deleter> {
  explicit item(std::uint64_t v) : a(v), b(v + 100), c(3 * v) {}
  std::atomic<std::uint64_t> canary{live_canary};
  std::uint64_t a, b, c;
  std::atomic<int> reclaimed{0};
};

// Deleted objects: poisoned here, freed at the end of the test.
std::mutex quarantine_mutex;
std::vector<item*> quarantine;
std::atomic<long> deleter_runs{0};
std::atomic<long> double_reclaims{0};

void quarantine_deleter::operator()(item* p) const {
  if (p->reclaimed.fetch_add(1) != 0) ++double_reclaims;
  p->canary.store(dead_canary, std::memory_order_relaxed);
  p->a = p->b = p->c = 0xabababababababab;
  ++deleter_runs;
  std::lock_guard lk(quarantine_mutex);
  quarantine.push_back(p);
}

void free_quarantine() {
  std::lock_guard lk(quarantine_mutex);
  for (item* p : quarantine) delete p;
  quarantine.clear();
}

template <class D>
class RcuRetireStress : public ::testing::Test {};
using Domains = ::testing::Types<quiesce::rcu_domain, quiesce::rcu_qsbr_domain, quiesce::rcu_mb_domain,
                                 quiesce::rcu_bp_domain>;
TYPED_TEST_SUITE(RcuRetireStress, Domains);

TYPED_TEST(RcuRetireStress, ReadersNeverSeeReclaimedOrTornObjects) {
  using D = TypeParam;
  constexpr bool qsbr = std::is_same_v<D, quiesce::rcu_qsbr_domain>;
  constexpr int slots = 16;
  constexpr int readers = 2, writers = 2;
  const int updates_per_writer = 20000 / scale;

  deleter_runs = 0;
  double_reclaims = 0;
  std::array<std::atomic<item*>, slots> table;
  for (int i = 0; i < slots; ++i) table[i].store(new item(static_cast<std::uint64_t>(i)));

  std::atomic<int> writers_done{0};
  std::atomic<long> reads{0}, bad_canary{0}, torn{0};
  std::atomic<long> retired{0};

  auto register_qsbr = [] {
    if constexpr (qsbr) return std::make_unique<quiesce::rcu_thread_registration<D>>();
    else return std::unique_ptr<int>();
  };

  std::vector<std::thread> ts;
  for (int r = 0; r < readers; ++r)
    ts.emplace_back([&, r] {
      auto reg = register_qsbr();
      long local = 0;
      std::uint32_t i = static_cast<std::uint32_t>(r);
      // Read until the writers are done, and at least a few thousand times.
      while (writers_done.load(std::memory_order_acquire) < writers || local < 2000) {
        {
          quiesce::rcu_read_guard<D> g;
          for (int k = 0; k < 4; ++k) {
            const item* p = table[(i++) % slots].load(std::memory_order_acquire);
            if (p->canary.load(std::memory_order_relaxed) != live_canary) ++bad_canary;
            if (p->b != p->a + 100 || p->c != 3 * p->a) ++torn;
            ++local;
          }
        }
        if constexpr (qsbr) quiesce::rcu_quiescent_state();
      }
      reads += local;
    });
  for (int w = 0; w < writers; ++w)
    ts.emplace_back([&, w] {
      auto reg = register_qsbr();
      std::mt19937 rng(static_cast<unsigned>(w));
      for (int u = 0; u < updates_per_writer; ++u) {
        const int s = static_cast<int>(rng() % slots);
        item* fresh = new item(static_cast<std::uint64_t>(u) * 7 + static_cast<std::uint64_t>(w));
        item* old = table[s].exchange(fresh, std::memory_order_acq_rel);
        old->retire({}, D::instance());
        ++retired;
        if constexpr (qsbr) quiesce::rcu_quiescent_state();
      }
      writers_done.fetch_add(1, std::memory_order_release);
    });
  for (auto& t : ts) t.join();

  {
    auto reg = register_qsbr();
    for (auto& s : table) {
      s.load()->retire({}, D::instance());
      ++retired;
    }
    D::instance().barrier();
  }

  EXPECT_EQ(bad_canary.load(), 0) << "a reader saw a reclaimed object";
  EXPECT_EQ(torn.load(), 0) << "a reader saw a torn object";
  EXPECT_EQ(double_reclaims.load(), 0);
  EXPECT_EQ(deleter_runs.load(), retired.load()) << "every retired object reclaimed exactly once";
  EXPECT_GT(reads.load(), 0);
  free_quarantine();
}

TEST(RcuPtrStress, ManyWritersOneRcuPtr) {
  struct cfg {
    explicit cfg(std::uint64_t v) : a(v), b(v + 100) {}
    ~cfg() { a = b = 0; }
    std::uint64_t a, b;
  };
  quiesce::rcu_ptr<cfg> p{std::make_unique<cfg>(1)};
  std::atomic<bool> stop{false};
  std::atomic<long> torn{0};
  std::thread reader([&] {
    while (!stop.load(std::memory_order_relaxed)) {
      quiesce::rcu_read_guard g;
      const cfg* c = p.load(g);
      if (c->b != c->a + 100) ++torn;
    }
  });
  std::vector<std::thread> ws;
  for (int w = 0; w < 2; ++w)
    ws.emplace_back([&, w] {
      for (int i = 1; i <= 10000 / scale; ++i) p.store(std::make_unique<cfg>(static_cast<std::uint64_t>(i * 2 + w)));
    });
  for (auto& t : ws) t.join();
  stop = true;
  reader.join();
  EXPECT_EQ(torn.load(), 0);
}

}  // namespace
