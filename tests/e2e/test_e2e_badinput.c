// SPDX-License-Identifier: MIT
/*
 * test_e2e_badinput.c: every bad input gets exactly one clear line on stderr,
 * exit status 2, and leaves nothing behind (no child process, no temp file).
 * No guest runs, so this runs directly on any host. ctest runs it twice: as is,
 * and as test_e2e_badinput_nokvm with AGENTVMM_KVM_DEVICE=/nonexistent/kvm,
 * where every case must still get its own message, because agentvmm checks
 * its input before it opens the KVM device (docs/architecture.md "Start-up
 * order"); the KVM message comes only for a good input.
 */
#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "tests/e2e/e2e.h"
#include "tests/helpers/th.h"

static struct th_result res;
static char tmpdir[] = "/tmp/av-badinput-XXXXXX";
static char cachedir[4200];
static char kvm_saved[4300]; /* AGENTVMM_KVM_DEVICE as the test run got it, "" if unset */

/*
 * Run agentvmm with (args); expect status 2 and exactly one stderr line that
 * starts "agentvmm: " and contains (what) and (why).
 */
/* Words run before agentvmm (e.g. "ip netns exec NS"); NULL-terminated, usually empty. */
static const char *run_prefix[8];

static void expect_usage_error(const char *const *args, const char *what, const char *why)
{
	const char *argv[40];
	int n = 0;
	unsigned before = e2e_count_entries(tmpdir), cache_before = e2e_count_entries(cachedir);

	for (const char *const *p = run_prefix; *p; p++)
		argv[n++] = *p;
	argv[n++] = AV_AGENTVMM;
	for (; *args; args++)
		argv[n++] = *args;
	argv[n] = NULL;
	th_run(argv, 30, &res);
	assert_int_equal(res.status, 2);
	size_t len = strlen(res.err);
	const char *nl = strchr(res.err, '\n');
	if (strncmp(res.err, "agentvmm: ", 10) != 0 || !nl || nl != res.err + len - 1 ||
	    !strstr(res.err, what) || !strstr(res.err, why))
		fail_msg("stderr was:\n%s\nwanted one line with '%s' and '%s'", res.err, what, why);
	/* bad input is reported before the KVM device is even opened */
	char kvm_line[4200];
	snprintf(kvm_line, sizeof(kvm_line), "agentvmm: %s: ", e2e_kvm_device());
	if (!strstr(what, e2e_kvm_device()) && !strncmp(res.err, kvm_line, strlen(kvm_line)))
		fail_msg("got the KVM device's error instead of the input's:\n%s", res.err);
	assert_string_equal(res.out, "");
	assert_int_equal(e2e_count_entries(tmpdir), before);
	assert_int_equal(e2e_count_entries(cachedir), cache_before);
}

#define ARGS E2E_ARGS

static char path_junk[4300], path_trunc[4300], path_elf[4300];

static int setup(void **state)
{
	assert_non_null(mkdtemp(tmpdir));
	snprintf(cachedir, sizeof(cachedir), "%s/cache", tmpdir);
	assert_int_equal(mkdir(cachedir, 0700), 0);
	setenv("AGENTVMM_CACHE_DIR", cachedir, 1);
	setenv("TMPDIR", tmpdir, 1);
	if (getenv("AGENTVMM_KVM_DEVICE"))
		snprintf(kvm_saved, sizeof(kvm_saved), "%s", getenv("AGENTVMM_KVM_DEVICE"));

	snprintf(path_junk, sizeof(path_junk), "%s/junk", tmpdir);
	FILE *f = fopen(path_junk, "w");
	for (int i = 0; i < 8192; i++)
		fputc(i * 7 & 0xff, f);
	fclose(f);

	/* an x86-64 ET_EXEC ELF with one PT_LOAD and no notes */
	snprintf(path_elf, sizeof(path_elf), "%s/nonote.elf", tmpdir);
	Elf64_Ehdr eh = {
		.e_ident = { ELFMAG0, ELFMAG1, ELFMAG2, ELFMAG3, ELFCLASS64, ELFDATA2LSB, EV_CURRENT },
		.e_type = ET_EXEC, .e_machine = EM_X86_64, .e_version = EV_CURRENT,
		.e_entry = 0x1000000, .e_phoff = sizeof(Elf64_Ehdr), .e_ehsize = sizeof(Elf64_Ehdr),
		.e_phentsize = sizeof(Elf64_Phdr), .e_phnum = 1,
	};
	Elf64_Phdr ph = {
		.p_type = PT_LOAD, .p_flags = PF_R | PF_X, .p_offset = 0x1000,
		.p_vaddr = 0x1000000, .p_paddr = 0x1000000, .p_filesz = 0x1000, .p_memsz = 0x1000,
		.p_align = 0x1000,
	};
	f = fopen(path_elf, "w");
	fwrite(&eh, sizeof(eh), 1, f);
	fwrite(&ph, sizeof(ph), 1, f);
	for (long i = ftell(f); i < 0x2000; i++)
		fputc(0x90, f);
	fclose(f);

	snprintf(path_trunc, sizeof(path_trunc), "%s/trunc", tmpdir);
	const char *k = e2e_kernel("bzImage");
	if (k) {
		size_t len;
		char *buf = th_read_file(k, &len);
		f = fopen(path_trunc, "w");
		fwrite(buf, 1, len / 2, f);
		fclose(f);
		free(buf);
	}
	return 0;
}

static int teardown(void **state)
{
	char cmd[4300];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_bad_missing_kernel_fails_2(void **state)
{
	expect_usage_error(ARGS("--kernel", "/nonexistent/vmlinuz", "--", "true"),
			   "/nonexistent/vmlinuz", "No such file or directory");
}

static void test_bad_no_kernel_flag_fails_2(void **state)
{
	expect_usage_error(ARGS("--", "true"), "--kernel", "required");
}

static void test_bad_kernel_is_directory_fails_2(void **state)
{
	expect_usage_error(ARGS("--kernel", tmpdir, "--", "true"), tmpdir, "not a regular file");
}

static void test_bad_kernel_not_a_kernel_fails_2(void **state)
{
	expect_usage_error(ARGS("--kernel", path_junk, "--", "true"), path_junk, "not a");
}

static void test_bad_truncated_bzimage_fails_2(void **state)
{
	if (!e2e_kernel("bzImage"))
		skip();
	expect_usage_error(ARGS("--kernel", path_trunc, "--", "true"), path_trunc, "truncated");
}

static void test_bad_elf_without_pvh_note_fails_2(void **state)
{
	expect_usage_error(ARGS("--kernel", path_elf, "--", "true"), path_elf, "PVH");
}

static void test_bad_mem_zero_fails_2(void **state)
{
	expect_usage_error(ARGS("--kernel", path_junk, "--mem", "0", "--", "true"), "--mem 0",
			   "MiB");
}

static void test_bad_mem_beyond_host_fails_2(void **state)
{
	expect_usage_error(ARGS("--kernel", path_junk, "--mem", "999999999", "--", "true"),
			   "--mem 999999999", "host RAM");
}

static void test_bad_mem_not_a_number_fails_2(void **state)
{
	expect_usage_error(ARGS("--kernel", path_junk, "--mem", "1G", "--", "true"), "--mem 1G",
			   "MiB");
}

static void test_bad_balloon_fails_2(void **state)
{
	expect_usage_error(ARGS("--kernel", path_junk, "--balloon", "yes", "--", "true"),
			   "--balloon yes: unknown option 'yes'",
			   "(expected on, off or reporting=on|off,reporting-order=N,stats=SECONDS,"
			   "deflate-on-oom=on|off)");
	expect_usage_error(ARGS("--kernel", path_junk, "--balloon", "stats=9999", "--", "true"),
			   "--balloon stats=9999",
			   "stats must be a number of seconds from 0 to 3600");
	expect_usage_error(ARGS("--kernel", path_junk, "--balloon", "reporting-order=11", "--",
				"true"),
			   "--balloon reporting-order=11",
			   "reporting-order must be a number from 0 to 10");
}

/* --egress: a bad entry, an unreadable allow file, and with --net: one line, exit 2 */
static void test_bad_egress_fails_2(void **state)
{
	expect_usage_error(ARGS("--kernel", path_junk, "--egress", "allow=*", "--", "true"),
			   "--egress allow=*: bad allow entry \"*\"", "");
	expect_usage_error(ARGS("--kernel", path_junk, "--egress", "file=/nonexistent/list", "--",
				"true"),
			   "--egress file=/nonexistent/list: cannot read it",
			   "No such file or directory");
	expect_usage_error(ARGS("--kernel", path_junk, "--egress", "allow=a.example", "--net",
				"user", "--", "true"),
			   "--egress: the guest gets no network card", "not with --net");
}

static void test_bad_cpus_zero_fails_2(void **state)
{
	expect_usage_error(ARGS("--kernel", path_junk, "--cpus", "0", "--", "true"), "--cpus 0",
			   "1 to");
}

static void test_bad_cpus_too_many_fails_2(void **state)
{
	expect_usage_error(ARGS("--kernel", path_junk, "--cpus", "1000", "--", "true"),
			   "--cpus 1000", "1 to");
}

static void test_bad_unknown_flag_fails_2(void **state)
{
	expect_usage_error(ARGS("--kernel", path_junk, "--frobnicate", "--", "true"),
			   "--frobnicate", "unknown option");
}

static void test_bad_missing_flag_value_fails_2(void **state)
{
	expect_usage_error(ARGS("--kernel"), "--kernel", "needs a value");
}

static void test_bad_cmdline_too_long_fails_2(void **state)
{
	static char longarg[6000];

	memset(longarg, 'a', sizeof(longarg) - 1);
	const char *k = e2e_kernel("bzImage");
	if (!k)
		skip();
	/* --stdio console: the command rides the kernel command line, 2 KiB at most */
	expect_usage_error(ARGS("--kernel", k, "--stdio", "console", "--", "echo", longarg),
			   "command line", "too long");
}

/* A session's job (arguments and environment) over 1 MiB: refused before boot. */
static void test_bad_job_too_big_fails_2(void **state)
{
	static char env[11][100010];
	const char *k = e2e_kernel("bzImage");

	if (!k)
		skip();
	for (int i = 0; i < 11; i++) {
		snprintf(env[i], 8, "V%d=", i);
		memset(env[i] + strlen(env[i]), 'x', 100000);
	}
	expect_usage_error(ARGS("--kernel", k, "--env", env[0], "--env", env[1], "--env", env[2],
				"--env", env[3], "--env", env[4], "--env", env[5], "--env", env[6],
				"--env", env[7], "--env", env[8], "--env", env[9], "--env", env[10],
				"--", "true"),
			   "the job is too big", "1 MiB");
}

static void test_bad_dev_kvm_missing_fails_2(void **state)
{
	/* hide /dev/kvm in a private mount namespace (root only), without the override */
	char cmd[8400];

	if (geteuid() != 0 || !e2e_kernel("bzImage"))
		skip();
	snprintf(cmd, sizeof(cmd),
		 "unshare -m sh -c 'mount -t tmpfs none /dev && "
		 "exec env -u AGENTVMM_KVM_DEVICE %s --kernel %s -- true' "
		 ">%s/out 2>%s/err; echo $? >%s/st",
		 AV_AGENTVMM, e2e_kernel("bzImage"), tmpdir, tmpdir, tmpdir);
	assert_int_equal(system(cmd), 0);
	char p[4300];
	size_t len;
	snprintf(p, sizeof(p), "%s/st", tmpdir);
	char *st = th_read_file(p, &len);
	snprintf(p, sizeof(p), "%s/err", tmpdir);
	char *err = th_read_file(p, &len);
	assert_string_equal(st, "2\n");
	assert_string_equal(err, "agentvmm: /dev/kvm: No such file or directory (is KVM enabled "
				 "and the kvm module loaded?)\n");
	free(st);
	free(err);
	for (const char *f = "out\0err\0st\0"; *f; f += strlen(f) + 1) {
		snprintf(p, sizeof(p), "%s/%s", tmpdir, f);
		unlink(p);
	}
}

/* A regular file in tmpdir with (len) bytes of (byte); returns its path. */
static const char *make_file(const char *name, size_t len, int byte)
{
	static char path[4][4300];
	static int i;
	FILE *f;

	i = (i + 1) % 4;
	snprintf(path[i], sizeof(path[i]), "%s/%s", tmpdir, name);
	f = fopen(path[i], "w");
	for (size_t k = 0; k < len; k++)
		fputc(byte, f);
	fclose(f);
	return path[i];
}

/* (path)'s size, mtime and first bytes, to prove a failed run modified nothing. */
static void file_sig(const char *path, char *sig, size_t len)
{
	struct stat st;
	unsigned char head[16] = { 0 };
	FILE *f = fopen(path, "r");

	assert_int_equal(stat(path, &st), 0);
	if (f) {
		size_t n = fread(head, 1, sizeof(head), f);
		(void)n;
		fclose(f);
	}
	snprintf(sig, len, "%lld/%lld.%09ld/%02x%02x%02x%02x", (long long)st.st_size,
		 (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec, head[0], head[1], head[2],
		 head[3]);
}

static void test_bad_disk_missing_image_fails_2(void **state)
{
	if (!e2e_kernel("bzImage"))
		skip();
	expect_usage_error(ARGS("--kernel", e2e_kernel("bzImage"), "--disk", "/nonexistent.img",
				"--", "true"),
			   "/nonexistent.img", "No such file or directory");
}

static void test_bad_disk_directory_fails_2(void **state)
{
	if (!e2e_kernel("bzImage"))
		skip();
	expect_usage_error(ARGS("--kernel", e2e_kernel("bzImage"), "--disk", tmpdir, "--", "true"),
			   tmpdir, "not a regular file");
}

static void test_bad_disk_zero_size_fails_2(void **state)
{
	const char *img = make_file("empty.img", 0, 0);

	if (!e2e_kernel("bzImage"))
		skip();
	expect_usage_error(ARGS("--kernel", e2e_kernel("bzImage"), "--disk", img, "--", "true"), img,
			   "empty");
}

static void test_bad_disk_same_image_twice_fails_2(void **state)
{
	const char *img = make_file("twice.img", 1 << 20, 0);
	char sig[128], after[128];

	if (!e2e_kernel("bzImage"))
		skip();
	file_sig(img, sig, sizeof(sig));
	expect_usage_error(ARGS("--kernel", e2e_kernel("bzImage"), "--disk", img, "--disk", img,
				"--", "true"),
			   img, "in use");
	file_sig(img, after, sizeof(after));
	assert_string_equal(sig, after);
}

static void test_bad_disk_locked_by_another_process_fails_2(void **state)
{
	const char *img = make_file("locked.img", 1 << 20, 0);
	int fd = open(img, O_RDWR);

	if (!e2e_kernel("bzImage"))
		skip();
	assert_int_equal(flock(fd, LOCK_EX | LOCK_NB), 0);
	expect_usage_error(ARGS("--kernel", e2e_kernel("bzImage"), "--disk", img, "--", "true"), img,
			   "in use");
	close(fd);
}

static void test_bad_disk_mount_on_readonly_blank_image_fails_2(void **state)
{
	const char *img = make_file("roblank.img", 1 << 20, 0);
	char sig[128], after[128];

	if (!e2e_kernel("bzImage"))
		skip();
	char disk[4400];

	snprintf(disk, sizeof(disk), "%s,ro,mount=/data", img);
	file_sig(img, sig, sizeof(sig));
	expect_usage_error(ARGS("--kernel", e2e_kernel("bzImage"), "--disk", disk, "--", "true"),
			   img, "blank read-only image");
	file_sig(img, after, sizeof(after));
	assert_string_equal(sig, after);
}

static void test_bad_disk_unknown_option_fails_2(void **state)
{
	expect_usage_error(ARGS("--kernel", path_junk, "--disk", "x.img,fast", "--", "true"),
			   "--disk x.img,fast", "unknown option 'fast'");
}

/* ---- --pmem: the image is opened and checked before the KVM device ---- */

static void test_bad_pmem_missing_image_fails_2(void **state)
{
	if (!e2e_kernel("bzImage"))
		skip();
	expect_usage_error(ARGS("--kernel", e2e_kernel("bzImage"), "--pmem", "/nonexistent.img",
				"--", "true"),
			   "--pmem /nonexistent.img", "No such file or directory");
}

static void test_bad_pmem_directory_fails_2(void **state)
{
	if (!e2e_kernel("bzImage"))
		skip();
	expect_usage_error(ARGS("--kernel", e2e_kernel("bzImage"), "--pmem", tmpdir, "--", "true"),
			   tmpdir, "not a regular file");
}

/* mount= on an image of zeros (no erofs or ext4): refused, the image untouched */
static void test_bad_pmem_mount_without_filesystem_fails_2(void **state)
{
	const char *img = make_file("pmemzero.img", 2 << 20, 0);
	char pmem[4400], sig[128], after[128];

	if (!e2e_kernel("bzImage"))
		skip();
	snprintf(pmem, sizeof(pmem), "%s,mount=/x", img);
	file_sig(img, sig, sizeof(sig));
	expect_usage_error(ARGS("--kernel", e2e_kernel("bzImage"), "--pmem", pmem, "--", "true"),
			   img, "mount= needs an erofs or ext4 image");
	snprintf(pmem, sizeof(pmem), "%s,ro,mount=/x,dax", img);
	expect_usage_error(ARGS("--kernel", e2e_kernel("bzImage"), "--pmem", pmem, "--", "true"),
			   img, "mount= needs an erofs or ext4 image");
	file_sig(img, after, sizeof(after));
	assert_string_equal(sig, after);
}

static void test_bad_pmem_dax_without_mount_fails_2(void **state)
{
	expect_usage_error(ARGS("--kernel", path_junk, "--pmem", "img,dax", "--", "true"),
			   "--pmem img,dax", "dax is a mount option: it needs mount=DIR");
}

/* ---- boot files and console: checked before the KVM device like the rest ---- */

static void test_bad_initrd_missing_fails_2(void **state)
{
	if (!e2e_kernel("bzImage"))
		skip();
	expect_usage_error(ARGS("--kernel", e2e_kernel("bzImage"), "--initrd",
				"/nonexistent/initrd", "--", "true"),
			   "/nonexistent/initrd", "No such file or directory");
}

static void test_bad_initrd_directory_fails_2(void **state)
{
	if (!e2e_kernel("bzImage"))
		skip();
	expect_usage_error(ARGS("--kernel", e2e_kernel("bzImage"), "--initrd", tmpdir, "--",
				"true"),
			   tmpdir, "initrd is not a regular file");
}

static void test_bad_initrd_empty_fails_2(void **state)
{
	const char *initrd = make_file("empty.initrd", 0, 0);

	if (!e2e_kernel("bzImage"))
		skip();
	expect_usage_error(ARGS("--kernel", e2e_kernel("bzImage"), "--initrd", initrd, "--",
				"true"),
			   initrd, "initrd is empty");
}

/*
 * Whether an initrd fits below the kernel's limit is known only once guest
 * RAM exists, after the KVM device is opened: with a usable device the
 * initrd's own message; without one (AGENTVMM_KVM_DEVICE) the device's, as
 * for any input good as far as can be checked before.
 */
static void test_bad_initrd_too_big_fails_2(void **state)
{
	char big[4300];
	int fd;

	if (!e2e_kernel("bzImage"))
		skip();
	snprintf(big, sizeof(big), "%s/big.initrd", tmpdir);
	fd = open(big, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 1L << 30), 0); /* sparse: bigger than --mem 128 */
	close(fd);
	const char *const *args = ARGS("--kernel", e2e_kernel("bzImage"), "--mem", "128",
				       "--initrd", big, "--", "true");
	if (access(e2e_kvm_device(), R_OK | W_OK) == 0)
		expect_usage_error(args, big, "initrd too big");
	else
		expect_usage_error(args, e2e_kvm_device(), "");
	unlink(big);
}

static void test_bad_modules_dir_not_a_directory_fails_2(void **state)
{
	if (!e2e_kernel("bzImage"))
		skip();
	expect_usage_error(ARGS("--kernel", e2e_kernel("bzImage"), "--modules-dir", path_junk, "--",
				"true"),
			   "--modules-dir", "not a directory");
}

static void test_bad_console_in_missing_dir_fails_2(void **state)
{
	char console[4300];

	if (!e2e_kernel("bzImage"))
		skip();
	snprintf(console, sizeof(console), "%s/nodir/console.log", tmpdir);
	expect_usage_error(ARGS("--kernel", e2e_kernel("bzImage"), "--console", console, "--",
				"true"),
			   "--console", "No such file or directory");
}

static void test_bad_raw_image_missing_fails_2(void **state)
{
	expect_usage_error(ARGS("--raw-image", "/nonexistent/raw", "--", "true"),
			   "--raw-image /nonexistent/raw", "No such file or directory");
}

static void test_bad_raw_image_too_big_fails_2(void **state)
{
	const char *raw = make_file("big.raw", 0x8001, 0xf4);

	expect_usage_error(ARGS("--raw-image", raw, "--", "true"), raw, "must be 1 to");
}

/* --- shares: each bad value is caught before anything starts (no virtiofsd, no socket dir) */

static char share_arg[4400], share_dir[4300], share_file[4300], dead_sock[4300];

static void share_fixtures(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (share_dir[0])
		return;
	snprintf(share_dir, sizeof(share_dir), "%s/sharedir", tmpdir);
	assert_int_equal(mkdir(share_dir, 0755), 0);
	snprintf(share_file, sizeof(share_file), "%s/sharefile", tmpdir);
	fclose(fopen(share_file, "w"));
	/* a socket file nobody listens on */
	snprintf(dead_sock, sizeof(dead_sock), "%s/dead.sock", tmpdir);
	assert_true(strlen(dead_sock) < sizeof(sa.sun_path));
	memcpy(sa.sun_path, dead_sock, strlen(dead_sock) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
}

static void test_bad_share_missing_dir_fails_2(void **state)
{
	share_fixtures();
	snprintf(share_arg, sizeof(share_arg), "ro:%s/nonexistent", tmpdir);
	expect_usage_error(ARGS("--kernel", path_junk, "--share", share_arg, "--", "true"),
			   share_arg, "No such file or directory");
}

static void test_bad_share_file_not_dir_fails_2(void **state)
{
	share_fixtures();
	snprintf(share_arg, sizeof(share_arg), "rw:%s:/w", share_file);
	expect_usage_error(ARGS("--kernel", path_junk, "--share", share_arg, "--", "true"),
			   share_arg, "not a directory");
}

static void test_bad_share_prefix_fails_2(void **state)
{
	share_fixtures();
	snprintf(share_arg, sizeof(share_arg), "readonly:%s", share_dir);
	expect_usage_error(ARGS("--kernel", path_junk, "--share", share_arg, "--", "true"),
			   share_arg, "expected ro:HOST[:GUEST] or rw:HOST[:GUEST]");
}

static void test_bad_share_relative_guest_path_fails_2(void **state)
{
	share_fixtures();
	snprintf(share_arg, sizeof(share_arg), "rw:%s:work", share_dir);
	expect_usage_error(ARGS("--kernel", path_junk, "--share", share_arg, "--", "true"),
			   "guest path 'work'", "must be absolute");
}

static void test_bad_share_given_twice_fails_2(void **state)
{
	share_fixtures();
	snprintf(share_arg, sizeof(share_arg), "rw:%s:/a", share_dir);
	expect_usage_error(ARGS("--kernel", path_junk, "--share", share_arg, "--share", share_arg,
				"--", "true"),
			   share_dir, "shared twice");
}

static void test_bad_fs_without_socket_fails_2(void **state)
{
	expect_usage_error(ARGS("--kernel", path_junk, "--fs", "tag=store,mount=/nix/store", "--",
				"true"),
			   "--fs tag=store,mount=/nix/store", "needs tag=T and socket=PATH");
}

static void test_bad_fs_nonexistent_socket_fails_2(void **state)
{
	snprintf(share_arg, sizeof(share_arg), "tag=store,socket=%s/none.sock,wait=0", tmpdir);
	expect_usage_error(ARGS("--kernel", path_junk, "--fs", share_arg, "--", "true"),
			   "none.sock", "No such file or directory");
}

static void test_bad_fs_wait_out_of_range_fails_2(void **state)
{
	snprintf(share_arg, sizeof(share_arg), "tag=store,socket=%s/none.sock,wait=9999", tmpdir);
	expect_usage_error(ARGS("--kernel", path_junk, "--fs", share_arg, "--", "true"),
			   "--fs tag=store", "wait must be 0 to 3600 seconds");
}

static void test_bad_fs_socket_never_appears_fails_2(void **state)
{
	/* a back end that never starts: waited for (wait=1), then one line */
	if (!e2e_kernel("bzImage"))
		skip();
	snprintf(share_arg, sizeof(share_arg), "tag=store,socket=%s/never.sock,wait=1", tmpdir);
	expect_usage_error(ARGS("--kernel", e2e_kernel("bzImage"), "--fs", share_arg, "--", "true"),
			   "never.sock", "No such file or directory (waited 1 s)");
}

static void test_bad_fs_tag_too_long_fails_2(void **state)
{
	share_fixtures();
	snprintf(share_arg, sizeof(share_arg),
		 "tag=a-tag-that-is-longer-than-thirty-six-bytes,socket=%s", dead_sock);
	expect_usage_error(ARGS("--kernel", path_junk, "--fs", share_arg, "--", "true"),
			   "--fs tag=a-tag", "tag must be 1 to 36 bytes");
}

static void test_bad_share_virtiofsd_missing_fails_2(void **state)
{
	if (!e2e_kernel("bzImage"))
		skip();
	share_fixtures();
	snprintf(share_arg, sizeof(share_arg), "ro:%s", share_dir);
	setenv("AGENTVMM_VIRTIOFSD", "/nonexistent/virtiofsd", 1);
	expect_usage_error(ARGS("--kernel", e2e_kernel("bzImage"), "--share", share_arg, "--",
				"true"),
			   "/nonexistent/virtiofsd", "No such file or directory");
	unsetenv("AGENTVMM_VIRTIOFSD");
}

static void test_bad_fs_nobody_listening_fails_2(void **state)
{
	/* connected before the KVM device is opened: no KVM needed, and no initramfs built */
	if (!e2e_kernel("bzImage"))
		skip();
	share_fixtures();
	snprintf(share_arg, sizeof(share_arg), "tag=store,socket=%s,wait=1", dead_sock);
	expect_usage_error(ARGS("--kernel", e2e_kernel("bzImage"), "--fs", share_arg, "--", "true"),
			   "--fs store", "Connection refused (waited 1 s)");
}

/* ---- --net: parse errors, and tap errors inside a network namespace of our own ---- */

static void test_bad_net_tap_name_too_long_fails_2(void **state)
{
	expect_usage_error(ARGS("--kernel", "k", "--net", "tap=abcdefghijklmnop", "--", "true"),
			   "--net tap=abcdefghijklmnop", "tap name must be 1 to 15 bytes");
}

static void test_bad_net_malformed_mac_fails_2(void **state)
{
	expect_usage_error(ARGS("--kernel", "k", "--net", "tap=t0,mac=02:00:00:00:00:zz", "--",
				"true"),
			   "--net tap=t0,mac=02:00:00:00:00:zz", "malformed MAC address");
}

static void test_bad_net_malformed_address_fails_2(void **state)
{
	expect_usage_error(ARGS("--kernel", "k", "--net", "tap=t0,ip=10.0.2.15/40", "--", "true"),
			   "--net tap=t0,ip=10.0.2.15/40", "malformed address '10.0.2.15/40'");
	expect_usage_error(ARGS("--kernel", "k", "--net", "tap=t0,ip=10.0.2.15/24,gw=10.0.2.x",
				"--", "true"),
			   "--net tap=t0,ip=10.0.2.15/24,gw=10.0.2.x", "malformed address '10.0.2.x'");
}

/* SMBIOS OEM strings and systemd credentials (vmm/oem.h): syntax errors from the parser. */
static void test_bad_oem_string_and_credential_syntax_fails_2(void **state)
{
	expect_usage_error(ARGS("--kernel", "k", "--oem-string", "", "--", "true"), "--oem-string",
			   "must not be empty");
	expect_usage_error(ARGS("--kernel", "k", "--set-credential", "novalue", "--", "true"),
			   "--set-credential novalue", "expected NAME:VALUE");
	expect_usage_error(ARGS("--kernel", "k", "--set-credential", "a/b:v", "--", "true"),
			   "--set-credential a/b:v", "credential name 'a/b' is not valid");
	expect_usage_error(ARGS("--kernel", "k", "--load-credential", "..:/etc/hostname", "--",
				"true"),
			   "--load-credential ..:/etc/hostname", "credential name '..' is not valid");
	expect_usage_error(ARGS("--kernel", "k", "--load-credential", "k:", "--", "true"),
			   "--load-credential k:", "expected NAME:PATH");
	expect_usage_error(ARGS("--kernel", "k", "--set-credential", "n:1", "--load-credential",
				"n:/etc/hostname", "--", "true"),
			   "credential 'n'", "given twice");
	expect_usage_error(ARGS("--raw-image", path_junk, "--oem-string", "x", "--", "true"),
			   "--oem-string", "need a kernel");
}

/* 256 OEM strings, through a --config file (argv here holds 40 words). */
static void test_bad_oem_string_too_many_fails_2(void **state)
{
	char path[4300];
	FILE *f;

	snprintf(path, sizeof(path), "%s/oem256.json", tmpdir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("{\"oem-string\": [", f);
	for (int i = 0; i < 256; i++)
		fprintf(f, "%s\"s%d\"", i ? ", " : "", i);
	fputs("]}", f);
	fclose(f);
	expect_usage_error(ARGS("--kernel", "k", "--config", path, "--", "true"), "--oem-string s255",
			   "more than 255");
	unlink(path);
}

/* --load-credential files: read before the KVM device, each problem its own line. */
static void test_bad_load_credential_file_fails_2(void **state)
{
	char arg[4400], fifo[4300];
	const char *k = e2e_kernel("bzImage");

	if (!k)
		skip();
	snprintf(arg, sizeof(arg), "key:%s/no-such-credential", tmpdir);
	expect_usage_error(ARGS("--kernel", k, "--load-credential", arg, "--", "true"), arg,
			   "No such file or directory");
	snprintf(arg, sizeof(arg), "key:%s", tmpdir);
	expect_usage_error(ARGS("--kernel", k, "--load-credential", arg, "--", "true"), arg,
			   "not a regular file");
	snprintf(fifo, sizeof(fifo), "%s/cred-fifo", tmpdir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	snprintf(arg, sizeof(arg), "key:%s", fifo);
	expect_usage_error(ARGS("--kernel", k, "--load-credential", arg, "--", "true"), arg,
			   "not a regular file"); /* without blocking on the FIFO */
	unlink(fifo);
	snprintf(arg, sizeof(arg), "key:%s", make_file("cred-big", 32769, 'c'));
	expect_usage_error(ARGS("--kernel", k, "--load-credential", arg, "--", "true"), arg,
			   "32769 bytes, more than the 32768");
	unlink(arg + 4);
}

/* Two 32 KiB files are 87 KiB of base64: over the 48 KiB a Linux guest can take. */
static void test_bad_oem_strings_too_many_bytes_fails_2(void **state)
{
	char a1[4400], a2[4400];
	const char *k = e2e_kernel("bzImage");

	if (!k)
		skip();
	snprintf(a1, sizeof(a1), "one:%s", make_file("cred1", 32768, 1));
	snprintf(a2, sizeof(a2), "two:%s", make_file("cred2", 32768, 2));
	expect_usage_error(ARGS("--kernel", k, "--load-credential", a1, "--load-credential", a2,
				"--", "true"),
			   "bytes of SMBIOS OEM strings", "more than the 49152");
	unlink(a1 + 4);
	unlink(a2 + 4);
}

static char net_ns[32];
static int net_holder; /* pid of the process holding busy0 */

static int sh_run(const char *cmd)
{
	int st = system(cmd);

	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* A network namespace for the tap cases, or skip (needs root, ip and the kernel). */
static bool net_ns_enter(void)
{
	char cmd[128];

	if (geteuid() != 0 || access("/usr/sbin/ip", X_OK) || !e2e_kernel("bzImage"))
		return false;
	snprintf(net_ns, sizeof(net_ns), "avbad%d", (int)getpid());
	snprintf(cmd, sizeof(cmd), "/usr/sbin/ip netns add %s", net_ns);
	if (sh_run(cmd))
		return false;
	run_prefix[0] = "/usr/sbin/ip";
	run_prefix[1] = "netns";
	run_prefix[2] = "exec";
	run_prefix[3] = net_ns;
	run_prefix[4] = NULL;
	return true;
}

/* Also the teardown of the namespace tests, so a failed assertion leaves nothing behind. */
static int net_ns_leave(void **state)
{
	char cmd[128];

	run_prefix[0] = NULL;
	if (net_holder > 0)
		kill(net_holder, SIGKILL);
	net_holder = 0;
	if (!net_ns[0])
		return 0;
	snprintf(cmd, sizeof(cmd), "/usr/sbin/ip netns del %s", net_ns);
	net_ns[0] = 0;
	return sh_run(cmd) ? -1 : 0;
}

static void test_bad_net_tap_busy_fails_2(void **state)
{
	char cmd[6000], pidf[4400];

	if (!net_ns_enter())
		skip();
	/* another process holds tap busy0 (TUNSETIFF IFF_TAP | IFF_NO_PI | IFF_VNET_HDR) */
	snprintf(pidf, sizeof(pidf), "%s/holder.pid", tmpdir);
	snprintf(cmd, sizeof(cmd), "/usr/sbin/ip netns exec %s python3 -c 'import fcntl, os, "
		 "struct, time\nfd = os.open(\"/dev/net/tun\", os.O_RDWR)\n"
		 "fcntl.ioctl(fd, 0x400454ca, struct.pack(\"16sH\", b\"busy0\", 0x5002))\n"
		 "time.sleep(60)' >/dev/null 2>&1 & echo $! > %s", net_ns, pidf);
	assert_int_equal(sh_run(cmd), 0);
	snprintf(cmd, sizeof(cmd), "/usr/sbin/ip netns exec %s /usr/sbin/ip link show busy0 "
		 ">/dev/null 2>&1", net_ns);
	for (int i = 0; i < 100 && sh_run(cmd); i++)
		usleep(100 * 1000);
	FILE *f = fopen(pidf, "r");
	assert_non_null(f);
	assert_int_equal(fscanf(f, "%d", &net_holder), 1);
	fclose(f);
	unlink(pidf);
	/* --initrd: no initramfs is built into the cache before the device fails */
	expect_usage_error(ARGS("--kernel", e2e_kernel("bzImage"), "--initrd", path_junk, "--net",
				"tap=busy0", "--", "true"),
			   "--net tap=busy0", "tap busy0 is in use by another process");
}

static void test_bad_net_no_permission_to_create_fails_2(void **state)
{
	char cmd[256];

	if (access("/usr/bin/setpriv", X_OK) || !net_ns_enter())
		skip();
	run_prefix[4] = "/usr/bin/setpriv";
	run_prefix[5] = "--bounding-set=-net_admin";
	run_prefix[6] = NULL;
	expect_usage_error(ARGS("--kernel", e2e_kernel("bzImage"), "--initrd", path_junk, "--net",
				"tap=nope0", "--", "true"),
			   "--net tap=nope0", "no such tap, and creating one needs CAP_NET_ADMIN");
	snprintf(cmd, sizeof(cmd), "/usr/sbin/ip netns exec %s /usr/sbin/ip link show nope0 "
		 ">/dev/null 2>&1", net_ns);
	assert_int_not_equal(sh_run(cmd), 0);
}

/* issue 16: queues= and fd= errors the parser finds */
static void test_bad_net_queues_and_fd_syntax_fails_2(void **state)
{
	expect_usage_error(ARGS("--kernel", "k", "--net", "tap=t0,queues=0", "--", "true"),
			   "--net tap=t0,queues=0", "queues must be 1 to 16");
	expect_usage_error(ARGS("--kernel", "k", "--net", "tap=t0,queues=17", "--", "true"),
			   "--net tap=t0,queues=17", "queues must be 1 to 16");
	expect_usage_error(ARGS("--kernel", "k", "--net", "fd=1", "--", "true"), "--net fd=1",
			   "fd '1' must be a descriptor number of 3 or more (0, 1 and 2 are stdio)");
	expect_usage_error(ARGS("--kernel", "k", "--net", "fd=3:3", "--", "true"), "--net fd=3:3",
			   "fd 3 given twice");
	expect_usage_error(ARGS("--kernel", "k", "--net", "fd=3", "--net", "fd=4:3", "--", "true"),
			   "--net fd=4:3", "fd 3 used twice");
	expect_usage_error(ARGS("--kernel", "k", "--net", "fd=3:4,queues=1", "--", "true"),
			   "--net fd=3:4,queues=1", "queues=1 but 2 fds (one fd per queue pair)");
	expect_usage_error(ARGS("--kernel", "k", "--net", "tap=t0,fd=3", "--", "true"),
			   "--net tap=t0,fd=3", "tap=, fd= and user exclude each other");
}

/*
 * --net fd=: descriptors agentvmm did not inherit, or that are no tap, are
 * refused before the KVM device; run through a shell that opens fd 3 first.
 */
static void test_bad_net_fd_not_a_tap_fails_2(void **state)
{
	const char *k = e2e_kernel("bzImage");

	if (!k)
		skip();
	expect_usage_error(ARGS("--kernel", k, "--initrd", path_junk, "--net", "fd=250", "--",
				"true"),
			   "--net fd=250", "fd 250 is not open (agentvmm must inherit it from its "
			   "parent)");
	run_prefix[0] = "/bin/sh";
	run_prefix[1] = "-c";
	run_prefix[2] = "exec 3</dev/null; exec \"$0\" \"$@\"";
	run_prefix[3] = NULL;
	expect_usage_error(ARGS("--kernel", k, "--initrd", path_junk, "--net", "fd=3", "--",
				"true"),
			   "--net fd=3", "fd 3 is not a tap or macvtap");
	run_prefix[2] = "exec 3</dev/net/tun; exec \"$0\" \"$@\"";
	expect_usage_error(ARGS("--kernel", k, "--initrd", path_junk, "--net", "fd=3", "--",
				"true"),
			   "--net fd=3", "a /dev/net/tun fd not attached to a tap");
	run_prefix[2] = "exec 3</dev/null 4</dev/null; exec \"$0\" \"$@\"";
	expect_usage_error(ARGS("--kernel", k, "--initrd", path_junk, "--net", "fd=3:4", "--",
				"true"),
			   "--net fd=3:4", "fd 3 is not a tap or macvtap");
	run_prefix[0] = NULL;
}

/* In a namespace of our own: more queues than a single-queue tap has; a tun given as a tap. */
static void test_bad_net_queues_on_single_queue_tap_fails_2(void **state)
{
	char cmd[256];

	if (!net_ns_enter())
		skip();
	snprintf(cmd, sizeof(cmd), "/usr/sbin/ip netns exec %s /usr/sbin/ip tuntap add sq0 mode "
		 "tap vnet_hdr && /usr/sbin/ip netns exec %s /usr/sbin/ip tuntap add tun0 mode tun",
		 net_ns, net_ns);
	assert_int_equal(sh_run(cmd), 0);
	expect_usage_error(ARGS("--kernel", e2e_kernel("bzImage"), "--initrd", path_junk, "--net",
				"tap=sq0,queues=2", "--", "true"),
			   "--net tap=sq0", "sq0 is a single-queue tap: more than one queue needs a "
			   "tap made multi_queue");
	expect_usage_error(ARGS("--kernel", e2e_kernel("bzImage"), "--initrd", path_junk, "--net",
				"tap=tun0", "--", "true"),
			   "--net tap=tun0", "tun0 is not a tap device");
	/* a tap agentvmm would create for 2 queues: not left behind by a later error */
	expect_usage_error(ARGS("--kernel", e2e_kernel("bzImage"), "--initrd", path_junk, "--net",
				"tap=mqnew0,queues=2", "--net", "tap=sq0,queues=2", "--", "true"),
			   "--net tap=sq0", "single-queue tap");
	snprintf(cmd, sizeof(cmd), "/usr/sbin/ip netns exec %s /usr/sbin/ip link show mqnew0 "
		 ">/dev/null 2>&1", net_ns);
	assert_int_not_equal(sh_run(cmd), 0);
}

/* ---- the KVM device: reported only for an input that is good in every other way ---- */

static int fs_listen_fd = -1;

/* A listening socket at (path); non-blocking, so accept() tells at once whether anyone came. */
static int listen_unix(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	assert_true(fd >= 0 && strlen(path) < sizeof(sa.sun_path));
	memcpy(sa.sun_path, path, strlen(path) + 1);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 4), 0);
	return fd;
}

/* Teardown: the run's own environment back, the listener closed, the namespace gone. */
static int kvm_override_leave(void **state)
{
	if (kvm_saved[0])
		setenv("AGENTVMM_KVM_DEVICE", kvm_saved, 1);
	else
		unsetenv("AGENTVMM_KVM_DEVICE");
	unsetenv("AGENTVMM_VIRTIOFSD");
	if (fs_listen_fd >= 0)
		close(fs_listen_fd);
	fs_listen_fd = -1;
	return net_ns_leave(state);
}

/*
 * A good input with every kind of device (a blank disk to format, a --share,
 * a --fs, a console file, and a new tap where we may make one) and a KVM
 * device that is not there: exactly the device's message, with the path from
 * AGENTVMM_KVM_DEVICE. Nothing was created or started: no mkfs, no virtiofsd,
 * no console file, no initramfs, no tap; the image's lock is gone. The --fs
 * back end saw a connection (its socket was checked) and its end, no message.
 */
static void test_bad_kvm_device_missing_after_good_input_fails_2(void **state)
{
	const char *img = make_file("good.img", 1 << 20, 0);
	char kvm[4300], want[4600], fake[4300], marker[4300], fs_sock[4300], console[4300];
	char disk[4400], share[4400], fs[4400], sig[128], after[128], cmd[256], b;
	const char *args[32];
	int n = 0, fd;
	bool net;

	if (!e2e_kernel("bzImage"))
		skip();
	share_fixtures();
	snprintf(kvm, sizeof(kvm), "%s/no-kvm-here", tmpdir);
	snprintf(want, sizeof(want), "agentvmm: %s: No such file or directory (is KVM enabled and "
		 "the kvm module loaded?)\n", kvm);
	/* a virtiofsd that leaves a mark if it is ever started */
	snprintf(marker, sizeof(marker), "%s/virtiofsd-ran", tmpdir);
	snprintf(fake, sizeof(fake), "%s/fake-virtiofsd", tmpdir);
	FILE *f = fopen(fake, "w");
	assert_non_null(f);
	fprintf(f, "#!/bin/sh\ntouch %s\n", marker);
	fclose(f);
	assert_int_equal(chmod(fake, 0755), 0);
	/* a vhost-user back end that listens and never answers */
	snprintf(fs_sock, sizeof(fs_sock), "%s/fs0.sock", tmpdir);
	fs_listen_fd = listen_unix(fs_sock);
	snprintf(console, sizeof(console), "%s/console.log", tmpdir);
	snprintf(disk, sizeof(disk), "%s,mount=/data", img);
	snprintf(share, sizeof(share), "ro:%s:/mnt/share", share_dir);
	snprintf(fs, sizeof(fs), "tag=fs0,socket=%s,mount=/mnt/fs", fs_sock);
	file_sig(img, sig, sizeof(sig));

	net = net_ns_enter();
	for (const char *const *a = ARGS("--kernel", e2e_kernel("bzImage"), "--disk", disk,
					 "--share", share, "--fs", fs, "--console", console);
	     *a; a++)
		args[n++] = *a;
	if (net) {
		args[n++] = "--net";
		args[n++] = "tap=good0";
	}
	args[n++] = "--";
	args[n++] = "true";
	args[n] = NULL;
	setenv("AGENTVMM_KVM_DEVICE", kvm, 1);
	setenv("AGENTVMM_VIRTIOFSD", fake, 1);
	expect_usage_error(args, kvm, "No such file or directory");
	assert_string_equal(res.err, want);

	file_sig(img, after, sizeof(after));
	assert_string_equal(sig, after);
	assert_int_not_equal(access(console, F_OK), 0);
	assert_int_not_equal(access(marker, F_OK), 0);
	fd = open(img, O_RDWR | O_CLOEXEC);
	assert_int_equal(flock(fd, LOCK_EX | LOCK_NB), 0);
	close(fd);
	fd = accept4(fs_listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	assert_true(fd >= 0); /* agentvmm connected: the --fs check ran before the KVM device */
	assert_int_equal(read(fd, &b, 1), 0);
	close(fd);
	unlink(fs_sock);
	if (net) {
		snprintf(cmd, sizeof(cmd), "/usr/sbin/ip netns exec %s /usr/sbin/ip link show "
			 "good0 >/dev/null 2>&1", net_ns);
		assert_int_not_equal(sh_run(cmd), 0);
	}
}

/*
 * A --fs back end that starts after agentvmm (microvm.nix starts virtiofsd
 * beside the VM): agentvmm waits for the socket, connects, and only then
 * reaches the (missing) KVM device.
 */
static void test_fs_socket_appearing_later_is_waited_for(void **state)
{
	char kvm[4300], sock[4300], fs[4400];
	pid_t child;
	int status;

	if (!e2e_kernel("bzImage"))
		skip();
	snprintf(kvm, sizeof(kvm), "%s/no-kvm-here", tmpdir);
	/* in a directory of its own: expect_usage_error() counts what appears in tmpdir */
	snprintf(sock, sizeof(sock), "%s/late", tmpdir);
	assert_true(mkdir(sock, 0700) == 0 || errno == EEXIST);
	snprintf(sock, sizeof(sock), "%s/late/late.sock", tmpdir);
	snprintf(fs, sizeof(fs), "tag=late,socket=%s,wait=20", sock);
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		/* 1.5 s late; then exit 0 once agentvmm connected (give up after 25 s) */
		usleep(1500 * 1000);
		int fd = listen_unix(sock);
		struct pollfd p = { .fd = fd, .events = POLLIN };

		_exit(poll(&p, 1, 25000) == 1 && accept4(fd, NULL, NULL, SOCK_CLOEXEC) >= 0 ? 0 : 1);
	}
	setenv("AGENTVMM_KVM_DEVICE", kvm, 1);
	expect_usage_error(ARGS("--kernel", e2e_kernel("bzImage"), "--fs", fs, "--", "true"), kvm,
			   "No such file or directory");
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	unlink(sock);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_missing_kernel_fails_2),
		cmocka_unit_test(test_bad_balloon_fails_2),
		cmocka_unit_test(test_bad_egress_fails_2),
		cmocka_unit_test(test_bad_no_kernel_flag_fails_2),
		cmocka_unit_test(test_bad_kernel_is_directory_fails_2),
		cmocka_unit_test(test_bad_kernel_not_a_kernel_fails_2),
		cmocka_unit_test(test_bad_truncated_bzimage_fails_2),
		cmocka_unit_test(test_bad_elf_without_pvh_note_fails_2),
		cmocka_unit_test(test_bad_mem_zero_fails_2),
		cmocka_unit_test(test_bad_mem_beyond_host_fails_2),
		cmocka_unit_test(test_bad_mem_not_a_number_fails_2),
		cmocka_unit_test(test_bad_cpus_zero_fails_2),
		cmocka_unit_test(test_bad_cpus_too_many_fails_2),
		cmocka_unit_test(test_bad_unknown_flag_fails_2),
		cmocka_unit_test(test_bad_missing_flag_value_fails_2),
		cmocka_unit_test(test_bad_cmdline_too_long_fails_2),
		cmocka_unit_test(test_bad_job_too_big_fails_2),
		cmocka_unit_test(test_bad_dev_kvm_missing_fails_2),
		cmocka_unit_test(test_bad_disk_missing_image_fails_2),
		cmocka_unit_test(test_bad_disk_directory_fails_2),
		cmocka_unit_test(test_bad_disk_zero_size_fails_2),
		cmocka_unit_test(test_bad_disk_same_image_twice_fails_2),
		cmocka_unit_test(test_bad_disk_locked_by_another_process_fails_2),
		cmocka_unit_test(test_bad_disk_mount_on_readonly_blank_image_fails_2),
		cmocka_unit_test(test_bad_disk_unknown_option_fails_2),
		cmocka_unit_test(test_bad_pmem_missing_image_fails_2),
		cmocka_unit_test(test_bad_pmem_directory_fails_2),
		cmocka_unit_test(test_bad_pmem_mount_without_filesystem_fails_2),
		cmocka_unit_test(test_bad_pmem_dax_without_mount_fails_2),
		cmocka_unit_test(test_bad_initrd_missing_fails_2),
		cmocka_unit_test(test_bad_initrd_directory_fails_2),
		cmocka_unit_test(test_bad_initrd_empty_fails_2),
		cmocka_unit_test(test_bad_initrd_too_big_fails_2),
		cmocka_unit_test(test_bad_modules_dir_not_a_directory_fails_2),
		cmocka_unit_test(test_bad_console_in_missing_dir_fails_2),
		cmocka_unit_test(test_bad_raw_image_missing_fails_2),
		cmocka_unit_test(test_bad_raw_image_too_big_fails_2),
		cmocka_unit_test(test_bad_share_missing_dir_fails_2),
		cmocka_unit_test(test_bad_share_file_not_dir_fails_2),
		cmocka_unit_test(test_bad_share_prefix_fails_2),
		cmocka_unit_test(test_bad_share_relative_guest_path_fails_2),
		cmocka_unit_test(test_bad_share_given_twice_fails_2),
		cmocka_unit_test(test_bad_fs_without_socket_fails_2),
		cmocka_unit_test(test_bad_fs_nonexistent_socket_fails_2),
		cmocka_unit_test(test_bad_fs_wait_out_of_range_fails_2),
		cmocka_unit_test(test_bad_fs_socket_never_appears_fails_2),
		cmocka_unit_test(test_bad_fs_tag_too_long_fails_2),
		cmocka_unit_test(test_bad_share_virtiofsd_missing_fails_2),
		cmocka_unit_test(test_bad_fs_nobody_listening_fails_2),
		cmocka_unit_test(test_bad_net_tap_name_too_long_fails_2),
		cmocka_unit_test(test_bad_net_malformed_mac_fails_2),
		cmocka_unit_test(test_bad_net_malformed_address_fails_2),
		cmocka_unit_test(test_bad_oem_string_and_credential_syntax_fails_2),
		cmocka_unit_test(test_bad_oem_string_too_many_fails_2),
		cmocka_unit_test(test_bad_load_credential_file_fails_2),
		cmocka_unit_test(test_bad_oem_strings_too_many_bytes_fails_2),
		cmocka_unit_test_teardown(test_bad_net_tap_busy_fails_2, net_ns_leave),
		cmocka_unit_test_teardown(test_bad_net_no_permission_to_create_fails_2, net_ns_leave),
		cmocka_unit_test(test_bad_net_queues_and_fd_syntax_fails_2),
		cmocka_unit_test(test_bad_net_fd_not_a_tap_fails_2),
		cmocka_unit_test_teardown(test_bad_net_queues_on_single_queue_tap_fails_2,
					  net_ns_leave),
		cmocka_unit_test_teardown(test_bad_kvm_device_missing_after_good_input_fails_2,
					  kvm_override_leave),
		cmocka_unit_test_teardown(test_fs_socket_appearing_later_is_waited_for,
					  kvm_override_leave),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
