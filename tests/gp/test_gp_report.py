#!/usr/bin/env python3
"""Unit tests of the grace-period reproduction's Python side: liburcu SUMMARY
parsing, CSV round trip, report generation (every number in the report equals
the CSV's), the observations table, plots (when gnuplot exists) and the
driver's refusal of bad input before any work. Standard library only; run
directly or by ctest (gp_report_py)."""

import json
import os
import stat
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "perf", "gp"))
import gp_report as R  # noqa: E402

DRIVER = os.path.join(ROOT, "scripts", "gp_reproduce.py")

SAMPLE = ("SUMMARY ./test_urcu                 testdur    1 nr_readers   2 rdur      0 wdur      0 "
          "nr_writers   1 wdelay      0 nr_reads    123456789 nr_writes        40123 nr_ops    123496912")
SAMPLE_HASH = ("SUMMARY /x/test_urcu_hash          testdur   10 nr_readers   4 rdur      0 nr_writers   2 "
               "wdelay      0 nr_reads          100 nr_writes          20 nr_ops          120 nr_add            7 "
               "nr_add_fail            1 nr_remove            3 nr_leaked            0")


def metric(median, lo, hi, unit="reads/s"):
    return {"unit": unit, "median": median, "min": lo, "max": hi, "q1": lo, "q3": hi, "values": [lo, median, hi]}


def point(exp, contender, readers, writers=0, section=0, reclaim="sync", batch=0, path="", metrics=None):
    return {"experiment": exp, "contender": contender, "readers": readers, "writers": writers,
            "section_cycles": section, "reclaim": reclaim, "batch": batch, "path": path,
            "metrics": metrics, "oversubscribed": False}


def synthetic_rows():
    """A small, complete data set with known numbers, shaped like the paper's results."""
    base = {"qsbr": 1000e6, "memb": 500e6, "mb": 60e6, "bp": 400e6, "rwlock": 30e6, "shared_mutex": 25e6,
            "mutex": 20e6, "per_thread_mutex": 40e6}
    rows = []
    for c, v in base.items():
        for n in (1, 2):
            for w in (0, 1):
                scale = n if c in R.RCU or c == "per_thread_mutex" else 0.8
                rows += R.rows_from_point(point("read", c, n, w, metrics={
                    "reads_per_s": metric(v * scale, v * scale * 0.9, v * scale * 1.1),
                    "updates_per_s": metric(1e5 * w, 0.9e5 * w, 1.1e5 * w, "updates/s"),
                    "errors": metric(0, 0, 0, "count")}), 1)
        for s in (0, 1000, 100000):
            r = v if s == 0 else 1e9 / (s + 300)
            rows += R.rows_from_point(point("read", c, 2, section=s, metrics={
                "reads_per_s": metric(r, r * 0.95, r * 1.05)}), 2)
    for c in R.RCU:
        rows += R.rows_from_point(point("update", c, 1, 1, reclaim="sync", metrics={
            "updates_per_s": metric(2e5, 1.9e5, 2.1e5, "updates/s"), "reads_per_s": metric(1e8, 1e8, 1e8)}), 3)
        for b, u in ((1, 1e5), (64, 2e6), (32768, 2.5e6)):
            rows += R.rows_from_point(point("update", c, 1, 1, reclaim="batch", batch=b, metrics={
                "updates_per_s": metric(u, u * 0.9, u * 1.1, "updates/s"), "reads_per_s": metric(1e8, 1e8, 1e8)}), 3)
        for n, p50 in ((0, 0.05), (1, 20.0 if c in ("memb", "bp") else 0.3)):
            rows += R.rows_from_point(point("gp-latency", c, n, metrics={
                "sync_p50_us": metric(p50, p50, p50, "us"), "sync_p90_us": metric(p50 * 2, p50, p50 * 3, "us"),
                "sync_p99_us": metric(p50 * 3, p50, p50 * 4, "us"), "sync_max_us": metric(p50 * 9, p50, p50 * 9, "us")}), 4)
        rows += R.rows_from_point(point("retire-latency", c, 1, path="call_rcu", metrics={
            "retire_p50_us": metric(5000, 4000, 6000, "us"), "retire_p90_us": metric(9000, 8000, 9500, "us"),
            "retire_p99_us": metric(9900, 9800, 10000, "us"), "retire_max_us": metric(10100, 10000, 10200, "us")}), 4)
    for c in R.LOCKS:
        rows += R.rows_from_point(point("update", c, 1, 1, metrics={
            "updates_per_s": metric(1e6, 0.9e6, 1.1e6, "updates/s"), "reads_per_s": metric(1e7, 1e7, 1e7)}), 3)
    return rows


MACHINE = {"cpu_model": "Test CPU", "cpus": 2, "cores": 2, "packages": 1, "nodes": 1, "kernel": "Linux 6",
           "liburcu": "0.13.2", "membarrier_private_expedited": True, "membarrier_query": 1023, "tsc_hz": 2.5e9,
           "loops_per_cycle": 1.5, "compiler": "g++", "hypervisor": True}


class SummaryParser(unittest.TestCase):
    def test_test_urcu_line(self):
        s = R.parse_summary_line(SAMPLE)
        self.assertEqual(s["program"], "test_urcu")
        self.assertEqual(s["testdur"], 1)
        self.assertEqual(s["nr_readers"], 2)
        self.assertEqual(s["nr_writers"], 1)
        self.assertEqual(s["nr_reads"], 123456789)
        self.assertEqual(s["nr_writes"], 40123)
        self.assertEqual(s["nr_ops"], 123496912)

    def test_hash_table_line_with_extra_fields(self):
        s = R.parse_summary_line(SAMPLE_HASH)
        self.assertEqual(s["program"], "test_urcu_hash")
        self.assertEqual(s["nr_add_fail"], 1)
        self.assertEqual(s["nr_leaked"], 0)

    def test_program_path_with_spaces(self):
        # liburcu prints its argv[0]: a path with spaces must not shift the key/value pairs.
        s = R.parse_summary_line(SAMPLE.replace("./test_urcu", "/tmp/my build/.libs/test_urcu"))
        self.assertEqual(s["program"], "test_urcu")
        self.assertEqual(s["nr_reads"], 123456789)

    def test_other_lines_and_malformed_summaries(self):
        self.assertIsNone(R.parse_summary_line("total number of reads : 1, writes 2"))
        self.assertIsNone(R.parse_summary_line(""))
        with self.assertRaises(ValueError):
            R.parse_summary_line("SUMMARY ./t testdur 1 nr_reads")
        with self.assertRaises(ValueError):
            R.parse_summary_line("SUMMARY ./t testdur one")
        with self.assertRaises(ValueError):
            R.parse_summary_line("SUMMARY ./t testdur 1 nr_readers 2 nr_reads lots nr_writes 0")


class CsvAndReport(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name
        self.rows = synthetic_rows()
        R.write_csv(self.rows, os.path.join(self.dir, "data.csv"))

    def tearDown(self):
        self.tmp.cleanup()

    def test_csv_round_trip(self):
        back = R.read_csv(os.path.join(self.dir, "data.csv"))
        self.assertEqual(len(back), len(self.rows))
        for a, b in zip(self.rows, back):
            for k in R.COLUMNS:
                self.assertEqual(str(a[k]) if k not in R.FLOAT_COLUMNS else float(a[k]),
                                 str(b[k]) if k not in R.FLOAT_COLUMNS else b[k], k)

    def test_errors_metric_is_not_a_row(self):
        self.assertFalse([r for r in self.rows if r["metric"] == "errors"])

    def test_every_report_number_is_a_csv_median(self):
        rows = R.read_csv(os.path.join(self.dir, "data.csv"))
        text = R.write_report(rows, MACHINE, {"profile": "test"}, {}, self.dir)
        cells = R.report_numbers(text)
        expected = {(R.fmt_metric(r["metric"], r["median"]), R.fmt_metric(r["metric"], r["min"]),
                     R.fmt_metric(r["metric"], r["max"])) for r in rows}
        self.assertGreater(len(cells), 100)
        for c in cells:
            self.assertIn(c, expected)
        # ... and each CSV row appears in the report (no row silently dropped).
        self.assertEqual(len(set(cells)), len(set(cells) & expected))
        shown = set(cells)
        missing = [r for r in rows if (R.fmt_metric(r["metric"], r["median"]), R.fmt_metric(r["metric"], r["min"]),
                                       R.fmt_metric(r["metric"], r["max"])) not in shown]
        self.assertEqual(missing, [])

    def test_report_names_the_machine_and_says_when_liburcu_benchmarks_are_absent(self):
        text = R.write_report(R.read_csv(os.path.join(self.dir, "data.csv")), MACHINE, {"profile": "test"}, {},
                              self.dir)
        for needle in ("Test CPU", "0.13.2", "MEMBARRIER_CMD_PRIVATE_EXPEDITED supported", "| NUMA nodes | 1 |",
                       "Linux 6", "Not run: no directory of liburcu benchmark programs"):
            self.assertIn(needle, text)
        with open(os.path.join(self.dir, "report.md")) as f:
            self.assertEqual(f.read(), text)

    def test_report_with_liburcu_benchmarks(self):
        urcu = [dict(program="test_urcu", contender="memb", readers=2, writers=0, cpus=2, reads_per_s=[9e8, 9.5e8, 1e9],
                     updates_per_s=[0, 0, 0]),
                dict(program="test_rwlock", contender="rwlock", readers=2, writers=1, cpus=2,
                     reads_per_s=[24e6, 24e6, 24e6], updates_per_s=[0, 0, 0])]
        rows = self.rows + [r for u in urcu for r in R.rows_from_urcu(u)]
        self.assertEqual({r["program"] for r in rows if r["exp_id"] == 0}, {"test_urcu", "test_rwlock"})
        text = R.write_report(rows, MACHINE, {"profile": "test"}, {}, self.dir,
                              {"dir": "/x y", "runs": 3, "duration": 1, "missing": [("test_urcu_bp", "absent")],
                               "failed": [dict(program="test_mutex", writers=1, run=2, reason="exit status 134")]})
        # memb, 2 readers, no writer: ours 1000 (900-1100) M/s; the ranges overlap.
        self.assertIn("| test_urcu | memb | 2 | 0 | reads/s | 950 (900–1000) | 1000 (900–1100) | 0.95 | yes | "
                      "none: the ranges overlap |", text)
        # rwlock, 2 readers + 1 writer on 2 CPUs: oversubscribed; a counted 0 is a figure, not "—".
        self.assertIn("| test_rwlock | rwlock | 2 | 1 | updates/s | 0 (0–0) | 0.1 (0.09–0.11) | — | no: "
                      "oversubscribed: 3 threads | one side counted none |", text)
        self.assertIn("**B.**", text)
        self.assertIn("test_urcu_bp (absent)", text)
        self.assertIn("- test_mutex, 1 writer(s), run 2: exit status 134", text)
        self.assertNotIn("Not run: no directory", text)
        # Every number of the report, liburcu's included, is a CSV row's.
        expected = {(R.fmt_metric(r["metric"], r["median"]), R.fmt_metric(r["metric"], r["min"]),
                     R.fmt_metric(r["metric"], r["max"])) for r in rows}
        self.assertLessEqual(set(R.report_numbers(text)), expected)

    def test_comparison_verdicts(self):
        def row(median, lo, hi, reps=3, over="no", writers=0):
            return dict(median=median, min=lo, max=hi, reps=reps, oversubscribed=over, readers=2, writers=writers)
        ours = row(100, 90, 110)
        self.assertEqual(R.urcu_compare(row(105, 105, 105, reps=1), ours)[1:],
                         ("no: liburcu 1 run", "none: the ranges overlap", None))
        self.assertEqual(R.urcu_compare(row(150, 140, 160), ours)[1:],
                         ("yes", "under 2x: noise (note A)", "small"))
        self.assertEqual(R.urcu_compare(row(1e-4, 1e-4, 1e-4, over="yes", writers=1), ours)[3], "oversub")
        self.assertEqual(R.urcu_compare(row(1000, 900, 1100), ours)[2:], ("10x: not explained (note C)", "unexplained"))
        self.assertEqual(R.urcu_compare(row(100, 90, 110), None)[1], "no: quiesce has no figure (its point failed)")

    def test_observations_on_paper_shaped_data(self):
        obs = {o["n"]: o for o in R.observations(self.rows, MACHINE)}
        self.assertEqual(len(obs), 7)
        self.assertEqual(obs[1]["verdict"], "agrees")        # qsbr > memb > mb (60) > per-thread mutex (40)
        self.assertIn("qsbr 2000 M/s", obs[1]["here"])
        self.assertEqual(obs[2]["verdict"], "agrees")        # linear by construction
        self.assertEqual(obs[3]["verdict"], "cannot tell")   # 2 CPUs < 8
        self.assertEqual(obs[6]["verdict"], "agrees")        # 32768 is the best batch
        self.assertEqual(obs[7]["verdict"], "agrees")        # memb/bp 20 us > qsbr/mb 0.3 us
        for o in obs.values():
            if o["verdict"] == "differs":
                self.assertTrue(o["why"], o)

    def test_observations_explain_a_difference(self):
        rows = [r for r in self.rows if not (r["exp_id"] == 3 and r["batch"] == 32768)]
        rows += R.rows_from_point(point("update", "memb", 1, 1, reclaim="batch", batch=32768, metrics={
            "updates_per_s": metric(1e6, 1e6, 1e6, "updates/s")}), 3)
        obs = {o["n"]: o for o in R.observations(rows, MACHINE)}
        self.assertEqual(obs[6]["verdict"], "differs")
        self.assertIn("2 CPUs, a virtual machine", obs[6]["why"])

    def test_observations_without_data(self):
        obs = R.observations([], MACHINE)
        self.assertTrue(all(o["verdict"] in ("not measured", "cannot tell") for o in obs))

    def test_png_check(self):
        p = os.path.join(self.dir, "x.png")
        with open(p, "wb") as f:
            f.write(b"GIF89a" + b"\0" * 2000)
        self.assertFalse(R.png_ok(p))
        self.assertFalse(R.png_ok(os.path.join(self.dir, "absent.png")))

    @unittest.skipUnless(__import__("shutil").which("gnuplot"), "SKIP: gnuplot not installed")
    def test_plots_are_valid_pngs(self):
        made = R.make_plots(self.rows, self.dir)
        self.assertEqual(sorted(made), [1, 2, 3, 4])
        for png in made.values():
            self.assertTrue(R.png_ok(os.path.join(self.dir, png)), png)
        text = R.write_report(self.rows, MACHINE, {"profile": "test"}, made, self.dir)
        for png in made.values():
            self.assertIn("](%s)" % png, text)


FAKE_HARNESS = r"""#!%(python)s
# Stands in for gp_harness: records its arguments, answers --info and read points at once.
import json, sys
a = sys.argv[1:]
with open(%(log)r, "a") as f:
    f.write(" ".join(a) + "\n")
if a == ["--info"]:
    print(json.dumps({"cpus": 2, "cpu_model": "fake"}))
    sys.exit(0)
arg = lambda k, d: a[a.index(k) + 1] if k in a else d
r, w = int(arg("--readers", 0)), int(arg("--writers", 0))
m = lambda v, u: {"unit": u, "median": v, "min": v, "max": v, "q1": v, "q3": v, "values": [v]}
print(json.dumps({"experiment": arg("--experiment", "read"), "contender": arg("--contender", "?"), "readers": r,
                  "writers": w, "section_cycles": 0, "reclaim": "sync", "batch": 0, "path": "",
                  "oversubscribed": r + w > 2, "metrics": {"reads_per_s": m(5e8, "reads/s"),
                                                           "updates_per_s": m(1e3 * w, "updates/s")}}))
"""

# Stand-ins for liburcu's programs (argv: nr_readers nr_writers duration -a cpu ...); $0 is their
# path, which has a space in it, as in liburcu's SUMMARY lines.
GOOD = 'echo "SUMMARY $0 testdur $3 nr_readers $1 rdur 0 wdur 0 nr_writers $2 wdelay 0 nr_reads 400000000 ' \
       'nr_writes $(( $2 * 1000 )) nr_ops 1"\n'
STANDINS = {
    "test_mutex": GOOD,                                               # the one that works
    "test_urcu": 'echo "hello"; echo "segfault? no: garbage"\n',       # no SUMMARY line
    "test_urcu_qsbr": 'echo "SUMMARY $0 testdur $3 nr_readers $1 nr_writers $2 nr_writes 0 nr_ops 1"\n',  # no nr_reads
    "test_rwlock": 'echo "SUMMARY $0 testdur $3 nr_readers $1 nr_writers $2 nr_reads lots nr_writes 0"\n',
    "test_urcu_bp": GOOD + "kill -ABRT $$\n",                          # SUMMARY, then aborts (exit 134)
    "test_perthreadlock": 'echo "SUMMARY $0 testdur $3 nr_readers 1 nr_writers $2 nr_reads 1 nr_writes 0"\n',
    # hangs, with a child of its own, whose pid it records
    "test_urcu_mb": 'sleep 300 & echo $! >> "$(dirname "$0")/child.pids"\nwait\n',
}


def make_standins(d, names):
    for name in names:
        path = os.path.join(d, name)
        with open(path, "w") as f:
            f.write("#!/bin/sh\n" + STANDINS[name])
        os.chmod(path, 0o755)


def alive(pid):
    """True if pid runs (a zombie waiting for its reaper does not count)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


class LiburcuPrograms(unittest.TestCase):
    """gp_reproduce.py --urcu-bench against stand-ins for liburcu's programs, in a directory whose
    path has a space, with a stand-in harness (no build needed; seconds)."""

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.bench = os.path.join(self.tmp.name, "liburcu 0.13.2", "tests", "benchmark")
        os.makedirs(self.bench)
        self.harness_log = os.path.join(self.tmp.name, "harness.log")
        self.harness = os.path.join(self.tmp.name, "fake harness")
        with open(self.harness, "w") as f:
            f.write(FAKE_HARNESS % {"python": sys.executable, "log": self.harness_log})
        os.chmod(self.harness, 0o755)
        self.out = os.path.join(self.tmp.name, "out dir")

    def tearDown(self):
        self.tmp.cleanup()

    def run_driver(self, *args, bench=None):
        p = subprocess.run([sys.executable, DRIVER, "--profile", "smoke", "--harness", self.harness, "--out", self.out,
                            "--no-plots", "--max-threads", "2", "--urcu-bench", bench or self.bench, "--urcu-timeout",
                            "1"] + list(args), capture_output=True, text=True, timeout=60)
        return p

    def harness_calls(self):
        if not os.path.exists(self.harness_log):
            return []
        with open(self.harness_log) as f:
            return f.read().splitlines()

    def test_every_bad_program_is_named_and_the_run_is_incomplete(self):
        make_standins(self.bench, STANDINS)
        p = self.run_driver("--experiments", "4")
        self.assertEqual(p.returncode, 3, p.stdout + p.stderr)
        with open(os.path.join(self.out, "report.md")) as f:
            report = f.read()
        reasons = {
            "test_urcu": "printed no SUMMARY line; its last line: 'segfault? no: garbage'",
            "test_urcu_qsbr": "its SUMMARY line lacks nr_reads",
            "test_rwlock": "unusable SUMMARY line: nr_reads='lots' is not an integer",
            "test_urcu_bp": "killed by SIGABRT after its SUMMARY line",
            "test_perthreadlock": "its SUMMARY line says 1 readers, 0 writers, 1 s; asked for 2, 0, 1 s",
            "test_urcu_mb": "no result within 1 s: killed with its process group (--urcu-timeout)",
        }
        for prog, why in reasons.items():
            self.assertIn("[liburcu] FAILED: %s, 0 writer(s), run 1: %s" % (prog, why), p.stdout)
            self.assertIn("- %s, 0 writer(s), run 1: %s" % (prog, why), report)
        self.assertIn("INCOMPLETE: 12 run(s) of liburcu's programs produced no figure", p.stdout)
        # The hanging program's child died with it.
        with open(os.path.join(self.bench, "child.pids")) as f:
            pids = [int(x) for x in f.read().split()]
        self.assertEqual(len(pids), 2)
        self.assertFalse([pid for pid in pids if alive(pid)], "a child of the hung program survived")
        # The one good program: its figures in data.csv (path with a space parsed), its SUMMARY lines kept.
        import csv
        with open(os.path.join(self.out, "data.csv")) as f:
            lib = [r for r in csv.DictReader(f) if r["experiment"] == "liburcu-bench"]
        self.assertEqual(sorted((r["program"], r["writers"], r["metric"], float(r["median"])) for r in lib),
                         [("test_mutex", "0", "reads_per_s", 4e8), ("test_mutex", "1", "reads_per_s", 4e8),
                          ("test_mutex", "1", "updates_per_s", 1e3)])
        with open(os.path.join(self.out, "liburcu_bench.log")) as f:
            log = f.read()
        self.assertIn("SUMMARY %s/test_mutex testdur 1 nr_readers 2" % self.bench, log)
        self.assertIn("# killed (timeout)", log)
        self.assertIn("| test_mutex | mutex | 2 | 1 | updates/s | 0.001 (0.001–0.001) | 0.001 (0.001–0.001) | 1 | "
                      "no: liburcu 1 run, quiesce 1 repetition, oversubscribed: 3 threads", report)

    def test_nothing_usable_is_not_called_not_run(self):
        make_standins(self.bench, ["test_urcu"])
        p = self.run_driver("--experiments", "4", "--contenders", "memb")
        self.assertEqual(p.returncode, 3, p.stdout + p.stderr)
        with open(os.path.join(self.out, "report.md")) as f:
            report = f.read()
        self.assertIn("**No usable result**", report)
        self.assertNotIn("Not run: no directory", report)

    def test_some_programs_missing_and_the_harness_measures_what_liburcu_ran(self):
        make_standins(self.bench, ["test_mutex"])
        # Neither experiment 1 nor 2 readers are asked for: the comparison points are added anyway.
        p = self.run_driver("--experiments", "4", "--contenders", "memb,mutex")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("warning: --urcu-bench: %s lacks test_urcu (absent); running the other 1" % self.bench, p.stdout)
        calls = self.harness_calls()
        for w in (0, 1):
            self.assertIn("--experiment read --contender mutex --readers 2 --writers %d" % w, "\n".join(calls))
        with open(os.path.join(self.out, "report.md")) as f:
            report = f.read()
        self.assertIn("Not in the directory, so not run: test_urcu (absent).", report)
        self.assertIn("| test_mutex | mutex | 2 | 0 | reads/s | 400 (400–400) | 500 (500–500) | 0.8 |", report)
        self.assertIn("Not run (their contender is not in --contenders): test_urcu_qsbr", report)

    def test_wrong_directories_exit_2_before_any_work(self):
        make_standins(self.bench, ["test_mutex"])
        root = os.path.dirname(os.path.dirname(self.bench))  # liburcu's source root
        for bench, needle in ((root, "this looks like liburcu's source tree: its programs are built in %s" % self.bench),
                              (os.path.join(root, "nope"), "is not a directory")):
            p = self.run_driver(bench=bench)
            self.assertEqual(p.returncode, 2, p.stdout + p.stderr)
            self.assertIn(needle, p.stderr)
            self.assertEqual(self.harness_calls(), [], "the harness ran despite bad input")
            self.assertFalse(os.path.exists(self.out), "work started despite bad input")
        p = self.run_driver("--contenders", "shared_mutex")  # leaves no program of liburcu to run
        self.assertEqual(p.returncode, 2)
        self.assertIn("leaves none of liburcu's programs", p.stderr)
        for bad in (("--urcu-runs", "0"), ("--urcu-timeout", "0")):
            p = self.run_driver(*bad)
            self.assertEqual(p.returncode, 2, bad)
            self.assertIn(bad[0], p.stderr)
        p = subprocess.run([sys.executable, DRIVER, "--check-args", "--urcu-bench", self.bench],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual((p.returncode, p.stdout, p.stderr), (0, "", ""))
        p = subprocess.run([sys.executable, DRIVER, "--check-args"], capture_output=True, text=True, timeout=60,
                           env=dict(os.environ, GP_URCU_TIMEOUT="soon"))
        self.assertEqual(p.returncode, 2)
        self.assertIn("GP_URCU_TIMEOUT: 'soon' is not a number", p.stderr)


class DriverRefusesBadInput(unittest.TestCase):
    """gp_reproduce.py exits 2 with a message, and never starts the harness."""

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.marker = os.path.join(self.tmp.name, "harness-was-run")
        self.fake = os.path.join(self.tmp.name, "fake_harness")
        with open(self.fake, "w") as f:
            f.write("#!/bin/sh\ntouch '%s'\nexit 1\n" % self.marker)
        os.chmod(self.fake, os.stat(self.fake).st_mode | stat.S_IEXEC)

    def tearDown(self):
        self.tmp.cleanup()

    def run_driver(self, *args):
        p = subprocess.run([sys.executable, DRIVER, "--harness", self.fake, "--out",
                            os.path.join(self.tmp.name, "out")] + list(args),
                           capture_output=True, text=True, timeout=60)
        self.assertFalse(os.path.exists(self.marker), "the harness ran despite bad input")
        self.assertFalse(os.path.exists(os.path.join(self.tmp.name, "out")), "work started despite bad input")
        return p

    def expect(self, needle, *args):
        p = self.run_driver(*args)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn(needle, p.stderr)

    def test_unknown_flavour(self):
        self.expect("unknown flavour or lock 'signal'", "--contenders", "memb,signal")

    def test_zero_threads(self):
        self.expect("zero threads", "--max-threads", "0")
        self.expect("zero threads", "--threads", "0-2")
        self.expect("--threads", "--threads", "4-1")

    def test_duration_that_cannot_fit(self):
        self.expect("cannot be measured", "--duration", "0")
        self.expect("cannot be measured", "--duration", "1000")
        self.expect("over the budget", "--duration", "60", "--budget-min", "5")

    def test_bad_experiments_and_reps(self):
        self.expect("--experiments", "--experiments", "5")
        self.expect("--experiments", "--experiments", "one")
        self.expect("--reps", "--reps", "0")

    def test_missing_harness(self):
        p = subprocess.run([sys.executable, DRIVER, "--harness", os.path.join(self.tmp.name, "nope")],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 2)
        self.assertIn("not an executable file", p.stderr)

    def test_unknown_option(self):
        p = self.run_driver("--frobnicate")
        self.assertEqual(p.returncode, 2)
        self.assertIn("unrecognized arguments", p.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
