/* SPDX-License-Identifier: MIT */
/*
 * sandbox.h: confine agentvmm once a VM is set up (docs/security.md).
 *
 *   vm_run() start   sandbox_begin(): drop every capability (all sets and the
 *                    bounding set), no_new_privs, SIGSYS handler; the main
 *                    thread then creates the I/O and vCPU threads
 *   each thread      sandbox_enter_thread(kind, index): its own seccomp
 *                    filter (no TSYNC: an embedding process's threads are
 *                    never touched); the main thread's comes last, after it
 *                    created every thread, since a thread inherits its
 *                    creator's filter
 *
 * A forbidden syscall raises SIGSYS: one line on stderr, then the process
 * exits with SANDBOX_VIOLATION_STATUS (1, host failure). In log mode the line
 * is written and the syscall returns -EPERM instead.
 */
#ifndef AGENTVMM_VMM_SANDBOX_H
#define AGENTVMM_VMM_SANDBOX_H

#include <stdbool.h>

#include "vmm/config.h"

#define SANDBOX_VIOLATION_STATUS 1 /* VM_STATUS_HOST_FAILURE */
#define SANDBOX_NAME_MAX 24        /* longest syscall name kept, NUL included */

enum sandbox_thread { SANDBOX_MAIN, SANDBOX_VCPU, SANDBOX_IO, SANDBOX_CTL, SANDBOX_NR_THREADS };

/*
 * sandbox_resolve_mode() - the seccomp mode to use: (cfg) when given on the
 * command line, else AGENTVMM_SECCOMP's value (env: "on", "log" or "off", may
 * be NULL), else on. Sanitizer builds default to off (their runtime needs
 * syscalls no filter allows). Return: VM_SECCOMP_ON, _LOG or _OFF; -1 when
 * (env) is not one of the three words.
 */
int sandbox_resolve_mode(enum vm_seccomp cfg, const char *env);

/* sandbox_mode_name() - "on", "log" or "off" for a resolved mode. */
const char *sandbox_mode_name(int mode);

/*
 * sandbox_syscall_name() - the x86-64 name of syscall (nr), from a table
 * filled by sandbox_names_init(); "?" when unknown. Async-signal-safe.
 */
void sandbox_names_init(void);
const char *sandbox_syscall_name(long nr);

/*
 * sandbox_begin() - resolve the mode, drop capabilities and set no_new_privs
 * (unless cfg->keep_caps), install the SIGSYS handler (process-wide). Logs
 * when seccomp is off. Call once, on the thread that then creates the VM's
 * threads, before it creates them.
 * Return: 0 or -errno (a bounding set without CAP_SETPCAP to drop it is no
 * error; permitted/effective sets that cannot be cleared are).
 */
int sandbox_begin(const struct vm_config *cfg);

/*
 * sandbox_enter_thread() - install the calling thread's filter for (kind)
 * (index: vCPU number, for the violation line; vcpu_fd: the one vCPU fd a
 * vCPU thread may KVM_RUN, -1 for others). No-op when seccomp is off.
 * Also the place of the AGENTVMM_TEST_SECCOMP_VIOLATION debug hook: when its
 * value names this thread ("main", "io", "vcpu0", "ctl"...), the thread makes one
 * forbidden syscall right after its filter is in place.
 * Return: 0 or -errno.
 */
int sandbox_enter_thread(enum sandbox_thread kind, unsigned index, int vcpu_fd);

/* Options of sandbox_enter_thread_opts(). */
#define SANDBOX_OPT_SOCKETS (1U << 0) /* I/O thread: accept4, connect, socket(AF_UNIX, SOCK_STREAM), timerfd_settime (--vsock) */
#define SANDBOX_OPT_TIMER (1U << 1)   /* I/O thread: timerfd_settime only (a session's vsock device without --vsock) */
#define SANDBOX_OPT_EGRESS (1U << 2)  /* I/O thread: socketpair(AF_UNIX, SOCK_STREAM) and timerfd_settime (--egress) */
#define SANDBOX_OPT_TEMPLATE (1U << 3) /* supervisor and control thread of agentvmm template: snapshot_ioctls(), ftruncate, fsync, linkat, rename (vmm/snapshot.c) */

/*
 * sandbox_enter_thread_opts() - sandbox_enter_thread() with (opts), the
 * SANDBOX_OPT_* calls a VM's configuration adds to the I/O thread's filter
 * (ignored for other threads). Return: 0 or -errno.
 */
int sandbox_enter_thread_opts(enum sandbox_thread kind, unsigned index, int vcpu_fd,
			      unsigned opts);

/*
 * sandbox_thread_name() - "main", "io", "ctl", "vcpu<N>" into (buf). Pure.
 */
void sandbox_thread_name(enum sandbox_thread kind, unsigned index, char *buf, unsigned len);

#endif
