/*
 * upstream.h - JWTs from the site's own identity providers (upstream.c).
 */
#ifndef RG_AUTH_UPSTREAM_H
#define RG_AUTH_UPSTREAM_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "auth/jwks.h"
#include "roomgate.h"

/* One provider: an upstream_jwt entry. */
typedef struct rg_upstream {
	char *issuer;          /* NULL: iss not checked (one provider only) */
	char **audiences; size_t n_aud;
	unsigned algs;         /* bit (1 << jwt_alg_t) per allowed algorithm */
	char *secret;          /* HS* */
	rg_keyset keys;        /* PEM files and JWKS file */
	rg_jwks *jwks;         /* JWKS URL or discovery, or NULL */
	long leeway;
	char *claim_id, *claim_name;
	char **claim_groups; size_t n_claim_groups; /* merged, in order */
} rg_upstream;

/* Verifies `token` with the provider its `iss` names (never with another
 * provider's keys) and fills user. 401 (RG_ERR_UNAUTHENTICATED) for a bad
 * token; RG_ERR_UNAVAILABLE (503 idp_unavailable) while that provider's keys
 * have not arrived. */
rg_err rg_upstream_verify(const rg_upstream *ups, size_t n, const char *token, rg_user_t *user,
			  rg_error *err);
/* false for roomgate's own session tokens, true for anything else. */
bool rg_upstream_claims_token(const char *token);
/* A claim by path: the whole name as a key first ("https://example.com/roles"),
 * else split at dots into nested objects ("realm_access.roles",
 * "resource_access.roomgate.roles"). Borrowed; NULL when absent. */
json_t *rg_upstream_claim(json_t *payload, const char *path);
/* Frees a provider's members. */
void rg_upstream_clear(rg_upstream *up);

#endif
