/* ready_halt.S: write "ready\n" to COM1, then halt with interrupts off for good: a VM
 * that stays up, all threads started, without using CPU (test_e2e_direct_sandbox). */
#include "uart_puts.inc"
	.code16
	.globl _start
_start:
	UART_PUTS msg
	cli
1:	hlt
	jmp 1b
msg:	.asciz "ready\n"
