#!/usr/bin/env bash
# tests/multinode/cross_socket_test.sh — checks scripts/perf_cross_socket.sh
# on the machine it runs on, with cross_socket_workload as the command whose
# answer is known: on this machine (ctest cross_socket_host; one node: the
# local case, the remote one reported as SKIP) or in scripts/numa_guest.sh's
# 2-node guest (ctest cross_socket_guest, via cross_socket_guest.sh): a
# thread on node 0 reading 16 MiB on node 0, then on node 1, and the script
# must attribute the pages (numa_maps) and the allocations (numastat
# local_node / other_node) to the right node. Without a PMU (here, the guest)
# the perf parts must be SKIP lines with a reason.
#
# usage: cross_socket_test.sh --workload PATH [--expect-nodes N]
# Exit 0 pass, 1 fail.
set -uo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
workload=
expect=${QUIESCE_EXPECT_NODES:-}
while [[ $# -gt 0 ]]; do
  case "$1" in
    --workload) workload=$2; shift ;;
    --expect-nodes) expect=$2; shift ;;
    *) echo "usage: cross_socket_test.sh --workload PATH [--expect-nodes N]" >&2; exit 2 ;;
  esac
  shift
done
[[ -x $workload ]] || { echo "cross_socket_test: --workload: not an executable: '$workload'" >&2; exit 2; }
if [[ -z $expect ]]; then
  expect=$(ls -d /sys/devices/system/node/node[0-9]* 2>/dev/null | wc -l)
  ((expect >= 1)) || expect=1
fi
script="$root/scripts/perf_cross_socket.sh"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
mib=16
pages=$((mib * 256))  # 4 KiB pages of the workload's buffer
# numastat counts allocations: one per 4 KiB page, or one per 2 MiB
# transparent huge page (the guest's kernel uses them for the buffer).
allocs=$((mib / 2))

# shellcheck source=../../scripts/lib/checks.sh
. "$root/scripts/lib/checks.sh"  # check, has, json_ok
# value OUTPUT REGEX: the first number captured by REGEX's group (0 if none)
value() { local v; v=$(sed -nE "s/$2/\\1/p" <<<"$1" | head -n1); echo "${v:-0}"; }

echo "cross_socket_test: expecting $expect node(s)"
help=$(bash "$script" --help 2>&1)
check "--help exits 0 and prints usage" has "$help" "^Usage: scripts/perf_cross_socket.sh"
bash "$script" --no-install >/dev/null 2>&1
check "no command: usage error (exit 2)" test $? -eq 2
bash "$script" --no-install --sample-ms x -- true >/dev/null 2>&1
check "bad --sample-ms: usage error (exit 2)" test $? -eq 2

run() {  # run CPU_NODE MEM_NODE: the script on the workload; sets report, rc
  report=$(bash "$script" --no-install --out-dir "$out/$1-$2" -- "$workload" --cpu-node "$1" --mem-node "$2" --mib "$mib" 2>&1)
  rc=$?
  echo "$report" | sed "s/^/  [$1->$2] | /"
}

# ---- local: thread and memory on node 0 ----
run 0 0
check "local: exit 0" test "$rc" -eq 0
check "local: the workload's pages are on node 0" has "$report" "^cross_socket_workload: cpu_node=0 memory_node=0 pages=0:$pages "
check "local: numa_maps read while the workload held its memory" has "$report" "numa_maps \(read while the program held its memory"
p0=$(value "$report" '^perf_cross_socket: numa_maps node 0: pages=[0-9]+ anon_pages=([0-9]+) .*')
check "local: numa_maps puts >= $pages anonymous pages on node 0 (got $p0)" test "$p0" -ge "$pages"
l0=$(value "$report" '^perf_cross_socket: numastat node 0: .*local_node=\+([0-9]+) .*')
check "local: numastat node 0 local_node grew by >= $allocs (got $l0)" test "$l0" -ge "$allocs"
check "local: JSON written and well formed" json_ok "$out/0-0/perf_cross_socket.json"
if has "$report" '^perf_cross_socket: perf: .*hardware counters: yes'; then
  check "PMU: events counted or each missing one a SKIP" has "$report" '^perf_cross_socket: event |^SKIP: perf_cross_socket: (event|Intel|AMD|remote)'
else
  check "no PMU: the remote-DRAM/HITM events are a SKIP with the reason" \
    has "$report" '^SKIP: perf_cross_socket: (remote-DRAM / remote-HITM events: no hardware counters|perf events: perf is not installed)'
fi

if ((expect == 1)); then
  check "one node: remote traffic reported as SKIP" has "$report" "^SKIP: perf_cross_socket: remote traffic: this machine has 1 NUMA node"
else
  p1=$(value "$report" '^perf_cross_socket: numa_maps node 1: pages=[0-9]+ anon_pages=([0-9]+) .*')
  check "local: fewer than $pages anonymous pages on node 1 (got $p1)" test "$p1" -lt "$pages"
  local_o1=$(value "$report" '^perf_cross_socket: numastat node 1: .*other_node=\+([0-9]+).*')

  # ---- remote: thread on node 0, memory on node 1 ----
  run 0 1
  check "remote: exit 0" test "$rc" -eq 0
  check "remote: the workload's pages are on node 1" has "$report" "^cross_socket_workload: cpu_node=0 memory_node=1 pages=1:$pages "
  p1=$(value "$report" '^perf_cross_socket: numa_maps node 1: pages=[0-9]+ anon_pages=([0-9]+) .*')
  check "remote: numa_maps puts >= $pages anonymous pages on node 1 (got $p1)" test "$p1" -ge "$pages"
  p0=$(value "$report" '^perf_cross_socket: numa_maps node 0: pages=[0-9]+ anon_pages=([0-9]+) .*')
  check "remote: fewer than $pages anonymous pages on node 0 (got $p0)" test "$p0" -lt "$pages"
  check "remote: most pages on node 1" has "$report" '^perf_cross_socket: most pages on node 1 '
  o1=$(value "$report" '^perf_cross_socket: numastat node 1: .*other_node=\+([0-9]+).*')
  check "remote: numastat node 1 other_node (allocated there by a node-0 CPU) grew by >= $allocs (got $o1)" \
    test "$o1" -ge "$allocs"
  check "remote: ... and by more than in the local run (got $o1, local $local_o1)" test "$o1" -gt "$local_o1"
  check "remote: JSON written and well formed" json_ok "$out/0-1/perf_cross_socket.json"
fi

# ---- the handshake's line split by a read that timed out ----
# A stand-in for the workload writes "ready PID" in two parts, 0.3 s apart,
# with the script polling every 20 ms: the script's read times out between
# the parts, and it must still answer (a lost line left the workload waiting
# for its release until its own 60 s timeout, and numa_maps unread).
split=$(bash "$script" --no-install --sample-ms 20 --out-dir "$out/split" -- /bin/bash -c '
  d=$QUIESCE_NUMA_MAPS_HOLD
  printf "rea" >"$d/ready"
  sleep 0.3
  printf "dy %d\n" "$$" >"$d/ready"
  if read -r -t 60 go <"$d/release" && [[ $go == go ]]; then echo "stand-in: released"; fi' 2>&1)
check "a line split by a timed-out read: the command was released" has "$split" "^stand-in: released"
check "... and numa_maps read while it held its memory" has "$split" "numa_maps \(read while the program held its memory"

# ---- a command that fails ----
bad=$(bash "$script" --no-install --out-dir "$out/false" -- false 2>&1)
check "a failing command: exit 1" test $? -eq 1
check "... and says so" has "$bad" "FAIL: the command exited with 1"

echo "cross_socket_test: $failures failure(s)"
((failures == 0))
