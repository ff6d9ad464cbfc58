// SPDX-License-Identifier: MIT
/*
 * fuzz_uart.c: a guest's register reads and writes, and host input, on the
 * 16550A model through uart_ops, as the vCPU exit path calls it. Each input
 * byte is an op: 0x00-0x7f write (op & 7) with the next byte, 0x80-0xbf read
 * (op & 7), 0xc0-0xff host input of (op & 0x1f) bytes or, rarely, a bad
 * access. A shadow FIFO checks every received byte comes back once and in
 * order; after every op the irq line must match the pending state.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "devices/uart8250.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct harness {
	struct uart u;
	bool level;           /* last level the irq callback saw */
	unsigned level_calls;
	uint64_t out_bytes;
	uint8_t shadow[UART_RX_BUF]; /* bytes the guest should read next, in order */
	unsigned sh_head, sh_len;
};

static void irq_cb(void *opaque, uint32_t gsi, bool level)
{
	struct harness *h = opaque;

	/* the model only calls on a change of level */
	if (gsi != 4 || (h->level_calls && level == h->level))
		abort();
	if (!h->level_calls && !level)
		abort();
	h->level = level;
	h->level_calls++;
}

static void out_cb(void *opaque, const uint8_t *buf, size_t len)
{
	struct harness *h = opaque;

	if (len != 1 || (h->u.mcr & 0x10))
		abort(); /* loopback output never reaches the host */
	h->out_bytes += len;
	(void)buf;
}

static void shadow_push(struct harness *h, uint8_t v)
{
	if (h->sh_len < UART_RX_BUF)
		h->shadow[(h->sh_head + h->sh_len++) % UART_RX_BUF] = v;
}

static void check_state(struct harness *h)
{
	const struct uart *u = &h->u;
	bool pending = ((u->ier & 0x01) && u->rx_len) || ((u->ier & 0x02) && u->iir_thre);

	if (u->rx_len > UART_RX_BUF || u->rx_head >= UART_RX_BUF || u->rx_len != h->sh_len)
		abort();
	if (h->level != (pending && (u->mcr & 0x08)) || h->level != u->irq_level)
		abort();
	if (h->out_bytes != u->tx_bytes || (u->ier & 0xf0) || (u->mcr & 0xe0))
		abort();
}

static void do_read(struct harness *h, uint8_t off)
{
	bool dlab = h->u.lcr & 0x80;
	unsigned had = h->u.rx_len;
	uint8_t v = 0x5a;

	uart_ops.read(&h->u, off, &v, 1);
	switch (off) {
	case 0:
		if (dlab || !had)
			break;
		if (v != h->shadow[h->sh_head])
			abort();
		h->sh_head = (h->sh_head + 1) % UART_RX_BUF;
		h->sh_len--;
		break;
	case 2:
		/* 16550 IIR: no interrupt, THRE or RX data; FIFO bits both or none */
		if ((v & 0x0f) != 0x01 && (v & 0x0f) != 0x02 && (v & 0x0f) != 0x04)
			abort();
		if ((v & 0x30) || ((v & 0xc0) != 0 && (v & 0xc0) != 0xc0))
			abort();
		break;
	case 5:
		if ((v & 0x60) != 0x60 || !(v & 0x01) != !had)
			abort();
		break;
	}
}

static void do_write(struct harness *h, uint8_t off, uint8_t v)
{
	bool dlab = h->u.lcr & 0x80, loop = h->u.mcr & 0x10;

	uart_ops.write(&h->u, off, &v, 1);
	if (off == 0 && !dlab && loop)
		shadow_push(h, v);
	if (off == 2 && (v & 0x03) == 0x03)
		h->sh_len = 0;
}

static void do_receive(struct harness *h, const uint8_t *buf, size_t n, size_t repeat)
{
	for (size_t r = 0; r < repeat; r++) {
		uint64_t dropped = h->u.rx_dropped;
		size_t got = uart_receive(&h->u, buf, n);

		if (got > n || h->u.rx_dropped != dropped + (n - got))
			abort();
		if ((h->u.mcr & 0x10) && got)
			abort(); /* host input is cut off in loopback */
		for (size_t i = 0; i < got; i++)
			shadow_push(h, buf[i]);
	}
}

/* Rare invalid accesses: wrong width or offset must be ignored (reads all-ones). */
static void do_bad_access(struct harness *h, uint8_t sel, uint8_t v)
{
	uint64_t w = 0, off = (sel & 1) ? 8 + (v & 7) : (v & 7);
	uint32_t len = (sel & 1) ? 1 : 2u << ((sel >> 1) & 1);

	uart_ops.read(&h->u, off, &w, len);
	if (w != (1ULL << (8 * len)) - 1)
		abort();
	uart_ops.write(&h->u, off, &w, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct harness h;
	struct irq_line irq = { .set = irq_cb, .opaque = &h, .gsi = 4 };

	memset(&h, 0, sizeof(h));
	uart_init(&h.u, &irq, out_cb, &h);
	for (size_t i = 0; i < size;) {
		uint8_t op = data[i++];
		uint8_t arg = i < size ? data[i] : 0;

		if (op < 0x80) {
			do_write(&h, op & 7, arg);
			i++;
		} else if (op < 0xc0) {
			do_read(&h, op & 7);
		} else if (op < 0xf8) {
			size_t n = MIN((size_t)(op & 0x1f), size - i);

			do_receive(&h, data + i, n, 1);
			i += n;
		} else if (op < 0xfc) {
			/* flood: fill the ring to overflow */
			do_receive(&h, data, size, 1 + (UART_RX_BUF / (size + 1)));
		} else {
			do_bad_access(&h, op & 3, arg);
			i++;
		}
		check_state(&h);
	}
	uart_fini(&h.u);
	return 0;
}
