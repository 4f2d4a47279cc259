// numa_info — the machine as quiesce::numa sees it, and where memory lands.
//
//   numa_info                     topology: nodes, CPUs, distances, caches,
//                                 this thread's affinity, pipeline_cpus picks
//   numa_info --where [--mib M]   touch an M MiB buffer (default 16) under the
//                                 process's memory policy (e.g. set by numactl)
//                                 and print the node of this thread's CPU and
//                                 the nodes its pages landed on
//   numa_info --work P [--mib M]  also read the buffer P times (a memory-bound
//                                 loop for scripts/numa_placement.sh to time)
//
// Built statically by tests/multinode/CMakeLists.txt (target numa_info) so
// that it also runs inside scripts/numa_guest.sh's initramfs. Used by
// scripts/numa_topology.sh and tests/multinode/numa_scripts_test.sh, which
// parse the lines that start with "numa_info: " (keep their format).
#include <sys/mman.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <map>
#include <string>
#include <vector>

#include <quiesce/numa.hpp>

namespace {

namespace qn = quiesce::numa;

std::string join(const std::vector<int>& v) {
  std::string s;
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i) s += ',';
    s += std::to_string(v[i]);  // appended separately: g++ 12 -O3 false -Wrestrict on "," + string
  }
  return s;
}

void print_topology() {
  const qn::topology& t = qn::topology::system();
  std::printf("numa_info: nodes=%d cpus=%zu numa_supported=%d\n", t.node_count(), t.cpus().size(),
              t.numa_supported() ? 1 : 0);
  for (int n : t.nodes()) std::printf("numa_info: node %d cpus=%s\n", n, join(t.cpus_of_node(n)).c_str());
  std::printf("numa_info: distances (row = from, column = to):\n");
  std::printf("numa_info:      ");
  for (int to : t.nodes()) std::printf(" %4d", to);
  std::printf("\n");
  for (int from : t.nodes()) {
    std::printf("numa_info: %4d ", from);
    for (int to : t.nodes()) std::printf(" %4d", t.distance(from, to));
    std::printf("\n");
  }
  std::printf("numa_info: cpu node package core l2 l3\n");
  for (const qn::cpu_info& c : t.cpus())
    std::printf("numa_info: %3d %4d %7d %4d %2d %2d\n", c.cpu, c.node, c.package, c.core, c.l2, c.l3);
  std::printf("numa_info: this thread: cpu=%d node=%d affinity=%s\n", qn::current_cpu(), qn::current_node(),
              join(qn::current_affinity()).c_str());
  for (std::size_t n = 2; n <= t.cpus().size() && n <= 4; ++n)
    std::printf("numa_info: pipeline_cpus(%zu)=%s\n", n, join(qn::pipeline_cpus(n, t)).c_str());
  std::printf("%s", t.describe().c_str());
  if (!t.describe().empty() && t.describe().back() != '\n') std::printf("\n");
}

int where(std::size_t mib, int passes) {
  const std::size_t bytes = mib << 20;
  // Plain anonymous memory: it follows the process's policy (numactl
  // --membind / --interleave), or first touch by default.
  void* mem = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) {
    std::perror("numa_info: mmap");
    return 1;
  }
  auto* words = static_cast<std::uint64_t*>(mem);
  const std::size_t count = bytes / sizeof(std::uint64_t);
  for (std::size_t i = 0; i < count; ++i) words[i] = i;  // first touch, from this thread

  std::map<int, std::size_t> pages;  // node -> pages
  for (int node : qn::nodes_of_range(mem, bytes)) ++pages[node];
  std::string hist;
  for (auto [node, n] : pages) {
    if (!hist.empty()) hist += ',';
    hist += std::to_string(node);
    hist += ':';
    hist += std::to_string(n);
  }
  std::printf("numa_info: where: cpu=%d cpu_node=%d memory_pages=%s (node:pages of %zu MiB)\n", qn::current_cpu(),
              qn::current_node(), hist.c_str(), mib);

  if (passes > 0) {
    // One read per 64-byte line; the checksum is printed so the loop stays.
    auto start = std::chrono::steady_clock::now();
    std::uint64_t sum = 0;
    for (int p = 0; p < passes; ++p)
      for (std::size_t i = 0; i < count; i += 8) sum += words[i];
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("numa_info: work: %d passes over %zu MiB in %.2f ms (%.2f GB/s; checksum %llu)\n", passes, mib, s * 1e3,
                s > 0 ? static_cast<double>(bytes) * passes / s / 1e9 : 0.0, static_cast<unsigned long long>(sum));
  }
  munmap(mem, bytes);
  return 0;
}

void usage(std::FILE* f) {
  std::fprintf(f,
               "Usage: numa_info [--where] [--work PASSES] [--mib MIB]\n"
               "  (no option)     the topology as quiesce::numa sees it\n"
               "  --where         touch a buffer and print where its pages landed\n"
               "  --work PASSES   --where, then read the buffer PASSES times, timed\n"
               "  --mib MIB       buffer size for --where/--work (default 16)\n");
}

}  // namespace

int main(int argc, char** argv) {
  bool want_where = false;
  int passes = 0;
  std::size_t mib = 16;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> long {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "numa_info: %s needs a number\n", a.c_str());
        std::exit(2);
      }
      char* end = nullptr;
      long v = std::strtol(argv[++i], &end, 10);
      if (*end != '\0' || v < 0 || v > (1L << 20)) {
        std::fprintf(stderr, "numa_info: bad number for %s: %s\n", a.c_str(), argv[i]);
        std::exit(2);
      }
      return v;
    };
    if (a == "--where") {
      want_where = true;
    } else if (a == "--work") {
      want_where = true;
      passes = static_cast<int>(value());
    } else if (a == "--mib") {
      mib = static_cast<std::size_t>(value());
      if (mib == 0) mib = 1;
    } else if (a == "-h" || a == "--help") {
      usage(stdout);
      return 0;
    } else {
      std::fprintf(stderr, "numa_info: unknown option '%s'\n", a.c_str());
      usage(stderr);
      return 2;
    }
  }
  try {
    if (want_where) return where(mib, passes);
    print_topology();
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "numa_info: %s\n", e.what());
    return 1;
  }
}
