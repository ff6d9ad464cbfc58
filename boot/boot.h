/* SPDX-License-Identifier: MIT */
/*
 * boot.h: load a Linux kernel into guest RAM and describe the boot CPU state.
 *
 * boot/ never touches KVM: it fills a struct boot_cpu_state that vmm/ applies
 * to the boot vCPU with KVM_SET_REGS / KVM_SET_SREGS.
 */
#ifndef AGENTVMM_BOOT_BOOT_H
#define AGENTVMM_BOOT_BOOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/compiler.h"
#include "vmm/guest_mem.h"

/* One segment register, in the field order of struct kvm_segment. */
struct boot_seg {
	uint64_t base;
	uint32_t limit;
	uint16_t selector;
	uint8_t type, present, dpl, db, s, l, g, avl;
	uint8_t unusable;
};

struct boot_dtable {
	uint64_t base;
	uint16_t limit;
};

/* Register state of the boot vCPU at the kernel's entry point. */
struct boot_cpu_state {
	uint64_t rip, rsp, rbp, rsi, rbx, rflags;
	uint64_t cr0, cr3, cr4, efer;
	struct boot_seg cs, ds, es, fs, gs, ss, tr, ldt;
	struct boot_dtable gdt, idt;
};

enum boot_kernel_kind {
	BOOT_KIND_NONE = 0,
	BOOT_KIND_BZIMAGE, /* 64-bit Linux boot protocol */
	BOOT_KIND_PVH,     /* ELF vmlinux with XEN_ELFNOTE_PHYS32_ENTRY */
};

struct boot_config {
	const char *kernel_path;
	const char *initrd_path; /* NULL: no initrd */
	const char *cmdline;     /* full kernel command line, NUL-terminated; NULL: empty */
	unsigned nr_cpus;
	bool pci;                /* describe the PCI host bridge in ACPI (MCFG + SSDT) */
	const char *version;     /* agentvmm's version, in SMBIOS types 0 and 1; NULL: "0" */
	const char *const *oem_strings; /* SMBIOS type 11 strings (boot/smbios.h) */
	unsigned nr_oem_strings;
};

/* What boot_setup() did, for logs and benchmarks. */
struct boot_info {
	enum boot_kernel_kind kind;
	gpa_t kernel_gpa, kernel_end;
	gpa_t initrd_gpa;
	uint64_t initrd_len;
	gpa_t rsdp_gpa;
	size_t smbios_len;     /* SMBIOS structure table bytes at BOOT_SMBIOS_TABLE_GPA */
	gpa_t entry;           /* first guest instruction (cpu->rip) */
};

/* Largest kernel file boot_setup() accepts; a vmlinux is about 50 MiB. */
#define BOOT_KERNEL_FILE_MAX (512ULL << 20)

/*
 * boot_setup() - load the kernel (bzImage or PVH ELF, detected from its
 * contents), the initrd and the command line into (gm); write boot_params or
 * hvm_start_info, e820, ACPI and SMBIOS tables (a random system UUID per
 * call), GDT and page tables; fill (cpu) for the boot vCPU and (info).
 * bzImage: 64-bit entry at load + 0x200, long mode, identity paging, %rsi =
 * BOOT_ZERO_PAGE_GPA. PVH: 32-bit protected mode, paging off, %ebx =
 * BOOT_PVH_INFO_GPA.
 * Return: 0; -EINVAL with a one-line message in (err) naming the file and the
 * problem (not a kernel, truncated, unsupported protocol, not 64-bit capable,
 * ELF without a PVH note, ELF segment outside RAM, cmdline too long, initrd
 * too big); -ENOENT/-EACCES/... from opening files, also with (err); other
 * -errno (ACPI, SMBIOS: smbios_build(), guest RAM too small) with (err).
 * Context: setup, single thread.
 */
int boot_setup(const struct guest_mem *gm, const struct boot_config *cfg,
	       struct boot_cpu_state *cpu, struct boot_info *info, char *err,
	       size_t errlen) __must_check;

/*
 * boot_probe() - check that (kernel_path) is a kernel boot_setup() can boot
 * (bzImage header, or ELF with a PVH entry note) without loading it, so a bad
 * kernel is refused before anything is created.
 * Return: 0 and (*kind); the same errors and messages as boot_setup().
 * Context: any.
 */
int boot_probe(const char *kernel_path, enum boot_kernel_kind *kind, char *err,
	       size_t errlen) __must_check;

/* One CPUID leaf, the layout of struct kvm_cpuid_entry2. */
struct boot_cpuid_entry {
	uint32_t function, index, flags;
	uint32_t eax, ebx, ecx, edx;
	uint32_t padding[3];
};

/*
 * boot_cpuid_fixup() - adjust the host-supported CPUID table (ent, nr) for
 * vCPU (vcpu_id) of (nr_cpus): APIC ids, topology leaves, hypervisor bit and
 * KVM signature leaf (so the guest uses kvm-clock).
 * Context: setup.
 */
void boot_cpuid_fixup(struct boot_cpuid_entry *ent, unsigned nr, unsigned vcpu_id,
		      unsigned nr_cpus);

/*
 * boot_cpuid_ensure_kvm() - append the KVM leaves 0x40000000 and 0x40000001
 * to (ent) when the table of (nr) entries (room for (max)) lacks them; KVM's
 * own table always has them, so this is a fallback. Call before
 * boot_cpuid_fixup(), which writes the signature.
 * Return: the new entry count (<= max).
 * Context: setup.
 */
unsigned boot_cpuid_ensure_kvm(struct boot_cpuid_entry *ent, unsigned nr, unsigned max)
	__must_check;

/*
 * boot_kernel_release() - the kernel release ("6.1.0-56-cloud-amd64") of the
 * bzImage or ELF vmlinux at (kernel_path), into (out) of (len) bytes: for a
 * bzImage from the string the setup header's kernel_version points to, for a
 * vmlinux from the "Linux version " banner.
 * Return: 0; -ENOENT when the file has no version string (or is missing);
 * -EINVAL when it is not a kernel; -ENOSPC when (len) is too small; other
 * -errno from open/mmap.
 * Context: any.
 */
int boot_kernel_release(const char *kernel_path, char *out, size_t len) __must_check;

#endif
