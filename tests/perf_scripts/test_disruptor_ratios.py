#!/usr/bin/env python3
"""Tests of perf/disruptor_ratios.py's unicast target: it is judged on the
paired measurement (unicast_1p1c/paired, counter ratio_vs_best_spsc) when
the JSON has it, whatever the per-implementation medians say, and on those
medians when it has not (an older benchmark). Synthetic inputs only;
standard library only; run directly or by ctest (disruptor_ratios_py)."""

import unittest

from ratio_script_testing import row, run_ratio_script  # beside this file


def unicast(disruptor_mops, boost_mops, paired=None):
    rows = [row("unicast_1p1c/disruptor/real_time", items_per_second=disruptor_mops * 1e6),
            row("unicast_1p1c/boost_spsc/real_time", items_per_second=boost_mops * 1e6),
            row("unicast_1p1c/moodycamel_rwq/real_time", items_per_second=boost_mops * 0.5e6),
            row("unicast_1p1c/disruptor_batch10/real_time", items_per_second=10 * boost_mops * 1e6)]
    if paired is not None:
        rows.append(row("unicast_1p1c/paired/real_time", ratio_vs_best_spsc=paired, pairs=1))
    return rows


class UnicastTarget(unittest.TestCase):
    def run_script(self, benchmarks):
        return run_ratio_script("disruptor_ratios.py", benchmarks)

    def target_line(self, text):
        lines = [l for l in text.splitlines() if l.startswith("- target unicast") and "batch10" not in l]
        self.assertEqual(len(lines), 1, text)
        return lines[0]

    def test_paired_pass_overrides_unpaired_miss(self):
        status, text = self.run_script(unicast(60, 50, paired=1.8))
        self.assertIn("disruptor, paired: 1.80x **PASS**", self.target_line(text))
        self.assertIn("per-implementation medians in the table: 1.20x", text)
        self.assertEqual(status, 0, text)

    def test_paired_miss_is_a_miss(self):
        status, text = self.run_script(unicast(100, 50, paired=1.4))
        self.assertIn("disruptor, paired: 1.40x **MISS**", self.target_line(text))
        self.assertEqual(status, 1, text)

    def test_without_the_paired_row_the_medians_decide(self):
        status, text = self.run_script(unicast(80, 50))
        self.assertIn("disruptor: 1.60x **PASS**", self.target_line(text))
        self.assertEqual(status, 0, text)
        status, text = self.run_script(unicast(70, 50))
        self.assertIn("disruptor: 1.40x **MISS**", self.target_line(text))
        self.assertEqual(status, 1, text)


if __name__ == "__main__":
    unittest.main()
