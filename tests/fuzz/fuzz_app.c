/* Fuzz target: whole requests through the router (method, path, query,
 * headers, body) with a valid session token, as the HTTP layer passes them. */
#include <string.h>
#include <strings.h>

#include "auth/session.h"
#include "auth/users.h"
#include "core/config.h"
#include "fuzz_common.h"

typedef struct hdrs {
	const char *authz, *ctype, *origin;
} hdrs;

static const char *get_header(void *ctx, const char *name)
{
	hdrs *h = ctx;

	if (!strcasecmp(name, "Authorization"))
		return h->authz;
	if (!strcasecmp(name, "Content-Type"))
		return h->ctype;
	if (!strcasecmp(name, "Origin"))
		return h->origin;
	return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const methods[] = {"GET", "POST", "DELETE", "OPTIONS", "PUT", "HEAD"};
	static const char *const paths[] = {"/token", "/v1/sessions", "/v1/login", "/v1/profiles",
					    "/healthz", "/metrics", "/v1/nope", "/v1/dispatch/x",
					    "/livekit/webhook", "/v1/sessions/room-x", "/v1/sessions/"};
	static rg_app_t *app;
	static char authz[2048];
	static const char bob[] = "bob:$pbkdf2-sha256$600000$kXpukP9tH07u-nYjN4J9NA$"
				  "VBEmbndXNyhSR4HnxY-eX1XRD1ln_eObZEH1y9bl75g:Bob:\n";
	rg_request_t req = {0};
	rg_response_t resp;
	hdrs h = {0};
	char *query = NULL;
	size_t qlen;

	if (!app) {
		rg_user_t u = {0};
		char *tok = NULL;
		rg_error err;
		rg_app_new(fuzz_cfg(), &app, &err);
		rg_user_set(&u, "bob", "Bob", NULL, 0, "session");
		/* session tokens are issued for a local user; the config has none at
		 * use, so only the signature is used here (401 "no longer exists") */
		rg_users_parse(bob, sizeof(bob) - 1, &fuzz_cfg()->auth.users, &err);
		rg_session_issue(&fuzz_cfg()->auth, &u, &tok, NULL, &err);
		rg_users_clear(&fuzz_cfg()->auth.users);
		snprintf(authz, sizeof(authz), "Bearer %s", tok ? tok : "x");
		rg_free(tok);
		rg_user_clear(&u);
	}
	if (size < 3 || size > RG_MAX_BODY)
		return 0;
	req.method = methods[data[0] % 6];
	req.path = paths[data[1] % 11];
	h.authz = data[2] & 1 ? authz : (data[2] & 2 ? "Basic ZGVtbzpkZW1v" : NULL);
	h.ctype = data[2] & 4 ? "text/plain" : "application/json";
	h.origin = data[2] & 8 ? "http://localhost:3000" : NULL;
	data += 3;
	size -= 3;
	/* up to the first newline is the query string */
	qlen = 0;
	while (qlen < size && qlen < 256 && data[qlen] != '\n')
		qlen++;
	if (qlen < size) {
		query = strndup((const char *)data, qlen);
		data += qlen + 1;
		size -= qlen + 1;
	}
	req.query = query;
	req.remote_addr = "127.0.0.1";
	req.header = get_header;
	req.header_ctx = &h;
	req.body = (const char *)data;
	req.body_len = size;
	rg_app_handle(app, &req, &resp);
	rg_response_clear(&resp);
	free(query);
	return 0;
}
