/*
 * idps.c - the keeper: one thread that keeps the upstream identity
 * providers' keys fresh, so that no request waits for a provider.
 *
 * It goes over the current config's remote key sets (auth/jwks.c does the
 * fetching, discovery and scheduling of each), sleeps until the earliest is
 * due, and wakes early for a reload or for the stop. A provider that is down
 * delays the others by at most one fetch's timeout. A reload hands each key
 * set's keys to its successor first (same source), so SIGHUP never empties
 * them.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth/jwks.h"
#include "base/util.h"
#include "core/idps.h"

struct rg_idps {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	pthread_t thread;
	bool running, stop;
	atomic_bool stopping; /* cancels a fetch in flight */
	rg_config_t *cfg;
	unsigned long generation; /* configs seen */
};

static bool remote(const rg_config_t *cfg)
{
	for (size_t i = 0; i < cfg->auth.n_upstream; i++)
		if (cfg->auth.upstream[i].jwks)
			return true;
	return false;
}

/* One round: every key set that is due; returns when the next one is. */
static time_t round_of(rg_idps *k, const rg_config_t *cfg)
{
	time_t due = rg_now() + 3600;

	for (size_t i = 0; i < cfg->auth.n_upstream && !atomic_load(&k->stopping); i++) {
		rg_jwks *j = cfg->auth.upstream[i].jwks;
		time_t t = j ? rg_jwks_tick(j, &k->stopping) : due;
		if (t < due)
			due = t;
	}
	return due;
}

static void *keeper(void *arg)
{
	rg_idps *k = arg;

	pthread_mutex_lock(&k->lock);
	while (!k->stop) {
		rg_config_t *cfg = rg_config_ref(k->cfg);
		unsigned long gen = k->generation;
		struct timespec until = {0};
		time_t due;

		pthread_mutex_unlock(&k->lock);
		due = round_of(k, cfg);
		rg_config_free(cfg);
		until.tv_sec = due;
		pthread_mutex_lock(&k->lock);
		while (!k->stop && k->generation == gen &&
		       pthread_cond_timedwait(&k->wake, &k->lock, &until) != ETIMEDOUT)
			;
	}
	pthread_mutex_unlock(&k->lock);
	return NULL;
}

/* Under k->lock. */
static void start(rg_idps *k)
{
	if (!k->running && !k->stop && remote(k->cfg) &&
	    !pthread_create(&k->thread, NULL, keeper, k))
		k->running = true;
}

rg_idps *rg_idps_new(rg_config_t *cfg)
{
	rg_idps *k = calloc(1, sizeof(*k));

	if (!k)
		return NULL;
	pthread_mutex_init(&k->lock, NULL);
	pthread_cond_init(&k->wake, NULL);
	k->cfg = rg_config_ref(cfg);
	pthread_mutex_lock(&k->lock);
	start(k);
	pthread_mutex_unlock(&k->lock);
	return k;
}

void rg_idps_free(rg_idps *k)
{
	if (!k)
		return;
	atomic_store(&k->stopping, true);
	pthread_mutex_lock(&k->lock);
	k->stop = true;
	pthread_cond_broadcast(&k->wake);
	pthread_mutex_unlock(&k->lock);
	if (k->running)
		pthread_join(k->thread, NULL);
	rg_config_free(k->cfg);
	pthread_cond_destroy(&k->wake);
	pthread_mutex_destroy(&k->lock);
	free(k);
}

/* The key set of `old` that `up` replaces: the same issuer, or the same
 * place in the list when neither has one. */
static rg_jwks *predecessor(const rg_config_t *old, const rg_upstream *up, size_t i)
{
	for (size_t o = 0; o < old->auth.n_upstream; o++) {
		const rg_upstream *p = &old->auth.upstream[o];
		if (up->issuer ? p->issuer && !strcmp(p->issuer, up->issuer) : !p->issuer && o == i)
			return p->jwks;
	}
	return NULL;
}

void rg_idps_set_config(rg_idps *k, rg_config_t *cfg)
{
	rg_config_t *old;

	rg_config_ref(cfg);
	pthread_mutex_lock(&k->lock);
	old = k->cfg;
	for (size_t i = 0; i < cfg->auth.n_upstream; i++) {
		rg_upstream *up = &cfg->auth.upstream[i];
		rg_jwks *was = up->jwks ? predecessor(old, up, i) : NULL;
		if (was)
			rg_jwks_adopt(up->jwks, was);
	}
	k->cfg = cfg;
	k->generation++;
	start(k);
	pthread_cond_broadcast(&k->wake);
	pthread_mutex_unlock(&k->lock);
	rg_config_free(old);
}
