// SPDX-License-Identifier: MIT
/* vmms.c: VMM command lines, the shared kernel command line, host detection. Prefix bench_. */
#include "bench/vmms.h"

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/proc.h"
#include "boot/cmdline.h"

static const char *const vmm_names[BENCH_NR_VMM_KINDS] = {
	[BENCH_VMM_AGENTVMM] = "agentvmm",
	[BENCH_VMM_QEMU_MICROVM] = "qemu-microvm",
	[BENCH_VMM_QEMU_Q35] = "qemu-q35",
};

/*
 * The kernel parameters agentvmm -v puts before the workload (vmm/vm.c,
 * vm_build_cmdline). Keep in step with it: the guest prints /proc/cmdline and
 * the bench warns when the VMMs' guests saw different lines.
 */
#define AV_CMDLINE_VERBOSE "console=ttyS0 8250.nr_uarts=1 panic=-1 i8042.noaux i8042.nomux " \
			   "loglevel=7 agentvmm.verbose=1"
/*
 * Appended by the bench (agentvmm: --cmdline): the console shows warnings
 * only, as in agentvmm's normal quiet boot, instead of the whole log at
 * loglevel=7 (a polled UART costs several exits per byte). The workload
 * reads the "Run /init" record from the ring buffer with dmesg instead.
 */
#define BENCH_CMDLINE_QUIET "loglevel=4"

/* isa-debug-exit on agentvmm's exit port: QEMU ends when guest-init reports */
#define QEMU_EXIT_DEVICE "isa-debug-exit,iobase=0xf4,iosize=4"

/* Writable storage: exec's argv type is char *const[] (-Wwrite-strings). */
static char wl_sh[] = "sh", wl_c[] = "-c";
static char wl_boot_script[] =
	"echo \"" BENCH_MARK_CMDLINE "$(cat /proc/cmdline)\"; dmesg | grep 'Run /init'; "
	"echo " BENCH_MARK_DONE;
static char wl_idle_script[] = "echo " BENCH_MARK_IDLE "; exec sleep 100000";
static char *const workload_boot[] = { wl_sh, wl_c, wl_boot_script, NULL };
static char *const workload_idle[] = { wl_sh, wl_c, wl_idle_script, NULL };

const char *bench_vmm_name(enum bench_vmm_kind k)
{
	return k < BENCH_NR_VMM_KINDS ? vmm_names[k] : "?";
}

char *const *bench_workload_boot(void)
{
	return workload_boot;
}

char *const *bench_workload_idle(void)
{
	return workload_idle;
}

int bench_parse_vmm_list(struct bench_opts *o, const char *list, char *err, size_t errlen)
{
	char buf[256], *save = NULL, *tok;

	o->vmms[0] = BENCH_VMM_AGENTVMM;
	o->nr_vmms = 1;
	snprintf(buf, sizeof(buf), "%s", list);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		int k;

		for (k = 0; k < BENCH_NR_VMM_KINDS; k++)
			if (strcmp(tok, vmm_names[k]) == 0)
				break;
		if (k == BENCH_NR_VMM_KINDS) {
			snprintf(err, errlen, "--against %s: unknown VMM (qemu-microvm, qemu-q35)",
				 tok);
			return -EINVAL;
		}
		bool dup = false;

		for (unsigned i = 0; i < o->nr_vmms; i++)
			dup |= o->vmms[i] == (enum bench_vmm_kind)k;
		if (!dup)
			o->vmms[o->nr_vmms++] = (enum bench_vmm_kind)k;
	}
	return 0;
}

int bench_kernel_cmdline(const struct bench_opts *o, char *const *workload, char *buf,
			 size_t len)
{
	int argc = 0, n, r;
	size_t used;

	while (workload[argc])
		argc++;
	n = snprintf(buf, len, "%s ", AV_CMDLINE_VERBOSE);
	if (n < 0 || (size_t)n >= len)
		return -ENOSPC;
	used = (size_t)n;
	/* the same encoder agentvmm uses (boot/cmdline.c) */
	r = boot_cmdline_encode_argv(buf + used, len - used, workload, argc);
	if (r < 0)
		return -ENOSPC;
	used += (size_t)r;
	if (!o->console_log) {
		n = snprintf(buf + used, len - used, " %s", BENCH_CMDLINE_QUIET);
		if (n < 0 || (size_t)n >= len - used)
			return -ENOSPC;
	}
	return 0;
}

int bench_vmm_argv(const struct bench_opts *o, enum bench_vmm_kind k, char *const *workload,
		   const char *cmdline, const char *initrd, char *argv[BENCH_ARGV_MAX])
{
	static char cpus[16], mem[24];
	int n = 0;

	snprintf(cpus, sizeof(cpus), "%u", o->cpus);
	snprintf(mem, sizeof(mem), "%u", o->mem_mib);
/* argv strings are never written: drop const the way execv's prototype forces */
#define ARG(s) (argv[n++] = (char *)(uintptr_t)(s))
	if (k == BENCH_VMM_AGENTVMM) {
		ARG(o->agentvmm);
		ARG("-v");
		ARG("--kernel"), ARG(o->kernel);
		if (initrd)
			ARG("--initrd"), ARG(initrd);
		ARG("--cpus"), ARG(cpus);
		ARG("--mem"), ARG(mem);
		if (!o->console_log)
			ARG("--cmdline"), ARG(BENCH_CMDLINE_QUIET);
		ARG("--");
		for (int i = 0; workload[i] && n < BENCH_ARGV_MAX - 1; i++)
			ARG(workload[i]);
	} else {
		ARG(o->qemu);
		ARG("-M"), ARG(k == BENCH_VMM_QEMU_MICROVM ? "microvm" : "q35");
		/* e.g. qboot: q35's SeaBIOS breaks the guest in the nested test host */
		if (k == BENCH_VMM_QEMU_Q35 && o->q35_bios)
			ARG("-bios"), ARG(o->q35_bios);
		ARG("-accel"), ARG("kvm");
		ARG("-cpu"), ARG("host");
		ARG("-smp"), ARG(cpus);
		ARG("-m"), ARG(mem);
		ARG("-nodefaults"), ARG("-no-user-config"), ARG("-display"), ARG("none");
		ARG("-no-reboot");
		ARG("-chardev"), ARG("stdio,id=con,signal=off");
		ARG("-serial"), ARG("chardev:con");
		ARG("-kernel"), ARG(o->kernel);
		ARG("-initrd"), ARG(initrd);
		ARG("-append"), ARG(cmdline);
		ARG("-device"), ARG(QEMU_EXIT_DEVICE);
		/* one stderr line when the VM starts running (vCPUs enter KVM_RUN next) */
		ARG("-trace"), ARG("enable=vm_state_notify");
	}
#undef ARG
	argv[n] = NULL;
	return n;
}

/* What kind of KVM this is: the figures mean different things. */
static void detect_host(struct bench_opts *o)
{
	size_t len;
	char *cpuinfo = bench_read_file("/proc/cpuinfo", &len);
	bool hw = cpuinfo && (strstr(cpuinfo, " vmx") || strstr(cpuinfo, " svm"));
	const char *th = getenv("AV_TESTHOST");

	free(cpuinfo);
	o->host_nested = th && strcmp(th, "1") == 0;
	if (o->host_nested)
		o->host_kind = "nested test host (L2 under QEMU TCG, scripts/testhost.sh): "
			       "absolute figures are meaningless, compare ratios only";
	else if (hw)
		o->host_kind = "hardware KVM (vmx/svm)";
	else
		o->host_kind = "software KVM without vmx/svm: real kernels do not boot here "
			       "(use bench/run-boot.sh, which runs the nested test host)";
}

static void on_line_prime(struct bench_proc *p, int stream, const char *line, uint64_t t)
{
	const struct bench_opts *o = p->opaque;

	if (o->verbose)
		fprintf(stderr, "  [prime %8.1f ms %s] %s\n", (double)(t - p->t_start_ns) / 1e6,
			stream == 1 ? "out" : "err", line);
}

/* Run agentvmm once without --initrd so that it builds its initramfs in tmpdir. */
static int prime_initramfs(struct bench_opts *o, char *err, size_t errlen)
{
	char cmdline[BENCH_CMDLINE_MAX], *argv[BENCH_ARGV_MAX];
	struct bench_proc p, *pp = &p;
	struct dirent *de;
	DIR *d;
	int r;

	if (setenv("AGENTVMM_CACHE_DIR", o->tmpdir, 1) < 0)
		return -errno;
	r = bench_kernel_cmdline(o, bench_workload_boot(), cmdline, sizeof(cmdline));
	if (r)
		return r;
	bench_vmm_argv(o, BENCH_VMM_AGENTVMM, bench_workload_boot(), cmdline, NULL, argv);
	r = bench_proc_spawn(&p, argv, on_line_prime, o);
	if (r) {
		snprintf(err, errlen, "%s: %s", o->agentvmm, strerror(-r));
		return r;
	}
	if (bench_proc_wait(&pp, 1, bench_now_ns() + o->timeout_s * 1000000000ULL, NULL, NULL))
		fprintf(stderr, "agentvmm-bench: the initramfs run timed out\n");
	bench_proc_release(&p);
	d = opendir(o->tmpdir);
	while (d && (de = readdir(d))) {
		size_t l = strlen(de->d_name);

		if (strncmp(de->d_name, "initramfs-", 10) == 0 && l > 5 &&
		    strcmp(de->d_name + l - 5, ".cpio") == 0) {
			snprintf(o->initrd_path, sizeof(o->initrd_path), "%s/%s", o->tmpdir,
				 de->d_name);
			break;
		}
	}
	if (d)
		closedir(d);
	if (!o->initrd_path[0]) {
		snprintf(err, errlen, "agentvmm built no initramfs in %s (rerun with --verbose)",
			 o->tmpdir);
		return -ENOENT;
	}
	return 0;
}

int bench_prepare(struct bench_opts *o, char *err, size_t errlen)
{
	const char *base = getenv("TMPDIR");

	detect_host(o);
	snprintf(o->tmpdir, sizeof(o->tmpdir), "%s/agentvmm-bench.XXXXXX", base ? base : "/tmp");
	if (!mkdtemp(o->tmpdir)) {
		int e = errno;

		snprintf(err, errlen, "mkdtemp %s: %s", o->tmpdir, strerror(e));
		o->tmpdir[0] = '\0';
		return -e;
	}
	if (o->initrd) {
		snprintf(o->initrd_path, sizeof(o->initrd_path), "%s", o->initrd);
		return 0;
	}
	return prime_initramfs(o, err, errlen);
}

void bench_cleanup(struct bench_opts *o)
{
	struct dirent *de;
	char path[PATH_MAX + 256];
	DIR *d;

	if (!o->tmpdir[0] || o->keep_tmp)
		return;
	d = opendir(o->tmpdir);
	while (d && (de = readdir(d))) {
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
			snprintf(path, sizeof(path), "%s/%s", o->tmpdir, de->d_name);
			unlink(path);
		}
	}
	if (d)
		closedir(d);
	rmdir(o->tmpdir);
	o->tmpdir[0] = '\0';
}
