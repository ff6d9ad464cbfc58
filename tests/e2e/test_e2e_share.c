// SPDX-License-Identifier: MIT
/*
 * test_e2e_share.c: virtio-fs shares against the real Debian cloud kernel and
 * Debian's virtiofsd: read-only enforced on the host (also after the guest
 * remounts rw), rw writes reach the host with the --owner's ids, a shared
 * /usr runs host programs through the generated root, the store overlay
 * keeps the host untouched, --fs attaches an external virtiofsd, nothing is
 * left after a normal exit or a SIGKILL of agentvmm, and a virtiofsd killed
 * mid-run gives the guest I/O errors without hanging agentvmm.
 */
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "tests/e2e/e2e.h"
#include "tests/helpers/th.h"

#define OWNER "4321:4322"

static struct th_result res;
static char dir[] = "/tmp/av-e2e-share-XXXXXX";
static char rundir[600]; /* TMPDIR of agentvmm: where its socket directories go */

static int setup(void **state)
{
	return e2e_make_dirs(dir, rundir, sizeof(rundir));
}

static int teardown(void **state)
{
	return e2e_rm_rf(dir);
}

/* A fresh directory (dir)/(name) holding (file) with (text); returns its path. */
static const char *mkshare(const char *name, const char *file, const char *text)
{
	static char path[4][600];
	static int i;
	char f[700];

	i = (i + 1) % 4;
	snprintf(path[i], sizeof(path[i]), "%s/%s", dir, name);
	assert_int_equal(mkdir(path[i], 0755), 0);
	if (file) {
		snprintf(f, sizeof(f), "%s/%s", path[i], file);
		FILE *fp = fopen(f, "w");
		assert_non_null(fp);
		fputs(text, fp);
		fclose(fp);
	}
	return path[i];
}

static void boot(const char *const *extra, const char *script)
{
	e2e_boot(&res, E2E_BOOT_TIMEOUT_S, NULL, extra, script);
	if (res.status == -1)
		fail_msg("boot timed out; stderr: %s", res.err);
}

#define ARGS E2E_ARGS

static int count_virtiofsd(pid_t parent, pid_t *pid)
{
	return e2e_count_procs("virtiofsd", parent, pid);
}

/* Nothing of agentvmm's shares remains: no virtiofsd, no socket directory. */
static void assert_nothing_left(void)
{
	for (int i = 0; i < 100 && count_virtiofsd(0, NULL); i++)
		usleep(20000);
	assert_int_equal(count_virtiofsd(0, NULL), 0);
	assert_int_equal(e2e_count_entries(rundir), 0);
}

static void test_e2e_share_ro_refuses_writes_even_after_remount(void **state)
{
	const char *ro = mkshare("ro", "p", "precious\n");
	char share[700], path[700];

	snprintf(share, sizeof(share), "ro:%s:/ro", ro);
	boot(ARGS("--share", share),
	     "cat /ro/p; echo x > /ro/p; echo w=$?; mount -o remount,rw /ro; echo rm=$?; "
	     "echo x > /ro/p; echo w2=$?; mkdir /ro/d 2>/dev/null; echo mk=$?; grep ' /ro ' /proc/mounts");
	assert_int_equal(res.status, 0);
	assert_non_null(strstr(res.out, "precious\n"));
	assert_non_null(strstr(res.out, "w=1\nrm=0\n"));
	assert_non_null(strstr(res.out, "w2=1\nmk=1\n"));
	assert_non_null(strstr(res.out, "share0 /ro virtiofs rw"));
	snprintf(path, sizeof(path), "%s/p", ro);
	assert_string_equal(e2e_slurp(path), "precious\n");
	assert_int_equal(e2e_count_entries(ro), 1);
	assert_nothing_left();
}

static void test_e2e_share_rw_write_reaches_host_with_owner(void **state)
{
	const char *rw = mkshare("rw", "in", "from host\n");
	char share[700], path[700], cmd[800];
	struct stat st;

	snprintf(cmd, sizeof(cmd), "chown -R " OWNER " %s", rw);
	assert_int_equal(system(cmd), 0);
	snprintf(share, sizeof(share), "rw:%s:/work", rw);
	boot(ARGS("--owner", OWNER, "--share", share),
	     "pwd; cat in; echo 'from guest' > out; mkdir sub && echo deep > sub/f; stat -c %u in");
	assert_int_equal(res.status, 0);
	/* the workload starts in the rw share; the owner is root in the guest */
	assert_string_equal(res.out, "/work\nfrom host\n0\n");
	snprintf(path, sizeof(path), "%s/out", rw);
	assert_string_equal(e2e_slurp(path), "from guest\n");
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_uid, 4321);
	assert_int_equal(st.st_gid, 4322);
	snprintf(path, sizeof(path), "%s/sub/f", rw);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_uid, 4321);
	assert_nothing_left();
}

static void test_e2e_share_usr_runs_host_programs_and_overlay_keeps_host(void **state)
{
	const char *rw = mkshare("ws", "data", "abc");
	char share[700], want[200];

	snprintf(share, sizeof(share), "rw:%s:/work", rw);
	boot(ARGS("--share", "ro:/usr", "--share", share),
	     "readlink /bin; /usr/bin/md5sum data; ls /usr/bin/md5sum >/dev/null && echo ok; "
	     "touch /usr/agentvmm-e2e-probe && echo created; grep -c ' /usr overlay ' /proc/mounts; "
	     "grep -c '^root:' /etc/passwd; test -f /etc/resolv.conf && echo resolv");
	assert_int_equal(res.status, 0);
	snprintf(want, sizeof(want), "usr/bin\n900150983cd24fb0d6963f7d28e17f72  data\nok\ncreated\n"
		 "1\n1\nresolv\n");
	assert_string_equal(res.out, want);
	assert_int_equal(access("/usr/agentvmm-e2e-probe", F_OK), -1);
	if (access("/usr/bin/gcc", X_OK) == 0) {
		boot(ARGS("--share", "ro:/usr"), "cc --version | head -1 | cut -c1-3");
		assert_int_equal(res.status, 0);
		assert_true(strstr(res.out, "cc ") == res.out || strstr(res.out, "gcc") == res.out);
	}
	assert_nothing_left();
}

static void test_e2e_share_nix_store_overlay_layout(void **state)
{
	const char *store = mkshare("store", "pkg", "v1\n");
	char share[700];

	snprintf(share, sizeof(share), "ro:%s:/nix/store", store);
	boot(ARGS("--share", share),
	     "cat /nix/store/pkg; echo v2 > /nix/store/pkg; echo new > /nix/store/new; "
	     "cat /nix/store/pkg /nix/.ro-store/pkg; ls -1 /nix/.rw-store; "
	     "grep -o 'lowerdir=[^ ]*' /proc/mounts");
	assert_int_equal(res.status, 0);
	assert_string_equal(res.out, "v1\nv2\nv1\nstore\nwork\n"
			    "lowerdir=/nix/.ro-store,upperdir=/nix/.rw-store/store,"
			    "workdir=/nix/.rw-store/work\n");
	assert_int_equal(e2e_count_entries(store), 1);
	char path[700];
	snprintf(path, sizeof(path), "%s/pkg", store);
	assert_string_equal(e2e_slurp(path), "v1\n");
}

static void test_e2e_share_fs_attaches_external_virtiofsd(void **state)
{
	const char *src = mkshare("ext", "hello", "external\n");
	char sock[700], fs[800];
	pid_t pid;
	int st;

	if (access("/usr/lib/qemu/virtiofsd", X_OK))
		skip();
	snprintf(sock, sizeof(sock), "%s/ext.sock", dir);
	pid = fork();
	if (pid == 0) {
		char source[700], path[750];

		snprintf(source, sizeof(source), "source=%s", src);
		snprintf(path, sizeof(path), "--socket-path=%s", sock);
		int null = open("/dev/null", O_WRONLY);
		dup2(null, 2);
		/* the C virtiofsd takes only the "--socket-path=" form */
		execl("/usr/lib/qemu/virtiofsd", "virtiofsd", path, "-o", source, "-o", "cache=auto",
		      (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 500 && access(sock, F_OK); i++)
		usleep(20000);
	/* virtiofsd binds, then listens: give it the moment in between (one connection only) */
	usleep(500000);
	snprintf(fs, sizeof(fs), "tag=ext-store,socket=%s,mount=/ext", sock);
	boot(ARGS("--fs", fs), "cat /ext/hello; grep -c '^ext-store /ext virtiofs' /proc/mounts");
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	if (res.status != 0)
		fail_msg("status %d, stderr: %s", res.status, res.err);
	assert_string_equal(res.out, "external\n1\n");
}

/* Start agentvmm with (share) running (script); return its pid once "READY" is printed. */
static pid_t start_until_ready(const char *share, const char *script, int *out_fd)
{
	char out[8192] = "";
	size_t len = 0;
	int p[2];
	time_t start = time(NULL);

	assert_int_equal(pipe(p), 0);
	pid_t pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);

		dup2(null, 0);
		dup2(p[1], 1);
		close(p[0]);
		execl(AV_AGENTVMM, AV_AGENTVMM, "--kernel", e2e_kernel("bzImage"), "--share", share,
		      "--", "sh", "-c", script, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	while (!strstr(out, "READY") && time(NULL) - start < E2E_BOOT_TIMEOUT_S) {
		struct pollfd pf = { .fd = p[0], .events = POLLIN };

		if (poll(&pf, 1, 1000) > 0) {
			ssize_t n = read(p[0], out + len, sizeof(out) - 1 - len);
			if (n <= 0)
				break;
			len += (size_t)n;
			out[len] = 0;
		}
	}
	assert_non_null(strstr(out, "READY"));
	*out_fd = p[0];
	return pid;
}

static void test_e2e_share_sigkill_leaves_nothing(void **state)
{
	const char *rw = mkshare("kill", NULL, NULL);
	char share[700];
	int fd, st;

	snprintf(share, sizeof(share), "rw:%s:/w", rw);
	pid_t pid = start_until_ready(share, "ls /w; echo READY; sleep 1000", &fd);
	assert_int_equal(count_virtiofsd(pid, NULL), 1);
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	close(fd);
	assert_true(WIFSIGNALED(st));
	assert_nothing_left();
}

static void test_e2e_share_virtiofsd_killed_gives_eio_not_hang(void **state)
{
	const char *rw = mkshare("dead", "f", "x");
	char share[700], out[8192] = "";
	size_t len = 0;
	pid_t vfs = 0;
	int fd, st;

	snprintf(share, sizeof(share), "rw:%s:/w", rw);
	pid_t pid = start_until_ready(share, "echo READY; sleep 5; cat /w/never-looked-up 2>&1; "
				      "echo rc=$?; ls /w 2>&1; echo done", &fd);
	assert_int_equal(count_virtiofsd(pid, &vfs), 1);
	kill(vfs, SIGKILL);
	time_t start = time(NULL);
	for (;;) {
		struct pollfd pf = { .fd = fd, .events = POLLIN };

		assert_true(time(NULL) - start < 60);
		if (poll(&pf, 1, 1000) > 0) {
			ssize_t n = read(fd, out + len, sizeof(out) - 1 - len);
			if (n <= 0)
				break;
			len += (size_t)n;
			out[len] = 0;
		}
	}
	close(fd);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	print_message("  guest said: %s", out);
	/* agentvmm ran on and ended normally, with the workload's status */
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	assert_non_null(strstr(out, "Input/output error"));
	assert_non_null(strstr(out, "rc=1"));
	assert_non_null(strstr(out, "done"));
	assert_nothing_left();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_e2e_share_ro_refuses_writes_even_after_remount),
		cmocka_unit_test(test_e2e_share_rw_write_reaches_host_with_owner),
		cmocka_unit_test(test_e2e_share_usr_runs_host_programs_and_overlay_keeps_host),
		cmocka_unit_test(test_e2e_share_nix_store_overlay_layout),
		cmocka_unit_test(test_e2e_share_fs_attaches_external_virtiofsd),
		cmocka_unit_test(test_e2e_share_sigkill_leaves_nothing),
		cmocka_unit_test(test_e2e_share_virtiofsd_killed_gives_eio_not_hang),
	};
	int ret;

	if ((ret = e2e_check_host()) || (ret = e2e_check_virtiofsd()))
		return ret;
	return cmocka_run_group_tests(tests, setup, teardown);
}
