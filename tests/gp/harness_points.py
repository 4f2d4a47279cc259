#!/usr/bin/env python3
"""Runs gp_harness over one short point of every experiment x contender x
reclamation/retire path and fails if any run fails. The harness checks every
payload its readers see (a freed or torn one exits 1), so under ThreadSanitizer
and ASan+UBSan (ctest runs this in every configuration) this is a race and
use-after-free test of quiesce's wrappers as the harness uses them.

  harness_points.py HARNESS"""

import concurrent.futures
import subprocess
import sys

RCU = ["qsbr", "memb", "mb", "bp"]
LOCKS = ["rwlock", "shared_mutex", "mutex", "per_thread_mutex"]
SHORT = ["--duration", "0.01", "--reps", "1"]


def points():
    for c in RCU + LOCKS:
        yield ["--experiment", "read", "--contender", c, "--readers", "2", "--writers", "1",
               "--section-cycles", "100"] + SHORT
        yield ["--experiment", "update", "--contender", c, "--readers", "1", "--writers", "2"] + SHORT
    for c in RCU:
        yield ["--experiment", "update", "--contender", c, "--readers", "1", "--writers", "2",
               "--reclaim", "batch", "--batch", "16"] + SHORT
        yield ["--experiment", "update", "--contender", c, "--readers", "1", "--writers", "1",
               "--reclaim", "retire"] + SHORT
        yield ["--experiment", "gp-latency", "--contender", c, "--readers", "2", "--samples", "20", "--reps", "1"]
        for p in (("call_rcu", "rcu_retire", "obj_retire") if c in ("memb", "qsbr") else ("obj_retire",)):
            yield ["--experiment", "retire-latency", "--contender", c, "--path", p, "--readers", "1",
                   "--samples", "50", "--gap-us", "5", "--reps", "1"]


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    def run(args):
        return args, subprocess.run([sys.argv[1]] + args, capture_output=True, text=True, timeout=120)

    failed = 0
    todo = list(points())
    # Two at a time: correctness, not speed, is checked here.
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as ex:
        for args, p in ex.map(run, todo):
            ok = p.returncode == 0 and p.stdout.startswith("{") and '"metrics"' in p.stdout
            if not ok:
                failed += 1
                print("FAIL (exit %d): %s\n%s" % (p.returncode, " ".join(args), p.stderr[-3000:]))
    print("%d of %d points passed" % (len(todo) - failed, len(todo)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
