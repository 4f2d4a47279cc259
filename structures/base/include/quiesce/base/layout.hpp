// quiesce/base/layout.hpp — compile-time checks that hot shared
// fields sit alone on their 128-byte block (no false sharing). Internal
// header; the one place for these checks (scripts/layout_audit.sh checks the
// same rules with pahole on the compiled types, including the .cpp-internal
// ones and those of the numa and rcu components, which cannot include this).
//
// Why 128 and not 64: x86's adjacent-line ("spatial") prefetcher fetches
// 64-byte lines in aligned pairs, so two fields 64 bytes apart still bounce
// one another's lines on Intel parts (LMAX and folly pad to 128 for this).
//
// Use next to the type, with offsetof (the type must be standard-layout for
// offsetof to be portable; the checks below fail loudly otherwise):
//
//   struct alignas(128) node_state { std::atomic<long> head; ... };
//   static_assert(layout::owns_blocks<node_state>);         // whole 128-byte blocks
//   struct counters { alignas(128) std::atomic<long> a; alignas(128) std::atomic<long> b; };
//   static_assert(layout::hot_field_alone<counters, offsetof(counters, a), offsetof(counters, b)>);
//   static_assert(layout::starts_block<counters, offsetof(counters, b)>);
//
// A failing check is a compile error whose message names the rule broken and
// the fix (tests/compile_fail/layout_packed_hot_fields.cpp).
#ifndef QUIESCE_BASE_LAYOUT_HPP
#define QUIESCE_BASE_LAYOUT_HPP

#include <cstddef>

#include <quiesce/base/config.hpp>

namespace quiesce::detail::layout {

// The block a hot shared field owns alone.
inline constexpr std::size_t false_sharing_block = base::cache_block;

namespace checks {

template <class T, std::size_t Block>
struct owns_blocks {
  static_assert(Block != 0 && (Block & (Block - 1)) == 0, "quiesce layout: the block size must be a power of two");
  static_assert(alignof(T) % Block == 0,
                "quiesce layout: a type shared between threads must be aligned to the 128-byte block, or its "
                "neighbours in memory share its cache lines: put alignas(128) on the type");
  static_assert(sizeof(T) % Block == 0,
                "quiesce layout: a shared type must fill whole 128-byte blocks (keep alignas(128) on the type, "
                "do not pack it into a larger struct without alignment)");
  static constexpr bool value = true;
};

template <class T, std::size_t Offset, std::size_t Block>
struct starts_block {
  static_assert(alignof(T) % Block == 0,
                "quiesce layout: the type is not aligned to the 128-byte block, so no field of it (a hot shared "
                "field, say) can start one: put alignas(128) on the field (or on the type)");
  static_assert(Offset % Block == 0,
                "quiesce layout: the field does not start a 128-byte block; the fields before it share its cache "
                "lines: give it alignas(128)");
  static constexpr bool value = true;
};

// A hot field starts its block (the checks above) and the next field starts
// past it.
template <class T, std::size_t Offset, std::size_t Next, std::size_t Block>
struct hot_field_alone : starts_block<T, Offset, Block> {
  static_assert(Next >= Offset + Block,
                "quiesce layout: another field is packed into the hot field's 128-byte block (false sharing): "
                "give the next field alignas(128), or move it away");
  static_assert(Next <= sizeof(T), "quiesce layout: the next field's offset lies beyond the type (pass sizeof(T) for "
                                   "the last field)");
  static constexpr bool value = true;
};

}  // namespace checks

// True, or a compile error naming the fix: every T owns whole blocks (T is
// aligned to Block and its size is a multiple of it), so neither a
// neighbouring object nor another element of an array shares its lines.
template <class T, std::size_t Block = false_sharing_block>
inline constexpr bool owns_blocks = checks::owns_blocks<T, Block>::value;

// True, or a compile error naming the fix: T's field at byte Offset is
// alone on its block — T is aligned to Block, the field starts a block, and
// the next field starts at Next >= Offset + Block (Next = sizeof(T) when the
// field is the last one).
template <class T, std::size_t Offset, std::size_t Next, std::size_t Block = false_sharing_block>
inline constexpr bool hot_field_alone = checks::hot_field_alone<T, Offset, Next, Block>::value;

// True, or a compile error naming the fix: T's field at byte Offset starts a
// block, so no field before it shares the block (fields after it may: a
// group of fields written together).
template <class T, std::size_t Offset, std::size_t Block = false_sharing_block>
inline constexpr bool starts_block = checks::starts_block<T, Offset, Block>::value;

}  // namespace quiesce::detail::layout

#endif  // QUIESCE_BASE_LAYOUT_HPP
