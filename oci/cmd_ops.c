// SPDX-License-Identifier: MIT
/*
 * cmd_ops.c: the commands on an existing container (oci/runtime.h): state,
 * kill, delete, ps, pause, resume, exec; and features. Error texts the
 * engine maps are runc's: "does not exist" for an unknown ID, "container not
 * running" for a stopped one.
 */
#include <agentvmm.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "oci/runtime.h"


/* The container (argv[0]) and its state; prints the error. Return: 0 or 1. */
static int open_container(const struct oci_global *g, const char *cmd, int argc, char **argv,
			  char *dir, size_t dirlen, struct oci_state *st)
{
	int r;

	if (argc < 1 || !oci_id_ok(argv[0]))
		return oci_error(g, "%s: expected a container ID", cmd);
	if (oci_state_dir(g, argv[0], dir, dirlen))
		return oci_error(g, "%s: container %s does not exist", cmd, argv[0]);
	r = oci_state_read(dir, st);
	if (r == -ENOENT)
		return oci_error(g, "%s: container %s does not exist", cmd, argv[0]);
	if (r)
		return oci_error(g, "%s: container %s: damaged state in %s", cmd, argv[0], dir);
	return 0;
}

int oci_cmd_state(const struct oci_global *g, int argc, char **argv)
{
	char dir[4096], *json;
	struct oci_state st;

	if (argc != 1)
		return oci_error(g, "state: expected one container ID");
	if (open_container(g, "state", argc, argv, dir, sizeof(dir), &st))
		return 1;
	json = oci_state_json(&st, oci_status(dir, &st));
	oci_state_fini(&st);
	if (!json)
		return oci_error(g, "state: out of memory");
	printf("%s\n", json);
	free(json);
	return 0;
}

static const struct {
	const char *name;
	int num;
} signames[] = {
	{ "HUP", SIGHUP },   { "INT", SIGINT },   { "QUIT", SIGQUIT }, { "ILL", SIGILL },
	{ "TRAP", SIGTRAP }, { "ABRT", SIGABRT }, { "BUS", SIGBUS },   { "FPE", SIGFPE },
	{ "KILL", SIGKILL }, { "USR1", SIGUSR1 }, { "SEGV", SIGSEGV }, { "USR2", SIGUSR2 },
	{ "PIPE", SIGPIPE }, { "ALRM", SIGALRM }, { "TERM", SIGTERM }, { "CHLD", SIGCHLD },
	{ "CONT", SIGCONT }, { "STOP", SIGSTOP }, { "TSTP", SIGTSTP }, { "TTIN", SIGTTIN },
	{ "TTOU", SIGTTOU }, { "URG", SIGURG },   { "XCPU", SIGXCPU }, { "XFSZ", SIGXFSZ },
	{ "VTALRM", SIGVTALRM }, { "PROF", SIGPROF }, { "WINCH", SIGWINCH }, { "IO", SIGIO },
	{ "PWR", SIGPWR },   { "SYS", SIGSYS },
};

/* "15", "TERM", "SIGTERM". Return: 1..64 or -1. */
static int parse_signal(const char *s)
{
	char *end;
	long n;

	if (*s >= '0' && *s <= '9') {
		n = strtol(s, &end, 10);
		return *end || n < 1 || n > 64 ? -1 : (int)n;
	}
	if (!strncmp(s, "SIG", 3))
		s += 3;
	for (size_t i = 0; i < sizeof(signames) / sizeof(signames[0]); i++)
		if (!strcmp(s, signames[i].name))
			return signames[i].num;
	return -1;
}

int oci_cmd_kill(const struct oci_global *g, int argc, char **argv)
{
	bool all = false;
	const struct oci_flag flags[] = { { "all", 'a', false, NULL, &all } };
	char dir[4096], msg[1024], req[32];
	struct oci_state st;
	int i, sig = SIGTERM, r = 0;

	i = oci_flags_parse(argc, argv, flags, 1, msg, sizeof(msg));
	if (i < 0)
		return oci_error(g, "kill: %s", msg);
	if (argc - i < 1 || argc - i > 2)
		return oci_error(g, "kill: expected ID [SIGNAL]");
	if (argc - i == 2) {
		sig = parse_signal(argv[i + 1]);
		if (sig < 0)
			return oci_error(g, "kill: %s: not a signal", argv[i + 1]);
	}
	if (open_container(g, "kill", argc - i, argv + i, dir, sizeof(dir), &st))
		return 1;
	if (!oci_alive(&st)) {
		r = oci_error(g, "kill: container %s: container not running", st.id);
	} else if (sig == SIGKILL) {
		/* the whole VM at once: the process that is the container */
		if (kill(st.pid, SIGKILL) < 0)
			r = oci_error(g, "kill: %s", strerror(errno));
	} else {
		/* the monitor passes it on (or ends a VM whose process has not started) */
		snprintf(req, sizeof(req), "signal %d", sig);
		if (oci_monitor_request(dir, req, msg, sizeof(msg)) && kill(st.pid, sig) < 0)
			r = oci_error(g, "kill: %s", strerror(errno));
	}
	oci_state_fini(&st);
	return r;
}

/* Wait until the monitor is gone (or a zombie of the engine). */
static bool wait_gone(const struct oci_state *st, int ms)
{
	for (int t = 0; t < ms; t += 20) {
		if (!oci_alive(st))
			return true;
		poll(NULL, 0, 20);
	}
	return !oci_alive(st);
}

static void poststop_and_cgroup(const struct oci_global *g, const struct oci_state *st)
{
	char path[4200], msg[1024], *json;
	struct oci_spec spec;

	if (!st->bundle)
		return;
	if (!oci_bundle_spec(st->bundle, &spec, msg, sizeof(msg))) {
		json = oci_state_json(st, "stopped");
		if (json && oci_run_hooks(spec.hooks[OCI_HOOK_POSTSTOP],
					  spec.nhooks[OCI_HOOK_POSTSTOP], json, msg, sizeof(msg)))
			oci_log(g, "warning", "delete: %s", msg);
		free(json);
		/* the cgroup the monitor joined: gone with it, if empty */
		if (spec.cgroups_path && !strchr(spec.cgroups_path, ':') &&
		    !strstr(spec.cgroups_path, "..")) {
			snprintf(path, sizeof(path), "/sys/fs/cgroup%s%s",
				 spec.cgroups_path[0] == '/' ? "" : "/", spec.cgroups_path);
			rmdir(path);
		}
		oci_spec_free(&spec);
	}
}

int oci_cmd_delete(const struct oci_global *g, int argc, char **argv)
{
	bool force = false;
	const struct oci_flag flags[] = { { "force", 'f', false, NULL, &force } };
	char dir[4096], msg[1024];
	struct oci_state st;
	const char *status;
	int i, r, lock;

	i = oci_flags_parse(argc, argv, flags, 1, msg, sizeof(msg));
	if (i < 0)
		return oci_error(g, "delete: %s", msg);
	if (argc - i != 1 || !oci_id_ok(argv[i]))
		return oci_error(g, "delete: expected one container ID");
	if (oci_state_dir(g, argv[i], dir, sizeof(dir)))
		return oci_error(g, "delete: container %s does not exist", argv[i]);
	lock = oci_lock(g, argv[i]);
	r = oci_state_read(dir, &st);
	if (r == -ENOENT) {
		/* already gone: --force is fine with that (the engine always sends it) */
		if (lock >= 0) {
			char path[4200];

			snprintf(path, sizeof(path), "%s/%s.lock", g->root, argv[i]);
			if (access(dir, F_OK) < 0)
				unlink(path);
			close(lock);
		}
		return force ? 0 : oci_error(g, "delete: container %s does not exist", argv[i]);
	}
	if (r && !force) {
		if (lock >= 0)
			close(lock);
		return oci_error(g, "delete: container %s: damaged state", argv[i]);
	}
	status = r ? "stopped" : oci_status(dir, &st);
	if (strcmp(status, "stopped")) {
		if (!force) {
			r = oci_error(g, "delete: cannot delete container %s that is not stopped: %s",
				      st.id, status);
			oci_state_fini(&st);
			if (lock >= 0)
				close(lock);
			return r;
		}
		if (st.pid > 0)
			kill(st.pid, SIGKILL);
		if (!wait_gone(&st, OCI_KILL_WAIT_MS)) {
			r = oci_error(g, "delete: container %s: its process %d outlived SIGKILL",
				      st.id, (int)st.pid);
			oci_state_fini(&st);
			if (lock >= 0)
				close(lock);
			return r;
		}
	}
	poststop_and_cgroup(g, &st);
	oci_remove_state(g, dir, argv[i]);
	oci_state_fini(&st);
	if (lock >= 0)
		close(lock);
	return 0;
}

int oci_cmd_ps(const struct oci_global *g, int argc, char **argv)
{
	const char *format = "table";
	const struct oci_flag flags[] = { { "format", 'f', true, &format, NULL } };
	char dir[4096], msg[1024];
	struct oci_state st;
	int i;

	i = oci_flags_parse(argc, argv, flags, 1, msg, sizeof(msg));
	if (i < 0)
		return oci_error(g, "ps: %s", msg);
	if (strcmp(format, "json") && strcmp(format, "table"))
		return oci_error(g, "ps: --format %s: expected table or json", format);
	if (open_container(g, "ps", argc - i, argv + i, dir, sizeof(dir), &st))
		return 1;
	/* the host's view: the VM is one process (guest processes: exec ps in it) */
	if (!strcmp(format, "json")) {
		if (oci_alive(&st))
			printf("[%d]\n", (int)st.pid);
		else
			printf("[]\n");
	} else {
		printf("PID\tCMD\n");
		if (oci_alive(&st))
			printf("%d\tagentvmm-oci monitor\n", (int)st.pid);
	}
	oci_state_fini(&st);
	return 0;
}

static int pause_resume(const struct oci_global *g, const char *cmd, int argc, char **argv)
{
	char dir[4096], msg[1024];
	struct oci_state st;
	const char *status;
	int r = 0;

	if (argc != 1)
		return oci_error(g, "%s: expected one container ID", cmd);
	if (open_container(g, cmd, argc, argv, dir, sizeof(dir), &st))
		return 1;
	status = oci_status(dir, &st);
	if (!strcmp(status, "stopped"))
		r = oci_error(g, "%s: container %s: container not running", cmd, st.id);
	else if (oci_monitor_request(dir, cmd, msg, sizeof(msg)))
		r = oci_error(g, "%s: %s", cmd, msg);
	oci_state_fini(&st);
	return r;
}

int oci_cmd_pause(const struct oci_global *g, int argc, char **argv)
{
	return pause_resume(g, "pause", argc, argv);
}

int oci_cmd_resume(const struct oci_global *g, int argc, char **argv)
{
	return pause_resume(g, "resume", argc, argv);
}

int oci_cmd_features(const struct oci_global *g, int argc, char **argv)
{
	(void)argv;
	if (argc)
		return oci_error(g, "features: takes no arguments");
	printf("{\"ociVersionMin\":\"1.0.0\",\"ociVersionMax\":\"%s\","
	       "\"hooks\":[\"prestart\",\"createRuntime\",\"poststart\",\"poststop\"],"
	       "\"mountOptions\":[\"ro\",\"rw\",\"bind\",\"rbind\",\"nosuid\",\"suid\",\"nodev\","
	       "\"dev\",\"noexec\",\"exec\",\"noatime\",\"nodiratime\",\"relatime\","
	       "\"strictatime\",\"sync\"],"
	       "\"linux\":{\"namespaces\":[\"pid\",\"ipc\",\"uts\",\"mount\",\"network\","
	       "\"cgroup\"],\"capabilities\":[],\"cgroup\":{\"v1\":false,\"v2\":true,"
	       "\"systemd\":false},\"seccomp\":{\"enabled\":false},"
	       "\"apparmor\":{\"enabled\":false},\"selinux\":{\"enabled\":false}},"
	       "\"annotations\":{\"io.agentvmm.vm\":\"one VM per container (docs/oci.md)\"}}\n",
	       OCI_VERSION);
	return 0;
}

/* ---- exec ---------------------------------------------------------------- */

/* process.json as a spec: the parser checks it as it checks config.json's. */
static int parse_process(const char *path, struct oci_spec *s, char *msg, size_t msglen)
{
	static const char head[] = "{\"ociVersion\":\"" OCI_VERSION "\",\"root\":{\"path\":"
				   "\"rootfs\"},\"process\":";
	char *text, *all;
	size_t len;
	int r;

	r = oci_read_file(path, OCI_MAX_FILE, &text, &len);
	if (r) {
		snprintf(msg, msglen, "--process %s: %s", path, strerror(-r));
		return r;
	}
	all = malloc(sizeof(head) + len + 2);
	if (!all) {
		free(text);
		return -ENOMEM;
	}
	memcpy(all, head, sizeof(head) - 1);
	memcpy(all + sizeof(head) - 1, text, len);
	memcpy(all + sizeof(head) - 1 + len, "}", 2);
	free(text);
	r = oci_spec_parse(all, sizeof(head) + len, s, msg, msglen);
	free(all);
	return r;
}

int oci_cmd_exec(const struct oci_global *g, int argc, char **argv)
{
	const char *process = NULL, *pid_file = NULL, *console = NULL, *ignored = NULL;
	bool detach = false, tty = false, ignore_paused = false, nnp = false;
	const struct oci_flag flags[] = {
		{ "process", 'p', true, &process, NULL },
		{ "detach", 'd', false, NULL, &detach },
		{ "pid-file", 0, true, &pid_file, NULL },
		{ "console-socket", 0, true, &console, NULL },
		{ "tty", 't', false, NULL, &tty },
		{ "ignore-paused", 0, false, NULL, &ignore_paused },
		{ "no-new-privs", 0, false, NULL, &nnp },
		{ "process-label", 0, true, &ignored, NULL },
		{ "apparmor", 0, true, &ignored, NULL },
		{ "preserve-fds", 0, true, &ignored, NULL },
		{ "cgroup", 0, true, &ignored, NULL },
	};
	char dir[4096], msg[1024], sock[4200], pidtext[32];
	struct avm_exec_opts o;
	struct oci_state st;
	struct oci_spec spec;
	struct avm_error e;
	struct oci_job j;
	const char *status;
	int i, slave = -1, st_code = 255;
	pid_t pid;

	i = oci_flags_parse(argc, argv, flags, sizeof(flags) / sizeof(flags[0]), msg, sizeof(msg));
	if (i < 0)
		return oci_error(g, "exec: %s", msg);
	if (!process)
		return oci_error(g, "exec: --process FILE is required (a command after the ID "
				 "is not supported)");
	if (argc - i != 1)
		return oci_error(g, "exec: expected one container ID");
	if (open_container(g, "exec", argc - i, argv + i, dir, sizeof(dir), &st))
		return 1;
	status = oci_status(dir, &st);
	oci_state_fini(&st);
	if (strcmp(status, "running") && !(ignore_paused && !strcmp(status, "paused")))
		return oci_error(g, "exec: cannot exec in a container that is %s%s", status,
				 !strcmp(status, "stopped") ? " (container not running)" : "");
	if (parse_process(process, &spec, msg, sizeof(msg)))
		return oci_error(g, "exec: %s", msg);
	if (spec.terminal) {
		if (!console) {
			oci_spec_free(&spec);
			return oci_error(g, "exec: process.terminal needs --console-socket");
		}
		slave = oci_pty_to_socket(console, spec.console_rows, spec.console_cols, msg,
					  sizeof(msg));
		if (slave < 0) {
			oci_spec_free(&spec);
			return oci_error(g, "exec: %s", msg);
		}
	}
	spec.no_new_privs |= nnp;
	snprintf(sock, sizeof(sock), "%s/api.sock", dir);
	pid = detach ? fork() : 0;
	if (pid < 0) {
		oci_spec_free(&spec);
		return oci_error(g, "exec: fork: %s", strerror(errno));
	}
	if (pid > 0) {
		/* the engine reaps the child and takes its status: the command's */
		oci_spec_free(&spec);
		if (slave >= 0)
			close(slave);
		snprintf(pidtext, sizeof(pidtext), "%d", (int)pid);
		if (pid_file && oci_write_file(pid_file, pidtext)) {
			kill(pid, SIGKILL);
			return oci_error(g, "exec: --pid-file %s: %s", pid_file, strerror(errno));
		}
		return 0;
	}
	if (detach)
		setsid();
	if (slave >= 0) {
		if (detach)
			ioctl(slave, TIOCSCTTY, 0);
		dup2(slave, 0);
		dup2(slave, 1);
		dup2(slave, 2);
		close(slave);
	}
	if (oci_job_opts(&spec, &j, &o, false, NULL, 0)) {
		oci_spec_free(&spec);
		return oci_error(g, "exec: out of memory");
	}
	o.signals = true;
	if (avm_exec(sock, &o, &st_code, &e)) {
		oci_error(g, "exec: %s", e.msg);
		st_code = 255;
	}
	oci_job_fini(&j);
	oci_spec_free(&spec);
	return st_code;
}
