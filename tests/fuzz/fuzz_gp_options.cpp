// tests/fuzz/fuzz_gp_options.cpp — libFuzzer target: the grace-period
// harness's command-line parser (perf/gp/gp_options.hpp) on arbitrary argv.
// The input decodes into arguments, each either a word from the parser's
// vocabulary (options, enum values, numbers at and beyond the limits; so the
// fuzzer reaches the cross-option checks) or raw bytes. parse_options must
// either return options within every documented limit or throw usage_error
// with a message; any other exception or a crash fails. parse_cpu_list is
// fuzzed directly on raw bytes too.
// (gp_harness reads no file of the user's: only /proc/cpuinfo for --info.
// The liburcu SUMMARY-line parser is Python, perf/gp/gp_report.py, and is
// tested by tests/gp/, not here.)
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_input.hpp"
#include "gp_options.hpp"

namespace {

using quiesce::fuzz::check;
using quiesce::fuzz::input;
namespace gp = quiesce::gp;

constexpr std::array<std::string_view, 64> vocabulary{
    "--experiment", "--contender", "--readers", "--writers", "--section-cycles", "--reclaim", "--batch",
    "--duration", "--reps", "--samples", "--gap-us", "--path", "--cpus", "--info", "-h", "--help",
    "--experiment=read", "--experiment=update", "--experiment=gp-latency", "--experiment=retire-latency",
    "--contender=qsbr", "--contender=memb", "--contender=rwlock", "--contender=mutex",
    "read", "update", "gp-latency", "retire-latency", "info",
    "qsbr", "memb", "mb", "bp", "rwlock", "shared_mutex", "mutex", "per_thread_mutex",
    "sync", "batch", "retire", "call_rcu", "rcu_retire", "obj_retire",
    "0", "1", "2", "1024", "1025", "1000000000", "18446744073709551616", "-1", "0.001", "600", "1e-9",
    "nan", "inf", "3600", "0x10", "0-3,8", "4095", "4096", "0-4095", "3-1", ",",
};

void check_limits(const gp::options& o) {
  check(!gp::name(o.exp).empty() && gp::name(o.exp) != "?");
  check(gp::name(o.who) != "?" && gp::name(o.how) != "?" && gp::name(o.path) != "?");
  check(gp::contender_from(gp::name(o.who)) == o.who);
  check(o.cpus.size() <= 4096);
  for (int c : o.cpus) check(c >= 0 && c <= 4095);
  if (o.help || o.exp == gp::experiment::info) return;
  check(o.readers + o.writers <= 1024);
  check(o.duration_s >= 0.001 && o.duration_s <= 600);
  check(o.reps >= 1 && o.reps <= 1000);
  check(o.samples >= 1 && o.samples <= 1'000'000);
  check(o.batch >= 1 && o.batch <= (1u << 20));
  check(o.section_cycles <= 1'000'000'000);
  check(o.gap_us >= 0 && o.gap_us <= 1e6);
  if (o.exp == gp::experiment::read) check(o.readers >= 1 && o.duration_s * o.reps <= 3600);
  if (o.exp == gp::experiment::update) check(o.writers >= 1 && o.duration_s * o.reps <= 3600);
  if (o.exp == gp::experiment::gp_latency || o.exp == gp::experiment::retire_latency)
    check(gp::is_rcu(o.who) && o.writers == 0);
  if (o.how != gp::reclaim::sync) check(gp::is_rcu(o.who));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  input in(data, size);
  if (in.byte() % 4 == 0) {  // parse_cpu_list on the raw rest of the input
    const std::string s(reinterpret_cast<const char*>(data) + 1, size - 1);
    try {
      const std::vector<int> cpus = gp::parse_cpu_list(s);
      check(!cpus.empty() && cpus.size() <= 4096);
      for (int c : cpus) check(c >= 0 && c <= 4095);
    } catch (const gp::usage_error& e) {
      check(std::string_view(e.what()).starts_with("--cpus: "));
    }
    return 0;
  }
  std::vector<std::string> words;
  while (!in.done() && words.size() < 32) {
    const std::uint8_t b = in.byte();
    if (b < 3 * vocabulary.size()) {
      words.emplace_back(vocabulary[b % vocabulary.size()]);
      if (b >= vocabulary.size() && !words.back().starts_with("--")) {
        const std::uint8_t c = in.byte();  // a near miss: one byte appended
        if (c != 0) words.back() += static_cast<char>(c);
      }
    } else {  // raw bytes, up to 15 (no NUL: a real argv word is a C string)
      std::string w;
      for (std::size_t n = b % 16; n > 0 && !in.done(); --n) {
        const std::uint8_t c = in.byte();
        if (c != 0) w += static_cast<char>(c);
      }
      if (b & 1) w = "--" + w;
      words.push_back(std::move(w));
    }
  }
  std::vector<std::string_view> args(words.begin(), words.end());
  try {
    check_limits(gp::parse_options(args));
  } catch (const gp::usage_error& e) {
    check(std::string_view(e.what()).size() > 10);  // a message, not just a type
  }
  return 0;
}
