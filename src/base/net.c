/*
 * net.c - addresses and requests, below every layer that reads them: CIDR
 * networks (server.trusted_proxies, the proxy method's trusted sources), a
 * request's header by name, and the client's address behind trusted
 * proxies (X-Forwarded-For).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/net.h"
#include "base/util.h"

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

const char *rg_req_header(const rg_request_t *req, const char *name)
{
	return req->header ? req->header(req->header_ctx, name) : NULL;
}

const char *rg_client_addr(const rg_cidr *trusted, size_t n_trusted, const rg_request_t *req,
			   char *buf, size_t n)
{
	const char *peer = req->remote_addr ? req->remote_addr : "?";
	const char *xff;
	char list[512];
	size_t len;

	if (!n_trusted || !rg_cidr_contains(trusted, n_trusted, peer) ||
	    !(xff = rg_req_header(req, "X-Forwarded-For")))
		return peer;
	/* the right-most address that is not one of our proxies: the ones to its
	 * left were written by the client and prove nothing. Only the tail of a
	 * long header matters, so a client cannot pad it into being ignored. */
	if ((len = strlen(xff)) >= sizeof(list)) {
		xff = strchr(xff + len - (sizeof(list) - 1), ',');
		if (!xff)
			return peer;
		xff++;
	}
	snprintf(list, sizeof(list), "%s", xff);
	for (;;) {
		char *comma = strrchr(list, ',');
		const char *hop = rg_trim(comma ? comma + 1 : list);
		if (*hop && (!comma || !rg_cidr_contains(trusted, n_trusted, hop))) {
			rg_copy(buf, n, hop);
			return buf;
		}
		if (!comma)
			break;
		*comma = '\0';
	}
	return peer;
}
