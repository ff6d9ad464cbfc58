// SPDX-License-Identifier: MIT
/*
 * net_user.c: start and stop the passt behind a --net user (layout in
 * net_user.h).
 *
 * passt gets: the connection (-F 3), its pid file (-P, a pipe on fd 4 that
 * tells us it is ready: passt writes it after its configuration, port
 * bindings and self-sandboxing, just before it serves), the foreground and
 * one-off modes (-f -1: it exits when our end closes), quiet (-q), the
 * guest's address, prefix and gateway (-a -n -g: the gateway address stands
 * for the host, passt maps it to the host's loopback), the address where the
 * guest finds the host's resolvers (--dns-forward), and the forwards (-t/-u
 * ADDR/HOSTPORT:GUESTPORT). Its stderr goes to a memfd, whose last line is
 * the reason when it fails. Run as root, passt changes to user nobody itself.
 */
#include "vmm/net_user.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "vmm/child.h"
#include "vmm/log.h"

#define READY_MS 10000   /* passt is ready in tens of milliseconds */
#define STOP_MS 1000     /* after our end closed, before SIGKILL */
#define MAX_ARGS (24 + 2 * VM_NET_MAX_FORWARDS)

static const char *passt_bin(void)
{
	const char *bin = getenv("AGENTVMM_PASST");

	return bin && *bin ? bin : NET_USER_PASST;
}

/* passt's lines that are no reason: its syslog complaints, the note that it changes to nobody */
static const char *const passt_noise[] = { "Failed to send", "Changing to nobody", NULL };

enum net_user_dns net_user_resolver(const struct vm_net *nc, const char *resolv_conf,
				    char *guest, size_t len)
{
	FILE *f;
	char line[256], addr[64];
	struct in_addr a;
	enum net_user_dns mode = NET_DNS_NONE;

	guest[0] = 0;
	if (nc->dns[0]) {
		snprintf(guest, len, "%s", nc->dns);
		return NET_DNS_GIVEN;
	}
	f = fopen(resolv_conf ? resolv_conf : "/etc/resolv.conf", "re");
	while (f && fgets(line, sizeof(line), f)) {
		if (sscanf(line, " nameserver %63s", addr) != 1 || inet_pton(AF_INET, addr, &a) != 1)
			continue;
		if (a.s_addr == htonl(INADDR_LOOPBACK)) {
			snprintf(guest, len, "%s", nc->gw);
			mode = NET_DNS_GATEWAY;
		} else if ((ntohl(a.s_addr) >> 24) != 127) {
			snprintf(guest, len, NET_USER_DNS);
			mode = NET_DNS_FORWARD;
		}
		break; /* the first IPv4 nameserver decides, as it is the one asked first */
	}
	if (f)
		fclose(f);
	return mode;
}

/* In the child: only async-signal-safe calls, we are a copy of a maybe threaded process. */
static __attribute__((noreturn)) void child_run(int sock, int ready, int log_fd,
						 char *const argv[])
{
	sigset_t none;
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL); /* agentvmm blocks its stop signals; passt must not */
	prctl(PR_SET_PDEATHSIG, SIGKILL);      /* until passt changes user; then -1 ends it */
	/* out of the way of 0..4 first, so no dup2 below lands on a source */
	sock = fcntl(sock, F_DUPFD_CLOEXEC, 10);
	ready = fcntl(ready, F_DUPFD_CLOEXEC, 10);
	log_fd = fcntl(log_fd, F_DUPFD_CLOEXEC, 10);
	if (null < 0 || sock < 0 || ready < 0 || log_fd < 0 || dup2(null, 0) < 0 ||
	    dup2(null, 1) < 0 || dup2(log_fd, 2) < 0 || dup2(sock, 3) < 0 || dup2(ready, 4) < 0)
		_exit(126);
	syscall(SYS_close_range, 5U, ~0U, 0U);
	char *const envp[] = { NULL };
	execve(argv[0], argv, envp);
	dprintf(2, "cannot run %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

/* passt's argument list for (nc) into (argv), its strings in (buf); (bin) is argv[0]. */
static void build_argv(const struct vm_net *nc, bool forward_dns, char *bin,
		       char *argv[MAX_ARGS], char (*buf)[48])
{
	unsigned n = 0;
	const char *slash = strchr(nc->ip, '/');

#define ARGF(...) (snprintf(buf[n], sizeof(buf[n]), __VA_ARGS__), argv[n] = buf[n], n++)
#define ARG(s) ARGF("%s", s)
	argv[n++] = bin;
	ARG("-f");
	ARG("-q");
	ARG("-1");
	ARG("-F");
	ARG("3");
	ARG("-P");
	ARG("/dev/fd/4");
	ARG("-a");
	ARGF("%.*s", (int)(slash - nc->ip), nc->ip);
	ARG("-n");
	ARG(slash + 1);
	ARG("-g");
	ARG(nc->gw);
	if (forward_dns) {
		ARG("--dns-forward");
		ARG(NET_USER_DNS);
	}
	for (unsigned i = 0; i < nc->nr_forwards; i++) {
		const struct vm_net_forward *f = &nc->forwards[i];

		ARG(f->udp ? "-u" : "-t");
		ARGF("%s/%u:%u", f->addr, f->host, f->guest);
	}
	argv[n] = NULL;
#undef ARG
#undef ARGF
}

/* Wait until passt wrote its pid into (ready) or the pipe closed. Return: 0 ready, -errno. */
static int wait_ready(int ready)
{
	struct pollfd p = { .fd = ready, .events = POLLIN };
	char pid[16];
	ssize_t n;
	int r;

	do
		r = poll(&p, 1, READY_MS);
	while (r < 0 && errno == EINTR);
	if (r == 0)
		return -ETIMEDOUT;
	if (r < 0)
		return -errno;
	n = read(ready, pid, sizeof(pid));
	return n > 0 ? 0 : -EPIPE;
}

int net_user_start(struct net_user *nu, const struct vm_net *nc, int *fd, char *err,
		   size_t errlen)
{
	char bin[PATH_MAX], *argv[MAX_ARGS], buf[MAX_ARGS][48], why[256];
	int sv[2] = { -1, -1 }, pp[2] = { -1, -1 }, r, st;
	bool killed;

	nu->live = false;
	nu->pid = 0;
	nu->log_fd = -1;
	*fd = -1;
	snprintf(bin, sizeof(bin), "%s", passt_bin());
	if (access(bin, X_OK) < 0) {
		snprintf(err, errlen, "--net user: cannot run %s: %s (install Debian's passt "
			 "package, or set AGENTVMM_PASST)", bin, strerror(errno));
		return -EINVAL;
	}
	char dns[16];
	enum net_user_dns mode = net_user_resolver(nc, NULL, dns, sizeof(dns));

	build_argv(nc, mode == NET_DNS_FORWARD, bin, argv, buf);
	nu->log_fd = memfd_create("passt-log", MFD_CLOEXEC);
	if (nu->log_fd < 0 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0 ||
	    pipe2(pp, O_CLOEXEC) < 0)
		goto err_sys;
	/* passt opens /dev/fd/4 after changing to nobody: it must be allowed to */
	if (fchmod(pp[1], 0622) < 0 || fchmod(nu->log_fd, 0622) < 0)
		goto err_sys;
	nu->pid = fork();
	if (nu->pid < 0)
		goto err_sys;
	if (nu->pid == 0)
		child_run(sv[1], pp[1], nu->log_fd, argv);
	close(sv[1]);
	close(pp[1]);
	sv[1] = pp[1] = -1;
	r = wait_ready(pp[0]);
	close(pp[0]);
	pp[0] = -1;
	if (r) {
		close(sv[0]);
		st = child_reap(nu->pid, r == -ETIMEDOUT ? 0 : STOP_MS, &killed);
		nu->pid = 0;
		child_last_line(nu->log_fd, passt_noise, why, sizeof(why));
		if (r == -ETIMEDOUT)
			snprintf(err, errlen, "--net user: passt was not ready after %d s%s%s",
				 READY_MS / 1000, why[0] ? ": " : "", why);
		else if (WIFEXITED(st))
			snprintf(err, errlen, "--net user: passt exited with status %d%s%s",
				 WEXITSTATUS(st), why[0] ? ": " : "", why);
		else
			snprintf(err, errlen, "--net user: passt was killed by signal %d%s%s",
				 WIFSIGNALED(st) ? WTERMSIG(st) : 0, why[0] ? ": " : "", why);
		close(nu->log_fd);
		nu->log_fd = -1;
		return -EINVAL;
	}
	if (fcntl(sv[0], F_SETFL, O_NONBLOCK) < 0) {
		r = -errno;
		close(sv[0]);
		nu->live = true;
		net_user_stop(nu);
		snprintf(err, errlen, "--net user: %s", strerror(-r));
		return -EIO;
	}
	*fd = sv[0];
	nu->live = true;
	if (mode == NET_DNS_NONE)
		log_warn("--net user: the host's resolver is on a loopback address passt cannot "
			 "reach (or there is none): the guest has no DNS (give dns=ADDRESS)");
	log_info("--net user: passt pid %d, guest %s via %s, resolver %s, %u forward%s",
		 (int)nu->pid, nc->ip, nc->gw, dns[0] ? dns : "none", nc->nr_forwards,
		 nc->nr_forwards == 1 ? "" : "s");
	return 0;

err_sys:
	r = errno;
	for (int i = 0; i < 2; i++) {
		if (sv[i] >= 0)
			close(sv[i]);
		if (pp[i] >= 0)
			close(pp[i]);
	}
	if (nu->log_fd >= 0)
		close(nu->log_fd);
	nu->log_fd = -1;
	nu->pid = 0;
	snprintf(err, errlen, "--net user: cannot start passt: %s", strerror(r));
	return -EIO;
}

void net_user_stop(struct net_user *nu)
{
	char why[256];
	bool killed;
	int st;

	if (!nu->live)
		return;
	nu->live = false;
	if (nu->pid > 0) {
		st = child_reap(nu->pid, STOP_MS, &killed);
		if (!killed && !(WIFEXITED(st) && WEXITSTATUS(st) == 0)) {
			child_last_line(nu->log_fd, passt_noise, why, sizeof(why));
			log_warn("--net user: passt ended with %s %d%s%s",
				 WIFEXITED(st) ? "status" : "signal",
				 WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st), why[0] ? ": " : "",
				 why);
		}
		nu->pid = 0;
	}
	if (nu->log_fd >= 0)
		close(nu->log_fd);
	nu->log_fd = -1;
}
