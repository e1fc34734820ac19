/*
 * issue.h - the join-token flow shared by /token and /v1/sessions (issue.c).
 */
#ifndef RG_CORE_ISSUE_H
#define RG_CORE_ISSUE_H

#include <jansson.h>
#include <time.h>

#include "core/link.h"
#include "livekit/token.h"
#include "roomgate.h"

typedef struct rg_join {
	const char *room;        /* NULL: provision a unique room */
	const char *identity;    /* requested identity or NULL */
	const char *name;
	const char *metadata;
	const json_t *attributes;
	const json_t *room_config; /* RoomConfiguration request JSON or NULL */
	/* /v1/sessions: profile keys and shared client metadata */
	const json_t *profiles;
	const json_t *client_metadata;
	/* the server's link to LiveKit (registry), or NULL (embedded policy
	 * evaluation: the room check asks LiveKit, no session is recorded) */
	rg_link *link;
} rg_join;

typedef struct rg_join_result {
	char room[RG_MAX_NAME + 1];
	char *identity;
	char *jwt;
	time_t expires_at;
	json_t *agents; /* [{"agent_name","metadata"}] */
	const char *dispatch; /* static: "token", "api", or NULL without agents */
} rg_join_result;

rg_err rg_join_issue(const rg_config_t *cfg, const rg_user_t *user, const rg_join *req,
		     rg_join_result *res, rg_error *err);
void rg_join_result_clear(rg_join_result *res);

#endif
