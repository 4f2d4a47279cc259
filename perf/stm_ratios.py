#!/usr/bin/env python3
"""stm_ratios.py - ratio table from perf/stm_bench's JSON.

Reads the Google Benchmark JSON that stm_bench writes with
--benchmark_out=FILE --benchmark_out_format=json, takes the median of every
benchmark over its repetitions (perf/bench_json.py) and prints Markdown:

  * throughput (million transfers or audits per second, median
    items_per_second: CPU time for 1 thread, wall clock and all threads
    together for 2) of quiesce's STM, one global std::mutex and a
    std::mutex per account locked in address order, for 1 and 2 pinned
    threads and 16 and 1024 accounts, packed (natural layouts) and padded
    (stm_padded, account_mutex_padded: one account per 128-byte block);
  * the ratios stm / global_mutex, stm / account_mutex (packed) and
    stm_padded / account_mutex_padded (above 1.0x: the STM is faster).

Targets, 2 threads, stm / account_mutex (packed, like with like): at least
1.0x on 1024 accounts and 0.8x on 16 contended accounts (PASS/MISS lines
under the table), judged on the paired rows transfer_2t_paired/N where the
JSON has them, otherwise on the table's medians. Every other ratio is
printed too, including the ones the STM loses. Under the targets, for
information: where the two-thread retries come from (transfer_2t_aborts/N:
runs aborted inside a read, with an exception, and runs retried after a
failed commit, per 1,000 commits) and the exceptions' share of each
thread's time (with abort_cost_1t, one internal abort's cost). Standard
library only.
Exit status: 0, or 1 with --strict when a target is missed; 2 on
unreadable input.

Example:
  build/main/perf/stm_bench --benchmark_repetitions=5 --benchmark_min_time=0.1 \\
      --benchmark_out=out/stm_bench.json --benchmark_out_format=json
  python3 perf/stm_ratios.py out/stm_bench.json -o out/stm_ratios.md
"""

import sys

from bench_json import finish, fmt, fmt_ratio, header_lines, misses_section, ratio, read_input, summary_help

ROWS = [
    ("transfer_1t/16", "transfers, 1 thread, 16 accounts"),
    ("transfer_1t/1024", "transfers, 1 thread, 1024 accounts"),
    ("transfer_2t/16", "transfers, 2 threads, 16 accounts (contended)"),
    ("transfer_2t/1024", "transfers, 2 threads, 1024 accounts"),
    ("audit_1t/16", "consistent sum of 16 accounts, 1 thread"),
]
PEERS = ["stm", "global_mutex", "account_mutex", "stm_padded", "account_mutex_padded"]
# (row, at least this stm / account_mutex)
TARGETS = [("transfer_2t/1024", 1.0), ("transfer_2t/16", 0.8)]


def mops(medians, name):
    v = medians.get(name, {}).get("items_per_second")
    return None if v is None else v / 1e6


def abort_lines(medians):
    """Information: where the two-thread transfers' retries come from
    (transfer_2t_aborts/N) and what one internal abort costs
    (abort_cost_1t); empty when the JSON has neither."""
    cost = medians.get("abort_cost_1t", {}).get("items_per_second")
    abort_ns = 1e9 / cost if cost else None
    rows = []
    for n in (16, 1024):
        m = medians.get(f"transfer_2t_aborts/{n}")
        if not m or "aborted_in_read" not in m or "retried_at_commit" not in m:
            continue
        in_read, at_commit = m["aborted_in_read"], m["retried_at_commit"]
        share = "-"
        rate = m.get("items_per_second")
        if abort_ns is not None and rate:
            # Each of the two threads spends 2 / rate seconds per transfer.
            share = f"{100.0 * in_read * abort_ns / (2e9 / rate):.1f}%"
        rows.append(f"| {n} | {1000.0 * in_read:.2f} | {1000.0 * at_commit:.1f} | {share} |")
    if not rows:
        return []
    out = ["Where the STM's two-thread retries come from (information, transfer_2t_aborts/N: every run of "
           "the transfer function counted; its rate is not the table's). A run aborted in a read ends in "
           "the internal abort, an exception thrown and caught; a run retried at commit returned and found "
           "a lock or a version moved, with no exception. The last column is the exceptions' share of "
           "each thread's time: runs aborted in a read per transfer, times one internal abort's cost "
           + (f"({fmt(abort_ns)} ns, abort_cost_1t: an abort plus a read-only run)" if abort_ns is not None
              else "(abort_cost_1t: not in this JSON)")
           + ", over each thread's time per transfer: at most what aborts without an exception could save.",
           "",
           "| accounts | aborted in a read, per 1,000 commits | retried at commit, per 1,000 commits "
           "| exceptions' share of each thread's time |",
           "| ---: | ---: | ---: | ---: |"]
    return out + rows + [""]


def main():
    args, ctx, medians, errors = read_input("stm_bench", **summary_help(__doc__))
    lines = header_lines("stm_bench ratios", ctx, args, [
        "M operations/s (median items_per_second; 1 thread: CPU time, 2 threads: wall clock, both threads).",
        "stm = quiesce::atomically (TL2); global_mutex = one std::mutex; account_mutex = a std::mutex per "
        "account, locked in address order; *_padded: one account per 128-byte block (the audit row has no "
        "padded peers). Ratio = stm / peer, like layout with like (above 1.0x: the STM is faster)."])
    lines += ["| workload | stm | global_mutex | account_mutex | stm_padded | account_mutex_padded "
              "| stm / global_mutex | stm / account_mutex | stm_padded / account_mutex_padded |",
              "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    ratios = {}
    for group, title in ROWS:
        vals = {}
        cells = []
        for p in PEERS:
            name = f"{group}/{p}"
            vals[p] = mops(medians, name)
            if vals[p] is None:
                cells.append(f"skipped: {errors[name]}" if name in errors else "-")
            else:
                cells.append(fmt(vals[p]))
        r1 = fmt_ratio(ratio(vals["stm"], vals["global_mutex"]))
        ratios[group] = ratio(vals["stm"], vals["account_mutex"])
        r2 = fmt_ratio(ratios[group])
        r3 = fmt_ratio(ratio(vals["stm_padded"], vals["account_mutex_padded"]))
        lines.append(f"| {title} | " + " | ".join(cells) + f" | {r1} | {r2} | {r3} |")
    lines.append("")
    misses = []
    titles = dict(ROWS)
    lines.append("The two-thread targets are judged on the paired rows (transfer_2t_paired/N: segments of the "
                 "STM's transfers and of the per-account mutexes' on the same two pinned threads, back to back, "
                 "order alternating; median of the per-pair ratios) where the JSON has them, otherwise on the "
                 "table's per-implementation medians, whose repetitions ran at different moments.")
    lines.append("")
    for group, want in TARGETS:
        paired = medians.get(group.replace("transfer_2t/", "transfer_2t_paired/"), {}).get("stm_vs_account_mutex")
        r = paired if paired is not None else ratios.get(group)
        how = "paired" if paired is not None else "medians"
        verdict = "MISS" if r is None or r < want else "PASS"
        line = f"target {titles[group]}: stm / account_mutex >= {want:.1f}x, {how}: {fmt_ratio(r)}"
        if paired is not None:
            line += f" (per-implementation medians in the table: {fmt_ratio(ratios.get(group))})"
        lines.append(f"- {line} **{verdict}**")
        if verdict != "PASS":
            misses.append(line)
    lines.append("")
    lines += abort_lines(medians)
    lines += misses_section(misses, "## Targets missed", "All targets met.")
    return finish(lines, args, misses)


if __name__ == "__main__":
    sys.exit(main())
