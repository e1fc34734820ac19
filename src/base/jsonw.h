/*
 * jsonw.h - compact JSON text, byte for byte json_dumps(v, JSON_COMPACT),
 * without jansson's callback and copy (jsonw.c; the token hot path).
 *
 * A buffer starts zeroed (data is then malloc'd and the caller frees it) or
 * from rg_jbuf_on(), which writes into the caller's array until it is full
 * and only then moves to the heap (release with rg_jbuf_done()). data is
 * always NUL-terminated.
 */
#ifndef RG_BASE_JSONW_H
#define RG_BASE_JSONW_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct rg_jbuf {
	char *data;
	size_t len, cap;
	char *fixed; /* the caller's array, while data points to it */
} rg_jbuf;

void rg_jbuf_on(rg_jbuf *b, char *array, size_t size);
void rg_jbuf_done(rg_jbuf *b); /* frees data unless it is the caller's array */
bool rg_jbuf_reserve(rg_jbuf *b, size_t more); /* room for `more` bytes and the NUL */
bool rg_jbuf_put(rg_jbuf *b, const char *s, size_t n);
/* the decimal text of v (as "%lld" writes it), no NUL; at most 20 bytes */
size_t rg_fmt_int(char *out, long long v);
bool rg_jbuf_int(rg_jbuf *b, long long v);
/* `prefix` as is (e.g. ",\"key\":"), then `value` as a JSON string. */
bool rg_jbuf_member(rg_jbuf *b, const char *prefix, const char *value);
bool rg_jbuf_value(rg_jbuf *b, const json_t *v);
bool rg_jbuf_members(rg_jbuf *b, const json_t *obj); /* an object's members, no braces */
char *rg_json_compact(const json_t *v); /* any value; NULL on error */

#endif
