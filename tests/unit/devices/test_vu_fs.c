// SPDX-License-Identifier: MIT
/*
 * test_vu_fs.c: the virtio-fs device against the REAL virtiofsd (Debian's
 * /usr/lib/qemu/virtiofsd) on memfd guest RAM: FUSE_INIT, LOOKUP, GETATTR,
 * OPEN and READ go through rings written by th_vq_driver, which proves the
 * mem table and vring set-up; then virtiofsd is killed and the degraded mode
 * must answer with -EIO (including a request posted before the death and
 * never kicked). A scripted fake back end covers handshake refusals (no
 * VERSION_1, wrong reply, silence, too few queues) and deaths that only a
 * vCPU-side message or an unsolicited message reveals.
 * Skips (77) when virtiofsd is missing or we are not root.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <linux/virtio_config.h>
#include <linux/virtio_fs.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "devices/vhost_user/vu_fs.h"
#include "devices/vhost_user/vu_msg.h"
#include "tests/helpers/th.h"
#include "tests/helpers/th_vq_driver.h"

#define VIRTIOFSD "/usr/lib/qemu/virtiofsd"
#define T_RAM MiB(2)
#define T_QSIZE 16
#define T_CONTENT "hello from the host\n"
#define T_WAIT_MS 5000

static char tdir[64], srcdir[96], sockpath[96];

/* ---- the device under test, with its "transport" side ---------------------- */

struct rig {
	struct guest_mem gm;
	struct evl evl;
	void *dev;
	struct th_vq dq[2];      /* 0 hiprio, 1 requests */
	struct virtq vqs[2];
	int kick[2], call[2];
	uint64_t unique;
};

static void rig_rings(struct rig *r)
{
	th_vq_init_at(&r->dq[0], &r->gm, T_QSIZE, MiB(1));
	r->dq[0].buf_floor = KiB(512);
	th_vq_init(&r->dq[1], &r->gm, T_QSIZE);
	r->dq[1].buf_floor = MiB(1);
	for (int q = 0; q < 2; q++)
		th_vq_bind(&r->dq[q], &r->vqs[q], false, false);
}

static void rig_activate(struct rig *r)
{
	struct virtio_activation act = {
		.gm = &r->gm, .vqs = r->vqs, .nr_vqs = 2, .features = 1ULL << VIRTIO_F_VERSION_1,
		.evl = &r->evl, .kick_fds = r->kick, .call_fds = r->call,
	};

	rig_rings(r);
	assert_int_equal(vufs_ops.set_features(r->dev, act.features), 0);
	assert_int_equal(vufs_ops.activate(r->dev, &act), 0);
}

static void *rig_create(struct rig *r, const char *sock, int timeout_ms, char *err, size_t len)
{
	struct vufs_config cfg = { .socket_path = sock, .tag = "testfs", .nr_request_queues = 1,
				   .evl = &r->evl, .timeout_ms = timeout_ms };

	memset(r, 0, sizeof(*r));
	th_gm_create(&r->gm, T_RAM);
	assert_int_equal(evl_init(&r->evl, 64), 0);
	for (int q = 0; q < 2; q++) {
		r->kick[q] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		r->call[q] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	}
	r->dev = vufs_create(&cfg, &r->gm, err, len);
	if (r->dev)
		assert_int_equal(evl_start(&r->evl), 0);
	return r->dev;
}

static void rig_destroy(struct rig *r)
{
	if (r->dev)
		assert_int_equal(vufs_ops.reset(r->dev), 0);
	evl_fini(&r->evl);
	if (r->dev)
		vufs_ops.destroy(r->dev);
	for (int q = 0; q < 2; q++) {
		close(r->kick[q]);
		close(r->call[q]);
	}
	gm_destroy(&r->gm);
}

static bool wait_call(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	uint64_t n;

	if (poll(&p, 1, T_WAIT_MS) != 1)
		return false;
	return read(fd, &n, sizeof(n)) == sizeof(n);
}

static void kick(struct rig *r, int q)
{
	uint64_t one = 1;

	assert_int_equal(write(r->kick[q], &one, sizeof(one)), 8);
}

/* Post a FUSE request on queue (q) without kicking. Return: head. */
static uint16_t post(struct rig *r, int q, uint32_t opcode, uint64_t nodeid, const void *arg,
		     uint32_t arg_len, uint32_t out_len, gpa_t *out_gpa)
{
	struct fuse_in_header in = {
		.len = (uint32_t)sizeof(in) + arg_len, .opcode = opcode, .unique = ++r->unique,
		.nodeid = nodeid,
	};
	gpa_t in_gpa = th_vq_alloc(&r->dq[q], sizeof(in) + arg_len);
	struct th_seg seg[2] = { { .gpa = in_gpa, .len = (uint32_t)sizeof(in) + arg_len } };
	uint16_t head;

	assert_int_equal(gm_write(&r->gm, in_gpa, &in, sizeof(in)), 0);
	if (arg_len)
		assert_int_equal(gm_write(&r->gm, in_gpa + sizeof(in), arg, arg_len), 0);
	if (out_len) {
		*out_gpa = th_vq_alloc(&r->dq[q], out_len);
		seg[1] = (struct th_seg){ .gpa = *out_gpa, .len = out_len, .write = true };
	}
	head = th_vq_add_chain(&r->dq[q], seg, out_len ? 2 : 1);
	th_vq_publish(&r->dq[q], head);
	return head;
}

/*
 * Wait for the completion of (head) on (q); Return: used length. The call
 * eventfd may also fire spuriously (libvhost-user signals it once at
 * SET_VRING_CALL), so wait until the used ring has the entry.
 */
static uint32_t complete(struct rig *r, int q, uint16_t head)
{
	uint32_t id, len;

	for (int tries = 0; tries < 4; tries++) {
		bool called = wait_call(r->call[q]);

		if (th_vq_get_used(&r->dq[q], &id, &len)) {
			assert_int_equal(id, head);
			return len;
		}
		assert_true(called);
	}
	fail_msg("queue %d: no completion", q);
	return 0;
}

/* One request on the request queue: its reply header in (oh), args in (out). */
static uint32_t fuse_call(struct rig *r, uint32_t opcode, uint64_t nodeid, const void *arg,
			  uint32_t arg_len, void *out, uint32_t out_len, struct fuse_out_header *oh)
{
	gpa_t og = 0;
	uint16_t head = post(r, 1, opcode, nodeid, arg, arg_len, sizeof(*oh) + out_len, &og);
	uint32_t used;

	kick(r, 1);
	used = complete(r, 1, head);
	assert_int_equal(gm_read(&r->gm, og, oh, sizeof(*oh)), 0);
	assert_true(oh->unique == r->unique);
	assert_int_equal(oh->len, used);
	if (out_len)
		assert_int_equal(gm_read(&r->gm, og + sizeof(*oh), out, out_len), 0);
	return used;
}

static void expect_eio(struct rig *r)
{
	struct fuse_getattr_in ga = { 0 };
	struct fuse_attr_out ao;
	struct fuse_out_header oh;

	assert_int_equal(fuse_call(r, FUSE_GETATTR, FUSE_ROOT_ID, &ga, sizeof(ga), &ao,
				   sizeof(ao), &oh), sizeof(oh));
	assert_int_equal(oh.error, -EIO);
}

static void wait_dead(void *dev)
{
	for (int i = 0; i < T_WAIT_MS && vufs_backend_alive(dev); i++)
		usleep(1000);
	assert_false(vufs_backend_alive(dev));
}

/* ---- the real virtiofsd ----------------------------------------------------- */

static pid_t start_virtiofsd(void)
{
	char sockopt[160], srcopt[160], logp[128];
	struct stat st;
	pid_t pid;

	unlink(sockpath);
	snprintf(sockopt, sizeof(sockopt), "--socket-path=%s", sockpath);
	snprintf(srcopt, sizeof(srcopt), "source=%s", srcdir);
	snprintf(logp, sizeof(logp), "%s/virtiofsd.log", tdir);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int fd = open(logp, O_WRONLY | O_CREAT | O_APPEND, 0600);

		dup2(fd, 1);
		dup2(fd, 2);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		execl(VIRTIOFSD, "virtiofsd", sockopt, "-o", srcopt, "-o", "cache=none", "-o",
		      "sandbox=chroot", (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < T_WAIT_MS; i++) {
		if (stat(sockpath, &st) == 0 && S_ISSOCK(st.st_mode))
			return pid;
		usleep(1000);
	}
	fail_msg("virtiofsd did not create %s", sockpath);
	return -1;
}

/* virtiofsd binds before it listens: retry a refused connect briefly. */
static void *create_retry(struct rig *r, char *err, size_t len)
{
	for (int i = 0; i < 100; i++) {
		if (rig_create(r, sockpath, 0, err, len))
			return r->dev;
		if (!strstr(err, "refused"))
			return NULL;
		evl_fini(&r->evl);
		for (int q = 0; q < 2; q++) {
			close(r->kick[q]);
			close(r->call[q]);
		}
		gm_destroy(&r->gm);
		usleep(10000);
	}
	return NULL;
}

static void test_vufs_virtiofsd_fuse_then_eio(void **state)
{
	struct fuse_init_in ii = { .major = FUSE_KERNEL_VERSION,
				   .minor = FUSE_KERNEL_MINOR_VERSION, .max_readahead = 65536 };
	struct fuse_init_out io;
	struct fuse_entry_out eo;
	struct fuse_getattr_in ga = { 0 };
	struct fuse_attr_out ao;
	struct fuse_open_in oi = { .flags = O_RDONLY };
	struct fuse_open_out oo;
	struct fuse_read_in ri = { .size = 64 };
	char data[64] = { 0 };
	struct virtio_fs_config cfg;
	struct fuse_out_header oh;
	char err[256];
	struct rig r;
	pid_t pid = start_virtiofsd();
	int status;

	assert_non_null(create_retry(&r, err, sizeof(err)));
	assert_true(vufs_ops.features(r.dev) & (1ULL << VIRTIO_F_VERSION_1));
	assert_int_equal(vufs_nr_queues(r.dev), 2);
	vufs_ops.config_read(r.dev, 0, &cfg, sizeof(cfg));
	assert_memory_equal(cfg.tag, "testfs\0", 7);
	assert_int_equal(le32toh(cfg.num_request_queues), 1);
	rig_activate(&r);

	assert_int_equal(fuse_call(&r, FUSE_INIT, 0, &ii, sizeof(ii), &io, sizeof(io), &oh),
			 sizeof(oh) + sizeof(io));
	assert_int_equal(oh.error, 0);
	assert_int_equal(io.major, FUSE_KERNEL_VERSION);

	fuse_call(&r, FUSE_LOOKUP, FUSE_ROOT_ID, "hello.txt", 10, &eo, sizeof(eo), &oh);
	assert_int_equal(oh.error, 0);
	assert_true(eo.nodeid != 0);
	assert_int_equal(eo.attr.size, strlen(T_CONTENT));

	fuse_call(&r, FUSE_GETATTR, eo.nodeid, &ga, sizeof(ga), &ao, sizeof(ao), &oh);
	assert_int_equal(oh.error, 0);
	assert_true(S_ISREG(ao.attr.mode));
	assert_int_equal(ao.attr.size, strlen(T_CONTENT));

	fuse_call(&r, FUSE_OPEN, eo.nodeid, &oi, sizeof(oi), &oo, sizeof(oo), &oh);
	assert_int_equal(oh.error, 0);
	ri.fh = oo.fh;
	assert_int_equal(fuse_call(&r, FUSE_READ, eo.nodeid, &ri, sizeof(ri), data, sizeof(data),
				   &oh), sizeof(oh) + strlen(T_CONTENT));
	assert_string_equal(data, T_CONTENT);
	assert_true(vufs_backend_alive(r.dev));

	/* a request posted but never kicked when the back end dies is answered too */
	gpa_t og;
	uint16_t head = post(&r, 1, FUSE_GETATTR, eo.nodeid, &ga, sizeof(ga), 16 + sizeof(ao), &og);
	uint64_t uniq = r.unique;
	kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	wait_dead(r.dev);
	assert_int_equal(complete(&r, 1, head), sizeof(oh));
	assert_int_equal(gm_read(&r.gm, og, &oh, sizeof(oh)), 0);
	assert_int_equal(oh.error, -EIO);
	assert_true(oh.unique == uniq);

	expect_eio(&r);

	/* FORGET on hiprio has no writable part: pushed with length 0 */
	struct fuse_forget_in fi = { .nlookup = 1 };
	head = post(&r, 0, FUSE_FORGET, eo.nodeid, &fi, sizeof(fi), 0, NULL);
	kick(&r, 0);
	assert_int_equal(complete(&r, 0, head), 0);

	/* a driver reset and a new activation while degraded: still EIO, no hang */
	assert_int_equal(vufs_ops.reset(r.dev), 0);
	r.unique = 0;
	rig_activate(&r);
	expect_eio(&r);
	rig_destroy(&r);
}

/* ---- a scripted fake back end ------------------------------------------------- */

enum fake_mode {
	FAKE_OK,            /* a well-behaved back end */
	FAKE_WRONG_REPLY,   /* answers GET_FEATURES as if it were GET_PROTOCOL_FEATURES */
	FAKE_SILENT,        /* never answers */
	FAKE_DIE_AT_FEATURES, /* hangs up on SET_FEATURES (activation) */
	FAKE_UNSOLICITED,   /* sends a message nobody asked for after SET_OWNER */
};

struct fake {
	int lsock;
	enum fake_mode mode;
	uint64_t features, proto, qnum;
	pthread_t th;
	char path[128];
};

static void fake_reply_u64(int s, uint32_t request, uint64_t v)
{
	struct vu_msg m;

	vu_msg_init(&m, request, 8);
	m.hdr.flags = VU_VERSION | VU_FLAG_REPLY;
	m.p.u64 = v;
	assert_int_equal(vu_msg_send(s, &m, NULL, 0, 1000), 0);
}

static void fake_serve(struct fake *f, int s)
{
	int fds[VU_MAX_FDS];
	unsigned nr;
	struct vu_msg m;

	while (vu_msg_recv(s, &m, fds, VU_MAX_FDS, &nr, 10000) == 0) {
		uint32_t req = m.hdr.request;
		bool ack = m.hdr.flags & VU_FLAG_NEED_REPLY;

		for (unsigned i = 0; i < nr; i++)
			close(fds[i]);
		if (f->mode == FAKE_SILENT)
			continue;
		if (f->mode == FAKE_DIE_AT_FEATURES && req == VU_SET_FEATURES)
			return;
		if (req == VU_GET_FEATURES)
			fake_reply_u64(s, f->mode == FAKE_WRONG_REPLY ? VU_GET_PROTOCOL_FEATURES : req,
				       f->features);
		else if (req == VU_GET_PROTOCOL_FEATURES)
			fake_reply_u64(s, req, f->proto);
		else if (req == VU_GET_QUEUE_NUM)
			fake_reply_u64(s, req, f->qnum);
		else if (req == VU_GET_VRING_BASE)
			fake_reply_u64(s, req, m.p.state.index); /* { index, num 0 } */
		else if (ack)
			fake_reply_u64(s, req, 0);
		if (f->mode == FAKE_UNSOLICITED && req == VU_SET_OWNER)
			fake_reply_u64(s, VU_GET_FEATURES, 0);
	}
}

static void *fake_thread(void *arg)
{
	struct fake *f = arg;
	int s = accept4(f->lsock, NULL, NULL, SOCK_CLOEXEC);

	if (s >= 0) {
		fake_serve(f, s);
		close(s);
	}
	return NULL;
}

static void fake_start(struct fake *f, enum fake_mode mode, uint64_t features, uint64_t proto,
		       uint64_t qnum)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	*f = (struct fake){ .mode = mode, .features = features, .proto = proto, .qnum = qnum };
	snprintf(f->path, sizeof(f->path), "%s/fake.sock", tdir);
	unlink(f->path);
	strcpy(sa.sun_path, f->path);
	f->lsock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(bind(f->lsock, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(f->lsock, 1), 0);
	assert_int_equal(pthread_create(&f->th, NULL, fake_thread, f), 0);
}

static void fake_stop(struct fake *f)
{
	shutdown(f->lsock, SHUT_RDWR); /* unblocks accept() if nobody came */
	pthread_join(f->th, NULL);
	close(f->lsock);
	unlink(f->path);
}

#define F_GOOD (1ULL << VIRTIO_F_VERSION_1 | 1ULL << VU_F_PROTOCOL_FEATURES)
#define P_GOOD (1ULL << VU_PROTOCOL_F_REPLY_ACK | 1ULL << VU_PROTOCOL_F_MQ)

/* create must fail with (needle) in the message */
static void expect_create_fails(enum fake_mode mode, uint64_t feat, uint64_t proto,
				uint64_t qnum, const char *needle)
{
	struct fake f;
	struct rig r;
	char err[256] = "";

	fake_start(&f, mode, feat, proto, qnum);
	assert_null(rig_create(&r, f.path, 200, err, sizeof(err)));
	if (!strstr(err, needle))
		fail_msg("'%s' lacks '%s'", err, needle);
	r.dev = NULL;
	rig_destroy(&r);
	fake_stop(&f);
}

/* A driver reset and re-activation with the real virtiofsd: it keeps serving. */
static void test_vufs_virtiofsd_survives_reset_and_reactivation(void **state)
{
	struct fuse_init_in ii = { .major = FUSE_KERNEL_VERSION,
				   .minor = FUSE_KERNEL_MINOR_VERSION, .max_readahead = 65536 };
	struct fuse_init_out io;
	struct fuse_getattr_in ga = { 0 };
	struct fuse_attr_out ao;
	struct fuse_out_header oh;
	char err[256];
	struct rig r;
	pid_t pid = start_virtiofsd();
	int status;

	assert_non_null(create_retry(&r, err, sizeof(err)));
	rig_activate(&r);
	fuse_call(&r, FUSE_INIT, 0, &ii, sizeof(ii), &io, sizeof(io), &oh);
	assert_int_equal(oh.error, 0);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(vufs_ops.reset(r.dev), 0);
		rig_activate(&r);
		fuse_call(&r, FUSE_GETATTR, FUSE_ROOT_ID, &ga, sizeof(ga), &ao, sizeof(ao), &oh);
		if (oh.error || !vufs_backend_alive(r.dev)) {
			char cmd[200];

			snprintf(cmd, sizeof(cmd), "cat %s/virtiofsd.log >&2", tdir);
			if (system(cmd))
				(void)0;
			fail_msg("round %d: error %d, back end %s", i, oh.error,
				 vufs_backend_alive(r.dev) ? "alive" : "lost");
		}
	}
	rig_destroy(&r);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
}

/* Post (opcode) on the request queue and poll the used ring: no call eventfd. */
static int32_t fuse_call_polled(struct rig *r, uint32_t opcode, uint64_t nodeid, const void *arg,
				uint32_t arg_len, uint32_t out_len)
{
	struct fuse_out_header oh;
	uint32_t id, len;
	gpa_t og = 0;
	uint16_t head = post(r, 1, opcode, nodeid, arg, arg_len, sizeof(oh) + out_len, &og);

	kick(r, 1);
	for (int i = 0; i < T_WAIT_MS; i++) {
		if (th_vq_get_used(&r->dq[1], &id, &len)) {
			assert_int_equal(id, head);
			assert_int_equal(gm_read(&r->gm, og, &oh, sizeof(oh)), 0);
			assert_true(oh.unique == r->unique);
			return oh.error;
		}
		usleep(1000);
	}
	fail_msg("no completion");
	return 0;
}

/*
 * A driver that polls (no MSI-X vector, so no call eventfd): the back end
 * still gets a call fd. With VU_VRING_NOFD, virtiofsd's libvhost-user wrote
 * to fd -1 after its first reply and exited.
 */
static void test_vufs_virtiofsd_serves_queues_without_vector(void **state)
{
	struct fuse_init_in ii = { .major = FUSE_KERNEL_VERSION,
				   .minor = FUSE_KERNEL_MINOR_VERSION, .max_readahead = 65536 };
	struct fuse_getattr_in ga = { 0 };
	int nocall[2] = { -1, -1 };
	char err[256];
	struct rig r;
	pid_t pid = start_virtiofsd();
	int status;

	assert_non_null(create_retry(&r, err, sizeof(err)));
	struct virtio_activation act = {
		.gm = &r.gm, .vqs = r.vqs, .nr_vqs = 2, .features = 1ULL << VIRTIO_F_VERSION_1,
		.evl = &r.evl, .kick_fds = r.kick, .call_fds = nocall,
	};
	rig_rings(&r);
	assert_int_equal(vufs_ops.set_features(r.dev, act.features), 0);
	assert_int_equal(vufs_ops.activate(r.dev, &act), 0);
	assert_int_equal(fuse_call_polled(&r, FUSE_INIT, 0, &ii, sizeof(ii),
					  sizeof(struct fuse_init_out)), 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(fuse_call_polled(&r, FUSE_GETATTR, FUSE_ROOT_ID, &ga, sizeof(ga),
						  sizeof(struct fuse_attr_out)), 0);
	assert_true(vufs_backend_alive(r.dev));
	rig_destroy(&r);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
}

static void test_vufs_no_version_1_refused(void **state)
{
	expect_create_fails(FAKE_OK, 1ULL << VU_F_PROTOCOL_FEATURES, P_GOOD, 2, "VERSION_1");
}

static void test_vufs_wrong_reply_refused(void **state)
{
	expect_create_fails(FAKE_WRONG_REPLY, F_GOOD, P_GOOD, 2, "GET_FEATURES: Bad message");
}

static void test_vufs_silent_backend_times_out(void **state)
{
	expect_create_fails(FAKE_SILENT, F_GOOD, P_GOOD, 2, "timed out");
}

static void test_vufs_too_few_queues_refused(void **state)
{
	expect_create_fails(FAKE_OK, F_GOOD, P_GOOD, 1, "serves 1 queues");
}

static void test_vufs_absurd_queue_num_refused(void **state)
{
	expect_create_fails(FAKE_OK, F_GOOD, P_GOOD, 100000, "GET_QUEUE_NUM: Bad message");
}

static void test_vufs_bad_config_refused(void **state)
{
	struct vufs_config cfg = { .socket_path = "/nonexistent/sock",
				   .tag = "0123456789012345678901234567890123456" };
	struct guest_mem gm;
	char err[256];

	gm_init_empty(&gm);
	assert_null(vufs_create(&cfg, &gm, err, sizeof(err)));
	assert_non_null(strstr(err, "1 to 36 bytes"));
	cfg.tag = "";
	assert_null(vufs_create(&cfg, &gm, err, sizeof(err)));
	cfg.tag = "t";
	assert_null(vufs_create(&cfg, &gm, err, sizeof(err)));
	assert_non_null(strstr(err, "connect"));
	cfg.socket_path = NULL;
	assert_null(vufs_create(&cfg, &gm, err, sizeof(err)));
}

/* A connected socket handed over is the device's: closed on every failure. */
static void test_vufs_connected_fd_closed_on_failure(void **state)
{
	struct vufs_config cfg = { .socket_path = "share0", .tag = "", .socket_connected = true,
				   .timeout_ms = 100 };
	struct guest_mem gm;
	char err[256];
	int sv[2];

	gm_init_empty(&gm);
	/* bad configuration */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	cfg.socket_fd = sv[0];
	assert_null(vufs_create(&cfg, &gm, err, sizeof(err)));
	assert_int_equal(fcntl(sv[0], F_GETFD), -1);
	close(sv[1]);
	/* a back end that never answers: the handshake times out */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	cfg.socket_fd = sv[0];
	cfg.tag = "t";
	assert_null(vufs_create(&cfg, &gm, err, sizeof(err)));
	assert_non_null(strstr(err, "vhost-user share0: GET_FEATURES"));
	assert_int_equal(fcntl(sv[0], F_GETFD), -1);
	close(sv[1]);
}

/* Without protocol features: no REPLY_ACK, no VRING_ENABLE; still works. */
static void test_vufs_plain_backend_activates(void **state)
{
	struct fake f;
	struct rig r;
	char err[256];

	fake_start(&f, FAKE_OK, 1ULL << VIRTIO_F_VERSION_1 | 1ULL << 29, 0, 0);
	assert_non_null(rig_create(&r, f.path, 1000, err, sizeof(err)));
	assert_true(vufs_ops.features(r.dev) == (1ULL << VIRTIO_F_VERSION_1 | 1ULL << 29));
	rig_activate(&r);
	assert_int_equal(vufs_ops.reset(r.dev), 0); /* GET_VRING_BASE answered */
	assert_true(vufs_backend_alive(r.dev));
	rig_destroy(&r);
	fake_stop(&f);
}

/* The back end hangs up during activation (a vCPU-side failure). */
static void test_vufs_death_at_activation_degrades(void **state)
{
	struct fake f;
	struct rig r;
	char err[256];

	fake_start(&f, FAKE_DIE_AT_FEATURES, F_GOOD, P_GOOD, 2);
	assert_non_null(rig_create(&r, f.path, 1000, err, sizeof(err)));
	rig_activate(&r);
	assert_false(vufs_backend_alive(r.dev));
	expect_eio(&r);
	rig_destroy(&r);
	fake_stop(&f);
}

/* A message nobody asked for is a protocol violation: the back end is dropped. */
static void test_vufs_unsolicited_message_degrades(void **state)
{
	struct fake f;
	struct rig r;
	char err[256];

	fake_start(&f, FAKE_UNSOLICITED, F_GOOD, P_GOOD, 2);
	assert_non_null(rig_create(&r, f.path, 1000, err, sizeof(err)));
	wait_dead(r.dev);
	rig_activate(&r);
	expect_eio(&r);
	rig_destroy(&r);
	fake_stop(&f);
}

static int group_setup(void **state)
{
	char p[160];
	FILE *fp;

	snprintf(tdir, sizeof(tdir), "/tmp/test_vu_fs.XXXXXX");
	if (!mkdtemp(tdir))
		return -1;
	snprintf(srcdir, sizeof(srcdir), "%s/src", tdir);
	snprintf(sockpath, sizeof(sockpath), "%s/vfs.sock", tdir);
	if (mkdir(srcdir, 0755))
		return -1;
	snprintf(p, sizeof(p), "%s/hello.txt", srcdir);
	fp = fopen(p, "w");
	if (!fp)
		return -1;
	fputs(T_CONTENT, fp);
	fclose(fp);
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

static int group_teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tdir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vufs_virtiofsd_fuse_then_eio),
		cmocka_unit_test(test_vufs_virtiofsd_survives_reset_and_reactivation),
		cmocka_unit_test(test_vufs_virtiofsd_serves_queues_without_vector),
		cmocka_unit_test(test_vufs_no_version_1_refused),
		cmocka_unit_test(test_vufs_wrong_reply_refused),
		cmocka_unit_test(test_vufs_silent_backend_times_out),
		cmocka_unit_test(test_vufs_too_few_queues_refused),
		cmocka_unit_test(test_vufs_absurd_queue_num_refused),
		cmocka_unit_test(test_vufs_bad_config_refused),
		cmocka_unit_test(test_vufs_connected_fd_closed_on_failure),
		cmocka_unit_test(test_vufs_plain_backend_activates),
		cmocka_unit_test(test_vufs_death_at_activation_degrades),
		cmocka_unit_test(test_vufs_unsolicited_message_degrades),
	};

	if (access(VIRTIOFSD, X_OK) != 0) {
		printf("skip: %s not installed (qemu-system-common)\n", VIRTIOFSD);
		return 77;
	}
	if (geteuid() != 0) {
		printf("skip: virtiofsd's sandbox needs root\n");
		return 77;
	}
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
