// SPDX-License-Identifier: MIT
/*
 * vm_run.c: a created VM's life: start (I/O, vCPU and supervisor threads),
 * the console input and tty, pause/resume, stop, wait, and the exit status.
 */
#include "vmm/vm.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "vmm/console.h"
#include "vmm/ctl_vm.h"
#include "vmm/log.h"
#include "vmm/sandbox.h"
#include "vmm/session.h"
#include "vmm/snapshot.h"
#include "vmm/vm_power.h"
#include "vmm/vm_devices.h"

/*
 * Test aid: with AGENTVMM_TEST_BOOT_LOG=FILE in the environment, every VM
 * that was started and not ended by a host-side failure appends one line
 * "KIND REASON STATUS" to FILE, so a test run can show how many guests it
 * really ran (docs/testhost.md, "Counting guests"). Opened by vm_start()
 * before the sandbox forbids open(), written by the supervisor, closed by
 * vm_destroy().
 */
static void boot_log_open(struct vm *vm)
{
	const char *p = getenv("AGENTVMM_TEST_BOOT_LOG");

	if (p && *p && vm->boot_log_fd < 0)
		vm->boot_log_fd = open(p, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY,
				       0644);
}

static void boot_log_write(const struct vm *vm, int status)
{
	static const char *const reason[] = {
		[VM_STOP_STATUS] = "status", [VM_STOP_POWEROFF] = "poweroff",
		[VM_STOP_RESET] = "reset", [VM_STOP_PANIC] = "panic",
		[VM_STOP_SHUTDOWN] = "triple-fault", [VM_STOP_REQUEST] = "request",
		[VM_STOP_USER_QUIT] = "quit", [VM_STOP_TEMPLATE] = "template",
	};
	char line[64];
	int n;

	if (vm->boot_log_fd < 0 || (size_t)vm->stop_reason >= ARRAY_SIZE(reason) ||
	    !reason[vm->stop_reason])
		return;
	n = snprintf(line, sizeof(line), "%s %s %d\n",
		     vm->boot.kind == BOOT_KIND_PVH ? "pvh" :
		     vm->boot.kind == BOOT_KIND_BZIMAGE ? "bzimage" : "raw",
		     reason[vm->stop_reason], status);
	/* one write of a short line to an O_APPEND file: lines never interleave */
	if (n > 0 && write(vm->boot_log_fd, line, (size_t)n) < 0)
		log_dbg("AGENTVMM_TEST_BOOT_LOG: %s", strerror(errno));
}

static void vm_tty_raw(struct vm *vm)
{
	struct termios t;

	if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &vm->tty_saved) < 0)
		return;
	t = vm->tty_saved;
	cfmakeraw(&t);
	if (tcsetattr(STDIN_FILENO, TCSANOW, &t) == 0)
		vm->tty_raw = true;
}

void vm_tty_restore(struct vm *vm)
{
	if (vm->tty_raw) {
		tcsetattr(STDIN_FILENO, TCSANOW, &vm->tty_saved);
		vm->tty_raw = false;
	}
}

/* Host keyboard → COM1; Ctrl-A x quits, Ctrl-A Ctrl-A sends one Ctrl-A (avs_escape_feed()). */
static bool vm_console_in(struct vm *vm, bool *escape)
{
	uint8_t buf[256];
	ssize_t r = read(STDIN_FILENO, buf, sizeof(buf));
	size_t n;
	bool quit;

	if (r <= 0)
		return r < 0 && (errno == EINTR || errno == EAGAIN);
	n = avs_escape_feed(escape, buf, (size_t)r, buf, &quit);
	if (quit)
		vm_request_stop(vm, VM_STOP_USER_QUIT, 0);
	if (n)
		uart_receive(&vm->com1, buf, n);
	return true;
}

/*
 * The vCPUs are gone: what the console still holds (a slow reader) gets
 * CON_DRAIN_MS when the guest ended itself, so its last lines are not lost,
 * and one non-blocking try when agentvmm was told to stop; then it is dropped.
 */
static void vm_console_drain(struct vm *vm)
{
	bool own_end = vm->stop_reason != VM_STOP_REQUEST && vm->stop_reason != VM_STOP_USER_QUIT &&
		       vm->stop_reason != VM_STOP_FAILURE;

	con_out_drain(vm->con, own_end ? CON_DRAIN_MS : 0);
}

/* Status agentvmm exits with, per docs/architecture.md "Exit status". */
static int vm_exit_status(struct vm *vm)
{
	switch (vm->stop_reason) {
	case VM_STOP_STATUS:
		return vm_guest_status(vm->stop_status);
	case VM_STOP_POWEROFF:
	case VM_STOP_RESET:
		if (vm->reported_status >= 0)
			return vm_guest_status(vm->reported_status);
		log_info("guest %s", vm->stop_reason == VM_STOP_RESET ? "rebooted" : "powered off");
		return 0;
	case VM_STOP_PANIC:
		log_err("guest kernel panic");
		return VM_STATUS_GUEST_CRASH;
	case VM_STOP_SHUTDOWN:
		log_err("guest triple fault (CPU shutdown)");
		return VM_STATUS_GUEST_CRASH;
	case VM_STOP_REQUEST:
		if (vm->stop_status > 128 && vm->stop_status < 128 + 65)
			log_info("stopped by signal %d", vm->stop_status - 128);
		else
			log_info("stopped on request, status %d", vm->stop_status);
		return vm->stop_status;
	case VM_STOP_USER_QUIT:
		return 0;
	case VM_STOP_TEMPLATE:
		return vm->stop_status; /* 0: written; 1: it failed (logged) */
	case VM_STOP_FAILURE:
	default:
		return VM_STATUS_HOST_FAILURE;
	}
}

/* Supervisor thread: console input until the stop, then join the vCPUs and publish the status. */
static void *vm_supervise(void *arg)
{
	struct vm *vm = arg;
	bool escape = false, stdin_open = vm->interactive;
	uint64_t one = 1;
	int status;

	log_limit_bind(&vm->log_limit); /* this VM's guest-log rate limit (vmm/log.h) */
	/* created last: no thread inherits this filter */
	if (sandbox_enter_thread_opts(SANDBOX_MAIN, 0, -1,
				      vm->cfg->template ? SANDBOX_OPT_TEMPLATE : 0) < 0)
		vm_fail(vm, "cannot install the supervisor's seccomp filter");
	while (__atomic_load_n(&vm->stop_reason, __ATOMIC_ACQUIRE) == VM_RUNNING) {
		struct pollfd p[3] = {
			{ .fd = vm->stop_efd, .events = POLLIN },
			{ .fd = stdin_open ? STDIN_FILENO : -1, .events = POLLIN },
			{ .fd = vm->power_efd, .events = POLLIN },
		};
		uint64_t drain;

		if (poll(p, 3, vm_power_poll_timeout(vm)) < 0 && errno != EINTR) {
			vm_fail(vm, "poll: %s", strerror(errno));
			break;
		}
		if (p[1].revents & (POLLIN | POLLHUP | POLLERR))
			stdin_open = vm_console_in(vm, &escape);
		if (p[2].revents & POLLIN && read(vm->power_efd, &drain, sizeof(drain)) < 0)
			log_dbg("power eventfd: %s", strerror(errno));
		vm_power_tick(vm);
	}
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		vcpu_kick(&vm->vcpus[i]);
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		vcpu_join(&vm->vcpus[i]);
	vm_session_stop(vm);
	/* the vCPUs are joined, each past its last I/O (vcpu_complete_io()) */
	/* --out; a template taken by snapshot_take() is written already */
	if (vm->stop_reason == VM_STOP_TEMPLATE && vm->cfg->template_out && snapshot_write(vm) < 0)
		vm->stop_status = VM_STATUS_HOST_FAILURE;
	vm_console_drain(vm);
	vm_tty_restore(vm);
	status = vm_exit_status(vm);
	boot_log_write(vm, status);
	pthread_mutex_lock(&vm->lock);
	vm->exit_status = status;
	vm->stopped_ns = vm_now_ns();
	vm->state = VM_STOPPED;
	pthread_cond_broadcast(&vm->cond);
	pthread_mutex_unlock(&vm->lock);
	if (write(vm->done_efd, &one, sizeof(one)) < 0)
		log_warn("cannot signal the VM's stop: %s", strerror(errno));
	return NULL;
}

int vm_start(struct vm *vm, char *err, size_t errlen)
{
	sigset_t all, old;
	int r = 0;

	if (vm_get_state(vm) != VM_CREATED || vm->stop_reason != VM_RUNNING)
		return -EINVAL; /* the caller words it */
	boot_log_open(vm);
	/* setup is over: no capability from here on; threads inherit that */
	if (sandbox_begin(vm->cfg) < 0) {
		snprintf(err, errlen, "cannot drop privileges");
		vm_stop(vm, VM_STATUS_HOST_FAILURE);
		return -EPERM;
	}
	r = ctl_vm_start(&vm->ctl, vm, err, errlen);
	if (r) {
		vm_stop(vm, r == -ENOMEM || r == -EIO ? VM_STATUS_HOST_FAILURE : VM_STATUS_USAGE);
		return r;
	}
	pthread_mutex_lock(&vm->lock);
	if (vm->state != VM_CREATED || vm->stop_reason != VM_RUNNING)
		r = -EINVAL;
	else
		vm->state = VM_STARTED;
	vm->started_ns = vm_now_ns();
	pthread_mutex_unlock(&vm->lock);
	if (r)
		return r;
	/* every thread we create inherits a mask with all signals blocked */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	if (vm->interactive)
		vm_tty_raw(vm);
	if (vm->restore_text && snapshot_restore_arm(vm) < 0)
		vm_fail(vm, "cannot give the restored guest its configuration");
	if (vm_devices_start(vm) < 0)
		vm_fail(vm, "cannot start the I/O thread");
	if (vm_session_start(vm) < 0)
		vm_fail(vm, "cannot start the session thread");
	/* atomic: a vCPU started just before may already be stopping the VM */
	for (unsigned i = 0;
	     i < vm->nr_vcpus && __atomic_load_n(&vm->stop_reason, __ATOMIC_ACQUIRE) == VM_RUNNING;
	     i++) {
		if (vcpu_start(&vm->vcpus[i]) < 0) {
			vm_fail(vm, "cannot start vCPU thread %u", i);
			break;
		}
	}
	r = -pthread_create(&vm->supervisor, NULL, vm_supervise, vm);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r) {
		/* no supervisor: do its work here */
		vm_fail(vm, "cannot start the supervisor thread");
		vm_supervise(vm);
		return r;
	}
	vm->supervisor_started = true;
	return 0;
}

int vm_wait(struct vm *vm, int timeout_ms, int *status)
{
	struct timespec dl;
	int r = 0;

	clock_gettime(CLOCK_MONOTONIC, &dl);
	if (timeout_ms > 0) {
		dl.tv_sec += timeout_ms / 1000;
		dl.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
		if (dl.tv_nsec >= 1000000000L) {
			dl.tv_sec++;
			dl.tv_nsec -= 1000000000L;
		}
	}
	pthread_mutex_lock(&vm->lock);
	if (vm->state == VM_CREATED)
		r = -EINVAL;
	while (!r && vm->state != VM_STOPPED) {
		if (timeout_ms < 0)
			pthread_cond_wait(&vm->cond, &vm->lock);
		else if (pthread_cond_timedwait(&vm->cond, &vm->lock, &dl) == ETIMEDOUT)
			r = vm->state == VM_STOPPED ? 0 : -ETIMEDOUT;
	}
	if (!r && status)
		*status = vm->exit_status;
	pthread_mutex_unlock(&vm->lock);
	return r;
}

void vm_stop(struct vm *vm, int status)
{
	bool created;

	pthread_mutex_lock(&vm->lock);
	created = vm->state == VM_CREATED;
	if (created && vm->stop_reason == VM_RUNNING) {
		/* never started: no threads to end, stopped at once */
		vm->stop_reason = VM_STOP_REQUEST;
		vm->stop_status = vm->exit_status = status;
		vm->state = VM_STOPPED;
		pthread_cond_broadcast(&vm->cond);
	}
	pthread_mutex_unlock(&vm->lock);
	if (!created)
		vm_request_stop(vm, VM_STOP_REQUEST, status);
}

static unsigned vm_started_vcpus(struct vm *vm)
{
	unsigned n = 0;

	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		n += vm->vcpus[i].started;
	return n;
}

int vm_pause(struct vm *vm)
{
	unsigned want = vm_started_vcpus(vm);
	int r = 0;

	pthread_mutex_lock(&vm->lock);
	if (vm->state == VM_PAUSED) {
		pthread_mutex_unlock(&vm->lock);
		return 0;
	}
	if (vm->state != VM_STARTED) {
		pthread_mutex_unlock(&vm->lock);
		return -EINVAL;
	}
	__atomic_store_n(&vm->pause_req, true, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&vm->lock);
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		vcpu_kick(&vm->vcpus[i]);
	pthread_mutex_lock(&vm->lock);
	while (vm->nr_parked < want && vm->stop_reason == VM_RUNNING)
		pthread_cond_wait(&vm->cond, &vm->lock);
	if (vm->stop_reason == VM_RUNNING)
		vm->state = VM_PAUSED;
	else
		r = -ESRCH;
	pthread_mutex_unlock(&vm->lock);
	return r;
}

void vm_template_hold(struct vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	if (vm->state == VM_STARTED) {
		__atomic_store_n(&vm->template_ready, true, __ATOMIC_RELEASE);
		__atomic_store_n(&vm->pause_req, true, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&vm->lock);
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		vcpu_kick(&vm->vcpus[i]);
	log_info("the template VM is at its ready mark: waiting for a snapshot");
}

int vm_resume(struct vm *vm)
{
	int r = 0;

	pthread_mutex_lock(&vm->lock);
	if (__atomic_load_n(&vm->template_ready, __ATOMIC_ACQUIRE)) {
		r = -EPERM; /* past the mark the guest waits for a restore that never comes */
	} else if (vm->state == VM_PAUSED) {
		__atomic_store_n(&vm->pause_req, false, __ATOMIC_RELEASE);
		vm->state = VM_STARTED;
		pthread_cond_broadcast(&vm->cond);
	} else if (vm->state != VM_STARTED) {
		r = -EINVAL;
	}
	pthread_mutex_unlock(&vm->lock);
	return r;
}

enum vm_state vm_get_state(struct vm *vm)
{
	enum vm_state st;

	pthread_mutex_lock(&vm->lock);
	st = vm->state;
	pthread_mutex_unlock(&vm->lock);
	return st;
}

