/*
 * limiter.c - counts failed logins per key (client address, user name)
 * in a fixed-size table: memory stays bounded whatever an attacker sends
 * (a colliding key evicts an older one), and a key that failed `max` times
 * within `window` seconds is refused until the window ends.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth/limiter.h"

#define SLOTS 4096

typedef struct slot {
	uint64_t key;
	unsigned count;
	time_t start;
} slot;

struct rg_limiter {
	pthread_mutex_t lock;
	long window;
	slot slots[SLOTS];
};

static uint64_t fnv1a(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h | 1; /* 0 marks an empty slot */
}

rg_limiter *rg_limiter_new(long window)
{
	rg_limiter *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	pthread_mutex_init(&l->lock, NULL);
	l->window = window;
	return l;
}

void rg_limiter_free(rg_limiter *l)
{
	if (!l)
		return;
	pthread_mutex_destroy(&l->lock);
	free(l);
}

long rg_limiter_blocked(rg_limiter *l, const char *key, time_t now, unsigned max)
{
	uint64_t h = fnv1a(key);
	slot *s = &l->slots[h % SLOTS];
	long wait = 0;

	pthread_mutex_lock(&l->lock);
	if (s->key == h && s->count >= max && now < s->start + l->window)
		wait = (long)(s->start + l->window - now);
	pthread_mutex_unlock(&l->lock);
	return wait;
}

void rg_limiter_fail(rg_limiter *l, const char *key, time_t now)
{
	uint64_t h = fnv1a(key);
	slot *s = &l->slots[h % SLOTS];

	pthread_mutex_lock(&l->lock);
	if (s->key != h || now >= s->start + l->window) {
		s->key = h;
		s->count = 0;
		s->start = now;
	}
	s->count++;
	pthread_mutex_unlock(&l->lock);
}
