/* SPDX-License-Identifier: MIT */
/* kvm.h: thin wrappers over the /dev/kvm ioctls the VMM uses, with readable errors. */
#ifndef AGENTVMM_VMM_KVM_H
#define AGENTVMM_VMM_KVM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "boot/boot.h"
#include "vmm/compiler.h"
#include "vmm/guest_mem.h"

struct kvm_run;

struct kvm {
	int sys_fd;           /* /dev/kvm (kvm_device_path()) */
	int vm_fd;
	int run_size;         /* KVM_GET_VCPU_MMAP_SIZE */
	unsigned max_vcpus;   /* KVM_CAP_MAX_VCPUS */
	bool software;        /* no vmx/svm: CPL0 code is emulated (kvm_pvm) */
	struct boot_cpuid_entry *cpuid; /* KVM_GET_SUPPORTED_CPUID */
	unsigned nr_cpuid;
};

/*
 * kvm_device_path() - the KVM device agentvmm opens: $AGENTVMM_KVM_DEVICE when
 * set and not empty, else /dev/kvm. Tests point it at a missing path to act as
 * a host without KVM. Context: any.
 */
const char *kvm_device_path(void);

/*
 * kvm_open() - open the KVM device (kvm_device_path()), check the API version
 * and the capabilities agentvmm needs, create the VM with an in-kernel irqchip
 * (no PIT). Messages start with the device's path.
 * Return: 0; -ENOENT/-EACCES/-ENODEV/-ENOSYS with a message in (err).
 * Context: setup.
 */
int kvm_open(struct kvm *kvm, char *err, size_t errlen) __must_check;
void kvm_close(struct kvm *kvm);
void kvm_init_empty(struct kvm *kvm);

/* kvm_map_memory() - register every RAM region of (gm) as a memory slot. */
int kvm_map_memory(struct kvm *kvm, const struct guest_mem *gm) __must_check;

/*
 * kvm_map_slot() - register (len) bytes at host address (hva) as memory slot
 * (slot) at guest-physical (gpa), KVM_MEM_READONLY when (readonly): guest
 * writes there then exit as MMIO writes nobody claims. Slots 0 and 1 are
 * guest RAM's (kvm_map_memory()). Return: 0 or -errno.
 */
int kvm_map_slot(struct kvm *kvm, uint32_t slot, uint64_t gpa, uint64_t len, void *hva,
		 bool readonly) __must_check;

/* kvm_irq_line() - drive IOAPIC/PIC input (gsi). Context: any thread. */
int kvm_irq_line(struct kvm *kvm, uint32_t gsi, bool level);

/*
 * kvm_vcpu_create() - create vCPU (id), map its kvm_run, set CPUID and LAPIC
 * LINT pins; for (boot) != NULL also its registers.
 * Return: vcpu fd (>= 0) and (*run), or -errno.
 */
int kvm_vcpu_create(struct kvm *kvm, unsigned id, unsigned nr_cpus,
		    const struct boot_cpu_state *boot, struct kvm_run **run) __must_check;

/* One GSI routing entry (our form of struct kvm_irq_routing_entry). */
enum kvm_route_type { KVM_ROUTE_PIC_MASTER, KVM_ROUTE_PIC_SLAVE, KVM_ROUTE_IOAPIC, KVM_ROUTE_MSI };
struct kvm_route {
	uint32_t gsi;
	enum kvm_route_type type;
	uint32_t pin;       /* irqchip pin */
	uint64_t addr;      /* MSI */
	uint32_t data;      /* MSI */
};

/* kvm_set_gsi_routing() - replace the whole routing table. Return: 0 or -errno. */
int kvm_set_gsi_routing(struct kvm *kvm, const struct kvm_route *r, unsigned n) __must_check;

/* kvm_irqfd() - bind (efd) to (gsi) (deassign: unbind). Return: 0 or -errno. */
int kvm_irqfd(struct kvm *kvm, int efd, uint32_t gsi, bool deassign) __must_check;

/* kvm_ioeventfd() - MMIO doorbell at [addr, addr+len) → (efd). Return: 0 or -errno. */
int kvm_ioeventfd(struct kvm *kvm, uint64_t addr, uint32_t len, int efd,
		  bool deassign) __must_check;

/*
 * kvm_runtime_ioctls() - the KVM ioctl numbers a running VM issues (interrupt
 * lines, irqfd/ioeventfd, GSI routing), for the seccomp filters. Fills up to
 * (max) into (out). Return: how many. kvm_irq_line_ioctls(): only the
 * interrupt-line ones (KVM_IRQ_LINE, KVM_IRQ_LINE_STATUS), a subset of those.
 * kvm_run_ioctl(): KVM_RUN.
 */
unsigned kvm_runtime_ioctls(unsigned long *out, unsigned max);
unsigned kvm_irq_line_ioctls(unsigned long *out, unsigned max);
unsigned long kvm_run_ioctl(void);

/* kvm_host_is_software() - true when the host CPU has neither vmx nor svm. */
bool kvm_host_is_software(void);

#endif
