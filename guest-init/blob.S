/* SPDX-License-Identifier: MIT */
/* blob.S: embeds the static guest-init binary (GI_INIT_PATH) as gi_init_blob / gi_init_blob_len. */
	.section .rodata.gi_init_blob, "a"
	.balign 16
	.globl gi_init_blob
	.type gi_init_blob, @object
gi_init_blob:
	.incbin GI_INIT_PATH
gi_init_blob_end:
	.size gi_init_blob, gi_init_blob_end - gi_init_blob

	.balign 8
	.globl gi_init_blob_len
	.type gi_init_blob_len, @object
gi_init_blob_len:
	.quad gi_init_blob_end - gi_init_blob
	.size gi_init_blob_len, 8

	.section .note.GNU-stack, "", @progbits
