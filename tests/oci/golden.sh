#!/bin/bash
# SPDX-License-Identifier: MIT
# golden.sh [--update] [--runc PATH]: the calls containerd 1.6's runc shim
# makes to an OCI runtime binary, checked against tests/oci/golden-calls.txt.
#
# A wrapper runtime (a shell script written into the temp dir) appends its
# argv, normalised, to a log and execs runc. A fixed scenario runs through
# ctr in a private containerd (ctrlib.sh): `run --rm`; `run --rm -t`; then
# `run -d`, `task exec`, `task ps`, `task pause`, `task resume`, `task exec
# -t`, `task kill` (SIGTERM), `task delete`, `container delete` (ctr -t runs
# under script(1), which gives it a terminal). The normalised log must equal
# golden-calls.txt (lines starting with # there are comments). agentvmm-oci
# answers these calls, so a containerd whose shim calls differently shows up
# here first. runc only: no KVM needed (CTest label "scripts").
#
# Normalised: the runtime's state dir (--root) -> <ROOT>, a bundle path ->
# <BUNDLE>, the shim's temp files /tmp/runc-processNNN -> <PROCESS-JSON>,
# a console socket dir /tmp/ptyNNN -> <PTY>. Container and exec IDs are the
# scenario's own (g1, g2, g3, e1, e2).
#
# --update rewrites golden-calls.txt from this run. Without root, containerd,
# ctr or runc it FAILs (exit 1): scripts/setup.sh installs them.
# Exit: 0 the calls match; 1 they differ or the scenario failed; 2 usage.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
GOLDEN=$here/golden-calls.txt
T=${OCI_CASE_TIMEOUT:-120}

fail() {
	echo "FAIL golden: $*"
	exit 1
}
usage() { echo "usage: tests/oci/golden.sh [--update] [--runc PATH]" >&2; exit 2; }

# write_wrapper FILE RUNC LOG: the logging runtime
write_wrapper() {
	cat >"$1" <<EOF
#!/bin/sh
# golden.sh's wrapper: log the argv (normalised), then run runc with it
printf '%s\n' "\$*" |
	sed -e 's|$CTR_DIR/state/io.containerd.runtime.v2.task/$CTR_NS/[A-Za-z0-9._-]*|<BUNDLE>|g' \\
	-e 's|$CTR_DIR/rt-root/$CTR_NS|<ROOT>|g' \\
	-e 's|/tmp/runc-process[0-9]*|<PROCESS-JSON>|g' -e 's|/tmp/pty[0-9]*|<PTY>|g' >>'$3'
printf '%s\n' "\$*" >>'$3.raw'
exec '$2' "\$@"
EOF
	chmod 0755 "$1"
}

# step WHAT CMD...: run a scenario step (stdin /dev/null, time limit T); fail
# with its output when it fails
step() {
	local what=$1 out
	shift
	out=$(timeout -k 10 "$T" "$@" </dev/null 2>&1) ||
		fail "$what failed (status $?): $(echo "$out" | tail -n 3 | tr '\n' ' ')"
}

# wait_status ID STATUS: poll `ctr task ls` up to 30 s
wait_status() {
	local i
	for ((i = 0; i < 300; i++)); do
		[ "$(ctrx task ls 2>/dev/null | awk -v id="$1" '$1 == id { print $3 }')" = "$2" ] &&
			return 0
		sleep 0.1
	done
	fail "task $1 did not reach $2"
}

scenario() {
	local c=(ctr -a "$CTR_SOCK" -n "$CTR_NS")
	step "run --rm" "${c[@]}" run --rm "${CTR_RT[@]}" "$CTR_IMAGE" g1 sh -c 'echo hi'
	# a terminal: ctr -t needs one on its stdin, script(1) provides it
	step "run --rm -t" script -qec "$(printf '%q ' "${c[@]}" run --rm -t "${CTR_RT[@]}" \
		"$CTR_IMAGE" g3 true)" /dev/null
	step "run -d" "${c[@]}" run -d "${CTR_RT[@]}" "$CTR_IMAGE" g2 \
		sh -c 'trap "exit 42" TERM; sleep 1000 & wait'
	wait_status g2 RUNNING
	step "task exec" "${c[@]}" task exec "${CTR_FIFO[@]}" --exec-id e1 g2 true
	step "task ps" "${c[@]}" task ps g2
	step "task pause" "${c[@]}" task pause g2
	wait_status g2 PAUSED
	step "task resume" "${c[@]}" task resume g2
	wait_status g2 RUNNING
	step "task exec -t" script -qec "$(printf '%q ' "${c[@]}" task exec -t "${CTR_FIFO[@]}" \
		--exec-id e2 g2 true)" /dev/null
	step "task kill" "${c[@]}" task kill g2
	wait_status g2 STOPPED
	step "task delete" "${c[@]}" task delete g2
	step "container delete" "${c[@]}" container delete g2
}

main() {
	local update=0 runc=${AV_RUNC:-runc} log
	while [ $# -gt 0 ]; do
		case $1 in
		--update) update=1; shift ;;
		--runc) [ $# -ge 2 ] || usage; runc=$2; shift 2 ;;
		*) usage ;;
		esac
	done
	[ "$(id -u)" = 0 ] || fail "needs root (it runs containerd)"
	command -v script >/dev/null || fail "script(1) not found (util-linux's bsdutils)"
	export SHELL=/bin/bash # script(1) runs its command with $SHELL -c: printf %q quoting
	runc=$(command -v "$runc") || fail "runc not found (install it: scripts/setup.sh)"
	# shellcheck source=ctrlib.sh
	. "$here/ctrlib.sh"
	ctr_start || fail "could not start containerd (see the lines above)"
	log=$CTR_DIR/calls.log
	write_wrapper "$CTR_DIR/runtime" "$runc" "$log"
	"$here/mkimage.sh" "$CTR_DIR/image.tar" "$CTR_IMAGE" || fail "mkimage.sh failed"
	ctr_import "$CTR_DIR/image.tar" || fail "image import failed"
	ctr_rt_flags "$CTR_DIR/runtime"
	scenario
	# the last calls for g2 come from the shim binary's cleanup run
	# (`containerd-shim-runc-v2 ... -id g2 delete`): wait for every shim to end
	local i
	for ((i = 0; i < 300; i++)); do
		[ -z "$(ctr_shims)" ] && break
		sleep 0.1
	done
	[ -z "$(ctr_shims)" ] || fail "shim processes still running 30 s after the scenario"
	if [ "$update" = 1 ]; then
		{
			echo "# The runc shim's calls to its runtime for tests/oci/golden.sh's scenario"
			echo "# (containerd $(containerd --version | awk '{ print $3 }')," \
				"written by golden.sh --update)."
			cat "$log"
		} >"$GOLDEN"
		echo "golden: wrote $GOLDEN ($(wc -l <"$log") calls)"
		return 0
	fi
	[ -r "$GOLDEN" ] || fail "$GOLDEN missing (golden.sh --update writes it)"
	if ! diff -u <(grep -v '^#' "$GOLDEN") "$log" >"$CTR_DIR/diff"; then
		echo "golden: the shim's calls differ from $GOLDEN (- expected, + this run):"
		cat "$CTR_DIR/diff"
		fail "call sequence changed"
	fi
	echo "PASS golden: $(wc -l <"$log") runtime calls as in golden-calls.txt"
}

main "$@"
