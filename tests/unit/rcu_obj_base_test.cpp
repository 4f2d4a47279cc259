// Unit tests for rcu_obj_base and rcu_retire: deleters run once, after a grace
// period, outside read-side sections, on liburcu's worker, for every flavour.
#include <quiesce/rcu.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <thread>
#include <type_traits>

namespace {

std::atomic<int> destroyed{0};
std::atomic<int> deleted_inside_section{0};
std::atomic<int> deleted_on_caller_thread{0};
thread_local bool is_test_thread = false;

template <class D>
struct node : quiesce::rcu_obj_base<node<D>> {
  int value = 7;
  ~node() {
    // For QSBR, "inside a section" means inside a guard (the worker is online
    // between quiescent states by design).
    if constexpr (std::is_same_v<D, quiesce::rcu_qsbr_domain>) {
      if (quiesce::detail::rcu::qsbr_guard_depth != 0) ++deleted_inside_section;
    } else if (D::read_ongoing()) {
      ++deleted_inside_section;
    }
    if (is_test_thread) ++deleted_on_caller_thread;
    ++destroyed;
  }
};

template <class D>
class RcuRetire : public ::testing::Test {
 protected:
  void SetUp() override {
    is_test_thread = true;
    destroyed = 0;
    deleted_inside_section = 0;
    deleted_on_caller_thread = 0;
  }
};
using Domains = ::testing::Types<quiesce::rcu_domain, quiesce::rcu_qsbr_domain, quiesce::rcu_mb_domain,
                                 quiesce::rcu_bp_domain>;
TYPED_TEST_SUITE(RcuRetire, Domains);

template <class D>
std::unique_ptr<quiesce::rcu_thread_registration<D>> register_if_qsbr() {
  if constexpr (std::is_same_v<D, quiesce::rcu_qsbr_domain>)
    return std::make_unique<quiesce::rcu_thread_registration<D>>();
  return nullptr;
}

TYPED_TEST(RcuRetire, ObjBaseRetireRunsDeleterOnceAfterBarrier) {
  using D = TypeParam;
  auto reg = register_if_qsbr<D>();
  constexpr int n = 100;
  for (int i = 0; i < n; ++i) (new node<D>)->retire({}, D::instance());
  D::instance().barrier();
  EXPECT_EQ(destroyed.load(), n);
  EXPECT_EQ(deleted_inside_section.load(), 0) << "deleters must run outside read-side sections";
  EXPECT_EQ(deleted_on_caller_thread.load(), 0) << "deleters run on liburcu's call_rcu worker";
}

TYPED_TEST(RcuRetire, RcuRetireWithCustomDeleterAndState) {
  using D = TypeParam;
  auto reg = register_if_qsbr<D>();
  std::atomic<int> calls{0};
  int* p = new int(5);
  quiesce::rcu_retire(
      p,
      [&calls](int* q) {
        calls += *q;
        delete q;
      },
      D::instance());
  quiesce::rcu_retire(static_cast<int*>(nullptr), std::default_delete<int>(), D::instance());  // ignored
  quiesce::rcu_barrier(D::instance());
  EXPECT_EQ(calls.load(), 5);
}

TYPED_TEST(RcuRetire, ObjectReadUnderGuardSurvivesUntilReaderLeaves) {
  using D = TypeParam;
  auto reg = register_if_qsbr<D>();
  std::atomic<node<D>*> shared{new node<D>};
  std::atomic<int> stage{0};
  std::atomic<int> seen{0};
  std::thread reader([&] {
    auto r = register_if_qsbr<D>();
    {
      quiesce::rcu_read_guard<D> g;
      node<D>* p = shared.load(std::memory_order_acquire);
      stage = 1;
      while (stage.load() != 2) std::this_thread::yield();
      for (int i = 0; i < 1000; ++i) std::this_thread::yield();
      seen = p->value;  // must still be alive: retired after we loaded it
      EXPECT_EQ(destroyed.load(), 0);
    }
    if constexpr (std::is_same_v<D, quiesce::rcu_qsbr_domain>) quiesce::rcu_quiescent_state();
  });
  while (stage.load() != 1) std::this_thread::yield();
  node<D>* old = shared.exchange(nullptr);
  old->retire({}, D::instance());
  stage = 2;
  {
    // Waiting for the barrier must not hold up the reader's grace period.
    std::unique_ptr<quiesce::rcu_offline_scope> off;
    if constexpr (std::is_same_v<D, quiesce::rcu_qsbr_domain>) off = std::make_unique<quiesce::rcu_offline_scope>();
    reader.join();
    D::instance().barrier();
  }
  EXPECT_EQ(seen.load(), 7);
  EXPECT_EQ(destroyed.load(), 1);
}

struct counted_deleter {
  static inline std::atomic<int> calls{0};
  void operator()(struct plain* p) const;
};
struct plain : quiesce::rcu_obj_base<plain, counted_deleter> {
  int x = 1;
};
void counted_deleter::operator()(plain* p) const {
  ++calls;
  delete p;
}

TEST(RcuObjBase, CustomDeleterTypeAndCopiesAreIndependent) {
  counted_deleter::calls = 0;
  auto* a = new plain;
  auto* b = new plain(*a);  // a copy is a different, un-retired object
  a->retire();
  b->retire();
  quiesce::rcu_barrier();
  EXPECT_EQ(counted_deleter::calls.load(), 2);
}

// An empty deleter, trivially copyable (C++26 [saferecl.rcu.base]/6).
struct trivial_deleter {
  static inline std::atomic<int> calls{0};
  template <class T>
  void operator()(T* p) const {
    calls.fetch_add(1);
    delete p;
  }
};
struct empty_payload : quiesce::rcu_obj_base<empty_payload, trivial_deleter> {};

// The standard's shape: noexcept retire, every special member defaulted (so
// trivially copyable with a trivially copyable deleter), one rcu_head of
// space and nothing for an empty deleter; and such an object retires.
TEST(RcuObjBase, StandardShape) {
  static_assert(noexcept(std::declval<plain&>().retire()));
  static_assert(std::is_trivially_copyable_v<quiesce::rcu_obj_base<empty_payload, trivial_deleter>>);
  static_assert(std::is_trivially_copyable_v<empty_payload>);
  static_assert(!std::is_default_constructible_v<quiesce::rcu_obj_base<empty_payload, trivial_deleter>>);
  static_assert(!std::is_destructible_v<quiesce::rcu_obj_base<empty_payload, trivial_deleter>>);
  static_assert(std::is_nothrow_copy_constructible_v<empty_payload> && std::is_nothrow_move_assignable_v<empty_payload>);
  static_assert(sizeof(empty_payload) == sizeof(rcu_head));
  trivial_deleter::calls = 0;
  auto* a = new empty_payload;
  auto* b = new empty_payload(*a);  // copied before a is retired: b is its own, un-retired object
  a->retire();
  b->retire();
  quiesce::rcu_barrier();
  EXPECT_EQ(trivial_deleter::calls.load(), 2);
}

TEST(RcuRetireFromManyThreads, EveryObjectDeletedExactlyOnce) {
  destroyed = 0;
  constexpr int threads = 4, per_thread = 2000;
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t)
    ts.emplace_back([] {
      for (int i = 0; i < per_thread; ++i) {
        if (i % 2)
          (new node<quiesce::rcu_domain>)->retire();
        else
          quiesce::rcu_retire(new node<quiesce::rcu_domain>);
      }
    });
  for (auto& t : ts) t.join();
  quiesce::rcu_barrier();
  EXPECT_EQ(destroyed.load(), threads * per_thread);
  EXPECT_EQ(quiesce::rcu_default_domain().stats().outstanding, 0u);
}

}  // namespace
