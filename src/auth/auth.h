/*
 * auth.h - who is calling: one entry point over the methods (auth.c).
 */
#ifndef RG_AUTH_AUTH_H
#define RG_AUTH_AUTH_H

#include "auth/conf.h"
#include "roomgate.h"

rg_err rg_authenticate(const rg_auth_conf *a, const rg_request_t *req, rg_user_t *user,
		       rg_error *err);
/* Checks a local user's password (PBKDF2) and fills `user`. */
rg_err rg_auth_password(const rg_auth_conf *a, const char *name, const char *password,
			rg_user_t *user, const char *method, rg_error *err);

#endif
