/*
 * link.c - roomgate's link to LiveKit after the token.
 *
 * Webhooks are verified, de-duplicated on their event id and applied to the
 * registry in the request that carries them; nothing calls LiveKit back
 * inline. Because webhooks can be lost, a reconciler thread asks ListRooms
 * at start (every 5 s until it first succeeds) and then every
 * livekit.reconcile_interval, corrects the registry and logs each
 * correction. A ticker thread ends the sessions past their max_session and
 * records new sessions' owners, every second (both threads are
 * core/periodic.c loops). The room-exists check costs no call for a room the
 * registry knows; an unknown room costs one, whose answer is remembered.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/error.h"
#include "base/log.h"
#include "base/util.h"
#include "core/link.h"
#include "core/periodic.h"
#include "livekit/owner.h"
#include "livekit/webhook.h"

#define WEBHOOK_ID_TTL 600 /* a webhook's JWT lives 5 min (+ leeway): ids outlive it */
#define RETRY_UNSYNCED 5   /* seconds between reconciliations until one succeeds */

struct rg_link {
	rg_periodic *reconciler, *ticker; /* NULL without background threads */
	bool reconcile_failing, end_failing, record_failing; /* each its own thread's */
	atomic_bool stopping; /* cancels a reconciliation or a listen in flight */
	rg_registry *reg;
	rg_shared *shared;    /* state.redis_url, or NULL */
	pthread_t listener;
	bool listening;
	atomic_bool synced;
	atomic_ulong webhooks, duplicates, refused, reconciliations, reconcile_failures,
		corrections, ended_by_limit;
};

rg_registry *rg_link_registry(rg_link *l)
{
	return l->reg;
}

rg_shared *rg_link_shared(rg_link *l)
{
	return l ? l->shared : NULL;
}

/* A change another replica made: applied here too. */
static void on_shared(void *arg, const char *kind, const json_t *msg)
{
	rg_link *l = arg;
	const char *room = rg_json_str(msg, "room");

	if (!strcmp(kind, "ev")) {
		rg_registry_event(l->reg, json_object_get(msg, "ev"));
	} else if (!strcmp(kind, "claim") && room && rg_json_str(msg, "owner")) {
		rg_registry_issued(l->reg, room, rg_json_str(msg, "owner"),
				   json_object_get(msg, "agents"),
				   (time_t)json_integer_value(json_object_get(msg, "until")));
		rg_registry_deadline(l->reg, room,
				     (long)json_integer_value(json_object_get(msg, "max_session")));
	} else if (!strcmp(kind, "ended") && room) {
		rg_registry_ended(l->reg, room);
	}
}

/* Connected to Redis (again): what this replica knows to be held is held
 * there too, should Redis have lost it (a restart without persistence). */
static void on_connect(void *arg)
{
	rg_link *l = arg;
	json_t *claims = rg_registry_claims(l->reg, rg_now());
	long added;

	if (!claims)
		return;
	if ((added = rg_shared_reassert(l->shared, claims)) > 0)
		rg_log_json("warn", "state_restored", json_pack("{s:I}", "holds", (json_int_t)added));
	json_decref(claims);
}

static void *listener(void *arg)
{
	rg_link *l = arg;

	rg_shared_listen(l->shared, &l->stopping, on_shared, on_connect, l);
	return NULL;
}

void rg_link_claimed(rg_link *l, const char *room, const char *owner, const json_t *agents,
		     time_t until, long max_session)
{
	bool changed = rg_registry_issued(l->reg, room, owner, agents, until);

	rg_registry_deadline(l->reg, room, max_session);
	if (l->shared && changed)
		rg_shared_publish(l->shared, "claim",
				  json_pack("{s:s,s:s,s:O?,s:I,s:I}", "room", room, "owner", owner,
					    "agents", agents, "until", (json_int_t)until,
					    "max_session", (json_int_t)max_session));
}

/* A room ended here: its holders' places are free, every replica knows. */
static void ended(rg_link *l, const char *room)
{
	rg_registry_ended(l->reg, room);
	if (l->shared) {
		rg_shared_room_over(l->shared, room);
		rg_shared_publish(l->shared, "ended", json_pack("{s:s}", "room", room));
	}
}

static void log_corrections(rg_link *l, const json_t *fixed, bool first, size_t listed)
{
	const json_t *c;
	size_t i, n = 0;

	json_array_foreach(fixed, i, c) {
		const char *was = rg_json_str(c, "was");
		if (l->shared && !strcmp(rg_json_str(c, "now"), "live"))
			rg_shared_room_live(l->shared, rg_json_str(c, "room"));
		else if (l->shared)
			rg_shared_room_over(l->shared, rg_json_str(c, "room"));
		if (first || !strcmp(was, "unknown"))
			continue; /* learned, not corrected */
		rg_log_json("warn", "registry_corrected", json_deep_copy(c));
		n++;
	}
	if (first)
		rg_log_json("info", "registry_synced",
			    json_pack("{s:I,s:I}", "live_rooms", (json_int_t)listed, "added",
				      (json_int_t)json_array_size(fixed)));
	atomic_fetch_add(&l->corrections, n);
}

rg_err rg_link_reconcile(rg_link *l, const rg_livekit *lk, rg_error *err)
{
	uint64_t mark = rg_registry_mark(l->reg);
	json_t *rooms = NULL, *owners, *fixed;
	bool first = !atomic_load(&l->synced);
	rg_err rc;

	if ((rc = rg_lk_list_rooms(lk, &l->stopping, &rooms, err))) {
		atomic_fetch_add(&l->reconcile_failures, 1);
		return rc;
	}
	owners = rg_owner_read_rooms(lk->api_secret, rooms);
	fixed = owners ? rg_registry_reconcile(l->reg, rooms, owners, mark) : NULL;
	json_decref(owners);
	if (!fixed) {
		json_decref(rooms);
		return rg_fail(err, RG_ERR_NOMEM, NULL, "out of memory");
	}
	log_corrections(l, fixed, first, json_array_size(rooms));
	atomic_store(&l->synced, true);
	atomic_fetch_add(&l->reconciliations, 1);
	json_decref(fixed);
	json_decref(rooms);
	return RG_OK;
}

/* Logs a step's failure once per outage, not on every try, and its end. */
static void outage(bool *failing, rg_err rc, const rg_error *err, const char *failed,
		   const char *recovered)
{
	if (rc && !*failing)
		rg_log_json("warn", failed, json_pack("{s:s}", "msg", err->message));
	else if (!rc && *failing && recovered)
		rg_log_json("info", recovered, NULL);
	*failing = rc != RG_OK;
}

/* Every reconcile_interval (sooner while never synced). The link's own
 * `stopping` cancels it: rg_link_free sets it before stopping the thread. */
static time_t reconcile_step(void *arg, const rg_config_t *cfg, const atomic_bool *stopping)
{
	rg_link *l = arg;
	long every = cfg->livekit.reconcile_interval;
	rg_error err = {0};

	(void)stopping;
	if (every <= 0)
		return rg_now() + 3600;
	outage(&l->reconcile_failing, rg_link_reconcile(l, &cfg->livekit, &err), &err,
	       "reconcile_failed", "reconcile_recovered");
	return rg_now() + (!atomic_load(&l->synced) && every > RETRY_UNSYNCED ? RETRY_UNSYNCED : every);
}

/* Ends the live rooms past their rule's max_session (DeleteRoom), once per
 * room, wherever the session came from. */
rg_err rg_link_enforce(rg_link *l, const rg_livekit *lk, rg_error *err)
{
	json_t *due = rg_registry_overdue(l->reg, rg_now()), *d;
	rg_err rc = RG_OK;
	size_t i;

	if (!due)
		return rg_fail(err, RG_ERR_NOMEM, NULL, "out of memory");
	json_array_foreach(due, i, d) {
		const char *room = rg_json_str(d, "room");
		rg_error lkerr = {0};
		rg_err e;
		if (l->shared && !rg_shared_end_lock(l->shared, room))
			continue; /* another replica ends it */
		e = rg_lk_delete_room(lk, room, &lkerr);
		if (e == RG_ERR_NOT_FOUND) { /* it closed, or another roomgate ended it */
			ended(l, room);
			continue;
		}
		if (e) {
			if (!rc && err)
				*err = lkerr;
			rc = rc ? rc : e;
			continue;
		}
		ended(l, room);
		atomic_fetch_add(&l->ended_by_limit, 1);
		rg_log_json("info", "session_limit_reached", json_deep_copy(d));
	}
	json_decref(due);
	return rc;
}

/* Records in each new live session's room metadata who owns it (see
 * livekit/owner.h), so that a restart can learn it back. */
rg_err rg_link_record_owners(rg_link *l, const rg_livekit *lk, rg_error *err)
{
	json_t *due = rg_registry_unrecorded(l->reg), *d;
	rg_err rc = RG_OK;
	size_t i;

	if (!due)
		return rg_fail(err, RG_ERR_NOMEM, NULL, "out of memory");
	json_array_foreach(due, i, d) {
		const char *room = rg_json_str(d, "room"), *owner = rg_json_str(d, "owner");
		char *meta = rg_owner_record(
			lk->api_secret, room, owner, json_object_get(d, "agents"),
			(long)json_integer_value(json_object_get(d, "max_session")));
		rg_error lkerr = {0};
		rg_err e = meta ? rg_lk_update_room_metadata(lk, room, meta, &lkerr)
				: rg_fail(&lkerr, RG_ERR_NOMEM, NULL, "out of memory");
		free(meta);
		if (e && e != RG_ERR_NOT_FOUND) { /* tried again in a second */
			if (!rc && err)
				*err = lkerr;
			rc = rc ? rc : e;
			continue;
		}
		rg_registry_recorded(l->reg, room, owner);
	}
	json_decref(due);
	return rc;
}

/* Every second: rooms past max_session are ended, new sessions' owners
 * recorded. */
static time_t tick_step(void *arg, const rg_config_t *cfg, const atomic_bool *stopping)
{
	rg_link *l = arg;
	rg_error err = {0};

	(void)stopping;

	outage(&l->end_failing, rg_link_enforce(l, &cfg->livekit, &err), &err,
	       "session_end_failed", NULL);
	memset(&err, 0, sizeof(err));
	outage(&l->record_failing, rg_link_record_owners(l, &cfg->livekit, &err), &err,
	       "owner_record_failed", NULL);
	return rg_now() + 1;
}

rg_link *rg_link_new(rg_config_t *cfg, bool background)
{
	rg_link *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	if (!(l->reg = rg_registry_new((size_t)cfg->livekit.registry_rooms))) {
		free(l);
		return NULL;
	}
	if (cfg->state.redis_url &&
	    !(l->shared = rg_shared_new(cfg->state.redis_url, cfg->state.timeout_ms, NULL))) {
		rg_registry_free(l->reg);
		free(l);
		return NULL;
	}
	if (background) {
		l->reconciler = rg_periodic_start(cfg, reconcile_step, l);
		l->ticker = rg_periodic_start(cfg, tick_step, l);
	}
	if (background && l->shared && !pthread_create(&l->listener, NULL, listener, l))
		l->listening = true;
	else if (l->shared)
		rg_shared_set_ready(l->shared);
	return l;
}

void rg_link_free(rg_link *l)
{
	if (!l)
		return;
	atomic_store(&l->stopping, true);
	rg_periodic_stop(l->reconciler);
	rg_periodic_stop(l->ticker);
	if (l->listening)
		pthread_join(l->listener, NULL);
	rg_shared_free(l->shared);
	rg_registry_free(l->reg);
	free(l);
}

void rg_link_set_config(rg_link *l, rg_config_t *cfg)
{
	/* the interval or the server may have changed: both run again now */
	rg_periodic_set_config(l->reconciler, cfg);
	rg_periodic_set_config(l->ticker, cfg);
}

rg_err rg_link_room_live(rg_link *l, const rg_livekit *lk, const char *room, bool *live,
			 rg_error *err)
{
	rg_room_state s = l ? rg_registry_state(l->reg, room) : RG_ROOM_UNKNOWN;
	uint64_t mark;
	rg_err rc;

	if (s != RG_ROOM_UNKNOWN) {
		*live = s == RG_ROOM_LIVE;
		return RG_OK;
	}
	mark = l ? rg_registry_mark(l->reg) : 0;
	*live = false;
	if ((rc = rg_lk_room_exists(lk, room, live, err)))
		return rc;
	if (l)
		rg_registry_learned(l->reg, room, *live, mark);
	return RG_OK;
}

rg_err rg_link_webhook(rg_link *l, const rg_livekit *lk, const char *authorization,
		       const char *body, size_t len, bool *duplicate, rg_error *err)
{
	time_t now = rg_now();
	json_t *ev = NULL;
	rg_err rc;
	int seen;

	*duplicate = false;
	if ((rc = rg_webhook_verify(authorization, body, len, lk->api_key, lk->api_secret, now, &ev,
				    err))) {
		atomic_fetch_add(&l->refused, 1);
		return rc;
	}
	seen = -1;
	if (l->shared) /* Redis down: this replica's own table */
		seen = rg_shared_seen(l->shared, rg_json_str(ev, "id"), WEBHOOK_ID_TTL);
	if (seen < 0)
		seen = rg_registry_seen(l->reg, rg_json_str(ev, "id"), now, WEBHOOK_ID_TTL);
	if (seen < 0) {
		rc = rg_fail(err, RG_ERR_UNAVAILABLE, "unavailable",
			     "too many webhook events at once; LiveKit retries");
	} else if (seen) {
		*duplicate = true;
		atomic_fetch_add(&l->duplicates, 1);
	} else {
		int changed = rg_registry_event(l->reg, ev);
		const json_t *info = json_object_get(ev, "room");
		const char *room = rg_json_str(info, "name"), *meta = rg_json_str(info, "metadata");
		atomic_fetch_add(&l->webhooks, 1);
		/* this replica, which LiveKit told, records the owner */
		if (room && changed > 0 && (!meta || !*meta))
			rg_registry_record_due(l->reg, room);
		if (l->shared) {
			if (room && changed > 0)
				rg_shared_room_live(l->shared, room);
			else if (room && changed < 0)
				rg_shared_room_over(l->shared, room);
			rg_shared_publish(l->shared, "ev", json_pack("{s:O}", "ev", ev));
		}
	}
	json_decref(ev);
	return rc;
}

rg_err rg_link_end_session(rg_link *l, const rg_livekit *lk, const char *room, const char *user,
			   bool any, rg_error *err)
{
	rg_error lkerr = {0};
	rg_err rc;

	if (!any && !rg_registry_owns(l->reg, room, user))
		return rg_fail(err, RG_ERR_NOT_FOUND, "not_found", "no live session '%s'", room);
	if ((rc = rg_lk_delete_room(lk, room, &lkerr))) {
		if (rc == RG_ERR_NOT_FOUND)
			return rg_fail(err, RG_ERR_NOT_FOUND, "not_found", "no live session '%s'", room);
		if (err)
			*err = lkerr;
		return rc;
	}
	ended(l, room);
	rg_log_json("info", "session_ended", json_pack("{s:s,s:s}", "room", room, "by", user));
	return RG_OK;
}

void rg_link_stats_get(rg_link *l, rg_link_stats *out)
{
	memset(out, 0, sizeof(*out));
	out->webhooks = atomic_load(&l->webhooks);
	out->webhook_duplicates = atomic_load(&l->duplicates);
	out->webhook_refused = atomic_load(&l->refused);
	out->reconciliations = atomic_load(&l->reconciliations);
	out->reconcile_failures = atomic_load(&l->reconcile_failures);
	out->corrections = atomic_load(&l->corrections);
	out->ended_by_limit = atomic_load(&l->ended_by_limit);
	out->synced = atomic_load(&l->synced);
	rg_registry_counts(l->reg, &out->live_rooms, &out->known_rooms);
}
