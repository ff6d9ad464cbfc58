// SPDX-License-Identifier: MIT
/*
 * test_e2e_boot.c: boot the real Debian cloud kernel (bzImage and PVH vmlinux)
 * with our initramfs and check output, exit status, CPUs, memory, power events
 * and the interactive console. Needs a /dev/kvm that runs a stock kernel: on
 * software KVM, tests/e2e/run.sh runs this binary inside the nested test host.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <stdbool.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "tests/e2e/e2e.h"
#include "tests/helpers/th_base64.h"

static struct th_result res;

/* Boot (kernel) with agentvmm args (extra...) then "--" and the command. */
static void boot(const char *kernel, const char *const *extra, const char *const *cmd)
{
	const char *argv[64];
	int n = 0;

	argv[n++] = AV_AGENTVMM;
	argv[n++] = "--kernel";
	argv[n++] = e2e_kernel(kernel);
	for (; extra && *extra; extra++)
		argv[n++] = *extra;
	if (cmd) {
		argv[n++] = "--";
		for (; *cmd; cmd++)
			argv[n++] = *cmd;
	}
	argv[n] = NULL;
	th_run(argv, E2E_BOOT_TIMEOUT_S, &res);
	if (res.status == -1)
		fail_msg("boot timed out after %d s; stderr: %s", E2E_BOOT_TIMEOUT_S, res.err);
	print_message("  boot took %.2f s\n", res.secs);
}

#define CMD(...) ((const char *const[]){ __VA_ARGS__, NULL })

static void test_e2e_bzimage_echo_prints_only_hello(void **state)
{
	boot("bzImage", NULL, CMD("echo", "hello"));
	assert_string_equal(res.out, "hello\n");
	assert_int_equal(res.status, 0);
}

static void test_e2e_pvh_vmlinux_echo_prints_hello(void **state)
{
	boot("vmlinux", NULL, CMD("echo", "hello"));
	assert_string_equal(res.out, "hello\n");
	assert_int_equal(res.status, 0);
}

static void test_e2e_exit_status_7_propagates(void **state)
{
	boot("bzImage", NULL, CMD("sh", "-c", "exit 7"));
	assert_int_equal(res.status, 7);
}

static void test_e2e_argv_reaches_guest_byte_for_byte(void **state)
{
	/* spaces, quotes, separators, percent, an empty arg, UTF-8 and a raw 0xff byte */
	boot("bzImage", NULL,
	     CMD("printf", "[%s]\\n", "a b", "\"dq\"", "it's", "x,y", "100%", "", "ünï", "\xff",
		 "--cmdline", "a=b c"));
	assert_string_equal(res.out, "[a b]\n[\"dq\"]\n[it's]\n[x,y]\n[100%]\n[]\n[ünï]\n[\xff]\n"
				     "[--cmdline]\n[a=b c]\n");
	assert_int_equal(res.status, 0);
}

static void test_e2e_two_cpus_and_1024_mib_are_seen(void **state)
{
	boot("bzImage", CMD("--cpus", "2", "--mem", "1024"),
	     CMD("sh", "-c", "grep -c ^processor /proc/cpuinfo; "
			     "cat /sys/devices/system/cpu/online; "
			     "awk '/MemTotal/ {print $2}' /proc/meminfo"));
	assert_int_equal(res.status, 0);
	unsigned cpus = 0;
	char online[32] = "";
	unsigned long kb = 0;
	assert_int_equal(sscanf(res.out, "%u %31s %lu", &cpus, online, &kb), 3);
	assert_int_equal(cpus, 2);
	assert_string_equal(online, "0-1");
	/* MemTotal is RAM minus the kernel's own reservations */
	assert_true(kb > 900 * 1024 && kb <= 1024 * 1024);
}

static void test_e2e_guest_poweroff_exits_0(void **state)
{
	boot("bzImage", NULL, CMD("poweroff", "-f"));
	assert_int_equal(res.status, 0);
}

static void test_e2e_guest_reboot_exits_0(void **state)
{
	boot("bzImage", NULL, CMD("reboot", "-f"));
	assert_int_equal(res.status, 0);
}

static void test_e2e_guest_panic_exits_125(void **state)
{
	boot("bzImage", NULL, CMD("sh", "-c", "echo c > /proc/sysrq-trigger"));
	assert_int_equal(res.status, 125);
	assert_non_null(strstr(res.err, "guest kernel panic"));
}

static void test_e2e_orphans_reaped_and_signal_status(void **state)
{
	/* a background orphan must not keep the VM alive; killed workload -> 128+sig */
	boot("bzImage", NULL, CMD("sh", "-c", "sleep 1000 & kill -TERM $$"));
	assert_int_equal(res.status, 128 + SIGTERM);
	assert_true(res.secs < E2E_BOOT_TIMEOUT_S);
}

static void test_e2e_command_not_found_exits_127(void **state)
{
	boot("bzImage", NULL, CMD("/no/such/program"));
	assert_int_equal(res.status, 127);
	/* the session's ERROR: one line on stderr, nothing on stdout */
	assert_non_null(strstr(res.err, "agentvmm: /no/such/program: No such file or directory"));
	assert_string_equal(res.out, "");
}

/* Interactive console over a pty: type commands, read echoes, quit with exit. */
static void test_e2e_interactive_console_runs_shell(void **state)
{
	char kernel[4096];

	snprintf(kernel, sizeof(kernel), "%s", e2e_kernel("bzImage"));
	char buf[65536];
	size_t len = 0;
	int master, st;
	bool sent = false;
	time_t start = time(NULL);
	pid_t pid = forkpty(&master, NULL, NULL, NULL);

	if (pid == 0) {
		execl(AV_AGENTVMM, AV_AGENTVMM, "--kernel", kernel, (char *)NULL);
		_exit(127);
	}
	assert_true(pid > 0);
	while (time(NULL) - start < E2E_BOOT_TIMEOUT_S) {
		struct pollfd p = { .fd = master, .events = POLLIN };

		if (poll(&p, 1, 1000) > 0) {
			ssize_t n = read(master, buf + len, sizeof(buf) - 1 - len);
			if (n <= 0)
				break;
			len += (size_t)n;
			buf[len] = 0;
		}
		if (!sent && strstr(buf, "# ")) {
			const char *in = "echo $((6*7))-interactive; exit 5\r";
			assert_true(write(master, in, strlen(in)) > 0);
			sent = true;
		}
	}
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	close(master);
	assert_true(sent);
	assert_non_null(strstr(buf, "42-interactive"));
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 5);
}

/* ---- SMBIOS: OEM strings and systemd credentials, as the guest kernel exposes them ---- */

#define SM_OEM "plain OEM string: spaces, = , ; \"quotes\" and \xc3\xbcn\xc3\xaf"
#define SM_SET "greeting:hello world=1"
#define SM_SET_STR "io.systemd.credential:greeting=hello world=1"
#define SM_EP_LEN 24

static uint8_t sm_blob[300]; /* every byte value, then some */

static uint32_t sm_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/*
 * The (len) bytes of /sys/firmware/dmi/tables/DMI at (t): walk every
 * structure (SMBIOS 3.0 §6.1); the strings of the first type (type) go to
 * (str), at most (max); returns their number, -1 if there is no such type.
 */
static int sm_strings(const uint8_t *t, size_t len, uint8_t type, const char **str, int max,
		      const uint8_t **area)
{
	size_t off = 0;
	int found = -1;

	while (off + 4 <= len) {
		uint8_t ty = t[off], sl = t[off + 1];
		int n = 0;

		assert_true(sl >= 4 && off + sl + 2 <= len);
		if (ty == type && found < 0 && area)
			*area = t + off;
		off += sl;
		if (!t[off] && !t[off + 1]) {
			off += 2;
		} else {
			while (off < len && t[off]) {
				if (ty == type && found < 0 && n < max)
					str[n] = (const char *)t + off;
				n++;
				off += strlen((const char *)t + off) + 1;
			}
			off++;
		}
		assert_true(off <= len);
		if (ty == type && found < 0)
			found = n;
		if (ty == 127)
			break;
	}
	assert_int_equal(off, len); /* the table ends with type 127, exactly */
	return found;
}

/*
 * Boot (kernel) with an OEM string and two credentials; the guest dumps the
 * entry point and table the kernel found, then three text lines. Everything
 * is compared byte for byte on the host.
 */
static void smbios_case(const char *kernel)
{
	char path[] = "/tmp/av-e2e-cred-XXXXXX", load[64], uuid[40];
	const char *str[8], *t1[8];
	const uint8_t *ep, *tab, *area = NULL;
	uint8_t dec[sizeof(sm_blob) + 8];
	uint32_t len;
	int fd;

	for (size_t i = 0; i < sizeof(sm_blob); i++)
		sm_blob[i] = (uint8_t)(i * 7 + 3);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, sm_blob, sizeof(sm_blob)), (ssize_t)sizeof(sm_blob));
	close(fd);
	snprintf(load, sizeof(load), "blob:%s", path);
	boot(kernel, CMD("--oem-string", SM_OEM, "--set-credential", SM_SET, "--load-credential",
			 load),
	     CMD("sh", "-c", "cd /sys/firmware/dmi; cat tables/smbios_entry_point tables/DMI; "
		 "cat /sys/class/dmi/id/sys_vendor /sys/class/dmi/id/product_name "
		 "/sys/class/dmi/id/product_uuid; ls entries/11-0/raw"));
	unlink(path);
	assert_int_equal(res.status, 0);

	/* the entry point Linux found at 0xf0000: ours, unchanged */
	assert_true(res.out_len > SM_EP_LEN);
	ep = (const uint8_t *)res.out;
	assert_memory_equal(ep, "_SM3_", 5);
	assert_int_equal(ep[6], SM_EP_LEN);
	uint8_t sum = 0;
	for (int i = 0; i < SM_EP_LEN; i++)
		sum += ep[i];
	assert_int_equal(sum, 0);
	assert_int_equal(ep[7], 3);
	assert_int_equal(sm_le32(ep + 16), 0xf0020);
	assert_int_equal(sm_le32(ep + 20), 0);
	len = sm_le32(ep + 12);
	assert_true(SM_EP_LEN + len < res.out_len);
	tab = ep + SM_EP_LEN;
	print_message("  SMBIOS table: %u bytes\n", len);

	/* type 11: the three strings in order, byte for byte */
	assert_int_equal(sm_strings(tab, len, 11, str, 8, NULL), 3);
	assert_string_equal(str[0], SM_OEM);
	assert_string_equal(str[1], SM_SET_STR);
	assert_memory_equal(str[2], "io.systemd.credential.binary:blob=", 34);
	assert_int_equal(th_unbase64(str[2] + 34, dec, sizeof(dec)), sizeof(sm_blob));
	assert_memory_equal(dec, sm_blob, sizeof(sm_blob));
	/* type 1 as the kernel read it: vendor, product, UUID in SMBIOS 2.6+ order */
	assert_int_equal(sm_strings(tab, len, 1, t1, 8, &area), 3);
	assert_non_null(area);
	const uint8_t *u = area + 8;
	snprintf(uuid, sizeof(uuid),
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u[3],
		 u[2], u[1], u[0], u[5], u[4], u[7], u[6], u[8], u[9], u[10], u[11], u[12], u[13],
		 u[14], u[15]);
	assert_int_equal(uuid[14], '4'); /* version 4: random */
	char want[200];
	snprintf(want, sizeof(want), "agentvmm\nagentvmm VM\n%s\nentries/11-0/raw\n", uuid);
	assert_int_equal(res.out_len, SM_EP_LEN + len + strlen(want));
	assert_memory_equal(tab + len, want, strlen(want));
}

/*
 * The most agentvmm allows: 255 OEM strings, 48 KiB together (each ~193
 * bytes). At boot the kernel copies each into its 64 KiB DMI brk pool with a
 * 40-byte list entry (boot/smbios.h): this is about 60 KiB of it, and boots.
 */
static void test_e2e_smbios_largest_oem_strings_boot(void **state)
{
	char path[] = "/tmp/av-e2e-oem-XXXXXX";
	size_t each = 49152 / 255, total = 0;
	int fd = mkstemp(path);
	FILE *f;

	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	fputs("{\"oem-string\": [", f);
	for (int i = 0; i < 255; i++) {
		size_t n = i < 254 ? each : 49152 - 254 * each; /* with the NUL */

		fprintf(f, "%s\"%03d", i ? ", " : "", i);
		for (size_t k = 3; k + 1 < n; k++)
			fputc('a' + (int)(k % 26), f);
		fputc('"', f);
		total += n;
	}
	fputs("]}", f);
	fclose(f);
	assert_int_equal(total, 49152);
	boot("bzImage", CMD("--config", path),
	     CMD("sh", "-c", "tail -c +6 /sys/firmware/dmi/entries/11-0/raw | tr '\\0' '\\n' | "
		 "wc -lc"));
	unlink(path);
	assert_int_equal(res.status, 0);
	/* after the 5-byte header: 255 strings and their NULs, then the set's NUL */
	unsigned lines = 0, chars = 0;
	assert_int_equal(sscanf(res.out, "%u %u", &lines, &chars), 2);
	assert_int_equal(lines, 256);
	assert_int_equal(chars, 49152 + 1);
}

static void test_e2e_smbios_credentials_bzimage(void **state)
{
	smbios_case("bzImage");
}

static void test_e2e_smbios_credentials_pvh(void **state)
{
	smbios_case("vmlinux");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_e2e_bzimage_echo_prints_only_hello),
		cmocka_unit_test(test_e2e_pvh_vmlinux_echo_prints_hello),
		cmocka_unit_test(test_e2e_exit_status_7_propagates),
		cmocka_unit_test(test_e2e_argv_reaches_guest_byte_for_byte),
		cmocka_unit_test(test_e2e_two_cpus_and_1024_mib_are_seen),
		cmocka_unit_test(test_e2e_guest_poweroff_exits_0),
		cmocka_unit_test(test_e2e_guest_reboot_exits_0),
		cmocka_unit_test(test_e2e_guest_panic_exits_125),
		cmocka_unit_test(test_e2e_orphans_reaped_and_signal_status),
		cmocka_unit_test(test_e2e_command_not_found_exits_127),
		cmocka_unit_test(test_e2e_interactive_console_runs_shell),
		cmocka_unit_test(test_e2e_smbios_credentials_bzimage),
		cmocka_unit_test(test_e2e_smbios_credentials_pvh),
		cmocka_unit_test(test_e2e_smbios_largest_oem_strings_boot),
	};

	if (access("/dev/kvm", R_OK | W_OK) != 0) {
		fprintf(stderr, "skip: /dev/kvm not accessible\n");
		return 77;
	}
	if (!e2e_kernel("bzImage") || !e2e_kernel("vmlinux")) {
		fprintf(stderr, "FAIL: test kernel missing; run scripts/fetch-kernel.sh\n");
		return 1;
	}
	if (getenv("AV_TEST_FILTER")) /* one case while debugging, e.g. "test_e2e_smbios*" */
		cmocka_set_test_filter(getenv("AV_TEST_FILTER"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
