#!/usr/bin/env bash
# scripts/run_main.sh — the main job: every component's benchmarks against
# their peers, in one run with ratio tables, then the reproduction of the
# user-level RCU paper's grace-period experiments (report with plots).
#
# Steps
#   1. Debian/Ubuntu: installs whatever is missing of the packages below
#      (dpkg -s first; apt-get update + apt-get install -y only if needed;
#      needs root, or sudo).
#   2. Configures an out-of-tree Release build in build/main (tests off) and
#      builds the benchmarks and the grace-period harness.
#   3. Runs each benchmark binary (they pin themselves: the measuring thread
#      on the first CPU of the mask, helpers on the second) with
#      repetitions; console output to the terminal and out/<bench>.txt,
#      Google Benchmark JSON to out/<bench>.json, ratio tables (medians,
#      peers in the same run) to out/<area>_ratios.md:
#        rcu_bench            guards, grace periods, retire vs liburcu, std locks
#        numa_bench           node_pool vs malloc / numa_alloc_onnode, ping-pong
#        seqlock_bench        seqlock / latch vs ck_sequence, std::shared_mutex
#        hazard_pointer_bench protect / make / retire vs ck_hp, liburcu
#        lockfree_stack_queue_bench  lockfree::treiber_stack, lockfree::ms_queue vs boost, tbb, liburcu, ck
#        lockfree_hash_map_bench     hash map vs cds_lfht, rcu_hash_map, tbb, shared_mutex
#        disruptor_bench      LMAX shapes, ping-pong vs boost spsc, ck_ring, tbb, mutex
#        stm_bench            STM (TL2) bank transfers vs one std::mutex, per-account mutexes
#        counter_bench        cas/sharded counters vs fetch_add, mutex; versioned_cell vs mutex, seqlock
#        logical_clock_bench  HLC now() vs system_clock, mutex HLC; vector clock merge/compare
#        false_sharing_bench  packed vs padded layouts (its own harness)
#   4. The grace-period reproduction (scripts/gp_reproduce.py): progress per
#      point, out/gp/{data.csv,data.json,report.md,*.png}.
#
# Profiles (2-vCPU VM, build included; the total is printed at the end)
#   --quick   3 repetitions x 0.05 s, gp --quick: a few minutes, to check it works
#   default   5 repetitions x 0.1 s, gp default profile (budget: 10 minutes; the job says so if it ran over)
#   --full    7 repetitions x 0.2 s, gp --full (the paper's sweeps): as long as it takes
#
# --runs N (default 1) runs each Google Benchmark binary of step 3 (rcu_bench
# and the ones after it) N times back to back, so the benchmark part takes N
# times as long (the build, false_sharing_bench and the grace-period
# reproduction run once). Run k writes out/<bench>.run<k>.{json,txt} and
# out/<area>_ratios.run<k>.md; perf/merge_runs.py merges the N reports into
# out/<area>_ratios.md: each figure the median across runs with its (min-max)
# where the runs differ, a target PASS only if it passed in every run, lines
# only some runs have marked "(in k of N runs)". out/<bench>.{json,txt} are
# copies of run 1. Per-run files of an earlier --runs job are removed first.
#
# Outputs (out/ is git-ignored; every run overwrites it): the list printed
# at the end; out/machine.txt records CPU, kernel, compiler, liburcu and
# Google Benchmark versions.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: scripts/run_main.sh [--quick | --full] [--runs N] [--reference NAME] [--help]
                           [-- EXTRA_RCU_BENCH_FLAGS...]

The main job. Builds quiesce's benchmarks in Release (build/main), runs each
against its peers (liburcu, the std locks, Concurrency Kit, Boost.Lockfree,
TBB) and writes out/<bench>.json, out/<bench>.txt and out/<area>_ratios.md,
then reproduces the RCU paper's grace-period experiments into out/gp/
(report.md with plots). Prints the total time at the end.

Options:
  --quick    3 repetitions of 0.05 s, gp --quick (a few minutes; noisier)
  --full     7 repetitions of 0.2 s, gp --full (the paper's sweeps; long)
  (default)  5 repetitions of 0.1 s, gp default profile (<= 10 min)
  --runs N   run each benchmark binary N times back to back (default 1; the
             benchmark part takes N times as long, the build, the false-sharing
             workbench and gp run once): run k writes out/<bench>.run<k>.json,
             .txt and out/<area>_ratios.run<k>.md, and perf/merge_runs.py
             merges them into out/<area>_ratios.md (medians with (min-max)
             across runs; a target passes only if it passes in every run);
             out/<bench>.json and .txt are copies of run 1
  --reference NAME
             also copy the run's tables (out/<area>_ratios.md, machine.txt,
             gp/report.md and its plots) into perf/results/NAME/, a committed
             reference run the READMEs link to (NAME: letters, digits, '.',
             '_', '-'; say which machine, e.g. amd-epyc-2cpu)
  --help     this text
  --         pass the remaining arguments to rcu_bench
             (e.g. -- --benchmark_filter='^read/')
EOF
  # The package list is scripts/packages.sh's, so the text cannot drift from it.
  # shellcheck source=scripts/packages.sh
  source "$(dirname "${BASH_SOURCE[0]}")/packages.sh"
  printf '\nMissing Debian packages (%s) are installed with apt-get, as root or through sudo.\n' \
    "${quiesce_main_packages[*]}" | fold -s -w 78 | sed "s/ *$//"
}

quick=0
full=0
runs=1
reference=""
reference_given=0
extra=()
# check_runs VALUE: --runs takes a whole number, 1 or more.
check_runs() {
  if ! [[ $1 =~ ^[1-9][0-9]*$ ]]; then
    echo "run_main.sh: --runs wants a whole number >= 1, not '$1'" >&2
    usage >&2
    exit 2
  fi
}
while [[ $# -gt 0 ]]; do
  case "$1" in
    --quick) quick=1 ;;
    --full) full=1 ;;
    --runs)
      [[ $# -ge 2 ]] || { echo "run_main.sh: --runs needs a number" >&2; usage >&2; exit 2; }
      check_runs "$2"; runs=$2; shift ;;
    --runs=*) check_runs "${1#--runs=}"; runs=${1#--runs=} ;;
    --reference)
      [[ $# -ge 2 ]] || { echo "run_main.sh: --reference needs a name" >&2; usage >&2; exit 2; }
      reference=$2; reference_given=1; shift ;;
    --reference=*) reference=${1#--reference=}; reference_given=1 ;;
    -h | --help) usage; exit 0 ;;
    --) shift; extra=("$@"); break ;;
    *) echo "run_main.sh: unknown option '$1'" >&2; usage >&2; exit 2 ;;
  esac
  shift
done
if [[ $reference_given -eq 1 && ! $reference =~ ^[A-Za-z0-9][A-Za-z0-9._-]*$ ]]; then
  echo "run_main.sh: --reference wants a machine name of letters, digits, '.', '_' and '-', not '$reference'" >&2
  exit 2
fi
if [[ $quick -eq 1 && $full -eq 1 ]]; then
  echo "run_main.sh: --quick and --full exclude each other" >&2
  exit 2
fi

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"  # every path below is relative to the repository root
build=build/main
out=out
start=$SECONDS

step() { printf '\n==> [%3ds] %s\n' "$((SECONDS - start))" "$*"; }

# ---- 1. packages ----
# shellcheck source=scripts/packages.sh
source scripts/packages.sh
packages=("${quiesce_main_packages[@]}")
step "checking packages: ${packages[*]}"
scripts/ensure_packages.sh "${packages[@]}"

# Google Benchmark 1.8 and later (Debian 13: 1.9) want a unit on
# --benchmark_min_time ("0.1s"; a bare number still works but warns once per
# benchmark); 1.7 (Debian 12) takes only the bare number of seconds.
bm_seconds() { echo "$1"; }
if command -v dpkg >/dev/null 2>&1 &&
  dpkg --compare-versions "$(dpkg-query -W -f='${Version}' libbenchmark-dev 2>/dev/null || echo 0)" ge 1.8; then
  bm_seconds() { echo "${1}s"; }
fi

# ---- 2. build ----
step "configuring Release build in $build"
if [[ -f $build/CMakeCache.txt ]] && ! grep -q '^CMAKE_GENERATOR:INTERNAL=Ninja$' "$build/CMakeCache.txt"; then
  echo "$build was configured with another generator: starting it afresh"
  rm -rf "$build"
fi
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DQUIESCE_BUILD_TESTS=OFF -DQUIESCE_BUILD_BENCHMARKS=ON
step "building rcu_bench and the grace-period harness (the other benchmarks are built as they run)"
cmake --build "$build" --target rcu_bench
cmake --build "$build" --target gp_harness  # the grace-period reproduction, run last

# ---- 3. run ----
mkdir -p "$out"
# Per-run files of an earlier --runs job (a job with fewer runs would leave them beside its own).
rm -f "$out"/*.run[0-9]*.json "$out"/*.run[0-9]*.txt "$out"/*_ratios.run[0-9]*.md
# suffix K: what run K adds to its files' names (nothing with one run, .run<K> with several);
# of_runs K: what the step lines add.
suffix() { if [[ $runs -gt 1 ]]; then echo ".run$1"; fi; }
of_runs() { if [[ $runs -gt 1 ]]; then echo " (run $1 of $runs)"; fi; }
if [[ $quick -eq 1 ]]; then
  reps=3 min_time=0.05
elif [[ $full -eq 1 ]]; then
  reps=7 min_time=0.2
else
  reps=5 min_time=0.1
fi
# rcu_command K: rcu_bench's command line for run K, into the array bench.
rcu_command() {
  bench=(
    "$build/perf/rcu_bench"
    "--benchmark_repetitions=$reps"
    "--benchmark_min_time=$(bm_seconds "$min_time")"
    --benchmark_display_aggregates_only=true
    "--benchmark_out=$out/rcu_bench$(suffix "$1").json"
    --benchmark_out_format=json
    "${extra[@]}"
  )
}
rcu_command '<k>'
shown="${bench[*]}"  # recorded with the results (with --runs: out/rcu_bench.run<k>.json)

cpu_model="$(sed -n 's/^model name[[:space:]]*:[[:space:]]*//p' /proc/cpuinfo 2>/dev/null | head -n 1)"
compiler="$(sed -n 's/^CMAKE_CXX_COMPILER:[A-Z]*=//p' "$build/CMakeCache.txt" | head -n 1)"
compiler="$("${compiler:-c++}" --version 2>/dev/null | head -n 1 || true)"
{
  echo "cpu: ${cpu_model:-unknown}"
  echo "cpus: $(nproc --all 2>/dev/null || echo "?") online, $(nproc 2>/dev/null || echo "?") usable by this process"
  echo "kernel: $(uname -srm)"
  echo "compiler: $compiler"
  echo "liburcu: $(pkg-config --modversion liburcu-memb 2>/dev/null || echo '?')"
  echo "google benchmark: $(dpkg-query -W -f='${Version}' libbenchmark-dev 2>/dev/null || echo '?')"
  echo "command: $shown"
  if [[ $runs -gt 1 ]]; then
    echo "runs: $runs of each benchmark binary, back to back (out/<bench>.run<k>.json; ratios merged by perf/merge_runs.py)"
  fi
} >"$out/machine.txt"

for ((k = 1; k <= runs; k++)); do
  rcu_command "$k"
  step "running rcu_bench$(of_runs "$k"): $reps repetitions x ${min_time}s per benchmark (progress below, one block per benchmark)"
  "${bench[@]}" 2>&1 | tee "$out/rcu_bench$(suffix "$k").txt"
done

# ratios NAME AREA [RATIO ARGS...]: perf/AREA_ratios.py (and the arguments) on
# out/NAME.json into out/AREA_ratios.md. With several runs: on each run's
# out/NAME.run<k>.json into out/AREA_ratios.run<k>.md (not printed), then
# perf/merge_runs.py merges those into out/AREA_ratios.md (printed), and
# out/NAME.{json,txt} become copies of run 1's.
ratios() {
  local name=$1 area=$2 k
  shift 2
  if [[ $runs -eq 1 ]]; then
    python3 "perf/${area}_ratios.py" "$out/$name.json" -o "$out/${area}_ratios.md" "$@"
    return
  fi
  local reports=()
  for ((k = 1; k <= runs; k++)); do
    python3 "perf/${area}_ratios.py" "$out/$name.run$k.json" -o "$out/${area}_ratios.run$k.md" "$@" >/dev/null
    reports+=("$out/${area}_ratios.run$k.md")
  done
  cp "$out/$name.run1.json" "$out/$name.json"
  cp "$out/$name.run1.txt" "$out/$name.txt"
  python3 perf/merge_runs.py "${reports[@]}" -o "$out/${area}_ratios.md"
}

# ---- 4. ratios ----
step "ratio tables"
ratios rcu_bench rcu --command "$shown" --cpu-model "${cpu_model:-unknown}" --compiler "$compiler"

# run_bench NAME MIN_TIME WHAT INTERLEAVE [RATIO ARGS...]: builds perf/NAME,
# runs it ($reps repetitions of MIN_TIME s; it pins its own threads; --runs
# times), keeps its output in out/NAME.{json,txt} (per run:
# out/NAME.run<k>.{json,txt}), and writes out/AREA_ratios.md with
# perf/AREA_ratios.py (AREA: NAME without _bench) and the remaining arguments
# (see ratios above). INTERLEAVE=1: the repetitions of all its benchmarks
# run in one random order (--benchmark_enable_random_interleaving) instead
# of each benchmark's back to back, so that a change in the VM's state for a
# few seconds (where the host puts the two vCPUs, which sets the cost of a
# cache-line transfer between them) falls on every implementation's
# repetitions alike instead of on one implementation's; at least 7 of them
# (--quick's 3 included), so that each median is still that of the usual
# state when up to 3 of an implementation's repetitions fell in another.
# For the Disruptor benchmark (its unicast target is paired as well:
# structures/disruptor/README.md). Not for the stack/queue and STM
# benchmarks: with the other benchmarks' runs between a structure's
# repetitions, each repetition starts cold (node pools, retired lists,
# thread descriptors): in two trial runs it lowered their one-thread rows
# and did not steady their two-thread ones.
run_bench() {
  local name=$1 min=$2 what=$3 interleave=$4 k s
  shift 4
  local area=${name%_bench} order=() n=$reps
  if [[ $interleave -eq 1 ]]; then
    order=(--benchmark_enable_random_interleaving=true)
    [[ $n -lt 7 ]] && n=7
  fi
  cmake --build "$build" --target "$name"
  for ((k = 1; k <= runs; k++)); do
    s=$(suffix "$k")
    step "running $name$(of_runs "$k"): $n repetitions${order:+, interleaved} ($what)"
    "$build/perf/$name" "--benchmark_repetitions=$n" "--benchmark_min_time=$(bm_seconds "$min")" \
      "${order[@]}" --benchmark_display_aggregates_only=true "--benchmark_out=$out/$name$s.json" \
      --benchmark_out_format=json 2>&1 | tee "$out/$name$s.txt"
  done
  ratios "$name" "$area" "$@"
}
machine=(--cpu-model "${cpu_model:-unknown}" --compiler "$compiler")

# The benchmark steps, in order: NAME|MIN_TIME|WHAT|MACHINE|INTERLEAVE
# (MACHINE=1: the ratio script also gets --cpu-model/--compiler; INTERLEAVE:
# see run_bench). The list of outputs printed at the end is made from the
# same list.
lhm_min_time=0.07  # lockfree_hash_map_bench: 40 benchmarks, so shorter repetitions
[[ $quick -eq 1 ]] && lhm_min_time=0.05
[[ $full -eq 1 ]] && lhm_min_time=0.2
bench_steps=(
  "numa_bench|$min_time|node_pool vs malloc vs numa_alloc_onnode, local vs remote memory, core-to-core ping-pong|0|0"
  "seqlock_bench|$min_time|seqlock and seqcount_latch vs ck_sequence and std::shared_mutex|0|0"
  "hazard_pointer_bench|$min_time|protect, make, retire+reclaim vs ck_hp and liburcu; stall detector on/off|1|0"
  "lockfree_stack_queue_bench|$min_time|lockfree::treiber_stack and lockfree::ms_queue vs boost::lockfree, tbb, liburcu cds_lfs/cds_wfcq, ck_hp_stack/fifo, moodycamel|1|0"
  "lockfree_hash_map_bench|$lhm_min_time|lockfree::hash_map vs cds_lfht, rcu_hash_map, tbb, shared_mutex; 90/99% reads|1|0"
  "disruptor_bench|$min_time|unicast, pipeline, multicast, diamond, 3P-1C, ping-pong vs boost/moodycamel/ck/tbb/mutex|1|1"
  "stm_bench|$min_time|STM transfers and audits vs a global mutex and per-account mutexes, packed and padded|1|0"
  "counter_bench|$min_time|cas/sharded counters vs fetch_add and mutex; versioned_cell vs mutex and seqlock|1|0"
  "logical_clock_bench|$min_time|HLC now() vs system_clock and a mutex HLC; vector clock merge/compare|1|0"
)
for entry in "${bench_steps[@]}"; do
  IFS='|' read -r b_name b_min b_what b_machine b_interleave <<<"$entry"
  if [[ $b_machine -eq 1 ]]; then
    run_bench "$b_name" "$b_min" "$b_what" "$b_interleave" "${machine[@]}"
  else
    run_bench "$b_name" "$b_min" "$b_what" "$b_interleave"
  fi
done

# The false-sharing workbench (perf/README.md "False sharing and cross-socket traffic"): packed vs
# padded layouts on two pinned threads; exit 77 (one CPU) is a skip, not a failure.
# One run whatever --runs says (it has its own repetitions), like the grace-period reproduction.
cmake --build "$build" --target false_sharing_bench
step "running false_sharing_bench --quick (packed vs padded counters, SPSC indices, hazard records)"
"$build/perf/false_sharing_bench" --quick --json "$out/false_sharing_bench.json" 2>&1 |
  tee "$out/false_sharing_bench.txt" || [[ ${PIPESTATUS[0]} -eq 77 ]]

# The grace-period reproduction (Desnoyers et al., TPDS 2012; scripts/gp_reproduce.py,
# perf/gp/README.md): --quick runs a subset of each sweep. Progress per point;
# writes out/gp/{data.csv,data.json,report.md,exp*.png} and prints the folder.
step "grace-period reproduction (Desnoyers et al. 2012): read scalability, section length, updates, latency"
gp_args=(--harness "$build/perf/gp/gp_harness" --out "$out/gp")
[[ $quick -eq 1 ]] && gp_args+=(--quick)
[[ $full -eq 1 ]] && gp_args+=(--full)
python3 scripts/gp_reproduce.py "${gp_args[@]}"

step "done in $((SECONDS - start)) s. Outputs:"
outputs=(rcu_ratios.md rcu_bench.json rcu_bench.txt)
for entry in "${bench_steps[@]}"; do
  b_name=${entry%%|*}
  outputs+=("${b_name%_bench}_ratios.md" "$b_name.json" "$b_name.txt")
done
outputs+=(false_sharing_bench.json false_sharing_bench.txt machine.txt gp/report.md gp/data.csv gp/data.json)
for f in "${outputs[@]}"; do
  [[ -e $out/$f ]] && echo "  $root/$out/$f"
done
echo "  $root/$out/gp/*.png (one plot per experiment)"
if [[ $runs -gt 1 ]]; then
  echo "  $root/$out/<bench>.run<k>.{json,txt} and <area>_ratios.run<k>.md, k = 1..$runs (each run's own)"
fi
if [[ -n $reference ]]; then
  # The committed reference run: the tables and what they were measured on,
  # not the raw JSON (out/ keeps that). Files of an earlier reference run of
  # the same name that this run did not write are left as they were.
  dest=perf/results/$reference
  mkdir -p "$dest/gp"
  cp "$out"/*_ratios.md "$out/machine.txt" "$dest/"
  # The false-sharing workbench's table (its own harness: packed vs padded).
  [[ -e $out/false_sharing_bench.txt ]] && cp "$out/false_sharing_bench.txt" "$dest/"
  rm -f "$dest"/*_ratios.run[0-9]*.md
  [[ -e $out/gp/report.md ]] && cp "$out/gp/report.md" "$out"/gp/*.png "$dest/gp/" 2>/dev/null || true
  echo "reference run: $root/$dest (commit it; the READMEs link to its tables)"
fi
if [[ $runs -eq 1 && $quick -eq 0 && $full -eq 0 && $((SECONDS - start)) -gt 600 ]]; then
  echo "note: the default profile took $((SECONDS - start)) s, over its 10-minute budget (a loaded machine?)"
fi
