/*
 * jsonw.c - compact JSON text of a jansson value, for the token hot path.
 *
 * jansson's json_dumps goes through a per-chunk callback, a growing string
 * buffer and a final copy; for a token's claims that is most of the cost of
 * minting. This writer walks the same json_t tree (objects in jansson's
 * insertion order) into one caller-sized buffer and produces exactly the
 * text json_dumps(v, JSON_COMPACT) would, which tests/unit/test_jsonw.c and
 * the fuzz target fuzz_jsonw check byte for byte. Reals, which no claim
 * holds, are handed to jansson so that their formatting is jansson's.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/jsonw.h"

void rg_jbuf_on(rg_jbuf *b, char *array, size_t size)
{
	b->data = b->fixed = array;
	b->cap = size;
	b->len = 0;
	if (size)
		array[0] = '\0';
}

void rg_jbuf_done(rg_jbuf *b)
{
	if (b->data != b->fixed)
		free(b->data);
	memset(b, 0, sizeof(*b));
}

bool rg_jbuf_reserve(rg_jbuf *b, size_t more)
{
	size_t cap;
	char *p;

	if (more < b->cap - b->len) /* b->len < b->cap always holds once data is set */
		return true;
	if (more >= SIZE_MAX / 4 - b->len)
		return false;
	cap = b->cap ? b->cap : 256;
	while (cap <= b->len + more)
		cap *= 2;
	if (b->data && b->data == b->fixed) {
		/* out of the caller's array: move to the heap */
		if (!(p = malloc(cap)))
			return false;
		memcpy(p, b->data, b->len);
		p[b->len] = '\0';
	} else if (!(p = realloc(b->data, cap))) {
		return false;
	}
	b->data = p;
	b->cap = cap;
	return true;
}

bool rg_jbuf_put(rg_jbuf *b, const char *s, size_t n)
{
	if (!rg_jbuf_reserve(b, n))
		return false;
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
	return true;
}

size_t rg_fmt_int(char *out, long long v)
{
	/* the magnitude as unsigned, so that LLONG_MIN needs no special case */
	unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
	char tmp[20];
	size_t n = 0, k = 0;

	do
		tmp[n++] = (char)('0' + u % 10);
	while ((u /= 10));
	if (v < 0)
		out[k++] = '-';
	while (n)
		out[k++] = tmp[--n];
	return k;
}

bool rg_jbuf_int(rg_jbuf *b, long long v)
{
	if (!rg_jbuf_reserve(b, 20))
		return false;
	b->len += rg_fmt_int(b->data + b->len, v);
	b->data[b->len] = '\0';
	return true;
}

/* A JSON string as jansson writes it without flags: ", \ and control
 * characters escaped (\b \f \n \r \t or \u00XX), everything else (UTF-8,
 * which jansson's strings always are, and '/') as is. Runs that need no
 * escape (a token is one) are found eight bytes at a time and copied whole. */
static inline bool plain(unsigned char c)
{
	return c >= 0x20 && c != '"' && c != '\\';
}

/* Whether none of the 8 bytes in x is < 0x20, '"' or '\\' (the exact
 * "has a zero byte" / "has a byte less than n" tests of Bit Twiddling Hacks). */
static inline bool word_plain(uint64_t x)
{
	const uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;
	uint64_t q = x ^ (ones * '"'), bs = x ^ (ones * '\\');

	return !((((x - ones * 0x20) & ~x) | ((q - ones) & ~q) | ((bs - ones) & ~bs)) & highs);
}

static size_t plain_run(const char *s, size_t n)
{
	size_t i = 0;
	uint64_t x;

	for (; i + 8 <= n; i += 8) {
		memcpy(&x, s + i, 8);
		if (!word_plain(x))
			break;
	}
	while (i < n && plain((unsigned char)s[i]))
		i++;
	return i;
}

static bool put_string(rg_jbuf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i = 0, run;
	char *o;

	/* room for the quotes and n plain bytes; more only at an escape */
	if (n > SIZE_MAX / 8 || !rg_jbuf_reserve(b, n + 2))
		return false;
	b->data[b->len++] = '"';
	for (;;) {
		run = plain_run(s + i, n - i);
		memcpy(b->data + b->len, s + i, run);
		b->len += run;
		if ((i += run) == n)
			break;
		/* the escape (at most 6 bytes), what is left and the closing quote */
		if (!rg_jbuf_reserve(b, n - i + 6))
			return false;
		o = b->data + b->len;
		*o++ = '\\';
		switch ((unsigned char)s[i]) {
		case '"': *o++ = '"'; break;
		case '\\': *o++ = '\\'; break;
		case '\b': *o++ = 'b'; break;
		case '\f': *o++ = 'f'; break;
		case '\n': *o++ = 'n'; break;
		case '\r': *o++ = 'r'; break;
		case '\t': *o++ = 't'; break;
		default:
			memcpy(o, "u00", 3);
			o[3] = hex[(unsigned char)s[i] >> 4];
			o[4] = hex[(unsigned char)s[i] & 15];
			o += 5;
		}
		b->len = (size_t)(o - b->data);
		i++;
	}
	b->data[b->len++] = '"';
	b->data[b->len] = '\0';
	return true;
}

bool rg_jbuf_member(rg_jbuf *b, const char *prefix, const char *value)
{
	return rg_jbuf_put(b, prefix, strlen(prefix)) && put_string(b, value, strlen(value));
}

bool rg_jbuf_members(rg_jbuf *b, const json_t *obj)
{
	const char *k;
	json_t *v;
	bool first = true;

	json_object_foreach((json_t *)obj, k, v) {
		if ((!first && !rg_jbuf_put(b, ",", 1)) || !put_string(b, k, strlen(k)) ||
		    !rg_jbuf_put(b, ":", 1) || !rg_jbuf_value(b, v))
			return false;
		first = false;
	}
	return true;
}

bool rg_jbuf_value(rg_jbuf *b, const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return rg_jbuf_put(b, "{", 1) && rg_jbuf_members(b, v) && rg_jbuf_put(b, "}", 1);
	case JSON_ARRAY:
		if (!rg_jbuf_put(b, "[", 1))
			return false;
		for (size_t i = 0; i < json_array_size(v); i++)
			if ((i && !rg_jbuf_put(b, ",", 1)) || !rg_jbuf_value(b, json_array_get(v, i)))
				return false;
		return rg_jbuf_put(b, "]", 1);
	case JSON_STRING:
		return put_string(b, json_string_value(v), json_string_length(v));
	case JSON_INTEGER:
		return rg_jbuf_int(b, json_integer_value(v));
	case JSON_TRUE:
		return rg_jbuf_put(b, "true", 4);
	case JSON_FALSE:
		return rg_jbuf_put(b, "false", 5);
	case JSON_NULL:
		return rg_jbuf_put(b, "null", 4);
	case JSON_REAL: {
		char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
		bool ok = s && rg_jbuf_put(b, s, strlen(s));
		free(s);
		return ok;
	}
	}
	return false;
}

char *rg_json_compact(const json_t *v)
{
	rg_jbuf b = {0};

	if (!v || !rg_jbuf_value(&b, v)) {
		free(b.data);
		return NULL;
	}
	return b.data;
}
