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
 *
 * A VM awaiting its job (avm_config_await_job()) prepares no job and claims
 * no stdin: its session thread waits for vm_session_job() (avm_start_job()),
 * which hands it the job and the caller's fds; guest-init meanwhile waits on
 * its connection for the SPEC frame, without the usual time limit
 * (agentvmm.session=await). vm_session_signal() queues signals for the job in
 * a pipe the relay reads as it reads a signalfd (whole signalfd_siginfo
 * records).
 */
#include "vmm/vm.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
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

#include "agentvmm.h"
#include "devices/virtio/virtio_vsock.h"
#include "vmm/exec_client.h"
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
	/* awaiting the job (cfg->await_job): the fields below, under (lock) */
	bool await;
	pthread_mutex_t lock;
	int job_efd;            /* readable once the job is in spec/in_fd/out_fd/err_fd */
	int sig_rd, sig_wr;     /* the job's signals, signalfd_siginfo records */
	bool job_given;         /* vm_session_job() succeeded */
	bool running;           /* the relay runs the job */
	bool ended;             /* the thread is finishing: no job, no signal any more */
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
	s->job_efd = s->sig_rd = s->sig_wr = -1;
	pthread_mutex_init(&s->lock, NULL);
	if (cfg->await_job) {
		int p[2];

		s->await = true;
		s->job_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (s->job_efd < 0 || pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0)
			goto host_fail;
		s->sig_rd = p[0];
		s->sig_wr = p[1];
	} else if (__atomic_compare_exchange_n(&session_stdin_claimed, &expected, 1, false,
					__ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
		s->in_fd = STDIN_FILENO;
		s->tty = isatty(STDIN_FILENO);
	} else {
		log_info("stdin belongs to another VM of this process: the command's is empty");
	}
	r = s->await ? 0 : build_spec(s, cfg, err, errlen);
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
	if (s->await)
		return 0;
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

/* Awaiting the job: wait for vm_session_job() or the stop. Return: true with a job. */
static bool await_job(struct vm_session *s)
{
	struct pollfd p[2] = { { .fd = s->job_efd, .events = POLLIN },
			       { .fd = s->stop_efd, .events = POLLIN } };
	bool go;

	while (poll(p, 2, -1) < 0)
		if (errno != EINTR)
			return false;
	pthread_mutex_lock(&s->lock);
	go = s->job_given && !(p[1].revents & POLLIN);
	s->running = go;
	s->ended = !go;
	pthread_mutex_unlock(&s->lock);
	return go;
}

static void *session_thread(void *arg)
{
	struct vm_session *s = arg;
	struct vm *vm = s->vm;
	struct avs_relay r = { .sock = s->fd, .stop_fd = s->stop_efd, .sig_fd = -1,
			       .on_quit = on_quit, .opaque = vm };
	sigset_t set;

	log_limit_bind(&vm->log_limit); /* this VM's guest-log rate limit (vmm/log.h) */
	if (!s->await && s->tty) {
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
	if (s->await) {
		if (!await_job(s)) {
			s->result = -ECANCELED;
			goto out;
		}
		r.sig_fd = s->sig_rd;
	}
	/* the job's fields are set for good now (before job_efd was written) */
	r.in_fd = s->in_fd;
	r.out_fd = s->out_fd;
	r.err_fd = s->err_fd;
	r.spec = s->spec;
	r.spec_len = s->spec_len;
	r.tty = s->tty;
	r.escape = s->tty && !s->await; /* Ctrl-A x: the agentvmm CLI's keyboard only */
	s->result = avs_relay_run(&r, &s->status);
	if (!s->result)
		log_dbg("session: the command exited with status %d", s->status);
	else if (s->result != -ECANCELED && s->result != -EINTR)
		log_info("session: %s", s->result == -EPIPE ? "the guest ended it before the "
			 "command's exit status" : s->result == -EPROTO ? "protocol error from "
			 "the guest" : strerror(-s->result));
out:
	pthread_mutex_lock(&s->lock);
	s->running = false;
	s->ended = true;
	pthread_mutex_unlock(&s->lock);
	if (r.sig_fd >= 0 && r.sig_fd != s->sig_rd)
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

/* A private copy of the caller's (fd) for the relay: -1 stays -1. */
static int job_fd_copy(int fd, bool output)
{
	int r;

	if (fd < 0)
		return -1;
	r = output ? avs_prepare_output(fd) : fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (r < 0 && !output)
		r = -errno;
	return r;
}

int vm_session_job(struct vm *vm, const struct avm_exec_opts *o, char *msg, size_t msglen)
{
	struct vm_session *s = vm->session;
	struct avs_spec_in in;
	int fds[3] = { -1, -1, -1 };
	uint64_t one = 1;
	uint8_t *spec = NULL;
	size_t spec_len = 0;
	char *groups;
	int r;

	if (!s || !s->await) {
		snprintf(msg, msglen, "this VM was not created to await its job");
		return -EINVAL;
	}
	r = exec_opts_spec(o, &in, &groups);
	if (r) {
		snprintf(msg, msglen, "%s", r == -ENOMEM ? "out of memory" :
			 "bad job: a negative count or a NULL array");
		return r;
	}
	r = avs_spec_build(&in, &spec, &spec_len, msg, msglen);
	free(groups);
	if (r)
		return r == -E2BIG ? -EINVAL : r;
	fds[0] = job_fd_copy(o->in_fd, false);
	fds[1] = job_fd_copy(o->out_fd, true);
	fds[2] = job_fd_copy(o->err_fd, true);
	for (int i = 0; i < 3; i++) {
		if (fds[i] < -1) {
			/* a closed output is dropped (as avm_exec does); a bad stdin is an error */
			if (i == 0) {
				r = fds[i];
				snprintf(msg, msglen, "stdin: %s", strerror(-r));
				goto fail;
			}
			fds[i] = -1;
		}
	}
	pthread_mutex_lock(&s->lock);
	if (s->job_given || s->ended) {
		r = s->job_given ? -EBUSY : -ESRCH;
		pthread_mutex_unlock(&s->lock);
		snprintf(msg, msglen, "%s", r == -EBUSY ? "the VM has its job already" :
			 "the VM has stopped");
		goto fail;
	}
	s->spec = spec;
	s->spec_len = spec_len;
	s->in_fd = fds[0];
	s->out_fd = fds[1];
	s->err_fd = fds[2];
	s->tty = o->tty;
	s->job_given = true;
	pthread_mutex_unlock(&s->lock);
	if (write(s->job_efd, &one, sizeof(one)) < 0)
		log_warn("session: cannot wake its thread: %s", strerror(errno));
	return 0;
fail:
	for (int i = 0; i < 3; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	free(spec);
	return r;
}

int vm_session_signal(struct vm *vm, int signo, char *msg, size_t msglen)
{
	struct vm_session *s = vm->session;
	struct signalfd_siginfo si = { .ssi_signo = (uint32_t)signo };
	ssize_t n;
	int r = 0;

	if (signo < 1 || signo > 64) {
		snprintf(msg, msglen, "signal %d: not 1 to 64", signo);
		return -EINVAL;
	}
	if (!s || !s->await) {
		snprintf(msg, msglen, "this VM was not created to await its job");
		return -ESRCH;
	}
	pthread_mutex_lock(&s->lock);
	if (!s->job_given || s->ended) {
		/* queued from avm_start_job() on: the relay reads them once it runs */
		r = -ESRCH;
		snprintf(msg, msglen, "the job is not running");
	} else {
		/* one record, far below PIPE_BUF: written whole or not at all */
		n = write(s->sig_wr, &si, sizeof(si));
		if (n != (ssize_t)sizeof(si)) {
			r = n < 0 && errno != EAGAIN ? -errno : -EAGAIN;
			snprintf(msg, msglen, "cannot queue the signal: %s", strerror(-r));
		}
	}
	pthread_mutex_unlock(&s->lock);
	return r;
}

void vm_session_destroy(struct vm *vm)
{
	struct vm_session *s = vm->session;

	if (!s)
		return;
	vm_session_stop(vm);
	/* in_fd is the process's stdin (not ours to close), or the awaited job's dup */
	int fds[] = { s->fd, s->job_fd, s->stop_efd, s->out_fd, s->err_fd, s->job_efd,
		      s->sig_rd, s->sig_wr, s->await ? s->in_fd : -1 };

	for (size_t i = 0; i < ARRAY_SIZE(fds); i++)
		if (fds[i] >= 0)
			close(fds[i]);
	if (s->in_fd >= 0 && !s->await)
		__atomic_store_n(&session_stdin_claimed, 0, __ATOMIC_RELEASE);
	pthread_mutex_destroy(&s->lock);
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
