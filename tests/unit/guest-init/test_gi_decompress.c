// SPDX-License-Identifier: MIT
/*
 * test_gi_decompress.c: xz / zstd / gzip decompression of module files,
 * against files made by the xz, zstd and gzip tools: round trips, several
 * streams, the output bound at its exact edge, corrupt and truncated input.
 */
#include <errno.h>
#include <fcntl.h>
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

#include "tests/helpers/th_files.h"

#include "guest-init/mkinitramfs/decompress.h"
#include "guest-init/mkinitramfs/util.h"

#define PLAIN_LEN (300u << 10) /* over the first 64 KiB buffer, so the output grows */

static const char *const tools[] = { "xz", "zst", "gz" };
static const char *const compress_cmd[] = { "xz -c --check=crc32", "zstd -q -c", "gzip -n -c" };
static char tmp[64];
static char err[512];

static char *path_of(const char *name)
{
	static char buf[4][256];
	static unsigned int next;
	char *p = buf[next++ % 4];

	snprintf(p, sizeof(buf[0]), "%s/%s", tmp, name);
	return p;
}

/* A module stand-in: an ELF magic, text that compresses, and some noise. */
static void write_plain(const char *name, size_t len)
{
	unsigned char *p = malloc(len);
	uint32_t x = 12345;
	size_t i;
	int fd;

	assert_non_null(p);
	for (i = 0; i < len; i++) {
		x = x * 1103515245u + 12345u;
		p[i] = i % 64 < 48 ? (unsigned char)("module text "[i % 12])
				   : (unsigned char)(x >> 24);
	}
	if (len >= 4)
		memcpy(p, "\x7f" "ELF", 4);
	fd = open(path_of(name), O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, p, len), (ssize_t)len);
	close(fd);
	free(p);
}

static int setup(void **state)
{
	size_t i;

	snprintf(tmp, sizeof(tmp), "/tmp/gi_decompress_XXXXXX");
	if (!mkdtemp(tmp))
		return -1;
	if (th_sh("command -v xz && command -v zstd && command -v gzip") != 0) {
		print_message("xz, zstd or gzip missing\n");
		return -1;
	}
	write_plain("m.ko", PLAIN_LEN);
	write_plain("empty.ko", 0);
	for (i = 0; i < GI_ARRAY_SIZE(tools); i++) {
		if (th_sh("cd %s && %s m.ko > m.ko.%s && %s empty.ko > empty.ko.%s && "
			"cat m.ko.%s m.ko.%s > twice.ko.%s && cat m.ko m.ko > twice.ko",
			tmp, compress_cmd[i], tools[i], compress_cmd[i], tools[i], tools[i],
			tools[i], tools[i]))
			return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	return th_sh("rm -rf '%s'", tmp);
}

/* gi_decompress_file() of (name) must give exactly the bytes of (plain). */
static void expect_same(const char *name, const char *plain, size_t max)
{
	size_t len, plen;
	char *want;
	void *got;
	int ret;

	ret = gi_decompress_file(path_of(name), max, &got, &len, err, sizeof(err));
	if (ret)
		fail_msg("%s: %d %s", name, ret, err);
	assert_int_equal(gi_read_file(path_of(plain), 1u << 30, &want, &plen), 0);
	assert_int_equal(len, plen);
	assert_non_null(got);
	assert_memory_equal(got, want, len);
	free(got);
	free(want);
}

static void expect_fail(const char *name, size_t max, int ret, const char *msg)
{
	void *out = (void *)1;
	size_t len = 1;
	int got = gi_decompress_file(path_of(name), max, &out, &len, err, sizeof(err));

	if (got != ret || !strstr(err, msg) || !strstr(err, path_of(name)))
		fail_msg("%s: ret %d (wanted %d), err '%s' (wanted '%s' and the path)", name, got,
			 ret, err, msg);
	assert_null(out);
	assert_int_equal(len, 0);
}

static void test_gi_comp_suffixes_name_the_format(void **state)
{
	assert_int_equal(gi_comp_of("kernel/a.ko.xz"), GI_COMP_XZ);
	assert_int_equal(gi_comp_of("kernel/a.ko.zst"), GI_COMP_ZSTD);
	assert_int_equal(gi_comp_of("kernel/a.ko.gz"), GI_COMP_GZIP);
	assert_int_equal(gi_comp_of("kernel/a.ko"), GI_COMP_NONE);
	assert_int_equal(gi_comp_of("kernel/a.ko.bz2"), GI_COMP_NONE);
	assert_int_equal(gi_comp_of(".xz"), GI_COMP_NONE);
	assert_int_equal(gi_comp_of(""), GI_COMP_NONE);
	assert_int_equal(gi_comp_strip_len("k/a.ko.xz"), strlen("k/a.ko"));
	assert_int_equal(gi_comp_strip_len("k/a.ko.zst"), strlen("k/a.ko"));
	assert_int_equal(gi_comp_strip_len("k/a.ko.gz"), strlen("k/a.ko"));
	assert_int_equal(gi_comp_strip_len("k/a.ko"), strlen("k/a.ko"));
	assert_string_equal(gi_comp_name(GI_COMP_ZSTD), "zstd");
	assert_string_equal(gi_comp_name(GI_COMP_NONE), "none");
}

static void test_gi_decompress_round_trips_every_format(void **state)
{
	char name[64];
	size_t i;

	for (i = 0; i < GI_ARRAY_SIZE(tools); i++) {
		snprintf(name, sizeof(name), "m.ko.%s", tools[i]);
		expect_same(name, "m.ko", GI_DECOMP_MAX_MODULE);
		/* concatenated streams / frames / members decode as the tools do */
		snprintf(name, sizeof(name), "twice.ko.%s", tools[i]);
		expect_same(name, "twice.ko", GI_DECOMP_MAX_MODULE);
		/* an empty module is an empty buffer, not an error */
		snprintf(name, sizeof(name), "empty.ko.%s", tools[i]);
		expect_same(name, "empty.ko", GI_DECOMP_MAX_MODULE);
	}
}

/* gi_decompress() of the bytes of (name) with the bound (max): 0 or the error. */
static int decompress_mem(const char *name, size_t max, size_t *len)
{
	size_t in_len;
	char *in;
	void *out;
	int ret;

	assert_int_equal(gi_read_file(path_of(name), 1u << 30, &in, &in_len), 0);
	ret = gi_decompress(gi_comp_of(name), in, in_len, max, &out, len, err, sizeof(err));
	if (ret) {
		assert_null(out);
		assert_int_equal(*len, 0);
	}
	free(out);
	free(in);
	return ret;
}

static void test_gi_decompress_bound_is_exact(void **state)
{
	char name[64];
	size_t i, len;

	assert_int_equal(th_sh("cd %s && zstd -q -c --no-content-size m.ko > nosize.ko.zst", tmp), 0);
	for (i = 0; i <= GI_ARRAY_SIZE(tools); i++) {
		if (i < GI_ARRAY_SIZE(tools))
			snprintf(name, sizeof(name), "m.ko.%s", tools[i]);
		else
			snprintf(name, sizeof(name), "nosize.ko.zst");
		/* exactly the limit is fine, one byte less is not */
		expect_same(name, "m.ko", PLAIN_LEN);
		assert_int_equal(decompress_mem(name, PLAIN_LEN, &len), 0);
		assert_int_equal(len, PLAIN_LEN);
		assert_int_equal(decompress_mem(name, PLAIN_LEN - 1, &len), -EFBIG);
		assert_string_equal(err, "decompresses to more than 307199 bytes");
		assert_int_equal(decompress_mem(name, 1, &len), -EFBIG);
		assert_int_equal(decompress_mem(name, 0, &len), -EFBIG);
		assert_string_equal(err, "decompresses to more than 0 bytes");
	}
	assert_int_equal(decompress_mem("empty.ko.xz", 0, &len), 0);
	assert_int_equal(len, 0);
	/* the file itself must fit the bound too */
	expect_fail("m.ko.gz", 1024, -EFBIG, "compressed file larger than 1024 bytes");
}

/* A decompression bomb: 65 MiB of zeros in a few KiB, each format. */
static void test_gi_decompress_over_64mib_module_fails(void **state)
{
	char name[64];
	size_t i;

	for (i = 0; i < GI_ARRAY_SIZE(tools); i++) {
		snprintf(name, sizeof(name), "bomb.ko.%s", tools[i]);
		assert_int_equal(th_sh("head -c 65M /dev/zero | %s > %s", compress_cmd[i],
				     path_of(name)),
				 0);
		expect_fail(name, GI_DECOMP_MAX_MODULE, -EFBIG, "decompresses to more than 64 MiB");
	}
	/* a compressed file bigger than the bound is refused before decoding */
	assert_int_equal(th_sh("head -c 65M /dev/zero > %s", path_of("huge.ko.gz")), 0);
	expect_fail("huge.ko.gz", GI_DECOMP_MAX_MODULE, -EFBIG,
		    "compressed file larger than 64 MiB");
}

static void test_gi_decompress_corrupt_input_fails(void **state)
{
	char name[64], bad[64];
	size_t i;

	for (i = 0; i < GI_ARRAY_SIZE(tools); i++) {
		snprintf(name, sizeof(name), "m.ko.%s", tools[i]);
		/* one byte flipped in the middle: the checksum or the decoder fails */
		snprintf(bad, sizeof(bad), "flip.ko.%s", tools[i]);
		assert_int_equal(th_sh("cd %s && cp %s %s && n=$(($(stat -c %%s %s) / 2)) && "
				     "printf '\\377' | dd of=%s bs=1 seek=$n conv=notrunc "
				     "status=none",
				     tmp, name, bad, bad, bad),
				 0);
		expect_fail(bad, GI_DECOMP_MAX_MODULE, -EBADMSG, "corrupt ");
		/* truncated to half, and to all but its last byte */
		snprintf(bad, sizeof(bad), "half.ko.%s", tools[i]);
		assert_int_equal(th_sh("cd %s && head -c $(($(stat -c %%s %s) / 2)) %s > %s", tmp,
				     name, name, bad),
				 0);
		expect_fail(bad, GI_DECOMP_MAX_MODULE, -EBADMSG, "corrupt ");
		snprintf(bad, sizeof(bad), "cut1.ko.%s", tools[i]);
		assert_int_equal(th_sh("cd %s && head -c -1 %s > %s", tmp, name, bad), 0);
		expect_fail(bad, GI_DECOMP_MAX_MODULE, -EBADMSG, "corrupt ");
		/* garbage after a good stream */
		snprintf(bad, sizeof(bad), "tail.ko.%s", tools[i]);
		assert_int_equal(th_sh("cd %s && (cat %s; echo garbage) > %s", tmp, name, bad), 0);
		expect_fail(bad, GI_DECOMP_MAX_MODULE, -EBADMSG, "corrupt ");
		/* a plain module named as a compressed one, and an empty file */
		snprintf(bad, sizeof(bad), "plain.ko.%s", tools[i]);
		assert_int_equal(th_sh("cd %s && cp m.ko %s", tmp, bad), 0);
		expect_fail(bad, GI_DECOMP_MAX_MODULE, -EBADMSG, "corrupt ");
		snprintf(bad, sizeof(bad), "zero.ko.%s", tools[i]);
		assert_int_equal(th_sh("cd %s && : > %s", tmp, bad), 0);
		expect_fail(bad, GI_DECOMP_MAX_MODULE, -EBADMSG, "corrupt ");
	}
	/* each format says what it is */
	expect_fail("plain.ko.xz", GI_DECOMP_MAX_MODULE, -EBADMSG,
		    "corrupt xz data (not in xz format)");
	expect_fail("cut1.ko.xz", GI_DECOMP_MAX_MODULE, -EBADMSG, "corrupt xz data");
	expect_fail("plain.ko.zst", GI_DECOMP_MAX_MODULE, -EBADMSG, "corrupt zstd data");
	expect_fail("tail.ko.gz", GI_DECOMP_MAX_MODULE, -EBADMSG,
		    "corrupt gzip data (data after the end)");
	expect_fail("half.ko.gz", GI_DECOMP_MAX_MODULE, -EBADMSG,
		    "corrupt gzip data (unexpected end of input)");
}

static void test_gi_decompress_bad_calls_fail(void **state)
{
	void *out = (void *)1;
	size_t len = 1;

	expect_fail("m.ko", GI_DECOMP_MAX_MODULE, -EINVAL, "not a .xz, .zst or .gz file");
	expect_fail("missing.ko.xz", GI_DECOMP_MAX_MODULE, -ENOENT, "No such file");
	assert_int_equal(gi_decompress(GI_COMP_NONE, "x", 1, 10, &out, &len, err, sizeof(err)),
			 -EINVAL);
	assert_null(out);
	assert_int_equal(gi_decompress((enum gi_comp)99, "x", 1, 10, &out, &len, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "not a compression format"));
	/* an empty input straight to the decoders */
	assert_int_equal(gi_decompress(GI_COMP_XZ, "", 0, 10, &out, &len, err, sizeof(err)),
			 -EBADMSG);
	assert_int_equal(gi_decompress(GI_COMP_ZSTD, "", 0, 10, &out, &len, err, sizeof(err)),
			 -EBADMSG);
	assert_int_equal(gi_decompress(GI_COMP_GZIP, "", 0, 10, &out, &len, err, sizeof(err)),
			 -EBADMSG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gi_comp_suffixes_name_the_format),
		cmocka_unit_test(test_gi_decompress_round_trips_every_format),
		cmocka_unit_test(test_gi_decompress_bound_is_exact),
		cmocka_unit_test(test_gi_decompress_over_64mib_module_fails),
		cmocka_unit_test(test_gi_decompress_corrupt_input_fails),
		cmocka_unit_test(test_gi_decompress_bad_calls_fail),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
