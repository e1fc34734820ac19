/*
 * metrics.h - the server's counters and their Prometheus text (metrics.c).
 */
#ifndef RG_HTTP_METRICS_H
#define RG_HTTP_METRICS_H

#include <stdatomic.h>

#include "core/config.h"
#include "core/link.h"

/* The routes counted apart (router.c maps paths to them). */
enum {
	RG_ROUTE_TOKEN, RG_ROUTE_SESSIONS, RG_ROUTE_LOGIN, RG_ROUTE_LOGOUT, RG_ROUTE_PROFILES,
	RG_ROUTE_DISPATCH, RG_ROUTE_WEBHOOK, RG_ROUTE_HEALTHZ, RG_ROUTE_METRICS, RG_ROUTE_OTHER, RG_ROUTE_COUNT
};
#define RG_METRICS_STATUSES 14 /* statuses counted apart; the rest as "other" */
#define RG_METRICS_BUCKETS 12  /* latency histogram buckets, +Inf aside */

typedef struct rg_metrics {
	atomic_ulong requests[RG_ROUTE_COUNT][RG_METRICS_STATUSES + 1];
	atomic_ulong latency[RG_METRICS_BUCKETS + 1];
	atomic_ulong latency_us_sum;
	atomic_ulong tokens_issued;
	atomic_ulong auth_failures;
	atomic_ulong password_checks;      /* PBKDF2 runs */
	atomic_ulong password_cache_hits;  /* password checks the success cache answered */
} rg_metrics;

void rg_metrics_token_issued(rg_metrics *m);
void rg_metrics_auth_failed(rg_metrics *m);
void rg_metrics_password_checked(rg_metrics *m);
void rg_metrics_password_cached(rg_metrics *m);
void rg_metrics_record(rg_metrics *m, int route, int status, double secs);
/* Prometheus text exposition format (malloc'd; NULL if out of memory). */
char *rg_metrics_render(rg_metrics *m, rg_link *link /* may be NULL */,
			const rg_config_t *cfg /* may be NULL */);

#endif
