/* SPDX-License-Identifier: MIT */
/*
 * oem.h: a VM's SMBIOS OEM strings (type 11, boot/smbios.h): --oem-string as
 * given, and systemd credentials, which systemd's PID 1 imports from them:
 *
 *   --set-credential NAME:VALUE   ->  "io.systemd.credential:NAME=VALUE"
 *   --load-credential NAME:PATH   ->  "io.systemd.credential.binary:NAME=<base64 of PATH>"
 *
 * The file is read before /dev/kvm is opened and copied as opaque bytes (no
 * parsing). NAME is checked as systemd checks credential names
 * (credential_name_valid(): filename_is_valid() && fdname_is_valid()), and
 * '=' is refused too, since systemd splits the string at the first '='.
 */
#ifndef AGENTVMM_VMM_OEM_H
#define AGENTVMM_VMM_OEM_H

#include <stdbool.h>
#include <stddef.h>

#include "vmm/compiler.h"
#include "vmm/config.h"

#define OEM_CRED_NAME_MAX 255            /* systemd FDNAME_MAX */
#define OEM_CRED_FILE_MAX (32 * 1024)    /* its base64 (43,692 bytes) fits SMBIOS_OEM_MAX_BYTES */
#define OEM_CRED_PREFIX "io.systemd.credential:"
#define OEM_CRED_BINARY_PREFIX "io.systemd.credential.binary:"

/*
 * oem_cred_name_valid() - whether the (len) bytes at (name) are a credential
 * name systemd accepts and can split off: 1..OEM_CRED_NAME_MAX bytes of
 * printable ASCII (0x20..0x7e), not "." or "..", without '/', ':' or '='.
 * Context: pure.
 */
bool oem_cred_name_valid(const char *name, size_t len);

/* oem_base64_len() - characters of the base64 of (n) bytes: 4 * ceil(n / 3), no NUL. */
size_t oem_base64_len(size_t n);

/*
 * oem_base64_encode() - RFC 4648 §4 base64 (with '=' padding) of the (n)
 * bytes at (src) into (dst), which must hold oem_base64_len(n) + 1 bytes
 * (NUL-terminated). Context: pure.
 */
void oem_base64_encode(const void *src, size_t n, char *dst);

/* A VM's OEM strings, owned (oem_strings_free()). */
struct oem_strings {
	char **str;
	unsigned nr;
	size_t bytes;  /* all of them, each with its NUL */
};

/*
 * oem_strings_build() - (out) becomes (cfg)'s OEM strings in this order:
 * every --oem-string, every --set-credential, every --load-credential (its
 * file read now), each list in the order given. The option parsers
 * (vmm/cli.c) checked the syntax and the names already.
 * Return: 0; with one line in (err): -errno of open(2)/read(2) for a
 * credential file that cannot be read (-ENOENT, -EACCES, ...), -EINVAL for
 * one that is not a regular file or has over OEM_CRED_FILE_MAX bytes, for
 * more than SMBIOS_OEM_MAX_STRINGS strings and for more than
 * SMBIOS_OEM_MAX_BYTES bytes of them; -ENOMEM. On error (out) is empty.
 * Context: main thread, before /dev/kvm (vm_check_input()).
 */
int oem_strings_build(const struct vm_config *cfg, struct oem_strings *out, char *err,
		      size_t errlen) __must_check;

/* oem_strings_free() - free (o)'s strings; (o) is then empty. Idempotent. */
void oem_strings_free(struct oem_strings *o);

#endif
