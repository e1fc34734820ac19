/*
 * router.c - the one file that knows every route, independent of any HTTP
 * server.
 *
 * rg_app_handle takes a plain rg_request_t and fills an rg_response_t, so
 * the civetweb adapter, an embedding web stack and the fuzzers all call the
 * same code. It takes a reference to the current config for the request,
 * answers CORS, calls the route and counts the answer.
 */
#include <string.h>
#include <time.h>

#include "auth/jwks.h"
#include "base/error.h"
#include "base/net.h"
#include "core/config.h"
#include "core/link.h"
#include "http/app.h"
#include "http/metrics.h"
#include "http/request.h"
#include "http/routes.h"

static void method_not_allowed(rg_ctx *c, const char *allow)
{
	rg_error err = {0};

	rg_add_header(c, "Allow: %s", allow);
	rg_fail(&err, RG_ERR_METHOD, "method_not_allowed", "%s %s is not supported; allowed: %s",
		c->req->method, c->req->path, allow);
	rg_respond_error(c, &err);
}

/* "http://localhost:*" allows any numeric port; "*" allows any origin. */
static bool origin_allowed(const rg_config_t *cfg, const char *origin)
{
	for (size_t i = 0; i < cfg->n_cors; i++) {
		const char *p = cfg->cors[i];
		size_t pl = strlen(p);
		if (!strcmp(p, "*") || !strcmp(p, origin))
			return true;
		if (pl > 2 && !strcmp(p + pl - 2, ":*") && !strncmp(p, origin, pl - 1)) {
			const char *port = origin + pl - 1;
			if (!*port || strlen(port) > 5)
				continue;
			while (*port >= '0' && *port <= '9')
				port++;
			if (!*port)
				return true;
		}
	}
	return false;
}

/* Which upstream JWT providers can verify tokens now (keys have arrived). */
static json_t *idp_health(const rg_config_t *cfg)
{
	json_t *list = json_array();

	for (size_t i = 0; list && i < cfg->auth.n_upstream; i++) {
		const rg_upstream *up = &cfg->auth.upstream[i];
		rg_jwks_status st = {.ready = true, .keys = up->keys.n + (up->secret ? 1 : 0)};
		if (up->jwks) {
			size_t local = st.keys;
			rg_jwks_status_get(up->jwks, &st);
			st.keys += local;
			st.ready = st.ready || local;
		}
		json_array_append_new(
			list, json_pack("{s:s?,s:s,s:b,s:I}", "issuer", up->issuer, "keys_from",
					!up->jwks ? "config" : st.discovery ? "discovery" : "jwks_url",
					"ready", st.ready, "keys", (json_int_t)st.keys));
	}
	return list;
}

static void healthz(rg_ctx *c)
{
	rg_link_stats ls;
	rg_shared *shared;
	json_t *body;

	if (strcmp(c->req->method, "GET") && strcmp(c->req->method, "HEAD")) {
		method_not_allowed(c, "GET, HEAD");
		return;
	}
	rg_link_stats_get(c->app->link, &ls);
	/* LiveKit down is not roomgate down: the status stays ok; so is Redis
	 * down (every replica shares it), but the answer says so */
	shared = rg_link_shared(c->app->link);
	body = json_pack("{s:s,s:{s:b,s:I},s:{s:s,s:s*}}", "status", "ok", "registry", "synced",
			 ls.synced, "live_rooms", (json_int_t)ls.live_rooms, "state", "store",
			 shared ? "redis" : "memory", "redis",
			 shared ? (rg_shared_ping(shared) ? "up" : "down") : NULL);
	/* an identity provider without keys is not roomgate down either: its
	 * tokens get 503, every other method works */
	if (body && c->cfg->auth.n_upstream)
		json_object_set_new(body, "upstream_jwt", idp_health(c->cfg));
	rg_respond_json(c, 200, body);
}

static void metrics(rg_ctx *c)
{
	char *text;

	if (strcmp(c->req->method, "GET")) {
		method_not_allowed(c, "GET");
		return;
	}
	if ((text = rg_metrics_render(&c->app->metrics, c->app->link, c->cfg)))
		rg_respond_body(c, 200, "text/plain; version=0.0.4; charset=utf-8", text);
}

static int route_of(const char *path)
{
	if (!strcmp(path, "/token"))
		return RG_ROUTE_TOKEN;
	if (!strcmp(path, "/v1/sessions") || !strncmp(path, "/v1/sessions/", 13))
		return RG_ROUTE_SESSIONS;
	if (!strcmp(path, "/livekit/webhook"))
		return RG_ROUTE_WEBHOOK;
	if (!strcmp(path, "/v1/login"))
		return RG_ROUTE_LOGIN;
	if (!strcmp(path, "/v1/logout"))
		return RG_ROUTE_LOGOUT;
	if (!strcmp(path, "/v1/profiles"))
		return RG_ROUTE_PROFILES;
	if (!strcmp(path, "/v1/dispatch") || !strncmp(path, "/v1/dispatch/", 13))
		return RG_ROUTE_DISPATCH;
	if (!strcmp(path, "/healthz"))
		return RG_ROUTE_HEALTHZ;
	if (!strcmp(path, "/metrics"))
		return RG_ROUTE_METRICS;
	if (!strncmp(path, "/v1/", 4) || !strcmp(path, "/v1"))
		return RG_ROUTE_OTHER;
	return -1;
}

int rg_app_handle(rg_app_t *app, const rg_request_t *req, rg_response_t *resp)
{
	struct timespec t0, t1;
	int route = route_of(req->path ? req->path : "");
	const char *origin;
	rg_ctx c = {.app = app, .req = req, .resp = resp};

	if (route < 0)
		return 0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	memset(resp, 0, sizeof(*resp));
	c.cfg = rg_app_config(app);
	origin = rg_req_header(req, "Origin");
	if (origin && origin_allowed(c.cfg, origin)) {
		rg_add_header(&c, "Access-Control-Allow-Origin: %s", origin);
		rg_add_header(&c, "Vary: Origin");
		if (!strcmp(req->method, "OPTIONS")) {
			rg_add_header(&c, "Access-Control-Allow-Methods: GET, POST, DELETE, OPTIONS");
			rg_add_header(&c, "Access-Control-Allow-Headers: Authorization, Content-Type");
			rg_add_header(&c, "Access-Control-Max-Age: 600");
		}
	}
	if (!strcmp(req->method, "OPTIONS")) {
		rg_respond_body(&c, 204, NULL, NULL);
	} else {
		switch (route) {
		case RG_ROUTE_TOKEN: rg_route_token(&c); break;
		case RG_ROUTE_SESSIONS: rg_route_sessions(&c); break;
		case RG_ROUTE_LOGIN: rg_route_login(&c); break;
		case RG_ROUTE_LOGOUT: rg_route_logout(&c); break;
		case RG_ROUTE_PROFILES: rg_route_profiles(&c); break;
		case RG_ROUTE_DISPATCH: rg_route_dispatch(&c); break;
		case RG_ROUTE_WEBHOOK: rg_route_webhook(&c); break;
		case RG_ROUTE_HEALTHZ: healthz(&c); break;
		case RG_ROUTE_METRICS: metrics(&c); break;
		default: {
			rg_error err = {0};
			rg_fail(&err, RG_ERR_NOT_FOUND, "not_found", "no route %s", req->path);
			rg_respond_error(&c, &err);
		}
		}
	}
	if (!resp->status) {
		rg_error err = {0};
		rg_fail(&err, RG_ERR_INTERNAL, NULL, "no response");
		rg_respond_error(&c, &err);
	}
	rg_config_free(c.cfg);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	rg_metrics_record(&app->metrics, route, resp->status,
	       (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	return 1;
}
