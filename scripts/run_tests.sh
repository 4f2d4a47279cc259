#!/usr/bin/env bash
# scripts/run_tests.sh — builds quiesce and runs every test, the README's test
# command and what CI runs (.ci/run).
#
# Four out-of-tree builds under build/, each with -Wall -Wextra -Werror:
#   gcc    g++, RelWithDebInfo (-O2), tests + benchmarks, plus the install/consumer test
#   clang  clang++, Release (-O3), tests + benchmarks
#   tsan   clang++, ThreadSanitizer, tests
#   asan   g++, Debug (checks and debug-only reports on: QUIESCE_CHECKS, no NDEBUG),
#          AddressSanitizer + UndefinedBehaviorSanitizer (+ LeakSanitizer), tests
# Each runs ctest; any sanitizer report fails the test that caused it.
# Then a fifth step, multinode, runs the ctest label `multinode` of the gcc
# build: statically linked NUMA tests inside 2- and 4-node qemu guests
# (scripts/numa_guest.sh, tests/multinode/), one guest at a time. The other
# configurations leave that label out (ctest -LE multinode).
# Then a sixth step, trixie, does the gcc configuration again on Debian 13
# (g++ 14, liburcu 0.15, Google Benchmark 1.9, GoogleTest 1.16) inside a
# minbase chroot made with debootstrap and cached in build/trixie-root
# (scripts/trixie_chroot.sh): build with -Werror, ctest -LE multinode, then
# the .deb (CPack) installed into a clean trixie chroot with apt-get and the
# consumer project built against it. Needs root or sudo, and the network the
# first time; it fails, never skips, if the archive cannot be reached.
# Logs: build/<config>/build.log and build/<config>/ctest.log; the multinode
# step's are build/gcc/build-multinode.log and build/gcc/ctest-multinode.log;
# the trixie step's are under build/trixie/, plus build/trixie/deb.log.
set -euo pipefail

usage() {
  cat <<'USAGE'
Usage: scripts/run_tests.sh [--only CONFIG[,CONFIG...]] [--jobs N] [--help]

Builds and tests quiesce in the configurations gcc, clang, tsan and asan,
then runs the multinode tests (qemu guests with 2 and 4 NUMA nodes) of the
gcc build, then the gcc configuration and the .deb package on Debian 13 in a
debootstrap chroot (default: all six steps, in that order). Works on Debian
12 and 13. Installs missing Debian packages first (apt-get; needs root or
sudo). Exits non-zero if any build or test fails; a multinode test that
cannot run here is reported as skipped.

  --only LIST   run only these steps, e.g. --only gcc,tsan, --only multinode
                or --only trixie
  --jobs N      parallel build jobs (default: nproc)
USAGE
}

configs=(gcc clang tsan asan multinode trixie)
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
# The list is scripts/packages.sh's. Package names that follow the release
# are looked up, not written there: the clang runtime (sanitizers) is
# libclang-rt-<major>-dev for the installed clang's major version (14 on
# Debian 12, 19 on Debian 13); numa_guest.sh fetches the kernel that the
# release's linux-image-amd64 depends on.
# shellcheck source=scripts/packages.sh
source "$root/scripts/packages.sh"
packages=("${quiesce_test_packages[@]}")
"$root/scripts/ensure_packages.sh" "${packages[@]}"
clang_major=$(clang --version | sed -n 's/.*clang version \([0-9][0-9]*\)\..*/\1/p' | head -n1)
[[ -n $clang_major ]] || { echo "run_tests.sh: cannot read clang's major version from 'clang --version'" >&2; exit 1; }
"$root/scripts/ensure_packages.sh" "libclang-rt-$clang_major-dev"

total_pass=0
total_fail=0
failed_configs=()
for cfg in "${configs[@]}"; do
  # multinode: the gcc build again (a no-op if gcc just ran), its guest tests only.
  build_cfg=$cfg tag='' ctest_jobs=$jobs
  label=(-LE multinode)
  # clang: the labels `script` (tests of the scripts and the Python tools,
  # whose subject does not change with the compiler) and `model` (spin) ran
  # in the gcc configuration (the sanitizer builds run the cheap Python ones
  # and register no models).
  [[ $cfg == clang ]] && label=(-LE "multinode|script|model")
  if [[ $cfg == multinode ]]; then
    # Verbose: the guests' consoles (test results, SKIP reasons) go to the log.
    build_cfg=gcc tag=-multinode ctest_jobs=1
    label=(-L multinode --verbose)
  fi
  if [[ $cfg == trixie ]]; then
    # Debian 13 in a chroot; the chroot installs its own packages
    # (scripts/packages.sh's quiesce_chroot_test_packages).
    step "trixie: gcc configuration + .deb in a Debian 13 chroot (scripts/trixie_chroot.sh)"
    t_trixie=$SECONDS
    set +e
    QUIESCE_TRIXIE_PACKAGES="${quiesce_chroot_test_packages[*]}" \
      "$root/scripts/trixie_chroot.sh" ci --jobs "$jobs"
    rc=$?
    set -e
    dir="$root/build/trixie"
    grep -E "tests passed|Failed|\*\*\*|Not Run|Timeout" "$dir/ctest.log" 2>/dev/null | tail -n 40 || true
    line=$(grep -E "tests passed, [0-9]+ tests failed out of [0-9]+" "$dir/ctest.log" 2>/dev/null | tail -n1 || true)
    if [[ $line =~ ([0-9]+)\ tests\ failed\ out\ of\ ([0-9]+) ]]; then
      total_fail=$((total_fail + BASH_REMATCH[1]))
      total_pass=$((total_pass + BASH_REMATCH[2] - BASH_REMATCH[1]))
    else
      total_fail=$((total_fail + 1))  # no ctest result: the chroot or the build failed
    fi
    if grep -qx "deb consumer: ok" "$dir/deb.log" 2>/dev/null; then  # the .deb test counts as one
      total_pass=$((total_pass + 1))
    else
      total_fail=$((total_fail + 1))
    fi
    if [[ $rc -ne 0 ]]; then
      failed_configs+=("trixie")
      echo "trixie: FAILED (logs: $dir/{build,ctest,deb}.log)"
    else
      echo "trixie: ok in $((SECONDS - t_trixie)) s (logs: $dir/{build,ctest,deb}.log)"
    fi
    continue
  fi
  dir="$root/build/$build_cfg"
  args=(-G Ninja -DQUIESCE_WERROR=ON -DQUIESCE_BUILD_TESTS=ON)
  case "$build_cfg" in
    gcc) args+=(-DCMAKE_CXX_COMPILER=g++ -DCMAKE_BUILD_TYPE=RelWithDebInfo -DQUIESCE_BUILD_BENCHMARKS=ON) ;;
    clang) args+=(-DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=Release -DQUIESCE_BUILD_BENCHMARKS=ON) ;;
    tsan) args+=(-DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo -DQUIESCE_SANITIZE=thread
                 -DQUIESCE_BUILD_BENCHMARKS=OFF) ;;
    asan) args+=(-DCMAKE_CXX_COMPILER=g++ -DCMAKE_BUILD_TYPE=Debug -DQUIESCE_SANITIZE=address
                 -DQUIESCE_BUILD_BENCHMARKS=OFF) ;;
    *) echo "run_tests.sh: unknown configuration '$cfg' (gcc, clang, tsan, asan, multinode, trixie)" >&2; exit 2 ;;
  esac
  build_log="$dir/build$tag.log" ctest_log="$dir/ctest$tag.log"
  step "$cfg: configure + build in $dir"
  mkdir -p "$dir"
  if ! { cmake -S "$root" -B "$dir" "${args[@]}" && cmake --build "$dir" -j "$jobs"; } >"$build_log" 2>&1; then
    tail -n 60 "$build_log"
    echo "$cfg: BUILD FAILED (full log: $build_log)"
    failed_configs+=("$cfg(build)")
    total_fail=$((total_fail + 1))
    continue
  fi
  step "$cfg: ctest ${label[*]}"
  set +e
  (cd "$dir" && ctest --output-on-failure --timeout 600 -j "$ctest_jobs" "${label[@]}") >"$ctest_log" 2>&1
  rc=$?
  set -e
  grep -E "tests passed|Failed|\*\*\*|Not Run|Timeout" "$ctest_log" | tail -n 40 || true
  if [[ $cfg == multinode ]]; then
    grep -hoE "SKIP: .*" "$ctest_log" | sort -u || true
  fi
  line=$(grep -E "tests passed, [0-9]+ tests failed out of [0-9]+" "$ctest_log" | tail -n1 || true)
  if [[ $line =~ ([0-9]+)\ tests\ failed\ out\ of\ ([0-9]+) ]]; then
    f=${BASH_REMATCH[1]} n=${BASH_REMATCH[2]}
    total_fail=$((total_fail + f))
    total_pass=$((total_pass + n - f))
  else
    total_fail=$((total_fail + 1))
  fi
  if [[ $rc -ne 0 ]]; then
    # What failed, in a few lines (CI shows only the tail of this output):
    # GoogleTest's failed cases and the script tests' "FAIL - " checks.
    grep -E "^\[  FAILED  \]|FAIL - |^[^ ]+:[0-9]+: Failure" "$ctest_log" | sort -u | head -n 30 || true
    failed_configs+=("$cfg")
    echo "$cfg: FAILED (log: $ctest_log)"
  else
    echo "$cfg: ok (log: $ctest_log)"
  fi
done

step "done"
echo "configurations: ${configs[*]}; logs under $root/build/<config>/"
if [[ ${#failed_configs[@]} -ne 0 ]]; then
  echo "failed: ${failed_configs[*]}"
fi
echo "$total_pass passed, $total_fail failed"
[[ $total_fail -eq 0 && ${#failed_configs[@]} -eq 0 ]]
