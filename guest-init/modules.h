/* SPDX-License-Identifier: MIT */
/* modules.h: loading the kernel modules the initramfs carries, in the order mkinitramfs chose. */
#ifndef AGENTVMM_GUEST_INIT_MODULES_H
#define AGENTVMM_GUEST_INIT_MODULES_H

#include "guest-init/compiler.h"

#define GI_MODULES_LIST "/etc/agentvmm/modules"
#define GI_MODULES_DIR "/lib/modules"
#define GI_REPORTING_ORDER "/sys/module/page_reporting/parameters/page_reporting_order"

/*
 * gi_modules_load() - finit_module() every module named in (list), one path
 * per line relative to (dir), in file order. Already loaded or built in
 * (EEXIST) is fine. Failures are printed in verbose mode only and never stop
 * the boot by themselves: each result is remembered (gi_diag_module_result()),
 * and a disk, share or NIC that then cannot be set up names its module.
 * The free page reporting order the kernel command line set is kept across
 * virtio_balloon's registration (which overwrites it in Linux 6.1).
 *
 * Return: the number of modules that failed to load (0 also when (list)
 * does not exist).
 * Context: PID 1, after /proc, /sys and /dev are mounted.
 */
unsigned int gi_modules_load(const char *list, const char *dir);

/*
 * gi_reporting_order_set() - a restored VM's free page reporting order
 * (agentvmm.page_reporting_order, 0..10; its template's command line cannot
 * carry this VM's --balloon reporting-order). Written once PCI is rescanned,
 * after virtio_balloon registered (which sets the driver's own order);
 * the parameter is read at each free, so it holds. Printed at -v.
 */
void gi_reporting_order_set(int order);

#endif
