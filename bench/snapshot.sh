#!/bin/bash
# SPDX-License-Identifier: MIT
#
# snapshot.sh [--count N] [--rounds R] [--machines LIST] [AGENTVMM] [KERNEL]:
# what templates (docs/snapshot.md) buy, and what QEMU's own snapshots buy,
# side by side in one run on one host:
#   1. agentvmm template: its time, the template's size apparent and on disk;
#      for each QEMU machine of LIST (default microvm,q35; "" for none) the
#      same kernel and agentvmm's initramfs booted to a ready line, `stop`,
#      `migrate "exec:cat > FILE"` (QEMU 7.2 has no file: URI): its time and
#      the file's size;
#   2. start to exit of `true`, restored against cold boot, R rounds of every
#      kind, rotated (A B C .., B C .. A), medians, ratios:
#      - agentvmm with the host's /usr read-only, a workspace read-write and a
#        NIC on a tap (what a job VM has; QEMU cannot migrate virtio-fs);
#      - agentvmm without devices, and each QEMU machine without devices (the
#        comparable pair): QEMU restored with `-incoming fd:3 3<FILE`, the
#        command written to its serial console the moment QEMU reports the VM
#        running (trace vm_state_notify); the snapshot's guest sits in
#        `read </dev/ttyS0` and execs what it reads. The guest's exit goes out
#        through isa-debug-exit on agentvmm's exit port, so QEMU ends there.
#        (agentvmm's guest gets its command over its vsock session, QEMU's on
#        the kernel command line: guest-init takes both. Not -loadvm: it
#        needs a qcow2 image to keep the same state stream in, and this VM
#        has no disk.) On SVM hosts the file's TR is fixed first, see
#        qemu_fix_tr;
#   3. N idle VMs (`sleep`) restored from the template against N cold-booted
#      ones (no shares: clones map the template copy-on-write), and N QEMU
#      VMs of the first machine restored from its file: PSS per VM once all N
#      are up, and MemAvailable's drop per VM. Default N = 20, fewer (said so)
#      when MemAvailable has no room for N VMs at ~200 MiB each.
# A benchmark, not a test. Needs root (taps, a network namespace), Debian's
# qemu-system-x86 for the QEMU part, and a machine where Linux guests boot:
# inside the nested test host elsewhere:
#   scripts/testhost.sh --share "$PWD" --mem 8192 --timeout 2400 -- \
#       "$PWD/bench/snapshot.sh" --count 20 --rounds 4
set -u
export LC_ALL=C
here=$(cd "$(dirname "$0")" && pwd)
count=20 rounds=4 machines=microvm,q35
while [ $# -gt 0 ]; do
	case $1 in
	--count) count=$2; shift 2 ;;
	--rounds) rounds=$2; shift 2 ;;
	--machines) machines=$2; shift 2 ;;
	*) break ;;
	esac
done
av=${1:-$here/../build/agentvmm}
k=${2:-${AV_KERNEL_CACHE:-/var/cache/agentvmm/kernel}/bzImage}
qemu=${AV_QEMU:-qemu-system-x86_64}
qboot=${AV_Q35_BIOS:-/usr/share/qemu/qboot.rom}
IFS=, read -r -a qms <<<"$machines"
for m in "${qms[@]}"; do
	case $m in microvm | q35) ;; *) echo "snapshot.sh: --machines: microvm, q35" >&2; exit 2 ;; esac
done
if [ ${#qms[@]} -gt 0 ] && ! command -v "$qemu" >/dev/null; then
	echo "snapshot.sh: $qemu not found (apt-get install qemu-system-x86): no QEMU figures" >&2
	qms=()
fi
w=$(mktemp -d /tmp/av-bench-snap-XXXXXX)
# agentvmm builds its initramfs here once (primed below, outside the timings)
export AGENTVMM_CACHE_DIR=$w/cache
ns=avbsnap$$
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
	wait 2>/dev/null
	ip netns del "$ns" 2>/dev/null
	rm -rf "$w"
}
trap cleanup EXIT
die() { echo "snapshot.sh: $*" >&2; exit 1; }
now() { date +%s.%N; }
sub() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f\n", b - a }'; }
div() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3f", a / b; else printf "-" }'; }
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
size_of() { echo "$(stat -c %s "$1") bytes apparent, $(($(stat -c %b "$1") * 512)) on disk"; }
avail_kb() { sed -n 's/^MemAvailable: *\([0-9]*\).*/\1/p' /proc/meminfo; }

# agentvmm.argc=N agentvmm.argv=...: the workload encoding of boot/cmdline.c
enc_argv() {
	local out="agentvmm.argc=$# agentvmm.argv=" sep='' s c i
	for s; do
		out+=$sep sep=,
		for ((i = 0; i < ${#s}; i++)); do
			c=${s:i:1}
			case $c in
			[A-Za-z0-9._~/:@+=-]) out+=$c ;;
			*) out+=$(printf '%%%02X' "'$c") ;;
			esac
		done
	done
	printf '%s' "$out"
}

# ---- 0. agentvmm's initramfs and kernel command line, for QEMU too ----
# A cold boot without devices prints its /proc/cmdline: QEMU's guests get
# that line with their workload on it (agentvmm.argc/argv, which guest-init
# also takes) instead of agentvmm's vsock session, and the initramfs it built.
"$av" --kernel "$k" --mem 512 -- sh -c 'cat /proc/cmdline' >"$w/probe.out" 2>"$w/probe.err" ||
	{ cat "$w/probe.err" >&2; die "agentvmm cold boot failed"; }
line=$(grep -m1 'console=ttyS0' "$w/probe.out" | tr -d '\r')
[ -n "$line" ] || { cat "$w/probe.out" "$w/probe.err" >&2; die "no guest command line"; }
cl_base=
for word in $line; do
	case $word in agentvmm.session=* | agentvmm.argc=* | agentvmm.argv=*) ;; *) cl_base+=" $word" ;; esac
done
cl_base=${cl_base# }
initrd=$(ls "$w"/cache/initramfs-*.cpio 2>/dev/null | head -n 1)
[ -f "$initrd" ] || die "no initramfs in $w/cache"
wait_cmd=(sh -c 'echo AVSNAP-READY; read -r c </dev/ttyS0; exec $c')
cl_true="$cl_base $(enc_argv true)"
cl_wait="$cl_base $(enc_argv "${wait_cmd[@]}")"
echo "guest: $k, 512 MiB, 1 vCPU; initramfs $(basename "$initrd"); kernel command line" \
	"'$line' (QEMU: '$cl_true', for its snapshots '$cl_wait')"

# ---- 1. the template, and QEMU's snapshots ----
# first use builds the template's initramfs (every module): not part of its time
"$av" template --kernel "$k" --mem 512 --out "$w/warm.tmpl" >/dev/null 2>"$w/template.err" ||
	{ cat "$w/template.err" >&2; exit 1; }
rm -f "$w/warm.tmpl"
t0=$(now)
"$av" template --kernel "$k" --mem 512 --out "$w/t.tmpl" >/dev/null 2>"$w/template.err" ||
	{ cat "$w/template.err" >&2; exit 1; }
t1=$(now)
echo "agentvmm template: made in $(sub "$t0" "$t1") s; $(size_of "$w/t.tmpl")"

# qemu_argv MACHINE APPEND: into qa[], what every QEMU run of MACHINE has
# (bench/vmms.c's command line; a restore must have the same devices and ROMs)
qemu_argv() {
	qa=("$qemu" -M "$1")
	[ "$1" = q35 ] && qa+=(-bios "$qboot") # SeaBIOS breaks q35 in the test host (docs/bench.md)
	qa+=(-accel kvm -cpu host -smp 1 -m 512 -nodefaults -no-user-config -display none
	     -no-reboot -kernel "$k" -initrd "$initrd" -append "$2"
	     -device isa-debug-exit,iobase=0xf4,iosize=4)
}

# qemu_save MACHINE: boot to AVSNAP-READY, stop, migrate to $w/q-MACHINE.state.
# store-global-state=off: else a restore of a stopped VM stays paused.
qemu_save() {
	local m=$1 mon=$w/q-$1.mon con=$w/q-$1.con qpid cpid i t0 t1
	mkfifo "$mon.in" "$mon.out" || return 1
	qemu_argv "$m" "$cl_wait"
	t0=$(now)
	"${qa[@]}" -serial "file:$con" -chardev "pipe,id=mon,path=$mon" -mon chardev=mon,mode=readline \
		-global migration.store-global-state=off </dev/null >/dev/null 2>"$w/q-$m.err" &
	qpid=$!
	cat <>"$mon.out" >"$w/q-$m.monlog" &
	cpid=$!
	for ((i = 0; i < 3000; i++)); do
		grep -q AVSNAP-READY "$con" 2>/dev/null && break
		kill -0 "$qpid" 2>/dev/null || break
		sleep 0.1
	done
	if ! grep -q AVSNAP-READY "$con" 2>/dev/null; then
		kill -9 "$qpid" "$cpid" 2>/dev/null; wait "$qpid" "$cpid" 2>/dev/null
		cat "$w/q-$m.err" "$con" >&2
		return 1
	fi
	sleep 1 # the guest goes from its echo into read(): let it get there
	{
		echo "migrate_set_parameter max-bandwidth 100G"
		echo stop
		echo "migrate \"exec:cat > $w/q-$m.state\""
	} >"$mon.in"
	for ((i = 0; i < 600; i++)); do
		echo "info migrate" >"$mon.in"
		sleep 0.2
		grep -q 'Migration status: completed' "$w/q-$m.monlog" && break
		grep -q 'Migration status: failed' "$w/q-$m.monlog" && break
	done
	grep -q 'Migration status: completed' "$w/q-$m.monlog"
	local ok=$?
	echo quit >"$mon.in"
	wait "$qpid"
	t1=$(now)
	kill "$cpid" 2>/dev/null; wait "$cpid" 2>/dev/null
	[ $ok = 0 ] || { tr -d '\r' <"$w/q-$m.monlog" | tail -n 20 >&2; return 1; }
	qemu_fix_tr "$w/q-$m.state" || return 1
	echo "QEMU $m snapshot: made in $(sub "$t0" "$t1") s (boot to the ready line, 1 s," \
		"stop, migrate to the file); $(size_of "$w/q-$m.state")"
}
# qemu_fix_tr FILE: on AMD, TR goes into the file as busy (KVM_GET_SREGS sets
# the bit, see vmm/snapshot.c), and the nested test host's TCG-emulated SVM
# then refuses every user-mode port access of the restored guest (guest-init's
# boot marks and exit port: a #GP kills init). agentvmm's restore gives back
# the available type on SVM hosts; do the same in QEMU's file, outside the
# timings: vmstate "cpu" v12 (QEMU 7.2, target/i386/machine.c), TR's flags at
# 392 bytes into the fields (regs 128, eip, eflags 16, hflags 4, FPU control
# 8, fpregs 80, 6 segments and LDT 140, TR's selector, base, limit 16).
qemu_fix_tr() {
	grep -qw svm /proc/cpuinfo || return 0
	perl -e '
		open(my $f, "+<", $ARGV[0]) or die "$ARGV[0]: $!\n";
		binmode $f;
		my $d = do { local $/; <$f> };
		my $i = rindex($d, "\x03cpu\0\0\0\0\0\0\0\x0c");
		die "no vmstate cpu v12 section\n" if $i < 5 || ord(substr($d, $i - 5, 1)) != 4;
		my $o = $i + 12 + 392;
		my ($sel, $lim, $fl) = (unpack("N", substr($d, $o - 16, 4)),
			unpack("N", substr($d, $o - 4, 4)), unpack("N", substr($d, $o, 4)));
		die sprintf("TR is not a TSS: selector %#x limit %#x flags %#x\n", $sel, $lim, $fl)
			if !$sel || $lim < 0x67 || (($fl >> 8) & 0x9d) != 0x89;
		exit 0 if !($fl & 0x200);
		seek($f, $o, 0) && print($f pack("N", $fl & ~0x200)) && close($f) or die "$!\n";
		printf "  (TR flags in the state file %#x -> %#x: see qemu_fix_tr)\n", $fl, $fl & ~0x200;
	' "$1"
}
for m in "${qms[@]}"; do
	qemu_save "$m" || die "QEMU $m: saving the VM failed"
done

# ---- 2. start to exit of `true`: restore against cold boot ----
ip netns add "$ns" && ip netns exec "$ns" ip link set lo up &&
	ip netns exec "$ns" ip tuntap add tap0 mode tap &&
	ip netns exec "$ns" ip addr add 10.0.8.1/24 dev tap0 &&
	ip netns exec "$ns" ip link set tap0 up || die "no netns/tap"
mkdir -p "$w/ws"
opts=(--share ro:/usr --share "rw:$w/ws:/work" --net tap=tap0,ip=10.0.8.15/24)
# the first cold boot with these devices builds their initramfs: not timed
ip netns exec "$ns" "$av" --kernel "$k" --mem 512 "${opts[@]}" -- true >/dev/null 2>&1 ||
	die "agentvmm cold boot with shares and a tap failed"

# run_qemu_restore MACHINE: seconds to running, then to exit, into qr_run, qr_end
run_qemu_restore() {
	local m=$1 con=$w/qr.con ef=$w/qr.errfifo a b qpid cpid epid efd line st ok=0
	rm -f "$con.in" "$con.out" "$ef"
	mkfifo "$con.in" "$con.out" "$ef" || return 1
	qemu_argv "$m" "$cl_wait"
	: >"$w/qr.err"
	a=$(now)
	"${qa[@]}" -chardev "pipe,id=con,path=$con" -serial chardev:con \
		-incoming fd:3 -trace enable=vm_state_notify \
		3<"$w/q-$m.state" </dev/null >/dev/null 2>"$ef" &
	qpid=$!
	exec {efd}<"$ef"
	while IFS= read -r -u "$efd" line; do
		echo "$line" >>"$w/qr.err"
		case $line in *"vm_state_notify running 1"*) ok=1; break ;; esac
	done
	# the command, the moment QEMU says the VM runs (earlier bytes could land
	# in the UART before its state is loaded, and be lost)
	[ $ok = 1 ] && echo true >"$con.in"
	b=$(now)
	cat <&"$efd" >>"$w/qr.err" &
	epid=$!
	exec {efd}<&-
	cat <>"$con.out" >"$w/qr.out" &
	cpid=$!
	wait "$qpid"
	st=$?
	qr_end=$(sub "$a" "$(now)")
	qr_run=$(sub "$a" "$b")
	kill "$cpid" 2>/dev/null
	wait "$cpid" "$epid" 2>/dev/null
	# isa-debug-exit: QEMU's status is (guest status << 1) | 1
	[ $ok = 1 ] && [ $st = 1 ] || { cat "$w/qr.err" "$w/qr.out" >&2; return 1; }
}

run_once() { # run_once KIND: seconds to exit 0 of `true` (QEMU: its status 1)
	local a b m=${1#qemu-}
	if [ "${1%-restore}" != "$1" ] && [ "$m" != "$1" ]; then
		run_qemu_restore "${m%-restore}" || die "$1 run failed"
		echo "$qr_run" >>"$w/$1.run"
		echo "$qr_end"
		return
	fi
	a=$(now)
	case $1 in
	avdev-restore) ip netns exec "$ns" "$av" --restore "$w/t.tmpl" "${opts[@]}" -- true ;;
	avdev-cold) ip netns exec "$ns" "$av" --kernel "$k" --mem 512 "${opts[@]}" -- true ;;
	av-restore) "$av" --restore "$w/t.tmpl" -- true ;;
	av-cold) "$av" --kernel "$k" --mem 512 -- true ;;
	qemu-*-cold)
		qemu_argv "${m%-cold}" "$cl_true"
		"${qa[@]}" -serial null </dev/null
		[ $? = 1 ] ;; # isa-debug-exit: (guest status << 1) | 1
	esac >/dev/null 2>"$w/run.err" || { cat "$w/run.err" >&2; die "$1 run failed"; }
	b=$(now)
	sub "$a" "$b"
}
kinds=(avdev-restore avdev-cold av-restore av-cold)
for m in "${qms[@]}"; do kinds+=("qemu-$m-restore" "qemu-$m-cold"); done
for kd in "${kinds[@]}"; do : >"$w/$kd.s"; : >"$w/$kd.run"; done
for ((r = 0; r < rounds; r++)); do
	for ((j = 0; j < ${#kinds[@]}; j++)); do
		kd=${kinds[(r + j) % ${#kinds[@]}]}
		run_once "$kd" >>"$w/$kd.s" || exit 1
	done
done
med() { median <"$w/$1.s"; }
samples() { tr '\n' ' ' <"$w/$1.s" | sed 's/ $//'; }
echo "start to exit of \`true\`, seconds, median of $rounds [samples], rounds rotated:"
row() { # row LABEL KIND-PREFIX
	local r c
	r=$(med "$2-restore") c=$(med "$2-cold")
	printf '  %-44s restored %7.3f [%s]  cold %7.3f [%s]  restored/cold %s\n' "$1" "$r" \
		"$(samples "$2-restore")" "$c" "$(samples "$2-cold")" "$(div "$r" "$c")"
}
row "agentvmm, /usr ro + workspace rw + tap" avdev
row "agentvmm, no devices" av
for m in "${qms[@]}"; do
	row "QEMU $m, no devices (migration file)" "qemu-$m"
	echo "    QEMU $m restored: start to VM running (command sent) median" \
		"$(median <"$w/qemu-$m-restore.run") s [$(tr '\n' ' ' <"$w/qemu-$m-restore.run" | sed 's/ $//')]"
done
for m in "${qms[@]}"; do
	echo "  agentvmm ÷ QEMU $m (no devices): restored $(div "$(med av-restore)" "$(med "qemu-$m-restore")")," \
		"cold $(div "$(med av-cold)" "$(med "qemu-$m-cold")")"
done

# ---- 3. N idle VMs: clones against cold boots, and QEMU restores ----
# Room: a cold-booted VM takes ~110 MiB (PSS), a restored QEMU ~150; ask for
# 200 each plus 512 MiB for the host, and measure fewer VMs if that is short.
room=$((($(avail_kb) / 1024 - 512) / 200))
if [ "$count" -gt "$room" ]; then
	echo "snapshot.sh: --count $count: MemAvailable $(($(avail_kb) / 1024)) MiB holds ~$room VMs" \
		"at 200 MiB each (plus 512 for the host): measuring $room (give the test host more --mem)"
	count=$room
fi
idle_cmd=(sh -c 'echo AVSNAP-IDLE; exec sleep 100000')
# idle KIND: start N VMs one after another, each up (its idle line, or QEMU
# running) before the next; settle; PSS per VM and MemAvailable drop per VM
idle() {
	local before after p sum=0 i j up=0 kb f m
	pids=()
	sync; echo 3 >/proc/sys/vm/drop_caches
	before=$(avail_kb)
	for ((i = 0; i < count; i++)); do
		f=$w/idle.$i.out
		case $1 in
		restore) "$av" --restore "$w/t.tmpl" -- "${idle_cmd[@]}" >"$f" 2>&1 & ;;
		cold) "$av" --kernel "$k" --mem 512 -- "${idle_cmd[@]}" >"$f" 2>&1 & ;;
		qemu-*) m=${1#qemu-}; qemu_argv "$m" "$cl_wait"
			"${qa[@]}" -serial null -incoming fd:3 -trace enable=vm_state_notify \
				3<"$w/q-$m.state" </dev/null >"$f" 2>&1 & ;;
		esac
		pids+=($!)
		for ((j = 0; j < 6000; j++)); do
			grep -q 'AVSNAP-IDLE\|vm_state_notify running 1' "$f" && break
			kill -0 "${pids[-1]}" 2>/dev/null || break
			sleep 0.1
		done
		grep -q 'AVSNAP-IDLE\|vm_state_notify running 1' "$f" ||
			{ tail -n 20 "$f" >&2; die "$1: VM $((i + 1)) of $count did not come up"; }
	done
	sleep 5 # settle
	after=$(avail_kb)
	for p in "${pids[@]}"; do
		kb=$(sed -n 's/^Pss: *\([0-9]*\).*/\1/p' "/proc/$p/smaps_rollup" 2>/dev/null)
		[ -n "$kb" ] || continue
		sum=$((sum + kb))
		up=$((up + 1))
	done
	[ "$up" = "$count" ] || die "$1: only $up of $count VMs up"
	echo "  $1: PSS $((sum / count)) KiB per VM, MemAvailable drop $(((before - after) / count)) KiB per VM"
	# disowned first: bash would print "Killed" for each
	disown "${pids[@]}"
	for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
	for p in "${pids[@]}"; do while kill -0 "$p" 2>/dev/null; do sleep 0.1; done; done
	pids=()
}
echo "$count idle VMs at once (agentvmm: \`${idle_cmd[*]}\`; QEMU: its snapshot's guest, waiting in read):"
idle restore
idle cold
[ ${#qms[@]} -gt 0 ] && idle "qemu-${qms[0]}"
exit 0
