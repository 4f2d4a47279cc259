// perf/gp/gp_options.hpp — command line of gp_harness, the grace-period
// reproduction harness (Desnoyers, McKenney, Stern, Dagenais, Walpole, "User-Level
// Implementations of Read-Copy Update", IEEE TPDS 23(2), 2012).
//
// One invocation measures one point (one experiment, one contender, one
// thread count, ...) for --reps repetitions of --duration seconds and prints
// one JSON line with the median and spread of every metric. scripts/gp_reproduce.py
// drives it over the paper's sweeps. Every bad input is rejected here, before
// any thread starts, by a usage_error whose message names the option and the
// accepted values.
#ifndef QUIESCE_PERF_GP_OPTIONS_HPP
#define QUIESCE_PERF_GP_OPTIONS_HPP

#include <cstdint>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace quiesce::gp {

// What a point measures.
enum class experiment {
  read,            // reads/s of --readers threads (+ --writers updating), section --section-cycles
  update,          // updates/s of --writers with --readers reading; reclamation per --reclaim
  gp_latency,      // rcu_synchronize latency distribution with --readers busy readers
  retire_latency,  // retire -> deleter latency distribution through --path
  info,            // machine description (JSON), no measurement
};

// Who protects the shared pointer: an RCU flavour (through quiesce's wrappers)
// or a lock.
enum class contender { qsbr, memb, mb, bp, rwlock, shared_mutex, mutex, per_thread_mutex };

// How an RCU updater frees the old version (update experiment).
enum class reclaim {
  sync,    // rcu_synchronize then delete, per update (the paper's "synchronize_rcu" updater)
  batch,   // collect --batch old versions, one rcu_synchronize, delete them all
  retire,  // rcu_obj_base::retire (liburcu's call_rcu worker batches)
};

// Which retire path the retire_latency experiment times.
enum class retire_path {
  call_rcu,    // liburcu's urcu_<flavour>_call_rcu called directly
  rcu_retire,  // quiesce::rcu_retire(p, deleter, dom) (allocates a node)
  obj_retire,  // quiesce::rcu_obj_base::retire (no allocation)
};

struct options {
  experiment exp = experiment::read;
  contender who = contender::memb;
  unsigned readers = 1;
  unsigned writers = 0;
  std::uint64_t section_cycles = 0;  // busy work inside each read-side section (TSC cycles)
  reclaim how = reclaim::sync;
  unsigned batch = 1;       // with reclaim::batch
  double duration_s = 0.2;  // per repetition (read, update)
  unsigned reps = 3;
  unsigned samples = 500;   // gp_latency, retire_latency: measured operations per repetition
  double gap_us = 20;       // retire_latency: pause between two retires
  retire_path path = retire_path::obj_retire;
  std::vector<int> cpus;    // CPUs to pin to, in order (empty: the process's affinity mask)
  bool help = false;
};

// A bad command line; what() says what is wrong and what is accepted.
struct usage_error : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

// Parses argv[1..] (argv[0] excluded). Throws usage_error on the first
// problem. Limits: threads 1..1024 in all, duration 1 ms .. 600 s per
// repetition and 1 hour in all, repetitions 1..1000, section 0..10^9 cycles,
// batch 1..2^20, samples 1..10^6.
options parse_options(std::span<const std::string_view> args);

// "0,2,4-7" -> {0, 2, 4, 5, 6, 7}; throws usage_error.
std::vector<int> parse_cpu_list(std::string_view s);

bool is_rcu(contender c) noexcept;
std::string_view name(experiment e) noexcept;
std::string_view name(contender c) noexcept;
std::string_view name(reclaim r) noexcept;
std::string_view name(retire_path p) noexcept;
std::optional<contender> contender_from(std::string_view s) noexcept;

// The --help text.
std::string usage_text();

}  // namespace quiesce::gp

#endif  // QUIESCE_PERF_GP_OPTIONS_HPP
