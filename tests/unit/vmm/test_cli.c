// SPDX-License-Identifier: MIT
/* test_cli.c: argv parsing into struct vm_config, every option and every error line. */
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>

#include "boot/smbios.h"
#include "vmm/cli.h"

#define MAX_ARGS 40

/* A writable argv (getopt wants char **) built from literals; argv[0] is "agentvmm". */
struct args {
	int argc;
	char *argv[MAX_ARGS + 1];
	char store[MAX_ARGS][128];
	struct vm_config cfg;
	enum cli_action action;
	char err[256];
};

static void add_arg(struct args *a, const char *s)
{
	assert_true(a->argc < MAX_ARGS && strlen(s) < sizeof(a->store[0]));
	strcpy(a->store[a->argc], s);
	a->argv[a->argc] = a->store[a->argc];
	a->argv[++a->argc] = NULL;
}

/* parse(a, "--kernel", "k", NULL) runs cli_parse on "agentvmm --kernel k". */
static int parse(struct args *a, ...)
{
	const char *s;
	va_list ap;

	a->argc = 0;
	add_arg(a, "agentvmm");
	va_start(ap, a);
	while ((s = va_arg(ap, const char *)))
		add_arg(a, s);
	va_end(ap);
	memset(a->err, 'X', sizeof(a->err)); /* prove err is always written */
	return cli_parse(a->argc, a->argv, &a->cfg, &a->action, a->err, sizeof(a->err));
}

static void expect_err(struct args *a, int r, const char *msg)
{
	assert_int_equal(r, -EINVAL);
	assert_string_equal(a->err, msg);
}

static uint64_t host_mib(void)
{
	return (uint64_t)sysconf(_SC_PHYS_PAGES) * (uint64_t)sysconf(_SC_PAGESIZE) >> 20;
}

static void test_cli_kernel_only_defaults(void **state)
{
	struct args a;

	(void)state;
	assert_int_equal(parse(&a, "--kernel", "vmlinuz", NULL), 0);
	assert_int_equal(a.action, CLI_RUN);
	assert_string_equal(a.err, "");
	assert_string_equal(a.cfg.kernel, "vmlinuz");
	assert_null(a.cfg.initrd);
	assert_null(a.cfg.cmdline);
	assert_null(a.cfg.modules_dir);
	assert_null(a.cfg.raw_image);
	assert_int_equal(a.cfg.cpus, VM_DEFAULT_CPUS);
	assert_int_equal(a.cfg.mem_mib, VM_DEFAULT_MEM_MIB);
	assert_int_equal(a.cfg.shutdown_timeout_s, VM_DEFAULT_SHUTDOWN_TIMEOUT_S);
	assert_int_equal(a.cfg.verbose, 0);
	assert_false(a.cfg.console_log);
	assert_int_equal(a.cfg.argc, 0);
	assert_null(a.cfg.argv);
}

static void test_cli_every_option_parsed(void **state)
{
	struct args a;

	(void)state;
	assert_int_equal(parse(&a, "--kernel", "bz", "--initrd", "ird", "--cmdline", "quiet a=b",
			       "--cpus", "4", "--mem", "64", "--modules-dir", "/lib/modules/x",
			       "--console-log", "-v", "--verbose", "-vv", "--raw-image", "raw.bin",
			       NULL),
			 0);
	assert_int_equal(a.action, CLI_RUN);
	assert_string_equal(a.cfg.kernel, "bz");
	assert_string_equal(a.cfg.initrd, "ird");
	assert_string_equal(a.cfg.cmdline, "quiet a=b");
	assert_int_equal(a.cfg.cpus, 4);
	assert_int_equal(a.cfg.mem_mib, 64);
	assert_string_equal(a.cfg.modules_dir, "/lib/modules/x");
	assert_true(a.cfg.console_log);
	assert_int_equal(a.cfg.verbose, 4);
	assert_string_equal(a.cfg.raw_image, "raw.bin");
	/* values point into argv, not copies */
	assert_ptr_equal(a.cfg.kernel, a.argv[2]);
	assert_int_equal(a.cfg.argc, 0);
}

static void test_cli_equals_form_parsed(void **state)
{
	struct args a;

	(void)state;
	assert_int_equal(parse(&a, "--kernel=bz", "--cpus=2", "--mem=32", "--cmdline=", NULL), 0);
	assert_string_equal(a.cfg.kernel, "bz");
	assert_int_equal(a.cfg.cpus, 2);
	assert_int_equal(a.cfg.mem_mib, 32);
	assert_string_equal(a.cfg.cmdline, "");
}

static void test_cli_last_value_wins(void **state)
{
	struct args a;

	(void)state;
	assert_int_equal(parse(&a, "--kernel", "a", "--kernel", "b", "--cpus", "3", "--cpus", "2",
			       NULL),
			 0);
	assert_string_equal(a.cfg.kernel, "b");
	assert_int_equal(a.cfg.cpus, 2);
}

static void test_cli_init_parsed_and_checked(void **state)
{
	struct args a;

	(void)state;
	assert_int_equal(parse(&a, "--kernel", "k", "--init", "/nix/store/x-sys/init", "--initrd",
			       "ird", NULL), 0);
	assert_string_equal(a.cfg.init, "/nix/store/x-sys/init");
	assert_string_equal(a.cfg.initrd, "ird");
	assert_int_equal(a.cfg.argc, 0);
	assert_int_equal(parse(&a, "--kernel", "k", "--init=/sbin/my init", NULL), 0);
	assert_string_equal(a.cfg.init, "/sbin/my init");
	expect_err(&a, parse(&a, "--kernel", "k", "--init", "sbin/init", NULL),
		   "--init sbin/init: must be an absolute path in the guest");
	expect_err(&a, parse(&a, "--kernel", "k", "--init", "", NULL),
		   "--init : must be an absolute path in the guest");
	expect_err(&a, parse(&a, "--kernel", "k", "--init", "/a\nb", NULL),
		   "--init /a?b: control characters cannot be passed to the guest");
	expect_err(&a, parse(&a, "--kernel", "k", "--init", "/sbin/init", "--", "true", NULL),
		   "--init /sbin/init: not with a command after -- (the command runs under "
		   "agentvmm's init)");
	/* "--ini" is now ambiguous (--init, --initrd) */
	expect_err(&a, parse(&a, "--kernel", "k", "--ini", "/x", NULL),
		   "unknown option --ini (see --help)");
}

static void test_cli_unique_prefix_accepted(void **state)
{
	struct args a;

	(void)state;
	/* getopt_long accepts unambiguous abbreviations */
	assert_int_equal(parse(&a, "--kern", "bz", "--cp", "2", NULL), 0);
	assert_string_equal(a.cfg.kernel, "bz");
	assert_int_equal(a.cfg.cpus, 2);
}

static void test_cli_raw_image_without_kernel_ok(void **state)
{
	struct args a;

	(void)state;
	assert_int_equal(parse(&a, "--raw-image", "t.bin", NULL), 0);
	assert_null(a.cfg.kernel);
	assert_string_equal(a.cfg.raw_image, "t.bin");
}

static void test_cli_missing_kernel_fails(void **state)
{
	struct args a;

	(void)state;
	expect_err(&a, parse(&a, NULL), "--kernel is required (see --help)");
	expect_err(&a, parse(&a, "--cpus", "2", "-v", NULL), "--kernel is required (see --help)");
	expect_err(&a, parse(&a, "--", "ls", NULL), "--kernel is required (see --help)");
}

static void test_cli_workload_after_ddash_untouched(void **state)
{
	struct args a;

	(void)state;
	assert_int_equal(parse(&a, "--kernel", "k", "--", "ls", "-la", "--mem", "1", "-h",
			       "--bogus", "--", "--version", NULL),
			 0);
	assert_int_equal(a.action, CLI_RUN);
	assert_int_equal(a.cfg.mem_mib, VM_DEFAULT_MEM_MIB);
	assert_int_equal(a.cfg.argc, 8);
	assert_ptr_equal(a.cfg.argv, &a.argv[4]);
	assert_string_equal(a.cfg.argv[0], "ls");
	assert_string_equal(a.cfg.argv[1], "-la");
	assert_string_equal(a.cfg.argv[2], "--mem");
	assert_string_equal(a.cfg.argv[4], "-h");
	assert_string_equal(a.cfg.argv[6], "--");
	assert_string_equal(a.cfg.argv[7], "--version");
	assert_null(a.cfg.argv[8]);
	/* not permuted */
	assert_string_equal(a.argv[1], "--kernel");
	assert_string_equal(a.argv[3], "--");
}

static void test_cli_ddash_first_then_workload(void **state)
{
	struct args a;

	(void)state;
	assert_int_equal(parse(&a, "--raw-image", "r", "--", "--", "x", NULL), 0);
	assert_int_equal(a.cfg.argc, 2);
	assert_string_equal(a.cfg.argv[0], "--");
	assert_string_equal(a.cfg.argv[1], "x");
}

static void test_cli_trailing_ddash_no_workload(void **state)
{
	struct args a;

	(void)state;
	assert_int_equal(parse(&a, "--kernel", "k", "--", NULL), 0);
	assert_int_equal(a.cfg.argc, 0);
	assert_null(a.cfg.argv);
}

static void test_cli_stray_argument_fails(void **state)
{
	struct args a;

	(void)state;
	expect_err(&a, parse(&a, "--kernel", "k", "ls", NULL),
		   "unexpected argument 'ls' (put the command after --)");
	expect_err(&a, parse(&a, "ls", "--kernel", "k", NULL),
		   "unexpected argument 'ls' (put the command after --)");
	expect_err(&a, parse(&a, "--kernel", "k", "-", NULL),
		   "unexpected argument '-' (put the command after --)");
	expect_err(&a, parse(&a, "--kernel", "k", "ls", "--", "x", NULL),
		   "unexpected argument 'ls' (put the command after --)");
}

static void test_cli_ddash_as_option_value_not_separator(void **state)
{
	struct args a;

	(void)state;
	/* "--" here is the value of --cmdline; "ls" is a stray argument, not the workload */
	expect_err(&a, parse(&a, "--kernel", "k", "--cmdline", "--", "ls", NULL),
		   "unexpected argument 'ls' (put the command after --)");
	expect_err(&a, parse(&a, "--kernel", "--", "ls", NULL),
		   "unexpected argument 'ls' (put the command after --)");
	/* a real separator after it still works */
	assert_int_equal(parse(&a, "--kernel", "k", "--cmdline", "--", "--", "ls", NULL), 0);
	assert_string_equal(a.cfg.cmdline, "--");
	assert_int_equal(a.cfg.argc, 1);
	assert_string_equal(a.cfg.argv[0], "ls");
}

static void test_cli_unknown_long_option_fails(void **state)
{
	struct args a;

	(void)state;
	expect_err(&a, parse(&a, "--kernel", "k", "--bogus", NULL),
		   "unknown option --bogus (see --help)");
	expect_err(&a, parse(&a, "--bogus=1", "--kernel", "k", NULL),
		   "unknown option --bogus=1 (see --help)");
	/* ambiguous prefix: --cpus, --cmdline, --console-log */
	expect_err(&a, parse(&a, "--c", "1", NULL), "unknown option --c (see --help)");
	/* a value for an option that takes none */
	expect_err(&a, parse(&a, "--kernel", "k", "--console-log=1", NULL),
		   "unknown option --console-log=1 (see --help)");
}

static void test_cli_value_for_flag_names_long_option(void **state)
{
	struct args a;

	(void)state;
	/* getopt reports the option's val ('v', 'h') in optopt: not "-v" / "-h" */
	expect_err(&a, parse(&a, "--kernel", "k", "--verbose=2", NULL),
		   "unknown option --verbose=2 (see --help)");
	expect_err(&a, parse(&a, "--help=x", NULL), "unknown option --help=x (see --help)");
	expect_err(&a, parse(&a, "--version=1", NULL), "unknown option --version=1 (see --help)");
}

static void test_cli_unknown_short_option_fails(void **state)
{
	struct args a;

	(void)state;
	expect_err(&a, parse(&a, "--kernel", "k", "-x", NULL), "unknown option -x (see --help)");
	expect_err(&a, parse(&a, "--kernel", "k", "-vx", NULL), "unknown option -x (see --help)");
	/* the unknown letter is mid-group after a long option: still named by letter */
	expect_err(&a, parse(&a, "--console-log", "-xv", NULL), "unknown option -x (see --help)");
	expect_err(&a, parse(&a, "-k", "bz", NULL), "unknown option -k (see --help)");
	expect_err(&a, parse(&a, "-:", NULL), "unknown option -: (see --help)");
}

static void test_cli_missing_value_fails(void **state)
{
	static const char *const opts[] = { "--kernel", "--initrd", "--cmdline", "--cpus",
					     "--mem", "--modules-dir", "--raw-image" };
	struct args a;
	char want[64];

	(void)state;
	for (unsigned i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
		snprintf(want, sizeof(want), "option %s needs a value", opts[i]);
		expect_err(&a, parse(&a, "--kernel", "k", opts[i], NULL), want);
	}
	/* abbreviated: the message quotes what the user typed */
	expect_err(&a, parse(&a, "--kern", NULL), "option --kern needs a value");
}

static void test_cli_next_option_taken_as_value(void **state)
{
	struct args a;

	(void)state;
	/* getopt semantics: a required value is the next argument, whatever it is */
	assert_int_equal(parse(&a, "--kernel", "--cpus", NULL), 0);
	assert_string_equal(a.cfg.kernel, "--cpus");
	assert_int_equal(a.cfg.cpus, VM_DEFAULT_CPUS);
}

static void test_cli_cpus_bounds(void **state)
{
	struct args a;

	(void)state;
	assert_int_equal(parse(&a, "--kernel", "k", "--cpus", "1", NULL), 0);
	assert_int_equal(a.cfg.cpus, 1);
	assert_int_equal(parse(&a, "--kernel", "k", "--cpus", "255", NULL), 0);
	assert_int_equal(a.cfg.cpus, 255);
	assert_int_equal(parse(&a, "--kernel", "k", "--cpus", "007", NULL), 0);
	assert_int_equal(a.cfg.cpus, 7);
	expect_err(&a, parse(&a, "--kernel", "k", "--cpus", "0", NULL),
		   "--cpus 0: must be a number from 1 to 255");
	expect_err(&a, parse(&a, "--kernel", "k", "--cpus", "256", NULL),
		   "--cpus 256: must be a number from 1 to 255");
	/* 2^32 + 1 must not truncate to 1 */
	expect_err(&a, parse(&a, "--kernel", "k", "--cpus", "4294967297", NULL),
		   "--cpus 4294967297: must be a number from 1 to 255");
}

static void test_cli_shutdown_timeout(void **state)
{
	static const char *const junk[] = { "-1", "", "1.5", "1s", " 1", "3601",
					    "18446744073709551616" };
	struct args a;
	char want[128];

	(void)state;
	assert_int_equal(parse(&a, "--kernel", "k", "--shutdown-timeout", "0", NULL), 0);
	assert_int_equal(a.cfg.shutdown_timeout_s, 0);
	assert_int_equal(parse(&a, "--kernel", "k", "--shutdown-timeout=3600", NULL), 0);
	assert_int_equal(a.cfg.shutdown_timeout_s, 3600);
	for (unsigned i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
		snprintf(want, sizeof(want),
			 "--shutdown-timeout %s: must be a number of seconds from 0 to 3600", junk[i]);
		expect_err(&a, parse(&a, "--kernel", "k", "--shutdown-timeout", junk[i], NULL),
			   want);
	}
}

static void test_cli_cpus_junk_fails(void **state)
{
	static const char *const junk[] = { "12x", "-1", "", " 1", "1 ", "+1", "0x10", "1.0",
					    "one", "18446744073709551615",
					    "18446744073709551616",
					    "99999999999999999999999999999999" };
	struct args a;
	char want[128];

	(void)state;
	for (unsigned i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
		snprintf(want, sizeof(want), "--cpus %s: must be a number from 1 to 255", junk[i]);
		expect_err(&a, parse(&a, "--kernel", "k", "--cpus", junk[i], NULL), want);
	}
}

static void test_cli_mem_bounds(void **state)
{
	struct args a;
	char max[32], over[32], want[128];
	uint64_t host = host_mib();

	(void)state;
	snprintf(max, sizeof(max), "%" PRIu64, host);
	snprintf(over, sizeof(over), "%" PRIu64, host + 1);
	assert_int_equal(parse(&a, "--kernel", "k", "--mem", "16", NULL), 0);
	assert_int_equal(a.cfg.mem_mib, 16);
	assert_int_equal(parse(&a, "--kernel", "k", "--mem", max, NULL), 0);
	assert_int_equal(a.cfg.mem_mib, host);

	snprintf(want, sizeof(want), "--mem 15: must be a number of MiB from 16 to %" PRIu64
		 " (host RAM)", host);
	expect_err(&a, parse(&a, "--kernel", "k", "--mem", "15", NULL), want);
	snprintf(want, sizeof(want), "--mem 0: must be a number of MiB from 16 to %" PRIu64
		 " (host RAM)", host);
	expect_err(&a, parse(&a, "--kernel", "k", "--mem", "0", NULL), want);
	snprintf(want, sizeof(want), "--mem %s: must be a number of MiB from 16 to %" PRIu64
		 " (host RAM)", over, host);
	expect_err(&a, parse(&a, "--kernel", "k", "--mem", over, NULL), want);
}

static void test_cli_mem_junk_fails(void **state)
{
	static const char *const junk[] = { "12x", "-1", "", " 1", "512 ", "+512", "0x200",
					    "512M", "18446744073709551616",
					    "99999999999999999999999999999999" };
	struct args a;
	char want[160];

	(void)state;
	for (unsigned i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
		snprintf(want, sizeof(want),
			 "--mem %s: must be a number of MiB from 16 to %" PRIu64 " (host RAM)",
			 junk[i], host_mib());
		expect_err(&a, parse(&a, "--kernel", "k", "--mem", junk[i], NULL), want);
	}
}

static void test_cli_help_and_version_actions(void **state)
{
	struct args a;

	(void)state;
	assert_int_equal(parse(&a, "-h", NULL), 0);
	assert_int_equal(a.action, CLI_HELP);
	assert_int_equal(parse(&a, "--help", NULL), 0);
	assert_int_equal(a.action, CLI_HELP);
	assert_int_equal(parse(&a, "--version", NULL), 0);
	assert_int_equal(a.action, CLI_VERSION);
	/* they win over later errors and the missing --kernel ... */
	assert_int_equal(parse(&a, "--help", "--bogus", NULL), 0);
	assert_int_equal(a.action, CLI_HELP);
	assert_int_equal(parse(&a, "--cpus", "2", "--version", "--cpus", "0", NULL), 0);
	assert_int_equal(a.action, CLI_VERSION);
	/* ... but not over earlier ones, and not inside the workload */
	expect_err(&a, parse(&a, "--cpus", "0", "--help", NULL),
		   "--cpus 0: must be a number from 1 to 255");
	assert_int_equal(parse(&a, "--kernel", "k", "--", "--help", NULL), 0);
	assert_int_equal(a.action, CLI_RUN);
	/* grouped */
	assert_int_equal(parse(&a, "-vh", NULL), 0);
	assert_int_equal(a.action, CLI_HELP);
	assert_int_equal(a.cfg.verbose, 1);
}

static void test_cli_reparse_after_half_group_clean(void **state)
{
	struct args a, b;

	(void)state;
	/* "-hv" returns at 'h' with "v" still pending inside getopt */
	assert_int_equal(parse(&a, "-hv", NULL), 0);
	assert_int_equal(a.action, CLI_HELP);
	assert_int_equal(parse(&b, "--kernel", "k", NULL), 0);
	assert_int_equal(b.cfg.verbose, 0);
	assert_string_equal(b.cfg.kernel, "k");
	/* same after an unknown letter mid-group */
	expect_err(&a, parse(&a, "-xv", NULL), "unknown option -x (see --help)");
	assert_int_equal(parse(&b, "--kernel", "k", "--", "w", NULL), 0);
	assert_int_equal(b.cfg.verbose, 0);
	assert_int_equal(b.cfg.argc, 1);
}

static void test_cli_control_chars_in_message_replaced(void **state)
{
	struct args a;
	char want[128];

	(void)state;
	/* the message quotes argv, but stays one printable line */
	expect_err(&a, parse(&a, "--kernel", "k", "--bad\nname\x1b[2J", NULL),
		   "unknown option --bad?name?[2J (see --help)");
	snprintf(want, sizeof(want),
		 "--mem 1??: must be a number of MiB from 16 to %" PRIu64 " (host RAM)", host_mib());
	expect_err(&a, parse(&a, "--kernel", "k", "--mem", "1\r\n", NULL), want);
}

static void test_cli_argc_zero_fails_cleanly(void **state)
{
	char *argv[] = { NULL };
	struct vm_config cfg;
	enum cli_action action;
	char err[128];

	(void)state;
	assert_int_equal(cli_parse(0, argv, &cfg, &action, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "--kernel is required (see --help)");
	assert_int_equal(cfg.argc, 0);
	assert_null(cfg.argv);
}

static void test_cli_small_err_buffer_truncated(void **state)
{
	struct args a;
	char small[8];

	(void)state;
	a.argc = 2;
	strcpy(a.store[0], "agentvmm");
	strcpy(a.store[1], "--bogus");
	a.argv[0] = a.store[0];
	a.argv[1] = a.store[1];
	a.argv[2] = NULL;
	assert_int_equal(cli_parse(2, a.argv, &a.cfg, &a.action, small, sizeof(small)), -EINVAL);
	assert_string_equal(small, "unknown");
}

static void test_cli_usage_mentions_options(void **state)
{
	const char *u = cli_usage();

	(void)state;
	assert_non_null(strstr(u, "usage: agentvmm --kernel FILE"));
	for (const char *o = "--kernel\0--initrd\0--modules-dir\0--cmdline\0--cpus\0--mem\0"
			     "--console-log\0--verbose\0--raw-image\0--help\0--version\0"
			     "--share\0--fs\0--owner\0--vsock\0";
	     *o; o += strlen(o) + 1)
		assert_non_null(strstr(u, o));
}

/* A scratch tree for the share tests: DIR/d (directory), DIR/f (file), DIR/s (socket). */
static char share_tmp[64];

static const char *tmp_path(const char *name)
{
	static char buf[4][128];
	static int i;

	if (!share_tmp[0]) {
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		char p[128];
		int fd;

		strcpy(share_tmp, "/tmp/av-cli-XXXXXX");
		assert_non_null(mkdtemp(share_tmp));
		snprintf(p, sizeof(p), "%s/d", share_tmp);
		assert_int_equal(mkdir(p, 0755), 0);
		snprintf(p, sizeof(p), "%s/e", share_tmp);
		assert_int_equal(mkdir(p, 0755), 0);
		snprintf(p, sizeof(p), "%s/f", share_tmp);
		fclose(fopen(p, "w"));
		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/s", share_tmp);
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
		close(fd);
	}
	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s%s%s", share_tmp, *name ? "/" : "", name);
	return buf[i];
}

static int share_group_teardown(void **state)
{
	char cmd[128];

	(void)state;
	if (!share_tmp[0])
		return 0;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", share_tmp);
	return system(cmd);
}

/* "PREFIX" + tmp_path(name) + "SUFFIX" */
static const char *cat3(const char *a, const char *name, const char *b)
{
	static char buf[4][400];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s%s%s", a, tmp_path(name), b);
	return buf[i];
}

static void test_cli_share_ro_rw_and_defaults(void **state)
{
	struct args a;

	(void)state;
	assert_int_equal(parse(&a, "--kernel", "k", "--share", cat3("ro:", "d", ""), "--share",
			       cat3("rw:", "e", ":/work"), NULL),
			 0);
	assert_int_equal(a.cfg.nr_shares, 2);
	assert_true(a.cfg.shares[0].readonly);
	assert_false(a.cfg.shares[0].external);
	assert_string_equal(a.cfg.shares[0].host, tmp_path("d"));
	assert_string_equal(a.cfg.shares[0].guest, tmp_path("d")); /* GUEST defaults to HOST */
	assert_string_equal(a.cfg.shares[0].tag, "share0");
	assert_false(a.cfg.shares[1].readonly);
	assert_string_equal(a.cfg.shares[1].guest, "/work");
	assert_string_equal(a.cfg.shares[1].tag, "share1");
	assert_false(a.cfg.owner_set);
}

static void test_cli_share_host_canonicalised(void **state)
{
	struct args a;

	(void)state;
	assert_int_equal(parse(&a, "--kernel", "k", "--share", cat3("rw:", "d/../e/", ":/w"), NULL),
			 0);
	assert_string_equal(a.cfg.shares[0].host, tmp_path("e"));
}

static void test_cli_share_errors(void **state)
{
	struct args a;
	char want[256];

	(void)state;
	assert_int_equal(parse(&a, "--kernel", "k", "--share", cat3("rx:", "d", ""), NULL), -EINVAL);
	snprintf(want, sizeof(want), "--share rx:%s: expected ro:HOST[:GUEST] or rw:HOST[:GUEST]",
		 tmp_path("d"));
	assert_string_equal(a.err, want);

	assert_int_equal(parse(&a, "--kernel", "k", "--share", "ro:", NULL), -EINVAL);
	assert_string_equal(a.err, "--share ro:: expected ro:HOST[:GUEST] or rw:HOST[:GUEST]");

	parse(&a, "--kernel", "k", "--share", cat3("ro:", "missing", ""), NULL);
	snprintf(want, sizeof(want), "--share ro:%s: %s: No such file or directory",
		 tmp_path("missing"), tmp_path("missing"));
	assert_string_equal(a.err, want);

	parse(&a, "--kernel", "k", "--share", cat3("rw:", "f", ""), NULL);
	snprintf(want, sizeof(want), "--share rw:%s: %s: not a directory", tmp_path("f"),
		 tmp_path("f"));
	assert_string_equal(a.err, want);

	assert_int_equal(parse(&a, "--kernel", "k", "--share", cat3("rw:", "d", ":work"), NULL),
			 -EINVAL);
	snprintf(want, sizeof(want), "--share rw:%s:work: guest path 'work' must be absolute, not "
		 "/, without '.', '..' or empty parts", tmp_path("d"));
	assert_string_equal(a.err, want);

	for (const char *bad = "/\0/a/../b\0/a//b\0/a/\0/./a\0"; *bad; bad += strlen(bad) + 1) {
		char arg[128];

		snprintf(arg, sizeof(arg), ":%s", bad);
		assert_int_equal(parse(&a, "--kernel", "k", "--share", cat3("rw:", "d", arg), NULL),
				 -EINVAL);
		assert_non_null(strstr(a.err, "must be absolute"));
	}
}

static void test_cli_share_twice_fails(void **state)
{
	struct args a;
	char want[256];

	(void)state;
	parse(&a, "--kernel", "k", "--share", cat3("ro:", "d", ":/a"), "--share",
	      cat3("rw:", "d", ":/b"), NULL);
	snprintf(want, sizeof(want), "--share %s: directory shared twice", tmp_path("d"));
	assert_string_equal(a.err, want);

	parse(&a, "--kernel", "k", "--share", cat3("ro:", "d", ":/a"), "--share",
	      cat3("rw:", "e", ":/a"), NULL);
	snprintf(want, sizeof(want), "--share %s: guest path /a is used twice", tmp_path("e"));
	assert_string_equal(a.err, want);

	parse(&a, "--kernel", "k", "--disk", "x.img,mount=/a", "--share", cat3("ro:", "d", ":/a"),
	      NULL);
	snprintf(want, sizeof(want), "--share %s: guest path /a is also a --disk mount",
		 tmp_path("d"));
	assert_string_equal(a.err, want);
}

static void test_cli_fs_parsed(void **state)
{
	struct args a;

	(void)state;
	assert_int_equal(parse(&a, "--kernel", "k", "--fs", cat3("tag=store,socket=", "s",
								  ",mount=/nix/.ro-store"), NULL),
			 0);
	assert_int_equal(a.cfg.nr_shares, 1);
	assert_true(a.cfg.shares[0].external);
	assert_string_equal(a.cfg.shares[0].tag, "store");
	assert_string_equal(a.cfg.shares[0].socket, tmp_path("s"));
	assert_string_equal(a.cfg.shares[0].guest, "/nix/.ro-store");
	/* mount= is optional: the device is there, guest-init leaves it alone */
	assert_int_equal(parse(&a, "--kernel", "k", "--fs", cat3("socket=", "s", ",tag=t"), NULL),
			 0);
	assert_string_equal(a.cfg.shares[0].guest, "");
	assert_int_equal(a.cfg.shares[0].wait_s, VM_FS_WAIT_DEFAULT_S);
	/* a socket that does not exist yet: its back end may still be starting */
	assert_int_equal(parse(&a, "--kernel", "k", "--fs", cat3("tag=t,socket=", "later",
								  ",wait=7"), NULL),
			 0);
	assert_int_equal(a.cfg.shares[0].wait_s, 7);
	assert_string_equal(a.cfg.shares[0].socket, tmp_path("later"));
}

static void test_cli_ksm(void **state)
{
	struct args a;

	(void)state;
	assert_int_equal(parse(&a, "--kernel", "k", NULL), 0);
	assert_false(a.cfg.ksm);
	if (access("/sys/kernel/mm/ksm/run", F_OK) < 0) {
		expect_err(&a, parse(&a, "--kernel", "k", "--ksm", NULL),
			   "--ksm: this host's kernel has no KSM (no /sys/kernel/mm/ksm/run)");
		return;
	}
	assert_int_equal(parse(&a, "--kernel", "k", "--ksm", NULL), 0);
	assert_true(a.cfg.ksm);
	expect_err(&a, parse(&a, "--kernel", "k", "--ksm", "--fs", "tag=t,socket=/nonexistent/s",
			     NULL),
		   "--ksm: not with --share or --fs (their back ends need shared guest RAM, which "
		   "the host's KSM does not merge)");
}

/* --balloon: on by default; on, off or a list of options (docs/balloon.md) */
static void test_cli_balloon(void **state)
{
	struct args a;

	(void)state;
	assert_int_equal(parse(&a, "--kernel", "k", NULL), 0);
	assert_true(a.cfg.balloon.enabled);
	assert_true(a.cfg.balloon.reporting);
	assert_true(a.cfg.balloon.deflate_on_oom);
	assert_int_equal(a.cfg.balloon.stats_s, 0);
	assert_int_equal(a.cfg.balloon.reporting_order, 9);
	assert_int_equal(parse(&a, "--kernel", "k", "--balloon", "reporting-order=3", NULL), 0);
	assert_int_equal(a.cfg.balloon.reporting_order, 3);
	assert_true(a.cfg.balloon.reporting);
	assert_int_equal(parse(&a, "--kernel", "k", "--balloon", "reporting-order=0,stats=1", NULL),
			 0);
	assert_int_equal(a.cfg.balloon.reporting_order, 0);
	static const char *const bad_o[] = { "reporting-order=11", "reporting-order=",
					     "reporting-order", "reporting-order=-1",
					     "reporting-order=3x" };
	for (size_t i = 0; i < ARRAY_SIZE(bad_o); i++) {
		char want[160];

		snprintf(want, sizeof(want), "--balloon %s: reporting-order must be a number from "
			 "0 to 10", bad_o[i]);
		expect_err(&a, parse(&a, "--kernel", "k", "--balloon", bad_o[i], NULL), want);
	}
	assert_int_equal(parse(&a, "--kernel", "k", "--balloon", "off", NULL), 0);
	assert_false(a.cfg.balloon.enabled);
	assert_int_equal(parse(&a, "--kernel", "k", "--balloon", "off", "--balloon", "on", NULL), 0);
	assert_true(a.cfg.balloon.enabled);
	assert_int_equal(parse(&a, "--kernel", "k", "--balloon",
			       "reporting=off,stats=5,deflate-on-oom=off", NULL), 0);
	assert_true(a.cfg.balloon.enabled);
	assert_false(a.cfg.balloon.reporting);
	assert_false(a.cfg.balloon.deflate_on_oom);
	assert_int_equal(a.cfg.balloon.stats_s, 5);
	assert_int_equal(parse(&a, "--kernel", "k", "--balloon", "stats=3600", NULL), 0);
	assert_true(a.cfg.balloon.reporting);
	assert_int_equal(a.cfg.balloon.stats_s, 3600);
	expect_err(&a, parse(&a, "--kernel", "k", "--balloon", "", NULL),
		   "--balloon: expected on, off or reporting=on|off,reporting-order=N,"
		   "stats=SECONDS,deflate-on-oom=on|off");
	expect_err(&a, parse(&a, "--kernel", "k", "--balloon", "yes", NULL),
		   "--balloon yes: unknown option 'yes' (expected on, off or reporting=on|off,"
		   "reporting-order=N,stats=SECONDS,deflate-on-oom=on|off)");
	expect_err(&a, parse(&a, "--kernel", "k", "--balloon", "stats=5,,reporting=on", NULL),
		   "--balloon stats=5,,reporting=on: empty option (expected on, off or "
		   "reporting=on|off,reporting-order=N,stats=SECONDS,deflate-on-oom=on|off)");
	expect_err(&a, parse(&a, "--kernel", "k", "--balloon", "reporting=maybe", NULL),
		   "--balloon reporting=maybe: reporting must be on or off");
	expect_err(&a, parse(&a, "--kernel", "k", "--balloon", "reporting", NULL),
		   "--balloon reporting: reporting must be on or off");
	expect_err(&a, parse(&a, "--kernel", "k", "--balloon", "deflate-on-oom=1", NULL),
		   "--balloon deflate-on-oom=1: deflate-on-oom must be on or off");
	static const char *const bad_s[] = { "stats=3601", "stats=", "stats=-1", "stats=1x",
					     "stats=99999" };
	for (size_t i = 0; i < ARRAY_SIZE(bad_s); i++) {
		char want[160];

		snprintf(want, sizeof(want), "--balloon %s: stats must be a number of seconds "
			 "from 0 to 3600", bad_s[i]);
		expect_err(&a, parse(&a, "--kernel", "k", "--balloon", bad_s[i], NULL), want);
	}
}

static void test_cli_fs_errors(void **state)
{
	struct args a;
	char want[256];

	(void)state;
	expect_err(&a, parse(&a, "--kernel", "k", "--fs", "tag=t", NULL),
		   "--fs tag=t: needs tag=T and socket=PATH");
	parse(&a, "--kernel", "k", "--fs", cat3("socket=", "s", ""), NULL);
	snprintf(want, sizeof(want), "--fs socket=%s: needs tag=T and socket=PATH", tmp_path("s"));
	assert_string_equal(a.err, want);
	parse(&a, "--kernel", "k", "--fs", cat3("tag=t,socket=", "nosock", ",wait=0"), NULL);
	snprintf(want, sizeof(want), "--fs tag=t,socket=%s,wait=0: %s: No such file or directory",
		 tmp_path("nosock"), tmp_path("nosock"));
	assert_string_equal(a.err, want);
	expect_err(&a, parse(&a, "--kernel", "k", "--fs", "tag=t,socket=/s,wait=3601", NULL),
		   "--fs tag=t,socket=/s,wait=3601: wait must be 0 to 3600 seconds");
	expect_err(&a, parse(&a, "--kernel", "k", "--fs", "tag=t,socket=/s,wait=", NULL),
		   "--fs tag=t,socket=/s,wait=: wait must be 0 to 3600 seconds");
	expect_err(&a, parse(&a, "--kernel", "k", "--fs", "tag=t,socket=/s,wait=-1", NULL),
		   "--fs tag=t,socket=/s,wait=-1: wait must be 0 to 3600 seconds");
	parse(&a, "--kernel", "k", "--fs", cat3("tag=t,socket=", "f", ""), NULL);
	snprintf(want, sizeof(want), "--fs tag=t,socket=%s: %s: not a socket", tmp_path("f"),
		 tmp_path("f"));
	assert_string_equal(a.err, want);
	expect_err(&a, parse(&a, "--kernel", "k", "--fs",
			     "tag=0123456789012345678901234567890123456,socket=/s", NULL),
		   "--fs tag=0123456789012345678901234567890123456,socket=/s: tag must be 1 to 36 "
		   "bytes of A-Z a-z 0-9 . _ -");
	expect_err(&a, parse(&a, "--kernel", "k", "--fs", "tag=a:b,socket=/s", NULL),
		   "--fs tag=a:b,socket=/s: tag must be 1 to 36 bytes of A-Z a-z 0-9 . _ -");
	expect_err(&a, parse(&a, "--kernel", "k", "--fs", "tag=t,sock=/s", NULL),
		   "--fs tag=t,sock=/s: unknown option 'sock=/s' (expected tag=T, socket=PATH, "
		   "mount=/guest/path, wait=SECONDS)");
	parse(&a, "--kernel", "k", "--fs", cat3("tag=t,socket=", "s", ",mount=rel"), NULL);
	snprintf(want, sizeof(want), "--fs tag=t,socket=%s,mount=rel: mount path 'rel' must be "
		 "absolute, not /, without '.', '..' or empty parts", tmp_path("s"));
	assert_string_equal(a.err, want);
	parse(&a, "--kernel", "k", "--share", cat3("ro:", "d", ":/x"), "--fs",
	      cat3("tag=share0,socket=", "s", ""), NULL);
	assert_string_equal(a.err, "--fs share0: tag used twice");
}

static void test_cli_owner(void **state)
{
	struct args a;

	(void)state;
	assert_int_equal(parse(&a, "--kernel", "k", "--owner", "1000:100", NULL), 0);
	assert_true(a.cfg.owner_set);
	assert_int_equal(a.cfg.owner_uid, 1000);
	assert_int_equal(a.cfg.owner_gid, 100);
	for (const char *bad = "1000\0:1\0001:\0a:b\0-1:2\0004294967295:0\0"; *bad;
	     bad += strlen(bad) + 1) {
		char want[128];

		snprintf(want, sizeof(want), "--owner %s: expected UID:GID (numbers)", bad);
		expect_err(&a, parse(&a, "--kernel", "k", "--owner", bad, NULL), want);
	}
}

static void test_cli_too_many_shares_fails(void **state)
{
	struct args a;
	char arg[VM_MAX_SHARES + 1][128];

	(void)state;
	a.argc = 0;
	add_arg(&a, "agentvmm");
	add_arg(&a, "--kernel");
	add_arg(&a, "k");
	for (int i = 0; i <= VM_MAX_SHARES; i++) {
		snprintf(arg[i], sizeof(arg[i]), "ro:%s:/s%d", tmp_path("d"), i);
		add_arg(&a, "--share");
		add_arg(&a, arg[i]);
	}
	assert_int_equal(cli_parse(a.argc, a.argv, &a.cfg, &a.action, a.err, sizeof(a.err)),
			 -EINVAL);
	assert_non_null(strstr(a.err, "at most 16 shares"));
}

/* ---- --pmem ---- */

static void test_cli_pmem_parsed(void **state)
{
	struct args a;

	(void)state;
	assert_int_equal(parse(&a, "--kernel", "k", NULL), 0);
	assert_int_equal(a.cfg.nr_pmems, 0);
	assert_int_equal(parse(&a, "--kernel", "k", "--pmem", "plain.img", "--pmem", "r.img,ro",
			       "--pmem", "m.img,mount=/opt/store", "--pmem",
			       "all.img,ro,mount=/nix/store,dax", "--pmem=eq.img,dax,mount=/d,ro",
			       "--pmem", "rw.img,mount=/data,dax", NULL),
			 0);
	assert_int_equal(a.cfg.nr_pmems, 6);
	const struct vm_pmem *d = a.cfg.pmems;
	assert_string_equal(d[0].path, "plain.img");
	assert_false(d[0].readonly);
	assert_false(d[0].dax);
	assert_string_equal(d[0].mount, "");
	assert_string_equal(d[1].path, "r.img");
	assert_true(d[1].readonly);
	assert_false(d[1].dax);
	assert_string_equal(d[1].mount, "");
	assert_string_equal(d[2].path, "m.img");
	assert_false(d[2].readonly);
	assert_string_equal(d[2].mount, "/opt/store");
	assert_string_equal(d[3].path, "all.img");
	assert_true(d[3].readonly);
	assert_true(d[3].dax);
	assert_string_equal(d[3].mount, "/nix/store");
	/* options in any order, = form */
	assert_string_equal(d[4].path, "eq.img");
	assert_true(d[4].readonly);
	assert_true(d[4].dax);
	assert_string_equal(d[4].mount, "/d");
	assert_false(d[5].readonly);
	assert_true(d[5].dax);
	assert_string_equal(d[5].mount, "/data");
	/* a path may hold '=' and ':'; repeating a flag is harmless */
	assert_int_equal(parse(&a, "--kernel", "k", "--pmem", "/i/a=b:c.img,ro,ro", NULL), 0);
	assert_string_equal(a.cfg.pmems[0].path, "/i/a=b:c.img");
	assert_true(a.cfg.pmems[0].readonly);
	/* parsing again starts from an empty list */
	assert_int_equal(parse(&a, "--kernel", "k", NULL), 0);
	assert_int_equal(a.cfg.nr_pmems, 0);
}

static void test_cli_pmem_errors(void **state)
{
	const char *unk = "(expected ro, dax or mount=/absolute/path)";
	struct args a;
	char want[256];

	(void)state;
	expect_err(&a, parse(&a, "--kernel", "k", "--pmem", "", NULL),
		   "--pmem : expected PATH[,ro][,dax][,mount=DIR]");
	expect_err(&a, parse(&a, "--kernel", "k", "--pmem", ",ro", NULL),
		   "--pmem ,ro: expected PATH[,ro][,dax][,mount=DIR]");
	snprintf(want, sizeof(want), "--pmem x.img,fast: unknown option 'fast' %s", unk);
	expect_err(&a, parse(&a, "--kernel", "k", "--pmem", "x.img,fast", NULL), want);
	snprintf(want, sizeof(want), "--pmem x.img,RO: unknown option 'RO' %s", unk);
	expect_err(&a, parse(&a, "--kernel", "k", "--pmem", "x.img,RO", NULL), want);
	snprintf(want, sizeof(want), "--pmem x.img,: unknown option '' %s", unk);
	expect_err(&a, parse(&a, "--kernel", "k", "--pmem", "x.img,", NULL), want);
	snprintf(want, sizeof(want), "--pmem x.img,ro,,dax: unknown option '' %s", unk);
	expect_err(&a, parse(&a, "--kernel", "k", "--pmem", "x.img,ro,,dax", NULL), want);
	snprintf(want, sizeof(want), "--pmem x.img,direct: unknown option 'direct' %s", unk);
	expect_err(&a, parse(&a, "--kernel", "k", "--pmem", "x.img,direct", NULL), want);
	/* a relative or empty mount= is not an option it knows */
	snprintf(want, sizeof(want), "--pmem x.img,mount=data: unknown option 'mount=data' %s",
		 unk);
	expect_err(&a, parse(&a, "--kernel", "k", "--pmem", "x.img,mount=data", NULL), want);
	snprintf(want, sizeof(want), "--pmem x.img,mount=: unknown option 'mount=' %s", unk);
	expect_err(&a, parse(&a, "--kernel", "k", "--pmem", "x.img,mount=", NULL), want);
	/* absolute but not clean */
	for (const char *bad = "/\0/a/../b\0/a//b\0/a/\0/./a\0/a/.\0/a\tb\0"; *bad;
	     bad += strlen(bad) + 1) {
		char arg[128];

		snprintf(arg, sizeof(arg), "x.img,mount=%s", bad);
		snprintf(want, sizeof(want), "--pmem %s: mount=%s is not a clean absolute path", arg,
			 bad);
		for (char *c = want; *c; c++)
			*c = *c == '\t' ? '?' : *c; /* cli_parse() shows control bytes as '?' */
		expect_err(&a, parse(&a, "--kernel", "k", "--pmem", arg, NULL), want);
	}
	/* dax is for the guest's mount: no mount=, no dax */
	expect_err(&a, parse(&a, "--kernel", "k", "--pmem", "x.img,dax", NULL),
		   "--pmem x.img,dax: dax is a mount option: it needs mount=DIR");
	expect_err(&a, parse(&a, "--kernel", "k", "--pmem", "x.img,ro,dax", NULL),
		   "--pmem x.img,ro,dax: dax is a mount option: it needs mount=DIR");
}

/* Limits on lengths, through cli_set() (the arguments are too long for parse()). */
static void test_cli_pmem_long_path_and_mount(void **state)
{
	static char arg[VM_PATH_MAX + 400], want[VM_PATH_MAX + 600];
	struct vm_config cfg;
	char err[VM_PATH_MAX + 600];

	(void)state;
	/* a path of VM_PATH_MAX - 1 bytes fits, VM_PATH_MAX does not */
	config_init(&cfg);
	memset(arg, 'p', VM_PATH_MAX - 1);
	arg[VM_PATH_MAX - 1] = 0;
	assert_int_equal(cli_set(&cfg, "pmem", arg, err, sizeof(err)), 0);
	assert_int_equal(strlen(cfg.pmems[0].path), VM_PATH_MAX - 1);
	memset(arg, 'p', VM_PATH_MAX);
	strcpy(arg + VM_PATH_MAX, ",ro");
	assert_int_equal(cli_set(&cfg, "pmem", arg, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "--pmem %s: expected PATH[,ro][,dax][,mount=DIR]", arg);
	assert_string_equal(err, want);
	/* a mount of 255 bytes fits, 256 does not */
	config_init(&cfg);
	strcpy(arg, "x.img,mount=/");
	memset(arg + strlen(arg), 'm', 254);
	arg[13 + 254] = 0;
	assert_int_equal(cli_set(&cfg, "pmem", arg, err, sizeof(err)), 0);
	assert_int_equal(strlen(cfg.pmems[0].mount), 255);
	strcat(arg, "m");
	assert_int_equal(cli_set(&cfg, "pmem", arg, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, ": unknown option 'mount=/mmm"));
	assert_int_equal(cfg.nr_pmems, 1);
}

static void test_cli_too_many_pmems_fails(void **state)
{
	struct args a;
	char arg[VM_MAX_PMEM + 1][32];

	(void)state;
	a.argc = 0;
	add_arg(&a, "agentvmm");
	add_arg(&a, "--kernel");
	add_arg(&a, "k");
	for (int i = 0; i <= VM_MAX_PMEM; i++) {
		snprintf(arg[i], sizeof(arg[i]), "p%d.img,ro", i);
		add_arg(&a, "--pmem");
		add_arg(&a, arg[i]);
	}
	assert_int_equal(cli_parse(a.argc, a.argv, &a.cfg, &a.action, a.err, sizeof(a.err)),
			 -EINVAL);
	assert_string_equal(a.err, "--pmem p8.img,ro: at most 8 pmem devices");
	/* eight are fine */
	a.argc -= 2;
	a.argv[a.argc] = NULL;
	assert_int_equal(cli_parse(a.argc, a.argv, &a.cfg, &a.action, a.err, sizeof(a.err)), 0);
	assert_int_equal(a.cfg.nr_pmems, VM_MAX_PMEM);
}

/* A --pmem mount on another --pmem's, a --disk's, a --share's or a --fs's guest path. */
static void test_cli_pmem_mount_clashes_fail(void **state)
{
	struct args a;
	char want[256];

	(void)state;
	expect_err(&a, parse(&a, "--kernel", "k", "--pmem", "a.img,mount=/s", "--pmem",
			     "b.img,ro,mount=/s", NULL),
		   "--pmem b.img: guest path /s is also another --pmem mount");
	expect_err(&a, parse(&a, "--kernel", "k", "--pmem", "a.img,mount=/data", "--disk",
			     "d.img,mount=/data", NULL),
		   "--pmem a.img: guest path /data is also a --disk mount");
	expect_err(&a, parse(&a, "--kernel", "k", "--disk", "d.img,ro,mount=/data", "--pmem",
			     "a.img,ro,mount=/data,dax", NULL),
		   "--pmem a.img: guest path /data is also a --disk mount");
	expect_err(&a, parse(&a, "--kernel", "k", "--share", cat3("ro:", "d", ":/w"), "--pmem",
			     "a.img,mount=/w", NULL),
		   "--pmem a.img: guest path /w is also a --share or --fs mount");
	/* a --share without GUEST is mounted at its host path */
	snprintf(want, sizeof(want), "--pmem a.img: guest path %s is also a --share or --fs mount",
		 tmp_path("d"));
	expect_err(&a, parse(&a, "--kernel", "k", "--pmem", cat3("a.img,mount=", "d", ""),
			     "--share", cat3("rw:", "d", ""), NULL),
		   want);
	expect_err(&a, parse(&a, "--kernel", "k", "--fs", cat3("tag=t,socket=", "s", ",mount=/f"),
			     "--pmem", "a.img,mount=/f", NULL),
		   "--pmem a.img: guest path /f is also a --share or --fs mount");
	/* different paths, a prefix of another, and unmounted ones are fine */
	assert_int_equal(parse(&a, "--kernel", "k", "--pmem", "a.img,mount=/s", "--pmem",
			       "b.img,mount=/s/t", "--pmem", "c.img", "--pmem", "c2.img,ro",
			       "--disk", "d.img", "--disk", "e.img,mount=/e", "--share",
			       cat3("ro:", "d", ":/sh"), "--fs", cat3("tag=t,socket=", "s", ""),
			       NULL),
			 0);
	assert_int_equal(a.cfg.nr_pmems, 4);
}

/* ---- --net ---- */

static void test_cli_net_full_and_minimal(void **state)
{
	struct args a;
	static const uint8_t mac5[6] = { 2, 0, 0, 0, 0, 5 };

	assert_int_equal(parse(&a, "--kernel", "k", "--net",
			       "tap=microvm4,mac=02:00:00:00:00:05,ip=192.168.83.6/24,gw=192.168.83.1,"
			       "dns=9.9.9.9", "--net", "tap=t1", NULL), 0);
	assert_int_equal(a.cfg.nr_nets, 2);
	assert_string_equal(a.cfg.nets[0].tap, "microvm4");
	assert_memory_equal(a.cfg.nets[0].mac, mac5, 6);
	assert_string_equal(a.cfg.nets[0].ip, "192.168.83.6/24");
	assert_string_equal(a.cfg.nets[0].gw, "192.168.83.1");
	assert_string_equal(a.cfg.nets[0].dns, "9.9.9.9");
	assert_string_equal(a.cfg.nets[1].tap, "t1");
	assert_string_equal(a.cfg.nets[1].ip, "");
	/* default MAC: locally administered, unicast, stable per tap name */
	assert_int_equal(a.cfg.nets[1].mac[0], 0x02);
	uint8_t again[6];
	cli_default_mac("t1", again);
	assert_memory_equal(a.cfg.nets[1].mac, again, 6);
	cli_default_mac("t2", again);
	assert_memory_not_equal(a.cfg.nets[1].mac, again, 6);
}

/* issue 16: queues=N on a tap, fd=A:B... of inherited taps or macvtaps */
static void test_cli_net_queues_and_fds_parsed(void **state)
{
	struct args a;
	static const uint8_t mac7[6] = { 2, 0, 0, 0, 0, 7 };
	uint8_t want[6];

	assert_int_equal(parse(&a, "--kernel", "k", "--net", "tap=mq0,queues=4", "--net",
			       "fd=3:4:5,mac=02:00:00:00:00:07", "--net", "fd=9,queues=1", "--net",
			       "tap=one", NULL), 0);
	assert_int_equal(a.cfg.nr_nets, 4);
	assert_string_equal(a.cfg.nets[0].tap, "mq0");
	assert_int_equal(a.cfg.nets[0].queues, 4);
	assert_int_equal(a.cfg.nets[0].nr_fds, 0);
	assert_string_equal(a.cfg.nets[1].tap, "");
	assert_int_equal(a.cfg.nets[1].queues, 3);
	assert_int_equal(a.cfg.nets[1].nr_fds, 3);
	assert_int_equal(a.cfg.nets[1].fds[0], 3);
	assert_int_equal(a.cfg.nets[1].fds[2], 5);
	assert_memory_equal(a.cfg.nets[1].mac, mac7, 6);
	assert_int_equal(a.cfg.nets[2].queues, 1);
	assert_int_equal(a.cfg.nets[2].fds[0], 9);
	/* the default MAC of fd= comes from the label "fd=9" */
	cli_default_mac("fd=9", want);
	assert_memory_equal(a.cfg.nets[2].mac, want, 6);
	assert_int_equal(a.cfg.nets[3].queues, 1); /* the default: one pair */
	char label[VM_NET_LABEL_MAX];
	cli_net_label(&a.cfg.nets[1], label, sizeof(label));
	assert_string_equal(label, "fd=3:4:5");
	cli_net_label(&a.cfg.nets[0], label, sizeof(label));
	assert_string_equal(label, "tap=mq0");
	/* 16 fds, the most one --net takes */
	assert_int_equal(parse(&a, "--kernel", "k", "--net",
			       "fd=10:11:12:13:14:15:16:17:18:19:20:21:22:23:24:25", NULL), 0);
	assert_int_equal(a.cfg.nets[0].queues, 16);
	assert_int_equal(a.cfg.nets[0].fds[15], 25);
}

/* --net user: passt's defaults, forwards, and what it refuses */
static void test_cli_net_user(void **state)
{
	struct args a;
	const struct vm_net *n;
	char label[VM_NET_LABEL_MAX];

	assert_int_equal(parse(&a, "--kernel", "k", "--net", "user", NULL), 0);
	n = &a.cfg.nets[0];
	assert_true(n->user);
	assert_string_equal(n->ip, "10.0.2.15/24");
	assert_string_equal(n->gw, "10.0.2.2");
	assert_string_equal(n->dns, ""); /* from the host's resolvers at start */
	assert_int_equal(n->queues, 1);
	assert_int_equal(n->nr_forwards, 0);
	cli_net_label(n, label, sizeof(label));
	assert_string_equal(label, "user");
	assert_int_equal(n->mac[0], 0x02);
	assert_int_equal(parse(&a, "--kernel", "k", "--net",
			       "user,forward=tcp:8080:80,forward=udp:0.0.0.0:5353:53,"
			       "ip=192.168.9.5/24,gw=192.168.9.1,dns=192.168.9.1", "--net", "tap=t0",
			       NULL), 0);
	n = &a.cfg.nets[0];
	assert_int_equal(n->nr_forwards, 2);
	assert_false(n->forwards[0].udp);
	assert_string_equal(n->forwards[0].addr, "127.0.0.1");
	assert_int_equal(n->forwards[0].host, 8080);
	assert_int_equal(n->forwards[0].guest, 80);
	assert_true(n->forwards[1].udp);
	assert_string_equal(n->forwards[1].addr, "0.0.0.0");
	assert_int_equal(n->forwards[1].host, 5353);
	assert_int_equal(n->forwards[1].guest, 53);
	assert_string_equal(n->ip, "192.168.9.5/24");
	assert_string_equal(n->dns, "192.168.9.1");
	assert_false(a.cfg.nets[1].user);
	expect_err(&a, parse(&a, "--kernel", "k", "--net", "user,tap=t0", NULL),
		   "--net user,tap=t0: tap=, fd= and user exclude each other");
	expect_err(&a, parse(&a, "--kernel", "k", "--net", "user,queues=2", NULL),
		   "--net user,queues=2: one queue pair with user (passt serves one)");
	expect_err(&a, parse(&a, "--kernel", "k", "--net", "user,ip=10.1.1.2/24", NULL),
		   "--net user,ip=10.1.1.2/24: ip= with user needs gw= (the address that stands "
		   "for the host)");
	expect_err(&a, parse(&a, "--kernel", "k", "--net", "tap=t0,forward=tcp:1:2", NULL),
		   "--net tap=t0,forward=tcp:1:2: forward= is for --net user (a tap's traffic is "
		   "the host's to route)");
	expect_err(&a, parse(&a, "--kernel", "k", "--net", "user", "--net", "user", NULL),
		   "--net user: given twice (one passt network is enough: add forward= to it)");
	static const char *const bad[] = { "tcp:80", "sctp:1:2", "tcp:0:80", "tcp:80:65536",
					   "tcp:1.2.3:80:80", "tcp::80", "tcp:80:", "udp:a:b:c",
					   "tcp:8080:80x", "" };
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char arg[64], want[192];

		snprintf(arg, sizeof(arg), "user,forward=%s", bad[i]);
		snprintf(want, sizeof(want), "--net %s: malformed forward '%s' (expected "
			 "tcp|udp:[ADDR:]HOSTPORT:GUESTPORT, ports 1 to 65535)", arg, bad[i]);
		expect_err(&a, parse(&a, "--kernel", "k", "--net", arg, NULL), want);
	}
	/* 16 forwards, not 17 */
	char many[1024] = "user";
	for (int i = 0; i < 16; i++)
		snprintf(many + strlen(many), sizeof(many) - strlen(many), ",forward=tcp:%d:80",
			 10000 + i);
	static struct vm_config cfg;
	char err[512];
	assert_int_equal(cli_net(&cfg, many, err, sizeof(err)), 0);
	assert_int_equal(cfg.nets[0].nr_forwards, 16);
	strcat(many, ",forward=tcp:9:9");
	memset(&cfg, 0, sizeof(cfg));
	assert_int_equal(cli_net(&cfg, many, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "at most 16 forward="));
}

static void test_cli_net_queues_and_fds_errors(void **state)
{
	struct args a;

	expect_err(&a, parse(&a, "--kernel", "k", "--net", "tap=t,queues=0", NULL),
		   "--net tap=t,queues=0: queues must be 1 to 16");
	expect_err(&a, parse(&a, "--kernel", "k", "--net", "tap=t,queues=17", NULL),
		   "--net tap=t,queues=17: queues must be 1 to 16");
	expect_err(&a, parse(&a, "--kernel", "k", "--net", "tap=t,queues=-1", NULL),
		   "--net tap=t,queues=-1: queues must be 1 to 16");
	expect_err(&a, parse(&a, "--kernel", "k", "--net", "tap=t,queues=", NULL),
		   "--net tap=t,queues=: queues must be 1 to 16");
	expect_err(&a, parse(&a, "--kernel", "k", "--net", "tap=t,queues=0002", NULL),
		   "--net tap=t,queues=0002: queues must be 1 to 16");
	expect_err(&a, parse(&a, "--kernel", "k", "--net", "tap=t,fd=3", NULL),
		   "--net tap=t,fd=3: tap=, fd= and user exclude each other");
	expect_err(&a, parse(&a, "--kernel", "k", "--net", "fd=2", NULL),
		   "--net fd=2: fd '2' must be a descriptor number of 3 or more (0, 1 and 2 are "
		   "stdio)");
	expect_err(&a, parse(&a, "--kernel", "k", "--net", "fd=0", NULL),
		   "--net fd=0: fd '0' must be a descriptor number of 3 or more (0, 1 and 2 are "
		   "stdio)");
	expect_err(&a, parse(&a, "--kernel", "k", "--net", "fd=3:x", NULL),
		   "--net fd=3:x: fd 'x' must be a descriptor number of 3 or more (0, 1 and 2 are "
		   "stdio)");
	expect_err(&a, parse(&a, "--kernel", "k", "--net", "fd=3:", NULL),
		   "--net fd=3:: fd '' must be a descriptor number of 3 or more (0, 1 and 2 are "
		   "stdio)");
	expect_err(&a, parse(&a, "--kernel", "k", "--net", "fd=", NULL),
		   "--net fd=: fd '' must be a descriptor number of 3 or more (0, 1 and 2 are "
		   "stdio)");
	expect_err(&a, parse(&a, "--kernel", "k", "--net", "fd=99999999999", NULL),
		   "--net fd=99999999999: fd '99999999999' must be a descriptor number of 3 or more "
		   "(0, 1 and 2 are stdio)");
	expect_err(&a, parse(&a, "--kernel", "k", "--net", "fd=3:4:3", NULL),
		   "--net fd=3:4:3: fd 3 given twice");
	expect_err(&a, parse(&a, "--kernel", "k", "--net",
			     "fd=3:4:5:6:7:8:9:10:11:12:13:14:15:16:17:18:19", NULL),
		   "--net fd=3:4:5:6:7:8:9:10:11:12:13:14:15:16:17:18:19: at most 16 fds (one per "
		   "queue pair)");
	expect_err(&a, parse(&a, "--kernel", "k", "--net", "fd=3:4,queues=3", NULL),
		   "--net fd=3:4,queues=3: queues=3 but 2 fds (one fd per queue pair)");
	expect_err(&a, parse(&a, "--kernel", "k", "--net", "queues=2,fd=3", NULL),
		   "--net queues=2,fd=3: queues=2 but 1 fd (one fd per queue pair)");
	expect_err(&a, parse(&a, "--kernel", "k", "--net", "fd=3:4", "--net", "fd=5:4", NULL),
		   "--net fd=5:4: fd 4 used twice");
	expect_err(&a, parse(&a, "--kernel", "k", "--net", "fd=3,mac=02:00:00:00:00:01", "--net",
			     "tap=b,mac=02:00:00:00:00:01", NULL),
		   "--net tap=b: MAC address used twice");
	/* at most 32 queue pairs in all --net together */
	expect_err(&a, parse(&a, "--kernel", "k", "--net", "tap=a,queues=16", "--net",
			     "tap=b,queues=16", "--net", "tap=c", NULL),
		   "--net tap=c: more than 32 queue pairs in all --net together");
	assert_int_equal(parse(&a, "--kernel", "k", "--net", "tap=a,queues=16", "--net",
			       "tap=b,queues=16", NULL), 0);
}

static void test_cli_seccomp_modes(void **state)
{
	struct args a;

	assert_int_equal(parse(&a, "--kernel", "k", NULL), 0);
	assert_int_equal(a.cfg.seccomp, VM_SECCOMP_DEFAULT);
	assert_int_equal(parse(&a, "--kernel", "k", "--seccomp=on", NULL), 0);
	assert_int_equal(a.cfg.seccomp, VM_SECCOMP_ON);
	assert_int_equal(parse(&a, "--kernel", "k", "--seccomp", "log", NULL), 0);
	assert_int_equal(a.cfg.seccomp, VM_SECCOMP_LOG);
	assert_int_equal(parse(&a, "--kernel", "k", "--seccomp=off", NULL), 0);
	assert_int_equal(a.cfg.seccomp, VM_SECCOMP_OFF);
	assert_int_equal(parse(&a, "--kernel", "k", "--no-seccomp", NULL), 0);
	assert_int_equal(a.cfg.seccomp, VM_SECCOMP_OFF);
	/* the last one given wins */
	assert_int_equal(parse(&a, "--kernel", "k", "--no-seccomp", "--seccomp=log", NULL), 0);
	assert_int_equal(a.cfg.seccomp, VM_SECCOMP_LOG);
	expect_err(&a, parse(&a, "--kernel", "k", "--seccomp=ON", NULL),
		   "--seccomp ON: must be on, log or off");
	expect_err(&a, parse(&a, "--kernel", "k", "--seccomp=", NULL),
		   "--seccomp : must be on, log or off");
	expect_err(&a, parse(&a, "--kernel", "k", "--no-seccomp=1", NULL),
		   "unknown option --no-seccomp=1 (see --help)");
}

static void test_cli_net_errors(void **state)
{
	struct args a;

	expect_err(&a, parse(&a, "--kernel", "k", "--net", "mac=02:00:00:00:00:01", NULL),
		   "--net mac=02:00:00:00:00:01: expected tap=NAME, fd=N[:N...] or user, then "
		   "[,queues=N][,mac=MAC][,ip=A.B.C.D/N][,gw=A.B.C.D][,dns=A.B.C.D]"
		   "[,forward=tcp|udp:[ADDR:]HOSTPORT:GUESTPORT]");
	expect_err(&a, parse(&a, "--kernel", "k", "--net", "tap=abcdefghijklmnop", NULL),
		   "--net tap=abcdefghijklmnop: tap name must be 1 to 15 bytes without '/', ':' or "
		   "spaces");
	expect_err(&a, parse(&a, "--kernel", "k", "--net", "tap=", NULL),
		   "--net tap=: tap name must be 1 to 15 bytes without '/', ':' or spaces");
	expect_err(&a, parse(&a, "--kernel", "k", "--net", "tap=a/b", NULL),
		   "--net tap=a/b: tap name must be 1 to 15 bytes without '/', ':' or spaces");
	expect_err(&a, parse(&a, "--kernel", "k", "--net", "tap=t,mac=02:00:00:00:00", NULL),
		   "--net tap=t,mac=02:00:00:00:00: malformed MAC address '02:00:00:00:00' "
		   "(expected a unicast address like 02:00:00:00:00:01)");
	expect_err(&a, parse(&a, "--kernel", "k", "--net", "tap=t,mac=03:00:00:00:00:01", NULL),
		   "--net tap=t,mac=03:00:00:00:00:01: malformed MAC address '03:00:00:00:00:01' "
		   "(expected a unicast address like 02:00:00:00:00:01)");
	expect_err(&a, parse(&a, "--kernel", "k", "--net", "tap=t,ip=10.0.2.15", NULL),
		   "--net tap=t,ip=10.0.2.15: malformed address '10.0.2.15' (expected A.B.C.D/N, N "
		   "from 1 to 32)");
	expect_err(&a, parse(&a, "--kernel", "k", "--net", "tap=t,ip=10.0.2.300/24", NULL),
		   "--net tap=t,ip=10.0.2.300/24: malformed address '10.0.2.300/24' (expected "
		   "A.B.C.D/N, N from 1 to 32)");
	expect_err(&a, parse(&a, "--kernel", "k", "--net", "tap=t,ip=10.0.2.15/33", NULL),
		   "--net tap=t,ip=10.0.2.15/33: malformed address '10.0.2.15/33' (expected "
		   "A.B.C.D/N, N from 1 to 32)");
	expect_err(&a, parse(&a, "--kernel", "k", "--net", "tap=t,ip=10.0.2.15/24,gw=10.0.2", NULL),
		   "--net tap=t,ip=10.0.2.15/24,gw=10.0.2: malformed address '10.0.2' (expected "
		   "A.B.C.D)");
	expect_err(&a, parse(&a, "--kernel", "k", "--net", "tap=t,dns=1.1.1.1", NULL),
		   "--net tap=t,dns=1.1.1.1: gw= and dns= need ip=");
	expect_err(&a, parse(&a, "--kernel", "k", "--net", "tap=t,vhost=on", NULL),
		   "--net tap=t,vhost=on: unknown option 'vhost=on' (expected tap=NAME, "
		   "fd=N[:N...] or user, then [,queues=N][,mac=MAC][,ip=A.B.C.D/N][,gw=A.B.C.D]"
		   "[,dns=A.B.C.D][,forward=tcp|udp:[ADDR:]HOSTPORT:GUESTPORT])");
	expect_err(&a, parse(&a, "--kernel", "k", "--net", "tap=t", "--net", "tap=t", NULL),
		   "--net tap=t: tap used twice");
	expect_err(&a, parse(&a, "--kernel", "k", "--net", "tap=a,mac=02:00:00:00:00:01", "--net",
			     "tap=b,mac=02:00:00:00:00:01", NULL),
		   "--net tap=b: MAC address used twice");
}

static void test_cli_vsock_parsed_and_errors(void **state)
{
	struct args a;
	char want[256];

	/* either order; a relative PATH is made absolute through its directory */
	assert_int_equal(parse(&a, "--kernel", "k", "--vsock", cat3("socket=", "d/../e/v.sock",
								     ",cid=3"), NULL), 0);
	assert_true(a.cfg.vsock.enabled);
	assert_int_equal(a.cfg.vsock.cid, 3);
	assert_string_equal(a.cfg.vsock.socket, tmp_path("e/v.sock"));
	assert_int_equal(parse(&a, "--kernel", "k", "--vsock", "cid=4294967294,socket=v", NULL), 0);
	assert_int_equal(a.cfg.vsock.cid, 4294967294U);
	char cwd[200];
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	snprintf(want, sizeof(want), "%s%sv", cwd, strcmp(cwd, "/") ? "/" : "");
	assert_string_equal(a.cfg.vsock.socket, want);
	assert_int_equal(parse(&a, "--kernel", "k", NULL), 0);
	assert_false(a.cfg.vsock.enabled);
	expect_err(&a, parse(&a, "--kernel", "k", "--vsock", "cid=2,socket=/tmp/v", NULL),
		   "--vsock cid=2,socket=/tmp/v: cid must be a number from 3 to 4294967294");
	expect_err(&a, parse(&a, "--kernel", "k", "--vsock", "cid=4294967295,socket=/tmp/v", NULL),
		   "--vsock cid=4294967295,socket=/tmp/v: cid must be a number from 3 to 4294967294");
	expect_err(&a, parse(&a, "--kernel", "k", "--vsock", "cid=-3,socket=/tmp/v", NULL),
		   "--vsock cid=-3,socket=/tmp/v: cid must be a number from 3 to 4294967294");
	expect_err(&a, parse(&a, "--kernel", "k", "--vsock", "cid=3", NULL),
		   "--vsock cid=3: expected cid=N,socket=PATH");
	expect_err(&a, parse(&a, "--kernel", "k", "--vsock", "cid=3,socket=/tmp/", NULL),
		   "--vsock cid=3,socket=/tmp/: socket=PATH needs a file name");
	expect_err(&a, parse(&a, "--kernel", "k", "--vsock", "cid=3,port=1,socket=/tmp/v", NULL),
		   "--vsock cid=3,port=1,socket=/tmp/v: unknown option 'port=1' (expected "
		   "cid=N,socket=PATH)");
	assert_int_equal(parse(&a, "--kernel", "k", "--vsock", cat3("cid=3,socket=", "nodir/v", ""),
			       NULL), -EINVAL);
	snprintf(want, sizeof(want), "--vsock cid=3,socket=%s: %s: No such file or directory",
		 tmp_path("nodir/v"), tmp_path("nodir"));
	assert_string_equal(a.err, want);
	assert_int_equal(parse(&a, "--kernel", "k", "--vsock", cat3("cid=3,socket=", "f/v", ""),
			       NULL), -EINVAL);
	snprintf(want, sizeof(want), "--vsock cid=3,socket=%s: %s: not a directory",
		 tmp_path("f/v"), tmp_path("f"));
	assert_string_equal(a.err, want);
	/* PATH_4294967295 must fit a UNIX socket address: 96 bytes pass, 97 do not */
	char longp[13 + 97 + 1];
	memset(longp, 'a', sizeof(longp));
	memcpy(longp, "cid=3,socket=/tmp/", 18);
	longp[13 + 96] = 0;
	assert_int_equal(parse(&a, "--kernel", "k", "--vsock", longp, NULL), 0);
	assert_int_equal(strlen(a.cfg.vsock.socket), 96);
	longp[13 + 96] = 'a';
	longp[13 + 97] = 0;
	assert_int_equal(parse(&a, "--kernel", "k", "--vsock", longp, NULL), -EINVAL);
	assert_non_null(strstr(a.err, ": socket path /tmp/aaaa"));
}

static void test_cli_net_mac_and_ipv4_parsers(void **state)
{
	uint8_t m[6];
	char out[32];

	assert_int_equal(cli_parse_mac("0a:Bc:de:F0:12:34", 17, m), 0);
	assert_int_equal(m[1], 0xbc);
	assert_int_equal(cli_parse_mac("00:00:00:00:00:00", 17, m), -EINVAL);
	assert_int_equal(cli_parse_mac("ff:ff:ff:ff:ff:ff", 17, m), -EINVAL);
	assert_int_equal(cli_parse_mac("02-00-00-00-00-01", 17, m), -EINVAL);
	assert_int_equal(cli_parse_mac("02:00:00:00:00:0g", 17, m), -EINVAL);
	assert_int_equal(cli_parse_mac("02:00:00:00:00:01:", 18, m), -EINVAL);
	assert_int_equal(cli_parse_ipv4("10.0.2.15/24", 12, true, out, sizeof(out)), 0);
	assert_string_equal(out, "10.0.2.15/24");
	assert_int_equal(cli_parse_ipv4("10.0.2.15/024", 13, true, out, sizeof(out)), -EINVAL);
	assert_int_equal(cli_parse_ipv4("10.0.2.15/0", 11, true, out, sizeof(out)), -EINVAL);
	assert_int_equal(cli_parse_ipv4("10.0.2.15/+4", 12, true, out, sizeof(out)), -EINVAL);
	assert_int_equal(cli_parse_ipv4("0.0.0.0", 7, false, out, sizeof(out)), -EINVAL);
	assert_int_equal(cli_parse_ipv4("010.0.2.1", 9, false, out, sizeof(out)), -EINVAL);
	assert_int_equal(cli_parse_ipv4(" 10.0.2.1", 9, false, out, sizeof(out)), -EINVAL);
	assert_int_equal(cli_parse_ipv4("10.0.2.1/8", 10, false, out, sizeof(out)), -EINVAL);
}

static void test_cli_too_many_nets_fails(void **state)
{
	struct args a;
	char name[VM_MAX_NETS + 1][16];

	a.argc = 0;
	add_arg(&a, "agentvmm");
	add_arg(&a, "--kernel");
	add_arg(&a, "k");
	for (int i = 0; i <= VM_MAX_NETS; i++) {
		snprintf(name[i], sizeof(name[i]), "tap=t%d", i);
		add_arg(&a, "--net");
		add_arg(&a, name[i]);
	}
	assert_int_equal(cli_parse(a.argc, a.argv, &a.cfg, &a.action, a.err, sizeof(a.err)),
			 -EINVAL);
	assert_string_equal(a.err, "--net tap=t8: at most 8 network devices");
}

static void test_cli_api_socket_options(void **state)
{
	struct args a;
	char longp[VM_SOCK_MAX + 1];

	(void)state;
	assert_int_equal(parse(&a, "--kernel", "k", NULL), 0);
	assert_null(a.cfg.api_socket);
	assert_int_equal(a.cfg.nr_api_uids, 0);
	assert_int_equal(parse(&a, "--kernel", "k", "--api-socket", "/run/vm/control.socket",
			       "--api-allow-uid", "1000", "--api-allow-uid=0", NULL), 0);
	assert_string_equal(a.cfg.api_socket, "/run/vm/control.socket");
	assert_ptr_equal(a.cfg.api_socket, a.argv[4]);
	assert_int_equal(a.cfg.nr_api_uids, 2);
	assert_int_equal(a.cfg.api_uids[0], 1000);
	assert_int_equal(a.cfg.api_uids[1], 0);

	expect_err(&a, parse(&a, "--kernel", "k", "--api-socket", "", NULL),
		   "--api-socket : path must be 1 to 107 bytes");
	memset(longp, 's', sizeof(longp) - 1);
	longp[sizeof(longp) - 1] = 0;
	assert_int_equal(parse(&a, "--kernel", "k", "--api-socket", longp, NULL), -EINVAL);
	assert_non_null(strstr(a.err, ": path must be 1 to 107 bytes"));
	longp[VM_SOCK_MAX - 1] = 0; /* 107 bytes: fits sun_path with its NUL */
	assert_int_equal(parse(&a, "--kernel", "k", "--api-socket", longp, NULL), 0);
	static const char *const bad[] = { "", "x", "-1", "1.0", "4294967295", "99999999999" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char want[128];

		snprintf(want, sizeof(want), "--api-allow-uid %s: expected a numeric uid (at most 16 "
			 "of them)", bad[i]);
		expect_err(&a, parse(&a, "--kernel", "k", "--api-allow-uid", bad[i], NULL), want);
	}
	expect_err(&a, parse(&a, "--kernel", "k", "--api-socket", NULL),
		   "option --api-socket needs a value");
}

static void test_cli_too_many_api_uids_fails(void **state)
{
	struct args a;

	(void)state;
	a.argc = 0;
	add_arg(&a, "agentvmm");
	add_arg(&a, "--kernel");
	add_arg(&a, "k");
	for (int i = 0; i <= VM_MAX_API_UIDS; i++) {
		add_arg(&a, "--api-allow-uid");
		add_arg(&a, "7");
	}
	assert_int_equal(cli_parse(a.argc, a.argv, &a.cfg, &a.action, a.err, sizeof(a.err)),
			 -EINVAL);
	assert_string_equal(a.err, "--api-allow-uid 7: expected a numeric uid (at most 16 of them)");
}

static void test_cli_oem_strings_and_credentials_parsed(void **state)
{
	struct args a;

	(void)state;
	assert_int_equal(parse(&a, "--kernel", "k", "--oem-string", "one", "--oem-string",
			       "two = 2", "--set-credential", "host.name:vm:1=x", "--set-credential",
			       "empty:", "--load-credential", "key:/etc/k:colon", "--env", "A=1",
			       "--env", "B=2", "--", "true", NULL),
			 0);
	assert_int_equal(a.cfg.nr_oem_strings, 2);
	assert_string_equal(a.cfg.oem_strings[0], "one");
	assert_string_equal(a.cfg.oem_strings[1], "two = 2");
	assert_int_equal(a.cfg.nr_set_creds, 2);
	assert_string_equal(a.cfg.set_creds[0], "host.name:vm:1=x");
	assert_string_equal(a.cfg.set_creds[1], "empty:");
	assert_int_equal(a.cfg.nr_load_creds, 1);
	assert_string_equal(a.cfg.load_creds[0], "key:/etc/k:colon");
	/* a list after the three new ones still gets its own "cleared" slot */
	assert_int_equal(a.cfg.nr_env, 2);
}

static void test_cli_oem_and_credential_errors(void **state)
{
	struct args a;

	(void)state;
	expect_err(&a, parse(&a, "--kernel", "k", "--oem-string", "", NULL),
		   "--oem-string: must not be empty (SMBIOS ends its strings at an empty one)");
	expect_err(&a, parse(&a, "--kernel", "k", "--set-credential", "novalue", NULL),
		   "--set-credential novalue: expected NAME:VALUE");
	expect_err(&a, parse(&a, "--kernel", "k", "--load-credential", "nopath", NULL),
		   "--load-credential nopath: expected NAME:PATH");
	expect_err(&a, parse(&a, "--kernel", "k", "--load-credential", "k:", NULL),
		   "--load-credential k:: expected NAME:PATH");
	expect_err(&a, parse(&a, "--kernel", "k", "--set-credential", ":v", NULL),
		   "--set-credential :v: credential name '' is not valid (1 to 255 printable "
		   "ASCII characters, not . or .., no '/', ':' or '=')");
	expect_err(&a, parse(&a, "--kernel", "k", "--set-credential", "a/b:v", NULL),
		   "--set-credential a/b:v: credential name 'a/b' is not valid (1 to 255 "
		   "printable ASCII characters, not . or .., no '/', ':' or '=')");
	expect_err(&a, parse(&a, "--kernel", "k", "--load-credential", "..:/f", NULL),
		   "--load-credential ..:/f: credential name '..' is not valid (1 to 255 "
		   "printable ASCII characters, not . or .., no '/', ':' or '=')");
	expect_err(&a, parse(&a, "--kernel", "k", "--set-credential", "a=b:v", NULL),
		   "--set-credential a=b:v: credential name 'a=b' is not valid (1 to 255 "
		   "printable ASCII characters, not . or .., no '/', ':' or '=')");
	/* a control character is shown as '?' (one printable line) */
	expect_err(&a, parse(&a, "--kernel", "k", "--set-credential", "a\tb:v", NULL),
		   "--set-credential a?b:v: credential name 'a?b' is not valid (1 to 255 "
		   "printable ASCII characters, not . or .., no '/', ':' or '=')");
	expect_err(&a, parse(&a, "--kernel", "k", "--set-credential", "n:1", "--load-credential",
			     "n:/f", NULL),
		   "credential 'n' given twice (--set-credential, --load-credential)");
	expect_err(&a, parse(&a, "--raw-image", "r", "--oem-string", "x", NULL),
		   "--oem-string, --set-credential and --load-credential need a kernel (not with "
		   "--raw-image)");
}

/* The bounds, through cli_set() (as avm_config_set and the config file reach them). */
static void test_cli_oem_bounds(void **state)
{
	static char big[SMBIOS_OEM_MAX_BYTES + 8];
	struct vm_config cfg;
	char err[256];

	(void)state;
	config_init(&cfg);
	memset(big, 'b', sizeof(big) - 1);
	big[SMBIOS_OEM_MAX_BYTES - 1] = 0; /* 49151 bytes + NUL: the most one string may have */
	assert_int_equal(cli_set(&cfg, "oem-string", big, err, sizeof(err)), 0);
	big[SMBIOS_OEM_MAX_BYTES - 1] = 'b';
	big[SMBIOS_OEM_MAX_BYTES] = 0;
	assert_int_equal(cli_set(&cfg, "oem-string", big, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "--oem-string bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb...: longer than the "
				 "49151 bytes all OEM strings may have together");
	memcpy(big, "n:", 2);
	big[SMBIOS_OEM_MAX_BYTES - 23] = 0; /* "io.systemd.credential:" + n=... + NUL = 49152 */
	assert_int_equal(cli_set(&cfg, "set-credential", big, err, sizeof(err)), 0);
	big[SMBIOS_OEM_MAX_BYTES - 23] = 'b';
	big[SMBIOS_OEM_MAX_BYTES - 22] = 0;
	assert_int_equal(cli_set(&cfg, "set-credential", big, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "--set-credential n:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbb...: longer than "
				 "the 49151 bytes all OEM strings may have together");

	/* at most 255 in one list; and 255 in the three together (cli_check) */
	config_init(&cfg);
	cfg.kernel = "k";
	for (int i = 0; i < VM_MAX_OEM_STRINGS; i++)
		assert_int_equal(cli_set(&cfg, "oem-string", "o", err, sizeof(err)), 0);
	assert_int_equal(cli_check(&cfg, err, sizeof(err)), 0);
	assert_int_equal(cli_set(&cfg, "oem-string", "o", err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "--oem-string o: more than 255");
	assert_int_equal(cli_set(&cfg, "load-credential", "l:/f", err, sizeof(err)), 0);
	assert_int_equal(cli_check(&cfg, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "--oem-string, --set-credential, --load-credential: 256 SMBIOS OEM "
				 "strings, more than 255");
	config_init(&cfg);
	for (int i = 0; i < VM_MAX_OEM_STRINGS; i++)
		assert_int_equal(cli_set(&cfg, "set-credential", "n:v", err, sizeof(err)), 0);
	assert_int_equal(cli_set(&cfg, "set-credential", "n:v", err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "--set-credential n:v: more than 255");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cli_kernel_only_defaults),
		cmocka_unit_test(test_cli_every_option_parsed),
		cmocka_unit_test(test_cli_equals_form_parsed),
		cmocka_unit_test(test_cli_last_value_wins),
		cmocka_unit_test(test_cli_unique_prefix_accepted),
		cmocka_unit_test(test_cli_raw_image_without_kernel_ok),
		cmocka_unit_test(test_cli_missing_kernel_fails),
		cmocka_unit_test(test_cli_workload_after_ddash_untouched),
		cmocka_unit_test(test_cli_ddash_first_then_workload),
		cmocka_unit_test(test_cli_trailing_ddash_no_workload),
		cmocka_unit_test(test_cli_stray_argument_fails),
		cmocka_unit_test(test_cli_ddash_as_option_value_not_separator),
		cmocka_unit_test(test_cli_init_parsed_and_checked),
		cmocka_unit_test(test_cli_unknown_long_option_fails),
		cmocka_unit_test(test_cli_value_for_flag_names_long_option),
		cmocka_unit_test(test_cli_unknown_short_option_fails),
		cmocka_unit_test(test_cli_missing_value_fails),
		cmocka_unit_test(test_cli_next_option_taken_as_value),
		cmocka_unit_test(test_cli_cpus_bounds),
		cmocka_unit_test(test_cli_cpus_junk_fails),
		cmocka_unit_test(test_cli_mem_bounds),
		cmocka_unit_test(test_cli_mem_junk_fails),
		cmocka_unit_test(test_cli_shutdown_timeout),
		cmocka_unit_test(test_cli_help_and_version_actions),
		cmocka_unit_test(test_cli_reparse_after_half_group_clean),
		cmocka_unit_test(test_cli_control_chars_in_message_replaced),
		cmocka_unit_test(test_cli_argc_zero_fails_cleanly),
		cmocka_unit_test(test_cli_small_err_buffer_truncated),
		cmocka_unit_test(test_cli_usage_mentions_options),
		cmocka_unit_test(test_cli_share_ro_rw_and_defaults),
		cmocka_unit_test(test_cli_share_host_canonicalised),
		cmocka_unit_test(test_cli_share_errors),
		cmocka_unit_test(test_cli_share_twice_fails),
		cmocka_unit_test(test_cli_fs_parsed),
		cmocka_unit_test(test_cli_fs_errors),
		cmocka_unit_test(test_cli_ksm),
		cmocka_unit_test(test_cli_balloon),
		cmocka_unit_test(test_cli_owner),
		cmocka_unit_test(test_cli_too_many_shares_fails),
		cmocka_unit_test(test_cli_pmem_parsed),
		cmocka_unit_test(test_cli_pmem_errors),
		cmocka_unit_test(test_cli_pmem_long_path_and_mount),
		cmocka_unit_test(test_cli_too_many_pmems_fails),
		cmocka_unit_test(test_cli_pmem_mount_clashes_fail),
		cmocka_unit_test(test_cli_net_full_and_minimal),
		cmocka_unit_test(test_cli_net_errors),
		cmocka_unit_test(test_cli_net_user),
		cmocka_unit_test(test_cli_net_queues_and_fds_parsed),
		cmocka_unit_test(test_cli_net_queues_and_fds_errors),
		cmocka_unit_test(test_cli_seccomp_modes),
		cmocka_unit_test(test_cli_net_mac_and_ipv4_parsers),
		cmocka_unit_test(test_cli_vsock_parsed_and_errors),
		cmocka_unit_test(test_cli_too_many_nets_fails),
		cmocka_unit_test(test_cli_api_socket_options),
		cmocka_unit_test(test_cli_too_many_api_uids_fails),
		cmocka_unit_test(test_cli_oem_strings_and_credentials_parsed),
		cmocka_unit_test(test_cli_oem_and_credential_errors),
		cmocka_unit_test(test_cli_oem_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, share_group_teardown);
}
