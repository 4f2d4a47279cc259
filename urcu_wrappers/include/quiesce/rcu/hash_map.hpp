// quiesce/rcu/hash_map.hpp — a typed map over liburcu's lock-free, resizable
// RCU hash table (cds_lfht).
//
// What it is
//   rcu_hash_map<Key, T, Hash, KeyEqual, Domain>: unique keys, each with a
//   value that is immutable once published. Readers look up and iterate under
//   a read guard of Domain and never block or write shared memory; writers
//   (any number, any thread) insert, replace and erase lock-free. A replaced
//   or erased entry is retired to Domain, so a pointer a reader obtained stays
//   valid until its guard ends. The bucket array grows and shrinks by itself
//   (liburcu's resize worker thread, one per process).
//
// When to use it
//   Read-mostly lookup tables shared by many threads: session tables, routing
//   and ACL caches, interned names. Not when values must change in place (they
//   are const: publish a new value with insert_or_assign), not when an
//   iteration must be a consistent snapshot (it sees some concurrent updates
//   and misses others), not for ordered access, and not for write-heavy maps
//   (every update allocates a node, and replacing or erasing retires one).
//
// Example
//   quiesce::rcu_hash_map<std::string, route> routes;
//   routes.insert_or_assign("10.0.0.0/8", route{eth0});    // writer, any thread
//   {                                                      // reader, any thread
//     quiesce::rcu_read_guard g;
//     if (const route* r = routes.find(g, "10.0.0.0/8")) use(*r);  // valid while g lives
//     for (auto [prefix, r] : routes.range(g)) print(prefix, r);
//   }
//   routes.erase("10.0.0.0/8");                            // freed after a grace period
//
// Costs (operation counts; no benchmark in perf/ measures this header yet)
//   find: Hash, a mixing step (3 instructions), then the bucket's chain in
//     reverse-hash order: with automatic resizing, O(1) expected nodes, one
//     dependent load each and one KeyEqual call per node with the same hash.
//   insert / insert_or_assign: one allocation, the same walk, one CAS with a
//     full barrier before and after it (liburcu). insert_or_assign over an
//     existing key and erase add one retire (see rcu_domain.hpp).
//   size(): a walk over every node and bucket, O(n + buckets).
//   Memory: per entry sizeof(Key) + sizeof(T) + 32 bytes (cds_lfht_node and
//     rcu_head) + the allocator's header; 16 bytes per bucket.
//
// Compared with the alternatives
//   std::unordered_map under std::shared_mutex: every reader writes the lock's
//   cache line and waits behind writers. rcu_ptr<std::unordered_map> with
//   copy-on-write: readers as cheap, but each update copies the whole map.
//   liburcu's cds_lfht used directly: the same algorithm, but untyped, with
//   macro iteration, manual grace-period handling for every node, and races
//   ThreadSanitizer reports because liburcu is not instrumented.
//   quiesce::lockfree::hash_map (<quiesce/lockfree/hash_map.hpp>, hazard
//   pointers): choose this RCU map for read-mostly tables whose readers can
//   register and keep sections short (readers write no shared memory, the
//   table resizes itself, reclamation is batched per grace period); choose
//   the hazard-pointer map when readers cannot register or must not hold up
//   reclamation (garbage stays bounded while a reader stalls; no helper
//   threads), at the price of a store per node visited and a fixed bucket
//   array. Both run the same operations in perf/lockfree_hash_map_bench
//   (contains = find(guard, key) != nullptr here); the main job's
//   out/lockfree_hash_map_ratios.md has the ratios (structures/hazard_pointers/README.md "Lock-free set
//   and hash map").
//
// Concurrency table (which pairs of calls the caller must keep apart)
//   find / range / size / empty  vs  any other call except the destructor: allowed
//   insert / insert_or_assign / erase / clear  vs  each other:  allowed (lock-free)
//   resize  vs  any other call except the destructor:           allowed
//   destructor  vs  any other call:                             forbidden
//
// Threads and domains: every call except the constructor, find and range
// enters a read-side section of Domain internally, so the calling thread must
// be able to: memb and mb threads are registered on first use, bp threads by
// liburcu; a QSBR thread must be registered (rcu_thread_registration) and
// online, and announce quiescent states as usual or erased entries are never
// freed.
#ifndef QUIESCE_RCU_HASH_MAP_HPP
#define QUIESCE_RCU_HASH_MAP_HPP

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <iterator>
#include <memory>
#include <ranges>
#include <stdexcept>
#include <type_traits>
#include <utility>

#include <quiesce/rcu/detail/config.hpp>
#include <quiesce/rcu/detail/liburcu.hpp>
#include <quiesce/rcu/rcu_domain.hpp>
#include <quiesce/rcu/rcu_ptr.hpp>

namespace quiesce {

namespace detail::rcu {

// One entry. Both liburcu structures are base classes, so the pointers liburcu
// hands back (cds_lfht_node* from lookups, retire_hook* from run_reclaim) turn
// into the entry with a plain static_cast, whatever Key and T are.
template <class Key, class T>
struct hash_map_node final : cds_lfht_node, retire_hook {
  template <class K, class V>
  hash_map_node(K&& k, V&& v) : cds_lfht_node{}, retire_hook{}, key(std::forward<K>(k)), value(std::forward<V>(v)) {}

  Key key;
  T value;

  // Runs on the domain's call_rcu worker, a grace period after the entry left
  // the table (see basic_rcu_domain::enqueue).
  static void reclaim(retire_hook* h) noexcept { delete static_cast<hash_map_node*>(h); }
};

// What rcu_hash_map's match function compares a node's key with.
template <class Key, class KeyEqual>
struct hash_map_probe {
  const KeyEqual* equal;
  const Key* key;
};

// Spreads a std::size_t hash over all bits. cds_lfht picks the bucket from the
// low bits, where std::hash of a pointer (aligned: low bits zero) or of a
// multiple of a power of two carries nothing.
inline unsigned long hash_map_mix(std::size_t h) noexcept {
  std::uint64_t x = h;
  x ^= x >> 32;
  x *= 0x9e3779b97f4a7c15ULL;  // 2^64 / golden ratio, odd: a bijection
  x ^= x >> 29;
  return static_cast<unsigned long>(x);
}

template <class Key, class T>
class hash_map_iterator {
  using node_type = hash_map_node<Key, T>;

 public:
  using iterator_concept = std::forward_iterator_tag;
  using iterator_category = std::input_iterator_tag;  // the reference is a proxy, not a T&
  using value_type = std::pair<const Key&, const T&>;
  using reference = value_type;
  using difference_type = std::ptrdiff_t;

  hash_map_iterator() noexcept = default;
  // Internal: the first entry of `ht` (cds_lfht_first). rcu_hash_map makes these.
  explicit hash_map_iterator(cds_lfht* ht) noexcept : ht_(ht) {
    cds_lfht_first(ht_, &it_);
    acquire_current();
  }

  // The entry's key and value. Wait-free.
  reference operator*() const noexcept {
    const auto* n = static_cast<const node_type*>(it_.node);
    return {n->key, n->value};
  }
  // Moves to the next entry (cds_lfht_next: an rcu_dereference). Never
  // blocks; skips bucket markers and erased entries on the way. See
  // rcu_hash_map::range() for what a whole pass sees.
  hash_map_iterator& operator++() noexcept {
    cds_lfht_next(ht_, &it_);
    acquire_current();
    return *this;
  }
  hash_map_iterator operator++(int) noexcept {
    hash_map_iterator old = *this;
    ++*this;
    return old;
  }
  friend bool operator==(const hash_map_iterator& a, const hash_map_iterator& b) noexcept {
    return a.it_.node == b.it_.node;
  }

 private:
  // Pairs with tsan_release in rcu_hash_map::make_node: the entry was fully
  // built before liburcu published it (liburcu's barriers are invisible to TSan).
  void acquire_current() const noexcept {
    if (it_.node != nullptr) tsan_acquire(static_cast<const node_type*>(it_.node));
  }
  cds_lfht* ht_ = nullptr;
  cds_lfht_iter it_{};
};

template <class Key, class T>
class hash_map_range {
 public:
  // Internal: rcu_hash_map::range makes these.
  explicit hash_map_range(cds_lfht* ht) noexcept : ht_(ht) {}
  // The first entry (cds_lfht_first). Never blocks; skips empty buckets.
  [[nodiscard]] hash_map_iterator<Key, T> begin() const noexcept { return hash_map_iterator<Key, T>(ht_); }
  [[nodiscard]] hash_map_iterator<Key, T> end() const noexcept { return hash_map_iterator<Key, T>(); }

 private:
  cds_lfht* ht_;
};

}  // namespace detail::rcu

template <class Key, class T, class Hash = std::hash<Key>, class KeyEqual = std::equal_to<Key>,
          class Domain = rcu_domain>
class rcu_hash_map {
  static_assert(rcu_domain_type<Domain>,
                "rcu_hash_map<Key, T, Hash, KeyEqual, Domain>: Domain must be a quiesce RCU domain type "
                "(quiesce::rcu_domain, rcu_qsbr_domain, rcu_mb_domain or rcu_bp_domain)");
  static_assert(std::is_invocable_r_v<std::size_t, const Hash&, const Key&>,
                "rcu_hash_map: Hash must be callable as std::size_t(const Key&) on a const Hash");
  static_assert(std::is_invocable_r_v<bool, const KeyEqual&, const Key&, const Key&>,
                "rcu_hash_map: KeyEqual must be callable as bool(const Key&, const Key&) on a const KeyEqual");
  static_assert(std::is_nothrow_destructible_v<Key> && std::is_nothrow_destructible_v<T>,
                "rcu_hash_map: Key and T destructors run on liburcu's call_rcu worker and must be noexcept");

  using F = typename Domain::flavor_type;
  using node_type = detail::rcu::hash_map_node<Key, T>;
  using probe_type = detail::rcu::hash_map_probe<Key, KeyEqual>;
  static constexpr bool is_qsbr = std::is_same_v<F, rcu_flavor::qsbr>;

 public:
  using key_type = Key;
  using mapped_type = T;
  using hasher = Hash;
  using key_equal = KeyEqual;
  using domain_type = Domain;
  // What iteration yields: references into one entry, valid while the guard lives.
  using reference = std::pair<const Key&, const T&>;

  // Largest bucket count the constructor and resize() accept (2^31 buckets,
  // 32 GiB of bucket nodes). Automatic resizing is not bounded by it.
  static constexpr std::size_t max_bucket_request = std::size_t{1} << 31;

  // Forward iterator over the entries, in no particular order (liburcu's
  // split order of the hashes); yields `reference`.
  // Obtained from range(guard); valid while that guard lives.
  using iterator = detail::rcu::hash_map_iterator<Key, T>;
  // What range(guard) returns: begin()/end() for a range-for or a std::ranges
  // algorithm (a borrowed range: iterators do not refer to it). Neither it nor
  // its iterators may outlive the guard it was made with.
  using range_type = detail::rcu::hash_map_range<Key, T>;

  // Creates an empty table with `initial_buckets` buckets, rounded up to a
  // power of two (0 counts as 1); the table grows and shrinks automatically
  // from there (a sparse table may shrink below it; the memory of this initial
  // bucket array stays allocated until destruction). Any thread, no
  // registration needed; blocking (allocates, and starts liburcu's resize
  // worker with the first table of the process).
  // Throws std::length_error above max_bucket_request, std::bad_alloc if
  // liburcu cannot create the table.
  explicit rcu_hash_map(std::size_t initial_buckets = 64, const Hash& hash = Hash(),
                        const KeyEqual& equal = KeyEqual())
      : ht_(create_table(initial_buckets)), hash_(hash), equal_(equal) {}

  rcu_hash_map(const rcu_hash_map&) = delete;
  rcu_hash_map& operator=(const rcu_hash_map&) = delete;

  // Removes every entry, retiring each to Domain (pointers readers obtained
  // earlier stay valid until their guards end), then frees the table.
  // Contract: no other thread uses the map any more. Must not run inside a
  // read-side section of Domain: liburcu 0.13.2's cds_lfht_destroy waits for
  // its resize worker, which may be waiting for a grace period, i.e. for this
  // thread (fatal, with a message, for memb/mb/bp; for QSBR in checks builds).
  // QSBR: the thread must be registered and online, outside any guard; it goes
  // offline around cds_lfht_destroy by itself. Blocking; O(n + buckets).
  ~rcu_hash_map() {
    detail::rcu::require_outside_read_section<F>("rcu_hash_map destroyed inside a read-side section of its domain (deadlock)",
                               "destroy the map after the rcu_read_guard ends; liburcu's cds_lfht_destroy "
                               "waits for its resize worker, which may wait for this thread's grace period");
    clear();
    int rc = 0;
    if constexpr (is_qsbr) {
      rcu_offline_scope offline;  // the resize worker may wait for this thread's quiescent state
      rc = cds_lfht_destroy(ht_, nullptr);
    } else {
      rc = cds_lfht_destroy(ht_, nullptr);
    }
    if (rc != 0)
      detail::rcu::fatal("rcu_hash_map: cds_lfht_destroy failed: an entry was added while the map was destroyed",
                         "no thread may use an rcu_hash_map while it is being destroyed");
  }

  // ---- readers: any thread, inside a read-side section of Domain ----

  // The value mapped to `key`, or nullptr. The pointer is valid while `guard`
  // lives (a concurrent erase or replace retires the entry, it does not free
  // it). Guard: rcu_read_guard<Domain>, or std::scoped_lock / lock_guard /
  // unique_lock of the domain. Lock-free: one lookup, repeated only if a writer
  // erased or replaced this very entry between the lookup and the check that
  // follows it, so an entry already erased or replaced when find returns is
  // never returned. A key being replaced concurrently is always found, with
  // its old or new value. Ordering: the entry's key and value as built before
  // publication are visible (liburcu's full barrier before publishing pairs
  // with the dependent loads of the lookup). Throws only what Hash throws.
  template <class Guard>
  [[nodiscard]] const T* find([[maybe_unused]] const Guard& guard, const Key& key) const
      noexcept(std::is_nothrow_invocable_v<const Hash&, const Key&>) {
    static_assert(detail::rcu::is_read_guard_v<Guard, Domain>,
                  "rcu_hash_map::find(guard, key): pass a read-side guard of the map's domain "
                  "(quiesce::rcu_read_guard<Domain>, or std::scoped_lock/lock_guard/unique_lock of it)");
    const unsigned long h = hash_of(key);
    const probe_type probe{&equal_, &key};
    cds_lfht_iter it;
    for (;;) {
      cds_lfht_lookup(ht_, h, &match, &probe, &it);
      cds_lfht_node* n = cds_lfht_iter_get_node(&it);
      if (n == nullptr) return nullptr;
      if (!cds_lfht_is_node_deleted(n)) {
        detail::rcu::tsan_acquire(static_cast<node_type*>(n));  // pairs with tsan_release in make_node
        return &static_cast<node_type*>(n)->value;
      }
      // Erased or replaced since the lookup passed it: look again (a
      // replacement, if any, is now the one the lookup finds).
    }
  }

  // The entries, for a range-for: `for (auto [k, v] : map.range(g))`. Valid
  // while `guard` lives; same guard types as find(). Never blocks; a pass is
  // O(n + buckets). What a pass sees under concurrent writers: every
  // entry present for the whole pass, once; a key replaced during the pass
  // once, with its old or new value; entries inserted or erased during the
  // pass, or moved by a concurrent resize, may or may not be seen.
  template <class Guard>
  [[nodiscard]] range_type range([[maybe_unused]] const Guard& guard) const noexcept {
    static_assert(detail::rcu::is_read_guard_v<Guard, Domain>,
                  "rcu_hash_map::range(guard): pass a read-side guard of the map's domain "
                  "(quiesce::rcu_read_guard<Domain>, or std::scoped_lock/lock_guard/unique_lock of it)");
    return range_type(ht_);
  }

  // ---- writers: any thread (see the thread contract above), any number ----

  // Adds key -> value unless the key is present. Returns true if added; false
  // if the key was present, in which case the new entry (never visible to
  // anyone) is destroyed at once and the map is unchanged. Lock-free. Takes a
  // read-side section of Domain internally (liburcu requires one around add).
  // Ordering: the entry is fully built before it is published (full barrier
  // before liburcu's commit). Throws std::bad_alloc, and what Key's and T's
  // move constructors and Hash throw, all before anything is published.
  bool insert(Key key, T value) {
    std::unique_ptr<node_type> n = make_node(std::move(key), std::move(value));
    if (add_node(n.get(), &cds_lfht_add_unique) != n.get()) return false;  // `n` was never published: freed here
    (void)n.release();                       // owned by the table now
    return true;
  }

  // Maps key to value, adding the key or replacing its entry atomically:
  // concurrent readers find either the old or the new value, never neither.
  // The replaced entry is retired to Domain. Returns true if the key was
  // added, false if an entry was replaced. Lock-free, apart from the retire
  // backlog throttle (see basic_rcu_domain::retire). Ordering and exceptions
  // as for insert().
  bool insert_or_assign(Key key, T value) {
    std::unique_ptr<node_type> n = make_node(std::move(key), std::move(value));
    cds_lfht_node* old = add_node(n.get(), &cds_lfht_add_replace);
    (void)n.release();  // owned by the table now
    if (old == nullptr) return true;
    // liburcu's replace sets the removal-owner flag: this thread alone owns `old`.
    retire(static_cast<node_type*>(old));
    return false;
  }

  // Removes the entry of `key`, if any, and retires it to Domain. Returns true
  // if this call removed it. Lock-free: if another writer erases or replaces
  // the entry between this call's lookup and removal, it looks again, so a key
  // that stays present is always erased. Ordering: full barrier before and
  // after the removal (liburcu). Throws only what Hash throws.
  bool erase(const Key& key) noexcept(std::is_nothrow_invocable_v<const Hash&, const Key&>) {
    const unsigned long h = hash_of(key);
    const probe_type probe{&equal_, &key};
    node_type* removed = nullptr;
    {
      rcu_read_guard<Domain> g;
      cds_lfht_iter it;
      for (;;) {
        cds_lfht_lookup(ht_, h, &match, &probe, &it);
        cds_lfht_node* n = cds_lfht_iter_get_node(&it);
        if (n == nullptr) break;
        if (cds_lfht_del(ht_, n) == 0) {  // 0: this thread owns the removal
          removed = static_cast<node_type*>(n);
          break;
        }
      }
    }
    if (removed == nullptr) return false;
    retire(removed);  // outside the section, so the backlog throttle may wait
    return true;
  }

  // Removes every entry present when the call passes it, retiring each to
  // Domain; entries inserted concurrently may stay. Lock-free, O(n + buckets).
  // Runs in one read-side section, in which the retire backlog throttle cannot
  // wait: a large clear() may exceed the domain's backlog limit (counted in
  // stats().overruns) until the deleters catch up.
  void clear() noexcept {
    rcu_read_guard<Domain> g;
    cds_lfht_iter it;
    cds_lfht_first(ht_, &it);
    for (cds_lfht_node* n = cds_lfht_iter_get_node(&it); n != nullptr; n = cds_lfht_iter_get_node(&it)) {
      // Removal during a traversal is allowed: cds_lfht_next continues from
      // the successor the iterator recorded before this node was removed.
      if (cds_lfht_del(ht_, n) == 0) retire(static_cast<node_type*>(n));
      cds_lfht_next(ht_, &it);
    }
  }

  // Sets the bucket count to `buckets` rounded up to a power of two (0 counts
  // as 1; liburcu 0.13.2's cds_lfht_resize never returns for a target that
  // is not a power of two), now, in the calling thread; automatic resizing
  // may change it again later (it shrinks a sparse table). Blocking: waits for a concurrent resize
  // and may wait for a grace period. Must be called outside any read-side
  // section of Domain (fatal otherwise: it would wait for itself). Throws
  // std::length_error above max_bucket_request. Not available for the QSBR
  // domain (see the static_assert).
  void resize(std::size_t buckets) {
    static_assert(!is_qsbr,
                  "rcu_hash_map::resize() is not available for rcu_qsbr_domain: liburcu 0.13.2's "
                  "cds_lfht_resize blocks on the resize mutex while the caller must stay online, which "
                  "deadlocks against a concurrent automatic shrink; rely on automatic resizing, or use "
                  "another domain");
    const unsigned long n = round_buckets(buckets);
    detail::rcu::require_outside_read_section<F>("rcu_hash_map::resize() called inside a read-side section of its domain (deadlock)",
                               "call resize() after the rcu_read_guard ends: it may wait for a grace period");
    // liburcu's resize enters read-side sections itself: register memb/mb threads.
    if constexpr (F::implicit_registration) {
      if (!F::registered()) detail::rcu::register_implicitly<F>();
    }
    cds_lfht_resize(ht_, n);
  }

  // The number of entries, counted by walking the whole table in one read-side
  // section: exact when no writer runs concurrently, otherwise somewhere
  // between the counts at the start and at the end of the walk. Any thread;
  // lock-free; O(n + buckets).
  [[nodiscard]] std::size_t size() const noexcept {
    rcu_read_guard<Domain> g;
    long before = 0;
    long after = 0;
    unsigned long count = 0;
    cds_lfht_count_nodes(ht_, &before, &count, &after);
    return static_cast<std::size_t>(count);
  }

  // True if the walk from the first bucket finds no entry. Any thread;
  // lock-free; O(buckets) at worst. The answer may be stale on return.
  [[nodiscard]] bool empty() const noexcept {
    rcu_read_guard<Domain> g;
    cds_lfht_iter it;
    cds_lfht_first(ht_, &it);
    return cds_lfht_iter_get_node(&it) == nullptr;
  }

 private:
  static unsigned long round_buckets(std::size_t n) {
    if (n > max_bucket_request)
      throw std::length_error("quiesce::rcu_hash_map: bucket count above max_bucket_request");
    return static_cast<unsigned long>(std::bit_ceil(std::max<std::size_t>(n, 1)));
  }

  static cds_lfht* create_table(std::size_t initial_buckets) {
    const unsigned long n = round_buckets(initial_buckets);
    // min_nr_alloc_buckets = n: the initial bucket array is one allocation,
    // kept until destruction; max 0: no limit.
    cds_lfht* ht = cds_lfht_new_flavor(n, n, 0, CDS_LFHT_AUTO_RESIZE | CDS_LFHT_ACCOUNTING, F::flavor_struct(),
                                       nullptr);
    if (ht == nullptr) throw std::bad_alloc();
    return ht;
  }

  template <class K, class V>
  static std::unique_ptr<node_type> make_node(K&& key, V&& value) {
    auto n = std::make_unique<node_type>(std::forward<K>(key), std::forward<V>(value));
    // liburcu publishes the node with barriers TSan cannot see (uninstrumented
    // code): pairs with the tsan_acquire in match(), find() and iterator.
    detail::rcu::tsan_release(n.get());
    return n;
  }

  // Publishes n with liburcu's `add` (cds_lfht_add_unique or
  // cds_lfht_add_replace, which need a read-side section around them) and
  // returns what it returns. Hash runs first, outside the section: if it
  // throws, nothing is published.
  using add_fn = cds_lfht_node* (*)(cds_lfht*, unsigned long, cds_lfht_match_fct, const void*, cds_lfht_node*);
  cds_lfht_node* add_node(node_type* n, add_fn add) {
    const unsigned long h = hash_of(n->key);
    const probe_type probe{&equal_, &n->key};
    rcu_read_guard<Domain> g;
    return add(ht_, h, &match, &probe, n);
  }

  unsigned long hash_of(const Key& key) const noexcept(std::is_nothrow_invocable_v<const Hash&, const Key&>) {
    return detail::rcu::hash_map_mix(static_cast<std::size_t>(std::invoke(hash_, key)));
  }

  // cds_lfht's key comparison, called from liburcu with a node whose hash
  // equals the probe's. Must not throw (C frames): a throwing KeyEqual is fatal.
  static int match(cds_lfht_node* node, const void* arg) noexcept {
    auto* n = static_cast<node_type*>(node);
    detail::rcu::tsan_acquire(n);  // pairs with tsan_release in make_node
    const auto* probe = static_cast<const probe_type*>(arg);
    if constexpr (std::is_nothrow_invocable_v<const KeyEqual&, const Key&, const Key&>) {
      return std::invoke(*probe->equal, n->key, *probe->key) ? 1 : 0;
    } else {
      try {
        return std::invoke(*probe->equal, n->key, *probe->key) ? 1 : 0;
      } catch (...) {
        detail::rcu::fatal("rcu_hash_map: KeyEqual threw an exception",
                           "KeyEqual is called from inside liburcu's C code and must not throw");
      }
    }
  }

  // Hands an entry this thread removed from the table to Domain: freed after
  // a grace period, on the call_rcu worker.
  static void retire(node_type* n) noexcept {
    // The entry may have been built by another thread; this thread found it
    // through liburcu. Pairs with tsan_release in make_node; enqueue then
    // passes the edge on to the deleter.
    detail::rcu::tsan_acquire(n);
    detail::rcu::require_retire_context<F>();
    Domain::instance().template enqueue<node_type>(&n->head);
  }

  cds_lfht* const ht_;
  [[no_unique_address]] Hash hash_;
  [[no_unique_address]] KeyEqual equal_;
};

}  // namespace quiesce

// The iterators of a range do not point into it: algorithms may return them
// from a temporary range (they stay bound to the read guard, not the range).
template <class Key, class T>
inline constexpr bool std::ranges::enable_borrowed_range<quiesce::detail::rcu::hash_map_range<Key, T>> = true;

#endif  // QUIESCE_RCU_HASH_MAP_HPP
