/* pci_cf8_abuse.S: hostile PCI configuration mechanism #1 accesses: writes over
 * the host bridge's read-only IDs at every width, odd-width accesses around the
 * latch (never 0xcf9, the reset control register), 20000 latch/data writes to
 * register 0 of every device, function and bus, reads past the end. Status:
 * 42 when the host bridge IDs are intact and an absent function reads all-ones;
 * 1 IDs changed or absent, 2 absent function did not read all-ones. */
	.code16
	.globl _start
_start:
	mov $0xcf8, %dx
	mov $0x80000000, %eax   /* 00:00.0 register 0 */
	out %eax, %dx
	mov $0xcfc, %dx
	in %dx, %eax
	mov %eax, %esi          /* vendor/device before */
	mov $0xffffffff, %eax
	out %eax, %dx           /* read-only: dropped */
	mov $0xcfd, %dx
	out %al, %dx
	mov $0xcfe, %dx
	out %ax, %dx
	mov $0xcfa, %dx
	out %ax, %dx            /* word at the latch's upper half */
	mov $0xcfb, %dx
	out %al, %dx
	in %dx, %al
	mov $0xcf8, %dx
	out %ax, %dx            /* word write to the latch */
	in %dx, %ax

	mov $20000, %cx
1:	mov $0xcf8, %dx
	movzwl %cx, %eax
	shl $8, %eax            /* function, device, bus from the counter; register 0 */
	or $0x80000000, %eax
	out %eax, %dx
	mov $0xcfc, %dx
	out %eax, %dx
	loop 1b

	mov $0xcf8, %dx
	mov $0x8000ff00, %eax   /* 00:1f.7, absent */
	out %eax, %dx
	mov $0xcfc, %dx
	in %dx, %eax
	cmp $0xffffffff, %eax
	jne bad2
	mov $0xcff, %dx
	in %dx, %al             /* byte read at the last data port */
	mov $0xcf8, %dx
	mov $0x800000fc, %eax   /* 00:00.0 register 0xfc, then past it via 0xcff */
	out %eax, %dx
	mov $0xcff, %dx
	in %dx, %al
	mov $0xcfe, %dx
	in %dx, %ax

	mov $0xcf8, %dx
	mov $0x80000000, %eax
	out %eax, %dx
	mov $0xcfc, %dx
	in %dx, %eax
	cmp %esi, %eax
	jne bad1
	cmp $0xffffffff, %esi
	je bad1
	mov $42, %ebx
	jmp done
bad1:	mov $1, %ebx
	jmp done
bad2:	mov $2, %ebx
done:	mov $0xf4, %dx
	mov $0xa5e00000, %eax
	or %ebx, %eax
	out %eax, %dx
2:	hlt
	jmp 2b
