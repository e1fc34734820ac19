/*
 * link.h - what roomgate knows of LiveKit after a token (link.c): the
 * live-room registry fed by verified webhooks and healed by a reconciler
 * thread (ListRooms at start and every livekit.reconcile_interval), the
 * room-exists check that reads it, and ending a session.
 */
#ifndef RG_CORE_LINK_H
#define RG_CORE_LINK_H

#include <stdbool.h>
#include <stddef.h>

#include "core/config.h"
#include "core/registry.h"
#include "core/shared.h"
#include "livekit/api.h"
#include "roomgate.h"

typedef struct rg_link rg_link;

typedef struct rg_link_stats {
	unsigned long webhooks;           /* verified and applied */
	unsigned long webhook_duplicates; /* verified, id seen before: ignored */
	unsigned long webhook_refused;    /* 401: not verified */
	unsigned long reconciliations;    /* ListRooms reconciliations done */
	unsigned long reconcile_failures;
	unsigned long corrections;        /* rooms a reconciliation corrected */
	unsigned long ended_by_limit;     /* rooms ended at their max_session */
	size_t live_rooms, known_rooms;
	bool synced;                      /* a reconciliation has succeeded */
} rg_link_stats;

/* A link serving `cfg` (a reference is taken). Unless `background` is
 * false, a reconciler thread starts now (it does nothing while the
 * config's reconcile_interval is 0). NULL if out of memory. */
rg_link *rg_link_new(rg_config_t *cfg, bool background);
/* Stops the reconciler and frees. NULL is a no-op. */
void rg_link_free(rg_link *l);
/* The config the reconciler reads from now on (a reference is taken). */
void rg_link_set_config(rg_link *l, rg_config_t *cfg);
rg_registry *rg_link_registry(rg_link *l);
/* The replicas' shared state (state.redis_url), or NULL (in-process). */
rg_shared *rg_link_shared(rg_link *l);
/* A token for `room` went to `owner` (rg_registry_issued), with the
 * smallest max_session of its rule (0: none); every replica learns it. */
void rg_link_claimed(rg_link *l, const char *room, const char *owner, const json_t *agents,
		     time_t until, long max_session);
/* One reconciliation now, in the caller's thread. */
rg_err rg_link_reconcile(rg_link *l, const rg_livekit *lk, rg_error *err);

/* Whether `room` is live: the registry's answer, or (unknown room, or l
 * NULL) one ListRooms call whose answer the registry remembers. */
rg_err rg_link_room_live(rg_link *l, const rg_livekit *lk, const char *room, bool *live,
			 rg_error *err);

/* POST /livekit/webhook: verifies (livekit/webhook.c), drops a repeated
 * event id (*duplicate), applies the event. RG_ERR_UNAUTHENTICATED when it
 * does not verify, RG_ERR_UNAVAILABLE when the id table is full. */
rg_err rg_link_webhook(rg_link *l, const rg_livekit *lk, const char *authorization,
		       const char *body, size_t len, bool *duplicate, rg_error *err);

/* Ends `room` (LiveKit DeleteRoom) for `user`: its owner, or anyone when
 * `any` (a rule's end_any_session). Someone else's room is RG_ERR_NOT_FOUND
 * exactly as a room that does not exist. */
rg_err rg_link_end_session(rg_link *l, const rg_livekit *lk, const char *room, const char *user,
			   bool any, rg_error *err);

/* Ends every live room past its max_session now (the link's thread does
 * this every second). */
rg_err rg_link_enforce(rg_link *l, const rg_livekit *lk, rg_error *err);
/* Records the owner of each live session that LiveKit started since in its
 * room's metadata (livekit/owner.h; UpdateRoomMetadata), so that a roomgate
 * that restarts without Redis learns its owners back from ListRooms (the
 * link's thread does this every second). */
rg_err rg_link_record_owners(rg_link *l, const rg_livekit *lk, rg_error *err);

void rg_link_stats_get(rg_link *l, rg_link_stats *out);

#endif
