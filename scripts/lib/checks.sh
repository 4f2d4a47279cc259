# scripts/lib/checks.sh — what the shell tests of the scripts share
# (tests/multinode/*_test.sh, tests/perf_scripts/perf_scripts_test.sh): one
# "ok   - ..." or "FAIL - ..." line per check, and the failures counted.
# Sourced; the tests that run in scripts/numa_guest.sh's guest have it
# --add'ed there (tests/multinode/*_guest.sh).
# shellcheck shell=bash

failures=0
# check DESCRIPTION COMMAND...: runs COMMAND; says ok or FAIL, counts a failure
check() {
  local what=$1
  shift
  if "$@"; then echo "ok   - $what"; else echo "FAIL - $what"; failures=$((failures + 1)); fi
}
# has TEXT REGEX / hasnt TEXT REGEX: whether a line of TEXT matches (grep -E)
has() { grep -Eq -- "$2" <<<"$1"; }
hasnt() { ! grep -Eq -- "$2" <<<"$1"; }
# json_ok FILE: FILE is JSON: parsed where there is python3 (not in the
# guest), else its shape ({ first, } last)
json_ok() {
  if command -v python3 >/dev/null 2>&1; then
    python3 -c 'import json, sys; json.load(open(sys.argv[1]))' "$1"
  else
    head -c 1 "$1" | grep -q '{' && tail -n 1 "$1" | grep -q '}'
  fi
}
