// SPDX-License-Identifier: MIT
/* config_json.c: the JSON config file onto struct vm_config (cJSON), via the option table. */
#include "vmm/config_json.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmm/cli.h"

#define BAD_TYPE(what)                                                                   \
	do {                                                                             \
		snprintf(err, errlen, "%s: \"%s\": expected %s", name, key, what);       \
		return -EINVAL;                                                          \
	} while (0)

/* A JSON number as the decimal text the option parser takes: whole and >= 0. */
static int json_number_text(const cJSON *v, char *buf, size_t len)
{
	double d = v->valuedouble;

	if (!(d >= 0 && d <= 18446744073709549568.0) || floor(d) != d)
		return -EINVAL;
	snprintf(buf, len, "%" PRIu64, (uint64_t)d);
	return 0;
}

/* Copy (s) into (cfg), apply it, and prefix an error with the file's name. */
static int apply_kept(const struct cli_opt *o, struct vm_config *cfg, const char *name,
		      const char *s, char *err, size_t errlen)
{
	char msg[512];
	const char *kept = NULL;
	int r;

	if (s) {
		kept = config_keep(cfg, s);
		if (!kept) {
			snprintf(err, errlen, "%s: out of memory", name);
			return -ENOMEM;
		}
	}
	r = cli_opt_apply(o, cfg, kept, msg, sizeof(msg));
	if (r)
		snprintf(err, errlen, "%s: %s", name, msg);
	return r;
}

static int apply_list(const struct cli_opt *o, struct vm_config *cfg, const char *name,
		      const char *key, const cJSON *v, char *err, size_t errlen)
{
	const cJSON *e;

	if (!cJSON_IsArray(v))
		BAD_TYPE("an array of strings");
	cJSON_ArrayForEach(e, v)
		if (!cJSON_IsString(e))
			BAD_TYPE("an array of strings");
	cJSON_ArrayForEach(e, v) {
		int r = apply_kept(o, cfg, name, e->valuestring, err, errlen);

		if (r)
			return r;
	}
	return 0;
}

static int apply_command(struct vm_config *cfg, const char *name, const char *key,
			 const cJSON *v, char *err, size_t errlen)
{
	const char *argv[256];
	const cJSON *e;
	int argc = 0;

	if (!cJSON_IsArray(v))
		BAD_TYPE("an array of strings");
	cJSON_ArrayForEach(e, v) {
		if (!cJSON_IsString(e))
			BAD_TYPE("an array of strings");
		if (argc == (int)(sizeof(argv) / sizeof(argv[0]))) {
			snprintf(err, errlen, "%s: \"%s\": at most %zu arguments", name, key,
				 sizeof(argv) / sizeof(argv[0]));
			return -EINVAL;
		}
		argv[argc++] = e->valuestring;
	}
	if (config_set_argv(cfg, argc, argv)) {
		snprintf(err, errlen, "%s: out of memory", name);
		return -ENOMEM;
	}
	return 0;
}

static int apply_key(struct vm_config *cfg, const char *name, const cJSON *v, char *err,
		     size_t errlen)
{
	const char *key = v->string;
	const struct cli_opt *o;
	char num[32];

	if (!strcmp(key, "command"))
		return apply_command(cfg, name, key, v, err, errlen);
	o = cli_opt_find(key);
	if (!o) {
		snprintf(err, errlen, "%s: \"%s\": unknown key", name, key);
		return -EINVAL;
	}
	switch (o->type) {
	case CLI_STR:
		if (!cJSON_IsString(v))
			BAD_TYPE("a string");
		return apply_kept(o, cfg, name, v->valuestring, err, errlen);
	case CLI_NUM:
		if (!cJSON_IsNumber(v))
			BAD_TYPE("a number");
		if (json_number_text(v, num, sizeof(num)))
			BAD_TYPE("a whole number");
		return apply_kept(o, cfg, name, num, err, errlen);
	case CLI_BOOL:
		if (!cJSON_IsBool(v))
			BAD_TYPE("true or false");
		return apply_kept(o, cfg, name, cJSON_IsTrue(v) ? "true" : "false", err, errlen);
	case CLI_COUNT:
		if (cJSON_IsBool(v))
			return apply_kept(o, cfg, name, cJSON_IsTrue(v) ? "1" : "0", err, errlen);
		if (!cJSON_IsNumber(v) || json_number_text(v, num, sizeof(num)))
			BAD_TYPE("a number or true/false");
		return apply_kept(o, cfg, name, num, err, errlen);
	case CLI_LIST:
		return apply_list(o, cfg, name, key, v, err, errlen);
	}
	return -EINVAL;
}

/*
 * A key given twice would silently keep one of them: refuse it. Only keys
 * already applied (all known and distinct) are compared, so this is bounded
 * by the size of the option table, whatever the file holds.
 */
static int check_duplicate(const cJSON *root, const cJSON *v, const char *name, char *err,
			   size_t errlen)
{
	for (const cJSON *b = root->child; b != v; b = b->next)
		if (!strcmp(v->string, b->string)) {
			snprintf(err, errlen, "%s: \"%s\": key given twice", name, v->string);
			return -EINVAL;
		}
	return 0;
}

int config_json_parse(struct vm_config *cfg, const char *name, const char *text, size_t len,
		      char *err, size_t errlen)
{
	const char *end = NULL;
	cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, false);
	int r = 0;

	/* nothing but white space may follow the object */
	while (root && end && end < text + len && strchr(" \t\r\n", *end) && *end)
		end++;
	if (root && end != text + len) {
		cJSON_Delete(root);
		root = NULL;
	}
	if (!root) {
		size_t off = end && end >= text && end <= text + len ? (size_t)(end - text) : 0;
		unsigned line = 1;

		for (size_t i = 0; i < off; i++)
			line += text[i] == '\n';
		snprintf(err, errlen, "%s: not valid JSON (line %u)", name, line);
		return -EINVAL;
	}
	if (!cJSON_IsObject(root)) {
		snprintf(err, errlen, "%s: expected a JSON object ({\"kernel\": ...})", name);
		r = -EINVAL;
	}
	/* a list key replaces that list (once: "share" and "fs" fill the same one) */
	for (const cJSON *v = r ? NULL : root->child; v; v = v->next) {
		const struct cli_opt *o = v->string ? cli_opt_find(v->string) : NULL;

		if (o && o->list != CLI_NO_LIST && cJSON_IsArray(v))
			cli_list_clear(cfg, o->list);
	}
	for (const cJSON *v = r ? NULL : root->child; v && !r; v = v->next) {
		r = check_duplicate(root, v, name, err, errlen);
		if (!r)
			r = apply_key(cfg, name, v, err, errlen);
	}
	cJSON_Delete(root);
	/* messages quote the file: keep them one printable line */
	for (char *p = err; r && *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	return r;
}

int config_json_load(struct vm_config *cfg, const char *path, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	char *text;
	ssize_t n;
	int r;

	if (fd < 0) {
		r = -errno;
		snprintf(err, errlen, "--config %s: %s", path, strerror(-r));
		return -EINVAL;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > CONFIG_JSON_MAX) {
		snprintf(err, errlen, "--config %s: must be a regular file of at most %d bytes",
			 path, CONFIG_JSON_MAX);
		close(fd);
		return -EINVAL;
	}
	text = malloc((size_t)st.st_size + 1);
	if (!text) {
		close(fd);
		snprintf(err, errlen, "--config %s: out of memory", path);
		return -ENOMEM;
	}
	n = read(fd, text, (size_t)st.st_size + 1);
	r = n < 0 ? -errno : 0;
	close(fd);
	if (r || n > st.st_size) {
		snprintf(err, errlen, "--config %s: %s", path, r ? strerror(-r) : "file grew");
		free(text);
		return -EINVAL;
	}
	r = config_json_parse(cfg, path, text, (size_t)n, err, errlen);
	free(text);
	return r;
}
