// SPDX-License-Identifier: MIT
/*
 * test_gi_session_spec.c: guest-init's session job parser and frame check
 * (guest-init/session.h), the container items included: each stored as
 * given, each refusal with its message, the counts at their limits.
 */
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

/* The container items: every one stored, set-up items in wire order, split into their parts. */
static void test_container_job(void **state)
{
	const struct gi_spec_setup *m;

	(void)state;
	assert_int_equal(gi_spec_parse(SPEC("a:sh\0u:1000\0g:10\0g:4294967294\0R:/run/ct/rootfs\0"
					    "h:web-1.example\0m:027\0n:1\0"
					    "k:ffffffffff:20:a0:80:80\0"
					    "Y:1\0s:net.ipv4.ip_forward=1\0M:proc:e:-:/proc\0"
					    "M:tmpfs:1000002:mode=755,size=65536k:/dev\0"
					    "M:bind:4001:/etc/hosts:/etc/hosts\0D:1\0"
					    "P:/proc/kcore\0O:/proc/sys\0s:kernel.msgmax=\0"),
				       &s, err, sizeof(err)), 0);
	assert_string_equal(s.root, "/run/ct/rootfs");
	assert_string_equal(s.hostname, "web-1.example");
	assert_int_equal(s.nr_groups, 2);
	assert_int_equal(s.groups[0], 10);
	assert_int_equal(s.groups[1], 4294967294U);
	assert_true(s.has_umask);
	assert_int_equal(s.umask, 027);
	assert_true(s.no_new_privs);
	assert_true(s.has_caps);
	assert_true(s.caps.bnd == 0xffffffffffULL && s.caps.eff == 0x20 && s.caps.prm == 0xa0 &&
		    s.caps.inh == 0x80 && s.caps.amb == 0x80);
	assert_int_equal(s.nr_setup, 9);
	assert_int_equal(s.setup[0].key, 'Y');
	m = &s.setup[1];
	assert_int_equal(m->key, 's');
	assert_string_equal(m->path, "net.ipv4.ip_forward");
	assert_string_equal(m->value, "1");
	m = &s.setup[2];
	assert_int_equal(m->key, 'M');
	assert_string_equal(m->fstype, "proc");
	assert_int_equal(m->flags, 0xe);
	assert_null(m->value); /* "-" */
	assert_string_equal(m->path, "/proc");
	m = &s.setup[3];
	assert_string_equal(m->fstype, "tmpfs");
	assert_int_equal(m->flags, 0x1000002);
	assert_string_equal(m->value, "mode=755,size=65536k");
	assert_string_equal(m->path, "/dev");
	m = &s.setup[4];
	assert_string_equal(m->fstype, "bind");
	assert_int_equal(m->flags, 0x4001);
	assert_string_equal(m->value, "/etc/hosts");
	assert_string_equal(m->path, "/etc/hosts");
	assert_int_equal(s.setup[5].key, 'D');
	assert_int_equal(s.setup[6].key, 'P');
	assert_string_equal(s.setup[6].path, "/proc/kcore");
	assert_int_equal(s.setup[7].key, 'O');
	assert_string_equal(s.setup[7].path, "/proc/sys");
	assert_string_equal(s.setup[8].path, "kernel.msgmax");
	assert_string_equal(s.setup[8].value, "");
	/* the rest of the job is still whole after the items were split */
	assert_string_equal(s.argv[0], "sh");
	assert_int_equal(s.uid, 1000);
}

#define HOST64 "0123456789012345678901234567890123456789012345678901234567890123"

/* Without container items nothing changes; their values at the edges of what is allowed. */
static void test_container_items_defaults_and_edges(void **state)
{
	(void)state;
	assert_int_equal(gi_spec_parse(SPEC("a:x\0"), &s, err, sizeof(err)), 0);
	assert_null(s.root);
	assert_null(s.hostname);
	assert_int_equal(s.nr_groups, 0);
	assert_false(s.has_umask);
	assert_false(s.no_new_privs);
	assert_false(s.has_caps);
	assert_int_equal(s.nr_setup, 0);
	gi_spec_fini(&s);
	/* a path with dots that are not ".." is fine; each mount type */
	assert_int_equal(gi_spec_parse(SPEC("a:x\0m:0\0k:FFFFFFFFFFFFFFFF:0:0:0:0\0R:/\0"
					    "P:/a..b/..c/.\0O:/x/...\0"
					    "M:cgroup2:0:-:/sys/fs/cgroup\0"
					    "M:devpts:a:newinstance,ptmxmode=0666:/dev/pts\0"
					    "M:mqueue:0:-:/dev/mqueue\0M:sysfs:1:-:/sys\0"
					    "h:" HOST64 "\0"),
				       &s, err, sizeof(err)), 0);
	assert_int_equal(s.umask, 0);
	assert_true(s.caps.bnd == UINT64_MAX);
	assert_int_equal(strlen(s.hostname), AVS_HOSTNAME_MAX);
	assert_int_equal(s.nr_setup, 6);
	gi_spec_fini(&s);
	assert_int_equal(gi_spec_parse(SPEC("a:x\0m:0777\0"), &s, err, sizeof(err)), 0);
	assert_int_equal(s.umask, 0777);
}

/* (n) items "K:V" (K, V given) after "a:x" and (head): the most allowed, and one more. */
static uint8_t *many(const char *head, const char *item, size_t n, size_t *len)
{
	size_t hl = strlen(head) + 1, il = strlen(item) + 1;
	uint8_t *p = malloc(4 + hl + n * il);

	assert_non_null(p);
	memcpy(p, "a:x", 4);
	memcpy(p + 4, head, hl);
	for (size_t i = 0; i < n; i++)
		memcpy(p + 4 + hl + i * il, item, il);
	*len = 4 + hl + n * il;
	return p;
}

static void test_container_item_counts(void **state)
{
	size_t len;
	uint8_t *p;

	(void)state;
	p = many("R:/r", "g:1", AVS_MAX_GROUPS, &len);
	assert_int_equal(gi_spec_parse(p, len, &s, err, sizeof(err)), 0);
	assert_int_equal(s.nr_groups, AVS_MAX_GROUPS);
	free(p);
	p = many("R:/r", "g:1", AVS_MAX_GROUPS + 1, &len);
	bad(p, len, "more than 256 groups");
	free(p);
	p = many("R:/r", "P:/proc/kcore", AVS_MAX_SETUP, &len);
	gi_spec_fini(&s);
	assert_int_equal(gi_spec_parse(p, len, &s, err, sizeof(err)), 0);
	assert_int_equal(s.nr_setup, AVS_MAX_SETUP);
	free(p);
	p = many("R:/r", "s:a=b", AVS_MAX_SETUP + 1, &len);
	bad(p, len, "more than 1024 set-up items");
	free(p);
}

static void test_bad_container_items(void **state)
{
	(void)state;
	bad(SPEC("a:x\0R:run\0"), "R:run: not an absolute path");
	bad(SPEC("a:x\0R:/a\0R:/b\0"), "R: given twice");
	bad(SPEC("a:x\0h:\0"), "h:: expected 1 to 64");
	bad(SPEC("a:x\0h:a_b\0"), "h:a_b");
	bad(SPEC("a:x\0h:a b\0"), "h:a b");
	bad(SPEC("a:x\0h:" HOST64 "4\0"), "expected 1 to 64");
	bad(SPEC("a:x\0h:a\0h:b\0"), "h: given twice");
	bad(SPEC("a:x\0g:-1\0"), "g:-1: expected a decimal GID");
	bad(SPEC("a:x\0g:4294967295\0"), "g:4294967295");
	bad(SPEC("a:x\0g:\0"), "g:: expected");
	bad(SPEC("a:x\0m:8\0"), "m:8: expected an octal umask");
	bad(SPEC("a:x\0m:1000\0"), "m:1000");
	bad(SPEC("a:x\0m:00022\0"), "m:00022");
	bad(SPEC("a:x\0m:\0"), "m::");
	bad(SPEC("a:x\0m:0x1\0"), "m:0x1");
	bad(SPEC("a:x\0m:022\0m:022\0"), "m: given twice");
	bad(SPEC("a:x\0n:0\0"), "n:0: expected n:1");
	bad(SPEC("a:x\0n:\0"), "expected n:1");
	bad(SPEC("a:x\0n:1\0n:1\0"), "n: given twice");
	bad(SPEC("a:x\0k:1:1:1:1\0"), "k:1:1:1:1: expected BND:EFF:PRM:INH:AMB");
	bad(SPEC("a:x\0k:1:1:1:1:1:1\0"), "five hex masks");
	bad(SPEC("a:x\0k:10000000000000000:0:0:0:0\0"), "five hex masks");
	bad(SPEC("a:x\0k:g:0:0:0:0\0"), "five hex masks");
	bad(SPEC("a:x\0k:0:0::0:0\0"), "five hex masks");
	bad(SPEC("a:x\0k:-1:0:0:0:0\0"), "five hex masks");
	bad(SPEC("a:x\0k:ff:3:1:0:0\0"), "effective capabilities not all permitted");
	bad(SPEC("a:x\0k:1:0:0:2:0\0"), "inheritable capabilities outside the bounding set");
	bad(SPEC("a:x\0k:3:0:1:2:2\0"), "ambient capabilities not both permitted");
	bad(SPEC("a:x\0k:3:0:1:1:2\0"), "ambient capabilities not both permitted");
	bad(SPEC("a:x\0k:0:0:0:0:0\0k:0:0:0:0:0\0"), "k: given twice");
	/* set-up items */
	bad(SPEC("a:x\0s:a=b\0"), "set-up items without a root");
	bad(SPEC("a:x\0Y:1\0"), "set-up items without a root");
	bad(SPEC("a:x\0R:/r\0s:=1\0"), "s:=1: expected KEY=VALUE");
	bad(SPEC("a:x\0R:/r\0s:noeq\0"), "s:noeq");
	bad(SPEC("a:x\0R:/r\0s:.a=1\0"), "s:.a=1");
	bad(SPEC("a:x\0R:/r\0s:a.=1\0"), "s:a.=1");
	bad(SPEC("a:x\0R:/r\0s:a..b=1\0"), "s:a..b=1");
	bad(SPEC("a:x\0R:/r\0s:a/b=1\0"), "s:a/b=1");
	bad(SPEC("a:x\0R:/r\0M:proc:e:-\0"), "M:proc:e:-: expected TYPE:FLAGS:DATA:DST");
	bad(SPEC("a:x\0R:/r\0M:ext4:0:-:/x\0"), "M:ext4:0:-:/x: unknown TYPE");
	bad(SPEC("a:x\0R:/r\0M:proc:zz:-:/p\0"), "FLAGS");
	bad(SPEC("a:x\0R:/r\0M:proc::-:/p\0"), "FLAGS");
	bad(SPEC("a:x\0R:/r\0M:bind:1020:/a:/p\0"), "M:bind:1020:/a:/p: FLAGS"); /* BIND */
	bad(SPEC("a:x\0R:/r\0M:proc:20:-:/p\0"), "FLAGS"); /* MS_REMOUNT */
	bad(SPEC("a:x\0R:/r\0M:proc:000000001:-:/p\0"), "FLAGS"); /* 9 digits */
	bad(SPEC("a:x\0R:/r\0M:proc:0::/p\0"), "DATA is empty");
	bad(SPEC("a:x\0R:/r\0M:bind:0:-:/p\0"), "the bind source is not an absolute path");
	bad(SPEC("a:x\0R:/r\0M:bind:0:src:/p\0"), "the bind source");
	bad(SPEC("a:x\0R:/r\0M:bind:0:/a/../b:/p\0"), "the bind source");
	bad(SPEC("a:x\0R:/r\0M:tmpfs:0:-:dev\0"), "DST is not an absolute path");
	bad(SPEC("a:x\0R:/r\0M:tmpfs:0:-:/dev/..\0"), "DST");
	bad(SPEC("a:x\0R:/r\0M:tmpfs:0:-:\0"), "DST");
	bad(SPEC("a:x\0R:/r\0D:2\0"), "D:2: expected D:1");
	bad(SPEC("a:x\0R:/r\0D:1\0D:1\0"), "D: given twice");
	bad(SPEC("a:x\0R:/r\0Y:\0"), "expected Y:1");
	bad(SPEC("a:x\0R:/r\0Y:1\0Y:1\0"), "Y: given twice");
	bad(SPEC("a:x\0R:/r\0P:proc\0"), "P:proc: not an absolute path");
	bad(SPEC("a:x\0R:/r\0P:/..\0"), "P:/..");
	bad(SPEC("a:x\0R:/r\0O:/a/../b\0"), "O:/a/../b");
	bad(SPEC("a:x\0R:/r\0O:\0"), "O::");
	bad(SPEC("a:x\0R:/r\0Z:1\0"), "unknown key 'Z'");
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
		cmocka_unit_test_teardown(test_container_job, teardown),
		cmocka_unit_test_teardown(test_container_items_defaults_and_edges, teardown),
		cmocka_unit_test_teardown(test_container_item_counts, teardown),
		cmocka_unit_test_teardown(test_bad_container_items, teardown),
		cmocka_unit_test(test_frame_check),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
