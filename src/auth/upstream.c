/*
 * upstream.c - bearer JWTs from the web stack the user already has (an
 * OIDC IdP or the app's own sessions).
 *
 * The algorithm comes from configuration, never from the token: the header's
 * alg must be one of the configured ones, and it picks the key family (HMAC
 * secret, RSA or EC public keys) before libjwt runs, so an HS256 token can
 * never be checked with an RSA public key as its HMAC secret (libjwt 1.x
 * would do that), and alg "none" is always refused. Then exp/nbf with
 * leeway, iss and aud, and the configured claims give id, name and groups.
 */
#include <jwt.h>
#include <stdlib.h>
#include <string.h>

#include "auth/jwks.h"
#include "auth/upstream.h"
#include "base/error.h"
#include "base/names.h"
#include "base/util.h"
#include "livekit/jwt.h"
#include "livekit/token.h"

static rg_err bad_token(rg_error *err, const char *msg, const char *arg)
{
	if (arg)
		return rg_fail(err, RG_ERR_UNAUTHENTICATED, "invalid_credentials", "%s '%s'", msg, arg);
	return rg_fail(err, RG_ERR_UNAUTHENTICATED, "invalid_credentials", "%s", msg);
}

/* A dotted claim path ("realm_access.roles") in the payload. */
static json_t *claim_path(json_t *p, const char *path)
{
	char buf[256], *save = NULL, *part;

	if (!path || strlen(path) >= sizeof(buf))
		return NULL;
	snprintf(buf, sizeof(buf), "%s", path);
	for (part = strtok_r(buf, ".", &save); part && p; part = strtok_r(NULL, ".", &save))
		p = json_object_get(p, part);
	return p;
}

static bool aud_ok(const rg_upstream *up, json_t *aud)
{
	size_t i;
	json_t *a;

	if (!up->n_aud)
		return true;
	for (size_t k = 0; k < up->n_aud; k++) {
		if (json_is_string(aud) && !strcmp(json_string_value(aud), up->audiences[k]))
			return true;
		json_array_foreach(aud, i, a) {
			if (json_is_string(a) && !strcmp(json_string_value(a), up->audiences[k]))
				return true;
		}
	}
	return false;
}

/* Tries one key; returns the verified jwt or NULL. */
static jwt_t *try_key(const char *token, const char *key, size_t len, jwt_alg_t alg)
{
	jwt_t *jwt = NULL;

	if (!key || jwt_decode(&jwt, token, (const unsigned char *)key, (int)len) || !jwt)
		return NULL;
	if (jwt_get_alg(jwt) != alg) {
		jwt_free(jwt);
		return NULL;
	}
	return jwt;
}

static jwt_t *verify_sig(const rg_upstream *up, const char *token, jwt_alg_t alg, char family,
			 const char *kid)
{
	jwt_t *jwt = NULL;

	if (family == 'H')
		return up->secret ? try_key(token, up->secret, strlen(up->secret), alg) : NULL;
	for (size_t i = 0; !jwt && i < up->keys.n; i++) {
		const rg_key *k = &up->keys.v[i];
		if (k->family != family || (kid && k->kid && strcmp(k->kid, kid)))
			continue;
		jwt = try_key(token, k->pem, strlen(k->pem), alg);
	}
	for (size_t nth = 0; !jwt && up->jwks && nth < 16; nth++) {
		char *pem = rg_jwks_find(up->jwks, kid, family, nth);
		if (!pem)
			break;
		jwt = try_key(token, pem, strlen(pem), alg);
		free(pem);
	}
	return jwt;
}

rg_err rg_upstream_verify(const rg_upstream *up, const char *token, rg_user_t *user,
			  rg_error *err)
{
	const char *dot, *alg_s, *kid, *why;
	unsigned char *raw = NULL;
	size_t n = 0;
	json_t *head = NULL, *p = NULL, *v, *g;
	jwt_t *jwt = NULL;
	char *grants = NULL, idbuf[64];
	const char *id, *name;
	char **groups = NULL;
	size_t ngroups = 0, i;
	jwt_alg_t alg;
	char family;
	time_t now = rg_now();
	rg_err rc = RG_OK;

	if (strlen(token) > 16384 || !(dot = strchr(token, '.')) || !rg_jwt_parts_ok(token))
		return bad_token(err, "malformed bearer token", NULL);
	raw = rg_b64_decode(token, (size_t)(dot - token), &n);
	head = raw ? rg_json_load((char *)raw, n, 0, NULL) : NULL;
	free(raw);
	if ((why = rg_jwt_header_refused(head))) {
		rc = bad_token(err, why, NULL);
		goto out;
	}
	alg_s = rg_json_str(head, "alg");
	kid = rg_json_str(head, "kid");
	if (!alg_s) {
		rc = bad_token(err, "malformed bearer token", NULL);
		goto out;
	}
	alg = jwt_str_alg(alg_s);
	if (alg == JWT_ALG_NONE || alg == JWT_ALG_INVAL || !(up->algs & (1u << alg))) {
		rc = bad_token(err, "token algorithm not allowed:", alg_s);
		goto out;
	}
	family = alg <= JWT_ALG_HS512 ? 'H' : alg <= JWT_ALG_RS512 ? 'R' : 'E';
	if (!(jwt = verify_sig(up, token, alg, family, kid))) {
		rc = bad_token(err, "token signature does not verify", NULL);
		goto out;
	}
	grants = jwt_get_grants_json(jwt, NULL);
	p = grants ? json_loads(grants, 0, NULL) : NULL;
	if (!json_is_object(p)) {
		rc = bad_token(err, "token payload is not a JSON object", NULL);
		goto out;
	}
	v = json_object_get(p, "exp");
	if (!json_is_number(v)) {
		rc = bad_token(err, "token has no exp", NULL);
		goto out;
	}
	/* compared as doubles: exp/nbf may be any JSON number, and a cast of a
	 * huge one to time_t (or adding the leeway to it) would be undefined */
	if (json_number_value(v) + (double)up->leeway < (double)now) {
		rc = bad_token(err, "token has expired", NULL);
		goto out;
	}
	v = json_object_get(p, "nbf");
	if (v && (!json_is_number(v) || json_number_value(v) > (double)now + (double)up->leeway)) {
		rc = bad_token(err, "token is not valid yet", NULL);
		goto out;
	}
	if (up->issuer && (!rg_json_str(p, "iss") || strcmp(rg_json_str(p, "iss"), up->issuer))) {
		rc = bad_token(err, "token issuer is not", up->issuer);
		goto out;
	}
	if (!aud_ok(up, json_object_get(p, "aud"))) {
		rc = bad_token(err, "token audience is not", up->audiences[0]);
		goto out;
	}
	v = claim_path(p, up->claim_id);
	if (json_is_integer(v)) {
		snprintf(idbuf, sizeof(idbuf), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		id = idbuf;
	} else {
		id = json_string_value(v);
	}
	if (!id || !*id) {
		rc = bad_token(err, "token has no identity claim", up->claim_id);
		goto out;
	}
	if (rg_identity_problem(id)) {
		rc = rg_fail(err, RG_ERR_UNAUTHENTICATED, "invalid_credentials",
			     "token identity claim '%s' %s: %s", up->claim_id, rg_identity_problem(id),
			     RG_IDENTITY_RULE);
		goto out;
	}
	name = json_string_value(claim_path(p, up->claim_name));
	v = claim_path(p, up->claim_groups);
	groups = calloc(json_is_array(v) ? json_array_size(v) + 1 : 2, sizeof(char *));
	if (!groups) {
		rc = rg_fail(err, RG_ERR_NOMEM, NULL, "out of memory");
		goto out;
	}
	if (json_is_string(v))
		groups[ngroups++] = (char *)json_string_value(v);
	json_array_foreach(v, i, g) {
		if (json_is_string(g))
			groups[ngroups++] = (char *)json_string_value(g);
	}
	if (rg_user_set(user, id, name && *name ? name : id, groups, ngroups, "jwt"))
		rc = rg_fail(err, RG_ERR_NOMEM, NULL, "out of memory");
out:
	free(groups);
	free(grants);
	json_decref(p);
	json_decref(head);
	jwt_free(jwt);
	return rc;
}

bool rg_upstream_claims_token(const char *token)
{
	/* roomgate's own session tokens say so in their payload */
	const char *d1 = strchr(token, '.'), *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
	unsigned char *raw;
	size_t n;
	json_t *p;
	bool session;

	if (!d2)
		return true;
	raw = rg_b64_decode(d1 + 1, (size_t)(d2 - d1 - 1), &n);
	p = raw ? rg_json_load((char *)raw, n, 0, NULL) : NULL;
	free(raw);
	session = rg_json_str(p, "typ") && !strcmp(rg_json_str(p, "typ"), "roomgate-session");
	json_decref(p);
	return !session;
}
