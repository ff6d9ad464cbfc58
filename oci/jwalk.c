// SPDX-License-Identifier: MIT
/* jwalk.c: typed, table-driven reading of a cJSON tree with the JSON path in every message. */
#include "oci/jwalk.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TWO_53 9007199254740992.0
#define TWO_63_BELOW 9223372036854774784.0 /* the largest double below 2^63 */
#define TWO_64 18446744073709551616.0

int jw_fail(struct jw *w, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!w->errlen)
		return -EINVAL;
	n = snprintf(w->err, w->errlen, "%s: ", w->plen ? w->path : w->doc);
	if (n >= 0 && (size_t)n < w->errlen) {
		va_start(ap, fmt);
		vsnprintf(w->err + n, w->errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

int jw_nomem(struct jw *w)
{
	if (w->errlen)
		snprintf(w->err, w->errlen, "%s: out of memory", w->doc);
	return -ENOMEM;
}

size_t jw_push(struct jw *w, const char *fmt, ...)
{
	size_t old = w->plen;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(w->path + old, sizeof(w->path) - old, fmt, ap);
	va_end(ap);
	if (n > 0)
		w->plen = MIN(old + (size_t)n, sizeof(w->path) - 1);
	return old;
}

size_t jw_push_key(struct jw *w, const char *key)
{
	return w->plen ? jw_push(w, ".%s", key) : jw_push(w, "%s", key);
}

void jw_pop(struct jw *w, size_t old)
{
	w->plen = old;
	w->path[old] = '\0';
}

int jw_fail_at(struct jw *w, const char *key, const char *msg)
{
	size_t old = jw_push_key(w, key);
	int r = jw_fail(w, "%s", msg);

	jw_pop(w, old);
	return r;
}

void jw_printable(char *err, size_t errlen)
{
	for (size_t i = 0; i < errlen && err[i]; i++)
		if ((unsigned char)err[i] < 0x20 || err[i] == 0x7f)
			err[i] = '?';
}

int jw_note(struct jw *w, const char *fmt, ...)
{
	char buf[JW_PATH_LEN + 128];
	va_list ap;

	if (*w->nnotes >= w->max_notes)
		return 0;
	if (!*w->notes && !(*w->notes = calloc((size_t)w->max_notes + 1, sizeof(**w->notes))))
		return jw_nomem(w);
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	(*w->notes)[*w->nnotes] = strdup(buf);
	if (!(*w->notes)[*w->nnotes])
		return jw_nomem(w);
	(*w->nnotes)++;
	return 0;
}

/*
 * Whether (text) holds a NUL byte or a \u0000 escape. Exact for valid JSON;
 * for anything else cJSON refuses the text anyway.
 */
static bool has_nul(const char *text, size_t len)
{
	bool in_str = false;

	if (memchr(text, '\0', len))
		return true;
	for (size_t i = 0; i < len; i++) {
		if (text[i] == '"') {
			in_str = !in_str;
		} else if (in_str && text[i] == '\\') {
			if (i + 5 < len && text[i + 1] == 'u' && !memcmp(text + i + 2, "0000", 4))
				return true;
			i++; /* the escaped character: \" does not end the string */
		}
	}
	return false;
}

cJSON *jw_parse(struct jw *w, const char *text, size_t len, size_t max)
{
	const char *end = NULL;
	cJSON *top;

	if (len > max) {
		jw_fail(w, "larger than %zu bytes", max);
		return NULL;
	}
	if (has_nul(text, len)) {
		jw_fail(w, "a NUL byte or \\u0000 escape");
		return NULL;
	}
	top = cJSON_ParseWithLengthOpts(text, len, &end, false);
	/* nothing but white space may follow the value (the text holds no NUL) */
	while (top && end && end < text + len && strchr(" \t\r\n", *end))
		end++;
	if (!top || end != text + len) {
		size_t off = end && end >= text && end <= text + len ? (size_t)(end - text) : 0;
		unsigned line = 1;

		for (size_t i = 0; i < off; i++)
			line += text[i] == '\n';
		cJSON_Delete(top);
		jw_fail(w, "not valid JSON (line %u)", line);
		return NULL;
	}
	return top;
}

int jw_member(struct jw *w, const cJSON *obj, const char *key, const cJSON **out)
{
	const cJSON *v, *found = NULL;

	*out = NULL;
	cJSON_ArrayForEach(v, obj) {
		if (!v->string || strcmp(v->string, key))
			continue;
		if (found)
			return jw_fail_at(w, key, "given twice");
		found = v;
	}
	if (found && !cJSON_IsNull(found))
		*out = found;
	return 0;
}

int jw_str(struct jw *w, const cJSON *v, char **out)
{
	if (!cJSON_IsString(v) || !v->valuestring)
		return jw_fail(w, "expected a string");
	if (strnlen(v->valuestring, w->max_str + 1) > w->max_str)
		return jw_fail(w, "longer than %zu bytes", w->max_str);
	*out = strdup(v->valuestring);
	return *out ? 0 : jw_nomem(w);
}

int jw_whole(struct jw *w, const cJSON *v, double lo, double hi, const char *range, double *out)
{
	double d = 0;

	if (!cJSON_IsNumber(v))
		return jw_fail(w, "expected a number");
	d = v->valuedouble;
	/* every double of magnitude >= 2^53 is whole; below it the cast is exact */
	if (!(d >= lo && d <= hi) || (d > -TWO_53 && d < TWO_53 && (double)(int64_t)d != d))
		return jw_fail(w, "expected a whole number %s", range);
	*out = d;
	return 0;
}

int jw_u32(struct jw *w, const cJSON *v, uint32_t max, uint32_t *out)
{
	char range[48];
	double d = 0;
	int r;

	snprintf(range, sizeof(range), "from 0 to %" PRIu32, max);
	r = jw_whole(w, v, 0, max, range, &d);
	if (!r)
		*out = (uint32_t)d;
	return r;
}

int jw_u64(struct jw *w, const cJSON *v, uint64_t *out)
{
	double d = 0;
	int r = jw_whole(w, v, 0, TWO_64, "from 0 to 18446744073709551615", &d);

	if (!r)
		*out = d >= TWO_64 ? UINT64_MAX : (uint64_t)d;
	return r;
}

static int take_limit(struct jw *w, const cJSON *v, int64_t *out)
{
	double d = 0;
	int r = jw_whole(w, v, -1, TWO_63_BELOW, "from -1 to 9223372036854775807", &d);

	*out = r || d <= 0 ? -1 : (int64_t)d;
	return r;
}

/*
 * The start of a list: (v) an array (an object with (obj)), else `expected
 * (what)`, of at most (max) members; (*arr) zeroed room for as many elements
 * of (size) bytes and one more. (max) is int64_t to hold the uint32_t and
 * int maxima of the callers. Return: the count, -EINVAL, -ENOMEM.
 */
static int list_alloc(struct jw *w, const cJSON *v, bool obj, const char *what, int64_t max,
		      size_t size, void **arr)
{
	int cnt;

	if (obj ? !cJSON_IsObject(v) : !cJSON_IsArray(v))
		return jw_fail(w, "expected %s", what);
	cnt = cJSON_GetArraySize(v);
	if (cnt > max)
		return jw_fail(w, "more than %" PRId64 " entries", max);
	*arr = calloc((size_t)cnt + 1, size);
	return *arr ? cnt : jw_nomem(w);
}

int jw_strv(struct jw *w, const cJSON *v, uint32_t max, jw_check_fn check, char ***arr, int *n)
{
	const cJSON *e;
	void *p = NULL;
	int i = 0, cnt = list_alloc(w, v, false, "an array of strings", max, sizeof(**arr), &p);

	if (cnt < 0)
		return cnt;
	*arr = p;
	cJSON_ArrayForEach(e, v) {
		size_t old = jw_push(w, "[%d]", i);
		const char *msg;
		int r = jw_str(w, e, &(*arr)[i]);

		if (!r && check && (msg = check((*arr)[i])))
			r = jw_fail(w, "%s", msg);
		jw_pop(w, old);
		if (r)
			return r;
		i++;
	}
	*n = cnt;
	return 0;
}

int jw_objv(struct jw *w, const cJSON *v, int max, size_t size, const struct jw_field *f,
	    size_t nf, void **arr, int *n)
{
	const cJSON *e;
	int i = 0, cnt = list_alloc(w, v, false, "an array of objects", max, size, arr);

	if (cnt < 0)
		return cnt;
	/* before the elements: on error the caller frees what they hold */
	*n = cnt;
	cJSON_ArrayForEach(e, v) {
		size_t old = jw_push(w, "[%d]", i);
		int r = jw_fields(w, e, f, nf, (char *)*arr + (size_t)i * size, false);

		jw_pop(w, old);
		if (r)
			return r;
		i++;
	}
	return 0;
}

/* "KEY=VALUE" of member (e) (key checked by the caller) into (*out). */
static int kv_pair(struct jw *w, const cJSON *e, char **out)
{
	char *val = NULL;
	size_t len;
	int r = jw_str(w, e, &val);

	if (r)
		return r;
	len = strlen(e->string) + strlen(val) + 2;
	*out = malloc(len);
	if (*out)
		snprintf(*out, len, "%s=%s", e->string, val);
	free(val);
	return *out ? 0 : jw_nomem(w);
}

int jw_kv(struct jw *w, const cJSON *v, int max, jw_check_fn check, char ***arr, int *n)
{
	const cJSON *e;
	void *p = NULL;
	int i = 0, cnt = list_alloc(w, v, true, "an object of strings", max, sizeof(**arr), &p);

	if (cnt < 0)
		return cnt;
	*arr = p;
	cJSON_ArrayForEach(e, v) {
		size_t old = jw_push(w, "[\"%.64s\"]", e->string);
		const char *msg = NULL;
		int r;

		/* quadratic, but (cnt) is bounded by (max) */
		for (const cJSON *b = v->child; b != e && !msg; b = b->next)
			if (!strcmp(b->string, e->string))
				msg = "given twice";
		if (!msg && strnlen(e->string, w->max_str + 1) > w->max_str)
			msg = "key too long";
		if (!msg && check)
			msg = check(e->string);
		r = msg ? jw_fail(w, "%s", msg) : kv_pair(w, e, &(*arr)[i]);
		jw_pop(w, old);
		if (r)
			return r;
		i++;
	}
	*n = cnt;
	return 0;
}

/* One given member (v) of field (f) into (base). */
static int take_field(struct jw *w, const struct jw_field *f, const cJSON *v, void *base)
{
	void *p = (char *)base + f->off;
	const char *msg;
	int r;

	switch (f->kind) {
	case F_STR:
		r = jw_str(w, v, p);
		if (!r && f->check && (msg = f->check(*(char **)p)))
			r = jw_fail(w, "%s", msg);
		return r;
	case F_BOOL:
		if (!cJSON_IsBool(v))
			return jw_fail(w, "expected true or false");
		*(bool *)p = cJSON_IsTrue(v);
		return 0;
	case F_U32:
		return jw_u32(w, v, f->max, p);
	case F_U64:
		return jw_u64(w, v, p);
	case F_LIMIT:
		return take_limit(w, v, p);
	case F_STRV:
		r = jw_strv(w, v, f->max, f->check, p, (int *)((char *)base + f->noff));
		if (!r && f->required && !*(int *)((char *)base + f->noff))
			r = jw_fail(w, "must not be empty");
		return r;
	case F_OBJ:
		return jw_fields(w, v, f->sub, f->nsub, base, f->rest);
	case F_FN:
		return f->fn(w, v, base);
	case F_NOTE:
		return cJSON_IsString(v) && !v->valuestring[0] ? 0 : jw_note(w, "%s", w->path);
	case F_REFUSE:
		if ((cJSON_IsArray(v) || cJSON_IsObject(v)) && !v->child)
			return 0;
		return jw_fail(w, "%s", f->why);
	}
	return -EINVAL;
}

static bool in_table(const struct jw_field *f, size_t nf, const char *key)
{
	for (size_t i = 0; i < nf; i++)
		if (!strcmp(f[i].key, key))
			return true;
	return false;
}

int jw_fields(struct jw *w, const cJSON *obj, const struct jw_field *f, size_t nf, void *base,
	      bool note_rest)
{
	const cJSON *v;
	int r = 0;

	if (!cJSON_IsObject(obj))
		return jw_fail(w, "expected an object");
	for (size_t i = 0; i < nf && !r; i++) {
		size_t old;

		if ((r = jw_member(w, obj, f[i].key, &v)))
			break;
		if (!v) {
			r = f[i].required ? jw_fail_at(w, f[i].key, "required") : 0;
			continue;
		}
		old = jw_push_key(w, f[i].key);
		r = take_field(w, &f[i], v, base);
		jw_pop(w, old);
	}
	for (v = note_rest && !r ? obj->child : NULL; v && !r; v = v->next)
		if (!cJSON_IsNull(v) && !in_table(f, nf, v->string))
			r = jw_note(w, "%s%s%.64s", w->path, w->plen ? "." : "", v->string);
	return r;
}
