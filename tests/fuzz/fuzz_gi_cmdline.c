// SPDX-License-Identifier: MIT
/*
 * fuzz_gi_cmdline.c: libFuzzer target for guest-init's /proc/cmdline parser.
 * Input byte 0 picks the mode: odd = raw command line; even (mostly valid) =
 * the rest split at NUL bytes into an argv that is encoded, wrapped in a
 * command line and must decode to exactly the same strings.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guest-init/cmdline.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Whatever parsed must be self-consistent and survive encode -> parse. */
static void check_consistent(const struct gi_cmdline *cl)
{
	struct gi_cmdline again;
	size_t len, i;
	char err[256], *enc, *text;

	if (!cl->cl_command)
		return;
	if (!cl->cl_argv || cl->cl_argv[cl->cl_argc])
		abort();
	if (gi_cmdline_encode((const char *const *)cl->cl_argv, cl->cl_argc, NULL, 0, &len) == 0)
		abort();
	enc = malloc(len + 1);
	text = malloc(len + 64);
	if (!enc || !text || gi_cmdline_encode((const char *const *)cl->cl_argv, cl->cl_argc,
					       enc, len + 1, &len))
		abort();
	snprintf(text, len + 64, "agentvmm.argc=%zu agentvmm.argv=%s", cl->cl_argc, enc);
	if (gi_cmdline_parse(text, strlen(text), &again, err, sizeof(err)) || !again.cl_command ||
	    again.cl_argc != cl->cl_argc)
		abort();
	for (i = 0; i < cl->cl_argc; i++)
		if (strcmp(again.cl_argv[i], cl->cl_argv[i]))
			abort();
	gi_cmdline_fini(&again);
	free(text);
	free(enc);
}

static void fuzz_raw(const char *text, size_t size)
{
	struct gi_cmdline cl;
	char err[256];

	if (gi_cmdline_parse(text, size, &cl, err, sizeof(err)) == 0)
		check_consistent(&cl);
	else if (!err[0])
		abort(); /* every failure explains itself */
	gi_cmdline_fini(&cl);
}

static void fuzz_roundtrip(const uint8_t *data, size_t size)
{
	char *copy = malloc(size + 1), **argv = calloc(size + 2, sizeof(char *));
	size_t argc = 0, i, len;
	struct gi_cmdline cl;
	char *enc = NULL, *text = NULL, err[256];

	if (!copy || !argv)
		abort();
	memcpy(copy, data, size);
	copy[size] = '\0';
	argv[argc++] = copy;
	for (i = 0; i < size && argc < GI_CMDLINE_MAX_ARGS; i++) {
		if (!copy[i])
			argv[argc++] = copy + i + 1;
	}
	if (gi_cmdline_encode((const char *const *)argv, argc, NULL, 0, &len) != -ENOSPC)
		abort();
	enc = malloc(len + 1);
	text = malloc(len + 96);
	if (!enc || !text || gi_cmdline_encode((const char *const *)argv, argc, enc, len + 1, &len))
		abort();
	snprintf(text, len + 96, "quiet agentvmm.argc=%zu \"agentvmm.argv=%s\" agentvmm.verbose",
		 argc, enc);
	if (gi_cmdline_parse(text, strlen(text), &cl, err, sizeof(err)) || cl.cl_argc != argc ||
	    !cl.cl_verbose)
		abort();
	for (i = 0; i < argc; i++)
		if (strcmp(cl.cl_argv[i], argv[i]))
			abort();
	gi_cmdline_fini(&cl);
	free(text);
	free(enc);
	free(argv);
	free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	if (data[0] & 1)
		fuzz_raw((const char *)data + 1, size - 1);
	else
		fuzz_roundtrip(data + 1, size - 1);
	return 0;
}
