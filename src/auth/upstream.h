/*
 * upstream.h - JWTs from the site's own identity provider (upstream.c).
 */
#ifndef RG_AUTH_UPSTREAM_H
#define RG_AUTH_UPSTREAM_H

#include <stdbool.h>
#include <stddef.h>

#include "auth/jwks.h"
#include "roomgate.h"

typedef struct rg_upstream {
	bool enabled;
	char *issuer;
	char **audiences; size_t n_aud;
	unsigned algs;         /* bit (1 << jwt_alg_t) per allowed algorithm */
	char *secret;          /* HS* */
	rg_keyset keys;        /* PEM files and JWKS file */
	rg_jwks *jwks;         /* JWKS URL, or NULL */
	long leeway;
	char *claim_id, *claim_name, *claim_groups;
} rg_upstream;

rg_err rg_upstream_verify(const rg_upstream *up, const char *token, rg_user_t *user,
			  rg_error *err);
/* false for roomgate's own session tokens, true for anything else. */
bool rg_upstream_claims_token(const char *token);

#endif
