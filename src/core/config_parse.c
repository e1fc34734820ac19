/*
 * config_parse.c - the helpers every config section parser uses: strict
 * key lists, typed getters that name the offending key in their error
 * messages, secret files and CIDR lists. All errors are config_error.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/net.h"
#include "base/util.h"
#include "core/config_parse.h"

rg_err rg_cfg_fail(rg_error *err, const char *fmt, ...)
{
	va_list ap;
	char msg[sizeof(err->message)];

	if (!err)
		return RG_ERR_CONFIG;
	/* formatted aside first: callers pass err->message itself as an argument */
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	err->err = RG_ERR_CONFIG;
	snprintf(err->code, sizeof(err->code), "config_error");
	memcpy(err->message, msg, sizeof(msg));
	return RG_ERR_CONFIG;
}

rg_err rg_cfg_only_keys(const json_t *obj, const char *where, const char *const *keys,
			rg_error *err)
{
	const char *k;
	json_t *v;

	if (!json_is_object(obj))
		return rg_cfg_fail(err, "%s must be an object", where);
	json_object_foreach((json_t *)obj, k, v) {
		const char *const *p;
		for (p = keys; *p && strcmp(*p, k); p++)
			;
		if (!*p)
			return rg_cfg_fail(err, "%s: unknown key '%s'", where, k);
	}
	return RG_OK;
}

rg_err rg_cfg_get_string(const json_t *obj, const char *key, const char *where, char **out,
			 rg_error *err)
{
	json_t *v = json_object_get(obj, key);

	if (!v)
		return RG_OK;
	if (!json_is_string(v))
		return rg_cfg_fail(err, "%s.%s must be a string", where, key);
	free(*out);
	*out = strdup(json_string_value(v));
	return *out ? RG_OK : RG_ERR_NOMEM;
}

rg_err rg_cfg_get_bool(const json_t *obj, const char *key, const char *where, bool *out,
		       rg_error *err)
{
	json_t *v = json_object_get(obj, key);

	if (!v)
		return RG_OK;
	if (!json_is_boolean(v))
		return rg_cfg_fail(err, "%s.%s must be true or false", where, key);
	*out = json_is_true(v);
	return RG_OK;
}

rg_err rg_cfg_get_duration(const json_t *obj, const char *key, const char *where, long *out,
			   rg_error *err)
{
	json_t *v = json_object_get(obj, key);

	if (!v)
		return RG_OK;
	if (json_is_integer(v) && json_integer_value(v) > 0 && json_integer_value(v) < 366L * 86400) {
		*out = (long)json_integer_value(v);
		return RG_OK;
	}
	if (!json_is_string(v) || rg_duration_parse(json_string_value(v), out))
		return rg_cfg_fail(err, "%s.%s must be a duration like \"90s\", \"10m\", \"1h\"",
				   where, key);
	return RG_OK;
}

rg_err rg_cfg_get_strings(const json_t *obj, const char *key, const char *where, char ***out,
			  size_t *n, rg_error *err)
{
	json_t *v = json_object_get(obj, key), *s;
	size_t i;

	*out = NULL;
	*n = 0;
	if (!v)
		return RG_OK;
	if (!json_is_array(v))
		return rg_cfg_fail(err, "%s.%s must be an array of strings", where, key);
	*out = calloc(json_array_size(v) + 1, sizeof(char *));
	if (!*out)
		return RG_ERR_NOMEM;
	json_array_foreach(v, i, s) {
		if (!json_is_string(s) || !json_string_length(s))
			return rg_cfg_fail(err, "%s.%s[%zu] must be a non-empty string", where, key,
					   i);
		if (!((*out)[i] = strdup(json_string_value(s))))
			return RG_ERR_NOMEM;
		(*n)++;
	}
	return RG_OK;
}

void rg_cfg_free_strings(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

rg_err rg_cfg_read_secret(const char *base_dir, const char *file, char **out, rg_error *err)
{
	char *path = rg_path_resolve(base_dir, file), *text = NULL;
	size_t len = 0;
	rg_err rc;

	if (!path)
		return RG_ERR_NOMEM;
	rc = rg_read_file(path, 4096, &text, &len, err);
	if (rc) {
		rc = rg_cfg_fail(err, "cannot read secret file %s", path);
		goto out;
	}
	while (len && (text[len - 1] == '\n' || text[len - 1] == '\r' || text[len - 1] == ' '))
		text[--len] = '\0';
	if (!len) {
		rc = rg_cfg_fail(err, "secret file %s is empty", path);
		goto out;
	}
	rg_free_secret(*out);
	*out = text;
	text = NULL;
out:
	rg_free_secret(text);
	free(path);
	return rc;
}

rg_err rg_cfg_get_cidrs(const json_t *obj, const char *key, const char *where, rg_cidr **out,
			size_t *n, rg_error *err)
{
	char **srcs = NULL;
	size_t ns = 0;
	rg_err rc;

	*n = 0;
	if ((rc = rg_cfg_get_strings(obj, key, where, &srcs, &ns, err)) || !ns)
		goto out;
	if (!(*out = calloc(ns, sizeof(rg_cidr)))) {
		rc = RG_ERR_NOMEM;
		goto out;
	}
	for (size_t i = 0; i < ns; i++) {
		if (rg_cidr_parse(srcs[i], &(*out)[i])) {
			rc = rg_cfg_fail(err, "%s.%s: '%s' is not an address or CIDR", where, key,
					 srcs[i]);
			goto out;
		}
		(*n)++;
	}
out:
	rg_cfg_free_strings(srcs, ns);
	return rc;
}
