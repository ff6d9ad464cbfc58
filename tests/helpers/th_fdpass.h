/* SPDX-License-Identifier: MIT */
/*
 * th_fdpass.h: passing descriptors over a UNIX socket as agentvmm's egress
 * path does (one byte, SCM_RIGHTS): the vsock device sends each guest
 * connection's socket to the proxy's control socket. For tests and fuzz
 * targets alike (no cmocka: callers check the results).
 */
#ifndef AGENTVMM_TESTS_HELPERS_TH_FDPASS_H
#define AGENTVMM_TESTS_HELPERS_TH_FDPASS_H

#include <string.h>
#include <sys/socket.h>

/*
 * th_fd_send() - send one byte carrying (nr) fds at (fds) on (sock) with
 * (flags) for sendmsg(). Return: sendmsg()'s result.
 */
static inline ssize_t th_fd_send(int sock, const int *fds, unsigned nr, int flags)
{
	char b = 0;
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(4 * sizeof(int))];
	} u;
	struct iovec iov = { .iov_base = &b, .iov_len = 1 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			    .msg_controllen = CMSG_SPACE(nr * sizeof(int)) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);

	memset(&u, 0, sizeof(u));
	if (nr > 4)
		return -1;
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(nr * sizeof(int));
	memcpy(CMSG_DATA(c), fds, nr * sizeof(int));
	return sendmsg(sock, &m, flags);
}

/*
 * th_fd_recv() - receive one message from (sock) without waiting and the
 * one fd it carries (close-on-exec). Return: the fd; -1 when no message is
 * waiting; -2 when the message is not one byte with exactly one fd.
 */
static inline int th_fd_recv(int sock)
{
	char b;
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(2 * sizeof(int))];
	} u;
	struct iovec iov = { .iov_base = &b, .iov_len = 1 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			    .msg_controllen = sizeof(u.buf) };
	struct cmsghdr *c;
	int fd;

	if (recvmsg(sock, &m, MSG_DONTWAIT | MSG_CMSG_CLOEXEC) != 1)
		return -1;
	c = CMSG_FIRSTHDR(&m);
	if (!c || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
	    c->cmsg_len != CMSG_LEN(sizeof(int)) || (m.msg_flags & MSG_CTRUNC))
		return -2;
	memcpy(&fd, CMSG_DATA(c), sizeof(fd));
	return fd;
}

#endif
