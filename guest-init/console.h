/* SPDX-License-Identifier: MIT */
/* console.h: finding and configuring the console tty for the workload or the shell. */
#ifndef AGENTVMM_GUEST_INIT_CONSOLE_H
#define AGENTVMM_GUEST_INIT_CONSOLE_H

#include <stddef.h>

#include "guest-init/compiler.h"

/*
 * gi_console_stdio() - make sure fds 0, 1 and 2 are open, on /dev/console
 * (the kernel leaves them closed when the initramfs has no /dev/console).
 * Context: PID 1, after /dev is mounted.
 */
void gi_console_stdio(void);

/*
 * gi_console_path() - "/dev/<name>" of the primary console, the last entry
 * of /sys/class/tty/console/active (usually ttyS0), into (buf); falls back
 * to "/dev/console" when that is unreadable or odd.
 */
void gi_console_path(char *buf, size_t len);

/*
 * gi_console_open_raw() - open the console tty for the workload's
 * stdout/stderr in command mode, with output passed through byte for byte
 * (no OPOST, so no ONLCR) and no echo. The tty does not become anyone's
 * controlling terminal.
 *
 * Return: the fd (O_CLOEXEC), or -errno.
 */
int __must_check gi_console_open_raw(void);

/*
 * gi_console_open_ctty() - in the interactive child, after setsid(): open the
 * console tty (not /dev/console, which cannot be a controlling terminal with
 * job control), make it the controlling terminal, put it in cooked mode
 * (ICANON, ECHO, ISIG, ICRNL, ONLCR) and make it fds 0, 1, 2.
 *
 * Return: 0 or -errno.
 */
int __must_check gi_console_open_ctty(void);

/* gi_console_quiet_kernel() - only emergency kernel messages on the console from now on. */
void gi_console_quiet_kernel(void);

#endif
