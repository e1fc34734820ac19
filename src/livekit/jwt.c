/*
 * jwt.c - the checks every JWT that roomgate reads goes through: the two
 * JSON parts decode (nested at most RG_MAX_JSON_DEPTH), no critical header
 * extension (crit, b64), exp/nbf with RG_LEEWAY, HS256 verification with a
 * plain secret (libjwt) for tokens from elsewhere (`token inspect`), and
 * the HS/RS/ES signature check of upstream JWTs (OpenSSL EVP).
 * Below both sign.c and token.c.
 */
#include <jwt.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

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

/* SHA-256/384/512 by the alg's size. */
static const char *alg_digest(jwt_alg_t alg)
{
	static const char *const names[] = {"SHA256", "SHA384", "SHA512"};

	return names[(alg - JWT_ALG_HS256) % 3];
}

static bool hmac_ok(const unsigned char *in, size_t inlen, const unsigned char *sig,
		    size_t siglen, jwt_alg_t alg, const char *key, size_t keylen)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	size_t maclen = 0;

	if (!EVP_Q_mac(NULL, "HMAC", NULL, alg_digest(alg), NULL, key, keylen, in, inlen, mac,
		       sizeof(mac), &maclen))
		return false;
	return maclen == siglen && !CRYPTO_memcmp(mac, sig, siglen);
}

/* A JOSE ECDSA signature (r||s, each n bytes) as DER; NULL if malformed. */
static unsigned char *ecdsa_der(const unsigned char *sig, size_t siglen, size_t n, int *derlen)
{
	ECDSA_SIG *es = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(sig, (int)n, NULL), *s = BN_bin2bn(sig + n, (int)n, NULL);
	unsigned char *der = NULL;

	*derlen = 0;
	if (siglen != 2 * n || !es || !r || !s || !ECDSA_SIG_set0(es, r, s)) {
		BN_free(r);
		BN_free(s);
		ECDSA_SIG_free(es);
		return NULL;
	}
	*derlen = i2d_ECDSA_SIG(es, &der);
	ECDSA_SIG_free(es);
	return *derlen > 0 ? der : NULL;
}

static bool pubkey_ok(const unsigned char *in, size_t inlen, const unsigned char *sig,
		      size_t siglen, jwt_alg_t alg, const char *pem, size_t pemlen)
{
	static const int curve_bits[] = {256, 384, 521};
	BIO *bio = BIO_new_mem_buf(pem, (int)pemlen);
	EVP_PKEY *pk = bio ? PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL) : NULL;
	EVP_MD_CTX *ctx = NULL;
	unsigned char *der = NULL;
	int derlen = 0;
	bool ec = alg >= JWT_ALG_ES256, ok = false;

	if (!pk || EVP_PKEY_get_base_id(pk) != (ec ? EVP_PKEY_EC : EVP_PKEY_RSA))
		goto out;
	if (ec) {
		int bits = curve_bits[alg - JWT_ALG_ES256];
		if (EVP_PKEY_get_bits(pk) != bits ||
		    !(der = ecdsa_der(sig, siglen, (size_t)(bits + 7) / 8, &derlen)))
			goto out;
	}
	ok = (ctx = EVP_MD_CTX_new()) &&
	     EVP_DigestVerifyInit_ex(ctx, NULL, alg_digest(alg), NULL, NULL, pk, NULL) == 1 &&
	     EVP_DigestVerify(ctx, ec ? der : sig, ec ? (size_t)derlen : siglen, in, inlen) == 1;
out:
	OPENSSL_free(der);
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(pk);
	BIO_free(bio);
	return ok;
}

bool rg_jwt_signature_ok(const char *token, jwt_alg_t alg, const char *key, size_t keylen)
{
	const char *d1 = strchr(token, '.'), *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
	unsigned char *sig;
	size_t siglen = 0;
	bool ok = false;

	if (!d2 || !key || alg < JWT_ALG_HS256 || alg > JWT_ALG_ES512)
		return false;
	if (!(sig = rg_b64_decode(d2 + 1, strlen(d2 + 1), &siglen)) || !siglen) {
		free(sig);
		return false;
	}
	if (alg <= JWT_ALG_HS512)
		ok = hmac_ok((const unsigned char *)token, (size_t)(d2 - token), sig, siglen, alg, key,
			     keylen);
	else
		ok = pubkey_ok((const unsigned char *)token, (size_t)(d2 - token), sig, siglen, alg,
			       key, keylen);
	free(sig);
	return ok;
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
