# SPDX-License-Identifier: MIT
# bench/iolib.sh: what io.sh and net.sh share (sourced by bash): the host CPU
# time of a VMM and its back ends, the mark handshake with the guest over a rw
# share, interleaved round order, and the summary tables (median, min-max,
# agentvmm / baseline ratios). See docs/bench.md, "I/O".

# io_cpu PID...: "ALL OWN" user+system clock ticks so far. ALL: every PID,
# each live descendant (its threads, and the children it has reaped), and the
# kernel threads named vhost-PID (vhost-net's worker in kernels before 6.4,
# where it is not a thread of the VMM); OWN: the first PID's threads alone.
# A process that exits between two samples moves its ticks into its parent's
# reaped-children count, so the difference of two ALL samples stays right.
io_cpu() {
	# cat fails when a process exits between the glob and the read: ignored
	{ cat /proc/[0-9]*/stat 2>/dev/null || true; } | awk -v roots="$*" '
	{
		pid = $1; comm = $0; rest = $0
		sub(/^[0-9]+ \(/, "", comm); sub(/\) [^)]*$/, "", comm)
		sub(/^.*\) /, "", rest); split(rest, f, " ")
		# proc(5): ppid is field 4, utime..cstime fields 14..17; f[1] is field 3
		ppid[pid] = f[2]; own[pid] = f[12] + f[13]; all[pid] = own[pid] + f[14] + f[15]
		name[pid] = comm
	}
	END {
		n = split(roots, r, " ")
		for (i = 1; i <= n; i++) in_set[r[i]] = 1
		for (p in name)
			for (i = 1; i <= n; i++)
				if (name[p] == "vhost-" r[i]) in_set[p] = 1
		# descendants: repeat until no new process joins (the tree is shallow)
		do {
			grew = 0
			for (p in ppid)
				if (!(p in in_set) && (ppid[p] in in_set)) { in_set[p] = 1; grew = 1 }
		} while (grew)
		t = 0
		for (p in in_set) t += all[p]
		print t + 0, own[r[1]] + 0
	}'
}

io_clk_tck=$(getconf CLK_TCK)
io_now() { date +%s%N; }

# The marks: at each edge of a measured step the guest creates NAME.req in
# a directory of its rw share and goes on at once; the host (io_marks_serve)
# polls for it every 20 ms and samples. Going on without an answer keeps
# the guest's waiting out of the window: the sample lands up to ~20 ms (plus
# the sample's own time) after each edge, at the start and at the end alike.
# io_marks_setup DIR: DIR/mark NAME [drop] for sh in the guest: the mark,
# after dropping the guest's caches with drop (fio's exec_prerun runs it);
# and DIR/settle, for the guest's last line before it powers off: wait (up
# to 10 s) until the host has sampled every mark, since a VMM that has
# exited takes its CPU time with it.
io_marks_setup() {
	mkdir -p "$1"
	cat >"$1/mark" <<'EOF'
[ "${2:-}" != drop ] || { sync; echo 3 >/proc/sys/vm/drop_caches; }
: >"${0%/*}/$1.req"
EOF
	cat >"$1/settle" <<'EOF'
for _ in $(seq 200); do ls "${0%/*}"/*.req >/dev/null 2>&1 || exit 0; sleep 0.05; done
EOF
}

# io_error_line VMM ROUND STEP: the record of a step that failed (io_table)
io_error_line() { echo "$1 $2 $3 error - 0 - 0 0 0"; }

# io_take_setup OUT TAG CACHE WHO: once, the kernel command line agentvmm's
# guest printed on OUT's "TAG " line and the initramfs agentvmm built in
# CACHE, into $cmdline and $initrd (QEMU boots with both); without either,
# "WHO run failed", OUT's tail, exit 1.
io_take_setup() {
	if [ -z "${cmdline:-}" ]; then
		cmdline=$(sed -n "s/^$2 //p" "$1" | tr -d '\r')
		initrd=$(ls "$3"/initramfs-*.cpio 2>/dev/null | head -n 1)
	fi
	if [ -z "$cmdline" ] || [ -z "${initrd:-}" ]; then
		echo "$4 run failed:" >&2
		tail -n 20 "$1" >&2
		exit 1
	fi
}

# io_marks_serve VMPID DIR OUT PID...: until VMPID has exited, a line
# "NAME NS ALL OWN" in OUT (io_cpu PID...) for each DIR/NAME.req that
# appears, which is then removed; "vm.start" and "vm.exit" (no CPU figures)
# frame them. Waits with read -t on a FIFO: no process is started per poll
# (the test host has one vCPU, which the guest needs).
io_marks_serve() {
	local vmpid=$1 dir=$2 out=$3 f n fifo sample reqs
	shift 3
	fifo=$(mktemp -u /tmp/.io-serve.XXXXXX)
	mkfifo "$fifo"
	exec {io_sfd}<>"$fifo"
	echo "vm.start $(io_now) $(io_cpu "$@")" >>"$out"
	while :; do
		# marks that appear together share one sample
		reqs=()
		for f in "$dir"/*.req; do [ ! -e "$f" ] || reqs+=("$f"); done
		if [ ${#reqs[@]} -gt 0 ]; then
			sample="$(io_now) $(io_cpu "$@")" || true
			for f in "${reqs[@]}"; do
				n=${f##*/}
				echo "${n%.req} $sample" >>"$out"
				rm -f "$f"
			done
		fi
		kill -0 "$vmpid" 2>/dev/null || break
		read -r -t 0.02 -u "$io_sfd" || true
	done
	exec {io_sfd}>&-
	rm -f "$fifo"
	echo "vm.exit $(io_now) - -" >>"$out"
}

# io_step_figures MARKS START END: "WALL_S CPU_S OWN_CPU_S" between the
# marks START and END in MARKS, or nothing when one is missing
io_step_figures() {
	awk -v s0="$2" -v s1="$3" -v hz="$io_clk_tck" '
	$1 == s0 { t0 = $2; a0 = $3; o0 = $4; s = 1 }
	$1 == s1 { t1 = $2; a1 = $3; o1 = $4; e = 1 }
	END { if (s && e) printf "%.3f %.2f %.2f\n", (t1 - t0) / 1e9, (a1 - a0) / hz, (o1 - o0) / hz }' "$1"
}

# io_order ROUND NAME...: NAME... in ABBA order: as given in odd rounds,
# reversed in even ones (A B, B A, A B, ... with two)
io_order() {
	local r=$1 i
	shift
	if [ $((r % 2)) = 1 ]; then
		echo "$@"
	else
		for ((i = $#; i >= 1; i--)); do printf '%s ' "${!i}"; done
		echo
	fi
}

# io_table RECORDS A B: the summary of A against B from RECORDS, whose lines
# are "VMM ROUND TEST VALUE UNIT AMOUNT AMOUNT_UNIT WALL_S CPU_S OWN_CPU_S":
# VALUE a figure of merit in UNIT (MiB/s, MB/s, IOPS, files/s: higher is
# better; s, ms: lower is better), CPU_S the host CPU time of the VMM and its
# back ends over the step, AMOUNT what the step moved (GiB, kfiles, run).
# Per test: median and min-max of VALUE over the rounds, the same of CPU_S /
# AMOUNT, and the ratios of the medians, A / B.
io_table() {
	awk -v A="$2" -v B="$3" '
	function median(v, n,   i, j, t, a) {
		for (i = 1; i <= n; i++) a[i] = v[i]
		for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
		lo = a[1]; hi = a[n]
		return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
	}
	function fmt(x) { return x >= 100 ? sprintf("%.0f", x) : x >= 10 ? sprintf("%.1f", x) : sprintf("%.2f", x) }
	function cell(key, kind,   v, n, i, m) {
		n = cnt[key]
		if (!n) return "-"
		for (i = 1; i <= n; i++) v[i] = (kind == "val") ? val[key, i] : cpu[key, i]
		m = median(v, n)
		med[key, kind] = m
		return fmt(m) " (" fmt(lo) "–" fmt(hi) ")"
	}
	function ratio(t, kind) {
		if (!((A SUBSEP t, kind) in med) || !((B SUBSEP t, kind) in med) || med[B, t, kind] <= 0) return "-"
		return sprintf("%.2f", med[A, t, kind] / med[B, t, kind])
	}
	$1 != A && $1 != B { next }
	{
		t = $3
		if (!(t in seen)) { seen[t] = 1; order[++nt] = t }
		k = $1 SUBSEP t
		if ($4 == "error" || $6 <= 0) { bad[k]++; next }
		unit[t] = $5; aunit[t] = $7
		cnt[k]++; val[k, cnt[k]] = $4; cpu[k, cnt[k]] = $9 / $6
	}
	END {
		printf "| test | unit | %s | %s | %s ÷ %s | CPU s per | %s CPU | %s CPU | CPU %s ÷ %s |\n", A, B, A, B, A, B, A, B
		print "|---|---|---|---|---|---|---|---|---|"
		for (i = 1; i <= nt; i++) {
			t = order[i]
			a = cell(A SUBSEP t, "val"); b = cell(B SUBSEP t, "val")
			ca = cell(A SUBSEP t, "cpu"); cb = cell(B SUBSEP t, "cpu")
			if (bad[A, t]) a = a " [" bad[A, t] " failed]"
			if (bad[B, t]) b = b " [" bad[B, t] " failed]"
			printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", t, unit[t], a, b,
				ratio(t, "val"), aunit[t], ca, cb, ratio(t, "cpu")
		}
	}' "$1"
}
