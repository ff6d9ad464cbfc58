/* SPDX-License-Identifier: MIT */
/*
 * vu_msg.h: the vhost-user message codec (prefix vu_): framing, payload
 * layouts, fd passing and strict reply validation.
 *
 * Wire format (vhost-user protocol, "Message Specification"), host byte
 * order, over a unix stream socket:
 *
 *   header   { u32 request; u32 flags; u32 size; }          12 bytes
 *   payload  size bytes, one of the layouts in union vu_payload
 *   fds      SCM_RIGHTS ancillary data riding with the first byte
 *
 * flags: bits 0-1 version (always 1), bit 2 REPLY (set by the back end on
 * every reply), bit 3 NEED_REPLY (front end asks for a REPLY_ACK u64).
 *
 * The back end is trusted no more than the guest: a reply is accepted only
 * with version 1, exactly the REPLY flag, the request code we sent, the exact
 * payload size of that request, and no file descriptors. Everything else
 * fails the connection.
 */
#ifndef AGENTVMM_DEVICES_VHOST_USER_VU_MSG_H
#define AGENTVMM_DEVICES_VHOST_USER_VU_MSG_H

#include <stdint.h>

#include "vmm/compiler.h"

/* vhost-user: front-end message types */
enum vu_request {
	VU_GET_FEATURES = 1,
	VU_SET_FEATURES = 2,
	VU_SET_OWNER = 3,
	VU_SET_MEM_TABLE = 5,
	VU_SET_VRING_NUM = 8,
	VU_SET_VRING_ADDR = 9,
	VU_SET_VRING_BASE = 10,
	VU_GET_VRING_BASE = 11,
	VU_SET_VRING_KICK = 12,
	VU_SET_VRING_CALL = 13,
	VU_GET_PROTOCOL_FEATURES = 15,
	VU_SET_PROTOCOL_FEATURES = 16,
	VU_GET_QUEUE_NUM = 17,
	VU_SET_VRING_ENABLE = 18,
};

#define VU_VERSION 0x1u
#define VU_FLAG_VERSION_MASK 0x3u
#define VU_FLAG_REPLY 0x4u
#define VU_FLAG_NEED_REPLY 0x8u

/* vhost-user: feature bit of GET_FEATURES that enables protocol features */
#define VU_F_PROTOCOL_FEATURES 30
/* vhost-user: protocol feature bits */
#define VU_PROTOCOL_F_MQ 0
#define VU_PROTOCOL_F_REPLY_ACK 3

/* vhost-user: SET_VRING_KICK/CALL u64: bits 0-7 index, bit 8 "no fd" */
#define VU_VRING_IDX_MASK 0xffu
#define VU_VRING_NOFD (1u << 8)

#define VU_MEM_MAX_REGIONS 8 /* vhost-user: VHOST_MEMORY_BASELINE_NREGIONS */
#define VU_MAX_FDS VU_MEM_MAX_REGIONS
#define VU_CONFIG_MAX 256    /* vhost-user: VHOST_USER_MAX_CONFIG_SIZE */

struct vu_hdr {
	uint32_t request;
	uint32_t flags;
	uint32_t size;
};
_Static_assert(sizeof(struct vu_hdr) == 12, "vhost-user header");

/* vhost-user: "A vring state description" */
struct vu_vring_state {
	uint32_t index;
	uint32_t num;
};
_Static_assert(sizeof(struct vu_vring_state) == 8, "vhost-user vring state");

/* vhost-user: "A vring address description"; addresses are front-end virtual */
struct vu_vring_addr {
	uint32_t index;
	uint32_t flags;
	uint64_t desc;
	uint64_t used;
	uint64_t avail;
	uint64_t log;
};
_Static_assert(sizeof(struct vu_vring_addr) == 40, "vhost-user vring address");

/* vhost-user: "Memory region description" */
struct vu_mem_region {
	uint64_t gpa;          /* guest_addr */
	uint64_t size;
	uint64_t uaddr;        /* user_addr: our mapping, used to translate vring addresses */
	uint64_t mmap_offset;  /* offset of gpa in the region's fd */
};
_Static_assert(sizeof(struct vu_mem_region) == 32, "vhost-user memory region");

/* vhost-user: "Multiple Memory regions description" */
struct vu_mem_table {
	uint32_t nregions;
	uint32_t padding;
	struct vu_mem_region r[VU_MEM_MAX_REGIONS];
};

/* vhost-user: "Device config space" (kept for the size bound; unused) */
struct vu_config {
	uint32_t offset, size, flags;
	uint8_t region[VU_CONFIG_MAX];
};

union vu_payload {
	uint64_t u64;
	struct vu_vring_state state;
	struct vu_vring_addr addr;
	struct vu_mem_table mem;
	struct vu_config config;
	uint8_t raw[sizeof(struct vu_config)];
};

/* The largest payload either side may send (GET/SET_CONFIG); bigger ones fail the connection. */
#define VU_PAYLOAD_MAX sizeof(struct vu_config)

struct vu_msg {
	struct vu_hdr hdr;
	union vu_payload p;
};

/* Size of a mem table payload with (n) regions (what QEMU sends: used regions only). */
#define VU_MEM_TABLE_SIZE(n) (8u + 32u * (uint32_t)(n))

/* vu_msg_init() - zero (m) and set a version-1 header for (request) with (size) payload bytes. */
void vu_msg_init(struct vu_msg *m, uint32_t request, uint32_t size);

/*
 * vu_msg_send() - send header + payload of (m) on stream socket (sock), with
 * (fds, nr_fds) as SCM_RIGHTS on the first chunk. Retries EINTR and short
 * writes; never raises SIGPIPE. Waits at most (timeout_ms) for buffer space.
 * Return: 0; -EINVAL (nr_fds > VU_MAX_FDS or size > VU_PAYLOAD_MAX);
 * -ETIMEDOUT; -EPIPE/-ECONNRESET (peer gone); another -errno from sendmsg.
 * Context: the thread that owns the connection.
 */
int vu_msg_send(int sock, const struct vu_msg *m, const int *fds, unsigned nr_fds,
		int timeout_ms) __must_check;

/*
 * vu_msg_recv() - receive one message into (m): the 12-byte header, checked
 * for version 1 and size <= VU_PAYLOAD_MAX before the payload is read, then
 * exactly hdr.size payload bytes. Up to (max_fds) descriptors are accepted
 * into (fds) with their count in (nr_fds); on any error, and whenever more
 * than (max_fds) arrive, every received descriptor is closed. The whole
 * message must arrive within (timeout_ms) (0: only what is already queued).
 * Return: 0; -ETIMEDOUT; -ECONNRESET (EOF, also mid-message); -EPROTO
 * (version); -EMSGSIZE (size too big); -EBADMSG (unexpected or truncated
 * ancillary data); another -errno from recvmsg. After an error the stream
 * is out of sync: the caller drops the connection.
 * Context: the thread that owns the connection.
 * Guest: none; the back end controls every byte (treated as hostile).
 */
int vu_msg_recv(int sock, struct vu_msg *m, int *fds, unsigned max_fds, unsigned *nr_fds,
		int timeout_ms) __must_check;

/*
 * vu_msg_check_reply() - whether (m) is the reply to (request) with exactly
 * (size) payload bytes: flags exactly VERSION | REPLY.
 * Return: 0; -EPROTO (flags); -EBADMSG (another request code); -EMSGSIZE
 * (payload size differs).
 * Context: any.
 */
int vu_msg_check_reply(const struct vu_msg *m, uint32_t request, uint32_t size) __must_check;

#endif
