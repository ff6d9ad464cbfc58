#!/bin/bash
# SPDX-License-Identifier: MIT
#
# oci.sh [AGENTVMM_OCI]: agentvmm-oci against runc and runsc behind the same
# containerd runc shim (`ctr run --runtime io.containerd.runc.v2
# --runc-binary ...`), N idle busybox containers (`sleep 100000`) each:
#   runc         /usr/sbin/runc
#   runsc        Debian's gVisor /usr/bin/runsc through a wrapper script that
#                adds the global flags --platform=ptrace --network=none
#   agentvmm     AGENTVMM_OCI (default build/oci/agentvmm-oci): one VM per
#                container, booted at create, 512 MiB guest RAM (its default)
#   agentvmm256  the same with `ctr run --memory-limit 268435456` (the spec's
#                linux.resources.memory.limit becomes 256 MiB of guest RAM)
# Rows run one after another in the order given, agentvmm last by default.
# All rows share one private containerd (tests/oci/ctrlib.sh) with the
# offline busybox image (tests/oci/mkimage.sh), warmed up first by N runc
# containers started and deleted (so the first row does not pay for
# containerd's heap and database growing). "MemAvailable" below is
# /proc/meminfo's plus the free pages on the kernel's per-CPU lists (see
# mem_avail_kb). For each row:
#   1. sync, drop the page cache, read MemAvailable (the baseline);
#   2. start N containers one after another, timing each `ctr run -d`
#      (it returns once create and start are done: for agentvmm-oci, once
#      the VM booted); the median and maximum, and the first start alone
#      (its runtime's files were just dropped from the page cache);
#   3. wait SETTLE seconds (VMs finish booting, the balloon reports free
#      pages), drop the page cache, read MemAvailable: the drop per running
#      container;
#      and the PSS (/proc/PID/smaps_rollup) of each container's shim and
#      every process below it (runtime, sandbox, gofer, monitor, virtiofsd);
#   4. kill and delete every container, drop the page cache, and read how
#      far MemAvailable is from the baseline (it should come back).
# Prints a line on the machine, one row per runtime (PSS and processes are
# per shim, i.e. per container; not_back_after: how far MemAvailable stayed
# below the baseline after step 4) and the ratios agentvmm / runc and
# agentvmm / runsc; on stderr, as it goes, every start time and the meminfo
# fields at each reading. A benchmark, not a test. Needs root and a machine
# where Linux guests boot; elsewhere it runs itself inside the nested test
# host (scripts/testhost.sh, --mem OCI_BENCH_HOST_MEM), all rows in one:
#   bench/oci.sh [build-lead/oci/agentvmm-oci]
# Environment: OCI_BENCH_N (10), OCI_BENCH_RUNTIMES ("runc runsc agentvmm
# agentvmm256"), OCI_BENCH_SETTLE (20 s), OCI_BENCH_HOST_MEM (8192 MiB),
# OCI_BENCH_TIMEOUT (1500 s, the test host's limit), AGENTVMM_KERNEL (the
# guest kernel agentvmm-oci boots; its default /var/cache/agentvmm/kernel/bzImage).
# Exit: 0; 1 when a row could not start all its containers; 2 on a set-up error.
set -u
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin=${1:-$root/build/oci/agentvmm-oci}
case $bin in /*) ;; *) bin=$PWD/$bin ;; esac
N=${OCI_BENCH_N:-10}
RUNTIMES=${OCI_BENCH_RUNTIMES:-runc runsc agentvmm agentvmm256}
SETTLE=${OCI_BENCH_SETTLE:-20}
T=300 # seconds for one ctr command (a VM boots in ~10 s in the nested test host)

if [ -z "${AV_TESTHOST:-}" ] && "$root/scripts/testhost.sh" --need; then
	shares=(--share "$root")
	case $bin in "$root"/*) ;; *) shares+=(--share "$(dirname "$bin")") ;; esac
	envs=(--env "OCI_BENCH_N=$N" --env "OCI_BENCH_RUNTIMES=$RUNTIMES"
	      --env "OCI_BENCH_SETTLE=$SETTLE")
	[ -z "${AGENTVMM_KERNEL:-}" ] || envs+=(--env "AGENTVMM_KERNEL=$AGENTVMM_KERNEL")
	cd "$root" || exit 2
	exec "$root/scripts/testhost.sh" --mem "${OCI_BENCH_HOST_MEM:-8192}" \
		--timeout "${OCI_BENCH_TIMEOUT:-1500}" "${shares[@]}" "${envs[@]}" \
		-- bash "$root/bench/oci.sh" "$bin"
fi

[ -w /proc/sys/vm/drop_caches ] || { echo "oci.sh: needs root (drop_caches)" >&2; exit 2; }
# shellcheck source-path=SCRIPTDIR/.. source=tests/oci/ctrlib.sh
. "$root/tests/oci/ctrlib.sh"

RES='' # one line per row: name n ok median_ms max_ms drop_kb pss_kb procs back_kb first_ms

# mem_avail_kb WHAT: drop the page cache, print MemAvailable plus the free
# pages on the per-CPU lists (kB); WHAT and a few meminfo fields (MiB) go to
# stderr. The per-CPU lists (/proc/zoneinfo, pagesets, count) hold free pages
# outside MemFree: up to ~80 MiB in the 8 GiB test host, filled and emptied
# at random, which made MemAvailable alone jump by 40 to 60 MiB between
# readings with nothing else changed.
mem_avail_kb() {
	sync
	echo 3 >/proc/sys/vm/drop_caches
	sleep 1
	awk -v w="$1" -v pg="$(($(getconf PAGESIZE) / 1024))" '
		FILENAME ~ /zoneinfo/ { if ($1 == "count:") pcp += $2 * pg; next }
		/^(MemAvailable|MemFree|AnonPages|Shmem|Slab|Cached|Mapped):/ { v[$1] = $2 }
		END { printf "  %s: MemAvailable %d + per-CPU free %d, MemFree %d, AnonPages %d," \
			" Shmem %d, Slab %d, Cached %d, Mapped %d MiB\n", w,
			v["MemAvailable:"] / 1024, pcp / 1024, v["MemFree:"] / 1024,
			v["AnonPages:"] / 1024, v["Shmem:"] / 1024, v["Slab:"] / 1024,
			v["Cached:"] / 1024, v["Mapped:"] / 1024 > "/dev/stderr"
		      print v["MemAvailable:"] + pcp }' /proc/meminfo /proc/zoneinfo
}

# rss_mib PID: its VmRSS in MiB
rss_mib() { awk '/^VmRSS:/ { print int($2 / 1024) }' "/proc/$1/status" 2>/dev/null; }

# pss_tree PID: add the PSS (kB) of PID and every process below it to PSS, and
# their number to PROCS (no subshell: it sets globals)
pss_tree() {
	local p v
	for p in "$1" $(ctr_descendants "$1"); do
		v=$(awk '/^Pss:/ { print $2 }' "/proc/$p/smaps_rollup" 2>/dev/null)
		[ -z "$v" ] || { PSS=$((PSS + v)); PROCS=$((PROCS + 1)); }
	done
}

# binary ROW: the --runc-binary for ROW
binary() {
	case $1 in
	runc) echo /usr/sbin/runc ;;
	runsc) echo "$CTR_DIR/runsc-wrap" ;;
	agentvmm*) echo "$bin" ;;
	esac
}

# ids ROW: the container ids of ROW, ROW-01 ... (all of one width: runsc takes
# an id that is a prefix of another, runsc-1 of runsc-10, as ambiguous and
# refuses to kill it)
ids() {
	local i
	for ((i = 1; i <= N; i++)); do printf '%s-%0*d\n' "$1" ${#N} "$i"; done
}

# running ROW: how many of ROW's tasks are RUNNING
running() {
	ctrx task ls 2>/dev/null | awk -v p="$1-" 'index($1, p) == 1 && $3 == "RUNNING"' | wc -l
}

# stop_all ROW: kill ROW's tasks, wait until none runs, delete them (plain
# `task delete`: `task delete -f` kills again first, which runsc refuses for
# a stopped sandbox, "sandbox is not running"; -f only when that failed) and
# their containers; a failed delete is reported on stderr
stop_all() {
	local id rc i
	for id in $(ids "$1"); do
		timeout -k 5 60 ctr -a "$CTR_SOCK" -n "$CTR_NS" task kill -a -s SIGKILL "$id" \
			>/dev/null 2>&1
	done
	for ((i = 0; i < 120; i++)); do
		ctrx task ls 2>/dev/null | awk -v p="$1-" 'index($1, p) == 1 && $3 != "STOPPED" { f = 1 }
			END { exit !f }' || break
		sleep 1
	done
	for id in $(ids "$1"); do
		timeout -k 5 $T ctr -a "$CTR_SOCK" -n "$CTR_NS" task delete "$id" \
			>/dev/null 2>"$CTR_DIR/$id.del" ||
			timeout -k 5 $T ctr -a "$CTR_SOCK" -n "$CTR_NS" task delete -f "$id" \
				>/dev/null 2>"$CTR_DIR/$id.del"
		rc=$?
		[ "$rc" = 0 ] || echo "  task delete $id: exit $rc: $(tail -n 1 "$CTR_DIR/$id.del")" >&2
		timeout -k 5 60 ctr -a "$CTR_SOCK" -n "$CTR_NS" container delete "$id" \
			>/dev/null 2>"$CTR_DIR/$id.del"
		rc=$?
		[ "$rc" = 0 ] || echo "  container delete $id: exit $rc: $(tail -n 1 "$CTR_DIR/$id.del")" >&2
	done
}

# row_shims ROW: the pids of the shims serving ROW's containers (-id ROW-I)
row_shims() {
	local p
	for p in $(ctr_shims); do
		ctr_cmdline "$p" || continue
		[[ $CTR_CMDLINE =~ " -id $1-"[0-9]+" " ]] && echo "$p"
	done
	return 0
}

# bench_row ROW: steps 1-4 of the header for ROW; appends its line to RES
bench_row() {
	local row=$1 extra=() a0 a1 a2 id t0 t1 ok=0 s shims nshims rc=0 r0
	local lat=$CTR_DIR/$row.lat
	[ "$row" = agentvmm256 ] && extra=(--memory-limit 268435456)
	ctr_rt_flags "$(binary "$row")"
	: >"$lat"
	a0=$(mem_avail_kb "$row: baseline")
	r0=$(rss_mib "$CTR_PID")
	for id in $(ids "$row"); do
		t0=$EPOCHREALTIME
		timeout -k 5 $T ctr -a "$CTR_SOCK" -n "$CTR_NS" run -d "${CTR_RT[@]}" "${extra[@]}" \
			"$CTR_IMAGE" "$id" sleep 100000 >"$CTR_DIR/$id.out" 2>"$CTR_DIR/$id.err"
		rc=$?
		t1=$EPOCHREALTIME
		if [ "$rc" = 0 ]; then
			echo "$t0 $t1" >>"$lat"
		else
			echo "  $row: ctr run $id: exit $rc: $(tail -n 2 "$CTR_DIR/$id.err" | tr '\n' ' ')" >&2
		fi
	done
	echo "  $row: $(wc -l <"$lat") of $N started, in ms:" \
		"$(awk '{ printf "%s%.0f", (NR > 1 ? " " : ""), ($2 - $1) * 1000 }' "$lat");" \
		"settling ${SETTLE}s" >&2
	sleep "$SETTLE"
	ok=$(running "$row")
	a1=$(mem_avail_kb "$row: running")
	PSS=0 PROCS=0
	shims=$(row_shims "$row")
	for s in $shims; do
		pss_tree "$s"
	done
	nshims=$(wc -w <<<"$shims")
	echo "  $row: $ok running, $nshims shims, $PROCS processes, containerd's RSS" \
		"$r0 -> $(rss_mib "$CTR_PID") MiB; stopping" >&2
	stop_all "$row"
	for ((s = 0; s < 20; s++)); do
		shims=$(row_shims "$row")
		[ -n "$shims" ] || break
		sleep 0.5
	done
	for s in $shims; do
		ctr_cmdline "$s" && echo "  $row: a shim left after delete: $s $CTR_CMDLINE" >&2
	done
	sleep 5
	a2=$(mem_avail_kb "$row: deleted")
	RES+="$(awk -v r="$row" -v n="$N" -v ok="$ok" -v a0="$a0" -v a1="$a1" -v a2="$a2" \
		-v pss="$PSS" -v procs="$PROCS" -v sh="$nshims" '
		{ ms[NR] = ($2 - $1) * 1000 }
		NR == 1 { first = ms[1] }
		END {
			k = NR
			for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++)
				if (ms[j] < ms[i]) { t = ms[i]; ms[i] = ms[j]; ms[j] = t }
			med = k ? (k % 2 ? ms[(k + 1) / 2] : (ms[k / 2] + ms[k / 2 + 1]) / 2) : 0
			printf "%s %d %d %.0f %.0f %d %d %.1f %d %.0f\n", r, n, ok, med, k ? ms[k] : 0,
				ok ? (a0 - a1) / ok : 0, sh ? pss / sh : 0, sh ? procs / sh : 0, a0 - a2, first
		}' "$lat")
"
	[ "$ok" = "$N" ]
}

# report: the table (PSS and processes per shim, i.e. per container) and the ratios
report() {
	printf '%s' "$RES" | awk '
	{ r[NR] = $1; med[$1] = $4; mx[$1] = $5; drop[$1] = $6; pss[$1] = $7 }
	BEGIN { printf "%-12s %3s %7s %10s %10s %10s %18s %12s %9s %14s\n", "runtime", "N",
		"running", "start_med", "start_max", "1st_start", "MemAvail_drop/ctr", "PSS/ctr",
		"procs/ctr", "not_back_after" }
	{ printf "%-12s %3d %7s %7.0f ms %7.0f ms %7.0f ms %14.1f MiB %8.1f MiB %9.1f %10.1f MiB\n",
		$1, $2, $3 "/" $2, $4, $5, $10, $6 / 1024, $7 / 1024, $8, $9 / 1024 }
	END {
		for (i = 1; i <= NR; i++) {
			a = r[i]
			if (a !~ /^agentvmm/) continue
			for (j = 1; j <= NR; j++) {
				b = r[j]
				if (b ~ /^agentvmm/ || !med[b] || !drop[b] || !pss[b]) continue
				printf "ratio %s / %s: start median %.1fx, start max %.1fx, " \
					"MemAvailable drop %.1fx, PSS %.1fx\n", a, b, med[a] / med[b],
					mx[a] / mx[b], drop[a] / drop[b], pss[a] / pss[b]
			}
		}
	}'
}

main() {
	local row ver fail=0 cpus kr id
	for row in $RUNTIMES; do
		case $row in
		runc | runsc | agentvmm | agentvmm256) ;;
		*) echo "oci.sh: unknown runtime $row (runc runsc agentvmm agentvmm256)" >&2
		   exit 2 ;;
		esac
	done
	if [[ " $RUNTIMES " == *" agentvmm"* ]] && [ ! -x "$bin" ]; then
		echo "oci.sh: $bin: not an executable (build agentvmm-oci, or name it)" >&2
		exit 2
	fi
	ctr_start || exit 2
	"$root/tests/oci/mkimage.sh" "$CTR_DIR/image.tar" "$CTR_IMAGE" || exit 2
	ctr_import "$CTR_DIR/image.tar" || exit 2
	printf '#!/bin/sh\nexec /usr/bin/runsc --platform=ptrace --network=none "$@"\n' \
		>"$CTR_DIR/runsc-wrap"
	chmod 755 "$CTR_DIR/runsc-wrap"
	cpus=$(nproc)
	kr=$(cat "${AV_KERNEL_CACHE:-/var/cache/agentvmm/kernel}/release" 2>/dev/null)
	ver="containerd $(containerd --version | awk '{ print $3 }'),"
	ver+=" runc $(runc --version | awk 'NR == 1 { print $3 }'),"
	ver+=" runsc $(runsc --version 2>/dev/null | awk 'NR == 1 { print $3 }')"
	echo "# oci.sh: $(date -u +%FT%TZ), $(uname -r), nested test host: ${AV_TESTHOST:-0}," \
		"$cpus CPU, MemTotal $(awk '/^MemTotal:/ { print int($2 / 1024) }' /proc/meminfo) MiB;" \
		"$ver; guest kernel ${AGENTVMM_KERNEL:-$kr}"
	echo "# N=$N containers per runtime (sleep 100000), settle ${SETTLE}s, snapshotter" \
		"$CTR_SNAPSHOTTER; runtimes one after another: $RUNTIMES; agentvmm: $bin," \
		"512 MiB guests (its default), agentvmm256: --memory-limit 268435456"
	# warm containerd up (its heap grows with the tasks it serves; its
	# database) with N runc containers, so the first row does not pay for it
	ctr_rt_flags /usr/sbin/runc
	for id in $(ids warmup); do
		timeout -k 5 $T ctr -a "$CTR_SOCK" -n "$CTR_NS" run -d "${CTR_RT[@]}" "$CTR_IMAGE" \
			"$id" sleep 100000 >/dev/null 2>&1
	done
	stop_all warmup
	for row in $RUNTIMES; do
		bench_row "$row" || fail=1
	done
	report
	exit $fail
}

main
