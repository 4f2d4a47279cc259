#!/usr/bin/env python3
"""merge_runs.py - merge the Markdown reports of several runs of one benchmark.

Takes the reports that one perf/<area>_ratios.py script wrote from
different runs of the same benchmark (scripts/run_main.sh --runs N writes
out/<area>_ratios.run<k>.md) and writes one report of the same shape in
which every figure holds across the runs:

  * Lines are aligned by their skeleton: the line with every number
    replaced by a placeholder, every verdict word (PASS, MISS, FAIL) by
    another and every date or time by a third. Each run's skeletons are
    aligned with difflib.SequenceMatcher against run 1's (and the lines
    that only earlier runs had), so a line that only some runs have (an
    entry of a list of missed targets, a row that one run skipped) is kept
    where it belongs and marked "(in k of N runs)": at the end of the line,
    or in the first cell of a table row.
  * Numbers: where every run shows the same text it is kept; otherwise the
    median across the runs is printed, then the range, in the format the
    runs used (decimals, thousands separators, exponent, the unit x or %):
    "1.23x (1.10-1.35x)", "45.6 (40.1-50.2)", "12,345 (11,002-13,020)";
    a range with a negative end reads "-0.50 (-0.70 to -0.30)".
  * Verdicts: PASS only if every run has the line and says PASS;
    otherwise the word the runs used for a miss, with how many runs missed:
    "MISS (1 of 3 runs)". So a target passes only if it passes in every run.
    In a line that only some runs have, the verdict says in how many it was
    given: "PASS (2 of 3 runs)" beside the other runs' line.
  * Run facts are not averaged: a line with a date or time in it (the
    header's "run <date>; load average ..."), a line with a load average,
    and the "- command:" line are run 1's, marked "(from run 1)" where the
    runs differ; "- source:" lists every run's source.
  * One line follows the title: "- runs: N (sources: ...); each figure is
    the median across runs, with (min-max) where the runs differ; a target
    passes only if it passes in every run."

The inputs must come from the same script: their first non-empty lines
(the titles) must have the same skeleton. Standard library only.
Exit status: 0; 1 with --strict when any verdict is MISS or FAIL in any
run; 2 on unreadable or mismatched input.

Example:
  python3 perf/merge_runs.py out/stm_ratios.run1.md out/stm_ratios.run2.md \\
      out/stm_ratios.run3.md -o out/stm_ratios.md
"""

import argparse
import difflib
import re
import statistics
import sys

from bench_json import fail  # perf/bench_json.py, beside this script: '<script>: message', exit 2

# One token of a line: a date/time, a number (with its unit x or %), or a
# verdict word. Numbers glued to a word ("p99", "run1", "1P-1C") are part of
# the word, not numbers.
DATE = (r"\d{4}-\d{2}-\d{2}(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?"
        r"|\d{1,2}/\d{1,2}/\d{2,4}(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?"
        r"|(?<![\w.:])\d{1,2}:\d{2}:\d{2}(?:\.\d+)?(?![\w:])")
NUMBER = (r"(?<![\w.])(?P<num>[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:[eE][-+]?\d+)?)"
          r"(?P<unit>x|%)?(?!\w|\.\d)")
VERDICT = r"(?<![\w/])(?P<verdict>PASS|MISS|FAIL)(?![\w/])"
TOKEN = re.compile(f"(?P<date>{DATE})|{NUMBER}|{VERDICT}")
PLACEHOLDER = {"date": "\x00D", "num": "\x00N", "verdict": "\x00V"}
RUNS_NOTE = ("each figure is the median across runs, with (min-max) where the runs differ; "
             "a target passes only if it passes in every run.")


class Line:
    """One line of one run, cut into literal text and tokens."""

    def __init__(self, text):
        self.text = text
        self.parts = []  # str (literal) or (kind, text, unit)
        pos = 0
        for m in TOKEN.finditer(text):
            self.parts.append(text[pos:m.start()])
            if m.group("date"):
                self.parts.append(("date", m.group(0), ""))
            elif m.group("num"):
                self.parts.append(("num", m.group("num"), m.group("unit") or ""))
            else:
                self.parts.append(("verdict", m.group("verdict"), ""))
            pos = m.end()
        self.parts.append(text[pos:])
        self.fact = fact_kind(text, any(isinstance(p, tuple) and p[0] == "date" for p in self.parts))
        if self.fact in ("source", "command"):
            # Everything after the key but the rest after a ';' (source) is the run's own.
            key = f"- {self.fact}: "
            rest = text[len(key):]
            tail = rest.split(";", 1)[1] if self.fact == "source" and ";" in rest else ""
            self.skeleton = f"{key}\x00F;{skeleton_of(Line(tail).parts) if tail else ''}"
        else:
            self.skeleton = skeleton_of(self.parts)


def fact_kind(text, has_date):
    """Whether the line states a fact of its run (not a figure to merge), and which."""
    if text.startswith("- source: "):
        return "source"
    if text.startswith("- command: "):
        return "command"
    if has_date or "load average" in text:
        return "header"
    return None


def skeleton_of(parts):
    return "".join(p if isinstance(p, str) else PLACEHOLDER[p[0]] + p[2] for p in parts)


# ---- numbers ---------------------------------------------------------------

def number_style(text):
    """(decimals, thousands separator?, significant digits if written with an exponent, explicit +?)."""
    mantissa, _, exponent = text.lower().partition("e")
    digits = mantissa.lstrip("+-").replace(",", "")
    decimals = len(digits.split(".", 1)[1]) if "." in digits else 0
    sig = (len(digits.replace(".", "").lstrip("0")) or 1) if exponent else 0
    return decimals, "," in mantissa, sig, mantissa.startswith("+")


def format_like(value, styles):
    """value written the way the runs wrote theirs (the most precise of them)."""
    decimals = max(s[0] for s in styles)
    commas = any(s[1] for s in styles)
    sig = max(s[2] for s in styles)
    plus = any(s[3] for s in styles)
    if sig:
        text = f"{value:#.{sig}g}".replace(".e", "e")  # '#': 2.0e-05 stays 2.0e-05, not 2e-05
    elif commas:
        text = f"{value:,.{decimals}f}"
    else:
        text = f"{value:.{decimals}f}"
    if plus and value > 0:
        text = "+" + text
    return text


def merge_numbers(texts, unit):
    if all(t == texts[0] for t in texts):
        return texts[0] + unit
    values = [float(t.replace(",", "")) for t in texts]
    styles = [number_style(t) for t in texts]
    med, lo, hi = (format_like(v, styles) for v in (statistics.median(values), min(values), max(values)))
    sep = " to " if lo.startswith("-") or hi.startswith("-") else "-"
    return f"{med}{unit} ({lo}{sep}{hi}{unit})"


def merge_verdicts(words, nruns):
    """The verdict of a line: bare only if all N runs have the line and agree;
    else the word a missing run used (or PASS) with its count of runs."""
    if all(w == words[0] for w in words):
        return words[0] if len(words) == nruns else f"{words[0]} ({len(words)} of {nruns} runs)"
    missed = [w for w in words if w != "PASS"]
    return f"{missed[0]} ({len(missed)} of {nruns} runs)"


# ---- lines -----------------------------------------------------------------

def mark(text, note):
    """Adds '(note)' to a line: in the first cell of a table row, else at its end;
    blank lines and table separator rows are left as they are."""
    if not text.strip() or re.match(r"^\s*\|[\s:|-]+\|\s*$", text):
        return text  # a blank line, or a table's separator row (a note there would break the table)
    m = re.match(r"^(\s*\|[^|]*?)(\s*\|.*)$", text)
    if m and text.rstrip().endswith("|"):
        return f"{m.group(1)} ({note}){m.group(2)}"
    return f"{text} ({note})"


def merge_group(members, nruns):
    """members: [(run index, Line)] of lines with one skeleton. Returns the merged text."""
    first = members[0][1]
    texts = [line.text for _, line in members]
    if first.fact == "source":
        sources = []
        for line in (ln for _, ln in members):
            src = line.text[len("- source: "):].split(";", 1)[0]
            if src not in sources:
                sources.append(src)
        rest = first.text[len("- source: "):]
        tail = ";" + rest.split(";", 1)[1] if ";" in rest else ""
        text = "- source: " + ", ".join(sources) + tail
    elif first.fact is not None:
        text = first.text
        if any(t != first.text for t in texts):
            text = mark(text, f"from run {members[0][0] + 1}")
    else:
        out = []
        for i, part in enumerate(first.parts):
            if isinstance(part, str):
                out.append(part)
                continue
            kind, _, unit = part
            column = [line.parts[i][1] for _, line in members]
            if kind == "num":
                out.append(merge_numbers(column, unit))
            elif kind == "verdict":
                out.append(merge_verdicts(column, nruns))
            else:
                out.append(column[0])
        text = "".join(out)
    if len(members) < nruns:
        text = mark(text, f"in {len(members)} of {nruns} runs")
    return text


def align(runs):
    """Groups the runs' lines: a list of [(run index, Line)], in report order.

    Run 1's lines make the first groups; every later run's lines are
    aligned by skeleton against the groups so far (difflib): matched lines
    join their group, the others become new groups placed after the lines
    they replace."""
    groups = [[(0, line)] for line in runs[0]]
    for k, lines in enumerate(runs[1:], start=1):
        matcher = difflib.SequenceMatcher(None, [g[0][1].skeleton for g in groups],
                                          [line.skeleton for line in lines], autojunk=False)
        merged = []
        for tag, i1, i2, j1, j2 in matcher.get_opcodes():
            if tag == "equal":
                for gi, lj in zip(range(i1, i2), range(j1, j2)):
                    merged.append(groups[gi] + [(k, lines[lj])])
                continue
            merged.extend(groups[i1:i2])
            merged.extend([(k, lines[j])] for j in range(j1, j2))
        groups = merged
    return groups


def title_index(lines):
    for i, line in enumerate(lines):
        if line.text.strip():
            return i
    return None


def read_run(path):
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError) as e:
        fail(f"cannot read {path}: {e}")
    return [Line(t) for t in text.splitlines()]


def merge(paths):
    """Returns (merged Markdown text, whether any run has a MISS or FAIL verdict)."""
    runs = [read_run(p) for p in paths]
    titles = []
    for path, lines in zip(paths, runs):
        t = title_index(lines)
        if t is None:
            fail(f"{path} is empty: not a ratio report")
        titles.append(lines[t])
    for path, title in zip(paths[1:], titles[1:]):
        if title.skeleton != titles[0].skeleton:
            fail(f"{paths[0]} and {path} are not reports of the same script: "
                 f"titles '{titles[0].text}' and '{title.text}'")
    missed = any(isinstance(p, tuple) and p[0] == "verdict" and p[1] != "PASS"
                 for lines in runs for line in lines for p in line.parts)

    nruns = len(runs)
    out = [merge_group(g, nruns) for g in align(runs)]
    t = next(i for i, text in enumerate(out) if text.strip())
    runs_line = f"- runs: {nruns} (sources: {', '.join(paths)}); {RUNS_NOTE}"
    at = t + 1
    if at < len(out) and not out[at].strip():
        at += 1  # after the blank line that follows the title
    insert = [runs_line]
    if at < len(out) and not out[at].startswith("- "):
        insert.append("")  # the line after is no list item: end the list
    out[at:at] = insert
    return "\n".join(out) + "\n", missed


def main():
    ap = argparse.ArgumentParser(
        description="Merge the Markdown reports one perf/<area>_ratios.py script wrote from several runs "
                    "of one benchmark: medians with (min-max) ranges, a verdict PASS only if every run "
                    "passed, lines only some runs have marked '(in k of N runs)'.",
        epilog="Rules in the module docstring (perf/merge_runs.py). Example: python3 perf/merge_runs.py "
               "out/stm_ratios.run1.md out/stm_ratios.run2.md out/stm_ratios.run3.md -o out/stm_ratios.md")
    ap.add_argument("reports", nargs="+", metavar="RUN.md", help="the reports of the runs, run 1 first")
    ap.add_argument("-o", "--output", help="also write the merged Markdown to this file")
    ap.add_argument("--strict", action="store_true",
                    help="exit with status 1 when any verdict is MISS or FAIL in any run")
    args = ap.parse_args()
    text, missed = merge(args.reports)
    sys.stdout.write(text)
    if args.output:
        try:
            with open(args.output, "w", encoding="utf-8") as f:
                f.write(text)
        except OSError as e:
            fail(f"cannot write {args.output}: {e}")
    return 1 if (args.strict and missed) else 0


if __name__ == "__main__":
    sys.exit(main())
