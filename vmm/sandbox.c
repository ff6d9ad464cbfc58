// SPDX-License-Identifier: MIT
/* sandbox.c: capabilities, no_new_privs and per-thread seccomp filters (docs/security.md). */
#include "vmm/sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/if_tun.h>
#include <seccomp.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include "vmm/compiler.h"
#include "vmm/kvm.h"
#include "vmm/log.h"
#include "vmm/snapshot.h"

#ifndef __x86_64__
#error "the filters and the SIGSYS handler are written for x86-64"
#endif

#define SANDBOX_NR_NAMES 512
#define SANDBOX_MAX_IOCTLS 16
#define SANDBOX_TEST_ENV "AGENTVMM_TEST_SECCOMP_VIOLATION"

/*
 * Process-wide state. Several VMs of one process may start at once (each
 * avm_start() calls sandbox_begin()) while the threads of others install
 * their filters or trap: the mode is a relaxed atomic, the rest is written
 * once (pthread_once) before any thread reads it.
 */
static char names[SANDBOX_NR_NAMES][SANDBOX_NAME_MAX];
static int sandbox_mode = VM_SECCOMP_OFF; /* of the latest sandbox_begin() */
static char test_violation[16]; /* AGENTVMM_TEST_SECCOMP_VIOLATION, once */
static int log_fd = -1;         /* AGENTVMM_SECCOMP_LOGFILE: every line appended there too; once */
static pthread_once_t env_once = PTHREAD_ONCE_INIT, trap_once = PTHREAD_ONCE_INIT;
static __thread char thread_name[16];
static int violated; /* a thread already reported a violation (not in log mode) */

/* Every thread: memory, futexes, signals, time, exiting, reading and writing open fds. */
static const int sys_common[] = {
	SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(readv), SCMP_SYS(writev), SCMP_SYS(pread64),
	SCMP_SYS(pwrite64), SCMP_SYS(close), SCMP_SYS(fstat), SCMP_SYS(newfstatat),
	SCMP_SYS(lseek), SCMP_SYS(fcntl), SCMP_SYS(futex), SCMP_SYS(madvise), SCMP_SYS(munmap),
	SCMP_SYS(brk), SCMP_SYS(mremap), SCMP_SYS(rt_sigreturn), SCMP_SYS(rt_sigprocmask),
	SCMP_SYS(sigaltstack), SCMP_SYS(exit), SCMP_SYS(exit_group), SCMP_SYS(clock_gettime),
	SCMP_SYS(clock_nanosleep), SCMP_SYS(nanosleep), SCMP_SYS(gettid), SCMP_SYS(getpid),
	SCMP_SYS(sched_yield), SCMP_SYS(restart_syscall), SCMP_SYS(getrandom),
	SCMP_SYS(sched_getaffinity), SCMP_SYS(poll), SCMP_SYS(ppoll), SCMP_SYS(eventfd2),
	SCMP_SYS(io_uring_enter),
};

/*
 * vCPU and I/O threads: device activation and vhost-user messages; a virtio-fs
 * whose back end hung up shuts its socket down and dup3()s an eventfd over it.
 */
static const int sys_device[] = {
	SCMP_SYS(sendmsg), SCMP_SYS(recvmsg), SCMP_SYS(sendto), SCMP_SYS(recvfrom),
	SCMP_SYS(shutdown), SCMP_SYS(dup3), SCMP_SYS(fsync), SCMP_SYS(fdatasync),
	SCMP_SYS(fallocate),
};

/* Main thread: console, signals, teardown (virtiofsd, vhost-user, -v report). */
static const int sys_main[] = {
	SCMP_SYS(sendmsg), SCMP_SYS(recvmsg), SCMP_SYS(sendto), SCMP_SYS(recvfrom),
	SCMP_SYS(shutdown), SCMP_SYS(dup3), SCMP_SYS(kill), SCMP_SYS(wait4), SCMP_SYS(waitid),
	SCMP_SYS(unlink), SCMP_SYS(unlinkat), SCMP_SYS(rmdir), SCMP_SYS(fsync), SCMP_SYS(fdatasync),
	SCMP_SYS(mincore), /* -v: resident guest RAM at exit (gm_resident_bytes) */
};

/*
 * Control-socket thread: accept, the peer's credentials, send and receive on
 * its clients; no open. Its commands flip flags, write eventfds, kick vCPUs
 * (tgkill within the process) and press the power button: an interrupt line,
 * its only ioctls (kvm_irq_line_ioctls()).
 */
static const int sys_ctl[] = {
	SCMP_SYS(accept4), SCMP_SYS(getsockopt), SCMP_SYS(sendto), SCMP_SYS(recvfrom),
	SCMP_SYS(sendmsg), SCMP_SYS(recvmsg), SCMP_SYS(shutdown),
};

/*
 * I/O thread of a VM with --vsock (SANDBOX_OPT_SOCKETS): accept host
 * connections on the vsock PATH, connect the guest's to PATH_<port> (socket()
 * only AF_UNIX SOCK_STREAM or SOCK_SEQPACKET, and setsockopt() only a
 * SOCK_SEQPACKET one's SO_PASSCRED and SO_SNDBUF: add_io_sockets()), re-arm
 * the handshake timer.
 */
static const int sys_io_sockets[] = {
	SCMP_SYS(accept4), SCMP_SYS(connect), SCMP_SYS(timerfd_settime),
};

/* Console ioctls of the main thread: isatty, raw mode and its restore. */
static const unsigned long ioctl_tty[] = { TCGETS, TCSETS, TCSETSW, TCSETSF, TIOCGWINSZ };

int sandbox_resolve_mode(enum vm_seccomp cfg, const char *env)
{
	if (cfg == VM_SECCOMP_ON || cfg == VM_SECCOMP_LOG || cfg == VM_SECCOMP_OFF)
		return cfg;
	if (env && *env) {
		if (!strcmp(env, "on"))
			return VM_SECCOMP_ON;
		if (!strcmp(env, "log"))
			return VM_SECCOMP_LOG;
		if (!strcmp(env, "off"))
			return VM_SECCOMP_OFF;
		return -1;
	}
#ifdef AV_SANITIZER_BUILD
	return VM_SECCOMP_OFF;
#else
	return VM_SECCOMP_ON;
#endif
}

const char *sandbox_mode_name(int mode)
{
	return mode == VM_SECCOMP_ON ? "on" : mode == VM_SECCOMP_LOG ? "log" : "off";
}

void sandbox_names_init(void)
{
	for (int nr = 0; nr < SANDBOX_NR_NAMES; nr++) {
		char *n = seccomp_syscall_resolve_num_arch(SCMP_ARCH_X86_64, nr);

		if (n && strlen(n) < SANDBOX_NAME_MAX)
			memcpy(names[nr], n, strlen(n) + 1);
		free(n);
	}
}

const char *sandbox_syscall_name(long nr)
{
	if (nr < 0 || nr >= SANDBOX_NR_NAMES || !names[nr][0])
		return "?";
	return names[nr];
}

void sandbox_thread_name(enum sandbox_thread kind, unsigned index, char *buf, unsigned len)
{
	if (kind == SANDBOX_VCPU)
		snprintf(buf, len, "vcpu%u", index);
	else
		snprintf(buf, len, "%s", kind == SANDBOX_IO ? "io" : kind == SANDBOX_CTL ? "ctl" :
					 "main");
}

/* Append (s) at (*p), never past (end - 1). Async-signal-safe. */
static void put_str(char **p, char *end, const char *s)
{
	while (*s && *p < end - 1)
		*(*p)++ = *s++;
}

static void put_num(char **p, char *end, long v)
{
	char tmp[24];
	int n = 0;
	unsigned long u = v < 0 ? -(unsigned long)v : (unsigned long)v;

	do
		tmp[n++] = (char)('0' + u % 10);
	while ((u /= 10) && n < (int)sizeof(tmp));
	if (v < 0 && *p < end - 1)
		*(*p)++ = '-';
	while (n && *p < end - 1)
		*(*p)++ = tmp[--n];
}

/* SIGSYS from SCMP_ACT_TRAP: one line, then exit (or -EPERM in log mode). */
static void sandbox_sigsys(int sig, siginfo_t *si, void *ctx)
{
	ucontext_t *uc = ctx;
	char line[192], *p = line, *end = line + sizeof(line);
	int saved = errno;
	bool log_mode = __atomic_load_n(&sandbox_mode, __ATOMIC_RELAXED) == VM_SECCOMP_LOG;

	(void)sig;
	/* the process ends on the first violation: one line, even if two threads trap at once */
	if (!log_mode && __atomic_exchange_n(&violated, 1, __ATOMIC_ACQ_REL))
		syscall(SYS_exit_group, SANDBOX_VIOLATION_STATUS);
	put_str(&p, end, "agentvmm: seccomp: thread ");
	put_str(&p, end, thread_name[0] ? thread_name : "?");
	put_str(&p, end, " made forbidden syscall ");
	put_num(&p, end, si->si_syscall);
	put_str(&p, end, " (");
	put_str(&p, end, sandbox_syscall_name(si->si_syscall));
	put_str(&p, end, log_mode ? "), returning EPERM (log mode)" : ")");
	*p++ = '\n';
	ssize_t w = write(STDERR_FILENO, line, (size_t)(p - line));
	if (log_fd >= 0)
		w = write(log_fd, line, (size_t)(p - line));
	(void)w;
	if (!log_mode)
		syscall(SYS_exit_group, SANDBOX_VIOLATION_STATUS);
	uc->uc_mcontext.gregs[REG_RAX] = -EPERM;
	errno = saved;
}

/* Clear the ambient, bounding (with CAP_SETPCAP), permitted, effective and inheritable sets. */
static int sandbox_drop_caps(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];
	bool bounded = true;

	memset(d, 0, sizeof(d));
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	for (unsigned long cap = 0; cap < 64; cap++) {
		int r = prctl(PR_CAPBSET_READ, cap, 0, 0, 0);

		if (r < 0)
			break; /* past CAP_LAST_CAP of this kernel */
		if (r == 1 && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0)
			bounded = false;
	}
	if (!bounded)
		log_dbg("sandbox: no CAP_SETPCAP, the capability bounding set stays as it was");
	if (syscall(SYS_capset, &h, d) < 0)
		return -errno;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	return 0;
}

/* Once per process: the debug hook's thread name. */
static void sandbox_env_init(void)
{
	const char *test = getenv(SANDBOX_TEST_ENV);

	snprintf(test_violation, sizeof(test_violation), "%s", test ? test : "");
}

/* Once per process, before the first filter: what the SIGSYS handler reads. */
static void sandbox_trap_init(void)
{
	const char *file = getenv("AGENTVMM_SECCOMP_LOGFILE");

	sandbox_names_init();
	if (file && *file)
		log_fd = open(file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
}

int sandbox_begin(const struct vm_config *cfg)
{
	int mode = sandbox_resolve_mode(cfg->seccomp, getenv("AGENTVMM_SECCOMP"));
	int r;

	if (mode < 0) {
		log_warn("AGENTVMM_SECCOMP=%s: not on, log or off; seccomp stays on",
			 getenv("AGENTVMM_SECCOMP"));
		mode = VM_SECCOMP_ON;
	}
	__atomic_store_n(&sandbox_mode, mode, __ATOMIC_RELAXED);
	pthread_once(&env_once, sandbox_env_init);
	r = cfg->keep_caps ? 0 : sandbox_drop_caps();
	if (r) {
		log_err("sandbox: cannot drop capabilities: %s", strerror(-r));
		return r;
	}
	if (mode == VM_SECCOMP_OFF) {
		if (cfg->seccomp == VM_SECCOMP_OFF || getenv("AGENTVMM_SECCOMP"))
			log_warn("seccomp is off (--no-seccomp): agentvmm's threads run unfiltered");
		else
			log_info("seccomp is off: sanitizer build");
		return 0;
	}
	pthread_once(&trap_once, sandbox_trap_init);
	struct sigaction sa = { .sa_sigaction = sandbox_sigsys, .sa_flags = SA_SIGINFO };

	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) < 0)
		return -errno;
	if (mode == VM_SECCOMP_LOG)
		log_warn("seccomp in log mode: forbidden syscalls are logged and fail with EPERM");
	return 0;
}

static int add_list(scmp_filter_ctx ctx, const int *sys, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, sys[i], 0);

		if (r)
			return r;
	}
	return 0;
}

static int add_ioctls(scmp_filter_ctx ctx, const unsigned long *req, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		/* the kernel takes cmd as unsigned int: compare the low 32 bits */
		int r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
					 SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffUL, req[i]));

		if (r)
			return r;
	}
	return 0;
}

/*
 * mmap/mprotect never with PROT_EXEC; tgkill only within this process. Every
 * SCMP_A*(SCMP_CMP_EQ, x, 0) spells out datum_b (unused by EQ): clang's
 * -Wmissing-field-initializers refuses libseccomp's macro without it.
 */
static int add_guarded(scmp_filter_ctx ctx)
{
	int r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1,
				 SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));

	if (!r)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mprotect), 1,
				     SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	if (!r)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 1,
				     SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)getpid(), 0));
	return r;
}

/* Main thread: open read-only only (the -v report reads /proc/self/status). */
static int add_main_open(scmp_filter_ctx ctx)
{
	const scmp_datum_t writing = O_ACCMODE | O_CREAT | O_TRUNC | O_APPEND | O_TMPFILE;

	return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(openat), 1,
				SCMP_A2(SCMP_CMP_MASKED_EQ, writing, 0));
}

/* A vCPU thread runs only its own vCPU: KVM_RUN on (fd) alone. */
static int add_kvm_run(scmp_filter_ctx ctx, int fd)
{
	return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 2,
				SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)fd, 0),
				SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffUL, kvm_run_ioctl()));
}

static int add_io_sockets(scmp_filter_ctx ctx)
{
	int r = add_list(ctx, sys_io_sockets, ARRAY_SIZE(sys_io_sockets));

	/* the type argument also carries SOCK_NONBLOCK | SOCK_CLOEXEC: compare the low nibble */
	for (int i = 0; i < 2 && !r; i++) {
		int type = i ? SOCK_SEQPACKET : SOCK_STREAM;

		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 2,
				     SCMP_A0(SCMP_CMP_EQ, AF_UNIX, 0),
				     SCMP_A1(SCMP_CMP_MASKED_EQ, 0xf, type));
	}
	/* devices/virtio/vsock_host.c, seq_socket() */
	for (int i = 0; i < 2 && !r; i++)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(setsockopt), 2,
				     SCMP_A1(SCMP_CMP_EQ, SOL_SOCKET, 0),
				     SCMP_A2(SCMP_CMP_EQ, i ? SO_SNDBUF : SO_PASSCRED, 0));
	return r;
}

/*
 * The supervisor and control thread of a template VM (snapshot_write(),
 * snapshot_take()): the KVM state reads, and the file (opened before the
 * sandbox, or sent over the control socket) cut to size; --out's is linked
 * (/proc/self/fd) as FILE.tmp and renamed to FILE.
 */
static int add_template(scmp_filter_ctx ctx)
{
	static const int sys[] = { SCMP_SYS(ftruncate), SCMP_SYS(rename), SCMP_SYS(renameat),
				   SCMP_SYS(renameat2), SCMP_SYS(linkat), SCMP_SYS(fsync) };
	unsigned long req[32];
	int r = add_list(ctx, sys, ARRAY_SIZE(sys));

	return r ? r : add_ioctls(ctx, req, snapshot_ioctls(req, ARRAY_SIZE(req)));
}

static int sandbox_build(scmp_filter_ctx ctx, enum sandbox_thread kind, int vcpu_fd)
{
	unsigned long req[SANDBOX_MAX_IOCTLS];
	unsigned n = kvm_runtime_ioctls(req, SANDBOX_MAX_IOCTLS - 8);
	int r;

	req[n++] = TUNSETOFFLOAD;
	r = add_list(ctx, sys_common, ARRAY_SIZE(sys_common));
	if (!r)
		r = add_guarded(ctx);
	if (!r && kind == SANDBOX_CTL) {
		r = add_list(ctx, sys_ctl, ARRAY_SIZE(sys_ctl));
		return r ? r : add_ioctls(ctx, req, kvm_irq_line_ioctls(req, SANDBOX_MAX_IOCTLS));
	}
	if (!r && kind == SANDBOX_MAIN) {
		for (size_t i = 0; i < ARRAY_SIZE(ioctl_tty); i++)
			req[n++] = ioctl_tty[i];
		r = add_list(ctx, sys_main, ARRAY_SIZE(sys_main));
		if (!r)
			r = add_main_open(ctx);
	} else if (!r) {
		/* virtio-net: a tap queue attached or detached at activate or VQ_PAIRS_SET */
		req[n++] = TUNSETQUEUE;
		r = add_list(ctx, sys_device, ARRAY_SIZE(sys_device));
	}
	if (!r)
		r = add_ioctls(ctx, req, n);
	if (!r && kind == SANDBOX_VCPU)
		r = add_kvm_run(ctx, vcpu_fd);
	return r;
}

int sandbox_enter_thread(enum sandbox_thread kind, unsigned index, int vcpu_fd)
{
	return sandbox_enter_thread_opts(kind, index, vcpu_fd, 0);
}

int sandbox_enter_thread_opts(enum sandbox_thread kind, unsigned index, int vcpu_fd,
			      unsigned opts)
{
	scmp_filter_ctx ctx;
	int r;

	sandbox_thread_name(kind, index, thread_name, sizeof(thread_name));
	if (__atomic_load_n(&sandbox_mode, __ATOMIC_RELAXED) == VM_SECCOMP_OFF)
		return 0;
	/*
	 * Threads start with every signal blocked; a trap on a blocked SIGSYS
	 * would kill the process without the handler's line.
	 */
	sigset_t sys;

	sigemptyset(&sys);
	sigaddset(&sys, SIGSYS);
	pthread_sigmask(SIG_UNBLOCK, &sys, NULL);
	/* log mode traps too: the handler writes the line and makes the call fail */
	ctx = seccomp_init(SCMP_ACT_TRAP);
	if (!ctx)
		return -ENOMEM;
	r = sandbox_build(ctx, kind, vcpu_fd);
	if (!r && kind == SANDBOX_IO && (opts & SANDBOX_OPT_SOCKETS))
		r = add_io_sockets(ctx);
	else if (!r && kind == SANDBOX_IO && (opts & (SANDBOX_OPT_TIMER | SANDBOX_OPT_EGRESS)))
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(timerfd_settime), 0);
	/* devices/virtio/vsock_host.c, egress_pass(): the type carries SOCK_CLOEXEC */
	if (!r && kind == SANDBOX_IO && (opts & SANDBOX_OPT_EGRESS))
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socketpair), 2,
				     SCMP_A0(SCMP_CMP_EQ, AF_UNIX, 0),
				     SCMP_A1(SCMP_CMP_MASKED_EQ, 0xf, SOCK_STREAM));
	if (!r && (kind == SANDBOX_MAIN || kind == SANDBOX_CTL) && (opts & SANDBOX_OPT_TEMPLATE))
		r = add_template(ctx);
	if (!r)
		r = seccomp_load(ctx);
	seccomp_release(ctx);
	if (r) {
		log_err("seccomp: cannot install the filter of thread %s: %s", thread_name,
			strerror(-r));
		return r;
	}
	if (test_violation[0] && !strcmp(test_violation, thread_name))
		syscall(SYS_getppid); /* debug hook: see sandbox.h */
	return 0;
}
