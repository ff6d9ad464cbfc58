// SPDX-License-Identifier: MIT
/* child.c: reaping the helper processes agentvmm starts (prefix child_; child.h). */
#include "vmm/child.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int child_reap(pid_t pid, unsigned ms, bool *killed)
{
	struct timespec nap = { 0, 10 * 1000 * 1000 };
	int st = 0;

	*killed = false;
	for (unsigned waited = 0;; waited += 10) {
		pid_t r = waitpid(pid, &st, WNOHANG);

		if (r == pid)
			return st;
		if (r < 0 && errno != EINTR)
			return 0; /* not ours (any more): never signal a pid we do not own */
		if (waited >= ms)
			break;
		nanosleep(&nap, NULL);
	}
	kill(pid, SIGKILL);
	*killed = true;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	return st;
}

/* Whether (line) contains one of (skip). */
static bool skipped(const char *line, const char *const *skip)
{
	for (; skip && *skip; skip++)
		if (strstr(line, *skip))
			return true;
	return false;
}

void child_last_line(int fd, const char *const *skip, char *buf, size_t len)
{
	char tmp[4096], *p, *save = NULL, *line = NULL;
	off_t end = fd >= 0 ? lseek(fd, 0, SEEK_END) : -1;
	off_t off = end > (off_t)sizeof(tmp) - 1 ? end - (off_t)sizeof(tmp) + 1 : 0;
	ssize_t n = end > 0 ? pread(fd, tmp, sizeof(tmp) - 1, off) : 0;

	buf[0] = 0;
	if (n <= 0)
		return;
	tmp[n] = 0;
	for (p = strtok_r(tmp, "\n", &save); p; p = strtok_r(NULL, "\n", &save))
		if (*p && !skipped(p, skip))
			line = p;
	if (line)
		snprintf(buf, len, "%s", line);
	for (p = buf; *p; p++)
		if ((unsigned char)*p < 0x20)
			*p = ' ';
}
