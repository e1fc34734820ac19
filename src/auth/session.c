/*
 * session.c - roomgate's own short-lived bearer tokens (/v1/login).
 *
 * Exchanging a password once for a session token spares later requests the
 * PBKDF2 cost. Session tokens are HS256 JWTs signed with the session secret,
 * never with the LiveKit secret, and carry typ "roomgate-session" plus
 * iss/aud checks so that no LiveKit token can pass for one (nor the reverse:
 * they have no video grant).
 *
 * A session token names its user (sub) but not the user's rights: each use
 * reads the current users record (the config the request runs under), so a
 * group removed, a user deleted or a new password takes effect at once.
 * Claims: iss, aud, typ, sub, iat, nbf, exp, and
 *   jti  128 random bits (base64url): the id POST /v1/logout ends (revoked.c)
 *   pws  the password stamp: the session secret's HMAC-SHA256 of the stored
 *        password hash, 9 bytes base64url; a new password, a new stamp
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "auth/conf.h"
#include "auth/revoked.h"
#include "auth/session.h"
#include "auth/users.h"
#include "base/error.h"
#include "base/util.h"
#include "livekit/jwt.h"
#include "livekit/sign.h"

#define SESSION_ISS "roomgate"
#define SESSION_AUD "roomgate-session"

#define STAMP_BYTES 9 /* 12 characters of base64url */
#define JTI_BYTES 16   /* 22 characters */
#define JTI_LEN 22

/* The stamp of a stored password hash into out (16 bytes); false on error. */
static bool stamp_of(const char *secret, const char *hash, char out[16])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char *b64;

	if (!HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)hash,
		  strlen(hash), md, &mdlen) ||
	    !(b64 = rg_b64url_encode(md, STAMP_BYTES)))
		return false;
	snprintf(out, 16, "%s", b64);
	free(b64);
	return true;
}

rg_err rg_session_stamp_users(rg_auth_conf *a)
{
	for (size_t i = 0; i < a->users.n; i++)
		if (!stamp_of(a->session_secret, a->users.v[i].hash, a->users.v[i].stamp))
			return RG_ERR_CRYPTO;
	return RG_OK;
}

/* Does a token's stamp match the user's stored password hash? */
static bool stamp_ok(const rg_auth_conf *a, const rg_local_user *lu, const char *pws)
{
	char fresh[16];
	const char *want = lu->stamp;

	/* users not stamped by the config loader (tests, embedders): the slow way */
	if (!*want) {
		if (!stamp_of(a->session_secret, lu->hash, fresh))
			return false;
		want = fresh;
	}
	return pws && strlen(pws) == strlen(want) && !CRYPTO_memcmp(pws, want, strlen(want));
}

rg_err rg_session_issue(const rg_auth_conf *a, const rg_user_t *user, char **token,
			long *expires_in, rg_error *err)
{
	const rg_local_user *lu = rg_users_find(&a->users, user->id);
	time_t now = rg_now();
	unsigned char raw[JTI_BYTES];
	char stamp[16], *jti = NULL;
	json_t *payload = NULL;
	rg_err rc;

	*token = NULL;
	if (!lu)
		return rg_fail(err, RG_ERR_UNAUTHENTICATED, "invalid_credentials",
			       "session tokens are for local users only");
	if (!stamp_of(a->session_secret, lu->hash, stamp) || RAND_bytes(raw, sizeof(raw)) != 1)
		return rg_fail(err, RG_ERR_CRYPTO, "crypto_error", "cannot make the session token");
	if (!(jti = rg_b64url_encode(raw, sizeof(raw))) ||
	    !(payload = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:I}", "iss", SESSION_ISS, "aud",
				  SESSION_AUD, "typ", "roomgate-session", "sub", lu->name, "jti",
				  jti, "pws", stamp, "iat", (json_int_t)now))) {
		rc = rg_fail(err, RG_ERR_NOMEM, NULL, "out of memory");
		goto out;
	}
	rc = rg_signer_sign_json(a->session_signer, payload, false, now, now + a->session_ttl,
				 token)
		     ? rg_fail(err, RG_ERR_CRYPTO, "crypto_error", "cannot sign the session token")
		     : RG_OK;
	if (!rc && expires_in)
		*expires_in = a->session_ttl;
out:
	free(jti);
	json_decref(payload);
	return rc;
}

/*
 * Verified session tokens, cached. A client presents the same session token
 * on every request until it expires; checking its signature and parsing its
 * claims again (HMAC, base64, jansson) was about a seventh of a /token
 * request's CPU time (tests/bench). A slot keeps a token whose signature and
 * claims passed, with its parsed claims; a later request with the very same
 * bytes (compared in constant time) from the same signer (by serial number,
 * so a new session secret after a reload never matches) reuses the claims,
 * which then go through every other check as on the first use: exp/nbf, not
 * ended, the user still existing, the password stamp. The cache spares the
 * signature, never a check of the user's rights. Any other token (forged,
 * tampered) misses, takes the full path and leaves the slot alone.
 */
#define CACHE_SLOTS 256
#define CACHE_MAX_TOKEN 2048

static struct cache_slot {
	pthread_mutex_t mu;
	unsigned long serial; /* 0: empty */
	char *token;
	size_t len;
	json_t *claims; /* read-only once stored (jansson's refcounts are atomic) */
} cache[CACHE_SLOTS];
static pthread_once_t cache_once = PTHREAD_ONCE_INIT;

static void cache_init(void)
{
	for (size_t i = 0; i < CACHE_SLOTS; i++)
		pthread_mutex_init(&cache[i].mu, NULL);
}

/* The slot of a token: FNV-1a of its signature (random for any token we
 * signed). */
static struct cache_slot *slot_of(const char *token, size_t len)
{
	size_t from = len > 16 ? len - 16 : 0;
	uint32_t h = 2166136261u;

	for (size_t i = from; i < len; i++)
		h = (h ^ (unsigned char)token[i]) * 16777619u;
	pthread_once(&cache_once, cache_init);
	return &cache[h % CACHE_SLOTS];
}

/* The claims of this exact token, verified before with signer s (a new
 * reference), or NULL. */
static json_t *cache_get(const rg_signer_t *s, const char *token, size_t len)
{
	struct cache_slot *c = slot_of(token, len);
	json_t *claims = NULL;

	pthread_mutex_lock(&c->mu);
	if (c->serial && c->serial == rg_signer_serial(s) && c->len == len &&
	    !CRYPTO_memcmp(c->token, token, len))
		claims = json_incref(c->claims);
	pthread_mutex_unlock(&c->mu);
	return claims;
}

static void cache_put(const rg_signer_t *s, const char *token, size_t len, json_t *claims)
{
	struct cache_slot *c = slot_of(token, len);
	char *copy;

	if (len > CACHE_MAX_TOKEN || !(copy = malloc(len)))
		return;
	memcpy(copy, token, len);
	pthread_mutex_lock(&c->mu);
	free(c->token);
	json_decref(c->claims);
	c->token = copy;
	c->len = len;
	c->claims = json_incref(claims);
	c->serial = rg_signer_serial(s);
	pthread_mutex_unlock(&c->mu);
}

/* A session token's claims (a new reference) and its user's current record,
 * after every check: signature (or the cache), times, claims, not ended, the
 * user still there with the same password. */
static rg_err check(const rg_auth_conf *a, const char *token, time_t now, json_t **claims,
		    const rg_local_user **user, rg_error *err)
{
	size_t len = token ? strlen(token) : 0;
	json_t *p = token ? cache_get(a->session_signer, token, len) : NULL;
	bool cached = p != NULL;
	const char *sub, *jti, *iss, *aud, *typ;
	const rg_local_user *lu;
	rg_err rc;

	/* cached: the signature and parse are done, the times are this request's */
	rc = cached ? rg_jwt_check_times(p, now, err)
		    : rg_signer_verify(a->session_signer, token, now, &p, err);
	if (rc)
		goto out;
	sub = rg_json_str(p, "sub");
	jti = rg_json_str(p, "jti");
	iss = rg_json_str(p, "iss");
	aud = rg_json_str(p, "aud");
	typ = rg_json_str(p, "typ");
	if (!sub || !*sub || !iss || strcmp(iss, SESSION_ISS) || !aud || strcmp(aud, SESSION_AUD) ||
	    !typ || strcmp(typ, "roomgate-session")) {
		rc = rg_fail(err, RG_ERR_UNAUTHENTICATED, "invalid_credentials",
			     "not a roomgate session token");
		goto out;
	}
	if (!jti || strlen(jti) != JTI_LEN || !rg_json_str(p, "pws")) {
		rc = rg_fail(err, RG_ERR_UNAUTHENTICATED, "invalid_credentials",
			     "a session token from an older roomgate: sign in again");
		goto out;
	}
	if (!cached)
		cache_put(a->session_signer, token, len, p);
	if (rg_revoked_has(jti, now)) {
		rc = rg_fail(err, RG_ERR_UNAUTHENTICATED, "invalid_credentials",
			     "the session has ended (signed out): sign in again");
		goto out;
	}
	/* a user removed from the users file loses access at once */
	if (!(lu = rg_users_find(&a->users, sub))) {
		rc = rg_fail(err, RG_ERR_UNAUTHENTICATED, "invalid_credentials", "user no longer exists");
		goto out;
	}
	if (!stamp_ok(a, lu, rg_json_str(p, "pws"))) {
		rc = rg_fail(err, RG_ERR_UNAUTHENTICATED, "invalid_credentials",
			     "the password has changed since this session began: sign in again");
		goto out;
	}
	*user = lu;
	*claims = p;
	p = NULL;
out:
	json_decref(p);
	return rc;
}

rg_err rg_session_verify(const rg_auth_conf *a, const char *token, rg_user_t *user,
			 rg_error *err)
{
	return rg_session_verify_at(a, token, rg_now(), user, err);
}

rg_err rg_session_verify_at(const rg_auth_conf *a, const char *token, time_t now,
			    rg_user_t *user, rg_error *err)
{
	const rg_local_user *lu = NULL;
	json_t *claims = NULL;
	rg_err rc;

	if ((rc = check(a, token, now, &claims, &lu, err)))
		return rc;
	/* who the user is now, not when the token was made */
	if (rg_user_set(user, lu->name, lu->display, lu->groups, lu->ngroups, "session"))
		rc = rg_fail(err, RG_ERR_NOMEM, NULL, "out of memory");
	json_decref(claims);
	return rc;
}

rg_err rg_session_end(const rg_auth_conf *a, const char *token, long *retry_after,
		      rg_error *err)
{
	return rg_session_end_at(a, token, rg_now(), retry_after, err);
}

rg_err rg_session_end_at(const rg_auth_conf *a, const char *token, time_t now,
			 long *retry_after, rg_error *err)
{
	const rg_local_user *lu = NULL;
	json_t *claims = NULL;
	json_t *exp;
	rg_err rc;

	*retry_after = 0;
	if ((rc = check(a, token, now, &claims, &lu, err)))
		return rc;
	exp = json_object_get(claims, "exp");
	/* kept while the token's own exp check would still pass */
	rc = rg_revoked_add(rg_json_str(claims, "jti"),
			    (time_t)(json_is_integer(exp) ? json_integer_value(exp) : now) + RG_LEEWAY,
			    now, retry_after);
	if (rc == RG_ERR_UNAVAILABLE)
		rg_fail(err, rc, "unavailable",
			"too many sessions ended in the last session TTL; try again in %ld seconds",
			*retry_after);
	else if (rc)
		rg_fail(err, rc, NULL, "cannot end the session");
	json_decref(claims);
	return rc;
}
