// SPDX-License-Identifier: MIT
/*
 * vm_power.c: the host's side of a graceful stop. vm_power_button() presses
 * the ACPI power button (devices/ged.c); a SIGTERM, SIGINT or SIGHUP to
 * agentvmm presses it and gives the guest --shutdown-timeout seconds to
 * power off or report its workload's status, then stops the VM by force.
 * docs/architecture.md "Exit status" and "Graceful shutdown".
 */
#include "vmm/vm_power.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "vmm/log.h"

#define NS_PER_S 1000000000ULL
#define NS_PER_MS 1000000ULL
/*
 * The button is pressed again at this interval while the guest has not
 * stopped: a press that came before the guest listened (its GED driver
 * bound, the button driver loaded, guest-init or logind waiting for it) is
 * not lost for good.
 */
#define VM_REPRESS_NS (1 * NS_PER_S)

int vm_power_button(struct vm *vm)
{
	if (!vm->ged_ready)
		return -ENODEV;
	if (__atomic_load_n(&vm->stop_reason, __ATOMIC_ACQUIRE) != VM_RUNNING)
		return -ESRCH;
	return ged_event(&vm->ged, GED_EV_POWER_BUTTON);
}

static void vm_force_stop(struct vm *vm, int status, const char *why)
{
	if (__atomic_load_n(&vm->stop_reason, __ATOMIC_ACQUIRE) == VM_RUNNING)
		__atomic_store_n(&vm->power_forced, true, __ATOMIC_RELEASE);
	if (why)
		log_warn("%s: stopping the guest by force", why);
	vm_request_stop(vm, VM_STOP_REQUEST, status);
}

void vm_power_request(struct vm *vm, unsigned timeout_ms, int force_status, const char *why)
{
	uint64_t now = vm_now_ns(), one = 1;
	bool pending;

	pthread_mutex_lock(&vm->lock);
	pending = vm->graceful;
	pthread_mutex_unlock(&vm->lock);
	if (pending) {
		vm_force_stop(vm, force_status, "second request");
		return;
	}
	if (timeout_ms == 0 || vm_power_button(vm) < 0) {
		vm_force_stop(vm, force_status, NULL);
		return;
	}
	pthread_mutex_lock(&vm->lock);
	vm->graceful = true;
	vm->graceful_status = force_status;
	vm->graceful_timeout_ms = timeout_ms;
	vm->graceful_deadline = now + (uint64_t)timeout_ms * NS_PER_MS;
	vm->next_press = now + VM_REPRESS_NS;
	pthread_mutex_unlock(&vm->lock);
	log_info("%s: power button pressed, the guest has %u ms to shut down", why, timeout_ms);
	if (vm->power_efd >= 0 && write(vm->power_efd, &one, sizeof(one)) < 0)
		log_warn("cannot wake the supervisor: %s", strerror(errno));
}

void vm_power_signal(struct vm *vm, int signo)
{
	bool pending;

	pthread_mutex_lock(&vm->lock);
	pending = vm->graceful;
	pthread_mutex_unlock(&vm->lock);
	if (signo == SIGQUIT || pending) {
		vm_force_stop(vm, 128 + signo, pending ? "second signal" : NULL);
		return;
	}
	vm_power_request(vm, vm->cfg->shutdown_timeout_s * 1000u, 128 + signo, strsignal(signo));
}

int vm_power_poll_timeout(struct vm *vm)
{
	uint64_t now = vm_now_ns(), next;
	bool on;

	pthread_mutex_lock(&vm->lock);
	on = vm->graceful;
	next = vm->next_press < vm->graceful_deadline ? vm->next_press : vm->graceful_deadline;
	pthread_mutex_unlock(&vm->lock);
	if (!on)
		return -1;
	/* round up, so the deadline has passed when poll() returns */
	return next <= now ? 0 : (int)((next - now + NS_PER_MS - 1) / NS_PER_MS);
}

void vm_power_tick(struct vm *vm)
{
	uint64_t now = vm_now_ns();
	bool on, force = false, press = false;
	int status = 0;
	unsigned ms = 0;
	char why[80];

	pthread_mutex_lock(&vm->lock);
	on = vm->graceful;
	if (on && now >= vm->graceful_deadline) {
		force = true;
		status = vm->graceful_status;
		ms = vm->graceful_timeout_ms;
		vm->graceful = false;
	} else if (on && now >= vm->next_press) {
		press = true;
		vm->next_press = now + VM_REPRESS_NS;
	}
	pthread_mutex_unlock(&vm->lock);
	if (force) {
		if (ms % 1000)
			snprintf(why, sizeof(why), "the guest did not shut down within %u ms", ms);
		else
			snprintf(why, sizeof(why), "the guest did not shut down within %u s",
				 ms / 1000);
		vm_force_stop(vm, status, why);
	} else if (press) {
		log_info("the guest is still running: power button pressed again");
		vm_power_button(vm);
	}
}
