/* The loop of roomgate's background threads (core/periodic.c): a step runs at
 * once, then at the time it asks for; a new config runs it again at once,
 * even one set while the step ran; the stop reaches a step in flight. */
#include <stdatomic.h>
#include <time.h>

#include "base/util.h"
#include "check.h"
#include "core/periodic.h"

static atomic_int runs;
static _Atomic(const rg_config_t *) seen;
static atomic_bool hold;        /* the next step waits until this is false again */
static atomic_bool in_step;     /* a held step is running */
static atomic_bool saw_stopping;

static void nap(void)
{
	struct timespec ts = {0, 5 * 1000 * 1000};
	nanosleep(&ts, NULL);
}

/* Waits up to 3 s for `n` runs. */
static bool runs_reach(int n)
{
	for (int i = 0; i < 600 && atomic_load(&runs) < n; i++)
		nap();
	return atomic_load(&runs) >= n;
}

static time_t step(void *arg, const rg_config_t *cfg, const atomic_bool *stopping)
{
	(void)arg;
	atomic_store(&seen, cfg);
	if (atomic_load(&hold)) {
		atomic_store(&in_step, true);
		while (atomic_load(&hold) && !atomic_load(stopping))
			nap();
		atomic_store(&saw_stopping, atomic_load(stopping));
		atomic_store(&in_step, false);
	}
	atomic_fetch_add(&runs, 1);
	return rg_now() + 3600; /* only a config or the stop brings the next run */
}

/* A run over `cfg` that holds until `hold` is cleared or the stop; true once
 * it is running. */
static bool held_run(rg_periodic *p, rg_config_t *cfg)
{
	atomic_store(&hold, true);
	rg_periodic_set_config(p, cfg);
	for (int i = 0; i < 600 && !atomic_load(&in_step); i++)
		nap();
	return atomic_load(&in_step);
}

int main(void)
{
	rg_config_t *a = NULL, *b = NULL;
	rg_error err = {0};
	rg_periodic *p;

	CHECK(rg_config_dev(NULL, &a, &err) == RG_OK && rg_config_dev(NULL, &b, &err) == RG_OK);
	p = rg_periodic_start(a, step, NULL);
	CHECK(p != NULL);
	CHECK(runs_reach(1)); /* at once */
	CHECK(atomic_load(&seen) == a);
	nap();
	CHECK(atomic_load(&runs) == 1); /* then not before the time it asked for */

	rg_periodic_set_config(p, b); /* a new config: at once */
	CHECK(runs_reach(2));
	CHECK(atomic_load(&seen) == b);

	/* A config set while the step runs: the next run is at once, over it
	 * (not an hour later, as the step asked). */
	CHECK(held_run(p, a));
	rg_periodic_set_config(p, b);
	atomic_store(&hold, false);
	CHECK(runs_reach(4));
	CHECK(atomic_load(&seen) == b);

	/* The stop reaches a step in flight. */
	CHECK(held_run(p, a));
	rg_periodic_stop(p); /* returns: the step gave up */
	CHECK(atomic_load(&saw_stopping));
	CHECK(atomic_load(&runs) == 5);

	rg_periodic_stop(NULL);
	rg_periodic_set_config(NULL, a);
	rg_config_free(a); /* the loop held its own references: these are the last */
	rg_config_free(b);
	CHECK_DONE();
}
