/* pvpanic.S: report a kernel panic through the pvpanic port. */
	.code16
	.globl _start
_start:
	mov $0x505, %dx
	mov $1, %al
	out %al, %dx
1:	hlt
	jmp 1b
