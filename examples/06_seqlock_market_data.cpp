// 06_seqlock_market_data.cpp — a market-data snapshot written by one feed
// thread and read by many strategy threads through a seqlock.
//
// A quote (bid, ask, sizes, sequence number) is 48 bytes: too big for one
// atomic, and read far more often than written. A mutex would make every
// reader write the lock's cache line; quiesce::seqlock<T> readers only read.
// The writer makes a sequence counter odd, writes the quote, makes it even
// again; a reader copies the quote between two reads of the counter and keeps
// the copy only if the counter was even and unchanged, otherwise it retries.
// A torn quote (new bid, old ask) can be *copied* but is never *returned*.
//
// Memory ordering in two sentences: the quote's words are copied with relaxed
// atomic loads and stores (so there is no data race, unlike the classic
// seqlock that copies with plain loads), fenced by the counter's release
// (writer) and acquire (reader) operations. If the counter is unchanged, no
// write overlapped the copy, so the copy is one whole quote.
//
// What to look at: quotes kept per reader, retries (copies thrown away because
// the feed was writing: that is the seqlock working, not failing), and
// "inconsistent snapshots: 0" (ask > bid, a checksum over the fields, and
// sequence numbers that never go backwards, checked on every kept copy).
#include <quiesce/seqlock.hpp>

#include <cstdint>
#include <cstdio>
#include <latch>
#include <thread>
#include <vector>

namespace {

struct quote {  // trivially copyable, as seqlock<T> requires; prices in ticks
  std::int64_t bid, ask;
  std::int64_t bid_size, ask_size;
  std::uint64_t sequence;
  std::uint64_t checksum;  // over the fields above: a torn copy would not match
};

std::uint64_t checksum_of(const quote& q) {
  std::uint64_t h = 1469598103934665603ull;  // FNV-1a over the five fields
  for (std::uint64_t w : {std::uint64_t(q.bid), std::uint64_t(q.ask), std::uint64_t(q.bid_size),
                          std::uint64_t(q.ask_size), q.sequence})
    h = (h ^ w) * 1099511628211ull;
  return h;
}

quote make_quote(std::uint64_t n) {  // the feed's n-th update: prices wander, spread 1..3 ticks
  quote q{};
  q.bid = 100000 + static_cast<std::int64_t>((n * 37) % 200) - 100;
  q.ask = q.bid + 1 + static_cast<std::int64_t>(n % 3);
  q.bid_size = static_cast<std::int64_t>(100 + n % 900);
  q.ask_size = static_cast<std::int64_t>(100 + (n * 13) % 900);
  q.sequence = n;
  q.checksum = checksum_of(q);
  return q;
}

}  // namespace

int main() {
  constexpr int readers = 3;
  constexpr std::uint64_t updates = 100000;
  quiesce::seqlock<quote> book{make_quote(0)};

  std::vector<long> kept(readers, 0), retries(readers, 0), inconsistent(readers, 0);
  std::latch readers_running(readers);  // the feed starts once every reader is reading
  std::vector<std::thread> threads;
  for (int r = 0; r < readers; ++r)
    threads.emplace_back([&, r] {  // a strategy: reads until it has seen the feed's last update
      std::uint64_t last_seq = 0;
      readers_running.count_down();
      while (last_seq != updates) {
        quote q;
        if (!book.try_load(q)) {  // the feed wrote during our copy: throw it away, try again
          ++retries[r];
          std::this_thread::yield();  // 2-CPU machines: let the feed finish its write
          continue;
        }
        ++kept[r];
        if (q.ask <= q.bid || q.checksum != checksum_of(q) || q.sequence < last_seq) ++inconsistent[r];
        last_seq = q.sequence;
      }
    });

  // The feed (this thread): one update per tick. update(f) takes the writer
  // side (sequence odd), applies f to a copy of the current quote, writes it
  // back and makes the sequence even: readers that copy meanwhile retry.
  // store(q) would write a quote computed outside. Both are serialised
  // internally, so several feeds could write too.
  readers_running.wait();
  for (std::uint64_t n = 1; n <= updates; ++n) book.update([](quote& q) { q = make_quote(q.sequence + 1); });
  for (auto& t : threads) t.join();

  long bad = 0;
  for (int r = 0; r < readers; ++r) {
    std::printf("reader %d: quotes kept %ld, retries %ld, inconsistent %ld\n", r, kept[r], retries[r],
                inconsistent[r]);
    bad += inconsistent[r];
  }
  const quote last = book.load();
  std::printf("feed published %llu updates; last quote: bid %lld x %lld, ask %lld x %lld, sequence %llu\n",
              static_cast<unsigned long long>(updates), static_cast<long long>(last.bid),
              static_cast<long long>(last.bid_size), static_cast<long long>(last.ask),
              static_cast<long long>(last.ask_size), static_cast<unsigned long long>(last.sequence));
  std::printf("inconsistent snapshots: %ld\n", bad);
  if (bad != 0 || last.sequence != updates) {
    std::printf("FAILED: a reader kept a torn quote\n");
    return 1;
  }
  std::printf("every snapshot a reader kept was consistent\n");
  return 0;
}
