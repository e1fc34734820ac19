/*
 * profiles.c - GET /v1/profiles: the agent profiles this user may
 * start, for pickers in a frontend. Names, agent names, descriptions and
 * which metadata fields a client may set; never templates or secrets.
 */
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/util.h"
#include "core/config.h"
#include "core/policy.h"
#include "core/link.h"
#include "http/app.h"
#include "http/gate.h"
#include "http/request.h"
#include "http/routes.h"

static json_t *profile_json(const rg_profile *p)
{
	/* a new reference in every case: "o" steals it */
	json_t *fields = p->client_any	      ? json_string("*")
			 : p->client_fields ? json_incref(p->client_fields)
					    : json_array();

	return json_pack("{s:s,s:s,s:s,s:o}", "name", p->key, "agent_name", p->agent_name,
			 "description", p->description ? p->description : "", "client_metadata",
			 fields);
}

static json_t *opt_int(long v)
{
	return v ? json_integer(v) : json_null();
}

/* The rule's limits and the user's use of them; null without limits. */
static json_t *limits_json(rg_ctx *c, const rg_rule *rule, const char *user)
{
	const rg_limits *l = rule ? &rule->limits : NULL;
	rg_usage use = {0, -1};

	if (!l || !(RG_LIMITS_COUNT(l) || l->empty_timeout || l->departure_timeout))
		return json_null();
	if (c->app->link && rg_link_shared(c->app->link))
		rg_shared_usage(rg_link_shared(c->app->link), user, l, rg_now(), &use, NULL);
	else if (c->app->link)
		rg_registry_usage(rg_link_registry(c->app->link), user, l, rg_now(), &use);
	return json_pack("{s:o,s:o,s:o,s:o,s:o,s:{s:I,s:o}}", "live_sessions",
			 opt_int(l->live_sessions), "sessions_per_hour",
			 opt_int(l->sessions_per_hour), "max_session", opt_int(l->max_session),
			 "empty_timeout", opt_int(l->empty_timeout), "departure_timeout",
			 opt_int(l->departure_timeout), "used", "live_sessions",
			 (json_int_t)use.live_sessions, "sessions_left",
			 use.sessions_left < 0 ? json_null() : json_integer(use.sessions_left));
}

void rg_route_profiles(rg_ctx *c)
{
	rg_user_t user = {0};
	rg_error err = {0};
	const rg_rule *rule;
	json_t *list, *groups, *resp;

	if (strcmp(c->req->method, "GET")) {
		rg_add_header(c, "Allow: GET, OPTIONS");
		rg_fail(&err, RG_ERR_METHOD, "method_not_allowed", "use GET /v1/profiles");
		goto fail;
	}
	if (rg_ctx_authenticate(c, &user, &err))
		goto fail;
	list = json_array();
	groups = json_array();
	rule = rg_policy_rule(c->cfg, &user);
	for (size_t i = 0; rule && i < c->cfg->n_profiles; i++) {
		const rg_profile *p = &c->cfg->profiles[i];
		bool ok = rule->agents_any;
		for (size_t j = 0; !ok && j < rule->n_agents; j++)
			ok = !strcmp(rule->agents[j], p->key);
		if (ok)
			json_array_append_new(list, profile_json(p));
	}
	for (size_t i = 0; i < user.ngroups; i++)
		json_array_append_new(groups, json_string(user.groups[i]));
	resp = json_pack("{s:o,s:b,s:b,s:{s:s,s:s,s:o,s:s},s:o}", "profiles", list, "any_agent",
			 rule && rule->agents_any, "session_rooms", rule && rule->session_rooms,
			 "user", "id", user.id, "name", user.name, "groups", groups, "method",
			 user.method, "limits", limits_json(c, rule, user.id));
	rg_add_header(c, "Cache-Control: no-store");
	rg_respond_json(c, 200, resp);
	snprintf(c->resp->user, sizeof(c->resp->user), "%s", user.id);
	rg_user_clear(&user);
	return;
fail:
	rg_respond_error(c, &err);
	rg_user_clear(&user);
}
