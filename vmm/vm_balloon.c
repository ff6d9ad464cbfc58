// SPDX-License-Identifier: MIT
/* vm_balloon.c: balloon size and guest memory stats for the control socket and the library. */
#include "vmm/vm_balloon.h"

#include <errno.h>
#include <stdio.h>

#include "vmm/vm.h"

#define PAGES_PER_MIB (MiB(1) / VBAL_PAGE_SIZE)

int vm_balloon_set(struct vm *vm, uint64_t size_mib, char *msg, size_t msglen)
{
	if (!vm->balloon_dev) {
		snprintf(msg, msglen, "the VM has no balloon (--balloon off)");
		return -ENODEV;
	}
	if (size_mib > vm->cfg->mem_mib) {
		snprintf(msg, msglen, "size %llu MiB: more than the guest's %llu MiB",
			 (unsigned long long)size_mib, (unsigned long long)vm->cfg->mem_mib);
		return -EINVAL;
	}
	vbal_set_target(vm->balloon_dev, size_mib * PAGES_PER_MIB);
	return 0;
}

int vm_balloon_info(struct vm *vm, struct vbal_info *out, char *msg, size_t msglen)
{
	if (!vm->balloon_dev) {
		snprintf(msg, msglen, "the VM has no balloon (--balloon off)");
		return -ENODEV;
	}
	vbal_get_info(vm->balloon_dev, out);
	vbal_request_stats(vm->balloon_dev);
	return 0;
}

static bool add_num(cJSON *o, const char *k, double v)
{
	return cJSON_AddNumberToObject(o, k, v) != NULL;
}

int vm_balloon_json(const struct vbal_info *in, cJSON *res)
{
	cJSON *st, *c;

	if (!add_num(res, "target_mib", (double)(in->target_pages / PAGES_PER_MIB)) ||
	    !add_num(res, "actual_mib", (double)(in->actual_pages / PAGES_PER_MIB)) ||
	    !cJSON_AddBoolToObject(res, "driver", in->active) ||
	    !cJSON_AddBoolToObject(res, "reporting",
				   in->features & (1ULL << VIRTIO_BALLOON_F_REPORTING)))
		return -ENOMEM;
	if (in->stats_valid) {
		if (!add_num(res, "stats_age_ms", (double)in->stats_age_ms) ||
		    !(st = cJSON_AddObjectToObject(res, "stats")))
			return -ENOMEM;
		for (unsigned t = 0; t < VBAL_NR_STATS; t++) {
			const char *name = vbal_stat_name(t);

			if (name && (in->stats_mask & (1U << t)) && !add_num(st, name,
									    (double)in->stats[t]))
				return -ENOMEM;
		}
	}
	c = cJSON_AddObjectToObject(res, "counters");
	if (!c || !add_num(c, "inflated_pages", (double)in->inflated_pages) ||
	    !add_num(c, "deflated_pages", (double)in->deflated_pages) ||
	    !add_num(c, "reported_ranges", (double)in->reported_ranges) ||
	    !add_num(c, "reported_mib", (double)(in->reported_bytes >> 20)) ||
	    !add_num(c, "refused", (double)in->refused))
		return -ENOMEM;
	return 0;
}
