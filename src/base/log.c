/*
 * log.c - structured logs: one JSON object per line on stderr.
 *
 * Callers pass only fields that are safe to log; secrets, passwords and
 * tokens never reach this file.
 *
 * Access log lines (one per request) go through a queue: the request thread
 * copies its line into a buffer and a writer thread writes what has queued
 * up in one write(2), so that requests neither make a system call nor
 * contend on stderr's lock for it (tests/bench: about a fifth of a /token
 * request's CPU time was its access log write). An idle writer is woken at
 * once, so a lone line is written right away; under load the writer waits
 * WRITER_NAP after each write and lines batch up. A full queue makes the
 * request thread wait for room (no line is dropped). Every other log line
 * is written synchronously, after whatever access lines are queued, so the
 * order of lines is the order of events; rg_log_flush() (also at exit)
 * writes what is queued.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "base/jsonw.h"
#include "base/log.h"

#define QUEUE_CAP (64 * 1024)
#define WRITER_NAP_NS (1000 * 1000)

static struct {
	pthread_mutex_t mu;   /* buf, len, writer_idle, started */
	pthread_mutex_t out;  /* fd 2: taken before mu, held while writing */
	pthread_cond_t wake;  /* the writer: there is something to write */
	pthread_cond_t room;  /* request threads: the queue was emptied */
	char buf[QUEUE_CAP], spare[QUEUE_CAP];
	size_t len;
	bool writer_idle, started;
} q = {
	.mu = PTHREAD_MUTEX_INITIALIZER,
	.out = PTHREAD_MUTEX_INITIALIZER,
	.wake = PTHREAD_COND_INITIALIZER,
	.room = PTHREAD_COND_INITIALIZER,
};

static void write_all(const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(STDERR_FILENO, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return; /* stderr is gone: nowhere to say so */
		p += w;
		n -= (size_t)w;
	}
}

/* Writes the queue, then `line` (and a newline if asked), now. */
static void write_now(const char *line, size_t n, bool newline)
{
	pthread_mutex_lock(&q.out);
	pthread_mutex_lock(&q.mu);
	write_all(q.buf, q.len);
	q.len = 0;
	pthread_cond_broadcast(&q.room);
	pthread_mutex_unlock(&q.mu);
	write_all(line, n);
	if (newline)
		write_all("\n", 1);
	pthread_mutex_unlock(&q.out);
}

void rg_log_flush(void)
{
	write_now("", 0, false);
}

static void *writer(void *arg)
{
	struct timespec nap = {0, WRITER_NAP_NS};
	size_t n;

	(void)arg;
	for (;;) {
		pthread_mutex_lock(&q.mu);
		while (!q.len) {
			q.writer_idle = true;
			pthread_cond_wait(&q.wake, &q.mu);
		}
		q.writer_idle = false;
		pthread_mutex_unlock(&q.mu);

		/* out before mu, as everywhere: a synchronous line cannot
		 * overtake the batch taken here */
		pthread_mutex_lock(&q.out);
		pthread_mutex_lock(&q.mu);
		n = q.len;
		memcpy(q.spare, q.buf, n);
		q.len = 0;
		pthread_cond_broadcast(&q.room);
		pthread_mutex_unlock(&q.mu);
		write_all(q.spare, n);
		pthread_mutex_unlock(&q.out);
		nanosleep(&nap, NULL);
	}
	return NULL;
}

/* Starts the writer once; false if it cannot run (then lines are written
 * synchronously). Called with q.mu held. */
static bool writer_running(void)
{
	static bool failed;
	pthread_attr_t attr;
	pthread_t t;
	sigset_t all, old;

	if (q.started || failed)
		return q.started;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	/* no signal is ever delivered to the writer */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	q.started = pthread_create(&t, &attr, writer, NULL) == 0;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	if (q.started)
		atexit(rg_log_flush);
	else
		failed = true;
	return q.started;
}

/* Queues one line (or writes it now when it is too long for the queue or
 * no writer runs). */
static void enqueue(const char *line, size_t n)
{
	pthread_mutex_lock(&q.mu);
	if (n > QUEUE_CAP / 4 || !writer_running()) {
		pthread_mutex_unlock(&q.mu);
		write_now(line, n, false);
		return;
	}
	while (q.len + n > QUEUE_CAP)
		pthread_cond_wait(&q.room, &q.mu);
	memcpy(q.buf + q.len, line, n);
	q.len += n;
	if (q.writer_idle) {
		q.writer_idle = false;
		pthread_cond_signal(&q.wake);
	}
	pthread_mutex_unlock(&q.mu);
}

/* v (0 to 999) as three digits, zero-padded ("%03d") */
static void three_digits(char *out, long v)
{
	out[0] = (char)('0' + v / 100);
	out[1] = (char)('0' + v / 10 % 10);
	out[2] = (char)('0' + v % 10);
}

/* "2026-11-23T10:17:26.528Z": UTC, milliseconds; the part up to the
 * seconds is formatted once a second per thread. */
static void timestamp(char *buf, size_t n)
{
	static _Thread_local time_t last = -1;
	static _Thread_local char secs[64];
	struct timeval tv;
	struct tm tm;
	size_t len;

	gettimeofday(&tv, NULL);
	if (tv.tv_sec != last) {
		gmtime_r(&tv.tv_sec, &tm);
		snprintf(secs, sizeof(secs), "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900,
			 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
		last = tv.tv_sec;
	}
	/* "%s.%03dZ", by hand: this runs for every access line */
	if ((len = strlen(secs)) + 6 > n) {
		buf[0] = '\0';
		return;
	}
	memcpy(buf, secs, len);
	buf[len++] = '.';
	three_digits(buf + len, (long)(tv.tv_usec / 1000));
	len += 3;
	buf[len++] = 'Z';
	buf[len] = '\0';
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
	write_now(line, strlen(line), true);
	free(line);
}

void rg_log_access(const char *method, const char *path, int status, double ms,
		   const char *remote, const char *user)
{
	char ts[96], frac[3], text[1024];
	rg_jbuf b;
	long us = ms > 0 ? (long)(ms * 1000 + 0.5) : 0;

	rg_jbuf_on(&b, text, sizeof(text));
	timestamp(ts, sizeof(ts));
	/* ms with three decimals ("%ld.%03ld"), written by hand as the rest */
	three_digits(frac, us % 1000);
	if (rg_jbuf_put(&b, "{\"ts\":\"", 7) && rg_jbuf_put(&b, ts, strlen(ts)) &&
	    rg_jbuf_put(&b, "\",\"level\":\"info\",\"event\":\"access\"", 33) &&
	    rg_jbuf_member(&b, ",\"method\":", method ? method : "") &&
	    rg_jbuf_member(&b, ",\"path\":", path ? path : "") &&
	    rg_jbuf_put(&b, ",\"status\":", 10) && rg_jbuf_int(&b, status) &&
	    rg_jbuf_put(&b, ",\"ms\":", 6) && rg_jbuf_int(&b, us / 1000) && rg_jbuf_put(&b, ".", 1) &&
	    rg_jbuf_put(&b, frac, 3) &&
	    (!remote || rg_jbuf_member(&b, ",\"remote\":", remote)) &&
	    (!user || !*user || rg_jbuf_member(&b, ",\"user\":", user)) && rg_jbuf_put(&b, "}\n", 2))
		enqueue(b.data, b.len);
	rg_jbuf_done(&b);
}

void rg_log(const char *level, const char *event, const char *msg)
{
	rg_log_json(level, event, json_pack("{s:s}", "msg", msg ? msg : ""));
}
