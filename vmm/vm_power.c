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

static void vm_force_stop(struct vm *vm, int signo, const char *why)
{
	if (why)
		log_warn("%s: stopping the guest by force", why);
	vm_request_stop(vm, VM_STOP_SIGNAL, 128 + signo);
}

void vm_power_signal(struct vm *vm, int signo)
{
	unsigned timeout = vm->cfg->shutdown_timeout_s;
	uint64_t now = vm_now_ns();

	if (vm->graceful_signo) {
		vm_force_stop(vm, signo, "second signal");
		return;
	}
	/* SIGQUIT, --shutdown-timeout 0, or no button: what a signal always did */
	if (signo == SIGQUIT || timeout == 0 || vm_power_button(vm) < 0) {
		vm_force_stop(vm, signo, NULL);
		return;
	}
	vm->graceful_signo = signo;
	vm->graceful_deadline = now + timeout * NS_PER_S;
	vm->next_press = now + VM_REPRESS_NS;
	log_info("%s: power button pressed, the guest has %u s to shut down", strsignal(signo),
		 timeout);
}

int vm_power_poll_timeout(const struct vm *vm)
{
	uint64_t now = vm_now_ns(), next;

	if (!vm->graceful_signo)
		return -1;
	next = vm->next_press < vm->graceful_deadline ? vm->next_press : vm->graceful_deadline;
	/* round up, so the deadline has passed when poll() returns */
	return next <= now ? 0 : (int)((next - now + NS_PER_MS - 1) / NS_PER_MS);
}

void vm_power_tick(struct vm *vm)
{
	uint64_t now = vm_now_ns();
	char why[64];

	if (!vm->graceful_signo)
		return;
	if (now >= vm->graceful_deadline) {
		snprintf(why, sizeof(why), "the guest did not shut down within %u s",
			 vm->cfg->shutdown_timeout_s);
		vm_force_stop(vm, vm->graceful_signo, why);
		vm->graceful_signo = 0;
		return;
	}
	if (now >= vm->next_press) {
		log_info("the guest is still running: power button pressed again");
		vm_power_button(vm);
		vm->next_press = now + VM_REPRESS_NS;
	}
}
