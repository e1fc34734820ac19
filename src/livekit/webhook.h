/*
 * webhook.h - LiveKit's webhooks, verified as its WebhookReceiver does
 * (webhook.c; ../shared/reference/webhooks.md).
 */
#ifndef RG_LIVEKIT_WEBHOOK_H
#define RG_LIVEKIT_WEBHOOK_H

#include <jansson.h>
#include <stddef.h>
#include <time.h>

#include "roomgate.h"

/*
 * `authorization` is the raw JWT LiveKit sends (a "Bearer " prefix is
 * tolerated): HS256, signed with the secret of its `iss`, which must be
 * `api_key`; exp required; its `sha256` claim the standard base64 of
 * SHA-256 of the `len` raw body bytes (compared in constant time). Then
 * the body must be a WebhookEvent object with an `event` and an `id`.
 * On success *event is the parsed body (new reference); anything else is
 * RG_ERR_UNAUTHENTICATED "invalid_webhook" (or RG_ERR_INVALID for a signed
 * body that is no event).
 */
rg_err rg_webhook_verify(const char *authorization, const char *body, size_t len,
			 const char *api_key, const char *api_secret, time_t now, json_t **event,
			 rg_error *err);

#endif
