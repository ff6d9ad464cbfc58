// SPDX-License-Identifier: MIT
/* vm.c: VM lifecycle: create (KVM, RAM, devices, kernel), run (vCPUs, console, signals), destroy. */
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
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "boot/cmdline.h"
#include "boot/layout.h"
#include "devices/platform.h"
#include "vmm/initramfs.h"
#include "vmm/log.h"
#include "vmm/vm_devices.h"

#define VM_CMDLINE_MAX 4096
#define CONSOLE_ESCAPE 0x01 /* Ctrl-A, then x quits */

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

/* Power events from the platform devices (vCPU thread). */
static void vm_power_event(void *opaque, enum power_event ev, uint32_t value)
{
	struct vm *vm = opaque;

	switch (ev) {
	case POWER_EXIT_STATUS:
		vm->reported_status = (int)value;
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

static void vm_console_out(void *opaque, const uint8_t *buf, size_t len)
{
	/* a full pipe blocks this vCPU: back-pressure, never lost console bytes */
	while (len) {
		ssize_t w = write(STDOUT_FILENO, buf, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		buf += w;
		len -= (size_t)w;
	}
}

static int vm_add_devices(struct vm *vm)
{
	struct irq_line com1_irq = { .set = vm_irq_set, .opaque = vm, .gsi = BOOT_COM1_IRQ };
	int r;

	vm->power = (struct power_sink){ .event = vm_power_event, .opaque = vm };
	uart_init(&vm->com1, &com1_irq, vm_console_out, vm);
	vm->com1_ready = true;

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
	return r;
}

/* agentvmm's kernel parameters, then the workload argv, then the user's --cmdline. */
static int vm_build_cmdline(const struct vm_config *cfg, char *buf, size_t len, char *err,
			    size_t errlen)
{
	bool loud = cfg->verbose || cfg->console_log;
	int n = snprintf(buf, len,
			 "console=ttyS0 8250.nr_uarts=1 panic=-1 i8042.noaux i8042.nomux %s%s",
			 loud ? "loglevel=7" : "quiet loglevel=1",
			 cfg->verbose ? " agentvmm.verbose=1" : "");
	size_t used = (size_t)n;

	if (cfg->argc > 0) {
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
	unsigned n = vm->cfg->cpus;

	if (n > vm->kvm.max_vcpus) {
		snprintf(err, errlen, "--cpus %u: KVM allows at most %u", n, vm->kvm.max_vcpus);
		return -EINVAL;
	}
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

static int vm_setup_signals(struct vm *vm)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGQUIT);
	sigaddset(&set, SIGPIPE);
	/* blocked in every thread (vCPUs inherit the mask), read via signalfd */
	if (pthread_sigmask(SIG_BLOCK, &set, NULL))
		return -EINVAL;
	sigdelset(&set, SIGPIPE);
	vm->sig_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	return vm->sig_fd < 0 ? -errno : 0;
}

/* --raw-image: flat code at VM_RAW_IMAGE_GPA, entered in real mode at 0000:1000. */
static int vm_load_raw(struct vm *vm, struct boot_cpu_state *cpu, char *err, size_t errlen)
{
	const char *path = vm->cfg->raw_image;
	uint8_t buf[VM_RAW_IMAGE_MAX];
	FILE *f = fopen(path, "rbe");
	size_t n;

	if (!f) {
		int r = -errno;

		snprintf(err, errlen, "--raw-image %s: %s", path, strerror(-r));
		return r;
	}
	n = fread(buf, 1, sizeof(buf), f);
	bool too_big = fgetc(f) != EOF;
	fclose(f);
	if (n == 0 || too_big) {
		snprintf(err, errlen, "--raw-image %s: must be 1 to %u bytes", path,
			 VM_RAW_IMAGE_MAX);
		return -EINVAL;
	}
	if (gm_write(&vm->gm, VM_RAW_IMAGE_GPA, buf, n) < 0) {
		snprintf(err, errlen, "--raw-image %s: does not fit in guest RAM", path);
		return -EINVAL;
	}
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
	iobus_init(&vm->pio, "pio");
	iobus_init(&vm->mmio, "mmio");
	pthread_mutex_init(&vm->lock, NULL);
	vm->stop_efd = -1;
	vm->sig_fd = -1;
	vm->reported_status = -1;
}

int vm_create(struct vm *vm, const struct vm_config *cfg, char *err, size_t errlen)
{
	struct boot_cpu_state boot_cpu;
	char cmdline[VM_CMDLINE_MAX];
	int r;

	vm_init_empty(vm, cfg);
	vm->times.start = vm_now_ns();
	vm->interactive = cfg->argc == 0;
	/*
	 * First: a SIGTERM/SIGINT during setup (initramfs build, virtiofsd start,
	 * boot) waits in the signalfd and ends the VM through the normal teardown,
	 * instead of killing us with things half made (docs/faults.md).
	 */
	r = vm_setup_signals(vm);
	if (r) {
		snprintf(err, errlen, "signal setup: %s", strerror(-r));
		return r;
	}

	r = vm_build_cmdline(cfg, cmdline, sizeof(cmdline), err, errlen);
	if (r)
		return r;
	/* refuse a bad kernel before anything is created or cached */
	if (!cfg->raw_image) {
		enum boot_kernel_kind kind;

		r = boot_probe(cfg->kernel, &kind, err, errlen);
		if (r)
			return r;
	}
	r = share_check(cfg, err, errlen);
	if (r)
		return r;
	if (!cfg->initrd && !cfg->raw_image) {
		r = vm_default_initramfs(cfg, &vm->initrd_path, err, errlen);
		if (r)
			return r;
	}
	r = kvm_open(&vm->kvm, err, errlen);
	if (r)
		return r;
	r = gm_create(&vm->gm, cfg->mem_mib << 20, BOOT_MMIO_HOLE_GPA);
	if (r) {
		snprintf(err, errlen, "--mem %llu: cannot allocate guest RAM: %s",
			 (unsigned long long)cfg->mem_mib, strerror(-r));
		return r == -EINVAL ? r : -ENOMEM;
	}
	r = kvm_map_memory(&vm->kvm, &vm->gm);
	if (r) {
		snprintf(err, errlen, "cannot map guest RAM into KVM: %s", strerror(-r));
		return r;
	}
	r = vm_devices_create(vm, err, errlen);
	if (r)
		return r;
	struct boot_config bc = {
		.kernel_path = cfg->kernel,
		.initrd_path = cfg->initrd ? cfg->initrd : vm->initrd_path,
		.cmdline = cmdline,
		.nr_cpus = cfg->cpus,
		.pci = true,
	};
	if (cfg->raw_image)
		r = vm_load_raw(vm, &boot_cpu, err, errlen);
	else
		r = boot_setup(&vm->gm, &bc, &boot_cpu, &vm->boot, err, errlen);
	if (r)
		return r;
	r = vm_add_devices(vm);
	if (r) {
		snprintf(err, errlen, "cannot register devices: %s", strerror(-r));
		return r;
	}
	r = vm_create_vcpus(vm, &boot_cpu, err, errlen);
	if (r)
		return r;
	vm->stop_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vm->stop_efd < 0) {
		r = -errno;
		snprintf(err, errlen, "eventfd: %s", strerror(-r));
		return r;
	}
	r = vcpu_signal_setup();
	if (r) {
		snprintf(err, errlen, "signal setup: %s", strerror(-r));
		return r;
	}
	r = vm_devices_prepare(vm, err, errlen);
	if (r)
		return r;
	if (vm->kvm.software && !cfg->raw_image)
		log_warn("/dev/kvm runs guest kernel code by emulation (no vmx/svm): a stock "
			 "Linux kernel will not boot at usable speed");
	log_info("%s loaded, %u vCPU(s), %llu MiB", vm->boot.kind == BOOT_KIND_PVH ? "PVH kernel" :
		 vm->boot.kind == BOOT_KIND_BZIMAGE ? "bzImage kernel" : "raw image", cfg->cpus, (unsigned long long)cfg->mem_mib);
	return 0;
}

static void vm_tty_raw(struct vm *vm)
{
	struct termios t;

	if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &vm->tty_saved) < 0)
		return;
	t = vm->tty_saved;
	cfmakeraw(&t);
	if (tcsetattr(STDIN_FILENO, TCSANOW, &t) == 0)
		vm->tty_raw = true;
}

static void vm_tty_restore(struct vm *vm)
{
	if (vm->tty_raw) {
		tcsetattr(STDIN_FILENO, TCSANOW, &vm->tty_saved);
		vm->tty_raw = false;
	}
}

/* Host keyboard → COM1; Ctrl-A x quits, Ctrl-A Ctrl-A sends one Ctrl-A. */
static bool vm_console_in(struct vm *vm, bool *escape)
{
	uint8_t in[256], out[256];
	size_t n = 0;
	ssize_t r = read(STDIN_FILENO, in, sizeof(in));

	if (r <= 0)
		return r < 0 && (errno == EINTR || errno == EAGAIN);
	for (ssize_t i = 0; i < r; i++) {
		if (*escape) {
			*escape = false;
			if (in[i] == 'x' || in[i] == 'X') {
				vm_request_stop(vm, VM_STOP_USER_QUIT, 0);
				break;
			}
			if (in[i] != CONSOLE_ESCAPE)
				continue;
		} else if (in[i] == CONSOLE_ESCAPE) {
			*escape = true;
			continue;
		}
		out[n++] = in[i];
	}
	if (n)
		uart_receive(&vm->com1, out, n);
	return true;
}

static void vm_handle_signal(struct vm *vm)
{
	struct signalfd_siginfo si;

	while (read(vm->sig_fd, &si, sizeof(si)) == sizeof(si))
		vm_request_stop(vm, VM_STOP_SIGNAL, 128 + (int)si.ssi_signo);
}

/* Status agentvmm exits with, per docs/architecture.md "Exit status". */
static int vm_exit_status(struct vm *vm)
{
	switch (vm->stop_reason) {
	case VM_STOP_STATUS:
		return vm->stop_status;
	case VM_STOP_POWEROFF:
	case VM_STOP_RESET:
		if (vm->reported_status >= 0)
			return vm->reported_status;
		log_info("guest %s", vm->stop_reason == VM_STOP_RESET ? "rebooted" : "powered off");
		return 0;
	case VM_STOP_PANIC:
		log_err("guest kernel panic");
		return VM_STATUS_GUEST_CRASH;
	case VM_STOP_SHUTDOWN:
		log_err("guest triple fault (CPU shutdown)");
		return VM_STATUS_GUEST_CRASH;
	case VM_STOP_SIGNAL:
		log_info("stopped by signal %d", vm->stop_status - 128);
		return vm->stop_status;
	case VM_STOP_USER_QUIT:
		return 0;
	case VM_STOP_FAILURE:
	default:
		return VM_STATUS_HOST_FAILURE;
	}
}

/*
 * Resident KiB of this process and of guest RAM, from the kernel's counters in
 * /proc/self/status: one small read, no page-table walk (reading smaps walked
 * every page of guest RAM and cost tens of ms at exit in the test host).
 * Guest RAM is the only shared-memory (shmem) mapping: RssShmem is the
 * agentvmm-ram memfd.
 */
static void vm_rss_kib(uint64_t *total, uint64_t *guest)
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
	p = strstr(buf, "\nRssShmem:");
	if (p && sscanf(p, "\nRssShmem: %llu kB", &kb) == 1)
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

int vm_run(struct vm *vm)
{
	bool escape = false, stdin_open = vm->interactive;

	if (vm->interactive)
		vm_tty_raw(vm);
	if (vm_devices_start(vm) < 0)
		vm_fail(vm, "cannot start the I/O thread");
	for (unsigned i = 0; i < vm->nr_vcpus && vm->stop_reason == VM_RUNNING; i++) {
		if (vcpu_start(&vm->vcpus[i]) < 0) {
			vm_fail(vm, "cannot start vCPU thread %u", i);
			break;
		}
	}
	while (__atomic_load_n(&vm->stop_reason, __ATOMIC_ACQUIRE) == VM_RUNNING) {
		struct pollfd p[3] = {
			{ .fd = vm->stop_efd, .events = POLLIN },
			{ .fd = vm->sig_fd, .events = POLLIN },
			{ .fd = stdin_open ? STDIN_FILENO : -1, .events = POLLIN },
		};

		if (poll(p, 3, -1) < 0 && errno != EINTR) {
			vm_fail(vm, "poll: %s", strerror(errno));
			break;
		}
		if (p[1].revents)
			vm_handle_signal(vm);
		if (p[2].revents & (POLLIN | POLLHUP | POLLERR))
			stdin_open = vm_console_in(vm, &escape);
	}
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		vcpu_kick(&vm->vcpus[i]);
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		vcpu_join(&vm->vcpus[i]);
	vm_tty_restore(vm);
	return vm_exit_status(vm);
}

void vm_destroy(struct vm *vm)
{
	bool report = vm->cfg && vm->times.first_run && log_get_level() >= LOG_INFO;
	uint64_t total = 0, guest = 0;

	if (!vm->cfg)
		return;
	if (report)
		vm_rss_kib(&total, &guest);
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
	vm_devices_destroy(vm);
	vm_tty_restore(vm);
	if (vm->com1_ready)
		uart_fini(&vm->com1);
	if (vm->stop_efd >= 0)
		close(vm->stop_efd);
	if (vm->sig_fd >= 0)
		close(vm->sig_fd);
	gm_destroy(&vm->gm);
	kvm_close(&vm->kvm);
	free(vm->initrd_path);
	if (report)
		vm_report_times(vm, vm_now_ns(), total, guest);
	pthread_mutex_destroy(&vm->lock);
	vm->cfg = NULL;
}
