/* SPDX-License-Identifier: MIT */
/*
 * ctl_vm.h: the control socket's operations on a running struct vm (the glue
 * between vmm/ctl.c and vmm/vm.c). pause, resume and a graceful shutdown need
 * the VM library (include/agentvmm.h); until it is in, they answer "failed".
 */
#ifndef AGENTVMM_VMM_CTL_VM_H
#define AGENTVMM_VMM_CTL_VM_H

#include <stddef.h>

#include "vmm/compiler.h"
#include "vmm/ctl.h"
#include "vmm/vm.h"

/*
 * ctl_vm_start() - serve (vm)->cfg->api_socket with ctl_vm_ops, if set.
 * Return: 0 with (*out) (NULL when there is no --api-socket); -errno with one
 * line in (err), as ctl_server_start(). Stop with ctl_server_stop(*out) before
 * vm_destroy(). Context: main thread, after vm_create().
 */
int ctl_vm_start(struct ctl_server **out, struct vm *vm, char *err, size_t errlen) __must_check;

#endif
