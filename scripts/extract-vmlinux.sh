#!/bin/sh
# SPDX-License-Identifier: MIT
#
# extract-vmlinux.sh: pull the uncompressed ELF vmlinux out of an x86 bzImage.
#
# Usage: scripts/extract-vmlinux.sh BZIMAGE OUT
#
# The payload is located through the boot protocol header
# (Documentation/arch/x86/boot.rst): the protected-mode code starts at
# (setup_sects + 1) * 512 (setup_sects 0 means 4), and payload_offset (0x248)
# and payload_length (0x24c) give the compressed kernel relative to it.
# arch/x86/boot/compressed/mkpiggy appends the 4-byte uncompressed size to the
# payload, which we drop. If the header looks wrong we fall back to scanning
# for a compression magic. Formats: LZ4 legacy (02 21 4c 18, what Debian's
# kernels use), gzip, xz, zstd, lzma, bzip2 (whichever tool is installed).
# The result must be an ELF with the Xen PVH note (XEN_ELFNOTE_PHYS32_ENTRY,
# type 0x12), which is what agentvmm's PVH loader needs.
#
# Exit: 0 ok, 1 extraction or verification failed, 2 usage error.
set -eu

prog=extract-vmlinux.sh
die() { echo "$prog: $*" >&2; exit 1; }

[ $# -eq 2 ] || { echo "usage: $prog BZIMAGE OUT" >&2; exit 2; }
in=$1
out=$2
[ -r "$in" ] || { echo "$prog: $in: cannot read" >&2; exit 2; }

# u8/u32 at byte offset (little endian) via od.
rd() { od -A n -t "u$2" -j "$1" -N "$2" "$in" | tr -d ' \n'; }

tmp=$(mktemp "${out}.tmp.XXXXXX")
trap 'rm -f "$tmp"' EXIT INT TERM HUP

decomp_cmd() {
	case $1 in
	lz4) echo "lz4 -dc" ;;
	gzip) echo "gzip -dc" ;;
	xz) echo "xz -dc" ;;
	lzma) echo "xz -dc --format=lzma" ;;
	zstd) echo "zstd -dc" ;;
	bzip2) echo "bzip2 -dc" ;;
	esac
}

# Name the format whose magic starts at byte offset $1, or nothing.
magic_at() {
	m=$(od -A n -t x1 -j "$1" -N 6 "$in" 2>/dev/null | tr -d ' \n')
	case $m in
	02214c18*) echo lz4 ;;
	1f8b08*) echo gzip ;;
	fd377a585a00) echo xz ;;
	5d000000*) echo lzma ;;
	28b52ffd*) echo zstd ;;
	425a68*) echo bzip2 ;;
	esac
}

is_elf() { [ "$(od -A n -t x1 -N 4 "$tmp" | tr -d ' \n')" = 7f454c46 ]; }

# try FORMAT OFFSET [LENGTH]: decompress into $tmp, succeed if it is an ELF.
try() {
	cmd=$(decomp_cmd "$1")
	tool=${cmd%% *}
	command -v "$tool" >/dev/null 2>&1 ||
		die "payload is $1 but '$tool' is not installed (apt-get install $tool)"
	if [ -n "${3:-}" ]; then
		dd if="$in" iflag=skip_bytes,count_bytes skip="$2" count="$3" bs=1M status=none |
			$cmd >"$tmp" 2>/dev/null || true
	else
		# Unknown length: trailing bytes make the tool complain, the output
		# is still complete, so judge by the result.
		dd if="$in" iflag=skip_bytes skip="$2" bs=1M status=none |
			$cmd >"$tmp" 2>/dev/null || true
	fi
	is_elf
}

found=
hdr=$(od -A n -t x1 -j 514 -N 4 "$in" | tr -d ' \n') # "HdrS" at 0x202
if [ "$hdr" = 48647253 ]; then
	sects=$(rd 497 1) # 0x1f1
	[ "$sects" -eq 0 ] && sects=4
	poff=$(rd 584 4) # 0x248
	plen=$(rd 588 4) # 0x24c
	start=$(((sects + 1) * 512 + poff))
	fmt=$(magic_at "$start")
	if [ -n "$fmt" ] && [ "$plen" -gt 4 ] && try "$fmt" "$start" $((plen - 4)); then
		found=$fmt
	fi
fi

if [ -z "$found" ]; then
	# Fallback: scan for each magic and try every hit in file order.
	for fmt in lz4 gzip xz zstd lzma bzip2; do
		case $fmt in
		lz4) pat='\x02\x21\x4c\x18' ;;
		gzip) pat='\x1f\x8b\x08' ;;
		xz) pat='\xfd\x37\x7a\x58\x5a\x00' ;;
		zstd) pat='\x28\xb5\x2f\xfd' ;;
		lzma) pat='\x5d\x00\x00\x00' ;;
		bzip2) pat='BZh' ;;
		esac
		for off in $(LC_ALL=C grep -obUaP "$pat" "$in" 2>/dev/null | cut -d: -f1 | head -n 20); do
			if try "$fmt" "$off"; then
				found=$fmt
				break 2
			fi
		done
	done
fi

[ -n "$found" ] || die "$in: no compressed ELF payload found"

# The PVH entry note: readelf names it XEN_ELFNOTE_PHYS32_ENTRY or, in older
# binutils, prints "Unknown note type: (0x00000012)" under owner "Xen".
notes=$(readelf -n "$tmp" 2>/dev/null) || die "$in: payload is not a readable ELF"
printf '%s\n' "$notes" | grep -E '^[[:space:]]*Xen[[:space:]]' |
	grep -qE 'PHYS32_ENTRY|0x0*12\)' ||
	die "$in: vmlinux has no Xen PVH note (XEN_ELFNOTE_PHYS32_ENTRY)"

chmod 644 "$tmp"
mv -f "$tmp" "$out"
trap - EXIT INT TERM HUP
