#!/usr/bin/env bash
# tests/multinode/cross_socket_guest.sh — runs cross_socket_test.sh inside a
# 2-node guest (scripts/numa_guest.sh) with what it needs there: bash-static,
# scripts/perf_cross_socket.sh, perf_probe.sh and scripts/lib/ (what they and
# the test source), cross_socket_workload.
# (No perf in the guest: the PMU parts must be SKIP lines.)
#
# usage: cross_socket_guest.sh --workload PATH [numa_guest.sh options...]
# Exit: cross_socket_test.sh's, or numa_guest.sh's (77 skip, 124 timeout).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
workload=
guest_opts=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --workload) workload=$2; shift ;;
    *) guest_opts+=("$1") ;;
  esac
  shift
done
[[ -x $workload ]] || { echo "cross_socket_guest: --workload: not an executable: '$workload'" >&2; exit 2; }
workload=$(cd "$(dirname "$workload")" && pwd)/$(basename "$workload")  # same path in the guest

exec bash "$root/scripts/numa_guest.sh" --nodes 2 --bash "${guest_opts[@]}" \
  --add "$root/scripts/perf_cross_socket.sh" --add "$root/scripts/perf_probe.sh" \
  --add "$root/scripts/lib/cli.sh" --add "$root/scripts/lib/checks.sh" \
  --add "$root/scripts/ensure_packages.sh" --add "$root/tests/multinode/cross_socket_test.sh" --add "$workload" \
  -- /bin/bash "$root/tests/multinode/cross_socket_test.sh" --workload "$workload" --expect-nodes 2
