/* SPDX-License-Identifier: MIT */
/* blob.S: embeds the agentvmm-egress program (EGRESS_PATH) as egress_blob / egress_blob_len. */
	.section .rodata.egress_blob, "a"
	.balign 16
	.globl egress_blob
	.type egress_blob, @object
egress_blob:
	.incbin EGRESS_PATH
egress_blob_end:
	.size egress_blob, egress_blob_end - egress_blob

	.balign 8
	.globl egress_blob_len
	.type egress_blob_len, @object
egress_blob_len:
	.quad egress_blob_end - egress_blob
	.size egress_blob_len, 8

	.section .note.GNU-stack, "", @progbits
