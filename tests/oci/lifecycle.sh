#!/bin/bash
# SPDX-License-Identifier: MIT
# lifecycle.sh [--runtime-kind runc|agentvmm] [--only CASE[,CASE...]] [--list] [RUNTIME_BINARY]
#
# End-to-end cases for an OCI runtime binary driven by containerd 1.6's runc
# shim (`ctr run --runtime io.containerd.runc.v2 --runc-binary RUNTIME`), in a
# private containerd (ctrlib.sh) with the busybox image of mkimage.sh. The
# same cases pass with runc (--runtime-kind runc, the default when the
# binary's name is runc), so a failure with agentvmm-oci is the runtime's.
#
# One line per case, "PASS name", "FAIL name: reason" or "SKIP name: reason",
# then "lifecycle: N passed, N failed, N skipped". Exit 0 when nothing
# failed, 1 otherwise, 2 on a usage error or when the set-up (containerd,
# image) failed. Containers, tasks, containerd and its shims are removed on
# every exit (ctrlib.sh's traps).
#
# Cases (--list prints them):
#   exit-stdio      run --rm: exit status 3, stdout exactly "o", stderr exactly "e"
#   stdin           `echo hi | ctr run --rm ... cat` prints "hi"
#   tty             run --rm -t under script(1): `tty` names a terminal, `stty size`
#                   shows the 40x100 of ctr's terminal
#   detached        run -d; exec status 7; exec stdout; task ps; pause -> PAUSED,
#                   resume -> RUNNING; kill (SIGTERM, trapped: exit 42) -> task
#                   delete reports 42; container delete
#   kill-created    the runtime called directly on a bundle: create, state
#                   "created", kill 9 in the created state, state "stopped",
#                   delete; nothing left (ctr cannot stop between create and start)
#   delete-force    run -d; task delete --force of the running task: no shim, no
#                   container process, no new runtime process, no mount under the
#                   bundle or the runtime's state dir, nothing named ID or ID.* in
#                   the state dir (--root), no bundle, no cgroup
#   hostname        spec hostname (ctr run --config: ctr 1.6 has no --hostname)
#   user            spec process.user 1000:1000 (--config: ctr 1.6 has no --user): id
#   env, cwd        --env A=b (and the image's PATH), --cwd /tmp
#   readonly        --read-only: touch /x fails
#   masked          /proc/kcore reads empty (maskedPaths)
#   proc-sys-ro     writing /proc/sys/kernel/domainname fails (readonlyPaths)
#   rlimit          ulimit -n and -Hn are 1024 (ctr's default RLIMIT_NOFILE)
#   bind            --mount type=bind,...,options=rbind:rw: a host file is seen,
#                   a file written in the container appears on the host
#   unsupported     a spec the runtime refuses (default: uidMappings/gidMappings and
#                   a user namespace, via --config) fails with OCI_UNSUPPORTED_MSG
#                   in ctr's error; SKIP for runc
#   podnet          a pod network namespace (veth eth0 10.199.0.2/24 to a peer
#                   namespace, --with-ns): the container pings the peer, the
#                   peer pings the pod IP while a detached container runs
#   sandbox         --annotation io.kubernetes.cri.container-type=sandbox: runs
#                   with no VM (no api.sock in its state), SIGTERM ends it; SKIP for runc
#
# Environment:
#   AV_OCI_RUNTIME     RUNTIME_BINARY when none is given (tests/e2e/guests.sh runs
#                      programs without arguments; testhost.sh passes AV_* on)
#   OCI_CASE_TIMEOUT   seconds for each ctr/runtime command (default 180: guests
#                      boot slowly in the nested test host)
#   OCI_SKIP           case names to skip (space or comma separated)
#   OCI_PROC_PATTERN   ERE matched against a process's command line (words
#                      joined by spaces) to find the runtime's processes left
#                      after delete (default: argv[0]'s base name is the
#                      runtime's, or with --runtime-kind agentvmm also agentvmm
#                      or virtiofsd); only processes new since the case began count
#   OCI_UNSUPPORTED_ARGS  ctr run flags the runtime must refuse, instead of the
#                      uidMappings spec (not --uidmap: with it ctr 1.6 drops
#                      --runc-binary and the shim runs plain runc)
#   OCI_UNSUPPORTED_MSG   text ctr's error must hold (default "user namespace
#                      mappings are not supported")
#   OCI_STATE          1 (default): kill-created checks `state`; 0: it does not
#   OCI_IMAGE_TAR      an image archive to use instead of building one
#   OCI_KEEP_LOGS      a directory: the work files (each command's stdout and
#                      stderr, specs, the direct bundle's log.json, containerd's
#                      log) are copied there at the end
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=ctrlib.sh
. "$here/ctrlib.sh"

ALL_CASES="exit-stdio stdin tty detached kill-created delete-force hostname user env cwd
readonly masked proc-sys-ro rlimit bind unsupported podnet sandbox"
T=${OCI_CASE_TIMEOUT:-180}
RT='' KIND='' ONLY='' W=''
npass=0 nfail=0 nskip=0
rc=0 why=
CASE_IDS=()

usage() {
	echo "usage: tests/oci/lifecycle.sh [--runtime-kind runc|agentvmm] [--only CASE[,CASE...]]" \
		"[--list] [RUNTIME_BINARY]" >&2
	exit 2
}

# ---- helpers -----------------------------------------------------------------

# tctr ARGS...: ctr with the case time limit
tctr() { timeout -k 10 "$T" ctr -a "$CTR_SOCK" -n "$CTR_NS" "$@"; }

# cap NAME CMD...: run CMD with stdin from CAP_IN (default /dev/null); stdout
# in $W/NAME.out, stderr in $W/NAME.err, exit status in rc
cap() {
	local n=$1
	shift
	rc=0
	"$@" <"${CAP_IN:-/dev/null}" >"$W/$n.out" 2>"$W/$n.err" || rc=$?
}

# out NAME / err NAME: what the command printed, CRs removed
out() { tr -d '\r' <"$W/$1.out"; }
err() { tr -d '\r' <"$W/$1.err"; }

# brief NAME: the last line of NAME's stderr (for a reason)
brief() {
	local l
	l=$(err "$1" | grep -v '^\s*$' | tail -n 1)
	[ -z "$l" ] || echo "; stderr: ${l:0:300}"
}

# bad TEXT: fail the case with reason TEXT
bad() {
	why=$1
	return 1
}

# want_rc NAME N: the command's status was N
want_rc() {
	[ "$rc" = "$2" ] || bad "$1: exit status $rc, want $2$(brief "$1")"
}

# val NAME KEY: the value of a line KEY=VALUE in NAME's stdout
val() { out "$1" | sed -n "s/^$2=//p" | head -n 1; }

# want_val NAME KEY VALUE
want_val() {
	local v
	v=$(val "$1" "$2")
	[ "$v" = "$3" ] || bad "$1: $2 is '$v', want '$3'$(brief "$1")"
}

# crun NAME ID [FLAGS...] -- CMD...: ctr run --rm with the runtime
crun() {
	local n=$1 id=$2 flags=()
	shift 2
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		flags+=("$1")
		shift
	done
	shift
	CASE_IDS+=("$id")
	cap "$n" tctr run --rm "${CTR_RT[@]}" "${flags[@]}" "$CTR_IMAGE" "$id" "$@"
}

# drop ID...: remove whatever is left of these containers
drop() {
	local id
	for id in "$@"; do
		timeout 30 ctr -a "$CTR_SOCK" -n "$CTR_NS" task kill -a -s SIGKILL "$id" \
			>/dev/null 2>&1 || true
		timeout 60 ctr -a "$CTR_SOCK" -n "$CTR_NS" task delete -f "$id" >/dev/null 2>&1 || true
		timeout 30 ctr -a "$CTR_SOCK" -n "$CTR_NS" container delete "$id" >/dev/null 2>&1 ||
			true
	done
}

# task_status ID: STATUS column of `ctr task ls` for ID
task_status() { ctrx task ls 2>/dev/null | awk -v id="$1" '$1 == id { print $3 }'; }

# task_pid ID: PID column of `ctr task ls` for ID
task_pid() { ctrx task ls 2>/dev/null | awk -v id="$1" '$1 == id { print $2 }'; }

# wait_status ID STATUS: poll `ctr task ls` up to 30 s for STATUS
wait_status() {
	local i
	for ((i = 0; i < 300; i++)); do
		[ "$(task_status "$1")" = "$2" ] && return 0
		sleep 0.1
	done
	return 1
}

# spec_file NAME ID [SED-EXPR...]: ctr's default spec (`ctr oci spec`) for
# container ID, edited by the sed expressions, in $W/NAME.json; prints the path
spec_file() {
	local f=$W/$1.json id=$2 e
	shift 2
	ctrx oci spec >"$f"
	sed -i "s|\"cgroupsPath\": \"/$CTR_NS\"|\"cgroupsPath\": \"/$CTR_NS/$id\"|" "$f"
	for e in "$@"; do
		sed -i "$e" "$f"
	done
	echo "$f"
}

# sx_args JSON-ARRAY: a spec_file expression setting process.args (and env PATH)
sx_args() {
	printf '%s' "s|^    \"process\": {|&\\n        \"args\": $1,\\n        \"env\": [\"PATH=/bin\"],|"
}

# sx_root DIR: a spec_file expression setting root.path
sx_root() { printf 's|"path": "rootfs"|"path": "%s"|' "$1"; }

# proc_list: "PID CMDLINE" of every process whose command line matches the
# runtime's pattern
proc_list() {
	local p cl
	for p in /proc/[0-9]*; do
		ctr_cmdline "${p#/proc/}" || continue
		cl=${CTR_CMDLINE% }
		if [ -n "${OCI_PROC_PATTERN:-}" ]; then
			[[ $cl =~ $OCI_PROC_PATTERN ]] || continue
		else
			local a0=${cl%% *}
			a0=${a0##*/}
			case $a0 in
			"${RT##*/}") ;;
			agentvmm | virtiofsd) [ "$KIND" = agentvmm ] || continue ;;
			*) continue ;;
			esac
		fi
		echo "${p#/proc/} $cl"
	done
	return 0
}

# new_procs BEFORE_FILE: the matching processes not in BEFORE_FILE (polls up
# to 15 s for them to go)
new_procs() {
	local i left
	for ((i = 0; i < 150; i++)); do
		left=$(proc_list | awk -v f="$1" 'BEGIN {
			while ((getline l < f) > 0) { split(l, a, " "); old[a[1]] = 1 } }
			!($1 in old)')
		[ -z "$left" ] && return 0
		sleep 0.1
	done
	echo "$left"
}

# mounts_under DIR: mount points under DIR in containerd's and this namespace
mounts_under() {
	{
		ctr_mountinfo
		cat /proc/self/mountinfo
	} | awk -v d="$1" '$5 == d || index($5, d "/") == 1 { print $5 }' | sort -u
}

# shims_of ID: pids of this containerd's shim processes for container ID
shims_of() {
	local p
	for p in $(ctr_shims); do
		ctr_cmdline "$p" && [[ $CTR_CMDLINE == *" -id $1 "* ]] && echo "$p"
	done
	return 0
}

# state_left ROOT ID: what is left of ID in the runtime's state dir ROOT
# (ROOT/ID, and files such as ROOT/ID.lock)
state_left() {
	local f
	for f in "$1/$2" "$1/$2".*; do
		[ -e "$f" ] || [ -L "$f" ] && echo "$f"
	done
	return 0
}

# pid_alive PID: the process exists and is not a zombie
pid_alive() {
	local s
	read -r s 2>/dev/null <"/proc/$1/stat" || return 1
	s=${s##*) } # the state follows the command name, which may hold spaces
	[ "${s%% *}" != Z ]
}

# ---- cases -------------------------------------------------------------------

case_exit_stdio() {
	crun c1 c1 -- sh -c 'echo o; echo e >&2; exit 3'
	want_rc c1 3 || return 1
	[ "$(out c1)" = o ] || bad "stdout is '$(out c1 | head -c 200)', want 'o'" || return 1
	[ "$(err c1)" = e ] || bad "stderr is '$(err c1 | head -c 200)', want 'e'"
}

# feed TEXT ID: print TEXT, then hold the pipe open until task ID runs (ctr
# 1.6 closes the task's stdin at EOF only once the task exists: an EOF that
# comes earlier is lost and `cat` waits for ever)
feed() {
	local i
	printf '%s\n' "$1"
	for ((i = 0; i < T * 10; i++)); do
		case $(task_status "$2") in RUNNING | STOPPED) break ;; esac
		sleep 0.1
	done
}

case_stdin() {
	CASE_IDS+=(stdin)
	rc=0
	feed hi stdin | tctr run --rm "${CTR_RT[@]}" "$CTR_IMAGE" stdin cat >"$W/stdin.out" \
		2>"$W/stdin.err" || rc=$?
	want_rc stdin 0 || return 1
	[ "$(out stdin)" = hi ] || bad "stdout is '$(out stdin | head -c 200)', want 'hi'"
}

# shellcheck disable=SC2016 # for the container's shell
TTY_SCRIPT='i=0; while [ $i -lt 100 ]; do s=$(stty size 2>/dev/null)
	case $s in [1-9]*" "[1-9]*) break ;; esac; sleep 0.1; i=$((i + 1)); done
	echo "tty=$(tty)"; echo "size=$s"; exit 5'

case_tty() {
	local cmd
	command -v script >/dev/null || bad "script(1) not found (util-linux)" || return 1
	# ctr resizes the container's terminal only after start: wait up to 10 s
	# for a size (busybox's stty prints an error for a 0x0 terminal)
	cmd=$(printf '%q ' timeout -k 10 "$T" ctr -a "$CTR_SOCK" -n "$CTR_NS" run --rm -t \
		"${CTR_RT[@]}" "$CTR_IMAGE" tty sh -c "$TTY_SCRIPT")
	CASE_IDS+=(tty)
	# script(1) runs the command with $SHELL -c (bash: printf %q quoting), its
	# stdin open until the end: at EOF it would send the
	# terminal's EOF character into the container's terminal
	mkfifo "$W/tty.in"
	sleep $((T + 20)) >"$W/tty.in" &
	CAP_IN=$W/tty.in SHELL=/bin/bash cap tty script -qec "stty rows 40 cols 100; $cmd" /dev/null
	kill $! 2>/dev/null
	wait $! 2>/dev/null
	# script(1) merges everything into its stdout
	if ! want_rc tty 5; then
		why="$why; output: $(out tty | tail -n 2 | tr '\n' ' ' | head -c 300)"
		return 1
	fi
	val tty tty | grep -Eq '^/dev/(pts/[0-9]+|console|tty[A-Za-z0-9]*|hvc[0-9]+)$' ||
		bad "tty printed '$(val tty tty)', want a terminal" || return 1
	want_val tty size "40 100"
}

case_detached() {
	local id=det st
	CASE_IDS+=("$id")
	cap det-run tctr run -d "${CTR_RT[@]}" "$CTR_IMAGE" "$id" \
		sh -c 'trap "exit 42" TERM; sleep 1000 & wait'
	want_rc det-run 0 || return 1
	wait_status "$id" RUNNING || bad "task status '$(task_status $id)', want RUNNING" || return 1
	cap det-exec7 tctr task exec "${CTR_FIFO[@]}" --exec-id e1 "$id" sh -c 'exit 7'
	want_rc det-exec7 7 || return 1
	cap det-exec-out tctr task exec "${CTR_FIFO[@]}" --exec-id e2 "$id" sh -c 'echo hello'
	want_rc det-exec-out 0 || return 1
	[ "$(out det-exec-out)" = hello ] ||
		bad "exec stdout is '$(out det-exec-out | head -c 200)', want 'hello'" || return 1
	cap det-ps tctr task ps "$id"
	want_rc det-ps 0 || return 1
	[ "$(out det-ps | awk 'NR > 1 && $1 ~ /^[0-9]+$/' | wc -l)" -ge 1 ] ||
		bad "task ps lists no process: '$(out det-ps | head -c 200)'" || return 1
	cap det-pause tctr task pause "$id"
	want_rc det-pause 0 || return 1
	wait_status "$id" PAUSED || bad "after pause: status '$(task_status $id)', want PAUSED" ||
		return 1
	cap det-resume tctr task resume "$id"
	want_rc det-resume 0 || return 1
	wait_status "$id" RUNNING ||
		bad "after resume: status '$(task_status $id)', want RUNNING" || return 1
	cap det-kill tctr task kill "$id"
	want_rc det-kill 0 || return 1
	wait_status "$id" STOPPED || bad "after kill: status '$(task_status $id)', want STOPPED" ||
		return 1
	# ctr 1.6 task delete exits 0 and logs a non-zero exit status
	cap det-delete tctr task delete "$id"
	want_rc det-delete 0 || return 1
	err det-delete | grep -q "exit with non-zero exit code 42" ||
		bad "task delete did not report exit status 42$(brief det-delete)" || return 1
	cap det-cdelete tctr container delete "$id"
	want_rc det-cdelete 0 || return 1
	st=$(ctrx container ls -q | grep -cx "$id" || true)
	[ "$st" = 0 ] || bad "container $id still listed after delete"
}

# rt NAME ARGS...: call the runtime directly as the shim does (in containerd's
# mount namespace, global flags first)
rt() {
	local n=$1
	shift
	cap "$n" timeout -k 10 "$T" nsenter -t "$CTR_PID" -m -- "$RT" --root "$W/direct-root" \
		--log "$W/kc-bundle/log.json" --log-format json "$@"
}

# make_bundle DIR ID: config.json from ctr's spec, the image's rootfs
make_bundle() {
	local b=$1 id=$2
	mkdir -p "$b" "$W/direct-root"
	cp -a "$(rootfs_dir)" "$b/rootfs"
	spec_file kc-spec "$id" "$(sx_args '["sleep", "1000"]')" >/dev/null
	cp "$W/kc-spec.json" "$b/config.json"
}

case_kill_created() {
	local id=kc b=$W/kc-bundle pid i st
	make_bundle "$b" "$id" || bad "could not make the bundle" || return 1
	rt kc-create create --bundle "$b" --pid-file "$b/init.pid" "$id"
	want_rc kc-create 0 || { why="$why; log: $(tail -c 300 "$b/log.json" 2>/dev/null)"; return 1; }
	pid=$(cat "$b/init.pid" 2>/dev/null) || bad "create wrote no pid file" || return 1
	pid_alive "$pid" || bad "the pid-file's process $pid is not running after create" ||
		return 1
	if [ "${OCI_STATE:-1}" = 1 ]; then
		rt kc-state1 state "$id"
		want_rc kc-state1 0 || return 1
		out kc-state1 | grep -q '"status": *"created"' ||
			bad "state after create: $(out kc-state1 | tr -d '\n ' | head -c 200)" ||
			return 1
	fi
	rt kc-kill kill "$id" 9
	want_rc kc-kill 0 || return 1
	for ((i = 0; i < 150; i++)); do
		pid_alive "$pid" || break
		sleep 0.1
	done
	! pid_alive "$pid" || bad "process $pid still alive 15 s after kill 9" || return 1
	if [ "${OCI_STATE:-1}" = 1 ]; then
		rt kc-state2 state "$id"
		want_rc kc-state2 0 || return 1
		out kc-state2 | grep -q '"status": *"stopped"' ||
			bad "state after kill: $(out kc-state2 | tr -d '\n ' | head -c 200)" ||
			return 1
	fi
	rt kc-delete delete "$id"
	want_rc kc-delete 0 || return 1
	st=$(state_left "$W/direct-root" "$id")
	[ -z "$st" ] || bad "state left after delete: $st" || return 1
	st=$(mounts_under "$b")
	[ -z "$st" ] || bad "mounts left under the bundle: $st" || return 1
	st=$(mounts_under "$W/direct-root")
	[ -z "$st" ] || bad "mounts left under the state dir: $st" || return 1
	rt kc-state3 state "$id"
	[ "$rc" != 0 ] || bad "state of the deleted container succeeded"
}

case_delete_force() {
	local id=df before=$W/df-procs pid shim st bundle state i
	proc_list >"$before"
	CASE_IDS+=("$id")
	cap df-run tctr run -d "${CTR_RT[@]}" "$CTR_IMAGE" "$id" sleep 1000
	want_rc df-run 0 || return 1
	wait_status "$id" RUNNING || bad "task status '$(task_status $id)', want RUNNING" || return 1
	pid=$(task_pid "$id")
	shim=$(shims_of "$id")
	bundle=$CTR_DIR/state/io.containerd.runtime.v2.task/$CTR_NS/$id
	state=$(ctr_rt_state)/$id
	[ -d "$state" ] || bad "no runtime state dir $state while running" || return 1
	cap df-delete tctr task delete --force "$id"
	[ "$rc" = 0 ] || [ "$rc" = 137 ] || bad "df-delete: exit status $rc$(brief df-delete)" || return 1
	cap df-cdelete tctr container delete "$id"
	want_rc df-cdelete 0 || return 1
	# the shim exits, then containerd runs the shim binary once more
	# (`... -id ID delete`, which calls the runtime's delete --force)
	for ((i = 0; i < 150; i++)); do
		[ -z "$(shims_of "$id")" ] && { [ -z "$pid" ] || ! pid_alive "$pid"; } && break
		sleep 0.1
	done
	st=$(shims_of "$id")
	[ -z "$st" ] || bad "shim process(es) $st still running (15 s)" || return 1
	[ -z "$pid" ] || ! pid_alive "$pid" || bad "container process $pid still running" ||
		return 1
	[ -n "$shim" ] || bad "found no shim process for $id while it ran" || return 1
	sleep 1 # let whatever the last runtime call left behind show
	st=$(new_procs "$before")
	[ -z "$st" ] || bad "runtime processes left: $(echo "$st" | head -n 3 | tr '\n' ';')" ||
		return 1
	st=$(mounts_under "$bundle")
	[ -z "$st" ] || bad "mounts left under the bundle: $st" || return 1
	st=$(mounts_under "$state")
	[ -z "$st" ] || bad "mounts left under the state dir: $st" || return 1
	st=$(state_left "$(ctr_rt_state)" "$id")
	[ -z "$st" ] || bad "state left: $st" || return 1
	[ ! -e "$bundle" ] || bad "bundle $bundle left" || return 1
	st=$(ctr_cgroup_dirs | grep "/$CTR_NS/$id\$" || true)
	[ -z "$st" ] || bad "cgroup left: $st"
}

# rootfs_dir: the image's rootfs unpacked in $W/rootfs (once); prints it
rootfs_dir() {
	local layer
	if [ ! -d "$W/rootfs" ]; then
		mkdir -p "$W/rootfs"
		layer=$(tar -tf "$IMAGE_TAR" | grep '^./blobs/sha256/.' | while read -r f; do
			tar -xOf "$IMAGE_TAR" "$f" | gzip -t 2>/dev/null && echo "$f"
		done | head -n 1)
		tar -xOf "$IMAGE_TAR" "$layer" | tar -xz -C "$W/rootfs"
	fi
	echo "$W/rootfs"
}

# The in-container checks share a few containers: each runs once (cached).
# hostname and user come from a whole spec (ctr run --config ID: no image then,
# so the rootfs is the unpacked layer, root.path absolute)
run_cfg() {
	[ -e "$W/cfg.out" ] && return 0
	local f r
	r=$(rootfs_dir)
	# shellcheck disable=SC2016 # for the container's shell
	f=$(spec_file cfg-spec cfg "$(sx_root "$r")" \
		's|^    "ociVersion": .*$|&\n    "hostname": "agentvmm-h",|' \
		'/"user": {/,/}/{s|"uid": 0|"uid": 1000|;s|"gid": 0|"gid": 1000|}' \
		"$(sx_args '["sh", "-c", "echo host=$(hostname); echo id=$(id)"]')")
	if ! grep -q '"hostname": "agentvmm-h"' "$f" || ! grep -q '"uid": 1000' "$f" ||
		! grep -q "\"path\": \"$r\"" "$f"; then
		echo "could not edit ctr's spec" >"$W/cfg.err"
		: >"$W/cfg.out"
		rc=1
		return 0
	fi
	CASE_IDS+=(cfg)
	cap cfg tctr run --rm "${CTR_RT[@]}" --config "$f" cfg
}

case_hostname() {
	run_cfg
	want_rc cfg 0 && want_val cfg host agentvmm-h
}

case_user() {
	run_cfg
	want_rc cfg 0 || return 1
	val cfg id | grep -q '^uid=1000(user) gid=1000(user)' ||
		bad "id printed '$(val cfg id)', want uid=1000(user) gid=1000(user)"
}

run_envcwd() {
	[ -e "$W/envcwd.out" ] && return 0
	# shellcheck disable=SC2016 # for the container's shell
	crun envcwd envcwd --env A=b --cwd /tmp -- \
		sh -c 'echo "A=$A"; echo "PATH=$PATH"; echo "pwd=$(pwd)"'
}

case_env() {
	run_envcwd
	want_rc envcwd 0 && want_val envcwd A b &&
		want_val envcwd PATH /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
}

case_cwd() {
	run_envcwd
	want_rc envcwd 0 && want_val envcwd pwd /tmp
}

# want_nonzero NAME KEY WHAT: KEY=VALUE in NAME's stdout has a non-zero VALUE
want_nonzero() {
	local v
	v=$(val "$1" "$2")
	[ -n "$v" ] && [ "$v" != 0 ] || bad "$3: status '$v', want non-zero"
}

case_readonly() {
	crun ro ro --read-only -- sh -c 'touch /x 2>/dev/null; echo "touch=$?"'
	want_rc ro 0 && want_nonzero ro touch "touch /x on a read-only rootfs"
}

run_defaults() {
	[ -e "$W/defaults.out" ] && return 0
	# shellcheck disable=SC2016 # for the container's shell
	crun defaults defaults -- sh -c 'echo "kcore=$(cat /proc/kcore | wc -c)"
		(echo x >/proc/sys/kernel/domainname) 2>/dev/null; echo "sysw=$?"
		echo "nofile=$(ulimit -n)"; echo "nofileh=$(ulimit -Hn)"'
}

case_masked() {
	run_defaults
	want_rc defaults 0 && want_val defaults kcore 0
}

case_proc_sys_ro() {
	run_defaults
	want_rc defaults 0 && want_nonzero defaults sysw "writing /proc/sys/kernel/domainname"
}

case_rlimit() {
	run_defaults
	want_rc defaults 0 && want_val defaults nofile 1024 && want_val defaults nofileh 1024
}

case_bind() {
	local d=$W/bind-src
	mkdir -p "$d"
	echo from-host >"$d/f"
	# shellcheck disable=SC2016 # for the container's shell
	crun bind bind --mount "type=bind,src=$d,dst=/data,options=rbind:rw" -- \
		sh -c 'echo "f=$(cat /data/f)"; echo from-container >/data/g; echo "w=$?"'
	want_rc bind 0 && want_val bind f from-host && want_val bind w 0 || return 1
	[ "$(cat "$d/g" 2>/dev/null)" = from-container ] ||
		bad "/data/g written in the container is not on the host"
}

# A spec with user-namespace mappings, through ctr run --config: ctr's own
# --uidmap cannot serve, because with it ctr 1.6 sets the task's runc options
# (IoUid) and so drops --runc-binary: the shim then runs plain runc.
case_unsupported() {
	local msg=${OCI_UNSUPPORTED_MSG:-user namespace mappings are not supported} args f r m
	if [ -n "${OCI_UNSUPPORTED_ARGS:-}" ]; then
		read -ra args <<<"$OCI_UNSUPPORTED_ARGS"
		crun unsup unsup "${args[@]}" -- true
	else
		r=$(rootfs_dir)
		m='[{"containerID": 0, "hostID": 1000, "size": 65536}]'
		f=$(spec_file unsup-spec unsup "$(sx_root "$r")" "$(sx_args '["true"]')" \
			"s|^    \"linux\": {|&\\n        \"uidMappings\": $m,\\n        \"gidMappings\": $m,|" \
			's|^        "namespaces": \[|&\n            {"type": "user"},|')
		grep -q '"uidMappings"' "$f" && grep -q '"type": "user"' "$f" ||
			bad "could not edit ctr's spec" || return 1
		CASE_IDS+=(unsup)
		cap unsup tctr run --rm "${CTR_RT[@]}" --config "$f" unsup
	fi
	[ "$rc" != 0 ] || bad "the container ran; want a refusal" || return 1
	[ "$rc" != 124 ] && [ "$rc" != 137 ] || bad "timed out (status $rc)" || return 1
	err unsup | grep -qF -- "$msg" || bad "ctr's error lacks '$msg'$(brief unsup)"
}

# A pod's network namespace (made here, as CNI would: a veth eth0 with an
# address and a default route to a peer namespace): the container pings the
# peer, and the peer pings the pod IP while the container runs. Each
# namespace is held by a sleeping process; /proc/PID/ns/net reaches it from
# containerd's private mount namespace too.
case_podnet() {
	local pod peer ok=0
	unshare --net sleep 600 &
	pod=$!
	unshare --net sleep 600 &
	peer=$!
	sleep 0.3
	if ip link add eth0 netns "$pod" type veth peer name vpeer netns "$peer" &&
		nsenter -t "$pod" -n sh -c 'ip addr add 10.199.0.2/24 dev eth0 && ip link set eth0 up &&
			ip link set lo up && ip route add default via 10.199.0.1' &&
		nsenter -t "$peer" -n sh -c 'ip addr add 10.199.0.1/24 dev vpeer && ip link set vpeer up'; then
		ok=1
	fi
	if [ "$ok" = 1 ]; then
		crun podnet podnet --with-ns "network:/proc/$pod/ns/net" -- \
			/bin/busybox ping -c 2 -W 10 10.199.0.1
		want_rc podnet 0 || ok=0
	else
		bad "could not make the namespaces" || true
	fi
	if [ "$ok" = 1 ]; then
		CASE_IDS+=(podnet2)
		cap podnet2 tctr run -d "${CTR_RT[@]}" --with-ns "network:/proc/$pod/ns/net" \
			"$CTR_IMAGE" podnet2 sleep 600
		want_rc podnet2 0 || ok=0
	fi
	if [ "$ok" = 1 ]; then
		cap podnet-peer nsenter -t "$peer" -n busybox ping -c 2 -W 10 10.199.0.2
		want_rc podnet-peer 0 || ok=0
	fi
	kill "$pod" "$peer" 2>/dev/null
	wait "$pod" "$peer" 2>/dev/null
	[ "$ok" = 1 ]
}

# A pod's sandbox (pause) container: runs, but agentvmm-oci gives it no VM
# (no control socket in its state directory); SIGTERM ends it.
case_sandbox() {
	local sd
	CASE_IDS+=(sandbox)
	cap sandbox tctr run -d "${CTR_RT[@]}" \
		--annotation io.kubernetes.cri.container-type=sandbox "$CTR_IMAGE" sandbox sleep 600
	want_rc sandbox 0 || return 1
	wait_status sandbox RUNNING || bad "the sandbox is $(task_status sandbox), want RUNNING" ||
		return 1
	sd=$(ctr_rt_state)/sandbox
	[ -e "$sd/state.json" ] || bad "no state directory $sd" || return 1
	[ ! -e "$sd/api.sock" ] || bad "the sandbox container has a VM ($sd/api.sock)" || return 1
	cap sb-kill tctr task kill sandbox
	want_rc sb-kill 0 || return 1
	wait_status sandbox STOPPED || bad "after SIGTERM the sandbox is $(task_status sandbox)"
}

# skip_reason CASE: why CASE is skipped (empty: it runs)
skip_reason() {
	local skip=${OCI_SKIP:-}
	case " ${skip//,/ } " in
	*" $1 "*) echo "in OCI_SKIP"; return 0 ;;
	esac
	if [ "$1" = unsupported ] && [ "$KIND" = runc ]; then
		echo "runc supports user namespaces"
	fi
	if [ "$1" = sandbox ] && [ "$KIND" = runc ]; then
		echo "runc runs a sandbox container as any other"
	fi
}

# run_case CASE: run it and print its line
run_case() {
	local c=$1 fn s t0
	fn=case_${c//-/_}
	s=$(skip_reason "$c")
	if [ -n "$s" ]; then
		echo "SKIP $c: $s"
		nskip=$((nskip + 1))
		return 0
	fi
	why='' CASE_IDS=()
	t0=$(date +%s)
	if "$fn"; then
		echo "PASS $c ($(($(date +%s) - t0)) s)"
		npass=$((npass + 1))
	else
		echo "FAIL $c: ${why:-failed}"
		nfail=$((nfail + 1))
	fi
	[ ${#CASE_IDS[@]} -eq 0 ] || drop "${CASE_IDS[@]}"
}

ctr_cleanup_hook() {
	[ -n "${OCI_KEEP_LOGS:-}" ] && [ -n "$W" ] || return 0
	mkdir -p "$OCI_KEEP_LOGS"
	# regular files only: no rootfs trees, no FIFOs
	find "$W" -maxdepth 1 -type f -exec cp {} "$OCI_KEEP_LOGS"/ \; 2>/dev/null
	cp "$W/kc-bundle/log.json" "$OCI_KEEP_LOGS/kc-log.json" 2>/dev/null
	cp "$CTR_DIR/containerd.log" "$OCI_KEEP_LOGS/" 2>/dev/null
	return 0
}

main() {
	local c list=0
	while [ $# -gt 0 ]; do
		case $1 in
		--runtime-kind)
			case ${2:-} in runc | agentvmm) KIND=$2 ;; *) usage ;; esac
			shift 2 ;;
		--only) [ $# -ge 2 ] || usage; ONLY=${2//,/ }; shift 2 ;;
		--list) list=1; shift ;;
		-*) usage ;;
		*) break ;;
		esac
	done
	if [ "$list" = 1 ]; then
		tr -s ' \n' '\n' <<<"$ALL_CASES"
		exit 0
	fi
	[ $# -le 1 ] || usage
	set -- "${1:-${AV_OCI_RUNTIME:-}}"
	[ -n "$1" ] || usage
	RT=$(command -v "$1" 2>/dev/null) || { echo "lifecycle.sh: $1: not found" >&2; exit 2; }
	RT=$(realpath "$RT")
	[ -x "$RT" ] || { echo "lifecycle.sh: $RT: not executable" >&2; exit 2; }
	if [ -z "$KIND" ]; then
		case ${RT##*/} in runc) KIND=runc ;; *) KIND=agentvmm ;; esac
	fi
	for c in $ONLY; do
		[[ " ${ALL_CASES//$'\n'/ } " == *" $c "* ]] ||
			{ echo "lifecycle.sh: no case $c" >&2; exit 2; }
	done
	[[ $T =~ ^[1-9][0-9]*$ ]] || { echo "lifecycle.sh: OCI_CASE_TIMEOUT=$T" >&2; exit 2; }

	ctr_start || exit 2
	W=$CTR_DIR/work
	mkdir -p "$W"
	IMAGE_TAR=${OCI_IMAGE_TAR:-$W/image.tar}
	if [ -z "${OCI_IMAGE_TAR:-}" ]; then
		"$here/mkimage.sh" "$IMAGE_TAR" "$CTR_IMAGE" || exit 2
	fi
	ctr_import "$IMAGE_TAR" || exit 2
	ctr_rt_flags "$RT"
	echo "lifecycle: runtime $RT (kind $KIND)," \
		"containerd $(containerd --version | awk '{ print $3 }')," \
		"snapshotter $CTR_SNAPSHOTTER, cgroup $(stat -fc %T /sys/fs/cgroup), timeout ${T}s"
	for c in ${ONLY:-$ALL_CASES}; do
		run_case "$c"
	done
	echo "lifecycle: $npass passed, $nfail failed, $nskip skipped"
	[ "$nfail" = 0 ]
}

main "$@"
