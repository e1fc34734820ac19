/*
 * device.c - device tokens (OWASP's "device cookies"): after a successful
 * /v1/login the client gets "<issued-at>.<mac>", the mac an HMAC-SHA256 under
 * the session secret of the user name and the issue time. Presented with a
 * later password attempt for the same user, it gives that client its own
 * failed-login budget (auth/guard.c), so someone who keeps a user name
 * locked does not lock out the user's own browser or client. A token names
 * no one by itself: it only verifies together with the name it was issued
 * to. A new session secret (a restart without one configured, or a reload
 * that changes it) retires every device token.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "auth/device.h"
#include "base/net.h"
#include "base/util.h"

#define MAC_LEN 32

static bool mac(const rg_auth_conf *a, const char *name, long long iat, unsigned char *out)
{
	char msg[600];
	unsigned len = MAC_LEN;
	int n;

	if (!a->session_secret || !name)
		return false;
	n = snprintf(msg, sizeof(msg), "roomgate-device%c%lld%c%s", 0, iat, 0, name);
	if (n < 0 || (size_t)n >= sizeof(msg))
		return false;
	return HMAC(EVP_sha256(), a->session_secret, (int)strlen(a->session_secret),
		    (unsigned char *)msg, (size_t)n, out, &len) && len == MAC_LEN;
}

rg_err rg_device_issue(const rg_auth_conf *a, const char *name, time_t now, char **out)
{
	unsigned char m[MAC_LEN];
	char *b64 = NULL, *tok = NULL;
	size_t n;
	rg_err rc = RG_ERR_CRYPTO;

	*out = NULL;
	if (!mac(a, name, (long long)now, m))
		goto out;
	rc = RG_ERR_NOMEM;
	if (!(b64 = rg_b64url_encode(m, sizeof(m))) || !(tok = malloc(n = strlen(b64) + 24)))
		goto out;
	snprintf(tok, n, "%lld.%s", (long long)now, b64);
	*out = tok;
	rc = RG_OK;
out:
	OPENSSL_cleanse(m, sizeof(m));
	rg_free_secret(b64);
	return rc;
}

bool rg_device_valid(const rg_auth_conf *a, const char *name, const char *token, time_t now)
{
	unsigned char want[MAC_LEN], *got = NULL;
	size_t got_len = 0;
	char *dot;
	long long iat;
	bool ok = false;

	if (!token || !*token || strlen(token) > 80)
		return false;
	iat = strtoll(token, &dot, 10);
	if (dot == token || *dot != '.' || iat > (long long)now || (long long)now - iat >= RG_DEVICE_TTL)
		return false;
	if (!mac(a, name, iat, want) || !(got = rg_b64_decode(dot + 1, strlen(dot + 1), &got_len)))
		goto out;
	ok = got_len == MAC_LEN && CRYPTO_memcmp(want, got, MAC_LEN) == 0;
out:
	OPENSSL_cleanse(want, sizeof(want));
	free(got);
	return ok;
}

/* The X-Roomgate-Device header, else the rg_device cookie. */
const char *rg_device_from_request(const rg_request_t *req, char *buf, size_t n)
{
	const char *h = rg_req_header(req, RG_DEVICE_HEADER), *p, *end;
	size_t klen = strlen(RG_DEVICE_COOKIE);

	if (h && *h)
		return h;
	if (!(h = rg_req_header(req, "Cookie")))
		return NULL;
	for (p = h; (p = strstr(p, RG_DEVICE_COOKIE "=")); p += klen) {
		if (p != h && p[-1] != ' ' && p[-1] != ';')
			continue;
		p += klen + 1;
		end = strchr(p, ';');
		if (!end)
			end = p + strlen(p);
		if ((size_t)(end - p) >= n)
			return NULL;
		memcpy(buf, p, (size_t)(end - p));
		buf[end - p] = '\0';
		return buf;
	}
	return NULL;
}
