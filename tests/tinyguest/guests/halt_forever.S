/*
 * halt_forever.S: write "ready\n" to COM1, then halt with interrupts off for
 * good. A guest with no ACPI that never powers off: agentvmm's power button
 * reaches nobody, so a signal must end it after --shutdown-timeout.
 */
	.code16
	.globl _start
_start:
	cli
	mov $msg, %si
next:
	mov $0x3fd, %dx
wait:	in %dx, %al
	test $0x20, %al
	jz wait
	lodsb
	test %al, %al
	jz done
	mov $0x3f8, %dx
	out %al, %dx
	jmp next
done:
1:	hlt
	jmp 1b
msg:	.asciz "ready\n"
