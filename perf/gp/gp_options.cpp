// perf/gp/gp_options.cpp — see gp_options.hpp.
#include "gp_options.hpp"

#include <array>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <utility>

namespace quiesce::gp {
namespace {

constexpr std::array<std::pair<std::string_view, experiment>, 5> experiments{{
    {"read", experiment::read},
    {"update", experiment::update},
    {"gp-latency", experiment::gp_latency},
    {"retire-latency", experiment::retire_latency},
    {"info", experiment::info},
}};
constexpr std::array<std::pair<std::string_view, contender>, 8> contenders{{
    {"qsbr", contender::qsbr},
    {"memb", contender::memb},
    {"mb", contender::mb},
    {"bp", contender::bp},
    {"rwlock", contender::rwlock},
    {"shared_mutex", contender::shared_mutex},
    {"mutex", contender::mutex},
    {"per_thread_mutex", contender::per_thread_mutex},
}};
constexpr std::array<std::pair<std::string_view, reclaim>, 3> reclaims{{
    {"sync", reclaim::sync}, {"batch", reclaim::batch}, {"retire", reclaim::retire}}};
constexpr std::array<std::pair<std::string_view, retire_path>, 3> paths{{
    {"call_rcu", retire_path::call_rcu}, {"rcu_retire", retire_path::rcu_retire}, {"obj_retire", retire_path::obj_retire}}};

template <class T, std::size_t N>
std::string choices(const std::array<std::pair<std::string_view, T>, N>& a) {
  std::string s;
  for (const auto& [n, v] : a) {
    if (!s.empty()) s += ", ";
    s += n;
  }
  return s;
}

template <class T, std::size_t N>
T lookup(const std::array<std::pair<std::string_view, T>, N>& a, std::string_view opt, std::string_view what,
         std::string_view v) {
  for (const auto& [n, e] : a)
    if (n == v) return e;
  throw usage_error(std::string(opt) + ": unknown " + std::string(what) + " '" + std::string(v) +
                    "' (expected one of: " + choices(a) + ")");
}

template <class T, std::size_t N>
std::string_view reverse(const std::array<std::pair<std::string_view, T>, N>& a, T v) noexcept {
  for (const auto& [n, e] : a)
    if (e == v) return n;
  return "?";
}

std::uint64_t parse_uint(std::string_view opt, std::string_view v, std::uint64_t lo, std::uint64_t hi) {
  std::uint64_t x = 0;
  const auto* end = v.data() + v.size();
  auto [p, ec] = std::from_chars(v.data(), end, x);
  if (v.empty() || ec == std::errc::invalid_argument || p != end)
    throw usage_error(std::string(opt) + ": '" + std::string(v) + "' is not a non-negative integer");
  if (ec == std::errc::result_out_of_range || x < lo || x > hi)
    throw usage_error(std::string(opt) + ": " + std::string(v) + " is out of range (" + std::to_string(lo) +
                      ".." + std::to_string(hi) + ")");
  return x;
}

double parse_double(std::string_view opt, std::string_view v) {
  // std::from_chars for double is in libstdc++ 11+ and libc++ 17+ only; strtod
  // on a NUL-terminated copy works with both toolchains the project tests.
  const std::string s(v);
  char* end = nullptr;
  const double x = std::strtod(s.c_str(), &end);
  if (s.empty() || end != s.c_str() + s.size() || !std::isfinite(x))
    throw usage_error(std::string(opt) + ": '" + s + "' is not a number");
  return x;
}

}  // namespace

bool is_rcu(contender c) noexcept {
  return c == contender::qsbr || c == contender::memb || c == contender::mb || c == contender::bp;
}
std::string_view name(experiment e) noexcept { return reverse(experiments, e); }
std::string_view name(contender c) noexcept { return reverse(contenders, c); }
std::string_view name(reclaim r) noexcept { return reverse(reclaims, r); }
std::string_view name(retire_path p) noexcept { return reverse(paths, p); }
std::optional<contender> contender_from(std::string_view s) noexcept {
  for (const auto& [n, e] : contenders)
    if (n == s) return e;
  return std::nullopt;
}

std::vector<int> parse_cpu_list(std::string_view s) {
  std::vector<int> out;
  if (s.empty()) throw usage_error("--cpus: empty CPU list");
  while (!s.empty()) {
    const auto comma = s.find(',');
    const std::string_view item = s.substr(0, comma);
    s = comma == std::string_view::npos ? std::string_view{} : s.substr(comma + 1);
    if (item.empty()) throw usage_error("--cpus: empty item in CPU list");
    const auto dash = item.find('-');
    const auto first = parse_uint("--cpus", item.substr(0, dash), 0, 4095);
    const auto last = dash == std::string_view::npos ? first : parse_uint("--cpus", item.substr(dash + 1), 0, 4095);
    if (last < first) throw usage_error("--cpus: descending range '" + std::string(item) + "'");
    for (auto c = first; c <= last; ++c) out.push_back(static_cast<int>(c));
    if (out.size() > 4096) throw usage_error("--cpus: more than 4096 CPUs");
  }
  return out;
}

options parse_options(std::span<const std::string_view> args) {
  options o;
  bool have_contender = false, have_batch = false, have_experiment = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string_view a = args[i];
    if (a == "-h" || a == "--help") {
      o.help = true;
      return o;
    }
    if (a == "--info") {
      o.exp = experiment::info;
      have_experiment = true;
      continue;
    }
    if (a.substr(0, 2) != "--") throw usage_error("unexpected argument '" + std::string(a) + "' (see --help)");
    std::string_view key = a, value;
    if (const auto eq = a.find('='); eq != std::string_view::npos) {
      key = a.substr(0, eq);
      value = a.substr(eq + 1);
    } else {
      if (i + 1 >= args.size()) throw usage_error(std::string(a) + ": missing value");
      value = args[++i];
    }
    if (key == "--experiment") {
      o.exp = lookup(experiments, key, "experiment", value);
      have_experiment = true;
    } else if (key == "--contender" || key == "--flavour" || key == "--flavor") {
      o.who = lookup(contenders, key, "flavour or lock", value);
      have_contender = true;
    } else if (key == "--readers") {
      o.readers = static_cast<unsigned>(parse_uint(key, value, 0, 1024));
    } else if (key == "--writers") {
      o.writers = static_cast<unsigned>(parse_uint(key, value, 0, 1024));
    } else if (key == "--section-cycles") {
      o.section_cycles = parse_uint(key, value, 0, 1'000'000'000);
    } else if (key == "--reclaim") {
      o.how = lookup(reclaims, key, "reclamation", value);
    } else if (key == "--batch") {
      o.batch = static_cast<unsigned>(parse_uint(key, value, 1, 1u << 20));
      have_batch = true;
    } else if (key == "--duration") {
      o.duration_s = parse_double(key, value);
      if (o.duration_s < 0.001 || o.duration_s > 600)
        throw usage_error("--duration: " + std::string(value) +
                          " s cannot be measured (a repetition lasts 0.001 .. 600 s)");
    } else if (key == "--reps") {
      o.reps = static_cast<unsigned>(parse_uint(key, value, 1, 1000));
    } else if (key == "--samples") {
      o.samples = static_cast<unsigned>(parse_uint(key, value, 1, 1'000'000));
    } else if (key == "--gap-us") {
      o.gap_us = parse_double(key, value);
      if (o.gap_us < 0 || o.gap_us > 1e6) throw usage_error("--gap-us: must be in 0 .. 1000000 us");
    } else if (key == "--path") {
      o.path = lookup(paths, key, "retire path", value);
    } else if (key == "--cpus") {
      o.cpus = parse_cpu_list(value);
    } else {
      throw usage_error("unknown option '" + std::string(key) + "' (see --help)");
    }
  }

  if (o.exp == experiment::info) return o;
  if (!have_experiment) throw usage_error("--experiment is required (read, update, gp-latency, retire-latency)");
  if (!have_contender) throw usage_error("--contender is required (" + choices(contenders) + ")");
  if (o.readers + o.writers > 1024) throw usage_error("--readers + --writers: at most 1024 threads");
  switch (o.exp) {
    case experiment::read:
      if (o.readers == 0) throw usage_error("--readers: zero threads; the read experiment needs at least one reader");
      break;
    case experiment::update:
      if (o.writers == 0) throw usage_error("--writers: zero threads; the update experiment needs at least one writer");
      break;
    case experiment::gp_latency:
    case experiment::retire_latency:
      if (!is_rcu(o.who))
        throw usage_error("--contender: " + std::string(name(o.who)) + " has no grace period; " +
                          std::string(name(o.exp)) + " takes qsbr, memb, mb or bp");
      if (o.writers != 0) throw usage_error("--writers: " + std::string(name(o.exp)) + " has one updater, the main thread");
      break;
    case experiment::info:
      break;
  }
  if (o.how != reclaim::sync && !is_rcu(o.who))
    throw usage_error("--reclaim " + std::string(name(o.how)) + ": only RCU flavours defer reclamation; " +
                      std::string(name(o.who)) + " frees under its lock");
  if (have_batch && o.how != reclaim::batch) throw usage_error("--batch needs --reclaim batch");
  // Fits: the measurement of one point must end within an hour.
  if (o.exp == experiment::read || o.exp == experiment::update) {
    if (o.duration_s * o.reps > 3600)
      throw usage_error("--duration x --reps = " + std::to_string(o.duration_s * o.reps) +
                        " s does not fit in one point's limit of 3600 s");
  }
  if (o.exp == experiment::retire_latency && o.gap_us * 1e-6 * o.samples * o.reps > 3600)
    throw usage_error("--gap-us x --samples x --reps does not fit in one point's limit of 3600 s");
  return o;
}

std::string usage_text() {
  return R"(Usage: gp_harness --experiment E --contender C [options]
       gp_harness --info
Measures one point of the grace-period reproduction (Desnoyers et al., TPDS 2012)
and prints one JSON line: the point's parameters and, per metric, the median,
min, max and quartiles over --reps repetitions, plus every repetition's value.

  --experiment E       read | update | gp-latency | retire-latency
  --contender C        qsbr | memb | mb | bp (quiesce's RCU domains) |
                       rwlock (pthread_rwlock_t) | shared_mutex (std::shared_mutex) |
                       mutex (one global std::mutex) | per_thread_mutex
  --readers N          reader threads (read: >= 1)                [1]
  --writers N          updater threads (update: >= 1)             [0]
  --section-cycles C   busy work in each read-side section, TSC cycles [0]
  --reclaim R          sync (rcu_synchronize per update) | batch | retire
                       (rcu_obj_base::retire via call_rcu)        [sync]
  --batch B            old versions per rcu_synchronize with --reclaim batch [1]
  --duration S         seconds per repetition (read, update)     [0.2]
  --reps N             repetitions                                [3]
  --samples N          operations timed per repetition (gp-latency, retire-latency) [500]
  --gap-us U           retire-latency: pause between retires      [20]
  --path P             retire-latency: call_rcu | rcu_retire | obj_retire [obj_retire]
  --cpus LIST          pin threads to these CPUs in order (e.g. 0-3,8) [the affinity mask]
  --info               print the machine (CPU, cores, nodes, kernel, membarrier, TSC) as JSON
  -h, --help           this text
Threads are pinned round-robin over the CPUs: readers first, then writers,
then the main (timing) thread. More threads than CPUs is allowed and reported
("oversubscribed": true).
)";
}

}  // namespace quiesce::gp
