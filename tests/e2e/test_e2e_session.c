// SPDX-License-Identifier: MIT
/*
 * test_e2e_session.c: the command's stdio and exec sessions over virtio-vsock
 * (docs/vsock.md "Sessions") against the real Debian cloud kernel, with the
 * initramfs's busybox in the guest:
 *  - 256 MiB of random bytes through stdin reach the guest's sha256sum intact
 *    and its end of file ends it;
 *  - stdout and stderr arrive separately and in order, binary-safe, and
 *    "exit 7" is 7;
 *  - a job far larger than the kernel command line (8 x 100 KB environment
 *    entries, a 100 KB argument) with --cwd and --user; a job over 1 MiB is
 *    refused before boot with exit 2;
 *  - a stdout nobody reads holds the guest back with agentvmm's memory
 *    bounded, and everything arrives once it is read;
 *  - a terminal on stdin gives the command a guest tty of the host's size;
 *  - exec: 10 sessions at once with their own output and status, stdin
 *    through exec, exec -t, a signal to the client reaches the command, a
 *    killed client takes its command with it, and exec into a VM without a
 *    session is refused with one line.
 * Every wait is bounded (timeout(1) around each agentvmm; the *_S below).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <setjmp.h>
#include <cmocka.h>

#include "tests/e2e/e2e.h"

#define RUN_S 900           /* one agentvmm run, boot included (nested TCG test hosts are slow) */
#define EXEC_S 300          /* one exec */
#define READY_S 600         /* the exec service of a booting VM answers */
#define STALL_S 20          /* stdout unread for this long */
#define ANON_BOUND_KB (8 * 1024) /* agentvmm's RssAnon growth meanwhile */

static char dir[] = "/tmp/av-e2e-session-XXXXXX";
static char rundir[600];

static int setup(void **state)
{
	(void)state;
	return e2e_make_dirs(dir, rundir, sizeof(rundir));
}

static int teardown(void **state)
{
	(void)state;
	return e2e_rm_rf(dir);
}

/* The first line of (path) (a file this test wrote), "" if none. */
static char *line_of(const char *name)
{
	static char buf[4096];
	char path[1024];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	buf[0] = 0;
	f = fopen(path, "r");
	if (f) {
		if (!fgets(buf, sizeof(buf), f))
			buf[0] = 0;
		fclose(f);
	}
	buf[strcspn(buf, "\n")] = 0;
	return buf;
}

static void show(const char *name)
{
	e2e_sh("echo '--- %s:'; tail -c 2000 %s/%s; echo", name, dir, name);
}

static void test_stdin_256mib_reaches_sha256sum(void **state)
{
	char want[80];

	(void)state;
	assert_int_equal(e2e_sh("head -c 268435456 /dev/urandom > %s/in && sha256sum < %s/in | "
			    "cut -d' ' -f1 > %s/want", dir, dir, dir), 0);
	snprintf(want, sizeof(want), "%s", line_of("want"));
	e2e_sh("timeout -k 10 %d %s --kernel %s -- sha256sum < %s/in > %s/out 2> %s/err; echo $? > "
	   "%s/rc", RUN_S, AV_AGENTVMM, e2e_kernel("bzImage"), dir, dir, dir, dir);
	e2e_sh("rm -f %s/in", dir);
	if (strcmp(line_of("rc"), "0"))
		show("err");
	assert_string_equal(line_of("rc"), "0");
	e2e_sh("cut -d' ' -f1 %s/out > %s/got", dir, dir);
	assert_string_equal(line_of("got"), want);
}

static void test_stdout_stderr_separate_binary_exit7(void **state)
{
	(void)state;
	/* stdin: 1 MiB of random bytes and every byte value; echoed by cat, then the lines */
	assert_int_equal(e2e_sh("head -c 1048576 /dev/urandom > %s/bin && printf \"$(i=0; while [ $i "
			    "-lt 256 ]; do printf '\\\\%%03o' $i; i=$((i+1)); done)\" >> %s/bin && "
			    "cp %s/bin %s/want_out && : > %s/want_err && i=0 && while [ $i -lt 300 ];"
			    " do echo out$i >> %s/want_out; echo err$i >> %s/want_err; i=$((i+1)); "
			    "done", dir, dir, dir, dir, dir, dir, dir), 0);
	assert_int_equal(e2e_sh("[ $(wc -c < %s/bin) = 1048832 ]", dir), 0);
	e2e_sh("timeout -k 10 %d %s --kernel %s -- sh -c 'cat; i=0; while [ $i -lt 300 ]; do echo "
	   "out$i; echo err$i >&2; i=$((i+1)); done; exit 7' < %s/bin > %s/out 2> %s/err; echo $? "
	   "> %s/rc", RUN_S, AV_AGENTVMM, e2e_kernel("bzImage"), dir, dir, dir, dir);
	if (strcmp(line_of("rc"), "7"))
		show("err");
	assert_string_equal(line_of("rc"), "7");
	if (e2e_sh("cmp %s/out %s/want_out", dir, dir))
		show("out");
	assert_int_equal(e2e_sh("cmp %s/out %s/want_out", dir, dir), 0);
	if (e2e_sh("cmp %s/err %s/want_err", dir, dir))
		show("err");
	assert_int_equal(e2e_sh("cmp %s/err %s/want_err", dir, dir), 0);
}

/* A value of (n) 'x's in the shell: "$(head -c N /dev/zero | tr '\0' x)". */
#define XS(n) "\"$(head -c " #n " /dev/zero | tr '\\0' x)\""

static void test_job_bigger_than_cmdline(void **state)
{
	(void)state;
	e2e_sh("set --; for i in 1 2 3 4 5 6 7 8; do set -- \"$@\" --env V$i=" XS(100000) "; done; "
	   "timeout -k 10 %d %s --kernel %s \"$@\" --cwd /tmp --user 1000:1001 -- sh -c 'echo "
	   "${#V1} ${#V8} ${#1} $(id -u):$(id -g) $(pwd)' sh " XS(100000) " > %s/out 2> %s/err;"
	   " echo $? > %s/rc", RUN_S, AV_AGENTVMM, e2e_kernel("bzImage"), dir, dir, dir);
	if (strcmp(line_of("rc"), "0"))
		show("err");
	assert_string_equal(line_of("rc"), "0");
	assert_string_equal(line_of("out"), "100000 100000 100000 1000:1001 /tmp");
}

static void test_job_over_1mib_refused(void **state)
{
	(void)state;
	e2e_sh("set --; for i in 1 2 3 4 5 6 7 8 9 10 11; do set -- \"$@\" --env V$i=" XS(100000)
	   "; done; timeout -k 10 60 %s --kernel %s \"$@\" -- true > %s/out 2> %s/err; echo $? > "
	   "%s/rc", AV_AGENTVMM, e2e_kernel("bzImage"), dir, dir, dir);
	assert_string_equal(line_of("rc"), "2");
	assert_int_equal(e2e_sh("grep -q 'the job is too big' %s/err", dir), 0);
	assert_int_equal(e2e_sh("[ $(wc -l < %s/err) = 1 ]", dir), 0);
}

/* RssAnon of (pid) in KiB, -1 if unknown. */
static long rss_anon_kb(pid_t pid)
{
	char path[64], line[256];
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "RssAnon: %ld", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

static void test_unread_stdout_bounded(void **state)
{
	int p[2], st;
	char buf[65536];
	uint64_t total = 0;
	long before, after;
	pid_t pid;
	ssize_t n;

	(void)state;
	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char t[16];

		snprintf(t, sizeof(t), "%d", RUN_S);
		dup2(p[1], 1);
		close(p[0]);
		close(p[1]);
		execl("/usr/bin/timeout", "timeout", "-k", "10", t, AV_AGENTVMM, "--kernel",
		      e2e_kernel("bzImage"), "--", "head", "-c", "67108864", "/dev/zero",
		      (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	/* the first bytes: the guest is writing; then nobody reads for STALL_S */
	n = read(p[0], buf, 1);
	assert_int_equal(n, 1);
	total = 1;
	sleep(2);
	/* timeout(1)'s child is agentvmm */
	snprintf(buf, sizeof(buf), "pgrep -P %d -x agentvmm > %s/pid", (int)pid, dir);
	assert_int_equal(system(buf), 0);
	pid_t vmm = (pid_t)atoi(line_of("pid"));
	before = rss_anon_kb(vmm);
	sleep(STALL_S);
	after = rss_anon_kb(vmm);
	print_message("  agentvmm RssAnon %ld KiB -> %ld KiB with stdout unread for %d s\n", before,
		      after, STALL_S);
	assert_true(before > 0 && after > 0);
	assert_true(after - before < ANON_BOUND_KB);
	while ((n = read(p[0], buf, sizeof(buf))) > 0)
		total += (uint64_t)n;
	close(p[0]);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	assert_int_equal(total, 67108864);
}

static void test_tty_on_stdin_gives_guest_tty(void **state)
{
	(void)state;
	/* script(1) gives agentvmm a pty as stdin; its size is set first */
	e2e_sh("timeout -k 10 %d script -qec \"stty rows 33 cols 111; %s --kernel %s -- sh -c 'tty; "
	   "stty size; exit 4'\" /dev/null > %s/out 2> %s/err < /dev/null; echo $? > %s/rc", RUN_S,
	   AV_AGENTVMM, e2e_kernel("bzImage"), dir, dir, dir);
	show("out");
	assert_string_equal(line_of("rc"), "4");
	assert_int_equal(e2e_sh("grep -q '/dev/pts/' %s/out", dir), 0);
	assert_int_equal(e2e_sh("grep -q '33 111' %s/out", dir), 0);
}

/* ---- exec ------------------------------------------------------------------------ */

static char sock[700];
static pid_t vm_pid = -1;

/* One exec with a bound: its exit status (124 after the timeout). */
static __attribute__((format(printf, 1, 2))) int ex(const char *fmt, ...)
{
	char inner[3000];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(inner, sizeof(inner), fmt, ap);
	va_end(ap);
	return e2e_sh("timeout -k 5 %d %s exec --api-socket %s %s", EXEC_S, AV_AGENTVMM, sock,
		      inner);
}

static void start_vm(void)
{
	char t[16];
	time_t end;

	snprintf(sock, sizeof(sock), "%s/api.sock", dir);
	vm_pid = fork();
	assert_true(vm_pid >= 0);
	if (vm_pid == 0) {
		char out[800];

		snprintf(t, sizeof(t), "%d", RUN_S + READY_S);
		snprintf(out, sizeof(out), "%s/vm.out", dir);
		if (!freopen(out, "w", stdout))
			_exit(126);
		snprintf(out, sizeof(out), "%s/vm.err", dir);
		if (!freopen(out, "w", stderr) || !freopen("/dev/null", "r", stdin))
			_exit(126);
		execl("/usr/bin/timeout", "timeout", "-k", "10", t, AV_AGENTVMM, "--kernel",
		      e2e_kernel("bzImage"), "--api-socket", sock, "--", "sh", "-c",
		      "while [ ! -e /tmp/stop ]; do sleep 0.2; done; exit 5", (char *)NULL);
		_exit(127);
	}
	/* the exec service answers once guest-init runs the workload */
	end = time(NULL) + READY_S;
	while (time(NULL) < end) {
		if (access(sock, F_OK) == 0 && ex("-- true > /dev/null 2>&1") == 0)
			return;
		sleep(1);
	}
	show("vm.err");
	fail_msg("the exec service did not answer within %d s", READY_S);
}

static void test_exec(void **state)
{
	int st;

	(void)state;
	start_vm();

	/* 10 at once, each its own output and status */
	assert_int_equal(e2e_sh("for i in 0 1 2 3 4 5 6 7 8 9; do (timeout -k 5 %d %s exec "
			    "--api-socket %s -- sh -c \"echo x$i; echo y$i >&2; exit $((i+10))\" "
			    "> %s/e$i.out 2> %s/e$i.err; echo $? > %s/e$i.rc) & done; wait", EXEC_S,
			    AV_AGENTVMM, sock, dir, dir, dir), 0);
	for (int i = 0; i < 10; i++) {
		char name[32], want[32];

		snprintf(name, sizeof(name), "e%d.rc", i);
		snprintf(want, sizeof(want), "%d", i + 10);
		assert_string_equal(line_of(name), want);
		snprintf(name, sizeof(name), "e%d.out", i);
		snprintf(want, sizeof(want), "x%d", i);
		assert_string_equal(line_of(name), want);
		snprintf(name, sizeof(name), "e%d.err", i);
		snprintf(want, sizeof(want), "y%d", i);
		assert_string_equal(line_of(name), want);
	}

	/* stdin through exec, --env, --cwd, --user */
	assert_int_equal(ex("--env A=b --cwd /tmp --user 7:8 -- sh -c 'cat; echo \" $A $(pwd) "
			    "$(id -u):$(id -g)\"' < /dev/null > %s/x.out; printf abc | timeout 60 %s "
			    "exec --api-socket %s -- cat > %s/y.out", dir, AV_AGENTVMM, sock, dir), 0);
	assert_string_equal(line_of("x.out"), " b /tmp 7:8");
	assert_string_equal(line_of("y.out"), "abc");

	/* -t: a guest pty */
	assert_int_equal(e2e_sh("timeout -k 5 %d script -qec \"stty rows 20 cols 70; %s exec "
			    "--api-socket %s -t -- sh -c 'tty; stty size'\" /dev/null > %s/t.out "
			    "< /dev/null", EXEC_S, AV_AGENTVMM, sock, dir), 0);
	show("t.out");
	assert_int_equal(e2e_sh("grep -q '/dev/pts/' %s/t.out && grep -q '20 70' %s/t.out", dir, dir),
			 0);

	/* a signal to the client reaches the command (timeout(1) passes SIGTERM on to it) */
	e2e_sh("rm -f %s/sig.rc; (timeout -k 5 %d %s exec --api-socket %s -- sh -c 'trap \"exit 3\" "
	   "TERM; touch /tmp/trapping; while :; do sleep 0.1; done' & echo $! > %s/sig.pid; wait "
	   "$!; echo $? > %s/sig.rc) &", dir, EXEC_S, AV_AGENTVMM, sock, dir, dir);
	for (int i = 0; i < 120 && ex("-- test -e /tmp/trapping"); i++)
		sleep(1);
	assert_int_equal(e2e_sh("kill -TERM $(cat %s/sig.pid)", dir), 0);
	for (int i = 0; i < 120 && !line_of("sig.rc")[0]; i++)
		sleep(1);
	assert_string_equal(line_of("sig.rc"), "3");

	/* a killed client takes its command with it */
	e2e_sh("(%s exec --api-socket %s -- sh -c 'echo $$ > /tmp/victim; exec sleep 1000' > "
	   "/dev/null 2>&1 & echo $! > %s/victim.pid)", AV_AGENTVMM, sock, dir);
	for (int i = 0; i < 120 && ex("-- test -s /tmp/victim"); i++)
		sleep(1);
	assert_int_equal(ex("-- sh -c 'kill -0 $(cat /tmp/victim)'"), 0);
	assert_int_equal(e2e_sh("kill -KILL $(cat %s/victim.pid)", dir), 0);
	st = 0;
	for (int i = 0; i < 60 && (st = ex("-- sh -c 'kill -0 $(cat /tmp/victim)' 2>/dev/null")) ==
					  0; i++)
		sleep(1);
	assert_int_not_equal(st, 0);

	/* the workload's own status is still what ends the VM */
	assert_int_equal(ex("-- touch /tmp/stop"), 0);
	assert_int_equal(waitpid(vm_pid, &st, 0), vm_pid);
	vm_pid = -1;
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 5);
}

static void test_exec_without_session_refused(void **state)
{
	int st;

	(void)state;
	snprintf(sock, sizeof(sock), "%s/api2.sock", dir);
	e2e_sh("(timeout -k 5 %d %s --kernel %s --stdio console --api-socket %s -- sleep 600 > "
	   "/dev/null 2>&1 &) ; for i in $(seq 300); do [ -S %s ] && break; sleep 1; done", RUN_S,
	   AV_AGENTVMM, e2e_kernel("bzImage"), sock, sock);
	st = e2e_sh("timeout 60 %s exec --api-socket %s -- true > %s/n.out 2> %s/n.err", AV_AGENTVMM,
		sock, dir, dir);
	show("n.err");
	assert_int_equal(st, 1);
	assert_int_equal(e2e_sh("grep -q 'no session' %s/n.err && [ $(wc -l < %s/n.err) = 1 ]", dir,
			    dir), 0);
	e2e_sh("timeout 30 %s ctl %s kill > /dev/null 2>&1", AV_AGENTVMM, sock);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stdin_256mib_reaches_sha256sum),
		cmocka_unit_test(test_stdout_stderr_separate_binary_exit7),
		cmocka_unit_test(test_job_bigger_than_cmdline),
		cmocka_unit_test(test_job_over_1mib_refused),
		cmocka_unit_test(test_unread_stdout_bounded),
		cmocka_unit_test(test_tty_on_stdin_gives_guest_tty),
		cmocka_unit_test(test_exec),
		cmocka_unit_test(test_exec_without_session_refused),
	};
	int r = e2e_check_host();

	if (r)
		return r;
	if (getenv("AV_TEST_FILTER")) /* one case while debugging, e.g. "test_exec*" */
		cmocka_set_test_filter(getenv("AV_TEST_FILTER"));
	r = cmocka_run_group_tests(tests, setup, teardown);
	if (vm_pid > 0)
		kill(vm_pid, SIGKILL);
	return r;
}
