/*
 * idps.c - the keeper: one thread that keeps the upstream identity
 * providers' keys fresh, so that no request waits for a provider.
 *
 * It goes over the current config's remote key sets (auth/jwks.c does the
 * fetching, discovery and scheduling of each), sleeps until the earliest is
 * due, and wakes early for a reload or for the stop (a core/periodic.c
 * loop). A provider that is down delays the others by at most one fetch's
 * timeout. A reload hands each key set's keys to its successor first (same
 * source), so SIGHUP never empties them.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "auth/jwks.h"
#include "base/util.h"
#include "core/idps.h"
#include "core/periodic.h"

struct rg_idps {
	pthread_mutex_t lock; /* cfg and keeper, for rg_idps_set_config */
	rg_config_t *cfg;
	rg_periodic *keeper; /* started by the first config with a remote key set */
};

static bool remote(const rg_config_t *cfg)
{
	for (size_t i = 0; i < cfg->auth.n_upstream; i++)
		if (cfg->auth.upstream[i].jwks)
			return true;
	return false;
}

/* One round: every key set that is due; returns when the next one is. */
static time_t round_of(void *arg, const rg_config_t *cfg, const atomic_bool *stopping)
{
	time_t due = rg_now() + 3600;

	(void)arg;
	for (size_t i = 0; i < cfg->auth.n_upstream && !atomic_load(stopping); i++) {
		rg_jwks *j = cfg->auth.upstream[i].jwks;
		time_t t = j ? rg_jwks_tick(j, stopping) : due;
		if (t < due)
			due = t;
	}
	return due;
}

/* Under k->lock. */
static void start(rg_idps *k)
{
	if (!k->keeper && remote(k->cfg))
		k->keeper = rg_periodic_start(k->cfg, round_of, k);
}

rg_idps *rg_idps_new(rg_config_t *cfg)
{
	rg_idps *k = calloc(1, sizeof(*k));

	if (!k)
		return NULL;
	pthread_mutex_init(&k->lock, NULL);
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
	rg_periodic_stop(k->keeper); /* a fetch in flight gives up */
	rg_config_free(k->cfg);
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
	if (k->keeper)
		rg_periodic_set_config(k->keeper, cfg);
	else
		start(k);
	pthread_mutex_unlock(&k->lock);
	rg_config_free(old);
}
