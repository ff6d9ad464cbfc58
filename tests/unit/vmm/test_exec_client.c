// SPDX-License-Identifier: MIT
/*
 * test_exec_client.c: `agentvmm exec` and avm_exec() (vmm/exec_client.c):
 * the argument parser (every usage error's line), and the client against a
 * control server thread that answers as agentvmm's does: "OK <port>" and a
 * session (guest frames right behind the line are not lost), JSON error
 * replies (their message, their errno), no line at all, a garbage line, a
 * session cut short; the CLI's exit statuses and stderr lines.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include <linux/sockios.h>
#include <cmocka.h>

#include "agentvmm.h"
#include "vmm/exec_client.h"
#include "vmm/session.h"
#include "tests/helpers/th_session.h"

/* ---- the exec client: arguments ------------------------------------------ */

static int parse(struct exec_args *a, char *err, size_t errlen, ...)
{
	static char *argv[32];
	int argc = 0;
	va_list ap;

	va_start(ap, errlen);
	while (argc < 31 && (argv[argc] = va_arg(ap, char *)))
		argc++;
	va_end(ap);
	return exec_parse_args(argc, argv, a, err, errlen);
}

static void test_exec_parse_args_good(void **state)
{
	struct exec_args a;
	char err[512];

	assert_int_equal(parse(&a, err, sizeof(err), "exec", "--api-socket", "/run/c.sock", "-t",
			       "--env", "A=1", "--env=B=2", "--cwd", "/w", "--user", "1:2",
			       "--rlimit", "nofile=10:20", "--rlimit", "core=0:unlimited", "--",
			       "ls", "-l", "--env", NULL), 0);
	assert_string_equal(a.sock, "/run/c.sock");
	assert_true(a.tty);
	assert_int_equal(a.envc, 2);
	assert_string_equal(a.env[0], "A=1");
	assert_string_equal(a.env[1], "B=2");
	assert_string_equal(a.cwd, "/w");
	assert_string_equal(a.user, "1:2");
	assert_int_equal(a.nr_rlimits, 2);
	assert_string_equal(a.rlimits[0], "nofile:10:20");
	assert_string_equal(a.rlimits[1], "core:0:unlimited");
	assert_int_equal(a.argc, 3);
	assert_string_equal(a.argv[0], "ls");
	assert_string_equal(a.argv[2], "--env"); /* the command's own */
	exec_args_fini(&a);
	exec_args_fini(&a); /* idempotent */

	/* no "--": the first non-option is the command, the rest its arguments */
	assert_int_equal(parse(&a, err, sizeof(err), "exec", "--api-socket=/s", "sh", "-c",
			       "echo -t", NULL), 0);
	assert_false(a.tty);
	assert_int_equal(a.argc, 3);
	assert_string_equal(a.argv[2], "echo -t");
	exec_args_fini(&a);
	assert_int_equal(parse(&a, err, sizeof(err), "exec", "-h", NULL), 1);
	assert_int_equal(parse(&a, err, sizeof(err), "exec", "--api-socket", "/s", "--help",
			       "x", NULL), 1);
	assert_non_null(strstr(exec_usage(), "--rlimit NAME=SOFT:HARD"));
}

static void test_exec_parse_args_usage_errors(void **state)
{
	static const struct {
		const char *argv[8];
		const char *msg;
	} cases[] = {
		{ { "exec", "--", "ls" }, "--api-socket SOCKET is required" },
		{ { "exec", "--api-socket", "/s" }, "no command" },
		{ { "exec", "--api-socket", "/s", "--" }, "no command" },
		{ { "exec", "--api-socket" }, "option --api-socket needs a value" },
		{ { "exec", "--api-socket", "/s", "--env" }, "option --env needs a value" },
		{ { "exec", "--bogus", "--api-socket", "/s", "ls" }, "unknown option --bogus" },
		{ { "exec", "-x", "ls" }, "unknown option -x" },
		{ { "exec", "--tty=1", "ls" }, "unknown option --tty=1" },
		{ { "exec", "--api-socket", "/s", "--rlimit", "nofile", "ls" },
		  "--rlimit nofile: expected NAME=SOFT:HARD" },
		{ { "exec", "--api-socket", "/s", "--rlimit", "nofile=5", "ls" },
		  "expected NAME=SOFT:HARD" },
		{ { "exec", "--api-socket", "/s", "--rlimit", "=1:2", "ls" },
		  "expected NAME=SOFT:HARD" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct exec_args a;
		char err[512] = "";
		int argc = 0;

		while (argc < 8 && cases[i].argv[argc])
			argc++;
		char **argv = (char **)(uintptr_t)cases[i].argv;
		int r = exec_parse_args(argc, argv, &a, err, sizeof(err));
		if (r != -EINVAL || !strstr(err, cases[i].msg))
			fail_msg("case %zu: %d \"%s\", want \"%s\"", i, r, err, cases[i].msg);
		assert_null(a.env); /* nothing left allocated */
	}
}

/* ---- the exec client: against a control server --------------------------- */

enum srv_mode { SRV_SESSION, SRV_SESSION_EARLY_BYTES, SRV_JSON, SRV_EOF, SRV_GARBAGE, SRV_GONE };

struct srv {
	char dir[64], path[128];
	int lfd;
	pthread_t th;
	enum srv_mode mode;
	const char *json;
	char req[128];
	uint8_t spec[512];
	size_t spec_len;
	uint8_t in[64];
	size_t in_len;
	bool acked;
};

/* Read host frames until (type) came; the SPEC and stdin are kept. */
static bool srv_read_until(struct srv *s, int fd, uint8_t type)
{
	for (;;) {
		struct avs_hdr h;
		uint8_t pl[1024];
		uint32_t len;

		if (th_read_exact(fd, &h, sizeof(h)) != 1 || avs_frame_check(&h, false))
			return false;
		len = le32toh(h.len);
		if (len > sizeof(pl) || (len && th_read_exact(fd, pl, len) != 1))
			return false;
		if (h.type == AVS_SPEC && len <= sizeof(s->spec)) {
			memcpy(s->spec, pl, len);
			s->spec_len = len;
		}
		if (h.type == AVS_STDIN && s->in_len + len <= sizeof(s->in)) {
			memcpy(s->in + s->in_len, pl, len);
			s->in_len += len;
		}
		if (h.type == type && (type != AVS_STDIN || !len))
			return true;
	}
}

static void srv_session(struct srv *s, int fd)
{
	uint8_t buf[256];
	size_t n = 0;
	uint8_t st[4];

	if (!srv_read_until(s, fd, AVS_STDIN)) /* its end */
		return;
	th_frame_put(buf, &n, AVS_STDOUT, "out:", 4);
	th_frame_put(buf, &n, AVS_STDOUT, s->in, (uint32_t)s->in_len);
	th_frame_put(buf, &n, AVS_STDERR, "err", 3);
	th_put_le32(st, 42);
	th_frame_put(buf, &n, AVS_EXIT, st, 4);
	th_send_all(fd, buf, n);
	s->acked = srv_read_until(s, fd, AVS_EXIT_ACK);
}

static void *srv_main(void *arg)
{
	struct srv *s = arg;
	size_t n = 0;
	int fd = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC);

	if (fd < 0)
		return NULL;
	/* the request: one line */
	while (n + 1 < sizeof(s->req) && read(fd, s->req + n, 1) == 1 && s->req[n++] != '\n')
		;
	s->req[n] = 0;
	if (s->mode == SRV_SESSION) {
		th_send_all(fd, "OK 1073741824\n", 14);
		srv_session(s, fd);
	} else if (s->mode == SRV_SESSION_EARLY_BYTES) {
		/* the line and the guest's first frame in one write: the frame is not lost */
		uint8_t buf[64] = "OK 7\n";
		size_t at = 5;
		th_frame_put(buf, &at, AVS_STDOUT, "early:", 6);
		th_send_all(fd, buf, at);
		srv_session(s, fd);
	} else if (s->mode == SRV_JSON) {
		th_send_all(fd, s->json, strlen(s->json));
	} else if (s->mode == SRV_GARBAGE) {
		th_send_all(fd, "HELLO\n", 6);
	} else if (s->mode == SRV_GONE) {
		th_send_all(fd, "OK 9\n", 5);
		srv_read_until(s, fd, AVS_SPEC);
	}
	close(fd);
	return NULL;
}

static void srv_start(struct srv *s, enum srv_mode mode)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	memset(s, 0, sizeof(*s));
	s->mode = mode;
	snprintf(s->dir, sizeof(s->dir), "/tmp/av-test-exec-XXXXXX");
	assert_non_null(mkdtemp(s->dir));
	snprintf(s->path, sizeof(s->path), "%s/c.sock", s->dir);
	memcpy(sa.sun_path, s->path, strlen(s->path) + 1);
	s->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(s->lfd >= 0);
	assert_int_equal(bind(s->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(s->lfd, 4), 0);
	assert_int_equal(pthread_create(&s->th, NULL, srv_main, s), 0);
	alarm(TH_ALARM_S);
}

static void srv_stop(struct srv *s)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	/* a server still in accept() (a client that never connected) gets one connection */
	memcpy(sa.sun_path, s->path, strlen(s->path) + 1);
	if (pthread_tryjoin_np(s->th, NULL)) {
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			shutdown(fd, SHUT_WR);
		pthread_join(s->th, NULL);
	}
	close(fd);
	close(s->lfd);
	unlink(s->path);
	rmdir(s->dir);
	alarm(0);
}

static const char *const cmd_argv[] = { "cat" };

static void test_avm_exec_session_round_trip(void **state)
{
	static const char *const env[] = { "K=v" };
	struct avm_exec_opts o = { .argc = 1, .argv = cmd_argv, .envc = 1, .env = env,
				   .cwd = "/tmp", .tty = true, .in_fd = -1, .out_fd = th_memfd(),
				   .err_fd = th_memfd() };
	struct avm_error err;
	struct srv s;
	int status = -1;

	for (int early = 0; early < 2; early++) {
		srv_start(&s, early ? SRV_SESSION_EARLY_BYTES : SRV_SESSION);
		assert_int_equal(ftruncate(o.out_fd, 0), 0);
		assert_int_equal(lseek(o.out_fd, 0, SEEK_SET), 0);
		assert_int_equal(avm_exec(s.path, &o, &status, &err), 0);
		srv_stop(&s);
		assert_int_equal(err.code, 0);
		assert_string_equal(err.msg, "");
		assert_int_equal(status, 42);
		assert_string_equal(s.req, EXEC_REQUEST);
		/* the job: no stdin of the caller's (in_fd -1), a 24x80 tty */
		static const char spec[] = "a:cat\0e:K=v\0c:/tmp\0t:24:80";
		assert_int_equal(s.spec_len, sizeof(spec));
		assert_memory_equal(s.spec, spec, sizeof(spec));
		assert_true(s.acked);
		th_expect_file(o.out_fd, early ? "early:out:" : "out:");
	}
	th_expect_file(o.err_fd, "errerr");
	close(o.out_fd);
	close(o.err_fd);
}

static void test_avm_exec_refusals_and_failures(void **state)
{
	struct avm_exec_opts o = { .argc = 1, .argv = cmd_argv, .in_fd = -1, .out_fd = -1,
				   .err_fd = -1 };
	struct avm_error err;
	struct srv s;
	int status = -1;

	srv_start(&s, SRV_JSON);
	s.json = "{\"ok\":false,\"error\":{\"code\":\"denied\",\"message\":\"peer uid 1000 is "
		 "not allowed\"}}\n";
	assert_int_equal(avm_exec(s.path, &o, &status, &err), -EACCES);
	srv_stop(&s);
	assert_int_equal(err.code, -EACCES);
	assert_string_equal(err.msg, "peer uid 1000 is not allowed");

	srv_start(&s, SRV_JSON);
	s.json = "{\"ok\":false,\"error\":{\"code\":\"failed\",\"message\":\"exec: the VM has no "
		 "vsock device\"}}\n";
	assert_int_equal(avm_exec(s.path, &o, &status, &err), -ECONNREFUSED);
	srv_stop(&s);
	assert_string_equal(err.msg, "exec: the VM has no vsock device");

	srv_start(&s, SRV_EOF);
	assert_int_equal(avm_exec(s.path, &o, &status, &err), -ECONNREFUSED);
	srv_stop(&s);
	assert_non_null(strstr(err.msg, "the guest did not accept the exec session"));

	srv_start(&s, SRV_GARBAGE);
	assert_int_equal(avm_exec(s.path, &o, &status, &err), -EPROTO);
	srv_stop(&s);
	assert_non_null(strstr(err.msg, "unexpected reply"));

	srv_start(&s, SRV_GONE);
	assert_int_equal(avm_exec(s.path, &o, &status, &err), -EPIPE);
	srv_stop(&s);
	assert_string_equal(err.msg, "the session ended before the command's exit status");

	/* a bad job: refused before connecting */
	srv_start(&s, SRV_EOF);
	o.cwd = "relative";
	assert_int_equal(avm_exec(s.path, &o, &status, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "working directory \"relative\""));
	srv_stop(&s);
	assert_int_equal(s.req[0], 0);
	o.cwd = NULL;

	/* nobody there */
	assert_int_equal(avm_exec("/nonexistent/c.sock", &o, &status, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "/nonexistent/c.sock: No such file or directory (is "
					"agentvmm running with --api-socket?)"));
	assert_int_equal(status, -1);
}

/* avm_exec_client() on fds 0, 1, 2 replaced by files for the call: statuses and lines. */
static int run_cli(struct srv *s, const char *const *extra, int nextra, char **out, char **err)
{
	char *argv[16] = { th_unconst("exec"), th_unconst("--api-socket"),
			   s ? s->path : th_unconst("/nonexistent/x.sock") };
	int o = th_memfd(), e = th_memfd(), argc = 3, r;
	int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
	int save[3] = { dup(0), dup(1), dup(2) };

	for (int i = 0; i < nextra; i++)
		argv[argc++] = th_unconst(extra[i]);
	fflush(stdout);
	fflush(stderr);
	dup2(in, 0);
	dup2(o, 1);
	dup2(e, 2);
	r = avm_exec_client(argc, argv);
	fflush(stdout);
	fflush(stderr);
	for (int i = 0; i < 3; i++) {
		dup2(save[i], i);
		close(save[i]);
	}
	*out = th_file_text(o, NULL);
	*err = th_file_text(e, NULL);
	close(o);
	close(e);
	close(in);
	return r;
}

static void test_exec_client_statuses(void **state)
{
	static const char *const cmd[] = { "-t", "--env", "A=1", "--", "cat" };
	static const char *const bad_env[] = { "--env", "NOEQ", "--", "cat" };
	struct srv s;
	char *out, *err;

	/* -t: a 24x80 tty (stdin is none) with this $TERM */
	setenv("TERM", "xterm-test", 1);
	srv_start(&s, SRV_SESSION);
	assert_int_equal(run_cli(&s, cmd, 5, &out, &err), 42);
	srv_stop(&s);
	assert_string_equal(out, "out:");
	assert_string_equal(err, "err");
	static const char spec[] = "a:cat\0e:A=1\0e:TERM=xterm-test\0t:24:80";
	assert_int_equal(s.spec_len, sizeof(spec));
	assert_memory_equal(s.spec, spec, sizeof(spec));
	free(out);
	free(err);

	srv_start(&s, SRV_JSON);
	s.json = "{\"ok\":false,\"error\":{\"code\":\"denied\",\"message\":\"not allowed\"}}\n";
	assert_int_equal(run_cli(&s, cmd + 3, 2, &out, &err), 1);
	srv_stop(&s);
	assert_string_equal(err, "agentvmm exec: not allowed\n");
	free(out);
	free(err);

	srv_start(&s, SRV_EOF);
	assert_int_equal(run_cli(&s, cmd + 3, 2, &out, &err), 1);
	srv_stop(&s);
	assert_string_equal(err, "agentvmm exec: the guest did not accept the exec session (is it "
				 "running with a session-mode command? see docs/vsock.md)\n");
	free(out);
	free(err);

	srv_start(&s, SRV_GONE);
	assert_int_equal(run_cli(&s, cmd + 3, 2, &out, &err), 255);
	srv_stop(&s);
	assert_string_equal(err, "agentvmm exec: the session ended before the command's exit "
				 "status\n");
	free(out);
	free(err);

	/* usage: bad option values exit 2 before any connection */
	assert_int_equal(run_cli(NULL, bad_env, 4, &out, &err), 2);
	assert_non_null(strstr(err, "agentvmm exec: environment entry \"NOEQ\""));
	free(out);
	free(err);
	assert_int_equal(run_cli(NULL, cmd, 3, &out, &err), 2);
	assert_non_null(strstr(err, "agentvmm exec: no command"));
	free(out);
	free(err);
	assert_int_equal(run_cli(NULL, cmd + 3, 2, &out, &err), 255);
	assert_non_null(strstr(err, "agentvmm exec: /nonexistent/x.sock: No such file"));
	free(out);
	free(err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exec_parse_args_good),
		cmocka_unit_test(test_exec_parse_args_usage_errors),
		cmocka_unit_test(test_avm_exec_session_round_trip),
		cmocka_unit_test(test_avm_exec_refusals_and_failures),
		cmocka_unit_test(test_exec_client_statuses),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
