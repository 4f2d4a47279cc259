// quiesce/lockfree/ms_queue.hpp — the Michael-Scott lock-free FIFO queue,
// with nodes reclaimed through quiesce's hazard pointers.
//
// What it is
//   quiesce::lockfree::ms_queue<T>: an unbounded multi-producer, multi-consumer FIFO
//   queue of any movable T (M. M. Michael and M. L. Scott, "Simple, Fast, and
//   Practical Non-Blocking and Blocking Concurrent Queue Algorithms", PODC
//   1996), made safe for memory reuse with hazard pointers instead of the
//   paper's tagged pointers and type-stable free list (M. M. Michael, "Hazard
//   Pointers: Safe Memory Reclamation for Lock-Free Objects", IEEE TPDS
//   15(6), 2004, which applies them to this queue: two hazard pointers per
//   dequeue, one per enqueue).
//
// When to use it
//   Several producers and consumers, unbounded, any T (non-trivial, move-only)
//   and FIFO order. When not: one producer and one consumer (an SPSC ring is
//   several times faster); bounded queues with preallocated slots (a ring
//   such as quiesce's Disruptor avoids the per-element allocation and the
//   reclamation); order does not matter and only one end is hot
//   (quiesce::lockfree::treiber_stack does half the CASes).
//
// Example
//   quiesce::lockfree::ms_queue<std::unique_ptr<job>> q;
//   q.push(std::make_unique<job>());              // any thread
//   if (auto j = q.pop()) (*j)->run();            // any thread; nullopt if empty
//
// Structure and where the value lives
//   A singly linked list that always starts with a dummy (sentinel) node:
//   head_ points to the dummy, the elements are the nodes after it, tail_
//   points to the last node or, for a moment after an enqueue, the one
//   before it (the tail lags; any thread that sees it lagging swings it
//   forward first, as in the paper). Every node carries manual storage for
//   one T (a union member, no flag):
//     * the producer constructs the value in the node before linking it
//       (the release CAS on the old last node's next publishes it);
//     * a consumer swings head_ from the dummy to its successor; the
//       successor becomes the new dummy and the consumer that won that CAS,
//       and only it, moves the value out and destroys it in place (so a
//       dummy never holds a value);
//     * the old dummy is retired; it is freed once no hazard pointer names
//       it (at once, without a retire, when the popping thread holds the
//       domain's only hazard records: then no other thread can name it; see
//       detail::hp::op_hazards::sole_holder). A node is thus retired only
//       after it stopped being the dummy, and its storage holds no value by
//       then: the node's destructor need not know whether a value is
//       present.
//   Between the winning CAS and the move, the new dummy stays protected by
//   the consumer's second hazard pointer: another consumer may already have
//   dequeued past it and retired it, but it cannot be freed before the
//   value is out.
//
// Guarantees
//   push/emplace/pop are lock-free and linearizable (push at its successful
//   CAS on the last node's next; pop at its successful CAS on head_, or,
//   returning nullopt, at its read of a null next while the dummy was the
//   head). FIFO: elements pushed by one thread are popped in push order; two
//   pushes ordered by happens-before are popped in that order. Memory: one
//   node per element plus the dummy (32-byte hazard-pointer header, the
//   link, storage for T), allocated on the pushing thread's NUMA node
//   (lockfree/detail/node_alloc.hpp); a freed node goes back to its pool,
//   or stays with the freeing thread as its spare (at most one per thread,
//   of any structure; handed back at the thread's exit) for the thread's
//   next push. The destructor destroys the remaining elements and frees
//   every node still linked.
//
// Costs (in instructions; the measured figures against every peer are
// perf/lockfree_stack_queue_bench's, in structures/hazard_pointers/README.md's "Lock-free stack and
// queue" and the main job's out/lockfree_stack_queue_ratios.md)
//   push: the thread's spare node when its last free kept one of this
//   node type's pool and NUMA node (a one-thread pop then push: one
//   thread-local load and one store; detail/node_alloc.hpp's keep_spare),
//   else a node from the thread's node-pool cache (an inline load finds
//   the pool; no lock, no atomic RMW in the common case), the thread's
//   operation record (a thread-local flag set and cleared; see
//   detail::hp::op_hazards), one protect (a store and a compiler barrier
//   before the validating load; a full fence instead under the fence
//   fallback), two CASes (link, tail swing).
//   pop: two operation records (one flag), two protects, one CAS on head_, T's move, a
//   retire (into the thread's batch: one CAS per 32 on the domain's
//   per-node retired list, plus the amortised scan), or, when the thread
//   holds the domain's only hazard records, the old dummy back to the pool
//   at once (two thread-local loads and one of the domain's record count;
//   detail::hp::op_hazards::sole_holder). It reads tail_ (the
//   line every push writes) only when the element it takes is the last
//   one; with more elements queued it reads the element's successor link
//   instead (see pop). The three CASes are most of a push + pop.
//   On a domain of its own (the constructor's argument): the same
//   operation records, from the thread's set for that domain (one each for
//   the first thread_cache::other_op_sets other domains it operates on;
//   see detail::hp::op_hazards), and each retire is one CAS on the
//   domain's list (no batch).
//
// Exceptions
//   push/emplace: if allocation or T's constructor throws, the queue is
//   unchanged (strong guarantee). pop: if T's move constructor throws, the
//   element is destroyed in its node and the exception propagates (the queue
//   stays consistent and loses that element; basic guarantee). The
//   constructor allocates the dummy (may throw std::bad_alloc);
//   push, pop and empty may throw std::bad_alloc when no hazard record can
//   be had (the thread's first operation, or one nested in another:
//   detail::hp::op_hazards), in which case nothing changed.
//
// Thread safety
//   Every member but the constructors and destructor may be called from any
//   number of threads at once. The destructor must not overlap any other
//   call; the domain passed to the constructor must outlive the queue.
#ifndef QUIESCE_LOCKFREE_MS_QUEUE_HPP
#define QUIESCE_LOCKFREE_MS_QUEUE_HPP

#include <atomic>
#include <cstddef>
#include <new>
#include <optional>
#include <type_traits>
#include <utility>

#include <quiesce/hazard_pointer.hpp>
#include <quiesce/lockfree/detail/domain_choice.hpp>
#include <quiesce/lockfree/detail/node_alloc.hpp>
#include <quiesce/lockfree/detail/poison.hpp>
#include <quiesce/base/config.hpp>

namespace quiesce {

namespace lockfree {

template <class T>
class ms_queue {
  static_assert(detail::lockfree::element_type_ok<T>);  // or a message naming what T lacks

 public:
  using value_type = T;

  // An empty queue (one dummy node) whose nodes retire to the default
  // hazard-pointer domain. Throws std::bad_alloc if the dummy cannot be had.
  ms_queue() : ms_queue(nullptr) {}
  // The same with hazard pointers and retired nodes in `dom` (which must
  // outlive the queue).
  explicit ms_queue(hazard_pointer_domain& dom) : ms_queue(&dom) {}
  ms_queue(const ms_queue&) = delete;
  ms_queue& operator=(const ms_queue&) = delete;

  // Destroys the remaining elements and frees every linked node (the dummy
  // included). Retired nodes are the domain's. Precondition: no other call
  // overlaps.
  ~ms_queue() {
    // Relaxed: the caller's join orders every earlier operation before us.
    node* dummy = head_.load(std::memory_order_relaxed);
    node* first = dummy->next.load(std::memory_order_relaxed);
    detail::lockfree::node_deleter<node>{}(dummy);  // holds no value
    // One pass: each element's value, then its node (next is read before).
    detail::lockfree::delete_chain(first, [](node* n) noexcept {
      n->destroy_value();
      return n->next.load(std::memory_order_relaxed);
    });
  }

  // Appends a copy / the moved value. Lock-free; any thread. Strong
  // exception guarantee.
  void push(const T& v) { emplace(v); }
  void push(T&& v) { emplace(std::move(v)); }

  // Appends a T built in a new node from args. Lock-free; any thread.
  // Strong exception guarantee. Linearizes at the CAS that links the node.
  template <class... Args>
  void emplace(Args&&... args) {
    static_assert(std::is_constructible_v<T, Args&&...>, "ms_queue<T>::emplace: T is not constructible from these arguments");
    auto hz = dom_.hazards<1>();  // first: if it throws, nothing was built
    node* n = detail::lockfree::new_node<node>(std::in_place, std::forward<Args>(args)...);
    for (;;) {
      // Protects the last node: tail_ read with acquire after the hazard is
      // published (pairs with the release CASes on tail_ below and in pop,
      // so t's construction is visible). A validated t is not retired: a
      // node is retired only after head_ passed it, and head_ never passes
      // tail_ (pop swings a lagging tail first).
      node* t = hz.protect(0, tail_);
      // Acquire: pairs with the release CAS that linked `next` (its
      // construction is visible before we swing tail_ to it).
      node* next = t->next.load(std::memory_order_acquire);
      if (next != nullptr) {
        // The tail lags: help. Release: pairs with the acquire in protect
        // of the enqueuers that will read tail_ == next. Relaxed on failure:
        // someone else swung it.
        tail_.compare_exchange_strong(t, next, std::memory_order_release, std::memory_order_relaxed);
        continue;
      }
      node* expected = nullptr;
      // Release on success: n's value and next happen-before the consumer
      // that reads n through t->next (acquire in pop's protect) and the
      // helpers that read it above. Relaxed on failure: retry from tail_.
      // t is protected, so it is the node we validated; if it has been
      // dequeued meanwhile its next is non-null and the CAS fails.
      if (t->next.compare_exchange_strong(expected, n, std::memory_order_release, std::memory_order_relaxed)) {
        // Swing the tail to n; failure means a helper already did (or went
        // further). Release: as the help above.
        tail_.compare_exchange_strong(t, n, std::memory_order_release, std::memory_order_relaxed);
        return;
      }
    }
  }

  // Removes the oldest element and returns it, or nullopt when the queue is
  // empty. Lock-free; any thread. Linearizes at the successful CAS on head_,
  // or for nullopt at the read of the dummy's null next.
  [[nodiscard]] std::optional<T> pop() {
    auto hz = dom_.hazards<2>();  // 0: the head (dummy), 1: its successor
    node* h;
    node* next;
    for (;;) {
      // Acquire load inside protect (pairs with the release CAS on head_
      // below): h is validated as the head, so not retired. h is never null.
      h = hz.protect(0, head_);
      // Protect h's successor. protect() reads h->next with acquire (pairs
      // with the release CAS that linked it: its value is visible) after
      // publishing the hazard and fencing.
      next = hz.protect(1, h->next);
      // Validate that h is still the head, after the hazard on next is
      // published (ordered by the fence inside protect): then next is still
      // linked, so not retired, and the hazard keeps it from being freed.
      // Acquire: as in protect.
      if (head_.load(std::memory_order_acquire) != h) continue;
      if (next == nullptr) return std::nullopt;  // h was the head with no successor: empty
      // Is tail_ beyond h? tail_ is the last node or its predecessor (an
      // enqueuer links only after its tail_ read found a null next, and
      // helps a lagging tail first), and it only moves forward. So if next
      // has a successor, next is not the last node, tail_ is at or beyond
      // next, and the read of tail_ (a line the producers write on every
      // push) can be skipped: the common case when the queue holds more
      // than one element. Acquire: pairs with the release CAS that linked
      // next's successor, whose author had read tail_ == next (acquire,
      // validated) before it: that tail_ value happens-before our CAS and
      // retire of h, as the tail_ read below would establish.
      if (next->next.load(std::memory_order_acquire) == nullptr) {
        // Relaxed is enough: the acquire that read head_ == h synchronized
        // with the release CAS that installed h, which its author issued
        // after reading a tail_ at or beyond h; coherence forbids an older
        // value here.
        node* t = tail_.load(std::memory_order_relaxed);
        if (h == t) {
          // The tail lags behind the element we want: swing it first, so
          // that head_ never passes tail_ (else the old dummy, retired
          // below, could still be the tail an enqueuer validates). Release:
          // as in emplace.
          tail_.compare_exchange_strong(t, next, std::memory_order_release, std::memory_order_relaxed);
          continue;
        }
      }
      // On success, release carries "tail_ is beyond h" to the next pop
      // that reads next from head_ (see the tail load above), and seq_cst
      // orders the CAS before finish_pop's sole_holder() load (see
      // op_hazards::sole_holder; on x86 the same instruction). Relaxed on
      // failure: start over.
      if (head_.compare_exchange_strong(h, next, std::memory_order_seq_cst, std::memory_order_relaxed)) break;
    }
    // next is the new dummy; its value is ours alone. Move it out, then
    // destroy it in place and free or retire h (also if T's move throws);
    // the protections (hz, declared first) are cleared last.
    finish_pop done{h, next, dom_, hz};
    return std::optional<T>(std::in_place, std::move(next->value));
  }

  // True if the queue was empty at some moment during the call: a snapshot.
  // Lock-free; any thread. Needs a hazard pointer (it reads the dummy's
  // next), so it may throw std::bad_alloc the first time a thread needs one.
  [[nodiscard]] bool empty() const {
    auto hz = dom_.hazards<1>();
    // Acquire inside protect: h is the validated head, not freed while hz
    // names it. If h->next is null now, h is still the head (head_ only
    // moves to a non-null next) and the queue is empty at this load.
    node* h = hz.protect(0, head_);
    // Relaxed: only compared with null.
    return h->next.load(std::memory_order_relaxed) == nullptr;
  }

  // The domain the queue's nodes retire to.
  [[nodiscard]] hazard_pointer_domain& domain() const noexcept {
    return dom_.get();
  }

 private:
  // Nodes come from pools of their own (detail/node_alloc.hpp): the
  // queue's bursts and other structures' do not scatter each other's.
  struct node : detail::lockfree::pool_node<node, detail::lockfree::ms_queue_pool> {
    using pool_base = detail::lockfree::pool_node<node, detail::lockfree::ms_queue_pool>;

    explicit node(detail::lockfree::at_home h) noexcept : pool_base(h) {}  // the dummy: storage without a value
    template <class... Args>
    node(detail::lockfree::at_home h, std::in_place_t, Args&&... args)
        : pool_base(h), value(std::forward<Args>(args)...) {}
    node(const node&) = delete;
    node& operator=(const node&) = delete;
    // The storage holds no value by now (see "where the value lives").
    ~node() {
      // ASan builds: a read of this node after its deleter is a report.
      detail::lockfree::poison(&next, sizeof(node) - static_cast<std::size_t>(
                                                         reinterpret_cast<const char*>(&next) -
                                                         reinterpret_cast<const char*>(this)));
    }
    // Ends the value's life; its storage is poisoned in ASan builds.
    void destroy_value() noexcept {
      value.~T();
      detail::lockfree::poison(&value, sizeof(T));
    }

    // Unpoisons recycled memory before the fields below are built.
    [[no_unique_address]] detail::lockfree::unpoison_on_construct unpoison_{this, sizeof(node)};
    // Null until the node's successor is linked (release CAS in emplace),
    // then immutable.
    std::atomic<node*> next{nullptr};
    union {
      T value;  // alive from the producer's construction until the winning consumer destroys it
    };
  };

  // Runs when pop() returns or throws: destroys the value left in the new
  // dummy, then frees the old one at once if no other thread holds a record
  // of the domain (then none can protect it: op_hazards::sole_holder), and
  // retires it otherwise.
  struct finish_pop {
    node* old_dummy;
    node* new_dummy;
    detail::lockfree::domain_choice dom;
    const detail::hp::op_hazards<2>& hz;
    finish_pop(node* o, node* n, detail::lockfree::domain_choice d, const detail::hp::op_hazards<2>& z) noexcept
        : old_dummy(o), new_dummy(n), dom(d), hz(z) {}
    finish_pop(const finish_pop&) = delete;
    finish_pop& operator=(const finish_pop&) = delete;
    ~finish_pop() {
      new_dummy->destroy_value();
      dom.free_or_retire(old_dummy, hz);
    }
  };

  explicit ms_queue(hazard_pointer_domain* dom) : dom_(dom) {
    node* dummy = detail::lockfree::new_node<node>();
    // Relaxed: the queue is not shared yet; publishing it to other threads
    // (a thread start, a mutex, a release store) orders these stores.
    head_.store(dummy, std::memory_order_relaxed);
    tail_.store(dummy, std::memory_order_relaxed);
  }

  // Consumers CAS head_, producers tail_: each alone on its own 128-byte
  // block (two lines: x86's adjacent-line prefetcher pairs them), so that a
  // producer and a consumer do not bounce one line between them.
  alignas(detail::base::cache_block) std::atomic<node*> head_{nullptr};
  const detail::lockfree::domain_choice dom_;  // read-only, shares head_'s block
  alignas(detail::base::cache_block) std::atomic<node*> tail_{nullptr};
};

}  // namespace lockfree

// The names before the structures moved into namespace quiesce::lockfree
// (the namespace follows the folder, as boost::lockfree's do); kept so that
// code written against them builds unchanged.
template <class T>
using ms_queue = lockfree::ms_queue<T>;

}  // namespace quiesce

#endif  // QUIESCE_LOCKFREE_MS_QUEUE_HPP
