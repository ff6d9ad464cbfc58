// SPDX-License-Identifier: MIT
/*
 * pty.c: a terminal for a container with process.terminal: a new pty on the
 * host whose master goes to the engine's --console-socket (SCM_RIGHTS, as
 * runc sends it), whose slave is the container process's stdio on our side
 * of the session (the guest has a pty of its own; the window size follows
 * the master's through SIGWINCH).
 */
#include <errno.h>
#include <fcntl.h>
#include <pty.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "oci/runtime.h"

static int send_fd(int sock, int fd, char *name)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { .iov_base = name, .iov_len = strlen(name) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			    .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);

	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	return sendmsg(sock, &m, MSG_NOSIGNAL) < 0 ? -errno : 0;
}

int oci_pty_to_socket(const char *console_socket, unsigned rows, unsigned cols, char *msg,
		      size_t msglen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct winsize ws = { .ws_row = (unsigned short)(rows ? rows : 24),
			      .ws_col = (unsigned short)(cols ? cols : 80) };
	int master, slave, sock, r;

	if (strlen(console_socket) >= sizeof(sa.sun_path)) {
		snprintf(msg, msglen, "--console-socket %s: path too long", console_socket);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, console_socket);
	if (openpty(&master, &slave, NULL, NULL, &ws) < 0) {
		r = -errno;
		snprintf(msg, msglen, "cannot open a pty: %s", strerror(-r));
		return r;
	}
	fcntl(master, F_SETFD, FD_CLOEXEC);
	fcntl(slave, F_SETFD, FD_CLOEXEC);
	sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	r = sock < 0 ? -errno : 0;
	if (!r && connect(sock, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		r = -errno;
	if (!r) {
		char name[] = "/dev/ptmx";

		r = send_fd(sock, master, name);
	}
	if (sock >= 0)
		close(sock);
	close(master);
	if (r) {
		snprintf(msg, msglen, "--console-socket %s: %s", console_socket, strerror(-r));
		close(slave);
		return r;
	}
	return slave;
}
