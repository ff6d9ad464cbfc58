// SPDX-License-Identifier: MIT
/* vcpu.c: vCPU threads: the KVM_RUN loop and exit dispatch to the I/O buses. */
#include "vmm/vm.h"

#include <errno.h>
#include <linux/kvm.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>

#include "vmm/log.h"
#include "vmm/sandbox.h"

#define VCPU_KICK_SIGNAL SIGUSR1

static __thread struct kvm_run *this_run;

/* Kick handler: make the current or next KVM_RUN return at once. */
static void vcpu_kick_handler(int sig)
{
	(void)sig;
	if (this_run)
		this_run->immediate_exit = 1;
}

static int kick_setup_result;

static void vcpu_signal_setup_once(void)
{
	struct sigaction sa = { .sa_handler = vcpu_kick_handler };

	sigemptyset(&sa.sa_mask);
	kick_setup_result = sigaction(VCPU_KICK_SIGNAL, &sa, NULL) < 0 ? -errno : 0;
}

/*
 * The kick handler is the one process-wide piece of a VM: a signal handler
 * belongs to the process. It is installed once and only touches the calling
 * thread's own kvm_run (NULL in threads that are not vCPUs).
 */
int vcpu_signal_setup(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, vcpu_signal_setup_once);
	return kick_setup_result;
}

/* vm_pause(): wait, parked, until resumed or stopped. */
static void vcpu_park(struct vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	vm->nr_parked++;
	pthread_cond_broadcast(&vm->cond);
	while (vm->pause_req && vm->stop_reason == VM_RUNNING)
		pthread_cond_wait(&vm->cond, &vm->lock);
	vm->nr_parked--;
	pthread_mutex_unlock(&vm->lock);
}

static void vcpu_io(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	uint32_t size = run->io.size;

	/* KVM gives size 1/2/4 and count >= 1 (rep ins/outs); data_offset is KVM's */
	for (uint32_t i = 0; i < run->io.count; i++, data += size) {
		if (run->io.direction == KVM_EXIT_IO_OUT)
			iobus_write(&v->vm->pio, run->io.port, data, size);
		else
			iobus_read(&v->vm->pio, run->io.port, data, size);
	}
}

static void vcpu_mmio(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	uint32_t len = run->mmio.len;

	if (len == 0 || len > sizeof(run->mmio.data))
		return;
	if (run->mmio.is_write)
		iobus_write(&v->vm->mmio, run->mmio.phys_addr, run->mmio.data, len);
	else
		iobus_read(&v->vm->mmio, run->mmio.phys_addr, run->mmio.data, len);
}

/* Return: false when the loop must end. */
static bool vcpu_handle_exit(struct vcpu *v)
{
	struct kvm_run *run = v->run;

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		vcpu_io(v);
		return true;
	case KVM_EXIT_MMIO:
		vcpu_mmio(v);
		return true;
	case KVM_EXIT_INTR:
		return true;
	case KVM_EXIT_SHUTDOWN:
		vm_request_stop(v->vm, VM_STOP_SHUTDOWN, VM_STATUS_GUEST_CRASH);
		return false;
	case KVM_EXIT_HLT:
		/* only without an in-kernel LAPIC; ours has one, so a HLT here is final */
		vm_request_stop(v->vm, VM_STOP_SHUTDOWN, VM_STATUS_GUEST_CRASH);
		return false;
	case KVM_EXIT_SYSTEM_EVENT:
		vm_request_stop(v->vm,
				run->system_event.type == KVM_SYSTEM_EVENT_RESET ? VM_STOP_RESET :
										   VM_STOP_POWEROFF,
				0);
		return false;
	case KVM_EXIT_FAIL_ENTRY:
		vm_fail(v->vm, "vCPU %u: KVM entry failed (hardware reason 0x%llx)", v->id,
			(unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		return false;
	case KVM_EXIT_INTERNAL_ERROR:
		vm_fail(v->vm, "vCPU %u: KVM internal error, suberror %u%s", v->id,
			run->internal.suberror,
			run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION ?
				" (emulation failure)" : "");
		return false;
	default:
		vm_fail(v->vm, "vCPU %u: unexpected KVM exit reason %u", v->id, run->exit_reason);
		return false;
	}
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *v = arg;
	struct vm *vm = v->vm;
	sigset_t set;

	this_run = v->run;
	log_limit_bind(&vm->log_limit); /* this VM's guest-log rate limit, not the process's */
	sigemptyset(&set);
	sigaddset(&set, VCPU_KICK_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	if (sandbox_enter_thread(SANDBOX_VCPU, v->id, v->fd) < 0) {
		vm_fail(vm, "vCPU %u: cannot install its seccomp filter", v->id);
		return NULL;
	}

	for (;;) {
		if (__atomic_load_n(&vm->stop_reason, __ATOMIC_ACQUIRE) != VM_RUNNING)
			break;
		if (__atomic_load_n(&vm->pause_req, __ATOMIC_ACQUIRE)) {
			/* held at the template's ready mark: the state captured is past this exit */
			if (__atomic_load_n(&vm->template_ready, __ATOMIC_ACQUIRE))
				vcpu_complete_io(v);
			vcpu_park(vm);
			continue;
		}
		/* atomic: vm_destroy() reads it before it joins this thread */
		if (v->id == 0 && !vm->times.first_run)
			__atomic_store_n(&vm->times.first_run, vm_now_ns(), __ATOMIC_RELAXED);
		if (ioctl(v->fd, KVM_RUN, 0) < 0) {
			int e = errno;

			if (e == EINTR || e == EAGAIN) {
				v->run->immediate_exit = 0;
				continue;
			}
			vm_fail(vm, "vCPU %u: KVM_RUN: %s", v->id, strerror(e));
			break;
		}
		__atomic_store_n(&v->exits, v->exits + 1, __ATOMIC_RELAXED);
		if (!vcpu_handle_exit(v))
			break;
	}
	/* agentvmm template: the state captured next must be past the last exit */
	if (__atomic_load_n(&vm->stop_reason, __ATOMIC_ACQUIRE) == VM_STOP_TEMPLATE)
		vcpu_complete_io(v);
	return NULL;
}

void vcpu_complete_io(struct vcpu *v)
{
	v->run->immediate_exit = 1;
	/* returns -EINTR once the pending I/O is done; nothing else to do with it */
	if (ioctl(v->fd, KVM_RUN, 0) == 0)
		log_dbg("vCPU %u: KVM_RUN with immediate_exit returned an exit (%u)", v->id,
			v->run->exit_reason);
	v->run->immediate_exit = 0;
}

int vcpu_start(struct vcpu *v)
{
	int r = pthread_create(&v->thread, NULL, vcpu_thread, v);

	if (r)
		return -r;
	v->started = true;
	return 0;
}

void vcpu_kick(struct vcpu *v)
{
	if (v->started)
		pthread_kill(v->thread, VCPU_KICK_SIGNAL);
}

void vcpu_join(struct vcpu *v)
{
	if (!v->started)
		return;
	pthread_join(v->thread, NULL);
	v->started = false;
}
