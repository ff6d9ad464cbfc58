/* SPDX-License-Identifier: MIT */
/*
 * uart8250.h: a 16550A UART with FIFOs, interrupt driven (THRE and RX data
 * interrupts on one IOAPIC line), as the guest console on COM1.
 */
#ifndef AGENTVMM_DEVICES_UART8250_H
#define AGENTVMM_DEVICES_UART8250_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/compiler.h"
#include "vmm/iobus.h"
#include "vmm/irq.h"

#define UART_RX_BUF 4096 /* host-to-guest bytes held before the guest reads them */
#define UART_REGS 8

/* Output sink: receives each byte the guest transmits. Context: vCPU thread. */
typedef void (*uart_out_fn)(void *opaque, const uint8_t *buf, size_t len);

struct uart {
	pthread_mutex_t lock;
	struct irq_line irq;
	uart_out_fn out;
	void *out_opaque;
	uint8_t ier, iir_thre, lcr, mcr, lsr_extra, scr, dll, dlm, fcr;
	bool irq_level;
	uint8_t rx[UART_RX_BUF];
	unsigned rx_head, rx_len;
	uint64_t rx_dropped, tx_bytes;
};

extern const struct iobus_ops uart_ops;

/*
 * uart_init() - reset state; (irq) is the line to drive, (out) gets TX bytes.
 * Context: setup.
 */
void uart_init(struct uart *u, const struct irq_line *irq, uart_out_fn out, void *opaque);
void uart_fini(struct uart *u);

/*
 * uart_receive() - queue host input for the guest; raises the RX interrupt.
 * Return: bytes accepted (the rest is dropped and counted when the buffer is full).
 * Context: any thread (takes the UART lock).
 */
size_t uart_receive(struct uart *u, const uint8_t *buf, size_t len);

/*
 * Snapshot state (docs/snapshot.md): every register the guest can set (IER,
 * LCR, MCR, SCR, DLL/DLM, FCR), the pending THRE interrupt, LSR error bits,
 * the interrupt line's level and the bytes the guest has not read yet.
 * UART_STATE_MAX bytes at most.
 * uart_state_save() - write the state into (buf, len). Return: bytes written,
 * 0 when (len) is too small. Context: the vCPUs parked or stopped.
 * uart_state_load() - validate every field of (buf, len) and load it; the
 * line is not driven (the irqchip's own state comes with the snapshot).
 * Return: 0, or -EINVAL (and (u) unchanged) for a damaged buffer.
 * Context: setup, after uart_init().
 */
#define UART_STATE_VERSION 1
#define UART_STATE_MAX (16 + UART_RX_BUF)
size_t uart_state_save(struct uart *u, void *buf, size_t len);
int uart_state_load(struct uart *u, const void *buf, size_t len) __must_check;

#endif
