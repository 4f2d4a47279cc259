// Stress tests of <quiesce/hazard_pointer.hpp>: readers protect and read
// objects that writers keep replacing and retiring. A deleted object is
// poisoned before its memory is freed, so a reader that reads a reclaimed
// object sees the poison (and ASan sees the use after free); torn or stale
// pairs break the invariant b == a + 1. Every object is reclaimed exactly
// once by the end. ctest runs these in both fence modes.
#include <quiesce/hazard_pointer.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <barrier>
#include <thread>
#include <vector>

#include <quiesce/base/config.hpp>

namespace {

constexpr std::uint64_t alive = 0x600D600D600D600Dull;
constexpr std::uint64_t poison = 0xDEADBEEFDEADBEEFull;

struct payload : quiesce::hazard_pointer_obj_base<payload> {
  payload(std::uint64_t a_, std::atomic<std::uint64_t>* d) : a(a_), b(a_ + 1), deleted(d) {}
  ~payload() {
    deleted->fetch_add(1, std::memory_order_relaxed);
    canary = poison;
    a = b = poison;
  }
  std::uint64_t canary = alive;
  std::uint64_t a, b;
  std::atomic<std::uint64_t>* deleted;
};

int scaled(int n) { return quiesce::detail::base::tsan ? n / 10 : n; }

void run_readers_and_writers(quiesce::hazard_pointer_domain& dom, int readers, int writers, int updates_per_writer) {
  std::atomic<std::uint64_t> deleted{0};
  std::atomic<std::uint64_t> created{1};
  std::atomic<payload*> src{new payload(0, &deleted)};
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> bad{0}, reads{0};
  std::barrier start(readers + writers);
  std::vector<std::thread> ts;
  for (int r = 0; r < readers; ++r) {
    ts.emplace_back([&] {
      start.arrive_and_wait();
      auto h = quiesce::make_hazard_pointer(dom);
      std::uint64_t n = 0, last = 0;
      while (!stop.load(std::memory_order_relaxed)) {
        payload* p = h.protect(src);
        if (p->canary != alive || p->b != p->a + 1) bad.fetch_add(1);
        if (p->a < last) bad.fetch_add(1);  // values only grow: a stale object would go back
        last = p->a;
        ++n;
        if ((n & 63) == 0) h.reset_protection();
      }
      reads.fetch_add(n);
    });
  }
  std::atomic<int> writers_done{0};
  for (int w = 0; w < writers; ++w) {
    ts.emplace_back([&] {
      start.arrive_and_wait();
      auto h = quiesce::make_hazard_pointer(dom);
      for (int i = 0; i < updates_per_writer; ++i) {
        // Values grow in publication order: each new value is the replaced
        // one's plus one. The writer protects `old` too: another writer may
        // replace and retire it between our load and our CAS.
        auto* fresh = new payload(0, &deleted);
        created.fetch_add(1);
        payload* old = h.protect(src);
        for (;;) {
          fresh->a = old->a + 1;
          fresh->b = fresh->a + 1;
          payload* expected = old;
          if (src.compare_exchange_strong(expected, fresh)) break;
          old = h.protect(src);
        }
        h.reset_protection();
        old->retire(dom);
      }
      if (writers_done.fetch_add(1) + 1 == writers) stop.store(true);
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(bad.load(), 0u);
  EXPECT_GT(reads.load(), 0u);
  quiesce::hazard_pointer_cleanup(dom);
  EXPECT_EQ(deleted.load(), created.load() - 1);  // all but the current one
  delete src.load();
  EXPECT_EQ(deleted.load(), created.load());
}

TEST(HazardPointerStress, OneWriterManyReaders) {
  quiesce::hazard_pointer_domain dom({.min_threshold = 64});
  run_readers_and_writers(dom, 3, 1, scaled(1000000));
}

TEST(HazardPointerStress, ManyWritersManyReaders) {
  quiesce::hazard_pointer_domain dom({.min_threshold = 64});
  run_readers_and_writers(dom, 2, 3, scaled(300000));
}

TEST(HazardPointerStress, AsyncReclaim) {
  quiesce::hazard_pointer_domain dom({.min_threshold = 64});
  dom.start_async_reclaim();
  run_readers_and_writers(dom, 2, 2, scaled(300000));
  dom.stop_async_reclaim();
}

TEST(HazardPointerStress, DefaultDomainWithThreadChurn) {
  // Threads that make hazard pointers, retire and exit, again and again:
  // records return to the domain at each exit and are re-used.
  std::atomic<std::uint64_t> deleted{0};
  const auto before = quiesce::hazard_pointer_default_domain().stats().hazard_records;
  for (int round = 0; round < scaled(200) + 5; ++round) {
    std::thread t([&] {
      auto hs = quiesce::make_hazard_pointers<2>();
      for (int i = 0; i < 50; ++i) (new payload(0, &deleted))->retire();
    });
    t.join();
  }
  quiesce::hazard_pointer_cleanup();
  const auto st = quiesce::hazard_pointer_default_domain().stats();
  EXPECT_LE(st.hazard_records, before + 2);
  EXPECT_EQ(deleted.load(), static_cast<std::uint64_t>((scaled(200) + 5) * 50));
}

}  // namespace
