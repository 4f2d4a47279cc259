// quiesce/lockfree/ordered_set.hpp — a lock-free ordered set: Harris's
// marked-pointer linked list with Michael's hazard-pointer traversal.
//
// What it is
//   lockfree::ordered_set<Key, Compare>: a set of unique keys kept in one sorted,
//   singly linked list. insert/emplace/erase/contains are lock-free and
//   linearizable; memory of erased keys is reclaimed with hazard pointers
//   (<quiesce/hazard_pointer.hpp>, default domain), so no thread ever reads
//   freed memory and no registration is needed. Nodes come from node-local
//   pools (lockfree/detail/node_alloc.hpp).
//   Algorithm: T. Harris, "A Pragmatic Implementation of Non-Blocking
//   Linked-Lists", DISC 2001 (logical deletion by marking the low bit of the
//   victim's next field, physical unlinking by CAS on its predecessor), with
//   M. M. Michael, "High Performance Dynamic Lock-Free Hash Tables and
//   List-Based Sets", SPAA 2002 (a traversal that unlinks marked nodes as it
//   meets them and restarts instead of walking through them, so that three
//   hazard pointers suffice and only the thread whose CAS unlinked a node
//   retires it). The code here is written from the papers.
//
// When to use it
//   Small concurrent sets (tens to a few hundred keys) that must be ordered,
//   and as the bucket list of lockfree::hash_set/hash_map
//   (<quiesce/lockfree/hash_map.hpp>), which is what to use for anything
//   larger: every operation here walks the list, O(n).
//   Not for large sets (O(n) per operation), not when keys must change in
//   place, not for range scans that must be a snapshot.
//
// Example
//   quiesce::lockfree::ordered_set<int> s;
//   s.insert(3); s.emplace(1);            // any thread
//   if (s.contains(3)) { ... }            // any thread, lock-free
//   s.erase(1);                           // node freed once no hazard names it
//   s.for_each([](int k) { ... });        // ascending, weakly consistent
//
// Costs (operation counts; the hash map built on this list is measured by
// perf/lockfree_hash_map_bench, table in the main job's
// out/lockfree_hash_map_ratios.md and structures/hazard_pointers/README.md "Lock-free set and hash map")
//   Every operation: one hazard pointer from the thread's cache (three once
//   the walk passes a node; no atomic RMW), then a walk from the head. Per
//   node passed: one acquire load of its next field, one acquire re-load of
//   the predecessor's link to validate it, one hazard publication (a release
//   store and a compiler barrier; see hazard_pointer.hpp on the asymmetric
//   fence) and one validating re-load of its next field: ~4 loads and one
//   store per node. contains(): no atomic RMW at all.
//   insert: one allocation (node pool: a pop from the thread's cache) and
//   one CAS. erase: two CASes (mark, unlink) and one retire (batched per
//   thread: one CAS per 32 on the domain's per-node list, plus a scan
//   amortised over >= 4000 retires, the default min_threshold).
//   Memory: per key sizeof(Key) + 8 (next) + 32 (hazard-pointer header),
//   rounded to alignment.
//
// Compared with the alternatives
//   std::set under a mutex: O(log n), but every reader serialises on the
//   lock. A skip list would give O(log n) lock-free (not provided).
//   The RCU containers (<quiesce/rcu.hpp>, rcu_hash_map, rcu_list): readers
//   write no shared memory at all, reclamation is batched per grace period,
//   but garbage is unbounded while a reader stalls; hazard pointers bound it
//   and need no registration, at the price of a store per node visited.
//
// Concurrency table
//   insert / emplace / erase / contains / for_each / size  vs  each other:
//     allowed (lock-free; for_each and size are not linearizable snapshots)
//   destructor  vs  any other call: forbidden
//
// Progress: every operation is lock-free (a restart happens only because
// another thread's CAS succeeded). Deleters never throw. Key's destructor
// runs on whichever thread reclaims the node and must not throw.
//
// ---------------------------------------------------------------------------
// Implementation notes (read before changing the traversal)
//
// Marked pointers. A node's `next` holds the successor's address with bit 0
// set when the node itself is logically deleted (Harris). The mark lives in
// the *victim's* next field, so one CAS on prev->next that expects an
// unmarked word both checks "prev is not deleted" and "prev still points to
// curr": an insert after a deleted node, or an unlink through one, fails.
// Once set, a mark is never cleared and the marked word never changes: a
// deleted node's successor is frozen.
//
// Hazard pointers (Michael 2002, figure 4). A traversal holds three:
//   hp_prev  the node whose next field is `prev` (none while prev is the head)
//   hp_curr  curr
//   hp_next  next
// Moving forward rotates them with swap (no store): hp_prev <-> hp_curr
// (the old curr becomes the node owning prev), then hp_curr <-> hp_next.
//
// Why each protection is validated against the source it is:
//   curr  is protected, then prev's link is re-read and must still equal the
//         *unmarked* curr. Equal means: prev is not deleted (its mark is in
//         that word) and curr is still linked from it, hence curr was
//         reachable after the hazard was published, hence not yet retired
//         (a node is retired only after it is unlinked, and never relinked),
//         so the hazard holds it. Comparing the pointer part alone would be
//         wrong: a marked prev may be unlinked (and curr with it, later) at
//         any time, and validation against it proves nothing.
//   prev  (after reading curr's next word) prev's link is re-read and must
//         still be the unmarked curr: curr was reachable, and present if its
//         word was unmarked, when that word was read. This is the
//         linearization point of the decision taken at curr (found / absent).
//   next  is protected only when the walk steps to it (stopping at curr
//         needs no hazard on next: callers use it only as a CAS operand),
//         then curr's next field is re-read and must equal the *whole word*
//         read before (pointer and mark). Equal and unmarked: curr is still
//         not deleted, hence still reachable (nodes are unlinked only after
//         being marked, and never relinked), so its successor next was
//         reachable after the hazard was published, hence not retired.
//         Validating next against prev's link instead, or comparing only the
//         pointer part, would miss a curr that was marked and unlinked, or a
//         next that was unlinked and retired, between reading curr's next
//         field and publishing the hazard. When curr is marked its word is
//         frozen; next is protected before the unlink CAS, whose success
//         proves curr, hence next, still reachable after publication.
//         (Michael's figure re-reads prev after protecting next; this order
//         is equivalent and skips the hazard store on the last node.)
// hazard_pointer::try_protect cannot be used for these: it would publish the
// word it validates, and a marked word is not the node's address. Hence
// protect_from(): publish the unmarked pointer, the light fence, then
// compare the full word re-read from the source.
//
// Restart rules: a failed validation of curr (prev's link changed: prev was
// marked, curr unlinked, or a node inserted between them) or a failed unlink
// CAS restarts from the head, because prev may no longer be reachable and
// nothing proves the keys passed so far are still in order before us. A
// failed validation of next looks at curr again (it is still protected, and
// prev's link is re-validated before anything is decided).
// (for_each keeps Michael's original order: next protected and validated
// against curr's word, then prev re-read, on every node.)
//
// Retirement: a node is retired only by the thread whose CAS unlinked it
// (the eraser's own unlink CAS, or a traversal's). It is then unreachable
// for new traversals; those that reached it earlier hold a hazard on it.
//
// Runs (for the hash map). The list is sorted by an order tag: the key
// itself here (Compare), the mixed hash in the hash map. Nodes with equal
// tags form a run in which keys are compared with equality only, in no
// order. An insert walks the whole run and links the new node at its end
// (between the run's last node and the first node past it), so two inserts
// of the same key always CAS the same link and at most one succeeds. For the
// ordered set, Compare's equivalence makes every run one node long.
#ifndef QUIESCE_LOCKFREE_ORDERED_SET_HPP
#define QUIESCE_LOCKFREE_ORDERED_SET_HPP

#include <functional>
#include <optional>
#include <type_traits>
#include <utility>

#include <quiesce/hazard_pointer.hpp>
#include <quiesce/lockfree/detail/hm_list.hpp>  // the list, its nodes and its policies

namespace quiesce {

namespace lockfree {

// A lock-free, linearizable ordered set of unique keys (see the top of this
// header). Key: any type that is move- or copy-constructible (emplace builds
// it in place) with a noexcept destructor; Compare: a strict weak order,
// callable on const objects; it may throw (the operation then throws with
// the set unchanged).
template <class Key, class Compare = std::less<Key>>
class ordered_set {
  static_assert(std::is_nothrow_destructible_v<Key>,
                "lockfree::ordered_set<Key>: Key's destructor runs in hazard-pointer deleters and must be noexcept");
  static_assert(std::is_invocable_r_v<bool, const Compare&, const Key&, const Key&>,
                "lockfree::ordered_set<Key, Compare>: Compare must be callable as bool(const Key&, const Key&) on a "
                "const Compare");

  using policy = detail::lockfree::ordered_policy<Key, Compare>;
  using node = detail::lockfree::list_node<Key, detail::lockfree::no_tag>;
  using list = detail::lockfree::hm_list<node>;

 public:
  using key_type = Key;
  using value_type = Key;
  using key_compare = Compare;

  ordered_set() = default;
  explicit ordered_set(const Compare& comp) : pol_{comp} {}
  ordered_set(const ordered_set&) = delete;
  ordered_set& operator=(const ordered_set&) = delete;

  // Frees every key still in the set, at once (nodes erased earlier are
  // freed by the hazard-pointer domain once unprotected; call
  // hazard_pointer_cleanup() to force that). Contract: no other thread uses
  // the set any more. O(n).
  ~ordered_set() { list::destroy_all(head_); }

  // Adds key unless an equivalent key is present. Returns true if added.
  // Any thread; lock-free. Allocates one node (from the calling thread's
  // NUMA node's pool) only when the key is absent at the first look.
  // Ordering: a thread that later finds the key sees it fully built
  // (release CAS / acquire loads). Throws std::bad_alloc or what Key's copy
  // or move constructor or Compare throw; the set is then unchanged.
  bool insert(const Key& key) { return insert_impl(key); }
  bool insert(Key&& key) { return insert_impl(std::move(key)); }

  // Builds a Key from args (one allocation, always) and adds it unless an
  // equivalent key is present (the new one is then destroyed). Returns true
  // if added. Any thread; lock-free. Exceptions as insert().
  template <class... Args>
  bool emplace(Args&&... args) {
    detail::lockfree::node_holder<node> h(
        detail::lockfree::new_node<node>(detail::lockfree::no_tag{}, std::in_place, std::forward<Args>(args)...));
    if (!list::insert(head_, h.n->value, pol_, h.n)) return false;
    (void)h.release();
    return true;
  }

  // Removes the key equivalent to `key`. Returns true if this call removed
  // it. Any thread; lock-free. The node is retired by the thread whose CAS
  // unlinks it and freed once no hazard pointer names it. Throws only what
  // Compare throws.
  bool erase(const Key& key) { return list::erase(head_, key, pol_); }

  // True if a key equivalent to `key` is present. Any thread; lock-free; no
  // atomic RMW (except unlinking erased nodes it meets). Throws only what
  // Compare throws.
  [[nodiscard]] bool contains(const Key& key) const {
    typename list::hazards hp;
    typename list::position pos;
    return list::find(head_, key, pol_, hp, pos);
  }

  // Calls f(const Key&) for each key in ascending order; f may return bool
  // (false stops the walk). Weakly consistent: every key present for the
  // whole walk is visited exactly once; keys inserted or erased during it
  // may or may not be. f runs while the key's node is protected: the
  // reference is valid during the call only. Any thread; lock-free.
  template <class F>
  void for_each(F&& f) const {
    list::for_each(head_, pol_, std::forward<F>(f));
  }

  // The number of keys, counted by a for_each walk: exact without
  // concurrent writers. O(n).
  [[nodiscard]] std::size_t size() const {
    std::size_t n = 0;
    for_each([&n](const Key&) { ++n; });
    return n;
  }
  [[nodiscard]] bool empty() const {
    bool any = false;
    for_each([&any](const Key&) {
      any = true;
      return false;
    });
    return !any;
  }

 private:
  template <class K>
  bool insert_impl(K&& key) {
    const Key& probe = key;
    return list::insert_lazy(head_, probe, pol_, [&] {
      return detail::lockfree::new_node<node>(detail::lockfree::no_tag{}, std::in_place, std::forward<K>(key));
    });
  }

  mutable std::atomic<node*> head_{nullptr};
  [[no_unique_address]] policy pol_{};
};

}  // namespace lockfree

// The names before the structures moved into namespace quiesce::lockfree
// (the namespace follows the folder, as boost::lockfree's do); kept so that
// code written against them builds unchanged.
template <class Key, class Compare = std::less<Key>>
using ordered_list_set = lockfree::ordered_set<Key, Compare>;

}  // namespace quiesce

#endif  // QUIESCE_LOCKFREE_ORDERED_SET_HPP
