/*
 * user.c - rg_user_t, who a request is: filled by every authentication
 * method (public API: rg_user_set, rg_user_clear).
 */
#include <stdlib.h>
#include <string.h>

#include "roomgate.h"

void rg_user_clear(rg_user_t *u)
{
	if (!u)
		return;
	free(u->id);
	free(u->name);
	for (size_t i = 0; i < u->ngroups; i++)
		free(u->groups[i]);
	free(u->groups);
	memset(u, 0, sizeof(*u));
}

rg_err rg_user_set(rg_user_t *u, const char *id, const char *name, char *const *groups,
		   size_t ngroups, const char *method)
{
	rg_user_clear(u);
	u->id = strdup(id);
	u->name = strdup(name ? name : id);
	u->groups = ngroups ? calloc(ngroups, sizeof(char *)) : NULL;
	u->method = method;
	if (!u->id || !u->name || (ngroups && !u->groups))
		goto fail;
	for (size_t i = 0; i < ngroups; i++) {
		if (!(u->groups[i] = strdup(groups[i])))
			goto fail;
		u->ngroups++;
	}
	return RG_OK;
fail:
	rg_user_clear(u);
	return RG_ERR_NOMEM;
}
