/* i8042_reset.S: pulse the reset line through the keyboard controller. */
	.code16
	.globl _start
_start:
	mov $0xfe, %al
	out %al, $0x64
1:	hlt
	jmp 1b
