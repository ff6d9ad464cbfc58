// SPDX-License-Identifier: MIT
/*
 * hostile.c: a hostile guest driver. Run as root inside a Linux guest of
 * agentvmm: it unbinds the kernel's driver from each virtio-pci device, maps
 * BAR0 through sysfs, takes locked pages whose guest-physical addresses it
 * reads from /proc/self/pagemap, and drives the modern virtio-pci transport
 * itself with deliberately bad input (docs/hostile-guest.md lists the cases).
 * After each case the device must have refused (NEEDS_RESET, an error status
 * in the used ring, or the write ignored), and after a reset a well-formed
 * request must work again. One PASS/FAIL line per case; the exit status is
 * the number of failures (capped at 100).
 *
 *   hostile --disk-pattern [--pmem-pattern] [--fs-tag TAG --fs-skip N] [--fs-chains] [-v]
 *
 * The disk (if any) must hold pat(offset) at every byte (see pat()); the
 * program writes only sector GOOD_WRITE_SECTOR, with wr_byte(i). With
 * --pmem-pattern, a pmem device's window must hold pat(offset) too (its image
 * a multiple of 2 MiB); the program tries to write it (/dev/mem) and checks
 * nothing stuck.
 * It knows agentvmm's BAR0 layout (devices/virtio/virtio_pci.h) and checks
 * the capabilities point there.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

/* agentvmm's BAR0 layout (devices/virtio/virtio_pci.h) */
#define BAR_SIZE 0x8000
#define ISR_OFF 0x1000
#define DEVCFG_OFF 0x2000
#define NOTIFY_OFF 0x3000
#define NOTIFY_MULT 4
#define MSIX_TABLE_OFF 0x4000
#define MSIX_PBA_OFF 0x5000

/* virtio 1.2 §4.1.4.3 common config */
enum {
	CC_DFSELECT = 0, CC_DF = 4, CC_GFSELECT = 8, CC_GF = 12, CC_MSIX = 16, CC_NUMQ = 18,
	CC_STATUS = 20, CC_CFGGEN = 21, CC_Q_SELECT = 22, CC_Q_SIZE = 24, CC_Q_MSIX = 26,
	CC_Q_ENABLE = 28, CC_Q_NOFF = 30, CC_Q_DESC = 32, CC_Q_AVAIL = 40, CC_Q_USED = 48,
};

#define S_ACK 1
#define S_DRIVER 2
#define S_DRIVER_OK 4
#define S_FEATURES_OK 8
#define S_NEEDS_RESET 0x40
#define F_NEXT 1
#define F_WRITE 2
#define F_INDIRECT 4
#define FEAT_INDIRECT (1ULL << 28)
#define FEAT_VERSION_1 (1ULL << 32)
#define NO_VECTOR 0xffff

#define QSIZE 16
#define NPAGES 16
#define PAGE 4096
#define SECTOR 512
#define GOOD_READ_SECTOR 7
#define GOOD_WRITE_SECTOR 100
#define BEYOND_RAM (1ULL << 40)

enum {
	ID_NET = 1, ID_BLK = 2, ID_RNG = 4, ID_BALLOON = 5, ID_VSOCK = 19, ID_FS = 26,
	ID_PMEM = 27,
};
#define FEAT_BALLOON_REPORTING (1ULL << 5) /* VIRTIO_BALLOON_F_REPORTING */

/* virtio 1.2 §5.10.6: the vsock packet header */
#define VSOCK_HDR 44
enum { VS_REQUEST = 1, VS_RST = 3, VS_RW = 5 };

/* virtio 1.2 §5.19: a pmem request is a le32 type, its answer a le32 result */
#define PMEM_ALIGN (2ULL << 20) /* the window's start and size granule (Linux maps sections) */
#define PMEM_REQ_FLUSH 0
#define PMEM_RESP_EIO 1
#define PMEM_UNTOUCHED 0xeeeeeeeeu /* what the result buffer holds before the device answers */

/* outcomes of one bad request */
enum {
	O_NEEDS_RESET = 1, /* status shows NEEDS_RESET */
	O_ERROR = 2,       /* completed with a device error (blk IOERR/UNSUPP, fuse error) */
	O_OK = 4,          /* completed successfully */
	O_IGNORED = 8,     /* nothing happened within the wait */
};
static const char *const oname[] = { [1] = "needs-reset", [2] = "error", [4] = "ok",
				     [8] = "ignored" };

struct page {
	uint8_t *va;
	uint64_t pa;
};

struct desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};

struct dev {
	char name[8];
	char sys[300];
	uint16_t id, nq, qmax, nvec, msix_cap;
	uint16_t tq; /* the queue the cases drive */
	volatile uint8_t *bar;
	uint32_t bar0; /* BAR0 register value */
	uint64_t blk_sectors;
	uint64_t vsock_cid; /* the guest's CID, from the vsock config space */
	int cfg;
	uint16_t avail_idx, used_seen;
};

static struct page pg[NPAGES];
static bool verbose, fs_chains, pmem_pattern;
static int failures, cases;
static struct dev devs[16];
static int ndevs;
static uint64_t fuse_unique = 1;
static int fs_skip;
static uint64_t pmem_window; /* the first pmem device's window (its config), 0 if none */
/*
 * The FUSE session in virtiofsd outlives device resets: INIT once, then
 * GETATTR. (A second FUSE_DESTROY kills Debian 12's C virtiofsd, so the
 * session is never ended.)
 */
static bool fs_inited;

static int diag(struct dev *d, const char *what)
{
	printf("# %s %s: %s: %s\n", d->name, d->sys, what, strerror(errno));
	return -1;
}

/* Disk contents the test writes before boot; byte (o) of the image. */
static uint8_t pat(uint64_t o)
{
	return (uint8_t)(((uint32_t)o * 2654435761u) >> 24);
}

static uint8_t wr_byte(unsigned i)
{
	return (uint8_t)(0xa5 ^ i);
}

/* ---------- MMIO and config access ---------- */

static uint8_t r8(struct dev *d, uint32_t o) { return *(volatile uint8_t *)(d->bar + o); }
static uint16_t r16(struct dev *d, uint32_t o) { return *(volatile uint16_t *)(d->bar + o); }
static uint32_t r32(struct dev *d, uint32_t o) { return *(volatile uint32_t *)(d->bar + o); }
static uint64_t r64(struct dev *d, uint32_t o) { return *(volatile uint64_t *)(d->bar + o); }
static void w8(struct dev *d, uint32_t o, uint8_t v) { *(volatile uint8_t *)(d->bar + o) = v; }
static void w16(struct dev *d, uint32_t o, uint16_t v) { *(volatile uint16_t *)(d->bar + o) = v; }
static void w32(struct dev *d, uint32_t o, uint32_t v) { *(volatile uint32_t *)(d->bar + o) = v; }
static void w64(struct dev *d, uint32_t o, uint64_t v) { *(volatile uint64_t *)(d->bar + o) = v; }

static uint32_t cfg_read(struct dev *d, unsigned off, unsigned len)
{
	uint32_t v = 0;

	if (pread(d->cfg, &v, len, off) != (ssize_t)len)
		return 0xffffffff;
	return v;
}

static int cfg_write(struct dev *d, unsigned off, uint32_t v, unsigned len)
{
	return pwrite(d->cfg, &v, len, off) == (ssize_t)len ? 0 : -1;
}

static int write_str(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY);
	int r;

	if (fd < 0)
		return -1;
	r = write(fd, s, strlen(s)) == (ssize_t)strlen(s) ? 0 : -1;
	close(fd);
	return r;
}

static void msleep(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

/* ---------- DMA pages ---------- */

static int pages_init(void)
{
	uint8_t *m = mmap(NULL, NPAGES * PAGE, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE | MAP_LOCKED, -1, 0);
	int fd;

	if (m == MAP_FAILED || mlock(m, NPAGES * PAGE))
		return -1;
	fd = open("/proc/self/pagemap", O_RDONLY);
	if (fd < 0)
		return -1;
	for (int i = 0; i < NPAGES; i++) {
		uint64_t e;

		m[i * PAGE] = 1;
		if (pread(fd, &e, 8, (off_t)((uintptr_t)(m + i * PAGE) / PAGE) * 8) != 8 ||
		    !(e & (1ULL << 63)) || !(e & ((1ULL << 55) - 1))) {
			close(fd);
			return -1;
		}
		pg[i].va = m + i * PAGE;
		pg[i].pa = (e & ((1ULL << 55) - 1)) * PAGE;
	}
	close(fd);
	return 0;
}

#define PA(i, off) (pg[i].pa + (off))

/* queue rings: the test queue in pages 0-2, the other queues in pages 8+3k.. */
enum { P_DESC = 0, P_AVAIL = 1, P_USED = 2, P_IND = 3, P_HDR = 4, P_DATA = 5, P_STATUS = 6 };

static volatile uint16_t *avail(void) { return (volatile uint16_t *)pg[P_AVAIL].va; }
static volatile uint16_t *used(void) { return (volatile uint16_t *)pg[P_USED].va; }
static volatile uint32_t *used_elem(unsigned i)
{
	return (volatile uint32_t *)(pg[P_USED].va + 4 + 8 * (i % QSIZE));
}

static void put_desc(uint8_t *table, unsigned i, struct desc d)
{
	memcpy(table + 16 * i, &d, 16);
}

/* ---------- device lifecycle ---------- */

static bool dev_reset(struct dev *d)
{
	w8(d, CC_STATUS, 0);
	for (int i = 0; i < 1000; i++) {
		if (r8(d, CC_STATUS) == 0)
			return true;
		msleep(1);
	}
	return false;
}

/* Reset, ACK, DRIVER, negotiate (want & offered) | VERSION_1; true if FEATURES_OK stuck. */
static bool dev_features(struct dev *d, uint64_t want)
{
	uint64_t off;

	if (!dev_reset(d))
		return false;
	w8(d, CC_STATUS, S_ACK);
	w8(d, CC_STATUS, S_ACK | S_DRIVER);
	w32(d, CC_DFSELECT, 0);
	off = r32(d, CC_DF);
	w32(d, CC_DFSELECT, 1);
	off |= (uint64_t)r32(d, CC_DF) << 32;
	if (d->id == ID_BALLOON) /* always: its queue 2 (tq) is the reporting queue */
		want |= FEAT_BALLOON_REPORTING;
	want = (want & off) | FEAT_VERSION_1;
	w32(d, CC_GFSELECT, 0);
	w32(d, CC_GF, (uint32_t)want);
	w32(d, CC_GFSELECT, 1);
	w32(d, CC_GF, (uint32_t)(want >> 32));
	w8(d, CC_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK);
	return r8(d, CC_STATUS) & S_FEATURES_OK;
}

static void q_conf(struct dev *d, uint16_t q, uint16_t size, uint64_t desc, uint64_t av,
		   uint64_t us)
{
	w16(d, CC_Q_SELECT, q);
	w16(d, CC_Q_SIZE, size);
	w16(d, CC_Q_MSIX, NO_VECTOR);
	w64(d, CC_Q_DESC, desc);
	w64(d, CC_Q_AVAIL, av);
	w64(d, CC_Q_USED, us);
	w16(d, CC_Q_ENABLE, 1);
}

/* The other queues get well-formed empty rings of their own. */
static void q_conf_others(struct dev *d)
{
	for (uint16_t q = 0, k = 0; q < d->nq && k < 2; q++) {
		if (q == d->tq)
			continue;
		int b = 8 + 3 * k++;

		memset(pg[b].va, 0, PAGE);
		memset(pg[b + 1].va, 0, PAGE);
		memset(pg[b + 2].va, 0, PAGE);
		q_conf(d, q, QSIZE, PA(b, 0), PA(b + 1, 0), PA(b + 2, 0));
	}
}

/* Full bring-up with well-formed rings; false if the device refused. */
static bool dev_up(struct dev *d)
{
	/* virtio-blk: DISCARD and WRITE_ZEROES too, to abuse them */
	if (!dev_features(d, FEAT_INDIRECT | (d->id == ID_BLK ? 3ULL << 13 : 0)))
		return false;
	memset(pg[P_DESC].va, 0, PAGE);
	memset(pg[P_AVAIL].va, 0, PAGE);
	memset(pg[P_USED].va, 0, PAGE);
	d->avail_idx = d->used_seen = 0;
	q_conf(d, d->tq, QSIZE, PA(P_DESC, 0), PA(P_AVAIL, 0), PA(P_USED, 0));
	q_conf_others(d);
	w8(d, CC_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
	return (r8(d, CC_STATUS) & (S_DRIVER_OK | S_NEEDS_RESET)) == S_DRIVER_OK;
}

static void kick(struct dev *d)
{
	w16(d, NOTIFY_OFF + NOTIFY_MULT * d->tq, d->tq);
}

static void submit(struct dev *d, uint16_t head)
{
	avail()[2 + d->avail_idx % QSIZE] = head;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	avail()[1] = ++d->avail_idx;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	kick(d);
}

/* Wait for a completion or NEEDS_RESET; O_OK when used moved, O_NEEDS_RESET, O_IGNORED. */
static int wait_done(struct dev *d, unsigned ms)
{
	for (unsigned i = 0; i < ms; i++) {
		if (used()[1] != d->used_seen) {
			__atomic_thread_fence(__ATOMIC_SEQ_CST);
			d->used_seen++;
			return O_OK;
		}
		if (r8(d, CC_STATUS) & S_NEEDS_RESET)
			return O_NEEDS_RESET;
		msleep(1);
	}
	return O_IGNORED;
}

/* ---------- the well-formed request of each device ---------- */

/*
 * A vsock packet header at (h) from the guest's port 7000 to host port 1:
 * (op), payload (len); the cases edit the fields afterwards.
 */
static void vsock_hdr(const struct dev *d, uint8_t *h, uint16_t op, uint32_t len)
{
	uint64_t host = 2;
	uint32_t sport = 7000, dport = 1, buf_alloc = 65536;
	uint16_t type = 1;

	memset(h, 0, VSOCK_HDR);
	memcpy(h, &d->vsock_cid, 8);      /* src_cid */
	memcpy(h + 8, &host, 8);          /* dst_cid */
	memcpy(h + 16, &sport, 4);
	memcpy(h + 20, &dport, 4);
	memcpy(h + 24, &len, 4);
	memcpy(h + 28, &type, 2);         /* STREAM */
	memcpy(h + 30, &op, 2);
	memcpy(h + 36, &buf_alloc, 4);
}

static int good_chain(struct dev *d, struct desc *c, uint64_t sector, bool write)
{
	uint8_t *h = pg[P_HDR].va;

	switch (d->id) {
	case ID_BLK: {
		uint32_t type = write ? 1 : 0;

		memset(h, 0, 16);
		memcpy(h, &type, 4);
		memcpy(h + 8, &sector, 8);
		if (write)
			for (unsigned i = 0; i < SECTOR; i++)
				pg[P_DATA].va[i] = wr_byte(i);
		else
			memset(pg[P_DATA].va, 0, SECTOR);
		pg[P_STATUS].va[0] = 0xee;
		c[0] = (struct desc){ PA(P_HDR, 0), 16, F_NEXT, 1 };
		c[1] = (struct desc){ PA(P_DATA, 0), SECTOR, F_NEXT | (write ? 0 : F_WRITE), 2 };
		c[2] = (struct desc){ PA(P_STATUS, 0), 1, F_WRITE, 0 };
		return 3;
	}
	case ID_RNG:
		memset(pg[P_DATA].va, 0, 64);
		c[0] = (struct desc){ PA(P_DATA, 0), 64, F_WRITE, 0 };
		return 1;
	case ID_BALLOON: /* a free page report of our own page P_DATA: the host discards it */
		c[0] = (struct desc){ PA(P_DATA, 0), PAGE, F_WRITE, 0 };
		return 1;
	case ID_NET: {
		static const uint8_t frame[14] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x52, 0x54,
						   0, 0x12, 0x34, 0x56, 0x88, 0xb5 };
		memset(h, 0, 12 + 60);
		memcpy(h + 12, frame, sizeof(frame));
		c[0] = (struct desc){ PA(P_HDR, 0), 12 + 60, 0, 0 };
		return 1;
	}
	case ID_VSOCK: /* REQUEST to host port 1, where nobody listens: taken, answered by RST */
		vsock_hdr(d, h, VS_REQUEST, 0);
		c[0] = (struct desc){ PA(P_HDR, 0), VSOCK_HDR, 0, 0 };
		return 1;
	case ID_PMEM: /* a flush: le32 type 0 in, le32 result out */
		memset(h, 0, 4);
		memset(pg[P_STATUS].va, 0xee, 4);
		c[0] = (struct desc){ PA(P_HDR, 0), 4, F_NEXT, 1 };
		c[1] = (struct desc){ PA(P_STATUS, 0), 4, F_WRITE, 0 };
		return 2;
	case ID_FS: { /* FUSE_INIT 7.31 once, then GETATTR of the root (nodeid 1) */
		uint32_t in[14] = { 56, fs_inited ? 3 : 26 };

		memcpy(&in[2], &fuse_unique, 8);
		fuse_unique++;
		if (fs_inited)
			in[4] = 1; /* nodeid; getattr_in all zero */
		else
			in[10] = 7, in[11] = 31;
		memcpy(h, in, sizeof(in));
		memset(pg[P_DATA].va, 0xee, 256);
		c[0] = (struct desc){ PA(P_HDR, 0), 56, F_NEXT, 1 };
		c[1] = (struct desc){ PA(P_DATA, 0), 256, F_WRITE, 0 };
		return 2;
	}
	}
	return 0;
}

static void put_chain(const struct desc *c, int n)
{
	memset(pg[P_DESC].va, 0, 16 * QSIZE);
	for (int i = 0; i < n; i++)
		put_desc(pg[P_DESC].va, (unsigned)i, c[i]);
}

/* Outcome of a completed request of (d): O_OK or O_ERROR from its status. */
static int completion_status(struct dev *d)
{
	uint32_t len = used_elem(d->used_seen - 1)[1];

	switch (d->id) {
	case ID_BLK:
		return pg[P_STATUS].va[0] == 0 ? O_OK : O_ERROR;
	case ID_RNG:
		return len ? O_OK : O_ERROR;
	case ID_BALLOON:
		return len ? O_ERROR : O_OK; /* the device writes nothing */
	case ID_PMEM: {
		uint32_t res;

		memcpy(&res, pg[P_STATUS].va, 4);
		return len == 4 && res == 0 ? O_OK : O_ERROR;
	}
	case ID_FS: {
		int32_t err;

		memcpy(&err, pg[P_DATA].va + 4, 4);
		return len >= 16 && err == 0 && !memcmp(pg[P_DATA].va + 8, pg[P_HDR].va + 8, 8)
			       ? O_OK : O_ERROR;
	}
	}
	return O_OK;
}

/* Bring (d) up and run one good request; "" on success or why not. */
static const char *good_request(struct dev *d, bool write)
{
	struct desc c[4];
	int n, o;

	if (!dev_up(d))
		return "device refused a well-formed bring-up";
	n = good_chain(d, c, write ? GOOD_WRITE_SECTOR : GOOD_READ_SECTOR, write);
	put_chain(c, n);
	submit(d, 0);
	o = wait_done(d, 5000);
	if (o != O_OK)
		return o == O_NEEDS_RESET ? "good request: NEEDS_RESET" : "good request: no answer";
	if (completion_status(d) != O_OK)
		return "good request: error status";
	if (d->id == ID_BLK && !write)
		for (unsigned i = 0; i < SECTOR; i++)
			if (pg[P_DATA].va[i] != pat(GOOD_READ_SECTOR * SECTOR + i))
				return "good read: wrong bytes";
	if (d->id == ID_RNG) {
		bool nz = false;

		for (int i = 0; i < 64; i++)
			nz |= pg[P_DATA].va[i] != 0;
		if (!nz)
			return "rng: all zero";
	}
	if (d->id == ID_FS)
		fs_inited = true;
	return "";
}

/* ---------- reporting ---------- */

static void result(struct dev *d, const char *name, bool ok, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	cases++;
	if (!ok)
		failures++;
	printf("%s %s %s: %s\n", ok ? "PASS" : "FAIL", d->name, name, msg);
	fflush(stdout);
}

/* After a case: reset, a good request works. */
static void finish(struct dev *d, const char *name, int got, int allowed)
{
	const char *why;

	if (!(got & allowed)) {
		result(d, name, false, "outcome %s not allowed", oname[got]);
		dev_reset(d);
		return;
	}
	why = good_request(d, false);
	result(d, name, !*why, "%s%s%s", oname[got], *why ? "; recovery: " : ", recovered",
	       why);
	dev_reset(d);
}

/* ---------- descriptor cases (bring-up good, one bad chain) ---------- */

typedef int (*chain_fn)(struct dev *d, struct desc *c, int n);

static uint64_t dev_bar_addr(struct dev *d)
{
	return d->bar0 & ~0xfULL;
}

/* each returns the head to submit, after editing the good chain (c, n) */
static int m_loop2(struct dev *d, struct desc *c, int n)
{
	c[0] = (struct desc){ c[0].addr, c[0].len, c[0].flags | F_NEXT, 1 };
	c[1] = (struct desc){ c[0].addr, c[0].len, c[0].flags | F_NEXT, 0 };
	put_chain(c, 2);
	return 0;
}

static int m_selfloop(struct dev *d, struct desc *c, int n)
{
	c[0].flags |= F_NEXT;
	c[0].next = 0;
	put_chain(c, 1);
	return 0;
}

static int m_long(struct dev *d, struct desc *c, int n)
{
	struct desc t[QSIZE];

	for (int i = 0; i < QSIZE; i++)
		t[i] = (struct desc){ c[0].addr, 1, (uint16_t)(F_NEXT | (c[0].flags & F_WRITE)),
				      (uint16_t)((i + 1) % QSIZE) };
	put_chain(t, QSIZE);
	return 0;
}

static int m_next_oob(struct dev *d, struct desc *c, int n)
{
	c[0].flags |= F_NEXT;
	c[0].next = 200;
	put_chain(c, n);
	return 0;
}

static int m_head_oob(struct dev *d, struct desc *c, int n)
{
	put_chain(c, n);
	return 4000;
}

static int m_addr(struct dev *d, struct desc *c, int n, uint64_t addr, uint32_t len)
{
	int k = n > 1 ? 1 : 0; /* the data buffer */

	c[k].addr = addr;
	c[k].len = len;
	put_chain(c, n);
	return 0;
}

static int m_beyond_ram(struct dev *d, struct desc *c, int n)
{
	return m_addr(d, c, n, BEYOND_RAM, SECTOR);
}

static int m_mmio_hole(struct dev *d, struct desc *c, int n)
{
	return m_addr(d, c, n, dev_bar_addr(d), SECTOR); /* DMA onto its own BAR */
}

/* A buffer in the pmem window: guest memory, but not RAM, and read-only on the host. */
static int m_pmem_window(struct dev *d, struct desc *c, int n)
{
	return m_addr(d, c, n, pmem_window, SECTOR);
}

static int m_wrap(struct dev *d, struct desc *c, int n)
{
	return m_addr(d, c, n, 0xfffffffffffff800ULL, 0x1000);
}

static int m_huge_len(struct dev *d, struct desc *c, int n)
{
	return m_addr(d, c, n, PA(P_DATA, 0), 0xfffff000u);
}

static int m_straddle_ram_end(struct dev *d, struct desc *c, int n)
{
	return m_addr(d, c, n, PA(P_DATA, 0), 0x80000000u); /* 2 GiB from a real page */
}

/* Indirect tables in page P_IND. */
static int put_ind(const struct desc *t, int n, uint32_t len, uint16_t flags)
{
	struct desc h = { PA(P_IND, 0), len, (uint16_t)(F_INDIRECT | flags), 0 };

	memset(pg[P_IND].va, 0, PAGE);
	for (int i = 0; i < n; i++)
		put_desc(pg[P_IND].va, (unsigned)i, t[i]);
	put_chain(&h, 1);
	return 0;
}

static int m_ind_good(struct dev *d, struct desc *c, int n)
{
	return put_ind(c, n, 16 * (uint32_t)n, 0);
}

static int m_ind_loop(struct dev *d, struct desc *c, int n)
{
	c[0].flags |= F_NEXT;
	c[0].next = 1;
	c[1] = c[0];
	c[1].next = 0;
	return put_ind(c, 2, 32, 0);
}

static int m_ind_nested(struct dev *d, struct desc *c, int n)
{
	struct desc t[1] = { { PA(P_IND, 0), 16 * (uint32_t)n, F_INDIRECT, 0 } };

	return put_ind(t, 1, 16, 0);
}

static int m_ind_len_odd(struct dev *d, struct desc *c, int n)
{
	return put_ind(c, n, 16 * (uint32_t)n + 3, 0);
}

static int m_ind_len_zero(struct dev *d, struct desc *c, int n)
{
	return put_ind(c, n, 0, 0);
}

static int m_ind_too_big(struct dev *d, struct desc *c, int n)
{
	return put_ind(c, n, 16 * 200, 0); /* 200 entries, queue of 16 */
}

static int m_ind_beyond_ram(struct dev *d, struct desc *c, int n)
{
	struct desc h = { BEYOND_RAM, 16, F_INDIRECT, 0 };

	put_chain(&h, 1);
	return 0;
}

static int m_ind_next_oob(struct dev *d, struct desc *c, int n)
{
	c[0].flags |= F_NEXT;
	c[0].next = 9;
	return put_ind(c, n, 16 * (uint32_t)n, 0);
}

static int m_ind_with_next(struct dev *d, struct desc *c, int n)
{
	return put_ind(c, n, 16 * (uint32_t)n, F_NEXT);
}

/* blk only */
static int m_ro_after_wo(struct dev *d, struct desc *c, int n)
{
	c[2].flags = 0; /* status readable, after a writable data buffer */
	put_chain(c, n);
	return 0;
}

static int m_hdr_writable(struct dev *d, struct desc *c, int n)
{
	c[0].flags |= F_WRITE; /* the header is device-writable: nothing readable */
	put_chain(c, n);
	return 0;
}

static bool data_must_stay_zero; /* the device may not write the data buffer */

static int m_read_into_ro(struct dev *d, struct desc *c, int n)
{
	c[1].flags &= (uint16_t)~F_WRITE; /* IN request whose data buffer is read-only */
	data_must_stay_zero = true;
	put_chain(c, n);
	return 0;
}

static int m_status_ro_only(struct dev *d, struct desc *c, int n)
{
	c[1].flags = 0; /* every descriptor readable: no status byte to write */
	c[1].next = 0;
	put_chain(c, 2);
	return 0;
}

static int m_sector(struct dev *d, struct desc *c, int n, uint64_t s, uint32_t type)
{
	memcpy(pg[P_HDR].va, &type, 4);
	memcpy(pg[P_HDR].va + 8, &s, 8);
	if (type == 1)
		c[1].flags &= (uint16_t)~F_WRITE;
	put_chain(c, n);
	return 0;
}

static int m_write_past_end(struct dev *d, struct desc *c, int n)
{
	return m_sector(d, c, n, d->blk_sectors, 1);
}

static int m_write_huge_sector(struct dev *d, struct desc *c, int n)
{
	return m_sector(d, c, n, 1ULL << 63, 1);
}

static int m_read_straddle_end(struct dev *d, struct desc *c, int n)
{
	c[1].len = 2 * SECTOR;
	return m_sector(d, c, n, d->blk_sectors - 1, 0);
}

static int m_write_wraps(struct dev *d, struct desc *c, int n)
{
	c[1].len = 2 * SECTOR;
	return m_sector(d, c, n, UINT64_MAX, 1); /* sector * 512 + len wraps */
}

static int m_bad_type(struct dev *d, struct desc *c, int n)
{
	return m_sector(d, c, n, 0, 0x1234);
}

static int m_short_hdr(struct dev *d, struct desc *c, int n)
{
	c[0].len = 7;
	put_chain(c, n);
	return 0;
}

static int m_zero_len_data(struct dev *d, struct desc *c, int n)
{
	c[1].len = 0;
	put_chain(c, n);
	return 0;
}

static int m_zero_len_status(struct dev *d, struct desc *c, int n)
{
	c[2].len = 0;
	put_chain(c, n);
	return 0;
}

static int m_odd_len(struct dev *d, struct desc *c, int n)
{
	c[1].len = 100; /* not a sector multiple */
	put_chain(c, n);
	return 0;
}

static int m_overlap_ring(struct dev *d, struct desc *c, int n)
{
	c[1].addr = PA(P_DESC, 0); /* read the disk into the descriptor table itself */
	put_chain(c, n);
	return 0;
}

static int m_overlap_hdr(struct dev *d, struct desc *c, int n)
{
	c[1].addr = PA(P_HDR, 0); /* the data buffer overlaps header and status */
	c[2].addr = PA(P_HDR, 4);
	put_chain(c, n);
	return 0;
}

/* DISCARD (11) / WRITE_ZEROES (13) with segment (sector, num, flags) of (seglen) bytes */
static int m_zero(struct desc *c, uint32_t type, uint64_t sector, uint32_t num, uint32_t flags,
		  uint32_t seglen)
{
	uint8_t *seg = pg[P_DATA].va;

	memcpy(pg[P_HDR].va, &type, 4);
	memset(seg, 0, 32);
	for (unsigned off = 0; off < 32; off += 16) {
		memcpy(seg + off, &sector, 8);
		memcpy(seg + off + 8, &num, 4);
		memcpy(seg + off + 12, &flags, 4);
	}
	c[1].len = seglen;
	c[1].flags = F_NEXT;
	put_chain(c, 3);
	return 0;
}

static int m_discard_past_end(struct dev *d, struct desc *c, int n)
{
	return m_zero(c, 11, d->blk_sectors - 1, 2, 0, 16);
}

static int m_wz_huge_sector(struct dev *d, struct desc *c, int n)
{
	return m_zero(c, 13, 1ULL << 63, 8, 0, 16);
}

static int m_wz_sector_wraps(struct dev *d, struct desc *c, int n)
{
	return m_zero(c, 13, UINT64_MAX - 1, 8, 1, 16);
}

static int m_discard_unmap(struct dev *d, struct desc *c, int n)
{
	return m_zero(c, 11, 0, 1, 1, 16);
}

static int m_wz_bad_flags(struct dev *d, struct desc *c, int n)
{
	return m_zero(c, 13, 0, 1, 0xfffffffe, 16);
}

static int m_wz_two_segs(struct dev *d, struct desc *c, int n)
{
	return m_zero(c, 13, 0, 1, 0, 32);
}

static int m_wz_huge_count(struct dev *d, struct desc *c, int n)
{
	return m_zero(c, 13, 0, 0xffffffffu, 0, 16);
}

static int m_get_id_tiny(struct dev *d, struct desc *c, int n)
{
	uint32_t type = 8;

	memcpy(pg[P_HDR].va, &type, 4);
	c[1].len = 1;
	put_chain(c, n);
	return 0;
}

/* net/rng */
static int m_net_short(struct dev *d, struct desc *c, int n)
{
	c[0].len = 5; /* shorter than the virtio-net header */
	put_chain(c, n);
	return 0;
}

/* vsock: the good REQUEST with one header field at (off) of (size) bytes set to (v). */
static int m_vsock_field(struct desc *c, int n, unsigned off, unsigned size, uint64_t v)
{
	memcpy(pg[P_HDR].va + off, &v, size);
	put_chain(c, n);
	return 0;
}

static int m_vsock_len_beyond_chain(struct dev *d, struct desc *c, int n)
{
	vsock_hdr(d, pg[P_HDR].va, VS_RW, 4096); /* no payload descriptor at all */
	return m_vsock_field(c, n, 24, 4, 4096);
}

static int m_vsock_len_huge(struct dev *d, struct desc *c, int n)
{
	vsock_hdr(d, pg[P_HDR].va, VS_RW, 0);
	c[0].flags = F_NEXT;
	c[0].next = 1;
	c[1] = (struct desc){ PA(P_DATA, 0), PAGE, 0, 0 };
	return m_vsock_field(c, 2, 24, 4, 0xffffffffULL);
}

static int m_vsock_op_invalid(struct dev *d, struct desc *c, int n)
{
	return m_vsock_field(c, n, 30, 2, 0);
}

static int m_vsock_op_unknown(struct dev *d, struct desc *c, int n)
{
	return m_vsock_field(c, n, 30, 2, 200);
}

static int m_vsock_spoofed_cid(struct dev *d, struct desc *c, int n)
{
	return m_vsock_field(c, n, 0, 8, d->vsock_cid + 1);
}

static int m_vsock_other_guest(struct dev *d, struct desc *c, int n)
{
	return m_vsock_field(c, n, 8, 8, d->vsock_cid + 1);
}

static int m_vsock_seqpacket(struct dev *d, struct desc *c, int n)
{
	return m_vsock_field(c, n, 28, 2, 2);
}

static int m_vsock_bad_flags(struct dev *d, struct desc *c, int n)
{
	return m_vsock_field(c, n, 32, 4, 0xffffffffULL);
}

static int m_vsock_rw_no_conn(struct dev *d, struct desc *c, int n)
{
	vsock_hdr(d, pg[P_HDR].va, VS_RW, 100);
	c[0].flags = F_NEXT;
	c[0].next = 1;
	c[1] = (struct desc){ PA(P_DATA, 0), 100, 0, 0 };
	put_chain(c, 2);
	return 0;
}

static int m_vsock_short(struct dev *d, struct desc *c, int n)
{
	c[0].len = 20;
	put_chain(c, n);
	return 0;
}

/* The good REQUEST with its header over three descriptors: must be taken as usual. */
static int m_vsock_split(struct dev *d, struct desc *c, int n)
{
	c[0] = (struct desc){ PA(P_HDR, 0), 7, F_NEXT, 1 };
	c[1] = (struct desc){ PA(P_HDR, 7), 30, F_NEXT, 2 };
	c[2] = (struct desc){ PA(P_HDR, 37), VSOCK_HDR - 37, 0, 0 };
	put_chain(c, 3);
	return 0;
}

static int m_flag_flip(struct dev *d, struct desc *c, int n)
{
	c[0].flags ^= F_WRITE; /* rng: readable buffer; net tx: writable buffer */
	put_chain(c, n);
	return 0;
}

struct chain_case {
	const char *name;
	chain_fn fn;
	unsigned devs; /* bit per device id; 0 = all */
	int allowed;
};

#define B (1u << ID_BLK)
#define R (1u << ID_RNG)
#define N (1u << ID_NET)
#define V (1u << ID_VSOCK)
#define BAD (O_NEEDS_RESET | O_ERROR)
#define ANY (O_NEEDS_RESET | O_ERROR | O_OK)

static const struct chain_case chain_cases[] = {
	{ "desc-loop", m_loop2, 0, O_NEEDS_RESET },
	{ "desc-self-loop", m_selfloop, 0, O_NEEDS_RESET },
	{ "chain-longer-than-queue", m_long, 0, O_NEEDS_RESET },
	{ "next-out-of-range", m_next_oob, 0, O_NEEDS_RESET },
	{ "avail-head-out-of-range", m_head_oob, 0, O_NEEDS_RESET },
	{ "addr-beyond-ram", m_beyond_ram, 0, O_NEEDS_RESET },
	{ "addr-in-mmio-hole", m_mmio_hole, 0, O_NEEDS_RESET },
	{ "addr-in-pmem-window", m_pmem_window, 0, O_NEEDS_RESET }, /* with a pmem device */
	{ "addr-wraps-2^64", m_wrap, 0, O_NEEDS_RESET },
	{ "huge-len", m_huge_len, 0, O_NEEDS_RESET },
	{ "len-2GiB-past-ram", m_straddle_ram_end, 0, O_NEEDS_RESET },
	{ "indirect-good", m_ind_good, 0, O_OK },
	{ "indirect-loop", m_ind_loop, 0, O_NEEDS_RESET },
	{ "indirect-in-indirect", m_ind_nested, 0, O_NEEDS_RESET },
	{ "indirect-len-not-16x", m_ind_len_odd, 0, O_NEEDS_RESET },
	{ "indirect-len-zero", m_ind_len_zero, 0, O_NEEDS_RESET },
	{ "indirect-larger-than-queue", m_ind_too_big, 0, O_NEEDS_RESET },
	{ "indirect-table-beyond-ram", m_ind_beyond_ram, 0, O_NEEDS_RESET },
	{ "indirect-next-out-of-range", m_ind_next_oob, 0, O_NEEDS_RESET },
	{ "indirect-with-next", m_ind_with_next, 0, O_NEEDS_RESET },
	{ "readable-after-writable", m_ro_after_wo, B, O_NEEDS_RESET },
	{ "header-device-writable", m_hdr_writable, B, BAD },
	{ "read-into-readonly-buffer", m_read_into_ro, B, ANY },
	{ "no-writable-status", m_status_ro_only, B, BAD },
	{ "write-past-capacity", m_write_past_end, B, O_ERROR },
	{ "write-sector-2^63", m_write_huge_sector, B, O_ERROR },
	{ "read-straddles-end", m_read_straddle_end, B, O_ERROR },
	{ "write-offset-wraps", m_write_wraps, B, O_ERROR },
	{ "unknown-request-type", m_bad_type, B, O_ERROR },
	{ "short-header", m_short_hdr, B, BAD },
	{ "discard-past-capacity", m_discard_past_end, B, O_ERROR },
	{ "write-zeroes-sector-2^63", m_wz_huge_sector, B, O_ERROR },
	{ "write-zeroes-offset-wraps", m_wz_sector_wraps, B, O_ERROR },
	{ "discard-with-unmap", m_discard_unmap, B, O_ERROR },
	{ "write-zeroes-bad-flags", m_wz_bad_flags, B, O_ERROR },
	{ "write-zeroes-two-segments", m_wz_two_segs, B, O_ERROR },
	{ "write-zeroes-huge-count", m_wz_huge_count, B, O_ERROR },
	{ "get-id-1-byte-buffer", m_get_id_tiny, B, ANY },
	{ "zero-len-data", m_zero_len_data, B, ANY },
	{ "zero-len-status", m_zero_len_status, B, BAD },
	{ "len-not-sector-multiple", m_odd_len, B, BAD },
	{ "read-into-desc-table", m_overlap_ring, B, ANY },
	{ "data-overlaps-header", m_overlap_hdr, B, ANY },
	{ "short-net-header", m_net_short, N, ANY },
	{ "wrong-direction", m_flag_flip, R | N | V, BAD | O_OK },
	/* vsock: a bad packet is taken and answered with an RST, never a broken device */
	{ "vsock-len-beyond-chain", m_vsock_len_beyond_chain, V, O_OK },
	{ "vsock-len-2^32-1", m_vsock_len_huge, V, O_OK },
	{ "vsock-op-invalid", m_vsock_op_invalid, V, O_OK },
	{ "vsock-op-unknown", m_vsock_op_unknown, V, O_OK },
	{ "vsock-spoofed-src-cid", m_vsock_spoofed_cid, V, O_OK },
	{ "vsock-to-another-guest", m_vsock_other_guest, V, O_OK },
	{ "vsock-seqpacket-type", m_vsock_seqpacket, V, O_OK },
	{ "vsock-bad-flags", m_vsock_bad_flags, V, O_OK },
	{ "vsock-data-without-connection", m_vsock_rw_no_conn, V, O_OK },
	{ "vsock-short-header", m_vsock_short, V, O_OK },
	{ "vsock-header-in-3-pieces", m_vsock_split, V, O_OK },
};

static void run_chain_case(struct dev *d, const struct chain_case *cc)
{
	struct desc c[8];
	int n, head, got;

	if (cc->fn == m_pmem_window && !pmem_window)
		return;
	if (!dev_up(d)) {
		result(d, cc->name, false, "bring-up refused");
		return;
	}
	n = good_chain(d, c, GOOD_READ_SECTOR, false);
	head = cc->fn(d, c, n);
	submit(d, (uint16_t)head);
	got = wait_done(d, 2000);
	if (got == O_OK)
		got = completion_status(d);
	if (got == O_OK && (r8(d, CC_STATUS) & S_NEEDS_RESET))
		got = O_NEEDS_RESET;
	if (data_must_stay_zero) {
		data_must_stay_zero = false;
		for (unsigned i = 0; i < SECTOR; i++)
			if (pg[P_DATA].va[i]) {
				dev_reset(d);
				return result(d, cc->name, false, "device wrote a read-only buffer");
			}
	}
	finish(d, cc->name, got, cc->allowed);
}

/*
 * Balloon: inflate PFNs that are not RAM (the MMIO hole, past RAM, 2^32 - 1)
 * and a whole page of PFNs far beyond what the VM has: taken (used length
 * 0), refused on the host, the device working on. Queue 0, the inflate queue.
 */
static void case_balloon_inflate(struct dev *d)
{
	const char *n = "balloon-inflate-hostile-pfns";
	uint32_t *pfn = (uint32_t *)pg[P_HDR].va;
	uint16_t tq = d->tq;
	int got;

	d->tq = 0;
	if (!dev_up(d)) {
		d->tq = tq;
		return result(d, n, false, "bring-up refused");
	}
	for (unsigned i = 0; i < PAGE / 4; i++)
		pfn[i] = 0xffffffffu - i; /* 16 TiB: nowhere near RAM */
	pfn[0] = (uint32_t)(dev_bar_addr(d) >> 12); /* its own BAR, in the MMIO hole */
	pfn[1] = 0xc0000;                           /* 3 GiB: the hole */
	pfn[2] = (uint32_t)(BEYOND_RAM >> 12);
	pfn[3] = (uint32_t)(PA(P_DATA, 0) >> 12);   /* one real page of ours */
	put_desc(pg[P_DESC].va, 0, (struct desc){ PA(P_HDR, 0), PAGE, 0, 0 });
	submit(d, 0);
	got = wait_done(d, 2000);
	if (got == O_OK && used_elem(d->used_seen - 1)[1])
		got = O_ERROR;
	d->tq = tq;
	finish(d, n, got, O_OK);
}

/* avail.idx far ahead of the device: more entries than the queue holds. */
static void case_avail_jump(struct dev *d)
{
	struct desc c[8];
	int n;

	if (!dev_up(d))
		return result(d, "avail-idx-jump", false, "bring-up refused");
	n = good_chain(d, c, GOOD_READ_SECTOR, false);
	put_chain(c, n);
	d->avail_idx += 1000;
	submit(d, 0);
	finish(d, "avail-idx-jump", wait_done(d, 2000), O_NEEDS_RESET);
}

/* ---------- virtio-pmem ---------- */

/*
 * The request buffers of the pmem cases: the type at P_HDR, the result at
 * P_STATUS, pieces of either at offsets 0 and 64 of their page. The rest of
 * the first 128 bytes is junk (0xff around the type, PMEM_UNTOUCHED's byte
 * around the result) that the device must neither take for the type nor
 * overwrite.
 */
#define PMEM_BUF 128
#define PMEM_PIECE 64
#define PMEM_MAP_MAX (64u << 20) /* the most of the window case maps */

struct pmem_case {
	const char *name;
	int (*fn)(struct desc *c); /* edits the flush chain (c) and buffers; its length */
	uint32_t len, res;         /* the used length and le32 result wanted */
	bool split;                /* the result in pieces: 1 byte at 0, 3 bytes at PMEM_PIECE */
};

static void pmem_type_at(unsigned off, uint32_t type, unsigned len)
{
	memcpy(pg[P_HDR].va + off, &type, len);
}

static int pm_unknown_type(struct desc *c)
{
	pmem_type_at(0, 7, 4);
	return 2;
}

/* Type 0 as 2 + 2 bytes with 0xff right after each piece: reading past a piece is not 0. */
static int pm_pieces(struct desc *c)
{
	pmem_type_at(PMEM_PIECE, 0, 2);
	c[0] = (struct desc){ PA(P_HDR, 0), 2, F_NEXT, 1 };
	c[1] = (struct desc){ PA(P_HDR, PMEM_PIECE), 2, F_NEXT, 2 };
	c[2] = (struct desc){ PA(P_STATUS, 0), 1, F_NEXT | F_WRITE, 3 };
	c[3] = (struct desc){ PA(P_STATUS, PMEM_PIECE), 3, F_WRITE, 0 };
	return 4;
}

/* Type 7 << 16 as 2 + 2 bytes with zeros after the first: reading past it sees a flush. */
static int pm_unknown_pieces(struct desc *c)
{
	pmem_type_at(0, 0, 4);
	pmem_type_at(PMEM_PIECE, 7, 2);
	c[0] = (struct desc){ PA(P_HDR, 0), 2, F_NEXT, 1 };
	c[1] = (struct desc){ PA(P_HDR, PMEM_PIECE), 2, F_NEXT, 2 };
	c[2] = (struct desc){ PA(P_STATUS, 0), 4, F_WRITE, 0 };
	return 3;
}

static int pm_no_writable(struct desc *c)
{
	c[0].flags = 0;
	return 1;
}

static int pm_result_3(struct desc *c)
{
	c[1].len = 3;
	return 2;
}

static int pm_result_0(struct desc *c)
{
	c[1].len = 0;
	return 2;
}

static int pm_result_8(struct desc *c)
{
	c[1].len = 8;
	return 2;
}

static int pm_short_type(struct desc *c)
{
	c[0].len = 3;
	return 2;
}

static int pm_type_writable(struct desc *c)
{
	c[0].flags |= F_WRITE; /* nothing device-readable: no type */
	return 2;
}

static const struct pmem_case pmem_cases_tab[] = {
	{ "pmem-unknown-request-type", pm_unknown_type, 4, PMEM_RESP_EIO, false },
	{ "pmem-type-and-result-in-pieces", pm_pieces, 4, 0, true },
	{ "pmem-unknown-type-in-pieces", pm_unknown_pieces, 4, PMEM_RESP_EIO, false },
	{ "pmem-no-writable-part", pm_no_writable, 0, PMEM_UNTOUCHED, false },
	{ "pmem-result-3-bytes", pm_result_3, 0, PMEM_UNTOUCHED, false },
	{ "pmem-result-zero-length", pm_result_0, 0, PMEM_UNTOUCHED, false },
	{ "pmem-result-8-bytes", pm_result_8, 4, 0, false },
	{ "pmem-type-3-bytes", pm_short_type, 0, PMEM_UNTOUCHED, false },
	{ "pmem-type-device-writable", pm_type_writable, 0, PMEM_UNTOUCHED, false },
};

/* The le32 result at P_STATUS, from its two pieces when (split). */
static uint32_t pmem_result(bool split)
{
	const uint8_t *s = pg[P_STATUS].va;
	uint32_t r;

	if (!split) {
		memcpy(&r, s, 4);
		return r;
	}
	return s[0] | (uint32_t)s[PMEM_PIECE] << 8 | (uint32_t)s[PMEM_PIECE + 1] << 16 |
	       (uint32_t)s[PMEM_PIECE + 2] << 24;
}

/* True if the device wrote a junk byte around the result. */
static bool pmem_overrun(bool split)
{
	const uint8_t *s = pg[P_STATUS].va;

	for (unsigned i = 0; i < PMEM_BUF; i++) {
		bool res = split ? i == 0 || (i >= PMEM_PIECE && i < PMEM_PIECE + 3) : i < 4;

		if (!res && s[i] != (uint8_t)PMEM_UNTOUCHED)
			return true;
	}
	return false;
}

/* One request: completed with the used length, result and untouched junk wanted. */
static void run_pmem_case(struct dev *d, const struct pmem_case *pc)
{
	uint8_t hdr[PMEM_BUF];
	struct desc c[4];
	uint32_t len, res;
	int n, got;

	if (!dev_up(d))
		return result(d, pc->name, false, "bring-up refused");
	good_chain(d, c, 0, false);
	memset(pg[P_HDR].va, 0xff, PMEM_BUF);
	pmem_type_at(0, PMEM_REQ_FLUSH, 2); /* bytes 2-3 are 0xff: pm_pieces reads past it */
	memset(pg[P_STATUS].va, (uint8_t)PMEM_UNTOUCHED, PMEM_BUF);
	if (pc->fn != pm_pieces)
		pmem_type_at(0, PMEM_REQ_FLUSH, 4);
	n = pc->fn(c);
	memcpy(hdr, pg[P_HDR].va, sizeof(hdr));
	put_chain(c, n);
	submit(d, 0);
	got = wait_done(d, 2000);
	if (got == O_OK && (r8(d, CC_STATUS) & S_NEEDS_RESET))
		got = O_NEEDS_RESET;
	if (got != O_OK) {
		result(d, pc->name, false, "%s, want completed with used length %u", oname[got],
		       pc->len);
		dev_reset(d);
		return;
	}
	len = used_elem(d->used_seen - 1)[1];
	res = pmem_result(pc->split);
	if (len != pc->len || res != pc->res || pmem_overrun(pc->split) ||
	    memcmp(hdr, pg[P_HDR].va, sizeof(hdr))) {
		result(d, pc->name, false, "used length %u, result %#x%s%s; want %u, %#x", len, res,
		       pmem_overrun(pc->split) ? ", wrote past the result" : "",
		       memcmp(hdr, pg[P_HDR].va, sizeof(hdr)) ? ", wrote the type" : "", pc->len,
		       pc->res);
		dev_reset(d);
		return;
	}
	finish(d, pc->name, pc->len && !pc->res ? O_OK : O_ERROR, O_OK | O_ERROR);
}

/* Eight flushes published at once, one kick: each completes once, result 0. */
static void case_pmem_burst(struct dev *d)
{
	const char *n = "pmem-8-flushes-at-once";
	uint16_t seen = 0;
	int k = O_IGNORED;

	if (!dev_up(d))
		return result(d, n, false, "bring-up refused");
	memset(pg[P_HDR].va, 0, 4);
	memset(pg[P_STATUS].va, (uint8_t)PMEM_UNTOUCHED, 64);
	for (uint16_t i = 0; i < 8; i++) {
		put_desc(pg[P_DESC].va, 2u * i,
			 (struct desc){ PA(P_HDR, 0), 4, F_NEXT, (uint16_t)(2 * i + 1) });
		put_desc(pg[P_DESC].va, 2u * i + 1,
			 (struct desc){ PA(P_STATUS, 8 * i), 4, F_WRITE, 0 });
		avail()[2 + i] = (uint16_t)(2 * i);
	}
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	avail()[1] = d->avail_idx = 8;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	kick(d);
	for (int ms = 0; ms < 2000 && k == O_IGNORED; ms++) {
		if (used()[1] == 8)
			k = O_OK;
		else if (r8(d, CC_STATUS) & S_NEEDS_RESET)
			k = O_NEEDS_RESET;
		else
			msleep(1);
	}
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	d->used_seen = used()[1];
	for (unsigned i = 0; k == O_OK && i < 8; i++) {
		uint32_t id = used_elem(i)[0], len = used_elem(i)[1], res;

		memcpy(&res, pg[P_STATUS].va + 8 * (id / 2), 4);
		if (id >= 16 || (id & 1) || (seen & (1u << id)) || len != 4 || res != 0) {
			dev_reset(d);
			return result(d, n, false, "used entry %u: head %u, length %u, result %#x",
				      i, id, len, res);
		}
		seen |= (uint16_t)(1u << id);
	}
	finish(d, n, k, O_OK);
}

/* The config space: le64 start and le64 size of the window (virtio 1.2 §5.19.4). */
static void case_pmem_config(struct dev *d)
{
	const char *n = "pmem-config-region";
	uint64_t start = r64(d, DEVCFG_OFF), size = r64(d, DEVCFG_OFF + 8);
	uint64_t start32 = r32(d, DEVCFG_OFF) | (uint64_t)r32(d, DEVCFG_OFF + 4) << 32;
	uint64_t size32 = r32(d, DEVCFG_OFF + 8) | (uint64_t)r32(d, DEVCFG_OFF + 12) << 32;
	const char *why = "";

	printf("# %s: window at %#llx, %llu MiB\n", d->name, (unsigned long long)start,
	       (unsigned long long)(size >> 20));
	if (!start || start % PMEM_ALIGN)
		why = "start zero or not 2 MiB aligned";
	else if (!size || size % PMEM_ALIGN || start + size < start)
		why = "size zero, not a multiple of 2 MiB, or past 2^64";
	else if (start32 != start || size32 != size)
		why = "32-bit reads differ from 64-bit ones";
	result(d, n, !*why, "%s", *why ? why : "start and size 2 MiB aligned");
}

/* Writes of every width to the config space of a live device: ignored, flushes go on. */
static void case_pmem_config_write(struct dev *d)
{
	const char *n = "pmem-config-write";
	uint64_t start = r64(d, DEVCFG_OFF), size = r64(d, DEVCFG_OFF + 8);
	struct desc c[4];
	int k;

	if (!dev_up(d))
		return result(d, n, false, "bring-up refused");
	w64(d, DEVCFG_OFF, PA(P_DATA, 0)); /* the window onto a page of ours */
	w64(d, DEVCFG_OFF + 8, ~0ULL);
	w32(d, DEVCFG_OFF + 4, 0);
	w32(d, DEVCFG_OFF + 12, 0xffffffff);
	w16(d, DEVCFG_OFF + 2, 0x1234);
	for (unsigned i = 0; i < 16; i++)
		w8(d, DEVCFG_OFF + i, 0x5a);
	if (r64(d, DEVCFG_OFF) != start || r64(d, DEVCFG_OFF + 8) != size) {
		dev_reset(d);
		return result(d, n, false, "config changed: start %#llx, size %#llx",
			      (unsigned long long)r64(d, DEVCFG_OFF),
			      (unsigned long long)r64(d, DEVCFG_OFF + 8));
	}
	k = good_chain(d, c, 0, false);
	put_chain(c, k);
	submit(d, 0);
	k = wait_done(d, 5000);
	if (k != O_OK || completion_status(d) != O_OK) {
		dev_reset(d);
		return result(d, n, false, "the live queue broke");
	}
	finish(d, n, O_IGNORED, O_IGNORED);
}

/*
 * The window itself, through /dev/mem: the kernel lets root map a range that
 * is not RAM and that no driver holds (CONFIG_IO_STRICT_DEVMEM; ours was
 * unbound). It must show the image (pat(), with --pmem-pattern), and stores
 * into it, a read-only memory slot (KVM exits, agentvmm drops them), must
 * not stick. Skipped, with a line saying why, where /dev/mem refuses.
 */
static void case_pmem_window(struct dev *d)
{
	const char *n = "pmem-window-write";
	uint64_t start = r64(d, DEVCFG_OFF), size = r64(d, DEVCFG_OFF + 8);
	size_t len = size < PMEM_MAP_MAX ? (size_t)size : PMEM_MAP_MAX;
	volatile uint8_t *w;
	uint8_t *before;
	const char *why = "";
	void *map;
	int fd, e;

	dev_reset(d);
	fd = open("/dev/mem", O_RDWR | O_SYNC);
	if (fd < 0) {
		printf("# %s %s: skipped: /dev/mem: %s\n", d->name, n, strerror(errno));
		return;
	}
	map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)start);
	e = errno;
	close(fd);
	if (map == MAP_FAILED) {
		printf("# %s %s: skipped: mmap of /dev/mem at %#llx: %s\n", d->name, n,
		       (unsigned long long)start, strerror(e));
		return;
	}
	w = map;
	before = malloc(len);
	if (!before) {
		munmap(map, len);
		return result(d, n, false, "out of memory");
	}
	for (size_t o = 0; o < len; o += 8)
		*(uint64_t *)(before + o) = *(volatile uint64_t *)(w + o);
	for (size_t o = 0; pmem_pattern && o < len && !*why; o++)
		if (before[o] != pat(o))
			why = "the window does not show the image";
	if (!*why) {
		/* plain stores (mov), which KVM emulates; one per page, odd widths in the first */
		for (size_t o = 0; o < len; o += PAGE)
			*(volatile uint64_t *)(w + o) = ~*(uint64_t *)(before + o);
		w[1] = (uint8_t)~before[1];
		*(volatile uint16_t *)(w + 2) = (uint16_t)~before[2];
		*(volatile uint32_t *)(w + 4) = ~(uint32_t)before[4];
		*(volatile uint64_t *)(w + len - 8) = ~*(uint64_t *)(before + len - 8);
		for (size_t o = 0; o < len && !*why; o += 8)
			if (*(volatile uint64_t *)(w + o) != *(uint64_t *)(before + o))
				why = "a store to the read-only window stuck";
	}
	munmap(map, len);
	free(before);
	if (*why) {
		dev_reset(d);
		return result(d, n, false, "%s", why);
	}
	printf("# %s %s: %zu KiB mapped at %#llx, %zu stores dropped\n", d->name, n, len >> 10,
	       (unsigned long long)start, len / PAGE + 4);
	finish(d, n, O_IGNORED, O_IGNORED);
}

static void pmem_cases(struct dev *d)
{
	for (size_t i = 0; i < sizeof(pmem_cases_tab) / sizeof(pmem_cases_tab[0]); i++)
		run_pmem_case(d, &pmem_cases_tab[i]);
	case_pmem_burst(d);
	case_pmem_config(d);
	case_pmem_config_write(d);
	case_pmem_window(d);
}

/* ---------- transport cases ---------- */

/* Bring-up with queue geometry (size, desc, avail, used); DRIVER_OK must give NEEDS_RESET. */
static void geometry(struct dev *d, const char *name, uint16_t size, uint64_t ds, uint64_t av,
		     uint64_t us)
{
	int got;

	if (!dev_features(d, FEAT_INDIRECT))
		return result(d, name, false, "features refused");
	q_conf(d, d->tq, size, ds, av, us);
	q_conf_others(d);
	w8(d, CC_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
	got = r8(d, CC_STATUS) & S_NEEDS_RESET ? O_NEEDS_RESET : O_OK;
	finish(d, name, got, O_NEEDS_RESET);
}

static void geometry_cases(struct dev *d)
{
	uint64_t ds = PA(P_DESC, 0), av = PA(P_AVAIL, 0), us = PA(P_USED, 0);

	geometry(d, "qsize-0", 0, ds, av, us);
	geometry(d, "qsize-not-pow2", 3, ds, av, us);
	geometry(d, "qsize-above-max", (uint16_t)(d->qmax * 2), ds, av, us);
	geometry(d, "qsize-65535", 65535, ds, av, us);
	geometry(d, "desc-beyond-ram", QSIZE, BEYOND_RAM, av, us);
	geometry(d, "used-in-mmio-hole", QSIZE, ds, av, dev_bar_addr(d));
	geometry(d, "avail-wraps-2^64", QSIZE, ds, 0xfffffffffffffff0ULL, us);
	geometry(d, "desc-unaligned", QSIZE, ds + 8, av, us);
	geometry(d, "avail-unaligned", QSIZE, ds, av + 1, us);
	geometry(d, "used-unaligned", QSIZE, ds, av, us + 2);
}

static void case_enable_after_driver_ok(struct dev *d)
{
	const char *n = "queue-writes-after-driver-ok";
	const char *why;
	struct desc c[8];
	int k = O_IGNORED;

	if (!dev_up(d))
		return result(d, n, false, "bring-up refused");
	w16(d, CC_Q_SELECT, d->tq);
	w16(d, CC_Q_SIZE, 3);
	w64(d, CC_Q_DESC, BEYOND_RAM);
	w64(d, CC_Q_USED, 1);
	w16(d, CC_Q_ENABLE, 0);
	w16(d, CC_Q_ENABLE, 1);
	if (r16(d, CC_Q_SIZE) != QSIZE || r64(d, CC_Q_DESC) != PA(P_DESC, 0) ||
	    r64(d, CC_Q_USED) != PA(P_USED, 0))
		return result(d, n, false, "queue registers changed after DRIVER_OK");
	/* the live queue still works without a reset */
	k = good_chain(d, c, GOOD_READ_SECTOR, false);
	put_chain(c, k);
	submit(d, 0);
	k = wait_done(d, 5000);
	why = k == O_OK && completion_status(d) == O_OK ? "" : "live queue broke";
	result(d, n, !*why, "%s", *why ? why : "ignored, queue still works");
	dev_reset(d);
}

static void case_driver_ok_without_features_ok(struct dev *d)
{
	dev_reset(d);
	w8(d, CC_STATUS, S_ACK | S_DRIVER);
	q_conf(d, d->tq, QSIZE, PA(P_DESC, 0), PA(P_AVAIL, 0), PA(P_USED, 0));
	w8(d, CC_STATUS, S_ACK | S_DRIVER | S_DRIVER_OK);
	finish(d, "driver-ok-without-features-ok",
	       r8(d, CC_STATUS) & S_NEEDS_RESET ? O_NEEDS_RESET : O_OK, O_NEEDS_RESET);
}

/* FEATURES_OK must not stick for (lo, hi). */
static void bad_features(struct dev *d, const char *name, uint32_t lo, uint32_t hi)
{
	dev_reset(d);
	w8(d, CC_STATUS, S_ACK | S_DRIVER);
	w32(d, CC_GFSELECT, 0);
	w32(d, CC_GF, lo);
	w32(d, CC_GFSELECT, 1);
	w32(d, CC_GF, hi);
	w32(d, CC_GFSELECT, 7); /* a select past the feature words */
	w32(d, CC_GF, 0xffffffff);
	w8(d, CC_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK);
	bool stuck = r8(d, CC_STATUS) & S_FEATURES_OK;

	finish(d, name, stuck ? O_OK : O_ERROR, O_ERROR);
}

static void case_features_after_features_ok(struct dev *d)
{
	const char *n = "features-change-after-features-ok";
	uint32_t before;

	if (!dev_features(d, FEAT_INDIRECT))
		return result(d, n, false, "features refused");
	w32(d, CC_GFSELECT, 0);
	before = r32(d, CC_GF);
	w32(d, CC_GF, 0xffffffff);
	w32(d, CC_GFSELECT, 1);
	w32(d, CC_GF, 0xffffffff);
	w32(d, CC_GFSELECT, 0);
	finish(d, n, r32(d, CC_GF) == before ? O_IGNORED : O_OK, O_IGNORED);
}

static void case_readonly_writes(struct dev *d)
{
	const char *n = "writes-to-read-only-fields";
	uint8_t cfg_before[64], cfg_after[64];
	uint16_t numq = r16(d, CC_NUMQ), noff;
	uint32_t df0;
	bool same;

	dev_reset(d);
	w32(d, CC_DFSELECT, 0);
	df0 = r32(d, CC_DF);
	w16(d, CC_Q_SELECT, d->tq);
	noff = r16(d, CC_Q_NOFF);
	for (unsigned i = 0; i < sizeof(cfg_before); i++)
		cfg_before[i] = r8(d, DEVCFG_OFF + i);
	w32(d, CC_DF, ~df0);
	w16(d, CC_NUMQ, 77);
	w8(d, CC_CFGGEN, 9);
	w16(d, CC_Q_NOFF, 5);
	w8(d, ISR_OFF, 0xff);
	for (unsigned i = 0; i < sizeof(cfg_before); i += 4)
		w32(d, DEVCFG_OFF + i, 0xdeadbeef);
	w64(d, DEVCFG_OFF, ~0ULL);
	for (unsigned i = 0; i < 16; i++)
		w8(d, DEVCFG_OFF + i, 0x5a);
	w32(d, DEVCFG_OFF + 0xffc, 1); /* past the device config */
	(void)r32(d, DEVCFG_OFF + 0xffc);
	(void)r32(d, CC_Q_USED + 10); /* past the common config */
	w32(d, 58, 0xffffffff);       /* straddles the end of the common config */
	w32(d, 0x6000, 1);            /* unused BAR space */
	(void)r64(d, 0x7ff8);
	for (unsigned i = 0; i < sizeof(cfg_after); i++)
		cfg_after[i] = r8(d, DEVCFG_OFF + i);
	if (d->id == ID_BALLOON) /* "actual" (bytes 4-7) is the driver's to write */
		memcpy(cfg_after + 4, cfg_before + 4, 4);
	w32(d, CC_DFSELECT, 0);
	same = r32(d, CC_DF) == df0 && r16(d, CC_NUMQ) == numq && r16(d, CC_Q_NOFF) == noff &&
	       !memcmp(cfg_before, cfg_after, sizeof(cfg_before));
	finish(d, n, same ? O_IGNORED : O_OK, O_IGNORED);
}

static void case_qsel_oob(struct dev *d)
{
	const char *n = "queue-select-out-of-range";

	if (!dev_features(d, FEAT_INDIRECT))
		return result(d, n, false, "features refused");
	w16(d, CC_Q_SELECT, 0xffff);
	w16(d, CC_Q_SIZE, 8);
	w64(d, CC_Q_DESC, PA(P_DESC, 0));
	w16(d, CC_Q_ENABLE, 1);
	w16(d, CC_Q_SELECT, d->nq);
	w16(d, CC_Q_ENABLE, 1);
	finish(d, n, r16(d, CC_Q_SIZE) == 0 ? O_IGNORED : O_OK, O_IGNORED);
}

static void case_vector_oob(struct dev *d)
{
	const char *n = "msix-vector-out-of-range";
	bool ok;

	dev_reset(d);
	w16(d, CC_MSIX, 2000);
	ok = r16(d, CC_MSIX) == NO_VECTOR;
	w16(d, CC_Q_SELECT, d->tq);
	w16(d, CC_Q_MSIX, d->nvec);
	ok = ok && r16(d, CC_Q_MSIX) == NO_VECTOR;
	w16(d, CC_Q_MSIX, 0x7fff);
	ok = ok && r16(d, CC_Q_MSIX) == NO_VECTOR;
	finish(d, n, ok ? O_IGNORED : O_OK, O_IGNORED);
}

/* MSI-X table abuse: widths, offsets, PBA writes, mask storms, a bogus message address. */
static void case_msix_table(struct dev *d)
{
	const char *n = "msix-table-abuse";
	uint16_t ctl = (uint16_t)cfg_read(d, d->msix_cap + 2, 2);
	uint64_t pba;
	struct desc c[8];
	int k = O_IGNORED;

	cfg_write(d, d->msix_cap + 2, ctl | 0x8000, 2); /* MSI-X enable */
	for (unsigned v = 0; v < d->nvec; v++)
		w32(d, MSIX_TABLE_OFF + 16 * v + 12, 1);
	w8(d, MSIX_TABLE_OFF + 1, 0xff);                  /* byte write */
	w16(d, MSIX_TABLE_OFF + 2, 0xffff);               /* word write */
	w32(d, MSIX_TABLE_OFF + 2, 0xffffffff);           /* misaligned dword */
	w64(d, MSIX_TABLE_OFF + 4, ~0ULL);                /* misaligned qword */
	w32(d, MSIX_TABLE_OFF + 16 * d->nvec, 0xfee00000); /* past the table */
	w32(d, MSIX_TABLE_OFF + 0xffc, 0xffffffff);
	w64(d, MSIX_PBA_OFF, ~0ULL); /* PBA is read-only */
	w32(d, MSIX_PBA_OFF + 0x800, 1);
	pba = r64(d, MSIX_PBA_OFF);
	for (int i = 0; i < 5000; i++) /* mask/unmask storm on every vector */
		w32(d, MSIX_TABLE_OFF + 16 * (unsigned)(i % d->nvec) + 12, (uint32_t)(i & 1));
	/* vector 0 at a message address no CPU decodes, unmasked, used by the queue */
	w32(d, MSIX_TABLE_OFF + 0, 0x12345000);
	w32(d, MSIX_TABLE_OFF + 4, 0);
	w32(d, MSIX_TABLE_OFF + 8, 0); /* vector 0, fixed: dropped by the APIC bus */
	w32(d, MSIX_TABLE_OFF + 12, 0);
	if (!dev_features(d, FEAT_INDIRECT))
		goto out;
	q_conf(d, d->tq, QSIZE, PA(P_DESC, 0), PA(P_AVAIL, 0), PA(P_USED, 0));
	w16(d, CC_Q_MSIX, 0);
	w16(d, CC_MSIX, 0);
	memset(pg[P_AVAIL].va, 0, PAGE);
	memset(pg[P_USED].va, 0, PAGE);
	d->avail_idx = d->used_seen = 0;
	q_conf_others(d);
	w8(d, CC_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
	k = good_chain(d, c, GOOD_READ_SECTOR, false);
	put_chain(c, k);
	submit(d, 0);
	k = wait_done(d, 5000);
out:
	/* back to a sane table, MSI-X off, all masked */
	for (unsigned v = 0; v < d->nvec; v++) {
		w32(d, MSIX_TABLE_OFF + 16 * v, 0xfee00000);
		w32(d, MSIX_TABLE_OFF + 16 * v + 4, 0);
		w32(d, MSIX_TABLE_OFF + 16 * v + 8, 0);
		w32(d, MSIX_TABLE_OFF + 16 * v + 12, 1);
	}
	cfg_write(d, d->msix_cap + 2, ctl & ~0x8000, 2);
	dev_reset(d);
	if (pba & ~((1ULL << d->nvec) - 1))
		return result(d, n, false, "PBA shows bits past the table (%#llx)",
			      (unsigned long long)pba);
	finish(d, n, k == O_OK ? O_OK : O_IGNORED, O_OK);
}

/* Thousands of kicks: idle, with a request pending, at odd widths, past the doorbells. */
static void case_notify_storm(struct dev *d)
{
	const char *n = "notification-storm";
	struct desc c[8];
	int k = O_IGNORED;

	if (!dev_up(d))
		return result(d, n, false, "bring-up refused");
	for (int i = 0; i < 20000; i++)
		kick(d);
	for (int i = 0; i < 500; i++) {
		w8(d, NOTIFY_OFF + NOTIFY_MULT * d->tq, 0);
		w32(d, NOTIFY_OFF + NOTIFY_MULT * d->tq, 0);
		w16(d, NOTIFY_OFF + NOTIFY_MULT * 64, 0);
		w16(d, NOTIFY_OFF + 0xffe, 0);
	}
	k = good_chain(d, c, GOOD_READ_SECTOR, false);
	put_chain(c, k);
	submit(d, 0);
	for (int i = 0; i < 20000; i++)
		kick(d);
	k = wait_done(d, 5000);
	msleep(50);
	if (k == O_OK && used()[1] != 1) {
		result(d, n, false, "request completed %u times", used()[1]);
		dev_reset(d);
		return;
	}
	finish(d, n, k, O_OK);
}

/*
 * vsock: 1024 REQUESTs from distinct ports (nobody listens, no receive buffer
 * is ever posted, so the RSTs owed pile up to the device's bound of 128) and
 * as many RSTs: every one is taken, the device never fails, and then works.
 */
static void case_vsock_flood(struct dev *d)
{
	const char *n = "vsock-request-flood";
	struct desc c[8];
	int k = O_OK;

	if (!dev_up(d))
		return result(d, n, false, "bring-up refused");
	for (unsigned i = 0; i < 2048 && k == O_OK; i++) {
		uint32_t sport = 10000 + i / 2;

		good_chain(d, c, 0, false);
		if (i & 1)
			vsock_hdr(d, pg[P_HDR].va, VS_RST, 0);
		memcpy(pg[P_HDR].va + 16, &sport, 4);
		put_chain(c, 1);
		submit(d, 0);
		k = wait_done(d, 2000);
	}
	if (k == O_OK && (r8(d, CC_STATUS) & S_NEEDS_RESET))
		k = O_NEEDS_RESET;
	finish(d, n, k, O_OK);
}

/* ---------- virtio-net: flooded queues (issue 14) ---------- */

/*
 * The net cases below use both queues: transmit (1) in pages 0-2 as usual,
 * receive (0) in pages 8-10 (its own size), receive buffers in page 11.
 */
#define P_RXDESC 8
#define P_RXBUF 11
#define NET_FLOOD_QSIZE 256 /* agentvmm's largest net queue (VNET_QUEUE_SIZE) */

static volatile uint16_t *rx_avail(void) { return (volatile uint16_t *)pg[P_RXDESC + 1].va; }
static volatile uint16_t *rx_used(void) { return (volatile uint16_t *)pg[P_RXDESC + 2].va; }

/* Bring net up with a receive queue of (rxqs) entries; nothing posted yet. */
static bool net_up_rx(struct dev *d, uint16_t rxqs)
{
	if (!dev_features(d, FEAT_INDIRECT))
		return false;
	for (int p = 0; p < 3; p++) {
		memset(pg[p].va, 0, PAGE);
		memset(pg[P_RXDESC + p].va, 0, PAGE);
	}
	d->avail_idx = d->used_seen = 0;
	q_conf(d, d->tq, QSIZE, PA(P_DESC, 0), PA(P_AVAIL, 0), PA(P_USED, 0));
	q_conf(d, 0, rxqs, PA(P_RXDESC, 0), PA(P_RXDESC + 1, 0), PA(P_RXDESC + 2, 0));
	w8(d, CC_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
	return (r8(d, CC_STATUS) & (S_DRIVER_OK | S_NEEDS_RESET)) == S_DRIVER_OK;
}

/* One's-complement sum of (len) bytes at (p), added to (sum). */
static uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

/*
 * Make the host send the guest frames: an ICMPv6 echo request from
 * fe80::5054:ff:fe12:3456 to all nodes (ff02::1). A host with IPv6 on the
 * tap answers, and first asks for our address with a neighbor solicitation
 * (86 bytes; 98 with the virtio-net header), again each second, 3 times.
 * Nothing answers on a host without IPv6 there: the caller says so.
 */
static bool net_provoke_host(struct dev *d)
{
	static const uint8_t eth[14] = { 0x33, 0x33, 0, 0, 0, 1, 0x52, 0x54, 0, 0x12, 0x34, 0x56,
					 0x86, 0xdd };
	static const uint8_t src[16] = { 0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0x50, 0x54, 0, 0xff,
					 0xfe, 0x12, 0x34, 0x56 };
	static const uint8_t dst[16] = { 0xff, 0x02, [15] = 1 };
	uint8_t *f = pg[P_DATA].va, *ip = f + 12 + 14, *icmp = ip + 40;
	const uint16_t plen = 8 + 32;
	uint32_t sum;
	struct desc c = { PA(P_DATA, 0), 12 + 14 + 40 + plen, 0, 0 };

	memset(f, 0, c.len);
	memcpy(f + 12, eth, sizeof(eth));
	ip[0] = 0x60;
	ip[4] = (uint8_t)(plen >> 8);
	ip[5] = (uint8_t)plen;
	ip[6] = 58;  /* ICMPv6 */
	ip[7] = 255; /* hop limit */
	memcpy(ip + 8, src, 16);
	memcpy(ip + 24, dst, 16);
	icmp[0] = 128; /* echo request */
	icmp[4] = 0x12;
	icmp[7] = 1;
	for (int i = 0; i < 32; i++)
		icmp[8 + i] = (uint8_t)i;
	/* RFC 8200 §8.1: pseudo-header of source, destination, length, next header */
	sum = csum_add(0, ip + 8, 32) + plen + 58;
	sum = csum_add(sum, icmp, plen);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	icmp[2] = (uint8_t)(~sum >> 8);
	icmp[3] = (uint8_t)~sum;
	put_chain(&c, 1);
	submit(d, 0);
	return wait_done(d, 2000) == O_OK;
}

/*
 * Receive buffers of (buflen) bytes, a receive queue of (rxqs): every head
 * returned is published again at once (the same heads, over and over), while
 * the host is made to send frames for about 2.5 s. Each used entry must name a
 * head of the queue and hold at most (buflen) bytes (with fewer than 12 bytes
 * or a ring too small for the frame: 0), the device may never have more
 * chains out than the queue holds, and it must not fail.
 */
static void case_net_rx_tiny(struct dev *d, const char *n, uint16_t rxqs, uint32_t buflen)
{
	volatile uint16_t *av = rx_avail(), *us = rx_used();
	uint16_t pub, seen = 0;
	unsigned entries = 0, filled = 0;
	const char *why = "";

	if (!net_up_rx(d, rxqs))
		return result(d, n, false, "bring-up refused");
	for (uint16_t i = 0; i < rxqs; i++) {
		put_desc(pg[P_RXDESC].va, i, (struct desc){ PA(P_RXBUF, 16 * i), buflen, F_WRITE, 0 });
		av[2 + i] = i;
	}
	pub = rxqs;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	av[1] = pub;
	w16(d, NOTIFY_OFF, 0);
	for (int ms = 0; ms < 2500 && !*why; ms++) {
		if (ms % 1000 == 0 && !net_provoke_host(d))
			why = "transmit of the ICMPv6 echo failed";
		while (!*why && us[1] != seen) {
			volatile uint32_t *e = (volatile uint32_t *)(pg[P_RXDESC + 2].va + 4 +
								    8 * (seen % rxqs));
			uint32_t id = e[0], len = e[1];

			__atomic_thread_fence(__ATOMIC_SEQ_CST);
			if (id >= rxqs || len > buflen)
				why = "used entry past the buffer or the queue";
			filled += len != 0;
			entries++;
			seen++;
			av[2 + pub % rxqs] = (uint16_t)id; /* the same head, again */
			pub++;
		}
		if ((uint16_t)(pub - us[1]) > rxqs)
			why = "used.idx passed avail.idx: a chain returned twice";
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		av[1] = pub;
		w16(d, NOTIFY_OFF, 0);
		if (r8(d, CC_STATUS) & S_NEEDS_RESET)
			why = "device needs reset";
		msleep(1);
	}
	if (!*why && buflen < 12 && filled)
		why = "buffers under 12 bytes were filled";
	if (*why) {
		result(d, n, false, "%s (%u used entries, %u filled)", why, entries, filled);
		dev_reset(d);
		return;
	}
	printf("# %s %s: %u used entries, %u filled%s\n", d->name, n, entries, filled,
	       entries ? "" : " (no host frame arrived: IPv6 off on the tap? receive not reached)");
	finish(d, n, O_OK, O_OK);
}

/*
 * A transmit flood: a queue of 256 kept full of the well-formed frame for
 * 4096 frames, kicked after every refill. The device takes them a budget at a
 * time (docs/security.md); all must complete, the device must not fail.
 */
static void case_net_tx_flood(struct dev *d)
{
	const char *n = "tx-flood";
	volatile uint16_t *av = avail(), *us = used();
	uint16_t qs = d->qmax < NET_FLOOD_QSIZE ? d->qmax : NET_FLOOD_QSIZE, pub = 0;
	unsigned sent = 0, total = 4096;
	struct desc c[4];
	int k = O_OK;

	if (!dev_features(d, FEAT_INDIRECT))
		return result(d, n, false, "features refused");
	memset(pg[P_DESC].va, 0, PAGE);
	memset(pg[P_AVAIL].va, 0, PAGE);
	memset(pg[P_USED].va, 0, PAGE);
	good_chain(d, c, 0, false);
	for (uint16_t i = 0; i < qs; i++)
		put_desc(pg[P_DESC].va, i, c[0]);
	q_conf(d, d->tq, qs, PA(P_DESC, 0), PA(P_AVAIL, 0), PA(P_USED, 0));
	q_conf_others(d);
	w8(d, CC_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
	for (int idle = 0; k == O_OK && (sent < total || us[1] != pub);) {
		uint16_t done = us[1];

		while (sent < total && (uint16_t)(pub - done) < qs) {
			av[2 + pub % qs] = pub % qs;
			pub++;
			sent++;
		}
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		av[1] = pub;
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		kick(d);
		if (r8(d, CC_STATUS) & S_NEEDS_RESET)
			k = O_NEEDS_RESET;
		else if (us[1] == done && ++idle > 5000)
			k = O_IGNORED; /* nothing completed for 5 s */
		else if (us[1] != done)
			idle = 0;
		if (us[1] == done)
			msleep(1);
	}
	if (k == O_OK)
		printf("# %s %s: %u frames completed\n", d->name, n, sent);
	d->avail_idx = d->used_seen = 0;
	finish(d, n, k, O_OK);
}

/* ---------- virtio-net multiqueue: the control queue (issue 16) ---------- */

#define FEAT_CTRL_VQ (1ULL << 17)
#define FEAT_MQ (1ULL << 22)
#define NET_CTRL_MQ 4            /* VIRTIO_NET_CTRL_MQ */
#define NET_CTRL_MQ_VQ_PAIRS_SET 0
#define NET_OK 0
#define NET_ERR 1
#define P_Q1 8                   /* transmit queue of pair 0: pages 8-10 */
#define P_Q3 11                  /* transmit queue of pair 1: pages 11-13 */
#define ACK_ZERO_LEN 0xffffffffu /* mq_cmd(): a writable descriptor of length 0 */

static uint64_t dev_offered(struct dev *d)
{
	uint64_t f;

	w32(d, CC_DFSELECT, 0);
	f = r32(d, CC_DF);
	w32(d, CC_DFSELECT, 1);
	return f | (uint64_t)r32(d, CC_DF) << 32;
}

/*
 * Bring a multiqueue net device up with (feat) (+ INDIRECT): the control
 * queue (2N with MQ, 2 without) is the test queue (pages 0-2), the transmit
 * queues of pairs 0 and 1 get pages 8-10 and 11-13. False if refused.
 */
static bool mq_up(struct dev *d, uint64_t feat)
{
	if (!dev_features(d, FEAT_INDIRECT | feat))
		return false;
	for (int p = 0; p < 3; p++) {
		memset(pg[p].va, 0, PAGE);
		memset(pg[P_Q1 + p].va, 0, PAGE);
		memset(pg[P_Q3 + p].va, 0, PAGE);
	}
	d->avail_idx = d->used_seen = 0;
	d->tq = feat & FEAT_MQ ? (uint16_t)(d->nq - 1) : 2;
	q_conf(d, d->tq, QSIZE, PA(P_DESC, 0), PA(P_AVAIL, 0), PA(P_USED, 0));
	q_conf(d, 1, QSIZE, PA(P_Q1, 0), PA(P_Q1 + 1, 0), PA(P_Q1 + 2, 0));
	if (feat & FEAT_MQ)
		q_conf(d, 3, QSIZE, PA(P_Q3, 0), PA(P_Q3 + 1, 0), PA(P_Q3 + 2, 0));
	w8(d, CC_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
	return (r8(d, CC_STATUS) & (S_DRIVER_OK | S_NEEDS_RESET)) == S_DRIVER_OK;
}

/*
 * One control command: class, command and (dlen) bytes of le16 (v) in one
 * readable buffer of (rolen) bytes (2 + dlen unless shorter), the ack in a
 * writable one of (acklen) bytes (none when 0, zero-length with ACK_ZERO_LEN).
 * Return: O_OK (ack OK),
 * O_ERROR (ack ERR, or used length 0), O_NEEDS_RESET, O_IGNORED.
 */
static int mq_cmd(struct dev *d, uint8_t class, uint8_t cmd, uint16_t v, uint32_t rolen,
		  uint32_t acklen)
{
	uint8_t *h = pg[P_HDR].va;
	bool byte = acklen && acklen != ACK_ZERO_LEN;
	struct desc c[2];
	int k;

	h[0] = class;
	h[1] = cmd;
	memcpy(h + 2, &v, 2);
	pg[P_STATUS].va[0] = 0xee;
	c[0] = (struct desc){ PA(P_HDR, 0), rolen, acklen ? F_NEXT : 0, 1 };
	c[1] = (struct desc){ PA(P_STATUS, 0), byte ? acklen : 0, F_WRITE, 0 };
	put_chain(c, acklen ? 2 : 1);
	submit(d, 0);
	k = wait_done(d, 2000);
	if (k == O_OK && (r8(d, CC_STATUS) & S_NEEDS_RESET))
		return O_NEEDS_RESET;
	if (k != O_OK)
		return k;
	if (used_elem(d->used_seen - 1)[1] == 0)
		return byte ? O_IGNORED : O_ERROR; /* nothing written: right only without a byte */
	if (used_elem(d->used_seen - 1)[1] != 1)
		return O_IGNORED; /* more than the ack byte: wrong */
	return pg[P_STATUS].va[0] == NET_OK ? O_OK : pg[P_STATUS].va[0] == NET_ERR ? O_ERROR
										: O_IGNORED;
}

/* Bring up with (feat), send one command, check the outcome; the test queue back after. */
static void mq_case(struct dev *d, const char *n, uint64_t feat, uint8_t class, uint8_t cmd,
		    uint16_t v, uint32_t rolen, uint32_t acklen, int allowed)
{
	uint16_t tq = d->tq;
	int k;

	if (!mq_up(d, feat)) {
		d->tq = tq;
		return result(d, n, false, "bring-up refused");
	}
	k = mq_cmd(d, class, cmd, v, rolen, acklen);
	d->tq = tq;
	d->avail_idx = d->used_seen = 0;
	finish(d, n, k, allowed);
}

/* The control queue with a malformed chain: two descriptors looping. */
static void mq_case_loop(struct dev *d)
{
	uint16_t tq = d->tq;
	struct desc c[2];
	int k;

	if (!mq_up(d, FEAT_MQ | FEAT_CTRL_VQ)) {
		d->tq = tq;
		return result(d, "ctrl-desc-loop", false, "bring-up refused");
	}
	c[0] = (struct desc){ PA(P_HDR, 0), 4, F_NEXT, 1 };
	c[1] = (struct desc){ PA(P_STATUS, 0), 1, F_NEXT | F_WRITE, 0 };
	put_chain(c, 2);
	submit(d, 0);
	k = wait_done(d, 2000);
	d->tq = tq;
	d->avail_idx = d->used_seen = 0;
	finish(d, "ctrl-desc-loop", k, O_NEEDS_RESET);
}

/*
 * A frame posted on pair 1's transmit queue while one pair is in use: its
 * kick is ignored (not sent, no NEEDS_RESET); VQ_PAIRS_SET 2 then sends it;
 * VQ_PAIRS_SET 1 again, and the next frame there waits once more.
 */
static void mq_case_unused_pair(struct dev *d)
{
	const char *n = "kick-pair-not-in-use";
	volatile uint16_t *av3 = (volatile uint16_t *)pg[P_Q3 + 1].va;
	volatile uint16_t *us3 = (volatile uint16_t *)pg[P_Q3 + 2].va;
	uint16_t tq = d->tq;
	const char *why = "";
	struct desc c[1];

	if (!mq_up(d, FEAT_MQ | FEAT_CTRL_VQ)) {
		d->tq = tq;
		return result(d, n, false, "bring-up refused");
	}
	good_chain(d, c, 0, false); /* a frame in P_HDR */
	put_desc(pg[P_Q3].va, 0, c[0]);
	put_desc(pg[P_Q3].va, 1, c[0]);
	av3[2] = 0;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	av3[1] = 1;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	w16(d, NOTIFY_OFF + NOTIFY_MULT * 3, 3);
	for (unsigned q = 0; q < d->nq + 2u; q++)
		w16(d, NOTIFY_OFF + NOTIFY_MULT * q, (uint16_t)q); /* and every other doorbell */
	msleep(300);
	if (us3[1] != 0)
		why = "a pair not in use sent a frame";
	else if (r8(d, CC_STATUS) & S_NEEDS_RESET)
		why = "kicks on unused queues broke the device";
	else if (mq_cmd(d, NET_CTRL_MQ, NET_CTRL_MQ_VQ_PAIRS_SET, 2, 4, 1) != O_OK)
		why = "VQ_PAIRS_SET 2 refused";
	for (int ms = 0; !*why && us3[1] != 1 && ms < 2000; ms++)
		msleep(1);
	if (!*why && us3[1] != 1)
		why = "pair 1 did not start after VQ_PAIRS_SET 2";
	if (!*why && mq_cmd(d, NET_CTRL_MQ, NET_CTRL_MQ_VQ_PAIRS_SET, 1, 4, 1) != O_OK)
		why = "VQ_PAIRS_SET 1 refused";
	if (!*why) {
		av3[3] = 1;
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		av3[1] = 2;
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		w16(d, NOTIFY_OFF + NOTIFY_MULT * 3, 3);
		msleep(300);
		if (us3[1] != 1)
			why = "pair 1 sent after VQ_PAIRS_SET 1";
	}
	d->tq = tq;
	d->avail_idx = d->used_seen = 0;
	if (*why) {
		result(d, n, false, "%s", why);
		dev_reset(d);
		return;
	}
	finish(d, n, O_OK, O_OK);
}

static void mq_cases(struct dev *d)
{
	uint64_t both = FEAT_MQ | FEAT_CTRL_VQ;
	uint16_t max = r16(d, DEVCFG_OFF + 8); /* max_virtqueue_pairs (virtio 1.2 §5.1.4) */

	if (!(dev_offered(d) & FEAT_MQ))
		return;
	printf("# %s: multiqueue, %u queue pairs\n", d->name, max);
	/* virtio 1.2 §5.1.3.1: MQ requires CTRL_VQ */
	bad_features(d, "mq-without-ctrl-vq", (uint32_t)FEAT_MQ, 1);
	mq_case(d, "ctrl-pairs-set-valid", both, NET_CTRL_MQ, NET_CTRL_MQ_VQ_PAIRS_SET, max, 4, 1,
		O_OK);
	mq_case(d, "ctrl-pairs-set-0", both, NET_CTRL_MQ, NET_CTRL_MQ_VQ_PAIRS_SET, 0, 4, 1,
		O_ERROR);
	mq_case(d, "ctrl-pairs-set-above-max", both, NET_CTRL_MQ, NET_CTRL_MQ_VQ_PAIRS_SET,
		(uint16_t)(max + 1), 4, 1, O_ERROR);
	mq_case(d, "ctrl-pairs-set-0xffff", both, NET_CTRL_MQ, NET_CTRL_MQ_VQ_PAIRS_SET, 0xffff, 4,
		1, O_ERROR);
	mq_case(d, "ctrl-pairs-set-1-data-byte", both, NET_CTRL_MQ, NET_CTRL_MQ_VQ_PAIRS_SET, 2, 3,
		1, O_ERROR);
	mq_case(d, "ctrl-pairs-set-3-data-bytes", both, NET_CTRL_MQ, NET_CTRL_MQ_VQ_PAIRS_SET, 2,
		5, 1, O_ERROR);
	mq_case(d, "ctrl-short-header", both, NET_CTRL_MQ, 0, 0, 1, 1, O_ERROR);
	mq_case(d, "ctrl-rx-promisc", both, 0, 0, 1, 3, 1, O_ERROR);
	mq_case(d, "ctrl-mac-addr-set", both, 1, 1, 0, 8, 1, O_ERROR);
	mq_case(d, "ctrl-mq-rss-config", both, NET_CTRL_MQ, 1, 2, 4, 1, O_ERROR);
	mq_case(d, "ctrl-unknown-class", both, 0xff, 0xff, 2, 4, 1, O_ERROR);
	mq_case(d, "ctrl-no-ack-byte", both, NET_CTRL_MQ, NET_CTRL_MQ_VQ_PAIRS_SET, 2, 4, 0,
		O_ERROR);
	mq_case(d, "ctrl-ack-zero-length", both, NET_CTRL_MQ, NET_CTRL_MQ_VQ_PAIRS_SET, 2, 4,
		ACK_ZERO_LEN, O_ERROR);
	/* CTRL_VQ alone: the control queue is 2, and VQ_PAIRS_SET belongs to MQ */
	mq_case(d, "ctrl-vq-without-mq-pairs-set", FEAT_CTRL_VQ, NET_CTRL_MQ,
		NET_CTRL_MQ_VQ_PAIRS_SET, 1, 4, 1, O_ERROR);
	mq_case_loop(d);
	mq_case_unused_pair(d);
}

/* Another device's BAR0, for the overlap case. */
static uint32_t other_bar(struct dev *d)
{
	for (int i = 0; i < ndevs; i++)
		if (&devs[i] != d)
			return devs[i].bar0;
	return 0x1000;
}

/* PCI config space via sysfs: BAR moves into RAM/onto another BAR, sizing, odd accesses. */
static void case_pci_config(struct dev *d)
{
	const char *n = "pci-config-abuse";
	uint16_t vendor = (uint16_t)cfg_read(d, 0, 2), cmd = (uint16_t)cfg_read(d, 4, 2);
	uint32_t sz;
	uint8_t junk[3] = { 0xff, 0xff, 0xff };

	dev_reset(d);
	cfg_write(d, 0x10, 0xffffffff, 4);
	sz = cfg_read(d, 0x10, 4);
	cfg_write(d, 0x10, (uint32_t)PA(P_DATA, 0) & ~0x7fffu, 4); /* into RAM */
	cfg_write(d, 0x10, other_bar(d), 4);                          /* onto another BAR */
	cfg_write(d, 0x4, cmd & ~2, 2);
	cfg_write(d, 0x4, 0xffff, 2);
	cfg_write(d, 0x14, 0xffffffff, 4); /* unimplemented BARs */
	cfg_write(d, 0x30, 0xffffffff, 4); /* expansion ROM */
	if (pwrite(d->cfg, junk, 3, 0x1) < 0 || pwrite(d->cfg, junk, 3, 0x3d) < 0 ||
	    pwrite(d->cfg, junk, 1, 0x8) < 0 || pwrite(d->cfg, junk, 2, 0x2e) < 0)
		(void)0; /* the kernel may refuse some; the device must survive either way */
	if (pwrite(d->cfg, junk, 3, 0x101) < 0 || pwrite(d->cfg, junk, 2, 0xfff) < 0)
		(void)0;
	cfg_write(d, 0x10, d->bar0, 4);
	cfg_write(d, 0x4, cmd | 6, 2);
	if ((sz & ~0xfu) != (uint32_t)~(BAR_SIZE - 1))
		return result(d, n, false, "BAR0 sizing read %#x", sz);
	if (cfg_read(d, 0, 2) != vendor)
		return result(d, n, false, "vendor ID changed");
	finish(d, n, O_IGNORED, O_IGNORED);
}

/* ---------- discovery ---------- */

static int find_msix(struct dev *d)
{
	unsigned p = cfg_read(d, 0x34, 1), guard = 0;

	while (p >= 0x40 && p < 0x100 && guard++ < 48) {
		if ((cfg_read(d, p, 1) & 0xff) == 0x11)
			return (int)p;
		p = cfg_read(d, p + 1, 1) & 0xff;
	}
	return -1;
}

static int read_hex(const char *dir, const char *f, unsigned *v)
{
	char p[400], b[32] = "";
	FILE *fp;

	snprintf(p, sizeof(p), "%s/%s", dir, f);
	fp = fopen(p, "r");
	if (!fp)
		return -1;
	if (!fgets(b, sizeof(b), fp))
		b[0] = 0;
	fclose(fp);
	return sscanf(b, "%x", v) == 1 ? 0 : -1;
}

/* The virtio-fs tag in the device config (36 bytes). */
static void fs_tag(struct dev *d, char *tag)
{
	for (int i = 0; i < 36; i++)
		tag[i] = (char)r8(d, DEVCFG_OFF + (uint32_t)i);
	tag[36] = 0;
}

/*
 * Take (bdf) over: unbind its driver (a busy region cannot be mapped with
 * CONFIG_IO_STRICT_DEVMEM), map BAR0, enable decoding. Virtio-fs devices are
 * taken in PCI order after the first (fs_skip), which the caller knows are
 * mounted; the one taken must carry (fs_tag_want). Return 1 to leave it alone.
 */
static int dev_open(struct dev *d, const char *bdf, const char *fs_tag_want)
{
	static int fs_seen;
	char p[400];
	int fd;

	snprintf(d->sys, sizeof(d->sys), "/sys/bus/pci/devices/%s", bdf);
	if (d->id == ID_FS && (!fs_tag_want || fs_seen++ < fs_skip))
		return 1; /* not ours to break */
	snprintf(p, sizeof(p), "%s/config", d->sys);
	d->cfg = open(p, O_RDWR);
	if (d->cfg < 0)
		return diag(d, "open config");
	snprintf(p, sizeof(p), "%s/driver/unbind", d->sys);
	if (access(p, F_OK) == 0 && write_str(p, bdf))
		return diag(d, "unbind");
	cfg_write(d, 4, cfg_read(d, 4, 2) | 6, 2); /* memory space + bus master */
	snprintf(p, sizeof(p), "%s/resource0", d->sys);
	fd = open(p, O_RDWR | O_SYNC);
	if (fd < 0)
		return diag(d, "open resource0");
	d->bar = mmap(NULL, BAR_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (d->bar == MAP_FAILED)
		return diag(d, "mmap resource0");
	d->bar0 = cfg_read(d, 0x10, 4);
	if (d->id == ID_FS) {
		char tag[37];

		fs_tag(d, tag);
		if (strcmp(tag, fs_tag_want)) {
			printf("# %s: tag '%s', want '%s'\n", d->sys, tag, fs_tag_want);
			errno = ENOENT;
			return diag(d, "virtio-fs tag differs");
		}
	}
	int m = find_msix(d);
	if (m < 0)
		return diag(d, "no MSI-X capability");
	d->msix_cap = (uint16_t)m;
	d->nvec = (uint16_t)((cfg_read(d, (unsigned)m + 2, 2) & 0x7ff) + 1);
	dev_reset(d);
	d->nq = r16(d, CC_NUMQ);
	/* net tx, vsock tx, fs request queue; balloon: the reporting queue (no STATS_VQ acked) */
	d->tq = d->id == ID_NET || d->id == ID_VSOCK || d->id == ID_FS ? 1 : 0;
	if (d->id == ID_BALLOON)
		d->tq = 2;
	w16(d, CC_Q_SELECT, d->tq);
	d->qmax = r16(d, CC_Q_SIZE);
	if (d->id == ID_BLK)
		d->blk_sectors = r64(d, DEVCFG_OFF);
	if (d->id == ID_VSOCK)
		d->vsock_cid = r64(d, DEVCFG_OFF);
	if (d->id == ID_PMEM && !pmem_window)
		pmem_window = r64(d, DEVCFG_OFF);
	errno = EINVAL;
	return d->nq > d->tq && d->qmax >= QSIZE ? 0 : diag(d, "queue count or size");
}

/* Every virtio-pci device, in PCI address order (fs_skip counts in that order). */
static void discover(const char *fs_tag_want)
{
	struct dirent **ents;
	int nents = scandir("/sys/bus/pci/devices", &ents, NULL, alphasort);

	for (int k = 0; k < nents; k++) {
		const char *bdf = ents[k]->d_name;
		char p[300];
		unsigned ven, dev;
		struct dev *d = &devs[ndevs];

		if (bdf[0] == '.' || ndevs >= (int)(sizeof(devs) / sizeof(devs[0])))
			continue;
		snprintf(p, sizeof(p), "/sys/bus/pci/devices/%s", bdf);
		if (read_hex(p, "vendor", &ven) || read_hex(p, "device", &dev) || ven != 0x1af4 ||
		    dev < 0x1040)
			continue;
		memset(d, 0, sizeof(*d));
		d->id = (uint16_t)(dev - 0x1040);
		snprintf(d->name, sizeof(d->name), "%s",
			 d->id == ID_BLK ? "blk" : d->id == ID_NET ? "net" : d->id == ID_RNG ? "rng"
			 : d->id == ID_FS ? "fs" : d->id == ID_VSOCK ? "vsock"
			 : d->id == ID_BALLOON ? "balloon" : d->id == ID_PMEM ? "pmem" : "other");
		int r = dev_open(d, bdf, fs_tag_want);

		if (r < 0) {
			printf("FAIL %s open: cannot take over %s\n", d->name, bdf);
			failures++;
		} else if (r == 0) {
			if (verbose)
				printf("# %s at %s: %u queues, max %u, %u vectors, BAR0 %#x\n",
				       d->name, bdf, d->nq, d->qmax, d->nvec, d->bar0);
			ndevs++;
		}
	}
	for (int k = 0; k < nents; k++)
		free(ents[k]);
	if (nents >= 0)
		free(ents);
}

static void run_device(struct dev *d)
{
	const char *why = good_request(d, false);

	result(d, "baseline-read", !*why, "%s", *why ? why : "ok");
	dev_reset(d);
	if (*why)
		return; /* nothing to compare against */
	/* plain resets and re-activations, no bad input: the baseline for the rest */
	for (int i = 0; i < 3 && !*why; i++) {
		why = good_request(d, false);
		dev_reset(d);
	}
	result(d, "reset-reactivate-x3", !*why, "%s", *why ? why : "ok");
	if (d->id == ID_BLK) {
		why = good_request(d, true);
		result(d, "good-write", !*why, "%s", *why ? why : "ok");
		dev_reset(d);
	}
	if (d->id != ID_FS || fs_chains) {
		for (size_t i = 0; i < sizeof(chain_cases) / sizeof(chain_cases[0]); i++)
			if (!chain_cases[i].devs || (chain_cases[i].devs & (1u << d->id)))
				run_chain_case(d, &chain_cases[i]);
		case_avail_jump(d);
	}
	geometry_cases(d);
	case_enable_after_driver_ok(d);
	case_driver_ok_without_features_ok(d);
	bad_features(d, "feature-not-offered", 0, 1u << 30 | 1); /* bit 62 + VERSION_1 */
	bad_features(d, "feature-without-version-1", 1u << 28, 0);
	case_features_after_features_ok(d);
	case_readonly_writes(d);
	case_qsel_oob(d);
	case_vector_oob(d);
	case_msix_table(d);
	case_notify_storm(d);
	if (d->id == ID_VSOCK)
		case_vsock_flood(d);
	if (d->id == ID_BALLOON)
		case_balloon_inflate(d);
	if (d->id == ID_PMEM)
		pmem_cases(d);
	if (d->id == ID_NET) {
		/* 8 x 12 bytes hold 96: a neighbor solicitation (98) never fits */
		case_net_rx_tiny(d, "rx-12-byte-buffers-frame-too-big", 8, 12);
		case_net_rx_tiny(d, "rx-buffers-under-12-bytes", QSIZE, 4);
		case_net_tx_flood(d);
		mq_cases(d);
	}
	case_pci_config(d);
}

int main(int argc, char **argv)
{
	const char *fs_tag_want = NULL;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-v"))
			verbose = true;
		else if (!strcmp(argv[i], "--fs-chains"))
			fs_chains = true;
		else if (!strcmp(argv[i], "--pmem-pattern"))
			pmem_pattern = true;
		else if (!strcmp(argv[i], "--fs-tag") && i + 1 < argc)
			fs_tag_want = argv[++i];
		else if (!strcmp(argv[i], "--fs-skip") && i + 1 < argc)
			fs_skip = atoi(argv[++i]);
		else if (strcmp(argv[i], "--disk-pattern")) {
			fprintf(stderr, "usage: hostile [--disk-pattern] [--pmem-pattern] "
				"[--fs-tag TAG --fs-skip N] [--fs-chains] [-v]\n");
			return 100;
		}
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (pages_init()) {
		fprintf(stderr, "hostile: cannot get locked pages with known addresses\n");
		return 100;
	}
	discover(fs_tag_want);
	/* virtio-fs last: its queues live in another process (vhost-user) */
	for (int i = 0; i < ndevs; i++)
		if (devs[i].id != ID_FS)
			run_device(&devs[i]);
	for (int i = 0; i < ndevs; i++)
		if (devs[i].id == ID_FS)
			run_device(&devs[i]);
	printf("hostile: %d devices, %d cases, %d failed\n", ndevs, cases, failures);
	return failures > 100 ? 100 : failures;
}
