/*
 * logout.c - POST /v1/logout: ends the session token the request carries
 * (Authorization: Bearer, from POST /v1/login). Body: none or {}; answer
 * 200 {}. From then on the token is 401 invalid_credentials ("the session
 * has ended") in this process (auth/revoked.c). Other credentials (Basic,
 * an API key, an upstream JWT, a proxy header) have no session to end: 400.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "auth/session.h"
#include "base/error.h"
#include "base/net.h"
#include "core/config.h"
#include "http/gate.h"
#include "http/request.h"
#include "http/routes.h"

/* The token after "Bearer " (rg_ctx_authenticate has checked the scheme). */
static const char *bearer_token(const rg_ctx *c)
{
	const char *authz = rg_req_header(c->req, "Authorization");

	if (!authz || strncasecmp(authz, "Bearer ", 7))
		return NULL;
	authz += 7;
	while (*authz == ' ')
		authz++;
	return authz;
}

void rg_route_logout(rg_ctx *c)
{
	json_t *body = NULL;
	rg_user_t user = {0};
	rg_error err = {0};
	const char *token;
	long retry = 0;

	if (strcmp(c->req->method, "POST")) {
		rg_add_header(c, "Allow: POST, OPTIONS");
		rg_fail(&err, RG_ERR_METHOD, "method_not_allowed", "use POST /v1/logout");
		goto fail;
	}
	if (rg_body_json(c, &body, &err))
		goto fail;
	if (json_object_size(body)) {
		rg_fail(&err, RG_ERR_INVALID, "invalid_request",
			"POST /v1/logout takes no fields: send {} or no body");
		goto fail;
	}
	if (rg_ctx_authenticate(c, &user, &err))
		goto fail;
	snprintf(c->resp->user, sizeof(c->resp->user), "%s", user.id);
	if (strcmp(user.method, "session") || !(token = bearer_token(c))) {
		rg_fail(&err, RG_ERR_INVALID, "invalid_request",
			"nothing to end: POST /v1/logout ends a session token from POST /v1/login "
			"(sent as Authorization: Bearer), and this request signed in with %s",
			user.method);
		goto fail;
	}
	if (rg_session_end(&c->cfg->auth, token, &retry, &err)) {
		if (retry > 0)
			rg_add_header(c, "Retry-After: %ld", retry);
		goto fail;
	}
	rg_add_header(c, "Cache-Control: no-store");
	rg_respond_json(c, 200, json_object());
	goto out;
fail:
	rg_respond_error(c, &err);
out:
	rg_user_clear(&user);
	json_decref(body);
}
