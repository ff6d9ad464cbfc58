/* triple_fault.S: load an empty IDT and raise an exception: #BP -> #DF -> triple fault. */
	.code16
	.globl _start
_start:
	lidt idt
	int3
1:	hlt
	jmp 1b
	.align 8
idt:	.word 0
	.long 0
