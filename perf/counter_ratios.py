#!/usr/bin/env python3
"""counter_ratios.py - ratio table from perf/counter_bench's JSON.

Reads the Google Benchmark JSON that counter_bench writes
(--benchmark_out=FILE --benchmark_out_format=json), takes medians over the
repetitions (perf/bench_json.py) and prints Markdown: ns per operation per
thread (threads / items_per_second) for every peer, and each peer's time
against its baseline in the same run (below 1x: faster than the baseline):
  * increments vs std::atomic fetch_add, 1 and 2 threads on one counter;
  * sharded_counter::load() vs one atomic load, idle and with an incrementer;
  * versioned_cell updates vs a std::mutex, 1 and 2 threads;
  * versioned_cell::read vs seqlock::load.
No targets: exit status 0, or 2 on bad input (--strict is accepted for
symmetry with the other scripts and changes nothing).

Example:
  build/main/perf/counter_bench --benchmark_repetitions=5 \\
      --benchmark_out=out/counter_bench.json --benchmark_out_format=json
  python3 perf/counter_ratios.py out/counter_bench.json -o out/counter_ratios.md
"""

import sys

from bench_json import finish, fmt, fmt_ratio, header_lines, ratio, read_input, summary_help, why_missing

INC_PEERS = ["fetch_add", "cas_counter", "sharded", "sharded_getcpu", "sharded_rr", "mutex"]
VC_PEERS = ["versioned_cell_16B", "mutex_16B", "seqlock_16B", "versioned_cell_4B", "packed64_4B"]


def per_op_ns(medians, name, threads):
    rate = medians.get(name, {}).get("items_per_second")
    return None if not rate else threads * 1e9 / rate


def cell(medians, errors, name, threads):
    v = per_op_ns(medians, name, threads)
    if v is None:
        return None, why_missing(errors, name)
    return v, None


def two_thread_table(lines, medians, errors, group, peers, base, title):
    lines += [f"## {title}", "",
              f"| peer | 1 thread ns/op | vs {base} | 2 threads ns/op (per thread) | vs {base} |",
              "| --- | ---: | ---: | ---: | ---: |"]
    b1 = per_op_ns(medians, f"{group}/1t/{base}", 1)
    b2 = per_op_ns(medians, f"{group}/2t/{base}", 2)
    for p in peers:
        v1, why1 = cell(medians, errors, f"{group}/1t/{p}", 1)
        v2, why2 = cell(medians, errors, f"{group}/2t/{p}", 2)
        lines.append(f"| {p} | {why1 or fmt(v1)} | {fmt_ratio(ratio(v1, b1))} | "
                     f"{why2 or fmt(v2)} | {fmt_ratio(ratio(v2, b2))} |")
    lines.append("")


def one_column_table(lines, medians, errors, rows, base, title):
    lines += [f"## {title}", "", f"| peer | ns/op | vs {base} |", "| --- | ---: | ---: |"]
    bv = per_op_ns(medians, base, 1)
    for name in rows:
        v, why = cell(medians, errors, name, 1)
        lines.append(f"| {name} | {why or fmt(v)} | {fmt_ratio(ratio(v, bv))} |")
    lines.append("")


def main():
    args, ctx, medians, errors = read_input("counter_bench", **summary_help(__doc__))
    if not medians and not errors:
        print("counter_ratios.py: no benchmarks in the JSON", file=sys.stderr)
        return 2
    lines = header_lines("counter_bench ratios", ctx, args, [
        "ns per operation per thread = threads / items_per_second (2-thread rows: real time, both threads "
        "on one object, pinned to CPUs 0 and 1).",
        "Ratios: time / baseline time in the same run; below 1x is faster than the baseline."])
    two_thread_table(lines, medians, errors, "inc", INC_PEERS, "fetch_add",
                     "Increments (std::atomic fetch_add is the baseline)")
    one_column_table(lines, medians, errors,
                     ["read/atomic", "read/sharded", "read/sharded_64"], "read/atomic",
                     "Reading the total, nobody writing")
    one_column_table(lines, medians, errors,
                     ["read_busy/atomic", "read_busy/sharded"], "read_busy/atomic",
                     "Reading the total while another CPU increments")
    two_thread_table(lines, medians, errors, "vc_update", VC_PEERS, "mutex_16B",
                     "Versioned cell read-modify-write (std::mutex is the baseline)")
    one_column_table(lines, medians, errors,
                     ["vc_read/versioned_cell_16B", "vc_read/seqlock_16B"], "vc_read/seqlock_16B",
                     "Versioned cell read (16 bytes, nobody writing)")
    return finish(lines, args)


if __name__ == "__main__":
    sys.exit(main())
