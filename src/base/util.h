/*
 * util.h - strings, base64, files and JSON helpers (util.c).
 */
#ifndef RG_BASE_UTIL_H
#define RG_BASE_UTIL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "roomgate.h"

#define RG_MAX_JSON_DEPTH 64

char *rg_strdup(const char *s);
char *rg_strndup(const char *s, size_t n);
/* Wipes (OPENSSL_cleanse) and frees a NUL-terminated secret; NULL is a no-op. */
void rg_free_secret(char *s);
/* base64url without padding of n bytes; returns malloc'd string. */
char *rg_b64url_encode(const unsigned char *in, size_t n);
/* standard base64 (padded); returns malloc'd string. */
char *rg_b64_encode(const unsigned char *in, size_t n);
/* decodes standard or url base64 (padding optional); malloc'd, *outlen set. */
unsigned char *rg_b64_decode(const char *in, size_t inlen, size_t *outlen);
/* glob match: '*' any run, '?' one char. */
bool rg_glob_match(const char *pattern, const char *s);
bool rg_utf8_valid(const char *s, size_t n);
/* reads a whole file (limit bytes); malloc'd, NUL-terminated. */
rg_err rg_read_file(const char *path, size_t limit, char **out, size_t *len, rg_error *err);
/* joins base_dir and a relative path; absolute paths are copied. */
char *rg_path_resolve(const char *base_dir, const char *path);
/* a string in json, or NULL */
const char *rg_json_str(const json_t *obj, const char *key);
/* s without leading and trailing spaces and tabs (cut in place). */
char *rg_trim(char *s);
/* snprintf(buf, n, "%s", s) without the format parser (n > 0): s cut to
 * n - 1 bytes, NUL-terminated. */
void rg_copy(char *buf, size_t n, const char *s);
/* a value by snake_case or camelCase key; *used gets the key found */
json_t *rg_json_get2(const json_t *obj, const char *snake, const char *camel, const char **used);
bool rg_json_depth_ok(const char *s, size_t n, int max);
/* json_loadb for untrusted text: refuses nesting deeper than RG_MAX_JSON_DEPTH. */
json_t *rg_json_load(const char *s, size_t n, size_t flags, json_error_t *jerr);
time_t rg_now(void);

#endif
