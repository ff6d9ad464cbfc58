// SPDX-License-Identifier: MIT
/*
 * test_e2e_egress.c: --egress against the real Debian cloud kernel: the guest
 * has no network card, guest-init's forwarder carries the job's proxy
 * connections over vsock to agentvmm's egress proxy, which lets through only
 * the allow list. All traffic stays on the test host's loopback: two HTTP
 * servers on 127.0.0.1 and names for them in an /etc/hosts of a private mount
 * namespace agentvmm runs in (the proxy resolves names on the host).
 *
 * - allow mode: the allowed name is reached with curl through the proxy
 *   variables, as a CONNECT tunnel and as a plain proxied GET (4 MiB, SHA-256
 *   match); a name not in the list, a raw IP, a direct connect that ignores
 *   the proxy, a DNS lookup from the guest and a CONNECT to 127.0.0.1 all
 *   fail, the refusals are logged, and the other server sees nothing.
 * - log mode: everything named is allowed (not the host's loopback unless
 *   listed), the hosts reached are listed once in log=PATH.
 * - agentvmm killed with SIGKILL mid-run: no proxy is left.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "tests/e2e/e2e.h"
#include "tests/helpers/th.h"

#define TIMEOUT_S 400
#define PORT_OK 47200     /* the allowed server */
#define PORT_SECRET 47201 /* a server on the host's loopback nobody may reach */
#define NAME_OK "files.agentvmm.test"
#define NAME_OTHER "other.agentvmm.test"

static struct th_result res;
static char dir[] = "/tmp/av-e2e-egress-XXXXXX";
static char mount_cmd[512];
static bool made_hosts;

/* secret.py PORT: log every connection to 127.0.0.1:PORT (there must be none) */
static const char secret_py[] =
	"import socket, sys\n"
	"s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
	"s.bind(('127.0.0.1', int(sys.argv[1]))); s.listen(8)\n"
	"while True:\n"
	"    c, a = s.accept(); print('connection from', a, flush=True); c.close()\n";

static const char *dir_file(const char *name)
{
	static char p[4][160];
	static unsigned i;

	i = (i + 1) % 4;
	snprintf(p[i], sizeof(p[i]), "%s/%s", dir, name);
	return p[i];
}

static void servers_stop(void)
{
	e2e_sh("for f in %s/*.pid; do [ -f \"$f\" ] && kill $(cat \"$f\"); done 2>/dev/null; "
	       "rm -f %s/*.pid", dir, dir);
	if (made_hosts && unlink("/etc/hosts") == 0)
		made_hosts = false;
}

static int group_setup(void **state)
{
	char hosts[600];

	if (geteuid() != 0 || e2e_sh("command -v unshare python3 curl sha256sum >/dev/null") != 0 ||
	    !e2e_kernel("bzImage")) {
		print_message("skip: needs root, unshare, python3, curl and the test kernel\n");
		exit(77);
	}
	if (!mkdtemp(dir) || chmod(dir, 0755) || e2e_sh("mkdir %s/www && head -c %d /dev/urandom "
							 "> %s/www/data", dir, 4 << 20, dir))
		return -1;
	atexit(servers_stop);
	/* the names, in an /etc/hosts agentvmm (and its proxy) see in their own mount namespace */
	if (access("/etc/hosts", F_OK) != 0 && e2e_sh("touch /etc/hosts") == 0)
		made_hosts = true;
	snprintf(hosts, sizeof(hosts), "127.0.0.1 localhost\n127.0.0.1 %s\n127.0.0.1 %s\n",
		 NAME_OK, NAME_OTHER);
	if (e2e_write_file(dir_file("hosts"), hosts) ||
	    e2e_write_file(dir_file("secret.py"), secret_py))
		return -1;
	snprintf(mount_cmd, sizeof(mount_cmd), "mount --bind %s /etc/hosts && exec \"$0\" \"$@\"",
		 dir_file("hosts"));
	if (e2e_sh("cd %s/www && { timeout %d python3 -m http.server --bind 127.0.0.1 %d "
		   "> %s/www.log 2>&1 & echo $! > %s/www.pid; }", dir, 3 * TIMEOUT_S, PORT_OK,
		   dir, dir) ||
	    e2e_sh("{ timeout %d python3 %s %d > %s/secret.log 2>&1 & echo $! > %s/secret.pid; }",
		   3 * TIMEOUT_S, dir_file("secret.py"), PORT_SECRET, dir, dir))
		return -1;
	/* both listening before any guest asks */
	return e2e_sh("for i in $(seq 100); do python3 -c 'import socket; "
		      "[socket.create_connection((\"127.0.0.1\", p)).close() for p in (%d, %d)]' "
		      "2>/dev/null && exit 0; sleep 0.1; done; exit 1", PORT_OK, PORT_SECRET);
}

static int group_teardown(void **state)
{
	servers_stop();
	e2e_rm_rf(dir);
	return 0;
}

/* agentvmm in a mount namespace whose /etc/hosts names the test's servers */
#define IN_NS "/usr/bin/unshare", "-m", "--propagation", "private", "/bin/sh", "-c", mount_cmd

static const char *sha_of_data(void)
{
	static char sha[80];
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "sha256sum < %s/www/data | cut -c1-64", dir);
	snprintf(sha, sizeof(sha), "%s", e2e_host_line(cmd));
	return sha;
}

static void test_e2e_egress_allow_list(void **state)
{
	char allow[200], script[2400];

	snprintf(allow, sizeof(allow), "allow=%s:%d,127.0.0.1/32:%d", NAME_OK, PORT_OK, PORT_OK);
	snprintf(script, sizeof(script),
		 "echo nics=$(ls /sys/class/net | tr '\\n' ' '); "
		 "echo proxy=$HTTPS_PROXY; "
		 /* the allowed name, through a CONNECT tunnel and as a proxied GET */
		 "echo tunnel=$(curl -sS --max-time 120 --proxytunnel http://%s:%d/data | sha256sum); "
		 "echo get=$(curl -sS --max-time 120 http://%s:%d/data | sha256sum); "
		 /* what must fail: curl's %%{http_connect} is the proxy's answer to CONNECT */
		 "echo other=$(curl -s -o /dev/null --max-time 30 --proxytunnel -w '%%{http_connect}' "
		 "  http://%s:%d/); "
		 /* NO_PROXY names 127.0.0.1, and curl honours it even with -x */
		 "echo rawip=$(NO_PROXY= no_proxy= curl -s -o /dev/null --max-time 30 "
		 "  --proxytunnel -w '%%{http_connect}' http://127.0.0.1:%d/); "
		 "echo plain=$(curl -s -o /dev/null --max-time 30 -w '%%{http_code}' http://%s:%d/); "
		 "curl -s --max-time 10 --noproxy '*' http://10.0.2.2:%d/ >/dev/null; echo direct=$?; "
		 "getent hosts %s >/dev/null; echo dns=$?; "
		 "echo egress-ok",
		 NAME_OK, PORT_OK, NAME_OK, PORT_OK, NAME_OTHER, PORT_SECRET, PORT_SECRET,
		 NAME_OTHER, PORT_SECRET, PORT_OK, NAME_OK);
	e2e_sh(": > %s", dir_file("secret.log"));
	e2e_boot(&res, TIMEOUT_S, E2E_ARGS(IN_NS),
		 E2E_ARGS("--share", "ro:/usr", "--egress", allow), script);
	print_message("  guest said:\n%s  agentvmm said:\n%s", res.out, res.err);
	assert_int_equal(res.status, 0);
	assert_non_null(strstr(res.out, "nics=lo\n"));
	assert_non_null(strstr(res.out, "proxy=http://127.0.0.1:3128"));
	const char *sha = sha_of_data(), *t = strstr(res.out, "tunnel="), *g = strstr(res.out, "get=");
	assert_non_null(t);
	assert_non_null(g);
	if (strncmp(t + 7, sha, 64) || strncmp(g + 4, sha, 64))
		fail_msg("host served %s; guest: %s", sha, res.out);
	assert_non_null(strstr(res.out, "other=403"));
	assert_non_null(strstr(res.out, "rawip=403"));
	assert_non_null(strstr(res.out, "plain=403"));
	assert_null(strstr(res.out, "direct=0"));
	assert_null(strstr(res.out, "dns=0"));
	assert_non_null(strstr(res.out, "egress-ok"));
	/* one line per refused host (the proxied GET to the same one is within the rate limit) */
	assert_non_null(strstr(res.err, "egress: refused " NAME_OTHER));
	assert_non_null(strstr(res.err, "egress: refused 127.0.0.1"));
	assert_string_equal(e2e_slurp(dir_file("secret.log")), "");
}

static void test_e2e_egress_log_mode_lists_hosts(void **state)
{
	char arg[400], script[800];
	const char *list;

	/* log mode: names are free, the host's loopback still needs its address listed */
	snprintf(arg, sizeof(arg), "log=%s,allow=127.0.0.1/32:%d", dir_file("reached"), PORT_OK);
	snprintf(script, sizeof(script),
		 "for i in 1 2; do curl -sS --max-time 60 -o /dev/null http://%s:%d/data; done; "
		 "echo other=$(curl -s -o /dev/null --max-time 30 --proxytunnel -w '%%{http_connect}' "
		 "  http://%s:%d/); echo log-ok",
		 NAME_OK, PORT_OK, NAME_OTHER, PORT_SECRET);
	e2e_sh(": > %s", dir_file("secret.log"));
	e2e_boot(&res, TIMEOUT_S, E2E_ARGS(IN_NS),
		 E2E_ARGS("--share", "ro:/usr", "--egress", arg), script);
	print_message("  guest said:\n%s  agentvmm said:\n%s", res.out, res.err);
	assert_int_equal(res.status, 0);
	assert_non_null(strstr(res.out, "log-ok"));
	assert_non_null(strstr(res.out, "other=403")); /* a loopback address not listed */
	list = e2e_slurp(dir_file("reached"));
	char want[100];
	snprintf(want, sizeof(want), "%s:%d\n", NAME_OK, PORT_OK);
	assert_string_equal(list, want); /* once, though reached twice */
	assert_non_null(strstr(res.err, "egress: reached " NAME_OK));
	assert_string_equal(e2e_slurp(dir_file("secret.log")), "");
}

static void test_e2e_egress_sigkill_leaves_no_proxy(void **state)
{
	char cmd[2400];
	int st;

	/* the guest fetches once (the server logs it), then sleeps; agentvmm is then killed */
	snprintf(cmd, sizeof(cmd),
		 "cd %s && : > www.log && { %s %s sh -c '%s' %s --kernel %s --share ro:/usr "
		 "--egress allow=%s:%d,127.0.0.1/32:%d -- sh -c 'curl -s -o /dev/null "
		 "http://%s:%d/data?kill; sleep 600' > kill.out 2> kill.err & echo $! > vm.pid; }; "
		 "for i in $(seq %d); do grep -q 'data?kill' www.log && break; sleep 1; done; "
		 "grep -q 'data?kill' www.log || { echo not reached; exit 3; }; "
		 "procs() { for p in /proc/[0-9]*; do cat $p/comm; done 2>/dev/null | "
		 "  grep -c '^agentvmm-egress'; }; "
		 "n=$(procs); echo proxies before=$n; [ $n = 1 ] || exit 4; "
		 "kill -9 $(cat vm.pid); sleep 2; "
		 "n=$(procs); echo proxies after=$n; [ $n = 0 ]",
		 dir, "/usr/bin/unshare", "-m --propagation private", mount_cmd, AV_AGENTVMM,
		 e2e_kernel("bzImage"), NAME_OK, PORT_OK, PORT_OK, NAME_OK, PORT_OK, TIMEOUT_S);
	st = e2e_sh("%s", cmd);
	if (st != 0)
		fail_msg("status %d; agentvmm said: %s", st, e2e_slurp(dir_file("kill.err")));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_e2e_egress_allow_list),
		cmocka_unit_test(test_e2e_egress_log_mode_lists_hosts),
		cmocka_unit_test(test_e2e_egress_sigkill_leaves_no_proxy),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
