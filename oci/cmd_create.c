// SPDX-License-Identifier: MIT
/*
 * cmd_create.c: `create --bundle DIR [--pid-file F] [--console-socket S] ID`
 * and `start ID` (oci/runtime.h).
 *
 * create: read and check config.json (everything a VM cannot honour is
 * refused here, before anything exists), make the state directory, fork the
 * monitor and wait (OCI_CREATE_WAIT_MS) for its "ok" or its error line, run
 * the prestart and createRuntime hooks, and write the pid file last (the
 * engine's sign that the container is created). Any failure removes what was
 * made, monitor included, and exits 1 with the reason on stderr and in the log.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "oci/runtime.h"


void oci_remove_state(const struct oci_global *g, const char *dir, const char *id)
{
	static const char *const files[] = { "state.json", "state.json.tmp", "status",
					     "status.tmp", "m.sock", "api.sock", "vmm.log",
					     "console.log" };
	char path[4200];

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		unlink(path);
	}
	if (rmdir(dir) < 0 && errno != ENOENT)
		oci_log(g, "warning", "cannot remove %s: %s", dir, strerror(errno));
	snprintf(path, sizeof(path), "%s/%s.lock", g->root, id);
	unlink(path);
}

static void rfc3339(char *buf, size_t len)
{
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Read the monitor's one line within the time limit. Return: 0 "ok", -1 error (msg). */
static int wait_ready(int fd, char *msg, size_t msglen)
{
	char line[1200];
	size_t got = 0;
	long left = OCI_CREATE_WAIT_MS;

	while (got < sizeof(line) - 1) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int r = poll(&p, 1, (int)left);
		ssize_t n;

		if (r == 0) {
			snprintf(msg, msglen, "the VM was not created within %d s",
				 OCI_CREATE_WAIT_MS / 1000);
			return -1;
		}
		if (r < 0 && errno == EINTR)
			continue;
		n = read(fd, line + got, sizeof(line) - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
		if (memchr(line, '\n', got))
			break;
		left = 1000; /* the rest of a line comes at once */
	}
	line[got] = 0;
	line[strcspn(line, "\n")] = 0;
	if (!strcmp(line, "ok"))
		return 0;
	snprintf(msg, msglen, "%.900s", !strncmp(line, "error ", 6) ? line + 6 :
		 "the monitor exited before the VM was created (see vmm.log)");
	return -1;
}

/*
 * A monitor whose create failed after its VM was made: SIGTERM ends the VM
 * through the monitor's own exit path (the pod network undone), SIGKILL if
 * that takes more than OCI_STOP_WAIT_MS; reaped either way.
 */
static void stop_monitor(pid_t pid)
{
	kill(pid, SIGTERM);
	for (int t = 0; t < OCI_STOP_WAIT_MS; t += 20) {
		if (waitpid(pid, NULL, WNOHANG) == pid)
			return;
		poll(NULL, 0, 20);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

static int write_pid_file(const char *path, pid_t pid)
{
	char text[32];

	snprintf(text, sizeof(text), "%d", (int)pid);
	return oci_write_file(path, text);
}

int oci_cmd_create(const struct oci_global *g, int argc, char **argv)
{
	const char *bundle = NULL, *pid_file = NULL, *console = NULL, *preserve = NULL;
	bool no_pivot = false, no_keyring = false;
	const struct oci_flag flags[] = {
		{ "bundle", 'b', true, &bundle, NULL },
		{ "pid-file", 0, true, &pid_file, NULL },
		{ "console-socket", 0, true, &console, NULL },
		{ "no-pivot", 0, false, NULL, &no_pivot },
		{ "no-new-keyring", 0, false, NULL, &no_keyring },
		{ "preserve-fds", 0, true, &preserve, NULL },
	};
	char msg[1024], dir[4096], path[4200], bpath[PATH_MAX], rootfs[PATH_MAX];
	struct oci_spec spec;
	struct oci_state st = { 0 };
	struct oci_create c = { .g = g, .ready_fd = -1, .pty_slave = -1 };
	char *text = NULL, created[64];
	int i, r, lock, p[2];
	pid_t pid;

	i = oci_flags_parse(argc, argv, flags, sizeof(flags) / sizeof(flags[0]), msg, sizeof(msg));
	if (i < 0)
		return oci_error(g, "create: %s", msg);
	if (i != argc - 1)
		return oci_error(g, "create: expected one container ID");
	c.id = argv[i];
	if (!oci_id_ok(c.id))
		return oci_error(g, "create: invalid container ID %.64s", c.id);
	if (preserve && strcmp(preserve, "0"))
		return oci_error(g, "create: --preserve-fds: passing extra fds into a VM is not "
				 "supported");
	if (!realpath(bundle ? bundle : ".", bpath))
		return oci_error(g, "create: bundle %s: %s", bundle ? bundle : ".", strerror(errno));
	if (oci_bundle_spec(bpath, &spec, msg, sizeof(msg)))
		return oci_error(g, "create: %s", msg);
	r = 1;
	for (i = 0; i < spec.nignored; i++)
		oci_log(g, "warning", "create: %s: not applied in a VM (docs/oci.md)", spec.ignored[i]);
	if (spec.nhooks[OCI_HOOK_CREATE_CONTAINER] || spec.nhooks[OCI_HOOK_START_CONTAINER])
		oci_log(g, "warning", "create: the createContainer and startContainer hooks are "
			"not run (they would have to run inside the guest)");
	if (spec.has_oom_score_adj)
		oci_log(g, "warning", "create: process.oomScoreAdj: not applied in a VM");
	snprintf(path, sizeof(path), "%s%s%s", spec.root_path[0] == '/' ? "" : bpath,
		 spec.root_path[0] == '/' ? "" : "/", spec.root_path);
	if (!realpath(path, rootfs)) {
		oci_error(g, "create: root.path %s: %s", path, strerror(errno));
		goto out_spec;
	}
	c.spec = &spec;
	c.rootfs = rootfs;
	c.bundle = bpath;
	c.console_socket = console;
	if (spec.terminal && !console) {
		oci_error(g, "create: process.terminal needs --console-socket");
		goto out_spec;
	}
	if (mkdir(g->root, 0700) < 0 && errno != EEXIST) {
		oci_error(g, "create: --root %s: %s", g->root, strerror(errno));
		goto out_spec;
	}
	if (oci_state_dir(g, c.id, dir, sizeof(dir))) {
		oci_error(g, "create: state directory name too long");
		goto out_spec;
	}
	lock = oci_lock(g, c.id);
	if (lock < 0) {
		oci_error(g, "create: lock: %s", strerror(-lock));
		goto out_spec;
	}
	if (mkdir(dir, 0700) < 0) {
		oci_error(g, "create: container with id %s %s", c.id, errno == EEXIST ?
			  "already exists" : strerror(errno));
		close(lock);
		goto out_spec;
	}
	c.dir = dir;
	rfc3339(created, sizeof(created));
	snprintf(st.id, sizeof(st.id), "%s", c.id);
	st.bundle = bpath;
	st.created = created;
	st.annotations = NULL;
	if (oci_state_write(dir, &st)) {
		oci_error(g, "create: cannot write the state: %s", strerror(errno));
		goto out_dir;
	}
	if (spec.terminal) {
		c.pty_slave = oci_pty_to_socket(console, spec.console_rows, spec.console_cols, msg,
						sizeof(msg));
		if (c.pty_slave < 0) {
			oci_error(g, "create: %s", msg);
			goto out_dir;
		}
	}
	if (pipe2(p, O_CLOEXEC) < 0) {
		oci_error(g, "create: pipe: %s", strerror(errno));
		goto out_dir;
	}
	pid = fork();
	if (pid < 0) {
		oci_error(g, "create: fork: %s", strerror(errno));
		close(p[0]);
		close(p[1]);
		goto out_dir;
	}
	if (pid == 0) {
		close(p[0]);
		close(lock);
		c.ready_fd = p[1];
		oci_monitor(&c);
	}
	close(p[1]);
	if (c.pty_slave >= 0)
		close(c.pty_slave);
	if (wait_ready(p[0], msg, sizeof(msg))) {
		close(p[0]);
		stop_monitor(pid);
		oci_error(g, "create: %s", msg);
		goto out_dir;
	}
	close(p[0]);
	st.pid = pid;
	st.start = oci_pid_start(pid);
	if (!st.start) {
		waitpid(pid, NULL, 0);
		oci_error(g, "create: the monitor exited right after the VM was created (see "
			  "vmm.log)");
		goto out_dir;
	}
	/* the annotations too, for `state` and the hooks */
	st.annotations = oci_annotations_json(spec.annotations, spec.nannotations);
	r = oci_state_write(dir, &st);
	free(st.annotations);
	st.annotations = NULL;
	if (r) {
		stop_monitor(pid);
		oci_error(g, "create: cannot write the state: %s", strerror(-r));
		r = 1;
		goto out_dir;
	}
	r = 1;
	text = oci_state_json(&st, "created");
	if (!text || oci_run_hooks(spec.hooks[OCI_HOOK_PRESTART], spec.nhooks[OCI_HOOK_PRESTART],
				   text, msg, sizeof(msg)) ||
	    oci_run_hooks(spec.hooks[OCI_HOOK_CREATE_RUNTIME], spec.nhooks[OCI_HOOK_CREATE_RUNTIME],
			  text, msg, sizeof(msg))) {
		free(text);
		stop_monitor(pid);
		oci_error(g, "create: %s", text ? msg : "out of memory");
		goto out_dir;
	}
	free(text);
	if (pid_file && write_pid_file(pid_file, pid)) {
		stop_monitor(pid);
		oci_error(g, "create: --pid-file %s: %s", pid_file, strerror(errno));
		goto out_dir;
	}
	close(lock);
	oci_spec_free(&spec);
	return 0;
out_dir:
	oci_remove_state(g, dir, c.id);
	close(lock);
out_spec:
	oci_spec_free(&spec);
	return r;
}

int oci_monitor_request(const char *dir, const char *req, char *msg, size_t msglen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = 30 };
	char reply[1200];
	ssize_t n;
	int fd, r = 0;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/m.sock", dir);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    send(fd, req, strlen(req), MSG_NOSIGNAL) < 0) {
		r = -errno;
		snprintf(msg, msglen, "the container's monitor: %s", strerror(-r));
		close(fd);
		return r;
	}
	n = recv(fd, reply, sizeof(reply) - 1, 0);
	close(fd);
	if (n <= 0) {
		snprintf(msg, msglen, "the container's monitor did not answer");
		return -EIO;
	}
	reply[n] = 0;
	if (!strcmp(reply, "ok"))
		return 0;
	snprintf(msg, msglen, "%.900s", !strncmp(reply, "error ", 6) ? reply + 6 : reply);
	return -EINVAL;
}

int oci_cmd_start(const struct oci_global *g, int argc, char **argv)
{
	char dir[4096], msg[1024], *json;
	struct oci_state st;
	struct oci_spec spec;
	const char *status;
	int r;

	if (argc != 1 || !oci_id_ok(argv[0]))
		return oci_error(g, "start: expected one container ID");
	if (oci_state_dir(g, argv[0], dir, sizeof(dir)) || oci_state_read(dir, &st))
		return oci_error(g, "start: container %s does not exist", argv[0]);
	status = oci_status(dir, &st);
	if (strcmp(status, "created")) {
		r = oci_error(g, "start: cannot start a container that is %s (%s)", status,
			      !strcmp(status, "stopped") ? "container not running" : "not created");
		oci_state_fini(&st);
		return r;
	}
	r = oci_monitor_request(dir, "start", msg, sizeof(msg));
	if (r) {
		r = oci_error(g, "start: %s", msg);
		oci_state_fini(&st);
		return r;
	}
	/* poststart hooks: the spec again, from the bundle */
	if (!oci_bundle_spec(st.bundle ? st.bundle : ".", &spec, msg, sizeof(msg))) {
		json = oci_state_json(&st, "running");
		if (json && oci_run_hooks(spec.hooks[OCI_HOOK_POSTSTART],
					  spec.nhooks[OCI_HOOK_POSTSTART], json, msg, sizeof(msg)))
			oci_log(g, "warning", "start: %s", msg);
		free(json);
		oci_spec_free(&spec);
	}
	oci_state_fini(&st);
	return 0;
}
