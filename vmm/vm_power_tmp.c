// SPDX-License-Identifier: MIT
/* vm_power_tmp.c: placeholder until the ACPI power button lands; avm_shutdown() then forces the stop. */
#include "vmm/vm.h"

#include <errno.h>

int vm_power_button(struct vm *vm)
{
	(void)vm;
	return -ENOTSUP;
}
