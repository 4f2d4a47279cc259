#!/usr/bin/env python3
"""hazard_pointer_ratios.py - ratio table from perf/hazard_pointer_bench's JSON.

Reads the Google Benchmark JSON that hazard_pointer_bench writes
(--benchmark_out=FILE --benchmark_out_format=json), takes medians over the
repetitions (perf/bench_json.py) and prints Markdown: ns per operation for
every peer, the ratios against Concurrency Kit's ck_hp, the heavy fence a
scan pays and its share of a retire at the default threshold, and issue 4's
targets:
  * protect + reset_protection under 2 ns;
  * make_hazard_pointer + destruction under 5 ns (default domain);
  * retire + amortised reclaim at or under folly's published 67-70 ns
    (67 ns taken as the bar).
Exit status: 0; 1 with --strict when a target is missed; 2 on bad input.

Example:
  build/main/perf/hazard_pointer_bench --benchmark_repetitions=7 \\
      --benchmark_out=out/hazard_pointer_bench.json --benchmark_out_format=json
  python3 perf/hazard_pointer_ratios.py out/hazard_pointer_bench.json -o out/hazard_pointer_ratios.md
"""

import sys

from bench_json import finish, fmt, fmt_ratio, header_lines, ratio, read_input, summary_help, why_missing

ROWS = [
    ("protect", "protect + reset_protection, 1 thread",
     ["quiesce", "seq_cst_fence", "ck_hp", "rcu_memb"], "ck_hp"),
    ("protect_2threads", "protect + reset_protection, 2 threads at once (one source)",
     ["quiesce", "seq_cst_fence", "ck_hp", "rcu_memb"], "ck_hp"),
    ("make", "make_hazard_pointer + destruction", ["default_domain", "own_domain"], None),
    ("retire", "allocate + retire, amortised reclaim included",
     ["quiesce_new", "quiesce_node_pool", "ck_hp", "rcu_call_rcu"], "ck_hp"),
    ("stall_detector/protect", "stall detector cost: protect + reset_protection (on = default, off = disabled)",
     ["on", "off"], "off"),
    ("stall_detector/retire_kept", "stall detector cost: allocate + retire while every scan keeps one protected "
     "object (the detector's work)", ["on", "off"], "off"),
]
TARGETS = [
    ("protect/quiesce", 2.0, "protect + reset_protection < 2 ns"),
    ("make/default_domain", 5.0, "make_hazard_pointer + destruction < 5 ns"),
    ("retire/quiesce_new", 67.0, "retire + amortised reclaim <= folly's 67-70 ns"),
]


def per_op_ns(medians, name):
    v = medians.get(name, {}).get("per_op")
    return None if v is None else v * 1e9


def fence_table(medians, errors):
    """The heavy fence a scan pays, and its share of one retire at the default threshold T."""
    lines = ["## heavy fence (one per scan): membarrier(PRIVATE_EXPEDITED)", "",
             "| case | ns per fence | T (default min_threshold) | fence / T: ns per retire |",
             "| --- | ---: | ---: | ---: |"]
    for case in ["alone", "other_thread_running"]:
        name = f"heavy_fence/{case}"
        v = per_op_ns(medians, name)
        t = medians.get(name, {}).get("min_threshold")
        if v is None or not t:
            lines.append(f"| {case} | {why_missing(errors, name)} | | |")
            continue
        lines.append(f"| {case} | {fmt(v)} | {int(t)} | {fmt(v / t)} |")
    return lines + ["", "Each scan issues one fence; a retire pays fence / T of it "
                    "(<quiesce/hazard_pointer.hpp>, \"Why min_threshold is 4000\").", ""]


def main():
    args, ctx, medians, errors = read_input("hazard_pointer_bench", **summary_help(__doc__))
    lines = header_lines("hazard_pointer_bench ratios", ctx, args, [
        "ns per operation (per_op counter: CPU time / operations; 2-thread rows: real time).",
        "The quiesce protect row's label names the fence mode (membarrier = compiler barrier on the reader)."])
    for group, title, peers, base in ROWS:
        lines += [f"## {title}", "", "| peer | ns/op | vs " + (base or "—") + " |", "| --- | ---: | ---: |"]
        base_v = per_op_ns(medians, f"{group}/{base}") if base else None
        for p in peers:
            name = f"{group}/{p}"
            v = per_op_ns(medians, name)
            if v is None:
                lines.append(f"| {p} | {why_missing(errors, name)} | |")
                continue
            lines.append(f"| {p} | {fmt(v)} | {fmt_ratio(ratio(v, base_v)) if base else ''} |")
        lines.append("")
    lines += fence_table(medians, errors)
    lines += ["## Targets (issue 4)", "", "| target | measured | verdict |", "| --- | ---: | --- |"]
    misses = []
    for name, bar, text in TARGETS:
        v = per_op_ns(medians, name)
        verdict = "n/a" if v is None else ("PASS" if v <= bar else "MISS")
        if verdict == "MISS":
            misses.append(text)
        lines.append(f"| {text} | {fmt(v)} ns | {verdict} |")
    lines.append("")
    return finish(lines, args, misses)


if __name__ == "__main__":
    sys.exit(main())
