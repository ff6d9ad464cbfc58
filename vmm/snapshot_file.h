/* SPDX-License-Identifier: MIT */
/*
 * snapshot_file.h: the template file (docs/snapshot.md): a header with the
 * identity of the VM it came from, a section table, the metadata sections
 * (VM, vCPUs, devices) and guest RAM, sparse, at 2 MiB-aligned offsets.
 * Pure C and file I/O, no KVM: vmm/snapshot.c fills and reads the sections.
 *
 *   0                 struct snap_header
 *   header_size       struct snap_section[nr_sections]
 *   ...               metadata section payloads, up to meta_size
 *   ALIGN(2 MiB)      RAM region 0, then region 1 (each 2 MiB-aligned), holes
 *                     where the guest's page is zero; the file is file_size long
 *
 * All integers are little-endian (x86-64 hosts only). meta_crc is the zlib
 * crc32 of bytes [0, meta_size) with the meta_crc field taken as zero.
 */
#ifndef AGENTVMM_VMM_SNAPSHOT_FILE_H
#define AGENTVMM_VMM_SNAPSHOT_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/compiler.h"

#define SNAP_MAGIC "AVMTMPL\0"
#define SNAP_FORMAT_VERSION 1
#define SNAP_VERSION_LEN 32            /* avm_version(), NUL-padded */
#define SNAP_MAX_VCPUS 255             /* VM_MAX_CPUS */
#define SNAP_MAX_DEVICES 16
#define SNAP_MAX_RAM 2                 /* GM_MAX_REGIONS */
#define SNAP_MAX_SECTIONS (1 + SNAP_MAX_VCPUS + SNAP_MAX_DEVICES + SNAP_MAX_RAM)
#define SNAP_META_MAX (16u << 20)      /* header, table and every metadata payload */
#define SNAP_RAM_ALIGN (2ULL << 20)    /* RAM file offsets: mmap-able, huge-page aligned */
#define SNAP_PAGE 4096ULL

enum snap_sec_type {
	SNAP_SEC_VM = 1,      /* irqchips, clock (vmm/snapshot.c) */
	SNAP_SEC_VCPU = 2,    /* index: vCPU id */
	SNAP_SEC_DEVICE = 3,  /* index: enum snap_device */
	SNAP_SEC_RAM = 4,     /* index: RAM region; gpa: its first address */
};

enum snap_device { SNAP_DEV_COM1 = 0, SNAP_DEV_GED = 1 };

enum snap_boot { SNAP_BOOT_RAW = 1, SNAP_BOOT_KERNEL = 2 };

/* What the template was made from, checked on restore (on disk: 48 bytes). */
struct snap_ident {
	uint64_t mem_bytes;
	uint64_t image_size;   /* --raw-image or --kernel file */
	uint64_t initrd_size;  /* 0: none */
	uint32_t nr_vcpus;
	uint32_t boot_kind;    /* enum snap_boot */
	uint32_t image_crc;    /* zlib crc32 of the file's contents */
	uint32_t initrd_crc;
	uint32_t cmdline_crc;  /* the user's --cmdline ("" when none; 0 for a raw image) */
	uint32_t cpuid_crc;    /* the CPUID entries KVM offers (vmm/snapshot.c) */
};

struct snap_header {
	char magic[8];
	uint32_t format_version;
	uint32_t header_size;
	char version[SNAP_VERSION_LEN];
	struct snap_ident id;
	uint64_t meta_size;    /* bytes [0, meta_size) are the metadata */
	uint64_t file_size;    /* the whole file, RAM included */
	uint32_t nr_sections;
	uint32_t meta_crc;
};

struct snap_section {
	uint32_t type;         /* enum snap_sec_type */
	uint32_t index;
	uint64_t offset;       /* in the file */
	uint64_t length;
	uint64_t gpa;          /* SNAP_SEC_RAM only, else 0 */
};

_Static_assert(sizeof(struct snap_ident) == 48, "snap_ident has no padding");
_Static_assert(sizeof(struct snap_header) == 120, "snap_header has no padding");
_Static_assert(sizeof(struct snap_section) == 32, "snap_section has no padding");

/* A parsed, validated metadata block: (meta) holds [0, hdr.meta_size) of the file. */
struct snap_info {
	struct snap_header hdr;
	const uint8_t *meta;
	unsigned nr;
	struct snap_section sec[SNAP_MAX_SECTIONS];
};

/*
 * snap_parse() - validate the metadata (meta, len: at least the file's first
 * meta_size bytes, or all it has) of a file of (file_size) bytes, made by
 * agentvmm (version): magic, format and agentvmm version, sizes (a file
 * shorter than the header says is "truncated"), the crc, every section
 * inside the file and past the table, none overlapping, counts bounded
 * (one VM section, one per vCPU, RAM regions 2 MiB-aligned past the
 * metadata). Return: 0 with (out) filled (out->meta = meta); -EINVAL with
 * one line in (err). Context: pure; (meta) comes from an untrusted file.
 */
int snap_parse(const void *meta, size_t len, uint64_t file_size, const char *version,
	       struct snap_info *out, char *err, size_t errlen) __must_check;

/* snap_find() - section (type, index) of a parsed file, or NULL. */
const struct snap_section *snap_find(const struct snap_info *info, uint32_t type, uint32_t index);

/* snap_payload() - the bytes of a metadata section (not RAM). */
const void *snap_payload(const struct snap_info *info, const struct snap_section *s);

/* One RAM region the restored VM will have (gm_layout()). */
struct snap_region {
	uint64_t gpa, len;
};

/*
 * snap_check_ram() - the file's RAM sections are exactly (exp[0..n)) (same
 * index, gpa and length). Return: 0 or -EINVAL with one line in (err).
 */
int snap_check_ram(const struct snap_info *info, const struct snap_region *exp, unsigned n,
		   char *err, size_t errlen) __must_check;

/* Which identity fields snap_check_ident() compares. */
#define SNAP_ID_MEM (1u << 0)
#define SNAP_ID_CPUS (1u << 1)
#define SNAP_ID_IMAGE (1u << 2)   /* boot kind, size and crc of the image, initrd, cmdline */
#define SNAP_ID_CPUID (1u << 3)

/*
 * snap_check_ident() - compare (have) (the template's) with (want) (this
 * VM's) on the (what) fields; the message names both values, e.g. "--mem 32:
 * the template was made with --mem 16". Return: 0 or -EINVAL.
 */
int snap_check_ident(const struct snap_ident *have, const struct snap_ident *want, unsigned what,
		     char *err, size_t errlen) __must_check;

/* Building a template's metadata (the writer). */
struct snap_writer {
	struct snap_header hdr;
	unsigned nr;
	struct snap_section sec[SNAP_MAX_SECTIONS];
	uint8_t *data;        /* payloads, in order */
	size_t data_len, data_cap;
	int error;            /* first -errno of an add; reported by snap_w_finish() */
};

void snap_w_init(struct snap_writer *w, const struct snap_ident *id, const char *version);
/* snap_w_add() - a metadata section (copied). snap_w_add_ram() - a RAM region. */
void snap_w_add(struct snap_writer *w, uint32_t type, uint32_t index, const void *data,
		size_t len);
void snap_w_add_ram(struct snap_writer *w, uint32_t index, uint64_t gpa, uint64_t len);
/*
 * snap_w_finish() - lay the file out (RAM offsets, sizes, crc) and return the
 * metadata block in (*meta, *meta_len) (malloc'd, the caller frees). The RAM
 * sections' offsets are then in w->sec. Return: 0 or -errno (-E2BIG: too many
 * sections or metadata over SNAP_META_MAX).
 */
int snap_w_finish(struct snap_writer *w, uint8_t **meta, size_t *meta_len) __must_check;
void snap_w_free(struct snap_writer *w);

/*
 * snap_io_all() - pwrite (write) or pread all of (len) bytes at (p) at file
 * offset (off), through EINTR and short transfers. Return: 0 or -errno
 * (-EIO at end of file).
 */
int snap_io_all(int fd, uint8_t *p, size_t len, uint64_t off, bool write) __must_check;

/*
 * snap_write_ram() - write (len) bytes of RAM at (p) to (fd) at (off), only
 * the 4 KiB pages that are not all zero (the rest stays a hole).
 * Return: 0 or -errno. Context: any; reads (p) only.
 */
int snap_write_ram(int fd, uint64_t off, const uint8_t *p, uint64_t len) __must_check;

/*
 * snap_read_ram() - copy (len) bytes at file offset (off) into (dst), reading
 * only the file's data extents (SEEK_DATA/SEEK_HOLE); (dst) must hold zeros
 * where the file has holes (fresh RAM). Return: 0 or -errno (-EIO: short file).
 */
int snap_read_ram(int fd, uint64_t off, uint8_t *dst, uint64_t len) __must_check;

/*
 * A template being written: an unnamed file (O_TMPFILE) in the directory of
 * its path, so a writer killed half-way leaves nothing behind; where the file
 * system has no O_TMPFILE, PATH.tmp (removed by snap_out_abort()).
 */
struct snap_out {
	int fd;         /* -1: none */
	bool named;     /* the fallback: the file is already (tmp) */
	char *tmp;      /* PATH.tmp, the name it gets just before its rename */
	char *path;
};

/*
 * snap_out_open() - a new, empty template file for (path), mode 0600.
 * Return: 0; -errno with one line in (err) naming (path) (its directory
 * missing or not writable, ...). Context: any; no seccomp filter.
 */
int snap_out_open(struct snap_out *o, const char *path, char *err, size_t errlen) __must_check;

/*
 * snap_out_commit() - give the written (and fsynced) file its name: linked
 * as PATH.tmp through /proc/self/fd, then renamed over (path). The fd stays
 * open (snap_out_abort() closes it). Return: 0 or -errno.
 * Context: linkat(), rename(), unlink() (vmm/sandbox.c SANDBOX_OPT_TEMPLATE).
 */
int snap_out_commit(struct snap_out *o) __must_check;

/* snap_out_abort() - close the file; a named one not yet committed is removed. Idempotent. */
void snap_out_abort(struct snap_out *o);

/* An open template: its fd and parsed metadata. */
struct snap_file {
	int fd;
	uint8_t *meta;
	struct snap_info info;
};

/*
 * snap_open() - open (path) read-only, read and snap_parse() its metadata.
 * Return: 0; -errno from open (ENOENT...) or -EINVAL, with one line naming
 * (path) in (err). snap_close(): idempotent on a zeroed (fd = -1) struct.
 */
int snap_open(struct snap_file *f, const char *path, const char *version, char *err,
	      size_t errlen) __must_check;
void snap_close(struct snap_file *f);

/*
 * snap_crc_file() - size and zlib crc32 of (path)'s contents.
 * Return: 0 or -errno.
 */
int snap_crc_file(const char *path, uint64_t *size, uint32_t *crc) __must_check;

/* snap_crc() - zlib crc32 of a buffer. */
uint32_t snap_crc(const void *p, size_t len);

#endif
