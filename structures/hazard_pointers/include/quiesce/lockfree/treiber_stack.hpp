// quiesce/lockfree/treiber_stack.hpp — a lock-free LIFO stack (Treiber) whose
// nodes are reclaimed through quiesce's hazard pointers.
//
// What it is
//   quiesce::lockfree::treiber_stack<T>: an unbounded multi-producer, multi-consumer
//   stack of any movable T. A singly linked list whose head is swung by CAS
//   (R. K. Treiber, "Systems Programming: Coping with Parallelism", IBM
//   Almaden Research Center, RJ 5118, 1986); pop protects the head with a
//   hazard pointer before reading head->next, which makes it safe against
//   use-after-free and ABA without tags or double-width CAS (M. M. Michael,
//   "Hazard Pointers: Safe Memory Reclamation for Lock-Free Objects", IEEE
//   TPDS 15(6), 2004, which uses this stack as one of its examples).
//
// When to use it
//   Many threads push and pop, order between unrelated threads does not
//   matter, values are not trivially copyable or the stack must be unbounded.
//   When not: one producer and one consumer (an SPSC ring is several times
//   faster); FIFO needed (quiesce::lockfree::ms_queue); heavy contention from many cores
//   on one stack (every operation CASes the one head: it does not scale
//   beyond a few cores; shard it).
//
// Example
//   quiesce::lockfree::treiber_stack<std::string> s;
//   s.push("a");                        // any thread
//   s.emplace(3, 'b');                  // "bbb", built in the node
//   if (std::optional<std::string> v = s.pop()) use(*v);   // any thread
//
// Guarantees
//   push/emplace/pop are lock-free (a CAS fails only because another
//   operation succeeded) and linearizable (push at its successful CAS on the
//   head; pop at its successful CAS, or, returning nullopt, at its load of a
//   null head). pop returns each pushed element exactly once. Memory: one node
//   per element (the 32-byte hazard-pointer header, the link, T), allocated on
//   the pushing thread's NUMA node (lockfree/detail/node_alloc.hpp); a popped
//   node is retired to the hazard-pointer domain and freed once no hazard
//   pointer names it (so a domain holds at most its bound of unreclaimed
//   nodes, see <quiesce/hazard_pointer.hpp>), or freed at once when the
//   popping thread holds the domain's only hazard records (pushes hold
//   none: a single consumer frees every node at once; see
//   detail::hp::op_hazards::sole_holder). A freed node goes back to its
//   pool, or stays with the freeing thread as its spare (at most one per
//   thread, of any structure; handed back at the thread's exit) for the
//   thread's next push. The destructor frees every node still on the stack
//   (and so destroys their elements).
//
// Costs (in instructions; the measured figures against every peer are
// perf/lockfree_stack_queue_bench's, in structures/hazard_pointers/README.md's "Lock-free stack and
// queue" and the main job's out/lockfree_stack_queue_ratios.md)
//   push: the thread's spare node when its last free kept one of this
//   node type's pool and NUMA node (a one-thread pop then push: one
//   thread-local load and one store; detail/node_alloc.hpp's keep_spare),
//   else a node from the thread's node-pool cache (an inline load finds
//   the pool; no lock, no atomic RMW in the common case), T's construction,
//   one CAS on head_. The node's stores are T, the link and two header
//   fields (home node, retired flag; detail::hp::retired_header leaves the
//   rest to the retire): the CAS waits for them to drain (x86-64).
//   pop: the thread's operation record (a thread-local flag set and
//   cleared; see detail::hp::op_hazards), one protect (a
//   store and a compiler barrier before the validating load; a full fence
//   instead under the fence fallback), one CAS on head_, T's move, and,
//   when the thread holds the domain's only records (two thread-local loads
//   and one of the domain's record count), the node back to the pool at
//   once; otherwise a retire into the thread's batch (one CAS per 32
//   retires on the domain's per-node list, plus the amortised scan and the
//   deleter, which returns the node to the pool). The two CASes on head_
//   are most of a push + pop.
//   pop on an empty stack: one load, no hazard pointer.
//   On a domain of its own (the constructor's argument): the same
//   operation records, from the thread's set for that domain (one each for
//   the first thread_cache::other_op_sets other domains it operates on;
//   see detail::hp::op_hazards), and each retire is one CAS on the
//   domain's list (no batch).
//   A failed CAS on head_ (another thread's push or pop won) pauses
//   lost_race_pauses times (cpu_relax) before the retry, out of line: every
//   operation of every thread CASes the one head_, and retrying at once
//   takes its line back while the winner, often about to operate again,
//   still needs it. On the two-thread producer/consumer workload this
//   raised the stack's rate over the fastest comparable peer's well above
//   what immediate retries gave, in the paired rows of
//   perf/lockfree_stack_queue_bench; the uncontended path is unchanged (a
//   failed CAS is its only way in). Elimination is not worth it below many
//   cores. ms_queue has no such pause: its producers and consumers CAS
//   different words.
//
// Exceptions
//   push/emplace: if allocation or T's constructor throws, the stack is
//   unchanged (strong guarantee). pop: if T's move constructor throws, the
//   popped element is destroyed with its node and the exception propagates
//   (the stack stays consistent and loses that element; basic guarantee).
//   pop may throw std::bad_alloc when no hazard record can be had (the
//   thread's first operation, or one nested in another:
//   detail::hp::op_hazards); pop then changes nothing.
//
// Thread safety
//   Every member but the constructor and destructor may be called from any
//   number of threads at once. The destructor must not overlap any other
//   call (join the users first); the domain passed to the constructor must
//   outlive the stack.
#ifndef QUIESCE_LOCKFREE_TREIBER_STACK_HPP
#define QUIESCE_LOCKFREE_TREIBER_STACK_HPP

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
class treiber_stack {
  static_assert(detail::lockfree::element_type_ok<T>);  // or a message naming what T lacks

 public:
  using value_type = T;

  // An empty stack whose nodes retire to the default hazard-pointer domain.
  treiber_stack() noexcept = default;
  // An empty stack whose hazard pointers and retired nodes belong to `dom`
  // (which must outlive the stack).
  explicit treiber_stack(hazard_pointer_domain& dom) noexcept : dom_(&dom) {}
  treiber_stack(const treiber_stack&) = delete;
  treiber_stack& operator=(const treiber_stack&) = delete;

  // Destroys the remaining elements and frees their nodes. Popped nodes
  // still retired are the domain's (freed by its scans, cleanup or
  // destruction). Precondition: no other call overlaps.
  ~treiber_stack() {
    // Relaxed: the caller's join (or equivalent) orders every earlier
    // operation before the destructor.
    detail::lockfree::delete_chain(head_.load(std::memory_order_relaxed), [](node* n) noexcept { return n->next; });
  }

  // Pushes a copy / the moved value. Lock-free; any thread. Strong exception
  // guarantee (allocation, T's constructor).
  void push(const T& v) { emplace(v); }
  void push(T&& v) { emplace(std::move(v)); }

  // Pushes a T built in the node from args. Lock-free; any thread. Strong
  // exception guarantee. Linearizes at the successful CAS.
  template <class... Args>
  void emplace(Args&&... args) {
    static_assert(std::is_constructible_v<T, Args&&...>, "treiber_stack<T>::emplace: T is not constructible from these arguments");
    node* n = detail::lockfree::new_node<node>(std::in_place, std::forward<Args>(args)...);
    // Relaxed: the value read only seeds the CAS; a stale one fails it.
    node* h = head_.load(std::memory_order_relaxed);
    for (;;) {
      n->next = h;  // plain write, published by the release CAS below; never written again
      // Release on success: n's construction (value and next) happens-before
      // any pop that reads n from head_ (pairs with the acquire load in
      // pop's try_protect; every later write of head_ is an RMW, so it stays
      // in this CAS's release sequence). Relaxed on failure: h is only the
      // next expected value.
      if (head_.compare_exchange_weak(h, n, std::memory_order_release, std::memory_order_relaxed)) return;
      lost_race();
    }
  }

  // Removes the top element and returns it, or nullopt when the stack is
  // empty. Lock-free; any thread. Cost: the thread's operation record, a
  // protect (store, compiler barrier, load), a CAS, T's move
  // constructor and a retire (or the node freed at once: see Costs).
  // Linearizes at the successful CAS, or for nullopt at the load that saw a
  // null head.
  //
  // Why protect-then-validate makes this safe (Michael, TPDS 2004):
  // before touching *h, pop publishes h in a hazard pointer and re-reads
  // head_; only if head_ still equals h does it read h->next. At that
  // re-read h is in the stack, so not yet retired, and a scan that starts
  // after the hazard was published will see it, so h is not freed while we
  // read it (no use-after-free). ABA, the classic failure of Treiber's
  // stack, needs h's memory to be freed and re-used by a later push while
  // we sleep between reading h->next and our CAS, so that the CAS succeeds
  // on "the same address, a different node" and installs a stale next. A
  // protected node cannot be freed, so it cannot be re-used: while our
  // hazard names h, head_ == h means h is the very node we read next from.
  // And next is immutable once pushed, so the CAS installs the right
  // successor even if h was covered and uncovered by other pushes and pops
  // in between.
  [[nodiscard]] std::optional<T> pop() {
    // Relaxed: try_protect re-reads head_ with acquire before h is used.
    node* h = head_.load(std::memory_order_relaxed);
    if (h == nullptr) return std::nullopt;  // empty: no hazard pointer needed
    auto hz = dom_.hazards<1>();
    for (;;) {
      if (h == nullptr) return std::nullopt;
      // Publishes h, fences (see <quiesce/hazard_pointer.hpp>), re-reads
      // head_ with acquire (pairs with the release CAS in emplace: n's value
      // and next are visible). On a mismatch h holds the new head.
      if (!hz.try_protect(0, h, head_)) continue;
      node* next = h->next;
      // seq_cst on success: everything read from h was made visible by the
      // acquire in try_protect, so the CAS itself needs no ordering but this
      // one: before finish_pop's sole_holder() load (see
      // op_hazards::sole_holder; on x86 the same instruction). Relaxed on
      // failure: h gets the current head, which the next iteration protects
      // and validates with acquire.
      if (head_.compare_exchange_weak(h, next, std::memory_order_seq_cst, std::memory_order_relaxed)) break;
      lost_race();
    }
    // h is ours: unlinked by our CAS, so no other pop can return it. Free or
    // retire it once the value is out (also when T's move constructor
    // throws); then hz clears its protection (declared first, destroyed
    // last).
    finish_pop done{h, dom_, hz};
    return std::optional<T>(std::in_place, std::move(h->value));
  }

  // True if the stack was empty at the moment of the load: a snapshot that
  // may be stale by the time the caller looks. Wait-free; any thread.
  [[nodiscard]] bool empty() const noexcept {
    // Relaxed: a snapshot; no data is read through the pointer.
    return head_.load(std::memory_order_relaxed) == nullptr;
  }

  // The domain the stack's nodes retire to.
  [[nodiscard]] hazard_pointer_domain& domain() const noexcept {
    return dom_.get();
  }

 private:
  // Nodes come from pools of their own (detail/node_alloc.hpp): the
  // stack's bursts and other structures' do not scatter each other's.
  struct node : detail::lockfree::pool_node<node, detail::lockfree::treiber_stack_pool> {
    using pool_base = detail::lockfree::pool_node<node, detail::lockfree::treiber_stack_pool>;

    template <class... Args>
    node(detail::lockfree::at_home h, std::in_place_t, Args&&... args)
        : pool_base(h), value(std::forward<Args>(args)...) {}
    node(const node&) = delete;
    node& operator=(const node&) = delete;
    ~node() {
      value.~T();
      // ASan builds: a read of this node after its deleter is a report.
      detail::lockfree::poison(&next, sizeof(node) - static_cast<std::size_t>(
                                                         reinterpret_cast<const char*>(&next) -
                                                         reinterpret_cast<const char*>(this)));
    }

    // Unpoisons recycled memory before the fields below are built.
    [[no_unique_address]] detail::lockfree::unpoison_on_construct unpoison_{this, sizeof(node)};
    node* next;  // set by emplace before its CAS publishes the node, then immutable
    union {
      T value;  // alive from construction until ~node (moved-from after a pop)
    };
  };

  // When pop() returns or throws: frees the popped node at once if no other
  // thread holds a record of the domain (then none can protect it:
  // op_hazards::sole_holder), and retires it otherwise.
  struct finish_pop {
    node* n;
    detail::lockfree::domain_choice dom;
    const detail::hp::op_hazards<1>& hz;
    finish_pop(node* nn, detail::lockfree::domain_choice d, const detail::hp::op_hazards<1>& z) noexcept
        : n(nn), dom(d), hz(z) {}
    finish_pop(const finish_pop&) = delete;
    finish_pop& operator=(const finish_pop&) = delete;
    ~finish_pop() { dom.free_or_retire(n, hz); }
  };

  // After a CAS on head_ lost to another thread's: a few pauses before the
  // retry (see Costs: "A failed CAS"). Out of line and cold, so that the
  // uncontended loops stay as they were.
  static constexpr int lost_race_pauses = 8;
  [[gnu::noinline, gnu::cold]] static void lost_race() noexcept {
    for (int i = 0; i < lost_race_pauses; ++i) detail::base::cpu_relax();
  }

  // The top of the stack, alone on its block so that the CAS-heavy line is
  // not shared with neighbouring objects.
  alignas(detail::base::cache_block) std::atomic<node*> head_{nullptr};
  detail::lockfree::domain_choice dom_;  // the default domain unless the constructor named one
};

}  // namespace lockfree

// The names before the structures moved into namespace quiesce::lockfree
// (the namespace follows the folder, as boost::lockfree's do); kept so that
// code written against them builds unchanged.
template <class T>
using treiber_stack = lockfree::treiber_stack<T>;

}  // namespace quiesce

#endif  // QUIESCE_LOCKFREE_TREIBER_STACK_HPP
