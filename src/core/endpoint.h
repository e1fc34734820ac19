/*
 * endpoint.h - the token endpoint's wire format (endpoint.c).
 */
#ifndef RG_CORE_ENDPOINT_H
#define RG_CORE_ENDPOINT_H

#include <jansson.h>

#include "core/link.h"
#include "roomgate.h"

/* A parsed POST /token body for an authenticated user -> the 201 response
 * body as compact JSON text (free it). `link` may be NULL (see rg_join). */
rg_err rg_token_request(const rg_config_t *cfg, rg_link *link, const rg_user_t *user,
			const json_t *body, char **resp, rg_error *err);

#endif
