// false_sharing_bench — the false-sharing workbench: workloads whose answer
// is known (the packed layout is slower than the padded one), timed with
// two threads pinned to two CPUs, and the padded/packed ratios.
//
//   counters   two threads each fetch_add their own counter; the counters
//              are packed in one 64-byte line, 64 bytes apart (one 128-byte
//              pair: the adjacent-line prefetcher's unit on Intel), or 128
//              bytes apart (quiesce's rule)
//   spsc       a single-producer single-consumer ring whose head (producer)
//              and tail (consumer) indices share a line, or own a 128-byte
//              block each; every value is checked (no loss, no duplicate)
//   hazard     two threads each publish a pointer in their own hazard slot
//              on every iteration, as hazard_pointer::protect does: quiesce's
//              records (128-byte blocks from a node_pool) against two slots
//              packed in one line
//
// Harness: per (workload, layout) one warm-up run, then --repetitions runs,
// the cases interleaved round-robin so that noise from the rest of the
// machine spreads over all of them. Threads are pinned with quiesce::numa's
// scoped_affinity to --cpus (default: the first two CPUs of the process's
// affinity mask; with one CPU there is nothing to measure: exit 77). Within
// a run only the 4096-operation chunks during which neither thread was
// preempted count (see run_pair): a run's figure is their median ns per
// operation, and the table shows the median over runs, min, max, and the
// fraction of chunks that counted ("overlap").
//
// Output: a plain-text table and ratio lines on stdout; --json FILE writes
// the same as JSON. --check makes the run a test of the known answers: exit
// 1 unless each checked packed layout (counters packed vs pad64 and pad128;
// hazard slots in the seq_cst-fence mode) is slower than its padded peer by
// at least --margin (default 1.15): a direction check with a generous
// margin, not a speed assertion; exit 77 when the two threads were too
// rarely on CPU together to tell (a busy machine: fewer than half the runs
// measured, or a median overlap under min_overlap). CI:
// ctest false_sharing_workbench_direction(_fence), RUN_SERIAL. Used by
// scripts/perf_false_sharing.sh.
//
// Build: target false_sharing_bench (perf/CMakeLists.txt; also built with the
// tests, tests/perf_scripts/CMakeLists.txt). Own harness rather than Google
// Benchmark: the two threads must run the same loop at the same time, and
// the binary must also exist in builds without benchmarks.
#include <sys/resource.h>
#include <sys/utsname.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <fstream>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <quiesce/hazard_pointer.hpp>
#include <quiesce/numa/affinity.hpp>
#include <quiesce/numa/topology.hpp>
#include <quiesce/base/layout.hpp>

#include "bench_stats.hpp"

namespace {

using clock_type = std::chrono::steady_clock;
constexpr std::size_t block = quiesce::detail::layout::false_sharing_block;

// ---- layouts ------------------------------------------------------------------

// Two 8-byte counters Gap bytes apart, the pair starting a 128-byte block.
template <std::size_t Gap>
struct alignas(block) counter_pair {
  std::atomic<std::uint64_t> a{0};
  alignas(Gap) std::atomic<std::uint64_t> b{0};
  std::atomic<std::uint64_t>& get(int i) noexcept { return i == 0 ? a : b; }
};
using counters_packed = counter_pair<8>;
using counters_pad64 = counter_pair<64>;
using counters_pad128 = counter_pair<128>;
static_assert(offsetof(counters_packed, b) == 8 && offsetof(counters_pad64, b) == 64 &&
              offsetof(counters_pad128, b) == 128);
static_assert(quiesce::detail::layout::hot_field_alone<counters_pad128, offsetof(counters_pad128, a),
                                                       offsetof(counters_pad128, b)>);

constexpr std::size_t ring_size = 1024;  // power of two

// An SPSC ring in the usual form (Lamport's ring with each side caching the
// other's index, as in rigtorp's SPSCQueue and the Linux kfifo users): the
// producer re-reads tail only when the ring looks full, the consumer re-reads
// head only when it looks empty. Each index is then written by one thread
// on every operation and read by the other rarely, so sharing a line with
// it is pure loss: the packed variant bounces the line on every operation.
// (Without the caches both sides read both indices every time and packing
// them can even win: one line transfer brings both.)
struct spsc_packed {
  alignas(block) std::atomic<std::uint64_t> head{0};  // next slot to write; written by the producer
  std::atomic<std::uint64_t> tail{0};                 // next slot to read; written by the consumer
  alignas(block) std::uint64_t slots[ring_size]{};
};
struct spsc_padded {
  alignas(block) std::atomic<std::uint64_t> head{0};
  alignas(block) std::atomic<std::uint64_t> tail{0};
  alignas(block) std::uint64_t slots[ring_size]{};
};
static_assert(offsetof(spsc_packed, tail) - offsetof(spsc_packed, head) == 8);
static_assert(quiesce::detail::layout::hot_field_alone<spsc_padded, offsetof(spsc_padded, head),
                                                       offsetof(spsc_padded, tail)>);
static_assert(quiesce::detail::layout::hot_field_alone<spsc_padded, offsetof(spsc_padded, tail),
                                                       offsetof(spsc_padded, slots)>);

struct alignas(block) packed_hazards {
  std::atomic<const void*> slot[2] = {};
};

// ---- the two-thread runner ------------------------------------------------------
//
// False sharing costs only while both threads run at once. On a shared
// machine the scheduler often runs one thread while the other waits, and a
// whole-run wall time then mixes contended and uncontended work (or, for the
// coupled SPSC ring, time spent waiting for a descheduled partner). So each
// thread works in chunks of `chunk` operations and records, per chunk, its
// start and end times and whether it was preempted during it (its
// involuntary context-switch count, getrusage(RUSAGE_THREAD), changed). A
// chunk counts only when neither thread was preempted from its start to its
// end: it is not preempted itself, and the other thread's chunks covering
// that interval were not preempted either. The result is the median ns per
// operation of those chunks, and the fraction that counted ("overlap").

constexpr std::uint64_t chunk = 4096;
// --check answers only from cases whose runs counted at least this
// fraction of their chunks (median over runs): on a quiet machine nearly
// all count; well under a quarter means the other CPU was mostly busy.
constexpr double min_overlap = 0.25;

struct run_result {
  double ns_per_op = 0;  // median over the chunks that ran with both threads on CPU (0: fewer than 16)
  double overlap = 0;    // the fraction of chunks that did
  bool ok = true;
  std::string error;
};

using quiesce::perf::median;  // perf/bench_stats.hpp

struct chunk_record {
  clock_type::time_point start, end;
  bool preempted;
};

long involuntary_switches() noexcept {
  rusage u{};
  getrusage(RUSAGE_THREAD, &u);
  return u.ru_nivcsw;
}

// Runs `ops` operations (rounded up to whole chunks) on each of two threads
// pinned to cpu[0] and cpu[1], from a common start: body(i, first, count)
// performs thread i's operations first .. first + count - 1.
template <class Body>
run_result run_pair(const int cpu[2], std::uint64_t ops, Body&& body) {
  const std::uint64_t chunks = (ops + chunk - 1) / chunk;
  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  std::vector<chunk_record> rec[2];
  std::exception_ptr error[2];
  auto worker = [&](int i) {
    try {
      auto pin = quiesce::numa::scoped_affinity::to_cpu(cpu[i]);
      rec[i].reserve(chunks);
      ready.fetch_add(1, std::memory_order_acq_rel);
      while (!go.load(std::memory_order_acquire)) {
      }
      for (std::uint64_t c = 0; c < chunks; ++c) {
        const long sw0 = involuntary_switches();
        const auto t0 = clock_type::now();
        body(i, c * chunk, chunk);
        const auto t1 = clock_type::now();
        rec[i].push_back({t0, t1, involuntary_switches() != sw0});
      }
    } catch (...) {
      error[i] = std::current_exception();
      ready.fetch_add(1, std::memory_order_acq_rel);
    }
  };
  std::thread t0(worker, 0), t1(worker, 1);
  while (ready.load(std::memory_order_acquire) < 2) std::this_thread::yield();
  go.store(true, std::memory_order_release);
  t0.join();
  t1.join();
  for (auto& e : error)
    if (e) std::rethrow_exception(e);
  // Was the other thread on its CPU, working, throughout [a, b]? Its chunks
  // are in time order and nearly contiguous.
  auto covered = [](const std::vector<chunk_record>& other, clock_type::time_point a, clock_type::time_point b) {
    if (other.empty() || other.front().start > a || other.back().end < b) return false;
    auto it = std::lower_bound(other.begin(), other.end(), a,
                               [](const chunk_record& r, clock_type::time_point t) { return r.end < t; });
    for (; it != other.end() && it->start <= b; ++it)
      if (it->preempted) return false;
    return true;
  };
  std::vector<double> counted;
  for (int i = 0; i < 2; ++i)
    for (const chunk_record& r : rec[i])
      if (!r.preempted && covered(rec[1 - i], r.start, r.end))
        counted.push_back(std::chrono::duration<double, std::nano>(r.end - r.start).count() / chunk);
  run_result res;
  // Fewer than 16 chunks with both threads on CPU: no measurement from this run.
  res.ns_per_op = counted.size() >= 16 ? median(counted) : 0;
  res.overlap = static_cast<double>(counted.size()) / static_cast<double>(rec[0].size() + rec[1].size());
  return res;
}

template <class Pair>
run_result run_counters(const int cpu[2], std::uint64_t ops) {
  auto p = std::make_unique<Pair>();
  run_result r = run_pair(cpu, ops, [&](int i, std::uint64_t, std::uint64_t n) {
    std::atomic<std::uint64_t>& c = p->get(i);
    for (std::uint64_t k = 0; k < n; ++k) c.fetch_add(1, std::memory_order_relaxed);
  });
  const std::uint64_t want = (ops + chunk - 1) / chunk * chunk;  // run_pair rounds up to whole chunks
  if (p->a.load() != want || p->b.load() != want) {
    r.ok = false;
    r.error = "a counter lost increments";
  }
  return r;
}

template <class Ring>
run_result run_spsc(const int cpu[2], std::uint64_t ops) {
  auto q = std::make_unique<Ring>();
  std::uint64_t bad = 0;
  std::uint64_t cached_tail = 0, cached_head = 0;  // the producer's and the consumer's private copies
  run_result r = run_pair(cpu, ops, [&](int i, std::uint64_t first, std::uint64_t n) {
    if (i == 0) {  // producer: values first+1 .. first+n
      for (std::uint64_t v = first + 1; v <= first + n; ++v) {
        const std::uint64_t h = q->head.load(std::memory_order_relaxed);
        while (h - cached_tail == ring_size) {  // looks full: re-read; acquire pairs with the consumer's release
          cached_tail = q->tail.load(std::memory_order_acquire);
        }
        q->slots[h % ring_size] = v;
        q->head.store(h + 1, std::memory_order_release);  // publishes the slot; pairs with the consumer's acquire
      }
    } else {  // consumer: expects first+1 .. first+n, in order
      for (std::uint64_t want = first + 1; want <= first + n; ++want) {
        const std::uint64_t t = q->tail.load(std::memory_order_relaxed);
        while (cached_head == t) {  // looks empty: re-read; acquire pairs with the producer's release
          cached_head = q->head.load(std::memory_order_acquire);
        }
        if (q->slots[t % ring_size] != want) ++bad;
        q->tail.store(t + 1, std::memory_order_release);  // frees the slot; pairs with the producer's acquire
      }
    }
  });
  if (bad != 0) {
    r.ok = false;
    r.error = std::to_string(bad) + " values lost, duplicated or out of order";
  }
  return r;
}

// One protect-like publication per operation: store the hazard (release),
// the reader side's fence, re-load the source (acquire). quiesce's records
// go through hazard_pointer::protect itself; the packed peer does the same
// steps with the same fence: a compiler barrier when the membarrier fast
// path is on, a seq_cst fence otherwise (quiesce's light_fence; set
// QUIESCE_HP_FENCE=fence for the fallback). Without a fence, a thread's
// stores to a contended line wait in its store buffer and commit in bursts
// when the line arrives, so packing costs little: the known answer holds
// with the fence only (see expectations below).
struct hp_node : quiesce::hazard_pointer_obj_base<hp_node> {
  int value = 0;
};

run_result run_hazard_quiesce(const int cpu[2], std::uint64_t ops) {
  hp_node nodes[2];
  std::atomic<hp_node*> src[2] = {&nodes[0], &nodes[1]};
  std::uint64_t wrong[2] = {0, 0};
  std::optional<quiesce::hazard_pointer> hp[2];
  run_result r = run_pair(cpu, ops, [&](int i, std::uint64_t, std::uint64_t n) {
    if (!hp[i]) hp[i].emplace(quiesce::make_hazard_pointer());  // on the worker, from its node's records
    for (std::uint64_t k = 0; k < n; ++k) {
      if (hp[i]->protect(src[i]) != &nodes[i]) ++wrong[i];
    }
  });
  if (wrong[0] + wrong[1] != 0) {
    r.ok = false;
    r.error = "protect returned a wrong pointer";
  }
  return r;
}

run_result run_hazard_packed(const int cpu[2], std::uint64_t ops) {
  auto hz = std::make_unique<packed_hazards>();
  int nodes[2] = {0, 1};
  std::atomic<const int*> src[2] = {&nodes[0], &nodes[1]};
  const bool asymmetric = quiesce::hazard_pointer_asymmetric_fence();
  std::uint64_t wrong[2] = {0, 0};
  run_result r = run_pair(cpu, ops, [&](int i, std::uint64_t, std::uint64_t n) {
    std::atomic<const void*>& slot = hz->slot[i];
    for (std::uint64_t k = 0; k < n; ++k) {
      const int* p = src[i].load(std::memory_order_relaxed);
      slot.store(p, std::memory_order_release);
      if (asymmetric)
        std::atomic_signal_fence(std::memory_order_seq_cst);
      else
        std::atomic_thread_fence(std::memory_order_seq_cst);
      if (src[i].load(std::memory_order_acquire) != p || p != &nodes[i]) ++wrong[i];
    }
  });
  if (wrong[0] + wrong[1] != 0) {
    r.ok = false;
    r.error = "the source changed under a reader";
  }
  return r;
}

// ---- cases -----------------------------------------------------------------------

struct bench_case {
  const char* workload;
  const char* layout;
  const char* what;
  double ops_scale;  // relative to --ops
  run_result (*fn)(const int*, std::uint64_t);
  std::vector<double> samples{};   // per repetition: median ns/op of the overlapped chunks
  std::vector<double> overlaps{};  // per repetition: fraction of chunks that overlapped
  std::string error{};
};

std::vector<bench_case> all_cases() {
  return {
      {"counters", "packed", "two counters 8 bytes apart (one 64-byte line)", 1.0, &run_counters<counters_packed>},
      {"counters", "pad64", "64 bytes apart (adjacent lines of one 128-byte pair)", 1.0, &run_counters<counters_pad64>},
      {"counters", "pad128", "128 bytes apart (quiesce's rule)", 1.0, &run_counters<counters_pad128>},
      {"spsc", "packed", "ring head and tail indices in one line", 1.0, &run_spsc<spsc_packed>},
      {"spsc", "padded", "head and tail on their own 128-byte blocks", 1.0, &run_spsc<spsc_padded>},
      {"hazard", "packed", "two hazard slots in one line", 4.0, &run_hazard_packed},
      {"hazard", "quiesce", "quiesce's hazard records (128-byte blocks)", 4.0, &run_hazard_quiesce},
  };
}

// The known answers: (workload, slower layout, faster layout), and which of
// them --check asserts. Reported only:
//  * counters pad64/pad128: depends on the CPU's adjacent-line prefetcher
//    (Intel pairs lines; this AMD VM shows 1.00x).
//  * spsc: when producer and consumer run in lockstep (the ring nearly
//    empty), the consumer re-reads head on every item, so the index line
//    ping-pongs once per item in both layouts and packing adds only ~1.2x,
//    below what a check can separate from noise (runs here: 0.7x-1.2x).
//  * hazard with the membarrier fast path (see run_hazard_packed); checked
//    in the seq_cst-fence mode (QUIESCE_HP_FENCE=fence).
struct expectation {
  const char* workload;
  const char* slow;
  const char* fast;
  bool checked;
};
constexpr expectation expectations[] = {
    {"counters", "packed", "pad128", true},
    {"counters", "packed", "pad64", true},
    {"counters", "pad64", "pad128", false},
    {"spsc", "packed", "padded", false},
    {"hazard", "packed", "quiesce", true},
};

const bench_case* find(const std::vector<bench_case>& cs, const char* w, const char* l) {
  for (const auto& c : cs)
    if (std::strcmp(c.workload, w) == 0 && std::strcmp(c.layout, l) == 0) return &c;
  return nullptr;
}

std::string cpu_model() {
  std::ifstream f("/proc/cpuinfo");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("model name", 0) == 0) {
      auto pos = line.find(':');
      if (pos != std::string::npos) return line.substr(pos + 2);
    }
  }
  return "unknown";
}

std::string json_escape(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '"' || c == '\\') {
      o += '\\';
      o += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      o += ' ';
    } else {
      o += c;
    }
  }
  return o;
}

void usage(std::FILE* out) {
  std::fprintf(out,
               "Usage: false_sharing_bench [--quick] [--repetitions N] [--ops N] [--cpus A,B] [--only WORKLOAD]\n"
               "                           [--json FILE] [--check [--margin R]] [--list]\n"
               "\n"
               "Times workloads whose answer is known (packed layouts slower than padded ones) with two\n"
               "threads pinned to two CPUs, and prints medians and packed/padded ratios.\n"
               "\n"
               "  --quick          fewer operations and repetitions (a few seconds)\n"
               "  --repetitions N  timed runs per case after one warm-up (default 9; --quick 5)\n"
               "  --ops N          operations per thread per run (default 16000000; --quick 4000000);\n"
               "                   hazard uses four times as many\n"
               "  --cpus A,B       the two CPUs (default: the first two of the affinity mask)\n"
               "  --only W         one workload: counters, spsc or hazard\n"
               "  --json FILE      also write the results as JSON\n"
               "  --check          exit 1 unless each checked packed layout is slower than its padded peer\n"
               "                   by at least --margin (default 1.15): the known answers, as a test\n"
               "  --list           list the cases and exit\n"
               "\n"
               "Exit: 0; 1 a check or a workload's own verification failed; 2 usage; 77 fewer than two\n"
               "CPUs, or (--check) the two threads too rarely ran at the same time to tell.\n");
}

}  // namespace

int main(int argc, char** argv) {
  bool quick = false, check = false, list = false;
  int repetitions = -1;
  long long ops_arg = -1;
  double margin = 1.15;
  int cpu[2] = {-1, -1};
  std::string json, only;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "false_sharing_bench: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    try {
      if (a == "--quick") {
        quick = true;
      } else if (a == "--check") {
        check = true;
      } else if (a == "--list") {
        list = true;
      } else if (a == "--repetitions") {
        repetitions = std::stoi(value());
        if (repetitions < 1) throw std::invalid_argument("");
      } else if (a == "--ops") {
        ops_arg = std::stoll(value());
        if (ops_arg < 1000) throw std::invalid_argument("");
      } else if (a == "--margin") {
        margin = std::stod(value());
        if (!(margin >= 1.0)) throw std::invalid_argument("");
      } else if (a == "--cpus") {
        const std::string v = value();
        std::size_t comma = v.find(',');
        if (comma == std::string::npos) throw std::invalid_argument("");
        std::size_t used = 0;
        cpu[0] = std::stoi(v.substr(0, comma), &used);
        if (used != comma) throw std::invalid_argument("");
        const std::string second = v.substr(comma + 1);
        cpu[1] = std::stoi(second, &used);
        if (used != second.size() || cpu[0] < 0 || cpu[1] < 0 || cpu[0] == cpu[1]) throw std::invalid_argument("");
      } else if (a == "--only") {
        only = value();
        if (only != "counters" && only != "spsc" && only != "hazard") throw std::invalid_argument("");
      } else if (a == "--json") {
        json = value();
      } else if (a == "-h" || a == "--help") {
        usage(stdout);
        return 0;
      } else {
        std::fprintf(stderr, "false_sharing_bench: unknown option '%s'\n", a.c_str());
        usage(stderr);
        return 2;
      }
    } catch (const std::exception&) {
      std::fprintf(stderr,
                   "false_sharing_bench: bad value for %s (repetitions >= 1, ops >= 1000, margin >= 1, "
                   "cpus 'A,B' two different CPUs, only counters|spsc|hazard)\n",
                   a.c_str());
      return 2;
    }
  }

  std::vector<bench_case> cases;
  for (auto& c : all_cases())
    if (only.empty() || only == c.workload) cases.push_back(c);
  if (list) {
    for (const auto& c : cases) std::printf("%s/%s\t%s\n", c.workload, c.layout, c.what);
    return 0;
  }
  if (repetitions < 0) repetitions = quick ? 5 : 9;
  const std::uint64_t ops = ops_arg > 0 ? static_cast<std::uint64_t>(ops_arg) : quick ? 4000000 : 16000000;

  if (cpu[0] < 0) {
    const std::vector<int> mine = quiesce::numa::current_affinity();
    if (mine.size() < 2) {
      std::printf("SKIP: false_sharing_bench: the process may run on %zu CPU(s) only (affinity mask); false "
                  "sharing needs two threads running at once on two CPUs\n",
                  mine.size());
      return 77;
    }
    cpu[0] = mine[0];
    cpu[1] = mine[1];
  }
  const auto& topo = quiesce::numa::topology::system();
  for (int c : cpu) {
    if (!topo.has_cpu(c)) {
      std::fprintf(stderr, "false_sharing_bench: --cpus: CPU %d does not exist or is offline\n", c);
      return 2;
    }
  }
  std::string relation = "different cores";
  if (topo.same_core(cpu[0], cpu[1]))
    relation = "SMT siblings of one core (false sharing is cheap there: one L1)";
  else if (topo.node_of_cpu(cpu[0]) != topo.node_of_cpu(cpu[1]))
    relation = "different NUMA nodes";
  else if (topo.share_l3(cpu[0], cpu[1]))
    relation = "different cores sharing an L3";

  std::printf("false_sharing_bench: CPUs %d and %d (%s), %s\n", cpu[0], cpu[1], relation.c_str(), cpu_model().c_str());
  std::printf("false_sharing_bench: %d repetitions after a warm-up, cases interleaved; %llu ops per thread per "
              "counters run; hazard pointer fence: %s\n",
              repetitions, static_cast<unsigned long long>(ops),
              quiesce::hazard_pointer_asymmetric_fence() ? "membarrier (compiler barrier on the reader)"
                                                         : "seq_cst fence");

  bool failed = false;
  auto run_one = [&](bench_case& c, bool keep) {
    const auto n = static_cast<std::uint64_t>(static_cast<double>(ops) * c.ops_scale);
    run_result r = c.fn(cpu, n);
    if (!r.ok) {
      c.error = r.error;
      failed = true;
    }
    if (!keep) return;
    c.overlaps.push_back(r.overlap);
    if (r.ns_per_op > 0) c.samples.push_back(r.ns_per_op);
  };
  try {
    for (auto& c : cases) run_one(c, false);  // warm-up: pages, records, frequencies
    for (int rep = 0; rep < repetitions; ++rep)
      for (auto& c : cases) run_one(c, true);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "false_sharing_bench: FAIL: %s\n", e.what());
    return 1;
  }

  std::printf("\n| workload | layout | what | ns/op median | min | max | runs | overlap |\n"
              "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |\n");
  for (const auto& c : cases) {
    if (c.samples.empty()) {
      std::printf("| %s | %s | %s | - | - | - | 0 | %.0f%% |\n", c.workload, c.layout, c.what, 100 * median(c.overlaps));
      continue;
    }
    const auto [mn, mx] = std::minmax_element(c.samples.begin(), c.samples.end());
    std::printf("| %s | %s | %s | %.2f | %.2f | %.2f | %zu | %.0f%% |\n", c.workload, c.layout, c.what,
                median(c.samples), *mn, *mx, c.samples.size(), 100 * median(c.overlaps));
  }
  std::printf("(ns/op: median over the chunks during which both threads ran; overlap: the median fraction of such "
              "chunks per run)\n");
  std::printf("\n");
  struct ratio_row {
    const expectation* e;
    double ratio;
    bool checked;  // part of this run's check
    bool pass;
  };
  std::vector<ratio_row> ratios;
  int check_failures = 0, inconclusive = 0;
  const bool fence_mode = !quiesce::hazard_pointer_asymmetric_fence();
  for (const auto& e : expectations) {
    const bench_case* s = find(cases, e.workload, e.slow);
    const bench_case* f = find(cases, e.workload, e.fast);
    if (s == nullptr || f == nullptr) continue;
    const bool checked = e.checked && (std::strcmp(e.workload, "hazard") != 0 || fence_mode);
    // Too few repetitions in which both threads ran together, or runs in
    // which they seldom did: no answer. The chunks that do count in a run
    // where the other CPU was mostly taken by other work are the few
    // stretches both threads happened to get, which need not resemble a
    // contended steady state (a packed pair has read as fast as a padded
    // one that way, with another build running beside it).
    const auto enough = [&](const bench_case* c) {
      return c->samples.size() * 2 > c->overlaps.size() && median(c->overlaps) >= min_overlap;
    };
    if (!enough(s) || !enough(f)) {
      std::printf("false_sharing_bench: ratio %s %s/%s: INCONCLUSIVE: the two threads rarely ran at the same time "
                  "(overlap %.0f%% / %.0f%%; the CPUs are busy with other work)\n",
                  e.workload, e.slow, e.fast, 100 * median(s->overlaps), 100 * median(f->overlaps));
      if (check && checked) ++inconclusive;
      continue;
    }
    const double ratio = median(s->samples) / median(f->samples);
    const bool pass = ratio >= margin;
    ratios.push_back({&e, ratio, checked, pass});
    const char* note = "";
    if (check) note = !checked ? " (reported only)" : pass ? " (ok: >= margin)" : " (FAIL: below margin)";
    std::printf("false_sharing_bench: ratio %s %s/%s = %.2fx%s\n", e.workload, e.slow, e.fast, ratio, note);
    if (check && checked && !pass) ++check_failures;
  }
  if (!fence_mode)
    std::printf("false_sharing_bench: hazard: reported only with the membarrier fast path (no fence in protect: "
                "stores to a contended line commit in bursts); QUIESCE_HP_FENCE=fence checks it\n");
  for (const auto& c : cases)
    if (!c.error.empty()) std::printf("false_sharing_bench: FAIL: %s/%s: %s\n", c.workload, c.layout, c.error.c_str());

  if (!json.empty()) {
    std::ofstream out(json);
    utsname u{};
    uname(&u);
    out << "{\n  \"tool\": \"false_sharing_bench\",\n";
    out << "  \"cpus\": [" << cpu[0] << ", " << cpu[1] << "],\n";
    out << "  \"cpu_relation\": \"" << json_escape(relation) << "\",\n";
    out << "  \"cpu_model\": \"" << json_escape(cpu_model()) << "\",\n";
    out << "  \"kernel\": \"" << json_escape(u.release) << "\",\n";
    out << "  \"repetitions\": " << repetitions << ",\n  \"ops\": " << ops << ",\n";
    out << "  \"cases\": [\n";
    for (std::size_t i = 0; i < cases.size(); ++i) {
      const auto& c = cases[i];
      out << "    {\"workload\": \"" << c.workload << "\", \"layout\": \"" << c.layout << "\", \"what\": \""
          << json_escape(c.what) << "\", \"median_ns_per_op\": " << median(c.samples) << ", \"median_overlap\": " << median(c.overlaps) << ", \"samples_ns_per_op\": [";
      for (std::size_t k = 0; k < c.samples.size(); ++k) out << (k ? ", " : "") << c.samples[k];
      out << "], \"error\": " << (c.error.empty() ? "null" : "\"" + json_escape(c.error) + "\"") << "}"
          << (i + 1 < cases.size() ? "," : "") << "\n";
    }
    out << "  ],\n  \"ratios\": [\n";
    for (std::size_t i = 0; i < ratios.size(); ++i) {
      const auto& r = ratios[i];
      out << "    {\"workload\": \"" << r.e->workload << "\", \"slow\": \"" << r.e->slow << "\", \"fast\": \""
          << r.e->fast << "\", \"ratio\": " << r.ratio << ", \"checked\": " << (r.e->checked ? "true" : "false")
          << "}" << (i + 1 < ratios.size() ? "," : "") << "\n";
    }
    out << "  ],\n  \"check\": " << (check ? "true" : "false") << ",\n  \"margin\": " << margin
        << ",\n  \"check_failures\": " << check_failures
        << ",\n  \"inconclusive\": " << inconclusive << "\n}\n";
    if (!out) {
      std::fprintf(stderr, "false_sharing_bench: cannot write %s\n", json.c_str());
      return 1;
    }
    std::printf("false_sharing_bench: wrote %s\n", json.c_str());
  }
  if (failed) return 1;
  if (check && check_failures > 0) {
    std::printf("false_sharing_bench: FAIL: %d packed layout(s) not slower than the padded peer by %.2fx\n",
                check_failures, margin);
    return 1;
  }
  if (check && inconclusive > 0) {
    std::printf("SKIP: false_sharing_bench: %d known answer(s) inconclusive: the two threads rarely ran at the same "
                "time (a busy machine); run again when it is quieter\n",
                inconclusive);
    return 77;
  }
  if (check) std::printf("false_sharing_bench: check passed: every packed layout slower by >= %.2fx\n", margin);
  return 0;
}
