// SPDX-License-Identifier: MIT
/*
 * main.c: agentvmm-oci's entry: runc's global flags, then one command
 * (oci/runtime.h). Every failure is one line on stderr and one error line in
 * the --log file, exit status 1 (runc's; the engine reads the log); bad usage
 * exits 2.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "oci/runtime.h"

static const char usage[] =
	"usage: agentvmm-oci [--root DIR] [--log FILE] [--log-format text|json] [--debug]\n"
	"                    COMMAND [FLAGS] ID ...\n"
	"commands (the OCI runtime interface, as runc's; docs/oci.md):\n"
	"  create --bundle DIR [--pid-file F] [--console-socket S] ID\n"
	"  start ID | state ID | kill [--all] ID [SIGNAL] | delete [--force] ID\n"
	"  ps [--format table|json] ID | pause ID | resume ID | features\n"
	"  exec --process FILE [--detach] [--pid-file F] [--console-socket S] ID\n";

/* JSON string body of (s) into (out) (quotes not included). */
static void json_escape(const char *s, char *out, size_t len)
{
	size_t o = 0;

	for (; *s && o + 7 < len; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			out[o++] = '\\';
			out[o++] = (char)c;
		} else if (c < 0x20) {
			o += (size_t)snprintf(out + o, len - o, "\\u%04x", c);
		} else {
			out[o++] = (char)c;
		}
	}
	out[o] = 0;
}

static void vlog_line(const struct oci_global *g, const char *level, const char *fmt, va_list ap)
{
	char msg[2048], esc[4200], when[64];
	struct timespec ts;
	struct tm tm;
	int fd;

	if (!g->log || (!strcmp(level, "debug") && !g->debug))
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	fd = open(g->log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	if (g->log_json) {
		json_escape(msg, esc, sizeof(esc));
		dprintf(fd, "{\"level\":\"%s\",\"msg\":\"%s\",\"time\":\"%s\"}\n", level, esc, when);
	} else {
		dprintf(fd, "%s %s: %s\n", when, level, msg);
	}
	close(fd);
}

void oci_log(const struct oci_global *g, const char *level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog_line(g, level, fmt, ap);
	va_end(ap);
}

int oci_error(const struct oci_global *g, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	oci_log(g, "error", "%s", msg);
	fprintf(stderr, "agentvmm-oci: %s\n", msg);
	return 1;
}

static const struct {
	const char *name;
	int (*fn)(const struct oci_global *g, int argc, char **argv);
} cmds[] = {
	{ "create", oci_cmd_create },   { "start", oci_cmd_start }, { "state", oci_cmd_state },
	{ "kill", oci_cmd_kill },       { "delete", oci_cmd_delete }, { "ps", oci_cmd_ps },
	{ "pause", oci_cmd_pause },     { "resume", oci_cmd_resume }, { "exec", oci_cmd_exec },
	{ "features", oci_cmd_features },
};

int main(int argc, char **argv)
{
	struct oci_global g = { .root = OCI_DEFAULT_ROOT };
	const char *format = NULL, *criu = NULL;
	bool systemd = false, rootless_set = false, help = false, version = false;
	const char *rootless = NULL;
	const struct oci_flag flags[] = {
		{ "root", 0, true, &g.root, NULL },
		{ "log", 0, true, &g.log, NULL },
		{ "log-format", 0, true, &format, NULL },
		{ "debug", 0, false, NULL, &g.debug },
		{ "systemd-cgroup", 0, false, NULL, &systemd },
		{ "criu", 0, true, &criu, NULL },
		{ "rootless", 0, true, &rootless, NULL },
		{ "help", 'h', false, NULL, &help },
		{ "version", 'v', false, NULL, &version },
	};
	char msg[256];
	int i;

	(void)rootless_set;
	i = oci_flags_parse(argc - 1, argv + 1, flags, sizeof(flags) / sizeof(flags[0]), msg,
			    sizeof(msg));
	if (i < 0) {
		fprintf(stderr, "agentvmm-oci: %s\n%s", msg, usage);
		return 2;
	}
	i++;
	if (help) {
		fputs(usage, stdout);
		return 0;
	}
	if (version) {
		printf("agentvmm-oci version 0.1.0\nspec: %s\n", OCI_VERSION);
		return 0;
	}
	if (format && strcmp(format, "json") && strcmp(format, "text")) {
		fprintf(stderr, "agentvmm-oci: --log-format %s: expected text or json\n", format);
		return 2;
	}
	g.log_json = format && !strcmp(format, "json");
	if (systemd)
		oci_log(&g, "warning", "--systemd-cgroup: systemd cgroup paths are not supported; "
			"the VM stays in the caller's cgroup");
	if (g.root[0] != '/') {
		fprintf(stderr, "agentvmm-oci: --root %s: must be an absolute path\n", g.root);
		return 2;
	}
	if (i >= argc) {
		fputs(usage, stderr);
		return 2;
	}
	for (size_t k = 0; k < sizeof(cmds) / sizeof(cmds[0]); k++)
		if (!strcmp(argv[i], cmds[k].name)) {
			oci_log(&g, "debug", "%s", argv[i]);
			return cmds[k].fn(&g, argc - i - 1, argv + i + 1);
		}
	fprintf(stderr, "agentvmm-oci: %s: no such command\n%s", argv[i], usage);
	return 2;
}
