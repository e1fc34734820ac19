/*
 * proxy.h - identity from a trusted reverse proxy's headers (proxy.c).
 */
#ifndef RG_AUTH_PROXY_H
#define RG_AUTH_PROXY_H

#include <stddef.h>

#include "base/net.h"
#include "roomgate.h"

typedef struct rg_proxy_auth {
	char *user_header, *name_header, *groups_header;
	rg_cidr *trusted; size_t n_trusted;
} rg_proxy_auth;

/* RG_ERR_NOT_FOUND when the request carries no proxy user header. */
rg_err rg_proxy_authenticate(const rg_proxy_auth *pa, const rg_request_t *req, rg_user_t *user,
			     rg_error *err);

#endif
