// SPDX-License-Identifier: MIT
/*
 * fuzz_ctl_request.c: ctl_parse_request, the control socket's request parser,
 * then the reply line the server would send. Inputs whose first byte is odd
 * are parsed as they are; the others build a mostly valid request from a
 * template (command, id and timeout chosen by the next bytes, the rest spliced
 * in as a value), so the field checks are reached. Invariants: 0 with a known
 * command, or -EINVAL with an error code and a non-empty printable message; the
 * reply is one line that fits CTL_REPLY_MAX and parses back as JSON with the
 * same "ok".
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/ctl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const cmds[] = { "ping", "info", "pause", "resume", "shutdown", "kill",
				    "", "reboot", "PING" };
static const char *const ids[] = { "", ",\"id\":1", ",\"id\":\"x\"", ",\"id\":1.5",
				   ",\"id\":null", ",\"id\":-9007199254740992" };
static const char *const tmos[] = { "", ",\"timeout_ms\":1", ",\"timeout_ms\":3600000",
				    ",\"timeout_ms\":0", ",\"timeout_ms\":\"5\"",
				    ",\"timeout_ms\":" /* + the rest of the input */ };

/* A request from the template; (rest) is spliced in as the timeout or a key. */
static size_t build(const uint8_t *d, size_t n, char *out, size_t len)
{
	const char *tmo = tmos[n > 3 ? d[3] % 6 : 0];
	const char *rest = n > 4 ? (const char *)d + 4 : "";
	int rn = n > 4 ? (int)(n - 4) : 0;
	char t[CTL_LINE_MAX];
	int k;

	if (n > 3 && d[3] % 6 == 5)
		snprintf(t, sizeof(t), "%s%.*s", tmo, rn, rest);
	else
		snprintf(t, sizeof(t), "%s", tmo);
	k = snprintf(out, len, "{\"cmd\":\"%s\"%s%s}", cmds[n > 1 ? d[1] % 9 : 0],
		     ids[n > 2 ? d[2] % 6 : 0], t);
	return k < 0 ? 0 : (size_t)k < len ? (size_t)k : len - 1;
}

static void check_reply(const struct ctl_request *req, const struct ctl_error *err, int r)
{
	char buf[CTL_REPLY_MAX];
	int n = ctl_format_reply(req->id, NULL, r ? err : NULL, buf, sizeof(buf));
	cJSON *o;

	if (n <= 0 || (size_t)n != strlen(buf) || buf[n - 1] != '\n' || memchr(buf, '\n', (size_t)n - 1))
		abort();
	o = cJSON_Parse(buf);
	if (!o || cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "ok")) != !r)
		abort();
	cJSON_Delete(o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char line[2 * CTL_LINE_MAX];
	struct ctl_request req;
	struct ctl_error err;
	size_t len;
	int r;

	if (size == 0)
		return 0;
	if (data[0] & 1) {
		len = size - 1 < sizeof(line) ? size - 1 : sizeof(line);
		memcpy(line, data + 1, len);
	} else {
		len = build(data, size, line, sizeof(line));
	}
	r = ctl_parse_request(line, len, &req, &err);
	if (r == 0) {
		if (req.cmd <= CTL_CMD_NONE || req.cmd > CTL_CMD_KILL || err.code != CTL_OK)
			abort();
		if ((req.cmd == CTL_CMD_SHUTDOWN) != (req.timeout_ms != 0) ||
		    req.timeout_ms > CTL_SHUTDOWN_TIMEOUT_MAX_MS)
			abort();
	} else {
		if (r != -EINVAL || err.code == CTL_OK || !err.message[0] || req.cmd != CTL_CMD_NONE)
			abort();
		for (const char *p = err.message; *p; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				abort();
	}
	if (req.id && !cJSON_IsNumber(req.id) && !cJSON_IsString(req.id))
		abort();
	check_reply(&req, &err, r);
	ctl_request_free(&req);
	return 0;
}
