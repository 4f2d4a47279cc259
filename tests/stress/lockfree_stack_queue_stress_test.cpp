// Stress tests of quiesce::lockfree::treiber_stack<T> and quiesce::lockfree::ms_queue<T>: several
// producers and consumers at once, then the invariants.
//
//   * Exactly once: every value (producer id, sequence number) pushed is
//     popped exactly once: none lost, none duplicated (a per-producer bitmap).
//   * Not torn, not freed: every value carries canaries at both ends and a
//     heap-allocated check word derived from (producer, seq). A value read
//     from a node after its element was destroyed (the destructor overwrites
//     the canaries and frees the word) or from memory a later node re-used
//     fails the check; under ASan the structures also poison reclaimed nodes
//     (lockfree/detail/poison.hpp), so such a read is a report.
//   * FIFO per producer (queue): each consumer sees each producer's values in
//     increasing sequence order.
//   * No leaks: live elements return to zero once the structure and its
//     domain are gone, and the domain reclaims every retired node.
// Each case runs in the default hazard-pointer domain and in a private one
// with a tiny scan threshold (reclamation races with the pops all the time),
// and once with the domain's asynchronous reclaimer threads.
#include <quiesce/lockfree.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <latch>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace {

using quiesce::hazard_pointer_domain;

constexpr bool slow_build = quiesce::detail::base::tsan || quiesce::detail::lockfree::asan_poisoning;
int scaled(int n) { return slow_build ? n / 10 : n; }

std::atomic<long> g_live{0};

constexpr std::uint64_t alive_front = 0xC0FFEE00C0FFEE00ull;
constexpr std::uint64_t alive_back = 0x5AFE5AFE5AFE5AFEull;
constexpr std::uint64_t dead = 0xDEADBEEFDEADBEEFull;

std::uint64_t check_word(std::uint32_t producer, std::uint64_t seq) {
  return (seq * 0x9E3779B97F4A7C15ull) ^ (std::uint64_t{producer} << 48) ^ 0x1234567ull;
}

// An element with canaries and owned heap memory; destruction poisons it.
struct item {
  item(std::uint32_t p, std::uint64_t s) : producer(p), seq(s), word(std::make_unique<std::uint64_t>(check_word(p, s))) {
    g_live.fetch_add(1, std::memory_order_relaxed);
  }
  item(item&& o) noexcept : producer(o.producer), seq(o.seq), word(std::move(o.word)) {
    g_live.fetch_add(1, std::memory_order_relaxed);
  }
  item(const item&) = delete;
  item& operator=(const item&) = delete;
  item& operator=(item&&) = delete;
  ~item() {
    front = dead;
    back = dead;
    g_live.fetch_sub(1, std::memory_order_relaxed);
  }
  bool intact() const { return front == alive_front && back == alive_back && word && *word == check_word(producer, seq); }

  std::uint64_t front = alive_front;
  std::uint32_t producer;
  std::uint64_t seq;
  std::unique_ptr<std::uint64_t> word;
  std::uint64_t back = alive_back;
};

struct result {
  std::vector<std::vector<std::uint8_t>> seen;  // [producer][seq]: times popped
  std::atomic<long> bad{0};                     // torn / destroyed values
  std::atomic<long> fifo_violations{0};
  std::atomic<long> empty_pops{0};
};

// P producers push `per` items each while C consumers pop until all P*per
// have been popped. S is lockfree::treiber_stack<item> or lockfree::ms_queue<item>.
template <class S>
void run(S& s, int producers, int consumers, int per, bool check_fifo, result& r) {
  const long total = static_cast<long>(producers) * per;
  r.seen.assign(static_cast<std::size_t>(producers), std::vector<std::uint8_t>(static_cast<std::size_t>(per), 0));
  std::atomic<long> popped{0};
  std::latch start(producers + consumers);
  // Pops per (producer, seq), counted by whichever consumer popped it.
  std::vector<std::vector<std::atomic<std::uint8_t>>> hits(static_cast<std::size_t>(producers));
  for (auto& v : hits) v = std::vector<std::atomic<std::uint8_t>>(static_cast<std::size_t>(per));
  {
    std::vector<std::jthread> threads;
    for (int p = 0; p < producers; ++p) {
      threads.emplace_back([&, p] {
        start.arrive_and_wait();
        for (int i = 0; i < per; ++i) {
          if (i % 2 == 0) {
            s.emplace(static_cast<std::uint32_t>(p), static_cast<std::uint64_t>(i));
          } else {
            s.push(item(static_cast<std::uint32_t>(p), static_cast<std::uint64_t>(i)));
          }
        }
      });
    }
    for (int c = 0; c < consumers; ++c) {
      threads.emplace_back([&] {
        start.arrive_and_wait();
        std::vector<std::int64_t> last(static_cast<std::size_t>(producers), -1);
        while (popped.load(std::memory_order_relaxed) < total) {
          std::optional<item> v = s.pop();
          if (!v) {
            r.empty_pops.fetch_add(1, std::memory_order_relaxed);
            std::this_thread::yield();  // not synchronisation: lets producers run on 2 CPUs
            continue;
          }
          popped.fetch_add(1, std::memory_order_relaxed);
          if (!v->intact() || v->producer >= static_cast<std::uint32_t>(producers) ||
              v->seq >= static_cast<std::uint64_t>(per)) {
            r.bad.fetch_add(1, std::memory_order_relaxed);
            continue;
          }
          hits[v->producer][v->seq].fetch_add(1, std::memory_order_relaxed);
          auto& l = last[v->producer];
          if (check_fifo && static_cast<std::int64_t>(v->seq) <= l) r.fifo_violations.fetch_add(1, std::memory_order_relaxed);
          l = static_cast<std::int64_t>(v->seq);
        }
      });
    }
  }  // joins
  for (std::size_t p = 0; p < hits.size(); ++p)
    for (std::size_t i = 0; i < hits[p].size(); ++i) r.seen[p][i] = hits[p][i].load(std::memory_order_relaxed);
}

void expect_exactly_once(const result& r) {
  long lost = 0, duplicated = 0;
  for (const auto& v : r.seen)
    for (std::uint8_t n : v) {
      if (n == 0) ++lost;
      if (n > 1) ++duplicated;
    }
  EXPECT_EQ(lost, 0) << "values never popped";
  EXPECT_EQ(duplicated, 0) << "values popped more than once";
  EXPECT_EQ(r.bad.load(), 0) << "torn, destroyed or foreign values popped";
}

enum class domain_kind { default_domain, private_eager, private_async };

template <template <class> class S>
void stress(domain_kind kind, int producers, int consumers, int per, bool fifo) {
  g_live = 0;
  result r;
  if (kind == domain_kind::default_domain) {
    {
      S<item> s;
      run(s, producers, consumers, per, fifo, r);
      EXPECT_TRUE(s.empty());
    }
    quiesce::hazard_pointer_cleanup();
  } else {
    // min_threshold 4: scans (and frees) every few retires, while other
    // threads still hold hazards on the nodes concerned.
    hazard_pointer_domain dom(hazard_pointer_domain::options{.min_threshold = 4});
    if (kind == domain_kind::private_async) dom.start_async_reclaim(/*pin=*/false);
    {
      S<item> s(dom);
      run(s, producers, consumers, per, fifo, r);
      EXPECT_TRUE(s.empty());
    }
    dom.stop_async_reclaim();
    quiesce::hazard_pointer_cleanup(dom);
    const auto st = dom.stats();
    EXPECT_EQ(st.unreclaimed, 0u);
    EXPECT_EQ(st.reclaimed, st.retired);
    // Every popped node retired, or freed at once by a consumer that held
    // the domain's only records (the stack's producers hold none).
    EXPECT_EQ(st.retired + st.freed_at_once, static_cast<std::uint64_t>(producers) * static_cast<std::uint64_t>(per));
  }
  expect_exactly_once(r);
  EXPECT_EQ(r.fifo_violations.load(), 0) << "a consumer saw a producer's values out of order";
  EXPECT_EQ(g_live.load(), 0) << "elements leaked or destroyed twice";
}

TEST(TreiberStackStress, TwoProducersTwoConsumersDefaultDomain) {
  stress<quiesce::lockfree::treiber_stack>(domain_kind::default_domain, 2, 2, scaled(300000), false);
}
TEST(TreiberStackStress, TwoProducersTwoConsumersPrivateDomain) {
  stress<quiesce::lockfree::treiber_stack>(domain_kind::private_eager, 2, 2, scaled(300000), false);
}
TEST(TreiberStackStress, ThreeProducersOneConsumerAsyncReclaim) {
  stress<quiesce::lockfree::treiber_stack>(domain_kind::private_async, 3, 1, scaled(200000), false);
}
TEST(TreiberStackStress, OneProducerThreeConsumersPrivateDomain) {
  stress<quiesce::lockfree::treiber_stack>(domain_kind::private_eager, 1, 3, scaled(400000), false);
}

TEST(MsQueueStress, TwoProducersTwoConsumersDefaultDomain) {
  stress<quiesce::lockfree::ms_queue>(domain_kind::default_domain, 2, 2, scaled(300000), true);
}
TEST(MsQueueStress, TwoProducersTwoConsumersPrivateDomain) {
  stress<quiesce::lockfree::ms_queue>(domain_kind::private_eager, 2, 2, scaled(300000), true);
}
TEST(MsQueueStress, ThreeProducersOneConsumerAsyncReclaim) {
  stress<quiesce::lockfree::ms_queue>(domain_kind::private_async, 3, 1, scaled(200000), true);
}
TEST(MsQueueStress, OneProducerThreeConsumersPrivateDomain) {
  stress<quiesce::lockfree::ms_queue>(domain_kind::private_eager, 1, 3, scaled(400000), true);
}

// Every thread both pushes and pops (the mixed workload): values are popped
// by their own producer as often as by others, and the structure hovers
// around empty, where the queue's dummy and tail-lag paths run.
template <template <class> class S>
void mixed(int threads, int per) {
  g_live = 0;
  hazard_pointer_domain dom(hazard_pointer_domain::options{.min_threshold = 4});
  std::vector<std::vector<std::atomic<std::uint8_t>>> hits(static_cast<std::size_t>(threads));
  for (auto& v : hits) v = std::vector<std::atomic<std::uint8_t>>(static_cast<std::size_t>(per));
  std::atomic<long> bad{0};
  {
    S<item> s(dom);
    std::latch start(threads);
    {
      std::vector<std::jthread> ts;
      for (int t = 0; t < threads; ++t) {
        ts.emplace_back([&, t] {
          start.arrive_and_wait();
          auto take = [&](std::optional<item> v) {
            if (!v) return;
            if (!v->intact()) {
              bad.fetch_add(1, std::memory_order_relaxed);
              return;
            }
            hits[v->producer][v->seq].fetch_add(1, std::memory_order_relaxed);
          };
          for (int i = 0; i < per; ++i) {
            s.emplace(static_cast<std::uint32_t>(t), static_cast<std::uint64_t>(i));
            take(s.pop());
          }
        });
      }
    }
    // Whatever is left: pop it here.
    while (auto v = s.pop()) {
      if (!v->intact()) bad.fetch_add(1, std::memory_order_relaxed);
      else hits[v->producer][v->seq].fetch_add(1, std::memory_order_relaxed);
    }
  }
  quiesce::hazard_pointer_cleanup(dom);
  long wrong = 0;
  for (auto& v : hits)
    for (auto& n : v)
      if (n.load() != 1) ++wrong;
  EXPECT_EQ(wrong, 0) << "values lost or duplicated";
  EXPECT_EQ(bad.load(), 0);
  EXPECT_EQ(g_live.load(), 0);
  EXPECT_EQ(dom.stats().unreclaimed, 0u);
}

TEST(TreiberStackStress, MixedPushPopFourThreads) { mixed<quiesce::lockfree::treiber_stack>(4, scaled(300000)); }
TEST(MsQueueStress, MixedPushPopFourThreads) { mixed<quiesce::lockfree::ms_queue>(4, scaled(300000)); }

}  // namespace
