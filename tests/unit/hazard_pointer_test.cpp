// Unit tests of <quiesce/hazard_pointer.hpp>: the C++26 interface's
// semantics, domains, batches, cleanup, stats, the garbage bound with a
// stalled protector, asynchronous reclamation and the fence mode.
#include <quiesce/hazard_pointer.hpp>

#include <gtest/gtest.h>
#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <latch>
#include <memory>
#include <optional>
#include <random>
#include <thread>
#include <vector>

#include <quiesce/numa/placement.hpp>
#include <quiesce/numa/topology.hpp>

namespace {

using quiesce::hazard_pointer;
using quiesce::hazard_pointer_domain;
using quiesce::make_hazard_pointer;

// An object that counts its deletions and poisons itself when deleted.
struct tracked : quiesce::hazard_pointer_obj_base<tracked> {
  static constexpr std::uint64_t alive = 0xA11CEA11CEA11CEull;
  explicit tracked(std::atomic<int>* deleted, int v = 0) : deleted_(deleted), value(v) {}
  ~tracked() {
    canary = 0xDEADDEADDEADDEADull;
    deleted_->fetch_add(1, std::memory_order_relaxed);
  }
  std::atomic<int>* deleted_;
  int value;
  std::uint64_t canary = alive;
};

TEST(HazardPointer, DefaultConstructedIsEmptyAndMoveLeavesEmpty) {
  hazard_pointer h;
  EXPECT_TRUE(h.empty());
  hazard_pointer a = make_hazard_pointer();
  EXPECT_FALSE(a.empty());
  hazard_pointer b = std::move(a);
  EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move): the standard says empty
  EXPECT_FALSE(b.empty());
  swap(h, b);
  EXPECT_FALSE(h.empty());
  EXPECT_TRUE(b.empty());
  h = std::move(b);  // drops h's record
  EXPECT_TRUE(h.empty());
}

TEST(HazardPointer, ProtectReturnsTheCurrentValue) {
  std::atomic<int> deleted{0};
  auto* o = new tracked(&deleted, 7);
  std::atomic<tracked*> src{o};
  auto h = make_hazard_pointer();
  EXPECT_EQ(h.protect(src), o);
  std::atomic<tracked*> null_src{nullptr};
  EXPECT_EQ(h.protect(null_src), nullptr);
  delete o;
}

TEST(HazardPointer, TryProtectFailsAndReloadsWhenSourceDiffers) {
  std::atomic<int> deleted{0};
  tracked a(&deleted), b(&deleted);
  std::atomic<tracked*> src{&b};
  auto h = make_hazard_pointer();
  tracked* p = &a;
  EXPECT_FALSE(h.try_protect(p, src));
  EXPECT_EQ(p, &b);
  EXPECT_TRUE(h.try_protect(p, src));
  EXPECT_EQ(p, &b);
}

// p is protected: retired, a cleanup leaves it; once unprotect() has run,
// the next cleanup reclaims it.
template <class Unprotect>
void expect_reclaimed_only_once_unprotected(tracked* p, const std::atomic<int>& deleted, Unprotect unprotect) {
  p->retire();
  quiesce::hazard_pointer_cleanup();
  EXPECT_EQ(deleted.load(), 0);
  unprotect();
  quiesce::hazard_pointer_cleanup();
  EXPECT_EQ(deleted.load(), 1);
}

TEST(HazardPointer, ProtectedObjectIsNotReclaimedUntilReset) {
  std::atomic<int> deleted{0};
  auto* o = new tracked(&deleted);
  std::atomic<tracked*> src{o};
  auto h = make_hazard_pointer();
  tracked* p = h.protect(src);
  src.store(nullptr);
  expect_reclaimed_only_once_unprotected(p, deleted, [&] {
    EXPECT_EQ(p->canary, tracked::alive);
    h.reset_protection();
  });
}

TEST(HazardPointer, ResetProtectionWithPointerProtectsIt) {
  std::atomic<int> deleted{0};
  auto* o = new tracked(&deleted);
  auto h = make_hazard_pointer();
  h.reset_protection(o);
  expect_reclaimed_only_once_unprotected(o, deleted, [&] { h.reset_protection(nullptr); });
}

TEST(HazardPointer, DestroyingTheHazardPointerReleasesTheProtection) {
  std::atomic<int> deleted{0};
  auto* o = new tracked(&deleted);
  std::optional<quiesce::hazard_pointer> h = make_hazard_pointer();
  h->reset_protection(o);
  expect_reclaimed_only_once_unprotected(o, deleted, [&] { h.reset(); });  // destroys it
}

struct counting_deleter {
  std::atomic<int>* calls;
  void operator()(int* p) const {
    calls->fetch_add(1);
    delete p;
  }
};

TEST(HazardPointer, NonIntrusiveRetireRunsTheDeleterOnce) {
  std::atomic<int> calls{0};
  int* p = new int(5);
  auto h = make_hazard_pointer();
  h.reset_protection(p);
  quiesce::hazard_pointer_retire(p, counting_deleter{&calls});
  quiesce::hazard_pointer_cleanup();
  EXPECT_EQ(calls.load(), 0);
  h.reset_protection();
  quiesce::hazard_pointer_cleanup();
  EXPECT_EQ(calls.load(), 1);
}

// A stateful deleter type for hazard_pointer_obj_base<T, D>.
struct stateful;
struct stateful_deleter {
  std::atomic<int>* calls = nullptr;
  void operator()(stateful* p) const;
};
struct stateful : quiesce::hazard_pointer_obj_base<stateful, stateful_deleter> {};
void stateful_deleter::operator()(stateful* p) const {
  calls->fetch_add(1);
  delete p;
}

TEST(HazardPointer, ObjBaseUsesTheGivenDeleter) {
  std::atomic<int> calls{0};
  auto* s = new stateful;
  s->retire(stateful_deleter{&calls});
  quiesce::hazard_pointer_cleanup();
  EXPECT_EQ(calls.load(), 1);
}

TEST(HazardPointer, CopiedObjectIsANewUnretiredObject) {
  std::atomic<int> deleted{0};
  auto* a = new tracked(&deleted, 1);
  auto* b = new tracked(*a);  // copies the value, not the retirement state
  a->retire();
  b->retire();  // no "retired twice"
  quiesce::hazard_pointer_cleanup();
  EXPECT_EQ(deleted.load(), 2);
}

// An object built in memory that held other bytes before, as pool memory
// does: its header's retire fields (the address hazards name, the deleter,
// the list link) are whatever was there, since the constructor writes only
// the home node and the retired flag (detail::hp::retired_header).
struct recycled;
struct recycled_deleter {
  std::atomic<int>* calls = nullptr;
  void operator()(recycled* p) const;
};
struct recycled : quiesce::hazard_pointer_obj_base<recycled, recycled_deleter> {
  int value = 0;
};
void recycled_deleter::operator()(recycled* p) const {
  calls->fetch_add(1, std::memory_order_relaxed);
  p->~recycled();
  ::operator delete(p);
}
recycled* make_in_dirty_memory() {
  void* mem = ::operator new(sizeof(recycled));
  std::memset(mem, 0xA5, sizeof(recycled));
  return new (mem) recycled;
}

// The retire writes every header field a scan reads: objects built over
// 0xA5 bytes are freed once each, the protected one kept, in the default
// domain (the thread's batch) and in a domain of its own (one CAS each).
TEST(HazardPointer, RetireDoesNotRelyOnTheHeadersPreviousBytes) {
  hazard_pointer_domain own;
  for (hazard_pointer_domain* dom : {&quiesce::hazard_pointer_default_domain(), &own}) {
    std::atomic<int> calls{0};
    std::vector<recycled*> objs;
    for (int i = 0; i < 50; ++i) objs.push_back(make_in_dirty_memory());
    auto h = make_hazard_pointer(*dom);
    h.reset_protection(objs[7]);
    for (recycled* o : objs) o->retire(*dom, recycled_deleter{&calls});
    quiesce::hazard_pointer_cleanup(*dom);
    EXPECT_EQ(calls.load(), 49);
    EXPECT_EQ(objs[7]->value, 0);  // kept: still readable
    h.reset_protection();
    quiesce::hazard_pointer_cleanup(*dom);
    EXPECT_EQ(calls.load(), 50);
  }
}

TEST(HazardPointerDomain, OwnDomainReclaimsOnCleanupAndDestruction) {
  std::atomic<int> deleted{0};
  {
    hazard_pointer_domain dom;
    auto h = make_hazard_pointer(dom);
    auto* kept = new tracked(&deleted);
    h.reset_protection(kept);
    kept->retire(dom);
    for (int i = 0; i < 10; ++i) (new tracked(&deleted))->retire(dom);
    quiesce::hazard_pointer_cleanup(dom);
    EXPECT_EQ(deleted.load(), 10);
    auto st = dom.stats();
    EXPECT_EQ(st.retired, 11u);
    EXPECT_EQ(st.reclaimed, 10u);
    EXPECT_EQ(st.unreclaimed, 1u);
    h.reset_protection();
  }  // the destructor frees the last one
  EXPECT_EQ(deleted.load(), 11);
}

TEST(HazardPointerDomain, ScansAtTheThreshold) {
  std::atomic<int> deleted{0};
  hazard_pointer_domain dom({.min_threshold = 16});
  auto h = make_hazard_pointer(dom);  // H = 1, T = max(16, 2) = 16
  auto st0 = dom.stats();
  EXPECT_EQ(st0.hazard_records, 1u);
  EXPECT_EQ(st0.threshold, 16u);
  for (int i = 0; i < 15; ++i) (new tracked(&deleted))->retire(dom);
  EXPECT_EQ(deleted.load(), 0);  // below T: nothing scanned yet
  (new tracked(&deleted))->retire(dom);
  EXPECT_EQ(deleted.load(), 16);  // the 16th retire scanned (this thread is on the objects' node)
  EXPECT_EQ(dom.stats().scans, 1u);
  EXPECT_EQ(dom.stats().reclaimed_on_home_node, 16u);
}

// Free order (hazard_pointers/README.md, "Free order"): a scan runs its
// deleters in the list's order (newest retire first) while no other thread
// holds a record of the domain, and in descending address order while one
// does. Either way each object is freed exactly once and a protected one
// is kept.
struct ordered : quiesce::hazard_pointer_obj_base<ordered> {
  explicit ordered(std::vector<const ordered*>* log) : log_(log) {}
  ~ordered() { log_->push_back(this); }
  std::vector<const ordered*>* log_;
  char pad[40] = {};
};

// Retires `n` objects, allocated together and retired in a shuffled order,
// plus one that `keep` protects; returns them in retire order.
std::vector<ordered*> retire_shuffled(hazard_pointer_domain& dom, std::vector<const ordered*>& log, int n,
                                      hazard_pointer& keep) {
  std::vector<ordered*> objs;
  for (int i = 0; i < n; ++i) objs.push_back(new ordered(&log));
  std::shuffle(objs.begin(), objs.end(), std::mt19937_64{0x9E3779B97F4A7C15ull});  // fixed seed: the same order every run
  keep.reset_protection(objs[static_cast<std::size_t>(n / 2)]);
  for (ordered* o : objs) o->retire(dom);
  return objs;
}

TEST(HazardPointerDomain, AThreadAloneFreesInTheListsOrder) {
  std::vector<const ordered*> log;
  hazard_pointer_domain dom({.min_threshold = 1000});  // no scan before cleanup
  auto keep = make_hazard_pointer(dom);
  const std::vector<ordered*> objs = retire_shuffled(dom, log, 300, keep);
  quiesce::hazard_pointer_cleanup(dom);
  std::vector<const ordered*> expected;  // newest retire first, the kept one left out
  for (auto it = objs.rbegin(); it != objs.rend(); ++it)
    if (*it != objs[150]) expected.push_back(*it);
  EXPECT_EQ(log, expected);
  keep.reset_protection();
  quiesce::hazard_pointer_cleanup(dom);
  ASSERT_EQ(log.size(), 300u);
  EXPECT_EQ(log.back(), objs[150]);
}

TEST(HazardPointerDomain, WhileAnotherThreadHoldsARecordFreesInDescendingAddressOrder) {
  std::vector<const ordered*> log;
  hazard_pointer_domain dom({.min_threshold = 1000});
  std::latch holding{1};
  std::latch done{1};
  std::thread other([&] {
    auto h = make_hazard_pointer(dom);  // a record of dom, in use by another thread; protects nothing
    holding.count_down();
    done.wait();
  });
  holding.wait();
  auto keep = make_hazard_pointer(dom);
  const std::vector<ordered*> objs = retire_shuffled(dom, log, 300, keep);
  quiesce::hazard_pointer_cleanup(dom);
  ASSERT_EQ(log.size(), 299u);
  EXPECT_TRUE(std::is_sorted(log.begin(), log.end(), std::greater<>{})) << "not in descending address order";
  EXPECT_EQ(std::adjacent_find(log.begin(), log.end()), log.end()) << "an object freed twice";
  EXPECT_EQ(std::find(log.begin(), log.end(), objs[150]), log.end()) << "the protected object was freed";
  keep.reset_protection();
  quiesce::hazard_pointer_cleanup(dom);
  ASSERT_EQ(log.size(), 300u);
  EXPECT_EQ(log.back(), objs[150]);
  done.count_down();
  other.join();
}

TEST(HazardPointerDomain, ThresholdGrowsWithTheRecords) {
  hazard_pointer_domain dom({.min_threshold = 4});
  auto hs = quiesce::make_hazard_pointers<10>(dom);
  for (auto& h : hs) EXPECT_FALSE(h.empty());
  auto st = dom.stats();
  EXPECT_EQ(st.hazard_records, 10u);
  EXPECT_EQ(st.threshold, 20u);
}

TEST(HazardPointerDomain, RecordsAreReusedThroughTheThreadCache) {
  hazard_pointer_domain dom;
  const void* first;
  {
    auto h = make_hazard_pointer(dom);
    first = h.record_address();
  }
  for (int i = 0; i < 1000; ++i) {
    auto h = make_hazard_pointer(dom);
    EXPECT_EQ(h.record_address(), first);
  }
  EXPECT_EQ(dom.stats().hazard_records, 1u);
}

TEST(HazardPointerDomain, ManyDomainsPerThreadEvictCleanly) {
  // More domains than the thread cache has entries, destroyed in an order
  // that leaves stale entries behind; ASan catches any touch of freed records.
  std::atomic<int> deleted{0};
  std::vector<std::unique_ptr<hazard_pointer_domain>> doms;
  for (int i = 0; i < 6; ++i) doms.push_back(std::make_unique<hazard_pointer_domain>());
  for (int round = 0; round < 3; ++round) {
    for (auto& d : doms) {
      auto h = make_hazard_pointer(*d);
      (new tracked(&deleted))->retire(*d);
    }
  }
  doms.erase(doms.begin() + 1);
  doms.erase(doms.begin() + 3);
  for (auto& d : doms) {
    auto h = make_hazard_pointer(*d);
    quiesce::hazard_pointer_cleanup(*d);
  }
  std::thread t([&] {
    for (auto& d : doms) auto h = make_hazard_pointer(*d);
  });
  t.join();
  doms.clear();
  EXPECT_EQ(deleted.load(), 18);
  hazard_pointer_domain fresh;  // ids are never reused: no stale cache entry matches
  EXPECT_FALSE(make_hazard_pointer(fresh).empty());
}

TEST(HazardPointerDomain, ThreadExitReturnsCachedRecords) {
  hazard_pointer_domain dom;
  for (int i = 0; i < 4; ++i) {
    std::thread t([&] {
      auto hs = quiesce::make_hazard_pointers<3>(dom);
    });
    t.join();
  }
  // Each exiting thread handed its 3 records back; the next thread re-used them.
  EXPECT_EQ(dom.stats().hazard_records, 3u);
}

// A thread that exits while its hazard pointers (thread_local, destroyed by
// the thread's exit) still protect a retired object: the records go back to
// the domain (the next threads re-use them), and the object is freed by the
// next scan: nothing leaks, nothing dangles.
thread_local std::optional<hazard_pointer> exit_held;

TEST(HazardPointerDomain, ThreadExitingWhileProtectingReleasesItsRecords) {
  std::atomic<int> deleted{0};
  hazard_pointer_domain dom;
  for (int i = 0; i < 4; ++i) {
    auto* o = new tracked(&deleted, i);
    std::atomic<tracked*> src{o};
    std::thread t([&] {
      exit_held.emplace(make_hazard_pointer(dom));
      EXPECT_EQ(exit_held->protect(src), o);
      src.store(nullptr);
      o->retire(dom);
      quiesce::hazard_pointer_cleanup(dom);  // protected: kept
      EXPECT_EQ(deleted.load(), i);
    });  // exits holding the protection
    t.join();
    quiesce::hazard_pointer_cleanup(dom);
    EXPECT_EQ(deleted.load(), i + 1) << "the exited thread's protection outlived it";
  }
  EXPECT_EQ(dom.stats().hazard_records, 1u);  // one record, handed back and re-used each time
  EXPECT_EQ(dom.stats().unreclaimed, 0u);
}

// Bounded garbage: a thread protects one object and never lets go (it is
// parked on a latch until the end). Retiring many objects keeps the
// unreclaimed count within T + H at every step, and the protected object
// is never freed.
TEST(HazardPointerDomain, GarbageStaysBoundedWhileAProtectorIsStalled) {
  std::atomic<int> deleted{0};
  hazard_pointer_domain dom({.min_threshold = 64});
  auto* victim = new tracked(&deleted, 42);
  std::atomic<tracked*> src{victim};
  std::latch protected_once{1};
  std::latch release{1};
  std::thread stalled([&] {
    auto h = make_hazard_pointer(dom);
    tracked* p = h.protect(src);
    protected_once.count_down();
    release.wait();  // stalled "forever": until the test ends
    EXPECT_EQ(p->canary, tracked::alive);
    EXPECT_EQ(p->value, 42);
  });
  protected_once.wait();
  src.store(nullptr);
  victim->retire(dom);
  const auto h_records = dom.stats().hazard_records;
  std::uint64_t worst = 0;
  constexpr int n = 20000;
  for (int i = 0; i < n; ++i) {
    (new tracked(&deleted))->retire(dom);
    auto st = dom.stats();
    worst = std::max(worst, st.unreclaimed);
    ASSERT_LE(st.unreclaimed, st.threshold + st.hazard_records) << "at retire " << i;
  }
  EXPECT_GE(dom.stats().scans, static_cast<std::uint64_t>(n / (2 * 64)));
  quiesce::hazard_pointer_cleanup(dom);
  EXPECT_EQ(deleted.load(), n);  // everything but the victim
  EXPECT_EQ(dom.stats().unreclaimed, 1u);
  EXPECT_LE(worst, 64 + h_records);
  release.count_down();
  stalled.join();
  quiesce::hazard_pointer_cleanup(dom);
  EXPECT_EQ(deleted.load(), n + 1);
}

TEST(HazardPointerDomain, AsyncReclaimFreesOnTheNodesThread) {
  std::atomic<int> deleted{0};
  hazard_pointer_domain dom({.min_threshold = 32});
  dom.start_async_reclaim();
  dom.start_async_reclaim();  // idempotent
  for (int i = 0; i < 1000; ++i) (new tracked(&deleted))->retire(dom);
  quiesce::hazard_pointer_cleanup(dom);
  EXPECT_EQ(deleted.load(), 1000);
  dom.stop_async_reclaim();
  dom.stop_async_reclaim();
  auto st = dom.stats();
  EXPECT_EQ(st.reclaimed, 1000u);
  EXPECT_EQ(st.reclaimed_on_home_node + st.reclaimed_off_node, 1000u);
}

// The default domain batches each thread's retires (32 per push): another
// thread's batch reaches the domain when it fills, when that thread calls
// cleanup, or when it exits.
TEST(HazardPointer, DefaultDomainBatchesEachThreadsRetires) {
  std::atomic<int> deleted{0};
  std::latch retired{1}, checked{1}, cleaned{1}, checked_again{1};
  std::thread t([&] {
    for (int i = 0; i < 5; ++i) (new tracked(&deleted))->retire();
    retired.count_down();
    checked.wait();
    quiesce::hazard_pointer_cleanup();  // flushes this thread's batch, then scans
    cleaned.count_down();
    checked_again.wait();
    for (int i = 0; i < 3; ++i) (new tracked(&deleted))->retire();
  });  // exit flushes the last 3
  retired.wait();
  quiesce::hazard_pointer_cleanup();
  EXPECT_EQ(deleted.load(), 0);  // still in t's batch
  checked.count_down();
  cleaned.wait();
  EXPECT_EQ(deleted.load(), 5);
  checked_again.count_down();
  t.join();
  quiesce::hazard_pointer_cleanup();
  EXPECT_EQ(deleted.load(), 8);
  // A full batch goes to the domain by itself.
  for (int i = 0; i < 32; ++i) (new tracked(&deleted))->retire();
  std::thread([&] { quiesce::hazard_pointer_cleanup(); }).join();
  EXPECT_EQ(deleted.load(), 40);
}

// A home node the machine lacks (set_home_node is the caller's word) goes
// to node 0's list, through the default domain's batch and through an own
// domain alike; it must never index past the per-node lists.
struct far_node : quiesce::hazard_pointer_obj_base<far_node> {
  explicit far_node(std::atomic<int>* d, int node) : deleted(d) { set_home_node(node); }
  ~far_node() { deleted->fetch_add(1); }
  std::atomic<int>* deleted;
};

TEST(HazardPointer, HomeNodeOutsideTheMachineGoesToNodeZero) {
  std::atomic<int> deleted{0};
  hazard_pointer_domain dom;
  for (int node : {-1, 1 << 20}) {
    (new far_node(&deleted, node))->retire();
    (new far_node(&deleted, node))->retire(dom);
  }
  EXPECT_EQ(dom.stats().unreclaimed_per_node.at(0), 2u);
  quiesce::hazard_pointer_cleanup();
  quiesce::hazard_pointer_cleanup(dom);
  EXPECT_EQ(deleted.load(), 4);
}

TEST(HazardPointer, FenceModeFollowsTheKernelAndTheEnvironment) {
  const char* env = std::getenv("QUIESCE_HP_FENCE");
  const bool forced = env != nullptr && std::strcmp(env, "fence") == 0;
  const long cmds = syscall(__NR_membarrier, MEMBARRIER_CMD_QUERY, 0U, 0);
  const bool kernel_has = cmds >= 0 && (cmds & MEMBARRIER_CMD_PRIVATE_EXPEDITED) != 0;
  EXPECT_EQ(quiesce::hazard_pointer_asymmetric_fence(), kernel_has && !forced);
  if (!kernel_has) GTEST_LOG_(INFO) << "membarrier PRIVATE_EXPEDITED unavailable: fence mode only";
}

TEST(HazardPointer, RecordIsOnTheThreadsNode) {
  auto h = make_hazard_pointer();
  const int node = quiesce::numa::node_of_address(h.record_address());
  EXPECT_EQ(node, quiesce::numa::current_node());
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(h.record_address()) % 128, 0u);
}

}  // namespace
