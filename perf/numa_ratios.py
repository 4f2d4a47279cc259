#!/usr/bin/env python3
"""numa_ratios.py - turn perf/numa_bench's Google Benchmark JSON into ratio tables.

Reads the JSON that numa_bench writes with --benchmark_out=FILE
--benchmark_out_format=json (or prints with --benchmark_format=json), takes
the median of every benchmark over its repetitions (the "median" aggregate
rows where present, otherwise the median of the repetition rows) and prints
Markdown tables:

  * small-object allocation, alloc+free pairs, 1 thread, per size: quiesce
    node_pool against malloc (target: pool <= 1.5x malloc) and against
    numa_alloc_onnode (target: >= 10x faster), with the std::pmr pools and
    allocate_on_node for reference; then the same for 512-object batches
    (no targets: it shows the shared-list path);
  * memory on the local node against every other node: pointer-chase latency
    and sequential-read bandwidth, and their remote/local ratios (or why the
    remote cases were skipped);
  * the core-to-core ping-pong matrix: median ns per round trip per CPU pair.

Times are CPU time per iteration (single-threaded benchmarks), in ns. Only
the Python standard library is used. Exit status: 0, or 1 with --strict when
a target is missed, 2 on unreadable input.

Example:
  build/perf/numa_bench --benchmark_repetitions=5 \\
      --benchmark_out=out/numa_bench.json --benchmark_out_format=json
  python3 perf/numa_ratios.py out/numa_bench.json -o out/numa_ratios.md
"""

import argparse
import re
import statistics
import sys

from bench_json import Results, finish, load_medians, ratio  # perf/bench_json.py, beside this script

SIZES = [32, 64, 256]
POOL_VS_MALLOC_TARGET = 1.5  # node_pool / malloc, at most
NUMA_ALLOC_VS_POOL_TARGET = 10.0  # numa_alloc_onnode / node_pool, at least
BATCH = 512  # alloc_free_batch: objects per iteration
PEERS = [
    ("node_pool", "quiesce node_pool"),
    ("malloc", "malloc/free"),
    ("numa_alloc_onnode", "numa_alloc_onnode/numa_free"),
    ("pmr_unsynchronized_pool", "pmr unsynchronized_pool_resource"),
    ("pmr_synchronized_pool", "pmr synchronized_pool_resource"),
    ("allocate_on_node", "quiesce allocate_on_node (pages)"),
]
PAIR = re.compile(r"^cpu(\d+)_cpu(\d+)$")


def fmt(x, digits=1):
    if x is None:
        return "n/a"
    if x >= 10000:
        return f"{x:,.0f}"
    return f"{x:.{digits}f}"


def times(x):
    return f"{x:,.0f}x" if x >= 100 else f"{x:.1f}x"


def alloc_tables(r, lines):
    for family, per_item, title in (("alloc_free", 1, "alloc+free pairs"),
                                    ("alloc_free_batch", BATCH, f"{BATCH} allocations then {BATCH} frees")):
        lines.append(f"## Small objects: {title} (ns per object, CPU time, median, 1 thread)")
        lines.append("")
        header = "| size | " + " | ".join(label for _, label in PEERS)
        header += " | pool / malloc | numa_alloc_onnode / pool |"
        lines.append(header)
        lines.append("|---:|" + "---:|" * (len(PEERS) + 2))
        for size in SIZES:
            ns = {}
            for key, _ in PEERS:
                cpu = r.get(f"{family}/{key}/size:{size}", "cpu_time")
                ns[key] = None if cpu is None else cpu / per_item
            cells = [fmt(ns[key]) for key, _ in PEERS]
            vs_malloc = ratio(ns["node_pool"], ns["malloc"])
            vs_numa = ratio(ns["numa_alloc_onnode"], ns["node_pool"])
            if family == "alloc_free":
                if vs_malloc is None:
                    c1 = r.why_missing(f"{family}/node_pool/size:{size}")
                else:
                    ok = vs_malloc <= POOL_VS_MALLOC_TARGET
                    if not ok:
                        r.misses.append(f"size {size}: node_pool/malloc {vs_malloc:.2f}x > {POOL_VS_MALLOC_TARGET}x")
                    c1 = f"{vs_malloc:.2f}x (<= {POOL_VS_MALLOC_TARGET}x: {'PASS' if ok else 'MISS'})"
                if vs_numa is None:
                    c2 = r.why_missing(f"{family}/numa_alloc_onnode/size:{size}")
                else:
                    ok = vs_numa >= NUMA_ALLOC_VS_POOL_TARGET
                    if not ok:
                        r.misses.append(f"size {size}: numa_alloc_onnode/node_pool {vs_numa:.1f}x "
                                        f"< {NUMA_ALLOC_VS_POOL_TARGET}x")
                    c2 = f"{times(vs_numa)} (>= {NUMA_ALLOC_VS_POOL_TARGET:g}x: {'PASS' if ok else 'MISS'})"
            else:
                c1 = "n/a" if vs_malloc is None else f"{vs_malloc:.2f}x"
                c2 = "n/a" if vs_numa is None else times(vs_numa)
            lines.append(f"| {size} | " + " | ".join(cells) + f" | {c1} | {c2} |")
        lines.append("")


def memory_table(r, lines):
    lines.append("## Local vs remote memory (64 MiB buffer, from the measuring CPU)")
    lines.append("")
    local = sorted(n for n in r.m if n.startswith("memory/chase/local_node:"))
    if not local:
        lines.append(f"Local case: {r.why_missing('memory/chase/local_node:0')}.")
        lines.append("")
        return
    local_node = local[0].rsplit(":", 1)[1]
    remotes = sorted({n.rsplit("/", 1)[1] for n in list(r.m) + list(r.errors)
                      if n.startswith(("memory/chase/remote", "memory/read/remote"))})

    def figures(where):
        lat = r.get(f"memory/chase/{where}", "s_per_load")
        bw = r.get(f"memory/read/{where}", "bytes_per_second")
        return (None if lat is None else lat * 1e9), (None if bw is None else bw / 1e9)

    lat0, bw0 = figures(f"local_node:{local_node}")
    lines.append("| memory | latency ns/load | read GB/s | latency remote/local | bandwidth local/remote |")
    lines.append("|---|---:|---:|---:|---:|")
    lines.append(f"| local (node {local_node}) | {fmt(lat0)} | {fmt(bw0, 2)} | 1.00x | 1.00x |")
    for where in remotes:
        lat, bw = figures(where)
        if lat is None and bw is None:
            lines.append(f"| {where} | - | - | {r.why_missing('memory/chase/' + where)} | - |")
            continue
        lr, br = ratio(lat, lat0), ratio(bw0, bw)
        lines.append(f"| {where.replace('remote_node:', 'remote (node ') + ')'} | {fmt(lat)} | {fmt(bw, 2)} | "
                     f"{'n/a' if lr is None else f'{lr:.2f}x'} | {'n/a' if br is None else f'{br:.2f}x'} |")
    lines.append("")


def pingpong_table(r, lines):
    lines.append("## Core-to-core ping-pong (median ns per round trip, real time)")
    lines.append("")
    name = "pingpong/matrix"
    counters = r.m.get(name)
    if not counters:
        lines.append(f"{r.why_missing(name)}.")
        lines.append("")
        return
    pairs = {}
    for key, value in counters.items():
        m = PAIR.match(key)
        if m:
            a, b = int(m.group(1)), int(m.group(2))
            pairs[(a, b)] = pairs[(b, a)] = value
    cpus = sorted({a for a, _ in pairs})
    lines.append("| cpu | " + " | ".join(str(c) for c in cpus) + " |")
    lines.append("|---:|" + "---:|" * len(cpus))
    for a in cpus:
        row = ["-" if a == b else fmt(pairs.get((a, b))) for b in cpus]
        lines.append(f"| {a} | " + " | ".join(row) + " |")
    if pairs:
        values = sorted(v for (a, b), v in pairs.items() if a < b)
        lines.append("")
        lines.append(f"min {fmt(values[0])} ns, median {fmt(statistics.median(values))} ns, "
                     f"max {fmt(values[-1])} ns over {len(values)} pairs.")
    lines.append("")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("json", help="numa_bench output (--benchmark_out_format=json)")
    parser.add_argument("-o", "--output", help="also write the tables to this file")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args()

    context, medians, errors = load_medians(args.json)
    r = Results(medians, errors)
    lines = ["# numa_bench ratios", ""]
    host = context.get("host_name", "?")
    lines.append(f"Host {host}, {context.get('num_cpus', '?')} CPUs, NUMA nodes: {context.get('numa_nodes', '?')} "
                 f"(numa supported: {context.get('numa_supported', '?')}), measuring CPU "
                 f"{context.get('measuring_cpu', '?')}; Google Benchmark library built as {context.get('library_build_type', '?')}.")
    lines.append("")
    alloc_tables(r, lines)
    memory_table(r, lines)
    pingpong_table(r, lines)
    if r.misses:
        lines.append("Targets missed: " + "; ".join(r.misses) + ".")
    else:
        lines.append("All targets met.")
    return finish(lines, args, r.misses)


if __name__ == "__main__":
    sys.exit(main())
