// SPDX-License-Identifier: MIT
/*
 * test_e2e_faults.c: what agentvmm does when the host fails it, against the
 * real Debian cloud kernel (docs/faults.md): a disk image on a full file
 * system gives the guest EIO and keeps what was synced; an image truncated
 * under the guest reads zeros past its new end; a tap deleted under the guest
 * neither kills nor spins agentvmm; SIGTERM during boot and SIGKILL at any
 * point leave no virtiofsd, socket, temporary file, mount or tap; the guest
 * running out of memory kills only its workload; the host's OOM killer
 * killing agentvmm leaves nothing either.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "tests/e2e/e2e.h"
#include "tests/e2e/e2e_leak.h"
#include "tests/helpers/th.h"

#define TERM_BOUND_S 15 /* SIGTERM to exit, whichever way agentvmm shuts the guest down */
#define READY "RE\"\"ADY" /* the guest prints READY; the kernel command line shows RE%22%22ADY */

static char dir[] = "/tmp/av-e2e-faults-XXXXXX";
static char rundir[600], cache[600], ns[32];
static bool ns_made;
static unsigned base_mounts;
static const char *vm_stderr(void);
static void print_processes(const char *why);
static bool reap_within(pid_t pid, int *st, int ms);

/* The agentvmm a case started last: killed by the case's teardown if still there. */
static pid_t live_pid;
static int live_out = -1;

/* (dir)/full: where the disk-full case mounts its small tmpfs. */
static const char *full_dir(void)
{
	static char p[700];

	snprintf(p, sizeof(p), "%s/full", dir);
	return p;
}

static void ns_delete(void)
{
	if (ns_made && e2e_sh("ip netns del %s 2>/dev/null", ns) == 0)
		ns_made = false;
}

static int group_setup(void **state)
{
	/* agentvmm's sockets and its initramfs cache go where we can watch them */
	if (e2e_make_dirs(dir, rundir, sizeof(rundir)))
		return -1;
	snprintf(cache, sizeof(cache), "%s/cache", dir);
	setenv("AGENTVMM_CACHE_DIR", cache, 1);
	snprintf(ns, sizeof(ns), "avflt%d", (int)getpid());
	if (geteuid() == 0 && e2e_sh("ip netns add %s 2>/dev/null", ns) == 0) {
		ns_made = true;
		atexit(ns_delete);
		e2e_sh("ip netns exec %s ip link set lo up", ns);
	}
	base_mounts = leak_count_lines("/proc/self/mountinfo");
	return 0;
}

/*
 * After every case, passed or failed: stop the agentvmm it left running and
 * undo what it made (tmpfs, taps, cgroup), so a failed case cannot fail the
 * cases after it (their leak checks count mounts and links).
 */
static int case_teardown(void **state)
{
	char cg[128];

	if (live_pid > 0) {
		int st;

		kill(-live_pid, SIGKILL);
		kill(live_pid, SIGKILL);
		if (!reap_within(live_pid, &st, 30000))
			print_processes("teardown: agentvmm not gone 30 s after SIGKILL");
		live_pid = 0;
	}
	if (live_out >= 0)
		close(live_out);
	live_out = -1;
	while (umount2(full_dir(), MNT_DETACH) == 0)
		;
	if (ns_made)
		e2e_sh("ip netns exec %s sh -c 'ip link del tapf; ip link del avsig0' 2>/dev/null", ns);
	snprintf(cg, sizeof(cg), "/sys/fs/cgroup/avoom%d", (int)getpid());
	rmdir(cg);
	return 0;
}

static int group_teardown(void **state)
{
	ns_delete();
	e2e_sh("umount %s/full 2>/dev/null", dir);
	return e2e_rm_rf(dir);
}

/* ---- running agentvmm in the background ------------------------------------ */

struct vmproc {
	pid_t pid;
	int out;          /* its stdout (the guest console) */
	char buf[65536];  /* what it printed so far */
	size_t len;
};


/*
 * Start (argv) (inside our netns when (in_ns)), stdout to a pipe, stderr to
 * (dir)/stderr; move it into (cgroup) first when given.
 */
static void vm_spawn(struct vmproc *v, const char *const *argv, bool in_ns, const char *cgroup)
{
	int p[2];
	char err[700];

	memset(v, 0, sizeof(*v));
	snprintf(err, sizeof(err), "%s/stderr", dir);
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	v->pid = fork();
	if (v->pid == 0) {
		char *args[64];
		int n = 0, fd = open("/dev/null", O_RDONLY), efd = open(err, O_WRONLY | O_CREAT |
								      O_TRUNC, 0644);

		setpgid(0, 0);
		if (cgroup) {
			char procs[700];

			snprintf(procs, sizeof(procs), "%s/cgroup.procs", cgroup);
			int c = open(procs, O_WRONLY);
			if (c < 0 || write(c, "0", 1) != 1)
				_exit(126);
			close(c);
		}
		dup2(fd, 0);
		dup2(p[1], 1);
		dup2(efd, 2);
		if (in_ns) {
			args[n++] = strdup("/usr/sbin/ip");
			args[n++] = strdup("netns");
			args[n++] = strdup("exec");
			args[n++] = strdup(ns);
		}
		for (; *argv && n < 63; argv++)
			args[n++] = strdup(*argv);
		args[n] = NULL;
		execv(args[0], args);
		_exit(127);
	}
	close(p[1]);
	v->out = p[0];
	live_pid = v->pid;
	live_out = v->out;
	fcntl(v->out, F_SETFL, O_NONBLOCK);
}

/* Read what is there within (ms); false at end of output. */
static bool vm_read(struct vmproc *v, int ms)
{
	struct pollfd pf = { .fd = v->out, .events = POLLIN };

	if (v->out < 0)
		return false;
	if (poll(&pf, 1, ms) <= 0)
		return true;
	ssize_t n = read(v->out, v->buf + v->len, sizeof(v->buf) - 1 - v->len);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		close(v->out);
		v->out = -1;
		return false;
	}
	if (n > 0)
		v->len += (size_t)n;
	v->buf[v->len] = 0;
	return true;
}

/* Whether agentvmm's stderr (where the console goes in session mode) holds (what). */
static bool stderr_has(const char *what)
{
	return e2e_sh("grep -qF '%s' %s/stderr 2>/dev/null", what, dir) == 0;
}

/*
 * Wait until the output holds (what): stdout (the command's) or stderr (the
 * kernel's messages); false on timeout or end of output.
 */
static bool vm_wait_for(struct vmproc *v, const char *what, unsigned timeout_s)
{
	time_t start = time(NULL);

	while (!strstr(v->buf, what) && !stderr_has(what)) {
		if (time(NULL) - start >= timeout_s || !vm_read(v, 200))
			return strstr(v->buf, what) != NULL || stderr_has(what);
	}
	return true;
}

/* What every process is doing (state, kernel wait channel, stack): printed when a bound is hit. */
static void print_processes(const char *why)
{
	print_message("  %s; processes:\n", why);
	e2e_sh("ps -eo pid,ppid,stat,wchan:32,etime,args | grep -v ' ps -eo' >&2; "
	       "for p in $(pgrep -f 'agentvmm|virtiofsd|mkfs'); do echo \"== $p kernel stack:\"; "
	       "cat /proc/$p/stack 2>/dev/null | head -20; done >&2");
}

/* waitpid() for (pid) for up to (ms); true when reaped (status in *st). */
static bool reap_within(pid_t pid, int *st, int ms)
{
	for (int waited = 0; waited <= ms; waited += 50) {
		if (waitpid(pid, st, WNOHANG) == pid)
			return true;
		usleep(50000);
	}
	return false;
}

/*
 * Wait for the exit (SIGKILL past timeout_s): the status as th_run gives it,
 * -1 on timeout. Every wait here is bounded: a process that outlives SIGKILL
 * (uninterruptible in the kernel) or a pipe nobody closes fails the case with
 * a process listing instead of hanging the test program.
 */
static int vm_wait_exit(struct vmproc *v, unsigned timeout_s)
{
	time_t start = time(NULL);
	bool reaped = false;
	int st = 0;

	for (;;) {
		vm_read(v, 100);
		if (waitpid(v->pid, &st, WNOHANG) == v->pid) {
			reaped = true;
			break;
		}
		if (time(NULL) - start >= timeout_s)
			break;
	}
	if (!reaped) {
		kill(-v->pid, SIGKILL);
		kill(v->pid, SIGKILL);
		if (!reap_within(v->pid, &st, 30000))
			print_processes("agentvmm not gone 30 s after SIGKILL");
		else
			live_pid = 0;
		st = -1;
	} else {
		live_pid = 0;
	}
	/* the rest of the console, until EOF; a holder of the pipe cannot stall us */
	for (time_t t0 = time(NULL); vm_read(v, 100);) {
		if (time(NULL) - t0 >= 10) {
			print_processes("the console pipe still open 10 s after agentvmm ended");
			break;
		}
	}
	if (v->out >= 0)
		close(v->out);
	v->out = -1;
	live_out = -1;
	if (st == -1) {
		/* say why: the end of the console and agentvmm's stderr */
		size_t tail = v->len > 3000 ? v->len - 3000 : 0;

		print_message("  TIMEOUT after %u s; last %zu bytes of %zu on the console:\n%s\n"
			      "  agentvmm's stderr:\n%s\n", timeout_s, v->len - tail, v->len,
			      v->buf + tail, vm_stderr());
		return -1;
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static const char *vm_stderr(void)
{
	static char buf[16384];
	char p[700];
	FILE *f;
	size_t n = 0;

	snprintf(p, sizeof(p), "%s/stderr", dir);
	f = fopen(p, "r");
	if (f) {
		n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
	}
	buf[n] = 0;
	return buf;
}

/* Nothing agentvmm made is left: processes, sockets, temp files, mounts, taps. */
static void assert_nothing_left(const char *tap)
{
	assert_int_equal(leak_wait_procs_gone("agentvmm", 2000), 0);
	assert_int_equal(leak_wait_procs_gone("virtiofsd", 2000), 0);
	assert_int_equal(leak_wait_procs_gone("mkfs.ext4", 2000), 0);
	if (leak_count_entries(rundir, NULL)) {
		char cmd[700];

		snprintf(cmd, sizeof(cmd), "ls -laR %s >&2", rundir);
		e2e_sh("%s", cmd);
	}
	assert_int_equal(leak_count_entries(rundir, NULL), 0);
	assert_int_equal(leak_count_entries(cache, ".tmp"), 0);
	assert_int_equal(leak_count_lines("/proc/self/mountinfo"), base_mounts);
	if (tap && ns_made)
		assert_true(leak_wait_link_gone(ns, tap, 5000) >= 0);
}

/* A sparse image (dir)/(name) of (mib) MiB (in (sub) of dir when given); returns its path. */
static const char *image(const char *name, unsigned mib)
{
	static char path[4][700];
	static int i;

	i = (i + 1) % 4;
	snprintf(path[i], sizeof(path[i]), "%s/%s", dir, name);
	assert_int_equal(e2e_sh("rm -f %s && truncate -s %uM %s", path[i], mib, path[i]), 0);
	return path[i];
}

#define ARGV(...) ((const char *const[]){ AV_AGENTVMM, "--kernel", e2e_kernel("bzImage"), \
					  __VA_ARGS__, NULL })

/* First line printed by (cmd) on the host. */
static char *host_line(const char *fmt, ...)
{
	static char line[512];
	char cmd[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	FILE *p = popen(cmd, "r");
	line[0] = 0;
	assert_non_null(p);
	if (!fgets(line, sizeof(line), p))
		line[0] = 0;
	pclose(p);
	line[strcspn(line, "\n")] = 0;
	return line;
}

/* ---- disk faults ----------------------------------------------------------- */

static void test_e2e_faults_disk_full_gives_guest_eio_keeps_synced_data(void **state)
{
	char full[700], img[800], disk[900], want[40] = "";
	struct vmproc v;

	/* a 12 MiB file system holding a 64 MiB sparse image */
	snprintf(full, sizeof(full), "%s", full_dir());
	mkdir(full, 0755);
	if (mount("avfull", full, "tmpfs", 0, "size=12m") < 0)
		skip();
	snprintf(img, sizeof(img), "%s/disk.img", full);
	assert_int_equal(e2e_sh("truncate -s 64M %s", img), 0);
	snprintf(disk, sizeof(disk), "%s", img);
	/* the kernel's messages too: a case that times out shows how far the guest got */
	vm_spawn(&v, ARGV("--console-log", "--disk", disk, "--", "sh", "-c",
			  "dd if=/dev/urandom of=/dev/vda bs=1M count=4 oflag=direct conv=fsync "
			  "2>/dev/null; echo w1=$?; head -c 4194304 /dev/vda | md5sum; "
			  "dd if=/dev/zero of=/dev/vda bs=1M seek=4 count=40 oflag=direct; "
			  "echo w2=$?; echo 3 > /proc/sys/vm/drop_caches; "
			  "head -c 4194304 /dev/vda | md5sum; echo done"),
		 false, NULL);
	int st = vm_wait_exit(&v, E2E_BOOT_TIMEOUT_S);
	print_message("  guest said: %s\n  stderr: %s\n", v.buf, vm_stderr());
	assert_int_equal(st, 0);
	assert_non_null(strstr(v.buf, "w1=0\n"));
	/* the guest sees the failure as an I/O error (dd's stderr, agentvmm's), and runs on */
	assert_int_equal(e2e_sh("grep -q 'Input/output error' %s/stderr", dir), 0);
	assert_non_null(strstr(v.buf, "w2=1\n"));
	assert_non_null(strstr(v.buf, "done"));
	assert_int_equal(sscanf(strstr(v.buf, "w1=0\n") + 5, "%32s", want), 1);
	/* the synced 4 MiB are intact, in the guest after the failure and on the host */
	char *second = strstr(strstr(v.buf, "w2=1\n"), want);
	assert_non_null(second);
	assert_string_equal(host_line("head -c 4194304 %s | md5sum | cut -c1-32", img), want);
	/* agentvmm's own warning, in a stderr that also holds the kernel's log */
	assert_int_equal(e2e_sh("grep -q 'No space left on device' %s/stderr", dir), 0);
	umount(full);
	assert_nothing_left(NULL);
}

static void test_e2e_faults_disk_truncated_reads_zeros_past_new_end(void **state)
{
	const char *img = image("trunc.img", 32);
	char want_head[40], zeros8[40];
	struct vmproc v;

	assert_int_equal(e2e_sh("head -c 33554432 /dev/urandom > %s", img), 0);
	snprintf(want_head, sizeof(want_head), "%s", host_line("head -c 8388608 %s | md5sum", img));
	snprintf(zeros8, sizeof(zeros8), "%s", host_line("head -c 8388608 /dev/zero | md5sum"));
	want_head[32] = zeros8[32] = 0;
	vm_spawn(&v, ARGV("--disk", img, "--", "sh", "-c",
			  "echo " READY "; sleep 4; "
			  "cat /sys/block/vda/size; "
			  "dd if=/dev/vda bs=1M count=8 iflag=direct 2>/dev/null | md5sum; "
			  "dd if=/dev/vda bs=1M skip=16 count=8 iflag=direct 2>/dev/null | md5sum; "
			  "echo r=$?; "
			  "head -c 1048576 /dev/urandom > /tmp/w; "
			  "dd if=/tmp/w of=/dev/vda bs=1M seek=20 oflag=direct 2>/dev/null; "
			  "echo w=$?; md5sum < /tmp/w; echo done"),
		 false, NULL);
	assert_true(vm_wait_for(&v, "READY", E2E_BOOT_TIMEOUT_S));
	/* the guest was told 32 MiB at start; the host cuts the image to 8 MiB */
	assert_int_equal(truncate(img, 8 << 20), 0);
	int st = vm_wait_exit(&v, E2E_BOOT_TIMEOUT_S);
	print_message("  guest said: %s\n", v.buf);
	assert_int_equal(st, 0);
	assert_non_null(strstr(v.buf, "65536\n")); /* capacity unchanged, in sectors */
	assert_non_null(strstr(v.buf, want_head));  /* below the new end: the data */
	assert_non_null(strstr(v.buf, zeros8));     /* past it: zeros, no error */
	assert_non_null(strstr(v.buf, "r=0\nw=0\n")); /* a write past it grows the file */
	char *w = strstr(v.buf, "w=0\n");
	char sum[40];
	assert_int_equal(sscanf(w + 4, "%32s", sum), 1);
	struct stat st_img;
	assert_int_equal(stat(img, &st_img), 0);
	assert_int_equal(st_img.st_size, 21 << 20);
	assert_string_equal(host_line("tail -c 1048576 %s | md5sum | cut -c1-32", img), sum);
	assert_nothing_left(NULL);
}

/* ---- tap deleted ----------------------------------------------------------- */

/* utime + stime of (pid) in seconds, or -1. */
static double cpu_secs(pid_t pid)
{
	char p[64];
	unsigned long ut, st;
	FILE *f;

	snprintf(p, sizeof(p), "/proc/%d/stat", (int)pid);
	f = fopen(p, "r");
	if (!f)
		return -1;
	int n = fscanf(f, "%*d (%*[^)]) %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut,
		       &st);
	fclose(f);
	return n == 2 ? (double)(ut + st) / (double)sysconf(_SC_CLK_TCK) : -1;
}

static void test_e2e_faults_tap_deleted_vm_runs_on_and_exits(void **state)
{
	struct vmproc v;

	if (!ns_made)
		skip();
	assert_int_equal(e2e_sh("ip netns exec %s ip tuntap add tapf mode tap && "
				"ip netns exec %s ip addr add 10.0.4.1/24 dev tapf && "
				"ip netns exec %s ip link set tapf up", ns, ns, ns), 0);
	vm_spawn(&v, ARGV("--net", "tap=tapf,ip=10.0.4.15/24", "--", "sh", "-c",
			  "i=0; while [ $i -lt 40 ] && ! ping -c 1 -w 2 10.0.4.1 >/dev/null 2>&1; "
			  "do i=$((i+1)); sleep 0.5; done; echo ping1=$i; echo " READY "; "
			  "sleep 6; ping -c 3 -w 4 10.0.4.1 >/dev/null 2>&1; echo ping2=$?; "
			  "cat /sys/class/net/eth0/operstate; echo done"),
		 true, NULL);
	assert_true(vm_wait_for(&v, "READY", E2E_BOOT_TIMEOUT_S));
	assert_int_equal(e2e_sh("ip netns exec %s ip link del tapf", ns), 0);
	double c0 = cpu_secs(v.pid);
	for (int i = 0; i < 40; i++)
		vm_read(&v, 100);
	double c1 = cpu_secs(v.pid);
	int st = vm_wait_exit(&v, E2E_BOOT_TIMEOUT_S);
	print_message("  guest said: %s\n  cpu in 4 s after the delete: %.2f s\n  stderr: %s\n",
		      v.buf, c1 - c0, vm_stderr());
	assert_int_equal(st, 0);
	assert_null(strstr(v.buf, "ping1=40"));
	assert_non_null(strstr(v.buf, "ping2=1\n"));
	assert_non_null(strstr(v.buf, "done"));
	/* no busy loop on the dead tap: the guest sleeps, so should agentvmm */
	assert_true(c0 >= 0 && c1 >= 0 && c1 - c0 < 1.5);
	assert_true(strlen(vm_stderr()) < 2000); /* logged, with a rate limit */
	assert_nothing_left("tapf");
}

/* ---- signals --------------------------------------------------------------- */

static const char *disk_arg(void)
{
	static char d[800];

	snprintf(d, sizeof(d), "%s,mount=/data", image("sig.img", 16));
	return d;
}

static const char *share_arg(void)
{
	static char s[800], path[700];

	snprintf(path, sizeof(path), "%s/sigshare", dir);
	mkdir(path, 0755);
	snprintf(s, sizeof(s), "rw:%s:/w", path);
	return s;
}

/*
 * Start a VM with a blank disk (mkfs on the host), a rw share (virtiofsd) and a
 * tap agentvmm creates, with the kernel's messages on the console, a fresh
 * initramfs cache the first time. (when) picks the moment to send (sig):
 * a delay in ms (>= 0), or -1 the first kernel message, -2 guest-init's start
 * ("Run /init"), -3 the workload running.
 */
static void signal_at(int sig, int when)
{
	struct vmproc v;
	const char *const *argv = ARGV("--console-log", "--disk", disk_arg(), "--share", share_arg(),
				       "--net", "tap=avsig0", "--", "sh", "-c",
				       "echo " READY "; sleep 100");
	bool hit = true;

	vm_spawn(&v, argv, ns_made, NULL);
	if (when >= 0)
		usleep((useconds_t)when * 1000);
	else
		hit = vm_wait_for(&v, when == -1 ? "Linux version" : when == -2 ? "Run /init" :
				  "READY", E2E_BOOT_TIMEOUT_S);
	kill(v.pid, sig);
	int st = vm_wait_exit(&v, sig == SIGKILL ? 5 : TERM_BOUND_S);
	print_message("  signal %d at %d: reached %d, status %d after %zu bytes of console\n",
		      sig, when, hit, st, v.len);
	if (!hit || (sig == SIGKILL && st != 128 + SIGKILL) || st == -1)
		print_message("  stderr: %s\n", vm_stderr());
	assert_true(hit);
	if (sig == SIGKILL)
		assert_int_equal(st, 128 + SIGKILL);
	else
		assert_int_not_equal(st, -1); /* gone within the bound, however it shut down */
	assert_nothing_left("avsig0");
}

static void test_e2e_faults_sigterm_during_boot_leaves_nothing(void **state)
{
	e2e_sh("rm -rf %s/*", cache); /* the first one lands in the initramfs build */
	signal_at(SIGTERM, 0);
	signal_at(SIGTERM, 150);
	signal_at(SIGTERM, -1);
	signal_at(SIGTERM, -2);
	signal_at(SIGTERM, -3);
}

static void test_e2e_faults_sigkill_at_any_point_leaves_nothing(void **state)
{
	static const int when[] = { 0, 20, 60, 150, 400, -1, -2, -3 };

	e2e_sh("rm -rf %s/*", cache);
	for (size_t i = 0; i < sizeof(when) / sizeof(when[0]); i++)
		signal_at(SIGKILL, when[i]);
}

/* ---- memory ---------------------------------------------------------------- */

static void test_e2e_faults_guest_oom_kills_workload_not_vm(void **state)
{
	struct vmproc v;

	vm_spawn(&v, ARGV("--mem", "192", "--", "sh", "-c",
			  "cat /dev/zero | tail; echo rc=$?; echo done"), false, NULL);
	int st = vm_wait_exit(&v, E2E_BOOT_TIMEOUT_S);
	print_message("  guest said: %s\n", v.buf);
	assert_int_equal(st, 0);
	assert_non_null(strstr(v.buf, "rc=137\n")); /* the guest's OOM killer took tail */
	assert_non_null(strstr(v.buf, "done"));
	assert_nothing_left(NULL);
}

static void test_e2e_faults_host_oom_kill_leaves_nothing(void **state)
{
	char cg[128];
	struct vmproc v;

	snprintf(cg, sizeof(cg), "/sys/fs/cgroup/avoom%d", (int)getpid());
	if (access("/sys/fs/cgroup/cgroup.subtree_control", W_OK) ||
	    e2e_sh("grep -qw memory /sys/fs/cgroup/cgroup.subtree_control || "
		   "echo +memory > /sys/fs/cgroup/cgroup.subtree_control") || mkdir(cg, 0755))
		skip();
	/* the host can give this VM 200 MiB; the guest believes it has 1 GiB and uses it */
	assert_int_equal(e2e_sh("echo 200M > %s/memory.max; "
				"echo 0 > %s/memory.swap.max 2>/dev/null; true", cg, cg), 0);
	vm_spawn(&v, ARGV("--mem", "1024", "--share", share_arg(), "--", "sh", "-c",
			  "echo " READY "; cat /dev/zero | tail; echo rc=$?"), false, cg);
	int st = vm_wait_exit(&v, E2E_BOOT_TIMEOUT_S);
	print_message("  status %d; %s; stderr: %s\n", st,
		      host_line("grep oom_kill %s/memory.events", cg), vm_stderr());
	rmdir(cg);
	assert_int_equal(st, 128 + SIGKILL);
	assert_non_null(strstr(v.buf, "READY"));
	assert_nothing_left(NULL);
}

int main(void)
{
#define T(f) cmocka_unit_test_teardown(f, case_teardown)
	const struct CMUnitTest tests[] = {
		T(test_e2e_faults_disk_full_gives_guest_eio_keeps_synced_data),
		T(test_e2e_faults_disk_truncated_reads_zeros_past_new_end),
		T(test_e2e_faults_tap_deleted_vm_runs_on_and_exits),
		T(test_e2e_faults_sigterm_during_boot_leaves_nothing),
		T(test_e2e_faults_sigkill_at_any_point_leaves_nothing),
		T(test_e2e_faults_guest_oom_kills_workload_not_vm),
		T(test_e2e_faults_host_oom_kill_leaves_nothing),
	};
	int ret;

	if (geteuid() != 0) {
		fprintf(stderr, "skip: needs root (tmpfs mounts, netns, cgroups)\n");
		return 77;
	}
	if ((ret = e2e_check_host()) || (ret = e2e_check_virtiofsd()))
		return ret;
	/* AV_E2E_ONLY=pattern runs a subset (cmocka's test filter) */
	if (getenv("AV_E2E_ONLY"))
		cmocka_set_test_filter(getenv("AV_E2E_ONLY"));
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
