#!/bin/sh
# SPDX-License-Identifier: MIT
#
# mkstore.sh: a read-only filesystem image of a directory, for
#   agentvmm --pmem IMAGE,ro,mount=/nix/store,dax
# (docs/pmem.md). erofs (Debian's erofs-utils), the layout microvm.nix's
# storeOnDisk builds, but uncompressed by default: the guest can only map
# uncompressed files with DAX, straight from the host's page cache. The
# image is padded to a multiple of 2 MiB, the granule of a pmem region.
#
#   scripts/mkstore.sh [--compress] DIR IMAGE
#
# --compress: lz4hc, a smaller image the guest reads through its own page
# cache (mount it without dax).
set -eu
usage() {
	echo "usage: scripts/mkstore.sh [--compress] DIR IMAGE" >&2
	exit 2
}
# noinline_data: every file's data in whole blocks of its own (erofs's default
# packs a file's tail into its inode's block, and the guest reads such files
# through its page cache, not with DAX)
layout="-Enoinline_data"
[ "${1:-}" = "--compress" ] && { layout="-zlz4hc"; shift; }
[ $# -eq 2 ] || usage
dir=$1 img=$2
[ -d "$dir" ] || { echo "mkstore.sh: $dir: not a directory" >&2; exit 2; }
command -v mkfs.erofs >/dev/null ||
	{ echo "mkstore.sh: mkfs.erofs not found (apt-get install erofs-utils)" >&2; exit 2; }
tmp="$img.tmp.$$"
trap 'rm -f "$tmp"' EXIT INT TERM
# owners as in the directory; timestamps kept; 4 KiB blocks (erofs-utils' default on x86)
mkfs.erofs --quiet $layout "$tmp" "$dir"
size=$(stat -c %s "$tmp")
mib2=$((2 * 1024 * 1024))
truncate -s $(( (size + mib2 - 1) / mib2 * mib2 )) "$tmp"
mv "$tmp" "$img"
trap - EXIT INT TERM
echo "mkstore.sh: $img: $(( $(stat -c %s "$img") / 1024 / 1024 )) MiB"
