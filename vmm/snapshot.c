// SPDX-License-Identifier: MIT
/*
 * snapshot.c: templates: the KVM state of a VM stopped at the guest's ready
 * mark (vCPUs, irqchip, clock), its devices and RAM into a template file
 * (vmm/snapshot_file.c), and a VM created from one (docs/snapshot.md).
 */
#include "vmm/snapshot.h"

#include <cpuid.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agentvmm.h"
#include "boot/layout.h"
#include "vmm/log.h"
#include "vmm/vm.h"

#define SNAP_MAX_MSRS 4096
#define SNAP_XSAVE_MAX (1u << 20)

/* vCPU section flags: which optional parts it holds. */
#define SNAP_VCPU_XCRS 0x1
#define SNAP_VCPU_DEBUGREGS 0x2

/* One vCPU's section: this, then xsave_len bytes of XSAVE, then nr_msrs kvm_msr_entry. */
struct snap_vcpu {
	uint32_t xsave_len;
	uint32_t nr_msrs;
	uint32_t flags;
	uint32_t pad;
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_xcrs xcrs;
	struct kvm_lapic_state lapic;
	struct kvm_vcpu_events events;
	struct kvm_debugregs dregs;
	struct kvm_mp_state mp;
	uint32_t pad2;
};

/* The VM section: PIC master, PIC slave, IOAPIC, then the clock. */
struct snap_vm {
	struct kvm_irqchip chip[3];
	struct kvm_clock_data clock;
};

static const uint32_t snap_chips[3] = { KVM_IRQCHIP_PIC_MASTER, KVM_IRQCHIP_PIC_SLAVE,
					KVM_IRQCHIP_IOAPIC };

unsigned snapshot_ioctls(unsigned long *out, unsigned max)
{
	static const unsigned long req[] = {
		KVM_GET_REGS, KVM_GET_SREGS, KVM_GET_XSAVE, KVM_GET_XSAVE2, KVM_GET_XCRS,
		KVM_GET_LAPIC, KVM_GET_VCPU_EVENTS, KVM_GET_DEBUGREGS, KVM_GET_MP_STATE,
		KVM_GET_MSR_INDEX_LIST, KVM_GET_MSRS, KVM_GET_IRQCHIP, KVM_GET_CLOCK,
		KVM_CHECK_EXTENSION,
	};
	unsigned n = 0;

	for (size_t i = 0; i < ARRAY_SIZE(req) && n < max; i++)
		out[n++] = req[i];
	return n;
}

/* XSAVE buffer size: KVM_CAP_XSAVE2's when larger than struct kvm_xsave. */
static size_t snap_xsave_size(const struct kvm *kvm)
{
	int n = ioctl(kvm->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE2);

	return n > (int)sizeof(struct kvm_xsave) ? (size_t)n : sizeof(struct kvm_xsave);
}

/*
 * The CPUID vCPU 0 gets (kvm_vcpu_set_cpuid()): KVM's supported entries
 * carry the host CPU's APIC id, which boot_cpuid_fixup() replaces.
 */
static uint32_t snap_cpuid_crc(const struct kvm *kvm, unsigned nr_cpus)
{
	size_t len = kvm->nr_cpuid * sizeof(*kvm->cpuid);
	struct boot_cpuid_entry *c = malloc(len ? len : 1);
	uint32_t crc;

	if (!c)
		return 0;
	memcpy(c, kvm->cpuid, len);
	boot_cpuid_fixup(c, kvm->nr_cpuid, 0, nr_cpus);
	crc = snap_crc(c, len);
	free(c);
	return crc;
}

/* ---- capture ---------------------------------------------------------- */

/* The MSR indices KVM saves and restores (KVM_GET_MSR_INDEX_LIST, system fd). */
static struct kvm_msr_list *snap_msr_list(const struct kvm *kvm)
{
	struct kvm_msr_list probe = { .nmsrs = 0 }, *l;

	if (ioctl(kvm->sys_fd, KVM_GET_MSR_INDEX_LIST, &probe) < 0 && errno != E2BIG)
		return NULL;
	if (probe.nmsrs > SNAP_MAX_MSRS)
		probe.nmsrs = SNAP_MAX_MSRS;
	l = calloc(1, sizeof(*l) + probe.nmsrs * sizeof(l->indices[0]));
	if (!l)
		return NULL;
	l->nmsrs = probe.nmsrs;
	if (probe.nmsrs && ioctl(kvm->sys_fd, KVM_GET_MSR_INDEX_LIST, l) < 0) {
		free(l);
		return NULL;
	}
	return l;
}

/*
 * Read every listed MSR: KVM_GET_MSRS stops at the first it cannot read and
 * returns how many it read; that one is dropped and the rest read on.
 * Return: a kvm_msrs holding the ones read, or NULL.
 */
static struct kvm_msrs *snap_get_msrs(int fd, const struct kvm_msr_list *list)
{
	struct kvm_msrs *m = calloc(1, sizeof(*m) + list->nmsrs * sizeof(m->entries[0]));
	struct kvm_msrs *q = calloc(1, sizeof(*q) + list->nmsrs * sizeof(q->entries[0]));
	uint32_t done = 0, kept = 0;

	if (!m || !q)
		goto fail;
	while (done < list->nmsrs) {
		int n;

		q->nmsrs = list->nmsrs - done;
		for (uint32_t i = 0; i < q->nmsrs; i++)
			q->entries[i] = (struct kvm_msr_entry){ .index = list->indices[done + i] };
		n = ioctl(fd, KVM_GET_MSRS, q);
		if (n < 0)
			goto fail;
		memcpy(&m->entries[kept], q->entries, (size_t)n * sizeof(q->entries[0]));
		kept += (uint32_t)n;
		done += (uint32_t)n;
		if (done < list->nmsrs) {
			log_dbg("snapshot: MSR 0x%x cannot be read, left out", list->indices[done]);
			done++;
		}
	}
	m->nmsrs = kept;
	free(q);
	return m;
fail:
	free(m);
	free(q);
	return NULL;
}

static int snap_capture_vcpu(struct vm *vm, struct vcpu *v, const struct kvm_msr_list *list,
			     struct snap_writer *w)
{
	size_t xlen = snap_xsave_size(&vm->kvm);
	struct kvm_msrs *msrs = NULL;
	struct snap_vcpu *s;
	uint8_t *buf;
	size_t len;
	int r = 0;

	buf = calloc(1, sizeof(*s) + xlen + (size_t)list->nmsrs * sizeof(struct kvm_msr_entry));
	if (!buf)
		return -ENOMEM;
	s = (struct snap_vcpu *)(void *)buf;
	if (ioctl(v->fd, KVM_GET_REGS, &s->regs) < 0 || ioctl(v->fd, KVM_GET_SREGS, &s->sregs) < 0 ||
	    ioctl(v->fd, KVM_GET_LAPIC, &s->lapic) < 0 ||
	    ioctl(v->fd, KVM_GET_VCPU_EVENTS, &s->events) < 0 ||
	    ioctl(v->fd, KVM_GET_MP_STATE, &s->mp) < 0 ||
	    ioctl(v->fd, xlen > sizeof(struct kvm_xsave) ? KVM_GET_XSAVE2 : KVM_GET_XSAVE,
		  buf + sizeof(*s)) < 0) {
		r = -errno;
		goto out;
	}
	s->xsave_len = (uint32_t)xlen;
	if (ioctl(v->fd, KVM_GET_XCRS, &s->xcrs) == 0)
		s->flags |= SNAP_VCPU_XCRS;
	if (ioctl(v->fd, KVM_GET_DEBUGREGS, &s->dregs) == 0)
		s->flags |= SNAP_VCPU_DEBUGREGS;
	msrs = snap_get_msrs(v->fd, list);
	if (!msrs) {
		r = -errno ? -errno : -ENOMEM;
		goto out;
	}
	s->nr_msrs = msrs->nmsrs;
	memcpy(buf + sizeof(*s) + xlen, msrs->entries, msrs->nmsrs * sizeof(msrs->entries[0]));
	len = sizeof(*s) + xlen + msrs->nmsrs * sizeof(msrs->entries[0]);
	snap_w_add(w, SNAP_SEC_VCPU, v->id, buf, len);
out:
	free(msrs);
	free(buf);
	return r;
}

static int snap_capture_vm(struct vm *vm, struct snap_writer *w)
{
	struct snap_vm s;

	memset(&s, 0, sizeof(s));
	for (unsigned i = 0; i < 3; i++) {
		s.chip[i].chip_id = snap_chips[i];
		if (ioctl(vm->kvm.vm_fd, KVM_GET_IRQCHIP, &s.chip[i]) < 0)
			return -errno;
	}
	if (ioctl(vm->kvm.vm_fd, KVM_GET_CLOCK, &s.clock) < 0)
		return -errno;
	snap_w_add(w, SNAP_SEC_VM, 0, &s, sizeof(s));
	return 0;
}

static void snap_capture_devices(struct vm *vm, struct snap_writer *w)
{
	static uint8_t buf[UART_STATE_MAX];
	size_t n = uart_state_save(&vm->com1, buf, sizeof(buf));

	snap_w_add(w, SNAP_SEC_DEVICE, SNAP_DEV_COM1, buf, n);
	n = ged_state_save(&vm->ged, buf, sizeof(buf));
	snap_w_add(w, SNAP_SEC_DEVICE, SNAP_DEV_GED, buf, n);
}

/* The metadata, then RAM (sparse), then the file's full size. */
static int snap_write_file(struct vm *vm, int fd, struct snap_writer *w, uint64_t *size)
{
	uint8_t *meta = NULL;
	size_t meta_len;
	int r;

	for (unsigned i = 0; i < vm->gm.nr_regions; i++)
		snap_w_add_ram(w, i, vm->gm.regions[i].gpa, vm->gm.regions[i].len);
	r = snap_w_finish(w, &meta, &meta_len);
	if (r)
		return r;
	r = ftruncate(fd, 0) < 0 ? -errno : snap_io_all(fd, meta, meta_len, 0, true);
	free(meta);
	for (unsigned i = 0; !r && i < w->nr; i++) {
		const struct snap_section *s = &w->sec[i];
		const uint8_t *p;

		if (s->type != SNAP_SEC_RAM)
			continue;
		p = gm_ptr(&vm->gm, s->gpa, s->length);
		r = p ? snap_write_ram(fd, s->offset, p, s->length) : -EFAULT;
	}
	/* trailing zero pages are a hole too: the size says where RAM ends */
	if (!r && ftruncate(fd, (off_t)w->hdr.file_size) < 0)
		r = -errno;
	if (!r && fsync(fd) < 0)
		r = -errno;
	*size = w->hdr.file_size;
	return r;
}

/* The whole template into (fd); no vCPU may run. Return: 0 or -errno. */
static int snap_capture(struct vm *vm, int fd, uint64_t *size)
{
	struct kvm_msr_list *list = snap_msr_list(&vm->kvm);
	struct snap_writer w;
	int r = 0;

	if (!list)
		return errno ? -errno : -EIO;
	snap_w_init(&w, &vm->snap_id, avm_version());
	r = snap_capture_vm(vm, &w);
	for (unsigned i = 0; !r && i < vm->nr_vcpus; i++)
		r = snap_capture_vcpu(vm, &vm->vcpus[i], list, &w);
	if (!r) {
		snap_capture_devices(vm, &w);
		r = snap_write_file(vm, fd, &w, size);
	}
	free(list);
	snap_w_free(&w);
	return r;
}

int snapshot_write(struct vm *vm)
{
	uint64_t size = 0;
	int r = snap_capture(vm, vm->snap_out.fd, &size);

	if (!r)
		r = snap_out_commit(&vm->snap_out);
	if (r) {
		log_err("template %s: %s", vm->cfg->template_out, strerror(-r));
		return r;
	}
	log_info("template written to %s", vm->cfg->template_out);
	return 0;
}

int snapshot_take(struct vm *vm, int fd, uint64_t *size, char *err, size_t errlen)
{
	struct stat st;
	int fl = fcntl(fd, F_GETFL), r;

	if (fl < 0 || (fl & O_ACCMODE) != O_RDWR || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "the template must go to a regular file open for reading "
			 "and writing");
		return -EBADF;
	}
	if (!__atomic_load_n(&vm->template_ready, __ATOMIC_ACQUIRE)) {
		snprintf(err, errlen, vm->cfg->template && !vm->cfg->template_out ?
			 "the VM is not at its ready mark yet (try again)" :
			 "only a VM made with agentvmm template and no --out is snapshotted");
		return vm->cfg->template && !vm->cfg->template_out ? -EAGAIN : -EINVAL;
	}
	/* parked at the mark already (vm_template_hold()): this only waits for the last one */
	r = vm_pause(vm);
	if (!r)
		r = snap_capture(vm, fd, size);
	if (r) {
		snprintf(err, errlen, "%s", r == -ESRCH ? "the VM is stopping" : strerror(-r));
		return r;
	}
	log_info("template written (%llu bytes); the template VM ends",
		 (unsigned long long)*size);
	vm_request_stop(vm, VM_STOP_TEMPLATE, 0);
	return 0;
}

int snapshot_template_open(struct vm *vm, char *err, size_t errlen)
{
	char msg[256];
	int r = snap_out_open(&vm->snap_out, vm->cfg->template_out, msg, sizeof(msg));

	if (r)
		snprintf(err, errlen, "--out %s", msg);
	return r;
}

/* Append " (key)(val, n)" to (out) at *used (no space first); -E2BIG when it does not fit. */
static int restore_append(char *out, size_t len, size_t *used, const char *key, const char *val,
			  size_t n)
{
	size_t k = strlen(key);

	if (*used + k + n + 2 > len)
		return -E2BIG;
	if (*used)
		out[(*used)++] = ' ';
	memcpy(out + *used, key, k);
	memcpy(out + *used + k, val, n);
	*used += k + n;
	out[*used] = '\0';
	return 0;
}

/*
 * Only the agentvmm.* keys: the kernel's own were the template's to take.
 * page_reporting.page_reporting_order (--balloon reporting-order) goes as
 * agentvmm.page_reporting_order, which guest-init sets at run time.
 */
static int restore_keys(const char *cmdline, char *out, size_t len)
{
	static const char order[] = "page_reporting.page_reporting_order=";
	const size_t olen = sizeof(order) - 1;
	const char *p = cmdline;
	size_t used = 0, n;
	int r = 0;

	out[0] = '\0';
	while (*p && !r) {
		p += strspn(p, " ");
		n = strcspn(p, " ");
		if (n && !strncmp(p, "agentvmm.", 9))
			r = restore_append(out, len, &used, "", p, n);
		else if (n > olen && !strncmp(p, order, olen))
			r = restore_append(out, len, &used, "agentvmm.page_reporting_order=",
					   p + olen, n - olen);
		p += n;
	}
	return r;
}

int snapshot_restore_config(struct vm *vm, const char *cmdline, char *err, size_t errlen)
{
	uint8_t seed[32];
	size_t len = strlen(cmdline) + 2 * sizeof(seed) + 64, used;
	char *t;
	int r;

	if (vm->snap_id.boot_kind != SNAP_BOOT_KERNEL)
		return 0; /* a raw image reads no configuration */
	if (getrandom(seed, sizeof(seed), 0) != (ssize_t)sizeof(seed)) {
		snprintf(err, errlen, "--restore: getrandom: %s", strerror(errno));
		return -EIO;
	}
	t = malloc(len);
	if (!t)
		return -ENOMEM;
	r = restore_keys(cmdline, t, len);
	used = strlen(t);
	if (!r) {
		used += (size_t)snprintf(t + used, len - used, "%sagentvmm.seed=", used ? " " : "");
		for (size_t i = 0; i < sizeof(seed); i++)
			used += (size_t)snprintf(t + used, len - used, "%02x", seed[i]);
	}
	explicit_bzero(seed, sizeof(seed));
	if (r) {
		free(t);
		snprintf(err, errlen, "--restore: configuration too long");
		return r;
	}
	vm->restore_text = t;
	return 0;
}

int snapshot_restore_arm(struct vm *vm)
{
	struct timespec ts;
	size_t used = strlen(vm->restore_text), len = used + 40;
	char *t = realloc(vm->restore_text, len);
	int r;

	if (!t)
		return -ENOMEM;
	vm->restore_text = t;
	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(t + used, len - used, " agentvmm.time=%lld.%09ld", (long long)ts.tv_sec,
		 ts.tv_nsec);
	r = restore_port_set(&vm->restore_port, t, strlen(t));
	explicit_bzero(t, strlen(t));
	free(t);
	vm->restore_text = NULL;
	return r;
}

void snapshot_release(struct vm *vm)
{
	snap_out_abort(&vm->snap_out); /* a template not finished: nothing of it stays */
	if (vm->restore_text) {
		explicit_bzero(vm->restore_text, strlen(vm->restore_text));
		free(vm->restore_text);
		vm->restore_text = NULL;
	}
	if (vm->restore) {
		snap_close(vm->restore);
		free(vm->restore);
		vm->restore = NULL;
	}
}

/* ---- identity ----------------------------------------------------------- */

static int snap_ident_file(const char *opt, const char *path, uint64_t *size, uint32_t *crc,
			   char *err, size_t errlen)
{
	int r = snap_crc_file(path, size, crc);

	if (r)
		snprintf(err, errlen, "%s %s: %s", opt, path, strerror(-r));
	return r;
}

/* This VM's identity as far as the options say (cpuid_crc: snapshot_check_host()). */
static int snap_ident_of(struct vm *vm, struct snap_ident *id, char *err, size_t errlen)
{
	const struct vm_config *cfg = vm->cfg;
	int r = 0;

	memset(id, 0, sizeof(*id));
	id->mem_bytes = cfg->mem_mib << 20;
	id->nr_vcpus = cfg->cpus;
	if (cfg->raw_image) {
		/* read by vm_check_input(): the bytes that will be (or were) loaded */
		id->boot_kind = SNAP_BOOT_RAW;
		id->image_size = vm->raw_len;
		id->image_crc = snap_crc(vm->raw_image, vm->raw_len);
		return 0;
	}
	if (!cfg->kernel)
		return 0;
	id->boot_kind = SNAP_BOOT_KERNEL;
	/*
	 * the user's --cmdline, not the whole line: agentvmm's own keys differ
	 * between the template and each restore (whose keys go to the restore port)
	 */
	id->cmdline_crc = snap_crc(cfg->cmdline ? cfg->cmdline : "",
				   cfg->cmdline ? strlen(cfg->cmdline) : 0);
	r = snap_ident_file("--kernel", cfg->kernel, &id->image_size, &id->image_crc, err, errlen);
	if (!r && cfg->initrd)
		r = snap_ident_file("--initrd", cfg->initrd, &id->initrd_size, &id->initrd_crc, err,
				    errlen);
	return r;
}

int snapshot_peek(const char *path, struct snap_ident *id, char *err, size_t errlen)
{
	struct snap_file f = { .fd = -1 };
	int r = snap_open(&f, path, avm_version(), err, errlen);

	if (!r)
		*id = f.info.hdr.id;
	snap_close(&f);
	return r;
}

int snapshot_prepare(struct vm *vm, char *err, size_t errlen)
{
	const struct vm_config *cfg = vm->cfg;
	struct snap_region exp[GM_MAX_REGIONS];
	struct snap_ident want;
	unsigned what = SNAP_ID_MEM | SNAP_ID_CPUS, n;
	int r;

	r = snap_ident_of(vm, &vm->snap_id, err, errlen);
	if (r || !cfg->restore)
		return r;
	vm->restore = calloc(1, sizeof(*vm->restore));
	if (!vm->restore)
		return -ENOMEM;
	vm->restore->fd = -1;
	r = snap_open(vm->restore, cfg->restore, avm_version(), err, errlen);
	if (r) {
		free(vm->restore);
		vm->restore = NULL;
		return r;
	}
	want = vm->snap_id;
	if (cfg->raw_image || cfg->kernel)
		what |= SNAP_ID_IMAGE;
	else
		vm->snap_id.boot_kind = vm->restore->info.hdr.id.boot_kind; /* what runs */
	r = snap_check_ident(&vm->restore->info.hdr.id, &want, what, err, errlen);
	if (r)
		return r;
	/* the user's --cmdline is the template's, --kernel given or not */
	if (!(what & SNAP_ID_IMAGE) && vm->restore->info.hdr.id.boot_kind == SNAP_BOOT_KERNEL) {
		const char *c = cfg->cmdline ? cfg->cmdline : "";

		if (snap_crc(c, strlen(c)) != vm->restore->info.hdr.id.cmdline_crc) {
			snprintf(err, errlen, "--cmdline '%.64s': the template was made with another "
				 "kernel command line (a restored VM keeps the template's)", c);
			return -EINVAL;
		}
	}
	n = gm_layout(want.mem_bytes, BOOT_MMIO_HOLE_GPA, exp);
	return snap_check_ram(&vm->restore->info, exp, n, err, errlen);
}

int snapshot_check_host(struct vm *vm, char *err, size_t errlen)
{
	vm->snap_id.cpuid_crc = snap_cpuid_crc(&vm->kvm, vm->cfg->cpus);
	if (!vm->restore)
		return 0;
	return snap_check_ident(&vm->restore->info.hdr.id, &vm->snap_id, SNAP_ID_CPUID, err,
				errlen);
}

/* ---- restore ------------------------------------------------------------ */

int snapshot_restore_memory(struct vm *vm, char *err, size_t errlen)
{
	const struct snap_info *in = &vm->restore->info;

	for (unsigned i = 0; i < vm->gm.nr_regions; i++) {
		const struct snap_section *s = snap_find(in, SNAP_SEC_RAM, i);
		int r;

		/* anonymous RAM: the file's pages, copy-on-write; a memfd: a copy */
		if (vm->gm.fd < 0)
			r = gm_map_file(&vm->gm, i, vm->restore->fd, s->offset);
		else
			r = snap_read_ram(vm->restore->fd, s->offset,
					  gm_ptr(&vm->gm, s->gpa, s->length), s->length);
		if (r) {
			snprintf(err, errlen, "--restore %s: cannot map guest RAM: %s",
				 vm->cfg->restore, strerror(-r));
			return r;
		}
	}
	return 0;
}

/* An AMD host (SVM), by CPUID: agentvmm runs where KVM runs. */
static bool snap_host_is_svm(void)
{
	unsigned a, b, c, d;

	return __get_cpuid(0x80000001, &a, &b, &c, &d) && (c & (1u << 2)); /* ECX.SVM */
}

/* A vCPU section, its lengths checked against this host's. */

static int snap_restore_vcpu(struct vm *vm, struct vcpu *v, const struct snap_section *sec)
{
	const uint8_t *p = snap_payload(&vm->restore->info, sec);
	size_t xlen = snap_xsave_size(&vm->kvm);
	struct kvm_msrs *msrs;
	struct snap_vcpu s;
	int r = 0;

	if (sec->length < sizeof(s))
		return -EINVAL;
	memcpy(&s, p, sizeof(s));
	if (s.xsave_len != xlen || s.nr_msrs > SNAP_MAX_MSRS ||
	    sec->length != sizeof(s) + xlen + (uint64_t)s.nr_msrs * sizeof(struct kvm_msr_entry))
		return -EINVAL;
	msrs = calloc(1, sizeof(*msrs) + s.nr_msrs * sizeof(msrs->entries[0]));
	if (!msrs)
		return -ENOMEM;
	msrs->nmsrs = s.nr_msrs;
	memcpy(msrs->entries, p + sizeof(s) + xlen, s.nr_msrs * sizeof(msrs->entries[0]));
	/* NMI and SIPI state as saved; shadow and SMM as KVM_GET_VCPU_EVENTS said */
	s.events.flags |= KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SIPI_VECTOR;
	/*
	 * On AMD, KVM_GET_SREGS reports TR as busy whatever the VMCB holds
	 * (svm_get_segment() sets the bit); what LTR left there is the
	 * available type, and an emulated SVM (QEMU's TCG, the nested test
	 * host) refuses every user-mode port access through a busy TR. SVM
	 * checks no TR type at VMRUN, so give back what the guest had; Intel's
	 * VM entry wants busy, and keeps it.
	 */
	if (snap_host_is_svm() && s.sregs.tr.type == 11)
		s.sregs.tr.type = 9;
	/* order: Documentation/virt/kvm/api.rst; sregs (modes) before regs, MSRs before events */
	if (ioctl(v->fd, KVM_SET_SREGS, &s.sregs) < 0 || ioctl(v->fd, KVM_SET_REGS, &s.regs) < 0) {
		r = -errno;
		goto out;
	}
	int n = ioctl(v->fd, KVM_SET_MSRS, msrs);
	if (n < 0 || (uint32_t)n != msrs->nmsrs) {
		log_err("vCPU %u: KVM_SET_MSRS set %d of %u (MSR 0x%x refused)", v->id, n,
			msrs->nmsrs, n >= 0 && (uint32_t)n < msrs->nmsrs ? msrs->entries[n].index : 0);
		r = n < 0 ? -errno : -EINVAL;
		goto out;
	}
	if (ioctl(v->fd, KVM_SET_VCPU_EVENTS, &s.events) < 0 ||
	    ioctl(v->fd, KVM_SET_MP_STATE, &s.mp) < 0 || ioctl(v->fd, KVM_SET_LAPIC, &s.lapic) < 0 ||
	    ((s.flags & SNAP_VCPU_DEBUGREGS) && ioctl(v->fd, KVM_SET_DEBUGREGS, &s.dregs) < 0) ||
	    ioctl(v->fd, KVM_SET_XSAVE, p + sizeof(s)) < 0 ||
	    ((s.flags & SNAP_VCPU_XCRS) && ioctl(v->fd, KVM_SET_XCRS, &s.xcrs) < 0))
		r = -errno;
out:
	free(msrs);
	return r;
}

static int snap_restore_vm(struct vm *vm)
{
	const struct snap_section *sec = snap_find(&vm->restore->info, SNAP_SEC_VM, 0);
	struct snap_vm s;

	if (sec->length != sizeof(s))
		return -EINVAL;
	memcpy(&s, snap_payload(&vm->restore->info, sec), sizeof(s));
	for (unsigned i = 0; i < 3; i++) {
		if (s.chip[i].chip_id != snap_chips[i])
			return -EINVAL;
		if (ioctl(vm->kvm.vm_fd, KVM_SET_IRQCHIP, &s.chip[i]) < 0)
			return -errno;
	}
	/* the guest's clock goes on from where it stopped */
	struct kvm_clock_data c = { .clock = s.clock.clock };
	if (ioctl(vm->kvm.vm_fd, KVM_SET_CLOCK, &c) < 0)
		return -errno;
	return 0;
}

static int snap_restore_devices(struct vm *vm)
{
	const struct snap_info *in = &vm->restore->info;
	const struct snap_section *s = snap_find(in, SNAP_SEC_DEVICE, SNAP_DEV_COM1);
	int r;

	if (!s)
		return -EINVAL;
	r = uart_state_load(&vm->com1, snap_payload(in, s), s->length);
	s = snap_find(in, SNAP_SEC_DEVICE, SNAP_DEV_GED);
	if (!r && s)
		r = ged_state_load(&vm->ged, snap_payload(in, s), s->length);
	return r;
}

int snapshot_restore_state(struct vm *vm, char *err, size_t errlen)
{
	const char *what = "the irqchip or clock";
	int r = snap_restore_vm(vm);

	for (unsigned i = 0; !r && i < vm->nr_vcpus; i++) {
		what = "a vCPU";
		r = snap_restore_vcpu(vm, &vm->vcpus[i],
				      snap_find(&vm->restore->info, SNAP_SEC_VCPU, i));
	}
	if (!r) {
		what = "a device";
		r = snap_restore_devices(vm);
	}
	if (r) {
		snprintf(err, errlen, "--restore %s: cannot restore %s: %s%s", vm->cfg->restore,
			 what, strerror(-r), r == -EINVAL ? " (damaged template?)" : "");
		return r;
	}
	/* the template's file stays mapped where RAM came from it; the fd is no longer needed */
	snap_close(vm->restore);
	free(vm->restore);
	vm->restore = NULL;
	return 0;
}
