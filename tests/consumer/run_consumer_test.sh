#!/usr/bin/env bash
# Installs the built quiesce into a scratch prefix, then builds and runs a
# consumer program against it twice: with CMake's find_package and with pkg-config.
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

echo "consumer: find_package(quiesce CONFIG REQUIRED)"
cmake -S "$src" -B "$work/cmake-build" -G "$generator" -DCMAKE_MAKE_PROGRAM="$make_program" \
  -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_CXX_COMPILER="$cxx" >"$work/configure.log"
cmake --build "$work/cmake-build" >"$work/build.log"
"$work/cmake-build/consumer"

echo "consumer: pkg-config --cflags --libs quiesce"
libdir=$(ls -d "$prefix"/lib*/pkgconfig | head -n1)
flags=$(PKG_CONFIG_PATH="$libdir" pkg-config --cflags --libs quiesce)
# shellcheck disable=SC2086
"$cxx" -O2 -o "$work/consumer-pc" "$src/main.cpp" $flags
"$work/consumer-pc"
echo "consumer: ok"
