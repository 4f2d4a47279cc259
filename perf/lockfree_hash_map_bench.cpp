// perf/lockfree_hash_map_bench.cpp — quiesce::lockfree::hash_map (hazard
// pointers, <quiesce/lockfree/hash_map.hpp>) against quiesce::rcu_hash_map
// (liburcu's cds_lfht, memb flavour), tbb::concurrent_hash_map (Debian
// libtbb-dev) and std::unordered_map under std::shared_mutex, in one run.
//
// What is measured
//   map/<peer>/keys:<K>/reads:<R>/thr:<T>
//     T threads (1 or 2) each run a random mix over keys [0, K) of one
//     shared map: R% lookups, the rest split evenly between insert and erase
//     (so the map stays about half full). The map is pre-filled with every
//     other key (once per peer and key space: later runs and repetitions
//     continue on the same map, whose inserts and erases balance).
//     Throughput: all threads together, wall-clock time, from Google
//     Benchmark's items_per_second; CPU time per operation is cpu_time / 16.
//     K = 1000 (fits in L2) and 100000 (~5-8 MB: misses in the caches);
//     R = 90 and 99.
//   Peers (the same operations, values uint64_t, keys uint64_t):
//     quiesce_hp        lockfree::hash_map<uint64_t,uint64_t>(K buckets; fixed,
//                       the default): find(k) (a copy), insert(k, v), erase(k)
//     quiesce_hp_growing  the same with lockfree::growing_buckets (split-ordered lists,
//                       K initial buckets)
//     quiesce_rcu_memb  rcu_hash_map<uint64_t,uint64_t> (K initial buckets,
//                       auto-resize): find under an rcu_read_guard (threads
//                       register implicitly on their first guard, outside
//                       the timed loop: see warm-up below), insert, erase.
//                       quiesce's rcu_hash_map is a thin typed layer over
//                       cds_lfht (the same calls).
//     raw_cds_lfht      liburcu's cds_lfht used directly (memb, inline read
//                       side, call_rcu to free): the Debian peer itself
//     tbb               tbb::concurrent_hash_map (K buckets): find with a
//                       const_accessor (a per-bucket reader lock), insert
//                       with an accessor, erase(k)
//     std_shared_mutex  std::unordered_map (reserve(K)) under one
//                       std::shared_mutex: shared lock for find, exclusive
//                       for insert/erase
//   Guarantees: quiesce_hp and quiesce_rcu_memb are lock-free (readers of
//   the RCU map are wait-free); tbb and std_shared_mutex block.
//
// Placement: thread 0 on the first CPU of the process's mask, thread 1 on
// the second (perf/bench_placement.hpp); 2-thread runs are skipped with a
// reason when only one CPU is usable.
//
// Warm-up: each thread runs 1000 untimed operations first (registration for
// RCU, hazard-record caches, node pools, the map's cache lines).
//
// Command (main job: scripts/run_main.sh):
//   build/main/perf/lockfree_hash_map_bench --benchmark_repetitions=5 --benchmark_min_time=0.1
//     --benchmark_display_aggregates_only=true
//     --benchmark_out=out/lockfree_hash_map_bench.json --benchmark_out_format=json
//   python3 perf/lockfree_hash_map_ratios.py out/lockfree_hash_map_bench.json
//
// Machine caveat: on the project's noisy 2-vCPU VM compare medians and
// ratios from one run, never absolute figures across runs.
#include <quiesce/lockfree/hash_map.hpp>
#include <quiesce/rcu.hpp>

#include <benchmark/benchmark.h>
#include <oneapi/tbb/concurrent_hash_map.h>

#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <unordered_map>

#include "bench_placement.hpp"

namespace {

struct xorshift {
  std::uint64_t s;
  std::uint64_t operator()() noexcept {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return s;
  }
};

// ---- peers: make(K), read(k) -> bool, insert(k), erase(k) ----

// quiesce::lockfree::hash_map<uint64_t, uint64_t, ..., Buckets>: find(k) (a
// copy), insert(k, v), erase(k).
template <class Buckets>
struct quiesce_hp_map {
  quiesce::lockfree::hash_map<std::uint64_t, std::uint64_t, std::hash<std::uint64_t>, std::equal_to<std::uint64_t>,
                             Buckets>
      m;
  explicit quiesce_hp_map(std::size_t keys) : m(keys) {}
  bool read(std::uint64_t k) {
    auto v = m.find(k);
    benchmark::DoNotOptimize(v);
    return v.has_value();
  }
  bool insert(std::uint64_t k) { return m.insert(k, k); }
  bool erase(std::uint64_t k) { return m.erase(k); }
};

struct quiesce_hp : quiesce_hp_map<quiesce::lockfree::fixed_buckets> {
  static constexpr const char* name = "quiesce_hp";
  using quiesce_hp_map::quiesce_hp_map;
};

struct quiesce_hp_growing : quiesce_hp_map<quiesce::lockfree::growing_buckets> {
  static constexpr const char* name = "quiesce_hp_growing";
  using quiesce_hp_map::quiesce_hp_map;
};

struct quiesce_rcu_memb {
  static constexpr const char* name = "quiesce_rcu_memb";
  quiesce::rcu_hash_map<std::uint64_t, std::uint64_t> m;
  explicit quiesce_rcu_memb(std::size_t keys) : m(keys) {}
  bool read(std::uint64_t k) {
    quiesce::rcu_read_guard g;
    const std::uint64_t* v = m.find(g, k);
    if (v == nullptr) return false;
    std::uint64_t copy = *v;
    benchmark::DoNotOptimize(copy);
    return true;
  }
  bool insert(std::uint64_t k) { return m.insert(k, k); }
  bool erase(std::uint64_t k) { return m.erase(k); }
};

// liburcu's cds_lfht used directly (Debian liburcu-dev 0.13), memb flavour,
// with liburcu's inline read side: the Debian peer itself, without quiesce's
// typed layer. Nodes freed with urcu_memb_call_rcu. The thread registers
// through quiesce (the first rcu_read_guard registers it with liburcu), as
// perf/rcu_bench's raw peers do.
struct raw_cds_lfht {
  static constexpr const char* name = "raw_cds_lfht";
  struct node {
    cds_lfht_node ln;
    std::uint64_t key, value;
    rcu_head rh;
  };
  cds_lfht* ht;
  explicit raw_cds_lfht(std::size_t keys) {
    const auto n = static_cast<unsigned long>(std::bit_ceil(keys));
    ht = cds_lfht_new_flavor(n, n, 0, CDS_LFHT_AUTO_RESIZE | CDS_LFHT_ACCOUNTING, &urcu_memb_flavor, nullptr);
    if (ht == nullptr) throw std::bad_alloc();
  }
  raw_cds_lfht(const raw_cds_lfht&) = delete;
  raw_cds_lfht& operator=(const raw_cds_lfht&) = delete;
  ~raw_cds_lfht() {
    cds_lfht_iter it;
    urcu_memb_read_lock();
    cds_lfht_first(ht, &it);
    for (cds_lfht_node* n = cds_lfht_iter_get_node(&it); n != nullptr; n = cds_lfht_iter_get_node(&it)) {
      if (cds_lfht_del(ht, n) == 0) urcu_memb_call_rcu(&to_node(n)->rh, &free_node);
      cds_lfht_next(ht, &it);
    }
    urcu_memb_read_unlock();
    cds_lfht_destroy(ht, nullptr);
  }
  static node* to_node(cds_lfht_node* n) noexcept { return reinterpret_cast<node*>(n); }  // ln is first
  static void free_node(rcu_head* h) noexcept {
    delete reinterpret_cast<node*>(reinterpret_cast<char*>(h) - offsetof(node, rh));
  }
  static int match(cds_lfht_node* n, const void* key) noexcept {
    return to_node(n)->key == *static_cast<const std::uint64_t*>(key) ? 1 : 0;
  }
  static unsigned long hash(std::uint64_t k) noexcept { return quiesce::detail::rcu::hash_map_mix(k); }
  static void registered() {
    static thread_local bool done = [] {
      quiesce::rcu_read_guard g;  // registers the thread with liburcu memb
      return true;
    }();
    (void)done;
  }
  bool read(std::uint64_t k) {
    registered();
    _urcu_memb_read_lock();
    cds_lfht_iter it;
    cds_lfht_lookup(ht, hash(k), &match, &k, &it);
    cds_lfht_node* n = cds_lfht_iter_get_node(&it);
    bool found = n != nullptr;
    if (found) {
      std::uint64_t copy = to_node(n)->value;
      benchmark::DoNotOptimize(copy);
    }
    _urcu_memb_read_unlock();
    return found;
  }
  bool insert(std::uint64_t k) {
    registered();
    auto* n = new node{};
    n->key = k;
    n->value = k;
    _urcu_memb_read_lock();
    cds_lfht_node* in = cds_lfht_add_unique(ht, hash(k), &match, &k, &n->ln);
    _urcu_memb_read_unlock();
    if (in != &n->ln) {
      delete n;  // never published
      return false;
    }
    return true;
  }
  bool erase(std::uint64_t k) {
    registered();
    bool erased = false;
    _urcu_memb_read_lock();
    cds_lfht_iter it;
    cds_lfht_lookup(ht, hash(k), &match, &k, &it);
    cds_lfht_node* n = cds_lfht_iter_get_node(&it);
    if (n != nullptr && cds_lfht_del(ht, n) == 0) {
      urcu_memb_call_rcu(&to_node(n)->rh, &free_node);
      erased = true;
    }
    _urcu_memb_read_unlock();
    return erased;
  }
};

struct tbb_map {
  static constexpr const char* name = "tbb";
  using map_t = tbb::concurrent_hash_map<std::uint64_t, std::uint64_t>;
  map_t m;
  explicit tbb_map(std::size_t keys) : m(keys) {}
  bool read(std::uint64_t k) {
    map_t::const_accessor a;
    if (!m.find(a, k)) return false;
    std::uint64_t copy = a->second;
    benchmark::DoNotOptimize(copy);
    return true;
  }
  bool insert(std::uint64_t k) { return m.insert({k, k}); }
  bool erase(std::uint64_t k) { return m.erase(k); }
};

struct std_shared_mutex {
  static constexpr const char* name = "std_shared_mutex";
  std::shared_mutex mu;
  std::unordered_map<std::uint64_t, std::uint64_t> m;
  explicit std_shared_mutex(std::size_t keys) { m.reserve(keys); }
  bool read(std::uint64_t k) {
    std::shared_lock l(mu);
    auto it = m.find(k);
    if (it == m.end()) return false;
    std::uint64_t copy = it->second;
    benchmark::DoNotOptimize(copy);
    return true;
  }
  bool insert(std::uint64_t k) {
    std::unique_lock l(mu);
    return m.emplace(k, k).second;
  }
  bool erase(std::uint64_t k) {
    std::unique_lock l(mu);
    return m.erase(k) != 0;
  }
};

template <class Peer>
inline void one_op(Peer& p, xorshift& rng, std::uint64_t keys, std::uint64_t reads_pct) {
  const std::uint64_t r = rng();
  const std::uint64_t k = (r >> 16) % keys;
  const std::uint64_t dice = r % 200;  // 0.5% steps
  if (dice < reads_pct * 2) {
    benchmark::DoNotOptimize(p.read(k));
  } else if (dice & 1) {
    benchmark::DoNotOptimize(p.insert(k));
  } else {
    benchmark::DoNotOptimize(p.erase(k));
  }
}

// The map shared by one run's threads: made by thread 0 before the timed
// loop (Google Benchmark's threads meet at a barrier when the loop starts
// and when it ends) and kept for the next runs of the same peer and key
// space (Google Benchmark runs a benchmark several times to size it and then
// once per repetition; re-filling 50,000 keys each time would dominate the
// bench's run time). Inserts and erases balance, so it stays about half full.
// Freed when the key space changes and at the end of main().
template <class Peer>
std::unique_ptr<Peer> g_map;
template <class Peer>
std::uint64_t g_map_keys = 0;

template <class Peer>
void bench_map(benchmark::State& st, std::uint64_t keys, std::uint64_t reads_pct) {
  // Every thread must reach the timed loop (its start and end are barriers
  // for all of a run's threads), so a skip is decided alike in all of them.
  const bool two = st.threads() > 1;
  if (two && quiesce::perf::g_cpus.helper < 0) {
    st.SkipWithError("needs 2 CPUs (two threads on one map); this process may use only 1");
    for (auto _ : st) {
    }
    return;
  }
  if (st.thread_index() == 0) {
    (void)quiesce::perf::place(st, two, "");  // on failure: marked skipped, this thread runs no iteration
    if (g_map<Peer> == nullptr || g_map_keys<Peer> != keys) {
      g_map<Peer>.reset();
      g_map<Peer> = std::make_unique<Peer>(keys);
      g_map_keys<Peer> = keys;
      for (std::uint64_t k = 0; k < keys; k += 2) g_map<Peer>->insert(k);
    }
  } else if (!quiesce::perf::pin_thread(pthread_self(), quiesce::perf::g_cpus.helper)) {
    st.SkipWithError("cannot pin the second thread (pthread_setaffinity_np failed)");
  }
  xorshift rng{0x9E3779B97F4A7C15ull * static_cast<std::uint64_t>(st.thread_index() + 1)};
  bool warmed = false;
  for (auto _ : st) {
    Peer& p = *g_map<Peer>;
    if (!warmed) [[unlikely]] {
      st.PauseTiming();
      for (int i = 0; i < 1000; ++i) one_op(p, rng, keys, reads_pct);
      st.ResumeTiming();
      warmed = true;
    }
    for (int i = 0; i < 16; ++i) one_op(p, rng, keys, reads_pct);
  }
  st.SetItemsProcessed(static_cast<std::int64_t>(st.iterations()) * 16);
}

template <class Peer>
void register_peer() {
  for (std::uint64_t keys : {1000u, 100000u}) {
    for (std::uint64_t reads : {90u, 99u}) {
      for (int threads : {1, 2}) {
        const std::string name = std::string("map/") + Peer::name + "/keys:" + std::to_string(keys) +
                                 "/reads:" + std::to_string(reads) + "/thr:" + std::to_string(threads);
        benchmark::RegisterBenchmark(name.c_str(),
                                     [keys, reads](benchmark::State& st) { bench_map<Peer>(st, keys, reads); })
            ->Threads(threads)
            ->UseRealTime();
      }
    }
  }
}

const bool registered = [] {
  register_peer<quiesce_hp>();
  register_peer<quiesce_hp_growing>();
  register_peer<quiesce_rcu_memb>();
  register_peer<raw_cds_lfht>();
  register_peer<tbb_map>();
  register_peer<std_shared_mutex>();
  return true;
}();

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  // The maps outlive their benchmarks (see g_map): free them here, in the
  // main thread, before static destruction and liburcu's exit handlers.
  g_map<quiesce_hp>.reset();
  g_map<quiesce_hp_growing>.reset();
  g_map<quiesce_rcu_memb>.reset();
  g_map<raw_cds_lfht>.reset();
  g_map<tbb_map>.reset();
  g_map<std_shared_mutex>.reset();
  benchmark::Shutdown();
  return 0;
}
