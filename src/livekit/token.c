/*
 * token.c - LiveKit access tokens: claims -> HS256 JWT (libjwt), and back.
 *
 * The claim names and shapes are LiveKit's (shared/reference/
 * access-token-claims.md): iss = API key, sub = identity, nbf/exp, name,
 * metadata, attributes, video (VideoGrant, camelCase), roomConfig, kind.
 */
#include <jwt.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/util.h"
#include "livekit/jwt.h"
#include "livekit/roomconfig.h"
#include "livekit/sign.h"
#include "livekit/token.h"

struct rg_token {
	json_t *claims; /* everything but iss/nbf/exp */
	long ttl;
};

static const char *const bool_grants[] = {
	"roomCreate", "roomJoin", "roomList", "roomRecord", "roomAdmin", "ingressAdmin",
	"canPublish", "canSubscribe", "canPublishData", "canUpdateOwnMetadata", "hidden",
	"recorder", "agent", "canSubscribeMetrics", "canManageAgentSession",
};
static const char *const string_grants[] = {"room", "destinationRoom"};
static const char *const track_sources[] = {"camera", "microphone", "screen_share",
					     "screen_share_audio"};
static const char *const kinds[] = {"standard", "ingress", "egress", "sip",
				    "agent", "connector", "bridge"};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static bool in_list(const char *const *list, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(list[i], s))
			return true;
	return false;
}

rg_token_t *rg_token_new(void)
{
	rg_token_t *tok = calloc(1, sizeof(*tok));

	if (!tok)
		return NULL;
	tok->claims = json_object();
	tok->ttl = 600;
	if (!tok->claims) {
		free(tok);
		return NULL;
	}
	return tok;
}

void rg_token_free(rg_token_t *tok)
{
	if (!tok)
		return;
	json_decref(tok->claims);
	free(tok);
}

static rg_err set_str(rg_token_t *tok, const char *claim, const char *v, size_t max)
{
	if (!tok || !v || strlen(v) > max || !rg_utf8_valid(v, strlen(v)))
		return RG_ERR_INVALID;
	return json_object_set_new(tok->claims, claim, json_string(v)) ? RG_ERR_NOMEM : RG_OK;
}

rg_err rg_token_set_identity(rg_token_t *tok, const char *identity)
{
	if (!identity || !*identity)
		return RG_ERR_INVALID;
	return set_str(tok, "sub", identity, RG_MAX_NAME);
}

rg_err rg_token_set_name(rg_token_t *tok, const char *name)
{
	return set_str(tok, "name", name, RG_MAX_METADATA);
}

rg_err rg_token_set_metadata(rg_token_t *tok, const char *metadata)
{
	return set_str(tok, "metadata", metadata, RG_MAX_METADATA);
}

rg_err rg_token_set_kind(rg_token_t *tok, const char *kind)
{
	if (!kind || !in_list(kinds, COUNT(kinds), kind))
		return RG_ERR_INVALID;
	return set_str(tok, "kind", kind, 32);
}

rg_err rg_token_set_attribute(rg_token_t *tok, const char *key, const char *value)
{
	json_t *attrs;

	if (!tok || !key || !*key || !value || !rg_utf8_valid(key, strlen(key)) ||
	    !rg_utf8_valid(value, strlen(value)))
		return RG_ERR_INVALID;
	attrs = json_object_get(tok->claims, "attributes");
	if (!attrs) {
		attrs = json_object();
		if (json_object_set_new(tok->claims, "attributes", attrs))
			return RG_ERR_NOMEM;
	}
	return json_object_set_new(attrs, key, json_string(value)) ? RG_ERR_NOMEM : RG_OK;
}

rg_err rg_token_set_ttl(rg_token_t *tok, long seconds)
{
	if (!tok || seconds <= 0)
		return RG_ERR_INVALID;
	tok->ttl = seconds;
	return RG_OK;
}

static json_t *video(rg_token_t *tok)
{
	json_t *v = json_object_get(tok->claims, "video");

	if (!v) {
		v = json_object();
		json_object_set_new(tok->claims, "video", v);
	}
	return v;
}

rg_err rg_token_set_room(rg_token_t *tok, const char *room)
{
	json_t *v;

	if (!tok || !room || !*room || strlen(room) > RG_MAX_NAME ||
	    !rg_utf8_valid(room, strlen(room)))
		return RG_ERR_INVALID;
	if (!(v = video(tok)))
		return RG_ERR_NOMEM;
	json_object_set_new(v, "roomJoin", json_true());
	json_object_set_new(v, "room", json_string(room));
	return RG_OK;
}

rg_err rg_token_set_grant(rg_token_t *tok, const char *grant, int value)
{
	json_t *v;

	if (!tok || !grant || !in_list(bool_grants, COUNT(bool_grants), grant))
		return RG_ERR_INVALID;
	if (!(v = video(tok)))
		return RG_ERR_NOMEM;
	return json_object_set_new(v, grant, json_boolean(value)) ? RG_ERR_NOMEM : RG_OK;
}

/* Validates a VideoGrant object (camelCase names, right types). */
static rg_err check_grants(const json_t *g, rg_error *err)
{
	const char *k;
	json_t *v;

	if (!json_is_object(g))
		return rg_fail(err, RG_ERR_INVALID, "invalid_grants", "grants must be an object");
	json_object_foreach((json_t *)g, k, v) {
		if (in_list(bool_grants, COUNT(bool_grants), k)) {
			if (!json_is_boolean(v))
				return rg_fail(err, RG_ERR_INVALID, "invalid_grants",
					       "grant '%s' must be a boolean", k);
		} else if (in_list(string_grants, COUNT(string_grants), k)) {
			if (!json_is_string(v))
				return rg_fail(err, RG_ERR_INVALID, "invalid_grants",
					       "grant '%s' must be a string", k);
		} else if (!strcmp(k, "canPublishSources")) {
			size_t i;
			json_t *s;
			if (!json_is_array(v))
				return rg_fail(err, RG_ERR_INVALID, "invalid_grants",
					       "canPublishSources must be an array");
			json_array_foreach(v, i, s) {
				if (!json_is_string(s) ||
				    !in_list(track_sources, COUNT(track_sources), json_string_value(s)))
					return rg_fail(err, RG_ERR_INVALID, "invalid_grants",
						       "canPublishSources: camera, microphone, "
						       "screen_share or screen_share_audio");
			}
		} else {
			return rg_fail(err, RG_ERR_INVALID, "invalid_grants", "unknown grant '%s'", k);
		}
	}
	return RG_OK;
}

rg_err rg_token_merge_grants(rg_token_t *tok, const json_t *grants, rg_error *err)
{
	rg_err rc;
	json_t *v;

	if ((rc = check_grants(grants, err)))
		return rc;
	if (!(v = video(tok)))
		return rg_fail(err, RG_ERR_NOMEM, NULL, "out of memory");
	return json_object_update(v, (json_t *)grants) ? rg_fail(err, RG_ERR_NOMEM, NULL, "oom")
						       : RG_OK;
}

rg_err rg_token_set_grants_json(rg_token_t *tok, const char *json, rg_error *err)
{
	json_error_t jerr;
	json_t *g;
	rg_err rc;

	if (!tok || !json)
		return rg_fail(err, RG_ERR_INVALID, NULL, "no grants");
	g = rg_json_load(json, strlen(json), JSON_REJECT_DUPLICATES, &jerr);
	if (!g)
		return rg_fail(err, RG_ERR_INVALID, "invalid_json", "grants: %s", jerr.text);
	rc = rg_token_merge_grants(tok, g, err);
	json_decref(g);
	return rc;
}

rg_err rg_token_set_room_config(rg_token_t *tok, const rg_roomconfig_t *rc)
{
	if (!tok || !rc)
		return RG_ERR_INVALID;
	return json_object_set_new(tok->claims, "roomConfig", json_deep_copy(rc->obj)) ? RG_ERR_NOMEM
										  : RG_OK;
}

rg_err rg_token_share_room_config(rg_token_t *tok, const rg_roomconfig_t *rc)
{
	return json_object_set(tok->claims, "roomConfig", rc->obj) ? RG_ERR_NOMEM : RG_OK;
}

json_t *rg_token_claims(const rg_token_t *tok)
{
	return json_deep_copy(tok->claims);
}

rg_err rg_token_sign_with(const rg_token_t *tok, const rg_signer_t *signer, time_t now,
			  char **jwt_out, time_t *expires_at, rg_error *err)
{
	*jwt_out = NULL;
	if (!tok || !json_string_length(json_object_get(tok->claims, "sub")))
		return rg_fail(err, RG_ERR_INVALID, "invalid_request", "token has no identity");
	if (!signer)
		return rg_fail(err, RG_ERR_CONFIG, "config_error", "LiveKit API key and secret needed");
	if (!now)
		now = rg_now();
	if (rg_signer_sign_json(signer, tok->claims, true, now, now + tok->ttl, jwt_out))
		return rg_fail(err, RG_ERR_CRYPTO, "crypto_error", "cannot sign the token");
	if (expires_at)
		*expires_at = now + tok->ttl;
	return RG_OK;
}

rg_err rg_token_sign(const rg_token_t *tok, const char *api_key, const char *api_secret,
		     time_t now, char **jwt_out, time_t *expires_at, rg_error *err)
{
	rg_signer_t *s;
	rg_err rc;

	*jwt_out = NULL;
	if (!tok || !json_string_length(json_object_get(tok->claims, "sub")))
		return rg_fail(err, RG_ERR_INVALID, "invalid_request", "token has no identity");
	if (!api_key || !*api_key || !api_secret || !*api_secret)
		return rg_fail(err, RG_ERR_CONFIG, "config_error", "LiveKit API key and secret needed");
	if (!(s = rg_signer_new(api_key, api_secret)))
		return rg_fail(err, RG_ERR_CRYPTO, "crypto_error", "cannot set up HMAC-SHA256");
	rc = rg_token_sign_with(tok, s, now, jwt_out, expires_at, err);
	rg_signer_free(s);
	return rc;
}

rg_err rg_token_inspect(const char *jwt, const char *api_secret, time_t now, char **claims_json,
			int *verified, rg_error *err)
{
	const char *d1, *d2;
	json_t *head = NULL, *payload = NULL, *out = NULL, *checked = NULL;
	rg_error verr;
	rg_err rc = RG_OK;

	*claims_json = NULL;
	if (verified)
		*verified = -1;
	if (!jwt || !(d1 = strchr(jwt, '.')) || !(d2 = strchr(d1 + 1, '.')) || strchr(d2 + 1, '.'))
		return rg_fail(err, RG_ERR_INVALID, "invalid_token", "not a JWT (three parts)");
	head = rg_jwt_decode_part(jwt, (size_t)(d1 - jwt));
	payload = rg_jwt_decode_part(d1 + 1, (size_t)(d2 - d1 - 1));
	if (!json_is_object(head) || !json_is_object(payload)) {
		rc = rg_fail(err, RG_ERR_INVALID, "invalid_token", "JWT parts are not JSON objects");
		goto out;
	}
	if (api_secret && verified) {
		memset(&verr, 0, sizeof(verr));
		*verified = rg_jwt_verify_hs256(jwt, api_secret, now, &checked, &verr) == RG_OK;
		if (!*verified && err)
			*err = verr;
	}
	out = json_pack("{s:O,s:O,s:o}", "header", head, "claims", payload, "verified",
			api_secret ? json_boolean(verified && *verified == 1) : json_null());
	*claims_json = out ? json_dumps(out, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
	if (!*claims_json)
		rc = rg_fail(err, RG_ERR_NOMEM, NULL, "out of memory");
out:
	json_decref(head);
	json_decref(payload);
	json_decref(out);
	json_decref(checked);
	return rc;
}

static rg_err mint(const rg_claims_t *c, const rg_signer_t *signer, const char *api_key,
		   const char *api_secret, char **jwt_out, time_t *expires_at, rg_error *err)
{
	rg_token_t *tok = NULL;
	rg_roomconfig_t *rc = NULL;
	rg_err e = RG_OK;

	*jwt_out = NULL;
	if (!c)
		return rg_fail(err, RG_ERR_INVALID, "invalid_request", "no claims");
	if (!(tok = rg_token_new()))
		return rg_fail(err, RG_ERR_NOMEM, NULL, "out of memory");
	if (!c->identity || rg_token_set_identity(tok, c->identity)) {
		e = rg_fail(err, RG_ERR_INVALID, "invalid_request", "identity: 1 to 256 characters");
		goto out;
	}
	if ((c->name && rg_token_set_name(tok, c->name)) ||
	    (c->metadata && rg_token_set_metadata(tok, c->metadata)) ||
	    (c->kind && rg_token_set_kind(tok, c->kind)) || (c->room && rg_token_set_room(tok, c->room)) ||
	    (c->ttl && rg_token_set_ttl(tok, c->ttl))) {
		e = rg_fail(err, RG_ERR_INVALID, "invalid_request", "invalid name, metadata, kind, room or ttl");
		goto out;
	}
	for (size_t i = 0; c->attributes && c->attributes[i]; i += 2) {
		if (!c->attributes[i + 1] ||
		    rg_token_set_attribute(tok, c->attributes[i], c->attributes[i + 1])) {
			e = rg_fail(err, RG_ERR_INVALID, "invalid_request",
				    "attributes must be key, value pairs of UTF-8 strings");
			goto out;
		}
	}
	if (c->grants_json && (e = rg_token_set_grants_json(tok, c->grants_json, err)))
		goto out;
	if (c->room_config && c->room_config_json) {
		e = rg_fail(err, RG_ERR_INVALID, "invalid_request",
			    "room_config and room_config_json are exclusive");
		goto out;
	}
	if (c->room_config_json &&
	    (e = rg_roomconfig_parse(c->room_config_json, strlen(c->room_config_json), &rc, err)))
		goto out;
	/* the token is signed and freed here, so it may share the caller's
	 * room configuration instead of copying it */
	if ((rc || c->room_config) && rg_token_share_room_config(tok, rc ? rc : c->room_config)) {
		e = rg_fail(err, RG_ERR_NOMEM, NULL, "out of memory");
		goto out;
	}
	e = signer ? rg_token_sign_with(tok, signer, 0, jwt_out, expires_at, err)
		   : rg_token_sign(tok, api_key, api_secret, 0, jwt_out, expires_at, err);
out:
	rg_roomconfig_free(rc);
	rg_token_free(tok);
	return e;
}

rg_err rg_token_mint(const rg_claims_t *claims, const char *api_key, const char *api_secret,
		     char **jwt_out, time_t *expires_at, rg_error *err)
{
	return mint(claims, NULL, api_key, api_secret, jwt_out, expires_at, err);
}

rg_err rg_token_mint_with(const rg_claims_t *claims, const rg_signer_t *signer, char **jwt_out,
			  time_t *expires_at, rg_error *err)
{
	if (!signer)
		return rg_fail(err, RG_ERR_INVALID, "invalid_request", "no signer");
	return mint(claims, signer, NULL, NULL, jwt_out, expires_at, err);
}
