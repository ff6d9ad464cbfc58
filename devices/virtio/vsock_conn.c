// SPDX-License-Identifier: MIT
/*
 * vsock_conn.c: virtio-vsock's connection table (prefix vsock_): slots, the
 * (host port, guest port) hash, the receive-work list, the guest's credit,
 * the one-shot io_uring polls on each host socket and their completions, and
 * the timer (handshake deadlines, retries). The sockets themselves are
 * vsock_host.c's; a slot's life is in vsock_int.h.
 *
 * A connection is closed with shutdown(SHUT_RDWR) at once and close() once no
 * poll names its fd (vsock_int.h): the shutdown wakes a poll in flight (it
 * reports POLLHUP), so the slot becomes free soon, from any thread, without
 * an io_uring cancel.
 */
#include "devices/virtio/vsock_int.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "vmm/log.h"

uint64_t vsock_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * VSOCK_NS_PER_S + (uint64_t)ts.tv_nsec;
}

/* ---- the connection table ----------------------------------------------------- */

static unsigned hash_of(uint32_t host_port, uint32_t guest_port)
{
	return (host_port * 2654435761U ^ guest_port) % VSOCK_HASH_SIZE; /* Knuth's multiplier */
}

static int32_t slot_of(const struct vsock_conn *c)
{
	return (int32_t)(c - c->vc_vs->vs_conns);
}

struct vsock_conn *vsock_conn_find(struct vsock *vs, uint32_t host_port, uint32_t guest_port)
{
	for (int32_t i = vs->vs_hash[hash_of(host_port, guest_port)]; i >= 0;
	     i = vs->vs_conns[i].vc_hnext) {
		struct vsock_conn *c = &vs->vs_conns[i];

		if (c->vc_host_port == host_port && c->vc_guest_port == guest_port)
			return c;
	}
	return NULL;
}

void vsock_hash_add(struct vsock_conn *c)
{
	int32_t *b = &c->vc_vs->vs_hash[hash_of(c->vc_host_port, c->vc_guest_port)];

	c->vc_hnext = *b;
	*b = slot_of(c);
	c->vc_hashed = true;
}

static void hash_del(struct vsock_conn *c)
{
	struct vsock *vs = c->vc_vs;
	int32_t *p = &vs->vs_hash[hash_of(c->vc_host_port, c->vc_guest_port)];

	if (!c->vc_hashed)
		return;
	while (*p >= 0 && *p != slot_of(c))
		p = &vs->vs_conns[*p].vc_hnext;
	if (*p >= 0)
		*p = c->vc_hnext;
	c->vc_hnext = -1;
	c->vc_hashed = false;
}

static bool state_live(uint8_t s)
{
	return s != VSC_FREE && s != VSC_DEAD;
}

static bool state_pending(uint8_t s)
{
	return s == VSC_LINE || s == VSC_REQ;
}

void vsock_conn_set_state(struct vsock_conn *c, enum vsock_state s)
{
	struct vsock *vs = c->vc_vs;

	vs->vs_live = vs->vs_live + state_live(s) - state_live(c->vc_state);
	vs->vs_pending = vs->vs_pending + state_pending(s) - state_pending(c->vc_state);
	c->vc_state = (uint8_t)s;
}

static void conn_in_done_cb(void *opaque, int res);
static void conn_out_done_cb(void *opaque, int res);

/*
 * A free slot with its fields cleared and (fd); NULL when every slot is taken
 * (live ones, and closed ones whose poll has not completed yet).
 */
struct vsock_conn *vsock_conn_alloc(struct vsock *vs, int fd)
{
	for (unsigned n = 0; n < vs->vs_max_conns; n++) {
		unsigned i = (vs->vs_alloc_next + n) % vs->vs_max_conns;
		struct vsock_conn *c = &vs->vs_conns[i];

		if (c->vc_state != VSC_FREE)
			continue;
		/* a freed slot may still be linked on the receive-work list: keep the link */
		bool queued = c->vc_queued;
		int32_t qnext = c->vc_qnext;

		memset(c, 0, sizeof(*c));
		c->vc_vs = vs;
		c->vc_fd = fd;
		c->vc_hnext = -1;
		c->vc_queued = queued;
		c->vc_qnext = qnext;
		c->vc_in_op = (struct evl_op){ .done = conn_in_done_cb, .opaque = c };
		c->vc_out_op = (struct evl_op){ .done = conn_out_done_cb, .opaque = c };
		vs->vs_alloc_next = (i + 1) % vs->vs_max_conns;
		vs->vs_hwm = MAX(vs->vs_hwm, i + 1);
		return c;
	}
	return NULL;
}

/* Shut the host socket down now; close it once no poll SQE names it (vsock_int.h). */
static void conn_drop_fd(struct vsock_conn *c)
{
	if (c->vc_fd < 0)
		return;
	if (!c->vc_fd_shut) {
		shutdown(c->vc_fd, SHUT_RDWR);
		c->vc_fd_shut = true;
	}
	if (c->vc_in_armed || c->vc_out_armed)
		return;
	close(c->vc_fd);
	c->vc_fd = -1;
}

/* Back to FREE once the socket is closed and no poll refers to the slot any more. */
static void conn_maybe_free(struct vsock_conn *c)
{
	if (c->vc_state != VSC_DEAD)
		return;
	conn_drop_fd(c);
	if (c->vc_fd < 0)
		vsock_conn_set_state(c, VSC_FREE);
}

void vsock_conn_release(struct vsock_conn *c)
{
	hash_del(c);
	c->vc_owe = 0;
	vsock_conn_set_state(c, VSC_DEAD);
	conn_maybe_free(c);
}

void vsock_conn_close(struct vsock_conn *c, bool rst)
{
	struct vsock *vs = c->vc_vs;
	bool told = c->vc_state == VSC_OPEN || (c->vc_state == VSC_REQ && c->vc_req_sent);

	vs->vs_stats.buffered -= c->vc_buf_len;
	free(c->vc_buf);
	c->vc_buf = NULL;
	c->vc_buf_len = 0;
	c->vc_readable = false;
	if (rst && told) {
		/* the guest knows this connection: it must hear that it is gone */
		vsock_conn_set_state(c, VSC_RST);
		c->vc_owe = VSC_OWE_RST;
		vsock_queue(c);
		conn_drop_fd(c);
		return;
	}
	vsock_conn_release(c); /* drops the fd too */
}

void vsock_queue(struct vsock_conn *c)
{
	struct vsock *vs = c->vc_vs;

	if (c->vc_queued)
		return;
	c->vc_queued = true;
	c->vc_qnext = -1;
	if (vs->vs_qtail >= 0)
		vs->vs_conns[vs->vs_qtail].vc_qnext = slot_of(c);
	else
		vs->vs_qhead = slot_of(c);
	vs->vs_qtail = slot_of(c);
}

uint32_t vsock_guest_credit(const struct vsock_conn *c)
{
	/* s64, as Linux does: a fwd_cnt ahead of what we sent gives no credit, not 4 GiB */
	int64_t credit = (int64_t)c->vc_peer_buf_alloc - (uint32_t)(c->vc_tx_cnt - c->vc_peer_fwd_cnt);

	return credit > 0 ? (uint32_t)credit : 0;
}

/* ---- timer ---------------------------------------------------------------------- */

/* Make the timerfd fire at the earliest handshake deadline or retry time (or never). */
void vsock_timer_update(struct vsock *vs)
{
	uint64_t next = vs->vs_listen_paused || vs->vs_rearm ? vs->vs_retry_at : 0;

	for (unsigned i = 0; i < vs->vs_hwm; i++) {
		const struct vsock_conn *c = &vs->vs_conns[i];

		if (state_pending(c->vc_state) && (!next || c->vc_deadline < next))
			next = c->vc_deadline;
	}
	if (next == vs->vs_timer_at || vs->vs_tfd < 0)
		return;
	struct itimerspec its = { .it_value = { .tv_sec = (time_t)(next / VSOCK_NS_PER_S),
						.tv_nsec = (long)(next % VSOCK_NS_PER_S) } };
	if (timerfd_settime(vs->vs_tfd, TFD_TIMER_ABSTIME, &its, NULL) == 0)
		vs->vs_timer_at = next;
}

void vsock_retry_later(struct vsock *vs)
{
	vs->vs_retry_at = vsock_now_ns() + VSOCK_RETRY_MS * VSOCK_NS_PER_MS;
	vsock_timer_update(vs);
}

/* ---- polls ------------------------------------------------------------------------ */

struct io_uring_sqe *vsock_get_sqe(struct vsock *vs, struct evl_op *op)
{
	struct io_uring_sqe *sqe;

	if (!vs->vs_evl || vs->vs_evl->stopping)
		return NULL;
	sqe = evl_get_sqe(vs->vs_evl, op);
	if (!sqe) {
		io_uring_submit(&vs->vs_evl->ring); /* loop thread: make room */
		sqe = evl_get_sqe(vs->vs_evl, op);
	}
	if (!sqe) {
		vs->vs_rearm = true; /* the timer tries again */
		vsock_retry_later(vs);
	}
	return sqe;
}

static void conn_arm(struct vsock_conn *c, bool in)
{
	struct io_uring_sqe *sqe = vsock_get_sqe(c->vc_vs, in ? &c->vc_in_op : &c->vc_out_op);

	if (!sqe)
		return;
	io_uring_prep_poll_add(sqe, c->vc_fd, in ? POLLIN : POLLOUT);
	if (in)
		c->vc_in_armed = true;
	else
		c->vc_out_armed = true;
}

void vsock_conn_poll(struct vsock_conn *c)
{
	bool in, out;

	if (c->vc_fd < 0 || c->vc_fd_shut)
		return;
	/* no POLLIN without the guest's credit: the data would have nowhere to go */
	in = c->vc_state == VSC_LINE ||
	     (c->vc_state == VSC_OPEN && !c->vc_readable && !c->vc_host_eof &&
	      !c->vc_guest_no_recv && vsock_guest_credit(c) > 0);
	out = c->vc_state == VSC_OPEN && c->vc_buf_len > 0;
	if (in && !c->vc_in_armed)
		conn_arm(c, true);
	if (out && !c->vc_out_armed)
		conn_arm(c, false);
}

/* Take a failure owed; called with vs_lock, acted on without it. */
const char *vsock_take_fail(struct vsock *vs)
{
	const char *why = vs->vs_fail_why;

	vs->vs_fail_why = NULL;
	return why;
}

/* A poll on a connection's socket completed with (res) (revents or -errno). Context: loop. */
static void conn_poll_done(struct vsock_conn *c, bool in, int res)
{
	struct vsock *vs = c->vc_vs;
	const char *fail;

	pthread_mutex_lock(&vs->vs_lock);
	if (in)
		c->vc_in_armed = false;
	else
		c->vc_out_armed = false;
	if (c->vc_fd_shut) {
		conn_drop_fd(c); /* the last poll on a closed connection's socket */
		conn_maybe_free(c);
		pthread_mutex_unlock(&vs->vs_lock);
		return;
	}
	if (vs->vs_evl->stopping) {
		pthread_mutex_unlock(&vs->vs_lock);
		return; /* cancelled at teardown (res -ECANCELED) */
	}
	if (in && c->vc_state == VSC_LINE) {
		vsock_line_read(c);
	} else if (in && c->vc_state == VSC_OPEN) {
		c->vc_readable = true; /* data, EOF or an error: the reader finds out */
		vsock_queue(c);
	} else if (!in && c->vc_state == VSC_OPEN) {
		vsock_conn_flush(c);
	}
	vsock_rx_run_locked(vs);
	if (c->vc_state == VSC_LINE || c->vc_state == VSC_OPEN)
		vsock_conn_poll(c);
	fail = vsock_take_fail(vs);
	pthread_mutex_unlock(&vs->vs_lock);
	if (fail)
		virtio_dev_fail(vs->vs_t, fail);
}

static void conn_in_done_cb(void *opaque, int res)
{
	conn_poll_done(opaque, true, res);
}

static void conn_out_done_cb(void *opaque, int res)
{
	conn_poll_done(opaque, false, res);
}

/* ---- deadlines, the timer, readiness for tests -------------------------------------- */

static void expire_locked(struct vsock *vs, uint64_t now)
{
	for (unsigned i = 0; i < vs->vs_hwm; i++) {
		struct vsock_conn *c = &vs->vs_conns[i];

		if (!state_pending(c->vc_state) || c->vc_deadline > now)
			continue;
		vs->vs_stats.refused++;
		log_guest_ratelimited("virtio-vsock: host connection closed: %s within %d ms",
				      c->vc_state == VSC_LINE ? "no CONNECT line" :
								"no answer from the guest",
				      VSOCK_CONNECT_TIMEOUT_MS);
		vsock_conn_close(c, true); /* RST only if the REQUEST went out */
	}
	vsock_timer_update(vs);
}

void vsock_expire(void *dev, uint64_t now_ns)
{
	struct vsock *vs = dev;

	const char *fail;

	pthread_mutex_lock(&vs->vs_lock);
	expire_locked(vs, now_ns);
	vsock_rx_run_locked(vs);
	fail = vsock_take_fail(vs);
	pthread_mutex_unlock(&vs->vs_lock);
	if (fail)
		virtio_dev_fail(vs->vs_t, fail);
}

/* The timerfd fired: deadlines, a paused listener, polls that could not be armed. */
void vsock_timer_cb(void *opaque)
{
	struct vsock *vs = opaque;
	const char *fail;
	uint64_t ticks, now = vsock_now_ns();

	if (read(vs->vs_tfd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
		return;
	pthread_mutex_lock(&vs->vs_lock);
	vs->vs_timer_at = 0;
	if (vs->vs_retry_at <= now) {
		vs->vs_listen_paused = false;
		if (vs->vs_rearm) {
			vs->vs_rearm = false;
			for (unsigned i = 0; i < vs->vs_hwm; i++)
				if (state_live(vs->vs_conns[i].vc_state))
					vsock_conn_poll(&vs->vs_conns[i]);
		}
	}
	vsock_listen_arm(vs); /* the first tick, right after start, arms it */
	expire_locked(vs, now);
	vsock_rx_run_locked(vs);
	fail = vsock_take_fail(vs);
	pthread_mutex_unlock(&vs->vs_lock);
	if (fail)
		virtio_dev_fail(vs->vs_t, fail);
}

void vsock_host_ready(void *dev)
{
	struct vsock *vs = dev;
	const char *fail;

	pthread_mutex_lock(&vs->vs_lock);
	if (vs->vs_lfd >= 0)
		vsock_accept_some(vs);
	for (unsigned i = 0; i < vs->vs_hwm; i++) {
		struct vsock_conn *c = &vs->vs_conns[i];

		if (c->vc_state == VSC_LINE) {
			vsock_line_read(c);
		} else if (c->vc_state == VSC_OPEN) {
			vsock_conn_flush(c);
			if (c->vc_state == VSC_OPEN && !c->vc_host_eof && !c->vc_guest_no_recv) {
				c->vc_readable = true;
				vsock_queue(c);
			}
		}
	}
	vsock_rx_run_locked(vs);
	fail = vsock_take_fail(vs);
	pthread_mutex_unlock(&vs->vs_lock);
	if (fail)
		virtio_dev_fail(vs->vs_t, fail);
}

