#!/usr/bin/env python3
"""logical_clock_ratios.py - ratio table from perf/logical_clock_bench's JSON.

Reads the Google Benchmark JSON that logical_clock_bench writes
(--benchmark_out=FILE --benchmark_out_format=json), takes medians over the
repetitions (perf/bench_json.py) and prints Markdown:
  * hybrid_logical_clock::now() from 1 and 2 threads (one shared clock):
    ns per timestamp, the ratio to reading std::chrono::system_clock alone
    (what the HLC adds on top of its physical source) and to the same
    algorithm under a std::mutex; the rows with a constant source isolate
    the CAS against the mutex;
  * vector_clock merge and compare for 4, 8, 32 and 128 entries against a
    plain loop over std::vector<uint64_t>.
No targets: the issue sets none. Exit status: 0; 2 on bad input.

Example:
  build/main/perf/logical_clock_bench --benchmark_repetitions=5 \\
      --benchmark_out=out/logical_clock_bench.json --benchmark_out_format=json
  python3 perf/logical_clock_ratios.py out/logical_clock_bench.json -o out/logical_clock_ratios.md
"""

import sys

from bench_json import finish, fmt, fmt_ratio, header_lines, ratio, read_input, summary_help, why_missing

HLC_GROUPS = [
    ("hlc_now", "HLC now(), 1 thread"),
    ("hlc_now_2threads", "HLC now(), 2 threads on one clock (physical_clock: each thread reads its own)"),
]
HLC_PEERS = ["physical_clock", "quiesce", "mutex", "quiesce_cas_only", "mutex_only"]
VC_SIZES = [4, 8, 32, 128]


def per_op_ns(medians, name):
    v = medians.get(name, {}).get("per_op")
    return None if v is None else v * 1e9


def cell(medians, errors, name):
    v = per_op_ns(medians, name)
    if v is None:
        return None, why_missing(errors, name)
    return v, fmt(v)


def main():
    args, ctx, medians, errors = read_input("logical_clock_bench", **summary_help(__doc__))
    lines = header_lines("logical_clock_bench ratios", ctx, args, [
        "ns per operation (per_op counter: CPU time / operations; 2-thread rows: real time, per thread).",
        "quiesce_cas_only / mutex_only: a constant physical source, so only the update of the clock word is timed."])
    for group, title in HLC_GROUPS:
        lines += [f"## {title}", "",
                  "| peer | ns/op | vs physical_clock | vs mutex (same source) |",
                  "| --- | ---: | ---: | ---: |"]
        phys = per_op_ns(medians, f"{group}/physical_clock")
        for p in HLC_PEERS:
            v, shown = cell(medians, errors, f"{group}/{p}")
            if v is None:
                lines.append(f"| {p} | {shown} | | |")
                continue
            vs_phys = "" if p == "physical_clock" or p.endswith("_only") else fmt_ratio(ratio(v, phys))
            mutex_peer = {"quiesce": "mutex", "quiesce_cas_only": "mutex_only"}.get(p)
            vs_mutex = fmt_ratio(ratio(v, per_op_ns(medians, f"{group}/{mutex_peer}"))) if mutex_peer else ""
            lines.append(f"| {p} | {shown} | {vs_phys} | {vs_mutex} |")
        lines.append("")
    for op, title in [("vc_merge", "vector_clock merge (pointwise max)"),
                      ("vc_compare", "vector_clock compare (<=>, whole clock read)")]:
        lines += [f"## {title}", "", "| entries | quiesce ns/op | std::vector loop ns/op | quiesce / std::vector |",
                  "| ---: | ---: | ---: | ---: |"]
        for n in VC_SIZES:
            q, qs = cell(medians, errors, f"{op}/quiesce/{n}")
            s, ss = cell(medians, errors, f"{op}/std_vector/{n}")
            lines.append(f"| {n} | {qs} | {ss} | {fmt_ratio(ratio(q, s))} |")
        lines.append("")
    return finish(lines, args)


if __name__ == "__main__":
    sys.exit(main())
