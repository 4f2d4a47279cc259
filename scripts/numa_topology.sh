#!/usr/bin/env bash
# scripts/numa_topology.sh — prints the machine's NUMA topology twice: as
# quiesce::numa sees it (the numa_info tool, scripts/tools/numa_info.cpp) and
# as numactl --hardware reports it, plus the automatic NUMA balancing setting.
# Whatever cannot be shown is reported as a `SKIP: ...` line.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: scripts/numa_topology.sh [--numa-info PATH] [--build-dir DIR] [--no-install] [--help]

Prints the NUMA topology as quiesce::numa sees it (numa_info: nodes, CPUs,
distances, caches, pipeline_cpus) and as `numactl --hardware` reports it,
and /proc/sys/kernel/numa_balancing.

numa_info is taken from --numa-info, else $QUIESCE_NUMA_INFO, else the newest
build/*/tests/multinode/numa_info; failing that it is built (cmake --build
DIR --target numa_info, DIR = --build-dir or build/tools, configured if new).

  --numa-info PATH  the numa_info binary to run
  --build-dir DIR   where to build numa_info when none is found
  --no-install      do not apt-get install numactl when it is missing
  -h, --help        this text

Exit: 0; 77 (SKIP) when neither view could be shown; 2 usage error.
EOF
}

me=numa_topology
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
numa_info=${QUIESCE_NUMA_INFO:-}
build_dir=$root/build/tools
install=1
while [[ $# -gt 0 ]]; do
  case "$1" in
    --numa-info) numa_info=${2:?--numa-info needs a path}; shift ;;
    --build-dir) build_dir=${2:?--build-dir needs a directory}; shift ;;
    --no-install) install=0 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "$me: unknown option '$1'" >&2; usage >&2; exit 2 ;;
  esac
  shift
done

shown=0

# ---- quiesce::numa's view ----
if [[ -z $numa_info ]]; then
  numa_info=$(ls -t "$root"/build/*/tests/multinode/numa_info 2>/dev/null | head -n1 || true)
fi
if [[ -z $numa_info ]]; then
  if command -v cmake >/dev/null 2>&1; then
    echo "$me: building numa_info in $build_dir"
    mkdir -p "$build_dir"
    gen=()
    command -v ninja >/dev/null 2>&1 && [[ ! -f $build_dir/CMakeCache.txt ]] && gen=(-G Ninja)
    if { cmake -S "$root" -B "$build_dir" "${gen[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
           -DQUIESCE_BUILD_TESTS=ON -DQUIESCE_BUILD_BENCHMARKS=OFF &&
         cmake --build "$build_dir" --target numa_info; } >"$build_dir/numa_info-build.log" 2>&1; then
      numa_info=$build_dir/tests/multinode/numa_info
    else
      echo "$me: building numa_info failed (log: $build_dir/numa_info-build.log)" >&2
    fi
  fi
fi
echo "== quiesce::numa (numa_info) =="
if [[ -n $numa_info && -x $numa_info ]]; then
  echo "$me: $numa_info"
  "$numa_info"
  shown=1
else
  echo "SKIP: $me: the library's view: no numa_info binary (build target numa_info, or pass --numa-info)"
fi

# ---- numactl's view ----
echo
echo "== numactl --hardware =="
if ! command -v numactl >/dev/null 2>&1 && [[ $install == 1 && -x $root/scripts/ensure_packages.sh ]]; then
  "$root/scripts/ensure_packages.sh" numactl >&2 || true
fi
if command -v numactl >/dev/null 2>&1; then
  numactl --hardware
  shown=1
else
  echo "SKIP: $me: numactl's view: numactl is not installed (apt-get install numactl)"
fi

# ---- balancing, and what a one-node machine means here ----
echo
echo "== kernel =="
if [[ -r /proc/sys/kernel/numa_balancing ]]; then
  echo "numa_balancing=$(cat /proc/sys/kernel/numa_balancing) (/proc/sys/kernel/numa_balancing; 0 = off)"
else
  echo "numa_balancing: not available (kernel without CONFIG_NUMA_BALANCING, or no /proc)"
fi
nodes=$(ls -d /sys/devices/system/node/node[0-9]* 2>/dev/null | wc -l)
echo "sysfs nodes: $nodes"
if [[ $nodes -le 1 ]]; then
  echo "$me: one NUMA node: placement cannot be observed here; scripts/numa_guest.sh runs a program in a 2-node qemu guest"
fi

[[ $shown == 1 ]] || exit 77
