/*
 * device.h - device tokens: a client that signed in before keeps its own
 * failed-login budget (device.c).
 */
#ifndef RG_AUTH_DEVICE_H
#define RG_AUTH_DEVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "auth/conf.h"
#include "roomgate.h"

#define RG_DEVICE_TTL (30L * 24 * 3600)
#define RG_DEVICE_COOKIE "rg_device"
#define RG_DEVICE_HEADER "X-Roomgate-Device"

/* A device token for user `name`, issued at `now` ("<iat>.<mac>"; free it
 * with rg_free_secret). */
rg_err rg_device_issue(const rg_auth_conf *a, const char *name, time_t now, char **out);
/* Whether `token` was issued to `name` under this config's session secret
 * within RG_DEVICE_TTL. */
bool rg_device_valid(const rg_auth_conf *a, const char *name, const char *token, time_t now);
/* The device token a request presents (the X-Roomgate-Device header, else
 * the rg_device cookie, copied into buf), or NULL. Borrowed. */
const char *rg_device_from_request(const rg_request_t *req, char *buf, size_t n);

#endif
