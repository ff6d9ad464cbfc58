// SPDX-License-Identifier: MIT
/*
 * avm.c: libagentvmm's public API (include/agentvmm.h) over struct vm_config
 * (vmm/cli.h's option table, vmm/config_json.h) and struct vm (vmm/vm.h).
 */
#include "agentvmm.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmm/cli.h"
#include "vmm/config_json.h"
#include "vmm/ctl.h"
#include "vmm/log.h"
#include "vmm/sandbox.h"
#include "vmm/snapshot.h"
#include "vmm/vm_balloon.h"
#include "vmm/vm_power.h"
#include "vmm/vm.h"

#ifndef AGENTVMM_VERSION
#define AGENTVMM_VERSION "0.1.0"
#endif

struct avm_config {
	struct vm_config vc;
};

#define AVM_READY_POLL_MS 5

struct avm {
	struct vm_config cfg; /* the VM's own deep copy */
	struct vm vm;
};

_Static_assert(AVM_STATUS_HOST_FAILURE == VM_STATUS_HOST_FAILURE, "exit status");
_Static_assert(AVM_STATUS_USAGE == VM_STATUS_USAGE, "exit status");
_Static_assert(AVM_STATUS_GUEST_CRASH == VM_STATUS_GUEST_CRASH, "exit status");
_Static_assert(AVM_STATUS_KILLED == VM_STATUS_KILLED, "exit status");

__printf(3, 4) static int fail(struct avm_error *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (err) {
		err->code = code;
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
	}
	return code;
}

/* (r) with the message a vmm/ function left in (msg). */
static int result(struct avm_error *err, int r, const char *msg)
{
	if (!r) {
		if (err) {
			err->code = 0;
			err->msg[0] = 0;
		}
		return 0;
	}
	return fail(err, r, "%s", msg[0] ? msg : strerror(-r));
}

struct avm_config *avm_config_new(void)
{
	struct avm_config *c = malloc(sizeof(*c));

	if (c)
		config_init(&c->vc);
	return c;
}

void avm_config_free(struct avm_config *cfg)
{
	if (!cfg)
		return;
	config_fini(&cfg->vc);
	free(cfg);
}

int avm_config_set(struct avm_config *cfg, const char *key, const char *value,
		   struct avm_error *err)
{
	char msg[AVM_ERROR_MSG_MAX] = "";
	const char *kept = NULL;

	if (!key || !cli_opt_find(key))
		return fail(err, -ENOENT, "unknown option '%s'", key ? key : "(null)");
	if (value) {
		kept = config_keep(&cfg->vc, value);
		if (!kept)
			return fail(err, -ENOMEM, "out of memory");
	}
	return result(err, cli_set(&cfg->vc, key, kept, msg, sizeof(msg)), msg);
}

int avm_config_clear_list(struct avm_config *cfg, const char *key, struct avm_error *err)
{
	const struct cli_opt *o = key ? cli_opt_find(key) : NULL;

	if (!o || o->list == CLI_NO_LIST)
		return fail(err, -EINVAL, "'%s' is not a repeatable option", key ? key : "(null)");
	cli_list_clear(&cfg->vc, o->list);
	return result(err, 0, "");
}

int avm_config_set_command(struct avm_config *cfg, int argc, const char *const *argv,
			   struct avm_error *err)
{
	if (argc < 0 || (argc > 0 && !argv))
		return fail(err, -EINVAL, "command: bad argument count %d", argc);
	for (int i = 0; i < argc; i++)
		if (!argv[i])
			return fail(err, -EINVAL, "command: argument %d is NULL", i);
	if (config_set_argv(&cfg->vc, argc, argv))
		return fail(err, -ENOMEM, "out of memory");
	return result(err, 0, "");
}

int avm_config_await_job(struct avm_config *cfg, bool on, struct avm_error *err)
{
	cfg->vc.await_job = on;
	return result(err, 0, "");
}

int avm_config_load_json(struct avm_config *cfg, const char *path, struct avm_error *err)
{
	char msg[AVM_ERROR_MSG_MAX] = "";

	return result(err, config_json_load(&cfg->vc, path, msg, sizeof(msg)), msg);
}

int avm_config_load_json_text(struct avm_config *cfg, const char *name, const char *text,
			      unsigned long len, struct avm_error *err)
{
	char msg[AVM_ERROR_MSG_MAX] = "";

	return result(err, config_json_parse(&cfg->vc, name, text, len, msg, sizeof(msg)), msg);
}

int avm_config_parse_args(struct avm_config *cfg, int argc, char **argv,
			  enum avm_args_action *action, struct avm_error *err)
{
	char msg[AVM_ERROR_MSG_MAX] = "";
	enum cli_action a = CLI_RUN;
	char **copy, **old_argv = cfg->vc.argv;
	int r, old_argc = cfg->vc.argc;

	if (argc < 1 || !argv)
		return fail(err, -EINVAL, "no arguments");
	/* the config keeps pointers to the strings: parse a copy it owns */
	copy = calloc((size_t)argc + 1, sizeof(*copy));
	if (!copy)
		return fail(err, -ENOMEM, "out of memory");
	for (int i = 0; i < argc; i++) {
		copy[i] = config_keep(&cfg->vc, argv[i]);
		if (!copy[i]) {
			free(copy);
			return fail(err, -ENOMEM, "out of memory");
		}
	}
	r = cli_parse_args(argc, copy, &cfg->vc, &a, msg, sizeof(msg));
	/* the workload pointed into (copy): give the config an array of its own */
	if (!r && cfg->vc.argc > 0 && cfg->vc.argv >= copy && cfg->vc.argv < copy + argc &&
	    config_set_argv(&cfg->vc, cfg->vc.argc, (const char *const *)cfg->vc.argv))
		r = -ENOMEM;
	if (r && cfg->vc.argv >= copy && cfg->vc.argv < copy + argc) {
		cfg->vc.argc = old_argc;
		cfg->vc.argv = old_argv;
	}
	free(copy);
	if (!r && action)
		*action = a == CLI_HELP ? AVM_ARGS_HELP :
			  a == CLI_VERSION ? AVM_ARGS_VERSION : AVM_ARGS_RUN;
	return result(err, r, msg);
}

int avm_config_check(const struct avm_config *cfg, struct avm_error *err)
{
	char msg[AVM_ERROR_MSG_MAX] = "";

	return result(err, cli_check(&cfg->vc, msg, sizeof(msg)), msg);
}

int avm_config_verbose(const struct avm_config *cfg)
{
	return cfg->vc.verbose;
}

const char *avm_usage(void)
{
	return cli_usage();
}

const char *avm_version(void)
{
	return AGENTVMM_VERSION;
}

void avm_set_log_level(int level)
{
	log_set_level(level <= 0 ? LOG_ERR : level == 1 ? LOG_WARN :
		      level == 2 ? LOG_INFO : LOG_DBG);
}

/*
 * --restore: the VM's memory size and vCPU count are the template's; a
 * --mem or --cpus that says otherwise is refused, naming both values.
 */
static int avm_restore_config(struct vm_config *c, char *msg, size_t len)
{
	struct snap_ident id, want;
	int r;

	if (!c->restore)
		return 0;
	r = snapshot_peek(c->restore, &id, msg, len);
	if (r)
		return r;
	want = id;
	want.mem_bytes = c->mem_set ? c->mem_mib << 20 : id.mem_bytes;
	want.nr_vcpus = c->cpus_set ? c->cpus : id.nr_vcpus;
	r = snap_check_ident(&id, &want, SNAP_ID_MEM | SNAP_ID_CPUS, msg, len);
	if (r)
		return r;
	c->mem_mib = id.mem_bytes >> 20;
	c->cpus = id.nr_vcpus;
	return 0;
}

int avm_create(const struct avm_config *cfg, struct avm **out, struct avm_error *err)
{
	char msg[AVM_ERROR_MSG_MAX] = "";
	struct avm *a;
	int r;

	*out = NULL;
	r = cli_check(&cfg->vc, msg, sizeof(msg));
	if (r)
		return result(err, r, msg);
	a = calloc(1, sizeof(*a));
	if (!a)
		return fail(err, -ENOMEM, "out of memory");
	if (config_copy(&a->cfg, &cfg->vc)) {
		free(a);
		return fail(err, -ENOMEM, "out of memory");
	}
	r = avm_restore_config(&a->cfg, msg, sizeof(msg));
	if (r) {
		config_fini(&a->cfg);
		free(a);
		return result(err, r, msg);
	}
	r = vm_create(&a->vm, &a->cfg, msg, sizeof(msg));
	if (r) {
		vm_destroy(&a->vm);
		config_fini(&a->cfg);
		free(a);
		return result(err, r, msg);
	}
	*out = a;
	return result(err, 0, "");
}

int avm_start(struct avm *a, struct avm_error *err)
{
	char msg[AVM_ERROR_MSG_MAX] = "";
	int r = vm_start(&a->vm, msg, sizeof(msg));

	if (r && msg[0])
		return fail(err, r, "%s", msg);
	if (r == -EINVAL)
		return fail(err, r, "the VM is %s, not created", avm_state_name(avm_state(a)));
	if (r)
		return fail(err, r, "cannot start the VM's threads: %s", strerror(-r));
	return result(err, 0, "");
}

int avm_wait(struct avm *a, int timeout_ms, int *status)
{
	return vm_wait(&a->vm, timeout_ms, status);
}

int avm_wait_ready(struct avm *a, int timeout_ms)
{
	uint64_t deadline = vm_now_ns() + (uint64_t)(timeout_ms < 0 ? 0 : timeout_ms) * 1000000ULL;

	for (;;) {
		/* boot mark 2, written by a vCPU thread (vm.c): guest-init started the workload */
		if (__atomic_load_n(&a->vm.times.marks[2], __ATOMIC_RELAXED))
			return 0;
		/* a template VM: held at its ready mark (vm_template_hold()) */
		if (__atomic_load_n(&a->vm.template_ready, __ATOMIC_ACQUIRE))
			return 0;
		int r = vm_wait(&a->vm, 0, NULL);

		if (r == 0 || r == -EINVAL)
			return -ESRCH;
		if (timeout_ms >= 0 && vm_now_ns() >= deadline)
			return -ETIMEDOUT;
		poll(NULL, 0, AVM_READY_POLL_MS);
	}
}

int avm_wait_fd(struct avm *a)
{
	return a->vm.done_efd;
}

int avm_pause(struct avm *a, struct avm_error *err)
{
	int r = vm_pause(&a->vm);

	if (r)
		return fail(err, r, "cannot pause: the VM is %s", avm_state_name(avm_state(a)));
	return result(err, 0, "");
}

int avm_resume(struct avm *a, struct avm_error *err)
{
	int r = vm_resume(&a->vm);

	if (r == -EPERM)
		return fail(err, r, "cannot resume: a template VM waits at its ready mark for "
			    "avm_snapshot()");
	if (r)
		return fail(err, r, "cannot resume: the VM is %s", avm_state_name(avm_state(a)));
	return result(err, 0, "");
}

int avm_snapshot(struct avm *a, const char *path, struct avm_error *err)
{
	struct snap_out out;
	char msg[AVM_ERROR_MSG_MAX];
	uint64_t size;
	int r;

	if (!path || !*path)
		return fail(err, -EINVAL, "snapshot: needs a file");
	r = snap_out_open(&out, path, msg, sizeof(msg));
	if (r)
		return fail(err, r, "snapshot %s", msg);
	r = snapshot_take(&a->vm, out.fd, &size, msg, sizeof(msg));
	if (!r) {
		r = snap_out_commit(&out);
		if (r)
			snprintf(msg, sizeof(msg), "cannot name the written file: %s", strerror(-r));
	}
	snap_out_abort(&out);
	if (r)
		return fail(err, r, "snapshot %s: %s", path, msg);
	return result(err, 0, "");
}

int avm_request_shutdown(struct avm *a, unsigned timeout_ms, int force_status,
			 struct avm_error *err)
{
	enum vm_state st = vm_get_state(&a->vm);

	if (st == VM_CREATED || st == VM_STOPPED)
		return fail(err, -EINVAL, "cannot shut down: the VM is %s",
			    avm_state_name(avm_state(a)));
	if (st == VM_PAUSED)
		(void)vm_resume(&a->vm); /* a parked guest cannot see the button */
	vm_power_request(&a->vm, timeout_ms, force_status & 0xff, "shutdown request");
	return result(err, 0, "");
}

int avm_shutdown(struct avm *a, unsigned timeout_ms, struct avm_error *err)
{
	enum vm_state st = vm_get_state(&a->vm);
	int r;

	if (st == VM_CREATED)
		return fail(err, -EINVAL, "cannot shut down: the VM was not started");
	if (st == VM_STOPPED)
		return result(err, 0, "");
	/* the same graceful stop as avm_request_shutdown(), then wait for its end */
	r = avm_request_shutdown(a, timeout_ms, VM_STATUS_KILLED, err);
	if (r && vm_get_state(&a->vm) == VM_STOPPED)
		return result(err, 0, ""); /* it stopped on its own meanwhile */
	if (r)
		return r;
	(void)vm_wait(&a->vm, -1, NULL);
	return __atomic_load_n(&a->vm.power_forced, __ATOMIC_ACQUIRE) ? 1 : 0;
}

int avm_signal(struct avm *a, int signo)
{
	if (vm_get_state(&a->vm) == VM_CREATED) {
		vm_stop(&a->vm, 128 + signo);
		return 0;
	}
	vm_power_signal(&a->vm, signo);
	return 0;
}

int avm_confine_caller(struct avm *a, struct avm_error *err)
{
	int r = sandbox_enter_thread(SANDBOX_MAIN, 0, -1);

	if (r)
		return fail(err, r, "cannot install the seccomp filter: %s", strerror(-r));
	return result(err, 0, "");
}

int avm_ctl_client(int argc, char **argv)
{
	return ctl_client_main(argc, argv);
}

int avm_start_job(struct avm *a, const struct avm_exec_opts *o, struct avm_error *err)
{
	char msg[AVM_ERROR_MSG_MAX] = "";

	if (!o)
		return fail(err, -EINVAL, "no job");
	return result(err, vm_session_job(&a->vm, o, msg, sizeof(msg)), msg);
}

int avm_job_signal(struct avm *a, int signo, struct avm_error *err)
{
	char msg[AVM_ERROR_MSG_MAX] = "";

	return result(err, vm_session_signal(&a->vm, signo, msg, sizeof(msg)), msg);
}

int avm_kill(struct avm *a)
{
	vm_stop(&a->vm, VM_STATUS_KILLED);
	return 0;
}

int avm_stop(struct avm *a, int status)
{
	vm_stop(&a->vm, status & 0xff);
	return 0;
}

enum avm_state avm_state(struct avm *a)
{
	switch (vm_get_state(&a->vm)) {
	case VM_CREATED:
		return AVM_STATE_CREATED;
	case VM_STARTED:
		return AVM_STATE_RUNNING;
	case VM_PAUSED:
		return AVM_STATE_PAUSED;
	case VM_STOPPING:
		return AVM_STATE_STOPPING;
	case VM_STOPPED:
	default:
		return AVM_STATE_STOPPED;
	}
}

const char *avm_state_name(enum avm_state state)
{
	static const char *const names[] = { "created", "running", "paused", "stopping",
					     "stopped" };

	return (unsigned)state < ARRAY_SIZE(names) ? names[state] : "unknown";
}

int avm_info(struct avm *a, struct avm_info *info)
{
	struct vm *vm = &a->vm;
	uint64_t end;

	memset(info, 0, sizeof(*info));
	pthread_mutex_lock(&vm->lock);
	info->exit_status = vm->state == VM_STOPPED ? vm->exit_status : -1;
	info->guest_status = __atomic_load_n(&vm->reported_status, __ATOMIC_RELAXED);
	end = vm->state == VM_STOPPED && vm->stopped_ns ? vm->stopped_ns : vm_now_ns();
	info->uptime_ms = vm->started_ns ? (end - vm->started_ns) / 1000000 : 0;
	pthread_mutex_unlock(&vm->lock);
	info->state = avm_state(a);
	info->pid = (int)getpid();
	info->cpus = a->cfg.cpus;
	info->mem_mib = a->cfg.mem_mib;
	info->nr_disks = a->cfg.nr_disks;
	info->nr_shares = a->cfg.nr_shares;
	info->nr_nets = a->cfg.nr_nets;
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		info->vcpu_exits += __atomic_load_n(&vm->vcpus[i].exits, __ATOMIC_RELAXED);
	info->console_bytes = __atomic_load_n(&vm->console_bytes, __ATOMIC_RELAXED);
	return 0;
}

void avm_destroy(struct avm *a)
{
	if (!a)
		return;
	vm_destroy(&a->vm);
	config_fini(&a->cfg);
	free(a);
}

int avm_balloon_set(struct avm *a, uint64_t size_mib, struct avm_error *err)
{
	char msg[160] = "";

	return result(err, vm_balloon_set(&a->vm, size_mib, msg, sizeof(msg)), msg);
}

/* A stat the guest sent, else UINT64_MAX. */
static uint64_t stat_or_none(const struct vbal_info *in, unsigned tag)
{
	return (in->stats_mask & (1U << tag)) ? in->stats[tag] : UINT64_MAX;
}

int avm_balloon_info(struct avm *a, struct avm_balloon_info *info, struct avm_error *err)
{
	struct vbal_info in;
	char msg[160] = "";
	int r;

	memset(info, 0, sizeof(*info));
	r = vm_balloon_info(&a->vm, &in, msg, sizeof(msg));
	if (r)
		return result(err, r, msg);
	info->target_mib = in.target_pages / (MiB(1) / VBAL_PAGE_SIZE);
	info->actual_mib = in.actual_pages / (MiB(1) / VBAL_PAGE_SIZE);
	info->driver = in.active;
	info->reporting = !!(in.features & (1ULL << VIRTIO_BALLOON_F_REPORTING));
	info->stats_valid = in.stats_valid;
	info->stats_age_ms = in.stats_age_ms;
	info->free_bytes = stat_or_none(&in, VIRTIO_BALLOON_S_MEMFREE);
	info->total_bytes = stat_or_none(&in, VIRTIO_BALLOON_S_MEMTOT);
	info->available_bytes = stat_or_none(&in, VIRTIO_BALLOON_S_AVAIL);
	info->cache_bytes = stat_or_none(&in, VIRTIO_BALLOON_S_CACHES);
	info->swap_in = stat_or_none(&in, VIRTIO_BALLOON_S_SWAP_IN);
	info->swap_out = stat_or_none(&in, VIRTIO_BALLOON_S_SWAP_OUT);
	info->major_faults = stat_or_none(&in, VIRTIO_BALLOON_S_MAJFLT);
	info->minor_faults = stat_or_none(&in, VIRTIO_BALLOON_S_MINFLT);
	info->reported_bytes = in.reported_bytes;
	info->inflated_pages = in.inflated_pages;
	return result(err, 0, "");
}
