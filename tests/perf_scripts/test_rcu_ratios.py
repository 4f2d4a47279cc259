#!/usr/bin/env python3
"""Tests of perf/rcu_ratios.py's read-side targets: the guard/inline ratio is
judged on the paired measurement (read/<flavour>/paired, counter
guard_vs_inline) and the shared_mutex/guard ratio on
read/<flavour>/shared_mutex_paired (counter shared_mutex_vs_guard) when the
JSON has them, whatever the per-variant medians say, and on those medians
when it has not (an older benchmark). Synthetic inputs
only; standard library only; run directly or by ctest (rcu_ratios_py)."""

import unittest

from ratio_script_testing import row, run_ratio_script  # beside this file

FLAVOURS = ["memb", "qsbr", "mb", "bp"]


def read_rows(bp_guard_ns, paired=None):
    """Every flavour's guard and inline pair at 1 ns per section, except the bp
    guard at bp_guard_ns; the bp paired row when paired is given (the other
    flavours' paired rows at 1.0)."""
    rows = [row("read/none/payload_only", per_section=0.1e-9),
            row("read/std/shared_mutex", per_section=20e-9), row("read/std/mutex", per_section=10e-9),
            row("read/memb/quiesce_guard_registered", per_section=1e-9)]
    for fl in FLAVOURS:
        rows.append(row(f"read/{fl}/quiesce_guard", per_section=(bp_guard_ns if fl == "bp" else 1.0) * 1e-9))
        rows.append(row(f"read/{fl}/liburcu_inline", per_section=1e-9))
        if paired is not None:
            rows.append(row(f"read/{fl}/paired/iterations:31/real_time",
                            guard_vs_inline=paired if fl == "bp" else 1.0, pairs=31))
    return rows


class ReadTarget(unittest.TestCase):
    def run_script(self, benchmarks):
        return run_ratio_script("rcu_ratios.py", benchmarks)

    def bp_row(self, text):
        lines = [l for l in text.splitlines() if l.startswith("| bp | ") and "<= 1.10x" in l]
        self.assertEqual(len(lines), 1, text)
        return lines[0]

    def test_paired_pass_overrides_a_medians_miss(self):
        status, text = self.run_script(read_rows(1.2, paired=1.01))
        self.assertIn("| 1.200x | 1.010x | <= 1.10x | PASS |", self.bp_row(text))
        self.assertEqual(status, 0, text)

    def test_paired_miss_is_a_miss(self):
        status, text = self.run_script(read_rows(1.0, paired=1.2))
        self.assertIn("| 1.000x | 1.200x | <= 1.10x | MISS |", self.bp_row(text))
        self.assertIn("read/bp: guard/inline 1.200x (paired)", text)
        self.assertEqual(status, 1, text)

    def test_without_the_paired_rows_the_medians_decide(self):
        status, text = self.run_script(read_rows(1.05))
        self.assertIn("| 1.050x | n/a | <= 1.10x | PASS |", self.bp_row(text))
        self.assertEqual(status, 0, text)
        status, text = self.run_script(read_rows(1.2))
        self.assertIn("| 1.200x | n/a | <= 1.10x | MISS |", self.bp_row(text))
        self.assertIn("read/bp: guard/inline 1.200x (medians)", text)
        self.assertEqual(status, 1, text)



# The lock targets (std::shared_mutex at least 5x the memb guard, 20x the qsbr
# guard) are judged on read/<flavour>/shared_mutex_paired (counter
# shared_mutex_vs_guard) when the JSON has it.
class LockTarget(unittest.TestCase):
    def run_script(self, benchmarks):
        return run_ratio_script("rcu_ratios.py", benchmarks)

    def memb_row(self, text):
        lines = [l for l in text.splitlines() if l.startswith("| memb | ") and ">= 5x" in l]
        self.assertEqual(len(lines), 1, text)
        return lines[0]

    def with_lock_paired(self, memb, qsbr=30.0):
        # read_rows: shared_mutex 20 ns, every guard 1 ns: medians 20x.
        rows = read_rows(1.0, paired=1.0)
        rows.append(row("read/memb/shared_mutex_paired/iterations:31/real_time", shared_mutex_vs_guard=memb, pairs=31))
        rows.append(row("read/qsbr/shared_mutex_paired/iterations:31/real_time", shared_mutex_vs_guard=qsbr, pairs=31))
        return rows

    def test_paired_miss_overrides_a_medians_pass(self):
        status, text = self.run_script(self.with_lock_paired(4.5))
        self.assertIn("| 20.0x | 4.5x | >= 5x | MISS |", self.memb_row(text))
        self.assertIn("read/memb: shared_mutex/guard 4.5x (paired) < 5x", text)
        self.assertEqual(status, 1, text)

    def test_paired_pass_is_a_pass(self):
        status, text = self.run_script(self.with_lock_paired(6.0))
        self.assertIn("| 20.0x | 6.0x | >= 5x | PASS |", self.memb_row(text))
        self.assertEqual(status, 0, text)

    def test_without_the_paired_rows_the_medians_decide(self):
        rows = read_rows(1.0, paired=1.0)
        rows = [r for r in rows if r["name"] != "read/std/shared_mutex"]
        rows.append(row("read/std/shared_mutex", per_section=4e-9))
        status, text = self.run_script(rows)
        self.assertIn("| 4.0x | n/a | >= 5x | MISS |", self.memb_row(text))
        self.assertIn("read/memb: shared_mutex/guard 4.0x (medians) < 5x", text)
        self.assertEqual(status, 1, text)


if __name__ == "__main__":
    unittest.main()
