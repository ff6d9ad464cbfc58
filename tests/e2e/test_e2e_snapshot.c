// SPDX-License-Identifier: MIT
/*
 * test_e2e_snapshot.c: templates of the real Debian cloud kernel (issue 19,
 * docs/snapshot.md). agentvmm template boots it to guest-init's ready mark
 * and writes a sparse 0600 template; two VMs restored from it at once, each
 * with the host's /usr read-only and a workspace of its own, see only their
 * own workspace (what they write reaches the host), run their own command
 * over the vsock session and return its status, draw different random bytes
 * (/dev/urandom and getrandom()) and tell the host's time; a clone gets its
 * own NIC on a tap in a namespace this test makes and pings through it;
 * a template written over the control socket restores too, with its
 * --balloon reporting-order; options that do not match the template are
 * refused with exit 2.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "tests/e2e/e2e.h"
#include "tests/helpers/th.h"

#define CLONE_TIMEOUT_S 300 /* two clones at once in a test host */

static struct th_result res;
static char dir[] = "/tmp/av-e2e-snap-XXXXXX";
static char tmpl[128];
static double template_s;

/*
 * The guest's report: its workspace, a file written there, 16 bytes of
 * /dev/urandom and of getrandom(), its clock; then exit (status).
 */
static const char clone_script[] =
	"echo ws=$(ls /work | tr '\\n' ,); echo from-guest > /work/written; "
	"echo urandom=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \\n'); "
	"echo getrandom=$(python3 -c 'import os; print(os.getrandom(16).hex())'); "
	"echo now=$(date +%s); exit $0";

/* The template every case restores: 512 MiB, 1 vCPU, no --cmdline. */
static int group_setup(void **state)
{
	struct stat st;

	char script[160];

	if (!mkdtemp(dir))
		return -1;
	/* the clones' script goes through a file: its quotes survive the shell */
	snprintf(script, sizeof(script), "%s/script", dir);
	if (e2e_write_file(script, clone_script) != 0)
		return -1;
	snprintf(tmpl, sizeof(tmpl), "%s/agent.tmpl", dir);
	e2e_run(&res, E2E_BOOT_TIMEOUT_S,
		E2E_ARGS("template", "--kernel", e2e_kernel("bzImage"), "--mem", "512", "--out",
			 tmpl));
	template_s = res.secs;
	printf("  template made in %.2f s, status %d\n", res.secs, res.status);
	if (res.status != 0) {
		printf("  stderr: %s\n  stdout: %s\n", res.err, res.out);
		return -1;
	}
	if (stat(tmpl, &st) != 0)
		return -1;
	printf("  template: %lld bytes apparent, %lld on disk, mode %o\n", (long long)st.st_size,
	       (long long)st.st_blocks * 512, (unsigned)(st.st_mode & 0777));
	return 0;
}

static int group_teardown(void **state)
{
	return e2e_rm_rf(dir);
}

static void test_e2e_snapshot_template_is_private_and_sparse(void **state)
{
	struct stat st;
	char tmp[160];

	assert_int_equal(stat(tmpl, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	/* only what the guest touched: far below its 512 MiB */
	assert_true(st.st_size >= (512LL << 20));
	assert_true((long long)st.st_blocks * 512 < (256LL << 20));
	snprintf(tmp, sizeof(tmp), "%s.tmp", tmpl);
	assert_int_not_equal(access(tmp, F_OK), 0);
}

/* (key)'s value on a "key=value" line of (text), into (out); "" when absent. */
static const char *value_of(const char *text, const char *key, char *out, size_t len)
{
	char k[64];
	const char *p;

	snprintf(k, sizeof(k), "%s=", key);
	p = strstr(text, k);
	out[0] = 0;
	if (p)
		snprintf(out, len, "%.*s", (int)strcspn(p + strlen(k), "\n"), p + strlen(k));
	return out;
}

static void test_e2e_snapshot_two_clones_at_once(void **state)
{
	char out[2][200], v[2][5][200];
	long long before = (long long)time(NULL), after;
	struct timespec t0, t1;
	int st;

	for (int i = 0; i < 2; i++) {
		assert_int_equal(e2e_sh("mkdir -p %s/ws%d && echo %d > %s/ws%d/only-%d", dir, i, i,
					dir, i, i), 0);
		snprintf(out[i], sizeof(out[i]), "%s/out%d", dir, i);
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	st = e2e_sh("cd %s && for i in 0 1; do "
		    "( timeout -k 5 %d %s --restore %s --share ro:/usr --share rw:%s/ws$i:/work "
		    "-- sh -c \"$(cat %s/script)\" $((3 + i)) > out$i 2> err$i; echo $? > st$i ) & "
		    "done; wait", dir, CLONE_TIMEOUT_S, AV_AGENTVMM, tmpl, dir, dir);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	after = (long long)time(NULL);
	assert_int_equal(st, 0);
	printf("  two clones ran in %.2f s together\n",
	       (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	for (int i = 0; i < 2; i++) {
		char p[160];
		int status;
		const char *o;

		snprintf(p, sizeof(p), "%s/st%d", dir, i);
		status = atoi(e2e_slurp(p));
		snprintf(p, sizeof(p), "%s/err%d", dir, i);
		printf("  clone %d: status %d  stderr: %s\n", i, status, e2e_slurp(p));
		o = e2e_slurp(out[i]);
		printf("  clone %d said:\n%s\n", i, o);
		assert_int_equal(status, 3 + i);
		value_of(o, "ws", v[i][0], sizeof(v[i][0]));
		value_of(o, "urandom", v[i][1], sizeof(v[i][1]));
		value_of(o, "getrandom", v[i][2], sizeof(v[i][2]));
		value_of(o, "now", v[i][3], sizeof(v[i][3]));
		/* its own workspace, and nothing of the other's */
		snprintf(v[i][4], sizeof(v[i][4]), "only-%d,", i);
		assert_string_equal(v[i][0], v[i][4]);
		snprintf(p, sizeof(p), "%s/ws%d/written", dir, i);
		assert_string_equal(e2e_slurp(p), "from-guest\n");
		assert_int_equal(strlen(v[i][1]), 32);
		assert_int_equal(strlen(v[i][2]), 32);
		/* the host's time, not the template's */
		assert_true(atoll(v[i][3]) >= before - 1 && atoll(v[i][3]) <= after + 1);
	}
	/* one template, two different random streams */
	assert_string_not_equal(v[0][1], v[1][1]);
	assert_string_not_equal(v[0][2], v[1][2]);
}

static void test_e2e_snapshot_clone_has_its_own_nic(void **state)
{
	char ns[32];
	int st;

	snprintf(ns, sizeof(ns), "avsnap%d", (int)getpid());
	assert_int_equal(e2e_sh("ip netns add %s && ip netns exec %s ip link set lo up && "
				"ip netns exec %s ip tuntap add tap0 mode tap && "
				"ip netns exec %s ip addr add 10.0.9.1/24 dev tap0 && "
				"ip netns exec %s ip link set tap0 up", ns, ns, ns, ns, ns), 0);
	e2e_boot(&res, CLONE_TIMEOUT_S, E2E_ARGS(e2e_ip_path(), "netns", "exec", ns),
		 E2E_ARGS("--restore", tmpl, "--net", "tap=tap0,mac=02:00:00:00:09:15,"
			  "ip=10.0.9.15/24"),
		 "cat /sys/class/net/eth0/address; i=0; while [ $i -lt 60 ]; do "
		 "ping -c 1 -w 2 10.0.9.1 >/dev/null 2>&1 && echo ping-ok && exit 0; "
		 "i=$((i+1)); sleep 0.5; done; exit 9");
	st = res.status;
	e2e_sh("ip netns del %s", ns);
	assert_int_equal(st, 0);
	assert_non_null(strstr(res.out, "02:00:00:00:09:15"));
	assert_non_null(strstr(res.out, "ping-ok"));
}

/* The same command restored and booted cold: the figures for docs/snapshot.md. */
static void test_e2e_snapshot_restore_against_cold_boot(void **state)
{
	double restore_s, cold_s;

	e2e_boot(&res, CLONE_TIMEOUT_S, NULL, E2E_ARGS("--restore", tmpl), "exit 5");
	restore_s = res.secs;
	assert_int_equal(res.status, 5);
	e2e_boot(&res, CLONE_TIMEOUT_S, NULL, E2E_ARGS("--mem", "512"), "exit 5");
	cold_s = res.secs;
	assert_int_equal(res.status, 5);
	printf("  'exit 5': restored %.2f s, cold boot %.2f s (template made in %.2f s)\n",
	       restore_s, cold_s, template_s);
}

/*
 * A Linux template held at its ready point (agentvmm template --api-socket)
 * and written by "agentvmm ctl SOCK snapshot FILE"; a VM restored from it
 * binds its balloon with the drivers the template loaded before the mark
 * and gets its own --balloon reporting-order (agentvmm.page_reporting_order).
 */
static void test_e2e_snapshot_ctl_snapshot_and_reporting_order(void **state)
{
	char t2[160], sock[160], v[64];
	struct stat st;

	snprintf(t2, sizeof(t2), "%s/ctl.tmpl", dir);
	snprintf(sock, sizeof(sock), "%s/t.sock", dir);
	assert_int_equal(e2e_sh("timeout -k 5 %d %s template --kernel %s --mem 512 "
				"--api-socket %s & i=0; while [ ! -S %s ] && [ $i -lt 900 ]; do "
				"sleep 0.2; i=$((i+1)); done; timeout 600 %s ctl %s snapshot %s "
				">/dev/null && wait $!",
				E2E_BOOT_TIMEOUT_S * 2, AV_AGENTVMM, e2e_kernel("bzImage"), sock,
				sock, AV_AGENTVMM, sock, t2), 0);
	assert_int_equal(stat(t2, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_not_equal(access(sock, F_OK), 0); /* the template VM is gone */

	e2e_boot(&res, CLONE_TIMEOUT_S, NULL,
		 E2E_ARGS("--restore", t2, "--balloon", "reporting-order=3"),
		 "read o < /sys/module/page_reporting/parameters/page_reporting_order; "
		 "echo order=$o; ls /sys/bus/virtio/drivers/virtio_balloon | grep -q virtio && "
		 "echo balloon-bound; exit 0");
	if (res.status != 0)
		fail_msg("status %d, stderr: %s", res.status, res.err);
	assert_string_equal(value_of(res.out, "order", v, sizeof(v)), "3");
	assert_non_null(strstr(res.out, "balloon-bound\n"));
}

/* (res) is a refusal: exit 2 with (what) in the one line on stderr. */
static void expect_refused(const char *what)
{
	if (res.status != 2 || !strstr(res.err, what))
		fail_msg("wanted exit 2 and '%s'; got %d, stderr: %s", what, res.status, res.err);
}

static void test_e2e_snapshot_refusals(void **state)
{
	/* another memory size */
	e2e_run(&res, 60, E2E_ARGS("--restore", tmpl, "--mem", "1024", "--", "true"));
	expect_refused("--mem 1024");
	/* another kernel command line */
	e2e_run(&res, 60, E2E_ARGS("--restore", tmpl, "--cmdline", "mitigations=off", "--",
				   "true"));
	expect_refused("kernel command line");
	/* devices belong to the restores */
	e2e_run(&res, 60, E2E_ARGS("template", "--kernel", e2e_kernel("bzImage"), "--share",
				   "ro:/usr", "--out", "/tmp/never.tmpl"));
	expect_refused("--share");
	assert_int_not_equal(access("/tmp/never.tmpl", F_OK), 0);
	/* a damaged template */
	assert_int_equal(e2e_sh("head -c 100000 %s > %s/cut.tmpl", tmpl, dir), 0);
	char cut[160];

	snprintf(cut, sizeof(cut), "%s/cut.tmpl", dir);
	e2e_run(&res, 60, E2E_ARGS("--restore", cut, "--", "true"));
	expect_refused("truncated");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_e2e_snapshot_template_is_private_and_sparse),
		cmocka_unit_test(test_e2e_snapshot_two_clones_at_once),
		cmocka_unit_test(test_e2e_snapshot_clone_has_its_own_nic),
		cmocka_unit_test(test_e2e_snapshot_restore_against_cold_boot),
		cmocka_unit_test(test_e2e_snapshot_ctl_snapshot_and_reporting_order),
		cmocka_unit_test(test_e2e_snapshot_refusals),
	};
	int r = e2e_check_host();

	if (r)
		return r;
	r = e2e_check_virtiofsd();
	if (r)
		return r;
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
