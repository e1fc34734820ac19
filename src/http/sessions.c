/*
 * sessions.c - POST /v1/sessions: one unique room per session.
 *
 * The room is new, so the caller's first connect creates it and LiveKit
 * dispatches the agents named in the token's roomConfig. Agents are named
 * by profile; the client may add the metadata fields profiles allow.
 */
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "core/config.h"
#include "core/issue.h"
#include "http/app.h"
#include "http/gate.h"
#include "http/metrics.h"
#include "http/request.h"
#include "http/routes.h"

void rg_route_sessions(rg_ctx *c)
{
	static const char *const known[] = {"agents", "participant_name", "metadata"};
	json_t *body = NULL, *agents, *md, *pn, *resp;
	rg_user_t user = {0};
	rg_join_result res = {0};
	rg_join join = {0};
	rg_error err = {0};

	if (strcmp(c->req->method, "POST")) {
		rg_add_header(c, "Allow: POST, OPTIONS");
		rg_fail(&err, RG_ERR_METHOD, "method_not_allowed", "use POST /v1/sessions");
		goto fail;
	}
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
