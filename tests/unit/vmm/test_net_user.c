// SPDX-License-Identifier: MIT
/*
 * test_net_user.c: vmm/net_user.c against the real passt (Debian's passt
 * package), in a network namespace of this process's own (unshare) with a
 * veth pair and a default route, so passt finds an interface to take its
 * addresses from and nothing leaves the namespace: passt answers ARP for the
 * gateway in its framing, exits when agentvmm's end closes (also when
 * agentvmm is killed), binds forwards on loopback, and a configuration passt
 * refuses comes back as one line with passt's own reason, nothing left
 * running. Needs root and ip(8): skipped (77) otherwise.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "vmm/cli_net.h"
#include "vmm/net_user.h"

static const uint8_t guest_mac[6] = { 2, 0, 0, 0, 0, 0x21 };

static int group_setup(void **state)
{
	if (geteuid() != 0 || access("/usr/sbin/ip", X_OK) || unshare(CLONE_NEWNET)) {
		print_message("skip: needs root, ip(8) and a network namespace of its own\n");
		exit(77);
	}
	/* passt takes its template from the interface with the default route */
	if (system("ip link set lo up && ip link add v0 type veth peer name v1 && "
		   "ip addr add 192.0.2.1/24 dev v0 && ip link set v0 up && ip link set v1 up && "
		   "ip route add default via 192.0.2.254 dev v0"))
		return -1;
	/* passt reparented to us when a test's "agentvmm" dies: we reap it */
	return prctl(PR_SET_CHILD_SUBREAPER, 1);
}

/* A --net user as the CLI parses it, with (extra) options appended. */
static struct vm_net parse(const char *extra)
{
	static struct vm_config cfg;
	char arg[256], err[256];

	memset(&cfg, 0, sizeof(cfg));
	snprintf(arg, sizeof(arg), "user,mac=02:00:00:00:00:21%s", extra);
	if (cli_net(&cfg, arg, err, sizeof(err)))
		fail_msg("%s", err);
	return cfg.nets[0];
}

/* Whether (pid) is gone (reaped by us, or never ours and not there). Waits up to (ms). */
static bool gone_within(pid_t pid, unsigned ms)
{
	struct timespec nap = { 0, 10 * 1000 * 1000 };

	for (unsigned t = 0; t <= ms; t += 10) {
		int st;

		if (waitpid(pid, &st, WNOHANG) == pid || (kill(pid, 0) < 0 && errno == ESRCH))
			return true;
		nanosleep(&nap, NULL);
	}
	return false;
}

/* Read exactly (len) bytes from (fd) within a few seconds. */
static void read_all(int fd, void *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t r;

		assert_int_equal(poll(&p, 1, 5000), 1);
		r = read(fd, (uint8_t *)buf + got, len - got);
		assert_true(r > 0);
		got += (size_t)r;
	}
}

static void test_passt_answers_arp_and_exits_when_our_end_closes(void **state)
{
	struct vm_net nc = parse("");
	struct net_user nu = { 0 };
	char err[256];
	int fd;
	uint8_t f[4 + 42] = { 0 }, *e = f + 4, reply[4 + 1600];
	uint32_t len;

	assert_int_equal(net_user_start(&nu, &nc, &fd, err, sizeof(err)), 0);
	assert_true(nu.pid > 0);
	assert_int_equal(kill(nu.pid, 0), 0);
	assert_true(fcntl(fd, F_GETFL) & O_NONBLOCK);
	/* ARP: who has 10.0.2.2 (the gateway)? tell 10.0.2.15 */
	len = htonl(42);
	memcpy(f, &len, 4);
	memset(e, 0xff, 6);
	memcpy(e + 6, guest_mac, 6);
	e[12] = 0x08, e[13] = 0x06;                             /* ARP */
	e[14] = 0, e[15] = 1, e[16] = 0x08, e[17] = 0, e[18] = 6, e[19] = 4;
	e[20] = 0, e[21] = 1;                                   /* request */
	memcpy(e + 22, guest_mac, 6);
	inet_pton(AF_INET, "10.0.2.15", e + 28);
	inet_pton(AF_INET, "10.0.2.2", e + 38);
	assert_int_equal(write(fd, f, sizeof(f)), (ssize_t)sizeof(f));
	read_all(fd, &len, 4);
	len = ntohl(len);
	assert_true(len >= 42 && len <= 1600);
	read_all(fd, reply, len);
	assert_memory_equal(reply, guest_mac, 6);                /* to us */
	assert_int_equal(reply[12] << 8 | reply[13], 0x0806);
	assert_int_equal(reply[20] << 8 | reply[21], 2);         /* reply */
	uint8_t gw[4];
	inet_pton(AF_INET, "10.0.2.2", gw);
	assert_memory_equal(reply + 28, gw, 4);                  /* for the gateway */
	/* one-off: our end closes, passt exits by itself */
	pid_t pid = nu.pid;
	close(fd);
	assert_true(gone_within(pid, 3000));
	nu.pid = 0;
	net_user_stop(&nu);
	net_user_stop(&nu); /* idempotent */
}

static void test_forward_binds_loopback_port(void **state)
{
	struct vm_net nc = parse(",forward=tcp:47011:80,forward=udp:47012:53");
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(47011) };
	struct net_user nu = { 0 };
	char err[256];
	int fd, c;

	assert_string_equal(nc.forwards[0].addr, "127.0.0.1");
	assert_int_equal(net_user_start(&nu, &nc, &fd, err, sizeof(err)), 0);
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	c = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(connect(c, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(c);
	/* not on the namespace's other address: loopback only */
	inet_pton(AF_INET, "192.0.2.1", &sa.sin_addr);
	c = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(connect(c, (struct sockaddr *)&sa, sizeof(sa)), -1);
	assert_int_equal(errno, ECONNREFUSED);
	close(c);
	close(fd);
	net_user_stop(&nu);
	assert_int_equal(waitpid(-1, NULL, WNOHANG), -1); /* nothing of ours left */
	assert_int_equal(errno, ECHILD);
}

static void test_port_in_use_refused_with_passts_reason(void **state)
{
	struct vm_net nc = parse(",forward=tcp:47021:80");
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(47021) };
	struct net_user nu = { 0 };
	char err[256];
	int fd = 5, l = socket(AF_INET, SOCK_STREAM, 0);

	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	assert_int_equal(bind(l, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(l, 1), 0);
	assert_int_equal(net_user_start(&nu, &nc, &fd, err, sizeof(err)), -EINVAL);
	print_message("  %s\n", err);
	assert_non_null(strstr(err, "--net user: passt exited with status"));
	assert_non_null(strstr(err, "47021"));
	assert_int_equal(fd, -1);
	assert_false(nu.live);
	assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
	close(l);
}

static void test_missing_passt_named(void **state)
{
	struct vm_net nc = parse("");
	struct net_user nu = { 0 };
	char err[256];
	int fd;

	setenv("AGENTVMM_PASST", "/nonexistent/passt", 1);
	assert_int_equal(net_user_start(&nu, &nc, &fd, err, sizeof(err)), -EINVAL);
	unsetenv("AGENTVMM_PASST");
	assert_string_equal(err, "--net user: cannot run /nonexistent/passt: No such file or "
				 "directory (install Debian's passt package, or set AGENTVMM_PASST)");
}

/* agentvmm killed with SIGKILL: its end closes with it, and passt goes too. */
static void test_killed_agentvmm_leaves_no_passt(void **state)
{
	int pp[2];
	pid_t child, passt = 0;

	assert_int_equal(pipe(pp), 0);
	child = fork();
	if (child == 0) {
		struct vm_net nc = parse("");
		struct net_user nu = { 0 };
		char err[256];
		int fd;

		if (net_user_start(&nu, &nc, &fd, err, sizeof(err)))
			_exit(1);
		if (write(pp[1], &nu.pid, sizeof(nu.pid)) != sizeof(nu.pid))
			_exit(1);
		raise(SIGKILL);
	}
	close(pp[1]);
	assert_int_equal(read(pp[0], &passt, sizeof(passt)), sizeof(passt));
	close(pp[0]);
	assert_int_equal(waitpid(child, NULL, 0), child);
	assert_true(gone_within(passt, 3000)); /* reparented to us, the subreaper */
}

/* The resolver the guest gets, for a resolv.conf of (text). */
static enum net_user_dns resolver(const char *extra, const char *text, char *guest)
{
	char path[] = "/tmp/av-test-resolv-XXXXXX";
	int fd = mkstemp(path);
	struct vm_net nc = parse(extra);
	enum net_user_dns m;

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	m = net_user_resolver(&nc, path, guest, 16);
	unlink(path);
	return m;
}

static void test_resolver_follows_the_hosts_first_nameserver(void **state)
{
	char g[16];

	assert_int_equal(resolver("", "# x\nsearch example\nnameserver 192.0.2.53\n", g),
			 NET_DNS_FORWARD);
	assert_string_equal(g, NET_USER_DNS);
	assert_int_equal(resolver("", "nameserver 127.0.0.1\nnameserver 192.0.2.53\n", g),
			 NET_DNS_GATEWAY);
	assert_string_equal(g, "10.0.2.2");
	assert_int_equal(resolver(",ip=192.168.7.9/24,gw=192.168.7.1", "nameserver 127.0.0.1\n", g),
			 NET_DNS_GATEWAY);
	assert_string_equal(g, "192.168.7.1");
	/* systemd-resolved: not reachable through this passt */
	assert_int_equal(resolver("", "nameserver 127.0.0.53\noptions edns0\n", g), NET_DNS_NONE);
	assert_string_equal(g, "");
	/* IPv6 first: the first IPv4 one decides */
	assert_int_equal(resolver("", "nameserver 2001:db8::1\nnameserver 192.0.2.53\n", g),
			 NET_DNS_FORWARD);
	assert_int_equal(resolver("", "", g), NET_DNS_NONE);
	assert_int_equal(resolver(",dns=192.0.2.99", "nameserver 127.0.0.1\n", g), NET_DNS_GIVEN);
	assert_string_equal(g, "192.0.2.99");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_passt_answers_arp_and_exits_when_our_end_closes),
		cmocka_unit_test(test_forward_binds_loopback_port),
		cmocka_unit_test(test_port_in_use_refused_with_passts_reason),
		cmocka_unit_test(test_missing_passt_named),
		cmocka_unit_test(test_killed_agentvmm_leaves_no_passt),
		cmocka_unit_test(test_resolver_follows_the_hosts_first_nameserver),
	};

	return cmocka_run_group_tests(tests, group_setup, NULL);
}
