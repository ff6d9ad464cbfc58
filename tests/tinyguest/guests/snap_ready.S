/*
 * snap_ready.S: a template guest (docs/snapshot.md). Prints "A", sets state
 * (BX = 42, a word in RAM = 0x1234, UART LCR 0x03, IER 0x08, SCR 0x5a),
 * writes the template-ready boot mark (AV_BOOTMARK_MAGIC | 4), then checks
 * that state, prints "B\n" and exits with BX + 1 (43); any state lost: "X\n",
 * exit 99. Under agentvmm template the VM stops at the mark; a restore goes on
 * after it.
 */
#include "uart_puts.inc"
	.code16
	.globl _start
_start:
	UART_PUTS msg_a
	mov $42, %bx
	movw $0x1234, counter
	mov $0x3fb, %dx
	mov $0x03, %al
	out %al, %dx
	mov $0x3f9, %dx
	mov $0x08, %al
	out %al, %dx
	mov $0x3ff, %dx
	mov $0x5a, %al
	out %al, %dx
	/* ready: a template is taken here */
	mov $0xf8, %dx
	mov $0xb0070004, %eax
	out %eax, %dx
	/* the continuation: everything set above must still be there */
	inc %bx
	addw $1, counter
	cmpw $0x1235, counter
	jne bad
	mov $0x3fb, %dx
	in %dx, %al
	cmp $0x03, %al
	jne bad
	mov $0x3f9, %dx
	in %dx, %al
	cmp $0x08, %al
	jne bad
	mov $0x3ff, %dx
	in %dx, %al
	cmp $0x5a, %al
	jne bad
	UART_PUTS msg_b
	mov $0xf4, %dx
	mov $0xa5e00000, %eax
	mov %bl, %al
	out %eax, %dx
1:	hlt
	jmp 1b
bad:
	UART_PUTS msg_x
	mov $0xf4, %dx
	mov $0xa5e00063, %eax
	out %eax, %dx
2:	hlt
	jmp 2b
msg_a:	.asciz "A"
msg_b:	.asciz "B\n"
msg_x:	.asciz "X\n"
	.balign 2
counter: .word 0
