#!/bin/bash
# SPDX-License-Identifier: MIT
#
# io.sh: virtio-blk and virtio-fs throughput and host CPU per GiB, and an
# agent workload (git, cmake, make, ctest on a checkout in a rw share),
# agentvmm vs QEMU microvm, on the same raw image, kernel, initramfs, kernel
# command line and virtiofsd. Runs directly on a host with hardware
# virtualization, or inside the nested test host (scripts/testhost.sh).
#
# usage: bench/io.sh [--rounds N] [--size MiB] [--rand-size MiB] [--fs-size MiB]
#                    [--files N] [--disk-size MiB] [--mem MiB] [--tests LIST]
#                    [--build DIR] [--vs-build DIR] [--out DIR]
#
# LIST: comma-separated blk, fs, agent (default all three). Rounds interleave
# the VMMs ABBA (A B, B A, A B, ...; default 6 rounds); every row gives the
# median and the min-max over the rounds, of the figure of merit and of the
# host CPU (user+system of the VMM process, all its threads and children,
# and its virtiofsds) per GiB moved (per 1000 files, per run), sampled at the
# start and the end of each step (marks the guest leaves in its share). Ratios
# are agentvmm / QEMU. Writes io.txt (tables), io.records (one line per VMM,
# round and step) and the guests' logs into DIR (default
# build-bench/bench-results/io-<date>). --vs-build DIR compares two agentvmm
# builds instead (DIR/agentvmm in QEMU's place, labelled agentvmm-b: to
# measure a change). Exit 0, 1 if a VM or a step failed.
# See docs/bench.md, "I/O".
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(dirname "$here")
build=${AV_BENCH_BUILD:-$top/build-bench}
# Sizes fit the nested test host (a full 6-round run in ~40 minutes there).
rounds=6 size=128 rsize=8 fs_size=64 files=500 disk_size=256 mem=1024
tests=blk,fs,agent out='' build_given=0 vs=''

usage() { sed -n '10,12p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
while [ $# -gt 0 ]; do
	case $1 in
	--rounds) rounds=${2:?}; shift 2 ;;
	--size) size=${2:?}; shift 2 ;;
	--rand-size) rsize=${2:?}; shift 2 ;;
	--fs-size) fs_size=${2:?}; shift 2 ;;
	--files) files=${2:?}; shift 2 ;;
	--disk-size) disk_size=${2:?}; shift 2 ;;
	--mem) mem=${2:?}; shift 2 ;;
	--tests) tests=${2:?}; shift 2 ;;
	--build) build=${2:?}; build_given=1; shift 2 ;;
	--vs-build) vs=$(cd "${2:?}" && pwd)/agentvmm; shift 2 ;;
	--out) out=${2:?}; shift 2 ;;
	--inner) shift; break ;;
	-h | --help) usage ;;
	*) echo "io.sh: unknown option '$1'" >&2; usage ;;
	esac
done
for v in "$rounds" "$size" "$rsize" "$fs_size" "$files" "$disk_size" "$mem"; do
	[[ $v =~ ^[1-9][0-9]*$ ]] || { echo "io.sh: '$v' is not a positive number" >&2; exit 2; }
done
[ "$size" -le "$disk_size" ] || { echo "io.sh: --size is larger than --disk-size" >&2; exit 2; }
want() { [[ ,$tests, == *,$1,* ]]; }

# ---------------------------------------------------------------- outer part
if [ "${1:-}" != inner ]; then
	[ -n "$out" ] || out=$build/bench-results/io-$(date +%Y%m%d-%H%M%S)
	mkdir -p "$out"
	out=$(cd "$out" && pwd)
	# Build here unless given a build (compiling inside the test host is slow).
	if [ "$build_given" = 0 ] && [ -z "${AV_TESTHOST:-}" ]; then
		cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
		make -C "$build" -s -j"$(nproc)" agentvmm
	fi
	[ -x "$build/agentvmm" ] || { echo "io.sh: no $build/agentvmm" >&2; exit 2; }
	[ -z "$vs" ] || [ -x "$vs" ] || { echo "io.sh: no $vs" >&2; exit 2; }
	command -v fio >/dev/null || { echo "io.sh: fio is not installed (scripts/setup.sh)" >&2; exit 2; }
	# (a test host has a copy of this machine's kernel cache)
	[ -n "${AV_TESTHOST:-}" ] || "$top/scripts/fetch-kernel.sh" --kernel-only >&2
	args=(--rounds "$rounds" --size "$size" --rand-size "$rsize" --fs-size "$fs_size"
	      --files "$files" --disk-size "$disk_size" --mem "$mem" --tests "$tests"
	      --out "$out" --inner inner "$(cd "$build" && pwd)/agentvmm" "$vs")
	if "$top/scripts/testhost.sh" --need; then
		echo "io.sh: no vmx/svm here: running inside the nested test host" \
			"(figures count only as ratios)" >&2
		"$top/scripts/testhost.sh" --share "$top" --mem 8192 -- bash "$0" "${args[@]}"
	else
		bash "$0" "${args[@]}"
	fi
	exit
fi

# ---------------------------------------------------------------- inner part
av=$2 avb=${3:-}
. "$here/iolib.sh"
k=${AV_KERNEL_CACHE:-/var/cache/agentvmm/kernel}/bzImage
qemu=${AV_QEMU:-qemu-system-x86_64}
vfsd=${AGENTVMM_VIRTIOFSD:-/usr/lib/qemu/virtiofsd}
work=$(mktemp -d /tmp/avio.XXXXXX)
loop=
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	umount "$work/mnt" 2>/dev/null || true
	[ -z "$loop" ] || losetup -d "$loop" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
fs=$work/fs
records=$out/io.records
: >"$records"
mkdir -p "$out/logs" "$fs" "$work/cache"

# The image lives on ext4 on a loop device: both VMMs open it with O_DIRECT
# (agentvmm ",direct", QEMU "cache=none"), which tmpfs refuses.
img=
if want blk; then
	mkdir -p "$work/mnt"
	modprobe loop 2>/dev/null || true
	truncate -s $((disk_size + 128))M "$work/back"
	loop=$(losetup -f --show "$work/back")
	mkfs.ext4 -q -F "$loop"
	mount "$loop" "$work/mnt"
	img=$work/mnt/disk.img
	dd if=/dev/zero of="$img" bs=1M count="$disk_size" conv=fsync status=none
fi
# The agent workload's checkout: a clone of this one (HEAD, its history),
# copied afresh into the share before every VM.
if want agent; then
	git -c safe.directory='*' clone -q --no-hardlinks "$top" "$work/src0"
	git -C "$work/src0" log -1 --format='agent workload checkout: %h %s' | cut -c1-100 >&2
fi

# The guest's workload, run with the host's sh and bash from the /usr share.
# Each step sits between two marks (iolib.sh: the host samples CPU at each).
# fio runs three times (a fio start costs ~10 s in the nested test host:
# 64 shared libraries), its exec_prerun/exec_postrun placing the marks
# around each job's I/O, after fio's start and its files' layout. Three,
# not one: fio creates every job's files before its first job runs, which
# would leave the create job nothing to create.
io_marks_setup "$fs/sync"
# job FILE NAME DROP OPTION...: a stonewalled fio job NAME in FILE, with
# the guest's caches dropped just before it when DROP is 1
job() {
	local file=$1 n=$2 drop=$3 o
	shift 3
	{
		echo "[$n]"
		echo stonewall
		for o in "$@"; do echo "$o"; done
		echo "exec_prerun=sh /mnt/fs/sync/mark $n.start$([ "$drop" = 0 ] || echo ' drop')"
		echo "exec_postrun=: >/mnt/fs/sync/$n.end.req"
	} >>"$fs/$file"
}
rm -f "$fs"/*.fio
if want blk; then
	for qd in 1 32; do
		b=(filename=/dev/vda direct=1 ioengine=libaio iodepth=$qd)
		job 1.fio blk-seqread-qd$qd 0 "${b[@]}" rw=read bs=1M size=${size}M
		job 1.fio blk-seqwrite-qd$qd 0 "${b[@]}" rw=write bs=1M size=${size}M
		job 1.fio blk-randread-qd$qd 0 "${b[@]}" rw=randread bs=4k io_size=${rsize}M
	done
fi
if want fs; then
	d=(directory=/mnt/fs/t)
	md=("${d[@]}" nrfiles=$files filesize=4k openfiles=1 'filename_format=f.$filenum')
	job 1.fio fs-seqwrite 0 "${d[@]}" filename=seq rw=write bs=1M size=${fs_size}M \
		ioengine=psync end_fsync=1
	job 2.fio fs-create 0 "${md[@]}" ioengine=filecreate create_on_open=1 fallocate=none
	job 3.fio fs-seqread 1 "${d[@]}" filename=seq rw=read bs=1M size=${fs_size}M ioengine=psync
	# rw=write: fio would otherwise fill each empty file to 4 KiB first
	job 3.fio fs-stat 1 "${md[@]}" ioengine=filestat rw=write fallocate=none
	job 3.fio fs-unlink 0 "${md[@]}" ioengine=filedelete rw=write fallocate=none
fi
# The agent workload's build: a CMake project of one part of the checkout,
# bench/parse.c (of av_bench_lib) and its unit test test_bench_parse, with
# the top CMakeLists.txt's warnings. Not the project's own CMakeLists.txt:
# in the nested test host its configure step alone took 267 s in the guest
# (250 programs started) and 20 objects another 700 s, where this one
# configures and builds in a few minutes. Outside the checkout, so that
# git status sees only the checkout.
mkdir -p "$fs/agent"
cat >"$fs/agent/CMakeLists.txt" <<'EOF'
cmake_minimum_required(VERSION 3.20)
project(agentvmm_part C)
set(CMAKE_C_STANDARD 11)
set(CMAKE_C_EXTENSIONS ON)
add_compile_options(-Wall -Wextra -Werror -Wshadow -Wformat=2 -Wstrict-prototypes
	-Wmissing-prototypes -Wpointer-arith -Wcast-qual -Wwrite-strings -Wundef
	-Wvla -Wimplicit-fallthrough -Wno-unused-parameter -fstack-protector-strong)
add_compile_definitions(_GNU_SOURCE)
include_directories(${AV_SRC})
find_library(CMOCKA cmocka REQUIRED)
add_executable(test_bench_parse ${AV_SRC}/bench/parse.c ${AV_SRC}/tests/unit/bench/test_bench_parse.c)
target_link_libraries(test_bench_parse ${CMOCKA})
enable_testing()
add_test(NAME test_bench_parse COMMAND test_bench_parse)
EOF
cat >"$fs/run.sh" <<'EOF'
cd /tmp
echo "AVIO-CMDLINE $(cat /proc/cmdline)"
m() { : >"/mnt/fs/sync/$1.req"; }
m guest.start
res=/mnt/fs/res.txt
mkdir -p /mnt/fs/t /mnt/fs/logs
for j in 1 2 3; do
	[ -e /mnt/fs/$j.fio ] || continue
	/usr/bin/fio --output-format=terse --terse-version=3 /mnt/fs/$j.fio >/tmp/fio.out 2>/tmp/fio.err
	sed -n 's/^3;[^;]*;\([^;]*\);/AVIO \1 &/p' /tmp/fio.out >>$res
	[ ! -s /tmp/fio.err ] || sed "s/^/fio $j: /" /tmp/fio.err
done
if [ -d /mnt/fs/src ]; then
	cd /mnt/fs/src
	g="git -c safe.directory=*"
	a() {
		local n=$1 rc
		shift
		m $n.start
		"$@" >/tmp/$n.log 2>&1
		rc=$?
		m $n.end
		echo "AVAGENT $n $rc $(tail -n 1 /tmp/$n.log)" >>$res
		cp /tmp/$n.log /mnt/fs/logs/
	}
	m agent.start
	a agent-git-status sh -c "$g status --porcelain | wc -l"
	a agent-git-log-p sh -c "$g log -p | wc -c"
	a agent-cmake cmake -S /mnt/fs/agent -B /mnt/fs/agent-build -DAV_SRC=/mnt/fs/src
	a agent-make make -C /mnt/fs/agent-build -j$(nproc)
	a agent-ctest ctest --test-dir /mnt/fs/agent-build --output-on-failure
	m agent.end
fi
sh /mnt/fs/sync/settle
echo AVIO-DONE
EOF

vmm_status=0
# virtiofsd keeps one fd per inode the guest looked up: agentvmm raises the
# limit for its own virtiofsd (docs/shares.md); do the same for QEMU's.
ulimit -n "$(cat /proc/sys/fs/nr_open)" 2>/dev/null || ulimit -n 1048576 2>/dev/null || true

# fresh_share: the rw share as a VM finds it (no results, files or build)
fresh_share() {
	rm -rf "$fs/t" "$fs/src" "$fs/agent-build" "$fs/logs" "$fs/res.txt" "$fs"/sync/*.req
	if want agent; then cp -a "$work/src0" "$fs/src"; fi
}

# collect VMM ROUND: the VM's figures into the records (iolib.sh io_table)
collect() {
	local vm=$1 r=$2 marks=$out/logs/$1.$2.marks n rc rest fig
	cp "$fs/res.txt" "$out/logs/$vm.$r.res" 2>/dev/null || : >"$out/logs/$vm.$r.res"
	[ ! -d "$fs/logs" ] || cp -r "$fs/logs" "$out/logs/$vm.$r.agent"
	touch "$marks"
	# fio: terse v3 fields 6-8 read KiB, KiB/s, IOPS; 47-49 the same for writes
	while read -r _ n rest; do
		fig=$(io_step_figures "$marks" "$n.start" "$n.end")
		awk -v n="$n" -v vm="$vm" -v r="$r" -v fig="$fig" -v files="$files" -v line="$rest" 'BEGIN {
			split(line, f, ";")
			if (fig == "" || f[5] != 0 || f[1] != 3) { print vm, r, n, "error", "-", 0, "-", 0, 0, 0; exit }
			if (n ~ /^fs-(create|stat|unlink)/) { v = f[8] + f[49]; u = "files/s"; a = files / 1000; au = "kfiles" }
			else {
				a = (f[6] + f[47]) / 1048576; au = "GiB"
				if (n ~ /randread/) { v = f[8] + f[49]; u = "IOPS" } else { v = (f[7] + f[48]) / 1024; u = "MiB/s" }
			}
			printf "%s %s %s %.1f %s %.6f %s %s\n", vm, r, n, v, u, a, au, fig
		}' >>"$records"
	done < <(grep '^AVIO ' "$fs/res.txt" 2>/dev/null | tr -d '\r')
	# agent steps: wall time (lower is better), CPU per run; then the whole
	while read -r _ n rc rest; do
		fig=$(io_step_figures "$marks" "$n.start" "$n.end")
		if [ "$rc" = 0 ] && [ -n "$fig" ]; then
			echo "$vm $r $n ${fig%% *} s 1 run $fig" >>"$records"
		else
			io_error_line "$vm" "$r" "$n" >>"$records"
			echo "io.sh: $vm round $r: $n failed ($rc): $rest" >&2
			vmm_status=1
		fi
	done < <(grep '^AVAGENT ' "$fs/res.txt" 2>/dev/null | tr -d '\r')
	if want agent; then
		fig=$(io_step_figures "$marks" agent.start agent.end)
		if [ -n "$fig" ] && ! grep -q "^$vm $r agent-.* error " "$records"; then
			echo "$vm $r agent-workload ${fig%% *} s 1 run $fig" >>"$records"
		else
			io_error_line "$vm" "$r" agent-workload >>"$records"
		fi
	fi
	if grep -q "^$vm $r .* error " "$records"; then vmm_status=1; fi
}

# run_av ROUND [BINARY LABEL]
run_av() {
	local r=$1 bin=${2:-$av} lab=${3:-agentvmm} t0 vp disk=()
	echo "== $lab (round $r)" >&2
	fresh_share
	want blk && disk=(--disk "$img,direct")
	t0=$(io_now)
	# --stdio console: the command on the kernel command line, as QEMU gets it
	# (no vsock session); --balloon off: QEMU's VM has no balloon either.
	AGENTVMM_CACHE_DIR=$work/cache "$bin" --kernel "$k" --cpus 1 --mem "$mem" \
		--stdio console --balloon off "${disk[@]}" \
		--share ro:/usr --share "rw:$fs:/mnt/fs" \
		-- bash /mnt/fs/run.sh >"$work/$lab.$r.out" 2>&1 &
	vp=$!
	io_marks_serve "$vp" "$fs/sync" "$out/logs/$lab.$r.marks" "$vp"
	wait "$vp" || vmm_status=1
	echo "$lab: $(( ($(io_now) - t0) / 1000000 )) ms wall" >&2
	cp "$work/$lab.$r.out" "$out/logs/"
	io_take_setup "$work/$lab.$r.out" AVIO-CMDLINE "$work/cache" "io.sh: $lab"
	grep -q AVIO-DONE "$work/$lab.$r.out" ||
		{ echo "io.sh: $lab round $r did not finish:" >&2; tail -n 20 "$work/$lab.$r.out" >&2; vmm_status=1; }
	collect "$lab" "$r"
}
run_avb() { run_av "$1" "$avb" agentvmm-b; }

# QEMU: same initramfs and command line (guest-init mounts share0 at /usr and
# share1 at /mnt/fs from it), the same virtiofsd binary and flags as
# agentvmm's (vmm/share.c), vhost-user-fs-pci over memfd shared RAM.
vfs() {
	rm -f "$work/vfs$1.sock"
	"$vfsd" --socket-path="$work/vfs$1.sock" -o source="$2" -o cache=auto \
		-o sandbox=namespace -o log_level=warn --thread-pool-size=2 \
		--rlimit-nofile=0 2>>"$work/vfsd.err" &
	pids+=($!)
}
run_qemu() {
	local r=$1 t0 qp blk=()
	echo "== qemu microvm (round $r)" >&2
	fresh_share
	vfs 0 /usr
	vfs 1 "$fs"
	for _ in $(seq 100); do
		[ -S "$work/vfs0.sock" ] && [ -S "$work/vfs1.sock" ] && break
		sleep 0.05
	done
	want blk && blk=(-drive if=none,file="$img",format=raw,aio=io_uring,cache=none,id=d
		-device virtio-blk-pci,drive=d)
	t0=$(io_now)
	"$qemu" -M microvm,pcie=on,auto-kernel-cmdline=off,memory-backend=mem \
		-object memory-backend-memfd,id=mem,size="$mem"M,share=on \
		-accel kvm -cpu host -smp 1 -m "$mem" -nodefaults -no-user-config -display none \
		-no-reboot -chardev stdio,id=con,signal=off -serial chardev:con \
		-kernel "$k" -initrd "$initrd" -append "$cmdline" \
		-device isa-debug-exit,iobase=0xf4,iosize=4 "${blk[@]}" \
		-chardev socket,id=c0,path="$work/vfs0.sock" \
		-device vhost-user-fs-pci,chardev=c0,tag=share0 \
		-chardev socket,id=c1,path="$work/vfs1.sock" \
		-device vhost-user-fs-pci,chardev=c1,tag=share1 \
		</dev/null >"$work/qemu.$r.out" 2>&1 &
	qp=$!
	io_marks_serve "$qp" "$fs/sync" "$out/logs/qemu.$r.marks" "$qp" "${pids[@]}"
	wait "$qp" || true
	echo "qemu: $(( ($(io_now) - t0) / 1000000 )) ms wall" >&2
	wait "${pids[@]}" 2>/dev/null || true
	pids=()
	cp "$work/qemu.$r.out" "$out/logs/"
	grep -q AVIO-DONE "$work/qemu.$r.out" ||
		{ echo "io.sh: qemu round $r failed:" >&2; tail -n 20 "$work/qemu.$r.out" >&2; vmm_status=1; }
	collect qemu "$r"
}

# agentvmm goes first in round 1 (QEMU needs its command line and initramfs)
other=qemu
[ -z "$avb" ] || other=avb
for r in $(seq "$rounds"); do
	for v in $(io_order "$r" av $other); do "run_$v" "$r"; done
done

{
	echo "# bench/io.sh: $rounds rounds (ABBA), --size $size --rand-size $rsize --fs-size $fs_size" \
		"--files $files --mem $mem"
	echo "# median (min–max); throughput ratio above 1 and CPU ratio below 1: agentvmm leads;"
	echo "# for the agent rows (seconds) below 1 is agentvmm ahead in both"
	if [ -n "$avb" ]; then io_table "$records" agentvmm agentvmm-b; else io_table "$records" agentvmm qemu; fi
} | tee "$out/io.txt"
if [ -s "$work/vfsd.err" ]; then
	echo "virtiofsd (QEMU's) said:" >&2
	sort "$work/vfsd.err" | uniq -c | sort -rn | head -n 5 >&2
fi
exit "$vmm_status"
