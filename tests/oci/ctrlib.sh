# SPDX-License-Identifier: MIT
# ctrlib.sh: a private containerd for the OCI tests (sourced by bash scripts,
# /work/shared/notes/oci.md "A private containerd for tests").
#
#   . tests/oci/ctrlib.sh
#   ctr_start                 # containerd in a temp dir; traps EXIT/INT/TERM
#   ctr_import IMAGE.tar      # ctr image import (unpacked for CTR_SNAPSHOTTER)
#   ctr_rt_flags RUNTIME      # fills the array CTR_RT: flags for `ctr run`
#   ctrx run "${CTR_RT[@]}" IMAGE ID CMD...     # ctr against this containerd
#   ctrx task exec "${CTR_FIFO[@]}" --exec-id e1 ID CMD...
#
# What it sets up, and why:
#  - Everything lives in CTR_DIR (mktemp under TMPDIR, default /tmp): root,
#    state, the gRPC socket, ctr's FIFOs (--fifo-dir; ctr's default is
#    /run/containerd/fifo) and the runtime's state (--runc-root; the runc
#    shim's default is /run/containerd/runc). /var/lib/containerd, /opt and
#    /run/containerd of the machine are never written.
#  - containerd runs in a private mount namespace whose /run is a tmpfs of
#    symlinks to the real /run's entries, with an empty /run/containerd: the
#    runc shim puts its socket in /run/containerd/s/ whatever the config says.
#    The shim, the runtime binary and their mounts (the rootfs overlays) live
#    in that namespace; ctr_mountinfo reads its mount table.
#  - A ctr namespace of its own (CTR_NS, avtest-PID), hence cgroups
#    /sys/fs/cgroup[/CONTROLLER]/avtest-PID/ID that cannot clash with another
#    run; cleanup removes them.
#  - Plugins not needed are disabled (CRI, /opt, the snapshotters that only
#    log errors here); the snapshotter is overlayfs, or native when containerd
#    could not load overlayfs (AV_CTR_SNAPSHOTTER forces one).
#  - cgroup2 must be mounted at /sys/fs/cgroup (a cgroup v1/hybrid tmpfs
#    there works with runc too); when no cgroup file system is mounted there at
#    all, cgroup2 is mounted.
#
# Cleanup (ctr_cleanup, run by the traps): kill -9 and delete every task,
# delete every container, stop containerd, kill every shim it started and
# every process below them or in the namespace's cgroups (found by pid, never
# by name), unmount what is left under CTR_DIR, remove the cgroups and
# CTR_DIR. A caller's own cleanup goes in the function ctr_cleanup_hook, if
# defined; it runs first.
#
# Needs root, containerd, ctr, unshare, nsenter. Failures print "ctrlib: ..."
# on stderr and return 1.

CTR_DIR='' CTR_SOCK='' CTR_PID='' CTR_NS='' CTR_SNAPSHOTTER=''
CTR_IMAGE=${CTR_IMAGE:-localhost/agentvmm-test:latest}
CTR_RT=() CTR_FIFO=()
CTR_START_TIMEOUT=${CTR_START_TIMEOUT:-30}

ctr_log() { echo "ctrlib: $*" >&2; }

# ctrx ARGS...: ctr against the private containerd, in its namespace
ctrx() { ctr -a "$CTR_SOCK" -n "$CTR_NS" "$@"; }

# ctr_check_host: root, the programs, cgroups and overlayfs
ctr_check_host() {
	local p fs
	[ "$(id -u)" = 0 ] || { ctr_log "needs root (containerd)"; return 1; }
	for p in containerd ctr containerd-shim-runc-v2 unshare nsenter pgrep; do
		command -v "$p" >/dev/null || {
			ctr_log "$p not found (install containerd: scripts/setup.sh)"
			return 1
		}
	done
	fs=$(stat -fc %T /sys/fs/cgroup 2>/dev/null) || fs=none
	case $fs in
	cgroup2fs) ;;
	tmpfs) # cgroup v1 or hybrid: runc copes; an OCI runtime may not
		[ -e /sys/fs/cgroup/cgroup.controllers ] ||
			ctr_log "note: /sys/fs/cgroup is cgroup v1/hybrid, not cgroup2" ;;
	*)
		mount -t cgroup2 cgroup2 /sys/fs/cgroup || {
			ctr_log "cannot mount cgroup2 at /sys/fs/cgroup"
			return 1
		}
		ctr_log "mounted cgroup2 at /sys/fs/cgroup" ;;
	esac
	grep -qw overlay /proc/filesystems || modprobe -q overlay 2>/dev/null || true
	return 0
}

# ctr_write_config: CTR_DIR/config.toml
ctr_write_config() {
	cat >"$CTR_DIR/config.toml" <<EOF
version = 2
root = "$CTR_DIR/root"
state = "$CTR_DIR/state"
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.internal.v1.opt",
  "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",
  "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs",
  "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]
[grpc]
  address = "$CTR_SOCK"
[ttrpc]
  address = "$CTR_SOCK.ttrpc"
[debug]
  level = "${AV_CTR_LOG_LEVEL:-info}"
EOF
}

# ctr_private_run DIR CMD...: run CMD with /run replaced as described above
# (runs inside `unshare -m`; mount -n: no /run/mount/utab on the machine)
# shellcheck disable=SC2016 # the script is for the inner sh
CTR_PRIVATE_RUN='set -e
d=$1
shift
mkdir -p "$d/hostrun"
mount -n --rbind /run "$d/hostrun"
mount -n -t tmpfs -o mode=0755 avtest-run /run
for e in "$d"/hostrun/* "$d"/hostrun/.[!.]*; do
	[ -e "$e" ] || [ -L "$e" ] || continue
	[ "${e##*/}" = containerd ] || ln -s "$e" "/run/${e##*/}"
done
mkdir -m 0711 /run/containerd
exec "$@"'

# ctr_start: start containerd and wait until it answers
ctr_start() {
	local i base=${TMPDIR:-/tmp}
	ctr_check_host || return 1
	case $(realpath -m "$base")/ in
	/run/*) base=/tmp ;; # hidden from containerd by its private /run
	esac
	CTR_DIR=$(mktemp -d "$base/avctr.XXXXXX") || return 1
	CTR_SOCK=$CTR_DIR/c.sock
	CTR_NS=avtest-$$
	trap ctr_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	mkdir -p "$CTR_DIR/fifo" "$CTR_DIR/rt-root"
	ctr_write_config
	unshare -m --propagation private -- /bin/sh -c "$CTR_PRIVATE_RUN" sh "$CTR_DIR" \
		containerd --config "$CTR_DIR/config.toml" >"$CTR_DIR/containerd.log" 2>&1 &
	CTR_PID=$!
	for ((i = 0; i < CTR_START_TIMEOUT * 10; i++)); do
		ctr -a "$CTR_SOCK" version >/dev/null 2>&1 && break
		kill -0 "$CTR_PID" 2>/dev/null || break
		sleep 0.1
	done
	if ! ctr -a "$CTR_SOCK" version >/dev/null 2>&1; then
		ctr_log "containerd did not answer within ${CTR_START_TIMEOUT}s; its log:"
		tail -n 20 "$CTR_DIR/containerd.log" >&2
		return 1
	fi
	ctr_pick_snapshotter
}

# ctr_pick_snapshotter: overlayfs if containerd loaded it, else native
ctr_pick_snapshotter() {
	if [ -n "${AV_CTR_SNAPSHOTTER:-}" ]; then
		CTR_SNAPSHOTTER=$AV_CTR_SNAPSHOTTER
	elif ctr -a "$CTR_SOCK" plugins ls 2>/dev/null |
		awk '$2 == "overlayfs" && $NF == "ok" { f = 1 } END { exit !f }'; then
		CTR_SNAPSHOTTER=overlayfs
	else
		CTR_SNAPSHOTTER=native
		ctr_log "overlayfs snapshotter unavailable, using native"
	fi
	export CONTAINERD_SNAPSHOTTER=$CTR_SNAPSHOTTER
}

# ctr_import IMAGE.tar: import and unpack the image (its name is in the archive)
ctr_import() {
	ctrx image import --snapshotter "$CTR_SNAPSHOTTER" "$1" >"$CTR_DIR/import.log" 2>&1 || {
		ctr_log "ctr image import $1 failed:"
		cat "$CTR_DIR/import.log" >&2
		return 1
	}
}

# ctr_rt_flags RUNTIME: CTR_RT = flags making `ctr run` use RUNTIME through the
# runc shim with state in CTR_DIR; CTR_FIFO = the FIFO flag for `ctr task
# exec`/`start`. The shim passes --root CTR_DIR/rt-root/CTR_NS to RUNTIME.
ctr_rt_flags() {
	CTR_FIFO=(--fifo-dir "$CTR_DIR/fifo")
	# shellcheck disable=SC2034 # for the caller
	CTR_RT=(--runtime io.containerd.runc.v2 --runc-binary "$1" --runc-root "$CTR_DIR/rt-root"
		--snapshotter "$CTR_SNAPSHOTTER" "${CTR_FIFO[@]}")
}

# ctr_rt_state: the state directory the shim gives the runtime (its --root)
ctr_rt_state() { echo "$CTR_DIR/rt-root/$CTR_NS"; }

# ctr_mountinfo: containerd's mount table (where the shim and runtime mount)
ctr_mountinfo() {
	if [ -n "$CTR_PID" ] && [ -r "/proc/$CTR_PID/mountinfo" ]; then
		cat "/proc/$CTR_PID/mountinfo"
	fi
}

# ctr_cmdline PID: CTR_CMDLINE = the process's argv joined by spaces, with a
# trailing space; status 1 for a process gone or without argv. No fork, no
# subshell (call it directly, not in $(...)): a process per /proc entry is
# slow under TCG.
ctr_cmdline() {
	local a=()
	CTR_CMDLINE=
	mapfile -d '' a 2>/dev/null <"/proc/$1/cmdline" || return 1
	[ ${#a[@]} -gt 0 ] || return 1
	printf -v CTR_CMDLINE '%s ' "${a[@]}"
}

# ctr_shims: pids of the shims this containerd started (their argv names its socket)
ctr_shims() {
	local p
	for p in /proc/[0-9]*; do
		ctr_cmdline "${p#/proc/}" || continue
		[[ $CTR_CMDLINE == *" -address $CTR_SOCK "* ]] && echo "${p#/proc/}"
	done
	return 0
}

# ctr_descendants PID...: the pids below PID... (children first, recursively)
ctr_descendants() {
	local p c
	for p in "$@"; do
		for c in $(pgrep -P "$p"); do
			echo "$c"
			ctr_descendants "$c"
		done
	done
}

# ctr_cgroup_dirs: the cgroup directories of CTR_NS, deepest first
ctr_cgroup_dirs() {
	local h
	[ -n "$CTR_NS" ] || return 0
	for h in /sys/fs/cgroup /sys/fs/cgroup/*; do
		[ -d "$h/$CTR_NS" ] && find "$h/$CTR_NS" -depth -type d
	done
	return 0
}

# ctr_kill_rest: SIGKILL every shim, everything below the shims and every
# process in CTR_NS's cgroups
ctr_kill_rest() {
	local pids g
	pids="$(ctr_shims)"
	# shellcheck disable=SC2086 # word splitting wanted
	pids="$pids $(ctr_descendants $pids)"
	for g in $(ctr_cgroup_dirs); do
		[ -e "$g/cgroup.kill" ] && echo 1 >"$g/cgroup.kill" 2>/dev/null
		pids="$pids $(cat "$g/cgroup.procs" 2>/dev/null)"
	done
	# shellcheck disable=SC2086
	[ -z "${pids// /}" ] || kill -9 $pids 2>/dev/null
	return 0
}

# ctr_cleanup: see the header; idempotent
ctr_cleanup() {
	local rc=$? id m i g
	trap - EXIT INT TERM
	set +e
	if declare -F ctr_cleanup_hook >/dev/null; then
		ctr_cleanup_hook || true
	fi
	[ -n "$CTR_DIR" ] || return "$rc"
	if [ -n "$CTR_PID" ] && kill -0 "$CTR_PID" 2>/dev/null; then
		for id in $(ctrx task ls -q 2>/dev/null); do
			timeout 20 ctr -a "$CTR_SOCK" -n "$CTR_NS" task kill -a -s SIGKILL "$id" \
				>/dev/null 2>&1
			timeout 30 ctr -a "$CTR_SOCK" -n "$CTR_NS" task delete -f "$id" >/dev/null 2>&1
		done
		for id in $(ctrx container ls -q 2>/dev/null); do
			timeout 30 ctr -a "$CTR_SOCK" -n "$CTR_NS" container delete "$id" \
				>/dev/null 2>&1
		done
		kill -TERM "$CTR_PID" 2>/dev/null
		for ((i = 0; i < 50; i++)); do
			kill -0 "$CTR_PID" 2>/dev/null || break
			sleep 0.1
		done
		kill -9 "$CTR_PID" 2>/dev/null
		wait "$CTR_PID" 2>/dev/null
	fi
	ctr_kill_rest
	sleep 0.2
	ctr_kill_rest
	# mounts left in this namespace (a runtime called directly may make some)
	awk -v d="$CTR_DIR/" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo | sort -r |
		while read -r m; do
			umount -n -l "$m" 2>/dev/null
		done
	for g in $(ctr_cgroup_dirs); do
		rmdir "$g" 2>/dev/null || ctr_log "could not remove cgroup $g"
	done
	rm -rf --one-file-system "$CTR_DIR" 2>/dev/null ||
		ctr_log "could not remove all of $CTR_DIR"
	CTR_DIR='' CTR_PID=''
	return "$rc"
}
