"""Results, plots and report of the grace-period reproduction (perf/gp).

Used by scripts/gp_reproduce.py (which runs perf/gp/gp_harness) and by the
tests in tests/gp/. Python 3 standard library only; plots need gnuplot.

Data model: one *row* per (point, metric), the long format of data.csv:
  experiment  read | update | gp-latency | retire-latency
  exp_id      1..4 (the issue's experiment numbers: 1 read-side scalability,
              2 critical-section length, 3 update throughput, 4 latency)
  contender   qsbr memb mb bp rwlock shared_mutex mutex per_thread_mutex
  readers writers section_cycles reclaim batch path
  metric unit median min max q1 q3 reps values oversubscribed
  program     gp_harness, or the liburcu program (test_urcu, ...) for the rows
              of liburcu's own benchmarks (experiment liburcu-bench, exp_id 0)
Every number in report.md is formatted from these rows by fmt(), so the report
and the CSV agree by construction (tests/gp checks it anyway).
"""

import csv
import json
import math
import os
import re
import shutil
import subprocess

RCU = ["qsbr", "memb", "mb", "bp"]
LOCKS = ["rwlock", "shared_mutex", "mutex", "per_thread_mutex"]
CONTENDERS = RCU + LOCKS
# liburcu's tests/benchmark programs that match a contender of ours (the paper's figures came from them).
URCU_PROGRAMS = [("test_urcu", "memb"), ("test_urcu_qsbr", "qsbr"), ("test_urcu_mb", "mb"),
                 ("test_urcu_bp", "bp"), ("test_rwlock", "rwlock"), ("test_mutex", "mutex"),
                 ("test_perthreadlock", "per_thread_mutex")]
LABEL = {
    "qsbr": "QSBR", "memb": "memb (membarrier)", "mb": "mb (fences)", "bp": "bp (bullet-proof)",
    "rwlock": "pthread rwlock", "shared_mutex": "std::shared_mutex", "mutex": "global mutex",
    "per_thread_mutex": "per-thread mutex",
}
COLUMNS = ["experiment", "exp_id", "contender", "readers", "writers", "section_cycles", "reclaim", "batch",
           "path", "metric", "unit", "median", "min", "max", "q1", "q3", "reps", "values", "oversubscribed", "program"]
INT_COLUMNS = ["exp_id", "readers", "writers", "section_cycles", "batch", "reps"]
FLOAT_COLUMNS = ["median", "min", "max", "q1", "q3"]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


# ------------------------------------------------------------------ parsing --

def parse_summary_line(line):
    """liburcu's tests/benchmark SUMMARY line -> dict, or None if not one.

    Format (test_urcu.c and siblings): "SUMMARY <argv[0]> testdur N key value ...",
    e.g. "SUMMARY ./test_urcu testdur 1 nr_readers 2 rdur 0 wdur 0 nr_writers 1
    wdelay 0 nr_reads 123 nr_writes 4 nr_ops 127". argv[0] may contain spaces
    (the program's path): it is everything before the first "testdur" word
    (every liburcu program prints testdur first), or the first word if there
    is none. Integer values become int; a line with an odd key/value count or a
    non-integer value raises ValueError.
    """
    m = re.match(r"SUMMARY\s+(.*?)\s+(testdur\s.*)$", line.strip()) or re.match(r"SUMMARY\s+(\S+)\s*(.*)$", line.strip())
    if not m:
        return None
    rest = m.group(2).split()
    if len(rest) % 2 != 0:
        raise ValueError("SUMMARY line with an unpaired key: %r" % line.strip())
    out = {"program": os.path.basename(m.group(1))}
    for k, v in zip(rest[0::2], rest[1::2]):
        try:
            out[k] = int(v)
        except ValueError:
            raise ValueError("SUMMARY line: %s=%r is not an integer" % (k, v)) from None
    return out


def rows_from_point(point, exp_id):
    """One gp_harness JSON object -> CSV rows (one per metric; 'errors', which the harness
    already checked, and rates of threads that do not exist left out)."""
    rows = []
    for metric, m in sorted(point["metrics"].items()):
        if metric == "errors":
            continue
        if (metric == "updates_per_s" and point["writers"] == 0) or (metric == "reads_per_s" and point["readers"] == 0):
            continue  # nobody to count
        rows.append({
            "experiment": point["experiment"], "exp_id": exp_id, "contender": point["contender"],
            "readers": point["readers"], "writers": point["writers"],
            "section_cycles": point["section_cycles"], "reclaim": point["reclaim"],
            "batch": point["batch"], "path": point["path"], "metric": metric, "unit": m["unit"],
            "median": m["median"], "min": m["min"], "max": m["max"], "q1": m["q1"], "q3": m["q3"],
            "reps": len(m["values"]), "values": " ".join("%.6g" % v for v in m["values"]),
            "oversubscribed": "yes" if point.get("oversubscribed") else "no", "program": "gp_harness",
        })
    return rows


def _stats(values):
    v = sorted(values)
    mid = lambda xs: (xs[(len(xs) - 1) // 2] + xs[len(xs) // 2]) / 2  # noqa: E731
    half = len(v) // 2
    return dict(median=mid(v), min=v[0], max=v[-1], q1=mid(v[:half] or v), q3=mid(v[(len(v) + 1) // 2:] or v))


def rows_from_urcu(u):
    """One liburcu program result (data.json's urcu_bench entry: program, contender,
    readers, writers, cpus, reads_per_s and updates_per_s as lists, one value per run)
    -> CSV rows (experiment liburcu-bench, exp_id 0), like rows_from_point's."""
    rows = []
    for metric, unit in (("reads_per_s", "reads/s"), ("updates_per_s", "updates/s")):
        vals = u[metric] if isinstance(u[metric], list) else [u[metric]]  # data.json of older runs: one number
        if not vals or (metric == "updates_per_s" and u["writers"] == 0):
            continue
        rows.append(dict(experiment="liburcu-bench", exp_id=0,
                         contender=u.get("contender") or dict(URCU_PROGRAMS).get(u["program"], "?"), readers=u["readers"],
                         writers=u["writers"], section_cycles=0, reclaim="", batch=0, path="", metric=metric,
                         unit=unit, reps=len(vals), values=" ".join("%.6g" % v for v in vals),
                         oversubscribed="yes" if u["readers"] + u["writers"] > u.get("cpus", 1 << 30) else "no",
                         program=u["program"], **_stats(vals)))
    return rows


def write_csv(rows, path):
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS)
        w.writeheader()
        for r in rows:
            w.writerow({k: r[k] for k in COLUMNS})


def read_csv(path):
    rows = []
    with open(path, newline="") as f:
        for r in csv.DictReader(f):
            r.setdefault("program", "gp_harness")  # data.csv written before the column existed
            for k in INT_COLUMNS:
                r[k] = int(r[k])
            for k in FLOAT_COLUMNS:
                r[k] = float(r[k])
            rows.append(r)
    return rows


def png_ok(path):
    """True if `path` is a non-trivial PNG file (signature and IHDR chunk)."""
    try:
        with open(path, "rb") as f:
            head = f.read(16)
        return head[:8] == PNG_MAGIC and head[12:16] == b"IHDR" and os.path.getsize(path) > 1000
    except OSError:
        return False


# -------------------------------------------------------------- formatting --

SCALE = {"reads_per_s": (1e6, "M reads/s"), "updates_per_s": (1e6, "M updates/s")}


def fmt(v):
    """The one number format of the report: 4 significant digits."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "n/a"
    return "%.4g" % v


def fmt_metric(metric, v):
    scale = SCALE.get(metric, (1, ""))[0]
    return fmt(v / scale)


def cell(r):
    """'median (min-max)' of a row, in the metric's report scale."""
    if r is None:
        return "—"
    return "%s (%s–%s)" % (fmt_metric(r["metric"], r["median"]), fmt_metric(r["metric"], r["min"]),
                           fmt_metric(r["metric"], r["max"]))


def select(rows, **kw):
    return [r for r in rows if all(r[k] == v for k, v in kw.items())]


def one(rows, **kw):
    s = select(rows, **kw)
    return s[0] if s else None


def md_table(header, body, left=1):
    """A Markdown table; the first `left` columns left-aligned, the rest right-aligned (numbers)."""
    out = ["| " + " | ".join(header) + " |",
           "|" + "|".join([" --- "] * left + [" ---: "] * (len(header) - left)) + "|"]
    for b in body:
        out.append("| " + " | ".join(b) + " |")
    return "\n".join(out)


# ------------------------------------------------------------------ plots ----

def _terminal(gnuplot):
    try:
        t = subprocess.run([gnuplot, "-e", "set terminal"], capture_output=True, text=True, timeout=30)
        if "pngcairo" in (t.stdout + t.stderr):
            return "pngcairo"
    except (OSError, subprocess.SubprocessError):
        pass
    return "png"


def _write_dat(path, lines):
    with open(path, "w") as f:
        for ln in lines:
            f.write(" ".join(str(x) for x in ln) + "\n")


def _series_lines(rows, xkey, xmap=lambda x: x):
    pts = []
    for r in sorted(rows, key=lambda r: r[xkey]):
        if r["median"] <= 0:
            continue
        lo = r["min"] if r["min"] > 0 else r["median"]
        pts.append((xmap(r[xkey]), "%.6g" % r["median"], "%.6g" % lo, "%.6g" % r["max"]))
    return pts


class Plotter:
    """Writes one gnuplot script + data files per figure under <out>/gnuplot/
    and runs gnuplot; raises RuntimeError with gnuplot's message on failure."""

    def __init__(self, outdir, gnuplot="gnuplot"):
        self.outdir = outdir
        self.gp_dir = os.path.join(outdir, "gnuplot")
        os.makedirs(self.gp_dir, exist_ok=True)
        self.gnuplot = gnuplot
        self.term = _terminal(gnuplot)
        self.n = 0

    def dat(self, name, lines):
        self.n += 1
        path = os.path.join(self.gp_dir, "%s.dat" % name)
        _write_dat(path, lines)
        return path

    def run(self, png, body, size="1000,650"):
        script = os.path.join(self.gp_dir, png.replace(".png", ".gp"))
        font = ' font ",10"' if self.term == "pngcairo" else ""
        text = ('set terminal %s size %s%s\nset termoption noenhanced\nset output "%s"\nset grid\nset key outside right top\n'
                'set datafile missing "NaN"\n%s\nunset output\n'
                % (self.term, size, font, os.path.join(self.outdir, png), body))
        with open(script, "w") as f:
            f.write(text)
        p = subprocess.run([self.gnuplot, script], capture_output=True, text=True, timeout=120)
        if p.returncode != 0 or not png_ok(os.path.join(self.outdir, png)):
            raise RuntimeError("gnuplot failed on %s: %s" % (script, p.stderr.strip()[-800:]))
        return png


def _plot_cmds(series, style="yerrorlines"):
    """series: list of (datfile, title, dashtype[, colour index]) -> 'plot ...' clause body."""
    parts = []
    for i, s in enumerate(series):
        dat, title, dt = s[:3]
        col = s[3] if len(s) > 3 else i
        parts.append("'%s' using 1:2:3:4 with %s lw 2 dt %d lc %d pt %d title '%s'"
                     % (dat, style, dt, col % 8 + 1, col % 8 + 1, title.replace("'", "")))
    return ", \\\n  ".join(parts)


def make_plots(rows, outdir, gnuplot="gnuplot"):
    """One PNG per experiment present in `rows`. Returns {exp_id: png name}."""
    pl = Plotter(outdir, gnuplot)
    made = {}

    # 1. read-side scalability: reads/s vs readers, no writer | one writer.
    r1 = select(rows, exp_id=1, metric="reads_per_s")
    if r1:
        body = ["set multiplot layout 1,2 title 'Read-side scalability (Desnoyers et al. 2012, Fig. read scalability)'",
                "set logscale y", "set xlabel 'reader threads'", "set ylabel 'reads/s (log)'",
                "set key bottom right inside font ',8'",
                "set xtics 1" if max(r["readers"] for r in r1) <= 16 else "set xtics autofreq"]
        for writers in (0, 1):
            series = []
            for c in CONTENDERS:
                pts = _series_lines(select(r1, contender=c, writers=writers), "readers")
                if pts:
                    series.append((pl.dat("exp1_%s_w%d" % (c, writers), pts), LABEL[c], 1 if c in RCU else 2,
                                   CONTENDERS.index(c)))
            body.append("set title '%s'" % ("no writer" if writers == 0 else "one writer (continuous updates)"))
            body.append("plot " + _plot_cmds(series) if series else "plot 1/0 notitle")
        body.append("unset multiplot")
        made[1] = pl.run("exp1_read_scalability.png", "\n".join(body), size="1300,600")

    # 2. read-side critical-section length.
    r2 = select(rows, exp_id=2, metric="reads_per_s")
    if r2:
        series = []
        for c in CONTENDERS:
            pts = _series_lines(select(r2, contender=c), "section_cycles", lambda x: max(x, 1))
            if pts:
                series.append((pl.dat("exp2_%s" % c, pts), LABEL[c], 1 if c in RCU else 2, CONTENDERS.index(c)))
        readers = r2[0]["readers"]
        body = ["set title 'Read-side critical-section length, %d readers, no writer'" % readers,
                "set logscale xy", "set xlabel 'busy work per read-side section (TSC cycles; 0 plotted at 1)'",
                "set ylabel 'reads/s (log)'", "plot " + _plot_cmds(series)]
        made[2] = pl.run("exp2_section_length.png", "\n".join(body))

    # 3. update throughput vs batch size; sync/retire/locks as levels.
    r3 = select(rows, exp_id=3, metric="updates_per_s")
    if r3:
        batches = sorted({r["batch"] for r in r3 if r["reclaim"] == "batch"}) or [1]
        lo, hi = batches[0], batches[-1]
        series = []
        for c in RCU:
            pts = _series_lines(select(r3, contender=c, reclaim="batch"), "batch")
            if pts:
                series.append((pl.dat("exp3_%s_batch" % c, pts), LABEL[c] + ", batch", 1, CONTENDERS.index(c)))
        levels = []
        for c in CONTENDERS:
            for how, dt, what in (("sync", 2, "sync per update"), ("retire", 3, "retire (call_rcu)")):
                r = one(r3, contender=c, reclaim=how)
                if r and r["median"] > 0:
                    levels.append((pl.dat("exp3_%s_%s" % (c, how),
                                          [(lo, "%.6g" % r["median"], "%.6g" % r["median"], "%.6g" % r["median"]),
                                           (hi, "%.6g" % r["median"], "%.6g" % r["median"], "%.6g" % r["median"])]),
                                   "%s, %s" % (LABEL[c], what if c in RCU else "write lock"), dt if c in RCU else 4,
                                   CONTENDERS.index(c)))
        ex = r3[0]
        body = ["set title 'Update throughput, %d readers + %d updaters (levels: no batching)'"
                % (ex["readers"], ex["writers"]),
                "set logscale x 2", "set logscale y", "set xrange [%g:%g]" % (lo, max(hi, lo * 2)), "set xlabel 'old versions freed per rcu_synchronize (batch size, log2)'",
                "set ylabel 'updates/s (log)'", "set key outside right top font ',8'",
                "plot " + _plot_cmds(series + levels)]
        made[3] = pl.run("exp3_update_throughput.png", "\n".join(body), size="1300,650")

    # 4. grace-period latency: vs readers, vs section length; retire -> deleter.
    r4 = select(rows, exp_id=4)
    if r4:
        body = ["set multiplot layout 1,3 title 'Grace-period latency (rcu_synchronize) and retire -> deleter latency'",
                "set logscale y", "set key top left inside font ',8'"]
        sync_rows = select(r4, experiment="gp-latency")
        sections = sorted({r["section_cycles"] for r in sync_rows})
        base_section = sections[0] if sections else 0
        by_readers = [r for r in sync_rows if r["section_cycles"] == base_section]
        sweep_readers = max((r["readers"] for r in sync_rows), default=0)
        reader_counts = sorted({r["readers"] for r in sync_rows if r["section_cycles"] != base_section})
        sec_readers = reader_counts[0] if reader_counts else sweep_readers
        by_section = [r for r in sync_rows if r["readers"] == sec_readers]
        for title, subset, xkey, xl, logx in (
                ("vs readers (section %d cycles)" % base_section, by_readers, "readers", "busy reader threads", False),
                ("vs section length (%d readers)" % sec_readers, by_section, "section_cycles",
                 "read-side section (TSC cycles; 0 at 1)", True)):
            series = []
            for c in RCU:
                for metric, dt, tag in (("sync_p50_us", 1, "p50"), ("sync_p99_us", 2, "p99")):
                    pts = _series_lines(select(subset, contender=c, metric=metric), xkey,
                                        (lambda x: max(x, 1)) if logx else (lambda x: x))
                    if pts:
                        series.append((pl.dat("exp4_%s_%s_%s" % (xkey, c, tag), pts), "%s %s" % (c, tag), dt,
                                       RCU.index(c)))
            body += ["set title '%s'" % title, "set xlabel '%s'" % xl, "set ylabel 'rcu_synchronize latency (us, log)'",
                     "set logscale x" if logx else "unset logscale x",
                     "set xtics autofreq" if logx or sweep_readers > 16 else "set xtics 1",
                     "plot " + _plot_cmds(series) if series else "plot 1/0 notitle"]
        ret = select(r4, experiment="retire-latency")
        cats = sorted({(r["contender"], r["path"]) for r in ret}, key=lambda k: (RCU.index(k[0]), k[1]))
        if cats:
            lines = []
            for i, (c, p) in enumerate(cats):
                vals = [one(ret, contender=c, path=p, metric=m) for m in
                        ("retire_p50_us", "retire_p90_us", "retire_p99_us", "retire_max_us")]
                lines.append([i, '"%s %s"' % (c, p)] + ["%.6g" % (v["median"] if v else float("nan")) for v in vals])
            dat = pl.dat("exp4_retire", lines)
            body += ["unset logscale x", "set title 'retire -> deleter'", "set xlabel ''",
                     "set ylabel 'latency (us, log)'", "set xtics rotate by -45 font ',8'",
                     "set xrange [-0.5:%f]" % (len(cats) - 0.5),
                     "plot '%s' using 1:3:xtic(2) with points pt 7 ps 1.5 title 'p50', "
                     "'' using 1:4 with points pt 9 ps 1.5 title 'p90', "
                     "'' using 1:5 with points pt 5 ps 1.5 title 'p99', "
                     "'' using 1:6 with points pt 3 ps 1.5 title 'max'" % dat]
        body.append("unset multiplot")
        made[4] = pl.run("exp4_gp_latency.png", "\n".join(body), size="1800,600")
    return made


# ----------------------------------------------------------- observations --

def _ratio(a, b):
    return a / b if a and b else float("nan")


def observations(rows, machine):
    """The paper's published observations, each beside what `rows` show.

    Returns dicts: n, paper, here, verdict ('agrees' | 'differs' |
    'cannot tell' | 'not measured'), why (a sentence where it differs or cannot tell).
    """
    ncpu = machine.get("cpus", 0)
    vm = machine.get("hypervisor", False)
    host = "%d CPUs%s" % (ncpu, ", a virtual machine" if vm else "")
    out = []

    def add(paper, here, verdict, why=""):
        out.append({"n": len(out) + 1, "paper": paper, "here": here, "verdict": verdict, "why": why})

    r1 = select(rows, exp_id=1, metric="reads_per_s", writers=0)
    nmax = max((r["readers"] for r in r1), default=0)
    top = {c: one(r1, contender=c, readers=nmax) for c in CONTENDERS}
    top = {c: r for c, r in top.items() if r}
    # O1: ordering.
    paper1 = ("Read throughput is ordered QSBR > signal-based RCU > general-purpose (mb) RCU > per-thread "
              "mutex > pthread rwlock (8-core and 64-core figures).")
    if all(c in top for c in ("qsbr", "memb", "mb", "per_thread_mutex")):
        order = sorted(top, key=lambda c: -top[c]["median"])
        here = "At %d readers: %s." % (nmax, " > ".join("%s %s M/s" % (c, fmt_metric("reads_per_s", top[c]["median"]))
                                                          for c in order))
        q, m, b, p = (top[c]["median"] for c in ("qsbr", "memb", "mb", "per_thread_mutex"))
        ok = q >= 0.9 * m and m > b
        mb_vs_lock = b > p
        if ok and mb_vs_lock:
            add(paper1, here, "agrees")
        elif ok:
            add(paper1, here, "differs",
                "mb falls below the per-thread mutex: its read side has two full fences (a locked instruction "
                "or mfence each), which on this CPU cost as much as an uncontended lock/unlock pair; the paper's "
                "2008-2010 Intel CPUs made fences relatively cheaper. memb stands in for the signal flavour "
                "(membarrier() replaces signals; same barrier-free read side).")
        else:
            add(paper1, here, "differs",
                "QSBR/memb did not lead here; with %s, timer interrupts and hypervisor preemption of a "
                "reader skew short runs (see the spread in the table)." % host)
    else:
        add(paper1, "not measured (needs qsbr, memb, mb, per_thread_mutex in experiment 1)", "not measured")

    # O2: linear scalability of RCU readers.
    paper2 = "RCU readers scale linearly with the number of CPUs (no shared writes on the read side)."
    ones = {c: one(r1, contender=c, readers=1) for c in RCU}
    sp = {c: _ratio(top[c]["median"], ones[c]["median"]) for c in RCU if c in top and ones[c]}
    if sp and nmax > 1:
        here = "Speed-up %d readers / 1 reader: %s (ideal %d)." % (
            nmax, ", ".join("%s %sx" % (c, fmt(v)) for c, v in sp.items()), nmax)
        ok = all(v >= 0.75 * nmax for v in sp.values())
        add(paper2, here, "agrees" if ok else "differs",
            "" if ok else "below linear: with %s the readers share CPUs with the timing thread, "
            "interrupts and (in a VM) the hypervisor; mb's fences also contend on the memory bus." % host)
    else:
        add(paper2, "needs 1 and >1 readers", "cannot tell", "this machine offers a single CPU.")

    # O3: rwlock collapse.
    paper3 = "pthread rwlock throughput collapses as readers are added beyond ~8 cores (its shared counter line bounces)."
    rw1 = one(r1, contender="rwlock", readers=1)
    if rw1 and "rwlock" in top and nmax > 1:
        s = _ratio(top["rwlock"]["median"], rw1["median"])
        here = "rwlock %d readers / 1 reader: %sx (RCU memb: %sx)." % (
            nmax, fmt(s), fmt(sp.get("memb", float("nan"))))
        if ncpu < 8:
            add(paper3, here, "cannot tell" if s >= 1 else "agrees",
                "the collapse needs more than 8 CPUs contending for one cache line; this machine has %d "
                "(the 16-CPU reference run shows more)." % ncpu if s >= 1 else
                "already collapses at %d CPUs (cache-line transfer between CPUs%s)." % (ncpu, " of a VM" if vm else ""))
        else:
            add(paper3, here, "agrees" if s < 0.75 * nmax / 2 else "differs",
                "" if s < 0.75 * nmax / 2 else "glibc's rwlock now uses one atomic per read lock and futexes; "
                "on this CPU's interconnect the line transfer is cheaper than on the paper's machines.")
    else:
        add(paper3, "not measured", "not measured")

    # O4: long sections - locks catch up.
    r2 = select(rows, exp_id=2, metric="reads_per_s")
    paper4 = ("As read-side sections grow (up to ~10^5 cycles), the locks' overhead is amortised and their "
              "throughput approaches RCU's; short sections show RCU's largest advantage.")
    if r2:
        secs = sorted({r["section_cycles"] for r in r2})
        parts, caught = [], {}
        for lock in ("per_thread_mutex", "rwlock", "shared_mutex", "mutex"):
            for s in secs:
                a, b = one(r2, contender=lock, section_cycles=s), one(r2, contender="memb", section_cycles=s)
                if a and b and a["median"] >= 0.9 * b["median"]:
                    caught[lock] = s
                    break
            parts.append("%s reaches 90%% of memb at %s" % (lock, ("%d cycles" % caught[lock]) if lock in caught
                                                              else "no measured length (max %d)" % secs[-1]))
        a0, b0 = one(r2, contender="rwlock", section_cycles=secs[0]), one(r2, contender="memb", section_cycles=secs[0])
        here = "; ".join(parts) + "; at %d cycles memb/rwlock = %sx." % (
            secs[0], fmt(_ratio(b0["median"] if b0 else 0, a0["median"] if a0 else 0)))
        ok = "per_thread_mutex" in caught
        add(paper4, here, "agrees" if ok else "differs",
            "" if ok else "the longest section measured is too short for the lock's cost to vanish on this machine.")
    else:
        add(paper4, "not measured", "not measured")

    # O5/O6: update throughput and batching.
    r3 = select(rows, exp_id=3, metric="updates_per_s")
    paper5 = "About 2 M updates/s with 4 readers and 4 updaters on 8 cores, with update-side batching."
    paper6 = "Batching 32,768 retirements per grace period gave the best update throughput (the largest batch tried)."
    if r3:
        best = max((r for r in r3 if r["contender"] in RCU), key=lambda r: r["median"], default=None)
        ex = r3[0]
        if best:
            here = "%d readers + %d updaters: best %s M updates/s (%s, %s%s)." % (
                ex["readers"], ex["writers"], fmt_metric("updates_per_s", best["median"]), best["contender"],
                best["reclaim"], " %d" % best["batch"] if best["reclaim"] == "batch" else "")
            ratio = best["median"] / 2e6
            add(paper5, here, "agrees" if 0.3 <= ratio <= 3 else "differs",
                "" if 0.3 <= ratio <= 3 else
                "%s: %d updaters instead of 4 and a CPU (%s); a batched update is an allocation, an exchange and a "
                "free, whose rate depends on the allocator and the core's speed more than on RCU (ratio %sx)."
                % (host, ex["writers"], machine.get("cpu_model", "?"), fmt(ratio)))
        parts, verdicts = [], []
        for c in RCU:
            b = select(r3, contender=c, reclaim="batch")
            if not b:
                continue
            top_b = max(b, key=lambda r: r["median"])
            largest = max(b, key=lambda r: r["batch"])
            parts.append("%s best at %d (%s M/s; %d: %s M/s)" % (
                c, top_b["batch"], fmt_metric("updates_per_s", top_b["median"]), largest["batch"],
                fmt_metric("updates_per_s", largest["median"])))
            verdicts.append(largest["median"] >= 0.9 * top_b["median"])
        if parts:
            ok = all(verdicts)
            add(paper6, "; ".join(parts) + ".", "agrees" if ok else "differs",
                "" if ok else "throughput peaks below the largest batch: past a few thousand versions the batch "
                "no longer fits in the cache (each freed version is a cache miss), and with %s the grace period "
                "it amortises is short." % host)
        else:
            add(paper6, "not measured (no --reclaim batch points)", "not measured")
    else:
        add(paper5, "not measured", "not measured")
        add(paper6, "not measured", "not measured")

    # O7: grace-period cost by flavour.
    # p90, not p50: on a loaded or virtual machine the reader is sometimes descheduled, and a
    # grace period that finds it off-CPU ends at once; p90 is the busy-reader case.
    r4 = select(rows, exp_id=4, experiment="gp-latency", metric="sync_p90_us")
    paper7 = ("Grace periods of signal-based RCU cost an interrupt of every reader thread (tens of µs); QSBR and "
              "mb only read per-thread counters (design, §3-4; not a figure).")
    if r4:
        busy = [r for r in r4 if r["readers"] >= 1]
        nr = min((r["readers"] for r in busy), default=0)
        sec = min((r["section_cycles"] for r in busy), default=0)
        p = {c: one(busy, contender=c, readers=nr, section_cycles=sec) for c in RCU}
        p = {c: r["median"] for c, r in p.items() if r}
        if len(p) == 4:
            here = "p90 with %d busy reader(s): %s µs." % (nr, ", ".join("%s %s" % (c, fmt(v)) for c, v in p.items()))
            ok = min(p["memb"], p["bp"]) > max(p["qsbr"], p["mb"])
            add(paper7, here, "agrees" if ok else "differs",
                "membarrier() (memb, bp) replaces the signals: one system call that IPIs the CPUs running the "
                "process; the ordering stays, the cost is the kernel's expedited barrier." if ok else
                "membarrier() cost on this kernel/VM is lower than the paper's signal round trip.")
        else:
            add(paper7, "needs all four flavours in experiment 4", "not measured")
    else:
        add(paper7, "not measured", "not measured")
    return out


# ----------------------------------------------------------------- report ---

def _contender_table(rows, columns, contenders):
    """A Markdown table with a row per contender that has a figure in `rows`:
    its label, then per column (header, selection) the cell of its row
    matching the selection (select()'s keywords)."""
    body = []
    for c in contenders:
        cells = [cell(one(rows, contender=c, **where)) for _, where in columns]
        if any(x != "—" for x in cells):
            body.append([LABEL[c]] + cells)
    return md_table(["contender"] + [header for header, _ in columns], body)


def _section_table(rows, xkey, xs, metric, contenders, xfmt):
    return _contender_table(rows, [(xfmt(x), {"metric": metric, xkey: x}) for x in xs], contenders)


URCU_LOG = "liburcu_bench.log"


def urcu_compare(lib, ours):
    """One liburcu row beside the harness's row of the same contender, threads and metric ->
    (ratio text, comparable text, difference text, explanation key or None)."""
    reasons = []
    if lib["reps"] < 3:
        reasons.append("liburcu %d run%s" % (lib["reps"], "" if lib["reps"] == 1 else "s"))
    if ours is None:
        return "—", "no: quiesce has no figure (its point failed)", "—", None
    if ours["reps"] < 3:
        reasons.append("quiesce %d repetition%s" % (ours["reps"], "" if ours["reps"] == 1 else "s"))
    if lib["oversubscribed"] == "yes":
        reasons.append("oversubscribed: %d threads" % (lib["readers"] + lib["writers"]))
    comparable = "yes" if not reasons else "no: " + ", ".join(reasons)
    a, b = lib["median"], ours["median"]
    if a <= 0 or b <= 0:
        return "—", comparable, "one side counted none", "oversub" if lib["oversubscribed"] == "yes" else "unexplained"
    ratio = a / b
    f = max(ratio, 1 / ratio)
    if lib["min"] <= ours["max"] and ours["min"] <= lib["max"]:
        return fmt(ratio), comparable, "none: the ranges overlap", None
    if f < 2:
        return fmt(ratio), comparable, "under 2x: noise (note A)", "small"
    if lib["oversubscribed"] == "yes" and lib["writers"]:
        return fmt(ratio), comparable, "%sx: scheduling (note B)" % fmt(f), "oversub"
    return fmt(ratio), comparable, "%sx: not explained (note C)" % fmt(f), "unexplained"


URCU_NOTES = {
    "small": "**A.** Differences under 2x (outside the two min–max ranges) are not findings: liburcu's figure "
             "comes from its own runs of whole seconds, made after the harness's, on a machine that may be "
             "shared and virtual, and the loops differ in detail: liburcu's readers assert on the value and "
             "test a volatile end-of-test flag per read, the harness's compare a payload and load an atomic stop "
             "flag; the harness's lock writer allocates and frees a payload per update, test_rwlock's and "
             "test_mutex's only store an integer under the lock; liburcu's threads take the CPUs of the `-a` "
             "list in the order they start, the harness's in thread order.",
    "oversub": "**B.** These rows run more threads than CPUs: the writer shares a CPU with a reader (both programs "
               "place it so) and the two alternate in scheduler time slices of milliseconds. With a lock, a "
               "reader preempted inside its critical section holds the writer off for the rest of its slice, "
               "and glibc's rwlock, which prefers readers, keeps admitting the other readers meanwhile; with RCU, "
               "rcu_synchronize waits until the reader sharing its CPU runs again. The update rate then depends "
               "on where each program's threads happen to be preempted, so the two programs can differ by orders "
               "of magnitude and so can two runs of one program: these rows measure the scheduler, not the "
               "synchronisation, and compare nothing.",
    "unexplained": "**C.** A difference of 2x or more with as many CPUs as threads is not explained by the "
                   "points above: it is worth a look (the read and write loops of the two programs, the "
                   "compiler flags liburcu was built with, and the machine's load during each run).",
}


def urcu_section(rows, urcu):
    """The report's lines on liburcu's benchmark programs. `urcu`: None (not asked for)
    or dict(dir, runs, duration, missing=[(program, why)], failed=[{program, writers,
    run, reason, command}], skipped=[program] (excluded by --contenders))."""
    if urcu is None:
        return ["Not run: no directory of liburcu benchmark programs was given (--urcu-bench DIR or "
                "GP_URCU_BENCH_DIR; Debian does not ship them: perf/gp/README.md says how to build them).\n"]
    L = []
    lib = select(rows, exp_id=0)
    L.append("Programs from `%s`, each run %d time(s) for %d s per readers/writers pair with their read-side "
             "section at 0 loops, no writer delay, and pinned like the harness's threads (`-a` per thread). "
             "Beside each, the harness's point with the same contender, readers and writers (section 0 cycles): "
             "median (min–max) of its repetitions. Rates in M/s.\n" % (
                 urcu.get("dir", "?"), urcu.get("runs", 1), urcu.get("duration", 1)))
    if lib:
        body, keys = [], []
        for r in sorted(lib, key=lambda r: (r["program"], r["writers"], r["metric"])):
            ours = next((o for o in select(rows, contender=r["contender"], readers=r["readers"],
                                           writers=r["writers"], section_cycles=0, metric=r["metric"],
                                           experiment="read") if o["exp_id"] >= 1), None)
            ratio, comparable, diff, key = urcu_compare(r, ours)
            if key and key not in keys:
                keys.append(key)
            body.append([r["program"], r["contender"], str(r["readers"]), str(r["writers"]),
                         r["metric"].replace("_per_s", "/s"), cell(r), cell(ours), ratio, comparable, diff])
        L.append(md_table(["program", "quiesce contender", "readers", "writers", "metric", "liburcu", "quiesce",
                           "liburcu / quiesce", "comparable?", "difference"], body, left=5) + "\n")
        L += [URCU_NOTES[k] + "\n" for k in ("small", "oversub", "unexplained") if k in keys]
    else:
        L.append("**No usable result**: no run of liburcu's programs produced a figure (the reasons follow).\n")
    if urcu.get("missing"):
        L.append("Not in the directory, so not run: %s.\n" % ", ".join("%s (%s)" % m for m in urcu["missing"]))
    if urcu.get("skipped"):
        L.append("Not run (their contender is not in --contenders): %s.\n" % ", ".join(urcu["skipped"]))
    if urcu.get("failed"):
        L.append("Runs that produced no figure (the run is incomplete; commands and output in `%s`):\n" % URCU_LOG)
        for f in urcu["failed"]:
            L.append("- %s, %d writer(s), run %d: %s" % (f["program"], f["writers"], f["run"],
                                                         str(f["reason"]).replace("`", "'")))
        L.append("")
    return L


def write_report(rows, machine, meta, plots, outdir, urcu=None, failed=None):
    """report.md in `outdir`. `plots`: {exp_id: png}; `urcu`: what urcu_section() takes
    (None: liburcu's programs were not asked for); liburcu's figures are the exp_id 0 rows."""
    L = []
    L.append("# RCU grace-period reproduction: Desnoyers et al., TPDS 2012, on this machine\n")
    L.append("M. Desnoyers, P. E. McKenney, A. Stern, M. Dagenais, J. Walpole, *User-Level Implementations of "
             "Read-Copy Update*, IEEE TPDS 23(2), 2012, measured through quiesce's wrappers "
             "(`<quiesce/rcu.hpp>`) by `perf/gp/gp_harness`, driven by `scripts/gp_reproduce.py`.\n")
    L.append("Profile **%s**: %s. Command: `%s`. Started %s, took %s s.\n" % (
        meta.get("profile", "?"), meta.get("profile_text", ""), meta.get("command", "?"), meta.get("started", "?"),
        fmt(meta.get("elapsed_s", float("nan")))))
    L.append("## Machine\n")
    mrows = [
        ["CPU model", str(machine.get("cpu_model", "?"))],
        ["logical CPUs used (affinity mask)", str(machine.get("cpus", "?"))],
        ["cores / packages", "%s / %s" % (machine.get("cores", "?"), machine.get("packages", "?"))],
        ["NUMA nodes", str(machine.get("nodes", "?"))],
        ["virtual machine (cpuinfo `hypervisor` flag)", "yes" if machine.get("hypervisor") else "no"],
        ["kernel", str(machine.get("kernel", "?"))],
        ["liburcu", str(machine.get("liburcu", "?"))],
        ["membarrier", "MEMBARRIER_CMD_PRIVATE_EXPEDITED %s (query mask %s)" % (
            "supported" if machine.get("membarrier_private_expedited") else "NOT supported",
            machine.get("membarrier_query", "?"))],
        ["TSC", "%s GHz; busy loop %s iterations per TSC cycle" % (
            fmt(machine.get("tsc_hz", 0) / 1e9), fmt(machine.get("loops_per_cycle", float("nan"))))],
        ["compiler", str(machine.get("compiler", "?"))],
    ]
    L.append(md_table(["", ""], mrows, left=2) + "\n")
    L.append("## How to read this\n")
    L.append("Every point runs its threads for a fixed time and counts (the paper's method), repeated; tables "
             "give the **median (min–max)** over the repetitions, plots the median with min–max error bars. "
             "Threads are pinned round-robin over the CPUs, readers first, then updaters, then the timing thread; "
             "rows marked oversubscribed in data.csv ran more threads than CPUs. Read-side busy work is measured in "
             "TSC cycles: from 256 cycles on a spin on the TSC itself, below that an empty loop calibrated "
             "against the TSC when the point starts. QSBR readers announce a quiescent state every 1024 reads (as "
             "liburcu's test_urcu_qsbr) or every ~10^6 cycles of reading, whichever comes first. `memb` (liburcu's "
             "default, membarrier-based) stands in for the paper's signal-based flavour; liburcu 0.13's signal "
             "flavour is not wrapped by quiesce. Raw data: `data.csv` (one row per point and metric), `data.json` "
             "(the harness's output, with every repetition); gnuplot scripts under `gnuplot/`.\n")

    def plot(exp_id, alt):
        if exp_id in plots:
            L.append("![%s](%s)\n" % (alt, plots[exp_id]))
        elif meta.get("plots_skipped"):
            L.append("*(plot not drawn: %s)*\n" % meta["plots_skipped"])

    def experiment(exp_id, title, alt, **where):
        """Appends experiment exp_id's heading and, when this profile ran it,
        its plot, else a line saying it did not; returns its rows (those
        matching `where` too), empty when it was not run."""
        rs = select(rows, exp_id=exp_id, **where)
        L.append("## %d. %s\n" % (exp_id, title))
        if rs:
            plot(exp_id, alt)
        else:
            L.append("Not run in this profile.\n")
        return rs

    r1 = experiment(1, "Read-side scalability", "reads/s against reader threads")
    if r1:
        xs = sorted({r["readers"] for r in r1})
        for w in sorted({r["writers"] for r in r1}):
            L.append("Reads/s (M/s), %s:\n" % ("no writer" if w == 0 else "%d writer(s) updating continuously" % w))
            L.append(_section_table(select(r1, writers=w), "readers", xs, "reads_per_s", CONTENDERS,
                                    lambda x: "%d readers" % x) + "\n")
            if w > 0:
                L.append("Updates/s of the writer (M/s) in the same runs:\n")
                L.append(_section_table(select(r1, writers=w), "readers", xs, "updates_per_s", CONTENDERS,
                                        lambda x: "%d readers" % x) + "\n")
    r2 = experiment(2, "Read-side critical-section length", "reads/s against section length")
    if r2:
        xs = sorted({r["section_cycles"] for r in r2})
        L.append("Reads/s (M/s), %d readers, no writer, against busy work per section (TSC cycles):\n" % r2[0]["readers"])
        L.append(_section_table(r2, "section_cycles", xs, "reads_per_s", CONTENDERS, lambda x: "%d cyc" % x) + "\n")
    r3 = experiment(3, "Update throughput", "updates/s against batch size", metric="updates_per_s")
    if r3:
        ex = r3[0]
        L.append("Updates/s (M/s), %d readers + %d updaters. `sync`: rcu_synchronize and free per update; "
                 "`retire`: rcu_obj_base::retire (liburcu's call_rcu worker); `batch N`: N old versions per "
                 "rcu_synchronize; locks: swap under the write lock.\n" % (ex["readers"], ex["writers"]))
        keys = []
        for how in ("sync", "retire"):
            if select(r3, reclaim=how):
                keys.append((how, 0))
        keys += [("batch", b) for b in sorted({r["batch"] for r in r3 if r["reclaim"] == "batch"})]
        columns = [(h if h != "batch" else "batch %d" % b, dict(reclaim=h, batch=b)) for h, b in keys]
        L.append(_contender_table(r3, columns, CONTENDERS) + "\n")
        L.append("Reads/s (M/s) of the readers in the same runs:\n")
        L.append(_contender_table(select(rows, exp_id=3, metric="reads_per_s"), columns, CONTENDERS) + "\n")
    r4 = experiment(4, "Grace-period latency", "rcu_synchronize latency")
    if r4:
        g = select(r4, experiment="gp-latency")
        if g:
            L.append("`rcu_synchronize` latency (µs), median over repetitions of each repetition's percentile:\n")
            keys = sorted({(r["readers"], r["section_cycles"]) for r in g})
            body = []
            for c in RCU:
                for rd, sc in keys:
                    cs = [cell(one(g, contender=c, readers=rd, section_cycles=sc, metric=m))
                          for m in ("sync_p50_us", "sync_p90_us", "sync_p99_us", "sync_max_us", "syncs_per_s")]
                    if any(x != "—" for x in cs):
                        body.append([c, str(rd), str(sc)] + cs)
            L.append(md_table(["flavour", "busy readers", "section (cycles)", "p50", "p90", "p99", "max",
                               "grace periods/s (back to back)"], body) + "\n")
        t = select(r4, experiment="retire-latency")
        if t:
            rd = t[0]["readers"]
            L.append("Retire → deleter latency (µs), %d busy reader(s): `call_rcu` is liburcu's "
                     "urcu_<flavour>_call_rcu called directly, `rcu_retire` quiesce::rcu_retire(p, d, dom), "
                     "`obj_retire` rcu_obj_base::retire:\n" % rd)
            body = []
            for c in RCU:
                for p in ("call_rcu", "rcu_retire", "obj_retire"):
                    cs = [cell(one(t, contender=c, path=p, metric=m))
                          for m in ("retire_p50_us", "retire_p90_us", "retire_p99_us", "retire_max_us")]
                    if any(x != "—" for x in cs):
                        body.append([c, p] + cs)
            L.append(md_table(["flavour", "path", "p50", "p90", "p99", "max"], body, left=2) + "\n")
    # 5
    L.append("## 5. The paper's observations on this machine\n")
    obs = observations(rows, machine)
    L.append(md_table(["#", "paper", "this machine", "verdict", "why it differs / caveat"],
                      [[str(o["n"]), o["paper"], o["here"], o["verdict"], o["why"] or "—"] for o in obs], left=5) + "\n")
    L.append("General differences from the paper's setup: it measured 8-core Intel Xeon and 64-core "
             "POWER5+ machines on bare metal; this run had %s CPU(s)%s. memb uses the membarrier() system call "
             "where the paper's fastest general flavour used signals. liburcu %s is eleven years of changes past "
             "the paper's version.\n" % (machine.get("cpus", "?"),
                                          " in a virtual machine (its vCPUs can be preempted by the host)"
                                          if machine.get("hypervisor") else "", machine.get("liburcu", "?")))
    # liburcu's benchmarks
    L.append("## liburcu's own benchmark programs\n")
    L += urcu_section(rows, urcu)
    if failed:
        L.append("## Points that failed\n")
        L.append("These points produced no data (the harness failed or ran past its timeout):\n")
        for f in failed:
            L.append("- experiment %s, %s: `%s`" % (f.get("exp_id", "?"), f.get("label", "?"),
                                                   str(f.get("error", "")).replace("`", "'")[:300]))
        L.append("")
    L.append("## Files\n")
    files = ["`data.csv`", "`data.json`"] + (["`%s` (liburcu's commands, exit statuses and output, SUMMARY lines "
                                              "included)" % URCU_LOG] if urcu else [])
    files += ["`%s`" % p for p in sorted(plots.values())] + (["`gnuplot/` (scripts and data behind the plots)"]
                                                             if plots else [])
    L.append(", ".join(files) + ".\n")
    text = "\n".join(L)
    with open(os.path.join(outdir, "report.md"), "w") as f:
        f.write(text)
    return text


def report_numbers(text):
    """Every 'median (min–max)' cell of a report, as (median, min, max) strings, in order."""
    return re.findall(r"\| ([-0-9.e+]+|n/a) \(([-0-9.e+]+|n/a)–([-0-9.e+]+|n/a)\)", text)


def machine_extras(machine):
    """Adds what the harness cannot know: liburcu version, hypervisor flag."""
    m = dict(machine)
    ver = None
    if shutil.which("pkg-config"):
        p = subprocess.run(["pkg-config", "--modversion", "liburcu"], capture_output=True, text=True)
        ver = p.stdout.strip() or None
    if not ver and shutil.which("dpkg-query"):
        p = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "liburcu8"], capture_output=True, text=True)
        ver = p.stdout.strip() or None
    m.setdefault("liburcu", ver or "unknown")
    try:
        with open("/proc/cpuinfo") as f:
            m.setdefault("hypervisor", any(ln.startswith("flags") and " hypervisor" in ln for ln in f))
    except OSError:
        m.setdefault("hypervisor", False)
    return m


def load_json(path):
    with open(path) as f:
        return json.load(f)
