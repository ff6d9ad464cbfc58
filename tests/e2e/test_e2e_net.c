// SPDX-License-Identifier: MIT
/*
 * test_e2e_net.c: virtio-net against the real Debian cloud kernel, on taps in
 * a network namespace this test creates (and deletes, also on failure): the
 * guest pings the namespace side and is pinged back, link down/up from inside
 * the guest, 32 MiB TCP each way with matching SHA-256, and two NICs; issue
 * 16: two queue pairs on a multi_queue tap with 2 vCPUs (iperf3 over both),
 * taps agentvmm creates multi_queue, and a macvtap passed as inherited fds
 * (--net fd=). All traffic stays inside the namespace (10.0.2.0/24 to
 * 10.0.5.0/24).
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

/*
 * 2 x 32 MiB through nested virtualization. The transfers run at what the
 * test host's emulated CPU gives the guest: 0.5 MB/s measured for 2 x 64 MiB
 * (258 s) in a test host on 2 cores with a second one beside it. 32 MiB is
 * still hundreds of socket buffers and many ring wrap-arounds each way.
 */
#define NET_TIMEOUT_S 600
#define XFER_MIB 32

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

/*
 * pinger.sh DIR [IP]: ping the guest (IP, default 10.0.2.15) until it answers,
 * note it in DIR/ping, then connect to it.
 */
static const char pinger_sh[] =
	"ip=${2:-10.0.2.15}\n"
	"for i in $(seq 120); do\n"
	"  if busybox ping -c 1 -W 1 $ip >/dev/null 2>&1; then\n"
	"    echo pinged > \"$1/ping\"\n"
	"    exec python3 -c 'import socket, sys, time\n"
	"for i in range(100):\n"
	"    try:\n"
	"        socket.create_connection((sys.argv[1], 7000), 2).sendall(b\"ok\"); break\n"
	"    except OSError: time.sleep(0.3)' $ip\n"
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

/* (dir)/(name) holds (text) now; 0 or -1. */
static int write_file(const char *name, const char *text)
{
	char p[128];

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return e2e_write_file(p, text);
}

static void unlink_in_dir(const char *name)
{
	char p[128];

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	unlink(p);
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
	e2e_sh("ip netns exec %s ip link del tapmq 2>/dev/null", ns);
	e2e_sh("ip netns exec %s ip link del tapmq1 2>/dev/null", ns);
	e2e_sh("ip netns exec %s ip link del vp0 2>/dev/null", ns); /* with mv0 and vp1 */
	unlink_in_dir("ping");
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

static void test_e2e_net_32mib_each_way_checksums_match(void **state)
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
	/* each link may answer "unreachable" at first, and a loaded test host is slow: retry */
	boot(extra, "cat /sys/class/net/eth*/address | sort; "
		    "up() { i=0; while [ $i -lt 60 ]; do ping -c 1 -w 2 $1 >/dev/null 2>&1 "
		    "&& return 0; i=$((i+1)); sleep 0.5; done; return 1; }; "
		    "up 10.0.2.1 || exit 30; up 10.0.3.1 || exit 31; echo two-ok");
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


/*
 * The frames each queue pair moved, from agentvmm's -v line "virtio-net
 * NAME: frames per queue pair: 0: rx A tx B, 1: rx C tx D"; false when absent.
 */
static bool pair_frames(const char *err, const char *name, unsigned long long v[4])
{
	char key[64];
	const char *l;

	snprintf(key, sizeof(key), "virtio-net %s: frames per queue pair: ", name);
	l = strstr(err, key);
	return l && sscanf(l + strlen(key), "0: rx %llu tx %llu, 1: rx %llu tx %llu", &v[0], &v[1],
			   &v[2], &v[3]) == 4;
}

/*
 * issue 16: a tap made as microvm.nix makes it for vCPUs > 1 (multi_queue,
 * vnet_hdr), queues=2 and 2 vCPUs: the guest has two queue pairs, and one
 * iperf3 client per vCPU (one sending, one receiving, each pinned) moves
 * frames through both, by agentvmm's count per pair and the guest's
 * interrupts per queue.
 */
static void test_e2e_net_multiqueue_two_pairs_carry_traffic(void **state)
{
	const char *extra[] = { "-v", "--cmdline", "loglevel=1", "--cpus", "2", "--mem", "768",
				"--share", "ro:/usr", "--net", "tap=tapmq,queues=2,ip=10.0.4.15/24",
				NULL };
	unsigned long long v[4];

	if (e2e_sh("command -v iperf3 >/dev/null && command -v taskset >/dev/null") != 0)
		skip();
	assert_int_equal(e2e_sh("ip netns exec %s ip tuntap add tapmq mode tap vnet_hdr "
				"multi_queue && ip netns exec %s ip addr add 10.0.4.1/24 dev "
				"tapmq && ip netns exec %s ip link set tapmq up", ns, ns, ns), 0);
	for (int port = 5201; port <= 5202; port++)
		e2e_sh("ip netns exec %s timeout %d iperf3 -s -1 -B 10.0.4.1 -p %d > %s/iperf%d "
		       "2>&1 &", ns, NET_TIMEOUT_S, port, dir, port);
	boot(extra,
	     "echo rxq=$(ls -d /sys/class/net/eth0/queues/rx-* | wc -l) "
	     "txq=$(ls -d /sys/class/net/eth0/queues/tx-* | wc -l); "
	     /* the root around the host's /usr may have no ping: busybox's then */
	     "P=ping; command -v ping >/dev/null || P='busybox ping'; "
	     "i=0; until $P -c 1 -w 2 10.0.4.1 >/dev/null 2>&1; do i=$((i+1)); "
	     "[ $i -lt 40 ] || exit 40; sleep 0.5; done; "
	     "taskset -c 0 iperf3 -c 10.0.4.1 -p 5201 -t 5 -P 2 > /tmp/i1 2>&1 & a=$!; "
	     "taskset -c 1 iperf3 -c 10.0.4.1 -p 5202 -t 5 -P 2 -R > /tmp/i2 2>&1 & b=$!; "
	     "wait $a || { cat /tmp/i1; exit 41; }; wait $b || { cat /tmp/i2; exit 42; }; "
	     "grep -h 'SUM.*receiver' /tmp/i1 /tmp/i2 | sed 's/^/iperf: /'; "
	     "grep -E 'virtio[0-9]+-(input|output)' /proc/interrupts | "
	     "awk '{ n = 0; for (i = 2; i <= NF - 3; i++) n += $i; print \"irq \" $NF \" \" n }'; "
	     "echo mq-ok");
	if (res.status != 0 || !strstr(res.out, "mq-ok"))
		fail_msg("status %d\nstdout: %s\nstderr: %s", res.status, res.out, res.err);
	assert_non_null(strstr(res.out, "rxq=2 txq=2"));
	if (!pair_frames(res.err, "tapmq", v))
		fail_msg("no per-pair count in: %s", res.err);
	print_message("  frames per pair: 0: rx %llu tx %llu, 1: rx %llu tx %llu\n", v[0], v[1],
		      v[2], v[3]);
	for (const char *l = strstr(res.out, "iperf: "); l; l = strstr(l + 1, "iperf: "))
		print_message("  %.*s\n", (int)strcspn(l, "\r\n"), l);
	for (const char *l = strstr(res.out, "irq "); l; l = strstr(l + 1, "\nirq "))
		print_message("  %.*s\n", (int)strcspn(l + (*l == '\n'), "\r\n"), l + (*l == '\n'));
	/* both pairs moved frames both ways */
	assert_true(v[0] > 0 && v[1] > 0 && v[2] > 0 && v[3] > 0);
}

/*
 * A tap agentvmm creates for queues=2 is multi_queue, and gone afterwards; an
 * existing multi_queue tap works with one queue (microvm.nix makes every tap
 * multi_queue when vCPUs > 1, whatever the runner asks for).
 */
static void test_e2e_net_created_multiqueue_tap_and_one_queue_on_multi_queue(void **state)
{
	const char *extra[] = { "--cpus", "2", "--net", "tap=avmqnew0,queues=2", "--net",
				"tap=tapmq1,mac=02:00:00:00:04:01,ip=10.0.3.15/24", NULL };

	assert_int_equal(e2e_sh("ip netns exec %s ip tuntap add tapmq1 mode tap vnet_hdr "
				"multi_queue && ip netns exec %s ip addr add 10.0.3.1/24 dev "
				"tapmq1 && ip netns exec %s ip link set tapmq1 up", ns, ns, ns), 0);
	boot(extra, "for e in /sys/class/net/eth*; do echo $(cat $e/address) "
		    "$(ls -d $e/queues/rx-* | wc -l); done; "
		    "i=0; until ping -c 1 -w 2 10.0.3.1 >/dev/null 2>&1; do i=$((i+1)); "
		    "[ $i -lt 40 ] || exit 50; sleep 0.5; done; echo one-ok");
	if (res.status != 0 || !strstr(res.out, "one-ok"))
		fail_msg("status %d\nstdout: %s\nstderr: %s", res.status, res.out, res.err);
	assert_non_null(strstr(res.out, "02:00:00:00:04:01 1\n"));
	assert_non_null(strstr(res.out, " 2\n")); /* the created one: two pairs */
	int ms = leak_wait_link_gone(ns, "avmqnew0", 5000);
	assert_true(ms >= 0);
}

/*
 * The macvtap way of microvm.nix: a macvtap (bridge mode) on one end of a
 * veth pair, its /dev/tapN opened by the parent shell as fd 3 (and 4 with
 * two queues), `--net fd=3,mac=<mv0's MAC>`; the guest pings the other veth
 * end and is pinged back from it.
 */
static void macvtap_boot(const char *fds, const char *cpus)
{
	char open_fds[256], net[96];
	const char *prefix[] = { e2e_ip_path(), "netns", "exec", ns, "sh", "-c", open_fds, NULL };
	const char *extra[] = { "--cpus", cpus, "--net", net, NULL };

	assert_int_equal(e2e_sh("ip netns exec %s sh -c 'ip link add vp0 type veth peer name "
				"vp1 && ip link add link vp0 name mv0 address 02:00:00:00:05:0f type "
				"macvtap mode bridge && ip addr add 10.0.5.1/24 dev vp1 && "
				"ip link set vp1 up && ip link set vp0 up && ip link set mv0 up'",
				ns), 0);
	/* the shell opens /dev/tapN once per queue, then becomes agentvmm */
	snprintf(open_fds, sizeof(open_fds),
		 "t=/dev/tap$(cat /sys/class/net/mv0/ifindex); exec 3<>$t %s; exec \"$0\" \"$@\"",
		 strchr(fds, ':') ? "4<>$t" : "");
	snprintf(net, sizeof(net), "fd=%s,mac=02:00:00:00:05:0f,ip=10.0.5.15/24", fds);
	unlink_in_dir("ping");
	e2e_sh("ip netns exec %s timeout %d sh %s/pinger.sh %s 10.0.5.15 >/dev/null 2>&1 &", ns,
	       NET_TIMEOUT_S, dir, dir);
	e2e_boot(&res, NET_TIMEOUT_S, prefix, extra,
		 "echo rxq=$(ls -d /sys/class/net/eth0/queues/rx-* | wc -l); "
		 "i=0; until ping -c 1 -w 2 10.0.5.1 >/dev/null 2>&1; do i=$((i+1)); "
		 "[ $i -lt 40 ] || exit 60; sleep 0.5; done; "
		 "ping -c 3 -w 20 10.0.5.1 >/dev/null || exit 61; "
		 "timeout 60 nc -l -p 7000 | grep -q ok || exit 62; echo macvtap-ok");
	if (res.status != 0 || !strstr(res.out, "macvtap-ok"))
		fail_msg("status %d\nstdout: %s\nstderr: %s", res.status, res.out, res.err);
	char p[128];
	snprintf(p, sizeof(p), "%s/ping", dir);
	assert_int_equal(access(p, F_OK), 0); /* host -> guest */
}

static void test_e2e_net_macvtap_fd_both_ways(void **state)
{
	if (e2e_sh("ip netns exec %s ip link add vpt type veth peer name vpt1 && ip netns exec %s "
		   "ip link add link vpt name mvt type macvtap && ip netns exec %s ip link del vpt",
		   ns, ns, ns) != 0)
		skip(); /* no macvtap in this kernel */
	macvtap_boot("3", "1");
	assert_non_null(strstr(res.out, "rxq=1"));
}

/* microvm.nix with vCPUs > 1: one fd per queue pair. */
static void test_e2e_net_macvtap_two_fds_two_pairs(void **state)
{
	if (e2e_sh("ip netns exec %s ip link add vpt type veth peer name vpt1 && ip netns exec %s "
		   "ip link add link vpt name mvt type macvtap && ip netns exec %s ip link del vpt",
		   ns, ns, ns) != 0)
		skip();
	macvtap_boot("3:4", "2");
	assert_non_null(strstr(res.out, "rxq=2"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_e2e_net_ping_both_ways_and_link_down_up, teardown),
		cmocka_unit_test_teardown(test_e2e_net_32mib_each_way_checksums_match, teardown),
		cmocka_unit_test_teardown(test_e2e_net_two_nics, teardown),
		cmocka_unit_test_teardown(test_e2e_net_created_tap_is_removed, teardown),
		cmocka_unit_test_teardown(test_e2e_net_created_tap_is_removed_after_sigkill, teardown),
		cmocka_unit_test_teardown(test_e2e_net_multiqueue_two_pairs_carry_traffic,
					  teardown),
		cmocka_unit_test_teardown(
			test_e2e_net_created_multiqueue_tap_and_one_queue_on_multi_queue, teardown),
		cmocka_unit_test_teardown(test_e2e_net_macvtap_fd_both_ways, teardown),
		cmocka_unit_test_teardown(test_e2e_net_macvtap_two_fds_two_pairs, teardown),
	};

	/* AV_E2E_ONLY=pattern runs a subset (cmocka's test filter) */
	if (getenv("AV_E2E_ONLY"))
		cmocka_set_test_filter(getenv("AV_E2E_ONLY"));
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
