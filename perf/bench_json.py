"""bench_json.py - reading Google Benchmark JSON for quiesce's *_ratios.py scripts.

One place for what every ratio script needs: load a benchmark's JSON, take
the median of every benchmark over its repetitions (the "median" aggregate
rows where present, otherwise the median of the repetition rows), times in
nanoseconds, errors (SkipWithError) kept with their message; then the
command line, the report's header and closing section, its output and the
exit status the scripts share (read_input ... finish, or tables_main for
the whole of a main()). Standard library only.
"""

import argparse
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


def summary_help(doc):
    """argparse.ArgumentParser options for a --help whose description is the
    first line of the script's docstring `doc`, as written."""
    return dict(description=doc.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter)


def tables_help(bench, repetitions):
    """argparse.ArgumentParser options for a --help that describes the tables
    made from perf/<bench>'s JSON and how to produce that JSON with
    `repetitions` repetitions."""
    return dict(
        description=f"Markdown ratio tables from perf/{bench}'s Google Benchmark JSON "
                    "(medians over repetitions).",
        epilog=f"Produce the input with: {bench} --benchmark_repetitions={repetitions} "
               f"--benchmark_out=out/{bench}.json --benchmark_out_format=json")


def read_input(bench, **parser_options):
    """A ratio script's start: parses its command line (the options of
    add_common_args for `bench`; parser_options go to argparse.ArgumentParser)
    and loads the JSON it names (exit status 2 when it cannot).
    Returns (args, context, medians, errors), the last three as load_medians."""
    ap = argparse.ArgumentParser(**parser_options)
    add_common_args(ap, bench)
    args = ap.parse_args()
    ctx, medians, errors = load_medians(args.json)
    return args, ctx, medians, errors


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


def finish(lines, args, misses=()):
    """A ratio script's end: emits the report and returns the script's exit
    status, 1 when --strict was given and a target was missed (misses is not
    empty), else 0."""
    emit(lines, args)
    return 1 if (args.strict and misses) else 0


def why_missing(errors, name):
    """What a table shows for benchmark `name` that has no figure: the error
    it was skipped with (errors as load_medians returns them), or 'not run'."""
    return f"skipped: {errors[name]}" if name in errors else "not run"


class Results:
    """One run's medians and errors (as load_medians returns them) and the
    targets a report finds missed, for the scripts whose tables take them
    together."""

    def __init__(self, medians, errors):
        self.m = medians
        self.errors = errors
        self.misses = []

    def get(self, name, field):
        """The median of `field` of benchmark `name`, or None."""
        return self.m.get(name, {}).get(field)

    def why_missing(self, name):
        return why_missing(self.errors, name)


def tables_main(bench, notes, tables, target_titles, results=Results, **parser_options):
    """The whole main() of a ratio script whose tables are functions
    table(r, lines), r = results(medians, errors) (a Results), each appending
    its Markdown to lines and the targets it finds missed to r.misses.
    Reads the input (read_input, with parser_options), writes the header
    "<bench> ratios" with notes (header_lines), each table in turn, then the
    closing section (misses_section with target_titles: the missed title and
    the met title), emits the report and returns the exit status (finish)."""
    args, ctx, medians, errors = read_input(bench, **parser_options)
    r = results(medians, errors)
    lines = header_lines(f"{bench} ratios", ctx, args, notes)
    for table in tables:
        table(r, lines)
    lines += misses_section(r.misses, *target_titles)
    return finish(lines, args, r.misses)


def ratio(a, b):
    """a / b, or None when either is missing or b is zero."""
    if a is None or b is None or b == 0:
        return None
    return a / b


def fmt(x, digits=2):
    return "n/a" if x is None else f"{x:.{digits}f}"


def fmt_ratio(x, digits=2):
    return "n/a" if x is None else f"{x:.{digits}f}x"
