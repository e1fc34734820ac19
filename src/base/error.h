/*
 * error.h - filling an rg_error (error.c; the rg_err -> HTTP status and code
 * table behind rg_err_status/rg_err_code is there too).
 */
#ifndef RG_BASE_ERROR_H
#define RG_BASE_ERROR_H

#include "roomgate.h"

/* Fills err (may be NULL) with code, slug (NULL: the table's code for
 * `code`) and the formatted message; returns `code`. */
rg_err rg_fail(rg_error *err, rg_err code, const char *slug, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif
