/*
 * registry.h - the live-room registry (registry.c): which rooms are live on
 * LiveKit, since when, who is in them; for rooms roomgate provisioned or
 * issued the first token for, the user who owns them and the agents asked
 * for; and the webhook event ids already applied.
 *
 * Fed by LiveKit's webhooks and corrected by reconciliation with ListRooms
 * (core/link.c), read by the room-exists check and the sessions API. It is
 * in-process; these functions are the interface a shared store (Redis, for
 * replicas) sits behind. Every function is thread-safe.
 */
#ifndef RG_CORE_REGISTRY_H
#define RG_CORE_REGISTRY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "core/config.h"

typedef enum rg_room_state {
	RG_ROOM_UNKNOWN,  /* never heard of: costs one ListRooms call */
	RG_ROOM_LIVE,
	RG_ROOM_NOT_LIVE, /* finished, or a call said it does not exist */
} rg_room_state;

typedef struct rg_registry rg_registry;

/* `max_rooms` bounds the rooms remembered when not live (0: a default);
 * live rooms, which LiveKit's signed events name, are always kept. */
rg_registry *rg_registry_new(size_t max_rooms);
void rg_registry_free(rg_registry *r);

rg_room_state rg_registry_state(rg_registry *r, const char *room);

/* A mark to take before asking LiveKit: what an event changes after it is
 * newer than the answer, so _learned and _reconcile leave it alone. */
uint64_t rg_registry_mark(rg_registry *r);
/* What a ListRooms call asked after `mark` said of one room. */
void rg_registry_learned(rg_registry *r, const char *room, bool live, uint64_t mark);

/* A join token for `room` went to user `owner`, asking for `agents` (JSON
 * array of agent names, may be NULL), valid until `expires`. The user owns
 * the room if it is not live and nobody else holds an unexpired claim.
 * True if that changed the claim (a repeated token within 30 s does not). */
bool rg_registry_issued(rg_registry *r, const char *room, const char *owner,
			const json_t *agents, time_t expires);

/* Webhook event ids: 0 if `id` is new (it is recorded for `ttl` seconds),
 * 1 if it was seen, -1 if the table is full of ids younger than ttl. */
int rg_registry_seen(rg_registry *r, const char *id, time_t now, long ttl);
/* Applies one verified WebhookEvent (LiveKit's protojson). Events of other
 * kinds, or older than what the registry knows of that room, change nothing.
 * Returns 1 when the room became live, -1 when it stopped being live, else 0. */
int rg_registry_event(rg_registry *r, const json_t *event);

/* ListRooms' `rooms` array, asked after `mark`: live rooms it lists, live
 * rooms it does not. `owners` (may be NULL) maps a listed room's name to the
 * owner its metadata records, verified: {"owner","agents"?,"max_session"?};
 * a live room whose owner the registry lost gets that one back, and holds
 * its place under the owner's limits again. Returns what changed,
 * [{"room","was","now"}]; "was": "unknown" is a room learned, not a
 * correction. */
json_t *rg_registry_reconcile(rg_registry *r, const json_t *rooms, const json_t *owners,
			      uint64_t mark);
/* Owners recorded in room metadata (core/link.c writes them): a room that
 * went live with an owner and empty metadata is due to be recorded; the
 * live rooms due, [{"room","owner","agents","max_session"}]; one done. */
void rg_registry_record_due(rg_registry *r, const char *room);
json_t *rg_registry_unrecorded(rg_registry *r);
void rg_registry_recorded(rg_registry *r, const char *room, const char *owner);

/* The live rooms `owner` owns, [{"room_name","created_at","participants",
 * "agents"}], newest first. */
json_t *rg_registry_sessions(rg_registry *r, const char *owner);
/* Whether `owner` owns `room` and it is live. */
bool rg_registry_owns(rg_registry *r, const char *room, const char *owner);
/* The room was deleted through the API: not live, nobody's. */
void rg_registry_ended(rg_registry *r, const char *room);
/* Limits (a rule's "limits"). A session is held from its token until its
 * room finishes, or until the token expires if the room never went live. */
typedef enum rg_reserve {
	RG_RESERVED,      /* a new session: held, counted */
	RG_RESERVE_HELD,  /* the user holds this room already: counted once */
	RG_OVER_LIVE,     /* live_sessions reached */
	RG_OVER_RATE,     /* sessions_per_hour reached */
	RG_RESERVE_NOMEM,
} rg_reserve;
typedef struct rg_usage {
	long live_sessions; /* sessions held */
	long sessions_left; /* new sessions allowed now (-1: no sessions_per_hour) */
} rg_usage;
/* One atomic check-and-reserve of `room` for `user` under `lim`: the token
 * is valid until `until`. Over a limit, *retry_after is the wait that
 * helps (0 if none will). `use` (may be NULL) gets the user's use after. */
rg_reserve rg_registry_reserve(rg_registry *r, const char *room, const char *user,
			       const rg_limits *lim, time_t until, time_t now, long *retry_after,
			       rg_usage *use);
/* Gives back a reservation whose token was not issued after all. */
void rg_registry_unreserve(rg_registry *r, const char *room, const char *user,
			   const rg_limits *lim);
void rg_registry_usage(rg_registry *r, const char *user, const rg_limits *lim, time_t now,
		       rg_usage *use);
/* A room's sessions may last `max_session` seconds (the smallest asked). */
void rg_registry_deadline(rg_registry *r, const char *room, long max_session);
/* Live rooms past their max_session: [{"room","owner","max_session","live_for"}]. */
json_t *rg_registry_overdue(rg_registry *r, time_t now);

/* Sessions with agents and an owner, live or claimed by an unexpired token:
 * [{"room","owner","live","until"}] (to hold them again in a Redis that lost
 * them). */
json_t *rg_registry_claims(rg_registry *r, time_t now);

/* Whether `agent` was dispatched through the API into the live instance of
 * `room` (add: records that it was). Forgotten when the room finishes. */
bool rg_registry_dispatched(rg_registry *r, const char *room, const char *agent, bool add);
/* A dispatch was deleted: the next token for the room asks LiveKit again. */
void rg_registry_forget_dispatches(rg_registry *r, const char *room);

/* Rooms live, rooms remembered in all. */
void rg_registry_counts(rg_registry *r, size_t *live, size_t *known);

#endif
