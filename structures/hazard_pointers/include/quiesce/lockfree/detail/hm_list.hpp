// quiesce/lockfree/detail/hm_list.hpp — the Harris-Michael lock-free
// ordered list under lockfree::ordered_set and both hash tables (internal):
// marked pointers, the list node, and hm_list's find / insert / erase /
// for_each with hazard pointers (Michael, "High Performance Dynamic
// Lock-Free Hash Tables and List-Based Sets", SPAA 2002). The contracts of
// the structures built on it are in <quiesce/lockfree/ordered_set.hpp> and
// <quiesce/lockfree/hash_map.hpp>.
#ifndef QUIESCE_LOCKFREE_DETAIL_HM_LIST_HPP
#define QUIESCE_LOCKFREE_DETAIL_HM_LIST_HPP

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

#include <quiesce/hazard_pointer.hpp>
#include <quiesce/lockfree/detail/node_alloc.hpp>
#include <quiesce/lockfree/detail/poison.hpp>
#include <quiesce/base/config.hpp>

namespace quiesce {

namespace detail::lockfree {

// ---- marked pointers ------------------------------------------------------
template <class N>
inline N* unmarked(N* p) noexcept {
  return reinterpret_cast<N*>(reinterpret_cast<std::uintptr_t>(p) & ~std::uintptr_t{1});
}
template <class N>
inline N* marked(N* p) noexcept {
  return reinterpret_cast<N*>(reinterpret_cast<std::uintptr_t>(p) | std::uintptr_t{1});
}
template <class N>
inline bool is_marked(N* p) noexcept {
  return (reinterpret_cast<std::uintptr_t>(p) & 1) != 0;
}

// Publishes the (unmarked) node p in h, then re-reads src and returns true
// if it still holds `expected`, the whole word including the mark bit. The
// release store of the hazard, the light fence and the acquire re-load are
// try_protect's sequence (the fence pairs with the scanner's heavy fence in
// src/hp_internal.hpp: either the scanner sees the hazard, or this re-load
// sees the unlink that preceded the retire). On false the caller restarts or
// re-reads; the stale hazard is harmless (overwritten by the next publish).
template <class N>
inline bool protect_from(hazard_pointer& h, N* p, const std::atomic<N*>& src, N* expected) noexcept {
  h.reset_protection(p);
  detail::hp::light_fence();
  // Acquire: pairs with the release CAS that stored this word (an insert
  // publishing p, an unlink, a replace), so p's fields are visible.
  return src.load(std::memory_order_acquire) == expected;
}

struct no_tag {
  friend constexpr bool operator==(no_tag, no_tag) noexcept { return true; }
};

// Whether a node with this tag holds a value. Only the split-ordered hash
// table (hash_map.hpp) has value-less nodes (bucket sentinels); its tag
// type overloads this.
inline constexpr bool node_has_value(no_tag) noexcept { return true; }
inline constexpr bool node_has_value(std::size_t) noexcept { return true; }
struct sentinel_t {
  explicit sentinel_t() = default;
};

// One list node: the link, the order tag and the value (the key for sets,
// key and mapped value for maps). Tag is an empty type for the ordered set.
// In ASan builds a destroyed node's fields are poisoned (lockfree/detail/
// poison.hpp: the node pool recycles memory without telling ASan), so a read
// of a reclaimed node is a report; the value lives in a union so that its
// destructor runs before the poisoning.
template <class Value, class Tag>
struct list_node : pool_node<list_node<Value, Tag>> {

  template <class... Args>
  explicit list_node(Tag t, std::in_place_t, Args&&... args) : tag(t), value(std::forward<Args>(args)...) {}
  // A node without a value (a bucket sentinel; node_has_value(t) is false).
  list_node(Tag t, sentinel_t) noexcept : tag(t) {}
  list_node(const list_node&) = delete;
  list_node& operator=(const list_node&) = delete;
  ~list_node() {
    if (node_has_value(tag)) value.~Value();
    poison(&next, sizeof(list_node) - static_cast<std::size_t>(reinterpret_cast<const char*>(&next) -
                                                                reinterpret_cast<const char*>(this)));
  }

  // Unpoisons recycled memory before the fields below are built.
  [[no_unique_address]] unpoison_on_construct unpoison_{this, sizeof(list_node)};
  // Successor, bit 0 = this node is logically deleted. Written by CAS only
  // once the node is published (before: a relaxed store by its creator).
  std::atomic<list_node*> next{nullptr};
  [[no_unique_address]] Tag tag;
  union {
    Value value;  // alive from construction until ~list_node
  };
};

// Owns a node that has not been published (or never will be): frees it on
// scope exit unless released.
template <class Node>
struct node_holder {
  Node* n = nullptr;
  node_holder() = default;
  explicit node_holder(Node* p) noexcept : n(p) {}
  node_holder(const node_holder&) = delete;
  node_holder& operator=(const node_holder&) = delete;
  ~node_holder() {
    if (n != nullptr) node_deleter<Node>{}(n);
  }
  Node* release() noexcept { return std::exchange(n, nullptr); }
};

// The Harris-Michael list algorithm over one head. Stateless: the ordered
// set has one head, the hash table one per bucket. Policy supplies:
//   Tag     the order tag type (node.tag)
//   int order(const Tag& node_tag, const Value& node_value, const Probe&)
//           <0: the node sorts before the probe's run, 0: same run,
//           >0: after it
//   bool same(const Value& node_value, const Probe&)  (only when order == 0)
template <class Node>
struct hm_list {
  using node = Node;

  // The three hazard pointers of one operation (see the notes above).
  // Only curr's is taken up front; prev's and next's are taken when the
  // walk first steps past a node or unlinks one (ensure_all), so a walk
  // that stops at the first node (most operations on a hash table at one
  // key per bucket or fewer) pays for one hazard pointer, not three. They
  // come from make_hazard_pointer(), the default domain's inline fast path
  // (a pop from the thread's record cache and a push back on destruction,
  // no atomic RMW; perf/hazard_pointer_bench make/default_domain), one at a
  // time, not make_hazard_pointers<3>(), which takes all three up front.
  struct hazards {
    std::array<hazard_pointer, 3> h{hazard_pointer(), make_hazard_pointer(), hazard_pointer()};
    hazard_pointer& prev() noexcept { return h[0]; }
    hazard_pointer& curr() noexcept { return h[1]; }
    hazard_pointer& next() noexcept { return h[2]; }
    void ensure_all() {
      if (h[0].empty()) [[unlikely]] {
        h[0] = make_hazard_pointer();
        h[2] = make_hazard_pointer();
      }
    }
  };

  // What find() leaves: `prev` is the link (the head or a node's next field)
  // that held the unmarked `curr` at the last validation; `next` is curr's
  // successor (unmarked; only meaningful when found). When not found, curr
  // is the first node past the probe's run (or null): the insertion point.
  // hp.prev protects prev's node, hp.curr curr, hp.next next.
  struct position {
    std::atomic<node*>* prev = nullptr;
    node* curr = nullptr;
    node* next = nullptr;
  };

  // Michael's Find. Returns true if an unmarked node matching the probe is
  // in the list (pos.curr); false with pos at the end of the probe's run.
  // Linearization point: the acquire load of curr->next that saw it
  // unmarked (found), or of prev's link at the last validation (not found).
  // Unlinks (and retires) every marked node it meets on the way. Lock-free.
  template <class Probe, class Policy>
  static bool find(std::atomic<node*>& head, const Probe& probe, const Policy& pol, hazards& hp, position& pos) {
  restart:
    std::atomic<node*>* prev = &head;
    // The head is never marked: protect() validates curr against the head
    // word exactly (the protect-then-re-read of hazard_pointer.hpp).
    node* curr = hp.curr().protect(head);
    for (;;) {
      if (curr == nullptr) {
        pos = {prev, nullptr, nullptr};
        return false;
      }
      // Acquire: pairs with the release CAS that linked curr's successor
      // (or marked/replaced curr), so the successor's fields are visible.
      node* raw_next = curr->next.load(std::memory_order_acquire);
      node* next = unmarked(raw_next);
      // Validate curr against prev's link: still the unmarked curr, so curr
      // was reachable (and, if raw_next is unmarked, present) when raw_next
      // was read: the linearization point of the decision below. Acquire:
      // orders this re-load after the load of raw_next.
      if (prev->load(std::memory_order_acquire) != curr) goto restart;
      if (!is_marked(raw_next)) {
        const int c = pol.order(curr->tag, curr->value, probe);
        // Stopping here needs no hazard on next: callers use pos.next only
        // as a CAS operand (a value compared, never dereferenced).
        if (c > 0) {
          pos = {prev, curr, next};
          return false;
        }
        if (c == 0 && pol.same(curr->value, probe)) {
          pos = {prev, curr, next};
          return true;
        }
        // Stepping to next: protect it, validated against curr's next field
        // (the whole word): equal means curr is still unmarked, hence still
        // reachable (nodes are unlinked only after being marked), and next
        // still its successor, hence reachable after the hazard was
        // published. Changed: curr was marked or got a new successor; look
        // at curr again (it is still protected; prev is re-validated).
        hp.ensure_all();
        if (!protect_from(hp.next(), next, curr->next, raw_next)) continue;
        // curr sorts before the probe (or is another key of its run): step.
        prev = &curr->next;
        hp.prev().swap(hp.curr());  // hp.prev now protects prev's node (old curr)
      } else {
        // curr is logically deleted; its next field is frozen, so next stays
        // its successor and the re-read cannot fail. Protect next before
        // unlinking (the walk continues there): if the unlink CAS below
        // succeeds, curr was still reachable after the hazard was
        // published, and so was next (only a CAS on curr's frozen field
        // could unlink it).
        hp.ensure_all();
        (void)protect_from(hp.next(), next, curr->next, raw_next);
        // Unlink curr from prev. Release: a thread that acquires prev's link
        // and sees next must see next's fields; this thread acquired them
        // above (curr->next load). Failure: some other thread changed prev's
        // link; restart (prev may be gone).
        node* expected = curr;
        if (!prev->compare_exchange_strong(expected, next, std::memory_order_release, std::memory_order_relaxed))
          goto restart;
        // This thread's CAS unlinked curr: it alone retires it. Still
        // protected by hp.curr; freed once no hazard names it.
        curr->retire(node_deleter<node>{});
      }
      curr = next;
      hp.curr().swap(hp.next());  // hp.curr now protects the new curr
    }
  }

  // Links n (unpublished, owned by the caller) unless a matching key is
  // present. Returns true if linked (the list owns n), false if present
  // (the caller still owns n).
  template <class Probe, class Policy>
  static bool insert(std::atomic<node*>& head, const Probe& probe, const Policy& pol, node* n) {
    hazards hp;
    position pos;
    for (;;) {
      if (find(head, probe, pol, hp, pos)) return false;
      // Not yet published: relaxed; the release CAS below publishes it.
      n->next.store(pos.curr, std::memory_order_relaxed);
      node* expected = pos.curr;
      // Release: publishes n's fields to every thread that acquires this
      // link (find's loads). Linearization point of a successful insert.
      // Failure (relaxed): prev was marked or its successor changed; find again.
      if (pos.prev->compare_exchange_strong(expected, n, std::memory_order_release, std::memory_order_relaxed))
        return true;
    }
  }

  // insert() for a node not built yet: looks first and calls make() (which
  // returns a new_node) only when the key is absent, so inserting a present
  // key allocates nothing. make() may throw: nothing is published then.
  // After make(), the probe comes from the node (pol.probe_of), because
  // make() may have moved the caller's key into it.
  template <class Probe, class Policy, class Make>
  static bool insert_lazy(std::atomic<node*>& head, const Probe& probe, const Policy& pol, Make&& make) {
    hazards hp;
    position pos;
    node_holder<node> h;
    for (;;) {
      const bool found = h.n == nullptr ? find(head, probe, pol, hp, pos) : find(head, pol.probe_of(*h.n), pol, hp, pos);
      if (found) return false;
      if (h.n == nullptr) h.n = make();
      h.n->next.store(pos.curr, std::memory_order_relaxed);  // unpublished
      node* expected = pos.curr;
      // Release: publishes the node (as in insert).
      if (pos.prev->compare_exchange_strong(expected, h.n, std::memory_order_release, std::memory_order_relaxed)) {
        (void)h.release();
        return true;
      }
    }
  }

  // Marks the matching node deleted and unlinks it. Returns true if this
  // call deleted it.
  template <class Probe, class Policy>
  static bool erase(std::atomic<node*>& head, const Probe& probe, const Policy& pol) {
    hazards hp;
    position pos;
    for (;;) {
      if (!find(head, probe, pol, hp, pos)) return false;
      node* expected = pos.next;
      // Logical deletion (linearization point): set the mark in curr's own
      // next field. Relaxed: the mark publishes no data (a relaxed RMW
      // continues the release sequence of the CAS that stored next, so
      // readers that see the marked word still see next's fields).
      if (!pos.curr->next.compare_exchange_strong(expected, marked(pos.next), std::memory_order_relaxed,
                                                  std::memory_order_relaxed))
        continue;  // curr's successor changed or someone else marked it: find again
      unlink_or_help(head, probe, pol, hp, pos, pos.next);
      return true;
    }
  }

  // Replaces the matching node by h's node (same key) or links it if
  // absent. Returns true if inserted, false if it replaced a node; either
  // way the list owns the node on return (h is released). If Policy throws,
  // h still owns it. The replaced node's next field is marked with the new
  // node as its successor in one CAS: readers see the old node until that
  // CAS, the new one after it, never neither.
  template <class Probe, class Policy>
  static bool insert_or_replace(std::atomic<node*>& head, const Probe& probe, const Policy& pol, node_holder<node>& h) {
    hazards hp;
    hazard_pointer keep;  // protects n once published (see below)
    position pos;
    node* n = h.n;
    for (;;) {
      if (!find(head, probe, pol, hp, pos)) {
        n->next.store(pos.curr, std::memory_order_relaxed);  // unpublished
        node* expected = pos.curr;
        // Release: publishes n (as in insert).
        if (pos.prev->compare_exchange_strong(expected, n, std::memory_order_release, std::memory_order_relaxed)) {
          (void)h.release();
          return true;
        }
        continue;
      }
      n->next.store(pos.next, std::memory_order_relaxed);  // unpublished
      // The probe may point into n (the map's key was moved into it), and
      // unlink_or_help's fallback find rotates all three hazards: keep n
      // protected from before it is published (no validation needed: an
      // unpublished node cannot have been retired) until we are done.
      if (keep.empty()) keep = make_hazard_pointer();
      keep.reset_protection(n);
      node* expected = pos.next;
      // Release: publishes n through curr's (now marked) next field to
      // traversals that acquire it. Linearization point of the replace.
      // (pos.next need not be protected here: if the CAS succeeds, the word
      // it compared is curr's current successor, so n->next is right.)
      if (pos.curr->next.compare_exchange_strong(expected, marked(n), std::memory_order_release,
                                                 std::memory_order_relaxed)) {
        (void)h.release();
        unlink_or_help(head, probe, pol, hp, pos, n);
        return false;
      }
    }
  }

  // After this thread marked pos.curr: unlink it (prev: curr -> succ) and
  // retire it, or, if prev's link changed, let a traversal do it (Michael:
  // "else Find(key)"; the traversal that unlinks it retires it).
  template <class Probe, class Policy>
  static void unlink_or_help(std::atomic<node*>& head, const Probe& probe, const Policy& pol, hazards& hp,
                             position& pos, node* succ) {
    node* expected = pos.curr;
    // Release: as in find's unlink (succ's fields were acquired by this
    // thread, or built by it).
    if (pos.prev->compare_exchange_strong(expected, succ, std::memory_order_release, std::memory_order_relaxed)) {
      pos.curr->retire(node_deleter<node>{});
    } else {
      position p2;
      (void)find(head, probe, pol, hp, p2);  // unlinks every marked node up to the probe's run
    }
  }

  // Calls f(value) for every node that find would treat as present, in list
  // order; f may return bool (false stops the walk). A fourth hazard pointer
  // keeps the last visited node alive, so after a restart the walk skips
  // what it already visited: nodes with pol.resume_cmp(node, last) < 0,
  // and, within last's run of equal tags (== 0), every node up to and
  // including last itself (found by address, which the hazard keeps
  // unique). Without concurrent writers every node is visited once; with
  // them, every key present for the whole walk is visited once, except that
  // if last's node is erased during a restart the rest of its run (keys
  // with the same order tag, i.e. equal hashes in the hash map; never in
  // the ordered set, whose runs are one node) is skipped.
  template <class Policy, class F>
  static void for_each(std::atomic<node*>& head, const Policy& pol, F&& f) {
    hazards hp;
    hp.ensure_all();
    hazard_pointer hp_last = make_hazard_pointer();
    node* last = nullptr;  // protected by hp_last once set
  restart:
    std::atomic<node*>* prev = &head;
    node* curr = hp.curr().protect(head);
    bool passed_last = last == nullptr;
    for (;;) {
      if (curr == nullptr) return;
      node* raw_next = curr->next.load(std::memory_order_acquire);  // as in find
      node* next = unmarked(raw_next);
      while (!protect_from(hp.next(), next, curr->next, raw_next)) {
        raw_next = curr->next.load(std::memory_order_acquire);
        next = unmarked(raw_next);
      }
      if (prev->load(std::memory_order_acquire) != curr) goto restart;  // as in find
      if (!is_marked(raw_next)) {
        bool fresh = true;
        if (!passed_last) {
          const int c = pol.resume_cmp(curr->tag, curr->value, last->tag, last->value);
          if (c < 0) {
            fresh = false;
          } else if (c == 0) {
            fresh = false;
            if (curr == last) passed_last = true;
          } else {
            passed_last = true;
          }
        }
        if (fresh) {
          // curr is protected by hp.curr: publishing it in hp_last needs no
          // validation (the protection is handed over, never lapses).
          hp_last.reset_protection(curr);
          last = curr;
        }
        if (fresh && node_has_value(curr->tag)) {  // sentinels are not visited
          if constexpr (std::is_same_v<std::invoke_result_t<F&, const typename Policy::value_type&>, bool>) {
            if (!f(static_cast<const typename Policy::value_type&>(curr->value))) return;
          } else {
            f(static_cast<const typename Policy::value_type&>(curr->value));
          }
        }
        prev = &curr->next;
        hp.prev().swap(hp.curr());
      } else {
        node* expected = curr;
        // Release / retire: as in find.
        if (!prev->compare_exchange_strong(expected, next, std::memory_order_release, std::memory_order_relaxed))
          goto restart;
        curr->retire(node_deleter<node>{});
      }
      curr = next;
      hp.curr().swap(hp.next());
    }
  }

  // Frees every node still linked (marked or not). Only with no other user.
  // The caller's contract (no concurrent user) is what orders these
  // accesses after every other thread's last operation (a join or similar);
  // the acquire on the head is belt and braces, the rest is relaxed.
  static void destroy_all(std::atomic<node*>& head) noexcept {
    node* n = unmarked(head.load(std::memory_order_acquire));
    head.store(nullptr, std::memory_order_relaxed);
    while (n != nullptr) {
      node* nx = unmarked(n->next.load(std::memory_order_relaxed));
      node_deleter<node>{}(n);
      n = nx;
    }
  }
};


// Policy of the ordered set: the key is its own order; runs are one node.
template <class Key, class Compare>
struct ordered_policy {
  using value_type = Key;
  using tag_type = no_tag;
  [[no_unique_address]] Compare less;
  int order(no_tag, const Key& node_key, const Key& probe) const {
    if (std::invoke(less, node_key, probe)) return -1;
    if (std::invoke(less, probe, node_key)) return 1;
    return 0;
  }
  bool same(const Key&, const Key&) const noexcept { return true; }  // order == 0: equivalent
  // for_each's resume order: after `last` only if strictly greater (an
  // equivalent key re-inserted during the walk counts as visited).
  template <class Node>
  const Key& probe_of(const Node& n) const noexcept {
    return n.value;
  }
  int resume_cmp(no_tag, const Key& node_key, no_tag, const Key& last) const {
    return std::invoke(less, last, node_key) ? 1 : -1;
  }
};

}  // namespace detail::lockfree

}  // namespace quiesce

#endif  // QUIESCE_LOCKFREE_DETAIL_HM_LIST_HPP
