// SPDX-License-Identifier: MIT
/*
 * test_cli_egress.c: --egress items (vmm/cli_egress.c) through the option
 * table as the flags, config files and avm_config_set() reach them, the
 * checks across options, and the merged allow list the proxy is started
 * with (real files in a temp directory).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "tests/helpers/th.h"
#include "vmm/cli.h"
#include "vmm/cli_egress.h"
#include "vmm/config.h"

static char dir[] = "/tmp/av-cli-egress-XXXXXX";

static const char *file(const char *name, const char *text)
{
	static char p[4][128];
	static unsigned i;
	FILE *f;

	i = (i + 1) % 4;
	snprintf(p[i], sizeof(p[i]), "%s/%s", dir, name);
	f = fopen(p[i], "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
	return p[i];
}

static int setup(void **state)
{
	(void)state;
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* cli_set(cfg, "egress", arg) with the config holding a copy of (arg), as the CLI does */
static int egress(struct vm_config *cfg, const char *arg, char *err, size_t len)
{
	return cli_set(cfg, "egress", config_keep(cfg, arg), err, len);
}

static void test_cli_egress_items_add_up(void **state)
{
	struct vm_config cfg;
	struct cli_egress_plan plan;
	char err[256];

	(void)state;
	config_init(&cfg);
	cfg.kernel = "k";
	assert_false(cfg.egress.enabled);
	assert_int_equal(egress(&cfg, "allow=api.example.com,*.github.com:443,10.0.0.0/8", err,
				sizeof(err)), 0);
	assert_int_equal(egress(&cfg, file("f", "# comment\nregistry.npmjs.org:443\n\n"), err,
				sizeof(err)), -EINVAL); /* a path alone is not an item */
	char item[200];
	snprintf(item, sizeof(item), "file=%s,log=%s/reached", file("f", "# comment\n"
		 "registry.npmjs.org:443\n\n"), dir);
	assert_int_equal(egress(&cfg, item, err, sizeof(err)), 0);
	assert_true(cfg.egress.enabled);
	assert_int_equal(cfg.egress.nr_items, 2);
	assert_int_equal(cli_check(&cfg, err, sizeof(err)), 0);
	assert_int_equal(cli_egress_build(&cfg.egress, &plan, err, sizeof(err)), 0);
	assert_true(plan.log);
	char want[128];
	snprintf(want, sizeof(want), "%s/reached", dir);
	assert_string_equal(plan.list, want);
	assert_string_equal(plan.text, "api.example.com\n*.github.com:443\n10.0.0.0/8\n"
			    "# comment\nregistry.npmjs.org:443\n\n\n");
	assert_int_equal(plan.len, strlen(plan.text));
	cli_egress_plan_free(&plan);
	assert_null(plan.text);
	/* a repeated flag on the command line replaces the list: cleared, then off */
	cli_list_clear(&cfg, CLI_LIST_EGRESS);
	assert_false(cfg.egress.enabled);
	assert_int_equal(cfg.egress.nr_items, 0);
	config_fini(&cfg);
}

static void test_cli_egress_nothing_allowed_and_log_alone(void **state)
{
	struct vm_config cfg;
	struct cli_egress_plan plan;
	char err[256];

	(void)state;
	config_init(&cfg);
	assert_int_equal(egress(&cfg, "log", err, sizeof(err)), 0);
	assert_int_equal(cli_egress_build(&cfg.egress, &plan, err, sizeof(err)), 0);
	assert_true(plan.log);
	assert_null(plan.list);
	assert_string_equal(plan.text, "# nothing allowed\n");
	cli_egress_plan_free(&plan);
	config_fini(&cfg);
}

static void test_cli_egress_errors(void **state)
{
	static const struct {
		const char *arg, *err;
	} bad[] = {
		{ "", "--egress : expected allow=HOST[:PORT][,...], file=PATH or log[=PATH]" },
		{ "example.com", "--egress example.com: \"example.com\": expected allow=HOST[:PORT]"
				 "[,...], file=PATH or log[=PATH]" },
		{ "allow=", "--egress allow=: \"allow=\": expected allow=HOST[:PORT][,...], "
			    "file=PATH or log[=PATH]" },
		{ "log=", "--egress log=: \"log=\": expected allow=HOST[:PORT][,...], file=PATH "
			  "or log[=PATH]" },
		{ "log,b.example", "--egress log,b.example: \"b.example\": expected "
				   "allow=HOST[:PORT][,...], file=PATH or log[=PATH]" },
		{ "allow=a.example,,b.example", NULL }, /* an empty token is skipped by strtok */
		{ "file=/nonexistent/list", "--egress file=/nonexistent/list: cannot read it: No "
					    "such file or directory" },
		{ "deny=a.example", "--egress deny=a.example: \"deny=a.example\": expected "
				    "allow=HOST[:PORT][,...], file=PATH or log[=PATH]" },
	};
	struct vm_config cfg;
	char err[256];

	(void)state;
	config_init(&cfg);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		int r = egress(&cfg, bad[i].arg, err, sizeof(err));

		if (!bad[i].err) {
			assert_int_equal(r, 0);
			continue;
		}
		assert_int_equal(r, -EINVAL);
		assert_string_equal(err, bad[i].err);
	}
	/* an entry the rules parser refuses: its reason, after the item */
	static const char *const entries[] = { "allow=*", "allow=a..b", "allow=a.example:0",
					       "allow=a.example:65536", "allow=*.", "allow=1.2.3",
					       "allow=foo.*.example", "allow=[::1" };
	for (size_t i = 0; i < ARRAY_SIZE(entries); i++) {
		char want[128];

		assert_int_equal(egress(&cfg, entries[i], err, sizeof(err)), -EINVAL);
		snprintf(want, sizeof(want), "--egress %s: bad allow entry \"%s\": ", entries[i],
			 entries[i] + 6);
		if (strncmp(err, want, strlen(want)))
			fail_msg("%s: got '%s'", entries[i], err);
	}
	config_fini(&cfg);
}

static void test_cli_egress_file_checked_at_build(void **state)
{
	struct vm_config cfg;
	struct cli_egress_plan plan;
	char err[256], item[200], want[256];
	const char *f;

	(void)state;
	config_init(&cfg);
	f = file("bad", "a.example\n# fine\n  b.example:443  \nnot a host\n");
	snprintf(item, sizeof(item), "file=%s", f);
	assert_int_equal(egress(&cfg, item, err, sizeof(err)), 0); /* read when the VM starts */
	assert_int_equal(cli_egress_build(&cfg.egress, &plan, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "%s:4: bad entry \"not a host\": ", f);
	if (strncmp(err, want, strlen(want)))
		fail_msg("got '%s'", err);
	assert_null(plan.text);
	/* a directory, and a file over 1 MiB */
	config_fini(&cfg);
	snprintf(item, sizeof(item), "file=%s", dir);
	assert_int_equal(egress(&cfg, item, err, sizeof(err)), 0);
	assert_int_equal(cli_egress_build(&cfg.egress, &plan, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "--egress file=%s: cannot read it: not a regular file", dir);
	assert_string_equal(err, want);
	config_fini(&cfg);
	char *big = malloc(CLI_EGRESS_FILE_MAX + 2);
	assert_non_null(big);
	memset(big, '#', CLI_EGRESS_FILE_MAX + 1);
	big[CLI_EGRESS_FILE_MAX + 1] = 0;
	f = file("big", big);
	free(big);
	snprintf(item, sizeof(item), "file=%s", f);
	assert_int_equal(egress(&cfg, item, err, sizeof(err)), 0);
	assert_int_equal(cli_egress_build(&cfg.egress, &plan, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "--egress file=%s: cannot read it: larger than 1 MiB", f);
	assert_string_equal(err, want);
	config_fini(&cfg);
}

static void test_cli_egress_not_with_net_initrd_raw(void **state)
{
	struct vm_config cfg;
	char err[256];

	(void)state;
	config_init(&cfg);
	cfg.kernel = "k";
	assert_int_equal(egress(&cfg, "allow=a.example", err, sizeof(err)), 0);
	assert_int_equal(cli_set(&cfg, "net", config_keep(&cfg, "user"), err, sizeof(err)), 0);
	assert_int_equal(cli_check(&cfg, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "--egress: the guest gets no network card and needs agentvmm's "
			    "guest-init: not with --net");
	cfg.nr_nets = 0;
	cfg.initrd = "initrd.img";
	assert_int_equal(cli_check(&cfg, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "--egress: the guest gets no network card and needs agentvmm's "
			    "guest-init: not with --initrd");
	config_fini(&cfg);
}

/* config_copy() keeps its own copy of every item (the library's avm_create copies the config) */
static void test_cli_egress_config_copy(void **state)
{
	struct vm_config a, b;
	char err[256];

	(void)state;
	config_init(&a);
	assert_int_equal(egress(&a, "allow=a.example", err, sizeof(err)), 0);
	assert_int_equal(config_copy(&b, &a), 0);
	assert_ptr_not_equal(b.egress.items[0], a.egress.items[0]);
	config_fini(&a);
	assert_true(b.egress.enabled);
	assert_string_equal(b.egress.items[0], "allow=a.example");
	config_fini(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cli_egress_items_add_up),
		cmocka_unit_test(test_cli_egress_nothing_allowed_and_log_alone),
		cmocka_unit_test(test_cli_egress_errors),
		cmocka_unit_test(test_cli_egress_file_checked_at_build),
		cmocka_unit_test(test_cli_egress_not_with_net_initrd_raw),
		cmocka_unit_test(test_cli_egress_config_copy),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
