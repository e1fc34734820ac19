/*
 * redis.c - shared state's connection to Redis (see redis.h).
 *
 * Request threads take a connection from a small pool and give it back;
 * a connection that failed is dropped and the next request connects anew.
 * While Redis is known to be down (a failed connect or a timeout in the last
 * half second), commands fail at once instead of each waiting for the
 * timeout: a Redis outage costs a request at most one timeout, then nothing.
 */
#include <openssl/sha.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/error.h"
#include "base/redis.h"
#include "base/util.h"

#define POOL_MAX 32
#define DOWN_MS 500 /* how long a failure makes commands fail fast */

struct rg_redis {
	char *host, *user, *password;
	int port, db;
	long timeout_ms;
	pthread_mutex_t lock;
	redisContext *idle[POOL_MAX];
	int n_idle;
	atomic_llong down_until; /* monotonic ms */
	atomic_bool up;
	pthread_mutex_t sha_lock;
};

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static rg_err bad_url(rg_error *err, const char *why)
{
	return rg_fail(err, RG_ERR_CONFIG, "invalid_config",
		       "state.redis_url: %s (redis://[:password@]host[:port][/db])", why);
}

/* Splits the URL; fills r when not NULL. */
static rg_err parse(const char *url, rg_redis *r, rg_error *err)
{
	const char *p, *at, *hs, *he, *slash;
	char *end;
	long port = 6379, db = 0;

	if (!url || strncmp(url, "redis://", 8))
		return bad_url(err, "must start with redis://");
	p = url + 8;
	slash = strchr(p, '/');
	at = memchr(p, '@', slash ? (size_t)(slash - p) : strlen(p));
	hs = at ? at + 1 : p;
	if (*hs == '[') {
		if (!(he = strchr(hs, ']')))
			return bad_url(err, "unclosed [");
		hs++;
	} else {
		he = hs + strcspn(hs, ":/");
	}
	if (he == hs)
		return bad_url(err, "no host");
	p = he + (*he == ']');
	if (*p == ':') {
		port = strtol(p + 1, &end, 10);
		if (end == p + 1 || port < 1 || port > 65535)
			return bad_url(err, "bad port");
		p = end;
	}
	if (*p == '/' && p[1]) {
		db = strtol(p + 1, &end, 10);
		if (end == p + 1 || *end || db < 0 || db > 15)
			return bad_url(err, "bad database number");
	} else if (*p && strcmp(p, "/")) {
		return bad_url(err, "unexpected text after the host");
	}
	if (!r)
		return RG_OK;
	r->host = strndup(hs, (size_t)(he - hs));
	r->port = (int)port;
	r->db = (int)db;
	if (at) {
		const char *colon = memchr(url + 8, ':', (size_t)(at - (url + 8)));
		if (colon) {
			if (colon > url + 8)
				r->user = strndup(url + 8, (size_t)(colon - (url + 8)));
			r->password = strndup(colon + 1, (size_t)(at - colon - 1));
		} else {
			r->password = strndup(url + 8, (size_t)(at - (url + 8)));
		}
	}
	return r->host ? RG_OK : RG_ERR_NOMEM;
}

rg_err rg_redis_url_check(const char *url, rg_error *err)
{
	return parse(url, NULL, err);
}

rg_redis *rg_redis_new(const char *url, long timeout_ms, rg_error *err)
{
	rg_redis *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	if (parse(url, r, err)) {
		rg_redis_free(r);
		return NULL;
	}
	r->timeout_ms = timeout_ms > 0 ? timeout_ms : 500;
	pthread_mutex_init(&r->lock, NULL);
	pthread_mutex_init(&r->sha_lock, NULL);
	return r;
}

void rg_redis_free(rg_redis *r)
{
	if (!r)
		return;
	for (int i = 0; i < r->n_idle; i++)
		redisFree(r->idle[i]);
	free(r->host);
	free(r->user);
	free(r->password);
	pthread_mutex_destroy(&r->lock);
	pthread_mutex_destroy(&r->sha_lock);
	free(r);
}

bool rg_redis_up(rg_redis *r)
{
	return atomic_load(&r->up);
}

static rg_err unavailable(rg_redis *r, rg_error *err, const char *why)
{
	atomic_store(&r->down_until, now_ms() + DOWN_MS);
	atomic_store(&r->up, false);
	return rg_fail(err, RG_ERR_UNAVAILABLE, "state_unavailable", "shared state (Redis) %s",
		       why);
}

/* A reply that is an error is a failure of its own (a script bug, a full
 * Redis, a replica that is read-only). */
static bool reply_ok(redisReply *rep, rg_error *err)
{
	if (rep && rep->type == REDIS_REPLY_ERROR) {
		rg_fail(err, RG_ERR_UNAVAILABLE, "state_unavailable", "shared state (Redis): %.200s",
			rep->str);
		return false;
	}
	return rep != NULL;
}

redisContext *rg_redis_connect(rg_redis *r, rg_error *err)
{
	struct timeval tv = {r->timeout_ms / 1000, (r->timeout_ms % 1000) * 1000};
	redisContext *c = redisConnectWithTimeout(r->host, r->port, tv);
	redisReply *rep = NULL;

	if (!c || c->err || redisSetTimeout(c, tv) != REDIS_OK) {
		if (c)
			redisFree(c);
		unavailable(r, err, "is unreachable");
		return NULL;
	}
	if (r->password) {
		rep = r->user ? redisCommand(c, "AUTH %s %s", r->user, r->password)
			      : redisCommand(c, "AUTH %s", r->password);
		if (!reply_ok(rep, err))
			goto fail;
		freeReplyObject(rep);
	}
	if (r->db) {
		rep = redisCommand(c, "SELECT %d", r->db);
		if (!reply_ok(rep, err))
			goto fail;
		freeReplyObject(rep);
	}
	return c;
fail:
	if (rep)
		freeReplyObject(rep);
	else
		unavailable(r, err, "is unreachable");
	redisFree(c);
	return NULL;
}

/* A pooled connection (*reused) or a new one. */
static redisContext *take(rg_redis *r, bool *reused, rg_error *err)
{
	redisContext *c = NULL;

	pthread_mutex_lock(&r->lock);
	if (r->n_idle)
		c = r->idle[--r->n_idle];
	pthread_mutex_unlock(&r->lock);
	*reused = c != NULL;
	if (c)
		return c;
	if (now_ms() < atomic_load(&r->down_until)) {
		rg_fail(err, RG_ERR_UNAVAILABLE, "state_unavailable",
			"shared state (Redis) is unreachable");
		return NULL;
	}
	return rg_redis_connect(r, err);
}

static void give(rg_redis *r, redisContext *c)
{
	if (c->err) {
		redisFree(c);
		return;
	}
	pthread_mutex_lock(&r->lock);
	if (r->n_idle < POOL_MAX) {
		r->idle[r->n_idle++] = c;
		c = NULL;
	}
	pthread_mutex_unlock(&r->lock);
	if (c)
		redisFree(c);
}

/* A read that hit the timeout (hiredis: EAGAIN), not a closed connection. */
static bool timed_out(const redisContext *c)
{
	return c->err == REDIS_ERR_IO && strstr(c->errstr, "temporarily unavailable");
}

/* Every pooled connection: after one failed, the others are as old. */
static void drain(rg_redis *r)
{
	pthread_mutex_lock(&r->lock);
	while (r->n_idle)
		redisFree(r->idle[--r->n_idle]);
	pthread_mutex_unlock(&r->lock);
}

redisReply *rg_redis_cmd(rg_redis *r, int argc, const char **argv, rg_error *err)
{
	bool reused;
	redisContext *c = take(r, &reused, err);
	redisReply *rep;

	if (!c)
		return NULL;
	rep = redisCommandArgv(c, argc, argv, NULL);
	if (!rep && reused && !timed_out(c)) {
		/* a connection from before a Redis restart: once more, anew */
		redisFree(c);
		drain(r);
		if (!(c = take(r, &reused, err)))
			return NULL;
		rep = redisCommandArgv(c, argc, argv, NULL);
	}
	if (!rep) {
		unavailable(r, err, timed_out(c) ? "did not answer in time" : "closed the connection");
		c->err = c->err ? c->err : REDIS_ERR_IO;
		give(r, c);
		return NULL;
	}
	give(r, c);
	atomic_store(&r->up, true);
	if (!reply_ok(rep, err)) {
		freeReplyObject(rep);
		return NULL;
	}
	return rep;
}

static void script_sha(rg_redis *r, rg_redis_script *s)
{
	unsigned char md[SHA_DIGEST_LENGTH];

	pthread_mutex_lock(&r->sha_lock);
	if (!s->sha[0]) {
		SHA1((const unsigned char *)s->lua, strlen(s->lua), md);
		for (int i = 0; i < SHA_DIGEST_LENGTH; i++)
			snprintf(s->sha + 2 * i, 3, "%02x", md[i]);
	}
	pthread_mutex_unlock(&r->sha_lock);
}

redisReply *rg_redis_eval(rg_redis *r, rg_redis_script *s, int nkeys, int argc,
			  const char **argv, rg_error *err)
{
	const char *args[32];
	char n[16];
	redisReply *rep;
	rg_error e = {0};

	if (argc + 3 > (int)(sizeof(args) / sizeof(args[0]))) {
		rg_fail(err, RG_ERR_INTERNAL, NULL, "too many script arguments");
		return NULL;
	}
	script_sha(r, s);
	snprintf(n, sizeof(n), "%d", nkeys);
	args[0] = "EVALSHA";
	args[1] = s->sha;
	args[2] = n;
	memcpy(args + 3, argv, (size_t)argc * sizeof(*argv));
	rep = rg_redis_cmd(r, argc + 3, args, &e);
	if (!rep && e.err == RG_ERR_UNAVAILABLE && strstr(e.message, "NOSCRIPT")) {
		args[0] = "EVAL"; /* a new or restarted Redis: EVAL loads it */
		args[1] = s->lua;
		rep = rg_redis_cmd(r, argc + 3, args, &e);
	}
	if (!rep && err)
		*err = e;
	return rep;
}
