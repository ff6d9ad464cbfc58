// SPDX-License-Identifier: MIT
/* th_run.c: spawn a program with a hard timeout, capture stdout/stderr and its status. */
#include "tests/helpers/th_run.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void drain(int fd, char *buf, size_t cap, size_t *len, int *open_fd)
{
	char tmp[4096];
	ssize_t n = read(fd, tmp, sizeof(tmp));

	if (n <= 0) {
		*open_fd = -1;
		return;
	}
	size_t take = (size_t)n;
	if (take > cap - 1 - *len)
		take = cap - 1 - *len;
	memcpy(buf + *len, tmp, take);
	*len += take;
	buf[*len] = 0;
}

void th_run(const char *const argv[], unsigned timeout_s, struct th_result *res)
{
	int out[2], err[2], st;
	size_t olen = 0, elen = 0;
	double start = now_s();
	pid_t pid;

	memset(res, 0, sizeof(*res));
	res->status = -1;
	if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0)
		return;
	pid = fork();
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDONLY);

		setpgid(0, 0);
		dup2(devnull, 0);
		dup2(out[1], 1);
		dup2(err[1], 2);
		char *args[256];
		int n = 0;

		for (; argv[n] && n < 255; n++)
			args[n] = strdup(argv[n]);
		args[n] = NULL;
		execv(args[0], args);
		_exit(127);
	}
	close(out[1]);
	close(err[1]);
	int ofd = out[0], efd = err[0];
	while (ofd >= 0 || efd >= 0) {
		double left = (double)timeout_s - (now_s() - start);
		struct pollfd p[2] = { { .fd = ofd, .events = POLLIN }, { .fd = efd, .events = POLLIN } };

		if (left <= 0) {
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			break;
		}
		if (poll(p, 2, (int)(left * 1000) + 1) < 0 && errno != EINTR)
			break;
		if (p[0].revents)
			drain(ofd, res->out, sizeof(res->out), &olen, &ofd);
		if (p[1].revents)
			drain(efd, res->err, sizeof(res->err), &elen, &efd);
	}
	close(out[0]);
	close(err[0]);
	res->out_len = olen;
	bool timed_out = now_s() - start >= timeout_s;
	if (timed_out) {
		kill(-pid, SIGKILL);
		kill(pid, SIGKILL);
	}
	/* bounded: a child stuck in the kernel must not hang the test run */
	for (int i = 0; waitpid(pid, &st, WNOHANG) == 0; i++) {
		if (i == 200) {
			fprintf(stderr, "th_run: %s (pid %d) does not die\n", argv[0], (int)pid);
			res->status = -2;
			return;
		}
		usleep(50 * 1000);
	}
	res->secs = now_s() - start;
	if (timed_out && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL)
		res->status = -1;
	else if (WIFEXITED(st))
		res->status = WEXITSTATUS(st);
	else if (WIFSIGNALED(st))
		res->status = 128 + WTERMSIG(st);
}
