// SPDX-License-Identifier: MIT
/* test_bench_parse.c: parsers of VMM output and smaps (bench/parse.c). */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "bench/parse.h"

#define EPS 1e-9

static void test_av_times_full_line_parses(void **state)
{
	double ms[BENCH_AV_NR_TIMES];

	/* the exact format of vm_report_times() in vmm/vm.c */
	assert_int_equal(bench_parse_av_times("agentvmm: times (ms since start): first KVM_RUN 1.25, "
					      "guest-init 210.5, workload 230.0, workload done 240.1, "
					      "stop 250.0, torn down 251.5", ms), 0);
	assert_true(fabs(ms[BENCH_AV_FIRST_RUN] - 1.25) < EPS);
	assert_true(fabs(ms[BENCH_AV_GUEST_INIT] - 210.5) < EPS);
	assert_true(fabs(ms[BENCH_AV_WORKLOAD_DONE] - 240.1) < EPS);
	assert_true(fabs(ms[BENCH_AV_TORN_DOWN] - 251.5) < EPS);
}

static void test_av_times_unreached_phase_is_nan(void **state)
{
	double ms[BENCH_AV_NR_TIMES];

	assert_int_equal(bench_parse_av_times("agentvmm: times (ms since start): first KVM_RUN 1.00, "
					      "guest-init -1.0, workload -1.0, workload done -1.0, "
					      "stop 9.0, torn down 9.5", ms), 0);
	assert_true(isnan(ms[BENCH_AV_GUEST_INIT]));
	assert_true(fabs(ms[BENCH_AV_STOP] - 9) < EPS);
}

static void test_av_times_other_or_truncated_line_fails(void **state)
{
	double ms[BENCH_AV_NR_TIMES];

	assert_int_equal(bench_parse_av_times("agentvmm: guest powered off", ms), -EINVAL);
	assert_int_equal(bench_parse_av_times("agentvmm: times (ms since start): first KVM_RUN 1.00, "
					      "guest-init 2.0", ms), -EINVAL);
}

static void test_av_memory_parses_and_rejects(void **state)
{
	uint64_t rss, guest, vmm;

	assert_int_equal(bench_parse_av_memory("agentvmm: memory: RSS 105176 KiB, of which guest "
					       "RAM 103288 KiB, VMM 1888 KiB", &rss, &guest, &vmm), 0);
	assert_true(rss == 105176 && guest == 103288 && vmm == 1888);
	assert_int_equal(bench_parse_av_memory("agentvmm: memory: RSS x", &rss, &guest, &vmm),
			 -EINVAL);
}

static void test_av_clock_parses_and_rejects(void **state)
{
	double ms = 0;

	(void)state;
	assert_int_equal(bench_parse_av_clock("agentvmm: clock: vm_create at CLOCK_MONOTONIC "
					      "132021.199104 ms", &ms), 0);
	assert_true(ms > 132021.199 && ms < 132021.1992);
	assert_int_equal(bench_parse_av_clock("agentvmm: clock: vm_create at", &ms), -EINVAL);
	assert_int_equal(bench_parse_av_clock("agentvmm: guest powered off", &ms), -EINVAL);
}

static void test_printk_console_and_dmesg_forms(void **state)
{
	double s = -1;

	assert_true(bench_parse_printk("[    3.391280] Run /init as init process",
				       "Run /init as init process", &s));
	assert_true(fabs(s - 3.39128) < EPS);
	/* a stray byte before the record (e.g. a half line) is skipped */
	assert_true(bench_parse_printk("x[   12.5] Run /init as init process", "Run /init", &s));
	assert_true(fabs(s - 12.5) < EPS);
	assert_false(bench_parse_printk("Run /init as init process", "Run /init", &s));
	assert_false(bench_parse_printk("[ abc] Run /init", "Run /init", &s));
	assert_false(bench_parse_printk("[    1.0] something else", "Run /init", &s));
	/* the percent-encoded command line the guest echoes never matches */
	assert_false(bench_parse_printk("AVBENCH-CMDLINE x grep%20%27Run%20/init%27", "Run /init", &s));
}

static void test_qemu_running_trace_line(void **state)
{
	assert_true(bench_parse_qemu_running("vm_state_notify running 1 reason 9 (running)"));
	assert_true(bench_parse_qemu_running("1234@1700000000.000001:vm_state_notify running 1 "
					     "reason 9 (running)"));
	assert_false(bench_parse_qemu_running("vm_state_notify running 0 reason 11 (shutdown)"));
}

static const char smaps_text[] =
	"55d0c0000000-55d0c0010000 r-xp 00000000 08:01 1234 /usr/bin/qemu\n"
	"Size:                 64 kB\n"
	"Rss:                  40 kB\n"
	"Pss:                  20 kB\n"
	"Pss_Anon:             99 kB\n"
	"7f0000000000-7f0020000000 rw-p 00000000 00:00 0 \n"
	"Size:             524288 kB\n"
	"Rss:              100000 kB\n"
	"Pss:              100000 kB\n"
	"7f1000000000-7f1020000000 rw-s 00000000 00:01 77 /memfd:agentvmm-ram (deleted)\n"
	"Rss:                1000 kB\n"
	"Pss:                 500 kB\n"
	"7f2000000000-7f2000800000 rw-p 00000000 00:00 0 \n"
	"Rss:                   8 kB\n"
	"Pss:                   8 kB\n";

static void test_smaps_sums_and_finds_guest_ram(void **state)
{
	struct bench_mem m;

	/* 512 MiB guest: the 512 MiB anonymous mapping and the agentvmm memfd are RAM */
	assert_int_equal(bench_parse_smaps(smaps_text, strlen(smaps_text), 512ULL << 20, &m), 0);
	assert_true(m.rss_kib == 40 + 100000 + 1000 + 8);
	assert_true(m.pss_kib == 20 + 100000 + 500 + 8);
	assert_true(m.guest_rss_kib == 100000 + 1000);
	assert_true(m.guest_pss_kib == 100000 + 500);
}

static void test_smaps_other_size_is_not_ram(void **state)
{
	struct bench_mem m;

	/* a 2 GiB guest: the 512 MiB anonymous mapping is VMM memory, not RAM */
	assert_int_equal(bench_parse_smaps(smaps_text, strlen(smaps_text), 2048ULL << 20, &m), 0);
	assert_true(m.guest_rss_kib == 1000);
	assert_int_equal(bench_parse_smaps("garbage\n", 8, 1, &m), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_av_times_full_line_parses),
		cmocka_unit_test(test_av_times_unreached_phase_is_nan),
		cmocka_unit_test(test_av_times_other_or_truncated_line_fails),
		cmocka_unit_test(test_av_memory_parses_and_rejects),
		cmocka_unit_test(test_av_clock_parses_and_rejects),
		cmocka_unit_test(test_printk_console_and_dmesg_forms),
		cmocka_unit_test(test_qemu_running_trace_line),
		cmocka_unit_test(test_smaps_sums_and_finds_guest_ram),
		cmocka_unit_test(test_smaps_other_size_is_not_ram),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
