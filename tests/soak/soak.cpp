// quiesce_soak — every component under mixed load at once, with faults
// injected, for a given duration; fails if memory or unreclaimed objects
// grow without bound, if any invariant check fails, or if any object leaks.
//
//   quiesce_soak [--duration SECONDS] [--no-fork] [--quiet] [--help]
//
// Load (one thread each unless noted; every value carries what its reader
// checks):
//   rcu       a writer replaces an rcu_ptr<config> (deleter poisons it); a
//             reader checks canary and checksum in every section, and in a
//             SIGUSR1 handler through rcu_signal_read_guard
//   stack     lockfree::treiber_stack: producer pushes unique values, consumer pops;
//             sums and xors of pushed and popped must match at the end
//   queue     lockfree::ms_queue: one producer, one consumer that checks FIFO order
//   map       lockfree::hash_map: inserts/erases/finds; a value is key * K
//   seqlock   a writer keeps a + b == c; a reader checks every snapshot
//   disruptor single producer, one handler checking the sequence order
//   stm       two threads transfer between 16 accounts; an auditor
//             transaction checks the total every time
//   cell      versioned_cell update(+1) from two threads (final == commits)
//   counter   sharded_counter counts every operation (final == the sum of
//             the threads' own counts)
//   hlc       hybrid_logical_clock::now() strictly increases per thread
// Faults (one every ~200 ms, in turn):
//   stall     a reader holds an RCU read-side section and a hazard pointer
//             for 300 ms (the stall detectors, timeout 100 ms, report it)
//   churn     a thread registers, protects, retires and exits while
//             registered and holding a hazard pointer
//   fork      rcu_fork(); the child uses RCU, hazard pointers and the
//             seqlock, and must exit 0 within 30 s (not under sanitizers)
//   alloc     a node_pool chunk allocation fails (numa::testing); the pool
//             must throw the documented error and work afterwards
//   signals   100 SIGUSR1 to the RCU reader
//   records   an own hazard-pointer domain with 20,000 hazard records (so
//             T = 40,000, past the retired list's packed 16-bit count):
//             one protects an object while 2.5 T others are retired; the
//             unreclaimed count stays within the header's bound after every
//             retire, the protected object is never freed, and everything
//             is freed once nothing is protected
// Samples every second: resident memory, the RCU default domain's
// outstanding retires (checked against the backlog bound), the default
// hazard-pointer domain's unreclaimed objects. Growth check (the other
// two): after a warm-up (the first quarter), the median of the last half of
// the samples must not exceed 1.5 x the median of the first half plus a
// slack (RSS 32 MiB, objects 4096).
// Exit status: 0 pass, 1 fail, 2 bad usage.
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <new>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <quiesce/counter.hpp>
#include <quiesce/disruptor.hpp>
#include <quiesce/hazard_pointer.hpp>
#include <quiesce/hybrid_logical_clock.hpp>
#include <quiesce/lockfree.hpp>
#include <quiesce/lockfree/hash_map.hpp>
#include <quiesce/numa/node_allocator.hpp>
#include <quiesce/numa/testing.hpp>
#include <quiesce/rcu.hpp>
#include <quiesce/seqlock.hpp>
#include <quiesce/stm.hpp>
#include <quiesce/versioned_cell.hpp>

namespace {

using clk = std::chrono::steady_clock;

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool sanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
constexpr bool sanitized = true;
#else
constexpr bool sanitized = false;
#endif
#else
constexpr bool sanitized = false;
#endif

std::atomic<bool> stop{false};
std::atomic<std::uint64_t> checks{0}, violations{0};
quiesce::sharded_counter ops;  // every operation of every load thread

void violation(const char* what) {
  violations.fetch_add(1);
  std::fprintf(stderr, "soak: VIOLATION: %s\n", what);
}
void check(bool ok, const char* what) {
  checks.fetch_add(1, std::memory_order_relaxed);
  if (!ok) violation(what);
}

// Objects whose constructions and destructions are counted: zero live at the
// end, after every structure is drained and destroyed, means nothing leaked.
std::atomic<std::int64_t> live{0};
struct tracked {
  std::uint64_t v = 0;
  tracked() noexcept { live.fetch_add(1, std::memory_order_relaxed); }
  explicit tracked(std::uint64_t x) noexcept : v(x) { live.fetch_add(1, std::memory_order_relaxed); }
  tracked(const tracked& o) noexcept : v(o.v) { live.fetch_add(1, std::memory_order_relaxed); }
  tracked& operator=(const tracked&) noexcept = default;
  ~tracked() { live.fetch_sub(1, std::memory_order_relaxed); }
};

// ---- rcu ----
constexpr std::uint64_t alive = 0xA11CEA11CEA11CEull, dead = 0xDEADDEADDEADDEADull;
struct config {
  std::uint64_t canary = alive;
  std::uint64_t version = 0;
  std::uint64_t sum = 0;  // version * 3 + 1
  tracked t;
};
struct config_deleter {
  void operator()(config* c) const noexcept {
    c->canary = dead;
    delete c;
  }
};
quiesce::rcu_ptr<config, config_deleter>* rcu_cfg = nullptr;
std::atomic<std::uint64_t> signals_handled{0}, signal_bad{0};

bool config_ok(const config* c) { return c->canary == alive && c->sum == c->version * 3 + 1; }

void on_sigusr1(int) {
  quiesce::rcu_signal_read_guard g;
  const config* c = rcu_cfg->load(g);
  if (!config_ok(c)) signal_bad.fetch_add(1, std::memory_order_relaxed);
  signals_handled.fetch_add(1, std::memory_order_relaxed);
}

std::unique_ptr<config, config_deleter> make_config(std::uint64_t v) {
  std::unique_ptr<config, config_deleter> c(new config);
  c->version = v;
  c->sum = v * 3 + 1;
  return c;
}

// A hazard-pointer-protected object (poisoned when freed).
struct hp_obj : quiesce::hazard_pointer_obj_base<hp_obj> {
  std::uint64_t canary = alive;
  tracked t;
  ~hp_obj() { canary = dead; }
};

// ---- seqlock, disruptor, stm ----
struct triple {
  std::uint64_t a, b, c;
};
struct event {
  std::int64_t seq = -1;
};
struct order_checker {
  std::int64_t next = 0;
  std::uint64_t bad = 0;
  void on_event(event& e, std::int64_t s, bool) {
    if (e.seq != s || s != next) ++bad;
    next = s + 1;
  }
};

std::uint64_t rss_kib() {
  std::ifstream f("/proc/self/statm");
  std::uint64_t size = 0, resident = 0;
  f >> size >> resident;
  return resident * static_cast<std::uint64_t>(sysconf(_SC_PAGESIZE)) / 1024;
}

struct sample {
  double t;
  std::uint64_t rss_kib, rcu_outstanding, hp_unreclaimed;
};

// Growth: the last half's maximum against the first half's (after warm-up).
bool grows(const std::vector<sample>& s, std::uint64_t sample::*field, double slack, const char* name) {
  const std::size_t warm = s.size() / 4;
  if (s.size() - warm < 4) return false;
  const std::size_t mid = warm + (s.size() - warm) / 2;
  // Medians, not maxima: a sample that lands in a stall fault (a grace
  // period held for 300 ms) spikes; unbounded growth raises the median.
  auto median = [&](std::size_t from, std::size_t to) {
    std::vector<std::uint64_t> v;
    for (std::size_t i = from; i < to; ++i) v.push_back(s[i].*field);
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2), v.end());
    return v[v.size() / 2];
  };
  const std::uint64_t first = median(warm, mid), last = median(mid, s.size());
  const bool g = static_cast<double>(last) > 1.5 * static_cast<double>(first) + slack;
  std::printf("soak: %s: median %llu in the first half after warm-up, %llu in the last: %s\n", name,
              static_cast<unsigned long long>(first), static_cast<unsigned long long>(last),
              g ? "GROWS" : "bounded");
  return g;
}

void usage(std::FILE* out) {
  std::fprintf(out,
               "usage: quiesce_soak [--duration SECONDS] [--no-fork] [--quiet] [--help]\n"
               "Runs every quiesce component together under load with faults injected (stalled readers,\n"
               "thread churn, fork, allocation failure, signals) for SECONDS (default 600), sampling\n"
               "resident memory and unreclaimed objects every second. Exit 0 if no invariant failed, nothing\n"
               "grew without bound and no object leaked; 1 otherwise; 2 on bad usage.\n");
}

}  // namespace

int main(int argc, char** argv) {
  double duration = 600;
  bool do_fork = !sanitized, quiet = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      usage(stdout);
      return 0;
    } else if (a == "--duration" && i + 1 < argc) {
      char* end = nullptr;
      duration = std::strtod(argv[++i], &end);
      if (*end != '\0' || !(duration > 0)) {
        std::fprintf(stderr, "quiesce_soak: --duration needs a number of seconds > 0, got '%s'\n", argv[i]);
        return 2;
      }
    } else if (a == "--no-fork") {
      do_fork = false;
    } else if (a == "--quiet") {
      quiet = true;
    } else {
      std::fprintf(stderr, "quiesce_soak: unknown argument '%s'\n", a.c_str());
      usage(stderr);
      return 2;
    }
  }

  // Stall detectors: short timeouts, reports counted (not printed).
  std::atomic<std::uint64_t> rcu_stalls{0}, hp_stalls{0};
  {
    quiesce::rcu_stall_options o;
    o.timeout = std::chrono::milliseconds(100);
    o.handler = [&](const quiesce::rcu_stall_report&) { rcu_stalls.fetch_add(1); };
    quiesce::rcu_stall_detector_configure(std::move(o));
    quiesce::hazard_pointer_stall_options h;
    h.timeout = std::chrono::milliseconds(100);
    h.handler = [&](const quiesce::hazard_pointer_stall_report&) { hp_stalls.fetch_add(1); };
    quiesce::hazard_pointer_stall_detector_configure(std::move(h));
  }

  // A smaller retire backlog than the default 2^18: the writer below retires
  // as fast as it can, and the stalls hold grace periods for 300 ms.
  quiesce::rcu_default_domain().set_backlog_limit(std::size_t{1} << 16);
  auto cfg = std::make_unique<quiesce::rcu_ptr<config, config_deleter>>(make_config(0));
  rcu_cfg = cfg.get();
  auto stack = std::make_unique<quiesce::lockfree::treiber_stack<tracked>>();
  auto queue = std::make_unique<quiesce::lockfree::ms_queue<tracked>>();
  auto map = std::make_unique<quiesce::lockfree::hash_map<std::uint64_t, tracked>>(256);
  quiesce::seqlock<triple> seq{triple{0, 1, 1}};
  std::vector<std::unique_ptr<quiesce::tvar<std::int64_t>>> accounts;
  for (int i = 0; i < 16; ++i) accounts.push_back(std::make_unique<quiesce::tvar<std::int64_t>>(1000));
  quiesce::versioned_cell<std::uint64_t> cell{0};
  quiesce::hybrid_logical_clock<> hlc;
  std::atomic<std::uint64_t> cell_commits{0};
  std::atomic<std::int64_t> op_sum{0};  // the threads' own operation counts, added at exit
  std::atomic<std::uint64_t> stack_push_sum{0}, stack_push_xor{0}, stack_pop_sum{0}, stack_pop_xor{0};

  order_checker checker;
  quiesce::disruptor::disruptor<event, quiesce::disruptor::single_producer_sequencer<
                                           quiesce::disruptor::yielding_wait_strategy>>
      dis{1024, [] { return event{}; }};
  dis.handle_events_with(checker);
  auto& ring = dis.start();

  std::vector<std::thread> ts;
  auto worker = [&](auto body) {
    ts.emplace_back([&, body]() mutable {
      std::int64_t mine = 0;
      while (!stop.load(std::memory_order_relaxed)) {
        body();
        ops.increment();
        ++mine;
      }
      op_sum.fetch_add(mine);
    });
  };

  // rcu reader (also the signal target: registered before the handler exists)
  std::atomic<bool> reader_ready{false};
  pthread_t reader_handle{};
  ts.emplace_back([&] {
    quiesce::rcu_thread_registration<quiesce::rcu_domain> reg;
    reader_handle = pthread_self();
    reader_ready = true;
    std::int64_t mine = 0;
    while (!stop.load(std::memory_order_relaxed)) {
      {
        quiesce::rcu_read_guard g(reg);
        check(config_ok(cfg->load(g)), "rcu reader saw a freed or torn config");
      }
      ops.increment();
      ++mine;
    }
    op_sum.fetch_add(mine);
  });
  while (!reader_ready.load()) std::this_thread::yield();
  struct sigaction sa {};
  sa.sa_handler = on_sigusr1;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sigaction(SIGUSR1, &sa, nullptr);

  std::uint64_t version = 0;
  worker([&] { cfg->store(make_config(++version)); });
  std::uint64_t next_val = 1;
  std::atomic<std::int64_t> stack_depth{0};  // approximate: keeps the producer from outrunning the consumer
  worker([&] {
    if (stack_depth.load(std::memory_order_relaxed) >= 4096) return;
    const std::uint64_t v = (next_val++ << 8) | 1;
    stack->push(tracked(v));
    stack_depth.fetch_add(1, std::memory_order_relaxed);
    stack_push_sum.fetch_add(v, std::memory_order_relaxed);
    stack_push_xor.fetch_xor(v, std::memory_order_relaxed);
  });
  worker([&] {
    if (auto v = stack->pop()) {
      stack_depth.fetch_sub(1, std::memory_order_relaxed);
      stack_pop_sum.fetch_add(v->v, std::memory_order_relaxed);
      stack_pop_xor.fetch_xor(v->v, std::memory_order_relaxed);
    }
  });
  std::uint64_t qnext = 0;
  worker([&] {
    if (queue->empty()) queue->push(tracked(qnext++));  // bounded: at most a few in flight
  });
  std::uint64_t qexpect = 0;
  worker([&] {
    if (auto v = queue->pop()) {
      check(v->v == qexpect, "lockfree::ms_queue delivered out of FIFO order (or lost/duplicated a value)");
      qexpect = v->v + 1;
    }
  });
  std::uint64_t mkey = 0;
  worker([&] {
    const std::uint64_t k = (mkey++ * 2654435761u) % 1024;
    switch (mkey % 3) {
      case 0: map->insert_or_assign(k, tracked(k * 7919)); break;
      case 1: map->erase(k); break;
      default:
        if (auto v = map->find(k)) check(v->v == k * 7919, "hash map value does not match its key");
    }
  });
  std::uint64_t sv = 0;
  worker([&] {
    ++sv;
    seq.store(triple{sv, sv + 1, 2 * sv + 1});
  });
  worker([&] {
    const triple t = seq.load();
    check(t.a + t.b == t.c, "seqlock reader accepted a torn snapshot");
  });
  std::int64_t pseq = 0;
  worker([&] { ring.publish_event([](event& e, std::int64_t s) { e.seq = s; }); ++pseq; });
  for (int w = 0; w < 2; ++w) {
    std::uint64_t r = static_cast<std::uint64_t>(w) * 7 + 1;
    worker([&, r]() mutable {
      r = r * 6364136223846793005ull + 1442695040888963407ull;
      const std::size_t from = (r >> 33) % 16, to = (r >> 40) % 16;
      quiesce::atomically([&](quiesce::transaction& tx) {
        const std::int64_t f = tx.read(*accounts[from]);
        if (from == to || f < 10) return;
        tx.write(*accounts[from], f - 10);
        tx.write(*accounts[to], tx.read(*accounts[to]) + 10);
      });
    });
  }
  worker([&] {
    const std::int64_t total = quiesce::atomically([&](quiesce::transaction& tx) {
      std::int64_t s = 0;
      for (auto& a : accounts) s += tx.read(*a);
      return s;
    });
    check(total == 16 * 1000, "STM auditor saw money created or destroyed");
  });
  for (int w = 0; w < 2; ++w)
    worker([&] {
      cell.update([](std::uint64_t v) { return v + 1; });
      cell_commits.fetch_add(1, std::memory_order_relaxed);
    });
  worker([&] {
    thread_local quiesce::hlc_timestamp last{};
    const auto t = hlc.now();
    check(last < t, "hybrid logical clock went backwards");
    last = t;
  });

  // ---- faults and samples (this thread) ----
  std::uint64_t stalls = 0, churned = 0, forks = 0, alloc_failures = 0, signals_sent = 0, record_phases = 0;
  quiesce::hazard_pointer_domain many_records_domain;  // the `records` fault's: its records are re-used each time
  std::vector<sample> samples;
  const auto t0 = clk::now();
  const auto end = t0 + std::chrono::duration_cast<clk::duration>(std::chrono::duration<double>(duration));
  auto next_sample = t0;
  int fault = 0;
  while (clk::now() < end) {
    const auto now = clk::now();
    if (now >= next_sample) {
      samples.push_back({std::chrono::duration<double>(now - t0).count(), rss_kib(),
                         quiesce::rcu_default_domain().stats().outstanding,
                         quiesce::hazard_pointer_default_domain().stats().unreclaimed});
      const auto& s = samples.back();
      if (!quiet)
        std::printf("soak: t=%5.1f s rss %llu KiB, rcu outstanding %llu, hp unreclaimed %llu, ops %lld\n", s.t,
                    static_cast<unsigned long long>(s.rss_kib), static_cast<unsigned long long>(s.rcu_outstanding),
                    static_cast<unsigned long long>(s.hp_unreclaimed), static_cast<long long>(ops.load()));
      next_sample += std::chrono::seconds(1);
    }
    switch (fault++ % 6) {
      case 0: {  // stall: an RCU reader, and a hazard pointer on a retired object, held 300 ms
        std::atomic<hp_obj*> src{new hp_obj};
        std::atomic<bool> protecting{false};
        std::thread s([&] {
          quiesce::rcu_read_guard g;
          auto h = quiesce::make_hazard_pointer();
          hp_obj* o = h.protect(src);
          protecting = true;
          check(config_ok(cfg->load(g)), "stalled rcu reader saw a freed config");
          std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the fault: a reader that stalls
          check(config_ok(cfg->load(g)) && o->canary == alive, "a stalled reader's object was freed under it");
        });
        while (!protecting.load()) std::this_thread::yield();
        src.exchange(nullptr)->retire();  // kept by every scan until the stalled thread lets go
        quiesce::hazard_pointer_cleanup();  // push this thread's retire batch: the scans must see it
        s.join();
        ++stalls;
        break;
      }
      case 1: {  // churn: exits while registered and holding a hazard pointer
        std::thread c([&] {
          { quiesce::rcu_read_guard g; check(config_ok(cfg->load(g)), "churned reader saw a freed config"); }
          thread_local quiesce::hazard_pointer h = quiesce::make_hazard_pointer();
          auto* o = new tracked(1);
          quiesce::hazard_pointer_retire(o);
          stack->push(tracked(3));  // popped by the consumer: sums balance at the end
          stack_push_sum.fetch_add(3);
          stack_push_xor.fetch_xor(3);
        });
        c.join();
        ++churned;
        break;
      }
      case 2:
        if (do_fork) {
          const pid_t pid = quiesce::rcu_fork();
          if (pid == 0) {
            alarm(30);
            int bad = 0;
            {
              quiesce::rcu_read_guard g;
              bad += !config_ok(cfg->load(g));
            }
            cfg->store(make_config(~0ull >> 4));
            quiesce::rcu_barrier();
            auto* o = new tracked(2);
            quiesce::hazard_pointer_retire(o);
            quiesce::hazard_pointer_cleanup();
            // try_load: the parent's writer may have been mid-store at the
            // fork, leaving the child's copy odd forever (a plain load would spin).
            triple t{};
            if (seq.try_load(t)) bad += t.a + t.b != t.c;
            _exit(bad == 0 ? 0 : 1);
          }
          int status = 0;
          check(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0,
                "forked child failed or hung");
          ++forks;
        }
        break;
      case 3:  // a node-pool chunk allocation fails
      {
        // A fresh pool each time (its chunks are unmapped at the end of the
        // scope): its first allocation must map a chunk, which fails.
        quiesce::numa::node_pool pool(64, 8, quiesce::numa::topology::system().nodes().front(),
                                      quiesce::numa::placement::preferred, 4096);
        quiesce::numa::testing::fail_next_chunk_allocations(1);
        try {
          void* p = pool.allocate();
          pool.deallocate(p);
          quiesce::numa::testing::fail_next_chunk_allocations(0);
          violation("an injected node_pool chunk failure did not happen");
        } catch (const std::bad_alloc&) {
          ++alloc_failures;
          check(pool.chunk_count() == 0, "a failed chunk allocation was counted");
          std::vector<void*> got;
          for (int i = 0; i < 200; ++i) got.push_back(pool.allocate());  // works again
          check(pool.chunk_count() >= 1, "node_pool unusable after an allocation failure");
          for (void* p : got) pool.deallocate(p);
        }
        break;
      }
      case 4:
        for (int i = 0; i < 100; ++i, ++signals_sent) pthread_kill(reader_handle, SIGUSR1);
        break;
      default: {  // records: tens of thousands of hazard records, the garbage bound after every retire
        constexpr std::size_t n_records = 20'000;
        auto& dom = many_records_domain;
        std::vector<quiesce::hazard_pointer> hps;
        hps.reserve(n_records);
        for (std::size_t i = 0; i < n_records; ++i) hps.push_back(quiesce::make_hazard_pointer(dom));
        std::atomic<hp_obj*> src{new hp_obj};
        hp_obj* kept = hps[n_records / 3].protect(src);
        src.exchange(nullptr)->retire(dom);
        const auto st0 = dom.stats();
        const std::uint64_t t = st0.threshold, h = st0.hazard_records;
        check(t >= 2 * n_records, "hazard-pointer threshold does not follow the records");
        // One retiring thread, sync mode: the list stays below 2T + H + 1.
        const std::uint64_t bound = 2 * t + h + 1;
        for (std::uint64_t i = 0; i < 5 * t / 2; ++i) {
          (new hp_obj)->retire(dom);
          if (i % 8 == 0 && dom.stats().unreclaimed > bound) {  // every 8th: stats() allocates
            violation("hazard-pointer garbage bound broken with 20,000 records");
            break;
          }
        }
        check(kept->canary == alive, "an object protected in the records phase was freed");
        hps.clear();  // every protection dropped
        quiesce::hazard_pointer_cleanup(dom);
        check(dom.stats().unreclaimed == 0, "the records phase left objects unreclaimed");
        ++record_phases;
        break;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));  // pacing of the faults, not synchronisation
  }

  stop = true;
  for (auto& t : ts) t.join();
  dis.shutdown();
  signal(SIGUSR1, SIG_IGN);

  // Drain and check what the load threads could not check alone.
  while (auto v = stack->pop()) {
    stack_pop_sum.fetch_add(v->v);
    stack_pop_xor.fetch_xor(v->v);
  }
  check(stack_push_sum == stack_pop_sum && stack_push_xor == stack_pop_xor,
        "lockfree::treiber_stack lost or duplicated a value");
  check(checker.bad == 0 && checker.next == pseq, "disruptor handler saw events out of order or missed some");
  check(cell.read().value == cell_commits.load() && cell.read().version == cell_commits.load(),
        "versioned_cell lost an update");
  check(ops.load() == op_sum.load(), "sharded_counter total differs from the threads' own counts");
  check(signal_bad.load() == 0, "a signal-handler reader saw a freed or torn config");
  stack.reset();
  queue.reset();
  map.reset();
  cfg.reset();
  quiesce::rcu_barrier();
  quiesce::hazard_pointer_cleanup();
  const std::int64_t leaked = live.load();
  check(leaked == 0, "tracked objects leaked");

  bool failed = violations.load() != 0;
  failed |= grows(samples, &sample::rss_kib, 32 * 1024, "resident memory (KiB)");
  {
    // RCU retires outstanding: bounded by design by the backlog throttle
    // (backlog_limit(), within 32 per retiring thread); between samples it
    // swings with the stall faults, so the bound is checked, not a trend.
    std::uint64_t most = 0;
    for (const auto& x : samples) most = std::max(most, x.rcu_outstanding);
    const std::uint64_t limit = quiesce::rcu_default_domain().backlog_limit() + 4096;
    const bool over = most > limit;
    std::printf("soak: rcu outstanding retires: at most %llu (bound %llu): %s\n", static_cast<unsigned long long>(most),
                static_cast<unsigned long long>(limit), over ? "EXCEEDED" : "bounded");
    failed |= over;
  }
  failed |= grows(samples, &sample::hp_unreclaimed, 4096, "hazard-pointer unreclaimed objects");
  std::printf(
      "soak: %.0f s, %lld operations, %llu faults injected (%llu stalls, %llu churned threads, %llu forks, "
      "%llu allocation failures, %llu signals, %llu phases with 20,000 hazard records; stall reports: rcu %llu, "
      "hazard pointers %llu), %llu invariant checks, %llu violations, %lld objects leaked: %s\n",
      duration, static_cast<long long>(ops.load()),
      static_cast<unsigned long long>(stalls + churned + forks + alloc_failures + signals_sent + record_phases),
      static_cast<unsigned long long>(stalls), static_cast<unsigned long long>(churned),
      static_cast<unsigned long long>(forks), static_cast<unsigned long long>(alloc_failures),
      static_cast<unsigned long long>(signals_sent), static_cast<unsigned long long>(record_phases),
      static_cast<unsigned long long>(rcu_stalls.load()),
      static_cast<unsigned long long>(hp_stalls.load()), static_cast<unsigned long long>(checks.load()),
      static_cast<unsigned long long>(violations.load()), static_cast<long long>(leaked), failed ? "FAIL" : "PASS");
  return failed ? 1 : 0;
}
