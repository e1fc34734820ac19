/*
 * config_livekit.c - the LiveKit side of the config: the server's URL,
 * API key and secret (inline or from a file; LIVEKIT_* environment
 * variables override them later, in config_load.c), whether rooms must already
 * exist, and what roomgate mints for it: token TTLs and the room prefix.
 */
#include <stdlib.h>
#include <string.h>

#include "core/config_parse.h"

rg_err rg_cfg_parse_livekit(rg_config_t *cfg, const json_t *root, const char *base_dir,
			    rg_error *err)
{
	static const char *const keys[] = {"url", "api_key", "api_secret", "api_secret_file",
					   "check_existing_rooms", NULL};
	json_t *v = json_object_get(root, "livekit");
	rg_livekit *lk = &cfg->livekit;
	char *file = NULL;
	rg_err rc;

	if (!v)
		return RG_OK;
	if ((rc = rg_cfg_only_keys(v, "livekit", keys, err)) ||
	    (rc = rg_cfg_get_string(v, "url", "livekit", &lk->url, err)) ||
	    (rc = rg_cfg_get_string(v, "api_key", "livekit", &lk->api_key, err)) ||
	    (rc = rg_cfg_get_string(v, "api_secret", "livekit", &lk->api_secret, err)) ||
	    (rc = rg_cfg_get_string(v, "api_secret_file", "livekit", &file, err)))
		return rc;
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

rg_err rg_cfg_parse_tokens(rg_config_t *cfg, const json_t *root, rg_error *err)
{
	static const char *const tok_keys[] = {"default_ttl", "max_ttl", NULL};
	static const char *const room_keys[] = {"prefix", NULL};
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
	     (rc = rg_cfg_get_string(v, "prefix", "rooms", &cfg->room_prefix, err))))
		return rc;
	if (strlen(cfg->room_prefix) > 64 || !name_chars_ok(cfg->room_prefix))
		return rg_cfg_fail(err, "rooms.prefix: at most 64 of A-Z a-z 0-9 - _ .");
	return RG_OK;
}
