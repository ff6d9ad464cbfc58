/* SPDX-License-Identifier: MIT */
/*
 * vm_balloon.h: the VM's side of --balloon (prefix vm_balloon_): set the
 * balloon size and read the guest's memory stats, for the control socket
 * ("balloon", vmm/ctl_vm.c) and the library (avm_balloon_*). docs/balloon.md.
 */
#ifndef AGENTVMM_VMM_VM_BALLOON_H
#define AGENTVMM_VMM_VM_BALLOON_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "devices/virtio/virtio_balloon.h"
#include "vmm/compiler.h"

struct vm;

/*
 * vm_balloon_set() - ask the guest to give (size_mib) MiB to the balloon (0:
 * give it all back). Return: 0; -ENODEV (--balloon off); -EINVAL (more than
 * --mem), with one line in (msg). Context: any thread; never blocks.
 */
int vm_balloon_set(struct vm *vm, uint64_t size_mib, char *msg, size_t msglen) __must_check;

/*
 * vm_balloon_info() - the device's state into (out), and a request for
 * fresh stats (they come a moment later: out->stats_age_ms says how old the
 * ones given are). Return: 0 or -ENODEV (--balloon off), with (msg).
 * Context: any thread.
 */
int vm_balloon_info(struct vm *vm, struct vbal_info *out, char *msg, size_t msglen) __must_check;

/*
 * vm_balloon_json() - (in) as the control socket's "balloon" result, added to
 * (res): target_mib, actual_mib, reporting, stats_age_ms, stats {name: value},
 * counters. Return: 0 or -ENOMEM.
 */
int vm_balloon_json(const struct vbal_info *in, cJSON *res) __must_check;

#endif
