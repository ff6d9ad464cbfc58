/* SPDX-License-Identifier: MIT */
/*
 * relay.h: the byte relay between a guest connection and the server it
 * reaches (prefix egress_relay), in the connection's own thread.
 */
#ifndef AGENTVMM_EGRESS_RELAY_H
#define AGENTVMM_EGRESS_RELAY_H

#include <stddef.h>

#define EGRESS_RELAY_BUF 65536 /* one buffer per direction */

/*
 * egress_relay() - carry bytes both ways between (guest) and (up) until
 * both directions ended (an EOF on one side becomes shutdown(SHUT_WR) on
 * the other) or one side failed; (first_len) bytes at (first) (at most
 * EGRESS_RELAY_BUF) go to (up) before anything else. No idle timeout.
 * Memory: two EGRESS_RELAY_BUF buffers, mapped for the call only.
 * Both fds are made non-blocking; the caller closes them.
 * Guest: everything read from (guest).
 */
void egress_relay(int guest, int up, const void *first, size_t first_len);

#endif
