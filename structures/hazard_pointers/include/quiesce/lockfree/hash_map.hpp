// quiesce/lockfree/hash_map.hpp — lock-free hash set and hash map on hazard
// pointers: Harris-Michael ordered lists (Michael, SPAA 2002) in a fixed
// bucket array or a growing one (split-ordered lists, Shalev & Shavit, JACM
// 2006).
//
// What it is
//   lockfree::hash_set<Key, Hash, KeyEqual, Buckets> and lockfree::hash_map<Key,
//   T, Hash, KeyEqual, Buckets>: unique keys (and, for the map, one value per
//   key), with insert / emplace / erase / contains (and find, visit,
//   insert_or_assign for the map), all lock-free and linearizable. Keys live
//   in the lock-free list of <quiesce/lockfree/ordered_set.hpp>, sorted by a
//   tag derived from the key's mixed 64-bit hash (keys with equal hashes are
//   compared with KeyEqual); erased nodes are reclaimed with hazard pointers
//   (<quiesce/hazard_pointer.hpp>, default domain): no thread registration,
//   garbage bounded whatever readers do (a stalled reader pins at most the
//   few nodes it protects).
//
// The bucket array (Buckets)
//   lockfree::fixed_buckets (the default): Michael's original table. The bucket count
//   is the constructor's (rounded up to a power of two) for the table's
//   life: 8 bytes per bucket, and an operation on an empty bucket takes no
//   hazard pointer at all; but the load factor grows with the number of
//   keys and every operation walks its bucket, so cost grows linearly once
//   the map holds more than about one key per bucket. Size it for the
//   largest expected key count.
//   lockfree::growing_buckets: split-ordered lists. One list holds every key, sorted
//   by the bit-reversed hash, with a sentinel node per bucket; the
//   constructor's bucket count is the initial one, and it doubles whenever
//   the table holds more than 2 keys per bucket. New buckets are initialised
//   lazily by the first insert that needs them (its sentinel is linked into
//   the parent bucket's run); no node ever moves, so growth is lock-free and
//   invisible to concurrent operations. The count never shrinks. Cost: a
//   sentinel per initialised bucket (~72 bytes, in segments allocated on
//   first use) and one more dependent hop per operation (the sentinel, and
//   past an empty bucket the next bucket's sentinel), a cache miss once the
//   table outgrows the caches (perf/lockfree_hash_map_bench
//   quiesce_hp_growing vs quiesce_hp). Use it when the key count is not
//   known in advance.

// Which map to use: this one or quiesce::rcu_hash_map
//   (<quiesce/rcu/hash_map.hpp>, over liburcu's cds_lfht)
//   * Read-mostly maps with long-lived reader threads that can register:
//     rcu_hash_map. Its readers write no shared memory at all (a TLS counter
//     and compiler barrier per read-side section, no store per node), it
//     resizes itself, and reclamation is batched once per grace period. Its
//     reads return pointers valid for the whole read-side section.
//   * This map: no registration or read-side sections (any thread, any
//     time, including threads the program does not own), reclamation that is
//     bounded whatever readers do (RCU's garbage grows without bound while
//     one reader stalls inside a section), and no dependency on liburcu's
//     worker threads. Each read stores to the thread's hazard records (one
//     release store per node visited) and returns a copy (find) or runs a
//     callback under protection (visit). Measured against rcu_hash_map and
//     the other peers: structures/hazard_pointers/README.md "Lock-free set and hash map"
//     (perf/lockfree_hash_map_bench).
//
// Example
//   quiesce::lockfree::hash_map<std::string, int> m(4096);   // 4096 buckets, fixed
//   quiesce::lockfree::hash_map<std::string, int, std::hash<std::string>,
//                              std::equal_to<>, quiesce::lockfree::growing_buckets> g;  // grows
//   m.insert("a", 1);                      // false if "a" is present
//   m.insert_or_assign("a", 2);            // readers see 1 or 2, never neither
//   if (auto v = m.find("a")) use(*v);     // a copy (std::optional<int>)
//   m.visit("a", [](const int& v) { use(v); });  // no copy; v valid in the call
//   m.erase("a");
//
// Costs (measured against cds_lfht, rcu_hash_map, tbb::concurrent_hash_map
//   and std::unordered_map under std::shared_mutex by
//   perf/lockfree_hash_map_bench; the table is the main job's
//   out/lockfree_hash_map_ratios.md, see structures/hazard_pointers/README.md "Lock-free set and hash
//   map")
//   What an operation does: Hash, a mixing step (two multiplies), one
//   acquire load of the bucket (fixed buckets: an empty bucket answers
//   there, no hazard pointer at all; growing buckets: the bucket sentinel's
//   link), one hazard pointer from the thread's cache (three when the walk
//   passes a node), and per node visited an acquire load of its
//   link and a validating re-load of its predecessor's, plus a hazard store
//   (release, compiler barrier) for each node passed: no atomic RMW and no
//   shared write for lookups. insert: one allocation from the thread's
//   NUMA-node pool (a pop from the thread's cache) and one CAS; erase: two
//   CASes and a retire (into the thread's batch, one CAS per 32 on the
//   domain's per-node list, a scan with a membarrier amortised over >= 4000
//   retires); insert_or_assign over a present key: one allocation, two
//   CASes and a retire.
//   Memory: per key sizeof(Key) (+ sizeof(T)) + 48 bytes (link, hash,
//   hazard-pointer header), rounded to alignment; 8 bytes per bucket.
//
// Concurrency table
//   every operation vs every other operation: allowed (lock-free), except
//   destructor vs anything: forbidden.
//   for_each / size / empty are not linearizable snapshots (see for_each).
//
// Types: Key and T may be any move-constructible (or copy-constructible)
// types with noexcept destructors (they run in hazard-pointer deleters, on
// whichever thread reclaims); move-only T works for everything except find
// (use visit). Hash must be callable as std::size_t(const Key&), KeyEqual as
// bool(const Key&, const Key&), both on const objects; either may throw (the
// operation then throws, with the map unchanged).
#ifndef QUIESCE_LOCKFREE_HASH_MAP_HPP
#define QUIESCE_LOCKFREE_HASH_MAP_HPP

#include <cstddef>
#include <functional>
#include <optional>
#include <type_traits>
#include <utility>

#include <quiesce/lockfree/detail/hash_table.hpp>  // the tables (internal)
#include <quiesce/lockfree/ordered_set.hpp>         // included before the split: code may rely on it

namespace quiesce {

// Bucket-array policies of lockfree::hash_set / lockfree::hash_map.
//   lockfree::growing_buckets: split-ordered lists; the bucket count starts
//     at the constructor's argument and doubles whenever the map holds more
//     than 2 keys per bucket (lazily: new buckets are initialised by the
//     first insert that needs them; no node ever moves). Costs a sentinel
//     node per bucket (~72 bytes) and one more hop per operation.
//   lockfree::fixed_buckets (default): the constructor's bucket count, for the table's life
//     (Michael's original table): one hop less and an empty bucket answers
//     with no hazard pointer, but the load factor grows with the key count.
namespace lockfree {
struct growing_buckets {};
struct fixed_buckets {};

// A lock-free, linearizable hash set with a fixed (default) or growing
// bucket array (see the top
// of this header).
template <class Key, class Hash = std::hash<Key>, class KeyEqual = std::equal_to<Key>,
          class Buckets = fixed_buckets>
class hash_set : public detail::lockfree::hash_front<Key, Key, Hash, KeyEqual, Buckets, detail::lockfree::key_of_self> {
  static_assert(std::is_nothrow_destructible_v<Key>,
                "lockfree::hash_set<Key>: Key's destructor runs in hazard-pointer deleters and must be noexcept");
  using base = detail::lockfree::hash_front<Key, Key, Hash, KeyEqual, Buckets, detail::lockfree::key_of_self>;
  using typename base::node;
  using typename base::table;
  using base::t_;

 public:
  using value_type = Key;

  // The constructor (hash_set(buckets = 1024, hash, equal)), erase,
  // contains, size, empty, bucket_count, no copies and the destructor's
  // contract: detail::lockfree::hash_front's, above.
  using base::base;

  // Adds key unless present; true if added. Any thread; lock-free. Allocates
  // (from the calling thread's NUMA node's pool) only if the key is absent.
  // Ordering: a thread that later finds the key sees it fully built (release
  // CAS, acquire loads). Throws std::bad_alloc or what Key's constructor,
  // Hash or KeyEqual throw; the set is then unchanged.
  bool insert(const Key& key) { return insert_impl(key); }
  bool insert(Key&& key) { return insert_impl(std::move(key)); }

  // Builds a Key from args (always one allocation) and adds it unless
  // present (then it is destroyed). True if added. As insert() otherwise.
  template <class... Args>
  bool emplace(Args&&... args) {
    node* raw =
        detail::lockfree::new_node<node>(typename table::tag_type{}, std::in_place, std::forward<Args>(args)...);
    detail::lockfree::node_holder<node> h(raw);
    h.n->tag = t_.make_probe(h.n->value).tag;
    if (!t_.insert_node(h.n)) return false;
    (void)h.release();
    return true;
  }

  // f(const Key&) for every key, bucket by bucket; f may return bool (false
  // stops). Weakly consistent: keys present for the whole walk are visited
  // once (but see hm_list::for_each in lockfree/detail/hm_list.hpp on equal
  // hashes); keys inserted or erased during it may or may not be.
  // Lock-free; O(n + buckets).
  template <class F>
  void for_each(F&& f) const {
    t_.for_each(std::forward<F>(f));
  }

 private:
  template <class K>
  bool insert_impl(K&& key) {
    const Key& k = key;
    return t_.insert_lazy(k, [&](typename table::tag_type tag) {
      return detail::lockfree::new_node<node>(tag, std::in_place, std::forward<K>(key));
    });
  }
};

// A lock-free, linearizable hash map with a fixed (default) or growing
// bucket array (see the top
// of this header). Values are immutable once inserted: readers get a copy
// (find) or a const reference for the duration of a callback (visit);
// insert_or_assign publishes a new node.
template <class Key, class T, class Hash = std::hash<Key>, class KeyEqual = std::equal_to<Key>,
          class Buckets = fixed_buckets>
class hash_map : public detail::lockfree::hash_front<Key, detail::lockfree::map_entry<Key, T>, Hash, KeyEqual, Buckets,
                                                     detail::lockfree::key_of_entry> {
  static_assert(std::is_nothrow_destructible_v<Key> && std::is_nothrow_destructible_v<T>,
                "lockfree::hash_map<Key, T>: Key's and T's destructors run in hazard-pointer deleters and must be "
                "noexcept");
  using entry = detail::lockfree::map_entry<Key, T>;
  using base = detail::lockfree::hash_front<Key, entry, Hash, KeyEqual, Buckets, detail::lockfree::key_of_entry>;
  using typename base::node;
  using base::t_;

 public:
  using mapped_type = T;
  using base::base;  // as hash_set's: the constructor and the shared members are hash_front's

  // Adds key -> value unless key is present; true if added (the same
  // signature as rcu_hash_map::insert). Looks first: a present key costs no
  // allocation. Any thread; lock-free. Ordering: a thread that later finds
  // the key sees key and value fully built. Throws std::bad_alloc or what
  // the constructors, Hash or KeyEqual throw; the map is then unchanged.
  bool insert(Key key, T value) {
    return t_.insert_lazy(key, [&](typename base::table::tag_type tag) {
      return detail::lockfree::new_node<node>(tag, std::in_place, std::move(key), std::move(value));
    });
  }

  // std::map::try_emplace semantics: if key is absent, builds T from args in
  // place and adds it (true); if present, args are not touched (false).
  template <class... Args>
  bool emplace(Key key, Args&&... args) {
    return t_.insert_lazy(key, [&](typename base::table::tag_type tag) {
      return detail::lockfree::new_node<node>(tag, std::in_place, std::move(key), std::forward<Args>(args)...);
    });
  }

  // Maps key to value: adds it (true) or replaces the present entry by a new
  // node (false). Readers find the old or the new value, never neither: the
  // old node is marked deleted with the new one as its successor in one CAS
  // (the linearization point), then unlinked and retired. Any thread;
  // lock-free; always one allocation. Exceptions as insert().
  bool insert_or_assign(Key key, T value) {
    node* raw =
        detail::lockfree::new_node<node>(typename base::table::tag_type{}, std::in_place, std::move(key), std::move(value));
    detail::lockfree::node_holder<node> h(raw);
    h.n->tag = t_.make_probe(h.n->value.key).tag;
    return t_.insert_or_replace(h);  // the map owns the node unless KeyEqual throws
  }

  // A copy of the value mapped to key, or nullopt. Any thread; lock-free; the
  // copy is made while the node is protected, from the node found at the
  // linearization point. Requires a copy-constructible T (else use visit).
  [[nodiscard]] std::optional<T> find(const Key& key) const {
    static_assert(std::is_copy_constructible_v<T>,
                  "lockfree::hash_map::find returns a copy: T is not copy-constructible; use visit(key, f)");
    std::optional<T> out;
    t_.visit(key, [&out](const entry& e) { out.emplace(e.value); });
    return out;
  }

  // Calls f(const T&) with the value mapped to key, while its node is
  // protected (the reference is valid during the call only; the value may be
  // replaced or erased concurrently, the node stays intact). Returns whether
  // key was found. Any thread; lock-free; f must not use this map's hazard
  // pointers beyond the thread cache (calling other map operations is fine).
  template <class F>
  bool visit(const Key& key, F&& f) const {
    return t_.visit(key, [&f](const entry& e) { std::invoke(f, static_cast<const T&>(e.value)); });
  }

  // f(const Key&, const T&) for every entry; f may return bool (false
  // stops). Weakly consistent, as lockfree::hash_set::for_each.
  template <class F>
  void for_each(F&& f) const {
    t_.for_each([&f](const entry& e) {
      if constexpr (std::is_same_v<std::invoke_result_t<F&, const Key&, const T&>, bool>) {
        return f(static_cast<const Key&>(e.key), static_cast<const T&>(e.value));
      } else {
        f(static_cast<const Key&>(e.key), static_cast<const T&>(e.value));
      }
    });
  }
};

}  // namespace lockfree

// The names before the structures moved into namespace quiesce::lockfree
// (the namespace follows the folder, as boost::lockfree's do); kept so that
// code written against them builds unchanged.
using growing_buckets = lockfree::growing_buckets;
using fixed_buckets = lockfree::fixed_buckets;
template <class Key, class Hash = std::hash<Key>, class KeyEqual = std::equal_to<Key>, class Buckets = lockfree::fixed_buckets>
using lockfree_hash_set = lockfree::hash_set<Key, Hash, KeyEqual, Buckets>;
template <class Key, class T, class Hash = std::hash<Key>, class KeyEqual = std::equal_to<Key>,
          class Buckets = lockfree::fixed_buckets>
using lockfree_hash_map = lockfree::hash_map<Key, T, Hash, KeyEqual, Buckets>;

}  // namespace quiesce

#endif  // QUIESCE_LOCKFREE_HASH_MAP_HPP
