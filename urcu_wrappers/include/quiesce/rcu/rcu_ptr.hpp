// quiesce/rcu/rcu_ptr.hpp — a typed, owning, RCU-protected pointer.
//
// What it is: the pointer a writer replaces and readers follow
// (rcu_assign_pointer / rcu_dereference in the kernel), owning its pointee:
// replacing or destroying it retires the old object to the domain, so the old
// one is freed only after every reader that could see it has finished.
//
//   quiesce::rcu_ptr<table> tbl{std::make_unique<table>()};
//   {                                   // reader
//     quiesce::rcu_read_guard g;
//     const table* t = tbl.load(g);     // valid until g ends
//   }
//   tbl.store(std::make_unique<table>(...));   // writer: old table retired
//
// Misuse does not compile: there is no implicit conversion to T*, no
// operator->, no copy; a reader load needs a read guard of the same domain
// (rcu_read_guard, or std::scoped_lock/lock_guard/unique_lock of the domain);
// an updater's load needs a lock guard, proving writers are serialised.
// The returned raw pointer must not outlive the guard: that part is a
// documented contract, as in every RCU API.
//
// Costs: load is one acquire load (a plain mov on x86). store/exchange are
// one release exchange plus a retire (a node allocation and a CAS to
// enqueue it; see basic_rcu_domain::retire). Readers are wait-free;
// writers are lock-free apart from the retire backlog throttle.
#ifndef QUIESCE_RCU_RCU_PTR_HPP
#define QUIESCE_RCU_RCU_PTR_HPP

#include <atomic>
#include <memory>
#include <mutex>
#include <type_traits>
#include <utility>

#include <quiesce/rcu/rcu_domain.hpp>

namespace quiesce {

template <class Domain>
class rcu_signal_read_guard;  // quiesce/rcu/signal.hpp

namespace detail::rcu {
template <class G, class Domain>
inline constexpr bool is_read_guard_v = std::is_same_v<G, rcu_read_guard<Domain>> ||
                                        std::is_same_v<G, rcu_signal_read_guard<Domain>> ||
                                        std::is_same_v<G, std::scoped_lock<Domain>> ||
                                        std::is_same_v<G, std::lock_guard<Domain>> ||
                                        std::is_same_v<G, std::unique_lock<Domain>>;

template <class G>
struct is_lock_guard : std::false_type {};
template <class M>
struct is_lock_guard<std::lock_guard<M>> : std::true_type {};
template <class M>
struct is_lock_guard<std::unique_lock<M>> : std::true_type {};
template <class... M>
struct is_lock_guard<std::scoped_lock<M...>> : std::true_type {};
}  // namespace detail::rcu

// The deleter of the unique_ptr that rcu_ptr::exchange() returns: it retires
// the old object to Domain instead of deleting it, so dropping the returned
// pointer is always safe.
template <class D, class Domain>
struct rcu_retire_deleter {
  [[no_unique_address]] D deleter{};
  template <class T>
  void operator()(T* p) const {
    Domain::instance().retire(p, deleter);
  }
};

template <class T, class D = std::default_delete<T>, class Domain = rcu_domain>
class rcu_ptr {
  static_assert(!std::is_array_v<T>, "rcu_ptr<T>: T must not be an array type; wrap it in a struct");
  static_assert(rcu_domain_type<Domain>, "rcu_ptr<T, D, Domain>: Domain must be a quiesce RCU domain type");

 public:
  using element_type = T;
  using unique_type = std::unique_ptr<T, D>;
  // What exchange() hands back: dropping it retires the old object.
  using retired_type = std::unique_ptr<T, rcu_retire_deleter<D, Domain>>;

  constexpr rcu_ptr() noexcept = default;
  explicit rcu_ptr(unique_type p) noexcept : p_(p.release()) {}
  rcu_ptr(const rcu_ptr&) = delete;
  rcu_ptr& operator=(const rcu_ptr&) = delete;
  // Retires the current object: readers still holding it stay safe.
  ~rcu_ptr() {
    if (T* p = p_.load(std::memory_order_relaxed)) Domain::instance().retire(p, D{});
  }

  // rcu_dereference. Wait-free. Valid while `guard` lives. Acquire ordering:
  // pairs with the release in store()/exchange()/compare_exchange(), so the
  // reader sees the object fully constructed.
  template <class Guard>
  [[nodiscard]] T* load([[maybe_unused]] const Guard& guard) const noexcept {
    static_assert(detail::rcu::is_read_guard_v<Guard, Domain>,
                  "rcu_ptr::load(guard): pass a read-side guard of this pointer's domain "
                  "(quiesce::rcu_read_guard<Domain>, or std::scoped_lock/lock_guard/unique_lock of it); "
                  "writers holding their update lock use load_locked(lock)");
    return p_.load(std::memory_order_acquire);
  }

  // For a writer that serialises updates with a lock it holds (the kernel's
  // rcu_dereference_protected): the pointee cannot be retired concurrently.
  template <class Lock>
  [[nodiscard]] T* load_locked([[maybe_unused]] const Lock& held) const noexcept {
    static_assert(detail::rcu::is_lock_guard<Lock>::value,
                  "rcu_ptr::load_locked(lock): pass the std::lock_guard/unique_lock/scoped_lock that "
                  "serialises this pointer's writers");
    return p_.load(std::memory_order_acquire);
  }

  // Publishes `p` (release) and retires the previous object, if any.
  void store(unique_type p) { (void)exchange(std::move(p)); }

  // Publishes `p` (release) and returns the previous object as a pointer that
  // retires it when dropped (or .release() it to keep it alive elsewhere).
  [[nodiscard]] retired_type exchange(unique_type p) {
    T* old = p_.exchange(p.release(), std::memory_order_acq_rel);
    return retired_type(old);
  }

  // If the current object is `expected`, publishes `desired` (taking its
  // ownership) and retires the old object; otherwise loads the current object
  // into `expected` and leaves `desired` untouched. Needs a read guard so that
  // `expected` cannot be freed and reused at the same address (ABA) meanwhile.
  template <class Guard>
  bool compare_exchange(const Guard& guard, T*& expected, unique_type& desired) {
    static_assert(detail::rcu::is_read_guard_v<Guard, Domain>,
                  "rcu_ptr::compare_exchange(guard, ...): pass a read-side guard of this pointer's domain");
    (void)guard;
    if (p_.compare_exchange_strong(expected, desired.get(), std::memory_order_acq_rel,
                                   std::memory_order_acquire)) {
      (void)desired.release();
      if (expected) Domain::instance().retire(expected, D{});
      return true;
    }
    return false;
  }

  // True if no object is published. Any thread; the answer may be stale.
  [[nodiscard]] bool empty() const noexcept { return p_.load(std::memory_order_relaxed) == nullptr; }

 private:
  std::atomic<T*> p_{nullptr};
};

}  // namespace quiesce

#endif  // QUIESCE_RCU_RCU_PTR_HPP
