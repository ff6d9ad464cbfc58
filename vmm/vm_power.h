/* SPDX-License-Identifier: MIT */
/*
 * vm_power.h: graceful stop on a signal, driven from vm_run()'s loop (main
 * thread only). vm_power_button() itself is declared in vmm/vm.h.
 */
#ifndef AGENTVMM_VMM_VM_POWER_H
#define AGENTVMM_VMM_VM_POWER_H

#include "vmm/vm.h"

/*
 * vm_power_signal() - agentvmm got (signo). SIGTERM, SIGINT, SIGHUP: press
 * the power button and start the --shutdown-timeout countdown; a second
 * signal, SIGQUIT, a timeout of 0 or a VM without the button: stop by force
 * now (status 128 + signo).
 */
void vm_power_signal(struct vm *vm, int signo);

/* vm_power_poll_timeout() - ms until vm_power_tick() has work; -1: none. */
int vm_power_poll_timeout(const struct vm *vm);

/* vm_power_tick() - press again each second; force the stop at the deadline. */
void vm_power_tick(struct vm *vm);

#endif
