// Unit tests for quiesce/numa/placement.hpp: no node before first touch, the
// toucher's node after, untouched/zero-page/unmapped pages told apart,
// ranges page by page, moving pages.
#include <quiesce/numa/affinity.hpp>
#include <quiesce/numa/node_allocator.hpp>
#include <quiesce/numa/placement.hpp>
#include <quiesce/numa/topology.hpp>

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "support/numa.hpp"

namespace {

namespace qn = quiesce::numa;
using quiesce::test::expect_invalid_argument_naming;

const std::size_t page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));

// An anonymous private mapping of `pages` pages, unmapped at scope exit.
class mapping {
 public:
  explicit mapping(std::size_t pages) : bytes_(pages * page) {
    void* p = mmap(nullptr, bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::runtime_error("mmap failed");
    base_ = static_cast<char*>(p);
  }
  ~mapping() {
    for (std::size_t i = 0; i < bytes_ / page; ++i)
      if (i != hole_) munmap(page_at(i), page);  // never the hole: someone else may have mapped it since
  }
  // Unmaps page i, leaving a hole that the destructor will not touch.
  void punch_hole(std::size_t i) {
    ASSERT_EQ(munmap(page_at(i), page), 0);
    hole_ = i;
  }
  mapping(const mapping&) = delete;
  mapping& operator=(const mapping&) = delete;
  char* page_at(std::size_t i) const { return base_ + i * page; }
  std::size_t bytes() const { return bytes_; }

 private:
  char* base_;
  std::size_t bytes_;
  std::size_t hole_ = SIZE_MAX;
};

// The node first-touch places memory on for this thread: pin to a CPU and
// use that CPU's node.
struct pinned_first_cpu {
  const qn::cpu_info& cpu = qn::topology::system().cpus().front();
  qn::scoped_affinity pin = qn::scoped_affinity::to_cpu(cpu.cpu);
};

TEST(NumaPlacement, UntouchedHasNoNodeTouchedIsLocal) {
  pinned_first_cpu here;
  mapping m(4);
  EXPECT_EQ(qn::node_of_address(m.page_at(0)), -1);
  m.page_at(0)[10] = 1;
  EXPECT_EQ(qn::node_of_address(m.page_at(0)), here.cpu.node);
  EXPECT_EQ(qn::node_of_address(m.page_at(0) + page - 1), here.cpu.node);  // any address in the page
  EXPECT_EQ(qn::node_of_address(m.page_at(1)), -1);  // the neighbour is still untouched
}

// A read-only touch maps the kernel's shared zero page, not a page of our
// own. Older kernels answer move_pages(2) with -EFAULT for it (-1 here);
// newer ones (seen on 6.18) report the node the zero page lives on. Either
// way no page was allocated: writing it afterwards still faults one in on
// the writer's node.
TEST(NumaPlacement, ReadOnlyTouchMapsTheZeroPageWhichHasNoNode) {
  pinned_first_cpu here;
  mapping m(1);
  const volatile char c = m.page_at(0)[0];
  (void)c;
  const int n = qn::node_of_address(m.page_at(0));
  EXPECT_TRUE(n == -1 || qn::topology::system().has_node(n)) << "node " << n;
  m.page_at(0)[0] = 1;
  EXPECT_EQ(qn::node_of_address(m.page_at(0)), here.cpu.node);
}

TEST(NumaPlacement, RangeIsReadPageByPage) {
  pinned_first_cpu here;
  mapping m(4);
  m.page_at(0)[0] = 1;
  m.page_at(2)[0] = 1;
  const int n = here.cpu.node;
  EXPECT_EQ(qn::nodes_of_range(m.page_at(0), m.bytes()), (std::vector<int>{n, -1, n, -1}));
  // Unaligned: [last byte of page 0, first byte of page 2] spans three pages.
  EXPECT_EQ(qn::nodes_of_range(m.page_at(1) - 1, page + 2), (std::vector<int>{n, -1, n}));
  EXPECT_EQ(qn::nodes_of_range(m.page_at(1) + 5, 1), (std::vector<int>{-1}));
  EXPECT_TRUE(qn::nodes_of_range(m.page_at(0), 0).empty());
}

TEST(NumaPlacement, HeapStackAndNodeMemory) {
  // The stack and heap pages were touched earlier, perhaps elsewhere: any
  // node of the machine, and on a one-node machine that node.
  const auto& t = qn::topology::system();
  int on_stack = 1;
  auto heap = std::make_unique<long[]>(100);
  heap[0] = on_stack;
  for (const void* p : {static_cast<const void*>(&on_stack), static_cast<const void*>(heap.get())}) {
    const int n = qn::node_of_address(p);
    EXPECT_TRUE(t.has_node(n)) << n;
    if (t.node_count() == 1) {
      EXPECT_EQ(n, t.nodes().front());
    }
  }
  for (int node : t.nodes()) {
    void* p = qn::allocate_on_node(3 * page, node);
    for (int where : qn::nodes_of_range(p, 3 * page)) EXPECT_EQ(where, node);
    qn::deallocate_on_node(p, 3 * page);
  }
}

TEST(NumaPlacement, UnmappedAddressIsInvalidArgument) {
  // First, everything that may map memory on first use (the topology probe,
  // the first exception thrown, the sanitizers' TLS bookkeeping), so that
  // nothing lands in the hole punched below.
  expect_invalid_argument_naming([] { (void)qn::node_of_address(nullptr); }, "not mapped");
  mapping m(3);
  m.page_at(0)[0] = 1;
  m.page_at(2)[0] = 1;
  qn::move_to_node(m.page_at(0), 3 * page, qn::topology::system().nodes().front());
  m.punch_hole(1);
  expect_invalid_argument_naming([&] { (void)qn::node_of_address(m.page_at(1)); }, "not mapped");
  expect_invalid_argument_naming([&] { (void)qn::nodes_of_range(m.page_at(0), 3 * page); }, "not mapped");
  expect_invalid_argument_naming([&] { qn::move_to_node(m.page_at(0), 3 * page, 0); }, "not mapped");
  EXPECT_NO_THROW((void)qn::nodes_of_range(m.page_at(2), page));
}

TEST(NumaPlacement, RangeThatWrapsIsInvalidArgument) {
  int x = 0;
  expect_invalid_argument_naming([&] { (void)qn::nodes_of_range(&x, SIZE_MAX); }, "wraps");
}

TEST(NumaPlacement, MoveToNodeZeroKeepsPagesThere) {
  const int node = qn::topology::system().nodes().front();
  mapping m(8);
  for (std::size_t i = 0; i < 6; ++i) m.page_at(i)[0] = static_cast<char>(i);  // two pages left untouched
  EXPECT_NO_THROW(qn::move_to_node(m.page_at(0), m.bytes(), node));
  const auto nodes = qn::nodes_of_range(m.page_at(0), m.bytes());
  for (std::size_t i = 0; i < 6; ++i) EXPECT_EQ(nodes[i], node);
  EXPECT_EQ(nodes[6], -1);  // moving does not fault pages in
  for (std::size_t i = 0; i < 6; ++i) EXPECT_EQ(m.page_at(i)[0], static_cast<char>(i));  // contents kept
  qn::move_to_node(m.page_at(0), 0, node);  // empty range: nothing to do
}

TEST(NumaPlacement, MoveToNonexistentNodeNamesIt) {
  mapping m(1);
  m.page_at(0)[0] = 1;
  expect_invalid_argument_naming([&] { qn::move_to_node(m.page_at(0), page, 5); }, "node 5 does not exist (nodes: ");
  expect_invalid_argument_naming([&] { qn::move_to_node(m.page_at(0), page, -3); }, "node -3");
  EXPECT_EQ(qn::node_of_address(m.page_at(0)), qn::topology::system().nodes().front());
}

}  // namespace
