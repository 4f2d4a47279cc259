#!/usr/bin/env bash
# tests/perf_scripts/perf_scripts_test.sh — runs scripts/layout_audit.sh and
# scripts/perf_false_sharing.sh on this machine (ctest perf_scripts_host):
# --help; the audit of quiesce's own types passes; the audit of known
# layouts (layout_fixture.cpp / .rules) passes the padded ones and fails the
# packed ones naming the field and the fix; --print; bad input is a usage
# error; perf_false_sharing.sh records with perf c2c where the PMU can, and
# says SKIP with the reason where it cannot (here), still giving the
# workbench's ratios and the layout audit; a failing command fails it. Its
# cross-socket sibling is tests/multinode/cross_socket_test.sh.
#
# usage: perf_scripts_test.sh --bench PATH [--cxx CXX]
# Exit 0 pass, 1 fail, 77 skip (pahole missing and not installable).
set -uo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
here="$root/tests/perf_scripts"
bench=
cxx=${CXX:-g++}
while [[ $# -gt 0 ]]; do
  case "$1" in
    --bench) bench=$2; shift ;;
    --cxx) cxx=$2; shift ;;
    *) echo "usage: perf_scripts_test.sh --bench PATH [--cxx CXX]" >&2; exit 2 ;;
  esac
  shift
done
[[ -x $bench ]] || { echo "perf_scripts_test: --bench: not an executable: '$bench'" >&2; exit 2; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# shellcheck source=../../scripts/lib/checks.sh
. "$root/scripts/lib/checks.sh"  # check, has, hasnt, json_ok

for s in layout_audit perf_false_sharing perf_cross_socket; do
  help=$(bash "$root/scripts/$s.sh" --help 2>&1)
  check "$s.sh --help exits 0 and prints usage" has "$help" "^Usage: scripts/$s.sh"
done

# ---- the workbench's command line ----
"$bench" --cpus 0,0 >/dev/null 2>&1
check "false_sharing_bench --cpus 0,0: usage error (exit 2)" test $? -eq 2
"$bench" --margin 0.5 >/dev/null 2>&1
check "false_sharing_bench --margin 0.5: usage error (exit 2)" test $? -eq 2
if command -v taskset >/dev/null 2>&1; then
  one=$(taskset -c "$(cut -d, -f1 <<<"$(taskset -pc $$ | sed 's/.*: //' | tr '-' ',')")" "$bench" --check --quick 2>&1)
  check "false_sharing_bench on one CPU: skipped (77)" test $? -eq 77
  check "... with the reason" has "$one" "^SKIP: false_sharing_bench: the process may run on 1 CPU"
fi
list=$("$bench" --list)
check "false_sharing_bench --list: the seven cases" test "$(wc -l <<<"$list")" -eq 7

# ---- layout_audit.sh on quiesce's types ----
if ! command -v pahole >/dev/null 2>&1; then
  "$root/scripts/ensure_packages.sh" dwarves >/dev/null 2>&1 || true
fi
if ! command -v pahole >/dev/null 2>&1; then
  skipped=$(bash "$root/scripts/layout_audit.sh" --no-install --out-dir "$out/audit" 2>&1)
  check "without pahole: exit 77 and a SKIP naming the package" has "$skipped" "^SKIP: layout_audit: pahole is not installed \(Debian package dwarves"
  echo "SKIP: perf_scripts_test: pahole (dwarves) is not installed: the layout audit cannot be checked"
  ((failures == 0)) && exit 77
  exit 1
fi
audit=$(bash "$root/scripts/layout_audit.sh" --no-install --cxx "$cxx" --out-dir "$out/audit" 2>&1)
rc=$?
echo "$audit" | sed 's/^/  | /'
check "layout_audit.sh: quiesce's types pass (exit 0)" test "$rc" -eq 0
check "... no FAIL line" hasnt "$audit" "^FAIL layout:"
check "... the hazard record is checked" has "$audit" "^PASS layout: record \[whole 128\]"
check "... node_pool::impl's mutex starts its block" has "$audit" "^PASS layout: impl::m \[starts 128\] \(pool:"
check "... rcu_domain's retired_ is alone" has "$audit" "^PASS layout: basic_rcu_domain<quiesce::rcu_flavor::memb>::retired_ \[alone 128\]"
check "... writes the summary" test -s "$out/audit/layout_audit.txt"
check "... writes well-formed JSON" json_ok "$out/audit/layout_audit.json"

# ---- layout_audit.sh on known layouts ----
fixture=$(bash "$root/scripts/layout_audit.sh" --no-install --cxx "$cxx" --rules "$here/layout_fixture.rules" --out-dir "$out/fixture" 2>&1)
rc=$?
echo "$fixture" | sed 's/^/  | /'
check "fixture: exit 1 (broken rules)" test "$rc" -eq 1
while read -r expected; do
  st=${expected%%-*}
  check "fixture: $expected" has "$fixture" "^$st layout: .* -- $expected\$"
done < <(awk '$1 ~ /^rule/ { print $NF }' "$here/layout_fixture.rules")
check "fixture: the packed field's failure names the next field and the fix" \
  has "$fixture" "^FAIL layout: packed_counters::produced .*the next member, consumed, starts at 8, inside produced's block: give consumed alignas\(128\)"
check "fixture: the unaligned type's failure says to add alignas" \
  has "$fixture" "^FAIL layout: unaligned_state \[whole 128\].*put alignas\(128\) on the type"
check "fixture: counts" has "$fixture" "^layout_audit: 4 passed, 5 failed, 1 skipped$"
check "fixture: JSON well formed" json_ok "$out/fixture/layout_audit.json"
check "fixture: JSON has every rule" test "$(python3 -c 'import json, sys; print(len(json.load(open(sys.argv[1]))["results"]))' "$out/fixture/layout_audit.json")" = 10

printed=$(bash "$root/scripts/layout_audit.sh" --no-install --cxx "$cxx" --print node_retired --unit hp 2>&1)
check "--print node_retired shows its members and size" has "$printed" "size: 128, cachelines: 2"
bash "$root/scripts/layout_audit.sh" --no-install --cxx "$cxx" --print no_such_type --unit hp >/dev/null 2>&1
check "--print of an unknown type: exit 1" test $? -eq 1
printf 'unit x tests/perf_scripts/layout_fixture.cpp\nrule x padded_counters sideways a 128 bad\n' >"$out/bad.rules"
bad=$(bash "$root/scripts/layout_audit.sh" --no-install --rules "$out/bad.rules" 2>&1)
check "a bad rules file: exit 2" test $? -eq 2
check "... naming the line and the check" has "$bad" "bad.rules:2: unknown check 'sideways'"

# ---- perf_false_sharing.sh ----
pfs=$(bash "$root/scripts/perf_false_sharing.sh" --no-install --bench "$bench" --bench-args "--ops 100000 --repetitions 1" \
        --audit-args "--cxx $cxx" --out-dir "$out/pfs" -- "$bench" --list 2>&1)
rc=$?
echo "$pfs" | sed 's/^/  | /'
check "perf_false_sharing.sh: exit 0" test "$rc" -eq 0
check "... reports perf_event_paranoid and the hardware counters" has "$pfs" "^perf_false_sharing: perf: .*perf_event_paranoid=.*hardware counters: "
if has "$pfs" "hardware counters: yes" && hasnt "$pfs" "^SKIP: perf_false_sharing: perf c2c"; then
  check "PMU: perf c2c recorded the command" has "$pfs" "^perf_false_sharing: perf c2c record -- "
  check "PMU: the contended lines are reported" has "$pfs" "^perf_false_sharing: top contended cache lines"
else
  check "no PMU: perf c2c is a SKIP with the reason" \
    has "$pfs" "^SKIP: perf_false_sharing: perf c2c: .*(no hardware counters|not installed|IBS|PEBS|paranoid)"
fi
check "... runs the command and reports its exit" has "$pfs" "^perf_false_sharing: command: .* --list: exit 0"
check "... the workbench ran (its table)" has "$pfs" "^  \| counters \| packed \|"
check "... the layout audit ran" has "$pfs" "^  layout_audit: [0-9]+ passed, 0 failed"
check "... JSON well formed" json_ok "$out/pfs/perf_false_sharing.json"
check "... JSON embeds the workbench and the audit" \
  python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); assert d["workbench"]["tool"] == "false_sharing_bench" and d["layout_audit"]["failed"] == 0' \
  "$out/pfs/perf_false_sharing.json"

# The perf c2c summary, on a report in perf 6.1's --stdio format
# (perf_c2c_report.txt, hand-written: this machine cannot record one).
c2c=$(bash "$root/scripts/perf_false_sharing.sh" --no-install --no-bench --no-audit --top 5 \
        --c2c-report "$here/perf_c2c_report.txt" --out-dir "$out/c2c" 2>&1)
check "--c2c-report: exit 0" test $? -eq 0
check "... the top line with its local and remote HITM" has "$c2c" "^  line 0 at 0x55d0c2a3e080 \(node 0\): HITM 1403 \(local 1250, remote 153\)$"
check "... the second line" has "$c2c" "^  line 1 at 0x55d0c2a3e100 \(node 1\): HITM 212 \(local 180, remote 32\)$"
check "... offset 0x8 of line 0 and its symbol" has "$c2c" "^    offset 0x8: run_counters<counter_pair<8ul> > \(false_sharing_bench.cpp:201\), node 1$"
check "... offset 0x10 of line 1" has "$c2c" "^    offset 0x10: run_spsc<spsc_packed> \(false_sharing_bench.cpp:240\), node 1$"
check "... JSON lists both lines" \
  python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); assert [l["address"] for l in d["c2c"]["lines"]] == ["0x55d0c2a3e080", "0x55d0c2a3e100"]' \
  "$out/c2c/perf_false_sharing.json"
c2c1=$(bash "$root/scripts/perf_false_sharing.sh" --no-install --no-bench --no-audit --top 1 \
        --c2c-report "$here/perf_c2c_report.txt" --out-dir "$out/c2c1" 2>&1)
check "--top 1 shows one line" hasnt "$c2c1" "^  line 1 "

# ---- the PMU paths, with a stand-in perf (fake_pmu/bin/perf) and the
# cpuinfo and PMU list of an Intel Skylake-SP and an AMD Zen 4 ----
fake="$here/fake_pmu"
on_fake() {  # on_fake intel|amd SCRIPT ARGS...: run a script as if on that machine
  local cpu=$1
  shift
  env PATH="$fake/bin:$PATH" QUIESCE_PERF_CPUINFO="$fake/cpuinfo_$cpu" QUIESCE_PERF_PMU_DIR="$fake/devices_$cpu" \
    FAKE_PERF_LOG="$out/fake_perf_$cpu.log" bash "$@"
}
for cpu in intel amd; do
  r=$(on_fake $cpu "$root/scripts/perf_false_sharing.sh" --no-install --no-bench --no-audit --top 1 \
        --out-dir "$out/fake-pfs-$cpu" -- "$bench" --list 2>&1)
  check "$cpu PMU: perf_false_sharing.sh exits 0" test $? -eq 0
  check "$cpu PMU: perf c2c records the command" has "$r" "^perf_false_sharing: perf c2c record -- .*false_sharing_bench --list$"
  check "$cpu PMU: ... and reports its top line's HITM split" has "$r" "^  line 0 at 0x55d0c2a3e080 \(node 0\): HITM 1403 \(local 1250, remote 153\)$"
  check "$cpu PMU: no c2c SKIP" hasnt "$r" "^SKIP: perf_false_sharing: perf c2c"
done
cross_socket_on_fake() {  # cross_socket_on_fake intel|amd: sets r (shown) and rc
  r=$(on_fake "$1" "$root/scripts/perf_cross_socket.sh" --no-install --out-dir "$out/fake-xs-$1" -- "$bench" --list 2>&1)
  rc=$?
  echo "$r" | sed 's/^/  | /'
}
cross_socket_on_fake intel
check "Intel PMU: perf_cross_socket.sh exits 0" test "$rc" -eq 0
check "Intel PMU: remote DRAM loads by name" has "$r" "^perf_cross_socket: event remote DRAM loads \[mem_load_l3_miss_retired.remote_dram\]: 1111$"
check "Intel PMU: remote forwarded loads by raw code (perf names it not)" has "$r" "^perf_cross_socket: event remote forwarded loads \[cpu/event=0xd3,umask=0x08/\]: 1333$"
check "Intel PMU: an event perf lacks is a SKIP" has "$r" "^SKIP: perf_cross_socket: event node-load-misses .*: perf offers no 'node-load-misses' here"
check "Intel PMU: UPI data flits, system-wide, per link" has "$r" "^perf_cross_socket: interconnect uncore_upi_1 data flits sent \[uncore_upi_1/event=0x2,umask=0xf/\]: 1111$"
check "Intel PMU: the uncore count was system-wide (perf stat -a)" grep -q "^perf stat -a -x, " "$out/fake_perf_intel.log"
check "Intel PMU: JSON lists the events" \
  python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); assert len(d["events"]) == 4 and len(d["interconnect"]) == 2' \
  "$out/fake-xs-intel/perf_cross_socket.json"
cross_socket_on_fake amd
check "AMD PMU: perf_cross_socket.sh exits 0" test "$rc" -eq 0
check "AMD PMU: remote DRAM fills by raw code 0x43/0x40" has "$r" "^perf_cross_socket: event demand fills from remote DRAM \[cpu/event=0x43,umask=0x40/\]: 1000$"
check "AMD PMU: remote cache fills by raw code 0x43/0x10" has "$r" "^perf_cross_socket: event demand fills from remote caches \(remote HITM\) \[cpu/event=0x43,umask=0x10/\]: 1111$"
check "AMD PMU: xGMI without perf names is a SKIP" has "$r" "^SKIP: perf_cross_socket: AMD xGMI counters: the amd_df PMU exists but perf names no xGMI"

failing=$(bash "$root/scripts/perf_false_sharing.sh" --no-install --no-bench --no-audit --out-dir "$out/pfs-false" -- false 2>&1)
check "a failing command: exit 1" test $? -eq 1
check "... and says so" has "$failing" "FAIL: the command exited with 1"
bash "$root/scripts/perf_false_sharing.sh" --no-install --no-bench --no-audit --out-dir "$out/pfs-x" -- no_such_command_xyz >/dev/null 2>&1
check "an unknown command: usage error (exit 2)" test $? -eq 2
bash "$root/scripts/perf_false_sharing.sh" --no-install --top 0 >/dev/null 2>&1
check "--top 0: usage error (exit 2)" test $? -eq 2

echo "perf_scripts_test: $failures failure(s)"
((failures == 0))
