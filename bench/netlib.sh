# SPDX-License-Identifier: MIT
# bench/netlib.sh: what the network benchmarks (net.sh, netuser.sh,
# egress.sh) share; sourced, with NS (the namespace) and TMP (a temp
# directory) set by the caller. All their traffic stays in NS.

# net_cleanup: kill everything in NS, delete it and TMP (the EXIT trap)
net_cleanup() {
	ip netns pids "$NS" 2>/dev/null | while read -r p; do kill -9 "$p" 2>/dev/null || true; done
	ip netns del "$NS" 2>/dev/null || true
	rm -rf "$TMP"
}

# net_ns_veth: NS with lo up and a veth whose default route leads nowhere
# (passt copies the interface that has the default route)
net_ns_veth() {
	ip netns add "$NS"
	ip netns exec "$NS" sh -c 'ip link set lo up && ip link add v0 type veth peer name v1 &&
		ip addr add 192.0.2.1/24 dev v0 && ip link set v0 up && ip link set v1 up &&
		ip route add default via 192.0.2.254 dev v0'
}

# net_peer_py: $TMP/peer.py recv|send ADDR PORT BYTES, one connection on
# ADDR:PORT; prints the MB/s it measured on the host side
net_peer_py() {
	cat > "$TMP/peer.py" <<'PY'
import socket, sys, time
mode, addr, port, size = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((addr, port)); s.listen(1); s.settimeout(900)
c, _ = s.accept(); c.settimeout(120)
left = size; t0 = time.monotonic()
if mode == "recv":
    while left:
        b = c.recv(1 << 20)
        if not b: break
        left -= len(b)
else:
    blk = bytes(1 << 20)
    while left:
        n = min(left, len(blk)); c.sendall(blk[:n]); left -= n
    c.shutdown(socket.SHUT_WR); c.recv(1)
dt = time.monotonic() - t0
print("%.1f" % ((size - left) / dt / 1e6), flush=True)
PY
}
