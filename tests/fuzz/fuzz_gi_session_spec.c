// SPDX-License-Identifier: MIT
/*
 * fuzz_gi_session_spec.c: libFuzzer target for guest-init's session job
 * parser (gi_spec_parse) and its frame-header check, which see every byte
 * the host side of a session sends to a process running as root in the guest.
 * The first 8 bytes are a frame header for gi_session_frame_check(); the rest
 * is a SPEC payload. Whatever is accepted must be self-consistent.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "guest-init/session.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
