// quiesce/disruptor/disruptor.hpp — the DSL: wire event handlers into
// unicast, pipeline, multicast and diamond topologies, run each on its own
// (optionally pinned) thread, drain and halt them.
//
// What it is
//   disruptor<E, Sequencer> owns a ring_buffer<E, Sequencer> and one
//   batch_event_processor per handler. handle_events_with(a, b) makes a and
//   b consume straight after the producer (multicast: both see every event);
//   .then(c) makes c consume each event after a and b have both handled it.
//   Only the leaf consumers (those nothing comes after) gate the producer:
//   the others are necessarily ahead of them. start() starts one thread per
//   handler; shutdown() waits until every published event has been handled
//   by every leaf, then halts and joins; halt() stops at once.
//
//     unicast    d.handle_events_with(a);
//     pipeline   d.handle_events_with(a).then(b).then(c);
//     multicast  d.handle_events_with(a, b, c);
//     diamond    d.handle_events_with(a, b).then(c);
//     after      d.after(a).handle_events_with(d2);   // a must exist already
//
// Example
//   using namespace quiesce::disruptor;
//   disruptor<event, single_producer_sequencer<yielding_wait_strategy>> d{1024, [] { return event{}; }};
//   journal j; replicate r; business b;               // handlers: on_event(event&, int64_t, bool)
//   d.handle_events_with(j, r).then(b);
//   auto& ring = d.start();
//   ring.publish_event([](event& e, std::int64_t, int v) { e.value = v; }, 7);
//   d.shutdown();                                     // every event handled, threads joined
//
// Pinning (processor_placement, set before start()): unpinned; on_cpus
// (processor i, counted in the order handlers were added, on cpus[i % n]);
// on_node (every processor on the node's CPUs); follow_ring (default: the
// ring's node if the ring was placed on a node of a multi-node machine,
// else unpinned). Pinning goes through quiesce::numa::scoped_affinity; a CPU
// or node that does not exist throws std::invalid_argument from
// set_placement, a refusal by the kernel std::system_error from start().
//
// Handlers are held by reference: they must outlive the disruptor. Each
// handler object may be added once.
//
// Synchronisation table: everything but the ring's producer calls (and
// sequence_of / has_backlog, any thread) is for one controlling thread;
// handle_events_with/after/then/set_* only before start().
#ifndef QUIESCE_DISRUPTOR_DISRUPTOR_HPP
#define QUIESCE_DISRUPTOR_DISRUPTOR_HPP

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <future>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include <quiesce/disruptor/event_processor.hpp>
#include <quiesce/disruptor/exception_handler.hpp>
#include <quiesce/disruptor/ring_buffer.hpp>
#include <quiesce/disruptor/sequence.hpp>
#include <quiesce/disruptor/sequencer.hpp>
#include <quiesce/numa/affinity.hpp>
#include <quiesce/numa/topology.hpp>

namespace quiesce::disruptor {

// Where the processor threads run. See the file comment.
class processor_placement {
 public:
  enum class kind { unpinned, on_cpus, on_node, follow_ring };

  static processor_placement unpinned() noexcept { return processor_placement(kind::unpinned, {}, -1); }
  static processor_placement follow_ring() noexcept { return processor_placement(kind::follow_ring, {}, -1); }
  // Throws std::invalid_argument if cpus is empty or names a CPU that does
  // not exist or is outside the process's allowed set.
  static processor_placement on_cpus(std::vector<int> cpus) {
    if (cpus.empty())
      throw std::invalid_argument(
          "quiesce::disruptor: processor_placement::on_cpus needs at least one CPU (or use unpinned())");
    const auto& t = numa::topology::system();
    for (int c : cpus)
      if (!t.has_cpu(c))
        throw std::invalid_argument("quiesce::disruptor: processor_placement::on_cpus: CPU " + std::to_string(c) +
                                    " does not exist or is not allowed for this process; choose from "
                                    "quiesce::numa::topology::system().cpus(), or use unpinned()");
    return processor_placement(kind::on_cpus, std::move(cpus), -1);
  }
  // Throws std::invalid_argument for a node that does not exist or has no CPUs.
  static processor_placement on_node(int node) {
    const auto& t = numa::topology::system();
    if (!t.has_node(node) || t.cpus_of_node(node).empty())
      throw std::invalid_argument("quiesce::disruptor: processor_placement::on_node: node " + std::to_string(node) +
                                  " does not exist or has no CPUs this process may use; choose from "
                                  "quiesce::numa::topology::system().nodes(), or use unpinned()");
    return processor_placement(kind::on_node, {}, node);
  }

  [[nodiscard]] kind which() const noexcept { return kind_; }
  [[nodiscard]] const std::vector<int>& cpus() const noexcept { return cpus_; }
  [[nodiscard]] int node() const noexcept { return node_; }

  // The CPUs processor number i should be pinned to (empty: unpinned), for
  // a ring placed on ring_node (-1: not placed).
  [[nodiscard]] std::vector<int> cpus_for(std::size_t i, int ring_node) const {
    const auto& t = numa::topology::system();
    switch (kind_) {
      case kind::unpinned:
        return {};
      case kind::on_cpus:
        return {cpus_[i % cpus_.size()]};
      case kind::on_node:
        return t.cpus_of_node(node_);
      case kind::follow_ring:
        if (ring_node >= 0 && t.node_count() > 1 && t.has_node(ring_node)) return t.cpus_of_node(ring_node);
        return {};
    }
    return {};
  }

 private:
  processor_placement(kind k, std::vector<int> cpus, int node) : kind_(k), cpus_(std::move(cpus)), node_(node) {}
  kind kind_;
  std::vector<int> cpus_;
  int node_;
};

template <class E, sequencer Sequencer>
class disruptor;

// A set of consumers added together; then() adds consumers after all of them.
template <class E, sequencer Sequencer>
class event_handler_group {
 public:
  // Handlers that each handle every event after every member of this group.
  template <class... H>
  event_handler_group then(H&... handlers) {
    return d_->add(members_, handlers...);
  }
  template <class... H>
  event_handler_group handle_events_with(H&... handlers) {
    return then(handlers...);
  }
  // This group and `other` together (for then()).
  [[nodiscard]] event_handler_group and_(const event_handler_group& other) const {
    event_handler_group g = *this;
    g.members_.insert(g.members_.end(), other.members_.begin(), other.members_.end());
    return g;
  }
  // The sequences of the members (what a consumer after them waits on).
  [[nodiscard]] std::vector<const sequence*> sequences() const { return d_->sequences_of(members_); }

 private:
  friend class disruptor<E, Sequencer>;
  event_handler_group(disruptor<E, Sequencer>* d, std::vector<std::size_t> members)
      : d_(d), members_(std::move(members)) {}
  disruptor<E, Sequencer>* d_;
  std::vector<std::size_t> members_;  // indices into the disruptor's consumers
};

template <class E, sequencer Sequencer>
class disruptor {
 public:
  using ring_type = ring_buffer<E, Sequencer>;
  using group = event_handler_group<E, Sequencer>;

  // The ring: see ring_buffer's constructor (same arguments, same errors).
  template <class Factory, class... WaitArgs>
  disruptor(std::size_t buffer_size, Factory&& factory, ring_memory where = {}, WaitArgs&&... wait_args)
      : ring_(buffer_size, std::forward<Factory>(factory), where, std::forward<WaitArgs>(wait_args)...) {}
  ~disruptor() { halt(); }
  disruptor(const disruptor&) = delete;
  disruptor& operator=(const disruptor&) = delete;

  // Consumers straight after the producer (see the file comment).
  // std::invalid_argument if a handler was added before; std::logic_error
  // after start().
  template <class... H>
  group handle_events_with(H&... handlers) {
    return add({}, handlers...);
  }
  // The group of already-added handlers, to add consumers after them.
  // std::invalid_argument for a handler never added.
  template <class... H>
  group after(H&... handlers) {
    std::vector<std::size_t> members;
    (members.push_back(index_of(&handlers)), ...);
    return group(this, std::move(members));
  }

  // Defaults for processors added after the call. Before start().
  void set_max_batch_size(std::size_t n) {
    if (n == 0)
      throw std::invalid_argument("quiesce::disruptor: max_batch_size 0; use at least 1 (or unlimited_batch_size)");
    max_batch_ = n;
  }
  // For every handler without its own; h must outlive the disruptor.
  void set_default_exception_handler(exception_handler<E>& h) noexcept { default_exceptions_ = &h; }
  template <class H>
  void set_exception_handler(H& handler, exception_handler<E>& h) {
    consumers_[index_of(&handler)].exceptions = &h;
  }
  template <class H>
  void set_rewind_strategy(H& handler, batch_rewind_strategy& s) {
    consumers_[index_of(&handler)].rewind = &s;
  }
  void set_placement(processor_placement p) {
    check_not_started("set_placement");
    placement_ = std::move(p);
  }

  // Starts one thread per processor, each pinned as the placement says
  // (pinned before start() returns), and returns the ring to publish to.
  // std::logic_error if already started or there are no handlers;
  // std::system_error if the kernel refuses a pin (nothing is left running).
  ring_type& start() {
    check_not_started("start");
    if (consumers_.empty())
      throw std::logic_error("quiesce::disruptor: start() with no event handlers; add some with handle_events_with()");
    started_ = true;
    std::vector<sequence*> gating;
    for (auto& c : consumers_) {
      c.configure(*c.processor, c.exceptions ? c.exceptions : default_exceptions_, c.rewind);
      if (c.leaf) gating.push_back(&c.processor->get_sequence());
    }
    ring_.add_gating_sequences(gating);
    std::vector<std::future<void>> pinned;
    for (std::size_t i = 0; i < consumers_.size(); ++i) {
      std::promise<void> ready;
      pinned.push_back(ready.get_future());
      threads_.emplace_back([p = consumers_[i].processor.get(), cpus = placement_.cpus_for(i, ring_.node()),
                             ready = std::move(ready)]() mutable {
        std::optional<numa::scoped_affinity> pin;
        try {
          if (!cpus.empty()) pin.emplace(std::span<const int>(cpus));
          ready.set_value();
        } catch (...) {
          ready.set_exception(std::current_exception());
          p->halt();  // run() below then returns at once
        }
        p->run();
      });
    }
    std::exception_ptr failure;
    for (auto& f : pinned) {
      try {
        f.get();
      } catch (...) {
        if (!failure) failure = std::current_exception();
      }
    }
    if (failure) {
      halt();
      std::rethrow_exception(failure);
    }
    return ring_;
  }

  // True while some published event is not yet handled by every leaf
  // consumer. Any thread.
  [[nodiscard]] bool has_backlog() const noexcept {
    const std::int64_t cursor = ring_.cursor();
    for (const auto& c : consumers_)
      if (c.leaf && cursor > c.processor->get_sequence().get()) return true;
    return false;
  }
  // Waits (yielding) until every event published before the call — and
  // every event claimed before it, for a multi-producer ring: those must be
  // published eventually — has been handled by every consumer. The
  // processors keep running. Call only while they run (after start(),
  // before halt()), else it would wait forever: std::logic_error.
  void drain() {
    check_running("drain");
    while (has_backlog()) std::this_thread::yield();
  }
  // As drain(), but gives up after `timeout`: false if events remain.
  bool drain_for(std::chrono::nanoseconds timeout) {
    check_running("drain_for");
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (has_backlog()) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      std::this_thread::yield();
    }
    return true;
  }
  // drain(), then halt(): every published event handled, threads joined.
  void shutdown() {
    if (started_ && !halted_) drain();
    halt();
  }
  // Halts every processor (they stop after the batch in hand; unhandled
  // events stay unhandled) and joins their threads. Idempotent; a halted
  // disruptor cannot be started again.
  void halt() noexcept {
    if (halted_ || !started_) {
      halted_ = halted_ || started_;
      return;
    }
    halted_ = true;
    for (auto& c : consumers_) c.processor->halt();
    for (auto& t : threads_)
      if (t.joinable()) t.join();
  }

  [[nodiscard]] ring_type& ring() noexcept { return ring_; }
  // The sequence of a handler's processor (its progress). Any thread.
  template <class H>
  [[nodiscard]] std::int64_t sequence_of(H& handler) const {
    return consumers_[index_of(&handler)].processor->get_sequence().get();
  }
  // The producer calls, forwarded to the ring (the ring's comments apply).
  template <class F, class... Args>
  void publish_event(F&& translator, Args&&... args) {
    ring_.publish_event(std::forward<F>(translator), std::forward<Args>(args)...);
  }

 private:
  friend class event_handler_group<E, Sequencer>;

  struct consumer {
    std::unique_ptr<event_processor> processor;
    const void* handler;
    bool leaf = true;
    exception_handler<E>* exceptions = nullptr;
    batch_rewind_strategy* rewind = nullptr;
    void (*configure)(event_processor&, exception_handler<E>*, batch_rewind_strategy*);
  };

  template <class... H>
  group add(const std::vector<std::size_t>& after, H&... handlers) {
    check_not_started("handle_events_with/then");
    static_assert(sizeof...(H) > 0, "handle_events_with/then: pass at least one event handler");
    static_assert((event_handler<H, E> && ...),
                  "every handler needs on_event(E& event, std::int64_t seq, bool end_of_batch)");
    (check_new(&handlers), ...);
    std::vector<const sequence*> deps = sequences_of(after);
    for (std::size_t i : after) consumers_[i].leaf = false;
    std::vector<std::size_t> members;
    (members.push_back(add_one(deps, handlers)), ...);
    return group(this, std::move(members));
  }
  template <class H>
  std::size_t add_one(const std::vector<const sequence*>& deps, H& handler) {
    using processor_type = batch_event_processor<E, Sequencer, H>;
    consumer c;
    c.processor = std::make_unique<processor_type>(ring_, handler, deps, max_batch_);
    c.handler = &handler;
    c.configure = [](event_processor& p, exception_handler<E>* eh, batch_rewind_strategy* rw) {
      auto& typed = static_cast<processor_type&>(p);
      typed.set_exception_handler(*eh);
      if (rw != nullptr) typed.set_rewind_strategy(*rw);
    };
    consumers_.push_back(std::move(c));
    return consumers_.size() - 1;
  }
  std::vector<const sequence*> sequences_of(const std::vector<std::size_t>& members) const {
    std::vector<const sequence*> out;
    for (std::size_t i : members) out.push_back(&consumers_[i].processor->get_sequence());
    return out;
  }
  void check_new(const void* h) const {
    for (const auto& c : consumers_)
      if (c.handler == h)
        throw std::invalid_argument(
            "quiesce::disruptor: this event handler was added already; each handler object runs in one processor "
            "(use after(handler) to add consumers behind it)");
  }
  std::size_t index_of(const void* h) const {
    for (std::size_t i = 0; i < consumers_.size(); ++i)
      if (consumers_[i].handler == h) return i;
    throw std::invalid_argument(
        "quiesce::disruptor: this event handler was never added; add it with handle_events_with() first");
  }
  void check_not_started(const char* what) const {
    if (started_)
      throw std::logic_error(std::string("quiesce::disruptor: ") + what +
                             " after start(); set up every handler first, and start a disruptor once");
  }
  void check_running(const char* what) const {
    if (!started_ || halted_)
      throw std::logic_error(std::string("quiesce::disruptor: ") + what +
                             " needs running processors (after start(), before halt()); it would wait forever");
  }

  ring_type ring_;
  std::vector<consumer> consumers_;
  std::vector<std::thread> threads_;
  std::size_t max_batch_ = unlimited_batch_size;
  exception_handler<E>* default_exceptions_ = &fatal_exception_handler<E>::instance();
  processor_placement placement_ = processor_placement::follow_ring();
  bool started_ = false;
  bool halted_ = false;
};

}  // namespace quiesce::disruptor

#endif  // QUIESCE_DISRUPTOR_DISRUPTOR_HPP
