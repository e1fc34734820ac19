/*
 * token.c - POST /token, LiveKit's standard token endpoint: authenticate,
 * then core/endpoint.c's rg_token_request does the rest.
 */
#include <string.h>

#include "base/error.h"
#include "base/util.h"
#include "core/endpoint.h"
#include "http/app.h"
#include "http/gate.h"
#include "http/request.h"
#include "http/routes.h"

void rg_route_token(rg_ctx *c)
{
	json_t *body = NULL;
	char *resp = NULL;
	rg_user_t user = {0};
	rg_error err = {0};

	if (strcmp(c->req->method, "POST")) {
		rg_add_header(c, "Allow: POST, OPTIONS");
		rg_fail(&err, RG_ERR_METHOD, "method_not_allowed", "use POST /token");
		goto fail;
	}
	if (rg_ctx_authenticate(c, &user, &err) || rg_body_json(c, &body, &err) ||
	    rg_token_request(c->cfg, c->app->link, &user, body, &resp, &err))
		goto fail;
	rg_metrics_token_issued(&c->app->metrics);
	rg_add_header(c, "Cache-Control: no-store");
	rg_respond_text(c, 201, resp);
	goto out;
fail:
	rg_respond_error(c, &err);
out:
	if (user.id)
		rg_copy(c->resp->user, sizeof(c->resp->user), user.id);
	rg_user_clear(&user);
	json_decref(body);
}
