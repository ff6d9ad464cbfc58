// SPDX-License-Identifier: MIT
/* ctl_vm.c: control-socket callbacks over struct vm (vmm/vm_run.c, vmm/vm_power.c). */
#include "vmm/ctl_vm.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include "vmm/log.h"
#include "vmm/sandbox.h"
#include "vmm/snapshot.h"
#include "vmm/vm_balloon.h"
#include "vmm/vm_power.h"

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
	enum vm_state st = vm_get_state(vm);
	cJSON *c;
	const char *state = why != VM_RUNNING ? "stopping" :
			    __atomic_load_n(&vm->template_ready, __ATOMIC_ACQUIRE) ? "ready" :
			    st == VM_PAUSED ? "paused" : "running";

	if (!cJSON_AddStringToObject(res, "state", state) ||
	    !add_num(res, "pid", getpid()) ||
	    !add_num(res, "uptime_ms", (double)((vm_now_ns() - vm->times.start) / 1000000)) ||
	    !(c = cJSON_AddObjectToObject(res, "config")) ||
	    !cJSON_AddStringToObject(c, "kernel", cfg->kernel ? cfg->kernel : cfg->raw_image) ||
	    !add_num(c, "cpus", cfg->cpus) || !add_num(c, "mem_mib", (double)cfg->mem_mib) ||
	    !add_num(c, "disks", cfg->nr_disks) || !add_num(c, "pmems", cfg->nr_pmems) ||
	    !add_num(c, "shares", cfg->nr_shares) ||
	    !add_num(c, "nets", cfg->nr_nets) ||
	    !cJSON_AddStringToObject(c, "command", cfg->argc ? cfg->argv[0] : "") ||
	    !(c = cJSON_AddObjectToObject(res, "counters")) ||
	    !add_num(c, "vcpus", vm->nr_vcpus) || !add_num(c, "virtio_devices", vm->nr_virtio)) {
		snprintf(msg, msglen, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

static int vm_ctl_pause(void *opaque, char *msg, size_t msglen)
{
	int r = vm_pause(opaque);

	if (r)
		snprintf(msg, msglen, "cannot pause: the VM is %s", r == -ESRCH ? "stopping" :
			 "not running");
	return r;
}

static int vm_ctl_resume(void *opaque, char *msg, size_t msglen)
{
	int r = vm_resume(opaque);

	if (r)
		snprintf(msg, msglen, "cannot resume: the VM is not paused or running");
	return r;
}

/* Graceful: press the button and return; the supervisor forces the stop (137) at the deadline. */
static int vm_ctl_shutdown(void *opaque, uint32_t timeout_ms, char *msg, size_t msglen)
{
	struct vm *vm = opaque;

	if (vm_get_state(vm) == VM_PAUSED)
		(void)vm_resume(vm); /* a parked guest cannot see the button */
	if (vm_get_state(vm) != VM_STARTED) {
		snprintf(msg, msglen, "cannot shut down: the VM is not running");
		return -EINVAL;
	}
	vm_power_request(vm, timeout_ms, CTL_VM_KILL_STATUS, "shutdown over the control socket");
	return 0;
}

static int vm_ctl_kill(void *opaque, char *msg, size_t msglen)
{
	(void)msg;
	(void)msglen;
	log_info("stopping the VM: kill over the control socket");
	vm_stop(opaque, CTL_VM_KILL_STATUS);
	return 0;
}

/* "exec": the connection becomes a session with guest-init's exec service. */
static int vm_ctl_exec(void *opaque, int fd, char *msg, size_t msglen)
{
	int dup = fcntl(fd, F_DUPFD_CLOEXEC, 0);

	if (dup < 0) {
		snprintf(msg, msglen, "%s", strerror(errno));
		return -errno;
	}
	return vm_session_exec(opaque, dup, msg, msglen);
}

/* "balloon [size_mib]": a new balloon size first, then its state and the guest's stats. */
static int vm_ctl_balloon(void *opaque, bool set, uint64_t size_mib, cJSON *res, char *msg,
			  size_t msglen)
{
	struct vbal_info in;
	int r = set ? vm_balloon_set(opaque, size_mib, msg, msglen) : 0;

	if (!r)
		r = vm_balloon_info(opaque, &in, msg, msglen);
	if (!r && vm_balloon_json(&in, res)) {
		snprintf(msg, msglen, "out of memory");
		r = -ENOMEM;
	}
	return r;
}

/* "snapshot": a template VM held at its ready mark into the client's file; then it ends. */
static int vm_ctl_snapshot(void *opaque, int fd, cJSON *res, char *msg, size_t msglen)
{
	uint64_t size = 0;
	int r = snapshot_take(opaque, fd, &size, msg, msglen);

	if (!r && !add_num(res, "bytes", (double)size)) {
		snprintf(msg, msglen, "out of memory");
		return -ENOMEM;
	}
	return r == -EAGAIN ? -EBUSY : r;
}

/* The control thread's own seccomp filter; without it the VM does not go on. */
static int vm_ctl_thread_enter(void *opaque)
{
	struct vm *vm = opaque;
	int r = sandbox_enter_thread_opts(SANDBOX_CTL, 0, -1,
					  vm->cfg->template ? SANDBOX_OPT_TEMPLATE : 0);

	if (r < 0)
		vm_stop(opaque, VM_STATUS_HOST_FAILURE);
	return r;
}

static const struct ctl_ops ctl_vm_ops = {
	.thread_enter = vm_ctl_thread_enter,
	.info = vm_info,
	.pause = vm_ctl_pause,
	.resume = vm_ctl_resume,
	.shutdown = vm_ctl_shutdown,
	.kill = vm_ctl_kill,
	.exec = vm_ctl_exec,
	.balloon = vm_ctl_balloon,
	.snapshot = vm_ctl_snapshot,
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
