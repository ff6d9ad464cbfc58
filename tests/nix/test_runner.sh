#!/bin/bash
# SPDX-License-Identifier: MIT
# test_runner.sh: the Nix side of agentvmm, evaluated offline with Debian's
# nix-bin (no nixpkgs, nothing built; CTest label "scripts"):
#  - every .nix file of ours parses;
#  - the microvm.nix runner (contrib/microvm-nix/agentvmm.nix), called as
#    microvm.nix 71beea0's lib/runner.nix calls it with every option at its
#    default (microvm-config.nix, cases.nix): its command split into argv the
#    way sh does and compared flag by flag, preStart, shutdownCommand and the
#    flags microvm.nix reads; one case per refused option and its message;
#  - runner-argv.sh (the runner's argv with real paths, for
#    tests/e2e/microvm-post.sh);
#  - the runner inside the upstream patch is the same file;
#  - nix/package.nix, the overlay, default.nix and flake.nix against what
#    CMakeLists.txt needs (package-check.nix).
# nix-instantiate missing is a failure, not a skip (scripts/setup.sh installs
# nix-bin). dev-check.sh (not run here) evaluates it inside microvm.nix.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
runner=$root/contrib/microvm-nix/agentvmm.nix
patch=$root/contrib/microvm-nix/microvm-nix-agentvmm.patch

for t in nix-instantiate nix; do
	command -v $t >/dev/null || {
		echo "FAIL: $t not found (install nix-bin: scripts/setup.sh)"
		exit 1
	}
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# no daemon, no store, no user or system configuration
export NIX_STATE_DIR=$tmp/state XDG_CACHE_HOME=$tmp/cache XDG_CONFIG_HOME=$tmp/config \
	NIX_CONF_DIR=$tmp/conf HOME=$tmp/home NIX_PATH=
unset NIX_REMOTE
mkdir -p "$NIX_CONF_DIR" "$HOME"

fails=0
ok() { echo "ok   $1"; }
fail() { echo "FAIL $1"; fails=$((fails + 1)); }

inst() { nix-instantiate --store dummy:// --eval --strict --json "$@"; }
# ATTR of cases.nix as raw text (strings only)
raw() { nix --extra-experimental-features nix-command --store dummy:// eval --raw -f "$here/cases.nix" "$1"; }

# --- parse ----------------------------------------------------------------
for f in "$root"/flake.nix "$root"/default.nix "$root"/nix/*.nix "$runner" "$here"/*.nix; do
	if nix-instantiate --parse "$f" >/dev/null 2>"$tmp/parse.err"; then
		ok "parse ${f#"$root"/}"
	else
		fail "parse ${f#"$root"/}: $(cat "$tmp/parse.err")"
	fi
done

# --- command lines ----------------------------------------------------------
# A shell word as the runner's escape produces it: bare safe characters, or a
# single-quoted string with '\'' for each quote inside.
word="([[:alnum:],._+:@%/-]+|'[^']*'(\\\\''[^']*')*)"
argv_re="^$word( $word)*\$"

# check_argv CASE EXPECTED...: CASE's command is one plain agentvmm invocation
# (nothing but quoted words, so `eval set --` runs nothing) whose argv is
# EXPECTED
check_argv() {
	local name=$1 cmd
	shift
	if ! cmd=$(raw "$name.command" 2>"$tmp/err"); then
		fail "$name.command: $(cat "$tmp/err")"
		return
	fi
	if ! [[ $cmd =~ $argv_re ]]; then
		fail "$name.command is not a plain list of quoted words: $cmd"
		return
	fi
	local -a want=("$@") got
	eval "got=($cmd)"
	local i n=${#want[@]} bad=0
	[ "${#got[@]}" -gt "$n" ] && n=${#got[@]}
	for ((i = 0; i < n; i++)); do
		if [ "${got[i]-<none>}" != "${want[i]-<none>}" ]; then
			echo "     argv[$i]: got '${got[i]-<none>}', want '${want[i]-<none>}'"
			bad=1
		fi
	done
	if [ $bad = 0 ]; then ok "$name.command (${#got[@]} words)"; else fail "$name.command"; fi
}

# check_text NAME EXPECTED: a string attribute, exactly
check_text() {
	local got
	if ! got=$(raw "$1" 2>"$tmp/err"); then
		fail "$1: $(cat "$tmp/err")"
	elif [ "$got" = "$2" ]; then
		ok "$1"
	else
		fail "$1"
		diff <(echo "$2") <(echo "$got") | sed 's/^/     /'
	fi
}

# check_json NAME EXPECTED: any attribute as JSON
check_json() {
	local got
	got=$(inst "$here/cases.nix" -A "$1" 2>"$tmp/err") || got="error: $(cat "$tmp/err")"
	if [ "$got" = "$2" ]; then ok "$1 = $2"; else fail "$1: got $got, want $2"; fi
}

S=/nix/store/00000000000000000000000000000000
AV=$S-agentvmm-0.1.0/bin/agentvmm
KERNEL=$S-linux-6.12.1-dev/vmlinux
INITRD=$S-initrd-linux-6.12.1/initrd
CMDLINE="earlyprintk=ttyS0 console=ttyS0 reboot=a panic=-1 8250.nr_uarts=1 loglevel=4"
CMDLINE="$CMDLINE init=$S-nixos-system-agent-25.05/init regInfo=$S-closure-info/registration"

# The post's VM: 8 vCPUs, 4 GiB, four virtiofs shares, /var on var.img, one
# tap with a queue pair per vCPU, control.socket; no --ksm (RAM is shared
# with virtiofsd), no store disk (the host store is a share).
check_argv post "$AV" --cpus 8 --mem 4096 --kernel "$KERNEL" --initrd "$INITRD" \
	--cmdline "$CMDLINE" \
	--disk var.img \
	--fs tag=ro-store,socket=agent-virtiofs-ro-store.sock \
	--fs tag=ssh-keys,socket=agent-virtiofs-ssh-keys.sock \
	--fs tag=claude-credentials,socket=agent-virtiofs-claude-credentials.sock \
	--fs tag=workspace,socket=agent-virtiofs-workspace.sock \
	--api-socket control.socket \
	--net tap=microvm4,mac=02:00:00:00:00:05,queues=8
check_text post.preStart ""
check_text post.shutdownCommand \
	"$AV ctl control.socket shutdown --timeout-ms 120000 || $AV ctl control.socket kill
$S-util-linux-2.40.2-bin/bin/waitpid \$MAINPID"
check_json post.supportsNotifySocket false
check_json post.tapMultiQueue true
check_json post.canShutdown true
check_json post.requiresMacvtapAsFds true
check_text post.setBalloonScript "$AV ctl control.socket balloon \"\$SIZE\""
check_json post.getConsoleScript null
# everything the runner returns evaluates (the stub's balloonMem throws if read)
if inst "$here/cases.nix" -A post >/dev/null 2>"$tmp/err"; then
	ok "post: the whole result evaluates"
else
	fail "post: $(cat "$tmp/err")"
fi

# vsock notify, a credential, a macvtap (fds 3 4: two queue pairs) and a tap,
# the store disk first, a read-only O_DIRECT volume, microvm.agentvmm.*
AVDEV=$S-agentvmm-dev/bin/agentvmm
check_argv notify "$AVDEV" --cpus 2 --mem 512 --kernel "$KERNEL" --initrd "$INITRD" \
	--cmdline "$CMDLINE" \
	--ksm \
	--vsock cid=4,socket=notify.vsock \
	--oem-string "io.systemd.credential:APIKEY=secret value" \
	--oem-string io.systemd.credential:vmm.notify_socket=vsock-stream:2:8888 \
	--load-credential "SOPS_AGE_KEY:/run/secrets/age key" \
	--disk "$S-microvm-store-disk.erofs,ro" \
	--disk /var/lib/microvms/agent/data.img,ro,direct \
	--api-socket agent.sock \
	--net fd=3:4,mac=02:00:00:00:00:06 \
	--net tap=vm-tap,mac=02:00:00:00:00:07,queues=2 \
	--console-log --shutdown-timeout 20
check_text notify.preStart "echo starting
# notify sockets left by an agentvmm that did not exit cleanly
rm -f notify.vsock notify.vsock_8888

# The guest's systemd connects to host port 8888, which agentvmm's hybrid
# vsock connects to notify.vsock_8888 (agentvmm's docs/vsock.md); forward it to
# systemd's NOTIFY_SOCKET. -t0 -T0.2 as in the cloud-hypervisor runner:
# agentvmm propagates the guest's half-close, so socat ends at once.
if [ -n \"\${NOTIFY_SOCKET:-}\" ]; then
  $S-socat-1.8.0.1/bin/socat -t0 -T0.2 UNIX-LISTEN:notify.vsock_8888,fork UNIX-SENDTO:\$NOTIFY_SOCKET &
fi"
check_text notify.shutdownCommand \
	"$AVDEV ctl agent.sock shutdown --timeout-ms 120000 || $AVDEV ctl agent.sock kill
$S-util-linux-2.40.2-bin/bin/waitpid \$MAINPID"
check_json notify.supportsNotifySocket true
check_json notify.tapMultiQueue true

# every option at its default: one vCPU (one queue pair, no multi_queue),
# 512 MiB, the store disk, KSM, the default socket NAME.sock
check_argv defaults "$AV" --cpus 1 --mem 512 --kernel "$KERNEL" --initrd "$INITRD" \
	--cmdline "$CMDLINE" --ksm --disk "$S-microvm-store-disk.erofs,ro" --api-socket agent.sock
check_json defaults.tapMultiQueue false
check_json defaults.supportsNotifySocket false
check_argv nosocket "$AV" --cpus 1 --mem 512 --kernel "$KERNEL" --initrd "$INITRD" \
	--cmdline "$CMDLINE" --ksm --disk "$S-microvm-store-disk.erofs,ro"
check_json nosocket.canShutdown false
check_json nosocket.setBalloonScript null
check_argv balloon "$AV" --cpus 1 --mem 512 --kernel "$KERNEL" --initrd "$INITRD" \
	--cmdline "$CMDLINE" --ksm --disk "$S-microvm-store-disk.erofs,ro" \
	--balloon reporting=on,deflate-on-oom=off --api-socket agent.sock
check_argv manycpus "$AV" --cpus 20 --mem 512 --kernel "$KERNEL" --initrd "$INITRD" \
	--cmdline "$CMDLINE" --ksm --disk "$S-microvm-store-disk.erofs,ro" --api-socket agent.sock \
	--net fd=3:4:5:6:7:8:9:10:11:12:13:14:15:16:17:18,mac=02:00:00:00:00:06 \
	--net tap=vm-tap,mac=02:00:00:00:00:07,queues=16

# runner-argv.sh (tests/e2e/microvm-post.sh): the post's argv with real paths
want_s=$(printf '%s\n' /opt/av/agentvmm --cpus 8 --mem 4096 --kernel /k/vmlinux --initrd /w/initrd.cpio \
	--cmdline "earlyprintk=ttyS0 console=ttyS0 reboot=a panic=-1 init=/nix/store/x-sys/init" \
	--disk /w/var.img --fs tag=ro-store,socket=agent-virtiofs-ro-store.sock \
	--fs tag=ssh-keys,socket=agent-virtiofs-ssh-keys.sock \
	--fs tag=claude-credentials,socket=agent-virtiofs-claude-credentials.sock \
	--fs tag=workspace,socket=agent-virtiofs-workspace.sock --api-socket control.socket \
	--net tap=microvm4,mac=02:00:00:00:00:05,queues=8)
got_s=$("$here/runner-argv.sh" post /opt/av/agentvmm /k/vmlinux /w/initrd.cpio /nix/store/x-sys/init \
	/w/var.img 2>&1)
if [ "$got_s" = "$want_s" ]; then ok "runner-argv.sh post"; else fail "runner-argv.sh post: $got_s"; fi
want_s="/opt/av/agentvmm ctl control.socket shutdown --timeout-ms 120000 || /opt/av/agentvmm ctl control.socket kill
waitpid \$MAINPID"
got_s=$("$here/runner-argv.sh" shutdown /opt/av/agentvmm 2>&1)
if [ "$got_s" = "$want_s" ]; then ok "runner-argv.sh shutdown"; else fail "runner-argv.sh shutdown: $got_s"; fi

# --- refused options ----------------------------------------------------------
# check_refused CASE MESSAGE...: evaluating CASE's command fails with each line
check_refused() {
	local name=$1 m
	shift
	if inst "$here/cases.nix" -A "$name.command" >/dev/null 2>"$tmp/err"; then
		fail "$name: accepted"
		return
	fi
	for m in "$@"; do
		if ! grep -qF -- "$m" "$tmp/err"; then
			fail "$name: message '$m' not in: $(cat "$tmp/err")"
			return
		fi
	done
	ok "$name: $1"
}
check_refused refuse-system "agentvmm does not support aarch64-linux; it runs on x86_64-linux only"
check_refused refuse-cpu "agentvmm does not support microvm.cpu (CPU emulation); it runs the host's CPU under KVM: leave microvm.cpu = null"
check_refused refuse-user "agentvmm does not support microvm.user (changing user); run the microvm@ service as that user instead"
check_refused refuse-graphics "agentvmm does not support microvm.graphics (no GPU or display device); set microvm.graphics.enable = false"
check_refused refuse-devices "agentvmm does not support microvm.devices (PCI/USB passthrough); remove them"
check_refused refuse-hotplug "agentvmm does not support microvm.hotplugMem (no virtio-mem); set it to 0 and size microvm.mem instead"
check_refused refuse-balloon-initial "agentvmm does not support microvm.initialBalloonMem (its balloon starts empty); set it to 0 and size the balloon with microvm-balloon once the VM runs"
check_refused refuse-hugepages "agentvmm does not support microvm.hugepageMem (hugetlbfs RAM; agentvmm asks for transparent huge pages instead); set it to false"
check_refused refuse-forwardports "agentvmm does not support microvm.forwardPorts (it needs user networking); use a tap interface"
check_refused refuse-9p "agentvmm does not support 9p shares (share data); set proto = \"virtiofs\""
check_refused refuse-share-comma "agentvmm does not support a comma in a share's tag or socket (share a,b; --fs tag=T,socket=S); rename it"
check_refused refuse-user-net "agentvmm does not support interface type user (interface qemu); use type = \"tap\" or \"macvtap\""
check_refused refuse-bridge "agentvmm does not support interface type bridge (interface vm-br); use type = \"tap\" or \"macvtap\""
check_refused refuse-vhost "agentvmm does not support tap.vhost (vhost-net) (interface microvm4); set it to false"
check_refused refuse-serial "agentvmm does not support volume serial numbers (volume var.img); set serial = null and mount by label or /dev/vdX"
check_refused refuse-qcow2 "agentvmm does not support imageType = \"qcow2\" (volume var.qcow2); only raw images"
check_refused refuse-disk-comma "agentvmm does not support a comma in a --disk path (volume a,b.img); rename the image"
check_refused refuse-credential "agentvmm does not support credential name \"A:B\" (--load-credential NAME:PATH; not . or .., no ':', '=' or '/')"
check_refused refuse-two "agentvmm does not support microvm.hotplugMem" "agentvmm does not support microvm.hugepageMem"

# --- the patch carries the same runner ------------------------------------------
# the added lines of lib/runners/agentvmm.nix, without their "+"
sed -n '\|^+++ b/lib/runners/agentvmm.nix$|,\|^diff --git |p' "$patch" |
	sed -n 's/^+//p' | sed '1d' >"$tmp/patch-runner.nix"
if cmp -s "$tmp/patch-runner.nix" "$runner"; then
	ok "the patch's lib/runners/agentvmm.nix is contrib/microvm-nix/agentvmm.nix"
else
	fail "the patch's runner differs from contrib/microvm-nix/agentvmm.nix (tests/nix/dev-check.sh --update-patch)"
fi

# --- package, overlay, default.nix, flake ---------------------------------------
mods=$(grep -rhoE 'pkg_check_modules\([A-Z_]+ REQUIRED IMPORTED_TARGET [a-z0-9]+' \
	--include=CMakeLists.txt "$root" --exclude-dir='build*' | awk '{print $4}' | sort -u | tr '\n' ' ')
subs=$(grep -hoE '^add_subdirectory\([a-z-]+' "$root/CMakeLists.txt" | cut -d'(' -f2 | tr '\n' ' ')
if out=$(inst "$here/package-check.nix" --argstr cmakeModules "$mods" --argstr cmakeSubdirs "$subs" \
	2>"$tmp/err"); then
	case $out in
	*'"failures":[]'*) ok "package, overlay, default.nix, flake: $out (pkg-config: $mods)" ;;
	*) fail "package-check: $out" ;;
	esac
else
	fail "package-check: $(cat "$tmp/err")"
fi

if [ $fails -gt 0 ]; then
	echo "test_runner: $fails failed"
	exit 1
fi
echo "test_runner: all passed"
