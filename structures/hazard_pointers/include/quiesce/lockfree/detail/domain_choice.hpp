// quiesce/lockfree/detail/domain_choice.hpp — the hazard-pointer domain a
// lock-free structure's nodes retire to (internal).
//
// treiber_stack and ms_queue take an optional domain; null stands for the
// default domain, whose operation records (hazards()) and retire() fast
// paths are inline (a thread-local flag and the thread's retire batch), so
// the default costs no indirection. One pointer, read-only after construction.
#ifndef QUIESCE_LOCKFREE_DETAIL_DOMAIN_CHOICE_HPP
#define QUIESCE_LOCKFREE_DETAIL_DOMAIN_CHOICE_HPP

#include <quiesce/hazard_pointer.hpp>

namespace quiesce::detail::lockfree {

class domain_choice {
 public:
  constexpr domain_choice() noexcept = default;                    // the default domain
  constexpr explicit domain_choice(hazard_pointer_domain* d) noexcept : d_(d) {}  // null: the default domain

  // The N hazard pointers of one operation (detail::hp::op_hazards: for the
  // default domain, the thread's operation records, lent). Throws
  // std::bad_alloc (no record).
  template <int N>
  [[nodiscard]] detail::hp::op_hazards<N> hazards() const {
    return detail::hp::op_hazards<N>(d_);
  }
  // Retires n (a hazard_pointer_obj_base) to the domain.
  template <class Node>
  void retire(Node* n) const noexcept {
    if (d_ != nullptr) {
      n->retire(*d_);
    } else {
      n->retire();
    }
  }
  [[nodiscard]] hazard_pointer_domain& get() const noexcept {
    return d_ != nullptr ? *d_ : hazard_pointer_default_domain();
  }

 private:
  hazard_pointer_domain* d_ = nullptr;
};

}  // namespace quiesce::detail::lockfree

#endif  // QUIESCE_LOCKFREE_DETAIL_DOMAIN_CHOICE_HPP
