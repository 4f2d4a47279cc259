#!/usr/bin/env python3
"""rcu_versions.py - rcu_ratios.py's tables for two liburcu versions, side by side.

Takes two Markdown reports written by perf/rcu_ratios.py (the same rcu_bench,
built and run against two liburcu versions on one machine, back to back) and
writes one report in which every table holds both runs: each row of the first
report directly followed by the same row of the second, with a first column
naming the run. Paragraphs that differ between the two are kept, each labelled.
scripts/rcu_liburcu_versions.sh runs the benchmarks and calls this.

Only the Python standard library is used.

Example:
  python3 perf/rcu_versions.py out/a.md out/b.md --labels "0.13.2" "0.15.2" \\
      --title "rcu_bench: liburcu 0.13.2 vs 0.15.2" -o perf/results/m/rcu_liburcu_versions.md
"""

import argparse
import sys


def sections(path):
    """[(heading, [block, ...])], a block being ('table', rows) or ('text', line)."""
    out = [("", [])]
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    table = None
    for line in lines + [""]:
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if table is None:
                table = []
                out[-1][1].append(("table", table))
            table.append(cells)
            continue
        table = None
        if line.startswith("## "):
            out.append((line, []))
        elif line.startswith("# "):
            continue  # the title: replaced
        elif line.strip():
            out[-1][1].append(("text", line))
    return out


def merge(a, b, labels):
    lines = []
    # Same script, same sections in the same order; a heading may carry a
    # measured figure, so sections pair by position, not by heading.
    for i, (heading, blocks) in enumerate(a):
        bheading, other = b[i] if i < len(b) else ("", [])
        if heading:
            lines += [heading if heading == bheading else f"{heading} [{labels[0]}]", ""]
            if bheading and bheading != heading:
                lines += [f"{labels[1]}: {bheading[3:]}", ""]
        other_tables = [x for kind, x in other if kind == "table"]
        other_texts = [x for kind, x in other if kind == "text"]
        own_texts = [x for kind, x in blocks if kind == "text"]
        ti = 0
        for kind, x in blocks:
            if kind == "text":
                lines += [x if x in other_texts else f"{labels[0]}: {x}", ""]
                continue
            rows = x
            brows = other_tables[ti] if ti < len(other_tables) else []
            ti += 1
            header, sep, body = rows[0], rows[1], rows[2:]
            bbody = {r[0]: r for r in brows[2:]} if brows and brows[0] == header else {}
            lines.append("| liburcu | " + " | ".join(header) + " |")
            lines.append("|---|" + "|".join(sep) + "|")
            for r in body:
                lines.append(f"| {labels[0]} | " + " | ".join(r) + " |")
                br = bbody.get(r[0])
                lines.append(f"| {labels[1]} | " + (" | ".join(br) if br else r[0] + " | not in this run") + " |")
            lines.append("")
        for x in other_texts:
            if x not in own_texts:
                lines += [f"{labels[1]}: {x}", ""]
    return lines


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("first", help="rcu_ratios.py Markdown of the first run")
    ap.add_argument("second", help="rcu_ratios.py Markdown of the second run")
    ap.add_argument("--labels", nargs=2, required=True, metavar=("FIRST", "SECOND"),
                    help="what each run is called in the tables, e.g. '0.13.2 (Debian 12)'")
    ap.add_argument("--title", default="rcu_bench against two liburcu versions")
    ap.add_argument("--note", action="append", default=[], help="a line for the header (repeatable)")
    ap.add_argument("-o", "--output", help="write the Markdown here too")
    args = ap.parse_args()
    try:
        a, b = sections(args.first), sections(args.second)
    except OSError as e:
        print(f"rcu_versions.py: {e}", file=sys.stderr)
        return 2
    lines = [f"# {args.title}", ""] + [f"- {n}" for n in args.note]
    if args.note:
        lines.append("")
    # Each run's own header facts (CPU, compiler, command, source), labelled.
    for label, doc in zip(args.labels, (a, b)):
        for kind, x in doc[0][1]:
            if kind == "text":
                lines.append(f"- {label}: {x.lstrip('- ')}")
    lines.append("")
    lines += merge(a[1:], b[1:], args.labels)
    text = "\n".join(lines).rstrip() + "\n"
    sys.stdout.write(text)
    if args.output:
        with open(args.output, "w", encoding="utf-8") as f:
            f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
