// SPDX-License-Identifier: MIT
/* proc.c: spawn VMMs, time-stamp their output lines, time their exit. Prefix bench_. */
#include "bench/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

uint64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

int bench_proc_spawn(struct bench_proc *p, char *const argv[], bench_line_fn on_line,
		     void *opaque)
{
	int out[2] = { -1, -1 }, err[2] = { -1, -1 };
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	int r;

	memset(p, 0, sizeof(*p));
	p->pid = -1;
	p->pidfd = p->fd[0] = p->fd[1] = -1;
	p->on_line = on_line;
	p->opaque = opaque;
	if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0) {
		r = -errno;
		goto err_close;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, out[1], STDOUT_FILENO);
	posix_spawn_file_actions_adddup2(&fa, err[1], STDERR_FILENO);
	posix_spawnattr_init(&attr);
	/* own process group: a timeout kills the VMM and anything it started */
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
	posix_spawnattr_setpgroup(&attr, 0);
	p->t_start_ns = bench_now_ns();
	r = -posix_spawnp(&p->pid, argv[0], &fa, &attr, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	if (r) {
		p->pid = -1;
		goto err_close;
	}
	close(out[1]);
	close(err[1]);
	p->fd[0] = out[0];
	p->fd[1] = err[0];
	p->pidfd = (int)syscall(SYS_pidfd_open, p->pid, 0);
	if (p->pidfd < 0) {
		r = -errno;
		bench_proc_release(p);
		return r;
	}
	return 0;
err_close:
	for (int i = 0; i < 2; i++) {
		if (out[i] >= 0)
			close(out[i]);
		if (err[i] >= 0)
			close(err[i]);
	}
	return r;
}

/* Split what arrived on (stream) into lines and hand each to the callback. */
static void proc_take(struct bench_proc *p, int stream, const char *data, size_t n,
		      uint64_t t)
{
	char *buf = p->buf[stream - 1];
	size_t *len = &p->len[stream - 1];

	for (size_t i = 0; i < n; i++) {
		char c = data[i];

		if (c == '\r')
			continue;
		if (c != '\n' && *len < BENCH_LINE_MAX - 1) {
			buf[(*len)++] = c;
			continue;
		}
		buf[*len] = '\0';
		if (p->on_line)
			p->on_line(p, stream, buf, t);
		*len = 0;
		if (c != '\n')
			buf[(*len)++] = c;
	}
}

static void proc_read(struct bench_proc *p, int idx)
{
	char data[8192];
	ssize_t n = read(p->fd[idx], data, sizeof(data));
	uint64_t t = bench_now_ns();

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		/* EOF: flush an unterminated last line */
		if (p->len[idx]) {
			p->buf[idx][p->len[idx]] = '\0';
			if (p->on_line)
				p->on_line(p, idx + 1, p->buf[idx], t);
			p->len[idx] = 0;
		}
		close(p->fd[idx]);
		p->fd[idx] = -1;
		return;
	}
	if (idx == 0 && !p->t_first_out_ns)
		p->t_first_out_ns = t;
	proc_take(p, idx + 1, data, (size_t)n, t);
}

static void proc_reap(struct bench_proc *p)
{
	p->t_exit_ns = bench_now_ns();
	if (wait4(p->pid, &p->status, 0, &p->ru) == p->pid)
		p->exited = true;
	close(p->pidfd);
	p->pidfd = -1;
}

static bool proc_done(const struct bench_proc *p)
{
	return p->pid < 0 || (p->exited && p->fd[0] < 0 && p->fd[1] < 0);
}

unsigned bench_proc_wait(struct bench_proc **ps, unsigned n, uint64_t deadline_ns,
			 bool (*stop)(void *arg), void *arg)
{
	for (;;) {
		struct pollfd pfd[3 * 64];
		struct bench_proc *owner[3 * 64];
		int which[3 * 64];
		unsigned nfd = 0, running = 0;
		uint64_t now = bench_now_ns();

		for (unsigned i = 0; i < n && nfd + 3 <= 3 * 64; i++) {
			struct bench_proc *p = ps[i];

			if (proc_done(p))
				continue;
			running++;
			for (int k = 0; k < 2; k++) {
				if (p->fd[k] >= 0) {
					pfd[nfd] = (struct pollfd){ .fd = p->fd[k], .events = POLLIN };
					owner[nfd] = p;
					which[nfd++] = k;
				}
			}
			if (p->pidfd >= 0) {
				pfd[nfd] = (struct pollfd){ .fd = p->pidfd, .events = POLLIN };
				owner[nfd] = p;
				which[nfd++] = 2;
			}
		}
		if (running == 0 || now >= deadline_ns || (stop && stop(arg)))
			return running;
		if (nfd == 0)
			return running; /* too many processes to watch */
		uint64_t left_ms = (deadline_ns - now) / 1000000 + 1;
		int r = poll(pfd, nfd, left_ms > 1000 ? 1000 : (int)left_ms);

		if (r < 0 && errno != EINTR)
			return running;
		for (unsigned i = 0; r > 0 && i < nfd; i++) {
			if (!pfd[i].revents)
				continue;
			if (which[i] == 2)
				proc_reap(owner[i]);
			else
				proc_read(owner[i], which[i]);
		}
	}
}

void bench_proc_kill(struct bench_proc *p, int sig)
{
	if (p->pid > 0 && !p->exited)
		kill(-p->pid, sig);
}

void bench_proc_release(struct bench_proc *p)
{
	if (p->pid > 0 && !p->exited) {
		kill(-p->pid, SIGKILL);
		if (p->pidfd >= 0) {
			proc_reap(p);
		} else if (waitpid(p->pid, &p->status, 0) == p->pid) {
			p->exited = true;
		}
	}
	for (int k = 0; k < 2; k++) {
		if (p->fd[k] >= 0)
			close(p->fd[k]);
		p->fd[k] = -1;
	}
	if (p->pidfd >= 0)
		close(p->pidfd);
	p->pidfd = -1;
}

char *bench_read_file(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t cap = 65536, n = 0;
	char *buf = NULL;
	ssize_t r;

	if (fd < 0)
		return NULL;
	buf = malloc(cap + 1);
	while (buf && (r = read(fd, buf + n, cap - n)) > 0) {
		n += (size_t)r;
		if (n == cap) {
			char *nb = realloc(buf, cap * 2 + 1);

			if (!nb) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = nb;
			cap *= 2;
		}
	}
	close(fd);
	if (buf) {
		buf[n] = '\0';
		*len = n;
	}
	return buf;
}
