/* SPDX-License-Identifier: MIT */
/*
 * vm.h: VM lifecycle: create → start → (pause/resume) → stop → wait → destroy. Everything a VM owns hangs off
 * struct vm; vm_destroy() is idempotent and safe from any partial state.
 */
#ifndef AGENTVMM_VMM_VM_H
#define AGENTVMM_VMM_VM_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <termios.h>

#include "boot/boot.h"
#include "devices/ged.h"
#include "devices/power.h"
#include "devices/uart8250.h"
#include "vmm/config.h"
#include "vmm/guest_mem.h"
#include "vmm/iobus.h"
#include "vmm/egress.h"
#include "vmm/evloop.h"
#include "vmm/kvm.h"
#include "vmm/log.h"
#include "vmm/msi.h"
#include "vmm/net_user.h"
#include "vmm/oem.h"
#include "vmm/share.h"
#include "vmm/snapshot_file.h"
#include "devices/pci.h"
#include "devices/restore_port.h"

struct ctl_server;
struct con_out;

#define VM_MAX_VIRTIO 32

/* Exit statuses that are not the workload's (docs/architecture.md "Exit status"). */
#define VM_STATUS_HOST_FAILURE 1
#define VM_STATUS_USAGE 2
#define VM_STATUS_GUEST_CRASH 125
#define VM_STATUS_KILLED 137 /* 128 + SIGKILL: vm_stop() by avm_kill() or a forced shutdown */

/* Lifecycle, guarded by vm->lock (the public enum avm_state mirrors it). */
enum vm_state { VM_CREATED, VM_STARTED, VM_PAUSED, VM_STOPPING, VM_STOPPED };

enum vm_stop_reason {
	VM_RUNNING = 0,
	VM_STOP_STATUS,     /* guest-init reported a status */
	VM_STOP_POWEROFF,   /* ACPI S5 */
	VM_STOP_RESET,      /* guest reboot */
	VM_STOP_PANIC,      /* pvpanic */
	VM_STOP_SHUTDOWN,   /* triple fault */
	VM_STOP_REQUEST,    /* vm_stop(): avm_kill(), a forced shutdown, the CLI's signals */
	VM_STOP_USER_QUIT,  /* Ctrl-A x on the console */
	VM_STOP_FAILURE,    /* host-side failure (vm_fail) */
	VM_STOP_TEMPLATE,   /* agentvmm template: the guest is ready, write the template */
};

struct vcpu {
	struct vm *vm;
	unsigned id;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool started;
	uint64_t exits;           /* KVM_RUN returns (relaxed atomic, for avm_info) */
};

/* Host time of each boot phase, CLOCK_MONOTONIC ns (0 = not reached). */
struct vm_times {
	uint64_t start;       /* vm_create() entered */
	uint64_t first_run;   /* boot vCPU's first KVM_RUN (relaxed atomic until joined) */
	uint64_t marks[4];    /* boot-timer port phases 1..3 */
	uint64_t stop;        /* stop requested */
};

struct vm {
	const struct vm_config *cfg;
	struct kvm kvm;
	struct guest_mem gm;
	struct iobus pio, mmio;
	struct power_sink power;
	struct uart com1;
	bool com1_ready;
	struct ged ged;         /* ACPI power button (vm_power.c) */
	bool ged_ready;
	struct boot_info boot;
	struct msi_router msi;
	struct evl evl;
	struct pci_bus pci;
	bool pci_ready;
	struct vpci *virtio[VM_MAX_VIRTIO];
	unsigned nr_virtio;
	/* opened before /dev/kvm (vm_devices_open()); NULL once on the bus */
	void *blk_open[VM_MAX_DISKS];   /* per cfg->disks[i]: a vblk_ops device */
	void *pmem_open[VM_MAX_PMEM];   /* per cfg->pmems[i]: a vpmem_ops device */
	void *net_open[VM_MAX_NETS];    /* per cfg->nets[i]: a vnet_ops device on its tap */
	struct net_user net_users[VM_MAX_NETS]; /* per cfg->nets[i]: --net user's passt */
	struct egress egress;     /* --egress: the proxy (vm_devices.c) */
	void *vsock_open;               /* --vsock: a vsock_ops device listening on its PATH */
	void *vsock_dev;                /* the vsock device once on the bus (exec sessions) */
	void *balloon_dev;              /* --balloon: the vbal_ops device once on the bus, or NULL */
	struct vm_session *session;     /* the workload's session (vm_session.c), or NULL */
	struct share_proc shares[VM_MAX_SHARES]; /* per cfg->shares[i]; --fs: just its socket */
	unsigned nr_shares;     /* share_init()ed so far */
	struct vcpu *vcpus;
	unsigned nr_vcpus;
	int stop_efd;           /* written once the VM should stop */
	int boot_log_fd;        /* AGENTVMM_TEST_BOOT_LOG, or -1 (vmm/vm_run.c) */
	int done_efd;           /* written once the VM has stopped (vm_wait_fd) */
	int console_fd;         /* console output: 1, a --console file, or -1 (none) */
	bool console_own;       /* console_fd is a file we opened (until (con) takes it) */
	struct con_out *con;    /* console output sink (vmm/console.h), or NULL (none) */
	bool interactive;       /* stdin is this VM's console input (stdio, no command) */
	bool tty_raw;
	struct termios tty_saved;
	char *initrd_path;      /* our initramfs (cache file), or NULL */
	uint8_t *raw_image;     /* --raw-image's bytes, read before /dev/kvm; NULL once loaded */
	size_t raw_len;
	struct oem_strings oem; /* SMBIOS OEM strings, read before /dev/kvm; freed once loaded */
	/* templates (vmm/snapshot.c, docs/snapshot.md) */
	struct snap_ident snap_id;  /* what this VM is made from */
	struct snap_file *restore;  /* --restore: the open template until restored, or NULL */
	struct snap_out snap_out;   /* agentvmm template --out: the file being written */
	bool template_ready;        /* agentvmm template without --out: held at the ready mark (atomic) */
	struct restore_port restore_port; /* a restored guest-init's configuration */
	char *restore_text;         /* its agentvmm.* keys until vm_start() adds the clock */

	/* graceful stop in progress, under (lock): see vm_power.c */
	int power_efd;          /* wakes the supervisor when a graceful stop is asked for */
	bool graceful;          /* the button was pressed; force at the deadline */
	int graceful_status;    /* exit status of the forced stop */
	unsigned graceful_timeout_ms;
	bool power_forced;      /* a graceful stop ended by force (atomic) */
	uint64_t graceful_deadline, next_press; /* CLOCK_MONOTONIC ns */
	struct ctl_server *ctl; /* --api-socket server, or NULL */

	pthread_t supervisor;   /* waits for the stop, serves console input, joins vCPUs */
	bool supervisor_started;
	pthread_mutex_t lock;   /* guards the stop and lifecycle fields */
	pthread_cond_t cond;    /* broadcast on every state change, pause and stop */
	enum vm_state state;
	bool pause_req;         /* vCPUs park at the top of their loop */
	unsigned nr_parked;
	int exit_status;        /* once VM_STOPPED */
	uint64_t started_ns, stopped_ns; /* vm_start(), VM_STOPPED (CLOCK_MONOTONIC) */
	uint64_t console_bytes; /* written by the guest (relaxed atomic) */
	enum vm_stop_reason stop_reason;
	int stop_status;
	int reported_status;    /* -1 until guest-init reports (relaxed atomic until stopped) */
	struct vm_times times;
	/* this VM's guest-log rate limit: bound by its vCPU and I/O threads (vmm/log.h) */
	struct log_limit log_limit;
};

/*
 * vm_create() - build everything for (cfg): first check the input (kernel,
 * initrd, console, disks, taps, --fs sockets), then open the KVM device
 * (kvm_open()), then create the KVM VM, initramfs, RAM, devices, kernel in
 * memory, vCPUs (docs/architecture.md "Start-up order"). Return: 0; -errno with
 * a one-line message in (err): -EINVAL and friends for user errors (exit 2),
 * others host failures. On failure nothing is left behind once vm_destroy()
 * has run. Context: main thread.
 */
int vm_create(struct vm *vm, const struct vm_config *cfg, char *err, size_t errlen) __must_check;

/*
 * vm_start() - start the I/O thread, the vCPUs and the supervisor thread, and
 * return. Every thread starts with all signals blocked (vCPUs then take only
 * the kick signal), and the control socket when configured. Return: 0 or
 * -errno with one line in (err): -EINVAL and friends for a control socket it
 * cannot serve (exit 2), others host failures (then the VM is stopped, status 1).
 * Context: any one thread, once, on a VM_CREATED VM.
 */
int vm_start(struct vm *vm, char *err, size_t errlen) __must_check;

/*
 * vm_wait() - wait for VM_STOPPED, at most (timeout_ms) (< 0: forever).
 * Return: 0 with the exit status in (*status); -ETIMEDOUT; -EINVAL when the
 * VM was never started. Context: any thread.
 */
int vm_wait(struct vm *vm, int timeout_ms, int *status);

/* vm_stop() - end the VM now with exit status (status). Context: any thread. */
void vm_stop(struct vm *vm, int status);

/*
 * vm_pause() - park every vCPU (the I/O thread keeps running) and return once
 * they are parked; vm_resume() lets them go. Return: 0, -EINVAL in the wrong
 * state, -ESRCH when the VM stopped meanwhile. Context: any thread.
 */
int vm_pause(struct vm *vm);
/* vm_resume(): -EPERM for a template VM held at its ready mark. */
int vm_resume(struct vm *vm);

/*
 * vm_template_hold() - agentvmm template without --out, at the guest's ready
 * mark: every vCPU completes its last I/O and parks, for good; only a
 * snapshot (snapshot_take()) or a stop ends the VM. Does not wait.
 * Context: a vCPU thread (the mark's write).
 */
void vm_template_hold(struct vm *vm);

/* vm_tty_restore() - give stdin's tty back its settings (after raw mode); idempotent. */
void vm_tty_restore(struct vm *vm);

/* vm_get_state() - the lifecycle state. Context: any thread. */
enum vm_state vm_get_state(struct vm *vm);

/* vm_destroy() - stop threads, free everything; idempotent. */
void vm_destroy(struct vm *vm);

/* vm_request_stop() - end the VM (first reason wins). Context: any thread. */
void vm_request_stop(struct vm *vm, enum vm_stop_reason reason, int status);

/*
 * vm_power_button() - press the guest's ACPI power button (GED event ->
 * Notify(\_SB.PWRB, 0x80)): a guest that listens shuts down cleanly; one that
 * does not sees nothing. It does not wait. Return: 0; -ENODEV before
 * vm_create() registered the button; -ESRCH once the VM has stopped.
 * Context: any thread.
 */
int vm_power_button(struct vm *vm);

/* vm_fail() - a host-side failure: log it, stop the VM with status 1. Context: any thread. */
void vm_fail(struct vm *vm, const char *fmt, ...) __printf(2, 3);

/*
 * vm_guest_status() - (status), which the guest reported (exit port), as the
 * exit status. When it is also one of agentvmm's own (1 host failure, 125
 * guest crash, 137 killed) one warning line says whose it is, so a launcher
 * reading stderr at the default level can tell them apart
 * (docs/architecture.md "Exit status"). Return: (status). Context: any thread.
 * Guest: (status), 0..255.
 */
int vm_guest_status(int status);

/* vm_now_ns() - CLOCK_MONOTONIC in ns. */
uint64_t vm_now_ns(void);

/*
 * vm_session.c: the workload's session over vsock (docs/vsock.md "Sessions").
 * vm_session_prepare() - setup, before /dev/kvm, for a config_session()
 * config: the job, the stream, stdio. Return: 0 or -errno with one line.
 * vm_session_take_job_fd() - the stream's far end for the vsock device (once), or -1.
 * vm_session_start() - its thread (vm_start). vm_session_stop() - finish and
 * join it (supervisor, after the vCPUs). vm_session_destroy() - free; idempotent.
 * vm_session_exec() - hand (fd) (taken over) to a new exec session.
 * Return: 0, -ENOTSUP (no session), -EBUSY, -errno with a reason in (msg).
 * Context: the control thread.
 * vm_session_job(), vm_session_signal(): avm_start_job() and avm_job_signal()
 * for a VM awaiting its job (include/agentvmm.h has their contract), with
 * the reason in (msg). Context: any thread.
 */
struct vm_session;
struct avm_exec_opts;
int vm_session_prepare(struct vm *vm, char *err, size_t errlen) __must_check;
int vm_session_take_job_fd(struct vm *vm);
int vm_session_start(struct vm *vm) __must_check;
void vm_session_stop(struct vm *vm);
void vm_session_destroy(struct vm *vm);
int vm_session_exec(struct vm *vm, int fd, char *msg, size_t msglen) __must_check;
int vm_session_job(struct vm *vm, const struct avm_exec_opts *o, char *msg,
		   size_t msglen) __must_check;
int vm_session_signal(struct vm *vm, int signo, char *msg, size_t msglen) __must_check;

/* vcpu.c */
int vcpu_start(struct vcpu *v) __must_check;
void vcpu_kick(struct vcpu *v);
void vcpu_join(struct vcpu *v);
/*
 * vcpu_complete_io() - one KVM_RUN with immediate_exit set, so KVM finishes
 * the vCPU's last I/O or MMIO exit (an IN's value into RAX, RIP past the OUT)
 * and returns -EINTR without running guest code: its state is then whole for
 * a template. Context: the vCPU's own thread, out of its loop.
 */
void vcpu_complete_io(struct vcpu *v);
/* vcpu_signal_setup() - install the process-wide kick (SIGUSR1) handler, once per process. */
int vcpu_signal_setup(void) __must_check;

#endif
