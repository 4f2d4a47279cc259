#!/usr/bin/env python3
"""Tests of perf/disruptor_ratios.py's unicast targets: each is judged on the
paired measurement (unicast_1p1c/paired, counters ratio_vs_best_spsc and
batch10_ratio_vs_best_spsc) when the JSON has it, whatever the
per-implementation medians say, and on those medians when it has not (an
older benchmark). Synthetic inputs only;
standard library only; run directly or by ctest (disruptor_ratios_py)."""

import unittest

from ratio_script_testing import row, run_ratio_script  # beside this file


def unicast(disruptor_mops, boost_mops, paired=None, batch10_mops=None, batch10_paired=None):
    if batch10_mops is None:
        batch10_mops = 10 * boost_mops
    rows = [row("unicast_1p1c/disruptor/real_time", items_per_second=disruptor_mops * 1e6),
            row("unicast_1p1c/boost_spsc/real_time", items_per_second=boost_mops * 1e6),
            row("unicast_1p1c/moodycamel_rwq/real_time", items_per_second=boost_mops * 0.5e6),
            row("unicast_1p1c/disruptor_batch10/real_time", items_per_second=batch10_mops * 1e6)]
    if paired is not None:
        counters = {"ratio_vs_best_spsc": paired, "pairs": 1}
        if batch10_paired is not None:
            counters["batch10_ratio_vs_best_spsc"] = batch10_paired
        rows.append(row("unicast_1p1c/paired/real_time", **counters))
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



# The batch target (next(10)/publish(lo, hi)) is judged on the same paired
# measurement's second Disruptor segment (counter batch10_ratio_vs_best_spsc)
# when the JSON has it.
class Batch10Target(unittest.TestCase):
    def run_script(self, benchmarks):
        return run_ratio_script("disruptor_ratios.py", benchmarks)

    def target_line(self, text):
        lines = [l for l in text.splitlines() if l.startswith("- target unicast") and "batch10" in l]
        self.assertEqual(len(lines), 1, text)
        return lines[0]

    def test_paired_miss_overrides_unpaired_pass(self):
        status, text = self.run_script(unicast(100, 50, paired=2.0, batch10_mops=500, batch10_paired=0.9))
        self.assertIn("disruptor_batch10, paired: 0.90x **MISS**", self.target_line(text))
        self.assertIn("disruptor_batch10 / best SPSC peer from the per-implementation medians in the table: 10.00x",
                      text)
        self.assertEqual(status, 1, text)

    def test_paired_pass_overrides_unpaired_miss(self):
        status, text = self.run_script(unicast(100, 50, paired=2.0, batch10_mops=40, batch10_paired=4.0))
        self.assertIn("disruptor_batch10, paired: 4.00x **PASS**", self.target_line(text))
        self.assertEqual(status, 0, text)

    def test_without_the_paired_counter_the_medians_decide(self):
        status, text = self.run_script(unicast(100, 50, paired=2.0, batch10_mops=40))
        self.assertIn("disruptor_batch10: 0.80x **MISS**", self.target_line(text))
        self.assertEqual(status, 1, text)


if __name__ == "__main__":
    unittest.main()
