/*
 * limiter.h - failed-login budgets per key, exact and bounded (limiter.c).
 */
#ifndef RG_AUTH_LIMITER_H
#define RG_AUTH_LIMITER_H

#include <stddef.h>
#include <time.h>

#define RG_LOGIN_MAX_PER_ADDR 10
#define RG_LOGIN_MAX_PER_USER 20
#define RG_LOGIN_MAX_PER_DEVICE 10
#define RG_LOGIN_WINDOW 300
#define RG_LOGIN_KEYS 65536 /* keys held at most */

typedef struct rg_limiter rg_limiter;
typedef struct rg_redis rg_redis;

/* A table of at most `capacity` keys (0: RG_LOGIN_KEYS), each allowed `max`
 * attempts per `window` seconds. NULL if out of memory. */
rg_limiter *rg_limiter_new(long window, size_t capacity);
void rg_limiter_free(rg_limiter *l);
/* One step under the lock: if `key` has fewer than `max` attempts in its
 * window, counts one more and returns 0; else returns the seconds until it
 * may try again and counts nothing. A full table of blocked keys refuses a
 * new key the same way. */
long rg_limiter_reserve(rg_limiter *l, const char *key, time_t now, unsigned max);
/* Gives back one attempt reserved for `key` (it succeeded, or was never
 * made). */
void rg_limiter_release(rg_limiter *l, const char *key, time_t now);
/* Attempts counted for `key` in its current window. */
unsigned rg_limiter_attempts(rg_limiter *l, const char *key, time_t now);
/* The same budget in Redis (one script, a fixed window of `window` seconds
 * per key): 0 reserved, >0 the wait, -1 Redis failed (use the table). */
long rg_limiter_reserve_shared(rg_redis *redis, const char *key, unsigned max, long window);
void rg_limiter_release_shared(rg_redis *redis, const char *key);
/* Keys held (at most the capacity). */
size_t rg_limiter_size(rg_limiter *l);

#endif
