/*
 * endpoint.c - LiveKit's standard token endpoint as a function: a parsed
 * POST /token body for an authenticated user -> the 201 answer.
 *
 * Speaks livekit-client's TokenSource.endpoint wire format (proto field
 * names; camelCase accepted too) and the OpenVidu/LiveKit tutorial shape
 * {"roomName","participantName"} -> also answers "token". rg_policy_eval
 * (public) is the same from JSON text, for stacks that embed roomgate.
 */
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/jsonw.h"
#include "base/util.h"
#include "core/config.h"
#include "core/endpoint.h"
#include "core/issue.h"

static const char *const fields[][2] = {
	{"room_name", "roomName"},
	{"participant_name", "participantName"},
	{"participant_identity", "participantIdentity"},
	{"participant_metadata", "participantMetadata"},
	{"participant_attributes", "participantAttributes"},
	{"room_config", "roomConfig"},
};
#define N_FIELDS (sizeof(fields) / sizeof(fields[0]))

/* Every key must be a known field, spelt once. */
static rg_err check_keys(const json_t *body, const char *const (*known)[2], size_t n,
			 rg_error *err)
{
	const char *k;
	json_t *v;

	json_object_foreach((json_t *)body, k, v) {
		size_t i;
		for (i = 0; i < n && strcmp(known[i][0], k) && strcmp(known[i][1], k); i++)
			;
		if (i == n)
			return rg_fail(err, RG_ERR_INVALID, "invalid_request", "unknown field '%s'", k);
		if (strcmp(known[i][0], known[i][1]) && json_object_get(body, known[i][0]) &&
		    json_object_get(body, known[i][1]))
			return rg_fail(err, RG_ERR_INVALID, "invalid_request",
				       "field '%s' given twice (as %s and %s)", known[i][0],
				       known[i][0], known[i][1]);
	}
	return RG_OK;
}

/* An optional string field; "" counts as absent. */
static rg_err opt_string(const json_t *body, size_t idx, const char **out, rg_error *err)
{
	json_t *v = rg_json_get2(body, fields[idx][0], fields[idx][1], NULL);

	*out = NULL;
	if (!v || json_is_null(v))
		return RG_OK;
	if (!json_is_string(v))
		return rg_fail(err, RG_ERR_INVALID, "invalid_request", "%s must be a string",
			       fields[idx][0]);
	*out = json_string_length(v) ? json_string_value(v) : NULL;
	return RG_OK;
}

/* The 201 body, written straight as compact JSON (what json_dumps of the
 * same object would give, without building it). */
static char *answer(const rg_config_t *cfg, const json_t *body, const rg_join_result *res)
{
	rg_jbuf b = {0};
	bool ok;

	/* usually one allocation: the token is most of the answer */
	ok = rg_jbuf_reserve(&b, strlen(res->jwt) + strlen(cfg->livekit.url) + strlen(res->room) +
					 strlen(res->identity) + 200) &&
	     rg_jbuf_member(&b, "{\"server_url\":", cfg->livekit.url) &&
	     rg_jbuf_member(&b, ",\"participant_token\":", res->jwt) &&
	     rg_jbuf_member(&b, ",\"room_name\":", res->room) &&
	     rg_jbuf_member(&b, ",\"participant_identity\":", res->identity) &&
	     rg_jbuf_put(&b, ",\"expires_at\":", 14) && rg_jbuf_int(&b, (long long)res->expires_at);
	/* the OpenVidu/LiveKit tutorial servers answer {"token"} */
	if (ok && (json_object_get(body, "roomName") || json_object_get(body, "participantName")))
		ok = rg_jbuf_member(&b, ",\"token\":", res->jwt);
	if (ok && res->dispatch)
		ok = rg_jbuf_member(&b, ",\"dispatch\":", res->dispatch) &&
		     rg_jbuf_put(&b, ",\"agents\":", 10) && rg_jbuf_value(&b, res->agents);
	if (ok && rg_jbuf_put(&b, "}", 1))
		return b.data;
	free(b.data);
	return NULL;
}

rg_err rg_token_request(const rg_config_t *cfg, rg_link *link, const rg_user_t *user,
			const json_t *body, char **resp, rg_error *err)
{
	json_t *attrs, *rc, *v;
	const char *room, *name, *identity, *metadata, *k;
	rg_join_result res = {0};
	rg_join join = {0};
	rg_err e;

	*resp = NULL;
	if ((e = check_keys(body, fields, N_FIELDS, err)) || (e = opt_string(body, 0, &room, err)) ||
	    (e = opt_string(body, 1, &name, err)) || (e = opt_string(body, 2, &identity, err)) ||
	    (e = opt_string(body, 3, &metadata, err)))
		return e;
	attrs = rg_json_get2(body, fields[4][0], fields[4][1], NULL);
	if (json_is_null(attrs))
		attrs = NULL;
	if (attrs && !json_is_object(attrs))
		return rg_fail(err, RG_ERR_INVALID, "invalid_request",
			       "participant_attributes must be an object of strings");
	json_object_foreach(attrs, k, v) {
		if (!json_is_string(v))
			return rg_fail(err, RG_ERR_INVALID, "invalid_request",
				       "participant_attributes.%s must be a string", k);
	}
	rc = rg_json_get2(body, fields[5][0], fields[5][1], NULL);
	if (json_is_null(rc))
		rc = NULL;
	join.room = room;
	join.name = name;
	join.identity = identity;
	join.metadata = metadata;
	join.attributes = attrs;
	join.room_config = rc;
	join.link = link;
	if ((e = rg_join_issue(cfg, user, &join, &res, err)))
		return e;
	*resp = answer(cfg, body, &res);
	rg_join_result_clear(&res);
	return *resp ? RG_OK : rg_fail(err, RG_ERR_NOMEM, NULL, "out of memory");
}

rg_err rg_policy_eval(const rg_config_t *cfg, const rg_user_t *user, const char *request_json,
		      size_t len, char **response_json, rg_error *err)
{
	json_error_t jerr;
	json_t *body;
	rg_err e;

	*response_json = NULL;
	if (!cfg || !user || !user->id)
		return rg_fail(err, RG_ERR_INVALID, "invalid_request", "no config or user");
	body = len ? rg_json_load(request_json, len, JSON_REJECT_DUPLICATES, &jerr) : json_object();
	if (!json_is_object(body)) {
		json_decref(body);
		return rg_fail(err, RG_ERR_INVALID, "invalid_json", "the request must be a JSON object");
	}
	e = rg_token_request(cfg, NULL, user, body, response_json, err);
	json_decref(body);
	return e;
}
