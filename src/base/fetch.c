/*
 * fetch.c - small documents over HTTP(S) with libcurl. The body sink and
 * cancel callback are shared with LiveKit's API client (livekit/api.c); the
 * GET is what an identity provider's discovery document and key set are
 * read with: bounded in size and time, no redirects, TLS verified, and the
 * answer's Cache-Control max-age kept for the caller's refresh schedule.
 */
#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/error.h"
#include "base/fetch.h"

static pthread_once_t global_once = PTHREAD_ONCE_INIT;

static void global_init(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

size_t rg_curl_sink(char *ptr, size_t size, size_t nmemb, void *buf)
{
	rg_curl_buf *b = buf;
	size_t add = size * nmemb;
	char *np;

	if (b->n + add > b->max) {
		b->overflow = true;
		return 0;
	}
	if (!(np = realloc(b->p, b->n + add + 1)))
		return 0;
	b->p = np;
	memcpy(b->p + b->n, ptr, add);
	b->n += add;
	b->p[b->n] = '\0';
	return add;
}

int rg_curl_cancel(void *flag, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	(void)dt, (void)dn, (void)ut, (void)un;
	return atomic_load((const atomic_bool *)flag) ? 1 : 0;
}

long rg_cache_max_age(const char *v)
{
	const char *p = v;

	while (p && (p = strcasestr(p, "max-age"))) {
		/* a whole directive: at the start or after ',' or a space */
		bool start = p == v || p[-1] == ',' || p[-1] == ' ' || p[-1] == '\t';
		const char *q = p + 7;
		long n = 0;
		p = q;
		if (!start)
			continue;
		while (*q == ' ')
			q++;
		if (*q++ != '=')
			continue;
		if (*q == '"')
			q++;
		if (!isdigit((unsigned char)*q))
			continue;
		for (; isdigit((unsigned char)*q); q++)
			n = n > 100000000L ? n : n * 10 + (*q - '0'); /* a year is plenty */
		return n;
	}
	return -1;
}

static size_t on_header(char *line, size_t size, size_t nmemb, void *ud)
{
	rg_http_answer *a = ud;
	size_t n = size * nmemb;
	char buf[512];
	long m;

	/* a new status line (a 100 Continue before the real answer) forgets earlier headers */
	if (n >= 5 && !strncmp(line, "HTTP/", 5))
		a->max_age = -1;
	if (n > 14 && n < sizeof(buf) && !strncasecmp(line, "cache-control:", 14)) {
		memcpy(buf, line + 14, n - 14);
		buf[n - 14] = '\0';
		if ((m = rg_cache_max_age(buf)) >= 0)
			a->max_age = m;
	}
	return n;
}

rg_err rg_http_get(const char *url, size_t max, const atomic_bool *cancel, rg_http_answer *out,
		   rg_error *err)
{
	CURL *curl;
	rg_curl_buf b = {.max = max};
	char cerr[CURL_ERROR_SIZE] = "";
	CURLcode cc;

	memset(out, 0, sizeof(*out));
	out->max_age = -1;
	pthread_once(&global_once, global_init);
	if (!(curl = curl_easy_init()))
		return rg_fail(err, RG_ERR_NOMEM, NULL, "out of memory");
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, rg_curl_sink);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(curl, CURLOPT_HEADERDATA, out);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, cerr);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 3000L);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 5000L);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(curl, CURLOPT_USERAGENT, "roomgate/" RG_VERSION);
	if (cancel) {
		curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, rg_curl_cancel);
		curl_easy_setopt(curl, CURLOPT_XFERINFODATA, (void *)cancel);
		curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
	}
	cc = curl_easy_perform(curl);
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &out->status);
	curl_easy_cleanup(curl);
	if (cc != CURLE_OK) {
		free(b.p);
		out->status = 0;
		return rg_fail(err, RG_ERR_UPSTREAM, "fetch_failed", "%s: %s", url,
			       b.overflow ? "answer too large"
			       : cerr[0]  ? cerr
					  : curl_easy_strerror(cc));
	}
	out->body = b.p;
	out->len = b.n;
	return RG_OK;
}

void rg_http_answer_clear(rg_http_answer *a)
{
	free(a->body);
	memset(a, 0, sizeof(*a));
	a->max_age = -1;
}
