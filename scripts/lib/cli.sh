# scripts/lib/cli.sh — the command line of scripts/*.sh in one place: the
# option loop and the options every script shares. Sourced, found beside the
# script: . "$(dirname "${BASH_SOURCE[0]}")/lib/cli.sh" (scripts that run in
# scripts/numa_guest.sh's guest have it --add'ed there too).
# shellcheck shell=bash disable=SC2154  # me: set by the script that sources this
#
# The script sets `me` (the name its messages start with), defines usage()
# (its --help text) and
#   script_option OPTION [VALUE]
# for its own options: a `case` that sets what OPTION asks for, sets
# cli_took=2 when it used VALUE too (${2:?OPTION needs ...} where VALUE is
# required), and returns 1 for an option that is not its own. Then
#   cli_parse "$@"; set -- "${cli_rest[@]}"
# reads the command line, option by option, the script's own first, then:
#   -h, --help     usage on stdout, exit 0
#   --no-install   install=0, in a script that has an `install` setting
#   --out-dir DIR  out_dir=DIR, in a script that has an `out_dir` setting
#   --             with cli_command=optional or required: the end of the
#                  options; the arguments after it (the command) are left in
#                  cli_rest; `required`: none is a usage error
# Anything else is a usage error: "$me: unknown option 'X'" (with
# cli_command set: "(the command goes after --)"), the usage on stderr,
# exit 2.

cli_command=${cli_command:-}

# cli_usage_error MESSAGE: "$me: MESSAGE" on stderr, exit 2.
cli_usage_error() {
  echo "$me: $1" >&2
  exit 2
}

cli_unknown_option() {
  echo "$me: unknown option '$1'${cli_command:+ (the command goes after --)}" >&2
  usage >&2
  exit 2
}

cli_parse() {
  cli_rest=()
  while [[ $# -gt 0 ]]; do
    cli_took=1
    if ! script_option "${@:1:2}"; then
      case "$1" in
        -h | --help) usage; exit 0 ;;
        --no-install) [[ -v install ]] || cli_unknown_option "$1"; install=0 ;;
        --out-dir) [[ -v out_dir ]] || cli_unknown_option "$1"; [[ $# -ge 2 ]] || cli_usage_error "--out-dir needs a directory"; out_dir=$2; cli_took=2 ;;
        --) [[ -n $cli_command ]] || cli_unknown_option "$1"; shift; cli_rest=("$@"); break ;;
        *) cli_unknown_option "$1" ;;
      esac
    fi
    shift "$cli_took"
  done
  if [[ $cli_command == required && ${#cli_rest[@]} -eq 0 ]]; then
    cli_usage_error "no command given (scripts/$me.sh [OPTIONS] -- CMD [ARGS...])"
  fi
}
