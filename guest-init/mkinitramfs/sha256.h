/* SPDX-License-Identifier: MIT */
/* sha256.h: SHA-256 (FIPS 180-4), used to name cached initramfs images by their inputs. */
#ifndef AGENTVMM_GUEST_INIT_MKINITRAMFS_SHA256_H
#define AGENTVMM_GUEST_INIT_MKINITRAMFS_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define GI_SHA256_LEN 32

struct gi_sha256 {
	uint32_t h[8];
	uint64_t len;		/* bytes hashed so far */
	unsigned char buf[64];
	size_t buf_len;
};

/* gi_sha256_init(), _update(), _final() - the usual streaming interface; pure. */
void gi_sha256_init(struct gi_sha256 *s);
void gi_sha256_update(struct gi_sha256 *s, const void *data, size_t len);
void gi_sha256_final(struct gi_sha256 *s, unsigned char out[GI_SHA256_LEN]);

#endif
