/*
 * sign.c - HS256 JWTs on the hot path.
 *
 * libjwt 1.x keys a new HMAC, re-parses the payload JSON and re-dumps it with
 * sorted keys for every token. A signer instead holds an OpenSSL EVP_MAC
 * context keyed once (HMAC-SHA256) that each thread copies once and then
 * re-initialises, so the key schedule is never redone, and the payload is
 * written once (jsonw.c) straight into the buffer that is signed.
 * Base64url comes from OpenSSL's EVP encoder. Verification of roomgate's
 * own session tokens uses the same context and compares in constant time;
 * the header must be exactly the one roomgate writes, so no other alg can
 * ever be accepted.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "base/error.h"
#include "base/jsonw.h"
#include "base/util.h"
#include "livekit/jwt.h"
#include "livekit/sign.h"

#define HEADER_JSON "{\"alg\":\"HS256\",\"typ\":\"JWT\"}"
#define SIG_B64_LEN 43 /* 32 bytes, base64url without padding */

struct rg_signer {
	EVP_MAC_CTX *mac; /* keyed template; each thread works on a copy */
	unsigned long serial;
	char *iss_json;   /* the API key as a JSON string, for "iss" */
	char header[64];  /* base64url(HEADER_JSON) */
	size_t header_len;
};

static atomic_ulong next_serial = 1;

rg_signer_t *rg_signer_new(const char *api_key, const char *api_secret)
{
	rg_signer_t *s;
	EVP_MAC *hmac = NULL;
	OSSL_PARAM params[2];
	char *h;
	json_t *iss;

	if (!api_secret || !*api_secret || !(s = calloc(1, sizeof(*s))))
		return NULL;
	s->serial = atomic_fetch_add(&next_serial, 1);
	hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	s->mac = hmac ? EVP_MAC_CTX_new(hmac) : NULL;
	EVP_MAC_free(hmac);
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	if (!s->mac ||
	    EVP_MAC_init(s->mac, (const unsigned char *)api_secret, strlen(api_secret), params) != 1)
		goto fail;
	iss = json_string(api_key ? api_key : "");
	s->iss_json = iss ? json_dumps(iss, JSON_ENCODE_ANY) : NULL;
	json_decref(iss);
	h = rg_b64url_encode((const unsigned char *)HEADER_JSON, strlen(HEADER_JSON));
	if (!s->iss_json || !h)
		goto fail;
	snprintf(s->header, sizeof(s->header), "%s", h);
	s->header_len = strlen(s->header);
	free(h);
	return s;
fail:
	rg_signer_free(s);
	return NULL;
}

unsigned long rg_signer_serial(const rg_signer_t *s)
{
	return s ? s->serial : 0;
}

void rg_signer_free(rg_signer_t *s)
{
	if (!s)
		return;
	EVP_MAC_CTX_free(s->mac);
	free(s->iss_json);
	free(s);
}

/*
 * Each thread keeps a copy of the last signer's keyed context and
 * re-initialises it per signature (EVP_MAC_init without a key keeps the
 * key), which saves a context duplication per token. The copy is matched by
 * the signer's serial number, never its address, so a signer freed and
 * another allocated in its place (config reload) cannot reuse the old key;
 * a thread's copy is freed when the thread exits.
 */
struct mac_cache {
	unsigned long serial;
	EVP_MAC_CTX *ctx;
};

static pthread_key_t cache_key;
static pthread_once_t cache_once = PTHREAD_ONCE_INIT;
static bool cache_ok;

static void cache_free(void *p)
{
	struct mac_cache *c = p;

	EVP_MAC_CTX_free(c->ctx);
	free(c);
}

static void cache_init(void)
{
	cache_ok = pthread_key_create(&cache_key, cache_free) == 0;
}

static EVP_MAC_CTX *thread_ctx(const rg_signer_t *s)
{
	struct mac_cache *c;

	pthread_once(&cache_once, cache_init);
	if (!cache_ok)
		return NULL;
	c = pthread_getspecific(cache_key);
	if (!c) {
		if (!(c = calloc(1, sizeof(*c))))
			return NULL;
		if (pthread_setspecific(cache_key, c)) {
			free(c);
			return NULL;
		}
	}
	if (c->ctx && c->serial == s->serial)
		return EVP_MAC_init(c->ctx, NULL, 0, NULL) == 1 ? c->ctx : NULL;
	EVP_MAC_CTX_free(c->ctx);
	c->ctx = EVP_MAC_CTX_dup(s->mac);
	c->serial = s->serial;
	return c->ctx;
}

/* HMAC-SHA256 of data with the signer's key. */
static bool mac(const rg_signer_t *s, const char *data, size_t n, unsigned char out[32])
{
	EVP_MAC_CTX *ctx = thread_ctx(s);
	size_t len = 0;

	return ctx && EVP_MAC_update(ctx, (const unsigned char *)data, n) == 1 &&
	       EVP_MAC_final(ctx, out, &len, 32) == 1 && len == 32;
}

/* Appends base64url(in) at out (no padding); returns the length written. */
static size_t b64url_into(char *out, const unsigned char *in, size_t n)
{
	int len = EVP_EncodeBlock((unsigned char *)out, in, (int)n);

	while (len > 0 && out[len - 1] == '=')
		len--;
	for (int i = 0; i < len; i++) {
		if (out[i] == '+')
			out[i] = '-';
		else if (out[i] == '/')
			out[i] = '_';
	}
	out[len] = '\0';
	return (size_t)len;
}

rg_err rg_signer_sign(const rg_signer_t *s, const char *payload, size_t n, char **jwt)
{
	size_t cap = s->header_len + 1 + 4 * ((n + 2) / 3) + 1 + SIG_B64_LEN + 2, at;
	unsigned char sig[32];
	char *out = malloc(cap);

	*jwt = NULL;
	if (!out)
		return RG_ERR_NOMEM;
	memcpy(out, s->header, s->header_len);
	at = s->header_len;
	out[at++] = '.';
	at += b64url_into(out + at, (const unsigned char *)payload, n);
	if (!mac(s, out, at, sig)) {
		free(out);
		return RG_ERR_CRYPTO;
	}
	out[at++] = '.';
	b64url_into(out + at, sig, sizeof(sig));
	*jwt = out;
	return RG_OK;
}

rg_err rg_signer_sign_json(const rg_signer_t *s, const json_t *claims, bool with_iss, time_t nbf,
			   time_t exp, char **jwt)
{
	rg_jbuf b;
	char text[2048];
	rg_err rc = RG_ERR_NOMEM;

	*jwt = NULL;
	rg_jbuf_on(&b, text, sizeof(text)); /* the heap only for large claims */
	/* the claims' members, then iss/nbf/exp, into one buffer */
	if (!json_is_object(claims) || !rg_jbuf_put(&b, "{", 1) || !rg_jbuf_members(&b, claims))
		goto out;
	if (b.len > 1 && !rg_jbuf_put(&b, ",", 1))
		goto out;
	if (with_iss && (!rg_jbuf_put(&b, "\"iss\":", 6) ||
			 !rg_jbuf_put(&b, s->iss_json, strlen(s->iss_json)) || !rg_jbuf_put(&b, ",", 1)))
		goto out;
	if (!rg_jbuf_put(&b, "\"nbf\":", 6) || !rg_jbuf_int(&b, (long long)nbf) ||
	    !rg_jbuf_put(&b, ",\"exp\":", 7) || !rg_jbuf_int(&b, (long long)exp) ||
	    !rg_jbuf_put(&b, "}", 1))
		goto out;
	rc = rg_signer_sign(s, b.data, b.len, jwt);
out:
	rg_jbuf_done(&b);
	return rc;
}

rg_err rg_signer_verify(const rg_signer_t *s, const char *jwt, time_t now, json_t **payload,
			rg_error *err)
{
	const char *d1, *d2;
	unsigned char sig[32], *given = NULL, *raw = NULL;
	size_t glen = 0, rlen = 0;
	json_t *p = NULL;
	rg_err rc = RG_OK;

	*payload = NULL;
	if (!jwt || strlen(jwt) > 16384 || !(d1 = strchr(jwt, '.')) || !(d2 = strchr(d1 + 1, '.')) ||
	    strchr(d2 + 1, '.'))
		return rg_fail(err, RG_ERR_UNAUTHENTICATED, "invalid_credentials",
			       "malformed bearer token (not a JWT)");
	/* only the exact header roomgate writes: HS256, nothing else */
	if ((size_t)(d1 - jwt) != s->header_len || memcmp(jwt, s->header, s->header_len))
		return rg_fail(err, RG_ERR_UNAUTHENTICATED, "invalid_credentials",
			       "token signature is invalid");
	given = rg_b64_decode(d2 + 1, strlen(d2 + 1), &glen);
	if (!given || glen != 32 || !mac(s, jwt, (size_t)(d2 - jwt), sig) ||
	    CRYPTO_memcmp(sig, given, 32)) {
		rc = rg_fail(err, RG_ERR_UNAUTHENTICATED, "invalid_credentials",
			     "token signature is invalid");
		goto out;
	}
	raw = rg_b64_decode(d1 + 1, (size_t)(d2 - d1 - 1), &rlen);
	p = raw ? rg_json_load((char *)raw, rlen, 0, NULL) : NULL;
	if (!json_is_object(p)) {
		rc = rg_fail(err, RG_ERR_UNAUTHENTICATED, "invalid_credentials", "token payload is invalid");
		goto out;
	}
	if ((rc = rg_jwt_check_times(p, now, err)))
		goto out;
	*payload = p;
	p = NULL;
out:
	free(given);
	free(raw);
	json_decref(p);
	return rc;
}
