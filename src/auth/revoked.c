/*
 * revoked.c - the session tokens ended by POST /v1/logout, by id (the
 * token's jti), each kept until the token expires: after that its exp check
 * refuses it anyway. One table per process, shared by every config (a
 * reload keeps the ended sessions ended); with replicas each process knows
 * only its own logouts until shared state (Redis) holds them.
 *
 * Memory is bounded: the session TTL bounds how long an id stays, and
 * RG_REVOKED_MAX how many stay at once. At the cap a new logout is refused
 * (the caller answers 503 with Retry-After), never silently forgotten.
 *
 * An open-addressing table (linear probing, at most half full) under one
 * mutex; ids are never removed one by one: when the table reaches half, it
 * is rebuilt without the expired ids, at a size for what is left. A request
 * checks the table only when it holds something (an atomic count).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth/revoked.h"

struct entry {
	time_t until; /* 0: empty */
	char id[RG_REVOKED_ID_MAX + 1];
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct entry *table;
static size_t size, used; /* size: a power of two or 0 */
static atomic_size_t nused;
static size_t cap = RG_REVOKED_MAX;
static time_t full_until; /* at the cap: no id expires before this */

static size_t hash(const char *id)
{
	uint64_t h = 14695981039346656037u;

	for (; *id; id++)
		h = (h ^ (unsigned char)*id) * 1099511628211u;
	return (size_t)h;
}

/* The entry holding id, or the empty one where it would go. */
static struct entry *find(struct entry *t, size_t n, const char *id)
{
	for (size_t i = hash(id) & (n - 1);; i = (i + 1) & (n - 1))
		if (!t[i].until || !strcmp(t[i].id, id))
			return &t[i];
}

/* Makes room for one more id: a new table without the expired ones. */
static rg_err rebuild(time_t now, long *retry_after)
{
	size_t live = 0, n = 1024;
	time_t first = 0;
	struct entry *t;

	if (now < full_until) {
		*retry_after = (long)(full_until - now);
		return RG_ERR_UNAVAILABLE;
	}
	for (size_t i = 0; i < size; i++)
		if (table[i].until >= now) {
			live++;
			if (!first || table[i].until < first)
				first = table[i].until;
		}
	if (live >= cap) {
		full_until = first + 1;
		*retry_after = (long)(full_until - now);
		return RG_ERR_UNAVAILABLE;
	}
	while (n < 3 * (live + 1))
		n *= 2;
	if (!(t = calloc(n, sizeof(*t))))
		return RG_ERR_NOMEM;
	for (size_t i = 0; i < size; i++)
		if (table[i].until >= now)
			*find(t, n, table[i].id) = table[i];
	free(table);
	table = t;
	size = n;
	used = live;
	atomic_store(&nused, used);
	return RG_OK;
}

rg_err rg_revoked_add(const char *id, time_t until, time_t now, long *retry_after)
{
	struct entry *e;
	rg_err rc = RG_OK;

	*retry_after = 0;
	if (!*id || strlen(id) > RG_REVOKED_ID_MAX)
		return RG_ERR_INVALID;
	pthread_mutex_lock(&mu);
	if (table && (e = find(table, size, id))->until) {
		if (e->until < until)
			e->until = until;
		goto out;
	}
	if (((used + 1) * 2 > size || used >= cap) && (rc = rebuild(now, retry_after)))
		goto out;
	e = find(table, size, id);
	memcpy(e->id, id, strlen(id) + 1);
	e->until = until;
	used++;
	atomic_store(&nused, used);
out:
	pthread_mutex_unlock(&mu);
	return rc;
}

bool rg_revoked_has(const char *id, time_t now)
{
	bool found = false;

	if (!atomic_load_explicit(&nused, memory_order_acquire) || strlen(id) > RG_REVOKED_ID_MAX)
		return false;
	pthread_mutex_lock(&mu);
	if (table) {
		const struct entry *e = find(table, size, id);
		found = e->until && e->until >= now;
	}
	pthread_mutex_unlock(&mu);
	return found;
}

void rg_revoked_reset(size_t max)
{
	pthread_mutex_lock(&mu);
	free(table);
	table = NULL;
	size = used = 0;
	atomic_store(&nused, 0);
	full_until = 0;
	cap = max ? max : RG_REVOKED_MAX;
	pthread_mutex_unlock(&mu);
}
