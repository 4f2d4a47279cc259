// quiesce/rcu.hpp — the C++26 <rcu> interface over liburcu, and what servers
// need beyond it.
//
// Name for name with C++26 [saferecl.rcu] (P2545R4), in namespace quiesce:
//   rcu_obj_base<T, D>, rcu_domain (Lockable), rcu_default_domain(),
//   rcu_synchronize(dom), rcu_barrier(dom), rcu_retire(p, d, dom).
// Code written against <rcu> compiles after replacing `std::` by `quiesce::`.
// Semantics are the standard's: any thread may enter a read-side section of
// the default domain with no registration (std::scoped_lock l(rcu_default_domain());),
// rcu_synchronize waits for pre-existing readers only, rcu_barrier waits for
// the deleters of everything retired before it, deleters run outside
// read-side sections.
//
// Beyond the standard (each in its own header, all included here):
//   rcu/flavor.hpp           memb (default), qsbr, mb, bp: what each costs
//   rcu/rcu_domain.hpp       domains per flavour, rcu_read_guard, registration,
//                            QSBR quiescent states and offline scopes, polled
//                            grace periods, the retire backlog bound
//   rcu/rcu_obj_base.hpp     self-retiring objects
//   rcu/rcu_ptr.hpp          typed owning RCU pointer
//   rcu/call_rcu_worker.hpp  dedicated / per-CPU / pinned call_rcu workers
//   rcu/fork.hpp             fork() without exec()
//   rcu/stall.hpp            grace-period stall warnings (which thread, how long)
//   rcu/signal.hpp           read-side sections in signal handlers
//   rcu/hash_map.hpp         typed map over liburcu's lock-free hash table
//   rcu/list.hpp             typed RCU list over cds_list
//
// Minimal use:
//   struct conf : quiesce::rcu_obj_base<conf> { int port; };
//   std::atomic<conf*> cur{new conf{}};
//   { std::scoped_lock l(quiesce::rcu_default_domain()); read(cur.load()->port); }
//   cur.exchange(new conf{...})->retire();
//   quiesce::rcu_barrier();   // before exit, optional: quiesce does it at exit
#ifndef QUIESCE_RCU_HPP
#define QUIESCE_RCU_HPP

#include <quiesce/rcu/flavor.hpp>
#include <quiesce/rcu/rcu_domain.hpp>
#include <quiesce/rcu/rcu_obj_base.hpp>
#include <quiesce/rcu/rcu_ptr.hpp>
#include <quiesce/rcu/call_rcu_worker.hpp>
#include <quiesce/rcu/fork.hpp>
#include <quiesce/rcu/stall.hpp>
#include <quiesce/rcu/signal.hpp>
#include <quiesce/rcu/hash_map.hpp>
#include <quiesce/rcu/list.hpp>

#endif  // QUIESCE_RCU_HPP
