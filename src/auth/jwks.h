/*
 * jwks.h - public keys for upstream JWTs (jwks.c): PEM files, a JWKS file,
 * or a provider's JWKS URL (configured, or found by discovery from its
 * issuer) kept fresh in the background.
 */
#ifndef RG_AUTH_JWKS_H
#define RG_AUTH_JWKS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "roomgate.h"

typedef struct rg_key {
	char *kid;   /* may be NULL */
	char *pem;   /* public key, PEM */
	char family; /* 'R' (RSA) or 'E' (EC) */
} rg_key;

typedef struct rg_keyset {
	rg_key *v;
	size_t n;
} rg_keyset;

void rg_keys_clear(rg_keyset *ks);
rg_err rg_keys_from_jwks(const char *text, size_t len, rg_keyset *out, rg_error *err);
rg_err rg_keys_from_pem_file(const char *path, rg_keyset *ks, rg_error *err);

/*
 * A remote key set: the one mutable part of a config, behind its own lock.
 * Fetched by the keeper thread (core/idps.c) at start and then as the
 * provider's Cache-Control max-age says, within [refresh_min, refresh_max]
 * (refresh_max when it says nothing); retried after 1, 2, 4... seconds up to
 * refresh_min while it fails. Requests only read it, except that a token
 * naming an unknown kid refetches it, at most once per refresh_min.
 */
typedef struct rg_jwks rg_jwks;

typedef struct rg_jwks_conf {
	const char *url;    /* a JWKS URL; or NULL and: */
	const char *issuer; /* discovery from this issuer */
	unsigned algs;      /* the configured algorithms (discovery keeps those the provider uses) */
	long refresh_min, refresh_max; /* seconds */
} rg_jwks_conf;

rg_jwks *rg_jwks_new(const rg_jwks_conf *c);
void rg_jwks_free(rg_jwks *j);
/* A reloaded config's key set takes over the keys, schedule and counters of
 * the one it replaces when both read the same source (so a reload never
 * drops keys); otherwise it starts empty. */
void rg_jwks_adopt(rg_jwks *fresh, rg_jwks *old);
/* The keeper: fetches now if due (discovery first when needed); returns when
 * it is due next. `cancel` set makes a fetch in flight give up. */
time_t rg_jwks_tick(rg_jwks *j, const atomic_bool *cancel);
/* For a request: copies into `out` the keys of `family` (and `kid`, when
 * given) and sets *algs to the algorithms accepted now. RG_ERR_UNAVAILABLE
 * (idp_unavailable, with retry_after) while no keys have arrived yet. */
rg_err rg_jwks_get(rg_jwks *j, const char *kid, char family, rg_keyset *out, unsigned *algs,
		   rg_error *err);

typedef struct rg_jwks_status {
	bool discovery;            /* found from the issuer, not a configured jwks_url */
	size_t keys;               /* keys held */
	bool ready;                /* keys have arrived */
	unsigned long refreshes;   /* successful fetches */
	unsigned long failures;    /* failed fetches (discovery included) */
	time_t fetched;            /* last success, 0: none */
} rg_jwks_status;

void rg_jwks_status_get(rg_jwks *j, rg_jwks_status *out);

#endif
