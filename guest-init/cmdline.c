// SPDX-License-Identifier: MIT
/* cmdline.c: kernel-compatible tokenising and decoding of the agentvmm.* command-line keys. */
#include "guest-init/cmdline.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guest-init/pmem.h"

/* The keys we read; extend the enum, the name table and cmdline_apply(). */
enum cl_key {
	CL_ARGC,
	CL_ARGV,
	CL_VERBOSE,
	CL_TERM,
	CL_ENV,
	CL_DISKS,
	CL_SHARES,
	CL_NETS,
	CL_INIT,
	CL_KINIT,
	CL_SESSION,
	CL_EGRESS,
	CL_PMEM,
	CL_TEMPLATE,
	CL_SEED,
	CL_TIME,
	CL_REPORTING_ORDER,
	CL_NKEYS,
};

static const char *const cl_key_names[CL_NKEYS] = {
	[CL_ARGC] = "agentvmm.argc",
	[CL_ARGV] = "agentvmm.argv",
	[CL_VERBOSE] = "agentvmm.verbose",
	[CL_TERM] = "agentvmm.term",
	[CL_ENV] = "agentvmm.env",
	[CL_DISKS] = "agentvmm.disks",
	[CL_SHARES] = "agentvmm.shares",
	[CL_NETS] = "agentvmm.nets",
	[CL_INIT] = "agentvmm.init",
	[CL_KINIT] = "init",
	[CL_SESSION] = "agentvmm.session",
	[CL_EGRESS] = "agentvmm.egress",
	[CL_PMEM] = "agentvmm.pmem",
	[CL_TEMPLATE] = "agentvmm.template",
	[CL_SEED] = "agentvmm.seed",
	[CL_TIME] = "agentvmm.time",
	[CL_REPORTING_ORDER] = "agentvmm.page_reporting_order",
};

/* Last occurrence of each key; val is NULL for a bare "key" without '='. */
struct cl_raw {
	bool seen[CL_NKEYS];
	const char *val[CL_NKEYS];
};

static const char hex_upper[] = "0123456789ABCDEF";

/* The kernel's isspace(): lib/ctype.c marks 9..13, 32 and 160 (Latin-1 NBSP) as _S. */
static bool kernel_isspace(unsigned char c)
{
	return (c >= 9 && c <= 13) || c == ' ' || c == 160;
}

static char *skip_spaces(char *s)
{
	while (kernel_isspace((unsigned char)*s))
		s++;
	return s;
}

/* Mirrors next_arg() in lib/cmdline.c (Linux 6.1), quirks included. */
char *gi_cmdline_next(char *args, char **param, char **val)
{
	size_t i, equals = 0;
	bool in_quote = false, quoted = false;

	if (*args == '"') {
		args++;
		in_quote = true;
		quoted = true;
	}
	for (i = 0; args[i]; i++) {
		if (kernel_isspace((unsigned char)args[i]) && !in_quote)
			break;
		if (equals == 0 && args[i] == '=')
			equals = i;
		if (args[i] == '"')
			in_quote = !in_quote;
	}
	*param = args;
	if (!equals) {
		*val = NULL;
	} else {
		args[equals] = '\0';
		*val = args + equals + 1;
		/* Don't include quotes in value. */
		if (**val == '"') {
			(*val)++;
			if (args[i - 1] == '"')
				args[i - 1] = '\0';
		}
	}
	if (quoted && i > 0 && args[i - 1] == '"')
		args[i - 1] = '\0';
	if (args[i]) {
		args[i] = '\0';
		args += i + 1;
	} else {
		args += i;
	}
	return skip_spaces(args);
}

static bool enc_literal(unsigned char c)
{
	if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
		return true;
	return c != '\0' && strchr("-._~/:@+=", c) != NULL;
}

static int hex_value(char c)
{
	const char *p = c ? strchr(hex_upper, c) : NULL;

	return p ? (int)(p - hex_upper) : -1;
}

int gi_cmdline_decode(const char *enc, size_t len, size_t max, char ***out, size_t *n,
		      char *err, size_t errlen)
{
	size_t count = 1, i, k = 0;
	char **vec, *dst;

	*out = NULL;
	*n = 0;
	for (i = 0; i < len; i++)
		count += enc[i] == ',';
	if (count > max) {
		snprintf(err, errlen, "%zu values, at most %zu allowed", count, max);
		return -E2BIG;
	}
	/* One block: count + 1 pointers, then the strings (never longer than enc). */
	vec = malloc((count + 1) * sizeof(*vec) + len + count);
	if (!vec) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	dst = (char *)(vec + count + 1);
	vec[k++] = dst;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)enc[i];
		int hi, lo;

		if (c == ',') {
			*dst++ = '\0';
			vec[k++] = dst;
		} else if (c == '%') {
			if (len - i < 3) {
				snprintf(err, errlen, "truncated %%-escape at offset %zu", i);
				goto err_free;
			}
			hi = hex_value(enc[i + 1]);
			lo = hex_value(enc[i + 2]);
			if (hi < 0 || lo < 0) {
				snprintf(err, errlen,
					 "bad %%-escape at offset %zu (two uppercase hex digits needed)",
					 i);
				goto err_free;
			}
			if (hi == 0 && lo == 0) {
				snprintf(err, errlen, "NUL byte (%%00) at offset %zu", i);
				goto err_free;
			}
			*dst++ = (char)(hi << 4 | lo);
			i += 2;
		} else if (enc_literal(c)) {
			*dst++ = (char)c;
		} else {
			snprintf(err, errlen, "byte 0x%02x at offset %zu must be %%-encoded", c, i);
			goto err_free;
		}
	}
	*dst = '\0';
	vec[k] = NULL;
	*out = vec;
	*n = count;
	return 0;

err_free:
	free(vec);
	return -EINVAL;
}

int gi_cmdline_encode(const char *const *argv, size_t argc, char *buf, size_t buflen,
		      size_t *len)
{
	size_t need = 0, a;
	const unsigned char *s;

	for (a = 0; a < argc; a++) {
		if (a)
			need++;
		for (s = (const unsigned char *)argv[a]; *s; s++)
			need += enc_literal(*s) ? 1 : 3;
	}
	*len = need;
	if (need >= buflen)
		return -ENOSPC;
	for (a = 0; a < argc; a++) {
		if (a)
			*buf++ = ',';
		for (s = (const unsigned char *)argv[a]; *s; s++) {
			if (enc_literal(*s)) {
				*buf++ = (char)*s;
			} else {
				*buf++ = '%';
				*buf++ = hex_upper[*s >> 4];
				*buf++ = hex_upper[*s & 15];
			}
		}
	}
	*buf = '\0';
	return 0;
}

static int parse_argc(const char *val, size_t *argc, char *err, size_t errlen)
{
	size_t v = 0;
	const char *p = val;

	if (!val || !*val)
		goto bad;
	for (; *p; p++) {
		if (*p < '0' || *p > '9')
			goto bad;
		v = v * 10 + (size_t)(*p - '0');
		if (v > GI_CMDLINE_MAX_ARGS)
			goto bad;
	}
	if (v == 0)
		goto bad;
	*argc = v;
	return 0;
bad:
	snprintf(err, errlen, "agentvmm.argc=%.32s: expected a number from 1 to %d",
		 val ? val : "", GI_CMDLINE_MAX_ARGS);
	return -EINVAL;
}

/* Decode one key's ENC value, prefixing any error with the key's name. */
static int decode_key(const struct cl_raw *raw, enum cl_key key, size_t max, char ***out,
		      size_t *n, char *err, size_t errlen)
{
	const char *val = raw->val[key] ? raw->val[key] : "";
	char msg[160];
	int ret;

	ret = gi_cmdline_decode(val, strlen(val), max, out, n, msg, sizeof(msg));
	if (ret)
		snprintf(err, errlen, "%s: %s", cl_key_names[key], msg);
	return ret;
}

static int apply_command(struct gi_cmdline *cl, const struct cl_raw *raw, char *err,
			 size_t errlen)
{
	size_t argc, n;
	int ret;

	if (!raw->seen[CL_ARGC]) {
		if (!raw->seen[CL_ARGV])
			return 0;
		snprintf(err, errlen, "agentvmm.argv given without agentvmm.argc");
		return -EINVAL;
	}
	ret = parse_argc(raw->val[CL_ARGC], &argc, err, errlen);
	if (ret)
		return ret;
	if (!raw->seen[CL_ARGV]) {
		snprintf(err, errlen, "agentvmm.argc given without agentvmm.argv");
		return -EINVAL;
	}
	ret = decode_key(raw, CL_ARGV, GI_CMDLINE_MAX_ARGS, &cl->cl_argv, &n, err, errlen);
	if (ret)
		return ret == -E2BIG ? -EINVAL : ret;
	if (n != argc) {
		snprintf(err, errlen, "agentvmm.argv has %zu arguments, agentvmm.argc says %zu", n,
			 argc);
		return -EINVAL;
	}
	cl->cl_command = true;
	cl->cl_argc = argc;
	return 0;
}

static int apply_env(struct gi_cmdline *cl, const struct cl_raw *raw, char *err, size_t errlen)
{
	size_t n, i;
	int ret;

	if (!raw->seen[CL_ENV] || !raw->val[CL_ENV] || !*raw->val[CL_ENV])
		return 0;
	ret = decode_key(raw, CL_ENV, GI_CMDLINE_MAX_ENV, &cl->cl_env, &n, err, errlen);
	if (ret)
		return ret == -E2BIG ? -EINVAL : ret;
	cl->cl_envc = n;
	for (i = 0; i < n; i++) {
		const char *eq = strchr(cl->cl_env[i], '=');

		if (!eq || eq == cl->cl_env[i]) {
			snprintf(err, errlen, "agentvmm.env: entry %zu is not NAME=VALUE", i + 1);
			return -EINVAL;
		}
	}
	return 0;
}

static int apply_term(struct gi_cmdline *cl, const struct cl_raw *raw, char *err, size_t errlen)
{
	char **vec;
	size_t n;
	int ret;

	if (!raw->seen[CL_TERM] || !raw->val[CL_TERM] || !*raw->val[CL_TERM])
		return 0;
	ret = decode_key(raw, CL_TERM, 1, &vec, &n, err, errlen);
	if (ret)
		return ret == -E2BIG ? -EINVAL : ret;
	cl->cl_term = strdup(vec[0]);
	free(vec);
	if (!cl->cl_term) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

/* agentvmm.disks=ENC: items "SERIAL:ro|rw:/mount/point" (what --disk ...,mount= asked for). */
static int apply_disks(struct gi_cmdline *cl, const struct cl_raw *raw, char *err, size_t errlen)
{
	size_t n, i;
	int ret;

	if (!raw->seen[CL_DISKS] || !raw->val[CL_DISKS] || !*raw->val[CL_DISKS])
		return 0;
	ret = decode_key(raw, CL_DISKS, GI_CMDLINE_MAX_DISKS, &cl->cl_disks, &n, err, errlen);
	if (ret)
		return ret == -E2BIG ? -EINVAL : ret;
	cl->cl_ndisks = n;
	for (i = 0; i < n; i++) {
		const char *a = strchr(cl->cl_disks[i], ':');
		const char *b = a ? strchr(a + 1, ':') : NULL;

		if (!a || a == cl->cl_disks[i] || !b || b[1] != '/' ||
		    (strncmp(a + 1, "ro:", 3) != 0 && strncmp(a + 1, "rw:", 3) != 0)) {
			snprintf(err, errlen, "agentvmm.disks: entry %zu is not SERIAL:ro|rw:/path",
				 i + 1);
			return -EINVAL;
		}
	}
	return 0;
}

/* agentvmm.pmem=ENC: items "GPA:erofs|ext4:ro|rw:dax|nodax:/path" (--pmem, pmem.h). */
static int apply_pmem(struct gi_cmdline *cl, const struct cl_raw *raw, char *err, size_t errlen)
{
	struct gi_pmem_item it;
	char why[128];
	size_t n, i;
	int ret;

	if (!raw->seen[CL_PMEM] || !raw->val[CL_PMEM] || !*raw->val[CL_PMEM])
		return 0;
	ret = decode_key(raw, CL_PMEM, GI_CMDLINE_MAX_PMEM, &cl->cl_pmem, &n, err, errlen);
	if (ret)
		return ret == -E2BIG ? -EINVAL : ret;
	cl->cl_npmem = n;
	for (i = 0; i < n; i++) {
		if (gi_pmem_item_parse(cl->cl_pmem[i], &it, why, sizeof(why))) {
			snprintf(err, errlen, "agentvmm.pmem: entry %zu: %s", i + 1, why);
			return -EINVAL;
		}
	}
	return 0;
}

/* agentvmm.shares=ENC: items "TAG:ro|rw|store:/mount/point" (--share, --fs mount=). */
static int apply_shares(struct gi_cmdline *cl, const struct cl_raw *raw, char *err,
			size_t errlen)
{
	size_t n, i;
	int ret;

	if (!raw->seen[CL_SHARES] || !raw->val[CL_SHARES] || !*raw->val[CL_SHARES])
		return 0;
	ret = decode_key(raw, CL_SHARES, GI_CMDLINE_MAX_SHARES, &cl->cl_shares, &n, err, errlen);
	if (ret)
		return ret == -E2BIG ? -EINVAL : ret;
	cl->cl_nshares = n;
	for (i = 0; i < n; i++) {
		const char *a = strchr(cl->cl_shares[i], ':');
		const char *b = a ? strchr(a + 1, ':') : NULL;

		if (!a || a == cl->cl_shares[i] || a - cl->cl_shares[i] > 36 || !b ||
		    b[1] != '/' || b[2] == 0 ||
		    (strncmp(a + 1, "ro:", 3) != 0 && strncmp(a + 1, "rw:", 3) != 0 &&
		     strncmp(a + 1, "store:", 6) != 0)) {
			snprintf(err, errlen,
				 "agentvmm.shares: entry %zu is not TAG:ro|rw|store:/path", i + 1);
			return -EINVAL;
		}
	}
	return 0;
}

/* agentvmm.nets=ENC: items "MAC|A.B.C.D/N|GW|DNS[|MTU]" (net.h checks the fields). */
static int apply_nets(struct gi_cmdline *cl, const struct cl_raw *raw, char *err, size_t errlen)
{
	size_t n, i;
	int ret;

	if (!raw->seen[CL_NETS] || !raw->val[CL_NETS] || !*raw->val[CL_NETS])
		return 0;
	ret = decode_key(raw, CL_NETS, GI_CMDLINE_MAX_NETS, &cl->cl_nets, &n, err, errlen);
	if (ret)
		return ret == -E2BIG ? -EINVAL : ret;
	cl->cl_nnets = n;
	for (i = 0; i < n; i++) {
		const char *p = cl->cl_nets[i];
		int bars = 0;

		for (; *p; p++)
			bars += *p == '|';
		if (bars < 3 || bars > 4 || strchr(cl->cl_nets[i], '|') - cl->cl_nets[i] != 17) {
			snprintf(err, errlen, "agentvmm.nets: entry %zu is not MAC|IP/N|GW|DNS[|MTU]",
				 i + 1);
			return -EINVAL;
		}
	}
	return 0;
}

/* An init path guest-init can exec: absolute, bounded, no control bytes. */
static bool init_path_ok(const char *p)
{
	size_t n = strlen(p);

	if (p[0] != '/' || n >= GI_CMDLINE_INIT_MAX)
		return false;
	for (; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return false;
	return true;
}

/*
 * agentvmm.init=ENC (from --init) or the kernel's own init=PATH (what
 * microvm.nix passes); agentvmm.init wins. Ignored in command mode.
 */
static int apply_init(struct gi_cmdline *cl, const struct cl_raw *raw, char *err,
		      size_t errlen)
{
	const char *key = cl_key_names[CL_INIT];
	char **vec = NULL;
	const char *path;
	size_t n;
	int ret;

	if (!raw->seen[CL_INIT] && !raw->seen[CL_KINIT])
		return 0;
	if (cl->cl_command || cl->cl_session) {
		cl->cl_init_ignored = true;
		return 0;
	}
	if (raw->seen[CL_INIT]) {
		ret = decode_key(raw, CL_INIT, 1, &vec, &n, err, errlen);
		if (ret)
			return ret == -E2BIG ? -EINVAL : ret;
		path = vec[0];
	} else {
		key = cl_key_names[CL_KINIT];
		path = raw->val[CL_KINIT] ? raw->val[CL_KINIT] : "";
	}
	if (!init_path_ok(path)) {
		snprintf(err, errlen, "%s=%.64s: expected an absolute path shorter than %d bytes "
			 "without control characters", key, path, GI_CMDLINE_INIT_MAX);
		free(vec);
		return -EINVAL;
	}
	cl->cl_init = strdup(path);
	free(vec);
	if (!cl->cl_init) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

/* agentvmm.egress[=0|1]: bare or 1 starts the egress forwarder (egress.h), 0 does not. */
static int apply_egress(struct gi_cmdline *cl, const struct cl_raw *raw, char *err,
			size_t errlen)
{
	const char *val = raw->val[CL_EGRESS];

	if (!raw->seen[CL_EGRESS])
		return 0;
	if (val && strcmp(val, "0") && strcmp(val, "1")) {
		snprintf(err, errlen, "agentvmm.egress=%.32s: expected 0 or 1", val);
		return -EINVAL;
	}
	cl->cl_egress = !val || val[0] == '1';
	return 0;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/*
 * agentvmm.template[=0|1], agentvmm.seed=HEX (exactly GI_CMDLINE_SEED_BYTES
 * bytes, lowercase), agentvmm.time=S.N (S up to 12 digits, N exactly 9).
 */
static int apply_restore(struct gi_cmdline *cl, const struct cl_raw *raw, char *err,
			 size_t errlen)
{
	const char *v = raw->val[CL_TEMPLATE];

	if (raw->seen[CL_TEMPLATE]) {
		if (v && strcmp(v, "0") && strcmp(v, "1")) {
			snprintf(err, errlen, "agentvmm.template=%.32s: expected 0 or 1", v);
			return -EINVAL;
		}
		cl->cl_template = !v || v[0] == '1';
	}
	v = raw->val[CL_SEED];
	if (raw->seen[CL_SEED]) {
		if (!v || strlen(v) != 2 * GI_CMDLINE_SEED_BYTES)
			goto bad_seed;
		for (size_t i = 0; i < GI_CMDLINE_SEED_BYTES; i++) {
			int hi = hex_digit(v[2 * i]), lo = hex_digit(v[2 * i + 1]);

			if (hi < 0 || lo < 0)
				goto bad_seed;
			cl->cl_seed[i] = (unsigned char)(hi << 4 | lo);
		}
		cl->cl_has_seed = true;
	}
	v = raw->val[CL_TIME];
	if (raw->seen[CL_TIME]) {
		const char *dot = v ? strchr(v, '.') : NULL;
		size_t sd = dot ? (size_t)(dot - v) : 0;

		if (!dot || sd < 1 || sd > 12 || strlen(dot + 1) != 9 ||
		    strspn(v, "0123456789") != sd || strspn(dot + 1, "0123456789") != 9) {
			snprintf(err, errlen, "agentvmm.time=%.32s: expected SECONDS.NANOSECONDS",
				 v ? v : "");
			return -EINVAL;
		}
		cl->cl_time_sec = strtoll(v, NULL, 10);
		cl->cl_time_nsec = strtol(dot + 1, NULL, 10);
		cl->cl_has_time = true;
	}
	return 0;
bad_seed:
	snprintf(err, errlen, "agentvmm.seed: expected %d lowercase hex digits",
		 2 * GI_CMDLINE_SEED_BYTES);
	return -EINVAL;
}

/* agentvmm.page_reporting_order=N, 0..GI_CMDLINE_REPORTING_ORDER_MAX. */
static int apply_reporting_order(struct gi_cmdline *cl, const struct cl_raw *raw, char *err,
				 size_t errlen)
{
	const char *v = raw->val[CL_REPORTING_ORDER];

	if (!raw->seen[CL_REPORTING_ORDER])
		return 0;
	if (!v || !*v || strlen(v) > 2 || strspn(v, "0123456789") != strlen(v) ||
	    (v[0] == '0' && v[1]) || atoi(v) > GI_CMDLINE_REPORTING_ORDER_MAX) {
		snprintf(err, errlen, "agentvmm.page_reporting_order=%.32s: expected 0 to %d",
			 v ? v : "", GI_CMDLINE_REPORTING_ORDER_MAX);
		return -EINVAL;
	}
	cl->cl_reporting_order = (unsigned int)atoi(v);
	cl->cl_has_reporting_order = true;
	return 0;
}

static int cmdline_apply(struct gi_cmdline *cl, const struct cl_raw *raw, char *err,
			 size_t errlen)
{
	int ret;

	if (raw->seen[CL_VERBOSE])
		cl->cl_verbose = !raw->val[CL_VERBOSE] || strcmp(raw->val[CL_VERBOSE], "0") != 0;
	ret = apply_command(cl, raw, err, errlen);
	if (!ret && raw->seen[CL_SESSION]) {
		const char *v = raw->val[CL_SESSION];

		if (v && strcmp(v, "1") && strcmp(v, "await")) {
			snprintf(err, errlen, "agentvmm.session=%.32s: expected 1 or await", v);
			ret = -EINVAL;
		} else if (cl->cl_command) {
			snprintf(err, errlen, "agentvmm.session given with agentvmm.argc");
			ret = -EINVAL;
		} else {
			cl->cl_session = true;
			cl->cl_session_await = v && !strcmp(v, "await");
		}
	}
	if (!ret)
		ret = apply_term(cl, raw, err, errlen);
	if (!ret)
		ret = apply_env(cl, raw, err, errlen);
	if (!ret)
		ret = apply_disks(cl, raw, err, errlen);
	if (!ret)
		ret = apply_pmem(cl, raw, err, errlen);
	if (!ret)
		ret = apply_shares(cl, raw, err, errlen);
	if (!ret)
		ret = apply_nets(cl, raw, err, errlen);
	if (!ret)
		ret = apply_init(cl, raw, err, errlen);
	if (!ret)
		ret = apply_egress(cl, raw, err, errlen);
	if (!ret)
		ret = apply_restore(cl, raw, err, errlen);
	if (!ret)
		ret = apply_reporting_order(cl, raw, err, errlen);
	return ret;
}

int gi_cmdline_parse(const char *text, size_t len, struct gi_cmdline *cl, char *err,
		     size_t errlen)
{
	struct cl_raw raw = { 0 };
	char *copy, *args, *param, *val;
	int ret, k;

	memset(cl, 0, sizeof(*cl));
	if (errlen)
		err[0] = '\0';
	copy = malloc(len + 1);
	if (!copy) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	memcpy(copy, text, len);
	copy[len] = '\0';

	args = skip_spaces(copy);
	while (*args) {
		args = gi_cmdline_next(args, &param, &val);
		/* kernel/params.c parse_args(): a bare "--" ends the parameters */
		if (!val && strcmp(param, "--") == 0)
			break;
		for (k = 0; k < CL_NKEYS; k++) {
			if (strcmp(param, cl_key_names[k]) == 0) {
				raw.seen[k] = true;
				raw.val[k] = val;
			}
		}
	}
	ret = cmdline_apply(cl, &raw, err, errlen);
	free(copy);
	return ret;
}

void gi_cmdline_fini(struct gi_cmdline *cl)
{
	free(cl->cl_argv);
	free(cl->cl_term);
	free(cl->cl_env);
	free(cl->cl_disks);
	free(cl->cl_pmem);
	free(cl->cl_shares);
	free(cl->cl_nets);
	free(cl->cl_init);
	memset(cl, 0, sizeof(*cl));
}
