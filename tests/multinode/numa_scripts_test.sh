#!/usr/bin/env bash
# tests/multinode/numa_scripts_test.sh — checks scripts/numa_topology.sh and
# scripts/numa_placement.sh on the machine it runs on: the host (ctest
# numa_scripts_host; one node: the local placement only, the others reported
# as SKIP) or scripts/numa_guest.sh's guest (ctest numa_scripts_guest, through
# run_scripts_guest.sh: all three placements, and numa_info shows that each
# put the memory where it said).
#
# usage: numa_scripts_test.sh --numa-info PATH [--expect-nodes N]
#   N defaults to $QUIESCE_EXPECT_NODES (set in the guest), else the number of
#   nodes in sysfs. Exit 0 pass, 1 fail, 77 skip (no numactl).
set -uo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
numa_info=
expect=${QUIESCE_EXPECT_NODES:-}
while [[ $# -gt 0 ]]; do
  case "$1" in
    --numa-info) numa_info=$2; shift ;;
    --expect-nodes) expect=$2; shift ;;
    *) echo "usage: numa_scripts_test.sh --numa-info PATH [--expect-nodes N]" >&2; exit 2 ;;
  esac
  shift
done
[[ -x $numa_info ]] || { echo "numa_scripts_test: --numa-info: not an executable: '$numa_info'" >&2; exit 2; }
if [[ -z $expect ]]; then
  expect=$(ls -d /sys/devices/system/node/node[0-9]* 2>/dev/null | wc -l)
  ((expect >= 1)) || expect=1
fi

# shellcheck source=../../scripts/lib/checks.sh
. "$root/scripts/lib/checks.sh"  # check, has, hasnt

echo "numa_scripts_test: expecting $expect node(s)"

# ---- --help ----
for s in numa_guest numa_topology numa_placement; do
  help=$(bash "$root/scripts/$s.sh" --help 2>&1)
  check "$s.sh --help exits 0 and prints usage" has "$help" "^Usage: scripts/$s.sh"
done

# ---- numa_topology.sh ----
topology=$(bash "$root/scripts/numa_topology.sh" --no-install --numa-info "$numa_info" 2>&1)
rc=$?
echo "$topology" | sed 's/^/  | /'
check "numa_topology.sh exits 0" test "$rc" -eq 0
check "numa_topology.sh shows the library's $expect node(s)" has "$topology" "^numa_info: nodes=$expect "
if command -v numactl >/dev/null 2>&1; then
  check "numa_topology.sh shows numactl's $expect node(s)" has "$topology" "^available: $expect nodes"
else
  check "numa_topology.sh reports numactl as a SKIP" has "$topology" "^SKIP: numa_topology: numactl"
fi

# ---- numa_placement.sh ----
if ! command -v numactl >/dev/null 2>&1; then
  echo "SKIP: numa_scripts_test: numactl is not installed: numa_placement.sh cannot run"
  ((failures == 0)) && exit 77
  exit 1
fi
balancing_before=$(cat /proc/sys/kernel/numa_balancing 2>/dev/null || echo none)
placement=$(bash "$root/scripts/numa_placement.sh" --no-install --repeat 3 -- "$numa_info" --work 2 --mib 8 2>&1)
rc=$?
echo "$placement" | sed 's/^/  | /'
check "numa_placement.sh exits 0" test "$rc" -eq 0
check "numa_placement.sh tabulates the local case" has "$placement" '^\| local \| --cpunodebind=0 --membind=0 \| 3 \| [0-9.]+ \| [0-9.]+ \| [0-9.]+ \| 1\.00 \|$'
check "numa_placement.sh reports numa_balancing" has "$placement" '^numa_placement: numa_balancing: '
check "local: threads on node 0, memory on node 0 only" \
  has "$placement" '^\[local\] numa_info: where: cpu=[0-9]+ cpu_node=0 memory_pages=0:[0-9]+ '
if ((expect == 1)); then
  check "one node: split reported as SKIP" has "$placement" '^SKIP: numa_placement: split: needs two NUMA nodes'
  check "one node: remote reported as SKIP" has "$placement" '^SKIP: numa_placement: remote: needs two NUMA nodes'
  check "one node: no split or remote row" hasnt "$placement" '^\| (split|remote) '
else
  check "split tabulated" has "$placement" '^\| split \| --cpunodebind=all --interleave=all \| 3 \| .* \| [0-9.]+ \|$'
  check "remote tabulated" has "$placement" '^\| remote \| --cpunodebind=0 --membind=1 \| 3 \| .* \| [0-9.]+ \|$'
  check "remote: threads on node 0, memory on node 1 only" \
    has "$placement" '^\[remote\] numa_info: where: cpu=[0-9]+ cpu_node=0 memory_pages=1:[0-9]+ '
  split_nodes=$(grep -E '^\[split\] numa_info: where:' <<<"$placement" | sed -E 's/.*memory_pages=([^ ]*).*/\1/' |
                tr ',' '\n' | grep -c ':')
  check "split: memory interleaved over all $expect nodes" test "${split_nodes:-0}" -eq "$expect"
  if [[ -n ${QUIESCE_GUEST:-} && $balancing_before == [1-9]* ]]; then
    check "numa_balancing switched off for the run" \
      has "$placement" "^numa_placement: numa_balancing: was $balancing_before, set to 0 for the run"
    check "numa_balancing restored afterwards" test "$(cat /proc/sys/kernel/numa_balancing)" = "$balancing_before"
  fi
fi
bad=$(bash "$root/scripts/numa_placement.sh" --no-install --repeat 1 -- false 2>&1)
rc=$?
check "numa_placement.sh fails when the command fails" test "$rc" -eq 1
check "... and says so" has "$bad" "FAIL: 'false' exited with 1"

echo "numa_scripts_test: $failures failure(s)"
((failures == 0))
