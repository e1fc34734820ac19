/* The live-room registry (core/registry.c): webhook events in order, out of
 * order, repeated and stale; claims; reconciliation; the id table; bounds. */
#include <stdlib.h>

#include "check.h"
#include "core/registry.h"
#include "livekit/owner.h"

static json_t *ev(const char *kind, const char *room, const char *sid, const char *identity)
{
	json_t *e = json_pack("{s:s,s:s,s:{s:s,s:s,s:s}}", "event", kind, "id", "EV_x", "room", "name",
			      room, "sid", sid, "creationTime", "1700000000");
	if (identity)
		json_object_set_new(e, "participant", json_pack("{s:s}", "identity", identity));
	return e;
}

static void feed(rg_registry *r, const char *kind, const char *room, const char *sid,
		 const char *identity)
{
	json_t *e = ev(kind, room, sid, identity);
	rg_registry_event(r, e);
	json_decref(e);
}

static json_t *one_session(rg_registry *r, const char *owner)
{
	json_t *s = rg_registry_sessions(r, owner), *first = json_incref(json_array_get(s, 0));
	CHECK(json_array_size(s) <= 1);
	json_decref(s);
	return first;
}

static void test_lifecycle(void)
{
	rg_registry *r = rg_registry_new(0);
	json_t *agents = json_pack("[s]", "assistant"), *s;

	CHECK(rg_registry_state(r, "a") == RG_ROOM_UNKNOWN);
	rg_registry_issued(r, "a", "ada", agents, 4000000000);
	CHECK(rg_registry_state(r, "a") == RG_ROOM_UNKNOWN); /* a claim is no answer */
	CHECK(!rg_registry_owns(r, "a", "ada"));              /* not live yet */
	feed(r, "room_started", "a", "RM_1", NULL);
	CHECK(rg_registry_state(r, "a") == RG_ROOM_LIVE);
	CHECK(rg_registry_owns(r, "a", "ada"));
	CHECK(!rg_registry_owns(r, "a", "max"));
	feed(r, "participant_joined", "a", "RM_1", "ada");
	feed(r, "participant_joined", "a", "RM_1", "agent-1");
	feed(r, "participant_joined", "a", "RM_1", "ada"); /* a repeat counts once */
	s = one_session(r, "ada");
	CHECK_STR(json_string_value(json_object_get(s, "room_name")), "a");
	CHECK(json_integer_value(json_object_get(s, "participants")) == 2);
	CHECK(json_integer_value(json_object_get(s, "created_at")) == 1700000000);
	CHECK_STR(json_string_value(json_object_get(json_array_get(json_object_get(s, "agents"), 0),
						    "agent_name")),
		  "assistant");
	json_decref(s);
	s = rg_registry_sessions(r, "max");
	CHECK(json_array_size(s) == 0);
	json_decref(s);
	feed(r, "participant_left", "a", "RM_1", "agent-1");
	s = one_session(r, "ada");
	CHECK(json_integer_value(json_object_get(s, "participants")) == 1);
	json_decref(s);
	feed(r, "room_finished", "a", "RM_1", NULL);
	CHECK(rg_registry_state(r, "a") == RG_ROOM_NOT_LIVE);
	CHECK(!rg_registry_owns(r, "a", "ada"));
	s = rg_registry_sessions(r, "ada");
	CHECK(json_array_size(s) == 0);
	json_decref(s);
	json_decref(agents);
	rg_registry_free(r);
}

/* Events of a finished instance arriving late change nothing; a new instance
 * of the name is a new session, whoever holds the next claim owns it. */
static void test_stale_and_reuse(void)
{
	rg_registry *r = rg_registry_new(0);

	rg_registry_issued(r, "b", "ada", NULL, 4000000000);
	feed(r, "room_started", "b", "RM_1", NULL);
	feed(r, "room_finished", "b", "RM_1", NULL);
	feed(r, "participant_joined", "b", "RM_1", "late"); /* a retry of an old event */
	CHECK(rg_registry_state(r, "b") == RG_ROOM_NOT_LIVE);
	rg_registry_issued(r, "b", "max", NULL, 4000000000);
	feed(r, "room_finished", "b", "RM_1", NULL); /* repeated finish: claim stays */
	feed(r, "room_started", "b", "RM_2", NULL);
	CHECK(rg_registry_owns(r, "b", "max"));
	CHECK(!rg_registry_owns(r, "b", "ada"));
	/* another user's live room: no claim over it */
	rg_registry_issued(r, "b", "ada", NULL, 4000000000);
	CHECK(rg_registry_owns(r, "b", "max"));
	/* a finish for another instance than the live one is stale */
	feed(r, "room_finished", "b", "RM_1", NULL);
	CHECK(rg_registry_state(r, "b") == RG_ROOM_LIVE);
	/* the finish of RM_2 was lost and RM_3 starts: a new instance */
	feed(r, "participant_joined", "b", "RM_2", "x");
	feed(r, "room_started", "b", "RM_3", NULL);
	{
		json_t *s = one_session(r, "max");
		CHECK(json_integer_value(json_object_get(s, "participants")) == 0);
		json_decref(s);
	}
	rg_registry_free(r);
}

/* An unexpired claim by one user keeps the room from another until it
 * expires; an expired one does not. */
static void test_claims(void)
{
	rg_registry *r = rg_registry_new(0);

	rg_registry_issued(r, "c", "ada", NULL, 4000000000);
	rg_registry_issued(r, "c", "max", NULL, 4000000000);
	feed(r, "room_started", "c", "RM_1", NULL);
	CHECK(rg_registry_owns(r, "c", "ada"));
	rg_registry_issued(r, "d", "ada", NULL, 1); /* expired long ago */
	rg_registry_issued(r, "d", "max", NULL, 4000000000);
	feed(r, "room_started", "d", "RM_2", NULL);
	CHECK(rg_registry_owns(r, "d", "max"));
	rg_registry_free(r);
}

/* Answers from LiveKit asked before an event do not overwrite it. */
static void test_learned_and_reconcile(void)
{
	rg_registry *r = rg_registry_new(0);
	uint64_t mark = rg_registry_mark(r);
	json_t *rooms, *fixed;

	rg_registry_learned(r, "e", false, mark);
	CHECK(rg_registry_state(r, "e") == RG_ROOM_NOT_LIVE);
	mark = rg_registry_mark(r);
	feed(r, "room_started", "e", "RM_1", NULL); /* after the question was asked */
	rg_registry_learned(r, "e", false, mark);
	CHECK(rg_registry_state(r, "e") == RG_ROOM_LIVE);

	/* ListRooms: f is live (a room_started lost), e is not (room_finished
	 * lost), g started after the question and is kept */
	rg_registry_learned(r, "f", false, rg_registry_mark(r));
	mark = rg_registry_mark(r);
	feed(r, "room_started", "g", "RM_3", NULL);
	rooms = json_pack("[{s:s,s:s,s:s,s:s},{s:s,s:s}]", "name", "f", "sid", "RM_2",
			  "numParticipants", "3", "creationTime", "1700000100", "name", "h", "sid",
			  "RM_4");
	fixed = rg_registry_reconcile(r, rooms, NULL, mark);
	CHECK(rg_registry_state(r, "f") == RG_ROOM_LIVE);
	CHECK(rg_registry_state(r, "e") == RG_ROOM_NOT_LIVE);
	CHECK(rg_registry_state(r, "g") == RG_ROOM_LIVE);
	CHECK(rg_registry_state(r, "h") == RG_ROOM_LIVE);
	/* f and e corrected; h, never heard of, is learned ("was": "unknown") */
	CHECK(json_array_size(fixed) == 3);
	CHECK_STR(json_string_value(json_object_get(json_array_get(fixed, 0), "room")), "f");
	CHECK_STR(json_string_value(json_object_get(json_array_get(fixed, 0), "was")), "not_live");
	CHECK_STR(json_string_value(json_object_get(json_array_get(fixed, 1), "room")), "h");
	CHECK_STR(json_string_value(json_object_get(json_array_get(fixed, 1), "was")), "unknown");
	json_decref(fixed);
	/* again: nothing left to correct */
	fixed = rg_registry_reconcile(r, rooms, NULL, rg_registry_mark(r));
	CHECK(json_array_size(fixed) == 1); /* g: live here, not in that list */
	CHECK_STR(json_string_value(json_object_get(json_array_get(fixed, 0), "room")), "g");
	CHECK(rg_registry_state(r, "g") == RG_ROOM_NOT_LIVE);
	json_decref(fixed);
	json_decref(rooms);
	rg_registry_free(r);
}

/* Without webhooks, a token issued for a room LiveKit said was not live makes
 * the next check ask again (its holder may have started it); once webhooks
 * arrive, room_started says so and the answer is kept. */
static void test_issued_without_webhooks(void)
{
	rg_registry *r = rg_registry_new(0);

	rg_registry_learned(r, "n", false, rg_registry_mark(r));
	CHECK(rg_registry_state(r, "n") == RG_ROOM_NOT_LIVE);
	rg_registry_issued(r, "n", "ada", NULL, 4000000000);
	CHECK(rg_registry_state(r, "n") == RG_ROOM_UNKNOWN);
	rg_registry_learned(r, "n", false, rg_registry_mark(r));
	CHECK(rg_registry_state(r, "n") == RG_ROOM_NOT_LIVE);
	rg_registry_issued(r, "n", "ada", NULL, 4000000000); /* the same claim: asks again */
	CHECK(rg_registry_state(r, "n") == RG_ROOM_UNKNOWN);
	rg_registry_learned(r, "n", false, rg_registry_mark(r));
	rg_registry_issued(r, "n", "max", NULL, 4000000000); /* another user's: asks again */
	CHECK(rg_registry_state(r, "n") == RG_ROOM_UNKNOWN);
	CHECK(!rg_registry_owns(r, "n", "max"));
	feed(r, "room_started", "n", "RM_N", NULL);
	CHECK(rg_registry_owns(r, "n", "ada"));

	feed(r, "room_started", "other", "RM_O", NULL); /* webhooks flow from here on */
	rg_registry_learned(r, "m", false, rg_registry_mark(r));
	rg_registry_issued(r, "m", "ada", NULL, 4000000000);
	CHECK(rg_registry_state(r, "m") == RG_ROOM_NOT_LIVE);
	rg_registry_free(r);
}

/* livekit-server v1.13 sends no agent_job_* webhooks: an agent participant
 * (kind AGENT, attribute lk.agent.name) joining and leaving shows its job. */
static void test_agent_participant(void)
{
	rg_registry *r = rg_registry_new(0);
	json_t *agents = json_pack("[s]", "assistant"), *e, *s, *a;

	rg_registry_issued(r, "p", "ada", agents, 4000000000);
	feed(r, "room_started", "p", "RM_P", NULL);
	feed(r, "participant_joined", "p", "RM_P", "ada");
	s = one_session(r, "ada");
	a = json_array_get(json_object_get(s, "agents"), 0);
	CHECK(json_is_false(json_object_get(a, "running")));
	json_decref(s);

	e = ev("participant_joined", "p", "RM_P", "agent-AJ_1");
	json_object_set_new(json_object_get(e, "participant"), "kind", json_string("AGENT"));
	json_object_set_new(json_object_get(e, "participant"), "attributes",
			    json_pack("{s:s}", "lk.agent.name", "assistant"));
	rg_registry_event(r, e);
	s = one_session(r, "ada");
	a = json_array_get(json_object_get(s, "agents"), 0);
	CHECK(json_is_true(json_object_get(a, "running")));
	CHECK(json_integer_value(json_object_get(s, "participants")) == 2);
	json_decref(s);

	/* a standard participant claiming the attribute starts no job */
	json_object_set_new(json_object_get(e, "participant"), "kind", json_string("STANDARD"));
	json_object_set_new(json_object_get(e, "participant"), "identity", json_string("mallory"));
	rg_registry_event(r, e);
	json_decref(e);
	feed(r, "participant_left", "p", "RM_P", "agent-AJ_1");
	s = one_session(r, "ada");
	a = json_array_get(json_object_get(s, "agents"), 0);
	CHECK(json_is_false(json_object_get(a, "running")));
	json_decref(s);
	json_decref(agents);
	rg_registry_free(r);
}

/* limits: live_sessions held from the token until the room finishes (or the
 * token expires unused), sessions_per_hour by GCRA, max_session overdue */
static void test_limits(void)
{
	rg_registry *r = rg_registry_new(0);
	rg_limits lim = {.live_sessions = 2};
	time_t now = 1000000;
	rg_usage use;
	long wait;
	json_t *due;

	CHECK(rg_registry_reserve(r, "s1", "ada", &lim, now + 600, now, &wait, &use) == RG_RESERVED);
	CHECK(use.live_sessions == 1 && use.sessions_left == -1);
	CHECK(rg_registry_reserve(r, "s1", "ada", &lim, now + 600, now, &wait, NULL) ==
	      RG_RESERVE_HELD);
	CHECK(rg_registry_reserve(r, "s2", "ada", &lim, now + 300, now, &wait, NULL) == RG_RESERVED);
	CHECK(rg_registry_reserve(r, "s3", "ada", &lim, now + 600, now, &wait, &use) == RG_OVER_LIVE);
	CHECK(use.live_sessions == 2);
	CHECK(wait == 301); /* s2's token expires unused first */
	CHECK(rg_registry_reserve(r, "s3", "max", &lim, now + 600, now, &wait, NULL) == RG_RESERVED);

	/* s1 goes live: no longer freed by its token's expiry; it finishes: freed */
	feed(r, "room_started", "s1", "RM_S1", NULL);
	feed(r, "room_started", "s2", "RM_S2", NULL);
	CHECK(rg_registry_reserve(r, "s4", "ada", &lim, now + 600, now + 700, &wait, NULL) ==
	      RG_OVER_LIVE);
	CHECK(wait == 0); /* both live, no max_session: waiting does not help */
	feed(r, "room_finished", "s1", "RM_S1", NULL);
	CHECK(rg_registry_reserve(r, "s4", "ada", &lim, now + 600, now, &wait, NULL) == RG_RESERVED);
	/* a finished room started again by someone else is not ada's any more */
	feed(r, "room_started", "s1", "RM_S1b", NULL);
	rg_registry_usage(r, "ada", &lim, now, &use);
	CHECK(use.live_sessions == 2); /* s2 live, s4 reserved */

	/* a token expired unused frees its place */
	rg_registry_usage(r, "ada", &lim, now + 601, &use);
	CHECK(use.live_sessions == 1);
	/* a reservation given back */
	rg_registry_unreserve(r, "s2", "ada", &lim);
	rg_registry_usage(r, "ada", &lim, now + 601, &use);
	CHECK(use.live_sessions == 0);

	/* sessions_per_hour 3: three at once, then one every 20 minutes */
	rg_limits rate = {.sessions_per_hour = 3};
	CHECK(rg_registry_reserve(r, "r1", "bob", &rate, now + 600, now, &wait, NULL) == RG_RESERVED);
	CHECK(rg_registry_reserve(r, "r2", "bob", &rate, now + 600, now, &wait, NULL) == RG_RESERVED);
	CHECK(rg_registry_reserve(r, "r3", "bob", &rate, now + 600, now, &wait, &use) == RG_RESERVED);
	CHECK(use.sessions_left == 0);
	CHECK(rg_registry_reserve(r, "r4", "bob", &rate, now + 600, now, &wait, NULL) ==
	      RG_OVER_RATE);
	CHECK(wait >= 1200 && wait <= 1201);
	CHECK(rg_registry_reserve(r, "r1", "bob", &rate, now + 600, now, &wait, NULL) ==
	      RG_RESERVE_HELD); /* a room held already is no new session */
	CHECK(rg_registry_reserve(r, "r4", "bob", &rate, now + 1800, now + 1200, &wait, NULL) ==
	      RG_RESERVED);
	rg_registry_unreserve(r, "r4", "bob", &rate); /* refunded */
	CHECK(rg_registry_reserve(r, "r5", "bob", &rate, now + 1800, now + 1200, &wait, NULL) ==
	      RG_RESERVED);

	/* max_session: the smallest asked; overdue once live that long */
	rg_limits capped = {.max_session = 60};
	CHECK(rg_registry_reserve(r, "m1", "cy", &capped, now + 600, now, &wait, NULL) ==
	      RG_RESERVED);
	json_t *e = ev("room_started", "m1", "RM_M1", NULL);
	json_object_set_new(json_object_get(e, "room"), "creationTime", json_string("1000000"));
	rg_registry_event(r, e);
	json_decref(e);
	due = rg_registry_overdue(r, now + 59);
	CHECK(json_array_size(due) == 0);
	json_decref(due);
	due = rg_registry_overdue(r, now + 60);
	CHECK(json_array_size(due) == 1);
	CHECK_STR(json_string_value(json_object_get(json_array_get(due, 0), "room")), "m1");
	CHECK(json_integer_value(json_object_get(json_array_get(due, 0), "live_for")) == 60);
	json_decref(due);
	rg_registry_ended(r, "m1");
	due = rg_registry_overdue(r, now + 61);
	CHECK(json_array_size(due) == 0);
	json_decref(due);
	rg_registry_free(r);
}

/* ListRooms as LiveKit's Twirp API answers it: the proto's own field names
 * (num_participants, creation_time), not the webhooks' camelCase. A room a
 * reconciliation learns shows LiveKit's count and creation time, and the
 * next reconciliation's count. */
static void test_list_rooms_names(void)
{
	rg_registry *r = rg_registry_new(0);
	json_t *rooms, *fixed, *s;

	rg_registry_issued(r, "q", "ada", NULL, 4000000000);
	rooms = json_pack("[{s:s,s:s,s:i,s:s,s:s}]", "name", "q", "sid", "RM_Q",
			  "num_participants", 2, "creation_time", "1700000200", "creation_time_ms",
			  "1700000200123");
	fixed = rg_registry_reconcile(r, rooms, NULL, rg_registry_mark(r));
	CHECK(json_array_size(fixed) == 1); /* learned, not corrected */
	CHECK_STR(json_string_value(json_object_get(json_array_get(fixed, 0), "was")), "unknown");
	json_decref(fixed);
	s = one_session(r, "ada");
	CHECK(json_integer_value(json_object_get(s, "participants")) == 2);
	CHECK(json_integer_value(json_object_get(s, "created_at")) == 1700000200);
	json_decref(s);
	json_object_set_new(json_array_get(rooms, 0), "num_participants", json_integer(3));
	json_decref(rg_registry_reconcile(r, rooms, NULL, rg_registry_mark(r)));
	s = one_session(r, "ada");
	CHECK(json_integer_value(json_object_get(s, "participants")) == 3);
	CHECK(json_integer_value(json_object_get(s, "created_at")) == 1700000200);
	json_decref(s);
	json_decref(rooms);
	rg_registry_free(r);
}

/* Agents dispatched through the API into a live room are remembered for
 * that instance of it: a repeated token makes no ListDispatch call. */
static void test_dispatched(void)
{
	rg_registry *r = rg_registry_new(0);

	rg_registry_dispatched(r, "d", "helper", true); /* not live: not kept */
	CHECK(!rg_registry_dispatched(r, "d", "helper", false));
	feed(r, "room_started", "d", "RM_D1", NULL);
	rg_registry_dispatched(r, "d", "helper", true);
	CHECK(rg_registry_dispatched(r, "d", "helper", false));
	CHECK(!rg_registry_dispatched(r, "d", "notes", false));
	rg_registry_forget_dispatches(r, "d");
	CHECK(!rg_registry_dispatched(r, "d", "helper", false));
	rg_registry_dispatched(r, "d", "helper", true);
	feed(r, "room_finished", "d", "RM_D1", NULL);
	feed(r, "room_started", "d", "RM_D2", NULL);
	CHECK(!rg_registry_dispatched(r, "d", "helper", false)); /* a new instance */
	rg_registry_dispatched(r, "d", "helper", true);
	feed(r, "room_started", "d", "RM_D3", NULL); /* its finish was lost */
	CHECK(!rg_registry_dispatched(r, "d", "helper", false));
	rg_registry_free(r);
}

static void test_ids(void)
{
	rg_registry *r = rg_registry_new(0);

	CHECK(rg_registry_seen(r, "EV_1", 1000, 600) == 0);
	CHECK(rg_registry_seen(r, "EV_1", 1001, 600) == 1);
	CHECK(rg_registry_seen(r, "EV_2", 1002, 600) == 0);
	CHECK(rg_registry_seen(r, "EV_1", 1700, 600) == 0); /* expired, seen anew */
	rg_registry_free(r);
}

/* Rooms not live are bounded; live rooms and claimed rooms are kept. */
static void test_bound(void)
{
	rg_registry *r = rg_registry_new(8);
	char name[32];
	size_t live, known;

	feed(r, "room_started", "live-1", "RM_L", NULL);
	rg_registry_issued(r, "claimed", "ada", NULL, 4000000000);
	for (int i = 0; i < 100; i++) {
		snprintf(name, sizeof(name), "probe-%d", i);
		rg_registry_learned(r, name, false, rg_registry_mark(r));
	}
	rg_registry_counts(r, &live, &known);
	CHECK(live == 1);
	CHECK(known <= 9);
	CHECK(rg_registry_state(r, "live-1") == RG_ROOM_LIVE);
	CHECK(rg_registry_state(r, "probe-99") == RG_ROOM_NOT_LIVE);
	CHECK(rg_registry_state(r, "probe-0") == RG_ROOM_UNKNOWN);
	feed(r, "room_started", "claimed", "RM_C", NULL);
	CHECK(rg_registry_owns(r, "claimed", "ada"));
	rg_registry_free(r);
}

/* The owner recorded in a room's metadata: a registry that lost its owner
 * (a restart) learns it back from ListRooms, the session counts under the
 * owner's limits again, and its max_session stands; a record whose MAC does
 * not verify (a participant rewrote it) is not believed. */
static void test_owner_record(void)
{
	rg_registry *r = rg_registry_new(0), *after = rg_registry_new(0);
	rg_limits lim = {.live_sessions = 1};
	json_t *agents = json_pack("[s]", "assistant"), *due, *rec, *rooms, *owners, *s;
	char *meta = rg_owner_record("secret", "a", "ada", agents, 1800), *forged;
	rg_usage use;
	long wait;

	/* a new session: due once live with empty metadata, done when recorded */
	rg_registry_issued(r, "a", "ada", agents, 4000000000);
	rg_registry_record_due(r, "a"); /* not live yet */
	due = rg_registry_unrecorded(r);
	CHECK(json_array_size(due) == 0);
	json_decref(due);
	feed(r, "room_started", "a", "RM_1", NULL);
	rg_registry_record_due(r, "a");
	due = rg_registry_unrecorded(r);
	CHECK(json_array_size(due) == 1);
	CHECK_STR(json_string_value(json_object_get(json_array_get(due, 0), "owner")), "ada");
	json_decref(due);
	rg_registry_recorded(r, "a", "ada");
	due = rg_registry_unrecorded(r);
	CHECK(json_array_size(due) == 0);
	json_decref(due);

	/* the record reads back only for its own room and secret */
	rec = rg_owner_read("secret", "a", meta);
	CHECK(rec && !strcmp(json_string_value(json_object_get(rec, "owner")), "ada"));
	CHECK(json_integer_value(json_object_get(rec, "max_session")) == 1800);
	CHECK(json_equal(json_object_get(rec, "agents"), agents));
	json_decref(rec);
	CHECK(!rg_owner_read("other", "a", meta));
	CHECK(!rg_owner_read("secret", "b", meta));
	CHECK(!rg_owner_read("secret", "a", "{\"roomgate\":{\"owner\":\"max\",\"mac\":\"x\"}}"));
	CHECK(!rg_owner_read("secret", "a", "not json"));
	CHECK((forged = strdup(meta)) && strstr(forged, "\"ada\""));
	memcpy(strstr(forged, "\"ada\"") + 1, "max", 3);
	CHECK(!rg_owner_read("secret", "a", forged));
	free(forged);

	/* a registry that never saw the token learns the owner from ListRooms */
	rooms = json_pack("[{s:s,s:s,s:s,s:s}]", "name", "a", "sid", "RM_1", "creation_time",
			  "1700000000", "metadata", meta);
	owners = json_pack("{s:o}", "a", rg_owner_read("secret", "a", meta));
	json_decref(rg_registry_reconcile(after, rooms, owners, rg_registry_mark(after)));
	s = one_session(after, "ada");
	CHECK(s && !strcmp(json_string_value(json_object_get(s, "room_name")), "a"));
	json_decref(s);
	CHECK(rg_registry_reserve(after, "b", "ada", &lim, 4000000000, 1700000100, &wait, &use) ==
	      RG_OVER_LIVE);
	due = rg_registry_overdue(after, 1700000000 + 1800);
	CHECK(json_array_size(due) == 1);
	json_decref(due);
	due = rg_registry_unrecorded(after); /* recorded already */
	CHECK(json_array_size(due) == 0);
	json_decref(due);
	json_decref(owners);
	json_decref(rooms);

	/* a live room with an owner and empty metadata, seen by ListRooms
	 * (the webhook went to no one), is due */
	rg_registry_issued(after, "c", "bob", agents, 4000000000);
	rooms = json_pack("[{s:s,s:s},{s:s,s:s,s:s}]", "name", "c", "sid", "RM_3", "name", "a",
			  "sid", "RM_1", "metadata", meta);
	json_decref(rg_registry_reconcile(after, rooms, NULL, rg_registry_mark(after)));
	due = rg_registry_unrecorded(after);
	CHECK(json_array_size(due) == 1);
	CHECK_STR(json_string_value(json_object_get(json_array_get(due, 0), "room")), "c");
	json_decref(due);
	feed(after, "room_finished", "c", "RM_3", NULL);
	due = rg_registry_unrecorded(after);
	CHECK(json_array_size(due) == 0);
	json_decref(due);
	json_decref(rooms);

	free(meta);
	json_decref(agents);
	rg_registry_free(r);
	rg_registry_free(after);
}

/* A room the user held in an earlier session is a new session when asked
 * again; holds that ended are dropped even under a rule that caps nothing
 * but max_session (they do not pile up). */
static void test_holds_end(void)
{
	rg_registry *r = rg_registry_new(0);
	rg_limits one = {.live_sessions = 1}, none = {.max_session = 3600};
	time_t now = 2000000;
	char name[32];
	rg_usage use;
	long wait;

	CHECK(rg_registry_reserve(r, "again", "ada", &one, now + 600, now, &wait, NULL) ==
	      RG_RESERVED);
	feed(r, "room_started", "again", "RM_A1", NULL);
	feed(r, "room_finished", "again", "RM_A1", NULL);
	CHECK(rg_registry_reserve(r, "again", "ada", &one, now + 600, now, &wait, &use) ==
	      RG_RESERVED);
	CHECK(rg_registry_reserve(r, "other", "ada", &one, now + 600, now, &wait, &use) ==
	      RG_OVER_LIVE);
	CHECK(use.live_sessions == 1);

	for (int i = 0; i < 1000; i++) {
		snprintf(name, sizeof(name), "r%d", i);
		CHECK(rg_registry_reserve(r, name, "max", &none, now + 1, now, &wait, NULL) ==
		      RG_RESERVED);
		feed(r, "room_started", name, "RM_x", NULL);
		feed(r, "room_finished", name, "RM_x", NULL);
	}
	rg_registry_usage(r, "max", &none, now, &use);
	CHECK(use.live_sessions == 0);
	rg_registry_free(r);
}

int main(void)
{
	test_lifecycle();
	test_stale_and_reuse();
	test_claims();
	test_learned_and_reconcile();
	test_issued_without_webhooks();
	test_agent_participant();
	test_limits();
	test_list_rooms_names();
	test_dispatched();
	test_owner_record();
	test_holds_end();
	test_ids();
	test_bound();
	CHECK_DONE();
}
