/* SPDX-License-Identifier: MIT */
/*
 * e2e_vm.h: agentvmm in the background for end-to-end tests that talk to it
 * while it runs (control socket, vsock): started in its own process group
 * with stdin /dev/null, stdout on a pipe read as the test goes, stderr to a
 * file. Include after <cmocka.h> and e2e.h.
 */
#ifndef AGENTVMM_TESTS_E2E_E2E_VM_H
#define AGENTVMM_TESTS_E2E_E2E_VM_H

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* e2e_now_ms() - CLOCK_MONOTONIC in milliseconds. */
static inline uint64_t e2e_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

struct e2e_vm {
	pid_t pid;
	bool reaped;
	int out;          /* its stdout, non-blocking; -1 at its end */
	char buf[65536];  /* what it printed so far */
	size_t len;
};

/* e2e_vm_spawn() - start "agentvmm (args...)", stderr into the file (errpath). */
static inline void e2e_vm_spawn(struct e2e_vm *v, const char *const *args, const char *errpath)
{
	char *argv[40];
	int p[2], n = 0;

	argv[n++] = strdup(AV_AGENTVMM);
	for (; *args && n < 39; args++)
		argv[n++] = strdup(*args);
	argv[n] = NULL;
	memset(v, 0, sizeof(*v));
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	v->pid = fork();
	if (v->pid == 0) {
		int null = open("/dev/null", O_RDONLY);
		int e = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		setpgid(0, 0);
		dup2(null, 0);
		dup2(p[1], 1);
		dup2(e, 2);
		execv(argv[0], argv);
		_exit(127);
	}
	for (int i = 0; i < n; i++)
		free(argv[i]);
	close(p[1]);
	v->out = p[0];
	fcntl(v->out, F_SETFL, O_NONBLOCK);
}

/* e2e_vm_wait_for() - read its output until it holds (what); false at (deadline) or its end. */
static inline bool e2e_vm_wait_for(struct e2e_vm *v, const char *what, uint64_t deadline)
{
	while (!strstr(v->buf, what) && e2e_now_ms() < deadline && v->out >= 0) {
		struct pollfd pf = { .fd = v->out, .events = POLLIN };

		if (poll(&pf, 1, 200) <= 0)
			continue;
		ssize_t n = read(v->out, v->buf + v->len, sizeof(v->buf) - 1 - v->len);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
			close(v->out);
			v->out = -1;
		}
		if (n > 0)
			v->len += (size_t)n;
		v->buf[v->len] = 0;
	}
	return strstr(v->buf, what) != NULL;
}

/*
 * e2e_vm_reap() - wait for agentvmm to exit, its stdout drained meanwhile;
 * at (deadline) its process group is killed. Return: its status as th_run
 * gives it, -1 if it had to be killed.
 */
static inline int e2e_vm_reap(struct e2e_vm *v, uint64_t deadline)
{
	int st;

	while (waitpid(v->pid, &st, WNOHANG) == 0) {
		if (e2e_now_ms() >= deadline) {
			kill(-v->pid, SIGKILL);
			waitpid(v->pid, &st, 0);
			v->reaped = true;
			return -1;
		}
		e2e_vm_wait_for(v, "\x01never", e2e_now_ms() + 100);
	}
	if (v->out >= 0)
		close(v->out);
	v->out = -1;
	v->reaped = true;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

#endif
