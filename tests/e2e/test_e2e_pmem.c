// SPDX-License-Identifier: MIT
/*
 * test_e2e_pmem.c: virtio-pmem (--pmem) against the real Debian cloud
 * kernel's virtio_pmem, nd_pmem and erofs/ext4: an erofs store built by
 * scripts/mkstore.sh is mounted read-only with DAX, reads the same as the
 * host directory and the block device is byte for byte the host image; the
 * guest cannot write it (not through the filesystem, not through /dev/pmem0:
 * a read-only memory slot, the host file stays as it was); a writable ext4
 * image gets the guest's data; two devices at once, one without DAX: reading
 * a file with DAX leaves the guest's page cache as it was, without it the
 * page cache grows by the file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "tests/e2e/e2e.h"
#include "tests/helpers/th.h"

static struct th_result res;
static char dir[] = "/tmp/av-e2e-pmem-XXXXXX";

static int setup(void **state)
{
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	return e2e_rm_rf(dir);
}

/* The md5 of (path) on the host, as md5sum prints it (32 hex digits). */
static const char *host_md5(const char *path, char *buf, size_t len)
{
	char cmd[1024];

	snprintf(cmd, sizeof(cmd), "md5sum %s | cut -c1-32", path);
	snprintf(buf, len, "%s", e2e_host_line(cmd));
	assert_int_equal(strlen(buf), 32);
	return buf;
}

/* A directory with a 3 MB random file and a small one, made into an erofs image. */
static void make_store(const char *name, char *img, size_t len)
{
	assert_int_equal(e2e_sh("mkdir -p %s/%s.d/sub && head -c 3000000 /dev/urandom > "
				"%s/%s.d/big && echo hello-%s > %s/%s.d/sub/small", dir, name, dir,
				name, name, dir, name), 0);
	snprintf(img, len, "%s/%s.img", dir, name);
	assert_int_equal(e2e_sh("sh %s/scripts/mkstore.sh %s/%s.d %s >/dev/null", AV_SRC_DIR, dir,
				name, img), 0);
}

static void boot(const char *const *extra, const char *script)
{
	e2e_boot(&res, E2E_BOOT_TIMEOUT_S, NULL, extra, script);
	if (res.status == -1)
		fail_msg("boot timed out; stderr: %s", res.err);
}

static void test_e2e_pmem_store_readonly_dax(void **state)
{
	char img[600], arg[700], path[700], want_big[40], want_img[40], got[40];

	if (access("/usr/bin/mkfs.erofs", X_OK) != 0)
		fail_msg("mkfs.erofs missing: scripts/setup.sh installs erofs-utils");
	make_store("s", img, sizeof(img));
	snprintf(path, sizeof(path), "%s/s.d/big", dir);
	host_md5(path, want_big, sizeof(want_big));
	host_md5(img, want_img, sizeof(want_img));
	snprintf(arg, sizeof(arg), "%s,ro,mount=/store,dax", img);
	boot(E2E_ARGS("--pmem", arg),
	     "grep ' /store ' /proc/mounts; md5sum /store/big /dev/pmem0; cat /store/sub/small; "
	     "echo x > /store/new; echo write=$?; "
	     "dd if=/dev/zero of=/dev/pmem0 bs=4096 count=16 conv=fsync 2>/dev/null; echo dd");
	assert_int_equal(res.status, 0);
	assert_non_null(strstr(res.out, "/dev/pmem0 /store erofs ro,"));
	assert_non_null(strstr(res.out, "dax=always"));
	snprintf(path, sizeof(path), "%s  /store/big", want_big);
	assert_non_null(strstr(res.out, path));
	snprintf(path, sizeof(path), "%s  /dev/pmem0", want_img); /* the image, padding included */
	assert_non_null(strstr(res.out, path));
	assert_non_null(strstr(res.out, "hello-s\n"));
	assert_non_null(strstr(res.out, "write=1"));
	assert_non_null(strstr(res.out, "\ndd\n"));
	/* the writes went to a read-only memory slot: the host image is unchanged */
	assert_string_equal(host_md5(img, got, sizeof(got)), want_img);
}

static void test_e2e_pmem_writable_ext4_reaches_host(void **state)
{
	char img[600], arg[700], cmd[1200], want[64];

	snprintf(img, sizeof(img), "%s/rw.img", dir);
	assert_int_equal(e2e_sh("truncate -s 16M %s && mkfs.ext4 -q -F %s", img, img), 0);
	snprintf(arg, sizeof(arg), "%s,mount=/data", img);
	boot(E2E_ARGS("--pmem", arg),
	     "grep ' /data ' /proc/mounts; head -c 1048576 /dev/urandom > /data/blob && sync && "
	     "md5sum /data/blob");
	assert_int_equal(res.status, 0);
	assert_non_null(strstr(res.out, "/dev/pmem0 /data ext4 rw,"));
	assert_null(strstr(res.out, "dax"));
	const char *line = strstr(res.out, "/data/blob");
	assert_non_null(line);
	assert_true(line - res.out >= 34);
	snprintf(want, sizeof(want), "%.32s", line - 34);
	snprintf(cmd, sizeof(cmd), "/usr/sbin/debugfs -R 'cat /blob' %s 2>/dev/null | md5sum", img);
	assert_string_equal(e2e_host_line(cmd), strcat(want, "  -"));
}

static void test_e2e_pmem_two_devices(void **state)
{
	char a[600], b[600], arga[700], argb[700];

	make_store("a", a, sizeof(a));
	make_store("b", b, sizeof(b));
	snprintf(arga, sizeof(arga), "%s,ro,mount=/a,dax", a);
	snprintf(argb, sizeof(argb), "%s,ro,mount=/b", b);
	long dax_kb = -1, nodax_kb = -1;
	const char *p;

	boot(E2E_ARGS("--mem", "3584", "--pmem", arga, "--pmem", argb),
	     "grep -c ' /a erofs ro,.*dax=always' /proc/mounts; "
	     "grep ' /b erofs ' /proc/mounts | grep -c dax; cat /a/sub/small /b/sub/small; "
	     "c() { awk '/^Cached:/ { print $2 }' /proc/meminfo; }; "
	     "c0=$(c); cat /a/big >/dev/null; c1=$(c); cat /b/big >/dev/null; c2=$(c); "
	     "echo dax_kb=$((c1 - c0)) nodax_kb=$((c2 - c1))");
	assert_int_equal(res.status, 0);
	assert_non_null(strstr(res.out, "1\n0\nhello-a\nhello-b\n"));
	/* DAX: the 3 MB file is read from the mapping, not into the guest's page cache */
	p = strstr(res.out, "dax_kb=");
	assert_non_null(p);
	assert_int_equal(sscanf(p, "dax_kb=%ld nodax_kb=%ld", &dax_kb, &nodax_kb), 2);
	print_message("guest page cache growth reading 3 MB: dax %ld KiB, without dax %ld KiB\n",
		      dax_kb, nodax_kb);
	assert_true(dax_kb < 512);
	assert_true(nodax_kb >= 2900);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_e2e_pmem_store_readonly_dax),
		cmocka_unit_test(test_e2e_pmem_writable_ext4_reaches_host),
		cmocka_unit_test(test_e2e_pmem_two_devices),
	};
	int ret;

	if ((ret = e2e_check_host()))
		return ret;
	return cmocka_run_group_tests(tests, setup, teardown);
}
