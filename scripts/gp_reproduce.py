#!/usr/bin/env python3
"""scripts/gp_reproduce.py — reproduce the RCU experiments of Desnoyers,
McKenney, Stern, Dagenais and Walpole, "User-Level Implementations of
Read-Copy Update" (IEEE TPDS 23(2), 2012) on this machine, through quiesce's
wrappers: read-side scalability, critical-section length, update throughput
with batching, grace-period and retire latency; then CSV, JSON, gnuplot PNGs
and a Markdown report comparing with the paper's observations.

Usually run through scripts/gp_reproduce.sh (which builds the harness);
this script needs the harness binary (--harness). Python 3 standard library.
"""

import argparse
import datetime
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "perf", "gp"))
import gp_report as R  # noqa: E402

EXPERIMENTS = {1: "read-side scalability", 2: "critical-section length", 3: "update throughput",
               4: "grace-period latency"}

# Profiles. `threads` etc. are functions of n = CPUs used, so thread counts follow the machine.
def _pow2_upto(n):
    out, k = [], 1
    while k < n:
        out.append(k)
        k *= 2
    return sorted(set(out + [n]))


PROFILES = {
    "smoke": dict(  # for the end-to-end test: seconds, every code path, meaningless numbers
        text="smoke test: 1 repetition of 10 ms, a handful of points",
        duration=0.01, reps=1, budget_min=1,
        threads=lambda n: [1], exp1=["memb", "qsbr", "rwlock", "per_thread_mutex"],
        sections=[0, 1000], exp2=["memb", "mutex"], exp3_rcu=["memb"], exp3_locks=["mutex"],
        batches=[1, 64], gp_flavours=["memb", "qsbr"], gp_readers=lambda n: [1], gp_sections=[0, 1000],
        gp_samples=50, retire=[("memb", "call_rcu"), ("memb", "obj_retire")], retire_samples=200, retire_gap=20,
        urcu_runs=1),
    "quick": dict(
        text="3 repetitions of 0.1 s; thread counts 1 and all CPUs; sections 0, 10^3, 10^5 cycles; "
             "batches 1, 64, 4096, 32768",
        duration=0.1, reps=3, budget_min=3,
        threads=lambda n: sorted({1, n}), exp1=R.CONTENDERS, sections=[0, 1000, 100000], exp2=R.CONTENDERS,
        exp3_rcu=R.RCU, exp3_locks=R.LOCKS, batches=[1, 64, 4096, 32768], gp_flavours=R.RCU,
        gp_readers=lambda n: sorted({0, 1, n}), gp_sections=[0, 10000], gp_samples=200,
        retire=[(f, p) for f in ("memb", "qsbr") for p in ("call_rcu", "rcu_retire", "obj_retire")],
        retire_samples=1000, retire_gap=25, urcu_runs=1),
    "default": dict(
        text="3 repetitions of 0.2 s; thread counts 1, powers of 2, all CPUs; sections 0-10^5 cycles by "
             "decades; batches 1-32768 by factors of 8",
        duration=0.2, reps=3, budget_min=6,
        threads=_pow2_upto, exp1=R.CONTENDERS, sections=[0, 10, 100, 1000, 10000, 100000], exp2=R.CONTENDERS,
        exp3_rcu=R.RCU, exp3_locks=R.LOCKS, batches=[1, 8, 64, 512, 4096, 32768], gp_flavours=R.RCU,
        gp_readers=lambda n: sorted({0, 1, max(1, n // 2), max(1, n - 1), n}),
        gp_sections=[0, 100, 1000, 10000, 100000], gp_samples=500,
        retire=[(f, p) for f in R.RCU for p in ("call_rcu", "rcu_retire", "obj_retire")],
        retire_samples=2000, retire_gap=25, urcu_runs=3),
    "full": dict(
        text="the paper's sweeps: 5 repetitions of 1 s; every thread count 1..CPUs; sections 0-10^5 cycles by "
             "half-decades; batches every power of 2 from 1 to 32768",
        duration=1.0, reps=5, budget_min=0,
        threads=lambda n: list(range(1, n + 1)), exp1=R.CONTENDERS,
        sections=[0, 10, 32, 100, 316, 1000, 3162, 10000, 31623, 100000], exp2=R.CONTENDERS,
        exp3_rcu=R.RCU, exp3_locks=R.LOCKS, batches=[2 ** k for k in range(16)], gp_flavours=R.RCU,
        gp_readers=lambda n: list(range(0, n + 1)), gp_sections=[0, 10, 100, 1000, 10000, 100000],
        gp_samples=2000, retire=[(f, p) for f in R.RCU for p in ("call_rcu", "rcu_retire", "obj_retire")],
        retire_samples=5000, retire_gap=25, urcu_runs=5),
}
URCU_DURATION = 1  # seconds per run of a liburcu program (they take whole seconds)

EXIT_STATUS = """exit status: 0 complete; 1 a harness point failed (listed in report.md; the rest was measured)
or the report could not be written; 2 bad input, refused before any work (an unknown option or
flavour, zero threads, a plan over --budget-min, an --urcu-bench directory that holds none of
liburcu's programs, ...); 3 incomplete: a run of liburcu's programs failed, hung or printed no
usable SUMMARY line (named on the console and in report.md; everything else was measured).
"""


class UsageError(Exception):
    pass


def parse_list(text):
    """'1-4,8' -> [1, 2, 3, 4, 8] (sorted, unique); ValueError on anything else."""
    out = set()
    for item in text.split(","):
        lo, _, hi = item.strip().partition("-")
        lo = int(lo)
        hi = int(hi) if hi else lo
        if hi < lo or hi - lo > 4096:
            raise ValueError(item)
        out.update(range(lo, hi + 1))
    return sorted(out)


def parse_args(argv):
    p = argparse.ArgumentParser(
        prog="gp_reproduce",
        description="Reproduce Desnoyers et al. (TPDS 2012) RCU measurements through quiesce; writes data.csv, "
                    "data.json, one PNG per experiment and report.md to a results folder and prints its path.",
        epilog=EXIT_STATUS, formatter_class=argparse.RawDescriptionHelpFormatter)
    g = p.add_mutually_exclusive_group()
    g.add_argument("--quick", action="store_const", dest="profile", const="quick", help="under a minute")
    g.add_argument("--full", action="store_const", dest="profile", const="full", help="the paper's sweeps")
    g.add_argument("--profile", choices=sorted(PROFILES), help="default | quick | full | smoke (tests)")
    p.add_argument("--harness", help="path of gp_harness (scripts/gp_reproduce.sh builds it)")
    p.add_argument("--out", help="results folder (default out/gp/<timestamp>)")
    p.add_argument("--experiments", default="1,2,3,4", help="which experiments, e.g. 1,3 (default all)")
    p.add_argument("--contenders", help="restrict to these flavours/locks, comma-separated (%s)" % ",".join(R.CONTENDERS))
    p.add_argument("--max-threads", type=int, help="largest thread count (default: the CPUs this process may use)")
    p.add_argument("--threads", help="reader counts of experiment 1, e.g. 1-16 or 1,2,4 (overrides the profile)")
    p.add_argument("--samples", type=int, help="timed grace periods per repetition in experiment 4 (overrides)")
    p.add_argument("--point-timeout", type=float, default=0,
                   help="seconds before one point is abandoned (recorded as failed; default: 20x its estimate, >= 120)")
    p.add_argument("--duration", type=float, help="seconds per repetition (overrides the profile)")
    p.add_argument("--reps", type=int, help="repetitions per point (overrides the profile)")
    p.add_argument("--budget-min", type=float,
                   help="refuse a plan estimated to take longer (minutes; 0 = no limit; default per profile)")
    p.add_argument("--urcu-bench", default=os.environ.get("GP_URCU_BENCH_DIR"),
                   help="directory with liburcu's built tests/benchmark programs (%s; those present run, "
                        "the others are named); env GP_URCU_BENCH_DIR" % ", ".join(p for p, _ in R.URCU_PROGRAMS))
    p.add_argument("--urcu-runs", type=int,
                   help="runs of %d s per liburcu program and readers/writers pair (default: 1, 3 with the "
                        "default profile, 5 with --full)" % URCU_DURATION)
    p.add_argument("--urcu-timeout", type=float,
                   help="seconds before a liburcu program is killed with its process group (default 60; "
                        "env GP_URCU_TIMEOUT)")
    p.add_argument("--check-args", action="store_true",
                   help="check the options (and --urcu-bench's directory) and exit: 0 good, 2 bad; "
                        "gp_reproduce.sh runs this before building")
    p.add_argument("--no-plots", action="store_true", help="measure and write data only (plot later with --report-only)")
    p.add_argument("--report-only", metavar="DIR", help="redo plots and report from DIR/data.json, measuring nothing")
    p.add_argument("--liburcu-version", help="record this liburcu version (when pkg-config cannot tell)")
    p.add_argument("--gnuplot", default="gnuplot", help="gnuplot executable")
    a = p.parse_args(argv)
    a.profile = a.profile or "default"
    if a.report_only:
        return a
    # Everything below is checked before any work starts.
    if not a.harness and not a.check_args:
        raise UsageError("--harness is required (scripts/gp_reproduce.sh builds and passes it)")
    if a.harness and not (os.path.isfile(a.harness) and os.access(a.harness, os.X_OK)):
        raise UsageError("--harness: %s is not an executable file" % a.harness)
    try:
        a.exps = sorted({int(x) for x in a.experiments.split(",") if x.strip()})
    except ValueError:
        raise UsageError("--experiments: %r is not a list of 1-4" % a.experiments) from None
    if not a.exps or any(e not in EXPERIMENTS for e in a.exps):
        raise UsageError("--experiments: %r: experiments are 1 (read-side scalability), 2 (section length), "
                         "3 (update throughput), 4 (grace-period latency)" % a.experiments)
    if a.contenders is not None:
        cs = [c.strip() for c in a.contenders.split(",") if c.strip()]
        bad = [c for c in cs if c not in R.CONTENDERS]
        if bad or not cs:
            raise UsageError("--contenders: unknown flavour or lock %s (expected some of: %s)"
                             % (", ".join(repr(b) for b in bad) or "(none given)", ", ".join(R.CONTENDERS)))
        a.contenders = cs
    avail = len(os.sched_getaffinity(0))
    if a.max_threads is not None:
        if a.max_threads < 1:
            raise UsageError("--max-threads: %d: zero threads; give at least 1" % a.max_threads)
        if a.max_threads > 1024:
            raise UsageError("--max-threads: %d: at most 1024" % a.max_threads)
    a.ncpu = a.max_threads or avail
    if a.threads is not None:
        try:
            a.threads = parse_list(a.threads)
        except ValueError:
            raise UsageError("--threads: %r is not a list like 1-16 or 1,2,4" % a.threads) from None
        if not a.threads or min(a.threads) < 1:
            raise UsageError("--threads: zero threads in %r; give counts >= 1" % ",".join(map(str, a.threads or [])))
        if max(a.threads) > 1024:
            raise UsageError("--threads: at most 1024")
    if a.samples is not None and not (1 <= a.samples <= 1000000):
        raise UsageError("--samples: %d: give 1 .. 1000000" % a.samples)
    if a.duration is not None and not (0.001 <= a.duration <= 600):
        raise UsageError("--duration: %g s cannot be measured (a repetition lasts 0.001 .. 600 s)" % a.duration)
    if a.reps is not None and not (1 <= a.reps <= 1000):
        raise UsageError("--reps: %d: give 1 .. 1000" % a.reps)
    if a.budget_min is not None and a.budget_min < 0:
        raise UsageError("--budget-min: must be >= 0")
    if a.urcu_runs is not None and not (1 <= a.urcu_runs <= 100):
        raise UsageError("--urcu-runs: %d: give 1 .. 100" % a.urcu_runs)
    a.urcu_runs = a.urcu_runs or PROFILES[a.profile]["urcu_runs"]
    if a.urcu_timeout is None:
        env = os.environ.get("GP_URCU_TIMEOUT", "60")
        try:
            a.urcu_timeout = float(env)
        except ValueError:
            raise UsageError("GP_URCU_TIMEOUT: %r is not a number of seconds" % env) from None
    if not (1 <= a.urcu_timeout <= 3600):
        raise UsageError("--urcu-timeout (or GP_URCU_TIMEOUT): %g s: give 1 .. 3600" % a.urcu_timeout)
    a.urcu_found, a.urcu_missing, a.urcu_skipped = [], [], []
    if a.urcu_bench:
        check_urcu_dir(a)
    return a


def check_urcu_dir(a):
    """Which of liburcu's programs --urcu-bench holds (a.urcu_found: [(program, contender)],
    a.urcu_missing: [(program, why)], a.urcu_skipped: excluded by --contenders); UsageError if none."""
    d = a.urcu_bench
    if not os.path.isdir(d):
        raise UsageError("--urcu-bench: %s is not a directory" % d)
    for prog, c in R.URCU_PROGRAMS:
        path = os.path.join(d, prog)
        if a.contenders and c not in a.contenders:
            a.urcu_skipped.append(prog)
        elif os.path.isfile(path) and os.access(path, os.X_OK):
            a.urcu_found.append((prog, c))
        else:
            a.urcu_missing.append((prog, "not executable" if os.path.exists(path) else "absent"))
    if not a.urcu_found:
        if not a.urcu_missing:
            raise UsageError("--urcu-bench: --contenders %s leaves none of liburcu's programs to run"
                             % ",".join(a.contenders))
        hint = ""
        if os.path.isdir(os.path.join(d, "tests", "benchmark")):
            hint = "; this looks like liburcu's source tree: its programs are built in %s" % os.path.join(
                d, "tests", "benchmark")
        raise UsageError("--urcu-bench: %s holds none of liburcu's benchmark programs (%s)%s" % (
            d, ", ".join("%s: %s" % m for m in a.urcu_missing), hint))
    return a


# ----------------------------------------------------------------- the plan --

def plan(a):
    """List of points: dict(exp, title, label, args, est_s)."""
    P = PROFILES[a.profile]
    dur = a.duration if a.duration is not None else P["duration"]
    reps = a.reps if a.reps is not None else P["reps"]
    n = a.ncpu
    keep = (lambda cs: [c for c in cs if c in a.contenders]) if a.contenders else (lambda cs: list(cs))
    overhead = 0.12  # process start, TSC calibration (~0.03 s), thread start per repetition
    common = ["--duration", "%g" % dur, "--reps", str(reps)]
    pts = []

    def add(exp, label, args, est):
        pts.append(dict(exp=exp, label=label, args=args, est_s=est + overhead))

    def read_point(c, t, w, why=""):
        add(1, "%s, %d readers, %s%s" % (c, t, "no writer" if w == 0 else "1 writer", why),
            ["--experiment", "read", "--contender", c, "--readers", str(t), "--writers", str(w)] + common,
            reps * (dur + 0.01))

    exp1 = [(c, t, w) for w in (0, 1) for t in (a.threads or P["threads"](n)) for c in keep(P["exp1"])] \
        if 1 in a.exps else []
    for c, t, w in exp1:
        read_point(c, t, w)
    # liburcu's programs run with n readers and 0 or 1 writer: measure the same, whatever the profile.
    for prog, c in a.urcu_found:
        for w in (0, 1):
            if (c, n, w) not in exp1:
                read_point(c, n, w, " (beside liburcu's %s)" % prog)
    if 2 in a.exps:
        for s in P["sections"]:
            for c in keep(P["exp2"]):
                add(2, "section length %d cycles, %s" % (s, c),
                    ["--experiment", "read", "--contender", c, "--readers", str(n), "--section-cycles", str(s)] + common,
                    reps * (dur + 0.01))
    if 3 in a.exps:
        rd, wr = max(1, n // 2), max(1, n - n // 2)
        base = ["--experiment", "update", "--readers", str(rd), "--writers", str(wr)] + common
        for c in keep(P["exp3_rcu"]):
            add(3, "%s, rcu_synchronize per update" % c, base + ["--contender", c, "--reclaim", "sync"], reps * (dur + 0.01))
            add(3, "%s, retire via call_rcu" % c, base + ["--contender", c, "--reclaim", "retire"], reps * (dur + 0.03))
            for b in P["batches"]:
                add(3, "%s, batch %d" % (c, b), base + ["--contender", c, "--reclaim", "batch", "--batch", str(b)],
                    reps * (dur + 0.01))
        for c in keep(P["exp3_locks"]):
            add(3, "%s, write lock per update" % c, base + ["--contender", c], reps * (dur + 0.01))
    if 4 in a.exps:
        samples = a.samples or P["gp_samples"]
        est_sync = 150e-6  # a busy-reader grace period on a small machine
        readers = [r for r in P["gp_readers"](n)]
        sec_readers = max(1, min(n - 1, n)) if n > 1 else 1
        for c in keep(P["gp_flavours"]):
            for r in readers:
                add(4, "rcu_synchronize, %s, %d busy readers" % (c, r),
                    ["--experiment", "gp-latency", "--contender", c, "--readers", str(r), "--samples", str(samples),
                     "--reps", str(reps)], reps * samples * est_sync * (10 if r >= n else 1))
            for s in P["gp_sections"]:
                if s == 0 and sec_readers in readers:
                    continue  # already measured above
                add(4, "rcu_synchronize, %s, %d readers, section %d cycles" % (c, sec_readers, s),
                    ["--experiment", "gp-latency", "--contender", c, "--readers", str(sec_readers),
                     "--section-cycles", str(s), "--samples", str(samples), "--reps", str(reps)],
                    reps * samples * (est_sync + 3 * s / 2.5e9))
        for c, path in P["retire"]:
            if a.contenders and c not in a.contenders:
                continue
            add(4, "retire -> deleter, %s, %s" % (c, path),
                ["--experiment", "retire-latency", "--contender", c, "--path", path, "--readers", "1",
                 "--samples", str(P["retire_samples"]), "--gap-us", str(P["retire_gap"]), "--reps", str(reps)],
                reps * (P["retire_samples"] * P["retire_gap"] * 1e-6 + 0.025))
    return pts, dur, reps


def fmt_eta(s):
    if s < 90:
        return "%d s" % max(1, round(s))
    return "%d min" % round(s / 60)


# ------------------------------------------------------------------ running --

def urcu_estimate(a):
    return len(a.urcu_found) * 2 * a.urcu_runs * (URCU_DURATION + 0.3)


def run_harness(harness, args, timeout):
    p = subprocess.run([harness] + args, capture_output=True, text=True, timeout=timeout)
    line = next((ln for ln in p.stdout.splitlines() if ln.startswith("{")), None)
    if p.returncode != 0 or line is None:
        raise RuntimeError("gp_harness %s failed (exit %d): %s" % (" ".join(args), p.returncode,
                                                                   (p.stderr or p.stdout).strip()[-600:]))
    return json.loads(line)


def run_program(cmd, timeout):
    """Runs cmd in a session of its own; past `timeout` seconds kills its whole process group
    (the program and any child it forked). Returns (exit status or None if killed, output)."""
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace",
                         start_new_session=True)
    try:
        out = p.communicate(timeout=timeout)[0]
        return p.returncode, out
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)  # the group still exists: p is not reaped yet
        try:
            out = p.communicate(timeout=10)[0]
        except subprocess.TimeoutExpired:  # a descendant left the group and holds the pipe
            out = ""
        return None, out


def urcu_result(rc, out, readers, writers, timeout):
    """(summary dict, SUMMARY line) of one run of a liburcu program, or raises ValueError(why not)."""
    if rc is None:
        raise ValueError("no result within %g s: killed with its process group (--urcu-timeout)" % timeout)
    line = next((ln.strip() for ln in out.splitlines() if ln.startswith("SUMMARY")), None)
    if rc != 0:
        why = ("killed by %s" % signal.Signals(-rc).name) if rc < 0 and -rc in signal.valid_signals() \
            else "exit status %d" % rc
        raise ValueError(why + (" after its SUMMARY line" if line else ""))
    if line is None:
        last = out.strip().splitlines()[-1:] or ["(no output)"]
        raise ValueError("printed no SUMMARY line; its last line: %r" % last[0][:200])
    try:
        s = R.parse_summary_line(line)
    except ValueError as e:
        raise ValueError("unusable %s" % e) from None
    lacks = [k for k in ("testdur", "nr_readers", "nr_writers", "nr_reads", "nr_writes") if k not in s]
    if lacks:
        raise ValueError("its SUMMARY line lacks %s: %r" % (", ".join(lacks), line[:300]))
    if (s["nr_readers"], s["nr_writers"], s["testdur"]) != (readers, writers, URCU_DURATION):
        raise ValueError("its SUMMARY line says %d readers, %d writers, %d s; asked for %d, %d, %d s"
                         % (s["nr_readers"], s["nr_writers"], s["testdur"], readers, writers, URCU_DURATION))
    return s, line


def urcu_run(cmd, readers, writers, timeout, lf):
    """One run of a liburcu program, written to the open log `lf`: urcu_result()'s answer."""
    t0 = time.time()
    try:
        rc, out = run_program(cmd, timeout)
        status = "killed (timeout)" if rc is None else "exit status %d" % rc
    except OSError as e:
        rc, out, status = None, "", "cannot start: %s" % e
    lf.write("$ %s\n# %s after %.2f s\n%s\n" % (shlex.join(cmd), status, time.time() - t0, out[-20000:].rstrip()))
    lf.flush()
    if status.startswith("cannot"):
        raise ValueError(status)
    return urcu_result(rc, out, readers, writers, timeout)


def run_urcu_bench(a, log, logfile):
    """liburcu's own programs (a.urcu_found), n readers with 0 and 1 writer, a.urcu_runs
    runs each, pinned like the harness. Every command, exit status and output goes to
    `logfile`. Returns (results for data.json's urcu_bench, failed runs)."""
    n = a.ncpu
    cpus = sorted(os.sched_getaffinity(0))
    results, failed = [], []
    total = len(a.urcu_found) * 2 * a.urcu_runs
    k = 0
    with open(logfile, "w") as lf:
        for prog, c in a.urcu_found:
            for w in (0, 1):
                aff = []
                for i in range(n + w):
                    aff += ["-a", str(cpus[i % len(cpus)])]
                cmd = [os.path.join(a.urcu_bench, prog), str(n), str(w), str(URCU_DURATION)] + aff
                res = dict(program=prog, contender=c, readers=n, writers=w, cpus=len(cpus), command=shlex.join(cmd),
                           reads_per_s=[], updates_per_s=[], summaries=[])
                for run in range(1, a.urcu_runs + 1):
                    k += 1
                    log("[liburcu %d/%d] %s, %d readers, %d writer(s), run %d/%d"
                        % (k, total, prog, n, w, run, a.urcu_runs))
                    try:
                        s, line = urcu_run(cmd, n, w, a.urcu_timeout, lf)
                    except ValueError as e:
                        log("[liburcu] FAILED: %s, %d writer(s), run %d: %s" % (prog, w, run, e))
                        failed.append(dict(program=prog, writers=w, run=run, reason=str(e), command=shlex.join(cmd)))
                        continue
                    res["reads_per_s"].append(s["nr_reads"] / s["testdur"])
                    res["updates_per_s"].append(s["nr_writes"] / s["testdur"])
                    res["summaries"].append(line)
                if res["summaries"]:
                    results.append(res)
    return results, failed


def all_rows(data):
    """data.csv's rows from data.json: the harness's points, then liburcu's programs."""
    rows = []
    for pt in data["points"]:
        rows += R.rows_from_point(pt, pt["exp_id"])
    for u in data.get("urcu_bench") or []:
        rows += R.rows_from_urcu(u)
    return rows


def urcu_info(data):
    """What the report says about liburcu's programs (None: not asked for)."""
    if data.get("urcu"):
        return data["urcu"]
    return {"dir": "?"} if data.get("urcu_bench") else None  # data.json of older runs


def make_outputs(outdir, data, a, log):
    rows = R.read_csv(os.path.join(outdir, "data.csv"))
    machine = data["machine"]
    meta = data["meta"]
    plots = {}
    if a.no_plots:
        meta["plots_skipped"] = "--no-plots (plot with: scripts/gp_reproduce.py --report-only %s)" % outdir
    elif shutil.which(a.gnuplot) is None:
        meta["plots_skipped"] = "gnuplot not found (Debian: apt-get install gnuplot-nox)"
        log("SKIP plots: gnuplot not found (install gnuplot-nox)")
    else:
        plots = {int(k): v for k, v in R.make_plots(rows, outdir, a.gnuplot).items()}
    R.write_report(rows, machine, meta, plots, outdir, urcu_info(data), data.get("failed", []))
    return plots


def main(argv):
    t_start = time.time()
    log = lambda s: print(s, flush=True)  # noqa: E731
    try:
        a = parse_args(argv)
    except UsageError as e:
        print("gp_reproduce: error: %s" % e, file=sys.stderr)
        return 2
    if a.report_only:
        outdir = a.report_only
        try:
            data = R.load_json(os.path.join(outdir, "data.json"))
        except (OSError, ValueError) as e:
            print("gp_reproduce: error: --report-only: cannot read %s/data.json: %s" % (outdir, e), file=sys.stderr)
            return 2
        R.write_csv(all_rows(data), os.path.join(outdir, "data.csv"))
        if a.liburcu_version:
            data["machine"]["liburcu"] = a.liburcu_version
        make_outputs(outdir, data, a, log)
        print(os.path.abspath(outdir))
        return 0

    pts, dur, reps = plan(a)
    est = sum(p["est_s"] for p in pts) + urcu_estimate(a)
    budget = a.budget_min if a.budget_min is not None else PROFILES[a.profile]["budget_min"]
    if budget and est > budget * 60:
        print("gp_reproduce: error: the plan (%d points) needs about %s, over the budget of %g min; lower "
              "--duration/--reps, restrict --experiments/--contenders, or raise --budget-min"
              % (len(pts), fmt_eta(est), budget), file=sys.stderr)
        return 2
    if a.check_args:
        return 0
    if a.urcu_missing:
        log("gp_reproduce: warning: --urcu-bench: %s lacks %s; running the other %d of liburcu's programs"
            % (a.urcu_bench, ", ".join("%s (%s)" % m for m in a.urcu_missing), len(a.urcu_found)))
    outdir = a.out or os.path.join("out", "gp", datetime.datetime.now().strftime("%Y%m%d-%H%M%S"))
    os.makedirs(outdir, exist_ok=True)
    try:
        info = run_harness(a.harness, ["--info"], 60)
    except (RuntimeError, subprocess.TimeoutExpired) as e:
        log("gp_reproduce: warning: no machine description (%s)" % e)
        info = {}
    machine = R.machine_extras(info)
    if a.liburcu_version:
        machine["liburcu"] = a.liburcu_version
    machine["cpus"] = min(machine.get("cpus", a.ncpu), a.ncpu) if a.max_threads else machine.get("cpus", a.ncpu)
    cmd = "scripts/gp_reproduce.py " + " ".join(argv)
    log("gp_reproduce: profile %s (%s), %d points, about %s; results in %s"
        % (a.profile, PROFILES[a.profile]["text"], len(pts), fmt_eta(est), outdir))
    meta = dict(profile=a.profile, profile_text="%s (this run: %g s x %d repetitions per point)"
                % (PROFILES[a.profile]["text"], dur, reps), command=cmd,
                started=datetime.datetime.fromtimestamp(t_start).strftime("%Y-%m-%d %H:%M:%S"))
    data = dict(machine=machine, meta=meta, points=[], failed=[], urcu_bench=[],
                urcu=dict(dir=os.path.abspath(a.urcu_bench), runs=a.urcu_runs, duration=URCU_DURATION,
                          missing=a.urcu_missing, skipped=a.urcu_skipped, failed=[]) if a.urcu_bench else None)

    def save():
        # Rewritten after every point, so an interrupted run keeps what it measured
        # (plot it with --report-only).
        meta["elapsed_s"] = round(time.time() - t_start, 1)
        tmp = os.path.join(outdir, "data.json.tmp")
        with open(tmp, "w") as f:
            json.dump(data, f, indent=1)
        os.replace(tmp, os.path.join(outdir, "data.json"))

    done_est, t0 = 0.0, time.time()
    exps = sorted({p["exp"] for p in pts})
    for i, p in enumerate(pts):
        in_exp = [q for q in pts if q["exp"] == p["exp"]]
        k = in_exp.index(p) + 1
        elapsed = time.time() - t0
        factor = min(5.0, max(0.5, elapsed / done_est)) if done_est > 1 else 1.0
        left = (est - done_est) * factor
        log("[exp %d/%d] %s: %s, point %d/%d, ~%s left" % (exps.index(p["exp"]) + 1, len(exps), EXPERIMENTS[p["exp"]],
                                                         p["label"], k, len(in_exp), fmt_eta(left)))
        done_est += p["est_s"]
        try:
            pt = run_harness(a.harness, p["args"], timeout=a.point_timeout or max(120, 20 * p["est_s"]))
        except (RuntimeError, subprocess.TimeoutExpired) as e:
            log("gp_reproduce: FAILED point (%s): %s" % (p["label"], str(e)[-400:]))
            data["failed"].append(dict(exp_id=p["exp"], label=p["label"], args=p["args"], error=str(e)[-400:]))
            save()
            continue
        pt["exp_id"] = p["exp"]
        data["points"].append(pt)
        save()
    if a.urcu_bench:
        data["urcu_bench"], data["urcu"]["failed"] = run_urcu_bench(a, log, os.path.join(outdir, R.URCU_LOG))
    save()
    R.write_csv(all_rows(data), os.path.join(outdir, "data.csv"))
    try:
        make_outputs(outdir, data, a, log)
    except RuntimeError as e:
        print("gp_reproduce: error: %s" % e, file=sys.stderr)
        return 1
    if data["failed"]:
        log("gp_reproduce: %d point(s) FAILED (listed in report.md and data.json)" % len(data["failed"]))
    urcu_failed = data["urcu"]["failed"] if data["urcu"] else []
    if urcu_failed:
        log("gp_reproduce: INCOMPLETE: %d run(s) of liburcu's programs produced no figure (%s; listed in report.md, "
            "output in %s)" % (len(urcu_failed), ", ".join(sorted({f["program"] for f in urcu_failed})),
                               os.path.join(outdir, R.URCU_LOG)))
    log("gp_reproduce: done in %d s; report: %s" % (time.time() - t_start, os.path.join(outdir, "report.md")))
    print(os.path.abspath(outdir))
    return 1 if data["failed"] else 3 if urcu_failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
