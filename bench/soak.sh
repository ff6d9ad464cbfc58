#!/bin/bash
# SPDX-License-Identifier: MIT
#
# soak.sh: many boots in a row, and many VMs at once, watching for anything
# agentvmm leaks on the host (docs/faults.md "Soak and load").
#
# usage: bench/soak.sh [--tiny N] [--real N] [--every K] [--conc N]
#                      [--agentvmm PATH] [--out FILE]
#
#  --tiny N   N tiny-guest boots (--raw-image, with a disk and a rw share, so a
#             virtiofsd starts and stops each time), run directly (default 200)
#  --real N   N real kernel boots with a disk, a rw share and `true` (default
#             200), inside the nested test host where /dev/kvm cannot boot Linux
#  --every K  figures every K boots (default 10)
#  --conc N   then N real VMs (256 MiB each) booted at once (default 8; 0: none)
#
# After each K boots: the host's allocated file handles (/proc/sys/fs/file-nr),
# threads and processes, MemAvailable, mounts, entries in /tmp, in agentvmm's
# runtime dir ($TMPDIR) and cache dir, virtiofsd and agentvmm processes. The
# summary compares the first checkpoint with the last. Exit status 1 if a boot
# failed or agentvmm's own leftovers (runtime/cache files, mounts, virtiofsd,
# agentvmm) grew; host-wide figures are reported, not judged (other work
# shares the host).
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(dirname "$here")
tiny=200 real=200 every=10 conc=8 av=$top/build/agentvmm out=''

usage() { sed -n '6,7p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
while [ $# -gt 0 ]; do
	case $1 in
	--tiny) tiny=${2:?}; shift 2 ;;
	--real) real=${2:?}; shift 2 ;;
	--every) every=${2:?}; shift 2 ;;
	--conc) conc=${2:?}; shift 2 ;;
	--agentvmm) av=${2:?}; shift 2 ;;
	--out) out=${2:?}; shift 2 ;;
	--inner) shift; break ;;
	-h | --help) usage ;;
	*) echo "soak.sh: unknown option '$1'" >&2; usage ;;
	esac
done
for v in "$tiny" "$real" "$every" "$conc"; do
	case $v in '' | *[!0-9]*) echo "soak.sh: counts are numbers" >&2; exit 2 ;; esac
done
[ "$every" -gt 0 ] || every=1
[ -x "$av" ] || { echo "soak.sh: $av: not built (scripts/build.sh build)" >&2; exit 2; }

work=$(mktemp -d /tmp/avsoak.XXXXXX)
trap 'rm -rf "$work"' EXIT
run=$work/run cache=$work/cache share=$work/share
mkdir -p "$run" "$cache" "$share"
export TMPDIR=$run AGENTVMM_CACHE_DIR=$cache
status=0

header() {
	printf '%-6s %6s %8s %8s %6s %10s %6s %5s %4s %6s %5s %4s\n' part boots file-nr threads \
		procs MemAvKiB mounts /tmp run cache vfsd avm
}
# figures PART BOOTS: one row; the last row's fields are kept in $last
figures() {
	local fnr thr procs mem mnt tmpn runn cachen vfs avm
	fnr=$(cut -f1 /proc/sys/fs/file-nr)
	thr=$(cat /proc/[0-9]*/status 2>/dev/null | awk '/^Threads:/ { s += $2 } END { print s }')
	procs=$(ls -d /proc/[0-9]* 2>/dev/null | wc -l)
	mem=$(awk '/^MemAvailable:/ { print $2 }' /proc/meminfo)
	mnt=$(wc -l </proc/self/mountinfo)
	tmpn=$(ls -A /tmp | wc -l)
	runn=$(ls -A "$run" | wc -l)
	cachen=$(ls -A "$cache" | wc -l)
	vfs=$(pgrep -c -x virtiofsd)
	avm=$(pgrep -c -x agentvmm)
	last="$fnr $thr $procs $mem $mnt $tmpn $runn $cachen $vfs $avm"
	printf '%-6s %6s %8s %8s %6s %10s %6s %5s %4s %6s %5s %4s\n' "$1" "$2" $last
}
# judge FIRST LAST: agentvmm's own leftovers must not grow (fields 5-10)
judge() {
	local a=($1) b=($2) i names=(file-nr threads procs MemAvKiB mounts /tmp run cache vfsd avm)
	for i in 0 1 2 3 4 5 6 7 8 9; do
		printf '  %-9s %10s -> %-10s (%+d)\n' "${names[$i]}" "${a[$i]}" "${b[$i]}" \
			$(( b[i] - a[i] ))
	done
	for i in 4 6 7 8 9; do
		if [ "${b[$i]}" -gt "${a[$i]}" ]; then
			echo "soak.sh: ${names[$i]} grew: ${a[$i]} -> ${b[$i]}" >&2
			status=1
		fi
	done
}

# boots PART N CMD...: N boots, figures every $every; the first checkpoint
# (after the first boot: caches filled) is compared with the last
boots() {
	local part=$1 n=$2 i t0 t1 first='' fails=0
	shift 2
	figures "$part" 0
	t0=$(date +%s%N)
	for ((i = 1; i <= n; i++)); do
		if ! timeout -k 5 180 "$@" </dev/null >"$work/out" 2>&1; then
			fails=$((fails + 1))
			echo "soak.sh: $part boot $i failed:" >&2
			tail -n 5 "$work/out" >&2
		fi
		if [ "$i" = 1 ] || [ $((i % every)) = 0 ] || [ "$i" = "$n" ]; then
			figures "$part" "$i"
			[ -n "$first" ] || first=$last
		fi
	done
	t1=$(date +%s%N)
	echo "$part: $n boots, $fails failed, $(( (t1 - t0) / 1000000 / (n > 0 ? n : 1) )) ms per boot"
	[ "$fails" = 0 ] || status=1
	[ "$n" -gt 1 ] && judge "$first" "$last"
}

# concurrent N: N VMs at once, each with its own share and exit status
concurrent() {
	local n=$1 i t0 pids=() fails=0
	echo "concurrency: $n VMs at once, 256 MiB each"
	t0=$(date +%s%N)
	for ((i = 0; i < n; i++)); do
		mkdir -p "$work/c$i"
		echo "id$i" >"$work/c$i/id"
		(
			s=$(date +%s%N)
			timeout -k 5 600 "$av" --kernel "$kernel" --mem 256 --share "rw:$work/c$i:/w" \
				-- sh -c "cat /w/id; exit $((10 + i))" </dev/null >"$work/c$i.out" 2>&1
			echo "$? $(( ($(date +%s%N) - s) / 1000000 ))" >"$work/c$i.st"
		) &
		pids+=($!)
	done
	wait "${pids[@]}"
	for ((i = 0; i < n; i++)); do
		read -r st ms <"$work/c$i.st"
		ok=ok
		if [ "$st" != $((10 + i)) ] || ! grep -qx "id$i" "$work/c$i.out"; then
			ok=FAILED
			fails=$((fails + 1))
		fi
		printf '  vm %d: status %s, %6d ms, %s\n' "$i" "$st" "$ms" "$ok"
	done
	echo "concurrency: $n VMs, $fails failed, $(( ($(date +%s%N) - t0) / 1000000 )) ms wall"
	[ "$fails" = 0 ] || status=1
	sleep 1
	[ "$(pgrep -c -x virtiofsd)" = 0 ] || { echo "soak.sh: virtiofsd left" >&2; status=1; }
}

kernel=${AV_KERNEL_CACHE:-/var/cache/agentvmm/kernel}/bzImage
if [ "${1:-}" = inner ]; then
	# inside the test host (or directly where /dev/kvm boots Linux): real boots
	truncate -s 64M "$work/disk.img"
	header
	[ "$real" = 0 ] || boots real "$real" "$av" --kernel "$kernel" \
		--disk "$work/disk.img,mount=/data" --share "rw:$share:/w" -- true
	[ "$conc" = 0 ] || concurrent "$conc"
	exit $status
fi

{
	echo "soak.sh: $(date -u +%F\ %T) UTC, $(nproc) CPUs, agentvmm $av"
	if [ "$tiny" != 0 ]; then
		tg=$(dirname "$av")/tests/tinyguest/exit42.bin
		[ -r "$tg" ] || { echo "soak.sh: $tg: not built" >&2; exit 2; }
		truncate -s 8M "$work/tiny.img"
		header
		boots tiny "$tiny" bash -c '"$@"; [ $? = 42 ]' tiny "$av" --raw-image "$tg" --mem 16 \
			--disk "$work/tiny.img" --share "rw:$share:/w"
	fi
	if [ "$real" != 0 ] || [ "$conc" != 0 ]; then
		args=(--real "$real" --every "$every" --conc "$conc" --agentvmm "$av" --inner inner)
		if "$top/scripts/testhost.sh" --need; then
			echo "soak.sh: real boots inside the nested test host"
			"$top/scripts/testhost.sh" --mem $((2048 + conc * 320)) \
				--timeout $((real * 60 + 1200)) -- bash "$0" "${args[@]}" || status=1
		else
			bash "$0" "${args[@]}" || status=1
		fi
	fi
	exit $status
} 2>&1 | if [ -n "$out" ]; then tee "$out"; else cat; fi
exit "${PIPESTATUS[0]}"
