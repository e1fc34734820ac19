/*
 * proxy.c - identity from a trusted reverse proxy's headers
 * (oauth2-proxy, nginx auth_request): honoured only when the connection
 * comes from one of the configured source networks; from anywhere else the
 * header is an attempt to impersonate and is refused with 401.
 */
#include <stdlib.h>
#include <string.h>

#include "auth/proxy.h"
#include "base/error.h"
#include "base/names.h"
#include "base/net.h"
#include "base/util.h"

/* RG_ERR_NOT_FOUND when the request carries no proxy user header. */
rg_err rg_proxy_authenticate(const rg_proxy_auth *pa, const rg_request_t *req, rg_user_t *user,
			     rg_error *err)
{
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
	if (rg_identity_problem(id))
		return rg_fail(err, RG_ERR_UNAUTHENTICATED, "invalid_credentials", "%s %s: %s",
			       pa->user_header, rg_identity_problem(id), RG_IDENTITY_RULE);
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
