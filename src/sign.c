/*
 * sign.c - HS256 JWTs on the hot path.
 *
 * libjwt 1.x keys a new HMAC, re-parses the payload JSON and re-dumps it with
 * sorted keys for every token. A signer instead holds an OpenSSL EVP_MAC
 * context keyed once (HMAC-SHA256); each signature duplicates it, so the key
 * schedule is never redone, and the payload is dumped once by jansson.
 * Base64url comes from OpenSSL's EVP encoder. Verification of roomgate's
 * own session tokens uses the same context and compares in constant time;
 * the header must be exactly the one roomgate writes, so no other alg can
 * ever be accepted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "internal.h"

#define HEADER_JSON "{\"alg\":\"HS256\",\"typ\":\"JWT\"}"
#define SIG_B64_LEN 43 /* 32 bytes, base64url without padding */

struct rg_signer {
	EVP_MAC_CTX *mac; /* keyed template; duplicated per use */
	char *iss_json;   /* the API key as a JSON string, for "iss" */
	char header[64];  /* base64url(HEADER_JSON) */
	size_t header_len;
};

rg_signer_t *rg_signer_new(const char *api_key, const char *api_secret)
{
	rg_signer_t *s;
	EVP_MAC *hmac = NULL;
	OSSL_PARAM params[2];
	char *h;
	json_t *iss;

	if (!api_secret || !*api_secret || !(s = calloc(1, sizeof(*s))))
		return NULL;
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

void rg_signer_free(rg_signer_t *s)
{
	if (!s)
		return;
	EVP_MAC_CTX_free(s->mac);
	free(s->iss_json);
	free(s);
}

/* HMAC-SHA256 of data with the signer's key. */
static bool mac(const rg_signer_t *s, const char *data, size_t n, unsigned char out[32])
{
	EVP_MAC_CTX *ctx = EVP_MAC_CTX_dup(s->mac);
	size_t len = 0;
	bool ok;

	ok = ctx && EVP_MAC_update(ctx, (const unsigned char *)data, n) == 1 &&
	     EVP_MAC_final(ctx, out, &len, 32) == 1 && len == 32;
	EVP_MAC_CTX_free(ctx);
	return ok;
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
	char *body = json_dumps(claims, JSON_COMPACT | JSON_PRESERVE_ORDER), *full;
	size_t blen, cap;
	int n;
	rg_err rc;

	*jwt = NULL;
	if (!body || (blen = strlen(body)) < 2)
		goto nomem;
	/* splice iss/nbf/exp into the dumped object instead of copying it */
	cap = blen + strlen(s->iss_json) + 80;
	if (!(full = malloc(cap)))
		goto nomem;
	memcpy(full, body, blen - 1);
	n = (int)(blen - 1);
	if (blen > 2)
		full[n++] = ',';
	if (with_iss) {
		size_t il = strlen(s->iss_json);
		memcpy(full + n, "\"iss\":", 6);
		memcpy(full + n + 6, s->iss_json, il);
		n += (int)(6 + il);
		full[n++] = ',';
	}
	n += snprintf(full + n, cap - (size_t)n, "\"nbf\":%lld,\"exp\":%lld}", (long long)nbf,
		      (long long)exp);
	free(body);
	rc = rg_signer_sign(s, full, (size_t)n, jwt);
	free(full);
	return rc;
nomem:
	free(body);
	return RG_ERR_NOMEM;
}

rg_err rg_signer_verify(const rg_signer_t *s, const char *jwt, time_t now, json_t **payload,
			rg_error *err)
{
	const char *d1, *d2;
	unsigned char sig[32], *given = NULL, *raw = NULL;
	size_t glen = 0, rlen = 0;
	json_t *p = NULL, *exp, *nbf;
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
	exp = json_object_get(p, "exp");
	nbf = json_object_get(p, "nbf");
	if (!json_is_integer(exp) || (time_t)json_integer_value(exp) + RG_LEEWAY < now) {
		rc = rg_fail(err, RG_ERR_UNAUTHENTICATED, "invalid_credentials",
			     json_is_integer(exp) ? "token has expired" : "token has no exp");
		goto out;
	}
	if (nbf && (!json_is_integer(nbf) || (time_t)json_integer_value(nbf) > now + RG_LEEWAY)) {
		rc = rg_fail(err, RG_ERR_UNAUTHENTICATED, "invalid_credentials", "token is not yet valid");
		goto out;
	}
	*payload = p;
	p = NULL;
out:
	free(given);
	free(raw);
	json_decref(p);
	return rc;
}
