/* SPDX-License-Identifier: MIT */
/*
 * jwalk.h: typed, table-driven access to a cJSON document that keeps the
 * JSON path of what it reads, so every message names it
 * (`process.user.uid: expected a number`). oci/spec.c's config.json parser
 * is built on it.
 *
 * A table of struct jw_field describes the known members of one JSON
 * object and where each goes in a C struct (base): jw_fields() reads them
 * in table order, refuses a known key given twice, treats null as absent,
 * and ignores members the table does not know (or notes them, see (rest)).
 */
#ifndef AGENTVMM_OCI_JWALK_H
#define AGENTVMM_OCI_JWALK_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/compiler.h"

#define JW_PATH_LEN 256 /* the path in messages; longer ones are cut */

/*
 * Context of every function: pure, any thread; one struct jw per walk. The
 * document is whatever the caller reads (oci/spec.c: the bundle's config.json).
 */

/* One walk: the message buffer, the path so far, where notes go. */
struct jw {
	char *err;
	size_t errlen;
	const char *doc;        /* names the whole document in messages ("config.json") */
	size_t max_str;         /* longest string taken */
	char ***notes;          /* jw_note(): a NULL-terminated array, up to (max_notes) */
	int *nnotes;
	int max_notes;
	char path[JW_PATH_LEN];
	size_t plen;
};

typedef const char *(*jw_check_fn)(const char *str); /* NULL when fine, else the message */
typedef int (*jw_take_fn)(struct jw *w, const cJSON *v, void *base);

/*
 * The kinds of member: F_STR char *; F_BOOL bool; F_U32 uint32_t up to
 * (max); F_U64 uint64_t; F_LIMIT int64_t where -1 and 0 mean none (runc's
 * reading), stored as -1; F_STRV a NULL-terminated char ** of at most (max)
 * with its int count at (noff); F_OBJ an object, by table (sub), with
 * (rest) every other member noted; F_FN (fn) takes it; F_NOTE noted as
 * ignored when given (an empty string counts as not given); F_REFUSE
 * refused with (why) unless an empty array or object.
 */
enum jw_kind { F_STR, F_BOOL, F_U32, F_U64, F_LIMIT, F_STRV, F_OBJ, F_FN, F_NOTE, F_REFUSE };

struct jw_field {
	const char *key;
	enum jw_kind kind;
	bool required;          /* F_STRV: and non-empty */
	size_t off, noff;       /* in (base) */
	uint32_t max;
	jw_check_fn check;      /* F_STR, F_STRV: each string */
	jw_take_fn fn;
	const char *why;
	const struct jw_field *sub;
	size_t nsub;
	bool rest;
};

#define JW_STR(k, st, m, chk, req)                                                           \
	{ .key = k, .kind = F_STR, .required = req, .off = offsetof(st, m), .check = chk }
#define JW_BOOL(k, st, m) { .key = k, .kind = F_BOOL, .off = offsetof(st, m) }
#define JW_U32(k, st, m, mx) { .key = k, .kind = F_U32, .off = offsetof(st, m), .max = mx }
#define JW_U64(k, st, m) { .key = k, .kind = F_U64, .off = offsetof(st, m) }
#define JW_LIMIT(k, st, m) { .key = k, .kind = F_LIMIT, .off = offsetof(st, m) }
#define JW_STRV(k, st, m, n, mx, chk, req)                                                   \
	{ .key = k, .kind = F_STRV, .required = req, .off = offsetof(st, m),                 \
	  .noff = offsetof(st, n), .max = mx, .check = chk }
#define JW_OBJ(k, tab, req, r)                                                               \
	{ .key = k, .kind = F_OBJ, .required = req, .sub = tab, .nsub = ARRAY_SIZE(tab),     \
	  .rest = r }
#define JW_FN(k, f, req) { .key = k, .kind = F_FN, .required = req, .fn = f }
#define JW_NOTE(k) { .key = k, .kind = F_NOTE }
#define JW_REFUSE(k, msg) { .key = k, .kind = F_REFUSE, .why = msg }

/*
 * jw_parse() - (text, len) (no NUL needed at the end) as one JSON value with
 * nothing but white space after it. Refused, besides bad JSON: more than
 * (max) bytes, and a NUL byte or \u0000 escape anywhere (cJSON would keep
 * it inside a string that C then reads shorter than the JSON meant).
 * Return: the tree (cJSON_Delete it), or NULL with the message in (w).
 */
cJSON *jw_parse(struct jw *w, const char *text, size_t len, size_t max);

/*
 * jw_fail() - `path: MESSAGE` into (w), the document's name for an empty path.
 * Return: -EINVAL.
 */
int jw_fail(struct jw *w, const char *fmt, ...) __printf(2, 3);

/* jw_fail_at() - jw_fail() for member (key) of the current path. Return: -EINVAL. */
int jw_fail_at(struct jw *w, const char *key, const char *msg);

/* jw_nomem() - `DOC: out of memory`. Return: -ENOMEM. */
int jw_nomem(struct jw *w);

/* jw_push() - append to the path. Return: its old length, for jw_pop(). */
size_t jw_push(struct jw *w, const char *fmt, ...) __printf(2, 3);

/* jw_push_key() - append ".key" (or "key" at the top). Return: as jw_push(). */
size_t jw_push_key(struct jw *w, const char *key);

/* jw_pop() - cut the path back to (old). */
void jw_pop(struct jw *w, size_t old);

/* jw_printable() - make the message in (err) one printable line (control bytes to '?'). */
void jw_printable(char *err, size_t errlen);

/*
 * jw_note() - add a note (e.g. a setting ignored) to (*notes); past
 * (max_notes) it is dropped. Return: 0, -ENOMEM.
 */
int jw_note(struct jw *w, const char *fmt, ...) __printf(2, 3);

/*
 * jw_member() - (*out) = member (key) of (obj), NULL when absent or null.
 * Return: 0; -EINVAL: (key) given twice.
 */
int jw_member(struct jw *w, const cJSON *obj, const char *key, const cJSON **out) __must_check;

/* jw_str() - a copy of string (v), at most (max_str) bytes. Return: 0, -EINVAL, -ENOMEM. */
int jw_str(struct jw *w, const cJSON *v, char **out) __must_check;

/*
 * jw_whole() - number (v), whole and in [lo, hi]; (range) words that for the
 * message. Return: 0, -EINVAL.
 */
int jw_whole(struct jw *w, const cJSON *v, double lo, double hi, const char *range,
	     double *out) __must_check;

/* jw_u32() - jw_whole() in [0, max]. */
int jw_u32(struct jw *w, const cJSON *v, uint32_t max, uint32_t *out) __must_check;

/*
 * jw_u64() - jw_whole() in [0, 2^64-1]. cJSON reads numbers as doubles, so
 * above 2^53 a value is rounded, and 2^64 (what 18446744073709551615 rounds
 * to) reads as 2^64-1.
 */
int jw_u64(struct jw *w, const cJSON *v, uint64_t *out) __must_check;

/*
 * jw_strv() - array (v) of at most (max) strings, each passing (check) (may
 * be NULL), into a NULL-terminated copy (*arr) of (*n). On error (*arr) holds
 * the strings taken so far, still NULL-terminated.
 * Return: 0, -EINVAL, -ENOMEM.
 */
int jw_strv(struct jw *w, const cJSON *v, uint32_t max, jw_check_fn check, char ***arr,
	    int *n) __must_check;

/*
 * jw_objv() - array (v) of at most (max) objects, each read by table (f, nf)
 * as jw_fields() does (nothing noted), into a zeroed array (*arr) of (*n)
 * elements of (size) bytes and one more, zeroed, at the end. (*arr) and (*n)
 * are set before the first element is read, so on error the caller frees
 * what the elements hold (the one that failed in part) as after success.
 * Return: 0, -EINVAL, -ENOMEM.
 */
int jw_objv(struct jw *w, const cJSON *v, int max, size_t size, const struct jw_field *f,
	    size_t nf, void **arr, int *n) __must_check;

/*
 * jw_kv() - object (v) of at most (max) string members into "KEY=VALUE"
 * strings as jw_strv(); each key passes (check) and is given once.
 */
int jw_kv(struct jw *w, const cJSON *v, int max, jw_check_fn check, char ***arr,
	  int *n) __must_check;

/*
 * jw_fields() - the members of object (obj) that table (f, nf) knows into
 * (base); with (note_rest), every other member given is noted.
 * Return: 0; -EINVAL (the first bad member, in table order); -ENOMEM.
 */
int jw_fields(struct jw *w, const cJSON *obj, const struct jw_field *f, size_t nf, void *base,
	      bool note_rest) __must_check;

#endif
