/*
 * auth.c - who is calling: one entry point over the authentication methods.
 *
 * Methods: a trusted proxy's user header ("proxy", proxy.c), HTTP
 * Basic against the local users file ("basic", checked through guard.c as
 * /v1/login's passwords are), and Bearer tokens: API keys
 * ("api_key", apikey.c), roomgate session tokens from /v1/login
 * ("session", session.c) or JWTs from the user's own IdP ("jwt",
 * upstream.c). Each method either claims the request (RG_OK or an error) or
 * passes (RG_ERR_NOT_FOUND).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "auth/apikey.h"
#include "auth/auth.h"
#include "auth/conf.h"
#include "auth/guard.h"
#include "auth/proxy.h"
#include "auth/session.h"
#include "auth/upstream.h"
#include "auth/users.h"
#include "base/error.h"
#include "base/net.h"
#include "base/util.h"

static rg_err auth_basic(const rg_auth_conf *a, rg_attempt *at, const char *authz,
			 rg_user_t *user, rg_error *err)
{
	const char *b64;
	unsigned char *raw = NULL;
	size_t len = 0;
	char *colon;
	rg_err rc;

	if (strncasecmp(authz, "Basic ", 6))
		return RG_ERR_NOT_FOUND;
	b64 = authz + 6;
	while (*b64 == ' ')
		b64++;
	raw = rg_b64_decode(b64, strlen(b64), &len);
	if (!raw || memchr(raw, '\0', len) || !(colon = strchr((char *)raw, ':'))) {
		rc = rg_fail(err, RG_ERR_UNAUTHENTICATED, "invalid_credentials",
			     "malformed Basic credentials");
		goto out;
	}
	*colon = '\0';
	rc = rg_guard_password(at, a, (char *)raw, colon + 1, "basic", user, err);
out:
	if (raw) {
		OPENSSL_cleanse(raw, len);
		free(raw);
	}
	return rc;
}

/* Bearer: an API key (rk_...), a roomgate session token, or an upstream JWT. */
static rg_err auth_bearer(const rg_auth_conf *a, rg_attempt *at, const char *authz,
			  rg_user_t *user, rg_error *err)
{
	const char *tok;

	(void)at; /* not a password: no failed-login budget */
	if (strncasecmp(authz, "Bearer ", 7))
		return RG_ERR_NOT_FOUND;
	tok = authz + 7;
	while (*tok == ' ')
		tok++;
	if (!strncmp(tok, "rk_", 3))
		return rg_apikey_authenticate(a->apikeys, a->n_apikeys, tok, user, err);
	if (a->n_upstream && rg_upstream_claims_token(tok))
		return rg_upstream_verify(a->upstream, a->n_upstream, tok, user, err);
	return rg_session_verify(a, tok, user, err);
}

typedef rg_err (*auth_fn)(const rg_auth_conf *, rg_attempt *, const char *, rg_user_t *,
			  rg_error *);

static const auth_fn methods[] = {auth_basic, auth_bearer};

rg_err rg_authenticate(const rg_auth_conf *a, rg_attempt *at, rg_user_t *user, rg_error *err)
{
	const rg_request_t *req = at->req;
	const char *authz = rg_req_header(req, "Authorization");
	rg_err rc;

	memset(user, 0, sizeof(*user));
	/* a trusted proxy's header wins; from anyone else it is refused */
	if ((rc = rg_proxy_authenticate(&a->proxy, req, user, err)) != RG_ERR_NOT_FOUND)
		return rc;
	if (!authz || !*authz)
		return rg_fail(err, RG_ERR_UNAUTHENTICATED, "unauthenticated",
			       "authentication required: HTTP Basic, or a Bearer token from "
			       "POST /v1/login");
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		rc = methods[i](a, at, authz, user, err);
		if (rc != RG_ERR_NOT_FOUND)
			return rc;
	}
	return rg_fail(err, RG_ERR_UNAUTHENTICATED, "invalid_credentials",
		       "unsupported Authorization scheme (use Basic or Bearer)");
}
