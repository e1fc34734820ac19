/*
 * webhook.c - verifies a LiveKit webhook: the JWT in Authorization (the
 * same checks as every JWT roomgate reads, in jwt.c), its issuer, then the
 * body's hash against the `sha256` claim. Only then is the body parsed:
 * nothing in it is trusted beyond what the signature covers.
 */
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "base/error.h"
#include "base/util.h"
#include "livekit/jwt.h"
#include "livekit/webhook.h"

static rg_err refuse(rg_error *err, const char *why)
{
	return rg_fail(err, RG_ERR_UNAUTHENTICATED, "invalid_webhook", "webhook refused: %s", why);
}

/* The token's issuer, read before the signature is checked only to pick
 * the key (the signature check then covers it). */
static bool issuer_is(const char *jwt, const char *api_key)
{
	const char *dot = strchr(jwt, '.'), *end;
	json_t *p;
	bool ok;

	if (!dot || !(end = strchr(dot + 1, '.')))
		return false;
	p = rg_jwt_decode_part(dot + 1, (size_t)(end - dot - 1));
	ok = rg_json_str(p, "iss") && !strcmp(rg_json_str(p, "iss"), api_key);
	json_decref(p);
	return ok;
}

static bool body_hash_ok(const json_t *claims, const char *body, size_t len)
{
	unsigned char digest[SHA256_DIGEST_LENGTH];
	const char *claimed = rg_json_str(claims, "sha256");
	char *mine;
	bool ok;

	if (!claimed)
		return false;
	SHA256((const unsigned char *)body, len, digest);
	if (!(mine = rg_b64_encode(digest, sizeof(digest))))
		return false;
	ok = strlen(claimed) == strlen(mine) && !CRYPTO_memcmp(claimed, mine, strlen(mine));
	free(mine);
	return ok;
}

rg_err rg_webhook_verify(const char *authorization, const char *body, size_t len,
			 const char *api_key, const char *api_secret, time_t now, json_t **event,
			 rg_error *err)
{
	json_t *claims = NULL, *ev = NULL;
	rg_error why = {0};
	rg_err rc = RG_OK;

	*event = NULL;
	if (!authorization || !*authorization)
		return refuse(err, "no Authorization header");
	if (!strncmp(authorization, "Bearer ", 7))
		authorization += 7;
	if (!issuer_is(authorization, api_key))
		return refuse(err, "not signed with roomgate's LiveKit API key");
	if (rg_jwt_verify_hs256(authorization, api_secret, now, &claims, &why))
		return refuse(err, why.message);
	if (!body_hash_ok(claims, body ? body : "", len)) {
		rc = refuse(err, "the body's SHA-256 does not match the signed one");
		goto out;
	}
	ev = rg_json_load(body ? body : "", len, 0, NULL);
	if (!json_is_object(ev) || !rg_json_str(ev, "event") || !rg_json_str(ev, "id")) {
		rc = rg_fail(err, RG_ERR_INVALID, "invalid_webhook",
			     "the webhook body is not a LiveKit event (no event or id)");
		goto out;
	}
	*event = ev;
	ev = NULL;
out:
	json_decref(ev);
	json_decref(claims);
	return rc;
}
