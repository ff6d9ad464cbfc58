// SPDX-License-Identifier: MIT
/* config.c: struct vm_config defaults and the strings a config owns. */
#include "vmm/config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void config_init(struct vm_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->cpus = VM_DEFAULT_CPUS;
	cfg->mem_mib = VM_DEFAULT_MEM_MIB;
	cfg->shutdown_timeout_s = VM_DEFAULT_SHUTDOWN_TIMEOUT_S;
	cfg->balloon = (struct vm_balloon){ .enabled = true, .reporting = true,
					    .deflate_on_oom = true,
					    .reporting_order = VM_BALLOON_REPORTING_ORDER };
}

void config_fini(struct vm_config *cfg)
{
	for (unsigned i = 0; i < cfg->nr_owned; i++)
		free(cfg->owned[i]);
	free(cfg->owned);
	config_init(cfg);
}

static int keep_block(struct vm_config *cfg, void *p)
{
	if (!p)
		return -ENOMEM;
	if (cfg->nr_owned == cfg->cap_owned) {
		unsigned cap = cfg->cap_owned ? 2 * cfg->cap_owned : 16;
		char **n = realloc(cfg->owned, cap * sizeof(*n));

		if (!n) {
			free(p);
			return -ENOMEM;
		}
		cfg->owned = n;
		cfg->cap_owned = cap;
	}
	cfg->owned[cfg->nr_owned++] = p;
	return 0;
}

char *config_keep(struct vm_config *cfg, const char *s)
{
	char *c = strdup(s);

	return keep_block(cfg, c) ? NULL : c;
}

int config_set_argv(struct vm_config *cfg, int argc, const char *const *argv)
{
	char **v;

	if (argc <= 0) {
		cfg->argc = 0;
		cfg->argv = NULL;
		return 0;
	}
	v = calloc((size_t)argc + 1, sizeof(*v));
	if (keep_block(cfg, v))
		return -ENOMEM;
	for (int i = 0; i < argc; i++) {
		v[i] = config_keep(cfg, argv[i]);
		if (!v[i])
			return -ENOMEM;
	}
	cfg->argc = argc;
	cfg->argv = v;
	return 0;
}

static int keep_str(struct vm_config *dst, const char **p)
{
	if (!*p)
		return 0;
	*p = config_keep(dst, *p);
	return *p ? 0 : -ENOMEM;
}

int config_copy(struct vm_config *dst, const struct vm_config *src)
{
	/* every string field: the copy must outlive the source config */
	const char **strs[] = { &dst->kernel, &dst->initrd, &dst->cmdline, &dst->modules_dir,
				&dst->raw_image, &dst->console, &dst->init, &dst->api_socket,
				&dst->cwd, &dst->user, &dst->template_out,
				&dst->restore };
	int r = 0;

	*dst = *src;
	dst->owned = NULL;
	dst->nr_owned = dst->cap_owned = 0;
	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]) && !r; i++)
		r = keep_str(dst, strs[i]);
	for (unsigned i = 0; i < src->nr_env && !r; i++)
		r = keep_str(dst, &dst->env[i]);
	for (unsigned i = 0; i < src->nr_oem_strings && !r; i++)
		r = keep_str(dst, &dst->oem_strings[i]);
	for (unsigned i = 0; i < src->nr_set_creds && !r; i++)
		r = keep_str(dst, &dst->set_creds[i]);
	for (unsigned i = 0; i < src->nr_load_creds && !r; i++)
		r = keep_str(dst, &dst->load_creds[i]);
	for (unsigned i = 0; i < src->egress.nr_items && !r; i++)
		r = keep_str(dst, &dst->egress.items[i]);
	if (!r)
		r = config_set_argv(dst, src->argc, (const char *const *)src->argv);
	if (r)
		config_fini(dst);
	return r;
}

bool config_session(const struct vm_config *cfg)
{
	return (cfg->argc > 0 || cfg->await_job) && cfg->stdio != VM_STDIO_CONSOLE &&
	       !cfg->initrd && !cfg->raw_image && !cfg->init;
}
