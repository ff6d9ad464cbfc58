// SPDX-License-Identifier: MIT
/* share.c: start, explain and stop the virtiofsd behind each --share (layout in share.h). */
#include "vmm/share.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "devices/vhost_user/vu_conn.h"
#include "vmm/child.h"
#include "vmm/log.h"

#define SHARE_NOFILE_MAX 1048576 /* what we ask for; the kernel caps at fs.nr_open */
#define SHARE_CHILD_FAILED 126
#define SHARE_ID_RANGE 4294967295ULL /* every id but (uid_t)-1 */

void share_init(struct share_proc *sp)
{
	memset(sp, 0, sizeof(*sp));
	sp->pid = -1;
	sp->log_fd = -1;
	sp->sync_fd = -1;
	sp->conn_fd = -1;
}

void share_owner(const struct vm_config *cfg, uid_t *uid, gid_t *gid)
{
	const char *su = getenv("SUDO_UID"), *sg = getenv("SUDO_GID");

	*uid = getuid();
	*gid = getgid();
	if (cfg->owner_set) {
		*uid = cfg->owner_uid;
		*gid = cfg->owner_gid;
	} else if (*uid == 0 && su && sg && *su && *sg) {
		*uid = (uid_t)strtoul(su, NULL, 10);
		*gid = (gid_t)strtoul(sg, NULL, 10);
	}
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Runtime directory (0700) for the socket: $TMPDIR, $XDG_RUNTIME_DIR or /tmp. */
static int make_runtime_dir(struct share_proc *sp)
{
	const char *bases[] = { getenv("TMPDIR"), getenv("XDG_RUNTIME_DIR"), "/tmp" };

	for (size_t i = 0; i < ARRAY_SIZE(bases); i++) {
		int n;

		if (!bases[i] || bases[i][0] != '/')
			continue;
		n = snprintf(sp->dir, sizeof(sp->dir), "%s/agentvmm-fs-XXXXXX", bases[i]);
		/* the socket name must fit sun_path too */
		if (n < 0 || (size_t)n + 8 >= sizeof(sp->sock))
			continue;
		if (mkdtemp(sp->dir)) {
			snprintf(sp->sock, sizeof(sp->sock), "%s/fs.sock", sp->dir);
			return 0;
		}
	}
	sp->dir[0] = 0;
	return -errno;
}

static int listen_socket(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 1) < 0) {
		int e = errno;

		close(fd);
		return -e;
	}
	return fd;
}

/*
 * Connect our end to the fresh listener (it queues in the backlog until
 * virtiofsd accepts it), then remove the socket's name and its directory at
 * once: from here on nothing of the share is on disk, so even a SIGKILL of
 * agentvmm leaves no socket behind (the kernel frees both ends with the fds).
 * Return: the connected fd, or -errno.
 */
static int connect_and_unlink(struct share_proc *sp)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), r = 0;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sp->sock);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		r = -errno;
	unlink(sp->sock);
	rmdir(sp->dir);
	sp->dir[0] = 0;
	if (r && fd >= 0)
		close(fd);
	return r ? r : fd;
}

/* Child side failure: one line into the log (virtiofsd's stderr-to-be), then exit. */
static __attribute__((noreturn)) void child_fail(int log_fd, const char *what)
{
	dprintf(log_fd, "%s: %s\n", what, strerror(errno));
	_exit(SHARE_CHILD_FAILED);
}

/*
 * In the clone: wait for the id maps, become root of the new user namespace,
 * tie our life to agentvmm's, make the share read-only if asked, exec.
 * Only async-signal-safe calls: we are a copy of a threaded process.
 */
static __attribute__((noreturn)) void child_run(const struct vm_share *s, int sync_rd,
						 int sync_wr, int lfd, int log_fd, bool privileged,
						 char *const argv[])
{
	struct pollfd p = { .fd = sync_rd, .events = POLLIN };
	struct rlimit rl;
	sigset_t mask;
	char go;
	int null;

	close(sync_wr);
	/* agentvmm blocks its stop signals (the CLI blocks them before avm_create); virtiofsd must get them */
	sigemptyset(&mask);
	sigprocmask(SIG_SETMASK, &mask, NULL);
	if (read(sync_rd, &go, 1) != 1)
		_exit(SHARE_CHILD_FAILED);
	if (setresgid(0, 0, 0) < 0 || (privileged && setgroups(0, NULL) < 0) ||
	    setresuid(0, 0, 0) < 0)
		child_fail(log_fd, "cannot become root in the share's user namespace");
	/* after the id change, which clears it; the poll catches a parent already gone */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (poll(&p, 1, 0) == 1 && (p.revents & POLLHUP))
		_exit(SHARE_CHILD_FAILED);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		child_fail(log_fd, "cannot make / private");
	if (s->readonly) {
		struct mount_attr ma = { .attr_set = MOUNT_ATTR_RDONLY };

		if (mount(s->host, s->host, NULL, MS_BIND | MS_REC, NULL) < 0)
			child_fail(log_fd, "cannot bind-mount the share");
		if (mount_setattr(AT_FDCWD, s->host, AT_RECURSIVE, &ma, sizeof(ma)) < 0)
			child_fail(log_fd, "cannot make the share read-only");
	}
	/* dup2() onto itself would keep O_CLOEXEC: move the socket out of the way first */
	if (lfd <= 3)
		lfd = fcntl(lfd, F_DUPFD_CLOEXEC, 10);
	null = open("/dev/null", O_RDWR | O_CLOEXEC); /* dup2 clears it on 0/1 */
	if (lfd < 0 || null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 ||
	    dup2(log_fd, 2) < 0 || dup2(lfd, 3) < 0)
		child_fail(log_fd, "cannot set up file descriptors");
	syscall(SYS_close_range, 4U, ~0U, 0U);
	char *const envp[] = { NULL };
	execve(argv[0], argv, envp);
	child_fail(2, argv[0]);
}

static int write_file(pid_t pid, const char *name, const char *text)
{
	char path[64];
	int fd, r = 0;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, name);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		r = -errno;
	close(fd);
	return r;
}

/*
 * One id map: without privilege only our own id can be root inside. With it,
 * a rw share maps guest root to (owner) and every other id to itself, leaving
 * host root unmapped (so the guest can never make a root-owned file); a ro
 * share, which writes nothing, maps everything to itself.
 */
static void id_map(char *buf, size_t len, unsigned long owner, unsigned long self,
		   bool privileged, bool readonly)
{
	int n = 0;

	if (!privileged) {
		snprintf(buf, len, "0 %lu 1\n", self);
		return;
	}
	if (readonly || owner == 0) {
		snprintf(buf, len, "0 0 %llu\n", SHARE_ID_RANGE);
		return;
	}
	n += snprintf(buf + n, len - (size_t)n, "0 %lu 1\n", owner);
	if (owner > 1)
		n += snprintf(buf + n, len - (size_t)n, "1 1 %lu\n", owner - 1);
	if (owner + 1 < SHARE_ID_RANGE)
		snprintf(buf + n, len - (size_t)n, "%lu %lu %llu\n", owner + 1, owner + 1,
			 SHARE_ID_RANGE - owner - 1);
}

/* agentvmm's half of the start: limits and id maps for (pid), then let it go. */
static int child_release(struct share_proc *sp, const struct vm_share *s, bool privileged,
			 uid_t uid, gid_t gid)
{
	char map[256];
	int r;

	if (privileged) {
		struct rlimit rl = { SHARE_NOFILE_MAX, SHARE_NOFILE_MAX };
		long nr_open = 0;
		FILE *f = fopen("/proc/sys/fs/nr_open", "re");

		if (f && fscanf(f, "%ld", &nr_open) == 1 && nr_open > 0 &&
		    (rlim_t)nr_open < rl.rlim_max)
			rl.rlim_cur = rl.rlim_max = (rlim_t)nr_open;
		if (f)
			fclose(f);
		if (prlimit(sp->pid, RLIMIT_NOFILE, &rl, NULL) < 0)
			log_dbg("--share %s: cannot raise virtiofsd's open-file limit: %s", s->host,
				strerror(errno));
	} else {
		r = write_file(sp->pid, "setgroups", "deny");
		if (r)
			return r;
	}
	id_map(map, sizeof(map), uid, geteuid(), privileged, s->readonly);
	r = write_file(sp->pid, "uid_map", map);
	if (r)
		return r;
	id_map(map, sizeof(map), gid, getegid(), privileged, s->readonly);
	r = write_file(sp->pid, "gid_map", map);
	if (r)
		return r;
	return write(sp->sync_fd, "g", 1) == 1 ? 0 : -errno;
}

/* virtiofsd keeps one fd per inode the guest looked up: warn when a whole filesystem is shared. */
static void warn_inodes(const struct vm_share *s, pid_t pid)
{
	struct stat st, up;
	struct statvfs vfs;
	struct rlimit rl;
	char parent[VM_PATH_MAX + 4];

	snprintf(parent, sizeof(parent), "%s/..", s->host);
	if (stat(s->host, &st) < 0 || stat(parent, &up) < 0 ||
	    (st.st_dev == up.st_dev && strcmp(s->host, "/") != 0))
		return;
	if (statvfs(s->host, &vfs) < 0 || !vfs.f_files || prlimit(pid, RLIMIT_NOFILE, NULL, &rl) < 0)
		return;
	unsigned long long used = vfs.f_files - vfs.f_ffree;
	if (used > rl.rlim_max / 10 * 9)
		log_warn("--share %s: %llu inodes, virtiofsd may keep at most %llu open: a guest "
			 "walking all of it gets EMFILE (docs/shares.md)", s->host, used,
			 (unsigned long long)rl.rlim_max);
}

static const char *share_virtiofsd(void)
{
	const char *bin = getenv("AGENTVMM_VIRTIOFSD");

	return bin && *bin ? bin : SHARE_VIRTIOFSD;
}

int share_check(const struct vm_config *cfg, char *err, size_t errlen)
{
	const char *bin = share_virtiofsd();
	uid_t uid;
	gid_t gid;

	for (unsigned i = 0; i < cfg->nr_shares; i++) {
		const struct vm_share *s = &cfg->shares[i];

		if (s->external)
			continue;
		if (access(bin, X_OK) < 0) {
			snprintf(err, errlen, "--share %s: %s: %s (install qemu-system-common)",
				 s->host, bin, strerror(errno));
			return -EINVAL;
		}
		share_owner(cfg, &uid, &gid);
		if (geteuid() != 0 && (uid != geteuid() || gid != getegid())) {
			snprintf(err, errlen, "--owner %u:%u: only root can give the guest's files "
				 "to another user", (unsigned)uid, (unsigned)gid);
			return -EINVAL;
		}
	}
	return 0;
}

/* One connect() attempt; the fd, or -errno. */
static int fs_connect_once(const struct sockaddr_un *sa)
{
	/* bounds a connect() to a listener whose backlog is full, as vu_conn does */
	struct timeval tv = { .tv_sec = VU_CONN_TIMEOUT_MS / 1000,
			      .tv_usec = (VU_CONN_TIMEOUT_MS % 1000) * 1000 };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), r;

	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0)
		goto fail;
	while (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) < 0)
		if (errno != EINTR)
			goto fail;
	return fd;
fail:
	r = errno == EAGAIN || errno == EINPROGRESS ? -ETIMEDOUT : -errno;
	close(fd);
	return r;
}

static uint64_t fs_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* A stop signal waiting for agentvmm (blocked until its loop reads it): give up waiting. */
static bool fs_stop_pending(void)
{
	sigset_t set;

	return sigpending(&set) == 0 && (sigismember(&set, SIGTERM) == 1 ||
					 sigismember(&set, SIGINT) == 1 ||
					 sigismember(&set, SIGHUP) == 1 ||
					 sigismember(&set, SIGQUIT) == 1);
}

int share_connect_external(struct share_proc *sp, const struct vm_share *s, uint64_t since_ms,
			   char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	uint64_t deadline = since_ms + (uint64_t)s->wait_s * 1000;
	bool told = false;
	int r;

	if (strlen(s->socket) >= sizeof(sa.sun_path)) {
		r = -ENAMETOOLONG;
		goto err;
	}
	memcpy(sa.sun_path, s->socket, strlen(s->socket) + 1);
	/*
	 * A back end started beside us (microvm.nix starts its virtiofsd units in
	 * parallel with the VM) may not have made its socket yet, or may not
	 * listen yet: try again every 100 ms until wait= runs out.
	 */
	while ((r = fs_connect_once(&sa)) == -ENOENT || r == -ECONNREFUSED) {
		uint64_t now = fs_now_ms();

		if (now >= deadline)
			break;
		if (fs_stop_pending()) {
			snprintf(err, errlen, "--fs %s: stopped waiting for %s: a stop signal "
				 "arrived", s->tag, s->socket);
			return -EINTR;
		}
		if (!told && now - since_ms >= 2000) {
			log_warn("--fs %s: waiting for a back end at %s (up to %u s)", s->tag,
				 s->socket, s->wait_s);
			told = true;
		}
		usleep(100 * 1000);
	}
	if (r >= 0) {
		sp->conn_fd = r;
		return 0;
	}
err:
	/* the words vu_conn_open() used when it connected later: one message either way */
	if (s->wait_s && (r == -ENOENT || r == -ECONNREFUSED))
		snprintf(err, errlen, "--fs %s: vhost-user %s: connect: %s (waited %u s)", s->tag,
			 s->socket, strerror(-r), s->wait_s);
	else
		snprintf(err, errlen, "--fs %s: vhost-user %s: connect: %s", s->tag, s->socket,
			 strerror(-r));
	return -EINVAL;
}

int share_start(struct share_proc *sp, const struct vm_share *s, uid_t uid, gid_t gid,
		char *err, size_t errlen)
{
	const char *bin = share_virtiofsd();
	bool privileged = geteuid() == 0;
	char source[VM_PATH_MAX + 16], threads[32];
	int pipefd[2] = { -1, -1 }, lfd = -1, r;

	char path[PATH_MAX], fd[] = "--fd=3", o[] = "-o", cache[] = "cache=auto";
	char sandbox[] = "sandbox=namespace", level[] = "log_level=warn";
	char nofile[] = "--rlimit-nofile=0";

	snprintf(path, sizeof(path), "%s", bin);
	snprintf(source, sizeof(source), "source=%s", s->host);
	snprintf(threads, sizeof(threads), "--thread-pool-size=%d", SHARE_THREADS);
	char *const argv[] = { path, fd, o, source, o, cache, o, sandbox, o, level, threads, nofile,
			       NULL };

	r = make_runtime_dir(sp);
	if (r) {
		snprintf(err, errlen, "--share %s: cannot create a runtime directory: %s", s->host,
			 strerror(-r));
		return -EIO;
	}
	lfd = listen_socket(sp->sock);
	if (lfd >= 0)
		sp->conn_fd = connect_and_unlink(sp);
	sp->log_fd = memfd_create("virtiofsd-log", MFD_CLOEXEC);
	if (lfd < 0 || sp->conn_fd < 0 || sp->log_fd < 0 || pipe2(pipefd, O_CLOEXEC) < 0) {
		r = lfd < 0 ? lfd : sp->conn_fd < 0 ? sp->conn_fd : -errno;
		snprintf(err, errlen, "--share %s: cannot set up the socket: %s", s->host,
			 strerror(-r));
		goto err_close;
	}
	sp->sync_fd = pipefd[1];
	sp->pid = (pid_t)syscall(SYS_clone, CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | SIGCHLD,
				 NULL, NULL, NULL, 0);
	if (sp->pid == 0)
		child_run(s, pipefd[0], pipefd[1], lfd, sp->log_fd, privileged, argv);
	r = sp->pid < 0 ? -errno : 0;
	close(pipefd[0]);
	close(lfd);
	lfd = -1;
	if (!r)
		r = child_release(sp, s, privileged, uid, gid);
	if (r) {
		snprintf(err, errlen, "--share %s: cannot start virtiofsd in its own namespaces: %s",
			 s->host, strerror(-r));
		return r == -EPERM ? -EINVAL : -EIO;
	}
	warn_inodes(s, sp->pid);
	log_info("--share %s: virtiofsd pid %d", s->host, (int)sp->pid);
	return 0;

err_close:
	if (lfd >= 0)
		close(lfd);
	if (pipefd[0] >= 0)
		close(pipefd[0]);
	if (pipefd[1] >= 0)
		close(pipefd[1]);
	sp->sync_fd = -1;
	return -EIO;
}

void share_connected(struct share_proc *sp)
{
	sp->connected = true;
	sp->conn_fd = -1; /* the front end owns it now */
	if (sp->dir[0]) {
		unlink(sp->sock);
		rmdir(sp->dir);
	}
	sp->dir[0] = 0;
}

/* Wait up to (ms) for virtiofsd to exit; true (and reaped) if it did. */
static bool wait_exit(struct share_proc *sp, unsigned ms, int *status)
{
	for (unsigned t = 0;; t += 10) {
		pid_t r = waitpid(sp->pid, status, WNOHANG);

		if (r == sp->pid || (r < 0 && errno == ECHILD)) {
			sp->pid = -1;
			return true;
		}
		if (t >= ms)
			return false;
		sleep_ms(10);
	}
}

void share_explain(struct share_proc *sp, const struct vm_share *s, char *err, size_t errlen)
{
	char why[512];
	int st = 0;

	if (sp->pid <= 0 || !wait_exit(sp, 1000, &st))
		return;
	child_last_line(sp->log_fd, NULL, why, sizeof(why));
	if (WIFEXITED(st))
		snprintf(err, errlen, "--share %s: virtiofsd exited with status %d%s%s", s->host,
			 WEXITSTATUS(st), why[0] ? ": " : "", why);
	else
		snprintf(err, errlen, "--share %s: virtiofsd killed by signal %d%s%s", s->host,
			 WTERMSIG(st), why[0] ? ": " : "", why);
}

void share_stop(struct share_proc *sp)
{
	int st;

	/* never connected: virtiofsd still waits in accept(), nothing to flush */
	if (sp->pid > 0 && !sp->connected)
		kill(sp->pid, SIGKILL);
	if (sp->pid > 0 && !wait_exit(sp, SHARE_STOP_WAIT_MS, &st)) {
		/* PID 1 of its namespace: SIGTERM counts only if virtiofsd handles it */
		kill(sp->pid, SIGTERM);
		if (!wait_exit(sp, SHARE_STOP_WAIT_MS, &st)) {
			kill(sp->pid, SIGKILL);
			wait_exit(sp, UINT_MAX, &st);
		}
	}
	sp->pid = -1;
	if (sp->conn_fd >= 0)
		close(sp->conn_fd);
	share_connected(sp);
	sp->connected = false;
	if (sp->log_fd >= 0)
		close(sp->log_fd);
	if (sp->sync_fd >= 0)
		close(sp->sync_fd);
	sp->log_fd = sp->sync_fd = -1;
}
