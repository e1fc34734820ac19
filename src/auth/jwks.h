/*
 * jwks.h - public keys for upstream JWTs (jwks.c): PEM files, a JWKS file,
 * or a JWKS URL fetched and refreshed.
 */
#ifndef RG_AUTH_JWKS_H
#define RG_AUTH_JWKS_H

#include <pthread.h>
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

/* A JWKS URL's keys: the one mutable part of a config, behind its lock. */
typedef struct rg_jwks {
	pthread_mutex_t lock;
	char *url;
	long refresh;     /* seconds */
	time_t fetched;   /* last successful fetch */
	time_t attempted; /* last attempt */
	bool fetching;    /* a fetch is in flight (outside the lock) */
	rg_keyset keys;
} rg_jwks;

void rg_keys_clear(rg_keyset *ks);
rg_err rg_keys_from_jwks(const char *text, size_t len, rg_keyset *out, rg_error *err);
rg_err rg_keys_from_pem_file(const char *path, rg_keyset *ks, rg_error *err);
rg_jwks *rg_jwks_new(const char *url, long refresh);
void rg_jwks_free(rg_jwks *j);
/* The nth key of `family` (matching kid when given), as a malloc'd PEM. */
char *rg_jwks_find(rg_jwks *j, const char *kid, char family, size_t nth);

#endif
