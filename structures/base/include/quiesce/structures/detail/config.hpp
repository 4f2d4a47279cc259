// quiesce/structures/detail/config.hpp — what the structures component
// takes from the shared base (quiesce/base/config.hpp: QUIESCE_CHECKS,
// QUIESCE_TSAN, cache-line constants, cpu_relax; quiesce/base/fatal.hpp),
// under the names the structures use.
//
// Internal header. It needs nothing from the other components, so that the
// header-only structures do not pull in liburcu or libnuma.
#ifndef QUIESCE_STRUCTURES_DETAIL_CONFIG_HPP
#define QUIESCE_STRUCTURES_DETAIL_CONFIG_HPP

#include <quiesce/base/config.hpp>
#include <quiesce/base/fatal.hpp>

#include <cstddef>

namespace quiesce::detail::structures {

// The base's switches and constants (quiesce/base/config.hpp), by the names
// the structures use.
inline constexpr bool checks_enabled = base::checks_enabled;
inline constexpr bool tsan = base::tsan;
using base::cache_block;
using base::cache_line;
using base::cpu_relax;

// Prints "quiesce: fatal: <what>" and a hint on stderr, then aborts. For
// misuse found by the checks. Async-signal-safe (some checks fire inside
// signal handlers): quiesce/base/fatal.hpp.
[[noreturn]] inline void misuse(const char* what, const char* hint) noexcept { base::fatal(what, hint); }

}  // namespace quiesce::detail::structures

#endif  // QUIESCE_STRUCTURES_DETAIL_CONFIG_HPP
