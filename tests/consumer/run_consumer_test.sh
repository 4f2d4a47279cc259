#!/usr/bin/env bash
# Installs the built quiesce into a scratch prefix, then builds and runs a
# consumer program against it twice: with CMake's find_package (asking for the
# built version) and with pkg-config; then checks that asking find_package for
# a newer minor version fails at configure time, naming the version installed.
# usage: run_consumer_test.sh BUILD_DIR CONSUMER_SRC WORK_DIR CXX GENERATOR MAKE_PROGRAM
# The consumer is configured with the generator and build program of the
# build under test (a fresh machine has ninja from the test command's
# packages, not necessarily make).
set -euo pipefail
build=$1 src=$2 work=$3 cxx=$4 generator=$5 make_program=$6
rm -rf "$work"
mkdir -p "$work"
prefix="$work/prefix"
cmake --install "$build" --prefix "$prefix" >"$work/install.log"

version=$(sed -n 's/^CMAKE_PROJECT_VERSION:[A-Z]*=//p' "$build/CMakeCache.txt")
IFS=. read -r major minor _ <<<"$version"
echo "consumer: find_package(quiesce $major.$minor CONFIG REQUIRED), installed $version"
cmake -S "$src" -B "$work/cmake-build" -G "$generator" -DCMAKE_MAKE_PROGRAM="$make_program" \
  -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_CXX_COMPILER="$cxx" -DQUIESCE_WANT_VERSION="$major.$minor" >"$work/configure.log"
grep -q "quiesce $version from" "$work/configure.log" || { echo "consumer: configure did not report quiesce $version"; exit 1; }
cmake --build "$work/cmake-build" >"$work/build.log"
"$work/cmake-build/consumer"

# quiesce::seqlock alone: its link line names no quiesce library, liburcu or
# libnuma, and neither does the program's ldd, while the full consumer's
# does (so the check can fail).
echo "consumer: quiesce::seqlock alone links neither liburcu nor libnuma"
"$work/cmake-build/seqlock_consumer"
if [[ $generator == Ninja ]]; then
  link=$("$make_program" -C "$work/cmake-build" -t commands seqlock_consumer | tail -n 1)
else  # Makefiles keep the link command beside the target's objects
  link=$(find "$work/cmake-build" -path '*seqlock_consumer.dir/link.txt' -exec cat {} \; | head -n 1)
fi
[[ -n $link ]] || { echo "consumer: cannot read seqlock_consumer's link line"; exit 1; }
if grep -Eq 'urcu|numa|libquiesce' <<<"$link"; then
  echo "consumer: seqlock_consumer's link line names liburcu, libnuma or a quiesce library: $link"
  exit 1
fi
# (ldd's output is kept first: grep -q on a pipe would stop reading early,
# and pipefail would count ldd's SIGPIPE as a failure.)
loads=$(ldd "$work/cmake-build/seqlock_consumer")
if grep -Eq 'liburcu|libnuma' <<<"$loads"; then
  echo "$loads"
  echo "consumer: seqlock_consumer loads liburcu or libnuma"
  exit 1
fi
loads=$(ldd "$work/cmake-build/consumer")
grep -q 'libnuma' <<<"$loads" && grep -q 'liburcu' <<<"$loads" ||
  { echo "consumer: the full consumer loads no libnuma or liburcu: the ldd check proves nothing"; exit 1; }

echo "consumer: pkg-config --cflags --libs quiesce"
# lib/<multiarch>/pkgconfig on Debian (lib/pkgconfig with -DCMAKE_INSTALL_LIBDIR=lib).
pc=$(find "$prefix" -path '*/pkgconfig/quiesce.pc' | head -n1)
[[ -n $pc ]] || { echo "consumer: no pkgconfig/quiesce.pc under $prefix"; exit 1; }
libdir=$(dirname "$pc")
flags=$(PKG_CONFIG_PATH="$libdir" pkg-config --cflags --libs quiesce)
# shellcheck disable=SC2086
"$cxx" -O2 -o "$work/consumer-pc" "$src/main.cpp" $flags
"$work/consumer-pc"
[[ $(PKG_CONFIG_PATH="$libdir" pkg-config --modversion quiesce) == "$version" ]] ||
  { echo "consumer: pkg-config --modversion quiesce is not $version"; exit 1; }

too_new="$major.$((minor + 1))"
echo "consumer: find_package(quiesce $too_new) must fail"
if cmake -S "$src" -B "$work/too-new" -G "$generator" -DCMAKE_MAKE_PROGRAM="$make_program" \
  -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_CXX_COMPILER="$cxx" -DQUIESCE_WANT_VERSION="$too_new" >"$work/too-new.log" 2>&1; then
  echo "consumer: find_package(quiesce $too_new) succeeded against $version"
  exit 1
fi
grep -q "compatible with requested version \"$too_new\"" "$work/too-new.log" &&
  grep -q "version: $version" "$work/too-new.log" ||
  { cat "$work/too-new.log"; echo "consumer: the failure does not name the requested and installed versions"; exit 1; }
echo "consumer: ok"
