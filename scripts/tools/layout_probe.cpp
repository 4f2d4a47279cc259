// layout_probe — instantiates quiesce's header-only shared types so that
// their layout is in this object file's debug information, for
// scripts/layout_audit.sh (pahole reads DWARF, and a template has no layout
// until it is instantiated). Compiled with -g -c by that script; never linked
// or run. Add a type here and a rule in scripts/layout_audit.rules.
#include <atomic>
#include <cstdint>

#include <quiesce/counter.hpp>
#include <quiesce/disruptor/sequence.hpp>
#include <quiesce/disruptor/sequencer.hpp>
#include <quiesce/disruptor/wait_strategy.hpp>
#include <quiesce/numa/per_node.hpp>
#include <quiesce/rcu.hpp>
#include <quiesce/seqlock.hpp>
#include <quiesce/versioned_cell.hpp>

namespace quiesce_layout_probe {
struct pair16 {
  std::uint64_t a, b;
};
}  // namespace quiesce_layout_probe

template class quiesce::numa::per_node<std::atomic<long>>;
template class quiesce::seqlock<quiesce_layout_probe::pair16>;
template class quiesce::seqcount_latch<quiesce_layout_probe::pair16>;
template class quiesce::versioned_cell<quiesce_layout_probe::pair16>;

// Naming a type's size instantiates it (the RCU domains are class templates
// with one static instance each) and keeps its definition in the debug
// information.
extern const std::size_t quiesce_layout_probe_sizes[] = {
    sizeof(quiesce::rcu_domain),
    sizeof(quiesce::rcu_qsbr_domain),
    sizeof(quiesce::disruptor::sequence),
    sizeof(quiesce::cas_counter),
    sizeof(quiesce::detail::seqlock::shard_slot),
    sizeof(quiesce::disruptor::single_producer_sequencer<quiesce::disruptor::busy_spin_wait_strategy>),
    sizeof(quiesce::disruptor::multi_producer_sequencer<quiesce::disruptor::busy_spin_wait_strategy>),
    sizeof(quiesce::disruptor::detail::sequencer_shared_state<quiesce::disruptor::detail::single_producer_fields>),
    sizeof(quiesce::disruptor::detail::sequencer_shared_state<quiesce::disruptor::sequence>),
};

// Clang emits a class template's layout only where an object of it is
// defined or used (sizeof is not enough): one function that reads each.
namespace quiesce_layout_probe {
using busy = quiesce::disruptor::busy_spin_wait_strategy;
std::int64_t read_all(const quiesce::disruptor::single_producer_sequencer<busy>& s,
                      const quiesce::disruptor::multi_producer_sequencer<busy>& m,
                      const quiesce::disruptor::detail::sequencer_shared_state<quiesce::disruptor::detail::single_producer_fields>& ss,
                      const quiesce::disruptor::detail::sequencer_shared_state<quiesce::disruptor::sequence>& ms) {
  return s.cursor() + m.cursor() + ss.producer.next_value + ms.producer.get() + ss.gating_readers.value.load();
}
}  // namespace quiesce_layout_probe

// The counters and the versioned cell, for the same reason.
namespace quiesce_layout_probe {
std::int64_t read_counters(const quiesce::cas_counter& c, const quiesce::detail::seqlock::shard_slot& s,
                           const quiesce::versioned_cell<pair16>& v) {
  return c.load() + s.value.load() + static_cast<std::int64_t>(v.version());
}
}  // namespace quiesce_layout_probe

// The fork exclusion's per-thread slot and the lite-blocking wait strategy.
namespace quiesce_layout_probe {
unsigned read_fork_slot(const quiesce::detail::rcu::fork_slot& f, const quiesce::disruptor::lite_blocking_wait_strategy& w) {
  return f.busy.load() + static_cast<unsigned>(sizeof w);
}
}  // namespace quiesce_layout_probe
