#!/usr/bin/env bash
# scripts/perf_false_sharing.sh — where do cache lines bounce? With a PMU
# that samples load latency (Intel PEBS, AMD IBS): perf c2c on a command,
# its most contended lines with offsets, symbols and local/remote HITM.
# Always (no PMU needed): the false-sharing workbench's packed/padded ratios
# and the layout audit of quiesce's own types.
set -euo pipefail
export LC_ALL=C

usage() {
  cat <<'EOF'
Usage: scripts/perf_false_sharing.sh [OPTIONS] [-- CMD [ARGS...]]

Reports false sharing three ways:
  1. perf c2c (needs Intel PEBS load latency or AMD IBS; detected): records
     CMD and prints the top contended cache lines: address, HITM (local and
     remote), and per line the offsets and symbols that touch it. Without
     such a PMU (most VMs) this part prints `SKIP: ...` with the reason; CMD
     still runs once and its time and exit status are reported.
  2. the workbench (perf/false_sharing_bench): two pinned threads on packed
     and padded layouts, median ns/op and the packed/padded ratios.
  3. the layout audit (scripts/layout_audit.sh, pahole): every hot shared
     field of quiesce's types alone on its 128-byte block.

Options:
  --bench PATH        the workbench binary (default: the newest
                      false_sharing_bench under build/)
  --bench-args ARGS   its arguments (default: --quick)
  --no-bench          skip part 2
  --no-audit          skip part 3
  --audit-args ARGS   arguments for layout_audit.sh (e.g. --build-dir build/gcc)
  --top N             contended lines to show (default 10)
  --c2c-report FILE   summarize a saved `perf c2c report --stdio` text instead
                      of recording (from this or another machine)
  --out-dir DIR       where perf_false_sharing.txt (summary), .json and the
                      perf c2c data and report go (default: out/ in the tree)
  --no-install        do not apt-get install missing packages (linux-perf, dwarves)
  -h, --help          this text

Needs: perf (Debian package linux-perf) with perf_event_paranoid <= 1 or
root for part 1; pahole (package dwarves) for part 3. What is missing is
reported as a SKIP line with the package or setting that provides it.

Exit: 0 (SKIP lines are not failures); 1 CMD failed, the workbench's own
verification failed, or a layout rule is broken; 2 usage error.
EOF
}

me=perf_false_sharing
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=lib/cli.sh
. "$root/scripts/lib/cli.sh"
# shellcheck source=perf_probe.sh
. "$root/scripts/perf_probe.sh"
bench=
bench_args=--quick
do_bench=1
do_audit=1
audit_args=
top=10
c2c_report=
out_dir="$root/out"
install=1
cli_command=optional
script_option() {  # the options of this script alone (scripts/lib/cli.sh)
  case "$1" in
    --bench) bench=${2:?--bench needs a path}; cli_took=2 ;;
    --bench-args) bench_args=${2-}; cli_took=2 ;;
    --no-bench) do_bench=0 ;;
    --no-audit) do_audit=0 ;;
    --audit-args) audit_args=${2-}; cli_took=2 ;;
    --top) top=${2:?--top needs a number}; cli_took=2 ;;
    --c2c-report) c2c_report=${2:?--c2c-report needs a file}; cli_took=2 ;;
    *) return 1 ;;
  esac
}
cli_parse "$@"
cmd=("${cli_rest[@]}")
[[ $top =~ ^[0-9]+$ && $top -ge 1 ]] || cli_usage_error "--top must be a positive number"
[[ -z $c2c_report || -r $c2c_report ]] || cli_usage_error "--c2c-report: cannot read '$c2c_report'"
if [[ -n $c2c_report && ${#cmd[@]} -gt 0 ]]; then cli_usage_error "--c2c-report and a command exclude each other"; fi
if [[ -n $bench && ! -x $bench ]]; then cli_usage_error "--bench: not an executable: '$bench'"; fi
if [[ ${#cmd[@]} -gt 0 ]] && ! command -v "${cmd[0]}" >/dev/null 2>&1; then
  cli_usage_error "command not found: '${cmd[0]}'"
fi

if [[ $install == 1 && -x $root/scripts/ensure_packages.sh ]]; then
  command -v perf >/dev/null 2>&1 || "$root/scripts/ensure_packages.sh" linux-perf >&2 || true
fi

report_open "$out_dir"
failures=0

perf_probe
perf_c2c_probe
say "$me: CPU: ${cpu_name:-unknown} (vendor ${cpu_vendor:-?}, family ${cpu_family:-?}, model ${cpu_model:-?}); $(nproc 2>/dev/null || echo '?') CPUs; hypervisor: ${hypervisor:-none}"
say "$me: perf: ${perf_bin:-missing}; perf_event_paranoid=$paranoid; root=$is_root; hardware counters: $([[ $hw_ok == 1 ]] && echo yes || echo "no ($hw_why)")"
say "$me: PMUs: ${pmus:-none}"

# summarize_c2c REPORT DATA: the top contended lines of a `perf c2c report
# --stdio` text, and per line the offsets and symbols touching it; sets
# c2c_json. The "Shared Data Cache Line Table" has one row per contended
# line sorted by HITM (perf 5.x-6.x columns: index, address, node, PA count,
# total HITM %, total, local and remote HITM, ...; the header lines are
# quoted for their meaning); the "Shared Cache Line Distribution Pareto"
# has, under each line's header row, one row per offset with its code
# address, symbol and source.
summarize_c2c() {
  local report=$1 data=$2 lines header l rows=() f
  lines=$(awk '/Shared Data Cache Line Table/ { t = 1; next }
               t && /Shared Cache Line Distribution Pareto/ { exit }
               t && /^ *[0-9]+ +0x[0-9a-f]+/ { print }' "$report" | head -n "$top")
  header=$(awk '/Shared Data Cache Line Table/ { t = 1; next } t && /Index|Cacheline/ { print; n++ } n >= 3 { exit }' "$report")
  say "$me: top contended cache lines (perf c2c report --stdio; full report: $report):"
  if [[ -z $lines ]]; then
    say "  (no contended lines: no HITM records; the command shares no written line between CPUs)"
  else
    while IFS= read -r l; do say "  $l"; done <<<"$header"
    while IFS= read -r l; do say "  $l"; done <<<"$lines"
    # The same, by column name: the header row that starts "# Index" names
    # the columns ("PA cnt" is one column).
    say "$me: contended lines, HITM split (local = same node, remote = another node):"
    awk -v top="$top" '
      /Shared Data Cache Line Table/ { t = 1; next }
      t && /Shared Cache Line Distribution Pareto/ { exit }
      t && /^# *Index/ {
        h = $0; sub(/^# */, "", h); gsub(/PA cnt/, "PA_cnt", h); n = split(h, col, /[ \t]+/)
        for (i = 1; i <= n; i++) {
          if (col[i] == "LclHitm" && !lcl) lcl = i
          if (col[i] == "RmtHitm" && !rmt) rmt = i
          if (col[i] == "Total" && !tot) tot = i
        }
        next
      }
      t && /^ *[0-9]+ +0x[0-9a-f]+/ && lcl && rmt {
        if (++k > top) exit
        printf "  line %s at %s (node %s): HITM %s (local %s, remote %s)\n", $1, $2, $3, (tot ? $tot : "?"), $lcl, $rmt
      }' "$report" | tee -a "$summary"
    say "$me: offsets and symbols per line (Pareto: offset in the line, symbol, source, node):"
    awk -v top="$top" '/Shared Cache Line Distribution Pareto/ { t = 1; next }
         t && /^ *-+ *$/ { next }
         t && /^ *[0-9]+( +[0-9]+)* +0x[0-9a-f]+ *$/ { if (++n > top) exit; print "  line " $1 " at " $NF ":"; next }
         t && n > 0 && /0x[0-9a-f]+ .*[A-Za-z_]/ {
           off = ""; for (i = 1; i <= NF; i++) if ($i ~ /^0x[0-9a-f]+$/) { off = $i; break }
           sym = $0; if (match(sym, /\[[.k]\] [^ ]+( [^ ]+)*  /)) { sym = substr(sym, RSTART + 4, RLENGTH - 6) } else sym = "?"
           src = "?"; for (i = 1; i <= NF; i++) if ($i ~ /:[0-9]+$/) src = $i
           printf "    offset %s: %s (%s), node %s\n", off, sym, src, $NF
         }' "$report" | tee -a "$summary"
  fi
  while IFS= read -r l; do
    [[ -z $l ]] && continue
    read -r -a f <<<"$l"
    rows+=("{\"index\": ${f[0]}, \"address\": $(json_str "${f[1]}"), \"row\": $(json_str "$l")}")
  done <<<"$lines"
  c2c_json="{\"ran\": true, \"data\": $(json_str "$data"), \"report\": $(json_str "$report"), \"lines\": [$(IFS=,; echo "${rows[*]}")]}"
}

# ---- 1. perf c2c ----
c2c_json='{"ran": false}'
cmd_json=null
if [[ -n $c2c_report ]]; then
  summarize_c2c "$c2c_report" ""
elif [[ ${#cmd[@]} -eq 0 ]]; then
  if [[ $c2c_ok == 1 ]]; then
    say "$me: perf c2c: available (no command given: nothing to record)"
  else
    skip "perf c2c: $c2c_why"
  fi
else
  t0=$(date +%s%N)
  set +e
  if [[ $c2c_ok == 1 ]]; then
    say "$me: perf c2c record -- ${cmd[*]}"
    "$perf_bin" c2c record -o "$out_dir/perf_c2c.data" -- "${cmd[@]}"
    rc=$?
  else
    skip "perf c2c: $c2c_why; running the command without it"
    "${cmd[@]}"
    rc=$?
  fi
  set -e
  t1=$(date +%s%N)
  secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
  say "$me: command: ${cmd[*]}: exit $rc, $secs s"
  cmd_json="{\"command\": $(json_str "${cmd[*]}"), \"exit\": $rc, \"seconds\": $secs}"
  if [[ $rc -ne 0 ]]; then
    say "$me: FAIL: the command exited with $rc"
    failures=$((failures + 1))
  fi
  if [[ $c2c_ok == 1 && -s $out_dir/perf_c2c.data ]]; then
    report="$out_dir/perf_c2c_report.txt"
    if "$perf_bin" c2c report -i "$out_dir/perf_c2c.data" --stdio --full-symbols >"$report" 2>"$out_dir/perf_c2c_report.err"; then
      summarize_c2c "$report" "$out_dir/perf_c2c.data"
    else
      say "$me: FAIL: perf c2c report failed: $(head -n 3 "$out_dir/perf_c2c_report.err" | tr '\n' ' ')"
      failures=$((failures + 1))
    fi
  fi
fi

# ---- 2. the workbench ----
bench_json=null
if [[ $do_bench == 1 ]]; then
  if [[ -z $bench ]]; then
    bench=$(ls -t "$root"/build/*/tests/perf_scripts/false_sharing_bench "$root"/build/*/perf/false_sharing_bench 2>/dev/null | head -n1 || true)
  fi
  if [[ -z $bench ]]; then
    skip "workbench: no false_sharing_bench under build/ (cmake --build build/gcc --target false_sharing_bench, or --bench PATH)"
  else
    say "$me: workbench: $bench $bench_args"
    set +e
    # shellcheck disable=SC2086
    "$bench" $bench_args --json "$out_dir/false_sharing_bench.json" >"$out_dir/false_sharing_bench.txt" 2>&1
    rc=$?
    set -e
    sed 's/^/  /' "$out_dir/false_sharing_bench.txt" | tee -a "$summary"
    case $rc in
      0) [[ -s $out_dir/false_sharing_bench.json ]] && bench_json=$(cat "$out_dir/false_sharing_bench.json") ;;
      77) skip "workbench: $(grep -m1 '^SKIP' "$out_dir/false_sharing_bench.txt" | sed 's/^SKIP: //' || echo 'skipped')" ;;
      *) say "$me: FAIL: the workbench exited with $rc"; failures=$((failures + 1)) ;;
    esac
  fi
fi

# ---- 3. the layout audit ----
audit_json=null
if [[ $do_audit == 1 ]]; then
  set +e
  inst=()
  [[ $install == 1 ]] || inst=(--no-install)
  # shellcheck disable=SC2086
  bash "$root/scripts/layout_audit.sh" "${inst[@]}" --out-dir "$out_dir" $audit_args >"$out_dir/layout_audit.log" 2>&1
  rc=$?
  set -e
  grep -E '^(FAIL|SKIP)|^layout_audit: [0-9]+ passed' "$out_dir/layout_audit.log" | sed 's/^/  /' | tee -a "$summary" || true
  case $rc in
    0) audit_json=$(cat "$out_dir/layout_audit.json") ;;
    77) skip "layout audit: $(grep -m1 '^SKIP' "$out_dir/layout_audit.log" | sed 's/^SKIP: layout_audit: //')" ;;
    *)
      say "$me: FAIL: the layout audit found broken rules or could not run (log: $out_dir/layout_audit.log)"
      [[ -s $out_dir/layout_audit.json ]] && audit_json=$(cat "$out_dir/layout_audit.json")
      failures=$((failures + 1))
      ;;
  esac
fi

say "$me: $failures failure(s), ${#skips[@]} skip(s); summary $summary, JSON $json"
{
  echo "{"
  echo "  \"tool\": \"$me\","
  echo "  \"machine\": {\"cpu\": $(json_str "$cpu_name"), \"vendor\": $(json_str "$cpu_vendor"), \"family\": $(json_str "$cpu_family"), \"model\": $(json_str "$cpu_model"), \"hypervisor\": $(json_str "$hypervisor"), \"pmus\": $(json_str "$pmus")},"
  echo "  \"perf\": {\"path\": $(json_str "$perf_bin"), \"paranoid\": $(json_str "$paranoid"), \"root\": $is_root, \"hardware_counters\": $([[ $hw_ok == 1 ]] && echo true || echo false), \"why_not\": $(json_str "$hw_why"), \"c2c\": $([[ $c2c_ok == 1 ]] && echo true || echo false), \"c2c_why_not\": $(json_str "$c2c_why")},"
  echo "  \"command\": $cmd_json,"
  echo "  \"c2c\": $c2c_json,"
  echo "  \"workbench\": $bench_json,"
  echo "  \"layout_audit\": $audit_json,"
  printf '  "skips": ['
  for i in "${!skips[@]}"; do printf '%s%s' "$( ((i > 0)) && echo ', ')" "$(json_str "${skips[$i]}")"; done
  echo "],"
  echo "  \"failures\": $failures"
  echo "}"
} >"$json"
((failures == 0))
