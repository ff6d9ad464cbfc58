// SPDX-License-Identifier: MIT
/*
 * test_oem.c: SMBIOS OEM strings from the options: the base64 encoder (RFC
 * 4648 vectors, every byte value), credential names as systemd checks them,
 * the strings built in order, and every error of a credential file and of
 * the bounds.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "boot/smbios.h"
#include "tests/helpers/th_base64.h"
#include "vmm/oem.h"

static char tmp[] = "/tmp/av-test-oem-XXXXXX";

static int setup(void **state)
{
	return mkdtemp(tmp) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[100];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	return system(cmd) ? -1 : 0;
}

/* A file (name) in the temp dir holding (len) bytes of (data); its path. */
static const char *write_file(const char *name, const void *data, size_t len)
{
	static char path[4][200];
	static int i;
	FILE *f;

	i = (i + 1) % 4;
	snprintf(path[i], sizeof(path[i]), "%s/%s", tmp, name);
	f = fopen(path[i], "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
	return path[i];
}

static char *b64(const void *src, size_t n)
{
	static char out[1024];

	assert_true(oem_base64_len(n) < sizeof(out));
	memset(out, 'X', sizeof(out));
	oem_base64_encode(src, n, out);
	assert_int_equal(strlen(out), oem_base64_len(n));
	return out;
}

static void test_oem_base64_rfc4648_vectors(void **state)
{
	/* RFC 4648 §10 */
	assert_string_equal(b64("", 0), "");
	assert_string_equal(b64("f", 1), "Zg==");
	assert_string_equal(b64("fo", 2), "Zm8=");
	assert_string_equal(b64("foo", 3), "Zm9v");
	assert_string_equal(b64("foob", 4), "Zm9vYg==");
	assert_string_equal(b64("fooba", 5), "Zm9vYmE=");
	assert_string_equal(b64("foobar", 6), "Zm9vYmFy");
	/* the last two alphabet entries and a NUL inside */
	assert_string_equal(b64("\xfb\xff\xbf", 3), "+/+/");
	assert_string_equal(b64("a\0b", 3), "YQBi");
}

static void test_oem_base64_every_byte_round_trips(void **state)
{
	uint8_t in[256], out[256];

	for (int i = 0; i < 256; i++)
		in[i] = (uint8_t)(255 - i);
	for (size_t n = 250; n <= 256; n++) {
		const char *s = b64(in, n);

		assert_int_equal(th_unbase64(s, out, sizeof(out)), n);
		assert_memory_equal(in, out, n);
	}
}

static bool name_ok(const char *s)
{
	return oem_cred_name_valid(s, strlen(s));
}

static void test_oem_credential_names_as_systemd(void **state)
{
	char n255[256], n256[257];

	assert_true(name_ok("a"));
	assert_true(name_ok("ssh.authorized_keys.root"));
	assert_true(name_ok("with space~!@#$%^&*()"));
	assert_true(name_ok("..."));
	assert_true(name_ok(".hidden"));
	assert_false(name_ok(""));
	assert_false(name_ok("."));
	assert_false(name_ok(".."));
	assert_false(name_ok("a/b"));
	assert_false(name_ok("a:b"));
	assert_false(name_ok("a=b"));
	assert_false(name_ok("tab\there"));
	assert_false(name_ok("del\x7f"));
	assert_false(name_ok("\xc3\xbc")); /* UTF-8: not ASCII */
	memset(n255, 'n', 255);
	n255[255] = 0;
	memset(n256, 'n', 256);
	n256[256] = 0;
	assert_true(name_ok(n255));
	assert_false(name_ok(n256));
	/* only (len) bytes count */
	assert_true(oem_cred_name_valid("key:value", 3));
}

static int build(struct vm_config *cfg, struct oem_strings *o, char *err, size_t len)
{
	memset(err, 'X', len);
	err[len - 1] = 0;
	return oem_strings_build(cfg, o, err, len);
}

static void test_oem_strings_in_order(void **state)
{
	static const uint8_t bin[] = { 0, 1, 2, 0xfe, 0xff, 'x', '\n' };
	struct vm_config cfg;
	struct oem_strings o;
	char err[256], load[300], want[300];

	config_init(&cfg);
	snprintf(load, sizeof(load), "key:%s", write_file("bin", bin, sizeof(bin)));
	cfg.oem_strings[cfg.nr_oem_strings++] = "plain one";
	cfg.oem_strings[cfg.nr_oem_strings++] = "plain two";
	cfg.set_creds[cfg.nr_set_creds++] = "hostname:vm:1=ok";
	cfg.set_creds[cfg.nr_set_creds++] = "empty:";
	cfg.load_creds[cfg.nr_load_creds++] = load;
	assert_int_equal(build(&cfg, &o, err, sizeof(err)), 0);
	assert_int_equal(o.nr, 5);
	assert_string_equal(o.str[0], "plain one");
	assert_string_equal(o.str[1], "plain two");
	/* NAME ends at the first ':', the value keeps its own ':' and '=' */
	assert_string_equal(o.str[2], "io.systemd.credential:hostname=vm:1=ok");
	assert_string_equal(o.str[3], "io.systemd.credential:empty=");
	snprintf(want, sizeof(want), "io.systemd.credential.binary:key=%s", b64(bin, sizeof(bin)));
	assert_string_equal(o.str[4], want);
	size_t bytes = 0;
	for (unsigned i = 0; i < o.nr; i++)
		bytes += strlen(o.str[i]) + 1;
	assert_int_equal(o.bytes, bytes);
	oem_strings_free(&o);
	oem_strings_free(&o); /* idempotent */
	assert_null(o.str);

	/* nothing given: nothing built */
	config_init(&cfg);
	assert_int_equal(build(&cfg, &o, err, sizeof(err)), 0);
	assert_int_equal(o.nr, 0);
	assert_null(o.str);
}

/* One --load-credential (arg) must fail with (code) and exactly (msg). */
static void expect_load_err(const char *arg, int code, const char *msg)
{
	struct vm_config cfg;
	struct oem_strings o;
	char err[512];

	config_init(&cfg);
	cfg.oem_strings[cfg.nr_oem_strings++] = "kept until the error";
	cfg.load_creds[cfg.nr_load_creds++] = arg;
	assert_int_equal(build(&cfg, &o, err, sizeof(err)), code);
	assert_string_equal(err, msg);
	assert_int_equal(o.nr, 0);
	assert_null(o.str);
}

static void test_oem_credential_file_errors(void **state)
{
	static char big[OEM_CRED_FILE_MAX + 1];
	char arg[300], msg[512], fifo[200];

	snprintf(arg, sizeof(arg), "k:%s/missing", tmp);
	snprintf(msg, sizeof(msg), "--load-credential %s: No such file or directory", arg);
	expect_load_err(arg, -ENOENT, msg);

	snprintf(arg, sizeof(arg), "k:%s", tmp);
	snprintf(msg, sizeof(msg), "--load-credential %s: not a regular file", arg);
	expect_load_err(arg, -EINVAL, msg);

	snprintf(fifo, sizeof(fifo), "%s/fifo", tmp);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	snprintf(arg, sizeof(arg), "k:%s", fifo);
	snprintf(msg, sizeof(msg), "--load-credential %s: not a regular file", arg);
	expect_load_err(arg, -EINVAL, msg); /* and it did not block */

	snprintf(arg, sizeof(arg), "k:%s", write_file("big", big, sizeof(big)));
	snprintf(msg, sizeof(msg), "--load-credential %s: 32769 bytes, more than the 32768 a "
		 "credential file may have (SMBIOS OEM strings)", arg);
	expect_load_err(arg, -EINVAL, msg);

	if (geteuid() != 0) {
		const char *p = write_file("secret", "s", 1);

		assert_int_equal(chmod(p, 0), 0);
		snprintf(arg, sizeof(arg), "k:%s", p);
		snprintf(msg, sizeof(msg), "--load-credential %s: Permission denied", arg);
		expect_load_err(arg, -EACCES, msg);
	}
}

/* The largest file and an empty one are fine. */
static void test_oem_credential_file_sizes_at_the_bounds(void **state)
{
	static char max[OEM_CRED_FILE_MAX];
	struct vm_config cfg;
	struct oem_strings o;
	char err[256], a1[300], a2[300];

	memset(max, 0xa5, sizeof(max));
	config_init(&cfg);
	snprintf(a1, sizeof(a1), "max:%s", write_file("max", max, sizeof(max)));
	snprintf(a2, sizeof(a2), "none:%s", write_file("none", "", 0));
	cfg.load_creds[cfg.nr_load_creds++] = a1;
	cfg.load_creds[cfg.nr_load_creds++] = a2;
	assert_int_equal(build(&cfg, &o, err, sizeof(err)), 0);
	assert_int_equal(o.nr, 2);
	assert_int_equal(strlen(o.str[0]), strlen(OEM_CRED_BINARY_PREFIX "max=") +
						 oem_base64_len(OEM_CRED_FILE_MAX));
	assert_string_equal(o.str[1], OEM_CRED_BINARY_PREFIX "none=");
	assert_true(o.bytes <= SMBIOS_OEM_MAX_BYTES);
	oem_strings_free(&o);
}

static void test_oem_total_bounds(void **state)
{
	static char s[20000];
	struct vm_config cfg;
	struct oem_strings o;
	char err[256];

	/* 3 strings of 16383 bytes + NUL: exactly SMBIOS_OEM_MAX_BYTES, then one byte more */
	memset(s, 'o', sizeof(s) - 1);
	s[16383] = 0;
	config_init(&cfg);
	for (int i = 0; i < 3; i++)
		cfg.oem_strings[cfg.nr_oem_strings++] = s;
	assert_int_equal(build(&cfg, &o, err, sizeof(err)), 0);
	assert_int_equal(o.bytes, SMBIOS_OEM_MAX_BYTES);
	oem_strings_free(&o);
	cfg.set_creds[cfg.nr_set_creds++] = "x:";
	assert_int_equal(build(&cfg, &o, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "--oem-string, --set-credential, --load-credential: 49177 bytes "
				 "of SMBIOS OEM strings, more than the 49152 a Linux guest can take");
	assert_null(o.str);

	/* the count, should three lists of 255 reach it */
	config_init(&cfg);
	for (int i = 0; i < 200; i++) {
		cfg.oem_strings[cfg.nr_oem_strings++] = "o";
		cfg.set_creds[cfg.nr_set_creds++] = "n:v";
	}
	assert_int_equal(build(&cfg, &o, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "--oem-string, --set-credential, --load-credential: 400 SMBIOS "
				 "OEM strings, more than 255");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_oem_base64_rfc4648_vectors),
		cmocka_unit_test(test_oem_base64_every_byte_round_trips),
		cmocka_unit_test(test_oem_credential_names_as_systemd),
		cmocka_unit_test(test_oem_strings_in_order),
		cmocka_unit_test(test_oem_credential_file_errors),
		cmocka_unit_test(test_oem_credential_file_sizes_at_the_bounds),
		cmocka_unit_test(test_oem_total_bounds),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
