// Must not compile: two hot counters, written by different threads, packed
// into one 128-byte block. quiesce/base/layout.hpp rejects the
// layout with a message naming the fix (give the next field alignas(128)).
#include <atomic>
#include <cstddef>

#include <quiesce/base/layout.hpp>

struct packed_counters {
  alignas(128) std::atomic<long> produced{0};  // written by the producer
  std::atomic<long> consumed{0};               // written by the consumer: same block
};

static_assert(quiesce::detail::layout::hot_field_alone<packed_counters, offsetof(packed_counters, produced),
                                                       offsetof(packed_counters, consumed)>);

int main() { return 0; }
