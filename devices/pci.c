// SPDX-License-Identifier: MIT
/* pci.c: PCI bus 0: config space, ECAM and 0xcf8/0xcfc access, 32-bit BAR window dispatch. */
#include "devices/pci.h"

#include <errno.h>
#include <string.h>

#include "boot/layout.h"
#include "devices/platform.h"
#include "vmm/log.h"

/* PCI Local Bus 3.0 §6.1 register offsets and bits */
#define PCI_VENDOR_ID 0x00
#define PCI_COMMAND 0x04
#define PCI_STATUS 0x06
#define PCI_REVISION 0x08
#define PCI_HEADER_TYPE 0x0e
#define PCI_BAR0 0x10
#define PCI_CAP_PTR 0x34
#define PCI_INT_LINE 0x3c
#define PCI_COMMAND_MEMORY 0x0002
#define PCI_COMMAND_MASTER 0x0004
#define PCI_COMMAND_INTX_DISABLE 0x0400
#define PCI_STATUS_CAP_LIST 0x0010
#define PCI_FIRST_CAP 0x40
#define CF8_ENABLE 0x80000000u
#define ECAM_DEV_SHIFT 15
#define ECAM_FN_SHIFT 12
#define HOST_VENDOR 0x1b36 /* Red Hat, as QEMU's PCIe host bridge */
#define HOST_DEVICE 0x0008
#define CLASS_HOST_BRIDGE 0x060000

void pci_cfg_set16(struct pci_dev *d, uint32_t off, uint16_t v)
{
	d->cfg[off] = (uint8_t)v;
	d->cfg[off + 1] = (uint8_t)(v >> 8);
}

void pci_cfg_set32(struct pci_dev *d, uint32_t off, uint32_t v)
{
	pci_cfg_set16(d, off, (uint16_t)v);
	pci_cfg_set16(d, off + 2, (uint16_t)(v >> 16));
}

uint16_t pci_cfg_get16(const struct pci_dev *d, uint32_t off)
{
	return (uint16_t)(d->cfg[off] | d->cfg[off + 1] << 8);
}

uint32_t pci_cfg_get32(const struct pci_dev *d, uint32_t off)
{
	return pci_cfg_get16(d, off) | (uint32_t)pci_cfg_get16(d, off + 2) << 16;
}

void pci_dev_init(struct pci_dev *d, uint16_t vendor, uint16_t device, uint32_t class_code,
		  uint8_t revision, const struct pci_dev_ops *ops, void *opaque)
{
	memset(d, 0, sizeof(*d));
	pci_cfg_set16(d, PCI_VENDOR_ID, vendor);
	pci_cfg_set16(d, PCI_VENDOR_ID + 2, device);
	d->cfg[PCI_REVISION] = revision;
	d->cfg[PCI_REVISION + 1] = (uint8_t)class_code;
	d->cfg[PCI_REVISION + 2] = (uint8_t)(class_code >> 8);
	d->cfg[PCI_REVISION + 3] = (uint8_t)(class_code >> 16);
	d->cfg[PCI_HEADER_TYPE] = 0;
	pci_cfg_set16(d, PCI_COMMAND, 0);
	d->wmask[PCI_COMMAND] = (uint8_t)(PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	d->wmask[PCI_COMMAND + 1] = PCI_COMMAND_INTX_DISABLE >> 8;
	d->wmask[PCI_INT_LINE] = 0xff;
	d->next_cap = PCI_FIRST_CAP;
	d->ops = ops;
	d->opaque = opaque;
}

uint8_t pci_dev_add_cap(struct pci_dev *d, uint8_t id, uint8_t len)
{
	uint8_t off = d->next_cap;

	if (len < 2 || (unsigned)off + len > PCI_CFG_SIZE)
		return 0;
	d->cfg[off] = id;
	d->cfg[off + 1] = 0;
	if (d->last_cap)
		d->cfg[d->last_cap + 1] = off;
	else
		d->cfg[PCI_CAP_PTR] = off;
	d->last_cap = off;
	d->next_cap = (uint8_t)ALIGN_UP((unsigned)off + len, 4u);
	pci_cfg_set16(d, PCI_STATUS, pci_cfg_get16(d, PCI_STATUS) | PCI_STATUS_CAP_LIST);
	return off;
}

void pci_dev_set_bar(struct pci_dev *d, int bar, uint32_t size)
{
	d->bar_size[bar] = size;
	/* 32-bit, non-prefetchable memory BAR: the address bits above the size are writable */
	pci_cfg_set32(d, PCI_BAR0 + 4 * (unsigned)bar, 0);
	uint32_t mask = ~(size - 1);
	for (int i = 0; i < 4; i++)
		d->wmask[PCI_BAR0 + 4 * bar + i] = (uint8_t)(mask >> (8 * i));
}

/* Recompute which BARs decode where; tell the device about changes. Bus write-locked. */
static void pci_update_bars_locked(struct pci_dev *d)
{
	bool mem = pci_cfg_get16(d, PCI_COMMAND) & PCI_COMMAND_MEMORY;

	for (int i = 0; i < PCI_NUM_BARS; i++) {
		uint64_t addr = pci_cfg_get32(d, PCI_BAR0 + 4 * (unsigned)i) & ~0xfu;
		uint64_t size = d->bar_size[i];

		if (!size)
			continue;
		/* decode only inside our window: elsewhere the access never reaches us */
		if (!mem || addr < BOOT_PCI_MMIO32_GPA ||
		    addr + size > BOOT_PCI_MMIO32_GPA + BOOT_PCI_MMIO32_SIZE)
			addr = 0;
		if (addr == d->bar_active[i])
			continue;
		d->bar_active[i] = addr;
		if (d->ops && d->ops->bar_moved)
			d->ops->bar_moved(d, i, addr);
	}
}

void pci_bus_init(struct pci_bus *bus)
{
	memset(bus, 0, sizeof(*bus));
	pthread_rwlock_init(&bus->lock, NULL);
	pci_dev_init(&bus->host, HOST_VENDOR, HOST_DEVICE, CLASS_HOST_BRIDGE, 0, NULL, NULL);
	bus->devs[0] = &bus->host;
	bus->mmio_next = BOOT_PCI_MMIO32_GPA;
}

void pci_bus_fini(struct pci_bus *bus)
{
	pthread_rwlock_destroy(&bus->lock);
}

int pci_bus_add(struct pci_bus *bus, struct pci_dev *d)
{
	unsigned slot;

	for (slot = 1; slot < PCI_MAX_DEVS && bus->devs[slot]; slot++)
		;
	if (slot == PCI_MAX_DEVS)
		return -ENOSPC;
	for (int i = 0; i < PCI_NUM_BARS; i++) {
		uint64_t size = d->bar_size[i], base = ALIGN_UP(bus->mmio_next, size ? size : 1);

		if (!size)
			continue;
		if (base + size > BOOT_PCI_MMIO32_GPA + BOOT_PCI_MMIO32_SIZE)
			return -ENOSPC;
		pci_cfg_set32(d, PCI_BAR0 + 4 * (unsigned)i, (uint32_t)base);
		bus->mmio_next = base + size;
	}
	d->slot = (uint8_t)slot;
	bus->devs[slot] = d;
	return 0;
}

void pci_cfg_read(struct pci_bus *bus, unsigned slot, uint32_t off, void *data, uint32_t len)
{
	uint8_t *out = data;

	memset(data, 0xff, len);
	if (slot >= PCI_MAX_DEVS || len > 4 || !bus->devs[slot])
		return;
	pthread_rwlock_rdlock(&bus->lock);
	for (uint32_t i = 0; i < len; i++)
		/* extended config space (0x100..0xfff) has no capabilities: reads 0 */
		out[i] = off + i < PCI_CFG_SIZE ? bus->devs[slot]->cfg[off + i] : 0;
	pthread_rwlock_unlock(&bus->lock);
}

void pci_cfg_write(struct pci_bus *bus, unsigned slot, uint32_t off, const void *data,
		   uint32_t len)
{
	const uint8_t *in = data;
	struct pci_dev *d;

	if (slot >= PCI_MAX_DEVS || len > 4 || off >= PCI_CFG_SIZE || off + len > PCI_CFG_SIZE)
		return;
	pthread_rwlock_wrlock(&bus->lock);
	d = bus->devs[slot];
	if (d) {
		for (uint32_t i = 0; i < len; i++)
			d->cfg[off + i] = (uint8_t)((d->cfg[off + i] & ~d->wmask[off + i]) |
						    (in[i] & d->wmask[off + i]));
		if (off < PCI_BAR0 + 4 * PCI_NUM_BARS && off + len > PCI_COMMAND)
			pci_update_bars_locked(d);
		if (d->ops && d->ops->cfg_written)
			d->ops->cfg_written(d, off, len);
	}
	pthread_rwlock_unlock(&bus->lock);
}

/* ECAM: offset = dev << 15 | fn << 12 | register (PCIe 4.0 §7.2.2), bus 0 only. */
static void ecam_read(void *opaque, uint64_t off, void *data, uint32_t len)
{
	unsigned fn = (off >> ECAM_FN_SHIFT) & 7;

	memset(data, 0xff, len);
	if (fn == 0 && IS_ALIGNED(off, len))
		pci_cfg_read(opaque, (unsigned)(off >> ECAM_DEV_SHIFT), off & 0xfff, data, len);
}

static void ecam_write(void *opaque, uint64_t off, const void *data, uint32_t len)
{
	unsigned fn = (off >> ECAM_FN_SHIFT) & 7;

	if (fn == 0 && IS_ALIGNED(off, len))
		pci_cfg_write(opaque, (unsigned)(off >> ECAM_DEV_SHIFT), off & 0xfff, data, len);
}

static const struct iobus_ops ecam_ops = { .read = ecam_read, .write = ecam_write };

/*
 * Ports 0xcf8..0xcff: mechanism #1. A dword at 0xcf8 is the address latch
 * (enable, bus, device, function, register); 0xcfc..0xcff the data window.
 * A byte at 0xcf9 is the reset control register instead.
 *
 * The latch is one register for the whole bus, as on a PC: every vCPU thread
 * reads and writes it with no lock, so it is a relaxed atomic, loaded once per
 * access. A guest that lets two CPUs use it at once without its own lock (Linux
 * takes pci_config_lock) gets a mixed-up address, never a torn one.
 */
static void cf8_read(void *opaque, uint64_t off, void *data, uint32_t len)
{
	struct pci_bus *bus = opaque;
	uint32_t a = __atomic_load_n(&bus->cf8, __ATOMIC_RELAXED);

	memset(data, 0xff, len);
	if (off == 0 && len == 4) {
		memcpy(data, &a, 4);
	} else if (off >= 4 && (a & CF8_ENABLE) && ((a >> 16) & 0xff) == 0 && ((a >> 8) & 7) == 0) {
		pci_cfg_read(bus, (a >> 11) & 31, (a & 0xfc) + (uint32_t)(off - 4), data, len);
	}
}

static void cf8_write(void *opaque, uint64_t off, const void *data, uint32_t len)
{
	struct pci_bus *bus = opaque;
	uint32_t a = __atomic_load_n(&bus->cf8, __ATOMIC_RELAXED);

	if (off == 0 && len == 4) {
		memcpy(&a, data, 4);
		__atomic_store_n(&bus->cf8, a, __ATOMIC_RELAXED);
	} else if (off == 1 && len == 1) {
		reset_ctl_ops.write(bus->reset_sink, 0, data, len);
	} else if (off >= 4 && (a & CF8_ENABLE) && ((a >> 16) & 0xff) == 0 &&
		   ((a >> 8) & 7) == 0) {
		pci_cfg_write(bus, (a >> 11) & 31, (a & 0xfc) + (uint32_t)(off - 4), data, len);
	}
}

static const struct iobus_ops cf8_ops = { .read = cf8_read, .write = cf8_write };

/* The BAR window: find the device BAR decoding (addr). */
static struct pci_dev *bar_find_locked(struct pci_bus *bus, uint64_t addr, uint32_t len, int *bar,
				       uint64_t *off)
{
	for (unsigned s = 1; s < PCI_MAX_DEVS; s++) {
		struct pci_dev *d = bus->devs[s];

		for (int i = 0; d && i < PCI_NUM_BARS; i++) {
			uint64_t base = d->bar_active[i];

			if (base && addr >= base && addr - base + len <= d->bar_size[i]) {
				*bar = i;
				*off = addr - base;
				return d;
			}
		}
	}
	return NULL;
}

static void window_read(void *opaque, uint64_t off, void *data, uint32_t len)
{
	struct pci_bus *bus = opaque;
	struct pci_dev *d;
	uint64_t boff;
	int bar;

	memset(data, 0xff, len);
	pthread_rwlock_rdlock(&bus->lock);
	d = bar_find_locked(bus, BOOT_PCI_MMIO32_GPA + off, len, &bar, &boff);
	if (d && d->ops->bar_read)
		d->ops->bar_read(d, bar, boff, data, len);
	pthread_rwlock_unlock(&bus->lock);
}

static void window_write(void *opaque, uint64_t off, const void *data, uint32_t len)
{
	struct pci_bus *bus = opaque;
	struct pci_dev *d;
	uint64_t boff;
	int bar;

	pthread_rwlock_rdlock(&bus->lock);
	d = bar_find_locked(bus, BOOT_PCI_MMIO32_GPA + off, len, &bar, &boff);
	if (d && d->ops->bar_write)
		d->ops->bar_write(d, bar, boff, data, len);
	pthread_rwlock_unlock(&bus->lock);
}

static const struct iobus_ops window_ops = { .read = window_read, .write = window_write };

int pci_bus_register(struct pci_bus *bus, struct iobus *pio, struct iobus *mmio)
{
	/* one bus: ECAM covers bus 0 only (1 MiB), matching the MCFG */
	int r = iobus_register(mmio, BOOT_PCI_ECAM_GPA, 1 << 20, &ecam_ops, bus, "pci-ecam");

	if (!r)
		r = iobus_register(pio, BOOT_PORT_PCI_CFG_ADDR, 8, &cf8_ops, bus, "pci-cf8");
	if (!r)
		r = iobus_register(mmio, BOOT_PCI_MMIO32_GPA, BOOT_PCI_MMIO32_SIZE, &window_ops, bus,
				   "pci-window");
	return r;
}
