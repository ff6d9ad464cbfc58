#!/bin/bash
# SPDX-License-Identifier: MIT
#
# microvm-post.sh WORKDIR: boot the VM of the microvm.nix post the way
# microvm.nix would run it with agentvmm, with what a Debian machine has:
#
#   - 8 vCPUs, 4096 MiB, the Debian kernel's ELF vmlinux through PVH;
#   - a stage-1 initrd of our own doing what NixOS's scripted stage 1 does
#     for this configuration (load the virtio modules, tmpfs root, the
#     ro-store share at /nix/.ro-store, the writable store overlay on
#     /nix/store from /nix/.rw-store, switch_root, exec init=); agentvmm's
#     guest-init is not in it;
#   - a stage 2 in the store (what ${toplevel}/init does: special file
#     systems, /etc, then exec systemd: Debian's systemd 252 from the host's
#     /usr, which is part of the store here);
#   - four virtio-fs shares (ro-store, ssh-keys, claude-credentials,
#     workspace) each served by a virtiofsd started separately, after
#     agentvmm (as microvm.nix's virtiofsd units do: agentvmm waits);
#     systemd mounts all but ro-store from /etc/fstab, as NixOS does;
#   - the 8 GiB ext4 volume var.img at /var (/dev/vda), mounted by systemd;
#   - a multi-queue tap microvm4, MAC 02:00:00:00:00:05, on a bridge, in a
#     network namespace of its own;
#   - the control socket control.socket; the runner's shutdown command.
#
# The agentvmm command line and the shutdown command are the runner's
# (contrib/microvm-nix/agentvmm.nix) for this configuration, evaluated with
# Nix by tests/nix/runner-argv.sh (AV_MICROVM_ARGV=manual: the same flags
# written out below instead, for debugging without Nix). AV_MICROVM_EXTRA:
# more flags (e.g. --seccomp=log) appended, as microvm.agentvmm.extraArgs
# would. AV_MICROVM_SQ=1: a single-queue tap instead.
#
# Writes WORKDIR/result: status=, boot_s=, shutdown_s=, and the guest's facts
# in WORKDIR/shares/workspace/facts; console in WORKDIR/console.log,
# agentvmm's stderr in WORKDIR/stderr. Every wait is bounded.
set -euo pipefail

w=${1:?usage: microvm-post.sh WORKDIR}
here=$(cd "$(dirname "$0")" && pwd)
agentvmm=${AV_AGENTVMM:?set AV_AGENTVMM to the agentvmm binary}
kc=${AV_KERNEL_CACHE:-/var/cache/agentvmm/kernel}
rel=$(cat "$kc/release")
ready_bound=${AV_MICROVM_READY_S:-900} # 486 s seen with two test hosts on 2 cores
# the runner's shutdownCommand: 120 s graceful, then kill; 89 to 113 s seen in test hosts
shutdown_bound=${AV_MICROVM_SHUTDOWN_S:-150}
ns=avmpost$$
vfs=/usr/lib/qemu/virtiofsd
BB=0000-busybox SYS=1111-nixos-system-agent USR=2222-usr

# alive PID: running (a child that exited is a zombie until waited for, and
# kill -0 still succeeds on it)
alive() { [ -e "/proc/$1" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null; }

pids=()
cleanup() {
	set +e
	for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
	ip netns del "$ns" 2>/dev/null
}
trap cleanup EXIT

rm -rf "$w" && mkdir -p "$w"/{store,initrd,state} "$w"/shares/{ssh-keys,claude-credentials,workspace}
echo "ssh-ed25519 AAAA-test agent@host" > "$w/shares/ssh-keys/authorized_keys"
echo '{"token":"test"}' > "$w/shares/claude-credentials/.credentials.json"

# ---- the store: a static busybox, the system (stage 2), the host's /usr ----
mkdir -p "$w/store/$BB/bin" "$w/store/$SYS" "$w/store/$USR"
cp /bin/busybox "$w/store/$BB/bin/busybox"
ln -s busybox "$w/store/$BB/bin/sh"
cat > "$w/store/$SYS/init" <<EOF
#!/nix/store/$BB/bin/sh
# stage 2, as \${toplevel}/init: special file systems, /etc, then systemd
bb=/nix/store/$BB/bin/busybox
\$bb mkdir -p /proc /sys /dev /run /tmp /etc /var /root /workspace /etc/ssh/keys /home/user/.claude
\$bb mount -t proc proc /proc 2>/dev/null
\$bb mount -t sysfs sysfs /sys 2>/dev/null
\$bb mount -t devtmpfs devtmpfs /dev 2>/dev/null
\$bb mount -t tmpfs -o mode=755,nosuid,nodev tmpfs /run
for d in usr/bin:bin usr/sbin:sbin usr/lib:lib usr/lib64:lib64; do \$bb ln -sfn \${d%%:*} /\${d##*:}; done
\$bb ln -sfn /nix/store/$USR /usr
printf 'root:x:0:0:root:/root:/bin/sh\nmessagebus:x:100:101::/nonexistent:/usr/sbin/nologin\n' > /etc/passwd
printf 'root:x:0:\nmessagebus:x:101:\n' > /etc/group
: > /etc/machine-id
echo agent > /etc/hostname
\$bb cp -a /nix/store/$SYS/etc/. /etc/
echo "stage-2: exec systemd"
exec /usr/lib/systemd/systemd
EOF
chmod 755 "$w/store/$SYS/init"
mkdir -p "$w/store/$SYS/etc/systemd/system"
# the mounts NixOS's fstab has for this configuration (virtiofs shares by
# tag, the volume); the store mounts were made by stage 1 (x-initrd.mount)
cat > "$w/store/$SYS/etc/fstab" <<'EOF'
ro-store /nix/.ro-store virtiofs x-initrd.mount,ro 0 0
overlay /nix/store overlay x-initrd.mount,lowerdir=/nix/.ro-store,upperdir=/nix/.rw-store/store,workdir=/nix/.rw-store/work 0 0
ssh-keys /etc/ssh/keys virtiofs defaults 0 0
claude-credentials /home/user/.claude virtiofs defaults 0 0
workspace /workspace virtiofs defaults 0 0
/dev/vda /var ext4 defaults 0 2
EOF
u=$w/store/$SYS/etc/systemd/system
# A test host emulates its CPU: with 8 vCPUs on one emulated core, udev's
# coldplug alone can outlast systemd's 90 s default job timeout, and a
# device or mount job that times out sends the boot to emergency mode.
cat > "$w/store/$SYS/etc/systemd/system.conf" <<'EOF'
[Manager]
DefaultTimeoutStartSec=600
DefaultDeviceTimeoutSec=600
EOF
ln -s agent.target "$u/default.target"
cat > "$u/agent.target" <<'EOF'
[Unit]
Description=the agent VM is up
Requires=basic.target
Wants=avtest.service systemd-logind.service
After=basic.target avtest.service
AllowIsolate=yes
EOF
# what a test needs to know, written to the workspace; then "ready"
cat > "$u/avtest.service" <<'EOF'
[Unit]
After=local-fs.target remote-fs.target
Wants=remote-fs.target
[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/sh /etc/avtest.sh
EOF
cat > "$w/store/$SYS/etc/avtest.sh" <<'EOF'
set -u
f=/workspace/facts
{
	echo "pid1=$(cat /proc/1/comm)"
	echo "cpus=$(nproc)"
	echo "memtotal_kb=$(sed -n 's/^MemTotal: *\([0-9]*\).*/\1/p' /proc/meminfo)"
	for m in /nix/.ro-store /nix/store /etc/ssh/keys /home/user/.claude /workspace /var; do
		echo "mount $m $(findmnt -n -o FSTYPE,SOURCE "$m" | tr -s ' ' ' ')"
	done
	echo "store_usr=$(test -x /nix/store/2222-usr/bin/md5sum && echo yes)"
	touch /nix/store/written-in-guest 2>/dev/null && echo "store_writable=yes"
	touch /nix/.ro-store/x 2>/dev/null || echo "ro_store_readonly=yes"
	echo "ssh_key=$(cat /etc/ssh/keys/authorized_keys)"
	echo "credentials=$(cat /home/user/.claude/.credentials.json)"
	echo "var_size_kb=$(df -k --output=size /var | tail -1 | tr -d ' ')"
	echo hello > /var/hello && echo "var_writable=yes"
	# the NIC by its MAC (udev gave it a predictable name, as on NixOS)
	nic=$(grep -l '^02:00:00:00:00:05$' /sys/class/net/*/address | head -n1 | cut -d/ -f5)
	echo "nic=$nic mac=$(cat /sys/class/net/$nic/address)"
	echo "queues_rx=$(ls -d /sys/class/net/$nic/queues/rx-* | wc -l)"
	ip link set "$nic" up && ip addr add 10.211.0.2/24 dev "$nic"
	/nix/store/0000-busybox/bin/busybox ping -c 3 -W 5 10.211.0.1 >/dev/null 2>&1 && echo "ping=ok"
	echo "failed_units=$(systemctl --failed --no-legend --plain | cut -d' ' -f1 | tr '\n' ' ')"
} > "$f" 2>/workspace/facts.err
# ready once systemd-logind watches the power button (as on NixOS, it acts on
# KEY_POWER: HandlePowerKey=poweroff): it holds the button's event device open
pb=$(grep -l '^Power Button$' /sys/class/input/event*/device/name 2>/dev/null | head -n1 | cut -d/ -f5)
w=0
for _ in $(seq 120); do
	pid=$(pidof systemd-logind) && [ -n "$pb" ] &&
		ls -l /proc/$pid/fd 2>/dev/null | grep -q "/dev/input/$pb\$" && { w=1; break; }
	sleep 1
done
echo "logind_watches_power_button=$w" >> "$f"
cut -d' ' -f1 /proc/uptime > /workspace/ready
EOF
# ---- stage 1 (the initrd): modules, tmpfs root, the store, switch_root ----
ir=$w/initrd
mkdir -p "$ir"/{bin,proc,sys,dev,mnt-root,lib/modules}
cp /bin/busybox "$ir/bin/busybox"
: > "$ir/modules.order"
# what NixOS's initrd for this configuration loads (boot.initrd.kernelModules
# of microvm.nix's guest module: virtio, virtio-fs, overlay; plus the ACPI
# power button and evdev, which NixOS's udev loads in stage 2 from the
# system's module tree, which this stand-in has not)
modprobe -a -S "$rel" -d "$kc" --show-depends virtio_pci virtio_blk virtio_net virtiofs overlay \
	vmw_vsock_virtio_transport button evdev 2>/dev/null |
	awk '$1 == "insmod" { print $2 }' | while read -r ko; do
		b=$(basename "$ko")
		grep -qx "$b" "$ir/modules.order" && continue
		cp "$ko" "$ir/lib/modules/$b"
		echo "$b" >> "$ir/modules.order"
	done
cat > "$ir/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
echo "<<< stage 1 (NixOS scripted stage 1 stand-in) >>>"
for m in $(cat /modules.order); do insmod /lib/modules/$m || echo "stage-1: insmod $m failed"; done
init=
for o in $(cat /proc/cmdline); do case $o in init=*) init=${o#init=} ;; esac; done
mount -t tmpfs -o mode=755 root /mnt-root
mkdir -p /mnt-root/nix/.ro-store /mnt-root/nix/.rw-store/store /mnt-root/nix/.rw-store/work /mnt-root/nix/store
n=0
until mount -t virtiofs -o ro ro-store /mnt-root/nix/.ro-store; do
	n=$((n + 1)); [ $n -lt 50 ] || { echo "stage-1: no ro-store"; poweroff -f; }; sleep 0.2
done
mount -t overlay overlay -o lowerdir=/mnt-root/nix/.ro-store,upperdir=/mnt-root/nix/.rw-store/store,workdir=/mnt-root/nix/.rw-store/work /mnt-root/nix/store
umount /proc /sys /dev
echo "stage-1: switch_root to $init"
exec switch_root /mnt-root "$init"
EOF
chmod 755 "$ir/init"
(cd "$ir" && find . | cpio -o -H newc --quiet) > "$w/initrd.cpio"

# ---- the volume, the network ----
truncate -s 8G "$w/var.img"
# inode tables written now: ext4lazyinit zeroing them in the guest would slow
# the emulated guest and its unmount at shutdown
mkfs.ext4 -q -F -E lazy_itable_init=0,lazy_journal_init=1 "$w/var.img"
ip netns add "$ns"
ip -n "$ns" link set lo up
ip -n "$ns" link add br0 type bridge
ip -n "$ns" addr add 10.211.0.1/24 dev br0
# multi_queue, as microvm.nix creates taps for VMs with more than one vCPU
mq=multi_queue qopt=,queues=8
[ -z "${AV_MICROVM_SQ:-}" ] || mq= qopt=
ip -n "$ns" tuntap add microvm4 mode tap vnet_hdr $mq
ip -n "$ns" link set microvm4 master br0
ip -n "$ns" link set microvm4 up
ip -n "$ns" link set br0 up

# ---- the virtiofsd units ----
start_virtiofsd() {
	# ro-store: read-only on the host side (Debian's virtiofsd has no
	# --readonly): in a mount namespace of its own, the store bound read-only
	# onto itself and the host's /usr bound read-only into it
	local tag src
	for tag in ro-store ssh-keys claude-credentials workspace; do
		case $tag in
		ro-store) src=$w/store ;;
		*) src=$w/shares/$tag ;;
		esac
		if [ "$tag" = ro-store ]; then
			unshare -m --propagation private sh -c 'mount --bind "$1" "$1" &&
				mount -o remount,ro,bind "$1" "$1" && mount --bind /usr "$1/$2" &&
				mount -o remount,ro,bind "$1/$2" && shift 2 && exec "$@"' \
				sh "$src" "$USR" "$vfs" --socket-path="agent-virtiofs-$tag.sock" \
				-o source="$src" -o cache=auto -o xattr --thread-pool-size=2 \
				2>"$w/virtiofsd-$tag.log" &
		else
			"$vfs" --socket-path="agent-virtiofs-$tag.sock" -o source="$src" -o cache=auto \
				-o xattr --thread-pool-size=2 2>"$w/virtiofsd-$tag.log" &
		fi
		pids+=("$!")
	done
}

# ---- agentvmm, as the runner runs it (cwd: the state directory) ----
cd "$w/state"
if [ "${AV_MICROVM_ARGV:-nix}" = nix ]; then
	runner_argv=$("$here/../nix/runner-argv.sh" post "$agentvmm" "$kc/vmlinux" "$w/initrd.cpio" \
		"/nix/store/$SYS/init" "$w/var.img")
	mapfile -t argv <<< "$runner_argv"
	[ -z "${AV_MICROVM_SQ:-}" ] || argv=("${argv[@]/%,queues=8/}")
else
	argv=("$agentvmm" --cpus 8 --mem 4096 --kernel "$kc/vmlinux" --initrd "$w/initrd.cpio"
		--cmdline "earlyprintk=ttyS0 console=ttyS0 reboot=a panic=-1 init=/nix/store/$SYS/init"
		--disk "$w/var.img"
		--fs tag=ro-store,socket=agent-virtiofs-ro-store.sock
		--fs tag=ssh-keys,socket=agent-virtiofs-ssh-keys.sock
		--fs tag=claude-credentials,socket=agent-virtiofs-claude-credentials.sock
		--fs tag=workspace,socket=agent-virtiofs-workspace.sock
		--api-socket control.socket
		--net "tap=microvm4,mac=02:00:00:00:00:05$qopt")
fi
if [ "${AV_MICROVM_VMM:-agentvmm}" = qemu ]; then
	# the reference: QEMU (q35, the same kernel, initrd, shares, volume and
	# tap; what microvm.nix's qemu runner would run, without its extras)
	argv=(qemu-system-x86_64 -M q35,accel=kvm -cpu host -smp 8 -m 4096
		-object memory-backend-memfd,id=mem,size=4096M,share=on -numa node,memdev=mem
		-nodefaults -no-user-config -display none -no-reboot -serial stdio
		-kernel "$kc/vmlinux" -initrd "$w/initrd.cpio"
		-append "console=ttyS0 panic=-1 earlyprintk=ttyS0 reboot=a init=/nix/store/$SYS/init"
		-drive "file=$w/var.img,if=none,id=d0,format=raw" -device virtio-blk-pci,drive=d0
		-qmp unix:qmp.sock,server=on,wait=off)
	for tag in ro-store ssh-keys claude-credentials workspace; do
		argv+=(-chardev "socket,id=c-$tag,path=agent-virtiofs-$tag.sock"
			-device "vhost-user-fs-pci,chardev=c-$tag,tag=$tag")
	done
	nq=8
	[ -z "${AV_MICROVM_SQ:-}" ] || nq=1
	argv+=(-netdev "tap,id=n0,ifname=microvm4,script=no,downscript=no,queues=$nq"
		-device "virtio-net-pci,netdev=n0,mac=02:00:00:00:00:05,mq=on,vectors=$((2 * nq + 2))")
fi
read -ra extra <<< "${AV_MICROVM_EXTRA:-}"
printf '%s\n' "${argv[@]}" "${extra[@]}" > "$w/argv"
t0=$(date +%s.%N)
# QEMU's vhost-user-fs wants its back end at start; agentvmm waits for it
if [ "${AV_MICROVM_VMM:-agentvmm}" = qemu ]; then
	start_virtiofsd
	for _ in $(seq 60); do
		[ "$(ls agent-virtiofs-*.sock 2>/dev/null | wc -l)" = 4 ] && break
		sleep 0.5
	done
fi
ip netns exec "$ns" "${argv[@]}" "${extra[@]}" < /dev/null > "$w/console.log" 2> "$w/stderr" &
vmm=$!
pids+=("$vmm")
# microvm.nix starts its virtiofsd units beside the VM: here 2 s after it
if [ "${AV_MICROVM_VMM:-agentvmm}" != qemu ]; then
	sleep 2
	start_virtiofsd
fi

# ---- ready, then the runner's shutdown command ----
ready= n=0 next=30
while [ $n -lt "$ready_bound" ]; do
	[ -s "$w/shares/workspace/ready" ] && { ready=1; break; }
	alive "$vmm" || break
	# emergency mode never gets ready: say why at once instead of waiting
	if grep -q "emergency mode\|password for maintenance" "$w/console.log" 2>/dev/null; then
		echo "microvm-post: systemd went to emergency mode:" >&2
		tr -d '\r' < "$w/console.log" | sed 's/\x1b\[[0-9;]*m//g' |
			grep -E "Failed|Timed out|Dependency failed|failed with result" | tail -20 >&2
		break
	fi
	sleep 2
	n=$(( $(date +%s) - ${t0%.*} ))
	if [ $n -ge $next ]; then
		next=$((n + 30))
		echo "microvm-post: ${n}s: $(tail -c 300 "$w/console.log" | tr -c '[:print:]' ' ' | tail -c 120)" >&2
	fi
done
t1=$(date +%s.%N)
if [ -z "$ready" ]; then
	echo "status=not-ready" > "$w/result"
	if alive "$vmm"; then
		echo "microvm-post: the guest was not ready within ${ready_bound} s" >&2
	else
		wait "$vmm" && st=0 || st=$?
		echo "microvm-post: the VMM exited with status $st before the guest was ready" >&2
	fi
	exit 1
fi
export MAINPID=$vmm
# the VMM's own memory, guest RAM it touched included (PSS, KiB)
pss=$(sed -n 's/^Pss: *\([0-9]*\).*/\1/p' "/proc/$vmm/smaps_rollup")
if [ "${AV_MICROVM_VMM:-agentvmm}" = qemu ]; then
	mkdir -p "$w/bin"
	cat > "$w/bin/qmp-powerdown" <<'PY'
#!/usr/bin/python3
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.recv(4096)
for cmd in (b'{"execute":"qmp_capabilities"}', b'{"execute":"system_powerdown"}'):
    s.sendall(cmd)
    time.sleep(0.5)
    s.recv(4096)
PY
	chmod 755 "$w/bin/qmp-powerdown"
	shut="qmp-powerdown qmp.sock
waitpid \$MAINPID"
elif [ "${AV_MICROVM_ARGV:-nix}" = nix ]; then
	shut=$("$here/../nix/runner-argv.sh" shutdown "$agentvmm")
else
	shut="$agentvmm ctl control.socket shutdown --timeout-ms 120000 || $agentvmm ctl control.socket kill
waitpid \$MAINPID"
fi
# util-linux's waitpid(1) is not in Debian 12's util-linux: the same, in sh
mkdir -p "$w/bin"
printf '#!/bin/sh\nwhile kill -0 "$1" 2>/dev/null; do sleep 0.1; done\n' > "$w/bin/waitpid"
chmod 755 "$w/bin/waitpid"
export PATH=$w/bin:$PATH
echo "$shut" > "$w/shutdown-command"
timeout "$shutdown_bound" sh -c "$shut" > "$w/shutdown.out" 2>&1 || true
st=
for _ in $(seq $((shutdown_bound * 10))); do
	alive "$vmm" || break
	sleep 0.1
done
if alive "$vmm"; then
	st=still-running
else
	wait "$vmm" && st=0 || st=$?
fi
t2=$(date +%s.%N)
{
	echo "status=$st"
	echo "vmm_pss_kb=$pss"
	awk -v a="$t0" -v b="$t1" -v c="$t2" 'BEGIN { printf "boot_s=%.1f\nshutdown_s=%.1f\n", b - a, c - b }'
} > "$w/result"
