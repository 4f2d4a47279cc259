#!/usr/bin/env python3
"""Tests of perf/lockfree_stack_queue_ratios.py: the one-thread (pairs)
target against the best comparable peer, information peers left out of it,
and the information line on a structure in a hazard-pointer domain of its
own (its rate, over the default domain's; the reason when the run skipped
it; nothing when the JSON has no such row). Synthetic inputs only; standard
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
