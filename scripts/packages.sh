# scripts/packages.sh — the Debian packages quiesce's scripts install, in one
# place (sourced by run_main.sh, run_tests.sh and rcu_liburcu_versions.sh;
# installed by ensure_packages.sh). Names that follow the release are looked
# up where they are needed, not written here: the clang runtime
# (libclang-rt-<major>-dev, run_tests.sh) and the guest kernel (numa_guest.sh).
# shellcheck shell=bash disable=SC2034  # the arrays are used by the scripts that source this

# Building the library and the benchmarks, with every peer the benchmarks
# measure against (liburcu, Concurrency Kit, Boost.Lockfree, TBB, moodycamel).
quiesce_build_packages=(cmake ninja-build g++ pkg-config liburcu-dev libnuma-dev libck-dev
  libbenchmark-dev libgtest-dev python3
  libboost-dev libtbb-dev libreaderwriterqueue-dev libconcurrentqueue-dev)

# The main job: the above and gnuplot (the grace-period report's plots).
quiesce_main_packages=("${quiesce_build_packages[@]}" gnuplot-nox)

# The test command's gcc configuration, as the Debian 13 chroot of
# run_tests.sh's trixie step installs it (no clang, no qemu: only that
# configuration runs there, not the multinode label): the main job's, the
# guest payload tools (busybox, bash-static, cpio, numactl), dwarves (pahole:
# layout audit) and spin (tests/model: Promela models).
quiesce_chroot_test_packages=("${quiesce_main_packages[@]}"
  busybox-static bash-static numactl cpio dwarves spin)

# The whole test command: the above, clang, and qemu for the multi-node guests.
quiesce_test_packages=("${quiesce_chroot_test_packages[@]}" clang qemu-system-x86)
