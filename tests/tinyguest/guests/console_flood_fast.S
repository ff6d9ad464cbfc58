/*
 * console_flood_fast.S: print 1 KiB blocks to COM1 forever with rep outsb
 * (one exit per block, the UART still sees each byte): console limit tests.
 */
	.code16
	.globl _start
_start:
	cld
	mov $0x3f8, %dx
1:	mov $block, %si
	mov $(block_end - block), %cx
	rep outsb
	jmp 1b
block:
	.rept 16
	.ascii "fast flood fast flood fast flood fast flood fast flood fast flo\r\n"
	.endr
block_end:
