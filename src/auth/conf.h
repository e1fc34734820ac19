/*
 * conf.h - the auth section of a config: everything the authentication
 * methods read, and nothing else (core/config.c fills it).
 */
#ifndef RG_AUTH_CONF_H
#define RG_AUTH_CONF_H

#include <stddef.h>

#include "auth/apikey.h"
#include "auth/proxy.h"
#include "auth/upstream.h"
#include "auth/users.h"
#include "roomgate.h"

typedef struct rg_auth_conf {
	rg_users users;
	rg_upstream *upstream; size_t n_upstream; /* upstream_jwt: one or a list */
	rg_proxy_auth proxy;
	rg_apikey *apikeys; size_t n_apikeys;
	char *session_secret;
	rg_signer_t *session_signer; /* session_secret */
	long session_ttl;
} rg_auth_conf;

#endif
