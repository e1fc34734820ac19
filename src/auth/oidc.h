/*
 * oidc.h - an identity provider configured by its issuer alone (oidc.c):
 * OpenID Connect Discovery 1.0 (RFC 8414 as the fallback) gives the JWKS URL
 * and the algorithms it signs with.
 */
#ifndef RG_AUTH_OIDC_H
#define RG_AUTH_OIDC_H

#include <jansson.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "roomgate.h"

/* Whether `url` may carry an identity provider's documents: https, or http
 * to a loopback host (127.0.0.0/8, [::1], localhost) for tests and dev; no
 * user info in either. */
bool rg_oidc_url_secure(const char *url);
/* Where `issuer`'s metadata is: <issuer>/.well-known/openid-configuration
 * (OpenID Connect Discovery; a trailing '/' of the issuer dropped), or with
 * `rfc8414` RFC 8414's https://host/.well-known/oauth-authorization-server
 * followed by the issuer's path. malloc'd; NULL if out of memory. */
char *rg_oidc_config_url(const char *issuer, bool rfc8414);
/* The RS and ES algorithms named in a JSON array, one bit (1 << jwt_alg_t)
 * each; every other name (none, HS*, PS*, EdDSA...) is left out. */
unsigned rg_oidc_algs(const json_t *names);
/* The algorithms of a bit mask as "RS256, ES256" into buf. */
const char *rg_oidc_alg_list(unsigned algs, char *buf, size_t n);

typedef struct rg_oidc_meta {
	char *document; /* the URL the metadata came from */
	char *jwks_uri;
	unsigned algs;  /* the configured ones the provider signs ID tokens with */
} rg_oidc_meta;

/* Reads `issuer`'s metadata: its "issuer" must equal `issuer` exactly
 * (error code "issuer_mismatch"), its jwks_uri must be secure (as above), and
 * `want` is cut down to id_token_signing_alg_values_supported (where the
 * document has it; an empty result is "no_common_algorithm"). Unreachable or
 * erroring: code "idp_unavailable". Everything is RG_ERR_UNAVAILABLE. */
rg_err rg_oidc_discover(const char *issuer, unsigned want, const atomic_bool *cancel,
			rg_oidc_meta *out, rg_error *err);
void rg_oidc_meta_clear(rg_oidc_meta *m);

#endif
