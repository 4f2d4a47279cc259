// hazard_pointer.cpp — the slow paths of <quiesce/hazard_pointer.hpp>:
// fence-mode selection (membarrier registration), domains (per-node record
// lists and retired lists), scans, cleanup, reclaimer threads and the
// per-thread record cache's exit hook.
//
// Learned from (no code taken): Michael, "Hazard Pointers", IEEE TPDS 2004
// (scan: snapshot the hazards, free what none names); folly's
// synchronization/Hazptr*.h (asymmetric fences, thread-local record caches,
// threshold proportional to the record count); the Linux kernel's
// membarrier(2) documentation.

#include <quiesce/hazard_pointer.hpp>

#include <linux/membarrier.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <new>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include <quiesce/numa/affinity.hpp>
#include <quiesce/numa/node_allocator.hpp>
#include <quiesce/numa/topology.hpp>
#include <quiesce/structures/detail/layout.hpp>

namespace quiesce {

namespace detail::hp {
namespace {

// ---- fences ---------------------------------------------------------------

std::once_flag fence_once;

long sys_membarrier(int cmd) noexcept { return syscall(__NR_membarrier, cmd, 0U, 0); }

// Chooses the fence mode once, before any record exists (every path to a
// record or a scan calls this first). QUIESCE_HP_FENCE=fence forces the
// seq_cst-fence mode (tests run both modes).
void init_fences() noexcept {
  std::call_once(fence_once, [] {
    const char* env = std::getenv("QUIESCE_HP_FENCE");
    if (env != nullptr && std::strcmp(env, "fence") == 0) return;
    long cmds = sys_membarrier(MEMBARRIER_CMD_QUERY);
    if (cmds < 0 || (cmds & MEMBARRIER_CMD_PRIVATE_EXPEDITED) == 0) return;
    if (sys_membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) != 0) return;
    asymmetric.store(true, std::memory_order_relaxed);  // published by call_once
  });
}

// The scanner's half: see light_fence() and the ordering note in the header.
void heavy_fence() noexcept {
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (asymmetric.load(std::memory_order_relaxed)) {
    if (sys_membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) != 0) {
      // A forked child may have to register again; anything else means the
      // readers' compiler-barrier fast path is no longer covered.
      int err = errno;
      if (err != EPERM || sys_membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) != 0 ||
          sys_membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) != 0) {
        std::fprintf(stderr, "quiesce: fatal: membarrier(PRIVATE_EXPEDITED) failed: %s\n", std::strerror(err));
        std::abort();
      }
    }
  }
  std::atomic_thread_fence(std::memory_order_seq_cst);
}

// ---- stall detector (see hazard_pointer_stall_options) --------------------

struct stall_config {
  std::mutex mu;
  hazard_pointer_stall_options opts;     // guarded by mu
  std::atomic<bool> on{true};
  std::atomic<std::int64_t> timeout_ns{21'000'000'000};
  std::atomic<std::uint64_t> reports{0};
};
stall_config& stall_cfg() {
  static stall_config* c = [] {
    auto* p = new stall_config;  // immortal: scans run during exit cleanup
    if (const char* env = std::getenv("QUIESCE_HP_STALL_TIMEOUT_MS")) {
      char* end = nullptr;
      errno = 0;
      const long long ms = std::strtoll(env, &end, 10);
      if (end == env || *end != '\0' || errno != 0 || ms < 0) {
        std::fprintf(stderr,
                     "quiesce: warning: QUIESCE_HP_STALL_TIMEOUT_MS='%s' is not a number of milliseconds >= 0; "
                     "the hazard-pointer stall detector keeps its timeout of 21000 ms\n", env);
      } else if (ms == 0) {
        p->on.store(false, std::memory_order_relaxed);
      } else {
        p->opts.timeout = std::chrono::milliseconds(ms);
        p->timeout_ns.store(ms * 1'000'000, std::memory_order_relaxed);
      }
    }
    return p;
  }();
  return *c;
}

constinit thread_local pid_t tls_tid = 0;  // gettid(), cached; renewed in a fork child
pid_t this_thread_tid() noexcept {
  if (tls_tid == 0) tls_tid = static_cast<pid_t>(::gettid());
  return tls_tid;
}

std::string thread_name(pid_t tid) {
  std::ifstream f("/proc/self/task/" + std::to_string(tid) + "/comm");
  std::string s;
  return std::getline(f, s) ? s : "?";
}

// ---- registry of live domains (for thread caches of non-default domains) --

std::mutex registry_mu;
std::vector<std::uint64_t>& live_ids() {
  static auto* v = new std::vector<std::uint64_t>();  // immortal: used by thread-exit hooks
  return *v;
}
std::atomic<std::uint64_t> next_id{default_domain_id + 1};

// Every domain's impl (the default one included), for the fork handlers;
// guarded by registry_mu.
std::vector<hazard_pointer_domain::impl*>& live_impls() {
  static auto* v = new std::vector<hazard_pointer_domain::impl*>();  // immortal, as live_ids()
  return *v;
}
void install_fork_handlers();  // below, after the domain's definition; throws on allocation failure

bool is_live(std::uint64_t id) {  // registry_mu held
  const auto& v = live_ids();
  return std::find(v.begin(), v.end(), id) != v.end();
}

// ---- per-thread state -------------------------------------------------------

// tls_cache.scan_depth: >0 inside a scan (deleters run there). Part of the
// trivially destructible thread cache, so still usable by the at-exit
// cleanup after the main thread's thread_locals died.

void release_to_domain(record* r) noexcept {
  r->in_use.store(false, std::memory_order_release);
  r->node_free->fetch_add(1, std::memory_order_relaxed);
}

// Empties entry e (records back to their domain). Default-domain entries need
// no lock (that domain never dies); others only if the domain is still live.
void flush_entry(thread_cache::entry& e, bool is_default) noexcept {
  if (e.count == 0) {
    if (!is_default) e.domain_id = 0;
    return;
  }
  if (is_default) {
    for (int i = 0; i < e.count; ++i) release_to_domain(e.recs[i]);
  } else {
    std::lock_guard lk(registry_mu);
    if (is_live(e.domain_id)) {
      for (int i = 0; i < e.count; ++i) release_to_domain(e.recs[i]);
    }
    e.domain_id = 0;
  }
  e.count = 0;
}

struct exit_hook {
  exit_hook() noexcept { tls_cache.open = true; }
  ~exit_hook() {
    tls_cache.open = false;
    tls_cache.exited = true;
    flush_retired();
    for (int i = 0; i < thread_cache::entries; ++i) flush_entry(tls_cache.e[i], i == 0);
  }
};

void ensure_hook() {
  if (!tls_cache.open && !tls_cache.exited) {
    static thread_local exit_hook hook;
    (void)hook;
  }
}

// The cache entry for a domain id: entry 0 for the default domain, the
// matching entry, or (when `claim`) a free entry, evicting entry 3.
thread_cache::entry* entry_for(std::uint64_t id, bool claim) noexcept {
  if (id == default_domain_id) return &tls_cache.e[0];
  for (int i = 1; i < thread_cache::entries; ++i) {
    if (tls_cache.e[i].domain_id == id) return &tls_cache.e[i];
  }
  if (!claim) return nullptr;
  for (int i = 1; i < thread_cache::entries; ++i) {
    if (tls_cache.e[i].domain_id == 0) {
      tls_cache.e[i].domain_id = id;
      return &tls_cache.e[i];
    }
  }
  thread_cache::entry& victim = tls_cache.e[thread_cache::entries - 1];
  flush_entry(victim, false);
  victim.domain_id = id;
  return &victim;
}

}  // namespace
}  // namespace detail::hp

// ---- the domain -------------------------------------------------------------

struct hazard_pointer_domain::impl {
  using record = detail::hp::record;
  using header = detail::hp::retired_header;

  // One node's retired list, written on every retire to objects of this
  // node: alone on its block. The list is one word, so that a retire is a
  // single CAS: the low 48 bits are the head pointer (x86-64 and AArch64
  // user addresses fit; retire() checks), the high 16 bits count the objects
  // on the list, saturating at 65535. Past that, `beyond` holds the rest:
  // a push that takes the packed count to (or keeps it at) 65535 adds what
  // did not fit, and the scan that takes a saturated list counts it by
  // walking and subtracts what it took beyond 65535. So the list's length is
  // count + beyond while saturated, exactly once every push and scan under
  // way has finished, and otherwise off by at most the pushes and the scan
  // in flight (each is one CAS away from its add or subtract). Domains with
  // T under 16384 (H < 8192 records) never reach 65535 in a scan cycle and
  // never touch `beyond`; larger ones pay one more RMW on this block per
  // push while their list is past 65535 objects.
  struct alignas(detail::hp::block) node_retired {
    std::atomic<std::uint64_t> word{0};
    std::atomic<std::int64_t> beyond{0};   // objects past the packed count (see above); may dip below 0 briefly
    std::atomic<bool> scanning{false};     // a threshold-triggered scan is running
    std::atomic<bool> stall_watch{false};  // stall_by_node[this node] is not empty (note_kept)
    std::atomic<std::uint64_t> taken{0};   // objects taken by scans (written once per scan)
  };
  static constexpr unsigned count_shift = detail::hp::retired_count_shift;
  static constexpr std::uint64_t ptr_mask = (std::uint64_t{1} << count_shift) - 1;
  static constexpr std::uint64_t max_count = 0xFFFF;
  static header* ptr_of(std::uint64_t w) noexcept { return reinterpret_cast<header*>(w & ptr_mask); }
  static std::uint64_t count_of(std::uint64_t w) noexcept { return w >> count_shift; }
  static std::uint64_t pack(header* h, std::uint64_t count) noexcept {
    return (std::min(count, max_count) << count_shift) | reinterpret_cast<std::uintptr_t>(h);
  }
  // Read by scans and record claims; written when a record is allocated.
  struct alignas(detail::hp::block) node_records {
    std::atomic<record*> head{nullptr};
    std::atomic<std::int64_t> free{0};       // records released, not claimed again (see record::node_free)
    std::atomic<record*> hint{nullptr};      // where the next claim starts looking (after the last claimed)
    std::mutex mu;                           // guards pool creation
    std::unique_ptr<numa::node_pool> pool;   // 128-byte records on this node
  };
  struct worker {
    std::mutex mu;
    std::condition_variable cv;
    bool wake = false;
    bool stop = false;
    std::atomic<bool> signaled{false};
    std::thread thread;
  };

  std::uint64_t id = 0;
  std::size_t min_threshold = 1000;
  int slots = 1;  // node ids 0..slots-1
  std::unique_ptr<node_retired[]> retired;
  std::unique_ptr<node_records[]> records;

  // Written by scans and record claims, read by every retire (record_count,
  // async_on): a block of their own, away from the read-mostly fields above.
  struct alignas(detail::hp::block) counters {
    std::atomic<std::size_t> record_count{0};
    std::atomic<std::uint64_t> reclaimed{0};
    std::atomic<std::uint64_t> repushed{0};
    std::atomic<std::uint64_t> scans{0};
    std::atomic<std::uint64_t> home{0};
    std::atomic<std::uint64_t> off{0};
    std::atomic<int> active_scans{0};
    std::atomic<bool> async_on{false};
  };
  counters ctr;

  std::mutex async_mu;  // start/stop
  std::vector<std::unique_ptr<worker>> workers;  // one per slot when async

  int fallback_node = 0;  // a node the machine has, for ids it lacks

  // Stall detection (note_kept): per node, the records seen protecting an
  // object a scan had to keep, and since when. Touched only by scans that
  // keep objects.
  struct stall_seen {
    const record* rec;
    const void* ptr;
    std::chrono::steady_clock::time_point since;
  };
  std::mutex stall_mu;
  std::vector<std::vector<stall_seen>> stall_by_node;  // guarded by stall_mu; [slot]
  std::optional<std::chrono::steady_clock::time_point> stall_start;  // the stall last reported
  std::chrono::steady_clock::time_point stall_last_report{};
  std::uint64_t stall_suppressed = 0;

  explicit impl(std::uint64_t id_, std::size_t min_thr) : id(id_), min_threshold(std::max<std::size_t>(1, min_thr)) {
    const auto& nodes = numa::topology::system().nodes();
    slots = nodes.empty() ? 1 : nodes.back() + 1;
    fallback_node = nodes.empty() ? 0 : nodes.front();
    retired = std::make_unique<node_retired[]>(static_cast<std::size_t>(slots));
    records = std::make_unique<node_records[]>(static_cast<std::size_t>(slots));
    stall_by_node.resize(static_cast<std::size_t>(slots));
    detail::hp::install_fork_handlers();
    std::lock_guard lk(detail::hp::registry_mu);
    detail::hp::live_impls().push_back(this);
  }
  ~impl() {
    std::lock_guard lk(detail::hp::registry_mu);
    auto& v = detail::hp::live_impls();
    v.erase(std::remove(v.begin(), v.end(), this), v.end());
  }
  impl(const impl&) = delete;
  impl& operator=(const impl&) = delete;

  int slot(int node) const noexcept { return node >= 0 && node < slots ? node : 0; }

  std::size_t threshold() const noexcept {
    return std::max(min_threshold, 2 * ctr.record_count.load(std::memory_order_relaxed));
  }

  // A record for the calling thread: a free one of its node, else a new one
  // on its node. Free records of other nodes are left alone (a record is
  // written on every protect: it belongs next to its writer), so a domain
  // holds at most, per node, the peak number of records its threads held.
  record* claim(hazard_pointer_domain* self) {
    int mine = slot(numa::current_node());  // exact: records are placed by it
    if (!numa::topology::system().has_node(mine)) mine = fallback_node;
    node_records& nr = records[mine];
    if (nr.free.load(std::memory_order_relaxed) > 0) {
      // From the record after the last one claimed to the end, then from the
      // head: claims in a row find their records in O(1) amortised, not by
      // walking past every record claimed before.
      auto claim_in = [&nr](record* from, record* to) -> record* {
        for (record* r = from; r != to; r = r->next) {
          bool expected = false;
          if (!r->in_use.load(std::memory_order_relaxed) &&
              r->in_use.compare_exchange_strong(expected, true, std::memory_order_acquire, std::memory_order_relaxed)) {
            nr.free.fetch_sub(1, std::memory_order_relaxed);
            nr.hint.store(r->next, std::memory_order_relaxed);
            r->owner_tid.store(detail::hp::this_thread_tid(), std::memory_order_relaxed);
            return r;
          }
        }
        return nullptr;
      };
      // Acquire: the head's (and so every older record's) initialisation;
      // the hint names only records already published through it.
      record* head = nr.head.load(std::memory_order_acquire);
      record* hint = nr.hint.load(std::memory_order_relaxed);
      if (record* r = claim_in(hint != nullptr ? hint : head, nullptr)) return r;
      if (hint != nullptr)
        if (record* r = claim_in(head, hint)) return r;
    }
    void* mem;
    {
      std::lock_guard lk(nr.mu);
      if (!nr.pool) {
        nr.pool = std::make_unique<numa::node_pool>(sizeof(record), alignof(record), mine,
                                                    numa::placement::preferred, std::size_t{64} << 10);
      }
      mem = nr.pool->allocate();
    }
    auto* r = new (mem) record();
    r->in_use.store(true, std::memory_order_relaxed);
    r->owner_tid.store(detail::hp::this_thread_tid(), std::memory_order_relaxed);
    r->node = mine;
    r->domain_id = id;
    r->domain = self;
    r->node_free = &nr.free;
    record* old = nr.head.load(std::memory_order_relaxed);
    do {
      r->next = old;
    } while (!nr.head.compare_exchange_weak(old, r, std::memory_order_release, std::memory_order_relaxed));
    ctr.record_count.fetch_add(1, std::memory_order_relaxed);
    return r;
  }

  // Pushes the chain first..last (k objects) on node n's list; returns the
  // list's count after the push. Release: the pushing thread's unlink of each
  // object and the headers it wrote happen-before the scan that takes them.
  std::uint64_t push_chain(int n, header* first, header* last, std::uint64_t k) noexcept {
    node_retired& nr = retired[n];
    std::uint64_t old = nr.word.load(std::memory_order_relaxed);
    std::uint64_t total;
    do {
      last->next = ptr_of(old);
      total = count_of(old) + k;
    } while (!nr.word.compare_exchange_weak(old, pack(first, total), std::memory_order_release,
                                            std::memory_order_relaxed));
    if (total <= max_count) return total;
    // Saturated: what did not fit in the packed count goes to `beyond`.
    const auto excess = static_cast<std::int64_t>(total - max_count);
    const std::int64_t b = nr.beyond.fetch_add(excess, std::memory_order_relaxed) + excess;
    return max_count + static_cast<std::uint64_t>(std::max<std::int64_t>(b, 0));
  }
  // The length of a list just taken whole from node n (its word was `word`):
  // the packed count, or, if that saturated, the walked length, whose part
  // beyond the packed maximum is taken off the node's `beyond`.
  std::uint64_t settle_taken(int n, std::uint64_t word) noexcept {
    std::uint64_t k = count_of(word);
    if (k < max_count) return k;
    k = 0;
    for (header* h = ptr_of(word); h != nullptr; h = h->next) ++k;
    retired[n].beyond.fetch_sub(static_cast<std::int64_t>(k - max_count), std::memory_order_relaxed);
    return k;
  }

  // Scans node n's list: takes it whole, orders against every reader
  // (heavy fence), snapshots the hazards and frees what none names;
  // survivors go back on the list. Deleters run here (scan_depth > 0:
  // their retires only push).
  void scan(int n) noexcept {
    ctr.active_scans.fetch_add(1, std::memory_order_acq_rel);
    ++detail::hp::tls_cache.scan_depth;
    node_retired& nr = retired[n];
    // Acquire: pairs with the pushes' release CAS, so every object's header
    // (and the unlink that preceded its retire) is visible.
    const std::uint64_t word = nr.word.exchange(0, std::memory_order_acquire);
    header* list = ptr_of(word);
    if (list != nullptr) {
      detail::hp::init_fences();  // the fence mode is fixed before any scan fences
      const std::uint64_t k = settle_taken(n, word);
      nr.taken.fetch_add(k, std::memory_order_relaxed);

      // Every object in `list` was unlinked before it was retired; after this
      // fence a reader either re-read its source after the unlink (and
      // failed validation) or its hazard store is visible below.
      detail::hp::heavy_fence();
      // A fresh vector per scan (one allocation per >= T retires): a
      // thread_local one would be destroyed before the at-exit cleanup runs.
      std::vector<const void*> hz;
      try {
        hz.reserve(ctr.record_count.load(std::memory_order_relaxed));
        for (int m = 0; m < slots; ++m) {
          for (record* r = records[m].head.load(std::memory_order_acquire); r != nullptr; r = r->next) {
            // Acquire: pairs with the owner's release stores, so the owner's
            // reads of a previously protected object happen-before its free.
            const void* p = r->ptr.load(std::memory_order_acquire);
            if (p != nullptr) hz.push_back(p);
          }
        }
      } catch (const std::bad_alloc&) {
        // No memory for the snapshot (scan runs inside the noexcept
        // retire()): free nothing this time — freeing without a complete
        // snapshot could free a protected object — and put the whole list
        // back for a later scan (counted as survivors, as below).
        header* last = list;
        while (last->next != nullptr) last = last->next;
        push_chain(n, list, last, k);
        ctr.repushed.fetch_add(k, std::memory_order_relaxed);
        --detail::hp::tls_cache.scan_depth;
        ctr.active_scans.fetch_sub(1, std::memory_order_acq_rel);
        return;
      }
      std::sort(hz.begin(), hz.end());

      header* keep_first = nullptr;
      header* keep_last = nullptr;
      std::uint64_t kept = 0;
      std::uint64_t freed = 0;
      for (header* h = list; h != nullptr;) {
        header* next = h->next;
        if (std::binary_search(hz.begin(), hz.end(), h->key)) {
          h->next = keep_first;
          keep_first = h;
          if (keep_last == nullptr) keep_last = h;
          ++kept;
        } else {
          h->reclaim(h);
          ++freed;
        }
        h = next;
      }
      if (kept != 0 && detail::hp::stall_cfg().on.load(std::memory_order_relaxed))
        note_kept(n, keep_first, kept);
      else if (nr.stall_watch.load(std::memory_order_relaxed))
        forget_kept(n);  // this node's scans keep nothing now: its old holders are not stalled
      if (kept != 0) {
        push_chain(n, keep_first, keep_last, kept);
        ctr.repushed.fetch_add(kept, std::memory_order_relaxed);
      }
      if (freed != 0) {
        const bool on_home = numa::current_node() == n;  // exact, for the statistics
        (on_home ? ctr.home : ctr.off).fetch_add(freed, std::memory_order_relaxed);
        ctr.reclaimed.fetch_add(freed, std::memory_order_relaxed);
      }
      ctr.scans.fetch_add(1, std::memory_order_relaxed);
    }
    --detail::hp::tls_cache.scan_depth;
    ctr.active_scans.fetch_sub(1, std::memory_order_acq_rel);
  }

  // Stall detection, on a scan of node n that kept `kept` objects (the chain
  // from `first`): which records protect them, since when (per record and
  // pointer, across scans), and a report once one is older than the timeout.
  void note_kept(int n, const header* first, std::uint64_t kept) noexcept {
    using clock = std::chrono::steady_clock;
    try {
      std::vector<const void*> keys;
      keys.reserve(kept);
      for (const header* h = first; h != nullptr && keys.size() < kept; h = h->next) keys.push_back(h->key);
      std::sort(keys.begin(), keys.end());
      const auto now = clock::now();
      const auto timeout = std::chrono::nanoseconds(detail::hp::stall_cfg().timeout_ns.load(std::memory_order_relaxed));
      std::unique_lock lk(stall_mu);
      auto& seen = stall_by_node[static_cast<std::size_t>(n)];
      std::vector<stall_seen> next;
      for (int m = 0; m < slots; ++m) {
        for (const record* r = records[m].head.load(std::memory_order_acquire); r != nullptr; r = r->next) {
          const void* p = r->ptr.load(std::memory_order_relaxed);
          if (p == nullptr || !std::binary_search(keys.begin(), keys.end(), p)) continue;
          auto it = std::find_if(seen.begin(), seen.end(),
                                 [&](const stall_seen& s) { return s.rec == r && s.ptr == p; });
          next.push_back({r, p, it != seen.end() ? it->since : now});
        }
      }
      seen.swap(next);
      retired[n].stall_watch.store(!seen.empty(), std::memory_order_relaxed);
      // The stall: every node's holders older than the timeout.
      std::optional<clock::time_point> oldest;
      for (const auto& v : stall_by_node)
        for (const auto& s : v)
          if (now - s.since >= timeout && (!oldest || s.since < *oldest)) oldest = s.since;
      if (!oldest) {
        stall_start.reset();
        stall_suppressed = 0;
        return;
      }
      auto& cfg = detail::hp::stall_cfg();
      hazard_pointer_stall_options opts;
      {
        std::lock_guard ck(cfg.mu);
        opts = cfg.opts;
      }
      const auto interval = opts.report_interval.count() > 0 ? std::chrono::nanoseconds(opts.report_interval)
                                                              : std::chrono::nanoseconds(3 * opts.timeout);
      const bool new_stall = !stall_start || *stall_start != *oldest;
      if (!new_stall && now - stall_last_report < interval) {
        ++stall_suppressed;
        return;
      }
      hazard_pointer_stall_report rep;
      rep.domain_id = id;
      rep.suppressed = new_stall ? 0 : stall_suppressed;
      for (const auto& v : stall_by_node)
        for (const auto& s : v)
          if (now - s.since >= timeout)
            rep.holders.push_back({static_cast<pid_t>(s.rec->owner_tid.load(std::memory_order_relaxed)), {}, s.ptr,
                                   now - s.since});
      stall_start = oldest;
      stall_last_report = now;
      stall_suppressed = 0;
      lk.unlock();
      for (auto& h : rep.holders) h.name = detail::hp::thread_name(h.tid);
      rep.hazard_records = ctr.record_count.load(std::memory_order_relaxed);
      rep.threshold = threshold();
      const auto [all, done] = retired_and_reclaimed();
      rep.unreclaimed = all - done;
      cfg.reports.fetch_add(1, std::memory_order_relaxed);
      if (opts.handler) {
        opts.handler(rep);
      } else {
        std::string line = to_string(rep);
        line += '\n';
        const ssize_t ignored = ::write(STDERR_FILENO, line.data(), line.size());
        (void)ignored;
      }
    } catch (...) {
      // Out of memory while reporting, or a handler that threw: a scan must
      // not fail (it runs inside noexcept retires). Say so and go on.
      static std::atomic<bool> warned{false};
      if (!warned.exchange(true))
        std::fprintf(stderr, "quiesce: warning: a hazard-pointer stall report failed (out of memory, or the "
                             "handler threw); later reports may be missing\n");
    }
  }

  void forget_kept(int n) noexcept {
    std::lock_guard lk(stall_mu);
    stall_by_node[static_cast<std::size_t>(n)].clear();
    retired[n].stall_watch.store(false, std::memory_order_relaxed);
  }

  // A threshold-triggered scan: skipped when one of this node is running.
  void try_scan(int n) noexcept {
    node_retired& nr = retired[n];
    if (nr.scanning.exchange(true, std::memory_order_acquire)) return;
    scan(n);
    nr.scanning.store(false, std::memory_order_release);
  }

  // (objects retired so far, deleters run so far), each exact, read with
  // relaxed loads. retired = taken by scans + still listed - survivors
  // pushed back (each survivor is counted again when a later scan takes it).
  std::pair<std::uint64_t, std::uint64_t> retired_and_reclaimed() const noexcept {
    std::uint64_t listed_or_taken = 0;
    for (int n = 0; n < slots; ++n) listed_or_taken += retired[n].taken.load(std::memory_order_relaxed) + pending(n);
    const std::uint64_t done = ctr.reclaimed.load(std::memory_order_relaxed);
    const std::uint64_t again = ctr.repushed.load(std::memory_order_relaxed);
    const std::uint64_t all = listed_or_taken >= again ? listed_or_taken - again : 0;
    return {std::max(all, done), done};
  }

  // Node n's list length (count + beyond while saturated; see node_retired).
  std::uint64_t pending(int n) const noexcept {
    const std::uint64_t k = count_of(retired[n].word.load(std::memory_order_relaxed));
    if (k < max_count) return k;
    return k + static_cast<std::uint64_t>(std::max<std::int64_t>(retired[n].beyond.load(std::memory_order_relaxed), 0));
  }

  void wake(int n) {
    worker& w = *workers[static_cast<std::size_t>(n)];
    if (w.signaled.exchange(true, std::memory_order_acq_rel)) return;
    {
      std::lock_guard lk(w.mu);
      w.wake = true;
    }
    w.cv.notify_one();
  }

  void on_retire(int n, std::uint64_t pend) noexcept {
    if (detail::hp::tls_cache.scan_depth > 0) return;  // a deleter retiring: the running scan's caller goes on
    const std::uint64_t t = threshold();
    if (pend < t) return;
    // Past the hard bound (2T; 4T in async mode) the retiring thread scans
    // even while another scan of this node runs: scans take the list whole
    // (one exchange), so they may overlap, and a scanner preempted mid-scan
    // (an oversubscribed machine: found by tests/soak) must not let the list
    // grow without bound behind its `scanning` flag. Each thread holds at
    // most one taken list, so the garbage stays bounded by the hard bound
    // per scanning thread.
    if (ctr.async_on.load(std::memory_order_acquire)) {
      {
        std::unique_lock lk(async_mu, std::try_to_lock);
        if (lk.owns_lock() && !workers.empty()) wake(n);
      }  // not held while scanning: deleters run there (see stop_async_reclaim)
      if (pend >= 4 * t) scan(n);
      return;
    }
    if (pend >= 2 * t)
      scan(n);
    else if (n == slot(detail::hp::this_thread_node()))
      try_scan(n);
  }

  void reclaim_all_unchecked() noexcept {
    for (int n = 0; n < slots; ++n) {
      const std::uint64_t word = retired[n].word.exchange(0, std::memory_order_acquire);
      settle_taken(n, word);
      header* list = ptr_of(word);
      std::uint64_t freed = 0;
      while (list != nullptr) {
        header* next = list->next;
        list->reclaim(list);
        ++freed;
        list = next;
      }
      retired[n].taken.fetch_add(freed, std::memory_order_relaxed);
      ctr.reclaimed.fetch_add(freed, std::memory_order_relaxed);
      ctr.off.fetch_add(freed, std::memory_order_relaxed);
    }
  }
};

// Layout (quiesce/structures/detail/layout.hpp; scripts/layout_audit.sh
// checks the same with pahole): each node's retired list and record list
// own whole 128-byte blocks, and the counters scans write start their own
// block, away from the read-mostly fields every retire reads.
static_assert(detail::layout::owns_blocks<hazard_pointer_domain::impl::node_retired, detail::hp::block>);
static_assert(detail::layout::owns_blocks<hazard_pointer_domain::impl::node_records, detail::hp::block>);
static_assert(detail::layout::owns_blocks<hazard_pointer_domain::impl::counters, detail::hp::block>);

namespace detail::hp {

// ---- fork ---------------------------------------------------------------------
//
// fork() copies only the calling thread. Before it, every domain's mutexes
// (and the stall detector's) are taken, so the child inherits none held by
// a thread that is gone; numa's pool handlers run after ours (installed
// first), since a record claim holds a domain mutex while it allocates from
// a pool. In the child: scans that were running in other threads are gone
// (their `scanning` flags and the active-scan count are reset; the objects
// they had taken stay unreclaimed in the child: a bounded leak of the
// child's copy), reclaimer threads are gone (async mode is off; start it
// again if wanted), and records cached by threads that are gone stay in
// use. Everything else — protect, retire, scans, cleanup — works.
namespace {
std::once_flag fork_once;

void fork_prepare() noexcept {
  registry_mu.lock();
  for (hazard_pointer_domain::impl* im : live_impls()) {
    im->async_mu.lock();
    im->stall_mu.lock();
    for (int n = 0; n < im->slots; ++n) im->records[n].mu.lock();
  }
  stall_cfg().mu.lock();
}

void fork_parent() noexcept {
  stall_cfg().mu.unlock();
  for (hazard_pointer_domain::impl* im : live_impls()) {
    for (int n = im->slots - 1; n >= 0; --n) im->records[n].mu.unlock();
    im->stall_mu.unlock();
    im->async_mu.unlock();
  }
  registry_mu.unlock();
}

void fork_child() noexcept {
  const pid_t me = this_thread_tid();  // the parent thread's tid, as its records say
  tls_tid = static_cast<pid_t>(::gettid());
  // glibc refuses an unlock by a thread other than the locker (the child's
  // thread has a new TID): start the mutexes afresh.
  new (&stall_cfg().mu) std::mutex;
  for (hazard_pointer_domain::impl* im : live_impls()) {
    new (&im->async_mu) std::mutex;
    new (&im->stall_mu) std::mutex;
    for (int n = 0; n < im->slots; ++n) {
      new (&im->records[n].mu) std::mutex;
      im->retired[n].scanning.store(false, std::memory_order_relaxed);
    }
    im->ctr.active_scans.store(0, std::memory_order_relaxed);
    im->ctr.async_on.store(false, std::memory_order_relaxed);
    // Records claimed by threads that are gone: nothing they protected is
    // protected any more, and the records are free (this thread's own, in
    // its cache or its hazard_pointers, stay as they are).
    for (int n = 0; n < im->slots; ++n) {
      for (record* r = im->records[n].head.load(std::memory_order_relaxed); r != nullptr; r = r->next) {
        if (r->owner_tid.load(std::memory_order_relaxed) == me) continue;
        r->ptr.store(nullptr, std::memory_order_relaxed);
        if (r->in_use.exchange(false, std::memory_order_relaxed)) r->node_free->fetch_add(1, std::memory_order_relaxed);
      }
      im->stall_by_node[static_cast<std::size_t>(n)].clear();
      im->retired[n].stall_watch.store(false, std::memory_order_relaxed);
    }
    im->stall_start.reset();
    for (auto& w : im->workers) (void)w.release();  // their threads did not survive the fork
    im->workers.clear();
  }
  new (&registry_mu) std::mutex;
}

// Throws std::bad_alloc or std::system_error (the call is then retried by the
// next domain's construction).
void install_fork_handlers() {
  std::call_once(fork_once, [] {
    numa::detail::install_fork_handlers();  // first: its prepare handler must run after ours
    if (const int err = pthread_atfork(fork_prepare, fork_parent, fork_child); err != 0)
      throw std::system_error(err, std::generic_category(), "quiesce: hazard pointers: pthread_atfork");
  });
}
}  // namespace


int refresh_node() noexcept { return numa::current_node(); }

// Creates the default domain on first use. Throws std::bad_alloc if it
// cannot be built (nothing is kept: the next call tries again, as for any
// function-local static whose initialisation throws).
hazard_pointer_domain& default_domain_create() {
  static hazard_pointer_domain* d = [] {
    // Everything the at-exit cleanup below uses must be built before the
    // handler is registered, so that it is destroyed after the handler runs
    // (exit() runs handlers and static destructors in reverse order of
    // registration/construction): the topology and the CPU -> node table
    // (scans and deleters call numa::current_node()).
    (void)numa::topology::system();
    (void)numa::current_node();
    auto* dom = new hazard_pointer_domain(hazard_pointer_domain::default_tag{});
    default_domain_ptr.store(dom, std::memory_order_relaxed);  // for retire()'s inline fast path
    // At exit, free what nobody protects (objects retired by the program's
    // last operations), so leak checkers and destructors with side effects
    // see them go. Threads still running keep their protections.
    std::atexit([] { hazard_pointer_cleanup(default_domain_ref()); });
    return dom;
  }();
  return *d;
}

// For the noexcept callers (hazard_pointer_default_domain(), a retire
// before any hazard pointer was made): running out of memory while the
// default domain is built is a fatal error with a message, not a bare
// std::terminate. make_hazard_pointer() calls default_domain_create() and
// throws instead.
hazard_pointer_domain& default_domain_ref() noexcept {
  try {
    return default_domain_create();
  } catch (const std::bad_alloc&) {
    structures::misuse("out of memory while creating the default hazard-pointer domain",
                               "make a hazard pointer (make_hazard_pointer() throws std::bad_alloc instead) "
                               "or call hazard_pointer_default_domain() once at startup, before memory runs low");
  }
}

record* acquire_slow(hazard_pointer_domain& dom) {
  auto& im = *dom.impl_;
  if (tls_cache.open) [[likely]] {  // this thread passed init_fences() before
    thread_cache::entry* e = entry_for(im.id, true);
    if (e->count > 0) return e->recs[--e->count];
  } else {
    init_fences();
    ensure_hook();
  }
  return im.claim(&dom);
}

void release_slow(record* r) noexcept {
  if (tls_cache.open) {
    thread_cache::entry* e = entry_for(r->domain_id, true);
    if (e->count < thread_cache::capacity) {
      e->recs[e->count++] = r;
      return;
    }
  }
  release_to_domain(r);
}

// Pushes the thread's batch of default-domain retires as one chain.
void flush_retired() noexcept {
  thread_cache& c = tls_cache;
  if (c.retired_count == 0) return;
  auto& im = *default_domain_ref().impl_;
  retired_header* head = c.retired_head;
  retired_header* tail = c.retired_tail;
  const int n = im.slot(c.retired_node);  // the objects' home node, as set (may be out of range)
  const auto k = static_cast<std::uint64_t>(c.retired_count);
  c.retired_head = c.retired_tail = nullptr;
  c.retired_count = 0;
  im.on_retire(n, im.push_chain(n, head, tail, k));
}

// The slow path of retire_fast(). Default domain, ordinary code: installs
// the thread's exit hook (first retire) or pushes a batch of another node,
// then the object joins the batch through retire_fast(). Other domains,
// deleters (scan_depth > 0) and threads past their exit hook: one CAS on the
// node's list word. No init_fences() here: every domain's constructor ran
// it, and scans run it again before fencing.
void retire(hazard_pointer_domain& dom, retired_header* h) noexcept {
  if ((reinterpret_cast<std::uintptr_t>(h) >> hazard_pointer_domain::impl::count_shift) != 0) [[unlikely]] {
    structures::misuse("retired object above the 48-bit address space",
                       "hazard pointers keep a count in the top 16 bits of the retired list word; "
                       "allocate retired objects below 2^48 (Linux does unless mmap is given a higher hint)");
  }
  auto& im = *dom.impl_;
  thread_cache& c = tls_cache;
  if (im.id == default_domain_id && c.scan_depth == 0 && !c.exited) {
    ensure_hook();  // so that the thread's exit flushes the batch (a no-op once open)
    if (c.retired_count != 0 && c.retired_node != h->node) flush_retired();
    retire_fast(dom, h);  // batchable now: the batch is empty or of h's node
    return;
  }
  const int n = im.slot(h->node);
  im.on_retire(n, im.push_chain(n, h, h, 1));
}

bool library_checks() noexcept { return structures::checks_enabled; }

void misuse_empty(const char* what) noexcept {
  structures::misuse(what, "make one with make_hazard_pointer(); a default-constructed or moved-from hazard_pointer is empty");
}
void misuse_retire(const char* what) noexcept {
  structures::misuse(what, "retire each object exactly once, after unlinking it; pass the object, never null");
}

}  // namespace detail::hp

// ---- hazard_pointer_domain --------------------------------------------------

hazard_pointer_domain::hazard_pointer_domain() : hazard_pointer_domain(options{}) {}

hazard_pointer_domain::hazard_pointer_domain(options opt)
    : impl_(std::make_unique<impl>(detail::hp::next_id.fetch_add(1, std::memory_order_relaxed), opt.min_threshold)) {
  detail::hp::init_fences();
  std::lock_guard lk(detail::hp::registry_mu);
  detail::hp::live_ids().push_back(impl_->id);
}

hazard_pointer_domain::hazard_pointer_domain(default_tag)
    : impl_(std::make_unique<impl>(detail::hp::default_domain_id, options{}.min_threshold)) {
  detail::hp::init_fences();
}

hazard_pointer_domain::~hazard_pointer_domain() {
  stop_async_reclaim();
  {
    std::lock_guard lk(detail::hp::registry_mu);
    auto& v = detail::hp::live_ids();
    v.erase(std::remove(v.begin(), v.end(), impl_->id), v.end());
  }
  for (int n = 0; n < impl_->slots; ++n) {
    for (auto* r = impl_->records[n].head.load(std::memory_order_acquire); r != nullptr; r = r->next) {
      if (r->ptr.load(std::memory_order_acquire) != nullptr) {
        detail::structures::misuse("hazard_pointer_domain destroyed while one of its hazard pointers protects an object",
                                   "destroy (or reset_protection()) every hazard_pointer of the domain first");
      }
    }
  }
  impl_->reclaim_all_unchecked();
  // Records are trivially destructible: hand them back so each pool's
  // leak check stays meaningful, then the pools unmap them. Thread caches
  // still naming them never match this (never reused) id again.
  for (int n = 0; n < impl_->slots; ++n) {
    auto& nr = impl_->records[n];
    for (auto* r = nr.head.load(std::memory_order_acquire); r != nullptr;) {
      auto* next = r->next;
      impl_->records[r->node].pool->deallocate(r);
      r = next;
    }
    nr.head.store(nullptr, std::memory_order_relaxed);
  }
}

void hazard_pointer_domain::start_async_reclaim(bool pin) {
  std::lock_guard lk(impl_->async_mu);
  if (!impl_->workers.empty()) return;
  const auto& topo = numa::topology::system();
  impl_->workers.resize(static_cast<std::size_t>(impl_->slots));
  for (int n = 0; n < impl_->slots; ++n) {
    auto w = std::make_unique<impl::worker>();
    impl::worker* wp = w.get();
    impl* im = impl_.get();
    const bool pin_it = pin && topo.has_node(n) && !topo.cpus_of_node(n).empty();
    wp->thread = std::thread([im, wp, n, pin_it] {
      std::optional<numa::scoped_affinity> affinity;
      if (pin_it) {
        try {
          affinity.emplace(numa::scoped_affinity::to_node(n));
        } catch (...) {
          // Unpinned is still correct; the node's objects are then freed off-node.
        }
      }
      std::unique_lock lk(wp->mu);
      for (;;) {
        wp->cv.wait(lk, [wp] { return wp->wake || wp->stop; });
        if (wp->stop) return;
        wp->wake = false;
        lk.unlock();
        wp->signaled.store(false, std::memory_order_release);
        im->try_scan(n);
        lk.lock();
      }
    });
    impl_->workers[static_cast<std::size_t>(n)] = std::move(w);
  }
  impl_->ctr.async_on.store(true, std::memory_order_release);
}

void hazard_pointer_domain::stop_async_reclaim() {
  // The workers are taken out under async_mu and joined after it is
  // released: a worker's scan runs deleters, which may take other locks
  // (a fork handler takes them in an order that puts async_mu first).
  std::vector<std::unique_ptr<impl::worker>> stopping;
  {
    std::lock_guard lk(impl_->async_mu);
    impl_->ctr.async_on.store(false, std::memory_order_release);
    stopping.swap(impl_->workers);
  }
  for (auto& w : stopping) {
    {
      std::lock_guard wl(w->mu);
      w->stop = true;
    }
    w->cv.notify_one();
    w->thread.join();
  }
}

hazard_pointer_domain_stats hazard_pointer_domain::stats() const {
  hazard_pointer_domain_stats s;
  const impl& im = *impl_;
  s.hazard_records = im.ctr.record_count.load(std::memory_order_relaxed);
  s.threshold = im.threshold();
  s.unreclaimed_per_node.resize(static_cast<std::size_t>(im.slots));
  for (int n = 0; n < im.slots; ++n) s.unreclaimed_per_node[static_cast<std::size_t>(n)] = im.pending(n);
  const auto [retired, reclaimed] = im.retired_and_reclaimed();
  s.retired = retired;
  s.reclaimed = reclaimed;
  s.unreclaimed = retired - reclaimed;
  s.scans = im.ctr.scans.load(std::memory_order_relaxed);
  s.reclaimed_on_home_node = im.ctr.home.load(std::memory_order_relaxed);
  s.reclaimed_off_node = im.ctr.off.load(std::memory_order_relaxed);
  return s;
}

// ---- free functions ---------------------------------------------------------

hazard_pointer make_hazard_pointer(hazard_pointer_domain& dom) { return hazard_pointer(detail::hp::acquire_slow(dom)); }

void hazard_pointer_cleanup(hazard_pointer_domain& dom) {
  if (detail::hp::tls_cache.scan_depth > 0) {
    detail::structures::misuse("hazard_pointer_cleanup() called from a deleter",
                               "deleters run inside a scan; call cleanup from ordinary code");
  }
  detail::hp::init_fences();
  auto& im = *dom.impl_;
  if (im.id == detail::hp::default_domain_id) detail::hp::flush_retired();
  auto wait_scans = [&im] {
    while (im.ctr.active_scans.load(std::memory_order_acquire) != 0) std::this_thread::yield();
  };
  wait_scans();  // scans that took objects before this call finish first
  for (int n = 0; n < im.slots; ++n) im.scan(n);
  wait_scans();
}

bool hazard_pointer_asymmetric_fence() noexcept {
  detail::hp::init_fences();
  return detail::hp::asymmetric.load(std::memory_order_relaxed);
}


// ---- stall detector ---------------------------------------------------------

std::string to_string(const hazard_pointer_stall_report& r) {
  char buf[160];
  std::snprintf(buf, sizeof buf, "quiesce: hazard pointer stall: domain %llu%s: %zu protector%s holding retired objects:",
                static_cast<unsigned long long>(r.domain_id),
                r.domain_id == detail::hp::default_domain_id ? " (default)" : "", r.holders.size(),
                r.holders.size() == 1 ? "" : "s");
  std::string s = buf;
  for (std::size_t i = 0; i < r.holders.size(); ++i) {
    const auto& h = r.holders[i];
    std::snprintf(buf, sizeof buf, "%s tid %d \"%s\" protects %p for >= %.1f s", i == 0 ? "" : ",",
                  static_cast<int>(h.tid), h.name.c_str(), h.object, std::chrono::duration<double>(h.held_for).count());
    s += buf;
  }
  std::snprintf(buf, sizeof buf, "; %llu unreclaimed (threshold %zu, %zu records)",
                static_cast<unsigned long long>(r.unreclaimed), r.threshold, r.hazard_records);
  s += buf;
  if (r.suppressed != 0) s += " (" + std::to_string(r.suppressed) + " scans since the last report)";
  return s;
}

void hazard_pointer_stall_detector_configure(hazard_pointer_stall_options opts) {
  if (opts.timeout.count() <= 0)
    throw std::invalid_argument("quiesce: hazard_pointer_stall_options::timeout must be > 0 ms (got " +
                                std::to_string(opts.timeout.count()) +
                                "); call hazard_pointer_stall_detector_disable() to turn the detector off");
  if (opts.report_interval.count() < 0)
    throw std::invalid_argument("quiesce: hazard_pointer_stall_options::report_interval must be >= 0 ms (got " +
                                std::to_string(opts.report_interval.count()) + "; 0 means 3 x timeout)");
  auto& c = detail::hp::stall_cfg();
  std::lock_guard lk(c.mu);
  c.timeout_ns.store(std::chrono::nanoseconds(opts.timeout).count(), std::memory_order_relaxed);
  c.opts = std::move(opts);
  c.on.store(true, std::memory_order_relaxed);
}

void hazard_pointer_stall_detector_disable() noexcept { detail::hp::stall_cfg().on.store(false, std::memory_order_relaxed); }

bool hazard_pointer_stall_detector_enabled() noexcept {
  return detail::hp::stall_cfg().on.load(std::memory_order_relaxed);
}

std::uint64_t hazard_pointer_stall_reports() noexcept {
  return detail::hp::stall_cfg().reports.load(std::memory_order_relaxed);
}

}  // namespace quiesce
