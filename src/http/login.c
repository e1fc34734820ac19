/*
 * login.c - POST /v1/login: a local user's password for a short-lived
 * roomgate session token, so later calls skip the PBKDF2 cost, and a device
 * token (JSON and an HttpOnly cookie) that gives this client its own
 * failed-login budget for the user the next time it signs in.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "auth/device.h"
#include "auth/session.h"
#include "base/error.h"
#include "base/util.h"
#include "core/config.h"
#include "http/gate.h"
#include "http/request.h"
#include "http/routes.h"

void rg_route_login(rg_ctx *c)
{
	json_t *body = NULL, *u = NULL, *p = NULL;
	rg_user_t user = {0};
	rg_error err = {0};
	char *token = NULL, *device = NULL;
	long expires_in = 0;

	if (strcmp(c->req->method, "POST")) {
		rg_add_header(c, "Allow: POST, OPTIONS");
		rg_fail(&err, RG_ERR_METHOD, "method_not_allowed", "use POST /v1/login");
		goto fail;
	}
	if (rg_body_json(c, &body, &err))
		goto fail;
	u = json_object_get(body, "username");
	p = json_object_get(body, "password");
	if (!json_is_string(u) || !json_is_string(p) || json_object_size(body) != 2) {
		rg_fail(&err, RG_ERR_INVALID, "invalid_request",
			"expected {\"username\": \"...\", \"password\": \"...\"}");
		goto fail;
	}
	if (rg_ctx_password(c, json_string_value(u), json_string_value(p), &user, &err) ||
	    rg_session_issue(&c->cfg->auth, &user, &token, &expires_in, &err))
		goto fail;
	if (rg_device_issue(&c->cfg->auth, user.id, rg_now(), &device)) {
		rg_fail(&err, RG_ERR_CRYPTO, "crypto_error", "cannot sign the device token");
		goto fail;
	}
	rg_add_header(c, "Cache-Control: no-store");
	/* this client's own failed-login budget from now on (auth/device.c) */
	rg_add_header(c, "Set-Cookie: " RG_DEVICE_COOKIE "=%s; Max-Age=%ld; Path=/; HttpOnly; "
		      "SameSite=Strict%s", device, RG_DEVICE_TTL, c->cfg->tls_cert ? "; Secure" : "");
	rg_respond_json(c, 200,
			json_pack("{s:s,s:s,s:I,s:s}", "access_token", token, "token_type", "Bearer",
				  "expires_in", (json_int_t)expires_in, "device_token", device));
	snprintf(c->resp->user, sizeof(c->resp->user), "%s", user.id);
	goto out;
fail:
	rg_respond_error(c, &err);
out:
	if (p && json_is_string(p))
		OPENSSL_cleanse((void *)json_string_value(p), json_string_length(p));
	rg_free_secret(token);
	rg_free_secret(device);
	rg_user_clear(&user);
	json_decref(body);
}
