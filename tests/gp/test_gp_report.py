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
        urcu = [dict(program="test_urcu", readers=2, writers=0, reads_per_s=9e8, updates_per_s=0,
                     ours_reads_per_s=1e9, ours_updates_per_s=None)]
        text = R.write_report(self.rows, MACHINE, {"profile": "test"}, {}, self.dir, urcu)
        self.assertIn("| test_urcu | 2 | 0 | 900 | 1000 | 0 | — |", text)

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


class LiburcuBenchmarks(unittest.TestCase):
    """run_urcu_bench against stand-ins for liburcu's programs (shell scripts printing a SUMMARY line)."""

    def test_programs_found_run_and_parsed_beside_ours(self):
        sys.path.insert(0, os.path.join(ROOT, "scripts"))
        import gp_reproduce as G
        with tempfile.TemporaryDirectory() as d:
            prog = os.path.join(d, "test_urcu")
            with open(prog, "w") as f:
                # argv: nr_readers nr_writers duration -a cpu ...
                f.write('#!/bin/sh\necho "SUMMARY $0 testdur $3 nr_readers $1 rdur 0 wdur 0 nr_writers $2 '
                        'wdelay 0 nr_reads 500000000 nr_writes $(( $2 * 1000 )) nr_ops 500001000"\n')
            os.chmod(prog, 0o755)
            rows = synthetic_rows()
            logged = []
            out, note = G.run_urcu_bench(d, 2, rows, logged.append)
        self.assertEqual(note, "")
        self.assertEqual([(u["program"], u["writers"]) for u in out], [("test_urcu", 0), ("test_urcu", 1)])
        self.assertEqual(out[0]["reads_per_s"], 5e8)        # 1 s run
        self.assertEqual(out[1]["updates_per_s"], 1000)
        self.assertEqual(out[0]["ours_reads_per_s"], 1000e6)  # memb, 2 readers, no writer, in synthetic_rows
        self.assertTrue(any("-a" in ln for ln in logged))   # pinned like ours

    def test_directory_without_programs(self):
        sys.path.insert(0, os.path.join(ROOT, "scripts"))
        import gp_reproduce as G
        with tempfile.TemporaryDirectory() as d:
            out, note = G.run_urcu_bench(d, 2, [], lambda s: None)
        self.assertEqual(out, [])
        self.assertIn("holds none of test_urcu", note)


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
