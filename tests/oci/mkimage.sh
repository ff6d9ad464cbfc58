#!/bin/bash
# SPDX-License-Identifier: MIT
# mkimage.sh OUT.tar [NAME]: build a one-layer OCI image archive offline from
# Debian's busybox-static (/bin/busybox), for `ctr image import`
# (/work/shared/notes/oci.md, "An OCI image without a registry").
#
# The rootfs: /bin/busybox and a symlink per applet the tests use, /etc/passwd
# and /etc/group (root, and user 1000 "user"), /tmp (1777), empty /proc, /sys,
# /dev and /root. NAME (default localhost/agentvmm-test:latest) is the
# io.containerd.image.name annotation. The archive is deterministic: same
# busybox, same bytes (sorted tar entries, uid/gid 0, mtime 0, gzip -n).
# Exit: 0; 1 on a failure; 2 on a usage error.
set -euo pipefail

BUSYBOX=${AV_BUSYBOX:-/bin/busybox}
APPLETS="sh echo cat sleep id hostname ls stat mount grep wc head tr true false env kill ps
date touch mkdir rm test cut awk sed printf stty tty readlink"

die() { echo "mkimage.sh: $*" >&2; exit 1; }
usage() { echo "usage: tests/oci/mkimage.sh OUT.tar [NAME]" >&2; exit 2; }

# dtar DIR OUT: a reproducible tar of DIR's contents
dtar() {
	tar --sort=name --format=gnu --owner=0 --group=0 --numeric-owner --mtime=@0 \
		-C "$1" -cf "$2" .
}

# sha FILE: its sha256 in hex
sha() { sha256sum "$1" | cut -d' ' -f1; }

# blob WORK FILE: move FILE into WORK/blobs/sha256 under its digest; print "DIGEST SIZE"
blob() {
	local d s
	d=$(sha "$2")
	s=$(stat -c %s "$2")
	mv "$2" "$1/blobs/sha256/$d"
	echo "$d $s"
}

make_rootfs() {
	local r=$1 a list
	list=" $("$BUSYBOX" --list | tr '\n' ' ') "
	mkdir -p "$r"/bin "$r"/etc "$r"/tmp "$r"/proc "$r"/sys "$r"/dev "$r"/root
	cp "$BUSYBOX" "$r/bin/busybox"
	for a in $APPLETS; do
		[[ $list == *" $a "* ]] || die "$BUSYBOX has no applet $a"
		ln -s busybox "$r/bin/$a"
	done
	printf '%s\n' 'root:x:0:0:root:/root:/bin/sh' 'user:x:1000:1000:user:/tmp:/bin/sh' \
		'nobody:x:65534:65534:nobody:/nonexistent:/bin/false' >"$r/etc/passwd"
	printf '%s\n' 'root:x:0:' 'user:x:1000:' 'nogroup:x:65534:' >"$r/etc/group"
	chmod 0755 "$r" "$r"/bin "$r"/etc "$r"/proc "$r"/sys "$r"/dev "$r/bin/busybox"
	chmod 0700 "$r/root"
	chmod 0644 "$r/etc/passwd" "$r/etc/group"
	chmod 1777 "$r/tmp"
}

main() {
	if [ $# -lt 1 ] || [ $# -gt 2 ]; then usage; fi
	local out=$1 name=${2:-localhost/agentvmm-test:latest} arch work
	[ -x "$BUSYBOX" ] || die "$BUSYBOX missing (install busybox-static: scripts/setup.sh)"
	"$BUSYBOX" --list >/dev/null 2>&1 || die "$BUSYBOX does not run"
	arch=$(dpkg --print-architecture 2>/dev/null || echo amd64)
	work=$(mktemp -d)
	# shellcheck disable=SC2064 # expand now: work is local
	trap "rm -rf '$work'" EXIT
	umask 022
	make_rootfs "$work/rootfs"
	mkdir -p "$work/oci/blobs/sha256"

	local diff_id layer config manifest
	dtar "$work/rootfs" "$work/layer.tar"
	diff_id=$(sha "$work/layer.tar")
	gzip -n -9 "$work/layer.tar"
	layer=$(blob "$work/oci" "$work/layer.tar.gz")

	local mt=application/vnd.oci.image fmt
	fmt='{"architecture":"%s","os":"linux","config":{"Env":["PATH=%s"],"Cmd":["/bin/sh"],'
	fmt+='"WorkingDir":"/"},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}'
	# shellcheck disable=SC2059 # the format is ours
	printf "$fmt" "$arch" /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		"$diff_id" >"$work/config.json"
	config=$(blob "$work/oci" "$work/config.json")

	fmt='{"schemaVersion":2,"mediaType":"%s.manifest.v1+json",'
	fmt+='"config":{"mediaType":"%s.config.v1+json","digest":"sha256:%s","size":%s},'
	fmt+='"layers":[{"mediaType":"%s.layer.v1.tar+gzip","digest":"sha256:%s","size":%s}]}'
	# shellcheck disable=SC2059
	printf "$fmt" $mt $mt "${config% *}" "${config#* }" $mt "${layer% *}" "${layer#* }" \
		>"$work/manifest.json"
	manifest=$(blob "$work/oci" "$work/manifest.json")

	fmt='{"schemaVersion":2,"manifests":[{"mediaType":"%s.manifest.v1+json",'
	fmt+='"digest":"sha256:%s","size":%s,"annotations":{"io.containerd.image.name":"%s",'
	fmt+='"org.opencontainers.image.ref.name":"%s"},'
	fmt+='"platform":{"architecture":"%s","os":"linux"}}]}'
	# shellcheck disable=SC2059
	printf "$fmt" $mt "${manifest% *}" "${manifest#* }" "$name" "${name##*:}" "$arch" \
		>"$work/oci/index.json"
	printf '{"imageLayoutVersion":"1.0.0"}' >"$work/oci/oci-layout"
	find "$work/oci" -type d -exec chmod 0755 {} +
	find "$work/oci" -type f -exec chmod 0644 {} +
	dtar "$work/oci" "$work/image.tar"
	mv "$work/image.tar" "$out"
}

main "$@"
