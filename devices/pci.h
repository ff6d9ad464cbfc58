/* SPDX-License-Identifier: MIT */
/*
 * pci.h: PCI bus 0 behind a host bridge: type-0 configuration space per
 * device, reached through ECAM (BOOT_PCI_ECAM_GPA, described by ACPI MCFG)
 * and through ports 0xcf8/0xcfc; 32-bit memory BARs allocated in the window
 * BOOT_PCI_MMIO32_GPA (described by the PCI root's _CRS), dispatched from
 * one MMIO range so a guest may move a BAR.
 *
 * Config space of each function (256 bytes, little-endian):
 *   0x00 vendor, device; 0x04 command, status; 0x08 revision, class;
 *   0x0e header type 0; 0x10..0x24 BAR0..5; 0x2c subsystem vendor/id;
 *   0x34 capability pointer; 0x3c interrupt line/pin (unused: MSI-X only);
 *   0x40.. capabilities (MSI-X, virtio vendor caps).
 */
#ifndef AGENTVMM_DEVICES_PCI_H
#define AGENTVMM_DEVICES_PCI_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "vmm/compiler.h"
#include "vmm/iobus.h"

#define PCI_MAX_DEVS 32
#define PCI_CFG_SIZE 256
#define PCI_NUM_BARS 6

struct pci_dev;

struct pci_dev_ops {
	/* bar_read/bar_write - access at (off) inside (bar). Context: vCPU thread. Guest: all. */
	void (*bar_read)(struct pci_dev *d, int bar, uint64_t off, void *data, uint32_t len);
	void (*bar_write)(struct pci_dev *d, int bar, uint64_t off, const void *data, uint32_t len);
	/* cfg_written - after a config write of (len) bytes at (off) was applied. */
	void (*cfg_written)(struct pci_dev *d, uint32_t off, uint32_t len);
	/* bar_moved - (bar) now decodes at (addr) (0: decoding off). */
	void (*bar_moved)(struct pci_dev *d, int bar, uint64_t addr);
};

struct pci_dev {
	uint8_t cfg[PCI_CFG_SIZE];
	uint8_t wmask[PCI_CFG_SIZE];   /* guest-writable bits */
	uint32_t bar_size[PCI_NUM_BARS]; /* power of two, 0 = unused */
	uint64_t bar_active[PCI_NUM_BARS]; /* address decoded now, 0 = none */
	uint8_t next_cap;              /* where the next capability goes */
	uint8_t last_cap;              /* offset of the last capability */
	const struct pci_dev_ops *ops;
	void *opaque;
	uint8_t slot;
};

struct pci_bus {
	pthread_rwlock_t lock;         /* devices' BAR decode state */
	struct pci_dev *devs[PCI_MAX_DEVS];
	struct pci_dev host;           /* 00.0 host bridge */
	uint32_t cf8;                  /* config address latch (relaxed atomic: any vCPU) */
	uint64_t mmio_next;            /* BAR allocator */
	void *reset_sink;              /* struct power_sink for a reset via 0xcf9 */
};

/* pci_dev_init() - an empty type-0 header (vendor, device, class, revision). */
void pci_dev_init(struct pci_dev *d, uint16_t vendor, uint16_t device, uint32_t class_code,
		  uint8_t revision, const struct pci_dev_ops *ops, void *opaque);

/* pci_dev_add_cap() - append a capability of (len) bytes; Return: its offset, or 0 if full. */
uint8_t pci_dev_add_cap(struct pci_dev *d, uint8_t id, uint8_t len);

/* pci_dev_set_bar() - declare 32-bit memory BAR (bar) of (size) (power of two >= 4 KiB). */
void pci_dev_set_bar(struct pci_dev *d, int bar, uint32_t size);

/* Little-endian config helpers (setup and device code). */
void pci_cfg_set16(struct pci_dev *d, uint32_t off, uint16_t v);
void pci_cfg_set32(struct pci_dev *d, uint32_t off, uint32_t v);
uint16_t pci_cfg_get16(const struct pci_dev *d, uint32_t off);
uint32_t pci_cfg_get32(const struct pci_dev *d, uint32_t off);

/* pci_bus_init() - bus with its host bridge at 00.0. */
void pci_bus_init(struct pci_bus *bus);
void pci_bus_fini(struct pci_bus *bus);

/*
 * pci_bus_add() - plug (d) into the next free slot and assign its BARs from
 * the window. Return: 0, -ENOSPC (no slot or window space).
 * Context: setup.
 */
int pci_bus_add(struct pci_bus *bus, struct pci_dev *d) __must_check;

/*
 * pci_bus_register() - claim ECAM, 0xcf8/0xcfc and the BAR window on the
 * buses. Return: 0 or -errno from iobus_register.
 */
int pci_bus_register(struct pci_bus *bus, struct iobus *pio, struct iobus *mmio) __must_check;

/* Config access by (slot, off), as both mechanisms end up doing. Exposed for tests. */
void pci_cfg_read(struct pci_bus *bus, unsigned slot, uint32_t off, void *data, uint32_t len);
void pci_cfg_write(struct pci_bus *bus, unsigned slot, uint32_t off, const void *data,
		   uint32_t len);

#endif
