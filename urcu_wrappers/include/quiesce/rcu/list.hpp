// quiesce/rcu/list.hpp — a typed RCU list: lock-free readers, writers
// serialised by a mutex, removed elements freed after a grace period.
//
// What it is
//   rcu_list<T, Domain>: a doubly linked list laid out as liburcu's
//   struct cds_list_head (<urcu/list.h>), updated with the algorithm of
//   liburcu's <urcu/rculist.h>. Readers traverse it under a read guard of
//   Domain without locks or shared writes; writers take an internal
//   std::mutex. Elements are immutable once published; a removed element is
//   retired to Domain, so a reader standing on it, or holding a pointer to it,
//   stays safe until its guard ends.
//
// When to use it
//   Small to medium read-mostly collections that readers scan or search:
//   listeners, plugins, filter chains, configuration entries. Not for keyed
//   lookup in large sets (O(n) scans: use rcu_hash_map), not where writers
//   contend (one mutex), and not where elements must change in place.
//
// Example
//   quiesce::rcu_list<listener> ls;
//   ls.push_back(listener{fd});                           // writer, any thread
//   {                                                     // reader, any thread
//     quiesce::rcu_read_guard g;
//     for (const listener& l : ls.range(g)) notify(l);     // valid while g lives
//     const listener* l = ls.find_if(g, [&](const listener& x) { return x.fd == fd; });
//   }
//   ls.erase_if([&](const listener& x) { return x.fd == fd; });  // retired
//
// Costs (operation counts; no benchmark in perf/ measures this header yet)
//   traversal: one acquire load per element (a plain load on x86), dependent
//     on the previous one, plus the guard (see rcu_domain.hpp).
//   push_front / push_back: one allocation, then a mutex and four pointer
//     stores, one of them a release store.
//   erase_if / clear: the mutex, an O(n) walk, one retire per removed element
//     (after the mutex is released).
//   Memory: per element sizeof(T) + 32 bytes (cds_list_head and rcu_head) +
//     the allocator's header.
//
// Compared with the alternatives
//   std::list or std::vector under std::shared_mutex: every reader writes the
//   lock's cache line and waits behind writers. rcu_ptr<std::vector<T>> with
//   copy-on-write: contiguous and faster to scan, but each update copies all
//   elements. liburcu's cds_list_*_rcu used directly: same algorithm, but
//   macros, manual reclamation, and plain volatile accesses that
//   ThreadSanitizer reports as races; this class uses std::atomic_ref instead.
//
// Concurrency table (which pairs of calls the caller must keep apart)
//   find_if / range / empty  vs  any other call except the destructor: allowed
//   push_* / erase_if / clear / size  vs  each other: allowed (serialised by the mutex)
//   destructor  vs  any other call:                    forbidden
//
// Threads and domains: readers need a guard of Domain (memb and mb threads
// are registered on first use, bp by liburcu; a QSBR thread must be
// registered and online). Writers need no guard; erase_if, clear and the
// destructor retire to Domain, which for QSBR needs a registered thread.
#ifndef QUIESCE_RCU_LIST_HPP
#define QUIESCE_RCU_LIST_HPP

#include <atomic>
#include <cstddef>
#include <functional>
#include <iterator>
#include <mutex>
#include <ranges>
#include <type_traits>
#include <utility>

#include <urcu/list.h>

#include <quiesce/rcu/detail/config.hpp>
#include <quiesce/rcu/rcu_domain.hpp>
#include <quiesce/rcu/rcu_ptr.hpp>

namespace quiesce {

namespace detail::rcu {

// One element. Both liburcu structures are base classes, so a cds_list_head*
// met while traversing, and the retire_hook* run_reclaim hands back, turn into
// the element with a plain static_cast.
template <class T>
struct list_node final : cds_list_head, retire_hook {
  template <class... A>
  explicit list_node(A&&... a) : cds_list_head{}, retire_hook{}, value(std::forward<A>(a)...) {}

  T value;

  // Runs on the domain's call_rcu worker, a grace period after the element
  // was unlinked (see basic_rcu_domain::enqueue).
  static void reclaim(retire_hook* h) noexcept { delete static_cast<list_node*>(h); }
};

static_assert(std::atomic_ref<cds_list_head*>::required_alignment <= alignof(cds_list_head*),
              "rcu_list needs std::atomic_ref access to cds_list_head::next at its natural alignment");
static_assert(std::atomic_ref<cds_list_head*>::is_always_lock_free,
              "rcu_list needs lock-free atomic access to cds_list_head::next");

// A reader's step to the next element: rcu_dereference. Acquire pairs with the
// release in list_publish_next, so the element reached was fully built and
// linked before this thread sees it. `h` is never const: every cds_list_head
// in an rcu_list is a heap node or the list's `mutable` sentinel.
inline cds_list_head* list_load_next(cds_list_head* h) noexcept {
  return std::atomic_ref<cds_list_head*>(h->next).load(std::memory_order_acquire);
}

// A writer's store to a `next` pointer that readers may follow:
// rcu_assign_pointer. Release pairs with the acquire in list_load_next.
inline void list_publish_next(cds_list_head* h, cds_list_head* next) noexcept {
  std::atomic_ref<cds_list_head*>(h->next).store(next, std::memory_order_release);
}

template <class T>
class list_iterator {
  using node_type = list_node<T>;

 public:
  using iterator_concept = std::forward_iterator_tag;
  using iterator_category = std::forward_iterator_tag;
  using value_type = T;
  using reference = const T&;
  using pointer = const T*;
  using difference_type = std::ptrdiff_t;

  list_iterator() noexcept = default;
  // Internal: rcu_list makes these.
  explicit list_iterator(cds_list_head* p) noexcept : p_(p) {}

  // The element. Wait-free.
  const T& operator*() const noexcept { return static_cast<const node_type*>(p_)->value; }
  const T* operator->() const noexcept { return &static_cast<const node_type*>(p_)->value; }
  // One acquire load (list_load_next). Wait-free.
  list_iterator& operator++() noexcept {
    p_ = list_load_next(p_);
    return *this;
  }
  list_iterator operator++(int) noexcept {
    list_iterator old = *this;
    ++*this;
    return old;
  }
  friend bool operator==(const list_iterator& a, const list_iterator& b) noexcept { return a.p_ == b.p_; }

 private:
  cds_list_head* p_ = nullptr;
};

template <class T>
class list_range {
 public:
  // Internal: rcu_list::range makes these.
  explicit list_range(cds_list_head* head) noexcept : head_(head) {}
  // Loads the first element (acquire). Wait-free.
  [[nodiscard]] list_iterator<T> begin() const noexcept { return list_iterator<T>(list_load_next(head_)); }
  [[nodiscard]] list_iterator<T> end() const noexcept { return list_iterator<T>(head_); }

 private:
  cds_list_head* head_;
};

}  // namespace detail::rcu

template <class T, class Domain = rcu_domain>
class rcu_list {
  static_assert(rcu_domain_type<Domain>,
                "rcu_list<T, Domain>: Domain must be a quiesce RCU domain type "
                "(quiesce::rcu_domain, rcu_qsbr_domain, rcu_mb_domain or rcu_bp_domain)");
  static_assert(std::is_nothrow_destructible_v<T>,
                "rcu_list<T>: T's destructor runs on liburcu's call_rcu worker and must be noexcept");

  using F = typename Domain::flavor_type;
  using node_type = detail::rcu::list_node<T>;
  static constexpr bool is_qsbr = std::is_same_v<F, rcu_flavor::qsbr>;

 public:
  using value_type = T;
  using domain_type = Domain;

  // Forward iterator over the elements, front to back; yields const T&.
  // Obtained from range(guard); valid while that guard lives.
  using iterator = detail::rcu::list_iterator<T>;
  // What range(guard) returns: begin()/end() for a range-for or a std::ranges
  // algorithm (a borrowed range: iterators do not refer to it). Neither it nor
  // its iterators may outlive the guard it was made with.
  using range_type = detail::rcu::list_range<T>;

  // An empty list. Any thread; wait-free; no registration needed.
  rcu_list() noexcept { head_.next = head_.prev = &head_; }

  rcu_list(const rcu_list&) = delete;
  rcu_list& operator=(const rcu_list&) = delete;

  // Unlinks every element and retires each to Domain: pointers to elements
  // that readers obtained earlier stay valid until their guards end.
  // Contract: no other thread calls a member function any more. Fatal if the calling
  // thread is inside a read-side section of Domain (for QSBR: inside a guard,
  // in checks builds): a list destroyed while its destroyer may still be
  // traversing it is a use-after-free in waiting. Needs the retire context of
  // Domain (QSBR: a registered thread). Blocking (the mutex); O(n).
  ~rcu_list() {
    detail::rcu::require_outside_read_section<F>("rcu_list destroyed inside a read-side section of its domain",
                               "destroy the list after the rcu_read_guard ends; the section may still be "
                               "traversing it");
    clear();
  }

  // ---- readers: any thread, inside a read-side section of Domain ----

  // The first element, front to back, for which pred(const T&) is true, or
  // nullptr. The pointer is valid while `guard` lives (a concurrent erase_if
  // retires the element, it does not free it). Guard: rcu_read_guard<Domain>,
  // or std::scoped_lock / lock_guard / unique_lock of the domain. Never
  // blocks; one acquire load per element visited, so wait-free while writers
  // do not keep adding elements ahead of it. Sees every element present for
  // the whole scan; elements pushed or erased during it may or may not be
  // seen. Throws what pred throws.
  template <class Guard, class Pred>
  [[nodiscard]] const T* find_if([[maybe_unused]] const Guard& guard, Pred pred) const {
    static_assert(detail::rcu::is_read_guard_v<Guard, Domain>,
                  "rcu_list::find_if(guard, pred): pass a read-side guard of the list's domain "
                  "(quiesce::rcu_read_guard<Domain>, or std::scoped_lock/lock_guard/unique_lock of it)");
    static_assert(std::is_invocable_r_v<bool, Pred&, const T&>,
                  "rcu_list::find_if(guard, pred): pred must be callable as bool(const T&)");
    for (cds_list_head* p = detail::rcu::list_load_next(&head_); p != &head_; p = detail::rcu::list_load_next(p)) {
      const T& v = static_cast<const node_type*>(p)->value;
      if (std::invoke(pred, v)) return &v;
    }
    return nullptr;
  }

  // The elements, front to back, for a range-for: `for (const T& x : l.range(g))`.
  // Valid while `guard` lives; same guard types and the same visibility and
  // progress as find_if().
  template <class Guard>
  [[nodiscard]] range_type range([[maybe_unused]] const Guard& guard) const noexcept {
    static_assert(detail::rcu::is_read_guard_v<Guard, Domain>,
                  "rcu_list::range(guard): pass a read-side guard of the list's domain "
                  "(quiesce::rcu_read_guard<Domain>, or std::scoped_lock/lock_guard/unique_lock of it)");
    return range_type(&head_);
  }

  // True if no element is linked. Any thread, no guard needed (it follows no
  // pointer); wait-free; the answer may be stale on return.
  [[nodiscard]] bool empty() const noexcept {
    return std::atomic_ref<cds_list_head*>(head_.next).load(std::memory_order_relaxed) == &head_;
  }

  // ---- writers: any thread, no guard needed; serialised by the mutex ----

  // Adds `value` at the front. Blocking (the mutex). Ordering: the element is
  // built, and its links set, before the release store that publishes it
  // (pairs with the acquire load of readers' traversal). Throws std::bad_alloc
  // or what T's move constructor throws, before anything changes.
  void push_front(T value) {
    auto* n = new node_type(std::move(value));
    std::lock_guard lock(mutex_);
    cds_list_head* first = head_.next;
    n->next = first;
    n->prev = &head_;
    first->prev = n;                          // prev: writers only
    detail::rcu::list_publish_next(&head_, n);     // readers may now reach n
    ++size_;
  }

  // Adds `value` at the back. Blocking (the mutex). Ordering and exceptions
  // as for push_front().
  void push_back(T value) {
    auto* n = new node_type(std::move(value));
    std::lock_guard lock(mutex_);
    cds_list_head* last = head_.prev;
    n->next = &head_;
    n->prev = last;
    detail::rcu::list_publish_next(last, n);       // readers may now reach n
    head_.prev = n;
    ++size_;
  }

  // Unlinks every element for which pred(const T&) is true, retires each to
  // Domain (after releasing the mutex, so the retire backlog throttle may
  // wait), and returns how many. Readers standing on an unlinked element
  // continue along its intact `next`. Blocking (the mutex); O(n). If pred
  // throws, the elements unlinked so far are still retired, and the exception
  // propagates. Needs the retire context of Domain (QSBR: a registered thread).
  template <class Pred>
  std::size_t erase_if(Pred pred) {
    static_assert(std::is_invocable_r_v<bool, Pred&, const T&>,
                  "rcu_list::erase_if(pred): pred must be callable as bool(const T&)");
    retire_chain removed;  // destroyed after `lock`: retires outside the mutex
    std::lock_guard lock(mutex_);
    for (cds_list_head* p = head_.next; p != &head_;) {
      cds_list_head* next = p->next;
      auto* n = static_cast<node_type*>(p);
      if (std::invoke(pred, std::as_const(n->value))) {
        unlink(n);
        --size_;
        removed.add(n);
      }
      p = next;
    }
    return removed.count;
  }

  // Unlinks every element with one release store and retires each to Domain
  // (after releasing the mutex). Readers already traversing finish along the
  // old elements; readers starting later see an empty list. Blocking (the
  // mutex); O(n). Needs the retire context of Domain (QSBR: a registered thread).
  void clear() {
    cds_list_head* first = nullptr;
    {
      std::lock_guard lock(mutex_);
      first = head_.next;
      if (first == &head_) return;
      detail::rcu::list_publish_next(&head_, &head_);
      head_.prev = &head_;
      size_ = 0;
    }
    // The detached elements first -> ... -> &head_ belong to this thread
    // alone: no writer can reach them from head_ any more, so their links
    // stay as they are. Read each `next` before retiring its element.
    for (cds_list_head* p = first; p != &head_;) {
      cds_list_head* next = p->next;
      retire(static_cast<node_type*>(p));
      p = next;
    }
  }

  // The number of elements, as writers see it. Blocking (the mutex); O(1).
  [[nodiscard]] std::size_t size() const {
    std::lock_guard lock(mutex_);
    return size_;
  }

 private:
  // Elements unlinked by one erase_if, chained through their `prev` pointers
  // (no reader ever follows prev, and no writer reaches an unlinked element),
  // retired when the chain is destroyed.
  struct retire_chain {
    node_type* first = nullptr;
    std::size_t count = 0;
    retire_chain() = default;
    retire_chain(const retire_chain&) = delete;
    retire_chain& operator=(const retire_chain&) = delete;
    void add(node_type* n) noexcept {
      n->prev = first;
      first = n;
      ++count;
    }
    ~retire_chain() {
      while (first != nullptr) {
        node_type* n = first;
        first = static_cast<node_type*>(n->prev);  // read before n may be freed
        retire(n);
      }
    }
  };

  // liburcu's cds_list_del_rcu: the neighbours skip `n`; n->next is left as
  // it is for readers standing on n. Called with the mutex held.
  void unlink(node_type* n) noexcept {
    n->next->prev = n->prev;                       // prev: writers only
    detail::rcu::list_publish_next(n->prev, n->next);   // readers now skip n
  }

  // Hands an unlinked element to Domain: freed after a grace period, on the
  // call_rcu worker. enqueue's tsan_release pairs with run_reclaim's acquire.
  static void retire(node_type* n) noexcept {
    detail::rcu::require_retire_context<F>();
    Domain::instance().template enqueue<node_type>(&n->head);
  }

  // The sentinel. `mutable` because const readers load head_.next through
  // std::atomic_ref, which needs a non-const object; it is written only by the
  // non-const writer functions, under mutex_, so no const_cast is needed and a
  // const rcu_list is never modified.
  mutable cds_list_head head_;
  mutable std::mutex mutex_;
  std::size_t size_ = 0;  // guarded by mutex_
};

}  // namespace quiesce

// The iterators of a range do not point into it: algorithms may return them
// from a temporary range (they stay bound to the read guard, not the range).
template <class T>
inline constexpr bool std::ranges::enable_borrowed_range<quiesce::detail::rcu::list_range<T>> = true;

#endif  // QUIESCE_RCU_LIST_HPP
