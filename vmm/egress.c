// SPDX-License-Identifier: MIT
/*
 * egress.c: start and stop the agentvmm-egress proxy of a VM (layout in
 * egress.h, the program's interface in egress/proxy.h).
 *
 * Everything the child needs is opened before fork(): the program (a sealed
 * memfd holding the embedded copy, or $AGENTVMM_EGRESS opened O_PATH), the
 * rules (a memfd), the control socket pair, /dev/null, the environment.
 * Between fork() and exec the child makes only async-signal-safe calls (we
 * may be a threaded process): signals unblocked, the parent-death signal,
 * fds moved to 0..5, the rest closed, fexecve().
 */
#include "vmm/egress.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "egress/blob.h"
#include "egress/proxy.h"
#include "egress/rules.h"
#include "vmm/child.h"
#include "vmm/log.h"

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U /* Linux 6.3: executable memfd, where vm.memfd_noexec asks for it */
#endif

/* The fds the child gets, in the parent's numbering (-1: none). */
struct child_fds {
	int exe, ctl, rules, list, null;
};

/* Write all of (len) bytes at (buf) to (fd). Return: 0 or -errno. */
static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* A memfd named (name) holding (len) bytes at (buf), sealed. Return: the fd or -errno. */
static int sealed_memfd(const char *name, const void *buf, size_t len, unsigned flags)
{
	int fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING | flags), r;

	if (fd < 0 && errno == EINVAL && (flags & MFD_EXEC)) /* before Linux 6.3 */
		fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return -errno;
	r = write_all(fd, buf, len);
	if (!r && fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL))
		r = -errno;
	if (r) {
		close(fd);
		return r;
	}
	return fd;
}

/* The program to run: $AGENTVMM_EGRESS, or the embedded copy. Return: an fd or -errno. */
static int program_fd(char *err, size_t errlen)
{
	const char *bin = getenv("AGENTVMM_EGRESS");
	int fd;

	if (bin && *bin) {
		fd = open(bin, O_PATH | O_CLOEXEC);
		if (fd < 0 || faccessat(fd, "", X_OK, AT_EMPTY_PATH) < 0) {
			int e = errno;

			snprintf(err, errlen, "--egress: cannot run %s: %s", bin, strerror(e));
			if (fd >= 0)
				close(fd);
			return -e;
		}
		return fd;
	}
	fd = sealed_memfd("agentvmm-egress", egress_blob, egress_blob_len, MFD_EXEC);
	if (fd < 0)
		snprintf(err, errlen, "--egress: cannot load the proxy: %s", strerror(-fd));
	return fd;
}

/* Move (*fd) to 10 or above, close-on-exec, so no dup2() below lands on a source. */
static bool move_up(int *fd)
{
	if (*fd < 0)
		return true;
	*fd = fcntl(*fd, F_DUPFD_CLOEXEC, 10);
	return *fd >= 0;
}

/* In the child: only async-signal-safe calls, we are a copy of a maybe threaded process. */
static __attribute__((noreturn)) void child_run(struct child_fds f, pid_t parent,
						 char *const argv[], char *const envp[])
{
	int errfd = fcntl(2, F_DUPFD_CLOEXEC, 10);
	sigset_t none;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL); /* agentvmm blocks its stop signals; the proxy must not */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
		_exit(126); /* the parent is gone already: nobody would end us */
	if (errfd < 0)
		errfd = f.null;
	if (!move_up(&f.exe) || !move_up(&f.ctl) || !move_up(&f.rules) || !move_up(&f.list) ||
	    !move_up(&f.null) || !move_up(&errfd))
		_exit(126);
	if (dup2(f.null, 0) < 0 || dup2(f.null, 1) < 0 || dup2(errfd, 2) < 0 ||
	    dup2(f.ctl, EGRESS_FD_CTL) < 0 || dup2(f.rules, EGRESS_FD_RULES) < 0 ||
	    (f.list >= 0 && dup2(f.list, 5) < 0))
		_exit(126);
	/* everything else goes; the program's fd (close-on-exec) stays until the exec */
	syscall(SYS_close_range, 6U, (unsigned)f.exe - 1, 0U);
	syscall(SYS_close_range, (unsigned)f.exe + 1, ~0U, 0U);
	fexecve(f.exe, argv, envp);
	_exit(127);
}

/* Wait for the proxy's first message into (msg). Return: its length, 0 EOF, -ETIMEDOUT, -errno. */
static ssize_t wait_ready(int ctl, char *msg, size_t len)
{
	struct pollfd p = { .fd = ctl, .events = POLLIN };
	ssize_t n;
	int r;

	do
		r = poll(&p, 1, EGRESS_READY_MS);
	while (r < 0 && errno == EINTR);
	if (r == 0)
		return -ETIMEDOUT;
	if (r < 0)
		return -errno;
	n = recv(ctl, msg, len - 1, 0);
	if (n < 0)
		return -errno;
	msg[n] = 0;
	return n;
}

/* Why the proxy did not start: (n) from wait_ready(), (msg) its message; reaps it. */
static int start_failed(struct egress *e, ssize_t n, const char *msg, char *err, size_t errlen)
{
	bool killed;
	int st = child_reap(e->pid, n == -ETIMEDOUT ? 0 : EGRESS_STOP_MS, &killed);

	e->pid = 0;
	if (n > 0 && !strncmp(msg, "error: ", 7)) {
		snprintf(err, errlen, "--egress: %s", msg + 7);
		return -EINVAL;
	}
	if (n == -ETIMEDOUT)
		snprintf(err, errlen, "--egress: the proxy did not start within %d s",
			 EGRESS_READY_MS / 1000);
	else if (n > 0)
		snprintf(err, errlen, "--egress: the proxy said \"%.64s\"", msg);
	else if (WIFEXITED(st))
		snprintf(err, errlen, "--egress: the proxy exited with status %d%s",
			 WEXITSTATUS(st), WEXITSTATUS(st) == 127 ? " (cannot run it)" : "");
	else
		snprintf(err, errlen, "--egress: the proxy was killed by signal %d",
			 WIFSIGNALED(st) ? WTERMSIG(st) : 0);
	return -EIO;
}

/* The rules must parse here, as the proxy will parse them. */
static int check_rules(const char *text, size_t len, char *err, size_t errlen)
{
	struct egress_rules *r = egress_rules_new();
	int e;

	if (!r) {
		snprintf(err, errlen, "--egress: out of memory");
		return -ENOMEM;
	}
	e = egress_rules_load(r, text, len, "egress rules", err, errlen);
	egress_rules_free(r);
	return e == -ENOMEM ? -ENOMEM : e ? -EINVAL : 0;
}

/* The child's environment: the test hooks that are set here, copied into (buf). */
static void child_env(char *envp[3], char buf[2][64])
{
	static const char *const names[] = { EGRESS_ENV_HEAD_TIMEOUT, EGRESS_ENV_CONNECT_TIMEOUT };
	unsigned n = 0;

	for (unsigned i = 0; i < 2; i++) {
		const char *v = getenv(names[i]);

		if (v && strlen(v) < 16) {
			snprintf(buf[n], sizeof(buf[n]), "%s=%s", names[i], v);
			envp[n] = buf[n];
			n++;
		}
	}
	envp[n] = NULL;
}

/* Open what the child gets into (f) (ctl: the child's end; (*mine) ours). Return: 0 or -errno. */
static int open_child_fds(struct child_fds *f, int *mine, const char *text, size_t len,
			  char *err, size_t errlen)
{
	int sv[2];

	f->exe = program_fd(err, errlen);
	if (f->exe < 0)
		return f->exe;
	f->rules = sealed_memfd("egress-rules", text, len, 0);
	f->null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (f->rules < 0 || f->null < 0 ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		int e = f->rules < 0 ? -f->rules : errno;

		snprintf(err, errlen, "--egress: cannot start the proxy: %s", strerror(e));
		return -e;
	}
	*mine = sv[0];
	f->ctl = sv[1];
	return 0;
}

static void close_child_fds(struct child_fds *f)
{
	int *fds[] = { &f->exe, &f->ctl, &f->rules, &f->null };

	for (size_t i = 0; i < ARRAY_SIZE(fds); i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
}

int egress_start(struct egress *e, const char *rules_text, size_t len, bool log, int list_fd,
		 char *err, size_t errlen)
{
	struct child_fds f = { -1, -1, -1, list_fd, -1 };
	char name[] = "agentvmm-egress", logarg[] = "--log", listopt[] = "--list-fd", listarg[] = "5";
	char *argv[5] = { name, NULL }, *envp[3], envbuf[2][64], msg[512];
	unsigned a = 1;
	pid_t parent = getpid();
	ssize_t n;
	int r;

	e->live = false;
	e->pid = 0;
	e->ctl_fd = -1;
	r = check_rules(rules_text, len, err, errlen);
	if (r)
		return r;
	if (log)
		argv[a++] = logarg;
	if (list_fd >= 0) {
		argv[a++] = listopt;
		argv[a++] = listarg;
	}
	argv[a] = NULL;
	child_env(envp, envbuf);
	r = open_child_fds(&f, &e->ctl_fd, rules_text, len, err, errlen);
	if (!r) {
		e->pid = fork();
		if (e->pid < 0) {
			r = -errno;
			snprintf(err, errlen, "--egress: fork: %s", strerror(-r));
		} else if (e->pid == 0) {
			child_run(f, parent, argv, envp);
		}
	}
	close_child_fds(&f);
	if (r) {
		e->pid = 0;
		if (e->ctl_fd >= 0)
			close(e->ctl_fd);
		e->ctl_fd = -1;
		return r == -ENOMEM ? r : -EIO;
	}
	n = wait_ready(e->ctl_fd, msg, sizeof(msg));
	if (n != 2 || memcmp(msg, "ok", 2) || fcntl(e->ctl_fd, F_SETFL, O_NONBLOCK) < 0) {
		close(e->ctl_fd);
		e->ctl_fd = -1;
		return start_failed(e, n, msg, err, errlen);
	}
	e->live = true;
	log_info("--egress: proxy pid %d%s", (int)e->pid, log ? ", log mode" : "");
	return 0;
}

void egress_stop(struct egress *e)
{
	bool killed = false, died;
	int st = 0;

	if (!e->live)
		return;
	e->live = false;
	/* dead before we closed its socket: it ended on its own */
	died = waitpid(e->pid, &st, WNOHANG) == e->pid;
	close(e->ctl_fd);
	e->ctl_fd = -1;
	if (!died)
		st = child_reap(e->pid, EGRESS_STOP_MS, &killed);
	if (died || killed || !WIFEXITED(st) || WEXITSTATUS(st))
		log_warn("--egress: the proxy %s (%s %d)%s",
			 died ? "had ended on its own" : killed ? "did not exit" : "failed",
			 WIFEXITED(st) ? "status" : "signal",
			 WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st), killed ? ", killed" : "");
	e->pid = 0;
}
