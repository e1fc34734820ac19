/*
 * jwks.c - public keys for upstream JWTs: PEM files, JWKS files and JWKS
 * URLs (libcurl), converted to PEM for libjwt with OpenSSL 3's EVP_PKEY
 * from-data API. A JWKS set is cached, refreshed on a timer and when a token
 * names a kid we do not know (at most once a second, so random kids cannot
 * turn roomgate into a load generator against the IdP).
 */
#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include "auth/jwks.h"
#include "base/error.h"
#include "base/log.h"
#include "base/util.h"

#define JWKS_MAX (512 * 1024)

void rg_keys_clear(rg_keyset *ks)
{
	for (size_t i = 0; i < ks->n; i++) {
		free(ks->v[i].kid);
		free(ks->v[i].pem);
	}
	free(ks->v);
	ks->v = NULL;
	ks->n = 0;
}

static char *pkey_to_pem(EVP_PKEY *pk)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data = NULL, *out = NULL;
	long n;

	if (!bio)
		return NULL;
	if (PEM_write_bio_PUBKEY(bio, pk) == 1 && (n = BIO_get_mem_data(bio, &data)) > 0)
		out = strndup(data, (size_t)n);
	BIO_free(bio);
	return out;
}

static BIGNUM *b64_bn(const char *s)
{
	size_t n;
	unsigned char *raw = s ? rg_b64_decode(s, strlen(s), &n) : NULL;
	BIGNUM *bn = raw && n ? BN_bin2bn(raw, (int)n, NULL) : NULL;

	free(raw);
	return bn;
}

/* One JWK (RSA or EC public key) as PEM; NULL if unusable. */
static char *jwk_to_pem(const json_t *jwk, char *family)
{
	const char *kty = rg_json_str(jwk, "kty");
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pk = NULL;
	BIGNUM *n = NULL, *e = NULL;
	unsigned char *x = NULL, *y = NULL, *pub = NULL;
	char *pem = NULL;
	size_t xl = 0, yl = 0;

	if (!bld || !kty)
		goto out;
	if (!strcmp(kty, "RSA")) {
		if (!(n = b64_bn(rg_json_str(jwk, "n"))) || !(e = b64_bn(rg_json_str(jwk, "e"))) ||
		    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
		    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e))
			goto out;
		ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
		*family = 'R';
	} else if (!strcmp(kty, "EC")) {
		const char *crv = rg_json_str(jwk, "crv"), *group;
		const char *xs = rg_json_str(jwk, "x"), *ys = rg_json_str(jwk, "y");
		if (!crv || !xs || !ys)
			goto out;
		group = !strcmp(crv, "P-256") ? "prime256v1"
			: !strcmp(crv, "P-384") ? "secp384r1"
			: !strcmp(crv, "P-521") ? "secp521r1"
						: NULL;
		x = rg_b64_decode(xs, strlen(xs), &xl);
		y = rg_b64_decode(ys, strlen(ys), &yl);
		if (!group || !x || !y || xl != yl || !xl || !(pub = malloc(1 + xl + yl)))
			goto out;
		pub[0] = 0x04; /* uncompressed point */
		memcpy(pub + 1, x, xl);
		memcpy(pub + 1 + xl, y, yl);
		if (!OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, group, 0) ||
		    !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub, 1 + xl + yl))
			goto out;
		ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
		*family = 'E';
	} else {
		goto out;
	}
	if (!ctx || !(params = OSSL_PARAM_BLD_to_param(bld)) || EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, params) != 1)
		goto out;
	pem = pkey_to_pem(pk);
out:
	EVP_PKEY_free(pk);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(n);
	BN_free(e);
	free(x);
	free(y);
	free(pub);
	return pem;
}

static rg_err keys_add(rg_keyset *ks, const char *kid, char *pem, char family)
{
	rg_key *nv = realloc(ks->v, (ks->n + 1) * sizeof(*nv));

	if (!nv) {
		free(pem);
		return RG_ERR_NOMEM;
	}
	ks->v = nv;
	ks->v[ks->n].kid = kid ? strdup(kid) : NULL;
	ks->v[ks->n].pem = pem;
	ks->v[ks->n].family = family;
	ks->n++;
	return RG_OK;
}

rg_err rg_keys_from_jwks(const char *text, size_t len, rg_keyset *out, rg_error *err)
{
	json_t *root = rg_json_load(text, len, 0, NULL), *keys, *k;
	size_t i;
	rg_err rc = RG_OK;

	memset(out, 0, sizeof(*out));
	keys = json_object_get(root, "keys");
	if (!json_is_array(keys)) {
		json_decref(root);
		return rg_fail(err, RG_ERR_CONFIG, "config_error", "JWKS: expected {\"keys\": [...]}");
	}
	json_array_foreach(keys, i, k) {
		const char *use = rg_json_str(k, "use");
		char family = 0, *pem;
		if (use && strcmp(use, "sig"))
			continue;
		if (!(pem = jwk_to_pem(k, &family)))
			continue; /* unsupported key types are skipped, as IdPs publish several */
		if ((rc = keys_add(out, rg_json_str(k, "kid"), pem, family)))
			break;
	}
	json_decref(root);
	if (rc)
		rg_keys_clear(out);
	return rc;
}

rg_err rg_keys_from_pem_file(const char *path, rg_keyset *ks, rg_error *err)
{
	char *text = NULL;
	size_t len = 0;
	BIO *bio = NULL;
	EVP_PKEY *pk = NULL;
	char family;
	rg_err rc;

	if ((rc = rg_read_file(path, 64 * 1024, &text, &len, err)))
		return rg_fail(err, RG_ERR_CONFIG, "config_error", "cannot read public key %s", path);
	bio = BIO_new_mem_buf(text, (int)len);
	pk = bio ? PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL) : NULL;
	if (!pk) {
		rc = rg_fail(err, RG_ERR_CONFIG, "config_error", "%s is not a PEM public key", path);
		goto out;
	}
	family = EVP_PKEY_get_base_id(pk) == EVP_PKEY_RSA ? 'R'
		 : EVP_PKEY_get_base_id(pk) == EVP_PKEY_EC ? 'E'
							    : 0;
	if (!family) {
		rc = rg_fail(err, RG_ERR_CONFIG, "config_error", "%s: only RSA and EC keys", path);
		goto out;
	}
	rc = keys_add(ks, NULL, pkey_to_pem(pk), family);
out:
	EVP_PKEY_free(pk);
	BIO_free(bio);
	free(text);
	return rc;
}

typedef struct fetch_buf {
	char *p;
	size_t n;
} fetch_buf;

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *ud)
{
	fetch_buf *b = ud;
	size_t add = size * nmemb;
	char *np;

	if (b->n + add > JWKS_MAX || !(np = realloc(b->p, b->n + add + 1)))
		return 0;
	b->p = np;
	memcpy(b->p + b->n, ptr, add);
	b->n += add;
	b->p[b->n] = '\0';
	return add;
}

static rg_err fetch_jwks(const char *url, rg_keyset *out, rg_error *err)
{
	CURL *curl = curl_easy_init();
	fetch_buf b = {0};
	char cerr[CURL_ERROR_SIZE] = "";
	long status = 0;
	CURLcode cc;
	rg_err rc;

	if (!curl)
		return rg_fail(err, RG_ERR_NOMEM, NULL, "out of memory");
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, cerr);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 3000L);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 5000L);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	cc = curl_easy_perform(curl);
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(curl);
	if (cc != CURLE_OK || status != 200) {
		rc = rg_fail(err, RG_ERR_UPSTREAM, "jwks_unavailable", "JWKS %s: %s", url,
			     cc != CURLE_OK ? (cerr[0] ? cerr : curl_easy_strerror(cc)) : "HTTP error");
		free(b.p);
		return rc;
	}
	rc = rg_keys_from_jwks(b.p ? b.p : "", b.n, out, err);
	free(b.p);
	return rc;
}

rg_jwks *rg_jwks_new(const char *url, long refresh)
{
	rg_jwks *j = calloc(1, sizeof(*j));

	if (!j)
		return NULL;
	if (!(j->url = strdup(url))) {
		free(j);
		return NULL;
	}
	j->refresh = refresh;
	pthread_mutex_init(&j->lock, NULL);
	return j;
}

void rg_jwks_free(rg_jwks *j)
{
	if (!j)
		return;
	rg_keys_clear(&j->keys);
	pthread_mutex_destroy(&j->lock);
	free(j->url);
	free(j);
}

/* Under j->lock: should this caller fetch (stale, or `kid` unknown; at most
 * once a second; never while another fetch is in flight)? */
static bool want_refresh(rg_jwks *j, const char *kid, time_t now)
{
	bool known = false, stale = !j->fetched || now - j->fetched >= j->refresh;

	for (size_t i = 0; kid && i < j->keys.n; i++)
		known = known || (j->keys.v[i].kid && !strcmp(j->keys.v[i].kid, kid));
	if (!stale && (known || !kid))
		return false;
	if (j->fetching || now - j->attempted < 1)
		return false;
	j->attempted = now;
	j->fetching = true;
	return true;
}

/* The network fetch runs without the lock: other requests keep using the
 * cached keys meanwhile. */
static void maybe_refresh(rg_jwks *j, const char *kid)
{
	rg_keyset fresh;
	rg_error err = {0};
	rg_err rc;

	pthread_mutex_lock(&j->lock);
	if (!want_refresh(j, kid, rg_now())) {
		pthread_mutex_unlock(&j->lock);
		return;
	}
	pthread_mutex_unlock(&j->lock);
	rc = fetch_jwks(j->url, &fresh, &err);
	pthread_mutex_lock(&j->lock);
	j->fetching = false;
	if (!rc) {
		rg_keys_clear(&j->keys);
		j->keys = fresh;
		j->fetched = rg_now();
	}
	pthread_mutex_unlock(&j->lock);
	if (rc)
		rg_log_json("warn", "jwks_fetch_failed", json_pack("{s:s}", "msg", err.message));
	else
		rg_log_json("info", "jwks_fetched",
			    json_pack("{s:s,s:i}", "url", j->url, "keys", (int)fresh.n));
}

char *rg_jwks_find(rg_jwks *j, const char *kid, char family, size_t nth)
{
	char *pem = NULL;
	size_t seen = 0;

	maybe_refresh(j, kid);
	pthread_mutex_lock(&j->lock);
	for (size_t i = 0; i < j->keys.n && !pem; i++) {
		const rg_key *k = &j->keys.v[i];
		if (k->family != family || (kid && (!k->kid || strcmp(k->kid, kid))))
			continue;
		if (seen++ == nth)
			pem = strdup(k->pem);
	}
	pthread_mutex_unlock(&j->lock);
	return pem;
}
