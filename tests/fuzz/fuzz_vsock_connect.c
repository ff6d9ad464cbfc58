// SPDX-License-Identifier: MIT
/*
 * fuzz_vsock_connect.c: the hybrid-vsock CONNECT line a host program sends.
 * Two layers, one input:
 *   - vsock_connect_scan() on the input and on each of its prefixes: a line
 *     found in a prefix is the line of the whole input, lengths and port stay
 *     in range, "need more" only below VSOCK_CONNECT_LINE_MAX bytes;
 *   - the same bytes sent by a real host client to a real device's PATH in
 *     up to three pieces (cut where byte 0 says), with vsock_host_ready() after
 *     each: the device either sends the guest one REQUEST for the port the
 *     parser found, or closes the connection, never both, never anything else.
 * Input: byte 0 picks the cuts; the rest is the bytes the client sends.
 */
#include <endian.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "boot/layout.h"
#include "devices/virtio/virtio_vsock.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define F_RAM MiB(1)
#define F_QSIZE 8
#define F_CID 3
#define F_BUF 0x10000

static struct guest_mem gm;
static char dir[64], path[128];

static void check_scan(const uint8_t *data, size_t size)
{
	uint32_t port = 0, p2 = 0;
	size_t used = 0, u2 = 0;
	int r = vsock_connect_scan((const char *)data, size, &port, &used);

	if (r == 1 && (used == 0 || used > size || used > VSOCK_CONNECT_LINE_MAX ||
		       port >= VSOCK_PORT_ANY || data[used - 1] != '\n'))
		abort();
	if (r == 0 && size >= VSOCK_CONNECT_LINE_MAX)
		abort();
	if (r != 1 && r != 0 && r != -EINVAL && r != -EMSGSIZE)
		abort();
	/* reading in pieces gives the same answer as reading it whole */
	for (size_t k = 0; k <= size && k <= VSOCK_CONNECT_LINE_MAX + 1; k++) {
		int rk = vsock_connect_scan((const char *)data, k, &p2, &u2);

		if (rk == 1 && (r != 1 || p2 != port || u2 != used))
			abort();
		if (rk < 0 && rk != r)
			abort();
	}
}

/* At exit: the temp directory goes (each device removed its PATH itself). */
static void cleanup(void)
{
	rmdir(dir);
}

static void setup_once(void)
{
	if (gm_create(&gm, F_RAM, BOOT_MMIO_HOLE_GPA))
		abort();
	snprintf(dir, sizeof(dir), "/tmp/av-fuzz-vsockc-XXXXXX");
	if (!mkdtemp(dir))
		abort();
	snprintf(path, sizeof(path), "%s/v", dir);
	atexit(cleanup);
}

/* A receive queue with a few buffers, at the top of RAM; the transmit queue below it. */
static void activate(void *dev, struct virtq *vqs, struct evl *evl)
{
	for (unsigned q = 0; q < VSOCK_NR_QUEUES; q++) {
		gpa_t top = F_RAM - q * 0x1000;
		gpa_t avail = top - (6 + 2 * F_QSIZE);
		gpa_t used = ALIGN_DOWN(avail - (6 + 8 * F_QSIZE), 4);
		gpa_t desc = ALIGN_DOWN(used - 16 * F_QSIZE, 16);

		memset(gm_ptr(&gm, desc, top - desc), 0, top - desc);
		if (virtq_init(&vqs[q], &gm, F_QSIZE, VSOCK_QUEUE_SIZE, desc, avail, used, false,
			       false))
			abort();
		if (q != VSOCK_RXQ)
			continue;
		for (uint16_t i = 0; i < F_QSIZE; i++) {
			uint64_t d[2] = { htole64(F_BUF + i * 0x1000ULL),
					  htole64(0x1000ULL | (uint64_t)2 << 32) }; /* WRITE */
			uint16_t e = htole16(i);

			memcpy(gm_ptr(&gm, desc + 16 * i, 16), d, 16);
			memcpy(gm_ptr(&gm, avail + 4 + 2 * i, 2), &e, 2);
		}
		uint16_t idx = htole16(F_QSIZE);
		memcpy(gm_ptr(&gm, avail + 2, 2), &idx, 2);
	}
	struct virtio_activation act = { .gm = &gm, .vqs = vqs, .nr_vqs = VSOCK_NR_QUEUES,
					 .evl = evl, .features = 1ULL << VSOCK_F_STREAM };
	if (vsock_ops.activate(dev, &act))
		abort();
}

static void through_device(const uint8_t *data, size_t size, unsigned cuts)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct virtq vqs[VSOCK_NR_QUEUES];
	struct evl evl;
	char err[256], c;
	int e, fd;

	if (evl_init(&evl, 32))
		abort();
	struct vsock_config cfg = { .guest_cid = F_CID, .path = path, .evl = &evl };
	void *dev = vsock_create(&cfg, &e, err, sizeof(err));
	if (!dev)
		abort();
	activate(dev, vqs, &evl);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
		abort();
	size_t a = size ? (cuts & 0xf) % (size + 1) : 0, b = a + (size - a) * (cuts >> 4) / 16;
	size_t at[4] = { 0, a, b, size };
	for (int i = 0; i < 3; i++) {
		if (at[i + 1] > at[i] &&
		    send(fd, data + at[i], at[i + 1] - at[i], MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
			/* the device closed already */
		}
		vsock_host_ready(dev);
	}
	vsock_expire(dev, UINT64_MAX / 2); /* a line never finished is closed too */
	/* what the guest got: at most one REQUEST, for the port the parser found */
	uint16_t used_idx;
	memcpy(&used_idx, gm_ptr(&gm, vqs[VSOCK_RXQ].vq_used + 2, 2), 2);
	struct virtio_vsock_hdr h;
	uint32_t port = 0;
	size_t u = 0;
	bool line = vsock_connect_scan((const char *)data, size, &port, &u) == 1;
	if (le16toh(used_idx) > 2)
		abort();
	if (le16toh(used_idx)) {
		memcpy(&h, gm_ptr(&gm, F_BUF, sizeof(h)), sizeof(h));
		if (!line || le16toh(h.op) != VIRTIO_VSOCK_OP_REQUEST ||
		    le32toh(h.dst_port) != port)
			abort();
	}
	/* a connection without a REQUEST is closed: EOF or ECONNRESET, no "OK" */
	if (!line && recv(fd, &c, 1, MSG_DONTWAIT) > 0)
		abort();
	close(fd);
	if (vsock_ops.reset(dev))
		abort();
	evl_fini(&evl);
	vsock_ops.destroy(dev);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;

	if (!ready) {
		setup_once();
		ready = true;
	}
	if (!size)
		return 0;
	check_scan(data + 1, size - 1);
	through_device(data + 1, size - 1, data[0]);
	return 0;
}
