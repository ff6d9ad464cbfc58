#!/bin/sh
# SPDX-License-Identifier: MIT
# bench/egress.sh [BUILD_DIR]: what --egress costs against --net user, the
# two ways a guest without root reaches the network. Same kernel, same
# guest-init, the same curl (the host's /usr shared read-only), the same HTTP
# server on the host's loopback:
#   egress-get     --egress, curl through the proxy variables (a proxied GET)
#   egress-tunnel  --egress, curl --proxytunnel (CONNECT, as for HTTPS)
#   netuser        --net user (passt), curl straight to 10.0.2.2
# Rows: download and upload of MIB MiB (MB/s, curl's own figures), the median
# time of 20 small requests each on a new connection (ms), and the host CPU
# time of agentvmm and everything it started and reaped (virtiofsd, passt or
# the egress proxy). Not a test: prints figures and ratios. Runs inside the
# nested test host when this machine's /dev/kvm cannot boot a kernel.
#
# All traffic stays in namespace aveg-$$ (a veth with a default route that
# leads nowhere, for passt) and its loopback.
# Environment: NET_MIB (default 32), NET_ROUNDS (default 3), rounds alternate.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
if [ -z "${AV_TESTHOST:-}" ] && "$root/scripts/testhost.sh" --need; then
	exec "$root/scripts/testhost.sh" --timeout 3000 --env "NET_MIB=${NET_MIB:-32}" \
		--env "NET_ROUNDS=${NET_ROUNDS:-3}" -- sh "$root/bench/egress.sh" "$build"
fi
AV=$build/agentvmm
K=${AV_KERNEL_CACHE:-/var/cache/agentvmm/kernel}/bzImage
MIB=${NET_MIB:-32}
ROUNDS=${NET_ROUNDS:-3}
NS=aveg-$$
PORT=5080
TMP=$(mktemp -d /tmp/av-egress-XXXXXX)
chmod 755 "$TMP"
. "$root/bench/netlib.sh"
trap net_cleanup EXIT INT TERM
command -v passt >/dev/null || { echo "egress.sh: no passt"; exit 1; }
command -v curl >/dev/null || { echo "egress.sh: no curl"; exit 1; }

net_ns_veth

# the server: GET /big (MIB MiB), GET /small (1 byte), PUT /up (read and dropped)
cat > "$TMP/server.py" <<'PY'
import http.server, sys
size = int(sys.argv[2]) << 20
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def do_GET(self):
        n = size if self.path == "/big" else 1
        self.send_response(200); self.send_header("Content-Length", str(n)); self.end_headers()
        blk = bytes(1 << 20)
        while n:
            k = min(n, len(blk)); self.wfile.write(blk[:k]); n -= k
    def do_PUT(self):
        n = int(self.headers.get("Content-Length", "0"))
        while n:
            b = self.rfile.read(min(n, 1 << 20))
            if not b: break
            n -= len(b)
        self.send_response(204); self.send_header("Content-Length", "0"); self.end_headers()
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
ip netns exec "$NS" timeout 2800 python3 "$TMP/server.py" $PORT "$MIB" > /dev/null 2>&1 &

# run.py: run a command, print its status and the CPU seconds of it and its reaped children
cat > "$TMP/run.py" <<'PY'
import resource, subprocess, sys
st = subprocess.run(sys.argv[1:]).returncode
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
print("status=%d cpu=%.2f" % (st, ru.ru_utime + ru.ru_stime), file=sys.stderr)
PY

# the guest's workload for base URL $1 and extra curl options $2
work() {
	echo "export NO_PROXY= no_proxy=; head -c $((MIB << 20)) /dev/zero > /tmp/up;
c() { curl -sS --max-time 600 $2 \"\$@\"; }
echo down=\$(c -o /dev/null -w '%{speed_download}' $1/big);
echo up=\$(c -o /dev/null -T /tmp/up -w '%{speed_upload}' $1/up);
for i in \$(seq 20); do c -o /dev/null -w '%{time_total}\n' $1/small; done | sort -n | sed -n 10p | sed 's/^/rtt=/'"
}

# run_one NAME AGENTVMM-ARGS... -- (the guest's work follows in $WORK)
run_one() {
	name=$1; shift
	ip netns exec "$NS" timeout 1500 python3 "$TMP/run.py" "$AV" --kernel "$K" --mem 1024 \
		--share ro:/usr "$@" -- sh -c "$WORK" > "$TMP/$name.out" 2> "$TMP/$name.err" || true
	down=$(sed -n 's/^down=//p' "$TMP/$name.out"); up=$(sed -n 's/^up=//p' "$TMP/$name.out")
	rtt=$(sed -n 's/^rtt=//p' "$TMP/$name.out"); cpu=$(sed -n 's/.*status=0 cpu=//p' "$TMP/$name.err")
	if [ -z "$down" ] || [ -z "$cpu" ]; then
		echo "$name: no figures; its output:"; tail -5 "$TMP/$name.out" "$TMP/$name.err"; return
	fi
	echo "$name $(echo "$down $up $rtt" | awk '{ printf "%.1f %.1f %.1f", $1 / 1e6, $2 / 1e6, $3 * 1000 }') $cpu"
}

echo "# $MIB MiB each way, 20 small requests, $ROUNDS rounds; nested: ${AV_TESTHOST:-0}"
echo "# path download_MB/s upload_MB/s small_request_ms host_cpu_s"
: > "$TMP/res"
r=0
while [ "$r" -lt "$ROUNDS" ]; do
	r=$((r + 1))
	# NO_PROXY names 127.0.0.1 (curl honours it even with -x): emptied for these
	WORK=$(work "http://127.0.0.1:$PORT" '')
	run_one egress-get --egress "allow=127.0.0.1/32:$PORT" | tee -a "$TMP/res"
	WORK=$(work "http://127.0.0.1:$PORT" '--proxytunnel')
	run_one egress-tunnel --egress "allow=127.0.0.1/32:$PORT" | tee -a "$TMP/res"
	WORK=$(work "http://10.0.2.2:$PORT" "")
	run_one netuser --net user | tee -a "$TMP/res"
done
awk '
function med(a, n,   i, j, t) { for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++)
	if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
	return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
NF == 5 && $2 > 0 { k = $1; n[k]++; d[k, n[k]] = $2; u[k, n[k]] = $3; t[k, n[k]] = $4; c[k, n[k]] = $5 }
END {
	for (k in n) { for (i = 1; i <= n[k]; i++) { D[i] = d[k, i]; U[i] = u[k, i]; T[i] = t[k, i]; C[i] = c[k, i] }
		md[k] = med(D, n[k]); mu[k] = med(U, n[k]); mt[k] = med(T, n[k]); mc[k] = med(C, n[k])
		printf "median %s (%d rounds): down %.1f MB/s, up %.1f MB/s, small request %.1f ms, host CPU %.2f s\n",
			k, n[k], md[k], mu[k], mt[k], mc[k] }
	for (k in n) if (k != "netuser" && md["netuser"] > 0 && mu["netuser"] > 0 && mt[k] > 0 && mc[k] > 0)
		printf "ratio %s/netuser: down %.2f, up %.2f, request time (netuser/%s) %.2f, CPU (netuser/%s) %.2f\n",
			k, md[k] / md["netuser"], mu[k] / mu["netuser"], k, mt["netuser"] / mt[k], k, mc["netuser"] / mc[k] }' "$TMP/res"
