/*
 * roomconfig.h - LiveKit's RoomConfiguration as roomgate holds it
 * (roomconfig.c; the public half is in roomgate.h).
 */
#ifndef RG_LIVEKIT_ROOMCONFIG_H
#define RG_LIVEKIT_ROOMCONFIG_H

#include <jansson.h>

#include "roomgate.h"

struct rg_roomconfig {
	json_t *obj; /* camelCase, only set fields; agents as array (maybe absent) */
};

/* Parses a JSON value into a room config (validating). Metadata given as an
 * object is serialized to a string. */
rg_err rg_roomconfig_from_json(const json_t *in, rg_roomconfig_t **out, rg_error *err);
/* The agents array (borrowed; may be NULL). */
json_t *rg_roomconfig_agents(const rg_roomconfig_t *rc);

#endif
