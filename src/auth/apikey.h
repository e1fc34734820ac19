/*
 * apikey.h - API keys for services (apikey.c): kept as SHA-256 digests.
 */
#ifndef RG_AUTH_APIKEY_H
#define RG_AUTH_APIKEY_H

#include <stdbool.h>
#include <stddef.h>

#include "roomgate.h"

typedef struct rg_apikey {
	char *name;
	unsigned char hash[32];
	char **groups; size_t ngroups;
	bool act_as;
} rg_apikey;

rg_err rg_apikey_digest(const char *key, unsigned char out[32]);
rg_err rg_apikey_parse_hash(const char *s, unsigned char out[32]);
rg_err rg_apikey_authenticate(const rg_apikey *keys, size_t n, const char *key, rg_user_t *user,
			      rg_error *err);

#endif
