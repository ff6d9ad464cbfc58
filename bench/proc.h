// SPDX-License-Identifier: MIT
/*
 * proc.h: run VMM processes with their stdout and stderr on pipes, time-stamp
 * every output line as it arrives (CLOCK_MONOTONIC), and time their exit
 * through a pidfd. Several processes can be watched at once (density mode).
 */
#ifndef AGENTVMM_BENCH_PROC_H
#define AGENTVMM_BENCH_PROC_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

#define BENCH_LINE_MAX 4096

struct bench_proc;

/*
 * Called for every complete output line (CR and LF stripped; over-long lines
 * are cut into BENCH_LINE_MAX pieces) with the host time (t_ns) at which the
 * read that completed it returned. (stream) is 1 for stdout, 2 for stderr.
 */
typedef void (*bench_line_fn)(struct bench_proc *p, int stream, const char *line, uint64_t t_ns);

struct bench_proc {
	pid_t pid;
	int pidfd, fd[2];             /* fd[0] stdout, fd[1] stderr; -1 once closed */
	char buf[2][BENCH_LINE_MAX];
	size_t len[2];
	uint64_t t_start_ns;          /* just before the spawn */
	uint64_t t_first_out_ns;      /* first byte on stdout (the console), 0 = none */
	uint64_t t_exit_ns;           /* pidfd readable, 0 = still running */
	bool exited;
	int status;                   /* wait status */
	struct rusage ru;
	bench_line_fn on_line;
	void *opaque;
};

/* bench_now_ns() - CLOCK_MONOTONIC in ns. Context: any. */
uint64_t bench_now_ns(void);

/*
 * bench_proc_spawn() - start (argv) (searched in PATH) with stdin /dev/null
 * and stdout, stderr on pipes, in its own process group.
 * Return: 0; -errno from pipe2, pidfd_open or posix_spawn.
 * Context: main thread.
 */
int bench_proc_spawn(struct bench_proc *p, char *const argv[], bench_line_fn on_line,
		     void *opaque) __attribute__((warn_unused_result));

/*
 * bench_proc_wait() - service the (n) processes in (ps): read and dispatch
 * output, reap exits, until all have exited and their pipes are drained or
 * (deadline_ns) passes, or (stop)() returns true (checked after each event;
 * may be NULL).
 * Return: the number still running.
 * Context: main thread; line callbacks run inside.
 */
unsigned bench_proc_wait(struct bench_proc **ps, unsigned n, uint64_t deadline_ns,
			 bool (*stop)(void *arg), void *arg);

/* bench_proc_kill() - send (sig) to the process group of (p), if running. */
void bench_proc_kill(struct bench_proc *p, int sig);

/*
 * bench_proc_release() - kill (SIGKILL) if still running, reap, close fds.
 * Idempotent. Context: main thread.
 */
void bench_proc_release(struct bench_proc *p);

/*
 * bench_read_file() - read all of (path) into a NUL-terminated malloc'd
 * buffer, length in (len). Return: the buffer or NULL (errno set).
 */
char *bench_read_file(const char *path, size_t *len);

#endif /* AGENTVMM_BENCH_PROC_H */
