#!/usr/bin/env bash
# run_model.sh — verify one Promela model of tests/model/ with spin.
set -euo pipefail

usage() {
  cat <<'USAGE'
usage: tests/model/run_model.sh MODEL [--broken[=MACRO]] [--expect-fail] [--keep DIR]

Verifies tests/model/MODEL.pml (MODEL is a name such as "seqlock", or a path
to a .pml file) with spin: `spin -a` generates the verifier pan.c, gcc
compiles it (safety mode, -DSAFETY, memory bounded by -DMEMLIM), pan explores
every interleaving and checks the model's assertions and end states
(a deadlock is an invalid end state).

  --broken       generate with -DBROKEN: the model's deliberately broken
                 variant (one ordering step removed); implies --expect-fail
  --broken=MACRO another broken variant of the model, -DMACRO (the model's
                 header comment lists them, e.g. BROKEN_WRAP)
  --expect-fail  succeed only if spin finds at least one error (and print
                 the counterexample trail); default: succeed only if spin
                 finds none and the search was complete
  --keep DIR     work in DIR (kept) instead of a temporary directory
  -h, --help     this text

Exit status: 0 the verdict is the expected one; 1 it is not (or spin failed);
2 bad usage; 77 SKIP (spin or gcc missing; install the Debian package spin).
USAGE
}

model=""
broken=0
broken_macro=BROKEN
expect_fail=0
keep=""
while (($#)); do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    --broken) broken=1; expect_fail=1 ;;
    --broken=*)
      broken=1; expect_fail=1; broken_macro=${1#--broken=}
      if [[ ! $broken_macro =~ ^[A-Z][A-Z0-9_]*$ ]]; then
        echo "run_model.sh: --broken=MACRO needs an upper-case macro name, got '$broken_macro'" >&2; exit 2
      fi ;;
    --expect-fail) expect_fail=1 ;;
    --keep) keep=${2:?--keep needs a directory}; shift ;;
    -*) echo "run_model.sh: unknown option '$1'" >&2; usage >&2; exit 2 ;;
    *)
      if [[ -n $model ]]; then echo "run_model.sh: one MODEL only ('$model', '$1')" >&2; exit 2; fi
      model=$1 ;;
  esac
  shift
done
if [[ -z $model ]]; then echo "run_model.sh: MODEL missing" >&2; usage >&2; exit 2; fi

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [[ -f $model ]]; then
  pml="$(cd "$(dirname "$model")" && pwd)/$(basename "$model")"
elif [[ -f $here/$model.pml ]]; then
  pml="$here/$model.pml"
else
  echo "run_model.sh: no model '$model' (looked for $model and $here/$model.pml)" >&2
  exit 2
fi

for tool in spin gcc; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "SKIP: $tool not found (install the Debian packages spin and gcc)"
    exit 77
  fi
done

if [[ -n $keep ]]; then
  mkdir -p "$keep"
  work="$(cd "$keep" && pwd)"
else
  work="$(mktemp -d "${TMPDIR:-/tmp}/quiesce-model.XXXXXX")"
  trap 'rm -rf "$work"' EXIT
fi

defs=()
if ((broken)); then
  defs+=("-D$broken_macro")
  if ! grep -q "$broken_macro" "$pml"; then
    echo "run_model.sh: $(basename "$pml") has no variant $broken_macro" >&2; exit 2
  fi
fi
variant="$(basename "$pml" .pml)"
if ((broken)); then variant+=" (broken variant, -D$broken_macro)"; fi
echo "model: $variant"

cd "$work"
cp "$pml" model.pml
if ! spin "${defs[@]}" -a model.pml >spin.log 2>&1; then
  cat spin.log
  echo "FAIL: spin -a could not generate the verifier"
  exit 1
fi
# Safety properties only (assertions, invalid end states = deadlocks);
# -DCOLLAPSE compresses stored states; -DMEMLIM bounds pan's memory (MiB).
if ! gcc -O2 -w -DSAFETY -DCOLLAPSE -DMEMLIM=1024 -o pan pan.c >gcc.log 2>&1; then
  cat gcc.log
  echo "FAIL: gcc could not compile pan.c"
  exit 1
fi
start=$SECONDS
# pan's exit status is not its verdict; the summary's "errors:" line is.
./pan -m1000000 >pan.log 2>&1 || true
elapsed=$((SECONDS - start))

# spin's summary: the error count, the state-space size, memory and time.
grep -E "^(pan:|State-vector|Full statespace|[[:space:]]+[0-9]+ (states|transitions)|errors:|.*depth reached|.*total actual memory|pan: elapsed)" pan.log || cat pan.log
errors="$(sed -n 's/.*errors: \([0-9][0-9]*\).*/\1/p' pan.log | head -n1)"
if [[ -z $errors ]]; then
  cat pan.log
  echo "FAIL: could not read pan's verdict"
  exit 1
fi
echo "pan ran ${elapsed}s; errors: $errors"

if ((expect_fail)); then
  if ((errors > 0)); then
    echo "counterexample (spin -t -p, last steps):"
    spin "${defs[@]}" -t -p -k model.pml.trail model.pml 2>&1 | grep -vE "^(spin: trail ends|#processes|[[:space:]]*$)" | tail -n 40 || true
    echo "PASS: the broken variant is rejected, as expected"
    exit 0
  fi
  echo "FAIL: expected spin to find an error, found none: the model proves nothing"
  exit 1
fi
if ((errors > 0)); then
  echo "counterexample (spin -t -p, last steps):"
  spin "${defs[@]}" -t -p -k model.pml.trail model.pml 2>&1 | tail -n 60 || true
  echo "FAIL: spin found a violation"
  exit 1
fi
if grep -q "max search depth too small" pan.log; then
  echo "FAIL: the search was truncated (max search depth too small)"
  exit 1
fi
echo "PASS: no violation in the full state space"
