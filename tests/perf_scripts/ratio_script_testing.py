"""What the tests of perf/*_ratios.py share: a Google Benchmark median row
and a run of a ratio script on synthetic JSON. Standard library only."""

import json
import os
import subprocess
import sys
import tempfile

PERF = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "perf"))


def row(name, **counters):
    """A "median" aggregate row of benchmark `name` with the given counters."""
    return dict(name=name, run_name=name, run_type="aggregate", aggregate_name="median",
                time_unit="ns", real_time=1.0, cpu_time=1.0, **counters)


def run_ratio_script(script, benchmarks):
    """Runs perf/<script> --strict on JSON holding `benchmarks`; returns
    (exit status, stdout)."""
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "b.json")
        with open(path, "w", encoding="utf-8") as f:
            json.dump({"context": {}, "benchmarks": benchmarks}, f)
        p = subprocess.run([sys.executable, os.path.join(PERF, script), path, "--strict"],
                           capture_output=True, text=True)
    return p.returncode, p.stdout
