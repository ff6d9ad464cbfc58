/*
 * halt_forever.S: write "ready\n" to COM1, then halt with interrupts off for
 * good. A guest with no ACPI that never powers off: agentvmm's power button
 * reaches nobody, so a signal must end it after --shutdown-timeout.
 */
#include "uart_puts.inc"
	.code16
	.globl _start
_start:
	cli
	UART_PUTS msg
1:	hlt
	jmp 1b
msg:	.asciz "ready\n"
