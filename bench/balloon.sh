#!/bin/bash
# SPDX-License-Identifier: MIT
#
# balloon.sh: what --balloon (free page reporting, docs/balloon.md) saves on
# the host, N instances side by side, per mode:
#   idle-off   agentvmm --balloon off, 512 MiB, `sleep` as the workload
#   idle-on    agentvmm (balloon on: the default), the same
#   work-off   --balloon off; the guest writes 300 MiB to a tmpfs, deletes
#              it, then sleeps (an agent's tool that grows and frees)
#   work-on    the same with the balloon
#   idle-order3  the balloon reporting free blocks from 32 KiB up
#              (--balloon reporting-order=3; the default is Linux's 9, 2 MiB)
#   work-order3  work-on with order 3
#   runsc-idle / runsc-work   gVisor (Debian's runsc, `runsc do`, ptrace
#              platform, no network) with the same two workloads, when runsc
#              is installed
#   read-fs    agentvmm reading every file of a store directory (STORE_DIR,
#              default /usr/lib/gcc, ~240 MiB) once, then idle: the store
#              shared with --share ro:STORE_DIR:/store (virtio-fs)
#   read-pmem  the same store as an erofs image (scripts/mkstore.sh, built
#              once per run) on --pmem IMG,ro,mount=/store,dax
#   read-pmem-nodax  the image without DAX (the guest's page cache holds it)
#   runsc-read gVisor reading STORE_DIR the same way
#   The read modes also print the seconds the first read and a second one
#   took in the guest (means over the instances).
# For each mode: drop the page cache, read MemAvailable, start N instances
# one after another (each once the one before printed READY), let them
# settle SETTLE seconds, drop the page cache again, read MemAvailable and
# every instance's PSS (all processes of its session), then kill them.
# Prints one line per mode: MemAvailable drop per instance, mean PSS per
# instance, and how many would fit in the MemAvailable the mode started with
# at that drop. A benchmark, not a test. Needs root (drop_caches) and a machine
# where Linux guests boot; here, the nested test host:
#   scripts/testhost.sh --share "$PWD" --timeout 3000 -- "$PWD/bench/balloon.sh" \
#       [--count N] [--settle S] [--modes "idle-off idle-on ..."] [--agentvmm PATH] [--kernel K]
#   (STORE_DIR=DIR in the environment for the read modes)
set -u
here=$(cd "$(dirname "$0")" && pwd)
av=$here/../build/agentvmm
k=${AV_KERNEL_CACHE:-/var/cache/agentvmm/kernel}/bzImage
count=10 settle=30
modes="idle-off idle-on work-off work-on runsc-idle runsc-work"
while [ $# -gt 0 ]; do
	case $1 in
	--count) count=${2:?}; shift 2 ;;
	--settle) settle=${2:?}; shift 2 ;;
	--modes) modes=${2:?}; shift 2 ;;
	--agentvmm) av=${2:?}; shift 2 ;;
	--kernel) k=${2:?}; shift 2 ;;
	*) echo "usage: bench/balloon.sh [--count N] [--settle S] [--modes M] [--agentvmm P] [--kernel K]" >&2
	   exit 2 ;;
	esac
done
[ -w /proc/sys/vm/drop_caches ] || { echo "balloon.sh: needs root (drop_caches)" >&2; exit 2; }
work=$(mktemp -d /tmp/av-balloon-bench-XXXXXX)
trap 'rm -rf "$work"' EXIT

idle='echo READY; exec sleep 100000'
grow='mkdir -p /mnt/b && mount -t tmpfs -o size=400m b /mnt/b &&
dd if=/dev/zero of=/mnt/b/x bs=1M count=300 2>/dev/null && rm /mnt/b/x; echo READY; exec sleep 100000'
store=${STORE_DIR:-/usr/lib/gcc}
# read every file of DIR twice, timed by the guest's own clock (busybox sh, gVisor's sh)
read_script() {
	echo "t0=\$(cut -d' ' -f1 /proc/uptime); find $1 -type f -exec cat {} + >/dev/null;
t1=\$(cut -d' ' -f1 /proc/uptime); find $1 -type f -exec cat {} + >/dev/null;
t2=\$(cut -d' ' -f1 /proc/uptime); echo READ \$t0 \$t1 \$t2; echo READY; exec sleep 100000"
}
# gVisor: its own tmpfs at /tmp (the sandbox's memory file)
grow_runsc='dd if=/dev/zero of=/tmp/x bs=1M count=300 2>/dev/null && rm /tmp/x; echo READY; exec sleep 100000'

mem_avail_kb() {
	sync
	echo 3 >/proc/sys/vm/drop_caches
	sleep 1
	awk '/^MemAvailable:/ { print $2 }' /proc/meminfo
}

# session_pids SID: every process of session SID (field 6 of /proc/PID/stat;
# one cat and one awk: forks are slow in the test host)
session_pids() {
	cat /proc/[0-9]*/stat 2>/dev/null |
		awk -v s="$1" '{ pid = $1; sub(/^.*\) /, ""); if ($4 == s) print pid }'
}

# pss_kb SID: PSS of every process of session SID
pss_kb() {
	local sum=0 p v
	for p in $(session_pids "$1"); do
		v=$(awk '/^Pss:/ { print $2 }' "/proc/$p/smaps_rollup" 2>/dev/null)
		sum=$((sum + ${v:-0}))
	done
	echo $sum
}

# start_one MODE I: instance I of MODE in a session of its own, whose id
# (the session leader's pid, written before it execs the instance) it prints
start_one() {
	local out=$work/$1.$2 sid=$work/$1.$2.sid
	local lead='echo $$ >"$0"; exec "$@"'
	case $1 in
	idle-off) setsid sh -c "$lead" "$sid" "$av" --kernel "$k" --mem 512 --balloon off \
		-- sh -c "$idle" ;;
	idle-on) setsid sh -c "$lead" "$sid" "$av" --kernel "$k" --mem 512 -- sh -c "$idle" ;;
	work-off) setsid sh -c "$lead" "$sid" "$av" --kernel "$k" --mem 512 --balloon off \
		-- sh -c "$grow" ;;
	work-on) setsid sh -c "$lead" "$sid" "$av" --kernel "$k" --mem 512 -- sh -c "$grow" ;;
	idle-order3) setsid sh -c "$lead" "$sid" "$av" --kernel "$k" --mem 512 \
		--balloon reporting-order=3 -- sh -c "$idle" ;;
	work-order3) setsid sh -c "$lead" "$sid" "$av" --kernel "$k" --mem 512 \
		--balloon reporting-order=3 -- sh -c "$grow" ;;
	runsc-idle) setsid sh -c "$lead" "$sid" runsc --network=none --platform=ptrace \
		--root "$work/runsc" do sh -c "$idle" ;;
	runsc-work) setsid sh -c "$lead" "$sid" runsc --network=none --platform=ptrace \
		--root "$work/runsc" do sh -c "$grow_runsc" ;;
	read-fs) setsid sh -c "$lead" "$sid" "$av" --kernel "$k" --mem 512 \
		--share "ro:$store:/store" -- sh -c "$(read_script /store)" ;;
	read-pmem) setsid sh -c "$lead" "$sid" "$av" --kernel "$k" --mem 512 \
		--pmem "$work/store.img,ro,mount=/store,dax" -- sh -c "$(read_script /store)" ;;
	read-pmem-nodax) setsid sh -c "$lead" "$sid" "$av" --kernel "$k" --mem 512 \
		--pmem "$work/store.img,ro,mount=/store" -- sh -c "$(read_script /store)" ;;
	runsc-read) setsid sh -c "$lead" "$sid" runsc --network=none --platform=ptrace \
		--root "$work/runsc" do sh -c "$(read_script "$store")" ;;
	esac </dev/null >"$out" 2>"$out.err" &
	for ((w = 0; w < 100; w++)); do [ -s "$sid" ] && break; sleep 0.05; done
	cat "$sid"
}

case " $modes " in *" read-pmem"*)
	sh "$here/../scripts/mkstore.sh" "$store" "$work/store.img" >&2 || exit 1 ;;
esac
total_kb=$(awk '/^MemTotal:/ { print $2 }' /proc/meminfo)
echo "balloon.sh: $count instances per mode, settle ${settle}s, MemTotal $((total_kb / 1024)) MiB"
printf '%-11s %5s %16s %12s %8s\n' mode ready "MemAvail drop/inst" "PSS/inst" fit
for m in $modes; do
	case $m in runsc-*) command -v runsc >/dev/null || { echo "$m: no runsc"; continue; } ;; esac
	a0=$(mem_avail_kb)
	# one at a time, each once the one before printed READY: N boots at once on
	# the test host's one TCG vCPU take far longer than N one after another
	pids=() ready=0 t0=$SECONDS
	for ((i = 0; i < count; i++)); do
		pids+=("$(start_one "$m" "$i")")
		for ((t = 0; t < 600; t++)); do
			grep -q READY "$work/$m.$i" 2>/dev/null && { ready=$((ready + 1)); break; }
			sleep 0.5
		done
	done
	echo "  $m: $ready of $count ready after $((SECONDS - t0)) s" >&2
	sleep "$settle"
	a1=$(mem_avail_kb)
	pss=0
	for p in "${pids[@]}"; do
		pss=$((pss + $(pss_kb "$p")))
	done
	drop=$(((a0 - a1) / count))
	awk -v m="$m" -v r="$ready/$count" -v d="$drop" -v p="$pss" -v n="$count" -v a="$a0" \
		'BEGIN { f = d > 0 ? int(a / d) : 0
			 printf "%-11s %5s %12.1f MiB %8.1f MiB %8d", m, r, d / 1024, p / n / 1024, f }'
	# the read modes: mean seconds of the first and the second read
	cat "$work/$m".[0-9]* 2>/dev/null | awk '$1 == "READ" { a += $3 - $2; b += $4 - $3; n++ }
		END { if (n) printf "   read %.2f s, again %.2f s (%d)", a / n, b / n, n; print "" }'
	for p in "${pids[@]}"; do
		kill -KILL $(session_pids "$p") 2>/dev/null
	done
	wait 2>/dev/null
	[ "$ready" = "$count" ] || { echo "  $m: only $ready of $count printed READY; first error:"; \
		head -3 "$work/$m".0.err; }
	sleep 3
done
