// SPDX-License-Identifier: MIT
/*
 * test_gi_modscan.c: modules directories without modules.dep (a kernel
 * package unpacked with dpkg -x): crafted trees of crafted modules (order,
 * softdeps and their alias, updates/ winning, links, compressed files, and
 * every error naming the module), and copies of the cached Debian kernels'
 * own modules (cloud and generic), some recompressed, resolved like
 * modules.dep resolves the same names; then whole initramfs images and the
 * cache from such a tree.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "tests/helpers/th_files.h"
#include "tests/unit/guest-init/modelf.h"

#include "guest-init/mkinitramfs/decompress.h"
#include "guest-init/mkinitramfs/initramfs.h"
#include "guest-init/mkinitramfs/moddep.h"
#include "guest-init/mkinitramfs/util.h"

static char tmp[64];
static char err[1024];
static char notes[4096];

static void note(void *opaque, const char *msg)
{
	(void)opaque;
	strcat(notes, msg);
	strcat(notes, "\n");
}

/* A crafted module at (tree)/(rel) with the NUL-separated (fields); compressed by its suffix. */
static void put_module(const char *tree, const char *rel, const char *fields, size_t len)
{
	struct th_modelf m = th_modelf_fields(fields, len);
	char path[512];
	static const char *const tools[] = { [GI_COMP_XZ] = "xz", [GI_COMP_ZSTD] = "zstd -q",
					     [GI_COMP_GZIP] = "gzip -n" };
	enum gi_comp c = gi_comp_of(rel);

	snprintf(path, sizeof(path), "%s/%s/%s", tmp, tree, rel);
	assert_int_equal(th_sh("mkdir -p \"$(dirname %s)\"", path), 0);
	path[strlen(path) - (c == GI_COMP_NONE ? 0 : strlen(path) - gi_comp_strip_len(path))] = 0;
	th_modelf_write(&m, m.len, path);
	free(m.buf);
	if (c != GI_COMP_NONE)
		assert_int_equal(th_sh("%s -c %s > %s/%s/%s && rm %s", tools[c], path, tmp, tree,
				     rel, path),
				 0);
}

#define PUT(tree, rel, fields) put_module(tree, rel, fields, sizeof(fields) - 1)

/*
 * tmp/c: a crafted tree. a -> b, c (c also in updates/), softdep crc32c by
 * its alias; d-e.ko.xz -> c and the built-in bi; f.ko.zst -> a; g.ko.gz with a
 * softdep that exists nowhere; s1 <-> s2 soft cycle; h.ko a link to a module
 * file; a dangling link; a link to the tree itself (never followed); noise.
 */
static int setup(void **state)
{
	snprintf(tmp, sizeof(tmp), "/tmp/gi_modscan_XXXXXX");
	if (!mkdtemp(tmp))
		return -1;
	PUT("c", "kernel/fs/a.ko", "depends=b,c\0softdep=pre: crypto-crc32c\0");
	PUT("c", "kernel/lib/b.ko", "depends=c\0");
	PUT("c", "kernel/lib/c.ko", "depends=nosuchthing\0");
	PUT("c", "updates/dkms/c.ko", "depends=\0");
	PUT("c", "kernel/crypto/crc32c_generic.ko", "depends=\0");
	PUT("c", "kernel/d-e.ko.xz", "depends=c,bi\0");
	PUT("c", "extra/f.ko.zst", "depends=a\0");
	PUT("c", "kernel/g.ko.gz", "softdep=pre: nosuch post: zz\0");
	PUT("c", "kernel/s1.ko", "softdep=pre: s2\0");
	PUT("c", "kernel/s2.ko", "softdep=pre: s1\0");
	PUT("c", "kernel/hidden/target-h.ko", "depends=b\0");
	return th_sh("cd %s/c && ln -s hidden/target-h.ko kernel/h.ko && "
		     "ln -s nowhere.ko kernel/dangling.ko && ln -s .. build && ln -s / source && "
		     "echo text > kernel/README && echo x > kernel/old.ko.bz2 && "
		     "printf 'kernel/lib/bi.ko\\nkernel/fs/other-bi.ko\\n' > modules.builtin",
		     tmp);
}

static int teardown(void **state)
{
	return th_sh("rm -rf '%s'", tmp);
}

static struct gi_moddep *load(const char *tree)
{
	struct gi_moddep *md;
	char dir[256];

	snprintf(dir, sizeof(dir), "%s/%s", tmp, tree);
	if (gi_moddep_load(dir, &md, err, sizeof(err)))
		fail_msg("load %s: %s", dir, err);
	assert_true(gi_moddep_scanned(md));
	notes[0] = '\0';
	gi_moddep_set_note(md, note, NULL);
	return md;
}

static void expect_order(struct gi_moddep *md, const char *const *names, const char *expect)
{
	char got[4096] = "";
	const char **paths;
	size_t n, i;

	if (gi_moddep_resolve(md, names, &paths, &n, err, sizeof(err)))
		fail_msg("resolve failed: %s", err);
	for (i = 0; i < n; i++) {
		if (i)
			strcat(got, ",");
		strcat(got, paths[i]);
	}
	free(paths);
	assert_string_equal(got, expect);
}

static void expect_fail(struct gi_moddep *md, const char *const *names, int ret,
			const char *msg_part)
{
	const char **paths;
	size_t n;
	int got = gi_moddep_resolve(md, names, &paths, &n, err, sizeof(err));

	if (got != ret || !strstr(err, msg_part))
		fail_msg("ret %d (wanted %d), err '%s' (wanted '%s')", got, ret, err, msg_part);
	assert_null(paths);
	assert_int_equal(n, 0);
}

static void test_gi_modscan_crafted_tree_order(void **state)
{
	struct gi_moddep *md = load("c");
	size_t files, read;

	/* depends= first to last, each after its own; the softdep (an alias) first */
	expect_order(md, (const char *const[]){ "a", NULL },
		     "kernel/crypto/crc32c_generic.ko,updates/dkms/c.ko,kernel/lib/b.ko,"
		     "kernel/fs/a.ko");
	gi_moddep_scan_stats(md, &files, &read);
	assert_int_equal(files, 13);	/* both c.ko, the h.ko and dangling.ko links */
	assert_int_equal(read, 4);
	/* compressed files, a built-in dependency, dedup, names normalised */
	expect_order(md, (const char *const[]){ "d_e", "f", "d-e.ko.xz", "bi", "other_bi", NULL },
		     "updates/dkms/c.ko,kernel/d-e.ko.xz,kernel/crypto/crc32c_generic.ko,"
		     "kernel/lib/b.ko,kernel/fs/a.ko,extra/f.ko.zst");
	/* each .modinfo is read once per tree, whatever the number of resolutions */
	gi_moddep_scan_stats(md, &files, &read);
	assert_int_equal(read, 6);
	/* a link to a module file is a module under the link's name */
	expect_order(md, (const char *const[]){ "h", NULL },
		     "updates/dkms/c.ko,kernel/lib/b.ko,kernel/h.ko");
	assert_string_equal(notes, "");
	gi_moddep_free(md);
}

static void test_gi_modscan_softdeps_optional_and_cycles_ignored(void **state)
{
	struct gi_moddep *md = load("c");

	expect_order(md, (const char *const[]){ "g", NULL }, "kernel/g.ko.gz");
	assert_string_equal(notes, "module g: soft dependency nosuch is not a module here nor "
				   "built in: skipped\n");
	expect_order(md, (const char *const[]){ "s1", NULL }, "kernel/s2.ko,kernel/s1.ko");
	gi_moddep_free(md);
}

static void test_gi_modscan_unknown_and_dangling(void **state)
{
	struct gi_moddep *md = load("c");
	char msg[512];

	snprintf(msg, sizeof(msg), "unknown module nope (no nope.ko in %s/c, not in "
		 "modules.builtin)", tmp);
	expect_fail(md, (const char *const[]){ "a", "nope", NULL }, -ENOENT, msg);
	/* links to directories are not followed: nothing below "build" or "source" */
	expect_fail(md, (const char *const[]){ "target_h", "README", NULL }, -ENOENT,
		    "unknown module README");
	snprintf(msg, sizeof(msg), "%s/c/kernel/dangling.ko: No such file or directory", tmp);
	expect_fail(md, (const char *const[]){ "dangling", NULL }, -ENOENT, msg);
	gi_moddep_free(md);
	assert_int_equal(gi_moddep_load("/nonexistent/dir", &md, err, sizeof(err)), -ENOENT);
	assert_string_equal(err, "/nonexistent/dir: No such file or directory");
	assert_null(md);
}

/* tmp/bad: one broken module per error branch, each wanted through a healthy one too. */
static void make_bad_tree(void)
{
	struct th_modelf m = th_modelf_fields("depends=\0", 10);
	Elf64_Shdr sh;
	char path[512];

	PUT("bad", "kernel/uses-trunc.ko", "depends=trunc\0");
	snprintf(path, sizeof(path), "%s/bad/kernel/trunc.ko", tmp);
	th_modelf_write(&m, 100, path);
	sh = th_modelf_shdr(&m, TH_MODELF_MODINFO);
	sh.sh_offset = m.len;
	th_modelf_put_shdr(&m, TH_MODELF_MODINFO, &sh);
	snprintf(path, sizeof(path), "%s/bad/kernel/offset.ko", tmp);
	th_modelf_write(&m, m.len, path);
	sh.sh_offset = m.modinfo_off;
	sh.sh_name = 1;	/* ".text": no .modinfo left */
	th_modelf_put_shdr(&m, TH_MODELF_MODINFO, &sh);
	snprintf(path, sizeof(path), "%s/bad/kernel/nomodinfo.ko", tmp);
	th_modelf_write(&m, m.len, path);
	free(m.buf);
	m = th_modelf_build("depends=", 8);
	snprintf(path, sizeof(path), "%s/bad/kernel/nonul.ko", tmp);
	th_modelf_write(&m, m.len, path);
	free(m.buf);
	PUT("bad", "kernel/cyc-x.ko", "depends=cyc_y\0");
	PUT("bad", "kernel/cyc-y.ko", "depends=cyc_x\0");
	PUT("bad", "kernel/self.ko", "depends=self\0");
	PUT("bad", "kernel/needs.ko", "depends=ok,gone\0");
	PUT("bad", "kernel/ok.ko", "depends=\0");
	PUT("bad", "kernel/badname.ko", "depends=../../etc/passwd\0");
	PUT("bad", "kernel/softbad.ko", "softdep=pre: junkz\0");
	assert_int_equal(th_sh("cd %s/bad/kernel && echo hello > text.ko && "
			     "echo junk > junkz.ko.xz && d=1/2/3/4/5/6/7/8/9/10/11/12/13/14/15 && "
			     "mkdir -p $d/16 && cp ok.ko $d/16/deep.ko && cp ok.ko $d/shallow.ko",
			     tmp),
			 0);
}

static void test_gi_modscan_bad_modules_name_the_file(void **state)
{
	static const struct {
		const char *want;
		int ret;
		const char *msg;	/* after "<tmp>/bad/" */
	} cases[] = {
		{ "trunc", -EBADMSG,
		  "kernel/trunc.ko: bad module: section table outside the file" },
		{ "uses_trunc", -EBADMSG, "kernel/trunc.ko: bad module: section table outside" },
		{ "offset", -EBADMSG, "kernel/offset.ko: bad module: .modinfo section outside "
				      "the file" },
		{ "nomodinfo", -EBADMSG, "kernel/nomodinfo.ko: bad module: no .modinfo section" },
		{ "nonul", -EBADMSG, "kernel/nonul.ko: bad module: .modinfo does not end with a "
				     "NUL byte" },
		{ "text", -ENOEXEC, "kernel/text.ko: bad module: not an ELF file" },
		{ "badname", -EBADMSG, "kernel/badname.ko: bad module: bad name in depends= "
				       "(byte 0x2f)" },
		{ "softbad", -EBADMSG, "kernel/junkz.ko.xz: corrupt xz data" },
	};
	struct gi_moddep *md;
	char msg[512];

	make_bad_tree();
	md = load("bad");
	for (size_t i = 0; i < GI_ARRAY_SIZE(cases); i++) {
		snprintf(msg, sizeof(msg), "%s/bad/%s", tmp, cases[i].msg);
		expect_fail(md, (const char *const[]){ "ok", cases[i].want, NULL }, cases[i].ret,
			    msg);
	}
	/* the healthy module still resolves afterwards */
	expect_order(md, (const char *const[]){ "ok", NULL }, "kernel/ok.ko");
	gi_moddep_free(md);
}

static void test_gi_modscan_cycles_missing_and_depth(void **state)
{
	struct gi_moddep *md;
	char msg[512], name[16];

	make_bad_tree();
	md = load("bad");
	expect_fail(md, (const char *const[]){ "cyc_x", NULL }, -ELOOP,
		    "module cyc_x: dependency cycle");
	expect_fail(md, (const char *const[]){ "self", NULL }, -ELOOP,
		    "module self: dependency cycle");
	snprintf(msg, sizeof(msg), "module needs needs gone, which is neither a module in %s/bad "
		 "nor built in", tmp);
	expect_fail(md, (const char *const[]){ "needs", NULL }, -ENOENT, msg);
	/* GI_MODSCAN_MAX_DEPTH directory levels are walked, not one more */
	expect_order(md, (const char *const[]){ "shallow", NULL },
		     "kernel/1/2/3/4/5/6/7/8/9/10/11/12/13/14/15/shallow.ko");
	expect_fail(md, (const char *const[]){ "deep", NULL }, -ENOENT, "unknown module deep");
	gi_moddep_free(md);

	/* a depends= chain m0 -> m1 -> ... one longer than GI_MODDEP_MAX_DEPTH */
	for (int i = 0; i <= GI_MODDEP_MAX_DEPTH + 1; i++) {
		char fields[64], rel[64];
		int n = snprintf(fields, sizeof(fields), "depends=m%d", i + 1);

		snprintf(rel, sizeof(rel), "kernel/m%d.ko", i);
		put_module("chain", rel, fields, i <= GI_MODDEP_MAX_DEPTH ? (size_t)n + 1 : 0);
	}
	md = load("chain");
	snprintf(name, sizeof(name), "m%d", 1);
	expect_fail(md, (const char *const[]){ "m0", NULL }, -ELOOP, "chain too deep");
	{
		const char **paths;
		size_t n;

		/* exactly GI_MODDEP_MAX_DEPTH levels below it: fine */
		assert_int_equal(gi_moddep_resolve(md, (const char *const[]){ name, NULL }, &paths,
						   &n, err, sizeof(err)),
				 0);
		assert_int_equal(n, GI_MODDEP_MAX_DEPTH + 1);
		free(paths);
	}
	gi_moddep_free(md);
}

/* --- the real kernels' modules, modules.dep taken away ----------------------- */

/* The modules agentvmm asks for (vmm/initramfs.c), virtio_pci aside: see below. */
static const char *const real_names[] = { "pvpanic_mmio", "button", "virtio_rng", "virtio_blk",
					  "ext4", "virtiofs", "overlay", "virtio_net", NULL };
static const char *const real_names_all[] = { "pvpanic_mmio", "button", "virtio_pci",
					      "virtio_rng", "virtio_blk", "ext4", "virtiofs",
					      "overlay", "virtio_net", NULL };

/* (paths) as "\nP1\nP2\n", compression suffixes dropped: a line is "\nP\n". */
static char *joined(const char **paths, size_t n)
{
	static char buf[8192];
	size_t len = 1;

	strcpy(buf, "\n");
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%.*s\n",
					(int)gi_comp_strip_len(paths[i]), paths[i]);
	return buf;
}

/* Where the line (path) is in (order), a joined() list; NULL when it is not. */
static const char *find_line(const char *order, const char *path)
{
	char key[600];

	snprintf(key, sizeof(key), "\n%s\n", path);
	return strstr(order, key);
}

/* modules.dep's dependencies of (path) in (dep) (with a leading "\n") all come first. */
static void expect_deps_first(const char *dep, const char *order, const char *path)
{
	char key[640], line[8192], *tok, *save = NULL;
	const char *l, *at = find_line(order, path);

	snprintf(key, sizeof(key), "\n%s:", path);
	l = strstr(dep, key);
	assert_non_null(l);
	assert_non_null(at);
	snprintf(line, sizeof(line), "%.*s", (int)strcspn(l + strlen(key), "\n"), l + strlen(key));
	for (tok = strtok_r(line, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
		const char *d = find_line(order, tok);

		if (!d || d > at)
			fail_msg("%s: its dependency %s is %s", path, tok,
				 d ? "after it" : "missing");
	}
}

/*
 * Copy the modules modules.dep resolves for (names) from (src) into tmp/(tree),
 * every fourth one left plain, the others xz, zstd or gzip; modules.builtin
 * too; no modules.dep, modules.softdep or binary index.
 */
static void copy_real(const char *src, const char *tree, const char *const *names)
{
	static const char *const comp[] = { "", ".xz", ".zst", ".gz" };
	static const char *const tool[] = { "cat", "xz -c --check=crc32 --lzma2=dict=1MiB",
					    "zstd -q -c", "gzip -n -c" };
	struct gi_moddep *md;
	const char **paths;
	size_t n;

	assert_int_equal(gi_moddep_load(src, &md, err, sizeof(err)), 0);
	assert_false(gi_moddep_scanned(md));
	assert_int_equal(gi_moddep_resolve(md, names, &paths, &n, err, sizeof(err)), 0);
	assert_int_equal(th_sh("rm -rf %s/%s && mkdir -p %s/%s && cp %s/modules.builtin %s/%s/",
			     tmp, tree, tmp, tree, src, tmp, tree),
			 0);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(th_sh("mkdir -p \"$(dirname %s/%s/%s)\" && %s %s/%s > %s/%s/%s%s",
				     tmp, tree, paths[i], tool[i % 4], src, paths[i], tmp, tree,
				     paths[i], comp[i % 4]),
				 0);
	free(paths);
	gi_moddep_free(md);
}

/* (names) resolved from (src)'s modules.dep and from a copy without it. */
static void compare_real(const char *src, const char *tree, const char *const *names,
			 bool exact)
{
	char want[8192], *dep, *dep_nl, path[600];
	struct gi_moddep *md, *scanned;
	const char **paths;
	size_t n, len;

	assert_int_equal(gi_moddep_load(src, &md, err, sizeof(err)), 0);
	assert_int_equal(gi_moddep_resolve(md, names, &paths, &n, err, sizeof(err)), 0);
	snprintf(want, sizeof(want), "%s", joined(paths, n));
	free(paths);
	gi_moddep_free(md);
	scanned = load(tree);
	if (gi_moddep_resolve(scanned, names, &paths, &n, err, sizeof(err)))
		fail_msg("%s without modules.dep: %s", src, err);
	if (exact) {
		assert_string_equal(joined(paths, n), want);
	} else {
		/* the same modules, every one after its modules.dep dependencies */
		const char *order = joined(paths, n);

		assert_int_equal(strlen(order), strlen(want));
		snprintf(path, sizeof(path), "%s/modules.dep", src);
		assert_int_equal(gi_read_file(path, 64u << 20, &dep, &len), 0);
		dep_nl = malloc(len + 2);
		assert_non_null(dep_nl);
		dep_nl[0] = '\n';
		memcpy(dep_nl + 1, dep, len + 1);
		for (size_t i = 0; i < n; i++) {
			char p[512];

			snprintf(p, sizeof(p), "%.*s", (int)gi_comp_strip_len(paths[i]), paths[i]);
			assert_non_null(find_line(want, p));
			expect_deps_first(dep_nl, order, p);
		}
		free(dep_nl);
		free(dep);
	}
	free(paths);
	assert_string_equal(notes, "");
	gi_moddep_free(scanned);
}

/*
 * Exactly modules.dep's order for agentvmm's modules but virtio_pci: its four
 * dependencies do not depend on each other, and depmod orders such modules by
 * a topological sort of the whole tree (kmod depmod.c), which reading only
 * the reached modules cannot reproduce. With virtio_pci: the same modules, in
 * a valid order.
 */
static void real_kernel(const char *src, const char *tree, const char *must_have)
{
	copy_real(src, tree, real_names_all);
	compare_real(src, tree, real_names, true);
	compare_real(src, tree, real_names_all, false);
	if (must_have) {
		struct gi_moddep *md = load(tree);
		const char **paths;
		size_t n;

		assert_int_equal(gi_moddep_resolve(md, (const char *const[]){ "ext4", NULL },
						   &paths, &n, err, sizeof(err)),
				 0);
		assert_non_null(find_line(joined(paths, n), must_have));
		free(paths);
		gi_moddep_free(md);
	}
}

static void test_gi_modscan_real_cloud_kernel(void **state)
{
	const char *src = th_real_modules_dir();

	if (!src) {
		print_message("no cached cloud kernel modules (AV_MODULES_DIR); skipped\n");
		skip();
	}
	/* ext4 and crc32c are built in there: nothing to add */
	real_kernel(src, "cloud", NULL);
}

static void test_gi_modscan_real_generic_kernel(void **state)
{
	const char *src = th_generic_modules_dir();

	if (!src) {
		print_message("no cached generic kernel modules (AV_TESTHOST_CACHE); skipped\n");
		skip();
	}
	/* ext4 is a module there, with jbd2, mbcache, crc16 and the crc32c softdep */
	real_kernel(src, "generic", "kernel/crypto/crc32c_generic.ko");
}

/* --- whole images from a tree without modules.dep ------------------------------ */

static const char fake_init[] = "\x7f" "ELF stand-in for guest-init";

static void test_gi_modscan_initramfs_image_and_cache(void **state)
{
	const char *const mods[] = { "f", "h", "bi", NULL };
	struct gi_initramfs_config cfg = { .init_bin = fake_init, .init_len = sizeof(fake_init),
					   .modules = mods, .note = note };
	struct timespec ts[2] = { { 0, 0 }, { 34567, 0 } };
	char dir[256], out[256], cache[256], p1[512], p2[512];

	snprintf(dir, sizeof(dir), "%s/c", tmp);
	snprintf(out, sizeof(out), "%s/img.cpio", tmp);
	snprintf(cache, sizeof(cache), "%s/cache", tmp);
	cfg.modules_dir = dir;
	notes[0] = '\0';
	if (gi_initramfs_build(&cfg, out, err, sizeof(err)))
		fail_msg("build: %s", err);
	snprintf(p1, sizeof(p1), "%s has no modules.dep (depmod never ran): 13 module files "
		 "found, dependencies read from the .modinfo of 6 of them\n", dir);
	assert_string_equal(notes, p1);
	assert_int_equal(th_sh("cd %s && rm -rf x && mkdir x && cd x && cpio -idm --quiet "
			     "--nonmatching 'dev/*' < ../img.cpio", tmp),
			 0);
	snprintf(p1, sizeof(p1), "%s/x/etc/agentvmm/modules", tmp);
	assert_string_equal(th_read_text(p1),
			    "kernel/crypto/crc32c_generic.ko\nupdates/dkms/c.ko\nkernel/lib/b.ko\n"
			    "kernel/fs/a.ko\nextra/f.ko\nkernel/h.ko\n");
	/* stored decompressed, and the link as the file it points to */
	assert_int_equal(th_sh("cd %s && "
			     "zstd -dqc c/extra/f.ko.zst | cmp - x/lib/modules/extra/f.ko && "
			     "cmp c/kernel/hidden/target-h.ko x/lib/modules/kernel/h.ko && "
			     "test -f x/lib/modules/kernel/h.ko -a ! -L x/lib/modules/kernel/h.ko",
			     tmp),
			 0);
	/* the cache: a hit with no modules.dep to stat, a miss when a module changes */
	assert_int_equal(gi_initramfs_cached(&cfg, cache, p1, sizeof(p1), err, sizeof(err)), 0);
	assert_int_equal(gi_initramfs_cached(&cfg, cache, p2, sizeof(p2), err, sizeof(err)), 0);
	assert_string_equal(p1, p2);
	snprintf(p2, sizeof(p2), "%s/c/kernel/lib/b.ko", tmp);
	assert_int_equal(utimensat(AT_FDCWD, p2, ts, 0), 0);
	assert_int_equal(gi_initramfs_cached(&cfg, cache, p2, sizeof(p2), err, sizeof(err)), 0);
	assert_string_not_equal(p1, p2);
	/* a module added under updates/ replaces the one in use: another image */
	PUT("c", "updates/b.ko", "depends=\0");
	assert_int_equal(gi_initramfs_cached(&cfg, cache, p1, sizeof(p1), err, sizeof(err)), 0);
	assert_string_not_equal(p1, p2);
	assert_int_equal(th_sh("cpio -t --quiet < %s | grep -qx lib/modules/updates/b.ko", p1), 0);
	assert_int_equal(th_sh("rm %s/c/updates/b.ko", tmp), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gi_modscan_crafted_tree_order),
		cmocka_unit_test(test_gi_modscan_softdeps_optional_and_cycles_ignored),
		cmocka_unit_test(test_gi_modscan_unknown_and_dangling),
		cmocka_unit_test(test_gi_modscan_bad_modules_name_the_file),
		cmocka_unit_test(test_gi_modscan_cycles_missing_and_depth),
		cmocka_unit_test(test_gi_modscan_real_cloud_kernel),
		cmocka_unit_test(test_gi_modscan_real_generic_kernel),
		cmocka_unit_test(test_gi_modscan_initramfs_image_and_cache),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
