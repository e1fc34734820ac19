/*
 * config_load.c - the JSON config file -> an immutable, refcounted
 * rg_config_t (the type is in config.h).
 *
 * Strict: unknown keys are errors (a typo in a policy file must not widen
 * or silently narrow access), durations and names are validated, and rules
 * may only name agent profiles that exist. The dev-mode config is the same
 * parser fed an embedded JSON text, plus an in-memory demo user.
 *
 * This file checks the top-level keys and calls the section parsers in
 * order (config_parse.h): config_livekit.c (livekit, tokens, rooms),
 * config_server.c (server, access_log, web_root, tls, cors, web), config_auth.c
 * (users_file, session, upstream_jwt, proxy_auth, api_keys) and
 * config_policy.c (agents, rules), all on the helpers of config_parse.c.
 * Then the LIVEKIT_* environment overrides and the whole-config checks.
 */
#include <libgen.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "auth/jwks.h"
#include "auth/session.h"
#include "auth/users.h"
#include "base/error.h"
#include "base/util.h"
#include "core/config.h"
#include "core/config_parse.h"

#define CFG_MAX_FILE (4 * 1024 * 1024)

/* The sections in the order their errors are reported. */
static rg_err parse_root(rg_config_t *cfg, const json_t *root, const char *base_dir,
			 rg_error *err)
{
	static const char *const keys[] = {"listen",     "livekit",      "web_root", "users_file",
					   "session",    "tokens",       "rooms",    "cors",
					   "agents",     "rules",        "upstream_jwt",
					   "proxy_auth", "api_keys",     "tls",      "access_log", "server",
					   "state",      "web",          NULL};
	rg_err rc;

	if ((rc = rg_cfg_only_keys(root, "config", keys, err)) ||
	    (rc = rg_cfg_get_string(root, "listen", "config", &cfg->listen, err)) ||
	    (rc = rg_cfg_parse_livekit(cfg, root, base_dir, err)) ||
	    (rc = rg_cfg_parse_server(cfg, root, base_dir, err)) ||
	    (rc = rg_cfg_parse_login(&cfg->auth, root, base_dir, err)) ||
	    (rc = rg_cfg_parse_tokens(cfg, root, err)) ||
	    (rc = rg_cfg_parse_cors(cfg, root, err)) ||
	    (rc = rg_cfg_parse_web(cfg, root, err)) ||
	    (rc = rg_cfg_parse_auth(&cfg->auth, root, base_dir, err)) ||
	    (rc = rg_cfg_parse_policy(cfg, root, err)))
		return rc;
	return RG_OK;
}

static rg_err apply_env(rg_config_t *cfg)
{
	const char *e;

	if ((e = getenv("LIVEKIT_URL")) && *e) {
		free(cfg->livekit.url);
		if (!(cfg->livekit.url = strdup(e)))
			return RG_ERR_NOMEM;
	}
	if ((e = getenv("LIVEKIT_API_KEY")) && *e) {
		free(cfg->livekit.api_key);
		if (!(cfg->livekit.api_key = strdup(e)))
			return RG_ERR_NOMEM;
	}
	if ((e = getenv("LIVEKIT_API_SECRET")) && *e) {
		rg_free_secret(cfg->livekit.api_secret);
		if (!(cfg->livekit.api_secret = strdup(e)))
			return RG_ERR_NOMEM;
	}
	return RG_OK;
}

static rg_config_t *config_alloc(void)
{
	rg_config_t *cfg = calloc(1, sizeof(*cfg));

	if (!cfg)
		return NULL;
	atomic_init(&cfg->refs, 1);
	cfg->listen = strdup("127.0.0.1:8080");
	cfg->room_prefix = strdup("room-");
	cfg->auth.session_ttl = 3600;
	cfg->default_ttl = 600;
	cfg->max_ttl = 3600;
	cfg->check_existing_rooms = true;
	cfg->livekit.api_timeout_ms = 3000;
	cfg->livekit.reconcile_interval = 30;
	cfg->access_log = true;
	cfg->max_connections = 64;
	cfg->request_timeout = 10;
	cfg->keep_alive_timeout = 5;
	if (!cfg->listen || !cfg->room_prefix) {
		rg_config_free(cfg);
		return NULL;
	}
	return cfg;
}

/* Checks that need the whole config (after env overrides). */
static rg_err finish(rg_config_t *cfg, rg_error *err)
{
	unsigned char raw[32];
	rg_err rc;

	if (!cfg->livekit.url || !*cfg->livekit.url)
		return rg_cfg_fail(err, "livekit.url is required (or LIVEKIT_URL)");
	if (strncmp(cfg->livekit.url, "ws://", 5) && strncmp(cfg->livekit.url, "wss://", 6) &&
	    strncmp(cfg->livekit.url, "http://", 7) && strncmp(cfg->livekit.url, "https://", 8))
		return rg_cfg_fail(err, "livekit.url must start with ws://, wss://, http:// or https://");
	if (!rg_utf8_valid(cfg->livekit.url, strlen(cfg->livekit.url)))
		return rg_cfg_fail(err, "livekit.url must be UTF-8 text");
	if ((rc = rg_cfg_web_finish(cfg, err)))
		return rc;
	if (cfg->livekit.api_url &&
	    (strncmp(cfg->livekit.api_url, "http://", 7) && strncmp(cfg->livekit.api_url, "https://", 8) &&
	     strncmp(cfg->livekit.api_url, "ws://", 5) && strncmp(cfg->livekit.api_url, "wss://", 6)))
		return rg_cfg_fail(err, "livekit.api_url must start with http://, https://, ws:// or wss://");
	if (cfg->livekit.api_url && !rg_utf8_valid(cfg->livekit.api_url, strlen(cfg->livekit.api_url)))
		return rg_cfg_fail(err, "livekit.api_url must be UTF-8 text");
	if (!(cfg->livekit.api_base =
		      rg_lk_http_base(cfg->livekit.api_url ? cfg->livekit.api_url : cfg->livekit.url)))
		return RG_ERR_NOMEM;
	if (!cfg->livekit.api_key || !*cfg->livekit.api_key || !cfg->livekit.api_secret ||
	    !*cfg->livekit.api_secret)
		return rg_cfg_fail(err, "livekit.api_key and livekit.api_secret are required "
				     "(or LIVEKIT_API_KEY / LIVEKIT_API_SECRET)");
	if (!cfg->auth.session_secret) {
		/* per-process: sessions do not survive a restart nor cross replicas */
		char *s;
		if (RAND_bytes(raw, sizeof(raw)) != 1)
			return RG_ERR_CRYPTO;
		s = rg_b64url_encode(raw, sizeof(raw));
		OPENSSL_cleanse(raw, sizeof(raw));
		if (!s)
			return RG_ERR_NOMEM;
		cfg->auth.session_secret = s;
	}
	if (!strcmp(cfg->auth.session_secret, cfg->livekit.api_secret))
		return rg_cfg_fail(err, "session.secret must differ from the LiveKit API secret");
	if (!(cfg->livekit.signer = rg_signer_new(cfg->livekit.api_key, cfg->livekit.api_secret)) ||
	    !(cfg->auth.session_signer = rg_signer_new("roomgate", cfg->auth.session_secret)) ||
	    rg_session_stamp_users(&cfg->auth))
		return rg_fail(err, RG_ERR_CRYPTO, "crypto_error", "cannot set up HMAC-SHA256");
	return RG_OK;
}

rg_err rg_config_parse(const char *json, size_t len, const char *base_dir, rg_config_t **out,
		       rg_error *err)
{
	json_error_t jerr;
	json_t *root;
	rg_config_t *cfg;
	rg_err rc;

	*out = NULL;
	root = rg_json_load(json, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return rg_cfg_fail(err, "config is not valid JSON: line %d: %s", jerr.line, jerr.text);
	if (!(cfg = config_alloc())) {
		json_decref(root);
		return rg_fail(err, RG_ERR_NOMEM, NULL, "out of memory");
	}
	rc = parse_root(cfg, root, base_dir, err);
	json_decref(root);
	if (rc == RG_ERR_NOMEM)
		rg_fail(err, rc, NULL, "out of memory");
	if (!rc && (rc = apply_env(cfg)) == RG_ERR_NOMEM)
		rg_fail(err, rc, NULL, "out of memory");
	if (!rc)
		rc = finish(cfg, err);
	if (rc) {
		rg_config_free(cfg);
		return rc;
	}
	*out = cfg;
	return RG_OK;
}

rg_err rg_config_load(const char *path, rg_config_t **out, rg_error *err)
{
	char *text = NULL, *copy = NULL;
	size_t len = 0;
	rg_err rc;

	*out = NULL;
	if ((rc = rg_read_file(path, CFG_MAX_FILE, &text, &len, err)))
		return rg_cfg_fail(err, "%s", err ? err->message : "cannot read config");
	copy = strdup(path);
	if (!copy) {
		free(text);
		return rg_fail(err, RG_ERR_NOMEM, NULL, "out of memory");
	}
	rc = rg_config_parse(text, len, dirname(copy), out, err);
	free(copy);
	free(text);
	return rc;
}

static const char dev_config[] =
	"{\"listen\": \"127.0.0.1:8080\","
	" \"livekit\": {\"url\": \"ws://127.0.0.1:7880\", \"api_key\": \"devkey\","
	"  \"api_secret\": \"secret\"},"
	" \"cors\": {\"origins\": [\"http://localhost:*\", \"http://127.0.0.1:*\","
	"  \"http://[::1]:*\", \"http://localhost\", \"http://127.0.0.1\", \"http://[::1]\","
	"  \"https://localhost:*\", \"https://localhost\"]},"
	" \"agents\": {\"assistant\": {\"agent_name\": \"assistant\","
	"  \"description\": \"Demo assistant (dev mode)\","
	"  \"metadata\": {\"user_id\": \"{{user.id}}\", \"user_name\": \"{{user.name}}\","
	"   \"room\": \"{{room}}\"}, \"client_metadata\": \"*\"}},"
	" \"rules\": [{\"name\": \"dev\", \"rooms\": [\"*\"], \"session_rooms\": true,"
	"  \"agents\": [\"*\"]}]}";

rg_err rg_config_dev(const char *web_root, rg_config_t **out, rg_error *err)
{
	rg_config_t *cfg = NULL;
	rg_local_user *u;
	rg_err rc;

	*out = NULL;
	if ((rc = rg_config_parse(dev_config, sizeof(dev_config) - 1, NULL, &cfg, err)))
		return rc;
	cfg->dev = true;
	u = calloc(1, sizeof(*u));
	if (!u || !(u->name = strdup("demo")) || !(u->display = strdup("Demo User")) ||
	    !(u->groups = calloc(1, sizeof(char *))) || !(u->groups[0] = strdup("demo"))) {
		rc = rg_fail(err, RG_ERR_NOMEM, NULL, "out of memory");
		goto fail;
	}
	u->ngroups = 1;
	cfg->auth.users.v = u;
	cfg->auth.users.n = 1;
	u = NULL;
	if ((rc = rg_password_hash("demo", 0, &cfg->auth.users.v[0].hash))) {
		rg_fail(err, rc, NULL, "cannot hash the demo password");
		goto fail;
	}
	/* the demo user joins after the loader stamped the users: its session
	 * tokens would otherwise take the slow stamp path on every request */
	if ((rc = rg_session_stamp_users(&cfg->auth))) {
		rg_fail(err, rc, "crypto_error", "cannot stamp the demo user");
		goto fail;
	}
	if (web_root && !(cfg->web_root = strdup(web_root))) {
		rc = rg_fail(err, RG_ERR_NOMEM, NULL, "out of memory");
		goto fail;
	}
	*out = cfg;
	return RG_OK;
fail:
	if (u) {
		if (u->groups)
			free(u->groups[0]);
		free(u->groups);
		free(u->name);
		free(u->display);
		free(u);
	}
	rg_config_free(cfg);
	return rc;
}

rg_config_t *rg_config_ref(rg_config_t *cfg)
{
	if (cfg)
		atomic_fetch_add(&cfg->refs, 1);
	return cfg;
}

static void free_policy(rg_config_t *cfg)
{
	for (size_t i = 0; i < cfg->n_profiles; i++) {
		rg_profile *p = &cfg->profiles[i];
		free(p->key);
		free(p->agent_name);
		free(p->description);
		free(p->deployment);
		json_decref(p->metadata);
		json_decref(p->client_fields);
	}
	free(cfg->profiles);
	for (size_t i = 0; i < cfg->n_rules; i++) {
		rg_rule *r = &cfg->rules[i];
		free(r->name);
		rg_cfg_free_strings(r->m_users, r->n_users);
		rg_cfg_free_strings(r->m_groups, r->n_groups);
		rg_cfg_free_strings(r->m_methods, r->n_methods);
		rg_cfg_free_strings(r->rooms, r->n_rooms);
		rg_cfg_free_strings(r->agents, r->n_agents);
		json_decref(r->grants);
	}
	free(cfg->rules);
}

static void free_auth(rg_auth_conf *auth)
{
	rg_free_secret(auth->session_secret);
	rg_signer_free(auth->session_signer);
	rg_users_clear(&auth->users);
	for (size_t i = 0; i < auth->n_upstream; i++)
		rg_upstream_clear(&auth->upstream[i]);
	free(auth->upstream);
	free(auth->proxy.user_header);
	free(auth->proxy.name_header);
	free(auth->proxy.groups_header);
	free(auth->proxy.trusted);
	for (size_t i = 0; i < auth->n_apikeys; i++) {
		free(auth->apikeys[i].name);
		rg_cfg_free_strings(auth->apikeys[i].groups, auth->apikeys[i].ngroups);
	}
	free(auth->apikeys);
}

void rg_config_free(rg_config_t *cfg)
{
	if (!cfg || atomic_fetch_sub(&cfg->refs, 1) != 1)
		return;
	free(cfg->listen);
	free(cfg->state.redis_url);
	free(cfg->livekit.url);
	free(cfg->livekit.api_url);
	free(cfg->livekit.api_base);
	free(cfg->livekit.api_key);
	rg_free_secret(cfg->livekit.api_secret);
	rg_signer_free(cfg->livekit.signer);
	free(cfg->web_root);
	rg_cfg_free_strings(cfg->web.frame_ancestors, cfg->web.n_frame_ancestors);
	free(cfg->web.connect_src);
	free(cfg->tls_cert);
	free(cfg->tls_key);
	free(cfg->room_prefix);
	rg_name_pattern_free(cfg->room_pattern);
	rg_cfg_free_strings(cfg->cors, cfg->n_cors);
	free(cfg->trusted_proxies);
	free_policy(cfg);
	free_auth(&cfg->auth);
	free(cfg);
}

const char *rg_config_listen(const rg_config_t *cfg)
{
	return cfg ? cfg->listen : NULL;
}

const char *rg_config_livekit_url(const rg_config_t *cfg)
{
	return cfg ? cfg->livekit.url : NULL;
}

const char *rg_config_web_root(const rg_config_t *cfg)
{
	return cfg ? cfg->web_root : NULL;
}

int rg_config_is_dev(const rg_config_t *cfg)
{
	return cfg && cfg->dev;
}

rg_err rg_config_set_listen(rg_config_t *cfg, const char *listen)
{
	char *s;

	if (!cfg || !listen || !*listen)
		return RG_ERR_INVALID;
	/* dev mode is loopback only: an explicit 127.x.x.x host, never a bare
	 * port (which civetweb binds on every interface) */
	if (cfg->dev && strncmp(listen, "127.", 4) && strncmp(listen, "localhost:", 10))
		return RG_ERR_INVALID;
	if (!(s = strdup(listen)))
		return RG_ERR_NOMEM;
	free(cfg->listen);
	cfg->listen = s;
	return RG_OK;
}
