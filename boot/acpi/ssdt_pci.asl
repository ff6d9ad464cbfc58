/* SPDX-License-Identifier: MIT */
/*
 * ssdt_pci.asl: the PCI root bridge (ECAM, segment 0, bus 0) and the
 * motherboard resource that reserves its ECAM window; added to the XSDT only
 * when the VM has PCI.
 *
 * Numbers are copies of boot/layout.h constants, checked by
 * tests/unit/boot/test_acpi.c: ECAM BOOT_PCI_ECAM_GPA (bus 0 only, 1 MiB),
 * 32-bit BAR window BOOT_PCI_MMIO32_GPA + BOOT_PCI_MMIO32_SIZE, config
 * mechanism #1 at BOOT_PORT_PCI_CFG_ADDR.
 */
DefinitionBlock ("", "SSDT", 2, "AGNTVM", "AVPCI", 1)
{
	Scope (\_SB)
	{
		Device (PCI0)
		{
			Name (_HID, EisaId ("PNP0A08"))	/* PCI Express root bridge */
			Name (_CID, EisaId ("PNP0A03"))	/* PCI root bridge */
			Name (_UID, 0x00)
			Name (_SEG, 0x00)
			Name (_BBN, 0x00)
			Name (_STA, 0x0F)
			Name (_CRS, ResourceTemplate ()
			{
				/* Bus 0 only, matching the MCFG entry. */
				WordBusNumber (ResourceProducer, MinFixed, MaxFixed, PosDecode,
					0x0000, 0x0000, 0x0000, 0x0000, 0x0001)
				/* 0xcf8..0xcff, consumed by the bridge itself. */
				IO (Decode16, 0x0CF8, 0x0CF8, 0x01, 0x08)
				/* 32-bit BAR window 0xc000_0000 .. 0xdfff_ffff. */
				DWordMemory (ResourceProducer, PosDecode, MinFixed, MaxFixed,
					NonCacheable, ReadWrite, 0x00000000, 0xC0000000,
					0xDFFFFFFF, 0x00000000, 0x20000000)
			})

			/*
			 * PCI Firmware 3.2 §4.5.1 _OSC: there is no firmware to keep
			 * anything, so the OS gets every control it asks for (native
			 * hotplug, PME, AER, PCIe capability, LTR).
			 */
			Method (_OSC, 4, NotSerialized)
			{
				CreateDWordField (Arg3, 0x00, CDW1)
				If ((Arg0 == ToUUID ("33db4d5b-1ff7-401c-9657-7441c03dd766")))
				{
					/*
					 * The control dword (CDW3) is returned as the OS wrote
					 * it: every requested control is granted.
					 */
					If ((Arg1 != One))
					{
						CDW1 |= 0x08	/* unrecognized revision */
					}
				}
				Else
				{
					CDW1 |= 0x04	/* unrecognized UUID */
				}
				Return (Arg3)
			}
		}

		/*
		 * Linux uses an MCFG region only when it is reserved by a
		 * motherboard resource (PNP0C02) or by e820; this reserves the
		 * bus 0 ECAM page range 0xe000_0000 .. +1 MiB.
		 */
		Device (MRES)
		{
			Name (_HID, EisaId ("PNP0C02"))
			Name (_UID, 0x00)
			Name (_STA, 0x0F)
			Name (_CRS, ResourceTemplate ()
			{
				Memory32Fixed (ReadWrite, 0xE0000000, 0x00100000)
			})
		}
	}
}
