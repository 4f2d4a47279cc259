// urcu_wrappers/src/rcu_reclaimer.cpp — quiesce's reclaimer: one worker
// thread per flavour that waits for grace periods and runs deleters (see
// detail::rcu::reclaim_queue in quiesce/rcu/rcu_domain.hpp for the contract).
//
// Why not liburcu's call_rcu worker: it sleeps 10 ms after every wake-up to
// gather a batch, so each rcu_barrier() costs at least 10 ms and a deleter
// runs 5-10 ms after its retire even on an idle machine. Here a batch starts
// as soon as the worker is woken, and batching comes from the grace period
// itself (retires that arrive during one share the next) plus a short pause
// (reclaim_pause) while retires keep coming, which bounds the grace periods
// to about 1000 a second under a steady stream (each costs the readers'
// CPUs a membarrier IPI for memb and bp). A barrier cuts that pause short.
// The kernel's RCU does the same (a callback batch waits for the next grace
// period, rcu_barrier() queues a callback per CPU and waits for it).
//
// Worker states, all through one futex word (wake_word): 0 awake; 2 napping
// for reclaim_pause after a batch (to gather the next one: retires do not
// wake it, so a steady trickle of retires costs one CAS each, no syscall);
// 1 asleep until woken (a nap found nothing queued). The worker stores the
// state and re-checks its condition (work queued, a barrier waiting, a pause
// requested) before FUTEX_WAIT; a retire into an empty stack moves 1 to 0
// and FUTEX_WAKEs, a barrier or a fork pause moves 1 or 2 to 0 and wakes
// (Dekker: the stores and loads are seq_cst, so either the worker sees the
// new work or the waker sees the state).
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <climits>
#include <cstring>
#include <ctime>
#include <mutex>

#include <quiesce/rcu.hpp>

#include "rcu_internal.hpp"

namespace quiesce::detail::rcu {

namespace {

constexpr long reclaim_pause_ns = 1'000'000;  // see reclaim_queue (rcu_domain.hpp)

struct reclaimer_state {
  std::mutex start_mu;                 // serialises worker starts
  std::atomic<int> wake_word{0};       // futex: 1 while the worker waits
  std::atomic<int> urgent{0};          // barriers waiting for the worker
  std::atomic<int> pause{0};           // futex: rcu_fork_guards holding the worker (they may overlap)
  std::atomic<int> paused{0};          // futex: the worker's acknowledgement
  std::atomic<bool> liburcu_used{false};  // some retire of this flavour went to liburcu's call_rcu
  pthread_t thread{};                  // the worker, once started (under start_mu)
};
reclaimer_state states[4];

int* futex_addr(std::atomic<int>& w) noexcept { return reinterpret_cast<int*>(&w); }
void futex_wait(std::atomic<int>& w, int expected, const timespec* timeout) noexcept {
  ::syscall(SYS_futex, futex_addr(w), FUTEX_WAIT_PRIVATE, expected, timeout, nullptr, 0);
}
void futex_wake(std::atomic<int>& w) noexcept {
  ::syscall(SYS_futex, futex_addr(w), FUTEX_WAKE_PRIVATE, INT_MAX, nullptr, nullptr, 0);
}
constexpr int awake = 0, asleep = 1, napping = 2;
// A retire into an empty stack: wakes a sleeping worker, not a napping one.
void wake_worker(reclaimer_state& st) noexcept {
  int expected = asleep;
  if (st.wake_word.load(std::memory_order_seq_cst) == asleep &&
      st.wake_word.compare_exchange_strong(expected, awake, std::memory_order_seq_cst))
    futex_wake(st.wake_word);
}
// A barrier or a fork pause: wakes the worker from a nap too.
void wake_worker_now(reclaimer_state& st) noexcept {
  if (st.wake_word.exchange(awake, std::memory_order_seq_cst) != awake) futex_wake(st.wake_word);
}
// The worker's waits: in `state` until woken (or `timeout`), unless its
// condition changed since it last looked.
bool must_stay_awake(reclaimer_state& st) noexcept {
  return st.pause.load(std::memory_order_seq_cst) != 0 || st.urgent.load(std::memory_order_seq_cst) != 0;
}

rcu_head* next_of(rcu_head* h) noexcept { return reinterpret_cast<rcu_head*>(h->next.next); }

template <class F>
void call_liburcu(rcu_head* head, void (*fn)(rcu_head*)) noexcept {
  states[F::index].liburcu_used.store(true, std::memory_order_relaxed);
  F::call(head, fn);
}

void call_liburcu_for(int f, rcu_head* head, void (*fn)(rcu_head*)) noexcept {
  with_flavor(f, [&]<class F>(F) { call_liburcu<F>(head, fn); });
}

template <class F>
void* worker_main(void*) {
  reclaimer_state& st = states[F::index];
  std::atomic<rcu_head*>& top = reclaim_queues[F::index].top;
  char name[16] = "quiesce-rcu-";
  std::strncat(name, F::name, sizeof name - std::strlen(name) - 1);
  pthread_setname_np(pthread_self(), name);
  // Not bound to where the first retiring thread happened to be pinned (a
  // new thread inherits its creator's affinity): every CPU the process's
  // cpuset allows (the kernel drops the others). pin_rcu_reclaimer() pins it.
  cpu_set_t all;
  CPU_ZERO(&all);
  for (int c = 0; c < CPU_SETSIZE; ++c) CPU_SET(c, &all);
  (void)sched_setaffinity(0, sizeof all, &all);
  for (;;) {
    if (st.pause.load(std::memory_order_seq_cst) != 0) {
      // rcu_fork_guard: no batch in flight while it forks.
      st.paused.store(1, std::memory_order_seq_cst);
      futex_wake(st.paused);
      for (int p; (p = st.pause.load(std::memory_order_seq_cst)) != 0;) futex_wait(st.pause, p, nullptr);
      // Back to the top, which looks at `pause` again before taking a batch:
      // a guard that counted itself in and saw paused == 1 before this store
      // is ordered before that look (all seq_cst), so the worker pauses again.
      st.paused.store(0, std::memory_order_seq_cst);
      continue;
    }
    // Acquire: pairs with the retirers' CAS, so their writes (the object,
    // its rcu_head) happen-before the grace period and the deleter.
    rcu_head* batch = top.exchange(nullptr, std::memory_order_acquire);
    if (batch == nullptr) {
      st.wake_word.store(asleep, std::memory_order_seq_cst);
      if (top.load(std::memory_order_seq_cst) == nullptr && !must_stay_awake(st))
        futex_wait(st.wake_word, asleep, nullptr);
      st.wake_word.store(awake, std::memory_order_relaxed);
      continue;
    }
    // The stack is newest first: reverse it, so deleters (and a barrier's
    // marker, behind everything retired before it) run in retire order.
    rcu_head* fifo = nullptr;
    while (batch != nullptr) {
      rcu_head* next = next_of(batch);
      batch->next.next = reinterpret_cast<decltype(batch->next.next)>(fifo);
      fifo = batch;
      batch = next;
    }
    // One grace period for the whole batch (it also completes polled
    // cookies). Not behind the flavour's fork gate: rcu_fork_guard pauses
    // this thread before it takes the gates, so no grace period of ours is
    // in flight at a fork (and a barrier waiting here holds no gate).
    reclaimer_grace_period<F>();
    for (rcu_head* h = fifo; h != nullptr;) {
      rcu_head* next = next_of(h);  // h may be freed by its own callback
      h->func(h);
      h = next;
    }
    // Nap for reclaim_pause to gather the next batch, unless a barrier (or a
    // fork) waits; a nap that gathers nothing ends in sleep (above).
    st.wake_word.store(napping, std::memory_order_seq_cst);
    if (!must_stay_awake(st)) {
      const timespec nap{0, reclaim_pause_ns};
      futex_wait(st.wake_word, napping, &nap);
    }
    st.wake_word.store(awake, std::memory_order_relaxed);
  }
  return nullptr;
}

using worker_fn = void* (*)(void*);
worker_fn worker_for(int f) noexcept {
  return with_flavor(f, []<class F>(F) -> worker_fn { return &worker_main<F>; });
}

// Starts flavour f's worker (detached, immortal, every signal blocked: the
// process's signals go to its own threads). If no thread can be made, the
// queued objects go to liburcu's call_rcu, which has its own worker.
void start_worker(int f) noexcept {
  reclaimer_state& st = states[f];
  reclaim_queue& q = reclaim_queues[f];
  std::lock_guard lk(st.start_mu);
  if (q.started.load(std::memory_order_acquire)) return;
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_t t;
  const int err = pthread_create(&t, &attr, worker_for(f), nullptr);
  if (err == 0) st.thread = t;
  pthread_attr_destroy(&attr);
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  if (err == 0) {
    q.started.store(true, std::memory_order_release);
    return;
  }
  for (rcu_head* h = q.top.exchange(nullptr, std::memory_order_acquire); h != nullptr;) {
    rcu_head* next = next_of(h);
    call_liburcu_for(f, h, h->func);
    h = next;
  }
}

struct barrier_marker {
  rcu_head head{};  // first: the worker calls arrive(&head)
  std::atomic<int> done{0};
  static void arrive(rcu_head* h) noexcept {
    auto* m = reinterpret_cast<barrier_marker*>(h);
    m->done.store(1, std::memory_order_release);
    futex_wake(m->done);
  }
};

}  // namespace

void reclaim_wake(int f) noexcept {
  if (!reclaim_queues[f].started.load(std::memory_order_acquire))
    start_worker(f);
  else
    wake_worker(states[f]);
}

void liburcu_call(int f, rcu_head* head, void (*fn)(rcu_head*)) noexcept { call_liburcu_for(f, head, fn); }

bool reclaimer_thread(int f, pthread_t* out) noexcept {
  start_worker(f);
  std::lock_guard lk(states[f].start_mu);
  if (!reclaim_queues[f].started.load(std::memory_order_acquire)) return false;
  *out = states[f].thread;
  return true;
}

template <class F>
void reclaimer_barrier() noexcept {
  reclaimer_state& st = states[F::index];
  reclaim_queue& q = reclaim_queues[F::index];
  if (!q.started.load(std::memory_order_acquire) && q.top.load(std::memory_order_acquire) == nullptr) return;
  barrier_marker m;
  m.head.func = &barrier_marker::arrive;
  st.urgent.fetch_add(1, std::memory_order_seq_cst);
  rcu_head* old = q.top.load(std::memory_order_relaxed);
  do {
    m.head.next.next = reinterpret_cast<decltype(m.head.next.next)>(old);
  } while (!q.top.compare_exchange_weak(old, &m.head, std::memory_order_seq_cst, std::memory_order_relaxed));
  if (!q.started.load(std::memory_order_acquire))
    start_worker(F::index);
  else
    wake_worker_now(st);
  // An online QSBR caller would hold up the worker's grace period: offline
  // while it waits (a blocking wait is a quiescent state in QSBR).
  const bool qsbr_online = rcu_flavor::qsbr::online();
  if (qsbr_online) {
    rcu_qsbr_domain::tsan_reader_done();
    rcu_flavor::qsbr::thread_offline();
  }
  while (m.done.load(std::memory_order_acquire) == 0) futex_wait(m.done, 0, nullptr);
  if (qsbr_online) rcu_flavor::qsbr::thread_online();
  st.urgent.fetch_sub(1, std::memory_order_seq_cst);
}

bool liburcu_used(int f) noexcept { return states[f].liburcu_used.load(std::memory_order_relaxed); }

template void reclaimer_barrier<rcu_flavor::memb>() noexcept;
template void reclaimer_barrier<rcu_flavor::qsbr>() noexcept;
template void reclaimer_barrier<rcu_flavor::mb>() noexcept;
template void reclaimer_barrier<rcu_flavor::bp>() noexcept;

// Overlapping guards (two threads forking at once) each count themselves
// in and out: the worker runs again only when the last one is done.
void reclaimers_pause_for_fork() noexcept {
  for (int f = 0; f < 4; ++f) {
    reclaimer_state& st = states[f];
    st.pause.fetch_add(1, std::memory_order_seq_cst);  // a worker that starts now pauses first thing
    if (!reclaim_queues[f].started.load(std::memory_order_seq_cst)) continue;
    wake_worker_now(st);
    while (st.paused.load(std::memory_order_seq_cst) == 0) futex_wait(st.paused, 0, nullptr);
  }
}

void reclaimers_resume_after_fork() noexcept {
  for (auto& st : states) {
    if (st.pause.fetch_sub(1, std::memory_order_seq_cst) == 1) futex_wake(st.pause);
  }
}

void reclaimers_reset_in_child() noexcept {
  for (int f = 0; f < 4; ++f) {
    reclaimer_state& st = states[f];
    new (&st.start_mu) std::mutex;
    st.wake_word.store(0, std::memory_order_relaxed);
    st.urgent.store(0, std::memory_order_relaxed);
    st.pause.store(0, std::memory_order_relaxed);
    st.paused.store(0, std::memory_order_relaxed);
    // The worker did not survive the fork; the next retire (or barrier)
    // starts one, which takes what is queued.
    reclaim_queues[f].started.store(false, std::memory_order_relaxed);
    // What is queued: the retired objects stay (they are the child's
    // garbage too), the barrier markers go. A marker lives on the stack of
    // the thread waiting in reclaimer_barrier(), which did not survive (the
    // forking thread is not inside a barrier), and glibc hands dead
    // threads' stacks to the child's new threads: running the marker would
    // write into a live thread's stack. Only this thread runs.
    rcu_head* kept = nullptr;
    rcu_head* kept_tail = nullptr;
    for (rcu_head* h = reclaim_queues[f].top.load(std::memory_order_relaxed); h != nullptr;) {
      rcu_head* next = next_of(h);
      if (h->func != &barrier_marker::arrive) {
        if (kept_tail == nullptr)
          kept = h;
        else
          kept_tail->next.next = reinterpret_cast<decltype(h->next.next)>(h);
        kept_tail = h;
      }
      h = next;
    }
    if (kept_tail != nullptr) kept_tail->next.next = nullptr;
    reclaim_queues[f].top.store(kept, std::memory_order_relaxed);
  }
}

namespace {
// A plain fork() (no rcu_fork_guard): the child has no worker either.
[[maybe_unused]] const int atfork_installed = pthread_atfork(nullptr, nullptr, &reclaimers_reset_in_child);
}  // namespace

}  // namespace quiesce::detail::rcu
