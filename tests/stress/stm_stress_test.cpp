// Stress tests for quiesce/stm.hpp: concurrent transfers between accounts
// conserve the total, under heavy contention (8 accounts) and light (64),
// with concurrent read-only auditors that sum every account and must see
// the exact total in every run of their function — also in runs that go on
// to abort — which is the opacity check: a transaction never observes a
// state that mixes two commits. Multi-account transfers (4 tvars per
// transaction, read in random order, so their commits lock in an order
// unrelated to the reading order) check that commit cannot deadlock: each
// test is a bounded number of transactions that must all complete.
//
// A wide (8-word) tvar updated by one thread and read by another checks that
// a copy racing with a commit is never used torn.
//
// 2 threads x 2 M transfers per test (plus the 4-way and pair tests) in optimised builds ("millions of
// transactions"); a tenth under ThreadSanitizer, a quarter under
// Debug + AddressSanitizer.
#include <quiesce/stm.hpp>

#include <gtest/gtest.h>

#include "support/stress.hpp"

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

namespace {

using quiesce::atomically;
using quiesce::transaction;
using quiesce::tvar;

constexpr std::uint64_t scale = quiesce::test::stress_scale;

constexpr std::int64_t kInitial = 1000;

struct xorshift {
  std::uint64_t s;
  std::uint64_t next() {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return s;
  }
};

struct result {
  std::uint64_t audits = 0;          // committed audits
  std::uint64_t audit_runs = 0;      // runs of the audit function that read every account
  std::uint64_t bad_audit_runs = 0;  // of those, runs that saw a wrong total (opacity violated)
};

// `movers` threads each run `per_thread` transactions moving money between
// `accounts` accounts (`width` accounts per transaction: the first pays the
// others), while one auditor sums all accounts in read-only transactions
// until the movers are done. Checks: every audit run saw the exact total,
// the final total is exact, and every transaction completed.
result run_bank(std::size_t accounts, int movers, std::uint64_t per_thread, int width) {
  auto bank = std::make_unique<tvar<std::int64_t>[]>(accounts);
  for (std::size_t i = 0; i < accounts; ++i)
    atomically([&](transaction& tx) { tx.write(bank[i], kInitial); });
  const std::int64_t total = kInitial * static_cast<std::int64_t>(accounts);

  std::atomic<int> running{movers};
  std::atomic<std::uint64_t> committed{0};
  result r;
  std::thread auditor([&] {
    auto audit = [&] {
      return atomically([&](transaction& tx) {
        std::int64_t sum = 0;
        for (std::size_t i = 0; i < accounts; ++i) sum += tx.read(bank[i]);
        // Reached only if every read was consistent with the snapshot.
        ++r.audit_runs;
        if (sum != total) ++r.bad_audit_runs;
        return sum;
      });
    };
    // Acquire: pairs with the movers' release decrement (no data depends
    // on it; it only ends the loop).
    while (running.load(std::memory_order_acquire) != 0) {
      EXPECT_EQ(audit(), total);
      ++r.audits;
    }
    EXPECT_EQ(audit(), total);
    ++r.audits;
  });

  std::vector<std::thread> threads;
  for (int t = 0; t < movers; ++t) {
    threads.emplace_back([&, t] {
      xorshift rng{0x9E3779B97F4A7C15ull * static_cast<std::uint64_t>(t + 1)};
      std::vector<std::size_t> pick(static_cast<std::size_t>(width));
      for (std::uint64_t n = 0; n < per_thread; ++n) {
        // Distinct accounts, in random order.
        for (int k = 0; k < width; ++k) {
          for (;;) {
            const std::size_t c = rng.next() % accounts;
            bool dup = false;
            for (int j = 0; j < k; ++j) dup = dup || pick[static_cast<std::size_t>(j)] == c;
            if (!dup) {
              pick[static_cast<std::size_t>(k)] = c;
              break;
            }
          }
        }
        const std::int64_t amount = static_cast<std::int64_t>(rng.next() % 50) + 1;
        atomically([&](transaction& tx) {
          // Read everything first, then write (the usual shape), so a
          // conflict is found by the reads or by commit's validation.
          std::int64_t v[8] = {};  // (width >= 2; g++ 12 cannot see it and warns)
          for (int k = 0; k < width; ++k) v[k] = tx.read(bank[pick[static_cast<std::size_t>(k)]]);
          tx.write(bank[pick[0]], v[0] - amount * (width - 1));
          for (int k = 1; k < width; ++k) tx.write(bank[pick[static_cast<std::size_t>(k)]], v[k] + amount);
        });
      }
      committed.fetch_add(per_thread, std::memory_order_relaxed);
      // Release: see the auditor's acquire.
      running.fetch_sub(1, std::memory_order_release);
    });
  }
  for (auto& t : threads) t.join();
  auditor.join();

  EXPECT_EQ(committed.load(), per_thread * static_cast<std::uint64_t>(movers));
  std::int64_t sum = 0;
  for (std::size_t i = 0; i < accounts; ++i) sum += bank[i].load();
  EXPECT_EQ(sum, total);
  EXPECT_EQ(r.bad_audit_runs, 0u) << "an audit observed an inconsistent snapshot (opacity violated)";
  EXPECT_GE(r.audit_runs, r.audits);
  return r;
}

TEST(StmStress, TransfersHeavyContention8Accounts) {
  const result r = run_bank(8, 2, 2'000'000 / scale, 2);
  RecordProperty("audits", static_cast<int>(r.audits));
}

TEST(StmStress, Transfers64Accounts) {
  const result r = run_bank(64, 2, 2'000'000 / scale, 2);
  RecordProperty("audits", static_cast<int>(r.audits));
}

TEST(StmStress, FourWayTransfersNoDeadlock16Accounts) {
  const result r = run_bank(16, 3, 300'000 / scale, 4);
  RecordProperty("audits", static_cast<int>(r.audits));
}

// Zombie check on the writer side: two tvars that every committed
// transaction keeps equal. Readers-writers check the equality inside the
// function, before writing; with opacity no run, aborted or not, ever sees
// them differ.
TEST(StmStress, WritersNeverSeeTornPairs) {
  tvar<std::uint64_t> x{0}, y{0};
  std::atomic<std::uint64_t> torn{0};
  const std::uint64_t per_thread = 500'000 / scale;
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&] {
      for (std::uint64_t n = 0; n < per_thread; ++n) {
        atomically([&](transaction& tx) {
          const std::uint64_t a = tx.read(x);
          const std::uint64_t b = tx.read(y);
          if (a != b) torn.fetch_add(1, std::memory_order_relaxed);
          tx.write(x, a + 1);
          tx.write(y, b + 1);
        });
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(torn.load(), 0u);
  EXPECT_EQ(x.load(), 2 * per_thread);
  EXPECT_EQ(y.load(), 2 * per_thread);
}

// A value of 8 words, all equal in every committed state: a writer
// increments all of them, readers (read-only transactions) check them. A
// read that copied words of two commits (a torn copy that slipped past the
// lock-word checks) shows unequal words in some run of the function.
TEST(StmStress, WideValuesAreNeverTorn) {
  using wide = std::array<std::uint64_t, 8>;
  tvar<wide> v{wide{}};
  std::atomic<bool> done{false};
  std::atomic<std::uint64_t> torn{0};
  const std::uint64_t writes = 1'000'000 / scale;
  std::thread reader([&] {
    // Acquire: pairs with the writer's release store (ends the loop only).
    while (!done.load(std::memory_order_acquire)) {
      atomically([&](transaction& tx) {
        const wide w = tx.read(v);
        for (std::uint64_t x : w)
          if (x != w[0]) torn.fetch_add(1, std::memory_order_relaxed);
      });
    }
  });
  for (std::uint64_t n = 0; n < writes; ++n) {
    atomically([&](transaction& tx) {
      wide w = tx.read(v);
      for (std::uint64_t& x : w) ++x;
      tx.write(v, w);
    });
  }
  done.store(true, std::memory_order_release);
  reader.join();
  EXPECT_EQ(torn.load(), 0u) << "a transaction observed a torn value (opacity violated)";
  EXPECT_EQ(v.load()[7], writes);
}

}  // namespace
