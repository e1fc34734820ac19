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

/* "2026-11-23T10:17:26.528Z": UTC, milliseconds. */
static void timestamp(char *buf, size_t n)
{
	struct timeval tv;
	struct tm tm;

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	snprintf(buf, n, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (long)(tv.tv_usec / 1000));
}

void rg_log_json(const char *level, const char *event, json_t *fields)
{
	char ts[96];
	char *line;
	json_t *obj;

	timestamp(ts, sizeof(ts));
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
	char ts[96], head[160], num[64];
	rg_jbuf b = {0};
	int n;

	timestamp(ts, sizeof(ts));
	n = snprintf(head, sizeof(head),
		     "{\"ts\":\"%s\",\"level\":\"info\",\"event\":\"access\",\"method\":", ts);
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
