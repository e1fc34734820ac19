/*
 * jwt.c - the checks every JWT that roomgate reads goes through: the two
 * JSON parts decode (nested at most RG_MAX_JSON_DEPTH), no critical header
 * extension (crit, b64), exp/nbf with RG_LEEWAY, and HS256 verification
 * with a plain secret (libjwt) for tokens from elsewhere (`token inspect`).
 * Below both sign.c and token.c.
 */
#include <jwt.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/util.h"
#include "livekit/jwt.h"

json_t *rg_jwt_decode_part(const char *s, size_t n)
{
	size_t len;
	unsigned char *raw = rg_b64_decode(s, n, &len);
	json_t *v;

	if (!raw)
		return NULL;
	v = rg_json_load((const char *)raw, len, 0, NULL);
	free(raw);
	return v;
}

bool rg_jwt_parts_ok(const char *jwt)
{
	const char *d1 = strchr(jwt, '.'), *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
	json_t *h, *p;
	bool ok;

	if (!d2)
		return false;
	h = rg_jwt_decode_part(jwt, (size_t)(d1 - jwt));
	p = rg_jwt_decode_part(d1 + 1, (size_t)(d2 - d1 - 1));
	ok = json_is_object(h) && json_is_object(p);
	json_decref(h);
	json_decref(p);
	return ok;
}

const char *rg_jwt_header_refused(const json_t *header)
{
	if (json_object_get(header, "crit"))
		return "token header lists critical extensions (crit) that roomgate does not understand";
	if (json_object_get(header, "b64"))
		return "token header has b64 (unencoded payload), which roomgate does not accept";
	return NULL;
}

rg_err rg_jwt_check_times(const json_t *payload, time_t now, rg_error *err)
{
	json_t *exp = json_object_get(payload, "exp"), *nbf = json_object_get(payload, "nbf");

	if (!json_is_integer(exp))
		return rg_fail(err, RG_ERR_UNAUTHENTICATED, "invalid_credentials", "token has no exp");
	if ((time_t)json_integer_value(exp) < now - RG_LEEWAY)
		return rg_fail(err, RG_ERR_UNAUTHENTICATED, "invalid_credentials", "token has expired");
	if (nbf && !json_is_integer(nbf))
		return rg_fail(err, RG_ERR_UNAUTHENTICATED, "invalid_credentials", "nbf is not a number");
	if (nbf && (time_t)json_integer_value(nbf) > now + RG_LEEWAY)
		return rg_fail(err, RG_ERR_UNAUTHENTICATED, "invalid_credentials", "token is not yet valid");
	return RG_OK;
}

rg_err rg_jwt_verify_hs256(const char *token, const char *secret, time_t now, json_t **payload,
			   rg_error *err)
{
	jwt_t *jwt = NULL;
	char *grants = NULL;
	json_t *p = NULL, *head;
	const char *why;
	rg_err rc = RG_OK;

	*payload = NULL;
	if (!token || !secret || !*secret || strlen(token) > 16384 || !rg_jwt_parts_ok(token))
		return rg_fail(err, RG_ERR_UNAUTHENTICATED, "invalid_credentials",
			       "malformed bearer token (not a JWT)");
	/* libjwt 1.x verifies with the alg named in the token's header; we
	 * only accept HS256 and check that the header said so. */
	head = rg_jwt_decode_part(token, strcspn(token, "."));
	why = rg_jwt_header_refused(head);
	json_decref(head);
	if (why)
		return rg_fail(err, RG_ERR_UNAUTHENTICATED, "invalid_credentials", "%s", why);
	if (jwt_decode(&jwt, token, (const unsigned char *)secret, (int)strlen(secret)) || !jwt ||
	    jwt_get_alg(jwt) != JWT_ALG_HS256) {
		rc = rg_fail(err, RG_ERR_UNAUTHENTICATED, "invalid_credentials",
			     "token signature is invalid");
		goto out;
	}
	grants = jwt_get_grants_json(jwt, NULL);
	p = grants ? json_loads(grants, 0, NULL) : NULL;
	if (!json_is_object(p)) {
		rc = rg_fail(err, RG_ERR_UNAUTHENTICATED, "invalid_credentials", "token payload is invalid");
		goto out;
	}
	if ((rc = rg_jwt_check_times(p, now ? now : rg_now(), err)))
		goto out;
	*payload = p;
	p = NULL;
out:
	json_decref(p);
	free(grants);
	jwt_free(jwt);
	return rc;
}
