// layout_probe — instantiates quiesce's header-only shared types so that
// their layout is in this object file's debug information, for
// scripts/layout_audit.sh (pahole reads DWARF, and a template has no layout
// until it is instantiated). Compiled with -g -c by that script; never linked
// or run. Add a type here and a rule in scripts/layout_audit.rules.
#include <atomic>
#include <cstdint>

#include <quiesce/numa/per_node.hpp>
#include <quiesce/rcu.hpp>
#include <quiesce/seqlock.hpp>
// The Disruptor is being added: its sequence is audited once the header exists
// (a `rule?` in scripts/layout_audit.rules until then).
#if __has_include(<quiesce/disruptor/sequence.hpp>)
#include <quiesce/disruptor/sequence.hpp>
#define QUIESCE_LAYOUT_PROBE_DISRUPTOR 1
#endif

namespace quiesce_layout_probe {
struct pair16 {
  std::uint64_t a, b;
};
}  // namespace quiesce_layout_probe

template class quiesce::numa::per_node<std::atomic<long>>;
template class quiesce::seqlock<quiesce_layout_probe::pair16>;
template class quiesce::seqcount_latch<quiesce_layout_probe::pair16>;

// The RCU domains are class templates with one static instance each; naming
// their sizes keeps their definitions in the debug information.
extern const std::size_t quiesce_layout_probe_sizes[] = {
    sizeof(quiesce::rcu_domain),
    sizeof(quiesce::rcu_qsbr_domain),
#ifdef QUIESCE_LAYOUT_PROBE_DISRUPTOR
    sizeof(quiesce::disruptor::sequence),
#endif
};
