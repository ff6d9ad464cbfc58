// SPDX-License-Identifier: MIT
/* main.c: agentvmm-mkinitramfs, a host command that builds a guest initramfs (for debugging). */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guest-init/blob.h"
#include "guest-init/mkinitramfs/initramfs.h"
#include "guest-init/mkinitramfs/util.h"

#define MK_INIT_MAX (64u << 20)

static void usage(FILE *f)
{
	fprintf(f, "usage: agentvmm-mkinitramfs [--modules-dir DIR] [--module NAME]...\n"
		   "         [--busybox PATH] [--init PATH] (-o OUT | --cache-dir DIR)\n"
		   "  --init defaults to the guest-init built into this program;\n"
		   "  --cache-dir prints the path of the cached image (built if missing).\n");
}

/* gi_moddep_note_fn: the builder's remarks (no modules.dep, a skipped softdep) on stderr. */
static void print_note(void *opaque, const char *msg)
{
	fprintf(stderr, "agentvmm-mkinitramfs: %s\n", msg);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "modules-dir", required_argument, NULL, 'm' },
		{ "module", required_argument, NULL, 'M' },
		{ "busybox", required_argument, NULL, 'b' },
		{ "init", required_argument, NULL, 'i' },
		{ "output", required_argument, NULL, 'o' },
		{ "cache-dir", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct gi_initramfs_config cfg = { .init_bin = gi_init_blob, .init_len = gi_init_blob_len,
					   .note = print_note };
	const char *init_path = NULL, *out = NULL, *cache = NULL;
	char err[512], path[PATH_MAX], *init_buf = NULL;
	const char **mods;
	size_t nmods = 0;
	int opt, ret;

	mods = calloc((size_t)argc + 1, sizeof(*mods));
	if (!mods)
		return 1;
	while ((opt = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'm': cfg.modules_dir = optarg; break;
		case 'M': mods[nmods++] = optarg; break;
		case 'b': cfg.busybox_path = optarg; break;
		case 'i': init_path = optarg; break;
		case 'o': out = optarg; break;
		case 'c': cache = optarg; break;
		case 'h': usage(stdout); free(mods); return 0;
		default: usage(stderr); free(mods); return 2;
		}
	}
	if (optind != argc || !out == !cache || (nmods && !cfg.modules_dir)) {
		usage(stderr);
		free(mods);
		return 2;
	}
	cfg.modules = mods;
	if (init_path) {
		ret = gi_read_file(init_path, MK_INIT_MAX, &init_buf, &cfg.init_len);
		if (ret) {
			fprintf(stderr, "agentvmm-mkinitramfs: %s: %s\n", init_path, strerror(-ret));
			free(mods);
			return 2;
		}
		cfg.init_bin = init_buf;
	}
	if (out)
		ret = gi_initramfs_build(&cfg, out, err, sizeof(err));
	else
		ret = gi_initramfs_cached(&cfg, cache, path, sizeof(path), err, sizeof(err));
	if (ret)
		fprintf(stderr, "agentvmm-mkinitramfs: %s\n", err);
	else if (cache)
		printf("%s\n", path);
	free(init_buf);
	free(mods);
	return ret ? 2 : 0;
}
