// SPDX-License-Identifier: MIT
/* test_ctl_proto.c: control-request parsing (every command, every error, id echo, size limit) and reply lines. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "vmm/ctl.h"

struct parsed {
	int r;
	struct ctl_request req;
	struct ctl_error err;
};

static void parse(struct parsed *p, const char *line)
{
	memset(&p->err, 'X', sizeof(p->err)); /* prove err is always written */
	p->r = ctl_parse_request(line, strlen(line), &p->req, &p->err);
}

static void expect_ok(const char *line, enum ctl_cmd cmd, uint32_t timeout)
{
	struct parsed p;

	parse(&p, line);
	if (p.r)
		fail_msg("'%s': %s", line, p.err.message);
	assert_int_equal(p.err.code, CTL_OK);
	assert_int_equal(p.req.cmd, cmd);
	assert_int_equal(p.req.timeout_ms, timeout);
	ctl_request_free(&p.req);
}

/* (line) fails with (code) and exactly (msg). */
static void expect_err(const char *line, enum ctl_errcode code, const char *msg)
{
	struct parsed p;

	parse(&p, line);
	assert_int_equal(p.r, -EINVAL);
	assert_int_equal(p.req.cmd, CTL_CMD_NONE);
	if (p.err.code != code || strcmp(p.err.message, msg))
		fail_msg("'%s': got %s '%s', wanted %s '%s'", line, ctl_errcode_name(p.err.code),
			 p.err.message, ctl_errcode_name(code), msg);
	ctl_request_free(&p.req);
}

static void test_ctl_parse_every_command_ok(void **state)
{
	(void)state;
	expect_ok("{\"cmd\":\"ping\"}", CTL_CMD_PING, 0);
	expect_ok("{\"cmd\":\"info\"}", CTL_CMD_INFO, 0);
	expect_ok("{\"cmd\":\"pause\"}", CTL_CMD_PAUSE, 0);
	expect_ok("{\"cmd\":\"resume\"}", CTL_CMD_RESUME, 0);
	expect_ok("{\"cmd\":\"kill\"}", CTL_CMD_KILL, 0);
	expect_ok("{\"cmd\":\"shutdown\"}", CTL_CMD_SHUTDOWN, CTL_SHUTDOWN_TIMEOUT_DEFAULT_MS);
	expect_ok("{\"cmd\":\"shutdown\",\"timeout_ms\":1}", CTL_CMD_SHUTDOWN, 1);
	expect_ok("{\"timeout_ms\":3600000,\"cmd\":\"shutdown\"}", CTL_CMD_SHUTDOWN, 3600000);
	expect_ok("{\"cmd\":\"shutdown\",\"timeout_ms\":5e3}", CTL_CMD_SHUTDOWN, 5000);
	/* whitespace around and inside, a CRLF line ending */
	expect_ok("  { \"cmd\" : \"ping\" }\t\r", CTL_CMD_PING, 0);
}

static void test_ctl_parse_id_echoed(void **state)
{
	struct parsed p;
	char id[CTL_ID_MAX + 40];

	(void)state;
	parse(&p, "{\"id\":42,\"cmd\":\"info\"}");
	assert_int_equal(p.r, 0);
	assert_true(cJSON_IsNumber(p.req.id));
	assert_int_equal(p.req.id->valueint, 42);
	ctl_request_free(&p.req);
	ctl_request_free(&p.req); /* idempotent */

	parse(&p, "{\"cmd\":\"ping\",\"id\":\"req-\\u00e9\"}");
	assert_int_equal(p.r, 0);
	assert_string_equal(p.req.id->valuestring, "req-\xc3\xa9");
	ctl_request_free(&p.req);

	/* a later error still carries the id, so the error reply can echo it */
	parse(&p, "{\"id\":-7,\"cmd\":\"nope\"}");
	assert_int_equal(p.r, -EINVAL);
	assert_int_equal(p.err.code, CTL_E_UNKNOWN_COMMAND);
	assert_int_equal(p.req.id->valueint, -7);
	ctl_request_free(&p.req);

	/* a string id of exactly CTL_ID_MAX bytes is fine, one more is not */
	memset(id, 'a', sizeof(id));
	snprintf(id, sizeof(id), "{\"cmd\":\"ping\",\"id\":\"%.*s\"}", CTL_ID_MAX,
		 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
	expect_ok(id, CTL_CMD_PING, 0);
	snprintf(id, sizeof(id), "{\"cmd\":\"ping\",\"id\":\"%.*s\"}", CTL_ID_MAX + 1,
		 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
	expect_err(id, CTL_E_BAD_FIELD, "id: must be an integer or a string of at most 128 bytes");
}

static void test_ctl_parse_bad_id_fails(void **state)
{
	static const char *const bad[] = {
		"{\"cmd\":\"ping\",\"id\":1.5}",  "{\"cmd\":\"ping\",\"id\":null}",
		"{\"cmd\":\"ping\",\"id\":true}", "{\"cmd\":\"ping\",\"id\":[1]}",
		"{\"cmd\":\"ping\",\"id\":{}}",   "{\"cmd\":\"ping\",\"id\":1e300}",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_err(bad[i], CTL_E_BAD_FIELD,
			   "id: must be an integer or a string of at most 128 bytes");
}

static void test_ctl_parse_bad_request_fails(void **state)
{
	struct parsed p;

	(void)state;
	expect_err("", CTL_E_BAD_REQUEST, "empty request (expected one JSON object)");
	expect_err(" \t", CTL_E_BAD_REQUEST, "empty request (expected one JSON object)");
	expect_err("{\"cmd\":\"ping\"", CTL_E_BAD_REQUEST, "malformed JSON near byte 12");
	expect_err("{cmd:ping}", CTL_E_BAD_REQUEST, "malformed JSON near byte 2");
	expect_err("ping", CTL_E_BAD_REQUEST, "malformed JSON near byte 0");
	expect_err("{\"cmd\":\"ping\"} {}", CTL_E_BAD_REQUEST,
		   "trailing data after the JSON object");
	expect_err("[\"ping\"]", CTL_E_BAD_REQUEST, "request must be a JSON object");
	expect_err("\"ping\"", CTL_E_BAD_REQUEST, "request must be a JSON object");
	expect_err("42", CTL_E_BAD_REQUEST, "request must be a JSON object");
	expect_err("{}", CTL_E_BAD_REQUEST, "missing field \"cmd\"");
	expect_err("{\"id\":1}", CTL_E_BAD_REQUEST, "missing field \"cmd\"");

	/* a NUL inside the line (the length says it is there) */
	p.r = ctl_parse_request("{\"cmd\":\"ping\"}\0", 15, &p.req, &p.err);
	assert_int_equal(p.r, -EINVAL);
	assert_int_equal(p.err.code, CTL_E_BAD_REQUEST);
	assert_string_equal(p.err.message, "request contains a NUL byte");
	ctl_request_free(&p.req);
}

static void test_ctl_parse_bad_fields_fail(void **state)
{
	(void)state;
	expect_err("{\"cmd\":7}", CTL_E_BAD_FIELD, "cmd: must be a string");
	expect_err("{\"cmd\":null}", CTL_E_BAD_FIELD, "cmd: must be a string");
	expect_err("{\"cmd\":\"ping\",\"extra\":1}", CTL_E_BAD_FIELD,
		   "unknown field \"extra\" (expected cmd, id, timeout_ms, size_mib)");
	expect_err("{\"cmd\":\"ping\",\"Cmd\":\"ping\"}", CTL_E_BAD_FIELD,
		   "unknown field \"Cmd\" (expected cmd, id, timeout_ms, size_mib)");
	expect_err("{\"cmd\":\"ping\",\"cmd\":\"kill\"}", CTL_E_BAD_FIELD,
		   "duplicate field \"cmd\"");
	expect_err("{\"cmd\":\"ping\",\"\\u0001\\n\":1}", CTL_E_BAD_FIELD,
		   "unknown field \"??\" (expected cmd, id, timeout_ms, size_mib)");
	expect_err("{\"cmd\":\"info\",\"timeout_ms\":5}", CTL_E_BAD_FIELD,
		   "timeout_ms: only shutdown takes a timeout");
	expect_err("{\"cmd\":\"kill\",\"timeout_ms\":5}", CTL_E_BAD_FIELD,
		   "timeout_ms: only shutdown takes a timeout");
	static const char *const bad_t[] = { "0", "-1", "1.5", "3600001", "\"5\"", "null",
					     "1e10", "true" };
	for (size_t i = 0; i < sizeof(bad_t) / sizeof(bad_t[0]); i++) {
		char line[128];

		snprintf(line, sizeof(line), "{\"cmd\":\"shutdown\",\"timeout_ms\":%s}", bad_t[i]);
		expect_err(line, CTL_E_BAD_FIELD, "timeout_ms: must be an integer from 1 to 3600000");
	}
}

/* balloon [size_mib]: an integer 0..CTL_BALLOON_MAX_MIB, only for balloon */
static void test_ctl_parse_balloon_size(void **state)
{
	struct ctl_request req;
	struct ctl_error err;
	const char *ok = "{\"cmd\":\"balloon\",\"size_mib\":256}";

	(void)state;
	assert_int_equal(ctl_parse_request(ok, strlen(ok), &req, &err), 0);
	assert_int_equal(req.cmd, CTL_CMD_BALLOON);
	assert_true(req.has_size);
	assert_int_equal(req.size_mib, 256);
	ctl_request_free(&req);
	ok = "{\"cmd\":\"balloon\"}";
	assert_int_equal(ctl_parse_request(ok, strlen(ok), &req, &err), 0);
	assert_false(req.has_size);
	ctl_request_free(&req);
	expect_err("{\"cmd\":\"info\",\"size_mib\":5}", CTL_E_BAD_FIELD,
		   "size_mib: only balloon takes a size");
	static const char *const bad[] = { "-1", "1.5", "1048577", "\"5\"", "null", "1e10" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char line[128];

		snprintf(line, sizeof(line), "{\"cmd\":\"balloon\",\"size_mib\":%s}", bad[i]);
		expect_err(line, CTL_E_BAD_FIELD, "size_mib: must be an integer from 0 to 1048576");
	}
}

static void test_ctl_parse_unknown_command_fails(void **state)
{
	(void)state;
	expect_err("{\"cmd\":\"reboot\"}", CTL_E_UNKNOWN_COMMAND,
		   "unknown command \"reboot\" (expected ping, info, pause, resume, shutdown, kill, "
		   "balloon or snapshot)");
	expect_err("{\"cmd\":\"\"}", CTL_E_UNKNOWN_COMMAND,
		   "unknown command \"\" (expected ping, info, pause, resume, shutdown, kill, "
		   "balloon or snapshot)");
	expect_err("{\"cmd\":\"PING\"}", CTL_E_UNKNOWN_COMMAND,
		   "unknown command \"PING\" (expected ping, info, pause, resume, shutdown, kill, "
		   "balloon or snapshot)");
	/* a long, unprintable name is shown cut and cleaned */
	expect_err("{\"cmd\":\"\\u001b[31mxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}",
		   CTL_E_UNKNOWN_COMMAND,
		   "unknown command \"?[31mxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...\" (expected ping, "
		   "info, pause, resume, shutdown, kill, balloon or snapshot)");
}

/* A line of exactly CTL_LINE_MAX bytes parses; one byte more is refused before parsing. */
static void test_ctl_parse_line_limit(void **state)
{
	char *line = malloc(CTL_LINE_MAX + 2);
	struct parsed p;
	size_t n;

	(void)state;
	n = (size_t)snprintf(line, CTL_LINE_MAX + 2, "{\"cmd\":\"ping\",\"id\":1}");
	memset(line + n, ' ', CTL_LINE_MAX + 1 - n);
	line[CTL_LINE_MAX + 1] = 0;
	p.r = ctl_parse_request(line, CTL_LINE_MAX, &p.req, &p.err);
	assert_int_equal(p.r, 0);
	assert_int_equal(p.req.cmd, CTL_CMD_PING);
	ctl_request_free(&p.req);
	p.r = ctl_parse_request(line, CTL_LINE_MAX + 1, &p.req, &p.err);
	assert_int_equal(p.r, -EINVAL);
	assert_int_equal(p.err.code, CTL_E_BAD_REQUEST);
	assert_string_equal(p.err.message, "request longer than 4096 bytes");
	assert_null(p.req.id);
	free(line);
}

static void test_ctl_format_reply_lines(void **state)
{
	char buf[CTL_REPLY_MAX];
	struct ctl_error e = { .code = CTL_E_BAD_FIELD };
	cJSON *id = cJSON_CreateString("a\nb"), *res = cJSON_CreateObject();
	int n;

	(void)state;
	n = ctl_format_reply(NULL, NULL, NULL, buf, sizeof(buf));
	assert_string_equal(buf, "{\"ok\":true,\"result\":{}}\n");
	assert_int_equal(n, (int)strlen(buf));

	cJSON_AddStringToObject(res, "state", "running");
	n = ctl_format_reply(id, res, NULL, buf, sizeof(buf));
	assert_string_equal(buf, "{\"ok\":true,\"id\":\"a\\nb\",\"result\":{\"state\":\"running\"}}\n");

	snprintf(e.message, sizeof(e.message), "cmd: must be a string");
	n = ctl_format_reply(id, NULL, &e, buf, sizeof(buf));
	assert_string_equal(buf, "{\"ok\":false,\"id\":\"a\\nb\",\"error\":{\"code\":\"bad-field\","
				 "\"message\":\"cmd: must be a string\"}}\n");
	assert_int_equal(n, (int)strlen(buf));

	/* a result too big for the buffer becomes a "failed" line that fits */
	char big[3000];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	cJSON_AddStringToObject(res, "big", big);
	n = ctl_format_reply(id, res, NULL, buf, 1024);
	assert_int_equal(n, -ENOSPC);
	assert_string_equal(buf, "{\"ok\":false,\"id\":\"a\\nb\",\"error\":{\"code\":\"failed\","
				 "\"message\":\"reply longer than 1024 bytes\"}}\n");
	cJSON_Delete(id);
	cJSON_Delete(res);

	assert_string_equal(ctl_errcode_name(CTL_E_DENIED), "denied");
	assert_string_equal(ctl_errcode_name(CTL_E_BUSY), "busy");
	assert_string_equal(ctl_cmd_name(CTL_CMD_SHUTDOWN), "shutdown");
	assert_string_equal(ctl_cmd_name(CTL_CMD_NONE), "none");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ctl_parse_every_command_ok),
		cmocka_unit_test(test_ctl_parse_id_echoed),
		cmocka_unit_test(test_ctl_parse_bad_id_fails),
		cmocka_unit_test(test_ctl_parse_bad_request_fails),
		cmocka_unit_test(test_ctl_parse_bad_fields_fail),
		cmocka_unit_test(test_ctl_parse_unknown_command_fails),
		cmocka_unit_test(test_ctl_parse_balloon_size),
		cmocka_unit_test(test_ctl_parse_line_limit),
		cmocka_unit_test(test_ctl_format_reply_lines),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
