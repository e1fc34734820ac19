/*
 * gate.h - authentication behind the failed-login limits (gate.c).
 */
#ifndef RG_HTTP_GATE_H
#define RG_HTTP_GATE_H

#include "http/request.h"
#include "roomgate.h"

/* rg_authenticate; a Basic password through the app's guard (429 or 503
 * with Retry-After when refused). */
rg_err rg_ctx_authenticate(rg_ctx *c, rg_user_t *user, rg_error *err);
/* The password check of /v1/login through the same guard. */
rg_err rg_ctx_password(rg_ctx *c, const char *name, const char *password, rg_user_t *user,
		       rg_error *err);

#endif
