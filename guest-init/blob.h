/* SPDX-License-Identifier: MIT */
/*
 * blob.h: the guest-init binary, built static for the guest and embedded into
 * host programs by blob.S (library av_gi_blob), so agentvmm can write an
 * initramfs without any file beside it.
 */
#ifndef AGENTVMM_GUEST_INIT_BLOB_H
#define AGENTVMM_GUEST_INIT_BLOB_H

#include <stddef.h>

/* The bytes of ${CMAKE_BINARY_DIR}/guest-init/agentvmm-init, as built. */
extern const unsigned char gi_init_blob[];
extern const size_t gi_init_blob_len;

#endif
