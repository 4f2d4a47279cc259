# scripts/perf_probe.sh — sourced by perf_false_sharing.sh and
# perf_cross_socket.sh: what this machine's perf and PMU can do, detected,
# never assumed, each "no" with its reason and the fix.
#
# perf_probe sets:
#   cpu_vendor (GenuineIntel, AuthenticAMD, ...), cpu_family, cpu_model (decimal),
#   cpu_name, hypervisor (name or empty)
#   perf_bin ("" when missing), perf_why (why perf cannot be used)
#   paranoid (/proc/sys/kernel/perf_event_paranoid, or "?"), is_root (0/1)
#   hw_ok (1 when hardware counters count), hw_why
#   pmus (the PMUs in /sys/bus/event_source/devices, space separated)
# perf_c2c_probe sets c2c_ok and c2c_why (load-latency / IBS sampling usable).
# json_str STRING prints STRING as a JSON string.
# report_open DIR, say and skip: the summary and the SKIP lines (below).
#
# Tests point QUIESCE_PERF_CPUINFO and QUIESCE_PERF_PMU_DIR at fixtures (a
# cpuinfo file, a directory of PMU names) to exercise the paths of CPUs this
# machine is not; by default they are /proc/cpuinfo and
# /sys/bus/event_source/devices.
cpuinfo=${QUIESCE_PERF_CPUINFO:-/proc/cpuinfo}
pmu_dir=${QUIESCE_PERF_PMU_DIR:-/sys/bus/event_source/devices}

json_str() {
  local s=${1//\\/\\\\}
  s=${s//\"/\\\"}
  s=${s//$'\t'/ }
  s=${s//$'\n'/ }
  printf '"%s"' "$s"
}

# report_open DIR: summary=DIR/$me.txt (emptied) and json=DIR/$me.json;
# skips=(). say LINE prints LINE and appends it to the summary; skip REASON
# says "SKIP: $me: REASON" and keeps REASON in skips (for the JSON).
# shellcheck disable=SC2034,SC2154  # json is the script's to write; me is the script's name
report_open() {
  mkdir -p "$1"
  summary="$1/$me.txt"
  json="$1/$me.json"
  : >"$summary"
  skips=()
}
say() { echo "$*" | tee -a "$summary"; }
skip() { skips+=("$1"); say "SKIP: $me: $1"; }

perf_probe() {
  cpu_vendor=$(awk -F': ' '/^vendor_id/ { print $2; exit }' "$cpuinfo" 2>/dev/null)
  cpu_family=$(awk -F': ' '/^cpu family/ { print $2; exit }' "$cpuinfo" 2>/dev/null)
  cpu_model=$(awk -F': ' '/^model\t/ { print $2; exit }' "$cpuinfo" 2>/dev/null)
  cpu_name=$(awk -F': ' '/^model name/ { print $2; exit }' "$cpuinfo" 2>/dev/null)
  hypervisor=
  if grep -qw hypervisor "$cpuinfo" 2>/dev/null; then
    hypervisor=$(cat /sys/hypervisor/type 2>/dev/null || true)
    [[ -n $hypervisor ]] || hypervisor=$(lscpu 2>/dev/null | awk -F': *' '/Hypervisor vendor/ { print $2; exit }' || true)
    [[ -n $hypervisor ]] || hypervisor="yes (unknown)"
  fi
  paranoid=$(cat /proc/sys/kernel/perf_event_paranoid 2>/dev/null || echo "?")
  is_root=0
  [[ $(id -u) -eq 0 ]] && is_root=1
  pmus=
  if [[ -d $pmu_dir ]]; then
    pmus=$(ls "$pmu_dir" 2>/dev/null | tr '\n' ' ' || true)
    pmus=${pmus% }
  fi
  perf_bin=$(command -v perf 2>/dev/null || true)
  perf_why=
  hw_ok=0
  hw_why=
  if [[ -z $perf_bin ]]; then
    perf_why="perf is not installed (Debian: apt-get install linux-perf)"
    hw_why=$perf_why
    return 0
  fi
  # Debian's /usr/bin/perf is a wrapper that fails when no perf matches the
  # running kernel's version; make it say so.
  local v
  if ! v=$("$perf_bin" --version 2>&1); then
    perf_why="perf does not run: ${v//$'\n'/ } (install linux-perf matching the kernel, or set PERF_EXEC_PATH)"
    perf_bin=
    hw_why=$perf_why
    return 0
  fi
  if [[ $paranoid != "?" && $paranoid -gt 2 && $is_root == 0 ]]; then
    perf_why="perf_event_paranoid is $paranoid: unprivileged perf is off (run as root, or sysctl kernel.perf_event_paranoid=1)"
    hw_why=$perf_why
    return 0
  fi
  local out
  out=$("$perf_bin" stat -x, -e instructions -- true 2>&1 >/dev/null || true)
  if grep -q '^[0-9][0-9]*,' <<<"$out"; then
    hw_ok=1
  elif grep -qi 'not supported' <<<"$out"; then
    hw_why="no hardware counters: perf stat -e instructions says <not supported> (a VM without a virtual PMU${hypervisor:+; hypervisor: $hypervisor})"
  elif grep -qi 'permission\|paranoid\|access' <<<"$out"; then
    hw_why="perf may not count here: permission denied (perf_event_paranoid=$paranoid; run as root or sysctl kernel.perf_event_paranoid=1)"
  else
    hw_why="perf stat -e instructions failed: $(head -n 3 <<<"$out" | tr '\n' ' ')"
  fi
}

# perf c2c needs load-latency sampling with data addresses: Intel PEBS
# (the ldlat-loads/ldlat-stores events of perf mem) or AMD IBS (ibs_op PMU).
# The last word is a real `perf c2c record` of `true`.
perf_c2c_probe() {
  c2c_ok=0
  c2c_why=
  if [[ -z $perf_bin ]]; then c2c_why=$perf_why; return 0; fi
  if [[ $hw_ok != 1 ]]; then c2c_why="perf c2c needs hardware counters: $hw_why"; return 0; fi
  local mem_events
  mem_events=$("$perf_bin" mem record -e list 2>&1 || true)
  case $cpu_vendor in
    GenuineIntel)
      if ! grep -Eq 'ldlat-loads.*available|ldlat-stores.*available' <<<"$mem_events"; then
        c2c_why="Intel CPU without usable PEBS load-latency events (perf mem record -e list: $(tr '\n' ' ' <<<"$mem_events" | cut -c1-160); VMs rarely pass PEBS through)"
        return 0
      fi
      ;;
    AuthenticAMD | HygonGenuine)
      if [[ ! -d $pmu_dir/ibs_op ]]; then
        c2c_why="AMD CPU without IBS (no ibs_op PMU in $pmu_dir; VMs rarely expose IBS)"
        return 0
      fi
      ;;
    *)
      c2c_why="perf c2c supports Intel PEBS and AMD IBS only (CPU vendor: ${cpu_vendor:-unknown})"
      return 0
      ;;
  esac
  local d out
  d=$(mktemp -d)
  if out=$("$perf_bin" c2c record -o "$d/probe.data" -- true 2>&1); then
    c2c_ok=1
  else
    c2c_why="perf c2c record fails: $(tr '\n' ' ' <<<"$out" | cut -c1-200) (perf_event_paranoid=$paranoid; root or paranoid <= 1 may be needed)"
  fi
  rm -rf "$d"
}
