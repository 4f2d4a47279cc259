// hp_internal.hpp — what the hazard-pointer sources share: the domain's
// implementation (detail::hp::domain_impl: per-node record lists and
// retired lists, scans, reclaimer threads, stall detection) and the
// functions each source file gives the others. Not installed.
//
// The sources, one seam each:
//   fences.cpp        fence-mode selection (membarrier) and the scanner's fence
//   thread_cache.cpp  the registry of live domains and the per-thread record
//                     cache with its exit hook
//   domain.cpp        the domain's public members, the default domain, the
//                     slow paths of acquire/release/retire, cleanup
//   stall.cpp         the stall detector's settings and report text
//   fork.cpp          the pthread_atfork handlers
//
// Learned from (no code taken): Michael, "Hazard Pointers", IEEE TPDS 2004
// (scan: snapshot the hazards, free what none names); folly's
// synchronization/Hazptr*.h (asymmetric fences, thread-local record caches,
// threshold proportional to the record count); the Linux kernel's
// membarrier(2) documentation.
#ifndef QUIESCE_HAZARD_POINTERS_SRC_HP_INTERNAL_HPP
#define QUIESCE_HAZARD_POINTERS_SRC_HP_INTERNAL_HPP

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
#include <memory>
#include <mutex>
#include <new>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include <quiesce/base/fatal.hpp>
#include <quiesce/base/fork_safe.hpp>
#include <quiesce/base/stall.hpp>
#include <quiesce/numa/affinity.hpp>
#include <quiesce/numa/node_allocator.hpp>
#include <quiesce/numa/topology.hpp>
#include <quiesce/base/layout.hpp>

namespace quiesce {

namespace detail::hp {

// ---- fences.cpp ----
// Chooses the fence mode once, before any record exists (every path to a
// record or a scan calls this first).
void init_fences() noexcept;
// The scanner's half of the asymmetric fence (see light_fence()).
void heavy_fence() noexcept;

// ---- stall.cpp (see hazard_pointer_stall_options) ----
struct stall_config {
  std::mutex mu;
  hazard_pointer_stall_options opts;     // guarded by mu
  std::atomic<bool> on{true};
  std::atomic<std::int64_t> timeout_ns{21'000'000'000};
  std::atomic<std::uint64_t> reports{0};
};
stall_config& stall_cfg();

// ---- thread_cache.cpp ----
extern constinit thread_local pid_t tls_tid;  // gettid(), cached; renewed in a fork child
pid_t this_thread_tid() noexcept;
extern std::mutex registry_mu;  // guards live_ids() and live_impls()
std::vector<std::uint64_t>& live_ids();
std::vector<domain_impl*>& live_impls();
extern std::atomic<std::uint64_t> next_id;
// Domains destroyed so far (incremented under registry_mu; other_op_setup()).
extern std::atomic<std::uint64_t> domains_destroyed;
bool is_live(std::uint64_t id);  // registry_mu held
void release_to_domain(record* r) noexcept;
// Empties a cache entry (records back to their domain).
void flush_entry(thread_cache::entry& e, bool is_default) noexcept;
// Installs the calling thread's exit hook (flushes its cache and batch).
void ensure_hook();
// The cache entry for a domain id (entry 0: the default domain).
thread_cache::entry* entry_for(std::uint64_t id, bool claim) noexcept;

// ---- fork.cpp ----
// Installs the fork handlers once; throws std::bad_alloc or
// std::system_error (then retried by the next domain's construction).
void install_fork_handlers();

}  // namespace detail::hp

// ---- the domain -------------------------------------------------------------

namespace detail::hp {

struct domain_impl {
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
  std::size_t min_threshold = hazard_pointer_domain::options{}.min_threshold;
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
  detail::base::stall_rate_limit stall_limit;  // the stall last reported and its rate limit; under stall_mu

  explicit domain_impl(std::uint64_t id_, std::size_t min_thr) : id(id_), min_threshold(std::max<std::size_t>(1, min_thr)) {
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
  ~domain_impl() {
    std::lock_guard lk(detail::hp::registry_mu);
    auto& v = detail::hp::live_impls();
    v.erase(std::remove(v.begin(), v.end(), this), v.end());
  }
  domain_impl(const domain_impl&) = delete;
  domain_impl& operator=(const domain_impl&) = delete;

  int slot(int node) const noexcept { return node >= 0 && node < slots ? node : 0; }

  std::size_t threshold() const noexcept {
    return std::max(min_threshold, 2 * ctr.record_count.load(std::memory_order_relaxed));
  }

  // A record for the calling thread: a free one of its node, else a new one
  // on its node. Free records of other nodes are left alone (a record is
  // written on every protect: it belongs next to its writer), so a domain
  // holds at most, per node, the peak number of records its threads held.
  record* claim(hazard_pointer_domain* self) {
    // Counted before this thread can read a structure with the record, and
    // fenced: op_hazards::sole_holder() pairs with it.
    std::atomic<std::int64_t>& out = detail::hp::holders_of(*self).out;
    out.fetch_add(1, std::memory_order_seq_cst);
    std::atomic_thread_fence(std::memory_order_seq_cst);
    try {
      return claim_counted(self);
    } catch (...) {
      out.fetch_sub(1, std::memory_order_relaxed);
      throw;
    }
  }
  record* claim_counted(hazard_pointer_domain* self) {
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
      bool shared = false;  // another thread holds a record of this domain (see free order below)
      try {
        hz.reserve(ctr.record_count.load(std::memory_order_relaxed));
        const pid_t me = detail::hp::this_thread_tid();
        for (int m = 0; m < slots; ++m) {
          for (record* r = records[m].head.load(std::memory_order_acquire); r != nullptr; r = r->next) {
            // Acquire: pairs with the owner's release stores, so the owner's
            // reads of a previously protected object happen-before its free.
            const void* p = r->ptr.load(std::memory_order_acquire);
            if (p != nullptr) hz.push_back(p);
            // Relaxed: a hint for the free order, never for correctness.
            shared = shared || (r->in_use.load(std::memory_order_relaxed) &&
                                r->owner_tid.load(std::memory_order_relaxed) != me);
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
      // Is key protected? Few hazards (a thread or two in the middle of an
      // operation, the common case): a linear pass over them, which the
      // compiler unrolls, costs a fraction of a binary search's branches
      // per retired object; many: the binary search.
      const bool few = hz.size() <= 8;
      auto protected_now = [&hz, few](const void* key) noexcept {
        return few ? std::find(hz.begin(), hz.end(), key) != hz.end() : std::binary_search(hz.begin(), hz.end(), key);
      };

      // Free order. Deleters return objects to allocators' per-thread free
      // stacks (numa::node_pool for the lock-free structures, malloc's
      // caches otherwise), so the order of the frees is the reverse of the
      // next allocations'. The list's order is the reverse of the retires'.
      // On one thread that repeats the previous cycle's allocation order,
      // a few interleaved runs through the pool, and stays so. But when
      // threads pop each other's nodes, or one frees what another
      // allocates, every cycle scatters the order further, until
      // consecutive allocations land anywhere in the pool: a node's line is
      // then seldom one its thread already owns or has prefetched, and each
      // push and pop pulls more lines from the other CPUs. So while another
      // thread holds a record of this domain (it may take part), the scan
      // collects what it frees and frees it in descending address order:
      // the next allocations come out ascending, consecutive nodes sharing
      // or neighbouring lines. The sort costs the scanning thread
      // O(k log k) compares on pointers it already holds, which a thread
      // alone would pay for nothing, so it keeps the walk's order.
      // hazard_pointers/README.md, "Free order", has the measurements.
      std::vector<header*> dead;
      if (shared) {
        try {
          dead.reserve(k);
        } catch (const std::bad_alloc&) {
          // No memory to collect them: free them in the walk's order.
        }
      }
      const bool collect = dead.capacity() >= k;
      header* keep_first = nullptr;
      header* keep_last = nullptr;
      std::uint64_t kept = 0;
      std::uint64_t freed = 0;
      for (header* h = list; h != nullptr;) {
        header* next = h->next;
        if (protected_now(h->key)) {
          h->next = keep_first;
          keep_first = h;
          if (keep_last == nullptr) keep_last = h;
          ++kept;
        } else {
          if (collect)
            dead.push_back(h);
          else
            h->reclaim(h);
          ++freed;
        }
        h = next;
      }
      if (collect) {
        std::sort(dead.begin(), dead.end(), std::greater<>{});
        for (header* h : dead) h->reclaim(h);
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
        stall_limit.clear();
        return;
      }
      auto& cfg = detail::hp::stall_cfg();
      hazard_pointer_stall_options opts;
      {
        std::lock_guard ck(cfg.mu);
        opts = cfg.opts;
      }
      std::uint64_t held_back = 0;
      if (!stall_limit.admit(*oldest, now, detail::base::stall_report_interval(opts.report_interval, opts.timeout), held_back))
        return;
      hazard_pointer_stall_report rep;
      rep.domain_id = id;
      rep.suppressed = held_back;
      for (const auto& v : stall_by_node)
        for (const auto& s : v)
          if (now - s.since >= timeout)
            rep.holders.push_back({static_cast<pid_t>(s.rec->owner_tid.load(std::memory_order_relaxed)), {}, s.ptr,
                                   now - s.since});
      lk.unlock();
      for (auto& h : rep.holders) h.name = detail::base::thread_name(h.tid);
      rep.hazard_records = ctr.record_count.load(std::memory_order_relaxed);
      rep.threshold = threshold();
      const auto [all, done] = retired_and_reclaimed();
      rep.unreclaimed = all - done;
      cfg.reports.fetch_add(1, std::memory_order_relaxed);
      if (opts.handler) {
        opts.handler(rep);
      } else {
        detail::base::write_report_line(to_string(rep));
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

// Layout (quiesce/base/layout.hpp; scripts/layout_audit.sh
// checks the same with pahole): each node's retired list and record list
// own whole 128-byte blocks, and the counters scans write start their own
// block, away from the read-mostly fields every retire reads.
static_assert(detail::layout::owns_blocks<domain_impl::node_retired, block>);
static_assert(detail::layout::owns_blocks<domain_impl::node_records, block>);
static_assert(detail::layout::owns_blocks<domain_impl::counters, block>);

// The library's way into a domain (hazard_pointer_domain's one friend).
struct domain_access {
  static domain_impl& of(hazard_pointer_domain& d) noexcept { return *d.impl_; }
  static hazard_pointer_domain* make_default() {
    return new hazard_pointer_domain(hazard_pointer_domain::default_tag{});
  }
};

}  // namespace detail::hp

}  // namespace quiesce

#endif  // QUIESCE_HAZARD_POINTERS_SRC_HP_INTERNAL_HPP
