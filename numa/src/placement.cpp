// numa/src/placement.cpp — node_of_address, nodes_of_range, move_to_node.
//
// Query: move_pages(0, n, pages, NULL, status, 0) reports, per page, the node
// (>= 0), -ENOENT (mapped, never faulted in) or -EFAULT. -EFAULT means
// either "not mapped" or "mapped but not backed by a page of its own" (the
// shared zero page after a read of untouched memory, VM_PFNMAP areas):
// mincore(2), which fails with ENOMEM only for unmapped ranges, tells the two
// apart, and the second reads as -1 (no node yet).
// Fallback where move_pages is refused (ENOSYS/EPERM: old kernels, seccomp):
// mincore for residency, then get_mempolicy(MPOL_F_NODE | MPOL_F_ADDR) for
// resident pages only, since get_mempolicy faults an absent page in.
// Without NUMA support: mincore alone (resident pages are on node 0).
#include <quiesce/numa/placement.hpp>

#include <numaif.h>
#include <sys/mman.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <system_error>

#include <quiesce/numa/topology.hpp>

#include "numa_internal.hpp"

namespace quiesce::numa {

namespace {

constexpr std::size_t batch_pages = 256;  // pages per move_pages call (stack arrays)

std::string address_text(const void* p) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%p", p);
  return buf;
}

[[noreturn]] void throw_not_mapped(const void* page) {
  throw std::invalid_argument("address " + address_text(page) + " is not mapped");
}

enum class residency { unmapped, absent, present };

residency residency_of(const void* page) {
  unsigned char v = 0;
  for (int tries = 0;; ++tries) {
    if (::mincore(const_cast<void*>(page), detail::page_size(), &v) == 0) return (v & 1) ? residency::present : residency::absent;
    if (errno == ENOMEM) return residency::unmapped;
    if (errno != EAGAIN || tries == 8) throw std::system_error(errno, std::generic_category(), "mincore");
  }
}

// Whether move_pages is usable here; learned on first use.
std::atomic<int> move_pages_works{-1};  // -1 unknown, 0 no, 1 yes

// Pages [first, first + count * page) -> out[i]: node, or -1 (no page yet).
// Throws std::invalid_argument for a page that is not mapped.
void query_pages(std::uintptr_t first, std::size_t count, int* out) {
  const topology& t = topology::system();
  const std::size_t ps = detail::page_size();
  std::array<void*, batch_pages> pages;
  std::array<int, batch_pages> status;
  for (std::size_t done = 0; done < count;) {
    const std::size_t n = std::min(batch_pages, count - done);
    for (std::size_t i = 0; i < n; ++i) pages[i] = reinterpret_cast<void*>(first + (done + i) * ps);
    bool asked = false;
    if (t.numa_supported() && move_pages_works.load(std::memory_order_relaxed) != 0) {
      if (::move_pages(0, static_cast<unsigned long>(n), pages.data(), nullptr, status.data(), 0) == 0) {
        move_pages_works.store(1, std::memory_order_relaxed);
        asked = true;
      } else if (errno == ENOSYS || errno == EPERM) {
        move_pages_works.store(0, std::memory_order_relaxed);
      } else {
        throw std::system_error(errno, std::generic_category(), "move_pages (query)");
      }
    }
    for (std::size_t i = 0; i < n; ++i) {
      int node = -1;
      if (asked && status[i] >= 0) {
        node = status[i];
      } else if (asked && status[i] == -ENOENT) {
        node = -1;
      } else {
        // -EFAULT (unmapped or no page of its own), another error, or no move_pages at all.
        const residency r = residency_of(pages[i]);
        if (r == residency::unmapped) throw_not_mapped(pages[i]);
        if (r == residency::present && !asked) {
          if (!t.numa_supported()) {
            node = 0;
          } else if (::get_mempolicy(&node, nullptr, 0, pages[i], MPOL_F_NODE | MPOL_F_ADDR) != 0) {
            if (errno == EFAULT) throw_not_mapped(pages[i]);
            if (t.node_count() != 1)
              throw std::system_error(errno, std::generic_category(),
                                      "node_of_address: neither move_pages nor get_mempolicy is permitted");
            node = t.nodes().front();
          }
        }
      }
      out[done + i] = node;
    }
    done += n;
  }
}

// The page range of [p, p + bytes), bytes > 0: first page and page count.
std::pair<std::uintptr_t, std::size_t> page_range(const void* p, std::size_t bytes) {
  const auto start = reinterpret_cast<std::uintptr_t>(p);
  if (bytes - 1 > UINTPTR_MAX - start)
    throw std::invalid_argument("range at " + address_text(p) + " of " + std::to_string(bytes) +
                                " bytes wraps around the address space");
  const std::uintptr_t mask = ~static_cast<std::uintptr_t>(detail::page_size() - 1);
  const std::uintptr_t first = start & mask;
  const std::uintptr_t last = (start + (bytes - 1)) & mask;
  return {first, (last - first) / detail::page_size() + 1};
}

}  // namespace

int node_of_address(const void* p) {
  int node = -1;
  query_pages(reinterpret_cast<std::uintptr_t>(p) & ~static_cast<std::uintptr_t>(detail::page_size() - 1), 1, &node);
  return node;
}

std::vector<int> nodes_of_range(const void* p, std::size_t bytes) {
  if (bytes == 0) return {};
  const auto [first, count] = page_range(p, bytes);
  std::vector<int> nodes(count, -1);
  query_pages(first, count, nodes.data());
  return nodes;
}

void move_to_node(void* p, std::size_t bytes, int node) {
  const topology& t = topology::system();
  if (!t.has_node(node)) detail::throw_no_such_node(node, t);
  if (bytes == 0) return;
  const auto [first, count] = page_range(p, bytes);
  const std::size_t ps = detail::page_size();
  const std::string to_node = " to node " + std::to_string(node);

  if (!t.numa_supported() || move_pages_works.load(std::memory_order_relaxed) == 0) {
    // One node (validated above), or no way to move: check the range is mapped.
    std::vector<int> ignored(count);
    query_pages(first, count, ignored.data());  // throws naming the first unmapped page
    if (t.node_count() == 1) return;
    throw std::system_error(ENOSYS, std::generic_category(), "move_to_node: move_pages is not permitted here" + to_node);
  }

  std::array<void*, batch_pages> pages;
  std::array<int, batch_pages> target;
  std::array<int, batch_pages> status;
  target.fill(node);
  std::size_t not_moved = 0;
  for (std::size_t done = 0; done < count;) {
    const std::size_t n = std::min(batch_pages, count - done);
    for (std::size_t i = 0; i < n; ++i) pages[i] = reinterpret_cast<void*>(first + (done + i) * ps);
    const long r = ::move_pages(0, static_cast<unsigned long>(n), pages.data(), target.data(), status.data(), MPOL_MF_MOVE);
    if (r < 0) {
      const int err = errno;
      if ((err == ENOSYS || err == EPERM) && t.node_count() == 1) {
        move_pages_works.store(0, std::memory_order_relaxed);
        std::vector<int> ignored(n);
        query_pages(first + done * ps, n, ignored.data());  // mapped?
        done += n;
        continue;
      }
      if (err == ENODEV) throw std::invalid_argument("node " + std::to_string(node) + " is not online");
      if (err == EACCES)
        throw std::system_error(err, std::generic_category(),
                                "move_to_node: node " + std::to_string(node) + " is not allowed by the process's cpuset");
      throw std::system_error(err, std::generic_category(),
                              "move_to_node: cannot move " + std::to_string(n) + " pages" + to_node);
    }
    // Since Linux 4.17 a positive r counts pages the kernel could not migrate
    // (busy, pinned, no memory on the node); their status does not say which.
    not_moved += static_cast<std::size_t>(r);
    for (std::size_t i = 0; i < n; ++i) {
      const int s = status[i];
      if (s >= 0 || s == -ENOENT) continue;  // moved / already there, or never faulted in (nothing to move)
      if (s == -EFAULT) {
        if (residency_of(pages[i]) == residency::unmapped) throw_not_mapped(pages[i]);
        continue;  // the zero page or a special mapping: nothing of ours to move
      }
      throw std::system_error(-s, std::generic_category(),
                              "move_to_node: page " + address_text(pages[i]) + " could not be moved" + to_node);
    }
    done += n;
  }
  if (not_moved != 0) {
    throw std::system_error(EBUSY, std::generic_category(),
                            "move_to_node: " + std::to_string(not_moved) + " of " + std::to_string(count) +
                                " pages could not be moved" + to_node);
  }
}

}  // namespace quiesce::numa
