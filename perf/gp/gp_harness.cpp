// perf/gp/gp_harness.cpp — one point of the grace-period reproduction.
//
// Reproduces the experiments of M. Desnoyers, P. E. McKenney, A. Stern,
// M. Dagenais, J. Walpole, "User-Level Implementations of Read-Copy Update",
// IEEE TPDS 23(2), 2012, through quiesce's wrappers (<quiesce/rcu.hpp>), with
// the paper's method: threads run for a fixed time and count what they did
// (the structure of liburcu's tests/benchmark/test_urcu*.c, re-written here).
//
//   read            readers loop { enter section; load the shared pointer;
//                   check the payload; busy work; leave }, optionally with
//                   writers replacing the pointer; metric reads/s (+ updates/s)
//   update          the same with --writers >= 1; RCU writers free the old
//                   version per --reclaim (rcu_synchronize per update, a batch
//                   per rcu_synchronize, or rcu_obj_base::retire); lock
//                   writers swap under the exclusive lock; metric updates/s
//   gp-latency      --readers busy readers; the main thread times
//                   rcu_synchronize --samples times; p50/p90/p99/max in us
//   retire-latency  the main thread retires --samples stamped objects, one
//                   every --gap-us, through --path; each deleter records
//                   now - stamp; p50/p90/p99/max in us
//
// Placement: threads are pinned round-robin over the CPUs (--cpus, else the
// process's affinity mask): readers first, then writers, then the main thread.
// Busy work inside a section is measured in TSC cycles: from 256 cycles on
// a spin on the TSC itself, below that an empty loop calibrated against the
// TSC once per process.
//
// Output: one JSON line on stdout (parameters, per metric median/min/max/
// quartiles over repetitions and the repetitions' values). Errors: exit 2
// with "gp_harness: error: ..." on stderr before any thread starts.
#include <pthread.h>
#include <sched.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <linux/membarrier.h>
#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#endif

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <quiesce/numa.hpp>
#include <quiesce/rcu.hpp>

#include "gp_options.hpp"
#include "gp_stats.hpp"

namespace {

using namespace quiesce;
using gp::contender;
using gp::experiment;
using gp::options;

// ---------------------------------------------------------------- clocks ----

std::uint64_t now_ns() noexcept {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
          .count());
}

// The time-stamp counter; on other architectures nanoseconds stand in for cycles.
std::uint64_t cycles() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  return __rdtsc();
#else
  return now_ns();
#endif
}

// An empty loop the compiler must keep: the read-side "busy work".
[[gnu::noinline]] void spin_loops(std::uint64_t n) noexcept {
  for (std::uint64_t i = 0; i < n; ++i) asm volatile("" ::: "memory");
}

// Sections of at least this many cycles spin on the TSC itself (exact in TSC
// cycles whatever the core's clock does; the two rdtsc reads, ~25-40 cycles
// each, are noise at this length). Shorter ones run the calibrated loop, whose
// loops-per-cycle ratio varies with the core's frequency from one process to
// the next (0.67-1.49 seen on a 16-vCPU VM).
constexpr std::uint64_t tsc_spin_threshold = 256;
std::uint64_t g_tsc_section = 0;  // set in main before any thread starts; then read-only

// The busy work inside one read-side section: `loops` calibrated iterations,
// or g_tsc_section TSC cycles when that is set.
inline void section_work(std::uint64_t loops) noexcept {
  if (g_tsc_section != 0) {
    const std::uint64_t end = cycles() + g_tsc_section;
    while (cycles() < end) {
    }
  } else {
    spin_loops(loops);
  }
}

struct calibration {
  double loops_per_cycle = 1;
  double tsc_hz = 0;
};

// The TSC's rate (over 20 ms of steady_clock), then loops per TSC cycle
// (median of 5 runs of 2M loops).
calibration calibrate() {
  calibration c;
  // First the TSC rate: its 20 ms of spinning also brings the core to its
  // running clock before the loop is timed.
  const std::uint64_t n0 = now_ns(), c0 = cycles();
  while (now_ns() - n0 < 20'000'000) {
  }
  const std::uint64_t n1 = now_ns(), c1 = cycles();
  c.tsc_hz = static_cast<double>(c1 - c0) * 1e9 / static_cast<double>(n1 - n0);
  std::vector<double> r;
  for (int i = 0; i < 5; ++i) {
    const std::uint64_t t0 = cycles();
    spin_loops(2'000'000);
    const std::uint64_t t1 = cycles();
    r.push_back(2e6 / static_cast<double>(std::max<std::uint64_t>(t1 - t0, 1)));
  }
  c.loops_per_cycle = gp::percentile(r, 0.5);
  return c;
}

// --------------------------------------------------------------- placement --

void pin_self(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (pthread_setaffinity_np(pthread_self(), sizeof set, &set) != 0) {
    std::fprintf(stderr, "gp_harness: error: cannot pin a thread to CPU %d\n", cpu);
    std::exit(2);
  }
}

void relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#endif
}

// ------------------------------------------------------------ shared data --

constexpr std::uint64_t magic = 0x51e5ce0fULL;

struct payload : rcu_obj_base<payload> {
  std::uint64_t value = magic;
};

alignas(128) std::atomic<payload*> g_ptr{nullptr};

struct control {
  alignas(128) std::atomic<unsigned> ready{0};
  alignas(128) std::atomic<bool> go{false};
  std::atomic<bool> stop{false};
};

struct alignas(128) counter {
  std::uint64_t ops = 0;
  std::uint64_t errors = 0;  // payloads read with a wrong value (must stay 0)
};

void wait_for_go(control& c) {
  c.ready.fetch_add(1, std::memory_order_acq_rel);
  while (!c.go.load(std::memory_order_acquire)) std::this_thread::yield();
}

[[gnu::always_inline]] inline void check(const payload* p, std::uint64_t& errors) noexcept {
  if (p == nullptr || p->value != magic) [[unlikely]]
    ++errors;
}

// ------------------------------------------------------------------ locks --

// pthread's rwlock under std::shared_mutex's names, and a std::mutex whose
// read side is its write side (the paper's single mutex), so that the three
// locks every thread shares take one code path.
struct posix_rwlock {
  pthread_rwlock_t l = PTHREAD_RWLOCK_INITIALIZER;
  void lock_shared() { pthread_rwlock_rdlock(&l); }
  void unlock_shared() { pthread_rwlock_unlock(&l); }
  void lock() { pthread_rwlock_wrlock(&l); }
  void unlock() { pthread_rwlock_unlock(&l); }
};
struct exclusive_mutex : std::mutex {
  void lock_shared() { lock(); }
  void unlock_shared() { unlock(); }
};

posix_rwlock g_rwlock;
std::shared_mutex g_shared_mutex;
exclusive_mutex g_mutex;
struct alignas(128) padded_mutex {
  std::mutex m;
};
std::unique_ptr<padded_mutex[]> g_thread_mutexes;  // one per reader
unsigned g_thread_mutex_count = 0;

// The lock every thread of contender C shares (all but per_thread_mutex).
template <contender C>
auto& common_lock() {
  if constexpr (C == contender::rwlock) {
    return g_rwlock;
  } else if constexpr (C == contender::shared_mutex) {
    return g_shared_mutex;
  } else {
    static_assert(C == contender::mutex);
    return g_mutex;
  }
}

// Per-contender read and write critical sections for the locks.
template <contender C>
struct lock_ops {
  static void read_lock(unsigned self) {
    if constexpr (C == contender::per_thread_mutex) {
      g_thread_mutexes[self].m.lock();
    } else {
      common_lock<C>().lock_shared();
    }
  }
  static void read_unlock(unsigned self) {
    if constexpr (C == contender::per_thread_mutex) {
      g_thread_mutexes[self].m.unlock();
    } else {
      common_lock<C>().unlock_shared();
    }
  }
  static void write_lock() {
    if constexpr (C == contender::per_thread_mutex) {
      // The per-thread-mutex writer takes every reader's lock, in index order
      // (the paper's "per-thread mutex": cheap uncontended reads, writers pay N).
      for (unsigned i = 0; i < g_thread_mutex_count; ++i) g_thread_mutexes[i].m.lock();
    } else {
      common_lock<C>().lock();
    }
  }
  static void write_unlock() {
    if constexpr (C == contender::per_thread_mutex) {
      for (unsigned i = g_thread_mutex_count; i-- > 0;) g_thread_mutexes[i].m.unlock();
    } else {
      common_lock<C>().unlock();
    }
  }
};

template <contender C>
void lock_reader(control& c, counter& out, int cpu, unsigned self, std::uint64_t loops) {
  pin_self(cpu);
  wait_for_go(c);
  std::uint64_t n = 0, bad = 0;
  while (!c.stop.load(std::memory_order_relaxed)) {
    lock_ops<C>::read_lock(self);
    check(g_ptr.load(std::memory_order_relaxed), bad);
    if (loops != 0) section_work(loops);
    lock_ops<C>::read_unlock(self);
    ++n;
  }
  out.ops = n;
  out.errors = bad;
}

template <contender C>
void lock_writer(control& c, counter& out, int cpu) {
  pin_self(cpu);
  wait_for_go(c);
  std::uint64_t n = 0;
  while (!c.stop.load(std::memory_order_relaxed)) {
    auto* fresh = new payload;
    lock_ops<C>::write_lock();
    payload* old = g_ptr.load(std::memory_order_relaxed);
    g_ptr.store(fresh, std::memory_order_relaxed);
    lock_ops<C>::write_unlock();
    delete old;  // no reader can hold it: they read under the lock
    ++n;
  }
  out.ops = n;
}

// -------------------------------------------------------------------- RCU --

template <class F>
using domain_of = basic_rcu_domain<F>;

// The RCU contenders and their flavours (the others are locks).
template <contender C>
constexpr bool is_rcu = C == contender::qsbr || C == contender::memb || C == contender::mb || C == contender::bp;
template <contender C>
using flavor_of = std::conditional_t<C == contender::qsbr, rcu_flavor::qsbr,
                  std::conditional_t<C == contender::memb, rcu_flavor::memb,
                  std::conditional_t<C == contender::mb, rcu_flavor::mb, rcu_flavor::bp>>>;

// QSBR readers announce a quiescent state every 1024 reads (as liburcu's
// test_urcu_qsbr does), or sooner, so that at most ~10^6 cycles of read-side
// work pass between two announcements (long sections would otherwise hold
// grace periods for 1024 x the section).
unsigned qs_period(std::uint64_t section_cycles) {
  const std::uint64_t by_cycles = 1'000'000 / (section_cycles + 1);
  return static_cast<unsigned>(std::clamp<std::uint64_t>(by_cycles, 1, 1024));
}

template <class F>
void rcu_reader(control& c, counter& out, int cpu, std::uint64_t loops, unsigned period) {
  using D = domain_of<F>;
  pin_self(cpu);
  rcu_thread_registration<D> reg;
  wait_for_go(c);
  std::uint64_t n = 0, bad = 0;
  unsigned since = 0;
  while (!c.stop.load(std::memory_order_relaxed)) {
    {
      rcu_read_guard<D> g{reg};
      check(g_ptr.load(std::memory_order_acquire), bad);
      if (loops != 0) section_work(loops);
    }
    ++n;
    if constexpr (std::is_same_v<F, rcu_flavor::qsbr>) {
      if (++since >= period) {
        since = 0;
        rcu_quiescent_state();
      }
    }
  }
  out.ops = n;
  out.errors = bad;
}

template <class F>
void rcu_writer(control& c, counter& out, int cpu, gp::reclaim how, unsigned batch) {
  using D = domain_of<F>;
  pin_self(cpu);
  D& dom = D::instance();
  // QSBR: a retiring thread must be registered; it stays offline so that
  // grace periods never wait for it and the backlog throttle may block it.
  std::optional<rcu_thread_registration<D>> reg;
  std::optional<rcu_offline_scope> offline;
  if constexpr (std::is_same_v<F, rcu_flavor::qsbr>) {
    if (how == gp::reclaim::retire) {
      reg.emplace();
      offline.emplace();
    }
  }
  std::vector<payload*> pending;
  pending.reserve(how == gp::reclaim::batch ? batch : 0);
  wait_for_go(c);
  std::uint64_t n = 0;
  while (!c.stop.load(std::memory_order_relaxed)) {
    payload* old = g_ptr.exchange(new payload, std::memory_order_acq_rel);
    switch (how) {
      case gp::reclaim::sync:
        rcu_synchronize(dom);
        delete old;
        break;
      case gp::reclaim::batch:
        pending.push_back(old);
        if (pending.size() >= batch) {
          rcu_synchronize(dom);
          for (payload* p : pending) delete p;
          pending.clear();
        }
        break;
      case gp::reclaim::retire:
        old->retire({}, dom);
        break;
    }
    ++n;
  }
  if (!pending.empty()) {
    rcu_synchronize(dom);
    for (payload* p : pending) delete p;
  }
  out.ops = n;
}

// ---------------------------------------------------------------- points ---

struct metric {
  std::string unit;
  std::vector<double> values;  // one per repetition
};
using metrics = std::map<std::string, metric>;

struct plan {
  std::vector<int> cpus;
  bool oversubscribed = false;
  int cpu_for(unsigned thread_index) const { return cpus[thread_index % cpus.size()]; }
};

// One repetition's value of metric `name`.
void add_value(metrics& m, const std::string& name, const char* unit, double value) {
  m[name].unit = unit;
  m[name].values.push_back(value);
}

// <prefix>_p50_us, _p90_us, _p99_us and _max_us of latencies in microseconds.
void add_latencies(metrics& m, const std::string& prefix, const std::vector<double>& us) {
  const auto d = gp::latency_distribution(us);
  for (auto [k, v] : {std::pair{"_p50_us", d.p50}, {"_p90_us", d.p90}, {"_p99_us", d.p99}, {"_max_us", d.max}})
    add_value(m, prefix + k, "us", v);
}

// The latency experiments' o.readers busy RCU readers of flavour F (pinned
// per the plan), running from construction; stop() stops and joins them and
// returns how many wrong payloads they read.
template <class F>
class busy_readers {
 public:
  busy_readers(const options& o, const plan& pl, std::uint64_t loops) : counters_(o.readers) {
    const unsigned period = qs_period(o.section_cycles);
    for (unsigned i = 0; i < o.readers; ++i)
      threads_.emplace_back(rcu_reader<F>, std::ref(c_), std::ref(counters_[i]), pl.cpu_for(i), loops, period);
    while (c_.ready.load(std::memory_order_acquire) != o.readers) std::this_thread::yield();
    c_.go.store(true, std::memory_order_release);
  }
  ~busy_readers() { stop(); }
  busy_readers(const busy_readers&) = delete;
  busy_readers& operator=(const busy_readers&) = delete;

  std::uint64_t stop() {
    c_.stop.store(true, std::memory_order_relaxed);
    for (auto& t : threads_)
      if (t.joinable()) t.join();
    std::uint64_t errors = 0;
    for (const auto& r : counters_) errors += r.errors;
    return errors;
  }

 private:
  control c_;
  std::vector<counter> counters_;
  std::vector<std::thread> threads_;
};

// One repetition of read/update: threads, go, sleep, stop, join.
template <contender C>
void run_threads(const options& o, const plan& pl, std::uint64_t loops, metrics& m) {
  control c;
  std::vector<counter> rc(o.readers), wc(o.writers);
  std::vector<std::thread> threads;
  threads.reserve(o.readers + o.writers);
  const unsigned period = qs_period(o.section_cycles);
  for (unsigned i = 0; i < o.readers; ++i) {
    const int cpu = pl.cpu_for(i);
    if constexpr (is_rcu<C>) threads.emplace_back(rcu_reader<flavor_of<C>>, std::ref(c), std::ref(rc[i]), cpu, loops, period);
    else threads.emplace_back(lock_reader<C>, std::ref(c), std::ref(rc[i]), cpu, i, loops);
  }
  for (unsigned i = 0; i < o.writers; ++i) {
    const int cpu = pl.cpu_for(o.readers + i);
    if constexpr (is_rcu<C>) threads.emplace_back(rcu_writer<flavor_of<C>>, std::ref(c), std::ref(wc[i]), cpu, o.how, o.batch);
    else threads.emplace_back(lock_writer<C>, std::ref(c), std::ref(wc[i]), cpu);
  }
  while (c.ready.load(std::memory_order_acquire) != o.readers + o.writers) std::this_thread::yield();
  const std::uint64_t t0 = now_ns();
  c.go.store(true, std::memory_order_release);
  std::this_thread::sleep_for(std::chrono::duration<double>(o.duration_s));
  c.stop.store(true, std::memory_order_relaxed);
  const std::uint64_t t1 = now_ns();
  for (auto& t : threads) t.join();
  const double secs = static_cast<double>(t1 - t0) * 1e-9;
  std::uint64_t reads = 0, writes = 0, errors = 0;
  for (const auto& r : rc) reads += r.ops, errors += r.errors;
  for (const auto& w : wc) writes += w.ops;
  add_value(m, "reads_per_s", "reads/s", static_cast<double>(reads) / secs);
  add_value(m, "updates_per_s", "updates/s", static_cast<double>(writes) / secs);
  add_value(m, "errors", "count", static_cast<double>(errors));
}

// gp-latency: `readers` busy readers, the main thread times rcu_synchronize.
template <class F>
void run_gp_latency(const options& o, const plan& pl, std::uint64_t loops, metrics& m) {
  using D = domain_of<F>;
  busy_readers<F> readers(o, pl, loops);
  D& dom = D::instance();
  for (int i = 0; i < 10; ++i) rcu_synchronize(dom);  // warm-up
  std::vector<double> lat(o.samples);
  const std::uint64_t t0 = now_ns();
  for (unsigned i = 0; i < o.samples; ++i) {
    const std::uint64_t a = now_ns();
    rcu_synchronize(dom);
    lat[i] = static_cast<double>(now_ns() - a) * 1e-3;
  }
  const std::uint64_t t1 = now_ns();
  const std::uint64_t errors = readers.stop();
  add_latencies(m, "sync", lat);
  add_value(m, "syncs_per_s", "1/s", o.samples / (static_cast<double>(t1 - t0) * 1e-9));
  add_value(m, "errors", "count", static_cast<double>(errors));
}

// retire-latency: objects stamped at retire; the deleter records now - stamp.
std::vector<std::uint64_t>* g_deleted_at = nullptr;  // written by deleters, read after rcu_barrier

struct stamped {
  std::uint64_t stamp = 0;
  std::uint32_t index = 0;
};
struct record_deleter {
  template <class T>
  void operator()(T* p) const noexcept {
    (*g_deleted_at)[p->index] = now_ns() - p->stamp;
    delete p;
  }
};
struct stamped_obj : rcu_obj_base<stamped_obj, record_deleter>, stamped {};
struct stamped_raw {
  rcu_head head;  // first: liburcu hands it back
  stamped s;
};
void raw_reclaim(rcu_head* h) {
  // Raw liburcu has no ThreadSanitizer annotations (its queue is in
  // uninstrumented code): the same retire -> deleter edge quiesce's retire adds.
  quiesce::detail::rcu::tsan_acquire(h);
  auto* n = reinterpret_cast<stamped_raw*>(h);
  (*g_deleted_at)[n->s.index] = now_ns() - n->s.stamp;
  delete n;
  quiesce::detail::rcu::tsan_release(g_deleted_at);  // ... -> the rcu_barrier below (liburcu's is not annotated)
}

template <class F>
void run_retire_latency(const options& o, const plan& pl, std::uint64_t loops, metrics& m) {
  using D = domain_of<F>;
  constexpr bool is_qsbr = std::is_same_v<F, rcu_flavor::qsbr>;
  busy_readers<F> readers(o, pl, loops);
  D& dom = D::instance();
  std::vector<std::uint64_t> deleted(o.samples, 0);
  g_deleted_at = &deleted;
  const auto gap = static_cast<std::uint64_t>(o.gap_us * 1e3);
  {
    rcu_thread_registration<D> reg;  // raw call_rcu needs a registered thread
    for (unsigned i = 0; i < o.samples; ++i) {
      const std::uint64_t t = now_ns();
      switch (o.path) {
        case gp::retire_path::call_rcu: {
          auto* n = new stamped_raw{};
          n->s = {t, i};
          quiesce::detail::rcu::tsan_release(&n->head);  // no-op outside TSan builds
          F::call(&n->head, &raw_reclaim);
          break;
        }
        case gp::retire_path::rcu_retire: {
          auto* p = new stamped{t, i};
          rcu_retire(p, record_deleter{}, dom);
          break;
        }
        case gp::retire_path::obj_retire: {
          auto* p = new stamped_obj;
          p->stamp = t;
          p->index = i;
          p->retire({}, dom);
          break;
        }
      }
      while (now_ns() - t < gap) {
        if constexpr (is_qsbr) rcu_quiescent_state();  // an online QSBR retirer must announce
        relax();
      }
      if constexpr (is_qsbr) rcu_quiescent_state();
    }
  }
  // Every deleter above has run: quiesce's barrier covers quiesce's retires,
  // raw call_rcu() callbacks need liburcu's own barrier.
  if (o.path == gp::retire_path::call_rcu)
    F::barrier();
  else
    rcu_barrier(dom);
  quiesce::detail::rcu::tsan_acquire(&deleted);
  const std::uint64_t errors = readers.stop();
  std::vector<double> lat(o.samples);
  for (unsigned i = 0; i < o.samples; ++i) lat[i] = static_cast<double>(deleted[i]) * 1e-3;
  g_deleted_at = nullptr;
  add_latencies(m, "retire", lat);
  add_value(m, "errors", "count", static_cast<double>(errors));
}

template <contender C>
void run_point(const options& o, const plan& pl, std::uint64_t loops, metrics& m) {
  if (o.exp == experiment::read || o.exp == experiment::update) {
    run_threads<C>(o, pl, loops, m);
    if constexpr (is_rcu<C>) {
      if (o.how == gp::reclaim::retire)
        rcu_barrier(domain_of<flavor_of<C>>::instance());  // drain between repetitions (not timed)
    }
    return;
  }
  if constexpr (is_rcu<C>) {
    using F = flavor_of<C>;
    if (o.exp == experiment::gp_latency) run_gp_latency<F>(o, pl, loops, m);
    else run_retire_latency<F>(o, pl, loops, m);
  }
}

// ------------------------------------------------------------------ JSON ---

std::string json_escape(std::string_view s) {
  std::string r;
  for (char ch : s) {
    if (ch == '"' || ch == '\\') r += '\\', r += ch;
    else if (static_cast<unsigned char>(ch) < 0x20) r += ' ';
    else r += ch;
  }
  return r;
}

std::string num(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

std::string read_first_line_matching(const char* path, std::string_view prefix) {
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(prefix, 0) == 0) {
      const auto colon = line.find(':');
      if (colon == std::string::npos) return {};
      auto v = line.substr(colon + 1);
      v.erase(0, v.find_first_not_of(" \t"));
      return v;
    }
  }
  return {};
}

void print_info(const gp::options&, const calibration& cal, std::size_t ncpus) {
  std::set<std::pair<int, int>> cores;  // (package, core)
  std::set<int> packages;
  int nodes = 1;
  bool numa_ok = false;
  try {
    const auto& topo = numa::topology::system();
    for (const auto& c : topo.cpus()) {
      cores.insert({c.package, c.core});
      packages.insert(c.package);
    }
    nodes = topo.node_count();
    numa_ok = topo.numa_supported();
  } catch (const std::exception&) {
    // Sandboxes without sysfs: counts stay unknown (0) except the CPUs.
  }
  utsname u{};
  uname(&u);
  const long mb = syscall(__NR_membarrier, MEMBARRIER_CMD_QUERY, 0);
  const bool mb_expedited = mb > 0 && (mb & MEMBARRIER_CMD_PRIVATE_EXPEDITED);
  std::printf(
      "{\"cpu_model\":\"%s\",\"cpus\":%zu,\"online_cpus\":%ld,\"cores\":%zu,\"packages\":%zu,\"nodes\":%d,"
      "\"numa_supported\":%s,\"kernel\":\"%s %s %s\",\"membarrier_query\":%ld,"
      "\"membarrier_private_expedited\":%s,\"tsc_hz\":%s,\"loops_per_cycle\":%s,\"compiler\":\"%s\"}\n",
      json_escape(read_first_line_matching("/proc/cpuinfo", "model name")).c_str(), ncpus,
      sysconf(_SC_NPROCESSORS_ONLN), cores.size(), packages.size(), nodes, numa_ok ? "true" : "false", json_escape(u.sysname).c_str(), json_escape(u.release).c_str(),
      json_escape(u.machine).c_str(), mb, mb_expedited ? "true" : "false", num(cal.tsc_hz).c_str(),
      num(cal.loops_per_cycle).c_str(), json_escape(__VERSION__).c_str());
}

}  // namespace

int main(int argc, char** argv) {
  options o;
  std::vector<std::string_view> args(argv + 1, argv + argc);
  try {
    o = gp::parse_options(args);
  } catch (const gp::usage_error& e) {
    std::fprintf(stderr, "gp_harness: error: %s\n", e.what());
    return 2;
  }
  if (o.help) {
    std::fputs(gp::usage_text().c_str(), stdout);
    return 0;
  }
  // The CPUs: --cpus (each must be in the affinity mask) or the whole mask.
  plan pl;
  try {
    (void)numa::topology::system();  // probe the machine before any thread is pinned
  } catch (const std::exception& e) {
    std::fprintf(stderr, "gp_harness: warning: no topology (%s); --info will be partial\n", e.what());
  }
  const std::vector<int> allowed = numa::current_affinity();
  if (o.cpus.empty()) {
    pl.cpus = allowed;
  } else {
    for (int cpu : o.cpus) {
      if (!std::binary_search(allowed.begin(), allowed.end(), cpu)) {
        std::fprintf(stderr, "gp_harness: error: --cpus: CPU %d is not available to this process (%zu CPUs allowed)\n",
                     cpu, allowed.size());
        return 2;
      }
    }
    pl.cpus = o.cpus;
  }
  if (pl.cpus.empty()) {
    std::fprintf(stderr, "gp_harness: error: no CPU to run on\n");
    return 2;
  }
  const unsigned threads = o.readers + o.writers + (o.exp == experiment::gp_latency || o.exp == experiment::retire_latency ? 1 : 0);
  pl.oversubscribed = threads > pl.cpus.size();

  pin_self(pl.cpu_for(o.readers + o.writers));  // the main thread: after readers and writers
  const calibration cal = calibrate();
  if (o.exp == experiment::info) {
    print_info(o, cal, allowed.size());
    return 0;
  }
  auto loops = static_cast<std::uint64_t>(static_cast<double>(o.section_cycles) * cal.loops_per_cycle + 0.5);
  if (o.section_cycles != 0 && loops == 0) loops = 1;  // loops != 0 means "do the work"
  if (o.section_cycles >= tsc_spin_threshold) g_tsc_section = o.section_cycles;

  g_ptr.store(new payload, std::memory_order_release);
  if (o.who == contender::per_thread_mutex) {
    g_thread_mutex_count = std::max(o.readers, 1u);
    g_thread_mutexes = std::make_unique<padded_mutex[]>(g_thread_mutex_count);
  }
  metrics m;
  for (unsigned r = 0; r < o.reps; ++r) {
    switch (o.who) {
      case contender::qsbr: run_point<contender::qsbr>(o, pl, loops, m); break;
      case contender::memb: run_point<contender::memb>(o, pl, loops, m); break;
      case contender::mb: run_point<contender::mb>(o, pl, loops, m); break;
      case contender::bp: run_point<contender::bp>(o, pl, loops, m); break;
      case contender::rwlock: run_point<contender::rwlock>(o, pl, loops, m); break;
      case contender::shared_mutex: run_point<contender::shared_mutex>(o, pl, loops, m); break;
      case contender::mutex: run_point<contender::mutex>(o, pl, loops, m); break;
      case contender::per_thread_mutex: run_point<contender::per_thread_mutex>(o, pl, loops, m); break;
    }
  }
  delete g_ptr.exchange(nullptr);  // every thread has been joined

  std::ostringstream js;
  js << "{\"experiment\":\"" << gp::name(o.exp) << "\",\"contender\":\"" << gp::name(o.who)
     << "\",\"readers\":" << o.readers << ",\"writers\":" << o.writers << ",\"section_cycles\":" << o.section_cycles
     << ",\"reclaim\":\"" << gp::name(o.how) << "\",\"batch\":" << (o.how == gp::reclaim::batch ? o.batch : 0)
     << ",\"path\":\"" << (o.exp == experiment::retire_latency ? gp::name(o.path) : "") << "\",\"duration_s\":"
     << num(o.duration_s) << ",\"reps\":" << o.reps << ",\"samples\":" << o.samples
     << ",\"gap_us\":" << num(o.gap_us) << ",\"cpus\":[";
  for (std::size_t i = 0; i < pl.cpus.size(); ++i) js << (i ? "," : "") << pl.cpus[i];
  js << "],\"oversubscribed\":" << (pl.oversubscribed ? "true" : "false") << ",\"section_method\":\"" << (g_tsc_section ? "tsc" : "loops") << "\",\"section_loops\":" << loops
     << ",\"loops_per_cycle\":" << num(cal.loops_per_cycle) << ",\"metrics\":{";
  bool first = true;
  for (const auto& [k, v] : m) {
    const auto s = gp::summarize(v.values);
    js << (first ? "" : ",") << "\"" << k << "\":{\"unit\":\"" << v.unit << "\",\"median\":" << num(s.median)
       << ",\"min\":" << num(s.min) << ",\"max\":" << num(s.max) << ",\"q1\":" << num(s.q1) << ",\"q3\":" << num(s.q3)
       << ",\"values\":[";
    for (std::size_t i = 0; i < v.values.size(); ++i) js << (i ? "," : "") << num(v.values[i]);
    js << "]}";
    first = false;
  }
  js << "}}\n";
  std::fputs(js.str().c_str(), stdout);
  // Errors in the payload check mean the synchronisation under test is broken.
  if (m.count("errors") && gp::summarize(m["errors"].values).max > 0) {
    std::fprintf(stderr, "gp_harness: error: readers saw freed or torn payloads\n");
    return 1;
  }
  return 0;
}
