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
#include <sys/un.h>
#include <unistd.h>

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

__attribute__((format(printf, 2, 3), noreturn)) static void mon_fail(struct oci_create *c,
								      const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

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

/*
 * (dest) inside (root) as a path without symlinks, creating what is missing
 * (directories; the last one a file when (file)). A symlink anywhere is
 * refused: an image must not point a host bind mount out of its rootfs.
 */
static int make_target(const char *root, const char *dest, bool file, char *out, size_t len)
{
	char rel[4096], *save = NULL, *comp;
	int dfd, r = 0;

	if ((size_t)snprintf(out, len, "%s", root) >= len ||
	    (size_t)snprintf(rel, sizeof(rel), "%s", dest) >= sizeof(rel))
		return -ENAMETOOLONG;
	dfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	for (comp = strtok_r(rel, "/", &save); comp && !r; comp = strtok_r(NULL, "/", &save)) {
		bool last = !save || !*save || strspn(save, "/") == strlen(save);
		struct stat st;
		int nfd;

		if (!strcmp(comp, "..") || !strcmp(comp, ".")) {
			r = -EINVAL;
			break;
		}
		if (fstatat(dfd, comp, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno != ENOENT) {
				r = -errno;
				break;
			}
			if (last && file) {
				nfd = openat(dfd, comp, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC |
					     O_NOFOLLOW, 0644);
				if (nfd >= 0)
					close(nfd);
			} else {
				nfd = mkdirat(dfd, comp, 0755);
			}
			if (nfd < 0 && errno != EEXIST) {
				r = -errno;
				break;
			}
			if (fstatat(dfd, comp, &st, AT_SYMLINK_NOFOLLOW) < 0) {
				r = -errno;
				break;
			}
		}
		if (S_ISLNK(st.st_mode)) {
			r = -ELOOP;
			break;
		}
		if ((size_t)snprintf(out + strlen(out), len - strlen(out), "/%s", comp) >=
		    len - strlen(out)) {
			r = -ENAMETOOLONG;
			break;
		}
		if (!last) {
			nfd = openat(dfd, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (nfd < 0) {
				r = -errno;
				break;
			}
			close(dfd);
			dfd = nfd;
		}
	}
	close(dfd);
	return r;
}

static bool has_opt(const struct oci_mount *mt, const char *opt)
{
	for (int i = 0; i < mt->nopts; i++)
		if (!strcmp(mt->options[i], opt))
			return true;
	return false;
}

/* A private mount namespace with the host bind mounts in the rootfs. */
static void host_binds(struct mon *m, const int *binds, int nbinds)
{
	struct oci_spec *s = m->c->spec;

	if (unshare(CLONE_NEWNS) < 0)
		mon_fail(m->c, "cannot make a private mount namespace: %s", strerror(errno));
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		mon_fail(m->c, "cannot make the mounts private: %s", strerror(errno));
	for (int i = 0; i < nbinds; i++) {
		const struct oci_mount *mt = &s->mounts[binds[i]];
		unsigned long flags = MS_BIND | (has_opt(mt, "rbind") ? MS_REC : 0);
		char target[4096];
		struct stat st;
		int r;

		if (stat(mt->source, &st) < 0)
			mon_fail(m->c, "mounts[%d] (%s): source %s: %s", binds[i], mt->dest,
				 mt->source, strerror(errno));
		r = make_target(m->c->rootfs, mt->dest, !S_ISDIR(st.st_mode), target,
				sizeof(target));
		if (r)
			mon_fail(m->c, "mounts[%d] (%s): cannot make the target in the rootfs: %s",
				 binds[i], mt->dest, r == -ELOOP ? "a symlink is in the way" :
				 strerror(-r));
		if (mount(mt->source, target, NULL, flags, NULL) < 0)
			mon_fail(m->c, "mounts[%d] (%s): bind %s: %s", binds[i], mt->dest,
				 mt->source, strerror(errno));
		if (has_opt(mt, "ro") &&
		    mount(NULL, target, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) < 0)
			mon_fail(m->c, "mounts[%d] (%s): read-only: %s", binds[i], mt->dest,
				 strerror(errno));
	}
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
	static const char *const keys[] = { "kernel", "mem", "cpus", "balloon" };

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

static const int forwarded[] = { SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR2, SIGWINCH,
				 SIGCHLD, SIGPIPE, SIGALRM, SIGCONT, SIGTSTP };

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
	host_binds(&m, binds, nbinds);
	free(binds);
	if (oci_podnet_join(c->spec, &m.net, msg, sizeof(msg)))
		mon_fail(c, "%s", msg);
	sigemptyset(&set);
	for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
		sigaddset(&set, forwarded[i]);
	sigprocmask(SIG_BLOCK, &set, NULL);
	sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0)
		mon_fail(c, "signalfd: %s", strerror(errno));
	cfg = vm_config(&m);
	if (avm_create(cfg, &m.vm, &e))
		mon_fail(c, "%s", e.msg);
	avm_config_free(cfg);
	if (m.net.active && oci_podnet_connect(&m.net, msg, sizeof(msg))) {
		oci_podnet_disconnect(&m.net);
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
