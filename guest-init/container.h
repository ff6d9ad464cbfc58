/* SPDX-License-Identifier: MIT */
/*
 * container.h: a session's container items applied (session_proto.h
 * "Container items", prefix gi_ct_): the one-time set-up of a container's
 * root (mounts, /dev, masked and read-only paths, sysctls), done by the
 * session handler, and the capability sets, done by the command's process
 * around its change of ids. Parsing is gi_spec_parse()'s (session_spec.c).
 */
#ifndef AGENTVMM_GUEST_INIT_CONTAINER_H
#define AGENTVMM_GUEST_INIT_CONTAINER_H

#include <stddef.h>

#include "guest-init/compiler.h"
#include "guest-init/session.h"

/*
 * gi_ct_setup() - apply the set-up items of (sp) (sp->setup, which need
 * sp->root) in the order s, M, D, P, O, Y, items of one key in their order.
 * Paths inside the root are resolved with openat2(RESOLVE_IN_ROOT |
 * RESOLVE_NO_MAGICLINKS) from an O_PATH fd of sp->root, and mounts go onto
 * /proc/self/fd/N of what that gave, so no symbolic link in the root leads a
 * mount, a created directory or file, or a device node out of it. Mounts are
 * made in the caller's mount namespace (guest-init's) and stay. Files and
 * directories are created with exactly the modes named (the umask is 0 while
 * this runs, and restored after). It stops at the first failure.
 * Return: 0; -errno with (msg) "set-up ITEM: what: strerror" for the item
 * that failed (the items before it stay applied).
 * Context: the session handler (root, all capabilities), before it forks the
 * command. Guest: n/a; the host chose every item.
 */
int __must_check gi_ct_setup(const struct gi_spec *sp, char *msg, size_t msglen);

/*
 * gi_ct_caps_bound() - the first half of (caps), before the ids change: drop
 * every capability the kernel knows that is not in caps->bnd from the
 * bounding set (PR_CAPBSET_DROP), then PR_SET_KEEPCAPS so that a change to a
 * non-zero uid keeps the permitted set.
 * Return: 0 or -errno (prctl).
 * Context: the command's process, root, before setgroups/setresgid/setresuid.
 */
int __must_check gi_ct_caps_bound(const struct gi_spec_caps *caps);

/*
 * gi_ct_caps_apply() - the second half, after the ids changed:
 * capset(_LINUX_CAPABILITY_VERSION_3) with caps->eff, ->prm and ->inh, the
 * ambient set cleared and caps->amb raised (capabilities past the kernel's
 * last are skipped, as capset() ignores them), PR_SET_KEEPCAPS off again.
 * Return: 0 or -errno (capset, prctl).
 * Context: the command's process, after gi_ct_caps_bound() and the id change.
 */
int __must_check gi_ct_caps_apply(const struct gi_spec_caps *caps);

#endif
