/*
 * auth.h - who is calling: one entry point over the methods (auth.c).
 */
#ifndef RG_AUTH_AUTH_H
#define RG_AUTH_AUTH_H

#include "auth/conf.h"
#include "auth/guard.h"
#include "roomgate.h"

/* Authenticates at->req. A Basic password goes through rg_guard_password
 * (at->wait set when refused); bearer credentials and the proxy header
 * spend no failed-login budget and are never refused for one. */
rg_err rg_authenticate(const rg_auth_conf *a, rg_attempt *at, rg_user_t *user, rg_error *err);

#endif
