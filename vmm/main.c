// SPDX-License-Identifier: MIT
/*
 * main.c: the agentvmm command line, a thin program over libagentvmm
 * (include/agentvmm.h only); the only file that calls exit(). It owns the
 * process's signals: SIGINT, SIGTERM and SIGHUP press the guest's power button
 * (avm_signal: forced with 128 + N after --shutdown-timeout, or at a second
 * signal); SIGQUIT stops at once; SIGPIPE is ignored (blocked) so a closed
 * stdout is EPIPE.
 */
#include <agentvmm.h>

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

/* Block the stop signals (read through a signalfd) before any thread exists. */
static int signals_setup(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGQUIT);
	sigaddset(&set, SIGPIPE);
	sigaddset(&set, SIGWINCH); /* read by the session thread (a guest tty's size) */
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -1;
	sigdelset(&set, SIGPIPE);
	sigdelset(&set, SIGWINCH);
	return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

static void die(int status, const char *msg)
{
	fprintf(stderr, "agentvmm: %s\n", msg);
	exit(status);
}

/* Serve signals until the VM stops; return its exit status. */
static int run(struct avm *vm, int sig_fd)
{
	int status;

	for (;;) {
		struct pollfd p[2] = {
			{ .fd = avm_wait_fd(vm), .events = POLLIN },
			{ .fd = sig_fd, .events = POLLIN },
		};
		struct signalfd_siginfo si;

		if (avm_wait(vm, 0, &status) == 0)
			return status;
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			die(1, "poll failed");
		/* SIGTERM, SIGINT, SIGHUP: power button, forced after --shutdown-timeout */
		while (read(sig_fd, &si, sizeof(si)) == sizeof(si))
			avm_signal(vm, (int)si.ssi_signo);
	}
}

/*
 * agentvmm template [VM options] --out FILE | --api-socket SOCK: the same
 * options as a VM, with the option "template" and --out (before any "--")
 * passed on as the option "template-out".
 * Return: the new argv (argv[0], "--template", then the rest without
 * "template"), or NULL.
 */
static char template_flag[] = "--template";
static char template_out_flag[] = "--template-out";

static char **template_args(int argc, char **argv, int *nargc, bool *has_out)
{
	char **a = calloc((size_t)argc + 2, sizeof(*a));
	int n = 0;
	bool opts = true;

	if (!a)
		return NULL;
	a[n++] = argv[0];
	a[n++] = template_flag;
	for (int i = 2; i < argc; i++) {
		if (opts && !strcmp(argv[i], "--"))
			opts = false;
		/* held for "agentvmm ctl SOCK snapshot PATH" instead of --out */
		if (opts && (!strcmp(argv[i], "--out") || !strncmp(argv[i], "--out=", 6) ||
			     !strncmp(argv[i], "--template-out", 14) ||
			     !strncmp(argv[i], "--api-socket", 12)))
			*has_out = true;
		if (opts && !strcmp(argv[i], "--out"))
			a[n++] = template_out_flag;
		else if (opts && !strncmp(argv[i], "--out=", 6) &&
			 asprintf(&a[n], "--template-out=%s", argv[i] + 6) > 0)
			n++;
		else
			a[n++] = argv[i];
	}
	*nargc = n;
	return a;
}

int main(int argc, char **argv)
{
	struct avm_config *cfg = avm_config_new();
	enum avm_args_action action;
	struct avm_error err;
	struct avm *vm;
	int sig_fd, status;
	bool template = false, has_out = false;

	if (argc > 1 && !strcmp(argv[1], "ctl"))
		exit(avm_ctl_client(argc - 1, argv + 1));
	if (argc > 1 && !strcmp(argv[1], "exec"))
		exit(avm_exec_client(argc - 1, argv + 1));
	if (!cfg)
		die(AVM_STATUS_HOST_FAILURE, "out of memory");
	if (argc > 1 && !strcmp(argv[1], "template")) {
		/* a VM like any other, stopped at the guest's ready mark (docs/snapshot.md) */
		template = true;
		argv = template_args(argc, argv, &argc, &has_out);
		if (!argv)
			die(AVM_STATUS_HOST_FAILURE, "out of memory");
	}
	if (avm_config_parse_args(cfg, argc, argv, &action, &err))
		die(err.code == -ENOMEM ? AVM_STATUS_HOST_FAILURE : AVM_STATUS_USAGE, err.msg);
	if (template && action == AVM_ARGS_RUN && !has_out)
		die(AVM_STATUS_USAGE, "agentvmm template: --out FILE or --api-socket SOCK (for "
		    "agentvmm ctl SOCK snapshot FILE) is required");
	if (action == AVM_ARGS_HELP) {
		fputs(avm_usage(), stdout);
		exit(0);
	}
	if (action == AVM_ARGS_VERSION) {
		printf("agentvmm %s\n", avm_version());
		exit(0);
	}
	if (avm_config_verbose(cfg))
		avm_set_log_level(avm_config_verbose(cfg) > 1 ? 3 : 2);
	sig_fd = signals_setup();
	if (sig_fd < 0)
		die(AVM_STATUS_HOST_FAILURE, "cannot set up signal handling");

	if (avm_create(cfg, &vm, &err)) {
		/* user-caused problems exit 2; resource failures on the host exit 1 */
		die(err.code == -ENOMEM || err.code == -EIO ? AVM_STATUS_HOST_FAILURE :
							       AVM_STATUS_USAGE, err.msg);
	}
	avm_config_free(cfg);
	if (avm_start(vm, &err)) {
		fprintf(stderr, "agentvmm: %s\n", err.msg);
		avm_wait(vm, -1, &status);
	} else {
		/* this thread too runs under a filter from here on (no-op with seccomp off) */
		if (avm_confine_caller(vm, &err))
			fprintf(stderr, "agentvmm: %s\n", err.msg);
		status = run(vm, sig_fd);
	}
	avm_destroy(vm);
	exit(status);
}
