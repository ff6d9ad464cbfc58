/* SPDX-License-Identifier: MIT */
/*
 * net.h: guest network configuration from agentvmm.nets (prefix gi_net_):
 * lo up; for each item "MAC|A.B.C.D/N|GW|DNS" the interface with that MAC gets
 * the address, is set up, gets a default route through GW and DNS goes into
 * /etc/resolv.conf. Without an address the interface stays down. Everything
 * through rtnetlink: no tools needed in the guest.
 */
#ifndef AGENTVMM_GUEST_INIT_NET_H
#define AGENTVMM_GUEST_INIT_NET_H

#include <stddef.h>

#include "guest-init/compiler.h"

#define GI_NET_WAIT_MS 5000 /* how long an interface may take to appear */

/*
 * gi_net_setup() - configure lo and the (n) items. An item that cannot be
 * applied is reported (naming a missing virtio_net or virtio-pci driver) and
 * the others are still tried; lo failing is reported only.
 * Return: 0, or -errno of the first failed item (guest-init then ends the VM
 * with GI_STATUS_SETUP_FAILED). Context: PID 1, after the modules are loaded
 * and the root is final.
 */
int gi_net_setup(char *const *items, size_t n);

#endif
