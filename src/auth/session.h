/*
 * session.h - roomgate's own short-lived bearer tokens (session.c).
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

#endif
