/*
 * metrics.c - the server's counters (requests by route and status, latency,
 * tokens issued, failed authentications, password checks, LiveKit API calls,
 * identity providers' key fetches) and their Prometheus text for GET
 * /metrics. Lock-free: atomics only (a key set's counters are read under its
 * own lock).
 */
#include <stdio.h>
#include <stdlib.h>

#include "auth/jwks.h"
#include "http/metrics.h"
#include "livekit/api.h"

static const char *const route_names[RG_ROUTE_COUNT] = {
	"token", "sessions", "login", "logout", "profiles", "dispatch", "webhook", "healthz", "metrics",
	"other"};
static const int statuses[RG_METRICS_STATUSES] = {200, 201, 204, 400, 401, 403, 404, 405,
			       413, 415, 429, 500, 502, 503};
static const double buckets[RG_METRICS_BUCKETS] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
				 0.05, 0.1, 0.25, 0.5, 1, 2.5};

void rg_metrics_token_issued(rg_metrics *m)
{
	atomic_fetch_add(&m->tokens_issued, 1);
}

void rg_metrics_auth_failed(rg_metrics *m)
{
	atomic_fetch_add(&m->auth_failures, 1);
}

void rg_metrics_password_checked(rg_metrics *m)
{
	atomic_fetch_add(&m->password_checks, 1);
}

void rg_metrics_password_cached(rg_metrics *m)
{
	atomic_fetch_add(&m->password_cache_hits, 1);
}

void rg_metrics_record(rg_metrics *m, int route, int status, double secs)
{
	size_t s, b;

	for (s = 0; s < RG_METRICS_STATUSES && statuses[s] != status; s++)
		;
	atomic_fetch_add(&m->requests[route][s], 1);
	for (b = 0; b < RG_METRICS_BUCKETS && secs > buckets[b]; b++)
		;
	atomic_fetch_add(&m->latency[b], 1);
	atomic_fetch_add(&m->latency_us_sum, (unsigned long)(secs * 1e6));
}


/* Prometheus text exposition format (malloc'd; NULL if out of memory). */
/* LiveKit's API by method, new connections, webhooks and the registry. */
static void livekit_metrics(FILE *f, rg_link *link)
{
	rg_lk_stats lk;
	rg_link_stats ls;

	rg_lk_stats_get(&lk);
	fprintf(f, "# HELP roomgate_livekit_api_calls_total Calls to LiveKit's API, by method.\n"
		   "# TYPE roomgate_livekit_api_calls_total counter\n");
	for (int i = 0; i < RG_LK_METHODS; i++)
		fprintf(f, "roomgate_livekit_api_calls_total{method=\"%s\"} %lu\n", rg_lk_method_name(i),
			lk.calls[i]);
	fprintf(f, "# HELP roomgate_livekit_api_failures_total Failed calls to LiveKit's API.\n"
		   "# TYPE roomgate_livekit_api_failures_total counter\n"
		   "roomgate_livekit_api_failures_total %lu\n"
		   "# HELP roomgate_livekit_connections_total New connections to LiveKit's API (the rest reused one).\n"
		   "# TYPE roomgate_livekit_connections_total counter\n"
		   "roomgate_livekit_connections_total %lu\n",
		lk.failures, lk.connections);
	if (!link)
		return;
	rg_link_stats_get(link, &ls);
	fprintf(f, "# HELP roomgate_webhooks_total LiveKit webhooks by outcome.\n"
		   "# TYPE roomgate_webhooks_total counter\n"
		   "roomgate_webhooks_total{outcome=\"applied\"} %lu\n"
		   "roomgate_webhooks_total{outcome=\"duplicate\"} %lu\n"
		   "roomgate_webhooks_total{outcome=\"refused\"} %lu\n"
		   "# HELP roomgate_reconciliations_total ListRooms reconciliations, by outcome.\n"
		   "# TYPE roomgate_reconciliations_total counter\n"
		   "roomgate_reconciliations_total{outcome=\"ok\"} %lu\n"
		   "roomgate_reconciliations_total{outcome=\"failed\"} %lu\n"
		   "# HELP roomgate_registry_corrections_total Rooms a reconciliation corrected (lost webhooks).\n"
		   "# TYPE roomgate_registry_corrections_total counter\n"
		   "roomgate_registry_corrections_total %lu\n"
		   "# HELP roomgate_live_rooms Rooms the registry knows to be live.\n"
		   "# TYPE roomgate_live_rooms gauge\n"
		   "roomgate_live_rooms %zu\n"
		   "# HELP roomgate_registry_rooms Rooms the registry remembers (live or not).\n"
		   "# TYPE roomgate_registry_rooms gauge\n"
		   "roomgate_registry_rooms %zu\n"
		   "# HELP roomgate_sessions_ended_by_limit_total Rooms ended at their rule's max_session.\n"
		   "# TYPE roomgate_sessions_ended_by_limit_total counter\n"
		   "roomgate_sessions_ended_by_limit_total %lu\n",
		ls.webhooks, ls.webhook_duplicates, ls.webhook_refused, ls.reconciliations,
		ls.reconcile_failures, ls.corrections, ls.live_rooms, ls.known_rooms,
		ls.ended_by_limit);
}

/* A Prometheus label value: \\, \" and newlines escaped. */
static void label(FILE *f, const char *v)
{
	for (; v && *v; v++) {
		if (*v == '\\' || *v == '"')
			fputc('\\', f);
		if (*v == '\n')
			fputs("\\n", f);
		else
			fputc(*v, f);
	}
}

/* One sample of an identity provider's metric. */
static void idp_sample(FILE *f, const char *name, const rg_upstream *up, const char *outcome,
		       unsigned long value)
{
	fprintf(f, "%s{issuer=\"", name);
	label(f, up->issuer ? up->issuer : "");
	if (outcome)
		fprintf(f, "\",outcome=\"%s", outcome);
	fprintf(f, "\"} %lu\n", value);
}

/* The upstream JWT providers' remote key sets: fetches by outcome, keys held. */
static void idp_metrics(FILE *f, const rg_config_t *cfg)
{
	const rg_upstream *ups = cfg->auth.upstream;
	rg_jwks_status st;

	fputs("# HELP roomgate_idp_key_fetches_total Fetches of identity providers' keys "
	      "(discovery and JWKS), by issuer and outcome.\n"
	      "# TYPE roomgate_idp_key_fetches_total counter\n", f);
	for (size_t i = 0; i < cfg->auth.n_upstream; i++) {
		if (!ups[i].jwks)
			continue;
		rg_jwks_status_get(ups[i].jwks, &st);
		idp_sample(f, "roomgate_idp_key_fetches_total", &ups[i], "ok", st.refreshes);
		idp_sample(f, "roomgate_idp_key_fetches_total", &ups[i], "failed", st.failures);
	}
	fputs("# HELP roomgate_idp_keys Keys held per identity provider (0: its tokens get 503).\n"
	      "# TYPE roomgate_idp_keys gauge\n", f);
	for (size_t i = 0; i < cfg->auth.n_upstream; i++) {
		if (!ups[i].jwks)
			continue;
		rg_jwks_status_get(ups[i].jwks, &st);
		idp_sample(f, "roomgate_idp_keys", &ups[i], NULL, st.keys);
	}
}

char *rg_metrics_render(rg_metrics *m, rg_link *link, const rg_config_t *cfg)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f;
	unsigned long cum = 0;

	if (!(f = open_memstream(&buf, &len)))
		return NULL;
	fputs("# HELP roomgate_requests_total HTTP requests by route and status.\n"
	      "# TYPE roomgate_requests_total counter\n", f);
	for (int r = 0; r < RG_ROUTE_COUNT; r++)
		for (size_t s = 0; s <= RG_METRICS_STATUSES; s++) {
			unsigned long n = atomic_load(&m->requests[r][s]);
			if (n)
				fprintf(f, "roomgate_requests_total{route=\"%s\",status=\"%s%d\"} %lu\n",
					route_names[r], s == RG_METRICS_STATUSES ? "other" : "",
					s == RG_METRICS_STATUSES ? 0 : statuses[s], n);
		}
	fputs("# HELP roomgate_request_duration_seconds API request latency.\n"
	      "# TYPE roomgate_request_duration_seconds histogram\n", f);
	for (size_t b = 0; b < RG_METRICS_BUCKETS; b++) {
		cum += atomic_load(&m->latency[b]);
		fprintf(f, "roomgate_request_duration_seconds_bucket{le=\"%g\"} %lu\n", buckets[b], cum);
	}
	cum += atomic_load(&m->latency[RG_METRICS_BUCKETS]);
	fprintf(f, "roomgate_request_duration_seconds_bucket{le=\"+Inf\"} %lu\n", cum);
	fprintf(f, "roomgate_request_duration_seconds_sum %.6f\n",
		(double)atomic_load(&m->latency_us_sum) / 1e6);
	fprintf(f, "roomgate_request_duration_seconds_count %lu\n", cum);
	fprintf(f, "# HELP roomgate_tokens_issued_total LiveKit tokens issued.\n"
		   "# TYPE roomgate_tokens_issued_total counter\n"
		   "roomgate_tokens_issued_total %lu\n"
		   "# HELP roomgate_auth_failures_total Requests refused for missing or bad credentials.\n"
		   "# TYPE roomgate_auth_failures_total counter\n"
		   "roomgate_auth_failures_total %lu\n",
		atomic_load(&m->tokens_issued), atomic_load(&m->auth_failures));
	fprintf(f, "# HELP roomgate_password_checks_total Password checks that ran PBKDF2.\n"
		   "# TYPE roomgate_password_checks_total counter\n"
		   "roomgate_password_checks_total %lu\n"
		   "# HELP roomgate_password_cache_hits_total Password checks answered by the success cache.\n"
		   "# TYPE roomgate_password_cache_hits_total counter\n"
		   "roomgate_password_cache_hits_total %lu\n",
		atomic_load(&m->password_checks), atomic_load(&m->password_cache_hits));
	livekit_metrics(f, link);
	if (cfg)
		idp_metrics(f, cfg);
	fclose(f);
	return buf;
}
