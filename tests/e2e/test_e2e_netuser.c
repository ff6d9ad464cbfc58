// SPDX-License-Identifier: MIT
/*
 * test_e2e_netuser.c: --net user (passt) against the real Debian cloud kernel
 * and Debian's passt, in a network namespace this test creates (and deletes,
 * also on failure). The namespace has a veth pair with a default route, so
 * passt has an interface to copy, and its own resolv.conf naming a DNS server
 * this test runs on that veth's address; all traffic stays in the namespace
 * (the guest reaches the host's loopback through the gateway address, which
 * passt maps to it, and the resolver through passt's DNS forwarder).
 *
 * - agentvmm run as an unprivileged user (uid 65534) whose only access is a
 *   KVM device node of its own: the guest gets its address, route and MTU,
 *   resolves a name through passt's DNS forwarder, fetches 64 MiB from a host
 *   server (SHA-256 match), and serves a port forwarded to the host.
 * - passt killed mid-run: the guest sees its link go down, the VM runs on to
 *   its end (status 0), agentvmm says so once, and no passt is left.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <cmocka.h>

#include "tests/e2e/e2e.h"
#include "tests/helpers/th.h"

#define TIMEOUT_S 600
#define FETCH_MIB 64
#define NOBODY 65534

static struct th_result res;
static char ns[32];
static char dir[] = "/tmp/av-e2e-netuser-XXXXXX";
static bool ns_made, made_resolv;

/*
 * serve.py PORT SIZE: send SIZE pseudo-random bytes to the first client on
 * 127.0.0.1:PORT, then print their SHA-256.
 */
static const char serve_py[] =
	"import hashlib, random, socket, sys\n"
	"port, size = int(sys.argv[1]), int(sys.argv[2])\n"
	"s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
	"s.bind(('127.0.0.1', port)); s.listen(1)\n"
	"c, _ = s.accept(); c.settimeout(300)\n"
	"h = hashlib.sha256(); blk = random.Random(7).randbytes(1 << 20); left = size\n"
	"while left:\n"
	"    b = blk[:min(left, len(blk))]; c.sendall(b); h.update(b); left -= len(b)\n"
	"c.close(); print(h.hexdigest(), flush=True)\n";

/*
 * dns.py NAME ADDR: answer A queries for NAME with ADDR on 192.0.2.1:53 (the
 * namespace's own veth address, its resolv.conf's nameserver), NXDOMAIN else.
 */
static const char dns_py[] =
	"import socket, struct, sys\n"
	"name, addr = sys.argv[1].lower(), socket.inet_aton(sys.argv[2])\n"
	"s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('192.0.2.1', 53))\n"
	"while True:\n"
	"    q, peer = s.recvfrom(512)\n"
	"    i, labels = 12, []\n"
	"    while q[i]: labels.append(q[i + 1:i + 1 + q[i]].decode().lower()); i += 1 + q[i]\n"
	"    qtype = struct.unpack('>H', q[i + 1:i + 3])[0]; question = q[12:i + 5]\n"
	"    hit = '.'.join(labels) == name\n"
	"    flags = 0x8180 if hit else 0x8183\n"
	"    an = 1 if hit and qtype == 1 else 0\n"
	"    r = q[:2] + struct.pack('>HHHHH', flags, 1, an, 0, 0) + question\n"
	"    if an: r += b'\\xc0\\x0c' + struct.pack('>HHIH', 1, 1, 60, 4) + addr\n"
	"    s.sendto(r, peer)\n";

/*
 * fwd.py PORT READY: wait for the guest to say (a connection to
 * 127.0.0.1:READY) that it listens, then connect to 127.0.0.1:PORT, send a
 * line, close. The host speaks first, as a client of a server does: Debian
 * 12's passt drops what the guest sends first on a forwarded connection
 * (docs/net.md).
 */
static const char fwd_py[] =
	"import socket, sys\n"
	"r = socket.socket(); r.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
	"r.bind(('127.0.0.1', int(sys.argv[2]))); r.listen(1); r.accept()\n"
	"c = socket.create_connection(('127.0.0.1', int(sys.argv[1])), 30)\n"
	"c.sendall(b'fwd-ok\\n'); c.close(); print('sent', flush=True)\n";

/*
 * killer.sh NS PORT: when the guest connects to 127.0.0.1:PORT, SIGKILL every
 * passt in namespace NS (the guest's own back end).
 */
static const char killer_sh[] =
	"python3 -c 'import socket, sys\n"
	"s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
	"s.bind((\"127.0.0.1\", int(sys.argv[1]))); s.listen(1); s.accept()' $2 || exit 1\n"
	"for p in $(ip netns pids $1); do\n"
	"  case $(cat /proc/$p/comm 2>/dev/null) in passt*) kill -9 $p && echo killed $p ;; esac\n"
	"done\n";

static void ns_delete(void)
{
	if (ns_made && e2e_sh("ip netns del %s 2>/dev/null", ns) == 0)
		ns_made = false;
	e2e_sh("rm -rf /etc/netns/%s", ns);
	if (made_resolv && unlink("/etc/resolv.conf") == 0)
		made_resolv = false;
}

/* (dir)/(name) holds (text) now; 0 or -1. */
static int write_file(const char *name, const char *text)
{
	char p[128];

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return e2e_write_file(p, text);
}

/* (dir)/(name); four buffers in turn, so one call may take several. */
static const char *dir_file(const char *name)
{
	static char p[4][128];
	static unsigned i;

	i = (i + 1) % 4;
	snprintf(p[i], sizeof(p[i]), "%s/%s", dir, name);
	return p[i];
}

static int group_setup(void **state)
{
	if (geteuid() != 0 || e2e_sh("command -v ip >/dev/null") != 0 ||
	    e2e_sh("command -v python3 >/dev/null") != 0 || !e2e_kernel("bzImage")) {
		print_message("skip: needs root, ip, python3 and the test kernel\n");
		exit(77);
	}
	snprintf(ns, sizeof(ns), "avnu%d", (int)getpid());
	if (!mkdtemp(dir) || chmod(dir, 0755) || e2e_sh("ip netns add %s", ns) != 0)
		return -1;
	ns_made = true;
	atexit(ns_delete);
	/* passt copies the interface with the default route; the route leads nowhere */
	if (e2e_sh("ip netns exec %s sh -c 'ip link set lo up && "
		   "ip link add v0 type veth peer name v1 && ip addr add 192.0.2.1/24 dev v0 && "
		   "ip link set v0 up && ip link set v1 up && "
		   "ip route add default via 192.0.2.254 dev v0'", ns) != 0)
		return -1;
	/*
	 * ip netns exec mounts this over /etc/resolv.conf (which must exist: a
	 * test host has none, made here and removed after): the test's DNS server
	 */
	if (access("/etc/resolv.conf", F_OK) != 0 && e2e_sh("touch /etc/resolv.conf") == 0)
		made_resolv = true;
	if (e2e_sh("mkdir -p /etc/netns/%s && echo 'nameserver 192.0.2.1' > /etc/netns/%s/resolv.conf",
		   ns, ns) != 0)
		return -1;
	/* an unprivileged user's own KVM node, and a home for its initramfs cache */
	if (e2e_sh("mknod -m 600 %s/kvm c 10 232 && chown %d %s/kvm && mkdir %s/home && "
		   "chown %d %s/home", dir, NOBODY, dir, dir, NOBODY, dir) != 0)
		return -1;
	return write_file("serve.py", serve_py) || write_file("dns.py", dns_py) ||
	       write_file("fwd.py", fwd_py) || write_file("killer.sh", killer_sh) ? -1 : 0;
}

static int group_teardown(void **state)
{
	ns_delete();
	e2e_rm_rf(dir);
	return 0;
}

/* After each test: nothing of the test's left in the namespace, and no passt. */
static int teardown(void **state)
{
	e2e_sh("for p in $(ip netns pids %s); do kill -9 $p; done 2>/dev/null", ns);
	return 0;
}

static unsigned passts_in_ns(void)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "n=0; for p in $(ip netns pids %s); do case $(cat "
		 "/proc/$p/comm 2>/dev/null) in passt*) n=$((n+1));; esac; done; echo $n", ns);
	return (unsigned)atoi(e2e_host_line(cmd));
}

static void test_e2e_netuser_unprivileged_fetch_resolve_forward(void **state)
{
	char kvm[160], home[160], old_home[256], uid[16], gid[16], script[768];
	unsigned long long size = (unsigned long long)FETCH_MIB << 20;
	const char *got;

	snprintf(kvm, sizeof(kvm), "%s/kvm", dir);
	snprintf(home, sizeof(home), "%s/home", dir);
	snprintf(old_home, sizeof(old_home), "%s", getenv("HOME") ? getenv("HOME") : "/root");
	snprintf(uid, sizeof(uid), "--reuid=%d", NOBODY);
	snprintf(gid, sizeof(gid), "--regid=%d", NOBODY);
	e2e_sh("ip netns exec %s timeout %d python3 %s 47100 %llu > %s 2>&1 &", ns, TIMEOUT_S,
	       dir_file("serve.py"), size, dir_file("served"));
	e2e_sh("ip netns exec %s timeout %d python3 %s files.agentvmm.test 10.0.2.2 >%s 2>&1 &",
	       ns, TIMEOUT_S, dir_file("dns.py"), dir_file("dns.log"));
	e2e_sh("ip netns exec %s timeout %d python3 %s 47101 47103 > %s 2>&1 &", ns, TIMEOUT_S,
	       dir_file("fwd.py"), dir_file("fwd"));
	snprintf(script, sizeof(script),
		 "ip -4 addr show eth0 | grep -q 'inet 10.0.2.15/24' || exit 10; "
		 "echo mtu=$(cat /sys/class/net/eth0/mtu); "
		 "nslookup files.agentvmm.test > /tmp/ns 2>&1; "
		 "grep -q 'Address.*10.0.2.2' /tmp/ns || { cat /tmp/ns; exit 11; }; "
		 /* stdin held open: Debian 12's passt mishandles a connection the guest
		  * half-closes while the host still sends (docs/net.md) */
		 "mkfifo /tmp/hold; exec 3<>/tmp/hold; "
		 "echo got=$(nc 10.0.2.2 47100 <&3 | sha256sum); "
		 "timeout 300 nc -l -p 7000 <&3 >/tmp/fwd & sleep 1; "
		 "echo ready | timeout 60 nc 10.0.2.2 47103; wait $! || exit 13; "
		 "echo fwd=$(cat /tmp/fwd); "
		 "echo user-ok");
	const char *prefix[] = { e2e_ip_path(), "netns", "exec", ns, "setpriv", uid, gid,
				 "--clear-groups", NULL };
	const char *extra[] = { "--net", "user,forward=tcp:47101:7000", NULL };
	setenv("AGENTVMM_KVM_DEVICE", kvm, 1);
	setenv("HOME", home, 1);
	e2e_boot(&res, TIMEOUT_S, prefix, extra, script);
	unsetenv("AGENTVMM_KVM_DEVICE");
	setenv("HOME", old_home, 1);
	if (res.status != 0)
		fail_msg("status %d; the DNS server said: %s; the file server said: %s; the "
			 "forward client said: %s", res.status, e2e_slurp(dir_file("dns.log")),
			 e2e_slurp(dir_file("served")), e2e_slurp(dir_file("fwd")));
	assert_non_null(strstr(res.out, "mtu=65520"));
	assert_non_null(strstr(res.out, "user-ok"));
	got = strstr(res.out, "got=");
	assert_non_null(got);
	const char *served = e2e_slurp(dir_file("served"));
	if (strncmp(got + 4, served, 64) != 0)
		fail_msg("guest read %.64s, host served %s", got + 4, served);
	if (!strstr(res.out, "fwd=fwd-ok"))
		fail_msg("the host's client of the forwarded port said: '%s'; guest: %s",
			 e2e_slurp(dir_file("fwd")), res.out);
	assert_int_equal(passts_in_ns(), 0);
}

static void test_e2e_netuser_passt_killed_link_down_vm_runs_on(void **state)
{
	const char *extra[] = { "--net", "user", NULL };

	e2e_sh("ip netns exec %s timeout %d sh %s %s 47102 > %s 2>&1 &", ns, TIMEOUT_S,
	       dir_file("killer.sh"), ns, dir_file("killed"));
	e2e_boot(&res, TIMEOUT_S, E2E_ARGS(e2e_ip_path(), "netns", "exec", ns), extra,
		 "echo carrier=$(cat /sys/class/net/eth0/carrier); "
		 "echo hi | timeout 30 nc 10.0.2.2 47102; "
		 "i=0; while [ $i -lt 300 ]; do "
		 "  [ \"$(cat /sys/class/net/eth0/carrier)\" = 0 ] && { echo link-down; exit 0; }; "
		 "  i=$((i+1)); sleep 0.2; done; exit 20");
	if (res.status != 0)
		fail_msg("status %d; the killer said: %s", res.status, e2e_slurp(dir_file("killed")));
	assert_non_null(strstr(res.out, "carrier=1"));
	assert_non_null(strstr(res.out, "link-down"));
	assert_non_null(strstr(e2e_slurp(dir_file("killed")), "killed"));
	assert_non_null(strstr(res.err, "the guest's link is down"));
	assert_non_null(strstr(res.err, "passt ended with signal 9"));
	assert_int_equal(passts_in_ns(), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_e2e_netuser_unprivileged_fetch_resolve_forward,
					  teardown),
		cmocka_unit_test_teardown(test_e2e_netuser_passt_killed_link_down_vm_runs_on,
					  teardown),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
