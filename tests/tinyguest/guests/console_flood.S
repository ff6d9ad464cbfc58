/*
 * console_flood.S: print a line to COM1 forever, one exit per byte, never
 * polling LSR (the transmitter is always empty): console back-pressure tests.
 */
	.code16
	.globl _start
_start:
	mov $0x3f8, %dx
1:	mov $msg, %si
2:	lodsb
	test %al, %al
	jz 1b
	out %al, %dx
	jmp 2b
msg:	.asciz "flood flood flood flood flood flood flood flood flood flood flood\r\n"
