// The hazard-pointer garbage bound at scale: a domain with 70,000 hazard
// records (a server with thousands of threads holding a few each), so that
// T = 2H = 140,000 is far past the 65,535 the retired list's packed count
// can hold. One thread retires a few hundred thousand objects; after every
// retire the objects still alive are within the bound the header states
// (structures/hazard_pointers/include/quiesce/hazard_pointer.hpp, "Amortisation and the
// garbage bound"), the one protected object is never freed, scans happen,
// and everything is freed once nothing is protected. Sync and async mode,
// an own domain (every retire pushed) and the default domain (32-object
// per-thread batches). A separate binary: the default domain keeps its
// records for the life of the process.
#include <quiesce/hazard_pointer.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <vector>

namespace {

using quiesce::hazard_pointer;
using quiesce::hazard_pointer_domain;
using quiesce::make_hazard_pointer;

constexpr std::size_t records = 70'000;
constexpr std::uint64_t batch = 32;  // the default domain's per-thread batch

struct tracked : quiesce::hazard_pointer_obj_base<tracked> {
  static constexpr std::uint64_t alive_canary = 0xA11CEA11CEA11CEull;
  static inline std::atomic<std::int64_t> alive{0};
  tracked() { alive.fetch_add(1, std::memory_order_relaxed); }
  ~tracked() {
    canary = 0xDEADDEADDEADDEADull;  // poisoned: a read after free shows it
    alive.fetch_sub(1, std::memory_order_relaxed);
  }
  std::uint64_t canary = alive_canary;
};

enum class mode { sync, async };

// The bound the header states for one node with one retiring thread:
// hard = 2T (sync) or 4T (async); the node's list stays below hard + b + H
// (b: the push size, 1 or a 32-object batch), each thread scanning the node
// holds at most one more such list (in async mode the node's reclaimer and
// the retiring thread past the hard bound), plus the retiring thread's own
// unpushed batch (at most b - 1).
std::uint64_t bound(std::uint64_t t, std::uint64_t h, mode m, std::uint64_t b) {
  const std::uint64_t hard = m == mode::sync ? 2 * t : 4 * t;
  const std::uint64_t scanners = m == mode::sync ? 1 : 2;
  return scanners * (hard + b + h) + (b - 1);
}

void retire_at_scale(hazard_pointer_domain& dom, mode m, bool batched) {
  tracked::alive.store(0);
  std::vector<hazard_pointer> hps;
  hps.reserve(records);
  for (std::size_t i = 0; i < records; ++i) hps.push_back(make_hazard_pointer(dom));
  if (m == mode::async) dom.start_async_reclaim();

  // One object stays protected the whole time: never freed, and counted in H.
  auto* victim = new tracked;
  std::atomic<tracked*> src{victim};
  tracked* p = hps[records / 2].protect(src);
  ASSERT_EQ(p, victim);
  src.store(nullptr);
  victim->retire(dom);

  const auto st0 = dom.stats();
  const std::uint64_t reclaimed0 = st0.reclaimed;
  ASSERT_GE(st0.hazard_records, records);
  const std::uint64_t t = st0.threshold;
  ASSERT_GE(t, 2 * records);  // T = 2H: far past the packed count's 65,535
  const std::uint64_t b = batched ? batch : 1;
  const std::uint64_t limit = bound(t, st0.hazard_records, m, b);
  // Several scan cycles, by the retiring thread alone if need be (at T in
  // sync mode; at 4T in async mode, should the reclaimer never run).
  const std::uint64_t n = m == mode::sync ? 3 * t + t / 2 : 9 * t;
  std::int64_t worst = 0;
  for (std::uint64_t i = 0; i < n; ++i) {
    (new tracked)->retire(dom);
    const std::int64_t a = tracked::alive.load(std::memory_order_relaxed);
    worst = std::max(worst, a);
    ASSERT_LE(static_cast<std::uint64_t>(a), limit) << "after retire " << i << " (T " << t << ")";
    ASSERT_EQ(victim->canary, tracked::alive_canary) << "the protected object was freed at retire " << i;
  }
  const auto st = dom.stats();
  EXPECT_GE(st.scans, 2u);
  if (m == mode::sync && !batched) {
    // One thread, no reclaimer: scans at T from the retiring thread, so the
    // list never reaches T, and stats() counts it exactly past 65,535.
    EXPECT_LT(static_cast<std::uint64_t>(worst), t + 1);
    EXPECT_EQ(st.unreclaimed, static_cast<std::uint64_t>(tracked::alive.load()));
    EXPECT_EQ(st.retired - st0.retired, n);
  }
  GTEST_LOG_(INFO) << "T " << t << ", H " << st.hazard_records << ": " << n << " retires, " << st.scans
                   << " scans, at most " << worst << " alive (bound " << limit << ")";

  hps[records / 2].reset_protection();
  if (m == mode::async) dom.stop_async_reclaim();
  quiesce::hazard_pointer_cleanup(dom);
  EXPECT_EQ(tracked::alive.load(), 0) << "everything is freed once nothing is protected";
  EXPECT_EQ(dom.stats().unreclaimed, 0u);
  EXPECT_EQ(dom.stats().reclaimed - reclaimed0, n + 1);
}

TEST(HazardPointerScale, OwnDomainSyncKeepsTheBoundPast65535) {
  hazard_pointer_domain dom;
  retire_at_scale(dom, mode::sync, false);
}

TEST(HazardPointerScale, OwnDomainAsyncKeepsTheBoundPast65535) {
  hazard_pointer_domain dom;
  retire_at_scale(dom, mode::async, false);
}

TEST(HazardPointerScale, DefaultDomainSyncKeepsTheBoundPast65535) {
  retire_at_scale(quiesce::hazard_pointer_default_domain(), mode::sync, true);
}

TEST(HazardPointerScale, DefaultDomainAsyncKeepsTheBoundPast65535) {
  retire_at_scale(quiesce::hazard_pointer_default_domain(), mode::async, true);
}

// A min_threshold far past the packed count: T = 200,000 with few records.
TEST(HazardPointerScale, LargeMinThresholdStillScans) {
  hazard_pointer_domain dom({.min_threshold = 200'000});
  tracked::alive.store(0);
  const std::uint64_t t = dom.stats().threshold;
  ASSERT_EQ(t, 200'000u);
  for (std::uint64_t i = 0; i < 2 * t + 10; ++i) {
    (new tracked)->retire(dom);
    ASSERT_LE(static_cast<std::uint64_t>(tracked::alive.load(std::memory_order_relaxed)), bound(t, 1, mode::sync, 1));
  }
  EXPECT_GE(dom.stats().scans, 2u);
  EXPECT_LT(static_cast<std::uint64_t>(tracked::alive.load()), t);
  quiesce::hazard_pointer_cleanup(dom);
  EXPECT_EQ(tracked::alive.load(), 0);
}

}  // namespace
