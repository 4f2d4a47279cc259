// quiesce/rcu/call_rcu_worker.hpp — dedicated and per-CPU call_rcu workers.
//
// By default every retire of a flavour goes to quiesce's reclaimer thread
// (see detail::rcu::reclaim_queue in rcu_domain.hpp): it starts a batch when
// woken, waits one grace period and runs the batch's deleters. Where one
// worker cannot keep up (many writer cores), or deleters must run on a chosen
// CPU (cache or NUMA locality), give threads or CPUs their own liburcu
// call_rcu workers; those sleep 10 ms to gather each batch, and rcu_barrier()
// then also waits for them:
//
//   quiesce::call_rcu_worker w{/*cpu=*/3};   // worker thread pinned to CPU 3
//   auto use = w.attach();                   // this thread's retires go to w
//   ...                                      // `use` detaches at scope end
//
//   quiesce::per_cpu_call_rcu_workers all;   // one worker per possible CPU;
//                                            // retires go to the caller's CPU's worker
//
// `realtime` workers poll every 10 ms instead of sleeping on a futex: the
// retiring thread then never issues a wake-up syscall, at the price of the
// worker waking 100 times a second.
#ifndef QUIESCE_RCU_CALL_RCU_WORKER_HPP
#define QUIESCE_RCU_CALL_RCU_WORKER_HPP

#include <atomic>
#include <cerrno>
#include <pthread.h>
#include <system_error>

#include <quiesce/rcu/rcu_domain.hpp>

namespace quiesce {

namespace detail::rcu {
// Throws std::invalid_argument naming `cpu` if it is not in the process's
// affinity mask (liburcu would abort the whole process instead).
void validate_worker_cpu(int cpu);
// Pins `t` to `cpu` (validated); throws std::system_error on failure.
void pin_thread(pthread_t t, int cpu);
}  // namespace detail::rcu

namespace detail::rcu {
// Flavour f's reclaimer thread (started if it was not); false if none could
// be started (rcu_reclaimer.cpp).
bool reclaimer_thread(int flavor, pthread_t* out) noexcept;
}  // namespace detail::rcu

// Pins quiesce's reclaimer thread of Domain's flavour (the worker that runs
// every deleter not sent to a call_rcu_worker; see rcu_domain.hpp) to `cpu`,
// starting it if needed. Throws std::invalid_argument for a CPU this process
// may not run on, std::system_error if the thread cannot be started or pinned.
// A fork child's new reclaimer is not pinned.
template <class Domain = rcu_domain>
void pin_rcu_reclaimer(int cpu) {
  static_assert(rcu_domain_type<Domain>, "pin_rcu_reclaimer<D>: D must be a quiesce RCU domain type");
  detail::rcu::validate_worker_cpu(cpu);
  pthread_t t;
  if (!detail::rcu::reclaimer_thread(Domain::flavor_type::index, &t))
    throw std::system_error(EAGAIN, std::generic_category(), "quiesce: cannot start the RCU reclaimer thread");
  detail::rcu::pin_thread(t, cpu);
}

template <class Domain = rcu_domain>
class call_rcu_worker {
  static_assert(rcu_domain_type<Domain>, "call_rcu_worker<D>: D must be a quiesce RCU domain type");
  using F = typename Domain::flavor_type;

 public:
  // Starts a worker thread, pinned to `cpu` unless cpu < 0. Throws
  // std::invalid_argument for a CPU this process may not run on.
  explicit call_rcu_worker(int cpu = -1, bool realtime = false) {
    detail::rcu::validate_worker_cpu(cpu);
    crdp_ = F::create_call_rcu_data(realtime ? URCU_CALL_RCU_RT : 0UL, cpu);
    // liburcu 0.13 applies cpu_affinity only every 256 worker iterations;
    // pin now so the first batch already runs there.
    if (cpu >= 0) detail::rcu::pin_thread(F::call_rcu_thread(crdp_), cpu);
  }
  // Stops the worker after its current batch; callbacks still queued move to
  // the flavour's default worker (none are lost). Fatal while attachments live.
  ~call_rcu_worker() {
    if (attached_.load(std::memory_order_acquire) != 0)
      detail::rcu::fatal("call_rcu_worker destroyed while threads are still attached to it",
                         "let every attachment (the object attach() returned) end first");
    F::call_rcu_data_free(crdp_);
  }
  call_rcu_worker(const call_rcu_worker&) = delete;
  call_rcu_worker& operator=(const call_rcu_worker&) = delete;

  // While the returned object lives, the calling thread's retires go to this
  // worker (restoring the previous choice afterwards). Must end on the thread
  // that created it.
  class [[nodiscard]] attachment {
   public:
    explicit attachment(call_rcu_worker& w) noexcept : w_(w), prev_(F::get_thread_call_rcu_data()) {
      w_.attached_.fetch_add(1, std::memory_order_relaxed);
      F::set_thread_call_rcu_data(w_.crdp_);
      ++detail::rcu::liburcu_attached[F::index];  // this thread's retires go to liburcu's call_rcu
    }
    ~attachment() {
      --detail::rcu::liburcu_attached[F::index];
      F::set_thread_call_rcu_data(prev_);
      w_.attached_.fetch_sub(1, std::memory_order_release);
    }
    attachment(const attachment&) = delete;
    attachment& operator=(const attachment&) = delete;

   private:
    call_rcu_worker& w_;
    call_rcu_data* prev_;
  };
  [[nodiscard]] attachment attach() noexcept { return attachment(*this); }

  // The worker's thread, e.g. for pthread_setname_np or sched_setscheduler.
  [[nodiscard]] pthread_t native_handle() const noexcept { return F::call_rcu_thread(crdp_); }

 private:
  call_rcu_data* crdp_;
  std::atomic<int> attached_{0};
};

// One worker per possible CPU for the scope: retires go to the worker of the
// CPU the retiring thread runs on (a thread's attached worker still wins).
// Throws std::runtime_error if liburcu cannot create them (errno in the
// message). The destructor waits for a grace period, then stops the workers;
// their queued callbacks move to the default worker.
template <class Domain = rcu_domain>
class per_cpu_call_rcu_workers {
  static_assert(rcu_domain_type<Domain>, "per_cpu_call_rcu_workers<D>: D must be a quiesce RCU domain type");
  using F = typename Domain::flavor_type;

 public:
  explicit per_cpu_call_rcu_workers(bool realtime = false);
  ~per_cpu_call_rcu_workers();
  per_cpu_call_rcu_workers(const per_cpu_call_rcu_workers&) = delete;
  per_cpu_call_rcu_workers& operator=(const per_cpu_call_rcu_workers&) = delete;
};

}  // namespace quiesce

#endif  // QUIESCE_RCU_CALL_RCU_WORKER_HPP
