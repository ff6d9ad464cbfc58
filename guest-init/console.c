// SPDX-License-Identifier: MIT
/* console.c: console tty discovery and the termios settings for command and interactive mode. */
#include "guest-init/console.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/klog.h>
#include <termios.h>
#include <unistd.h>

/* syslog(2): SYSLOG_ACTION_CONSOLE_LEVEL; level 1 = KERN_ALERT and worse only */
#define GI_SYSLOG_CONSOLE_LEVEL 8
#define GI_QUIET_LOGLEVEL 1

void gi_console_stdio(void)
{
	int fd, i;

	for (i = 0; i < 3; i++) {
		if (fcntl(i, F_GETFD) >= 0)
			continue;
		fd = open("/dev/console", O_RDWR | O_NOCTTY);
		if (fd < 0)
			fd = open("/dev/null", O_RDWR);
		if (fd >= 0 && fd != i) {
			dup2(fd, i);
			close(fd);
		}
	}
}

static bool tty_name_ok(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++) {
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9')))
			return false;
	}
	return true;
}

void gi_console_path(char *buf, size_t len)
{
	char active[256], *last, *tok, *save = NULL;
	ssize_t n = -1;
	int fd;

	snprintf(buf, len, "/dev/console");
	fd = open("/sys/class/tty/console/active", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, active, sizeof(active) - 1);
		close(fd);
	}
	if (n <= 0)
		return;
	active[n] = '\0';
	/* "tty0 ttyS0\n": the last one listed is /dev/console */
	last = NULL;
	for (tok = strtok_r(active, " \t\n", &save); tok; tok = strtok_r(NULL, " \t\n", &save))
		last = tok;
	if (last && tty_name_ok(last))
		snprintf(buf, len, "/dev/%s", last);
}

int gi_console_open_raw(void)
{
	struct termios t;
	char path[64];
	int fd;

	gi_console_path(path, sizeof(path));
	fd = open(path, O_WRONLY | O_NOCTTY | O_CLOEXEC);
	if (fd < 0 && strcmp(path, "/dev/console") != 0)
		fd = open("/dev/console", O_WRONLY | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (tcgetattr(fd, &t) == 0) {
		t.c_oflag &= ~(tcflag_t)OPOST;
		t.c_lflag &= ~(tcflag_t)(ECHO | ECHOE | ECHOK | ECHONL);
		/* drain first: earlier kernel and init output keeps its CR/LF translation */
		tcsetattr(fd, TCSADRAIN, &t);
	}
	return fd;
}

int gi_console_open_ctty(void)
{
	struct termios t;
	char path[64];
	int fd, e;

	gi_console_path(path, sizeof(path));
	fd = open(path, O_RDWR);
	if (fd < 0)
		return -errno;
	if (ioctl(fd, TIOCSCTTY, 0) < 0)
		goto err_close;
	if (tcgetattr(fd, &t) == 0) {
		t.c_iflag |= ICRNL | IXON | BRKINT;
		t.c_iflag &= ~(tcflag_t)(INLCR | IGNCR);
		t.c_oflag |= OPOST | ONLCR;
		t.c_lflag |= ICANON | ECHO | ECHOE | ECHOK | ECHOCTL | ECHOKE | ISIG | IEXTEN;
		t.c_cflag |= CREAD;
		tcsetattr(fd, TCSANOW, &t);
	}
	if (dup2(fd, 0) < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
		goto err_close;
	if (fd > 2)
		close(fd);
	return 0;

err_close:
	e = errno;
	close(fd);
	return -e;
}

void gi_console_quiet_kernel(void)
{
	klogctl(GI_SYSLOG_CONSOLE_LEVEL, NULL, GI_QUIET_LOGLEVEL);
}
