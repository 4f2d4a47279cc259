// Stress tests for rcu_hash_map and rcu_list: readers look up and traverse
// while writers replace and erase, for a fixed number of writer operations.
//
// Every value carries a canary (a magic number and a checksum of its key and
// serial id) that its destructor poisons before the memory is freed; readers
// check it on every access, so a value freed while a reader can still reach
// it shows up as a failure even without a sanitizer. At the end the test
// checks that the container holds exactly what the writers' own models say,
// and that every value ever constructed was destroyed exactly once.
//
// Sized for a 2-core machine: well under 5 s in an optimised build, and about
// the same under ThreadSanitizer, which runs a tenth of the operations.
#include <quiesce/rcu/hash_map.hpp>
#include <quiesce/rcu/list.hpp>

#include <gtest/gtest.h>

#include "support/rcu_domains.hpp"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <random>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

namespace {

// ThreadSanitizer runs about ten times slower: do a tenth of the work.
constexpr int work_divisor = QUIESCE_TSAN ? 10 : 1;

// Counts, per serial id, how often a value was destroyed.
class ledger {
 public:
  explicit ledger(std::size_t capacity) : destroyed_(capacity) {}

  // A fresh serial id. Any thread.
  std::uint64_t next_id() {
    const std::uint64_t id = created_.fetch_add(1, std::memory_order_relaxed);
    if (id >= destroyed_.size()) overflow_.store(true, std::memory_order_relaxed);
    return id;
  }
  void destroyed(std::uint64_t id) {
    if (id >= destroyed_.size()) return;  // reported through overflow_
    if (destroyed_[id].fetch_add(1, std::memory_order_relaxed) != 0)
      twice_.fetch_add(1, std::memory_order_relaxed);
  }

  std::uint64_t created() const { return created_.load(); }
  bool overflowed() const { return overflow_.load(); }
  std::uint64_t destroyed_twice() const { return twice_.load(); }
  // Ids in [0, created()) never destroyed.
  std::uint64_t never_destroyed() const {
    std::uint64_t n = 0;
    for (std::uint64_t i = 0; i < created() && i < destroyed_.size(); ++i)
      if (destroyed_[i].load() == 0) ++n;
    return n;
  }

 private:
  std::atomic<std::uint64_t> created_{0};
  std::vector<std::atomic<std::uint32_t>> destroyed_;
  std::atomic<std::uint64_t> twice_{0};
  std::atomic<bool> overflow_{false};
};

// A value whose destructor poisons it. Moved-from shells are not counted.
class canary {
 public:
  canary(std::uint64_t key, std::uint64_t id, ledger* l)
      : magic_(alive), key_(key), id_(id), check_(checksum(key, id)), ledger_(l) {}
  canary(canary&& o) noexcept
      : magic_(o.magic_), key_(o.key_), id_(o.id_), check_(o.check_), ledger_(std::exchange(o.ledger_, nullptr)) {}
  canary& operator=(canary&&) = delete;
  ~canary() {
    if (ledger_ != nullptr) ledger_->destroyed(id_);
    // Atomic stores: a compiler may not drop them as dead stores before the
    // free that follows.
    std::atomic_ref<std::uint64_t>(magic_).store(poisoned, std::memory_order_relaxed);
    std::atomic_ref<std::uint64_t>(check_).store(~check_, std::memory_order_relaxed);
  }

  // True if the value is alive and belongs to `key`.
  bool intact(std::uint64_t key) const {
    return magic_ == alive && key_ == key && check_ == checksum(key_, id_);
  }
  std::uint64_t key() const { return key_; }
  std::uint64_t id() const { return id_; }

 private:
  static constexpr std::uint64_t alive = 0xA11CE5A1FE0DDBA1ULL;
  static constexpr std::uint64_t poisoned = 0xDEADDEADDEADDEADULL;
  static std::uint64_t checksum(std::uint64_t key, std::uint64_t id) {
    return (key * 0x9E3779B97F4A7C15ULL) ^ (id + 0x632BE59BD9B4E019ULL);
  }

  std::uint64_t magic_;
  std::uint64_t key_;
  std::uint64_t id_;
  std::uint64_t check_;
  ledger* ledger_;
};

// QSBR threads must be registered, announce quiescent states, and be offline
// while they block (support/rcu_domains.hpp); the other domains need none of this.
using quiesce::test::blocking;
using quiesce::test::quiescent_point;
using quiesce::test::thread_context;

// After the container is gone and a barrier has run its deleters: no thread
// saw a mismatch, every value made was destroyed exactly once, and the
// readers did at least their minimum rounds.
template <class Domain>
void expect_clean_finish(const ledger& book, const std::atomic<std::uint64_t>& failures,
                         const std::atomic<std::uint64_t>& reader_rounds, std::uint64_t min_reader_rounds) {
  quiesce::rcu_barrier(Domain::instance());
  EXPECT_EQ(failures.load(), 0u);
  EXPECT_FALSE(book.overflowed());
  EXPECT_GT(book.created(), 0u);
  EXPECT_EQ(book.destroyed_twice(), 0u);
  EXPECT_EQ(book.never_destroyed(), 0u);
  EXPECT_GE(reader_rounds.load(), min_reader_rounds);
}

// ---------------------------------------------------------------------------
// rcu_hash_map

template <class Domain>
class RcuContainersStressHashMap : public ::testing::Test {};
using map_domains = ::testing::Types<quiesce::rcu_domain, quiesce::rcu_qsbr_domain>;
TYPED_TEST_SUITE(RcuContainersStressHashMap, map_domains);

TYPED_TEST(RcuContainersStressHashMap, ReadersNeverSeeFreedValuesAndNothingIsLost) {
  using Domain = TypeParam;
  using map_type = quiesce::rcu_hash_map<std::uint64_t, canary, std::hash<std::uint64_t>,
                                         std::equal_to<std::uint64_t>, Domain>;
  constexpr int writers = 2;
  constexpr int readers = 3;
  constexpr std::uint64_t keys = 512;  // writer w owns the keys k with k % writers == w
  constexpr int ops_per_writer = 200000 / work_divisor;
  constexpr int min_reader_rounds = 200 / work_divisor;

  [[maybe_unused]] thread_context<Domain> main_context;
  ledger book(static_cast<std::size_t>(writers * ops_per_writer));
  std::atomic<std::uint64_t> failures{0};        // canary or bookkeeping mismatches
  std::atomic<std::uint64_t> reader_rounds{0};
  std::atomic<int> writers_running{writers};
  std::vector<std::map<std::uint64_t, std::uint64_t>> models(writers);  // key -> id, per writer

  {
    auto map = std::make_unique<map_type>(16);  // small: exercise automatic growth

    auto writer = [&](int w) {
      [[maybe_unused]] thread_context<Domain> ctx;
      std::mt19937_64 rng(1000 + static_cast<std::uint64_t>(w));
      auto& model = models[static_cast<std::size_t>(w)];
      for (int op = 0; op < ops_per_writer; ++op) {
        const std::uint64_t key = (rng() % (keys / writers)) * writers + static_cast<std::uint64_t>(w);
        const bool present = model.contains(key);
        const unsigned pick = static_cast<unsigned>(rng() % 10);
        if (pick < 5) {
          const std::uint64_t id = book.next_id();
          const bool added = map->insert_or_assign(key, canary(key, id, &book));
          if (added == present) failures.fetch_add(1);
          model[key] = id;
        } else if (pick < 7) {
          const std::uint64_t id = book.next_id();
          const bool added = map->insert(key, canary(key, id, &book));
          if (added == present) failures.fetch_add(1);
          if (added) model[key] = id;
        } else {
          const bool erased = map->erase(key);
          if (erased != present) failures.fetch_add(1);
          model.erase(key);
        }
        quiescent_point<Domain>();
      }
      writers_running.fetch_sub(1, std::memory_order_release);
    };

    auto reader = [&](int r) {
      [[maybe_unused]] thread_context<Domain> ctx;
      std::mt19937_64 rng(2000 + static_cast<std::uint64_t>(r));
      for (std::uint64_t round = 0;
           writers_running.load(std::memory_order_acquire) > 0 || round < min_reader_rounds; ++round) {
        {
          quiesce::rcu_read_guard<Domain> g;
          // Hold the first value found across the whole section: it must stay
          // intact however many writes happen meanwhile.
          const canary* held = nullptr;
          std::uint64_t held_key = 0;
          for (int i = 0; i < 32; ++i) {
            const std::uint64_t key = rng() % keys;
            if (const canary* v = map->find(g, key)) {
              if (!v->intact(key)) failures.fetch_add(1);
              if (held == nullptr) {
                held = v;
                held_key = key;
              }
            }
          }
          if (round % 8 == 0) {
            std::uint64_t seen = 0;
            for (auto [k, v] : map->range(g)) {
              if (!v.intact(k) || k >= keys) failures.fetch_add(1);
              ++seen;
            }
            if (seen > keys) failures.fetch_add(1);  // a key seen twice
          }
          if (held != nullptr && !held->intact(held_key)) failures.fetch_add(1);
        }
        quiescent_point<Domain>();
        reader_rounds.fetch_add(1, std::memory_order_relaxed);
      }
    };

    blocking<Domain>([&] {
      std::vector<std::thread> threads;
      for (int r = 0; r < readers; ++r) threads.emplace_back(reader, r);
      for (int w = 0; w < writers; ++w) threads.emplace_back(writer, w);
      for (auto& t : threads) t.join();
    });

    // The map holds exactly the union of the writers' models.
    std::map<std::uint64_t, std::uint64_t> expected;
    for (const auto& m : models) expected.insert(m.begin(), m.end());
    EXPECT_EQ(map->size(), expected.size());
    {
      quiesce::rcu_read_guard<Domain> g;
      for (const auto& [key, id] : expected) {
        const canary* v = map->find(g, key);
        ASSERT_NE(v, nullptr) << "key " << key << " lost";
        EXPECT_TRUE(v->intact(key));
        EXPECT_EQ(v->id(), id) << "key " << key;
      }
      std::map<std::uint64_t, std::uint64_t> seen;
      for (auto [k, v] : map->range(g)) {
        EXPECT_TRUE(v.intact(k));
        EXPECT_TRUE(seen.emplace(k, v.id()).second) << "key " << k << " seen twice";
      }
      EXPECT_EQ(seen, expected);
    }
  }  // the map retires what it still holds

  expect_clean_finish<Domain>(book, failures, reader_rounds, static_cast<std::uint64_t>(readers * min_reader_rounds));
}

// ---------------------------------------------------------------------------
// rcu_list

template <class Domain>
class RcuContainersStressList : public ::testing::Test {};
using list_domains = ::testing::Types<quiesce::rcu_domain, quiesce::rcu_qsbr_domain>;
TYPED_TEST_SUITE(RcuContainersStressList, list_domains);

TYPED_TEST(RcuContainersStressList, ReadersNeverSeeFreedValuesAndNothingIsLost) {
  using Domain = TypeParam;
  using list_type = quiesce::rcu_list<canary, Domain>;
  constexpr int readers = 3;
  constexpr std::uint64_t keys = 16;  // erase_if removes one key: about 1/16 of the list
  constexpr int writer_ops = 200000 / work_divisor;
  constexpr int min_reader_rounds = 200 / work_divisor;

  [[maybe_unused]] thread_context<Domain> main_context;
  ledger book(static_cast<std::size_t>(writer_ops));
  std::atomic<std::uint64_t> failures{0};
  std::atomic<std::uint64_t> reader_rounds{0};
  std::atomic<bool> writer_running{true};
  std::deque<std::pair<std::uint64_t, std::uint64_t>> model;  // (key, id), front to back

  {
    auto list = std::make_unique<list_type>();

    auto writer = [&] {
      [[maybe_unused]] thread_context<Domain> ctx;
      std::mt19937_64 rng(3000);
      for (int op = 0; op < writer_ops; ++op) {
        const unsigned pick = static_cast<unsigned>(rng() % 100);
        const std::uint64_t key = rng() % keys;
        if (pick < 30) {
          const std::uint64_t id = book.next_id();
          list->push_back(canary(key, id, &book));
          model.emplace_back(key, id);
        } else if (pick < 55) {
          const std::uint64_t id = book.next_id();
          list->push_front(canary(key, id, &book));
          model.emplace_front(key, id);
        } else if (pick < 99) {
          const std::size_t erased = list->erase_if([key](const canary& c) { return c.key() == key; });
          const std::size_t expected = std::erase_if(model, [key](const auto& e) { return e.first == key; });
          if (erased != expected) failures.fetch_add(1);
        } else {
          list->clear();
          model.clear();
        }
        quiescent_point<Domain>();
      }
      writer_running.store(false, std::memory_order_release);
    };

    auto reader = [&](int r) {
      [[maybe_unused]] thread_context<Domain> ctx;
      std::mt19937_64 rng(4000 + static_cast<std::uint64_t>(r));
      for (std::uint64_t round = 0; writer_running.load(std::memory_order_acquire) || round < min_reader_rounds;
           ++round) {
        {
          quiesce::rcu_read_guard<Domain> g;
          const std::uint64_t key = rng() % keys;
          const canary* held = list->find_if(g, [key](const canary& c) { return c.key() == key; });
          if (held != nullptr && !held->intact(key)) failures.fetch_add(1);
          std::uint64_t seen = 0;
          for (const canary& c : list->range(g)) {
            if (!c.intact(c.key()) || c.key() >= keys) failures.fetch_add(1);
            ++seen;
          }
          if (seen > book.created()) failures.fetch_add(1);  // more elements than ever made: a loop
          if (held != nullptr && !held->intact(key)) failures.fetch_add(1);
        }
        quiescent_point<Domain>();
        reader_rounds.fetch_add(1, std::memory_order_relaxed);
      }
    };

    blocking<Domain>([&] {
      std::vector<std::thread> threads;
      for (int r = 0; r < readers; ++r) threads.emplace_back(reader, r);
      threads.emplace_back(writer);
      for (auto& t : threads) t.join();
    });

    // The list holds exactly the writer's model, in order.
    EXPECT_EQ(list->size(), model.size());
    {
      quiesce::rcu_read_guard<Domain> g;
      std::deque<std::pair<std::uint64_t, std::uint64_t>> seen;
      for (const canary& c : list->range(g)) {
        EXPECT_TRUE(c.intact(c.key()));
        seen.emplace_back(c.key(), c.id());
      }
      EXPECT_EQ(seen, model);
    }
  }  // the list retires what it still holds

  expect_clean_finish<Domain>(book, failures, reader_rounds, static_cast<std::uint64_t>(readers * min_reader_rounds));
}

}  // namespace
