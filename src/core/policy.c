/*
 * policy.c - who may join which rooms with which agents.
 *
 * Rules are tried in order and the first whose `match` fits the user
 * decides; anything a rule does not allow is denied with a message that
 * names the rule. Agent job metadata is composed here: the client's fields
 * (only those the profile lists) overlaid by the profile's template rendered
 * with server-trusted values ({{user.id}}, ...), so a client can never
 * override what the server fills in.
 */
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/jsonw.h"
#include "base/util.h"
#include "core/config.h"
#include "core/policy.h"

static bool in_strings(char *const *v, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v[i], s))
			return true;
	return false;
}

static bool rule_matches(const rg_rule *r, const rg_user_t *u)
{
	if (r->n_users && !in_strings(r->m_users, r->n_users, u->id))
		return false;
	if (r->n_groups) {
		bool any = false;
		for (size_t i = 0; i < u->ngroups && !any; i++)
			any = in_strings(r->m_groups, r->n_groups, u->groups[i]);
		if (!any)
			return false;
	}
	if (r->n_methods) {
		const char *m = u->method ? u->method : "";
		bool local = !strcmp(m, "basic") || !strcmp(m, "session");
		if (!in_strings(r->m_methods, r->n_methods, m) &&
		    !(local && in_strings(r->m_methods, r->n_methods, "local")))
			return false;
	}
	return true;
}

const rg_rule *rg_policy_rule(const rg_config_t *cfg, const rg_user_t *user)
{
	for (size_t i = 0; i < cfg->n_rules; i++)
		if (rule_matches(&cfg->rules[i], user))
			return &cfg->rules[i];
	return NULL;
}

bool rg_policy_room_allowed(const rg_rule *rule, const char *room)
{
	for (size_t i = 0; i < rule->n_rooms; i++)
		if (rg_glob_match(rule->rooms[i], room))
			return true;
	return false;
}

/* Replaces {{user.id}}, {{user.name}}, {{user.method}} and {{room}} in s. */
static json_t *render_string(const char *s, const rg_user_t *u, const char *room)
{
	static const char *const names[] = {"{{user.id}}", "{{user.name}}", "{{user.method}}",
					    "{{room}}"};
	const char *vals[] = {u->id, u->name, u->method ? u->method : "", room};
	size_t cap = strlen(s) + 1, len = 0;
	char *out, *grown;
	json_t *res;

	if (!strcmp(s, "{{user.groups}}")) {
		json_t *arr = json_array();
		for (size_t i = 0; arr && i < u->ngroups; i++)
			json_array_append_new(arr, json_string(u->groups[i]));
		return arr;
	}
	if (!(out = malloc(cap)))
		return NULL;
	while (*s) {
		const char *add = s;
		size_t addlen = 1, skip = 1;
		for (size_t i = 0; s[0] == '{' && s[1] == '{' && i < sizeof(names) / sizeof(names[0]);
		     i++) {
			size_t nl = strlen(names[i]);
			if (!strncmp(s, names[i], nl)) {
				add = vals[i];
				addlen = strlen(vals[i]);
				skip = nl;
				break;
			}
		}
		if (len + addlen + 1 > cap) {
			cap = (len + addlen + 1) * 2;
			if (!(grown = realloc(out, cap))) {
				free(out);
				return NULL;
			}
			out = grown;
		}
		memcpy(out + len, add, addlen);
		len += addlen;
		s += skip;
	}
	out[len] = '\0';
	res = json_stringn(out, len);
	free(out);
	return res;
}

static json_t *render(const json_t *t, const rg_user_t *u, const char *room)
{
	const char *k;
	json_t *v, *out;
	size_t i;

	if (json_is_string(t))
		return render_string(json_string_value(t), u, room);
	if (json_is_object(t)) {
		out = json_object();
		json_object_foreach((json_t *)t, k, v)
			json_object_set_new(out, k, render(v, u, room));
		return out;
	}
	if (json_is_array(t)) {
		out = json_array();
		json_array_foreach(t, i, v)
			json_array_append_new(out, render(v, u, room));
		return out;
	}
	return json_deep_copy(t);
}

static const rg_profile *find_by_agent_name(const rg_config_t *cfg, const rg_rule *rule,
					     const char *agent_name)
{
	if (rule->agents_any) {
		for (size_t i = 0; i < cfg->n_profiles; i++)
			if (!strcmp(cfg->profiles[i].agent_name, agent_name))
				return &cfg->profiles[i];
		return NULL;
	}
	for (size_t i = 0; i < rule->n_agents; i++) {
		const rg_profile *p = rg_config_profile(cfg, rule->agents[i]);
		if (p && !strcmp(p->agent_name, agent_name))
			return p;
	}
	return NULL;
}

static bool field_allowed(const rg_profile *p, const char *field)
{
	size_t i;
	json_t *f;

	if (p->client_any)
		return true;
	json_array_foreach(p->client_fields, i, f) {
		if (!strcmp(json_string_value(f), field))
			return true;
	}
	return false;
}

/* The profile's job metadata for this user and room, as a JSON string. */
static rg_err compose(const rg_profile *p, const rg_user_t *user, const char *room,
		      const json_t *client_md, char **out, rg_error *err)
{
	json_t *client = NULL, *rendered = NULL;
	const char *k;
	json_t *v;
	rg_err rc = RG_OK;

	*out = NULL;
	if (json_is_string(client_md) && !json_string_length(client_md))
		client_md = NULL;
	if (json_is_string(client_md)) {
		if (!p->json_only) {
			if (!p->client_any)
				return rg_fail(err, RG_ERR_FORBIDDEN, "metadata_not_allowed",
					       "agent profile '%s' does not let clients set metadata",
					       p->key);
			*out = strdup(json_string_value(client_md));
			return *out ? RG_OK : RG_ERR_NOMEM;
		}
		client = rg_json_load(json_string_value(client_md), json_string_length(client_md),
				      JSON_REJECT_DUPLICATES, NULL);
		if (!json_is_object(client)) {
			rc = rg_fail(err, RG_ERR_INVALID, "invalid_metadata",
				     "metadata for agent '%s' must be a JSON object", p->agent_name);
			goto out;
		}
	} else if (json_is_object(client_md)) {
		client = json_deep_copy(client_md);
	} else if (client_md) {
		return rg_fail(err, RG_ERR_INVALID, "invalid_metadata",
			       "metadata for agent '%s' must be a JSON object", p->agent_name);
	} else {
		client = json_object();
	}
	if (!client) {
		rc = rg_fail(err, RG_ERR_NOMEM, NULL, "out of memory");
		goto out;
	}
	json_object_foreach(client, k, v) {
		if (!field_allowed(p, k)) {
			rc = rg_fail(err, RG_ERR_FORBIDDEN, "metadata_not_allowed",
				     "agent profile '%s' does not let clients set metadata field '%s'",
				     p->key, k);
			goto out;
		}
	}
	if (p->metadata) {
		if (!(rendered = render(p->metadata, user, room))) {
			rc = rg_fail(err, RG_ERR_NOMEM, NULL, "out of memory");
			goto out;
		}
		json_object_update(client, rendered);
	}
	if (json_object_size(client) && !(*out = rg_json_compact(client)))
		rc = rg_fail(err, RG_ERR_NOMEM, NULL, "out of memory");
out:
	json_decref(client);
	json_decref(rendered);
	return rc;
}

rg_err rg_policy_agent(const rg_config_t *cfg, const rg_rule *rule, const rg_user_t *user,
		       const char *room, const char *name, bool by_profile,
		       const json_t *client_md, const char *deployment, json_t **out,
		       rg_error *err)
{
	const rg_profile *p;
	char *md = NULL;
	json_t *agent;
	rg_err rc;

	*out = NULL;
	if (by_profile) {
		p = rg_config_profile(cfg, name);
		if (p && !rule->agents_any && !in_strings(rule->agents, rule->n_agents, name))
			p = NULL;
	} else {
		p = find_by_agent_name(cfg, rule, name);
	}
	if (!p && !rule->agents_any)
		return rg_fail(err, RG_ERR_FORBIDDEN, "agent_not_allowed",
			       "rule '%s' does not allow agent %s'%s' for user '%s'", rule->name,
			       by_profile ? "profile " : "", name, user->id);
	if (p) {
		if ((rc = compose(p, user, room, client_md, &md, err)))
			return rc;
		if (p->deployment)
			deployment = p->deployment;
	} else if (json_is_string(client_md)) {
		md = json_string_length(client_md) ? strdup(json_string_value(client_md)) : NULL;
	} else if (client_md && !json_is_null(client_md)) {
		md = rg_json_compact(client_md);
	}
	agent = json_pack("{s:s}", "agentName", p ? p->agent_name : name);
	if (!agent) {
		free(md);
		return rg_fail(err, RG_ERR_INVALID, "invalid_request", "agent name is not valid UTF-8");
	}
	if (md)
		json_object_set_new(agent, "metadata", json_string(md));
	if (deployment && *deployment)
		json_object_set_new(agent, "deployment", json_string(deployment));
	free(md);
	*out = agent;
	return RG_OK;
}
