/*
 * error.c - rg_err codes, their HTTP statuses and default snake_case codes.
 *
 * The one table that maps library errors to HTTP: every route reports
 * failures as rg_error and http/request.c turns them into responses through it.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"

static const struct {
	int status;
	const char *code;
} err_table[] = {
	[RG_OK] = {200, "ok"},
	[RG_ERR_INVALID] = {400, "invalid_request"},
	[RG_ERR_UNAUTHENTICATED] = {401, "unauthenticated"},
	[RG_ERR_FORBIDDEN] = {403, "forbidden"},
	[RG_ERR_NOT_FOUND] = {404, "not_found"},
	[RG_ERR_METHOD] = {405, "method_not_allowed"},
	[RG_ERR_TOO_LARGE] = {413, "body_too_large"},
	[RG_ERR_MEDIA_TYPE] = {415, "unsupported_media_type"},
	[RG_ERR_RATE_LIMITED] = {429, "rate_limited"},
	[RG_ERR_UPSTREAM] = {502, "livekit_error"},
	[RG_ERR_UNAVAILABLE] = {503, "unavailable"},
	[RG_ERR_NOMEM] = {500, "out_of_memory"},
	[RG_ERR_IO] = {500, "io_error"},
	[RG_ERR_CONFIG] = {500, "config_error"},
	[RG_ERR_CRYPTO] = {500, "crypto_error"},
	[RG_ERR_INTERNAL] = {500, "internal_error"},
};

int rg_err_status(rg_err err)
{
	if ((unsigned)err >= sizeof(err_table) / sizeof(err_table[0]))
		return 500;
	return err_table[err].status;
}

const char *rg_err_code(rg_err err)
{
	if ((unsigned)err >= sizeof(err_table) / sizeof(err_table[0]))
		return "internal_error";
	return err_table[err].code;
}

rg_err rg_fail(rg_error *err, rg_err code, const char *slug, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return code;
	err->err = code;
	err->retry_after = 0;
	snprintf(err->code, sizeof(err->code), "%s", slug ? slug : rg_err_code(code));
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	return code;
}

void rg_free(void *p)
{
	free(p);
}
