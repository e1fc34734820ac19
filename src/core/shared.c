/*
 * shared.c - replicas' shared state in Redis (see shared.h).
 */
#include <openssl/rand.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/log.h"
#include "base/redis.h"
#include "base/util.h"
#include "core/shared.h"

#define CHANNEL "rg:events"
#define HOLDS_TTL "604800" /* a week: bounds what a lost room_finished leaves */

struct rg_shared {
	rg_redis *redis;
	char origin[33];
	atomic_bool ready; /* connected, and what Redis may have lost is restored */
};

/* KEYS: holds, tat. ARGV: room, until, now, live_sessions, period (s), and
 * "1" to only report use. Returns {code, holds, wait, left}: code 0
 * reserved, 1 held already, 2 over live_sessions, 3 over sessions_per_hour,
 * 4 use only. */
static rg_redis_script reserve_lua = {.lua =
	"local holds, tatk = KEYS[1], KEYS[2]\n"
	"local room, untl, now = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])\n"
	"local live, period = tonumber(ARGV[4]), tonumber(ARGV[5])\n"
	"redis.call('ZREMRANGEBYSCORE', holds, '-inf', '(' .. now)\n"
	"local n = redis.call('ZCARD', holds)\n"
	"local tat = tonumber(redis.call('GET', tatk) or '0')\n"
	"if tat < now then tat = now end\n"
	"local function left(t)\n"
	"  if period <= 0 then return -1 end\n"
	"  return math.floor((3600 - (t - now)) / period + 1e-9)\n"
	"end\n"
	"if ARGV[6] == '1' then return {4, n, 0, left(tat)} end\n"
	"local cur = redis.call('ZSCORE', holds, room)\n"
	"if cur then\n"
	"  if cur ~= 'inf' and tonumber(cur) < untl then redis.call('ZADD', holds, untl, room) end\n"
	"  return {1, n, 0, left(tat)}\n"
	"end\n"
	"if live > 0 and n >= live then\n"
	"  local wait = 0\n"
	"  local first = redis.call('ZRANGE', holds, 0, 0, 'WITHSCORES')\n"
	"  if first[2] and first[2] ~= 'inf' then wait = math.floor(tonumber(first[2]) - now) + 1 end\n"
	"  return {2, n, wait, left(tat)}\n"
	"end\n"
	"if period > 0 and tat - now > 3600 - period then\n"
	"  return {3, n, math.floor(tat - (3600 - period) - now) + 1, 0}\n"
	"end\n"
	"redis.call('ZADD', holds, untl, room)\n"
	"redis.call('EXPIRE', holds, " HOLDS_TTL ")\n"
	"if period > 0 then\n"
	"  tat = tat + period\n"
	"  redis.call('SET', tatk, string.format('%.3f', tat), 'EX', 3700)\n"
	"end\n"
	"return {0, n + 1, 0, left(tat)}\n"};

/* KEYS: holds, tat. ARGV: room, period. */
static rg_redis_script unreserve_lua = {.lua =
	"if redis.call('ZREM', KEYS[1], ARGV[1]) == 1 and tonumber(ARGV[2]) > 0 then\n"
	"  local tat = tonumber(redis.call('GET', KEYS[2]) or '0')\n"
	"  if tat > 0 then\n"
	"    redis.call('SET', KEYS[2], string.format('%.3f', tat - tonumber(ARGV[2])), 'EX', 3700)\n"
	"  end\n"
	"end\n"
	"return 0\n"};

/* KEYS: holds. ARGV: room. A hold of a room now live lasts until it ends. */
static rg_redis_script live_lua = {.lua =
	"if redis.call('ZSCORE', KEYS[1], ARGV[1]) then\n"
	"  redis.call('ZADD', KEYS[1], 'XX', '+inf', ARGV[1])\n"
	"end\n"
	"return 0\n"};

/* KEYS: holders. Returns them and forgets them. */
static rg_redis_script take_holders_lua = {.lua =
	"local m = redis.call('SMEMBERS', KEYS[1])\n"
	"redis.call('DEL', KEYS[1])\n"
	"return m\n"};

rg_shared *rg_shared_new(const char *url, long timeout_ms, rg_error *err)
{
	rg_shared *s = calloc(1, sizeof(*s));
	unsigned char id[16];

	if (!s)
		return NULL;
	if (!(s->redis = rg_redis_new(url, timeout_ms, err)) || RAND_bytes(id, sizeof(id)) != 1) {
		rg_shared_free(s);
		return NULL;
	}
	for (size_t i = 0; i < sizeof(id); i++)
		snprintf(s->origin + 2 * i, 3, "%02x", id[i]);
	return s;
}

void rg_shared_free(rg_shared *s)
{
	if (!s)
		return;
	rg_redis_free(s->redis);
	free(s);
}

bool rg_shared_up(rg_shared *s)
{
	return rg_redis_up(s->redis);
}

rg_redis *rg_shared_redis(rg_shared *s)
{
	return s->redis;
}

void rg_shared_set_ready(rg_shared *s)
{
	atomic_store(&s->ready, true);
}

bool rg_shared_ping(rg_shared *s)
{
	const char *argv[] = {"PING"};
	redisReply *rep = rg_redis_cmd(s->redis, 1, argv, NULL);

	if (rep)
		freeReplyObject(rep);
	return rep != NULL;
}

const char *rg_shared_origin(rg_shared *s)
{
	return s->origin;
}

static char *key(const char *tag, const char *name, const char *suffix)
{
	char *k = NULL;

	if (asprintf(&k, "rg:{%s:%s}%s", tag, name, suffix) < 0)
		return NULL;
	return k;
}

static long long element(const redisReply *rep, size_t i)
{
	return rep && rep->type == REDIS_REPLY_ARRAY && i < rep->elements &&
			       rep->element[i]->type == REDIS_REPLY_INTEGER
		       ? rep->element[i]->integer
		       : 0;
}

static void period_text(const rg_limits *lim, char *buf, size_t n)
{
	snprintf(buf, n, "%.6f", lim->sessions_per_hour ? 3600.0 / (double)lim->sessions_per_hour : 0);
}

/* The reserve script with `only_use`; *rep is the caller's. */
static rg_err run_reserve(rg_shared *s, const char *room, const char *user, const rg_limits *lim,
			  time_t until, time_t now, bool only_use, redisReply **rep, rg_error *err)
{
	char *holds = key("u", user, ":holds"), *tat = key("u", user, ":tat");
	char u[24], t[24], live[24], period[32];
	const char *argv[8];
	rg_err rc = RG_OK;

	if (!holds || !tat) {
		rc = rg_fail(err, RG_ERR_NOMEM, NULL, "out of memory");
		goto out;
	}
	snprintf(u, sizeof(u), "%lld", (long long)until);
	snprintf(t, sizeof(t), "%lld", (long long)now);
	snprintf(live, sizeof(live), "%ld", lim->live_sessions);
	period_text(lim, period, sizeof(period));
	argv[0] = holds;
	argv[1] = tat;
	argv[2] = room;
	argv[3] = u;
	argv[4] = t;
	argv[5] = live;
	argv[6] = period;
	argv[7] = only_use ? "1" : "0";
	if (!(*rep = rg_redis_eval(s->redis, &reserve_lua, 2, 8, argv, err)))
		rc = RG_ERR_UNAVAILABLE;
	else if ((*rep)->type != REDIS_REPLY_ARRAY || (*rep)->elements != 4)
		rc = rg_fail(err, RG_ERR_UNAVAILABLE, "state_unavailable",
			     "shared state (Redis): an unexpected answer");
out:
	free(holds);
	free(tat);
	return rc;
}

static void fill_use(const redisReply *rep, const rg_limits *lim, rg_usage *use)
{
	long long left = element(rep, 3);

	if (!use)
		return;
	use->live_sessions = (long)element(rep, 1);
	use->sessions_left = !lim->sessions_per_hour ? -1
			     : left < 0		     ? 0
			     : left > lim->sessions_per_hour ? lim->sessions_per_hour
							     : (long)left;
}

rg_err rg_shared_reserve(rg_shared *s, const char *room, const char *user, const rg_limits *lim,
			 time_t until, time_t now, rg_reserve *out, long *retry_after,
			 rg_usage *use, rg_error *err)
{
	static const rg_reserve codes[] = {RG_RESERVED, RG_RESERVE_HELD, RG_OVER_LIVE, RG_OVER_RATE};
	redisReply *rep = NULL;
	long long code;
	rg_err rc;

	*retry_after = 0;
	if (!atomic_load(&s->ready))
		return rg_fail(err, RG_ERR_UNAVAILABLE, "state_unavailable",
			       "shared state (Redis) is unreachable or being restored");
	if ((rc = run_reserve(s, room, user, lim, until, now, false, &rep, err))) {
		if (rep)
			freeReplyObject(rep);
		return rc;
	}
	code = element(rep, 0);
	*out = code >= 0 && code <= 3 ? codes[code] : RG_RESERVE_NOMEM;
	*retry_after = (long)element(rep, 2);
	fill_use(rep, lim, use);
	freeReplyObject(rep);
	if (*out == RG_RESERVED) {
		/* who holds the room, so that its start and end reach the hold */
		char *holders = key("r", room, ":holders");
		const char *sadd[] = {"SADD", holders, user};
		const char *exp[] = {"EXPIRE", holders, HOLDS_TTL};
		if (!holders || !(rep = rg_redis_cmd(s->redis, 3, sadd, err))) {
			free(holders);
			rg_shared_unreserve(s, room, user, lim);
			return holders ? RG_ERR_UNAVAILABLE
				       : rg_fail(err, RG_ERR_NOMEM, NULL, "out of memory");
		}
		freeReplyObject(rep);
		if ((rep = rg_redis_cmd(s->redis, 3, exp, NULL)))
			freeReplyObject(rep);
		free(holders);
	}
	return RG_OK;
}

void rg_shared_unreserve(rg_shared *s, const char *room, const char *user, const rg_limits *lim)
{
	char *holds = key("u", user, ":holds"), *tat = key("u", user, ":tat");
	char period[32];
	const char *argv[4] = {holds, tat, room, period};
	redisReply *rep;

	period_text(lim, period, sizeof(period));
	if (holds && tat && (rep = rg_redis_eval(s->redis, &unreserve_lua, 2, 4, argv, NULL)))
		freeReplyObject(rep);
	free(holds);
	free(tat);
}

rg_err rg_shared_usage(rg_shared *s, const char *user, const rg_limits *lim, time_t now,
		       rg_usage *use, rg_error *err)
{
	redisReply *rep = NULL;
	rg_err rc = run_reserve(s, "", user, lim, now, now, true, &rep, err);

	if (!rc)
		fill_use(rep, lim, use);
	if (rep)
		freeReplyObject(rep);
	return rc;
}

/* Each holder of `room` (taking them when `take`). */
static redisReply *holders(rg_shared *s, const char *room, bool take)
{
	char *k = key("r", room, ":holders");
	const char *argv[] = {"SMEMBERS", k};
	redisReply *rep = NULL;

	if (k)
		rep = take ? rg_redis_eval(s->redis, &take_holders_lua, 1, 1, argv + 1, NULL)
			   : rg_redis_cmd(s->redis, 2, argv, NULL);
	free(k);
	if (rep && rep->type != REDIS_REPLY_ARRAY) {
		freeReplyObject(rep);
		rep = NULL;
	}
	return rep;
}

void rg_shared_room_live(rg_shared *s, const char *room)
{
	redisReply *who = holders(s, room, false), *rep;

	for (size_t i = 0; who && i < who->elements; i++) {
		char *holds = key("u", who->element[i]->str ? who->element[i]->str : "", ":holds");
		const char *argv[] = {holds, room};
		if (holds && (rep = rg_redis_eval(s->redis, &live_lua, 1, 2, argv, NULL)))
			freeReplyObject(rep);
		free(holds);
	}
	if (who)
		freeReplyObject(who);
}

void rg_shared_room_over(rg_shared *s, const char *room)
{
	redisReply *who = holders(s, room, true), *rep;

	for (size_t i = 0; who && i < who->elements; i++) {
		char *holds = key("u", who->element[i]->str ? who->element[i]->str : "", ":holds");
		const char *argv[] = {"ZREM", holds, room};
		if (holds && (rep = rg_redis_cmd(s->redis, 3, argv, NULL)))
			freeReplyObject(rep);
		free(holds);
	}
	if (who)
		freeReplyObject(who);
}

/* KEYS: holds. ARGV: room, score. */
static rg_redis_script reassert_lua = {.lua =
	"local n = redis.call('ZADD', KEYS[1], 'NX', ARGV[2], ARGV[1])\n"
	"redis.call('EXPIRE', KEYS[1], " HOLDS_TTL ")\n"
	"return n\n"};

long rg_shared_reassert(rg_shared *s, const json_t *claims)
{
	const json_t *c;
	long added = 0;
	size_t i;

	json_array_foreach(claims, i, c) {
		const char *room = rg_json_str(c, "room"), *owner = rg_json_str(c, "owner");
		char *holds = key("u", owner, ":holds"), *holders = key("r", room, ":holders");
		char score[24];
		const char *argv[] = {holds, room, score};
		const char *sadd[] = {"SADD", holders, owner};
		redisReply *rep;
		if (json_is_true(json_object_get(c, "live")))
			snprintf(score, sizeof(score), "+inf");
		else
			snprintf(score, sizeof(score), "%lld",
				 (long long)json_integer_value(json_object_get(c, "until")));
		if (holds && holders && (rep = rg_redis_eval(s->redis, &reassert_lua, 1, 3, argv, NULL))) {
			added += rep->type == REDIS_REPLY_INTEGER ? (long)rep->integer : 0;
			freeReplyObject(rep);
			if ((rep = rg_redis_cmd(s->redis, 3, sadd, NULL)))
				freeReplyObject(rep);
		}
		free(holds);
		free(holders);
	}
	return added;
}

int rg_shared_seen(rg_shared *s, const char *id, long ttl)
{
	char *k = key("e", id, "");
	char t[24];
	const char *argv[] = {"SET", k, "1", "NX", "EX", t};
	redisReply *rep;
	int seen;

	if (!k)
		return -1;
	snprintf(t, sizeof(t), "%ld", ttl);
	rep = rg_redis_cmd(s->redis, 6, argv, NULL);
	free(k);
	if (!rep)
		return -1;
	seen = rep->type == REDIS_REPLY_NIL;
	freeReplyObject(rep);
	return seen;
}

bool rg_shared_end_lock(rg_shared *s, const char *room)
{
	char *k = key("r", room, ":ending");
	const char *argv[] = {"SET", k, s->origin, "NX", "PX", "30000"};
	redisReply *rep = k ? rg_redis_cmd(s->redis, 6, argv, NULL) : NULL;
	bool mine = rep && rep->type == REDIS_REPLY_STATUS;

	free(k);
	if (rep)
		freeReplyObject(rep);
	return mine;
}

void rg_shared_publish(rg_shared *s, const char *kind, json_t *msg)
{
	char *text;
	const char *argv[3] = {"PUBLISH", CHANNEL, NULL};
	redisReply *rep;

	if (!msg)
		return;
	json_object_set_new(msg, "o", json_string(s->origin));
	json_object_set_new(msg, "t", json_string(kind));
	if ((text = json_dumps(msg, JSON_COMPACT))) {
		argv[2] = text;
		if ((rep = rg_redis_cmd(s->redis, 3, argv, NULL)))
			freeReplyObject(rep);
		free(text);
	}
	json_decref(msg);
}

static void deliver(rg_shared *s, redisReply *rep,
		    void (*fn)(void *arg, const char *kind, const json_t *msg), void *arg)
{
	json_t *msg;
	const char *origin, *kind;

	if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 3 || !rep->element[0]->str ||
	    strcmp(rep->element[0]->str, "message") || !rep->element[2]->str)
		return;
	if (!(msg = rg_json_load(rep->element[2]->str, rep->element[2]->len, 0, NULL)))
		return;
	origin = rg_json_str(msg, "o");
	kind = rg_json_str(msg, "t");
	if (kind && (!origin || strcmp(origin, s->origin)))
		fn(arg, kind, msg);
	json_decref(msg);
}

void rg_shared_listen(rg_shared *s, atomic_bool *stop,
		      void (*fn)(void *arg, const char *kind, const json_t *msg),
		      void (*on_connect)(void *arg), void *arg)
{
	bool failing = false;

	while (!atomic_load(stop)) {
		rg_error err = {0};
		redisContext *c = rg_redis_connect(s->redis, &err);
		redisReply *rep = NULL;

		if (c)
			rep = redisCommand(c, "SUBSCRIBE %s", CHANNEL);
		if (!rep) {
			if (!failing)
				rg_log_json("warn", "state_unavailable",
					    json_pack("{s:s}", "msg", err.message[0] ? err.message
										     : "Redis: SUBSCRIBE failed"));
			failing = true;
			if (c)
				redisFree(c);
			for (int i = 0; i < 10 && !atomic_load(stop); i++)
				poll(NULL, 0, 100);
			continue;
		}
		freeReplyObject(rep);
		if (failing)
			rg_log_json("info", "state_recovered", NULL);
		failing = false;
		if (on_connect)
			on_connect(arg);
		atomic_store(&s->ready, true);
		while (!atomic_load(stop) && !c->err) {
			void *r = NULL;
			struct pollfd p = {.fd = c->fd, .events = POLLIN};
			if (redisGetReplyFromReader(c, &r) != REDIS_OK)
				break;
			if (r) {
				deliver(s, r, fn, arg);
				freeReplyObject(r);
				continue;
			}
			if (poll(&p, 1, 200) > 0 && redisBufferRead(c) != REDIS_OK)
				break;
		}
		atomic_store(&s->ready, false);
		redisFree(c);
	}
}
