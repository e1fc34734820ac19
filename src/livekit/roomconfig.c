/*
 * roomconfig.c - livekit.RoomConfiguration in protobuf JSON.
 *
 * Requests spell fields in proto names (snake_case, what livekit-client
 * sends) or JSON names (camelCase); the token claim is always camelCase with
 * only the fields that are set, as the Go SDK's protojson writes it, so that
 * older LiveKit and OpenVidu servers (which reject unknown keys) accept it.
 * Unknown fields are refused: LiveKit would silently drop a misspelt
 * "agent", and the user would get a room without its agent. Egress is refused
 * because its storage credentials would be readable by the client.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/jsonw.h"
#include "base/names.h"
#include "base/util.h"
#include "livekit/roomconfig.h"

#define RC_SLUG "invalid_room_config"

typedef enum { F_STRING, F_UINT32, F_BOOL, F_MAP, F_AGENTS, F_REFUSED } ftype;

static const struct field {
	const char *snake, *camel;
	ftype type;
} room_fields[] = {
	{"name", "name", F_STRING},
	{"empty_timeout", "emptyTimeout", F_UINT32},
	{"departure_timeout", "departureTimeout", F_UINT32},
	{"max_participants", "maxParticipants", F_UINT32},
	{"metadata", "metadata", F_STRING},
	{"egress", "egress", F_REFUSED},
	{"min_playout_delay", "minPlayoutDelay", F_UINT32},
	{"max_playout_delay", "maxPlayoutDelay", F_UINT32},
	{"sync_streams", "syncStreams", F_BOOL},
	{"agents", "agents", F_AGENTS},
	{"tags", "tags", F_MAP},
};

static const struct field agent_fields[] = {
	{"agent_name", "agentName", F_STRING},
	{"metadata", "metadata", F_STRING},
	{"restart_policy", "restartPolicy", F_STRING},
	{"deployment", "deployment", F_STRING},
	{"attributes", "attributes", F_MAP},
};

static size_t append(char *buf, size_t n, size_t at, const char *s, size_t len)
{
	if (at + len >= n)
		len = n - at - 1;
	memcpy(buf + at, s, len);
	return at + len;
}

/* "room_config[.agents[i]].field" for error messages, without printf on
 * the hot path (every field of every request passes here). */
static void set_where(char *buf, size_t n, size_t idx, bool agent, const char *snake)
{
	char num[24];
	size_t at, k = sizeof(num);

	if (agent) {
		do {
			num[--k] = (char)('0' + idx % 10);
			idx /= 10;
		} while (idx && k);
		at = append(buf, n, 0, "room_config.agents[", 19);
		at = append(buf, n, at, num + k, sizeof(num) - k);
		at = append(buf, n, at, "].", 2);
	} else {
		at = append(buf, n, 0, "room_config.", 12);
	}
	at = append(buf, n, at, snake, strlen(snake));
	buf[at] = '\0';
}

static const struct field *find_field(const struct field *tab, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(tab[i].snake, key) || !strcmp(tab[i].camel, key))
			return &tab[i];
	return NULL;
}

static rg_err parse_uint32(const json_t *v, const char *where, json_int_t *out, rg_error *err)
{
	if (json_is_integer(v)) {
		*out = json_integer_value(v);
	} else if (json_is_string(v)) {
		const char *s = json_string_value(v);
		char *end;
		long long n;
		errno = 0;
		n = strtoll(s, &end, 10);
		if (!*s || *end || errno || !isdigit((unsigned char)s[0]))
			goto bad;
		*out = (json_int_t)n;
	} else if (json_is_real(v)) {
		/* range first: casting a double outside json_int_t is undefined */
		double d = json_real_value(v);
		if (!(d >= 0 && d <= 4294967295.0) || d != (double)(json_int_t)d)
			goto bad;
		*out = (json_int_t)d;
	} else {
		goto bad;
	}
	if (*out < 0 || *out > 4294967295LL)
		goto bad;
	return RG_OK;
bad:
	return rg_fail(err, RG_ERR_INVALID, RC_SLUG, "%s must be an unsigned 32-bit integer",
		       where);
}

static rg_err parse_map(const json_t *v, const char *where, json_t **out, rg_error *err)
{
	const char *k;
	json_t *val;

	if (!json_is_object(v))
		return rg_fail(err, RG_ERR_INVALID, RC_SLUG, "%s must be an object of strings",
			       where);
	json_object_foreach((json_t *)v, k, val) {
		if (!json_is_string(val))
			return rg_fail(err, RG_ERR_INVALID, RC_SLUG,
				       "%s.%s must be a string", where, k);
	}
	*out = json_object_size(v) ? json_deep_copy(v) : NULL;
	return RG_OK;
}

/* A metadata value: a string is kept as is; an object (a common client
 * mistake) is serialized to a compact JSON string. */
static rg_err parse_metadata(const json_t *v, const char *where, json_t **out, rg_error *err)
{
	char *s;

	if (json_is_string(v)) {
		*out = json_string_length(v) ? json_incref((json_t *)v) : NULL;
		return RG_OK;
	}
	if (!json_is_object(v))
		return rg_fail(err, RG_ERR_INVALID, RC_SLUG,
			       "%s must be a string (JSON text) or a JSON object", where);
	s = rg_json_compact(v);
	if (!s)
		return rg_fail(err, RG_ERR_NOMEM, NULL, "out of memory");
	*out = json_string(s);
	free(s);
	return *out ? RG_OK : rg_fail(err, RG_ERR_INVALID, RC_SLUG, "%s is not valid UTF-8", where);
}

static rg_err parse_agent(const json_t *in, size_t idx, json_t **out, rg_error *err)
{
	const char *key;
	json_t *v, *agent = json_object(), *tmp = NULL;
	char where[64];
	rg_err rc = RG_OK;
	bool seen[sizeof(agent_fields) / sizeof(agent_fields[0])] = {false};

	*out = NULL;
	if (!agent)
		return rg_fail(err, RG_ERR_NOMEM, NULL, "out of memory");
	if (!json_is_object(in)) {
		rc = rg_fail(err, RG_ERR_INVALID, RC_SLUG, "room_config.agents[%zu] must be an object",
			     idx);
		goto out;
	}
	json_object_foreach((json_t *)in, key, v) {
		const struct field *f = find_field(agent_fields,
						   sizeof(agent_fields) / sizeof(agent_fields[0]), key);
		if (!f) {
			rc = rg_fail(err, RG_ERR_INVALID, RC_SLUG,
				     "room_config.agents[%zu]: unknown field '%s'", idx, key);
			goto out;
		}
		if (seen[f - agent_fields]) {
			rc = rg_fail(err, RG_ERR_INVALID, RC_SLUG,
				     "room_config.agents[%zu]: '%s' given twice", idx, f->snake);
			goto out;
		}
		seen[f - agent_fields] = true;
		set_where(where, sizeof(where), idx, true, f->snake);
		if (json_is_null(v))
			continue;
		if (!strcmp(f->snake, "metadata")) {
			if ((rc = parse_metadata(v, where, &tmp, err)))
				goto out;
			if (tmp)
				json_object_set_new(agent, "metadata", tmp);
		} else if (!strcmp(f->snake, "attributes")) {
			if ((rc = parse_map(v, where, &tmp, err)))
				goto out;
			if (tmp)
				json_object_set_new(agent, "attributes", tmp);
		} else if (!strcmp(f->snake, "restart_policy")) {
			const char *s = json_string_value(v);
			if (json_is_integer(v) && json_integer_value(v) == 1)
				s = "JRP_NEVER";
			else if (json_is_integer(v) && json_integer_value(v) == 0)
				s = "JRP_ON_FAILURE";
			if (!s || (strcmp(s, "JRP_ON_FAILURE") && strcmp(s, "JRP_NEVER"))) {
				rc = rg_fail(err, RG_ERR_INVALID, RC_SLUG,
					     "%s must be JRP_ON_FAILURE or JRP_NEVER", where);
				goto out;
			}
			if (!strcmp(s, "JRP_NEVER"))
				json_object_set_new(agent, "restartPolicy", json_string(s));
		} else {
			if (!json_is_string(v)) {
				rc = rg_fail(err, RG_ERR_INVALID, RC_SLUG, "%s must be a string", where);
				goto out;
			}
			/* an empty agent_name is kept for the name rule to refuse */
			if (json_string_length(v) || f == agent_fields)
				json_object_set(agent, f->camel, v);
		}
	}
	if (!json_object_get(agent, "agentName")) {
		rc = rg_fail(err, RG_ERR_INVALID, RC_SLUG, "room_config.agents[%zu].agent_name is required",
			     idx);
		goto out;
	}
	set_where(where, sizeof(where), idx, true, "agent_name");
	if ((rc = rg_agent_name_check(where, rg_json_str(agent, "agentName"), err)))
		goto out;
	/* agentName first, as LiveKit's SDKs write it */
	{
		json_t *ordered = json_pack("{s:O}", "agentName", json_object_get(agent, "agentName"));
		if (!ordered) {
			rc = rg_fail(err, RG_ERR_NOMEM, NULL, "out of memory");
			goto out;
		}
		json_object_update(ordered, agent);
		json_decref(agent);
		agent = ordered;
	}
	*out = agent;
	agent = NULL;
out:
	json_decref(agent);
	return rc;
}

rg_err rg_roomconfig_from_json(const json_t *in, rg_roomconfig_t **out, rg_error *err)
{
	rg_roomconfig_t *rc = NULL;
	const char *key;
	json_t *v, *tmp;
	char where[64];
	rg_err e = RG_OK;
	bool seen[sizeof(room_fields) / sizeof(room_fields[0])] = {false};

	*out = NULL;
	if (!json_is_object(in))
		return rg_fail(err, RG_ERR_INVALID, RC_SLUG, "room_config must be an object");
	rc = rg_roomconfig_new();
	if (!rc)
		return rg_fail(err, RG_ERR_NOMEM, NULL, "out of memory");
	json_object_foreach((json_t *)in, key, v) {
		const struct field *f =
			find_field(room_fields, sizeof(room_fields) / sizeof(room_fields[0]), key);
		if (!f) {
			e = rg_fail(err, RG_ERR_INVALID, RC_SLUG, "room_config: unknown field '%s'", key);
			goto out;
		}
		if (seen[f - room_fields]) {
			e = rg_fail(err, RG_ERR_INVALID, RC_SLUG, "room_config: '%s' given twice",
				    f->snake);
			goto out;
		}
		seen[f - room_fields] = true;
		set_where(where, sizeof(where), 0, false, f->snake);
		if (f->type == F_REFUSED) {
			e = rg_fail(err, RG_ERR_INVALID, "egress_not_allowed",
				    "room_config.egress is not allowed: its credentials would be "
				    "readable by the client; start egress from the server");
			goto out;
		}
		if (json_is_null(v))
			continue;
		switch (f->type) {
		case F_STRING:
			if (!json_is_string(v)) {
				e = rg_fail(err, RG_ERR_INVALID, RC_SLUG, "%s must be a string", where);
				goto out;
			}
			if (json_string_length(v))
				json_object_set(rc->obj, f->camel, v);
			break;
		case F_UINT32: {
			json_int_t n = 0;
			if ((e = parse_uint32(v, where, &n, err)))
				goto out;
			if (n)
				json_object_set_new(rc->obj, f->camel, json_integer(n));
			break;
		}
		case F_BOOL:
			if (!json_is_boolean(v)) {
				e = rg_fail(err, RG_ERR_INVALID, RC_SLUG, "%s must be a boolean", where);
				goto out;
			}
			if (json_is_true(v))
				json_object_set_new(rc->obj, f->camel, json_true());
			break;
		case F_MAP:
			if ((e = parse_map(v, where, &tmp, err)))
				goto out;
			if (tmp)
				json_object_set_new(rc->obj, f->camel, tmp);
			break;
		case F_AGENTS: {
			size_t i;
			json_t *agent;
			if (!json_is_array(v)) {
				e = rg_fail(err, RG_ERR_INVALID, RC_SLUG, "%s must be an array", where);
				goto out;
			}
			if (json_array_size(v) > 16) {
				e = rg_fail(err, RG_ERR_INVALID, RC_SLUG, "%s: at most 16 agents", where);
				goto out;
			}
			json_array_foreach(v, i, agent) {
				json_t *parsed;
				if ((e = parse_agent(agent, i, &parsed, err)))
					goto out;
				if (!json_object_get(rc->obj, "agents"))
					json_object_set_new(rc->obj, "agents", json_array());
				json_array_append_new(json_object_get(rc->obj, "agents"), parsed);
			}
			break;
		}
		case F_REFUSED:
			break;
		}
	}
	*out = rc;
	rc = NULL;
out:
	rg_roomconfig_free(rc);
	return e;
}

rg_err rg_roomconfig_parse(const char *json, size_t len, rg_roomconfig_t **out, rg_error *err)
{
	json_error_t jerr;
	json_t *in = rg_json_load(json, len, JSON_REJECT_DUPLICATES, &jerr);
	rg_err rc;

	*out = NULL;
	if (!in)
		return rg_fail(err, RG_ERR_INVALID, "invalid_json", "room_config: %s", jerr.text);
	rc = rg_roomconfig_from_json(in, out, err);
	json_decref(in);
	return rc;
}

rg_roomconfig_t *rg_roomconfig_new(void)
{
	rg_roomconfig_t *rc = calloc(1, sizeof(*rc));

	if (!rc)
		return NULL;
	rc->obj = json_object();
	if (!rc->obj) {
		free(rc);
		return NULL;
	}
	return rc;
}

void rg_roomconfig_free(rg_roomconfig_t *rc)
{
	if (!rc)
		return;
	json_decref(rc->obj);
	free(rc);
}

rg_err rg_roomconfig_add_agent(rg_roomconfig_t *rc, const char *agent_name, const char *metadata,
			       const char *deployment)
{
	json_t *agents, *agent;

	if (!rc || rg_agent_name_problem(agent_name))
		return RG_ERR_INVALID;
	agent = json_pack("{s:s}", "agentName", agent_name);
	if (!agent)
		return RG_ERR_INVALID;
	if (metadata && *metadata && json_object_set_new(agent, "metadata", json_string(metadata)))
		goto bad;
	if (deployment && *deployment &&
	    json_object_set_new(agent, "deployment", json_string(deployment)))
		goto bad;
	agents = json_object_get(rc->obj, "agents");
	if (!agents) {
		agents = json_array();
		json_object_set_new(rc->obj, "agents", agents);
	}
	if (json_array_append_new(agents, agent))
		return RG_ERR_NOMEM;
	return RG_OK;
bad:
	json_decref(agent);
	return RG_ERR_INVALID;
}

json_t *rg_roomconfig_agents(const rg_roomconfig_t *rc)
{
	return rc ? json_object_get(rc->obj, "agents") : NULL;
}

size_t rg_roomconfig_agent_count(const rg_roomconfig_t *rc)
{
	return json_array_size(rg_roomconfig_agents(rc));
}

const char *rg_roomconfig_agent_name(const rg_roomconfig_t *rc, size_t i)
{
	return rg_json_str(json_array_get(rg_roomconfig_agents(rc), i), "agentName");
}

const char *rg_roomconfig_agent_metadata(const rg_roomconfig_t *rc, size_t i)
{
	return rg_json_str(json_array_get(rg_roomconfig_agents(rc), i), "metadata");
}

char *rg_roomconfig_to_json(const rg_roomconfig_t *rc)
{
	return rc ? rg_json_compact(rc->obj) : NULL;
}
