// SPDX-License-Identifier: MIT
/*
 * session.c: the session handler (session.h): one process per session,
 * forked by PID 1. It reads the job, starts the command on pipes or a new
 * pseudo-terminal, and relays in one poll loop with at most one frame
 * buffered each way (back-pressure instead of memory): the command's
 * stdout/stderr are read only when the last frame to the host is sent, the
 * stream is read only when the last stdin chunk reached the command.
 */
#include "guest-init/session.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "guest-init/container.h"
#include "guest-init/report.h"
#include "guest-init/vsock_addr.h"

/* Signals the handler forwards to the command's process group. */
static const int sess_forwarded[] = { SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGPWR };

void gi_child_signals_reset(void)
{
	sigset_t all;

	for (int i = 1; i < NSIG; i++)
		signal(i, SIG_DFL);
	sigfillset(&all);
	sigprocmask(SIG_UNBLOCK, &all, NULL);
	gi_report_drop();
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- connecting ---------------------------------------------------------------- */

int gi_session_connect_job(void)
{
	struct gi_sockaddr_vm sa = { .svm_family = AF_VSOCK, .svm_cid = GI_VSOCK_HOST_CID,
				     .svm_port = AVS_PORT_JOB };
	long long end = now_ms() + GI_SESSION_CONNECT_MS;
	int fd, e;

	for (;;) {
		fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			return fd;
		e = errno;
		if (fd >= 0)
			close(fd);
		/* the transport binds to the device a moment after the module loaded */
		if (now_ms() >= end || (e != ENODEV && e != EAFNOSUPPORT && e != ENETUNREACH &&
					e != EHOSTUNREACH && e != EINTR))
			return -e;
		usleep(20000);
	}
}

int gi_session_listen(void)
{
	struct gi_sockaddr_vm sa = { .svm_family = AF_VSOCK, .svm_cid = -1U /* VMADDR_CID_ANY */,
				     .svm_port = AVS_PORT_EXEC };
	int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 16) < 0) {
		int e = errno;

		close(fd);
		return -e;
	}
	return fd;
}

int gi_session_accept(int lfd)
{
	struct gi_sockaddr_vm sa;
	socklen_t len = sizeof(sa);
	int fd = accept4(lfd, (struct sockaddr *)&sa, &len, SOCK_CLOEXEC);

	if (fd < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	if (len < sizeof(sa) || sa.svm_family != AF_VSOCK || sa.svm_cid != GI_VSOCK_HOST_CID) {
		gi_info("exec: a connection from CID %u refused (only the host may exec)",
			sa.svm_cid);
		close(fd);
		return -EAGAIN;
	}
	return fd;
}

/* ---- the handler --------------------------------------------------------------- */

struct sess {
	int sock;
	int sfd;                /* signalfd: SIGCHLD and sess_forwarded */
	bool tty;
	int master;             /* tty: the pty master (both directions) */
	int in_w;               /* the command's stdin (pipe or master); -1 once closed */
	int src[2];             /* stdout, stderr read ends (tty: master, -1); -1 at EOF */
	pid_t child;
	bool child_done;
	int status;
	/* to the host: one frame */
	uint8_t *obuf;
	size_t olen, ooff;
	/* from the host: the frame being read */
	uint8_t hbuf[AVS_HDR_LEN];
	size_t hhave;
	struct avs_hdr ih;
	uint8_t *ibuf;
	size_t ihave;
	/* stdin bytes of the last STDIN frame not yet taken by the command */
	size_t soff, slen;
	bool stdin_eof;
	bool exit_sent, acked, gone;
	int next_src;           /* fairness between stdout and stderr */
};

static void hdr_put(uint8_t *p, uint32_t len, uint8_t type)
{
	uint32_t le = htole32(len);

	memcpy(p, &le, 4);
	p[4] = type;
	p[5] = 0;
	p[6] = 0;
	p[7] = 0;
}

/* Move exactly (len) bytes to or from (fd), blocking (the socket's timeout bounds each wait). */
static int io_full(int fd, void *buf, size_t len, bool out)
{
	size_t off = 0;

	while (off < len) {
		ssize_t n = out ? send(fd, (uint8_t *)buf + off, len - off, MSG_NOSIGNAL) :
				  read(fd, (uint8_t *)buf + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		off += (size_t)n;
	}
	return 0;
}

/* Blocking write of a whole frame (before and after the relay loop). */
static int send_frame_blocking(int sock, uint8_t type, const void *data, size_t len)
{
	uint8_t f[AVS_HDR_LEN + AVS_ERROR_MAX];

	if (len > AVS_ERROR_MAX)
		return -1;
	hdr_put(f, (uint32_t)len, type);
	memcpy(f + AVS_HDR_LEN, data, len);
	return io_full(sock, f, AVS_HDR_LEN + len, true);
}

static int read_full(int fd, void *buf, size_t len)
{
	return io_full(fd, buf, len, false);
}

/* A frame header off the wire into (h), its length in host order. */
static void hdr_get(const uint8_t *p, struct avs_hdr *h)
{
	memcpy(&h->len, p, 4);
	h->len = le32toh(h->len);
	h->type = p[4];
	h->flags = p[5];
	h->zero = (uint16_t)(p[6] | p[7] << 8);
}

/* The session could not run its command: ERROR, EXIT, wait for the ack, end. */
static __attribute__((noreturn)) void fail_session(int sock, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void fail_session(int sock, int status, const char *fmt, ...)
{
	char msg[AVS_ERROR_MAX];
	uint32_t st = htole32((uint32_t)status);
	uint8_t h[AVS_HDR_LEN];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof(msg))
		n = sizeof(msg) - 1;
	gi_info("session: %s", msg);
	if (!send_frame_blocking(sock, AVS_ERROR, msg, (size_t)n) &&
	    !send_frame_blocking(sock, AVS_EXIT, &st, sizeof(st)))
		(void)read_full(sock, h, sizeof(h)); /* EXIT_ACK, or the end of the stream */
	_exit(status);
}

static int set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* What went wrong in the child before exec, told through a CLOEXEC pipe. */
struct child_fail {
	int stage;              /* enum child_stage */
	int err;
};
enum child_stage {
	CS_SETUP, CS_LIMIT, CS_USER, CS_CWD, CS_ENV, CS_EXEC, CS_HOSTNAME, CS_ROOT, CS_GROUPS,
	CS_CAPS, CS_NNP,
};

static __attribute__((noreturn)) void child_die(int pfd, int stage, int err)
{
	struct child_fail f = { stage, err };

	if (write(pfd, &f, sizeof(f)) < 0) {
		/* the handler sees EOF and reports the exit status alone */
	}
	_exit(stage == CS_EXEC ? (err == ENOENT ? AVS_STATUS_NOTFOUND : AVS_STATUS_NOEXEC) :
				 AVS_STATUS_GUEST_FAIL);
}

/* Supplementary groups, then gid and uid (session_proto.h g:, u:). */
static void child_ids(const struct gi_spec *sp, int pfd)
{
	gid_t groups[AVS_MAX_GROUPS];

	for (size_t i = 0; i < sp->nr_groups; i++)
		groups[i] = sp->groups[i];
	if ((sp->nr_groups || sp->has_user) &&
	    setgroups(sp->nr_groups, sp->nr_groups ? groups : NULL) < 0)
		child_die(pfd, CS_GROUPS, errno);
	if (sp->has_user && (setresgid(sp->gid, sp->gid, sp->gid) < 0 ||
			     setresuid(sp->uid, sp->uid, sp->uid) < 0))
		child_die(pfd, CS_USER, errno);
}

/*
 * The command's process after its stdio: the job's items in session_proto.h's
 * order (limits, hostname, root, cwd, ids, capabilities, umask,
 * no_new_privs, environment), then exec. The working directory is entered
 * before the ids change (a root-only path works, as with runc) and, when
 * that is refused, once more after (a path only the user may enter).
 */
static __attribute__((noreturn)) void child_exec(const struct gi_spec *sp, int pfd)
{
	bool cwd_later = false;
	int r = 0;

	for (size_t i = 0; i < sp->nr_rlimits; i++)
		if (setrlimit(sp->rlimits[i].resource, &sp->rlimits[i].rl) < 0)
			child_die(pfd, CS_LIMIT, errno);
	if (sp->hostname && sethostname(sp->hostname, strlen(sp->hostname)) < 0)
		child_die(pfd, CS_HOSTNAME, errno);
	if (sp->root && (chroot(sp->root) < 0 || chdir("/") < 0))
		child_die(pfd, CS_ROOT, errno);
	if (sp->cwd && chdir(sp->cwd) < 0) {
		if (!sp->has_user || (errno != EACCES && errno != EPERM))
			child_die(pfd, CS_CWD, errno);
		cwd_later = true;
	}
	if (sp->has_caps)
		r = gi_ct_caps_bound(&sp->caps);
	if (r)
		child_die(pfd, CS_CAPS, -r);
	child_ids(sp, pfd);
	if (cwd_later && chdir(sp->cwd) < 0)
		child_die(pfd, CS_CWD, errno);
	if (sp->has_caps)
		r = gi_ct_caps_apply(&sp->caps);
	if (r)
		child_die(pfd, CS_CAPS, -r);
	if (sp->has_umask)
		umask((mode_t)sp->umask);
	if (sp->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		child_die(pfd, CS_NNP, errno);
	for (size_t i = 0; i < sp->envc; i++)
		if (putenv(sp->env[i]))
			child_die(pfd, CS_ENV, errno);
	execvp(sp->argv[0], sp->argv);
	child_die(pfd, CS_EXEC, errno);
}

/* The command's process, after fork(): stdio, then child_exec(). */
static __attribute__((noreturn)) void child_run(const struct gi_spec *sp, int fds[3], int pfd,
						 const char *slave)
{
	gi_child_signals_reset();
	setsid();
	if (slave) {
		int s = open(slave, O_RDWR);

		if (s < 0 || ioctl(s, TIOCSCTTY, 0) < 0)
			child_die(pfd, CS_SETUP, errno);
		fds[0] = fds[1] = fds[2] = s;
	}
	/* every fd here is above 2 (PID 1 keeps 0-2 open): dup2 never keeps a CLOEXEC flag */
	for (int i = 0; i < 3; i++)
		if (dup2(fds[i], i) < 0)
			child_die(pfd, CS_SETUP, errno);
	if (slave)
		close(fds[0]);
	child_exec(sp, pfd);
}

/*
 * The container's own pty: from the devpts instance mounted in its root (a
 * set-up M:devpts item), so that ttyname() in the container finds the slave
 * in its /dev/pts. Return: the master, -ENOENT (no devpts there), -errno.
 */
static int open_root_pty(const struct gi_spec *sp, const struct winsize *ws, char *name,
			 size_t len)
{
	char path[PATH_MAX];
	unsigned n;
	int m, unlock = 0;

	if ((size_t)snprintf(path, sizeof(path), "%s/dev/pts/ptmx", sp->root) >= sizeof(path))
		return -ENAMETOOLONG;
	m = open(path, O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
	if (m < 0)
		return -errno;
	if (ioctl(m, TIOCSPTLCK, &unlock) < 0 || ioctl(m, TIOCGPTN, &n) < 0 ||
	    ioctl(m, TIOCSWINSZ, ws) < 0) {
		int e = errno;

		close(m);
		return -e;
	}
	if ((size_t)snprintf(name, len, "%s/dev/pts/%u", sp->root, n) >= len) {
		close(m);
		return -ENAMETOOLONG;
	}
	return m;
}

/* A pty of the job's size: the master (non-blocking) or -errno; the slave's name in (name). */
static int open_pty(const struct gi_spec *sp, char *name, size_t len)
{
	struct winsize ws = { .ws_row = sp->rows, .ws_col = sp->cols };
	int m;

	if (sp->root) {
		m = open_root_pty(sp, &ws, name, len);
		if (m >= 0 || m != -ENOENT)
			return m;
	}
	m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
	if (m < 0)
		return -errno;
	if (grantpt(m) || unlockpt(m) || ptsname_r(m, name, len) ||
	    ioctl(m, TIOCSWINSZ, &ws) < 0) {
		int e = errno;

		close(m);
		return -e;
	}
	return m;
}

static const char *stage_what(int stage)
{
	switch (stage) {
	case CS_LIMIT:
		return "resource limit";
	case CS_USER:
		return "user";
	case CS_CWD:
		return "working directory";
	case CS_ENV:
		return "environment";
	case CS_SETUP:
		return "stdio";
	case CS_HOSTNAME:
		return "hostname";
	case CS_ROOT:
		return "root";
	case CS_GROUPS:
		return "supplementary groups";
	case CS_CAPS:
		return "capabilities";
	case CS_NNP:
		return "no_new_privs";
	}
	return "exec";
}

/* Fork the command; a failure before exec ends the session with its ERROR. */
static void start_command(struct sess *s, const struct gi_spec *sp)
{
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, err[2] = { -1, -1 }, st[2];
	char slave[PATH_MAX];
	struct child_fail f;
	ssize_t n;

	if (pipe2(st, O_CLOEXEC) < 0)
		fail_session(s->sock, AVS_STATUS_GUEST_FAIL, "pipe: %s", strerror(errno));
	if (sp->tty) {
		s->master = open_pty(sp, slave, sizeof(slave));
		if (s->master < 0)
			fail_session(s->sock, AVS_STATUS_GUEST_FAIL, "pseudo-terminal: %s",
				     strerror(-s->master));
	} else if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 ||
		   pipe2(err, O_CLOEXEC) < 0) {
		fail_session(s->sock, AVS_STATUS_GUEST_FAIL, "pipe: %s", strerror(errno));
	}
	s->child = fork();
	if (s->child < 0)
		fail_session(s->sock, AVS_STATUS_GUEST_FAIL, "fork: %s", strerror(errno));
	if (s->child == 0) {
		int fds[3] = { in[0], out[1], err[1] };

		child_run(sp, fds, st[1], sp->tty ? slave : NULL);
	}
	close(st[1]);
	do
		n = read(st[0], &f, sizeof(f));
	while (n < 0 && errno == EINTR);
	close(st[0]);
	if (n == (ssize_t)sizeof(f)) {
		int ws;

		while (waitpid(s->child, &ws, 0) < 0 && errno == EINTR)
			;
		if (f.stage == CS_EXEC)
			fail_session(s->sock, f.err == ENOENT ? AVS_STATUS_NOTFOUND : AVS_STATUS_NOEXEC,
				     "%s: %s", sp->argv[0], strerror(f.err));
		fail_session(s->sock, AVS_STATUS_GUEST_FAIL, "%s: %s", stage_what(f.stage),
			     strerror(f.err));
	}
	if (sp->tty) {
		s->in_w = s->master;
		s->src[0] = s->master;
		s->src[1] = -1;
		return;
	}
	close(in[0]);
	close(out[1]);
	close(err[1]);
	s->in_w = in[1];
	s->src[0] = out[0];
	s->src[1] = err[0];
	for (int i = 0; i < 2; i++)
		set_nonblock(s->src[i]);
	set_nonblock(s->in_w);
}

static void close_stdin(struct sess *s)
{
	if (s->in_w >= 0 && s->in_w != s->master)
		close(s->in_w);
	s->in_w = -1;
	s->slen = s->soff = 0;
}

static void signal_command(struct sess *s, int sig)
{
	if (s->child > 0 && !s->child_done && kill(-s->child, sig) < 0)
		kill(s->child, sig);
}

static void reap(struct sess *s)
{
	int st;

	while (!s->child_done) {
		pid_t p = waitpid(s->child, &st, WNOHANG);

		if (p <= 0)
			return;
		if (WIFEXITED(st) || WIFSIGNALED(st)) {
			s->child_done = true;
			s->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
			close_stdin(s); /* nobody reads it any more */
		}
	}
}

/* Put one frame in the (empty) output buffer. */
static void queue_frame(struct sess *s, uint8_t type, const void *data, size_t len)
{
	hdr_put(s->obuf, (uint32_t)len, type);
	if (len)
		memcpy(s->obuf + AVS_HDR_LEN, data, len);
	s->olen = AVS_HDR_LEN + len;
	s->ooff = 0;
}

static void flush_out(struct sess *s)
{
	while (s->ooff < s->olen) {
		ssize_t n = send(s->sock, s->obuf + s->ooff, s->olen - s->ooff,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			s->gone = true;
			return;
		}
		s->ooff += (size_t)n;
	}
	s->olen = s->ooff = 0;
}

/* Read the command's stdout or stderr (i) into a frame. */
static void read_src(struct sess *s, int i)
{
	ssize_t n = read(s->src[i], s->obuf + AVS_HDR_LEN, AVS_DATA_MAX);

	if (n < 0 && errno == EINTR)
		return;
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
		/* after the command exited, an empty pipe is its end: leftovers may hold it */
		if (!s->child_done)
			return;
		n = 0;
	}
	if (n > 0) {
		hdr_put(s->obuf, (uint32_t)n, i ? AVS_STDERR : AVS_STDOUT);
		s->olen = AVS_HDR_LEN + (size_t)n;
		s->ooff = 0;
		return;
	}
	/* EOF, or EIO of a pty master whose slave is closed */
	if (s->src[i] != s->master)
		close(s->src[i]);
	s->src[i] = -1;
	queue_frame(s, i ? AVS_STDERR : AVS_STDOUT, NULL, 0);
}

static void write_stdin(struct sess *s)
{
	while (s->slen) {
		ssize_t n = write(s->in_w, s->ibuf + s->soff, s->slen);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			close_stdin(s); /* EPIPE: the command closed its stdin */
			return;
		}
		s->soff += (size_t)n;
		s->slen -= (size_t)n;
	}
	s->soff = 0;
	if (s->stdin_eof && !s->tty)
		close_stdin(s);
}

/* A whole frame from the host is in ih/ibuf. */
static void host_frame(struct sess *s)
{
	uint32_t v = 0;

	if (s->ih.len == 4)
		memcpy(&v, s->ibuf, 4), v = le32toh(v);
	switch (s->ih.type) {
	case AVS_STDIN:
		if (s->stdin_eof) {
			s->gone = true; /* protocol error: data after EOF */
			return;
		}
		if (!s->ih.len) {
			s->stdin_eof = true;
			if (!s->tty)
				close_stdin(s);
			return;
		}
		if (s->in_w >= 0) {
			s->soff = 0;
			s->slen = s->ih.len;
			write_stdin(s);
		}
		return;
	case AVS_WINSIZE:
		if (s->tty) {
			struct winsize ws = { .ws_row = (uint16_t)(v & 0xffff),
					      .ws_col = (uint16_t)(v >> 16) };

			if (ws.ws_row && ws.ws_col)
				ioctl(s->master, TIOCSWINSZ, &ws);
		}
		return;
	case AVS_SIGNAL:
		if (v >= 1 && v <= 64)
			signal_command(s, (int)v);
		return;
	case AVS_EXIT_ACK:
		if (s->exit_sent && !s->olen)
			s->acked = true;
		else
			s->gone = true;
		return;
	}
	s->gone = true; /* a second SPEC */
}

/* Read from the host as far as the pending stdin allows. */
static void read_host(struct sess *s)
{
	while (!s->slen && !s->gone && !s->acked) {
		ssize_t n;

		if (s->hhave < AVS_HDR_LEN) {
			n = read(s->sock, s->hbuf + s->hhave, AVS_HDR_LEN - s->hhave);
		} else {
			n = read(s->sock, s->ibuf + s->ihave, s->ih.len - s->ihave);
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			s->gone = true;
			return;
		}
		if (s->hhave < AVS_HDR_LEN) {
			s->hhave += (size_t)n;
			if (s->hhave < AVS_HDR_LEN)
				continue;
			hdr_get(s->hbuf, &s->ih);
			if (gi_session_frame_check(&s->ih) || s->ih.type == AVS_SPEC) {
				s->gone = true;
				return;
			}
			s->ihave = 0;
		} else {
			s->ihave += (size_t)n;
		}
		if (s->ihave == s->ih.len) {
			s->hhave = 0;
			host_frame(s);
		}
	}
}

static void on_signals(struct sess *s)
{
	struct signalfd_siginfo si;

	while (read(s->sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGCHLD)
			reap(s);
		else
			signal_command(s, (int)si.ssi_signo);
	}
	reap(s);
}

static void relay(struct sess *s)
{
	while (!s->gone && !s->acked) {
		struct pollfd p[5];
		int np = 0, ip_sock, ip_in = -1, ip_src[2] = { -1, -1 };

		if (!s->olen && !s->exit_sent) {
			/* alternate stdout and stderr so neither starves the other */
			for (int k = 0; k < 2 && !s->olen; k++) {
				int i = (s->next_src + k) & 1;

				if (s->src[i] >= 0 && s->child_done) {
					read_src(s, i);
					s->next_src = i ^ 1;
				}
			}
			if (!s->olen && s->child_done && s->src[0] < 0 && s->src[1] < 0) {
				uint32_t st = htole32((uint32_t)s->status);

				queue_frame(s, AVS_EXIT, &st, sizeof(st));
				s->exit_sent = true;
			}
		}
		flush_out(s);
		if (s->gone)
			break;
		/* the command is gone: its pipes are drained without waiting (the top of the loop) */
		if (!s->olen && !s->exit_sent && s->child_done)
			continue;
		ip_sock = np;
		p[np++] = (struct pollfd){ .fd = s->sock,
					   .events = (short)((s->slen ? 0 : POLLIN) |
							     (s->olen ? POLLOUT : 0)) };
		p[np++] = (struct pollfd){ .fd = s->sfd, .events = POLLIN };
		if (s->slen && s->in_w >= 0) {
			ip_in = np;
			p[np++] = (struct pollfd){ .fd = s->in_w, .events = POLLOUT };
		}
		for (int i = 0; i < 2; i++) {
			if (!s->olen && !s->exit_sent && s->src[i] >= 0 && !s->child_done &&
			    (i == 0 || s->src[1] != s->src[0])) {
				ip_src[i] = np;
				p[np++] = (struct pollfd){ .fd = s->src[i], .events = POLLIN };
			}
		}
		if (poll(p, (nfds_t)np, -1) < 0 && errno != EINTR)
			break;
		if (p[1].revents)
			on_signals(s);
		if (ip_in >= 0 && p[ip_in].revents)
			write_stdin(s);
		for (int k = 0; k < 2; k++) {
			int i = (s->next_src + k) & 1;

			if (ip_src[i] >= 0 && p[ip_src[i]].revents && !s->olen) {
				read_src(s, i);
				s->next_src = i ^ 1;
			}
		}
		if (p[ip_sock].revents & (POLLIN | POLLHUP | POLLERR))
			read_host(s);
		if (s->slen && s->in_w < 0)
			s->slen = 0; /* the command is gone: its stdin is dropped */
	}
}

void gi_session_serve(int sock, bool await)
{
	/* the job in time, unless the host gives it when it wants (agentvmm.session=await) */
	struct timeval tv = { .tv_sec = await ? 0 : GI_SESSION_SPEC_MS / 1000 };
	struct sess s = { .sock = sock, .master = -1, .in_w = -1, .src = { -1, -1 } };
	struct gi_spec sp;
	uint8_t h[AVS_HDR_LEN];
	struct avs_hdr hdr;
	sigset_t set;
	char err[256], msg[1024];
	uint8_t *spec;

	gi_report_drop();
	setsid(); /* PID 1 signals the session's group; the command gets its own */
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	for (size_t i = 0; i < GI_ARRAY_SIZE(sess_forwarded); i++)
		sigaddset(&set, sess_forwarded[i]);
	sigprocmask(SIG_BLOCK, &set, NULL);
	s.sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (s.sfd < 0)
		fail_session(sock, AVS_STATUS_GUEST_FAIL, "signalfd: %s", strerror(errno));

	/* the job: one SPEC frame, in time */
	setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (read_full(sock, h, sizeof(h)) < 0) {
		gi_info("session: no job: %s", strerror(errno));
		_exit(AVS_STATUS_BAD_JOB);
	}
	hdr_get(h, &hdr);
	if (hdr.type != AVS_SPEC || gi_session_frame_check(&hdr))
		fail_session(sock, AVS_STATUS_BAD_JOB, "bad job: the first frame is not a job");
	spec = malloc(hdr.len ? hdr.len : 1);
	if (!spec)
		fail_session(sock, AVS_STATUS_GUEST_FAIL, "out of memory");
	if (read_full(sock, spec, hdr.len) < 0) {
		gi_info("session: job cut short: %s", strerror(errno));
		_exit(AVS_STATUS_BAD_JOB);
	}
	if (gi_spec_parse(spec, hdr.len, &sp, err, sizeof(err)))
		fail_session(sock, AVS_STATUS_BAD_JOB, "bad job: %s", err);
	free(spec);
	/* a container's first session: its root, once, before the command exists */
	if (sp.nr_setup && gi_ct_setup(&sp, msg, sizeof(msg)))
		fail_session(sock, AVS_STATUS_GUEST_FAIL, "%s", msg);
	tv.tv_sec = 0;
	setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));

	s.tty = sp.tty;
	s.obuf = malloc(AVS_HDR_LEN + AVS_DATA_MAX);
	s.ibuf = malloc(AVS_DATA_MAX);
	if (!s.obuf || !s.ibuf)
		fail_session(sock, AVS_STATUS_GUEST_FAIL, "out of memory");
	start_command(&s, &sp);
	gi_spec_fini(&sp);
	set_nonblock(sock);
	relay(&s);
	if (!s.acked) {
		/* the host went away (or broke the protocol): the command goes too */
		signal_command(&s, SIGKILL);
		while (!s.child_done && waitpid(s.child, NULL, 0) < 0 && errno == EINTR)
			;
		if (!s.child_done)
			s.status = 128 + SIGKILL;
	}
	/* what the session left behind in its group (background jobs) */
	if (kill(-s.child, SIGKILL) < 0 && errno != ESRCH)
		gi_info("session: kill leftovers: %s", strerror(errno));
	_exit(s.status);
}
