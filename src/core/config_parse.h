/*
 * config_parse.h - the config parser's shared helpers (config_parse.c) and
 * its section parsers (config_server.c, config_livekit.c, config_auth.c,
 * config_policy.c). Private to src/core/config*.c: config_load.c's parse_root
 * checks the top-level keys and calls the sections in this order.
 */
#ifndef RG_CORE_CONFIG_PARSE_H
#define RG_CORE_CONFIG_PARSE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "auth/conf.h"
#include "base/net.h"
#include "core/config.h"
#include "roomgate.h"

/* Fills err (may be NULL) as a config_error with the formatted message;
 * returns RG_ERR_CONFIG. The arguments may include err->message itself. */
rg_err rg_cfg_fail(rg_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* obj must be an object whose every key is in the NULL-terminated list. */
rg_err rg_cfg_only_keys(const json_t *obj, const char *where, const char *const *keys,
			rg_error *err);
/* obj.key, when present, must be a string: a copy replaces *out. */
rg_err rg_cfg_get_string(const json_t *obj, const char *key, const char *where, char **out,
			 rg_error *err);
/* obj.key, when present, must be true or false: it sets *out. */
rg_err rg_cfg_get_bool(const json_t *obj, const char *key, const char *where, bool *out,
		       rg_error *err);
/* obj.key, when present, must be seconds or a duration like "10m". */
rg_err rg_cfg_get_duration(const json_t *obj, const char *key, const char *where, long *out,
			   rg_error *err);
/* obj.key as a copied array of non-empty strings; *out = NULL, *n = 0 when
 * absent. On error *out holds the *n strings copied so far. */
rg_err rg_cfg_get_strings(const json_t *obj, const char *key, const char *where, char ***out,
			  size_t *n, rg_error *err);
/* Frees an array from rg_cfg_get_strings. */
void rg_cfg_free_strings(char **v, size_t n);
/* The trimmed, non-empty content of file (relative to base_dir) into *out. */
rg_err rg_cfg_read_secret(const char *base_dir, const char *file, char **out, rg_error *err);
/* obj.key as a list of addresses or CIDRs, parsed; *n = 0 when absent. */
rg_err rg_cfg_get_cidrs(const json_t *obj, const char *key, const char *where, rg_cidr **out,
			size_t *n, rg_error *err);

/* "livekit": url, API key and secret, check_existing_rooms. */
rg_err rg_cfg_parse_livekit(rg_config_t *cfg, const json_t *root, const char *base_dir,
			    rg_error *err);
/* "server" limits and trusted proxies, "access_log", "web_root", "tls". */
rg_err rg_cfg_parse_server(rg_config_t *cfg, const json_t *root, const char *base_dir,
			   rg_error *err);
/* "users_file" and "session": the login form's users and its cookies. */
rg_err rg_cfg_parse_login(rg_auth_conf *auth, const json_t *root, const char *base_dir,
			  rg_error *err);
/* "tokens" TTLs and the "rooms" prefix. */
rg_err rg_cfg_parse_tokens(rg_config_t *cfg, const json_t *root, rg_error *err);
/* "cors": the allowed origins. */
rg_err rg_cfg_parse_cors(rg_config_t *cfg, const json_t *root, rg_error *err);
/* "web": the page's frame_ancestors. */
rg_err rg_cfg_parse_web(rg_config_t *cfg, const json_t *root, rg_error *err);
/* After the LIVEKIT_* overrides: livekit.url's origin for the page's CSP. */
rg_err rg_cfg_web_finish(rg_config_t *cfg, rg_error *err);
/* "upstream_jwt", "proxy_auth" and "api_keys". */
rg_err rg_cfg_parse_auth(rg_auth_conf *auth, const json_t *root, const char *base_dir,
			 rg_error *err);
/* "agents" profiles, then "rules" (which may only name those profiles). */
rg_err rg_cfg_parse_policy(rg_config_t *cfg, const json_t *root, rg_error *err);

#endif
