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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static bool reserve(rg_jbuf *b, size_t more)
{
	size_t cap;
	char *p;

	if (b->len + more < b->cap)
		return true;
	cap = b->cap ? b->cap : 256;
	while (cap <= b->len + more)
		cap *= 2;
	if (!(p = realloc(b->data, cap)))
		return false;
	b->data = p;
	b->cap = cap;
	return true;
}

bool rg_jbuf_put(rg_jbuf *b, const char *s, size_t n)
{
	if (!reserve(b, n))
		return false;
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
	return true;
}

/* A JSON string as jansson writes it without flags: ", \ and control
 * characters escaped (\b \f \n \r \t or \u00XX), everything else (UTF-8,
 * which jansson's strings always are, and '/') as is. */
static bool put_string(rg_jbuf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	char *o;

	if (!reserve(b, 6 * n + 2))
		return false;
	o = b->data + b->len;
	*o++ = '"';
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c != '"' && c != '\\') {
			*o++ = (char)c;
			continue;
		}
		*o++ = '\\';
		switch (c) {
		case '"': *o++ = '"'; break;
		case '\\': *o++ = '\\'; break;
		case '\b': *o++ = 'b'; break;
		case '\f': *o++ = 'f'; break;
		case '\n': *o++ = 'n'; break;
		case '\r': *o++ = 'r'; break;
		case '\t': *o++ = 't'; break;
		default:
			memcpy(o, "u00", 3);
			o[3] = hex[c >> 4];
			o[4] = hex[c & 15];
			o += 5;
		}
	}
	*o++ = '"';
	*o = '\0';
	b->len = (size_t)(o - b->data);
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
	char num[32];
	int n;

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
		n = snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return rg_jbuf_put(b, num, (size_t)n);
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
