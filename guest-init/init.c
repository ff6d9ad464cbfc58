// SPDX-License-Identifier: MIT
/*
 * init.c: guest-init's main(): PID 1 of an agentvmm guest. It mounts the
 * early filesystems, loads modules, brings up lo and any NIC, starts the
 * egress forwarder (egress.h) when asked, starts the workload (command mode)
 * or a shell (interactive mode), forwards signals, stops the workload when the
 * ACPI power button is pressed, reaps every child and reports the
 * workload's status to agentvmm through the exit port.
 */
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "guest-init/acpi_event.h"
#include "guest-init/cmdline.h"
#include "guest-init/disks.h"
#include "guest-init/egress.h"
#include "guest-init/handoff.h"
#include "guest-init/net.h"
#include "guest-init/pmem.h"
#include "guest-init/console.h"
#include "guest-init/modules.h"
#include "guest-init/mount.h"
#include "guest-init/report.h"
#include "guest-init/restore.h"
#include "guest-init/session.h"
#include "guest-init/shares.h"

#define GI_CMDLINE_PATH "/proc/cmdline"
#define GI_CMDLINE_BUF 65536
#define GI_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define GI_HOME "/root"
#define GI_SHELL "/bin/sh"
#define GI_SHUTDOWN_GRACE_MS 2000	/* SIGTERM to SIGKILL for the workload */
#define GI_REAP_GRACE_MS 1000		/* per step when killing leftovers */

/* The workload being supervised. */
struct gi_work {
	pid_t pid;
	bool exited;
	int status;		/* exit code, or 128 + signal */
	bool stopping;		/* a shutdown signal arrived: SIGTERM sent */
	bool killed;		/* grace period over: SIGKILL sent */
	long long deadline_ms;
};

static const int gi_forwarded[] = { SIGINT, SIGHUP, SIGQUIT, SIGWINCH };
/* busybox reboot/halt/poweroff send SIGTERM/SIGUSR1/SIGUSR2; SIGPWR is the kernel's */
static const int gi_shutdown[] = { SIGTERM, SIGUSR1, SIGUSR2, SIGPWR };

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void noop_handler(int sig)
{
}

/* Block the signals PID 1 handles and return a signalfd for them (-1 on failure). */
static int signals_setup(sigset_t *set)
{
	struct sigaction sa = { .sa_handler = noop_handler };
	size_t i;

	sigemptyset(set);
	sigaddset(set, SIGCHLD);
	for (i = 0; i < GI_ARRAY_SIZE(gi_forwarded); i++)
		sigaddset(set, gi_forwarded[i]);
	for (i = 0; i < GI_ARRAY_SIZE(gi_shutdown); i++)
		sigaddset(set, gi_shutdown[i]);
	/* PID 1 gets no signal whose action is SIG_DFL; a handler makes them count */
	for (i = 1; i < NSIG; i++)
		if (sigismember(set, (int)i) == 1)
			sigaction((int)i, &sa, NULL);
	sigprocmask(SIG_BLOCK, set, NULL);
	return signalfd(-1, set, SFD_CLOEXEC | SFD_NONBLOCK);
}

static int decode_status(int st)
{
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return GI_STATUS_INIT_FAILED;
}

/* The exec sessions' handlers now running (session.h); 0: a free slot. */
static pid_t exec_pids[GI_SESSION_MAX_EXEC];

static void exec_forget(pid_t pid)
{
	for (size_t i = 0; i < GI_ARRAY_SIZE(exec_pids); i++)
		if (exec_pids[i] == pid)
			exec_pids[i] = 0;
}

/* Reap every exited child; note the workload's status. Return: true when none are left. */
static bool reap(struct gi_work *w)
{
	pid_t pid;
	int st;

	for (;;) {
		pid = waitpid(-1, &st, WNOHANG);
		if (pid == 0)
			return false;
		if (pid < 0)
			return errno == ECHILD;
		exec_forget(pid);
		if (w && pid == w->pid && (WIFEXITED(st) || WIFSIGNALED(st))) {
			w->exited = true;
			w->status = decode_status(st);
		}
	}
}

/* Signal the workload's process group (it is its own session leader), or it alone. */
static void signal_workload(const struct gi_work *w, int sig)
{
	if (kill(-w->pid, sig) < 0)
		kill(w->pid, sig);
}

/* SIGTERM now, SIGKILL after GI_SHUTDOWN_GRACE_MS (supervise() does that). */
static void stop_workload(struct gi_work *w)
{
	w->stopping = true;
	w->deadline_ms = now_ms() + GI_SHUTDOWN_GRACE_MS;
	signal_workload(w, SIGTERM);
}

/* The ACPI power button: the host asks for a clean shutdown. */
static void on_power_button(struct gi_work *w, int afd)
{
	int n = gi_acpi_event_read(afd);

	if (n < 0)
		gi_info("acpi_event socket: %s", strerror(-n));
	if (n <= 0 || w->stopping)
		return;
	gi_info("power button: stopping the workload");
	stop_workload(w);
}

static void on_signal(struct gi_work *w, int sig)
{
	size_t i;

	if (sig == SIGCHLD) {
		reap(w);
		return;
	}
	for (i = 0; i < GI_ARRAY_SIZE(gi_forwarded); i++) {
		if (sig == gi_forwarded[i]) {
			signal_workload(w, sig);
			return;
		}
	}
	if (w->stopping)
		return;
	gi_info("signal %d: stopping the workload", sig);
	stop_workload(w);
}

/* Fork a handler for each exec session waiting on (lfd), as far as there are free slots. */
static void accept_execs(int lfd, int sfd, int afd)
{
	for (;;) {
		size_t slot = GI_ARRAY_SIZE(exec_pids);
		int fd = gi_session_accept(lfd);
		pid_t pid;

		if (fd == -EAGAIN)
			return;
		if (fd < 0) {
			gi_info("exec: accept: %s", strerror(-fd));
			return;
		}
		for (size_t i = 0; i < GI_ARRAY_SIZE(exec_pids); i++)
			if (!exec_pids[i])
				slot = i;
		if (slot == GI_ARRAY_SIZE(exec_pids)) {
			gi_info("exec: %d sessions already: one refused", GI_SESSION_MAX_EXEC);
			close(fd);
			continue;
		}
		pid = fork();
		if (pid == 0) {
			close(sfd);
			close(afd);
			close(lfd);
			gi_session_serve(fd, false);
		}
		if (pid < 0)
			gi_info("exec: fork: %s", strerror(errno));
		else
			exec_pids[slot] = pid;
		close(fd);
	}
}

/*
 * Wait for the workload, serving signals, the power button (afd) and exec
 * sessions (lfd, or -1), until it has exited.
 */
static void supervise(struct gi_work *w, int sfd, int afd, int lfd)
{
	struct signalfd_siginfo si;
	struct pollfd pfd[3] = { { .fd = sfd, .events = POLLIN }, { .fd = afd, .events = POLLIN },
				 { .fd = w->stopping ? -1 : lfd, .events = POLLIN } };
	long long left;
	int timeout;

	reap(w);
	while (!w->exited) {
		timeout = -1;
		if (w->stopping && !w->killed) {
			left = w->deadline_ms - now_ms();
			if (left <= 0) {
				gi_info("workload ignored SIGTERM: SIGKILL");
				w->killed = true;
				signal_workload(w, SIGKILL);
				continue;
			}
			timeout = (int)left;
		}
		/* without a signalfd (it failed to open) poll the children slowly */
		if (sfd < 0 && (timeout < 0 || timeout > 10))
			timeout = 10;
		pfd[2].fd = w->stopping ? -1 : lfd; /* no new sessions once stopping */
		poll(pfd, 3, timeout);
		while (sfd >= 0 && read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
			on_signal(w, (int)si.ssi_signo);
		if (pfd[1].revents)
			on_power_button(w, afd);
		if (pfd[2].revents)
			accept_execs(lfd, sfd, afd);
		reap(w);
	}
}

/* Wait up to (ms) for every remaining child to go. Return: true if they did. */
static bool wait_children(int sfd, int ms)
{
	struct signalfd_siginfo si;
	struct pollfd pfd = { .fd = sfd, .events = POLLIN };
	long long end = now_ms() + ms;

	while (!reap(NULL)) {
		long long left = end - now_ms();

		if (left <= 0)
			return false;
		if (sfd < 0)
			usleep(10000);
		else if (poll(&pfd, 1, (int)left) > 0)
			while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
				;
	}
	return true;
}

/* End of the VM: stop everything, sync, unmount, report (status). Never returns. */
static __attribute__((noreturn)) void finish(int status, int sfd)
{
	/* our cwd may be a share (the workload's workdir): it would stay busy */
	if (chdir("/") < 0)
		gi_info("chdir /: %s", strerror(errno));
	if (kill(-1, SIGTERM) == 0 && !wait_children(sfd, GI_REAP_GRACE_MS)) {
		kill(-1, SIGKILL);
		wait_children(sfd, GI_REAP_GRACE_MS);
	}
	sync();
	gi_mount_teardown();
	sync();
	gi_report_exit(status);
}

/* Read /proc/cmdline into a malloc'd buffer; NULL on failure (printed). */
static char *read_cmdline(size_t *len)
{
	char *buf = malloc(GI_CMDLINE_BUF);
	ssize_t n;
	int fd;

	*len = 0;
	fd = open(GI_CMDLINE_PATH, O_RDONLY | O_CLOEXEC);
	if (!buf || fd < 0) {
		gi_err("%s: %s", GI_CMDLINE_PATH, strerror(buf ? errno : ENOMEM));
		goto err;
	}
	while ((n = read(fd, buf + *len, GI_CMDLINE_BUF - *len)) > 0)
		*len += (size_t)n;
	close(fd);
	return buf;
err:
	if (fd >= 0)
		close(fd);
	free(buf);
	return NULL;
}

/*
 * The workload's environment, from scratch: PATH, HOME, TERM, the proxy
 * variables with agentvmm.egress, then agentvmm.env (which may override them).
 * Every session inherits it, under its own e: items.
 */
static int set_environment(const struct gi_cmdline *cl)
{
	size_t i;

	if (clearenv() || setenv("PATH", GI_PATH, 1) || setenv("HOME", GI_HOME, 1) ||
	    setenv("TERM", cl->cl_term ? cl->cl_term : GI_CMDLINE_DEFAULT_TERM, 1))
		return -ENOMEM;
	if (cl->cl_egress && gi_egress_setenv())
		return -ENOMEM;
	for (i = 0; i < cl->cl_envc; i++) {
		char *eq = strchr(cl->cl_env[i], '=');
		int ret;

		*eq = '\0';
		ret = setenv(cl->cl_env[i], eq + 1, 1);
		*eq = '=';
		if (ret)
			return -errno;
	}
	return 0;
}

static __attribute__((noreturn)) void exec_or_die(const char *file, char *const argv[])
{
	int e;

	execvp(file, argv);
	e = errno;
	dprintf(STDERR_FILENO, "agentvmm-init: %s: %s\n", file, strerror(e));
	_exit(e == ENOENT ? GI_STATUS_NOT_FOUND : GI_STATUS_EXEC_FAILED);
}

/* Command mode: argv with stdin /dev/null, stdout/stderr on the raw console. */
static pid_t start_command(const struct gi_cmdline *cl)
{
	int out, in;
	pid_t pid;

	in = open("/dev/null", O_RDONLY | O_CLOEXEC);
	out = gi_console_open_raw();
	if (in < 0 || out < 0) {
		gi_err("cannot open the console or /dev/null: %s",
		       strerror(out < 0 ? -out : errno));
		return -1;
	}
	gi_bootmark(GI_BOOTMARK_WORKLOAD_STARTED);
	pid = fork();
	if (pid == 0) {
		gi_child_signals_reset();
		setsid();
		if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
			_exit(GI_STATUS_INIT_FAILED);
		exec_or_die(cl->cl_argv[0], cl->cl_argv);
	}
	close(in);
	close(out);
	return pid;
}

/*
 * Session mode: the job, stdin, stdout and stderr come over vsock (session.h);
 * the handler process is the workload PID 1 supervises. Exec sessions are
 * served on (*lfd) from then on. Return: the handler's pid, or -1 (printed).
 */
static pid_t start_session(int sfd, int afd, int *lfd, bool await)
{
	int fd = gi_session_connect_job();
	pid_t pid;

	if (fd < 0) {
		gi_err("cannot reach agentvmm over vsock for the job: %s (the kernel needs "
		       "vsock and vmw_vsock_virtio_transport)", strerror(-fd));
		return -1;
	}
	*lfd = gi_session_listen();
	if (*lfd < 0)
		gi_info("no exec service: vsock port %d: %s", AVS_PORT_EXEC, strerror(-*lfd));
	gi_bootmark(GI_BOOTMARK_WORKLOAD_STARTED);
	pid = fork();
	if (pid == 0) {
		close(sfd);
		close(afd);
		if (*lfd >= 0)
			close(*lfd);
		gi_session_serve(fd, await);
	}
	close(fd);
	return pid;
}

/*
 * agentvmm.egress: listen on 127.0.0.1:GI_EGRESS_PORT here, so a connection
 * made by the workload's first command already queues, and fork the
 * forwarder (egress.h) on it. It is nobody's workload: PID 1 only reaps it,
 * and the final kill(-1, SIGTERM) ends it. A failure is printed; the VM goes
 * on without (the job sees "connection refused").
 */
static void start_egress(int sfd)
{
	int lfd = gi_egress_listen(GI_EGRESS_PORT);
	pid_t pid;

	if (lfd < 0) {
		gi_err("egress: cannot listen on 127.0.0.1:%d: %s (no egress proxy)",
		       GI_EGRESS_PORT, strerror(-lfd));
		return;
	}
	pid = fork();
	if (pid == 0) {
		gi_child_signals_reset();
		if (sfd >= 0)
			close(sfd);
		setsid(); /* out of PID 1's process group and session */
		if (chdir("/") < 0)
			_exit(GI_STATUS_INIT_FAILED);
		lfd = gi_egress_serve(lfd, gi_egress_connect_host, NULL);
		gi_err("egress: forwarder stopped: %s", strerror(-lfd));
		_exit(GI_STATUS_INIT_FAILED);
	}
	if (pid < 0)
		gi_err("egress: fork: %s (no egress proxy)", strerror(errno));
	else
		gi_info("egress: 127.0.0.1:%d -> host vsock port %d (pid %d)", GI_EGRESS_PORT,
			AVS_PORT_EGRESS, (int)pid);
	close(lfd);
}

/* Interactive mode: a login shell with the console as its controlling terminal. */
static pid_t start_shell(bool in_workdir)
{
	char arg0[] = "-sh";
	char *const argv[] = { arg0, NULL };
	pid_t pid;
	int ret;

	gi_bootmark(GI_BOOTMARK_WORKLOAD_STARTED);
	pid = fork();
	if (pid == 0) {
		gi_child_signals_reset();
		setsid();
		ret = gi_console_open_ctty();
		if (ret)
			dprintf(STDERR_FILENO, "agentvmm-init: console: %s\n", strerror(-ret));
		if (!in_workdir && chdir(GI_HOME) < 0 && chdir("/") < 0)
			_exit(GI_STATUS_INIT_FAILED);
		execv(GI_SHELL, argv);
		ret = errno;
		dprintf(STDERR_FILENO, "agentvmm-init: %s: %s\n", GI_SHELL, strerror(ret));
		_exit(ret == ENOENT ? GI_STATUS_NOT_FOUND : GI_STATUS_EXEC_FAILED);
	}
	return pid;
}

/*
 * Hand PID 1 to the system's init (handoff.h). Returns never: either the
 * init runs, or the VM ends with 127 (missing) or 126 (not executable).
 */
static __attribute__((noreturn)) void handoff(const char *init, int sfd)
{
	char resolved[PATH_MAX];
	int ret, n;

	ret = gi_handoff_check(init, resolved, sizeof(resolved));
	if (ret) {
		gi_err("init %s%s%s: %s", init, strcmp(init, resolved) ? " -> " : "",
		       strcmp(init, resolved) ? resolved : "",
		       ret == -EACCES ? "not an executable file" : strerror(-ret));
		finish(ret == -ENOENT || ret == -ENOTDIR ? GI_STATUS_NOT_FOUND :
			   GI_STATUS_EXEC_FAILED, sfd);
	}
	n = gi_handoff_mark_mounts();
	if (n < 0)
		gi_err("%s: %s (a system init may try to unmount the shares)", GI_UTAB_PATH,
		       strerror(-n));
	gi_info("handing PID 1 to %s (%d mounts marked x-initrd.mount)", resolved, n);
	gi_bootmark(GI_BOOTMARK_WORKLOAD_STARTED);
	if (sfd >= 0)
		close(sfd);
	ret = gi_handoff_exec(init);
	gi_report_init();	/* given up for the init: take the exit port back */
	gi_err("init %s: %s", init, strerror(-ret));
	finish(ret == -ENOENT ? GI_STATUS_NOT_FOUND : GI_STATUS_EXEC_FAILED, -1);
}

/*
 * agentvmm.template: nothing loaded yet; write the template mark and, in a
 * VM restored from the template, replace (cl) by the configuration the host
 * gives this VM (restore.h), then reseed, set the clock and find its devices.
 */
static void take_restore_config(struct gi_cmdline *cl, int sfd)
{
	char err[256], *text = NULL;
	size_t len = 0;
	int ret;

	/*
	 * every device's driver, before the mark: no device is there to bind,
	 * so a restore only rescans PCI and loads nothing (docs/snapshot.md)
	 */
	if (gi_modules_load(GI_MODULES_LIST, GI_MODULES_DIR))
		gi_info("template: some modules did not load");
	gi_info("template: ready");
	ret = gi_restore_wait(&text, &len);
	if (ret) {
		gi_err("template: no configuration from the host: %s", strerror(-ret));
		finish(GI_STATUS_INIT_FAILED, sfd);
	}
	gi_cmdline_fini(cl);
	ret = gi_cmdline_parse(text, len, cl, err, sizeof(err));
	free(text);
	gi_set_verbose(cl->cl_verbose);
	if (ret) {
		gi_err("bad restore configuration: %s", err);
		finish(GI_STATUS_USAGE, sfd);
	}
	if (cl->cl_template) {
		gi_err("bad restore configuration: agentvmm.template in it");
		finish(GI_STATUS_USAGE, sfd);
	}
	if (gi_restore_apply(cl))
		finish(GI_STATUS_SETUP_FAILED, sfd);
	gi_info("restored from a template");
}

int main(int argc, char **argv)
{
	struct gi_work w = { .pid = -1 };
	struct gi_cmdline cl;
	char err[256], *text;
	sigset_t set;
	size_t len;
	int sfd, afd, lfd = -1, ret;
	bool restored;

	gi_report_init();
	gi_bootmark(GI_BOOTMARK_INIT_STARTED);
	umask(022);
	gi_mount_early();
	gi_console_stdio();
	sfd = signals_setup(&set);

	text = read_cmdline(&len);
	if (!text)
		finish(GI_STATUS_INIT_FAILED, sfd);
	ret = gi_cmdline_parse(text, len, &cl, err, sizeof(err));
	free(text);
	gi_set_verbose(cl.cl_verbose);
	if (ret) {
		gi_err("bad kernel command line: %s", err);
		finish(GI_STATUS_USAGE, sfd);
	}
	restored = cl.cl_template;
	if (restored)
		take_restore_config(&cl, sfd);
	gi_info("started; %s mode", cl.cl_session ? "session" : cl.cl_command ? "command" :
		"interactive");
	if (sfd < 0)
		gi_err("signalfd: %s (signals will not be forwarded)", strerror(errno));
	/* a restored VM: its template loaded every module before the mark; none here */
	if (restored && cl.cl_has_reporting_order)
		gi_reporting_order_set((int)cl.cl_reporting_order);
	else if (!restored && gi_modules_load(GI_MODULES_LIST, GI_MODULES_DIR))
		gi_info("some modules did not load");
	if (cl.cl_init_ignored)
		gi_info("init= ignored: a command was given");
	/*
	 * A shared /usr: the host's programs run in a root built around it. A
	 * system init to hand off to gets a fresh tmpfs root, as stage 1 gives it.
	 */
	bool usr = gi_shares_need_root(cl.cl_shares, cl.cl_nshares);
	if ((usr || cl.cl_init) && gi_root_switch(usr))
		finish(GI_STATUS_INIT_FAILED, sfd);
	/* what the host asked for and cannot be had: say so, end with 123 (report.h) */
	if (gi_disks_mount(cl.cl_disks, cl.cl_ndisks)) {
		gi_err("cannot mount the disks");
		finish(GI_STATUS_SETUP_FAILED, sfd);
	}
	if (gi_pmem_mount(cl.cl_pmem, cl.cl_npmem)) {
		gi_err("cannot mount the pmem devices");
		finish(GI_STATUS_SETUP_FAILED, sfd);
	}
	if (gi_shares_mount(cl.cl_shares, cl.cl_nshares, usr)) {
		gi_err("cannot mount the shares");
		finish(GI_STATUS_SETUP_FAILED, sfd);
	}
	/*
	 * After the root switch, so /etc/resolv.conf lands in the final root.
	 * lo always, NIC or not: the egress forwarder and the workload's own
	 * servers need 127.0.0.1 (lo failing is only printed).
	 */
	if (gi_net_setup(cl.cl_nets, cl.cl_nnets) && cl.cl_nnets) {
		gi_err("cannot set up the network");
		finish(GI_STATUS_SETUP_FAILED, sfd);
	}
	if (cl.cl_egress)
		start_egress(sfd);
	if (set_environment(&cl)) {
		gi_err("cannot set up the environment");
		finish(GI_STATUS_INIT_FAILED, sfd);
	}
	/* the workload starts in the first rw share, its workspace, if there is one */
	const char *workdir = gi_shares_workdir(cl.cl_shares, cl.cl_nshares);
	if (chdir(workdir ? workdir : "/") < 0) {
		gi_info("chdir %s: %s", workdir ? workdir : "/", strerror(errno));
		workdir = NULL;
	}
	if (cl.cl_init)
		handoff(cl.cl_init, sfd);
	/* after the modules: button.ko turns the PNP0C0C notify into the event */
	afd = gi_acpi_event_open();
	if (afd < 0)
		gi_info("no ACPI power button events: %s", strerror(-afd));
	if ((cl.cl_command || cl.cl_session) && !cl.cl_verbose)
		gi_console_quiet_kernel();
	if (cl.cl_session)
		w.pid = start_session(sfd, afd, &lfd, cl.cl_session_await);
	else
		w.pid = cl.cl_command ? start_command(&cl) : start_shell(workdir != NULL);
	if (w.pid < 0) {
		gi_err("cannot start the workload: %s", strerror(errno));
		finish(GI_STATUS_INIT_FAILED, sfd);
	}
	supervise(&w, sfd, afd, lfd);
	gi_bootmark(GI_BOOTMARK_WORKLOAD_DONE);
	gi_cmdline_fini(&cl);
	finish(w.status, sfd);
}
