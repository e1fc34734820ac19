/*
 * gate.c - authentication as the routes ask for it: the auth layer's
 * methods behind the app's failed-login limits (per client address, and per
 * user name for /v1/login), answering 429 with Retry-After when blocked.
 */
#include <stdio.h>
#include <string.h>

#include "auth/auth.h"
#include "auth/limiter.h"
#include "base/error.h"
#include "base/net.h"
#include "base/util.h"
#include "core/config.h"
#include "http/app.h"
#include "http/gate.h"
#include "http/request.h"

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
	rg_copy(buf + 2, n - 2, rg_client_addr(c->cfg->trusted_proxies, c->cfg->n_trusted_proxies, c->req,
						client, sizeof(client)));
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
	rc = rg_authenticate(&c->cfg->auth, c->req, user, err);
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
	rc = rg_auth_password(&c->cfg->auth, name, password, user, "session", err);
	if (wrong_credentials(rc, err)) {
		rg_limiter_fail(c->app->limiter, akey, now);
		rg_limiter_fail(c->app->limiter, ukey, now);
	}
	return rc;
}
