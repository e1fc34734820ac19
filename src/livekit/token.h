/*
 * token.h - LiveKit access tokens, the part only the library uses
 * (token.c; the public half is in roomgate.h).
 */
#ifndef RG_LIVEKIT_TOKEN_H
#define RG_LIVEKIT_TOKEN_H

#include <jansson.h>

#include "roomgate.h"

#define RG_MAX_NAME 256        /* LiveKit's limit for identity and room name */
#define RG_MAX_METADATA 64000  /* participant metadata, pre-v1.13.2 limit */

/* The payload the token would have (a new reference), without iss/nbf/exp. */
json_t *rg_token_claims(const rg_token_t *tok);
/* Validates a VideoGrant object and merges it into the token's video claim. */
rg_err rg_token_merge_grants(rg_token_t *tok, const json_t *grants, rg_error *err);
/* Sets roomConfig to rc's object itself (a reference, no copy): only while
 * rc is not changed until the token is signed. */
rg_err rg_token_share_room_config(rg_token_t *tok, const rg_roomconfig_t *rc);

#endif
