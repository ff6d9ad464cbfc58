// SPDX-License-Identifier: MIT
/* kvm.c: /dev/kvm ioctl wrappers: VM, irqchip, memory slots, vCPU state. */
#include "vmm/kvm.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vmm/log.h"

/* Intel VMX needs a 3-page TSS and an identity-map page below 4 GiB, outside RAM. */
#define KVM_TSS_GPA 0xfffbd000ULL
#define KVM_IDENTITY_MAP_GPA 0xfffbc000ULL
#define KVM_CPUID_MAX 256
#define KVM_DEVICE_DEFAULT "/dev/kvm"

_Static_assert(sizeof(struct boot_cpuid_entry) == sizeof(struct kvm_cpuid_entry2),
	       "boot_cpuid_entry must mirror kvm_cpuid_entry2");

void kvm_init_empty(struct kvm *kvm)
{
	memset(kvm, 0, sizeof(*kvm));
	kvm->sys_fd = -1;
	kvm->vm_fd = -1;
}

const char *kvm_device_path(void)
{
	const char *p = getenv("AGENTVMM_KVM_DEVICE");

	return p && *p ? p : KVM_DEVICE_DEFAULT;
}

bool kvm_host_is_software(void)
{
	FILE *f = fopen("/proc/cpuinfo", "re");
	char line[4096];
	bool hw = false;

	if (!f)
		return false;
	while (!hw && fgets(line, sizeof(line), f)) {
		if (strncmp(line, "flags", 5) != 0)
			continue;
		hw = strstr(line, " vmx") || strstr(line, " svm");
		break;
	}
	fclose(f);
	return !hw;
}

static int kvm_check_caps(struct kvm *kvm, const char *dev, char *err, size_t errlen)
{
	static const struct {
		int cap;
		const char *name;
	} need[] = {
		{ KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP" },
		{ KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY" },
		{ KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR" },
		{ KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID" },
		{ KVM_CAP_IRQFD, "KVM_CAP_IRQFD" },
		{ KVM_CAP_IOEVENTFD, "KVM_CAP_IOEVENTFD" },
		{ KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(need); i++) {
		if (ioctl(kvm->sys_fd, KVM_CHECK_EXTENSION, need[i].cap) <= 0) {
			snprintf(err, errlen, "%s: missing capability %s", dev, need[i].name);
			return -ENOSYS;
		}
	}
	int n = ioctl(kvm->sys_fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
	if (n <= 0)
		n = ioctl(kvm->sys_fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS);
	kvm->max_vcpus = n > 0 ? (unsigned)n : 1;
	return 0;
}

static int kvm_get_cpuid(struct kvm *kvm)
{
	size_t sz = sizeof(struct kvm_cpuid2) + KVM_CPUID_MAX * sizeof(struct kvm_cpuid_entry2);
	struct kvm_cpuid2 *c = calloc(1, sz);

	if (!c)
		return -ENOMEM;
	c->nent = KVM_CPUID_MAX;
	if (ioctl(kvm->sys_fd, KVM_GET_SUPPORTED_CPUID, c) < 0) {
		int e = errno;
		free(c);
		return -e;
	}
	kvm->cpuid = calloc(c->nent, sizeof(*kvm->cpuid));
	if (!kvm->cpuid) {
		free(c);
		return -ENOMEM;
	}
	memcpy(kvm->cpuid, c->entries, c->nent * sizeof(*kvm->cpuid));
	kvm->nr_cpuid = c->nent;
	free(c);
	return 0;
}

int kvm_open(struct kvm *kvm, char *err, size_t errlen)
{
	const char *dev = kvm_device_path();
	int r;

	kvm_init_empty(kvm);
	kvm->sys_fd = open(dev, O_RDWR | O_CLOEXEC);
	if (kvm->sys_fd < 0) {
		r = -errno;
		snprintf(err, errlen, "%s: %s%s", dev, strerror(-r),
			 r == -EACCES ? " (add yourself to the kvm group)" :
			 r == -ENOENT ? " (is KVM enabled and the kvm module loaded?)" : "");
		return r;
	}
	r = ioctl(kvm->sys_fd, KVM_GET_API_VERSION, 0);
	if (r != KVM_API_VERSION) {
		snprintf(err, errlen, "%s: unsupported KVM API version %d", dev, r);
		r = -ENODEV;
		goto err;
	}
	r = kvm_check_caps(kvm, dev, err, errlen);
	if (r)
		goto err;
	kvm->run_size = ioctl(kvm->sys_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	kvm->vm_fd = ioctl(kvm->sys_fd, KVM_CREATE_VM, 0);
	if (kvm->vm_fd < 0 || kvm->run_size <= 0) {
		r = -errno;
		snprintf(err, errlen, "%s: cannot create a VM: %s", dev, strerror(-r));
		goto err;
	}
	/*
	 * No in-kernel PIT (KVM_CREATE_PIT2): the FADT is hardware-reduced, so
	 * Linux sets up no PIT timer (docs/acpi.md) and uses kvm-clock and the
	 * LAPIC timer, as under Cloud Hypervisor. The PIT cost a kthread and
	 * several ms at creation and teardown (docs/bench.md).
	 */
	if (ioctl(kvm->vm_fd, KVM_SET_TSS_ADDR, KVM_TSS_GPA) < 0 ||
	    ioctl(kvm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &(uint64_t){ KVM_IDENTITY_MAP_GPA }) < 0 ||
	    ioctl(kvm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0) {
		r = -errno;
		snprintf(err, errlen, "%s: cannot set up the interrupt controller: %s", dev,
			 strerror(-r));
		goto err;
	}
	r = kvm_get_cpuid(kvm);
	if (r) {
		snprintf(err, errlen, "%s: KVM_GET_SUPPORTED_CPUID: %s", dev, strerror(-r));
		goto err;
	}
	kvm->software = kvm_host_is_software();
	return 0;
err:
	kvm_close(kvm);
	return r;
}

void kvm_close(struct kvm *kvm)
{
	if (kvm->vm_fd >= 0)
		close(kvm->vm_fd);
	if (kvm->sys_fd >= 0)
		close(kvm->sys_fd);
	free(kvm->cpuid);
	kvm_init_empty(kvm);
}

int kvm_map_memory(struct kvm *kvm, const struct guest_mem *gm)
{
	for (unsigned i = 0; i < gm->nr_regions; i++) {
		const struct gm_region *r = &gm->regions[i];
		struct kvm_userspace_memory_region m = {
			.slot = i,
			.guest_phys_addr = r->gpa,
			.memory_size = r->len,
			.userspace_addr = (uint64_t)(uintptr_t)r->hva,
		};

		if (ioctl(kvm->vm_fd, KVM_SET_USER_MEMORY_REGION, &m) < 0)
			return -errno;
	}
	return 0;
}

int kvm_map_slot(struct kvm *kvm, uint32_t slot, uint64_t gpa, uint64_t len, void *hva,
		 bool readonly)
{
	struct kvm_userspace_memory_region m = {
		.slot = slot,
		.flags = readonly ? KVM_MEM_READONLY : 0,
		.guest_phys_addr = gpa,
		.memory_size = len,
		.userspace_addr = (uint64_t)(uintptr_t)hva,
	};

	return ioctl(kvm->vm_fd, KVM_SET_USER_MEMORY_REGION, &m) < 0 ? -errno : 0;
}

int kvm_irq_line(struct kvm *kvm, uint32_t gsi, bool level)
{
	struct kvm_irq_level l = { .irq = gsi, .level = level };

	return ioctl(kvm->vm_fd, KVM_IRQ_LINE, &l) < 0 ? -errno : 0;
}

static void seg_to_kvm(struct kvm_segment *k, const struct boot_seg *s)
{
	*k = (struct kvm_segment){
		.base = s->base, .limit = s->limit, .selector = s->selector,
		.type = s->type, .present = s->present, .dpl = s->dpl, .db = s->db,
		.s = s->s, .l = s->l, .g = s->g, .avl = s->avl, .unusable = s->unusable,
	};
}

static int kvm_vcpu_set_boot(int fd, const struct boot_cpu_state *b)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs = {
		.rip = b->rip, .rsp = b->rsp, .rbp = b->rbp, .rsi = b->rsi, .rbx = b->rbx,
		.rflags = b->rflags,
	};

	if (ioctl(fd, KVM_GET_SREGS, &sregs) < 0)
		return -errno;
	seg_to_kvm(&sregs.cs, &b->cs);
	seg_to_kvm(&sregs.ds, &b->ds);
	seg_to_kvm(&sregs.es, &b->es);
	seg_to_kvm(&sregs.fs, &b->fs);
	seg_to_kvm(&sregs.gs, &b->gs);
	seg_to_kvm(&sregs.ss, &b->ss);
	seg_to_kvm(&sregs.tr, &b->tr);
	seg_to_kvm(&sregs.ldt, &b->ldt);
	sregs.gdt.base = b->gdt.base;
	sregs.gdt.limit = b->gdt.limit;
	sregs.idt.base = b->idt.base;
	sregs.idt.limit = b->idt.limit;
	sregs.cr0 = b->cr0;
	sregs.cr3 = b->cr3;
	sregs.cr4 = b->cr4;
	sregs.efer = b->efer;
	if (ioctl(fd, KVM_SET_SREGS, &sregs) < 0 || ioctl(fd, KVM_SET_REGS, &regs) < 0)
		return -errno;
	return 0;
}

/* LAPIC LVT LINT0 = ExtINT, LINT1 = NMI, as a PC BIOS leaves them (Intel SDM 10.5.1). */
static int kvm_vcpu_set_lint(int fd)
{
	struct kvm_lapic_state l;
	enum { LVT_LINT0 = 0x350, LVT_LINT1 = 0x360, DM_EXTINT = 7 << 8, DM_NMI = 4 << 8 };
	uint32_t v;

	if (ioctl(fd, KVM_GET_LAPIC, &l) < 0)
		return -errno;
	memcpy(&v, &l.regs[LVT_LINT0], 4);
	v = (v & ~0x700u) | DM_EXTINT;
	memcpy(&l.regs[LVT_LINT0], &v, 4);
	memcpy(&v, &l.regs[LVT_LINT1], 4);
	v = (v & ~0x700u) | DM_NMI;
	memcpy(&l.regs[LVT_LINT1], &v, 4);
	return ioctl(fd, KVM_SET_LAPIC, &l) < 0 ? -errno : 0;
}

static int kvm_vcpu_set_cpuid(struct kvm *kvm, int fd, unsigned id, unsigned nr_cpus)
{
	size_t sz = sizeof(struct kvm_cpuid2) + kvm->nr_cpuid * sizeof(struct kvm_cpuid_entry2);
	struct kvm_cpuid2 *c = calloc(1, sz);
	int r = 0;

	if (!c)
		return -ENOMEM;
	c->nent = kvm->nr_cpuid;
	memcpy(c->entries, kvm->cpuid, kvm->nr_cpuid * sizeof(*kvm->cpuid));
	boot_cpuid_fixup((struct boot_cpuid_entry *)c->entries, c->nent, id, nr_cpus);
	if (ioctl(fd, KVM_SET_CPUID2, c) < 0)
		r = -errno;
	free(c);
	return r;
}

int kvm_vcpu_create(struct kvm *kvm, unsigned id, unsigned nr_cpus,
		    const struct boot_cpu_state *boot, struct kvm_run **run)
{
	int fd, r;

	fd = ioctl(kvm->vm_fd, KVM_CREATE_VCPU, id);
	if (fd < 0)
		return -errno;
	*run = mmap(NULL, (size_t)kvm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (*run == MAP_FAILED) {
		r = -errno;
		*run = NULL;
		goto err_close;
	}
	r = kvm_vcpu_set_cpuid(kvm, fd, id, nr_cpus);
	if (!r)
		r = kvm_vcpu_set_lint(fd);
	if (!r && boot)
		r = kvm_vcpu_set_boot(fd, boot);
	if (r)
		goto err_unmap;
	return fd;
err_unmap:
	munmap(*run, (size_t)kvm->run_size);
	*run = NULL;
err_close:
	close(fd);
	return r;
}

int kvm_set_gsi_routing(struct kvm *kvm, const struct kvm_route *r, unsigned n)
{
	struct kvm_irq_routing *t = calloc(1, sizeof(*t) + n * sizeof(t->entries[0]));
	int ret = 0;

	if (!t)
		return -ENOMEM;
	t->nr = n;
	for (unsigned i = 0; i < n; i++) {
		struct kvm_irq_routing_entry *e = &t->entries[i];

		e->gsi = r[i].gsi;
		if (r[i].type == KVM_ROUTE_MSI) {
			e->type = KVM_IRQ_ROUTING_MSI;
			e->u.msi.address_lo = (uint32_t)r[i].addr;
			e->u.msi.address_hi = (uint32_t)(r[i].addr >> 32);
			e->u.msi.data = r[i].data;
		} else {
			e->type = KVM_IRQ_ROUTING_IRQCHIP;
			e->u.irqchip.irqchip = r[i].type == KVM_ROUTE_PIC_MASTER ? KVM_IRQCHIP_PIC_MASTER :
					       r[i].type == KVM_ROUTE_PIC_SLAVE ? KVM_IRQCHIP_PIC_SLAVE :
										  KVM_IRQCHIP_IOAPIC;
			e->u.irqchip.pin = r[i].pin;
		}
	}
	if (ioctl(kvm->vm_fd, KVM_SET_GSI_ROUTING, t) < 0)
		ret = -errno;
	free(t);
	return ret;
}

int kvm_irqfd(struct kvm *kvm, int efd, uint32_t gsi, bool deassign)
{
	struct kvm_irqfd f = {
		.fd = (uint32_t)efd, .gsi = gsi, .flags = deassign ? KVM_IRQFD_FLAG_DEASSIGN : 0,
	};

	return ioctl(kvm->vm_fd, KVM_IRQFD, &f) < 0 ? -errno : 0;
}

int kvm_ioeventfd(struct kvm *kvm, uint64_t addr, uint32_t len, int efd, bool deassign)
{
	struct kvm_ioeventfd io = {
		.addr = addr, .len = len, .fd = efd,
		.flags = deassign ? KVM_IOEVENTFD_FLAG_DEASSIGN : 0,
	};

	return ioctl(kvm->vm_fd, KVM_IOEVENTFD, &io) < 0 ? -errno : 0;
}

unsigned long kvm_run_ioctl(void)
{
	return KVM_RUN;
}

/* Append (list) to (out) past (n), never past (max). Return: the new count. */
static unsigned append_ioctls(unsigned long *out, unsigned n, unsigned max,
			      const unsigned long *list, size_t len)
{
	for (size_t i = 0; i < len && n < max; i++)
		out[n++] = list[i];
	return n;
}

static const unsigned long irq_line_ioctls[] = { KVM_IRQ_LINE, KVM_IRQ_LINE_STATUS };

unsigned kvm_irq_line_ioctls(unsigned long *out, unsigned max)
{
	return append_ioctls(out, 0, max, irq_line_ioctls, ARRAY_SIZE(irq_line_ioctls));
}

unsigned kvm_runtime_ioctls(unsigned long *out, unsigned max)
{
	static const unsigned long device_ioctls[] = {
		KVM_IRQFD, KVM_IOEVENTFD, KVM_SET_GSI_ROUTING, KVM_SIGNAL_MSI,
	};
	unsigned n = kvm_irq_line_ioctls(out, max);

	return append_ioctls(out, n, max, device_ioctls, ARRAY_SIZE(device_ioctls));
}
