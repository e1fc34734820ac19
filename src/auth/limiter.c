/*
 * limiter.c - failed-login budgets per key (a client address, a user name,
 * a device), exact per key and bounded in memory.
 *
 * Each key is stored whole in a chained hash table whose hash is SipHash-2-4
 * under a random per-process key, so no one can choose keys that share a
 * chain, and two keys never share a count. A key may try `max` times per
 * window (fixed, from its first attempt): rg_limiter_reserve checks and
 * counts in one step under the lock, before the password is checked, and a
 * success gives its attempt back (rg_limiter_release).
 *
 * At most `capacity` keys are held. Entries sit on one of three lists by how
 * much they failed: probation (one attempt), repeat (two or more) and
 * blocked (max reached). A new key in a full table takes the place of the
 * least recently used probation entry, else of the least recently used
 * repeat entry, else of a blocked one whose window has ended: a flood of
 * distinct keys evicts its own kind first and never a key that is blocked.
 * When every entry is blocked and none has expired, a new key is refused (as
 * if blocked until the earliest block ends): filling the table with blocked
 * keys takes `capacity * max` password checks within one window.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "auth/limiter.h"
#include "base/hash.h"
#include "base/redis.h"

enum { PROBATION, REPEAT, BLOCKED, NLISTS };

typedef struct entry {
	struct entry *chain;      /* next in the hash bucket */
	struct entry *prev, *next; /* in its list, most recent first */
	char *key;
	uint64_t hash;
	time_t start; /* first attempt of the window */
	unsigned count, max;
	int list;
} entry;

struct rg_limiter {
	pthread_mutex_t lock;
	long window;
	size_t capacity, used, nbuckets;
	rg_hash_key key;
	entry **buckets;
	entry *lists[NLISTS][2]; /* head (newest), tail (oldest) */
};

rg_limiter *rg_limiter_new(long window, size_t capacity)
{
	rg_limiter *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	l->window = window;
	l->capacity = capacity ? capacity : RG_LOGIN_KEYS;
	for (l->nbuckets = 64; l->nbuckets < l->capacity; l->nbuckets *= 2)
		;
	if (rg_hash_key_new(&l->key) ||
	    !(l->buckets = calloc(l->nbuckets, sizeof(*l->buckets)))) {
		free(l);
		return NULL;
	}
	pthread_mutex_init(&l->lock, NULL);
	return l;
}

static void unlink_list(rg_limiter *l, entry *e)
{
	entry **ends = l->lists[e->list];

	if (e->prev)
		e->prev->next = e->next;
	else
		ends[0] = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		ends[1] = e->prev;
	e->prev = e->next = NULL;
}

/* Puts e at the head of the list its count says. */
static void place(rg_limiter *l, entry *e)
{
	entry **ends;

	unlink_list(l, e);
	e->list = e->count >= e->max ? BLOCKED : e->count >= 2 ? REPEAT : PROBATION;
	ends = l->lists[e->list];
	e->next = ends[0];
	if (ends[0])
		ends[0]->prev = e;
	ends[0] = e;
	if (!ends[1])
		ends[1] = e;
}

static void drop(rg_limiter *l, entry *e)
{
	entry **p = &l->buckets[e->hash & (l->nbuckets - 1)];

	while (*p != e)
		p = &(*p)->chain;
	*p = e->chain;
	unlink_list(l, e);
	free(e->key);
	free(e);
	l->used--;
}

static bool expired(const rg_limiter *l, const entry *e, time_t now)
{
	return now >= e->start + l->window;
}

/* The oldest blocked entry whose window has ended, if any. */
static entry *expired_blocked(rg_limiter *l, time_t now)
{
	for (entry *e = l->lists[BLOCKED][1]; e; e = e->prev)
		if (expired(l, e, now))
			return e;
	return NULL;
}

/* Makes room for one more entry; 0 if it did, else seconds until it can. */
static long make_room(rg_limiter *l, time_t now)
{
	entry *victim;
	long wait = l->window;

	if (l->used < l->capacity)
		return 0;
	victim = l->lists[PROBATION][1] ? l->lists[PROBATION][1]
	       : l->lists[REPEAT][1]   ? l->lists[REPEAT][1]
				       : expired_blocked(l, now);
	if (victim) {
		drop(l, victim);
		return 0;
	}
	for (entry *e = l->lists[BLOCKED][0]; e; e = e->next)
		if (e->start + l->window - now < wait)
			wait = (long)(e->start + l->window - now);
	return wait > 0 ? wait : 1;
}

static entry *find(rg_limiter *l, const char *key, uint64_t h)
{
	for (entry *e = l->buckets[h & (l->nbuckets - 1)]; e; e = e->chain)
		if (e->hash == h && !strcmp(e->key, key))
			return e;
	return NULL;
}

static entry *add(rg_limiter *l, const char *key, uint64_t h, time_t now)
{
	entry *e = calloc(1, sizeof(*e));
	entry **b = &l->buckets[h & (l->nbuckets - 1)];

	if (!e || !(e->key = strdup(key))) {
		free(e);
		return NULL;
	}
	e->hash = h;
	e->start = now;
	e->list = PROBATION;
	e->chain = *b;
	*b = e;
	l->used++;
	return e;
}

long rg_limiter_reserve(rg_limiter *l, const char *key, time_t now, unsigned max)
{
	uint64_t h = rg_siphash(&l->key, key, strlen(key));
	entry *e;
	long wait = 0;

	pthread_mutex_lock(&l->lock);
	if (!(e = find(l, key, h))) {
		if ((wait = make_room(l, now)))
			goto out;
		if (!(e = add(l, key, h, now))) {
			wait = 1; /* out of memory: refuse rather than not count */
			goto out;
		}
	} else if (expired(l, e, now)) {
		e->start = now;
		e->count = 0;
	}
	e->max = max;
	if (e->count >= max)
		wait = (long)(e->start + l->window - now);
	else
		e->count++;
	place(l, e);
out:
	pthread_mutex_unlock(&l->lock);
	return wait;
}

void rg_limiter_release(rg_limiter *l, const char *key, time_t now)
{
	uint64_t h = rg_siphash(&l->key, key, strlen(key));
	entry *e;

	pthread_mutex_lock(&l->lock);
	if ((e = find(l, key, h)) && !expired(l, e, now) && e->count) {
		e->count--;
		if (!e->count)
			drop(l, e);
		else
			place(l, e);
	}
	pthread_mutex_unlock(&l->lock);
}

unsigned rg_limiter_attempts(rg_limiter *l, const char *key, time_t now)
{
	uint64_t h = rg_siphash(&l->key, key, strlen(key));
	unsigned n = 0;
	entry *e;

	pthread_mutex_lock(&l->lock);
	if ((e = find(l, key, h)) && !expired(l, e, now))
		n = e->count;
	pthread_mutex_unlock(&l->lock);
	return n;
}

size_t rg_limiter_size(rg_limiter *l)
{
	size_t n;

	pthread_mutex_lock(&l->lock);
	n = l->used;
	pthread_mutex_unlock(&l->lock);
	return n;
}

void rg_limiter_free(rg_limiter *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->nbuckets; i++)
		while (l->buckets[i]) {
			entry *e = l->buckets[i];
			l->buckets[i] = e->chain;
			free(e->key);
			free(e);
		}
	free(l->buckets);
	OPENSSL_cleanse(&l->key, sizeof(l->key));
	pthread_mutex_destroy(&l->lock);
	free(l);
}

/* ------------------------------------------------------------------ shared */

/* KEYS: the budget. ARGV: max, window. */
static rg_redis_script reserve_lua = {.lua =
	"local n = tonumber(redis.call('GET', KEYS[1]) or '0')\n"
	"if n >= tonumber(ARGV[1]) then\n"
	"  local t = redis.call('TTL', KEYS[1])\n"
	"  if t < 1 then t = 1 end\n"
	"  return t\n"
	"end\n"
	"redis.call('INCR', KEYS[1])\n"
	"if n == 0 then redis.call('EXPIRE', KEYS[1], ARGV[2]) end\n"
	"return 0\n"};
static rg_redis_script release_lua = {.lua =
	"if tonumber(redis.call('GET', KEYS[1]) or '0') > 0 then redis.call('DECR', KEYS[1]) end\n"
	"return 0\n"};

static char *shared_key(const char *key)
{
	char *k = NULL;

	return asprintf(&k, "rg:{l:%s}", key) < 0 ? NULL : k;
}

long rg_limiter_reserve_shared(rg_redis *redis, const char *key, unsigned max, long window)
{
	char *k = shared_key(key), m[16], w[24];
	const char *argv[3] = {k, m, w};
	redisReply *rep;
	long wait = -1;

	if (!k)
		return -1;
	snprintf(m, sizeof(m), "%u", max);
	snprintf(w, sizeof(w), "%ld", window);
	if ((rep = rg_redis_eval(redis, &reserve_lua, 1, 3, argv, NULL))) {
		if (rep->type == REDIS_REPLY_INTEGER)
			wait = (long)rep->integer;
		freeReplyObject(rep);
	}
	free(k);
	return wait;
}

void rg_limiter_release_shared(rg_redis *redis, const char *key)
{
	char *k = shared_key(key);
	const char *argv[1] = {k};
	redisReply *rep;

	if (k && (rep = rg_redis_eval(redis, &release_lua, 1, 1, argv, NULL)))
		freeReplyObject(rep);
	free(k);
}
