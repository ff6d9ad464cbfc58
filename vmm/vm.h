/* SPDX-License-Identifier: MIT */
/*
 * vm.h: VM lifecycle: create → run → destroy. Everything a VM owns hangs off
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
#include "vmm/evloop.h"
#include "vmm/kvm.h"
#include "vmm/msi.h"
#include "vmm/share.h"
#include "devices/pci.h"

#define VM_MAX_VIRTIO 32

/* Exit statuses that are not the workload's (docs/architecture.md "Exit status"). */
#define VM_STATUS_HOST_FAILURE 1
#define VM_STATUS_USAGE 2
#define VM_STATUS_GUEST_CRASH 125

enum vm_stop_reason {
	VM_RUNNING = 0,
	VM_STOP_STATUS,     /* guest-init reported a status */
	VM_STOP_POWEROFF,   /* ACPI S5 */
	VM_STOP_RESET,      /* guest reboot */
	VM_STOP_PANIC,      /* pvpanic */
	VM_STOP_SHUTDOWN,   /* triple fault */
	VM_STOP_SIGNAL,     /* agentvmm got SIGTERM/SIGINT/SIGHUP */
	VM_STOP_USER_QUIT,  /* Ctrl-A x on the console */
	VM_STOP_FAILURE,    /* host-side failure (vm_fail) */
};

struct vcpu {
	struct vm *vm;
	unsigned id;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool started;
};

/* Host time of each boot phase, CLOCK_MONOTONIC ns (0 = not reached). */
struct vm_times {
	uint64_t start;       /* vm_create() entered */
	uint64_t first_run;   /* boot vCPU's first KVM_RUN */
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
	struct share_proc shares[VM_MAX_SHARES]; /* per cfg->shares[i]; idle for --fs */
	unsigned nr_shares;     /* share_init()ed so far */
	struct vcpu *vcpus;
	unsigned nr_vcpus;
	int stop_efd;           /* written once the VM should stop */
	int sig_fd;             /* signalfd for SIGINT/SIGTERM/SIGHUP/SIGQUIT */
	bool interactive;
	bool tty_raw;
	struct termios tty_saved;
	char *initrd_path;      /* our initramfs (cache file), or NULL */

	/* graceful stop in progress (vm_run, main thread only): see vm_power.c */
	int graceful_signo;     /* the signal that asked for it, 0 = none */
	uint64_t graceful_deadline, next_press; /* CLOCK_MONOTONIC ns */

	pthread_mutex_t lock;   /* guards the stop fields */
	enum vm_stop_reason stop_reason;
	int stop_status;
	int reported_status;    /* -1 until guest-init reports */
	struct vm_times times;
};

/*
 * vm_create() - build everything for (cfg): KVM VM, RAM, devices, kernel and
 * initramfs in memory, vCPUs. Return: 0; -errno with a one-line message in
 * (err): -EINVAL and friends for user errors (exit 2), others host failures.
 * Context: main thread.
 */
int vm_create(struct vm *vm, const struct vm_config *cfg, char *err, size_t errlen) __must_check;

/*
 * vm_run() - start the vCPUs, serve the console and signals until the VM
 * stops. Return: the exit status agentvmm should exit with.
 * Context: main thread.
 */
int vm_run(struct vm *vm);

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

/* vm_now_ns() - CLOCK_MONOTONIC in ns. */
uint64_t vm_now_ns(void);

/* vcpu.c */
int vcpu_start(struct vcpu *v) __must_check;
void vcpu_kick(struct vcpu *v);
void vcpu_join(struct vcpu *v);
int vcpu_signal_setup(void) __must_check;

#endif
