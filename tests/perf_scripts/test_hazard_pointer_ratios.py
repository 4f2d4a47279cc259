#!/usr/bin/env python3
"""Tests of perf/hazard_pointer_ratios.py's heavy-fence table: the fence a
scan pays (heavy_fence/alone, heavy_fence/other_thread_running, per_op in
seconds) divided by the default scan threshold the benchmark reports
(counter min_threshold), and the reason in place of a row the run skipped.
Synthetic inputs only; standard library only; run directly or by ctest
(hazard_pointer_ratios_py)."""

import unittest

from ratio_script_testing import row, run_ratio_script  # beside this file


def fence_rows(alone_ns, other_ns, threshold=4000):
    return [row("heavy_fence/alone/real_time", per_op=alone_ns * 1e-9, min_threshold=threshold),
            row("heavy_fence/other_thread_running/real_time", per_op=other_ns * 1e-9, min_threshold=threshold)]


class HeavyFenceTable(unittest.TestCase):
    def fence_line(self, text, case):
        lines = [l for l in text.splitlines() if l.startswith(f"| {case} |")]
        self.assertEqual(len(lines), 1, text)
        return lines[0]

    def test_fence_divided_by_the_threshold(self):
        _, text = run_ratio_script("hazard_pointer_ratios.py", fence_rows(1200, 20000))
        self.assertIn("## heavy fence (one per scan)", text)
        self.assertEqual(self.fence_line(text, "alone"), "| alone | 1200.00 | 4000 | 0.30 |")
        self.assertEqual(self.fence_line(text, "other_thread_running"), "| other_thread_running | 20000.00 | 4000 | 5.00 |")

    def test_the_threshold_comes_from_the_json(self):
        _, text = run_ratio_script("hazard_pointer_ratios.py", fence_rows(1000, 8000, threshold=1000))
        self.assertEqual(self.fence_line(text, "other_thread_running"), "| other_thread_running | 8000.00 | 1000 | 8.00 |")

    def test_a_skipped_row_gives_its_reason(self):
        skipped = dict(name="heavy_fence/other_thread_running/real_time",
                       run_name="heavy_fence/other_thread_running/real_time", run_type="iteration",
                       error_occurred=True, error_message="needs 2 CPUs (a spinning thread on the second)")
        _, text = run_ratio_script("hazard_pointer_ratios.py", fence_rows(1200, 20000)[:1] + [skipped])
        self.assertIn("needs 2 CPUs", self.fence_line(text, "other_thread_running"))
        self.assertEqual(self.fence_line(text, "alone"), "| alone | 1200.00 | 4000 | 0.30 |")


if __name__ == "__main__":
    unittest.main()
