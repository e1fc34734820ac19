/*
 * registry.c - the in-process live-room registry and webhook id table.
 *
 * Rooms sit in a chained hash table keyed by SipHash (room names come from
 * clients too) and on one list, most recently changed first. Rooms that are
 * not live are remembered up to a bound; past it the least recently changed
 * one that nobody holds a claim on is forgotten (it then costs one call
 * again). Live rooms are always kept: LiveKit's signed events name them.
 *
 * LiveKit sends each room's events in order but may drop or repeat them, so
 * every change is guarded by the room's sid: an event for an instance that
 * has finished is stale. Each change by an event takes the next sequence
 * number; an answer from LiveKit asked before that change is older than it
 * and does not overwrite it.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/hash.h"
#include "base/util.h"
#include "core/registry.h"

#define ROOM_BUCKETS 65536
#define ID_BUCKETS 65536
#define MAX_IDS 131072
#define MAX_TRACKED 1024 /* participants and jobs tracked per room */
#define DEFAULT_ROOMS 100000
#define USER_BUCKETS 4096

/* Whether the room's owner is recorded in its LiveKit metadata (so that a
 * roomgate that restarts learns it back from ListRooms). */
typedef enum rec_state { REC_NONE, REC_DUE, REC_DONE } rec_state;

typedef struct room {
	struct room *chain;
	struct room *newer, *older;
	uint64_t hash, seq;
	char *name;
	rg_room_state state;
	char sid[64], finished_sid[64];
	time_t created_at;
	long count;          /* num_participants from ListRooms */
	json_t *participants;/* identity -> kind */
	json_t *jobs;        /* job id -> agent name */
	json_t *dispatched;  /* agent names dispatched through the API in this instance */
	char *owner;
	json_t *agents;      /* agent names asked for */
	time_t claim_until;  /* the owner's token expiry */
	uint64_t gen;        /* changes when the room is made and when it finishes */
	long max_session;    /* seconds it may be live (the smallest limit asked), 0: none */
	rec_state rec;       /* the owner recorded in the room's metadata */
} room;

/* A session a user holds (limits): a room, in the instance `gen` of it, held
 * while it is live or, before that, until its token expires. */
typedef struct hold {
	char *room;
	uint64_t gen;
	time_t until;
} hold;

typedef struct quser {
	struct quser *chain;
	uint64_t hash;
	double tat;          /* GCRA: theoretical arrival time of the next session */
	hold *holds;
	size_t n_holds, cap_holds;
	size_t n_kept;       /* holds left by the last prune */
	char name[];
} quser;

typedef struct seen_id {
	struct seen_id *chain, *next;
	uint64_t hash;
	time_t at;
	char id[];
} seen_id;

struct rg_registry {
	pthread_rwlock_t lock; /* read: lookups and listings; write: changes */
	rg_hash_key key;
	size_t max_rooms, n_rooms, n_live;
	uint64_t seq;
	room **buckets;
	room *newest, *oldest;
	seen_id **ids;
	seen_id *first_id, *last_id; /* oldest first */
	size_t n_ids;
	bool hooks; /* a webhook event was applied: LiveKit tells of rooms starting */
	uint64_t gens;
	quser **users;      /* who holds sessions under limits */
	size_t n_users, n_deadlines;
	size_t n_rec_due;   /* live rooms whose owner is still to be recorded */
};

rg_registry *rg_registry_new(size_t max_rooms)
{
	rg_registry *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->max_rooms = max_rooms ? max_rooms : DEFAULT_ROOMS;
	if (rg_hash_key_new(&r->key) || !(r->buckets = calloc(ROOM_BUCKETS, sizeof(room *))) ||
	    !(r->ids = calloc(ID_BUCKETS, sizeof(seen_id *))) ||
	    !(r->users = calloc(USER_BUCKETS, sizeof(quser *)))) {
		free(r->buckets);
		free(r->ids);
		free(r);
		return NULL;
	}
	pthread_rwlock_init(&r->lock, NULL);
	return r;
}

static void room_forget_session(room *rm)
{
	json_decref(rm->participants);
	json_decref(rm->jobs);
	json_decref(rm->agents);
	json_decref(rm->dispatched);
	free(rm->owner);
	rm->participants = rm->jobs = rm->agents = rm->dispatched = NULL;
	rm->owner = NULL;
	rm->claim_until = 0;
	rm->count = 0;
}

static void room_free(room *rm)
{
	room_forget_session(rm);
	free(rm->name);
	free(rm);
}

static void quser_free(quser *u)
{
	for (size_t i = 0; i < u->n_holds; i++)
		free(u->holds[i].room);
	free(u->holds);
	free(u);
}

void rg_registry_free(rg_registry *r)
{
	if (!r)
		return;
	while (r->newest) {
		room *next = r->newest->older;
		room_free(r->newest);
		r->newest = next;
	}
	while (r->first_id) {
		seen_id *next = r->first_id->next;
		free(r->first_id);
		r->first_id = next;
	}
	for (size_t i = 0; i < USER_BUCKETS; i++)
		while (r->users[i]) {
			quser *next = r->users[i]->chain;
			quser_free(r->users[i]);
			r->users[i] = next;
		}
	free(r->users);
	free(r->buckets);
	free(r->ids);
	pthread_rwlock_destroy(&r->lock);
	free(r);
}

/* ------------------------------------------------------------------ rooms */

static room *find(rg_registry *r, const char *name)
{
	uint64_t h = rg_siphash(&r->key, name, strlen(name));

	for (room *rm = r->buckets[h & (ROOM_BUCKETS - 1)]; rm; rm = rm->chain)
		if (rm->hash == h && !strcmp(rm->name, name))
			return rm;
	return NULL;
}

static void unlink_list(rg_registry *r, room *rm)
{
	if (rm->newer)
		rm->newer->older = rm->older;
	else
		r->newest = rm->older;
	if (rm->older)
		rm->older->newer = rm->newer;
	else
		r->oldest = rm->newer;
	rm->newer = rm->older = NULL;
}

static void push_newest(rg_registry *r, room *rm)
{
	rm->older = r->newest;
	if (r->newest)
		r->newest->newer = rm;
	r->newest = rm;
	if (!r->oldest)
		r->oldest = rm;
}

static void touch(rg_registry *r, room *rm)
{
	unlink_list(r, rm);
	push_newest(r, rm);
}

static void remove_room(rg_registry *r, room *rm)
{
	room **p = &r->buckets[rm->hash & (ROOM_BUCKETS - 1)];

	while (*p != rm)
		p = &(*p)->chain;
	*p = rm->chain;
	unlink_list(r, rm);
	r->n_rooms--;
	if (rm->max_session)
		r->n_deadlines--;
	if (rm->rec == REC_DUE)
		r->n_rec_due--;
	room_free(rm);
}

static void set_state(rg_registry *r, room *rm, rg_room_state s)
{
	if (rm->state == RG_ROOM_LIVE && s != RG_ROOM_LIVE)
		r->n_live--;
	else if (rm->state != RG_ROOM_LIVE && s == RG_ROOM_LIVE)
		r->n_live++;
	rm->state = s;
}

static void set_rec(rg_registry *r, room *rm, rec_state rec)
{
	if (rm->rec == REC_DUE)
		r->n_rec_due--;
	if (rec == REC_DUE)
		r->n_rec_due++;
	rm->rec = rec;
}

/* Room a room over the bound may take: the least recently changed one that
 * is not live and holds no unexpired claim (a few looked at, no more). */
static bool make_room(rg_registry *r, time_t now)
{
	int looked = 0;

	for (room *rm = r->oldest; rm && looked < 64; rm = rm->newer, looked++)
		if (rm->state != RG_ROOM_LIVE && (!rm->owner || rm->claim_until < now)) {
			remove_room(r, rm);
			return true;
		}
	return false;
}

/* The room `name`, made (state unknown) if missing; NULL if it may not be
 * (the bound, unless `always`) or out of memory. */
static room *get(rg_registry *r, const char *name, bool always)
{
	room *rm = find(r, name);
	uint64_t h;

	if (rm)
		return rm;
	if (r->n_rooms - r->n_live >= r->max_rooms && !make_room(r, rg_now()) && !always)
		return NULL;
	if (!(rm = calloc(1, sizeof(*rm))) || !(rm->name = strdup(name))) {
		free(rm);
		return NULL;
	}
	rm->gen = ++r->gens;
	h = rm->hash = rg_siphash(&r->key, name, strlen(name));
	rm->chain = r->buckets[h & (ROOM_BUCKETS - 1)];
	r->buckets[h & (ROOM_BUCKETS - 1)] = rm;
	push_newest(r, rm);
	r->n_rooms++;
	return rm;
}

rg_room_state rg_registry_state(rg_registry *r, const char *room_name)
{
	rg_room_state s;
	room *rm;

	pthread_rwlock_rdlock(&r->lock);
	rm = find(r, room_name);
	s = rm ? rm->state : RG_ROOM_UNKNOWN;
	pthread_rwlock_unlock(&r->lock);
	return s;
}

uint64_t rg_registry_mark(rg_registry *r)
{
	uint64_t m;

	pthread_rwlock_rdlock(&r->lock);
	m = r->seq;
	pthread_rwlock_unlock(&r->lock);
	return m;
}

void rg_registry_learned(rg_registry *r, const char *room_name, bool live, uint64_t mark)
{
	room *rm;

	pthread_rwlock_wrlock(&r->lock);
	if ((rm = get(r, room_name, false)) && rm->seq <= mark &&
	    (rm->state == RG_ROOM_UNKNOWN || (rm->state == RG_ROOM_LIVE) != live)) {
		set_state(r, rm, live ? RG_ROOM_LIVE : RG_ROOM_NOT_LIVE);
		touch(r, rm);
	}
	pthread_rwlock_unlock(&r->lock);
}

/* Not live, as a call said, with no webhooks to say when that changes. */
static bool stale(const rg_registry *r, const room *rm)
{
	return rm->state == RG_ROOM_NOT_LIVE && !r->hooks;
}

#define CLAIM_SLACK 30 /* seconds a claim's end may lag its newest token's */

/* The claim is already there, as good as this token makes it. */
static bool same_claim(const room *rm, const char *owner, const json_t *agents, time_t expires)
{
	return rm->owner && !strcmp(rm->owner, owner) && rm->claim_until + CLAIM_SLACK >= expires &&
	       (!json_array_size(agents) || json_equal(rm->agents, agents));
}

bool rg_registry_issued(rg_registry *r, const char *room_name, const char *owner,
			const json_t *agents, time_t expires)
{
	time_t now = rg_now();
	room *rm;
	bool done, changed = false;

	/* the common case, a repeated request, under the read lock alone */
	pthread_rwlock_rdlock(&r->lock);
	rm = find(r, room_name);
	done = rm && (rm->state == RG_ROOM_LIVE ||
		      (same_claim(rm, owner, agents, expires) && !stale(r, rm)));
	pthread_rwlock_unlock(&r->lock);
	if (done)
		return false;
	pthread_rwlock_wrlock(&r->lock);
	if (!(rm = get(r, room_name, false)) || rm->state == RG_ROOM_LIVE)
		goto out;
	/* Without webhooks nothing would tell that this token's holder started
	 * the room: the next check asks LiveKit again. */
	if (stale(r, rm))
		rm->state = RG_ROOM_UNKNOWN;
	if (same_claim(rm, owner, agents, expires))
		goto out;
	if (rm->owner && strcmp(rm->owner, owner) && rm->claim_until >= now)
		goto out;
	if (!rm->owner || strcmp(rm->owner, owner)) {
		room_forget_session(rm);
		if (!(rm->owner = strdup(owner)))
			goto out;
	}
	if (json_array_size(agents)) {
		json_decref(rm->agents);
		rm->agents = json_deep_copy(agents);
	}
	if (expires > rm->claim_until)
		rm->claim_until = expires;
	touch(r, rm);
	changed = true;
out:
	pthread_rwlock_unlock(&r->lock);
	return changed;
}

bool rg_registry_owns(rg_registry *r, const char *room_name, const char *owner)
{
	bool yes;
	room *rm;

	pthread_rwlock_rdlock(&r->lock);
	rm = find(r, room_name);
	yes = rm && rm->state == RG_ROOM_LIVE && rm->owner && !strcmp(rm->owner, owner);
	pthread_rwlock_unlock(&r->lock);
	return yes;
}

static void finish(rg_registry *r, room *rm)
{
	if (rm->sid[0])
		memcpy(rm->finished_sid, rm->sid, sizeof(rm->sid));
	rm->sid[0] = '\0';
	set_state(r, rm, RG_ROOM_NOT_LIVE);
	room_forget_session(rm);
	rm->gen = ++r->gens;
	if (rm->max_session)
		r->n_deadlines--;
	rm->max_session = 0;
	set_rec(r, rm, REC_NONE);
	touch(r, rm);
}

void rg_registry_ended(rg_registry *r, const char *room_name)
{
	room *rm;

	pthread_rwlock_wrlock(&r->lock);
	if ((rm = find(r, room_name))) {
		rm->seq = ++r->seq;
		finish(r, rm);
	}
	pthread_rwlock_unlock(&r->lock);
}

void rg_registry_counts(rg_registry *r, size_t *live, size_t *known)
{
	pthread_rwlock_rdlock(&r->lock);
	*live = r->n_live;
	*known = r->n_rooms;
	pthread_rwlock_unlock(&r->lock);
}

/* ------------------------------------------------------------------ webhook ids */

int rg_registry_seen(rg_registry *r, const char *id, time_t now, long ttl)
{
	uint64_t h = rg_siphash(&r->key, id, strlen(id));
	seen_id **b, *s;
	int rc = 0;

	pthread_rwlock_wrlock(&r->lock);
	while (r->first_id && r->first_id->at + ttl < now) { /* expired, oldest first */
		seen_id *old = r->first_id, **p = &r->ids[old->hash & (ID_BUCKETS - 1)];
		while (*p != old)
			p = &(*p)->chain;
		*p = old->chain;
		r->first_id = old->next;
		if (!r->first_id)
			r->last_id = NULL;
		r->n_ids--;
		free(old);
	}
	b = &r->ids[h & (ID_BUCKETS - 1)];
	for (s = *b; s; s = s->chain)
		if (s->hash == h && !strcmp(s->id, id)) {
			rc = 1;
			goto out;
		}
	if (r->n_ids >= MAX_IDS || !(s = malloc(sizeof(*s) + strlen(id) + 1))) {
		rc = -1;
		goto out;
	}
	s->hash = h;
	s->at = now;
	s->next = NULL;
	strcpy(s->id, id);
	s->chain = *b;
	*b = s;
	if (r->last_id)
		r->last_id->next = s;
	else
		r->first_id = s;
	r->last_id = s;
	r->n_ids++;
out:
	pthread_rwlock_unlock(&r->lock);
	return rc;
}

/* ------------------------------------------------------------------ events */

/* protojson writes 64-bit integers as strings. */
static long long json_int_any(const json_t *v)
{
	if (json_is_integer(v))
		return (long long)json_integer_value(v);
	if (json_is_string(v))
		return strtoll(json_string_value(v), NULL, 10);
	return 0;
}

/* A room's field: webhooks are protojson (camelCase), LiveKit's Twirp API
 * answers with the proto's own names (ListRooms: num_participants,
 * creation_time). */
static const json_t *room_field(const json_t *info, const char *camel, const char *proto)
{
	const json_t *v = json_object_get(info, camel);

	return v ? v : json_object_get(info, proto);
}

static void copy_sid(char *dst, const char *sid)
{
	rg_copy(dst, 64, sid ? sid : "");
}

/* The room instance an event speaks of is live: false if the event is stale
 * (its instance finished). */
static bool started(rg_registry *r, room *rm, const json_t *info)
{
	const char *sid = rg_json_str(info, "sid");
	long long created = json_int_any(room_field(info, "creationTime", "creation_time"));

	if (sid && *sid && !strcmp(sid, rm->finished_sid))
		return false;
	if (rm->state == RG_ROOM_LIVE && sid && *sid && rm->sid[0] && strcmp(sid, rm->sid)) {
		/* a new instance: the finish of the old one was lost */
		memcpy(rm->finished_sid, rm->sid, sizeof(rm->sid));
		json_decref(rm->participants);
		json_decref(rm->jobs);
		json_decref(rm->dispatched);
		rm->participants = rm->jobs = rm->dispatched = NULL;
		set_rec(r, rm, REC_NONE);
	}
	if (sid && *sid)
		copy_sid(rm->sid, sid);
	if (created > 0)
		rm->created_at = (time_t)created;
	else if (rm->state != RG_ROOM_LIVE || !rm->created_at)
		rm->created_at = rg_now();
	set_state(r, rm, RG_ROOM_LIVE);
	return true;
}

static void track(json_t **set, const char *key, const char *value)
{
	if (!*set && !(*set = json_object()))
		return;
	if (json_object_size(*set) < MAX_TRACKED || json_object_get(*set, key))
		json_object_set_new(*set, key, json_string(value));
}

static void apply(rg_registry *r, room *rm, const char *ev, const json_t *event,
		  const json_t *info)
{
	const json_t *p = json_object_get(event, "participant");
	const json_t *job = json_object_get(event, "job");
	const char *sid = rg_json_str(info, "sid"), *who;
	char key[300];

	if (!strcmp(ev, "room_finished")) {
		/* a stale finish (another instance) or one already applied */
		if (rm->state == RG_ROOM_LIVE && (!sid || !rm->sid[0] || !strcmp(sid, rm->sid)))
			finish(r, rm);
		else if (rm->state != RG_ROOM_LIVE && sid)
			copy_sid(rm->finished_sid, sid);
		return;
	}
	if (!started(r, rm, info))
		return;
	if (!strcmp(ev, "participant_joined") && (who = rg_json_str(p, "identity"))) {
		const char *kind = rg_json_str(p, "kind");
		const char *agent = rg_json_str(json_object_get(p, "attributes"), "lk.agent.name");
		track(&rm->participants, who, kind ? kind : "STANDARD");
		/* an agent's job as its participant shows it: livekit-server
		 * v1.13 sends no agent_job_* webhooks */
		if (kind && !strcmp(kind, "AGENT") && agent && snprintf(key, sizeof(key), "p:%s", who) <
								       (int)sizeof(key))
			track(&rm->jobs, key, agent);
	} else if ((!strcmp(ev, "participant_left") ||
		    !strcmp(ev, "participant_connection_aborted")) &&
		   (who = rg_json_str(p, "identity"))) {
		json_object_del(rm->participants, who);
		if (snprintf(key, sizeof(key), "p:%s", who) < (int)sizeof(key))
			json_object_del(rm->jobs, key);
	} else if (!strcmp(ev, "agent_job_started") && rg_json_str(job, "id")) {
		const char *an = rg_json_str(job, "agentName");
		track(&rm->jobs, rg_json_str(job, "id"), an ? an : "");
	} else if (!strcmp(ev, "agent_job_ended") && rg_json_str(job, "id")) {
		json_object_del(rm->jobs, rg_json_str(job, "id"));
	}
}

int rg_registry_event(rg_registry *r, const json_t *event)
{
	static const char *const kinds[] = {"room_started", "room_finished", "participant_joined",
					    "participant_left", "participant_connection_aborted",
					    "agent_job_started", "agent_job_ended"};
	const char *ev = rg_json_str(event, "event");
	const json_t *info = json_object_get(event, "room");
	const char *name;
	bool known = false;
	int changed = 0;
	room *rm;

	for (size_t i = 0; ev && i < sizeof(kinds) / sizeof(kinds[0]); i++)
		known |= !strcmp(ev, kinds[i]);
	if (!known)
		return 0;
	if (!info && json_object_get(event, "job"))
		info = json_object_get(json_object_get(event, "job"), "room");
	if (!(name = rg_json_str(info, "name")) || !*name)
		return 0;
	pthread_rwlock_wrlock(&r->lock);
	if ((rm = get(r, name, true))) {
		bool was_live = rm->state == RG_ROOM_LIVE;
		rm->seq = ++r->seq;
		r->hooks = true;
		apply(r, rm, ev, event, info);
		touch(r, rm);
		changed = (rm->state == RG_ROOM_LIVE) - was_live;
	}
	pthread_rwlock_unlock(&r->lock);
	return changed;
}

/* ------------------------------------------------------------------ reconciliation */

static void corrected(json_t *out, const char *name, const char *was, const char *now)
{
	json_array_append_new(out, json_pack("{s:s,s:s,s:s}", "room", name, "was", was, "now", now));
}

static const char *state_name(rg_room_state s)
{
	return s == RG_ROOM_LIVE ? "live" : s == RG_ROOM_NOT_LIVE ? "not_live" : "unknown";
}

static void set_deadline(rg_registry *r, room *rm, long max_session);
static quser *user_find(rg_registry *r, const char *name, bool make);
static bool hold_add(quser *u, const room *rm, time_t until);

/* A live room whose owner this registry does not know, as its metadata
 * records it: the owner holds it again (a restart lost it). */
static void adopt(rg_registry *r, room *rm, const json_t *rec)
{
	const json_t *agents = json_object_get(rec, "agents");
	quser *u;

	if (!(rm->owner = strdup(rg_json_str(rec, "owner"))))
		return;
	json_decref(rm->agents);
	rm->agents = json_array_size(agents) ? json_deep_copy(agents) : NULL;
	set_deadline(r, rm, (long)json_integer_value(json_object_get(rec, "max_session")));
	if (rm->agents && (u = user_find(r, rm->owner, true)))
		hold_add(u, rm, 0);
}

/* What ListRooms says of a live room's owner: `rec` is the owner its
 * metadata records (verified by the caller), or NULL. */
static void owner_listed(rg_registry *r, room *rm, const json_t *rec, const char *metadata)
{
	const char *owner = rg_json_str(rec, "owner");

	if (owner && !rm->owner)
		adopt(r, rm, rec);
	if (owner && rm->owner && !strcmp(owner, rm->owner))
		set_rec(r, rm, REC_DONE);
	else if (rm->owner && rm->rec == REC_NONE && (!metadata || !*metadata))
		set_rec(r, rm, REC_DUE);
}

json_t *rg_registry_reconcile(rg_registry *r, const json_t *rooms, const json_t *owners,
			      uint64_t mark)
{
	json_t *out = json_array(), *listed = json_object(), *info;
	size_t i;

	if (!out || !listed) {
		json_decref(out);
		json_decref(listed);
		return NULL;
	}
	pthread_rwlock_wrlock(&r->lock);
	json_array_foreach(rooms, i, info) {
		const char *name = rg_json_str(info, "name"), *sid = rg_json_str(info, "sid");
		room *rm;
		if (!name || !*name || !(rm = get(r, name, true)))
			continue;
		json_object_set_new(listed, name, json_true());
		if (rm->seq <= mark) {
			/* a room it did not know of is learned ("was": "unknown"),
			 * not corrected */
			if (rm->state != RG_ROOM_LIVE || (sid && rm->sid[0] && strcmp(sid, rm->sid)))
				corrected(out, name, state_name(rm->state), "live");
			if (sid && !strcmp(sid, rm->finished_sid))
				rm->finished_sid[0] = '\0'; /* LiveKit says it is live: it is */
			started(r, rm, info);
			rm->count = (long)json_int_any(
				room_field(info, "numParticipants", "num_participants"));
			touch(r, rm);
		}
		if (rm->state == RG_ROOM_LIVE && (!sid || !strcmp(sid, rm->sid)))
			owner_listed(r, rm, json_object_get(owners, name),
				     rg_json_str(info, "metadata"));
	}
	for (room *rm = r->newest, *next; rm; rm = next) {
		next = rm->older;
		if (rm->state == RG_ROOM_LIVE && rm->seq <= mark && !json_object_get(listed, rm->name)) {
			corrected(out, rm->name, "live", "not_live");
			finish(r, rm);
		}
	}
	pthread_rwlock_unlock(&r->lock);
	json_decref(listed);
	return out;
}

void rg_registry_record_due(rg_registry *r, const char *room_name)
{
	room *rm;

	pthread_rwlock_wrlock(&r->lock);
	if ((rm = find(r, room_name)) && rm->state == RG_ROOM_LIVE && rm->owner &&
	    rm->rec == REC_NONE)
		set_rec(r, rm, REC_DUE);
	pthread_rwlock_unlock(&r->lock);
}

json_t *rg_registry_unrecorded(rg_registry *r)
{
	json_t *out = json_array();

	if (!out)
		return NULL;
	pthread_rwlock_rdlock(&r->lock);
	if (r->n_rec_due)
		for (room *rm = r->newest; rm; rm = rm->older)
			if (rm->rec == REC_DUE && rm->state == RG_ROOM_LIVE && rm->owner)
				json_array_append_new(
					out, json_pack("{s:s,s:s,s:O?,s:I}", "room", rm->name, "owner",
						       rm->owner, "agents", rm->agents, "max_session",
						       (json_int_t)rm->max_session));
	pthread_rwlock_unlock(&r->lock);
	return out;
}

void rg_registry_recorded(rg_registry *r, const char *room_name, const char *owner)
{
	room *rm;

	pthread_rwlock_wrlock(&r->lock);
	if ((rm = find(r, room_name)) && rm->rec == REC_DUE && rm->owner &&
	    !strcmp(rm->owner, owner))
		set_rec(r, rm, REC_DONE);
	pthread_rwlock_unlock(&r->lock);
}

/* ------------------------------------------------------------------ sessions */

static json_t *session_json(const room *rm)
{
	json_t *agents = json_array(), *a;
	size_t i, n = json_object_size(rm->participants);

	json_array_foreach(rm->agents, i, a) {
		const char *name = json_string_value(a), *job_agent;
		const char *jid;
		json_t *jv;
		bool running = false;
		json_object_foreach(rm->jobs, jid, jv)
			if ((job_agent = json_string_value(jv)) && name && !strcmp(job_agent, name))
				running = true;
		json_array_append_new(agents, json_pack("{s:s?,s:b}", "agent_name", name, "running",
							running));
	}
	return json_pack("{s:s,s:I,s:I,s:o}", "room_name", rm->name, "created_at",
			 (json_int_t)rm->created_at, "participants",
			 (json_int_t)(n ? (long)n : rm->count), "agents", agents);
}

json_t *rg_registry_sessions(rg_registry *r, const char *owner)
{
	json_t *out = json_array();

	if (!out)
		return NULL;
	pthread_rwlock_rdlock(&r->lock);
	for (room *rm = r->newest; rm; rm = rm->older)
		if (rm->state == RG_ROOM_LIVE && rm->owner && !strcmp(rm->owner, owner))
			json_array_append_new(out, session_json(rm));
	pthread_rwlock_unlock(&r->lock);
	return out;
}

/* ------------------------------------------------------------------ limits */

static void *grow(void *p, size_t *cap, size_t size)
{
	size_t n = *cap ? *cap * 2 : 4;
	void *q = realloc(p, n * size);

	if (q)
		*cap = n;
	return q;
}

static void usage(const quser *u, const rg_limits *lim, time_t now, rg_usage *use)
{
	use->live_sessions = (long)u->n_holds;
	use->sessions_left = -1;
	if (lim->sessions_per_hour) {
		double period = 3600.0 / (double)lim->sessions_per_hour;
		double tat = u->tat > (double)now ? u->tat : (double)now;
		long left = (long)((3600.0 - (tat - (double)now)) / period + 1e-9);
		use->sessions_left = left < 0 ? 0 : left > lim->sessions_per_hour ? lim->sessions_per_hour
										     : left;
	}
}

static quser *user_find(rg_registry *r, const char *name, bool make)
{
	uint64_t h = rg_siphash(&r->key, name, strlen(name));
	quser **head = &r->users[h & (USER_BUCKETS - 1)], *u;
	size_t len = strlen(name);

	for (u = *head; u; u = u->chain)
		if (u->hash == h && !strcmp(u->name, name))
			return u;
	if (!make || !(u = calloc(1, sizeof(*u) + len + 1)))
		return NULL;
	memcpy(u->name, name, len + 1);
	u->hash = h;
	u->chain = *head;
	*head = u;
	r->n_users++;
	return u;
}

static bool hold_add(quser *u, const room *rm, time_t until)
{
	void *grown;
	char *name;

	if (u->n_holds == u->cap_holds) {
		if (!(grown = grow(u->holds, &u->cap_holds, sizeof(hold))))
			return false;
		u->holds = grown;
	}
	if (!(name = strdup(rm->name)))
		return false;
	u->holds[u->n_holds++] = (hold){.room = name, .gen = rm->gen, .until = until};
	return true;
}

static void hold_drop(quser *u, size_t i)
{
	free(u->holds[i].room);
	u->holds[i] = u->holds[--u->n_holds];
}

static bool hold_valid(rg_registry *r, const hold *h, time_t now)
{
	room *rm = find(r, h->room);

	return rm && rm->gen == h->gen && (rm->state == RG_ROOM_LIVE || h->until >= now);
}

/* Drops the holds that ended (room finished, or token expired before the
 * room went live). */
static void prune(rg_registry *r, quser *u, time_t now)
{
	for (size_t i = 0; i < u->n_holds;) {
		if (hold_valid(r, &u->holds[i], now))
			i++;
		else
			hold_drop(u, i);
	}
	u->n_kept = u->n_holds;
}

/* Seconds until one of u's holds may end by itself: a token expiring
 * unused, a room reaching max_session; 0 if none will. */
static long next_free(rg_registry *r, const quser *u, time_t now)
{
	long best = 0;

	for (size_t i = 0; i < u->n_holds; i++) {
		room *rm = find(r, u->holds[i].room);
		long wait = 0;
		if (rm && rm->state != RG_ROOM_LIVE)
			wait = (long)(u->holds[i].until - now) + 1;
		else if (rm && rm->max_session)
			wait = (long)(rm->created_at + rm->max_session - now) + 1;
		if (wait > 0 && (!best || wait < best))
			best = wait;
	}
	return best;
}

static void user_release(rg_registry *r, quser *u, double now)
{
	quser **p;

	if (u->n_holds || u->tat > now)
		return;
	for (p = &r->users[u->hash & (USER_BUCKETS - 1)]; *p != u; p = &(*p)->chain)
		;
	*p = u->chain;
	r->n_users--;
	quser_free(u);
}

/* The smallest max_session asked for the room counts. */
static void set_deadline(rg_registry *r, room *rm, long max_session)
{
	if (max_session && (!rm->max_session || max_session < rm->max_session)) {
		if (!rm->max_session)
			r->n_deadlines++;
		rm->max_session = max_session;
	}
}

void rg_registry_deadline(rg_registry *r, const char *room_name, long max_session)
{
	room *rm;

	if (!max_session)
		return;
	pthread_rwlock_wrlock(&r->lock);
	if ((rm = get(r, room_name, true)))
		set_deadline(r, rm, max_session);
	pthread_rwlock_unlock(&r->lock);
}

rg_reserve rg_registry_reserve(rg_registry *r, const char *room_name, const char *user,
			       const rg_limits *lim, time_t until, time_t now, long *retry_after,
			       rg_usage *use)
{
	rg_reserve out = RG_RESERVED;
	double period, tat;
	bool known;
	quser *u;
	room *rm;

	*retry_after = 0;
	pthread_rwlock_wrlock(&r->lock);
	if (!(u = user_find(r, user, true))) {
		out = RG_RESERVE_NOMEM;
		goto done;
	}
	/* a room the registry does not know (a new session's) is held by nobody */
	known = find(r, room_name) != NULL;
	for (size_t i = 0; known && i < u->n_holds; i++)
		if (!strcmp(u->holds[i].room, room_name)) {
			if (!hold_valid(r, &u->holds[i], now)) { /* an earlier session of it */
				hold_drop(u, i);
				break;
			}
			if (until > u->holds[i].until) /* held already: counts once */
				u->holds[i].until = until;
			out = RG_RESERVE_HELD;
			goto done;
		}
	/* The holds that ended are dropped when the count matters, or when they
	 * have doubled since the last time (a rule with no live_sessions): a
	 * reservation does not look up every hold of a user each time. */
	if ((lim->live_sessions && (long)u->n_holds >= lim->live_sessions) ||
	    u->n_holds >= 2 * u->n_kept + 8)
		prune(r, u, now);
	if (lim->live_sessions && (long)u->n_holds >= lim->live_sessions) {
		*retry_after = next_free(r, u, now);
		out = RG_OVER_LIVE;
		goto done;
	}
	period = lim->sessions_per_hour ? 3600.0 / (double)lim->sessions_per_hour : 0;
	tat = u->tat > (double)now ? u->tat : (double)now;
	if (period > 0 && tat - (double)now > 3600.0 - period) {
		*retry_after = (long)(tat - (3600.0 - period) - (double)now) + 1;
		out = RG_OVER_RATE;
		goto done;
	}
	if (!(rm = get(r, room_name, true)) || !hold_add(u, rm, until)) {
		out = RG_RESERVE_NOMEM;
		goto done;
	}
	if (period > 0)
		u->tat = tat + period;
	set_deadline(r, rm, lim->max_session);
	touch(r, rm);
done:
	if (use && u)
		usage(u, lim, now, use);
	if (u && out != RG_RESERVED && out != RG_RESERVE_HELD)
		user_release(r, u, (double)now);
	pthread_rwlock_unlock(&r->lock);
	return out;
}

void rg_registry_unreserve(rg_registry *r, const char *room_name, const char *user,
			   const rg_limits *lim)
{
	quser *u;

	pthread_rwlock_wrlock(&r->lock);
	if ((u = user_find(r, user, false))) {
		for (size_t i = 0; i < u->n_holds; i++)
			if (!strcmp(u->holds[i].room, room_name)) {
				hold_drop(u, i);
				if (lim->sessions_per_hour)
					u->tat -= 3600.0 / (double)lim->sessions_per_hour;
				break;
			}
		user_release(r, u, (double)rg_now());
	}
	pthread_rwlock_unlock(&r->lock);
}

void rg_registry_usage(rg_registry *r, const char *user, const rg_limits *lim, time_t now,
		       rg_usage *use)
{
	quser *u;

	pthread_rwlock_wrlock(&r->lock);
	if ((u = user_find(r, user, false))) {
		prune(r, u, now);
		usage(u, lim, now, use);
		user_release(r, u, (double)now);
	} else {
		quser none = {0};
		usage(&none, lim, now, use);
	}
	pthread_rwlock_unlock(&r->lock);
}

json_t *rg_registry_overdue(rg_registry *r, time_t now)
{
	json_t *out = json_array();

	if (!out)
		return NULL;
	pthread_rwlock_rdlock(&r->lock);
	if (r->n_deadlines)
		for (room *rm = r->newest; rm; rm = rm->older)
			if (rm->state == RG_ROOM_LIVE && rm->max_session &&
			    rm->created_at + rm->max_session <= now)
				json_array_append_new(
					out, json_pack("{s:s,s:s?,s:I,s:I}", "room", rm->name, "owner",
						       rm->owner, "max_session",
						       (json_int_t)rm->max_session, "live_for",
						       (json_int_t)(now - rm->created_at)));
	pthread_rwlock_unlock(&r->lock);
	return out;
}

json_t *rg_registry_claims(rg_registry *r, time_t now)
{
	json_t *out = json_array();

	if (!out)
		return NULL;
	pthread_rwlock_rdlock(&r->lock);
	for (room *rm = r->newest; rm; rm = rm->older)
		if (rm->owner && json_array_size(rm->agents) &&
		    (rm->state == RG_ROOM_LIVE || rm->claim_until >= now))
			json_array_append_new(out, json_pack("{s:s,s:s,s:b,s:I}", "room", rm->name,
							     "owner", rm->owner, "live",
							     rm->state == RG_ROOM_LIVE, "until",
							     (json_int_t)rm->claim_until));
	pthread_rwlock_unlock(&r->lock);
	return out;
}

bool rg_registry_dispatched(rg_registry *r, const char *room_name, const char *agent, bool add)
{
	bool yes;
	room *rm;

	if (!add) {
		pthread_rwlock_rdlock(&r->lock);
		rm = find(r, room_name);
		yes = rm && rm->state == RG_ROOM_LIVE && json_object_get(rm->dispatched, agent);
		pthread_rwlock_unlock(&r->lock);
		return yes;
	}
	pthread_rwlock_wrlock(&r->lock);
	if ((rm = find(r, room_name)) && rm->state == RG_ROOM_LIVE)
		track(&rm->dispatched, agent, "");
	pthread_rwlock_unlock(&r->lock);
	return true;
}

void rg_registry_forget_dispatches(rg_registry *r, const char *room_name)
{
	room *rm;

	pthread_rwlock_wrlock(&r->lock);
	if ((rm = find(r, room_name))) {
		json_decref(rm->dispatched);
		rm->dispatched = NULL;
	}
	pthread_rwlock_unlock(&r->lock);
}
