#!/usr/bin/env bash
# No process-wide static of quiesce's libraries is initialised under a C++
# guard (quiesce/base/fork_safe.hpp): a fork() while another thread is inside
# such an initialiser leaves the child waiting for it forever. Lists the
# guard variables in each library given and fails on any outside .tbss
# (thread_local statics have per-thread guards, which a fork child's thread
# never shares). Usage: no_guarded_statics_test.sh LIB...
set -euo pipefail
if [[ ${1:-} == --help || $# -eq 0 ]]; then
  sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'
  exit $(( $# == 0 ? 2 : 0 ))
fi
command -v objdump >/dev/null || { echo "SKIP: objdump (binutils) is not installed"; exit 77; }
bad=0
for lib in "$@"; do
  [[ -r $lib ]] || { echo "FAIL - $lib: not readable"; bad=1; continue; }
  guards=$(objdump -t -C "$lib" | awk '/guard variable for/ && $0 !~ /[ \t]\.tbss[ \t]/' | sed 's/.*guard variable for /  /' | sort -u)
  if [[ -n $guards ]]; then
    echo "FAIL - $(basename "$lib"): statics initialised under a guard (make them constinit, or published_once):"
    echo "$guards"
    bad=1
  else
    echo "ok - $(basename "$lib"): no guarded process-wide static"
  fi
done
exit $bad
