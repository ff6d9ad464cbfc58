// SPDX-License-Identifier: MIT
/* test_uart8250.c: the 16550A model driven through its port-I/O ops, as a guest driver would. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "devices/uart8250.h"

/* PC16550D register offsets and bits, spelled out so the test does not share the model's. */
#define RBR 0
#define THR 0
#define DLL 0
#define IER 1
#define DLM 1
#define IIR 2
#define FCR 2
#define LCR 3
#define MCR 4
#define LSR 5
#define MSR 6
#define SCR 7

#define TEST_GSI 4

/* Everything the uart reaches outside itself: its irq line and its output sink. */
struct fixture {
	struct uart u;
	unsigned nr_levels;
	bool levels[64];
	uint32_t last_gsi;
	size_t out_len;
	uint8_t out[256];
};

static void irq_record_cb(void *opaque, uint32_t gsi, bool level)
{
	struct fixture *f = opaque;

	assert_true(f->nr_levels < ARRAY_SIZE(f->levels));
	f->levels[f->nr_levels++] = level;
	f->last_gsi = gsi;
}

static void out_record_cb(void *opaque, const uint8_t *buf, size_t len)
{
	struct fixture *f = opaque;

	assert_true(f->out_len + len <= sizeof(f->out));
	memcpy(f->out + f->out_len, buf, len);
	f->out_len += len;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct irq_line irq = { .set = irq_record_cb, .opaque = f, .gsi = TEST_GSI };

	if (!f)
		return -1;
	uart_init(&f->u, &irq, out_record_cb, f);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	uart_fini(&f->u);
	free(f);
	return 0;
}

static uint8_t rd(struct fixture *f, uint64_t off)
{
	uint8_t v = 0x5a;

	uart_ops.read(&f->u, off, &v, 1);
	return v;
}

static void wr(struct fixture *f, uint64_t off, uint8_t v)
{
	uart_ops.write(&f->u, off, &v, 1);
}

/* Current irq line level as the callback last saw it (low before any call). */
static bool irq_level(const struct fixture *f)
{
	return f->nr_levels ? f->levels[f->nr_levels - 1] : false;
}

static void rx(struct fixture *f, const char *s)
{
	assert_int_equal(uart_receive(&f->u, (const uint8_t *)s, strlen(s)), strlen(s));
}

static void test_uart_tx_bytes_reach_output(void **state)
{
	struct fixture *f = *state;

	wr(f, THR, 'h');
	wr(f, THR, 'i');
	wr(f, THR, '\n');
	assert_int_equal(f->out_len, 3);
	assert_memory_equal(f->out, "hi\n", 3);
	assert_int_equal(f->u.tx_bytes, 3);
	/* no interrupt enabled: the line never moved */
	assert_int_equal(f->nr_levels, 0);
}

static void test_uart_reset_state_registers(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(rd(f, IER), 0);
	assert_int_equal(rd(f, IIR), 0x01);
	assert_int_equal(rd(f, LCR), 0);
	assert_int_equal(rd(f, MCR), 0x08); /* OUT2: interrupts routed, as after a PC BIOS */
	assert_int_equal(rd(f, LSR), 0x60);
	assert_int_equal(rd(f, MSR), 0xb0); /* DCD, DSR, CTS: a cable is present */
	assert_int_equal(rd(f, SCR), 0);
	assert_int_equal(rd(f, RBR), 0);
}

static void test_uart_lsr_thre_temt_dr_follow_rx(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(rd(f, LSR), 0x60);
	rx(f, "ab");
	assert_int_equal(rd(f, LSR), 0x61);
	assert_int_equal(rd(f, RBR), 'a');
	assert_int_equal(rd(f, LSR), 0x61);
	assert_int_equal(rd(f, RBR), 'b');
	assert_int_equal(rd(f, LSR), 0x60);
	/* empty receiver reads 0 and stays empty */
	assert_int_equal(rd(f, RBR), 0);
	assert_int_equal(rd(f, LSR), 0x60);
	/* THRE and TEMT stay set across transmission: bytes leave at once */
	wr(f, THR, 'x');
	assert_int_equal(rd(f, LSR) & 0x60, 0x60);
}

static void test_uart_thre_irq_raised_on_enable_acked_by_iir(void **state)
{
	struct fixture *f = *state;

	wr(f, IER, 0x02);
	assert_int_equal(f->nr_levels, 1);
	assert_true(irq_level(f));
	assert_int_equal(f->last_gsi, TEST_GSI);
	assert_int_equal(rd(f, IIR), 0x02);
	/* reading IIR acknowledged THRE: line low, nothing pending */
	assert_int_equal(f->nr_levels, 2);
	assert_false(irq_level(f));
	assert_int_equal(rd(f, IIR), 0x01);
	assert_int_equal(f->nr_levels, 2);
}

static void test_uart_thre_irq_rearmed_by_tx(void **state)
{
	struct fixture *f = *state;

	wr(f, IER, 0x02);
	assert_int_equal(rd(f, IIR), 0x02);
	assert_false(irq_level(f));
	wr(f, THR, 'z');
	assert_true(irq_level(f));
	assert_int_equal(rd(f, IIR), 0x02);
	assert_false(irq_level(f));
	/* rewriting IER with THRI already on does not raise it again */
	wr(f, IER, 0x02);
	assert_false(irq_level(f));
	assert_int_equal(rd(f, IIR), 0x01);
	/* off then on again does (the Linux UART_BUG_THRE probe) */
	wr(f, IER, 0x00);
	wr(f, IER, 0x02);
	assert_true(irq_level(f));
	assert_int_equal(f->nr_levels, 5);
}

static void test_uart_thre_pending_masked_when_disabled(void **state)
{
	struct fixture *f = *state;

	/* a TX with THRI off leaves no visible interrupt */
	wr(f, THR, 'a');
	assert_int_equal(rd(f, IIR), 0x01);
	assert_int_equal(f->nr_levels, 0);
}

static void test_uart_rx_irq_raised_and_cleared_by_read(void **state)
{
	struct fixture *f = *state;

	wr(f, IER, 0x01);
	assert_int_equal(f->nr_levels, 0);
	rx(f, "q");
	assert_int_equal(f->nr_levels, 1);
	assert_true(irq_level(f));
	assert_int_equal(rd(f, IIR), 0x04);
	/* IIR read does not acknowledge RX data: only draining does */
	assert_true(irq_level(f));
	assert_int_equal(rd(f, RBR), 'q');
	assert_false(irq_level(f));
	assert_int_equal(rd(f, IIR), 0x01);
	assert_int_equal(f->nr_levels, 2);
}

static void test_uart_rx_irq_no_redundant_edges(void **state)
{
	struct fixture *f = *state;

	wr(f, IER, 0x01);
	rx(f, "a");
	rx(f, "bc");
	rx(f, "d");
	/* one rising edge for four bytes, one falling edge after the last read */
	assert_int_equal(f->nr_levels, 1);
	for (int i = 0; i < 3; i++)
		rd(f, RBR);
	assert_int_equal(f->nr_levels, 1);
	assert_int_equal(rd(f, RBR), 'd');
	assert_int_equal(f->nr_levels, 2);
	assert_false(irq_level(f));
}

static void test_uart_rx_data_priority_over_thre(void **state)
{
	struct fixture *f = *state;

	rx(f, "xy");
	wr(f, IER, 0x03);
	assert_true(irq_level(f));
	/* both pending: RX data is reported, and reporting it keeps THRE pending */
	assert_int_equal(rd(f, IIR), 0x04);
	assert_int_equal(rd(f, IIR), 0x04);
	assert_int_equal(rd(f, RBR), 'x');
	assert_int_equal(rd(f, IIR), 0x04);
	assert_int_equal(rd(f, RBR), 'y');
	assert_true(irq_level(f));
	assert_int_equal(rd(f, IIR), 0x02);
	assert_false(irq_level(f));
	assert_int_equal(rd(f, IIR), 0x01);
	/* the line was raised once and dropped once through all of it */
	assert_int_equal(f->nr_levels, 2);
}

static void test_uart_out2_gates_irq(void **state)
{
	struct fixture *f = *state;

	wr(f, MCR, 0x00);
	wr(f, IER, 0x01);
	rx(f, "a");
	/* pending but not routed */
	assert_int_equal(f->nr_levels, 0);
	assert_int_equal(rd(f, IIR), 0x04);
	wr(f, MCR, 0x08);
	assert_int_equal(f->nr_levels, 1);
	assert_true(irq_level(f));
	wr(f, MCR, 0x03);
	assert_int_equal(f->nr_levels, 2);
	assert_false(irq_level(f));
	wr(f, MCR, 0x0b);
	assert_true(irq_level(f));
	rd(f, RBR);
	assert_false(irq_level(f));
}

static void test_uart_dlab_divisor_latch_access(void **state)
{
	struct fixture *f = *state;

	wr(f, IER, 0x01);
	wr(f, LCR, 0x83);
	assert_int_equal(rd(f, LCR), 0x83);
	/* reset divisor 12: 9600 baud */
	assert_int_equal(rd(f, DLL), 12);
	assert_int_equal(rd(f, DLM), 0);
	wr(f, DLL, 0x01);
	wr(f, DLM, 0x02);
	assert_int_equal(rd(f, DLL), 0x01);
	assert_int_equal(rd(f, DLM), 0x02);
	/* latch writes neither transmit nor touch IER */
	assert_int_equal(f->out_len, 0);
	assert_int_equal(f->nr_levels, 0);
	/* RX data waits behind the latch */
	rx(f, "r");
	assert_int_equal(rd(f, DLL), 0x01);
	assert_int_equal(rd(f, LSR), 0x61);
	wr(f, LCR, 0x03);
	assert_int_equal(rd(f, IER), 0x01);
	assert_int_equal(rd(f, RBR), 'r');
	wr(f, THR, 'T');
	assert_int_equal(f->out_len, 1);
	/* the latch kept its value */
	wr(f, LCR, 0x80);
	assert_int_equal(rd(f, DLL), 0x01);
	assert_int_equal(rd(f, DLM), 0x02);
}

static void test_uart_dlab_dlm_write_does_not_enable_thre(void **state)
{
	struct fixture *f = *state;

	wr(f, LCR, 0x80);
	wr(f, DLM, 0x02);
	wr(f, LCR, 0x00);
	assert_int_equal(rd(f, IER), 0);
	assert_int_equal(rd(f, IIR), 0x01);
	assert_int_equal(f->nr_levels, 0);
}

static void test_uart_loopback_msr_bits(void **state)
{
	struct fixture *f = *state;

	/* Linux autoconfig: MCR = LOOP | OUT2 | RTS must read back DCD | CTS */
	wr(f, MCR, 0x1a);
	assert_int_equal(rd(f, MSR) & 0xf0, 0x90);
	wr(f, MCR, 0x10);
	assert_int_equal(rd(f, MSR), 0x00);
	wr(f, MCR, 0x11);
	assert_int_equal(rd(f, MSR), 0x20);
	wr(f, MCR, 0x12);
	assert_int_equal(rd(f, MSR), 0x10);
	wr(f, MCR, 0x14);
	assert_int_equal(rd(f, MSR), 0x40);
	wr(f, MCR, 0x18);
	assert_int_equal(rd(f, MSR), 0x80);
	wr(f, MCR, 0x1f);
	assert_int_equal(rd(f, MSR), 0xf0);
	/* out of loopback: fixed modem status again */
	wr(f, MCR, 0x0f);
	assert_int_equal(rd(f, MSR), 0xb0);
}

static void test_uart_loopback_tx_comes_back_as_rx(void **state)
{
	struct fixture *f = *state;
	uint8_t host = 'h';

	wr(f, MCR, 0x18);
	wr(f, IER, 0x01);
	wr(f, THR, 0x55);
	/* not sent to the host, received instead, with the RX interrupt */
	assert_int_equal(f->out_len, 0);
	assert_int_equal(f->u.tx_bytes, 0);
	assert_int_equal(rd(f, LSR), 0x61);
	assert_true(irq_level(f));
	/* host input is cut off in loopback and counted as dropped */
	assert_int_equal(uart_receive(&f->u, &host, 1), 0);
	assert_int_equal(f->u.rx_dropped, 1);
	assert_int_equal(rd(f, RBR), 0x55);
	assert_int_equal(rd(f, LSR), 0x60);
	assert_false(irq_level(f));
}

static void test_uart_mcr_reserved_bits_masked(void **state)
{
	struct fixture *f = *state;

	wr(f, MCR, 0xef);
	assert_int_equal(rd(f, MCR), 0x0f);
	wr(f, IER, 0xff);
	assert_int_equal(rd(f, IER), 0x0f);
}

static void test_uart_fcr_clears_rx_only_with_enable(void **state)
{
	struct fixture *f = *state;

	rx(f, "abc");
	wr(f, FCR, 0x02); /* CLEAR_RX without FIFO enable: no effect */
	assert_int_equal(rd(f, LSR), 0x61);
	assert_int_equal(rd(f, IIR), 0x01); /* FIFOs off */
	wr(f, FCR, 0x07);
	assert_int_equal(rd(f, LSR), 0x60);
	assert_int_equal(rd(f, RBR), 0);
	assert_int_equal(rd(f, IIR), 0xc1); /* FIFOs on */
	/* the receiver still works after the clear */
	rx(f, "d");
	assert_int_equal(rd(f, RBR), 'd');
}

static void test_uart_fcr_clear_drops_rx_irq(void **state)
{
	struct fixture *f = *state;

	wr(f, IER, 0x01);
	rx(f, "a");
	assert_true(irq_level(f));
	wr(f, FCR, 0x03);
	assert_false(irq_level(f));
}

static void test_uart_receive_ring_wraps_in_order(void **state)
{
	struct fixture *f = *state;
	static uint8_t buf[UART_RX_BUF];

	/* move the head near the end of the ring */
	memset(buf, 'p', UART_RX_BUF - 10);
	assert_int_equal(uart_receive(&f->u, buf, UART_RX_BUF - 10), UART_RX_BUF - 10);
	for (unsigned i = 0; i < UART_RX_BUF - 10; i++)
		assert_int_equal(rd(f, RBR), 'p');
	assert_int_equal(f->u.rx_head, UART_RX_BUF - 10);
	for (unsigned i = 0; i < 100; i++)
		buf[i] = (uint8_t)i;
	assert_int_equal(uart_receive(&f->u, buf, 100), 100);
	for (unsigned i = 0; i < 100; i++)
		assert_int_equal(rd(f, RBR), i);
	assert_int_equal(rd(f, LSR), 0x60);
	assert_int_equal(f->u.rx_head, 90);
	assert_int_equal(f->u.rx_dropped, 0);
}

static void test_uart_receive_overflow_counts_dropped(void **state)
{
	struct fixture *f = *state;
	static uint8_t buf[UART_RX_BUF + 5];

	for (unsigned i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 31);
	assert_int_equal(uart_receive(&f->u, buf, sizeof(buf)), UART_RX_BUF);
	assert_int_equal(f->u.rx_dropped, 5);
	assert_int_equal(uart_receive(&f->u, buf, 3), 0);
	assert_int_equal(f->u.rx_dropped, 8);
	/* the first UART_RX_BUF bytes were kept, the tail was dropped */
	assert_int_equal(rd(f, RBR), buf[0]);
	assert_int_equal(uart_receive(&f->u, buf + 100, 2), 1);
	assert_int_equal(f->u.rx_dropped, 9);
	for (unsigned i = 1; i < UART_RX_BUF; i++)
		assert_int_equal(rd(f, RBR), buf[i]);
	assert_int_equal(rd(f, RBR), buf[100]);
	assert_int_equal(rd(f, LSR), 0x60);
	/* loopback bytes never overflow the ring either */
	wr(f, MCR, 0x10);
	for (unsigned i = 0; i < UART_RX_BUF + 3; i++)
		wr(f, THR, 'L');
	assert_int_equal(f->u.rx_len, UART_RX_BUF);
}

static void test_uart_receive_zero_len_no_change(void **state)
{
	struct fixture *f = *state;

	wr(f, IER, 0x01);
	assert_int_equal(uart_receive(&f->u, (const uint8_t *)"", 0), 0);
	assert_int_equal(f->u.rx_dropped, 0);
	assert_int_equal(f->nr_levels, 0);
}

static void test_uart_bad_width_ignored(void **state)
{
	struct fixture *f = *state;
	uint32_t v = 0;

	rx(f, "ab");
	wr(f, IER, 0x02);
	assert_true(irq_level(f));
	/* a 2- or 4-byte read: all-ones, and neither RX nor the THRE ack happen */
	uart_ops.read(&f->u, RBR, &v, 2);
	assert_int_equal(v, 0xffff);
	uart_ops.read(&f->u, IIR, &v, 4);
	assert_int_equal(v, 0xffffffff);
	assert_true(irq_level(f));
	assert_int_equal(f->u.rx_len, 2);
	/* wide writes do nothing either */
	v = 0x41414141;
	uart_ops.write(&f->u, THR, &v, 2);
	uart_ops.write(&f->u, LCR, &v, 4);
	assert_int_equal(f->out_len, 0);
	assert_int_equal(rd(f, LCR), 0);
}

static void test_uart_bad_offset_ignored(void **state)
{
	struct fixture *f = *state;
	uint8_t v = 0;

	rx(f, "a");
	uart_ops.read(&f->u, 8, &v, 1);
	assert_int_equal(v, 0xff);
	uart_ops.read(&f->u, UINT64_MAX, &v, 1);
	assert_int_equal(v, 0xff);
	v = 'Z';
	uart_ops.write(&f->u, 8, &v, 1);
	uart_ops.write(&f->u, 8 + LCR, &v, 1);
	assert_int_equal(f->out_len, 0);
	assert_int_equal(rd(f, LCR), 0);
	assert_int_equal(f->u.rx_len, 1);
}

static void test_uart_read_only_registers_ignore_writes(void **state)
{
	struct fixture *f = *state;

	wr(f, LSR, 0x00);
	wr(f, MSR, 0x00);
	assert_int_equal(rd(f, LSR), 0x60);
	assert_int_equal(rd(f, MSR), 0xb0);
}

static void test_uart_scratch_register_round_trip(void **state)
{
	struct fixture *f = *state;

	wr(f, SCR, 0xa5);
	assert_int_equal(rd(f, SCR), 0xa5);
	wr(f, SCR, 0x5a);
	assert_int_equal(rd(f, SCR), 0x5a);
}

static void test_uart_no_irq_or_output_ok(void **state)
{
	struct uart u;
	uint8_t v = 'x';

	(void)state;
	/* a uart with no line and no sink: nothing crashes, nothing is counted */
	uart_init(&u, NULL, NULL, NULL);
	uart_ops.write(&u, IER, &(uint8_t){ 0x03 }, 1);
	uart_ops.write(&u, THR, &v, 1);
	assert_int_equal(uart_receive(&u, &v, 1), 1);
	uart_ops.read(&u, IIR, &v, 1);
	assert_int_equal(v, 0x04);
	assert_true(u.irq_level);
	assert_int_equal(u.tx_bytes, 0);
	uart_fini(&u);
}

/* Snapshot state: every guest-set register and the unread bytes survive; damage is refused. */
static void test_uart_state_round_trip(void **state)
{
	struct fixture *f = *state;
	static uint8_t buf[UART_STATE_MAX];
	struct uart b;
	size_t n;

	wr(f, LCR, 0x80);
	wr(f, THR, 0x03); /* DLL */
	wr(f, IER, 0x01); /* DLM */
	wr(f, LCR, 0x1b);
	wr(f, IER, 0x0f);
	wr(f, MCR, 0x0b);
	wr(f, SCR, 0xa5);
	wr(f, FCR, 0x01);
	rx(f, "xyz");
	assert_int_equal(rd(f, RBR), 'x');
	n = uart_state_save(&f->u, buf, sizeof(buf));
	assert_int_equal(n, 16 + 2);
	assert_int_equal(uart_state_save(&f->u, buf, 17), 0); /* too small */
	uart_init(&b, NULL, NULL, NULL);
	assert_int_equal(uart_state_load(&b, buf, n), 0);
	assert_int_equal(b.ier, 0x0f);
	assert_int_equal(b.lcr, 0x1b);
	assert_int_equal(b.mcr, 0x0b);
	assert_int_equal(b.scr, 0xa5);
	assert_int_equal(b.dll, 0x03);
	assert_int_equal(b.dlm, 0x01);
	assert_int_equal(b.fcr, 0x01);
	assert_int_equal(b.irq_level, f->u.irq_level);
	assert_int_equal(b.iir_thre, f->u.iir_thre);
	assert_int_equal(b.rx_len, 2);
	uart_ops.read(&b, RBR, &buf[100], 1);
	assert_int_equal(buf[100], 'y');
	/* damaged: version, reserved IER/MCR bits, a length past the buffer, a short buffer */
	const size_t at[] = { 0, 1, 4, 10, 11, 15 };
	for (size_t i = 0; i < ARRAY_SIZE(at); i++) {
		uint8_t save = buf[at[i]];

		n = uart_state_save(&f->u, buf, sizeof(buf));
		buf[at[i]] |= 0xf0;
		assert_int_equal(uart_state_load(&b, buf, n), -EINVAL);
		buf[at[i]] = save;
	}
	n = uart_state_save(&f->u, buf, sizeof(buf));
	assert_int_equal(uart_state_load(&b, buf, n - 1), -EINVAL);
	assert_int_equal(uart_state_load(&b, buf, 3), -EINVAL);
	assert_int_equal(b.scr, 0xa5); /* a refused load changed nothing */
	uart_fini(&b);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_uart_tx_bytes_reach_output),
		T(test_uart_reset_state_registers),
		T(test_uart_lsr_thre_temt_dr_follow_rx),
		T(test_uart_thre_irq_raised_on_enable_acked_by_iir),
		T(test_uart_thre_irq_rearmed_by_tx),
		T(test_uart_thre_pending_masked_when_disabled),
		T(test_uart_rx_irq_raised_and_cleared_by_read),
		T(test_uart_rx_irq_no_redundant_edges),
		T(test_uart_rx_data_priority_over_thre),
		T(test_uart_out2_gates_irq),
		T(test_uart_dlab_divisor_latch_access),
		T(test_uart_dlab_dlm_write_does_not_enable_thre),
		T(test_uart_loopback_msr_bits),
		T(test_uart_loopback_tx_comes_back_as_rx),
		T(test_uart_mcr_reserved_bits_masked),
		T(test_uart_fcr_clears_rx_only_with_enable),
		T(test_uart_fcr_clear_drops_rx_irq),
		T(test_uart_receive_ring_wraps_in_order),
		T(test_uart_receive_overflow_counts_dropped),
		T(test_uart_receive_zero_len_no_change),
		T(test_uart_bad_width_ignored),
		T(test_uart_bad_offset_ignored),
		T(test_uart_read_only_registers_ignore_writes),
		T(test_uart_scratch_register_round_trip),
		T(test_uart_no_irq_or_output_ok),
		T(test_uart_state_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
