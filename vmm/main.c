// SPDX-License-Identifier: MIT
/* main.c: agentvmm command-line entry; the only file that calls exit(). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/cli.h"
#include "vmm/ctl_vm.h"
#include "vmm/log.h"
#include "vmm/vm.h"

#ifndef AGENTVMM_VERSION
#define AGENTVMM_VERSION "0.1.0"
#endif

int main(int argc, char **argv)
{
	struct vm_config cfg;
	enum cli_action action;
	struct ctl_server *ctl = NULL;
	struct vm vm;
	char err[1024];
	int r, status;

	if (argc > 1 && !strcmp(argv[1], "ctl"))
		exit(ctl_client_main(argc - 1, argv + 1));
	r = cli_parse(argc, argv, &cfg, &action, err, sizeof(err));
	if (r) {
		log_err("%s", err);
		exit(VM_STATUS_USAGE);
	}
	if (action == CLI_HELP) {
		fputs(cli_usage(), stdout);
		exit(0);
	}
	if (action == CLI_VERSION) {
		puts("agentvmm " AGENTVMM_VERSION);
		exit(0);
	}
	if (cfg.verbose)
		log_set_level(cfg.verbose > 1 ? LOG_DBG : LOG_INFO);

	r = vm_create(&vm, &cfg, err, sizeof(err));
	if (!r)
		r = ctl_vm_start(&ctl, &vm, err, sizeof(err));
	if (r) {
		log_err("%s", err);
		vm_destroy(&vm);
		/* user-caused problems exit 2; resource failures on the host exit 1 */
		exit(r == -ENOMEM || r == -EIO ? VM_STATUS_HOST_FAILURE : VM_STATUS_USAGE);
	}
	status = vm_run(&vm);
	ctl_server_stop(ctl);
	vm_destroy(&vm);
	exit(status);
}
