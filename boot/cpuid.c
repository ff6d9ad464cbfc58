// SPDX-License-Identifier: MIT
/*
 * cpuid.c: per-vCPU fixups of the KVM_GET_SUPPORTED_CPUID table: APIC ids,
 * a flat topology (one thread per core, all cores in one package), the
 * hypervisor bit and the KVM signature leaves.
 */
#include "boot/boot.h"

#include <string.h>

/* Leaf and bit numbers: Intel SDM vol. 2A "CPUID"; AMD APM vol. 3, appendix E. */
#define LEAF_VENDOR 0x0
#define LEAF_FEATURES 0x1
#define LEAF_CACHE 0x4
#define LEAF_THERMAL 0x6
#define LEAF_TOPO 0xb
#define LEAF_TOPO_V2 0x1f
#define LEAF_KVM_SIG 0x40000000
#define LEAF_KVM_FEATURES 0x40000001
#define LEAF_EXT_FEATURES 0x80000001
#define LEAF_EXT_SIZES 0x80000008

#define F1_ECX_MONITOR (1U << 3)    /* MONITOR/MWAIT: KVM does not emulate them usefully */
#define F1_ECX_OSXSAVE (1U << 27)   /* mirrors guest CR4.OSXSAVE; KVM updates it */
#define F1_ECX_HYPERVISOR (1U << 31)
#define F1_EDX_HTT (1U << 28)
#define F6_ECX_EPB (1U << 3)        /* energy-perf bias MSR, not emulated (kvmtool does the same) */
#define EXT1_ECX_TOPOEXT (1U << 22) /* AMD 0x8000001e; we describe topology in 0xb only */

#define TOPO_TYPE_SMT 1
#define TOPO_TYPE_CORE 2

/* "AuthenticAMD" / "HygonGenuine" in leaf 0 EBX: AMD-style 0x80000008 ECX. */
#define VENDOR_AMD_EBX 0x68747541U
#define VENDOR_HYGON_EBX 0x6f677948U

static unsigned order_base_2(unsigned n)
{
	unsigned bits = 0;

	while ((1U << bits) < n)
		bits++;
	return bits;
}

/* Leaves 0xb and 0x1f: level 0 = SMT (1 thread), level 1 = core (nr_cpus), x2APIC id = vcpu_id. */
static void fix_topology(struct boot_cpuid_entry *e, unsigned vcpu_id, unsigned nr_cpus)
{
	e->edx = vcpu_id;
	switch (e->index) {
	case 0:
		e->eax = 0; /* x2APIC id bits to shift to reach the core level */
		e->ebx = 1;
		e->ecx = (TOPO_TYPE_SMT << 8) | e->index;
		break;
	case 1:
		e->eax = order_base_2(nr_cpus);
		e->ebx = nr_cpus;
		e->ecx = (TOPO_TYPE_CORE << 8) | e->index;
		break;
	default:
		e->eax = e->ebx = 0;
		e->ecx = e->index; /* level type 0: invalid, end of the list */
		break;
	}
}

void boot_cpuid_fixup(struct boot_cpuid_entry *ent, unsigned nr, unsigned vcpu_id,
		      unsigned nr_cpus)
{
	uint32_t vendor_ebx = 0;
	unsigned cores = MIN(MAX(nr_cpus, 1U), 255U); /* 8-bit fields below */

	for (unsigned i = 0; i < nr; i++)
		if (ent[i].function == LEAF_VENDOR)
			vendor_ebx = ent[i].ebx;

	for (unsigned i = 0; i < nr; i++) {
		struct boot_cpuid_entry *e = &ent[i];

		switch (e->function) {
		case LEAF_FEATURES:
			/* EBX[31:24] initial APIC id, [23:16] logical processors per package */
			e->ebx = (e->ebx & 0x0000ffff) | ((vcpu_id & 0xff) << 24) | (cores << 16);
			e->ecx &= ~(F1_ECX_MONITOR | F1_ECX_OSXSAVE);
			e->ecx |= F1_ECX_HYPERVISOR;
			if (cores > 1)
				e->edx |= F1_EDX_HTT;
			else
				e->edx &= ~F1_EDX_HTT;
			break;
		case LEAF_CACHE:
			/* EAX[31:26] cores per package - 1; [25:14] threads sharing - 1:
			 * L1/L2 are per core, L3 and beyond shared by the package. */
			if ((e->eax & 0x1f) == 0)
				break; /* no more caches */
			e->eax &= 0x3fff;
			e->eax |= (MIN(cores, 64U) - 1) << 26;
			if (((e->eax >> 5) & 7) >= 3)
				e->eax |= (cores - 1) << 14;
			break;
		case LEAF_THERMAL:
			e->ecx &= ~F6_ECX_EPB;
			break;
		case LEAF_TOPO:
		case LEAF_TOPO_V2:
			fix_topology(e, vcpu_id, cores);
			break;
		case LEAF_KVM_SIG:
			/* Keep KVM's answer but insist on the signature and the feature leaf. */
			memcpy(&e->ebx, "KVMK", 4);
			memcpy(&e->ecx, "VMKV", 4);
			memcpy(&e->edx, "M\0\0\0", 4);
			e->eax = MAX(e->eax, (uint32_t)LEAF_KVM_FEATURES);
			break;
		case LEAF_EXT_FEATURES:
			e->ecx &= ~EXT1_ECX_TOPOEXT;
			break;
		case LEAF_EXT_SIZES:
			/* AMD: ECX[7:0] cores - 1, [15:12] APIC id bits for the core (APM E.4.7) */
			if (vendor_ebx == VENDOR_AMD_EBX || vendor_ebx == VENDOR_HYGON_EBX)
				e->ecx = (e->ecx & ~0xf0ffU) | (order_base_2(cores) << 12) |
					 (cores - 1);
			break;
		default:
			break;
		}
	}
}

unsigned boot_cpuid_ensure_kvm(struct boot_cpuid_entry *ent, unsigned nr, unsigned max)
{
	bool sig = false, feat = false;

	for (unsigned i = 0; i < nr; i++) {
		sig |= ent[i].function == LEAF_KVM_SIG;
		feat |= ent[i].function == LEAF_KVM_FEATURES;
	}
	if (!sig && nr < max)
		ent[nr++] = (struct boot_cpuid_entry){ .function = LEAF_KVM_SIG,
						       .eax = LEAF_KVM_FEATURES };
	if (!feat && nr < max)
		ent[nr++] = (struct boot_cpuid_entry){ .function = LEAF_KVM_FEATURES };
	return nr;
}
