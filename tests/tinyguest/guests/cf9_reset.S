/* cf9_reset.S: reset through the reset control register at 0xcf9 (Linux reboot=p). */
	.code16
	.globl _start
_start:
	mov $0xcf9, %dx
	mov $0x06, %al
	out %al, %dx
1:	hlt
	jmp 1b
