/*
 * request.c - what every route does with its request and response: read a
 * header or the JSON body, add a header, answer with JSON or a JSON error
 * (rg_err mapped to status and code through error.c's one table).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/error.h"
#include "base/jsonw.h"
#include "base/log.h"
#include "base/net.h"
#include "base/util.h"
#include "http/app.h"
#include "http/request.h"

void rg_response_clear(rg_response_t *resp)
{
	if (!resp)
		return;
	free(resp->body);
	memset(resp, 0, sizeof(*resp));
}

void rg_add_header(rg_ctx *c, const char *fmt, ...)
{
	size_t used = strlen(c->resp->headers);
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(c->resp->headers + used, sizeof(c->resp->headers) - used, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n + 2 >= sizeof(c->resp->headers) - used) {
		c->resp->headers[used] = '\0'; /* drop a header that does not fit */
		return;
	}
	strcat(c->resp->headers, "\r\n");
}

void rg_respond_body(rg_ctx *c, int status, const char *type, char *body)
{
	free(c->resp->body);
	c->resp->status = status;
	c->resp->content_type = type;
	c->resp->body = body;
	c->resp->body_len = body ? strlen(body) : 0;
}

void rg_respond_text(rg_ctx *c, int status, char *s)
{
	if (!s) {
		rg_respond_body(c, 500, "application/json",
			 strdup("{\"error\":{\"code\":\"out_of_memory\",\"message\":\"out of memory\"}}"));
		return;
	}
	rg_respond_body(c, status, "application/json", s);
}

void rg_respond_json(rg_ctx *c, int status, json_t *body)
{
	char *s = body ? rg_json_compact(body) : NULL;

	json_decref(body);
	rg_respond_text(c, status, s);
}

char *rg_error_body(const char *code, const char *message)
{
	json_t *body = json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", message);
	char *s = body ? rg_json_compact(body) : NULL;

	json_decref(body);
	return s;
}

/* Whether a message may stand in a quoted header value: no quote, no
 * backslash, no control character (a message may quote a token's own text,
 * e.g. its alg or typ, and must not end the header or start another). */
static bool header_safe(const char *s)
{
	for (; *s; s++)
		if (*s == '"' || *s == '\\' || (unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

void rg_respond_error(rg_ctx *c, const rg_error *err)
{
	int status = rg_err_status(err->err);
	const char *code = err->code[0] ? err->code : rg_err_code(err->err);
	const char *msg = err->message[0] ? err->message : code;

	if (status == 401) {
		const char *authz = rg_req_header(c->req, "Authorization");
		rg_metrics_auth_failed(&c->app->metrics);
		if (authz && !strncasecmp(authz, "Basic ", 6))
			rg_add_header(c, "WWW-Authenticate: Basic realm=\"roomgate\", charset=\"UTF-8\"");
		else if (authz)
			rg_add_header(c,
				      "WWW-Authenticate: Bearer realm=\"roomgate\", error=\"invalid_token\", "
				      "error_description=\"%s\"",
				      header_safe(msg) ? msg : "invalid token");
		else
			rg_add_header(c, "WWW-Authenticate: Bearer realm=\"roomgate\"");
	}
	if (err->retry_after > 0)
		rg_add_header(c, "Retry-After: %ld", err->retry_after);
	if (status >= 500)
		rg_log_json("error", "request_failed",
			    json_pack("{s:s,s:s,s:s}", "path", c->req->path, "code", code, "msg", msg));
	rg_respond_text(c, status, rg_error_body(code, msg));
}

rg_err rg_body_json(rg_ctx *c, json_t **out, rg_error *err)
{
	const char *ct = rg_req_header(c->req, "Content-Type");
	json_error_t jerr;
	json_t *v;

	*out = NULL;
	if (c->req->body_len > RG_MAX_BODY)
		return rg_fail(err, RG_ERR_TOO_LARGE, "body_too_large",
			       "request body is larger than %d bytes", RG_MAX_BODY);
	if (c->req->body_len == 0) {
		*out = json_object();
		return *out ? RG_OK : rg_fail(err, RG_ERR_NOMEM, NULL, "out of memory");
	}
	if (!ct || strncasecmp(ct, "application/json", 16) || (ct[16] && ct[16] != ';' && ct[16] != ' '))
		return rg_fail(err, RG_ERR_MEDIA_TYPE, "unsupported_media_type",
			       "send the body as JSON with Content-Type: application/json");
	v = rg_json_load(c->req->body, c->req->body_len, JSON_REJECT_DUPLICATES, &jerr);
	if (!v)
		return rg_fail(err, RG_ERR_INVALID, "invalid_json", "malformed JSON at line %d column %d: %s",
			       jerr.line, jerr.column, jerr.text);
	if (!json_is_object(v)) {
		json_decref(v);
		return rg_fail(err, RG_ERR_INVALID, "invalid_json", "the body must be a JSON object");
	}
	*out = v;
	return RG_OK;
}

rg_err rg_body_only_keys(const json_t *body, const char *const *known, size_t n, rg_error *err)
{
	const char *k;
	json_t *v;

	json_object_foreach((json_t *)body, k, v) {
		size_t i;
		for (i = 0; i < n && strcmp(known[i], k); i++)
			;
		if (i == n)
			return rg_fail(err, RG_ERR_INVALID, "invalid_request", "unknown field '%s'", k);
	}
	return RG_OK;
}
