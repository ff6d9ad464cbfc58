/* SPDX-License-Identifier: MIT */
/*
 * dsdt.asl: the static DSDT: S5 sleep type, COM1 and the pvpanic device.
 *
 * Every number here is a copy of a constant in boot/layout.h (iasl cannot
 * read C headers); tests/unit/boot/test_acpi.c checks each one against the
 * header, so a change there fails the build's unit tests until this file
 * follows.
 */
DefinitionBlock ("", "DSDT", 2, "AGNTVM", "AVDSDT", 1)
{
	/*
	 * ACPI 6.0 §7.3.4.5 \_S5: {SLP_TYPa, SLP_TYPb, reserved, reserved}.
	 * With a hardware-reduced FADT the OS writes SLP_TYPa (bits 2..4) with
	 * SLP_EN (bit 5) to SLEEP_CONTROL_REG. 5 == BOOT_ACPI_S5_SLP_TYP.
	 */
	Name (\_S5, Package (0x04) { 0x05, 0x00, 0x00, 0x00 })

	Scope (\_SB)
	{
		/* 8250 UART at BOOT_PORT_COM1, ISA IRQ BOOT_COM1_IRQ (GSI 4, edge). */
		Device (COM1)
		{
			Name (_HID, EisaId ("PNP0501"))
			Name (_UID, 0x01)
			Name (_STA, 0x0F)
			Name (_CRS, ResourceTemplate ()
			{
				IO (Decode16, 0x03F8, 0x03F8, 0x01, 0x08)
				IRQNoFlags () {4}
			})
		}

		/*
		 * pvpanic (QEMU docs/specs/pvpanic.rst): reading the port gives
		 * the supported events, the guest writes 1 (panicked) on panic.
		 * Linux binds pvpanic-mmio to _HID QEMU0001; the port is
		 * BOOT_PORT_PVPANIC.
		 */
		Device (PEVT)
		{
			Name (_HID, "QEMU0001")
			Name (_UID, 0x00)
			Name (_STA, 0x0F)
			Name (_CRS, ResourceTemplate ()
			{
				IO (Decode16, 0x0505, 0x0505, 0x01, 0x01)
			})
		}
	}
}
