#!/usr/bin/env bash
# scripts/layout_audit.sh — checks with pahole that every hot shared field of
# quiesce's own types sits alone on its 128-byte block (the rules are in
# scripts/layout_audit.rules), and prints the layout of any type on request.
set -euo pipefail
export LC_ALL=C

usage() {
  cat <<'EOF'
Usage: scripts/layout_audit.sh [OPTIONS]
       scripts/layout_audit.sh --print TYPE [--unit UNIT | --object FILE.o]

Compiles the translation units named in scripts/layout_audit.rules with -g
(the library's .cpp files, whose internal types no header shows, and
scripts/tools/layout_probe.cpp, which instantiates the header-only
templates), reads their layouts with pahole (Debian package: dwarves) and
checks each rule: `whole` (the type owns whole 128-byte blocks), `alone`
(a field is alone on its block), `starts` (a field starts a block).

Options:
  --rules FILE      the rules (default: scripts/layout_audit.rules)
  --build-dir DIR   take the units' object files from this CMake build where
                    they have debug information (RelWithDebInfo, Debug),
                    instead of compiling them (the layout of that build's flags)
  --cxx CXX         compiler (default: $CXX, else g++)
  --cxxflags FLAGS  extra flags (default: -DNDEBUG, the release layout; pass
                    "" for a debug build's layout)
  --out-dir DIR     write layout_audit.txt (summary) and layout_audit.json
                    there (default: out/ in the source tree)
  --print TYPE      print TYPE's layout as pahole shows it (from every unit,
                    or only --unit UNIT, or from --object FILE) and exit
  --list            list the units and rules and exit
  --no-install      do not apt-get install dwarves when pahole is missing
  -h, --help        this text

Output lines: `PASS layout: ...`, `FAIL layout: ...` (the rule, the offsets
found and what to change), `SKIP layout: ...` (an optional type that does not
exist yet), then `layout_audit: N passed, N failed, N skipped`.

Exit: 0 every rule holds; 1 a rule is broken, a type is missing or a unit
does not compile; 2 usage error; 77 (SKIP) pahole is missing and cannot be
installed.
EOF
}

me=layout_audit
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=lib/cli.sh
. "$root/scripts/lib/cli.sh"
rules="$root/scripts/layout_audit.rules"
build_dir=
cxx=${CXX:-g++}
cxxflags=-DNDEBUG
out_dir="$root/out"
print_type=
print_unit=
print_object=
list=0
install=1
script_option() {  # the options of this script alone (scripts/lib/cli.sh)
  case "$1" in
    --rules) rules=${2:?--rules needs a file}; cli_took=2 ;;
    --build-dir) build_dir=${2:?--build-dir needs a directory}; cli_took=2 ;;
    --cxx) cxx=${2:?--cxx needs a compiler}; cli_took=2 ;;
    --cxxflags) cxxflags=${2-}; cli_took=2 ;;
    --print) print_type=${2:?--print needs a type name}; cli_took=2 ;;
    --unit) print_unit=${2:?--unit needs a unit name}; cli_took=2 ;;
    --object) print_object=${2:?--object needs a file}; cli_took=2 ;;
    --list) list=1 ;;
    *) return 1 ;;
  esac
}
cli_parse "$@"
[[ -r $rules ]] || cli_usage_error "--rules: cannot read '$rules'"
[[ -z $build_dir || -d $build_dir ]] || cli_usage_error "--build-dir: not a directory: '$build_dir'"
[[ -z $print_object || -r $print_object ]] || cli_usage_error "--object: cannot read '$print_object'"

# ---- rules ----
declare -A unit_src=()
unit_names=()
rule_lines=()
lineno=0
while IFS= read -r line || [[ -n $line ]]; do
  lineno=$((lineno + 1))
  line=${line%%#*}
  [[ -z ${line//[[:space:]]/} ]] && continue
  read -r -a w <<<"$line"
  case ${w[0]} in
    unit)
      [[ ${#w[@]} -eq 3 ]] || { echo "$me: $rules:$lineno: expected 'unit NAME SOURCE'" >&2; exit 2; }
      unit_src[${w[1]}]=${w[2]}
      unit_names+=("${w[1]}")
      ;;
    rule | 'rule?')
      [[ ${#w[@]} -ge 6 ]] || { echo "$me: $rules:$lineno: expected 'rule UNIT TYPE CHECK FIELD BLOCK WHY...'" >&2; exit 2; }
      [[ -n ${unit_src[${w[1]}]:-} ]] || { echo "$me: $rules:$lineno: unknown unit '${w[1]}' (declare it with a unit line first)" >&2; exit 2; }
      case ${w[3]} in
        whole) [[ ${w[4]} == - ]] || { echo "$me: $rules:$lineno: 'whole' takes no field (write -)" >&2; exit 2; } ;;
        alone | starts) [[ ${w[4]} != - ]] || { echo "$me: $rules:$lineno: '${w[3]}' needs a field" >&2; exit 2; } ;;
        *) echo "$me: $rules:$lineno: unknown check '${w[3]}' (whole, alone, starts)" >&2; exit 2 ;;
      esac
      [[ ${w[5]} =~ ^[0-9]+$ && ${w[5]} -gt 0 ]] || { echo "$me: $rules:$lineno: block must be a positive number" >&2; exit 2; }
      rule_lines+=("$line")
      ;;
    *) echo "$me: $rules:$lineno: unknown keyword '${w[0]}' (unit, rule, rule?)" >&2; exit 2 ;;
  esac
done <"$rules"
[[ -z $print_unit || -n ${unit_src[$print_unit]:-} ]] ||
  { echo "$me: --unit: unknown unit '$print_unit' (units: ${unit_names[*]})" >&2; exit 2; }

if [[ $list == 1 ]]; then
  for u in "${unit_names[@]}"; do echo "unit $u ${unit_src[$u]}"; done
  for r in "${rule_lines[@]}"; do echo "$r" | tr -s ' '; done
  exit 0
fi

# ---- tools ----
if ! command -v pahole >/dev/null 2>&1 && [[ $install == 1 && -x $root/scripts/ensure_packages.sh ]]; then
  "$root/scripts/ensure_packages.sh" dwarves >&2 || true
fi
if ! command -v pahole >/dev/null 2>&1; then
  echo "SKIP: $me: pahole is not installed (Debian package dwarves: apt-get install dwarves); the compile-time"
  echo "      checks (quiesce/base/layout.hpp static_asserts) still guard the structures types"
  exit 77
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# prepare UNIT: sets unit_obj[UNIT] to an object file of UNIT with debug
# information: --build-dir's when it has one, else compiled here. Returns 1
# (compiler errors on stderr) when the unit does not compile.
has_debug_info() {  # (not `readelf | grep -q`: an early grep exit fails the pipe under pipefail)
  local sections
  sections=$(readelf -S "$1" 2>/dev/null || true)
  grep -q '\.debug_info' <<<"$sections"
}
declare -A unit_obj=()
prepare() {
  local u=$1 src=${unit_src[$1]} o= f pkg_flags
  [[ -n ${unit_obj[$u]:-} ]] && return 0
  if [[ -n $build_dir ]]; then
    while IFS= read -r f; do
      if [[ $f == *"/${src#*/}.o" ]] && has_debug_info "$f"; then o=$f; break; fi
    done < <(find "$build_dir" -path "*/CMakeFiles/*" -name "$(basename "$src").o" 2>/dev/null)
  fi
  if [[ -z $o ]]; then
    o="$tmp/$u.o"
    pkg_flags=$(pkg-config --cflags liburcu numa 2>/dev/null || true)
    # shellcheck disable=SC2086
    if ! "$cxx" -std=c++20 -g -O0 -fno-eliminate-unused-debug-types $cxxflags \
        -I"$root/urcu_wrappers/include" -I"$root/numa/include" -I"$root/structures/seqlock/include" -I"$root/structures/hazard_pointers/include" -I"$root/structures/disruptor/include" -I"$root/structures/stm/include" -I"$root/structures/clocks/include" -I"$root/structures/base/include" $pkg_flags \
        -c "$root/$src" -o "$o" 2>"$tmp/$u.err"; then
      echo "$me: cannot compile $src with $cxx:" >&2
      sed 's/^/  /' "$tmp/$u.err" | head -20 >&2
      return 1
    fi
  fi
  unit_obj[$u]=$o
}

# pahole's view of one type (its stderr is DWARF-tag noise about C++ templates).
pahole_type() { pahole -C "$1" "$2" 2>/dev/null || true; }

# ---- --print ----
if [[ -n $print_type ]]; then
  found=0
  if [[ -n $print_object ]]; then
    objs=("$print_object")
    names=("$print_object")
  else
    objs=() names=()
    for u in "${unit_names[@]}"; do
      [[ -n $print_unit && $u != "$print_unit" ]] && continue
      prepare "$u" || exit 1
      objs+=("${unit_obj[$u]}") names+=("$u (${unit_src[$u]})")
    done
  fi
  for i in "${!objs[@]}"; do
    layout=$(pahole_type "$print_type" "${objs[$i]}")
    [[ -z $layout ]] && continue
    found=1
    echo "== $print_type in ${names[$i]}"
    echo "$layout"
  done
  if [[ $found == 0 ]]; then
    echo "$me: no type named '$print_type' in ${names[*]} (pahole names: unqualified, e.g. record, impl," >&2
    echo "  or with template arguments as pahole prints them, e.g. 'basic_rcu_domain<quiesce::rcu_flavor::memb>')" >&2
    exit 1
  fi
  exit 0
fi

# ---- audit ----
# members_of LAYOUT: "name offset size" per top-level data member, then
# "#size N" and "#align N": the type's alignment attribute or its members'
# largest, whichever is larger (0 when pahole shows neither; natural
# alignment, which for these rules is never enough).
members_of() {
  awk '
    /^\t[^\t\/].*;[ \t]*\/\*[ \t]*[0-9]+[ \t]+[0-9]+[ \t]*\*\/[ \t]*$/ {
      line = $0
      comment = line; sub(/.*\/\*[ \t]*/, "", comment); sub(/[ \t]*\*\/.*/, "", comment)
      split(comment, c, /[ \t]+/)
      decl = line; sub(/;[ \t]*\/\*.*$/, "", decl)
      # A member declared alignas(N) aligns the type to at least N (clang
      # puts the alignment only on the member, gcc on the type as well).
      if (match(decl, /__aligned__\([0-9]+\)/)) { m = substr(decl, RSTART + 12, RLENGTH - 13) + 0; if (m > member_align) member_align = m }
      gsub(/ __attribute__\(\([^)]*\([^)]*\)\)\)/, "", decl)
      gsub(/\[[^]]*\]/, "", decl)
      n = split(decl, t, /[ \t*&]+/)
      print t[n], c[1], c[2]
    }
    /^\t\/\* size: [0-9]+,/ { s = $0; sub(/.*size: /, "", s); sub(/,.*/, "", s); size = s }
    /^}/ { a = 0; if (match($0, /__aligned__\([0-9]+\)/)) { a = substr($0, RSTART + 12, RLENGTH - 13) } align = a }
    END { if (member_align > align + 0) align = member_align
          print "#size", size + 0; print "#align", align + 0 }'
}

mkdir -p "$out_dir"
summary="$out_dir/layout_audit.txt"
json="$out_dir/layout_audit.json"
: >"$summary"
say() { echo "$*" | tee -a "$summary"; }
pass=0 fail=0 skip=0
json_rows=()
json_str() { local s=${1//\\/\\\\}; s=${s//\"/\\\"}; printf '"%s"' "$s"; }
report() {  # report STATUS UNIT TYPE CHECK FIELD BLOCK DETAIL WHY
  local st=$1 u=$2 ty=$3 ck=$4 fd=$5 bl=$6 msg=$7 why=$8 what=$3
  [[ $fd != - ]] && what="$ty::$fd"
  say "$st layout: $what [$ck $bl] ($u: ${unit_src[$u]}): $msg -- $why"
  json_rows+=("    {\"status\": $(json_str "$st"), \"unit\": $(json_str "$u"), \"source\": $(json_str "${unit_src[$u]}"), \"type\": $(json_str "$ty"), \"check\": $(json_str "$ck"), \"field\": $(json_str "$fd"), \"block\": $bl, \"detail\": $(json_str "$msg"), \"why\": $(json_str "$why")}")
  case $st in PASS) pass=$((pass + 1)) ;; FAIL) fail=$((fail + 1)) ;; SKIP) skip=$((skip + 1)) ;; esac
}

say "$me: pahole $(pahole --version 2>/dev/null), $("$cxx" --version 2>/dev/null | head -n1) ${cxxflags:-(no extra flags)}${build_dir:+; objects from $build_dir where they have debug info}"
declare -A unit_ok=()
for u in "${unit_names[@]}"; do
  if prepare "$u"; then unit_ok[$u]=1; else unit_ok[$u]=0; fi
done
for r in "${rule_lines[@]}"; do
  read -r -a w <<<"$r"
  kind=${w[0]} u=${w[1]} ty=${w[2]} ck=${w[3]} fd=${w[4]} bl=${w[5]}
  why=$(echo "$r" | awk '{ for (i = 7; i <= NF; i++) printf "%s%s", $i, (i < NF ? " " : "") }')
  if [[ ${unit_ok[$u]} != 1 ]]; then
    report FAIL "$u" "$ty" "$ck" "$fd" "$bl" "the unit does not compile (errors above)" "$why"
    continue
  fi
  layout=$(pahole_type "$ty" "${unit_obj[$u]}")
  if [[ -z $layout ]]; then
    if [[ $kind == 'rule?' ]]; then
      report SKIP "$u" "$ty" "$ck" "$fd" "$bl" "type not in the unit yet (optional rule)" "$why"
    else
      report FAIL "$u" "$ty" "$ck" "$fd" "$bl" "no type '$ty' in the unit (renamed? update scripts/layout_audit.rules)" "$why"
    fi
    continue
  fi
  members=$(members_of <<<"$layout")
  size=$(awk '$1 == "#size" { print $2 }' <<<"$members")
  align=$(awk '$1 == "#align" { print $2 }' <<<"$members")
  align_text="aligned $align"
  ((align > 0)) || align_text="not over-aligned (natural alignment)"
  case $ck in
    whole)
      if ((align > 0 && align % bl == 0 && size % bl == 0)); then
        report PASS "$u" "$ty" "$ck" "$fd" "$bl" "size $size, $align_text" "$why"
      else
        report FAIL "$u" "$ty" "$ck" "$fd" "$bl" "size $size, $align_text: put alignas($bl) on the type so that it owns whole $bl-byte blocks" "$why"
      fi
      ;;
    alone | starts)
      row=$(awk -v f="$fd" '$1 == f { print $2, $3; exit }' <<<"$members")
      if [[ -z $row ]]; then
        report FAIL "$u" "$ty" "$ck" "$fd" "$bl" "no member '$fd' (renamed? update scripts/layout_audit.rules)" "$why"
        continue
      fi
      read -r off fsize <<<"$row"
      next=$(awk -v o="$off" '$1 !~ /^#/ && $2 + 0 > o + 0 { print $2, $1; exit }' <<<"$members")
      if [[ -n $next ]]; then next_off=${next%% *} next_name=${next#* }; else next_off=$size next_name="(end of type)"; fi
      problems=()
      ((align > 0 && align % bl == 0)) || problems+=("the type is $align_text, not to $bl: put alignas($bl) on $fd")
      ((off % bl == 0)) || problems+=("$fd is at offset $off, not a multiple of $bl: give $fd alignas($bl)")
      if [[ $ck == alone ]] && ((next_off - off < bl)); then
        problems+=("the next member, $next_name, starts at $next_off, inside $fd's block: give $next_name alignas($bl)")
      fi
      if [[ ${#problems[@]} -eq 0 ]]; then
        report PASS "$u" "$ty" "$ck" "$fd" "$bl" "offset $off (size $fsize), next member $next_name at $next_off, type $align_text" "$why"
      else
        report FAIL "$u" "$ty" "$ck" "$fd" "$bl" "$(IFS=';'; echo "${problems[*]}")" "$why"
      fi
      ;;
  esac
done
say "$me: $pass passed, $fail failed, $skip skipped"
{
  echo "{"
  echo "  \"tool\": \"layout_audit\","
  echo "  \"rules\": $(json_str "$rules"),"
  echo "  \"compiler\": $(json_str "$cxx $cxxflags"),"
  echo "  \"build_dir\": $(json_str "$build_dir"),"
  echo "  \"passed\": $pass, \"failed\": $fail, \"skipped\": $skip,"
  echo "  \"results\": ["
  for i in "${!json_rows[@]}"; do
    printf '%s%s\n' "${json_rows[$i]}" "$( ((i + 1 < ${#json_rows[@]})) && echo , )"
  done
  echo "  ]"
  echo "}"
} >"$json"
echo "$me: wrote $summary and $json"
((fail == 0))
