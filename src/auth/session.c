/*
 * session.c - roomgate's own short-lived bearer tokens (/v1/login).
 *
 * Exchanging a password once for a session token spares later requests the
 * PBKDF2 cost. Session tokens are HS256 JWTs signed with the session secret,
 * never with the LiveKit secret, and carry typ "roomgate-session" plus
 * iss/aud checks so that no LiveKit token can pass for one (nor the reverse:
 * they have no video grant).
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "auth/conf.h"
#include "auth/session.h"
#include "auth/users.h"
#include "base/error.h"
#include "base/util.h"
#include "livekit/jwt.h"
#include "livekit/sign.h"

#define SESSION_ISS "roomgate"
#define SESSION_AUD "roomgate-session"

rg_err rg_session_issue(const rg_auth_conf *a, const rg_user_t *user, char **token,
			long *expires_in, rg_error *err)
{
	time_t now = rg_now();
	json_t *groups = json_array(), *payload;
	rg_err rc;

	*token = NULL;
	for (size_t i = 0; groups && i < user->ngroups; i++)
		json_array_append_new(groups, json_string(user->groups[i]));
	payload = json_pack("{s:s,s:s,s:s,s:s,s:s,s:o,s:I}", "iss", SESSION_ISS, "aud",
			    SESSION_AUD, "typ", "roomgate-session", "sub", user->id, "name",
			    user->name, "groups", groups, "iat", (json_int_t)now);
	if (!payload)
		return rg_fail(err, RG_ERR_NOMEM, NULL, "out of memory");
	rc = rg_signer_sign_json(a->session_signer, payload, false, now, now + a->session_ttl,
				 token)
		     ? rg_fail(err, RG_ERR_CRYPTO, "crypto_error", "cannot sign the session token")
		     : RG_OK;
	json_decref(payload);
	if (!rc && expires_in)
		*expires_in = a->session_ttl;
	return rc;
}

/*
 * Verified session tokens, cached. A client presents the same session token
 * on every request until it expires; checking its signature and parsing its
 * claims again (HMAC, base64, jansson) was about a seventh of a /token
 * request's CPU time (tests/bench). A slot keeps a token that passed every
 * check with its parsed claims; a later request with the very same bytes
 * (compared in constant time) from the same signer (by serial number, so a
 * new session secret after a reload never matches) reuses the claims, which
 * then go through every other check as on the first use: exp/nbf, the
 * claims, the user still existing. Only tokens that passed are stored; any
 * other token (forged, tampered) misses, takes the full path and leaves the
 * slot alone.
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

rg_err rg_session_verify(const rg_auth_conf *a, const char *token, rg_user_t *user,
			 rg_error *err)
{
	return rg_session_verify_at(a, token, rg_now(), user, err);
}

rg_err rg_session_verify_at(const rg_auth_conf *a, const char *token, time_t now,
			    rg_user_t *user, rg_error *err)
{
	size_t ng = 0, i, len = token ? strlen(token) : 0;
	json_t *p = token ? cache_get(a->session_signer, token, len) : NULL, *groups, *g;
	bool cached = p != NULL;
	const char *sub, *name;
	char **gv = NULL;
	rg_err rc;

	/* cached: the signature and parse are done, the times are this request's */
	rc = cached ? rg_jwt_check_times(p, now, err)
		    : rg_signer_verify(a->session_signer, token, now, &p, err);
	if (rc)
		goto out;
	sub = rg_json_str(p, "sub");
	name = rg_json_str(p, "name");
	groups = json_object_get(p, "groups");
	if (!sub || !*sub || strcmp(rg_json_str(p, "iss") ? rg_json_str(p, "iss") : "", SESSION_ISS) ||
	    strcmp(rg_json_str(p, "aud") ? rg_json_str(p, "aud") : "", SESSION_AUD) ||
	    strcmp(rg_json_str(p, "typ") ? rg_json_str(p, "typ") : "", "roomgate-session") ||
	    (groups && !json_is_array(groups))) {
		rc = rg_fail(err, RG_ERR_UNAUTHENTICATED, "invalid_credentials", "not a roomgate session token");
		goto out;
	}
	/* a user removed from the users file loses access at once */
	if (!rg_users_find(&a->users, sub)) {
		rc = rg_fail(err, RG_ERR_UNAUTHENTICATED, "invalid_credentials", "user no longer exists");
		goto out;
	}
	gv = calloc(json_array_size(groups) + 1, sizeof(*gv));
	if (!gv) {
		rc = rg_fail(err, RG_ERR_NOMEM, NULL, "out of memory");
		goto out;
	}
	json_array_foreach(groups, i, g) {
		if (json_is_string(g))
			gv[ng++] = (char *)json_string_value(g);
	}
	if (rg_user_set(user, sub, name ? name : sub, gv, ng, "session")) {
		rc = rg_fail(err, RG_ERR_NOMEM, NULL, "out of memory");
		goto out;
	}
	if (!cached)
		cache_put(a->session_signer, token, len, p);
out:
	free(gv);
	json_decref(p);
	return rc;
}
