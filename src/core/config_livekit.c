/*
 * config_livekit.c - the LiveKit side of the config: the server's URL,
 * API key and secret (inline or from a file; LIVEKIT_* environment
 * variables override them later, in config_load.c), whether rooms must already
 * exist, and what roomgate mints for it: token TTLs, the room prefix and a
 * site's rooms.name_pattern (compiled here, once; base/names.c applies it).
 */
#include <stdlib.h>
#include <string.h>

#include "base/names.h"
#include "base/util.h"
#include "core/config_parse.h"

/* livekit.api_timeout: one API call's bound while a request waits (default
 * 3s; at most 30s). Durations are whole seconds; "500ms" is accepted too. */
static rg_err api_timeout(const json_t *v, rg_livekit *lk, rg_error *err)
{
	const char *s = rg_json_str(v, "api_timeout");
	long secs;
	char *end;
	rg_err rc;

	if (s && strlen(s) > 2 && !strcmp(s + strlen(s) - 2, "ms")) {
		long ms = strtol(s, &end, 10);
		if (end != s + strlen(s) - 2 || ms < 100 || ms > 30000)
			return rg_cfg_fail(err, "livekit.api_timeout: 100ms to 30s");
		lk->api_timeout_ms = ms;
		return RG_OK;
	}
	secs = lk->api_timeout_ms / 1000;
	if ((rc = rg_cfg_get_duration(v, "api_timeout", "livekit", &secs, err)))
		return rc;
	if (secs > 30)
		return rg_cfg_fail(err, "livekit.api_timeout: 100ms to 30s");
	lk->api_timeout_ms = secs * 1000;
	return RG_OK;
}

/* livekit.reconcile_interval: a duration, or 0 / "off" for never. */
static rg_err reconcile_interval(const json_t *v, rg_livekit *lk, rg_error *err)
{
	json_t *x = json_object_get(v, "reconcile_interval");

	if ((json_is_integer(x) && json_integer_value(x) == 0) ||
	    (json_is_string(x) && (!strcmp(json_string_value(x), "off") ||
				   !strcmp(json_string_value(x), "0")))) {
		lk->reconcile_interval = 0;
		return RG_OK;
	}
	return rg_cfg_get_duration(v, "reconcile_interval", "livekit", &lk->reconcile_interval, err);
}

/* livekit.registry_rooms: how many rooms that are not live the registry
 * remembers (those asked about, finished, or claimed by a token not used yet). */
static rg_err registry_rooms(const json_t *v, rg_livekit *lk, rg_error *err)
{
	json_t *x = json_object_get(v, "registry_rooms");

	if (!x)
		return RG_OK;
	if (!json_is_integer(x) || json_integer_value(x) < 100 || json_integer_value(x) > 10000000)
		return rg_cfg_fail(err, "livekit.registry_rooms must be an integer from 100 to "
					"10000000");
	lk->registry_rooms = (long)json_integer_value(x);
	return RG_OK;
}

rg_err rg_cfg_parse_livekit(rg_config_t *cfg, const json_t *root, const char *base_dir,
			    rg_error *err)
{
	static const char *const keys[] = {"url", "api_url", "api_key", "api_secret",
					   "api_secret_file", "check_existing_rooms", "api_timeout",
					   "reconcile_interval", "registry_rooms", NULL};
	json_t *v = json_object_get(root, "livekit");
	rg_livekit *lk = &cfg->livekit;
	char *file = NULL;
	rg_err rc;

	if (!v)
		return RG_OK;
	if ((rc = rg_cfg_only_keys(v, "livekit", keys, err)) ||
	    (rc = rg_cfg_get_string(v, "url", "livekit", &lk->url, err)) ||
	    (rc = rg_cfg_get_string(v, "api_url", "livekit", &lk->api_url, err)) ||
	    (rc = api_timeout(v, lk, err)) ||
	    (rc = reconcile_interval(v, lk, err)) ||
	    (rc = rg_cfg_get_string(v, "api_key", "livekit", &lk->api_key, err)) ||
	    (rc = rg_cfg_get_string(v, "api_secret", "livekit", &lk->api_secret, err)) ||
	    (rc = rg_cfg_get_string(v, "api_secret_file", "livekit", &file, err)))
		return rc;
	if ((rc = registry_rooms(v, lk, err))) {
		free(file);
		return rc;
	}
	if (file)
		rc = rg_cfg_read_secret(base_dir, file, &lk->api_secret, err);
	free(file);
	if (rc)
		return rc;
	return rg_cfg_get_bool(v, "check_existing_rooms", "livekit", &cfg->check_existing_rooms,
			       err);
}

static bool name_chars_ok(const char *s)
{
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
		      *s == '-' || *s == '_' || *s == '.'))
			return false;
	return true;
}

/* Provisioned names (prefix + 22 base64url characters) must pass the rule
 * and the pattern that names from clients pass: a few samples of the
 * alphabet's corners stand for them (issue.c also checks each one made). */
static rg_err check_prefix(const rg_config_t *cfg, rg_error *err)
{
	static const char *const samples[] = {"AAAAAAAAAAAAAAAAAAAAAA", "zzzzzzzzzzzzzzzzzzzzzz",
					      "0000000000000000000000", "9999999999999999999999",
					      "----------------------", "______________________",
					      "Az09-_Az09-_Az09-_Az09"};
	char name[128];
	rg_error why = {0};

	if (strlen(cfg->room_prefix) > 64 || !name_chars_ok(cfg->room_prefix))
		return rg_cfg_fail(err, "rooms.prefix: at most 64 of A-Z a-z 0-9 - _ .");
	for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
		snprintf(name, sizeof(name), "%s%s", cfg->room_prefix, samples[i]);
		if (rg_room_name_check("a provisioned room name", name, cfg->room_pattern, &why))
			return rg_cfg_fail(err, "rooms.prefix \"%s\": %s (e.g. \"%s\")",
					   cfg->room_prefix, why.message, name);
	}
	return RG_OK;
}

rg_err rg_cfg_parse_tokens(rg_config_t *cfg, const json_t *root, rg_error *err)
{
	static const char *const tok_keys[] = {"default_ttl", "max_ttl", NULL};
	static const char *const room_keys[] = {"prefix", "name_pattern", NULL};
	char *pattern = NULL;
	json_t *v;
	rg_err rc;

	if ((v = json_object_get(root, "tokens")) &&
	    ((rc = rg_cfg_only_keys(v, "tokens", tok_keys, err)) ||
	     (rc = rg_cfg_get_duration(v, "default_ttl", "tokens", &cfg->default_ttl, err)) ||
	     (rc = rg_cfg_get_duration(v, "max_ttl", "tokens", &cfg->max_ttl, err))))
		return rc;
	if (cfg->default_ttl > cfg->max_ttl)
		return rg_cfg_fail(err, "tokens.default_ttl is longer than tokens.max_ttl");
	if ((v = json_object_get(root, "rooms")) &&
	    ((rc = rg_cfg_only_keys(v, "rooms", room_keys, err)) ||
	     (rc = rg_cfg_get_string(v, "prefix", "rooms", &cfg->room_prefix, err)) ||
	     (rc = rg_cfg_get_string(v, "name_pattern", "rooms", &pattern, err))))
		return rc;
	if (json_object_get(v, "name_pattern")) {
		rc = rg_name_pattern_new(pattern ? pattern : "", &cfg->room_pattern, err);
		free(pattern);
		if (rc)
			return rc;
	}
	return check_prefix(cfg, err);
}
