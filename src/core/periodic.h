/*
 * periodic.h - one background thread that runs a step over the current
 * config, again and again, until it is stopped (periodic.c). The link's
 * reconciler and ticker and the identity providers' keeper are three.
 *
 * Each step says when it wants to run next; a new config wakes the thread at
 * once (even one set while the step ran), and so does the stop.
 */
#ifndef RG_CORE_PERIODIC_H
#define RG_CORE_PERIODIC_H

#include <stdatomic.h>
#include <time.h>

#include "core/config.h"

typedef struct rg_periodic rg_periodic;

/* One run over `cfg` (a reference held for the call); returns the time
 * (rg_now() seconds) of the next run. A step that may take long gives up when
 * `stopping` becomes true. */
typedef time_t (*rg_periodic_step)(void *arg, const rg_config_t *cfg, const atomic_bool *stopping);

/* Starts the thread; it runs `step` at once, over `cfg` (a reference is
 * taken). NULL if out of memory or if no thread could be started. */
rg_periodic *rg_periodic_start(rg_config_t *cfg, rg_periodic_step step, void *arg);
/* The config of the next runs (a reference is taken); the next run is now.
 * NULL `p` is a no-op. */
void rg_periodic_set_config(rg_periodic *p, rg_config_t *cfg);
/* Stops the thread (a step in flight sees `stopping`), waits for it, frees.
 * NULL is a no-op. */
void rg_periodic_stop(rg_periodic *p);

#endif
