/*
 * oidc.c - an identity provider by its issuer alone, as every OIDC library
 * does it: OpenID Connect Discovery 1.0 (<issuer>/.well-known/
 * openid-configuration), RFC 8414's oauth-authorization-server document when
 * there is none. The document's issuer must be the configured one, byte for
 * byte (Discovery 4.3: otherwise anyone who can serve that URL could name
 * another issuer's keys); it must come over https (http only to loopback);
 * and the algorithms accepted are the configured ones the provider says it
 * signs with, never none and never an HMAC one (a JWKS holds public keys).
 */
#include <arpa/inet.h>
#include <jwt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth/oidc.h"
#include "base/error.h"
#include "base/fetch.h"
#include "base/util.h"

#define META_MAX (256 * 1024)

/* The host of an http(s) URL (after the scheme) as [start, end); NULL when
 * the authority holds user info or is empty. */
static const char *url_host(const char *rest, const char **end)
{
	size_t alen = strcspn(rest, "/?#");
	const char *e;

	if (!alen || memchr(rest, '@', alen))
		return NULL;
	if (rest[0] == '[') {
		if (!(e = memchr(rest, ']', alen)))
			return NULL;
		*end = e + 1;
		return rest;
	}
	e = memchr(rest, ':', alen);
	*end = e ? e : rest + alen;
	return *end > rest ? rest : NULL;
}

static bool loopback(const char *host, size_t n)
{
	char buf[64];
	struct in_addr a4;

	if (n == 9 && !strncasecmp(host, "localhost", 9))
		return true;
	if (n == 5 && !strncmp(host, "[::1]", 5))
		return true;
	if (n >= sizeof(buf))
		return false;
	memcpy(buf, host, n);
	buf[n] = '\0';
	return inet_pton(AF_INET, buf, &a4) == 1 && (ntohl(a4.s_addr) >> 24) == 127;
}

bool rg_oidc_url_secure(const char *url)
{
	const char *host, *end = NULL;

	if (!url)
		return false;
	if (!strncmp(url, "https://", 8))
		return url_host(url + 8, &end) != NULL;
	if (strncmp(url, "http://", 7) || !(host = url_host(url + 7, &end)))
		return false;
	return loopback(host, (size_t)(end - host));
}

char *rg_oidc_config_url(const char *issuer, bool rfc8414)
{
	const char *scheme_end = strstr(issuer, "://");
	const char *path = scheme_end ? scheme_end + 3 + strcspn(scheme_end + 3, "/") : issuer;
	size_t base = (size_t)(path - issuer), plen = strlen(path), n;
	char *out;

	while (plen && path[plen - 1] == '/')
		plen--;
	n = strlen(issuer) + 64;
	if (!(out = malloc(n)))
		return NULL;
	if (rfc8414)
		snprintf(out, n, "%.*s/.well-known/oauth-authorization-server%.*s", (int)base, issuer,
			 (int)plen, path);
	else
		snprintf(out, n, "%.*s%.*s/.well-known/openid-configuration", (int)base, issuer,
			 (int)plen, path);
	return out;
}

unsigned rg_oidc_algs(const json_t *names)
{
	const json_t *v;
	unsigned algs = 0;
	size_t i;

	json_array_foreach(names, i, v) {
		const char *s = json_string_value(v);
		jwt_alg_t a = s ? jwt_str_alg(s) : JWT_ALG_INVAL;
		/* exact spelling, and only the public-key families */
		if (a >= JWT_ALG_RS256 && a <= JWT_ALG_ES512 && !strcmp(jwt_alg_str(a), s))
			algs |= 1u << a;
	}
	return algs;
}

const char *rg_oidc_alg_list(unsigned algs, char *buf, size_t n)
{
	size_t used = 0;

	buf[0] = '\0';
	for (int a = JWT_ALG_NONE; a < JWT_ALG_TERM && used + 12 < n; a++)
		if (algs & (1u << a))
			used += (size_t)snprintf(buf + used, n - used, "%s%s", used ? ", " : "",
						 jwt_alg_str((jwt_alg_t)a));
	return buf;
}

void rg_oidc_meta_clear(rg_oidc_meta *m)
{
	free(m->document);
	free(m->jwks_uri);
	memset(m, 0, sizeof(*m));
}

/* The metadata document: OpenID Connect Discovery's, else RFC 8414's. */
static rg_err fetch_meta(const char *issuer, const atomic_bool *cancel, json_t **doc, char **from,
			 rg_error *err)
{
	long status[2] = {0, 0};
	rg_err rc = RG_OK;

	for (int rfc = 0; rfc < 2; rfc++) {
		rg_http_answer a;
		rg_error e = {0};
		char *url = rg_oidc_config_url(issuer, rfc);
		if (!url)
			return rg_fail(err, RG_ERR_NOMEM, NULL, "out of memory");
		if (rg_http_get(url, META_MAX, cancel, &a, &e)) {
			free(url);
			return rg_fail(err, RG_ERR_UNAVAILABLE, "idp_unavailable", "discovery: %s",
				       e.message);
		}
		status[rfc] = a.status;
		if (a.status == 200) {
			*doc = rg_json_load(a.body ? a.body : "", a.len, 0, NULL);
			rg_http_answer_clear(&a);
			if (!json_is_object(*doc)) {
				json_decref(*doc);
				*doc = NULL;
				rc = rg_fail(err, RG_ERR_UNAVAILABLE, "discovery_invalid",
					     "discovery: %s is not a JSON object", url);
				free(url);
				return rc;
			}
			*from = url;
			return RG_OK;
		}
		rg_http_answer_clear(&a);
		free(url);
	}
	return rg_fail(err, RG_ERR_UNAVAILABLE, "idp_unavailable",
		       "discovery: no metadata for issuer %s (openid-configuration answered %ld, "
		       "oauth-authorization-server %ld)",
		       issuer, status[0], status[1]);
}

rg_err rg_oidc_discover(const char *issuer, unsigned want, const atomic_bool *cancel,
			rg_oidc_meta *out, rg_error *err)
{
	json_t *doc = NULL, *supported;
	const char *doc_iss, *jwks_uri;
	char have[128], asked[128];
	rg_err rc;

	memset(out, 0, sizeof(*out));
	if ((rc = fetch_meta(issuer, cancel, &doc, &out->document, err)))
		return rc;
	doc_iss = rg_json_str(doc, "issuer");
	jwks_uri = rg_json_str(doc, "jwks_uri");
	supported = json_object_get(doc, "id_token_signing_alg_values_supported");
	out->algs = json_is_array(supported) ? want & rg_oidc_algs(supported) : want;
	if (!doc_iss || strcmp(doc_iss, issuer)) {
		rc = rg_fail(err, RG_ERR_UNAVAILABLE, "issuer_mismatch",
			     "discovery document %s names issuer '%s', not the configured '%s': "
			     "refused (the issuer must match exactly, trailing '/' included)",
			     out->document, doc_iss ? doc_iss : "(none)", issuer);
	} else if (!jwks_uri || !rg_oidc_url_secure(jwks_uri)) {
		rc = rg_fail(err, RG_ERR_UNAVAILABLE, "discovery_invalid",
			     "discovery document %s: jwks_uri %s%s", out->document,
			     jwks_uri ? jwks_uri : "missing",
			     jwks_uri ? " is not https (http only to loopback)" : "");
	} else if (!out->algs) {
		rc = rg_fail(err, RG_ERR_UNAVAILABLE, "no_common_algorithm",
			     "discovery document %s: the provider signs with none of the configured "
			     "algorithms (%s); it offers %s",
			     out->document, rg_oidc_alg_list(want, asked, sizeof(asked)),
			     rg_oidc_alg_list(rg_oidc_algs(supported), have, sizeof(have))[0]
				     ? have
				     : "no RS or ES algorithm");
	} else if (!(out->jwks_uri = strdup(jwks_uri))) {
		rc = rg_fail(err, RG_ERR_NOMEM, NULL, "out of memory");
	}
	json_decref(doc);
	if (rc)
		rg_oidc_meta_clear(out);
	return rc;
}
