// SPDX-License-Identifier: MIT
/*
 * monitor.c: the process that is the container (oci/runtime.h): forked by
 * `create`, it builds and boots the VM, reports to `create` through its
 * ready pipe, then serves its socket (start, pause, resume, signal) and
 * exits with the VM's exit status, the container process's.
 *
 * Before the VM exists it:
 *   - keeps the container's stdio (fds 0-2, or the pty slave) for the job and
 *     points its own 0-2 at /dev/null and STATE/vmm.log (agentvmm's lines);
 *   - becomes a session leader (with the pty as controlling terminal, so the
 *     engine's resizes arrive as SIGWINCH);
 *   - joins linux.cgroupsPath (cgroup v2), so the engine's accounting sees
 *     the VM (docs/oci.md "Resources");
 *   - takes a private mount namespace and bind-mounts the spec's host bind
 *     mounts into the rootfs there: the one virtiofsd (started from this
 *     namespace) serves the rootfs and every bind mount, and nothing is
 *     mounted in the host's namespace (a SIGKILL leaves no mount behind).
 */
#include <agentvmm.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>
#include <linux/openat2.h>

#include "oci/runtime.h"

#define MON_REQ_MAX 256

struct mon {
	struct oci_create *c;
	struct avm *vm;
	int job_fds[3];
	bool job_started;
	bool paused;
	char **items;
	int nitems;
	struct oci_podnet net;
};

/* The pod network once joined to the tap: undone on every way out. */
static struct oci_podnet *mon_net;

__attribute__((format(printf, 2, 3), noreturn)) static void mon_fail(struct oci_create *c,
								      const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (mon_net)
		oci_podnet_disconnect(mon_net);
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* one line to create, which logs it and exits 1 */
	dprintf(c->ready_fd, "error %s\n", msg);
	fprintf(stderr, "agentvmm-oci: %s\n", msg);
	_exit(1);
}

/* Keep the container's stdio for the job; our own 0-2 become /dev/null and vmm.log. */
static void take_stdio(struct mon *m)
{
	char path[4096];
	int null, log;

	for (int i = 0; i < 3; i++) {
		int src = m->c->pty_slave >= 0 ? m->c->pty_slave : i;

		m->job_fds[i] = fcntl(src, F_DUPFD_CLOEXEC, 10);
		if (m->job_fds[i] < 0)
			m->job_fds[i] = -1; /* a closed stdio: none (empty stdin, dropped output) */
	}
	snprintf(path, sizeof(path), "%s/vmm.log", m->c->dir);
	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	log = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (null < 0 || log < 0)
		mon_fail(m->c, "cannot open %s: %s", path, strerror(errno));
	dup2(null, STDIN_FILENO);
	dup2(log, STDOUT_FILENO);
	dup2(log, STDERR_FILENO);
	close(null);
	close(log);
	setsid();
	if (m->c->pty_slave >= 0 && ioctl(m->c->pty_slave, TIOCSCTTY, 0) < 0)
		fprintf(stderr, "agentvmm-oci: the pty as controlling terminal: %s "
			"(window size changes will not reach the container)\n", strerror(errno));
}

/* linux.cgroupsPath: a cgroup v2 path below /sys/fs/cgroup. */
static void join_cgroup(struct mon *m)
{
	const char *p = m->c->spec->cgroups_path;
	char path[4096];
	size_t n;

	if (!p || !*p)
		return;
	if (strchr(p, ':') || strstr(p, "..")) {
		fprintf(stderr, "agentvmm-oci: cgroupsPath %s: not a cgroup v2 path; staying in "
			"the caller's cgroup\n", p);
		return;
	}
	if (access("/sys/fs/cgroup/cgroup.controllers", F_OK) < 0) {
		fprintf(stderr, "agentvmm-oci: no cgroup v2 at /sys/fs/cgroup: cgroupsPath %s "
			"ignored\n", p);
		return;
	}
	n = (size_t)snprintf(path, sizeof(path), "/sys/fs/cgroup%s%s", *p == '/' ? "" : "/", p);
	if (n >= sizeof(path) - 16)
		return;
	/* mkdir -p */
	for (char *s = path + strlen("/sys/fs/cgroup/"); *s; s++)
		if (*s == '/') {
			*s = 0;
			mkdir(path, 0755);
			*s = '/';
		}
	mkdir(path, 0755);
	strcat(path, "/cgroup.procs");
	int fd = open(path, O_WRONLY | O_CLOEXEC);

	if (fd < 0 || dprintf(fd, "0\n") < 0)
		fprintf(stderr, "agentvmm-oci: cannot join %s: %s\n", path, strerror(errno));
	if (fd >= 0)
		close(fd);
}

/* (path) resolved inside (rootfd) as the kernel does for a chroot (openat2). */
static int open_in_root(int rootfd, const char *path, int flags)
{
	struct open_how how = { .flags = (uint64_t)(flags | O_CLOEXEC),
				.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
	long r = syscall(SYS_openat2, rootfd, path, &how, sizeof(how));

	return r < 0 ? -errno : (int)r;
}

/*
 * (rel) inside the rootfs (rootfd) as an O_PATH fd, what is missing created:
 * directories, the last one a file when (file). Each step is resolved inside
 * the root (a symlink in the image, /var/run -> /run say, is followed there,
 * never out of it), and the fd pins what was found, so the mount lands there
 * whatever is renamed meanwhile. Return: the fd or -errno.
 */
static int make_target(int rootfd, const char *rel, bool file)
{
	char path[4096], *slash;
	int fd, dfd;

	if ((size_t)snprintf(path, sizeof(path), "%s", rel) >= sizeof(path))
		return -ENAMETOOLONG;
	fd = open_in_root(rootfd, path, O_PATH);
	if (fd != -ENOENT)
		return fd;
	for (slash = path;; slash++) {
		bool last;

		slash = strchr(slash, '/');
		last = !slash;
		if (slash)
			*slash = 0;
		fd = open_in_root(rootfd, path, O_PATH);
		if (fd == -ENOENT) {
			char *name = strrchr(path, '/');
			int r;

			if (name)
				*name = 0;
			dfd = open_in_root(rootfd, name ? path : ".", O_PATH | O_DIRECTORY);
			if (name)
				*name = '/';
			if (dfd < 0)
				return dfd;
			name = name ? name + 1 : path;
			if (last && file) {
				r = openat(dfd, name, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW |
					   O_CLOEXEC, 0644);
				if (r >= 0)
					close(r);
			} else {
				r = mkdirat(dfd, name, 0755);
			}
			if (r < 0 && errno != EEXIST)
				r = -errno;
			else
				r = 0;
			close(dfd);
			if (r)
				return r;
			/* a dangling symlink stays ENOENT: refused, not created elsewhere */
			fd = open_in_root(rootfd, path, O_PATH);
		}
		if (fd < 0 || last)
			return fd;
		close(fd);
		*slash = '/';
	}
}

static bool has_opt(const struct oci_mount *mt, const char *opt)
{
	for (int i = 0; i < mt->nopts; i++)
		if (!strcmp(mt->options[i], opt))
			return true;
	return false;
}

/*
 * A private mount namespace with the host bind mounts at their staging
 * places in the rootfs (OCI_STAGE_DIR/N, oci_spec_setup_items()), where the
 * guest binds each from to its destination in the spec's order. A read-only
 * one is read-only here, on the host: virtiofsd refuses the writes whatever
 * the guest remounts.
 */
static void host_binds(struct mon *m, const int *binds, int nbinds)
{
	struct oci_spec *s = m->c->spec;
	int rootfd;

	if (unshare(CLONE_NEWNS) < 0)
		mon_fail(m->c, "cannot make a private mount namespace: %s", strerror(errno));
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		mon_fail(m->c, "cannot make the mounts private: %s", strerror(errno));
	if (!nbinds)
		return;
	rootfd = open(m->c->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		mon_fail(m->c, "root.path %s: %s", m->c->rootfs, strerror(errno));
	for (int i = 0; i < nbinds; i++) {
		const struct oci_mount *mt = &s->mounts[binds[i]];
		unsigned long flags = MS_BIND | (has_opt(mt, "rbind") ? MS_REC : 0);
		char stage[64], fdpath[64];
		struct stat st;
		int fd;

		if (stat(mt->source, &st) < 0)
			mon_fail(m->c, "mounts[%d] (%s): source %s: %s", binds[i], mt->dest,
				 mt->source, strerror(errno));
		snprintf(stage, sizeof(stage), "%s/%d", OCI_STAGE_DIR + 1, binds[i]);
		fd = make_target(rootfd, stage, !S_ISDIR(st.st_mode));
		if (fd < 0)
			mon_fail(m->c, "mounts[%d] (%s): cannot make /%s in the rootfs: %s",
				 binds[i], mt->dest, stage, strerror(-fd));
		snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", fd);
		if (mount(mt->source, fdpath, NULL, flags, NULL) < 0)
			mon_fail(m->c, "mounts[%d] (%s): bind %s: %s", binds[i], mt->dest,
				 mt->source, strerror(errno));
		close(fd);
		if (has_opt(mt, "ro")) {
			/* the new mount (not what it covers), with its submounts */
			struct mount_attr ma = { .attr_set = MOUNT_ATTR_RDONLY };

			fd = open_in_root(rootfd, stage, O_PATH);
			if (fd < 0 || mount_setattr(fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &ma,
						    sizeof(ma)) < 0)
				mon_fail(m->c, "mounts[%d] (%s): read-only: %s", binds[i], mt->dest,
					 strerror(fd < 0 ? -fd : errno));
			close(fd);
		}
	}
	close(rootfd);
}

/* An annotation io.agentvmm.KEY, if the pod set it. */
static const char *annotation(const struct oci_spec *s, const char *key)
{
	char full[64];

	snprintf(full, sizeof(full), "io.agentvmm.%s", key);
	return oci_spec_annotation(s, full);
}

static void cfg_set(struct mon *m, struct avm_config *cfg, const char *key, const char *val,
		    const char *from)
{
	struct avm_error e;

	if (avm_config_set(cfg, key, val, &e))
		mon_fail(m->c, "%s: %s", from, e.msg);
}

/* The VM: runtime config file, then the spec's resources, the environment, annotations. */
static struct avm_config *vm_config(struct mon *m)
{
	struct oci_spec *s = m->c->spec;
	const char *conf = getenv("AGENTVMM_OCI_CONFIG"), *v;
	struct avm_config *cfg = avm_config_new();
	char buf[4200];
	struct avm_error e;

	if (!cfg)
		mon_fail(m->c, "out of memory");
	if (!conf)
		conf = OCI_DEFAULT_CONFIG;
	cfg_set(m, cfg, "kernel", OCI_DEFAULT_KERNEL, "default kernel");
	cfg_set(m, cfg, "mem", "512", "default memory");
	if (access(conf, F_OK) == 0 && avm_config_load_json(cfg, conf, &e))
		mon_fail(m->c, "runtime config %s: %s", conf, e.msg);
	if (s->mem_limit > 0) {
		long long mib = (s->mem_limit + (1 << 20) - 1) >> 20;

		if (mib < OCI_MIN_MEM_MIB)
			mib = OCI_MIN_MEM_MIB;
		snprintf(buf, sizeof(buf), "%lld", mib);
		cfg_set(m, cfg, "mem", buf, "linux.resources.memory.limit");
	}
	if (s->cpu_quota > 0 && s->cpu_period > 0) {
		long long n = (s->cpu_quota + (long long)s->cpu_period - 1) / (long long)s->cpu_period;
		long online = sysconf(_SC_NPROCESSORS_ONLN);

		if (online > 0 && n > online)
			n = online;
		snprintf(buf, sizeof(buf), "%lld", n < 1 ? 1 : n);
		cfg_set(m, cfg, "cpus", buf, "linux.resources.cpu.quota");
	}
	v = getenv("AGENTVMM_KERNEL");
	if (v && *v)
		cfg_set(m, cfg, "kernel", v, "AGENTVMM_KERNEL");
	/* not "kernel": a pod must not make the host boot a file of its choice */
	static const char *const keys[] = { "mem", "cpus", "balloon" };

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		v = annotation(s, keys[i]);
		snprintf(buf, sizeof(buf), "annotation io.agentvmm.%s", keys[i]);
		if (v)
			cfg_set(m, cfg, keys[i], v, buf);
	}
	/*
	 * rw even for root.readonly: the guest makes its mount points in it before
	 * Y:1 makes it read-only (as runc does on the host); the container's root
	 * could remount it in its own VM, as it could under runc with CAP_SYS_ADMIN
	 */
	snprintf(buf, sizeof(buf), "rw:%s:%s", m->c->rootfs, OCI_GUEST_ROOT);
	cfg_set(m, cfg, "share", buf, "root.path");
	if (m->net.active) {
		if (oci_podnet_net_option(&m->net, buf, sizeof(buf)))
			mon_fail(m->c, "the pod's interface: name too long");
		cfg_set(m, cfg, "net", buf, "the pod's network");
	}
	snprintf(buf, sizeof(buf), "%u:%u", (unsigned)getuid(), (unsigned)getgid());
	cfg_set(m, cfg, "owner", buf, "owner");
	snprintf(buf, sizeof(buf), "%s/console.log", m->c->dir);
	cfg_set(m, cfg, "console", buf, "console");
	snprintf(buf, sizeof(buf), "%s/api.sock", m->c->dir);
	cfg_set(m, cfg, "api-socket", buf, "api socket");
	if (m->c->g->debug)
		cfg_set(m, cfg, "verbose", NULL, "--debug");
	avm_config_await_job(cfg, true, NULL);
	if (avm_config_check(cfg, &e))
		mon_fail(m->c, "%s", e.msg);
	return cfg;
}

static int listen_socket(struct mon *m)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if ((size_t)snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/m.sock", m->c->dir) >=
	    sizeof(sa.sun_path))
		mon_fail(m->c, "state directory %s: too long for a socket path", m->c->dir);
	unlink(sa.sun_path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 8) < 0)
		mon_fail(m->c, "monitor socket %s: %s", sa.sun_path, strerror(errno));
	return fd;
}

/*
 * Every catchable signal whose default would end or stop the monitor (SIGUSR1
 * too: the library's vCPU threads take it as their kick, harmlessly).
 */
static const int forwarded[] = { SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2,
				 SIGWINCH, SIGCHLD, SIGPIPE, SIGALRM, SIGCONT, SIGTSTP,
				 SIGTTIN, SIGTTOU, SIGURG, SIGVTALRM, SIGPROF, SIGXCPU,
				 SIGXFSZ, SIGIO, SIGPWR };

/* A signal for the container: its process's once started, else the VM's end. */
static void deliver(struct mon *m, int sig)
{
	struct avm_error e;

	if (sig == SIGCHLD || sig == SIGPIPE)
		return;
	if (m->job_started) {
		if (avm_job_signal(m->vm, sig, &e) && e.code != -ESRCH)
			fprintf(stderr, "agentvmm-oci: signal %d: %s\n", sig, e.msg);
		return;
	}
	/* no process yet: a terminating signal ends the VM as it would have ended it */
	if (sig == SIGTERM || sig == SIGINT || sig == SIGHUP || sig == SIGQUIT ||
	    sig == SIGUSR1 || sig == SIGUSR2 || sig == SIGALRM || sig == SIGKILL)
		avm_stop(m->vm, 128 + sig);
}

static void request(struct mon *m, int fd)
{
	char req[MON_REQ_MAX + 1], reply[AVM_ERROR_MSG_MAX + 16] = "ok";
	struct timeval tv = { .tv_sec = 5 };
	struct avm_exec_opts o;
	struct oci_job j;
	struct avm_error e;
	ssize_t n;
	int sig;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	n = recv(fd, req, MON_REQ_MAX, 0);
	if (n <= 0)
		return;
	req[n] = 0;
	if (!strcmp(req, "start")) {
		if (m->job_started) {
			snprintf(reply, sizeof(reply), "error the container has started already");
		} else if (oci_job_opts(m->c->spec, &j, &o, true, m->items, m->nitems)) {
			snprintf(reply, sizeof(reply), "error out of memory");
		} else {
			o.in_fd = m->job_fds[0];
			o.out_fd = m->job_fds[1];
			o.err_fd = m->job_fds[2];
			if (avm_start_job(m->vm, &o, &e)) {
				snprintf(reply, sizeof(reply), "error %s", e.msg);
			} else {
				m->job_started = true;
				oci_write_status(m->c->dir, "running");
			}
			oci_job_fini(&j);
		}
	} else if (!strcmp(req, "pause") || !strcmp(req, "resume")) {
		bool pause = req[0] == 'p';

		if (pause ? avm_pause(m->vm, &e) : avm_resume(m->vm, &e)) {
			snprintf(reply, sizeof(reply), "error %s", e.msg);
		} else {
			m->paused = pause;
			oci_write_status(m->c->dir, pause ? "paused" : m->job_started ? "running" :
					 "created");
		}
	} else if (sscanf(req, "signal %d", &sig) == 1 && sig >= 1 && sig <= 64) {
		deliver(m, sig);
	} else {
		snprintf(reply, sizeof(reply), "error unknown request");
	}
	send(fd, reply, strlen(reply), MSG_NOSIGNAL);
}

/*
 * A pod's sandbox (pause) container gets no VM: it only holds the pod's
 * namespaces on the host, which a VM does not share. The monitor is then
 * the pause process itself: it waits, answers start, pause and resume, and
 * exits 0 on a terminating signal (as pause does).
 */
static __attribute__((noreturn)) void sandbox_monitor(struct mon *m, int sfd, int lfd)
{
	dprintf(m->c->ready_fd, "ok\n");
	close(m->c->ready_fd);
	for (;;) {
		struct pollfd p[2] = { { .fd = sfd, .events = POLLIN },
				       { .fd = lfd, .events = POLLIN } };

		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		if (p[0].revents & POLLIN) {
			struct signalfd_siginfo si;

			while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
				if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT ||
				    si.ssi_signo == SIGHUP || si.ssi_signo == SIGQUIT)
					goto out;
		}
		if (p[1].revents & POLLIN) {
			struct timeval tv = { .tv_sec = 5 };
			char req[MON_REQ_MAX + 1];
			int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC), sig;
			ssize_t n = -1;

			/* the request may follow the connect by a moment: wait for it, bounded */
			if (fd >= 0 && !setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)))
				n = recv(fd, req, MON_REQ_MAX, 0);

			if (n > 0) {
				req[n] = 0;
				if (!strcmp(req, "start") || !strcmp(req, "resume"))
					oci_write_status(m->c->dir, "running");
				else if (!strcmp(req, "pause"))
					oci_write_status(m->c->dir, "paused");
				/* the answer first: kill must not see the process gone before it */
				send(fd, "ok", 2, MSG_NOSIGNAL);
				if (sscanf(req, "signal %d", &sig) == 1 && (sig == SIGTERM ||
				    sig == SIGINT || sig == SIGHUP || sig == SIGQUIT))
					goto out;
			}
			if (fd >= 0)
				close(fd);
		}
	}
out:
	_exit(0);
}

static bool is_sandbox(const struct oci_spec *s)
{
	const char *v = oci_spec_annotation(s, "io.kubernetes.cri.container-type");

	return v && !strcmp(v, "sandbox");
}

void oci_monitor(struct oci_create *c)
{
	struct mon m = { .c = c };
	struct avm_config *cfg;
	struct avm_error e;
	int *binds = NULL, nbinds = 0, sfd, lfd, status = 1, r;
	char msg[1024];
	sigset_t set;

	take_stdio(&m);
	if (oci_spec_setup_items(c->spec, &m.items, &m.nitems, &binds, &nbinds, msg, sizeof(msg)))
		mon_fail(c, "%s", msg);
	join_cgroup(&m);
	if (!is_sandbox(c->spec)) {
		host_binds(&m, binds, nbinds);
		if (oci_podnet_join(c->spec, c->id, &m.net, msg, sizeof(msg)))
			mon_fail(c, "%s", msg);
	}
	free(binds);
	sigemptyset(&set);
	for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
		sigaddset(&set, forwarded[i]);
	sigprocmask(SIG_BLOCK, &set, NULL);
	sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0)
		mon_fail(c, "signalfd: %s", strerror(errno));
	if (is_sandbox(c->spec)) {
		lfd = listen_socket(&m);
		oci_write_status(c->dir, "created");
		sandbox_monitor(&m, sfd, lfd);
	}
	cfg = vm_config(&m);
	if (avm_create(cfg, &m.vm, &e))
		mon_fail(c, "%s", e.msg);
	avm_config_free(cfg);
	if (m.net.active) {
		mon_net = &m.net;
		if (oci_podnet_connect(&m.net, msg, sizeof(msg)))
			mon_fail(c, "the pod's network: %s", msg);
	}
	lfd = listen_socket(&m);
	oci_write_status(c->dir, "created");
	if (avm_start(m.vm, &e))
		mon_fail(c, "cannot start the VM: %s", e.msg);
	/* created = booted, guest-init waiting for the process: start is then at once */
	r = avm_wait_ready(m.vm, OCI_BOOT_WAIT_MS);
	if (r) {
		avm_kill(m.vm);
		avm_wait(m.vm, -1, &status);
		mon_fail(c, "%s", r == -ETIMEDOUT ? "the guest was not ready within the time "
			 "limit (see console.log in the state directory)" : "the VM stopped while "
			 "booting (see console.log and vmm.log in the state directory)");
	}
	if (dprintf(c->ready_fd, "ok\n") < 0) {
		avm_kill(m.vm);
		avm_wait(m.vm, -1, NULL);
		_exit(1);
	}
	close(c->ready_fd);
	if (c->pty_slave >= 0)
		close(c->pty_slave);
	for (;;) {
		struct pollfd p[3] = { { .fd = avm_wait_fd(m.vm), .events = POLLIN },
				       { .fd = sfd, .events = POLLIN },
				       { .fd = lfd, .events = POLLIN } };

		if (poll(p, 3, -1) < 0 && errno != EINTR)
			break;
		if (p[0].revents & POLLIN)
			break;
		if (p[1].revents & POLLIN) {
			struct signalfd_siginfo si;

			while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
				deliver(&m, (int)si.ssi_signo);
		}
		if (p[2].revents & POLLIN) {
			int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

			if (fd >= 0) {
				request(&m, fd);
				close(fd);
			}
		}
	}
	avm_wait(m.vm, -1, &status);
	oci_podnet_disconnect(&m.net);
	snprintf(msg, sizeof(msg), "%s/m.sock", c->dir);
	unlink(msg);
	avm_destroy(m.vm);
	oci_items_free(m.items);
	_exit(status);
}
