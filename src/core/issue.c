/*
 * issue.c - the join-token flow shared by POST /token and POST /v1/sessions:
 * rule -> room (given and allowed, or provisioned) -> identity -> grants ->
 * agents (each through policy) -> signed LiveKit token.
 */
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/log.h"
#include "base/util.h"
#include "core/config.h"
#include "core/issue.h"
#include "core/policy.h"
#include "livekit/api.h"
#include "livekit/roomconfig.h"
#include "livekit/token.h"

static bool room_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > RG_MAX_NAME)
		return false;
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

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

rg_err rg_join_issue(const rg_config_t *cfg, const rg_user_t *user, const rg_join *req,
		     rg_join_result *res, rg_error *err)
{
	const rg_rule *rule;
	rg_roomconfig_t *rc = NULL;
	rg_token_t *tok = NULL;
	rg_user_t acting = {0};
	const rg_user_t *subject = user;
	json_t *requested = NULL, *agent, *resolved = NULL, *all = NULL;
	const char *identity, *k;
	json_t *v;
	size_t i;
	long ttl;
	rg_err e = RG_OK;

	memset(res, 0, sizeof(*res));
	if (!(rule = rg_policy_rule(cfg, user)))
		return rg_fail(err, RG_ERR_FORBIDDEN, "no_matching_rule",
			       "no rule allows user '%s' (authenticated by %s)", user->id,
			       user->method ? user->method : "?");
	if (req->room) {
		if (!room_name_ok(req->room))
			return rg_fail(err, RG_ERR_INVALID, "invalid_request",
				       "room_name must be 1 to 256 characters without control "
				       "characters");
		if (!rg_policy_room_allowed(rule, req->room))
			return rg_fail(err, RG_ERR_FORBIDDEN, "room_not_allowed",
				       "rule '%s' does not allow user '%s' into room '%s'", rule->name,
				       user->id, req->room);
		rg_copy(res->room, sizeof(res->room), req->room);
	} else {
		if (!rule->session_rooms)
			return rg_fail(err, RG_ERR_FORBIDDEN, "room_not_allowed",
				       "rule '%s' does not let user '%s' create session rooms; give "
				       "a room_name",
				       rule->name, user->id);
		if (rg_room_new_name(cfg->room_prefix, res->room, sizeof(res->room)))
			return rg_fail(err, RG_ERR_CRYPTO, NULL, "cannot make a room name");
	}
	identity = req->identity ? req->identity : user->id;
	if (strcmp(identity, user->id) && !user->may_act_for_others)
		return rg_fail(err, RG_ERR_FORBIDDEN, "identity_not_allowed",
			       "participant_identity can only be chosen by API-key callers; "
			       "user '%s' joins as '%s'",
			       user->id, user->id);
	if (!*identity || strlen(identity) > RG_MAX_NAME)
		return rg_fail(err, RG_ERR_INVALID, "invalid_request",
			       "participant_identity must be 1 to 256 characters");

	/* an API key acting for a user: templates see that user, not the key */
	if (strcmp(identity, user->id)) {
		if (rg_user_set(&acting, identity, req->name ? req->name : identity, user->groups,
				user->ngroups, user->method)) {
			e = rg_fail(err, RG_ERR_NOMEM, NULL, "out of memory");
			goto out;
		}
		subject = &acting;
	}
	tok = rg_token_new();
	res->agents = json_array();
	if (!tok || !res->agents) {
		e = rg_fail(err, RG_ERR_NOMEM, NULL, "out of memory");
		goto out;
	}
	if (rg_token_set_identity(tok, identity) || rg_token_set_room(tok, res->room) ||
	    rg_token_set_name(tok, req->name ? req->name : subject->name) ||
	    (req->metadata && *req->metadata && rg_token_set_metadata(tok, req->metadata))) {
		e = rg_fail(err, RG_ERR_INVALID, "invalid_request",
			    "participant name or metadata is too long or not UTF-8");
		goto out;
	}
	json_object_foreach((json_t *)req->attributes, k, v) {
		if (rg_token_set_attribute(tok, k, json_string_value(v))) {
			e = rg_fail(err, RG_ERR_INVALID, "invalid_request",
				    "participant_attributes.%s must be a string", k);
			goto out;
		}
	}
	if ((e = rg_token_merge_grants(tok, rule->grants, err)))
		goto out;
	ttl = rule->ttl ? rule->ttl : cfg->default_ttl;
	rg_token_set_ttl(tok, ttl < cfg->max_ttl ? ttl : cfg->max_ttl);

	if (req->room_config) {
		const char *name;
		if ((e = rg_roomconfig_from_json(req->room_config, &rc, err)))
			goto out;
		name = rg_json_str(rc->obj, "name");
		if (name && strcmp(name, res->room)) {
			e = rg_fail(err, RG_ERR_INVALID, "invalid_room_config",
				    "room_config.name must be empty or equal the room name");
			goto out;
		}
		requested = json_object_get(rc->obj, "agents");
		json_incref(requested);
		json_object_del(rc->obj, "agents");
	} else if (!(rc = rg_roomconfig_new())) {
		e = rg_fail(err, RG_ERR_NOMEM, NULL, "out of memory");
		goto out;
	}
	if (!(all = json_array())) {
		e = rg_fail(err, RG_ERR_NOMEM, NULL, "out of memory");
		goto out;
	}
	json_array_foreach(requested, i, agent) {
		if ((e = rg_policy_agent(cfg, rule, subject, res->room, rg_json_str(agent, "agentName"),
					 false, json_object_get(agent, "metadata"),
					 rg_json_str(agent, "deployment"), &resolved, err)))
			goto out;
		keep_client_choices(resolved, agent);
		json_array_append_new(all, resolved);
		resolved = NULL;
	}
	json_array_foreach(req->profiles, i, agent) {
		if (!json_is_string(agent)) {
			e = rg_fail(err, RG_ERR_INVALID, "invalid_request",
				    "agents[%zu] must be a profile name", i);
			goto out;
		}
		if ((e = rg_policy_agent(cfg, rule, subject, res->room, json_string_value(agent), true,
					 req->client_metadata, NULL, &resolved, err)))
			goto out;
		json_array_append_new(all, resolved);
		resolved = NULL;
	}
	if (json_array_size(all)) {
		bool exists = false;
		rg_error lkerr = {0};
		/* A token's agents only act when its connect creates the room; for
		 * a live room LiveKit ignores them, so dispatch through the API. */
		if (req->room && cfg->check_existing_rooms &&
		    rg_lk_room_exists(&cfg->livekit, res->room, &exists, &lkerr))
			rg_log_json("warn", "room_check_failed",
				    json_pack("{s:s,s:s}", "room", res->room, "msg", lkerr.message));
		res->dispatch = exists ? "api" : "token";
		json_array_foreach(all, i, agent) {
			if (exists) {
				json_t *d = NULL;
				bool created;
				if ((e = rg_lk_dispatch(&cfg->livekit, res->room, agent, &created, &d, err)))
					goto out;
				json_decref(d);
			} else if (add_to_config(rc, agent)) {
				e = rg_fail(err, RG_ERR_NOMEM, NULL, "out of memory");
				goto out;
			}
			if (add_to_response(res->agents, agent)) {
				e = rg_fail(err, RG_ERR_NOMEM, NULL, "out of memory");
				goto out;
			}
		}
	}
	if (json_object_size(rc->obj) && rg_token_share_room_config(tok, rc)) {
		e = rg_fail(err, RG_ERR_NOMEM, NULL, "out of memory");
		goto out;
	}
	if (!(res->identity = strdup(identity))) {
		e = rg_fail(err, RG_ERR_NOMEM, NULL, "out of memory");
		goto out;
	}
	e = rg_token_sign_with(tok, cfg->livekit.signer, 0, &res->jwt, &res->expires_at, err);
out:
	rg_user_clear(&acting);
	json_decref(resolved);
	json_decref(requested);
	json_decref(all);
	rg_roomconfig_free(rc);
	rg_token_free(tok);
	if (e)
		rg_join_result_clear(res);
	return e;
}
