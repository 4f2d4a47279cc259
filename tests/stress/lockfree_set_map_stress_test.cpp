// Stress and linearizability tests of lockfree::ordered_set, lockfree::hash_set
// and lockfree::hash_map (<quiesce/lockfree/...>).
//
// * Balance: threads insert, erase and look up overlapping key ranges; each
//   counts its successful inserts and erases per key. At the end, for every
//   key, inserts - erases is 1 if the key is present and 0 if not (no lost,
//   duplicated or phantom operation).
// * Canaries: values carry a canary and a copy of their key; readers check
//   both on every value they see (visit, find, for_each). A destroyed value
//   is poisoned before its node's memory goes back to the pool, so a reader
//   that reads a reclaimed node sees the poison; in ASan builds the node's
//   fields are also ASan-poisoned when it is destroyed (lockfree/detail/
//   poison.hpp: the pool recycles memory without telling ASan), so such a
//   read is a report.
// * insert_or_assign: values of one key carry increasing versions per
//   writer; readers never see a torn value.
// * Ordered walks: concurrent for_each on the ordered set sees strictly
//   ascending keys.
// * No leak: live values return to their starting count once the structure
//   is destroyed and the hazard-pointer domain cleaned up.
// * Linearizability: many small random histories from real threads, checked
//   with tests/lincheck's set spec (per key), on the ordered set, on the hash
//   set with one colliding bucket and on the map (as a set of keys).
#include <quiesce/hazard_pointer.hpp>
#include <quiesce/lockfree/hash_map.hpp>
#include <quiesce/lockfree/ordered_set.hpp>
#include <quiesce/base/config.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <barrier>
#include <cstdint>
#include <random>
#include <thread>
#include <vector>

#include "lincheck/lincheck.hpp"

namespace {

namespace lc = quiesce::lincheck;

constexpr std::uint64_t alive = 0x600D600D600D600Dull;
constexpr std::uint64_t poison = 0xDEADBEEFDEADBEEFull;

bool slow_build() { return quiesce::detail::base::asan || quiesce::detail::base::tsan; }
int scaled(int n) { return slow_build() ? n / 8 : n; }
int threads_for_test() { return 4; }  // more than the 2 CPUs: preemption inside operations

// A value with a canary; poisoned on destruction.
struct payload {
  static inline std::atomic<long> live{0};
  payload(std::uint64_t k, std::uint64_t ver) : key(k), version(ver), check(k * 31 + ver) { live.fetch_add(1); }
  payload(const payload& o) : canary(o.canary), key(o.key), version(o.version), check(o.check) { live.fetch_add(1); }
  ~payload() {
    canary = poison;
    key = version = check = poison;
    live.fetch_sub(1);
  }
  [[nodiscard]] bool valid_for(std::uint64_t k) const noexcept {
    return canary == alive && key == k && check == k * 31 + version;
  }
  std::uint64_t canary = alive;
  std::uint64_t key, version, check;
};

struct xorshift {
  std::uint64_t s;
  std::uint64_t operator()() noexcept {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return s;
  }
};

// Runs `threads` threads of `ops` random operations over keys [0, keys) on
// set-like callables; returns per-key (inserts - erases) and checks the
// final contents against it.
template <class Insert, class Erase, class Lookup, class Present>
void balance_run(int threads, int ops, std::uint64_t keys, Insert ins, Erase era, Lookup look, Present present) {
  std::vector<std::vector<long>> delta(static_cast<std::size_t>(threads), std::vector<long>(keys, 0));
  std::barrier start(threads);
  std::atomic<long> bad{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t) {
    ts.emplace_back([&, t] {
      xorshift rng{0x9E3779B97F4A7C15ull * static_cast<std::uint64_t>(t + 1)};
      auto& d = delta[static_cast<std::size_t>(t)];
      start.arrive_and_wait();
      for (int i = 0; i < ops; ++i) {
        const std::uint64_t r = rng();
        const std::uint64_t k = (r >> 8) % keys;
        switch (r % 4) {
          case 0:
            if (ins(k)) ++d[k];
            break;
          case 1:
            if (era(k)) --d[k];
            break;
          default:
            if (!look(k)) bad.fetch_add(1);
            break;
        }
      }
    });
  }
  for (auto& th : ts) th.join();
  EXPECT_EQ(bad.load(), 0) << "a reader saw a poisoned, torn or foreign value";
  for (std::uint64_t k = 0; k < keys; ++k) {
    long sum = 0;
    for (auto& d : delta) sum += d[k];
    ASSERT_TRUE(sum == 0 || sum == 1) << "key " << k << ": inserts - erases = " << sum;
    ASSERT_EQ(present(k), sum == 1) << "key " << k;
  }
}

TEST(LockfreeSetMapStress, OrderedSetBalanceAndAscendingWalks) {
  quiesce::lockfree::ordered_set<std::uint64_t> s;
  std::atomic<long> unordered{0};
  balance_run(
      threads_for_test(), scaled(200000), 64, [&](std::uint64_t k) { return s.insert(k); },
      [&](std::uint64_t k) { return s.erase(k); },
      [&](std::uint64_t k) {
        if (k % 64 == 0) {  // now and then a whole walk: strictly ascending under concurrent writers
          bool first = true;
          std::uint64_t last = 0;
          s.for_each([&](std::uint64_t x) {
            if (!first && x <= last) unordered.fetch_add(1);
            first = false;
            last = x;
          });
        }
        (void)s.contains(k);
        return true;
      },
      [&](std::uint64_t k) { return s.contains(k); });
  EXPECT_EQ(unordered.load(), 0);
}

TEST(LockfreeSetMapStress, HashSetBalanceWithCollidingRuns) {
  struct coarse_hash {  // 8 keys per hash value: runs of equal tags
    std::size_t operator()(std::uint64_t k) const noexcept { return static_cast<std::size_t>(k / 8); }
  };
  // The growing table: collisions and bucket growth under concurrency.
  quiesce::lockfree::hash_set<std::uint64_t, coarse_hash, std::equal_to<std::uint64_t>, quiesce::lockfree::growing_buckets> s(1);
  balance_run(
      threads_for_test(), scaled(200000), 128, [&](std::uint64_t k) { return s.insert(k); },
      [&](std::uint64_t k) { return s.erase(k); },
      [&](std::uint64_t k) {
        (void)s.contains(k);
        return true;
      },
      [&](std::uint64_t k) { return s.contains(k); });
  std::size_t n = 0;
  s.for_each([&](std::uint64_t) { ++n; });
  EXPECT_EQ(n, s.size());
}

template <class Buckets>
void map_canaries_balance_and_no_leak(std::size_t buckets) {
  quiesce::hazard_pointer_cleanup();
  const long live0 = payload::live.load();
  {
    quiesce::lockfree::hash_map<std::uint64_t, payload, std::hash<std::uint64_t>, std::equal_to<std::uint64_t>, Buckets> m(
        buckets);
    std::atomic<std::uint64_t> version{1};
    balance_run(
        threads_for_test(), scaled(200000), 128,
        [&](std::uint64_t k) {
          const std::uint64_t v = version.fetch_add(1, std::memory_order_relaxed);
          if (v % 3 == 0) {
            // Replace if present (does not change presence: counted as an
            // insert only when it inserted).
            return m.insert_or_assign(k, payload(k, v));
          }
          return m.insert(k, payload(k, v));
        },
        [&](std::uint64_t k) { return m.erase(k); },
        [&](std::uint64_t k) {
          bool ok = true;
          m.visit(k, [&](const payload& p) { ok = ok && p.valid_for(k); });
          if (auto c = m.find(k)) ok = ok && c->valid_for(k);
          if (k % 32 == 0) {
            m.for_each([&](std::uint64_t key, const payload& p) { ok = ok && p.valid_for(key); });
          }
          return ok;
        },
        [&](std::uint64_t k) { return m.contains(k); });
  }
  quiesce::hazard_pointer_cleanup();
  EXPECT_EQ(payload::live.load(), live0) << "values leaked or destroyed twice";
}

TEST(LockfreeSetMapStress, MapCanariesBalanceAndNoLeak) {
  map_canaries_balance_and_no_leak<quiesce::lockfree::fixed_buckets>(32);  // ~2 keys per bucket at half load
}
TEST(LockfreeSetMapStress, GrowingMapCanariesBalanceAndNoLeak) {
  map_canaries_balance_and_no_leak<quiesce::lockfree::growing_buckets>(1);  // grows while the threads run
}

// Two threads replace the same few keys while two others read them: every
// read sees a complete value of the right key, never a missing key (the keys
// are never erased).
TEST(LockfreeSetMapStress, ReplaceNeverHidesAKey) {
  quiesce::hazard_pointer_cleanup();
  const long live0 = payload::live.load();
  {
    quiesce::lockfree::hash_map<std::uint64_t, payload, std::hash<std::uint64_t>, std::equal_to<std::uint64_t>,
                               quiesce::lockfree::growing_buckets>
        m(1);
    constexpr std::uint64_t keys = 6;
    for (std::uint64_t k = 0; k < keys; ++k) ASSERT_TRUE(m.insert(k, payload(k, 0)));
    std::atomic<bool> stop{false};
    std::atomic<long> bad{0};
    std::barrier start(4);
    std::vector<std::thread> ts;
    for (int w = 0; w < 2; ++w) {
      ts.emplace_back([&, w] {
        start.arrive_and_wait();
        for (int i = 0; i < scaled(20000); ++i) {
          const auto k = static_cast<std::uint64_t>(i) % keys;
          if (m.insert_or_assign(k, payload(k, static_cast<std::uint64_t>(i * 2 + w)))) bad.fetch_add(1);
        }
      });
    }
    for (int r = 0; r < 2; ++r) {
      ts.emplace_back([&] {
        start.arrive_and_wait();
        std::uint64_t k = 0;
        while (!stop.load(std::memory_order_relaxed)) {
          bool found = m.visit(k, [&](const payload& p) {
            if (!p.valid_for(k)) bad.fetch_add(1);
          });
          if (!found) bad.fetch_add(1);
          k = (k + 1) % keys;
        }
      });
    }
    ts[0].join();
    ts[1].join();
    stop.store(true);
    ts[2].join();
    ts[3].join();
    EXPECT_EQ(bad.load(), 0);
    EXPECT_EQ(m.size(), keys);
  }
  quiesce::hazard_pointer_cleanup();
  EXPECT_EQ(payload::live.load(), live0);
}

// The growing table doubles its bucket count while two writers insert
// disjoint key ranges and two readers look up every key a writer has
// already reported inserted: such a key must always be found (bucket
// initialisation and growth never hide a key).
TEST(LockfreeSetMapStress, GrowthNeverHidesAKey) {
  quiesce::lockfree::hash_map<std::uint64_t, std::uint64_t, std::hash<std::uint64_t>, std::equal_to<std::uint64_t>,
                             quiesce::lockfree::growing_buckets>
      m(1);
  const std::uint64_t per_writer = static_cast<std::uint64_t>(scaled(40000));
  std::atomic<std::uint64_t> done[2] = {0, 0};
  std::atomic<long> missing{0}, wrong{0};
  std::barrier start(4);
  std::vector<std::thread> ts;
  for (std::uint64_t w = 0; w < 2; ++w) {
    ts.emplace_back([&, w] {
      start.arrive_and_wait();
      for (std::uint64_t i = 0; i < per_writer; ++i) {
        const std::uint64_t k = i * 2 + w;
        if (!m.insert(k, k * 7)) wrong.fetch_add(1);
        done[w].store(i + 1, std::memory_order_release);
      }
    });
  }
  for (int r = 0; r < 2; ++r) {
    ts.emplace_back([&, r] {
      start.arrive_and_wait();
      xorshift rng{static_cast<std::uint64_t>(r) + 77};
      while (done[0].load(std::memory_order_acquire) < per_writer ||
             done[1].load(std::memory_order_acquire) < per_writer) {
        const std::uint64_t w = rng() & 1;
        const std::uint64_t n = done[w].load(std::memory_order_acquire);
        if (n == 0) continue;
        const std::uint64_t k = (rng() % n) * 2 + w;
        auto v = m.find(k);
        if (!v) missing.fetch_add(1);
        else if (*v != k * 7) wrong.fetch_add(1);
      }
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(missing.load(), 0);
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(m.size(), per_writer * 2);
  EXPECT_GE(m.bucket_count(), per_writer / 2);  // grew from 1 (doubles past 2 keys per bucket)
}

// ---------------------------------------------------------------- lincheck

template <class Make>
void lincheck_many(int histories, Make make_ops) {
  for (int n = 0; n < histories; ++n) {
    auto [holder, ops] = make_ops();
    const auto h = lc::run_random<lc::set_spec>(ops, {.threads = std::size_t(3 + n % 2),
                                                       .ops_per_thread = 12,
                                                       .seed = std::uint64_t(n) + 1,
                                                       .key_range = 4});
    const auto r = lc::check(h);
    ASSERT_TRUE(r.ok) << "history " << n << ": " << r.explanation;
    (void)holder;  // keeps the structure alive until the check is done
  }
}

constexpr int kHistories = 300;

TEST(LockfreeSetMapLincheck, OrderedSet) {
  lincheck_many(kHistories, [] {
    auto s = std::make_shared<quiesce::lockfree::ordered_set<std::int64_t>>();
    lc::set_spec::callables ops{.insert = [s](std::int64_t k) { return s->insert(k); },
                                .erase = [s](std::int64_t k) { return s->erase(k); },
                                .contains = [s](std::int64_t k) { return s->contains(k); }};
    return std::pair{s, ops};
  });
}

TEST(LockfreeSetMapLincheck, HashSetOneCollidingBucket) {
  struct same_hash {
    std::size_t operator()(std::int64_t) const noexcept { return 5; }
  };
  lincheck_many(kHistories, [] {
    auto s = std::make_shared<quiesce::lockfree::hash_set<std::int64_t, same_hash>>(1);
    lc::set_spec::callables ops{.insert = [s](std::int64_t k) { return s->insert(k); },
                                .erase = [s](std::int64_t k) { return s->erase(k); },
                                .contains = [s](std::int64_t k) { return s->contains(k); }};
    return std::pair{s, ops};
  });
}

TEST(LockfreeSetMapLincheck, GrowingBucketsHashSet) {
  lincheck_many(kHistories, [] {
    auto s = std::make_shared<quiesce::lockfree::hash_set<std::int64_t, std::hash<std::int64_t>,
                                                         std::equal_to<std::int64_t>, quiesce::lockfree::growing_buckets>>(1);
    lc::set_spec::callables ops{.insert = [s](std::int64_t k) { return s->insert(k); },
                                .erase = [s](std::int64_t k) { return s->erase(k); },
                                .contains = [s](std::int64_t k) { return s->contains(k); }};
    return std::pair{s, ops};
  });
}

// The map as a set of keys; "insert" alternates insert and insert_or_assign
// (whose result is "inserted"), "contains" alternates contains and find.
TEST(LockfreeSetMapLincheck, HashMapAsKeySet) {
  lincheck_many(kHistories, [] {
    auto m = std::make_shared<quiesce::lockfree::hash_map<std::int64_t, std::int64_t>>(2);
    auto flip = std::make_shared<std::atomic<unsigned>>(0);
    lc::set_spec::callables ops{
        .insert =
            [m, flip](std::int64_t k) {
              return (flip->fetch_add(1, std::memory_order_relaxed) % 2 == 0) ? m->insert(k, k * 10)
                                                                               : m->insert_or_assign(k, k * 10);
            },
        .erase = [m](std::int64_t k) { return m->erase(k); },
        .contains =
            [m, flip](std::int64_t k) {
              if (flip->fetch_add(1, std::memory_order_relaxed) % 2 == 0) return m->contains(k);
              auto v = m->find(k);
              return v.has_value() && *v == k * 10;
            }};
    return std::pair{m, ops};
  });
}

}  // namespace
