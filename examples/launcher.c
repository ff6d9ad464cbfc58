// SPDX-License-Identifier: MIT
/*
 * launcher.c: a small launcher over libagentvmm (docs/embedding.md).
 *
 *   avm-launcher [--json FILE] [--timeout SECONDS] KERNEL [CMD [ARGS...]]
 *
 * Boots KERNEL (options from FILE when given), runs CMD with the console in
 * launcher-console.log, and exits with CMD's status. After SECONDS (default
 * 60) it asks the guest to shut down, and forces it off 5 s later.
 * Build: cc launcher.c $(pkg-config --cflags --libs agentvmm)
 */
#include <agentvmm.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int usage(void)
{
	fprintf(stderr, "usage: avm-launcher [--json FILE] [--timeout SECONDS] KERNEL [CMD...]\n");
	return 2;
}

int main(int argc, char **argv)
{
	const char *json = NULL;
	int timeout_s = 60, i = 1, status = 0, r;
	struct avm_error err;
	struct avm_config *cfg;
	struct avm *vm;

	for (; i + 1 < argc && argv[i][0] == '-'; i += 2) {
		if (!strcmp(argv[i], "--json"))
			json = argv[i + 1];
		else if (!strcmp(argv[i], "--timeout"))
			timeout_s = atoi(argv[i + 1]);
		else
			return usage();
	}
	if (i >= argc)
		return usage();

	cfg = avm_config_new();
	if (!cfg)
		return 1;
	/* every setter validates like the agentvmm flag of the same name */
	if ((json && avm_config_load_json(cfg, json, &err)) ||
	    avm_config_set(cfg, "kernel", argv[i], &err) ||
	    avm_config_set(cfg, "console", "launcher-console.log", &err) ||
	    avm_config_set_command(cfg, argc - i - 1, (const char *const *)argv + i + 1, &err)) {
		fprintf(stderr, "avm-launcher: %s\n", err.msg);
		avm_config_free(cfg);
		return 2;
	}
	r = avm_create(cfg, &vm, &err);
	avm_config_free(cfg); /* the VM keeps its own copy */
	if (r) {
		fprintf(stderr, "avm-launcher: %s\n", err.msg);
		return 2;
	}
	if (avm_start(vm, &err)) {
		fprintf(stderr, "avm-launcher: %s\n", err.msg);
		avm_destroy(vm);
		return 1;
	}
	if (avm_wait(vm, timeout_s * 1000, &status) == -ETIMEDOUT) {
		struct avm_info info;

		avm_info(vm, &info);
		fprintf(stderr, "avm-launcher: still %s after %d s (%llu vCPU exits): shutting "
			"down\n", avm_state_name(info.state), timeout_s,
			(unsigned long long)info.vcpu_exits);
		if (avm_shutdown(vm, 5000, &err) == 1)
			fprintf(stderr, "avm-launcher: the guest did not power off: forced\n");
		avm_wait(vm, -1, &status);
	}
	avm_destroy(vm);
	return status;
}
