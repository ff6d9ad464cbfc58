// SPDX-License-Identifier: MIT
/* test_gi_initramfs.c: whole initramfs images (listed and unpacked by GNU cpio) and the image cache. */
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

#include "guest-init/mkinitramfs/initramfs.h"
#include "guest-init/mkinitramfs/sha256.h"

static const char fake_init[] = "\x7f" "ELF this stands in for guest-init \x00\xff\x01";
static char err[512];
static char tmp[64];

static void write_file(const char *dir, const char *name, const char *data)
{
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_int_equal(th_sh("mkdir -p \"$(dirname '%s')\"", path), 0);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, strlen(data)), (ssize_t)strlen(data));
	close(fd);
}

/* Names in (dir) other than the expected ones: temp files must not be left behind. */
static int setup(void **state)
{
	snprintf(tmp, sizeof(tmp), "/tmp/gi_initramfs_XXXXXX");
	if (!mkdtemp(tmp))
		return -1;
	/* a fake modules directory: c <- b <- a, one built-in, one dangling file reference */
	write_file(tmp, "mods/modules.dep",
		   "kernel/x/a.ko: kernel/y/b.ko kernel/c.ko\nkernel/y/b.ko: kernel/c.ko\n"
		   "kernel/c.ko:\nkernel/gone.ko:\n");
	write_file(tmp, "mods/modules.builtin", "kernel/fs/builtin-x.ko\n");
	write_file(tmp, "mods/kernel/x/a.ko", "module a\n");
	write_file(tmp, "mods/kernel/y/b.ko", "module b, odd length");
	write_file(tmp, "mods/kernel/c.ko", "c");
	assert_int_equal(mkdir(strcat(strcpy(err, tmp), "/out"), 0755), 0);
	return 0;
}

static int teardown(void **state)
{
	return th_sh("rm -rf '%s'", tmp);
}

static struct gi_initramfs_config base_cfg(void)
{
	return (struct gi_initramfs_config){ .init_bin = fake_init, .init_len = sizeof(fake_init) };
}

static void test_gi_initramfs_minimal_image(void **state)
{
	struct gi_initramfs_config cfg = base_cfg();
	char out[256];

	snprintf(out, sizeof(out), "%s/out/min.cpio", tmp);
	assert_int_equal(gi_initramfs_build(&cfg, out, err, sizeof(err)), 0);
	assert_int_equal(th_sh("cpio -t --quiet < %s > %s/list", out, tmp), 0);
	assert_string_equal(th_read_text(strcat(strcpy(err, tmp), "/list")),
			    "bin\ndev\netc\netc/agentvmm\nlib\nmnt\nproc\nroot\nrun\nsys\ntmp\nusr\n"
			    "sbin\nusr/bin\nusr/sbin\ndev/console\netc/passwd\netc/group\netc/hosts\n"
			    "init\netc/agentvmm/modules\n");
	assert_int_equal(th_sh("rm -rf %s/x && mkdir %s/x && cd %s/x && cpio -idm --quiet "
			     "--nonmatching 'dev/*' < %s",
			     tmp, tmp, tmp, out),
			 0);
	/* /init byte for byte and executable; an empty module list */
	assert_int_equal(th_sh("cd %s/x && test -x init && test \"$(stat -c %%a init)\" = 755 && "
			     "test \"$(stat -c %%a tmp)\" = 1777 && test ! -s etc/agentvmm/modules",
			     tmp),
			 0);
	{
		FILE *f;
		char got[sizeof(fake_init)];

		snprintf(out, sizeof(out), "%s/x/init", tmp);
		f = fopen(out, "rb");
		assert_non_null(f);
		assert_int_equal(fread(got, 1, sizeof(got), f), sizeof(fake_init));
		assert_int_equal(fgetc(f), EOF);
		fclose(f);
		assert_memory_equal(got, fake_init, sizeof(fake_init));
	}
	assert_string_equal(th_read_text(strcat(strcpy(out, tmp), "/x/etc/passwd")),
			    "root:x:0:0:root:/root:/bin/sh\n");
	assert_int_equal(th_count_entries(strcat(strcpy(out, tmp), "/out")), 1);
}

static void test_gi_initramfs_modules_in_load_order(void **state)
{
	const char *const mods[] = { "a", "builtin_x", "c", NULL };
	struct gi_initramfs_config cfg = base_cfg();
	char out[256], dir[256];

	snprintf(dir, sizeof(dir), "%s/mods", tmp);
	cfg.modules_dir = dir;
	cfg.modules = mods;
	snprintf(out, sizeof(out), "%s/out/mods.cpio", tmp);
	assert_int_equal(gi_initramfs_build(&cfg, out, err, sizeof(err)), 0);
	assert_int_equal(th_sh("rm -rf %s/x && mkdir %s/x && cd %s/x && cpio -idm --quiet "
			     "--nonmatching 'dev/*' < %s",
			     tmp, tmp, tmp, out),
			 0);
	assert_string_equal(th_read_text(strcat(strcpy(out, tmp), "/x/etc/agentvmm/modules")),
			    "kernel/c.ko\nkernel/y/b.ko\nkernel/x/a.ko\n");
	assert_int_equal(th_sh("cd %s && cmp mods/kernel/x/a.ko x/lib/modules/kernel/x/a.ko && "
			     "cmp mods/kernel/y/b.ko x/lib/modules/kernel/y/b.ko && "
			     "cmp mods/kernel/c.ko x/lib/modules/kernel/c.ko && "
			     "test ! -e x/lib/modules/kernel/gone.ko",
			     tmp),
			 0);
}

static void expect_build_fail(const struct gi_initramfs_config *cfg, int ret, const char *msg)
{
	char out[256];
	int got;

	snprintf(out, sizeof(out), "%s/out/bad.cpio", tmp);
	got = gi_initramfs_build(cfg, out, err, sizeof(err));
	if (got != ret || !strstr(err, msg))
		fail_msg("ret %d (wanted %d), err '%s' (wanted '%s')", got, ret, err, msg);
	/* nothing left behind: no image, no temporary file */
	assert_int_equal(access(out, F_OK), -1);
	assert_int_equal(th_count_entries(strcat(strcpy(out, tmp), "/out")), 0);
}

/* Building over an existing image replaces it whole; no temporary name is left. */
static void test_gi_initramfs_rebuild_replaces_and_leaves_no_temp(void **state)
{
	struct gi_initramfs_config cfg = base_cfg();
	char out[300], dir[256];
	struct stat st;

	assert_int_equal(th_sh("rm -f %s/out/*", tmp), 0);
	snprintf(dir, sizeof(dir), "%s/out", tmp);
	snprintf(out, sizeof(out), "%s/re.cpio", dir);
	write_file(tmp, "out/re.cpio", "old");
	assert_int_equal(gi_initramfs_build(&cfg, out, err, sizeof(err)), 0);
	assert_int_equal(stat(out, &st), 0);
	assert_true(st.st_size > 3);
	assert_int_equal(st.st_mode & 0777, 0644);
	assert_int_equal(th_sh("cpio -t --quiet < %s | grep -qx init", out), 0);
	assert_int_equal(th_count_entries(dir), 1);
	/* and a fresh name: linked into place in one step */
	snprintf(out, sizeof(out), "%s/new.cpio", dir);
	assert_int_equal(gi_initramfs_build(&cfg, out, err, sizeof(err)), 0);
	assert_int_equal(th_count_entries(dir), 2);
}

static void test_gi_initramfs_errors_leave_nothing(void **state)
{
	const char *const unknown[] = { "a", "nope", NULL };
	const char *const gone[] = { "c", "gone", NULL };
	struct gi_initramfs_config cfg = base_cfg();
	char dir[256];

	assert_int_equal(th_sh("rm -f %s/out/*", tmp), 0);
	snprintf(dir, sizeof(dir), "%s/mods", tmp);
	cfg.modules_dir = dir;
	cfg.modules = unknown;
	expect_build_fail(&cfg, -ENOENT, "unknown module nope");
	cfg.modules = gone;
	expect_build_fail(&cfg, -ENOENT, "missing module ");
	assert_non_null(strstr(err, "kernel/gone.ko"));
	cfg.modules = NULL;
	cfg.busybox_path = "/nonexistent/busybox";
	expect_build_fail(&cfg, -ENOENT, "/nonexistent/busybox --list");
	cfg.busybox_path = "/bin/false";
	expect_build_fail(&cfg, -ENOEXEC, "/bin/false --list failed");
	cfg.busybox_path = NULL;
	cfg.init_bin = NULL;
	expect_build_fail(&cfg, -EINVAL, "no init");
	cfg = base_cfg();
	cfg.modules_dir = "/nonexistent";
	cfg.modules = gone;
	expect_build_fail(&cfg, -ENOENT, "/nonexistent: No such file or directory");
	cfg = base_cfg();
	assert_int_equal(gi_initramfs_build(&cfg, "/nonexistent/dir/x.cpio", err, sizeof(err)),
			 -ENOENT);
	assert_non_null(strstr(err, "/nonexistent/dir/x.cpio.tmp."));
}

static void test_gi_initramfs_busybox_applets(void **state)
{
	struct gi_initramfs_config cfg = base_cfg();
	char out[256];

	if (access("/bin/busybox", X_OK) != 0) {
		print_message("no /bin/busybox (busybox-static); skipped\n");
		skip();
	}
	cfg.busybox_path = "/bin/busybox";
	snprintf(out, sizeof(out), "%s/out/bb.cpio", tmp);
	assert_int_equal(gi_initramfs_build(&cfg, out, err, sizeof(err)), 0);
	assert_int_equal(th_sh("rm -rf %s/x && mkdir %s/x && cd %s/x && cpio -idm --quiet "
			     "--nonmatching 'dev/*' < %s",
			     tmp, tmp, tmp, out),
			 0);
	assert_int_equal(th_sh("cd %s/x && cmp bin/busybox /bin/busybox && "
			     "test \"$(readlink bin/sh)\" = busybox && "
			     "test \"$(readlink bin/mount)\" = busybox && "
			     "test \"$(readlink sbin)\" = bin && "
			     "test $(ls bin | wc -l) -gt 100 && "
			     /* one link per applet, plus busybox itself (which --list names) */
			     "test \"$( (/bin/busybox --list; echo busybox) | sort -u | wc -l)\" -eq "
			     "$(ls bin | wc -l)",
			     tmp),
			 0);
}

static void test_gi_initramfs_cache_hit_and_miss(void **state)
{
	const char *const mods_a[] = { "a", NULL }, *const mods_c[] = { "c", NULL };
	struct gi_initramfs_config cfg = base_cfg();
	char dir[256], cache[256], p1[512], p2[512], small[16];
	struct stat s1, s2;
	struct timespec ts[2] = { { 0, 0 }, { 12345, 0 } };

	snprintf(dir, sizeof(dir), "%s/mods", tmp);
	snprintf(cache, sizeof(cache), "%s/cache/nested", tmp);
	cfg.modules_dir = dir;
	cfg.modules = mods_a;
	/* miss: built, directory made 0700 */
	assert_int_equal(gi_initramfs_cached(&cfg, cache, p1, sizeof(p1), err, sizeof(err)), 0);
	assert_int_equal(strlen(p1), strlen(cache) + strlen("/initramfs-.cpio") + 64);
	assert_int_equal(strncmp(p1 + strlen(cache), "/initramfs-", 11), 0);
	assert_int_equal(stat(p1, &s1), 0);
	assert_int_equal(stat(cache, &s2), 0);
	assert_int_equal(s2.st_mode & 0777, 0700);
	/* hit: same path, same file (not rebuilt) */
	assert_int_equal(gi_initramfs_cached(&cfg, cache, p2, sizeof(p2), err, sizeof(err)), 0);
	assert_string_equal(p1, p2);
	assert_int_equal(stat(p2, &s2), 0);
	assert_int_equal(s1.st_ino, s2.st_ino);
	assert_int_equal(th_count_entries(cache), 1);
	/* every input changes the name: module list, init bytes, a module's mtime */
	cfg.modules = mods_c;
	assert_int_equal(gi_initramfs_cached(&cfg, cache, p2, sizeof(p2), err, sizeof(err)), 0);
	assert_string_not_equal(p1, p2);
	cfg.modules = mods_a;
	cfg.init_len--;
	assert_int_equal(gi_initramfs_cached(&cfg, cache, p2, sizeof(p2), err, sizeof(err)), 0);
	assert_string_not_equal(p1, p2);
	cfg.init_len++;
	snprintf(p2, sizeof(p2), "%s/mods/kernel/y/b.ko", tmp);
	assert_int_equal(utimensat(AT_FDCWD, p2, ts, 0), 0);
	assert_int_equal(gi_initramfs_cached(&cfg, cache, p2, sizeof(p2), err, sizeof(err)), 0);
	assert_string_not_equal(p1, p2);
	assert_int_equal(th_count_entries(cache), 4);
	/* the image in the cache is a whole one */
	assert_int_equal(th_sh("cpio -t --quiet < %s | grep -qx lib/modules/kernel/y/b.ko", p2), 0);
	assert_int_equal(gi_initramfs_cached(&cfg, cache, small, sizeof(small), err, sizeof(err)),
			 -ENAMETOOLONG);
	/* a module that is gone fails before anything is written */
	assert_int_equal(th_sh("mv %s/mods/kernel/c.ko %s/c.ko.away", tmp, tmp), 0);
	assert_int_equal(gi_initramfs_cached(&cfg, cache, p2, sizeof(p2), err, sizeof(err)),
			 -ENOENT);
	assert_non_null(strstr(err, "kernel/c.ko"));
	assert_int_equal(th_sh("mv %s/c.ko.away %s/mods/kernel/c.ko", tmp, tmp), 0);
	assert_int_equal(th_count_entries(cache), 4);
}

static void test_gi_initramfs_real_cloud_kernel(void **state)
{
	const char *const mods[] = { "virtio_blk", "virtiofs", "overlay", NULL };
	struct gi_initramfs_config cfg = base_cfg();
	const char *dir = th_real_modules_dir();
	char out[256];

	if (!dir) {
		print_message("no cached kernel modules (AV_MODULES_DIR); skipped\n");
		skip();
	}
	cfg.modules_dir = dir;
	cfg.modules = mods;
	snprintf(out, sizeof(out), "%s/out/real.cpio", tmp);
	assert_int_equal(gi_initramfs_build(&cfg, out, err, sizeof(err)), 0);
	assert_int_equal(th_sh("rm -rf %s/x && mkdir %s/x && cd %s/x && cpio -idm --quiet "
			     "--nonmatching 'dev/*' < %s",
			     tmp, tmp, tmp, out),
			 0);
	assert_string_equal(th_read_text(strcat(strcpy(out, tmp), "/x/etc/agentvmm/modules")),
			    "kernel/drivers/virtio/virtio_ring.ko\nkernel/drivers/virtio/virtio.ko\n"
			    "kernel/drivers/block/virtio_blk.ko\nkernel/fs/fuse/fuse.ko\n"
			    "kernel/fs/fuse/virtiofs.ko\nkernel/fs/overlayfs/overlay.ko\n");
	assert_int_equal(th_sh("cmp '%s/kernel/fs/fuse/virtiofs.ko' "
			     "%s/x/lib/modules/kernel/fs/fuse/virtiofs.ko",
			     dir, tmp),
			 0);
}

static void sha256_hex(const void *data, size_t len, size_t chunk, char *hex)
{
	unsigned char sum[GI_SHA256_LEN];
	const unsigned char *p = data;
	struct gi_sha256 h;
	size_t i, n;

	gi_sha256_init(&h);
	for (i = 0; i < len; i += n) {
		n = len - i < chunk ? len - i : chunk;
		gi_sha256_update(&h, p + i, n);
	}
	gi_sha256_final(&h, sum);
	for (i = 0; i < GI_SHA256_LEN; i++)
		sprintf(hex + 2 * i, "%02x", sum[i]);
}

/* FIPS 180-4 example vectors: the cache name depends on this hash being right */
static void test_gi_sha256_known_vectors(void **state)
{
	static const char two_blocks[] =
		"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	char hex[2 * GI_SHA256_LEN + 1], *million = malloc(1000000);

	sha256_hex("", 0, 1, hex);
	assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	sha256_hex("abc", 3, 1, hex);
	assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	sha256_hex(two_blocks, strlen(two_blocks), 7, hex);
	assert_string_equal(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	assert_non_null(million);
	memset(million, 'a', 1000000);
	sha256_hex(million, 1000000, 4099, hex);
	assert_string_equal(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
	free(million);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gi_initramfs_minimal_image),
		cmocka_unit_test(test_gi_initramfs_modules_in_load_order),
		cmocka_unit_test(test_gi_initramfs_errors_leave_nothing),
		cmocka_unit_test(test_gi_initramfs_rebuild_replaces_and_leaves_no_temp),
		cmocka_unit_test(test_gi_initramfs_busybox_applets),
		cmocka_unit_test(test_gi_initramfs_cache_hit_and_miss),
		cmocka_unit_test(test_gi_initramfs_real_cloud_kernel),
		cmocka_unit_test(test_gi_sha256_known_vectors),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
