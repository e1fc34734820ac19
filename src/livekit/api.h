/*
 * api.h - LiveKit's Twirp API (JSON) over libcurl (api.c), with the
 * livekit section of a config that it reads.
 */
#ifndef RG_LIVEKIT_API_H
#define RG_LIVEKIT_API_H

#include <jansson.h>
#include <stdbool.h>

#include "roomgate.h"

typedef struct rg_livekit {
	char *url;           /* what clients connect to (ws/wss; http(s) for the API) */
	char *api_key;
	char *api_secret;
	rg_signer_t *signer; /* api_key / api_secret */
} rg_livekit;

rg_err rg_lk_call(const rg_livekit *lk, const char *method, json_t *video, const json_t *req,
		  json_t **resp, rg_error *err);
rg_err rg_lk_room_exists(const rg_livekit *lk, const char *room, bool *exists, rg_error *err);
rg_err rg_lk_list_dispatches(const rg_livekit *lk, const char *room, json_t **out, rg_error *err);
rg_err rg_lk_delete_dispatch(const rg_livekit *lk, const char *room, const char *id, json_t **out,
			     rg_error *err);
/* Creates a dispatch for `agent` ({"agentName","metadata","deployment"?})
 * unless the room already has one for that agent (*created says which). */
rg_err rg_lk_dispatch(const rg_livekit *lk, const char *room, const json_t *agent, bool *created,
		      json_t **out, rg_error *err);
void rg_lk_counters(unsigned long *calls, unsigned long *failures);

#endif
