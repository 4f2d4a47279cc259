#!/usr/bin/env python3
"""lockfree_stack_queue_ratios.py - ratio tables from perf/lockfree_stack_queue_bench's JSON.

Reads the Google Benchmark JSON that lockfree_stack_queue_bench writes with
--benchmark_out=FILE --benchmark_out_format=json, takes the median of every
benchmark over its repetitions (perf/bench_json.py) and prints, for the stack
and for the queue, one Markdown table: throughput (million push+pop
operations per second, median items_per_second) of quiesce and of every peer
in each workload (pairs: 1 thread; prod_cons: 1 producer + 1 consumer;
mixed: 2 threads each pushing and popping), and quiesce / peer for each peer.
Below each table, for information: the structure on a hazard-pointer domain
of its own (pairs only), and its rate over the default domain's.

Target (issue 4): quiesce >= 1.0x the best Debian peer whose guarantees are
comparable, in every workload. Judged on the paired rows
(<kind>/paired/<workload>: segments of quiesce and of each comparable peer
back to back on the same pinned threads, order rotating; counter vs_best,
the median over iterations of quiesce's rate over the fastest peer's of the
iteration), printed in a table under each structure's; where the JSON has
no paired row for a workload, on the table's per-implementation medians.
"Comparable" here means a lock-free multi-producer multi-consumer
structure that takes its memory back or keeps it type-stable
(boost::lockfree, liburcu's cds_lfs with RCU, ck_hp_stack, ck_hp_fifo). tbb::concurrent_queue (not lock-free: spin-waits inside
micro-queues) and liburcu's cds_wfcq (dequeue under a mutex) are reported
for information and marked so. Every ratio is printed, lost or won.

Only the Python standard library is used. Exit status: 0; 1 with --strict
when a target is missed or could not be checked; 2 on unreadable input.

Example:
  build/main/perf/lockfree_stack_queue_bench --benchmark_repetitions=7 --benchmark_min_time=0.1 \\
      --benchmark_out=out/lockfree_stack_queue_bench.json --benchmark_out_format=json
  python3 perf/lockfree_stack_queue_ratios.py out/lockfree_stack_queue_bench.json \\
      -o out/lockfree_stack_queue_ratios.md
"""

import functools
import sys

from bench_json import fmt, fmt_ratio, ratio, tables_help, tables_main

HEADER_NOTES = [
    "Values are uint64_t. Thread 0 on the first CPU of the process's mask, thread 1 on the second; "
    "ops/s counts every push and every pop of all threads; pairs per second of the thread's CPU "
    "time (preemption by other processes excluded), the 2-thread workloads in real time.",
    "On a noisy 2-vCPU VM read ratios from one run; 2-thread figures depend on how the "
    "vCPUs' timeslices line up.",
    "quiesce's pops free the node at once when the popping thread holds the domain's only "
    "hazard records (pairs; prod_cons of the stack, whose producer holds none) and retire it "
    "otherwise (structures/hazard_pointers/README.md, \"Freed at once\").",
]
WORKLOADS = [
    ("pairs", "1 thread: push then pop"),
    ("prod_cons", "2 threads: producer + consumer"),
    ("mixed", "2 threads: each push then pop"),
]

# (key in the benchmark name, label, comparable?, what the peer guarantees)
STRUCTURES = {
    "stack": {
        "ours": ("quiesce_treiber", "quiesce::lockfree::treiber_stack"),
        "own_domain": "quiesce_treiber_own_domain",
        "peers": [
            ("boost_lockfree", "boost::lockfree::stack", True,
             "lock-free (tagged pointers); T copyable; nodes recycled through its freelist, "
             "never returned to the allocator (type-stable memory)"),
            ("urcu_lfs", "liburcu cds_lfs", True,
             "lock-free push and pop (pop in an RCU read-side section); nodes freed by "
             "call_rcu after a grace period (unbounded garbage while a reader stalls)"),
            ("ck_hp_stack", "ck_hp_stack", True,
             "lock-free; ck_hp hazard pointers (one full fence per protect); any payload via void*"),
        ],
    },
    "queue": {
        "ours": ("quiesce_ms", "quiesce::lockfree::ms_queue"),
        "own_domain": "quiesce_ms_own_domain",
        "peers": [
            ("boost_lockfree", "boost::lockfree::queue", True,
             "lock-free MS queue (tagged pointers); T trivially copyable, assignable and "
             "destructible; freelist, type-stable memory"),
            ("ck_hp_fifo", "ck_hp_fifo", True,
             "lock-free MS queue with ck_hp hazard pointers; payload a void*"),
            ("tbb", "tbb::concurrent_queue", False,
             "not lock-free (spin-waits inside micro-queues: a preempted thread stalls others); any T"),
            ("moodycamel_cq", "moodycamel::ConcurrentQueue", False,
             "FIFO per producer only, not linearizable across producers (a sub-queue per "
             "producing thread); lock-free; allocates blocks as it grows"),
            ("urcu_wfcq", "liburcu cds_wfcq", False,
             "wait-free enqueue, blocking dequeue (the queue's mutex); intrusive nodes"),
        ],
    },
}


def mops(medians, name):
    row = medians.get(name)
    if not row or "items_per_second" not in row:
        return None
    return row["items_per_second"] / 1e6


def paired_vs_best(medians, kind, wl):
    return medians.get(f"{kind}/paired/{wl}", {}).get("vs_best")


def paired_table(kind, spec, medians, errors, misses, lines):
    """The paired rows of one structure (<kind>/paired/<workload>), on which
    its targets are judged; nothing when the JSON has none."""
    names = [f"{kind}/paired/{wl}" for wl, _ in WORKLOADS]
    if not any(n in medians or n in errors for n in names):
        return
    ours_label = spec["ours"][1].split("::")[-1]
    comparable = [(key, label) for key, label, comp, _ in spec["peers"] if comp]
    lines.append(f"Paired, what the targets are judged on: each iteration of `{kind}/paired/<workload>` runs one "
                 "segment of the workload through quiesce and one through each comparable peer, back to back on "
                 "the same pinned threads in an order that rotates, and takes quiesce's rate over each peer's and "
                 "over the fastest peer's of that iteration; the figures are the medians of those ratios. The "
                 "table above takes each implementation's repetitions at different moments, and on this VM a "
                 "slow stretch of a second or so can fall on one implementation only.")
    lines.append("")
    head = ["workload"] + [f"{ours_label} / {label}" for _, label in comparable]
    head += [f"{ours_label} / fastest peer of each iteration", "target >= 1.0x"]
    lines.append("| " + " | ".join(head) + " |")
    lines.append("|---|" + "---:|" * (len(comparable) + 1) + "---|")
    for (wl, wl_label), name in zip(WORKLOADS, names):
        row = medians.get(name)
        if row is None or "vs_best" not in row:
            why = errors.get(name, "not run")
            lines.append(f"| {wl} ({wl_label}) | " + " | ".join([why] * (len(comparable) + 1)) + " | n/a |")
            misses.append(f"{kind} {wl}, paired: {why}")
            continue
        cells = [fmt_ratio(row.get(f"vs_{key}")) for key, _ in comparable]
        r = row["vs_best"]
        verdict = "PASS" if r >= 1.0 else "MISS"
        if r < 1.0:
            misses.append(f"{kind} {wl}: {r:.2f}x the fastest comparable peer, paired")
        lines.append(f"| {wl} ({wl_label}) | " + " | ".join(cells) + f" | {fmt_ratio(r)} | {verdict} |")
    lines.append("")


def table(kind, spec, r, lines):
    """The table of one structure (STRUCTURES[kind] is spec); r: a Results."""
    medians, errors, misses = r.m, r.errors, r.misses
    ours_key, ours_label = spec["ours"]
    peers = spec["peers"]
    lines.append(f"## {kind.capitalize()}: million operations (push + pop) per second, median")
    lines.append("")
    head = ["workload", ours_label] + [label + ("" if comp else " (info)") for _, label, comp, _ in peers]
    head += [f"{ours_label.split('::')[-1]} / {label}" for _, label, _, _ in peers]
    head += ["best comparable peer", "target >= 1.0x"]
    lines.append("| " + " | ".join(head) + " |")
    lines.append("|---|" + "---:|" * (1 + 2 * len(peers)) + "---|---|")
    for wl, wl_label in WORKLOADS:
        name = lambda key: f"{kind}/{wl}/{key}"  # noqa: E731
        ours = mops(medians, name(ours_key))
        cells = [fmt(ours) if ours is not None else errors.get(name(ours_key), "not run")]
        values = {}
        for key, _, _, _ in peers:
            v = mops(medians, name(key))
            values[key] = v
            cells.append(fmt(v) if v is not None else errors.get(name(key), "not run"))
        for key, _, _, _ in peers:
            cells.append(fmt_ratio(ratio(ours, values[key])))
        comparable = [(values[key], label) for key, label, comp, _ in peers if comp and values[key] is not None]
        best_v, best_label = max(comparable) if comparable else (None, None)
        best = f"{best_label} {fmt_ratio(ratio(ours, best_v))}" if ours is not None and comparable else "n/a"
        if paired_vs_best(medians, kind, wl) is not None:
            verdict = "paired, below"  # judged on the paired rows
        elif ours is None or not comparable:
            verdict = "n/a (not measured)"
            misses.append(f"{kind} {wl}: not measured")
        else:
            r = ratio(ours, best_v)
            verdict = "PASS" if r >= 1.0 else "MISS"
            if r < 1.0:
                misses.append(f"{kind} {wl}: {r:.2f}x {best_label}")
        lines.append(f"| {wl} ({wl_label}) | " + " | ".join(cells) + f" | {best} | {verdict} |")
    lines.append("")
    paired_table(kind, spec, medians, errors, misses, lines)
    own_key = spec.get("own_domain")
    own_name = f"{kind}/pairs/{own_key}" if own_key else None
    if own_name in medians or own_name in errors:
        label = f"- information, not a target: {ours_label} on a hazard-pointer domain of its own, 1 thread (pairs): "
        own = mops(medians, own_name)
        if own is None:
            lines.append(label + errors.get(own_name, "not measured"))
        else:
            default = mops(medians, f"{kind}/pairs/{ours_key}")
            lines.append(label + f"{fmt(own)} M operations/s, {fmt_ratio(ratio(own, default))} the default "
                         "domain's (a set of the thread's operation records, lent as the default domain's are; "
                         "alone with the domain, its pops free at once as the default domain's do)")
        lines.append("")
    lines.append("Peers' guarantees (\"(info)\": not comparable, not counted in the target):")
    lines.append("")
    for _, label, comp, what in peers:
        lines.append(f"- {label}: {what}{'' if comp else ' — not comparable'}.")
    lines.append(f"- {ours_label}: lock-free, any movable T (non-trivial, move-only), nodes on the "
                 "pushing thread's NUMA node, popped nodes reclaimed by quiesce's hazard pointers "
                 "(bounded garbage even when a thread stalls).")
    lines.append("")


def main():
    tables = [functools.partial(table, kind, spec) for kind, spec in STRUCTURES.items()]
    return tables_main("lockfree_stack_queue_bench", HEADER_NOTES, tables, ("## Targets missed", "## Every target met"),
                       **tables_help("lockfree_stack_queue_bench", 7))


if __name__ == "__main__":
    sys.exit(main())
