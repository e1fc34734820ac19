/*
 * dispatch.c - explicit agent dispatch into rooms that already exist:
 *   POST   /v1/dispatch                 {"room_name","agent":"<profile>","metadata":{}}
 *   GET    /v1/dispatch?room_name=R
 *   DELETE /v1/dispatch/{id}?room_name=R
 * Policy first (room and agent profile, as for tokens), then LiveKit's
 * AgentDispatchService with server credentials. LiveKit's own JSON is passed
 * through; its failures are 502 with its message.
 */
#include <civetweb.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/names.h"
#include "base/util.h"
#include "core/config.h"
#include "core/link.h"
#include "core/policy.h"
#include "http/app.h"
#include "http/gate.h"
#include "http/request.h"
#include "http/routes.h"
#include "livekit/api.h"

/* The decoded query parameter `name` (malloc'd), or NULL when absent. A
 * decoded NUL would cut the name short: it is kept as a control character
 * (\x01) so that the name rule refuses it rather than a shorter name passing. */
static char *query_param(const rg_request_t *req, const char *name)
{
	size_t qlen = req->query ? strlen(req->query) : 0;
	char *buf;
	int n;

	if (!req->query || !(buf = malloc(qlen + 1)))
		return NULL;
	if ((n = mg_get_var(req->query, qlen, name, buf, qlen + 1)) < 0) {
		free(buf);
		return NULL;
	}
	for (int i = 0; i < n; i++)
		if (!buf[i])
			buf[i] = '\x01';
	return buf;
}

/* The registry knows the room is live: LiveKit need not be asked first. */
static bool known_live(rg_ctx *c, const char *room)
{
	return rg_registry_state(rg_link_registry(c->app->link), room) == RG_ROOM_LIVE;
}

/* The caller's rule, and that it allows `room`. */
static const rg_rule *room_rule(rg_ctx *c, const rg_user_t *user, const char *room,
				rg_error *err)
{
	const rg_rule *rule = rg_policy_rule(c->cfg, user);

	if (!rule) {
		rg_fail(err, RG_ERR_FORBIDDEN, "no_matching_rule", "no rule allows user '%s'", user->id);
		return NULL;
	}
	if (!room) {
		rg_fail(err, RG_ERR_INVALID, "invalid_request", "room_name is required");
		return NULL;
	}
	if (rg_room_name_check("room_name", room, c->cfg->room_pattern, err))
		return NULL;
	if (!rg_policy_room_allowed(rule, room)) {
		rg_fail(err, RG_ERR_FORBIDDEN, "room_not_allowed",
			"rule '%s' does not allow user '%s' into room '%s'", rule->name, user->id, room);
		return NULL;
	}
	return rule;
}

static void create(rg_ctx *c, const rg_user_t *user)
{
	static const char *const known[] = {"room_name", "agent", "metadata"};
	json_t *body = NULL, *resolved = NULL, *out = NULL, *v;
	const rg_rule *rule;
	const char *room, *agent;
	rg_error err = {0};
	bool created = false;

	if (rg_body_json(c, &body, &err) || rg_body_only_keys(body, known, 3, &err))
		goto fail;
	room = rg_json_str(body, "room_name");
	agent = rg_json_str(body, "agent");
	v = json_object_get(body, "metadata");
	if (!agent || (v && !json_is_object(v) && !json_is_null(v))) {
		rg_fail(&err, RG_ERR_INVALID, "invalid_request",
			"expected {\"room_name\": \"...\", \"agent\": \"<profile>\", \"metadata\": {...}}");
		goto fail;
	}
	if (!(rule = room_rule(c, user, room, &err)) || rg_agent_name_check("agent", agent, &err) ||
	    rg_policy_agent(c->cfg, rule, user, room, agent, true, json_is_object(v) ? v : NULL, NULL,
			    &resolved, &err) ||
	    rg_lk_dispatch(&c->cfg->livekit, room, resolved, known_live(c, room), &created, &out,
			   &err))
		goto fail;
	rg_respond_json(c, created ? 201 : 200, out);
	out = NULL;
	goto done;
fail:
	rg_respond_error(c, &err);
done:
	json_decref(out);
	json_decref(resolved);
	json_decref(body);
}

void rg_route_dispatch(rg_ctx *c)
{
	const char *path = c->req->path, *id = NULL;
	rg_user_t user = {0};
	rg_error err = {0};
	char *room = NULL;
	json_t *out = NULL;

	if (!strncmp(path, "/v1/dispatch/", 13)) {
		id = path + 13;
		if (strcmp(c->req->method, "DELETE")) {
			rg_add_header(c, "Allow: DELETE, OPTIONS");
			rg_fail(&err, RG_ERR_METHOD, "method_not_allowed",
				"use DELETE /v1/dispatch/{id}?room_name=R");
			goto fail;
		}
		if (!*id || strchr(id, '/')) {
			rg_fail(&err, RG_ERR_NOT_FOUND, "not_found", "no route %s", path);
			goto fail;
		}
	} else if (strcmp(c->req->method, "POST") && strcmp(c->req->method, "GET")) {
		rg_add_header(c, "Allow: GET, POST, OPTIONS");
		rg_fail(&err, RG_ERR_METHOD, "method_not_allowed", "use POST or GET /v1/dispatch");
		goto fail;
	}
	if (rg_ctx_authenticate(c, &user, &err))
		goto fail;
	snprintf(c->resp->user, sizeof(c->resp->user), "%s", user.id);
	if (!strcmp(c->req->method, "POST")) {
		create(c, &user);
		goto done;
	}
	room = query_param(c->req, "room_name");
	if (!room_rule(c, &user, room, &err))
		goto fail;
	if (id ? rg_lk_delete_dispatch(&c->cfg->livekit, room, id, &out, &err)
	       : rg_lk_list_dispatches(&c->cfg->livekit, room, known_live(c, room), &out, &err))
		goto fail;
	if (id)
		rg_registry_forget_dispatches(rg_link_registry(c->app->link), room);
	rg_respond_json(c, 200, out);
	goto done;
fail:
	rg_respond_error(c, &err);
done:
	free(room);
	rg_user_clear(&user);
}
