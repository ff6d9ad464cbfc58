// SPDX-License-Identifier: MIT
/*
 * vm.c: VM lifecycle: create (input checks, then KVM, RAM, devices, kernel),
 * start (vCPUs, I/O and supervisor threads), pause/resume, stop, wait, destroy.
 */
#include "vmm/vm.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "agentvmm.h"
#include "boot/cmdline.h"
#include "boot/layout.h"
#include "devices/platform.h"
#include "vmm/console.h"
#include "vmm/initramfs.h"
#include "vmm/log.h"
#include "vmm/ctl.h"
#include "vmm/sandbox.h"
#include "vmm/snapshot.h"
#include "vmm/vm_devices.h"
#include "vmm/vm_input.h"
#include "vmm/vm_power.h"

#define VM_CMDLINE_MAX 4096

uint64_t vm_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

void vm_request_stop(struct vm *vm, enum vm_stop_reason reason, int status)
{
	bool first = false;

	pthread_mutex_lock(&vm->lock);
	if (vm->stop_reason == VM_RUNNING) {
		vm->stop_status = status;
		vm->times.stop = vm_now_ns();
		/* pairs with the acquire load at the top of the vCPU loop */
		__atomic_store_n(&vm->stop_reason, reason, __ATOMIC_RELEASE);
		if (vm->state == VM_STARTED || vm->state == VM_PAUSED)
			vm->state = VM_STOPPING;
		pthread_cond_broadcast(&vm->cond); /* parked vCPUs leave */
		first = true;
	}
	pthread_mutex_unlock(&vm->lock);
	if (first && vm->stop_efd >= 0) {
		uint64_t one = 1;
		ssize_t w = write(vm->stop_efd, &one, sizeof(one));
		(void)w;
	}
}

void vm_fail(struct vm *vm, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	log_err("%s", buf);
	vm_request_stop(vm, VM_STOP_FAILURE, VM_STATUS_HOST_FAILURE);
}

int vm_guest_status(int status)
{
	const char *ours = status == VM_STATUS_HOST_FAILURE ? "host-failure" :
			   status == VM_STATUS_GUEST_CRASH  ? "guest-crash" :
			   status == VM_STATUS_KILLED       ? "kill" : NULL;

	if (ours)
		log_warn("guest reported exit status %d: the workload's own, not agentvmm's %s "
			 "status", status, ours);
	return status;
}

/* Power events from the platform devices (vCPU thread). */
static void vm_power_event(void *opaque, enum power_event ev, uint32_t value)
{
	struct vm *vm = opaque;

	switch (ev) {
	case POWER_EXIT_STATUS:
		/* relaxed atomic: avm_info() may read it while the VM runs */
		__atomic_store_n(&vm->reported_status, (int)value, __ATOMIC_RELAXED);
		vm_request_stop(vm, VM_STOP_STATUS, (int)value);
		break;
	case POWER_OFF:
		vm_request_stop(vm, VM_STOP_POWEROFF, 0);
		break;
	case POWER_RESET:
		vm_request_stop(vm, VM_STOP_RESET, 0);
		break;
	case POWER_PANIC:
		vm_request_stop(vm, VM_STOP_PANIC, VM_STATUS_GUEST_CRASH);
		break;
	case POWER_BOOTMARK:
		if (value == AV_BOOTMARK_TEMPLATE_READY && vm->cfg->template_out)
			vm_request_stop(vm, VM_STOP_TEMPLATE, 0);
		else if (value == AV_BOOTMARK_TEMPLATE_READY && vm->cfg->template)
			vm_template_hold(vm); /* until snapshot_take() */
		if (value >= 1 && value < ARRAY_SIZE(vm->times.marks) && !vm->times.marks[value])
			vm->times.marks[value] = vm_now_ns();
		break;
	}
}

static void vm_irq_set(void *opaque, uint32_t gsi, bool level)
{
	struct vm *vm = opaque;

	if (kvm_irq_line(&vm->kvm, gsi, level) < 0)
		log_guest_ratelimited("KVM_IRQ_LINE gsi %u failed", gsi);
}

/*
 * A console write waiting for a full sink ends when the VM is stopping or
 * pausing (vm_pause() waits for every vCPU to park). Both are set before the
 * vCPUs are kicked, and the kick interrupts the wait's poll().
 */
static bool vm_console_give_up(void *opaque)
{
	struct vm *vm = opaque;

	/* pairs with the release stores in vm_request_stop() and vm_pause() */
	return __atomic_load_n(&vm->stop_reason, __ATOMIC_ACQUIRE) != VM_RUNNING ||
	       __atomic_load_n(&vm->pause_req, __ATOMIC_ACQUIRE);
}

/*
 * COM1's bytes (vCPU thread, UART lock held). A slow reader is back-pressure
 * on this vCPU, never past a stop or pause; a file stops at its limit; a
 * terminal sees only filtered output (vmm/console.h).
 */
static void vm_console_out(void *opaque, const uint8_t *buf, size_t len)
{
	struct vm *vm = opaque;

	__atomic_fetch_add(&vm->console_bytes, len, __ATOMIC_RELAXED);
	con_out_write(vm->con, buf, len, vm_console_give_up, vm);
}

static int vm_add_devices(struct vm *vm)
{
	struct irq_line com1_irq = { .set = vm_irq_set, .opaque = vm, .gsi = BOOT_COM1_IRQ };
	struct irq_line ged_irq = { .set = vm_irq_set, .opaque = vm, .gsi = BOOT_GED_GSI };
	int r;

	vm->power = (struct power_sink){ .event = vm_power_event, .opaque = vm };
	uart_init(&vm->com1, &com1_irq, vm_console_out, vm);
	vm->com1_ready = true;
	ged_init(&vm->ged, &ged_irq);
	vm->ged_ready = true;

	/* fixed registration order, so the bus layout is the same every boot */
	r = iobus_register(&vm->pio, BOOT_PORT_COM1, UART_REGS, &uart_ops, &vm->com1, "com1");
	if (!r)
		r = iobus_register(&vm->pio, AV_EXIT_PORT, 4, &exit_port_ops, &vm->power, "exit");
	if (!r)
		r = iobus_register(&vm->pio, AV_BOOTMARK_PORT, 4, &bootmark_ops, &vm->power,
				   "bootmark");
	if (!r)
		r = iobus_register(&vm->pio, BOOT_PORT_ACPI_SLEEP_CTL, 3, &acpi_pm_ops, &vm->power,
				   "acpi-pm");
	if (!r)
		r = iobus_register(&vm->pio, BOOT_PORT_PVPANIC, 1, &pvpanic_ops, &vm->power,
				   "pvpanic");
	/* 0xcf9 (reset control) sits inside the PCI ports: the PCI bus forwards it */
	if (!r)
		r = iobus_register(&vm->pio, BOOT_PORT_I8042_DATA,
				   BOOT_PORT_I8042_CMD - BOOT_PORT_I8042_DATA + 1, &i8042_ops,
				   &vm->power, "i8042");
	if (!r)
		r = iobus_register(&vm->pio, BOOT_PORT_GED, GED_REG_LEN, &ged_ops, &vm->ged, "ged");
	if (!r)
		r = iobus_register(&vm->pio, AV_RESTORE_PORT, 4, &restore_port_ops,
				   &vm->restore_port, "restore");
	return r;
}

/* agentvmm's kernel parameters, then the workload argv, then the user's --cmdline. */
static int vm_build_cmdline(const struct vm_config *cfg, char *buf, size_t len, char *err,
			    size_t errlen)
{
	bool loud = cfg->verbose || cfg->console_log;
	/*
	 * quiet only for our own initramfs: a system with its own initrd (NixOS
	 * under microvm.nix) keeps the kernel's default level, its journal wants
	 * the boot log
	 */
	const char *level = loud ? " loglevel=7" : cfg->initrd ? "" : " quiet loglevel=1";
	int n = snprintf(buf, len,
			 "console=ttyS0 8250.nr_uarts=1 panic=-1 i8042.noaux i8042.nomux%s%s",
			 level,
			 cfg->verbose ? " agentvmm.verbose=1" : "");
	size_t used = (size_t)n;

	if (cfg->balloon.enabled && cfg->balloon.reporting &&
	    cfg->balloon.reporting_order != VM_BALLOON_REPORTING_ORDER) {
		/* free blocks the guest reports: 2^N pages and up (--balloon reporting-order) */
		n = snprintf(buf + used, len - used, " page_reporting.page_reporting_order=%u",
			     cfg->balloon.reporting_order);
		if (n < 0 || (size_t)n >= len - used)
			goto too_long;
		used += (size_t)n;
	}
	if (cfg->template && !cfg->raw_image) {
		/* guest-init stops at the ready mark, then reads the restore port */
		n = snprintf(buf + used, len - used, " agentvmm.template=1");
		if (n < 0 || (size_t)n >= len - used)
			goto too_long;
		used += (size_t)n;
	}
	if (cfg->egress.enabled) {
		/* guest-init's forwarder to the egress proxy (docs/net.md "Egress") */
		n = snprintf(buf + used, len - used, " agentvmm.egress=1");
		if (n < 0 || (size_t)n >= len - used)
			goto too_long;
		used += (size_t)n;
	}
	if (config_session(cfg)) {
		/* the job comes over vsock (vm_session.c), not on this line */
		n = snprintf(buf + used, len - used, " agentvmm.session=%s",
			     cfg->await_job ? "await" : "1");
		if (n < 0 || (size_t)n >= len - used)
			goto too_long;
		used += (size_t)n;
	} else if (cfg->argc > 0) {
		buf[used++] = ' ';
		if (boot_cmdline_encode_argv(buf + used, len - used, cfg->argv, cfg->argc) < 0)
			goto too_long;
		used += strlen(buf + used);
	}
	if (vm_devices_cmdline(cfg, buf + used, len - used) < 0)
		goto too_long;
	used += strlen(buf + used);
	if (cfg->cmdline && *cfg->cmdline) {
		n = snprintf(buf + used, len - used, " %s", cfg->cmdline);
		if (n < 0 || (size_t)n >= len - used)
			goto too_long;
	}
	return 0;
too_long:
	snprintf(err, errlen, "kernel command line too long (the command after -- and --cmdline "
		 "must fit in %zu bytes)", len);
	return -EINVAL;
}

static int vm_create_vcpus(struct vm *vm, const struct boot_cpu_state *boot, char *err,
			   size_t errlen)
{
	unsigned n = vm->cfg->cpus; /* within KVM's limit: checked after kvm_open() */

	vm->vcpus = calloc(n, sizeof(*vm->vcpus));
	if (!vm->vcpus)
		return -ENOMEM;
	for (unsigned i = 0; i < n; i++) {
		struct vcpu *v = &vm->vcpus[i];

		v->vm = vm;
		v->id = i;
		v->fd = kvm_vcpu_create(&vm->kvm, i, n, i == 0 ? boot : NULL, &v->run);
		if (v->fd < 0) {
			int r = v->fd;

			snprintf(err, errlen, "cannot create vCPU %u: %s", i, strerror(-r));
			return r;
		}
		vm->nr_vcpus = i + 1;
	}
	return 0;
}

/* --raw-image: flat code at VM_RAW_IMAGE_GPA, entered in real mode at 0000:1000. */
static int vm_load_raw(struct vm *vm, struct boot_cpu_state *cpu, char *err, size_t errlen)
{
	if (gm_write(&vm->gm, VM_RAW_IMAGE_GPA, vm->raw_image, vm->raw_len) < 0) {
		snprintf(err, errlen, "--raw-image %s: does not fit in guest RAM",
			 vm->cfg->raw_image);
		return -EINVAL;
	}
	free(vm->raw_image);
	vm->raw_image = NULL;
	struct boot_seg code = { .limit = 0xffff, .type = 0xb, .present = 1, .s = 1 };
	struct boot_seg data = { .limit = 0xffff, .type = 0x3, .present = 1, .s = 1 };
	struct boot_seg tss = { .limit = 0xffff, .type = 0xb, .present = 1 };
	struct boot_seg ldt = { .limit = 0xffff, .type = 0x2, .present = 1 };
	*cpu = (struct boot_cpu_state){
		.rip = VM_RAW_IMAGE_GPA, .rsp = VM_RAW_IMAGE_GPA, .rflags = 0x2, .cr0 = 0x60000010,
		.cs = code, .ds = data, .es = data, .fs = data, .gs = data, .ss = data,
		.tr = tss, .ldt = ldt, .gdt = { .limit = 0xffff }, .idt = { .limit = 0x3ff },
	};
	vm->boot.kind = BOOT_KIND_NONE;
	return 0;
}

static void vm_init_empty(struct vm *vm, const struct vm_config *cfg)
{
	memset(vm, 0, sizeof(*vm));
	vm->cfg = cfg;
	kvm_init_empty(&vm->kvm);
	gm_init_empty(&vm->gm);
	evl_init_empty(&vm->evl);
	log_limit_init(&vm->log_limit);
	iobus_init(&vm->pio, "pio");
	iobus_init(&vm->mmio, "mmio");
	pthread_condattr_t ca;

	pthread_mutex_init(&vm->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&vm->cond, &ca);
	pthread_condattr_destroy(&ca);
	vm->stop_efd = -1;
	vm->boot_log_fd = -1;
	vm->done_efd = -1;
	vm->power_efd = -1;
	vm->console_fd = -1;
	vm->reported_status = -1;
	vm->snap_out.fd = -1;
	restore_port_init(&vm->restore_port);
}

/* After /dev/kvm: the initramfs, guest RAM and the kernel in it. */
static int vm_create_memory(struct vm *vm, const char *cmdline, struct boot_cpu_state *boot_cpu,
			    char *err, size_t errlen)
{
	const struct vm_config *cfg = vm->cfg;
	int r;

	if (!cfg->initrd && !cfg->raw_image && !cfg->restore) {
		r = vm_default_initramfs(cfg, &vm->initrd_path, err, errlen);
		if (r)
			return r;
	}
	/* a memfd only where a vhost-user back end (virtiofsd) must map guest RAM */
	r = gm_create_opts(&vm->gm, cfg->mem_mib << 20, BOOT_MMIO_HOLE_GPA,
			   cfg->nr_shares ? 0 : GM_PRIVATE);
	if (r) {
		snprintf(err, errlen, "--mem %llu: cannot allocate guest RAM: %s",
			 (unsigned long long)cfg->mem_mib, strerror(-r));
		return r == -EINVAL ? r : -ENOMEM;
	}
	if (cfg->ksm) {
		r = gm_mergeable(&vm->gm);
		if (r) {
			snprintf(err, errlen, "--ksm: madvise(MADV_MERGEABLE): %s (a kernel "
				 "without CONFIG_KSM?)", strerror(-r));
			return r;
		}
	}
	r = kvm_map_memory(&vm->kvm, &vm->gm);
	if (r) {
		snprintf(err, errlen, "cannot map guest RAM into KVM: %s", strerror(-r));
		return r;
	}
	if (cfg->restore) {
		/* no boot: RAM is the template's (boot/ is not used at all) */
		vm->boot.kind = BOOT_KIND_NONE;
		oem_strings_free(&vm->oem);
		return snapshot_restore_memory(vm, err, errlen);
	}
	if (cfg->raw_image)
		return vm_load_raw(vm, boot_cpu, err, errlen);
	struct boot_config bc = {
		.kernel_path = cfg->kernel,
		.initrd_path = cfg->initrd ? cfg->initrd : vm->initrd_path,
		.cmdline = cmdline,
		.nr_cpus = cfg->cpus,
		.pci = true,
		.version = avm_version(),
		.oem_strings = (const char *const *)vm->oem.str,
		.nr_oem_strings = vm->oem.nr,
	};
	r = boot_setup(&vm->gm, &bc, boot_cpu, &vm->boot, err, errlen);
	oem_strings_free(&vm->oem); /* in guest RAM now: credentials live no longer here */
	return r;
}

/* One eventfd into (*fd). */
static int vm_eventfd(int *fd, char *err, size_t errlen)
{
	*fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (*fd < 0) {
		int r = -errno;

		snprintf(err, errlen, "eventfd: %s", strerror(-r));
		return r;
	}
	return 0;
}

int vm_create(struct vm *vm, const struct vm_config *cfg, char *err, size_t errlen)
{
	struct boot_cpu_state boot_cpu;
	char cmdline[VM_CMDLINE_MAX];
	int r;

	vm_init_empty(vm, cfg);
	vm->times.start = vm_now_ns();

	r = vm_build_cmdline(cfg, cmdline, sizeof(cmdline), err, errlen);
	if (!r)
		r = vm_check_input(vm, err, errlen);
	if (!r && (cfg->template || cfg->restore))
		r = snapshot_prepare(vm, err, errlen);
	if (r)
		return r;
	/* only once the input is good: a host without KVM is reported last */
	r = kvm_open(&vm->kvm, err, errlen);
	if (r)
		return r;
	if (cfg->cpus > vm->kvm.max_vcpus) {
		snprintf(err, errlen, "--cpus %u: KVM allows at most %u", cfg->cpus,
			 vm->kvm.max_vcpus);
		return -EINVAL;
	}
	if (cfg->template || cfg->restore) {
		r = snapshot_check_host(vm, err, errlen);
		if (r)
			return r;
	}
	/* from here on things are created: the initramfs cache file, RAM, virtiofsd, ... */
	r = vm_create_memory(vm, cmdline, &boot_cpu, err, errlen);
	if (r)
		return r;
	r = vm_devices_create(vm, err, errlen);
	if (r)
		return r;
	/* evl_init() in vm_devices_create() zeroed it: the I/O thread binds this VM's limiter */
	vm->evl.log_limit = &vm->log_limit;
	r = vm_add_devices(vm);
	if (r) {
		snprintf(err, errlen, "cannot register devices: %s", strerror(-r));
		return r;
	}
	r = vm_create_vcpus(vm, cfg->restore ? NULL : &boot_cpu, err, errlen);
	if (!r && cfg->restore) {
		r = snapshot_restore_state(vm, err, errlen);
		if (!r)
			r = snapshot_restore_config(vm, cmdline, err, errlen);
	}
	if (!r && cfg->template_out)
		r = snapshot_template_open(vm, err, errlen);
	if (!r)
		r = vm_eventfd(&vm->stop_efd, err, errlen);
	if (!r)
		r = vm_eventfd(&vm->done_efd, err, errlen);
	if (!r)
		r = vm_eventfd(&vm->power_efd, err, errlen);
	if (r)
		return r;
	r = vcpu_signal_setup();
	if (r) {
		snprintf(err, errlen, "signal setup: %s", strerror(-r));
		return r;
	}
	r = vm_console_create(vm, err, errlen);
	if (r)
		return r;
	r = vm_devices_prepare(vm, err, errlen);
	if (r)
		return r;
	if (vm->kvm.software && !cfg->raw_image &&
	    !(cfg->restore && vm->snap_id.boot_kind == SNAP_BOOT_RAW))
		log_warn("%s runs guest kernel code by emulation (no vmx/svm): a stock "
			 "Linux kernel will not boot at usable speed", kvm_device_path());
	log_info("%s%s loaded, %u vCPU(s), %llu MiB", cfg->restore ? "template of a " : "",
		 vm->boot.kind == BOOT_KIND_PVH ? "PVH kernel" :
		 vm->boot.kind == BOOT_KIND_BZIMAGE ? "bzImage kernel" : "raw image", cfg->cpus, (unsigned long long)cfg->mem_mib);
	return 0;
}

/*
 * Resident KiB of this process (VmRSS from /proc/self/status: one small read)
 * and of guest RAM (mincore over the RAM mapping: with huge pages a few
 * hundred entries; reading smaps walked every page of guest RAM and cost tens
 * of ms at exit in the test host). Guest RAM is a memfd or anonymous memory
 * (vmm/guest_mem.h), so RssShmem alone no longer names it.
 */
static void vm_rss_kib(const struct vm *vm, uint64_t *total, uint64_t *guest)
{
	char buf[2048];
	int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
	const char *p;
	unsigned long long kb;

	*total = *guest = 0;
	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return;
	buf[n] = '\0';
	p = strstr(buf, "\nVmRSS:");
	if (p && sscanf(p, "\nVmRSS: %llu kB", &kb) == 1)
		*total = kb;
	kb = gm_resident_bytes(&vm->gm) >> 10;
	*guest = kb < *total ? kb : *total;
}

/*
 * -v: host-side boot phases, relative to vm_create(), and memory use. Memory
 * is read before teardown (rss), "torn down" is taken after it (now).
 */
static void vm_report_times(const struct vm *vm, uint64_t now, uint64_t total, uint64_t guest)
{
	const struct vm_times *t = &vm->times;
	double ms[6];
	const uint64_t at[6] = { t->first_run, t->marks[1], t->marks[2], t->marks[3], t->stop,
				 now };

	for (int i = 0; i < 6; i++)
		ms[i] = at[i] ? (double)(at[i] - t->start) / 1e6 : -1;
	log_info("times (ms since start): first KVM_RUN %.2f, guest-init %.1f, workload %.1f, "
		 "workload done %.1f, stop %.1f, torn down %.1f", ms[0], ms[1], ms[2], ms[3], ms[4],
		 ms[5]);
	log_info("memory: RSS %llu KiB, of which guest RAM %llu KiB, VMM %llu KiB",
		 (unsigned long long)total, (unsigned long long)guest,
		 (unsigned long long)(total - guest));
	log_info("clock: vm_create at CLOCK_MONOTONIC %llu.%06llu ms",
		 (unsigned long long)(t->start / 1000000),
		 (unsigned long long)(t->start % 1000000));
}

void vm_destroy(struct vm *vm)
{
	bool report = vm->cfg && __atomic_load_n(&vm->times.first_run, __ATOMIC_RELAXED) &&
		      log_get_level() >= LOG_INFO;
	uint64_t total = 0, guest = 0;

	if (!vm->cfg)
		return;
	/* the control thread calls into the VM: it goes first */
	ctl_server_stop(vm->ctl);
	vm->ctl = NULL;
	if (report)
		vm_rss_kib(vm, &total, &guest);
	if (vm->supervisor_started) {
		vm_request_stop(vm, VM_STOP_REQUEST, VM_STATUS_KILLED);
		pthread_join(vm->supervisor, NULL);
		vm->supervisor_started = false;
	}
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		vcpu_kick(&vm->vcpus[i]);
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *v = &vm->vcpus[i];

		vcpu_join(v);
		if (v->run)
			munmap(v->run, (size_t)vm->kvm.run_size);
		if (v->fd >= 0)
			close(v->fd);
	}
	free(vm->vcpus);
	vm->vcpus = NULL;
	vm->nr_vcpus = 0;
	vm_session_destroy(vm); /* its thread is gone with the supervisor; before the device */
	vm_devices_destroy(vm);
	vm_tty_restore(vm);
	if (vm->com1_ready)
		uart_fini(&vm->com1);
	if (vm->ged_ready)
		ged_fini(&vm->ged);
	if (vm->stop_efd >= 0)
		close(vm->stop_efd);
	if (vm->boot_log_fd >= 0)
		close(vm->boot_log_fd);
	vm->boot_log_fd = -1;
	if (vm->done_efd >= 0)
		close(vm->done_efd);
	if (vm->power_efd >= 0)
		close(vm->power_efd);
	vm_console_release(vm);
	snapshot_release(vm); /* an unfinished FILE.tmp goes */
	restore_port_destroy(&vm->restore_port);
	gm_destroy(&vm->gm);
	kvm_close(&vm->kvm);
	free(vm->initrd_path);
	free(vm->raw_image);
	vm->raw_image = NULL;
	oem_strings_free(&vm->oem);
	if (report)
		vm_report_times(vm, vm_now_ns(), total, guest);
	pthread_cond_destroy(&vm->cond);
	pthread_mutex_destroy(&vm->lock);
	vm->cfg = NULL;
}
