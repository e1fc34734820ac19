/*
 * api.h - LiveKit's Twirp API (JSON) over libcurl (api.c), with the
 * livekit section of a config that it reads.
 */
#ifndef RG_LIVEKIT_API_H
#define RG_LIVEKIT_API_H

#include <jansson.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "roomgate.h"

typedef struct rg_livekit {
	char *url;           /* what clients connect to (ws/wss; http(s) for the API) */
	char *api_url;       /* livekit.api_url as configured, or NULL */
	char *api_base;      /* where the API is called: http(s)://host[:port], no '/' */
	char *api_key;
	char *api_secret;
	rg_signer_t *signer; /* api_key / api_secret */
	long api_timeout_ms; /* one call's bound in a request (livekit.api_timeout) */
	long reconcile_interval; /* seconds between ListRooms reconciliations, 0 = never */
	long registry_rooms;     /* rooms not live the registry keeps (0: its default) */
} rg_livekit;

/* The API calls counted apart (/metrics). */
enum {
	RG_LK_LIST_ROOMS, RG_LK_DELETE_ROOM, RG_LK_CREATE_DISPATCH, RG_LK_LIST_DISPATCH,
	RG_LK_DELETE_DISPATCH, RG_LK_UPDATE_METADATA, RG_LK_OTHER, RG_LK_METHODS
};
typedef struct rg_lk_stats {
	unsigned long calls[RG_LK_METHODS];
	unsigned long failures;
	unsigned long connections; /* new TCP connections opened (the rest reused one) */
} rg_lk_stats;
/* The short name of method i ("ListRooms", ...). */
const char *rg_lk_method_name(int i);

/* ws://host -> http://host, wss:// -> https://, http(s) kept, trailing '/'
 * dropped (malloc'd; NULL if out of memory). */
char *rg_lk_http_base(const char *url);

rg_err rg_lk_call(const rg_livekit *lk, const char *method, json_t *video, const json_t *req,
		  json_t **resp, rg_error *err);
rg_err rg_lk_room_exists(const rg_livekit *lk, const char *room, bool *exists, rg_error *err);
/* Every live room (ListRooms, no filter): *rooms is its array (new
 * reference). Up to 15 s; gives up early once *cancel (may be NULL) is set. */
rg_err rg_lk_list_rooms(const rg_livekit *lk, const atomic_bool *cancel, json_t **rooms,
			rg_error *err);
/* DeleteRoom: every participant is removed and every agent job ends. */
rg_err rg_lk_delete_room(const rg_livekit *lk, const char *room, rg_error *err);
/* UpdateRoomMetadata: the room's metadata becomes `metadata`. */
rg_err rg_lk_update_room_metadata(const rg_livekit *lk, const char *room, const char *metadata,
				  rg_error *err);
/* `known_live`: the caller knows the room is live (no ListRooms call first). */
rg_err rg_lk_list_dispatches(const rg_livekit *lk, const char *room, bool known_live, json_t **out,
			     rg_error *err);
rg_err rg_lk_delete_dispatch(const rg_livekit *lk, const char *room, const char *id, json_t **out,
			     rg_error *err);
/* Creates a dispatch for `agent` ({"agentName","metadata","deployment"?})
 * unless the room already has one for that agent (*created says which). */
rg_err rg_lk_dispatch(const rg_livekit *lk, const char *room, const json_t *agent, bool known_live,
		      bool *created, json_t **out, rg_error *err);
void rg_lk_stats_get(rg_lk_stats *out);

#endif
