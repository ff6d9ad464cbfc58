#!/bin/bash
# SPDX-License-Identifier: MIT
#
# io-soak.sh: one guest doing I/O on every device at once for a while, with
# checksums compared at the end (docs/faults.md "Soak and load"). Not part of
# the test run.
#
# usage: bench/io-soak.sh [--minutes N] [--agentvmm PATH]
#
# The guest (1 vCPU, 512 MiB) loops until the time is up, running three
# workers side by side:
#  - disk: 1 MiB blocks of fresh random data written to /dev/vda with
#    O_DIRECT at rotating slots, each read back and compared; the last md5 of
#    every slot is kept, and the host compares them with the image at the end;
#  - share: files written into a rw virtio-fs share, each with its md5 in a
#    list the host checks (md5sum -c) at the end;
#  - net: in a network namespace of its own, the host serves the same 4 MiB
#    blob on every TCP connection; the guest fetches it again and again and
#    compares its md5; virtio-rng is read along the way.
# Runs inside the nested test host where /dev/kvm cannot boot Linux. Exit
# status 0 when every checksum matched, 1 otherwise.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(dirname "$here")
minutes=10 av=$top/build/agentvmm

usage() { sed -n '8p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
while [ $# -gt 0 ]; do
	case $1 in
	--minutes) minutes=${2:?}; shift 2 ;;
	--agentvmm) av=${2:?}; shift 2 ;;
	--inner) shift; break ;;
	-h | --help) usage ;;
	*) echo "io-soak.sh: unknown option '$1'" >&2; usage ;;
	esac
done
case $minutes in '' | *[!0-9]*) echo "io-soak.sh: --minutes takes a number" >&2; exit 2 ;; esac
[ -x "$av" ] || { echo "io-soak.sh: $av: not built (scripts/build.sh build)" >&2; exit 2; }

if [ "${1:-}" != inner ]; then
	args=(--minutes "$minutes" --agentvmm "$av" --inner inner)
	if "$top/scripts/testhost.sh" --need; then
		echo "io-soak.sh: inside the nested test host" >&2
		exec "$top/scripts/testhost.sh" --mem 3072 --timeout $((minutes * 60 + 1800)) \
			-- bash "$0" "${args[@]}"
	fi
	exec bash "$0" "${args[@]}"
fi

# ---------------------------------------------------------------- inner part
kernel=${AV_KERNEL_CACHE:-/var/cache/agentvmm/kernel}/bzImage
work=$(mktemp -d /tmp/avio-soak.XXXXXX)
ns=avios$$
srv=
cleanup() {
	[ -z "$srv" ] || kill "$srv" 2>/dev/null
	ip netns del "$ns" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
export TMPDIR=$work AGENTVMM_CACHE_DIR=$work/cache
mkdir -p "$work/share" "$work/cache"
slots=64
truncate -s ${slots}M "$work/disk.img"
head -c 4194304 /dev/urandom >"$work/blob"
blob_md5=$(md5sum <"$work/blob" | cut -c1-32)

ip netns add "$ns" || exit 1
ip netns exec "$ns" ip link set lo up
ip netns exec "$ns" ip tuntap add tapio mode tap
ip netns exec "$ns" ip addr add 10.0.6.1/24 dev tapio
ip netns exec "$ns" ip link set tapio up
ip netns exec "$ns" python3 -c '
import socket, sys
blob = open(sys.argv[1], "rb").read()
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("10.0.6.1", 7100)); s.listen(4)
while True:
    c, _ = s.accept()
    try: c.sendall(blob)
    except OSError: pass
    c.close()
' "$work/blob" &
srv=$!

secs=$((minutes * 60))
cat >"$work/share/io.sh" <<EOF
end=\$(( \$(cut -d. -f1 /proc/uptime) + $secs ))
left() { [ \$(cut -d. -f1 /proc/uptime) -lt \$end ]; }
disk() {
	i=0 bad=0
	while left; do
		s=\$((i % $slots))
		head -c 1048576 /dev/urandom >/tmp/blk
		want=\$(md5sum </tmp/blk | cut -c1-32)
		dd if=/tmp/blk of=/dev/vda bs=1M seek=\$s oflag=direct 2>/dev/null || bad=\$((bad+1))
		got=\$(dd if=/dev/vda bs=1M skip=\$s count=1 iflag=direct 2>/dev/null | md5sum | cut -c1-32)
		[ "\$got" = "\$want" ] || bad=\$((bad+1))
		echo "\$want" >/tmp/slot.\$s
		i=\$((i+1))
	done
	for s in \$(seq 0 $(($slots - 1))); do
		[ -f /tmp/slot.\$s ] && echo "\$s \$(cat /tmp/slot.\$s)"
	done >/w/disk.sums
	echo "disk: \$i blocks written and read back, \$bad bad"
}
share() {
	i=0
	mkdir -p /w/f
	while left; do
		head -c \$(( (i % 17 + 1) * 65536 )) /dev/urandom >/w/f/\$i
		(cd /w/f && md5sum \$i) >>/w/f.sums
		[ \$((i % 50)) = 49 ] && rm -f /w/f/\$((i - 49)) && sed -i "/ \$((i - 49))\\\$/d" /w/f.sums
		i=\$((i+1))
	done
	echo "share: \$i files written"
}
net() {
	i=0 bad=0
	while left; do
		got=\$(nc 10.0.6.1 7100 </dev/null | md5sum | cut -c1-32)
		[ "\$got" = "$blob_md5" ] || bad=\$((bad+1))
		head -c 512 /dev/hwrng >/dev/null 2>&1
		i=\$((i+1))
	done
	echo "net: \$i fetches of 4 MiB, \$bad bad"
}
echo "guest: up after \$(cut -d' ' -f1 /proc/uptime) s, running for $secs s"
disk >/tmp/disk.out & share >/tmp/share.out & net >/tmp/net.out &
wait
cat /tmp/disk.out /tmp/share.out /tmp/net.out
sync
EOF

echo "io-soak: $minutes min, disk ${slots} MiB, share, net (4 MiB blob), $(nproc) CPU(s)"
t0=$(date +%s)
ip netns exec "$ns" timeout -k 10 $((secs + 600)) "$av" --kernel "$kernel" --cpus 1 --mem 512 \
	--disk "$work/disk.img" --share "rw:$work/share:/w" --net tap=tapio,ip=10.0.6.15/24 \
	-- sh /w/io.sh </dev/null >"$work/out" 2>&1
st=$?
echo "agentvmm: status $st after $(( $(date +%s) - t0 )) s"
grep -E '^(guest|disk|share|net):' "$work/out" || tail -n 20 "$work/out"
status=0
[ "$st" = 0 ] || status=1
grep -q '^disk: .* 0 bad' "$work/out" || status=1
grep -q '^net: .* 0 bad' "$work/out" || status=1
# the host's view: every disk slot and every share file matches the guest's md5
nd=0 bd=0
while read -r s want; do
	got=$(dd if="$work/disk.img" bs=1M skip="$s" count=1 2>/dev/null | md5sum | cut -c1-32)
	nd=$((nd + 1))
	[ "$got" = "$want" ] || bd=$((bd + 1))
done <"$work/share/disk.sums"
echo "host: $nd disk slots checked, $bd differ"
[ "$nd" -gt 0 ] && [ "$bd" = 0 ] || status=1
if (cd "$work/share/f" && md5sum -c --quiet ../f.sums); then
	echo "host: $(wc -l <"$work/share/f.sums") share files checked, all match"
else
	echo "host: share files differ"
	status=1
fi
echo "io-soak: $([ $status = 0 ] && echo PASS || echo FAIL)"
exit $status
