// numa/src/affinity.cpp — scoped_affinity, current_affinity, pipeline_cpus.
#include <quiesce/numa/affinity.hpp>

#include <pthread.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <memory>
#include <stdexcept>
#include <string>
#include <system_error>
#include <tuple>
#include <utility>

#include "numa_internal.hpp"

namespace quiesce::numa {

namespace {

// A dynamically sized cpu_set_t (CPU_ALLOC), for machines beyond CPU_SETSIZE.
struct cpu_mask {
  cpu_set_t* set = nullptr;
  std::size_t size = 0;  // bytes
  int capacity = 0;      // CPUs

  explicit cpu_mask(int cpus) : set(CPU_ALLOC(cpus)), size(CPU_ALLOC_SIZE(cpus)), capacity(cpus) {
    if (set == nullptr) throw std::bad_alloc();
    CPU_ZERO_S(size, set);
  }
  ~cpu_mask() {
    if (set != nullptr) CPU_FREE(set);
  }
  cpu_mask(cpu_mask&& o) noexcept
      : set(std::exchange(o.set, nullptr)), size(o.size), capacity(o.capacity) {}
  cpu_mask(const cpu_mask&) = delete;
  cpu_mask& operator=(const cpu_mask&) = delete;
  cpu_mask& operator=(cpu_mask&&) = delete;
};

// The calling thread's mask; grows until the kernel accepts the size.
cpu_mask mask_of_calling_thread() {
  for (int ncpus = 1024;; ncpus *= 2) {
    cpu_mask m(ncpus);
    const int err = ::pthread_getaffinity_np(::pthread_self(), m.size, m.set);
    if (err == 0) return m;
    if (err != EINVAL || ncpus >= (1 << 22)) throw std::system_error(err, std::generic_category(), "pthread_getaffinity_np");
  }
}

[[noreturn]] void throw_bad_cpu(int cpu, const topology& t) {
  std::vector<int> allowed;
  allowed.reserve(t.cpus().size());
  for (const auto& c : t.cpus()) allowed.push_back(c.cpu);
  const long configured = ::sysconf(_SC_NPROCESSORS_CONF);
  if (cpu >= 0 && cpu < configured)
    throw std::invalid_argument("CPU " + std::to_string(cpu) + " is outside the process's allowed CPUs (" +
                                detail::format_list(allowed) + ")");
  throw std::invalid_argument("CPU " + std::to_string(cpu) + " does not exist (CPUs: " + detail::format_list(allowed) +
                              ")");
}

}  // namespace

struct scoped_affinity::saved {
  cpu_mask previous;
};

scoped_affinity::scoped_affinity(std::span<const int> cpus) : saved_(nullptr) {
  if (cpus.empty()) throw std::invalid_argument("empty CPU set");
  const topology& t = topology::system();
  int max_cpu = 0;
  for (int c : cpus) {
    if (!t.has_cpu(c)) throw_bad_cpu(c, t);
    max_cpu = std::max(max_cpu, c);
  }
  auto s = std::make_unique<saved>(saved{mask_of_calling_thread()});
  cpu_mask wanted(std::max(max_cpu + 1, s->previous.capacity));
  for (int c : cpus) CPU_SET_S(static_cast<std::size_t>(c), wanted.size, wanted.set);
  if (const int err = ::pthread_setaffinity_np(::pthread_self(), wanted.size, wanted.set); err != 0) {
    std::vector<int> asked(cpus.begin(), cpus.end());
    std::sort(asked.begin(), asked.end());
    asked.erase(std::unique(asked.begin(), asked.end()), asked.end());
    if (err == EINVAL)  // none of them in the cpuset now (it changed since topology::system() was probed)
      throw std::invalid_argument("CPUs " + detail::format_list(asked) + " are outside the process's allowed CPUs");
    throw std::system_error(err, std::generic_category(), "pthread_setaffinity_np(" + detail::format_list(asked) + ")");
  }
  saved_ = s.release();
}

scoped_affinity scoped_affinity::to_cpu(int cpu) { return scoped_affinity(std::span<const int>(&cpu, 1)); }

scoped_affinity scoped_affinity::to_node(int node) {
  const topology& t = topology::system();
  if (!t.has_node(node)) detail::throw_no_such_node(node, t);
  const std::vector<int>& cpus = t.cpus_of_node(node);
  if (cpus.empty())
    throw std::invalid_argument("node " + std::to_string(node) + " has no CPUs in the process's allowed set");
  return scoped_affinity(std::span<const int>(cpus));
}

scoped_affinity::scoped_affinity(scoped_affinity&& o) noexcept : saved_(std::exchange(o.saved_, nullptr)) {}

scoped_affinity::~scoped_affinity() {
  if (saved_ == nullptr) return;
  // Ignoring a failure: nothing better to do in a destructor, and the only
  // cause is a cpuset that no longer holds any of the saved CPUs.
  (void)::pthread_setaffinity_np(::pthread_self(), saved_->previous.size, saved_->previous.set);
  delete saved_;
}

std::vector<int> current_affinity() { return detail::calling_thread_cpus(); }

std::vector<int> pipeline_cpus(std::size_t n, const topology& t) {
  const auto& cpus = t.cpus();
  if (n == 0) throw std::invalid_argument("pipeline_cpus: 0 stages (need at least 1)");
  if (n > cpus.size())
    throw std::invalid_argument("pipeline_cpus: " + std::to_string(n) + " stages but only " +
                                std::to_string(cpus.size()) + " CPUs");
  auto same = [](int a, int b) { return a >= 0 && a == b; };
  std::vector<int> out;
  out.reserve(n);
  std::vector<bool> used(cpus.size(), false);
  std::size_t prev = 0;
  used[0] = true;
  out.push_back(cpus[0].cpu);
  while (out.size() < n) {
    const cpu_info& p = cpus[prev];
    std::size_t best = cpus.size();
    std::tuple<bool, bool, bool, bool, int, int> best_key{};
    for (std::size_t i = 0; i < cpus.size(); ++i) {
      if (used[i]) continue;
      const cpu_info& c = cpus[i];
      // false sorts first: "not sharing" is the worse (larger) key.
      const std::tuple<bool, bool, bool, bool, int, int> key{
          !same(p.core, c.core), !same(p.l2, c.l2), !same(p.l3, c.l3), p.node != c.node, t.distance(p.node, c.node),
          c.cpu};
      if (best == cpus.size() || key < best_key) {
        best = i;
        best_key = key;
      }
    }
    used[best] = true;
    out.push_back(cpus[best].cpu);
    prev = best;
  }
  return out;
}

}  // namespace quiesce::numa
