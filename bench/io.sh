#!/bin/bash
# SPDX-License-Identifier: MIT
#
# io.sh: virtio-blk and virtio-fs throughput, agentvmm vs QEMU microvm, on the
# same raw image, kernel, initramfs, kernel command line and virtiofsd. Runs
# directly on a host with hardware virtualization, or inside the nested test
# host (scripts/testhost.sh) where /dev/kvm cannot boot Linux. See docs/bench.md.
#
# usage: bench/io.sh [--size MiB] [--fs-size MiB] [--runtime SEC] [--files N]
#                    [--disk-size MiB] [--rounds N] [--out DIR] [--no-build]
#
# The guest runs the host's fio (over a virtio-fs share of /usr). Rounds
# alternate the VMMs (A B, B A, ...); each cell is the best of the rounds.
# Prints a table (and writes io.txt and the raw fio lines io.raw into DIR,
# default build-bench/bench-results/io-<date>). Exit status 0, 1 if a VM failed.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(dirname "$here")
build=${AV_BENCH_BUILD:-$top/build-bench}
size=256 fs_size=256 runtime=5 files=5000 disk_size=512 rounds=1 out='' build_it=1

usage() { sed -n '9,10p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
while [ $# -gt 0 ]; do
	case $1 in
	--size) size=${2:?}; shift 2 ;;
	--fs-size) fs_size=${2:?}; shift 2 ;;
	--runtime) runtime=${2:?}; shift 2 ;;
	--files) files=${2:?}; shift 2 ;;
	--disk-size) disk_size=${2:?}; shift 2 ;;
	--rounds) rounds=${2:?}; shift 2 ;;
	--out) out=${2:?}; shift 2 ;;
	--no-build) build_it=0; shift ;;
	--inner) shift; break ;;
	-h | --help) usage ;;
	*) echo "io.sh: unknown option '$1'" >&2; usage ;;
	esac
done

# ---------------------------------------------------------------- outer part
if [ "${1:-}" != inner ]; then
	[ -n "$out" ] || out=$build/bench-results/io-$(date +%Y%m%d-%H%M%S)
	mkdir -p "$out"
	out=$(cd "$out" && pwd)
	if [ "$build_it" = 1 ]; then
		cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
		make -C "$build" -s -j"$(nproc)" agentvmm
	fi
	command -v fio >/dev/null || { echo "io.sh: fio is not installed (scripts/setup.sh)" >&2; exit 2; }
	"$top/scripts/fetch-kernel.sh" --kernel-only >&2
	args=(--size "$size" --fs-size "$fs_size" --runtime "$runtime" --files "$files"
	      --disk-size "$disk_size" --rounds "$rounds" --out "$out" --inner inner
	      "$build/agentvmm")
	if "$top/scripts/testhost.sh" --need; then
		echo "io.sh: no vmx/svm here: running inside the nested test host" \
			"(figures count only as ratios)" >&2
		"$top/scripts/testhost.sh" --share "$top" -- bash "$0" "${args[@]}"
	else
		bash "$0" "${args[@]}"
	fi
	exit
fi

# ---------------------------------------------------------------- inner part
av=$2
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

# The image lives on ext4 on a loop device: both VMMs open it with O_DIRECT
# (agentvmm ",direct", QEMU "cache=none"), which tmpfs refuses.
mkdir -p "$work/mnt" "$work/fs/t" "$work/cache"
modprobe loop 2>/dev/null || true
truncate -s $((disk_size + 128))M "$work/back"
loop=$(losetup -f --show "$work/back")
mkfs.ext4 -q -F "$loop"
mount "$loop" "$work/mnt"
img=$work/mnt/disk.img
dd if=/dev/zero of="$img" bs=1M count="$disk_size" conv=fsync status=none

# The guest's workload: the host's fio (from the /usr share), on /dev/vda and
# on the rw share at /mnt/fs. One "AVIO <test> <fio terse v3 line>" per test.
cat >"$work/fs/run.sh" <<EOF
echo "AVIO-CMDLINE \$(cat /proc/cmdline)"
f() { n=\$1; shift; echo "AVIO \$n \$(/usr/bin/fio --output-format=terse --terse-version=3 --name=\$n "\$@" | tail -n 1)"; }
b="--filename=/dev/vda --direct=1 --ioengine=libaio --time_based --runtime=$runtime --ramp_time=1"
for qd in 1 32; do
	f blk-seqread-qd\$qd \$b --rw=read --bs=1M --size=${size}M --iodepth=\$qd
	f blk-seqwrite-qd\$qd \$b --rw=write --bs=1M --size=${size}M --iodepth=\$qd
	f blk-randread-qd\$qd \$b --rw=randread --bs=4k --iodepth=\$qd
done
d=/mnt/fs/t
f fs-seqwrite --directory=\$d --rw=write --bs=1M --size=${fs_size}M --ioengine=psync --end_fsync=1
echo 3 >/proc/sys/vm/drop_caches
f fs-seqread --directory=\$d --rw=read --bs=1M --size=${fs_size}M --ioengine=psync
rm -f \$d/*
m="--directory=\$d --nrfiles=$files --filesize=4k --openfiles=1"
f fs-create \$m --ioengine=filecreate --create_on_open=1 --fallocate=none
echo 3 >/proc/sys/vm/drop_caches
f fs-stat \$m --ioengine=filestat
f fs-unlink \$m --ioengine=filedelete
echo AVIO-DONE
EOF

now() { /usr/bin/date +%s%N; }
vmm_status=0
# virtiofsd keeps one fd per inode the guest looked up: agentvmm raises the
# limit for its own virtiofsd (docs/shares.md); do the same for QEMU's.
ulimit -n "$(cat /proc/sys/fs/nr_open)" 2>/dev/null || ulimit -n 1048576 2>/dev/null || true

run_av() {
	local t0
	echo "== agentvmm (round $1)" >&2
	t0=$(now)
	AGENTVMM_CACHE_DIR=$work/cache "$av" --kernel "$k" --cpus 1 --mem 512 \
		--disk "$img,direct" --share ro:/usr --share "rw:$work/fs:/mnt/fs" \
		-- sh /mnt/fs/run.sh >"$work/av.$1.out" 2>&1 || vmm_status=1
	echo "agentvmm: $(( ($(now) - t0) / 1000000 )) ms wall" >&2
	if [ -z "${cmdline:-}" ]; then
		cmdline=$(sed -n 's/^AVIO-CMDLINE //p' "$work/av.$1.out" | tr -d '\r')
		initrd=$(ls "$work"/cache/initramfs-*.cpio 2>/dev/null | head -n 1)
	fi
	if [ -z "$cmdline" ] || [ -z "$initrd" ]; then
		echo "io.sh: agentvmm run failed:" >&2
		tail -n 20 "$work/av.$1.out" >&2
		exit 1
	fi
}

# QEMU: same initramfs and command line (guest-init mounts share0 at /usr and
# share1 at /mnt/fs from it), the same virtiofsd binary and flags as
# agentvmm's (docs/shares.md), vhost-user-fs-pci over memfd shared RAM.
vfs() {
	rm -f "$work/vfs$1.sock"
	"$vfsd" --socket-path="$work/vfs$1.sock" -o source="$2" -o cache=auto \
		-o sandbox=namespace -o log_level=warn --thread-pool-size=2 \
		--rlimit-nofile=0 2>>"$work/vfsd.err" &
	pids+=($!)
}
run_qemu() {
	local t0
	echo "== qemu microvm (round $1)" >&2
	vfs 0 /usr
	vfs 1 "$work/fs"
	for _ in $(seq 100); do
		[ -S "$work/vfs0.sock" ] && [ -S "$work/vfs1.sock" ] && break
		sleep 0.05
	done
	t0=$(now)
	"$qemu" -M microvm,pcie=on,auto-kernel-cmdline=off,memory-backend=mem \
		-object memory-backend-memfd,id=mem,size=512M,share=on \
		-accel kvm -cpu host -smp 1 -m 512 -nodefaults -no-user-config -display none \
		-no-reboot -chardev stdio,id=con,signal=off -serial chardev:con \
		-kernel "$k" -initrd "$initrd" -append "$cmdline" \
		-device isa-debug-exit,iobase=0xf4,iosize=4 \
		-drive if=none,file="$img",format=raw,aio=io_uring,cache=none,id=d \
		-device virtio-blk-pci,drive=d \
		-chardev socket,id=c0,path="$work/vfs0.sock" \
		-device vhost-user-fs-pci,chardev=c0,tag=share0 \
		-chardev socket,id=c1,path="$work/vfs1.sock" \
		-device vhost-user-fs-pci,chardev=c1,tag=share1 \
		</dev/null >"$work/qemu.$1.out" 2>&1 || true
	echo "qemu: $(( ($(now) - t0) / 1000000 )) ms wall" >&2
	wait "${pids[@]}" 2>/dev/null || true
	pids=()
	grep -q AVIO-DONE "$work/qemu.$1.out" ||
		{ echo "io.sh: qemu run failed:" >&2; tail -n 20 "$work/qemu.$1.out" >&2; vmm_status=1; }
}

# agentvmm goes first in round 1 (QEMU needs its command line and initramfs)
for r in $(seq "$rounds"); do
	if [ $((r % 2)) = 1 ]; then run_av "$r"; run_qemu "$r"; else run_qemu "$r"; run_av "$r"; fi
done

# terse v3: field 7/8 read KiB/s and IOPS, 48/49 write KiB/s and IOPS.
# Each cell: the best of the rounds (other jobs on the host only slow a run down).
cat "$work"/av.*.out "$work"/qemu.*.out >"$out/io.raw"
awk '
function unit(name) {
	if (name ~ /^fs-(create|stat|unlink)/) return "files/s"
	if (name ~ /randread/) return "IOPS"
	return "MiB/s"
}
function val(line, name,   f) {
	split(line, f, ";")
	if (f[5] != 0) return -1                  # fio reported an error
	if (unit(name) == "MiB/s") return (f[7] + f[48]) / 1024
	return f[8] + f[49]
}
FNR == 1 { vm = (FILENAME ~ /\/av\.[0-9]+\.out$/) ? 1 : 2 }
/^AVIO [a-z]/ { sub(/\r$/, ""); n = $2; if (!(n in seen)) { seen[n] = 1; order[++nr] = n }
	v = val($3, n); if (!((vm, n) in best) || v > best[vm, n]) best[vm, n] = v }
function cell(vm, n) {
	if (!((vm, n) in best)) return "-"
	if (best[vm, n] < 0) return "error"
	return sprintf(unit(n) == "MiB/s" ? "%.1f %s" : "%.0f %s", best[vm, n], unit(n))
}
END {
	printf "%-20s %16s %16s %14s\n", "test", "agentvmm", "QEMU microvm", "agentvmm/QEMU"
	for (i = 1; i <= nr; i++) {
		n = order[i]
		r = (best[1, n] > 0 && best[2, n] > 0) ? sprintf("%.2fx", best[1, n] / best[2, n]) : "-"
		printf "%-20s %16s %16s %14s\n", n, cell(1, n), cell(2, n), r
	}
}' "$work"/av.*.out "$work"/qemu.*.out | tee "$out/io.txt"
if [ -s "$work/vfsd.err" ]; then echo "virtiofsd (QEMU's) said:" >&2; cat "$work/vfsd.err" >&2; fi
exit "$vmm_status"
