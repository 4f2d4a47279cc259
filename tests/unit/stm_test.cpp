// Unit tests for quiesce/stm.hpp: reads and writes, a transaction's own
// writes, values of several sizes, return values, exceptions rolling back,
// the retry limit (a conflict forced deterministically by a second thread
// committing in the middle of the transaction), snapshot extension (a newer
// value read without an abort when nothing read before changed) and
// real-time order with the per-thread snapshot, the read-only fast path,
// writer ids (a recycled id keeps counting; more threads than ids share id
// 0), flat nesting, a swallowed abort, and tvar::load().
// Invariants under concurrency are tests/stress/stm_stress_test.cpp.
#include <quiesce/stm.hpp>

#include <gtest/gtest.h>
#include "support/fork_first_use.hpp"
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <latch>
#include <mutex>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "support/retry_limit.hpp"

namespace {

using quiesce::atomically;
using quiesce::stm_options;
using quiesce::transaction;
using quiesce::tvar;

struct odd3 {
  unsigned char x, y, z;
  friend bool operator==(const odd3&, const odd3&) = default;
};
struct wide {
  std::array<std::uint64_t, 5> w;
  bool flag;
  friend bool operator==(const wide&, const wide&) = default;
};

// Commits a write to v from another thread, while the caller is inside a
// transaction (no nesting: the other thread has its own descriptor).
template <class T>
void commit_from_other_thread(tvar<T>& v, T value) {
  std::thread([&] { atomically([&](transaction& tx) { tx.write(v, value); }); }).join();
}

TEST(StmTest, ReadWriteAndInitialValues) {
  tvar<int> a{7};
  tvar<long> b;  // value-initialised
  EXPECT_EQ(a.load(), 7);
  EXPECT_EQ(b.load(), 0);
  atomically([&](transaction& tx) {
    EXPECT_EQ(tx.read(a), 7);
    tx.write(a, 8);
    tx.write(b, 9L);
  });
  EXPECT_EQ(a.load(), 8);
  EXPECT_EQ(b.load(), 9);
  static_assert(!std::is_copy_constructible_v<tvar<int>> && !std::is_copy_assignable_v<tvar<int>>);
  static_assert(!std::is_copy_constructible_v<transaction> && !std::is_default_constructible_v<transaction>);
}

TEST(StmTest, OwnWritesAreVisibleAndLastWriteWins) {
  tvar<int> a{1};
  atomically([&](transaction& tx) {
    tx.write(a, 2);
    EXPECT_EQ(tx.read(a), 2);
    EXPECT_EQ(a.load(), 1);  // not yet committed
    tx.write(a, tx.read(a) + 10);
    EXPECT_EQ(tx.read(a), 12);
    EXPECT_FALSE(tx.read_only());
  });
  EXPECT_EQ(a.load(), 12);
}

TEST(StmTest, OddAndWideValues) {
  tvar<odd3> o{{1, 2, 3}};
  tvar<wide> w{{{1, 2, 3, 4, 5}, true}};
  tvar<bool> f{false};
  atomically([&](transaction& tx) {
    odd3 v = tx.read(o);
    v.z = 30;
    tx.write(o, v);
    wide x = tx.read(w);
    x.w[4] = 50;
    x.flag = false;
    tx.write(w, x);
    tx.write(f, true);
    EXPECT_EQ(tx.read(o), (odd3{1, 2, 30}));
  });
  EXPECT_EQ(o.load(), (odd3{1, 2, 30}));
  EXPECT_EQ(w.load(), (wide{{1, 2, 3, 4, 50}, false}));
  EXPECT_TRUE(f.load());
}

TEST(StmTest, ReturnsTheFunctionsResult) {
  tvar<int> a{5}, b{6};
  const int sum = atomically([&](transaction& tx) { return tx.read(a) + tx.read(b); });
  EXPECT_EQ(sum, 11);
  const std::string s = atomically([&](transaction& tx) { return std::to_string(tx.read(a)); });
  EXPECT_EQ(s, "5");
}

TEST(StmTest, ExceptionRollsBackAndPropagates) {
  tvar<int> a{100}, b{0};
  EXPECT_THROW(atomically([&](transaction& tx) {
                 tx.write(a, tx.read(a) - 10);
                 tx.write(b, tx.read(b) + 10);
                 throw std::runtime_error("insufficient funds");
               }),
               std::runtime_error);
  EXPECT_EQ(a.load(), 100);
  EXPECT_EQ(b.load(), 0);
  // The thread's descriptor is usable again afterwards.
  atomically([&](transaction& tx) { tx.write(a, 1); });
  EXPECT_EQ(a.load(), 1);
}

TEST(StmTest, ConflictRetriesAndSeesTheNewValue) {
  tvar<int> a{0};
  int runs = 0;
  const int seen = atomically([&](transaction& tx) {
    const int first = tx.read(a);
    if (++runs == 1) {
      commit_from_other_thread(a, 42);
      (void)tx.read(a);  // newer than the snapshot: aborts, f runs again
      ADD_FAILURE() << "read of a tvar committed after the snapshot did not abort";
    }
    tx.write(a, first + 1);
    return first;
  });
  EXPECT_EQ(runs, 2);
  EXPECT_EQ(seen, 42);
  EXPECT_EQ(a.load(), 43);
}

TEST(StmTest, NewerValueExtendsTheSnapshotWhenTheReadsAreStillCurrent) {
  // b changes after the snapshot but nothing read so far changed: the read
  // of b moves the snapshot forward (timestamp extension) instead of
  // aborting, and sees the new value.
  tvar<int> a{1}, b{2}, out{0};
  int runs = 0;
  atomically([&](transaction& tx) {
    const int x = tx.read(a);
    if (++runs == 1) commit_from_other_thread(b, 20);
    tx.write(out, x + tx.read(b));
  });
  EXPECT_EQ(runs, 1);
  EXPECT_EQ(out.load(), 21);
  // Read-only as well.
  runs = 0;
  const int sum = atomically([&](transaction& tx) {
    const int x = tx.read(a);
    if (++runs == 1) commit_from_other_thread(b, 30);
    return x + tx.read(b);
  });
  EXPECT_EQ(runs, 1);
  EXPECT_EQ(sum, 31);
}

TEST(StmTest, ATransactionSeesCommitsThatPrecededIt) {
  // Real-time order: the thread's snapshot starts where its last
  // transaction ended, not at a fresh clock read, yet a transaction that
  // starts after another thread's commit returns that commit's value.
  tvar<int> a{0};
  for (int i = 1; i <= 50; ++i) {
    commit_from_other_thread(a, i);
    EXPECT_EQ(atomically([&](transaction& tx) { return tx.read(a); }), i);
    atomically([&](transaction& tx) { tx.write(a, tx.read(a) + 1000); });
    EXPECT_EQ(a.load(), i + 1000);
  }
}

// Runs functions one at a time on one long-lived thread, so that its
// commits are made under one writer id, one after another; run() returns
// once the function has.
class one_thread {
 public:
  one_thread() : thread_([this] { serve(); }) {}
  ~one_thread() {
    {
      const std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  void run(std::function<void()> f) {
    std::unique_lock lock(mu_);
    job_ = std::move(f);
    cv_.notify_all();
    cv_.wait(lock, [&] { return !job_; });
  }

 private:
  void serve() {
    std::unique_lock lock(mu_);
    for (;;) {
      cv_.wait(lock, [&] { return stop_ || job_; });
      if (!job_) return;
      job_();
      job_ = nullptr;
      cv_.notify_all();
    }
  }
  std::mutex mu_;
  std::condition_variable cv_;
  std::function<void()> job_;
  bool stop_ = false;
  std::thread thread_;
};

// Two read-modify-write commits in a row on one thread (the inline commit
// of covered writes, transaction::commit_covered()) stamp two different
// versions: a reader that learnt the first one and then meets the second
// must extend its snapshot, which re-validates what it read, and abort.
// Had both commits the same version, the reader would take the second for
// one it knew and return a mixed snapshot (old x, new y).
TEST(StmTest, ConsecutiveReadModifyWriteCommitsAreDistinctVersions) {
  tvar<int> x{0}, y{0};
  one_thread writer;
  const auto bump = [&] {
    atomically([&](transaction& tx) {
      const int vx = tx.read(x);
      const int vy = tx.read(y);
      tx.write(x, vx + 1);
      tx.write(y, vy + 1);
    });
  };
  writer.run(bump);
  int runs = 0;
  const auto [xv, yv] = atomically([&](transaction& tx) {
    const int xr = tx.read(x);  // the writer's first commit: learnt
    if (++runs == 1) writer.run(bump);
    return std::pair{xr, tx.read(y)};
  });
  EXPECT_EQ(runs, 2);
  EXPECT_EQ(xv, 2);
  EXPECT_EQ(yv, 2);
}

// A read-modify-write of a value longer than a word (kept in the value
// log, not in the write's entry) commits the value, alone and beside a
// one-word write.
TEST(StmTest, ReadModifyWriteOfAValueInTheValueLog) {
  tvar<wide> w{wide{{1, 2, 3, 4, 5}, false}};
  tvar<long> n{7};
  atomically([&](transaction& tx) {
    wide v = tx.read(w);
    v.w[4] += 10;
    v.flag = true;
    tx.write(w, v);
  });
  EXPECT_EQ(w.load(), (wide{{1, 2, 3, 4, 15}, true}));
  atomically([&](transaction& tx) {
    wide v = tx.read(w);
    const long m = tx.read(n);
    v.w[0] = m;
    tx.write(w, v);
    tx.write(n, m + 1);
  });
  EXPECT_EQ(w.load(), (wide{{7, 2, 3, 4, 15}, true}));
  EXPECT_EQ(n.load(), 8);
}

TEST(StmTest, CommitValidationAbortsAStaleReadSet) {
  // The read of `a` is fine when made; another commit to `a` before our
  // commit must fail our validation (we write `b`, so we take the slow path).
  tvar<int> a{0}, b{0};
  int runs = 0;
  atomically([&](transaction& tx) {
    const int v = tx.read(a);
    if (++runs == 1) commit_from_other_thread(a, 5);
    tx.write(b, v);
  });
  EXPECT_EQ(runs, 2);
  EXPECT_EQ(b.load(), 5);
}

// A transaction whose writes all cover reads, but that also read a tvar it
// does not write, commits through the validation of that read (the inline
// commit of covered writes, transaction::commit_covered(), does not apply:
// the locks check only the reads they cover).
TEST(StmTest, CoveredWritesStillValidateTheOtherReads) {
  for (const bool also_second_write : {false, true}) {
    tvar<int> a{0}, b{1}, c{2};
    int runs = 0;
    atomically([&](transaction& tx) {
      const int va = tx.read(a);
      const int vb = tx.read(b);
      const int vc = tx.read(c);
      if (++runs == 1) commit_from_other_thread(a, 5);
      tx.write(b, vb + va);  // covers the read of b
      if (also_second_write) tx.write(c, vc + va);  // covers the read of c
    });
    EXPECT_EQ(runs, 2) << "a stale read of a committed";
    EXPECT_EQ(b.load(), 6);
    EXPECT_EQ(c.load(), also_second_write ? 7 : 2);
  }
}

// A tvar read and then written is locked at commit only if it still holds
// the version the read saw (the lock's compare-exchange validates that read).
TEST(StmTest, ReadModifyWriteAbortsWhenTheReadTvarChangedBeforeCommit) {
  tvar<int> a{0};
  int runs = 0;
  atomically([&](transaction& tx) {
    const int v = tx.read(a);
    if (++runs == 1) commit_from_other_thread(a, 5);
    tx.write(a, v + 1);  // v is stale on the first run: that run must not commit 1
  });
  EXPECT_EQ(runs, 2);
  EXPECT_EQ(a.load(), 6);
}

// Two reads of one tvar, then a write: the write covers the later read; the
// earlier one is validated against the version the commit locked.
TEST(StmTest, ATvarReadTwiceThenWritten) {
  tvar<int> a{1};
  for (const bool conflict : {false, true}) {
    int runs = 0;
    atomically([&](transaction& tx) {
      const int v = tx.read(a) + tx.read(a);
      if (++runs == 1 && conflict) commit_from_other_thread(a, 10);
      tx.write(a, v);
    });
    EXPECT_EQ(runs, conflict ? 2 : 1);
    EXPECT_EQ(a.load(), conflict ? 20 : 2);  // 1 + 1; then 10 + 10 after the conflict
  }
}

// A read further back in the read log than write() looks for it
// (detail::stm::cover_window) is validated at commit like any other read.
TEST(StmTest, AReadFarBackInTheLogThenWritten) {
  tvar<int> a{1};
  std::vector<std::unique_ptr<tvar<int>>> others;
  for (std::size_t i = 0; i < 2 * quiesce::detail::stm::cover_window; ++i)
    others.push_back(std::make_unique<tvar<int>>(static_cast<int>(i)));
  for (const bool conflict : {false, true}) {
    int runs = 0;
    const int before = a.load();
    atomically([&](transaction& tx) {
      const int v = tx.read(a);
      int sum = 0;
      for (const auto& o : others) sum += tx.read(*o);
      if (++runs == 1 && conflict) commit_from_other_thread(a, 100);
      tx.write(a, v + sum);
    });
    const int sum = static_cast<int>(others.size() * (others.size() - 1) / 2);
    EXPECT_EQ(runs, conflict ? 2 : 1);
    EXPECT_EQ(a.load(), (conflict ? 100 : before) + sum);
  }
}

// A commit of two writes locks them in address order. When the lock of the
// first or of the second fails (the tvar changed since the read the write
// covers), the commit must restore the lock it already took: the retry and
// later transactions then lock it again (a tvar left locked would make them
// spin and abort for ever). The conflict is committed after both writes, so
// the covered reads fail at the lock itself, not in an earlier check.
TEST(StmTest, TwoWriteCommitReleasesItsFirstLockWhenTheSecondFails) {
  // Bounded retries: a lock left held makes every later transaction on the
  // tvar abort, so the test fails with retry_limit_exceeded instead of hanging.
  const stm_options bounded{.max_retries = 100};
  for (const std::size_t changed : {std::size_t{0}, std::size_t{1}}) {
    std::array<tvar<int>, 2> pair{{tvar<int>{1}, tvar<int>{2}}};  // pair[0] locks first: lower address
    int runs = 0;
    EXPECT_NO_THROW(atomically(
        [&](transaction& tx) {
          const int a = tx.read(pair[0]);
          const int b = tx.read(pair[1]);
          tx.write(pair[0], a + 10);
          tx.write(pair[1], b + 10);
          if (++runs == 1) commit_from_other_thread(pair[changed], 100);
        },
        bounded));
    EXPECT_EQ(runs, 2) << "changed tvar " << changed;
    EXPECT_EQ(pair[changed].load(), 110);
    EXPECT_EQ(pair[1 - changed].load(), changed == 0 ? 12 : 11);
    // Both unlocked: another thread commits to both.
    std::thread([&] {
      EXPECT_NO_THROW(atomically(
          [&](transaction& tx) {
            tx.write(pair[0], 7);
            tx.write(pair[1], 8);
          },
          bounded));
    }).join();
    EXPECT_EQ(pair[0].load(), 7);
    EXPECT_EQ(pair[1].load(), 8);
  }
}

// Values of one word live in the write log's entry; longer ones in the value
// log. Mixed in one transaction, overwritten, read back, more than the value
// log's inline capacity (it grows), and committed together.
TEST(StmTest, OneWordAndLongerValuesInOneTransaction) {
  std::vector<std::unique_ptr<tvar<wide>>> wides;  // 6 words each: 20 of them outgrow the inline 32
  std::vector<std::unique_ptr<tvar<std::uint64_t>>> words;
  std::vector<std::unique_ptr<tvar<odd3>>> odds;  // 3 bytes: one word, zero padding
  for (std::uint64_t i = 0; i < 20; ++i) {
    wides.push_back(std::make_unique<tvar<wide>>(wide{{i, i, i, i, i}, false}));
    words.push_back(std::make_unique<tvar<std::uint64_t>>(i));
    odds.push_back(std::make_unique<tvar<odd3>>(odd3{1, 2, 3}));
  }
  atomically([&](transaction& tx) {
    for (std::uint64_t i = 0; i < 20; ++i) {
      tx.write(*wides[i], wide{{i, 1, 2, 3, 4}, true});
      tx.write(*words[i], tx.read(*words[i]) + 100);
      tx.write(*odds[i], odd3{static_cast<unsigned char>(i), 0, 9});
    }
    for (std::uint64_t i = 0; i < 20; ++i) {  // overwrite each kind, reading the logged value
      wide w = tx.read(*wides[i]);
      w.w[4] = 40 + i;
      tx.write(*wides[i], w);
      tx.write(*words[i], tx.read(*words[i]) * 2);
      odd3 o = tx.read(*odds[i]);
      o.y = 7;
      tx.write(*odds[i], o);
    }
    for (std::uint64_t i = 0; i < 20; ++i) {
      EXPECT_EQ(tx.read(*wides[i]), (wide{{i, 1, 2, 3, 40 + i}, true}));
      EXPECT_EQ(tx.read(*words[i]), 2 * (i + 100));
      EXPECT_EQ(tx.read(*odds[i]), (odd3{static_cast<unsigned char>(i), 7, 9}));
    }
  });
  for (std::uint64_t i = 0; i < 20; ++i) {
    EXPECT_EQ(wides[i]->load(), (wide{{i, 1, 2, 3, 40 + i}, true}));
    EXPECT_EQ(words[i]->load(), 2 * (i + 100));
    EXPECT_EQ(odds[i]->load(), (odd3{static_cast<unsigned char>(i), 7, 9}));
  }
}

TEST(StmTest, RetryLimitThrowsWithMessageAndCommitsNothing) {
  tvar<int> a{0}, b{0};
  int runs = 0;
  ASSERT_NO_FATAL_FAILURE(quiesce::test::expect_retry_limit_exceeded(
      [&] {
        atomically(
            [&](transaction& tx) {
              ++runs;
              tx.write(b, 1);
              (void)tx.read(a);
              commit_from_other_thread(a, runs);
              (void)tx.read(a);  // always a conflict
            },
            stm_options{.max_retries = 3});
      },
      {"4 times", "max_retries = 3", "Raise stm_options::max_retries"}));
  EXPECT_EQ(runs, 4);
  EXPECT_EQ(b.load(), 0);
  static_assert(std::is_base_of_v<std::runtime_error, quiesce::retry_limit_exceeded>);

  runs = 0;
  EXPECT_THROW(atomically(
                   [&](transaction& tx) {
                     ++runs;
                     (void)tx.read(a);
                     commit_from_other_thread(a, 0);
                     (void)tx.read(a);
                   },
                   stm_options{.max_retries = 0}),
               quiesce::retry_limit_exceeded);
  EXPECT_EQ(runs, 1);
}

TEST(StmTest, ReadOnlyTransactions) {
  tvar<int> a{1}, b{2};
  for (int i = 0; i < 100; ++i) {
    const int s = atomically([&](transaction& tx) {
      EXPECT_TRUE(tx.read_only());
      return tx.read(a) + tx.read(b);
    });
    EXPECT_EQ(s, 3);
  }
  atomically([&](transaction& tx) {
    tx.write(a, 5);
    EXPECT_FALSE(tx.read_only());
  });
  EXPECT_EQ(a.load(), 5);
}

TEST(StmTest, ARecycledWriterIdKeepsCounting) {
  // A thread's writer id goes back to the registry when the thread exits
  // and the next new thread takes it. If its counts started again from 0,
  // a thread that knew the id's old commits would take the new holder's
  // first commit for one it knew, skip the extension's validation, and
  // return a mixed snapshot (new x, old y) instead of aborting.
  tvar<int> x{0}, y{0};
  (void)atomically([&](transaction& tx) { return tx.read(x); });  // this thread holds its id from now on
  for (int i = 1; i <= 3; ++i) commit_from_other_thread(x, i);  // three threads, one id: its counts 1..3
  EXPECT_EQ(atomically([&](transaction& tx) { return tx.read(x); }), 3);  // we know them now
  int runs = 0;
  const auto [xv, yv] = atomically([&](transaction& tx) {
    const int yr = tx.read(y);
    if (++runs == 1) {
      std::thread([&] {  // a new thread: takes the id the exited one gave back
        atomically([&](transaction& t2) {
          t2.write(x, 10);
          t2.write(y, 10);
        });
      }).join();
    }
    return std::pair{tx.read(x), yr};
  });
  EXPECT_EQ(runs, 2);
  EXPECT_EQ(xv, 10);
  EXPECT_EQ(yv, 10);
}

TEST(StmTest, MoreThreadsThanWriterIdsShareOne) {
  // 1,100 threads alive at once: the ids 1..1023 run out and the rest share
  // id 0 (one counter for all of them). Transfers among 8 accounts from
  // all of them must conserve the total.
  constexpr int kThreads = 1100, kAccounts = 8, kTransfers = 20;
  std::array<tvar<long>, kAccounts> acc;
  for (auto& a : acc) atomically([&](transaction& tx) { tx.write(a, 100L); });
  std::latch all_have_ids(kThreads);
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      (void)atomically([&](transaction& tx) { return tx.read(acc[0]); });  // takes an id
      all_have_ids.arrive_and_wait();
      for (int i = 0; i < kTransfers; ++i) {
        const int from = (t + i) % kAccounts, to = (t + 2 * i + 1) % kAccounts;
        if (from == to) continue;
        atomically([&](transaction& tx) {
          tx.write(acc[from], tx.read(acc[from]) - 1);
          tx.write(acc[to], tx.read(acc[to]) + 1);
        });
      }
    });
  }
  for (auto& th : threads) th.join();
  const long total = atomically([&](transaction& tx) {
    long s = 0;
    for (auto& a : acc) s += tx.read(a);
    return s;
  });
  EXPECT_EQ(total, 100L * kAccounts);
}

// Not under the sanitizers: ThreadSanitizer does not support fork() in a
// multi-threaded process, and AddressSanitizer's thread registry is not
// fork-safe while another thread is in pthread_create (the child hangs).
#if !QUIESCE_TSAN && !QUIESCE_ASAN
TEST(StmTest, AForkChildStartsTransactionsOnNewThreads) {
  // Threads take and give back writer ids under the registry's mutex while
  // the parent forks; the child (only the forking thread survives) must find
  // the mutex free and hand ids to its own new threads.
  tvar<int> x{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> churn;
  for (int t = 0; t < 2; ++t)
    churn.emplace_back([&] {
      while (!stop.load(std::memory_order_relaxed))
        std::thread([&] { atomically([&](transaction& tx) { tx.write(x, tx.read(x) + 1); }); }).join();
    });
  for (int round = 0; round < 20; ++round) {
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      int ok = 0;
      std::thread([&] { ok = atomically([&](transaction& tx) { tx.write(x, tx.read(x) + 1); return 1; }); }).join();
      ::_exit(ok == 1 ? 0 : 1);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "round " << round;
  }
  stop.store(true);
  for (auto& t : churn) t.join();
}
#endif

#if !QUIESCE_TSAN && !QUIESCE_ASAN
TEST(StmTest, ForkRacingAnotherThreadsFirstTransactionLeavesTheChildUsable) {
  // The first atomically() in the process builds nothing under a guard a
  // fork could leave held (support/fork_first_use.hpp): the child's own
  // first transaction runs, whatever instant the fork hit.
  const std::string failed = quiesce::test::fork_races_first_use(
      [] {
        static tvar<int> x{0};
        atomically([](transaction& tx) { tx.write(x, tx.read(x) + 1); });
      },
      [] {
        tvar<int> y{0};
        if (atomically([&](transaction& tx) { tx.write(y, 1); return 1; }) != 1) ::_exit(3);
      });
  EXPECT_EQ(failed, "");
}
#endif

TEST(StmTest, NestedAtomicallyJoinsTheOuterTransaction) {
  tvar<int> a{0}, b{0};
  atomically([&](transaction& outer) {
    outer.write(a, 1);
    const int inner_saw = atomically(
        [&](transaction& inner) {
          EXPECT_EQ(&inner, &outer);
          inner.write(b, 2);
          return inner.read(a);  // the outer's write
        },
        stm_options{.max_retries = 0});
    EXPECT_EQ(inner_saw, 1);
    EXPECT_EQ(b.load(), 0);  // nothing committed until the outer commits
  });
  EXPECT_EQ(a.load(), 1);
  EXPECT_EQ(b.load(), 2);

  // An exception out of the nested call aborts everything if not caught.
  EXPECT_THROW(atomically([&](transaction& outer) {
                 outer.write(a, 10);
                 atomically([&](transaction& inner) {
                   inner.write(b, 20);
                   throw std::logic_error("inner");
                 });
               }),
               std::logic_error);
  EXPECT_EQ(a.load(), 1);
  EXPECT_EQ(b.load(), 2);
}

TEST(StmTest, SwallowedAbortStillRetries) {
  tvar<int> a{0}, out{0};
  int runs = 0;
  atomically([&](transaction& tx) {
    ++runs;
    int v = -1;
    try {
      (void)tx.read(a);
      if (runs == 1) commit_from_other_thread(a, 7);
      v = tx.read(a);
    } catch (...) {  // swallows the internal abort: bad practice, still safe
    }
    tx.write(out, v);  // throws again: the transaction is doomed
  });
  EXPECT_EQ(runs, 2);
  EXPECT_EQ(out.load(), 7);
}

TEST(StmTest, LoadInsideATransactionSeesCommittedState) {
  tvar<int> a{3};
  atomically([&](transaction& tx) {
    tx.write(a, 4);
    EXPECT_EQ(a.load(), 3);
    EXPECT_EQ(tx.read(a), 4);
  });
  EXPECT_EQ(a.load(), 4);
}

TEST(StmTest, ManyWritesInOneTransaction) {
  // More tvars than Bloom-filter bits: the log lookup must still be exact.
  std::array<tvar<std::uint64_t>, 300> v;
  atomically([&](transaction& tx) {
    for (std::size_t i = 0; i < v.size(); ++i) tx.write(v[i], std::uint64_t{i});
    for (std::size_t i = 0; i < v.size(); ++i) tx.write(v[i], tx.read(v[i]) * 2);
  });
  for (std::size_t i = 0; i < v.size(); ++i) EXPECT_EQ(v[i].load(), 2 * i);
}

}  // namespace
