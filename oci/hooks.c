// SPDX-License-Identifier: MIT
/*
 * hooks.c: OCI lifecycle hooks, run on the host (docs/oci.md "Hooks"): each
 * hook's path with its args and env, the container's state JSON on stdin,
 * stdout and stderr to ours (the engine's log), bounded by its timeout
 * (default OCI_HOOK_DEFAULT_S). A hook that fails or times out fails the
 * step that runs it.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "oci/runtime.h"

#define OCI_HOOK_DEFAULT_S 30

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int run_one(const struct oci_hook *h, const char *state, char *msg, size_t msglen)
{
	char *empty[] = { NULL };
	long long deadline;
	int p[2], status;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return -errno;
	}
	if (pid == 0) {
		char *argv0[] = { h->path, NULL };

		dup2(p[0], STDIN_FILENO);
		execve(h->path, h->nargs ? h->args : argv0, h->nenv ? h->env : empty);
		fprintf(stderr, "agentvmm-oci: hook %s: %s\n", h->path, strerror(errno));
		_exit(127);
	}
	close(p[0]);
	deadline = now_ms() + (long long)(h->timeout > 0 ? h->timeout : OCI_HOOK_DEFAULT_S) * 1000;
	/* the state, within the deadline: a hook that does not read it must not block us */
	signal(SIGPIPE, SIG_IGN);
	fcntl(p[1], F_SETFL, O_NONBLOCK);
	for (size_t off = 0, len = strlen(state); off < len && now_ms() < deadline;) {
		struct pollfd pf = { .fd = p[1], .events = POLLOUT };
		ssize_t n = write(p[1], state + off, len - off);

		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			break; /* EPIPE: the hook does not want it */
		poll(&pf, 1, 10);
	}
	close(p[1]);
	for (;;) {
		pid_t w = waitpid(pid, &status, WNOHANG);

		if (w == pid)
			break;
		if (w < 0 && errno != EINTR)
			return -errno;
		if (now_ms() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			snprintf(msg, msglen, "hook %s: timed out after %d s", h->path,
				 h->timeout > 0 ? h->timeout : OCI_HOOK_DEFAULT_S);
			return -ETIMEDOUT;
		}
		poll(NULL, 0, 10);
	}
	if (WIFEXITED(status) && !WEXITSTATUS(status))
		return 0;
	snprintf(msg, msglen, "hook %s: %s %d", h->path,
		 WIFEXITED(status) ? "exited with status" : "killed by signal",
		 WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
	return -EIO;
}

int oci_run_hooks(const struct oci_hook *h, int n, const char *state_json, char *msg,
		  size_t msglen)
{
	for (int i = 0; i < n; i++) {
		int r = run_one(&h[i], state_json, msg, msglen);

		if (r)
			return r;
	}
	return 0;
}
