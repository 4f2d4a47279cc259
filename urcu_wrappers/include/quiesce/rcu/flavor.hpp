// quiesce/rcu/flavor.hpp — liburcu's four flavours as C++ policy types.
//
// Each type below maps one liburcu flavour onto one interface, so that
// basic_rcu_domain<Flavor>, the guards, retire and the containers are written
// once. Users name a flavour only to pick a domain (rcu_qsbr_domain, ...);
// the static members are the raw liburcu calls and carry liburcu's contracts.
//
//   flavour | read side (perf/rcu_bench read/*)             | registration        | grace period
//   --------+-----------------------------------------------+---------------------+-------------------------
//   memb    | TLS counter update, compiler barrier          | implicit on 1st use | membarrier() syscall
//   qsbr    | nothing; threads announce quiescent states    | explicit, required  | waits for quiescent states
//   mb      | TLS counter update + full fence, at each end  | implicit on 1st use | no syscall
//   bp      | like memb, plus "registered?" test            | automatic (liburcu) | membarrier(); fork-safe
//
// The table is the reason quiesce offers all four: memb is the right default
// (the C++26 rcu_default_domain()), qsbr for event loops that can announce
// quiescent states, mb where membarrier() is unavailable or forbidden, bp for
// code that cannot register threads (libraries, threads it does not own) or
// must survive fork() without exec().
#ifndef QUIESCE_RCU_FLAVOR_HPP
#define QUIESCE_RCU_FLAVOR_HPP

#include <concepts>

// The read-side functions are [[gnu::always_inline]]: clang 14 otherwise
// outlines the guard's path and a guard costs a call (perf/rcu_bench
// read/memb/quiesce_guard and read/bp/quiesce_guard vs liburcu_inline).

#include <quiesce/rcu/detail/liburcu.hpp>

namespace quiesce::detail::rcu {
// True while quiesce holds the calling thread's liburcu-memb registration
// (taken implicitly by a guard, or by an rcu_thread_registration) and
// liburcu found membarrier() (urcu_memb_has_sys_membarrier, fixed when
// liburcu is loaded). The memb read side then takes its fast path
// (rcu_flavor::memb::try_read_lock_fast): this one thread-local test stands
// for both liburcu's "registered?" and its "membarrier?", so a guard that
// registers threads on first use costs what liburcu's inline pair costs.
// Set and cleared with the registration (urcu_wrappers/src/rcu_domain.cpp),
// never for a thread the user registered through liburcu directly: quiesce
// could not see that registration end.
inline constinit thread_local bool memb_fast_reader = false;
}  // namespace quiesce::detail::rcu

namespace quiesce::rcu_flavor {

// The default flavour: memory barriers on the grace-period side only, via
// membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) (falls back to mb on the read
// side when the kernel lacks it).
struct memb {
  static constexpr const char* name = "memb";
  static constexpr int index = 0;
  static constexpr bool implicit_registration = true;
  static constexpr bool has_read_side_counter = true;

#if QUIESCE_TSAN
  [[gnu::always_inline]] static void read_lock() noexcept { detail::rcu::urcu_exported::memb_read_lock(); }
  [[gnu::always_inline]] static void read_unlock() noexcept { detail::rcu::urcu_exported::memb_read_unlock(); }
  static constexpr bool has_fast_read_lock = false;
#else
  [[gnu::always_inline]] static void read_lock() noexcept { _urcu_memb_read_lock(); }

  // liburcu's memb read side (_urcu_memb_read_lock/_unlock in
  // <urcu/static/urcu-memb.h>, the same in 0.13 and 0.15) with its
  // "membarrier?" test (a load of the global urcu_memb_has_sys_membarrier,
  // three per section) replaced by the thread's detail::rcu::memb_fast_reader,
  // which also answers "registered?". The protocol is liburcu's: the
  // outermost lock copies the grace-period counter (urcu_memb_gp.ctr) into
  // the thread's reader counter, nesting adds URCU_GP_COUNT, the outermost
  // unlock takes it off again and wakes a waiting synchronize_rcu. With
  // membarrier() the reader needs only compiler barriers: synchronize_rcu's
  // membarrier() orders every reader's section against the grace period.
  static constexpr bool has_fast_read_lock = true;
  // Enters a section and returns true, or returns false having done nothing
  // when the outermost lock of a thread without memb_fast_reader needs the
  // slow path (register if needed, then liburcu's own lock).
  [[gnu::always_inline]] static bool try_read_lock_fast() noexcept {
    cmm_barrier();
    unsigned long* const ctr = &URCU_TLS(urcu_memb_reader).ctr;
    const unsigned long tmp = __atomic_load_n(ctr, __ATOMIC_RELAXED);
    if (tmp & URCU_GP_CTR_NEST_MASK) {  // nested: the outer lock registered the thread
      __atomic_store_n(ctr, tmp + URCU_GP_COUNT, __ATOMIC_RELAXED);
      return true;
    }
    if (!detail::rcu::memb_fast_reader) [[unlikely]] return false;
    __atomic_store_n(ctr, __atomic_load_n(&urcu_memb_gp.ctr, __ATOMIC_RELAXED), __ATOMIC_RELAXED);
    cmm_barrier();  // liburcu's urcu_memb_smp_mb_slave() with membarrier()
    return true;
  }
  [[gnu::always_inline]] static void read_unlock() noexcept {
    unsigned long* const ctr = &URCU_TLS(urcu_memb_reader).ctr;
    const unsigned long tmp = __atomic_load_n(ctr, __ATOMIC_RELAXED);
    if ((tmp & URCU_GP_CTR_NEST_MASK) == URCU_GP_COUNT) [[likely]] {  // outermost
      if (!detail::rcu::memb_fast_reader) [[unlikely]] {
        _urcu_memb_read_unlock();  // registered through liburcu, or no membarrier(): liburcu's own
        return;
      }
      cmm_barrier();
      __atomic_store_n(ctr, tmp - URCU_GP_COUNT, __ATOMIC_RELAXED);
      cmm_barrier();
      urcu_common_wake_up_gp(&urcu_memb_gp);
    } else {
      __atomic_store_n(ctr, tmp - URCU_GP_COUNT, __ATOMIC_RELAXED);
    }
    cmm_barrier();  // as liburcu: the compiler does not move the unlock past what follows
  }
#endif
  [[gnu::always_inline]] static bool read_ongoing() noexcept { return _urcu_memb_read_ongoing() != 0; }
  [[gnu::always_inline]] static bool registered() noexcept { return URCU_TLS(urcu_memb_reader).registered != 0; }
  static unsigned long* reader_ctr() noexcept { return &URCU_TLS(urcu_memb_reader).ctr; }
  static cds_list_head* reader_node() noexcept { return &URCU_TLS(urcu_memb_reader).node; }
  static void register_thread() noexcept { urcu_memb_register_thread(); }
  static void unregister_thread() noexcept { urcu_memb_unregister_thread(); }
  static void synchronize() noexcept { urcu_memb_synchronize_rcu(); }
  static void call(rcu_head* h, void (*f)(rcu_head*)) noexcept { urcu_memb_call_rcu(h, f); }
  static void barrier() noexcept { urcu_memb_barrier(); }
  static call_rcu_data* create_call_rcu_data(unsigned long flags, int cpu) noexcept {
    return urcu_memb_create_call_rcu_data(flags, cpu);
  }
  static void call_rcu_data_free(call_rcu_data* c) noexcept { urcu_memb_call_rcu_data_free(c); }
  static void set_thread_call_rcu_data(call_rcu_data* c) noexcept { urcu_memb_set_thread_call_rcu_data(c); }
  static call_rcu_data* get_thread_call_rcu_data() noexcept { return urcu_memb_get_thread_call_rcu_data(); }
  static pthread_t call_rcu_thread(call_rcu_data* c) noexcept { return urcu_memb_get_call_rcu_thread(c); }
  static int create_all_cpu_call_rcu_data(unsigned long flags) noexcept {
    return urcu_memb_create_all_cpu_call_rcu_data(flags);
  }
  static void free_all_cpu_call_rcu_data() noexcept { urcu_memb_free_all_cpu_call_rcu_data(); }
  static void before_fork() noexcept { urcu_memb_call_rcu_before_fork(); }
  static void after_fork_parent() noexcept { urcu_memb_call_rcu_after_fork_parent(); }
  static void after_fork_child() noexcept { urcu_memb_call_rcu_after_fork_child(); }
  static const rcu_flavor_struct* flavor_struct() noexcept { return &urcu_memb_flavor; }
};

// Quiescent-state-based reclamation: free read side, threads must call
// quiescent_state() periodically or go offline, or grace periods never end.
struct qsbr {
  static constexpr const char* name = "qsbr";
  static constexpr int index = 1;
  static constexpr bool implicit_registration = false;
  static constexpr bool has_read_side_counter = false;

  [[gnu::always_inline]] static void read_lock() noexcept { _urcu_qsbr_read_lock(); }
  [[gnu::always_inline]] static void read_unlock() noexcept { _urcu_qsbr_read_unlock(); }
  // For QSBR, liburcu's "read ongoing" means "registered and online".
  [[gnu::always_inline]] static bool online() noexcept { return _urcu_qsbr_read_ongoing() != 0; }
  [[gnu::always_inline]] static bool registered() noexcept { return URCU_TLS(urcu_qsbr_reader).registered != 0; }
  static unsigned long* reader_ctr() noexcept { return &URCU_TLS(urcu_qsbr_reader).ctr; }
  static cds_list_head* reader_node() noexcept { return &URCU_TLS(urcu_qsbr_reader).node; }
  static void register_thread() noexcept { urcu_qsbr_register_thread(); }
  static void unregister_thread() noexcept { urcu_qsbr_unregister_thread(); }
#if QUIESCE_TSAN
  static void quiescent_state() noexcept { detail::rcu::urcu_exported::qsbr_quiescent_state(); }
  static void thread_offline() noexcept { detail::rcu::urcu_exported::qsbr_thread_offline(); }
  static void thread_online() noexcept { detail::rcu::urcu_exported::qsbr_thread_online(); }
#else
  static void quiescent_state() noexcept { _urcu_qsbr_quiescent_state(); }
  static void thread_offline() noexcept { _urcu_qsbr_thread_offline(); }
  static void thread_online() noexcept { _urcu_qsbr_thread_online(); }
#endif
  static void synchronize() noexcept { urcu_qsbr_synchronize_rcu(); }
  static void call(rcu_head* h, void (*f)(rcu_head*)) noexcept { urcu_qsbr_call_rcu(h, f); }
  static void barrier() noexcept { urcu_qsbr_barrier(); }
  static call_rcu_data* create_call_rcu_data(unsigned long flags, int cpu) noexcept {
    return urcu_qsbr_create_call_rcu_data(flags, cpu);
  }
  static void call_rcu_data_free(call_rcu_data* c) noexcept { urcu_qsbr_call_rcu_data_free(c); }
  static void set_thread_call_rcu_data(call_rcu_data* c) noexcept { urcu_qsbr_set_thread_call_rcu_data(c); }
  static call_rcu_data* get_thread_call_rcu_data() noexcept { return urcu_qsbr_get_thread_call_rcu_data(); }
  static pthread_t call_rcu_thread(call_rcu_data* c) noexcept { return urcu_qsbr_get_call_rcu_thread(c); }
  static int create_all_cpu_call_rcu_data(unsigned long flags) noexcept {
    return urcu_qsbr_create_all_cpu_call_rcu_data(flags);
  }
  static void free_all_cpu_call_rcu_data() noexcept { urcu_qsbr_free_all_cpu_call_rcu_data(); }
  static void before_fork() noexcept { urcu_qsbr_call_rcu_before_fork(); }
  static void after_fork_parent() noexcept { urcu_qsbr_call_rcu_after_fork_parent(); }
  static void after_fork_child() noexcept { urcu_qsbr_call_rcu_after_fork_child(); }
  static const rcu_flavor_struct* flavor_struct() noexcept { return &urcu_qsbr_flavor; }
};

// Full memory barriers on the read side; needs no membarrier() syscall.
struct mb {
  static constexpr const char* name = "mb";
  static constexpr int index = 2;
  static constexpr bool implicit_registration = true;
  static constexpr bool has_read_side_counter = true;

#if QUIESCE_TSAN
  [[gnu::always_inline]] static void read_lock() noexcept { detail::rcu::urcu_exported::mb_read_lock(); }
  [[gnu::always_inline]] static void read_unlock() noexcept { detail::rcu::urcu_exported::mb_read_unlock(); }
#else
  [[gnu::always_inline]] static void read_lock() noexcept { _urcu_mb_read_lock(); }
  [[gnu::always_inline]] static void read_unlock() noexcept { _urcu_mb_read_unlock(); }
#endif
  [[gnu::always_inline]] static bool read_ongoing() noexcept { return _urcu_mb_read_ongoing() != 0; }
  [[gnu::always_inline]] static bool registered() noexcept { return URCU_TLS(urcu_mb_reader).registered != 0; }
  static unsigned long* reader_ctr() noexcept { return &URCU_TLS(urcu_mb_reader).ctr; }
  static cds_list_head* reader_node() noexcept { return &URCU_TLS(urcu_mb_reader).node; }
  static void register_thread() noexcept { urcu_mb_register_thread(); }
  static void unregister_thread() noexcept { urcu_mb_unregister_thread(); }
  static void synchronize() noexcept { urcu_mb_synchronize_rcu(); }
  static void call(rcu_head* h, void (*f)(rcu_head*)) noexcept { urcu_mb_call_rcu(h, f); }
  static void barrier() noexcept { urcu_mb_barrier(); }
  static call_rcu_data* create_call_rcu_data(unsigned long flags, int cpu) noexcept {
    return urcu_mb_create_call_rcu_data(flags, cpu);
  }
  static void call_rcu_data_free(call_rcu_data* c) noexcept { urcu_mb_call_rcu_data_free(c); }
  static void set_thread_call_rcu_data(call_rcu_data* c) noexcept { urcu_mb_set_thread_call_rcu_data(c); }
  static call_rcu_data* get_thread_call_rcu_data() noexcept { return urcu_mb_get_thread_call_rcu_data(); }
  static pthread_t call_rcu_thread(call_rcu_data* c) noexcept { return urcu_mb_get_call_rcu_thread(c); }
  static int create_all_cpu_call_rcu_data(unsigned long flags) noexcept {
    return urcu_mb_create_all_cpu_call_rcu_data(flags);
  }
  static void free_all_cpu_call_rcu_data() noexcept { urcu_mb_free_all_cpu_call_rcu_data(); }
  static void before_fork() noexcept { urcu_mb_call_rcu_before_fork(); }
  static void after_fork_parent() noexcept { urcu_mb_call_rcu_after_fork_parent(); }
  static void after_fork_child() noexcept { urcu_mb_call_rcu_after_fork_child(); }
  static const rcu_flavor_struct* flavor_struct() noexcept { return &urcu_mb_flavor; }
};

// "Bulletproof": registers threads by itself and survives fork() without
// exec(); its reader records live in a liburcu-owned arena, not in TLS.
struct bp {
  static constexpr const char* name = "bp";
  static constexpr int index = 3;
  static constexpr bool implicit_registration = false;  // liburcu does it in read_lock
  static constexpr bool has_read_side_counter = true;

#if QUIESCE_TSAN || QUIESCE_UBSAN
  [[gnu::always_inline]] static void read_lock() noexcept { detail::rcu::urcu_exported::bp_read_lock(); }
  [[gnu::always_inline]] static void read_unlock() noexcept { detail::rcu::urcu_exported::bp_read_unlock(); }
  [[gnu::always_inline]] static bool read_ongoing() noexcept { return detail::rcu::urcu_exported::bp_read_ongoing() != 0; }
#else
  [[gnu::always_inline]] static void read_lock() noexcept { _urcu_bp_read_lock(); }
  [[gnu::always_inline]] static void read_unlock() noexcept { _urcu_bp_read_unlock(); }
  [[gnu::always_inline]] static bool read_ongoing() noexcept { return _urcu_bp_read_ongoing() != 0; }
#endif
  [[gnu::always_inline]] static bool registered() noexcept { return URCU_TLS(urcu_bp_reader) != nullptr; }
  static void register_thread() noexcept { urcu_bp_register_thread(); }
  static void unregister_thread() noexcept {}  // bp threads unregister at thread exit
  static void synchronize() noexcept { urcu_bp_synchronize_rcu(); }
  static void call(rcu_head* h, void (*f)(rcu_head*)) noexcept { urcu_bp_call_rcu(h, f); }
  static void barrier() noexcept { urcu_bp_barrier(); }
  static call_rcu_data* create_call_rcu_data(unsigned long flags, int cpu) noexcept {
    return urcu_bp_create_call_rcu_data(flags, cpu);
  }
  static void call_rcu_data_free(call_rcu_data* c) noexcept { urcu_bp_call_rcu_data_free(c); }
  static void set_thread_call_rcu_data(call_rcu_data* c) noexcept { urcu_bp_set_thread_call_rcu_data(c); }
  static call_rcu_data* get_thread_call_rcu_data() noexcept { return urcu_bp_get_thread_call_rcu_data(); }
  static pthread_t call_rcu_thread(call_rcu_data* c) noexcept { return urcu_bp_get_call_rcu_thread(c); }
  static int create_all_cpu_call_rcu_data(unsigned long flags) noexcept {
    return urcu_bp_create_all_cpu_call_rcu_data(flags);
  }
  static void free_all_cpu_call_rcu_data() noexcept { urcu_bp_free_all_cpu_call_rcu_data(); }
  static void before_fork() noexcept { urcu_bp_call_rcu_before_fork(); }
  static void after_fork_parent() noexcept { urcu_bp_call_rcu_after_fork_parent(); }
  static void after_fork_child() noexcept { urcu_bp_call_rcu_after_fork_child(); }
  // bp's own registry handlers: in the child, prune the records of threads
  // that did not survive the fork. Needed whenever any thread used bp.
  static void registry_before_fork() noexcept { urcu_bp_before_fork(); }
  static void registry_after_fork_parent() noexcept { urcu_bp_after_fork_parent(); }
  static void registry_after_fork_child() noexcept { urcu_bp_after_fork_child(); }
  static const rcu_flavor_struct* flavor_struct() noexcept { return &urcu_bp_flavor; }
};

// Satisfied by the four flavour types above.
template <class F>
concept flavor = requires(rcu_head* h, void (*fn)(rcu_head*)) {
  { F::name } -> std::convertible_to<const char*>;
  F::read_lock();
  F::read_unlock();
  F::synchronize();
  F::call(h, fn);
  F::barrier();
};

}  // namespace quiesce::rcu_flavor

#endif  // QUIESCE_RCU_FLAVOR_HPP
