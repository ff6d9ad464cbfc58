// SPDX-License-Identifier: MIT
/*
 * fuzz_gi_moddep.c: libFuzzer target for modules.dep / modules.builtin
 * parsing, modules.softdep parsing and load-order resolution. The input is
 * "DEP\0BUILTIN\0NAMES\0SOFTDEP" (NAMES space-separated; SOFTDEP optional,
 * modules.softdep text); when NAMES is empty every module path in DEP is
 * requested, so the resolver runs on whatever graph the input describes.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "guest-init/mkinitramfs/moddep.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_NAMES 256

/* Split (s) at spaces, newlines and ':' into at most FUZZ_MAX_NAMES names. */
static size_t split_names(char *s, const char **names)
{
	size_t n = 0;
	char *save = NULL, *tok;

	for (tok = strtok_r(s, " \t\n:", &save); tok && n < FUZZ_MAX_NAMES;
	     tok = strtok_r(NULL, " \t\n:", &save))
		names[n++] = tok;
	names[n] = NULL;
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *names[FUZZ_MAX_NAMES + 1], **paths;
	char *buf = malloc(size + 4), *dep, *builtin, *req, *soft, err[256];
	size_t dep_len, builtin_len, req_len, n, i, j;
	struct gi_moddep *md;
	int ret;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = buf[size + 1] = buf[size + 2] = buf[size + 3] = '\0';
	dep = buf;
	dep_len = strlen(dep);
	builtin = dep + dep_len + 1 <= buf + size ? dep + dep_len + 1 : buf + size + 1;
	builtin_len = strlen(builtin);
	req = builtin + builtin_len + 1 <= buf + size + 1 ? builtin + builtin_len + 1 : buf + size + 2;
	req_len = strlen(req);
	soft = req + req_len + 1 <= buf + size + 2 ? req + req_len + 1 : buf + size + 3;

	ret = gi_moddep_parse(dep, dep_len, builtin, builtin_len, &md, err, sizeof(err));
	if (ret) {
		if (ret != -EINVAL && ret != -ENOMEM)
			abort();
		free(buf);
		return 0;
	}
	if (gi_moddep_add_softdeps(md, soft, strlen(soft)) != 0)
		abort();
	if (!*req) {
		/* every path of the (already copied) modules.dep text */
		req = dep;
	}
	split_names(req, names);
	ret = gi_moddep_resolve(md, names, &paths, &n, err, sizeof(err));
	if (ret == 0) {
		/* each module once */
		for (i = 0; i < n; i++)
			for (j = i + 1; j < n; j++)
				if (strcmp(paths[i], paths[j]) == 0)
					abort();
		free(paths);
	} else if (ret != -ENOENT && ret != -ELOOP && ret != -EINVAL && ret != -ENOMEM) {
		abort();
	} else if (paths || n || !err[0]) {
		abort();
	}
	gi_moddep_free(md);
	free(buf);
	return 0;
}
