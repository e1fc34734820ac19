/*
 * pwcache.h - password checks that succeeded, remembered briefly
 * (pwcache.c).
 */
#ifndef RG_AUTH_PWCACHE_H
#define RG_AUTH_PWCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#define RG_PWCACHE_TTL 60
#define RG_PWCACHE_SLOTS 1024

typedef struct rg_pwcache rg_pwcache;

/* NULL if out of memory or without randomness. */
rg_pwcache *rg_pwcache_new(void);
/* Wipes and frees; NULL is a no-op. */
void rg_pwcache_free(rg_pwcache *c);
/* Forgets every entry (a reload: users may have changed). */
void rg_pwcache_clear(rg_pwcache *c);
/* Whether `password` for `name`, whose stored hash is `hash`, passed within
 * the last RG_PWCACHE_TTL seconds. */
bool rg_pwcache_hit(rg_pwcache *c, const char *name, const char *password, const char *hash,
		    time_t now);
/* Remembers a check that passed. */
void rg_pwcache_put(rg_pwcache *c, const char *name, const char *password, const char *hash,
		    time_t now);

#endif
