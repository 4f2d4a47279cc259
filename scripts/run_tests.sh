#!/usr/bin/env bash
# scripts/run_tests.sh — builds quiesce and runs every test, the README's test
# command and what CI runs (.ci/run).
#
# Four out-of-tree builds under build/, each with -Wall -Wextra -Werror:
#   gcc    g++, RelWithDebInfo (-O2), tests + benchmarks, plus the install/consumer test
#   clang  clang++, Release (-O3), tests + benchmarks
#   tsan   clang++, ThreadSanitizer, tests
#   asan   g++, AddressSanitizer + UndefinedBehaviorSanitizer (+ LeakSanitizer), tests
# Each runs ctest; any sanitizer report fails the test that caused it.
# Logs: build/<config>/build.log and build/<config>/ctest.log.
set -euo pipefail

usage() {
  cat <<'USAGE'
Usage: scripts/run_tests.sh [--only CONFIG[,CONFIG...]] [--jobs N] [--help]

Builds and tests quiesce in the configurations gcc, clang, tsan and asan
(default: all four, in that order). Installs missing Debian packages first
(apt-get; needs root or sudo). Exits non-zero if any build or test fails.

  --only LIST   run only these configurations, e.g. --only gcc,tsan
  --jobs N      parallel build jobs (default: nproc)
USAGE
}

configs=(gcc clang tsan asan)
jobs=$(nproc 2>/dev/null || echo 2)
while [[ $# -gt 0 ]]; do
  case "$1" in
    --only) IFS=, read -r -a configs <<<"${2:?--only needs a list}"; shift ;;
    --jobs) jobs=${2:?--jobs needs a number}; shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "run_tests.sh: unknown option '$1'" >&2; usage >&2; exit 2 ;;
  esac
  shift
done

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
start=$SECONDS
step() { printf '\n==> [%4ds] %s\n' "$((SECONDS - start))" "$*"; }

step "packages"
"$root/scripts/ensure_packages.sh" cmake ninja-build g++ clang libclang-rt-14-dev pkg-config \
  liburcu-dev libgtest-dev libbenchmark-dev python3

total_pass=0
total_fail=0
failed_configs=()
for cfg in "${configs[@]}"; do
  dir="$root/build/$cfg"
  args=(-G Ninja -DQUIESCE_WERROR=ON -DQUIESCE_BUILD_TESTS=ON)
  case "$cfg" in
    gcc) args+=(-DCMAKE_CXX_COMPILER=g++ -DCMAKE_BUILD_TYPE=RelWithDebInfo -DQUIESCE_BUILD_BENCHMARKS=ON) ;;
    clang) args+=(-DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=Release -DQUIESCE_BUILD_BENCHMARKS=ON) ;;
    tsan) args+=(-DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo -DQUIESCE_SANITIZE=thread
                 -DQUIESCE_BUILD_BENCHMARKS=OFF) ;;
    asan) args+=(-DCMAKE_CXX_COMPILER=g++ -DCMAKE_BUILD_TYPE=RelWithDebInfo -DQUIESCE_SANITIZE=address
                 -DQUIESCE_BUILD_BENCHMARKS=OFF) ;;
    *) echo "run_tests.sh: unknown configuration '$cfg' (gcc, clang, tsan, asan)" >&2; exit 2 ;;
  esac
  step "$cfg: configure + build in $dir"
  mkdir -p "$dir"
  if ! { cmake -S "$root" -B "$dir" "${args[@]}" && cmake --build "$dir" -j "$jobs"; } >"$dir/build.log" 2>&1; then
    tail -n 60 "$dir/build.log"
    echo "$cfg: BUILD FAILED (full log: $dir/build.log)"
    failed_configs+=("$cfg(build)")
    total_fail=$((total_fail + 1))
    continue
  fi
  step "$cfg: ctest"
  set +e
  (cd "$dir" && ctest --output-on-failure --timeout 600 -j "$jobs") >"$dir/ctest.log" 2>&1
  rc=$?
  set -e
  grep -E "tests passed|Failed|\*\*\*|Not Run|Timeout" "$dir/ctest.log" | tail -n 40 || true
  line=$(grep -E "tests passed, [0-9]+ tests failed out of [0-9]+" "$dir/ctest.log" | tail -n1 || true)
  if [[ $line =~ ([0-9]+)\ tests\ failed\ out\ of\ ([0-9]+) ]]; then
    f=${BASH_REMATCH[1]} n=${BASH_REMATCH[2]}
    total_fail=$((total_fail + f))
    total_pass=$((total_pass + n - f))
  else
    total_fail=$((total_fail + 1))
  fi
  if [[ $rc -ne 0 ]]; then
    failed_configs+=("$cfg")
    echo "$cfg: FAILED (log: $dir/ctest.log)"
  else
    echo "$cfg: ok (log: $dir/ctest.log)"
  fi
done

step "done"
echo "configurations: ${configs[*]}; logs under $root/build/<config>/"
if [[ ${#failed_configs[@]} -ne 0 ]]; then
  echo "failed: ${failed_configs[*]}"
fi
echo "$total_pass passed, $total_fail failed"
[[ $total_fail -eq 0 && ${#failed_configs[@]} -eq 0 ]]
