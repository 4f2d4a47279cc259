// perf/numa_bench.cpp — the numa component (<quiesce/numa.hpp>) against its
// peers, in one run.
//
// What is measured
//   alloc_free/<peer>/size:<32|64|256>
//     One allocation and its free, back to back, 1 thread; the object's first
//     byte is written (each peer's memory must be usable: for numa_alloc_onnode
//     this is where its page fault happens). Peers: quiesce node_pool (on the
//     measuring CPU's node), malloc/free, numa_alloc_onnode/numa_free,
//     std::pmr::unsynchronized_pool_resource and synchronized_pool_resource
//     (over new/delete), and quiesce allocate_on_node/deallocate_on_node
//     (page-granular; shows what a page costs). items_per_second = pairs.
//     Targets (issue "numa: topology, node-local memory, pinning"):
//     node_pool <= 1.5x malloc, >= 10x faster than numa_alloc_onnode.
//   alloc_free_batch/<peer>/size:<32|64|256>
//     512 allocations, then their 512 frees: past the per-thread cache of a
//     node_pool (256 objects at these sizes, 128 at 256 bytes), so the shared
//     list's mutex is on the path.
//     items_per_second counts objects.
//   memory/chase/<local_node:N|remote_node:K|remote>
//     Pointer chase through a 64 MiB buffer on node N (strict placement,
//     allocate_on_node), one 64-byte line per hop in a random single cycle
//     (Sattolo), from the measuring CPU. Counter s_per_load: seconds per
//     dependent load (latency; includes TLB misses with 4 KiB pages).
//   memory/read/<local_node:N|remote_node:K|remote>
//     Sequential sum of the same 64 MiB as 64-bit words: bytes_per_second.
//     With one NUMA node the remote cases report SkipWithError("only one NUMA
//     node: no remote memory").
//   pingpong/matrix
//     Cache-line ping-pong between every pair of CPUs (up to 16 of the
//     process's CPUs, spread evenly; QUIESCE_PINGPONG_CPUS="0,2,8-9"
//     overrides): two threads, each pinned to one CPU of the pair, bounce one
//     std::atomic<uint64_t> alone on a 128-byte-aligned block (odd values
//     from the first CPU, even replies from the second). After 2000 warm-up
//     round trips, 31 batches of 1000 round trips are timed (steady_clock
//     around each batch); counter cpuA_cpuB = the median batch's ns per round
//     trip. Real time, one iteration per repetition.
//
// Placement
//   The measuring thread is pinned (scoped_affinity) to the first CPU of the
//   process's affinity mask (topology::system().cpus().front()); "local" is
//   that CPU's node. The ping-pong partner thread is pinned to the pair's
//   second CPU.
//
// Command (Release build; the main job runs it for out/numa_ratios.md):
//   build/perf/numa_bench --benchmark_repetitions=5 --benchmark_min_time=0.2
//     --benchmark_display_aggregates_only=true
//     --benchmark_out=out/numa_bench.json --benchmark_out_format=json
//   python3 perf/numa_ratios.py out/numa_bench.json
//
// Machine caveat
//   On a VM, vCPUs are threads of the host: ping-pong figures include the
//   hypervisor's scheduling, and "SMT siblings" may not be. Compare ratios
//   from one run, never absolute figures across machines. The run's context
//   (JSON "context") records the topology it saw.
#include <quiesce/numa.hpp>

#include <benchmark/benchmark.h>
#include <numa.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory_resource>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace qn = quiesce::numa;

int measuring_cpu() { return qn::topology::system().cpus().front().cpu; }
int local_node() { return qn::topology::system().cpu(measuring_cpu()).node; }

inline void touch(void* p) { *static_cast<volatile char*>(p) = 1; }

// ---------------------------------------------------------------------------
// (a) Small-object allocation.

// Each peer: an object with allocate()/deallocate() for one size.
struct pool_peer {
  qn::node_pool pool;
  explicit pool_peer(std::size_t size) : pool(size, alignof(std::max_align_t), local_node()) {}
  void* allocate() { return pool.allocate(); }
  void deallocate(void* p) { pool.deallocate(p); }
};
struct malloc_peer {
  std::size_t size;
  explicit malloc_peer(std::size_t s) : size(s) {}
  void* allocate() { return std::malloc(size); }
  void deallocate(void* p) { std::free(p); }
};
struct numa_alloc_peer {
  std::size_t size;
  int node = local_node();
  explicit numa_alloc_peer(std::size_t s) : size(s) {}
  void* allocate() { return numa_alloc_onnode(size, node); }
  void deallocate(void* p) { numa_free(p, size); }
};
template <class Resource>
struct pmr_peer {
  Resource resource;
  std::size_t size;
  explicit pmr_peer(std::size_t s) : size(s) {}
  void* allocate() { return resource.allocate(size, alignof(std::max_align_t)); }
  void deallocate(void* p) { resource.deallocate(p, size, alignof(std::max_align_t)); }
};
struct pages_peer {
  std::size_t size;
  int node = local_node();
  explicit pages_peer(std::size_t s) : size(s) {}
  void* allocate() { return qn::allocate_on_node(size, node); }
  void deallocate(void* p) { qn::deallocate_on_node(p, size); }
};

template <class Peer>
void alloc_free(benchmark::State& state) {
  auto pin = qn::scoped_affinity::to_cpu(measuring_cpu());
  Peer peer(static_cast<std::size_t>(state.range(0)));
  for (int i = 0; i < 1000; ++i) {  // warm-up: chunks mapped, caches filled
    void* p = peer.allocate();
    touch(p);
    peer.deallocate(p);
  }
  for (auto _ : state) {
    void* p = peer.allocate();
    touch(p);
    benchmark::DoNotOptimize(p);
    peer.deallocate(p);
  }
  state.SetItemsProcessed(state.iterations());
}

template <class Peer>
void alloc_free_batch(benchmark::State& state) {
  auto pin = qn::scoped_affinity::to_cpu(measuring_cpu());
  Peer peer(static_cast<std::size_t>(state.range(0)));
  constexpr int batch = 512;  // past the largest per-thread cache of a node_pool (256 objects)
  void* objects[batch];
  auto round = [&] {
    for (auto& p : objects) {
      p = peer.allocate();
      touch(p);
    }
    benchmark::DoNotOptimize(objects);
    for (void* p : objects) peer.deallocate(p);
  };
  for (int i = 0; i < 20; ++i) round();
  for (auto _ : state) round();
  state.SetItemsProcessed(state.iterations() * batch);
}

template <class Peer>
void register_alloc(const char* name) {
  benchmark::RegisterBenchmark((std::string("alloc_free/") + name).c_str(), alloc_free<Peer>)
      ->ArgName("size")
      ->Arg(32)
      ->Arg(64)
      ->Arg(256);
  benchmark::RegisterBenchmark((std::string("alloc_free_batch/") + name).c_str(), alloc_free_batch<Peer>)
      ->ArgName("size")
      ->Arg(32)
      ->Arg(64)
      ->Arg(256);
}

// ---------------------------------------------------------------------------
// (b) Local and remote memory.

constexpr std::size_t buffer_bytes = std::size_t{64} << 20;
constexpr std::size_t line = 64;
constexpr std::size_t hops_per_iteration = 1024;

struct node_buffer {
  void* p;
  explicit node_buffer(int node) : p(qn::allocate_on_node(buffer_bytes, node, qn::placement::strict)) {}
  ~node_buffer() { qn::deallocate_on_node(p, buffer_bytes); }
  node_buffer(const node_buffer&) = delete;
  node_buffer& operator=(const node_buffer&) = delete;
};

// A memory row: the measuring thread pinned, buffer_bytes on `node`, then
// body(memory); the "node" counter names the node. Skipped when node < 0
// (one node only: no remote memory).
template <class Body>
void on_node_buffer(benchmark::State& state, int node, Body body) {
  if (node < 0) {
    state.SkipWithError("only one NUMA node: no remote memory");
    return;
  }
  auto pin = qn::scoped_affinity::to_cpu(measuring_cpu());
  node_buffer buf(node);
  body(buf.p);
  state.counters["node"] = node;
}

void chase(benchmark::State& state, int node) {
  on_node_buffer(state, node, [&state](void* memory) {
    auto* base = static_cast<char*>(memory);
    const std::size_t lines = buffer_bytes / line;
    // One random cycle through every line (Sattolo's algorithm).
    std::vector<std::size_t> order(lines);
    for (std::size_t i = 0; i < lines; ++i) order[i] = i;
    std::mt19937_64 rng(42);
    for (std::size_t i = lines - 1; i > 0; --i) {
      std::uniform_int_distribution<std::size_t> pick(0, i - 1);
      std::swap(order[i], order[pick(rng)]);
    }
    for (std::size_t i = 0; i < lines; ++i)
      *reinterpret_cast<void**>(base + order[i] * line) = base + order[(i + 1) % lines] * line;
    void* p = base;
    for (std::size_t i = 0; i < lines; ++i) p = *static_cast<void**>(p);  // warm-up: one full lap
    for (auto _ : state) {
      for (std::size_t i = 0; i < hops_per_iteration; ++i) p = *static_cast<void**>(p);
      benchmark::DoNotOptimize(p);
    }
    state.counters["s_per_load"] = benchmark::Counter(static_cast<double>(state.iterations() * hops_per_iteration),
                                                      benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  });
}

void sequential_read(benchmark::State& state, int node) {
  on_node_buffer(state, node, [&state](void* memory) {
    const auto* words = static_cast<const std::uint64_t*>(memory);
    const std::size_t n = buffer_bytes / sizeof(std::uint64_t);
    auto sum_all = [&] {
      std::uint64_t sum = 0;
      for (std::size_t i = 0; i < n; ++i) sum += words[i];
      return sum;
    };
    benchmark::DoNotOptimize(sum_all());  // warm-up
    for (auto _ : state) benchmark::DoNotOptimize(sum_all());
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(buffer_bytes));
  });
}

void register_memory() {
  const int local = local_node();
  auto add = [](const std::string& where, int node) {
    benchmark::RegisterBenchmark(("memory/chase/" + where).c_str(), [node](benchmark::State& s) { chase(s, node); })
        ->Unit(benchmark::kNanosecond);
    benchmark::RegisterBenchmark(("memory/read/" + where).c_str(),
                                 [node](benchmark::State& s) { sequential_read(s, node); })
        ->Unit(benchmark::kMillisecond);
  };
  add("local_node:" + std::to_string(local), local);
  bool any_remote = false;
  for (int node : qn::topology::system().nodes()) {
    if (node == local) continue;
    any_remote = true;
    add("remote_node:" + std::to_string(node), node);
  }
  if (!any_remote) add("remote", -1);
}

// ---------------------------------------------------------------------------
// (c) Core-to-core ping-pong.

struct alignas(128) bounce_line {
  std::atomic<std::uint64_t> value{0};
};
static_assert(sizeof(bounce_line) == 128, "the bounced atomic must be alone on its 128-byte block");

constexpr std::uint64_t stop_value = ~std::uint64_t{0};
constexpr int warmup_round_trips = 2000;
constexpr int batches = 31;
constexpr int round_trips_per_batch = 1000;

// Median ns per round trip between CPUs a (this thread) and b (a helper).
double ping_pong(int a, int b) {
  bounce_line line;
  std::thread partner([&] {
    auto pin = qn::scoped_affinity::to_cpu(b);
    for (;;) {
      // Pairs with the first CPU's release store of an odd value.
      const std::uint64_t v = line.value.load(std::memory_order_acquire);
      if (v == stop_value) return;
      if (v & 1) line.value.store(v + 1, std::memory_order_release);  // pairs with the acquire spin below
    }
  });
  auto pin = qn::scoped_affinity::to_cpu(a);
  std::uint64_t next = 1;
  auto round_trip = [&] {
    line.value.store(next, std::memory_order_release);  // pairs with the partner's acquire load
    while (line.value.load(std::memory_order_acquire) != next + 1) {
    }
    next += 2;
  };
  for (int i = 0; i < warmup_round_trips; ++i) round_trip();
  std::vector<double> per_trip;
  per_trip.reserve(batches);
  for (int batch = 0; batch < batches; ++batch) {
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < round_trips_per_batch; ++i) round_trip();
    const auto t1 = std::chrono::steady_clock::now();
    per_trip.push_back(std::chrono::duration<double, std::nano>(t1 - t0).count() / round_trips_per_batch);
  }
  line.value.store(stop_value, std::memory_order_release);
  partner.join();
  std::nth_element(per_trip.begin(), per_trip.begin() + batches / 2, per_trip.end());
  return per_trip[batches / 2];
}

std::vector<int> ping_pong_cpus() {
  std::vector<int> all;
  for (const auto& c : qn::topology::system().cpus()) all.push_back(c.cpu);
  if (const char* env = std::getenv("QUIESCE_PINGPONG_CPUS"); env != nullptr && *env != '\0') {
    std::vector<int> chosen;
    std::string text(env);
    std::size_t pos = 0;
    while (pos < text.size()) {
      const std::size_t comma = std::min(text.find(',', pos), text.size());
      const std::string item = text.substr(pos, comma - pos);
      const std::size_t dash = item.find('-');
      const int lo = std::atoi(item.substr(0, dash).c_str());
      const int hi = dash == std::string::npos ? lo : std::atoi(item.substr(dash + 1).c_str());
      for (int c = lo; c <= hi; ++c)
        if (qn::topology::system().has_cpu(c)) chosen.push_back(c);
      pos = comma + 1;
    }
    return chosen;
  }
  constexpr std::size_t max_cpus = 16;
  if (all.size() <= max_cpus) return all;
  std::vector<int> spread;
  for (std::size_t i = 0; i < max_cpus; ++i) spread.push_back(all[i * all.size() / max_cpus]);
  return spread;
}

void ping_pong_matrix(benchmark::State& state) {
  const auto cpus = ping_pong_cpus();
  if (cpus.size() < 2) {
    state.SkipWithError("needs two CPUs");
    return;
  }
  for (auto _ : state) {
    for (std::size_t i = 0; i < cpus.size(); ++i)
      for (std::size_t j = i + 1; j < cpus.size(); ++j)
        state.counters["cpu" + std::to_string(cpus[i]) + "_cpu" + std::to_string(cpus[j])] =
            ping_pong(cpus[i], cpus[j]);
  }
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;

  const auto& t = qn::topology::system();
  benchmark::AddCustomContext("numa_nodes", std::to_string(t.node_count()));
  benchmark::AddCustomContext("numa_cpus", std::to_string(t.cpus().size()));
  benchmark::AddCustomContext("numa_supported", t.numa_supported() ? "yes" : "no");
  benchmark::AddCustomContext("measuring_cpu", std::to_string(measuring_cpu()));
  benchmark::AddCustomContext("numa_topology", t.describe());

  register_alloc<pool_peer>("node_pool");
  register_alloc<malloc_peer>("malloc");
  register_alloc<numa_alloc_peer>("numa_alloc_onnode");
  register_alloc<pmr_peer<std::pmr::unsynchronized_pool_resource>>("pmr_unsynchronized_pool");
  register_alloc<pmr_peer<std::pmr::synchronized_pool_resource>>("pmr_synchronized_pool");
  register_alloc<pages_peer>("allocate_on_node");
  register_memory();
  benchmark::RegisterBenchmark("pingpong/matrix", ping_pong_matrix)->Iterations(1)->UseRealTime()->Unit(benchmark::kMillisecond);

  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
