#!/usr/bin/env bash
# scripts/perf_cross_socket.sh — runs a command and reports the traffic
# between NUMA nodes it caused: where its pages are (/proc/PID/numa_maps),
# the per-node allocation counters (numastat) before and after, and, where
# perf and the PMU offer them, remote-DRAM / remote-HITM events and the
# socket interconnect's counters (Intel UPI/QPI uncore, AMD data fabric).
set -euo pipefail
export LC_ALL=C

usage() {
  cat <<'EOF'
Usage: scripts/perf_cross_socket.sh [OPTIONS] -- CMD [ARGS...]

Runs CMD once and reports:
  pages      per node, summed over CMD's mappings in /proc/PID/numa_maps,
             read while CMD runs (every --sample-ms) and, for a program
             that cooperates, at its end: with QUIESCE_NUMA_MAPS_HOLD set
             to a directory, a program may write "ready PID" to the fifo
             DIR/ready and wait for a line on DIR/release before freeing its
             memory (tests/multinode/cross_socket_workload.cpp does)
  numastat   per-node deltas of /sys/devices/system/node/node*/numastat
             (what numastat(8) prints): numa_hit, numa_miss, numa_foreign,
             interleave_hit, local_node (allocated on the node by a CPU of
             that node), other_node (allocated on the node by a CPU of
             another node). They count allocations (a transparent huge page
             is one), not pages, and are system-wide: other processes add
             to them.
  events     with perf and a PMU: remote-DRAM and remote-HITM loads
             (Intel: mem_load_l3_miss_retired.remote_* or the generic
             node-loads/node-load-misses; AMD Zen 2+: demand fills from
             remote DRAM / remote caches), by name where perf knows it,
             else by raw code per CPU family/model; and the interconnect
             (Intel uncore_upi_*/uncore_qpi_*, AMD amd_df) system-wide.
             What the machine lacks is a `SKIP: ...` line with the reason.

Options:
  --sample-ms N   numa_maps sampling period (default 50)
  --no-perf       do not use perf even where it works
  --events LIST   extra perf events (comma separated), counted for CMD
  --out-dir DIR   where perf_cross_socket.txt (summary) and .json go
                  (default: out/ in the source tree)
  --no-install    do not apt-get install linux-perf when perf is missing
  -h, --help      this text

Needs: a NUMA kernel (sysfs nodes, numa_maps); perf (Debian: linux-perf)
and perf_event_paranoid <= 0 or root for the uncore counters (<= 2 for the
per-process events). On one node the remote attribution is a SKIP line;
scripts/numa_guest.sh gives a 2-node guest (tests/multinode/cross_socket_*).

Exit: 0 (SKIP lines are not failures); 1 CMD failed; 2 usage error.
EOF
}

me=perf_cross_socket
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=lib/cli.sh
. "$root/scripts/lib/cli.sh"
# shellcheck source=perf_probe.sh
. "$root/scripts/perf_probe.sh"
sample_ms=50
use_perf=1
extra_events=
out_dir="$root/out"
install=1
cli_command=required
script_option() {  # the options of this script alone (scripts/lib/cli.sh)
  case "$1" in
    --sample-ms) sample_ms=${2:?--sample-ms needs a number}; cli_took=2 ;;
    --no-perf) use_perf=0 ;;
    --events) extra_events=${2:?--events needs a list}; cli_took=2 ;;
    *) return 1 ;;
  esac
}
cli_parse "$@"
[[ $sample_ms =~ ^[0-9]+$ && $sample_ms -ge 1 ]] || cli_usage_error "--sample-ms must be a positive number"
cmd=("${cli_rest[@]}")
command -v "${cmd[0]}" >/dev/null 2>&1 || cli_usage_error "command not found: '${cmd[0]}'"

if [[ $use_perf == 1 && $install == 1 && -x $root/scripts/ensure_packages.sh ]]; then
  command -v perf >/dev/null 2>&1 || "$root/scripts/ensure_packages.sh" linux-perf >&2 || true
fi

report_open "$out_dir"
children_of() {  # children_of PID: its child processes' ids (from /proc/*/stat)
  local f
  for f in /proc/[0-9]*/stat; do
    awk -v p="$1" '{ sub(/^.*\) /, ""); if ($2 == p) { split(FILENAME, a, "/"); print a[3] } }' "$f" 2>/dev/null
  done
}
tmp=$(mktemp -d)
uncore_pid=
cleanup() {
  if [[ -n $uncore_pid ]]; then
    for c in $(children_of "$uncore_pid" || true); do kill "$c" 2>/dev/null; done
    kill "$uncore_pid" 2>/dev/null
  fi
  rm -rf "$tmp"
  return 0
}
trap cleanup EXIT

# ---- machine ----
nodes=()
for d in /sys/devices/system/node/node[0-9]*; do
  [[ -d $d ]] && nodes+=("${d##*/node}")
done
if [[ ${#nodes[@]} -gt 1 ]]; then
  mapfile -t nodes < <(printf '%s\n' "${nodes[@]}" | sort -n)
fi
perf_probe
[[ $use_perf == 1 ]] || { perf_bin= perf_why="--no-perf"; hw_ok=0; hw_why="--no-perf"; }
say "$me: command: ${cmd[*]}"
say "$me: nodes: ${nodes[*]:-none (no NUMA in this kernel)}; CPU: ${cpu_name:-unknown} (vendor ${cpu_vendor:-?}, family ${cpu_family:-?}, model ${cpu_model:-?}); hypervisor: ${hypervisor:-none}"
say "$me: perf: ${perf_bin:-missing}; perf_event_paranoid=$paranoid; root=$is_root; hardware counters: $([[ $hw_ok == 1 ]] && echo yes || echo "no ($hw_why)")"
if [[ ${#nodes[@]} -le 1 ]]; then
  skip "remote traffic: this machine has ${#nodes[@]} NUMA node(s): nothing can be remote (scripts/numa_guest.sh gives a 2-node guest)"
fi

now_ns() {  # wall clock in ns (busybox date has no %N: bash's EPOCHREALTIME first)
  if [[ -n ${EPOCHREALTIME:-} ]]; then
    local t=${EPOCHREALTIME/[.,]/}
    echo "$((10#$t * 1000))"
  else
    date +%s%N
  fi
}
numastat_snapshot() {  # numastat_snapshot FILE: "node counter value" lines
  local n
  : >"$1"
  for n in "${nodes[@]}"; do
    [[ -r /sys/devices/system/node/node$n/numastat ]] || continue
    awk -v n="$n" '{ print n, $1, $2 }' "/sys/devices/system/node/node$n/numastat" >>"$1"
  done
}
numastat_ok=1
if [[ ${#nodes[@]} -eq 0 || ! -r /sys/devices/system/node/node${nodes[0]:-0}/numastat ]]; then
  numastat_ok=0
  skip "numastat: no /sys/devices/system/node/node*/numastat (a kernel without CONFIG_NUMA)"
fi

# ---- perf events: detected per CPU, kept only if they count here ----
event_names=()  # what the report calls them
event_specs=()  # what perf is given
uncore_names=()
uncore_specs=()
counts() {
  [[ -n $perf_bin ]] || return 1
  local r
  r=$("$perf_bin" stat -x, -e "$1" -- true 2>&1 >/dev/null || true)
  grep -q '^[0-9][0-9]*,' <<<"$r"
}
perf_list=  # `perf list`, read once (grep -q on a pipe would race with SIGPIPE under pipefail)
perf_knows() {
  [[ -n $perf_bin ]] || return 1
  [[ -n $perf_list ]] || perf_list=$("$perf_bin" list 2>/dev/null || true)
  grep -qw -- "$1" <<<"$perf_list"
}
add_event() {  # add_event LABEL NAME RAW: the name if perf knows it, else the raw code
  local label=$1 name=$2 raw=$3 spec=
  if [[ -n $name ]] && perf_knows "$name"; then spec=$name; elif [[ -n $raw ]]; then spec=$raw; fi
  if [[ -z $spec ]]; then
    skip "event $label: perf offers no '$name' here and no raw code is known for it"
    return 0
  fi
  if counts "$spec"; then
    event_names+=("$label") event_specs+=("$spec")
  else
    skip "event $label ($spec): does not count here"
  fi
}
if [[ -z $perf_bin ]]; then
  skip "perf events: $perf_why"
elif [[ $hw_ok != 1 ]]; then
  skip "remote-DRAM / remote-HITM events: $hw_why"
  skip "interconnect (UPI/QPI, AMD data fabric) counters: $hw_why"
else
  fam=$((10#${cpu_family:-0}))
  mod=$((10#${cpu_model:-0}))
  case $cpu_vendor in
    GenuineIntel)
      # Generic events first (perf maps them to the model's own), then the
      # model's L3-miss retirement events. Raw codes from Intel's event
      # lists: Skylake-SP, Cascade/Cooper Lake, Ice Lake-SP, Sapphire and
      # Emerald Rapids (models 0x55, 0x6a, 0x6c, 0x8f, 0xcf; MEM_LOAD_L3_MISS_RETIRED, event 0xd3:
      # umask 0x02 remote DRAM, 0x04 remote HITM, 0x08 remote forward);
      # Haswell/Broadwell-EP (MEM_LOAD_UOPS_L3_MISS_RETIRED, 0xd3: 0x04
      # remote DRAM, 0x10 remote HITM, 0x20 remote forward).
      add_event "node-loads" node-loads ""
      add_event "node-load-misses (loads served by another node)" node-load-misses ""
      if ((fam == 6)) && [[ " 85 106 108 143 207 " == *" $mod "* ]]; then
        add_event "remote DRAM loads" mem_load_l3_miss_retired.remote_dram cpu/event=0xd3,umask=0x02/
        add_event "remote HITM loads" mem_load_l3_miss_retired.remote_hitm cpu/event=0xd3,umask=0x04/
        add_event "remote forwarded loads" mem_load_l3_miss_retired.remote_fwd cpu/event=0xd3,umask=0x08/
      elif ((fam == 6)) && [[ " 63 79 86 " == *" $mod "* ]]; then
        add_event "remote DRAM loads" mem_load_uops_l3_miss_retired.remote_dram cpu/event=0xd3,umask=0x04/
        add_event "remote HITM loads" mem_load_uops_l3_miss_retired.remote_hitm cpu/event=0xd3,umask=0x10/
        add_event "remote forwarded loads" mem_load_uops_l3_miss_retired.remote_fwd cpu/event=0xd3,umask=0x20/
      else
        skip "Intel remote-DRAM/HITM events: no raw codes here for family $fam model $mod (perf list names are used where present)"
      fi
      # UPI (Skylake-SP and later): TxL_FLITS.ALL_DATA (event 0x02, umask
      # 0x0f), data flits sent; QPI (older): by name only.
      upi=$(ls -d "$pmu_dir"/uncore_upi_* 2>/dev/null || true)
      qpi=$(ls -d "$pmu_dir"/uncore_qpi_* 2>/dev/null || true)
      if [[ -n $upi ]]; then
        for d in $upi; do uncore_names+=("${d##*/} data flits sent") uncore_specs+=("${d##*/}/event=0x2,umask=0xf/"); done
      elif [[ -n $qpi ]]; then
        if perf_knows unc_q_txl_flits_g0.data; then
          uncore_names+=("QPI data flits sent") uncore_specs+=(unc_q_txl_flits_g0.data)
        else
          skip "QPI counters: uncore_qpi PMUs exist but perf has no name for the data-flit event and no raw code is encoded here"
        fi
      else
        skip "UPI/QPI counters: no uncore_upi_*/uncore_qpi_* PMU in $pmu_dir (a VM, or a one-socket part)"
      fi
      ;;
    AuthenticAMD | HygonGenuine)
      # Zen 2 and later: event 0x43 (LsDmndFillsFromSys / LsRefillsFromSys):
      # umask 0x40 fills from DRAM or IO on another node, 0x10 from a cache
      # on another node (the remote HITM of AMD). The generic node-* events
      # are not supported on Zen.
      if ((fam >= 0x17)) && ! ((fam == 0x17 && mod < 0x30)); then
        add_event "demand fills from remote DRAM" ls_dmnd_fills_from_sys.dram_io_far cpu/event=0x43,umask=0x40/
        add_event "demand fills from remote caches (remote HITM)" ls_dmnd_fills_from_sys.far_cache cpu/event=0x43,umask=0x10/
      else
        skip "AMD remote-fill events: no codes encoded for family $fam model $mod (Zen 1 counts them differently)"
      fi
      # The data fabric's xGMI (socket link) counters: by name only (their
      # codes change with every family; Debian's perf names them for Zen 4).
      if [[ -d $pmu_dir/amd_df ]]; then
        perf_knows xgmi || true  # fills perf_list
        df=$(grep -oE '\b(xgmi|remote_socket)[a-z0-9_.]*' <<<"$perf_list" | sort -u | head -n 8 || true)
        if [[ -n $df ]]; then
          for e in $df; do uncore_names+=("$e") uncore_specs+=("$e"); done
        else
          skip "AMD xGMI counters: the amd_df PMU exists but perf names no xGMI/remote-socket event for this model"
        fi
      else
        skip "AMD xGMI counters: no amd_df PMU in $pmu_dir (a VM)"
      fi
      ;;
    *)
      skip "remote-memory events: no table for CPU vendor '${cpu_vendor:-unknown}' (add it to scripts/perf_cross_socket.sh)"
      ;;
  esac
  if [[ -n $extra_events ]]; then
    IFS=, read -r -a extra <<<"$extra_events"
    for e in "${extra[@]}"; do add_event "$e" "" "$e"; done
  fi
  if [[ ${#uncore_specs[@]} -gt 0 ]] && ! [[ $is_root == 1 || $paranoid -le 0 ]]; then
    skip "interconnect counters: system-wide counting needs root or perf_event_paranoid <= 0 (it is $paranoid)"
    uncore_names=() uncore_specs=()
  fi
fi

# ---- run ----
numastat_snapshot "$tmp/numastat.before"
if [[ ${#uncore_specs[@]} -gt 0 ]]; then
  "$perf_bin" stat -a -x, -o "$tmp/uncore.csv" -e "$(IFS=,; echo "${uncore_specs[*]}")" -- sleep 1000000 2>/dev/null &
  uncore_pid=$!
fi
mkfifo "$tmp/ready" "$tmp/release"
exec 3<>"$tmp/ready" 4<>"$tmp/release"  # read-write: no open blocks, on either side
export QUIESCE_NUMA_MAPS_HOLD=$tmp
t0=$(now_ns)
if [[ ${#event_specs[@]} -gt 0 ]]; then
  "$perf_bin" stat -x, -o "$tmp/events.csv" -e "$(IFS=,; echo "${event_specs[*]}")" -- "${cmd[@]}" &
else
  "${cmd[@]}" &
fi
pid=$!
unset QUIESCE_NUMA_MAPS_HOLD

target=$pid  # whose numa_maps: CMD itself, or perf's child
held=0
samples=0
last_sample=
period=$(awk -v m="$sample_ms" 'BEGIN { printf "%.3f", m / 1000 }')
partial=  # what a read that timed out mid-line took: bash reads a fifo byte
          # by byte and keeps those bytes in the variable, so the next read
          # returns only the rest of the line (seen under a slow guest)
while kill -0 "$pid" 2>/dev/null; do
  line=
  if IFS= read -r -t "$period" -u 3 line; then
    line=$partial$line partial=
    if [[ $line =~ ^ready\ ([0-9]+)$ ]]; then
      target=${BASH_REMATCH[1]}
      if cp "/proc/$target/numa_maps" "$tmp/numa_maps.final" 2>/dev/null; then held=1; fi
      echo go >&4
    fi
    continue
  fi
  partial+=$line
  if [[ $target == "$pid" && ${#event_specs[@]} -gt 0 ]]; then
    c=$(children_of "$pid" | head -n1 || true)
    [[ -n $c ]] && target=$c
  fi
  if cp "/proc/$target/numa_maps" "$tmp/numa_maps.sample" 2>/dev/null && [[ -s $tmp/numa_maps.sample ]]; then
    mv "$tmp/numa_maps.sample" "$tmp/numa_maps.last"
    samples=$((samples + 1))
    last_sample=$(now_ns)
  fi
done
set +e
wait "$pid"
rc=$?
set -e
t1=$(now_ns)
if [[ -n $uncore_pid ]]; then
  # End the system-wide count by ending its placeholder command: perf then
  # prints its counts as for any command (a background job ignores SIGINT).
  for c in $(children_of "$uncore_pid" || true); do kill "$c" 2>/dev/null || true; done
  wait "$uncore_pid" 2>/dev/null || true
  uncore_pid=
fi
numastat_snapshot "$tmp/numastat.after"
secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
say "$me: exit $rc after $secs s"

# ---- pages (numa_maps) ----
maps=
maps_note=
if [[ $held == 1 ]]; then
  maps=$tmp/numa_maps.final
  maps_note="read while the program held its memory (QUIESCE_NUMA_MAPS_HOLD handshake)"
elif [[ -s $tmp/numa_maps.last ]]; then
  maps=$tmp/numa_maps.last
  ago=$(awk -v a="$last_sample" -v b="$t1" 'BEGIN { printf "%.0f", (b - a) / 1e6 }')
  maps_note="last of $samples samples, ${ago} ms before the command ended"
fi
pages_json="[]"
if [[ -z $maps ]]; then
  skip "numa_maps: no sample of /proc/$target/numa_maps (the command ended within ${sample_ms} ms, or no NUMA in this kernel); lower --sample-ms"
else
  cp "$maps" "$out_dir/$me.numa_maps"
  say "$me: pages per node, /proc/$target/numa_maps ($maps_note; copy: $out_dir/$me.numa_maps):"
  # N<node>=<pages> on each mapping; kernelpagesize_kB gives the page size;
  # anon= counts the mapping's anonymous pages.
  awk '{
         kb = 4; anon = 0
         for (i = 1; i <= NF; i++) if ($i ~ /^kernelpagesize_kB=/) { split($i, a, "="); kb = a[2] }
         for (i = 1; i <= NF; i++) if ($i ~ /^anon=/) anon = 1
         for (i = 1; i <= NF; i++) if ($i ~ /^N[0-9]+=/) {
           split(substr($i, 2), a, "="); pages[a[1]] += a[2]; bytes[a[1]] += a[2] * kb * 1024
           if (anon) anonp[a[1]] += a[2]
         }
       }
       END { for (n in pages) printf "%d %d %d %d\n", n, pages[n], bytes[n], anonp[n] }' "$maps" | sort -n >"$tmp/pages"
  rows=()
  while read -r n p b a; do
    say "$me: numa_maps node $n: pages=$p anon_pages=$a bytes=$b ($(awk -v b="$b" 'BEGIN { printf "%.1f", b / 1048576 }') MiB)"
    rows+=("{\"node\": $n, \"pages\": $p, \"anon_pages\": $a, \"bytes\": $b}")
  done <"$tmp/pages"
  pages_json="[$(IFS=,; echo "${rows[*]}")]"
fi

# ---- numastat deltas ----
numastat_json="[]"
if [[ $numastat_ok == 1 ]]; then
  say "$me: numastat deltas per node (allocations: one per page, or per huge page; system-wide, during the command):"
  rows=()
  for n in "${nodes[@]}"; do
    line=$(awk -v n="$n" 'NR == FNR { if ($1 == n) before[$2] = $3; next }
                          $1 == n { d = $3 - before[$2]; printf "%s=%s%d ", $2, (d >= 0 ? "+" : ""), d }' \
             "$tmp/numastat.before" "$tmp/numastat.after")
    say "$me: numastat node $n: ${line% }"
    fields=$(sed -E 's/([a-z_]+)=\+?(-?[0-9]+)/"\1": \2,/g; s/, *$//' <<<"${line% }")
    rows+=("{\"node\": $n, ${fields%,}}")
  done
  numastat_json="[$(IFS=,; echo "${rows[*]}")]"
fi

# ---- attribution ----
if [[ -s $tmp/pages && ${#nodes[@]} -gt 1 ]]; then
  top=$(sort -k2,2nr "$tmp/pages" | head -n1)
  read -r tn tp _ <<<"$top"
  total=$(awk '{ s += $2 } END { print s + 0 }' "$tmp/pages")
  say "$me: most pages on node $tn ($tp of $total)"
fi

# ---- perf counts (perf stat -x, lines: count,unit,event,...; raw event
# names have commas of their own, so the event is found between commas) ----
# perf_counts CSV WHAT NAMES_VAR SPECS_VAR HEADING: where perf wrote CSV, says
# HEADING and each event's count ("$me: WHAT NAME [SPEC]: COUNT"; the arrays
# NAMES_VAR and SPECS_VAR name the events) and sets counts_json to their JSON
# array; else counts_json is [].
perf_counts() {
  local csv=$1 what=$2 heading=$5 i v rows=()
  local -n names=$3 specs=$4
  counts_json="[]"
  [[ -s $csv ]] || return 0
  say "$me: $heading:"
  for i in "${!specs[@]}"; do
    v=$(awk -F, -v e=",${specs[$i]}," 'index($0, e) { print $1; exit }' "$csv")
    say "$me: $what ${names[$i]} [${specs[$i]}]: ${v:-?}"
    rows+=("{\"name\": $(json_str "${names[$i]}"), \"event\": $(json_str "${specs[$i]}"), \"count\": $(json_str "${v:-}")}")
  done
  counts_json="[$(IFS=,; echo "${rows[*]}")]"
}
perf_counts "$tmp/events.csv" event event_names event_specs "events counted for the command (perf stat)"
events_json=$counts_json
perf_counts "$tmp/uncore.csv" interconnect uncore_names uncore_specs "interconnect, system-wide during the command (perf stat -a)"
uncore_json=$counts_json

[[ $rc -eq 0 ]] || say "$me: FAIL: the command exited with $rc"
say "$me: ${#skips[@]} skip(s); summary $summary, JSON $json"
{
  echo "{"
  echo "  \"tool\": \"$me\","
  echo "  \"command\": $(json_str "${cmd[*]}"), \"exit\": $rc, \"seconds\": $secs,"
  echo "  \"nodes\": [$(IFS=,; echo "${nodes[*]}")],"
  echo "  \"machine\": {\"cpu\": $(json_str "$cpu_name"), \"vendor\": $(json_str "$cpu_vendor"), \"family\": $(json_str "$cpu_family"), \"model\": $(json_str "$cpu_model"), \"hypervisor\": $(json_str "$hypervisor")},"
  echo "  \"perf\": {\"path\": $(json_str "$perf_bin"), \"paranoid\": $(json_str "$paranoid"), \"root\": $is_root, \"hardware_counters\": $([[ $hw_ok == 1 ]] && echo true || echo false), \"why_not\": $(json_str "$hw_why")},"
  echo "  \"numa_maps\": {\"pid\": $target, \"held\": $([[ $held == 1 ]] && echo true || echo false), \"note\": $(json_str "$maps_note"), \"pages\": $pages_json},"
  echo "  \"numastat_delta\": $numastat_json,"
  echo "  \"events\": $events_json,"
  echo "  \"interconnect\": $uncore_json,"
  printf '  "skips": ['
  for i in "${!skips[@]}"; do printf '%s%s' "$( ((i > 0)) && echo ', ')" "$(json_str "${skips[$i]}")"; done
  echo "]"
  echo "}"
} >"$json"
[[ $rc -eq 0 ]]
