/*
 * app.h - an rg_app_t's state, shared by the HTTP layer (app.c): the
 * current config, the mounts, the password guard (failed-login limits), the
 * link to LiveKit (registry), the identity providers' key keeper, the
 * metrics.
 */
#ifndef RG_HTTP_APP_H
#define RG_HTTP_APP_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "auth/guard.h"
#include "core/idps.h"
#include "core/link.h"
#include "http/metrics.h"
#include "http/web.h"
#include "roomgate.h"

/* A place the app's routes are served from: the server's root, or a
 * prefix inside someone else's civetweb server (freed with the app). */
typedef struct rg_mount {
	rg_app_t *app;
	char *prefix;
	size_t plen;
	bool embedded; /* inside another civetweb app: log here, no static files */
	struct rg_mount *next;
} rg_mount;

struct rg_app {
	pthread_mutex_t lock;
	rg_config_t *cfg;
	rg_metrics metrics;
	rg_web *web;           /* the web root's files, once the app's own server serves them */
	atomic_bool serve_web; /* it does: each new config reads them again */
	rg_mount *mounts;
	rg_guard *guard; /* every password check: budgets, PBKDF2 slots, success cache */
	rg_link *link;   /* webhooks, the live-room registry, its reconciler */
	rg_idps *idps;   /* the upstream identity providers' keys, kept fresh */
	atomic_bool access_log; /* the current config's access_log, read per request */
};

/* Whether the current config wants access log lines (atomic, no lock). */
bool rg_app_access_log(rg_app_t *app);
rg_mount *rg_app_add_mount(rg_app_t *app, const char *prefix, bool embedded);
/* Reads the config's web root, if it has one, for the app's own server
 * (rg_server_start); from then on each config the app takes reads it again
 * (and keeps the files it had when that fails, with an error logged). */
rg_err rg_app_web_load(rg_app_t *app, rg_error *err);
/* The files served (a reference: rg_web_free), or NULL. `page`: a page is
 * asked for; in dev mode the files are read again first if they changed. */
rg_web *rg_app_web(rg_app_t *app, bool page);

#endif
