// SPDX-License-Identifier: MIT
/*
 * test_e2e_generic.c: every feature through a generic distribution kernel,
 * Debian's standard amd64 kernel (the nested test host's own kernel, fetched
 * by scripts/fetch-kernel.sh into $AV_TESTHOST_CACHE), whose config is like
 * NixOS's: virtio_pci, virtio_blk, virtio_net, ext4 (with its crc32c soft
 * dependency), fuse, virtiofs and overlay are all modules there, where the
 * cloud kernel builds several in. So the initramfs agentvmm builds must carry
 * each one a requested feature needs:
 *
 *   - one boot with a blank disk formatted and mounted (mount=), the host's
 *     /usr as a store share with its overlay, a rw workspace, a tap in our
 *     own network namespace and two vCPUs;
 *   - the stage-2 hand-off to an init on the shared /usr root;
 *   - a modules tree laid out as `dpkg -x` leaves it (no modules.dep, no
 *     binary indexes) with the needed modules compressed (.ko.xz, .ko.zst,
 *     .ko.gz), resolved from each module's own depends= field.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "tests/e2e/e2e.h"
#include "tests/helpers/th.h"

static struct th_result res;
static char dir[] = "/tmp/av-e2e-generic-XXXXXX";
static char rundir[600], ws[600], ws_share[700], kernel[600], moddir[800], rel[128];
static char ns[32];
static bool ns_made;

static void ns_delete(void)
{
	if (ns_made && e2e_sh("ip netns del %s 2>/dev/null", ns) == 0)
		ns_made = false;
}

/* The generic kernel: $AV_TESTHOST_CACHE/{vmlinuz,release,lib/modules/REL}. */
static int find_kernel(void)
{
	const char *c = getenv("AV_TESTHOST_CACHE");
	char p[700];

	if (!c || !*c)
		c = "/var/cache/agentvmm/testhost";
	snprintf(kernel, sizeof(kernel), "%s/vmlinuz", c);
	snprintf(p, sizeof(p), "%s/release", c);
	const char *r = e2e_slurp(p);
	size_t n = strcspn(r, "\n");

	if (n >= sizeof(rel))
		n = 0;
	memcpy(rel, r, n);
	rel[n] = 0;
	snprintf(moddir, sizeof(moddir), "%s/lib/modules/%s", c, rel);
	if (access(kernel, R_OK) || !rel[0] || access(moddir, R_OK)) {
		fprintf(stderr, "FAIL: the generic kernel is missing in %s "
			"(scripts/fetch-kernel.sh fetches it)\n", c);
		return -1;
	}
	return 0;
}

/*
 * Run "[ip netns exec NS] agentvmm --kernel GENERIC (extra...) -- sh -c
 * (script)" into (res); print the whole console when it failed.
 */
static void boot(bool in_ns, const char *const *extra, const char *script)
{
	const char *argv[48];
	int n = 0;

	if (in_ns) {
		argv[n++] = e2e_ip_path();
		argv[n++] = "netns";
		argv[n++] = "exec";
		argv[n++] = ns;
	}
	argv[n++] = AV_AGENTVMM;
	argv[n++] = "--kernel";
	argv[n++] = kernel;
	for (; extra && *extra && n < 40; extra++)
		argv[n++] = *extra;
	if (script) {
		argv[n++] = "--";
		argv[n++] = "sh";
		argv[n++] = "-c";
		argv[n++] = script;
	}
	argv[n] = NULL;
	th_run(argv, E2E_BOOT_TIMEOUT_S, &res);
	print_message("  run took %.2f s, status %d\n", res.secs, res.status);
	if (res.status != 0)
		print_message("  stderr:\n%s  console:\n%s\n", res.err, res.out);
}

/* The guest printed (line) as a whole line (a tty's "\r\n" or a pipe's "\n"). */
static void expect_line(const char *line)
{
	char want[512], want_tty[512];

	snprintf(want, sizeof(want), "%s\n", line);
	snprintf(want_tty, sizeof(want_tty), "%s\r\n", line);
	if (!strstr(res.out, want) && !strstr(res.out, want_tty))
		fail_msg("no line '%s' in the console:\n%s", line, res.out);
}

static int group_setup(void **state)
{
	if (find_kernel())
		return -1;
	if (e2e_make_dirs(dir, rundir, sizeof(rundir)))
		return -1;
	snprintf(ws, sizeof(ws), "%s/ws", dir);
	mkdir(ws, 0755);
	snprintf(ws_share, sizeof(ws_share), "rw:%s:/work", ws);
	/* a fresh initramfs cache: the module lists are what is being tested */
	char cache[700];
	snprintf(cache, sizeof(cache), "%s/cache", dir);
	setenv("AGENTVMM_CACHE_DIR", cache, 1);
	snprintf(ns, sizeof(ns), "avgen%d", (int)getpid());
	if (e2e_sh("ip netns add %s", ns) != 0)
		return -1;
	ns_made = true;
	atexit(ns_delete);
	return e2e_sh("ip netns exec %s ip link set lo up && "
		      "ip netns exec %s ip tuntap add avgen0 mode tap && "
		      "ip netns exec %s ip addr add 10.0.6.1/24 dev avgen0 && "
		      "ip netns exec %s ip link set avgen0 up", ns, ns, ns, ns) ? -1 : 0;
}

static int group_teardown(void **state)
{
	ns_delete();
	return e2e_rm_rf(dir);
}

static void test_e2e_generic_every_device_in_one_boot(void **state)
{
	char disk[800], marker[800];

	snprintf(disk, sizeof(disk), "%s/blank.img,mount=/data", dir);
	assert_int_equal(e2e_sh("rm -f %s/blank.img && truncate -s 64M %s/blank.img", dir, dir), 0);
	snprintf(marker, sizeof(marker), "%s/from-guest", ws);
	unlink(marker);
	boot(true, E2E_ARGS("--cpus", "2", "--mem", "768", "--disk", disk, "--share", "ro:/usr",
			    "--share", ws_share, "--net", "tap=avgen0,ip=10.0.6.15/24"),
	     "echo payload > /data/f && sync && echo disk=$(cat /data/f); "
	     "grep -q ' /data ext4 ' /proc/mounts && echo data-is-ext4; "
	     "touch /usr/av-generic-overlay && echo usr-writable; "
	     "grep -q ' /usr overlay ' /proc/mounts && echo usr-overlay; "
	     "echo hello > /work/from-guest && echo work-written; "
	     "busybox ping -c 1 -W 5 10.0.6.1 >/dev/null && echo ping-ok; "
	     "echo cpus=$(grep -c ^processor /proc/cpuinfo); "
	     "echo modules: $(cut -d' ' -f1 /proc/modules | sort | tr '\\n' ' ') .");
	assert_int_equal(res.status, 0);
	expect_line("disk=payload");
	expect_line("data-is-ext4");
	expect_line("usr-writable");
	expect_line("usr-overlay");
	expect_line("work-written");
	expect_line("ping-ok");
	expect_line("cpus=2");
	/* the modules the generic kernel needed, loaded from agentvmm's initramfs */
	static const char *const mods[] = { " ext4 ", " crc32c_generic ", " jbd2 ", " virtio_blk ",
					    " virtio_pci ", " virtiofs ", " fuse ", " overlay ",
					    " virtio_net " };
	const char *m = strstr(res.out, "modules: ");
	assert_non_null(m);
	for (size_t i = 0; i < sizeof(mods) / sizeof(mods[0]); i++)
		if (!strstr(m, mods[i]))
			fail_msg("module%snot loaded in the guest: %s", mods[i], m);
	assert_string_equal(e2e_slurp(marker), "hello\n");
	/* the store overlay is the guest's own: the host's /usr is untouched */
	assert_int_not_equal(access("/usr/av-generic-overlay", F_OK), 0);
}

static void test_e2e_generic_stage2_handoff(void **state)
{
	char p[700];
	FILE *f;

	snprintf(p, sizeof(p), "%s/init", ws);
	f = fopen(p, "w");
	assert_non_null(f);
	fputs("#!/bin/sh\n"
	      "echo \"generic-init: pid=$$\"\n"
	      "grep -c virtiofs /proc/mounts > /work/mounts\n"
	      "echo \"pid=$$\" > /work/marker\n"
	      "exec /usr/bin/busybox poweroff -f\n", f);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/marker", ws);
	unlink(p);
	boot(false, E2E_ARGS("--share", "ro:/usr", "--share", ws_share, "--init", "/work/init"),
	     NULL);
	assert_int_equal(res.status, 0);
	expect_line("generic-init: pid=1");
	assert_string_equal(e2e_slurp(p), "pid=1\n");
	snprintf(p, sizeof(p), "%s/mounts", ws);
	assert_string_equal(e2e_slurp(p), "2\n");
}

/*
 * A modules directory as `dpkg -x` leaves it: no modules.dep and no binary
 * indexes (depmod never ran), only modules.builtin and modules.order from the
 * package. It holds the directories a disk needs and their neighbours (about
 * 200 modules, so the copy stays quick in the test host), a few compressed,
 * one per format; agentvmm must resolve the load order from the modules'
 * own depends= fields.
 */
static void test_e2e_generic_no_modules_dep_compressed_modules(void **state)
{
	char copy[700], mods[1000], disk[800];

	snprintf(copy, sizeof(copy), "%s/dpkg-x", dir);
	snprintf(mods, sizeof(mods), "%s/lib/modules/%s", copy, rel);
	assert_int_equal(e2e_sh("rm -rf %s && mkdir -p %s && cd %s && "
				"cp -r --parents kernel/drivers/virtio kernel/drivers/block "
				"kernel/drivers/char/hw_random kernel/drivers/misc kernel/drivers/acpi "
				"kernel/fs/ext4 kernel/fs/jbd2 kernel/fs/mbcache.ko kernel/lib "
				"kernel/crypto kernel/net/vmw_vsock modules.builtin modules.order %s/",
				copy, mods, moddir, mods), 0);
	/* ext4 as .xz, jbd2 as .zst, virtio_blk as .gz; the rest stay plain */
	assert_int_equal(e2e_sh("cd %s/kernel && xz -0 fs/ext4/ext4.ko && "
				"zstd -q --rm -1 fs/jbd2/jbd2.ko && "
				"gzip -1 drivers/block/virtio_blk.ko", mods), 0);
	assert_int_equal(e2e_sh("test ! -e %s/modules.dep && test -e %s/kernel/fs/ext4/ext4.ko.xz",
				mods, mods), 0);
	snprintf(disk, sizeof(disk), "%s/blank2.img,mount=/data", dir);
	assert_int_equal(e2e_sh("rm -f %s/blank2.img && truncate -s 32M %s/blank2.img", dir, dir),
			 0);
	boot(false, E2E_ARGS("-v", "--modules-dir", mods, "--disk", disk),
	     "echo x > /data/x && echo data-ok; "
	     "echo modules: $(cut -d' ' -f1 /proc/modules | sort | tr '\\n' ' ') .");
	assert_int_equal(res.status, 0);
	expect_line("data-ok");
	const char *m = strstr(res.out, "modules: ");
	assert_non_null(m);
	assert_non_null(strstr(m, " ext4 "));
	assert_non_null(strstr(m, " jbd2 "));
	assert_non_null(strstr(m, " virtio_blk "));
	/* -v says how the modules were found */
	assert_non_null(strstr(res.err, "modules.dep"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_e2e_generic_every_device_in_one_boot),
		cmocka_unit_test(test_e2e_generic_stage2_handoff),
		cmocka_unit_test(test_e2e_generic_no_modules_dep_compressed_modules),
	};
	int ret;

	if (geteuid() != 0) {
		fprintf(stderr, "skip: needs root (network namespace, tap)\n");
		return 77;
	}
	if ((ret = e2e_check_host()) || (ret = e2e_check_virtiofsd()))
		return ret;
	if (getenv("AV_E2E_ONLY"))
		cmocka_set_test_filter(getenv("AV_E2E_ONLY"));
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
