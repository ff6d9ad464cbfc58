/*
 * ged_poll.S: write "ready\n" to COM1, then poll the ACPI GED status port
 * (BOOT_PORT_GED, 0x604) with interrupts off. A 16-bit read must return
 * all-ones and clear nothing; when a byte read shows the power button
 * (bit 0), a second byte read must show it cleared, and the guest reports
 * status 7 through the exit port. Anything unexpected reports 99.
 */
#include "uart_puts.inc"
	.code16
	.globl _start
_start:
	cli
	UART_PUTS msg
poll:
	mov $0x604, %dx
	in %dx, %ax
	cmp $0xffff, %ax
	jne bad
	in %dx, %al
	test $0x01, %al
	jz poll
	in %dx, %al
	test %al, %al
	jnz bad
	mov $0xa5e00007, %eax
	jmp report
bad:
	mov $0xa5e00063, %eax
report:
	mov $0xf4, %dx
	out %eax, %dx
1:	hlt
	jmp 1b
msg:	.asciz "ready\n"
