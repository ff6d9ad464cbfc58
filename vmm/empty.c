/* SPDX-License-Identifier: MIT */
/* empty.c: stands in while a library folder has no sources yet. */
extern int av_empty_unit;
