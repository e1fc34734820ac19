/*
 * log.c - structured logs: one JSON object per line on stderr.
 *
 * Callers pass only fields that are safe to log; secrets, passwords and
 * tokens never reach this file. Lines are written with one fputs under the
 * stdio lock so concurrent threads do not interleave.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/time.h>
#include <time.h>

#include "internal.h"

void rg_log_json(const char *level, const char *event, json_t *fields)
{
	struct timeval tv;
	struct tm tm;
	char ts[96];
	char *line;
	json_t *obj;

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	snprintf(ts, sizeof(ts), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 (long)(tv.tv_usec / 1000));
	obj = json_pack("{s:s,s:s,s:s}", "ts", ts, "level", level, "event", event);
	if (obj && fields)
		json_object_update(obj, fields);
	json_decref(fields);
	if (!obj)
		return;
	line = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
	json_decref(obj);
	if (!line)
		return;
	flockfile(stderr);
	fputs(line, stderr);
	fputc('\n', stderr);
	fflush(stderr);
	funlockfile(stderr);
	free(line);
}

void rg_log(const char *level, const char *event, const char *msg)
{
	rg_log_json(level, event, json_pack("{s:s}", "msg", msg ? msg : ""));
}
