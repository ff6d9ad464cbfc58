// SPDX-License-Identifier: MIT
/*
 * fuzz_gi_acpi_event.c: libFuzzer target for guest-init's netlink parsers
 * (guest-init/acpi_event.c): the input is one recv() buffer, read both as a
 * CTRL_CMD_GETFAMILY reply and as acpi_event messages of family 0x1a. The
 * kernel is trusted in practice, but a malformed buffer must never make
 * guest-init (PID 1) read out of bounds.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "guest-init/acpi_event.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* an exact-size heap copy, so ASan sees any read past the end */
	uint8_t *buf = malloc(size ? size : 1);
	uint16_t family;
	uint32_t group;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	if (gi_acpi_parse_family(buf, size, &family, &group) == 0)
		(void)gi_acpi_count_power(buf, size, family);
	(void)gi_acpi_count_power(buf, size, 0x1a);
	free(buf);
	return 0;
}
