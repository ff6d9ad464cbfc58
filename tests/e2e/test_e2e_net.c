// SPDX-License-Identifier: MIT
/*
 * test_e2e_net.c: virtio-net against the real Debian cloud kernel, on taps in
 * a network namespace this test creates (and deletes, also on failure): the
 * guest pings the namespace side and is pinged back, link down/up from inside
 * the guest, 256 MiB TCP each way with matching SHA-256, and two NICs. All
 * traffic stays inside the namespace (10.0.2.0/24, 10.0.3.0/24).
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "tests/e2e/e2e.h"
#include "tests/e2e/e2e_leak.h"
#include "tests/helpers/th.h"

#define NET_TIMEOUT_S 600 /* 2 x 256 MiB through nested virtualization */
#define XFER_MIB 256

static struct th_result res;
static char ns[32];
static char dir[] = "/tmp/av-e2e-net-XXXXXX";
static bool ns_made;

/*
 * The host side of the transfers: "recv PORT SIZE" hashes what arrives, "send
 * PORT SIZE" sends. It waits for the guest as long as the test does (its
 * `timeout` wrapper): under load the guest may take minutes to get there.
 */
static const char peer_py[] =
	"import hashlib, random, socket, sys\n"
	"mode, port, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])\n"
	"s = socket.socket()\n"
	"s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
	"s.bind(('10.0.2.1', port)); s.listen(1); s.settimeout(None)\n"
	"c, _ = s.accept(); c.settimeout(300)\n"
	"h = hashlib.sha256(); left = size\n"
	"if mode == 'recv':\n"
	"    while left:\n"
	"        b = c.recv(min(left, 1 << 20))\n"
	"        if not b: break\n"
	"        h.update(b); left -= len(b)\n"
	"else:\n"
	"    blk = random.Random(5).randbytes(1 << 20)\n"
	"    while left:\n"
	"        b = blk[:min(left, len(blk))]\n"
	"        c.sendall(b); h.update(b); left -= len(b)\n"
	"c.close()\n"
	"print(h.hexdigest(), size - left, flush=True)\n";

/* pinger.sh DIR: ping the guest until it answers, note it in DIR/ping, then connect to it. */
static const char pinger_sh[] =
	"for i in $(seq 120); do\n"
	"  if busybox ping -c 1 -W 1 10.0.2.15 >/dev/null 2>&1; then\n"
	"    echo pinged > \"$1/ping\"\n"
	"    exec python3 -c 'import socket, time\n"
	"for i in range(100):\n"
	"    try:\n"
	"        socket.create_connection((\"10.0.2.15\", 7000), 2).sendall(b\"ok\"); break\n"
	"    except OSError: time.sleep(0.3)'\n"
	"  fi\n"
	"  sleep 1\n"
	"done\n";

static void ns_delete(void)
{
	if (ns_made && e2e_sh("ip netns del %s 2>/dev/null", ns) == 0)
		ns_made = false;
}

/* A tap (name) with (addr) on the namespace side, up. */
static void add_tap(const char *name, const char *addr)
{
	assert_int_equal(e2e_sh("ip netns exec %s ip tuntap add %s mode tap && "
				"ip netns exec %s ip addr add %s dev %s && "
				"ip netns exec %s ip link set %s up", ns, name, ns, addr, name, ns,
				name), 0);
}

static int write_file(const char *name, const char *text)
{
	char p[128];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	f = fopen(p, "w");
	if (!f)
		return -1;
	fputs(text, f);
	return fclose(f) ? -1 : 0;
}

static int group_setup(void **state)
{
	if (geteuid() != 0 || e2e_sh("command -v ip >/dev/null") != 0 ||
	    e2e_sh("command -v python3 >/dev/null") != 0 || !e2e_kernel("bzImage")) {
		print_message("skip: needs root, ip, python3 and the test kernel\n");
		exit(77);
	}
	snprintf(ns, sizeof(ns), "avnet%d", (int)getpid());
	if (!mkdtemp(dir) || e2e_sh("ip netns add %s", ns) != 0)
		return -1;
	ns_made = true;
	atexit(ns_delete);
	e2e_sh("ip netns exec %s ip link set lo up", ns);
	return write_file("peer.py", peer_py) || write_file("pinger.sh", pinger_sh) ? -1 : 0;
}

static int group_teardown(void **state)
{
	ns_delete();
	e2e_rm_rf(dir);
	return 0;
}

/* Between tests: no tap left over (ours are deleted explicitly). */
static int teardown(void **state)
{
	e2e_sh("ip netns exec %s ip link del tap0 2>/dev/null", ns);
	e2e_sh("ip netns exec %s ip link del tap1 2>/dev/null", ns);
	return 0;
}

static void boot_for(unsigned timeout_s, const char *const *extra, const char *script)
{
	e2e_boot(&res, timeout_s, E2E_ARGS(e2e_ip_path(), "netns", "exec", ns), extra, script);
}

static void boot(const char *const *extra, const char *script)
{
	boot_for(NET_TIMEOUT_S, extra, script);
	if (res.status == -1)
		fail_msg("boot timed out; stdout: %s\nstderr: %s", res.out, res.err);
}

static void test_e2e_net_ping_both_ways_and_link_down_up(void **state)
{
	const char *extra[] = { "--net", "tap=tap0,ip=10.0.2.15/24,gw=10.0.2.1,dns=10.0.2.3", NULL };

	add_tap("tap0", "10.0.2.1/24");
	/* host side: ping the guest until it answers, then release it through TCP port 7000 */
	e2e_sh("ip netns exec %s timeout %d sh %s/pinger.sh %s >/dev/null 2>&1 &", ns,
	       NET_TIMEOUT_S, dir, dir);
	boot(extra,
	     /* a link that has just come up may answer "unreachable" at first: retry */
	     "up() { i=0; while [ $i -lt 40 ]; do ping -c 1 -w 2 10.0.2.1 >/dev/null 2>&1 "
	     "&& return 0; i=$((i+1)); sleep 0.5; done; return 1; }; "
	     "up || exit 10; ping -c 3 -w 20 10.0.2.1 >/dev/null || exit 10; "
	     "grep -q 10.0.2.3 /etc/resolv.conf || exit 11; "
	     "timeout 60 nc -l -p 7000 | grep -q ok || exit 12; "
	     "ip link set eth0 down; ping -c 1 -w 2 10.0.2.1 >/dev/null 2>&1 && exit 13; "
	     "ip link set eth0 up; ip route add default via 10.0.2.1 2>/dev/null; "
	     "up || exit 14; ping -c 3 -w 20 10.0.2.1 >/dev/null || exit 14; echo net-ok");
	assert_int_equal(res.status, 0);
	assert_non_null(strstr(res.out, "net-ok"));
	char p[128];
	snprintf(p, sizeof(p), "%s/ping", dir);
	assert_int_equal(access(p, F_OK), 0);
}

/* All a host peer wrote: "HASH BYTES", or a traceback when it gave up. */
static const char *peer_said(const char *name)
{
	char p[128];

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return e2e_slurp(p);
}

static void test_e2e_net_256mib_each_way_checksums_match(void **state)
{
	const char *extra[] = { "--mem", "1024", "--net", "tap=tap0,ip=10.0.2.15/24", NULL };
	char want_g2h[80] = "", got[80];
	unsigned long long n = 0;
	unsigned long long size = (unsigned long long)XFER_MIB << 20;

	add_tap("tap0", "10.0.2.1/24");
	e2e_sh("ip netns exec %s timeout %d python3 %s/peer.py recv 7001 %llu > %s/g2h 2>&1 &", ns,
	       NET_TIMEOUT_S, dir, size, dir);
	e2e_sh("ip netns exec %s timeout %d python3 %s/peer.py send 7002 %llu > %s/h2g 2>&1 &", ns,
	       NET_TIMEOUT_S, dir, size, dir);
	char script[512];
	snprintf(script, sizeof(script),
		 "dd if=/dev/urandom of=/tmp/f bs=1M count=%d 2>/dev/null || exit 20; "
		 "echo g2h=$(sha256sum /tmp/f); ping -c 1 -w 20 10.0.2.1 >/dev/null; "
		 "nc 10.0.2.1 7001 < /tmp/f || exit 21; rm /tmp/f; "
		 "echo h2g=$(nc 10.0.2.1 7002 </dev/null | sha256sum)", XFER_MIB);
	boot(extra, script);
	assert_int_equal(res.status, 0);
	/* tagged lines: a kernel message may land on the console in between */
	const char *g = strstr(res.out, "g2h="), *h = strstr(res.out, "h2g=");
	if (!g || !h)
		fail_msg("guest output: %s", res.out);
	/* guest → host */
	assert_int_equal(sscanf(g + 4, "%64s", want_g2h), 1);
	if (sscanf(peer_said("g2h"), "%64s %llu", got, &n) != 2)
		fail_msg("host receiver said: %s", peer_said("g2h"));
	assert_string_equal(got, want_g2h);
	assert_int_equal(n, size);
	/* host → guest */
	char h2g_guest[80];
	assert_int_equal(sscanf(h + 4, "%64s", h2g_guest), 1);
	if (sscanf(peer_said("h2g"), "%64s %llu", got, &n) != 2)
		fail_msg("host sender said: %s", peer_said("h2g"));
	assert_int_equal(n, size);
	assert_string_equal(h2g_guest, got);
}

static void test_e2e_net_two_nics(void **state)
{
	const char *extra[] = { "--net", "tap=tap0,ip=10.0.2.15/24",
				"--net", "tap=tap1,mac=02:00:00:00:00:05,ip=10.0.3.15/24", NULL };

	add_tap("tap0", "10.0.2.1/24");
	add_tap("tap1", "10.0.3.1/24");
	boot(extra, "cat /sys/class/net/eth*/address | sort; ping -c 2 -w 20 10.0.2.1 >/dev/null "
		    "|| exit 30; ping -c 2 -w 20 10.0.3.1 >/dev/null || exit 31; echo two-ok");
	assert_int_equal(res.status, 0);
	assert_non_null(strstr(res.out, "02:00:00:00:00:05\n"));
	assert_non_null(strstr(res.out, "two-ok"));
}

/* A tap agentvmm creates itself is gone after it exits, even after SIGKILL. */
static void test_e2e_net_created_tap_is_removed(void **state)
{
	const char *extra[] = { "--net", "tap=avnew0", NULL };

	boot(extra, "cat /sys/class/net/eth0/operstate");
	assert_int_equal(res.status, 0);
	assert_int_not_equal(e2e_sh("ip netns exec %s ip link show avnew0 >/dev/null 2>&1", ns), 0);
}

/* ... and after SIGKILL: a non-persistent tap dies with agentvmm's fd. */
static void test_e2e_net_created_tap_is_removed_after_sigkill(void **state)
{
	const char *extra[] = { "--net", "tap=avkill0", NULL };

	/* th_run() SIGKILLs the process group when the time is up */
	boot_for(30, extra, "sleep 600");
	assert_int_equal(res.status, -1);
	int ms = leak_wait_link_gone(ns, "avkill0", 5000);

	print_message("  tap gone %d ms after the reap\n", ms);
	assert_true(ms >= 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_e2e_net_ping_both_ways_and_link_down_up, teardown),
		cmocka_unit_test_teardown(test_e2e_net_256mib_each_way_checksums_match, teardown),
		cmocka_unit_test_teardown(test_e2e_net_two_nics, teardown),
		cmocka_unit_test_teardown(test_e2e_net_created_tap_is_removed, teardown),
		cmocka_unit_test_teardown(test_e2e_net_created_tap_is_removed_after_sigkill, teardown),
	};

	/* AV_E2E_ONLY=pattern runs a subset (cmocka's test filter) */
	if (getenv("AV_E2E_ONLY"))
		cmocka_set_test_filter(getenv("AV_E2E_ONLY"));
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
