/*
 * util.c - small helpers: strings, base64 (over OpenSSL's EVP encoder),
 * globs, UTF-8 validation, file reading, JSON accessors.
 */
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "base/error.h"
#include "base/util.h"

char *rg_strdup(const char *s)
{
	return s ? strdup(s) : NULL;
}

char *rg_strndup(const char *s, size_t n)
{
	return s ? strndup(s, n) : NULL;
}

void rg_free_secret(char *s)
{
	if (!s)
		return;
	OPENSSL_cleanse(s, strlen(s));
	free(s);
}

char *rg_b64_encode(const unsigned char *in, size_t n)
{
	char *out = malloc(4 * ((n + 2) / 3) + 1);

	if (!out)
		return NULL;
	EVP_EncodeBlock((unsigned char *)out, in, (int)n);
	return out;
}

char *rg_b64url_encode(const unsigned char *in, size_t n)
{
	char *out = rg_b64_encode(in, n);
	char *p;

	if (!out)
		return NULL;
	for (p = out; *p; p++) {
		if (*p == '+')
			*p = '-';
		else if (*p == '/')
			*p = '_';
		else if (*p == '=') {
			*p = '\0';
			break;
		}
	}
	return out;
}

unsigned char *rg_b64_decode(const char *in, size_t inlen, size_t *outlen)
{
	size_t padded = (inlen + 3) / 4 * 4, i, pad = 0;
	char *buf;
	unsigned char *out;
	int n;

	while (inlen > 0 && in[inlen - 1] == '=') {
		inlen--;
		pad++;
	}
	if (pad > 2 || inlen % 4 == 1)
		return NULL;
	padded = (inlen + 3) / 4 * 4;
	buf = malloc(padded + 1);
	out = malloc(padded / 4 * 3 + 1);
	if (!buf || !out)
		goto fail;
	for (i = 0; i < inlen; i++) {
		char ch = in[i];
		if (ch == '-')
			ch = '+';
		else if (ch == '_')
			ch = '/';
		buf[i] = ch;
	}
	pad = padded - inlen;
	for (; i < padded; i++)
		buf[i] = '=';
	buf[padded] = '\0';
	n = EVP_DecodeBlock(out, (unsigned char *)buf, (int)padded);
	if (n < 0 || (size_t)n < pad)
		goto fail;
	*outlen = (size_t)n - pad;
	out[*outlen] = '\0';
	free(buf);
	return out;
fail:
	free(buf);
	free(out);
	return NULL;
}

bool rg_glob_match(const char *pattern, const char *s)
{
	return fnmatch(pattern, s, FNM_NOESCAPE) == 0;
}

bool rg_utf8_valid(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + n;

	while (p < end) {
		unsigned c = *p;
		size_t len;
		unsigned cp;

		if (c < 0x80) {
			p++;
			continue;
		} else if ((c & 0xE0) == 0xC0) {
			len = 2;
			cp = c & 0x1F;
		} else if ((c & 0xF0) == 0xE0) {
			len = 3;
			cp = c & 0x0F;
		} else if ((c & 0xF8) == 0xF0) {
			len = 4;
			cp = c & 0x07;
		} else {
			return false;
		}
		if ((size_t)(end - p) < len)
			return false;
		for (size_t i = 1; i < len; i++) {
			if ((p[i] & 0xC0) != 0x80)
				return false;
			cp = (cp << 6) | (p[i] & 0x3F);
		}
		if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) ||
		    (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
		    (cp >= 0xD800 && cp <= 0xDFFF))
			return false;
		p += len;
	}
	return true;
}

rg_err rg_read_file(const char *path, size_t limit, char **out, size_t *len, rg_error *err)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t n = 0, cap = 0;
	rg_err rc = RG_OK;

	*out = NULL;
	if (!f)
		return rg_fail(err, RG_ERR_IO, "io_error", "cannot open %s: %s", path,
			       strerror(errno));
	for (;;) {
		size_t got;
		if (n + 4096 + 1 > cap) {
			char *nb;
			cap = cap ? cap * 2 : 8192;
			nb = realloc(buf, cap);
			if (!nb) {
				rc = rg_fail(err, RG_ERR_NOMEM, NULL, "out of memory");
				goto out;
			}
			buf = nb;
		}
		got = fread(buf + n, 1, cap - n - 1, f);
		n += got;
		if (n > limit) {
			rc = rg_fail(err, RG_ERR_IO, "io_error", "%s is larger than %zu bytes", path,
				     limit);
			goto out;
		}
		if (got == 0)
			break;
	}
	if (ferror(f)) {
		rc = rg_fail(err, RG_ERR_IO, "io_error", "cannot read %s", path);
		goto out;
	}
	buf[n] = '\0';
	*out = buf;
	buf = NULL;
	if (len)
		*len = n;
out:
	free(buf);
	fclose(f);
	return rc;
}

char *rg_path_resolve(const char *base_dir, const char *path)
{
	char *out;
	size_t n;

	if (!path)
		return NULL;
	if (path[0] == '/' || !base_dir || !*base_dir)
		return strdup(path);
	n = strlen(base_dir) + strlen(path) + 2;
	out = malloc(n);
	if (out)
		snprintf(out, n, "%s/%s", base_dir, path);
	return out;
}

const char *rg_json_str(const json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

json_t *rg_json_get2(const json_t *obj, const char *snake, const char *camel, const char **used)
{
	json_t *v = json_object_get(obj, snake);

	if (v) {
		if (used)
			*used = snake;
		return v;
	}
	v = json_object_get(obj, camel);
	if (v && used)
		*used = camel;
	return v;
}

/* civetweb's worker threads have small stacks and jansson parses
 * recursively, so nesting is bounded before any untrusted text is parsed. */
bool rg_json_depth_ok(const char *s, size_t n, int max)
{
	int depth = 0;
	bool in_str = false;

	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		if (in_str) {
			if (ch == '\\')
				i++;
			else if (ch == '"')
				in_str = false;
		} else if (ch == '"') {
			in_str = true;
		} else if (ch == '[' || ch == '{') {
			if (++depth > max)
				return false;
		} else if (ch == ']' || ch == '}') {
			depth--;
		}
	}
	return true;
}

json_t *rg_json_load(const char *s, size_t n, size_t flags, json_error_t *jerr)
{
	if (!s)
		return NULL;
	if (!rg_json_depth_ok(s, n, RG_MAX_JSON_DEPTH)) {
		if (jerr) {
			memset(jerr, 0, sizeof(*jerr));
			snprintf(jerr->text, sizeof(jerr->text), "nested deeper than %d levels",
				 RG_MAX_JSON_DEPTH);
		}
		return NULL;
	}
	return json_loadb(s, n, flags, jerr);
}

char *rg_trim(char *s)
{
	char *end;

	while (*s == ' ' || *s == '\t')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
		*--end = '\0';
	return s;
}

void rg_copy(char *buf, size_t n, const char *s)
{
	size_t len = strnlen(s, n - 1);

	memcpy(buf, s, len);
	buf[len] = '\0';
}

time_t rg_now(void)
{
	return time(NULL);
}

rg_err rg_duration_parse(const char *s, long *seconds)
{
	char *end;
	long v, mul = 1;

	if (!s || !*s)
		return RG_ERR_INVALID;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || v <= 0)
		return RG_ERR_INVALID;
	if (*end) {
		if (end[1])
			return RG_ERR_INVALID;
		switch (*end) {
		case 's': mul = 1; break;
		case 'm': mul = 60; break;
		case 'h': mul = 3600; break;
		case 'd': mul = 86400; break;
		default: return RG_ERR_INVALID;
		}
	}
	if (v > 366L * 86400 / mul)
		return RG_ERR_INVALID;
	*seconds = v * mul;
	return RG_OK;
}
