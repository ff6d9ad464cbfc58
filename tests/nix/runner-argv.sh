#!/bin/bash
# SPDX-License-Identifier: MIT
# runner-argv.sh: what the microvm.nix runner (contrib/microvm-nix/agentvmm.nix)
# runs for the post's VM (tests/nix/cases.nix), evaluated with nix-bin, with a
# real agentvmm binary, kernel, initrd, init and volume in place of store
# paths; for tests/e2e/microvm-post.sh.
#
#   runner-argv.sh post AGENTVMM KERNEL INITRD INIT VARIMG
#       the agentvmm argv, one word per line; KERNEL must be named vmlinux
#       (the runner passes ${kernel.dev}/vmlinux)
#   runner-argv.sh shutdown AGENTVMM
#       the shutdown command (sh), with waitpid taken from PATH
set -eu
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export NIX_STATE_DIR=$tmp/state XDG_CACHE_HOME=$tmp/cache XDG_CONFIG_HOME=$tmp/config \
	NIX_CONF_DIR=$tmp/conf HOME=$tmp/home NIX_PATH=
mkdir -p "$NIX_CONF_DIR" "$HOME"
S=/nix/store/00000000000000000000000000000000
FAKE_AV=$S-agentvmm-0.1.0/bin/agentvmm

raw() { # ATTR [nix eval args...]
	local a=$1
	shift
	nix --extra-experimental-features nix-command --store dummy:// eval --raw \
		-f "$here/cases.nix" "$a" "$@"
}

case ${1:-} in
post)
	[ $# = 6 ] || { echo "usage: runner-argv.sh post AGENTVMM KERNEL INITRD INIT VARIMG" >&2; exit 2; }
	[ "$(basename "$3")" = vmlinux ] || { echo "runner-argv.sh: KERNEL must be named vmlinux" >&2; exit 2; }
	for a in "$3" "$4" "$5" "$6"; do # they go into a Nix string
		case $a in *\"* | *\\* | *\$*) echo "runner-argv.sh: no \", \\ or \$ in $a" >&2; exit 2 ;; esac
	done
	cmd=$(raw postWith --apply "f: (f { kernelDev = \"$(dirname "$3")\"; initrd = \"$4\";
		init = \"$5\"; varImg = \"$6\"; }).command")
	# only quoted words (test_runner.sh's rule), so eval runs nothing
	word="([[:alnum:],._+:@%/-]+|'[^']*'(\\\\''[^']*')*)"
	[[ $cmd =~ ^$word( $word)*$ ]] || { echo "runner-argv.sh: unexpected command: $cmd" >&2; exit 1; }
	eval "argv=($cmd)"
	[ "${argv[0]}" = "$FAKE_AV" ] || { echo "runner-argv.sh: argv[0] ${argv[0]}" >&2; exit 1; }
	argv[0]=$2
	printf '%s\n' "${argv[@]}"
	;;
shutdown)
	[ $# = 2 ] || { echo "usage: runner-argv.sh shutdown AGENTVMM" >&2; exit 2; }
	s=$(raw post.shutdownCommand)
	s=${s//"$FAKE_AV"/"$2"}
	printf '%s\n' "${s//"$S-util-linux-2.40.2-bin/bin/"/}"
	;;
*)
	echo "usage: runner-argv.sh post|shutdown ..." >&2
	exit 2
	;;
esac
