/*
 * fetch.h - small documents over HTTP(S) with libcurl (fetch.c): the body
 * sink and the cancel callback every transfer of roomgate's shares, and one
 * bounded GET (an identity provider's discovery document or its JWKS).
 */
#ifndef RG_BASE_FETCH_H
#define RG_BASE_FETCH_H

#include <curl/curl.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "roomgate.h"

/* An answer's body, at most `max` bytes, NUL-terminated. */
typedef struct rg_curl_buf {
	char *p;
	size_t n, max;
	bool overflow; /* the answer was larger than max */
} rg_curl_buf;

/* CURLOPT_WRITEFUNCTION into an rg_curl_buf (CURLOPT_WRITEDATA). */
size_t rg_curl_sink(char *ptr, size_t size, size_t nmemb, void *buf);
/* CURLOPT_XFERINFOFUNCTION: gives up once the atomic_bool (CURLOPT_XFERINFODATA) is set. */
int rg_curl_cancel(void *flag, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un);

typedef struct rg_http_answer {
	long status;
	char *body; /* NUL-terminated, or NULL */
	size_t len;
	long max_age; /* Cache-Control max-age in seconds, -1 when none */
} rg_http_answer;

/* GET `url` (http or https, no redirects, TLS verified; 3 s to connect, 5 s
 * in all; `cancel`, may be NULL, set makes it give up). A transport failure or
 * an answer over `max` bytes is RG_ERR_UPSTREAM; any HTTP status is RG_OK
 * (out->status says which). out is cleared with rg_http_answer_clear. */
rg_err rg_http_get(const char *url, size_t max, const atomic_bool *cancel, rg_http_answer *out,
		   rg_error *err);
void rg_http_answer_clear(rg_http_answer *a);
/* The max-age of a Cache-Control header's value, or -1. */
long rg_cache_max_age(const char *value);

#endif
