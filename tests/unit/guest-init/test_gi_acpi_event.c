// SPDX-License-Identifier: MIT
/*
 * test_gi_acpi_event.c: guest-init's acpi_event netlink parsing (family
 * reply, power-button events, malformed input) and, where the host kernel
 * has ACPI, the real family lookup and group join.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "guest-init/acpi_event.h"

#define ALIGN4(n) (((n) + 3u) & ~3u)

/* A tiny netlink message writer (host byte order, as the kernel sends). */
struct msg {
	uint8_t b[4096];
	size_t len;      /* bytes of all messages so far */
	size_t start;    /* current message's header */
	size_t nest[4];  /* open attribute headers */
	int depth;
};

static void put(struct msg *m, const void *p, size_t n)
{
	assert_true(m->len + ALIGN4(n) <= sizeof(m->b));
	memcpy(m->b + m->len, p, n);
	memset(m->b + m->len + n, 0, ALIGN4(n) - n);
	m->len += ALIGN4(n);
}

static void msg_begin(struct msg *m, uint16_t type, uint8_t cmd)
{
	uint8_t hdr[16] = { 0 }, genl[4] = { cmd, 1, 0, 0 };

	m->start = m->len;
	memcpy(hdr + 4, &type, 2);
	put(m, hdr, sizeof(hdr));
	put(m, genl, sizeof(genl));
}

static void msg_end(struct msg *m)
{
	uint32_t l = (uint32_t)(m->len - m->start);

	memcpy(m->b + m->start, &l, 4);
}

static void attr(struct msg *m, uint16_t type, const void *p, size_t n)
{
	uint16_t h[2] = { (uint16_t)(4 + n), type };

	put(m, h, 4);
	put(m, p, n);
}

static void nest_begin(struct msg *m, uint16_t type)
{
	uint16_t h[2] = { 0, (uint16_t)(type | 0x8000) };

	m->nest[m->depth++] = m->len;
	put(m, h, 4);
}

static void nest_end(struct msg *m)
{
	size_t at = m->nest[--m->depth];
	uint16_t l = (uint16_t)(m->len - at);

	memcpy(m->b + at, &l, 2);
}

/* A CTRL_CMD_NEWFAMILY reply like Linux 6.1's for acpi_event (family id 0x1a, group 5). */
static void family_reply(struct msg *m, const char *name, const char *group_name)
{
	uint16_t id = 0x1a;
	uint32_t v = 1, gid = 5, other = 9;

	msg_begin(m, 0x10, 1);
	attr(m, 2, name, strlen(name) + 1);
	attr(m, 1, &id, sizeof(id));
	attr(m, 3, &v, sizeof(v));
	nest_begin(m, 7);
	nest_begin(m, 1);
	attr(m, 2, &other, sizeof(other));
	attr(m, 1, "other_group", sizeof("other_group"));
	nest_end(m);
	nest_begin(m, 2);
	attr(m, 2, &gid, sizeof(gid));
	attr(m, 1, group_name, strlen(group_name) + 1);
	nest_end(m);
	nest_end(m);
	msg_end(m);
}

/* drivers/acpi/event.c's message for one event. */
static void acpi_event(struct msg *m, uint16_t family, const char *cls, uint32_t type)
{
	uint8_t ev[44] = { 0 };
	uint32_t data = 1;

	snprintf((char *)ev, 20, "%s", cls);
	snprintf((char *)ev + 20, 15, "PNP0C0C:00");
	memcpy(ev + 36, &type, 4);
	memcpy(ev + 40, &data, 4);
	msg_begin(m, family, 1);
	attr(m, 1, ev, sizeof(ev));
	msg_end(m);
}

static void test_acpi_family_reply_parsed(void **state)
{
	struct msg m = { 0 };
	uint16_t family = 0;
	uint32_t group = 0;

	(void)state;
	family_reply(&m, "acpi_event", "acpi_mc_group");
	assert_int_equal(gi_acpi_parse_family(m.b, m.len, &family, &group), 0);
	assert_int_equal(family, 0x1a);
	assert_int_equal(group, 5);
}

static void test_acpi_family_wrong_names_rejected(void **state)
{
	struct msg m = { 0 };
	uint16_t family;
	uint32_t group;

	(void)state;
	family_reply(&m, "acpi_event", "no_such_group");
	assert_int_equal(gi_acpi_parse_family(m.b, m.len, &family, &group), -EINVAL);
	memset(&m, 0, sizeof(m));
	family_reply(&m, "acpi_events", "acpi_mc_group");
	assert_int_equal(gi_acpi_parse_family(m.b, m.len, &family, &group), -EINVAL);
}

static void test_acpi_family_error_reply_returns_errno(void **state)
{
	uint8_t b[36] = { 0 };
	uint32_t len = sizeof(b);
	uint16_t type = 2; /* NLMSG_ERROR */
	int e = -ENOENT;
	uint16_t family;
	uint32_t group;

	(void)state;
	memcpy(b, &len, 4);
	memcpy(b + 4, &type, 2);
	memcpy(b + 16, &e, 4);
	assert_int_equal(gi_acpi_parse_family(b, sizeof(b), &family, &group), -ENOENT);
}

static void test_acpi_family_truncations_rejected(void **state)
{
	struct msg m = { 0 };
	uint16_t family;
	uint32_t group;

	(void)state;
	family_reply(&m, "acpi_event", "acpi_mc_group");
	for (size_t n = 0; n < m.len; n++)
		assert_int_equal(gi_acpi_parse_family(m.b, n, &family, &group), -EINVAL);
	/* attribute lengths running past the message */
	for (size_t at = 20; at + 2 <= m.len; at += 4) {
		struct msg c = m;
		uint16_t big = 0xfff0;

		memcpy(c.b + at, &big, 2);
		(void)gi_acpi_parse_family(c.b, c.len, &family, &group); /* must not crash */
	}
}

static void test_acpi_power_events_counted(void **state)
{
	struct msg m = { 0 };

	(void)state;
	acpi_event(&m, 0x1a, "button/power", 0x80);
	acpi_event(&m, 0x1a, "button/sleep", 0x80);    /* another button */
	acpi_event(&m, 0x1a, "button/power", 0x02);    /* wake notify, not a press */
	acpi_event(&m, 0x1b, "button/power", 0x80);    /* another family */
	acpi_event(&m, 0x1a, "button/powerx", 0x80);
	acpi_event(&m, 0x1a, "button/power", 0x80);
	assert_int_equal(gi_acpi_count_power(m.b, m.len, 0x1a), 2);
	assert_int_equal(gi_acpi_count_power(m.b, m.len, 0x1b), 1);
}

static void test_acpi_event_malformed_ignored(void **state)
{
	struct msg m = { 0 };

	(void)state;
	acpi_event(&m, 0x1a, "button/power", 0x80);
	/* every truncation: no crash, and no press unless the whole message is there */
	for (size_t n = 0; n < m.len; n++)
		assert_int_equal(gi_acpi_count_power(m.b, n, 0x1a), 0);
	/* an unterminated device class of 20 bytes matches nothing */
	struct msg c = m;
	memset(c.b + 24, 'x', 20);
	assert_int_equal(gi_acpi_count_power(c.b, c.len, 0x1a), 0);
	/* a message length of 0 ends the walk */
	c = m;
	memset(c.b, 0, 4);
	assert_int_equal(gi_acpi_count_power(c.b, c.len, 0x1a), 0);
}

static void test_acpi_getfamily_request_layout(void **state)
{
	uint8_t b[64];
	size_t n = gi_acpi_build_getfamily(b, sizeof(b), 7);
	uint32_t len, seq;
	uint16_t type, alen, atype;

	(void)state;
	assert_int_equal(n, 16 + 4 + 4 + 12); /* "acpi_event\0" = 11, padded to 12 */
	memcpy(&len, b, 4);
	memcpy(&type, b + 4, 2);
	memcpy(&seq, b + 8, 4);
	assert_int_equal(len, n);
	assert_int_equal(type, 0x10);
	assert_int_equal(seq, 7);
	assert_int_equal(b[16], 3); /* CTRL_CMD_GETFAMILY */
	memcpy(&alen, b + 20, 2);
	memcpy(&atype, b + 22, 2);
	assert_int_equal(alen, 4 + 11);
	assert_int_equal(atype, 2);
	assert_memory_equal(b + 24, "acpi_event", 11);
	assert_int_equal(gi_acpi_build_getfamily(b, 20, 1), 0);
}

/* The real kernel: resolve acpi_event and join its group (skipped without ACPI). */
static void test_acpi_event_open_on_host_kernel(void **state)
{
	int fd = gi_acpi_event_open();

	(void)state;
	if (fd == -ENOENT || fd == -EPROTONOSUPPORT || fd == -EINVAL) {
		print_message("skip: host kernel has no acpi_event family (%s)\n", strerror(-fd));
		skip();
	}
	assert_true(fd >= 0);
	/* no press pending on the host: nothing counted, no error */
	assert_int_equal(gi_acpi_event_read(fd), 0);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_acpi_family_reply_parsed),
		cmocka_unit_test(test_acpi_family_wrong_names_rejected),
		cmocka_unit_test(test_acpi_family_error_reply_returns_errno),
		cmocka_unit_test(test_acpi_family_truncations_rejected),
		cmocka_unit_test(test_acpi_power_events_counted),
		cmocka_unit_test(test_acpi_event_malformed_ignored),
		cmocka_unit_test(test_acpi_getfamily_request_layout),
		cmocka_unit_test(test_acpi_event_open_on_host_kernel),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
