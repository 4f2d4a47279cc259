// lincheck/lincheck.hpp — a linearizability checker for recorded concurrent
// histories: record what real threads did to a queue, stack or set, then ask
// whether some sequential order of those operations, consistent with their
// real-time order, explains every result.
//
// Test-support code (namespace quiesce::lincheck). It is not part of the
// installed library; tests link the CMake target `quiesce_lincheck` and write
// #include "lincheck/lincheck.hpp". Usage from a structure's test:
// tests/lincheck/README.md.
//
// What it is
//   * A recorder: each thread appends to its own log (the only shared write
//     is one global atomic counter); an operation is {thread, kind, argument,
//     result, invoke timestamp, response timestamp}, with the timestamps
//     taken from the counter right before the call and right after it
//     returns, so "a returned before b was invoked" is exact.
//     run_threads() runs N thread bodies from a common start (std::latch, no
//     sleeps) and returns the merged history; run_random() drives a structure
//     given as callables with random operations.
//   * Sequential specifications: queue_spec (FIFO), stack_spec (LIFO),
//     set_spec (set of integers, checked key by key). A spec is any type
//     meeting the concept sequential_spec, so a map spec can be added.
//   * check(): Wing and Gong's search for a linearization ("Testing and
//     verifying concurrent objects", JPDC 1993) with Lowe's memoisation: a
//     configuration (set of operations linearized so far, abstract state) is
//     explored at most once (G. Lowe, "Testing for linearizability", CCPE
//     2017; also Horn and Kroening's P-compositionality, FORTE 2015). Specs
//     with a partition_key() (set_spec: the key) are checked one partition at
//     a time, which is sound because operations on different keys of a set
//     never constrain each other; it turns set histories of any length into
//     many tiny searches.
//     Two refinements, both optional parts of a spec, keep real histories
//     cheap. A spec may abstract its state using facts about the checked
//     operations (contextual_spec): queue_spec and stack_spec do not store a
//     value that no dequeue/pop returns, nor what lies behind/under it, so
//     the orders of such values do not multiply configurations. And a spec
//     may order the search (priority()): queue_spec tries enqueues in the
//     order their values were dequeued, stack_spec pushes deepest-first;
//     other specs try the earliest response first. Neither changes a
//     verdict (tests/unit/lincheck_test.cpp checks the checker against a
//     brute-force search over every order using the exact specs).
//
// Bounds (a violated bound is a clear error in the result, never a hang)
//   * At most Spec::max_ops_per_partition operations per partition: 64 per
//     queue or stack history, 128 per key of a set history (the search keeps
//     the linearized set as a 128-bit mask). A longer one gives verdict
//     too_large without searching.
//   * At most check_options::max_steps configurations explored (default
//     200000); beyond it verdict search_budget_exhausted. A configuration
//     costs one Spec::apply() on a copy of the state and one insertion of
//     that state into the visited set, which keeps every state it explored
//     until check() returns: time and memory grow linearly with the steps.
//   Measured on a 16-core machine (where lincheck_tests' real-thread
//   histories all had overlapping operations), run_random() on a locked
//   std::deque / std::vector, 1000 histories per shape: the most
//   configurations any history needed was, for
//   4 threads x 16 operations, 180 (queue) and 1138 (stack); for 8 x 8,
//   45029 (queue) and over the budget in 1 of 1000 (stack). Keep to at most
//   4 threads x 16 operations and run many histories: the search is
//   exponential in the number of mutually overlapping operations.
//
// On failure the result's explanation names the smallest prefix of the
// history (cut at a return) that cannot be linearized, prints it as a
// per-thread timeline, and shows the longest legal order the search found,
// so a failing CI log shows the bug.
//
// Distinct values (run_random() enqueues/pushes each value once) keep the
// search small; repeated values are allowed but cost more.
#ifndef QUIESCE_TESTS_LINCHECK_LINCHECK_HPP
#define QUIESCE_TESTS_LINCHECK_LINCHECK_HPP

#include <algorithm>
#include <array>
#include <atomic>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <latch>
#include <limits>
#include <map>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <unordered_set>
#include <utility>
#include <vector>

namespace quiesce::lincheck {

// Values of the global counter; all distinct within one recording.
using timestamp = std::uint64_t;

// One completed operation. `argument` is unused by operations that take none
// (dequeue, pop); `result` is unused by those that return nothing (enqueue,
// push). a precedes b in real time iff a.response < b.invoke.
template <class Spec>
struct operation {
  std::uint32_t thread = 0;
  typename Spec::kind kind{};
  typename Spec::argument argument{};
  typename Spec::result result{};
  timestamp invoke = 0;
  timestamp response = 0;
};

template <class Spec>
using history = std::vector<operation<Spec>>;

// What the checker needs of a sequential specification:
//   kind, argument, result     the operation's fields
//   state                      the abstract state: copyable, ==, hashed by hash()
//   initial()                  the state of a fresh structure
//   apply(state&, op) -> bool  true and the next state if op, returning
//                              op.result, is a legal step from the state;
//                              false (state unspecified) if not
//   describe(op)               e.g. "dequeue() -> 3", for explanations
//   name, max_ops_per_partition
// Optional: partition_key(op) (operations with different keys are
// independent; checked separately) and describe_state(state).
// apply() must be prefix-closed (every prefix of a legal sequence is legal),
// as every container spec is; the smallest-failing-prefix search relies on it.
template <class S>
concept sequential_spec =
    requires {
      typename S::kind;
      typename S::argument;
      typename S::result;
      typename S::state;
      { S::name } -> std::convertible_to<std::string_view>;
      { S::max_ops_per_partition } -> std::convertible_to<std::size_t>;
    } && std::copyable<typename S::state> && std::equality_comparable<typename S::state> &&
    requires(typename S::state& st, const typename S::state& cst, const operation<S>& op) {
      { S::initial() } -> std::same_as<typename S::state>;
      { S::apply(st, op) } -> std::same_as<bool>;
      { S::hash(cst) } -> std::convertible_to<std::size_t>;
      { S::describe(op) } -> std::convertible_to<std::string>;
    };

template <class S>
concept partitioned_spec = sequential_spec<S> && requires(const operation<S>& op) {
  { S::partition_key(op) } -> std::totally_ordered;
};

// Shape of run_random()'s histories.
struct random_options {
  std::size_t threads = 3;
  std::size_t ops_per_thread = 10;
  std::uint64_t seed = 1;
  std::int64_t key_range = 4;  // set_spec: keys drawn from [0, key_range)
  // Every thread waits at a spin_barrier before each sync_every-th operation
  // (0: only at the start). Threads otherwise drift apart at once (thread
  // start-up dwarfs an operation), and few operations would overlap; with
  // 1 every round of operations starts together. Larger values let one
  // thread's operation span several of another's. On a 16-core machine, of
  // 200 histories of 3-4 threads x 8-12 operations on a locked std::deque,
  // 76 had overlapping operations with 0, all 200 with 1, 2 or 4 (most
  // overlapping pairs with 2 and 4). On a loaded 2-vCPU VM few overlap
  // whatever the setting.
  std::size_t sync_every = 2;
};

// A spec that run_random() can drive: callables (the structure's operations
// as std::function members), invoke() (calls one), random_op() (picks one).
template <class S>
concept workload_spec =
    sequential_spec<S> &&
    requires(typename S::callables& c, typename S::kind k, typename S::argument a, std::mt19937_64& rng,
             const random_options& o) {
      { S::invoke(c, k, a) } -> std::same_as<typename S::result>;
      { S::random_op(rng, std::size_t{}, std::size_t{}, o) } -> std::same_as<std::pair<typename S::kind, typename S::argument>>;
    };

namespace detail {

inline std::size_t hash_mix(std::size_t h, std::uint64_t v) noexcept {
  // boost::hash_combine's mixing step, widened to 64 bits.
  return h ^ (static_cast<std::size_t>(v) + 0x9e3779b97f4a7c15ULL + (h << 12) + (h >> 4));
}

inline std::size_t hash_values(const std::vector<std::int64_t>& v) noexcept {
  std::size_t h = v.size();
  for (std::int64_t x : v) h = hash_mix(h, static_cast<std::uint64_t>(x));
  return h;
}

inline std::string values_to_string(const std::vector<std::int64_t>& v) {
  std::string s = "[";
  for (std::size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return s + "]";
}

inline std::int64_t unique_value(std::size_t thread, std::size_t index, const random_options& o) {
  return static_cast<std::int64_t>(thread * o.ops_per_thread + index + 1);
}

}  // namespace detail

// ---- sequential specifications --------------------------------------------

// FIFO queue of int64: enqueue(v); dequeue() -> v, or empty (nullopt) when
// the queue is empty.
struct queue_spec {
  static constexpr std::string_view name = "queue";
  static constexpr std::size_t max_ops_per_partition = 64;
  enum class kind : std::uint8_t { enqueue, dequeue };
  using value_type = std::int64_t;
  using argument = value_type;                // enqueue's value
  using result = std::optional<value_type>;  // dequeue's value; nullopt: empty
  // Front first. `blocked`: a value that no dequeue of the history returns
  // (a "stuck" value) was enqueued after `items`; it and everything behind
  // it can never leave the queue, so they are not stored (see context).
  struct state {
    std::vector<value_type> items;
    bool blocked = false;
    friend bool operator==(const state&, const state&) = default;
  };
  // The values some dequeue of the checked operations returns, sorted, with
  // the earliest response of such a dequeue.
  struct context {
    std::vector<std::pair<value_type, timestamp>> dequeued;
    bool stuck(value_type v) const noexcept {
      auto it = std::lower_bound(dequeued.begin(), dequeued.end(), std::pair(v, timestamp{0}));
      return it == dequeued.end() || it->first != v;
    }
  };

  static state initial() { return {}; }
  // Exact FIFO semantics (every value stored).
  static bool apply(state& s, const operation<queue_spec>& op) { return apply(s, op, nullptr); }
  // The same verdicts, with stuck values abstracted: two queues that agree
  // up to their first stuck value accept the same future operations of this
  // history, so they are one configuration. Without this, the enqueues that
  // are never dequeued (common in random histories) could be linearized in
  // every order, each a distinct state: 0.3% of heavily overlapping 4 x 8
  // histories then exhausted a 200000-step search.
  static bool apply(state& s, const operation<queue_spec>& op, const context& c) { return apply(s, op, &c); }
  static context make_context(const std::vector<const operation<queue_spec>*>& ops) {
    context c;
    for (const auto* op : ops)
      if (op->kind == kind::dequeue && op->result) c.dequeued.emplace_back(*op->result, op->response);
    std::sort(c.dequeued.begin(), c.dequeued.end());
    return c;
  }
  // Search order hint (smaller first among the operations that may come
  // next): a dequeue by its response, an enqueue by the response of the
  // dequeue that returns its value, so enqueues are tried in the order
  // their values left the queue (the order a FIFO needs); stuck values last.
  static timestamp priority(const operation<queue_spec>& op, const context& c) noexcept {
    if (op.kind == kind::dequeue) return op.response;
    auto it = std::lower_bound(c.dequeued.begin(), c.dequeued.end(), std::pair(op.argument, timestamp{0}));
    return it == c.dequeued.end() || it->first != op.argument ? std::numeric_limits<timestamp>::max() : it->second;
  }
  static std::size_t hash(const state& s) noexcept { return detail::hash_mix(detail::hash_values(s.items), s.blocked); }
  static std::string describe(const operation<queue_spec>& op) {
    if (op.kind == kind::enqueue) return "enqueue(" + std::to_string(op.argument) + ")";
    return "dequeue() -> " + (op.result ? std::to_string(*op.result) : std::string("empty"));
  }
  static std::string describe_state(const state& s) {
    std::string v = detail::values_to_string(s.items);
    if (s.blocked) v.insert(v.size() - 1, std::string(s.items.empty() ? "" : ", ") + "values no dequeue returns...");
    return "queue (front first) " + v;
  }

 private:
  static bool apply(state& s, const operation<queue_spec>& op, const context* c) {
    if (op.kind == kind::enqueue) {
      if (s.blocked) return true;
      if (c && c->stuck(op.argument)) s.blocked = true;
      else s.items.push_back(op.argument);
      return true;
    }
    if (s.items.empty()) return !s.blocked && !op.result.has_value();
    if (op.result != s.items.front()) return false;
    s.items.erase(s.items.begin());
    return true;
  }

 public:

  struct callables {
    std::function<void(value_type)> enqueue;
    std::function<result()> dequeue;
  };
  static result invoke(callables& c, kind k, argument a) {
    if (k == kind::enqueue) {
      c.enqueue(a);
      return std::nullopt;
    }
    return c.dequeue();
  }
  // Half enqueues (each value enqueued once in the history), half dequeues.
  static std::pair<kind, argument> random_op(std::mt19937_64& rng, std::size_t thread, std::size_t index,
                                              const random_options& o) {
    if (rng() % 2 == 0) return {kind::enqueue, detail::unique_value(thread, index, o)};
    return {kind::dequeue, 0};
  }
};

// LIFO stack of int64: push(v); pop() -> v, or empty (nullopt).
struct stack_spec {
  static constexpr std::string_view name = "stack";
  static constexpr std::size_t max_ops_per_partition = 64;
  enum class kind : std::uint8_t { push, pop };
  using value_type = std::int64_t;
  using argument = value_type;                // push's value
  using result = std::optional<value_type>;  // pop's value; nullopt: empty
  // Bottom first, top last. `blocked`: below `items` lies a value that no
  // pop of the history returns (a stuck value); it and everything under it
  // can never be popped, so they are not stored (as for queue_spec).
  struct state {
    std::vector<value_type> items;
    bool blocked = false;
    friend bool operator==(const state&, const state&) = default;
  };
  struct context {
    std::vector<std::pair<value_type, timestamp>> popped;  // sorted; earliest pop response
    const std::pair<value_type, timestamp>* find(value_type v) const noexcept {
      auto it = std::lower_bound(popped.begin(), popped.end(), std::pair(v, timestamp{0}));
      return it == popped.end() || it->first != v ? nullptr : &*it;
    }
  };

  static state initial() { return {}; }
  // Exact LIFO semantics (every value stored).
  static bool apply(state& s, const operation<stack_spec>& op) { return apply(s, op, nullptr); }
  // The same verdicts, with stuck values abstracted (see queue_spec).
  static bool apply(state& s, const operation<stack_spec>& op, const context& c) { return apply(s, op, &c); }
  static context make_context(const std::vector<const operation<stack_spec>*>& ops) {
    context c;
    for (const auto* op : ops)
      if (op->kind == kind::pop && op->result) c.popped.emplace_back(*op->result, op->response);
    std::sort(c.popped.begin(), c.popped.end());
    return c;
  }
  // Search order hint (smaller first among the operations that may come
  // next): pushes before pops, and among pushes the value popped last (or
  // never) first, as it lies deepest; pops by their response. Measured on
  // simulated 4 x 16 histories with random interleavings: at most 2811
  // configurations in 3000 histories, against 29700 with responses alone.
  // (Timestamps at or above 2^40 would spoil the order, never the verdict.)
  static timestamp priority(const operation<stack_spec>& op, const context& c) noexcept {
    if (op.kind == kind::pop) return (timestamp{1} << 41) + op.response;
    const auto* f = c.find(op.argument);
    return f ? (timestamp{1} << 40) - f->second : 0;
  }
  static std::size_t hash(const state& s) noexcept { return detail::hash_mix(detail::hash_values(s.items), s.blocked); }
  static std::string describe(const operation<stack_spec>& op) {
    if (op.kind == kind::push) return "push(" + std::to_string(op.argument) + ")";
    return "pop() -> " + (op.result ? std::to_string(*op.result) : std::string("empty"));
  }
  static std::string describe_state(const state& s) {
    std::string v = detail::values_to_string(s.items);
    if (s.blocked) v.insert(1, std::string("values no pop returns...") + (s.items.empty() ? "" : ", "));
    return "stack (bottom first) " + v;
  }

 private:
  static bool apply(state& s, const operation<stack_spec>& op, const context* c) {
    if (op.kind == kind::push) {
      if (c && !c->find(op.argument)) {
        s.items.clear();
        s.blocked = true;
      } else {
        s.items.push_back(op.argument);
      }
      return true;
    }
    if (s.items.empty()) return !s.blocked && !op.result.has_value();
    if (op.result != s.items.back()) return false;
    s.items.pop_back();
    return true;
  }

 public:

  struct callables {
    std::function<void(value_type)> push;
    std::function<result()> pop;
  };
  static result invoke(callables& c, kind k, argument a) {
    if (k == kind::push) {
      c.push(a);
      return std::nullopt;
    }
    return c.pop();
  }
  static std::pair<kind, argument> random_op(std::mt19937_64& rng, std::size_t thread, std::size_t index,
                                              const random_options& o) {
    if (rng() % 2 == 0) return {kind::push, detail::unique_value(thread, index, o)};
    return {kind::pop, 0};
  }
};

// Set of int64 keys: insert(k) -> true iff k was absent; erase(k) -> true iff
// k was present; contains(k) -> whether present. Checked key by key
// (partition_key), so the state of one partition is "absent" or "present".
struct set_spec {
  static constexpr std::string_view name = "set";
  static constexpr std::size_t max_ops_per_partition = 128;
  enum class kind : std::uint8_t { insert, erase, contains };
  using key_type = std::int64_t;
  using argument = key_type;
  using result = bool;
  using state = std::vector<key_type>;  // sorted, no duplicates

  static state initial() { return {}; }
  static bool apply(state& s, const operation<set_spec>& op) {
    auto it = std::lower_bound(s.begin(), s.end(), op.argument);
    const bool present = it != s.end() && *it == op.argument;
    switch (op.kind) {
      case kind::insert:
        if (op.result != !present) return false;
        if (!present) s.insert(it, op.argument);
        return true;
      case kind::erase:
        if (op.result != present) return false;
        if (present) s.erase(it);
        return true;
      case kind::contains:
        return op.result == present;
    }
    return false;
  }
  static key_type partition_key(const operation<set_spec>& op) noexcept { return op.argument; }
  static std::size_t hash(const state& s) noexcept { return detail::hash_values(s); }
  static std::string describe(const operation<set_spec>& op) {
    static constexpr std::array<const char*, 3> names{"insert", "erase", "contains"};
    return std::string(names[static_cast<std::size_t>(op.kind)]) + "(" + std::to_string(op.argument) + ") -> " +
           (op.result ? "true" : "false");
  }
  static std::string describe_state(const state& s) { return "set " + detail::values_to_string(s); }

  struct callables {
    std::function<bool(key_type)> insert;
    std::function<bool(key_type)> erase;
    std::function<bool(key_type)> contains;
  };
  static result invoke(callables& c, kind k, argument a) {
    switch (k) {
      case kind::insert: return c.insert(a);
      case kind::erase: return c.erase(a);
      case kind::contains: return c.contains(a);
    }
    return false;
  }
  // Each kind with probability 1/3, keys uniform in [0, key_range).
  static std::pair<kind, argument> random_op(std::mt19937_64& rng, std::size_t, std::size_t,
                                              const random_options& o) {
    const auto k = static_cast<kind>(rng() % 3);
    const auto range = static_cast<std::uint64_t>(std::max<std::int64_t>(o.key_range, 1));
    return {k, static_cast<key_type>(rng() % range)};
  }
};

// ---- recorder --------------------------------------------------------------

template <sequential_spec Spec>
class recorder;

// One thread's log. Only its own thread may call record().
template <sequential_spec Spec>
class alignas(64) thread_log {
 public:
  // Records one operation: takes the invoke timestamp, calls f() (which
  // performs the operation and returns its result, or void for operations
  // without one), takes the response timestamp, appends to this log and
  // returns the result. If f throws, nothing is recorded and the exception
  // propagates.
  //
  // Ordering: both timestamps are seq_cst fetch_adds on one counter. RMWs on
  // one atomic are totally ordered and each reads the previous one's value,
  // so if a's response tick precedes b's invoke tick, a's tick (a release)
  // is read, through the counter's release sequence, by b's tick (an
  // acquire): a's call happens-before b's call. Real-time order in the
  // history is therefore exact, and is also happens-before order.
  template <class F>
  typename Spec::result record(typename Spec::kind k, typename Spec::argument a, F&& f) {
    operation<Spec> op;
    op.thread = thread_;
    op.kind = k;
    op.argument = a;
    op.invoke = clock_->fetch_add(1, std::memory_order_seq_cst);
    if constexpr (std::is_void_v<std::invoke_result_t<F&>>) {
      std::invoke(f);
    } else {
      op.result = std::invoke(f);
    }
    op.response = clock_->fetch_add(1, std::memory_order_seq_cst);
    ops_.push_back(op);
    return op.result;
  }

  std::uint32_t thread() const noexcept { return thread_; }
  const history<Spec>& operations() const noexcept { return ops_; }

 private:
  friend class recorder<Spec>;
  thread_log(std::atomic<timestamp>* clock, std::uint32_t thread, std::size_t reserve)
      : clock_(clock), thread_(thread) {
    ops_.reserve(reserve);
  }

  std::atomic<timestamp>* clock_;
  std::uint32_t thread_;
  history<Spec> ops_;
};

// The logs of `threads` threads and their shared clock. Each log sits on its
// own cache lines (alignas(64)), the clock on its own: threads share no
// written memory but the counter.
template <sequential_spec Spec>
class recorder {
 public:
  explicit recorder(std::size_t threads, std::size_t reserve_per_thread = 64) {
    logs_.reserve(threads);
    for (std::size_t t = 0; t < threads; ++t)
      logs_.push_back(thread_log<Spec>(&clock_, static_cast<std::uint32_t>(t), reserve_per_thread));
  }
  recorder(const recorder&) = delete;
  recorder& operator=(const recorder&) = delete;

  std::size_t threads() const noexcept { return logs_.size(); }
  // Thread t's log; each thread must use only its own.
  thread_log<Spec>& log(std::size_t t) { return logs_.at(t); }

  // All logs merged, sorted by invoke time. Call once the threads are joined.
  history<Spec> merged() const {
    history<Spec> h;
    for (const auto& l : logs_) h.insert(h.end(), l.ops_.begin(), l.ops_.end());
    std::sort(h.begin(), h.end(), [](const auto& a, const auto& b) { return a.invoke < b.invoke; });
    return h;
  }

 private:
  alignas(64) std::atomic<timestamp> clock_{1};
  alignas(64) std::vector<thread_log<Spec>> logs_;
};

// Runs body(thread_log<Spec>&, std::size_t thread_index) on `threads` new
// threads that start together (a std::latch; no sleeps), joins them and
// returns the merged history. An exception thrown by a body is rethrown here
// after every thread has been joined.
template <sequential_spec Spec, class Body>
history<Spec> run_threads(std::size_t threads, Body&& body, std::size_t reserve_per_thread = 64) {
  recorder<Spec> rec(threads, reserve_per_thread);
  std::latch start(static_cast<std::ptrdiff_t>(threads));
  std::vector<std::exception_ptr> errors(threads);
  std::exception_ptr spawn_error;
  {
    std::vector<std::jthread> workers;
    workers.reserve(threads);
    for (std::size_t t = 0; t < threads; ++t) {
      try {
        workers.emplace_back([&, t] {
          start.arrive_and_wait();
          try {
            body(rec.log(t), t);
          } catch (...) {
            errors[t] = std::current_exception();
          }
        });
      } catch (...) {  // could not start thread t: release the ones waiting
        spawn_error = std::current_exception();
        start.count_down(static_cast<std::ptrdiff_t>(threads - t));
        break;
      }
    }
  }  // joins
  if (spawn_error) std::rethrow_exception(spawn_error);
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
  return rec.merged();
}

// A barrier whose waiters spin (yielding the CPU) instead of blocking, so
// that all threads leave it within about a microsecond of each other; a
// std::barrier wakes its waiters one futex wake at a time, tens of
// microseconds apart, by which time a 50 ns operation of the first thread
// has long finished and nothing overlaps. abandon() releases every present
// and future waiter (for a thread that throws). Not a sleep: waiters make
// progress as soon as the last thread arrives.
class spin_barrier {
 public:
  explicit spin_barrier(std::size_t threads) noexcept : threads_(threads) {}
  void arrive_and_wait() noexcept {
    // acquire pairs with the release increment below: a waiter that sees
    // the new generation also sees arrived_ reset to 0.
    const std::size_t gen = generation_.load(std::memory_order_acquire);
    if (arrived_.fetch_add(1, std::memory_order_acq_rel) + 1 == threads_) {
      arrived_.store(0, std::memory_order_relaxed);
      generation_.fetch_add(1, std::memory_order_release);
      return;
    }
    while (generation_.load(std::memory_order_acquire) == gen && !abandoned_.load(std::memory_order_relaxed))
      std::this_thread::yield();
  }
  void abandon() noexcept { abandoned_.store(true, std::memory_order_relaxed); }

 private:
  const std::size_t threads_;
  std::atomic<std::size_t> arrived_{0};
  std::atomic<std::size_t> generation_{0};
  std::atomic<bool> abandoned_{false};
};

// Runs o.threads threads x o.ops_per_thread random operations (Spec's
// random_op(), seeded from o.seed and the thread index) against the
// structure behind `c`, and returns the history.
template <workload_spec Spec>
history<Spec> run_random(typename Spec::callables& c, const random_options& o) {
  spin_barrier round(o.threads);
  return run_threads<Spec>(
      o.threads,
      [&](thread_log<Spec>& log, std::size_t t) {
        std::mt19937_64 rng(o.seed * 0x9e3779b97f4a7c15ULL + t);
        try {
          for (std::size_t i = 0; i < o.ops_per_thread; ++i) {
            if (o.sync_every != 0 && i % o.sync_every == 0) round.arrive_and_wait();
            const auto [k, a] = Spec::random_op(rng, t, i, o);
            log.record(k, a, [&, k = k, a = a] { return Spec::invoke(c, k, a); });
          }
        } catch (...) {
          round.abandon();  // the other threads must not wait for this one
          throw;
        }
      },
      o.ops_per_thread);
}

// How many pairs of operations of different threads overlap in time in h:
// a measure of how much concurrency a recorded history exercised (0 means
// the threads never ran an operation at the same time). O(n^2).
template <sequential_spec Spec>
std::size_t overlapping_pairs(const history<Spec>& h) noexcept {
  std::size_t pairs = 0;
  for (std::size_t i = 0; i < h.size(); ++i)
    for (std::size_t j = i + 1; j < h.size(); ++j)
      if (h[i].thread != h[j].thread && h[i].invoke < h[j].response && h[j].invoke < h[i].response) ++pairs;
  return pairs;
}

// ---- checker ---------------------------------------------------------------

enum class verdict {
  linearizable,             // some legal sequential order respects real time
  not_linearizable,         // none does; explanation shows why
  too_large,                // a partition exceeds Spec::max_ops_per_partition
  search_budget_exhausted,  // check_options::max_steps reached; unknown
  invalid_history,          // malformed input (see explanation)
};

inline const char* to_string(verdict v) noexcept {
  switch (v) {
    case verdict::linearizable: return "linearizable";
    case verdict::not_linearizable: return "not linearizable";
    case verdict::too_large: return "too large";
    case verdict::search_budget_exhausted: return "search budget exhausted";
    case verdict::invalid_history: return "invalid history";
  }
  return "?";
}

struct check_options {
  // Configurations (linearized set, state) explored at most, over all
  // partitions, for the verdict; the failure explanation gets as many again.
  std::uint64_t max_steps = 200'000;
  // Compute the smallest failing prefix and the timeline on failure.
  bool explain = true;
};

struct check_result {
  bool ok = false;  // verdict == linearizable
  verdict status = verdict::invalid_history;
  // Empty when ok; otherwise what went wrong, in readable form.
  std::string explanation;
  std::size_t operations = 0;     // in the history
  std::size_t partitions = 0;     // checked independently (keys of a set)
  std::uint64_t steps = 0;        // configurations explored for the verdict
  // On not_linearizable with explain: the smallest failing prefix of the
  // failing partition (number of operations in it) and the operation whose
  // return completes it, as Spec::describe() prints it.
  std::size_t failing_prefix_ops = 0;
  std::string failing_operation;

  explicit operator bool() const noexcept { return ok; }
};

namespace detail {

inline constexpr timestamp pending = std::numeric_limits<timestamp>::max();
inline constexpr std::size_t max_partition_capacity = 128;

// A set of operation indices < 128.
struct op_set {
  std::array<std::uint64_t, 2> w{};
  void set(std::size_t i) noexcept { w[i / 64] |= std::uint64_t{1} << (i % 64); }
  bool test(std::size_t i) const noexcept { return (w[i / 64] >> (i % 64)) & 1U; }
  bool contains(const op_set& o) const noexcept { return (w[0] & o.w[0]) == o.w[0] && (w[1] & o.w[1]) == o.w[1]; }
  friend bool operator==(const op_set&, const op_set&) = default;
};

template <class Spec>
struct configuration {
  op_set done;
  typename Spec::state state;
  friend bool operator==(const configuration&, const configuration&) = default;
};

template <class Spec>
struct configuration_hash {
  std::size_t operator()(const configuration<Spec>& c) const noexcept {
    return hash_mix(hash_mix(static_cast<std::size_t>(Spec::hash(c.state)), c.done.w[0]), c.done.w[1]);
  }
};

enum class search_status { linearizable, not_linearizable, budget_exhausted };

// A spec may supply context make_context(ops) and apply(state&, op, const
// context&): the same verdicts as apply(state&, op) for sequences of those
// ops, with a coarser state.
template <class S>
concept contextual_spec = requires(typename S::state& st, const operation<S>& op,
                                   const std::vector<const operation<S>*>& ops) {
  { S::make_context(ops) } -> std::same_as<typename S::context>;
  { S::apply(st, op, S::make_context(ops)) } -> std::same_as<bool>;
};

struct no_context {};

template <class Spec>
auto make_context(const std::vector<const operation<Spec>*>& ops) {
  if constexpr (contextual_spec<Spec>) return Spec::make_context(ops);
  else return no_context{};
}

template <class Spec>
struct search_output {
  search_status status = search_status::not_linearizable;
  std::uint64_t steps = 0;
  std::vector<std::size_t> deepest_order;  // longest legal order found (indices)
};

// Depth-first search for a linearization of ops (sorted by invoke), where
// response[i] is ops[i]'s response or `pending` (may be linearized or left
// out, as in a prefix cut while it runs). Wing & Gong: the next operation
// must be one that no unlinearized operation precedes in real time, i.e. one
// invoked no later than the earliest unlinearized response. Lowe: each
// configuration (done set, state) is explored once; states are compared by
// value, so orders that reach the same state merge.
template <class Spec>
search_output<Spec> search(const std::vector<const operation<Spec>*>& ops, const std::vector<timestamp>& response,
                           std::uint64_t budget, bool track_deepest) {
  using state_t = typename Spec::state;
  const std::size_t n = ops.size();
  op_set mandatory;
  for (std::size_t i = 0; i < n; ++i)
    if (response[i] != pending) mandatory.set(i);
  // Specs with a context (queue_spec, stack_spec) abstract their state
  // using facts about these operations.
  const auto ctx = make_context<Spec>(ops);
  auto apply = [&](state_t& s, const operation<Spec>& op) {
    if constexpr (contextual_spec<Spec>) return Spec::apply(s, op, ctx);
    else return Spec::apply(s, op);
  };
  // The operations that may come next, most likely first: by
  // Spec::priority() where the spec has one, else earliest response first
  // (the order a correct structure most likely took), so that a
  // linearizable history is usually found with little backtracking. (In
  // invocation order, 0.1-1% of heavily overlapping 4-thread queue
  // histories exhausted a 200000-step budget.)
  std::vector<timestamp> priority(n);
  for (std::size_t i = 0; i < n; ++i) {
    if constexpr (requires { { Spec::priority(*ops[i], ctx) } -> std::convertible_to<timestamp>; })
      priority[i] = Spec::priority(*ops[i], ctx);
    else
      priority[i] = response[i];
  }
  auto candidates_of = [&](const op_set& done) {
    timestamp bound = pending;  // earliest response among the unlinearized
    for (std::size_t i = 0; i < n; ++i)
      if (!done.test(i)) bound = std::min(bound, response[i]);
    std::vector<std::uint8_t> c;
    for (std::size_t i = 0; i < n && ops[i]->invoke <= bound; ++i)
      if (!done.test(i)) c.push_back(static_cast<std::uint8_t>(i));
    std::stable_sort(c.begin(), c.end(), [&](std::uint8_t a, std::uint8_t b) { return priority[a] < priority[b]; });
    return c;
  };
  struct frame {
    op_set done;
    state_t state;
    std::vector<std::uint8_t> candidates;
    std::size_t next;    // next candidate to try
    std::size_t added;   // the operation this frame linearized
  };
  search_output<Spec> out;
  std::unordered_set<configuration<Spec>, configuration_hash<Spec>> seen;
  std::vector<frame> stack;
  stack.push_back(frame{op_set{}, Spec::initial(), candidates_of(op_set{}), 0, n});
  std::size_t deepest = 0;
  while (!stack.empty()) {
    frame& f = stack.back();
    if (f.done.contains(mandatory)) {
      out.status = search_status::linearizable;
      return out;
    }
    bool pushed = false;
    while (f.next < f.candidates.size()) {
      const std::size_t i = f.candidates[f.next++];
      state_t s = f.state;
      if (!apply(s, *ops[i])) continue;
      op_set d = f.done;
      d.set(i);
      if (!seen.insert(configuration<Spec>{d, s}).second) continue;
      if (++out.steps > budget) {
        out.status = search_status::budget_exhausted;
        return out;
      }
      auto c = candidates_of(d);
      stack.push_back(frame{d, std::move(s), std::move(c), 0, i});  // f is dangling from here
      pushed = true;
      break;
    }
    if (pushed) {
      if (track_deepest && stack.size() - 1 > deepest) {
        deepest = stack.size() - 1;
        out.deepest_order.clear();
        for (std::size_t k = 1; k < stack.size(); ++k) out.deepest_order.push_back(stack[k].added);
      }
    } else {
      stack.pop_back();
    }
  }
  out.status = search_status::not_linearizable;
  return out;
}

inline std::string interval(timestamp inv, timestamp resp) {
  return "t=" + std::to_string(inv) + ".." + (resp == pending ? std::string("(running)") : std::to_string(resp));
}

// A per-thread timeline: one row per operation, grouped by thread in
// invocation order; columns are the events (invocations, returns) in time
// order: '[' invoked, ']' returned, '=' running, '>' still running at the
// cut. Bars are left out beyond 100 columns.
template <class Spec>
std::string timeline(const std::vector<const operation<Spec>*>& ops, const std::vector<timestamp>& response,
                     timestamp cut) {
  std::vector<timestamp> events;
  bool any_pending = false;
  for (std::size_t i = 0; i < ops.size(); ++i) {
    events.push_back(ops[i]->invoke);
    if (response[i] != pending) events.push_back(response[i]);
    else any_pending = true;
  }
  std::sort(events.begin(), events.end());
  events.erase(std::unique(events.begin(), events.end()), events.end());
  const std::size_t width = events.size() + (any_pending ? 1 : 0);
  const bool bars = width <= 100;
  auto col = [&](timestamp t) {
    return static_cast<std::size_t>(std::lower_bound(events.begin(), events.end(), t) - events.begin());
  };
  std::vector<std::size_t> order(ops.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return std::pair(ops[a]->thread, ops[a]->invoke) < std::pair(ops[b]->thread, ops[b]->invoke);
  });
  std::size_t desc_width = 0;
  for (std::size_t i : order) desc_width = std::max(desc_width, Spec::describe(*ops[i]).size());
  std::ostringstream s;
  for (std::size_t i : order) {
    const auto& op = *ops[i];
    std::string row = "    T" + std::to_string(op.thread) + (op.thread < 10 ? "  " : " ");
    if (bars) {
      std::string bar(width, ' ');
      const std::size_t a = col(op.invoke);
      const std::size_t z = response[i] == pending ? width - 1 : col(response[i]);
      for (std::size_t c = a; c <= z; ++c) bar[c] = '=';
      bar[a] = '[';
      bar[z] = response[i] == pending ? '>' : ']';
      row += "|" + bar + "|  ";
    }
    std::string d = Spec::describe(op);
    d.resize(desc_width, ' ');
    row += d + "  " + interval(op.invoke, response[i]);
    if (response[i] == pending) row += "  (returned later; may be left out)";
    if (cut != pending && response[i] == cut) row += "  <- returns at the cut";
    s << row << "\n";
  }
  return s.str();
}

template <class Spec>
std::string state_text(const typename Spec::state& st) {
  if constexpr (requires { { Spec::describe_state(st) } -> std::convertible_to<std::string>; }) {
    return Spec::describe_state(st);
  } else {
    return "(state not printable)";
  }
}

// Validates one thread's ops sequence and interval sanity.
template <class Spec>
std::string validate(const history<Spec>& h) {
  std::vector<std::size_t> idx(h.size());
  for (std::size_t i = 0; i < idx.size(); ++i) {
    idx[i] = i;
    if (h[i].response <= h[i].invoke || h[i].response == pending)
      return "operation #" + std::to_string(i) + " (T" + std::to_string(h[i].thread) + " " + Spec::describe(h[i]) +
             ", " + interval(h[i].invoke, h[i].response) + ") must return after it is invoked";
  }
  std::sort(idx.begin(), idx.end(), [&](std::size_t a, std::size_t b) {
    return std::pair(h[a].thread, h[a].invoke) < std::pair(h[b].thread, h[b].invoke);
  });
  for (std::size_t k = 1; k < idx.size(); ++k) {
    const auto& a = h[idx[k - 1]];
    const auto& b = h[idx[k]];
    if (a.thread == b.thread && b.invoke <= a.response)
      return "thread T" + std::to_string(a.thread) + " has overlapping operations " + Spec::describe(a) + " (" +
             interval(a.invoke, a.response) + ") and " + Spec::describe(b) + " (" + interval(b.invoke, b.response) +
             "); a thread's operations must be sequential";
  }
  return {};
}

// Explains why ops (one partition, sorted by invoke, known not linearizable)
// fail: the smallest prefix cut at a return that cannot be linearized (the
// spec is prefix-closed, so failure is monotone in the cut: binary search),
// its timeline and the longest legal order of that prefix.
template <class Spec>
void explain(const std::vector<const operation<Spec>*>& ops, const std::string& label, std::size_t total_ops,
             std::uint64_t budget, check_result& r) {
  std::vector<timestamp> cuts;
  for (const auto* op : ops) cuts.push_back(op->response);
  std::sort(cuts.begin(), cuts.end());
  cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
  auto prefix = [&](timestamp cut, std::vector<const operation<Spec>*>& pops, std::vector<timestamp>& presp) {
    pops.clear();
    presp.clear();
    for (const auto* op : ops)
      if (op->invoke <= cut) {
        pops.push_back(op);
        presp.push_back(op->response <= cut ? op->response : pending);
      }
  };
  std::vector<const operation<Spec>*> pops;
  std::vector<timestamp> presp;
  // cuts.back() (the whole partition) is known to fail; find the first that does.
  std::size_t lo = 0, hi = cuts.size() - 1;
  while (lo < hi) {
    const std::size_t mid = lo + (hi - lo) / 2;
    prefix(cuts[mid], pops, presp);
    if (search<Spec>(pops, presp, budget, false).status == search_status::not_linearizable) hi = mid;
    else lo = mid + 1;  // linearizable, or unknown within the budget: keep a confirmed cut
  }
  const timestamp cut = cuts[hi];
  prefix(cut, pops, presp);
  const auto deep = search<Spec>(pops, presp, budget, true);
  // The exact state after the longest order (the search's state may be
  // abstracted, see contextual_spec).
  typename Spec::state exact = Spec::initial();
  for (std::size_t k : deep.deepest_order) (void)Spec::apply(exact, *pops[k]);
  std::size_t culprit = 0;
  for (std::size_t i = 0; i < pops.size(); ++i)
    if (presp[i] == cut) culprit = i;
  r.failing_prefix_ops = pops.size();
  r.failing_operation = Spec::describe(*pops[culprit]);

  std::ostringstream s;
  s << "not linearizable: " << Spec::name << " history of " << total_ops << " operations"
    << (label.empty() ? "" : ", " + label) << "\n";
  s << "  The smallest prefix that cannot be linearized ends when T" << pops[culprit]->thread << " "
    << r.failing_operation << " returns (" << interval(pops[culprit]->invoke, cut) << "); it holds " << pops.size()
    << " of the " << ops.size() << " operations" << (label.empty() ? "" : " on " + label) << ":\n";
  s << timeline<Spec>(pops, presp, cut);
  s << "  Longest legal order found (" << deep.deepest_order.size()
    << (deep.deepest_order.size() == 1 ? " operation):" : " operations):");
  if (deep.deepest_order.empty()) s << " none; no operation can come first";
  for (std::size_t k = 0; k < deep.deepest_order.size(); ++k) {
    const auto* op = pops[deep.deepest_order[k]];
    s << (k ? ", " : " ") << "T" << op->thread << " " << Spec::describe(*op);
  }
  s << "\n  after it the " << state_text<Spec>(exact)
    << ", and none of the remaining operations can come next with its recorded result.\n";
  if (deep.status == search_status::budget_exhausted)
    s << "  (the explanation search hit the step budget; the order shown may not be the longest)\n";
  r.explanation = s.str();
}

template <class Spec>
std::string key_label(const operation<Spec>& op) {
  if constexpr (partitioned_spec<Spec>) {
    std::ostringstream s;
    s << "key " << Spec::partition_key(op);
    return s.str();
  } else {
    (void)op;
    return {};
  }
}

}  // namespace detail

// Whether h (e.g. from run_threads()/run_random(), or written by hand) is
// linearizable with respect to Spec. Cost: exponential in the number of
// mutually overlapping operations in the worst case, bounded by
// opt.max_steps configurations (see Bounds at the top: the configuration
// counts real-thread histories of 4 x 16 operations needed).
// Never throws on bad input: a malformed history gives verdict
// invalid_history.
template <sequential_spec Spec>
check_result check(const history<Spec>& h, const check_options& opt = {}) {
  static_assert(Spec::max_ops_per_partition <= detail::max_partition_capacity,
                "Spec::max_ops_per_partition must be at most 128 (the checker's operation mask)");
  check_result r;
  r.operations = h.size();
  if (std::string e = detail::validate<Spec>(h); !e.empty()) {
    r.status = verdict::invalid_history;
    r.explanation = "invalid history: " + e;
    return r;
  }
  // Partitions, each sorted by invoke.
  std::vector<std::vector<const operation<Spec>*>> parts;
  if constexpr (partitioned_spec<Spec>) {
    std::map<std::remove_cvref_t<decltype(Spec::partition_key(h.front()))>, std::vector<const operation<Spec>*>> by_key;
    for (const auto& op : h) by_key[Spec::partition_key(op)].push_back(&op);
    for (auto& [k, v] : by_key) parts.push_back(std::move(v));
  } else {
    if (!h.empty()) {
      parts.emplace_back();
      for (const auto& op : h) parts.back().push_back(&op);
    }
  }
  r.partitions = parts.size();
  for (auto& p : parts) {
    std::sort(p.begin(), p.end(), [](const auto* a, const auto* b) { return a->invoke < b->invoke; });
    if (p.size() > Spec::max_ops_per_partition) {
      const std::string label = detail::key_label<Spec>(*p.front());
      r.status = verdict::too_large;
      r.explanation = "history too large to check: " + std::to_string(p.size()) + " operations" +
                      (label.empty() ? "" : " on " + label) + ", more than the bound of " +
                      std::to_string(Spec::max_ops_per_partition) + " per " +
                      (label.empty() ? std::string(Spec::name) + " history" : std::string("key")) +
                      "; record shorter histories (fewer threads or operations per thread) and run more of them";
      return r;
    }
  }
  for (const auto& p : parts) {
    std::vector<timestamp> resp;
    for (const auto* op : p) resp.push_back(op->response);
    const auto out = detail::search<Spec>(p, resp, opt.max_steps - std::min(opt.max_steps, r.steps), false);
    r.steps += out.steps;
    if (out.status == detail::search_status::budget_exhausted) {
      const std::string label = detail::key_label<Spec>(*p.front());
      r.status = verdict::search_budget_exhausted;
      r.explanation = "search budget exhausted: " + std::to_string(opt.max_steps) +
                      " configurations explored without a verdict (" + std::string(Spec::name) + " partition of " +
                      std::to_string(p.size()) + " operations" + (label.empty() ? "" : ", " + label) +
                      "); record shorter histories with fewer overlapping operations and distinct values, "
                      "or raise check_options::max_steps";
      return r;
    }
    if (out.status == detail::search_status::not_linearizable) {
      r.status = verdict::not_linearizable;
      if (opt.explain) {
        detail::explain<Spec>(p, detail::key_label<Spec>(*p.front()), h.size(), opt.max_steps, r);
      } else {
        r.explanation = "not linearizable: " + std::string(Spec::name) + " history of " + std::to_string(h.size()) +
                        " operations";
      }
      return r;
    }
  }
  r.status = verdict::linearizable;
  r.ok = true;
  return r;
}

// The whole history as a per-thread timeline (for logging a history that
// passed, or one built by hand).
template <sequential_spec Spec>
std::string to_string(const history<Spec>& h) {
  std::vector<const operation<Spec>*> ops;
  std::vector<timestamp> resp;
  for (const auto& op : h) {
    ops.push_back(&op);
    resp.push_back(op.response);
  }
  return detail::timeline<Spec>(ops, resp, detail::pending);
}

}  // namespace quiesce::lincheck

#endif  // QUIESCE_TESTS_LINCHECK_LINCHECK_HPP
