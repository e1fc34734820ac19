/*
 * config_auth.c - the auth section of the config into an rg_auth_conf:
 * the local users file and session cookies (rg_cfg_parse_login), then the
 * site's own JWTs, a trusted auth proxy's headers and API keys
 * (rg_cfg_parse_auth). Key material is loaded here, so that a missing or
 * bad file is a config error and not a failed login later.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jwt.h>

#include "auth/apikey.h"
#include "auth/jwks.h"
#include "auth/oidc.h"
#include "auth/proxy.h"
#include "auth/upstream.h"
#include "auth/users.h"
#include "base/names.h"
#include "base/util.h"
#include "core/config_parse.h"
#include "livekit/jwt.h"

#define REFRESH_MAX 600 /* jwks_refresh: keys refetched at least this often */
#define REFRESH_MIN 10  /* jwks_refresh_min: and at most this often */
#define RS_ES_ALGS (((1u << (JWT_ALG_ES512 + 1)) - 1) & ~((1u << JWT_ALG_RS256) - 1))

/* upstream_jwt values only needed while parsing one entry. */
struct up_src {
	char where[32]; /* "upstream_jwt" or "upstream_jwt[i]" */
	char **algs, **pems, *file, *jwks_file, *jwks_url;
	size_t nalgs, npems;
	long refresh, refresh_min;
	bool need_secret, need_keys; /* some HS / RS-ES algorithm allowed */
};

static rg_err parse_users_file(rg_users *users, const json_t *root, const char *base_dir,
			       rg_error *err)
{
	char *path = NULL, *full;
	rg_error uerr;
	rg_err rc;

	if ((rc = rg_cfg_get_string(root, "users_file", "config", &path, err)) || !path)
		return rc;
	full = rg_path_resolve(base_dir, path);
	free(path);
	memset(&uerr, 0, sizeof(uerr));
	rc = full ? rg_users_load(full, users, &uerr) : RG_ERR_NOMEM;
	free(full);
	if (rc)
		return rg_cfg_fail(err, "users_file: %s", uerr.message);
	return RG_OK;
}

static rg_err parse_session(rg_auth_conf *auth, const json_t *v, const char *base_dir,
			    rg_error *err)
{
	static const char *const keys[] = {"secret", "secret_file", "ttl", NULL};
	char *file = NULL;
	rg_err rc;

	if ((rc = rg_cfg_only_keys(v, "session", keys, err)) ||
	    (rc = rg_cfg_get_string(v, "secret", "session", &auth->session_secret, err)) ||
	    (rc = rg_cfg_get_string(v, "secret_file", "session", &file, err)) ||
	    (rc = rg_cfg_get_duration(v, "ttl", "session", &auth->session_ttl, err))) {
		free(file);
		return rc;
	}
	if (file)
		rc = rg_cfg_read_secret(base_dir, file, &auth->session_secret, err);
	free(file);
	if (rc)
		return rc;
	if (auth->session_secret && strlen(auth->session_secret) < 32)
		return rg_cfg_fail(err, "session.secret must be at least 32 characters");
	return RG_OK;
}

rg_err rg_cfg_parse_login(rg_auth_conf *auth, const json_t *root, const char *base_dir,
			  rg_error *err)
{
	json_t *v;
	rg_err rc;

	if ((rc = parse_users_file(&auth->users, root, base_dir, err)))
		return rc;
	if ((v = json_object_get(root, "session")))
		return parse_session(auth, v, base_dir, err);
	return RG_OK;
}

static rg_err upstream_defaults(rg_upstream *up)
{
	up->leeway = RG_LEEWAY;
	if (!(up->claim_id = strdup("sub")) || !(up->claim_name = strdup("name")) ||
	    !(up->claim_groups = calloc(1, sizeof(char *))) ||
	    !(up->claim_groups[0] = strdup("groups")))
		return RG_ERR_NOMEM;
	up->n_claim_groups = 1;
	return RG_OK;
}

/* The keys, the plain strings and durations. */
static rg_err upstream_read(rg_upstream *up, const json_t *v, struct up_src *s, rg_error *err)
{
	static const char *const keys[] = {"issuer",   "audience",     "algorithms",
					   "secret",   "secret_file",  "public_keys",
					   "jwks_file", "jwks_url",    "jwks_refresh",
					   "jwks_refresh_min", "leeway", "claims", NULL};
	const char *W = s->where;
	json_t *l = json_object_get(v, "leeway");
	rg_err rc;

	if ((rc = rg_cfg_only_keys(v, W, keys, err)) ||
	    (rc = rg_cfg_get_string(v, "issuer", W, &up->issuer, err)) ||
	    (rc = rg_cfg_get_string(v, "secret", W, &up->secret, err)) ||
	    (rc = rg_cfg_get_string(v, "secret_file", W, &s->file, err)) ||
	    (rc = rg_cfg_get_string(v, "jwks_file", W, &s->jwks_file, err)) ||
	    (rc = rg_cfg_get_string(v, "jwks_url", W, &s->jwks_url, err)) ||
	    (rc = rg_cfg_get_duration(v, "jwks_refresh", W, &s->refresh, err)) ||
	    (rc = rg_cfg_get_duration(v, "jwks_refresh_min", W, &s->refresh_min, err)) ||
	    (rc = rg_cfg_get_strings(v, "algorithms", W, &s->algs, &s->nalgs, err)) ||
	    (rc = rg_cfg_get_strings(v, "public_keys", W, &s->pems, &s->npems, err)))
		return rc;
	if (json_is_integer(l) && json_integer_value(l) == 0)
		up->leeway = 0;
	else if (l)
		return rg_cfg_get_duration(v, "leeway", W, &up->leeway, err);
	return RG_OK;
}

/* claims.groups: one claim or a list of them, merged. */
static rg_err upstream_groups(rg_upstream *up, const json_t *claims, const char *where,
			      rg_error *err)
{
	const json_t *g = json_object_get(claims, "groups");
	char **list = NULL;
	size_t n = 0;
	rg_err rc;

	if (!g)
		return RG_OK;
	if (json_is_string(g)) {
		if (!(list = calloc(1, sizeof(char *))) || !(list[0] = strdup(json_string_value(g)))) {
			free(list);
			return RG_ERR_NOMEM;
		}
		n = 1;
	} else if ((rc = rg_cfg_get_strings(claims, "groups", where, &list, &n, err))) {
		rg_cfg_free_strings(list, n);
		return rc;
	}
	rg_cfg_free_strings(up->claim_groups, up->n_claim_groups);
	up->claim_groups = list;
	up->n_claim_groups = n;
	return RG_OK;
}

/* "audience": one string or a list; then the "claims" names. */
static rg_err upstream_audience(rg_upstream *up, const json_t *v, const char *where,
				rg_error *err)
{
	static const char *const claim_keys[] = {"identity", "name", "groups", NULL};
	json_t *aud = json_object_get(v, "audience"), *claims;
	char W[48];
	rg_err rc;

	snprintf(W, sizeof(W), "%s.claims", where);
	if (json_is_string(aud)) {
		up->audiences = calloc(1, sizeof(char *));
		if (!up->audiences || !(up->audiences[0] = strdup(json_string_value(aud))))
			return RG_ERR_NOMEM;
		up->n_aud = 1;
	} else if (aud && (rc = rg_cfg_get_strings(v, "audience", where, &up->audiences,
						   &up->n_aud, err))) {
		return rc;
	}
	if (!(claims = json_object_get(v, "claims")))
		return RG_OK;
	if ((rc = rg_cfg_only_keys(claims, W, claim_keys, err)) ||
	    (rc = rg_cfg_get_string(claims, "identity", W, &up->claim_id, err)) ||
	    (rc = rg_cfg_get_string(claims, "name", W, &up->claim_name, err)) ||
	    (rc = upstream_groups(up, claims, W, err)))
		return rc;
	return RG_OK;
}

/* Discovery gives the keys: an issuer and no key source at all. */
static bool discovers(const rg_upstream *up, const struct up_src *s)
{
	return up->issuer && !up->secret && !s->file && !s->npems && !s->jwks_file && !s->jwks_url;
}

/* "algorithms": each a real HS/RS/ES one (never "none"); required unless
 * discovery gives the keys (then every RS and ES one, cut down to those the
 * provider signs with). */
static rg_err upstream_algs(rg_upstream *up, struct up_src *s, rg_error *err)
{
	if (!s->nalgs && discovers(up, s)) {
		up->algs = RS_ES_ALGS;
		s->need_keys = true;
		return RG_OK;
	}
	if (!s->nalgs)
		return rg_cfg_fail(err, "%s.algorithms is required, e.g. [\"RS256\"] (it may be "
					"left out with an issuer and no key source: discovery)",
				   s->where);
	for (size_t i = 0; i < s->nalgs; i++) {
		jwt_alg_t a = jwt_str_alg(s->algs[i]);
		if (a == JWT_ALG_NONE || a == JWT_ALG_INVAL || strcmp(jwt_alg_str(a), s->algs[i]))
			return rg_cfg_fail(err, "%s.algorithms: '%s' is not one of "
						"HS256/384/512, RS256/384/512, ES256/384/512",
					   s->where, s->algs[i]);
		up->algs |= 1u << a;
		if (a <= JWT_ALG_HS512)
			s->need_secret = true;
		else
			s->need_keys = true;
	}
	return RG_OK;
}

/* The HS secret: present exactly when an HS algorithm is allowed. */
static rg_err upstream_secret(rg_upstream *up, const struct up_src *s, const char *base_dir,
			      rg_error *err)
{
	rg_err rc;

	if (s->file && (rc = rg_cfg_read_secret(base_dir, s->file, &up->secret, err)))
		return rc;
	if (s->need_secret && !up->secret)
		return rg_cfg_fail(err, "%s: HS algorithms need secret or secret_file (discovery "
					"gives public keys only)",
				   s->where);
	if (!s->need_secret && up->secret)
		return rg_cfg_fail(err, "%s: a secret is set but no HS algorithm is allowed",
				   s->where);
	return RG_OK;
}

/* The keys of a JWKS file, appended to up->keys. */
static rg_err upstream_jwks_file(rg_upstream *up, const struct up_src *s, const char *base_dir,
				 rg_error *err)
{
	char *path = rg_path_resolve(base_dir, s->jwks_file), *text = NULL;
	size_t len = 0;
	rg_keyset ks;
	rg_err rc;

	rc = path ? rg_read_file(path, 512 * 1024, &text, &len, err) : RG_ERR_NOMEM;
	free(path);
	if (!rc)
		rc = rg_keys_from_jwks(text, len, &ks, err);
	free(text);
	if (rc)
		return rg_cfg_fail(err, "%s.jwks_file: %s", s->where, err ? err->message : "invalid");
	if (ks.n) {
		/* room for all first: a key is either moved or still in ks */
		rg_key *nv = realloc(up->keys.v, (up->keys.n + ks.n) * sizeof(*nv));
		if (!nv) {
			rg_keys_clear(&ks);
			return RG_ERR_NOMEM;
		}
		up->keys.v = nv;
		for (size_t i = 0; i < ks.n; i++)
			up->keys.v[up->keys.n++] = ks.v[i];
	}
	free(ks.v);
	return RG_OK;
}

/* How often a remote key set is refetched: within [jwks_refresh_min,
 * jwks_refresh], as the provider's Cache-Control max-age says. */
static rg_err upstream_refresh(struct up_src *s, rg_error *err)
{
	if (s->refresh < 1)
		return rg_cfg_fail(err, "%s.jwks_refresh must be at least 1s", s->where);
	if (s->refresh_min < 0) /* not set: 10s, or jwks_refresh when that is shorter */
		s->refresh_min = s->refresh < REFRESH_MIN ? s->refresh : REFRESH_MIN;
	if (s->refresh_min < 1)
		return rg_cfg_fail(err, "%s.jwks_refresh_min must be at least 1s", s->where);
	if (s->refresh_min > s->refresh)
		return rg_cfg_fail(err, "%s.jwks_refresh_min (%lds) must not exceed jwks_refresh (%lds)",
				   s->where, s->refresh_min, s->refresh);
	return RG_OK;
}

/* A JWKS URL, or discovery from the issuer. */
static rg_err upstream_remote(rg_upstream *up, struct up_src *s, rg_error *err)
{
	rg_jwks_conf jc = {.url = s->jwks_url, .algs = up->algs & RS_ES_ALGS};
	rg_err rc;

	if (s->jwks_url && strncmp(s->jwks_url, "https://", 8) && strncmp(s->jwks_url, "http://", 7))
		return rg_cfg_fail(err, "%s.jwks_url must be an http(s) URL", s->where);
	if (!s->jwks_url && !(s->need_keys && discovers(up, s)))
		return RG_OK;
	if (!s->jwks_url && !rg_oidc_url_secure(up->issuer))
		return rg_cfg_fail(err, "%s.issuer: discovery reads %s/.well-known/openid-configuration, "
					"which must be https (http only to a loopback host: 127.0.0.1, "
					"[::1], localhost)",
				   s->where, up->issuer);
	if ((rc = upstream_refresh(s, err)))
		return rc;
	jc.issuer = s->jwks_url ? NULL : up->issuer;
	jc.refresh_min = s->refresh_min;
	jc.refresh_max = s->refresh;
	if (!(up->jwks = rg_jwks_new(&jc)))
		return RG_ERR_NOMEM;
	return RG_OK;
}

/* The RS/ES keys: PEM files, a JWKS file, a JWKS URL, or discovery. */
static rg_err upstream_keys(rg_upstream *up, struct up_src *s, const char *base_dir,
			    rg_error *err)
{
	rg_err rc;

	for (size_t i = 0; i < s->npems; i++) {
		char *path = rg_path_resolve(base_dir, s->pems[i]);
		rc = path ? rg_keys_from_pem_file(path, &up->keys, err) : RG_ERR_NOMEM;
		free(path);
		if (rc)
			return rc;
	}
	if (s->jwks_file && (rc = upstream_jwks_file(up, s, base_dir, err)))
		return rc;
	if ((rc = upstream_remote(up, s, err)))
		return rc;
	if (s->need_keys && !up->keys.n && !up->jwks)
		return rg_cfg_fail(err,
				   "%s: RS/ES algorithms need public_keys, jwks_file or jwks_url, or "
				   "an issuer alone to discover them from",
				   s->where);
	return RG_OK;
}

/* The steps in order; the first error stops them. */
static rg_err upstream_steps(rg_upstream *up, const json_t *v, struct up_src *s,
			     const char *base_dir, rg_error *err)
{
	rg_err rc;

	if ((rc = upstream_defaults(up)) || (rc = upstream_read(up, v, s, err)) ||
	    (rc = upstream_audience(up, v, s->where, err)) || (rc = upstream_algs(up, s, err)) ||
	    (rc = upstream_secret(up, s, base_dir, err)) || (rc = upstream_keys(up, s, base_dir, err)))
		return rc;
	return RG_OK;
}

static rg_err parse_upstream(rg_upstream *up, const json_t *v, const char *where,
			     const char *base_dir, rg_error *err)
{
	struct up_src s = {.refresh = REFRESH_MAX, .refresh_min = -1};
	rg_err rc;

	rg_copy(s.where, sizeof(s.where), where);
	if (!json_is_object(v))
		return rg_cfg_fail(err, "%s must be an object", where);
	rc = upstream_steps(up, v, &s, base_dir, err);
	rg_cfg_free_strings(s.algs, s.nalgs);
	rg_cfg_free_strings(s.pems, s.npems);
	rg_free_secret(s.file);
	free(s.jwks_file);
	free(s.jwks_url);
	return rc;
}

/* "upstream_jwt": one provider, or a list of them told apart by issuer. */
static rg_err parse_upstreams(rg_auth_conf *auth, const json_t *v, const char *base_dir,
			      rg_error *err)
{
	size_t n = json_is_array(v) ? json_array_size(v) : 1;
	char where[32];
	rg_err rc;

	if (json_is_array(v) && !n)
		return rg_cfg_fail(err, "upstream_jwt: an empty list (leave it out instead)");
	if (!(auth->upstream = calloc(n, sizeof(*auth->upstream))))
		return RG_ERR_NOMEM;
	auth->n_upstream = n;
	for (size_t i = 0; i < n; i++) {
		rg_upstream *up = &auth->upstream[i];
		if (json_is_array(v))
			snprintf(where, sizeof(where), "upstream_jwt[%zu]", i);
		else
			snprintf(where, sizeof(where), "upstream_jwt");
		if ((rc = parse_upstream(up, json_is_array(v) ? json_array_get(v, i) : v, where,
					 base_dir, err)))
			return rc;
		if (n > 1 && !up->issuer)
			return rg_cfg_fail(err, "%s.issuer is required: with several providers a "
						"token's iss picks its provider",
					   where);
		for (size_t k = 0; k < i; k++)
			if (n > 1 && !strcmp(auth->upstream[k].issuer, up->issuer))
				return rg_cfg_fail(err, "%s.issuer '%s' is upstream_jwt[%zu]'s too",
						   where, up->issuer, k);
	}
	return RG_OK;
}

static rg_err parse_proxy(rg_proxy_auth *pa, const json_t *v, rg_error *err)
{
	static const char *const keys[] = {"user_header", "name_header", "groups_header",
					   "trusted_sources", NULL};
	const char *W = "proxy_auth";
	rg_err rc;

	if ((rc = rg_cfg_only_keys(v, W, keys, err)) ||
	    (rc = rg_cfg_get_string(v, "user_header", W, &pa->user_header, err)) ||
	    (rc = rg_cfg_get_string(v, "name_header", W, &pa->name_header, err)) ||
	    (rc = rg_cfg_get_string(v, "groups_header", W, &pa->groups_header, err)) ||
	    (rc = rg_cfg_get_cidrs(v, "trusted_sources", W, &pa->trusted, &pa->n_trusted, err)))
		return rc;
	if (!pa->user_header || !*pa->user_header)
		return rg_cfg_fail(err, "proxy_auth.user_header is required, e.g. \"X-Forwarded-User\"");
	if (!pa->n_trusted)
		return rg_cfg_fail(err,
				   "proxy_auth.trusted_sources is required, e.g. [\"127.0.0.1/32\"]");
	return RG_OK;
}

/* "scopes": only act_as exists. */
static rg_err apikey_scopes(rg_apikey *a, char **scopes, size_t ns, const char *where,
			    rg_error *err)
{
	for (size_t j = 0; j < ns; j++) {
		if (strcmp(scopes[j], "act_as"))
			return rg_cfg_fail(err, "%s.scopes: unknown scope '%s' (act_as)", where,
					   scopes[j]);
		a->act_as = true;
	}
	return RG_OK;
}

/* One api_keys[i] entry into *a. */
static rg_err parse_apikey(rg_apikey *a, const json_t *k, size_t i, rg_error *err)
{
	static const char *const keys[] = {"name", "hash", "scopes", "groups", NULL};
	char where[48], *hash = NULL, **scopes = NULL;
	size_t ns = 0;
	rg_err rc;

	snprintf(where, sizeof(where), "api_keys[%zu]", i);
	if ((rc = rg_cfg_only_keys(k, where, keys, err)) ||
	    (rc = rg_cfg_get_string(k, "name", where, &a->name, err)) ||
	    (rc = rg_cfg_get_string(k, "hash", where, &hash, err)) ||
	    (rc = rg_cfg_get_strings(k, "groups", where, &a->groups, &a->ngroups, err)) ||
	    (rc = rg_cfg_get_strings(k, "scopes", where, &scopes, &ns, err)))
		goto out;
	if (!a->name)
		rc = rg_cfg_fail(err, "%s.name is required", where);
	else if (rg_identity_problem(a->name))
		rc = rg_cfg_fail(err, "%s.name %s (it is the key's identity): %s", where,
				 rg_identity_problem(a->name), RG_IDENTITY_RULE);
	else if (rg_apikey_parse_hash(hash, a->hash))
		rc = rg_cfg_fail(err, "%s.hash must be \"sha256:<64 hex>\" (roomgate apikey create)",
				 where);
	else
		rc = apikey_scopes(a, scopes, ns, where, err);
out:
	free(hash);
	rg_cfg_free_strings(scopes, ns);
	return rc;
}

static rg_err parse_apikeys(rg_auth_conf *auth, const json_t *v, rg_error *err)
{
	json_t *k;
	size_t i;
	rg_err rc;

	if (!json_is_array(v))
		return rg_cfg_fail(err, "api_keys must be an array");
	if (!(auth->apikeys = calloc(json_array_size(v) + 1, sizeof(rg_apikey))))
		return RG_ERR_NOMEM;
	json_array_foreach(v, i, k) {
		if ((rc = parse_apikey(&auth->apikeys[auth->n_apikeys++], k, i, err)))
			return rc;
	}
	return RG_OK;
}

rg_err rg_cfg_parse_auth(rg_auth_conf *auth, const json_t *root, const char *base_dir,
			 rg_error *err)
{
	json_t *v;
	rg_err rc;

	if ((v = json_object_get(root, "upstream_jwt")) &&
	    (rc = parse_upstreams(auth, v, base_dir, err)))
		return rc;
	if ((v = json_object_get(root, "proxy_auth")) && (rc = parse_proxy(&auth->proxy, v, err)))
		return rc;
	if ((v = json_object_get(root, "api_keys")) && (rc = parse_apikeys(auth, v, err)))
		return rc;
	return RG_OK;
}
