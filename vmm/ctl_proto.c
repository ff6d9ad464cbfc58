// SPDX-License-Identifier: MIT
/* ctl_proto.c: the control protocol's pure half: request line → struct ctl_request, reply lines. */
#include "vmm/ctl.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const cmd_names[] = {
	[CTL_CMD_PING] = "ping",         [CTL_CMD_INFO] = "info",
	[CTL_CMD_PAUSE] = "pause",       [CTL_CMD_RESUME] = "resume",
	[CTL_CMD_SHUTDOWN] = "shutdown", [CTL_CMD_KILL] = "kill",
	[CTL_CMD_EXEC] = "exec",         [CTL_CMD_BALLOON] = "balloon",
	[CTL_CMD_SNAPSHOT] = "snapshot",
};

static const char *const err_names[] = {
	[CTL_OK] = "ok",
	[CTL_E_BAD_REQUEST] = "bad-request",
	[CTL_E_UNKNOWN_COMMAND] = "unknown-command",
	[CTL_E_BAD_FIELD] = "bad-field",
	[CTL_E_BUSY] = "busy",
	[CTL_E_DENIED] = "denied",
	[CTL_E_FAILED] = "failed",
};

const char *ctl_cmd_name(enum ctl_cmd cmd)
{
	if ((unsigned)cmd >= ARRAY_SIZE(cmd_names) || !cmd_names[cmd])
		return "none";
	return cmd_names[cmd];
}

const char *ctl_errcode_name(enum ctl_errcode code)
{
	if ((unsigned)code >= ARRAY_SIZE(err_names))
		return "failed";
	return err_names[code];
}

static int set_err(struct ctl_error *err, enum ctl_errcode code, const char *fmt, ...)
	__printf(3, 4);
static int set_err(struct ctl_error *err, enum ctl_errcode code, const char *fmt, ...)
{
	va_list ap;

	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* A peer-supplied string for a message: printable ASCII, at most 40 bytes shown. */
static const char *quote(const char *s, char *buf, size_t len)
{
	size_t i;

	for (i = 0; s[i] && i < 40 && i + 4 < len; i++)
		buf[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	if (s[i] && i + 4 < len)
		memcpy(buf + i, "...", 3), i += 3;
	buf[i] = 0;
	return buf;
}

/* An integral JSON number within ±2^53 (exactly representable), into (*out). */
static bool json_integer(const cJSON *v, double *out)
{
	double d;

	if (!cJSON_IsNumber(v))
		return false;
	d = v->valuedouble;
	if (!isfinite(d) || floor(d) != d || fabs(d) > 9007199254740992.0)
		return false;
	*out = d;
	return true;
}

static int parse_id(const cJSON *v, struct ctl_request *req, struct ctl_error *err)
{
	double d;

	if ((cJSON_IsString(v) && strlen(v->valuestring) <= CTL_ID_MAX) || json_integer(v, &d)) {
		req->id = cJSON_Duplicate(v, false);
		if (!req->id)
			return set_err(err, CTL_E_FAILED, "out of memory");
		return 0;
	}
	return set_err(err, CTL_E_BAD_FIELD, "id: must be an integer or a string of at most %d bytes",
		       CTL_ID_MAX);
}

static const char *const known_keys[] = { "cmd", "id", "timeout_ms", "size_mib" };

/* Every key is known and given once. */
static int check_keys(const cJSON *obj, struct ctl_error *err)
{
	char q[48];

	for (const cJSON *a = obj->child; a; a = a->next) {
		bool known = false;

		for (size_t i = 0; i < ARRAY_SIZE(known_keys); i++)
			known |= !strcmp(a->string, known_keys[i]);
		if (!known)
			return set_err(err, CTL_E_BAD_FIELD, "unknown field \"%s\" (expected cmd, id, "
				       "timeout_ms, size_mib)", quote(a->string, q, sizeof(q)));
		for (const cJSON *b = obj->child; b != a; b = b->next)
			if (!strcmp(a->string, b->string))
				return set_err(err, CTL_E_BAD_FIELD, "duplicate field \"%s\"",
					       a->string);
	}
	return 0;
}

static int parse_cmd(const cJSON *obj, struct ctl_request *req, struct ctl_error *err)
{
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(obj, "cmd");
	char q[48];

	if (!c)
		return set_err(err, CTL_E_BAD_REQUEST, "missing field \"cmd\"");
	if (!cJSON_IsString(c))
		return set_err(err, CTL_E_BAD_FIELD, "cmd: must be a string");
	for (size_t i = 0; i < ARRAY_SIZE(cmd_names); i++) {
		if (cmd_names[i] && !strcmp(c->valuestring, cmd_names[i])) {
			req->cmd = (enum ctl_cmd)i;
			return 0;
		}
	}
	return set_err(err, CTL_E_UNKNOWN_COMMAND, "unknown command \"%s\" (expected ping, info, "
		       "pause, resume, shutdown, kill, balloon or snapshot)",
		       quote(c->valuestring, q, sizeof(q)));
}

static int parse_timeout(const cJSON *obj, struct ctl_request *req, struct ctl_error *err)
{
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(obj, "timeout_ms");
	double d;

	req->timeout_ms = req->cmd == CTL_CMD_SHUTDOWN ? CTL_SHUTDOWN_TIMEOUT_DEFAULT_MS : 0;
	if (!t)
		return 0;
	if (req->cmd != CTL_CMD_SHUTDOWN)
		return set_err(err, CTL_E_BAD_FIELD, "timeout_ms: only shutdown takes a timeout");
	if (!json_integer(t, &d) || d < 1 || d > CTL_SHUTDOWN_TIMEOUT_MAX_MS)
		return set_err(err, CTL_E_BAD_FIELD, "timeout_ms: must be an integer from 1 to %d",
			       CTL_SHUTDOWN_TIMEOUT_MAX_MS);
	req->timeout_ms = (uint32_t)d;
	return 0;
}

/* balloon's "size_mib": an integer from 0 to CTL_BALLOON_MAX_MIB. */
static int parse_size(const cJSON *obj, struct ctl_request *req, struct ctl_error *err)
{
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(obj, "size_mib");
	double d;

	if (!t)
		return 0;
	if (req->cmd != CTL_CMD_BALLOON)
		return set_err(err, CTL_E_BAD_FIELD, "size_mib: only balloon takes a size");
	if (!json_integer(t, &d) || d < 0 || d > CTL_BALLOON_MAX_MIB)
		return set_err(err, CTL_E_BAD_FIELD, "size_mib: must be an integer from 0 to %d",
			       CTL_BALLOON_MAX_MIB);
	req->has_size = true;
	req->size_mib = (uint64_t)d;
	return 0;
}

static bool all_space(const char *p, const char *end)
{
	for (; p < end; p++)
		if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n')
			return false;
	return true;
}

/*
 * cJSON records the position of a parse error in a global as well: one lock
 * so control threads of several VMs in one process never race on it.
 */
static pthread_mutex_t parse_lock = PTHREAD_MUTEX_INITIALIZER;

int ctl_parse_request(const char *line, size_t len, struct ctl_request *req,
		      struct ctl_error *err)
{
	const char *end = NULL;
	cJSON *obj;
	int r;

	memset(req, 0, sizeof(*req));
	err->code = CTL_OK;
	err->message[0] = 0;
	if (len > CTL_LINE_MAX)
		return set_err(err, CTL_E_BAD_REQUEST, "request longer than %d bytes", CTL_LINE_MAX);
	if (memchr(line, 0, len))
		return set_err(err, CTL_E_BAD_REQUEST, "request contains a NUL byte");
	if (all_space(line, line + len))
		return set_err(err, CTL_E_BAD_REQUEST, "empty request (expected one JSON object)");
	pthread_mutex_lock(&parse_lock);
	obj = cJSON_ParseWithLengthOpts(line, len, &end, false);
	pthread_mutex_unlock(&parse_lock);
	if (!obj) {
		size_t at = end && end >= line && end <= line + len ? (size_t)(end - line) : 0;

		return set_err(err, CTL_E_BAD_REQUEST, "malformed JSON near byte %zu", at);
	}
	if (!end || end < line || end > line + len || !all_space(end, line + len)) {
		r = set_err(err, CTL_E_BAD_REQUEST, "trailing data after the JSON object");
		goto out;
	}
	if (!cJSON_IsObject(obj)) {
		r = set_err(err, CTL_E_BAD_REQUEST, "request must be a JSON object");
		goto out;
	}
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(obj, "id");
	r = id ? parse_id(id, req, err) : 0;
	if (!r)
		r = check_keys(obj, err);
	if (!r)
		r = parse_cmd(obj, req, err);
	if (!r)
		r = parse_timeout(obj, req, err);
	if (!r)
		r = parse_size(obj, req, err);
out:
	cJSON_Delete(obj);
	if (r)
		req->cmd = CTL_CMD_NONE;
	return r;
}

void ctl_request_free(struct ctl_request *req)
{
	cJSON_Delete(req->id);
	req->id = NULL;
}

static cJSON *build_reply(const cJSON *id, const cJSON *result, const struct ctl_error *err)
{
	cJSON *o = cJSON_CreateObject(), *x;
	bool ok = !err || err->code == CTL_OK;

	if (!o || !cJSON_AddBoolToObject(o, "ok", ok))
		goto fail;
	if (id) {
		x = cJSON_Duplicate(id, true);
		if (!x || !cJSON_AddItemToObject(o, "id", x)) {
			cJSON_Delete(x);
			goto fail;
		}
	}
	if (ok) {
		x = result ? cJSON_Duplicate(result, true) : cJSON_CreateObject();
		if (!x || !cJSON_AddItemToObject(o, "result", x)) {
			cJSON_Delete(x);
			goto fail;
		}
		return o;
	}
	x = cJSON_AddObjectToObject(o, "error");
	if (!x || !cJSON_AddStringToObject(x, "code", ctl_errcode_name(err->code)) ||
	    !cJSON_AddStringToObject(x, "message", err->message))
		goto fail;
	return o;
fail:
	cJSON_Delete(o);
	return NULL;
}

/* Print (o) unformatted (one line: cJSON escapes control characters) plus '\n'. */
static int print_line(const cJSON *o, char *buf, size_t len)
{
	char *s = cJSON_PrintUnformatted(o);
	size_t n;

	if (!s)
		return -ENOMEM;
	n = strlen(s);
	if (n + 1 >= len) {
		cJSON_free(s);
		return -ENOSPC;
	}
	memcpy(buf, s, n);
	buf[n] = '\n';
	buf[n + 1] = 0;
	cJSON_free(s);
	return (int)(n + 1);
}

int ctl_format_reply(const cJSON *id, const cJSON *result, const struct ctl_error *err, char *buf,
		     size_t len)
{
	struct ctl_error big = { .code = CTL_E_FAILED };
	cJSON *o = build_reply(id, result, err);
	int r;

	if (!o)
		return -ENOMEM;
	r = print_line(o, buf, len);
	cJSON_Delete(o);
	if (r != -ENOSPC)
		return r;
	snprintf(big.message, sizeof(big.message), "reply longer than %zu bytes", len);
	/* a string id is at most CTL_ID_MAX bytes (escaped: 6x), so this fits CTL_REPLY_MAX */
	o = build_reply(id, NULL, &big);
	if (!o)
		return -ENOMEM;
	r = print_line(o, buf, len);
	cJSON_Delete(o);
	return r < 0 ? r : -ENOSPC;
}
