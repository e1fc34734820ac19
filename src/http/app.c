/*
 * app.c - an rg_app_t: the state every request of one server (or one
 * embedding) shares. The config, swapped whole on reload and referenced by
 * each request; the mounts it is served from; the password guard (failed-login
 * limits, PBKDF2 slots, cached successes, cleared on reload); the link to
 * LiveKit (the live-room registry and its reconciler thread); the keeper of
 * the identity providers' keys (its thread); the metrics counters.
 */
#include <stdlib.h>
#include <string.h>

#include "auth/guard.h"
#include "core/config.h"
#include "base/error.h"
#include "http/app.h"

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
	if (!(app->guard = rg_guard_new()) || !(app->link = rg_link_new(cfg, true)) ||
	    !(app->idps = rg_idps_new(cfg))) {
		rg_link_free(app->link);
		rg_guard_free(app->guard);
		free(app);
		return rg_fail(err, RG_ERR_NOMEM, NULL, "out of memory");
	}
	if (rg_link_shared(app->link)) /* failed-login budgets shared by replicas */
		rg_guard_share(app->guard, rg_shared_redis(rg_link_shared(app->link)));
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
	rg_idps_free(app->idps);
	rg_link_free(app->link);
	rg_config_free(app->cfg);
	rg_guard_free(app->guard);
	rg_web_free(app->web);
	pthread_mutex_destroy(&app->lock);
	free(app);
}

void rg_app_set_config(rg_app_t *app, rg_config_t *cfg)
{
	rg_config_t *old;

	rg_config_ref(cfg);
	rg_idps_set_config(app->idps, cfg); /* its key sets take the old ones' keys first */
	pthread_mutex_lock(&app->lock);
	old = app->cfg;
	app->cfg = cfg;
	atomic_store(&app->access_log, cfg->access_log);
	pthread_mutex_unlock(&app->lock);
	rg_guard_reload(app->guard); /* cached password checks: users may have changed */
	rg_link_set_config(app->link, cfg);
	rg_config_free(old);
	if (atomic_load(&app->serve_web)) {
		rg_error err = {0};
		if (rg_app_web_load(app, &err))
			rg_log("error", "web_reload_failed", err.message);
	}
}

rg_err rg_app_web_load(rg_app_t *app, rg_error *err)
{
	rg_config_t *cfg = rg_app_config(app);
	rg_web *web = NULL, *old;
	rg_err rc = cfg->web_root ? rg_web_load(cfg, &web, err) : RG_OK;

	rg_config_free(cfg);
	if (rc)
		return rc;
	pthread_mutex_lock(&app->lock);
	old = app->web;
	app->web = web;
	pthread_mutex_unlock(&app->lock);
	atomic_store(&app->serve_web, true);
	rg_web_free(old);
	return RG_OK;
}

rg_web *rg_app_web(rg_app_t *app, bool page)
{
	rg_web *web;
	bool dev;

	pthread_mutex_lock(&app->lock);
	web = rg_web_ref(app->web);
	dev = app->cfg->dev;
	pthread_mutex_unlock(&app->lock);
	if (page && dev && web && rg_web_changed(web)) {
		rg_error err = {0};
		rg_web_free(web);
		if (rg_app_web_load(app, &err))
			rg_log("warn", "web_reload_failed", err.message);
		pthread_mutex_lock(&app->lock);
		web = rg_web_ref(app->web);
		pthread_mutex_unlock(&app->lock);
	}
	return web;
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
