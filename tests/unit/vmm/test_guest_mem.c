// SPDX-License-Identifier: MIT
/* test_guest_mem.c: memfd RAM regions around the MMIO hole, range checks, guard pages, seals. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "boot/layout.h"
#include "tests/helpers/th.h"

#define SMALL_RAM MiB(2)
#define BIG_RAM (BOOT_MMIO_HOLE_GPA + GiB(1)) /* 3 GiB low + 1 GiB high, sparse */

static void test_gm_small_ram_one_region(void **state)
{
	struct guest_mem gm;

	(void)state;
	th_gm_create(&gm, SMALL_RAM);
	assert_true(gm.fd >= 0);
	assert_int_equal(gm.size, SMALL_RAM);
	assert_int_equal(gm.nr_regions, 1);
	assert_int_equal(gm.regions[0].gpa, 0);
	assert_int_equal(gm.regions[0].len, SMALL_RAM);
	assert_int_equal(gm.regions[0].fd_offset, 0);
	assert_int_equal(gm_low_end(&gm), SMALL_RAM);
	/* the RAM mapping sits between the two guards */
	assert_ptr_equal(gm.regions[0].hva, gm.reserve + gm.guard_len);
	assert_int_equal(gm.reserve_len, SMALL_RAM + 2 * gm.guard_len);
	gm_destroy(&gm);
}

static void test_gm_above_hole_two_regions(void **state)
{
	struct guest_mem gm;

	(void)state;
	th_gm_create(&gm, BIG_RAM);
	assert_int_equal(gm.nr_regions, 2);
	assert_int_equal(gm.regions[0].gpa, 0);
	assert_int_equal(gm.regions[0].len, BOOT_MMIO_HOLE_GPA);
	assert_int_equal(gm.regions[1].gpa, BOOT_RAM_HIGH_GPA);
	assert_int_equal(gm.regions[1].len, GiB(1));
	assert_int_equal(gm.regions[1].fd_offset, BOOT_MMIO_HOLE_GPA);
	assert_ptr_equal(gm.regions[1].hva, gm.regions[0].hva + BOOT_MMIO_HOLE_GPA);
	assert_int_equal(gm_low_end(&gm), BOOT_MMIO_HOLE_GPA);
	/* one memfd, two views: high gpa 4 GiB is memfd offset 3 GiB */
	assert_ptr_equal(gm_ptr(&gm, BOOT_RAM_HIGH_GPA, 1),
			 (uint8_t *)gm_ptr(&gm, 0, 1) + BOOT_MMIO_HOLE_GPA);
	gm_destroy(&gm);
}

static void test_gm_exactly_hole_one_region(void **state)
{
	struct guest_mem gm;

	(void)state;
	th_gm_create(&gm, BOOT_MMIO_HOLE_GPA);
	assert_int_equal(gm.nr_regions, 1);
	assert_int_equal(gm.regions[0].len, BOOT_MMIO_HOLE_GPA);
	assert_null(gm_ptr(&gm, BOOT_RAM_HIGH_GPA, 0));
	gm_destroy(&gm);
}

static void test_gm_ptr_range_ending_at_ram_end_accepted(void **state)
{
	struct guest_mem gm;

	(void)state;
	th_gm_create(&gm, SMALL_RAM);
	assert_ptr_equal(gm_ptr(&gm, SMALL_RAM - 1, 1), gm.regions[0].hva + SMALL_RAM - 1);
	assert_ptr_equal(gm_ptr(&gm, SMALL_RAM - 16, 16), gm.regions[0].hva + SMALL_RAM - 16);
	assert_ptr_equal(gm_ptr(&gm, 0, SMALL_RAM), gm.regions[0].hva);
	assert_true(gm_range_ok(&gm, SMALL_RAM - 16, 16));
	gm_destroy(&gm);
}

static void test_gm_ptr_one_byte_past_ram_end_rejected(void **state)
{
	struct guest_mem gm;

	(void)state;
	th_gm_create(&gm, SMALL_RAM);
	assert_null(gm_ptr(&gm, SMALL_RAM - 16, 17));
	assert_null(gm_ptr(&gm, SMALL_RAM, 1));
	assert_null(gm_ptr(&gm, 0, SMALL_RAM + 1));
	assert_false(gm_range_ok(&gm, SMALL_RAM - 16, 17));
	gm_destroy(&gm);
}

static void test_gm_ptr_high_region_end_boundary(void **state)
{
	struct guest_mem gm;
	gpa_t end = BOOT_RAM_HIGH_GPA + GiB(1);

	(void)state;
	th_gm_create(&gm, BIG_RAM);
	assert_non_null(gm_ptr(&gm, end - 8, 8));
	assert_non_null(gm_ptr(&gm, end, 0));
	assert_null(gm_ptr(&gm, end - 8, 9));
	assert_null(gm_ptr(&gm, end, 1));
	gm_destroy(&gm);
}

static void test_gm_ptr_wrapping_range_rejected(void **state)
{
	struct guest_mem gm;

	(void)state;
	th_gm_create(&gm, SMALL_RAM);
	/* gpa + len wraps to a small in-RAM value in a naive check */
	assert_null(gm_ptr(&gm, UINT64_MAX, 2));
	assert_null(gm_ptr(&gm, UINT64_MAX, 1));
	assert_null(gm_ptr(&gm, 16, UINT64_MAX));
	assert_null(gm_ptr(&gm, 0, UINT64_MAX));
	assert_null(gm_ptr(&gm, UINT64_MAX - 15, 32));
	assert_null(gm_ptr(&gm, UINT64_MAX, 0));
	gm_destroy(&gm);
}

static void test_gm_ptr_crossing_hole_rejected(void **state)
{
	struct guest_mem gm;

	(void)state;
	th_gm_create(&gm, BIG_RAM);
	/* across the hole: both ends are RAM, the middle is not */
	assert_null(gm_ptr(&gm, BOOT_MMIO_HOLE_GPA - 8, BOOT_RAM_HIGH_GPA - BOOT_MMIO_HOLE_GPA + 16));
	/* into the hole, inside it, out of it */
	assert_null(gm_ptr(&gm, BOOT_MMIO_HOLE_GPA - 8, 9));
	assert_null(gm_ptr(&gm, BOOT_MMIO_HOLE_GPA, 1));
	assert_null(gm_ptr(&gm, BOOT_MMIO_HOLE_GPA + 0x1000, 4));
	assert_null(gm_ptr(&gm, BOOT_RAM_HIGH_GPA - 1, 2));
	/* right up to the hole, and right after it */
	assert_non_null(gm_ptr(&gm, BOOT_MMIO_HOLE_GPA - 8, 8));
	assert_non_null(gm_ptr(&gm, BOOT_RAM_HIGH_GPA, 8));
	gm_destroy(&gm);
}

static void test_gm_ptr_len_zero_inside_or_at_end_only(void **state)
{
	struct guest_mem gm;
	uint8_t buf[1];

	(void)state;
	th_gm_create(&gm, BIG_RAM);
	assert_ptr_equal(gm_ptr(&gm, 0, 0), gm.regions[0].hva);
	assert_non_null(gm_ptr(&gm, 4096, 0));
	assert_ptr_equal(gm_ptr(&gm, BOOT_MMIO_HOLE_GPA, 0),
			 gm.regions[0].hva + BOOT_MMIO_HOLE_GPA);
	assert_null(gm_ptr(&gm, BOOT_MMIO_HOLE_GPA + 1, 0));
	assert_null(gm_ptr(&gm, BOOT_RAM_HIGH_GPA - 1, 0));
	assert_non_null(gm_ptr(&gm, BOOT_RAM_HIGH_GPA, 0));
	assert_null(gm_ptr(&gm, BOOT_RAM_HIGH_GPA + GiB(1) + 1, 0));
	/* gm_read/gm_write follow gm_ptr for len 0 */
	assert_int_equal(gm_read(&gm, BOOT_MMIO_HOLE_GPA, buf, 0), 0);
	assert_int_equal(gm_write(&gm, BOOT_MMIO_HOLE_GPA + 1, buf, 0), -EFAULT);
	gm_destroy(&gm);
}

static void test_gm_read_write_round_trip(void **state)
{
	struct guest_mem gm;
	uint8_t in[64], out[64];

	(void)state;
	th_gm_create(&gm, BIG_RAM);
	for (unsigned i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(i * 7 + 1);
	assert_int_equal(gm_write(&gm, SMALL_RAM - sizeof(in), in, sizeof(in)), 0);
	assert_int_equal(gm_read(&gm, SMALL_RAM - sizeof(in), out, sizeof(out)), 0);
	assert_memory_equal(in, out, sizeof(in));
	/* top of high RAM: the last bytes of the memfd */
	memset(out, 0, sizeof(out));
	assert_int_equal(gm_write(&gm, BOOT_RAM_HIGH_GPA + GiB(1) - sizeof(in), in, sizeof(in)), 0);
	assert_int_equal(gm_read(&gm, BOOT_RAM_HIGH_GPA + GiB(1) - sizeof(in), out, sizeof(out)), 0);
	assert_memory_equal(in, out, sizeof(in));
	gm_destroy(&gm);
}

static void test_gm_read_write_outside_ram_efault(void **state)
{
	struct guest_mem gm;
	uint8_t buf[16] = { 0x5a };

	(void)state;
	th_gm_create(&gm, SMALL_RAM);
	assert_int_equal(gm_read(&gm, SMALL_RAM - 8, buf, 16), -EFAULT);
	assert_int_equal(gm_write(&gm, SMALL_RAM - 8, buf, 16), -EFAULT);
	assert_int_equal(gm_read(&gm, UINT64_MAX, buf, 2), -EFAULT);
	assert_int_equal(gm_write(&gm, UINT64_MAX - 7, buf, 16), -EFAULT);
	assert_int_equal(gm_read(&gm, BOOT_MMIO_HOLE_GPA, buf, 1), -EFAULT);
	/* a failed write touched nothing */
	uint8_t *tail = gm_ptr(&gm, SMALL_RAM - 8, 8);
	for (unsigned i = 0; i < 8; i++)
		assert_int_equal(tail[i], 0);
	gm_destroy(&gm);
}

/* Poke (hva) in a child with default SIGSEGV handling; return how the child ended. */
static int poke_in_child(volatile uint8_t *hva)
{
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		/* cmocka's (and ASan's) handlers would turn the fault into a report */
		signal(SIGSEGV, SIG_DFL);
		signal(SIGBUS, SIG_DFL);
		*hva = 0xaa;
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

static void test_gm_guard_page_after_ram_faults(void **state)
{
	struct guest_mem gm;
	int status;

	(void)state;
	th_gm_create(&gm, SMALL_RAM);
	uint8_t *last = gm_ptr(&gm, SMALL_RAM - 1, 1);
	assert_non_null(last);
	/* the last byte itself is writable in a child ... */
	status = poke_in_child(last);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	/* ... one byte past it hits the guard */
	status = poke_in_child(last + 1);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGSEGV);
	gm_destroy(&gm);
}

static void test_gm_guard_page_before_ram_faults(void **state)
{
	struct guest_mem gm;
	int status;

	(void)state;
	th_gm_create(&gm, SMALL_RAM);
	status = poke_in_child(gm.regions[0].hva - 1);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGSEGV);
	gm_destroy(&gm);
}

static void test_gm_guard_page_after_high_region_faults(void **state)
{
	struct guest_mem gm;
	int status;

	(void)state;
	th_gm_create(&gm, BIG_RAM);
	uint8_t *last = gm_ptr(&gm, BOOT_RAM_HIGH_GPA + GiB(1) - 1, 1);
	assert_non_null(last);
	status = poke_in_child(last + 1);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGSEGV);
	gm_destroy(&gm);
}

static void test_gm_create_bad_args_einval(void **state)
{
	struct guest_mem gm;

	(void)state;
	assert_int_equal(gm_create(&gm, 0, BOOT_MMIO_HOLE_GPA), -EINVAL);
	assert_int_equal(gm.fd, -1);
	assert_int_equal(gm_create(&gm, SMALL_RAM + 1, BOOT_MMIO_HOLE_GPA), -EINVAL);
	assert_int_equal(gm_create(&gm, SMALL_RAM + 2048, BOOT_MMIO_HOLE_GPA), -EINVAL);
	assert_int_equal(gm_create(&gm, SMALL_RAM, 0), -EINVAL);
	assert_int_equal(gm_create(&gm, SMALL_RAM, BOOT_MMIO_HOLE_GPA + 1), -EINVAL);
	assert_int_equal(gm_create(&gm, GiB(1024) + 4096, BOOT_MMIO_HOLE_GPA), -EINVAL);
	assert_int_equal(gm_create(&gm, UINT64_MAX & ~0xfffULL, BOOT_MMIO_HOLE_GPA), -EINVAL);
	/* a hole above 4 GiB would make the high region overlap the low one */
	assert_int_equal(gm_create(&gm, GiB(8), GiB(6)), -EINVAL);
	/* nothing was left behind by any failure */
	assert_int_equal(gm.fd, -1);
	assert_null(gm.reserve);
	assert_int_equal(gm.nr_regions, 0);
	gm_destroy(&gm);
}

static void test_gm_create_hole_at_4g_no_overlap(void **state)
{
	struct guest_mem gm;

	(void)state;
	/* hole_start == 4 GiB is the largest allowed: regions touch but do not overlap */
	assert_int_equal(gm_create(&gm, GiB(5), BOOT_RAM_HIGH_GPA), 0);
	assert_int_equal(gm.nr_regions, 2);
	assert_int_equal(gm.regions[0].len, BOOT_RAM_HIGH_GPA);
	assert_int_equal(gm.regions[1].gpa, BOOT_RAM_HIGH_GPA);
	assert_int_equal(gm.regions[1].len, GiB(1));
	gm_destroy(&gm);
}

static void test_gm_destroy_idempotent(void **state)
{
	struct guest_mem gm;

	(void)state;
	th_gm_create(&gm, SMALL_RAM);
	gm_destroy(&gm);
	assert_int_equal(gm.fd, -1);
	assert_null(gm.reserve);
	assert_int_equal(gm.nr_regions, 0);
	assert_null(gm_ptr(&gm, 0, 1));
	assert_int_equal(gm_low_end(&gm), 0);
	gm_destroy(&gm);
	assert_int_equal(gm.fd, -1);

	/* also on a struct that was only ever emptied, and after a failed create */
	gm_init_empty(&gm);
	gm_destroy(&gm);
	assert_int_equal(gm_create(&gm, 0, BOOT_MMIO_HOLE_GPA), -EINVAL);
	gm_destroy(&gm);
	gm_destroy(&gm);
}

static void test_gm_ram_is_2mib_aligned(void **state)
{
	struct guest_mem gm;

	(void)state;
	th_gm_create(&gm, BIG_RAM);
	/* huge pages need host and guest addresses congruent modulo 2 MiB */
	assert_true(IS_ALIGNED((uintptr_t)gm.regions[0].hva, MiB(2)));
	assert_true(IS_ALIGNED((uintptr_t)gm.regions[1].hva, MiB(2)));
	gm_destroy(&gm);
}

/*
 * A vhost-user back end gets the memfd (SCM_RIGHTS: the same open file) and
 * may be compromised: it can neither truncate nor grow guest RAM (agentvmm's
 * next access would be a SIGBUS), nor add or drop seals. Checked through a
 * dup and through a fresh open of /proc/self/fd/N, as a back end could.
 */
static void test_gm_memfd_sealed_against_resize(void **state)
{
	struct guest_mem gm;
	char proc[64];
	uint8_t b = 0x77, got = 0;
	int fds[2];

	(void)state;
	th_gm_create(&gm, SMALL_RAM);
	fds[0] = dup(gm.fd);
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", gm.fd);
	fds[1] = open(proc, O_RDWR | O_CLOEXEC);
	assert_true(fds[0] >= 0 && fds[1] >= 0);
	for (unsigned i = 0; i < 2; i++) {
		int fd = fds[i];

		assert_int_equal(ftruncate(fd, 0), -1);
		assert_int_equal(errno, EPERM);
		assert_int_equal(fcntl(fd, F_GET_SEALS),
				 F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
		assert_int_equal(ftruncate(fd, SMALL_RAM - 4096), -1);
		assert_int_equal(errno, EPERM);
		assert_int_equal(ftruncate(fd, SMALL_RAM + 4096), -1);
		assert_int_equal(errno, EPERM);
		assert_int_equal(fallocate(fd, 0, SMALL_RAM, 4096), -1);
		assert_int_equal(errno, EPERM);
		/* the seal set is sealed: nothing added (F_SEAL_WRITE would stop the guest) */
		assert_int_equal(fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE), -1);
		assert_int_equal(errno, EPERM);
		assert_int_equal(fcntl(fd, F_ADD_SEALS, F_SEAL_FUTURE_WRITE), -1);
		assert_int_equal(errno, EPERM);
		/* writing guest RAM through the fd stays allowed: that is the back end's job */
		assert_int_equal(pwrite(fd, &b, 1, SMALL_RAM - 1), 1);
		close(fd);
	}
	/* RAM intact, still the same size, last byte reachable */
	struct stat st;
	assert_int_equal(fstat(gm.fd, &st), 0);
	assert_int_equal(st.st_size, SMALL_RAM);
	assert_int_equal(gm_read(&gm, SMALL_RAM - 1, &got, 1), 0);
	assert_int_equal(got, 0x77);
	gm_destroy(&gm);

	/* the private (anonymous) path has no fd to seal and works as before */
	assert_int_equal(gm_create_opts(&gm, SMALL_RAM, BOOT_MMIO_HOLE_GPA, GM_PRIVATE), 0);
	assert_int_equal(gm.fd, -1);
	assert_int_equal(gm_write(&gm, SMALL_RAM - 1, &b, 1), 0);
	assert_int_equal(gm_read(&gm, SMALL_RAM - 1, &got, 1), 0);
	assert_int_equal(got, 0x77);
	gm_destroy(&gm);
}

static void test_gm_private_no_memfd(void **state)
{
	struct guest_mem gm;
	uint8_t in[32], out[32];

	(void)state;
	assert_int_equal(gm_create_opts(&gm, BIG_RAM, BOOT_MMIO_HOLE_GPA, GM_PRIVATE), 0);
	assert_int_equal(gm.fd, -1);
	assert_int_equal(gm.nr_regions, 2);
	assert_true(IS_ALIGNED((uintptr_t)gm.regions[0].hva, MiB(2)));
	assert_ptr_equal(gm.regions[0].hva, gm.reserve + gm.guard_len);
	assert_int_equal(gm.reserve_len, BIG_RAM + 2 * gm.guard_len);
	assert_ptr_equal(gm.regions[1].hva, gm.regions[0].hva + BOOT_MMIO_HOLE_GPA);
	/* zero-filled, writable, both regions */
	assert_int_equal(gm_read(&gm, BOOT_RAM_HIGH_GPA + GiB(1) - sizeof(out), out, sizeof(out)), 0);
	for (unsigned i = 0; i < sizeof(out); i++)
		assert_int_equal(out[i], 0);
	memset(in, 0x3c, sizeof(in));
	assert_int_equal(gm_write(&gm, BOOT_RAM_HIGH_GPA, in, sizeof(in)), 0);
	assert_int_equal(gm_read(&gm, BOOT_RAM_HIGH_GPA, out, sizeof(out)), 0);
	assert_memory_equal(in, out, sizeof(in));
	gm_destroy(&gm);
	assert_int_equal(gm.fd, -1);
	assert_null(gm.reserve);
}

/* The VmFlags line of the /proc/self/smaps entry that maps (addr). */
static bool vma_has_flag(const void *addr, const char *flag)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	char line[512];
	bool in = false, found = false;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;

		/* a mapping's first line; the others ("Rss:", "AnonHugePages:"...) match < 2 */
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2) {
			in = (uintptr_t)addr >= lo && (uintptr_t)addr < hi;
			continue;
		}
		if (in && !strncmp(line, "VmFlags:", 8)) {
			char want[8];

			snprintf(want, sizeof(want), " %s", flag);
			found = strstr(line, want) != NULL;
			break;
		}
	}
	fclose(f);
	return found;
}

static void test_gm_mergeable(void **state)
{
	struct guest_mem gm;

	(void)state;
	/* shared (memfd) RAM: KSM never merges it, refused */
	assert_int_equal(gm_create(&gm, SMALL_RAM, BOOT_MMIO_HOLE_GPA), 0);
	assert_int_equal(gm_mergeable(&gm), -EINVAL);
	gm_destroy(&gm);
	assert_int_equal(gm_create_opts(&gm, BIG_RAM, BOOT_MMIO_HOLE_GPA, GM_PRIVATE), 0);
	assert_false(vma_has_flag(gm.regions[1].hva, "mg"));
	if (access("/sys/kernel/mm/ksm/run", F_OK) < 0) {
		assert_int_equal(gm_mergeable(&gm), -EINVAL);
	} else {
		assert_int_equal(gm_mergeable(&gm), 0);
		/* both regions: the low one and the one above the hole */
		assert_true(vma_has_flag(gm.regions[0].hva, "mg"));
		assert_true(vma_has_flag(gm.regions[1].hva + BIG_RAM - BOOT_MMIO_HOLE_GPA - 1,
					 "mg"));
	}
	gm_destroy(&gm);
}

static void test_gm_private_guards_and_no_fork(void **state)
{
	struct guest_mem gm;
	int status;

	(void)state;
	assert_int_equal(gm_create_opts(&gm, SMALL_RAM, BOOT_MMIO_HOLE_GPA, GM_PRIVATE), 0);
	status = poke_in_child(gm.regions[0].hva - 1);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGSEGV);
	status = poke_in_child(gm.regions[0].hva + SMALL_RAM);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGSEGV);
	/* MADV_DONTFORK: a forked child does not even see guest RAM */
	status = poke_in_child(gm.regions[0].hva);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGSEGV);
	gm_destroy(&gm);
}

static void test_gm_resident_bytes_counts_touched_pages(void **state)
{
	struct guest_mem gm;
	uint8_t one = 1;

	(void)state;
	for (unsigned flags = 0; flags <= GM_PRIVATE; flags += GM_PRIVATE) {
		assert_int_equal(gm_create_opts(&gm, MiB(64), BOOT_MMIO_HOLE_GPA, flags), 0);
		assert_int_equal(gm_resident_bytes(&gm), 0);
		assert_int_equal(gm_write(&gm, MiB(10), &one, 1), 0);
		assert_int_equal(gm_write(&gm, MiB(30), &one, 1), 0);
		/* two pages, or two huge pages where the host gives THP */
		uint64_t r = gm_resident_bytes(&gm);
		assert_true(r >= 2 * 4096);
		assert_true(r <= 2 * MiB(2));
		gm_destroy(&gm);
	}
}

static void test_gm_unknown_flags_rejected(void **state)
{
	struct guest_mem gm;

	(void)state;
	assert_int_equal(gm_create_opts(&gm, SMALL_RAM, BOOT_MMIO_HOLE_GPA, 0x80), -EINVAL);
	assert_int_equal(gm.fd, -1);
	assert_null(gm.reserve);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gm_small_ram_one_region),
		cmocka_unit_test(test_gm_above_hole_two_regions),
		cmocka_unit_test(test_gm_exactly_hole_one_region),
		cmocka_unit_test(test_gm_ptr_range_ending_at_ram_end_accepted),
		cmocka_unit_test(test_gm_ptr_one_byte_past_ram_end_rejected),
		cmocka_unit_test(test_gm_ptr_high_region_end_boundary),
		cmocka_unit_test(test_gm_ptr_wrapping_range_rejected),
		cmocka_unit_test(test_gm_ptr_crossing_hole_rejected),
		cmocka_unit_test(test_gm_ptr_len_zero_inside_or_at_end_only),
		cmocka_unit_test(test_gm_read_write_round_trip),
		cmocka_unit_test(test_gm_read_write_outside_ram_efault),
		cmocka_unit_test(test_gm_guard_page_after_ram_faults),
		cmocka_unit_test(test_gm_guard_page_before_ram_faults),
		cmocka_unit_test(test_gm_guard_page_after_high_region_faults),
		cmocka_unit_test(test_gm_ram_is_2mib_aligned),
		cmocka_unit_test(test_gm_memfd_sealed_against_resize),
		cmocka_unit_test(test_gm_private_no_memfd),
		cmocka_unit_test(test_gm_private_guards_and_no_fork),
		cmocka_unit_test(test_gm_resident_bytes_counts_touched_pages),
		cmocka_unit_test(test_gm_unknown_flags_rejected),
		cmocka_unit_test(test_gm_create_bad_args_einval),
		cmocka_unit_test(test_gm_create_hole_at_4g_no_overlap),
		cmocka_unit_test(test_gm_destroy_idempotent),
		cmocka_unit_test(test_gm_mergeable),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
