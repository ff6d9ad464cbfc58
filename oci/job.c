// SPDX-License-Identifier: MIT
/*
 * job.c: an OCI process (oci/spec.h) as the session job guest-init runs
 * (struct avm_exec_opts; the items are guest-init/session_proto.h's): the
 * command chroot()ed into the bundle's rootfs, which the guest mounts at
 * OCI_GUEST_ROOT, with the process's ids, groups, umask, capabilities,
 * limits, no_new_privs and terminal; the container's first process also
 * carries the hostname and the one-time set-up (mounts, masked and
 * read-only paths, sysctls).
 */
#include <agentvmm.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oci/runtime.h"

int oci_job_opts(const struct oci_spec *s, struct oci_job *j, struct avm_exec_opts *o,
		 bool first, char **items, int nitems)
{
	memset(j, 0, sizeof(*j));
	*o = (struct avm_exec_opts){
		.argc = s->nargs, .argv = (const char *const *)s->args,
		.envc = s->nenv, .env = (const char *const *)s->env,
		.cwd = s->cwd, .tty = s->terminal,
		.in_fd = 0, .out_fd = 1, .err_fd = 2,
		.nr_rlimits = s->nrlimits, .rlimits = (const char *const *)s->rlimits,
		.root = OCI_GUEST_ROOT, .no_new_privs = s->no_new_privs,
	};
	snprintf(j->user, sizeof(j->user), "%u:%u", s->uid, s->gid);
	o->user = j->user;
	if (s->umask >= 0) {
		snprintf(j->umask, sizeof(j->umask), "%03o", (unsigned)s->umask & 0777);
		o->umask = j->umask;
	}
	if (s->has_caps) {
		snprintf(j->caps, sizeof(j->caps), "%llx:%llx:%llx:%llx:%llx",
			 (unsigned long long)s->cap_bounding, (unsigned long long)s->cap_effective,
			 (unsigned long long)s->cap_permitted, (unsigned long long)s->cap_inheritable,
			 (unsigned long long)s->cap_ambient);
		o->caps = j->caps;
	}
	if (s->ngroups) {
		j->groups = calloc((size_t)s->ngroups, sizeof(*j->groups));
		if (!j->groups)
			return -ENOMEM;
		for (int i = 0; i < s->ngroups; i++)
			j->groups[i] = s->groups[i];
		o->nr_groups = s->ngroups;
		o->groups = j->groups;
	}
	if (first) {
		o->hostname = s->hostname;
		o->nr_setup = nitems;
		o->setup = (const char *const *)items;
	}
	return 0;
}

void oci_job_fini(struct oci_job *j)
{
	free(j->groups);
	j->groups = NULL;
}
