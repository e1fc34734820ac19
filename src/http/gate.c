/*
 * gate.c - authentication as the routes ask for it: the auth layer's
 * methods, with every password (HTTP Basic and /v1/login) checked through
 * the app's guard (auth/guard.c: failed-login budgets per address, user and
 * device, bounded PBKDF2 work, cached successes). Refusals get Retry-After;
 * the password checks are counted for /metrics. Bearer credentials and the
 * proxy header are never refused for an address's failed logins.
 */
#include <stdio.h>
#include <string.h>

#include "auth/auth.h"
#include "auth/guard.h"
#include "base/error.h"
#include "core/config.h"
#include "http/app.h"
#include "http/gate.h"
#include "http/request.h"

static rg_attempt attempt(const rg_ctx *c)
{
	return (rg_attempt){.guard = c->app->guard, .req = c->req,
			    .trusted = c->cfg->trusted_proxies,
			    .n_trusted = c->cfg->n_trusted_proxies};
}

static rg_err settle(rg_ctx *c, const rg_attempt *at, rg_err rc)
{
	if (at->wait && (rc == RG_ERR_RATE_LIMITED || rc == RG_ERR_UNAVAILABLE))
		rg_add_header(c, "Retry-After: %ld", at->wait);
	if (at->pbkdf2)
		rg_metrics_password_checked(&c->app->metrics);
	if (at->cached)
		rg_metrics_password_cached(&c->app->metrics);
	return rc;
}

rg_err rg_ctx_authenticate(rg_ctx *c, rg_user_t *user, rg_error *err)
{
	rg_attempt at = attempt(c);

	return settle(c, &at, rg_authenticate(&c->cfg->auth, &at, user, err));
}

rg_err rg_ctx_password(rg_ctx *c, const char *name, const char *password, rg_user_t *user,
		       rg_error *err)
{
	rg_attempt at = attempt(c);

	return settle(c, &at,
		      rg_guard_password(&at, &c->cfg->auth, name, password, "session", user, err));
}
