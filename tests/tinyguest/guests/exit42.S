/* exit42.S: report status 42 through the exit port. */
	.code16
	.globl _start
_start:
	mov $0xf4, %dx
	mov $0xa5e0002a, %eax
	out %eax, %dx
1:	hlt
	jmp 1b
