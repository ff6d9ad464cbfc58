// SPDX-License-Identifier: MIT
/* vm_devices.c: create and tear down the PCI bus and the virtio devices of a VM. */
#include "vmm/vm_devices.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "boot/cmdline.h"
#include "boot/layout.h"
#include "devices/platform.h"
#include "devices/vhost_user/vu_fs.h"
#include "devices/virtio/virtio_balloon.h"
#include "devices/virtio/virtio_blk.h"
#include "devices/virtio/virtio_net.h"
#include "devices/virtio/virtio_pci.h"
#include "devices/virtio/virtio_pmem.h"
#include "devices/virtio/virtio_rng.h"
#include "devices/virtio/virtio_vsock.h"
#include "guest-init/session_proto.h"
#include "vmm/cli_egress.h"
#include "vmm/cli_net.h"
#include "vmm/log.h"
#include "vmm/net_tap.h"
#include "vmm/net_user.h"
#include "vmm/sandbox.h"
#include "vmm/share.h"
#include "vmm/vm.h"

#define VM_EVL_ENTRIES 1024
#define VM_BLK_MAX_QUEUES 4
#define EXT4_MAGIC_OFF 1080 /* superblock at 1024, s_magic at +56 */
#define BLANK_PROBE_LEN 65536

static int vm_add_virtio(struct vm *vm, const struct virtio_dev_ops *ops, void *dev,
			 uint16_t nr_queues, char *err, size_t errlen)
{
	struct vpci *t;

	if (vm->nr_virtio >= VM_MAX_VIRTIO) {
		snprintf(err, errlen, "too many devices (at most %d)", VM_MAX_VIRTIO);
		ops->destroy(dev);
		return -EINVAL;
	}
	t = vpci_create(ops, dev, nr_queues, &vm->gm, &vm->evl, &vm->msi.ctl, &vm->pci, err,
			errlen);
	if (!t) {
		ops->destroy(dev);
		return -ENOSPC;
	}
	vm->virtio[vm->nr_virtio++] = t;
	return 0;
}

/* A blank image: no ext2/3/4 magic and nothing but zeros at its start. */
static bool disk_is_blank(const char *path)
{
	uint8_t *buf = malloc(BLANK_PROBE_LEN); /* no static buffer: VMs are created in parallel */
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	bool blank = false;
	ssize_t n;

	if (fd < 0 || !buf)
		goto out;
	n = pread(fd, buf, BLANK_PROBE_LEN, 0);
	blank = n == 0;
	for (ssize_t i = 0; i < n; i++) {
		blank = !buf[i];
		if (!blank)
			break;
	}
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	return blank;
}

/* mkfs.ext4 on the host, the way microvm.nix prepares its var.img volumes. */
static int disk_mkfs(const char *path, char *err, size_t errlen)
{
	char owner[64];
	struct stat st;
	int status;
	pid_t pid;

	if (stat(path, &st) < 0) {
		snprintf(err, errlen, "--disk %s: %s", path, strerror(errno));
		return -EINVAL;
	}
	snprintf(owner, sizeof(owner), "root_owner=%u:%u", (unsigned)st.st_uid, (unsigned)st.st_gid);
	fprintf(stderr, "agentvmm: %s is blank: creating an ext4 filesystem\n", path);
	pid = fork();
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDWR | O_CLOEXEC); /* dup2 clears it on 0/1 */
		sigset_t mask;

		/* agentvmm blocks its stop signals (the CLI blocks them before avm_create); mkfs must get them */
		sigemptyset(&mask);
		sigprocmask(SIG_SETMASK, &mask, NULL);
		/* agentvmm killed: mkfs stops too rather than outlive it */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		/* never prompts: no terminal to ask, and its chatter is not ours to show */
		dup2(devnull, STDIN_FILENO);
		dup2(devnull, STDOUT_FILENO);
		execlp("mkfs.ext4", "mkfs.ext4", "-q", "-F", "-E", owner, path, (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0) {
		snprintf(err, errlen, "--disk %s: mkfs.ext4 failed%s", path,
			 pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 127 ?
				 " (install e2fsprogs)" : "");
		return -EINVAL;
	}
	return 0;
}

/*
 * Before /dev/kvm: open every --disk. vblk_create() is the check (missing, not
 * a regular file or block device, empty, size not a multiple of 512, locked by
 * an earlier --disk or another VM) and holds the image's flock from here on.
 * Nothing is written: a blank image is formatted last (vm_devices_prepare()).
 */
static int vm_open_disks(struct vm *vm, char *err, size_t errlen)
{
	const struct vm_config *cfg = vm->cfg;

	for (unsigned i = 0; i < cfg->nr_disks; i++) {
		const struct vm_disk *d = &cfg->disks[i];
		char serial[32];

		snprintf(serial, sizeof(serial), VM_DISK_SERIAL_FMT, i);
		struct vblk_config bc = {
			.path = d->path, .readonly = d->readonly, .direct = d->direct,
			.nr_queues = (uint16_t)MIN(cfg->cpus, VM_BLK_MAX_QUEUES), .serial = serial,
		};
		if (d->mount[0] && d->readonly && disk_is_blank(d->path)) {
			snprintf(err, errlen, "--disk %s: a blank read-only image cannot be mounted "
				 "(drop ro to have agentvmm create a filesystem)", d->path);
			return -EINVAL;
		}
		vm->blk_open[i] = vblk_create(&bc, err, errlen);
		if (!vm->blk_open[i])
			return -EINVAL;
	}
	return 0;
}

uint64_t vm_pmem_gpa(const struct vm_config *cfg, unsigned i)
{
	uint64_t top = BOOT_RAM_HIGH_GPA, mem = cfg->mem_mib << 20;

	if (mem > BOOT_MMIO_HOLE_GPA)
		top += mem - BOOT_MMIO_HOLE_GPA;
	top = (top + VPMEM_MAX_SIZE - 1) & ~(VPMEM_MAX_SIZE - 1);
	return top + (uint64_t)i * VPMEM_MAX_SIZE;
}

static const char *const pmem_fs_names[] = {
	[VPMEM_FS_NONE] = "none", [VPMEM_FS_EROFS] = "erofs", [VPMEM_FS_EXT4] = "ext4",
};

/*
 * Before /dev/kvm: open and map every --pmem (vpmem_create() checks the file
 * and takes its flock); one to be mounted must hold erofs or ext4.
 */
static int vm_open_pmems(struct vm *vm, char *err, size_t errlen)
{
	const struct vm_config *cfg = vm->cfg;

	for (unsigned i = 0; i < cfg->nr_pmems; i++) {
		const struct vm_pmem *d = &cfg->pmems[i];
		struct vpmem_config pc = { .path = d->path, .readonly = d->readonly };

		vm->pmem_open[i] = vpmem_create(&pc, err, errlen);
		if (!vm->pmem_open[i])
			return -EINVAL;
		if (d->mount[0] && vpmem_fstype(d->path) == VPMEM_FS_NONE) {
			snprintf(err, errlen, "--pmem %s: mount= needs an erofs or ext4 image "
				 "(scripts/mkstore.sh makes one from a directory)", d->path);
			return -EINVAL;
		}
	}
	return 0;
}

/* The guest's physical address width, from KVM's CPUID leaf 0x80000008 (36 without it). */
static unsigned guest_phys_bits(const struct kvm *kvm)
{
	for (unsigned i = 0; i < kvm->nr_cpuid; i++)
		if (kvm->cpuid[i].function == 0x80000008 && (kvm->cpuid[i].eax & 0xff))
			return kvm->cpuid[i].eax & 0xff;
	return 36;
}

/* Each --pmem opened by vm_open_pmems(): its memory slot, then onto the bus. */
static int vm_add_pmems(struct vm *vm, char *err, size_t errlen)
{
	unsigned bits = guest_phys_bits(&vm->kvm);

	for (unsigned i = 0; i < vm->cfg->nr_pmems; i++) {
		const struct vm_pmem *d = &vm->cfg->pmems[i];
		uint64_t gpa = vm_pmem_gpa(vm->cfg, i), len;
		void *dev = vm->pmem_open[i], *hva;
		int r;

		vpmem_mapping(dev, &hva, &len);
		if (bits < 64 && gpa + len > (1ULL << bits)) {
			snprintf(err, errlen, "--pmem %s: no room at guest-physical 0x%llx: the CPU "
				 "addresses %u bits", d->path, (unsigned long long)gpa, bits);
			return -EINVAL;
		}
		r = kvm_map_slot(&vm->kvm, VM_PMEM_SLOT0 + i, gpa, len, hva, d->readonly);
		if (r) {
			snprintf(err, errlen, "--pmem %s: cannot map it into KVM: %s", d->path,
				 strerror(-r));
			return r;
		}
		vpmem_set_gpa(dev, gpa);
		vm->pmem_open[i] = NULL; /* vm_add_virtio() owns it, also when it fails */
		r = vm_add_virtio(vm, &vpmem_ops, dev, 1, err, errlen);
		if (r)
			return r;
	}
	return 0;
}

/*
 * Before /dev/kvm: open the tap of every --net. Only TUNSETIFF itself tells
 * whether a tap is busy or whether we may create a missing one, so a missing
 * tap is created here, before kvm_open(), on purpose: it is not persistent
 * and nothing polls it yet, so when anything after this fails (/dev/kvm
 * included) vm_devices_destroy() closes its last fd and the kernel removes it.
 */
static int vm_open_nets(struct vm *vm, char *err, size_t errlen)
{
	_Static_assert(VM_NET_MAX_QUEUES == VNET_MAX_PAIRS, "one fd per queue pair");
	for (unsigned i = 0; i < vm->cfg->nr_nets; i++) {
		const struct vm_net *nc = &vm->cfg->nets[i];
		char label[VM_NET_LABEL_MAX];
		struct vnet_config vc = { .tap = true, .name = nc->nr_fds ? label : nc->tap };
		struct net_tap_info ti;
		int r;

		cli_net_label(nc, label, sizeof(label));
		vc.nr_pairs = (uint16_t)(nc->queues ? nc->queues : 1);
		if (nc->user) {
			/* passt's framing on a socket: no tap, no offloads (vnet_stream.c) */
			vc = (struct vnet_config){ .stream = true, .name = "user", .nr_pairs = 1 };
			memcpy(vc.mac, nc->mac, sizeof(vc.mac));
			if (net_user_start(&vm->net_users[i], nc, &vc.fds[0], err, errlen))
				return -EINVAL;
			vm->net_open[i] = vnet_create(&vc, err, errlen); /* owns the socket */
			if (!vm->net_open[i])
				return -ENOMEM;
			continue;
		}
		/* --net fd=: the parent's tap or macvtap queues, checked and duplicated */
		r = nc->nr_fds ? net_tap_adopt(label, nc->fds, nc->nr_fds, vc.fds, &ti, err, errlen)
			       : net_tap_open(nc->tap, vc.nr_pairs, vc.fds, &ti, err, errlen);
		if (r)
			return -EINVAL;
		vc.offloads = ti.offloads;
		vc.detach = ti.multi_queue;
		memcpy(vc.mac, nc->mac, sizeof(vc.mac));
		log_info("--net %s: %s, %u queue pair%s, offloads %#llx", label,
			 nc->nr_fds ? "inherited fds" : ti.created ? "new tap" : "existing tap",
			 vc.nr_pairs, vc.nr_pairs == 1 ? "" : "s", (unsigned long long)vc.offloads);
		vm->net_open[i] = vnet_create(&vc, err, errlen); /* owns vc.fd from here */
		if (!vm->net_open[i])
			return -ENOMEM;
	}
	return 0;
}

/*
 * Before /dev/kvm, the last of the checks made there: connect the socket of
 * every --fs (waiting up to its wait= for a back end still starting). A back
 * end that serves one front end (virtiofsd) exits when we disconnect after a
 * later error, so every other check comes first. The
 * vhost-user handshake follows with the device (vm_add_share()).
 */
static int vm_connect_fs(struct vm *vm, char *err, size_t errlen)
{
	const struct vm_config *cfg = vm->cfg;
	struct timespec ts;
	uint64_t since_ms;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	since_ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	for (unsigned i = 0; i < cfg->nr_shares; i++)
		share_init(&vm->shares[i]);
	vm->nr_shares = cfg->nr_shares;
	for (unsigned i = 0; i < cfg->nr_shares; i++) {
		int r = 0;

		if (cfg->shares[i].external)
			r = share_connect_external(&vm->shares[i], &cfg->shares[i], since_ms,
						   err, errlen);
		if (r)
			return r;
	}
	return 0;
}

/*
 * Before /dev/kvm: claim the --vsock socket PATH (a live listener there is
 * refused, a stale socket replaced); the device polls it once the loop runs.
 */
static int vm_open_vsock(struct vm *vm, char *err, size_t errlen)
{
	const struct vm_vsock *v = &vm->cfg->vsock;
	struct vsock_config vc = { .guest_cid = v->enabled ? v->cid : VSOCK_MIN_GUEST_CID,
				   .path = v->enabled ? v->socket : NULL, .job_fd = -1 };
	int r = 0;

	if (!v->enabled && !vm->session && !vm->egress.live)
		return 0;
	if (vm->egress.live) {
		vc.egress_fd = vm->egress.ctl_fd;
		vc.egress_port = AVS_PORT_EGRESS;
	}
	if (vm->session) {
		/* the workload's session (vm_session.c); exec only through the control socket */
		vc.job_fd = vm_session_take_job_fd(vm);
		vc.job_port = AVS_PORT_JOB;
		vc.exec_port = AVS_PORT_EXEC;
	}
	vm->vsock_open = vsock_create(&vc, &r, err, errlen);
	return vm->vsock_open ? 0 : r;
}

/*
 * --egress: start the proxy on the merged allow list; log=PATH is created
 * (truncated) here, and the proxy writes the hosts it reached into it.
 */
static int vm_start_egress(struct vm *vm, char *err, size_t errlen)
{
	struct cli_egress_plan plan;
	int list_fd = -1, r;

	if (!vm->cfg->egress.enabled)
		return 0;
	r = cli_egress_build(&vm->cfg->egress, &plan, err, errlen);
	if (r)
		return r;
	if (plan.list) {
		list_fd = open(plan.list, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY, 0644);
		if (list_fd < 0) {
			snprintf(err, errlen, "--egress log=%s: %s", plan.list, strerror(errno));
			cli_egress_plan_free(&plan);
			return -EINVAL;
		}
	}
	r = egress_start(&vm->egress, plan.text, plan.len, plan.log, list_fd, err, errlen);
	if (list_fd >= 0)
		close(list_fd);
	cli_egress_plan_free(&plan);
	return r;
}

int vm_devices_open(struct vm *vm, char *err, size_t errlen)
{
	int r = vm_open_disks(vm, err, errlen);

	if (!r)
		r = vm_open_pmems(vm, err, errlen);
	if (!r)
		r = vm_open_nets(vm, err, errlen);
	if (!r)
		r = vm_start_egress(vm, err, errlen);
	if (!r)
		r = vm_open_vsock(vm, err, errlen);
	if (!r)
		r = vm_connect_fs(vm, err, errlen);
	return r;
}

/* Each --disk opened by vm_open_disks(), onto the bus. */
static int vm_add_disks(struct vm *vm, char *err, size_t errlen)
{
	for (unsigned i = 0; i < vm->cfg->nr_disks; i++) {
		void *dev = vm->blk_open[i];
		int r;

		vm->blk_open[i] = NULL; /* vm_add_virtio() owns it, also when it fails */
		r = vm_add_virtio(vm, &vblk_ops, dev, vblk_nr_queues(dev), err, errlen);
		if (r)
			return r;
	}
	return 0;
}

/*
 * Connect one share's device, on the socket connected before /dev/kvm (--fs)
 * or to the virtiofsd started here (--share).
 */
static int vm_add_share(struct vm *vm, unsigned i, uid_t uid, gid_t gid, char *err,
			size_t errlen)
{
	const struct vm_share *s = &vm->cfg->shares[i];
	struct share_proc *sp = &vm->shares[i];
	char why[512];
	int r;

	if (!s->external) {
		r = share_start(sp, s, uid, gid, err, errlen);
		if (r)
			return r;
	}
	struct vufs_config fc = {
		.socket_path = s->external ? s->socket : sp->sock, .tag = s->tag,
		.socket_connected = true, .socket_fd = sp->conn_fd,
		.nr_request_queues = 1, .evl = &vm->evl,
	};
	sp->conn_fd = -1; /* vufs_create() takes it over, also on failure */
	void *dev = vufs_create(&fc, &vm->gm, why, sizeof(why));
	if (!dev && s->external) {
		snprintf(err, errlen, "--fs %s: %s", s->tag, why);
		return -EINVAL;
	}
	if (!dev) {
		snprintf(err, errlen, "--share %s: %s", s->host, why);
		share_explain(sp, s, err, errlen);
		return -EIO;
	}
	if (!s->external)
		share_connected(sp);
	return vm_add_virtio(vm, &vufs_ops, dev, vufs_nr_queues(dev), err, errlen);
}

static int vm_add_shares(struct vm *vm, char *err, size_t errlen)
{
	uid_t uid;
	gid_t gid;

	share_owner(vm->cfg, &uid, &gid);
	for (unsigned i = 0; i < vm->cfg->nr_shares; i++) {
		int r = vm_add_share(vm, i, uid, gid, err, errlen);

		if (r)
			return r;
	}
	return 0;
}

/* Each --net opened by vm_open_nets(), onto the bus. */
static int vm_add_nets(struct vm *vm, char *err, size_t errlen)
{
	for (unsigned i = 0; i < vm->cfg->nr_nets; i++) {
		void *dev = vm->net_open[i];
		int r;

		vm->net_open[i] = NULL; /* vm_add_virtio() owns it, also when it fails */
		r = vm_add_virtio(vm, &vnet_ops, dev, vnet_nr_queues(dev), err, errlen);
		if (r)
			return r;
	}
	return 0;
}

/* The --vsock device opened by vm_open_vsock(), last on the bus; its timer on the loop. */
static int vm_add_vsock(struct vm *vm, char *err, size_t errlen)
{
	void *dev = vm->vsock_open;
	int r;

	if (!dev)
		return 0;
	vm->vsock_open = NULL; /* vm_add_virtio() owns it, also when it fails */
	r = vsock_start(dev, &vm->evl);
	if (r) {
		snprintf(err, errlen, "--vsock: cannot watch the device's timer: %s", strerror(-r));
		vsock_ops.destroy(dev);
		return r;
	}
	r = vm_add_virtio(vm, &vsock_ops, dev, VSOCK_NR_QUEUES, err, errlen);
	if (!r)
		vm->vsock_dev = dev;
	return r;
}

/* --balloon: the balloon device, after every other (no other device changes its slot). */
static int vm_add_balloon(struct vm *vm, char *err, size_t errlen)
{
	const struct vm_balloon *bc = &vm->cfg->balloon;
	struct vbal_config vc = { .stats = true, .reporting = bc->reporting,
				  .deflate_on_oom = bc->deflate_on_oom, .stats_s = bc->stats_s };
	void *dev;
	int r;

	if (!bc->enabled)
		return 0;
	dev = vbal_create(&vc, err, errlen);
	if (!dev)
		return -ENOMEM;
	vbal_set_ram(dev, vm->cfg->mem_mib << 20);
	r = vbal_start(dev, &vm->evl);
	if (r) {
		snprintf(err, errlen, "--balloon: cannot watch the device's eventfds: %s",
			 strerror(-r));
		vbal_ops.destroy(dev);
		return r;
	}
	r = vm_add_virtio(vm, &vbal_ops, dev, VBAL_NR_QUEUES, err, errlen);
	if (!r)
		vm->balloon_dev = dev;
	return r;
}

int vm_devices_create(struct vm *vm, char *err, size_t errlen)
{
	void *rng;
	int r;

	r = msi_router_init(&vm->msi, &vm->kvm);
	if (r) {
		snprintf(err, errlen, "cannot set up interrupt routing: %s", strerror(-r));
		return r;
	}
	r = evl_init(&vm->evl, VM_EVL_ENTRIES);
	if (r) {
		snprintf(err, errlen, "cannot set up io_uring: %s", strerror(-r));
		return r;
	}
	pci_bus_init(&vm->pci);
	vm->pci_ready = true;
	vm->pci.reset_sink = &vm->power;
	r = pci_bus_register(&vm->pci, &vm->pio, &vm->mmio);
	if (r) {
		snprintf(err, errlen, "cannot register the PCI bus: %s", strerror(-r));
		return r;
	}
	/*
	 * agentvmm template: no PCI device at all. The guest waits at the ready
	 * mark before any driver binds; each VM restored from the template gets
	 * the devices its own options ask for, and its guest-init rescans PCI
	 * (docs/snapshot.md).
	 */
	if (vm->cfg->template)
		return 0;
	rng = vrng_create(err, errlen);
	if (!rng)
		return -ENOMEM;
	r = vm_add_virtio(vm, &vrng_ops, rng, 1, err, errlen);
	if (r)
		return r;
	r = vm_add_disks(vm, err, errlen);
	if (r)
		return r;
	r = vm_add_pmems(vm, err, errlen);
	if (r)
		return r;
	r = vm_add_shares(vm, err, errlen);
	if (r)
		return r;
	r = vm_add_nets(vm, err, errlen);
	if (r)
		return r;
	r = vm_add_vsock(vm, err, errlen);
	if (r)
		return r;
	return vm_add_balloon(vm, err, errlen);
}

int vm_devices_prepare(struct vm *vm, char *err, size_t errlen)
{
	const struct vm_config *cfg = vm->cfg;

	/* last step of vm_create(): nothing else can fail after an image is formatted */
	for (unsigned i = 0; i < cfg->nr_disks; i++) {
		const struct vm_disk *d = &cfg->disks[i];

		if (d->mount[0] && !d->readonly && disk_is_blank(d->path)) {
			int r = disk_mkfs(d->path, err, errlen);

			if (r)
				return r;
		}
	}
	return 0;
}

/* First thing on the I/O thread: its seccomp filter. */
static int vm_io_thread_init(void *opaque)
{
	struct vm *vm = opaque;
	/*
	 * --vsock: the loop accepts on PATH and connects to PATH_<port>; a session
	 * VM's device without --vsock only arms its handshake timer for exec
	 * (docs/security.md)
	 */
	unsigned opts = vm->cfg->vsock.enabled ? SANDBOX_OPT_SOCKETS :
			vm->session		 ? SANDBOX_OPT_TIMER : 0;
	int r;

	if (vm->egress.live)
		opts |= SANDBOX_OPT_EGRESS; /* a socket pair per guest connection */
	r = sandbox_enter_thread_opts(SANDBOX_IO, 0, -1, opts);

	if (r < 0)
		vm_fail(vm, "I/O thread: cannot install its seccomp filter");
	return r;
}

/* The event loop cannot keep watching one of its fds: the VM cannot run on without it. */
static void vm_io_fail(void *opaque, const char *msg)
{
	vm_fail(opaque, "%s", msg);
}

int vm_devices_start(struct vm *vm)
{
	vm->evl.thread_init = vm_io_thread_init;
	vm->evl.thread_init_opaque = vm;
	vm->evl.fail = vm_io_fail;
	vm->evl.fail_opaque = vm;
	return evl_start(&vm->evl);
}

void vm_devices_destroy(struct vm *vm)
{
	/*
	 * Stop the loop and let it drain: completions of in-flight I/O still
	 * reach their (live) devices; only then are the devices freed.
	 */
	evl_fini(&vm->evl);
	for (unsigned i = 0; i < vm->nr_virtio; i++)
		vpci_destroy(vm->virtio[i]);
	vm->nr_virtio = 0;
	vm->vsock_dev = NULL;
	vm->balloon_dev = NULL;
	/* opened by vm_devices_open() but never put on the bus: vm_create() failed first */
	for (unsigned i = 0; i < VM_MAX_DISKS; i++) {
		if (vm->blk_open[i])
			vblk_ops.destroy(vm->blk_open[i]); /* closes the image, drops its lock */
		vm->blk_open[i] = NULL;
	}
	for (unsigned i = 0; i < VM_MAX_PMEM; i++) {
		if (vm->pmem_open[i])
			vpmem_ops.destroy(vm->pmem_open[i]); /* unmaps, drops its lock */
		vm->pmem_open[i] = NULL;
	}
	for (unsigned i = 0; i < VM_MAX_NETS; i++) {
		if (vm->net_open[i])
			vnet_ops.destroy(vm->net_open[i]); /* closes the tap: a new one vanishes */
		vm->net_open[i] = NULL;
	}
	if (vm->vsock_open)
		vsock_ops.destroy(vm->vsock_open); /* closes the listener, removes its PATH */
	vm->vsock_open = NULL;
	/* after the devices: a disconnected virtiofsd, or passt, exits by itself */
	for (unsigned i = 0; i < VM_MAX_NETS; i++)
		net_user_stop(&vm->net_users[i]);
	egress_stop(&vm->egress); /* the proxy exits when its control socket closes */
	for (unsigned i = 0; i < vm->nr_shares; i++)
		share_stop(&vm->shares[i]);
	vm->nr_shares = 0;
	if (vm->pci_ready)
		pci_bus_fini(&vm->pci);
	vm->pci_ready = false;
	msi_router_fini(&vm->msi);
}

/* " KEY=ENC" for (n) items, written at (buf); the argv encoding carries the list. */
static int cmdline_list(const char *key, char **items, int n, char *buf, size_t len)
{
	if (!n)
		return 0;
	if (len < 2)
		return -ENOSPC;
	buf[0] = ' ';
	return boot_cmdline_encode_list(buf + 1, len - 1, key, items, n) < 0 ? -ENOSPC : 0;
}

/* The store overlay rule: a read-only --share mounted at a store path. */
static bool share_is_store(const struct vm_share *s)
{
	return !s->external && s->readonly &&
	       (!strcmp(s->guest, "/nix/store") || !strcmp(s->guest, "/usr"));
}

int vm_devices_cmdline(const struct vm_config *cfg, char *buf, size_t len)
{
	/* no static buffers: VMs may be created side by side */
	char (*items)[VM_PATH_MAX + 64] = malloc(VM_MAX_SHARES * sizeof(*items));
	char *argv[VM_MAX_SHARES];
	int n = 0, r;

	if (!items)
		return -ENOMEM;

	_Static_assert(VM_MAX_DISKS <= VM_MAX_SHARES, "items[] holds the disk list too");
	buf[0] = 0;
	for (unsigned i = 0; i < cfg->nr_disks; i++) {
		const struct vm_disk *d = &cfg->disks[i];

		if (!d->mount[0])
			continue;
		snprintf(items[n], sizeof(items[n]), VM_DISK_SERIAL_FMT ":%s:%s", i,
			 d->readonly ? "ro" : "rw", d->mount);
		argv[n] = items[n];
		n++;
	}
	r = cmdline_list("agentvmm.disks", argv, n, buf, len);
	if (r)
		goto out;
	_Static_assert(VM_MAX_PMEM <= VM_MAX_SHARES, "items[] holds the pmem list too");
	n = 0;
	for (unsigned i = 0; i < cfg->nr_pmems; i++) {
		const struct vm_pmem *d = &cfg->pmems[i];

		if (!d->mount[0])
			continue;
		snprintf(items[n], sizeof(items[n]), "0x%llx:%s:%s:%s:%s",
			 (unsigned long long)vm_pmem_gpa(cfg, i),
			 pmem_fs_names[vpmem_fstype(d->path)], d->readonly ? "ro" : "rw",
			 d->dax ? "dax" : "nodax", d->mount);
		argv[n] = items[n];
		n++;
	}
	size_t used = strlen(buf);
	r = cmdline_list("agentvmm.pmem", argv, n, buf + used, len - used);
	if (r)
		goto out;
	n = 0;
	for (unsigned i = 0; i < cfg->nr_shares; i++) {
		const struct vm_share *s = &cfg->shares[i];

		if (!s->guest[0])
			continue;
		snprintf(items[n], sizeof(items[n]), "%s:%s:%s", s->tag,
			 share_is_store(s) ? "store" : s->readonly ? "ro" : "rw", s->guest);
		argv[n] = items[n];
		n++;
	}
	used = strlen(buf);
	r = cmdline_list("agentvmm.shares", argv, n, buf + used, len - used);
	if (r)
		goto out;
	_Static_assert(VM_MAX_NETS <= VM_MAX_SHARES, "items[] holds the net list too");
	n = 0;
	for (unsigned i = 0; i < cfg->nr_nets; i++) {
		const struct vm_net *d = &cfg->nets[i];
		const uint8_t *m = d->mac;

		char dns[16];

		snprintf(dns, sizeof(dns), "%s", d->dns);
		if (d->user)
			net_user_resolver(d, NULL, dns, sizeof(dns));
		snprintf(items[n], sizeof(items[n]), "%02x:%02x:%02x:%02x:%02x:%02x|%s|%s|%s", m[0],
			 m[1], m[2], m[3], m[4], m[5], d->ip, d->gw, dns);
		if (d->user) /* passt takes frames up to 64 KiB: fewer, larger ones */
			snprintf(items[n] + strlen(items[n]), sizeof(items[n]) - strlen(items[n]),
				 "|%u", VM_NET_USER_MTU);
		argv[n] = items[n];
		n++;
	}
	used = strlen(buf);
	r = cmdline_list("agentvmm.nets", argv, n, buf + used, len - used);
	if (r || !cfg->init)
		goto out;
	/* --init: the system init guest-init hands PID 1 to (one encoded value) */
	snprintf(items[0], sizeof(items[0]), "%s", cfg->init);
	argv[0] = items[0];
	used = strlen(buf);
	r = cmdline_list("agentvmm.init", argv, 1, buf + used, len - used);
out:
	free(items);
	return r;
}
