// quiesce/rcu/signal.hpp — RCU read-side sections inside signal handlers.
//
// What it is
//   rcu_signal_read_guard<Domain> is rcu_read_guard for code that runs in a
//   signal handler (or anything else that may interrupt a thread at an
//   arbitrary instruction). It is async-signal-safe: it never registers the
//   thread, never takes a lock, never allocates, and leaves errno as it found
//   it. It works for the flavours whose read side is a per-thread nesting
//   counter that a nested section restores exactly (liburcu's read_lock /
//   read_unlock for memb, mb and bp read the counter, then store counter +/-
//   one nesting level: a handler that runs between the load and the store
//   enters and leaves its own section and puts the counter back, so the
//   interrupted section is unaffected):
//
//     memb (rcu_domain, the default), mb (rcu_mb_domain): the thread must be
//       registered, by an rcu_thread_registration it holds, by an earlier
//       rcu_read_guard (implicit registration), or directly through liburcu.
//     bp (rcu_bp_domain): the thread must have entered one bp read-side
//       section (or called rcu_thread_registration<rcu_bp_domain>) before:
//       liburcu-bp registers a thread inside its first read_lock, with a mutex
//       and an mmap, which a handler must not do.
//     qsbr (rcu_qsbr_domain): rejected at compile time. A QSBR read-side
//       section is "the thread is online and has not announced a quiescent
//       state"; the interrupted thread may be offline, or in the middle of
//       rcu_quiescent_state(), so nothing would keep a grace period from
//       ending under the handler's feet.
//
//   If the interrupted thread is not registered, the guard does not register
//   it: it writes "quiesce: fatal: ..." with write(2) and calls abort(), both
//   async-signal-safe. Register every thread that may take the signal before
//   the handler is installed or the signal unblocked in it, and block the
//   signal before the thread ends its registration (a thread registered
//   implicitly by a guard is unregistered while it exits).
//
// Example
//   quiesce::rcu_ptr<config> cfg{...};
//   void on_sigusr1(int) {
//     quiesce::rcu_signal_read_guard g;          // memb, registered thread
//     const config* c = cfg.load(g);              // valid until g ends
//     write_some_stats(c);                        // async-signal-safe work only
//   }
//   // in each thread that may take SIGUSR1, before unblocking it:
//   quiesce::rcu_thread_registration<quiesce::rcu_domain> reg;
//
// Cost: rcu_read_guard's (memb: TLS counter updates and compiler barriers;
//   mb: two full fences) plus one TLS load (the registration test) and an
//   errno save/restore around the exit.
//
// Grace periods and retires from a handler are not async-signal-safe
// (rcu_synchronize/rcu_barrier block on mutexes and futexes the interrupted
// thread may hold; retire allocates): do not call them there.
//
// Seqlocks: a seqlock<T> reader in a handler that interrupted its own
// thread's store() of the same seqlock spins forever (checks builds abort
// with a message instead); seqcount_latch<T> is the reader that may
// interrupt its writer (quiesce/seqlock.hpp).
#ifndef QUIESCE_RCU_SIGNAL_HPP
#define QUIESCE_RCU_SIGNAL_HPP

#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <type_traits>

#include <quiesce/base/fatal.hpp>
#include <quiesce/rcu/rcu_domain.hpp>

namespace quiesce {

namespace detail::rcu {

// detail::rcu::fatal is async-signal-safe (quiesce/base/fatal.hpp: write(2) and
// abort() only), so the signal-handler checks use it as it is.
[[noreturn]] inline void signal_safe_fatal(const char* what, const char* hint) noexcept { base::fatal(what, hint); }

template <class F>
[[noreturn, gnu::cold, gnu::noinline]] void signal_guard_unregistered() noexcept {
  if constexpr (std::is_same_v<F, rcu_flavor::bp>)
    signal_safe_fatal(
        "rcu_signal_read_guard<rcu_bp_domain> in a thread that liburcu-bp has not registered yet "
        "(registering takes a mutex and maps memory: not async-signal-safe)",
        "enter one bp read-side section (or hold quiesce::rcu_thread_registration<quiesce::rcu_bp_domain>) "
        "in every thread that may take the signal, before installing or unblocking the handler");
  else if constexpr (std::is_same_v<F, rcu_flavor::mb>)
    signal_safe_fatal(
        "rcu_signal_read_guard<rcu_mb_domain> in a thread that is not registered with the mb domain "
        "(registering takes a mutex and allocates: not async-signal-safe)",
        "hold a quiesce::rcu_thread_registration<quiesce::rcu_mb_domain> in every thread that may take the "
        "signal, from before the handler is installed or the signal unblocked until after it is blocked");
  else
    signal_safe_fatal(
        "rcu_signal_read_guard<rcu_domain> in a thread that is not registered with the memb domain "
        "(registering takes a mutex and allocates: not async-signal-safe)",
        "hold a quiesce::rcu_thread_registration<quiesce::rcu_domain> in every thread that may take the "
        "signal, from before the handler is installed or the signal unblocked until after it is blocked");
}

}  // namespace detail::rcu

// A read-side critical section for signal handlers. Non-copyable,
// non-movable; nests (with itself and with rcu_read_guard sections the
// handler interrupted). Contract, cost and flavours: see the header comment.
//   Ordering: as rcu_read_guard — loads inside the section are not moved
//   before it; a grace period that starts after the section began waits
//   for it to end.
//   Usable anywhere rcu_read_guard<Domain> is accepted as proof of a
//   read-side section (rcu_ptr::load, the RCU containers' lookups).
template <class Domain = rcu_domain>
class [[nodiscard]] rcu_signal_read_guard {
  static_assert(rcu_domain_type<Domain>, "rcu_signal_read_guard<D>: D must be a quiesce RCU domain type");
  using F = typename Domain::flavor_type;
  static_assert(!std::is_same_v<F, rcu_flavor::qsbr>,
                "QSBR readers cannot run in signal handlers: the interrupted thread may be offline or in the "
                "middle of a quiescent state, so the handler's read-side section would not be protected; "
                "use rcu_domain (memb) or rcu_mb_domain (or rcu_bp_domain) for data that handlers read");

 public:
  using domain_type = Domain;

  [[gnu::always_inline]] rcu_signal_read_guard() noexcept {
    if (!F::registered()) [[unlikely]]
      detail::rcu::signal_guard_unregistered<F>();
    Domain::read_lock_registered();
  }
  [[gnu::always_inline]] explicit rcu_signal_read_guard(std::type_identity_t<Domain>&) noexcept
      : rcu_signal_read_guard() {}
  // The outermost unlock may wake a waiting grace period with futex(2),
  // which can set errno: the interrupted code's errno is put back.
  [[gnu::always_inline]] ~rcu_signal_read_guard() {
    const int saved = errno;
    Domain::read_unlock();
    errno = saved;
  }
  rcu_signal_read_guard(const rcu_signal_read_guard&) = delete;
  rcu_signal_read_guard& operator=(const rcu_signal_read_guard&) = delete;
};
template <class F>
rcu_signal_read_guard(basic_rcu_domain<F>&) -> rcu_signal_read_guard<basic_rcu_domain<F>>;

}  // namespace quiesce

#endif  // QUIESCE_RCU_SIGNAL_HPP
