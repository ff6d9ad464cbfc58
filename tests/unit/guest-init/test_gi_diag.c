// SPDX-License-Identifier: MIT
/*
 * test_gi_diag.c: guest-init's naming of the missing driver when a disk,
 * share or NIC cannot be set up: /proc/filesystems and /proc/crypto parsing,
 * the recorded module loads, and the whole diagnosis against a fake
 * /proc + /sys tree (gi_diag_set_root).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "tests/helpers/th_files.h"

#include "guest-init/diag.h"
#include "guest-init/report.h"

static char tmp[64];
static char buf[1024];

static int setup(void **state)
{
	snprintf(tmp, sizeof(tmp), "/tmp/gi_diag_XXXXXX");
	if (!mkdtemp(tmp))
		return -1;
	return th_sh("mkdir -p %s/proc %s/sys/bus/pci/drivers %s/sys/bus/virtio/drivers", tmp, tmp,
		     tmp);
}

static int teardown(void **state)
{
	gi_diag_set_root(NULL);
	gi_diag_reset();
	return th_sh("rm -rf '%s'", tmp);
}

static void test_gi_diag_status_is_its_own(void **state)
{
	/* 125 is also agentvmm's "guest crashed"; 126/127 are the shell's */
	assert_int_equal(GI_STATUS_SETUP_FAILED, 123);
	assert_int_not_equal(GI_STATUS_SETUP_FAILED, GI_STATUS_INIT_FAILED);
	assert_int_not_equal(GI_STATUS_SETUP_FAILED, GI_STATUS_EXEC_FAILED);
	assert_int_not_equal(GI_STATUS_SETUP_FAILED, GI_STATUS_NOT_FOUND);
}

static void test_gi_diag_proc_filesystems(void **state)
{
	static const char fs[] = "nodev\tsysfs\nnodev\ttmpfs\n\text4\n\tvfat\nnodev\tfuse\n"
				 "nodev\toverlay";	/* no newline at the end */

	assert_true(gi_diag_fs_listed(fs, strlen(fs), "ext4"));
	assert_true(gi_diag_fs_listed(fs, strlen(fs), "tmpfs"));
	assert_true(gi_diag_fs_listed(fs, strlen(fs), "overlay"));
	assert_false(gi_diag_fs_listed(fs, strlen(fs), "ext"));
	assert_false(gi_diag_fs_listed(fs, strlen(fs), "ext4 "));
	assert_false(gi_diag_fs_listed(fs, strlen(fs), "nodev"));
	assert_false(gi_diag_fs_listed(fs, strlen(fs), "virtiofs"));
	assert_false(gi_diag_fs_listed(fs, 0, "ext4"));
	/* the length bounds the search */
	assert_false(gi_diag_fs_listed(fs, strlen(fs) - 2, "overlay"));
}

static void test_gi_diag_proc_crypto(void **state)
{
	static const char crypto[] = "name         : sha256\ndriver       : sha256-generic\n\n"
				     "name         : crc32c\ndriver       : crc32c-generic\n"
				     "module       : crc32c_generic\nnamex : md5\n";

	assert_true(gi_diag_crypto_listed(crypto, strlen(crypto), "crc32c"));
	assert_true(gi_diag_crypto_listed(crypto, strlen(crypto), "sha256"));
	assert_false(gi_diag_crypto_listed(crypto, strlen(crypto), "crc32c-generic"));
	assert_false(gi_diag_crypto_listed(crypto, strlen(crypto), "crc32"));
	assert_false(gi_diag_crypto_listed(crypto, strlen(crypto), "md5"));
	assert_false(gi_diag_crypto_listed("name", 4, ""));
}

static void test_gi_diag_module_says_what_happened(void **state)
{
	gi_diag_reset();
	gi_diag_module("ext4", buf, sizeof(buf));
	assert_string_equal(buf, "module ext4 not in the initramfs or failed to load");
	gi_diag_module_result("kernel/drivers/virtio/virtio_ring.ko", 0);
	gi_diag_module_result("kernel/fs/jbd2/jbd2.ko", -ENOEXEC);
	gi_diag_module_result("kernel/fs/ext4/ext4.ko", -ENOENT);
	gi_diag_module_result("kernel/drivers/misc/pvpanic/pvpanic-mmio.ko", 0);
	gi_diag_module("ext4", buf, sizeof(buf));
	assert_string_equal(buf, "module ext4 failed to load: No such file or directory; before "
				 "it, module jbd2: Exec format error");
	gi_diag_module("jbd2", buf, sizeof(buf));
	assert_string_equal(buf, "module jbd2 failed to load: Exec format error");
	gi_diag_module("pvpanic_mmio", buf, sizeof(buf));
	assert_string_equal(buf, "module pvpanic_mmio loaded");
	gi_diag_module("overlay", buf, sizeof(buf));
	assert_string_equal(buf, "module overlay is not in the initramfs");
	/* bounded: past GI_DIAG_MODULES_MAX nothing more is kept */
	for (int i = 0; i < GI_DIAG_MODULES_MAX; i++)
		gi_diag_module_result("kernel/filler.ko", 0);
	gi_diag_module_result("kernel/late.ko", -EPERM);
	gi_diag_module("late", buf, sizeof(buf));
	assert_string_equal(buf, "module late is not in the initramfs");
	gi_diag_reset();
}

static void put(const char *rel, const char *text)
{
	assert_int_equal(th_sh("printf '%s' > %s/%s", text, tmp, rel), 0);
}

static void test_gi_diag_mount_names_the_module(void **state)
{
	gi_diag_set_root(tmp);
	gi_diag_reset();
	gi_diag_module_result("kernel/fs/ext4/ext4.ko", -ENOENT);
	gi_diag_module_result("kernel/fs/fuse/virtiofs.ko", 0);
	put("proc/filesystems", "nodev\\tsysfs\\nnodev\\tvirtiofs\\n");
	assert_true(gi_diag_mount("ext4", -ENODEV, buf, sizeof(buf)));
	assert_string_equal(buf, "the kernel has no ext4 driver (module ext4 failed to load: No "
				 "such file or directory)");
	assert_true(gi_diag_mount("ext3", -ENODEV, buf, sizeof(buf)));
	assert_string_equal(buf, "the kernel has no ext3 driver (module ext4 failed to load: No "
				 "such file or directory)");
	assert_true(gi_diag_mount("overlay", -ENODEV, buf, sizeof(buf)));
	assert_string_equal(buf, "the kernel has no overlay driver (module overlay is not in the "
				 "initramfs)");
	/* ext4 is there; its metadata checksums need crc32c, which is not */
	put("proc/filesystems", "\\text4\\nnodev\\tvirtiofs\\n");
	put("proc/crypto", "name         : sha256\\n");
	assert_true(gi_diag_mount("ext4", -ENOENT, buf, sizeof(buf)));
	assert_string_equal(buf, "No such file or directory: the kernel has no crc32c algorithm, "
				 "which ext4 needs for metadata checksums "
				 "(module crc32c_generic is not in the initramfs)");
	/* another errno, or crc32c present: just the error */
	assert_false(gi_diag_mount("ext4", -EINVAL, buf, sizeof(buf)));
	assert_string_equal(buf, "Invalid argument");
	put("proc/crypto", "name         : crc32c\\n");
	assert_false(gi_diag_mount("ext4", -ENOENT, buf, sizeof(buf)));
	assert_string_equal(buf, "No such file or directory");
	/* virtiofs known, but the PCI transport missing */
	assert_true(gi_diag_mount("virtiofs", -EINVAL, buf, sizeof(buf)));
	assert_string_equal(buf, "Invalid argument: the kernel has no virtio-pci driver (module "
				 "virtio_pci is not in the initramfs)");
	/* /proc not mounted: no diagnosis */
	assert_int_equal(th_sh("rm %s/proc/filesystems", tmp), 0);
	assert_false(gi_diag_mount("ext4", -ENODEV, buf, sizeof(buf)));
	assert_string_equal(buf, "No such device");
	gi_diag_reset();
}

static void test_gi_diag_virtio_transport_then_driver(void **state)
{
	gi_diag_set_root(tmp);
	gi_diag_reset();
	gi_diag_module_result("kernel/drivers/virtio/virtio_pci.ko", -EINVAL);
	gi_diag_module_result("kernel/drivers/net/virtio_net.ko", -ENOENT);
	assert_int_equal(th_sh("rm -rf %s/sys/bus/pci/drivers/virtio-pci "
			     "%s/sys/bus/virtio/drivers/virtio_net", tmp, tmp),
			 0);
	assert_true(gi_diag_virtio("virtio_net", "virtio_net", buf, sizeof(buf)));
	assert_string_equal(buf, "the kernel has no virtio-pci driver (module virtio_pci failed to "
				 "load: Invalid argument)");
	assert_int_equal(th_sh("mkdir %s/sys/bus/pci/drivers/virtio-pci", tmp), 0);
	assert_true(gi_diag_virtio("virtio_net", "virtio_net", buf, sizeof(buf)));
	assert_string_equal(buf, "the kernel has no virtio_net driver (module virtio_net failed to "
				 "load: No such file or directory; before it, module virtio_pci: "
				 "Invalid argument)");
	assert_int_equal(th_sh("mkdir %s/sys/bus/virtio/drivers/virtio_net", tmp), 0);
	assert_false(gi_diag_virtio("virtio_net", "virtio_net", buf, sizeof(buf)));
	gi_diag_reset();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gi_diag_status_is_its_own),
		cmocka_unit_test(test_gi_diag_proc_filesystems),
		cmocka_unit_test(test_gi_diag_proc_crypto),
		cmocka_unit_test(test_gi_diag_module_says_what_happened),
		cmocka_unit_test(test_gi_diag_mount_names_the_module),
		cmocka_unit_test(test_gi_diag_virtio_transport_then_driver),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
