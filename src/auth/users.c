/*
 * users.c - the local users file: one user per line,
 *   name:$pbkdf2-sha256$...:display name:group1,group2
 * Blank lines and lines starting with '#' are ignored. `roomgate user add`
 * rewrites it atomically (temp file, fsync, rename) with mode 0600.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth/users.h"
#include "base/error.h"
#include "base/names.h"
#include "base/util.h"

#define USERS_MAX_FILE (16 * 1024 * 1024)

static void user_clear(rg_local_user *u)
{
	free(u->name);
	free(u->hash);
	free(u->display);
	for (size_t i = 0; i < u->ngroups; i++)
		free(u->groups[i]);
	free(u->groups);
	memset(u, 0, sizeof(*u));
}

void rg_users_clear(rg_users *u)
{
	if (!u)
		return;
	for (size_t i = 0; i < u->n; i++)
		user_clear(&u->v[i]);
	free(u->v);
	u->v = NULL;
	u->n = 0;
}

const rg_local_user *rg_users_find(const rg_users *u, const char *name)
{
	for (size_t i = 0; u && name && i < u->n; i++)
		if (!strcmp(u->v[i].name, name))
			return &u->v[i];
	return NULL;
}

/* Splits "a,b,c" into groups (empty items skipped). */
static rg_err split_groups(const char *s, size_t n, char ***out, size_t *count)
{
	char **v = NULL;
	size_t c = 0;
	const char *p = s, *end = s + n;

	while (p < end) {
		const char *comma = memchr(p, ',', (size_t)(end - p));
		const char *stop = comma ? comma : end;
		if (stop > p) {
			char **nv = realloc(v, (c + 1) * sizeof(*v));
			if (!nv)
				goto fail;
			v = nv;
			if (!(v[c] = strndup(p, (size_t)(stop - p))))
				goto fail;
			c++;
		}
		p = stop + 1;
	}
	*out = v;
	*count = c;
	return RG_OK;
fail:
	for (size_t i = 0; i < c; i++)
		free(v[i]);
	free(v);
	return RG_ERR_NOMEM;
}

rg_err rg_users_parse(const char *text, size_t len, rg_users *out, rg_error *err)
{
	const char *p = text, *end = text + len;
	size_t lineno = 0;
	rg_err rc = RG_OK;

	memset(out, 0, sizeof(*out));
	if (!rg_utf8_valid(text, len) || memchr(text, '\0', len))
		return rg_fail(err, RG_ERR_CONFIG, "config_error", "users file is not UTF-8 text");
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		const char *f[4];
		size_t fl[4], nf = 0;
		const char *q = p;
		rg_local_user u = {0};
		rg_local_user *nv;

		lineno++;
		if (le > p && le[-1] == '\r')
			le--;
		if (le == p || *p == '#')
			goto next;
		while (nf < 4) {
			const char *c = memchr(q, ':', (size_t)(le - q));
			f[nf] = q;
			if (!c || nf == 3) {
				fl[nf++] = (size_t)(le - q);
				break;
			}
			fl[nf++] = (size_t)(c - q);
			q = c + 1;
		}
		if (nf < 2 || fl[0] == 0 || fl[1] == 0) {
			rc = rg_fail(err, RG_ERR_CONFIG, "config_error",
				     "users file line %zu: expected name:hash[:display name[:groups]]",
				     lineno);
			goto fail;
		}
		u.name = strndup(f[0], fl[0]);
		u.hash = strndup(f[1], fl[1]);
		u.display = nf > 2 && fl[2] ? strndup(f[2], fl[2]) : strndup(f[0], fl[0]);
		if (!u.name || !u.hash || !u.display ||
		    (nf > 3 && split_groups(f[3], fl[3], &u.groups, &u.ngroups))) {
			user_clear(&u);
			rc = rg_fail(err, RG_ERR_NOMEM, NULL, "out of memory");
			goto fail;
		}
		if (rg_identity_problem(u.name)) {
			rc = rg_fail(err, RG_ERR_CONFIG, "config_error",
				     "users file line %zu: the user name %s: %s", lineno,
				     rg_identity_problem(u.name), RG_IDENTITY_RULE);
			user_clear(&u);
			goto fail;
		}
		if (strncmp(u.hash, "$pbkdf2-sha256$", 15)) {
			rc = rg_fail(err, RG_ERR_CONFIG, "config_error",
				     "users file line %zu: unsupported password hash", lineno);
			user_clear(&u);
			goto fail;
		}
		if (rg_users_find(out, u.name)) {
			rc = rg_fail(err, RG_ERR_CONFIG, "config_error",
				     "users file line %zu: user '%s' appears twice", lineno, u.name);
			user_clear(&u);
			goto fail;
		}
		nv = realloc(out->v, (out->n + 1) * sizeof(*nv));
		if (!nv) {
			user_clear(&u);
			rc = rg_fail(err, RG_ERR_NOMEM, NULL, "out of memory");
			goto fail;
		}
		out->v = nv;
		out->v[out->n++] = u;
next:
		p = nl ? nl + 1 : end;
	}
	return RG_OK;
fail:
	rg_users_clear(out);
	return rc;
}

rg_err rg_users_load(const char *path, rg_users *out, rg_error *err)
{
	char *text = NULL;
	size_t len = 0;
	rg_err rc;

	memset(out, 0, sizeof(*out));
	if ((rc = rg_read_file(path, USERS_MAX_FILE, &text, &len, err)))
		return rc == RG_ERR_IO ? RG_ERR_CONFIG : rc;
	rc = rg_users_parse(text, len, out, err);
	free(text);
	return rc;
}

static bool field_ok(const char *s)
{
	return !s || (!strpbrk(s, ":\n\r") && rg_utf8_valid(s, strlen(s)));
}

rg_err rg_users_file_add(const char *path, const char *name, const char *password,
			 const char *display_name, const char *groups, rg_error *err)
{
	char *text = NULL, *hash = NULL, *tmp = NULL;
	size_t len = 0, tmplen;
	FILE *f = NULL;
	int fd = -1;
	rg_users existing = {0};
	rg_err rc = RG_OK;

	if (!path || !name || !password)
		return rg_fail(err, RG_ERR_INVALID, "invalid_request", "a file, a name and a password");
	if (rg_identity_problem(name))
		return rg_fail(err, RG_ERR_INVALID, "invalid_identity", "the user name %s: %s",
			       rg_identity_problem(name), RG_IDENTITY_RULE);
	if (!field_ok(name) || !field_ok(display_name) || !field_ok(groups))
		return rg_fail(err, RG_ERR_INVALID, "invalid_request",
			       "user name, display name and groups must be UTF-8 without ':' or "
			       "newlines");
	if (!*password)
		return rg_fail(err, RG_ERR_INVALID, "invalid_request", "empty password");
	if (access(path, F_OK) == 0) {
		if ((rc = rg_read_file(path, USERS_MAX_FILE, &text, &len, err)))
			goto out;
		/* refuse to rewrite a file we could not parse: nothing is lost */
		if ((rc = rg_users_parse(text, len, &existing, err)))
			goto out;
	}
	if ((rc = rg_password_hash(password, 0, &hash))) {
		rg_fail(err, rc, NULL, "cannot hash the password");
		goto out;
	}
	tmplen = strlen(path) + 16;
	tmp = malloc(tmplen);
	if (!tmp) {
		rc = rg_fail(err, RG_ERR_NOMEM, NULL, "out of memory");
		goto out;
	}
	snprintf(tmp, tmplen, "%s.tmpXXXXXX", path);
	fd = mkstemp(tmp);
	if (fd < 0 || fchmod(fd, 0600) || !(f = fdopen(fd, "w"))) {
		rc = rg_fail(err, RG_ERR_IO, "io_error", "cannot write %s: %s", tmp, strerror(errno));
		goto out;
	}
	fd = -1;
	/* keep every other line as it was (comments included) */
	for (const char *p = text, *end = text ? text + len : NULL; p && p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t ll = nl ? (size_t)(nl - p) : (size_t)(end - p);
		size_t nlen = strlen(name);
		if (!(ll > nlen && !strncmp(p, name, nlen) && p[nlen] == ':') && ll > 0)
			fprintf(f, "%.*s\n", (int)ll, p);
		p = nl ? nl + 1 : end;
	}
	fprintf(f, "%s:%s:%s:%s\n", name, hash, display_name ? display_name : name,
		groups ? groups : "");
	if (fflush(f) || fsync(fileno(f))) {
		rc = rg_fail(err, RG_ERR_IO, "io_error", "cannot write %s: %s", tmp, strerror(errno));
		goto out;
	}
	fclose(f);
	f = NULL;
	if (rename(tmp, path)) {
		rc = rg_fail(err, RG_ERR_IO, "io_error", "cannot replace %s: %s", path,
			     strerror(errno));
		goto out;
	}
	free(tmp);
	tmp = NULL;
out:
	if (f)
		fclose(f);
	if (fd >= 0)
		close(fd);
	if (tmp) {
		unlink(tmp);
		free(tmp);
	}
	free(text);
	free(hash);
	rg_users_clear(&existing);
	return rc;
}
