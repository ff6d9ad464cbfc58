// SPDX-License-Identifier: MIT
/*
 * exec_client.c: `agentvmm exec` (avm_exec_client()) and avm_exec(): open a
 * session through the control socket and relay it (prefix exec_).
 */
#include "vmm/exec_client.h"

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "agentvmm.h"
#include "vmm/ctl.h"
#include "vmm/session.h"

#define EXEC_SYNOPSIS "usage: agentvmm exec --api-socket SOCKET [options] [--] CMD [ARGS...]"

static const char exec_help[] =
	"usage: agentvmm exec --api-socket SOCKET [-t] [--env NAME=VALUE]... [--cwd DIR]\n"
	"                     [--user UID[:GID]] [--rlimit NAME=SOFT:HARD]... [--] CMD [ARGS...]\n"
	"\n"
	"Run CMD in the guest of a running agentvmm (started with --api-socket\n"
	"SOCKET) and exit with its status. Its stdin, stdout and stderr are this\n"
	"command's; SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2 are passed\n"
	"on to it. 255: no status (connection lost, protocol error); 1: the session\n"
	"was refused; 2: bad usage.\n"
	"\n"
	"  --api-socket SOCKET  the VM's control socket (required)\n"
	"  -t, --tty            run CMD on a pseudo-terminal of stdin's size and this\n"
	"                       $TERM; with a terminal on stdin it is raw, and\n"
	"                       Ctrl-A x quits\n"
	"  --env NAME=VALUE     set a variable (repeatable)\n"
	"  --cwd DIR            working directory, absolute\n"
	"  --user UID[:GID]     run as these ids (default 0:0)\n"
	"  --rlimit NAME=SOFT:HARD  a resource limit (repeatable): NAME one of core\n"
	"                       cpu data fsize memlock nofile nproc stack as, SOFT and\n"
	"                       HARD numbers or \"unlimited\"\n"
	"  -h, --help           this text\n";

const char *exec_usage(void)
{
	return exec_help;
}

/* ---- arguments ----------------------------------------------------------- */

enum { OPT_SOCK = 0x100, OPT_ENV, OPT_CWD, OPT_USER, OPT_RLIMIT };

static const struct option exec_opts[] = {
	{ "api-socket", required_argument, NULL, OPT_SOCK },
	{ "tty", no_argument, NULL, 't' },
	{ "env", required_argument, NULL, OPT_ENV },
	{ "cwd", required_argument, NULL, OPT_CWD },
	{ "user", required_argument, NULL, OPT_USER },
	{ "rlimit", required_argument, NULL, OPT_RLIMIT },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

void exec_args_fini(struct exec_args *a)
{
	for (int i = 0; i < a->nr_rlimits; i++)
		free(a->rlimits[i]);
	free(a->rlimits);
	free(a->env);
	*a = (struct exec_args){ 0 };
}

/* --rlimit NAME=SOFT:HARD, kept as the protocol's NAME:SOFT:HARD. */
static int add_rlimit(struct exec_args *a, const char *v, char *err, size_t errlen)
{
	const char *eq = strchr(v, '=');
	char *s;

	if (!eq || eq == v || !strchr(eq + 1, ':')) {
		snprintf(err, errlen, "--rlimit %.40s: expected NAME=SOFT:HARD", v);
		return -EINVAL;
	}
	s = strdup(v);
	if (!s)
		return -ENOMEM;
	s[eq - v] = ':';
	a->rlimits[a->nr_rlimits++] = s;
	return 0;
}

/* One option getopt returned. Return: 0, 1 for --help, -errno with (err). */
static int take_opt(struct exec_args *a, int opt, int cur, char **argv, char *err, size_t errlen)
{
	switch (opt) {
	case OPT_SOCK:
		a->sock = optarg;
		return 0;
	case 't':
		a->tty = true;
		return 0;
	case OPT_ENV:
		a->env[a->envc++] = optarg;
		return 0;
	case OPT_CWD:
		a->cwd = optarg;
		return 0;
	case OPT_USER:
		a->user = optarg;
		return 0;
	case OPT_RLIMIT:
		return add_rlimit(a, optarg, err, errlen);
	case 'h':
		return 1;
	case ':':
		snprintf(err, errlen, "option %.40s needs a value", argv[cur]);
		return -EINVAL;
	default:
		if (strncmp(argv[cur], "--", 2) == 0)
			snprintf(err, errlen, "unknown option %.40s (see --help)", argv[cur]);
		else
			snprintf(err, errlen, "unknown option -%c (see --help)", optopt);
		return -EINVAL;
	}
}

int exec_parse_args(int argc, char **argv, struct exec_args *a, char *err, size_t errlen)
{
	int opt, cur, r = 0;

	*a = (struct exec_args){ 0 };
	err[0] = 0;
	/* no option takes more than one argv slot: argc bounds both lists */
	a->env = calloc((size_t)argc + 1, sizeof(*a->env));
	a->rlimits = calloc((size_t)argc + 1, sizeof(*a->rlimits));
	if (!a->env || !a->rlimits) {
		exec_args_fini(a);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	/* 0, not 1: glibc then forgets a "-th" group left over from an earlier parse */
	optind = 0;
	opterr = 0;
	for (;;) {
		cur = optind ? optind : 1;
		/* "+": stop at the first non-option; the command's options are its own */
		opt = getopt_long(argc, argv, "+:th", exec_opts, NULL);
		if (opt == -1)
			break;
		r = take_opt(a, opt, cur, argv, err, errlen);
		if (r)
			break;
	}
	if (!r && !a->sock) {
		snprintf(err, errlen, "--api-socket SOCKET is required (%s)", EXEC_SYNOPSIS);
		r = -EINVAL;
	} else if (!r && optind >= argc) {
		snprintf(err, errlen, "no command (%s)", EXEC_SYNOPSIS);
		r = -EINVAL;
	}
	if (r < 0 || r == 1) {
		exec_args_fini(a);
		return r;
	}
	a->argc = argc - optind;
	a->argv = argv + optind;
	return 0;
}

/* ---- the control socket -------------------------------------------------- */

static int exec_connect(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, e;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "%s: %s", path, strerror(ENAMETOOLONG));
		return -ENAMETOOLONG;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		e = errno;
		snprintf(err, errlen, "socket: %s", strerror(e));
		return -e;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		e = errno;
		close(fd);
		snprintf(err, errlen, "%s: %s%s", path, strerror(e),
			 e == ENOENT ? " (is agentvmm running with --api-socket?)" :
			 e == ECONNREFUSED ? " (stale socket: agentvmm is gone)" : "");
		return -e;
	}
	return fd;
}

static long ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

/*
 * One line into (buf) (NUL-terminated, without its "\n"), never consuming a
 * byte after it: what follows "OK" is the session's. Return: 0; -ENODATA end
 * of stream before any byte; -EPROTO end of stream within the line;
 * -EMSGSIZE; -ETIMEDOUT; -errno.
 */
static int read_line(int fd, char *buf, size_t len)
{
	struct timespec t0;
	size_t have = 0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		long left = EXEC_REPLY_WAIT_MS - ms_since(&t0);
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (left <= 0)
			return -ETIMEDOUT;
		int pr = poll(&p, 1, (int)left);

		if (pr < 0 && errno != EINTR)
			return -errno;
		if (pr <= 0)
			continue;
		/* look first, then take only the bytes up to the newline */
		n = recv(fd, buf + have, len - 1 - have, MSG_PEEK | MSG_DONTWAIT);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n == 0 || (n < 0 && errno == ECONNRESET))
			return have ? -EPROTO : -ENODATA;
		if (n < 0)
			return -errno;
		char *nl = memchr(buf + have, '\n', (size_t)n);
		size_t take = nl ? (size_t)(nl - (buf + have)) + 1 : (size_t)n;
		while (take) {
			n = recv(fd, buf + have, take, MSG_DONTWAIT);
			if (n <= 0)
				return n < 0 && errno != EINTR ? -errno : -EPROTO;
			have += (size_t)n;
			take -= (size_t)n;
		}
		buf[have] = 0;
		if (nl) {
			buf[have - 1] = 0;
			if (have > 1 && buf[have - 2] == '\r')
				buf[have - 2] = 0;
			return 0;
		}
		if (have == len - 1)
			return -EMSGSIZE;
	}
}

/* The server's JSON error line: its message in (err). Return: -errno for its code. */
static int json_refusal(const char *line, char *err, size_t errlen)
{
	cJSON *o = cJSON_Parse(line);
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(o, "error");
	const cJSON *code = cJSON_GetObjectItemCaseSensitive(e, "code");
	const cJSON *msg = cJSON_GetObjectItemCaseSensitive(e, "message");
	int r = -ECONNREFUSED;

	if (!cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(o, "ok")) || !cJSON_IsString(msg)) {
		snprintf(err, errlen, "malformed reply from the control socket");
		cJSON_Delete(o);
		return -EPROTO;
	}
	snprintf(err, errlen, "%s", msg->valuestring);
	for (char *c = err; *c; c++) /* one line, whatever the server says */
		*c = (unsigned char)*c < 0x20 || *c == 0x7f ? '?' : *c;
	if (cJSON_IsString(code) && !strcmp(code->valuestring, "denied"))
		r = -EACCES;
	else if (cJSON_IsString(code) && !strcmp(code->valuestring, "busy"))
		r = -EBUSY;
	else if (cJSON_IsString(code) && !strcmp(code->valuestring, "unknown-command"))
		r = -EOPNOTSUPP;
	cJSON_Delete(o);
	return r;
}

/*
 * Ask the server at (path) for a session. Return: the connected fd; -errno
 * with (err), (*refused) true when the server or the guest said no.
 */
static int exec_open(const char *path, bool *refused, char *err, size_t errlen)
{
	char line[CTL_REPLY_MAX + 1];
	const char *req = EXEC_REQUEST;
	size_t left = strlen(req);
	int fd = exec_connect(path, err, errlen), r = 0;

	*refused = false;
	if (fd < 0)
		return fd;
	while (left) {
		ssize_t w = send(fd, req, left, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break; /* a refusal may be waiting to be read */
		req += w;
		left -= (size_t)w;
	}
	r = read_line(fd, line, sizeof(line));
	if (!r && !strncmp(line, "OK ", 3))
		return fd;
	close(fd);
	*refused = r == -ENODATA || (!r && line[0] == '{');
	if (r == -ENODATA) {
		snprintf(err, errlen, "the guest did not accept the exec session (is it running "
			 "with a session-mode command? see docs/vsock.md)");
		return -ECONNREFUSED;
	}
	if (!r && line[0] == '{') {
		r = json_refusal(line, err, errlen);
		*refused = r != -EPROTO;
		return r;
	}
	if (r == -ETIMEDOUT)
		snprintf(err, errlen, "%s: no reply within %d s", path, EXEC_REPLY_WAIT_MS / 1000);
	else if (r && r != -EPROTO && r != -EMSGSIZE)
		snprintf(err, errlen, "%s: %s", path, strerror(-r));
	else
		snprintf(err, errlen, "%s: unexpected reply from the control socket", path);
	return r ? r : -EPROTO;
}

/* ---- the session --------------------------------------------------------- */

/* Where exec_run() stopped: the CLI's exit status depends on it. */
enum exec_stage { EXEC_STAGE_JOB, EXEC_STAGE_OPEN, EXEC_STAGE_REFUSED, EXEC_STAGE_SESSION };

struct exec_job {
	struct avs_spec_in spec;
	int in_fd, out_fd, err_fd;  /* the caller's; -1: none */
	bool signals;               /* pass SIGINT, SIGTERM... on (the CLI) */
	bool escape;
};

/* Block the signals passed on to the command; read them through a signalfd. */
static int signals_take(sigset_t *old)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2,
				    SIGWINCH };
	sigset_t set;
	int fd;

	sigemptyset(&set);
	for (size_t i = 0; i < ARRAY_SIZE(sigs); i++)
		sigaddset(&set, sigs[i]);
	if (pthread_sigmask(SIG_BLOCK, &set, old))
		return -1;
	fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (fd < 0)
		pthread_sigmask(SIG_SETMASK, old, NULL);
	return fd;
}

/* (fd) ready for the relay in (*out): -1 stays -1, and so does a closed fd. */
static int prepare(int fd, int *out, const char *name, char *err, size_t errlen)
{
	int r = fd < 0 ? -EBADF : avs_prepare_output(fd);

	*out = r;
	if (r >= 0 || r == -EBADF) {
		*out = r < 0 ? -1 : r;
		return 0;
	}
	snprintf(err, errlen, "%s: %s", name, strerror(-r));
	return r;
}

static const char *relay_failure(int r)
{
	switch (r) {
	case -EPIPE:
		return "the session ended before the command's exit status";
	case -EPROTO:
		return "the guest broke the session protocol (guest-init/session_proto.h)";
	case -EINTR:
		return "session closed (Ctrl-A x); the command is killed";
	case -ECANCELED:
		return "session cancelled";
	default:
		return NULL;
	}
}

static int exec_relay(int fd, const struct exec_job *job, const uint8_t *spec, size_t spec_len,
		      int *status, char *err, size_t errlen)
{
	struct avs_relay rl = { .sock = fd, .in_fd = job->in_fd, .out_fd = -1, .err_fd = -1,
				.spec = spec, .spec_len = spec_len, .stop_fd = -1, .sig_fd = -1,
				.tty = job->spec.tty, .escape = job->escape };
	const char *why;
	sigset_t old;
	int r;

	r = prepare(job->out_fd, &rl.out_fd, "stdout", err, errlen);
	if (!r)
		r = prepare(job->err_fd, &rl.err_fd, "stderr", err, errlen);
	/* only now: until the session is open, Ctrl-C ends this client as usual */
	if (!r && job->signals) {
		rl.sig_fd = signals_take(&old);
		if (rl.sig_fd < 0) {
			r = -errno;
			snprintf(err, errlen, "cannot pass signals on: %s", strerror(-r));
		}
	}
	if (!r) {
		r = avs_relay_run(&rl, status);
		why = relay_failure(r);
		if (r && why)
			snprintf(err, errlen, "%s", why);
		else if (r)
			snprintf(err, errlen, "session: %s", strerror(-r));
	}
	if (rl.sig_fd >= 0) {
		close(rl.sig_fd);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	}
	if (rl.out_fd >= 0)
		close(rl.out_fd);
	if (rl.err_fd >= 0)
		close(rl.err_fd);
	return r;
}

/* Build the job, open the session, relay it. Return: 0 + (*status), or -errno + (err, *stage). */
static int exec_run(const char *path, const struct exec_job *job, int *status,
		    enum exec_stage *stage, char *err, size_t errlen)
{
	uint8_t *spec;
	size_t spec_len;
	bool refused;
	int fd, r;

	*stage = EXEC_STAGE_JOB;
	r = avs_spec_build(&job->spec, &spec, &spec_len, err, errlen);
	if (r)
		return r;
	fd = exec_open(path, &refused, err, errlen);
	if (fd < 0) {
		*stage = refused ? EXEC_STAGE_REFUSED : EXEC_STAGE_OPEN;
		free(spec);
		return fd;
	}
	*stage = EXEC_STAGE_SESSION;
	r = exec_relay(fd, job, spec, spec_len, status, err, errlen);
	close(fd);
	free(spec);
	return r;
}

/* A tty session's size: (fd)'s terminal, else 24x80. */
static void term_size(int fd, struct avs_spec_in *in)
{
	struct winsize ws;

	in->rows = EXEC_DEFAULT_ROWS;
	in->cols = EXEC_DEFAULT_COLS;
	if (fd >= 0 && ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_row && ws.ws_col) {
		in->rows = ws.ws_row;
		in->cols = ws.ws_col;
	}
}

/* ---- the public API ------------------------------------------------------ */

#define EXEC_GROUP_TEXT 11 /* "4294967295" and a NUL */

int exec_opts_spec(const struct avm_exec_opts *o, struct avs_spec_in *in, char **groups)
{
	const char **g = NULL;
	char *text;

	*groups = NULL;
	if (o->argc < 0 || o->envc < 0 || o->nr_rlimits < 0 || o->nr_groups < 0 ||
	    o->nr_setup < 0 || (o->nr_groups && !o->groups) || (o->nr_rlimits && !o->rlimits) ||
	    (o->nr_setup && !o->setup) || (o->envc && !o->env))
		return -EINVAL;
	*in = (struct avs_spec_in){
		.argc = o->argc, .argv = o->argv, .envc = o->envc, .env = o->env, .cwd = o->cwd,
		.user = o->user, .nr_rlimits = o->nr_rlimits, .rlimits = o->rlimits,
		.tty = o->tty, .root = o->root, .hostname = o->hostname, .umask = o->umask,
		.no_new_privs = o->no_new_privs, .caps = o->caps, .nr_setup = o->nr_setup,
		.setup = o->setup,
	};
	if (o->tty)
		term_size(o->in_fd, in);
	if (!o->nr_groups)
		return 0;
	/* one block: the pointers, then the texts they point to */
	g = malloc((size_t)o->nr_groups * (sizeof(*g) + EXEC_GROUP_TEXT));
	if (!g)
		return -ENOMEM;
	text = (char *)(g + o->nr_groups);
	for (int i = 0; i < o->nr_groups; i++) {
		g[i] = text + (size_t)i * EXEC_GROUP_TEXT;
		snprintf(text + (size_t)i * EXEC_GROUP_TEXT, EXEC_GROUP_TEXT, "%u", o->groups[i]);
	}
	in->nr_groups = o->nr_groups;
	in->groups = g;
	*groups = (char *)g;
	return 0;
}

int avm_exec(const char *api_socket, const struct avm_exec_opts *o, int *status,
	     struct avm_error *err)
{
	char msg[AVM_ERROR_MSG_MAX] = "";
	struct exec_job job = { .in_fd = o->in_fd, .out_fd = o->out_fd, .err_fd = o->err_fd,
				.signals = o->signals };
	enum exec_stage stage;
	char *groups;
	int r, st = 0;

	r = exec_opts_spec(o, &job.spec, &groups);
	if (r)
		snprintf(msg, sizeof(msg), "%s", r == -ENOMEM ? "out of memory" :
			 "bad job: a negative count or a NULL array");
	else if (!api_socket) {
		r = -EINVAL;
		snprintf(msg, sizeof(msg), "no control socket given");
	} else {
		r = exec_run(api_socket, &job, &st, &stage, msg, sizeof(msg));
	}
	free(groups);
	if (err) {
		err->code = r;
		snprintf(err->msg, sizeof(err->msg), "%s", r ? msg : "");
	}
	if (!r && status)
		*status = st;
	return r;
}

/*
 * A tty session gets this terminal's $TERM (the guest's pty shows what it
 * draws), unless --env sets one; (a->env) has room (one slot per argv entry).
 */
static void add_term(struct exec_args *a, char *buf, size_t len)
{
	const char *t = getenv("TERM");

	for (int i = 0; i < a->envc; i++)
		if (!strncmp(a->env[i], "TERM=", 5))
			return;
	if (t && *t && strlen(t) + 6 <= len) {
		snprintf(buf, len, "TERM=%s", t);
		a->env[a->envc++] = buf;
	}
}

static int cli_status(int r, enum exec_stage stage, int status)
{
	if (!r)
		return status;
	if (stage == EXEC_STAGE_JOB)
		return r == -ENOMEM ? EXEC_STATUS_FAILED : EXEC_STATUS_USAGE;
	return stage == EXEC_STAGE_REFUSED ? EXEC_STATUS_REFUSED : EXEC_STATUS_FAILED;
}

int avm_exec_client(int argc, char **argv)
{
	char msg[AVM_ERROR_MSG_MAX];
	struct exec_args a;
	enum exec_stage stage = EXEC_STAGE_JOB;
	char term[256];
	int r, status = 0;

	r = exec_parse_args(argc, argv, &a, msg, sizeof(msg));
	if (r == 1) {
		fputs(exec_usage(), stdout);
		return 0;
	}
	if (r) {
		fprintf(stderr, "agentvmm exec: %s\n", msg);
		return r == -ENOMEM ? EXEC_STATUS_FAILED : EXEC_STATUS_USAGE;
	}
	struct exec_job job = {
		.spec = { .argc = a.argc, .argv = (const char *const *)a.argv, .envc = a.envc,
			  .env = a.env, .cwd = a.cwd, .user = a.user, .nr_rlimits = a.nr_rlimits,
			  .rlimits = (const char *const *)a.rlimits, .tty = a.tty },
		.in_fd = STDIN_FILENO, .out_fd = STDOUT_FILENO, .err_fd = STDERR_FILENO,
		.signals = true, .escape = a.tty && isatty(STDIN_FILENO),
	};
	if (a.tty) {
		term_size(STDIN_FILENO, &job.spec);
		add_term(&a, term, sizeof(term));
		job.spec.envc = a.envc;
	}
	r = exec_run(a.sock, &job, &status, &stage, msg, sizeof(msg));
	if (r)
		fprintf(stderr, "agentvmm exec: %s\n", msg);
	exec_args_fini(&a);
	return cli_status(r, stage, status);
}
