/*
 * config.c - the JSON config file -> an immutable, refcounted rg_config_t.
 *
 * Strict: unknown keys are errors (a typo in a policy file must not widen
 * or silently narrow access), durations and names are validated, and rules
 * may only name agent profiles that exist. The dev-mode config is the same
 * parser fed an embedded JSON text, plus an in-memory demo user.
 */
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jwt.h>
#include <openssl/rand.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include "auth/apikey.h"
#include "auth/jwks.h"
#include "auth/proxy.h"
#include "auth/upstream.h"
#include "auth/users.h"
#include "base/error.h"
#include "base/net.h"
#include "base/tls.h"
#include "base/util.h"
#include "core/config.h"
#include "livekit/jwt.h"
#include "livekit/token.h"

#define CFG_MAX_FILE (4 * 1024 * 1024)

static rg_err cfg_fail(rg_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static rg_err cfg_fail(rg_error *err, const char *fmt, ...)
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

/* Every key of obj must be in the NULL-terminated list. */
static rg_err only_keys(const json_t *obj, const char *where, const char *const *keys,
			rg_error *err)
{
	const char *k;
	json_t *v;

	if (!json_is_object(obj))
		return cfg_fail(err, "%s must be an object", where);
	json_object_foreach((json_t *)obj, k, v) {
		const char *const *p;
		for (p = keys; *p && strcmp(*p, k); p++)
			;
		if (!*p)
			return cfg_fail(err, "%s: unknown key '%s'", where, k);
	}
	return RG_OK;
}

static rg_err get_string(const json_t *obj, const char *key, const char *where, char **out,
			 rg_error *err)
{
	json_t *v = json_object_get(obj, key);

	if (!v)
		return RG_OK;
	if (!json_is_string(v))
		return cfg_fail(err, "%s.%s must be a string", where, key);
	free(*out);
	*out = strdup(json_string_value(v));
	return *out ? RG_OK : RG_ERR_NOMEM;
}

static rg_err get_duration(const json_t *obj, const char *key, const char *where, long *out,
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
		return cfg_fail(err, "%s.%s must be a duration like \"90s\", \"10m\", \"1h\"", where,
				key);
	return RG_OK;
}

static rg_err get_strings(const json_t *obj, const char *key, const char *where, char ***out,
			  size_t *n, rg_error *err)
{
	json_t *v = json_object_get(obj, key), *s;
	size_t i;

	*out = NULL;
	*n = 0;
	if (!v)
		return RG_OK;
	if (!json_is_array(v))
		return cfg_fail(err, "%s.%s must be an array of strings", where, key);
	*out = calloc(json_array_size(v) + 1, sizeof(char *));
	if (!*out)
		return RG_ERR_NOMEM;
	json_array_foreach(v, i, s) {
		if (!json_is_string(s) || !json_string_length(s))
			return cfg_fail(err, "%s.%s[%zu] must be a non-empty string", where, key, i);
		if (!((*out)[i] = strdup(json_string_value(s))))
			return RG_ERR_NOMEM;
		(*n)++;
	}
	return RG_OK;
}

static void free_strings(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static rg_err read_secret(const char *base_dir, const char *file, char **out, rg_error *err)
{
	char *path = rg_path_resolve(base_dir, file), *text = NULL;
	size_t len = 0;
	rg_err rc;

	if (!path)
		return RG_ERR_NOMEM;
	rc = rg_read_file(path, 4096, &text, &len, err);
	if (rc) {
		rc = cfg_fail(err, "cannot read secret file %s", path);
		goto out;
	}
	while (len && (text[len - 1] == '\n' || text[len - 1] == '\r' || text[len - 1] == ' '))
		text[--len] = '\0';
	if (!len) {
		rc = cfg_fail(err, "secret file %s is empty", path);
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

static bool name_chars_ok(const char *s)
{
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
		      *s == '-' || *s == '_' || *s == '.'))
			return false;
	return true;
}

static rg_err parse_profile(const char *key, const json_t *v, rg_profile *p, rg_error *err)
{
	static const char *const keys[] = {"agent_name", "description", "deployment", "metadata",
					   "client_metadata", "metadata_format", NULL};
	char where[300];
	json_t *cm, *md, *s;
	const char *fmt;
	size_t i;
	rg_err rc;

	snprintf(where, sizeof(where), "agents.%s", key);
	if ((rc = only_keys(v, where, keys, err)))
		return rc;
	if (!(p->key = strdup(key)))
		return RG_ERR_NOMEM;
	if ((rc = get_string(v, "agent_name", where, &p->agent_name, err)) ||
	    (rc = get_string(v, "description", where, &p->description, err)) ||
	    (rc = get_string(v, "deployment", where, &p->deployment, err)))
		return rc;
	if (!p->agent_name || !*p->agent_name || strlen(p->agent_name) > RG_MAX_NAME)
		return cfg_fail(err, "%s.agent_name is required", where);
	md = json_object_get(v, "metadata");
	if (md && !json_is_object(md))
		return cfg_fail(err, "%s.metadata must be an object (a template)", where);
	p->metadata = md ? json_deep_copy(md) : NULL;
	cm = json_object_get(v, "client_metadata");
	if (json_is_string(cm) && !strcmp(json_string_value(cm), "*")) {
		p->client_any = true;
	} else if (json_is_array(cm)) {
		json_array_foreach(cm, i, s) {
			if (!json_is_string(s))
				return cfg_fail(err, "%s.client_metadata must hold field names", where);
		}
		p->client_fields = json_deep_copy(cm);
	} else if (cm) {
		return cfg_fail(err, "%s.client_metadata must be a list of field names or \"*\"",
				where);
	}
	fmt = rg_json_str(v, "metadata_format");
	if (json_object_get(v, "metadata_format") && !fmt)
		return cfg_fail(err, "%s.metadata_format must be \"json\" or \"text\"", where);
	if (!fmt || !strcmp(fmt, "json"))
		p->json_only = true;
	else if (strcmp(fmt, "text"))
		return cfg_fail(err, "%s.metadata_format must be \"json\" or \"text\"", where);
	if (!p->json_only && p->metadata)
		return cfg_fail(err, "%s: a metadata template needs metadata_format \"json\"", where);
	return RG_OK;
}

static rg_err parse_rule(const rg_config_t *cfg, size_t idx, const json_t *v, rg_rule *r,
			 rg_error *err)
{
	static const char *const keys[] = {"name", "match", "rooms", "session_rooms", "agents",
					   "grants", "ttl", NULL};
	static const char *const match_keys[] = {"users", "groups", "methods", NULL};
	static const char *const methods[] = {"basic", "session", "local", "jwt", "proxy",
					      "api_key", NULL};
	char where[300];
	json_t *m, *sr, *g;
	rg_err rc;
	rg_error gerr;

	snprintf(where, sizeof(where), "rules[%zu]", idx);
	if ((rc = only_keys(v, where, keys, err)) ||
	    (rc = get_string(v, "name", where, &r->name, err)))
		return rc;
	if (!r->name) {
		char buf[32];
		snprintf(buf, sizeof(buf), "rule %zu", idx + 1);
		if (!(r->name = strdup(buf)))
			return RG_ERR_NOMEM;
	}
	snprintf(where, sizeof(where), "rules[%zu] (%s)", idx, r->name);
	m = json_object_get(v, "match");
	if (m) {
		char mw[320];
		snprintf(mw, sizeof(mw), "%s.match", where);
		if ((rc = only_keys(m, mw, match_keys, err)) ||
		    (rc = get_strings(m, "users", mw, &r->m_users, &r->n_users, err)) ||
		    (rc = get_strings(m, "groups", mw, &r->m_groups, &r->n_groups, err)) ||
		    (rc = get_strings(m, "methods", mw, &r->m_methods, &r->n_methods, err)))
			return rc;
		for (size_t i = 0; i < r->n_methods; i++) {
			const char *const *p;
			for (p = methods; *p && strcmp(*p, r->m_methods[i]); p++)
				;
			if (!*p)
				return cfg_fail(err,
						"%s: unknown method '%s' (basic, session, local, jwt, "
						"proxy, api_key)",
						mw, r->m_methods[i]);
		}
	}
	if ((rc = get_strings(v, "rooms", where, &r->rooms, &r->n_rooms, err)) ||
	    (rc = get_strings(v, "agents", where, &r->agents, &r->n_agents, err)) ||
	    (rc = get_duration(v, "ttl", where, &r->ttl, err)))
		return rc;
	sr = json_object_get(v, "session_rooms");
	if (sr && !json_is_boolean(sr))
		return cfg_fail(err, "%s.session_rooms must be true or false", where);
	r->session_rooms = json_is_true(sr);
	for (size_t i = 0; i < r->n_agents; i++) {
		if (!strcmp(r->agents[i], "*"))
			r->agents_any = true;
		else if (!rg_config_profile(cfg, r->agents[i]))
			return cfg_fail(err, "%s.agents: no agent profile named '%s'", where,
					r->agents[i]);
	}
	g = json_object_get(v, "grants");
	r->grants = json_pack("{s:b,s:b,s:b}", "canPublish", 1, "canSubscribe", 1,
			      "canPublishData", 1);
	if (!r->grants)
		return RG_ERR_NOMEM;
	if (g) {
		rg_token_t *probe = rg_token_new();
		memset(&gerr, 0, sizeof(gerr));
		rc = probe ? rg_token_merge_grants(probe, g, &gerr) : RG_ERR_NOMEM;
		rg_token_free(probe);
		if (rc)
			return cfg_fail(err, "%s.grants: %s", where, gerr.message);
		if (json_object_get(g, "room") || json_object_get(g, "roomJoin"))
			return cfg_fail(err, "%s.grants: room and roomJoin are set by roomgate", where);
		json_object_update(r->grants, g);
	}
	return RG_OK;
}

static rg_err parse_upstream(rg_upstream *up, const json_t *v, const char *base_dir,
			     rg_error *err)
{
	static const char *const keys[] = {"issuer", "audience", "algorithms", "secret",
					   "secret_file", "public_keys", "jwks_file", "jwks_url",
					   "jwks_refresh", "leeway", "claims", NULL};
	static const char *const claim_keys[] = {"identity", "name", "groups", NULL};
	const char *W = "upstream_jwt";
	char **algs = NULL, **pems = NULL, *file = NULL, *jwks_file = NULL, *jwks_url = NULL;
	size_t nalgs = 0, npems = 0, i;
	long refresh = 600;
	json_t *aud, *claims;
	bool need_secret = false, need_keys = false;
	rg_err rc;

	up->enabled = true;
	up->leeway = RG_LEEWAY;
	if (!(up->claim_id = strdup("sub")) || !(up->claim_name = strdup("name")) ||
	    !(up->claim_groups = strdup("groups")))
		return RG_ERR_NOMEM;
	if ((rc = only_keys(v, W, keys, err)) || (rc = get_string(v, "issuer", W, &up->issuer, err)) ||
	    (rc = get_string(v, "secret", W, &up->secret, err)) ||
	    (rc = get_string(v, "secret_file", W, &file, err)) ||
	    (rc = get_string(v, "jwks_file", W, &jwks_file, err)) ||
	    (rc = get_string(v, "jwks_url", W, &jwks_url, err)) ||
	    (rc = get_duration(v, "jwks_refresh", W, &refresh, err)) ||
	    (rc = get_strings(v, "algorithms", W, &algs, &nalgs, err)) ||
	    (rc = get_strings(v, "public_keys", W, &pems, &npems, err)))
		goto out;
	if (json_object_get(v, "leeway")) {
		json_t *l = json_object_get(v, "leeway");
		if (json_is_integer(l) && json_integer_value(l) == 0)
			up->leeway = 0;
		else if ((rc = get_duration(v, "leeway", W, &up->leeway, err)))
			goto out;
	}
	aud = json_object_get(v, "audience");
	if (json_is_string(aud)) {
		up->audiences = calloc(1, sizeof(char *));
		if (!up->audiences || !(up->audiences[0] = strdup(json_string_value(aud)))) {
			rc = RG_ERR_NOMEM;
			goto out;
		}
		up->n_aud = 1;
	} else if (aud && (rc = get_strings(v, "audience", W, &up->audiences, &up->n_aud, err))) {
		goto out;
	}
	if ((claims = json_object_get(v, "claims"))) {
		if ((rc = only_keys(claims, "upstream_jwt.claims", claim_keys, err)) ||
		    (rc = get_string(claims, "identity", "upstream_jwt.claims", &up->claim_id, err)) ||
		    (rc = get_string(claims, "name", "upstream_jwt.claims", &up->claim_name, err)) ||
		    (rc = get_string(claims, "groups", "upstream_jwt.claims", &up->claim_groups, err)))
			goto out;
	}
	if (!nalgs) {
		rc = cfg_fail(err, "upstream_jwt.algorithms is required, e.g. [\"RS256\"]");
		goto out;
	}
	for (i = 0; i < nalgs; i++) {
		jwt_alg_t a = jwt_str_alg(algs[i]);
		if (a == JWT_ALG_NONE || a == JWT_ALG_INVAL || strcmp(jwt_alg_str(a), algs[i])) {
			rc = cfg_fail(err, "upstream_jwt.algorithms: '%s' is not one of HS256/384/512, "
					   "RS256/384/512, ES256/384/512", algs[i]);
			goto out;
		}
		up->algs |= 1u << a;
		if (a <= JWT_ALG_HS512)
			need_secret = true;
		else
			need_keys = true;
	}
	if (file && (rc = read_secret(base_dir, file, &up->secret, err)))
		goto out;
	if (need_secret && !up->secret) {
		rc = cfg_fail(err, "upstream_jwt: HS algorithms need secret or secret_file");
		goto out;
	}
	if (!need_secret && up->secret) {
		rc = cfg_fail(err, "upstream_jwt: a secret is set but no HS algorithm is allowed");
		goto out;
	}
	for (i = 0; i < npems; i++) {
		char *path = rg_path_resolve(base_dir, pems[i]);
		rc = path ? rg_keys_from_pem_file(path, &up->keys, err) : RG_ERR_NOMEM;
		free(path);
		if (rc)
			goto out;
	}
	if (jwks_file) {
		char *path = rg_path_resolve(base_dir, jwks_file), *text = NULL;
		size_t len = 0;
		rg_keyset ks;
		rc = path ? rg_read_file(path, 512 * 1024, &text, &len, err) : RG_ERR_NOMEM;
		free(path);
		if (!rc)
			rc = rg_keys_from_jwks(text, len, &ks, err);
		free(text);
		if (rc) {
			rc = cfg_fail(err, "upstream_jwt.jwks_file: %s", err ? err->message : "invalid");
			goto out;
		}
		for (i = 0; i < ks.n; i++) {
			rg_key *nv = realloc(up->keys.v, (up->keys.n + 1) * sizeof(*nv));
			if (!nv) {
				rg_keys_clear(&ks);
				rc = RG_ERR_NOMEM;
				goto out;
			}
			up->keys.v = nv;
			up->keys.v[up->keys.n++] = ks.v[i];
		}
		free(ks.v);
	}
	if (jwks_url) {
		if (strncmp(jwks_url, "https://", 8) && strncmp(jwks_url, "http://", 7)) {
			rc = cfg_fail(err, "upstream_jwt.jwks_url must be an http(s) URL");
			goto out;
		}
		if (!(up->jwks = rg_jwks_new(jwks_url, refresh))) {
			rc = RG_ERR_NOMEM;
			goto out;
		}
	}
	if (need_keys && !up->keys.n && !up->jwks) {
		rc = cfg_fail(err, "upstream_jwt: RS/ES algorithms need public_keys, jwks_file or jwks_url");
		goto out;
	}
out:
	free_strings(algs, nalgs);
	free_strings(pems, npems);
	rg_free_secret(file);
	free(jwks_file);
	free(jwks_url);
	return rc;
}

/* A list of addresses or CIDRs (obj.key), parsed; *n = 0 when absent. */
static rg_err get_cidrs(const json_t *obj, const char *key, const char *where, rg_cidr **out,
			size_t *n, rg_error *err)
{
	char **srcs = NULL;
	size_t ns = 0;
	rg_err rc;

	*n = 0;
	if ((rc = get_strings(obj, key, where, &srcs, &ns, err)) || !ns)
		goto out;
	if (!(*out = calloc(ns, sizeof(rg_cidr)))) {
		rc = RG_ERR_NOMEM;
		goto out;
	}
	for (size_t i = 0; i < ns; i++) {
		if (rg_cidr_parse(srcs[i], &(*out)[i])) {
			rc = cfg_fail(err, "%s.%s: '%s' is not an address or CIDR", where, key, srcs[i]);
			goto out;
		}
		(*n)++;
	}
out:
	free_strings(srcs, ns);
	return rc;
}

static rg_err parse_proxy(rg_proxy_auth *pa, const json_t *v, rg_error *err)
{
	static const char *const keys[] = {"user_header", "name_header", "groups_header",
					   "trusted_sources", NULL};
	const char *W = "proxy_auth";
	rg_err rc;

	if ((rc = only_keys(v, W, keys, err)) ||
	    (rc = get_string(v, "user_header", W, &pa->user_header, err)) ||
	    (rc = get_string(v, "name_header", W, &pa->name_header, err)) ||
	    (rc = get_string(v, "groups_header", W, &pa->groups_header, err)) ||
	    (rc = get_cidrs(v, "trusted_sources", W, &pa->trusted, &pa->n_trusted, err)))
		return rc;
	if (!pa->user_header || !*pa->user_header)
		return cfg_fail(err, "proxy_auth.user_header is required, e.g. \"X-Forwarded-User\"");
	if (!pa->n_trusted)
		return cfg_fail(err, "proxy_auth.trusted_sources is required, e.g. [\"127.0.0.1/32\"]");
	return RG_OK;
}

static rg_err parse_apikeys(rg_config_t *cfg, const json_t *v, rg_error *err)
{
	static const char *const keys[] = {"name", "hash", "scopes", "groups", NULL};
	json_t *k;
	size_t i;
	rg_err rc;

	if (!json_is_array(v))
		return cfg_fail(err, "api_keys must be an array");
	if (!(cfg->auth.apikeys = calloc(json_array_size(v) + 1, sizeof(rg_apikey))))
		return RG_ERR_NOMEM;
	json_array_foreach(v, i, k) {
		rg_apikey *a = &cfg->auth.apikeys[cfg->auth.n_apikeys++];
		char where[48], *hash = NULL, **scopes = NULL;
		size_t ns = 0;
		snprintf(where, sizeof(where), "api_keys[%zu]", i);
		if ((rc = only_keys(k, where, keys, err)) ||
		    (rc = get_string(k, "name", where, &a->name, err)) ||
		    (rc = get_string(k, "hash", where, &hash, err)) ||
		    (rc = get_strings(k, "groups", where, &a->groups, &a->ngroups, err)) ||
		    (rc = get_strings(k, "scopes", where, &scopes, &ns, err))) {
			free(hash);
			free_strings(scopes, ns);
			return rc;
		}
		rc = RG_OK;
		if (!a->name || !*a->name || strlen(a->name) > RG_MAX_NAME)
			rc = cfg_fail(err, "%s.name is required", where);
		else if (rg_apikey_parse_hash(hash, a->hash))
			rc = cfg_fail(err, "%s.hash must be \"sha256:<64 hex>\" (roomgate apikey create)",
				      where);
		for (size_t j = 0; !rc && j < ns; j++) {
			if (!strcmp(scopes[j], "act_as"))
				a->act_as = true;
			else
				rc = cfg_fail(err, "%s.scopes: unknown scope '%s' (act_as)", where, scopes[j]);
		}
		free(hash);
		free_strings(scopes, ns);
		if (rc)
			return rc;
	}
	return RG_OK;
}

/* Loads the pair once at config time, so that a missing file or a key that
 * does not match the certificate is a clear config error, not a failed
 * handshake later. */
static rg_err check_tls(const char *cert, const char *key, rg_error *err)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	rg_err rc;

	if (!ctx)
		return rg_fail(err, RG_ERR_CRYPTO, "crypto_error", "cannot create a TLS context");
	rc = rg_tls_use(ctx, cert, key, err);
	SSL_CTX_free(ctx);
	return rc;
}

static bool origin_pattern_ok(const char *s)
{
	return !strcmp(s, "*") || !strncmp(s, "http://", 7) || !strncmp(s, "https://", 8);
}

static rg_err parse_root(rg_config_t *cfg, const json_t *root, const char *base_dir,
			 rg_error *err)
{
	static const char *const keys[] = {"listen",     "livekit",      "web_root", "users_file",
					   "session",    "tokens",       "rooms",    "cors",
					   "agents",     "rules",        "upstream_jwt",
					   "proxy_auth", "api_keys",     "tls",      "access_log", "server", NULL};
	static const char *const tls_keys[] = {"certificate", "key", NULL};
	static const char *const lk_keys[] = {"url", "api_key", "api_secret", "api_secret_file",
					      "check_existing_rooms", NULL};
	static const char *const sess_keys[] = {"secret", "secret_file", "ttl", NULL};
	static const char *const tok_keys[] = {"default_ttl", "max_ttl", NULL};
	static const char *const room_keys[] = {"prefix", NULL};
	static const char *const cors_keys[] = {"origins", NULL};
	json_t *v, *agents, *rules;
	char *path = NULL;
	const char *key;
	size_t i;
	rg_err rc;

	if ((rc = only_keys(root, "config", keys, err)) ||
	    (rc = get_string(root, "listen", "config", &cfg->listen, err)))
		return rc;
	if ((v = json_object_get(root, "livekit"))) {
		char *file = NULL;
		if ((rc = only_keys(v, "livekit", lk_keys, err)) ||
		    (rc = get_string(v, "url", "livekit", &cfg->livekit.url, err)) ||
		    (rc = get_string(v, "api_key", "livekit", &cfg->livekit.api_key, err)) ||
		    (rc = get_string(v, "api_secret", "livekit", &cfg->livekit.api_secret, err)) ||
		    (rc = get_string(v, "api_secret_file", "livekit", &file, err)))
			return rc;
		if (file)
			rc = read_secret(base_dir, file, &cfg->livekit.api_secret, err);
		free(file);
		if (rc)
			return rc;
		if (json_object_get(v, "check_existing_rooms")) {
			if (!json_is_boolean(json_object_get(v, "check_existing_rooms")))
				return cfg_fail(err, "livekit.check_existing_rooms must be true or false");
			cfg->check_existing_rooms = json_is_true(json_object_get(v, "check_existing_rooms"));
		}
	}
	if ((v = json_object_get(root, "server"))) {
		static const char *const server_keys[] = {"max_connections", "request_timeout",
							  "keep_alive_timeout", "trusted_proxies", NULL};
		json_t *mc = json_object_get(v, "max_connections");
		if ((rc = only_keys(v, "server", server_keys, err)) ||
		    (rc = get_cidrs(v, "trusted_proxies", "server", &cfg->trusted_proxies,
				    &cfg->n_trusted_proxies, err)) ||
		    (rc = get_duration(v, "request_timeout", "server", &cfg->request_timeout, err)) ||
		    (rc = get_duration(v, "keep_alive_timeout", "server", &cfg->keep_alive_timeout,
				       err)))
			return rc;
		if (mc && (!json_is_integer(mc) || json_integer_value(mc) < 1 ||
			   json_integer_value(mc) > 4096))
			return cfg_fail(err, "server.max_connections must be an integer from 1 to 4096");
		if (mc)
			cfg->max_connections = (long)json_integer_value(mc);
		if (cfg->request_timeout < 1 || cfg->request_timeout > 600 ||
		    cfg->keep_alive_timeout < 1 || cfg->keep_alive_timeout > 3600)
			return cfg_fail(err, "server.request_timeout must be 1s to 10m and "
					     "server.keep_alive_timeout 1s to 1h");
	}
	if ((v = json_object_get(root, "access_log"))) {
		if (!json_is_boolean(v))
			return cfg_fail(err, "access_log must be true or false");
		cfg->access_log = json_is_true(v);
	}
	if ((rc = get_string(root, "web_root", "config", &path, err)))
		return rc;
	if (path) {
		free(cfg->web_root);
		cfg->web_root = rg_path_resolve(base_dir, path);
		free(path);
		path = NULL;
	}
	if ((v = json_object_get(root, "tls"))) {
		char *cert = NULL, *pkey = NULL;
		if ((rc = only_keys(v, "tls", tls_keys, err)) ||
		    (rc = get_string(v, "certificate", "tls", &cert, err)) ||
		    (rc = get_string(v, "key", "tls", &pkey, err))) {
			free(cert);
			free(pkey);
			return rc;
		}
		cfg->tls_cert = rg_path_resolve(base_dir, cert);
		cfg->tls_key = rg_path_resolve(base_dir, pkey);
		free(cert);
		free(pkey);
		if (!cfg->tls_cert || !cfg->tls_key)
			return cfg_fail(err, "tls needs both certificate and key (PEM files)");
		if ((rc = check_tls(cfg->tls_cert, cfg->tls_key, err)))
			return rc;
	}
	if ((rc = get_string(root, "users_file", "config", &path, err)))
		return rc;
	if (path) {
		char *full = rg_path_resolve(base_dir, path);
		rg_error uerr;
		free(path);
		memset(&uerr, 0, sizeof(uerr));
		rc = full ? rg_users_load(full, &cfg->auth.users, &uerr) : RG_ERR_NOMEM;
		free(full);
		if (rc)
			return cfg_fail(err, "users_file: %s", uerr.message);
	}
	if ((v = json_object_get(root, "session"))) {
		char *file = NULL;
		if ((rc = only_keys(v, "session", sess_keys, err)) ||
		    (rc = get_string(v, "secret", "session", &cfg->auth.session_secret, err)) ||
		    (rc = get_string(v, "secret_file", "session", &file, err)) ||
		    (rc = get_duration(v, "ttl", "session", &cfg->auth.session_ttl, err))) {
			free(file);
			return rc;
		}
		if (file)
			rc = read_secret(base_dir, file, &cfg->auth.session_secret, err);
		free(file);
		if (rc)
			return rc;
		if (cfg->auth.session_secret && strlen(cfg->auth.session_secret) < 32)
			return cfg_fail(err, "session.secret must be at least 32 characters");
	}
	if ((v = json_object_get(root, "tokens")) &&
	    ((rc = only_keys(v, "tokens", tok_keys, err)) ||
	     (rc = get_duration(v, "default_ttl", "tokens", &cfg->default_ttl, err)) ||
	     (rc = get_duration(v, "max_ttl", "tokens", &cfg->max_ttl, err))))
		return rc;
	if (cfg->default_ttl > cfg->max_ttl)
		return cfg_fail(err, "tokens.default_ttl is longer than tokens.max_ttl");
	if ((v = json_object_get(root, "rooms")) &&
	    ((rc = only_keys(v, "rooms", room_keys, err)) ||
	     (rc = get_string(v, "prefix", "rooms", &cfg->room_prefix, err))))
		return rc;
	if (strlen(cfg->room_prefix) > 64 || !name_chars_ok(cfg->room_prefix))
		return cfg_fail(err, "rooms.prefix: at most 64 of A-Z a-z 0-9 - _ .");
	if ((v = json_object_get(root, "cors"))) {
		if ((rc = only_keys(v, "cors", cors_keys, err)) ||
		    (rc = get_strings(v, "origins", "cors", &cfg->cors, &cfg->n_cors, err)))
			return rc;
		for (i = 0; i < cfg->n_cors; i++)
			if (!origin_pattern_ok(cfg->cors[i]))
				return cfg_fail(err, "cors.origins[%zu]: an origin like "
						     "https://app.example.com, http://localhost:* or *",
						i);
	}
	if ((v = json_object_get(root, "upstream_jwt")) &&
	    (rc = parse_upstream(&cfg->auth.upstream, v, base_dir, err)))
		return rc;
	if ((v = json_object_get(root, "proxy_auth")) && (rc = parse_proxy(&cfg->auth.proxy, v, err)))
		return rc;
	if ((v = json_object_get(root, "api_keys")) && (rc = parse_apikeys(cfg, v, err)))
		return rc;
	agents = json_object_get(root, "agents");
	if (agents) {
		if (!json_is_object(agents))
			return cfg_fail(err, "agents must be an object of profiles");
		cfg->profiles = calloc(json_object_size(agents) + 1, sizeof(rg_profile));
		if (!cfg->profiles)
			return RG_ERR_NOMEM;
		json_object_foreach(agents, key, v) {
			if (!*key || !strcmp(key, "*"))
				return cfg_fail(err, "agents: '%s' is not a profile name", key);
			rc = parse_profile(key, v, &cfg->profiles[cfg->n_profiles], err);
			cfg->n_profiles++;
			if (rc)
				return rc;
		}
	}
	rules = json_object_get(root, "rules");
	if (rules) {
		if (!json_is_array(rules))
			return cfg_fail(err, "rules must be an array");
		cfg->rules = calloc(json_array_size(rules) + 1, sizeof(rg_rule));
		if (!cfg->rules)
			return RG_ERR_NOMEM;
		json_array_foreach(rules, i, v) {
			rc = parse_rule(cfg, i, v, &cfg->rules[cfg->n_rules], err);
			cfg->n_rules++;
			if (rc)
				return rc;
		}
	}
	return RG_OK;
}

static rg_err apply_env(rg_config_t *cfg)
{
	const char *e;

	if ((e = getenv("LIVEKIT_URL")) && *e) {
		free(cfg->livekit.url);
		if (!(cfg->livekit.url = strdup(e)))
			return RG_ERR_NOMEM;
	}
	if ((e = getenv("LIVEKIT_API_KEY")) && *e) {
		free(cfg->livekit.api_key);
		if (!(cfg->livekit.api_key = strdup(e)))
			return RG_ERR_NOMEM;
	}
	if ((e = getenv("LIVEKIT_API_SECRET")) && *e) {
		rg_free_secret(cfg->livekit.api_secret);
		if (!(cfg->livekit.api_secret = strdup(e)))
			return RG_ERR_NOMEM;
	}
	return RG_OK;
}

static rg_config_t *config_alloc(void)
{
	rg_config_t *cfg = calloc(1, sizeof(*cfg));

	if (!cfg)
		return NULL;
	atomic_init(&cfg->refs, 1);
	cfg->listen = strdup("127.0.0.1:8080");
	cfg->room_prefix = strdup("room-");
	cfg->auth.session_ttl = 3600;
	cfg->default_ttl = 600;
	cfg->max_ttl = 3600;
	cfg->check_existing_rooms = true;
	cfg->access_log = true;
	cfg->max_connections = 64;
	cfg->request_timeout = 10;
	cfg->keep_alive_timeout = 15;
	if (!cfg->listen || !cfg->room_prefix) {
		rg_config_free(cfg);
		return NULL;
	}
	return cfg;
}

/* Checks that need the whole config (after env overrides). */
static rg_err finish(rg_config_t *cfg, rg_error *err)
{
	unsigned char raw[32];

	if (!cfg->livekit.url || !*cfg->livekit.url)
		return cfg_fail(err, "livekit.url is required (or LIVEKIT_URL)");
	if (strncmp(cfg->livekit.url, "ws://", 5) && strncmp(cfg->livekit.url, "wss://", 6) &&
	    strncmp(cfg->livekit.url, "http://", 7) && strncmp(cfg->livekit.url, "https://", 8))
		return cfg_fail(err, "livekit.url must start with ws://, wss://, http:// or https://");
	if (!rg_utf8_valid(cfg->livekit.url, strlen(cfg->livekit.url)))
		return cfg_fail(err, "livekit.url must be UTF-8 text");
	if (!cfg->livekit.api_key || !*cfg->livekit.api_key || !cfg->livekit.api_secret || !*cfg->livekit.api_secret)
		return cfg_fail(err, "livekit.api_key and livekit.api_secret are required "
				     "(or LIVEKIT_API_KEY / LIVEKIT_API_SECRET)");
	if (!cfg->auth.session_secret) {
		/* per-process: sessions do not survive a restart nor cross replicas */
		char *s;
		if (RAND_bytes(raw, sizeof(raw)) != 1)
			return RG_ERR_CRYPTO;
		s = rg_b64url_encode(raw, sizeof(raw));
		OPENSSL_cleanse(raw, sizeof(raw));
		if (!s)
			return RG_ERR_NOMEM;
		cfg->auth.session_secret = s;
	}
	if (!strcmp(cfg->auth.session_secret, cfg->livekit.api_secret))
		return cfg_fail(err, "session.secret must differ from the LiveKit API secret");
	if (!(cfg->livekit.signer = rg_signer_new(cfg->livekit.api_key, cfg->livekit.api_secret)) ||
	    !(cfg->auth.session_signer = rg_signer_new("roomgate", cfg->auth.session_secret)))
		return rg_fail(err, RG_ERR_CRYPTO, "crypto_error", "cannot set up HMAC-SHA256");
	return RG_OK;
}

rg_err rg_config_parse(const char *json, size_t len, const char *base_dir, rg_config_t **out,
		       rg_error *err)
{
	json_error_t jerr;
	json_t *root;
	rg_config_t *cfg;
	rg_err rc;

	*out = NULL;
	root = rg_json_load(json, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return cfg_fail(err, "config is not valid JSON: line %d: %s", jerr.line, jerr.text);
	if (!(cfg = config_alloc())) {
		json_decref(root);
		return rg_fail(err, RG_ERR_NOMEM, NULL, "out of memory");
	}
	rc = parse_root(cfg, root, base_dir, err);
	json_decref(root);
	if (rc == RG_ERR_NOMEM)
		rg_fail(err, rc, NULL, "out of memory");
	if (!rc && (rc = apply_env(cfg)) == RG_ERR_NOMEM)
		rg_fail(err, rc, NULL, "out of memory");
	if (!rc)
		rc = finish(cfg, err);
	if (rc) {
		rg_config_free(cfg);
		return rc;
	}
	*out = cfg;
	return RG_OK;
}

rg_err rg_config_load(const char *path, rg_config_t **out, rg_error *err)
{
	char *text = NULL, *copy = NULL;
	size_t len = 0;
	rg_err rc;

	*out = NULL;
	if ((rc = rg_read_file(path, CFG_MAX_FILE, &text, &len, err)))
		return cfg_fail(err, "%s", err ? err->message : "cannot read config");
	copy = strdup(path);
	if (!copy) {
		free(text);
		return rg_fail(err, RG_ERR_NOMEM, NULL, "out of memory");
	}
	rc = rg_config_parse(text, len, dirname(copy), out, err);
	free(copy);
	free(text);
	return rc;
}

static const char dev_config[] =
	"{\"listen\": \"127.0.0.1:8080\","
	" \"livekit\": {\"url\": \"ws://127.0.0.1:7880\", \"api_key\": \"devkey\","
	"  \"api_secret\": \"secret\"},"
	" \"cors\": {\"origins\": [\"http://localhost:*\", \"http://127.0.0.1:*\","
	"  \"http://[::1]:*\", \"http://localhost\", \"http://127.0.0.1\", \"http://[::1]\","
	"  \"https://localhost:*\", \"https://localhost\"]},"
	" \"agents\": {\"assistant\": {\"agent_name\": \"assistant\","
	"  \"description\": \"Demo assistant (dev mode)\","
	"  \"metadata\": {\"user_id\": \"{{user.id}}\", \"user_name\": \"{{user.name}}\","
	"   \"room\": \"{{room}}\"}, \"client_metadata\": \"*\"}},"
	" \"rules\": [{\"name\": \"dev\", \"rooms\": [\"*\"], \"session_rooms\": true,"
	"  \"agents\": [\"*\"]}]}";

rg_err rg_config_dev(const char *web_root, rg_config_t **out, rg_error *err)
{
	rg_config_t *cfg = NULL;
	rg_local_user *u;
	rg_err rc;

	*out = NULL;
	if ((rc = rg_config_parse(dev_config, sizeof(dev_config) - 1, NULL, &cfg, err)))
		return rc;
	cfg->dev = true;
	u = calloc(1, sizeof(*u));
	if (!u || !(u->name = strdup("demo")) || !(u->display = strdup("Demo User")) ||
	    !(u->groups = calloc(1, sizeof(char *))) || !(u->groups[0] = strdup("demo"))) {
		rc = rg_fail(err, RG_ERR_NOMEM, NULL, "out of memory");
		goto fail;
	}
	u->ngroups = 1;
	cfg->auth.users.v = u;
	cfg->auth.users.n = 1;
	u = NULL;
	if ((rc = rg_password_hash("demo", 0, &cfg->auth.users.v[0].hash))) {
		rg_fail(err, rc, NULL, "cannot hash the demo password");
		goto fail;
	}
	if (web_root && !(cfg->web_root = strdup(web_root))) {
		rc = rg_fail(err, RG_ERR_NOMEM, NULL, "out of memory");
		goto fail;
	}
	*out = cfg;
	return RG_OK;
fail:
	if (u) {
		if (u->groups)
			free(u->groups[0]);
		free(u->groups);
		free(u->name);
		free(u->display);
		free(u);
	}
	rg_config_free(cfg);
	return rc;
}

rg_config_t *rg_config_ref(rg_config_t *cfg)
{
	if (cfg)
		atomic_fetch_add(&cfg->refs, 1);
	return cfg;
}

void rg_config_free(rg_config_t *cfg)
{
	if (!cfg || atomic_fetch_sub(&cfg->refs, 1) != 1)
		return;
	free(cfg->listen);
	free(cfg->livekit.url);
	free(cfg->livekit.api_key);
	rg_free_secret(cfg->livekit.api_secret);
	rg_free_secret(cfg->auth.session_secret);
	rg_signer_free(cfg->livekit.signer);
	rg_signer_free(cfg->auth.session_signer);
	free(cfg->web_root);
	free(cfg->tls_cert);
	free(cfg->tls_key);
	free(cfg->room_prefix);
	free_strings(cfg->cors, cfg->n_cors);
	rg_users_clear(&cfg->auth.users);
	for (size_t i = 0; i < cfg->n_profiles; i++) {
		rg_profile *p = &cfg->profiles[i];
		free(p->key);
		free(p->agent_name);
		free(p->description);
		free(p->deployment);
		json_decref(p->metadata);
		json_decref(p->client_fields);
	}
	free(cfg->profiles);
	for (size_t i = 0; i < cfg->n_rules; i++) {
		rg_rule *r = &cfg->rules[i];
		free(r->name);
		free_strings(r->m_users, r->n_users);
		free_strings(r->m_groups, r->n_groups);
		free_strings(r->m_methods, r->n_methods);
		free_strings(r->rooms, r->n_rooms);
		free_strings(r->agents, r->n_agents);
		json_decref(r->grants);
	}
	free(cfg->rules);
	free(cfg->auth.upstream.issuer);
	free_strings(cfg->auth.upstream.audiences, cfg->auth.upstream.n_aud);
	rg_free_secret(cfg->auth.upstream.secret);
	rg_keys_clear(&cfg->auth.upstream.keys);
	rg_jwks_free(cfg->auth.upstream.jwks);
	free(cfg->auth.upstream.claim_id);
	free(cfg->auth.upstream.claim_name);
	free(cfg->auth.upstream.claim_groups);
	free(cfg->auth.proxy.user_header);
	free(cfg->auth.proxy.name_header);
	free(cfg->auth.proxy.groups_header);
	free(cfg->auth.proxy.trusted);
	free(cfg->trusted_proxies);
	for (size_t i = 0; i < cfg->auth.n_apikeys; i++) {
		free(cfg->auth.apikeys[i].name);
		free_strings(cfg->auth.apikeys[i].groups, cfg->auth.apikeys[i].ngroups);
	}
	free(cfg->auth.apikeys);
	free(cfg);
}

const rg_profile *rg_config_profile(const rg_config_t *cfg, const char *key)
{
	for (size_t i = 0; cfg && key && i < cfg->n_profiles; i++)
		if (!strcmp(cfg->profiles[i].key, key))
			return &cfg->profiles[i];
	return NULL;
}

const char *rg_config_listen(const rg_config_t *cfg)
{
	return cfg ? cfg->listen : NULL;
}

const char *rg_config_livekit_url(const rg_config_t *cfg)
{
	return cfg ? cfg->livekit.url : NULL;
}

const char *rg_config_web_root(const rg_config_t *cfg)
{
	return cfg ? cfg->web_root : NULL;
}

int rg_config_is_dev(const rg_config_t *cfg)
{
	return cfg && cfg->dev;
}

rg_err rg_config_set_listen(rg_config_t *cfg, const char *listen)
{
	char *s;

	if (!cfg || !listen || !*listen)
		return RG_ERR_INVALID;
	/* dev mode is loopback only: an explicit 127.x.x.x host, never a bare
	 * port (which civetweb binds on every interface) */
	if (cfg->dev && strncmp(listen, "127.", 4) && strncmp(listen, "localhost:", 10))
		return RG_ERR_INVALID;
	if (!(s = strdup(listen)))
		return RG_ERR_NOMEM;
	free(cfg->listen);
	cfg->listen = s;
	return RG_OK;
}
