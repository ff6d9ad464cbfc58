/* SPDX-License-Identifier: MIT */
/*
 * child.h: helpers for the helper processes agentvmm starts (prefix child_):
 * passt, virtiofsd, the egress proxy.
 */
#ifndef AGENTVMM_VMM_CHILD_H
#define AGENTVMM_VMM_CHILD_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/*
 * child_reap() - wait up to (ms) for the child (pid) to end, then SIGKILL it
 * and wait for it. (*killed): whether it had to be killed. (ms) 0 kills at once.
 * Return: its wait status (0 if it was not our child or already reaped).
 * Context: any thread; sleeps in 10 ms steps.
 */
int child_reap(pid_t pid, unsigned ms, bool *killed);

/*
 * child_last_line() - the last line in the last 4 KiB of the log file (fd)
 * that is not empty and contains none of the strings (skip) (a NULL-ended
 * list, or NULL), control characters turned to blanks, into (buf); "" if
 * there is none. Used for the reason a helper gives when it fails.
 */
void child_last_line(int fd, const char *const *skip, char *buf, size_t len);

#endif
