// SPDX-License-Identifier: MIT
/*
 * test_e2e_stage2.c: guest-init hands PID 1 to a system's own init, against
 * the real Debian cloud kernel, with fixtures built at test time in /tmp:
 *
 *   - a fake NixOS system in a fake store (<store>/…-nixos-system-test/init, a
 *     busybox script reached through a store symlink) shared at /nix/store:
 *     it checks the mounts NixOS stage 2 relies on and that it is PID 1,
 *     writes a marker into the rw workspace and powers off;
 *   - the same system booted with microvm.nix's cloud-hypervisor command line
 *     verbatim (PVH vmlinux, init= from --cmdline);
 *   - a Debian-style init: a /bin/sh script on the root around a shared /usr;
 *   - busybox init as PID 1 (inittab written by the system's init): its
 *     poweroff runs the shutdown actions and ends agentvmm, store mounted,
 *     within a bound;
 *   - systemd from the host's /usr as PID 1: guest-init's mounts are not
 *     stopped by it, and systemctl poweroff ends agentvmm within a bound; it
 *     imports the systemd credentials given as SMBIOS OEM strings;
 *   - an init missing or not executable in the guest: a console line and a
 *     failure status, never a hang; init= ignored with -- CMD.
 */
#include <fcntl.h>
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

#define BUSYBOX "/bin/busybox"
#define BB_DIR "/nix/store/0000-busybox/bin"		/* guest path of the store's busybox */
#define SYS_NAME "1111-nixos-system-test"
#define SYS_LINK "2222-system-link"			/* -> /nix/store/SYS_NAME */
#define SYSTEMD_SHUTDOWN_BOUND_S 60.0	/* stop jobs, then systemd-shutdown's loop */
#define SHUTDOWN_BOUND_S 15.0	/* busybox init: SIGTERM, 1 s, SIGKILL, 1 s, power off */

static struct th_result res;
static char dir[] = "/tmp/av-e2e-stage2-XXXXXX";
static char store[600], ws[600], rundir[600];
static char store_share[700], ws_share[700];

static void write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, mode), 0);
}

/*
 * The fake system's init: the facts a NixOS stage 2 relies on, one a line,
 * written to /work/facts (the marker the host reads) and to the console;
 * then either busybox poweroff -f, or, when /work/bbinit exists, busybox
 * init with that inittab.
 */
static const char sys_init[] =
	"#!" BB_DIR "/sh\n"
	"export PATH=" BB_DIR "\n"
	"facts() {\n"
	"echo \"stage2: pid=$$\"\n"
	"echo \"stage2: root=$(awk '$2==\"/\"{print $3}' /proc/mounts)\"\n"
	"for m in /proc /sys /dev /dev/pts /dev/shm /run /run/wrappers /nix/.ro-store /nix/.rw-store "
	"/nix/store /work; do\n"
	"  awk -v m=$m '$2==m{split($4,o,\",\"); print \"stage2: mount\", $2, $3, o[1]; n=1}"
	" END{if(!n) print \"stage2: missing\", m}' /proc/mounts\n"
	"done\n"
	"touch /nix/store/written-in-guest && echo 'stage2: store writable'\n"
	"touch /nix/.ro-store/x 2>/dev/null || echo 'stage2: ro-store read-only'\n"
	"grep -q 'TARGET=/nix/store ROOT=/ OPTS=x-initrd.mount' /run/mount/utab && "
	"echo 'stage2: store marked x-initrd.mount'\n"
	"test -e /init || echo 'stage2: fresh root'\n"
	"}\n"
	"facts > /work/facts\n"
	"cat /work/facts\n"
	/* what NixOS's activation script does for /bin/sh (busybox init runs actions with it) */
	"mkdir -p /bin /etc && ln -sfn " BB_DIR "/sh /bin/sh\n"
	"if [ -e /work/bbinit ]; then\n"
	"  cp /work/bbinit /etc/inittab && exec " BB_DIR "/busybox init\n"
	"fi\n"
	/* poweroff -f does not wait for the console: let the lines above drain first */
	"sleep 1\n"
	"[ -e /work/reboot ] && reboot -f\n"
	"poweroff -f\n"
	"echo 'stage2: poweroff returned'\n";

static int setup(void **state)
{
	if (e2e_make_dirs(dir, rundir, sizeof(rundir)))
		return -1;
	snprintf(store, sizeof(store), "%s/store", dir);
	snprintf(ws, sizeof(ws), "%s/ws", dir);
	snprintf(store_share, sizeof(store_share), "ro:%s:/nix/store", store);
	snprintf(ws_share, sizeof(ws_share), "rw:%s:/work", ws);
	/* the store: a static busybox with its applet links, and the system */
	assert_int_equal(e2e_sh("mkdir -p %s/0000-busybox/bin %s/" SYS_NAME " %s && cp " BUSYBOX
				" %s/0000-busybox/bin/busybox && cd %s/0000-busybox/bin && "
				"for a in $(./busybox --list); do [ $a = busybox ] || "
				"ln -s busybox $a; done", store, store, ws, store, store), 0);
	char p[700];
	snprintf(p, sizeof(p), "%s/" SYS_NAME "/init", store);
	write_file(p, sys_init, 0755);
	snprintf(p, sizeof(p), "%s/" SYS_LINK, store);
	if (symlink("/nix/store/" SYS_NAME, p) < 0)
		return -1;
	snprintf(p, sizeof(p), "%s/" SYS_NAME "/not-executable", store);
	write_file(p, "#!/bin/sh\n", 0644);
	return 0;
}

static int teardown(void **state)
{
	return e2e_rm_rf(dir);
}

static void clean_ws(void)
{
	assert_int_equal(e2e_sh("rm -rf %s/* && chmod 0777 %s", ws, ws), 0);
}

#define ARGS E2E_ARGS

/* agentvmm --kernel K (extra...) [-- cmd...]; stdout/stderr in res. */
static void boot(const char *kernel, const char *const *extra)
{
	const char *argv[40];
	int n = 0;

	argv[n++] = AV_AGENTVMM;
	argv[n++] = "--kernel";
	argv[n++] = e2e_kernel(kernel);
	for (; extra && *extra; extra++)
		argv[n++] = *extra;
	argv[n] = NULL;
	th_run(argv, E2E_BOOT_TIMEOUT_S, &res);
	/* the console tty adds CR before LF in interactive mode: compare lines without */
	char *w = res.out;
	for (const char *r = res.out; *r; r++)
		if (*r != '\r')
			*w++ = *r;
	*w = 0;
	if (res.status == -1)
		fail_msg("boot timed out; stdout: %s\nstderr: %s", res.out, res.err);
	print_message("  status %d after %.2f s\n", res.status, res.secs);
}

/* The text of file (name) in the shared workspace. */
static char *slurp(const char *name)
{
	char path[700];

	snprintf(path, sizeof(path), "%s/%s", ws, name);
	return e2e_slurp(path);
}

static unsigned count(const char *hay, const char *needle)
{
	unsigned n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

static void expect_line(const char *line)
{
	char want[256];

	snprintf(want, sizeof(want), "%s\n", line);
	if (!strstr(res.out, want))
		fail_msg("console lacks '%s'; it was:\n%s\nstderr:\n%s", line, res.out, res.err);
}

/* Guest clock of the kernel's "] reboot: Power down" console line; -1 if there is none. */
static double power_down_time(void)
{
	const char *pd = strstr(res.out, "] reboot: Power down");

	while (pd && pd > res.out && pd[-1] != '[')
		pd--;
	return pd ? strtod(pd, NULL) : -1;
}

/* What every hand-off to the fake NixOS system must show (its facts file). */
static void expect_nixos_stage2(void)
{
	static const char want[] =
		"stage2: pid=1\n"
		"stage2: root=tmpfs\n"
		"stage2: mount /proc proc rw\n"
		"stage2: mount /sys sysfs rw\n"
		"stage2: mount /dev devtmpfs rw\n"
		"stage2: mount /dev/pts devpts rw\n"
		"stage2: mount /dev/shm tmpfs rw\n"
		"stage2: mount /run tmpfs rw\n"
		"stage2: mount /run/wrappers tmpfs rw\n"
		"stage2: mount /nix/.ro-store virtiofs ro\n"
		"stage2: mount /nix/.rw-store tmpfs rw\n"
		"stage2: mount /nix/store overlay rw\n"
		"stage2: mount /work virtiofs rw\n"
		"stage2: store writable\n"
		"stage2: ro-store read-only\n"
		"stage2: store marked x-initrd.mount\n"
		"stage2: fresh root\n";
	char p[700];

	assert_string_equal(slurp("facts"), want);
	assert_null(strstr(res.out, "poweroff returned"));
	/* the store on the host is untouched */
	snprintf(p, sizeof(p), "%s/written-in-guest", store);
	assert_int_equal(access(p, F_OK), -1);
}

static void test_e2e_stage2_fake_nixos_system_via_init_flag(void **state)
{
	clean_ws();
	/* through a store symlink that only resolves inside the guest */
	boot("bzImage", ARGS("--share", store_share, "--share", ws_share, "--init",
			     "/nix/store/" SYS_LINK "/init"));
	assert_int_equal(res.status, 0);
	expect_nixos_stage2();
}

static void test_e2e_stage2_microvm_nix_cmdline_verbatim(void **state)
{
	static const char cl[] = "earlyprintk=ttyS0 console=ttyS0 reboot=t panic=-1 "
				 "init=/nix/store/" SYS_NAME "/init 8250.nr_uarts=1";

	if (!e2e_kernel("vmlinux"))
		skip();
	clean_ws();
	boot("vmlinux", ARGS("--share", store_share, "--share", ws_share, "--cmdline", cl));
	assert_int_equal(res.status, 0);
	expect_nixos_stage2();
	/* the console shows the init ran; console=ttyS0 twice and earlyprintk=ttyS0 */
	/* print nothing twice (the kernel's "reboot: Power down" included) */
	print_message("  console:\n%s", res.out);
	assert_int_equal(count(res.out, "stage2: pid=1\n"), 1);
	assert_int_equal(count(res.out, "stage2: mount /nix/store overlay rw\n"), 1);
	assert_int_equal(count(res.out, "reboot: Power down"), 1);
}

static void test_e2e_stage2_busybox_init_powers_off_with_store_mounted(void **state)
{
	char p[700];

	clean_ws();
	/* written by the system's init to /etc/inittab before it execs busybox init */
	snprintf(p, sizeof(p), "%s/bbinit", ws);
	write_file(p,
		   "::sysinit:" BB_DIR "/sh -c 'echo sysinit-$$ >> /work/bb'\n"
		   "::once:" BB_DIR "/sh -c 'grep -c virtiofs /proc/mounts > /work/mounted; "
		   "echo once >> /work/bb; cut -d\" \" -f1 /proc/uptime > /work/t0; poweroff'\n"
		   "::shutdown:" BB_DIR "/sh -c 'grep -q \" /nix/store overlay \" /proc/mounts && "
		   "echo shutdown-store-mounted >> /work/bb'\n", 0644);
	boot("bzImage", ARGS("--share", store_share, "--share", ws_share, "--init",
			     "/nix/store/" SYS_NAME "/init"));
	assert_int_equal(res.status, 0);
	assert_non_null(strstr(slurp("facts"), "stage2: pid=1\n"));
	const char *bb = slurp("bb");
	if (!strstr(bb, "once\nshutdown-store-mounted\n") || strncmp(bb, "sysinit-", 8))
		fail_msg("busybox init ran: '%s'; console:\n%s", bb, res.out);
	assert_string_equal(slurp("mounted"), "2\n");
	/* guest clock: poweroff asked (t0) to the kernel's last line before ACPI S5 */
	double t0 = strtod(slurp("t0"), NULL), t1 = power_down_time();
	print_message("  busybox init: poweroff to power down %.2f s (guest clock), whole run "
		      "%.2f s\n", t1 - t0, res.secs);
	assert_true(t0 > 0 && t1 >= t0);
	assert_true(t1 - t0 < SHUTDOWN_BOUND_S);
}

static void test_e2e_stage2_debian_init_on_shared_usr(void **state)
{
	char p[700];

	if (access(BUSYBOX, X_OK) != 0)
		skip();
	clean_ws();
	snprintf(p, sizeof(p), "%s/init", ws);
	write_file(p,
		   "#!/bin/sh\n"
		   "echo \"debian-init: pid=$$ sh=$(readlink -f /bin/sh)\"\n"
		   "test -x /usr/bin/md5sum && echo 'debian-init: host /usr'\n"
		   "grep -q '^root:' /etc/passwd && echo 'debian-init: etc'\n"
		   "echo \"pid=$$\" > /work/marker\n"
		   "sleep 1\n"
		   "exec /usr/bin/busybox poweroff -f\n", 0755);
	boot("bzImage", ARGS("--share", "ro:/usr", "--share", ws_share, "--init", "/work/init"));
	assert_int_equal(res.status, 0);
	assert_string_equal(slurp("marker"), "pid=1\n");
	expect_line("debian-init: host /usr");
	expect_line("debian-init: etc");
	assert_non_null(strstr(res.out, "debian-init: pid=1 sh=/usr/bin/"));
}

/*
 * systemd 252 from the host's /usr as the handed-off PID 1 (root around the
 * shared /usr, a unit directory shared at /etc/systemd/system): the mounts
 * guest-init made are extrinsic to it (no Conflicts=umount.target, from the
 * x-initrd.mount marks in utab) while one the guest makes itself is not, and
 * "systemctl poweroff" ends agentvmm within a bound with every share mounted.
 */
static void test_e2e_stage2_systemd_poweroff_with_shares_mounted(void **state)
{
	char units[700], units_share[800], p[800];

	if (access("/usr/lib/systemd/systemd", X_OK) != 0)
		skip();
	clean_ws();
	snprintf(units, sizeof(units), "%s/units", dir);
	assert_int_equal(e2e_sh("mkdir -p %s", units), 0);
	snprintf(units_share, sizeof(units_share), "rw:%s:/etc/systemd/system", units);
	snprintf(p, sizeof(p), "%s/avtest.target", units);
	write_file(p, "[Unit]\nRequires=avtest.service\nAfter=avtest.service\nAllowIsolate=yes\n",
		   0644);
	snprintf(p, sizeof(p), "%s/avtest.service", units);
	write_file(p,
		   "[Unit]\nDefaultDependencies=no\n[Service]\nType=oneshot\n"
		   "ExecStart=/bin/sh -c 'mkdir -p /mnt/x && mount -t tmpfs none /mnt/x; sleep 1; "
		   "cat /proc/1/comm > /work/sd; for u in nix-store.mount work.mount mnt-x.mount; "
		   "do echo \"$u: $(systemctl show -p Conflicts --value $u)\" >> /work/sd; done; "
		   "cut -d\" \" -f1 /proc/uptime > /work/t0; systemctl --no-block poweroff'\n",
		   0644);
	boot("bzImage", ARGS("--share", "ro:/usr", "--share", store_share, "--share", units_share,
			     "--share", ws_share, "--init", "/usr/lib/systemd/systemd", "--cmdline",
			     "systemd.unit=avtest.target"));
	assert_int_equal(res.status, 0);
	if (strcmp(slurp("sd"), "systemd\nnix-store.mount: \nwork.mount: \n"
				"mnt-x.mount: umount.target\n"))
		fail_msg("systemd saw: '%s'; console:\n%s", slurp("sd"), res.out);
	double t0 = strtod(slurp("t0"), NULL), t1 = power_down_time();
	print_message("  systemd: poweroff to power down %.2f s (guest clock), whole run %.2f s\n",
		      t1 - t0, res.secs);
	assert_true(t0 > 0 && t1 >= t0);
	assert_true(t1 - t0 < SYSTEMD_SHUTDOWN_BOUND_S);
}

/*
 * systemd 252's PID 1 imports credentials from SMBIOS type 11 (its NEWS for
 * 252; import_credentials_smbios() reads /sys/firmware/dmi/entries/11-N/raw):
 * --set-credential and --load-credential (binary, base64 in the OEM string)
 * arrive in /run/credentials/@system byte for byte; a plain --oem-string is
 * ignored by it. systemd-detect-virt still says kvm.
 */
static void test_e2e_stage2_systemd_imports_smbios_credentials(void **state)
{
	char units[700], units_share[800], p[800], load[820];
	uint8_t blob[300];
	size_t len;

	if (access("/usr/lib/systemd/systemd", X_OK) != 0)
		skip();
	clean_ws();
	for (size_t i = 0; i < sizeof(blob); i++)
		blob[i] = (uint8_t)(i * 7 + 3);
	snprintf(p, sizeof(p), "%s/blob", dir);
	FILE *f = fopen(p, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(blob, 1, sizeof(blob), f), sizeof(blob));
	assert_int_equal(fclose(f), 0);
	snprintf(load, sizeof(load), "blob:%s", p);
	snprintf(units, sizeof(units), "%s/units-cred", dir);
	assert_int_equal(e2e_sh("mkdir -p %s", units), 0);
	snprintf(units_share, sizeof(units_share), "rw:%s:/etc/systemd/system", units);
	snprintf(p, sizeof(p), "%s/avcred.target", units);
	write_file(p, "[Unit]\nRequires=avcred.service\nAfter=avcred.service\nAllowIsolate=yes\n",
		   0644);
	snprintf(p, sizeof(p), "%s/avcred.service", units);
	write_file(p,
		   "[Unit]\nDefaultDependencies=no\n[Service]\nType=oneshot\n"
		   "ExecStart=/bin/sh -c 'ls /run/credentials/@system > /work/list; "
		   "cp /run/credentials/@system/greeting /run/credentials/@system/blob /work/; "
		   "systemd-detect-virt > /work/virt; systemctl --no-block poweroff'\n",
		   0644);
	boot("bzImage", ARGS("--share", "ro:/usr", "--share", units_share, "--share", ws_share,
			     "--init", "/usr/lib/systemd/systemd", "--cmdline",
			     "systemd.unit=avcred.target", "--oem-string", "not.a.credential=1",
			     "--set-credential", "greeting:hello world=1", "--load-credential",
			     load));
	assert_int_equal(res.status, 0);
	if (strcmp(slurp("list"), "blob\ngreeting\n"))
		fail_msg("/run/credentials/@system held '%s'; console:\n%s", slurp("list"), res.out);
	assert_string_equal(slurp("greeting"), "hello world=1");
	snprintf(p, sizeof(p), "%s/blob", ws);
	uint8_t *got = th_read_file(p, &len);
	assert_int_equal(len, sizeof(blob));
	assert_memory_equal(got, blob, sizeof(blob));
	free(got);
	assert_string_equal(slurp("virt"), "kvm\n");
}

/*
 * microvm.nix passes reboot=t: a guest reboot is then a deliberate triple
 * fault, which agentvmm cannot tell from a crash (125). A reboot= after it
 * (the user's params follow microvm.nix's) restores an ACPI reset: 0.
 */
static void test_e2e_stage2_reboot_t_is_triple_fault_reboot_a_overrides(void **state)
{
	static const char cl[] = "earlyprintk=ttyS0 console=ttyS0 reboot=t panic=-1 "
				 "init=/nix/store/" SYS_NAME "/init 8250.nr_uarts=1";
	static const char cl_a[] = "earlyprintk=ttyS0 console=ttyS0 reboot=t panic=-1 reboot=a "
				   "init=/nix/store/" SYS_NAME "/init 8250.nr_uarts=1";
	char p[700];

	clean_ws();
	snprintf(p, sizeof(p), "%s/reboot", ws);
	write_file(p, "", 0644);
	boot("bzImage", ARGS("--share", store_share, "--share", ws_share, "--cmdline", cl));
	assert_int_equal(res.status, 125);
	assert_non_null(strstr(res.err, "guest triple fault"));
	assert_non_null(strstr(slurp("facts"), "stage2: pid=1\n"));
	boot("bzImage", ARGS("--share", store_share, "--share", ws_share, "--cmdline", cl_a));
	assert_int_equal(res.status, 0);
	assert_non_null(strstr(slurp("facts"), "stage2: pid=1\n"));
}

static void test_e2e_stage2_missing_init_fails_127(void **state)
{
	clean_ws();
	boot("bzImage", ARGS("--share", store_share, "--init", "/nix/store/9999-gone/init"));
	assert_int_equal(res.status, 127);
	expect_line("agentvmm-init: init /nix/store/9999-gone/init: No such file or directory");
}

static void test_e2e_stage2_not_executable_init_fails_126(void **state)
{
	boot("bzImage", ARGS("--share", store_share, "--init",
			     "/nix/store/" SYS_LINK "/not-executable"));
	assert_int_equal(res.status, 126);
	expect_line("agentvmm-init: init /nix/store/" SYS_LINK "/not-executable -> /nix/store/"
		    SYS_NAME "/not-executable: not an executable file");
}

static void test_e2e_stage2_init_ignored_with_command(void **state)
{
	boot("bzImage", ARGS("--cmdline", "init=/nix/store/9999-gone/init", "--", "sh", "-c",
			     "echo pid1=$(cat /proc/1/comm)"));
	/* guest-init stays PID 1 and the command runs: no hand-off, no failure */
	assert_int_equal(res.status, 0);
	assert_string_equal(res.out, "pid1=init\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_e2e_stage2_fake_nixos_system_via_init_flag),
		cmocka_unit_test(test_e2e_stage2_microvm_nix_cmdline_verbatim),
		cmocka_unit_test(test_e2e_stage2_busybox_init_powers_off_with_store_mounted),
		cmocka_unit_test(test_e2e_stage2_debian_init_on_shared_usr),
		cmocka_unit_test(test_e2e_stage2_systemd_poweroff_with_shares_mounted),
		cmocka_unit_test(test_e2e_stage2_systemd_imports_smbios_credentials),
		cmocka_unit_test(test_e2e_stage2_reboot_t_is_triple_fault_reboot_a_overrides),
		cmocka_unit_test(test_e2e_stage2_missing_init_fails_127),
		cmocka_unit_test(test_e2e_stage2_not_executable_init_fails_126),
		cmocka_unit_test(test_e2e_stage2_init_ignored_with_command),
	};
	int ret;

	if (getenv("AV_TEST_FILTER")) /* one case while debugging, e.g. "*smbios*" */
		cmocka_set_test_filter(getenv("AV_TEST_FILTER"));
	if ((ret = e2e_check_host()))
		return ret;
	if (access("/usr/lib/qemu/virtiofsd", X_OK) != 0 || access(BUSYBOX, X_OK) != 0) {
		fprintf(stderr, "skip: needs /usr/lib/qemu/virtiofsd and a static " BUSYBOX "\n");
		return 77;
	}
	return cmocka_run_group_tests(tests, setup, teardown);
}
