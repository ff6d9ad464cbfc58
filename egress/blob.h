/* SPDX-License-Identifier: MIT */
/*
 * blob.h: the agentvmm-egress proxy program (egress/proxy.h), built for the
 * host and embedded into libagentvmm by blob.S (library av_egress_blob), so
 * agentvmm starts it from a memfd without any file beside it.
 */
#ifndef AGENTVMM_EGRESS_BLOB_H
#define AGENTVMM_EGRESS_BLOB_H

#include <stddef.h>

/* The bytes of ${CMAKE_BINARY_DIR}/egress/agentvmm-egress, as built. */
extern const unsigned char egress_blob[];
extern const size_t egress_blob_len;

#endif
