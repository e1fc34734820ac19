/*
 * log.h - JSON log lines on stderr (log.c); rg_log, the plain one, is public.
 */
#ifndef RG_BASE_LOG_H
#define RG_BASE_LOG_H

#include <jansson.h>

#include "roomgate.h"

void rg_log_json(const char *level, const char *event, json_t *fields /* stolen, may be NULL */);
void rg_log_flush(void); /* writes queued access log lines now */
/* The per-request access line, written without building a JSON tree. */
void rg_log_access(const char *method, const char *path, int status, double ms,
		   const char *remote, const char *user);

#endif
