// SPDX-License-Identifier: MIT
/* boot.c: boot_setup(): detect the kernel format and drive the loaders, ACPI, e820 and CPU setup. */
#include "boot/boot.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "boot/acpi/acpi.h"
#include "boot/bzimage.h"
#include "boot/cmdline.h"
#include "boot/cpu_setup.h"
#include "boot/e820.h"
#include "boot/initrd.h"
#include "boot/layout.h"
#include "boot/pvh.h"
#include "boot/smbios.h"

#define HDRS_OFF 0x202           /* "HdrS" in a bzImage (Documentation/arch/x86/boot.rst) */
#define KVER_PTR_OFF 0x20e       /* setup_header.kernel_version: string at this value + 0x200 */
#define KVER_BASE 0x200
#define KVER_MAX 256             /* the banner is about 100 bytes */
#define ELF_BANNER "Linux version "

/* A kernel file mapped read-only. */
struct kfile {
	int fd;
	const uint8_t *data;
	size_t len;
};

static int kfile_open(struct kfile *kf, const char *path, char *err, size_t errlen)
{
	struct stat st;
	int ret;

	kf->data = NULL;
	kf->len = 0;
	kf->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (kf->fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(-ret));
		return ret;
	}
	if (fstat(kf->fd, &st) < 0) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(-ret));
		goto err_close;
	}
	ret = -EINVAL;
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		goto err_close;
	}
	if (st.st_size == 0 || (uint64_t)st.st_size > BOOT_KERNEL_FILE_MAX) {
		snprintf(err, errlen, "%s: not a Linux kernel (%s, %lld bytes)", path,
			 st.st_size ? "too big" : "empty", (long long)st.st_size);
		goto err_close;
	}
	kf->len = (size_t)st.st_size;
	void *p = mmap(NULL, kf->len, PROT_READ, MAP_PRIVATE, kf->fd, 0);
	if (p == MAP_FAILED) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(-ret));
		goto err_close;
	}
	kf->data = p;
	return 0;

err_close:
	close(kf->fd);
	kf->fd = -1;
	return ret;
}

static void kfile_close(struct kfile *kf)
{
	if (kf->data)
		munmap((void *)(uintptr_t)kf->data, kf->len);
	if (kf->fd >= 0)
		close(kf->fd);
	kf->data = NULL;
	kf->fd = -1;
}

static enum boot_kernel_kind kernel_kind(const struct kfile *kf)
{
	if (kf->len >= 4 && !memcmp(kf->data, "\x7f" "ELF", 4))
		return BOOT_KIND_PVH;
	if (kf->len >= HDRS_OFF + 4 && !memcmp(kf->data + HDRS_OFF, "HdrS", 4))
		return BOOT_KIND_BZIMAGE;
	return BOOT_KIND_NONE;
}

/* What the two paths share once the kernel is in place. */
struct boot_common {
	struct e820_entry e820[E820_MAX_ENTRIES];
	unsigned nr_e820;
	gpa_t rsdp;
};

/*
 * The command line at BOOT_CMDLINE_GPA and the initrd (if any) within (lim),
 * and the handoff (ho) that points the kernel at them and at (bc).
 */
static int boot_cmdline_initrd(const struct guest_mem *gm, const struct boot_config *cfg,
			       size_t cmdline_max, const struct initrd_limits *lim,
			       const struct boot_common *bc, struct boot_info *info,
			       struct boot_handoff *ho, char *err, size_t errlen)
{
	int ret = boot_cmdline_write(gm, cfg->cmdline ? cfg->cmdline : "", cmdline_max, err,
				     errlen);

	if (!ret && cfg->initrd_path)
		ret = initrd_load(gm, cfg->initrd_path, lim, &info->initrd_gpa, &info->initrd_len,
				  err, errlen);
	*ho = (struct boot_handoff){
		.cmdline_gpa = BOOT_CMDLINE_GPA,
		.initrd_gpa = info->initrd_gpa,
		.initrd_len = info->initrd_len,
		.rsdp_gpa = bc->rsdp,
		.e820 = bc->e820,
		.nr_e820 = bc->nr_e820,
	};
	return ret;
}

/* After the protocol's own step (ret): set up the CPU, or say what failed. */
static int boot_enter(const struct guest_mem *gm, int ret, enum boot_entry_mode mode, gpa_t entry,
		      gpa_t params, struct boot_cpu_state *cpu, const char *what,
		      const struct boot_config *cfg, char *err, size_t errlen)
{
	if (!ret)
		ret = boot_cpu_setup(gm, mode, entry, params, cpu);
	if (ret)
		snprintf(err, errlen, "%s: cannot write %s: %s", cfg->kernel_path, what,
			 strerror(-ret));
	return ret;
}

static int boot_bzimage(const struct guest_mem *gm, const struct boot_config *cfg,
			const struct kfile *kf, const struct boot_common *bc,
			struct boot_cpu_state *cpu, struct boot_info *info, char *err,
			size_t errlen)
{
	struct bzimage_info bi;
	int ret;

	ret = bzimage_load(gm, kf->data, kf->len, cfg->kernel_path, &bi, err, errlen);
	if (ret)
		return ret;
	/* initrd_addr_max is the highest address of the initrd's last byte. */
	struct initrd_limits lim = {
		.min_gpa = bi.kernel_end,
		.max_end = bi.initrd_above_4g ? BOOT_MMIO_HOLE_END : bi.initrd_addr_max + 1,
		.allow_high = bi.initrd_above_4g,
	};
	struct boot_handoff bp;
	ret = boot_cmdline_initrd(gm, cfg, bi.cmdline_size, &lim, bc, info, &bp, err, errlen);
	if (ret)
		return ret;
	ret = boot_enter(gm, bzimage_write_params(gm, kf->data, kf->len, &bi, &bp),
			 BOOT_ENTRY_LONG64, bi.entry64, BOOT_ZERO_PAGE_GPA, cpu, "boot_params", cfg,
			 err, errlen);
	if (ret)
		return ret;
	info->kernel_gpa = bi.load_gpa;
	info->kernel_end = bi.kernel_end;
	info->entry = bi.entry64;
	return 0;
}

static int boot_pvh(const struct guest_mem *gm, const struct boot_config *cfg,
		    const struct kfile *kf, const struct boot_common *bc,
		    struct boot_cpu_state *cpu, struct boot_info *info, char *err, size_t errlen)
{
	struct pvh_info pi;
	int ret;

	ret = pvh_load(gm, kf->data, kf->len, cfg->kernel_path, &pi, err, errlen);
	if (ret)
		return ret;
	/* A 64-bit kernel takes the module anywhere; prefer below the hole. */
	struct initrd_limits lim = {
		.min_gpa = pi.kernel_end,
		.max_end = BOOT_MMIO_HOLE_END,
		.allow_high = true,
	};
	struct boot_handoff pp;
	ret = boot_cmdline_initrd(gm, cfg, BOOT_CMDLINE_PVH_SIZE - 1, &lim, bc, info, &pp, err,
				  errlen);
	if (ret)
		return ret;
	ret = boot_enter(gm, pvh_write_start_info(gm, &pp), BOOT_ENTRY_PROT32, pi.entry,
			 BOOT_PVH_INFO_GPA, cpu, "PVH start info", cfg, err, errlen);
	if (ret)
		return ret;
	info->kernel_gpa = pi.kernel_start;
	info->kernel_end = pi.kernel_end;
	info->entry = pi.entry;
	return 0;
}

/*
 * Real-mode code at the reset vector: with no BIOS, a kernel that reboots
 * through it (x86 reboot=b, or its fallback) would run zeros forever. This
 * writes the ACPI reset register instead, which ends the VM as a reboot.
 */
static int boot_write_reset_stub(const struct guest_mem *gm)
{
	static const uint8_t stub[] = {
		0xba, BOOT_PORT_ACPI_RESET & 0xff, BOOT_PORT_ACPI_RESET >> 8, /* mov dx, port */
		0xb0, BOOT_ACPI_RESET_VALUE,                                  /* mov al, value */
		0xee,                                                         /* out dx, al */
		0xf4,                                                         /* hlt */
		0xeb, 0xfd,                                                   /* jmp hlt */
	};

	return gm_write(gm, BOOT_RESET_VECTOR_GPA, stub, sizeof(stub));
}

/* SMBIOS (boot/smbios.h) with a random version 4 UUID (RFC 4122 §4.4): one per VM. */
static int boot_smbios(const struct guest_mem *gm, const struct boot_config *cfg,
		       struct boot_info *info, char *err, size_t errlen)
{
	struct smbios_config sc = {
		.oem = cfg->oem_strings,
		.nr_oem = cfg->nr_oem_strings,
		.version = cfg->version ? cfg->version : "0",
	};
	int ret = 0;

	if (getrandom(sc.uuid, sizeof(sc.uuid), 0) != (ssize_t)sizeof(sc.uuid))
		ret = -errno;
	sc.uuid[6] = (uint8_t)((sc.uuid[6] & 0x0f) | 0x40); /* version 4: random */
	sc.uuid[8] = (uint8_t)((sc.uuid[8] & 0x3f) | 0x80); /* variant 10x: RFC 4122 */
	if (!ret)
		ret = smbios_build(gm, &sc, &info->smbios_len);
	if (ret)
		snprintf(err, errlen, "SMBIOS tables (%u OEM strings): %s", cfg->nr_oem_strings,
			 strerror(-ret));
	return ret;
}

int boot_setup(const struct guest_mem *gm, const struct boot_config *cfg,
	       struct boot_cpu_state *cpu, struct boot_info *info, char *err, size_t errlen)
{
	struct boot_common bc = { .rsdp = 0 };
	struct kfile kf;
	int ret;

	memset(info, 0, sizeof(*info));
	ret = kfile_open(&kf, cfg->kernel_path, err, errlen);
	if (ret)
		return ret;
	info->kind = kernel_kind(&kf);
	if (info->kind == BOOT_KIND_NONE) {
		snprintf(err, errlen, "%s: not a Linux kernel (no bzImage header or ELF)",
			 cfg->kernel_path);
		ret = -EINVAL;
		goto out_close;
	}

	ret = e820_build(gm, bc.e820, E820_MAX_ENTRIES);
	if (ret < 0) {
		snprintf(err, errlen, "guest RAM too small to boot (%llu bytes)",
			 (unsigned long long)gm->size);
		goto out_close;
	}
	bc.nr_e820 = (unsigned)ret;

	ret = boot_write_reset_stub(gm);
	if (ret) {
		snprintf(err, errlen, "guest RAM too small to boot (no room for the reset stub)");
		goto out_close;
	}

	struct acpi_config acfg = { .nr_cpus = cfg->nr_cpus, .pci = cfg->pci };
	ret = acpi_build(gm, &acfg, &bc.rsdp);
	if (ret) {
		snprintf(err, errlen, "ACPI tables for %u vCPUs: %s", cfg->nr_cpus, strerror(-ret));
		goto out_close;
	}
	info->rsdp_gpa = bc.rsdp;
	ret = boot_smbios(gm, cfg, info, err, errlen);
	if (ret)
		goto out_close;

	if (info->kind == BOOT_KIND_BZIMAGE)
		ret = boot_bzimage(gm, cfg, &kf, &bc, cpu, info, err, errlen);
	else
		ret = boot_pvh(gm, cfg, &kf, &bc, cpu, info, err, errlen);

out_close:
	kfile_close(&kf);
	return ret;
}

int boot_probe(const char *kernel_path, enum boot_kernel_kind *kind, char *err, size_t errlen)
{
	struct bzimage_info bi;
	struct kfile kf;
	gpa_t entry;
	int ret;

	ret = kfile_open(&kf, kernel_path, err, errlen);
	if (ret)
		return ret;
	*kind = kernel_kind(&kf);
	if (*kind == BOOT_KIND_BZIMAGE) {
		ret = bzimage_parse(kf.data, kf.len, kernel_path, &bi, err, errlen);
	} else if (*kind == BOOT_KIND_PVH) {
		ret = pvh_find_entry(kf.data, kf.len, kernel_path, &entry, err, errlen);
	} else {
		snprintf(err, errlen, "%s: not a Linux kernel (no bzImage header or ELF)",
			 kernel_path);
		ret = -EINVAL;
	}
	kfile_close(&kf);
	return ret;
}

/* Copy the word at (s, n) (up to a space, NUL or control byte) into (out). */
static int copy_word(const uint8_t *s, size_t n, char *out, size_t len)
{
	size_t w = 0;

	while (w < n && s[w] > ' ' && s[w] < 0x7f)
		w++;
	if (w == 0)
		return -ENOENT;
	if (w >= len)
		return -ENOSPC;
	memcpy(out, s, w);
	out[w] = '\0';
	return 0;
}

static int release_bzimage(const struct kfile *kf, char *out, size_t len)
{
	uint16_t ptr;

	if (kf->len < KVER_PTR_OFF + sizeof(ptr))
		return -EINVAL;
	memcpy(&ptr, kf->data + KVER_PTR_OFF, sizeof(ptr));
	if (ptr == 0 || (size_t)ptr + KVER_BASE >= kf->len)
		return -ENOENT;
	size_t off = (size_t)ptr + KVER_BASE;
	return copy_word(kf->data + off, MIN(kf->len - off, (size_t)KVER_MAX), out, len);
}

static int release_elf(const struct kfile *kf, char *out, size_t len)
{
	const size_t blen = sizeof(ELF_BANNER) - 1;
	const uint8_t *p = kf->data, *end = kf->data + kf->len;

	/* The banner is linux_banner; skip format strings such as "Linux version %s". */
	while ((p = memmem(p, (size_t)(end - p), ELF_BANNER, blen))) {
		p += blen;
		if (p < end && *p >= '0' && *p <= '9')
			return copy_word(p, MIN((size_t)(end - p), (size_t)KVER_MAX), out, len);
	}
	return -ENOENT;
}

int boot_kernel_release(const char *kernel_path, char *out, size_t len)
{
	char err[256];
	struct kfile kf;
	int ret;

	ret = kfile_open(&kf, kernel_path, err, sizeof(err));
	if (ret)
		return ret;
	switch (kernel_kind(&kf)) {
	case BOOT_KIND_BZIMAGE:
		ret = release_bzimage(&kf, out, len);
		break;
	case BOOT_KIND_PVH:
		ret = release_elf(&kf, out, len);
		break;
	default:
		ret = -EINVAL;
		break;
	}
	kfile_close(&kf);
	return ret;
}
