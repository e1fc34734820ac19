/*
 * pwcache.c - password checks that succeeded, remembered for
 * RG_PWCACHE_TTL seconds, so an HTTP Basic client pays PBKDF2 once a minute
 * rather than on every request.
 *
 * An entry is HMAC-SHA256 under a random per-process key of
 *   name NUL password NUL stored hash
 * and its expiry: neither the password nor anything derived from it without
 * that key is kept, and a user whose stored hash changed (or who is gone:
 * the caller looks the user up first) never matches. Slots are chosen by the
 * MAC itself, so only a successful check can take one, and no one can aim
 * at another's slot. Only successes are stored; callers consult the cache
 * after the failed-login limits, so it is never a way around them. The table
 * is wiped on reload and on free.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "auth/pwcache.h"

#define MAC_LEN 32

typedef struct slot {
	unsigned char mac[MAC_LEN];
	time_t expires; /* 0: empty */
} slot;

struct rg_pwcache {
	pthread_mutex_t lock;
	EVP_MAC *hmac; /* fetched once */
	unsigned char key[32];
	slot slots[RG_PWCACHE_SLOTS];
};

rg_pwcache *rg_pwcache_new(void)
{
	rg_pwcache *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	if (RAND_bytes(c->key, sizeof(c->key)) != 1 || !(c->hmac = EVP_MAC_fetch(NULL, "HMAC", NULL))) {
		OPENSSL_cleanse(c->key, sizeof(c->key));
		free(c);
		return NULL;
	}
	pthread_mutex_init(&c->lock, NULL);
	return c;
}

void rg_pwcache_free(rg_pwcache *c)
{
	if (!c)
		return;
	pthread_mutex_destroy(&c->lock);
	EVP_MAC_free(c->hmac);
	OPENSSL_cleanse(c, sizeof(*c));
	free(c);
}

void rg_pwcache_clear(rg_pwcache *c)
{
	pthread_mutex_lock(&c->lock);
	OPENSSL_cleanse(c->slots, sizeof(c->slots));
	pthread_mutex_unlock(&c->lock);
}

static bool mac(const rg_pwcache *c, const char *name, const char *password, const char *hash,
		unsigned char *out)
{
	EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(c->hmac);
	OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string("digest", (char *)"SHA256", 0),
			       OSSL_PARAM_construct_end()};
	size_t len = 0;
	bool ok = ctx && EVP_MAC_init(ctx, c->key, sizeof(c->key), params) &&
		  EVP_MAC_update(ctx, (const unsigned char *)name, strlen(name) + 1) &&
		  EVP_MAC_update(ctx, (const unsigned char *)password, strlen(password) + 1) &&
		  EVP_MAC_update(ctx, (const unsigned char *)hash, strlen(hash)) &&
		  EVP_MAC_final(ctx, out, &len, MAC_LEN) && len == MAC_LEN;

	EVP_MAC_CTX_free(ctx);
	return ok;
}

static slot *slot_of(rg_pwcache *c, const unsigned char *m)
{
	size_t i;

	memcpy(&i, m, sizeof(i));
	return &c->slots[i % RG_PWCACHE_SLOTS];
}

bool rg_pwcache_hit(rg_pwcache *c, const char *name, const char *password, const char *hash,
		    time_t now)
{
	unsigned char m[MAC_LEN];
	bool hit = false;
	slot *s;

	if (!c || !mac(c, name, password, hash, m))
		return false;
	s = slot_of(c, m);
	pthread_mutex_lock(&c->lock);
	hit = s->expires > now && CRYPTO_memcmp(s->mac, m, MAC_LEN) == 0;
	pthread_mutex_unlock(&c->lock);
	OPENSSL_cleanse(m, sizeof(m));
	return hit;
}

void rg_pwcache_put(rg_pwcache *c, const char *name, const char *password, const char *hash,
		    time_t now)
{
	unsigned char m[MAC_LEN];
	slot *s;

	if (!c || !mac(c, name, password, hash, m))
		return;
	s = slot_of(c, m);
	pthread_mutex_lock(&c->lock);
	memcpy(s->mac, m, MAC_LEN);
	s->expires = now + RG_PWCACHE_TTL;
	pthread_mutex_unlock(&c->lock);
	OPENSSL_cleanse(m, sizeof(m));
}
