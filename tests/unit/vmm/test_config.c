// SPDX-License-Identifier: MIT
/*
 * test_config.c: the option table behind flags, avm_config_set() and the
 * JSON config file: every key through each path, every error text, JSON
 * types, flags overriding a --config file, and the owned-string config.
 */
#include <errno.h>
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

#include "agentvmm.h"
#include <stdint.h>

/* a writable-typed pointer to a literal (getopt wants char **; it never writes) */
#define A(s) ((char *)(uintptr_t)(s))
#include "vmm/cli.h"
#include "vmm/config_json.h"

static char tmp[] = "/tmp/avm-config-XXXXXX";
static char sock_path[100], dir_path[100];

static int setup(void **state)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (!mkdtemp(tmp))
		return -1;
	snprintf(dir_path, sizeof(dir_path), "%s/d", tmp);
	snprintf(sock_path, sizeof(sock_path), "%s/s", tmp);
	if (mkdir(dir_path, 0755))
		return -1;
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)))
		return -1;
	close(fd);
	return 0;
}

static int teardown(void **state)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	return system(cmd) ? -1 : 0;
}

/* JSON (text) onto a fresh config; err holds the message. */
static int json(struct vm_config *cfg, const char *text, char *err, size_t len)
{
	config_fini(cfg);
	memset(err, 'X', len);
	err[len - 1] = 0;
	return config_json_parse(cfg, "vm.json", text, strlen(text), err, len);
}

static const char *write_file(const char *name, const char *text)
{
	static char path[2][300];
	static int i;
	FILE *f;

	i ^= 1;
	snprintf(path[i], sizeof(path[i]), "%s/%s", tmp, name);
	f = fopen(path[i], "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return path[i];
}

static void test_config_every_key_by_name(void **state)
{
	struct vm_config cfg;
	char err[512], share[300], fs[300];

	config_init(&cfg);
	const struct { const char *k, *v; } kv[] = {
		{ "kernel", "bz" }, { "initrd", "ird" }, { "cmdline", "a=b" },
		{ "modules-dir", "/m" }, { "raw-image", "r.bin" }, { "console", "none" },
		{ "cpus", "3" }, { "mem", "64" }, { "owner", "1:2" }, { "console-log", "true" },
		{ "verbose", "2" }, { "disk", "d.img,ro" }, { "net", "tap=t0,ip=10.0.0.2/24" },
	};
	for (size_t i = 0; i < sizeof(kv) / sizeof(kv[0]); i++)
		assert_int_equal(cli_set(&cfg, kv[i].k, config_keep(&cfg, kv[i].v), err,
					 sizeof(err)), 0);
	snprintf(share, sizeof(share), "ro:%s:/g", dir_path);
	snprintf(fs, sizeof(fs), "tag=t,socket=%s", sock_path);
	assert_int_equal(cli_set(&cfg, "share", config_keep(&cfg, share), err, sizeof(err)), 0);
	assert_int_equal(cli_set(&cfg, "fs", config_keep(&cfg, fs), err, sizeof(err)), 0);
	assert_string_equal(cfg.kernel, "bz");
	assert_string_equal(cfg.initrd, "ird");
	assert_string_equal(cfg.cmdline, "a=b");
	assert_string_equal(cfg.modules_dir, "/m");
	assert_string_equal(cfg.raw_image, "r.bin");
	assert_string_equal(cfg.console, "none");
	assert_int_equal(cfg.cpus, 3);
	assert_int_equal(cfg.mem_mib, 64);
	assert_true(cfg.owner_set);
	assert_int_equal(cfg.owner_uid, 1);
	assert_int_equal(cfg.owner_gid, 2);
	assert_true(cfg.console_log);
	assert_int_equal(cfg.verbose, 2);
	assert_int_equal(cfg.nr_disks, 1);
	assert_true(cfg.disks[0].readonly);
	assert_int_equal(cfg.nr_nets, 1);
	assert_string_equal(cfg.nets[0].ip, "10.0.0.2/24");
	assert_int_equal(cfg.nr_shares, 2);
	assert_string_equal(cfg.shares[0].guest, "/g");
	assert_true(cfg.shares[1].external);
	/* bools and counts */
	assert_int_equal(cli_set(&cfg, "console-log", "false", err, sizeof(err)), 0);
	assert_false(cfg.console_log);
	assert_int_equal(cli_set(&cfg, "console-log", NULL, err, sizeof(err)), 0);
	assert_true(cfg.console_log);
	assert_int_equal(cli_set(&cfg, "verbose", NULL, err, sizeof(err)), 0);
	assert_int_equal(cfg.verbose, 3);
	assert_int_equal(cli_check(&cfg, err, sizeof(err)), 0);
	/* the table is complete: each entry is findable by its own name */
	for (size_t i = 0; cli_opt_at(i); i++)
		assert_ptr_equal(cli_opt_find(cli_opt_at(i)->name), cli_opt_at(i));
	config_fini(&cfg);
}

/* A value refused by name must fail with exactly the flag's message. */
static void same_error(const char *key, const char *value)
{
	char flag[64], e1[512], e2[512];
	char *argv[] = { A("agentvmm"), flag, A(value), NULL };
	struct vm_config a, b;
	enum cli_action act;

	snprintf(flag, sizeof(flag), "--%s", key);
	config_init(&b);
	assert_int_equal(cli_parse(3, argv, &a, &act, e1, sizeof(e1)), -EINVAL);
	assert_int_equal(cli_set(&b, key, value, e2, sizeof(e2)), -EINVAL);
	assert_string_equal(e1, e2);
	config_fini(&b);
}

static void test_config_errors_are_the_flags_errors(void **state)
{
	char err[512];
	struct vm_config cfg;

	same_error("cpus", "0");
	same_error("cpus", "x");
	same_error("mem", "1");
	same_error("owner", "a:b");
	same_error("disk", "d.img,bogus");
	same_error("share", "xx:/tmp");
	same_error("fs", "tag=t");
	same_error("net", "mac=02:00:00:00:00:01");
	same_error("net", "tap=t,queues=17");
	same_error("net", "fd=2");
	same_error("net", "fd=3:4,queues=3");
	same_error("console", "");
	same_error("vsock", "cid=2,socket=/tmp/v");
	same_error("vsock", "socket=/tmp/v");
	same_error("balloon", "reporting=maybe");
	same_error("balloon", "stats=3601");
	config_init(&cfg);
	assert_int_equal(cli_set(&cfg, "verbose", "4", err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "--verbose 4: must be a number from 0 to 3");
	assert_int_equal(cli_set(&cfg, "console-log", "yes", err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "--console-log yes: expected true or false");
	assert_int_equal(cli_set(&cfg, "bogus", "1", err, sizeof(err)), -ENOENT);
	assert_string_equal(err, "unknown option 'bogus'");
	assert_int_equal(cli_set(&cfg, "help", NULL, err, sizeof(err)), -ENOENT);
	assert_int_equal(cli_set(&cfg, "kernel", NULL, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "option --kernel needs a value");
	config_fini(&cfg);
}

static void test_config_json_every_type(void **state)
{
	struct vm_config cfg;
	char err[512], text[2048];

	config_init(&cfg);
	snprintf(text, sizeof(text),
		 "{\"kernel\": \"bz\", \"initrd\": \"i\", \"cmdline\": \"q\", \"modules-dir\": \"/m\","
		 " \"console\": \"out.log\", \"cpus\": 2, \"mem\": 128, \"owner\": \"5:6\","
		 " \"console-log\": true, \"verbose\": 1, \"disk\": [\"a.img\", \"b.img,ro\"],"
		 " \"share\": [\"rw:%s:/w\"], \"fs\": [\"tag=x,socket=%s,mount=/x\"],"
		 " \"net\": [\"tap=t1\", \"fd=3:4,mac=02:00:00:00:00:07\", \"tap=t2,queues=4\"],"
		 " \"command\": [\"sh\", \"-c\", \"exit 3\"]}",
		 dir_path, sock_path);
	assert_int_equal(json(&cfg, text, err, sizeof(err)), 0);
	assert_string_equal(cfg.kernel, "bz");
	assert_string_equal(cfg.initrd, "i");
	assert_string_equal(cfg.cmdline, "q");
	assert_string_equal(cfg.modules_dir, "/m");
	assert_string_equal(cfg.console, "out.log");
	assert_int_equal(cfg.cpus, 2);
	assert_int_equal(cfg.mem_mib, 128);
	assert_int_equal(cfg.owner_uid, 5);
	assert_true(cfg.console_log);
	assert_int_equal(cfg.verbose, 1);
	assert_int_equal(cfg.nr_disks, 2);
	assert_string_equal(cfg.disks[1].path, "b.img");
	assert_int_equal(cfg.nr_shares, 2);
	assert_false(cfg.shares[0].readonly);
	assert_string_equal(cfg.shares[1].tag, "x");
	assert_int_equal(cfg.nr_nets, 3);
	/* issue 16: fd= and queues= through the --net parser */
	assert_int_equal(cfg.nets[1].nr_fds, 2);
	assert_int_equal(cfg.nets[1].fds[1], 4);
	assert_int_equal(cfg.nets[1].queues, 2);
	assert_int_equal(cfg.nets[2].queues, 4);
	assert_int_equal(cfg.argc, 3);
	assert_string_equal(cfg.argv[2], "exit 3");
	assert_null(cfg.argv[3]);
	/* verbose takes a boolean too; an empty command means interactive */
	assert_int_equal(json(&cfg, "{\"verbose\": true, \"console-log\": false, \"command\": []}",
			      err, sizeof(err)), 0);
	assert_int_equal(cfg.verbose, 1);
	assert_false(cfg.console_log);
	assert_int_equal(cfg.argc, 0);
	assert_int_equal(json(&cfg, "{}", err, sizeof(err)), 0);
	/* --vsock as a key: the same parser (PATH made absolute) */
	snprintf(text, sizeof(text), "{\"vsock\": \"cid=7,socket=%s/v.sock\"}", dir_path);
	assert_int_equal(json(&cfg, text, err, sizeof(err)), 0);
	assert_true(cfg.vsock.enabled);
	assert_int_equal(cfg.vsock.cid, 7);
	assert_non_null(strstr(cfg.vsock.socket, "/v.sock"));
	assert_true(cfg.vsock.socket[0] == '/');
	/* --balloon as a key: the same parser */
	assert_int_equal(json(&cfg, "{\"balloon\": \"off\"}", err, sizeof(err)), 0);
	assert_false(cfg.balloon.enabled);
	assert_int_equal(json(&cfg, "{\"balloon\": \"stats=10\"}", err, sizeof(err)), 0);
	assert_true(cfg.balloon.enabled);
	assert_int_equal(cfg.balloon.stats_s, 10);
	config_fini(&cfg);
}

static void expect_json_err(const char *text, const char *msg)
{
	struct vm_config cfg;
	char err[512];

	config_init(&cfg);
	if (json(&cfg, text, err, sizeof(err)) != -EINVAL)
		fail_msg("accepted: %s", text);
	assert_string_equal(err, msg);
	config_fini(&cfg);
}

static void test_config_json_errors_name_the_key(void **state)
{
	expect_json_err("{\"bogus\": 1}", "vm.json: \"bogus\": unknown key");
	expect_json_err("{\"help\": true}", "vm.json: \"help\": unknown key");
	expect_json_err("{\"config\": \"x\"}", "vm.json: \"config\": unknown key");
	expect_json_err("{\"mem\": \"512\"}", "vm.json: \"mem\": expected a number");
	expect_json_err("{\"cpus\": 1.5}", "vm.json: \"cpus\": expected a whole number");
	expect_json_err("{\"cpus\": -1}", "vm.json: \"cpus\": expected a whole number");
	expect_json_err("{\"cpus\": 1e300}", "vm.json: \"cpus\": expected a whole number");
	expect_json_err("{\"cpus\": 0}", "vm.json: --cpus 0: must be a number from 1 to 255");
	expect_json_err("{\"kernel\": 1}", "vm.json: \"kernel\": expected a string");
	expect_json_err("{\"kernel\": null}", "vm.json: \"kernel\": expected a string");
	expect_json_err("{\"console-log\": 1}", "vm.json: \"console-log\": expected true or false");
	expect_json_err("{\"verbose\": \"1\"}",
			"vm.json: \"verbose\": expected a number or true/false");
	expect_json_err("{\"verbose\": 9}", "vm.json: --verbose 9: must be a number from 0 to 3");
	expect_json_err("{\"disk\": \"a.img\"}", "vm.json: \"disk\": expected an array of strings");
	expect_json_err("{\"disk\": [\"a.img\", 2]}",
			"vm.json: \"disk\": expected an array of strings");
	expect_json_err("{\"disk\": [\"a.img,bad\"]}",
			"vm.json: --disk a.img,bad: unknown option 'bad' (expected ro, direct or "
			"mount=/absolute/path)");
	expect_json_err("{\"command\": \"ls\"}",
			"vm.json: \"command\": expected an array of strings");
	expect_json_err("{\"command\": [\"ls\", null]}",
			"vm.json: \"command\": expected an array of strings");
	expect_json_err("{\"mem\": 64, \"mem\": 32}", "vm.json: \"mem\": key given twice");
	expect_json_err("[1, 2]", "vm.json: expected a JSON object ({\"kernel\": ...})");
	expect_json_err("\"kernel\"", "vm.json: expected a JSON object ({\"kernel\": ...})");
	expect_json_err("{\"kernel\": \"a\",\n\"mem\": }", "vm.json: not valid JSON (line 2)");
	expect_json_err("", "vm.json: not valid JSON (line 1)");
	expect_json_err("{\"kernel\": \"a\"} x", "vm.json: not valid JSON (line 1)");
}

static void test_config_json_file_errors(void **state)
{
	struct vm_config cfg;
	char err[512], want[600];

	config_init(&cfg);
	snprintf(want, sizeof(want), "--config %s/none.json: No such file or directory", tmp);
	char path[300];

	snprintf(path, sizeof(path), "%s/none.json", tmp);
	assert_int_equal(config_json_load(&cfg, path, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, want);
	assert_int_equal(config_json_load(&cfg, tmp, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "must be a regular file"));
	const char *f = write_file("bad.json", "{\"mem\": true}");
	snprintf(want, sizeof(want), "%s: \"mem\": expected a number", f);
	assert_int_equal(config_json_load(&cfg, f, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, want);
	config_fini(&cfg);
}

static void test_config_flags_override_file(void **state)
{
	const char *f = write_file("vm.json",
				   "{\"kernel\": \"file-k\", \"mem\": 64, \"cpus\": 2,"
				   " \"disk\": [\"f1.img\", \"f2.img\"], \"net\": [\"tap=ft\"],"
				   " \"command\": [\"file-cmd\"]}");
	char *argv[] = { A("agentvmm"), A("--mem"), A("32"), A("--config"),
			 A(f), A("--disk"), A("c.img"), A("--"), A("cmd"),
			 A("arg"), NULL };
	char *argv2[] = { A("agentvmm"), A("--config"), A(f), NULL };
	char *argv3[] = { A("agentvmm"), A("--config"), A(f), A("--help"),
			  NULL };
	struct vm_config cfg;
	enum cli_action act;
	char err[512];

	/* scalar flags replace (before or after --config), a list flag replaces the list */
	assert_int_equal(cli_parse(10, argv, &cfg, &act, err, sizeof(err)), 0);
	assert_string_equal(cfg.kernel, "file-k");
	assert_int_equal(cfg.mem_mib, 32);
	assert_int_equal(cfg.cpus, 2);
	assert_int_equal(cfg.nr_disks, 1);
	assert_string_equal(cfg.disks[0].path, "c.img");
	assert_int_equal(cfg.nr_nets, 1); /* no --net flag: the file's list stays */
	assert_int_equal(cfg.argc, 2);
	assert_string_equal(cfg.argv[0], "cmd");
	config_fini(&cfg);
	/* the file alone */
	assert_int_equal(cli_parse(3, argv2, &cfg, &act, err, sizeof(err)), 0);
	assert_int_equal(cfg.nr_disks, 2);
	assert_int_equal(cfg.argc, 1);
	assert_string_equal(cfg.argv[0], "file-cmd");
	config_fini(&cfg);
	/* --help does not read the file */
	assert_int_equal(cli_parse(4, argv3, &cfg, &act, err, sizeof(err)), 0);
	assert_int_equal(act, CLI_HELP);
	assert_null(cfg.kernel);
	config_fini(&cfg);
	/* a bad file is the error, whatever the flags */
	const char *bad = write_file("bad2.json", "{\"kernal\": \"x\"}");
	char *argv4[] = { A("agentvmm"), A("--kernel"), A("k"), A("--config"),
			  A(bad), NULL };
	char want[600];

	snprintf(want, sizeof(want), "%s: \"kernal\": unknown key", bad);
	assert_int_equal(cli_parse(5, argv4, &cfg, &act, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, want);
	config_fini(&cfg);
}

static void test_config_public_api(void **state)
{
	struct avm_config *cfg = avm_config_new();
	const char *cmd[] = { "sh", "-c", "exit 3" };
	struct avm_error err;
	char a0[] = "agentvmm", a1[] = "--kernel", a2[] = "bz", a3[] = "--", a4[] = "w";
	char *argv[] = { a0, a1, a2, a3, a4, NULL };
	enum avm_args_action act;

	assert_non_null(cfg);
	assert_int_equal(avm_config_set(cfg, "mem", "0", &err), -EINVAL);
	assert_int_equal(err.code, -EINVAL);
	assert_non_null(strstr(err.msg, "--mem 0: must be a number of MiB from 16"));
	assert_int_equal(avm_config_set(cfg, "nope", "1", &err), -ENOENT);
	assert_string_equal(err.msg, "unknown option 'nope'");
	assert_int_equal(avm_config_set(cfg, "disk", "a.img", &err), 0);
	assert_int_equal(err.code, 0);
	assert_int_equal(avm_config_clear_list(cfg, "mem", &err), -EINVAL);
	assert_int_equal(avm_config_clear_list(cfg, "disk", &err), 0);
	assert_int_equal(avm_config_set_command(cfg, 3, cmd, &err), 0);
	assert_int_equal(avm_config_set_command(cfg, -1, cmd, &err), -EINVAL);
	assert_int_equal(avm_config_check(cfg, &err), -EINVAL);
	assert_string_equal(err.msg, "--kernel is required (see --help)");
	assert_int_equal(avm_config_load_json_text(cfg, "t", "{\"verbose\": 2}", 14, &err), 0);
	assert_int_equal(avm_config_verbose(cfg), 2);
	assert_int_equal(avm_config_load_json_text(cfg, "t", "{\"mem\": []}", 11, &err), -EINVAL);
	assert_string_equal(err.msg, "t: \"mem\": expected a number");
	/* parse_args copies: the config outlives argv */
	assert_int_equal(avm_config_parse_args(cfg, 5, argv, &act, &err), 0);
	assert_int_equal(act, AVM_ARGS_RUN);
	memset(a2, 0, sizeof(a2));
	memset(a4, 0, sizeof(a4));
	assert_int_equal(avm_config_check(cfg, &err), 0);
	assert_non_null(avm_usage());
	assert_string_equal(avm_version(), "0.1.0");
	avm_config_free(cfg);
	avm_config_free(NULL);
}

static void test_config_copy_is_deep(void **state)
{
	struct vm_config a, b;
	const char *cmd[] = { "x", "y" };
	char err[256];

	config_init(&a);
	assert_int_equal(cli_set(&a, "kernel", config_keep(&a, "k"), err, sizeof(err)), 0);
	assert_int_equal(cli_set(&a, "console", config_keep(&a, "c.log"), err, sizeof(err)), 0);
	assert_int_equal(config_set_argv(&a, 2, cmd), 0);
	assert_int_equal(config_copy(&b, &a), 0);
	assert_ptr_not_equal(a.kernel, b.kernel);
	assert_ptr_not_equal(a.argv, b.argv);
	config_fini(&a);
	assert_string_equal(b.kernel, "k");
	assert_string_equal(b.console, "c.log");
	assert_string_equal(b.argv[1], "y");
	config_fini(&b);
}

/* The SMBIOS OEM string keys: arrays in the file, replaced by flags, copied deep. */
static void test_config_oem_string_keys(void **state)
{
	static const char text[] = "{\"kernel\": \"k\", \"oem-string\": [\"o1\", \"o2\"],"
				   " \"set-credential\": [\"a:1\"], \"load-credential\": [\"b:/f\"]}";
	const char *f = write_file("oem.json", text);
	char *argv[] = { A("agentvmm"), A("--config"), A(f), A("--oem-string"), A("flag"), NULL };
	struct vm_config cfg, copy;
	struct avm_config *ac = avm_config_new();
	struct avm_error aerr;
	enum cli_action act;
	char err[512];

	config_init(&cfg);
	assert_int_equal(json(&cfg, text, err, sizeof(err)), 0);
	assert_int_equal(cfg.nr_oem_strings, 2);
	assert_string_equal(cfg.oem_strings[1], "o2");
	assert_int_equal(cfg.nr_set_creds, 1);
	assert_string_equal(cfg.set_creds[0], "a:1");
	assert_int_equal(cfg.nr_load_creds, 1);
	assert_string_equal(cfg.load_creds[0], "b:/f");
	assert_int_equal(config_copy(&copy, &cfg), 0);
	assert_ptr_not_equal(copy.set_creds[0], cfg.set_creds[0]);
	config_fini(&cfg);
	assert_string_equal(copy.oem_strings[0], "o1");
	assert_string_equal(copy.set_creds[0], "a:1");
	assert_string_equal(copy.load_creds[0], "b:/f");
	config_fini(&copy);

	/* the flag's list replaces the file's; the other two lists stay */
	assert_int_equal(cli_parse(5, argv, &cfg, &act, err, sizeof(err)), 0);
	assert_int_equal(cfg.nr_oem_strings, 1);
	assert_string_equal(cfg.oem_strings[0], "flag");
	assert_int_equal(cfg.nr_set_creds, 1);
	config_fini(&cfg);

	/* errors are the flags' own, prefixed with the file */
	assert_int_equal(json(&cfg, "{\"set-credential\": [\"a/b:1\"]}", err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "vm.json: --set-credential a/b:1: credential name 'a/b' is not "
				 "valid (1 to 255 printable ASCII characters, not . or .., no '/', "
				 "':' or '=')");
	assert_int_equal(json(&cfg, "{\"oem-string\": \"x\"}", err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "vm.json: \"oem-string\": expected an array of strings");
	config_fini(&cfg);

	/* the library: each call appends, clear_list empties */
	assert_non_null(ac);
	assert_int_equal(avm_config_set(ac, "load-credential", "k:/etc/hostname", &aerr), 0);
	assert_int_equal(avm_config_set(ac, "load-credential", "nopath", &aerr), -EINVAL);
	assert_string_equal(aerr.msg, "--load-credential nopath: expected NAME:PATH");
	assert_int_equal(avm_config_clear_list(ac, "oem-string", &aerr), 0);
	avm_config_free(ac);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_every_key_by_name),
		cmocka_unit_test(test_config_errors_are_the_flags_errors),
		cmocka_unit_test(test_config_json_every_type),
		cmocka_unit_test(test_config_json_errors_name_the_key),
		cmocka_unit_test(test_config_json_file_errors),
		cmocka_unit_test(test_config_flags_override_file),
		cmocka_unit_test(test_config_public_api),
		cmocka_unit_test(test_config_copy_is_deep),
		cmocka_unit_test(test_config_oem_string_keys),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
