/*
 * session.h - roomgate's own short-lived bearer tokens (session.c): issued
 * by /v1/login, checked against the current users record on each use,
 * ended by /v1/logout.
 */
#ifndef RG_AUTH_SESSION_H
#define RG_AUTH_SESSION_H

#include <time.h>

#include "auth/conf.h"
#include "roomgate.h"

rg_err rg_session_issue(const rg_auth_conf *a, const rg_user_t *user, char **token,
			long *expires_in, rg_error *err);
rg_err rg_session_verify(const rg_auth_conf *a, const char *token, rg_user_t *user,
			 rg_error *err);
/* rg_session_verify at time `now` (tests). */
rg_err rg_session_verify_at(const rg_auth_conf *a, const char *token, time_t now,
			    rg_user_t *user, rg_error *err);

/* Each user's password stamp for the config's session secret (the config
 * loader, once the secret is known; verify computes a missing one itself). */
rg_err rg_session_stamp_users(rg_auth_conf *a);
/* Ends a valid session token at once (until its exp); RG_ERR_UNAVAILABLE
 * (503) when too many sessions ended recently, with *retry_after seconds;
 * errors of rg_session_verify for a token that is not a valid one. */
rg_err rg_session_end(const rg_auth_conf *a, const char *token, long *retry_after,
		      rg_error *err);
rg_err rg_session_end_at(const rg_auth_conf *a, const char *token, time_t now,
			 long *retry_after, rg_error *err);

#endif
