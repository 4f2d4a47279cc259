// domain.cpp — the slow paths of <quiesce/hazard_pointer.hpp>: the default
// domain, acquire/release/retire past the thread cache, the domain's public
// members and cleanup.
// (hp_internal.hpp lists the hazard-pointer sources.)

#include "hp_internal.hpp"

namespace quiesce {

namespace detail::hp {

int refresh_node() noexcept { return numa::current_node(); }

// Creates the default domain on first use. Throws std::bad_alloc if it
// cannot be built (nothing is kept: the next call tries again, as for any
// function-local static whose initialisation throws).
hazard_pointer_domain& default_domain_create() {
  // Published with a compare-exchange, not under a function-local static's
  // guard, which a fork() child would inherit held by a thread that is gone
  // (quiesce/base/fork_safe.hpp). Threads that arrive together may each
  // build a domain; the losers destroy theirs, which nobody saw.
  if (hazard_pointer_domain* d = default_domain_ptr.load(std::memory_order_acquire)) return *d;
  // Everything the at-exit cleanup below uses must be built before the
  // handler is registered, so that it is destroyed after the handler runs
  // (exit() runs handlers and static destructors in reverse order of
  // registration/construction): the topology and the CPU -> node table
  // (scans and deleters call numa::current_node()).
  (void)numa::topology::system();
  (void)numa::current_node();
  std::unique_ptr<hazard_pointer_domain> mine(domain_access::make_default());
  hazard_pointer_domain* winner = nullptr;
  // Release on success: pairs with the acquire loads of retire()'s and
  // hazard_pointer_default_domain()'s fast paths (a thread that reads the
  // pointer sees the built domain).
  if (!default_domain_ptr.compare_exchange_strong(winner, mine.get(), std::memory_order_acq_rel,
                                                  std::memory_order_acquire))
    return *winner;
  // At exit, free what nobody protects (objects retired by the program's
  // last operations), so leak checkers and destructors with side effects
  // see them go. Threads still running keep their protections.
  std::atexit([] { hazard_pointer_cleanup(default_domain_ref()); });
  return *mine.release();
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
    base::fatal("out of memory while creating the default hazard-pointer domain",
                               "make a hazard pointer (make_hazard_pointer() throws std::bad_alloc instead) "
                               "or call hazard_pointer_default_domain() once at startup, before memory runs low");
  }
}

record* acquire_slow(hazard_pointer_domain& dom) {
  auto& im = domain_access::of(dom);
  if (tls_cache.open) [[likely]] {  // this thread passed init_fences() before
    thread_cache::entry* e = entry_for(im.id, true);
    if (e->count > 0) return e->recs[--e->count];
  } else {
    init_fences();
    ensure_hook();
  }
  return im.claim(&dom);
}

bool op_setup() {
  thread_cache& c = tls_cache;
  if (c.op_ready) return c.op_free;
  if (c.exited) return false;  // its exit hook ran: nothing would hand the records back
  // The first record taken installs the exit hook if none is (acquire_slow).
  // May throw std::bad_alloc: op_ready stays false, op[] is not read.
  acquire_records(c.op, thread_cache::op_slots, nullptr);
  c.op_ready = true;
  c.op_free = true;
  return true;
}

thread_cache::op_set* other_op_setup(hazard_pointer_domain& dom) {
  thread_cache& c = tls_cache;
  const std::uint64_t id = domain_access::of(dom).id;
  for (thread_cache::op_set& set : c.other_ops) {
    if (set.domain == id) return set.free ? &set : nullptr;  // null: lent to the operation this one is nested in
  }
  if (c.exited) return nullptr;  // its exit hook ran: nothing would hand the records back
  auto empty = [&c]() -> thread_cache::op_set* {
    for (thread_cache::op_set& set : c.other_ops)
      if (set.domain == 0) return &set;
    return nullptr;
  };
  thread_cache::op_set* set = empty();
  if (set == nullptr) {
    // Every set holds another domain's records, kept while it lives.
    // Asking which still do costs the registry's mutex, so it is asked only
    // once some domain was destroyed since this thread last found them all
    // live (a stale count only sends this operation the ordinary way).
    if (domains_destroyed.load(std::memory_order_relaxed) == c.other_ops_destroyed) return nullptr;
    std::lock_guard lk(registry_mu);
    c.other_ops_destroyed = domains_destroyed.load(std::memory_order_relaxed);  // written under registry_mu
    for (thread_cache::op_set& s : c.other_ops) {
      // A lent set's domain lives (an operation on it is running).
      if (s.free && !is_live(s.domain)) s = thread_cache::op_set{};  // its records went with it: not touched
    }
    set = empty();
    if (set == nullptr) return nullptr;
  }
  // The first record taken installs the exit hook if none is (acquire_slow).
  // May throw std::bad_alloc: the set stays empty.
  acquire_records(set->recs, thread_cache::op_slots, &dom);
  set->domain = id;
  set->free = true;
  return set;
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
  auto& im = domain_access::of(default_domain_ref());
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
  if ((reinterpret_cast<std::uintptr_t>(h) >> domain_impl::count_shift) != 0) [[unlikely]] {
    base::fatal("retired object above the 48-bit address space",
                       "hazard pointers keep a count in the top 16 bits of the retired list word; "
                       "allocate retired objects below 2^48 (Linux does unless mmap is given a higher hint)");
  }
  auto& im = domain_access::of(dom);
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

bool library_checks() noexcept { return base::checks_enabled; }

void misuse_empty(const char* what) noexcept {
  base::fatal(what, "make one with make_hazard_pointer(); a default-constructed or moved-from hazard_pointer is empty");
}
void misuse_retire(const char* what) noexcept {
  base::fatal(what, "retire each object exactly once, after unlinking it; pass the object, never null");
}

}  // namespace detail::hp

// ---- hazard_pointer_domain --------------------------------------------------

hazard_pointer_domain::hazard_pointer_domain() : hazard_pointer_domain(options{}) {}

hazard_pointer_domain::hazard_pointer_domain(options opt)
    : impl_(std::make_unique<impl>(detail::hp::next_id.fetch_add(1, std::memory_order_relaxed), opt.min_threshold)),
      id_(impl_->id) {
  detail::hp::init_fences();
  std::lock_guard lk(detail::hp::registry_mu);
  detail::hp::live_ids().push_back(impl_->id);
}

hazard_pointer_domain::hazard_pointer_domain(default_tag)
    : impl_(std::make_unique<impl>(detail::hp::default_domain_id, options{}.min_threshold)), id_(impl_->id) {
  detail::hp::init_fences();
}

hazard_pointer_domain::~hazard_pointer_domain() {
  stop_async_reclaim();
  {
    std::lock_guard lk(detail::hp::registry_mu);
    auto& v = detail::hp::live_ids();
    v.erase(std::remove(v.begin(), v.end(), impl_->id), v.end());
    // Threads holding a set of its operation records drop it when they
    // next need the set (other_op_setup) or at their exit.
    detail::hp::domains_destroyed.fetch_add(1, std::memory_order_relaxed);
  }
  for (int n = 0; n < impl_->slots; ++n) {
    for (auto* r = impl_->records[n].head.load(std::memory_order_acquire); r != nullptr; r = r->next) {
      if (r->ptr.load(std::memory_order_acquire) != nullptr) {
        detail::base::fatal("hazard_pointer_domain destroyed while one of its hazard pointers protects an object",
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
  s.freed_at_once = holders_.freed_at_once.load(std::memory_order_relaxed);
  s.scans = im.ctr.scans.load(std::memory_order_relaxed);
  s.reclaimed_on_home_node = im.ctr.home.load(std::memory_order_relaxed);
  s.reclaimed_off_node = im.ctr.off.load(std::memory_order_relaxed);
  return s;
}

// ---- free functions ---------------------------------------------------------

hazard_pointer make_hazard_pointer(hazard_pointer_domain& dom) { return hazard_pointer(detail::hp::acquire_slow(dom)); }

void hazard_pointer_cleanup(hazard_pointer_domain& dom) {
  if (detail::hp::tls_cache.scan_depth > 0) {
    detail::base::fatal("hazard_pointer_cleanup() called from a deleter",
                               "deleters run inside a scan; call cleanup from ordinary code");
  }
  detail::hp::init_fences();
  auto& im = detail::hp::domain_access::of(dom);
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

}  // namespace quiesce
