/*
 * names.h - the one rule for every name that enters roomgate (names.c):
 * room names, agent names and participant identities, whether they come
 * from an HTTP body or query, the command line, the config or an
 * authentication method. In base/ so that every layer (auth/ included)
 * checks names the same way.
 */
#ifndef RG_BASE_NAMES_H
#define RG_BASE_NAMES_H

#include <stdbool.h>

#include "roomgate.h"

#define RG_ROOM_NAME_MAX 128  /* bytes; LiveKit's own limit (RG_MAX_NAME) is 256 */
#define RG_IDENTITY_MAX 128   /* bytes */
#define RG_AGENT_NAME_MAX 64  /* characters of A-Za-z0-9._- */
#define RG_NAME_PATTERN_MAX 256

/* The rules in words, for messages that state them. */
#define RG_ROOM_NAME_RULE                                                                      \
	"a room name is 1 to 128 bytes of UTF-8 without control characters, line or paragraph " \
	"separators, leading or trailing whitespace, '/', '\\' or '..'"
#define RG_IDENTITY_RULE                                                                      \
	"an identity is 1 to 128 bytes of UTF-8 without control characters, line or paragraph " \
	"separators, or leading or trailing whitespace"
#define RG_AGENT_NAME_RULE "an agent name is 1 to 64 of A-Z a-z 0-9 . _ - (as LiveKit workers register it)"

/* A site's stricter rule for room names (rooms.name_pattern): a POSIX
 * extended regular expression matched against the whole name. */
typedef struct rg_name_pattern rg_name_pattern;

/* Compiles `source` once; RG_ERR_CONFIG with a message naming the pattern
 * when it does not compile (or is longer than RG_NAME_PATTERN_MAX). */
rg_err rg_name_pattern_new(const char *source, rg_name_pattern **out, rg_error *err);
void rg_name_pattern_free(rg_name_pattern *p); /* NULL is a no-op */
const char *rg_name_pattern_source(const rg_name_pattern *p);
bool rg_name_pattern_match(const rg_name_pattern *p, const char *s);

/* NULL when `s` follows the rule, else what is wrong with it, in words
 * ("ends with whitespace", "contains '..'"); static strings. */
const char *rg_room_name_problem(const char *s);
const char *rg_identity_problem(const char *s);
const char *rg_agent_name_problem(const char *s);

/* The same as an error for a client: RG_ERR_INVALID with code
 * invalid_room_name / invalid_identity / invalid_agent_name and a message
 * "<field> <problem>: <rule>". `pattern` (may be NULL) is checked after the
 * rule; its message names the pattern. */
rg_err rg_room_name_check(const char *field, const char *s, const rg_name_pattern *pattern,
			  rg_error *err);
rg_err rg_identity_check(const char *field, const char *s, rg_error *err);
rg_err rg_agent_name_check(const char *field, const char *s, rg_error *err);

#endif
