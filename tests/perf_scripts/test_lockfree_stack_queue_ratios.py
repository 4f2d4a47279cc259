#!/usr/bin/env python3
"""Tests of perf/lockfree_stack_queue_ratios.py: the one-thread (pairs)
target against the best comparable peer, information peers left out of it;
the paired rows (<kind>/paired/<workload>), on which the targets are judged
where the JSON has them (their table, a miss, a skipped paired row, the
medians' verdict column deferring to them); and the information line on a
structure in a hazard-pointer domain of its own (its rate, over the default
domain's; the reason when the run skipped it; nothing when the JSON has no
such row). Synthetic inputs only; standard
library only; run directly or by ctest (lockfree_stack_queue_ratios_py)."""

import unittest

from ratio_script_testing import row, run_ratio_script  # beside this file


def rates(kind, ours, **peers):
    """pairs rows (M operations/s) of `kind`: quiesce's and each peer's."""
    key = "quiesce_treiber" if kind == "stack" else "quiesce_ms"
    out = [row(f"{kind}/pairs/{key}", items_per_second=ours * 1e6)]
    out += [row(f"{kind}/pairs/{k}", items_per_second=v * 1e6) for k, v in peers.items()]
    return out


def pairs_line(text, kind):
    start = text.index(f"## {kind.capitalize()}:")
    lines = [l for l in text[start:].splitlines() if l.startswith("| pairs ")]
    return lines[0]


class PairsTarget(unittest.TestCase):
    def test_judged_against_the_best_comparable_peer_only(self):
        # moodycamel (information) is faster; boost (comparable) is slower.
        _, text = run_ratio_script("lockfree_stack_queue_ratios.py",
                                   rates("queue", 100, boost_lockfree=80, ck_hp_fifo=50, moodycamel_cq=300))
        line = pairs_line(text, "queue")
        self.assertIn("boost::lockfree::queue 1.25x", line)
        self.assertTrue(line.endswith("| PASS |"), line)

    def test_a_slower_structure_misses(self):
        status, text = run_ratio_script("lockfree_stack_queue_ratios.py",
                                        rates("stack", 90, boost_lockfree=100, ck_hp_stack=40, urcu_lfs=30))
        self.assertTrue(pairs_line(text, "stack").endswith("| MISS |"))
        self.assertIn("stack pairs: 0.90x boost::lockfree::stack", text)
        self.assertEqual(status, 1)  # --strict


def paired(kind, workload, vs_best, **vs):
    """A paired row: quiesce's rate over the fastest peer's, and over each peer's."""
    return row(f"{kind}/paired/{workload}", vs_best=vs_best, segments=16, **{f"vs_{k}": v for k, v in vs.items()})


def paired_line(text, kind, workload):
    start = text.index(f"Paired, what the targets are judged on: each iteration of `{kind}/paired/")
    return [l for l in text[start:].splitlines() if l.startswith(f"| {workload} ")][0]


class PairedTargets(unittest.TestCase):
    def test_the_paired_row_decides_not_the_medians(self):
        # The medians say 0.90x boost; the paired segments say 1.04x the fastest peer.
        rows = rates("stack", 90, boost_lockfree=100, ck_hp_stack=40, urcu_lfs=30) + [
            paired("stack", "pairs", 1.04, boost_lockfree=1.04, urcu_lfs=3.5, ck_hp_stack=2.1)]
        _, text = run_ratio_script("lockfree_stack_queue_ratios.py", rows)
        self.assertTrue(pairs_line(text, "stack").endswith("| boost::lockfree::stack 0.90x | paired, below |"),
                        pairs_line(text, "stack"))
        line = paired_line(text, "stack", "pairs")
        self.assertEqual(line, "| pairs (1 thread: push then pop) | 1.04x | 3.50x | 2.10x | 1.04x | PASS |")
        self.assertNotIn("stack pairs:", text)  # not among the misses

    def test_a_paired_miss_is_listed(self):
        rows = rates("queue", 120, boost_lockfree=100, ck_hp_fifo=50) + [
            paired("queue", "mixed", 0.93, boost_lockfree=1.2, ck_hp_fifo=0.95)]
        status, text = run_ratio_script("lockfree_stack_queue_ratios.py", rows)
        self.assertTrue(paired_line(text, "queue", "mixed").endswith("| 0.93x | MISS |"))
        self.assertIn("- queue mixed: 0.93x the fastest comparable peer, paired", text)
        self.assertEqual(status, 1)  # --strict

    def test_only_comparable_peers_have_columns(self):
        rows = rates("queue", 120, boost_lockfree=100) + [paired("queue", "pairs", 1.1, boost_lockfree=1.1,
                                                                 ck_hp_fifo=2.0)]
        _, text = run_ratio_script("lockfree_stack_queue_ratios.py", rows)
        self.assertIn("| workload | ms_queue / boost::lockfree::queue | ms_queue / ck_hp_fifo | "
                      "ms_queue / fastest peer of each iteration | target >= 1.0x |", text)

    def test_a_skipped_paired_row_gives_its_reason_and_misses(self):
        skipped = dict(name="stack/paired/mixed/iterations:16/real_time",
                       run_name="stack/paired/mixed/iterations:16/real_time", run_type="iteration",
                       error_occurred=True, error_message="cannot pin the helper thread to the helper CPU")
        rows = rates("stack", 120, boost_lockfree=100) + [paired("stack", "pairs", 1.2, boost_lockfree=1.2), skipped]
        status, text = run_ratio_script("lockfree_stack_queue_ratios.py", rows)
        self.assertIn("| mixed (2 threads: each push then pop) | cannot pin the helper thread", text)
        self.assertIn("- stack mixed, paired: cannot pin the helper thread to the helper CPU", text)
        self.assertEqual(status, 1)

    def test_no_paired_table_without_paired_rows(self):
        _, text = run_ratio_script("lockfree_stack_queue_ratios.py", rates("stack", 120, boost_lockfree=100))
        self.assertNotIn("Paired, what the targets", text)
        self.assertTrue(pairs_line(text, "stack").endswith("| PASS |"))


class OwnDomainLine(unittest.TestCase):
    def test_its_rate_over_the_default_domains(self):
        rows = rates("queue", 100, boost_lockfree=80) + [
            row("queue/pairs/quiesce_ms_own_domain", items_per_second=88e6)]
        _, text = run_ratio_script("lockfree_stack_queue_ratios.py", rows)
        self.assertIn("- information, not a target: quiesce::lockfree::ms_queue on a hazard-pointer domain of "
                      "its own, 1 thread (pairs): 88.00 M operations/s, 0.88x the default domain's", text)

    def test_a_skipped_row_gives_its_reason(self):
        skipped = dict(name="stack/pairs/quiesce_treiber_own_domain", run_name="stack/pairs/quiesce_treiber_own_domain",
                       run_type="iteration", error_occurred=True, error_message="values lost or duplicated")
        _, text = run_ratio_script("lockfree_stack_queue_ratios.py", rates("stack", 100, boost_lockfree=80) + [skipped])
        self.assertIn("domain of its own, 1 thread (pairs): values lost or duplicated", text)

    def test_absent_without_the_row(self):
        _, text = run_ratio_script("lockfree_stack_queue_ratios.py", rates("queue", 100, boost_lockfree=80))
        self.assertNotIn("domain of its own", text)


if __name__ == "__main__":
    unittest.main()
