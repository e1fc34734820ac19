/*
 * request.h - a route's request and response (request.c).
 */
#ifndef RG_HTTP_REQUEST_H
#define RG_HTTP_REQUEST_H

#include <jansson.h>

#include "roomgate.h"

/* One request as a route sees it; cfg is referenced for the request. */
typedef struct rg_ctx {
	rg_app_t *app;
	rg_config_t *cfg;
	const rg_request_t *req;
	rg_response_t *resp;
} rg_ctx;

/* The response's status, Content-Type and body (stolen; may be NULL). */
void rg_respond_body(rg_ctx *c, int status, const char *type, char *body);
void rg_respond_json(rg_ctx *c, int status, json_t *body /* stolen */);
/* The same with the body already written as JSON text (stolen). */
void rg_respond_text(rg_ctx *c, int status, char *json);
void rg_respond_error(rg_ctx *c, const rg_error *err);
/* {"error":{"code":...,"message":...}} as compact JSON text (free it); NULL
 * if out of memory or not UTF-8. */
char *rg_error_body(const char *code, const char *message);
void rg_add_header(rg_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Reads the JSON object body (empty body = {}); checks Content-Type. */
rg_err rg_body_json(rg_ctx *c, json_t **out, rg_error *err);
/* Every key of the body is one of the n `known` names (400 invalid_request
 * "unknown field" otherwise). */
rg_err rg_body_only_keys(const json_t *body, const char *const *known, size_t n, rg_error *err);

#endif
