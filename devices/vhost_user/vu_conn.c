// SPDX-License-Identifier: MIT
/* vu_conn.c: a vhost-user front-end connection: connect, handshake, mem table, vrings (prefix vu_conn_). */
#include "devices/vhost_user/vu_conn.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "devices/vhost_user/vu_msg.h"

/* Protocol features agentvmm implements; anything else the back end offers is declined. */
#define VU_CONN_PROTO_WANTED (1ULL << VU_PROTOCOL_F_REPLY_ACK | 1ULL << VU_PROTOCOL_F_MQ)
#define VU_CONN_MAX_VRINGS 256 /* vhost-user: the vring index is 8 bits in KICK/CALL */

void vu_conn_init_empty(struct vu_conn *c)
{
	memset(c, 0, sizeof(*c));
	c->vc_sock = -1;
	c->vc_timeout_ms = VU_CONN_TIMEOUT_MS;
}

void vu_conn_close(struct vu_conn *c)
{
	if (c->vc_sock >= 0)
		close(c->vc_sock);
	c->vc_sock = -1;
}

static bool has_proto(const struct vu_conn *c, unsigned bit)
{
	return c->vc_proto & (1ULL << bit);
}

/* Send (m) and read the reply of (reply_size) bytes into (m). */
static int conn_call(struct vu_conn *c, struct vu_msg *m, uint32_t reply_size)
{
	uint32_t request = m->hdr.request;
	int r;

	if (c->vc_sock < 0)
		return -ENOTCONN;
	r = vu_msg_send(c->vc_sock, m, NULL, 0, c->vc_timeout_ms);
	if (!r)
		r = vu_msg_recv(c->vc_sock, m, NULL, 0, NULL, c->vc_timeout_ms);
	if (!r)
		r = vu_msg_check_reply(m, request, reply_size);
	return r;
}

/*
 * Send (m) with (fds), a message that has no reply of its own; with
 * REPLY_ACK ask for one and require 0 (vhost-user: "REPLY_ACK").
 */
static int conn_set(struct vu_conn *c, struct vu_msg *m, const int *fds, unsigned nr_fds)
{
	uint32_t request = m->hdr.request;
	bool ack = has_proto(c, VU_PROTOCOL_F_REPLY_ACK);
	int r;

	if (c->vc_sock < 0)
		return -ENOTCONN;
	if (ack)
		m->hdr.flags |= VU_FLAG_NEED_REPLY;
	r = vu_msg_send(c->vc_sock, m, fds, nr_fds, c->vc_timeout_ms);
	if (r || !ack)
		return r;
	r = vu_msg_recv(c->vc_sock, m, NULL, 0, NULL, c->vc_timeout_ms);
	if (!r)
		r = vu_msg_check_reply(m, request, sizeof(m->p.u64));
	if (!r && m->p.u64 != 0)
		r = -EIO;
	return r;
}

static int conn_get_u64(struct vu_conn *c, uint32_t request, uint64_t *v)
{
	struct vu_msg m;
	int r;

	vu_msg_init(&m, request, 0);
	r = conn_call(c, &m, sizeof(m.p.u64));
	if (!r)
		*v = m.p.u64;
	return r;
}

static int conn_set_u64(struct vu_conn *c, uint32_t request, uint64_t v, int fd)
{
	struct vu_msg m;

	vu_msg_init(&m, request, sizeof(m.p.u64));
	m.p.u64 = v;
	return conn_set(c, &m, &fd, fd >= 0 ? 1 : 0);
}

static int conn_set_state(struct vu_conn *c, uint32_t request, uint32_t idx, uint32_t num)
{
	struct vu_msg m;

	vu_msg_init(&m, request, sizeof(m.p.state));
	m.p.state = (struct vu_vring_state){ .index = idx, .num = num };
	return conn_set(c, &m, NULL, 0);
}

static int conn_connect(struct vu_conn *c, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = c->vc_timeout_ms / 1000,
			      .tv_usec = (c->vc_timeout_ms % 1000) * 1000 };

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	c->vc_sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->vc_sock < 0)
		return -errno;
	/* bounds a connect() to a listener whose backlog is full */
	if (setsockopt(c->vc_sock, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0)
		return -errno;
	while (connect(c->vc_sock, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (errno != EINTR)
			return errno == EAGAIN || errno == EINPROGRESS ? -ETIMEDOUT : -errno;
	}
	return 0;
}

/* Protocol features and queue count, when the back end offers bit 30. */
static int conn_negotiate_proto(struct vu_conn *c, const char **step)
{
	uint64_t proto, n;
	int r;

	*step = "GET_PROTOCOL_FEATURES";
	r = conn_get_u64(c, VU_GET_PROTOCOL_FEATURES, &proto);
	if (r)
		return r;
	*step = "SET_PROTOCOL_FEATURES";
	r = conn_set_u64(c, VU_SET_PROTOCOL_FEATURES, proto & VU_CONN_PROTO_WANTED, -1);
	if (r)
		return r;
	/* from here on, REPLY_ACK (if both have it) applies */
	c->vc_proto = proto & VU_CONN_PROTO_WANTED;
	if (!has_proto(c, VU_PROTOCOL_F_MQ))
		return 0;
	*step = "GET_QUEUE_NUM";
	r = conn_get_u64(c, VU_GET_QUEUE_NUM, &n);
	if (r)
		return r;
	if (n == 0 || n > VU_CONN_MAX_VRINGS)
		return -EBADMSG;
	c->vc_max_vrings = (uint16_t)n;
	return 0;
}

/* The handshake on the connected c->vc_sock, or the error (r) of connecting it. */
static int conn_handshake(struct vu_conn *c, const char *path, int r, char *err, size_t errlen)
{
	const char *step = "connect";
	struct vu_msg m;

	if (!r) {
		step = "GET_FEATURES";
		r = conn_get_u64(c, VU_GET_FEATURES, &c->vc_features);
	}
	if (!r && (c->vc_features & (1ULL << VU_F_PROTOCOL_FEATURES)))
		r = conn_negotiate_proto(c, &step);
	if (!r) {
		step = "SET_OWNER";
		vu_msg_init(&m, VU_SET_OWNER, 0);
		r = conn_set(c, &m, NULL, 0);
	}
	if (r) {
		snprintf(err, errlen, "vhost-user %s: %s: %s", path, step, strerror(-r));
		vu_conn_close(c);
	}
	return r;
}

int vu_conn_open(struct vu_conn *c, const char *path, int timeout_ms, char *err, size_t errlen)
{
	vu_conn_init_empty(c);
	if (timeout_ms > 0)
		c->vc_timeout_ms = timeout_ms;
	return conn_handshake(c, path, conn_connect(c, path), err, errlen);
}

int vu_conn_open_fd(struct vu_conn *c, int fd, const char *name, int timeout_ms, char *err,
		    size_t errlen)
{
	struct timeval tv;
	int r = 0;

	vu_conn_init_empty(c);
	if (timeout_ms > 0)
		c->vc_timeout_ms = timeout_ms;
	c->vc_sock = fd;
	tv = (struct timeval){ .tv_sec = c->vc_timeout_ms / 1000,
			       .tv_usec = (c->vc_timeout_ms % 1000) * 1000 };
	/* as conn_connect(): bounds each send */
	if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0)
		r = -errno;
	return conn_handshake(c, name, r, err, errlen);
}

int vu_conn_set_features(struct vu_conn *c, uint64_t features)
{
	features |= c->vc_features & (1ULL << VU_F_PROTOCOL_FEATURES);
	return conn_set_u64(c, VU_SET_FEATURES, features, -1);
}

int vu_conn_set_mem_table(struct vu_conn *c, const struct guest_mem *gm)
{
	int fds[VU_MEM_MAX_REGIONS];
	struct vu_msg m;

	if (gm->nr_regions == 0 || gm->nr_regions > VU_MEM_MAX_REGIONS || gm->fd < 0)
		return -E2BIG;
	vu_msg_init(&m, VU_SET_MEM_TABLE, VU_MEM_TABLE_SIZE(gm->nr_regions));
	m.p.mem.nregions = gm->nr_regions;
	for (unsigned i = 0; i < gm->nr_regions; i++) {
		const struct gm_region *g = &gm->regions[i];

		/* the back end mmaps (fd, mmap_offset, size) and maps user_addr onto it */
		m.p.mem.r[i] = (struct vu_mem_region){
			.gpa = g->gpa, .size = g->len, .uaddr = (uint64_t)(uintptr_t)g->hva,
			.mmap_offset = g->fd_offset,
		};
		fds[i] = gm->fd;
	}
	return conn_set(c, &m, fds, gm->nr_regions);
}

int vu_conn_start_vring(struct vu_conn *c, uint16_t idx, const struct virtq *vq, int kick_fd,
			int call_fd)
{
	struct vu_msg m;
	int r;

	if (idx > VU_VRING_IDX_MASK || !vq->vq_size || !vq->vq_desc_hva || kick_fd < 0)
		return -EINVAL;
	r = conn_set_state(c, VU_SET_VRING_NUM, idx, vq->vq_size);
	if (!r)
		r = conn_set_state(c, VU_SET_VRING_BASE, idx, 0);
	if (r)
		return r;
	vu_msg_init(&m, VU_SET_VRING_ADDR, sizeof(m.p.addr));
	m.p.addr = (struct vu_vring_addr){
		.index = idx,
		.desc = (uint64_t)(uintptr_t)vq->vq_desc_hva,
		.used = (uint64_t)(uintptr_t)vq->vq_used_hva,
		.avail = (uint64_t)(uintptr_t)vq->vq_avail_hva,
		.log = vq->vq_used, /* only read with VHOST_VRING_F_LOG, which we never set */
	};
	r = conn_set(c, &m, NULL, 0);
	if (!r)
		r = conn_set_u64(c, VU_SET_VRING_KICK, idx, kick_fd);
	if (!r)
		r = conn_set_u64(c, VU_SET_VRING_CALL, call_fd >= 0 ? idx : idx | VU_VRING_NOFD,
				 call_fd);
	/* with protocol features a vring starts disabled (vhost-user: "Ring states") */
	if (!r && (c->vc_features & (1ULL << VU_F_PROTOCOL_FEATURES)))
		r = conn_set_state(c, VU_SET_VRING_ENABLE, idx, 1);
	return r;
}

int vu_conn_stop_vring(struct vu_conn *c, uint16_t idx, uint16_t *base)
{
	struct vu_msg m;
	int r = 0;

	if (idx > VU_VRING_IDX_MASK)
		return -EINVAL;
	if (c->vc_features & (1ULL << VU_F_PROTOCOL_FEATURES))
		r = conn_set_state(c, VU_SET_VRING_ENABLE, idx, 0);
	if (r)
		return r;
	vu_msg_init(&m, VU_GET_VRING_BASE, sizeof(m.p.state));
	m.p.state.index = idx;
	r = conn_call(c, &m, sizeof(m.p.state));
	if (r)
		return r;
	if (m.p.state.index != idx || m.p.state.num > UINT16_MAX)
		return -EBADMSG;
	*base = (uint16_t)m.p.state.num;
	return 0;
}
