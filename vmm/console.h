/* SPDX-License-Identifier: MIT */
/*
 * console.h: the host side of the guest console's output (prefix con_):
 * where COM1's bytes go (stdout or a --console FILE), without ever holding a
 * vCPU past a stop, with a size limit for files, and with an escape filter in
 * front of a terminal. docs/security.md, "The console", says what a guest can
 * and cannot do with it.
 *
 * Sinks, decided once from what the fd is (con_out_create()):
 *  - regular file: plain writes as the bytes come (they never wait for a
 *    reader); at most (limit) bytes per VM, then one warning and the rest is
 *    dropped;
 *  - pipe, FIFO, terminal, character device: written non-blocking. A fd the
 *    process inherited (stdout) is shared with other processes, so its flags
 *    are left alone: it is reopened through /proc/self/fd as a private,
 *    non-blocking open file of the same pipe or terminal. Where that is
 *    impossible (no /proc, a FIFO with no reader), writes wait for poll()'s
 *    POLLOUT first and take at most PIPE_BUF bytes, which a pipe then
 *    accepts without blocking (a race with another writer of that pipe could
 *    still block a write for as long as its reader does not read);
 *  - socket (a journal stream): send(MSG_DONTWAIT | MSG_NOSIGNAL).
 * A full stream is back-pressure: the writing vCPU waits, in poll() slices of
 * CON_POLL_MS, until the sink takes the bytes or (give_up) says the VM is
 * stopping or pausing; then the bytes are dropped and counted. A write error
 * other than EAGAIN (EPIPE: nobody will ever read) drops all further output.
 *
 * The escape filter in front of a terminal: vmm/console_filter.h.
 */
#ifndef AGENTVMM_VMM_CONSOLE_H
#define AGENTVMM_VMM_CONSOLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/compiler.h"
#include "vmm/console_filter.h"

#define CON_BUF 4096              /* bytes a stream sink holds while its reader is slow */
#define CON_POLL_MS 100           /* back-pressure waits in slices this long */
#define CON_DRAIN_MS 1000         /* what is still held after a guest's own exit gets this long */
#define CON_LIMIT_DEFAULT (64ULL << 20) /* a file sink's default size limit */

struct con_out;

/* Asked while a write waits for a full sink: true ends the wait and drops the bytes. */
typedef bool (*con_give_up_fn)(void *opaque);

/*
 * con_out_create() - a console sink on (fd), named (name) in messages, taking
 * (fd) over when (own) (closed by con_out_destroy(), or here on failure). A
 * regular file gets the size limit (limit) bytes (0: none); a terminal gets
 * the escape filter; a stream is made non-blocking (reopened when not (own)).
 * Return: the sink, or NULL (out of memory).
 * Context: setup (it may open /proc/self/fd/N).
 */
struct con_out *con_out_create(int fd, bool own, const char *name, uint64_t limit);

/* con_out_destroy() - free (c), closing its fd if it owns one; NULL is fine. */
void con_out_destroy(struct con_out *c);

/*
 * con_out_write() - the guest printed (len) bytes at (buf): filter, limit,
 * write. Waits while the sink is full, in CON_POLL_MS slices, asking
 * (give_up)(opaque) before each; drops the bytes once it says so.
 * Context: a vCPU thread, with the UART lock held (one writer at a time); the
 * kick signal interrupts the wait. Guest: all of (buf), and how often.
 */
void con_out_write(struct con_out *c, const uint8_t *buf, size_t len, con_give_up_fn give_up,
		   void *opaque);

/*
 * con_out_drain() - write what is still held, for at most (ms) ms (0: one
 * try), then drop the rest; report dropped output once on stderr.
 * Context: after the vCPUs have stopped.
 */
void con_out_drain(struct con_out *c, int ms);

/*
 * con_reopen_nonblocking() - a private non-blocking open file (O_WRONLY,
 * close-on-exec, no controlling tty) of the pipe, FIFO or terminal at (fd),
 * which other processes may share: setting O_NONBLOCK on (fd) itself would
 * change their writes too. Reopened through /proc/self/fd/N.
 * Return: the new fd, or -1 with errno (no /proc, a socket, a FIFO with no reader).
 * Context: setup (it opens a file).
 */
int con_reopen_nonblocking(int fd);

/* con_out_is_tty() - the sink is a terminal (its output is filtered). */
bool con_out_is_tty(const struct con_out *c);

/* con_out_written() - bytes that reached the sink; con_out_dropped() - bytes that did not. */
uint64_t con_out_written(const struct con_out *c);
uint64_t con_out_dropped(const struct con_out *c);

#endif
