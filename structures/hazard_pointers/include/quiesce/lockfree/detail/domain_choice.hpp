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
#include <quiesce/lockfree/detail/node_alloc.hpp>

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
  // A node the caller's pop just unlinked (by a seq_cst CAS, after which
  // nothing reachable names it): freed at once (node_deleter) when the
  // operation's thread holds the domain's only records, so that no other
  // thread can protect it (op_hazards::sole_holder: the one-thread case
  // pays no retire, scan or deferred free), else retired.
  template <class Node, int N>
  void free_or_retire(Node* n, const detail::hp::op_hazards<N>& hz) const noexcept {
    if (hz.sole_holder()) {
      node_deleter<Node>{}(n);
      hz.count_freed_at_once();
    } else {
      retire(n);
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
