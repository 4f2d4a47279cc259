// quiesce/base/fork_safe.hpp — process-wide state a fork() child can always
// reach. Internal header (quiesce::detail::base).
//
// The hazard: quiesce supports fork() without exec() in a multi-threaded
// program (rcu_fork(), the hazard pointers', node pools' and STM's
// pthread_atfork handlers), and only the forking thread survives in the
// child. If another thread was inside the initialiser of a function-local
// static at the instant of the fork, the child inherits the static's guard
// marked "initialisation in progress" by a thread that no longer exists: the
// child's first use of that static waits in __cxa_guard_acquire forever. An
// initialiser that calls pthread_atfork() makes the window as wide as the
// fork itself (glibc holds its atfork lock from the first prepare handler to
// the last child handler), so a program that forks while its threads start
// up hangs one child in a few (seen in CI: the STM's writer-id registry).
//
// So quiesce's process-wide state is built one of two ways, never under a
// guard:
//  * constant-initialised (constinit) where the type allows it, wrapped in
//    immortal<T> when it must outlive static destruction (threads may use it
//    during exit);
//  * otherwise published with a compare-exchange (published_once<T>): each
//    thread that finds it missing builds a candidate, the first to publish
//    wins and the others destroy theirs. No thread ever waits for another's
//    initialiser, so a fork at any instant leaves the child either the
//    published object or nothing, which its first use then builds. The
//    initialiser may therefore run more than once concurrently: it must have
//    no side effect a loser's destruction does not undo.
// pthread_atfork() handlers are registered when the library is loaded (a
// namespace-scope initialiser), not on first use.
#ifndef QUIESCE_BASE_FORK_SAFE_HPP
#define QUIESCE_BASE_FORK_SAFE_HPP

#include <atomic>
#include <memory>
#include <utility>

namespace quiesce::detail::base {

// A T that is constructed (constexpr, so constinit works) and never
// destroyed. Use at namespace scope: `constinit immortal<registry> g_registry;`
// (a function-local static with a destructor, even this no-op one, has a
// guard).
template <class T>
union immortal {
  T value;
  constexpr immortal() : value() {}
  immortal(const immortal&) = delete;
  immortal& operator=(const immortal&) = delete;
  ~immortal() {}  // never runs value's destructor: the object lives until _exit
};

// A T built on first use without a guard (see above); never destroyed.
// constinit-able. get() costs an acquire load once published.
template <class T>
class published_once {
 public:
  constexpr published_once() noexcept = default;
  published_once(const published_once&) = delete;
  published_once& operator=(const published_once&) = delete;

  // The object, built by `make` (a callable returning std::unique_ptr<T>)
  // if no thread has published one yet. `make` may run in several threads
  // at once; only the winner's result is kept. Exceptions from `make`
  // propagate and publish nothing.
  template <class Make>
  T& get(Make&& make) {
    if (T* p = ptr_.load(std::memory_order_acquire)) [[likely]]
      return *p;
    return publish(std::forward<Make>(make)());
  }

  // The object if one is published, else nullptr (for fork handlers, which
  // have nothing to do for state that does not exist yet).
  T* peek() const noexcept { return ptr_.load(std::memory_order_acquire); }

 private:
  T& publish(std::unique_ptr<T> mine) {
    T* expected = nullptr;
    // Release on success: a thread that acquires the pointer sees the
    // object built. Acquire on failure: we return the winner's object.
    if (ptr_.compare_exchange_strong(expected, mine.get(), std::memory_order_acq_rel, std::memory_order_acquire))
      return *mine.release();
    return *expected;  // `mine` is destroyed: the loser's side effects end here
  }

  std::atomic<T*> ptr_{nullptr};
};

}  // namespace quiesce::detail::base

#endif  // QUIESCE_BASE_FORK_SAFE_HPP
