// SPDX-License-Identifier: MIT
/* test_gi_cpio.c: newc archives from gi_cpio read back by GNU cpio (-t and -i), byte for byte. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "guest-init/mkinitramfs/cpio.h"

struct tdir {
	char path[64];
};

static void tdir_make(struct tdir *t)
{
	snprintf(t->path, sizeof(t->path), "/tmp/gi_cpio_XXXXXX");
	assert_non_null(mkdtemp(t->path));
}

static void tdir_remove(struct tdir *t)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t->path);
	assert_int_equal(system(cmd), 0);
}

static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int run(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

static void *slurp(const char *path, size_t *len)
{
	struct stat st;
	char *buf;
	int fd = open(path, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	buf = malloc((size_t)st.st_size + 1);
	assert_non_null(buf);
	assert_int_equal(read(fd, buf, (size_t)st.st_size), st.st_size);
	close(fd);
	*len = (size_t)st.st_size;
	return buf;
}

static void check_file(const char *dir, const char *name, const void *data, size_t len,
		       mode_t mode)
{
	char path[256];
	struct stat st;
	size_t got_len;
	void *got;

	snprintf(path, sizeof(path), "%s/x/%s", dir, name);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, mode);
	got = slurp(path, &got_len);
	assert_int_equal(got_len, len);
	assert_memory_equal(got, data, len);
	free(got);
}

static void test_gi_cpio_roundtrip_through_gnu_cpio(void **state)
{
	static const char *const expect_list =
		"d\nd/e\nd/e/empty\nd/e/one\nd/e/two\nd/e/three\nd/e/four\nd/bytes\nd/link\n"
		"d/fromfd\ndev/null\n";
	unsigned char bytes[1000];
	char src[128], list_path[128], *list;
	struct gi_cpio *c = malloc(sizeof(*c));
	struct tdir t;
	struct stat st;
	size_t len, i;
	int fd, sfd;

	assert_non_null(c);
	for (i = 0; i < sizeof(bytes); i++)
		bytes[i] = (unsigned char)(i * 7 + 3);
	tdir_make(&t);
	snprintf(src, sizeof(src), "%s/src", t.path);
	sfd = open(src, O_RDWR | O_CREAT, 0600);
	assert_true(sfd >= 0);
	assert_int_equal(write(sfd, bytes, 333), 333);
	assert_int_equal(lseek(sfd, 0, SEEK_SET), 0);
	snprintf(src, sizeof(src), "%s/a.cpio", t.path);
	fd = open(src, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);

	gi_cpio_init(c, fd);
	assert_int_equal(gi_cpio_add_dir(c, "d", 0755), 0);
	assert_int_equal(gi_cpio_add_dir(c, "d/e", 0700), 0);
	/* 0..4 bytes: every padding case of the data */
	assert_int_equal(gi_cpio_add_file(c, "d/e/empty", 0600, NULL, 0), 0);
	assert_int_equal(gi_cpio_add_file(c, "d/e/one", 0644, "1", 1), 0);
	assert_int_equal(gi_cpio_add_file(c, "d/e/two", 0644, "22", 2), 0);
	assert_int_equal(gi_cpio_add_file(c, "d/e/three", 0644, "333", 3), 0);
	assert_int_equal(gi_cpio_add_file(c, "d/e/four", 04755, "4444", 4), 0);
	assert_int_equal(gi_cpio_add_file(c, "d/bytes", 0640, bytes, sizeof(bytes)), 0);
	assert_int_equal(gi_cpio_add_symlink(c, "d/link", "e/one"), 0);
	assert_int_equal(gi_cpio_add_file_fd(c, "d/fromfd", 0755, sfd, 333), 0);
	assert_int_equal(gi_cpio_add_chardev(c, "dev/null", 0666, 1, 3), 0);
	assert_int_equal(gi_cpio_finish(c), 0);
	assert_int_equal(close(fd), 0);
	close(sfd);

	assert_int_equal(stat(src, &st), 0);
	assert_int_equal(st.st_size % 4, 0);
	assert_int_equal(st.st_size, c->cp_off);
	snprintf(list_path, sizeof(list_path), "%s/list", t.path);
	assert_int_equal(run("cpio -t --quiet < %s > %s", src, list_path), 0);
	list = slurp(list_path, &len);
	list[len] = '\0';
	assert_string_equal(list, expect_list);
	free(list);
	assert_int_equal(run("cpio -tv --quiet < %s | grep -q '^crw-rw-rw- .* 1, *3 .* dev/null$'",
			     src),
			 0);

	/* no device node in the extraction: cpio would create it for real */
	assert_int_equal(run("mkdir %s/x && cd %s/x && cpio -idm --quiet --no-absolute-filenames "
			     "--nonmatching 'dev/*' < %s",
			     t.path, t.path, src),
			 0);
	check_file(t.path, "d/e/empty", "", 0, 0600);
	check_file(t.path, "d/e/one", "1", 1, 0644);
	check_file(t.path, "d/e/two", "22", 2, 0644);
	check_file(t.path, "d/e/three", "333", 3, 0644);
	check_file(t.path, "d/e/four", "4444", 4, 04755);
	check_file(t.path, "d/bytes", bytes, sizeof(bytes), 0640);
	check_file(t.path, "d/fromfd", bytes, 333, 0755);
	snprintf(src, sizeof(src), "%s/x/d/link", t.path);
	len = (size_t)readlink(src, list_path, sizeof(list_path));
	assert_int_equal(len, 5);
	assert_memory_equal(list_path, "e/one", 5);
	snprintf(src, sizeof(src), "%s/x/d/e", t.path);
	assert_int_equal(stat(src, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0700);
	tdir_remove(&t);
	free(c);
}

static void test_gi_cpio_header_bytes(void **state)
{
	struct gi_cpio *c = malloc(sizeof(*c));
	char buf[256];
	int p[2];

	assert_non_null(c);
	assert_int_equal(pipe(p), 0);
	gi_cpio_init(c, p[1]);
	assert_int_equal(gi_cpio_add_file(c, "ab", 0644, "xyz", 3), 0);
	assert_int_equal(gi_cpio_finish(c), 0);
	close(p[1]);
	assert_int_equal(read(p[0], buf, sizeof(buf)), 120 + 124);
	close(p[0]);
	/* ino 1, mode 0100644, uid, gid, nlink 1, mtime 0, size 3, dev 0:0, rdev 0:0, namesize 3 */
	assert_memory_equal(buf, "070701" "00000001" "000081A4" "00000000" "00000000" "00000001"
			    "00000000" "00000003" "00000000" "00000000" "00000000" "00000000"
			    "00000003" "00000000" "ab\0\0\0\0" "xyz\0", 120);
	assert_memory_equal(buf + 120 + 94, "0000000B" "00000000" "TRAILER!!!\0", 27);
	free(c);
}

static void test_gi_cpio_bad_names_fail(void **state)
{
	struct gi_cpio *c = malloc(sizeof(*c));
	char *longname = malloc(5000);
	int fd = open("/dev/null", O_WRONLY);

	assert_non_null(c);
	assert_non_null(longname);
	memset(longname, 'a', 4999);
	longname[4999] = '\0';
	gi_cpio_init(c, fd);
	assert_int_equal(gi_cpio_add_dir(c, "", 0755), -EINVAL);
	assert_int_equal(gi_cpio_add_dir(c, "/abs", 0755), -EINVAL);
	assert_int_equal(gi_cpio_add_file(c, "TRAILER!!!", 0644, "", 0), -EINVAL);
	assert_int_equal(gi_cpio_add_file(c, longname, 0644, "", 0), -EINVAL);
	assert_int_equal(gi_cpio_add_symlink(c, "l", ""), -EINVAL);
	/* a rejected member leaves the archive usable */
	assert_int_equal(gi_cpio_add_file(c, "ok", 0644, "", 0), 0);
	assert_int_equal(gi_cpio_add_file_fd(c, "big", 0644, fd, 1ULL << 32), -EFBIG);
	assert_int_equal(gi_cpio_finish(c), 0);
	close(fd);
	free(longname);
	free(c);
}

static void test_gi_cpio_short_source_and_write_errors_stick(void **state)
{
	struct gi_cpio *c = malloc(sizeof(*c));
	int out = open("/dev/null", O_WRONLY), in = open("/dev/null", O_RDONLY);

	assert_non_null(c);
	gi_cpio_init(c, out);
	/* /dev/null has no bytes: the member cannot be completed */
	assert_int_equal(gi_cpio_add_file_fd(c, "f", 0644, in, 10), -EIO);
	assert_int_equal(gi_cpio_add_dir(c, "d", 0755), -EIO);
	assert_int_equal(gi_cpio_finish(c), -EIO);

	/* writing to a read-only fd: EBADF at the first flush */
	gi_cpio_init(c, in);
	assert_int_equal(gi_cpio_add_dir(c, "d", 0755), 0);
	assert_int_equal(gi_cpio_finish(c), -EBADF);
	assert_int_equal(gi_cpio_add_dir(c, "e", 0755), -EBADF);
	close(in);
	close(out);
	free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gi_cpio_roundtrip_through_gnu_cpio),
		cmocka_unit_test(test_gi_cpio_header_bytes),
		cmocka_unit_test(test_gi_cpio_bad_names_fail),
		cmocka_unit_test(test_gi_cpio_short_source_and_write_errors_stick),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
