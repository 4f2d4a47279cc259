// quiesce/rcu/fork.hpp — fork() without exec() in a program that uses RCU.
//
// Linux copies only the forking thread into the child. liburcu 0.13.2 then
// needs its fork handlers run around fork() (call_rcu workers paused and
// recreated; bp's registry cleaned), and the memb/mb/qsbr registries still
// list the parent's other threads. quiesce makes the child fully usable:
//
//   pid_t pid;
//   { quiesce::rcu_fork_guard g; pid = fork(); }   // or: pid = quiesce::rcu_fork();
//
// Before fork() the guard takes quiesce's registration lock and every
// flavour's grace-period gate (no registration and no quiesce-initiated grace
// period is half done in the child), and runs liburcu's before-fork handlers
// for the flavours in use. Its destructor tells parent from child by pid and
// runs the matching handlers. In the child, every reader record of a thread
// that did not survive the fork is marked quiescent, so grace periods do not
// wait for dead threads (records of threads registered directly through
// liburcu, not through quiesce, are not known to quiesce and keep their state).
//
// A thread that is online in QSBR goes offline for the fork (the guard's
// waits would otherwise wait for its quiescent state) and back online in
// both processes afterwards: the fork is a quiescent state for it.
//
// Retires may run in other threads throughout: liburcu 0.13.2's call_rcu()
// enqueues in two steps, and a copy of its queue taken between them would
// leave the child's worker spinning on a half-linked node forever. The guard
// therefore first waits for every call_rcu() in progress (each retiring
// thread marks a slot busy around it; the guard fences every thread with
// membarrier() and waits for the busy slots), and retires that start while it is held defer their node to a
// lock-free list instead of calling call_rcu(); the guard's destructor hands
// that list to call_rcu() in the parent and in the child. The retiring thread
// does not wait for the fork, except for a thread's first-ever registration
// (quiesce's registry mutex, which the guard holds across fork() so that the
// child inherits it unlocked). rcu_barrier() also hands deferred nodes to
// call_rcu() before it waits, so a retire that returned before the barrier
// began is covered even if it was deferred. Cost: a TLS load, a load and two
// relaxed stores per retire (rcu_domain.hpp, detail::rcu::fork_slot).
//
// The stall detector's watchdog (rcu/stall.hpp) does not survive fork(); the
// child's first grace period, barrier or retire starts its own.
//
// Do not use pthread_atfork() for this: liburcu's documentation warns it
// deadlocks when deleters call malloc().
#ifndef QUIESCE_RCU_FORK_HPP
#define QUIESCE_RCU_FORK_HPP

#include <sys/types.h>

namespace quiesce {

class [[nodiscard]] rcu_fork_guard {
 public:
  // Must not be created inside a read-side section (fatal; a QSBR guard is
  // known in checks builds): the guard waits for in-flight grace periods,
  // which would wait for this thread.
  rcu_fork_guard() noexcept;
  ~rcu_fork_guard();
  rcu_fork_guard(const rcu_fork_guard&) = delete;
  rcu_fork_guard& operator=(const rcu_fork_guard&) = delete;

 private:
  void unlock_gates() noexcept;
  pid_t parent_;
  bool qsbr_was_online_;
  unsigned used_ = 0;  // flavours whose liburcu fork handlers run (one snapshot for all three)
};

// fork() inside an rcu_fork_guard. Returns what fork() returns.
pid_t rcu_fork() noexcept;

}  // namespace quiesce

#endif  // QUIESCE_RCU_FORK_HPP
