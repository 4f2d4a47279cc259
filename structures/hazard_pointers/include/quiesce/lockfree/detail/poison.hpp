// quiesce/lockfree/detail/poison.hpp — AddressSanitizer poisoning of
// reclaimed structure nodes (internal).
//
// Nodes come from numa::node_pool (quiesce/lockfree/detail/node_alloc.hpp),
// which recycles memory without telling AddressSanitizer, so by itself ASan
// cannot see a read of a node after its hazard-pointer deleter ran (the bug
// hazard pointers exist to prevent). The lock-free structures therefore
// poison a node's own fields (everything after its hazard_pointer_obj_base
// header, which the hazard-pointer domain and the deleter still use) when the
// node is destroyed, and unpoison the whole node first thing when a new node
// is built in recycled memory. The MS queue also poisons a value's storage as
// soon as the value has been moved out and destroyed.
//
// Without -fsanitize=address every function here is empty and inline: no
// cost, no change in layout or behaviour.
#ifndef QUIESCE_LOCKFREE_DETAIL_POISON_HPP
#define QUIESCE_LOCKFREE_DETAIL_POISON_HPP

#include <cstddef>

#include <quiesce/base/config.hpp>

#if QUIESCE_ASAN
#include <sanitizer/asan_interface.h>
#endif

namespace quiesce::detail::lockfree {

inline constexpr bool asan_poisoning =
#if QUIESCE_ASAN
    true;
#else
    false;
#endif

// Marks [p, p + n) unaddressable: any later access is an ASan report.
inline void poison(const void* p, std::size_t n) noexcept {
#if QUIESCE_ASAN
  __asan_poison_memory_region(p, n);
#else
  (void)p;
  (void)n;
#endif
}

// Marks [p, p + n) addressable again.
inline void unpoison(const void* p, std::size_t n) noexcept {
#if QUIESCE_ASAN
  __asan_unpoison_memory_region(p, n);
#else
  (void)p;
  (void)n;
#endif
}

// Declared as a node's first data member ([[no_unique_address]], so it takes
// no space): its constructor runs before the node's other members are built
// and unpoisons the whole node, which may be memory a previous node's
// destructor poisoned.
struct unpoison_on_construct {
  unpoison_on_construct(const void* node, std::size_t size) noexcept { unpoison(node, size); }
};

}  // namespace quiesce::detail::lockfree

#endif  // QUIESCE_LOCKFREE_DETAIL_POISON_HPP
