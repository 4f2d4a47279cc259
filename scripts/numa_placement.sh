#!/usr/bin/env bash
# scripts/numa_placement.sh — runs a command under three numactl placements
# (threads and memory on one node; threads on every node with interleaved
# memory; threads on one node with memory on another), several times each,
# and tabulates the median wall times and their ratio to the local case.
# Automatic NUMA balancing is switched off for the run when permitted and
# restored afterwards. On a one-node machine only the local case runs.
set -euo pipefail
export LC_ALL=C

usage() {
  cat <<'EOF'
Usage: scripts/numa_placement.sh [OPTIONS] -- CMD [ARGS...]

Runs CMD under each placement, --repeat times, and prints a table of the
median wall time per placement and its ratio to the local case:

  local   numactl --cpunodebind=L --membind=L           threads and memory on node L
  split   numactl --cpunodebind=all --interleave=all    threads on every node, pages interleaved
  remote  numactl --cpunodebind=L --membind=R           threads on L, memory on node R

Options:
  --repeat N        runs per placement (default 5); the median is reported
  --local-node L    the local node (default: the first node)
  --remote-node R   the remote node (default: the nearest other node)
  --only LIST       some of local,split,remote (default: all three)
  --out FILE        also write the table (markdown) and every run's time
                    (FILE.tsv: placement, run, microseconds)
  --quiet           hide CMD's output (default: shown for the first run of
                    each placement, prefixed with [placement])
  --no-install      do not apt-get install numactl when it is missing
  -h, --help        this text

/proc/sys/kernel/numa_balancing is recorded and, when writable, set to 0
for the run and restored on exit (also on Ctrl-C). On a one-node machine
the split and remote placements are reported as `SKIP: ...` and only the
local case runs. Timings in scripts/numa_guest.sh's emulated guest show
placement, not real latency.

Exit: 0; 1 if CMD fails under a placement; 77 (SKIP) without numactl;
2 usage error.
EOF
}

me=numa_placement
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=lib/cli.sh
. "$root/scripts/lib/cli.sh"
repeat=5
local_node=
remote_node=
only=local,split,remote
out=
quiet=0
install=1
cli_command=required
script_option() {  # the options of this script alone (scripts/lib/cli.sh)
  case "$1" in
    --repeat) repeat=${2:?--repeat needs a number}; cli_took=2 ;;
    --local-node) local_node=${2:?--local-node needs a node}; cli_took=2 ;;
    --remote-node) remote_node=${2:?--remote-node needs a node}; cli_took=2 ;;
    --only) only=${2:?--only needs a list}; cli_took=2 ;;
    --out) out=${2:?--out needs a file}; cli_took=2 ;;
    --quiet) quiet=1 ;;
    *) return 1 ;;
  esac
}
cli_parse "$@"
[[ $repeat =~ ^[0-9]+$ && $repeat -ge 1 ]] || cli_usage_error "--repeat must be a positive number"
for p in ${only//,/ }; do
  [[ $p == local || $p == split || $p == remote ]] || cli_usage_error "--only: unknown placement '$p'"
done
cmd=("${cli_rest[@]}")

# ---- tools ----
if ! command -v numactl >/dev/null 2>&1 && [[ $install == 1 && -x $root/scripts/ensure_packages.sh ]]; then
  "$root/scripts/ensure_packages.sh" numactl >&2 || true
fi
command -v numactl >/dev/null 2>&1 || { echo "SKIP: $me: numactl is not installed (apt-get install numactl)"; exit 77; }
for tool in awk sort; do
  command -v "$tool" >/dev/null 2>&1 || { echo "SKIP: $me: '$tool' is missing"; exit 77; }
done
now_us() {  # wall clock in microseconds
  if [[ -n ${EPOCHREALTIME:-} ]]; then
    local t=${EPOCHREALTIME/[.,]/}
    echo "$((10#$t))"
  else
    echo "$(($(date +%s%N) / 1000))"
  fi
}

# ---- nodes ----
nodes=()
for d in /sys/devices/system/node/node[0-9]*; do
  [[ -d $d ]] && nodes+=("${d##*/node}")
done
if [[ ${#nodes[@]} -eq 0 ]]; then
  # No sysfs node directories (no NUMA in the kernel): numactl's count.
  n=$(numactl --hardware 2>/dev/null | awk '/^available:/ { print $2; exit }')
  for ((i = 0; i < ${n:-1}; i++)); do nodes+=("$i"); done
fi
mapfile -t nodes < <(printf '%s\n' "${nodes[@]}" | sort -n)
has_node() { local n; for n in "${nodes[@]}"; do [[ $n == "$1" ]] && return 0; done; return 1; }
distance() {  # distance FROM TO, from sysfs (10 / 20 when unknown)
  local row
  if [[ -r /sys/devices/system/node/node$1/distance ]]; then
    read -r -a row </sys/devices/system/node/node$1/distance
    local i
    for i in "${!nodes[@]}"; do [[ ${nodes[$i]} == "$2" ]] && { echo "${row[$i]:-20}"; return; }; done
  fi
  [[ $1 == "$2" ]] && echo 10 || echo 20
}
local_node=${local_node:-${nodes[0]}}
has_node "$local_node" || { echo "$me: --local-node $local_node: no such node (nodes: ${nodes[*]})" >&2; exit 2; }
if [[ -z $remote_node ]]; then
  best=
  for n in "${nodes[@]}"; do
    [[ $n == "$local_node" ]] && continue
    d=$(distance "$local_node" "$n")
    if [[ -z $best ]] || ((d < best)); then best=$d; remote_node=$n; fi
  done
fi

placements=()
if [[ ${#nodes[@]} -le 1 ]]; then
  echo "$me: this machine has one NUMA node (${nodes[*]}): only the local placement can run"
  for p in ${only//,/ }; do
    case $p in
      local) placements+=(local) ;;
      *) echo "SKIP: $me: $p: needs two NUMA nodes, this machine has one (scripts/numa_guest.sh gives a 2-node guest)" ;;
    esac
  done
else
  [[ $remote_node != "$local_node" ]] && has_node "$remote_node" ||
    { echo "$me: --remote-node $remote_node: no such node other than $local_node (nodes: ${nodes[*]})" >&2; exit 2; }
  for p in ${only//,/ }; do placements+=("$p"); done
fi
[[ ${#placements[@]} -gt 0 ]] || { echo "SKIP: $me: nothing to run"; exit 77; }
options_of() {
  case $1 in
    local) echo "--cpunodebind=$local_node --membind=$local_node" ;;
    split) echo "--cpunodebind=all --interleave=all" ;;
    remote) echo "--cpunodebind=$local_node --membind=$remote_node" ;;
  esac
}

# ---- automatic NUMA balancing: off for the run, restored on exit ----
balancing_file=/proc/sys/kernel/numa_balancing
balancing_note="not available (kernel without NUMA balancing)"
balancing_was=
restore_balancing=0
tmp=
cleanup() {
  if [[ $restore_balancing == 1 ]]; then
    { echo "$balancing_was" >"$balancing_file"; } 2>/dev/null ||
      echo "$me: could not restore $balancing_file to $balancing_was" >&2
  fi
  [[ -n $tmp ]] && rm -rf "$tmp"
  return 0
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
if [[ -r $balancing_file ]]; then
  balancing_was=$(cat "$balancing_file")
  if [[ $balancing_was == 0 ]]; then
    balancing_note="0 (already off)"
  elif { echo 0 >"$balancing_file"; } 2>/dev/null; then
    restore_balancing=1
    balancing_note="was $balancing_was, set to 0 for the run (restored on exit)"
  else
    balancing_note="$balancing_was, left on: $balancing_file is not writable here (results may include page migrations)"
  fi
fi

echo "$me: command: ${cmd[*]}"
echo "$me: nodes: ${nodes[*]}; local node $local_node${remote_node:+, remote node $remote_node (distance $(distance "$local_node" "$remote_node"))}; $repeat runs per placement"
echo "$me: numa_balancing: $balancing_note"

# ---- runs ----
tmp=$(mktemp -d)
declare -A median min max
for p in "${placements[@]}"; do
  read -r -a opts <<<"$(options_of "$p")"
  : >"$tmp/$p.times"
  for ((r = 1; r <= repeat; r++)); do
    t_start=$(now_us)
    set +e
    numactl "${opts[@]}" -- "${cmd[@]}" >"$tmp/$p.out" 2>&1
    rc=$?
    set -e
    t_end=$(now_us)
    if [[ $rc -ne 0 ]]; then
      sed "s/^/[$p] /" "$tmp/$p.out"
      echo "$me: FAIL: '${cmd[*]}' exited with $rc under numactl ${opts[*]} (run $r)" >&2
      exit 1
    fi
    if [[ $r == 1 && $quiet == 0 ]]; then sed "s/^/[$p] /" "$tmp/$p.out"; fi
    printf '%s\t%d\t%d\n' "$p" "$r" "$((t_end - t_start))" >>"$tmp/$p.times"
  done
  # Integer microseconds sort the same under GNU and busybox sort.
  read -r "median[$p]" "min[$p]" "max[$p]" < <(cut -f3 "$tmp/$p.times" | sort -n | awk '
    { v[NR] = $1 }
    END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
          printf "%.6f %.6f %.6f\n", m / 1e6, v[1] / 1e6, v[NR] / 1e6 }')
done

# ---- table ----
base=${median[local]:-}
{
  echo
  echo "| placement | numactl options | runs | median (s) | min (s) | max (s) | median / local |"
  echo "| --- | --- | ---: | ---: | ---: | ---: | ---: |"
  for p in "${placements[@]}"; do
    ratio=$(awk -v m="${median[$p]}" -v b="$base" 'BEGIN { if (b > 0) printf "%.2f", m / b; else print "-" }')
    printf '| %s | %s | %d | %.4f | %.4f | %.4f | %s |\n' "$p" "$(options_of "$p")" "$repeat" \
      "${median[$p]}" "${min[$p]}" "${max[$p]}" "$ratio"
  done
} | tee "$tmp/table.md"
if [[ -n $out ]]; then
  {
    echo "command: ${cmd[*]}"
    echo "nodes: ${nodes[*]}; local $local_node; remote ${remote_node:-none}; numa_balancing: $balancing_note"
    cat "$tmp/table.md"
  } >"$out"
  { printf 'placement\trun\tmicroseconds\n'; for p in "${placements[@]}"; do cat "$tmp/$p.times"; done; } >"$out.tsv"
  echo "$me: wrote $out and $out.tsv"
fi
