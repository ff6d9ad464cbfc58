// SPDX-License-Identifier: MIT
/*
 * test_gi_initramfs_compressed.c: initramfs images built from .ko.xz,
 * .ko.zst and .ko.gz modules (crafted, and the Debian cloud kernel's modules
 * recompressed with the xz, zstd and gzip tools): the image holds them
 * decompressed, byte-identical, under their .ko names, in dependency order;
 * a corrupt or oversize module fails the build naming the file.
 */
#include <dirent.h>
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
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "tests/helpers/th_files.h"

#include "guest-init/mkinitramfs/decompress.h"
#include "guest-init/mkinitramfs/initramfs.h"
#include "guest-init/mkinitramfs/util.h"

static const char fake_init[] = "\x7f" "ELF stand-in for guest-init";
static char err[1024];
static char tmp[64];

/*
 * Crafted tree in tmp/src (plain originals) and tmp/mods (the modules dir):
 * a.ko.xz -> b.ko.zst -> c.ko.gz, p.ko (plain) -> c.ko.gz.
 */
static int setup(void **state)
{
	snprintf(tmp, sizeof(tmp), "/tmp/gi_irc_XXXXXX");
	if (!mkdtemp(tmp))
		return -1;
	return th_sh("cd %s && mkdir -p out src/kernel/x src/kernel/y && "
		   "head -c 200000 /dev/urandom > src/kernel/x/a.ko && "
		   "seq 1 50000 > src/kernel/y/b.ko && printf 'c' > src/kernel/c.ko && "
		   "echo plain > src/kernel/p.ko && cp -r src mods && "
		   "xz --check=crc32 mods/kernel/x/a.ko && zstd -q --rm mods/kernel/y/b.ko && "
		   "gzip -n mods/kernel/c.ko && "
		   "printf 'kernel/x/a.ko.xz: kernel/y/b.ko.zst kernel/c.ko.gz\\n"
		   "kernel/y/b.ko.zst: kernel/c.ko.gz\\nkernel/c.ko.gz:\\n"
		   "kernel/p.ko: kernel/c.ko.gz\\n' > mods/modules.dep",
		   tmp);
}

static int teardown(void **state)
{
	return th_sh("rm -rf '%s'", tmp);
}

static struct gi_initramfs_config base_cfg(void)
{
	return (struct gi_initramfs_config){ .init_bin = fake_init, .init_len = sizeof(fake_init) };
}

/* Unpack (image) into tmp/x. */
static void unpack(const char *image)
{
	assert_int_equal(th_sh("rm -rf %s/x && mkdir %s/x && cd %s/x && cpio -idm --quiet "
			     "--nonmatching 'dev/*' < %s",
			     tmp, tmp, tmp, image),
			 0);
}

static void test_gi_initramfs_crafted_compressed_modules(void **state)
{
	const char *const mods[] = { "a", "p", NULL };
	struct gi_initramfs_config cfg = base_cfg();
	char out[256], dir[256], path[256];

	snprintf(dir, sizeof(dir), "%s/mods", tmp);
	cfg.modules_dir = dir;
	cfg.modules = mods;
	snprintf(out, sizeof(out), "%s/out/c.cpio", tmp);
	if (gi_initramfs_build(&cfg, out, err, sizeof(err)))
		fail_msg("build: %s", err);
	unpack(out);
	snprintf(path, sizeof(path), "%s/x/etc/agentvmm/modules", tmp);
	assert_string_equal(th_read_text(path),
			    "kernel/c.ko\nkernel/y/b.ko\nkernel/x/a.ko\nkernel/p.ko\n");
	assert_int_equal(th_sh("cd %s && cmp src/kernel/x/a.ko x/lib/modules/kernel/x/a.ko && "
			     "cmp src/kernel/y/b.ko x/lib/modules/kernel/y/b.ko && "
			     "cmp src/kernel/c.ko x/lib/modules/kernel/c.ko && "
			     "cmp src/kernel/p.ko x/lib/modules/kernel/p.ko && "
			     "test $(find x/lib/modules -type f | wc -l) = 4",
			     tmp),
			 0);
	/* no compressed member in the image; modules are 0644 like plain ones */
	assert_int_equal(th_sh("cpio -t --quiet < %s | grep -E '\\.(xz|zst|gz)$'", out) != 0, 1);
	assert_int_equal(th_sh("test \"$(stat -c %%a %s/x/lib/modules/kernel/x/a.ko)\" = 644", tmp),
			 0);
}

static void expect_build_fail(const struct gi_initramfs_config *cfg, int ret, const char *msg)
{
	char out[256];
	int got;

	assert_int_equal(th_sh("rm -f %s/out/*", tmp), 0);
	snprintf(out, sizeof(out), "%s/out/bad.cpio", tmp);
	got = gi_initramfs_build(cfg, out, err, sizeof(err));
	if (got != ret || !strstr(err, msg))
		fail_msg("ret %d (wanted %d), err '%s' (wanted '%s')", got, ret, err, msg);
	assert_int_equal(th_count_entries(strcat(strcpy(out, tmp), "/out")), 0);
}

static void test_gi_initramfs_corrupt_or_huge_module_fails(void **state)
{
	const char *const mods[] = { "a", NULL };
	struct gi_initramfs_config cfg = base_cfg();
	char dir[256], msg[512];

	assert_int_equal(th_sh("cp -r %s/mods %s/bad", tmp, tmp), 0);
	snprintf(dir, sizeof(dir), "%s/bad", tmp);
	cfg.modules_dir = dir;
	cfg.modules = mods;
	/* b.ko.zst truncated: the failure names the dependency's file */
	assert_int_equal(th_sh("cd %s/bad/kernel/y && head -c 100 b.ko.zst > t && mv t b.ko.zst",
			     tmp),
			 0);
	snprintf(msg, sizeof(msg), "%s/bad/kernel/y/b.ko.zst: corrupt zstd data", tmp);
	expect_build_fail(&cfg, -EBADMSG, msg);
	/* c.ko.gz is not gzip at all */
	assert_int_equal(th_sh("cp %s/mods/kernel/y/b.ko.zst %s/bad/kernel/y/ && "
			     "echo 'not gzip' > %s/bad/kernel/c.ko.gz",
			     tmp, tmp, tmp),
			 0);
	snprintf(msg, sizeof(msg), "%s/bad/kernel/c.ko.gz: corrupt gzip data", tmp);
	expect_build_fail(&cfg, -EBADMSG, msg);
	/* a.ko.xz inflates past 64 MiB */
	assert_int_equal(th_sh("cp %s/mods/kernel/c.ko.gz %s/bad/kernel/ && "
			     "head -c 65M /dev/zero | xz -0 > %s/bad/kernel/x/a.ko.xz",
			     tmp, tmp, tmp),
			 0);
	snprintf(msg, sizeof(msg), "%s/bad/kernel/x/a.ko.xz: decompresses to more than 64 MiB",
		 tmp);
	expect_build_fail(&cfg, -EFBIG, msg);
	/* a missing compressed file is a missing module */
	assert_int_equal(th_sh("rm %s/bad/kernel/x/a.ko.xz", tmp), 0);
	expect_build_fail(&cfg, -ENOENT, "missing module ");
	assert_non_null(strstr(err, "kernel/x/a.ko.xz"));
	assert_int_equal(th_sh("rm -rf %s/bad", tmp), 0);
}

static void test_gi_initramfs_cache_keys_compressed_files(void **state)
{
	const char *const mods[] = { "a", NULL };
	struct gi_initramfs_config cfg = base_cfg();
	struct timespec ts[2] = { { 0, 0 }, { 23456, 0 } };
	char dir[256], cache[256], p1[512], p2[512];

	snprintf(dir, sizeof(dir), "%s/mods", tmp);
	snprintf(cache, sizeof(cache), "%s/cache", tmp);
	cfg.modules_dir = dir;
	cfg.modules = mods;
	assert_int_equal(gi_initramfs_cached(&cfg, cache, p1, sizeof(p1), err, sizeof(err)), 0);
	assert_int_equal(gi_initramfs_cached(&cfg, cache, p2, sizeof(p2), err, sizeof(err)), 0);
	assert_string_equal(p1, p2);
	snprintf(p2, sizeof(p2), "%s/mods/kernel/y/b.ko.zst", tmp);
	assert_int_equal(utimensat(AT_FDCWD, p2, ts, 0), 0);
	assert_int_equal(gi_initramfs_cached(&cfg, cache, p2, sizeof(p2), err, sizeof(err)), 0);
	assert_string_not_equal(p1, p2);
	assert_int_equal(th_sh("cpio -t --quiet < %s | grep -qx lib/modules/kernel/y/b.ko", p2), 0);
}

/* Which real modules get which compression in the fixture ("" stays plain). */
static const struct {
	const char *path, *suffix, *cmd;
} real_mods[] = {
	{ "kernel/drivers/virtio/virtio_ring.ko", ".xz", "xz -c --check=crc32 --lzma2=dict=1MiB" },
	{ "kernel/drivers/virtio/virtio.ko", ".zst", "zstd -q -c -19" },
	{ "kernel/drivers/block/virtio_blk.ko", ".gz", "gzip -n -9 -c" },
	{ "kernel/fs/fuse/fuse.ko", ".xz", "xz -c --check=crc32 --lzma2=dict=1MiB" },
	{ "kernel/fs/fuse/virtiofs.ko", ".zst", "zstd -q -c" },
	{ "kernel/fs/overlayfs/overlay.ko", "", "cat" },
	{ "kernel/drivers/misc/pvpanic/pvpanic.ko", ".gz", "gzip -n -c" },
	{ "kernel/drivers/misc/pvpanic/pvpanic-mmio.ko", ".xz", "xz -c --check=crc32" },
};

/* Rewrite every whole token (path) in (text) to (path)(suffix), into (f). */
static void rewrite_dep(const char *text, FILE *f)
{
	const char *p = text, *e;
	size_t i, n;

	while (*p) {
		n = strcspn(p, " :\n");
		for (i = 0; n && i < GI_ARRAY_SIZE(real_mods); i++)
			if (strlen(real_mods[i].path) == n && !strncmp(p, real_mods[i].path, n))
				break;
		fwrite(p, 1, n, f);
		if (n && i < GI_ARRAY_SIZE(real_mods))
			fputs(real_mods[i].suffix, f);
		e = p + n;
		if (*e)
			fputc(*e++, f);
		p = e;
	}
}

/*
 * A copy of the real modules directory (modules.dep, modules.builtin and the
 * modules above, recompressed) in tmp/real; modules.dep names the compressed files.
 */
static void make_real_fixture(const char *src)
{
	char path[1024], *dep;
	size_t i, len;
	FILE *f;

	assert_int_equal(th_sh("rm -rf %s/real && mkdir -p %s/real && cp %s/modules.builtin %s/real/",
			     tmp, tmp, src, tmp),
			 0);
	for (i = 0; i < GI_ARRAY_SIZE(real_mods); i++)
		assert_int_equal(th_sh("mkdir -p \"$(dirname %s/real/%s)\" && "
				     "%s %s/%s > %s/real/%s%s",
				     tmp, real_mods[i].path, real_mods[i].cmd, src,
				     real_mods[i].path, tmp, real_mods[i].path,
				     real_mods[i].suffix),
				 0);
	snprintf(path, sizeof(path), "%s/modules.dep", src);
	assert_int_equal(gi_read_file(path, 64u << 20, &dep, &len), 0);
	snprintf(path, sizeof(path), "%s/real/modules.dep", tmp);
	f = fopen(path, "w");
	assert_non_null(f);
	rewrite_dep(dep, f);
	assert_int_equal(fclose(f), 0);
	free(dep);
	/* the rewrite touched only those modules */
	assert_int_equal(th_sh("grep -q '^kernel/drivers/misc/pvpanic/pvpanic-mmio.ko.xz: "
			     "kernel/drivers/misc/pvpanic/pvpanic.ko.gz$' %s/real/modules.dep && "
			     "grep -q '^kernel/drivers/misc/pvpanic/pvpanic-pci.ko: "
			     "kernel/drivers/misc/pvpanic/pvpanic.ko.gz$' %s/real/modules.dep && "
			     "test $(wc -l < %s/real/modules.dep) = $(wc -l < %s/modules.dep)",
			     tmp, tmp, tmp, src),
			 0);
}

static void test_gi_initramfs_real_kernel_recompressed(void **state)
{
	const char *const mods[] = { "virtio_blk", "virtiofs", "overlay", "pvpanic-mmio", NULL };
	struct gi_initramfs_config cfg = base_cfg();
	const char *src = th_real_modules_dir();
	char out[256], dir[256], path[256];
	size_t i;

	if (!src) {
		print_message("no cached kernel modules (AV_MODULES_DIR, scripts/fetch-kernel.sh); "
			      "skipped\n");
		skip();
	}
	make_real_fixture(src);
	snprintf(dir, sizeof(dir), "%s/real", tmp);
	cfg.modules_dir = dir;
	cfg.modules = mods;
	snprintf(out, sizeof(out), "%s/out/real.cpio", tmp);
	if (gi_initramfs_build(&cfg, out, err, sizeof(err)))
		fail_msg("build: %s", err);
	/* the same load order as from the uncompressed tree, with .ko names */
	unpack(out);
	snprintf(path, sizeof(path), "%s/x/etc/agentvmm/modules", tmp);
	assert_string_equal(th_read_text(path),
			    "kernel/drivers/virtio/virtio_ring.ko\n"
			    "kernel/drivers/virtio/virtio.ko\n"
			    "kernel/drivers/block/virtio_blk.ko\nkernel/fs/fuse/fuse.ko\n"
			    "kernel/fs/fuse/virtiofs.ko\nkernel/fs/overlayfs/overlay.ko\n"
			    "kernel/drivers/misc/pvpanic/pvpanic.ko\n"
			    "kernel/drivers/misc/pvpanic/pvpanic-mmio.ko\n");
	/* each one byte-identical to the kernel's original; nothing compressed inside */
	for (i = 0; i < GI_ARRAY_SIZE(real_mods); i++)
		assert_int_equal(th_sh("cmp %s/%s %s/x/lib/modules/%s", src, real_mods[i].path, tmp,
				     real_mods[i].path),
				 0);
	assert_int_equal(th_sh("test $(find %s/x/lib/modules -type f | wc -l) = %zu", tmp,
			     GI_ARRAY_SIZE(real_mods)),
			 0);
	assert_int_equal(th_sh("cpio -t --quiet < %s | grep -E '\\.(xz|zst|gz)$'", out) != 0, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gi_initramfs_crafted_compressed_modules),
		cmocka_unit_test(test_gi_initramfs_corrupt_or_huge_module_fails),
		cmocka_unit_test(test_gi_initramfs_cache_keys_compressed_files),
		cmocka_unit_test(test_gi_initramfs_real_kernel_recompressed),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
