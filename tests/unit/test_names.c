/* The one rule for names that enter (base/names.h): room names, identities,
 * agent names and a site's rooms.name_pattern. */
#include <string.h>

#include "check.h"
#include "base/names.h"

static const char *const bad_rooms[] = {
	"", "team-../../x", "a/b", "a\\b", "..", "x..y", "../x", "x/..",
	"room ", " room", "\troom", "room\t", "room\n", "a\x01" "b", "a\x7f" "b",
	"a\xc2\x85" "b",          /* U+0085 NEL (C1) */
	"a\xc2\x9b" "b",          /* U+009B CSI (C1) */
	"a\xe2\x80\xa8" "b",      /* U+2028 line separator */
	"a\xe2\x80\xa9" "b",      /* U+2029 paragraph separator */
	"\xc2\xa0room",           /* NBSP at the start */
	"room\xe3\x80\x80",       /* ideographic space at the end */
	"\xff", "a\xc3", "\xc0\xaf", "\xed\xa0\x80", /* invalid UTF-8, overlong, surrogate */
};

static const char *const good_rooms[] = {
	"lobby", "Test Room", "team-red", "Sala de reunión", "会議室", "a.b", ".hidden",
	"x.", "a b  c", "a\xc2\xa0" "b", "room-AAAAAAAAAAAAAAAAAAAAAA", "émoji 🎉",
};

static void rooms(void)
{
	char name[200];
	rg_error err = {0};

	for (size_t i = 0; i < sizeof(bad_rooms) / sizeof(bad_rooms[0]); i++) {
		CHECK(rg_room_name_problem(bad_rooms[i]) != NULL);
		if (rg_room_name_check("room_name", bad_rooms[i], NULL, &err) != RG_ERR_INVALID)
			fprintf(stderr, "room name #%zu accepted\n", i);
	}
	for (size_t i = 0; i < sizeof(good_rooms) / sizeof(good_rooms[0]); i++) {
		const char *why = rg_room_name_problem(good_rooms[i]);
		if (why)
			fprintf(stderr, "good room name '%s': %s\n", good_rooms[i], why);
		CHECK(why == NULL);
		CHECK(rg_room_name_check("room_name", good_rooms[i], NULL, &err) == RG_OK);
	}
	CHECK(rg_room_name_problem(NULL) != NULL);

	memset(name, 'r', 128);
	name[128] = '\0';
	CHECK(rg_room_name_problem(name) == NULL);
	name[128] = 'r';
	name[129] = '\0';
	CHECK_STR(rg_room_name_problem(name), "is longer than 128 bytes");
	/* 128 bytes of two-byte characters: bytes count, not characters */
	for (int i = 0; i < 128; i += 2)
		memcpy(name + i, "\xc3\xb3", 2);
	name[128] = '\0';
	CHECK(rg_room_name_problem(name) == NULL);

	CHECK_STR(rg_room_name_problem("room "), "ends with whitespace");
	CHECK_STR(rg_room_name_problem("\troom"), "contains a control character");
	CHECK_STR(rg_room_name_problem(" room"), "starts with whitespace");
	CHECK_STR(rg_room_name_problem("team-../../x"), "contains '/'");
	CHECK_STR(rg_room_name_problem("x..y"), "contains '..'");
	CHECK_STR(rg_room_name_problem("a\xe2\x80\xa8" "b"),
		  "contains a line or paragraph separator");

	CHECK(rg_room_name_check("room_name", "a/b", NULL, &err) == RG_ERR_INVALID);
	CHECK_STR(err.code, "invalid_room_name");
	CHECK(strstr(err.message, "room_name contains '/'") == err.message);
	CHECK(strstr(err.message, "1 to 128 bytes") != NULL); /* the message states the rule */
}

static void pattern(void)
{
	rg_name_pattern *p = NULL;
	rg_error err = {0};

	CHECK(rg_name_pattern_new("[a-z0-9-]{3,20}", &p, &err) == RG_OK);
	CHECK_STR(rg_name_pattern_source(p), "[a-z0-9-]{3,20}");
	CHECK(rg_room_name_check("room_name", "team-red", p, &err) == RG_OK);
	/* the whole name, not a part of it */
	CHECK(rg_room_name_check("room_name", "Team-red", p, &err) == RG_ERR_INVALID);
	CHECK_STR(err.code, "invalid_room_name");
	CHECK(strstr(err.message, "[a-z0-9-]{3,20}") != NULL); /* names the pattern */
	CHECK(rg_room_name_check("room_name", "ab", p, &err) == RG_ERR_INVALID);
	CHECK(rg_room_name_check("room_name", "Test Room", p, &err) == RG_ERR_INVALID);
	/* the rule comes first: a pattern cannot let '..' in */
	rg_name_pattern_free(p);
	CHECK(rg_name_pattern_new(".*", &p, &err) == RG_OK);
	CHECK(rg_room_name_check("room_name", "x..y", p, &err) == RG_ERR_INVALID);
	CHECK(strstr(err.message, "contains '..'") != NULL);
	rg_name_pattern_free(p);
	/* an alternation is anchored as a whole */
	CHECK(rg_name_pattern_new("lobby|team-[a-z]+", &p, &err) == RG_OK);
	CHECK(rg_name_pattern_match(p, "lobby"));
	CHECK(rg_name_pattern_match(p, "team-red"));
	CHECK(!rg_name_pattern_match(p, "lobby-x"));
	CHECK(!rg_name_pattern_match(p, "x-team-red"));
	rg_name_pattern_free(p);

	p = (rg_name_pattern *)1;
	CHECK(rg_name_pattern_new("[a-z", &p, &err) == RG_ERR_CONFIG);
	CHECK(p == NULL);
	CHECK(strstr(err.message, "rooms.name_pattern \"[a-z\"") != NULL);
	CHECK(rg_name_pattern_new("a)|(b", &p, &err) == RG_ERR_CONFIG); /* not fixed by ^(...)$ */
	CHECK(rg_name_pattern_new("", &p, &err) == RG_ERR_CONFIG);
	rg_name_pattern_free(NULL);
}

static void identities(void)
{
	char name[200];
	rg_error err = {0};

	CHECK(rg_identity_problem("alice") == NULL);
	CHECK(rg_identity_problem("Alice Admin") == NULL);
	CHECK(rg_identity_problem("user@example.com") == NULL);
	CHECK(rg_identity_problem("a/b") == NULL); /* an identity is not a path */
	CHECK(rg_identity_problem("José") == NULL);
	CHECK(rg_identity_problem("") != NULL);
	CHECK(rg_identity_problem("alice ") != NULL);
	CHECK(rg_identity_problem("\talice") != NULL);
	CHECK(rg_identity_problem("al\x01ice") != NULL);
	CHECK(rg_identity_problem("al\nice") != NULL);
	CHECK(rg_identity_problem("al\xe2\x80\xa8ice") != NULL);
	CHECK(rg_identity_problem("al\xc2\x85ice") != NULL);
	CHECK(rg_identity_problem("\xff") != NULL);
	memset(name, 'i', 129);
	name[129] = '\0';
	CHECK(rg_identity_problem(name) != NULL);
	name[128] = '\0';
	CHECK(rg_identity_problem(name) == NULL);
	CHECK(rg_identity_check("participant_identity", "x ", &err) == RG_ERR_INVALID);
	CHECK_STR(err.code, "invalid_identity");
	CHECK(strstr(err.message, "participant_identity ends with whitespace") == err.message);
}

static void agents(void)
{
	char name[100];
	rg_error err = {0};

	CHECK(rg_agent_name_problem("assistant") == NULL);
	CHECK(rg_agent_name_problem("support-agent.v2_eu") == NULL);
	CHECK(rg_agent_name_problem("") != NULL);
	CHECK(rg_agent_name_problem(NULL) != NULL);
	CHECK(rg_agent_name_problem("my agent") != NULL);
	CHECK(rg_agent_name_problem("a\x01") != NULL);
	CHECK(rg_agent_name_problem("a/b") != NULL);
	CHECK(rg_agent_name_problem("agént") != NULL);
	memset(name, 'a', 65);
	name[65] = '\0';
	CHECK(rg_agent_name_problem(name) != NULL);
	name[64] = '\0';
	CHECK(rg_agent_name_problem(name) == NULL);
	CHECK(rg_agent_name_check("agent_name", "a b", &err) == RG_ERR_INVALID);
	CHECK_STR(err.code, "invalid_agent_name");
	CHECK(strstr(err.message, "A-Z a-z 0-9 . _ -") != NULL);
}

int main(void)
{
	rooms();
	pattern();
	identities();
	agents();
	CHECK_DONE();
}
