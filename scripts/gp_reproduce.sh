#!/usr/bin/env bash
# scripts/gp_reproduce.sh — reproduce the RCU measurements of Desnoyers,
# McKenney, Stern, Dagenais and Walpole, "User-Level Implementations of
# Read-Copy Update" (IEEE TPDS 23(2), 2012) on this machine through quiesce's
# wrappers: builds perf/gp/gp_harness in Release, then runs
# scripts/gp_reproduce.py, which prints progress and, last, the results folder
# (data.csv, data.json, one PNG per experiment, report.md).
#
# Profiles: default (<= ~4 min on 2 CPUs), --quick (~1 min), --full (the
# paper's sweeps; as long as they take). The main job (scripts/run_main.sh)
# runs the default profile.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: scripts/gp_reproduce.sh [--quick | --full] [--build-dir DIR] [--harness PATH] [--no-install]
                               [gp_reproduce.py options...]

Builds gp_harness (Release, in build/gp unless --build-dir/--harness) and runs
scripts/gp_reproduce.py. Options passed through include:
  --out DIR            results folder (default out/gp/<timestamp>)
  --experiments 1,3    which experiments (1 read-side scalability, 2 section
                       length, 3 update throughput, 4 grace-period latency)
  --contenders a,b     qsbr memb mb bp rwlock shared_mutex mutex per_thread_mutex
  --max-threads N      largest thread count (default: the CPUs available)
  --duration S --reps N  override the profile's per-point duration/repetitions
  --budget-min M       refuse plans estimated longer than M minutes
  --urcu-bench DIR     liburcu's built tests/benchmark programs (or GP_URCU_BENCH_DIR);
                       --urcu-runs N runs each, --urcu-timeout S kills a hung one
  --report-only DIR    redo plots and report from DIR/data.json
Run `python3 scripts/gp_reproduce.py --help` for the full list.

Exit status: 0 complete; 1 a harness point failed, or the build or the report
did; 2 bad input, refused before building or measuring (bad options, an
--urcu-bench directory with none of liburcu's programs); 3 incomplete: a run
of liburcu's programs failed, hung or printed no usable SUMMARY line (named on
the console and in report.md).

Missing Debian packages (cmake ninja-build g++ pkg-config liburcu-dev
libnuma-dev libck-dev libbenchmark-dev python3 gnuplot-nox) are installed with
apt-get as root or through sudo, unless --no-install.
EOF
}

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
build=build/gp
harness=""
install=1
pass=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    --build-dir) [[ $# -ge 2 ]] || { echo "gp_reproduce.sh: --build-dir needs a value" >&2; exit 2; }; build="$2"; shift ;;
    --harness) [[ $# -ge 2 ]] || { echo "gp_reproduce.sh: --harness needs a value" >&2; exit 2; }; harness="$2"; shift ;;
    --no-install) install=0 ;;
    *) pass+=("$1") ;;
  esac
  shift
done

# --report-only needs neither a build nor a harness.
for a in "${pass[@]}"; do
  if [[ $a == --report-only* ]]; then
    exec python3 scripts/gp_reproduce.py "${pass[@]}"
  fi
done

if [[ $install -eq 1 ]]; then
  scripts/ensure_packages.sh cmake ninja-build g++ pkg-config liburcu-dev libnuma-dev libck-dev \
    libbenchmark-dev python3 gnuplot-nox
fi
for tool in python3 cmake; do
  command -v "$tool" >/dev/null 2>&1 || { echo "gp_reproduce.sh: $tool not found" >&2; exit 2; }
done
# Bad input exits 2 here, before the build and any measurement.
python3 scripts/gp_reproduce.py --check-args "${pass[@]}" || exit $?
command -v gnuplot >/dev/null 2>&1 || echo "gp_reproduce.sh: SKIP plots: gnuplot not found (apt-get install gnuplot-nox)"

if [[ -z $harness ]]; then
  echo "==> building gp_harness (Release) in $build"
  mkdir -p "$(dirname "$build")"
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DQUIESCE_BUILD_TESTS=OFF \
    -DQUIESCE_BUILD_BENCHMARKS=ON >"$build.configure.log" 2>&1 ||
    { cat "$build.configure.log" >&2; exit 1; }
  cmake --build "$build" --target gp_harness
  harness="$build/perf/gp/gp_harness"
fi
exec python3 scripts/gp_reproduce.py --harness "$harness" "${pass[@]}"
