#!/usr/bin/env python3
"""rcu_ratios.py - turn perf/rcu_bench's Google Benchmark JSON into ratio tables.

Reads the JSON that rcu_bench writes with --benchmark_out=FILE (and
--benchmark_out_format=json) or prints with --benchmark_format=json, takes the
median of every benchmark over its repetitions (the "median" aggregate rows
where present, otherwise the median of the repetition rows), and prints
Markdown tables:

  * read side: quiesce guard vs liburcu's inline pair, per flavour
    (target: guard <= 1.10x inline, judged on the paired rows
    read/<flavour>/paired where the JSON has them), and std::shared_mutex /
    std::mutex vs the guard (targets: shared_mutex >= 5x the memb guard,
    >= 20x the qsbr guard);
  * rcu_synchronize: per flavour with no other registered thread, one idle
    registered thread and one busy reader, quiesce vs liburcu;
  * retirement: retire->deleter latency p50/p99 and retire throughput,
    quiesce (rcu_retire, rcu_obj_base) vs raw urcu_memb_call_rcu.

Only the Python standard library is used. Exit status: 0, or 1 with --strict
when a target is missed, 2 on unreadable input.

Example:
  build/main/perf/rcu_bench --benchmark_repetitions=7 \\
      --benchmark_out=out/rcu_bench.json --benchmark_out_format=json
  python3 perf/rcu_ratios.py out/rcu_bench.json -o out/rcu_ratios.md
"""

import sys

from bench_json import Results, fmt_ratio, ratio, tables_help, tables_main  # perf/bench_json.py, beside this script

FLAVOURS = ["memb", "qsbr", "mb", "bp"]
READ_TARGET = 1.10  # quiesce guard / liburcu inline pair, at most
LOCK_TARGETS = {"memb": 5.0, "qsbr": 20.0}  # shared_mutex / guard, at least
SECTIONS_PER_ITERATION = 16  # rcu_bench's read loops run 16 sections per iteration
HEADER_NOTES = [
    "Placement: measuring thread on the first CPU of the process's mask, helper threads on the second.",
    "A noisy 2-vCPU VM is the reference machine: read ratios and medians, not single figures; a qsbr "
    "section is empty (only the payload load), so its guard/inline ratio is timer noise around 1.",
]


class Report(Results):
    def section_ns(self, name):
        """Median ns per read-side section (CPU time)."""
        per = self.get(name, "per_section")
        if per is not None:
            return per * 1e9
        cpu = self.get(name, "cpu_time")
        return cpu / SECTIONS_PER_ITERATION if cpu is not None else None

    def peers_run(self, group, peers, lines, empty_cells):
        """Yields (benchmark name, label) for each (key, label) of peers whose
        benchmark group/key ran; for each other one appends to lines its table
        row: the label, why it has no figure, then empty_cells empty cells."""
        for key, label in peers:
            name = f"{group}/{key}"
            if name not in self.m:
                lines.append(f"| {label} | {self.why_missing(name)} |" + " |" * empty_cells)
                continue
            yield name, label


def fmt(x, digits=2):
    if x is None:
        return "n/a"
    if x != 0 and abs(x) < 10 ** -digits:
        return f"{x:.{digits}g}"
    return f"{x:.{digits}f}"


def read_tables(r, lines):
    lines.append("## Read side: one empty section (ns per section, CPU time, median)")
    lines.append("")
    base = r.section_ns("read/none/payload_only")
    lines.append(f"Loop and payload load alone (read/none/payload_only): {fmt(base, 3)} ns per section.")
    lines.append("")
    lines.append("The target is judged on the paired figure (read/<flavour>/paired: segments of the guard's and "
                 "of the inline pair's sections back to back, order alternating, median of the per-pair time "
                 "ratios) where the JSON has it, otherwise on the ratio of the per-variant medians, which runs "
                 "the variants seconds apart and so moves with the machine's drift.")
    lines.append("")
    lines.append("| flavour | quiesce guard | liburcu inline pair | guard / inline, medians | guard / inline, paired "
                 "| target | result |")
    lines.append("|---|---:|---:|---:|---:|---:|---|")
    # (row label, flavour, guard benchmark, paired benchmark, name in the misses list)
    rows = [(fl, fl, f"read/{fl}/quiesce_guard", f"read/{fl}/paired", f"read/{fl}") for fl in FLAVOURS]
    rows.append(("memb, guard given the thread's registration (no registration test)", "memb",
                 "read/memb/quiesce_guard_registered", "read/memb/registered_paired", "read/memb (registered)"))
    for label, fl, g_name, p_name, miss_name in rows:
        i_name = f"read/{fl}/liburcu_inline"
        g, i = r.section_ns(g_name), r.section_ns(i_name)
        q = ratio(g, i)
        paired = r.get(p_name, "guard_vs_inline")
        judged = paired if paired is not None else q
        cells = f"| {label} | {fmt(g, 3)} | {fmt(i, 3)} | {fmt_ratio(q, 3)} | {fmt_ratio(paired, 3)} | <= {READ_TARGET:.2f}x |"
        if judged is None:
            lines.append(f"{cells} {r.why_missing(g_name if g is None else i_name)} |")
            continue
        ok = judged <= READ_TARGET
        if not ok:
            how = "paired" if paired is not None else "medians"
            r.misses.append(f"{miss_name}: guard/inline {judged:.3f}x ({how}) > {READ_TARGET:.2f}x")
        lines.append(f"{cells} {'PASS' if ok else 'MISS'} |")
    lines.append("")

    sm = r.section_ns("read/std/shared_mutex")
    mx = r.section_ns("read/std/mutex")
    lines.append(f"## Read side vs std locks (std::shared_mutex lock_shared: {fmt(sm)} ns, "
                 f"std::mutex lock: {fmt(mx)} ns per section)")
    lines.append("")
    lines.append("The targets are judged on the paired figure (read/<flavour>/shared_mutex_paired: segments of the "
                 "guard's and of lock_shared's sections back to back, order alternating, median of the per-pair "
                 "time ratios) where the JSON has it, otherwise on the ratio of the per-variant medians.")
    lines.append("")
    lines.append("| flavour | quiesce guard ns | shared_mutex / guard, medians | shared_mutex / guard, paired "
                 "| target | result | mutex / guard |")
    lines.append("|---|---:|---:|---:|---:|---|---:|")
    for fl in FLAVOURS:
        g = r.section_ns(f"read/{fl}/quiesce_guard")
        q, qm = ratio(sm, g), ratio(mx, g)
        paired = r.get(f"read/{fl}/shared_mutex_paired", "shared_mutex_vs_guard")
        judged = paired if paired is not None else q
        target = LOCK_TARGETS.get(fl)
        if target is None:
            result, tgt = "-", "-"
        elif judged is None:
            result, tgt = r.why_missing("read/std/shared_mutex" if sm is None else f"read/{fl}/quiesce_guard"), f">= {target:g}x"
        else:
            ok = judged >= target
            if not ok:
                how = "paired" if paired is not None else "medians"
                r.misses.append(f"read/{fl}: shared_mutex/guard {judged:.1f}x ({how}) < {target:g}x")
            result, tgt = ("PASS" if ok else "MISS"), f">= {target:g}x"
        lines.append(f"| {fl} | {fmt(g, 3)} | {fmt_ratio(q, 1)} | {fmt_ratio(paired, 1)} | {tgt} | {result} "
                     f"| {fmt_ratio(qm, 1)} |")
    lines.append("")


def synchronize_table(r, lines):
    lines.append("## rcu_synchronize latency (us per call, real time, median)")
    lines.append("")
    lines.append("readers: none = no other registered thread; idle = one registered thread, blocked "
                 "(qsbr: offline); busy = one thread on the helper CPU looping over read-side sections.")
    lines.append("")
    lines.append("| flavour | quiesce none | quiesce idle | quiesce busy | liburcu none | liburcu idle | "
                 "liburcu busy | quiesce / liburcu (busy) | busy / none (quiesce) |")
    lines.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for fl in FLAVOURS:
        cells = {}
        for impl in ("quiesce", "liburcu"):
            for mode in ("none", "idle", "busy"):
                t = r.get(f"synchronize/{fl}/{impl}/readers:{mode}", "real_time")
                cells[impl, mode] = None if t is None else t / 1e3
        q_vs_raw = ratio(cells["quiesce", "busy"], cells["liburcu", "busy"])
        busy_vs_none = ratio(cells["quiesce", "busy"], cells["quiesce", "none"])
        row = [fmt(cells[k], 3) for k in [("quiesce", m) for m in ("none", "idle", "busy")] +
               [("liburcu", m) for m in ("none", "idle", "busy")]]
        row.append(fmt_ratio(q_vs_raw))
        row.append(fmt_ratio(busy_vs_none, 0))
        lines.append(f"| {fl} | " + " | ".join(row) + " |")
    skipped = sorted(n for n in r.errors if n.startswith("synchronize/"))
    if skipped:
        lines.append("")
        lines.append("Skipped: " + "; ".join(f"{n}: {r.errors[n]}" for n in skipped))
    lines.append("")


def retire_tables(r, lines):
    peers = [("quiesce_rcu_retire", "quiesce::rcu_retire(p, d)"),
             ("quiesce_obj_base", "rcu_obj_base::retire()"),
             ("liburcu_call_rcu", "urcu_memb_call_rcu (raw)")]
    lines.append("## rcu_barrier on an idle domain (one retire, then the barrier; memb)")
    lines.append("")
    lines.append("| peer | us per retire + barrier | vs raw liburcu |")
    lines.append("|---|---:|---:|")
    raw_b = r.get("barrier_idle/liburcu_call_rcu", "real_time")
    barrier_peers = (("quiesce_rcu_retire", "quiesce::rcu_retire + rcu_barrier"),
                     ("liburcu_call_rcu", "urcu_memb_call_rcu + urcu_memb_barrier (raw)"))
    for name, label in r.peers_run("barrier_idle", barrier_peers, lines, 1):
        t = r.get(name, "real_time")
        lines.append(f"| {label} | {fmt(t and t / 1e3, 1)} | {fmt_ratio(ratio(t, raw_b), 3)} |")
    lines.append("")
    lines.append("## Retire -> deleter latency (memb domain: quiesce's reclaimer; raw: liburcu's call_rcu "
                 "worker on the helper CPU; one retire every 20 us; medians over repetitions)")
    lines.append("")
    lines.append("| peer | p50 ms | p99 ms | max ms | retire call ns | p50 vs raw | p99 vs raw |")
    lines.append("|---|---:|---:|---:|---:|---:|---:|")
    raw = "retire_latency/liburcu_call_rcu"
    raw50, raw99 = r.get(raw, "p50_us"), r.get(raw, "p99_us")
    for name, label in r.peers_run("retire_latency", peers, lines, 5):
        p50, p99, mx, enq = (r.get(name, k) for k in ("p50_us", "p99_us", "max_us", "enqueue_ns"))
        q50, q99 = ratio(p50, raw50), ratio(p99, raw99)
        lines.append(f"| {label} | {fmt(p50 and p50 / 1e3, 3)} | {fmt(p99 and p99 / 1e3, 3)} | "
                     f"{fmt(mx and mx / 1e3, 3)} | {fmt(enq, 1)} | "
                     f"{fmt_ratio(q50)} | {fmt_ratio(q99)} |")
    lines.append("")
    lines.append("## Retire throughput (back-to-back retires, deleters on the helper CPU; default settings: "
                 "quiesce's backlog throttle at 262144 outstanding applies to the quiesce peers)")
    lines.append("")
    lines.append("| peer | M retires/s | vs raw call_rcu | times throttled (median per run) |")
    lines.append("|---|---:|---:|---:|")
    raw_tp = r.get("retire_throughput/liburcu_call_rcu", "items_per_second")
    for name, label in r.peers_run("retire_throughput", peers, lines, 2):
        tp = r.get(name, "items_per_second")
        thr = r.get(name, "throttled")
        lines.append(f"| {label} | {fmt(tp and tp / 1e6, 2)} | {fmt_ratio(ratio(tp, raw_tp))} | "
                     f"{'-' if thr is None else f'{thr:.0f}'} |")
    lines.append("")


def stall_table(r, lines):
    """Grace-period stall detector on (default) against off, memb domain."""
    lines.append("## Stall detector cost (memb; on = default, watchdog running; off = disabled)")
    lines.append("")
    lines.append("| operation | on | off | on / off |")
    lines.append("|---|---:|---:|---:|")
    rows = [("read", "read-side section, ns", lambda n: r.section_ns(n)),
            ("synchronize", "rcu_synchronize, no readers, ns", lambda n: r.get(n, "real_time")),
            ("retire_throughput", "retire, ns per call",
             lambda n: (1e9 / r.get(n, "items_per_second")) if r.get(n, "items_per_second") else None)]
    for key, label, get in rows:
        on, off = (f"stall_detector/{key}/{state}" for state in ("on", "off"))
        if on not in r.m or off not in r.m:
            lines.append(f"| {label} | {r.why_missing(on)} | {r.why_missing(off)} | |")
            continue
        von, voff = get(on), get(off)
        lines.append(f"| {label} | {fmt(von)} | {fmt(voff)} | {fmt_ratio(ratio(von, voff))} |")
    lines.append("")


def main():
    return tables_main("rcu_bench", HEADER_NOTES, [read_tables, synchronize_table, retire_tables, stall_table],
                       ("## Targets missed", "## Targets: all met"), Report, **tables_help("rcu_bench", 7))


if __name__ == "__main__":
    sys.exit(main())
