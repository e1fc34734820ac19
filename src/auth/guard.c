/*
 * guard.c - the one way a password is checked (HTTP Basic and /v1/login).
 *
 * 1. Budgets, reserved before anything costs CPU: a client presenting a
 *    valid device token for this user (device.c) spends only that device's
 *    budget; any other client spends its address's and the user name's.
 *    Each reservation is one atomic step (limiter.c); a refused one is 429.
 * 2. The success cache (pwcache.c): the same name and password that passed
 *    within a minute, against the same stored hash, pass again without
 *    PBKDF2. It is consulted only after the budgets, so a locked name cannot
 *    be guessed through it.
 * 3. PBKDF2, at most `slots` at once (one fewer than the CPUs, at least
 *    one), so guesses cannot take every core from the token path; a request
 *    that waits more than BUSY_WAIT seconds for a slot is 503 busy.
 * A success gives its reservations back; a failure keeps them.
 */
#include <errno.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "auth/device.h"
#include "auth/guard.h"
#include "auth/limiter.h"
#include "auth/pwcache.h"
#include "auth/users.h"
#include "base/error.h"
#include "base/redis.h"
#include "base/util.h"

#define BUSY_WAIT 5
#define KEY_MAX 300

/* A hash of a random password: an unknown user costs the same PBKDF2 work as
 * a known one, so timing does not reveal which names exist. */
static const char dummy_hash[] =
	"$pbkdf2-sha256$600000$jvi8FL5_sylgBg7UpzCGSQ$xxyyW87RDG0sT1uBeS7kbRPYieyLP7YjLQNiCo2umVg";

struct rg_guard {
	rg_limiter *limiter;
	rg_redis *redis; /* shared budgets, or NULL */
	rg_pwcache *cache;
	sem_t slots;
};

rg_guard *rg_guard_new(void)
{
	rg_guard *g = calloc(1, sizeof(*g));
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	if (!g)
		return NULL;
	if (!(g->limiter = rg_limiter_new(RG_LOGIN_WINDOW, RG_LOGIN_KEYS)) ||
	    !(g->cache = rg_pwcache_new())) {
		rg_limiter_free(g->limiter);
		free(g);
		return NULL;
	}
	sem_init(&g->slots, 0, cpus > 1 ? (unsigned)(cpus - 1) : 1);
	return g;
}

void rg_guard_free(rg_guard *g)
{
	if (!g)
		return;
	sem_destroy(&g->slots);
	rg_pwcache_free(g->cache);
	rg_limiter_free(g->limiter);
	free(g);
}

void rg_guard_share(rg_guard *g, rg_redis *redis)
{
	g->redis = redis;
}

void rg_guard_reload(rg_guard *g)
{
	rg_pwcache_clear(g->cache);
}

/* The keys this attempt spends: one device key, or an address and a user. */
typedef struct budget {
	char keys[2][KEY_MAX];
	unsigned max[2];
	bool shared[2]; /* reserved in Redis */
	int n;
} budget;

static void choose_budget(const rg_attempt *at, const rg_auth_conf *a, const char *name,
			  time_t now, budget *b)
{
	char buf[128], addr[64];
	const char *dev = rg_device_from_request(at->req, buf, sizeof(buf));

	if (dev && rg_device_valid(a, name, dev, now)) {
		snprintf(b->keys[0], KEY_MAX, "d:%s", strchr(dev, '.') + 1);
		b->max[0] = RG_LOGIN_MAX_PER_DEVICE;
		b->n = 1;
		return;
	}
	snprintf(b->keys[0], KEY_MAX, "a:%s",
		 rg_client_addr(at->trusted, at->n_trusted, at->req, addr, sizeof(addr)));
	snprintf(b->keys[1], KEY_MAX, "u:%.256s", name);
	b->max[0] = RG_LOGIN_MAX_PER_ADDR;
	b->max[1] = RG_LOGIN_MAX_PER_USER;
	b->n = 2;
}

/* One key's reservation: in Redis when shared (and reachable), else here. */
static long reserve_one(rg_guard *g, const char *key, time_t now, unsigned max, bool *shared)
{
	long wait;

	*shared = false;
	if (g->redis &&
	    (wait = rg_limiter_reserve_shared(g->redis, key, max, RG_LOGIN_WINDOW)) >= 0) {
		*shared = true;
		return wait;
	}
	return rg_limiter_reserve(g->limiter, key, now, max);
}

static void release_one(rg_guard *g, const char *key, time_t now, bool shared)
{
	if (shared)
		rg_limiter_release_shared(g->redis, key);
	else
		rg_limiter_release(g->limiter, key, now);
}

/* Reserves every key of b or none; 0, or the longest wait among refusals. */
static long reserve(rg_guard *g, budget *b, time_t now)
{
	for (int i = 0; i < b->n; i++) {
		long wait = reserve_one(g, b->keys[i], now, b->max[i], &b->shared[i]);
		if (wait) {
			while (i--)
				release_one(g, b->keys[i], now, b->shared[i]);
			return wait;
		}
	}
	return 0;
}

static void release(rg_guard *g, const budget *b, time_t now)
{
	for (int i = 0; i < b->n; i++)
		release_one(g, b->keys[i], now, b->shared[i]);
}

/* PBKDF2 within the slots: 1 match, 0 no match, -1 no slot in time. */
static int verify(rg_guard *g, const char *password, const char *hash)
{
	struct timespec until;
	int ok;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += BUSY_WAIT;
	while (sem_timedwait(&g->slots, &until))
		if (errno != EINTR)
			return -1;
	ok = rg_password_verify(password, hash);
	sem_post(&g->slots);
	return ok;
}

rg_err rg_guard_password(rg_attempt *at, const rg_auth_conf *a, const char *name,
			 const char *password, const char *method, rg_user_t *user, rg_error *err)
{
	rg_guard *g = at->guard;
	time_t now = rg_now();
	const rg_local_user *u;
	budget b = {0};
	int ok;

	choose_budget(at, a, name, now, &b);
	if ((at->wait = reserve(g, &b, now)))
		return rg_fail(err, RG_ERR_RATE_LIMITED, "rate_limited",
			       "too many failed logins; try again in %ld seconds", at->wait);
	u = rg_users_find(&a->users, name);
	if (u && rg_pwcache_hit(g->cache, name, password, u->hash, now)) {
		at->cached = true;
		ok = 1;
	} else {
		ok = verify(g, password, u ? u->hash : dummy_hash);
		at->pbkdf2 = ok >= 0;
	}
	if (ok < 0) {
		release(g, &b, now);
		at->wait = 1;
		return rg_fail(err, RG_ERR_UNAVAILABLE, "busy",
			       "too many password checks at once; try again in a second");
	}
	if (!ok || !u)
		return rg_fail(err, RG_ERR_UNAUTHENTICATED, "invalid_credentials",
			       "invalid user name or password");
	release(g, &b, now);
	if (!at->cached)
		rg_pwcache_put(g->cache, name, password, u->hash, now);
	if (rg_user_set(user, u->name, u->display, u->groups, u->ngroups, method))
		return rg_fail(err, RG_ERR_NOMEM, NULL, "out of memory");
	return RG_OK;
}
