/*
 * routes.h - the API routes, one file each; router.c alone calls them.
 */
#ifndef RG_HTTP_ROUTES_H
#define RG_HTTP_ROUTES_H

#include "http/request.h"

void rg_route_token(rg_ctx *c);    /* token.c: POST /token */
void rg_route_sessions(rg_ctx *c); /* sessions.c: /v1/sessions */
void rg_route_login(rg_ctx *c);    /* login.c: POST /v1/login */
void rg_route_logout(rg_ctx *c);   /* logout.c: POST /v1/logout */
void rg_route_profiles(rg_ctx *c); /* profiles.c: GET /v1/profiles */
void rg_route_dispatch(rg_ctx *c); /* dispatch.c: /v1/dispatch */
void rg_route_webhook(rg_ctx *c);  /* webhook.c: POST /livekit/webhook */

#endif
