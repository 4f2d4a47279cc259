// quiesce/base/layout.hpp: the compile-time false-sharing checks
// accept the padded layouts (the static_asserts here compile) and compute the
// right answers; the packed layout that must be rejected is
// tests/compile_fail/layout_packed_hot_fields.cpp. The same rules are checked
// with pahole on the library's compiled types by scripts/layout_audit.sh
// (ctest layout_audit_script).
#include <atomic>
#include <cstddef>
#include <cstdint>

#include <gtest/gtest.h>

#include <quiesce/hazard_pointer.hpp>
#include <quiesce/base/layout.hpp>

namespace {

namespace layout = quiesce::detail::layout;

struct padded_pair {
  alignas(128) std::atomic<std::uint64_t> produced{0};
  alignas(128) std::atomic<std::uint64_t> consumed{0};
};
static_assert(layout::hot_field_alone<padded_pair, offsetof(padded_pair, produced), offsetof(padded_pair, consumed)>);
static_assert(layout::hot_field_alone<padded_pair, offsetof(padded_pair, consumed), sizeof(padded_pair)>);
static_assert(layout::owns_blocks<padded_pair>);

// A hot field followed by fields written together with it.
struct group {
  std::uint64_t read_mostly = 0;
  alignas(128) std::atomic<std::uint64_t> head{0};
  std::atomic<std::uint64_t> head_stats{0};
};
static_assert(layout::starts_block<group, offsetof(group, head)>);

struct alignas(64) one_line {
  std::atomic<std::uint64_t> seq{0};
};
static_assert(layout::owns_blocks<one_line, 64>);

TEST(LayoutChecks, PaddedFieldsStartTheirOwn128ByteBlocks) {
  EXPECT_EQ(layout::false_sharing_block, 128u);
  EXPECT_EQ(offsetof(padded_pair, consumed) - offsetof(padded_pair, produced), 128u);
  EXPECT_EQ(sizeof(padded_pair), 256u);
  EXPECT_EQ(offsetof(group, head), 128u);
  EXPECT_EQ(offsetof(group, head_stats), 136u);  // starts_block allows the group's own fields after the head
}

TEST(LayoutChecks, TheLibrarysHazardRecordOwnsItsBlock) {
  EXPECT_TRUE((layout::owns_blocks<quiesce::detail::hp::record>));
  EXPECT_EQ(sizeof(quiesce::detail::hp::record), 128u);
  EXPECT_EQ(alignof(quiesce::detail::hp::record), 128u);
}

}  // namespace
