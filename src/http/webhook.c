/*
 * webhook.c - POST /livekit/webhook: LiveKit's webhooks (the path OpenVidu's
 * tutorials use). No user signs in here: the event's signature is its
 * authentication (core/link.c verifies it). 200 {} once applied or when the
 * event id was seen before; 401 invalid_webhook changes nothing.
 */
#include <string.h>

#include "base/error.h"
#include "base/log.h"
#include "base/net.h"
#include "core/config.h"
#include "core/link.h"
#include "http/app.h"
#include "http/request.h"
#include "http/routes.h"

void rg_route_webhook(rg_ctx *c)
{
	rg_error err = {0};
	bool duplicate = false;

	if (strcmp(c->req->method, "POST")) {
		rg_add_header(c, "Allow: POST");
		rg_fail(&err, RG_ERR_METHOD, "method_not_allowed", "use POST /livekit/webhook");
		rg_respond_error(c, &err);
		return;
	}
	if (rg_link_webhook(c->app->link, &c->cfg->livekit, rg_req_header(c->req, "Authorization"),
			    c->req->body, c->req->body_len, &duplicate, &err)) {
		if (err.err == RG_ERR_UNAUTHENTICATED)
			rg_log_json("warn", "webhook_refused",
				    json_pack("{s:s,s:s}", "msg", err.message, "remote",
					      c->req->remote_addr ? c->req->remote_addr : ""));
		rg_respond_error(c, &err);
		return;
	}
	snprintf(c->resp->user, sizeof(c->resp->user), "%s", "livekit");
	rg_respond_text(c, 200, strdup(duplicate ? "{\"duplicate\":true}" : "{}"));
}
