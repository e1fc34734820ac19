/*
 * log.c - structured logs: one JSON object per line on stderr.
 *
 * Callers pass only fields that are safe to log; secrets, passwords and
 * tokens never reach this file. Lines are written with one fputs under the
 * stdio lock so concurrent threads do not interleave.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

void rg_log_access(const char *method, const char *path, int status, double ms,
		   const char *remote, const char *user)
{
	struct timeval tv;
	struct tm tm;
	char head[160], num[64];
	rg_jbuf b = {0};
	int n;

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	n = snprintf(head, sizeof(head),
		     "{\"ts\":\"%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ\",\"level\":\"info\","
		     "\"event\":\"access\",\"method\":",
		     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		     (long)(tv.tv_usec / 1000));
	rg_jbuf_put(&b, head, (size_t)n);
	rg_jbuf_string(&b, method ? method : "", method ? strlen(method) : 0);
	rg_jbuf_put(&b, ",\"path\":", 8);
	rg_jbuf_string(&b, path ? path : "", path ? strlen(path) : 0);
	n = snprintf(num, sizeof(num), ",\"status\":%d,\"ms\":%.3f", status, ms);
	rg_jbuf_put(&b, num, (size_t)n);
	if (remote) {
		rg_jbuf_put(&b, ",\"remote\":", 10);
		rg_jbuf_string(&b, remote, strlen(remote));
	}
	if (user && *user) {
		rg_jbuf_put(&b, ",\"user\":", 8);
		rg_jbuf_string(&b, user, strlen(user));
	}
	if (rg_jbuf_put(&b, "}\n", 2)) {
		flockfile(stderr);
		fwrite(b.data, 1, b.len, stderr);
		fflush(stderr);
		funlockfile(stderr);
	}
	free(b.data);
}

void rg_log(const char *level, const char *event, const char *msg)
{
	rg_log_json(level, event, json_pack("{s:s}", "msg", msg ? msg : ""));
}
