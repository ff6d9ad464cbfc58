/* SPDX-License-Identifier: MIT */
/*
 * dsdt.asl: the static DSDT: S5 sleep type, COM1, the pvpanic device, and
 * the power button behind a Generic Event Device.
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

		/*
		 * Generic Event Device (ACPI 6.4 §5.6.9): on its interrupt
		 * (BOOT_GED_GSI, edge, active high) Linux's evged driver runs
		 * _EVT. The status byte at BOOT_PORT_GED returns the latched
		 * events and clears them; bit 0 (GED_EV_POWER_BUTTON) is a
		 * press of PWRB. Cloud Hypervisor signals its power button the
		 * same way.
		 */
		Device (GED0)
		{
			Name (_HID, "ACPI0013")
			Name (_UID, 0x00)
			Name (_STA, 0x0F)
			Name (_CRS, ResourceTemplate ()
			{
				Interrupt (ResourceConsumer, Edge, ActiveHigh, Exclusive) { 5 }
			})
			OperationRegion (GDST, SystemIO, 0x0604, 0x01)
			Field (GDST, ByteAcc, NoLock, Preserve)
			{
				GDAT, 8
			}
			Method (_EVT, 1, Serialized)
			{
				Local0 = GDAT
				If (Local0 & 0x01)
				{
					Notify (\_SB.PWRB, 0x80)
				}
			}
		}

		/*
		 * ACPI power button as a device (ACPI 6.4 §4.8.2.2.1.2): Notify
		 * 0x80 means "pressed". Linux's button driver turns it into
		 * KEY_POWER and an "acpi_event" netlink message; guest-init,
		 * systemd-logind or acpid act on it.
		 */
		Device (PWRB)
		{
			Name (_HID, EisaId ("PNP0C0C"))
			Name (_UID, 0x00)
			Name (_STA, 0x0F)
		}
	}
}
