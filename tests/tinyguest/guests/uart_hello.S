/* uart_hello.S: write "hello from tiny guest\n" to COM1 (polling LSR.THRE), then exit 0. */
#include "uart_puts.inc"
	.code16
	.globl _start
_start:
	UART_PUTS msg
	mov $0xf4, %dx
	mov $0xa5e00000, %eax
	out %eax, %dx
1:	hlt
	jmp 1b
msg:	.asciz "hello from tiny guest\n"
