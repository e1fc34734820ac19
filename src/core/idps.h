/*
 * idps.h - the upstream identity providers' keys kept fresh (idps.c): one
 * keeper thread refreshes every remote key set of the current config (a
 * jwks_url, or discovery from an issuer) off the request path.
 */
#ifndef RG_CORE_IDPS_H
#define RG_CORE_IDPS_H

#include "core/config.h"
#include "roomgate.h"

typedef struct rg_idps rg_idps;

/* Keeps `cfg`'s key sets (a reference is taken). The thread starts once a
 * config has a remote key set. NULL if out of memory. */
rg_idps *rg_idps_new(rg_config_t *cfg);
/* Stops the thread (a fetch in flight gives up) and frees. NULL is a no-op. */
void rg_idps_free(rg_idps *k);
/* A reloaded config: its key sets take over the keys of the ones they
 * replace (rg_jwks_adopt) before it is served, and are kept from now on. */
void rg_idps_set_config(rg_idps *k, rg_config_t *cfg);

#endif
