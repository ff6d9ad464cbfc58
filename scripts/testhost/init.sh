#!/bin/busybox sh
# SPDX-License-Identifier: MIT
#
# init.sh: PID 1 of the nested test host (L2) booted by scripts/testhost.sh.
#
# Stage 1 (/init in the initramfs): load the modules the initramfs carries
# (listed in /modules.list, dependencies first), build a tmpfs root with the
# host's /usr (9p, read-only) and the usr-merged symlinks, and switch_root to
# it. The tmpfs root matters: pivot_root(2) refuses the initial rootfs, and
# virtiofsd's namespace sandbox needs it.
# Stage 2 (/.testhost/init stage2, PID 1 of the new root): mount the API
# filesystems and the shares described in /.testhost/job/config, copy the
# guest kernel cache, run the job's command with its output on the serial
# console, write its exit status to /.testhost/job/status and power off.
#
# Everything here is busybox; host programs are called by full path (busybox
# ash prefers its own applets over PATH).

bb=/bin/busybox
[ -x "$bb" ] || bb=/.testhost/busybox
msg() { echo "testhost: $*" >/dev/console; }
die() {
	msg "$*"
	$bb sync
	$bb poweroff -f
	exit 1 # not reached
}
# 9p options: msize as large as the virtio transport allows.
P9="trans=virtio,version=9p2000.L,msize=512000"

stage1() {
	$bb mkdir -p /proc /sys /dev /newroot /bin
	$bb --install -s /bin
	export PATH=/bin
	mount -t proc proc /proc
	mount -t sysfs sysfs /sys
	mount -t devtmpfs devtmpfs /dev
	while read -r ko; do
		insmod "/lib/modules/$ko" || die "insmod $ko failed"
	done </modules.list

	mount -t tmpfs -o mode=755 root /newroot || die "tmpfs root"
	r=/newroot
	mkdir -p $r/usr $r/.testhost/job $r/proc $r/sys $r/dev $r/run $r/tmp $r/etc \
		$r/root $r/var/tmp $r/mnt
	mount -t 9p -o "$P9,ro,cache=loose" usr $r/usr || die "mounting host /usr failed"
	for d in bin sbin lib32 lib64 libx32; do
		[ -e $r/usr/$d ] && ln -s usr/$d $r/$d
	done
	# /lib is a directory of symlinks into /usr/lib, so that /lib/modules
	# (where kmod looks) can hold this kernel's modules: the host's are for
	# another kernel, and the read-only 9p /usr may not even have the
	# directory to mount on.
	mkdir $r/lib $r/lib/modules
	for e in "$r"/usr/lib/*; do
		e=${e##*/}
		[ "$e" = modules ] || ln -s "../usr/lib/$e" "$r/lib/$e"
	done
	mount -t 9p -o "$P9,ro,cache=loose" modules $r/lib/modules ||
		die "mounting the test host's modules failed"
	mount -t 9p -o "$P9,cache=none" job $r/.testhost/job || die "mounting the job dir failed"
	cp /bin/busybox /init $r/.testhost/
	umount /proc /sys /dev
	# shellcheck disable=SC2093 # exec fails only if switch_root is missing
	exec switch_root $r /.testhost/init stage2
	die "switch_root failed"
}

stage2() {
	b=$bb
	job=/.testhost/job
	$b mount -t proc proc /proc
	$b mount -t sysfs sysfs /sys
	$b mount -t devtmpfs devtmpfs /dev
	$b mkdir -p /dev/pts /dev/shm
	$b mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /dev/pts
	$b mount -t tmpfs -o mode=1777 shm /dev/shm
	$b mount -t tmpfs -o mode=755 run /run
	$b mount -t tmpfs -o mode=1777 tmp /tmp
	$b mount -t cgroup2 cgroup2 /sys/fs/cgroup 2>/dev/null
	$b ln -sf /proc/self/fd /dev/fd
	$b ln -sf /proc/self/fd/0 /dev/stdin
	$b ln -sf /proc/self/fd/1 /dev/stdout
	$b ln -sf /proc/self/fd/2 /dev/stderr
	$b chmod 1777 /var/tmp

	# /etc: a few files copied from the host (alternatives, ld.so.cache,
	# ...) plus minimal identity files.
	[ -f $job/etc.tar ] && $b tar -C /etc -xf $job/etc.tar
	echo 'root:x:0:0:root:/root:/bin/bash' >/etc/passwd
	echo 'nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin' >>/etc/passwd
	printf '%s\n' root:x:0: tty:x:5: kvm:x:104: nogroup:x:65534: >/etc/group
	printf '127.0.0.1\tlocalhost testhost\n::1\t\tlocalhost ip6-localhost\n' >/etc/hosts
	echo testhost >/etc/hostname
	$b hostname testhost
	$b ip link set lo up
	[ -e /dev/kvm ] && $b chgrp kvm /dev/kvm && $b chmod 660 /dev/kvm

	# Shares: "TAG PATH" lines, mounted read-write at the host's path.
	while read -r tag path; do
		[ -n "$tag" ] || continue
		$b mkdir -p "$path" || die "mkdir $path failed"
		$b mount -t 9p -o "$P9,cache=mmap" "$tag" "$path" || die "mounting share $path failed"
	done <$job/shares

	# Guest kernel cache: the kernel images are copied to tmpfs (9p reads
	# are slow under TCG); lib/ (modules, read a few at a time) stays on 9p.
	if [ -s $job/kcache ]; then
		kc=$($b cat $job/kcache)
		$b mkdir -p /.testhost/kcache "$kc"
		$b mount -t 9p -o "$P9,ro,cache=loose" kcache /.testhost/kcache ||
			die "mounting the kernel cache failed"
		for f in /.testhost/kcache/*; do
			if [ -d "$f" ]; then
				$b mkdir -p "$kc/${f##*/}"
				$b mount --bind "$f" "$kc/${f##*/}"
			else
				$b cp -a "$f" "$kc/" || die "copying the kernel cache failed"
			fi
		done
	fi

	# The test host's own kernel as a guest kernel: image and release on
	# tmpfs, modules from this host's /lib/modules (the same kernel).
	if [ -s $job/tcache ]; then
		tc=$($b cat $job/tcache)
		$b mkdir -p /.testhost/tcache "$tc"
		$b mount -t 9p -o "$P9,ro,cache=loose" tcache /.testhost/tcache ||
			die "mounting the test host kernel cache failed"
		for f in vmlinuz release config System.map; do
			[ -e "/.testhost/tcache/$f" ] && $b cp "/.testhost/tcache/$f" "$tc/"
		done
		$b umount /.testhost/tcache
		$b ln -s /lib "$tc/lib"
	fi

	# The command's output goes to the serial line unaltered (no CR/LF
	# translation); the host streams it to its caller.
	$b stty -F /dev/ttyS0 raw -echo 2>/dev/null
	$b touch $job/started
	# heartbeat for testhost.sh's watchdog: a test host that stops making
	# progress while QEMU still burns CPU stops writing it
	(while :; do $b date +%s >$job/heartbeat; $b sleep 10; done) &
	/bin/bash $job/run </dev/null >/dev/ttyS0 2>&1
	rc=$?
	echo "$rc" >$job/status.tmp && $b mv $job/status.tmp $job/status
	$b sync
	$b poweroff -f
}

case "${1:-}" in
stage2) stage2 ;;
*) stage1 ;;
esac
