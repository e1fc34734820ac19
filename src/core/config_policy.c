/*
 * config_policy.c - the access policy part of the config: agent profiles
 * ("agents": what an agent dispatch looks like) and the rules ("rules":
 * who may join which rooms, with which agents and grants). Rules are
 * parsed after the profiles, since they may only name profiles that exist.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/names.h"
#include "base/util.h"
#include "core/config_parse.h"
#include "livekit/token.h"

/* "client_metadata": "*" or a list of field names. */
static rg_err profile_client_metadata(rg_profile *p, const json_t *cm, const char *where,
				      rg_error *err)
{
	json_t *s;
	size_t i;

	if (json_is_string(cm) && !strcmp(json_string_value(cm), "*")) {
		p->client_any = true;
	} else if (json_is_array(cm)) {
		json_array_foreach(cm, i, s) {
			if (!json_is_string(s))
				return rg_cfg_fail(err, "%s.client_metadata must hold field names",
						   where);
		}
		p->client_fields = json_deep_copy(cm);
	} else if (cm) {
		return rg_cfg_fail(err, "%s.client_metadata must be a list of field names or \"*\"",
				   where);
	}
	return RG_OK;
}

/* "metadata_format": "json" (the default, templates allowed) or "text". */
static rg_err profile_format(rg_profile *p, const json_t *v, const char *where, rg_error *err)
{
	const char *fmt = rg_json_str(v, "metadata_format");

	if (json_object_get(v, "metadata_format") && !fmt)
		return rg_cfg_fail(err, "%s.metadata_format must be \"json\" or \"text\"", where);
	if (!fmt || !strcmp(fmt, "json"))
		p->json_only = true;
	else if (strcmp(fmt, "text"))
		return rg_cfg_fail(err, "%s.metadata_format must be \"json\" or \"text\"", where);
	if (!p->json_only && p->metadata)
		return rg_cfg_fail(err, "%s: a metadata template needs metadata_format \"json\"",
				   where);
	return RG_OK;
}

static rg_err parse_profile(const char *key, const json_t *v, rg_profile *p, rg_error *err)
{
	static const char *const keys[] = {"agent_name", "description", "deployment", "metadata",
					   "client_metadata", "metadata_format", NULL};
	char where[300], field[320];
	rg_error why = {0};
	json_t *md;
	rg_err rc;

	snprintf(where, sizeof(where), "agents.%s", key);
	if ((rc = rg_cfg_only_keys(v, where, keys, err)))
		return rc;
	if (!(p->key = strdup(key)))
		return RG_ERR_NOMEM;
	if ((rc = rg_cfg_get_string(v, "agent_name", where, &p->agent_name, err)) ||
	    (rc = rg_cfg_get_string(v, "description", where, &p->description, err)) ||
	    (rc = rg_cfg_get_string(v, "deployment", where, &p->deployment, err)))
		return rc;
	if (!p->agent_name)
		return rg_cfg_fail(err, "%s.agent_name is required", where);
	/* a profile's name is what /v1/dispatch and /v1/sessions take as "agent" */
	snprintf(field, sizeof(field), "%s.agent_name", where);
	if (rg_agent_name_check(where, key, &why) ||
	    rg_agent_name_check(field, p->agent_name, &why))
		return rg_cfg_fail(err, "%s", why.message);
	md = json_object_get(v, "metadata");
	if (md && !json_is_object(md))
		return rg_cfg_fail(err, "%s.metadata must be an object (a template)", where);
	p->metadata = md ? json_deep_copy(md) : NULL;
	if ((rc = profile_client_metadata(p, json_object_get(v, "client_metadata"), where, err)))
		return rc;
	return profile_format(p, v, where, err);
}

/* "name", or "rule <n>" (1-based) when there is none. */
static rg_err rule_name(rg_rule *r, const json_t *v, size_t idx, const char *where,
			rg_error *err)
{
	char buf[32];
	rg_err rc;

	if ((rc = rg_cfg_get_string(v, "name", where, &r->name, err)) || r->name)
		return rc;
	snprintf(buf, sizeof(buf), "rule %zu", idx + 1);
	if (!(r->name = strdup(buf)))
		return RG_ERR_NOMEM;
	return RG_OK;
}

static bool method_ok(const char *m)
{
	static const char *const methods[] = {"basic", "session", "local", "jwt", "proxy",
					      "api_key", NULL};
	const char *const *p;

	for (p = methods; *p && strcmp(*p, m); p++)
		;
	return *p != NULL;
}

/* "match": users, groups and authentication methods. */
static rg_err rule_match(rg_rule *r, const json_t *m, const char *where, rg_error *err)
{
	static const char *const keys[] = {"users", "groups", "methods", NULL};
	char mw[320];
	rg_err rc;

	snprintf(mw, sizeof(mw), "%s.match", where);
	if ((rc = rg_cfg_only_keys(m, mw, keys, err)) ||
	    (rc = rg_cfg_get_strings(m, "users", mw, &r->m_users, &r->n_users, err)) ||
	    (rc = rg_cfg_get_strings(m, "groups", mw, &r->m_groups, &r->n_groups, err)) ||
	    (rc = rg_cfg_get_strings(m, "methods", mw, &r->m_methods, &r->n_methods, err)))
		return rc;
	for (size_t i = 0; i < r->n_methods; i++)
		if (!method_ok(r->m_methods[i]))
			return rg_cfg_fail(err,
					   "%s: unknown method '%s' (basic, session, local, jwt, "
					   "proxy, api_key)",
					   mw, r->m_methods[i]);
	return RG_OK;
}

/* "agents": "*" or names of existing profiles. */
static rg_err rule_agents(const rg_config_t *cfg, rg_rule *r, const char *where, rg_error *err)
{
	for (size_t i = 0; i < r->n_agents; i++) {
		if (!strcmp(r->agents[i], "*"))
			r->agents_any = true;
		else if (!rg_config_profile(cfg, r->agents[i]))
			return rg_cfg_fail(err, "%s.agents: no agent profile named '%s'", where,
					   r->agents[i]);
	}
	return RG_OK;
}

/* "grants": a VideoGrant overlay on publish/subscribe/data, checked by
 * merging it into a throwaway token. */
static rg_err rule_grants(rg_rule *r, const json_t *g, const char *where, rg_error *err)
{
	rg_token_t *probe;
	rg_error gerr;
	rg_err rc;

	r->grants = json_pack("{s:b,s:b,s:b}", "canPublish", 1, "canSubscribe", 1,
			      "canPublishData", 1);
	if (!r->grants)
		return RG_ERR_NOMEM;
	if (!g)
		return RG_OK;
	probe = rg_token_new();
	memset(&gerr, 0, sizeof(gerr));
	rc = probe ? rg_token_merge_grants(probe, g, &gerr) : RG_ERR_NOMEM;
	rg_token_free(probe);
	if (rc)
		return rg_cfg_fail(err, "%s.grants: %s", where, gerr.message);
	if (json_object_get(g, "room") || json_object_get(g, "roomJoin"))
		return rg_cfg_fail(err, "%s.grants: room and roomJoin are set by roomgate", where);
	json_object_update(r->grants, (json_t *)g);
	return RG_OK;
}

static rg_err count(const json_t *v, const char *key, const char *where, long *out,
		    rg_error *err)
{
	json_t *x = json_object_get(v, key);

	if (!x)
		return RG_OK;
	if (!json_is_integer(x) || json_integer_value(x) < 1 || json_integer_value(x) > 1000000)
		return rg_cfg_fail(err, "%s.%s must be an integer from 1 to 1000000", where, key);
	*out = (long)json_integer_value(x);
	return RG_OK;
}

/* "limits": {"live_sessions", "sessions_per_hour", "max_session",
 * "empty_timeout", "departure_timeout"} */
static rg_err rule_limits(rg_limits *l, const json_t *v, const char *rule, rg_error *err)
{
	static const char *const keys[] = {"live_sessions", "sessions_per_hour", "max_session",
					   "empty_timeout", "departure_timeout", NULL};
	char where[320];
	rg_err rc;

	if (!v)
		return RG_OK;
	snprintf(where, sizeof(where), "%s.limits", rule);
	if (!json_is_object(v))
		return rg_cfg_fail(err, "%s must be an object", where);
	if ((rc = rg_cfg_only_keys(v, where, keys, err)) ||
	    (rc = count(v, "live_sessions", where, &l->live_sessions, err)) ||
	    (rc = count(v, "sessions_per_hour", where, &l->sessions_per_hour, err)) ||
	    (rc = rg_cfg_get_duration(v, "max_session", where, &l->max_session, err)) ||
	    (rc = rg_cfg_get_duration(v, "empty_timeout", where, &l->empty_timeout, err)) ||
	    (rc = rg_cfg_get_duration(v, "departure_timeout", where, &l->departure_timeout, err)))
		return rc;
	if (l->empty_timeout > 86400 || l->departure_timeout > 86400)
		return rg_cfg_fail(err, "%s: empty_timeout and departure_timeout are at most 24h", where);
	return RG_OK;
}

static rg_err parse_rule(const rg_config_t *cfg, size_t idx, const json_t *v, rg_rule *r,
			 rg_error *err)
{
	static const char *const keys[] = {"name", "match", "rooms", "session_rooms", "agents",
					   "grants", "ttl", "end_any_session", "limits", NULL};
	char where[300];
	json_t *m;
	rg_err rc;

	snprintf(where, sizeof(where), "rules[%zu]", idx);
	if ((rc = rg_cfg_only_keys(v, where, keys, err)) ||
	    (rc = rule_name(r, v, idx, where, err)))
		return rc;
	snprintf(where, sizeof(where), "rules[%zu] (%s)", idx, r->name);
	if ((m = json_object_get(v, "match")) && (rc = rule_match(r, m, where, err)))
		return rc;
	if ((rc = rg_cfg_get_strings(v, "rooms", where, &r->rooms, &r->n_rooms, err)) ||
	    (rc = rg_cfg_get_strings(v, "agents", where, &r->agents, &r->n_agents, err)) ||
	    (rc = rg_cfg_get_duration(v, "ttl", where, &r->ttl, err)) ||
	    (rc = rg_cfg_get_bool(v, "session_rooms", where, &r->session_rooms, err)) ||
	    (rc = rg_cfg_get_bool(v, "end_any_session", where, &r->end_any_session, err)) ||
	    (rc = rule_agents(cfg, r, where, err)) ||
	    (rc = rule_limits(&r->limits, json_object_get(v, "limits"), where, err)))
		return rc;
	return rule_grants(r, json_object_get(v, "grants"), where, err);
}

static rg_err parse_agents(rg_config_t *cfg, json_t *agents, rg_error *err)
{
	const char *key;
	json_t *v;
	rg_err rc;

	if (!json_is_object(agents))
		return rg_cfg_fail(err, "agents must be an object of profiles");
	cfg->profiles = calloc(json_object_size(agents) + 1, sizeof(rg_profile));
	if (!cfg->profiles)
		return RG_ERR_NOMEM;
	json_object_foreach(agents, key, v) {
		if (!*key || !strcmp(key, "*"))
			return rg_cfg_fail(err, "agents: '%s' is not a profile name", key);
		rc = parse_profile(key, v, &cfg->profiles[cfg->n_profiles], err);
		cfg->n_profiles++;
		if (rc)
			return rc;
	}
	return RG_OK;
}

static rg_err parse_rules(rg_config_t *cfg, const json_t *rules, rg_error *err)
{
	json_t *v;
	size_t i;
	rg_err rc;

	if (!json_is_array(rules))
		return rg_cfg_fail(err, "rules must be an array");
	cfg->rules = calloc(json_array_size(rules) + 1, sizeof(rg_rule));
	if (!cfg->rules)
		return RG_ERR_NOMEM;
	json_array_foreach(rules, i, v) {
		rc = parse_rule(cfg, i, v, &cfg->rules[cfg->n_rules], err);
		cfg->n_rules++;
		if (rc)
			return rc;
	}
	return RG_OK;
}

rg_err rg_cfg_parse_policy(rg_config_t *cfg, const json_t *root, rg_error *err)
{
	json_t *v;
	rg_err rc;

	if ((v = json_object_get(root, "agents")) && (rc = parse_agents(cfg, v, err)))
		return rc;
	if ((v = json_object_get(root, "rules")))
		return parse_rules(cfg, v, err);
	return RG_OK;
}

const rg_profile *rg_config_profile(const rg_config_t *cfg, const char *key)
{
	for (size_t i = 0; cfg && key && i < cfg->n_profiles; i++)
		if (!strcmp(cfg->profiles[i].key, key))
			return &cfg->profiles[i];
	return NULL;
}
