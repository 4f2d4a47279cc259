#!/usr/bin/env bash
# scripts/ensure_packages.sh PACKAGE... — installs the Debian packages that are
# missing (dpkg -s first; apt-get update and apt-get install -y only when
# something is missing). Needs root or sudo. Used by run_tests.sh and run_main.sh.
#
# Supported: Debian 12 (bookworm) and 13 (trixie), and systems derived from
# them with the same package names. Anything else gets one line saying what
# is needed, and exit status 1:
#   * no dpkg/apt-get (not a Debian system): install the packages named
#     yourself and set QUIESCE_SKIP_PACKAGES=1;
#   * Debian older than 12: its g++/clang/liburcu are too old (g++ 12 or
#     clang 14, liburcu 0.13 needed);
#   * a package this release's archive does not know: named, before apt-get
#     install would print its errors.
# QUIESCE_SKIP_PACKAGES=1 skips every check and installs nothing;
# QUIESCE_OS_RELEASE names another os-release file (tests).
set -euo pipefail
me=ensure_packages
if [[ ${1:-} == --help || ${1:-} == -h ]]; then
  sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'
  exit 0
fi
[[ ${QUIESCE_SKIP_PACKAGES:-0} == 1 ]] && exit 0
if ! command -v dpkg >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
  echo "$me: quiesce's scripts need Debian 12 or 13 (dpkg and apt-get not found); install the equivalents of these Debian packages yourself and rerun with QUIESCE_SKIP_PACKAGES=1: $*" >&2
  exit 1
fi
os_release=${QUIESCE_OS_RELEASE:-/etc/os-release}
if [[ -r $os_release ]]; then
  os_id=$(. "$os_release" && echo "${ID:-}")
  os_version=$(. "$os_release" && echo "${VERSION_ID:-}")
  # testing/sid have no VERSION_ID: newer than 13, accepted.
  if [[ $os_id == debian && $os_version =~ ^[0-9]+$ && $os_version -lt 12 ]]; then
    echo "$me: quiesce needs Debian 12 (bookworm) or newer (g++ 12 or clang 14, liburcu 0.13, CMake 3.25); this is Debian $os_version" >&2
    exit 1
  fi
fi
missing=()
for p in "$@"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0
echo "$me: installing ${missing[*]}"
sudo=()
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null 2>&1 || { echo "$me: need root or sudo to install ${missing[*]}" >&2; exit 1; }
  # sudo resets the environment: DEBIAN_FRONTEND is passed on its command line.
  sudo=(sudo env DEBIAN_FRONTEND=noninteractive)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
unknown=()
for p in "${missing[@]}"; do
  # A candidate version exists only if this release's archive has the package.
  cand=$(apt-cache policy "$p" 2>/dev/null | awk '$1 == "Candidate:" { print $2; exit }')
  [[ -n $cand && $cand != "(none)" ]] || unknown+=("$p")
done
if [[ ${#unknown[@]} -ne 0 ]]; then
  release=$(. "$os_release" 2>/dev/null && echo "${PRETTY_NAME:-this release}" || echo "this release")
  echo "$me: $release has no package ${unknown[*]} (quiesce supports Debian 12 and 13; check /etc/apt/sources.list)" >&2
  exit 1
fi
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
