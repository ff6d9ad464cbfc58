#!/bin/bash
# SPDX-License-Identifier: MIT
#
# testhost.sh: run a command inside a nested "test host" (L2) that has a real
# /dev/kvm, for machines whose own /dev/kvm cannot boot a Linux guest (see
# docs/testhost.md).
#
# usage: scripts/testhost.sh [--mem MiB] [--smp N] [--timeout SEC]
#                            [--share DIR]... [--env NAME=VALUE]... -- CMD [ARGS...]
#        scripts/testhost.sh --need
#
# The test host is Debian's standard amd64 kernel booted by QEMU TCG with
# -cpu max (emulated AMD SVM), a busybox initramfs (scripts/testhost/init.sh)
# and the host's /usr shared read-only over 9p. Each --share DIR (default: the
# git work tree holding this script) is mounted read-write at the same path.
# The guest kernel cache ($AV_KERNEL_CACHE) is copied into the test host's
# tmpfs and AV_KERNEL_CACHE points at the copy; the test host's own kernel
# (Debian's generic amd64 kernel, also a test guest kernel) is at
# $AV_TESTHOST_CACHE/vmlinuz there, its modules in $AV_TESTHOST_CACHE/lib;
# AV_TESTHOST=1 is exported.
# CMD runs with the current directory's path as cwd; its stdout and stderr
# (merged) go to our stdout, and we exit with its status.
#
# Exit: CMD's status; 124 on --timeout or when the test host stalled (QEMU
# used no CPU for $AV_TESTHOST_STALL_S seconds, default 90, or no heartbeat
# from inside for $AV_TESTHOST_HEARTBEAT_S, default 180); 125 if the test
# host failed to boot or run CMD; 2 on a usage error; 130 on SIGINT/SIGTERM.
# --need: exit 0 if real kernels must boot in a nested test host here (no
# KVM device, software KVM, or AV_FORCE_TESTHOST=1: scripts/kvm-kind.sh),
# 1 if they can boot directly (hardware KVM).
set -euo pipefail

prog=testhost.sh
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
tcache=${AV_TESTHOST_CACHE:-/var/cache/agentvmm/testhost}
kcache=${AV_KERNEL_CACHE:-/var/cache/agentvmm/kernel}
# Where the guest kernel cache lives inside the test host (tmpfs), and the
# test host's own kernel as a guest kernel.
l2_kcache=/var/cache/agentvmm/kernel
l2_tcache=/var/cache/agentvmm/testhost

usage() { sed -n '8,11p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
err() { echo "$prog: $*" >&2; }

mem=6144
# One vCPU by default: with two (multi-threaded TCG) a test batch hung now and
# then (the test host stopped making progress); --smp 2 lets two L3 guests run
# side by side when wanted. See docs/testhost.md.
smp=1
timeout_s=3000
shares=()
envs=()
while [ $# -gt 0 ]; do
	case $1 in
	--need)
		if [ "$("$here/kvm-kind.sh")" = hwkvm ]; then exit 1; else exit 0; fi ;;
	--mem) mem=${2:?}; shift 2 ;;
	--smp) smp=${2:?}; shift 2 ;;
	--timeout) timeout_s=${2:?}; shift 2 ;;
	--share) shares+=("$(realpath -e -- "${2:?}")") || { err "--share $2: no such directory"; exit 2; }
		shift 2 ;;
	--env) [[ ${2:-} == [A-Za-z_]*=* ]] || { err "--env wants NAME=VALUE"; exit 2; }
		envs+=("$2"); shift 2 ;;
	--) shift; break ;;
	-h | --help) usage ;;
	*) err "unknown option '$1'"; usage ;;
	esac
done
[ $# -gt 0 ] || usage
for v in "$mem" "$smp" "$timeout_s"; do
	[[ $v =~ ^[1-9][0-9]*$ ]] || { err "'$v' is not a positive number"; exit 2; }
done
if [ ${#shares[@]} -eq 0 ]; then
	top=$(git -C "$here" rev-parse --show-toplevel 2>/dev/null) || top=$(dirname "$here")
	shares=("$top")
fi
for s in "${shares[@]}"; do
	[ -d "$s" ] || { err "--share $s: not a directory"; exit 2; }
	case $s in /usr | /usr/*) err "--share $s: /usr is already shared read-only"; exit 2 ;; esac
done

command -v qemu-system-x86_64 >/dev/null || { err "qemu-system-x86_64 not installed"; exit 125; }
if ! [ -x /usr/bin/busybox ] || readelf -l /usr/bin/busybox 2>/dev/null | grep -q INTERP; then
	err "needs a static /usr/bin/busybox (apt-get install busybox-static)"
	exit 125
fi

# The test host kernel and its modules.
if ! [ -s "$tcache/release" ] || ! [ -s "$tcache/vmlinuz" ]; then
	"$here/fetch-kernel.sh" --testhost-only >&2 || exit 125
fi
rel=$(cat "$tcache/release")
moddir=$tcache/lib/modules/$rel

# ---- initramfs (cached in $tcache, rebuilt when an input changes) -----------

# Modules the test host loads at boot; dependencies are resolved below.
l2_modules="virtio_pci 9pnet_virtio 9p kvm_amd tun veth bridge overlay fuse"

# Print module paths (relative to $moddir) for $l2_modules, dependencies
# first, from modules.dep; built-in modules are skipped.
resolve_modules() {
	awk -v want="$l2_modules" '
	function norm(p) { sub(/.*\//, "", p); sub(/\.ko(\.[a-z]+)?:?$/, "", p); gsub(/-/, "_", p); return p }
	FILENAME ~ /modules\.builtin$/ { builtin[norm($1)] = 1; next }
	{
		n = norm($1); p = $1; sub(/:$/, "", p); path[n] = p; deps[n] = ""
		for (i = 2; i <= NF; i++) deps[n] = deps[n] " " norm($i)
	}
	function visit(n,   a, k, i) {
		if (n in done || n in builtin) return
		if (!(n in path)) { missing = missing " " n; return }
		done[n] = 1
		k = split(deps[n], a, " ")
		for (i = k; i >= 1; i--) visit(a[i])
		print path[n]
	}
	END {
		k = split(want, w, " ")
		for (i = 1; i <= k; i++) visit(w[i])
		if (missing != "") { print "missing modules:" missing > "/dev/stderr"; exit 1 }
	}' "$moddir/modules.builtin" "$moddir/modules.dep"
}

# Print the path of the initramfs, building it first if needed.
build_initramfs() {
	local list key dir initrd
	local -a kos
	list=$(resolve_modules) || return 1
	mapfile -t kos <<<"$list"
	key=$( { echo "$rel"; echo "$list"; sha256sum "$here/testhost/init.sh";
		stat -L -c '%s %Y' /usr/bin/busybox; } | sha256sum | cut -c1-16)
	initrd=$tcache/initramfs-$key.cpio
	if [ -s "$initrd" ]; then
		echo "$initrd"
		return 0
	fi
	# We hold the lock: any staging directory left here is from a killed run.
	rm -rf "$tcache"/initramfs.??????
	dir=$(mktemp -d "$tcache/initramfs.XXXXXX")
	mkdir -p "$dir/bin" "$dir/lib/modules"
	cp /usr/bin/busybox "$dir/bin/busybox"
	install -m 755 "$here/testhost/init.sh" "$dir/init"
	echo "$list" >"$dir/modules.list"
	if ! (cd "$moddir" && cp --parents "${kos[@]}" "$dir/lib/modules/"); then
		rm -rf "$dir"
		return 1
	fi
	(cd "$dir" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) >"$dir.cpio" &&
		rm -f "$tcache"/initramfs-*.cpio && mv "$dir.cpio" "$initrd"
	local rc=$?
	rm -rf "$dir" "$dir.cpio"
	[ $rc -eq 0 ] && echo "$initrd"
	return $rc
}

initrd=$(
	{
		flock 9
		build_initramfs
	} 9>"$tcache/.initramfs.lock"
) || { err "building the test host initramfs failed"; exit 125; }

# ---- the job directory: what L2 runs, shared with it over 9p ----------------

job=$(mktemp -d "${TMPDIR:-/tmp}/testhost.XXXXXX")
qpid=
cleanup() {
	[ -z "${wpid:-}" ] || kill "$wpid" 2>/dev/null || true
	[ -z "${mpid:-}" ] || kill "$mpid" 2>/dev/null || true
	if [ -n "$qpid" ]; then
		kill -TERM "$qpid" 2>/dev/null || true
		wait "$qpid" 2>/dev/null || true
	fi
	rm -rf "$job"
}
trap cleanup EXIT
trap 'cleanup; trap - EXIT; exit 130' INT TERM HUP

# Host /etc bits that host programs in L2 need (Debian alternatives such as
# cc and awk, the loader cache, protocol tables).
etc_items=()
for f in alternatives ld.so.cache ld.so.conf ld.so.conf.d protocols services ethertypes \
	iproute2 nsswitch.conf mke2fs.conf localtime os-release qemu debian_version; do
	[ -e "/etc/$f" ] && etc_items+=("$f")
done
tar -C /etc -cf "$job/etc.tar" "${etc_items[@]}" 2>/dev/null || true

virtfs=(-virtfs "local,path=/usr,mount_tag=usr,security_model=none,readonly=on,multidevs=remap"
	-virtfs "local,path=${tcache//,/,,}/lib/modules,mount_tag=modules,security_model=none,readonly=on"
	-virtfs "local,path=${job//,/,,},mount_tag=job,security_model=none")
: >"$job/shares"
i=0
# Shortest path first, so nested shares mount on top of their parents.
while IFS= read -r s; do
	virtfs+=(-virtfs "local,path=${s//,/,,},mount_tag=share$i,security_model=none,multidevs=remap")
	printf 'share%d %s\n' "$i" "$s" >>"$job/shares"
	i=$((i + 1))
done < <(printf '%s\n' "${shares[@]}" | awk '{ print length($0), $0 }' | sort -n | cut -d' ' -f2-)
# the test host's kernel image, for tests that boot it as a guest (its
# modules are the test host's own /lib/modules)
virtfs+=(-virtfs "local,path=$(realpath "$tcache" | sed 's/,/,,/g'),mount_tag=tcache,security_model=none,readonly=on")
echo "$l2_tcache" >"$job/tcache"
if [ -d "$kcache" ]; then
	virtfs+=(-virtfs "local,path=$(realpath "$kcache" | sed 's/,/,,/g'),mount_tag=kcache,security_model=none,readonly=on")
	echo "$l2_kcache" >"$job/kcache"
fi

# The run script: environment, cwd, then CMD exactly as given.
{
	echo 'export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
	echo 'export HOME=/root USER=root LOGNAME=root SHELL=/bin/bash AV_TESTHOST=1'
	printf 'export AV_KERNEL_CACHE=%q\n' "$l2_kcache"
	printf 'export AV_TESTHOST_CACHE=%q\n' "$l2_tcache"
	printf 'export TERM=%q\n' "${TERM:-dumb}"
	while IFS='=' read -r -d '' name val; do
		case $name in
		AV_KERNEL_CACHE | AV_TESTHOST | AV_TESTHOST_CACHE | AV_FORCE_TESTHOST | AV_CPUINFO) ;;
		AV_* | ASAN_OPTIONS | UBSAN_OPTIONS | TSAN_OPTIONS | LSAN_OPTIONS | CTEST_* | \
			LANG | LC_* | CC | CXX | CFLAGS | CXXFLAGS | LDFLAGS | MAKEFLAGS | CMAKE_*)
			printf 'export %s=%q\n' "$name" "$val" ;;
		esac
	done < <(env -0)
	for e in "${envs[@]}"; do
		printf 'export %s=%q\n' "${e%%=*}" "${e#*=}"
	done
	printf 'cd -- %q 2>/dev/null || { echo "testhost: cwd %q is not shared; running in /" >&2; cd /; }\n' \
		"$PWD" "$PWD"
	printf '%q ' "$@"
	echo
} >"$job/run"

# ---- boot ---------------------------------------------------------------------

accel=tcg
[ "$smp" -gt 1 ] && accel=tcg,thread=multi
# nohz=off: a periodic tick (the stall watchdog below counts on it)
append="console=ttyS0 quiet loglevel=0 panic=-1 mitigations=off nohz=off rdinit=/init"
# QEMU's human monitor on two FIFOs (mon.in, mon.out), drained into
# monitor.log: the stall watchdog asks it for the emulated CPU's state.
mkfifo "$job/mon.in" "$job/mon.out"
cat "$job/mon.out" >>"$job/monitor.log" &
mpid=$!
# stdin from /dev/null: QEMU must not take over the terminal, and Ctrl-C must
# reach this script (timeout(1) runs QEMU in its own process group).
timeout -k 10 "$timeout_s" qemu-system-x86_64 \
	-M q35 -accel "$accel" -cpu max -smp "$smp" -m "$mem" \
	-nodefaults -no-user-config -display none -no-reboot \
	-chardev stdio,id=con,signal=off -serial chardev:con \
	-chardev pipe,id=mon,path="$job/mon" -mon chardev=mon,mode=readline \
	-kernel "$tcache/vmlinuz" -initrd "$initrd" -append "$append" \
	"${virtfs[@]}" </dev/null &
qpid=$!

# Stall watchdog. The emulated test host has stalled now and then: QEMU
# used no CPU at all (its vCPU halted with no timer armed, although the test
# host runs a periodic tick, nohz=off), and would have sat there until the
# timeout. A running test host always uses some CPU (the tick alone), so
# QEMU's CPU time standing still for $stall_s seconds means a stall: stop it
# and say so (docs/testhost.md, "Emulation artefacts").
#
# The other way a test host stops: it livelocks, QEMU busy at 100 % CPU while
# nothing in it runs (seen with an 8-vCPU nested guest). The test host's init
# writes a heartbeat file into the job directory every 10 s once the command
# runs; no new heartbeat for $hb_s seconds (default 180) is a stall too.
stall_s=${AV_TESTHOST_STALL_S:-90}
hb_s=${AV_TESTHOST_HEARTBEAT_S:-180}
# stall_diag: the emulated CPU's state from QEMU's monitor, into the log
stall_diag() {
	: >"$job/monitor.log"
	{
		printf 'info registers -a\ninfo lapic\ninfo pic\ninfo irq\ninfo cpus\n'
		sleep 2
	} >"$job/mon.in"
	sleep 1
	# without the monitor's echo of each command (terminal escapes)
	grep -av $'\e' "$job/monitor.log" | sed 's/^/testhost.sh: monitor: /' >&2
}
# nudge: a key press every $nudge_s seconds. QEMU's TCG loses the wake-up of
# a halted vCPU whose APIC timer vector is pending in the IRR (docs/testhost.md,
# "Stalls"); any interrupt through the IOAPIC makes its APIC look at the IRR
# again, so a lost timer interrupt costs at most $nudge_s seconds.
nudge_s=${AV_TESTHOST_NUDGE_S:-10}
# stall_kick: try to wake the test host without losing its work: stop and
# continue the emulated machine (each vCPU thread looks again for pending
# interrupts and timers), a key press (an interrupt through the IOAPIC, which
# makes QEMU's APIC look at its IRR again), an NMI to every vCPU.
stall_kick() {
	printf 'stop\ncont\nsendkey shift\nnmi\ninfo lapic\n' >"$job/mon.in"
}
# A stall is first kicked (at most $kicks_max times a run); the test host has
# recovered when a new heartbeat comes within $kick_s seconds, else (or with no
# heartbeat yet: still booting) it is stopped.
kicks_max=${AV_TESTHOST_KICKS:-3}
kick_s=60
watch_stall() {
	local qemu="" last="" same=0 t hb now why kicks=0 kicked_at=0 nudged=0
	for _ in $(seq 100); do
		qemu=$(pgrep -P "$1" | head -n 1) && [ -n "$qemu" ] && break
		sleep 0.1
	done
	[ -n "$qemu" ] || return 0
	while t=$(awk '{ print $14 + $15 }' "/proc/$qemu/stat" 2>/dev/null); do
		if [ "$t" = "$last" ]; then same=$((same + 5)); else same=0; last=$t; fi
		now=$(date +%s)
		if [ "$nudge_s" -gt 0 ] && [ $((now - nudged)) -ge "$nudge_s" ]; then
			printf 'sendkey shift\n' >"$job/mon.in"
			nudged=$now
		fi
		hb=$(stat -c %Y "$job/heartbeat" 2>/dev/null) || hb=
		if [ "$kicked_at" -gt 0 ]; then
			if [ -n "$hb" ] && [ "$hb" -gt "$kicked_at" ]; then
				echo "testhost.sh: the test host recovered after the kick" >&2
				echo "$why" >>"$job/recovered"
				kicked_at=0
				same=0
			elif [ $((now - kicked_at)) -ge "$kick_s" ]; then
				echo "$why, and again ${kick_s}s after a kick" >"$job/stalled"
				kill -KILL "$qemu" 2>/dev/null
				return 0
			fi
		else
			why=
			if [ "$same" -ge "$stall_s" ]; then
				why="QEMU used no CPU for ${stall_s}s"
			elif [ -n "$hb" ] && [ $((now - hb)) -ge "$hb_s" ]; then
				why="no heartbeat from it for ${hb_s}s while QEMU ran"
			fi
			if [ -n "$why" ]; then
				stall_diag
				if [ -z "$hb" ] || [ "$kicks" -ge "$kicks_max" ]; then
					echo "$why" >"$job/stalled"
					kill -KILL "$qemu" 2>/dev/null
					return 0
				fi
				kicks=$((kicks + 1))
				echo "testhost.sh: the test host stalled ($why): kick $kicks of $kicks_max (stop, cont, a key, nmi)" >&2
				stall_kick
				kicked_at=$now
			fi
		fi
		sleep 5
	done
}
watch_stall "$qpid" &
wpid=$!
set +e
wait "$qpid"
qrc=$?
kill "$wpid" 2>/dev/null
wait "$wpid" 2>/dev/null
set -e
qpid=
if [ -e "$job/stalled" ]; then
	err "the test host stalled: $(cat "$job/stalled") (an emulation artefact); stopped it"
	exit 124
fi
if [ "$qrc" -eq 124 ] || [ "$qrc" -eq 137 ]; then
	err "timed out after ${timeout_s}s"
	exit 124
fi
if [ -s "$job/status" ]; then
	exit "$(cat "$job/status")"
fi
if [ -e "$job/started" ]; then
	err "the test host died while running the command (QEMU status $qrc)"
else
	err "the test host failed before running the command (QEMU status $qrc)"
fi
exit 125
