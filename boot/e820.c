// SPDX-License-Identifier: MIT
/* e820.c: the guest memory map (layout in e820.h), built from guest_mem's regions. */
#include "boot/e820.h"

#include <errno.h>

#include "boot/layout.h"

static int e820_add(struct e820_entry *tab, unsigned max, unsigned *nr, uint64_t addr,
		    uint64_t size, uint32_t type)
{
	if (*nr >= max)
		return -ENOSPC;
	tab[(*nr)++] = (struct e820_entry){ .addr = addr, .size = size, .type = type };
	return 0;
}

int e820_build(const struct guest_mem *gm, struct e820_entry *tab, unsigned max)
{
	gpa_t low_end = gm_low_end(gm);
	unsigned nr = 0;
	int ret;

	/* Below 1 MiB live the boot structures; the kernel goes above. */
	if (low_end <= BOOT_HIGH_RAM_GPA)
		return -EINVAL;
	ret = e820_add(tab, max, &nr, 0, BOOT_EBDA_GPA, E820_TYPE_RAM);
	if (!ret)
		ret = e820_add(tab, max, &nr, BOOT_EBDA_GPA, BOOT_HIGH_RAM_GPA - BOOT_EBDA_GPA,
			       E820_TYPE_RESERVED);
	if (!ret)
		ret = e820_add(tab, max, &nr, BOOT_HIGH_RAM_GPA, low_end - BOOT_HIGH_RAM_GPA,
			       E820_TYPE_RAM);
	for (unsigned i = 1; !ret && i < gm->nr_regions; i++)
		ret = e820_add(tab, max, &nr, gm->regions[i].gpa, gm->regions[i].len,
			       E820_TYPE_RAM);
	return ret ? ret : (int)nr;
}
