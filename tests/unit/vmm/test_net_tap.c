// SPDX-License-Identifier: MIT
/*
 * test_net_tap.c: vmm/net_tap.c against real taps and macvtaps (issue 16), in
 * a network namespace of this process's own (unshare(CLONE_NEWNET)), so
 * nothing it makes is seen outside and all of it goes when the process ends:
 * multi-queue taps opened and created, single-queue taps refused for more
 * than one queue, and inherited fds checked (net_tap_adopt()). Needs root and
 * ip(8); skipped (77) otherwise.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <endian.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "devices/virtio/virtio_net.h"
#include "tests/helpers/th_files.h"
#include "tests/helpers/th.h"
#include "tests/helpers/th_vq_driver.h"
#include "vmm/net_tap.h"
#include "tests/helpers/th_evl.h"

static char err[256];

static int sh(const char *cmd)
{
	int st = system(cmd);

	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* A queue of (name) opened as a parent would: TUNSETIFF with (flags). */
static int tun_queue(const char *name, int flags)
{
	struct ifreq ifr = { .ifr_flags = (short)flags };
	int fd = open("/dev/net/tun", O_RDWR);

	assert_true(fd >= 0);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	assert_int_equal(ioctl(fd, TUNSETIFF, &ifr), 0);
	return fd;
}

static int tun_flags(int fd)
{
	struct ifreq ifr = { 0 };

	return ioctl(fd, TUNGETIFF, &ifr) < 0 ? -errno : ifr.ifr_flags;
}

static void close_n(int *fds, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		close(fds[i]);
}

static int group_setup(void **state)
{
	if (geteuid() != 0 || access("/usr/sbin/ip", X_OK) || unshare(CLONE_NEWNET)) {
		print_message("skip: needs root, ip(8) and a network namespace of its own\n");
		exit(77);
	}
	if (sh("ip tuntap add sq0 mode tap vnet_hdr && ip tuntap add mq0 mode tap multi_queue "
	       "vnet_hdr && ip tuntap add mq1 mode tap multi_queue vnet_hdr && "
	       "ip tuntap add tn0 mode tun"))
		return -1;
	return 0;
}

/* A tap agentvmm makes for N > 1 queues is multi_queue, and goes with its last fd. */
static void test_net_tap_created_multi_queue_goes_with_last_fd(void **state)
{
	struct net_tap_info ti;
	int fds[3];

	assert_int_equal(net_tap_open("new0", 3, fds, &ti, err, sizeof(err)), 0);
	assert_true(ti.created);
	assert_true(ti.multi_queue);
	for (int i = 0; i < 3; i++) {
		assert_true(fds[i] > 2);
		assert_int_equal(tun_flags(fds[i]) & (IFF_MULTI_QUEUE | IFF_TAP | IFF_VNET_HDR),
				 IFF_MULTI_QUEUE | IFF_TAP | IFF_VNET_HDR);
		assert_true(fcntl(fds[i], F_GETFL) & O_NONBLOCK);
		assert_true(fcntl(fds[i], F_GETFD) & FD_CLOEXEC);
	}
	assert_int_not_equal(if_nametoindex("new0"), 0);
	close_n(fds, 2);
	assert_int_not_equal(if_nametoindex("new0"), 0);
	close(fds[2]);
	assert_int_equal(if_nametoindex("new0"), 0);
	/* one queue: single-queue, as before issue 16 */
	assert_int_equal(net_tap_open("new1", 1, fds, &ti, err, sizeof(err)), 0);
	assert_true(ti.created);
	assert_false(ti.multi_queue);
	assert_int_equal(tun_flags(fds[0]) & IFF_MULTI_QUEUE, 0);
	close(fds[0]);
}

/* microvm.nix's taps: `multi_queue` refuses a single-queue attach; we retry with it. */
static void test_net_tap_existing_multi_queue_tap_opened(void **state)
{
	struct net_tap_info ti;
	int fds[4];

	assert_int_equal(net_tap_open("mq0", 1, fds, &ti, err, sizeof(err)), 0);
	assert_false(ti.created);
	assert_true(ti.multi_queue);
	assert_true(tun_flags(fds[0]) & IFF_MULTI_QUEUE);
	close(fds[0]);
	assert_int_equal(net_tap_open("mq0", 4, fds, &ti, err, sizeof(err)), 0);
	for (int i = 0; i < 4; i++)
		assert_true(tun_flags(fds[i]) & IFF_MULTI_QUEUE);
	close_n(fds, 4);
	assert_int_not_equal(if_nametoindex("mq0"), 0); /* persistent: left as it was */
}

static void test_net_tap_single_queue_tap_refuses_more_queues(void **state)
{
	struct net_tap_info ti;
	unsigned before = th_count_entries("/proc/self/fd");
	int fds[2];

	assert_int_equal(net_tap_open("sq0", 2, fds, &ti, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "--net tap=sq0: sq0 is a single-queue tap: more than one "
			    "queue needs a tap made multi_queue (ip tuntap add sq0 mode tap "
			    "multi_queue)");
	assert_int_equal(th_count_entries("/proc/self/fd"), before);
	assert_int_equal(net_tap_open("sq0", 1, fds, &ti, err, sizeof(err)), 0);
	assert_false(ti.multi_queue);
	/* held: a second opener is told so */
	assert_int_equal(net_tap_open("sq0", 1, fds + 1, &ti, err, sizeof(err)), -EBUSY);
	assert_string_equal(err, "--net tap=sq0: tap sq0 is in use by another process");
	close(fds[0]);
}

static void test_net_tap_not_a_tap_refused(void **state)
{
	struct net_tap_info ti;
	unsigned before = th_count_entries("/proc/self/fd");
	int fds[2];

	assert_int_equal(net_tap_open("tn0", 1, fds, &ti, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "--net tap=tn0: tn0 is not a tap device (a tun, or another kind "
			    "of interface)");
	assert_int_equal(net_tap_open("lo", 2, fds, &ti, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "--net tap=lo: lo is not a tap device (a tun, or another kind "
			    "of interface)");
	assert_int_equal(th_count_entries("/proc/self/fd"), before);
}

/* --net fd=: a parent's queues of one multi-queue tap, taken over as duplicates. */
static void test_net_tap_adopt_tap_queues(void **state)
{
	int fds[2] = { tun_queue("mq1", IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | IFF_MULTI_QUEUE),
		       tun_queue("mq1", IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | IFF_MULTI_QUEUE) };
	struct net_tap_info ti;
	int out[2];

	assert_int_equal(net_tap_adopt("fd=A:B", fds, 2, out, &ti, err, sizeof(err)), 0);
	assert_true(ti.multi_queue);
	assert_false(ti.created);
	for (int i = 0; i < 2; i++) {
		assert_int_not_equal(out[i], fds[i]);
		assert_true(fcntl(fds[i], F_GETFL) & O_NONBLOCK);
		assert_true(fcntl(fds[i], F_GETFD) & FD_CLOEXEC);
		assert_true(fcntl(out[i], F_GETFD) & FD_CLOEXEC);
	}
	/* the device detaches the queue of a pair not in use: the host steers nothing there */
	struct vnet_config vc = { .fds = { out[0], out[1] }, .nr_pairs = 2, .tap = true,
				  .detach = true, .name = "adopted" };
	void *dev = vnet_create(&vc, err, sizeof(err));
	assert_non_null(dev);
	assert_int_equal(sh("ip -d link show mq1 | grep -q 'numqueues 1 numdisabled 1'"), 0);
	vnet_ops.destroy(dev);
	close_n(fds, 2);
}

static void expect_adopt_err(const int *fds, unsigned n, int e, const char *msg)
{
	struct net_tap_info ti;
	unsigned before = th_count_entries("/proc/self/fd");
	int out[4];

	assert_int_equal(net_tap_adopt("fd=X", fds, n, out, &ti, err, sizeof(err)), e);
	if (!strstr(err, msg) || strncmp(err, "--net fd=X: ", 12))
		fail_msg("got '%s', wanted '%s'", err, msg);
	assert_int_equal(th_count_entries("/proc/self/fd"), before);
}

static void test_net_tap_adopt_refuses_what_is_not_a_tap_queue(void **state)
{
	int fds[2];

	fds[0] = 900;
	expect_adopt_err(fds, 1, -EBADF, "fd 900 is not open (agentvmm must inherit it from its "
			 "parent)");
	fds[0] = open("/proc/self/status", O_RDONLY);
	expect_adopt_err(fds, 1, -ENOTTY, "is not a tap or macvtap (expected /dev/net/tun after "
			 "TUNSETIFF, or a macvtap's /dev/tapN)");
	close(fds[0]);
	fds[0] = open("/dev/null", O_RDWR);
	expect_adopt_err(fds, 1, -ENOTTY, "is not a tap or macvtap");
	close(fds[0]);
	fds[0] = open("/dev/net/tun", O_RDWR);
	expect_adopt_err(fds, 1, -ENOTTY, "(a /dev/net/tun fd not attached to a tap: TUNSETIFF "
			 "first)");
	close(fds[0]);
	fds[0] = tun_queue("tn0", IFF_TUN | IFF_NO_PI);
	expect_adopt_err(fds, 1, -ENOTTY, "is a tun (IFF_TUN), not a tap");
	close(fds[0]);
	fds[0] = tun_queue("sq0", IFF_TAP | IFF_NO_PI);
	expect_adopt_err(fds, 1, -EINVAL, "the tap was opened without IFF_NO_PI and IFF_VNET_HDR");
	close(fds[0]);
	fds[0] = tun_queue("sq0", IFF_TAP | IFF_NO_PI | IFF_VNET_HDR);
	fds[1] = dup(fds[0]);
	expect_adopt_err(fds, 2, -EINVAL, "are the same open queue (one a dup of the other)");
	close(fds[1]);
	fds[1] = tun_queue("mq0", IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | IFF_MULTI_QUEUE);
	expect_adopt_err(fds, 2, -EINVAL, "all fds must be queues of one interface");
	close_n(fds, 2);
}

/* A macvtap's /dev/tapN, opened once per queue (microvm.nix), where the kernel has macvtap. */
static void test_net_tap_adopt_macvtap_queues(void **state)
{
	char path[64];
	unsigned idx;
	struct net_tap_info ti;
	int fds[2], out[2];

	if (sh("ip link add vp0 type veth peer name vp1 && ip link add link vp0 name mv0 "
	       "type macvtap mode bridge 2>/dev/null")) {
		print_message("  no macvtap in this kernel: case skipped\n");
		return;
	}
	/* /sys shows the namespace it was mounted in, not ours: ask the kernel */
	idx = if_nametoindex("mv0");
	assert_int_not_equal(idx, 0);
	snprintf(path, sizeof(path), "/dev/tap%u", idx);
	fds[0] = open(path, O_RDWR);
	if (fds[0] < 0) {
		print_message("  %s: %s: case skipped\n", path, strerror(errno));
		return;
	}
	fds[1] = open(path, O_RDWR);
	assert_true(fds[1] >= 0);
	assert_int_equal(net_tap_adopt("fd=A:B", fds, 2, out, &ti, err, sizeof(err)), 0);
	assert_true(ti.multi_queue);
	/* detaching a macvtap queue works whatever its flags say */
	struct vnet_config vc = { .fds = { out[0], out[1] }, .nr_pairs = 2, .tap = true,
				  .detach = true, .name = "mv" };
	void *dev = vnet_create(&vc, err, sizeof(err));
	assert_non_null(dev);
	vnet_ops.destroy(dev);
	close_n(fds, 2);
	assert_int_equal(sh("ip link del vp0"), 0);
}


/* ---- the device on a real multi-queue tap -------------------------------- */

#define MQ_RAM MiB(4)
#define MQ_QSZ 64
#define MQ_NQ 5 /* rx0 tx0 rx1 tx1 control */
#define MQF ((1ULL << VIRTIO_NET_F_MQ) | (1ULL << VIRTIO_NET_F_CTRL_VQ))

static uint16_t csum16(const uint8_t *p, size_t len)
{
	uint32_t sum = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* Run the device's completions (its tap polls, resumptions) for up to (ms). */
static void loop_for(struct evl *e, unsigned ms)
{
	for (unsigned t = 0; t < ms; t += 10)
		th_evl_turn(e, 10);
}

/* An ICMP echo request from 10.9.0.2 (gmac) to 10.9.0.1 (hwaddr), id (id), into (f). */
static void echo_frame(uint8_t *f, const uint8_t *gmac, const void *hwaddr, uint8_t id)
{
	uint8_t *eth = f + 12, *ip = eth + 14, *icmp = ip + 20;
	uint16_t c;

	memset(f, 0, 12 + 50);
	memcpy(eth, hwaddr, 6);
	memcpy(eth + 6, gmac, 6);
	eth[12] = 0x08;
	ip[0] = 0x45;
	ip[3] = 36;
	ip[6] = 0x40;
	ip[8] = 64;
	ip[9] = 1;
	memcpy(ip + 12, (uint8_t[]){ 10, 9, 0, 2, 10, 9, 0, 1 }, 8);
	c = htobe16(csum16(ip, 20));
	memcpy(ip + 10, &c, 2);
	icmp[0] = 8;
	icmp[4] = 0x12;
	icmp[5] = id;
	icmp[7] = 1;
	c = htobe16(csum16(icmp, 16));
	memcpy(icmp + 2, &c, 2);
}

/* Echo replies (62 bytes with the header) the device put in either receive queue. */
static unsigned replies(struct th_vq *d)
{
	uint32_t id, len;
	unsigned n = 0;

	for (unsigned p = 0; p < 2; p++)
		while (th_vq_get_used(&d[2 * p], &id, &len))
			n += len == 12 + 50;
	return n;
}

/*
 * Two pairs on a multi_queue tap, as the guest drives them: VQ_PAIRS_SET 2,
 * then an ICMP echo sent on pair 1 and one on pair 0. Each goes out its
 * pair's tap queue, and each reply reaches the guest on a pair in use
 * (wherever the host kernel steers it: tun hashes ICMP).
 */
static void test_net_tap_mq_device_both_pairs_on_a_real_tap(void **state)
{
	static const uint8_t gmac[6] = { 2, 0, 0, 0, 0, 9 };
	struct guest_mem gm;
	struct th_vq d[MQ_NQ];
	struct virtq vqs[MQ_NQ];
	struct evl evl;
	struct net_tap_info ti;
	struct vnet_config vc = { .nr_pairs = 2, .tap = true, .name = "mqd0" };
	struct ifreq ifr = { 0 };
	struct vnet_stats st;
	uint8_t f[12 + 50];
	unsigned got = 0;
	uint32_t id, len;
	int s;

	assert_int_equal(sh("ip link set lo up; ip tuntap add mqd0 mode tap multi_queue "
			    "vnet_hdr && ip addr add 10.9.0.1/24 dev mqd0 && ip link set mqd0 up "
			    "&& ip neigh replace 10.9.0.2 lladdr 02:00:00:00:00:09 dev mqd0"), 0);
	assert_int_equal(net_tap_open("mqd0", 2, vc.fds, &ti, err, sizeof(err)), 0);
	vc.detach = ti.multi_queue;
	memcpy(vc.mac, gmac, 6);
	void *dev = vnet_create(&vc, err, sizeof(err));
	assert_non_null(dev);
	th_gm_create(&gm, MQ_RAM);
	for (unsigned q = 0; q < MQ_NQ; q++) {
		th_vq_init_at(&d[q], &gm, MQ_QSZ, MQ_RAM - q * KiB(512));
		d[q].buf_floor = MQ_RAM - (q + 1) * KiB(512);
		th_vq_bind(&d[q], &vqs[q], true, true);
	}
	assert_int_equal(evl_init(&evl, 32), 0);
	struct virtio_activation act = { .gm = &gm, .vqs = vqs, .nr_vqs = MQ_NQ, .evl = &evl,
					 .features = MQF };
	assert_int_equal(vnet_ops.set_features(dev, MQF), 0);
	assert_int_equal(vnet_ops.activate(dev, &act), 0);
	/* the host kernel sees one queue until the driver asks for two */
	assert_int_equal(sh("ip -d link show mqd0 | grep -q 'numqueues 1 numdisabled 1'"), 0);
	/* VQ_PAIRS_SET 2 on the control queue (4) */
	uint8_t cmd[4] = { VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, 2, 0 };
	gpa_t g = th_vq_alloc(&d[4], 4), a = th_vq_alloc(&d[4], 1);
	assert_int_equal(gm_write(&gm, g, cmd, 4), 0);
	struct th_seg cs[2] = { { g, 4, false }, { a, 1, true } };
	th_vq_publish(&d[4], th_vq_add_chain(&d[4], cs, 2));
	vnet_ops.queue_notify(dev, 4);
	assert_true(th_vq_get_used(&d[4], &id, &len));
	assert_int_equal(len, 1);
	assert_int_equal(sh("ip -d link show mqd0 | grep -q 'numqueues 2 numdisabled 0'"), 0);
	for (unsigned p = 0; p < 2; p++) {
		for (int i = 0; i < 16; i++) {
			struct th_seg rs = { th_vq_alloc(&d[2 * p], 1526), 1526, true };

			th_vq_publish(&d[2 * p], th_vq_add_chain(&d[2 * p], &rs, 1));
		}
		vnet_ops.queue_notify(dev, (uint16_t)(2 * p));
	}
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "mqd0");
	assert_int_equal(ioctl(s, SIOCGIFHWADDR, &ifr), 0);
	close(s);
	for (unsigned k = 0; k < 2; k++) {
		unsigned txq = k == 0 ? 3 : 1; /* pair 1 first, then pair 0 */

		echo_frame(f, gmac, ifr.ifr_hwaddr.sa_data, (uint8_t)(k + 1));
		g = th_vq_alloc(&d[txq], sizeof(f));
		assert_int_equal(gm_write(&gm, g, f, sizeof(f)), 0);
		struct th_seg ts = { g, sizeof(f), false };
		th_vq_publish(&d[txq], th_vq_add_chain(&d[txq], &ts, 1));
		vnet_ops.queue_notify(dev, (uint16_t)txq);
		for (int t = 0; t < 100 && got < k + 1; t++) {
			loop_for(&evl, 10);
			got += replies(d);
		}
		assert_int_equal(got, k + 1);
	}
	vnet_get_stats(dev, &st);
	assert_int_equal(st.pair_tx_frames[0], 1);
	assert_int_equal(st.pair_tx_frames[1], 1);
	assert_int_equal(vnet_ops.reset(dev), 0);
	evl_fini(&evl);
	vnet_ops.destroy(dev);
	gm_destroy(&gm);
	assert_int_equal(sh("ip link del mqd0"), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_net_tap_created_multi_queue_goes_with_last_fd),
		cmocka_unit_test(test_net_tap_existing_multi_queue_tap_opened),
		cmocka_unit_test(test_net_tap_single_queue_tap_refuses_more_queues),
		cmocka_unit_test(test_net_tap_not_a_tap_refused),
		cmocka_unit_test(test_net_tap_adopt_tap_queues),
		cmocka_unit_test(test_net_tap_adopt_refuses_what_is_not_a_tap_queue),
		cmocka_unit_test(test_net_tap_adopt_macvtap_queues),
		cmocka_unit_test(test_net_tap_mq_device_both_pairs_on_a_real_tap),
	};

	return cmocka_run_group_tests(tests, group_setup, NULL);
}
