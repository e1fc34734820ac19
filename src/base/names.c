/*
 * names.c - the one rule for names that enter: room names end up in URLs,
 * log lines and recording paths, identities in tokens and logs, agent names
 * in LiveKit's dispatch. Every place that takes one (routes, the CLI, the
 * config, the authentication methods) asks here, so a name refused in one
 * place is refused in all of them.
 *
 *   room name  1-128 bytes of UTF-8; no control character (C0, DEL, C1), no
 *              line or paragraph separator (U+2028, U+2029; U+0085 is C1);
 *              no whitespace at either end (inside is fine: "Test Room");
 *              no '/', '\' or '..'; then the site's rooms.name_pattern.
 *   identity   the same text rule, without the path characters.
 *   agent name 1-64 of A-Za-z0-9._-, as LiveKit workers register them.
 */
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/names.h"
#include "base/util.h"

struct rg_name_pattern {
	char *source;
	regex_t re;
};

/* The code point at *p (valid UTF-8, checked before); advances *p. */
static unsigned next_cp(const unsigned char **p)
{
	const unsigned char *s = *p;
	unsigned c = s[0];

	if (c < 0x80) {
		*p += 1;
		return c;
	}
	if ((c & 0xE0) == 0xC0) {
		*p += 2;
		return ((c & 0x1Fu) << 6) | (s[1] & 0x3Fu);
	}
	if ((c & 0xF0) == 0xE0) {
		*p += 3;
		return ((c & 0x0Fu) << 12) | ((s[1] & 0x3Fu) << 6) | (s[2] & 0x3Fu);
	}
	*p += 4;
	return ((c & 0x07u) << 18) | ((s[1] & 0x3Fu) << 12) | ((s[2] & 0x3Fu) << 6) |
	       (s[3] & 0x3Fu);
}

static bool is_control(unsigned cp)
{
	return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F);
}

/* Unicode White_Space that is neither a control nor a separator (those are
 * refused anywhere in a name). */
static bool is_space(unsigned cp)
{
	return cp == 0x20 || cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) ||
	       cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

/* What room names and identities share. */
static const char *text_problem(const char *s, size_t max)
{
	const unsigned char *p = (const unsigned char *)s, *end;
	size_t n;
	unsigned cp = 0;

	if (!s || !*s)
		return "is empty";
	n = strlen(s);
	if (n > max)
		return "is longer than 128 bytes";
	if (!rg_utf8_valid(s, n))
		return "is not valid UTF-8";
	for (end = p + n; p < end;) {
		bool first = p == (const unsigned char *)s;
		cp = next_cp(&p);
		if (is_control(cp))
			return "contains a control character";
		if (cp == 0x2028 || cp == 0x2029)
			return "contains a line or paragraph separator";
		if (first && is_space(cp))
			return "starts with whitespace";
	}
	return is_space(cp) ? "ends with whitespace" : NULL;
}

const char *rg_room_name_problem(const char *s)
{
	const char *why = text_problem(s, RG_ROOM_NAME_MAX);

	if (why)
		return why;
	if (strchr(s, '/'))
		return "contains '/'";
	if (strchr(s, '\\'))
		return "contains '\\'";
	if (strstr(s, ".."))
		return "contains '..'";
	return NULL;
}

const char *rg_identity_problem(const char *s)
{
	return text_problem(s, RG_IDENTITY_MAX);
}

const char *rg_agent_name_problem(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (!n)
		return "is empty";
	if (n > RG_AGENT_NAME_MAX)
		return "is longer than 64 characters";
	if (strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") != n)
		return "contains a character other than A-Z a-z 0-9 . _ -";
	return NULL;
}

rg_err rg_room_name_check(const char *field, const char *s, const rg_name_pattern *pattern,
			  rg_error *err)
{
	const char *why = rg_room_name_problem(s);

	if (why)
		return rg_fail(err, RG_ERR_INVALID, "invalid_room_name", "%s %s: %s", field, why,
			       RG_ROOM_NAME_RULE);
	if (pattern && !rg_name_pattern_match(pattern, s))
		return rg_fail(err, RG_ERR_INVALID, "invalid_room_name",
			       "%s does not match this site's rooms.name_pattern \"%s\"", field,
			       pattern->source);
	return RG_OK;
}

rg_err rg_identity_check(const char *field, const char *s, rg_error *err)
{
	const char *why = rg_identity_problem(s);

	return why ? rg_fail(err, RG_ERR_INVALID, "invalid_identity", "%s %s: %s", field, why,
			     RG_IDENTITY_RULE)
		   : RG_OK;
}

rg_err rg_agent_name_check(const char *field, const char *s, rg_error *err)
{
	const char *why = rg_agent_name_problem(s);

	return why ? rg_fail(err, RG_ERR_INVALID, "invalid_agent_name", "%s %s: %s", field, why,
			     RG_AGENT_NAME_RULE)
		   : RG_OK;
}

/* The pattern alone must compile (so "a)|(b" is refused), then anchored as
 * ^(...)$ so that it is matched against the whole name. */
rg_err rg_name_pattern_new(const char *source, rg_name_pattern **out, rg_error *err)
{
	rg_name_pattern *p = NULL;
	char msg[160], *anchored = NULL;
	size_t n = source ? strlen(source) : 0;
	regex_t alone;
	int rc;

	*out = NULL;
	if (!n || n > RG_NAME_PATTERN_MAX)
		return rg_fail(err, RG_ERR_CONFIG, "config_error",
			       "rooms.name_pattern must be 1 to %d bytes", RG_NAME_PATTERN_MAX);
	if ((rc = regcomp(&alone, source, REG_EXTENDED | REG_NOSUB))) {
		regerror(rc, &alone, msg, sizeof(msg));
		return rg_fail(err, RG_ERR_CONFIG, "config_error",
			       "rooms.name_pattern \"%s\" is not a POSIX extended regular "
			       "expression: %s",
			       source, msg);
	}
	regfree(&alone);
	if (!(p = calloc(1, sizeof(*p))) || !(p->source = strdup(source)) ||
	    !(anchored = malloc(n + 5))) {
		free(p ? p->source : NULL);
		free(p);
		return rg_fail(err, RG_ERR_NOMEM, NULL, "out of memory");
	}
	memcpy(anchored, "^(", 2);
	memcpy(anchored + 2, source, n);
	memcpy(anchored + 2 + n, ")$", 3);
	rc = regcomp(&p->re, anchored, REG_EXTENDED | REG_NOSUB);
	free(anchored);
	if (rc) {
		regerror(rc, &p->re, msg, sizeof(msg));
		free(p->source);
		free(p);
		return rg_fail(err, RG_ERR_CONFIG, "config_error",
			       "rooms.name_pattern \"%s\" cannot be anchored: %s", source, msg);
	}
	*out = p;
	return RG_OK;
}

void rg_name_pattern_free(rg_name_pattern *p)
{
	if (!p)
		return;
	regfree(&p->re);
	free(p->source);
	free(p);
}

const char *rg_name_pattern_source(const rg_name_pattern *p)
{
	return p ? p->source : NULL;
}

bool rg_name_pattern_match(const rg_name_pattern *p, const char *s)
{
	return !p || regexec(&p->re, s, 0, NULL, 0) == 0;
}
