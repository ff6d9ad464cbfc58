#!/bin/bash
# SPDX-License-Identifier: MIT
#
# vsock.sh: what a VM's command and its vsock streams move per second, and
# how long an exec takes: the command's stdout (session vs --stdio console),
# its stdin (session), hybrid --vsock streams both ways against QEMU
# vhost-vsock-pci, and `agentvmm exec` round trips. A benchmark, not a test.
# Runs directly on a host with hardware virtualization, or inside the nested
# test host (scripts/testhost.sh) where /dev/kvm cannot boot Linux.
#
# usage: bench/vsock.sh [--rounds N] [--out-mib N] [--console-kib N] [--in-mib N]
#                       [--stream-mib N] [--pings N] [--execs N] [--no-qemu] [--out DIR] [--no-build]
#
# Each round runs every case once, in the reverse order of the round before
# (A B C, C B A, ...); nested, each round has a test host of its own, and a
# round whose test host stalled or died runs once more in a new one. Prints a
# table of medians over the rounds with ratios and writes vsock.txt and the
# raw samples vsock.raw into DIR (default build-bench/bench-results/vsock-<date>).
# See docs/bench.md. Exit status 0; 1 if a case or round failed (the rest is
# still reported); 2 on a usage error or something missing.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(dirname "$here")
build=${AV_BENCH_BUILD:-$top/build-bench}
rounds=6 out_mib=64 console_kib=64 in_mib=64 stream_mib=64 pings=200 execs=20
qemu_on=1 out='' build_it=1

usage() { sed -n '11,12p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
num() { [[ $2 =~ ^[1-9][0-9]*$ ]] || { echo "vsock.sh: $1 wants a positive number, not '$2'" >&2; exit 2; }; }
while [ $# -gt 0 ]; do
	case $1 in
	--rounds | --out-mib | --console-kib | --in-mib | --stream-mib | --pings | --execs)
		num "$1" "${2:-}"; v=${1#--}; v=${v//-/_}; printf -v "$v" %s "$2"; shift 2 ;;
	--no-qemu) qemu_on=0; shift ;;
	--out) out=${2:?}; shift 2 ;;
	--no-build) build_it=0; shift ;;
	--inner) shift; break ;;
	-h | --help) usage ;;
	*) echo "vsock.sh: unknown option '$1'" >&2; usage ;;
	esac
done
py=/usr/bin/python3    # host side and guest side (the guest gets /usr over virtio-fs)

# ---- the host side: one python program per case, it starts the VM itself
# (the VM's argv after --), measures on the host and appends "ROUND CASE VALUE"
# lines to the raw file; "report" makes the table. Every VM also runs under
# timeout(1) (its argv says so).
write_host_py() {
	cat >"$1" <<'PY'
import os, re, socket, statistics, struct, subprocess, sys, threading, time

now = time.monotonic
BLK = 1 << 20


def fail(msg):
    print("vsock.sh: " + msg, file=sys.stderr, flush=True)
    sys.exit(1)


def record(res, rnd, case, value, fmt="%.6g"):
    with open(res, "a") as f:
        f.write(("%s %s " + fmt + "\n") % (rnd, case, value))


def tail(log):
    try:
        with open(log, "rb") as f:
            return f.read()[-3000:].decode(errors="replace")
    except OSError:
        return ""


def spawn(cmd, log, **kw):
    lf = open(log, "ab")
    kw.setdefault("stdin", subprocess.DEVNULL)
    kw.setdefault("stdout", lf)
    return subprocess.Popen(cmd, stderr=lf, start_new_session=True, **kw)


def reap(p, secs):
    try:
        return p.wait(secs)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, 9)
        return p.wait()


def case_out(a):
    """out RES ROUND CASE BYTES LOG -- CMD: CMD writes BYTES zero bytes to stdout (a
    *console case: only the zero bytes count)."""
    res, rnd, case, want, log, cmd = a[0], a[1], a[2], int(a[3]), a[4], a[6:]
    console = case.endswith("console")
    t0 = now()
    p = spawn(cmd, log, stdout=subprocess.PIPE)
    fd = p.stdout.fileno()
    buf = bytearray(BLK)        # one buffer: a fresh 1 MiB per read costs more than the copy
    zeros = other = first = 0
    t1 = t2 = None
    while True:
        k = os.readv(fd, [buf])
        if not k:
            break
        # a session's stdout is the command's alone; the console may carry a kernel line
        z = buf.count(0, 0, k) if console else k
        other += k - z
        if z:
            t2 = now()
            if t1 is None:
                t1, first = t2, z
            zeros += z
    st = reap(p, 60)
    wall = now() - t0
    if zeros != want or t1 is None or t2 <= t1:
        fail("%s: %d of %d bytes, status %d\n%s" % (case, zeros, want, st, tail(log)))
    # the output phase: first byte to last byte (the first read's bytes came before t1)
    record(res, rnd, case, (zeros - first) / (t2 - t1) / 1e6)
    print("  %s: %d bytes in %.2f s (first to last byte), %d other bytes, wall %.1f s, "
          "status %d" % (case, zeros, t2 - t1, other, wall, st), flush=True)


def case_in(a):
    """in RES ROUND CASE BYTES LOG -- CMD: BYTES into CMD's stdin, CMD is
    dd of=/dev/null bs=65536 iflag=fullblock 2>&1 (it prints how many blocks came)."""
    res, rnd, case, n, log, cmd = a[0], a[1], a[2], int(a[3]), a[4], a[6:]
    w0 = min(4 * BLK, n // 4)   # start the clock once the pipe flows into the guest
    t0 = now()
    p = spawn(cmd, log, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    mark = {}

    def writer():
        buf = memoryview(bytes(65536))
        w = 0
        try:
            while w < n:
                w += os.write(p.stdin.fileno(), buf[:min(n - w, len(buf))])
                if "t" not in mark and w >= w0:
                    mark["t"], mark["w"] = now(), w
        except OSError as e:
            mark["err"] = e
        finally:
            p.stdin.close()
    th = threading.Thread(target=writer, daemon=True)
    th.start()
    got, t_end = b"", None
    while True:
        b = os.read(p.stdout.fileno(), 4096)
        if not b:
            break
        got += b
        if t_end is None and b"\n" in got:
            t_end = now()
    st = reap(p, 60)
    th.join(5)
    wall = now() - t0
    # the command is dd bs=64k iflag=fullblock: "F+0 records in" when stdin ended
    m = re.search(rb"^(\d+)\+0 records in", got, re.M)
    if not m or int(m.group(1)) * 65536 != n or "t" not in mark or t_end is None:
        fail("%s: the guest counted %r of %d bytes (%s), status %d\n%s" %
             (case, got[:200], n, mark.get("err"), st, tail(log)))
    record(res, rnd, case, (n - mark["w"]) / (t_end - mark["t"]) / 1e6)
    print("  %s: %d bytes, %.2f s from %d written to the guest's count, wall %.1f s" %
          (case, n, t_end - mark["t"], mark["w"], wall), flush=True)


def h2g_connect(path, cid, p, deadline, log):
    """A stream to guest port 5000 once the guest listens: hybrid CONNECT or AF_VSOCK."""
    while True:
        if p.poll() is not None or now() > deadline:
            fail("the guest never listened on port 5000 (status %s)\n%s" % (p.poll(), tail(log)))
        try:
            if path:
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.settimeout(60)
                s.connect(path)
                s.sendall(b"CONNECT 5000\n")
                line = b""
                while not line.endswith(b"\n"):     # byte by byte: the stream follows
                    c = s.recv(1)
                    if not c:
                        break
                    line += c
                if line.startswith(b"OK "):
                    return s
            else:
                s = socket.socket(socket.AF_VSOCK, socket.SOCK_STREAM)
                s.settimeout(10)
                s.connect((cid, 5000))
                return s
        except OSError:
            pass
        s.close()
        time.sleep(0.5)


def case_stream(a):
    """stream RES ROUND VMM BYTES PINGS PATH|CID LOG -- CMD: guest.py's peer."""
    res, rnd, vmm, n, pings, where, log, cmd = a[0], a[1], a[2], int(a[3]), int(a[4]), \
        a[5], a[6], a[8:]
    path, cid = (where, None) if where.startswith("/") else (None, int(where))
    if path:
        l = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        l.bind(path + "_5001")      # the guest's (2, 5001) lands here (docs/vsock.md)
    else:
        l = socket.socket(socket.AF_VSOCK, socket.SOCK_STREAM)
        l.bind((socket.VMADDR_CID_ANY, 5001))
    l.listen(1)
    p = spawn(cmd, log)
    s = h2g_connect(path, cid, p, now() + 900, log)
    s.settimeout(600)
    # host -> guest: N bytes, the guest answers "K" once it has read them all
    buf = bytes(BLK)
    t0 = now()
    left = n
    while left:
        s.sendall(buf[:min(left, BLK)])
        left -= min(left, BLK)
    if s.recv(1) != b"K":
        fail("%s: no K after the host -> guest bytes\n%s" % (vmm, tail(log)))
    h2g = now() - t0
    # one byte there and back, PINGS times
    rtt = []
    for _ in range(pings):
        t = now()
        s.sendall(b"x")
        if s.recv(1) != b"x":
            fail("%s: ping-pong broke\n%s" % (vmm, tail(log)))
        rtt.append(now() - t)
    s.close()
    # guest -> host: first byte to EOF
    l.settimeout(600)
    c, _ = l.accept()
    c.settimeout(600)
    rb = bytearray(BLK)
    got = first = 0
    t1 = None
    while True:
        k = c.recv_into(rb)
        if not k:
            break
        if t1 is None:
            t1, first = now(), k
        got += k
    if t1 is None:
        fail("%s: guest -> host: no byte\n%s" % (vmm, tail(log)))
    g2h = now() - t1
    c.close()
    l.close()
    st = reap(p, 300)
    if got != n:
        fail("%s: guest -> host: %d of %d bytes, status %d\n%s" % (vmm, got, n, st, tail(log)))
    record(res, rnd, "h2g-" + vmm, n / h2g / 1e6)
    record(res, rnd, "g2h-" + vmm, (got - first) / g2h / 1e6)
    record(res, rnd, "rtt-" + vmm, statistics.median(rtt) * 1e6)
    print("  %s: host->guest %.2f s, guest->host %.2f s, ping-pong median %.0f us, status %d"
          % (vmm, h2g, g2h, statistics.median(rtt) * 1e6, st), flush=True)


def timed(cmd, log):
    t = now()
    with open(log, "ab") as lf:
        st = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=lf, stderr=lf,
                            timeout=120).returncode
    return st, (now() - t) * 1e3


def frame(typ, payload=b""):
    """A session frame (guest-init/session_proto.h): le32 len, u8 type, u8 flags, le16 zero."""
    return struct.pack("<IBBH", len(payload), typ, 0, 0) + payload


def raw_exec(sock):
    """One exec session spoken directly on the control socket: SPEC "true", stdin EOF,
    frames until EXIT, EXIT_ACK. Its status; the time is the caller's."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(60)
    s.connect(sock)
    s.sendall(b'{"cmd":"exec"}\n')
    line = b""
    while not line.endswith(b"\n"):      # byte by byte: the session follows the line
        c = s.recv(1)
        if not c:
            break
        line += c
    if not line.startswith(b"OK "):
        s.close()
        return -1
    s.sendall(frame(1, b"a:true\0") + frame(2))    # SPEC, STDIN end of file
    buf = b""
    while True:
        c = s.recv(65536)
        if not c:
            s.close()
            return -1
        buf += c
        while len(buf) >= 8:
            ln, typ = struct.unpack_from("<IB", buf)
            if len(buf) < 8 + ln:
                break
            if typ == 19:                   # EXIT
                st = struct.unpack_from("<I", buf, 8)[0]
                s.sendall(frame(5))         # EXIT_ACK
                s.close()
                return st
            buf = buf[8 + ln:]


def case_exec(a):
    """exec RES ROUND N AV SOCK LOG -- CMD: into CMD's VM, N times each: agentvmm --version
    (process start), ctl ping, exec true, and an exec session without a client process."""
    res, rnd, n, av, sock, log, cmd = a[0], a[1], int(a[2]), a[3], a[4], a[5], a[7:]
    p = spawn(cmd, log)
    deadline = now() + 900
    while True:   # the guest serves exec once guest-init started the workload
        if p.poll() is not None or now() > deadline:
            fail("exec: the VM never took an exec (status %s)\n%s" % (p.poll(), tail(log)))
        if os.path.exists(sock) and timed([av, "exec", "--api-socket", sock, "--", "true"],
                                          log)[0] == 0:
            break
        time.sleep(0.5)

    def session():
        t = now()
        st = raw_exec(sock)
        return st, (now() - t) * 1e3
    for what, run in (("version", lambda: timed([av, "--version"], log)),
                      ("ping", lambda: timed([av, "ctl", sock, "ping"], log)),
                      ("exec", lambda: timed([av, "exec", "--api-socket", sock, "--", "true"],
                                             log)),
                      ("exec-raw", session)):
        ms = []
        for _ in range(n):
            st, t = run()
            if st != 0:
                fail("exec: %s exited %d\n%s" % (what, st, tail(log)))
            ms.append(t)
            record(res, rnd, what, t)
        print("  %s: median %.1f ms, max %.1f ms" % (what, statistics.median(ms), max(ms)),
              flush=True)
    timed([av, "ctl", sock, "kill"], log)
    reap(p, 60)


def pct(v, q):
    v = sorted(v)
    return v[min(len(v) - 1, int(q * len(v)))] if v else float("nan")


def report(a):
    """report RAW: the table."""
    vals, rounds = {}, set()
    for line in open(a[0]):
        r, case, v = line.split()
        vals.setdefault(case, []).append(float(v))
        rounds.add(r)
    med = {c: statistics.median(v) for c, v in vals.items()}

    def cell(c, fmt):
        if c not in vals:
            return "-"
        v = vals[c]
        if len(v) == 1:
            return fmt % med[c]
        return (fmt + " (" + fmt + "-" + fmt + ")") % (med[c], min(v), max(v))

    def ratio(x, y):
        return "%.2fx" % (med[x] / med[y]) if x in med and y in med and med[y] > 0 else "-"
    print("rounds measured: %d; median of the rounds (min-max)" % len(rounds - {"0"}))
    w = "%-44s %-24s %-24s %s"
    print(w % ("", "agentvmm", "compared with", "ratio"))
    rows = (("stdout, session (dd bs=64k), MB/s", "stdout-session", "%.2f",
             "stdout-console", "%.5f", "session/console"),
            ("stdout, session (busybox head -c), MB/s", "stdout-head", "%.2f",
             "stdout-console", "%.5f", "session/console"),
            ("stdout, --stdio console (dd bs=1k), MB/s", "stdout-console", "%.5f", None, "", ""),
            ("stdin, session (dd of=/dev/null), MB/s", "stdin-session", "%.2f", None, "", ""),
            ("stream host->guest, MB/s (QEMU vhost-vsock)", "h2g-agentvmm", "%.2f",
             "h2g-qemu", "%.2f", "agentvmm/QEMU"),
            ("stream guest->host, MB/s (QEMU vhost-vsock)", "g2h-agentvmm", "%.2f",
             "g2h-qemu", "%.2f", "agentvmm/QEMU"),
            ("stream 1-byte round trip, us (QEMU)", "rtt-agentvmm", "%.0f",
             "rtt-qemu", "%.0f", "QEMU/agentvmm"))
    for name, x, fx, y, fy, how in rows:
        if y is None:
            print(w % (name, cell(x, fx), "", ""))
        elif how == "QEMU/agentvmm":
            print(w % (name, cell(x, fx), cell(y, fy), ratio(y, x) + " " + how))
        else:
            print(w % (name, cell(x, fx), cell(y, fy), ratio(x, y) + " " + how))
    for what, name in (("exec", "agentvmm exec -- true"),
                       ("exec-raw", "exec session, no client process"),
                       ("ping", "agentvmm ctl ping"),
                       ("version", "agentvmm --version")):
        if what in vals:
            v = vals[what]
            print("%-44s median %.1f, p90 %.1f, min %.1f, max %.1f (%d)" %
                  (name + ", ms", statistics.median(v), pct(v, 0.9), min(v), max(v), len(v)))
    for what, name in (("reader", "host: python reading dd's pipe, MB/s"),
                       ("writer", "host: python writing into dd, MB/s")):
        if what in vals:
            print("%-44s %s" % (name, cell(what, "%.1f")))


cases = {"out": case_out, "in": case_in, "stream": case_stream, "exec": case_exec,
         "report": report}
cases[sys.argv[1]](sys.argv[2:])
PY
}

# ---------------------------------------------------------------- outer part
if [ $# = 0 ]; then
	[ -n "$out" ] || out=$build/bench-results/vsock-$(date +%Y%m%d-%H%M%S)
	mkdir -p "$out"
	out=$(cd "$out" && pwd)
	if [ "$build_it" = 1 ]; then
		# keep the build type of an existing build-bench (io.sh configures it too)
		[ -f "$build/CMakeCache.txt" ] ||
			cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
		cmake --build "$build" -j"$(nproc)" --target agentvmm >/dev/null
	fi
	[ -x "$build/agentvmm" ] || { echo "vsock.sh: no $build/agentvmm (drop --no-build)" >&2; exit 2; }
	[ -x "$py" ] || { echo "vsock.sh: no $py" >&2; exit 2; }
	"$top/scripts/fetch-kernel.sh" --kernel-only >&2
	args=(--rounds "$rounds" --out-mib "$out_mib" --console-kib "$console_kib"
	      --in-mib "$in_mib" --stream-mib "$stream_mib" --pings "$pings" --execs "$execs"
	      --out "$out" --inner)
	nested=0
	if "$top/scripts/testhost.sh" --need; then
		nested=1
		echo "vsock.sh: no vmx/svm here: each round runs in a nested test host" \
			"(figures count only as ratios)" >&2
	fi
	# DIR must be visible inside the test host: share it unless the tree holds it
	shares=(--share "$top")
	case $out/ in "$top"/*) ;; *) shares+=(--share "$out") ;; esac
	raw=$out/vsock.raw
	: >"$raw"
	trap 'rm -rf "$out/qemu"' EXIT
	echo "# nested: $nested; rounds $rounds; stdout $out_mib MiB (session)," \
		"$console_kib KiB (console); stdin $in_mib MiB; streams $stream_mib MiB each way," \
		"$pings pings; $execs execs" | tee "$out/vsock.txt"
	status=0
	for r in $(seq "$rounds"); do
		for try in 1 2; do
			st=0
			if [ "$nested" = 1 ]; then
				# the slowest case is the console, one VM exit per byte: ~0.4 s/KiB nested
				"$top/scripts/testhost.sh" --timeout $((1500 + console_kib)) \
					"${shares[@]}" -- bash "$0" "${args[@]}" round "$r" \
					"$build/agentvmm" "$qemu_on" || st=$?
			else
				bash "$0" "${args[@]}" round "$r" "$build/agentvmm" "$qemu_on" || st=$?
			fi
			case $st in
			124 | 125) ;;
			130) exit 130 ;;
			2) exit 2 ;;
			*) break ;;
			esac
			# the test host stalled or died (docs/testhost.md "Stalls"): the
			# round's samples so far go, and the round runs again
			awk -v r="$r" '$1 != r && !(r == 1 && $1 == 0)' "$raw" >"$raw.new"
			mv "$raw.new" "$raw"
			if [ "$try" = 1 ]; then
				echo "vsock.sh: round $r: the test host ended with $st; once more in a new one" >&2
			else
				echo "vsock.sh: round $r: the test host ended with $st again; round dropped" >&2
			fi
		done
		[ "$st" = 0 ] || status=1
	done
	tmp=$(mktemp -d /tmp/avvsock.XXXXXX)
	write_host_py "$tmp/host.py"
	"$py" "$tmp/host.py" report "$raw" | tee -a "$out/vsock.txt"
	rm -rf "$tmp"
	if [ -s "$out/qemu-why" ]; then
		echo "QEMU streams not measured: $(head -n 1 "$out/qemu-why")" | tee -a "$out/vsock.txt"
		rm -f "$out/qemu-why"
	fi
	echo "vsock.sh: results in $out" >&2
	exit "$status"
fi

# ---------------------------------------------------------------- one round
# (inside the test host when nested): inner round R AGENTVMM QEMU_ON
r=$2 av=$3 qemu_on=$4
k=${AV_KERNEL_CACHE:-/var/cache/agentvmm/kernel}/bzImage
qemu=${AV_QEMU:-qemu-system-x86_64}
vfsd=${AGENTVMM_VIRTIOFSD:-/usr/lib/qemu/virtiofsd}
cid=3
raw=$out/vsock.raw
qin=$out/qemu      # QEMU's command line and initramfs, from the first agentvmm stream run
missing() { echo "vsock.sh: $*" >&2; exit 2; }
[ -x "$av" ] || missing "$av: not executable"
[ -r "$k" ] || missing "$k: no kernel (scripts/fetch-kernel.sh)"
"$py" -c 'import socket; socket.AF_VSOCK' 2>/dev/null || missing "$py: missing, or without AF_VSOCK"
command -v timeout >/dev/null || missing "no timeout(1)"
qemu_why=
if [ "$qemu_on" = 1 ]; then
	# QEMU's guest needs /dev/vhost-vsock (vhost_vsock module) and the same virtiofsd
	modprobe vhost_vsock 2>/dev/null || true
	if ! command -v "$qemu" >/dev/null; then qemu_why="no $qemu"
	elif [ ! -x "$vfsd" ]; then qemu_why="no virtiofsd at $vfsd"
	elif [ ! -c /dev/vhost-vsock ]; then qemu_why="no /dev/vhost-vsock (modprobe vhost_vsock failed)"
	elif ! "$qemu" -device help 2>/dev/null | grep -q '"vhost-vsock-pci"'; then
		qemu_why="$qemu has no vhost-vsock-pci"
	fi
	if [ -n "$qemu_why" ]; then
		echo "vsock.sh: QEMU streams not measured: $qemu_why"
		echo "$qemu_why" >"$out/qemu-why"   # for the table
	fi
fi

work=$(mktemp -d /tmp/avvsock.XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
mkdir -p "$work/g" "$work/cache" "$work/logs"
write_host_py "$work/host.py"

# ---- the guest side of the streams (host's python3 over the /usr share):
# listen on 5000, read N bytes, answer K, echo single bytes until EOF; then
# connect to (2, 5001) and send N bytes. Same program under both VMMs.
cat >"$work/g/guest.py" <<'PY'
import socket, sys, time
n = int(sys.argv[1])
with open("/proc/cmdline") as f:
    print("AVV-CMDLINE " + f.read().strip(), flush=True)
V = socket.AF_VSOCK
l = socket.socket(V, socket.SOCK_STREAM)
l.bind((socket.VMADDR_CID_ANY, 5000))
l.listen(1)
c, _ = l.accept()
buf = bytearray(1 << 20)
got = 0
while got < n:
    k = c.recv_into(buf)
    if not k:
        break
    got += k
c.sendall(b"K")
while True:
    b = c.recv(1)
    if not b:
        break
    c.sendall(b)
c.close()
l.close()
for i in range(120):
    s = socket.socket(V, socket.SOCK_STREAM)
    try:
        s.connect((2, 5001))
        break
    except OSError:
        s.close()
        time.sleep(0.5)
blk = bytes(1 << 20)
left = n
while left:
    s.sendall(blk[:min(left, len(blk))])
    left -= min(left, len(blk))
s.shutdown(socket.SHUT_WR)
s.recv(1)              # the host's close: it has read everything
s.close()
print("AVV-DONE %d" % got, flush=True)
PY

status=0
T=(timeout -k 10)
host() { "$py" "$work/host.py" "$@" || status=1; }

# the guest's commands: dd with 64 KiB blocks (busybox head -c writes 4 KiB at a
# time, through stdio: its own row); stdin goes to dd, whose record count says
# how much arrived
dd_in='dd of=/dev/null bs=65536 iflag=fullblock 2>&1'
run_out_session() {
	host out "$raw" "$1" stdout-session $((out_mib << 20)) "$work/logs/out-session.$1" -- \
		"${T[@]}" 900 "$av" --kernel "$k" -- dd if=/dev/zero bs=65536 count=$((out_mib * 16))
}
run_out_head() {
	local n=$(( (out_mib >= 4 ? out_mib / 4 : 1) << 20 ))
	host out "$raw" "$1" stdout-head $n "$work/logs/out-head.$1" -- \
		"${T[@]}" 900 "$av" --kernel "$k" -- head -c $n /dev/zero
}
run_out_console() {
	host out "$raw" "$1" stdout-console $((console_kib << 10)) "$work/logs/out-console.$1" -- \
		"${T[@]}" $((600 + console_kib)) "$av" --kernel "$k" --stdio console -- \
		dd if=/dev/zero bs=1024 count="$console_kib"
}
run_in() {
	host in "$raw" "$1" stdin-session $((in_mib << 20)) "$work/logs/in.$1" -- \
		"${T[@]}" 900 "$av" --kernel "$k" -- sh -c "$dd_in"
}
# agentvmm with --stdio console, so that its guest gets exactly what QEMU's gets
# (QEMU's guest-init reads the command from the same kernel command line)
run_stream_av() {
	rm -f "$work/v.sock" "$work/v.sock_5001"
	AGENTVMM_CACHE_DIR=$work/cache host stream "$raw" "$1" agentvmm $((stream_mib << 20)) \
		"$pings" "$work/v.sock" "$work/logs/stream-av.$1" -- \
		"${T[@]}" 1200 "$av" --kernel "$k" --stdio console --share ro:/usr \
		--share "ro:$work/g:/t" --vsock "cid=$cid,socket=$work/v.sock" -- \
		"$py" /t/guest.py $((stream_mib << 20))
	local c i
	c=$(sed -n 's/^AVV-CMDLINE //p' "$work/logs/stream-av.$1" | tr -d '\r' | head -n 1)
	i=$(ls "$work"/cache/initramfs-*.cpio 2>/dev/null | head -n 1)
	if [ ! -s "$qin/cmdline" ] && [ -n "$c" ] && [ -n "$i" ]; then
		mkdir -p "$qin"
		cp "$i" "$qin/initramfs.cpio"
		echo "$c" >"$qin/cmdline"
	fi
}
# QEMU microvm: agentvmm's initramfs and command line (guest-init mounts
# share0 at /usr and share1 at /t from it), the same virtiofsd and flags as
# agentvmm's (as bench/io.sh), and vhost-vsock-pci; the host end is AF_VSOCK.
vfs() {
	rm -f "$work/vfs$1.sock"
	"$vfsd" --socket-path="$work/vfs$1.sock" -o source="$2" -o cache=auto \
		-o sandbox=namespace -o log_level=warn --thread-pool-size=2 \
		--rlimit-nofile=0 2>>"$work/logs/vfsd.err" &
	pids+=($!)
}
run_stream_qemu() {
	if [ ! -s "$qin/cmdline" ]; then
		echo "  qemu: skipped (no command line and initramfs from an agentvmm run yet)"
		status=1
		return
	fi
	cp "$qin/initramfs.cpio" "$work/initramfs.cpio"   # not through 9p at each boot
	vfs 0 /usr
	vfs 1 "$work/g"
	for _ in $(seq 200); do
		[ -S "$work/vfs0.sock" ] && [ -S "$work/vfs1.sock" ] && break
		sleep 0.05
	done
	host stream "$raw" "$1" qemu $((stream_mib << 20)) "$pings" "$cid" \
		"$work/logs/stream-qemu.$1" -- \
		"${T[@]}" 1200 "$qemu" -M microvm,pcie=on,auto-kernel-cmdline=off,memory-backend=mem \
		-object memory-backend-memfd,id=mem,size=512M,share=on \
		-accel kvm -cpu host -smp 1 -m 512 -nodefaults -no-user-config -display none \
		-no-reboot -chardev stdio,id=con,signal=off -serial chardev:con \
		-kernel "$k" -initrd "$work/initramfs.cpio" -append "$(cat "$qin/cmdline")" \
		-device isa-debug-exit,iobase=0xf4,iosize=4 \
		-chardev socket,id=c0,path="$work/vfs0.sock" \
		-device vhost-user-fs-pci,chardev=c0,tag=share0 \
		-chardev socket,id=c1,path="$work/vfs1.sock" \
		-device vhost-user-fs-pci,chardev=c1,tag=share1 \
		-device vhost-vsock-pci,guest-cid="$cid"
	wait "${pids[@]}" 2>/dev/null || true
	pids=()
}
run_exec() {
	rm -f "$work/api.sock"
	host exec "$raw" "$1" "$execs" "$av" "$work/api.sock" "$work/logs/exec.$1" -- \
		"${T[@]}" 1200 "$av" --kernel "$k" --api-socket "$work/api.sock" -- sh -c 'sleep 1000'
}

# virtiofsd keeps one fd per inode the guest looked up (as io.sh)
ulimit -n "$(cat /proc/sys/fs/nr_open)" 2>/dev/null || ulimit -n 1048576 2>/dev/null || true
if [ "$r" = 1 ]; then
	# what the host side alone manages (no VM): the ceiling for the rows that use a pipe
	echo "== host side alone"
	host out "$raw" 0 reader $((out_mib << 20)) "$work/logs/ceiling" -- \
		dd if=/dev/zero bs=65536 count=$((out_mib * 16))
	host in "$raw" 0 writer $((in_mib << 20)) "$work/logs/ceiling" -- sh -c "$dd_in"
fi
order=(run_out_session run_out_head run_out_console run_in run_stream_av)
[ "$qemu_on" = 1 ] && [ -z "$qemu_why" ] && order+=(run_stream_qemu)
order+=(run_exec)
if [ $((r % 2)) = 0 ]; then
	list=()
	for ((i = ${#order[@]} - 1; i >= 0; i--)); do list+=("${order[i]}"); done
	order=("${list[@]}")
fi
echo "== round $r/$rounds ($(date +%T))"
for c in "${order[@]}"; do "$c" "$r"; done
if [ -s "$work/logs/vfsd.err" ]; then echo "virtiofsd (QEMU's) said:"; cat "$work/logs/vfsd.err"; fi
exit "$status"
