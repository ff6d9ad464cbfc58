// SPDX-License-Identifier: MIT
/*
 * vmms.h: the VMMs agentvmm-bench compares, the options shared by its modes,
 * and how each VMM is started on the same kernel, initramfs and kernel
 * command line.
 */
#ifndef AGENTVMM_BENCH_VMMS_H
#define AGENTVMM_BENCH_VMMS_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

enum bench_vmm_kind {
	BENCH_VMM_AGENTVMM,
	BENCH_VMM_QEMU_MICROVM,
	BENCH_VMM_QEMU_Q35,
	BENCH_NR_VMM_KINDS,
};

#define BENCH_CMDLINE_MAX 4096
#define BENCH_ARGV_MAX 48

/* Markers the guest workloads print on the console (whole lines). */
#define BENCH_MARK_DONE "AVBENCH-DONE"
#define BENCH_MARK_IDLE "AVBENCH-IDLE"
#define BENCH_MARK_CMDLINE "AVBENCH-CMDLINE "
/* guest-init's first verbose line (guest-init/init.c), printed with agentvmm.verbose=1 */
#define BENCH_MARK_INIT "agentvmm-init: started"
/* init/main.c: pr_info("Run %s as init process\n", ...) */
#define BENCH_PRINTK_INIT "Run /init as init process"

struct bench_opts {
	const char *kernel, *initrd, *agentvmm, *qemu, *json, *plot;
	const char *q35_bios;    /* --q35-bios: firmware for -M q35 (NULL: QEMU's SeaBIOS) */
	unsigned runs, warmup, cpus, mem_mib, count, timeout_s, budget_mib;
	bool console_log, keep_tmp, verbose;
	enum bench_vmm_kind vmms[BENCH_NR_VMM_KINDS];
	unsigned nr_vmms;
	/* filled by bench_prepare() */
	char tmpdir[PATH_MAX];
	char initrd_path[PATH_MAX + 256];
	const char *host_kind;   /* "hardware KVM", "nested test host", ... */
	bool host_nested;
};

/* bench_vmm_name() - "agentvmm", "qemu-microvm" or "qemu-q35". */
const char *bench_vmm_name(enum bench_vmm_kind k);

/*
 * bench_parse_vmm_list() - parse a comma-separated list of VMM names
 * ("qemu-microvm,qemu-q35") into (o)->vmms after agentvmm, which always
 * comes first. Return: 0; -EINVAL with the bad name in (err).
 */
int bench_parse_vmm_list(struct bench_opts *o, const char *list, char *err, size_t errlen);

/*
 * bench_workload_boot() / bench_workload_idle() - the guest command (argv
 * for "sh -c SCRIPT") of the boot mode (prints its kernel command line, the
 * kernel's "Run /init" record, then BENCH_MARK_DONE) and of the density mode
 * (prints BENCH_MARK_IDLE, then sleeps).
 */
char *const *bench_workload_boot(void);
char *const *bench_workload_idle(void);

/*
 * bench_kernel_cmdline() - the kernel command line agentvmm builds for
 * (workload) with -v (vmm/vm.c, vm_build_cmdline) plus the bench's own
 * additions, into (buf); QEMU gets exactly this line.
 * Return: 0; -ENOSPC.
 */
int bench_kernel_cmdline(const struct bench_opts *o, char *const *workload, char *buf,
			 size_t len) __attribute__((warn_unused_result));

/*
 * bench_vmm_argv() - argv for one run of (k) with (workload), NULL-ended,
 * into (argv) (BENCH_ARGV_MAX entries); strings live in (o), (workload),
 * (cmdline) or static storage. (initrd) NULL lets agentvmm build its own.
 * Return: the number of arguments.
 */
int bench_vmm_argv(const struct bench_opts *o, enum bench_vmm_kind k, char *const *workload,
		   const char *cmdline, const char *initrd, char *argv[BENCH_ARGV_MAX]);

/*
 * bench_prepare() - say what kind of KVM host this is, make the temporary
 * directory, and, without --initrd, run agentvmm once (a discarded warm-up
 * run) with AGENTVMM_CACHE_DIR pointing there so its initramfs lands in
 * (o)->initrd_path, which every VMM then boots.
 * Return: 0; -errno with a message in (err).
 */
int bench_prepare(struct bench_opts *o, char *err, size_t errlen)
	__attribute__((warn_unused_result));

/* bench_cleanup() - remove the temporary directory unless --keep-tmp. */
void bench_cleanup(struct bench_opts *o);

#endif /* AGENTVMM_BENCH_VMMS_H */
