// cross_socket_workload — a known answer for scripts/perf_cross_socket.sh:
// a thread pinned to node C reads a buffer placed (strictly) on node M.
// C == M is the local case, C != M the remote one. The program checks where
// its pages landed (move_pages through quiesce::numa::nodes_of_range) and
// prints one line the tests parse:
//
//   cross_socket_workload: cpu_node=C memory_node=M pages=M:N[,...] mib=S passes=P ns_per_byte=X
//
// then, when QUIESCE_NUMA_MAPS_HOLD names a directory (set by
// perf_cross_socket.sh), writes "ready PID" to its fifo `ready` and waits
// for a line on `release` (at most 60 s) before freeing the memory, so that
// the script reads /proc/PID/numa_maps while the buffer is still mapped.
//
// usage: cross_socket_workload --cpu-node C --mem-node M [--mib S] [--passes P]
// Exit: 0; 1 the pages are not all on node M or the thread not on node C;
// 2 usage (a node that does not exist included).
//
// Statically linked (tests/multinode/CMakeLists.txt) so that it also runs in
// scripts/numa_guest.sh's 2-node guest.
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <map>
#include <string>

#include <quiesce/numa.hpp>

namespace {

namespace qn = quiesce::numa;

void hold_for_the_script() {
  const char* dir = std::getenv("QUIESCE_NUMA_MAPS_HOLD");
  if (dir == nullptr || *dir == '\0') return;
  const std::string ready = std::string(dir) + "/ready";
  const std::string release = std::string(dir) + "/release";
  // The script keeps both fifos open read-write, so neither open blocks.
  int w = open(ready.c_str(), O_WRONLY | O_NONBLOCK);
  if (w < 0) {
    std::fprintf(stderr, "cross_socket_workload: cannot open %s: %s (not holding)\n", ready.c_str(), std::strerror(errno));
    return;
  }
  char line[64];
  const int n = std::snprintf(line, sizeof line, "ready %d\n", static_cast<int>(getpid()));
  if (write(w, line, static_cast<std::size_t>(n)) != n)
    std::fprintf(stderr, "cross_socket_workload: short write to %s\n", ready.c_str());
  close(w);
  int r = open(release.c_str(), O_RDONLY | O_NONBLOCK);
  if (r < 0) return;
  pollfd p{r, POLLIN, 0};
  if (poll(&p, 1, 60000) <= 0) std::fprintf(stderr, "cross_socket_workload: no release within 60 s\n");
  close(r);
}

int usage(const char* why) {
  std::fprintf(stderr, "cross_socket_workload: %s\nusage: cross_socket_workload --cpu-node C --mem-node M [--mib S] [--passes P]\n",
               why);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  int cpu_node = -1, mem_node = -1, passes = 4;
  long mib = 16;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "-h" || a == "--help") {
      std::printf("usage: cross_socket_workload --cpu-node C --mem-node M [--mib S] [--passes P]\n");
      return 0;
    }
    if (i + 1 >= argc) return usage((a + " needs a value").c_str());
    const char* v = argv[++i];
    char* end = nullptr;
    const long x = std::strtol(v, &end, 10);
    if (end == v || *end != '\0' || x < 0) return usage(("bad value for " + a + ": '" + v + "'").c_str());
    if (a == "--cpu-node") cpu_node = static_cast<int>(x);
    else if (a == "--mem-node") mem_node = static_cast<int>(x);
    else if (a == "--mib") mib = x;
    else if (a == "--passes") passes = static_cast<int>(x);
    else return usage(("unknown option " + a).c_str());
  }
  if (cpu_node < 0 || mem_node < 0) return usage("--cpu-node and --mem-node are required");
  if (mib < 1 || mib > 4096 || passes < 1) return usage("--mib must be 1..4096 and --passes >= 1");
  const qn::topology& t = qn::topology::system();
  for (int n : {cpu_node, mem_node})
    if (!t.has_node(n)) return usage(("node " + std::to_string(n) + " does not exist (" + t.describe() + ")").c_str());

  try {
    auto pin = qn::scoped_affinity::to_node(cpu_node);
    const std::size_t bytes = static_cast<std::size_t>(mib) << 20;
    // Strict: the pages land on mem_node or the allocation throws.
    void* mem = qn::allocate_on_node(bytes, mem_node, qn::placement::strict);
    auto* words = static_cast<std::uint64_t*>(mem);
    const std::size_t count = bytes / sizeof(std::uint64_t);
    for (std::size_t i = 0; i < count; ++i) words[i] = i;
    std::uint64_t sum = 0;
    const auto t0 = std::chrono::steady_clock::now();
    for (int p = 0; p < passes; ++p)
      for (std::size_t i = 0; i < count; i += 8) sum += words[i];  // one load per 64-byte line
    const auto t1 = std::chrono::steady_clock::now();
    const double ns_per_byte =
        std::chrono::duration<double, std::nano>(t1 - t0).count() / (static_cast<double>(bytes) * passes);

    std::map<int, std::size_t> per_node;  // node -> pages (move_pages query of every page)
    for (int node : qn::nodes_of_range(mem, bytes)) ++per_node[node];
    std::string pages;
    bool all_on_mem_node = !per_node.empty();
    for (auto [node, n] : per_node) {
      if (!pages.empty()) pages += ',';
      pages += std::to_string(node);
      pages += ':';
      pages += std::to_string(n);
      if (node != mem_node) all_on_mem_node = false;
    }
    const int ran_on = qn::current_node();
    std::printf("cross_socket_workload: cpu_node=%d memory_node=%d pages=%s mib=%ld passes=%d ns_per_byte=%.3f "
                "ran_on_node=%d checksum=%llu\n",
                cpu_node, mem_node, pages.c_str(), mib, passes, ns_per_byte, ran_on,
                static_cast<unsigned long long>(sum % 1000));
    std::fflush(stdout);
    hold_for_the_script();
    qn::deallocate_on_node(mem, bytes);
    if (!all_on_mem_node) {
      std::fprintf(stderr, "cross_socket_workload: FAIL: pages %s are not all on node %d\n", pages.c_str(), mem_node);
      return 1;
    }
    if (ran_on != cpu_node) {
      std::fprintf(stderr, "cross_socket_workload: FAIL: ran on node %d, not %d\n", ran_on, cpu_node);
      return 1;
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cross_socket_workload: FAIL: %s\n", e.what());
    return 1;
  }
  return 0;
}
