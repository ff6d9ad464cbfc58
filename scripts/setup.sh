#!/bin/sh
# SPDX-License-Identifier: MIT
# setup.sh: install what agentvmm needs to build and test on Debian 12 (idempotent).
set -eu
PKGS="build-essential cmake pkg-config clang lld liburing-dev libcmocka-dev acpica-tools
musl-tools busybox-static qemu-system-x86 qemu-system-common qemu-utils libseccomp-dev
libcjson-dev liblzma-dev libzstd-dev zlib1g-dev cpio kmod lz4 xz-utils zstd gzip iproute2
e2fsprogs erofs-utils procps iperf3 fio nix-bin udev passt curl containerd runc"

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
	echo "setup: installing$missing"
	SUDO=""
	[ "$(id -u)" = 0 ] || SUDO=sudo
	$SUDO apt-get update -q
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends $missing
fi
