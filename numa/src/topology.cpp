// numa/src/topology.cpp — probing the machine (libnuma + sysfs), the
// topology's lookups and describe(), current_cpu()/current_node(), and the
// small helpers every source of the component shares (numa_internal.hpp).
#include <quiesce/numa/topology.hpp>

#include <numa.h>
#include <pthread.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>

#include <quiesce/base/fork_safe.hpp>

#include "numa_internal.hpp"

namespace quiesce::numa {

// ---------------------------------------------------------------------------
// Shared helpers.

namespace detail {

std::vector<int> parse_list(std::string_view text) {
  std::vector<int> out;
  auto parse_int = [](std::string_view s, int& v) {
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    return ec == std::errc() && ptr == s.data() + s.size() && v >= 0;
  };
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
  while (!text.empty()) {
    const auto comma = text.find(',');
    const std::string_view item = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
    const auto dash = item.find('-');
    int lo = 0;
    int hi = 0;
    if (dash == std::string_view::npos) {
      if (!parse_int(item, lo)) break;
      hi = lo;
    } else if (!parse_int(item.substr(0, dash), lo) || !parse_int(item.substr(dash + 1), hi) || hi < lo) {
      break;
    }
    for (int v = lo; v <= hi; ++v) out.push_back(v);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::string format_list(const std::vector<int>& ids) {
  if (ids.empty()) return "none";
  std::string out;
  for (std::size_t i = 0; i < ids.size();) {
    std::size_t j = i;
    while (j + 1 < ids.size() && ids[j + 1] == ids[j] + 1) ++j;
    if (!out.empty()) out += ',';
    out += std::to_string(ids[i]);
    if (j > i) {  // the kernel's cpulist style: "0-1", not "0,1"
      // Two appends, not "-" + to_string(): g++ 12 -O3 reports a false
      // -Wrestrict in libstdc++'s operator+(const char*, string&&).
      out += '-';
      out += std::to_string(ids[j]);
    }
    i = j + 1;
  }
  return out;
}

std::size_t page_size() noexcept {
  // No guard (quiesce/base/fork_safe.hpp): racing first calls store the same.
  static constinit std::atomic<std::size_t> size{0};
  std::size_t v = size.load(std::memory_order_relaxed);
  if (v == 0) [[unlikely]] {
    const long s = ::sysconf(_SC_PAGESIZE);
    v = s > 0 ? static_cast<std::size_t>(s) : std::size_t{4096};
    size.store(v, std::memory_order_relaxed);
  }
  return v;
}

std::vector<int> calling_thread_cpus() {
  // The kernel refuses (EINVAL) a mask smaller than its nr_cpu_ids: grow.
  for (int ncpus = 1024;; ncpus *= 2) {
    // Owned: the push_back below may throw std::bad_alloc.
    struct cpu_free {
      void operator()(cpu_set_t* s) const noexcept { CPU_FREE(s); }
    };
    const std::unique_ptr<cpu_set_t, cpu_free> owned(CPU_ALLOC(ncpus));
    cpu_set_t* set = owned.get();
    if (set == nullptr) throw std::bad_alloc();
    const std::size_t size = CPU_ALLOC_SIZE(ncpus);
    CPU_ZERO_S(size, set);
    if (::sched_getaffinity(0, size, set) == 0) {
      std::vector<int> cpus;
      for (int c = 0; c < ncpus; ++c)
        if (CPU_ISSET_S(c, size, set)) cpus.push_back(c);
      return cpus;
    }
    const int err = errno;
    if (err != EINVAL || ncpus >= (1 << 22))
      throw std::system_error(err, std::generic_category(), "sched_getaffinity");
  }
}

void throw_no_such_node(int node, const topology& t) { throw_no_such_node_of(node, t.nodes()); }

void throw_no_such_node_of(int node, const std::vector<int>& nodes) {
  throw std::invalid_argument("node " + std::to_string(node) + " does not exist (nodes: " + format_list(nodes) + ")");
}

}  // namespace detail

namespace {

[[noreturn]] void throw_no_such_cpu(int cpu, const std::vector<cpu_info>& cpus) {
  std::vector<int> ids;
  ids.reserve(cpus.size());
  for (const auto& c : cpus) ids.push_back(c.cpu);
  throw std::invalid_argument("CPU " + std::to_string(cpu) + " does not exist (CPUs: " + detail::format_list(ids) +
                              ")");
}

// One small sysfs file as text; empty when absent or unreadable.
std::string read_file(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "re");
  if (f == nullptr) return {};
  char buf[4096];
  const std::size_t n = std::fread(buf, 1, sizeof buf - 1, f);
  std::fclose(f);
  return std::string(buf, n);
}

int read_int(const std::string& path, int fallback) {
  std::string s = read_file(path);
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  int v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return (ec == std::errc() && ptr == s.data() + s.size() && !s.empty()) ? v : fallback;
}

const std::string cpu_dir = "/sys/devices/system/cpu/cpu";

}  // namespace

// libnuma keeps lazily filled caches (node -> cpumask) without locking;
// serialise our use of it so concurrent probe() calls cannot race there.
// Constant-initialised; node_pool's fork handlers hold it across fork().
std::mutex& detail::libnuma_mutex() noexcept {
  static constinit std::mutex m;
  return m;
}

// ---------------------------------------------------------------------------
// Construction.

topology::topology(std::vector<cpu_info> cpus, std::vector<std::vector<int>> distances, bool numa_supported)
    : numa_supported_(numa_supported), cpus_(std::move(cpus)), distances_(std::move(distances)) {
  for (const auto& c : cpus_) {
    if (c.cpu < 0) throw std::invalid_argument("topology: CPU " + std::to_string(c.cpu) + " is negative");
    if (c.node < 0)
      throw std::invalid_argument("topology: CPU " + std::to_string(c.cpu) + " is on negative node " +
                                  std::to_string(c.node));
    nodes_.push_back(c.node);
  }
  std::sort(nodes_.begin(), nodes_.end());
  nodes_.erase(std::unique(nodes_.begin(), nodes_.end()), nodes_.end());
  index();
}

void topology::index() {
  if (cpus_.empty()) throw std::invalid_argument("topology: no CPUs");
  std::sort(cpus_.begin(), cpus_.end(), [](const cpu_info& a, const cpu_info& b) { return a.cpu < b.cpu; });
  for (std::size_t i = 1; i < cpus_.size(); ++i)
    if (cpus_[i].cpu == cpus_[i - 1].cpu)
      throw std::invalid_argument("topology: CPU " + std::to_string(cpus_[i].cpu) + " is listed twice");
  const std::size_t n = nodes_.size();
  if (distances_.size() != n)
    throw std::invalid_argument("topology: the distance matrix has " + std::to_string(distances_.size()) +
                                " rows for " + std::to_string(n) + " nodes");
  for (std::size_t i = 0; i < n; ++i) {
    if (distances_[i].size() != n)
      throw std::invalid_argument("topology: distance row of node " + std::to_string(nodes_[i]) + " has " +
                                  std::to_string(distances_[i].size()) + " entries for " + std::to_string(n) +
                                  " nodes");
    for (std::size_t j = 0; j < n; ++j)
      if (distances_[i][j] <= 0)
        throw std::invalid_argument("topology: distance from node " + std::to_string(nodes_[i]) + " to node " +
                                    std::to_string(nodes_[j]) + " is " + std::to_string(distances_[i][j]) +
                                    " (must be positive)");
  }
  node_index_.assign(static_cast<std::size_t>(nodes_.back()) + 1, -1);
  for (std::size_t i = 0; i < n; ++i) node_index_[static_cast<std::size_t>(nodes_[i])] = static_cast<int>(i);
  cpu_index_.assign(static_cast<std::size_t>(cpus_.back().cpu) + 1, -1);
  node_cpus_.assign(n, {});
  for (std::size_t i = 0; i < cpus_.size(); ++i) {
    const auto& c = cpus_[i];
    cpu_index_[static_cast<std::size_t>(c.cpu)] = static_cast<int>(i);
    if (static_cast<std::size_t>(c.node) >= node_index_.size() || node_index_[static_cast<std::size_t>(c.node)] < 0)
      throw std::invalid_argument("topology: CPU " + std::to_string(c.cpu) + " is on node " + std::to_string(c.node) +
                                  ", which is not in the node list");
    node_cpus_[static_cast<std::size_t>(node_index_[static_cast<std::size_t>(c.node)])].push_back(c.cpu);
  }
}

topology topology::probe() {
  topology t;
  const std::vector<int> mask = detail::calling_thread_cpus();
  std::unique_lock lock(detail::libnuma_mutex());
  t.numa_supported_ = ::numa_available() >= 0;

  // Cores: the lowest online CPU with the same (package, core_id) pair.
  std::vector<int> online = detail::parse_list(read_file("/sys/devices/system/cpu/online"));
  for (int c : mask)
    if (!std::binary_search(online.begin(), online.end(), c)) online.insert(std::upper_bound(online.begin(), online.end(), c), c);
  std::map<std::pair<int, int>, int> core_of_key;
  std::map<int, std::pair<int, int>> key_of_cpu;
  for (int c : online) {
    const std::string dir = cpu_dir + std::to_string(c) + "/topology/";
    const int package = read_int(dir + "physical_package_id", -1);
    const int core_id = read_int(dir + "core_id", -1);
    key_of_cpu[c] = {package, core_id};
    if (core_id >= 0) core_of_key.emplace(std::pair{package, core_id}, c);  // online is sorted: first is lowest
  }

  for (int c : mask) {
    cpu_info info;
    info.cpu = c;
    if (t.numa_supported_) {
      const int node = ::numa_node_of_cpu(c);
      info.node = node >= 0 ? node : 0;
    }
    const auto [package, core_id] = key_of_cpu[c];
    info.package = package;
    if (core_id >= 0) info.core = core_of_key[{package, core_id}];
    // Caches: index0, index1, ... until one is missing.
    for (int k = 0;; ++k) {
      const std::string dir = cpu_dir + std::to_string(c) + "/cache/index" + std::to_string(k) + "/";
      const int level = read_int(dir + "level", -1);
      if (level < 0) break;
      std::string type = read_file(dir + "type");
      if (type.rfind("Instruction", 0) == 0) continue;
      const std::vector<int> shared = detail::parse_list(read_file(dir + "shared_cpu_list"));
      const int id = shared.empty() ? c : shared.front();
      if (level == 2) info.l2 = id;
      if (level == 3) info.l3 = id;
    }
    t.cpus_.push_back(info);
    t.nodes_.push_back(info.node);
  }

  if (t.numa_supported_) {
    // Nodes the process may take memory from, CPUs or not.
    // Owned: push_back may throw std::bad_alloc.
    struct mask_free {
      void operator()(struct bitmask* m) const noexcept { ::numa_bitmask_free(m); }
    };
    if (const std::unique_ptr<struct bitmask, mask_free> mems{::numa_get_mems_allowed()}) {
      const int max_node = ::numa_max_node();
      for (int n = 0; n <= max_node; ++n)
        if (::numa_bitmask_isbitset(mems.get(), static_cast<unsigned>(n))) t.nodes_.push_back(n);
    }
  }
  std::sort(t.nodes_.begin(), t.nodes_.end());
  t.nodes_.erase(std::unique(t.nodes_.begin(), t.nodes_.end()), t.nodes_.end());
  if (t.nodes_.empty()) t.nodes_.push_back(0);

  t.distances_.assign(t.nodes_.size(), std::vector<int>(t.nodes_.size(), 10));
  if (t.numa_supported_) {
    for (std::size_t i = 0; i < t.nodes_.size(); ++i)
      for (std::size_t j = 0; j < t.nodes_.size(); ++j) {
        const int d = ::numa_distance(t.nodes_[i], t.nodes_[j]);
        // 0: libnuma could not read it; keep the ACPI defaults (10 / 20).
        t.distances_[i][j] = d > 0 ? d : (i == j ? 10 : 20);
      }
  }
  lock.unlock();
  t.index();
  return t;
}

// Built on first use and published without a guard (a fork() child must
// never wait for a dead thread's probe: quiesce/base/fork_safe.hpp); two
// threads arriving first may both probe, one result is kept.
const topology& topology::system() {
  static constinit quiesce::detail::base::published_once<const topology> t;
  return t.get([] { return std::make_unique<const topology>(probe()); });
}

// ---------------------------------------------------------------------------
// Lookups.

bool topology::has_node(int node) const noexcept {
  return node >= 0 && static_cast<std::size_t>(node) < node_index_.size() &&
         node_index_[static_cast<std::size_t>(node)] >= 0;
}

bool topology::has_cpu(int cpu) const noexcept {
  return cpu >= 0 && static_cast<std::size_t>(cpu) < cpu_index_.size() &&
         cpu_index_[static_cast<std::size_t>(cpu)] >= 0;
}

int topology::node_slot(int node) const {
  if (!has_node(node)) detail::throw_no_such_node(node, *this);
  return node_index_[static_cast<std::size_t>(node)];
}

const cpu_info& topology::checked_cpu(int cpu) const {
  if (!has_cpu(cpu)) throw_no_such_cpu(cpu, cpus_);
  return cpus_[static_cast<std::size_t>(cpu_index_[static_cast<std::size_t>(cpu)])];
}

const std::vector<int>& topology::cpus_of_node(int node) const {
  return node_cpus_[static_cast<std::size_t>(node_slot(node))];
}

int topology::node_of_cpu(int cpu) const { return checked_cpu(cpu).node; }

const cpu_info& topology::cpu(int cpu) const { return checked_cpu(cpu); }

int topology::distance(int from_node, int to_node) const {
  const int i = node_slot(from_node);
  const int j = node_slot(to_node);
  return distances_[static_cast<std::size_t>(i)][static_cast<std::size_t>(j)];
}

bool topology::same_core(int cpu_a, int cpu_b) const {
  const auto& a = checked_cpu(cpu_a);
  const auto& b = checked_cpu(cpu_b);
  return a.cpu == b.cpu || (a.core >= 0 && a.core == b.core);
}

bool topology::share_l2(int cpu_a, int cpu_b) const {
  const auto& a = checked_cpu(cpu_a);
  const auto& b = checked_cpu(cpu_b);
  return a.cpu == b.cpu || (a.l2 >= 0 && a.l2 == b.l2);
}

bool topology::share_l3(int cpu_a, int cpu_b) const {
  const auto& a = checked_cpu(cpu_a);
  const auto& b = checked_cpu(cpu_b);
  return a.cpu == b.cpu || (a.l3 >= 0 && a.l3 == b.l3);
}

std::string topology::describe() const {
  std::string out;
  auto plural = [](std::size_t n, const char* word) {
    return std::to_string(n) + " " + word + (n == 1 ? "" : "s");
  };
  out += "NUMA topology: " + plural(nodes_.size(), "node") + ", " + plural(cpus_.size(), "CPU") +
         (numa_supported_ ? "\n" : " (no NUMA support: one node)\n");
  for (std::size_t i = 0; i < nodes_.size(); ++i)
    out += "  node " + std::to_string(nodes_[i]) + ": CPUs " + detail::format_list(node_cpus_[i]) + "\n";

  // Distance matrix, right-aligned columns.
  std::size_t width = 4;
  for (int n : nodes_) width = std::max(width, std::to_string(n).size() + 5);
  auto pad = [](std::string s, std::size_t w) { return std::string(w > s.size() ? w - s.size() : 0, ' ') + s; };
  out += "distances:\n" + pad("", width + 2);
  for (int n : nodes_) out += pad("node" + std::to_string(n), width + 1);
  out += "\n";
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    out += pad("node" + std::to_string(nodes_[i]), width + 2);
    for (std::size_t j = 0; j < nodes_.size(); ++j) out += pad(std::to_string(distances_[i][j]), width + 1);
    out += "\n";
  }

  // Sharing groups: CPUs with the same id, groups in id order.
  auto groups = [&](const char* label, int cpu_info::*field) {
    std::map<int, std::vector<int>> by_id;
    for (const auto& c : cpus_)
      if (c.*field >= 0) by_id[c.*field].push_back(c.cpu);
    out += label;
    if (by_id.empty()) out += " unknown";
    bool first = true;
    for (const auto& [id, members] : by_id) {
      out += first ? " " : " | ";
      out += detail::format_list(members);
      first = false;
    }
    out += "\n";
  };
  groups("cores:   ", &cpu_info::core);
  groups("L2:      ", &cpu_info::l2);
  groups("L3:      ", &cpu_info::l3);
  groups("packages:", &cpu_info::package);
  return out;
}

// ---------------------------------------------------------------------------
// Where the calling thread runs.

namespace {

// CPU -> node for every configured CPU, from libnuma, built once.
struct cpu_node_table {
  std::vector<int> node_of;
  cpu_node_table() {
    try {
      std::lock_guard lock(detail::libnuma_mutex());
      if (::numa_available() < 0) return;  // one node: every lookup misses and answers 0
      int n = ::numa_num_configured_cpus();
      if (n <= 0) n = static_cast<int>(::sysconf(_SC_NPROCESSORS_CONF));
      node_of.resize(static_cast<std::size_t>(std::max(n, 1)));
      for (int c = 0; c < static_cast<int>(node_of.size()); ++c) {
        const int node = ::numa_node_of_cpu(c);
        node_of[static_cast<std::size_t>(c)] = node >= 0 ? node : 0;
      }
    } catch (...) {
      node_of.clear();  // out of memory at first use: answer 0, as without NUMA
    }
  }
};

}  // namespace

int current_cpu() noexcept {
  const int c = ::sched_getcpu();
  return c >= 0 ? c : 0;
}

int current_node() noexcept {
  // Published without a guard, as topology::system(). Out of memory for the
  // table itself: answer 0, as without NUMA, and try again next call.
  static constinit quiesce::detail::base::published_once<const cpu_node_table> tables;
  const cpu_node_table* t = tables.peek();
  if (t == nullptr) [[unlikely]] {
    try {
      t = &tables.get([] { return std::make_unique<const cpu_node_table>(); });
    } catch (...) {
      return 0;
    }
  }
  const cpu_node_table& table = *t;
  const auto c = static_cast<std::size_t>(current_cpu());
  return c < table.node_of.size() ? table.node_of[c] : 0;
}

}  // namespace quiesce::numa
