/* unclaimed.S: an unclaimed port reads all-ones and a bad exit-port value is ignored;
 * report the byte read (0xff -> status 255). */
	.code16
	.globl _start
_start:
	mov $0x1234, %dx
	out %al, %dx          /* unclaimed write: dropped */
	in %dx, %al           /* unclaimed read: 0xff */
	movzbl %al, %ebx
	mov $0xf4, %dx
	mov $0x12345678, %eax /* wrong magic: ignored */
	out %eax, %dx
	mov $0x7, %al
	out %al, %dx          /* wrong width: ignored */
	mov $0xa5e00000, %eax
	or %ebx, %eax
	out %eax, %dx
1:	hlt
	jmp 1b
