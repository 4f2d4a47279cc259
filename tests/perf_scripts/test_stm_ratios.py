#!/usr/bin/env python3
"""Tests of perf/stm_ratios.py's two-thread targets: each is judged on the
paired measurement (transfer_2t_paired/N, counter stm_vs_account_mutex) when
the JSON has it, whatever the per-implementation medians say, and on those
medians when it has not (an older benchmark). Synthetic inputs only;
standard library only; run directly or by ctest (stm_ratios_py)."""

import unittest

from ratio_script_testing import row, run_ratio_script  # beside this file


def transfers(stm_mops, mutex_mops, paired=None):
    """Both two-thread rows with the STM at stm_mops and the per-account
    mutexes at mutex_mops (M transfers/s); both paired rows at `paired`
    when it is given."""
    rows = []
    for n in (16, 1024):
        rows.append(row(f"transfer_2t/{n}/stm/real_time/threads:2", items_per_second=stm_mops * 1e6))
        rows.append(row(f"transfer_2t/{n}/account_mutex/real_time/threads:2", items_per_second=mutex_mops * 1e6))
        if paired is not None:
            rows.append(row(f"transfer_2t_paired/{n}/iterations:7/real_time", stm_vs_account_mutex=paired, pairs=7))
    return rows


class TwoThreadTargets(unittest.TestCase):
    def target_line(self, text, n):
        lines = [l for l in text.splitlines()
                 if l.startswith("- target transfers, 2 threads, " + str(n)) and l.endswith("**")]
        self.assertEqual(len(lines), 1, text)
        return lines[0]

    def test_paired_pass_overrides_a_medians_miss(self):
        status, text = run_ratio_script("stm_ratios.py", transfers(9, 10, paired=1.05))
        line = self.target_line(text, 1024)
        self.assertIn(">= 1.0x, paired: 1.05x (per-implementation medians in the table: 0.90x) **PASS**", line)
        self.assertEqual(status, 0, text)

    def test_paired_miss_is_a_miss(self):
        status, text = run_ratio_script("stm_ratios.py", transfers(12, 10, paired=0.9))
        self.assertIn(">= 1.0x, paired: 0.90x (per-implementation medians in the table: 1.20x) **MISS**",
                      self.target_line(text, 1024))
        self.assertIn(">= 0.8x, paired: 0.90x", self.target_line(text, 16))
        self.assertEqual(status, 1, text)

    def test_without_the_paired_rows_the_medians_decide(self):
        status, text = run_ratio_script("stm_ratios.py", transfers(11, 10))
        self.assertIn(">= 1.0x, medians: 1.10x **PASS**", self.target_line(text, 1024))
        self.assertEqual(status, 0, text)
        status, text = run_ratio_script("stm_ratios.py", transfers(9, 10))
        self.assertIn(">= 1.0x, medians: 0.90x **MISS**", self.target_line(text, 1024))
        self.assertEqual(status, 1, text)


class WhereTheRetriesComeFrom(unittest.TestCase):
    def test_counts_per_thousand_commits_and_the_exceptions_share(self):
        # 20 M transfers/s over both threads: 100 ns of each thread's time
        # per transfer; one abort costs 1,000 ns; 5 aborts in a read per
        # 1,000 commits: 5 ns of each 100, 5.0%.
        rows = transfers(9, 10, paired=0.9) + [
            row("transfer_2t_aborts/16/real_time/threads:2", items_per_second=20e6,
                aborted_in_read=0.005, retried_at_commit=0.05),
            row("transfer_2t_aborts/1024/real_time/threads:2", items_per_second=50e6,
                aborted_in_read=0.0, retried_at_commit=0.002),
            row("abort_cost_1t", items_per_second=1e6),
        ]
        status, text = run_ratio_script("stm_ratios.py", rows)
        self.assertIn("| 16 | 5.00 | 50.0 | 5.0% |", text)
        self.assertIn("| 1024 | 0.00 | 2.0 | 0.0% |", text)
        self.assertIn("(1000.00 ns, abort_cost_1t", text)
        self.assertEqual(status, 1, text)  # the targets still decide the status

    def test_without_the_abort_cost_the_share_is_not_guessed(self):
        rows = transfers(9, 10, paired=0.9) + [
            row("transfer_2t_aborts/16/real_time/threads:2", items_per_second=20e6,
                aborted_in_read=0.005, retried_at_commit=0.05)]
        _, text = run_ratio_script("stm_ratios.py", rows)
        self.assertIn("| 16 | 5.00 | 50.0 | - |", text)
        self.assertIn("(abort_cost_1t: not in this JSON)", text)

    def test_without_the_rows_there_is_no_section(self):
        _, text = run_ratio_script("stm_ratios.py", transfers(9, 10, paired=0.9))
        self.assertNotIn("Where the STM's two-thread retries come from", text)


if __name__ == "__main__":
    unittest.main()
