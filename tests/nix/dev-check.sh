#!/bin/bash
# SPDX-License-Identifier: MIT
# dev-check.sh: the runner inside the real microvm.nix (not in CI: it needs
# microvm.nix and nixpkgs.lib, fetched by hand). Extracts microvm.nix at
# MICROVM_REV, checks that contrib/microvm-nix/microvm-nix-agentvmm.patch
# applies and carries the runner unchanged, then evaluates dev-check.nix:
# lib.evalModules over microvm.nix's guest modules with nixpkgs' lib and stub
# packages, for the no-fork module and for the patched tree, and prints what
# the microvm@ units would run. Nothing is built.
#
#   tests/nix/dev-check.sh                 check and print
#   tests/nix/dev-check.sh --update-patch  rewrite the patch's runner from
#                                          contrib/microvm-nix/agentvmm.nix
#
# MICROVM_GIT: a clone of github:microvm-nix/microvm.nix (a bare one is fine)
# NIXPKGS_LIB_GIT: a clone of github:nix-community/nixpkgs.lib
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
MICROVM_GIT=${MICROVM_GIT:-/work/.mirror/microvm-nix+microvm.nix/repo}
MICROVM_REV=${MICROVM_REV:-71beea0}
NIXPKGS_LIB_GIT=${NIXPKGS_LIB_GIT:-/work/.mirror/nix-community+nixpkgs.lib/repo}
patch=$root/contrib/microvm-nix/microvm-nix-agentvmm.patch
runner=$root/contrib/microvm-nix/agentvmm.nix

tmp=$(mktemp -d)
trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT
export NIX_STATE_DIR=$tmp/state XDG_CACHE_HOME=$tmp/cache XDG_CONFIG_HOME=$tmp/config \
	NIX_CONF_DIR=$tmp/conf HOME=$tmp/home
mkdir -p "$tmp/orig" "$tmp/patched" "$tmp/nixlib" "$NIX_CONF_DIR" "$HOME"
git -C "$MICROVM_GIT" archive "$MICROVM_REV" | tar -x -C "$tmp/orig"
git -C "$MICROVM_GIT" archive "$MICROVM_REV" | tar -x -C "$tmp/patched"
git -C "$NIXPKGS_LIB_GIT" archive HEAD lib | tar -x -C "$tmp/nixlib"
echo "dev-check: microvm.nix $(git -C "$MICROVM_GIT" rev-parse "$MICROVM_REV")," \
	"nixpkgs.lib $(git -C "$NIXPKGS_LIB_GIT" rev-parse HEAD), $(nix-instantiate --version)"

(cd "$tmp/patched" && git apply --check "$patch" && git apply "$patch")
echo "dev-check: the patch applies to $MICROVM_REV"

if [ "${1:-}" = --update-patch ]; then
	cp "$runner" "$tmp/patched/lib/runners/agentvmm.nix"
	# a throwaway repository only to get git's diff format (new file mode etc.)
	g=$tmp/diff
	cp -a "$tmp/orig" "$g"
	git -C "$g" init -q
	git -C "$g" add -A
	git -C "$g" -c user.name=dev-check -c user.email=dev-check@localhost commit -qm base
	(cd "$tmp/patched" && tar -cf - .) | tar -xf - -C "$g"
	git -C "$g" add -A
	{ sed '/^diff --git /,$d' "$patch"; git -C "$g" diff --cached; } >"$tmp/new.patch"
	mv "$tmp/new.patch" "$patch"
	echo "dev-check: rewrote $patch"
	exit 0
fi

cmp "$runner" "$tmp/patched/lib/runners/agentvmm.nix"
echo "dev-check: the patch's lib/runners/agentvmm.nix is contrib/microvm-nix/agentvmm.nix"

fail=0
ev() { # ATTR: evaluate dev-check.nix's ATTR as JSON; bin/ scripts go to $tmp/ATTR.log
	nix-instantiate --store dummy:// --eval --strict --json "$here/dev-check.nix" \
		--argstr microvm "$tmp/orig" --argstr patched "$tmp/patched" \
		--argstr nixpkgsLib "$tmp/nixlib/lib" -A "$1" 2>"$tmp/$1.log"
}
for attr in nofork.post nofork.notify patched.post patched.notify full.nofork full.patched; do
	if ! json=$(ev "$attr"); then
		echo "FAIL $attr:"; cat "$tmp/$attr.log"; fail=1; continue
	fi
	echo "== $attr"
	echo "$json" | grep -o '"name":"[^"]*"\|"passthru":{[^}]*}\|"failedAssertions":\[[^]]*\]\|"initrdSystemd":[a-z]*'
	sed -n 's/^exec -a \(.*\)/  microvm-run: exec -a \1/p' "$tmp/$attr.log"
	sed -n 's/^exec \([0-9]\)<>/  microvm-run: exec \1<>/p' "$tmp/$attr.log"
	grep -q '"failedAssertions":\[\]' <<<"$json" || { echo "FAIL $attr: assertions"; fail=1; }
	grep -q '^exec -a "microvm@agent" /nix/store/[0-9a-z]*-agentvmm/bin/agentvmm --cpus ' \
		"$tmp/$attr.log" || { echo "FAIL $attr: no agentvmm in microvm-run"; fail=1; }
done
# the no-fork module refuses a hypervisor other than cloud-hypervisor
if ev nofork.qemu >/dev/null; then
	echo "FAIL nofork.qemu: accepted"; fail=1
else
	grep -q 'set microvm.hypervisor = "cloud-hypervisor"' "$tmp/nofork.qemu.log" ||
		{ echo "FAIL nofork.qemu:"; cat "$tmp/nofork.qemu.log"; fail=1; }
fi
# The same through flakes, in pure evaluation: agentvmm's flake (its module
# output) and microvm.nix as inputs of a throwaway flake; the store is under
# $tmp, nothing else is written.
f=$tmp/flake
mkdir -p "$f/agentvmm/tests" "$f/test"
cp -r "$root/flake.nix" "$root/default.nix" "$root/nix" "$root/contrib" "$f/agentvmm/"
cp -r "$here" "$f/agentvmm/tests/"
git -C "$NIXPKGS_LIB_GIT" show HEAD:flake.nix >"$tmp/nixlib/flake.nix"
cat >"$f/test/flake.nix" <<FLAKE
{
  inputs = {
    nixpkgs.url = "path:$tmp/nixlib";
    microvm = { url = "path:$tmp/orig"; flake = false; };
    agentvmm = { url = "path:$f/agentvmm"; inputs.nixpkgs.follows = "nixpkgs"; };
  };
  outputs = { self, nixpkgs, microvm, agentvmm }: {
    check = import "\${agentvmm}/tests/nix/dev-check.nix" {
      inherit microvm;
      patched = microvm;
      nixpkgsLib = "\${nixpkgs}/lib";
      agentvmmModule = agentvmm.nixosModules.microvm-agentvmm;
      microvmSource = microvm;
    };
  };
}
FLAKE
if out=$(cd "$f/test" && nix --extra-experimental-features 'nix-command flakes' \
	--store "$tmp/store" eval --json .#check.full.nofork.passthru 2>"$tmp/flake.log"); then
	echo "== flake (pure evaluation) full.nofork: $out"
	grep -q '"tapMultiQueue":true' <<<"$out" || { echo "FAIL flake: $out"; fail=1; }
else
	echo "FAIL flake:"
	cat "$tmp/flake.log"
	fail=1
fi
[ $fail = 0 ] && echo "dev-check: ok"
exit $fail
