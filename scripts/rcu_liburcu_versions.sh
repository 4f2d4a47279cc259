#!/usr/bin/env bash
# scripts/rcu_liburcu_versions.sh — perf/rcu_bench against two liburcu versions
# on one machine, back to back: this host's liburcu (Debian 12: 0.13.2) and
# Debian 13's (0.15.2) in the chroot of scripts/trixie_chroot.sh. Each is a
# Release build of rcu_bench (build/rcu-versions-host, build/rcu-versions-trixie),
# run with the main job's flags (scripts/run_main.sh: 5 repetitions x 0.1 s;
# --quick 3 x 0.05 s), its JSON turned into ratio tables by perf/rcu_ratios.py,
# and the two reports merged row by row by perf/rcu_versions.py into
#   perf/results/<machine>/rcu_liburcu_versions.md
# (with each run's rcu_ratios.md beside it), which urcu_wrappers/README.md links
# to. <machine>: the CPU model and CPU count, or --machine NAME. The compiler
# differs too (the release's g++: 12 on Debian 12, 14 on Debian 13); the
# report's header says which. Needs root or sudo for the chroot.
set -euo pipefail
usage() { sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; echo "Usage: $0 [--quick] [--machine NAME]"; }
me=rcu_liburcu_versions.sh
# shellcheck source=lib/cli.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/cli.sh"
quick=0 machine=
script_option() {  # the options of this script (scripts/lib/cli.sh: and -h, --help)
  case "$1" in
    --quick) quick=1 ;;
    --machine) machine=${2:?--machine needs a name}; cli_took=2 ;;
    *) return 1 ;;
  esac
}
cli_parse "$@"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
reps=5 min_time=0.1
[[ $quick -eq 1 ]] && reps=3 min_time=0.05
cpu_model="$(sed -n 's/^model name[[:space:]]*:[[:space:]]*//p' /proc/cpuinfo | head -n 1)"
if [[ -z $machine ]]; then
  machine=$(echo "${cpu_model:-unknown} $(nproc --all)cpu" | tr 'A-Z' 'a-z' | sed -E 's/\((r|tm)\)//g; s/[^a-z0-9]+/-/g; s/^-|-$//g')
fi
results="perf/results/$machine"
work=out/liburcu-versions
mkdir -p "$results" "$work"
# shellcheck source=scripts/packages.sh
source scripts/packages.sh
packages=("${quiesce_build_packages[@]}")
configure=(-G Ninja -DCMAKE_BUILD_TYPE=Release -DQUIESCE_BUILD_TESTS=OFF -DQUIESCE_BUILD_BENCHMARKS=ON)
# Google Benchmark 1.8+ (Debian 13) wants "0.1s", 1.7 (Debian 12) a bare number: each side picks its own.
bench_flags="--benchmark_repetitions=$reps --benchmark_display_aggregates_only=true --benchmark_out_format=json"
min_time_flag='--benchmark_min_time=$(dpkg --compare-versions "$(dpkg-query -W -f="\${Version}" libbenchmark-dev)" ge 1.8 && echo '"$min_time"'s || echo '"$min_time"')'


echo "== host: build rcu_bench"
scripts/ensure_packages.sh "${packages[@]}"
cmake -S . -B build/rcu-versions-host "${configure[@]}" >/dev/null
cmake --build build/rcu-versions-host --target rcu_bench
echo "== trixie chroot: build rcu_bench"
scripts/trixie_chroot.sh run "scripts/ensure_packages.sh ${packages[*]} &&
  cmake -S /src -B /src/build/rcu-versions-trixie ${configure[*]} >/dev/null &&
  cmake --build /src/build/rcu-versions-trixie --target rcu_bench"

host_v=$(pkg-config --modversion liburcu-memb)
host_cc=$(g++ --version | head -n1)
host_os=$(. /etc/os-release && echo "$PRETTY_NAME")
echo "== run 1/2: liburcu $host_v ($host_os, host)"
eval "build/rcu-versions-host/perf/rcu_bench $bench_flags $min_time_flag --benchmark_out=$work/host.json" | tail -n 3
echo "== run 2/2: Debian 13 chroot"
scripts/trixie_chroot.sh run "build/rcu-versions-trixie/perf/rcu_bench $bench_flags $min_time_flag --benchmark_out=$work/trixie.json | tail -n 3;
  { pkg-config --modversion liburcu-memb; g++ --version | head -n1; . /etc/os-release; echo \"\$PRETTY_NAME\"; } >$work/trixie.facts"
{ read -r trixie_v; read -r trixie_cc; read -r trixie_os; } <"$work/trixie.facts"

shown="rcu_bench $bench_flags --benchmark_min_time=$min_time(s)"
python3 perf/rcu_ratios.py "$work/host.json" -o "$results/rcu_ratios_liburcu-$host_v.md" \
  --command "$shown" --cpu-model "${cpu_model:-unknown}" --compiler "$host_cc" >/dev/null
python3 perf/rcu_ratios.py "$work/trixie.json" -o "$results/rcu_ratios_liburcu-$trixie_v.md" \
  --command "$shown" --cpu-model "${cpu_model:-unknown}" --compiler "$trixie_cc" >/dev/null
python3 perf/rcu_versions.py "$results/rcu_ratios_liburcu-$host_v.md" "$results/rcu_ratios_liburcu-$trixie_v.md" \
  --labels "$host_v" "$trixie_v" --title "rcu_bench: liburcu $host_v vs $trixie_v, one machine, back to back" \
  --note "written by scripts/rcu_liburcu_versions.sh$([[ $quick -eq 1 ]] && echo ' --quick') on $(date -u +%Y-%m-%d); do not edit by hand" \
  --note "$host_v: $host_os (host), $host_cc; $trixie_v: $trixie_os (debootstrap chroot, same kernel and CPUs), $trixie_cc" \
  -o "$results/rcu_liburcu_versions.md" >/dev/null
echo "== wrote $root/$results/rcu_liburcu_versions.md (and each run's rcu_ratios_liburcu-<version>.md beside it)"
