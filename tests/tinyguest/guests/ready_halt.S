/* ready_halt.S: write "ready\n" to COM1, then halt with interrupts off for good: a VM
 * that stays up, all threads started, without using CPU (test_e2e_direct_sandbox). */
	.code16
	.globl _start
_start:
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
	cli
1:	hlt
	jmp 1b
msg:	.asciz "ready\n"
