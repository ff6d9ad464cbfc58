// SPDX-License-Identifier: MIT
/* snapshot_file.c: the template file: layout, parsing and validation, sparse RAM (no KVM). */
#include "vmm/snapshot_file.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

uint32_t snap_crc(const void *p, size_t len)
{
	uLong c = crc32(0L, Z_NULL, 0);
	const uint8_t *b = p;

	/* zlib takes uInt lengths */
	while (len) {
		uInt n = len > (1u << 30) ? (1u << 30) : (uInt)len;

		c = crc32(c, b, n);
		b += n;
		len -= n;
	}
	return (uint32_t)c;
}

/* The crc of the metadata with the header's meta_crc field as zero. */
static uint32_t snap_meta_crc(const uint8_t *meta, size_t len)
{
	struct snap_header h;
	uLong c;

	memcpy(&h, meta, sizeof(h));
	h.meta_crc = 0;
	c = crc32(0L, (const Bytef *)&h, sizeof(h));
	return (uint32_t)crc32(c, meta + sizeof(h), (uInt)(len - sizeof(h)));
}

/* Overflow-free: [off, off+len) lies in [lo, hi). */
static bool snap_range_in(uint64_t off, uint64_t len, uint64_t lo, uint64_t hi)
{
	return off >= lo && off <= hi && len <= hi - off;
}

static int snap_check_header(const struct snap_header *h, size_t len, uint64_t file_size,
			     const char *version, char *err, size_t errlen)
{
	char v[SNAP_VERSION_LEN + 1];

	if (memcmp(h->magic, SNAP_MAGIC, sizeof(h->magic))) {
		snprintf(err, errlen, "not an agentvmm template (bad magic)");
		return -EINVAL;
	}
	if (h->format_version != SNAP_FORMAT_VERSION) {
		snprintf(err, errlen, "template format version %" PRIu32 ", this agentvmm reads "
			 "version %d", h->format_version, SNAP_FORMAT_VERSION);
		return -EINVAL;
	}
	memcpy(v, h->version, SNAP_VERSION_LEN);
	v[SNAP_VERSION_LEN] = 0;
	for (char *c = v; *c; c++)
		if ((unsigned char)*c < 0x20 || (unsigned char)*c > 0x7e)
			*c = '?';
	if (strncmp(h->version, version, SNAP_VERSION_LEN) != 0) {
		snprintf(err, errlen, "template made by agentvmm %s, this is agentvmm %s", v,
			 version);
		return -EINVAL;
	}
	if (h->header_size != sizeof(*h) || h->meta_size > SNAP_META_MAX ||
	    h->meta_size < sizeof(*h) || h->nr_sections > SNAP_MAX_SECTIONS ||
	    h->nr_sections * (uint64_t)sizeof(struct snap_section) > h->meta_size - sizeof(*h)) {
		snprintf(err, errlen, "damaged template (header sizes)");
		return -EINVAL;
	}
	if (file_size < h->file_size || len < h->meta_size) {
		snprintf(err, errlen, "truncated template (%" PRIu64 " of %" PRIu64 " bytes)",
			 file_size, h->file_size);
		return -EINVAL;
	}
	if (file_size != h->file_size || h->file_size < h->meta_size) {
		snprintf(err, errlen, "damaged template (%" PRIu64 " bytes, the header says %"
			 PRIu64 ")", file_size, h->file_size);
		return -EINVAL;
	}
	if (h->id.nr_vcpus < 1 || h->id.nr_vcpus > SNAP_MAX_VCPUS || !h->id.mem_bytes ||
	    h->id.mem_bytes % SNAP_PAGE ||
	    (h->id.boot_kind != SNAP_BOOT_RAW && h->id.boot_kind != SNAP_BOOT_KERNEL)) {
		snprintf(err, errlen, "damaged template (identity fields)");
		return -EINVAL;
	}
	return 0;
}

/* One section: type and index known, inside its area; counts per kind in (seen). */
static int snap_check_section(const struct snap_header *h, const struct snap_section *s,
			      uint64_t table_end, char *err, size_t errlen)
{
	bool ok;

	switch (s->type) {
	case SNAP_SEC_VM:
		ok = s->index == 0;
		break;
	case SNAP_SEC_VCPU:
		ok = s->index < h->id.nr_vcpus;
		break;
	case SNAP_SEC_DEVICE:
		ok = s->index < SNAP_MAX_DEVICES;
		break;
	case SNAP_SEC_RAM:
		ok = s->index < SNAP_MAX_RAM && s->length && s->length % SNAP_PAGE == 0 &&
		     s->offset % SNAP_RAM_ALIGN == 0 && s->offset >= h->meta_size &&
		     s->gpa % SNAP_PAGE == 0 && s->gpa <= UINT64_MAX - s->length &&
		     snap_range_in(s->offset, s->length, h->meta_size, h->file_size);
		break;
	default:
		ok = false;
	}
	if (ok && s->type != SNAP_SEC_RAM)
		ok = s->gpa == 0 && snap_range_in(s->offset, s->length, table_end, h->meta_size);
	if (!ok) {
		snprintf(err, errlen, "damaged template (section type %" PRIu32 " index %" PRIu32
			 " at %" PRIu64 "+%" PRIu64 " out of range)", s->type, s->index, s->offset,
			 s->length);
		return -EINVAL;
	}
	return 0;
}

/* No two sections overlap, none repeats (type, index); counts are complete. */
static int snap_check_set(const struct snap_info *in, char *err, size_t errlen)
{
	unsigned vms = 0, vcpus = 0;

	for (unsigned i = 0; i < in->nr; i++) {
		const struct snap_section *a = &in->sec[i];

		vms += a->type == SNAP_SEC_VM;
		vcpus += a->type == SNAP_SEC_VCPU;
		for (unsigned j = 0; j < i; j++) {
			const struct snap_section *b = &in->sec[j];

			if (a->type == b->type && a->index == b->index) {
				snprintf(err, errlen, "damaged template (section type %" PRIu32
					 " index %" PRIu32 " twice)", a->type, a->index);
				return -EINVAL;
			}
			/* both in range, so no overflow; empty sections overlap nothing */
			if (a->length && b->length && a->offset < b->offset + b->length &&
			    b->offset < a->offset + a->length) {
				snprintf(err, errlen, "damaged template (sections %u and %u overlap)",
					 j, i);
				return -EINVAL;
			}
		}
	}
	if (vms != 1 || vcpus != in->hdr.id.nr_vcpus) {
		snprintf(err, errlen, "damaged template (%u VM sections, %u of %" PRIu32
			 " vCPU sections)", vms, vcpus, in->hdr.id.nr_vcpus);
		return -EINVAL;
	}
	return 0;
}

int snap_parse(const void *meta, size_t len, uint64_t file_size, const char *version,
	       struct snap_info *out, char *err, size_t errlen)
{
	const struct snap_header *h = &out->hdr;
	uint64_t table_end;
	int r;

	memset(out, 0, sizeof(*out));
	if (len < sizeof(*h) || file_size < sizeof(*h)) {
		snprintf(err, errlen, "truncated template (%" PRIu64 " bytes, no header)",
			 MIN((uint64_t)len, file_size));
		return -EINVAL;
	}
	memcpy(&out->hdr, meta, sizeof(out->hdr));
	r = snap_check_header(h, len, file_size, version, err, errlen);
	if (r)
		return r;
	if (snap_meta_crc(meta, (size_t)h->meta_size) != h->meta_crc) {
		snprintf(err, errlen, "damaged template (metadata crc mismatch)");
		return -EINVAL;
	}
	table_end = sizeof(*h) + (uint64_t)h->nr_sections * sizeof(struct snap_section);
	out->nr = h->nr_sections;
	memcpy(out->sec, (const uint8_t *)meta + sizeof(*h),
	       out->nr * sizeof(struct snap_section));
	for (unsigned i = 0; i < out->nr; i++) {
		r = snap_check_section(h, &out->sec[i], table_end, err, errlen);
		if (r)
			return r;
	}
	r = snap_check_set(out, err, errlen);
	if (r)
		return r;
	out->meta = meta;
	return 0;
}

const struct snap_section *snap_find(const struct snap_info *info, uint32_t type, uint32_t index)
{
	for (unsigned i = 0; i < info->nr; i++)
		if (info->sec[i].type == type && info->sec[i].index == index)
			return &info->sec[i];
	return NULL;
}

const void *snap_payload(const struct snap_info *info, const struct snap_section *s)
{
	return info->meta + s->offset;
}

int snap_check_ram(const struct snap_info *info, const struct snap_region *exp, unsigned n,
		   char *err, size_t errlen)
{
	unsigned have = 0;

	for (unsigned i = 0; i < info->nr; i++)
		have += info->sec[i].type == SNAP_SEC_RAM;
	for (unsigned i = 0; i < n; i++) {
		const struct snap_section *s = snap_find(info, SNAP_SEC_RAM, i);

		if (!s || s->gpa != exp[i].gpa || s->length != exp[i].len) {
			snprintf(err, errlen, "damaged template (RAM region %u does not match a VM "
				 "of %" PRIu64 " MiB)", i, info->hdr.id.mem_bytes >> 20);
			return -EINVAL;
		}
	}
	if (have != n) {
		snprintf(err, errlen, "damaged template (%u RAM regions, expected %u)", have, n);
		return -EINVAL;
	}
	return 0;
}

int snap_check_ident(const struct snap_ident *have, const struct snap_ident *want, unsigned what,
		     char *err, size_t errlen)
{
	if ((what & SNAP_ID_MEM) && have->mem_bytes != want->mem_bytes) {
		snprintf(err, errlen, "--mem %" PRIu64 ": the template was made with --mem %" PRIu64
			 " (a restored VM has the template's memory size)", want->mem_bytes >> 20,
			 have->mem_bytes >> 20);
		return -EINVAL;
	}
	if ((what & SNAP_ID_CPUS) && have->nr_vcpus != want->nr_vcpus) {
		snprintf(err, errlen, "--cpus %" PRIu32 ": the template was made with --cpus %"
			 PRIu32 " (a restored VM has the template's vCPUs)", want->nr_vcpus,
			 have->nr_vcpus);
		return -EINVAL;
	}
	if ((what & SNAP_ID_IMAGE) && (have->boot_kind != want->boot_kind ||
				       have->image_size != want->image_size ||
				       have->image_crc != want->image_crc)) {
		snprintf(err, errlen, "%s (%" PRIu64 " bytes, crc32 %08" PRIx32 "): the template "
			 "was made from a %s of %" PRIu64 " bytes, crc32 %08" PRIx32,
			 want->boot_kind == SNAP_BOOT_RAW ? "--raw-image" : "--kernel",
			 want->image_size, want->image_crc,
			 have->boot_kind == SNAP_BOOT_RAW ? "raw image" : "kernel",
			 have->image_size, have->image_crc);
		return -EINVAL;
	}
	if ((what & SNAP_ID_IMAGE) && (have->initrd_size != want->initrd_size ||
				       have->initrd_crc != want->initrd_crc ||
				       have->cmdline_crc != want->cmdline_crc)) {
		snprintf(err, errlen, "the initrd or kernel command line (crc32 %08" PRIx32 ", %08"
			 PRIx32 ") differs from the template's (%08" PRIx32 ", %08" PRIx32 ")",
			 want->initrd_crc, want->cmdline_crc, have->initrd_crc, have->cmdline_crc);
		return -EINVAL;
	}
	if ((what & SNAP_ID_CPUID) && have->cpuid_crc != want->cpuid_crc) {
		snprintf(err, errlen, "the template was made on a host whose KVM offers other CPU "
			 "features (CPUID crc32 %08" PRIx32 ", here %08" PRIx32 ")", have->cpuid_crc,
			 want->cpuid_crc);
		return -EINVAL;
	}
	return 0;
}

void snap_w_init(struct snap_writer *w, const struct snap_ident *id, const char *version)
{
	memset(w, 0, sizeof(*w));
	memcpy(w->hdr.magic, SNAP_MAGIC, sizeof(w->hdr.magic));
	w->hdr.format_version = SNAP_FORMAT_VERSION;
	w->hdr.header_size = sizeof(w->hdr);
	memcpy(w->hdr.version, version, MIN(strlen(version), (size_t)SNAP_VERSION_LEN));
	w->hdr.id = *id;
}

static struct snap_section *snap_w_section(struct snap_writer *w)
{
	if (w->nr >= SNAP_MAX_SECTIONS) {
		w->error = w->error ? w->error : -E2BIG;
		return NULL;
	}
	return &w->sec[w->nr++];
}

void snap_w_add(struct snap_writer *w, uint32_t type, uint32_t index, const void *data,
		size_t len)
{
	struct snap_section *s = snap_w_section(w);

	if (!s)
		return;
	if (w->data_len + len > w->data_cap) {
		size_t cap = MAX(w->data_cap * 2, w->data_len + len + 4096);
		uint8_t *n = cap <= SNAP_META_MAX ? realloc(w->data, cap) : NULL;

		if (!n) {
			w->error = w->error ? w->error : (cap > SNAP_META_MAX ? -E2BIG : -ENOMEM);
			w->nr--;
			return;
		}
		w->data = n;
		w->data_cap = cap;
	}
	/* offset relative to the payloads for now; snap_w_finish() adds the table's end */
	*s = (struct snap_section){ .type = type, .index = index, .offset = w->data_len,
				    .length = len };
	if (len)
		memcpy(w->data + w->data_len, data, len);
	w->data_len += len;
}

void snap_w_add_ram(struct snap_writer *w, uint32_t index, uint64_t gpa, uint64_t len)
{
	struct snap_section *s = snap_w_section(w);

	if (s)
		*s = (struct snap_section){ .type = SNAP_SEC_RAM, .index = index, .gpa = gpa,
					    .length = len };
}

int snap_w_finish(struct snap_writer *w, uint8_t **meta, size_t *meta_len)
{
	uint64_t table_end = sizeof(w->hdr) + (uint64_t)w->nr * sizeof(struct snap_section);
	uint64_t meta_size = table_end + w->data_len, at;
	uint8_t *m;

	if (w->error)
		return w->error;
	if (meta_size > SNAP_META_MAX)
		return -E2BIG;
	at = ALIGN_UP(meta_size, SNAP_RAM_ALIGN);
	for (unsigned i = 0; i < w->nr; i++) {
		struct snap_section *s = &w->sec[i];

		if (s->type == SNAP_SEC_RAM) {
			s->offset = at;
			at = ALIGN_UP(at + s->length, SNAP_RAM_ALIGN);
		} else {
			s->offset += table_end;
		}
	}
	/* the file ends with the last RAM region, not its alignment padding */
	w->hdr.file_size = meta_size;
	for (unsigned i = 0; i < w->nr; i++)
		if (w->sec[i].type == SNAP_SEC_RAM)
			w->hdr.file_size = MAX(w->hdr.file_size, w->sec[i].offset + w->sec[i].length);
	w->hdr.meta_size = meta_size;
	w->hdr.nr_sections = w->nr;
	w->hdr.meta_crc = 0;
	m = malloc(meta_size);
	if (!m)
		return -ENOMEM;
	memcpy(m, &w->hdr, sizeof(w->hdr));
	memcpy(m + sizeof(w->hdr), w->sec, w->nr * sizeof(struct snap_section));
	if (w->data_len)
		memcpy(m + table_end, w->data, w->data_len);
	w->hdr.meta_crc = snap_meta_crc(m, meta_size);
	memcpy(m, &w->hdr, sizeof(w->hdr));
	*meta = m;
	*meta_len = meta_size;
	return 0;
}

void snap_w_free(struct snap_writer *w)
{
	free(w->data);
	w->data = NULL;
	w->data_len = w->data_cap = 0;
}

static bool snap_page_zero(const uint8_t *p)
{
	const uint64_t *q = (const uint64_t *)(const void *)p;

	for (size_t i = 0; i < SNAP_PAGE / sizeof(*q); i++)
		if (q[i])
			return false;
	return true;
}

int snap_io_all(int fd, uint8_t *p, size_t len, uint64_t off, bool write)
{
	while (len) {
		ssize_t n = write ? pwrite(fd, p, len, (off_t)off) : pread(fd, p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

int snap_write_ram(int fd, uint64_t off, const uint8_t *p, uint64_t len)
{
	uint64_t i = 0;

	/* runs of non-zero pages, one pwrite each */
	while (i < len) {
		uint64_t start, n = MIN(SNAP_PAGE, len - i);

		if (n == SNAP_PAGE && snap_page_zero(p + i)) {
			i += SNAP_PAGE;
			continue;
		}
		start = i;
		i += n;
		while (i < len && (len - i < SNAP_PAGE || !snap_page_zero(p + i)))
			i += MIN(SNAP_PAGE, len - i);
		int r = snap_io_all(fd, (uint8_t *)(uintptr_t)(p + start), (size_t)(i - start),
				    off + start, true);
		if (r)
			return r;
	}
	return 0;
}

int snap_read_ram(int fd, uint64_t off, uint8_t *dst, uint64_t len)
{
	uint64_t end = off + len, pos = off;

	while (pos < end) {
		off_t d = lseek(fd, (off_t)pos, SEEK_DATA), h;

		if (d < 0)
			return errno == ENXIO ? 0 : -errno; /* only holes up to the end */
		if ((uint64_t)d >= end)
			return 0;
		h = lseek(fd, d, SEEK_HOLE);
		if (h < 0)
			return -errno;
		uint64_t stop = MIN((uint64_t)h, end);
		int r = snap_io_all(fd, dst + ((uint64_t)d - off), (size_t)(stop - (uint64_t)d),
				    (uint64_t)d, false);
		if (r)
			return r;
		pos = stop;
	}
	return 0;
}

int snap_open(struct snap_file *f, const char *path, const char *version, char *err,
	      size_t errlen)
{
	struct snap_header h;
	struct stat st;
	size_t want;
	char why[200];
	int r;

	f->meta = NULL;
	f->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (f->fd < 0 || fstat(f->fd, &st) < 0) {
		r = -errno;
		snprintf(err, errlen, "--restore %s: %s", path, strerror(-r));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "--restore %s: not a regular file", path);
		r = -EINVAL;
		goto fail;
	}
	/* the header says how much metadata to read; snap_parse() checks it all */
	want = sizeof(h);
	if ((uint64_t)st.st_size >= sizeof(h) && pread(f->fd, &h, sizeof(h), 0) == sizeof(h) &&
	    h.meta_size <= SNAP_META_MAX && h.meta_size <= (uint64_t)st.st_size)
		want = MAX(want, (size_t)h.meta_size);
	want = (size_t)MIN((uint64_t)want, (uint64_t)st.st_size);
	f->meta = malloc(MAX(want, (size_t)1));
	if (!f->meta) {
		r = -ENOMEM;
		snprintf(err, errlen, "--restore %s: out of memory", path);
		goto fail;
	}
	r = snap_io_all(f->fd, f->meta, want, 0, false);
	if (r) {
		snprintf(err, errlen, "--restore %s: %s", path, strerror(-r));
		goto fail;
	}
	r = snap_parse(f->meta, want, (uint64_t)st.st_size, version, &f->info, why, sizeof(why));
	if (r) {
		snprintf(err, errlen, "--restore %s: %s", path, why);
		goto fail;
	}
	return 0;
fail:
	snap_close(f);
	return r;
}

void snap_close(struct snap_file *f)
{
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
	free(f->meta);
	f->meta = NULL;
}

int snap_crc_file(const char *path, uint64_t *size, uint32_t *crc)
{
	uint8_t buf[65536];
	uLong c = crc32(0L, Z_NULL, 0);
	uint64_t n = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC), r = 0;

	if (fd < 0)
		return -errno;
	for (;;) {
		ssize_t k = read(fd, buf, sizeof(buf));

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			r = -errno;
		if (k <= 0)
			break;
		c = crc32(c, buf, (uInt)k);
		n += (uint64_t)k;
	}
	close(fd);
	*size = n;
	*crc = (uint32_t)c;
	return r;
}

/* ---- the file being written -------------------------------------------- */

int snap_out_open(struct snap_out *o, const char *path, char *err, size_t errlen)
{
	const char *slash = strrchr(path, '/');
	char *dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) :
			    strdup(".");
	int r = 0;

	*o = (struct snap_out){ .fd = -1 };
	o->path = strdup(path);
	if (!dir || !o->path || asprintf(&o->tmp, "%s.tmp", path) < 0) {
		o->tmp = NULL;
		free(dir);
		snap_out_abort(o);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	o->fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (o->fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
		/* no O_TMPFILE here: a named PATH.tmp, removed on failure */
		o->named = true;
		o->fd = open(o->tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (o->fd >= 0 && fchmod(o->fd, 0600) < 0) {
			r = -errno;
			snprintf(err, errlen, "%s: cannot create %s: %s", path, o->tmp,
				 strerror(-r));
			free(dir);
			snap_out_abort(o);
			return r;
		}
	}
	if (o->fd < 0) {
		r = -errno;
		snprintf(err, errlen, "%s: cannot create a file in %s: %s", path, dir,
			 strerror(-r));
		o->named = false; /* nothing was created */
		snap_out_abort(o);
	}
	free(dir);
	return r;
}

int snap_out_commit(struct snap_out *o)
{
	char proc[40];

	if (!o->named) {
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", o->fd);
		if (linkat(AT_FDCWD, proc, AT_FDCWD, o->tmp, AT_SYMLINK_FOLLOW) < 0) {
			if (errno != EEXIST)
				return -errno;
			/* a PATH.tmp left by a writer of the older kind: ours replaces it */
			if (unlink(o->tmp) < 0 ||
			    linkat(AT_FDCWD, proc, AT_FDCWD, o->tmp, AT_SYMLINK_FOLLOW) < 0)
				return -errno;
		}
		o->named = true;
	}
	if (rename(o->tmp, o->path) < 0)
		return -errno;
	o->named = false; /* it is (path) now: nothing to remove */
	return 0;
}

void snap_out_abort(struct snap_out *o)
{
	if (o->fd >= 0)
		close(o->fd);
	o->fd = -1;
	if (o->named && o->tmp)
		unlink(o->tmp);
	o->named = false;
	free(o->tmp);
	free(o->path);
	o->tmp = NULL;
	o->path = NULL;
}
