/* SPDX-License-Identifier: MIT */
/*
 * vm_power.h: graceful stop on a signal, driven from vm_run()'s loop (main
 * thread only). vm_power_button() itself is declared in vmm/vm.h.
 */
#ifndef AGENTVMM_VMM_VM_POWER_H
#define AGENTVMM_VMM_VM_POWER_H

#include "vmm/vm.h"

/*
 * vm_power_request() - ask the guest to shut down: press the power button,
 * press again each second, and stop the VM by force with (force_status) once
 * (timeout_ms) have passed. A second request while one is pending, a timeout
 * of 0, or a VM without the button: stop by force now. (why) names the asker
 * in the log. Context: any thread.
 */
void vm_power_request(struct vm *vm, unsigned timeout_ms, int force_status, const char *why);

/*
 * vm_power_signal() - agentvmm got (signo): SIGTERM, SIGINT, SIGHUP: a
 * request bounded by --shutdown-timeout, forced with 128 + signo; SIGQUIT:
 * force now. Context: any thread.
 */
void vm_power_signal(struct vm *vm, int signo);

/* vm_power_poll_timeout() - ms until vm_power_tick() has work; -1: none. Context: supervisor. */
int vm_power_poll_timeout(struct vm *vm);

/* vm_power_tick() - press again each second; force the stop at the deadline. Context: supervisor. */
void vm_power_tick(struct vm *vm);

#endif
