// SPDX-License-Identifier: MIT
/*
 * test_e2e_hostile.c: the hostile guest program (tests/hostile/hostile.c) run
 * as root inside the real Debian cloud kernel with a disk, the RNG, two ro
 * shares (the program's build directory, and a data directory it unmounts
 * and then attacks at the transport level), two NICs on taps in a network
 * namespace of its own (one with two queue pairs and a control queue), a
 * vsock device (--vsock), the balloon (on by default: free page reports
 * in the MMIO hole and past RAM, inflated PFNs that are not RAM) and a
 * read-only pmem image nothing mounts (--pmem; its flush queue, config space
 * and the window itself are attacked). Every case must pass, agentvmm must
 * exit with the program's status 0, the disk image must hold its pattern
 * except the one sector the program writes through a well-formed request,
 * the pmem image must hold its pattern everywhere, the shared file and a
 * canary outside the shares must be unchanged, nothing new may appear in
 * /tmp, and agentvmm's log must name the malformed rings it refused.
 */
#include <dirent.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "tests/e2e/e2e.h"
#include "tests/helpers/th.h"

#define HOSTILE_TIMEOUT_S 360 /* ~400 cases on 8 devices: about a minute in the nested test host */
#define DISK_BYTES (4u << 20)
#define PMEM_BYTES (2u << 20) /* the pmem image: pat(o) like the disk, one 2 MiB window */
#define SECTOR 512
#define GOOD_WRITE_SECTOR 100 /* hostile.c writes wr_byte(i) there, nothing else */

static struct th_result res;
static char dir[] = "/tmp/av-e2e-hostile-XXXXXX";
static char ns[32];
static bool ns_made;
static const char known[] = "the host's known bytes: do not change\n";
static const char canary[] = "outside every share\n";

/* The same formulas as tests/hostile/hostile.c. */
static uint8_t pat(uint64_t o)
{
	return (uint8_t)(((uint32_t)o * 2654435761u) >> 24);
}

static uint8_t wr_byte(unsigned i)
{
	return (uint8_t)(0xa5 ^ i);
}

static void ns_delete(void)
{
	if (ns_made && e2e_sh("ip netns del %s 2>/dev/null", ns) == 0)
		ns_made = false;
}

static int put_file(const char *path, const void *buf, size_t len)
{
	FILE *f = fopen(path, "wb");

	if (!f)
		return -1;
	size_t n = fwrite(buf, 1, len, f);
	return fclose(f) || n != len ? -1 : 0;
}

static size_t get_file(const char *path, void *buf, size_t len)
{
	FILE *f = fopen(path, "rb");
	size_t n;

	if (!f)
		return 0;
	n = fread(buf, 1, len, f);
	fclose(f);
	return n;
}

static int group_setup(void **state)
{
	static uint8_t img[DISK_BYTES];
	char p[256];

	if (geteuid() != 0 || e2e_sh("command -v ip >/dev/null") != 0 || !e2e_kernel("bzImage") ||
	    access(AV_HOSTILE, X_OK) != 0) {
		print_message("skip: needs root, ip, the test kernel and %s\n", AV_HOSTILE);
		exit(77);
	}
	snprintf(ns, sizeof(ns), "avhost%d", (int)getpid());
	if (!mkdtemp(dir) || e2e_sh("ip netns add %s", ns) != 0)
		return -1;
	ns_made = true;
	atexit(ns_delete);
	for (uint32_t o = 0; o < DISK_BYTES; o++)
		img[o] = pat(o);
	snprintf(p, sizeof(p), "%s/disk.img", dir);
	if (put_file(p, img, sizeof(img)))
		return -1;
	snprintf(p, sizeof(p), "%s/pmem.img", dir);
	if (put_file(p, img, PMEM_BYTES))
		return -1;
	snprintf(p, sizeof(p), "%s/share", dir);
	if (mkdir(p, 0755))
		return -1;
	snprintf(p, sizeof(p), "%s/share/known.txt", dir);
	if (put_file(p, known, strlen(known)))
		return -1;
	snprintf(p, sizeof(p), "%s/canary", dir);
	return put_file(p, canary, strlen(canary));
}

static int group_teardown(void **state)
{
	ns_delete();
	e2e_rm_rf(dir);
	return 0;
}

/* Names in /tmp, newline-separated, into (buf). */
static void tmp_names(char *buf, size_t len)
{
	DIR *d = opendir("/tmp");
	struct dirent *e;
	size_t n = 0;

	buf[0] = 0;
	while (d && (e = readdir(d))) {
		int w = snprintf(buf + n, len - n, "%s\n", e->d_name);

		if (w < 0 || (size_t)w >= len - n)
			break;
		n += (size_t)w;
	}
	if (d)
		closedir(d);
}

/* The first name in (after) that is not in (before), or NULL. */
static const char *new_name(const char *before, const char *after)
{
	static char name[256];

	for (const char *p = after; *p;) {
		size_t l = strcspn(p, "\n");
		char key[260];

		snprintf(key, sizeof(key), "\n%.*s\n", (int)l, p);
		if (l < sizeof(name) && !strstr(before, key) &&
		    !(strncmp(before, key + 1, l + 1) == 0)) {
			snprintf(name, sizeof(name), "%.*s", (int)l, p);
			return name;
		}
		p += l + (p[l] == '\n');
	}
	return NULL;
}

static void check_disk(void)
{
	static uint8_t img[DISK_BYTES + 1];
	char p[256];
	uint32_t bad = 0, first = 0;

	snprintf(p, sizeof(p), "%s/disk.img", dir);
	assert_int_equal(get_file(p, img, sizeof(img)), DISK_BYTES);
	for (uint32_t o = 0; o < DISK_BYTES; o++) {
		uint8_t want = o / SECTOR == GOOD_WRITE_SECTOR ? wr_byte(o % SECTOR) : pat(o);

		if (img[o] != want && !bad++)
			first = o;
	}
	if (bad)
		fail_msg("disk image: %u bytes changed, the first at offset %u", bad, first);
}

/* The read-only pmem image: the guest's stores into its window must not have stuck. */
static void check_pmem(void)
{
	static uint8_t img[PMEM_BYTES + 1];
	char p[256];
	uint32_t bad = 0, first = 0;

	snprintf(p, sizeof(p), "%s/pmem.img", dir);
	assert_int_equal(get_file(p, img, sizeof(img)), PMEM_BYTES);
	for (uint32_t o = 0; o < PMEM_BYTES; o++)
		if (img[o] != pat(o) && !bad++)
			first = o;
	if (bad)
		fail_msg("pmem image: %u bytes changed, the first at offset %u", bad, first);
}

static void test_e2e_hostile_every_case_passes_and_host_untouched(void **state)
{
	static char before[65536], after[65536];
	char disk[300], share[300], hb[300], p[300], buf[256], vs[340], pmem[310];
	const char *argv[40];
	int n = 0;

	snprintf(disk, sizeof(disk), "%s/disk.img", dir);
	snprintf(pmem, sizeof(pmem), "%s/pmem.img,ro", dir); /* no mount=: nothing uses it */
	snprintf(vs, sizeof(vs), "cid=3,socket=%s/v.sock", dir); /* removed again at exit */
	snprintf(share, sizeof(share), "ro:%s/share:/hd", dir);
	snprintf(hb, sizeof(hb), "ro:%s:/hb", AV_HOSTILE_DIR);
	argv[n++] = e2e_ip_path();
	argv[n++] = "netns";
	argv[n++] = "exec";
	argv[n++] = ns;
	argv[n++] = AV_AGENTVMM;
	argv[n++] = "-v";
	argv[n++] = "--cmdline";
	argv[n++] = "loglevel=1"; /* agentvmm's log, not the kernel's */
	argv[n++] = "--kernel";
	argv[n++] = e2e_kernel("bzImage");
	argv[n++] = "--disk";
	argv[n++] = disk;
	argv[n++] = "--share";
	argv[n++] = hb; /* share0, the first virtio-fs device in PCI order: skipped */
	argv[n++] = "--share";
	argv[n++] = share; /* share1: attacked once unmounted */
	argv[n++] = "--net";
	argv[n++] = "tap=avhost0";
	argv[n++] = "--net"; /* issue 16: a multiqueue NIC, its control queue attacked too */
	argv[n++] = "tap=avhostmq0,queues=2";
	argv[n++] = "--vsock";
	argv[n++] = vs;
	argv[n++] = "--pmem";
	argv[n++] = pmem;
	/* the program takes the vsock device over: its output cannot ride a session on it */
	argv[n++] = "--stdio";
	argv[n++] = "console";
	argv[n++] = "--";
	argv[n++] = "sh";
	argv[n++] = "-c";
	/* run from tmpfs: the program must not page in from a device it takes over */
	argv[n++] = "cp /hb/hostile /tmp/h && umount /hd && exec /tmp/h --disk-pattern "
		    "--pmem-pattern --fs-tag share1 --fs-skip 1 -v";
	argv[n] = NULL;

	tmp_names(before, sizeof(before));
	th_run(argv, HOSTILE_TIMEOUT_S, &res);
	print_message("  run took %.2f s, %zu bytes of output\n", res.secs, res.out_len);
	if (res.status == -1)
		fail_msg("timed out; stdout: %s\nstderr: %s", res.out, res.err);
	if (res.status != 0 || strstr(res.out, "\nFAIL ") || !strstr(res.out, "hostile: 8 devices")) {
		/* whole: cmocka's messages are truncated */
		fputs("stdout:\n", stdout);
		fputs(res.out, stdout);
		fputs("\nstderr:\n", stdout);
		fputs(res.err, stdout);
		fflush(stdout);
		fail_msg("status %d", res.status);
	}

	const char *sum = strstr(res.out, "hostile: ");
	print_message("  %.*s\n", (int)strcspn(sum, "\n"), sum);
	/* each device ran its cases */
	const char *const devs[] = { "PASS blk desc-loop", "PASS rng desc-loop", "PASS net desc-loop",
				     "PASS fs qsize-0", "PASS fs reset-reactivate-x3", "PASS blk pci-config-abuse",
				     "PASS fs msix-table-abuse", "PASS net notification-storm",
				     "PASS vsock desc-loop", "PASS vsock vsock-len-beyond-chain",
				     "PASS vsock vsock-request-flood", "PASS net mq-without-ctrl-vq",
				     "PASS net ctrl-pairs-set-0", "PASS net ctrl-pairs-set-above-max",
				     "PASS net ctrl-no-ack-byte", "PASS net ctrl-desc-loop",
				     "PASS net kick-pair-not-in-use", "PASS balloon desc-loop",
				     "PASS balloon addr-in-mmio-hole", "PASS balloon addr-beyond-ram",
				     "PASS balloon len-2GiB-past-ram",
				     "PASS balloon balloon-inflate-hostile-pfns",
				     /* a buffer in the pmem window: not RAM, for every device */
				     "PASS blk addr-in-pmem-window", "PASS rng addr-in-pmem-window",
				     "PASS net addr-in-pmem-window", "PASS vsock addr-in-pmem-window",
				     "PASS balloon addr-in-pmem-window",
				     "PASS pmem baseline-read", "PASS pmem reset-reactivate-x3",
				     "PASS pmem desc-loop", "PASS pmem addr-beyond-ram",
				     "PASS pmem addr-in-pmem-window", "PASS pmem huge-len",
				     "PASS pmem indirect-good", "PASS pmem indirect-loop",
				     "PASS pmem avail-idx-jump", "PASS pmem qsize-0",
				     "PASS pmem writes-to-read-only-fields",
				     "PASS pmem msix-table-abuse", "PASS pmem notification-storm",
				     "PASS pmem pci-config-abuse",
				     "PASS pmem pmem-unknown-request-type",
				     "PASS pmem pmem-type-and-result-in-pieces",
				     "PASS pmem pmem-unknown-type-in-pieces",
				     "PASS pmem pmem-no-writable-part", "PASS pmem pmem-result-3-bytes",
				     "PASS pmem pmem-result-zero-length",
				     "PASS pmem pmem-result-8-bytes", "PASS pmem pmem-type-3-bytes",
				     "PASS pmem pmem-type-device-writable",
				     "PASS pmem pmem-8-flushes-at-once", "PASS pmem pmem-config-region",
				     "PASS pmem pmem-config-write" };
	for (size_t i = 0; i < sizeof(devs) / sizeof(devs[0]); i++)
		if (!strstr(res.out, devs[i]))
			fail_msg("no '%s' in: %s", devs[i], res.out);
	/*
	 * The window through /dev/mem: Debian's kernel allows it once the driver
	 * is unbound; where a kernel refuses, the program skips the case with a
	 * line saying why, and this test wants to hear about it.
	 */
	const char *skip = strstr(res.out, "# pmem pmem-window-write: skipped");
	if (skip)
		fail_msg("%.*s", (int)strcspn(skip, "\n"), skip);
	if (!strstr(res.out, "PASS pmem pmem-window-write"))
		fail_msg("no 'PASS pmem pmem-window-write' in: %s", res.out);
	const char *win = strstr(res.out, "# pmem pmem-window-write: ");
	if (win)
		print_message("  %.*s\n", (int)strcspn(win, "\n"), win);
	/* agentvmm said why it refused */
	assert_non_null(strstr(res.err, "device needs reset"));
	assert_non_null(strstr(res.err, "virtq: "));

	check_disk();
	check_pmem();
	snprintf(p, sizeof(p), "%s/share/known.txt", dir);
	assert_int_equal(get_file(p, buf, sizeof(buf)), strlen(known));
	assert_memory_equal(buf, known, strlen(known));
	snprintf(p, sizeof(p), "%s/canary", dir);
	assert_int_equal(get_file(p, buf, sizeof(buf)), strlen(canary));
	assert_memory_equal(buf, canary, strlen(canary));
	/* only the four files the test made */
	assert_int_equal(e2e_sh("test $(ls -A %s | wc -l) -eq 4 && "
				"test $(ls -A %s/share | wc -l) -eq 1", dir, dir), 0);
	tmp_names(after, sizeof(after));
	const char *extra = new_name(before, after);
	if (extra)
		fail_msg("agentvmm left /tmp/%s behind", extra);
	/* the taps agentvmm created are gone */
	assert_int_not_equal(e2e_sh("ip netns exec %s ip link show avhost0 >/dev/null 2>&1", ns),
			     0);
	assert_int_not_equal(e2e_sh("ip netns exec %s ip link show avhostmq0 >/dev/null 2>&1", ns),
			     0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_e2e_hostile_every_case_passes_and_host_untouched),
	};

	if (getenv("AV_E2E_ONLY"))
		cmocka_set_test_filter(getenv("AV_E2E_ONLY"));
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
