// SPDX-License-Identifier: MIT
/* test_gi_session_spec.c: guest-init's session job parser and frame check (guest-init/session.h). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "guest-init/session.h"

#define SPEC(lit) ((const uint8_t *)(lit)), (sizeof(lit) - 1)

static struct gi_spec s;
static char err[256];

static int teardown(void **state)
{
	(void)state;
	gi_spec_fini(&s);
	return 0;
}

static void test_full_job(void **state)
{
	(void)state;
	assert_int_equal(gi_spec_parse(SPEC("a:sh\0a:-c\0a:\0e:A=b=c\0e:TERM=xterm\0c:/tmp\0"
					    "u:1000:1001\0t:33:111\0r:nofile:1024:4096\0"
					    "r:core:0:unlimited\0"), &s, err, sizeof(err)), 0);
	assert_int_equal(s.argc, 3);
	assert_string_equal(s.argv[0], "sh");
	assert_string_equal(s.argv[2], "");
	assert_null(s.argv[3]);
	assert_int_equal(s.envc, 2);
	assert_string_equal(s.env[0], "A=b=c");
	assert_null(s.env[2]);
	assert_string_equal(s.cwd, "/tmp");
	assert_true(s.has_user);
	assert_int_equal(s.uid, 1000);
	assert_int_equal(s.gid, 1001);
	assert_true(s.tty);
	assert_int_equal(s.rows, 33);
	assert_int_equal(s.cols, 111);
	assert_int_equal(s.nr_rlimits, 2);
	assert_int_equal(s.rlimits[0].resource, RLIMIT_NOFILE);
	assert_int_equal(s.rlimits[0].rl.rlim_cur, 1024);
	assert_int_equal(s.rlimits[0].rl.rlim_max, 4096);
	assert_true(s.rlimits[1].rl.rlim_max == RLIM_INFINITY);
}

static void test_minimal_job_defaults(void **state)
{
	(void)state;
	assert_int_equal(gi_spec_parse(SPEC("a:true\0"), &s, err, sizeof(err)), 0);
	assert_int_equal(s.argc, 1);
	assert_null(s.cwd);
	assert_false(s.has_user);
	assert_false(s.tty);
	assert_int_equal(s.envc, 0);
	gi_spec_fini(&s);
	assert_int_equal(gi_spec_parse(SPEC("u:5\0a:x\0"), &s, err, sizeof(err)), 0);
	assert_int_equal(s.uid, 5);
	assert_int_equal(s.gid, 5);
}

/* Each bad job is refused with a message naming the fault. */
static void bad(const uint8_t *p, size_t len, const char *needle)
{
	gi_spec_fini(&s);
	assert_int_equal(gi_spec_parse(p, len, &s, err, sizeof(err)), -EINVAL);
	if (!strstr(err, needle))
		fail_msg("message '%s' lacks '%s'", err, needle);
}

static void test_bad_jobs(void **state)
{
	(void)state;
	bad(SPEC(""), "no command");
	bad(SPEC("e:A=b\0"), "no command");
	bad(SPEC("a:x"), "does not end in NUL");
	bad(SPEC("a:x\0\0"), "not K:VALUE");
	bad(SPEC("a:x\0ax\0"), "not K:VALUE");
	bad(SPEC("a:x\0z:1\0"), "unknown key 'z'");
	bad(SPEC("a:x\0e:=v\0"), "NAME=VALUE");
	bad(SPEC("a:x\0e:novalue\0"), "NAME=VALUE");
	bad(SPEC("a:x\0c:tmp\0"), "not an absolute path");
	bad(SPEC("a:x\0c:/a\0c:/b\0"), "given twice");
	bad(SPEC("a:x\0u:1\0u:2\0"), "given twice");
	bad(SPEC("a:x\0u:-1\0"), "UID[:GID]");
	bad(SPEC("a:x\0u:4294967295\0"), "UID[:GID]");
	bad(SPEC("a:x\0u:1:\0"), "UID[:GID]");
	bad(SPEC("a:x\0t:0:80\0"), "ROWS:COLS");
	bad(SPEC("a:x\0t:24:65536\0"), "ROWS:COLS");
	bad(SPEC("a:x\0t:24\0"), "ROWS:COLS");
	bad(SPEC("a:x\0r:bogus:1:2\0"), "NAME:SOFT:HARD");
	bad(SPEC("a:x\0r:nofile:5:4\0"), "SOFT <= HARD");
	bad(SPEC("a:x\0r:nofile:1\0"), "NAME:SOFT:HARD");
	bad(SPEC("a:x\0r:nofile:1:18446744073709551616\0"), "NAME:SOFT:HARD");
	bad(SPEC("a:x\0r:nofile:1:2\0r:nofile:1:2\0"), "given twice");
}

static void test_item_and_job_limits(void **state)
{
	size_t n = AVS_ITEM_MAX + 8;
	uint8_t *p = malloc(AVS_SPEC_MAX + 16);

	(void)state;
	assert_non_null(p);
	/* one item of AVS_ITEM_MAX bytes with its "a:" and NUL is fine; one more byte is not */
	memset(p, 'x', n);
	memcpy(p, "a:", 2);
	p[AVS_ITEM_MAX - 1] = 0;
	assert_int_equal(gi_spec_parse(p, AVS_ITEM_MAX, &s, err, sizeof(err)), 0);
	assert_int_equal(strlen(s.argv[0]), AVS_ITEM_MAX - 3);
	p[AVS_ITEM_MAX - 1] = 'x';
	p[AVS_ITEM_MAX] = 0;
	bad(p, AVS_ITEM_MAX + 1, "longer than the limit");
	/* the whole job */
	for (size_t i = 0; i + 3 <= AVS_SPEC_MAX + 3; i += 3)
		memcpy(p + i, "a:\0", 3);
	bad(p, AVS_SPEC_MAX + 3, "over");
	free(p);
}

static void test_frame_check(void **state)
{
	struct avs_hdr h = { .len = 0, .type = AVS_EXIT_ACK };

	(void)state;
	assert_int_equal(gi_session_frame_check(&h), 0);
	h.len = 1;
	assert_int_equal(gi_session_frame_check(&h), -EPROTO);
	h = (struct avs_hdr){ .len = AVS_DATA_MAX, .type = AVS_STDIN };
	assert_int_equal(gi_session_frame_check(&h), 0);
	h.len++;
	assert_int_equal(gi_session_frame_check(&h), -EPROTO);
	h = (struct avs_hdr){ .len = AVS_SPEC_MAX, .type = AVS_SPEC };
	assert_int_equal(gi_session_frame_check(&h), 0);
	h.len++;
	assert_int_equal(gi_session_frame_check(&h), -EPROTO);
	h = (struct avs_hdr){ .len = 4, .type = AVS_SIGNAL };
	assert_int_equal(gi_session_frame_check(&h), 0);
	h.flags = 1;
	assert_int_equal(gi_session_frame_check(&h), -EPROTO);
	h = (struct avs_hdr){ .len = 4, .type = AVS_WINSIZE, .zero = 1 };
	assert_int_equal(gi_session_frame_check(&h), -EPROTO);
	/* the guest's own frame types are not the host's to send */
	h = (struct avs_hdr){ .len = 4, .type = AVS_EXIT };
	assert_int_equal(gi_session_frame_check(&h), -EPROTO);
	h = (struct avs_hdr){ .len = 1, .type = AVS_STDOUT };
	assert_int_equal(gi_session_frame_check(&h), -EPROTO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_full_job, teardown),
		cmocka_unit_test_teardown(test_minimal_job_defaults, teardown),
		cmocka_unit_test_teardown(test_bad_jobs, teardown),
		cmocka_unit_test_teardown(test_item_and_job_limits, teardown),
		cmocka_unit_test(test_frame_check),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
