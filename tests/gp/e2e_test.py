#!/usr/bin/env python3
"""End-to-end test of the grace-period reproduction: runs scripts/gp_reproduce.py
with the 'smoke' profile (every experiment, a few 10 ms points; ~2-10 s on 2
CPUs) against the real gp_harness, then checks that data.csv, data.json, the
four PNG plots and report.md exist and agree with each other. A stand-in for
liburcu's test_urcu (in a folder whose path has a space) runs beside it: the
harness measures the same readers and writers, so the comparison has both sides.

  e2e_test.py --harness build/.../perf/gp/gp_harness
Exit 0 pass, 1 fail, 77 skip (gnuplot missing: the test needs it to check plots)."""

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "perf", "gp"))
import gp_report as R  # noqa: E402


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--harness", required=True)
    a = ap.parse_args()
    if shutil.which("gnuplot") is None:
        print("SKIP: gnuplot not installed (Debian: gnuplot-nox); the end-to-end test checks the plots")
        return 77
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "results")
        bench = os.path.join(tmp, "liburcu bench")
        os.mkdir(bench)
        with open(os.path.join(bench, "test_urcu"), "w") as f:  # argv: readers writers seconds -a cpu ...
            f.write('#!/bin/sh\necho "SUMMARY $0 testdur $3 nr_readers $1 rdur 0 wdur 0 nr_writers $2 wdelay 0 '
                    'nr_reads 300000000 nr_writes $(( $2 * 50000 )) nr_ops 1"\n')
        os.chmod(os.path.join(bench, "test_urcu"), 0o755)
        p = subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "gp_reproduce.py"), "--profile", "smoke",
                            "--harness", a.harness, "--out", out, "--urcu-bench", bench],
                           capture_output=True, text=True, timeout=110)
        print(p.stdout[-3000:])
        print(p.stderr[-3000:], file=sys.stderr)
        check(p.returncode == 0, "gp_reproduce.py exited %d" % p.returncode)
        lines = p.stdout.strip().splitlines()
        check(lines and lines[-1] == os.path.abspath(out), "the last line is not the results folder")
        check(any(ln.startswith("[exp 4/4]") and "point" in ln and "left" in ln for ln in lines),
              "no progress lines")

        rows = R.read_csv(os.path.join(out, "data.csv"))
        check(sorted({r["exp_id"] for r in rows}) == [0, 1, 2, 3, 4], "data.csv lacks an experiment or liburcu's rows")
        ncpu = R.load_json(os.path.join(out, "data.json"))["urcu_bench"][0]["readers"]
        lib = [r for r in rows if r["exp_id"] == 0]
        check(sorted((r["program"], r["writers"], r["metric"]) for r in lib) ==
              [("test_urcu", 0, "reads_per_s"), ("test_urcu", 1, "reads_per_s"), ("test_urcu", 1, "updates_per_s")],
              "liburcu's rows in data.csv: %s" % lib)
        for r in lib:  # the harness measured the same threads (the smoke profile alone has 1 reader only)
            check(R.one(rows, exp_id=1, contender="memb", readers=ncpu, writers=r["writers"], metric=r["metric"]),
                  "no harness row beside %s" % r)
        for r in rows:
            check(math.isfinite(r["median"]) and r["min"] <= r["median"] <= r["max"],
                  "bad statistics in row %s" % r)
        zero = [r for r in rows if r["metric"] == "reads_per_s" and not r["median"] > 0]
        check(not zero, "a reader count of 0: %s" % zero)
        zero = [r for r in rows if (r["metric"].startswith("sync_") or r["metric"].startswith("retire_")) and not r["median"] > 0]
        check(not zero, "a zero latency: %s" % zero)

        with open(os.path.join(out, "data.json")) as f:
            data = json.load(f)
        check(data["machine"].get("cpus", 0) >= 1 and data["machine"].get("cpu_model") is not None, "no machine")
        json_medians = sorted(m["median"] for pt in data["points"] for k, m in pt["metrics"].items()
                              if k != "errors" and not (k == "updates_per_s" and pt["writers"] == 0)
                              and not (k == "reads_per_s" and pt["readers"] == 0))
        csv_medians = sorted(r["median"] for r in rows if r["program"] == "gp_harness")
        check(len(json_medians) == len(csv_medians) and all(
            math.isclose(x, y, rel_tol=1e-5) for x, y in zip(json_medians, csv_medians)),
            "data.json and data.csv disagree")

        pngs = ["exp1_read_scalability.png", "exp2_section_length.png", "exp3_update_throughput.png",
                "exp4_gp_latency.png"]
        for png in pngs:
            check(R.png_ok(os.path.join(out, png)), "%s is not a valid PNG" % png)

        with open(os.path.join(out, "report.md")) as f:
            text = f.read()
        for png in pngs:
            check("](%s)" % png in text, "report does not embed " + png)
        expected = {(R.fmt_metric(r["metric"], r["median"]), R.fmt_metric(r["metric"], r["min"]),
                     R.fmt_metric(r["metric"], r["max"])) for r in rows}
        cells = set(R.report_numbers(text))
        check(cells, "no numbers in the report")
        check(cells <= expected, "report numbers not in data.csv: %s" % sorted(cells - expected)[:5])
        check(expected <= cells, "data.csv medians missing from the report: %s" % sorted(expected - cells)[:5])
        for needle in ("## Machine", "membarrier", "liburcu", "## 5. The paper's observations",
                       "## liburcu's own benchmark programs", "| test_urcu | memb | %d | 1 | updates/s |" % ncpu,
                       "`liburcu_bench.log`"):
            check(needle in text, "report lacks %r" % needle)
    print("PASS: %d rows, %d report cells, 4 plots" % (len(rows), len(cells)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
