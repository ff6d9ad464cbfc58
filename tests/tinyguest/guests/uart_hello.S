/* uart_hello.S: write "hello from tiny guest\n" to COM1 (polling LSR.THRE), then exit 0. */
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
	mov $0xf4, %dx
	mov $0xa5e00000, %eax
	out %eax, %dx
1:	hlt
	jmp 1b
msg:	.asciz "hello from tiny guest\n"
