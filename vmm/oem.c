// SPDX-License-Identifier: MIT
/* oem.c: SMBIOS OEM strings from --oem-string and the systemd credential options. */
#include "vmm/oem.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "boot/smbios.h"

bool oem_cred_name_valid(const char *name, size_t len)
{
	if (len == 0 || len > OEM_CRED_NAME_MAX)
		return false;
	/* systemd filename_is_valid(): not "." or ".." */
	if ((len == 1 && name[0] == '.') || (len == 2 && name[0] == '.' && name[1] == '.'))
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		/* fdname_is_valid(): ASCII, no control character, no ':'; filename: no '/' */
		if (c < 0x20 || c >= 0x7f || c == ':' || c == '/' || c == '=')
			return false;
	}
	return true;
}

size_t oem_base64_len(size_t n)
{
	return (n + 2) / 3 * 4;
}

void oem_base64_encode(const void *src, size_t n, char *dst)
{
	static const char abc[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *s = src;
	size_t i;

	/* RFC 4648 §4: each 3 bytes become 4 characters of 6 bits each */
	for (i = 0; i + 3 <= n; i += 3) {
		*dst++ = abc[s[i] >> 2];
		*dst++ = abc[(s[i] & 0x03) << 4 | s[i + 1] >> 4];
		*dst++ = abc[(s[i + 1] & 0x0f) << 2 | s[i + 2] >> 6];
		*dst++ = abc[s[i + 2] & 0x3f];
	}
	if (n - i == 1) {
		*dst++ = abc[s[i] >> 2];
		*dst++ = abc[(s[i] & 0x03) << 4];
		*dst++ = '=';
		*dst++ = '=';
	} else if (n - i == 2) {
		*dst++ = abc[s[i] >> 2];
		*dst++ = abc[(s[i] & 0x03) << 4 | s[i + 1] >> 4];
		*dst++ = abc[(s[i + 1] & 0x0f) << 2];
		*dst++ = '=';
	}
	*dst = '\0';
}

void oem_strings_free(struct oem_strings *o)
{
	for (unsigned i = 0; i < o->nr; i++)
		free(o->str[i]);
	free(o->str);
	o->str = NULL;
	o->nr = 0;
	o->bytes = 0;
}

/* Append (s) (taken over; NULL = out of memory) to (o). */
static int oem_add(struct oem_strings *o, char *s)
{
	if (!s)
		return -ENOMEM;
	o->str[o->nr++] = s;
	o->bytes += strlen(s) + 1;
	return 0;
}

/* "PREFIX" NAME "=" then (len) bytes of (val), from an option value "NAME:..." (arg). */
static char *cred_string(const char *prefix, const char *arg, const char *val, size_t len)
{
	size_t name = strcspn(arg, ":"), plen = strlen(prefix);

	assert(arg[name] == ':'); /* the option parser checked NAME:... */
	char *s = malloc(plen + name + 1 + len + 1);

	if (!s)
		return NULL;
	memcpy(s, prefix, plen);
	memcpy(s + plen, arg, name);
	s[plen + name] = '=';
	memcpy(s + plen + name + 1, val, len);
	s[plen + name + 1 + len] = '\0';
	return s;
}

/* Read (fd) to its end or (cap) bytes into (buf); the count or -errno. */
static ssize_t read_all(int fd, char *buf, size_t cap)
{
	size_t n = 0;

	while (n < cap) {
		ssize_t k = read(fd, buf + n, cap - n);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		if (k == 0)
			break;
		n += (size_t)k;
	}
	return (ssize_t)n;
}

/*
 * --load-credential NAME:PATH: PATH read into (*data, *len), at most
 * OEM_CRED_FILE_MAX bytes. O_NONBLOCK: a FIFO must not block the start.
 */
static int cred_file_read(const char *arg, void **data, size_t *len, char *err, size_t errlen)
{
	const char *path = arg + strcspn(arg, ":") + 1; /* NAME:PATH, checked by the parser */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	struct stat st;
	ssize_t n = 0;
	int r = 0;

	*data = NULL;
	if (fd < 0 || fstat(fd, &st) < 0) {
		r = -errno;
		snprintf(err, errlen, "--load-credential %s: %s", arg, strerror(-r));
	} else if (!S_ISREG(st.st_mode)) {
		r = -EINVAL;
		snprintf(err, errlen, "--load-credential %s: not a regular file", arg);
	} else if (st.st_size > OEM_CRED_FILE_MAX) {
		r = -EINVAL;
		snprintf(err, errlen, "--load-credential %s: %lld bytes, more than the %d a "
			 "credential file may have (SMBIOS OEM strings)", arg,
			 (long long)st.st_size, OEM_CRED_FILE_MAX);
	} else if (!(*data = malloc(OEM_CRED_FILE_MAX + 1))) {
		r = -ENOMEM;
		snprintf(err, errlen, "--load-credential %s: out of memory", arg);
	} else {
		/* one byte more than the limit: a file that grew since fstat() shows */
		n = read_all(fd, *data, OEM_CRED_FILE_MAX + 1);
		if (n < 0 || n > OEM_CRED_FILE_MAX) {
			r = n < 0 ? (int)n : -EINVAL;
			snprintf(err, errlen, "--load-credential %s: %s", arg,
				 n < 0 ? strerror(-r) : "the file grew past its limit");
		}
	}
	if (fd >= 0)
		close(fd);
	if (r) {
		free(*data);
		*data = NULL;
	}
	*len = r ? 0 : (size_t)n;
	return r;
}

/* --load-credential (arg) as "io.systemd.credential.binary:NAME=<base64>" into (o). */
static int oem_add_file(struct oem_strings *o, const char *arg, char *err, size_t errlen)
{
	size_t len;
	void *data;
	char *b64;
	int r = cred_file_read(arg, &data, &len, err, errlen);

	if (r)
		return r;
	b64 = malloc(oem_base64_len(len) + 1);
	if (b64) {
		oem_base64_encode(data, len, b64);
		r = oem_add(o, cred_string(OEM_CRED_BINARY_PREFIX, arg, b64, strlen(b64)));
	} else {
		r = -ENOMEM;
	}
	free(b64);
	free(data);
	if (r)
		snprintf(err, errlen, "--load-credential %s: out of memory", arg);
	return r;
}

/* The total the guest kernel copies at boot stays bounded (boot/smbios.h). */
static int oem_check_total(const struct oem_strings *o, char *err, size_t errlen)
{
	if (o->nr > SMBIOS_OEM_MAX_STRINGS) {
		snprintf(err, errlen, "--oem-string, --set-credential, --load-credential: %u SMBIOS "
			 "OEM strings, more than %d", o->nr, SMBIOS_OEM_MAX_STRINGS);
		return -EINVAL;
	}
	if (o->bytes > SMBIOS_OEM_MAX_BYTES) {
		snprintf(err, errlen, "--oem-string, --set-credential, --load-credential: %zu bytes "
			 "of SMBIOS OEM strings, more than the %d a Linux guest can take",
			 o->bytes, SMBIOS_OEM_MAX_BYTES);
		return -EINVAL;
	}
	return 0;
}

int oem_strings_build(const struct vm_config *cfg, struct oem_strings *out, char *err,
		      size_t errlen)
{
	unsigned total = cfg->nr_oem_strings + cfg->nr_set_creds + cfg->nr_load_creds;
	int r = 0;

	memset(out, 0, sizeof(*out));
	if (!total)
		return 0;
	out->str = calloc(total, sizeof(*out->str));
	if (!out->str)
		r = -ENOMEM;
	for (unsigned i = 0; !r && i < cfg->nr_oem_strings; i++)
		r = oem_add(out, strdup(cfg->oem_strings[i]));
	for (unsigned i = 0; !r && i < cfg->nr_set_creds; i++) {
		const char *v = cfg->set_creds[i] + strcspn(cfg->set_creds[i], ":") + 1;

		r = oem_add(out, cred_string(OEM_CRED_PREFIX, cfg->set_creds[i], v, strlen(v)));
	}
	if (r)
		snprintf(err, errlen, "SMBIOS OEM strings: out of memory");
	for (unsigned i = 0; !r && i < cfg->nr_load_creds; i++)
		r = oem_add_file(out, cfg->load_creds[i], err, errlen);
	if (!r)
		r = oem_check_total(out, err, errlen);
	if (r)
		oem_strings_free(out);
	return r;
}
