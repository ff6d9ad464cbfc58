// SPDX-License-Identifier: MIT
/*
 * vm_session.c: the workload's session (docs/vsock.md "Sessions"): its job,
 * its stdin, stdout and stderr over virtio-vsock instead of the kernel
 * command line and the console, and exec sessions handed in by the control
 * socket. The protocol is guest-init/session_proto.h; the relay is
 * vmm/session.c, run here on a thread of its own.
 *
 *   prepare (setup, before /dev/kvm): the job (SPEC), a socketpair whose far
 *     end the vsock device gives to guest-init's connection to host port
 *     AVS_PORT_JOB, private non-blocking outputs for stdout and stderr, stdin
 *     (if this VM is the process's first to claim it) and, on a terminal, the
 *     tty mode with its window size and $TERM;
 *   start (vm_start): the session thread;
 *   stop (supervisor, once the vCPUs are gone): tell it to finish, join it.
 */
#include "vmm/vm.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include "devices/virtio/virtio_vsock.h"
#include "vmm/log.h"
#include "vmm/sandbox.h"
#include "vmm/session.h"

struct vm_session {
	struct vm *vm;
	int fd;                 /* our end of the job stream */
	int job_fd;             /* the device's end, until vm_open_vsock() takes it */
	int stop_efd;
	int in_fd, out_fd, err_fd;
	bool tty;
	uint8_t *spec;
	size_t spec_len;
	pthread_t thread;
	bool started;
	int result;             /* avs_relay_run()'s */
	int status;
};

/* The process has one stdin: the first session VM takes it, later ones get EOF. */
static int session_stdin_claimed;

static void on_quit(void *opaque)
{
	struct vm *vm = opaque;

	log_info("Ctrl-A x: stopping the VM");
	vm_request_stop(vm, VM_STOP_USER_QUIT, 0);
}

/* The job from the config: argv, --env, --cwd, --user, and a tty's size and TERM. */
static int build_spec(struct vm_session *s, const struct vm_config *cfg, char *err,
		      size_t errlen)
{
	const char *env[VM_MAX_ENV + 1];
	char term[256];
	struct winsize ws = { 0 };
	struct avs_spec_in in = { .argc = cfg->argc, .argv = (const char *const *)cfg->argv,
				  .cwd = cfg->cwd, .user = cfg->user, .tty = s->tty };
	bool has_term = false;
	int n = 0, r;

	for (unsigned i = 0; i < cfg->nr_env; i++) {
		env[n++] = cfg->env[i];
		has_term |= !strncmp(cfg->env[i], "TERM=", 5);
	}
	if (s->tty) {
		const char *t = getenv("TERM");

		if (!has_term && t && *t && strlen(t) < sizeof(term) - 5) {
			snprintf(term, sizeof(term), "TERM=%s", t);
			env[n++] = term;
		}
		if (ioctl(s->in_fd, TIOCGWINSZ, &ws) < 0 || !ws.ws_row || !ws.ws_col)
			ws = (struct winsize){ .ws_row = 24, .ws_col = 80 };
		in.rows = ws.ws_row;
		in.cols = ws.ws_col;
	}
	in.envc = n;
	in.env = env;
	r = avs_spec_build(&in, &s->spec, &s->spec_len, err, errlen);
	if (r == -EINVAL || r == -E2BIG) {
		char msg[256];

		snprintf(msg, sizeof(msg), "%s", err);
		snprintf(err, errlen, "the command: %s", msg);
		return -EINVAL;
	}
	return r;
}

int vm_session_prepare(struct vm *vm, char *err, size_t errlen)
{
	const struct vm_config *cfg = vm->cfg;
	struct vm_session *s;
	int sp[2], expected = 0, r;

	if (!config_session(cfg))
		return 0;
	s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	vm->session = s;
	s->vm = vm;
	s->fd = s->job_fd = s->stop_efd = s->in_fd = s->out_fd = s->err_fd = -1;
	if (__atomic_compare_exchange_n(&session_stdin_claimed, &expected, 1, false,
					__ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
		s->in_fd = STDIN_FILENO;
		s->tty = isatty(STDIN_FILENO);
	} else {
		log_info("stdin belongs to another VM of this process: the command's is empty");
	}
	r = build_spec(s, cfg, err, errlen);
	if (r)
		return r;
	/* each end its own open file: the device's non-blocking, ours the relay's business */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0)
		goto host_fail;
	s->fd = sp[0];
	s->job_fd = sp[1];
	s->stop_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (s->stop_efd < 0)
		goto host_fail;
	s->out_fd = avs_prepare_output(STDOUT_FILENO);
	s->err_fd = avs_prepare_output(STDERR_FILENO);
	if (s->out_fd < 0 || s->err_fd < 0) {
		/* no stdout or stderr at all (closed): the command's goes nowhere */
		log_dbg("session: stdout %d, stderr %d: output there is dropped", s->out_fd,
			s->err_fd);
	}
	return 0;
host_fail:
	r = -errno;
	snprintf(err, errlen, "session: %s", strerror(-r));
	return r;
}

int vm_session_take_job_fd(struct vm *vm)
{
	int fd;

	if (!vm->session)
		return -1;
	fd = vm->session->job_fd;
	vm->session->job_fd = -1;
	return fd;
}

static void *session_thread(void *arg)
{
	struct vm_session *s = arg;
	struct vm *vm = s->vm;
	struct avs_relay r = { .sock = s->fd, .in_fd = s->in_fd, .out_fd = s->out_fd,
			       .err_fd = s->err_fd, .spec = s->spec, .spec_len = s->spec_len,
			       .stop_fd = s->stop_efd, .sig_fd = -1, .tty = s->tty,
			       .escape = s->tty, .on_quit = on_quit, .opaque = vm };
	sigset_t set;

	log_limit_bind(&vm->log_limit); /* this VM's guest-log rate limit (vmm/log.h) */
	if (s->tty) {
		/* SIGWINCH: blocked in every thread (main.c, the VM's threads), read here */
		sigemptyset(&set);
		sigaddset(&set, SIGWINCH);
		r.sig_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	}
	if (sandbox_enter_thread(SANDBOX_MAIN, 0, -1) < 0) {
		vm_fail(vm, "cannot install the session thread's seccomp filter");
		s->result = -EPERM;
		goto out;
	}
	s->result = avs_relay_run(&r, &s->status);
	if (!s->result)
		log_dbg("session: the command exited with status %d", s->status);
	else if (s->result != -ECANCELED && s->result != -EINTR)
		log_info("session: %s", s->result == -EPIPE ? "the guest ended it before the "
			 "command's exit status" : s->result == -EPROTO ? "protocol error from "
			 "the guest" : strerror(-s->result));
out:
	if (r.sig_fd >= 0)
		close(r.sig_fd);
	return NULL;
}

int vm_session_start(struct vm *vm)
{
	struct vm_session *s = vm->session;
	int r;

	if (!s)
		return 0;
	r = -pthread_create(&s->thread, NULL, session_thread, s);
	s->started = !r;
	return r;
}

void vm_session_stop(struct vm *vm)
{
	struct vm_session *s = vm->session;
	uint64_t one = 1;

	if (!s || !s->started)
		return;
	if (write(s->stop_efd, &one, sizeof(one)) < 0)
		log_warn("session: cannot stop its thread: %s", strerror(errno));
	pthread_join(s->thread, NULL);
	s->started = false;
}

void vm_session_destroy(struct vm *vm)
{
	struct vm_session *s = vm->session;

	if (!s)
		return;
	vm_session_stop(vm);
	/* in_fd is the process's stdin: not ours to close */
	int fds[] = { s->fd, s->job_fd, s->stop_efd, s->out_fd, s->err_fd };

	for (size_t i = 0; i < ARRAY_SIZE(fds); i++)
		if (fds[i] >= 0)
			close(fds[i]);
	if (s->in_fd >= 0)
		__atomic_store_n(&session_stdin_claimed, 0, __ATOMIC_RELEASE);
	free(s->spec);
	free(s);
	vm->session = NULL;
}

int vm_session_exec(struct vm *vm, int fd, char *msg, size_t msglen)
{
	int r;

	if (!vm->vsock_dev || !vm->session) {
		close(fd);
		snprintf(msg, msglen, "this VM has no session (it needs a command after -- and "
			 "--stdio vsock)");
		return -ENOTSUP;
	}
	r = vsock_inject(vm->vsock_dev, fd, AVS_PORT_EXEC);
	if (r)
		snprintf(msg, msglen, "%s", r == -EAGAIN ? "too many exec sessions starting at once" :
			 strerror(-r));
	return r == -EAGAIN ? -EBUSY : r;
}
