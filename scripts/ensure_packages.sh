#!/usr/bin/env bash
# scripts/ensure_packages.sh PACKAGE... — installs the Debian packages that are
# missing (dpkg -s first; apt-get update and apt-get install -y only when
# something is missing). Needs root or sudo. Used by run_tests.sh and run_main.sh.
set -euo pipefail
if [[ ${1:-} == --help || ${1:-} == -h ]]; then
  sed -n '2,4p' "$0" | sed 's/^# \{0,1\}//'
  exit 0
fi
if ! command -v dpkg >/dev/null 2>&1; then
  echo "ensure_packages: not a Debian system (no dpkg); install these yourself: $*" >&2
  exit 0
fi
missing=()
for p in "$@"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0
echo "ensure_packages: installing ${missing[*]}"
sudo=()
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null 2>&1 || { echo "ensure_packages: need root or sudo to install ${missing[*]}" >&2; exit 1; }
  sudo=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
