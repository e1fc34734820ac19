/*
 * app.c - the request router, independent of any HTTP server.
 *
 * rg_app_handle takes a plain rg_request_t and fills an rg_response_t, so
 * the civetweb adapter, an embedding web stack and the fuzzers all call the
 * same code. Here live the things every route shares: the swap-able config,
 * CORS, JSON bodies, JSON errors (mapped from rg_err through error.c's one
 * table) and the metrics.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "internal.h"

static const char *const route_names[] = {"token",   "sessions", "login", "profiles", "dispatch",
					  "healthz", "metrics",  "other"};
enum { R_TOKEN, R_SESSIONS, R_LOGIN, R_PROFILES, R_DISPATCH, R_HEALTHZ, R_METRICS, R_OTHER, R_COUNT };
static const int statuses[] = {200, 201, 204, 400, 401, 403, 404, 405,
			       413, 415, 429, 500, 502, 503};
#define N_STATUS (sizeof(statuses) / sizeof(statuses[0]))
static const double buckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
				 0.05, 0.1, 0.25, 0.5, 1, 2.5};
#define N_BUCKETS (sizeof(buckets) / sizeof(buckets[0]))

struct rg_app {
	pthread_mutex_t lock;
	rg_config_t *cfg;
	atomic_ulong requests[R_COUNT][N_STATUS + 1];
	atomic_ulong latency[N_BUCKETS + 1];
	atomic_ulong latency_us_sum;
	atomic_ulong tokens_issued;
	atomic_ulong auth_failures;
	rg_mount *mounts;
	rg_limiter *limiter;
	atomic_bool access_log; /* the current config's access_log, read per request */
};

rg_mount *rg_app_add_mount(rg_app_t *app, const char *prefix, bool embedded)
{
	rg_mount *m = calloc(1, sizeof(*m));
	size_t n = prefix ? strlen(prefix) : 0;

	while (n && prefix[n - 1] == '/')
		n--;
	if (!m || !(m->prefix = strndup(prefix ? prefix : "", n))) {
		free(m);
		return NULL;
	}
	m->app = app;
	m->plen = n;
	m->embedded = embedded;
	pthread_mutex_lock(&app->lock);
	m->next = app->mounts;
	app->mounts = m;
	pthread_mutex_unlock(&app->lock);
	return m;
}

rg_err rg_app_new(rg_config_t *cfg, rg_app_t **out, rg_error *err)
{
	rg_app_t *app;

	*out = NULL;
	if (!cfg)
		return rg_fail(err, RG_ERR_INVALID, NULL, "no config");
	app = calloc(1, sizeof(*app));
	if (!app)
		return rg_fail(err, RG_ERR_NOMEM, NULL, "out of memory");
	pthread_mutex_init(&app->lock, NULL);
	if (!(app->limiter = rg_limiter_new(RG_LOGIN_WINDOW))) {
		free(app);
		return rg_fail(err, RG_ERR_NOMEM, NULL, "out of memory");
	}
	app->cfg = rg_config_ref(cfg);
	atomic_init(&app->access_log, cfg->access_log);
	*out = app;
	return RG_OK;
}

void rg_app_free(rg_app_t *app)
{
	if (!app)
		return;
	while (app->mounts) {
		rg_mount *next = app->mounts->next;
		free(app->mounts->prefix);
		free(app->mounts);
		app->mounts = next;
	}
	rg_config_free(app->cfg);
	rg_limiter_free(app->limiter);
	pthread_mutex_destroy(&app->lock);
	free(app);
}

void rg_app_set_config(rg_app_t *app, rg_config_t *cfg)
{
	rg_config_t *old;

	rg_config_ref(cfg);
	pthread_mutex_lock(&app->lock);
	old = app->cfg;
	app->cfg = cfg;
	atomic_store(&app->access_log, cfg->access_log);
	pthread_mutex_unlock(&app->lock);
	rg_config_free(old);
}

bool rg_app_access_log(rg_app_t *app)
{
	return atomic_load(&app->access_log);
}

rg_config_t *rg_app_config(rg_app_t *app)
{
	rg_config_t *cfg;

	pthread_mutex_lock(&app->lock);
	cfg = rg_config_ref(app->cfg);
	pthread_mutex_unlock(&app->lock);
	return cfg;
}

const char *rg_client_addr(const rg_config_t *cfg, const rg_request_t *req, char *buf, size_t n)
{
	const char *peer = req->remote_addr ? req->remote_addr : "?";
	const char *xff;
	char list[512];
	size_t len;

	if (!cfg->n_trusted_proxies || !rg_cidr_contains(cfg->trusted_proxies, cfg->n_trusted_proxies, peer) ||
	    !(xff = rg_req_header(req, "X-Forwarded-For")))
		return peer;
	/* the right-most address that is not one of our proxies: the ones to its
	 * left were written by the client and prove nothing. Only the tail of a
	 * long header matters, so a client cannot pad it into being ignored. */
	if ((len = strlen(xff)) >= sizeof(list)) {
		xff = strchr(xff + len - (sizeof(list) - 1), ',');
		if (!xff)
			return peer;
		xff++;
	}
	snprintf(list, sizeof(list), "%s", xff);
	for (;;) {
		char *comma = strrchr(list, ',');
		const char *hop = rg_trim(comma ? comma + 1 : list);
		if (*hop && (!comma || !rg_cidr_contains(cfg->trusted_proxies,
							 cfg->n_trusted_proxies, hop))) {
			rg_copy(buf, n, hop);
			return buf;
		}
		if (!comma)
			break;
		*comma = '\0';
	}
	return peer;
}

static rg_err too_many(rg_ctx *c, long wait, rg_error *err)
{
	rg_add_header(c, "Retry-After: %ld", wait);
	return rg_fail(err, RG_ERR_RATE_LIMITED, "rate_limited",
		       "too many failed logins; try again in %ld seconds", wait);
}

/* Wrong credentials count; missing ones do not. */
static bool wrong_credentials(rg_err rc, const rg_error *err)
{
	return rc == RG_ERR_UNAUTHENTICATED && strcmp(err->code, "unauthenticated");
}

static void addr_key(const rg_ctx *c, char *buf, size_t n)
{
	char client[64];

	buf[0] = 'a';
	buf[1] = ':';
	rg_copy(buf + 2, n - 2, rg_client_addr(c->cfg, c->req, client, sizeof(client)));
}

rg_err rg_ctx_authenticate(rg_ctx *c, rg_user_t *user, rg_error *err)
{
	char key[80];
	time_t now = rg_now();
	long wait;
	rg_err rc;

	addr_key(c, key, sizeof(key));
	if ((wait = rg_limiter_blocked(c->app->limiter, key, now, RG_LOGIN_MAX_PER_ADDR)))
		return too_many(c, wait, err);
	rc = rg_authenticate(c->cfg, c->req, user, err);
	if (wrong_credentials(rc, err))
		rg_limiter_fail(c->app->limiter, key, now);
	return rc;
}

rg_err rg_ctx_password(rg_ctx *c, const char *name, const char *password, rg_user_t *user,
		       rg_error *err)
{
	char akey[80], ukey[300];
	time_t now = rg_now();
	long wait;
	rg_err rc;

	addr_key(c, akey, sizeof(akey));
	snprintf(ukey, sizeof(ukey), "u:%.256s", name);
	if ((wait = rg_limiter_blocked(c->app->limiter, akey, now, RG_LOGIN_MAX_PER_ADDR)) ||
	    (wait = rg_limiter_blocked(c->app->limiter, ukey, now, RG_LOGIN_MAX_PER_USER)))
		return too_many(c, wait, err);
	rc = rg_auth_password(c->cfg, name, password, user, "session", err);
	if (wrong_credentials(rc, err)) {
		rg_limiter_fail(c->app->limiter, akey, now);
		rg_limiter_fail(c->app->limiter, ukey, now);
	}
	return rc;
}

void rg_metrics_token_issued(rg_app_t *app)
{
	atomic_fetch_add(&app->tokens_issued, 1);
}

void rg_metrics_auth_failed(rg_app_t *app)
{
	atomic_fetch_add(&app->auth_failures, 1);
}

void rg_response_clear(rg_response_t *resp)
{
	if (!resp)
		return;
	free(resp->body);
	memset(resp, 0, sizeof(*resp));
}

const char *rg_req_header(const rg_request_t *req, const char *name)
{
	return req->header ? req->header(req->header_ctx, name) : NULL;
}

void rg_add_header(rg_ctx *c, const char *fmt, ...)
{
	size_t used = strlen(c->resp->headers);
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(c->resp->headers + used, sizeof(c->resp->headers) - used, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n + 2 >= sizeof(c->resp->headers) - used) {
		c->resp->headers[used] = '\0'; /* drop a header that does not fit */
		return;
	}
	strcat(c->resp->headers, "\r\n");
}

static void set_body(rg_ctx *c, int status, const char *type, char *body)
{
	free(c->resp->body);
	c->resp->status = status;
	c->resp->content_type = type;
	c->resp->body = body;
	c->resp->body_len = body ? strlen(body) : 0;
}

void rg_respond_text(rg_ctx *c, int status, char *s)
{
	if (!s) {
		set_body(c, 500, "application/json",
			 strdup("{\"error\":{\"code\":\"out_of_memory\",\"message\":\"out of memory\"}}"));
		return;
	}
	set_body(c, status, "application/json", s);
}

void rg_respond_json(rg_ctx *c, int status, json_t *body)
{
	char *s = body ? rg_json_compact(body) : NULL;

	json_decref(body);
	rg_respond_text(c, status, s);
}

char *rg_error_body(const char *code, const char *message)
{
	json_t *body = json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", message);
	char *s = body ? rg_json_compact(body) : NULL;

	json_decref(body);
	return s;
}

void rg_respond_error(rg_ctx *c, const rg_error *err)
{
	int status = rg_err_status(err->err);
	const char *code = err->code[0] ? err->code : rg_err_code(err->err);
	const char *msg = err->message[0] ? err->message : code;

	if (status == 401) {
		const char *authz = rg_req_header(c->req, "Authorization");
		rg_metrics_auth_failed(c->app);
		if (authz && !strncasecmp(authz, "Basic ", 6))
			rg_add_header(c, "WWW-Authenticate: Basic realm=\"roomgate\", charset=\"UTF-8\"");
		else if (authz)
			rg_add_header(c,
				      "WWW-Authenticate: Bearer realm=\"roomgate\", error=\"invalid_token\", "
				      "error_description=\"%s\"",
				      strchr(msg, '"') ? "invalid token" : msg);
		else
			rg_add_header(c, "WWW-Authenticate: Bearer realm=\"roomgate\"");
	}
	if (status >= 500)
		rg_log_json("error", "request_failed",
			    json_pack("{s:s,s:s,s:s}", "path", c->req->path, "code", code, "msg", msg));
	rg_respond_text(c, status, rg_error_body(code, msg));
}

static void method_not_allowed(rg_ctx *c, const char *allow)
{
	rg_error err = {0};

	rg_add_header(c, "Allow: %s", allow);
	rg_fail(&err, RG_ERR_METHOD, "method_not_allowed", "%s %s is not supported; allowed: %s",
		c->req->method, c->req->path, allow);
	rg_respond_error(c, &err);
}

rg_err rg_body_json(rg_ctx *c, json_t **out, rg_error *err)
{
	const char *ct = rg_req_header(c->req, "Content-Type");
	json_error_t jerr;
	json_t *v;

	*out = NULL;
	if (c->req->body_len > RG_MAX_BODY)
		return rg_fail(err, RG_ERR_TOO_LARGE, "body_too_large",
			       "request body is larger than %d bytes", RG_MAX_BODY);
	if (c->req->body_len == 0) {
		*out = json_object();
		return *out ? RG_OK : rg_fail(err, RG_ERR_NOMEM, NULL, "out of memory");
	}
	if (!ct || strncasecmp(ct, "application/json", 16) || (ct[16] && ct[16] != ';' && ct[16] != ' '))
		return rg_fail(err, RG_ERR_MEDIA_TYPE, "unsupported_media_type",
			       "send the body as JSON with Content-Type: application/json");
	v = rg_json_load(c->req->body, c->req->body_len, JSON_REJECT_DUPLICATES, &jerr);
	if (!v)
		return rg_fail(err, RG_ERR_INVALID, "invalid_json", "malformed JSON at line %d column %d: %s",
			       jerr.line, jerr.column, jerr.text);
	if (!json_is_object(v)) {
		json_decref(v);
		return rg_fail(err, RG_ERR_INVALID, "invalid_json", "the body must be a JSON object");
	}
	*out = v;
	return RG_OK;
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

static void healthz(rg_ctx *c)
{
	if (strcmp(c->req->method, "GET") && strcmp(c->req->method, "HEAD"))
	{
		method_not_allowed(c, "GET, HEAD");
		return;
	}
	rg_respond_json(c, 200, json_pack("{s:s}", "status", "ok"));
}

/* Prometheus text exposition format. */
static void metrics(rg_ctx *c)
{
	rg_app_t *a = c->app;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;
	unsigned long cum = 0;

	if (strcmp(c->req->method, "GET"))
	{
		method_not_allowed(c, "GET");
		return;
	}
	if (!(f = open_memstream(&buf, &len)))
		return;
	fputs("# HELP roomgate_requests_total HTTP requests by route and status.\n"
	      "# TYPE roomgate_requests_total counter\n", f);
	for (int r = 0; r < R_COUNT; r++)
		for (size_t s = 0; s <= N_STATUS; s++) {
			unsigned long n = atomic_load(&a->requests[r][s]);
			if (n)
				fprintf(f, "roomgate_requests_total{route=\"%s\",status=\"%s%d\"} %lu\n",
					route_names[r], s == N_STATUS ? "other" : "",
					s == N_STATUS ? 0 : statuses[s], n);
		}
	fputs("# HELP roomgate_request_duration_seconds API request latency.\n"
	      "# TYPE roomgate_request_duration_seconds histogram\n", f);
	for (size_t b = 0; b < N_BUCKETS; b++) {
		cum += atomic_load(&a->latency[b]);
		fprintf(f, "roomgate_request_duration_seconds_bucket{le=\"%g\"} %lu\n", buckets[b], cum);
	}
	cum += atomic_load(&a->latency[N_BUCKETS]);
	fprintf(f, "roomgate_request_duration_seconds_bucket{le=\"+Inf\"} %lu\n", cum);
	fprintf(f, "roomgate_request_duration_seconds_sum %.6f\n",
		(double)atomic_load(&a->latency_us_sum) / 1e6);
	fprintf(f, "roomgate_request_duration_seconds_count %lu\n", cum);
	fprintf(f, "# HELP roomgate_tokens_issued_total LiveKit tokens issued.\n"
		   "# TYPE roomgate_tokens_issued_total counter\n"
		   "roomgate_tokens_issued_total %lu\n"
		   "# HELP roomgate_auth_failures_total Requests refused for missing or bad credentials.\n"
		   "# TYPE roomgate_auth_failures_total counter\n"
		   "roomgate_auth_failures_total %lu\n",
		atomic_load(&a->tokens_issued), atomic_load(&a->auth_failures));
	{
		unsigned long calls, failures;
		rg_lk_counters(&calls, &failures);
		fprintf(f, "# HELP roomgate_livekit_api_calls_total Calls to LiveKit's API (dispatch, room checks).\n"
			   "# TYPE roomgate_livekit_api_calls_total counter\n"
			   "roomgate_livekit_api_calls_total %lu\n"
			   "# HELP roomgate_livekit_api_failures_total Failed calls to LiveKit's API.\n"
			   "# TYPE roomgate_livekit_api_failures_total counter\n"
			   "roomgate_livekit_api_failures_total %lu\n",
			calls, failures);
	}
	fclose(f);
	set_body(c, 200, "text/plain; version=0.0.4; charset=utf-8", buf);
}

static int route_of(const char *path)
{
	if (!strcmp(path, "/token"))
		return R_TOKEN;
	if (!strcmp(path, "/v1/sessions"))
		return R_SESSIONS;
	if (!strcmp(path, "/v1/login"))
		return R_LOGIN;
	if (!strcmp(path, "/v1/profiles"))
		return R_PROFILES;
	if (!strcmp(path, "/v1/dispatch") || !strncmp(path, "/v1/dispatch/", 13))
		return R_DISPATCH;
	if (!strcmp(path, "/healthz"))
		return R_HEALTHZ;
	if (!strcmp(path, "/metrics"))
		return R_METRICS;
	if (!strncmp(path, "/v1/", 4) || !strcmp(path, "/v1"))
		return R_OTHER;
	return -1;
}

static void record(rg_app_t *app, int route, int status, double secs)
{
	size_t s, b;

	for (s = 0; s < N_STATUS && statuses[s] != status; s++)
		;
	atomic_fetch_add(&app->requests[route][s], 1);
	for (b = 0; b < N_BUCKETS && secs > buckets[b]; b++)
		;
	atomic_fetch_add(&app->latency[b], 1);
	atomic_fetch_add(&app->latency_us_sum, (unsigned long)(secs * 1e6));
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
		set_body(&c, 204, NULL, NULL);
	} else {
		switch (route) {
		case R_TOKEN: rg_route_token(&c); break;
		case R_SESSIONS: rg_route_sessions(&c); break;
		case R_LOGIN: rg_route_login(&c); break;
		case R_PROFILES: rg_route_profiles(&c); break;
		case R_DISPATCH: rg_route_dispatch(&c); break;
		case R_HEALTHZ: healthz(&c); break;
		case R_METRICS: metrics(&c); break;
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
	record(app, route, resp->status,
	       (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	return 1;
}
