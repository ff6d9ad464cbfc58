// SPDX-License-Identifier: MIT
/* uart8250.c: 16550A UART model (COM1 console), interrupt driven. */
#include "devices/uart8250.h"

#include <errno.h>
#include <string.h>

/* Register offsets and bits: PC16550D datasheet; names as in <linux/serial_reg.h>. */
#define UART_RX 0  /* DLAB=0 read */
#define UART_TX 0  /* DLAB=0 write */
#define UART_DLL 0 /* DLAB=1 */
#define UART_IER 1
#define UART_DLM 1 /* DLAB=1 */
#define UART_IIR 2 /* read */
#define UART_FCR 2 /* write */
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_MSR 6
#define UART_SCR 7

#define IER_RDI 0x01
#define IER_THRI 0x02
#define IER_RLSI 0x04
#define IER_MSI 0x08
#define IIR_NO_INT 0x01
#define IIR_THRI 0x02
#define IIR_RDI 0x04
#define IIR_FIFO_ON 0xc0
#define FCR_ENABLE 0x01
#define FCR_CLEAR_RX 0x02
#define LCR_DLAB 0x80
#define MCR_DTR 0x01
#define MCR_RTS 0x02
#define MCR_OUT1 0x04
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10
#define LSR_DR 0x01
#define LSR_OE 0x02
#define LSR_THRE 0x20
#define LSR_TEMT 0x40
#define MSR_CTS 0x10
#define MSR_DSR 0x20
#define MSR_RI 0x40
#define MSR_DCD 0x80

void uart_init(struct uart *u, const struct irq_line *irq, uart_out_fn out, void *opaque)
{
	memset(u, 0, sizeof(*u));
	pthread_mutex_init(&u->lock, NULL);
	if (irq)
		u->irq = *irq;
	u->out = out;
	u->out_opaque = opaque;
	u->mcr = MCR_OUT2;
	u->dll = 12; /* 9600 baud, as after a PC BIOS */
}

void uart_fini(struct uart *u)
{
	pthread_mutex_destroy(&u->lock);
}

/* Highest-priority pending interrupt as an IIR value (without FIFO bits). */
static uint8_t uart_iir_locked(const struct uart *u)
{
	if ((u->ier & IER_RDI) && u->rx_len)
		return IIR_RDI;
	if ((u->ier & IER_THRI) && u->iir_thre)
		return IIR_THRI;
	return IIR_NO_INT;
}

/* Drive the line from the pending state; OUT2 gates the IRQ as on a PC. */
static void uart_update_irq_locked(struct uart *u)
{
	bool level = uart_iir_locked(u) != IIR_NO_INT && (u->mcr & MCR_OUT2);

	if (level == u->irq_level)
		return;
	u->irq_level = level;
	irq_line_set(&u->irq, level);
}

size_t uart_receive(struct uart *u, const uint8_t *buf, size_t len)
{
	size_t n = 0;

	pthread_mutex_lock(&u->lock);
	if (!(u->mcr & MCR_LOOP)) {
		for (; n < len && u->rx_len < UART_RX_BUF; n++) {
			u->rx[(u->rx_head + u->rx_len) % UART_RX_BUF] = buf[n];
			u->rx_len++;
		}
	}
	u->rx_dropped += len - n;
	uart_update_irq_locked(u);
	pthread_mutex_unlock(&u->lock);
	return n;
}

static uint8_t uart_read_reg_locked(struct uart *u, uint64_t off)
{
	uint8_t v;

	switch (off) {
	case UART_RX:
		if (u->lcr & LCR_DLAB)
			return u->dll;
		if (!u->rx_len)
			return 0;
		v = u->rx[u->rx_head];
		u->rx_head = (u->rx_head + 1) % UART_RX_BUF;
		u->rx_len--;
		return v;
	case UART_IER:
		return (u->lcr & LCR_DLAB) ? u->dlm : u->ier;
	case UART_IIR:
		v = uart_iir_locked(u);
		/* reading IIR acknowledges a THRE interrupt (16550 §8.6.3) */
		if (v == IIR_THRI)
			u->iir_thre = 0;
		return v | ((u->fcr & FCR_ENABLE) ? IIR_FIFO_ON : 0);
	case UART_LCR:
		return u->lcr;
	case UART_MCR:
		return u->mcr;
	case UART_LSR:
		/* transmitter is always empty: bytes leave at once */
		v = LSR_THRE | LSR_TEMT | u->lsr_extra | (u->rx_len ? LSR_DR : 0);
		u->lsr_extra = 0;
		return v;
	case UART_MSR:
		if (u->mcr & MCR_LOOP) {
			/* loopback: modem outputs fed back (Linux autoconfig checks 0x90) */
			return (uint8_t)(((u->mcr & MCR_RTS) ? MSR_CTS : 0) |
					 ((u->mcr & MCR_DTR) ? MSR_DSR : 0) |
					 ((u->mcr & MCR_OUT1) ? MSR_RI : 0) |
					 ((u->mcr & MCR_OUT2) ? MSR_DCD : 0));
		}
		return MSR_DCD | MSR_DSR | MSR_CTS;
	default:
		return u->scr;
	}
}

static void uart_write_reg_locked(struct uart *u, uint64_t off, uint8_t v)
{
	switch (off) {
	case UART_TX:
		if (u->lcr & LCR_DLAB) {
			u->dll = v;
			return;
		}
		if (u->mcr & MCR_LOOP) {
			if (u->rx_len < UART_RX_BUF) {
				u->rx[(u->rx_head + u->rx_len) % UART_RX_BUF] = v;
				u->rx_len++;
			}
		} else if (u->out) {
			u->out(u->out_opaque, &v, 1);
			u->tx_bytes++;
		}
		u->iir_thre = 1; /* the byte left at once: THR empty again */
		return;
	case UART_IER:
		if (u->lcr & LCR_DLAB) {
			u->dlm = v;
			return;
		}
		/* enabling THRI while THR is empty raises it at once (Linux UART_BUG_THRE probe) */
		if (!(u->ier & IER_THRI) && (v & IER_THRI))
			u->iir_thre = 1;
		u->ier = v & (IER_RDI | IER_THRI | IER_RLSI | IER_MSI);
		return;
	case UART_FCR:
		if ((v & FCR_ENABLE) && (v & FCR_CLEAR_RX))
			u->rx_len = 0;
		u->fcr = v;
		return;
	case UART_LCR:
		u->lcr = v;
		return;
	case UART_MCR:
		u->mcr = v & 0x1f;
		return;
	case UART_SCR:
		u->scr = v;
		return;
	default: /* LSR, MSR: read-only */
		return;
	}
}

static void uart_read(void *opaque, uint64_t off, void *data, uint32_t len)
{
	struct uart *u = opaque;

	memset(data, 0xff, len);
	if (len != 1 || off >= UART_REGS)
		return;
	pthread_mutex_lock(&u->lock);
	*(uint8_t *)data = uart_read_reg_locked(u, off);
	uart_update_irq_locked(u);
	pthread_mutex_unlock(&u->lock);
}

static void uart_write(void *opaque, uint64_t off, const void *data, uint32_t len)
{
	struct uart *u = opaque;

	if (len != 1 || off >= UART_REGS)
		return;
	pthread_mutex_lock(&u->lock);
	uart_write_reg_locked(u, off, *(const uint8_t *)data);
	uart_update_irq_locked(u);
	pthread_mutex_unlock(&u->lock);
}

const struct iobus_ops uart_ops = {
	.read = uart_read,
	.write = uart_write,
};

/* State layout: version, ier, iir_thre, lcr, mcr, lsr_extra, scr, dll, dlm, fcr, irq_level,
 * 3 reserved zero bytes, rx_len (le16), then rx_len bytes, oldest first. */
#define UART_STATE_HDR 16

size_t uart_state_save(struct uart *u, void *buf, size_t len)
{
	uint8_t *b = buf;
	size_t n;

	pthread_mutex_lock(&u->lock);
	n = UART_STATE_HDR + u->rx_len;
	if (len < n) {
		pthread_mutex_unlock(&u->lock);
		return 0;
	}
	memset(b, 0, UART_STATE_HDR);
	b[0] = UART_STATE_VERSION;
	b[1] = u->ier;
	b[2] = u->iir_thre;
	b[3] = u->lcr;
	b[4] = u->mcr;
	b[5] = u->lsr_extra;
	b[6] = u->scr;
	b[7] = u->dll;
	b[8] = u->dlm;
	b[9] = u->fcr;
	b[10] = u->irq_level;
	b[14] = (uint8_t)u->rx_len;
	b[15] = (uint8_t)(u->rx_len >> 8);
	for (unsigned i = 0; i < u->rx_len; i++)
		b[UART_STATE_HDR + i] = u->rx[(u->rx_head + i) % UART_RX_BUF];
	pthread_mutex_unlock(&u->lock);
	return n;
}

int uart_state_load(struct uart *u, const void *buf, size_t len)
{
	const uint8_t *b = buf;
	unsigned rx_len;

	if (len < UART_STATE_HDR)
		return -EINVAL;
	rx_len = b[14] | (unsigned)b[15] << 8;
	/* every field within what the guest could have set through the registers */
	if (b[0] != UART_STATE_VERSION || (b[1] & ~(IER_RDI | IER_THRI | IER_RLSI | IER_MSI)) ||
	    b[2] > 1 || (b[4] & ~0x1fu) || (b[5] & ~0x1eu) || b[10] > 1 || b[11] || b[12] ||
	    b[13] || rx_len > UART_RX_BUF || len != UART_STATE_HDR + rx_len)
		return -EINVAL;
	pthread_mutex_lock(&u->lock);
	u->ier = b[1];
	u->iir_thre = b[2];
	u->lcr = b[3];
	u->mcr = b[4];
	u->lsr_extra = b[5];
	u->scr = b[6];
	u->dll = b[7];
	u->dlm = b[8];
	u->fcr = b[9];
	u->irq_level = b[10];
	u->rx_head = 0;
	u->rx_len = rx_len;
	memcpy(u->rx, b + UART_STATE_HDR, rx_len);
	pthread_mutex_unlock(&u->lock);
	return 0;
}
