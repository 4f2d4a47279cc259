// 04_rcu_routing_table.cpp — RCU in a server: readers look routes up in a
// table that a writer keeps replacing, with no lock on the read path.
//
// The routing table is immutable once published. To change a route the
// writer builds a whole new table and publishes it with one pointer store
// (rcu_ptr::store); the old table is *retired*, not deleted: quiesce (over
// liburcu) deletes it after a grace period, i.e. once every reader that might
// still hold it has left its read-side section (rcu_read_guard). Readers pay
// about a nanosecond per lookup and never wait for the writer or each other.
//
// Memory ordering in two sentences: store() publishes with a release store
// and load(guard) reads with an acquire load, so a reader that gets the new
// pointer also sees every entry the writer filled in before publishing. The
// grace period orders every reader's section before the old table's
// deleter, so no reader can touch a freed table.
//
// What to look at: lookups served by each reader, tables published vs freed
// (freed == published - 1 after rcu_barrier(): the current table is still
// live), and "canary violations: 0": every table carries a canary that its
// deleter overwrites before freeing it, and readers check it on every
// lookup. (ASan builds would also report any read of a freed table.)
#include <quiesce/rcu.hpp>

#include <array>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <latch>
#include <memory>
#include <thread>
#include <vector>

namespace {

constexpr std::uint64_t alive = 0xA11CE5A11CE5A11Cull, dead = 0xDEADDEADDEADDEADull;
constexpr int destinations = 256;
std::atomic<int> tables_freed{0};

struct routing_table {
  std::uint64_t canary = alive;
  int version = 0;
  std::array<int, destinations> next_hop{};  // destination -> port
};
// Which port version v routes destination d to: readers recompute it to check
// they never see a half-built table.
int port_for(int version, int d) { return (version * 7 + d) % 48; }

// The deleter runs on liburcu's reclaim thread after a grace period.
struct table_deleter {
  void operator()(routing_table* t) const noexcept {
    t->canary = dead;  // a reader still using t would see this (or ASan would catch it)
    tables_freed.fetch_add(1, std::memory_order_relaxed);
    delete t;
  }
};
using table_ptr = std::unique_ptr<routing_table, table_deleter>;

table_ptr build_table(int version) {
  table_ptr t(new routing_table);
  t->version = version;
  for (int d = 0; d < destinations; ++d) t->next_hop[d] = port_for(version, d);
  return t;
}

}  // namespace

int main() {
  constexpr int readers = 2, updates = 300;
  // The published table. rcu_ptr owns it: store() retires the previous one
  // through table_deleter, and readers can only load() it under a guard.
  quiesce::rcu_ptr<routing_table, table_deleter> table{build_table(0)};
  int published = 1;

  // Readers serve lookups until they have seen the last table; the writer
  // starts once every reader has served one, so they overlap.
  std::latch readers_serving(readers);
  std::vector<long> served(readers, 0), bad(readers, 0), went_back(readers, 0);
  std::vector<std::thread> threads;
  for (int r = 0; r < readers; ++r)
    threads.emplace_back([&, r] {
      int last_version = 0;
      for (int d = 0; last_version != updates; d = (d + 1) % destinations) {
        quiesce::rcu_read_guard g;                // read-side section: the table stays alive until g ends
        const routing_table* t = table.load(g);   // one acquire load
        const int port = t->next_hop[d];          // the "lookup"
        if (t->canary != alive || port != port_for(t->version, d)) ++bad[r];
        if (t->version < last_version) ++went_back[r];  // one pointer: versions only move forward
        last_version = t->version;
        if (++served[r] == 1) readers_serving.count_down();
      }  // g ends: this reader no longer holds up the old tables' reclamation
    });

  // The writer (this thread): publish new tables while the readers run.
  readers_serving.wait();
  for (int v = 1; v <= updates; ++v) {
    table.store(build_table(v));  // release-publishes v, retires v-1
    ++published;
    if (v % 50 == 0) std::this_thread::yield();  // let the readers see a few versions
  }
  for (auto& t : threads) t.join();

  quiesce::rcu_barrier();  // waits until the deleter of every table retired so far has run
  const int freed = tables_freed.load(std::memory_order_relaxed);
  long total = 0, violations = 0, backwards = 0;
  for (int r = 0; r < readers; ++r) {
    std::printf("reader %d served %ld lookups\n", r, served[r]);
    total += served[r];
    violations += bad[r];
    backwards += went_back[r];
  }
  std::printf("lookups served: %ld; tables published: %d; tables freed: %d (published - 1 = %d: one is live)\n",
              total, published, freed, published - 1);
  std::printf("canary violations or half-built tables seen: %ld; version went backwards: %ld\n", violations,
              backwards);
  if (freed != published - 1 || violations != 0 || backwards != 0 || total == 0) {
    std::printf("FAILED: an RCU invariant did not hold\n");
    return 1;
  }
  std::printf("no reader ever saw a freed table\n");
  return 0;  // ~rcu_ptr retires the last table; quiesce runs rcu_barrier at exit
}
