// SPDX-License-Identifier: MIT
/* test_restore_port.c: the restore port as a guest reads it (devices/restore_port.h). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "boot/layout.h"
#include "devices/restore_port.h"

static struct restore_port port;

static uint32_t read32(void)
{
	uint32_t v;

	restore_port_ops.read(&port, 0, &v, 4);
	return v;
}

static uint8_t read8(void)
{
	uint8_t v;

	restore_port_ops.read(&port, 0, &v, 1);
	return v;
}

static int setup(void **state)
{
	(void)state;
	restore_port_init(&port);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	restore_port_destroy(&port);
	return 0;
}

static void test_restore_port_none_reads_zero_length(void **state)
{
	(void)state;
	assert_int_equal(read32(), 0);
	assert_int_equal(read8(), 0);
}

/* The length rewinds; bytes follow one by one, then 0; a rewind reads it again. */
static void test_restore_port_gives_the_text_once_per_rewind(void **state)
{
	static const char text[] = "agentvmm.session=1 agentvmm.seed=00";
	char got[sizeof(text)];

	(void)state;
	assert_int_equal(restore_port_set(&port, text, strlen(text)), 0);
	assert_int_equal(read32(), strlen(text));
	for (size_t i = 0; i < strlen(text); i++)
		got[i] = (char)read8();
	got[strlen(text)] = '\0';
	assert_string_equal(got, text);
	assert_int_equal(read8(), 0); /* past the end */
	assert_int_equal(read8(), 0);
	assert_int_equal(read32(), strlen(text));
	assert_int_equal(read8(), 'a');
	restore_port_clear(&port);
	assert_int_equal(read32(), 0);
	assert_int_equal(read8(), 0);
}

/* What a guest may try: other widths and offsets read all ones and move nothing. */
static void test_restore_port_hostile_accesses(void **state)
{
	uint64_t v8 = 0;
	uint16_t v2 = 0;
	uint8_t b = 0;

	(void)state;
	assert_int_equal(restore_port_set(&port, "xy", 2), 0);
	restore_port_ops.read(&port, 0, &v2, 2);
	assert_int_equal(v2, 0xffff);
	restore_port_ops.read(&port, 0, &v8, 8);
	assert_true(v8 == UINT64_MAX);
	restore_port_ops.read(&port, 1, &b, 1);
	assert_int_equal(b, 0xff);
	restore_port_ops.read(&port, 3, &b, 1);
	assert_int_equal(b, 0xff);
	restore_port_ops.write(&port, 0, "zz", 2); /* ignored */
	assert_int_equal(read32(), 2);
	assert_int_equal(read8(), 'x');
	assert_int_equal(read8(), 'y');
	assert_int_equal(read8(), 0);
}

static void test_restore_port_bounds(void **state)
{
	char *big = calloc(1, AV_RESTORE_MAX + 1);

	(void)state;
	assert_non_null(big);
	assert_int_equal(restore_port_set(&port, big, AV_RESTORE_MAX + 1), -E2BIG);
	assert_int_equal(read32(), 0);
	assert_int_equal(restore_port_set(&port, big, AV_RESTORE_MAX), 0);
	assert_int_equal(read32(), AV_RESTORE_MAX);
	assert_int_equal(restore_port_set(&port, "", 0), 0); /* empty: "none" */
	assert_int_equal(read32(), 0);
	free(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_restore_port_none_reads_zero_length, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_restore_port_gives_the_text_once_per_rewind,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_restore_port_hostile_accesses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_restore_port_bounds, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
