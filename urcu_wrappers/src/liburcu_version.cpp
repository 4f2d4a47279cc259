// Build-time check that the liburcu version detected from its headers
// (QUIESCE_URCU_VERSION_MINOR, detail/liburcu.hpp) agrees with the one CMake
// found through pkg-config (QUIESCE_URCU_PKG_MINOR, urcu_wrappers/CMakeLists.txt):
// headers of one liburcu with the libraries of another fail here, not at run time.
#include <quiesce/rcu/detail/liburcu.hpp>

#ifdef QUIESCE_URCU_PKG_MINOR
static_assert(QUIESCE_URCU_VERSION_MINOR == (QUIESCE_URCU_PKG_MINOR < 15 ? QUIESCE_URCU_PKG_MINOR : 15),
              "quiesce: the liburcu headers found are not those of the liburcu pkg-config reports");
static_assert(QUIESCE_URCU_HAS_POLL == (QUIESCE_URCU_PKG_MINOR >= 14), "quiesce: liburcu poll API detection");
#endif

// 0.15.2's _rcu_cmpxchg_pointer, repaired in detail/liburcu.hpp, in the
// position the unrepaired one cannot take: a subexpression.
namespace quiesce::detail::rcu {
bool liburcu_cmpxchg_pointer_compiles(int** slot, int* expected, int* desired) noexcept {
  return rcu_cmpxchg_pointer(slot, expected, desired) == expected;
}
}  // namespace quiesce::detail::rcu
