/* SPDX-License-Identifier: MIT */
/*
 * acpi_event.h: the power button, heard on the kernel's "acpi_event" generic
 * netlink family (drivers/acpi/event.c), the channel acpid listens on.
 *
 * The ACPI button driver (button.ko, PNP0C0C) sends one message per press,
 * class "button/power", type 0x80. docs/guest-init.md says why guest-init
 * listens here rather than on /dev/input/event*.
 */
#ifndef AGENTVMM_GUEST_INIT_ACPI_EVENT_H
#define AGENTVMM_GUEST_INIT_ACPI_EVENT_H

#include <stddef.h>
#include <stdint.h>

#define GI_ACPI_FAMILY "acpi_event"
#define GI_ACPI_MCAST_GROUP "acpi_mc_group"
#define GI_ACPI_POWER_CLASS "button/power"

/*
 * gi_acpi_event_open() - a non-blocking netlink socket joined to the
 * acpi_event multicast group. Return: the fd; -errno (e.g. -ENOENT: the
 * kernel has no such family, no ACPI).
 */
int gi_acpi_event_open(void);

/*
 * gi_acpi_event_read() - drain (fd). Return: how many power-button presses
 * it held (0 for other events or nothing); -errno on a socket error.
 */
int gi_acpi_event_read(int fd);

/*
 * Pure parsers of kernel messages, for the above and for the unit tests. A
 * buffer may hold several netlink messages; anything malformed is skipped.
 *
 * gi_acpi_parse_family() - from a CTRL_CMD_GETFAMILY reply, the family id
 *   and the id of GI_ACPI_MCAST_GROUP. Return: 0; -EINVAL malformed or not
 *   found; -errno from an NLMSG_ERROR reply.
 * gi_acpi_count_power() - the power-button events among acpi_event messages
 *   of family (family).
 * gi_acpi_build_getfamily() - the request into (buf) (at least 64 bytes).
 *   Return: its length.
 */
int gi_acpi_parse_family(const void *buf, size_t len, uint16_t *family, uint32_t *group);
int gi_acpi_count_power(const void *buf, size_t len, uint16_t family);
size_t gi_acpi_build_getfamily(void *buf, size_t cap, uint32_t seq);

#endif
