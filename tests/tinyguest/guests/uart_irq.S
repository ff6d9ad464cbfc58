/* uart_irq.S: UART registers behave as a 16550A: scratch register, loopback MSR,
 * IIR reports THRE after enabling ETBEI with FIFOs on; exit 0 if all hold, else 1..3. */
	.code16
	.globl _start
_start:
	mov $0x3ff, %dx       /* SCR */
	mov $0x5a, %al
	out %al, %dx
	in %dx, %al
	cmp $0x5a, %al
	mov $1, %bl
	jne fail
	mov $0x3fc, %dx       /* MCR: loop | OUT2 | RTS */
	mov $0x1a, %al
	out %al, %dx
	mov $0x3fe, %dx       /* MSR */
	in %dx, %al
	and $0xf0, %al
	cmp $0x90, %al        /* DCD | CTS */
	mov $2, %bl
	jne fail
	mov $0x3fc, %dx
	mov $0x08, %al
	out %al, %dx
	mov $0x3fa, %dx       /* FCR: enable FIFOs */
	mov $0x01, %al
	out %al, %dx
	mov $0x3f9, %dx       /* IER: ETBEI */
	mov $0x02, %al
	out %al, %dx
	mov $0x3fa, %dx       /* IIR */
	in %dx, %al
	cmp $0xc2, %al        /* FIFO bits + THRE pending */
	mov $3, %bl
	jne fail
	mov $0, %bl
fail:
	movzbl %bl, %ebx
	mov $0xf4, %dx
	mov $0xa5e00000, %eax
	or %ebx, %eax
	out %eax, %dx
1:	hlt
	jmp 1b
