/*
 * test_limiter.c - the failed-login limiter (auth/limiter.c): exact counts
 * per key, a flood of distinct keys neither evicts nor resets a failing
 * key, memory stays bounded, and reserving is one atomic step.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>

#include "auth/limiter.h"
#include "check.h"

static void exact_counts(void)
{
	rg_limiter *l = rg_limiter_new(300, 1024);
	time_t now = 1000;

	for (unsigned i = 0; i < 10; i++)
		CHECK(rg_limiter_reserve(l, "a:198.51.100.1", now, 10) == 0);
	CHECK(rg_limiter_attempts(l, "a:198.51.100.1", now) == 10);
	CHECK(rg_limiter_reserve(l, "a:198.51.100.1", now + 10, 10) == 290);
	CHECK(rg_limiter_attempts(l, "a:198.51.100.1", now) == 10); /* a refusal counts nothing */
	/* other keys, however alike, have counts of their own */
	CHECK(rg_limiter_attempts(l, "a:198.51.100.10", now) == 0);
	CHECK(rg_limiter_reserve(l, "u:198.51.100.1", now, 10) == 0);
	CHECK(rg_limiter_attempts(l, "u:198.51.100.1", now) == 1);
	/* a success gives its attempt back */
	rg_limiter_release(l, "u:198.51.100.1", now);
	CHECK(rg_limiter_attempts(l, "u:198.51.100.1", now) == 0);
	/* the window ends */
	CHECK(rg_limiter_reserve(l, "a:198.51.100.1", now + 300, 10) == 0);
	CHECK(rg_limiter_attempts(l, "a:198.51.100.1", now + 300) == 1);
	rg_limiter_free(l);
}

static void flood(void)
{
	rg_limiter *l = rg_limiter_new(300, 4096);
	time_t now = 5000;
	char key[64];
	unsigned refused = 0;

	for (unsigned i = 0; i < 10; i++)
		rg_limiter_reserve(l, "a:203.0.113.9", now, 10);
	for (unsigned i = 0; i < 5; i++)
		rg_limiter_reserve(l, "u:alice", now, 20);
	for (unsigned i = 0; i < 100000; i++) {
		snprintf(key, sizeof(key), "u:flood-%u", i);
		rg_limiter_reserve(l, key, now + 1, 20);
		CHECK(rg_limiter_size(l) <= 4096);
	}
	CHECK(rg_limiter_size(l) == 4096);
	CHECK(rg_limiter_reserve(l, "a:203.0.113.9", now + 2, 10) == 298);
	CHECK(rg_limiter_attempts(l, "a:203.0.113.9", now + 2) == 10);
	CHECK(rg_limiter_attempts(l, "u:alice", now + 2) == 5);
	/* a table of blocked keys only refuses new keys rather than forget them */
	rg_limiter_free(l);
	l = rg_limiter_new(300, 64);
	for (unsigned i = 0; i < 64; i++) {
		snprintf(key, sizeof(key), "a:10.0.0.%u", i);
		for (unsigned j = 0; j < 3; j++)
			rg_limiter_reserve(l, key, now, 3);
	}
	for (unsigned i = 0; i < 1000; i++) {
		snprintf(key, sizeof(key), "u:new-%u", i);
		refused += rg_limiter_reserve(l, key, now + 1, 3) > 0;
	}
	CHECK(refused == 1000);
	CHECK(rg_limiter_attempts(l, "a:10.0.0.7", now + 1) == 3);
	/* once their windows end they make room */
	CHECK(rg_limiter_reserve(l, "u:later", now + 300, 3) == 0);
	rg_limiter_free(l);
}

#define THREADS 8
#define TRIES 2000
static rg_limiter *shared;
static atomic_uint granted;

static void *racer(void *arg)
{
	(void)arg;
	for (unsigned i = 0; i < TRIES; i++)
		if (!rg_limiter_reserve(shared, "a:192.0.2.1", 100, 10))
			atomic_fetch_add(&granted, 1);
	return NULL;
}

static void atomic_reserve(void)
{
	pthread_t t[THREADS];

	shared = rg_limiter_new(300, 1024);
	for (int i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, racer, NULL);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	CHECK(atomic_load(&granted) == 10);
	rg_limiter_free(shared);
}

int main(void)
{
	exact_counts();
	flood();
	atomic_reserve();
	CHECK_DONE();
}
