"""bench_json.py - reading Google Benchmark JSON for quiesce's *_ratios.py scripts.

One place for what every ratio script needs: load a benchmark's JSON, take
the median of every benchmark over its repetitions (the "median" aggregate
rows where present, otherwise the median of the repetition rows), times in
nanoseconds, errors (SkipWithError) kept with their message.
Standard library only.
"""

import json
import os
import re
import statistics
import sys

TO_NS = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}
META_KEYS = {
    "name", "run_name", "run_type", "repetitions", "repetition_index", "threads",
    "iterations", "time_unit", "aggregate_name", "aggregate_unit", "label",
    "family_index", "per_family_instance_index", "error_occurred", "error_message",
}
# Suffixes Google Benchmark appends to the registered name.
SUFFIX = re.compile(r"(/(real_time|manual_time|process_time|iterations:\d+|repeats:\d+|threads:\d+))+$")


def fail(message):
    """Prints '<script>: message' on stderr and exits with status 2."""
    print(f"{os.path.basename(sys.argv[0])}: {message}", file=sys.stderr)
    sys.exit(2)


def base_name(run_name):
    return SUFFIX.sub("", run_name)


def numeric_fields(row):
    out = {}
    for key, value in row.items():
        if key in META_KEYS or isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        out[key] = float(value)
    unit = TO_NS.get(row.get("time_unit", "ns"), 1.0)
    for key in ("real_time", "cpu_time"):
        if key in out:
            out[key] *= unit  # nanoseconds from here on
    return out


def load_medians(path):
    """Returns (context, {benchmark: {field: median}}, {benchmark: error message})."""
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError) as e:
        fail(f"cannot read {path}: {e}")
    if not isinstance(data, dict) or "benchmarks" not in data:
        fail(f"{path} is not Google Benchmark JSON (no 'benchmarks' key)")
    medians, repetitions, errors = {}, {}, {}
    for row in data["benchmarks"]:
        name = base_name(row.get("run_name", row.get("name", "")))
        if row.get("error_occurred"):
            errors[name] = row.get("error_message", "error")
            continue
        if row.get("run_type") == "aggregate":
            if row.get("aggregate_name") == "median":
                medians[name] = numeric_fields(row)
            continue
        repetitions.setdefault(name, []).append(numeric_fields(row))
    for name, rows in repetitions.items():
        if name in medians:
            continue
        keys = set().union(*(r.keys() for r in rows))
        medians[name] = {k: statistics.median(r[k] for r in rows if k in r) for k in keys}
    return data.get("context", {}), medians, errors


# ---- what every *_ratios.py script's command line and header share ----------

def add_common_args(ap, bench):
    """Adds the options every ratio script takes: the JSON, -o, --command,
    --cpu-model, --compiler and --strict."""
    ap.add_argument("json", help=f"Google Benchmark JSON file written by {bench}")
    ap.add_argument("-o", "--output", help="also write the Markdown to this file")
    ap.add_argument("--command", help="the command that produced the JSON, recorded in the header")
    ap.add_argument("--cpu-model", help="CPU model string, recorded in the header")
    ap.add_argument("--compiler", help="compiler and version, recorded in the header")
    ap.add_argument("--strict", action="store_true", help="exit with status 1 when a target is missed")


def header_lines(title, ctx, args, notes=()):
    """The report's title and the machine/run facts, as Markdown lines."""
    lines = [f"# {title}", ""]
    facts = []
    if args.cpu_model:
        facts.append(f"CPU: {args.cpu_model}")
    if "num_cpus" in ctx:
        facts.append(f"{ctx['num_cpus']} CPUs at {ctx.get('mhz_per_cpu', '?')} MHz")
    if "date" in ctx:
        facts.append(f"run {ctx['date']}")
    if "load_avg" in ctx:
        facts.append("load average " + ", ".join(f"{x:.2f}" for x in ctx["load_avg"]))
    if facts:
        lines.append("- " + "; ".join(facts))
    if args.compiler:
        lines.append(f"- compiler: {args.compiler}")
    if args.command:
        lines.append(f"- command: `{args.command}`")
    lines.append(f"- source: {args.json}; medians over repetitions.")
    for n in notes:
        lines.append(f"- {n}")
    lines.append("")
    return lines


def misses_section(misses, missed_title, met_title):
    """The report's closing section: missed_title and one '- ' line per
    missed target, or met_title alone; as Markdown lines."""
    lines = [missed_title if misses else met_title, ""]
    if misses:
        lines += [f"- {m}" for m in misses] + [""]
    return lines


def emit(lines, args):
    """Prints the report and writes it to args.output when given."""
    text = "\n".join(lines)
    print(text)
    if args.output:
        with open(args.output, "w", encoding="utf-8") as f:
            f.write(text + "\n")


def ratio(a, b):
    """a / b, or None when either is missing or b is zero."""
    if a is None or b is None or b == 0:
        return None
    return a / b


def fmt(x, digits=2):
    return "n/a" if x is None else f"{x:.{digits}f}"


def fmt_ratio(x, digits=2):
    return "n/a" if x is None else f"{x:.{digits}f}x"
