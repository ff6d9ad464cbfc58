/* ticker.S: write '.' to COM1 forever (for pause/resume/kill tests: progress is visible). */
	.code16
	.globl _start
_start:
	mov $0x3f8, %dx
	mov $'.', %al
1:	out %al, %dx
	mov $0x400, %cx
2:	loop 2b
	jmp 1b
