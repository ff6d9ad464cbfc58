// SPDX-License-Identifier: MIT
/* test_gi_moddep.c: modules.dep parsing and load-order resolution, crafted and from a real kernel. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "guest-init/mkinitramfs/moddep.h"
#include "tests/helpers/th_files.h"

static const char crafted_dep[] =
	"kernel/a.ko: kernel/b.ko kernel/c.ko\n"
	"kernel/b.ko: kernel/c.ko\n"
	"\n"
	"kernel/c.ko:\n"
	"kernel/sub/d-e.ko: kernel/a.ko kernel/b.ko kernel/c.ko\n"
	"kernel/x.ko: kernel/y.ko\n"
	"kernel/y.ko: kernel/x.ko\n"
	"kernel/self.ko: kernel/self.ko\n"
	"kernel/m.ko: kernel/missing.ko\n"
	"kernel/z.ko.xz:\r\n"
	"  kernel/w.ko  :\tkernel/c.ko  \n";
static const char crafted_builtin[] = "kernel/fs/built-in.ko\nkernel/lib/crc32c.ko";

static char err[256];

static struct gi_moddep *crafted(void)
{
	struct gi_moddep *md;

	assert_int_equal(gi_moddep_parse(crafted_dep, strlen(crafted_dep), crafted_builtin,
					 strlen(crafted_builtin), &md, err, sizeof(err)),
			 0);
	return md;
}

/* Resolve the NULL-terminated (names) and compare with the ','-joined (expect). */
static void expect_order(struct gi_moddep *md, const char *const *names,
			 const char *expect)
{
	char got[4096] = "";
	const char **paths;
	size_t n, i;

	if (gi_moddep_resolve(md, names, &paths, &n, err, sizeof(err)))
		fail_msg("resolve failed: %s", err);
	for (i = 0; i < n; i++) {
		if (i)
			strcat(got, ",");
		strcat(got, paths[i]);
	}
	free(paths);
	assert_string_equal(got, expect);
}

static void expect_fail(struct gi_moddep *md, const char *const *names, int ret,
			const char *msg_part)
{
	const char **paths;
	size_t n;
	int got = gi_moddep_resolve(md, names, &paths, &n, err, sizeof(err));

	if (got != ret || !strstr(err, msg_part))
		fail_msg("ret %d (wanted %d), err '%s' (wanted '%s')", got, ret, err, msg_part);
	assert_null(paths);
	assert_int_equal(n, 0);
}

static void test_gi_moddep_deps_come_first(void **state)
{
	struct gi_moddep *md = crafted();

	expect_order(md, (const char *const[]){ "a", NULL }, "kernel/c.ko,kernel/b.ko,kernel/a.ko");
	expect_order(md, (const char *const[]){ "c", NULL }, "kernel/c.ko");
	/* whitespace around the path, tabs, CR */
	expect_order(md, (const char *const[]){ "w", "z", NULL }, "kernel/c.ko,kernel/w.ko,"
		     "kernel/z.ko.xz");
	expect_order(md, (const char *const[]){ NULL }, "");
	gi_moddep_free(md);
}

static void test_gi_moddep_dedups_and_normalises_names(void **state)
{
	struct gi_moddep *md = crafted();

	expect_order(md, (const char *const[]){ "d_e", "a", "c", "d-e", "sub/d-e.ko", NULL },
		     "kernel/c.ko,kernel/b.ko,kernel/a.ko,kernel/sub/d-e.ko");
	gi_moddep_free(md);
}

/* NixOS ships .ko.xz; .ko.zst and .ko.gz too: names drop the suffix, order is unchanged */
static void test_gi_moddep_compressed_names_resolve_in_order(void **state)
{
	static const char dep[] = "kernel/a.ko.xz: kernel/b.ko.zst kernel/c.ko.gz\n"
				  "kernel/b.ko.zst: kernel/c.ko.gz\n"
				  "kernel/c.ko.gz:\n"
				  "kernel/sub/d-e.ko.xz: kernel/plain.ko kernel/c.ko.gz\n"
				  "kernel/plain.ko:\n";
	struct gi_moddep *md;

	assert_int_equal(gi_moddep_parse(dep, strlen(dep), "kernel/fs/bi.ko\n", 16, &md, err,
					 sizeof(err)),
			 0);
	expect_order(md, (const char *const[]){ "a", NULL },
		     "kernel/c.ko.gz,kernel/b.ko.zst,kernel/a.ko.xz");
	expect_order(md, (const char *const[]){ "d_e", "a.ko.xz", "d-e.ko.xz", "c.ko", "bi", NULL },
		     "kernel/c.ko.gz,kernel/plain.ko,kernel/sub/d-e.ko.xz,kernel/b.ko.zst,"
		     "kernel/a.ko.xz");
	expect_fail(md, (const char *const[]){ "a.xz", NULL }, -ENOENT, "unknown module a.xz");
	gi_moddep_free(md);
}

static void test_gi_moddep_builtin_skipped_unknown_fails(void **state)
{
	struct gi_moddep *md = crafted();

	expect_order(md, (const char *const[]){ "built_in", "built-in", "crc32c", "c", NULL },
		     "kernel/c.ko");
	expect_fail(md, (const char *const[]){ "c", "nope", NULL }, -ENOENT, "unknown module nope");
	expect_fail(md, (const char *const[]){ "", NULL }, -EINVAL, "bad module name");
	expect_fail(md, (const char *const[]){ ".ko", NULL }, -EINVAL, "bad module name");
	gi_moddep_free(md);
}

static void test_gi_moddep_cycle_and_missing_fail(void **state)
{
	struct gi_moddep *md = crafted();

	expect_fail(md, (const char *const[]){ "x", NULL }, -ELOOP, "dependency cycle");
	expect_fail(md, (const char *const[]){ "self", NULL }, -ELOOP, "module self: dependency cycle");
	expect_fail(md, (const char *const[]){ "m", NULL }, -ENOENT,
		    "module m needs kernel/missing.ko");
	gi_moddep_free(md);
}

static void test_gi_moddep_chain_depth_is_bounded(void **state)
{
	char *text = malloc(100 * 64), name[16];
	struct gi_moddep *md;
	size_t len = 0;
	int i;

	assert_non_null(text);
	/* m0 -> m1 -> ... -> m(N-1); only the direct dependency on each line */
	for (i = 0; i < 100; i++)
		len += (size_t)sprintf(text + len, i < 99 ? "m%d.ko: m%d.ko\n" : "m%d.ko:\n", i,
				       i + 1);
	assert_int_equal(gi_moddep_parse(text, len, NULL, 0, &md, err, sizeof(err)), 0);
	snprintf(name, sizeof(name), "m%d", 100 - GI_MODDEP_MAX_DEPTH - 1);
	expect_order(md, (const char *const[]){ "m99", NULL }, "m99.ko");
	{
		const char **paths;
		size_t n;

		/* exactly GI_MODDEP_MAX_DEPTH levels below it: still fine */
		assert_int_equal(gi_moddep_resolve(md, (const char *const[]){ name, NULL }, &paths,
						   &n, err, sizeof(err)),
				 0);
		assert_int_equal(n, GI_MODDEP_MAX_DEPTH + 1);
		free(paths);
	}
	expect_fail(md, (const char *const[]){ "m0", NULL }, -ELOOP, "chain too deep");
	gi_moddep_free(md);
	free(text);
}

static void expect_parse_fail(const char *text, const char *msg_part)
{
	struct gi_moddep *md = (struct gi_moddep *)1;
	int ret = gi_moddep_parse(text, strlen(text), NULL, 0, &md, err, sizeof(err));

	if (ret != -EINVAL || !strstr(err, msg_part))
		fail_msg("'%s': ret %d err '%s'", text, ret, err);
	assert_null(md);
}

static void test_gi_moddep_bad_lines_fail(void **state)
{
	expect_parse_fail("kernel/a.ko: \nkernel/b.ko\n", "line 2: no ':'");
	expect_parse_fail(": kernel/a.ko\n", "line 1: bad module path");
	expect_parse_fail("/lib/modules/a.ko:\n", "bad module path");
	expect_parse_fail("../a.ko:\n", "bad module path");
	expect_parse_fail("kernel/../../a.ko:\n", "bad module path");
	expect_parse_fail("kernel/..:\n", "bad module path");
	expect_parse_fail("kernel/notamodule:\n", "bad module path");
	expect_parse_fail("a.ko b.ko:\n", "bad module path");
	expect_parse_fail("a.ko: /abs/b.ko\n", "line 1: bad dependency path");
	expect_parse_fail("a.ko: ../b.ko\n", "bad dependency path");
}

static void test_gi_moddep_odd_but_valid_input(void **state)
{
	struct gi_moddep *md;

	/* "..." inside a name is not a ".." component; a NUL ends the text */
	assert_int_equal(gi_moddep_parse("k/a...b.ko:\n\0garbage", 21, NULL, 0, &md, err,
					 sizeof(err)),
			 0);
	expect_order(md, (const char *const[]){ "a...b", NULL }, "k/a...b.ko");
	gi_moddep_free(md);
	assert_int_equal(gi_moddep_parse("", 0, "", 0, &md, err, sizeof(err)), 0);
	expect_fail(md, (const char *const[]){ "a", NULL }, -ENOENT, "unknown module a");
	gi_moddep_free(md);
	gi_moddep_free(NULL);
}

static void test_gi_modname_normalises(void **state)
{
	char buf[12];

	/* "pvpanic_mmio" and its NUL need 13 bytes */
	assert_int_equal(gi_modname("kernel/drivers/misc/pvpanic/pvpanic-mmio.ko", buf, 12), -EINVAL);
	assert_int_equal(gi_modname("pvpanic-mmio.ko", buf, 13 - 1), -EINVAL);
	assert_int_equal(gi_modname("x/virtio-a.ko.zst", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "virtio_a");
	assert_int_equal(gi_modname("x/virtio-a.ko.xz", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "virtio_a");
	assert_int_equal(gi_modname("virtio-a.ko.gz", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "virtio_a");
	assert_int_equal(gi_modname("abc", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "abc");
	assert_int_equal(gi_modname("dir/", buf, sizeof(buf)), -EINVAL);
}

static void test_gi_moddep_real_cloud_kernel(void **state)
{
	const char *dir = th_real_modules_dir();
	struct gi_moddep *md;

	if (!dir) {
		print_message("no cached kernel modules (AV_MODULES_DIR); skipped\n");
		skip();
	}
	assert_int_equal(gi_moddep_load(dir, &md, err, sizeof(err)), 0);
	expect_order(md, (const char *const[]){ "virtio_blk", NULL },
		     "kernel/drivers/virtio/virtio_ring.ko,kernel/drivers/virtio/virtio.ko,"
		     "kernel/drivers/block/virtio_blk.ko");
	expect_order(md, (const char *const[]){ "virtio_net", "virtio_blk", NULL },
		     "kernel/drivers/virtio/virtio_ring.ko,kernel/drivers/virtio/virtio.ko,"
		     "kernel/net/core/failover.ko,kernel/drivers/net/net_failover.ko,"
		     "kernel/drivers/net/virtio_net.ko,kernel/drivers/block/virtio_blk.ko");
	expect_order(md, (const char *const[]){ "pvpanic-mmio", NULL },
		     "kernel/drivers/misc/pvpanic/pvpanic.ko,"
		     "kernel/drivers/misc/pvpanic/pvpanic-mmio.ko");
	expect_fail(md, (const char *const[]){ "no_such_module_here", NULL }, -ENOENT,
		    "unknown module no_such_module_here");
	gi_moddep_free(md);
}

static char notes[1024];

static void note(void *opaque, const char *msg)
{
	(void)opaque;
	strcat(notes, msg);
	strcat(notes, "\n");
}

/* modules.softdep "pre:" names load first; an alias maps; a missing one is skipped. */
static void test_gi_moddep_softdeps_load_first(void **state)
{
	static const char dep[] = "kernel/e.ko: kernel/j.ko\nkernel/j.ko:\n"
				  "kernel/crypto/crc32c_generic.ko:\nkernel/s-x.ko:\n"
				  "kernel/p.ko:\nkernel/q.ko:\n";
	static const char soft[] = "# Soft dependencies extracted from modules themselves.\n"
				   "softdep e pre: crypto-crc32c s-x post: q # comment\n"
				   "softdep j pre: crypto-crc32c\nsoftdep j pre: missing-one\n"
				   "softdep unknown pre: s_x\nbogus line\nsoftdep\nsoftdep e\n"
				   "softdep p q pre:\nsoftdep p pre: q\nsoftdep q pre: p\n";
	struct gi_moddep *md;

	assert_int_equal(gi_moddep_parse(dep, strlen(dep), NULL, 0, &md, err, sizeof(err)), 0);
	assert_int_equal(gi_moddep_add_softdeps(md, soft, strlen(soft)), 0);
	notes[0] = '\0';
	gi_moddep_set_note(md, note, NULL);
	expect_order(md, (const char *const[]){ "e", NULL },
		     "kernel/crypto/crc32c_generic.ko,kernel/s-x.ko,kernel/j.ko,kernel/e.ko");
	assert_string_equal(notes, "module j: soft dependency missing_one is not a module here "
				   "nor built in: skipped\n");
	/* a soft cycle is no error: each just comes once */
	expect_order(md, (const char *const[]){ "p", NULL }, "kernel/q.ko,kernel/p.ko");
	expect_order(md, (const char *const[]){ "q", "p", NULL }, "kernel/p.ko,kernel/q.ko");
	gi_moddep_free(md);
	/* crc32c built in (the cloud kernel): nothing to add, nothing to say */
	assert_int_equal(gi_moddep_parse("kernel/j.ko:\n", 13, "kernel/crypto/crc32c_generic.ko\n",
					 32, &md, err, sizeof(err)),
			 0);
	assert_int_equal(gi_moddep_add_softdeps(md, "softdep j pre: crypto-crc32c\n", 29), 0);
	notes[0] = '\0';
	gi_moddep_set_note(md, note, NULL);
	expect_order(md, (const char *const[]){ "j", NULL }, "kernel/j.ko");
	assert_string_equal(notes, "");
	gi_moddep_free(md);
}

/* Debian's generic kernel: ext4 and what it needs are modules, crc32c by its softdep. */
static void test_gi_moddep_real_generic_kernel(void **state)
{
	const char *dir = th_generic_modules_dir();
	struct gi_moddep *md;

	if (!dir) {
		print_message("no cached generic kernel modules (AV_TESTHOST_CACHE); skipped\n");
		skip();
	}
	assert_int_equal(gi_moddep_load(dir, &md, err, sizeof(err)), 0);
	expect_order(md, (const char *const[]){ "ext4", NULL },
		     "kernel/crypto/crc32c_generic.ko,kernel/fs/jbd2/jbd2.ko,kernel/fs/mbcache.ko,"
		     "kernel/lib/crc16.ko,kernel/fs/ext4/ext4.ko");
	expect_order(md, (const char *const[]){ "virtiofs", "overlay", NULL },
		     "kernel/fs/fuse/fuse.ko,kernel/drivers/virtio/virtio_ring.ko,"
		     "kernel/drivers/virtio/virtio.ko,kernel/fs/fuse/virtiofs.ko,"
		     "kernel/fs/overlayfs/overlay.ko");
	gi_moddep_free(md);
}

static void test_gi_moddep_load_missing_dir_fails(void **state)
{
	struct gi_moddep *md;

	assert_int_equal(gi_moddep_load("/nonexistent", &md, err, sizeof(err)), -ENOENT);
	assert_null(md);
	/* no modules.dep: the directory walk is what fails */
	assert_non_null(strstr(err, "/nonexistent: No such file or directory"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gi_moddep_deps_come_first),
		cmocka_unit_test(test_gi_moddep_dedups_and_normalises_names),
		cmocka_unit_test(test_gi_moddep_compressed_names_resolve_in_order),
		cmocka_unit_test(test_gi_moddep_builtin_skipped_unknown_fails),
		cmocka_unit_test(test_gi_moddep_cycle_and_missing_fail),
		cmocka_unit_test(test_gi_moddep_chain_depth_is_bounded),
		cmocka_unit_test(test_gi_moddep_bad_lines_fail),
		cmocka_unit_test(test_gi_moddep_odd_but_valid_input),
		cmocka_unit_test(test_gi_modname_normalises),
		cmocka_unit_test(test_gi_moddep_real_cloud_kernel),
		cmocka_unit_test(test_gi_moddep_softdeps_load_first),
		cmocka_unit_test(test_gi_moddep_real_generic_kernel),
		cmocka_unit_test(test_gi_moddep_load_missing_dir_fails),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
