/* hlt_forever.S: do nothing, forever (a guest that only the host can stop: control-socket tests). */
	.code16
	.globl _start
_start:
	cli
1:	hlt
	jmp 1b
