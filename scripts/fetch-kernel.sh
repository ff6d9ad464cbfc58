#!/bin/bash
# SPDX-License-Identifier: MIT
#
# fetch-kernel.sh: fetch the Debian kernels the tests use, never committed.
#
#   ${AV_KERNEL_CACHE:-/var/cache/agentvmm/kernel}     guest kernel (L1/L3),
#       from linux-image-cloud-amd64:
#         bzImage  vmlinux  release  config  System.map  package
#         lib/modules/<release>/ (with modules.dep from depmod)
#   ${AV_TESTHOST_CACHE:-/var/cache/agentvmm/testhost}  test host kernel (L2,
#       see scripts/testhost.sh), from linux-image-amd64:
#         vmlinuz  release  config  package  lib/modules/<release>/
#
# Idempotent: when a cache already holds the release that the metapackage
# currently depends on (or apt knows nothing and the cache is complete),
# nothing is done. A new kernel in the archive replaces the cache atomically.
#
# Options: --kernel-only / --testhost-only  fetch just one of the two.
# Exit: 0 ok, 1 apt or extraction failure, 2 usage error.
set -euo pipefail

prog=fetch-kernel.sh
here=$(cd "$(dirname "$0")" && pwd)
kcache=${AV_KERNEL_CACHE:-/var/cache/agentvmm/kernel}
tcache=${AV_TESTHOST_CACHE:-/var/cache/agentvmm/testhost}

die() { echo "$prog: $*" >&2; exit 1; }
log() { echo "$prog: $*" >&2; }

want_k=1 want_t=1
for a in "$@"; do
	case $a in
	--kernel-only) want_t=0 ;;
	--testhost-only) want_k=0 ;;
	-h | --help) sed -n '3,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "$prog: unknown argument '$a'" >&2; exit 2 ;;
	esac
done

# Both metapackages in one apt-cache call (it takes ~0.5 s without a pkgcache).
# Prints "META PKG" lines for the linux-image-<release> each depends on.
resolve_all() {
	apt-cache depends linux-image-cloud-amd64 linux-image-amd64 2>/dev/null |
		awk '/^[^ ]/ { meta = $1 }
		     $1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ && !seen[meta]++ { print meta, $2 }' ||
		true
}
resolved=$(resolve_all)
resolve() { printf '%s\n' "$resolved" | awk -v m="$1" '$1 == m { print $2 }'; }

# complete DIR KFILE: the cache in DIR is whole (written last: release).
complete() {
	[ -s "$1/release" ] && [ -s "$1/$2" ] &&
		[ -s "$1/lib/modules/$(cat "$1/release")/modules.dep" ]
}

# fetch META DEST KFILE: install META's kernel package into DEST.
fetch() {
	local meta=$1 dest=$2 kfile=$3 pkg rel stage deb ver

	pkg=$(resolve "$meta")
	if [ -z "$pkg" ] && [ "$updated" = 0 ]; then
		log "apt knows no $meta; running apt-get update"
		updated=1
		apt-get update -qq >&2 || log "apt-get update failed"
		resolved=$(resolve_all)
		pkg=$(resolve "$meta")
	fi
	if [ -z "$pkg" ]; then
		if complete "$dest" "$kfile"; then
			log "apt cannot resolve $meta; keeping cached $(cat "$dest/release")"
			return 0
		fi
		die "cannot resolve $meta with apt-cache (no network or no Debian sources?)"
	fi
	rel=${pkg#linux-image-}
	if complete "$dest" "$kfile" && [ "$(cat "$dest/release")" = "$rel" ]; then
		return 0
	fi

	log "fetching $pkg into $dest"
	mkdir -p "$(dirname "$dest")"
	stage=$(mktemp -d "$dest.new.XXXXXX")
	chmod 755 "$stage"
	# Clean the staging dir whatever happens, Ctrl-C included.
	trap 'rm -rf "$stage"' EXIT
	trap 'rm -rf "$stage"; exit 130' INT TERM HUP
	# apt-get download drops privileges to _apt: let it write here.
	mkdir "$stage/deb"
	chown _apt "$stage/deb" 2>/dev/null || true
	(cd "$stage/deb" && apt-get download -q "$pkg" >&2) ||
		die "apt-get download $pkg failed"
	deb=$(echo "$stage"/deb/*.deb)
	[ -f "$deb" ] || die "apt-get download $pkg produced no .deb"
	ver=$(dpkg-deb -f "$deb" Version)
	dpkg -x "$deb" "$stage/root" || die "dpkg -x $deb failed"

	local root=$stage/root
	local mods=$root/lib/modules/$rel
	[ -d "$mods" ] || mods=$root/usr/lib/modules/$rel
	[ -f "$root/boot/vmlinuz-$rel" ] || die "$pkg has no boot/vmlinuz-$rel"
	[ -d "$mods" ] || die "$pkg has no modules directory for $rel"

	mkdir -p "$stage/out/lib/modules"
	mv "$root/boot/vmlinuz-$rel" "$stage/out/$kfile"
	mv "$root/boot/config-$rel" "$stage/out/config"
	[ -f "$root/boot/System.map-$rel" ] && mv "$root/boot/System.map-$rel" "$stage/out/System.map"
	mv "$mods" "$stage/out/lib/modules/$rel"
	# The package ships no modules.dep (postinst runs depmod); make one.
	depmod -b "$stage/out" "$rel" || die "depmod for $rel failed"
	if [ "$kfile" = bzImage ]; then
		"$here/extract-vmlinux.sh" "$stage/out/bzImage" "$stage/out/vmlinux" ||
			die "extracting vmlinux from $pkg failed"
	fi
	echo "$pkg $ver" >"$stage/out/package"
	echo "$rel" >"$stage/out/release"

	# Swap the new cache in: two renames, the old one goes last.
	rm -rf "$dest.old"
	[ -e "$dest" ] && mv "$dest" "$dest.old"
	mv "$stage/out" "$dest"
	rm -rf "$dest.old" "$stage"
	trap - EXIT INT TERM HUP
	log "$dest: $pkg $ver"
}

command -v apt-get >/dev/null || die "needs apt-get (Debian)"
mkdir -p "$(dirname "$kcache")" "$(dirname "$tcache")"
# One fetch at a time: several developers/tests may call this at once.
exec 9>"$(dirname "$kcache")/.fetch-kernel.lock"
flock 9
updated=0

[ "$want_k" = 1 ] && fetch linux-image-cloud-amd64 "$kcache" bzImage
[ "$want_t" = 1 ] && fetch linux-image-amd64 "$tcache" vmlinuz
exit 0
