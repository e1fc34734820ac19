/*
 * shared.h - state shared by replicas in Redis (shared.c): quota
 * reservations and counters, who holds which room, webhook event ids, the
 * lock that ends a room once, and the channel that carries registry changes
 * (webhook events, claims, ended rooms) to every replica.
 *
 * Keys (every atomic step touches one hash tag, so the scripts run on a
 * Redis Cluster too):
 *   rg:{u:USER}:holds    ZSET room -> token expiry (+inf once the room is live)
 *   rg:{u:USER}:tat      GCRA's theoretical arrival time (sessions_per_hour)
 *   rg:{r:ROOM}:holders  SET of users holding ROOM
 *   rg:{r:ROOM}:ending   the lock of the replica that ends ROOM at max_session
 *   rg:{e:ID}            a webhook event id, for 10 minutes
 *   channel rg:events    registry changes, JSON {"o": origin, "t": kind, ...}
 */
#ifndef RG_CORE_SHARED_H
#define RG_CORE_SHARED_H

#include <jansson.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <time.h>

#include "base/redis.h"
#include "core/config.h"
#include "core/registry.h"
#include "roomgate.h"

typedef struct rg_shared rg_shared;

/* A client of the Redis at `url`; connects on first use. */
rg_shared *rg_shared_new(const char *url, long timeout_ms, rg_error *err);
void rg_shared_free(rg_shared *s);
bool rg_shared_up(rg_shared *s);
/* The connection pool (for the failed-login budgets in auth/). */
rg_redis *rg_shared_redis(rg_shared *s);
/* Reservations wait for rg_shared_listen's first connection (which
 * restores what Redis may have lost); without a listener, call this. */
void rg_shared_set_ready(rg_shared *s);
/* One PING: whether Redis answers now. */
bool rg_shared_ping(rg_shared *s);
/* This process's id on the channel. */
const char *rg_shared_origin(rg_shared *s);

/* rg_registry_reserve's contract, on Redis, in one script (one round
 * trip); a new session also records its holder (one more). Redis down:
 * RG_ERR_UNAVAILABLE (state_unavailable). */
rg_err rg_shared_reserve(rg_shared *s, const char *room, const char *user, const rg_limits *lim,
			 time_t until, time_t now, rg_reserve *out, long *retry_after,
			 rg_usage *use, rg_error *err);
void rg_shared_unreserve(rg_shared *s, const char *room, const char *user, const rg_limits *lim);
rg_err rg_shared_usage(rg_shared *s, const char *user, const rg_limits *lim, time_t now,
		       rg_usage *use, rg_error *err);
/* The room went live: its holders keep it until it finishes. */
void rg_shared_room_live(rg_shared *s, const char *room);
/* The room finished or was ended: its holders' places are free. */
void rg_shared_room_over(rg_shared *s, const char *room);

/* Holds again what `claims` (rg_registry_claims) says, where Redis has
 * none: after Redis lost its data. Returns how many it added. */
long rg_shared_reassert(rg_shared *s, const json_t *claims);

/* A webhook event id: 0 new (recorded), 1 seen before, -1 Redis failed. */
int rg_shared_seen(rg_shared *s, const char *id, long ttl);
/* True for the one replica that may end `room` now. */
bool rg_shared_end_lock(rg_shared *s, const char *room);

/* Sends a registry change to every replica (origin added). */
void rg_shared_publish(rg_shared *s, const char *kind, json_t *msg);
/* Until *stop: receives the changes other replicas send and calls fn for
 * each (kind, message); reconnects by itself, calls on_connect after each
 * (re)subscription. Run in a thread of its own. */
void rg_shared_listen(rg_shared *s, atomic_bool *stop,
		      void (*fn)(void *arg, const char *kind, const json_t *msg),
		      void (*on_connect)(void *arg), void *arg);

#endif
