#!/usr/bin/env bash
# tests/multinode/run_scripts_guest.sh — runs numa_scripts_test.sh inside a
# 2-node guest (scripts/numa_guest.sh) with what the scripts need there:
# bash-static, numactl and its shared libraries, the scripts and scripts/lib/
# (what they and the test source), numa_info.
#
# usage: run_scripts_guest.sh --numa-info PATH [numa_guest.sh options...]
# Exit: numa_scripts_test.sh's, or numa_guest.sh's (77 skip, 124 timeout).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
numa_info=
guest_opts=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --numa-info) numa_info=$2; shift ;;
    *) guest_opts+=("$1") ;;
  esac
  shift
done
[[ -x $numa_info ]] || { echo "run_scripts_guest: --numa-info: not an executable: '$numa_info'" >&2; exit 2; }
numa_info=$(cd "$(dirname "$numa_info")" && pwd)/$(basename "$numa_info")  # same path in the guest
if ! command -v numactl >/dev/null 2>&1; then
  "$root/scripts/ensure_packages.sh" numactl >&2 || true
fi
numactl=$(command -v numactl) || { echo "SKIP: run_scripts_guest: numactl is not installed (apt-get install numactl)"; exit 77; }

exec bash "$root/scripts/numa_guest.sh" --nodes 2 --bash "${guest_opts[@]}" \
  --add "$numactl:/usr/bin/numactl" \
  --add "$root/scripts/numa_guest.sh" --add "$root/scripts/numa_topology.sh" \
  --add "$root/scripts/numa_placement.sh" --add "$root/scripts/ensure_packages.sh" \
  --add "$root/scripts/lib/cli.sh" --add "$root/scripts/lib/checks.sh" \
  --add "$root/tests/multinode/numa_scripts_test.sh" --add "$numa_info" \
  -- /bin/bash "$root/tests/multinode/numa_scripts_test.sh" --numa-info "$numa_info" --expect-nodes 2
