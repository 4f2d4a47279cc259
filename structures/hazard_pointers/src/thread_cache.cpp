// thread_cache.cpp — the registry of live domains and the per-thread record cache
// (with the exit hook that hands a thread's records and retire batch back).
// (hp_internal.hpp lists the hazard-pointer sources.)

#include "hp_internal.hpp"

namespace quiesce {

namespace detail::hp {

constinit thread_local pid_t tls_tid = 0;  // gettid(), cached; renewed in a fork child
pid_t this_thread_tid() noexcept {
  if (tls_tid == 0) tls_tid = static_cast<pid_t>(::gettid());
  return tls_tid;
}

// ---- registry of live domains (for thread caches of non-default domains) --

std::mutex registry_mu;
// Constant-initialised, immortal (used by thread-exit hooks); no guard a fork
// could leave held (quiesce/base/fork_safe.hpp).
// (At namespace scope: a function-local static with a destructor, even a
// no-op one, has a guard.)
namespace {
constinit quiesce::detail::base::immortal<std::vector<std::uint64_t>> g_live_ids;
}  // namespace
std::vector<std::uint64_t>& live_ids() { return g_live_ids.value; }
std::atomic<std::uint64_t> next_id{default_domain_id + 1};
std::atomic<std::uint64_t> domains_destroyed{0};

// Every domain's impl (the default one included), for the fork handlers;
// guarded by registry_mu.
namespace {
constinit quiesce::detail::base::immortal<std::vector<domain_impl*>> g_live_impls;  // as g_live_ids
}  // namespace
std::vector<domain_impl*>& live_impls() { return g_live_impls.value; }

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
  // Release: the thread's reads under the record's protections happen-before
  // a sole_holder() that reads the lower count and frees what it unlinked.
  holders_of(*r->domain).out.fetch_sub(1, std::memory_order_release);
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

namespace {
struct exit_hook {
  exit_hook() noexcept { tls_cache.open = true; }
  ~exit_hook() {
    tls_cache.open = false;
    tls_cache.exited = true;
    // The spare structure node, back to its pool (no new one is kept from
    // here on: `open` is false).
    if (void* p = std::exchange(tls_cache.spare, nullptr)) tls_cache.spare_pool->free(p, tls_cache.spare_home);
    flush_retired();
    for (int i = 0; i < thread_cache::entries; ++i) flush_entry(tls_cache.e[i], i == 0);
    // The operation records (no operation runs now: this hook runs after
    // the thread's code, and an operation's records are cleared before it
    // returns), back to the default domain.
    if (tls_cache.op_ready) {
      tls_cache.op_ready = false;
      tls_cache.op_free = false;
      for (record*& r : tls_cache.op) release_to_domain(std::exchange(r, nullptr));
    }
    // Other domains' operation records, back to each that still lives (a
    // destroyed domain freed them: not touched).
    bool held = false;
    for (const thread_cache::op_set& set : tls_cache.other_ops) held = held || set.domain != 0;
    if (held) {
      std::lock_guard lk(registry_mu);
      for (thread_cache::op_set& set : tls_cache.other_ops) {
        if (set.domain != 0 && is_live(set.domain))
          for (record* r : set.recs) release_to_domain(r);
        set = thread_cache::op_set{};
      }
    }
  }
};
}  // namespace

void ensure_hook() {
  if (!tls_cache.open && !tls_cache.exited) {
    static thread_local exit_hook hook;
    (void)hook;
  }
}

// The cache entry for a domain id: entry 0 for the default domain, the
// matching entry, or (when `claim`) a free entry, evicting entry 3.
thread_cache::entry* entry_for(std::uint64_t id, bool claim) noexcept {
  if (thread_cache::entry* e = cached_entry(id)) return e;
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

}  // namespace detail::hp

}  // namespace quiesce
