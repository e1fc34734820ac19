/*
 * config_server.c - the HTTP server's part of the config: connection
 * limits and timeouts, trusted proxies, the access log, the web root, TLS
 * (loaded once here so that a bad pair is a config error), the CORS
 * origins and the web page's own settings ("web": who may frame it; the
 * LiveKit origin its Content-Security-Policy lets it connect to).
 * config_load.c's parse_root calls rg_cfg_parse_server, rg_cfg_parse_cors
 * and rg_cfg_parse_web, its finish rg_cfg_web_finish.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/ssl.h>

#include "base/error.h"
#include "base/redis.h"
#include "base/tls.h"
#include "base/util.h"
#include "core/config_parse.h"

/* The "server" object: limits, timeouts, trusted_proxies. */
static rg_err parse_limits(rg_config_t *cfg, const json_t *v, rg_error *err)
{
	static const char *const keys[] = {"max_connections", "request_timeout",
					   "keep_alive_timeout", "trusted_proxies", NULL};
	json_t *mc = json_object_get(v, "max_connections");
	rg_err rc;

	if ((rc = rg_cfg_only_keys(v, "server", keys, err)) ||
	    (rc = rg_cfg_get_cidrs(v, "trusted_proxies", "server", &cfg->trusted_proxies,
				   &cfg->n_trusted_proxies, err)) ||
	    (rc = rg_cfg_get_duration(v, "request_timeout", "server", &cfg->request_timeout, err)) ||
	    (rc = rg_cfg_get_duration(v, "keep_alive_timeout", "server", &cfg->keep_alive_timeout,
				      err)))
		return rc;
	if (mc && (!json_is_integer(mc) || json_integer_value(mc) < 1 ||
		   json_integer_value(mc) > 4096))
		return rg_cfg_fail(err, "server.max_connections must be an integer from 1 to 4096");
	if (mc)
		cfg->max_connections = (long)json_integer_value(mc);
	if (cfg->request_timeout < 1 || cfg->request_timeout > 600 ||
	    cfg->keep_alive_timeout < 1 || cfg->keep_alive_timeout > 3600)
		return rg_cfg_fail(err, "server.request_timeout must be 1s to 10m and "
					"server.keep_alive_timeout 1s to 1h");
	return RG_OK;
}

static rg_err parse_web_root(rg_config_t *cfg, const json_t *root, const char *base_dir,
			     rg_error *err)
{
	char *path = NULL;
	rg_err rc;

	if ((rc = rg_cfg_get_string(root, "web_root", "config", &path, err)) || !path)
		return rc;
	free(cfg->web_root);
	cfg->web_root = rg_path_resolve(base_dir, path);
	free(path);
	return RG_OK;
}

/* Loads the pair once at config time, so that a missing file or a key that
 * does not match the certificate is a clear config error, not a failed
 * handshake later. */
static rg_err check_tls(const char *cert, const char *key, rg_error *err)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	rg_err rc;

	if (!ctx)
		return rg_fail(err, RG_ERR_CRYPTO, "crypto_error", "cannot create a TLS context");
	rc = rg_tls_use(ctx, cert, key, err);
	SSL_CTX_free(ctx);
	return rc;
}

/* The "tls" object: certificate and key PEM files, both required. */
static rg_err parse_tls(rg_config_t *cfg, const json_t *v, const char *base_dir, rg_error *err)
{
	static const char *const keys[] = {"certificate", "key", NULL};
	char *cert = NULL, *pkey = NULL;
	rg_err rc;

	if ((rc = rg_cfg_only_keys(v, "tls", keys, err)) ||
	    (rc = rg_cfg_get_string(v, "certificate", "tls", &cert, err)) ||
	    (rc = rg_cfg_get_string(v, "key", "tls", &pkey, err))) {
		free(cert);
		free(pkey);
		return rc;
	}
	cfg->tls_cert = rg_path_resolve(base_dir, cert);
	cfg->tls_key = rg_path_resolve(base_dir, pkey);
	free(cert);
	free(pkey);
	if (!cfg->tls_cert || !cfg->tls_key)
		return rg_cfg_fail(err, "tls needs both certificate and key (PEM files)");
	return check_tls(cfg->tls_cert, cfg->tls_key, err);
}

/* "250ms" or a duration in seconds ("1s"), as milliseconds. */
static int ms_parse(const char *s, long *ms)
{
	size_t n = strlen(s);
	char *end;

	if (n > 2 && !strcmp(s + n - 2, "ms")) {
		*ms = strtol(s, &end, 10);
		return end == s + n - 2 && end != s ? 0 : -1;
	}
	if (rg_duration_parse(s, ms))
		return -1;
	*ms *= 1000;
	return 0;
}

/* "state": {"redis_url", "fail_open", "timeout"}: read at start only. */
static rg_err parse_state(rg_config_t *cfg, const json_t *v, rg_error *err)
{
	static const char *const keys[] = {"redis_url", "fail_open", "timeout", NULL};
	long secs = 0;
	json_t *t = json_object_get(v, "timeout");
	rg_err rc;

	cfg->state.timeout_ms = 500;
	if (!json_is_object(v))
		return rg_cfg_fail(err, "state must be an object");
	if ((rc = rg_cfg_only_keys(v, "state", keys, err)) ||
	    (rc = rg_cfg_get_string(v, "redis_url", "state", &cfg->state.redis_url, err)) ||
	    (rc = rg_cfg_get_bool(v, "fail_open", "state", &cfg->state.fail_open, err)))
		return rc;
	if (cfg->state.redis_url && rg_redis_url_check(cfg->state.redis_url, err))
		return RG_ERR_CONFIG;
	if (json_is_string(t) && (ms_parse(json_string_value(t), &secs) || secs < 10 ||
				  secs > 10000))
		return rg_cfg_fail(err, "state.timeout must be 10ms to 10s");
	if (t && !json_is_string(t))
		return rg_cfg_fail(err, "state.timeout must be a duration like \"500ms\"");
	if (t)
		cfg->state.timeout_ms = secs;
	return RG_OK;
}

rg_err rg_cfg_parse_server(rg_config_t *cfg, const json_t *root, const char *base_dir,
			   rg_error *err)
{
	json_t *v;
	rg_err rc;

	cfg->state.timeout_ms = 500;
	if ((v = json_object_get(root, "state")) && (rc = parse_state(cfg, v, err)))
		return rc;
	if ((v = json_object_get(root, "server")) && (rc = parse_limits(cfg, v, err)))
		return rc;
	if ((v = json_object_get(root, "access_log"))) {
		if (!json_is_boolean(v))
			return rg_cfg_fail(err, "access_log must be true or false");
		cfg->access_log = json_is_true(v);
	}
	if ((rc = parse_web_root(cfg, root, base_dir, err)))
		return rc;
	if ((v = json_object_get(root, "tls")))
		return parse_tls(cfg, v, base_dir, err);
	return RG_OK;
}

static bool origin_pattern_ok(const char *s)
{
	return !strcmp(s, "*") || !strncmp(s, "http://", 7) || !strncmp(s, "https://", 8);
}

rg_err rg_cfg_parse_cors(rg_config_t *cfg, const json_t *root, rg_error *err)
{
	static const char *const keys[] = {"origins", NULL};
	json_t *v = json_object_get(root, "cors");
	rg_err rc;

	if (!v)
		return RG_OK;
	if ((rc = rg_cfg_only_keys(v, "cors", keys, err)) ||
	    (rc = rg_cfg_get_strings(v, "origins", "cors", &cfg->cors, &cfg->n_cors, err)))
		return rc;
	for (size_t i = 0; i < cfg->n_cors; i++)
		if (!origin_pattern_ok(cfg->cors[i]))
			return rg_cfg_fail(err, "cors.origins[%zu]: an origin like "
						"https://app.example.com, http://localhost:* or *",
					   i);
	return RG_OK;
}

/*
 * Whether s[0..n) is an authority a CSP source expression can hold: a host
 * of letters, digits, '-' and '.' (or an IPv6 address in brackets) and an
 * optional port. `wildcards`: the host may start with "*." and the port be
 * "*" (frame-ancestors patterns). Nothing else passes, so no value can end
 * the directive or the header early.
 */
static bool csp_authority(const char *s, size_t n, bool wildcards)
{
	size_t i = 0, start;
	long port = 0;

	if (wildcards && n > 2 && !strncmp(s, "*.", 2))
		i = 2;
	start = i;
	if (i < n && s[i] == '[') {
		while (++i < n && s[i] != ']')
			if (!strchr("0123456789abcdefABCDEF:.", s[i]))
				return false;
		if (i >= n || i == start + 1)
			return false;
		i++;
	} else {
		while (i < n && (isalnum((unsigned char)s[i]) || s[i] == '-' || s[i] == '.'))
			i++;
		if (i == start)
			return false;
	}
	if (i == n)
		return true;
	if (s[i++] != ':' || i == n)
		return false;
	if (wildcards && i + 1 == n && s[i] == '*')
		return true;
	if (n - i > 5)
		return false;
	for (; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return false;
		port = port * 10 + (s[i] - '0');
	}
	return port >= 1 && port <= 65535;
}

rg_err rg_cfg_parse_web(rg_config_t *cfg, const json_t *root, rg_error *err)
{
	static const char *const keys[] = {"frame_ancestors", NULL};
	json_t *v = json_object_get(root, "web");
	rg_err rc;

	if (!v)
		return RG_OK;
	if (!json_is_object(v))
		return rg_cfg_fail(err, "web must be an object");
	if ((rc = rg_cfg_only_keys(v, "web", keys, err)) ||
	    (rc = rg_cfg_get_strings(v, "frame_ancestors", "web", &cfg->web.frame_ancestors,
				     &cfg->web.n_frame_ancestors, err)))
		return rc;
	if (cfg->web.n_frame_ancestors > 32)
		return rg_cfg_fail(err, "web.frame_ancestors: at most 32 sources");
	for (size_t i = 0; i < cfg->web.n_frame_ancestors; i++) {
		const char *a = cfg->web.frame_ancestors[i];
		size_t skip = !strncmp(a, "https://", 8) ? 8 : !strncmp(a, "http://", 7) ? 7 : 0;
		if (strcmp(a, "'self'") && (!skip || strlen(a) > 260 ||
					    !csp_authority(a + skip, strlen(a) - skip, true)))
			return rg_cfg_fail(err, "web.frame_ancestors[%zu]: 'self' or an origin like "
						"https://portal.example.com (a *. subdomain and a :* "
						"port are allowed; no path)", i);
	}
	return RG_OK;
}

rg_err rg_cfg_web_finish(rg_config_t *cfg, rg_error *err)
{
	const char *url = cfg->livekit.url, *host;
	bool tls = !strncmp(url, "wss://", 6) || !strncmp(url, "https://", 8);
	size_t n;

	host = strstr(url, "://") + 3; /* finish() checked the scheme */
	n = strcspn(host, "/?#");
	if (!csp_authority(host, n, false) || n > 260)
		return rg_cfg_fail(err, "livekit.url: a URL like wss://livekit.example.com:7880 (a "
					"host name in ASCII, or an address, and a port): the web page's "
					"Content-Security-Policy names its origin");
	free(cfg->web.connect_src);
	if (asprintf(&cfg->web.connect_src, "%s://%.*s %s://%.*s", tls ? "wss" : "ws", (int)n, host,
		     tls ? "https" : "http", (int)n, host) < 0) {
		cfg->web.connect_src = NULL;
		return rg_fail(err, RG_ERR_NOMEM, NULL, "out of memory");
	}
	return RG_OK;
}
