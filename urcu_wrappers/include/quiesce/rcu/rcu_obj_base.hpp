// quiesce/rcu/rcu_obj_base.hpp — C++26 rcu_obj_base: objects that retire
// themselves, with no allocation at retire time.
//
//   struct route : quiesce::rcu_obj_base<route> { int port; };
//   old->retire();                        // deleted after a grace period
//   old->retire({}, quiesce::rcu_qsbr()); // ... of the QSBR domain
//
// The base holds liburcu's rcu_head (16 bytes) and the deleter D (no space
// when D is empty, as std::default_delete is). Compared with rcu_retire(p, d)
// it saves the node allocation: one operator new and one delete per retire
// (perf/rcu_bench retire_throughput/quiesce_obj_base vs quiesce_rcu_retire).
//
// As C++26 [saferecl.rcu.base] requires, every special member is defaulted:
// rcu_obj_base<T, D> is trivially copyable when D is, and a copy copies the
// hook's bytes. So copy an object before it is retired, or copy the derived
// class's fields, never a retired object's base (liburcu writes the hook).
// A second retire() of one object before its deleter ran is fatal in checks
// builds (QUIESCE_CHECKS: the pending-pointer set rcu_retire() uses, one
// mutex-guarded insert per retire); release builds do not detect it, as
// std:: does not.
#ifndef QUIESCE_RCU_RCU_OBJ_BASE_HPP
#define QUIESCE_RCU_RCU_OBJ_BASE_HPP

#include <memory>
#include <type_traits>
#include <utility>

#include <quiesce/rcu/rcu_domain.hpp>

namespace quiesce {

// T: the derived class (CRTP). D: Cpp17DefaultConstructible and
// Cpp17MoveAssignable; d(static_cast<T*>(this)) must not throw (a throwing
// deleter is a fatal error with a message, since it runs on liburcu's worker).
template <class T, class D = std::default_delete<T>>
class rcu_obj_base {
 public:
  // Schedules d(static_cast<T*>(this)) after a grace period of `dom`, on
  // liburcu's call_rcu worker outside any read-side section. Lock-free except
  // for the backlog throttle (see basic_rcu_domain::retire) and, in checks
  // builds, the double-retire check. Registration needs as for
  // basic_rcu_domain::retire.
  void retire(D d = D(), rcu_domain& dom = rcu_default_domain()) noexcept { retire_in(std::move(d), dom); }
  template <class F>
  void retire(D d, basic_rcu_domain<F>& dom) noexcept {
    retire_in(std::move(d), dom);
  }

 protected:
  rcu_obj_base() = default;
  rcu_obj_base(const rcu_obj_base&) = default;
  rcu_obj_base(rcu_obj_base&&) = default;
  rcu_obj_base& operator=(const rcu_obj_base&) = default;
  rcu_obj_base& operator=(rcu_obj_base&&) = default;
  ~rcu_obj_base() = default;

 private:
  template <class F, class Node>
  friend void detail::rcu::run_reclaim(rcu_head*) noexcept;

  template <class F>
  void retire_in(D&& d, basic_rcu_domain<F>& dom) noexcept {
    static_assert(std::is_base_of_v<rcu_obj_base, T>,
                  "rcu_obj_base<T, D>: T must derive from rcu_obj_base<T, D> (CRTP)");
    detail::rcu::require_retire_context<F>();
    // Checks builds: fatal if this object is already pending (the set is
    // left again just before the deleter runs, so a recycled object may be
    // retired anew). If the set has no memory, the retire goes on unchecked.
    if constexpr (detail::rcu::checks_enabled)
      detail::rcu::retire_track(this, "rcu_obj_base::retire() called twice on one object (its deleter has not run yet)");
    deleter_ = std::move(d);
    dom.template enqueue<rcu_obj_base>(&hook_.head);
  }

  static void reclaim(detail::rcu::retire_hook* h) noexcept(std::is_nothrow_invocable_v<D&, T*>) {
    // hook_ is the first member of a standard-layout rcu_obj_base.
    static_assert(std::is_standard_layout_v<rcu_obj_base>,
                  "rcu_obj_base<T, D>: D must be a standard-layout type; use rcu_retire(p, d) "
                  "for other deleters");
    auto* self = reinterpret_cast<rcu_obj_base*>(h);
    if constexpr (detail::rcu::checks_enabled) detail::rcu::retire_untrack(self);
    D d = std::move(self->deleter_);
    d(static_cast<T*>(self));
  }

  detail::rcu::retire_hook hook_{};
  [[no_unique_address]] D deleter_{};
};

}  // namespace quiesce

#endif  // QUIESCE_RCU_RCU_OBJ_BASE_HPP
