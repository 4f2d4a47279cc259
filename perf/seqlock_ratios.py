#!/usr/bin/env python3
"""seqlock_ratios.py - turn perf/seqlock_bench's Google Benchmark JSON into ratio tables.

Reads the JSON that seqlock_bench writes with --benchmark_out=FILE
(--benchmark_out_format=json), takes the median of every benchmark over its
repetitions (perf/bench_json.py), and prints Markdown tables:

  * read cost per payload size (16, 64, 256 bytes) and writer mode (none,
    paced, flat_out): quiesce::seqlock, quiesce::seqcount_latch, Concurrency
    Kit's ck_sequence and std::shared_mutex, in ns per read, with the ratios
    seqlock / ck and latch / ck. Target (issue 5): seqlock <= 1.2x ck_sequence
    for 16 bytes with no writer (PASS/MISS); the other rows are shown for
    information, marked "info";
  * the writer's pace in the writer rows (writes per read): whether the
    peers saw comparable write pressure (with a flat-out writer they do not:
    each peer's writer gets the cache line at its own rate);
  * uncontended write cost per peer.

Only the Python standard library is used. Exit status: 0, or 1 with --strict
when the target is missed, 2 on unreadable input.

Example:
  build/main/perf/seqlock_bench --benchmark_repetitions=5 --benchmark_min_time=0.2 \\
      --benchmark_out=out/seqlock_bench.json --benchmark_out_format=json
  python3 perf/seqlock_ratios.py out/seqlock_bench.json -o out/seqlock_ratios.md
"""

import sys

from bench_json import Results, fmt, fmt_ratio, ratio, tables_help, tables_main  # perf/bench_json.py, beside this script

SIZES = [16, 64, 256]
WRITERS = ["none", "paced", "flat_out"]
PEERS = [("quiesce_seqlock", "quiesce seqlock"), ("quiesce_latch", "quiesce latch"),
         ("ck_sequence", "ck_sequence"), ("std_shared_mutex", "std::shared_mutex")]
TARGET = 1.2  # quiesce seqlock / ck_sequence, 16 bytes, no writer: at most
TARGET_ROW = (16, "none")
BATCH = 64  # seqlock_bench's reads per iteration (fallback when per_read is absent)
HEADER_NOTES = [
    "Placement: reader on the first CPU of the process's mask, writer on the second.",
    "On a noisy 2-vCPU VM read ratios from one run, not single figures.",
]


class Report(Results):
    def per_op_ns(self, name, counter):
        v = self.get(name, counter)
        if v is not None:
            return v * 1e9
        cpu = self.get(name, "cpu_time")
        return None if cpu is None else cpu / BATCH


def read_table(r, lines):
    lines.append("## Read cost (ns per consistent read, CPU time, median)")
    lines.append("")
    lines.append("writer: none = nobody writes; paced = one write per microsecond on the helper CPU; "
                 "flat_out = back-to-back writes on the helper CPU (worst case; depends on scheduling).")
    lines.append("")
    lines.append("| payload | writer | " + " | ".join(label for _, label in PEERS) +
                 " | seqlock / ck | latch / ck | shared_mutex / seqlock | target | result |")
    lines.append("|---|---|" + "---:|" * len(PEERS) + "---:|---:|---:|---:|---|")
    for size in SIZES:
        for writer in WRITERS:
            names = {key: f"read/{size}B/{key}/writer:{writer}" for key, _ in PEERS}
            ns = {key: r.per_op_ns(n, "per_read") for key, n in names.items()}
            q = ratio(ns["quiesce_seqlock"], ns["ck_sequence"])
            ql = ratio(ns["quiesce_latch"], ns["ck_sequence"])
            qs = ratio(ns["std_shared_mutex"], ns["quiesce_seqlock"])
            cells = [fmt(ns[key], 2) if ns[key] is not None else r.why_missing(names[key]) for key, _ in PEERS]
            if (size, writer) == TARGET_ROW:
                if q is None:
                    target, result = f"<= {TARGET:.1f}x", "n/a"
                    r.misses.append(f"read/{size}B writer:{writer}: seqlock/ck not measured")
                else:
                    ok = q <= TARGET
                    if not ok:
                        r.misses.append(f"read/{size}B writer:{writer}: seqlock/ck {q:.3f}x > {TARGET:.1f}x")
                    target, result = f"<= {TARGET:.1f}x", "PASS" if ok else "MISS"
            else:
                target, result = "-", "info"
            lines.append(f"| {size} B | {writer} | " + " | ".join(cells) +
                         f" | {fmt_ratio(q, 3)} | {fmt_ratio(ql, 3)} | {fmt_ratio(qs, 1)} | {target} | {result} |")
    lines.append("")


def pace_table(r, lines):
    lines.append("## Writer pace in the writer rows (writes per read, median)")
    lines.append("")
    lines.append("| payload | writer | " + " | ".join(label for _, label in PEERS) + " |")
    lines.append("|---|---|" + "---:|" * len(PEERS))
    for size in SIZES:
        for writer in WRITERS[1:]:
            cells = []
            for key, _ in PEERS:
                v = r.get(f"read/{size}B/{key}/writer:{writer}", "writes_per_read")
                cells.append(fmt(v, 3))
            lines.append(f"| {size} B | {writer} | " + " | ".join(cells) + " |")
    lines.append("")


def write_table(r, lines):
    lines.append("## Uncontended write cost (ns per write, CPU time, median)")
    lines.append("")
    lines.append("| payload | " + " | ".join(label for _, label in PEERS) + " | seqlock / ck |")
    lines.append("|---|" + "---:|" * len(PEERS) + "---:|")
    for size in SIZES:
        ns = {key: r.per_op_ns(f"write/{size}B/{key}", "per_write") for key, _ in PEERS}
        q = ratio(ns["quiesce_seqlock"], ns["ck_sequence"])
        lines.append(f"| {size} B | " + " | ".join(fmt(ns[key], 2) for key, _ in PEERS) + f" | {fmt_ratio(q, 3)} |")
    lines.append("")


def main():
    return tables_main("seqlock_bench", HEADER_NOTES, [read_table, pace_table, write_table],
                       ("## Target missed", "## Target met"), Report, **tables_help("seqlock_bench", 5))


if __name__ == "__main__":
    sys.exit(main())
