#!/usr/bin/env bash
# scripts/numa_guest.sh — runs a program inside a multi-socket qemu guest
# (software emulation, TCG), so that NUMA code can be tested on a one-node
# machine. See tests/multinode/README.md and numa/README.md.
#
# What it does, in order:
#   1. checks its tools: qemu-system-x86_64, a static busybox, cpio, gzip,
#      apt-get/dpkg; installs what is missing through ensure_packages.sh
#      (qemu-system-x86 busybox-static cpio; bash-static with --bash);
#   2. fetches Debian's kernel: `apt-cache depends linux-image-amd64` names
#      the versioned image package, `apt-get download` fetches it, `dpkg -x`
#      unpacks it into the cache dir (reused while apt names the same package;
#      offline, the newest cached kernel is used);
#   3. builds an initramfs (cpio newc, gzip): busybox, an /init that mounts
#      proc, sys and devtmpfs, runs PROGRAM ARGS and prints
#      QUIESCE_GUEST_EXIT=<rc>, then powers off; PROGRAM and every --add'ed
#      file keep their absolute host path inside the guest; dynamically
#      linked ELF files bring their shared libraries and loader;
#   4. boots qemu-system-x86_64 -accel tcg,thread=multi -cpu max with N
#      sockets, one NUMA node per socket, distance 10 local and 21 remote,
#      streams the console to stdout and to the log file, kills the guest at
#      the timeout, and exits with the guest program's exit code.
#
# Exit codes: the program's own; 77 = SKIP (this machine cannot run the guest,
# reason printed); 124 = timeout (guest hung; qemu killed); 1 = the guest ended
# without a result line (kernel panic, init crash, ...); 2 = usage error.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: scripts/numa_guest.sh [OPTIONS] [--] PROGRAM [ARGS...]

Boots a multi-socket qemu guest (TCG, Debian's kernel, busybox initramfs)
and runs PROGRAM ARGS in it as root; exits with PROGRAM's exit code.

PROGRAM with a '/' is a host file, copied into the guest at the same
absolute path (a statically linked binary needs nothing else), unless
--add/--bash already put something at that path; a name without '/' is a
command of the guest (a busybox applet, or an --add'ed file in /bin),
e.g. `sh -c '...'`.

Guest shape (defaults: 2 nodes x 2 CPUs, 1024 MiB):
  --nodes N            NUMA nodes = sockets, 1..8 (default 2)
  --cpus-per-node C    CPUs per node (default 2 for 2 nodes, else 1):
                       CPUs n*C .. n*C+C-1 are node n
  --mem MIB            guest memory, split evenly over the nodes (default 1024)
  --distance D         distance between different nodes (default 21)

Payload:
  --add SRC[:DEST]     copy a host file into the guest (DEST defaults to
                       SRC's absolute path); an ELF file that is dynamically
                       linked brings its shared libraries and loader (ldd)
  --bash               put bash-static in the guest as /bin/bash (for scripts)
  --env NAME=VALUE     set in the guest program's environment (repeatable).
                       Always set: QUIESCE_GUEST=1, QUIESCE_EXPECT_NODES=N,
                       QUIESCE_EXPECT_CPUS_PER_NODE=C, QUIESCE_EXPECT_DISTANCE=D
  --cwd DIR            guest working directory (default /)
  --no-strip           copy binaries as they are (default: strip debug info)

Run:
  --timeout SECONDS    kill the guest after this long (default 300)
  --log FILE           console log (default CACHE/logs/PROGRAM-Nn.log)
  --cache-dir DIR      kernel cache and work files
                       (default $QUIESCE_GUEST_CACHE or <repo>/build/numa_guest)
  --append ARGS        extra kernel command-line arguments
  --keep               keep the initramfs work dir (printed)
  --no-install         do not apt-get install missing tools (SKIP instead)
  -h, --help           this text

Environment: QUIESCE_GUEST_REQUIRE=1 turns a SKIP (exit 77) into a failure
(exit 1), for machines that must be able to run the guest.

Exit codes: PROGRAM's; 77 SKIP (reason printed as `SKIP: ...`); 124 timeout;
1 guest ended without a result line; 2 usage error.

Example:
  scripts/numa_guest.sh --nodes 4 build/gcc/tests/multinode/numa_multinode_tests --gtest_brief=1
EOF
}

me=numa_guest
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

nodes=2
cpus_per_node=
mem=1024
distance=21
timeout_s=300
log=
cache=${QUIESCE_GUEST_CACHE:-$root/build/numa_guest}
append=
keep=0
install=1
strip_bins=1
with_bash=0
cwd=/
adds=()
envs=()

need_arg() { [[ $# -ge 2 ]] || { echo "$me: $1 needs an argument" >&2; exit 2; }; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    --nodes) need_arg "$@"; nodes=$2; shift ;;
    --cpus-per-node) need_arg "$@"; cpus_per_node=$2; shift ;;
    --mem) need_arg "$@"; mem=$2; shift ;;
    --distance) need_arg "$@"; distance=$2; shift ;;
    --add) need_arg "$@"; adds+=("$2"); shift ;;
    --bash) with_bash=1 ;;
    --env) need_arg "$@"; envs+=("$2"); shift ;;
    --cwd) need_arg "$@"; cwd=$2; shift ;;
    --no-strip) strip_bins=0 ;;
    --timeout) need_arg "$@"; timeout_s=$2; shift ;;
    --log) need_arg "$@"; log=$2; shift ;;
    --cache-dir) need_arg "$@"; cache=$2; shift ;;
    --append) need_arg "$@"; append=$2; shift ;;
    --keep) keep=1 ;;
    --no-install) install=0 ;;
    -h | --help) usage; exit 0 ;;
    --) shift; break ;;
    -*) echo "$me: unknown option '$1'" >&2; usage >&2; exit 2 ;;
    *) break ;;
  esac
  shift
done
[[ $# -ge 1 ]] || { echo "$me: no PROGRAM given" >&2; usage >&2; exit 2; }
program=$1
shift
prog_args=("$@")

is_uint() { [[ $1 =~ ^[0-9]+$ ]]; }
is_uint "$nodes" && ((nodes >= 1 && nodes <= 8)) || { echo "$me: --nodes must be 1..8" >&2; exit 2; }
if [[ -z $cpus_per_node ]]; then
  if ((nodes == 2)); then cpus_per_node=2; else cpus_per_node=1; fi
fi
is_uint "$cpus_per_node" && ((cpus_per_node >= 1 && cpus_per_node <= 8)) ||
  { echo "$me: --cpus-per-node must be 1..8" >&2; exit 2; }
is_uint "$mem" && ((mem >= 128 * nodes)) || { echo "$me: --mem must be at least 128 MiB per node" >&2; exit 2; }
is_uint "$distance" && ((distance > 10 && distance < 255)) || { echo "$me: --distance must be 11..254" >&2; exit 2; }
is_uint "$timeout_s" && ((timeout_s > 0)) || { echo "$me: --timeout must be a positive number of seconds" >&2; exit 2; }
for e in "${envs[@]}"; do
  [[ $e =~ ^[A-Za-z_][A-Za-z0-9_]*= ]] || { echo "$me: --env wants NAME=VALUE, not '$e'" >&2; exit 2; }
done

skip() {
  echo "SKIP: $me: $*"
  if [[ ${QUIESCE_GUEST_REQUIRE:-0} == 1 ]]; then
    echo "$me: QUIESCE_GUEST_REQUIRE=1: a skip is a failure here" >&2
    exit 1
  fi
  exit 77
}
t0=$SECONDS
note() { printf '%s: [%3ds] %s\n' "$me" "$((SECONDS - t0))" "$*"; }

# ---- 1. tools ----
missing_pkgs=()
command -v qemu-system-x86_64 >/dev/null 2>&1 || missing_pkgs+=(qemu-system-x86)
command -v busybox >/dev/null 2>&1 || missing_pkgs+=(busybox-static)
command -v cpio >/dev/null 2>&1 || missing_pkgs+=(cpio)
((with_bash)) && ! command -v bash-static >/dev/null 2>&1 && missing_pkgs+=(bash-static)
if [[ ${#missing_pkgs[@]} -gt 0 && $install == 1 ]]; then
  note "installing ${missing_pkgs[*]}"
  "$root/scripts/ensure_packages.sh" "${missing_pkgs[@]}" || true
fi
for tool in qemu-system-x86_64 busybox cpio gzip dpkg apt-get apt-cache timeout; do
  command -v "$tool" >/dev/null 2>&1 || skip "'$tool' is not available (Debian: apt-get install qemu-system-x86 busybox-static cpio)"
done
if ((with_bash)); then
  command -v bash-static >/dev/null 2>&1 || skip "--bash: 'bash-static' is not available (apt-get install bash-static)"
fi

mkdir -p "$cache" || skip "cannot create the cache dir $cache"
cache=$(cd "$cache" && pwd)

# ---- 2. kernel ----
# Serialised: ctest may start several guests at once on a cold cache.
exec 9>"$cache/.lock"
command -v flock >/dev/null 2>&1 && flock 9
pkg=
if deps=$(apt-cache depends linux-image-amd64 2>/dev/null); then
  pkg=$(awk '$1 == "Depends:" && $2 ~ /^linux-image-/ { print $2; exit }' <<<"$deps")
fi
if [[ -z $pkg && $(id -u) -eq 0 && $install == 1 ]]; then
  note "apt-cache does not know linux-image-amd64; running apt-get update"
  apt-get update -qq >/dev/null 2>&1 || true
  deps=$(apt-cache depends linux-image-amd64 2>/dev/null || true)
  pkg=$(awk '$1 == "Depends:" && $2 ~ /^linux-image-/ { print $2; exit }' <<<"$deps")
fi
kernel=
if [[ -n $pkg ]]; then
  kdir="$cache/kernel/$pkg"
  kernel=$(ls "$kdir"/boot/vmlinuz-* 2>/dev/null | head -n1 || true)
  if [[ -z $kernel ]]; then
    note "downloading $pkg (apt-get download; linux-image-amd64 depends on it)"
    rm -rf "$kdir" "$cache/kernel/download"
    mkdir -p "$cache/kernel/download"
    apt_opts=()
    [[ $(id -u) -eq 0 ]] && apt_opts=(-o APT::Sandbox::User=root)  # else _apt cannot write here
    fetched=0
    if (cd "$cache/kernel/download" && apt-get download -q "${apt_opts[@]}" "$pkg"); then
      fetched=1
    elif [[ $(id -u) -eq 0 && $install == 1 ]]; then
      # A stale package list names a kernel the mirror no longer has:
      # refresh it, resolve linux-image-amd64 again, retry once.
      note "apt-get download $pkg failed; running apt-get update and retrying"
      apt-get update -qq >/dev/null 2>&1 || true
      deps=$(apt-cache depends linux-image-amd64 2>/dev/null || true)
      newpkg=$(awk '$1 == "Depends:" && $2 ~ /^linux-image-/ { print $2; exit }' <<<"$deps")
      if [[ -n $newpkg ]]; then
        pkg=$newpkg kdir="$cache/kernel/$pkg"
        (cd "$cache/kernel/download" && apt-get download -q "${apt_opts[@]}" "$pkg") && fetched=1
      fi
    fi
    if [[ $fetched == 1 ]]; then
      deb=$(ls "$cache/kernel/download"/*.deb | head -n1)
      note "unpacking $(basename "$deb") ($(du -h "$deb" | cut -f1)) with dpkg -x"
      mkdir -p "$kdir.tmp"
      dpkg -x "$deb" "$kdir.tmp"
      rm -rf "$kdir.tmp/lib" "$kdir.tmp/usr"  # modules: the guest needs none (≈400 MB)
      mv "$kdir.tmp" "$kdir"
      rm -rf "$cache/kernel/download"
      kernel=$(ls "$kdir"/boot/vmlinuz-* 2>/dev/null | head -n1 || true)
    else
      rm -rf "$cache/kernel/download"
      echo "$me: apt-get download $pkg failed" >&2
    fi
  fi
fi
if [[ -z $kernel ]]; then
  # Offline, or apt no longer names a package we have: any cached kernel.
  kernel=$(ls -t "$cache"/kernel/*/boot/vmlinuz-* 2>/dev/null | head -n1 || true)
  [[ -n $kernel ]] || skip "no kernel: apt-get cannot resolve or download linux-image-amd64's image package, and $cache/kernel holds none"
  note "using the cached kernel $kernel"
fi
[[ -r $kernel ]] || skip "the kernel $kernel is not readable (Debian installs vmlinuz 0600: run as root or make the cache readable)"
flock -u 9 2>/dev/null || true
note "kernel: $kernel"

# ---- 3. initramfs ----
mkdir -p "$cache/work"
work=$(mktemp -d "$cache/work/run.XXXXXX")
qemu_pid=
cleanup() {
  [[ -n $qemu_pid ]] && kill "$qemu_pid" 2>/dev/null || true
  if [[ $keep == 1 ]]; then echo "$me: kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
stage=$work/root
mkdir -p "$stage"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,etc,root}
libdirs=()

# put SRC DEST: copies a host file into the stage; ELF files are stripped of
# debug info (unless --no-strip) and bring their shared libraries.
put() {
  local src=$1 dest=$2 magic
  [[ -f $src ]] || { echo "$me: no such file: $src" >&2; exit 2; }
  mkdir -p "$stage$(dirname "$dest")"
  magic=$(LC_ALL=C head -c 4 "$src" | od -An -c | tr -d ' ')
  if [[ $magic == '177ELF' ]]; then
    if [[ $strip_bins == 1 ]] && command -v strip >/dev/null 2>&1; then
      strip --strip-debug -o "$stage$dest" "$src" 2>/dev/null || cp -L "$src" "$stage$dest"
    else
      cp -L "$src" "$stage$dest"
    fi
    chmod +x "$stage$dest"
    local line lib
    # ldd lines: "libx.so.1 => /path/libx.so.1 (0x..)" or "/lib64/ld-linux-x86-64.so.2 (0x..)".
    while read -r line; do
      lib=
      if [[ $line =~ =\>\ (/[^ ]+) ]]; then
        lib=${BASH_REMATCH[1]}
      elif [[ $line =~ ^(/[^ ]+)\ \( ]]; then
        lib=${BASH_REMATCH[1]}
      fi
      [[ -n $lib && ! -e $stage$lib ]] || continue
      mkdir -p "$stage$(dirname "$lib")"
      cp -L "$lib" "$stage$lib"
      libdirs+=("$(dirname "$lib")")
    done < <(ldd "$src" 2>/dev/null || true)
  else
    cp -L "$src" "$stage$dest"
  fi
}

t_initrd=$SECONDS
put "$(command -v busybox)" /bin/busybox
((with_bash)) && put "$(command -v bash-static)" /bin/bash
for a in "${adds[@]}"; do
  src=${a%%:*}
  [[ $src == /* ]] || src="$PWD/$src"
  dest=$src
  [[ $a == *:* ]] && dest=${a#*:}
  [[ $dest == /* ]] || { echo "$me: --add DEST must be absolute: '$a'" >&2; exit 2; }
  put "$src" "$dest"
done
# PROGRAM: a name without a slash is looked up in the guest's PATH; a path
# already provided by --add/--bash is used as it is; any other path is a host
# file, copied to the same absolute path.
guest_program=$program
if [[ $program == */* ]]; then
  if [[ $program == /* && -e $stage$program ]]; then
    :
  elif [[ -f $program ]]; then
    guest_program=$(cd "$(dirname "$program")" && pwd)/$(basename "$program")
    put "$program" "$guest_program"
  else
    echo "$me: PROGRAM '$program': no such file (a name without '/' runs a guest command)" >&2
    exit 2
  fi
fi

# Shell-quotes for the guest's /init (busybox ash): 'a'\''b'.
q() { printf "'%s'" "${1//\'/\'\\\'\'}"; }
{
  echo "export QUIESCE_GUEST=1"
  echo "export QUIESCE_EXPECT_NODES=$nodes"
  echo "export QUIESCE_EXPECT_CPUS_PER_NODE=$cpus_per_node"
  echo "export QUIESCE_EXPECT_DISTANCE=$distance"
  if [[ ${#libdirs[@]} -gt 0 ]]; then
    echo "export LD_LIBRARY_PATH=$(q "$(printf '%s\n' "${libdirs[@]}" | sort -u | paste -sd: -)")"
  fi
  for e in "${envs[@]}"; do echo "export ${e%%=*}=$(q "${e#*=}")"; done
} >"$stage/etc/quiesce-env"

cmdline="$(q "$guest_program")"
for a in "${prog_args[@]}"; do cmdline+=" $(q "$a")"; done
cat >"$stage/init" <<EOF
#!/bin/busybox sh
# Generated by scripts/numa_guest.sh.
/bin/busybox --install -s
export PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin HOME=/root TERM=dumb
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
ln -sf /proc/self/fd /dev/fd   # what udev would add: bash's <(...) needs it
ln -sf /proc/self/fd/0 /dev/stdin
ln -sf /proc/self/fd/1 /dev/stdout
ln -sf /proc/self/fd/2 /dev/stderr
. /etc/quiesce-env
echo
echo "quiesce-guest: up after \$(cut -d' ' -f1 /proc/uptime) s: \$(ls -d /sys/devices/system/node/node[0-9]* | wc -l) nodes, \$(nproc) cpus, kernel \$(uname -r)"
echo "quiesce-guest: running:" $(q "$cmdline")
cd $(q "$cwd")
t_start=\$(cut -d' ' -f1 /proc/uptime)
$cmdline
rc=\$?
t_end=\$(cut -d' ' -f1 /proc/uptime)
echo
echo "quiesce-guest: program ran \$(awk -v a="\$t_start" -v b="\$t_end" 'BEGIN { printf "%.1f", b - a }') s"
echo "QUIESCE_GUEST_EXIT=\$rc"
poweroff -f
EOF
chmod +x "$stage/init"

initrd=$work/initrd.gz
(cd "$stage" && find . | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0 | gzip -1 >"$initrd")
note "initramfs: $(du -h "$initrd" | cut -f1) ($(du -sh "$stage" | cut -f1) unpacked) in $((SECONDS - t_initrd)) s"

# ---- 4. boot ----
cpus=$((nodes * cpus_per_node))
node_mem=$((mem / nodes))
qemu=(qemu-system-x86_64 -accel "tcg,thread=multi" -cpu max -m "$((node_mem * nodes))"
      -smp "$cpus,sockets=$nodes,cores=$cpus_per_node,threads=1")
for ((n = 0; n < nodes; n++)); do
  first=$((n * cpus_per_node))
  last=$((first + cpus_per_node - 1))
  qemu+=(-object "memory-backend-ram,id=m$n,size=${node_mem}M"
         -numa "node,nodeid=$n,cpus=$first-$last,memdev=m$n")
done
for ((a = 0; a < nodes; a++)); do
  for ((b = a + 1; b < nodes; b++)); do
    qemu+=(-numa "dist,src=$a,dst=$b,val=$distance")
  done
done
qemu+=(-kernel "$kernel" -initrd "$initrd" -append "console=ttyS0 quiet loglevel=3 panic=-1${append:+ $append}"
       -nographic -no-reboot -net none)

if [[ -z $log ]]; then
  mkdir -p "$cache/logs"
  log="$cache/logs/$(basename "$program")-${nodes}n.log"
fi
mkdir -p "$(dirname "$log")"
note "booting: ${qemu[*]}"
note "console (also in $log), timeout ${timeout_s} s:"
t_boot=$SECONDS
fifo=$work/console
mkfifo "$fifo"
# qemu in the background so that the EXIT trap can kill it; the console
# loses the serial line's \r and the firmware's terminal escapes (clear
# screen, ...) on its way to stdout and the log.
timeout --kill-after=10 "$timeout_s" "${qemu[@]}" </dev/null >"$fifo" 2>&1 &
qemu_pid=$!
sed -u -e 's/\r$//' -e 's/\x1b\[[0-9;?]*[A-Za-z]//g' -e 's/\x1bc//g' <"$fifo" | tee "$log"
set +e
wait "$qemu_pid"
qrc=$?
set -e
qemu_pid=
elapsed=$((SECONDS - t_boot))

if [[ $qrc -eq 124 || $qrc -eq 137 ]]; then
  echo "$me: FAIL: TIMEOUT: the guest did not finish within ${timeout_s} s (hung test or kernel); qemu killed. Log: $log" >&2
  exit 124
fi
result=$(grep -aE '^QUIESCE_GUEST_EXIT=[0-9]+$' "$log" | tail -n1 || true)
if [[ -z $result ]]; then
  echo "$me: FAIL: the guest ended after ${elapsed} s without a QUIESCE_GUEST_EXIT line (kernel panic, init or program crash?); qemu exit status $qrc. Log: $log" >&2
  exit 1
fi
rc=${result#QUIESCE_GUEST_EXIT=}
note "guest finished in ${elapsed} s (boot + program + poweroff); program exit code $rc"
exit "$((rc > 255 ? 1 : rc))"
