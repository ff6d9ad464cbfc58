// SPDX-License-Identifier: MIT
/* cli_egress.c: --egress items, checked and merged into the proxy's allow list (cli_egress.h). */
#include "vmm/cli_egress.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "egress/rules.h"

enum item_key { KEY_NONE, KEY_ALLOW, KEY_FILE, KEY_LOG };

/* What one token of an item says: a key and its value (NULL for a bare "log"). */
struct token {
	enum item_key key;
	const char *val;
};

/* (tok) after a token of key (prev); -EINVAL: not a token of an --egress item. */
static int token_parse(char *tok, enum item_key prev, struct token *t)
{
	static const struct { const char *name; enum item_key key; } keys[] = {
		{ "allow=", KEY_ALLOW }, { "file=", KEY_FILE }, { "log=", KEY_LOG },
	};

	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		size_t n = strlen(keys[i].name);

		if (!strncmp(tok, keys[i].name, n)) {
			t->key = keys[i].key;
			t->val = tok + n;
			return *t->val ? 0 : -EINVAL;
		}
	}
	if (!strcmp(tok, "log")) {
		*t = (struct token){ KEY_LOG, NULL };
		return 0;
	}
	if (prev != KEY_ALLOW || !*tok)
		return -EINVAL;
	*t = (struct token){ KEY_ALLOW, tok };
	return 0;
}

/*
 * Walk the tokens of item (arg), calling (fn) for each; the first error
 * stops the walk. Return: 0, -EINVAL (err set) or what (fn) returned.
 */
static int item_walk(const char *arg, int (*fn)(const struct token *t, void *opaque),
		     void *opaque, char *err, size_t errlen)
{
	char *copy = strdup(arg), *save = NULL, *tok;
	enum item_key prev = KEY_NONE;
	int r = copy ? 0 : -ENOMEM;

	if (copy && !*copy)
		r = -EINVAL;
	for (tok = copy ? strtok_r(copy, ",", &save) : NULL; tok && !r;
	     tok = strtok_r(NULL, ",", &save)) {
		struct token t;

		if (token_parse(tok, prev, &t)) {
			snprintf(err, errlen, "--egress %s: \"%s\": " CLI_EGRESS_USAGE, arg, tok);
			r = -EINVAL;
			break;
		}
		prev = t.key;
		r = fn(&t, opaque);
	}
	if (r == -EINVAL && !err[0])
		snprintf(err, errlen, "--egress %s: " CLI_EGRESS_USAGE, arg);
	free(copy);
	return r;
}

struct check {
	struct egress_rules *rules;
	const char *arg;
	char *err;
	size_t errlen;
};

static int check_token(const struct token *t, void *opaque)
{
	struct check *c = opaque;
	char why[256];

	if (t->key == KEY_ALLOW && egress_rules_add(c->rules, t->val, why, sizeof(why))) {
		snprintf(c->err, c->errlen, "--egress %s: %s", c->arg, why);
		return -EINVAL;
	}
	if (t->key == KEY_FILE && access(t->val, R_OK) < 0) {
		snprintf(c->err, c->errlen, "--egress file=%s: cannot read it: %s", t->val,
			 strerror(errno));
		return -EINVAL;
	}
	return 0;
}

int cli_egress(struct vm_config *cfg, const char *arg, char *err, size_t errlen)
{
	struct check c = { egress_rules_new(), arg, err, errlen };
	int r;

	err[0] = 0;
	if (!c.rules)
		return -ENOMEM;
	if (cfg->egress.nr_items >= VM_EGRESS_MAX_ITEMS) {
		snprintf(err, errlen, "--egress %s: more than %d --egress", arg, VM_EGRESS_MAX_ITEMS);
		r = -EINVAL;
	} else {
		r = item_walk(arg, check_token, &c, err, errlen);
	}
	egress_rules_free(c.rules);
	if (r)
		return r;
	cfg->egress.items[cfg->egress.nr_items++] = arg;
	cfg->egress.enabled = true;
	return 0;
}

/* The merged text being built. */
struct build {
	struct cli_egress_plan *plan;
	size_t cap;
	char *err;
	size_t errlen;
};

static int append(struct build *b, const char *s, size_t n)
{
	struct cli_egress_plan *p = b->plan;

	if (p->len + n + 2 > b->cap) {
		size_t cap = (p->len + n + 2) * 2;
		char *t = realloc(p->text, cap);

		if (!t)
			return -ENOMEM;
		p->text = t;
		b->cap = cap;
	}
	memcpy(p->text + p->len, s, n);
	p->len += n;
	p->text[p->len++] = '\n';
	p->text[p->len] = 0;
	return 0;
}

/* A whole allow file (at most CLI_EGRESS_FILE_MAX bytes) into (*text). */
static int read_file(const char *path, char **text, size_t *len, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	ssize_t n = -1;

	*text = NULL;
	if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	    st.st_size <= CLI_EGRESS_FILE_MAX) {
		*text = malloc((size_t)st.st_size + 1);
		n = *text ? read(fd, *text, (size_t)st.st_size) : -1;
	} else if (fd >= 0) {
		errno = S_ISREG(st.st_mode) ? EFBIG : EINVAL;
	}
	if (n < 0) {
		snprintf(err, errlen, "--egress file=%s: cannot read it: %s", path,
			 errno == EFBIG ? "larger than 1 MiB" : errno == EINVAL ?
			 "not a regular file" : strerror(errno));
		free(*text);
		*text = NULL;
		if (fd >= 0)
			close(fd);
		return -EINVAL;
	}
	close(fd);
	(*text)[n] = 0;
	*len = (size_t)n;
	return 0;
}

static int build_token(const struct token *t, void *opaque)
{
	struct build *b = opaque;
	char *text;
	size_t len;
	int r;

	if (t->key == KEY_ALLOW)
		return append(b, t->val, strlen(t->val));
	if (t->key == KEY_LOG) {
		b->plan->log = true;
		if (t->val) {
			free(b->plan->list);
			b->plan->list = strdup(t->val);
			if (!b->plan->list)
				return -ENOMEM;
		}
		return 0;
	}
	r = read_file(t->val, &text, &len, b->err, b->errlen);
	if (r)
		return r;
	/* checked on its own, so an error names the file and its line */
	struct egress_rules *rules = egress_rules_new();

	r = rules ? egress_rules_load(rules, text, len, t->val, b->err, b->errlen) : -ENOMEM;
	egress_rules_free(rules);
	if (!r)
		r = append(b, text, len);
	free(text);
	return r;
}

int cli_egress_build(const struct vm_egress *e, struct cli_egress_plan *plan, char *err,
		     size_t errlen)
{
	struct build b = { plan, 0, err, errlen };
	int r = 0;

	*plan = (struct cli_egress_plan){ 0 };
	err[0] = 0;
	for (unsigned i = 0; i < e->nr_items && !r; i++)
		r = item_walk(e->items[i], build_token, &b, err, errlen);
	if (!r && !plan->text)
		r = append(&b, "# nothing allowed", 17);
	if (r)
		cli_egress_plan_free(plan);
	return r;
}

void cli_egress_plan_free(struct cli_egress_plan *plan)
{
	free(plan->text);
	free(plan->list);
	*plan = (struct cli_egress_plan){ 0 };
}
