/*
 * redis.h - a small Redis client for shared state (redis.c), over hiredis:
 * a pool of connections with bounded connect and command timeouts, Lua
 * scripts run by their SHA (loaded again after a Redis restart), a fast
 * failure while Redis is known to be down, and reconnection by itself.
 */
#ifndef RG_BASE_REDIS_H
#define RG_BASE_REDIS_H

#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <stddef.h>

#include "roomgate.h"

typedef struct rg_redis rg_redis;

/* A Lua script; its SHA1 is computed at first use. */
typedef struct rg_redis_script {
	const char *lua;
	char sha[41];
} rg_redis_script;

/* Checks a redis://[:password@]host[:port][/db] URL (host: a name, an IPv4
 * address or [IPv6]). */
rg_err rg_redis_url_check(const char *url, rg_error *err);
/* A client for `url`; `timeout_ms` bounds a connect and each command. Does
 * not connect yet. NULL if the URL is bad (err says why) or out of memory. */
rg_redis *rg_redis_new(const char *url, long timeout_ms, rg_error *err);
void rg_redis_free(rg_redis *r);

/* One command (argv, NUL-terminated strings). The reply is the caller's
 * (freeReplyObject); NULL when Redis is unreachable, slow or answers an
 * error: RG_ERR_UNAVAILABLE, code "state_unavailable". */
redisReply *rg_redis_cmd(rg_redis *r, int argc, const char **argv, rg_error *err);
/* EVALSHA of `s` with `nkeys` keys then the other arguments in argv. */
redisReply *rg_redis_eval(rg_redis *r, rg_redis_script *s, int nkeys, int argc,
			  const char **argv, rg_error *err);

/* A connection of its own for SUBSCRIBE (blocking reads with the timeout);
 * NULL if Redis cannot be reached. */
redisContext *rg_redis_connect(rg_redis *r, rg_error *err);

/* Whether the last command reached Redis. */
bool rg_redis_up(rg_redis *r);

#endif
