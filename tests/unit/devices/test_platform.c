// SPDX-License-Identifier: MIT
/* test_platform.c: exit, bootmark, ACPI PM, pvpanic, 0xcf9 and i8042 ports through a power_sink. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "boot/layout.h"
#include "devices/platform.h"
#include "devices/uart8250.h"

/* The VMM side of the power interface: records every event in order. */
struct power_rec {
	unsigned nr;
	enum power_event ev[16];
	uint32_t val[16];
	struct power_sink sink;
};

static void power_record_cb(void *opaque, enum power_event ev, uint32_t value)
{
	struct power_rec *p = opaque;

	assert_true(p->nr < ARRAY_SIZE(p->ev));
	p->ev[p->nr] = ev;
	p->val[p->nr] = value;
	p->nr++;
}

static void rec_init(struct power_rec *p)
{
	memset(p, 0, sizeof(*p));
	p->sink = (struct power_sink){ .event = power_record_cb, .opaque = p };
}

static void expect_one(const struct power_rec *p, enum power_event ev, uint32_t value)
{
	assert_int_equal(p->nr, 1);
	assert_int_equal(p->ev[0], ev);
	assert_int_equal(p->val[0], value);
}

static void w32(const struct iobus_ops *ops, struct power_rec *p, uint64_t off, uint32_t v,
		uint32_t len)
{
	ops->write(&p->sink, off, &v, len);
}

static void w8(const struct iobus_ops *ops, struct power_rec *p, uint64_t off, uint8_t v)
{
	ops->write(&p->sink, off, &v, 1);
}

static void test_exit_port_magic_reports_status(void **state)
{
	struct power_rec p;

	(void)state;
	rec_init(&p);
	w32(&exit_port_ops, &p, 0, AV_EXIT_MAGIC | 42, 4);
	expect_one(&p, POWER_EXIT_STATUS, 42);
	rec_init(&p);
	w32(&exit_port_ops, &p, 0, AV_EXIT_MAGIC | 0, 4);
	expect_one(&p, POWER_EXIT_STATUS, 0);
	rec_init(&p);
	w32(&exit_port_ops, &p, 0, AV_EXIT_MAGIC | 255, 4);
	expect_one(&p, POWER_EXIT_STATUS, 255);
	/* the exit port is write-only */
	assert_null(exit_port_ops.read);
}

static void test_exit_port_wrong_magic_ignored(void **state)
{
	static const uint32_t bad[] = { 42, 0, 0xffffffff, AV_EXIT_MAGIC ^ 0x100,
					AV_EXIT_MAGIC ^ 0x80000000, AV_BOOTMARK_MAGIC | 1 };
	struct power_rec p;

	(void)state;
	rec_init(&p);
	for (unsigned i = 0; i < ARRAY_SIZE(bad); i++)
		w32(&exit_port_ops, &p, 0, bad[i], 4);
	assert_int_equal(p.nr, 0);
}

static void test_exit_port_wrong_width_or_offset_ignored(void **state)
{
	struct power_rec p;

	(void)state;
	rec_init(&p);
	w32(&exit_port_ops, &p, 0, AV_EXIT_MAGIC | 1, 1);
	w32(&exit_port_ops, &p, 0, AV_EXIT_MAGIC | 1, 2);
	for (uint64_t off = 1; off < 4; off++)
		w32(&exit_port_ops, &p, off, AV_EXIT_MAGIC | 1, 1);
	w32(&exit_port_ops, &p, 2, AV_EXIT_MAGIC | 1, 2);
	assert_int_equal(p.nr, 0);
}

static void test_exit_port_null_sink_ok(void **state)
{
	uint32_t v = AV_EXIT_MAGIC | 1;

	(void)state;
	exit_port_ops.write(NULL, 0, &v, 4);
	acpi_pm_ops.write(NULL, 0, &(uint8_t){ 0x34 }, 1);
}

static void test_bootmark_reports_phase(void **state)
{
	struct power_rec p;

	(void)state;
	rec_init(&p);
	w32(&bootmark_ops, &p, 0, AV_BOOTMARK_MAGIC | 0x1234, 4);
	expect_one(&p, POWER_BOOTMARK, 0x1234);
	rec_init(&p);
	w32(&bootmark_ops, &p, 0, AV_BOOTMARK_MAGIC | 0xffff, 4);
	expect_one(&p, POWER_BOOTMARK, 0xffff);
	assert_null(bootmark_ops.read);
}

static void test_bootmark_bad_access_ignored(void **state)
{
	struct power_rec p;

	(void)state;
	rec_init(&p);
	w32(&bootmark_ops, &p, 0, AV_EXIT_MAGIC | 1, 4);
	w32(&bootmark_ops, &p, 0, 0x1234, 4);
	w32(&bootmark_ops, &p, 0, AV_BOOTMARK_MAGIC | 1, 2);
	w32(&bootmark_ops, &p, 0, AV_BOOTMARK_MAGIC | 1, 1);
	w32(&bootmark_ops, &p, 1, AV_BOOTMARK_MAGIC | 1, 1);
	assert_int_equal(p.nr, 0);
}

static void test_acpi_pm_s5_with_slp_en_powers_off(void **state)
{
	const uint64_t ctl = BOOT_PORT_ACPI_SLEEP_CTL - BOOT_PORT_ACPI_SLEEP_CTL;
	struct power_rec p;

	(void)state;
	/* SLP_EN (bit 5) | SLP_TYP 5 (bits 2..4): what Linux writes for \_S5 */
	rec_init(&p);
	w8(&acpi_pm_ops, &p, ctl, 0x20 | (BOOT_ACPI_S5_SLP_TYP << 2));
	expect_one(&p, POWER_OFF, 0);
	/* reserved bits 0..1 and 6..7 do not matter */
	rec_init(&p);
	w8(&acpi_pm_ops, &p, ctl, 0xc3 | 0x20 | (BOOT_ACPI_S5_SLP_TYP << 2));
	expect_one(&p, POWER_OFF, 0);
}

static void test_acpi_pm_other_sleep_writes_ignored(void **state)
{
	struct power_rec p;

	(void)state;
	rec_init(&p);
	/* S5 type without SLP_EN: the guest is only staging the value */
	w8(&acpi_pm_ops, &p, 0, BOOT_ACPI_S5_SLP_TYP << 2);
	/* every other sleep type, with SLP_EN */
	for (uint8_t typ = 0; typ < 8; typ++)
		if (typ != BOOT_ACPI_S5_SLP_TYP)
			w8(&acpi_pm_ops, &p, 0, (uint8_t)(0x20 | (typ << 2)));
	w8(&acpi_pm_ops, &p, 0, 0);
	w8(&acpi_pm_ops, &p, 0, 0xff & ~0x20);
	/* S5 value written to the status register instead of control */
	w8(&acpi_pm_ops, &p, BOOT_PORT_ACPI_SLEEP_STS - BOOT_PORT_ACPI_SLEEP_CTL,
	   0x20 | (BOOT_ACPI_S5_SLP_TYP << 2));
	assert_int_equal(p.nr, 0);
}

static void test_acpi_pm_reset_value_resets(void **state)
{
	const uint64_t rst = BOOT_PORT_ACPI_RESET - BOOT_PORT_ACPI_SLEEP_CTL;
	struct power_rec p;

	(void)state;
	rec_init(&p);
	w8(&acpi_pm_ops, &p, rst, BOOT_ACPI_RESET_VALUE);
	expect_one(&p, POWER_RESET, 0);
	rec_init(&p);
	w8(&acpi_pm_ops, &p, rst, 0);
	w8(&acpi_pm_ops, &p, rst, BOOT_ACPI_RESET_VALUE + 1);
	w8(&acpi_pm_ops, &p, rst, 0xff);
	/* the reset value at the sleep registers is not a reset */
	w8(&acpi_pm_ops, &p, 0, BOOT_ACPI_RESET_VALUE);
	w8(&acpi_pm_ops, &p, 1, BOOT_ACPI_RESET_VALUE);
	assert_int_equal(p.nr, 0);
}

static void test_acpi_pm_reads_zero(void **state)
{
	struct power_rec p;

	(void)state;
	rec_init(&p);
	for (uint64_t off = 0; off < 3; off++) {
		uint8_t v = 0xaa;

		acpi_pm_ops.read(&p.sink, off, &v, 1);
		assert_int_equal(v, 0);
	}
	uint16_t w = 0xaaaa;

	acpi_pm_ops.read(&p.sink, 0, &w, 2);
	assert_int_equal(w, 0);
	assert_int_equal(p.nr, 0);
}

static void test_pvpanic_read_reports_capabilities(void **state)
{
	struct power_rec p;
	uint8_t v = 0;

	(void)state;
	rec_init(&p);
	pvpanic_ops.read(&p.sink, 0, &v, 1);
	assert_int_equal(v, PVPANIC_PANICKED | PVPANIC_CRASH_LOADED);
	assert_int_equal(p.nr, 0);
}

static void test_pvpanic_panicked_write_reports_panic(void **state)
{
	struct power_rec p;

	(void)state;
	rec_init(&p);
	w8(&pvpanic_ops, &p, 0, PVPANIC_PANICKED);
	expect_one(&p, POWER_PANIC, PVPANIC_PANICKED);
	rec_init(&p);
	w8(&pvpanic_ops, &p, 0, PVPANIC_PANICKED | PVPANIC_CRASH_LOADED);
	expect_one(&p, POWER_PANIC, PVPANIC_PANICKED | PVPANIC_CRASH_LOADED);
}

static void test_pvpanic_crash_loaded_alone_ignored(void **state)
{
	struct power_rec p;

	(void)state;
	rec_init(&p);
	w8(&pvpanic_ops, &p, 0, PVPANIC_CRASH_LOADED);
	w8(&pvpanic_ops, &p, 0, 0);
	w8(&pvpanic_ops, &p, 0, 0xfe);
	assert_int_equal(p.nr, 0);
}

static void test_i8042_reset_command_resets(void **state)
{
	const uint64_t cmd = BOOT_PORT_I8042_CMD - BOOT_PORT_I8042_DATA;
	struct power_rec p;

	(void)state;
	rec_init(&p);
	w8(&i8042_ops, &p, cmd, 0xfe);
	expect_one(&p, POWER_RESET, 0);
}

static void test_i8042_other_writes_ignored(void **state)
{
	const uint64_t cmd = BOOT_PORT_I8042_CMD - BOOT_PORT_I8042_DATA;
	struct power_rec p;

	(void)state;
	rec_init(&p);
	/* 0xfe on the data port, other commands on the command port */
	w8(&i8042_ops, &p, 0, 0xfe);
	w8(&i8042_ops, &p, cmd, 0xd1);
	w8(&i8042_ops, &p, cmd, 0xff);
	w8(&i8042_ops, &p, cmd, 0xaa);
	for (uint64_t off = 1; off < cmd; off++)
		w8(&i8042_ops, &p, off, 0xfe);
	assert_int_equal(p.nr, 0);
}

static void test_i8042_reads_zero(void **state)
{
	struct power_rec p;

	(void)state;
	rec_init(&p);
	for (uint64_t off = 0; off < 5; off++) {
		uint8_t v = 0xaa;

		i8042_ops.read(&p.sink, off, &v, 1);
		assert_int_equal(v, 0);
	}
}

static void test_reset_ctl_rst_cpu_resets(void **state)
{
	struct power_rec p;

	(void)state;
	/* Linux reboot=pci writes 0x02 (SYS_RST) then 0x06 (SYS_RST | RST_CPU) */
	rec_init(&p);
	w8(&reset_ctl_ops, &p, 0, 0x02);
	assert_int_equal(p.nr, 0);
	w8(&reset_ctl_ops, &p, 0, 0x06);
	expect_one(&p, POWER_RESET, 0);
	rec_init(&p);
	w8(&reset_ctl_ops, &p, 0, BOOT_RESET_CTL_RST_CPU);
	expect_one(&p, POWER_RESET, 0);
}

static void test_reset_ctl_other_writes_ignored(void **state)
{
	struct power_rec p;
	uint32_t v = 0x06;
	uint8_t r = 0xaa;

	(void)state;
	rec_init(&p);
	w8(&reset_ctl_ops, &p, 0, 0x00);
	w8(&reset_ctl_ops, &p, 0, 0xfb);
	reset_ctl_ops.write(&p.sink, 0, &v, 2);
	reset_ctl_ops.write(&p.sink, 0, &v, 4);
	assert_int_equal(p.nr, 0);
	reset_ctl_ops.read(&p.sink, 0, &r, 1);
	assert_int_equal(r, 0);
}

static void test_platform_ports_on_pio_bus_dispatch(void **state)
{
	struct power_rec p;
	struct iobus pio;
	struct uart com1;
	uint32_t v;
	uint8_t b;

	(void)state;
	/* the same registrations vm.c makes, none overlapping */
	rec_init(&p);
	uart_init(&com1, NULL, NULL, NULL);
	iobus_init(&pio, "pio");
	assert_int_equal(iobus_register(&pio, BOOT_PORT_COM1, UART_REGS, &uart_ops, &com1, "com1"),
			 0);
	assert_int_equal(iobus_register(&pio, AV_EXIT_PORT, 4, &exit_port_ops, &p.sink, "exit"), 0);
	assert_int_equal(iobus_register(&pio, AV_BOOTMARK_PORT, 4, &bootmark_ops, &p.sink, "bm"), 0);
	assert_int_equal(iobus_register(&pio, BOOT_PORT_ACPI_SLEEP_CTL, 3, &acpi_pm_ops, &p.sink,
					"acpi"), 0);
	assert_int_equal(iobus_register(&pio, BOOT_PORT_PVPANIC, 1, &pvpanic_ops, &p.sink, "pvp"), 0);
	assert_int_equal(iobus_register(&pio, BOOT_PORT_RESET_CTL, 1, &reset_ctl_ops, &p.sink,
					"cf9"), 0);
	assert_int_equal(iobus_register(&pio, BOOT_PORT_I8042_DATA,
					BOOT_PORT_I8042_CMD - BOOT_PORT_I8042_DATA + 1, &i8042_ops,
					&p.sink, "i8042"), 0);

	v = AV_BOOTMARK_MAGIC | 7;
	assert_true(iobus_write(&pio, AV_BOOTMARK_PORT, &v, 4));
	b = 0x06;
	assert_true(iobus_write(&pio, BOOT_PORT_RESET_CTL, &b, 1));
	b = 0xfe;
	assert_true(iobus_write(&pio, BOOT_PORT_I8042_CMD, &b, 1));
	b = BOOT_ACPI_RESET_VALUE;
	assert_true(iobus_write(&pio, BOOT_PORT_ACPI_RESET, &b, 1));
	b = 0x20 | (BOOT_ACPI_S5_SLP_TYP << 2);
	assert_true(iobus_write(&pio, BOOT_PORT_ACPI_SLEEP_CTL, &b, 1));
	b = PVPANIC_PANICKED;
	assert_true(iobus_write(&pio, BOOT_PORT_PVPANIC, &b, 1));
	v = AV_EXIT_MAGIC | 3;
	assert_true(iobus_write(&pio, AV_EXIT_PORT, &v, 4));
	/* a read of the write-only exit port: claimed, all-ones */
	v = 0;
	assert_true(iobus_read(&pio, AV_EXIT_PORT, &v, 4));
	assert_int_equal(v, 0xffffffff);
	b = 0;
	assert_true(iobus_read(&pio, BOOT_PORT_PVPANIC, &b, 1));
	assert_int_equal(b, PVPANIC_PANICKED | PVPANIC_CRASH_LOADED);

	static const enum power_event want[] = { POWER_BOOTMARK, POWER_RESET, POWER_RESET,
						 POWER_RESET,    POWER_OFF,   POWER_PANIC,
						 POWER_EXIT_STATUS };
	assert_int_equal(p.nr, ARRAY_SIZE(want));
	for (unsigned i = 0; i < ARRAY_SIZE(want); i++)
		assert_int_equal(p.ev[i], want[i]);
	assert_int_equal(p.val[0], 7);
	assert_int_equal(p.val[6], 3);
	uart_fini(&com1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exit_port_magic_reports_status),
		cmocka_unit_test(test_exit_port_wrong_magic_ignored),
		cmocka_unit_test(test_exit_port_wrong_width_or_offset_ignored),
		cmocka_unit_test(test_exit_port_null_sink_ok),
		cmocka_unit_test(test_bootmark_reports_phase),
		cmocka_unit_test(test_bootmark_bad_access_ignored),
		cmocka_unit_test(test_acpi_pm_s5_with_slp_en_powers_off),
		cmocka_unit_test(test_acpi_pm_other_sleep_writes_ignored),
		cmocka_unit_test(test_acpi_pm_reset_value_resets),
		cmocka_unit_test(test_acpi_pm_reads_zero),
		cmocka_unit_test(test_pvpanic_read_reports_capabilities),
		cmocka_unit_test(test_pvpanic_panicked_write_reports_panic),
		cmocka_unit_test(test_pvpanic_crash_loaded_alone_ignored),
		cmocka_unit_test(test_i8042_reset_command_resets),
		cmocka_unit_test(test_i8042_other_writes_ignored),
		cmocka_unit_test(test_i8042_reads_zero),
		cmocka_unit_test(test_reset_ctl_rst_cpu_resets),
		cmocka_unit_test(test_reset_ctl_other_writes_ignored),
		cmocka_unit_test(test_platform_ports_on_pio_bus_dispatch),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
