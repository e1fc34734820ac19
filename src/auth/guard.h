/*
 * guard.h - every password check behind the failed-login budgets, a bound
 * on concurrent PBKDF2 work and the success cache (guard.c).
 */
#ifndef RG_AUTH_GUARD_H
#define RG_AUTH_GUARD_H

#include <stdbool.h>
#include <stddef.h>

#include "auth/conf.h"
#include "base/net.h"
#include "roomgate.h"

typedef struct rg_guard rg_guard;
typedef struct rg_redis rg_redis;

/* One password attempt: where it comes from (the request, read only when a
 * password is checked) and, filled in, what it cost. */
typedef struct rg_attempt {
	rg_guard *guard;
	const rg_request_t *req;
	const rg_cidr *trusted; /* trusted proxies, to find the client's address */
	size_t n_trusted;
	long wait;    /* out: Retry-After seconds when refused (429, 503) */
	bool pbkdf2;  /* out: a PBKDF2 ran */
	bool cached;  /* out: the success cache answered */
} rg_attempt;

/* NULL if out of memory. */
rg_guard *rg_guard_new(void);
void rg_guard_free(rg_guard *g);
/* Keeps the failed-login budgets in Redis from now on (shared by every
 * replica; this process's own table when Redis fails). Borrowed. */
void rg_guard_share(rg_guard *g, rg_redis *redis);
/* Forgets cached successes (users or their passwords may have changed). */
void rg_guard_reload(rg_guard *g);
/* Checks a local user's password and fills `user` (method: "basic",
 * "session"): 429 rate_limited when the client address or the user name
 * (or the device token presented) has no attempts left, 503 busy when
 * PBKDF2 work stays saturated, 401 invalid_credentials. */
rg_err rg_guard_password(rg_attempt *at, const rg_auth_conf *a, const char *name,
			 const char *password, const char *method, rg_user_t *user, rg_error *err);

#endif
