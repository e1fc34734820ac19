/*
 * upstream.c - bearer JWTs from the web stack the user already has (OIDC
 * identity providers or the app's own sessions).
 *
 * The token's iss picks the one provider whose keys may verify it: a token
 * is never tried against every provider's keys, so two providers publishing
 * the same kid cannot stand in for each other. The algorithm comes from
 * configuration (cut down by discovery), never from the token: the header's
 * alg must be one of the allowed ones, and it picks the key family (HMAC
 * secret, RSA or EC public keys) before libjwt runs, so an HS256 token can
 * never be checked with an RSA public key as its HMAC secret (libjwt 1.x
 * would do that), and alg "none" is always refused. Then exp/nbf with
 * leeway, iss and aud, and the configured claims give id, name and groups.
 */
#include <jwt.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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

/* `path` (len bytes) in obj: the whole of it as a key, else a key that is
 * a prefix ending at a dot and the rest inside its value. `budget` bounds
 * the work a path with many dots could cost against a crafted payload. */
static json_t *claim_at(json_t *obj, const char *path, size_t len, int *budget)
{
	json_t *v;

	if (!json_is_object(obj) || --*budget < 0)
		return NULL;
	if ((v = json_object_getn(obj, path, len)))
		return v;
	for (size_t i = len; i-- > 1;) {
		if (path[i] != '.' || !(v = json_object_getn(obj, path, i)))
			continue;
		if ((v = claim_at(v, path + i + 1, len - i - 1, budget)))
			return v;
	}
	return NULL;
}

json_t *rg_upstream_claim(json_t *payload, const char *path)
{
	int budget = 64;

	return path && *path ? claim_at(payload, path, strlen(path), &budget) : NULL;
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

/* The key family's keys, configured ones first, then the provider's key
 * set; RG_ERR_UNAVAILABLE when only a key set could verify it and its keys
 * have not arrived. */
static rg_err verify_sig(const rg_upstream *up, const char *token, jwt_alg_t alg, char family,
			 const char *kid, bool *ok, rg_error *err)
{
	rg_keyset ks;
	unsigned algs = 0;
	rg_err rc;

	*ok = false;
	if (family == 'H') {
		*ok = up->secret && rg_jwt_signature_ok(token, alg, up->secret, strlen(up->secret));
		return RG_OK;
	}
	for (size_t i = 0; !*ok && i < up->keys.n; i++) {
		const rg_key *k = &up->keys.v[i];
		if (k->family != family || (kid && k->kid && strcmp(k->kid, kid)))
			continue;
		*ok = rg_jwt_signature_ok(token, alg, k->pem, strlen(k->pem));
	}
	if (*ok || !up->jwks)
		return RG_OK;
	if ((rc = rg_jwks_get(up->jwks, kid, family, &ks, &algs, err)))
		return rc;
	if (!(algs & (1u << alg))) {
		rg_keys_clear(&ks);
		return bad_token(err, "token algorithm not allowed by the provider:", jwt_alg_str(alg));
	}
	/* a bound on the keys tried for a token without a kid */
	for (size_t i = 0; !*ok && i < ks.n && i < 16; i++)
		*ok = rg_jwt_signature_ok(token, alg, ks.v[i].pem, strlen(ks.v[i].pem));
	rg_keys_clear(&ks);
	return RG_OK;
}

/* The provider for a token whose (unverified) payload names `iss`: the one
 * with that issuer, or the only one when it has none. */
static const rg_upstream *pick(const rg_upstream *ups, size_t n, const char *iss, rg_error *err)
{
	if (n == 1 && !ups[0].issuer)
		return &ups[0];
	for (size_t i = 0; iss && i < n; i++)
		if (ups[i].issuer && !strcmp(ups[i].issuer, iss))
			return &ups[i];
	if (n == 1)
		bad_token(err, "token issuer is not", ups[0].issuer);
	else
		bad_token(err, "token issuer is not one of the configured issuers", NULL);
	return NULL;
}

/* Groups from every configured claim, in order. */
static char **groups_of(const rg_upstream *up, json_t *p, size_t *n)
{
	size_t cap = 1, i;
	char **groups;
	json_t *v, *g;

	*n = 0;
	for (size_t c = 0; c < up->n_claim_groups; c++) {
		v = rg_upstream_claim(p, up->claim_groups[c]);
		cap += json_is_array(v) ? json_array_size(v) : 1;
	}
	if (!(groups = calloc(cap, sizeof(char *))))
		return NULL;
	for (size_t c = 0; c < up->n_claim_groups; c++) {
		v = rg_upstream_claim(p, up->claim_groups[c]);
		if (json_is_string(v))
			groups[(*n)++] = (char *)json_string_value(v);
		json_array_foreach(v, i, g) {
			if (json_is_string(g))
				groups[(*n)++] = (char *)json_string_value(g);
		}
	}
	return groups;
}

/* The checks after the signature: times, iss, aud. */
static rg_err check_claims(const rg_upstream *up, json_t *p, rg_error *err)
{
	json_t *v = json_object_get(p, "exp");
	time_t now = rg_now();

	if (!json_is_number(v))
		return bad_token(err, "token has no exp", NULL);
	/* compared as doubles: exp/nbf may be any JSON number, and a cast of a
	 * huge one to time_t (or adding the leeway to it) would be undefined */
	if (json_number_value(v) + (double)up->leeway < (double)now)
		return bad_token(err, "token has expired", NULL);
	v = json_object_get(p, "nbf");
	if (v && (!json_is_number(v) || json_number_value(v) > (double)now + (double)up->leeway))
		return bad_token(err, "token is not valid yet", NULL);
	if (up->issuer && (!rg_json_str(p, "iss") || strcmp(rg_json_str(p, "iss"), up->issuer)))
		return bad_token(err, "token issuer is not", up->issuer);
	if (!aud_ok(up, json_object_get(p, "aud")))
		return bad_token(err, "token audience is not", up->audiences[0]);
	return RG_OK;
}

/* The configured claims give the user's id, name and groups. */
static rg_err fill_user(const rg_upstream *up, json_t *p, rg_user_t *user, rg_error *err)
{
	json_t *v = rg_upstream_claim(p, up->claim_id);
	char idbuf[64], **groups;
	const char *id, *name;
	size_t ngroups;
	rg_err rc = RG_OK;

	if (json_is_integer(v)) {
		snprintf(idbuf, sizeof(idbuf), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		id = idbuf;
	} else {
		id = json_string_value(v);
	}
	if (!id || !*id)
		return bad_token(err, "token has no identity claim", up->claim_id);
	if (rg_identity_problem(id))
		return rg_fail(err, RG_ERR_UNAUTHENTICATED, "invalid_credentials",
			       "token identity claim '%s' %s: %s", up->claim_id,
			       rg_identity_problem(id), RG_IDENTITY_RULE);
	name = json_string_value(rg_upstream_claim(p, up->claim_name));
	if (!(groups = groups_of(up, p, &ngroups)))
		return rg_fail(err, RG_ERR_NOMEM, NULL, "out of memory");
	if (rg_user_set(user, id, name && *name ? name : id, groups, ngroups, "jwt"))
		rc = rg_fail(err, RG_ERR_NOMEM, NULL, "out of memory");
	free(groups);
	return rc;
}

/* typ: absent, JWT, or an RFC 9068 access token (at+jwt, as certified
 * OpenID providers issue them); media types are case-insensitive and may
 * drop "application/" (RFC 7515 4.1.9). */
static bool typ_ok(const json_t *typ)
{
	const char *t = json_string_value(typ);

	if (!typ)
		return true;
	if (!t)
		return false;
	if (!strncasecmp(t, "application/", 12))
		t += 12;
	return !strcasecmp(t, "JWT") || !strcasecmp(t, "at+jwt");
}

/* The header's alg (and kid) and the payload's iss, before any signature
 * check: which provider, which algorithm. */
static rg_err read_parts(const char *token, json_t **head, json_t **body, rg_error *err)
{
	const char *d1 = strchr(token, '.'), *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
	const char *why;

	if (strlen(token) > 16384 || !d2 || !rg_jwt_parts_ok(token))
		return bad_token(err, "malformed bearer token", NULL);
	*head = rg_jwt_decode_part(token, (size_t)(d1 - token));
	*body = rg_jwt_decode_part(d1 + 1, (size_t)(d2 - d1 - 1));
	if ((why = rg_jwt_header_refused(*head)))
		return bad_token(err, why, NULL);
	if (!rg_json_str(*head, "alg") || !json_is_object(*body))
		return bad_token(err, "malformed bearer token", NULL);
	if (!typ_ok(json_object_get(*head, "typ")))
		return bad_token(err, "token type (typ) is not JWT or at+jwt:",
				 json_is_string(json_object_get(*head, "typ")) ? rg_json_str(*head, "typ")
									   : "(not a string)");
	return RG_OK;
}

rg_err rg_upstream_verify(const rg_upstream *ups, size_t n, const char *token, rg_user_t *user,
			  rg_error *err)
{
	json_t *head = NULL, *body = NULL;
	const rg_upstream *up;
	const char *alg_s;
	jwt_alg_t alg;
	bool ok;
	rg_err rc;

	if ((rc = read_parts(token, &head, &body, err)))
		goto out;
	if (!(up = pick(ups, n, rg_json_str(body, "iss"), err))) {
		rc = RG_ERR_UNAUTHENTICATED;
		goto out;
	}
	alg_s = rg_json_str(head, "alg");
	alg = jwt_str_alg(alg_s);
	if (alg == JWT_ALG_NONE || alg == JWT_ALG_INVAL || !(up->algs & (1u << alg))) {
		rc = bad_token(err, "token algorithm not allowed:", alg_s);
		goto out;
	}
	if ((rc = verify_sig(up, token, alg,
			     alg <= JWT_ALG_HS512 ? 'H' : alg <= JWT_ALG_RS512 ? 'R' : 'E',
			     rg_json_str(head, "kid"), &ok, err)))
		goto out;
	if (!ok) /* the payload read above is the one that was signed */
		rc = bad_token(err, "token signature does not verify", NULL);
	else if (!(rc = check_claims(up, body, err)))
		rc = fill_user(up, body, user, err);
out:
	json_decref(body);
	json_decref(head);
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

void rg_upstream_clear(rg_upstream *up)
{
	free(up->issuer);
	for (size_t i = 0; i < up->n_aud; i++)
		free(up->audiences[i]);
	free(up->audiences);
	rg_free_secret(up->secret);
	rg_keys_clear(&up->keys);
	rg_jwks_free(up->jwks);
	free(up->claim_id);
	free(up->claim_name);
	for (size_t i = 0; i < up->n_claim_groups; i++)
		free(up->claim_groups[i]);
	free(up->claim_groups);
	memset(up, 0, sizeof(*up));
}
