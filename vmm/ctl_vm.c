// SPDX-License-Identifier: MIT
/* ctl_vm.c: control-socket callbacks over struct vm (info, kill; the rest wait for the VM library). */
#include "vmm/ctl_vm.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include "vmm/log.h"

/* Exit status after "kill": as if agentvmm had been killed by SIGKILL (but cleaned up). */
#define CTL_VM_KILL_STATUS (128 + SIGKILL)

static bool add_num(cJSON *o, const char *k, double v)
{
	return cJSON_AddNumberToObject(o, k, v) != NULL;
}

/* Context: control thread; reads only fields that are fixed or atomic while the VM runs. */
static int vm_info(void *opaque, cJSON *res, char *msg, size_t msglen)
{
	struct vm *vm = opaque;
	const struct vm_config *cfg = vm->cfg;
	enum vm_stop_reason why = __atomic_load_n(&vm->stop_reason, __ATOMIC_ACQUIRE);
	cJSON *c;

	if (!cJSON_AddStringToObject(res, "state", why == VM_RUNNING ? "running" : "stopping") ||
	    !add_num(res, "pid", getpid()) ||
	    !add_num(res, "uptime_ms", (double)((vm_now_ns() - vm->times.start) / 1000000)) ||
	    !(c = cJSON_AddObjectToObject(res, "config")) ||
	    !cJSON_AddStringToObject(c, "kernel", cfg->kernel ? cfg->kernel : cfg->raw_image) ||
	    !add_num(c, "cpus", cfg->cpus) || !add_num(c, "mem_mib", (double)cfg->mem_mib) ||
	    !add_num(c, "disks", cfg->nr_disks) || !add_num(c, "shares", cfg->nr_shares) ||
	    !add_num(c, "nets", cfg->nr_nets) ||
	    !cJSON_AddStringToObject(c, "command", cfg->argc ? cfg->argv[0] : "") ||
	    !(c = cJSON_AddObjectToObject(res, "counters")) ||
	    !add_num(c, "vcpus", vm->nr_vcpus) || !add_num(c, "virtio_devices", vm->nr_virtio)) {
		snprintf(msg, msglen, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

static int vm_needs_library(char *msg, size_t msglen)
{
	snprintf(msg, msglen, "not supported by this agentvmm yet (use kill)");
	return -ENOTSUP;
}

static int vm_pause(void *opaque, char *msg, size_t msglen)
{
	return vm_needs_library(msg, msglen);
}

static int vm_resume(void *opaque, char *msg, size_t msglen)
{
	return vm_needs_library(msg, msglen);
}

static int vm_shutdown(void *opaque, uint32_t timeout_ms, char *msg, size_t msglen)
{
	return vm_needs_library(msg, msglen);
}

static int vm_kill(void *opaque, char *msg, size_t msglen)
{
	log_info("stopping the VM: kill over the control socket");
	vm_request_stop(opaque, VM_STOP_SIGNAL, CTL_VM_KILL_STATUS);
	return 0;
}

static const struct ctl_ops ctl_vm_ops = {
	.info = vm_info,
	.pause = vm_pause,
	.resume = vm_resume,
	.shutdown = vm_shutdown,
	.kill = vm_kill,
};

int ctl_vm_start(struct ctl_server **out, struct vm *vm, char *err, size_t errlen)
{
	const struct vm_config *cfg = vm->cfg;
	uid_t uids[VM_MAX_API_UIDS];

	*out = NULL;
	if (!cfg->api_socket) {
		if (!cfg->nr_api_uids)
			return 0;
		snprintf(err, errlen, "--api-allow-uid needs --api-socket");
		return -EINVAL;
	}
	for (unsigned i = 0; i < cfg->nr_api_uids; i++)
		uids[i] = cfg->api_uids[i];
	return ctl_server_start(out, cfg->api_socket, &ctl_vm_ops, vm, uids, cfg->nr_api_uids, err,
				errlen);
}
