// SPDX-License-Identifier: MIT
/*
 * vsock_conn.c: virtio-vsock's connection table (prefix vsock_): slots, the
 * (host port, guest port) hash, the receive-work list, the guest's credit,
 * the one-shot io_uring polls on each host socket and their completions, and
 * the timer (handshake deadlines, retries). The sockets themselves are
 * vsock_host.c's; a slot's life is in vsock_int.h. It also sizes the table:
 * each connection holds one fd, so the limit is what RLIMIT_NOFILE leaves.
 *
 * A connection is closed with shutdown(SHUT_RDWR) at once and close() once no
 * poll names its fd (vsock_int.h): the shutdown wakes a poll in flight (it
 * reports POLLHUP), so the slot becomes free soon, from any thread, without
 * an io_uring cancel.
 */
#include "devices/virtio/vsock_int.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
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

#define SIP_ROTL(x, b) (((x) << (b)) | ((x) >> (64 - (b))))

static void sip_round(uint64_t v[4])
{
	v[0] += v[1];
	v[1] = SIP_ROTL(v[1], 13) ^ v[0];
	v[0] = SIP_ROTL(v[0], 32);
	v[2] += v[3];
	v[3] = SIP_ROTL(v[3], 16) ^ v[2];
	v[0] += v[3];
	v[3] = SIP_ROTL(v[3], 21) ^ v[0];
	v[2] += v[1];
	v[1] = SIP_ROTL(v[1], 17) ^ v[2];
	v[2] = SIP_ROTL(v[2], 32);
}

/*
 * SipHash-2-4 of one 8-byte word (m) under (k) (Aumasson and Bernstein, 2012;
 * the constants are the paper's): the ports are the guest's, and with a key
 * it does not know it cannot choose ports that share a bucket.
 */
static uint64_t siphash_u64(const uint64_t k[2], uint64_t m)
{
	uint64_t v[4] = { k[0] ^ 0x736f6d6570736575ULL, k[1] ^ 0x646f72616e646f6dULL,
			  k[0] ^ 0x6c7967656e657261ULL, k[1] ^ 0x7465646279746573ULL };
	const uint64_t last = 8ULL << 56; /* the message length in the final block */

	v[3] ^= m;
	sip_round(v);
	sip_round(v);
	v[0] ^= m;
	v[3] ^= last;
	sip_round(v);
	sip_round(v);
	v[0] ^= last;
	v[2] ^= 0xff;
	for (int i = 0; i < 4; i++)
		sip_round(v);
	return v[0] ^ v[1] ^ v[2] ^ v[3];
}

_Static_assert((VSOCK_HASH_SIZE & (VSOCK_HASH_SIZE - 1)) == 0, "a power of two");

static unsigned hash_of(const struct vsock *vs, uint32_t host_port, uint32_t guest_port)
{
	uint64_t m = (uint64_t)host_port << 32 | guest_port;

	return (unsigned)(siphash_u64(vs->vs_hash_key, m) & (VSOCK_HASH_SIZE - 1));
}

static int32_t slot_of(const struct vsock_conn *c)
{
	return (int32_t)(c - c->vc_vs->vs_conns);
}

struct vsock_conn *vsock_conn_find(struct vsock *vs, uint32_t host_port, uint32_t guest_port)
{
	for (int32_t i = vs->vs_hash[hash_of(vs, host_port, guest_port)]; i >= 0;
	     i = vs->vs_conns[i].vc_hnext) {
		struct vsock_conn *c = &vs->vs_conns[i];

		if (c->vc_host_port == host_port && c->vc_guest_port == guest_port)
			return c;
	}
	return NULL;
}

void vsock_hash_add(struct vsock_conn *c)
{
	int32_t *b = &c->vc_vs->vs_hash[hash_of(c->vc_vs, c->vc_host_port, c->vc_guest_port)];

	c->vc_hnext = *b;
	*b = slot_of(c);
	c->vc_hashed = true;
}

static void hash_del(struct vsock_conn *c)
{
	struct vsock *vs = c->vc_vs;
	int32_t *p = &vs->vs_hash[hash_of(vs, c->vc_host_port, c->vc_guest_port)];

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

/* States with a deadline (vc_deadline). */
static bool state_timed(uint8_t s)
{
	return state_pending(s) || s == VSC_DRAIN;
}

void vsock_conn_set_state(struct vsock_conn *c, enum vsock_state s)
{
	struct vsock *vs = c->vc_vs;

	vs->vs_live = vs->vs_live + state_live(s) - state_live(c->vc_state);
	vs->vs_pending = vs->vs_pending + state_pending(s) - state_pending(c->vc_state);
	if (c->vc_from_guest)
		vs->vs_guest_live = vs->vs_guest_live + state_live(s) - state_live(c->vc_state);
	c->vc_state = (uint8_t)s;
}

/*
 * The connection limit for (want) that the fds allow: each connection holds
 * one, and VSOCK_FD_RESERVE stay for the rest of agentvmm (KVM, vCPUs,
 * eventfds, disks, taps, vhost-user). The soft RLIMIT_NOFILE is raised towards
 * the hard one first, as far as that needs (before the sandbox; select() is
 * not used anywhere, so fds above 1024 are harmless).
 */
static unsigned conns_for_fds(unsigned want)
{
	rlim_t need = (rlim_t)want + VSOCK_FD_RESERVE, avail;
	struct rlimit rl;
	unsigned n;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return want;
	/* RLIM_INFINITY is the largest rlim_t: no case of its own */
	if (rl.rlim_cur < need) {
		struct rlimit up = { MIN(need, rl.rlim_max), rl.rlim_max };

		if (up.rlim_cur > rl.rlim_cur && setrlimit(RLIMIT_NOFILE, &up) == 0)
			rl.rlim_cur = up.rlim_cur;
	}
	if (rl.rlim_cur >= need)
		return want;
	avail = rl.rlim_cur > VSOCK_FD_RESERVE ? rl.rlim_cur - VSOCK_FD_RESERVE : 0;
	/* a limit that low leaves agentvmm short of fds anyway: keep a few connections */
	n = MIN(want, (unsigned)MAX(avail, (rlim_t)VSOCK_MIN_CONNS));
	log_info("virtio-vsock: RLIMIT_NOFILE %llu (hard %llu): at most %u connections",
		 (unsigned long long)rl.rlim_cur, (unsigned long long)rl.rlim_max, n);
	return n;
}

int vsock_table_init(struct vsock *vs, const struct vsock_config *cfg, char *err, size_t errlen)
{
	vs->vs_max_conns = conns_for_fds(cfg->max_conns ? cfg->max_conns : VSOCK_MAX_CONNS);
	/* host programs can always connect, however many connections the guest opened */
	vs->vs_host_reserve = MIN((unsigned)VSOCK_HOST_RESERVE, vs->vs_max_conns / 4);
	vs->vs_max_pending = MIN(cfg->max_pending ? cfg->max_pending : VSOCK_MAX_PENDING,
				 vs->vs_max_conns);
	vs->vs_qhead = vs->vs_qtail = -1;
	for (unsigned i = 0; i < VSOCK_HASH_SIZE; i++)
		vs->vs_hash[i] = -1;
	if (getrandom(vs->vs_hash_key, sizeof(vs->vs_hash_key), GRND_NONBLOCK) !=
	    (ssize_t)sizeof(vs->vs_hash_key)) {
		/* no entropy yet (early boot): weaker, still nothing the guest can read */
		vs->vs_hash_key[0] = vsock_now_ns() ^ (uint64_t)(uintptr_t)vs;
		vs->vs_hash_key[1] = (uint64_t)getpid() << 32 ^ (uint64_t)(uintptr_t)&errlen;
	}
	vs->vs_conns = calloc(vs->vs_max_conns, sizeof(*vs->vs_conns));
	if (!vs->vs_conns) {
		snprintf(err, errlen, "virtio-vsock: out of memory");
		return -ENOMEM;
	}
	for (unsigned i = 0; i < vs->vs_max_conns; i++)
		vs->vs_conns[i].vc_fd = -1;
	return 0;
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

void vsock_msg_drop(struct vsock_conn *c)
{
	if (!c->vc_msg)
		return;
	c->vc_vs->vs_stats.msg_held -= c->vc_msg_len;
	free(c->vc_msg);
	c->vc_msg = NULL;
	c->vc_msg_len = c->vc_msg_off = 0;
}

void vsock_conn_close(struct vsock_conn *c, bool rst)
{
	struct vsock *vs = c->vc_vs;
	bool told = c->vc_state == VSC_OPEN || (c->vc_state == VSC_REQ && c->vc_req_sent) ||
		    (c->vc_state == VSC_DRAIN && (c->vc_owe & VSC_OWE_RST));

	vs->vs_stats.buffered -= c->vc_buf_len;
	free(c->vc_buf);
	c->vc_buf = NULL;
	c->vc_buf_len = 0;
	c->vc_seq_part = c->vc_seq_msgs = 0;
	vsock_msg_drop(c);
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

void vsock_conn_drain(struct vsock_conn *c, bool rst)
{
	struct vsock *vs = c->vc_vs;

	hash_del(c); /* the guest's packets no longer reach it: its RST cannot drop the bytes */
	if (!c->vc_guest_no_recv)
		shutdown(c->vc_fd, SHUT_RD); /* the host peer's writes fail (EPIPE) */
	c->vc_guest_no_recv = c->vc_guest_no_send = true;
	c->vc_readable = false;
	vsock_msg_drop(c); /* a host message the guest will never read */
	c->vc_owe = rst ? VSC_OWE_RST : 0;
	vsock_conn_set_state(c, VSC_DRAIN);
	c->vc_deadline = vsock_now_ns() + VSOCK_DRAIN_TIMEOUT_MS * VSOCK_NS_PER_MS;
	vsock_timer_update(vs);
	if (rst)
		vsock_queue(c);
	vsock_conn_poll(c);
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

bool vsock_credit_ok(const struct vsock_conn *c)
{
	return vsock_guest_credit(c) >= MAX(c->vc_msg_need, 1U);
}

/* ---- timer ---------------------------------------------------------------------- */

/* Make the timerfd fire at the earliest handshake deadline or retry time (or never). */
void vsock_timer_update(struct vsock *vs)
{
	uint64_t next = vs->vs_listen_paused || vs->vs_rearm ? vs->vs_retry_at : 0;

	for (unsigned i = 0; i < vs->vs_hwm; i++) {
		const struct vsock_conn *c = &vs->vs_conns[i];

		if (state_timed(c->vc_state) && (!next || c->vc_deadline < next))
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
	      !c->vc_guest_no_recv && vsock_credit_ok(c));
	/* SEQPACKET: only whole messages go out; an unfinished one waits for the guest */
	out = (c->vc_state == VSC_OPEN || c->vc_state == VSC_DRAIN) &&
	      (c->vc_seq ? c->vc_seq_msgs > 0 : c->vc_buf_len > 0);
	if (in && !c->vc_in_armed)
		conn_arm(c, true);
	if (out && !c->vc_out_armed)
		conn_arm(c, false);
}

/* Drop vs_lock, then report a failure owed (vsock_int.h). */
void vsock_unlock_and_fail(struct vsock *vs)
{
	const char *why = vs->vs_fail_why;
	struct vpci *t = vs->vs_t;

	vs->vs_fail_why = NULL;
	pthread_mutex_unlock(&vs->vs_lock);
	if (why)
		virtio_dev_fail(t, why);
}

/* A poll on a connection's socket completed with (res) (revents or -errno). Context: loop. */
static void conn_poll_done(struct vsock_conn *c, bool in, int res)
{
	struct vsock *vs = c->vc_vs;

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
	if (res < 0 && res != -ECANCELED) {
		/* arming it again would fail again: a loop that never sleeps */
		log_guest_ratelimited("virtio-vsock: poll on a connection's socket: %s: closed",
				      strerror(-res));
		vsock_conn_close(c, true);
	} else if (in && c->vc_state == VSC_LINE) {
		vsock_line_read(c);
	} else if (in && c->vc_state == VSC_OPEN) {
		c->vc_readable = true; /* data, EOF or an error: the reader finds out */
		vsock_queue(c);
	} else if (!in && (c->vc_state == VSC_OPEN || c->vc_state == VSC_DRAIN)) {
		vsock_conn_flush(c);
	}
	vsock_rx_run_locked(vs);
	if (c->vc_state == VSC_LINE || c->vc_state == VSC_OPEN || c->vc_state == VSC_DRAIN)
		vsock_conn_poll(c);
	vsock_unlock_and_fail(vs);
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

		if (!state_timed(c->vc_state) || c->vc_deadline > now)
			continue;
		if (c->vc_state == VSC_DRAIN) {
			vs->vs_stats.drain_expired++;
			log_guest_ratelimited("virtio-vsock: host peer of a connection the guest "
					      "closed did not read its last %u bytes within %d ms: "
					      "dropped", c->vc_buf_len, VSOCK_DRAIN_TIMEOUT_MS);
			vsock_conn_close(c, true); /* RST only if the guest has not had it yet */
			continue;
		}
		vs->vs_stats.refused++;
		log_guest_ratelimited("virtio-vsock: host connection closed: %s within %d ms",
				      c->vc_state == VSC_LINE ? "no CONNECT line" :
								"no answer from the guest",
				      c->vc_state == VSC_LINE ? VSOCK_CONNECT_TIMEOUT_MS :
								VSOCK_RESPONSE_TIMEOUT_MS);
		vsock_conn_close(c, true); /* RST only if the REQUEST went out */
	}
	vsock_timer_update(vs);
}

void vsock_expire(void *dev, uint64_t now_ns)
{
	struct vsock *vs = dev;

	pthread_mutex_lock(&vs->vs_lock);
	expire_locked(vs, now_ns);
	vsock_rx_run_locked(vs);
	vsock_unlock_and_fail(vs);
}

/* The timerfd fired: deadlines, a paused listener, polls that could not be armed. */
void vsock_timer_cb(void *opaque)
{
	struct vsock *vs = opaque;
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
	vsock_unlock_and_fail(vs);
}

void vsock_host_ready(void *dev)
{
	struct vsock *vs = dev;

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
		} else if (c->vc_state == VSC_DRAIN) {
			vsock_conn_flush(c);
		}
	}
	vsock_rx_run_locked(vs);
	vsock_unlock_and_fail(vs);
}

