#!/usr/bin/env bash
# scripts/trixie_chroot.sh — quiesce on Debian 13 (trixie) inside a minbase
# chroot made with debootstrap: the `trixie` step of scripts/run_tests.sh.
#
#   trixie_chroot.sh ci [--jobs N]   the CI step (below)
#   trixie_chroot.sh run CMD...      run CMD (a bash command line) in the
#                                    chroot, cwd /src (this source tree)
#   trixie_chroot.sh setup           only make the chroot
#
# The chroot is build/trixie-root (made once with `debootstrap --variant=minbase
# trixie`, then reused; a pristine copy is kept as build/trixie-root.minbase.tar for
# the package test). Each command runs in a private mount namespace (unshare)
# with this source tree bind-mounted at /src and /proc, /sys, /dev mounted; a
# trap unmounts them on exit, and the namespace drops whatever is left.
# Needs root (or sudo) and the network on first use; if debootstrap or apt
# cannot reach the archive the step fails, it is never skipped.
#
# The ci step:
#   1. installs the test packages in the chroot (scripts/ensure_packages.sh),
#   2. configures and builds the gcc configuration (g++, RelWithDebInfo, tests,
#      benchmarks and examples, -Werror) in build/trixie, log build/trixie/build.log,
#   3. runs its ctest without the multinode label: build/trixie/ctest.log,
#   4. builds the .deb (cmake --build build/trixie --target package),
#   5. unpacks a fresh minbase chroot (build/trixie-root.clean), installs the .deb
#      there with `apt-get install ./libquiesce-dev_*.deb` (its Depends bring
#      liburcu-dev, libnuma-dev, ...) plus a compiler, and builds and runs
#      tests/consumer/project with find_package and with pkg-config, no prefix
#      given: build/trixie/deb.log, last line "deb consumer: ok" on success.
# Environment: QUIESCE_DEBIAN_MIRROR (default http://deb.debian.org/debian),
# QUIESCE_TRIXIE_PACKAGES (the packages of step 1, space-separated),
# QUIESCE_TRIXIE_ROOT (the chroot, default build/trixie-root).
set -euo pipefail
me=trixie_chroot
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
suite=trixie
rootfs=${QUIESCE_TRIXIE_ROOT:-$root/build/$suite-root}
minbase_tar="$rootfs.minbase.tar"
clean="$rootfs.clean"
mirror=${QUIESCE_DEBIAN_MIRROR:-http://deb.debian.org/debian}

as_root=()
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null 2>&1 || { echo "$me: needs root or sudo (debootstrap, mount, chroot)" >&2; exit 1; }
  as_root=(sudo --preserve-env=QUIESCE_DEBIAN_MIRROR,QUIESCE_TRIXIE_PACKAGES,QUIESCE_TRIXIE_ROOT)
fi

setup() {
  [[ -e $rootfs/.quiesce-minbase ]] && return 0
  "$root/scripts/ensure_packages.sh" debootstrap
  mkdir -p "$root/build"
  local tmp="$rootfs.tmp" log="$rootfs.debootstrap.log"
  "${as_root[@]}" rm -rf "$tmp" "$rootfs"
  echo "$me: debootstrap --variant=minbase $suite from $mirror (log: $log)"
  if ! "${as_root[@]}" debootstrap --variant=minbase "$suite" "$tmp" "$mirror" >"$log" 2>&1; then
    tail -n 20 "$log" >&2
    "${as_root[@]}" rm -rf "$tmp"
    echo "$me: FAILED: debootstrap could not make the $suite chroot from $mirror (network? mirror?); full log: $log" >&2
    exit 1
  fi
  "${as_root[@]}" tar -C "$tmp" -cf "$minbase_tar" .
  "${as_root[@]}" touch "$tmp/.quiesce-minbase"
  "${as_root[@]}" mv "$tmp" "$rootfs"
}

# in_chroot DIR [BIND_SRC BIND_DST]... -- CMD: runs CMD (a bash command line) in
# the chroot DIR, in a private mount namespace; extra bind mounts as given.
in_chroot() {
  local dir=$1
  shift
  local binds=()
  while [[ $1 != -- ]]; do
    binds+=("$1" "$2")
    shift 2
  done
  shift
  "${as_root[@]}" unshare --mount --propagation private \
    bash "$root/scripts/trixie_chroot.sh" __mounted "$dir" "$root" "${binds[@]}" -- "$@"
}

mounted() {
  # Runs as root inside the private mount namespace.
  local dir=$1 src=$2
  shift 2
  local binds=()
  while [[ $1 != -- ]]; do
    binds+=("$1" "$2")
    shift 2
  done
  shift
  done_mounts=()  # global: the EXIT trap runs after this function has returned
  cleanup() {
    local i
    for ((i = ${#done_mounts[@]} - 1; i >= 0; i--)); do
      umount -R -l "${done_mounts[i]}" 2>/dev/null || true
    done
  }
  trap cleanup EXIT
  mnt() {  # mnt TARGET MOUNT-ARGS...
    local target=$1
    shift
    mkdir -p "$target"
    mount "$@" "$target"
    done_mounts+=("$target")
  }
  mnt "$dir/proc" -t proc proc
  mnt "$dir/sys" -t sysfs sysfs
  mnt "$dir/dev" --rbind /dev
  mnt "$dir/src" --bind "$src"
  local i
  for ((i = 0; i < ${#binds[@]}; i += 2)); do
    mnt "$dir/${binds[i + 1]}" --bind "${binds[i]}"
  done
  cp -L /etc/resolv.conf "$dir/etc/resolv.conf" 2>/dev/null || true
  chroot "$dir" /usr/bin/env -i HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    LANG=C.UTF-8 TERM="${TERM:-dumb}" /bin/bash -c "cd /src && $*"
}

# Packages of the gcc configuration's tests (run_tests.sh passes its own list;
# multinode's qemu is left out: the chroot step runs ctest -LE multinode).
default_packages="cmake ninja-build g++ pkg-config liburcu-dev libnuma-dev libck-dev libgtest-dev libbenchmark-dev
  python3 busybox-static bash-static numactl cpio gnuplot-nox dwarves libboost-dev libtbb-dev spin"

ci() {
  local jobs=2
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --jobs) jobs=${2:?--jobs needs a number}; shift ;;
      *) echo "$me ci: unknown option '$1'" >&2; exit 2 ;;
    esac
    shift
  done
  setup
  local b=build/$suite t0=$SECONDS
  mkdir -p "$root/$b"
  "${as_root[@]}" rm -f "$root/$b"/libquiesce-dev_*.deb "$root/$b/deb.log" "$root/$b/ctest.log"
  local pkgs=${QUIESCE_TRIXIE_PACKAGES:-$default_packages}
  pkgs=$(echo $pkgs)  # one line
  echo "$me: [$((SECONDS - t0))s] packages, configure and build in $b (log: $root/$b/build.log)"
  if ! in_chroot "$rootfs" -- "
      set -e
      echo \"chroot: \$(. /etc/os-release; echo \$PRETTY_NAME)\"
      scripts/ensure_packages.sh $pkgs
      echo \"g++: \$(g++ --version | head -n1); liburcu: \$(pkg-config --modversion liburcu)\"
      cmake -S /src -B /src/$b -G Ninja -DCMAKE_CXX_COMPILER=g++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DQUIESCE_WERROR=ON -DQUIESCE_BUILD_TESTS=ON -DQUIESCE_BUILD_BENCHMARKS=ON
      cmake --build /src/$b -j $jobs
      cmake --build /src/$b --target package" >"$root/$b/build.log" 2>&1; then
    tail -n 60 "$root/$b/build.log"
    echo "$me: BUILD FAILED in the $suite chroot (full log: $root/$b/build.log)"
    return 1
  fi
  echo "$me: [$((SECONDS - t0))s] ctest -LE multinode in the chroot (log: $root/$b/ctest.log)"
  local rc=0
  in_chroot "$rootfs" -- "cd /src/$b && ctest --output-on-failure --timeout 600 -j $jobs -LE multinode" \
    >"$root/$b/ctest.log" 2>&1 || rc=1
  echo "$me: [$((SECONDS - t0))s] the .deb in a clean $suite chroot (log: $root/$b/deb.log)"
  deb_test "$b" >"$root/$b/deb.log" 2>&1 || rc=1
  tail -n 3 "$root/$b/deb.log"
  echo "$me: [$((SECONDS - t0))s] done"
  return $rc
}

deb_test() {
  local b=$1 deb
  deb=$(cd "$root/$b" && ls libquiesce-dev_*_amd64.deb 2>/dev/null | head -n1)
  [[ -n $deb ]] || { echo "deb consumer: FAILED: no libquiesce-dev_*_amd64.deb in $b"; return 1; }
  echo "deb: $deb"
  local version want
  version=$(dpkg-deb --field "$root/$b/$deb" Version)
  want=$(cut -d. -f1-2 <<<"$version")  # major.minor: what a consumer asks find_package for
  dpkg-deb --field "$root/$b/$deb"
  "${as_root[@]}" rm -rf "$clean"
  "${as_root[@]}" mkdir -p "$clean"
  "${as_root[@]}" tar -C "$clean" -xf "$minbase_tar"
  # The build chroot's downloaded .debs, so the clean one fetches nothing twice.
  if ! in_chroot "$clean" "$rootfs/var/cache/apt/archives" var/cache/apt/archives -- "
      set -e
      export DEBIAN_FRONTEND=noninteractive
      apt-get update -qq
      apt-get install -y -q --no-install-recommends /src/$b/$deb g++ cmake ninja-build  # pkg-config: the .deb brings it
      dpkg -L libquiesce-dev | grep -E 'version.hpp|quiesceConfig|\\.pc\$|\\.a\$|\\.so'
      multiarch=\$(g++ -print-multiarch)  # the libraries, CMake package and .pc where Debian puts them
      dpkg -L libquiesce-dev | grep -qx \"/usr/lib/\$multiarch/pkgconfig/quiesce.pc\"
      dpkg -L libquiesce-dev | grep -qx \"/usr/lib/\$multiarch/cmake/quiesce/quiesceConfig.cmake\"
      rm -rf /tmp/consumer && mkdir -p /tmp/consumer
      echo 'consumer: find_package(quiesce $want CONFIG REQUIRED), no prefix given'
      cmake -S /src/tests/consumer/project -B /tmp/consumer/cmake -G Ninja -DQUIESCE_WANT_VERSION=$want
      grep -q '^QUIESCE_WANT_VERSION:STRING=$want\$' /tmp/consumer/cmake/CMakeCache.txt
      cmake --build /tmp/consumer/cmake
      /tmp/consumer/cmake/consumer
      echo 'consumer: pkg-config --cflags --libs quiesce'
      g++ -O2 -o /tmp/consumer/pc /src/tests/consumer/project/main.cpp \$(pkg-config --cflags --libs quiesce)
      /tmp/consumer/pc
      test \"\$(pkg-config --modversion quiesce)\" = $version
      echo \"pkg-config quiesce: \$(pkg-config --modversion quiesce)\""; then
    echo "deb consumer: FAILED"
    return 1
  fi
  echo "deb consumer: ok"
}

case "${1:-}" in
  ci) shift; ci "$@" ;;
  setup) setup ;;
  run)
    shift
    setup
    in_chroot "$rootfs" -- "$*"
    ;;
  __mounted) shift; mounted "$@" ;;
  -h | --help | '') sed -n '2,32p' "$0" | sed 's/^# \{0,1\}//'; [[ -n ${1:-} ]] ;;
  *) echo "$me: unknown command '$1' (ci, run, setup)" >&2; exit 2 ;;
esac
