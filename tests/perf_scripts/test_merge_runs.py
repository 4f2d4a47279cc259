#!/usr/bin/env python3
"""Tests of perf/merge_runs.py, which merges the Markdown reports a
perf/<area>_ratios.py script wrote from several runs of one benchmark
(scripts/run_main.sh --runs N): alignment of lines by skeleton, medians with
(min-max) ranges, verdicts that pass only if every run passed, lines only
some runs have, run facts (dates, sources), refusal of mismatched or
unreadable input, --strict; then perf/stm_ratios.py (its targets, and on two synthetic runs
merged end to end, and run_main.sh's --runs option parsing (without running
the job). Synthetic inputs only; standard library only; run directly or by
ctest (merge_runs_py)."""

import json
import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
MERGE = os.path.join(ROOT, "perf", "merge_runs.py")
STM = os.path.join(ROOT, "perf", "stm_ratios.py")
RUN_MAIN = os.path.join(ROOT, "scripts", "run_main.sh")


def runs_line(paths):
    return (f"- runs: {len(paths)} (sources: {', '.join(paths)}); each figure is the median across runs, "
            "with (min-max) where the runs differ; a target passes only if it passes in every run.")


def report(date="2026-12-03T18:00:00+00:00", load="1.50, 1.20, 0.90", source="out/x.json",
           guard="0.937", ratio="1.167x", verdict="MISS", ratio2="0.98x", verdict2="PASS",
           misses=("read/memb: guard/inline 1.167x > 1.10x",), extra_rows=()):
    """A report shaped like perf/rcu_ratios.py's (header of perf/bench_json.py)."""
    lines = ["# demo_bench ratios", "",
             f"- CPU: Test CPU; 2 CPUs at 2096 MHz; run {date}; load average {load}",
             "- compiler: g++ 12",
             f"- source: {source}; medians over repetitions.",
             "- Placement: measuring thread on the first CPU, helpers on the second.",
             "",
             "## Read side (ns per section)",
             "",
             "| flavour | quiesce guard | guard / inline | target | result |",
             "|---|---:|---:|---:|---|",
             f"| memb | {guard} | {ratio} | <= 1.10x | {verdict} |",
             f"| qsbr | 0.071 | {ratio2} | <= 1.10x | {verdict2} |"]
    lines += list(extra_rows)
    lines += ["", "- target unicast >= 2.0x boost spsc_queue, per_event: 0.69x **MISS**", ""]
    lines.append("## Targets missed" if misses else "## Targets: all met")
    lines.append("")
    for m in misses:
        lines.append(f"- {m}")
    if misses:
        lines.append("")
    return "\n".join(lines) + "\n"


class MergeTestCase(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)

    def write(self, name, text):
        path = os.path.join(self.tmp.name, name)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        return path

    def merge(self, texts, *extra, expect=0):
        """Writes texts as run1.md, run2.md, ... and merges them; returns (stdout, out.md's text)."""
        paths = [self.write(f"run{i + 1}.md", t) for i, t in enumerate(texts)]
        out = os.path.join(self.tmp.name, "merged.md")
        p = subprocess.run([sys.executable, MERGE, *paths, "-o", out, *extra],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, expect, p.stderr)
        with open(out, encoding="utf-8") as f:
            merged = f.read()
        self.assertEqual(p.stdout, merged)
        return merged, paths

    def line_with(self, text, start):
        found = [ln for ln in text.splitlines() if ln.startswith(start)]
        self.assertEqual(len(found), 1, f"one line starting {start!r} in:\n{text}")
        return found[0]


class Identical(MergeTestCase):
    def test_identical_runs_give_the_input_plus_the_runs_line(self):
        text = report()
        merged, paths = self.merge([text, text, text])
        lines = text.splitlines()
        expected = lines[:2] + [runs_line(paths)] + lines[2:]
        self.assertEqual(merged, "\n".join(expected) + "\n")

    def test_runs_line_ends_the_list_before_a_paragraph(self):
        text = "# numa_bench ratios\n\nHost h, 2 CPUs.\n\n| a | b |\n|---|---:|\n| x | 1.0x |\n"
        merged, paths = self.merge([text, text])
        self.assertEqual(merged.splitlines()[:5], ["# numa_bench ratios", "", runs_line(paths), "",
                                                   "Host h, 2 CPUs."])

    def test_help(self):
        p = subprocess.run([sys.executable, MERGE, "--help"], capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0)
        self.assertIn("--strict", p.stdout)
        self.assertIn("-o", p.stdout)


class Figures(MergeTestCase):
    def test_differing_ratios_show_median_and_range(self):
        merged, _ = self.merge([report(ratio="1.23x", guard="45.6"), report(ratio="1.10x", guard="40.1"),
                                report(ratio="1.35x", guard="50.2")])
        row = self.line_with(merged, "| memb |")
        self.assertEqual(row, "| memb | 45.6 (40.1-50.2) | 1.23x (1.10-1.35x) | <= 1.10x | MISS |")
        # a figure that is the same in every run stays as it is
        self.assertEqual(self.line_with(merged, "| qsbr |"), "| qsbr | 0.071 | 0.98x | <= 1.10x | PASS |")

    def test_even_number_of_runs_takes_the_mean_of_the_middle_two(self):
        merged, _ = self.merge([report(ratio="1.00x"), report(ratio="1.20x")])
        self.assertIn("| 1.10x (1.00-1.20x) |", self.line_with(merged, "| memb |"))

    def test_decimals_thousands_negatives_percentages_exponents(self):
        rows = ["| thousands | {} |", "| negative | {} |", "| percent | {} |", "| tiny | {} |",
                "| mixed decimals | {} |", "| integer | {} |"]
        values = [("12,345", "-0.50", "45%", "1.2e-05", "1.5", "176x"),
                  ("9,876", "-0.70", "40%", "3.4e-05", "1.25", "1,234x"),
                  ("11,002", "0.30", "50%", "2.0e-05", "1.75", "200x")]
        texts = ["# t\n\n| what | value |\n|---|---:|\n" + "\n".join(r.format(v) for r, v in zip(rows, vs)) + "\n"
                 for vs in values]
        merged, _ = self.merge(texts)
        self.assertEqual(self.line_with(merged, "| thousands |"), "| thousands | 11,002 (9,876-12,345) |")
        self.assertEqual(self.line_with(merged, "| negative |"), "| negative | -0.50 (-0.70 to 0.30) |")
        self.assertEqual(self.line_with(merged, "| percent |"), "| percent | 45% (40-50%) |")
        self.assertEqual(self.line_with(merged, "| tiny |"), "| tiny | 2.0e-05 (1.2e-05-3.4e-05) |")
        self.assertEqual(self.line_with(merged, "| mixed decimals |"), "| mixed decimals | 1.50 (1.25-1.75) |")
        self.assertEqual(self.line_with(merged, "| integer |"), "| integer | 200x (176-1,234x) |")

    def test_numbers_inside_words_are_not_figures(self):
        texts = ["# t\n\n- p99 of cpu0_cpu1 in 1P-1C: 5 ns\n", "# t\n\n- p99 of cpu0_cpu1 in 1P-1C: 7 ns\n"]
        merged, _ = self.merge(texts)
        self.assertEqual(self.line_with(merged, "- p99"), "- p99 of cpu0_cpu1 in 1P-1C: 6 (5-7) ns")


class Verdicts(MergeTestCase):
    def test_pass_in_every_run_stays_pass(self):
        merged, _ = self.merge([report(), report(ratio2="1.01x"), report(ratio2="0.95x")])
        self.assertEqual(self.line_with(merged, "| qsbr |"), "| qsbr | 0.071 | 0.98x (0.95-1.01x) | <= 1.10x | PASS |")

    def test_miss_in_one_run_is_a_miss(self):
        merged, _ = self.merge([report(ratio2="0.98x"), report(ratio2="1.12x", verdict2="MISS"),
                                report(ratio2="1.01x")])
        self.assertEqual(self.line_with(merged, "| qsbr |"),
                         "| qsbr | 0.071 | 1.01x (0.98-1.12x) | <= 1.10x | MISS (1 of 3 runs) |")

    def test_the_runs_word_is_kept_and_bold_stays_bold(self):
        texts = ["# t\n\n- target a: 1.0x **PASS**\n", "# t\n\n- target a: 0.5x **FAIL**\n",
                 "# t\n\n- target a: 0.4x **FAIL**\n"]
        merged, _ = self.merge(texts)
        self.assertEqual(self.line_with(merged, "- target a"), "- target a: 0.5x (0.4-1.0x) **FAIL (2 of 3 runs)**")

    def test_verdict_beside_a_figure_in_one_cell(self):
        texts = [f"# t\n\n| size | pool / malloc |\n|---:|---:|\n| 32 | {c} |\n" for c in
                 ("1.20x (<= 1.5x: PASS)", "1.60x (<= 1.5x: MISS)", "1.30x (<= 1.5x: PASS)")]
        merged, _ = self.merge(texts)
        self.assertEqual(self.line_with(merged, "| 32 |"), "| 32 | 1.30x (1.20-1.60x) (<= 1.5x: MISS (1 of 3 runs)) |")


class Presence(MergeTestCase):
    def test_misses_lists_of_different_lengths(self):
        r1 = report(misses=["stack pairs: 0.90x boost::lockfree::stack"])
        r2 = report(misses=["stack pairs: 0.94x boost::lockfree::stack", "queue mixed: 0.80x ck_hp_fifo"])
        r3 = report(misses=[])
        merged, _ = self.merge([r1, r2, r3])
        lines = merged.splitlines()
        self.assertIn("## Targets missed (in 2 of 3 runs)", lines)
        self.assertIn("## Targets: all met (in 1 of 3 runs)", lines)
        self.assertIn("- stack pairs: 0.92x (0.90-0.94x) boost::lockfree::stack (in 2 of 3 runs)", lines)
        self.assertIn("- queue mixed: 0.80x ck_hp_fifo (in 1 of 3 runs)", lines)
        # in report order: the heading, then its list
        self.assertLess(lines.index("## Targets missed (in 2 of 3 runs)"),
                        lines.index("- stack pairs: 0.92x (0.90-0.94x) boost::lockfree::stack (in 2 of 3 runs)"))
        self.assertLess(lines.index("- stack pairs: 0.92x (0.90-0.94x) boost::lockfree::stack (in 2 of 3 runs)"),
                        lines.index("- queue mixed: 0.80x ck_hp_fifo (in 1 of 3 runs)"))

    def test_a_row_only_some_runs_have_is_marked_in_its_first_cell(self):
        skipped = "| bp | skipped: no membarrier | n/a | <= 1.10x | n/a |"
        measured = "| bp | 0.867 | 0.998x | <= 1.10x | PASS |"
        merged, _ = self.merge([report(extra_rows=[measured]), report(extra_rows=[skipped]),
                                report(extra_rows=[measured.replace("0.998x", "1.004x")])])
        lines = merged.splitlines()
        # a verdict in a line only some runs have says how many: a bare PASS means every run passed
        self.assertIn("| bp (in 2 of 3 runs) | 0.867 | 1.001x (0.998-1.004x) | <= 1.10x | PASS (2 of 3 runs) |", lines)
        self.assertIn("| bp (in 1 of 3 runs) | skipped: no membarrier | n/a | <= 1.10x | n/a |", lines)
        # both inside the table: right after the qsbr row, before the blank line that ends it
        i = lines.index(self.line_with(merged, "| qsbr |"))
        self.assertTrue(lines[i + 1].startswith("| bp (in ") and lines[i + 2].startswith("| bp (in "))
        self.assertEqual(lines[i + 3], "")


class RunFacts(MergeTestCase):
    def test_date_and_load_average_are_run_1s(self):
        merged, _ = self.merge([report(), report(date="2026-12-04T09:30:15+00:00", load="0.10, 0.20, 0.30"),
                                report(date="2026-12-05T23:59:59+00:00", load="3.00, 2.00, 1.00")])
        self.assertEqual(self.line_with(merged, "- CPU:"),
                         "- CPU: Test CPU; 2 CPUs at 2096 MHz; run 2026-12-03T18:00:00+00:00; "
                         "load average 1.50, 1.20, 0.90 (from run 1)")

    def test_same_date_everywhere_is_left_alone(self):
        merged, _ = self.merge([report(guard="1.0"), report(guard="2.0")])
        self.assertEqual(self.line_with(merged, "- CPU:"), report().splitlines()[2])

    def test_sources_are_listed(self):
        merged, _ = self.merge([report(source="out/x.run1.json"), report(source="out/x.run2.json")])
        self.assertEqual(self.line_with(merged, "- source:"),
                         "- source: out/x.run1.json, out/x.run2.json; medians over repetitions.")

    def test_command_lines_differing_are_run_1s(self):
        texts = [f"# t\n\n- command: `bench --benchmark_out=out/b.run{k}.json`\n" for k in (1, 2)]
        merged, _ = self.merge(texts)
        self.assertEqual(self.line_with(merged, "- command:"),
                         "- command: `bench --benchmark_out=out/b.run1.json` (from run 1)")


class Refusals(MergeTestCase):
    def test_reports_of_different_scripts(self):
        a = self.write("a.md", report())
        b = self.write("b.md", report().replace("# demo_bench ratios", "# other_bench ratios"))
        p = subprocess.run([sys.executable, MERGE, a, b], capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 2)
        self.assertIn("not reports of the same script", p.stderr)
        self.assertEqual(p.stdout, "")

    def test_unreadable_file(self):
        a = self.write("a.md", report())
        missing = os.path.join(self.tmp.name, "missing.md")
        p = subprocess.run([sys.executable, MERGE, a, missing], capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 2)
        self.assertIn("cannot read", p.stderr)
        self.assertIn("missing.md", p.stderr)

    def test_empty_file(self):
        a = self.write("a.md", report())
        b = self.write("b.md", "\n")
        p = subprocess.run([sys.executable, MERGE, a, b], capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 2)
        self.assertIn("empty", p.stderr)


class Strict(MergeTestCase):
    PASSING = "# t\n\n| a | r | verdict |\n|---|---:|---|\n| x | {} | {} |\n"

    def test_all_pass(self):
        texts = [self.PASSING.format("1.2x", "PASS"), self.PASSING.format("1.3x", "PASS")]
        self.merge(texts, "--strict", expect=0)

    def test_a_miss_in_one_run(self):
        texts = [self.PASSING.format("1.2x", "PASS"), self.PASSING.format("0.9x", "MISS")]
        self.merge(texts, "--strict", expect=1)
        self.merge(texts, expect=0)  # only --strict makes it an error

    def test_a_fail_in_a_line_only_one_run_has(self):
        texts = [self.PASSING.format("1.2x", "PASS"), self.PASSING.format("1.2x", "PASS") + "\n- y: FAIL\n"]
        merged, _ = self.merge(texts, "--strict", expect=1)
        self.assertIn("- y: FAIL (1 of 2 runs) (in 1 of 2 runs)", merged.splitlines())


def stm_json(path, scale):
    """Synthetic Google Benchmark JSON for perf/stm_bench: median aggregates, items_per_second."""
    rows = []
    for group in ("transfer_1t/16", "transfer_1t/1024", "transfer_2t/16", "transfer_2t/1024", "audit_1t/16"):
        for peer in ("stm", "global_mutex", "account_mutex", "stm_padded", "account_mutex_padded"):
            name = f"{group}/{peer}"
            if group == "audit_1t/16" and peer.endswith("padded"):
                continue
            ips = 10e6 * scale if peer.startswith("stm") else 8e6
            rows.append({"name": f"{name}_median", "run_name": name, "run_type": "aggregate",
                         "aggregate_name": "median", "repetitions": 3, "threads": 1, "iterations": 1000,
                         "real_time": 1e9 / ips, "cpu_time": 1e9 / ips, "time_unit": "ns", "items_per_second": ips})
    ctx = {"date": "2026-12-03T18:00:00+00:00", "num_cpus": 2, "mhz_per_cpu": 2096, "load_avg": [1.0, 1.0, 1.0]}
    with open(path, "w", encoding="utf-8") as f:
        json.dump({"context": ctx, "benchmarks": rows}, f)


class EndToEnd(MergeTestCase):
    def test_stm_ratios_of_two_runs_merged(self):
        reports, sources = [], []
        for k, scale in ((1, 1.0), (2, 1.4)):
            js = os.path.join(self.tmp.name, f"stm_bench.run{k}.json")
            sources.append(js)
            md = os.path.join(self.tmp.name, f"stm_ratios.run{k}.md")
            stm_json(js, scale)
            p = subprocess.run([sys.executable, STM, js, "-o", md, "--compiler", "g++ 12"],
                               capture_output=True, text=True, timeout=60)
            self.assertEqual(p.returncode, 0, p.stderr)
            reports.append(md)
        out = os.path.join(self.tmp.name, "stm_ratios.md")
        p = subprocess.run([sys.executable, MERGE, *reports, "-o", out], capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(out, encoding="utf-8") as f:
            merged = f.read()
        row = self.line_with(merged, "| transfers, 1 thread, 16 accounts |")
        # stm / global_mutex: 10/8 = 1.25x in run 1, 14/8 = 1.75x in run 2; the median of two is their mean
        self.assertIn("| 1.50x (1.25-1.75x) |", row)
        self.assertIn("| 12.00 (10.00-14.00) |", row)  # stm, M transfers/s
        self.assertIn("| 8.00 |", row)  # global_mutex, the same in both runs
        self.assertIn(runs_line(reports), merged.splitlines())
        self.assertIn("- source: " + ", ".join(sources) + "; medians over repetitions.", merged.splitlines())
        # the same shape as one run's report: the lines of run 1 with the runs line added
        with open(reports[0], encoding="utf-8") as f:
            self.assertEqual(len(merged.splitlines()), len(f.read().splitlines()) + 1)
        # stm / account_mutex at 2 threads: 1.25x and 1.75x, both targets met in both runs
        for title in ("transfers, 2 threads, 1024 accounts", "transfers, 2 threads, 16 accounts (contended)"):
            line = self.line_with(merged, f"- target {title}:")
            self.assertIn("**PASS**", line)
            self.assertNotIn("MISS", line)

    def test_stm_targets(self):
        # stm 7 vs account_mutex 8: 0.875x, above the 16-account target (0.8x), below the 1024-account one (1.0x)
        js = os.path.join(self.tmp.name, "stm_bench.json")
        stm_json(js, 0.7)
        p = subprocess.run([sys.executable, STM, js, "--strict"], capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 1, p.stderr)
        lines = p.stdout.splitlines()
        self.assertIn("- target transfers, 2 threads, 1024 accounts: stm / account_mutex >= 1.0x, medians: 0.88x **MISS**", lines)
        self.assertIn("- target transfers, 2 threads, 16 accounts (contended): stm / account_mutex >= 0.8x, medians: 0.88x **PASS**",
                      lines)
        # the closing list names the missed target only
        missed = lines[lines.index("## Targets missed"):]
        self.assertIn("- target transfers, 2 threads, 1024 accounts: stm / account_mutex >= 1.0x, medians: 0.88x", missed)
        self.assertFalse([ln for ln in missed if "16 accounts" in ln])
        p = subprocess.run([sys.executable, STM, js], capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)  # only --strict makes a miss an error


class RunMainOption(unittest.TestCase):
    """run_main.sh's --runs and --reference are checked while the options are read, before anything runs
    (each call ends at --help or at the error: the main job itself never starts)."""

    def run_main(self, *args):
        return subprocess.run(["bash", RUN_MAIN, *args], capture_output=True, text=True, timeout=60)

    def test_bad_values(self):
        for value in ("0", "-1", "x", "1.5", "", "2x"):
            p = self.run_main("--runs", value, "--help")
            self.assertEqual(p.returncode, 2, value)
            self.assertIn("--runs wants a whole number >= 1", p.stderr)
        p = self.run_main("--runs=0", "--help")
        self.assertEqual(p.returncode, 2)

    def test_good_value_and_usage(self):
        for args in (("--runs", "3", "--help"), ("--runs=2", "--help")):
            p = self.run_main(*args)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertIn("--runs N", p.stdout)
            self.assertIn("merge_runs.py", p.stdout)

    def test_reference_name(self):
        # checked right after the options, before packages or builds
        for value in ("bad name", "../up", "", "a/b", "-x"):
            p = self.run_main("--reference", value)
            self.assertEqual(p.returncode, 2, value)
        p = self.run_main("--reference")
        self.assertEqual(p.returncode, 2)
        self.assertIn("--reference needs a name", p.stderr)
        p = self.run_main("--reference", "amd-epyc-2cpu", "--help")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("perf/results/NAME/", p.stdout)


if __name__ == "__main__":
    unittest.main(verbosity=2)
