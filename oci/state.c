// SPDX-License-Identifier: MIT
/*
 * state.c: a container's state directory (oci/runtime.h): state.json, the
 * monitor's status file, the lock, and whether the monitor is still alive.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "oci/runtime.h"

#define STATE_MAX (1U << 20)

bool oci_id_ok(const char *id)
{
	size_t n = strlen(id);

	if (!n || n > OCI_ID_MAX || !strcmp(id, ".") || !strcmp(id, ".."))
		return false;
	for (const char *p = id; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || strchr("_.+-", *p)))
			return false;
	return true;
}

int oci_state_dir(const struct oci_global *g, const char *id, char *out, size_t len)
{
	int n = snprintf(out, len, "%s/%s", g->root, id);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int oci_write_file(const char *path, const char *text)
{
	char tmp[4096];
	size_t len = strlen(text), off = 0;
	int fd, r = 0;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	while (off < len) {
		ssize_t n = write(fd, text + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = n < 0 ? -errno : -EIO;
			break;
		}
		off += (size_t)n;
	}
	if (close(fd) < 0 && !r)
		r = -errno;
	if (!r && rename(tmp, path) < 0)
		r = -errno;
	if (r)
		unlink(tmp);
	return r;
}

int oci_read_file(const char *path, size_t max, char **out, size_t *len)
{
	struct stat st;
	size_t off = 0;
	char *buf;
	int fd, r = 0;

	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size > max) {
		r = !S_ISREG(st.st_mode) ? -EINVAL : -EFBIG;
		close(fd);
		return r;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	while (off < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + off, (size_t)st.st_size - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break; /* shrank: what is there */
		off += (size_t)n;
	}
	close(fd);
	buf[off] = 0;
	*out = buf;
	if (len)
		*len = off;
	return 0;
}

static char *dup_str(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) ? strdup(v->valuestring) : NULL;
}

int oci_state_write(const char *dir, const struct oci_state *st)
{
	cJSON *o = cJSON_CreateObject(), *ann = NULL;
	char path[4096], *text;
	int r;

	if (!o)
		return -ENOMEM;
	if (st->annotations)
		ann = cJSON_Parse(st->annotations);
	if (!cJSON_AddStringToObject(o, "id", st->id) ||
	    !cJSON_AddNumberToObject(o, "pid", st->pid) ||
	    !cJSON_AddNumberToObject(o, "start", (double)st->start) ||
	    !cJSON_AddStringToObject(o, "bundle", st->bundle ? st->bundle : "") ||
	    !cJSON_AddStringToObject(o, "created", st->created ? st->created : "") ||
	    (ann && !cJSON_AddItemToObject(o, "annotations", ann))) {
		cJSON_Delete(o);
		return -ENOMEM;
	}
	text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (!text)
		return -ENOMEM;
	snprintf(path, sizeof(path), "%s/state.json", dir);
	r = oci_write_file(path, text);
	free(text);
	return r;
}

int oci_state_read(const char *dir, struct oci_state *st)
{
	const cJSON *id, *pid, *start, *ann;
	char path[4096], *text;
	cJSON *o;
	int r;

	memset(st, 0, sizeof(*st));
	snprintf(path, sizeof(path), "%s/state.json", dir);
	r = oci_read_file(path, STATE_MAX, &text, NULL);
	if (r)
		return r == -ENOENT ? -ENOENT : -EINVAL;
	o = cJSON_Parse(text);
	free(text);
	if (!o)
		return -EINVAL;
	id = cJSON_GetObjectItemCaseSensitive(o, "id");
	pid = cJSON_GetObjectItemCaseSensitive(o, "pid");
	start = cJSON_GetObjectItemCaseSensitive(o, "start");
	if (!cJSON_IsString(id) || strlen(id->valuestring) > OCI_ID_MAX || !cJSON_IsNumber(pid) ||
	    !cJSON_IsNumber(start) || pid->valuedouble < 0 || pid->valuedouble > 4194304) {
		cJSON_Delete(o);
		return -EINVAL;
	}
	snprintf(st->id, sizeof(st->id), "%s", id->valuestring);
	st->pid = (pid_t)pid->valuedouble;
	st->start = (unsigned long long)start->valuedouble;
	st->bundle = dup_str(o, "bundle");
	st->created = dup_str(o, "created");
	ann = cJSON_GetObjectItemCaseSensitive(o, "annotations");
	if (cJSON_IsObject(ann))
		st->annotations = cJSON_PrintUnformatted(ann);
	cJSON_Delete(o);
	return 0;
}

void oci_state_fini(struct oci_state *st)
{
	free(st->bundle);
	free(st->created);
	free(st->annotations);
	memset(st, 0, sizeof(*st));
}

unsigned long long oci_pid_start(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long start = 0;
	ssize_t n;
	int fd, field;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	/* the name may hold anything: fields start after the last ')' */
	p = strrchr(buf, ')');
	if (!p || p[1] != ' ')
		return 0;
	p += 2;
	/* p is field 3 (state); a zombie is gone for us */
	if (*p == 'Z' || *p == 'X')
		return 0;
	for (field = 3; field < 22 && p; field++) {
		p = strchr(p, ' ');
		if (p)
			p++;
	}
	if (p)
		start = strtoull(p, NULL, 10);
	return start;
}

bool oci_alive(const struct oci_state *st)
{
	return st->pid > 0 && st->start && oci_pid_start(st->pid) == st->start;
}

const char *oci_status(const char *dir, const struct oci_state *st)
{
	static const char *const known[] = { "created", "running", "paused" };
	char path[4096], *text;

	if (!st->pid)
		return "creating";
	if (!oci_alive(st))
		return "stopped";
	snprintf(path, sizeof(path), "%s/status", dir);
	if (oci_read_file(path, 64, &text, NULL))
		return "created";
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (!strncmp(text, known[i], strlen(known[i]))) {
			free(text);
			return known[i];
		}
	free(text);
	return "created";
}

int oci_write_status(const char *dir, const char *status)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/status", dir);
	return oci_write_file(path, status);
}

int oci_bundle_spec(const char *bundle, struct oci_spec *spec, char *msg, size_t msglen)
{
	char path[4200], why[1024], *text;
	size_t len;
	int r;

	snprintf(path, sizeof(path), "%s/config.json", bundle);
	r = oci_read_file(path, OCI_MAX_FILE, &text, &len);
	if (r) {
		snprintf(msg, msglen, "%s: %s", path, r == -EFBIG ? "larger than 4 MiB" :
			 strerror(-r));
		return r;
	}
	r = oci_spec_parse(text, len, spec, why, sizeof(why));
	free(text);
	if (r)
		snprintf(msg, msglen, "%s: %s", path, why);
	return r;
}

char *oci_state_json(const struct oci_state *st, const char *status)
{
	cJSON *o = cJSON_CreateObject(), *ann = NULL;
	char *text = NULL;

	if (!o)
		return NULL;
	if (st->annotations)
		ann = cJSON_Parse(st->annotations);
	if (cJSON_AddStringToObject(o, "ociVersion", OCI_VERSION) &&
	    cJSON_AddStringToObject(o, "id", st->id) &&
	    cJSON_AddStringToObject(o, "status", status) &&
	    cJSON_AddNumberToObject(o, "pid", strcmp(status, "stopped") ? st->pid : 0) &&
	    cJSON_AddStringToObject(o, "bundle", st->bundle ? st->bundle : "") &&
	    cJSON_AddStringToObject(o, "created", st->created ? st->created : "") &&
	    (!ann || cJSON_AddItemToObject(o, "annotations", ann)))
		text = cJSON_PrintUnformatted(o);
	else if (ann && !cJSON_GetObjectItemCaseSensitive(o, "annotations"))
		cJSON_Delete(ann);
	cJSON_Delete(o);
	return text;
}

int oci_lock(const struct oci_global *g, const char *id)
{
	char path[4096];
	int fd;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s.lock", g->root, id) >= sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX) < 0) {
		int r = -errno;

		close(fd);
		return r;
	}
	return fd;
}

char *oci_annotations_json(char **kv, int n)
{
	cJSON *o;
	char *text = NULL;

	if (!n)
		return NULL;
	o = cJSON_CreateObject();
	if (!o)
		return NULL;
	for (int i = 0; i < n; i++) {
		const char *eq = strchr(kv[i], '=');
		char key[1024];

		if (!eq || (size_t)(eq - kv[i]) >= sizeof(key))
			continue;
		memcpy(key, kv[i], (size_t)(eq - kv[i]));
		key[eq - kv[i]] = 0;
		if (!cJSON_AddStringToObject(o, key, eq + 1))
			goto out;
	}
	text = cJSON_PrintUnformatted(o);
out:
	cJSON_Delete(o);
	return text;
}
