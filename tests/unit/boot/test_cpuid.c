// SPDX-License-Identifier: MIT
/* test_cpuid.c: per-vCPU CPUID fixups: APIC ids, topology, hypervisor bit, KVM leaves. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "boot/boot.h"

#define E(fn, idx, a, b, c, d) { .function = fn, .index = idx, .eax = a, .ebx = b, .ecx = c, .edx = d }

static unsigned table(struct boot_cpuid_entry *t, uint32_t vendor_ebx)
{
	const struct boot_cpuid_entry init[] = {
		E(0x0, 0, 0x1f, vendor_ebx, 0, 0),
		E(0x1, 0, 0x806c1, 0x00100800, 0xf7fa3223 | (1U << 3) | (1U << 27), 0x078bfbff),
		E(0x4, 0, 0x1c004121, 0, 0, 0), /* L1d */
		E(0x4, 1, 0x1c004122, 0, 0, 0), /* L1i */
		E(0x4, 2, 0x1c004143, 0, 0, 0), /* L2 */
		E(0x4, 3, 0x1c03c163, 0, 0, 0), /* L3 */
		E(0x4, 4, 0, 0, 0, 0),
		E(0x6, 0, 0x4, 0, 0x9, 0),
		E(0xb, 0, 1, 2, 0x100, 7),
		E(0xb, 1, 4, 8, 0x201, 7),
		E(0xb, 2, 0, 0, 2, 7),
		E(0x40000000, 0, 0x40000001, 0, 0, 0),
		E(0x40000001, 0, 0x01007afb, 0, 0, 0),
		E(0x80000001, 0, 0, 0, (1U << 22) | 1, 0),
		E(0x80000008, 0, 0x3027, 0, 0x7007, 0),
	};

	memcpy(t, init, sizeof(init));
	return (unsigned)(sizeof(init) / sizeof(init[0]));
}

static struct boot_cpuid_entry *find(struct boot_cpuid_entry *t, unsigned n, uint32_t fn,
				     uint32_t idx)
{
	for (unsigned i = 0; i < n; i++)
		if (t[i].function == fn && t[i].index == idx)
			return &t[i];
	fail();
	return NULL;
}

static void test_cpuid_leaf1_apic_id_and_hypervisor(void **state)
{
	struct boot_cpuid_entry t[32];
	unsigned n = table(t, 0x756e6547); /* "Genu" */

	(void)state;
	boot_cpuid_fixup(t, n, 3, 4);
	struct boot_cpuid_entry *e = find(t, n, 1, 0);
	assert_int_equal(e->ebx >> 24, 3);
	assert_int_equal((e->ebx >> 16) & 0xff, 4);
	assert_int_equal(e->ebx & 0xffff, 0x0800); /* CLFLUSH size kept */
	assert_true(e->ecx & (1U << 31));
	assert_false(e->ecx & (1U << 3));
	assert_false(e->ecx & (1U << 27));
	assert_true(e->edx & (1U << 28));
	assert_false(find(t, n, 6, 0)->ecx & (1U << 3));
	assert_false(find(t, n, 0x80000001, 0)->ecx & (1U << 22));
	/* Intel: 0x80000008 ECX untouched */
	assert_int_equal(find(t, n, 0x80000008, 0)->ecx, 0x7007);

	n = table(t, 0x756e6547);
	boot_cpuid_fixup(t, n, 0, 1);
	e = find(t, n, 1, 0);
	assert_int_equal(e->ebx >> 24, 0);
	assert_int_equal((e->ebx >> 16) & 0xff, 1);
	assert_false(e->edx & (1U << 28));
}

static void test_cpuid_topology_leaves(void **state)
{
	struct boot_cpuid_entry t[32];
	unsigned n = table(t, 0x756e6547);

	(void)state;
	boot_cpuid_fixup(t, n, 5, 6);
	struct boot_cpuid_entry *s = find(t, n, 0xb, 0), *c = find(t, n, 0xb, 1),
				*x = find(t, n, 0xb, 2);
	assert_int_equal(s->eax, 0);
	assert_int_equal(s->ebx, 1);
	assert_int_equal(s->ecx, 0x100);
	assert_int_equal(s->edx, 5);
	assert_int_equal(c->eax, 3); /* 6 cores need 3 id bits */
	assert_int_equal(c->ebx, 6);
	assert_int_equal(c->ecx, 0x201);
	assert_int_equal(c->edx, 5);
	assert_int_equal(x->eax, 0);
	assert_int_equal(x->ebx, 0);
	assert_int_equal(x->ecx, 2);
	assert_int_equal(x->edx, 5);
	/* leaf 4: cores per package - 1 = 5; L1/L2 private, L3 shared by 6 */
	assert_int_equal(find(t, n, 4, 0)->eax, 0x14000121);
	assert_int_equal(find(t, n, 4, 2)->eax, 0x14000143);
	assert_int_equal(find(t, n, 4, 3)->eax, 0x14014163);
	assert_int_equal(find(t, n, 4, 4)->eax, 0);
}

static void test_cpuid_kvm_signature(void **state)
{
	struct boot_cpuid_entry t[32];
	unsigned n = table(t, 0x756e6547);
	char sig[12];

	(void)state;
	boot_cpuid_fixup(t, n, 0, 2);
	struct boot_cpuid_entry *e = find(t, n, 0x40000000, 0);
	memcpy(sig, &e->ebx, 4);
	memcpy(sig + 4, &e->ecx, 4);
	memcpy(sig + 8, &e->edx, 4);
	assert_memory_equal(sig, "KVMKVMKVM\0\0\0", 12);
	assert_int_equal(e->eax, 0x40000001);
	assert_int_equal(find(t, n, 0x40000001, 0)->eax, 0x01007afb); /* KVM's features kept */
}

static void test_cpuid_ensure_kvm_appends(void **state)
{
	struct boot_cpuid_entry t[4] = { E(0x1, 0, 0, 0, 0, 0) };
	unsigned n;

	(void)state;
	n = boot_cpuid_ensure_kvm(t, 1, 4);
	assert_int_equal(n, 3);
	assert_int_equal(t[1].function, 0x40000000);
	assert_int_equal(t[2].function, 0x40000001);
	assert_int_equal(boot_cpuid_ensure_kvm(t, n, 4), 3); /* idempotent */
	boot_cpuid_fixup(t, n, 0, 1);
	assert_memory_equal(&t[1].ebx, "KVMK", 4);
	assert_int_equal(boot_cpuid_ensure_kvm(t, 1, 1), 1); /* no room: unchanged */
}

static void test_cpuid_amd_ext_sizes(void **state)
{
	struct boot_cpuid_entry t[32];
	unsigned n = table(t, 0x68747541); /* "Auth" */

	(void)state;
	boot_cpuid_fixup(t, n, 1, 4);
	assert_int_equal(find(t, n, 0x80000008, 0)->ecx, (2 << 12) | 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cpuid_leaf1_apic_id_and_hypervisor),
		cmocka_unit_test(test_cpuid_topology_leaves),
		cmocka_unit_test(test_cpuid_kvm_signature),
		cmocka_unit_test(test_cpuid_ensure_kvm_appends),
		cmocka_unit_test(test_cpuid_amd_ext_sizes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
