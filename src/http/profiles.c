/*
 * profiles.c - GET /v1/profiles: the agent profiles this user may
 * start, for pickers in a frontend. Names, agent names, descriptions and
 * which metadata fields a client may set; never templates or secrets.
 */
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "core/config.h"
#include "core/policy.h"
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
	resp = json_pack("{s:o,s:b,s:b,s:{s:s,s:s,s:o,s:s}}", "profiles", list, "any_agent",
			 rule && rule->agents_any, "session_rooms", rule && rule->session_rooms,
			 "user", "id", user.id, "name", user.name, "groups", groups, "method",
			 user.method);
	rg_add_header(c, "Cache-Control: no-store");
	rg_respond_json(c, 200, resp);
	snprintf(c->resp->user, sizeof(c->resp->user), "%s", user.id);
	rg_user_clear(&user);
	return;
fail:
	rg_respond_error(c, &err);
	rg_user_clear(&user);
}
