/*
 * periodic.c - the loop of a background thread: take the current config, run
 * the step, sleep until the step's next time or until a new config or the
 * stop arrives. A generation count, not the config's address, tells that a
 * config arrived: one set while the step ran wakes the next wait at once.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "core/periodic.h"

struct rg_periodic {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	pthread_t thread;
	bool stop;
	atomic_bool stopping; /* the step's view of stop, without the lock */
	rg_config_t *cfg;
	unsigned long generation; /* configs set */
	rg_periodic_step step;
	void *arg;
};

static void *loop(void *arg)
{
	rg_periodic *p = arg;

	pthread_mutex_lock(&p->lock);
	while (!p->stop) {
		rg_config_t *cfg = rg_config_ref(p->cfg);
		unsigned long gen = p->generation;
		struct timespec until = {0};

		pthread_mutex_unlock(&p->lock);
		until.tv_sec = p->step(p->arg, cfg, &p->stopping);
		rg_config_free(cfg);
		pthread_mutex_lock(&p->lock);
		while (!p->stop && p->generation == gen &&
		       pthread_cond_timedwait(&p->wake, &p->lock, &until) != ETIMEDOUT)
			;
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

rg_periodic *rg_periodic_start(rg_config_t *cfg, rg_periodic_step step, void *arg)
{
	rg_periodic *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->wake, NULL); /* CLOCK_REALTIME, as rg_now() */
	p->cfg = rg_config_ref(cfg);
	p->step = step;
	p->arg = arg;
	if (pthread_create(&p->thread, NULL, loop, p)) {
		rg_config_free(p->cfg);
		pthread_cond_destroy(&p->wake);
		pthread_mutex_destroy(&p->lock);
		free(p);
		return NULL;
	}
	return p;
}

void rg_periodic_set_config(rg_periodic *p, rg_config_t *cfg)
{
	rg_config_t *old;

	if (!p)
		return;
	rg_config_ref(cfg);
	pthread_mutex_lock(&p->lock);
	old = p->cfg;
	p->cfg = cfg;
	p->generation++;
	pthread_cond_broadcast(&p->wake);
	pthread_mutex_unlock(&p->lock);
	rg_config_free(old);
}

void rg_periodic_stop(rg_periodic *p)
{
	if (!p)
		return;
	atomic_store(&p->stopping, true);
	pthread_mutex_lock(&p->lock);
	p->stop = true;
	pthread_cond_broadcast(&p->wake);
	pthread_mutex_unlock(&p->lock);
	pthread_join(p->thread, NULL);
	rg_config_free(p->cfg);
	pthread_cond_destroy(&p->wake);
	pthread_mutex_destroy(&p->lock);
	free(p);
}
