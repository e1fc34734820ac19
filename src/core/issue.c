/*
 * issue.c - the join-token flow shared by POST /token and POST /v1/sessions:
 * rule -> room (given and allowed, or provisioned) -> identity -> token with
 * grants -> room config -> agents (each through policy) -> dispatch (in the
 * token, or through the API for a live room) -> signed LiveKit token. Each
 * step is one function below; rg_join_issue runs them in order.
 */
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/log.h"
#include "base/names.h"
#include "base/util.h"
#include "core/config.h"
#include "core/issue.h"
#include "core/policy.h"
#include "livekit/api.h"
#include "livekit/roomconfig.h"
#include "livekit/token.h"

void rg_join_result_clear(rg_join_result *res)
{
	if (!res)
		return;
	free(res->identity);
	free(res->jwt);
	json_decref(res->agents);
	memset(res, 0, sizeof(*res));
}

/* Restart policy and agent attributes are the client's to choose. */
static void keep_client_choices(json_t *resolved, const json_t *requested)
{
	json_t *v;

	if ((v = json_object_get(requested, "restartPolicy")))
		json_object_set(resolved, "restartPolicy", v);
	if ((v = json_object_get(requested, "attributes")))
		json_object_set(resolved, "attributes", v);
}

static rg_err add_to_config(rg_roomconfig_t *rc, json_t *agent)
{
	json_t *list = json_object_get(rc->obj, "agents");

	if (!list) {
		list = json_array();
		if (!list || json_object_set_new(rc->obj, "agents", list))
			return RG_ERR_NOMEM;
	}
	return json_array_append(list, agent) ? RG_ERR_NOMEM : RG_OK;
}

static rg_err add_to_response(json_t *agents_out, const json_t *agent)
{
	const char *md = rg_json_str(agent, "metadata");

	return json_array_append_new(agents_out,
				     json_pack("{s:s,s:s}", "agent_name",
					       rg_json_str(agent, "agentName"), "metadata",
					       md ? md : ""))
		       ? RG_ERR_NOMEM
		       : RG_OK;
}

/* One join request on its way through the steps below. */
typedef struct join {
	const rg_config_t *cfg;
	const rg_user_t *user;
	const rg_join *req;
	rg_join_result *res;
	const rg_rule *rule;
	const char *identity;
	rg_user_t acting;          /* an API key acting for a user */
	const rg_user_t *subject;  /* who metadata templates see: user or &acting */
	rg_token_t *tok;
	rg_roomconfig_t *rc;       /* the token's roomConfig, agents aside */
	json_t *requested;         /* room_config.agents as asked */
	json_t *agents;            /* every agent as policy resolved it */
	long ttl;                  /* the token's lifetime */
	bool reserved;             /* a new session was counted against the limits */
} join;

static rg_err out_of_memory(rg_error *err)
{
	return rg_fail(err, RG_ERR_NOMEM, NULL, "out of memory");
}

static rg_err find_rule(join *j, rg_error *err)
{
	if (!(j->rule = rg_policy_rule(j->cfg, j->user)))
		return rg_fail(err, RG_ERR_FORBIDDEN, "no_matching_rule",
			       "no rule allows user '%s' (authenticated by %s)", j->user->id,
			       j->user->method ? j->user->method : "?");
	return RG_OK;
}

/* The room asked for, if the rule allows it; else a new unique room. */
static rg_err choose_room(join *j, rg_error *err)
{
	const char *room = j->req->room;

	if (room) {
		if (rg_room_name_check("room_name", room, j->cfg->room_pattern, err))
			return RG_ERR_INVALID;
		if (!rg_policy_room_allowed(j->rule, room))
			return rg_fail(err, RG_ERR_FORBIDDEN, "room_not_allowed",
				       "rule '%s' does not allow user '%s' into room '%s'",
				       j->rule->name, j->user->id, room);
		rg_copy(j->res->room, sizeof(j->res->room), room);
		return RG_OK;
	}
	if (!j->rule->session_rooms)
		return rg_fail(err, RG_ERR_FORBIDDEN, "room_not_allowed",
			       "rule '%s' does not let user '%s' create session rooms; give "
			       "a room_name",
			       j->rule->name, j->user->id);
	if (rg_room_new_name(j->cfg->room_prefix, j->res->room, sizeof(j->res->room)))
		return rg_fail(err, RG_ERR_CRYPTO, NULL, "cannot make a room name");
	/* config load checked the prefix against the rule; this is the proof */
	if (rg_room_name_check("provisioned room name", j->res->room, j->cfg->room_pattern, err))
		return rg_fail(err, RG_ERR_INTERNAL, NULL, "rooms.prefix makes names the rule refuses");
	return RG_OK;
}

/* The caller's own identity; another only for API keys that may act for
 * users, and then templates see that user, not the key. */
static rg_err choose_identity(join *j, rg_error *err)
{
	const rg_user_t *user = j->user;

	j->identity = j->req->identity ? j->req->identity : user->id;
	if (j->req->identity && rg_identity_check("participant_identity", j->identity, err))
		return RG_ERR_INVALID;
	if (strcmp(j->identity, user->id) && !user->may_act_for_others)
		return rg_fail(err, RG_ERR_FORBIDDEN, "identity_not_allowed",
			       "participant_identity can only be chosen by API-key callers; "
			       "user '%s' joins as '%s'",
			       user->id, user->id);
	j->subject = user;
	if (strcmp(j->identity, user->id)) {
		if (rg_user_set(&j->acting, j->identity, j->req->name ? j->req->name : j->identity,
				user->groups, user->ngroups, user->method))
			return out_of_memory(err);
		j->subject = &j->acting;
	}
	return RG_OK;
}

/* Identity, room, name, metadata, attributes, the rule's grants and TTL. */
static rg_err start_token(join *j, rg_error *err)
{
	const rg_join *req = j->req;
	const char *k;
	json_t *v;
	long ttl;
	rg_err e;

	if (!(j->tok = rg_token_new()) || !(j->res->agents = json_array()))
		return out_of_memory(err);
	if (rg_token_set_identity(j->tok, j->identity) || rg_token_set_room(j->tok, j->res->room) ||
	    rg_token_set_name(j->tok, req->name ? req->name : j->subject->name) ||
	    (req->metadata && *req->metadata && rg_token_set_metadata(j->tok, req->metadata)))
		return rg_fail(err, RG_ERR_INVALID, "invalid_request",
			       "participant name or metadata is too long or not UTF-8");
	json_object_foreach((json_t *)req->attributes, k, v) {
		if (rg_token_set_attribute(j->tok, k, json_string_value(v)))
			return rg_fail(err, RG_ERR_INVALID, "invalid_request",
				       "participant_attributes.%s must be a string", k);
	}
	if ((e = rg_token_merge_grants(j->tok, j->rule->grants, err)))
		return e;
	ttl = j->rule->ttl ? j->rule->ttl : j->cfg->default_ttl;
	j->ttl = ttl < j->cfg->max_ttl ? ttl : j->cfg->max_ttl;
	rg_token_set_ttl(j->tok, j->ttl);
	return RG_OK;
}

/* The client's room_config, validated; its agents are taken out to go
 * through policy. */
static rg_err read_room_config(join *j, rg_error *err)
{
	const char *name;
	rg_err e;

	if (!j->req->room_config)
		return (j->rc = rg_roomconfig_new()) ? RG_OK : out_of_memory(err);
	if ((e = rg_roomconfig_from_json(j->req->room_config, &j->rc, err)))
		return e;
	name = rg_json_str(j->rc->obj, "name");
	if (name && rg_room_name_check("room_config.name", name, j->cfg->room_pattern, err))
		return RG_ERR_INVALID;
	if (name && strcmp(name, j->res->room))
		return rg_fail(err, RG_ERR_INVALID, "invalid_room_config",
			       "room_config.name must be empty or equal the room name");
	j->requested = json_object_get(j->rc->obj, "agents");
	json_incref(j->requested);
	json_object_del(j->rc->obj, "agents");
	return RG_OK;
}

/* Every agent asked for (by agent name in room_config, or by profile key
 * from /v1/sessions) as policy allows it, with the server's metadata. */
static rg_err resolve_agents(join *j, rg_error *err)
{
	json_t *agent, *resolved;
	size_t i;
	rg_err e;

	if (!(j->agents = json_array()))
		return out_of_memory(err);
	json_array_foreach(j->requested, i, agent) {
		if ((e = rg_policy_agent(j->cfg, j->rule, j->subject, j->res->room,
					 rg_json_str(agent, "agentName"), false,
					 json_object_get(agent, "metadata"),
					 rg_json_str(agent, "deployment"), &resolved, err)))
			return e;
		keep_client_choices(resolved, agent);
		json_array_append_new(j->agents, resolved);
	}
	json_array_foreach(j->req->profiles, i, agent) {
		if (!json_is_string(agent))
			return rg_fail(err, RG_ERR_INVALID, "invalid_request",
				       "agents[%zu] must be a profile name", i);
		if ((e = rg_policy_agent(j->cfg, j->rule, j->subject, j->res->room,
					 json_string_value(agent), true, j->req->client_metadata,
					 NULL, &resolved, err)))
			return e;
		json_array_append_new(j->agents, resolved);
	}
	return RG_OK;
}

/* The rule's room timeouts go into the token's roomConfig (LiveKit closes an
 * abandoned room itself); a client may only ask for shorter ones. */
static rg_err cap_timeout(join *j, const char *field, long limit)
{
	json_t *v = json_object_get(j->rc->obj, field);

	if (!limit || (json_is_integer(v) && json_integer_value(v) > 0 &&
		       json_integer_value(v) <= limit))
		return RG_OK;
	return json_object_set_new(j->rc->obj, field, json_integer(limit)) ? RG_ERR_NOMEM : RG_OK;
}

/* A session with agents under the rule's limits: one atomic check-and-
 * reserve in the registry (a request for a room the user holds already
 * counts once). Over a limit: 429 quota_exceeded, with Retry-After when
 * waiting helps. */
static rg_err reserve(join *j, rg_error *err)
{
	const rg_limits *lim = &j->rule->limits;
	time_t now = rg_now();
	long wait = 0;
	rg_usage use = {0};
	rg_shared *shared;
	rg_reserve rc;

	if (cap_timeout(j, "emptyTimeout", lim->empty_timeout) ||
	    cap_timeout(j, "departureTimeout", lim->departure_timeout))
		return out_of_memory(err);
	if (!RG_LIMITS_COUNT(lim) || !json_array_size(j->agents))
		return RG_OK;
	if (!j->req->link)
		return rg_fail(err, RG_ERR_UNAVAILABLE, "state_unavailable",
			       "rule '%s' has limits, which need roomgate's session store "
			       "(an rg_app); this call has none",
			       j->rule->name);
	if ((shared = rg_link_shared(j->req->link))) {
		rg_error serr = {0};
		if (rg_shared_reserve(shared, j->res->room, j->subject->id, lim, now + j->ttl, now, &rc,
				      &wait, &use, &serr)) {
			if (!j->cfg->state.fail_open) {
				if (err)
					*err = serr;
				return serr.err ? serr.err : RG_ERR_UNAVAILABLE;
			}
			rg_log_json("warn", "limits_skipped",
				    json_pack("{s:s,s:s,s:s}", "user", j->subject->id, "room",
					      j->res->room, "msg", serr.message));
			return RG_OK; /* state.fail_open: availability first */
		}
		if (rc == RG_RESERVED || rc == RG_RESERVE_HELD)
			rg_registry_deadline(rg_link_registry(j->req->link), j->res->room,
					     lim->max_session);
	} else {
		rc = rg_registry_reserve(rg_link_registry(j->req->link), j->res->room,
					 j->subject->id, lim, now + j->ttl, now, &wait, &use);
	}
	switch (rc) {
	case RG_RESERVED:
		j->reserved = true;
		return RG_OK;
	case RG_RESERVE_HELD:
		return RG_OK;
	case RG_OVER_LIVE:
		rg_fail(err, RG_ERR_RATE_LIMITED, "quota_exceeded",
			"limit reached: rule '%s' allows user '%s' %ld live session%s with agents "
			"at once (limits.live_sessions) and %ld %s live or starting; end one "
			"(DELETE /v1/sessions/{room_name})%s",
			j->rule->name, j->subject->id, lim->live_sessions,
			lim->live_sessions == 1 ? "" : "s", use.live_sessions,
			use.live_sessions == 1 ? "is" : "are",
			wait ? " or wait for one to end" : "");
		break;
	case RG_OVER_RATE:
		rg_fail(err, RG_ERR_RATE_LIMITED, "quota_exceeded",
			"limit reached: rule '%s' allows user '%s' %ld new session%s with agents "
			"per hour (limits.sessions_per_hour); the next one in %ld s",
			j->rule->name, j->subject->id, lim->sessions_per_hour,
			lim->sessions_per_hour == 1 ? "" : "s", wait);
		break;
	default:
		return out_of_memory(err);
	}
	err->retry_after = wait;
	return RG_ERR_RATE_LIMITED;
}

/* A token's agents only act when its connect creates the room; for a live
 * room LiveKit ignores them, so they are dispatched through the API. */
static rg_err dispatch_agents(join *j, rg_error *err)
{
	bool exists = false;
	rg_error lkerr = {0};
	json_t *agent;
	size_t i;
	rg_err e;

	if (!json_array_size(j->agents))
		return RG_OK;
	if (j->req->room && j->cfg->check_existing_rooms &&
	    rg_link_room_live(j->req->link, &j->cfg->livekit, j->res->room, &exists, &lkerr))
		rg_log_json("warn", "room_check_failed",
			    json_pack("{s:s,s:s}", "room", j->res->room, "msg", lkerr.message));
	j->res->dispatch = exists ? "api" : "token";
	json_array_foreach(j->agents, i, agent) {
		const char *name = rg_json_str(agent, "agentName");
		rg_registry *reg = j->req->link ? rg_link_registry(j->req->link) : NULL;
		if (exists && reg && name && rg_registry_dispatched(reg, j->res->room, name, false)) {
			/* dispatched into this room instance already: no call */
		} else if (exists) {
			json_t *d = NULL;
			bool created;
			if ((e = rg_lk_dispatch(&j->cfg->livekit, j->res->room, agent, true, &created,
						&d, err)))
				return e;
			json_decref(d);
			if (reg && name)
				rg_registry_dispatched(reg, j->res->room, name, true);
		} else if (add_to_config(j->rc, agent)) {
			return out_of_memory(err);
		}
		if (add_to_response(j->res->agents, agent))
			return out_of_memory(err);
	}
	return RG_OK;
}

static rg_err sign(join *j, rg_error *err)
{
	if (json_object_size(j->rc->obj) && rg_token_share_room_config(j->tok, j->rc))
		return out_of_memory(err);
	if (!(j->res->identity = strdup(j->identity)))
		return out_of_memory(err);
	return rg_token_sign_with(j->tok, j->cfg->livekit.signer, 0, &j->res->jwt,
				  &j->res->expires_at, err);
}

/* The registry learns who the room's session belongs to (the user the
 * token is for) and which agents were asked for. */
static void record(join *j)
{
	json_t *names, *a;
	size_t i;

	if (!j->req->link || !(names = json_array()))
		return;
	json_array_foreach(j->res->agents, i, a)
		json_array_append(names, json_object_get(a, "agent_name"));
	rg_link_claimed(j->req->link, j->res->room, j->subject->id, names, j->res->expires_at,
			json_array_size(j->agents) ? j->rule->limits.max_session : 0);
	json_decref(names);
}

rg_err rg_join_issue(const rg_config_t *cfg, const rg_user_t *user, const rg_join *req,
		     rg_join_result *res, rg_error *err)
{
	join j = {.cfg = cfg, .user = user, .req = req, .res = res};
	rg_err e;

	memset(res, 0, sizeof(*res));
	if (!(e = find_rule(&j, err)) && !(e = choose_room(&j, err)) &&
	    !(e = choose_identity(&j, err)) && !(e = start_token(&j, err)) &&
	    !(e = read_room_config(&j, err)) && !(e = resolve_agents(&j, err)) &&
	    !(e = reserve(&j, err)) && !(e = dispatch_agents(&j, err)) && !(e = sign(&j, err)))
		record(&j);
	if (e && j.reserved && rg_link_shared(req->link))
		rg_shared_unreserve(rg_link_shared(req->link), res->room, j.subject->id,
				    &j.rule->limits);
	else if (e && j.reserved)
		rg_registry_unreserve(rg_link_registry(req->link), res->room, j.subject->id,
				      &j.rule->limits);
	rg_user_clear(&j.acting);
	json_decref(j.requested);
	json_decref(j.agents);
	rg_roomconfig_free(j.rc);
	rg_token_free(j.tok);
	if (e)
		rg_join_result_clear(res);
	return e;
}
