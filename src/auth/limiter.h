/*
 * limiter.h - failed-login counting (limiter.c).
 */
#ifndef RG_AUTH_LIMITER_H
#define RG_AUTH_LIMITER_H

#include <time.h>

#define RG_LOGIN_MAX_PER_ADDR 10
#define RG_LOGIN_MAX_PER_USER 20
#define RG_LOGIN_WINDOW 300

typedef struct rg_limiter rg_limiter;

rg_limiter *rg_limiter_new(long window);
void rg_limiter_free(rg_limiter *l);
/* Seconds until `key`, which failed `max` times in the window, may try
 * again (0: not blocked). */
long rg_limiter_blocked(rg_limiter *l, const char *key, time_t now, unsigned max);
void rg_limiter_fail(rg_limiter *l, const char *key, time_t now);

#endif
