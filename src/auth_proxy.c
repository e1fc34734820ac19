/*
 * auth_proxy.c - identity from a trusted reverse proxy's headers
 * (oauth2-proxy, nginx auth_request): honoured only when the connection
 * comes from one of the configured source networks; from anywhere else the
 * header is an attempt to impersonate and is refused with 401.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

rg_err rg_cidr_parse(const char *s, rg_cidr *out)
{
	char buf[64], *slash;
	long bits;
	char *end;

	if (!s || strlen(s) >= sizeof(buf))
		return RG_ERR_INVALID;
	snprintf(buf, sizeof(buf), "%s", s);
	slash = strchr(buf, '/');
	if (slash)
		*slash = '\0';
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, buf, out->addr) == 1) {
		out->family = 4;
		out->bits = 32;
	} else if (inet_pton(AF_INET6, buf, out->addr) == 1) {
		out->family = 6;
		out->bits = 128;
	} else {
		return RG_ERR_INVALID;
	}
	if (slash) {
		bits = strtol(slash + 1, &end, 10);
		if (*end || end == slash + 1 || bits < 0 || bits > out->bits)
			return RG_ERR_INVALID;
		out->bits = (int)bits;
	}
	return RG_OK;
}

static bool prefix_eq(const unsigned char *a, const unsigned char *b, int bits)
{
	int full = bits / 8, rest = bits % 8;

	if (memcmp(a, b, (size_t)full))
		return false;
	if (!rest)
		return true;
	return ((a[full] ^ b[full]) & (0xFF << (8 - rest))) == 0;
}

bool rg_cidr_contains(const rg_cidr *nets, size_t n, const char *addr)
{
	unsigned char a[16];
	int family;

	if (!addr)
		return false;
	if (inet_pton(AF_INET, addr, a) == 1) {
		family = 4;
	} else if (inet_pton(AF_INET6, addr, a) == 1) {
		static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
		family = 6;
		if (!memcmp(a, mapped, 12)) { /* ::ffff:a.b.c.d is IPv4 */
			memmove(a, a + 12, 4);
			family = 4;
		}
	} else {
		return false;
	}
	for (size_t i = 0; i < n; i++)
		if (nets[i].family == family && prefix_eq(nets[i].addr, a, nets[i].bits))
			return true;
	return false;
}

/* RG_ERR_NOT_FOUND when the request carries no proxy user header. */
rg_err rg_proxy_authenticate(const rg_config_t *cfg, const rg_request_t *req, rg_user_t *user,
			     rg_error *err)
{
	const rg_proxy_auth *pa = &cfg->proxy;
	const char *id, *name = NULL, *groups_h = NULL;
	char *copy = NULL, *save = NULL, *g, *groups[64];
	size_t ng = 0;
	rg_err rc;

	if (!pa->user_header || !(id = rg_req_header(req, pa->user_header)))
		return RG_ERR_NOT_FOUND;
	if (!rg_cidr_contains(pa->trusted, pa->n_trusted, req->remote_addr))
		return rg_fail(err, RG_ERR_UNAUTHENTICATED, "untrusted_proxy",
			       "%s is only accepted from the configured trusted proxies",
			       pa->user_header);
	if (!*id || strlen(id) > RG_MAX_NAME || !rg_utf8_valid(id, strlen(id)))
		return rg_fail(err, RG_ERR_UNAUTHENTICATED, "invalid_credentials",
			       "%s is empty or invalid", pa->user_header);
	if (pa->name_header)
		name = rg_req_header(req, pa->name_header);
	if (pa->groups_header)
		groups_h = rg_req_header(req, pa->groups_header);
	if (groups_h && (copy = strdup(groups_h))) {
		for (g = strtok_r(copy, ",", &save); g && ng < 64; g = strtok_r(NULL, ",", &save)) {
			g = rg_trim(g);
			if (*g)
				groups[ng++] = g;
		}
	}
	rc = rg_user_set(user, id, name && *name && rg_utf8_valid(name, strlen(name)) ? name : id,
			 groups, ng, "proxy");
	free(copy);
	return rc ? rg_fail(err, RG_ERR_NOMEM, NULL, "out of memory") : RG_OK;
}
