/*
 * session.c - roomgate's own short-lived bearer tokens (/v1/login).
 *
 * Exchanging a password once for a session token spares later requests the
 * PBKDF2 cost. Session tokens are HS256 JWTs signed with the session secret,
 * never with the LiveKit secret, and carry typ "roomgate-session" plus
 * iss/aud checks so that no LiveKit token can pass for one (nor the reverse:
 * they have no video grant).
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define SESSION_ISS "roomgate"
#define SESSION_AUD "roomgate-session"

rg_err rg_session_issue(const rg_config_t *cfg, const rg_user_t *user, char **token,
			long *expires_in, rg_error *err)
{
	time_t now = rg_now();
	json_t *groups = json_array(), *payload;
	rg_err rc;

	*token = NULL;
	for (size_t i = 0; groups && i < user->ngroups; i++)
		json_array_append_new(groups, json_string(user->groups[i]));
	payload = json_pack("{s:s,s:s,s:s,s:s,s:s,s:o,s:I}", "iss", SESSION_ISS, "aud",
			    SESSION_AUD, "typ", "roomgate-session", "sub", user->id, "name",
			    user->name, "groups", groups, "iat", (json_int_t)now);
	if (!payload)
		return rg_fail(err, RG_ERR_NOMEM, NULL, "out of memory");
	rc = rg_signer_sign_json(cfg->session_signer, payload, false, now, now + cfg->session_ttl,
				 token)
		     ? rg_fail(err, RG_ERR_CRYPTO, "crypto_error", "cannot sign the session token")
		     : RG_OK;
	json_decref(payload);
	if (!rc && expires_in)
		*expires_in = cfg->session_ttl;
	return rc;
}

rg_err rg_session_verify(const rg_config_t *cfg, const char *token, rg_user_t *user,
			 rg_error *err)
{
	json_t *p = NULL, *groups;
	const char *sub, *name;
	char **gv = NULL;
	size_t ng = 0, i;
	json_t *g;
	rg_err rc;

	if ((rc = rg_signer_verify(cfg->session_signer, token, rg_now(), &p, err)))
		return rc;
	sub = rg_json_str(p, "sub");
	name = rg_json_str(p, "name");
	groups = json_object_get(p, "groups");
	if (!sub || !*sub || strcmp(rg_json_str(p, "iss") ? rg_json_str(p, "iss") : "", SESSION_ISS) ||
	    strcmp(rg_json_str(p, "aud") ? rg_json_str(p, "aud") : "", SESSION_AUD) ||
	    strcmp(rg_json_str(p, "typ") ? rg_json_str(p, "typ") : "", "roomgate-session") ||
	    (groups && !json_is_array(groups))) {
		rc = rg_fail(err, RG_ERR_UNAUTHENTICATED, "invalid_credentials", "not a roomgate session token");
		goto out;
	}
	/* a user removed from the users file loses access at once */
	if (!rg_users_find(&cfg->users, sub)) {
		rc = rg_fail(err, RG_ERR_UNAUTHENTICATED, "invalid_credentials", "user no longer exists");
		goto out;
	}
	gv = calloc(json_array_size(groups) + 1, sizeof(*gv));
	if (!gv) {
		rc = rg_fail(err, RG_ERR_NOMEM, NULL, "out of memory");
		goto out;
	}
	json_array_foreach(groups, i, g) {
		if (json_is_string(g))
			gv[ng++] = (char *)json_string_value(g);
	}
	if (rg_user_set(user, sub, name ? name : sub, gv, ng, "session"))
		rc = rg_fail(err, RG_ERR_NOMEM, NULL, "out of memory");
out:
	free(gv);
	json_decref(p);
	return rc;
}
