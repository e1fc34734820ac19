/*
 * jwks.c - public keys for upstream JWTs: PEM files, JWKS files and JWKS
 * URLs, converted to PEM for libjwt with OpenSSL 3's EVP_PKEY from-data API.
 *
 * A remote key set (a jwks_url, or the jwks_uri that discovery finds from an
 * issuer, oidc.c) is fetched off the request path: by the keeper thread
 * (core/idps.c) at start, then when the provider's Cache-Control max-age
 * runs out (held within the configured bounds), and again after 1, 2, 4...
 * seconds while the provider fails; the keys it had stay in use meanwhile.
 * A request waits only for a fetch already in flight, or makes one itself
 * when its token names a kid the set lacks (a rotation), at most once per
 * refresh_min so that random kids cannot turn roomgate into a load generator
 * against the provider. Until a provider's first keys arrive its tokens get
 * 503 idp_unavailable: the token may well be good.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include "auth/jwks.h"
#include "auth/oidc.h"
#include "base/error.h"
#include "base/fetch.h"
#include "base/log.h"
#include "base/util.h"

#define JWKS_MAX (512 * 1024)
#define WAIT_FETCH 6 /* seconds a request waits for a fetch in flight (its timeout is 5) */

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

struct rg_jwks {
	pthread_mutex_t lock;
	pthread_cond_t done; /* a fetch ended */
	/* as configured, never changed */
	char *conf_url;      /* jwks_url, or NULL */
	char *issuer;        /* discovery's issuer, or NULL */
	unsigned want;       /* configured algorithms */
	long refresh_min, refresh_max;
	/* under lock */
	char *url;           /* where the keys come from: conf_url, or discovery's jwks_uri */
	unsigned algs;       /* accepted now */
	rg_keyset keys;
	bool ready;          /* keys have arrived */
	bool fetching;       /* a fetch is in flight (outside the lock) */
	bool failing;        /* the last fetch failed */
	unsigned long attempts, refreshes, failures;
	time_t next;         /* when the keeper fetches next */
	time_t kid_fetch;    /* last fetch an unknown kid made */
	time_t fetched;      /* last success */
	long backoff;        /* seconds before a retry, doubled per failure */
	char error[256];     /* the last failure */
};

/* What one fetch found, applied under the lock. */
typedef struct fetch_result {
	rg_err rc;
	rg_error err;
	bool in_discovery;   /* the failure was discovery's */
	bool discovered;     /* meta is new */
	rg_oidc_meta meta;
	rg_keyset keys;
	long max_age;
} fetch_result;

/* Log lines made under the lock, written after it. */
typedef struct log_lines {
	struct {
		const char *level, *event;
		json_t *fields;
	} v[2];
	int n;
} log_lines;

static void log_add(log_lines *l, const char *level, const char *event, json_t *fields)
{
	if (l->n < 2) {
		l->v[l->n].level = level;
		l->v[l->n].event = event;
		l->v[l->n++].fields = fields;
	} else {
		json_decref(fields);
	}
}

static void log_write(log_lines *l)
{
	for (int i = 0; i < l->n; i++)
		rg_log_json(l->v[i].level, l->v[i].event, l->v[i].fields);
	l->n = 0;
}

rg_jwks *rg_jwks_new(const rg_jwks_conf *c)
{
	rg_jwks *j = calloc(1, sizeof(*j));

	if (!j)
		return NULL;
	j->conf_url = c->url ? strdup(c->url) : NULL;
	j->issuer = c->issuer ? strdup(c->issuer) : NULL;
	j->url = c->url ? strdup(c->url) : NULL;
	if ((c->url && (!j->conf_url || !j->url)) || (c->issuer && !j->issuer) ||
	    (!c->url && !c->issuer)) {
		free(j->conf_url);
		free(j->issuer);
		free(j->url);
		free(j);
		return NULL;
	}
	j->want = j->algs = c->algs;
	j->refresh_min = c->refresh_min > 0 ? c->refresh_min : 1;
	j->refresh_max = c->refresh_max > j->refresh_min ? c->refresh_max : j->refresh_min;
	pthread_mutex_init(&j->lock, NULL);
	pthread_cond_init(&j->done, NULL);
	return j;
}

void rg_jwks_free(rg_jwks *j)
{
	if (!j)
		return;
	rg_keys_clear(&j->keys);
	pthread_cond_destroy(&j->done);
	pthread_mutex_destroy(&j->lock);
	free(j->conf_url);
	free(j->issuer);
	free(j->url);
	free(j);
}

static bool same_str(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

static rg_err keys_copy(const rg_keyset *from, rg_keyset *to, const char *kid, char family)
{
	memset(to, 0, sizeof(*to));
	for (size_t i = 0; i < from->n; i++) {
		const rg_key *k = &from->v[i];
		char *pem;
		if ((family && k->family != family) || (kid && (!k->kid || strcmp(k->kid, kid))))
			continue;
		if (!(pem = strdup(k->pem)) || keys_add(to, k->kid, pem, k->family)) {
			rg_keys_clear(to);
			return RG_ERR_NOMEM;
		}
	}
	return RG_OK;
}

void rg_jwks_adopt(rg_jwks *fresh, rg_jwks *old)
{
	if (!fresh || !old || !same_str(fresh->conf_url, old->conf_url) ||
	    !same_str(fresh->issuer, old->issuer) || fresh->want != old->want)
		return;
	pthread_mutex_lock(&old->lock);
	pthread_mutex_lock(&fresh->lock);
	if (!fresh->ready && old->ready && !keys_copy(&old->keys, &fresh->keys, NULL, 0)) {
		char *url = old->url ? strdup(old->url) : NULL;
		if (url || !old->url) {
			free(fresh->url);
			fresh->url = url;
			fresh->algs = old->algs;
			fresh->ready = true;
		} else {
			rg_keys_clear(&fresh->keys);
		}
	}
	fresh->failing = old->failing;
	fresh->attempts = old->attempts;
	fresh->refreshes = old->refreshes;
	fresh->failures = old->failures;
	fresh->next = old->next;
	fresh->kid_fetch = old->kid_fetch;
	fresh->fetched = old->fetched;
	fresh->backoff = old->backoff;
	memcpy(fresh->error, old->error, sizeof(fresh->error));
	pthread_mutex_unlock(&fresh->lock);
	pthread_mutex_unlock(&old->lock);
}

/* Discovery when asked (then its jwks_uri), and the key set at `url`. No
 * lock held: what is read of j never changes. */
static void fetch(rg_jwks *j, const char *url, bool discover, const atomic_bool *cancel,
		  fetch_result *r)
{
	rg_http_answer a;
	rg_error e = {0};

	memset(r, 0, sizeof(*r));
	r->max_age = -1;
	if (discover) {
		r->in_discovery = true;
		if ((r->rc = rg_oidc_discover(j->issuer, j->want, cancel, &r->meta, &r->err)))
			return;
		r->in_discovery = false;
		r->discovered = true;
		url = r->meta.jwks_uri;
	}
	if (rg_http_get(url, JWKS_MAX, cancel, &a, &e)) {
		r->rc = rg_fail(&r->err, RG_ERR_UNAVAILABLE, "idp_unavailable", "JWKS %s", e.message);
		return;
	}
	if (a.status != 200)
		r->rc = rg_fail(&r->err, RG_ERR_UNAVAILABLE, "idp_unavailable",
				"JWKS %s: HTTP %ld", url, a.status);
	else if (rg_keys_from_jwks(a.body ? a.body : "", a.len, &r->keys, &e))
		r->rc = rg_fail(&r->err, RG_ERR_UNAVAILABLE, "idp_unavailable", "JWKS %s: %s", url,
				e.message);
	else if (!r->keys.n)
		r->rc = rg_fail(&r->err, RG_ERR_UNAVAILABLE, "idp_unavailable",
				"JWKS %s holds no usable signing key (RSA or EC, use sig)", url);
	r->max_age = a.max_age;
	rg_http_answer_clear(&a);
}

static bool keys_differ(const rg_keyset *a, const rg_keyset *b)
{
	if (a->n != b->n)
		return true;
	for (size_t i = 0; i < a->n; i++)
		if (!same_str(a->v[i].kid, b->v[i].kid) || strcmp(a->v[i].pem, b->v[i].pem))
			return true;
	return false;
}

/* The provider's own word on freshness, within the configured bounds. */
static long refresh_in(const rg_jwks *j, long max_age)
{
	if (max_age < 0)
		return j->refresh_max;
	return max_age < j->refresh_min ? j->refresh_min
	       : max_age > j->refresh_max ? j->refresh_max
					  : max_age;
}

static void applied_ok(rg_jwks *j, fetch_result *r, time_t now, log_lines *log)
{
	bool changed = !j->ready || j->failing || keys_differ(&j->keys, &r->keys);
	long in = refresh_in(j, r->max_age);
	char algs[128];

	if (r->discovered) {
		if (!same_str(j->url, r->meta.jwks_uri) || j->algs != r->meta.algs || !j->ready)
			log_add(log, "info", "oidc_discovered",
				json_pack("{s:s,s:s,s:s,s:s}", "issuer", j->issuer, "document",
					  r->meta.document, "jwks_uri", r->meta.jwks_uri, "algorithms",
					  rg_oidc_alg_list(r->meta.algs, algs, sizeof(algs))));
		free(j->url);
		j->url = r->meta.jwks_uri;
		r->meta.jwks_uri = NULL;
		j->algs = r->meta.algs;
	}
	rg_keys_clear(&j->keys);
	j->keys = r->keys;
	memset(&r->keys, 0, sizeof(r->keys));
	j->ready = true;
	j->failing = false;
	j->backoff = 0;
	j->refreshes++;
	j->fetched = now;
	j->next = now + in;
	j->error[0] = '\0';
	if (changed)
		log_add(log, "info", "jwks_fetched",
			json_pack("{s:s*,s:s,s:i,s:I}", "issuer", j->issuer, "url", j->url, "keys",
				  (int)j->keys.n, "next_refresh_s", (json_int_t)in));
}

static void applied_failed(rg_jwks *j, fetch_result *r, time_t now, log_lines *log)
{
	bool repeated = j->failing && !strcmp(j->error, r->err.message);
	bool mismatch = !strcmp(r->err.code, "issuer_mismatch");
	bool config = mismatch || !strcmp(r->err.code, "no_common_algorithm");
	long cap = j->refresh_min;

	j->failures++;
	j->failing = true;
	j->backoff = !j->backoff ? 1 : j->backoff * 2 > cap ? cap : j->backoff * 2;
	j->next = now + j->backoff;
	rg_copy(j->error, sizeof(j->error), r->err.message);
	if (repeated) /* once per outage and cause, not every few seconds */
		return;
	log_add(log, config ? "error" : "warn",
		mismatch          ? "oidc_issuer_mismatch"
		: r->in_discovery ? "oidc_discovery_failed"
				  : "jwks_fetch_failed",
		json_pack("{s:s*,s:s*,s:s,s:b,s:I}", "issuer", j->issuer, "url",
			  r->in_discovery ? r->meta.document : j->url, "msg", r->err.message,
			  "keys_kept", j->ready, "retry_in_s", (json_int_t)j->backoff));
}

/* Under j->lock: the end of a fetch. */
static void applied(rg_jwks *j, fetch_result *r, log_lines *log)
{
	time_t now = rg_now();

	j->fetching = false;
	if (r->rc)
		applied_failed(j, r, now, log);
	else
		applied_ok(j, r, now, log);
	rg_keys_clear(&r->keys);
	rg_oidc_meta_clear(&r->meta);
	pthread_cond_broadcast(&j->done);
}

/* Under j->lock: one fetch, the lock dropped while it runs. */
static void fetch_locked(rg_jwks *j, const atomic_bool *cancel, log_lines *log)
{
	/* every fetch of a discovered set reads the document again: a rotation
	 * can bring a new algorithm (an EC key after RSA ones) or a new jwks_uri */
	bool discover = j->issuer != NULL;
	char *url = j->url ? strdup(j->url) : NULL;
	fetch_result r;

	if (!url && !discover)
		return;
	j->fetching = true;
	j->attempts++;
	pthread_mutex_unlock(&j->lock);
	fetch(j, url, discover, cancel, &r);
	free(url);
	pthread_mutex_lock(&j->lock);
	applied(j, &r, log);
}

time_t rg_jwks_tick(rg_jwks *j, const atomic_bool *cancel)
{
	log_lines log = {0};
	time_t next, now = rg_now();

	pthread_mutex_lock(&j->lock);
	if (!j->fetching && now >= j->next)
		fetch_locked(j, cancel, &log);
	next = j->fetching ? now + 1 : j->next;
	pthread_mutex_unlock(&j->lock);
	log_write(&log);
	return next;
}

/* Under j->lock: waits (bounded) for the fetch in flight. */
static void wait_fetch(rg_jwks *j)
{
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += WAIT_FETCH;
	while (j->fetching && pthread_cond_timedwait(&j->done, &j->lock, &until) != ETIMEDOUT)
		;
}

static bool kid_known(const rg_jwks *j, const char *kid)
{
	for (size_t i = 0; i < j->keys.n; i++)
		if (j->keys.v[i].kid && !strcmp(j->keys.v[i].kid, kid))
			return true;
	return false;
}

rg_err rg_jwks_get(rg_jwks *j, const char *kid, char family, rg_keyset *out, unsigned *algs,
		   rg_error *err)
{
	log_lines log = {0};
	time_t now = rg_now();
	rg_err rc = RG_OK;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&j->lock);
	if (!j->ready && !j->fetching && !j->attempts)
		fetch_locked(j, NULL, &log); /* before the keeper's first round */
	else if (!j->ready)
		wait_fetch(j);
	if (j->ready && kid && !kid_known(j, kid)) {
		if (j->fetching) {
			wait_fetch(j);
		} else if (now - j->kid_fetch >= j->refresh_min) {
			j->kid_fetch = now;
			fetch_locked(j, NULL, &log);
		}
	}
	if (!j->ready) {
		rc = rg_fail(err, RG_ERR_UNAVAILABLE, "idp_unavailable",
			     "no keys from the identity provider %s yet%s%s%s; try again shortly",
			     j->issuer ? j->issuer : j->url, j->error[0] ? " (" : "", j->error,
			     j->error[0] ? ")" : "");
		if (err)
			err->retry_after = j->next > now ? (long)(j->next - now) : 1;
	} else if (keys_copy(&j->keys, out, kid, family)) {
		rc = rg_fail(err, RG_ERR_NOMEM, NULL, "out of memory");
	}
	*algs = j->algs;
	pthread_mutex_unlock(&j->lock);
	log_write(&log);
	return rc;
}

void rg_jwks_status_get(rg_jwks *j, rg_jwks_status *out)
{
	pthread_mutex_lock(&j->lock);
	out->discovery = j->issuer != NULL;
	out->keys = j->keys.n;
	out->ready = j->ready;
	out->refreshes = j->refreshes;
	out->failures = j->failures;
	out->fetched = j->fetched;
	pthread_mutex_unlock(&j->lock);
}
