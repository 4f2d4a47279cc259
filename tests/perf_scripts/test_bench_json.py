#!/usr/bin/env python3
"""Tests of the helpers perf/bench_json.py gives the perf/<area>_ratios.py
scripts: why_missing and Results (what a table shows for a benchmark with no
figure), finish (output and exit status, --strict) and tables_main (the
whole main() of a script made of table functions: command line, header,
tables, closing section, output, exit status). Synthetic inputs only;
standard library only; run directly or by ctest (bench_json_py)."""

import contextlib
import io
import json
import os
import sys
import tempfile
import unittest
from types import SimpleNamespace

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.normpath(os.path.join(HERE, "..", "..", "perf")))

import bench_json  # noqa: E402


def bench_row(name, **counters):
    return dict(name=name, run_name=name, run_type="aggregate", aggregate_name="median",
                time_unit="ns", **counters)


class Missing(unittest.TestCase):
    def test_why_missing(self):
        errors = {"a/b": "no liburcu"}
        self.assertEqual(bench_json.why_missing(errors, "a/b"), "skipped: no liburcu")
        self.assertEqual(bench_json.why_missing(errors, "a/c"), "not run")

    def test_results(self):
        r = bench_json.Results({"a/b": {"real_time": 2.0}}, {"a/c": "boom"})
        self.assertEqual(r.get("a/b", "real_time"), 2.0)
        self.assertIsNone(r.get("a/b", "cpu_time"))
        self.assertIsNone(r.get("a/x", "real_time"))
        self.assertEqual(r.why_missing("a/c"), "skipped: boom")
        self.assertEqual(r.why_missing("a/x"), "not run")
        self.assertEqual(r.misses, [])


class Finish(unittest.TestCase):
    def finish(self, strict, misses, output=None):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            status = bench_json.finish(["# t", "", "x"], SimpleNamespace(strict=strict, output=output), misses)
        return status, out.getvalue()

    def test_exit_status(self):
        self.assertEqual(self.finish(False, ["m"])[0], 0)
        self.assertEqual(self.finish(True, ["m"])[0], 1)
        self.assertEqual(self.finish(True, [])[0], 0)

    def test_output(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "r.md")
            _, printed = self.finish(False, [], path)
            with open(path, encoding="utf-8") as f:
                self.assertEqual(f.read(), "# t\n\nx\n")
        self.assertEqual(printed, "# t\n\nx\n")


class TablesMain(unittest.TestCase):
    def run_main(self, benchmarks, *options):
        """tables_main on a synthetic JSON of `benchmarks` with one table that
        misses a target when 'demo/slow' ran; returns (status, stdout)."""
        def table(r, lines):
            lines += ["## Demo", "", f"- fast: {r.get('demo/fast', 'real_time')}",
                      f"- slow: {r.why_missing('demo/slow')}", ""]
            if "demo/slow" in r.m:
                r.misses.append("demo/slow is slow")

        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "demo_bench.json")
            with open(path, "w", encoding="utf-8") as f:
                json.dump({"context": {"num_cpus": 2, "mhz_per_cpu": 2000},
                           "benchmarks": benchmarks}, f)
            out = io.StringIO()
            argv = sys.argv
            sys.argv = ["demo_ratios.py", path, *options]
            try:
                with contextlib.redirect_stdout(out):
                    status = bench_json.tables_main("demo_bench", ["a note"], [table],
                                                    ("## Missed", "## Met"), **bench_json.tables_help("demo_bench", 3))
            finally:
                sys.argv = argv
            return status, out.getvalue().replace(path, "IN")

    def test_report(self):
        status, text = self.run_main([bench_row("demo/fast", real_time=3.0)], "--strict", "--compiler", "g++ 12")
        self.assertEqual(status, 0)
        self.assertEqual(text, "\n".join([
            "# demo_bench ratios", "",
            "- 2 CPUs at 2000 MHz",
            "- compiler: g++ 12",
            "- source: IN; medians over repetitions.",
            "- a note", "",
            "## Demo", "", "- fast: 3.0", "- slow: not run", "",
            "## Met", "", ""]))

    def test_missed_target(self):
        benchmarks = [bench_row("demo/fast", real_time=3.0), bench_row("demo/slow", real_time=9.0)]
        status, text = self.run_main(benchmarks)
        self.assertEqual(status, 0)
        self.assertTrue(text.endswith("## Missed\n\n- demo/slow is slow\n\n"), text)
        self.assertEqual(self.run_main(benchmarks, "--strict")[0], 1)

    def test_help(self):
        help_options = bench_json.tables_help("demo_bench", 3)
        self.assertEqual(help_options["description"],
                         "Markdown ratio tables from perf/demo_bench's Google Benchmark JSON (medians over repetitions).")
        self.assertEqual(help_options["epilog"], "Produce the input with: demo_bench --benchmark_repetitions=3 "
                         "--benchmark_out=out/demo_bench.json --benchmark_out_format=json")


if __name__ == "__main__":
    unittest.main(verbosity=2)
