// SPDX-License-Identifier: MIT
/*
 * fuzz_gi_session_spec.c: libFuzzer target for guest-init's session job
 * parser (gi_spec_parse) and its frame-header check, which see every byte
 * the host side of a session sends to a process running as root in the guest.
 * The first 8 bytes are a frame header for gi_session_frame_check(); the rest
 * is a SPEC payload. Whatever is accepted must be self-consistent, the
 * container items (root, groups, capabilities, set-up items) included.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "guest-init/session.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define HOST_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-."

/* An absolute path without a ".." component (session_proto.h, set-up items). */
static bool path_ok(const char *p)
{
	if (!p || p[0] != '/')
		return false;
	for (const char *c = strstr(p, "/.."); c; c = strstr(c + 1, "/.."))
		if (c[3] == '/' || c[3] == '\0')
			return false;
	return true;
}

/* The container items as session_proto.h allows them; set-up items need the root. */
static void check_container(const struct gi_spec *s)
{
	const struct gi_spec_caps *k = &s->caps;

	if ((s->root && s->root[0] != '/') || s->nr_groups > AVS_MAX_GROUPS ||
	    (s->has_umask && s->umask > 0777) || s->nr_setup > AVS_MAX_SETUP ||
	    (s->nr_setup && !s->root))
		abort();
	if (s->hostname && (!s->hostname[0] || strlen(s->hostname) > AVS_HOSTNAME_MAX ||
			    strspn(s->hostname, HOST_CHARS) != strlen(s->hostname)))
		abort();
	if (s->has_caps &&
	    ((k->eff & ~k->prm) || (k->inh & ~k->bnd) || (k->amb & ~(k->prm & k->inh))))
		abort();
	for (size_t i = 0; i < s->nr_setup; i++) {
		const struct gi_spec_setup *m = &s->setup[i];

		switch (m->key) {
		case 's':
			if (!m->path || !m->path[0] || strchr(m->path, '/') ||
			    strstr(m->path, "..") || !m->value)
				abort();
			break;
		case 'M':
			if (!m->fstype || !path_ok(m->path) || (m->flags & ~AVS_MOUNT_FLAGS) ||
			    (m->value && (!m->value[0] || strchr(m->value, ':'))) ||
			    (!strcmp(m->fstype, "bind") && !path_ok(m->value)))
				abort();
			break;
		case 'P':
		case 'O':
			if (!path_ok(m->path))
				abort();
			break;
		case 'D':
		case 'Y':
			break;
		default:
			abort();
		}
	}
}

static void check_spec(const struct gi_spec *s)
{
	if (s->argc < 1 || !s->argv || s->argv[s->argc] || !s->env || s->env[s->envc])
		abort();
	for (size_t i = 0; i < s->envc; i++) {
		const char *eq = strchr(s->env[i], '=');

		if (!eq || eq == s->env[i])
			abort();
	}
	if (s->cwd && s->cwd[0] != '/')
		abort();
	if (s->tty && (!s->rows || !s->cols))
		abort();
	if (s->nr_rlimits > GI_SPEC_MAX_RLIMITS)
		abort();
	for (size_t i = 0; i < s->nr_rlimits; i++)
		if (s->rlimits[i].rl.rlim_cur > s->rlimits[i].rl.rlim_max)
			abort();
	check_container(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct avs_hdr h;
	struct gi_spec s;
	char err[256];

	if (size < AVS_HDR_LEN)
		return 0;
	memcpy(&h.len, data, 4);
	h.type = data[4];
	h.flags = data[5];
	h.zero = (uint16_t)(data[6] | data[7] << 8);
	if (!gi_session_frame_check(&h) && (h.flags || h.zero))
		abort();
	if (gi_spec_parse(data + AVS_HDR_LEN, size - AVS_HDR_LEN, &s, err, sizeof(err)) == 0)
		check_spec(&s);
	else if (!err[0])
		abort(); /* every failure explains itself */
	gi_spec_fini(&s);
	return 0;
}
