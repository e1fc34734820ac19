/*
 * sessions.c - a user's sessions:
 *   POST   /v1/sessions              one unique room per session
 *   GET    /v1/sessions              the caller's live sessions (the registry)
 *   DELETE /v1/sessions/{room_name}  ends one (LiveKit DeleteRoom)
 *
 * A new session's room is new, so the caller's first connect creates it and
 * LiveKit dispatches the agents named in the token's roomConfig. Agents are
 * named by profile; the client may add the metadata fields profiles allow.
 * Someone else's room answers 404 exactly as one that does not exist.
 */
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/names.h"
#include "core/config.h"
#include "core/issue.h"
#include "core/link.h"
#include "core/policy.h"
#include "http/app.h"
#include "http/gate.h"
#include "http/metrics.h"
#include "http/request.h"
#include "http/routes.h"

static void create(rg_ctx *c)
{
	static const char *const known[] = {"agents", "participant_name", "metadata"};
	json_t *body = NULL, *agents, *md, *pn, *resp;
	rg_user_t user = {0};
	rg_join_result res = {0};
	rg_join join = {0};
	rg_error err = {0};

	if (rg_ctx_authenticate(c, &user, &err) || rg_body_json(c, &body, &err) ||
	    rg_body_only_keys(body, known, 3, &err))
		goto fail;
	agents = json_object_get(body, "agents");
	md = json_object_get(body, "metadata");
	pn = json_object_get(body, "participant_name");
	if ((agents && !json_is_array(agents)) || json_array_size(agents) > 16) {
		rg_fail(&err, RG_ERR_INVALID, "invalid_request",
			"agents must be an array of at most 16 profile names");
		goto fail;
	}
	if (md && !json_is_object(md)) {
		rg_fail(&err, RG_ERR_INVALID, "invalid_metadata", "metadata must be a JSON object");
		goto fail;
	}
	if (pn && !json_is_string(pn)) {
		rg_fail(&err, RG_ERR_INVALID, "invalid_request", "participant_name must be a string");
		goto fail;
	}
	join.name = json_string_length(pn) ? json_string_value(pn) : NULL;
	join.profiles = agents;
	join.client_metadata = md && json_object_size(md) ? md : NULL;
	join.link = c->app->link;
	if (rg_join_issue(c->cfg, &user, &join, &res, &err))
		goto fail;
	rg_metrics_token_issued(&c->app->metrics);
	resp = json_pack("{s:s,s:s,s:s,s:s,s:I,s:O}", "server_url", c->cfg->livekit.url, "room_name",
			 res.room, "participant_identity", res.identity, "participant_token",
			 res.jwt, "expires_at", (json_int_t)res.expires_at, "agents", res.agents);
	rg_add_header(c, "Cache-Control: no-store");
	rg_respond_json(c, 201, resp);
	snprintf(c->resp->user, sizeof(c->resp->user), "%s", user.id);
	goto out;
fail:
	if (user.id)
		snprintf(c->resp->user, sizeof(c->resp->user), "%s", user.id);
	rg_respond_error(c, &err);
out:
	rg_join_result_clear(&res);
	rg_user_clear(&user);
	json_decref(body);
}

static void list(rg_ctx *c)
{
	rg_user_t user = {0};
	rg_error err = {0};
	json_t *sessions;

	if (rg_ctx_authenticate(c, &user, &err)) {
		rg_respond_error(c, &err);
		return;
	}
	snprintf(c->resp->user, sizeof(c->resp->user), "%s", user.id);
	sessions = rg_registry_sessions(rg_link_registry(c->app->link), user.id);
	rg_add_header(c, "Cache-Control: no-store");
	rg_respond_json(c, 200, json_pack("{s:o*}", "sessions", sessions));
	rg_user_clear(&user);
}

static void end(rg_ctx *c, const char *room)
{
	const rg_rule *rule;
	rg_user_t user = {0};
	rg_error err = {0};

	if (rg_ctx_authenticate(c, &user, &err))
		goto fail;
	snprintf(c->resp->user, sizeof(c->resp->user), "%s", user.id);
	if (rg_room_name_check("room_name", room, c->cfg->room_pattern, &err))
		goto fail;
	rule = rg_policy_rule(c->cfg, &user);
	if (rg_link_end_session(c->app->link, &c->cfg->livekit, room, user.id,
				rule && rule->end_any_session, &err))
		goto fail;
	rg_respond_json(c, 200, json_pack("{s:s,s:b}", "room_name", room, "ended", 1));
	goto out;
fail:
	rg_respond_error(c, &err);
out:
	rg_user_clear(&user);
}

void rg_route_sessions(rg_ctx *c)
{
	const char *m = c->req->method, *path = c->req->path;
	rg_error err = {0};

	if (!strncmp(path, "/v1/sessions/", 13)) {
		if (!path[13] || strchr(path + 13, '/')) { /* no room name has a '/' */
			rg_fail(&err, RG_ERR_NOT_FOUND, "not_found", "no route %s", path);
		} else if (!strcmp(m, "DELETE")) {
			end(c, path + 13);
			return;
		} else {
			rg_add_header(c, "Allow: DELETE, OPTIONS");
			rg_fail(&err, RG_ERR_METHOD, "method_not_allowed",
				"use DELETE /v1/sessions/{room_name}");
		}
	} else if (!strcmp(m, "POST")) {
		create(c);
		return;
	} else if (!strcmp(m, "GET")) {
		list(c);
		return;
	} else {
		rg_add_header(c, "Allow: GET, POST, OPTIONS");
		rg_fail(&err, RG_ERR_METHOD, "method_not_allowed", "use POST or GET /v1/sessions");
	}
	rg_respond_error(c, &err);
}
