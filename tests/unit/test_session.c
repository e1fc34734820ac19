/* Unit tests: session tokens (/v1/login's bearer tokens) and the cache of
 * verified ones: a cached token must keep failing every check that an
 * uncached one fails (expiry, not-yet-valid, removed user, other secret,
 * other bytes), and follows the current users record (groups, display name,
 * password). */
#include <stdlib.h>

#include "check.h"
#include "auth/session.h"
#include "auth/users.h"
#include "base/util.h"
#include "core/config.h"
#include "livekit/jwt.h"

#define HASH "$pbkdf2-sha256$600000$kXpukP9tH07u-nYjN4J9NA$VBEmbndXNyhSR4HnxY-eX1XRD1ln_eObZEH1y9bl75g"
/* another password (only its hash matters here) */
#define HASH2 "$pbkdf2-sha256$600000$jvi8FL5_sylgBg7UpzCGSQ$xxyyW87RDG0sT1uBeS7kbRPYieyLP7YjLQNiCo2umVg"

static const char cfg_a[] =
	"{\"livekit\":{\"url\":\"ws://127.0.0.1:9\",\"api_key\":\"k\",\"api_secret\":\"s\"},"
	" \"session\":{\"secret\":\"session-secret-a-0123456789abcdef\",\"ttl\":\"10m\"},"
	" \"rules\":[{\"name\":\"all\",\"rooms\":[\"*\"]}]}";
static const char cfg_b[] =
	"{\"livekit\":{\"url\":\"ws://127.0.0.1:9\",\"api_key\":\"k\",\"api_secret\":\"s\"},"
	" \"session\":{\"secret\":\"session-secret-b-0123456789abcdef\",\"ttl\":\"10m\"},"
	" \"rules\":[{\"name\":\"all\",\"rooms\":[\"*\"]}]}";

static rg_config_t *config(const char *json, size_t n, const char *users)
{
	rg_config_t *cfg = NULL;
	rg_error err = {0};

	if (rg_config_parse(json, n, NULL, &cfg, &err) ||
	    rg_users_parse(users, strlen(users), &cfg->auth.users, &err)) {
		fprintf(stderr, "config: %s\n", err.message);
		exit(1);
	}
	return cfg;
}

/* Replaces a config's users, as a reload does. */
static void set_users(rg_config_t *cfg, const char *users)
{
	rg_error err = {0};

	if (rg_users_parse(users, strlen(users), &cfg->auth.users, &err)) {
		fprintf(stderr, "users: %s\n", err.message);
		exit(1);
	}
}

/* Verifies at `now`; returns the error code ("" when it passed). */
static const char *verify(const rg_config_t *cfg, const char *token, time_t now, rg_user_t *u,
			  char *msg, size_t n)
{
	static char code[64];
	rg_error err = {0};

	rg_user_clear(u);
	if (rg_session_verify_at(&cfg->auth, token, now, u, &err) == RG_OK) {
		snprintf(msg, n, "%s", "");
		return "";
	}
	snprintf(code, sizeof(code), "%s", err.code);
	snprintf(msg, n, "%s", err.message);
	return code;
}

int main(void)
{
	const char users[] = "ann:" HASH ":Ann A.:staff,admin\nbob:" HASH ":Bob:\n";
	rg_config_t *cfg = config(cfg_a, sizeof(cfg_a) - 1, users), *other, *reload;
	rg_user_t ann = {0}, bob = {0}, u = {0};
	char *groups[] = {"staff", "admin"}, *tok = NULL, *tok_bob = NULL, *bad;
	char msg[256];
	time_t now = rg_now();
	long ttl = 0;
	rg_error err = {0};

	CHECK(rg_user_set(&ann, "ann", "Ann A.", groups, 2, "basic") == RG_OK);
	CHECK(rg_user_set(&bob, "bob", "Bob", NULL, 0, "basic") == RG_OK);
	CHECK(rg_session_issue(&cfg->auth, &ann, &tok, &ttl, &err) == RG_OK && tok);
	CHECK(rg_session_issue(&cfg->auth, &bob, &tok_bob, NULL, &err) == RG_OK && tok_bob);
	CHECK(ttl == 600);

	/* first check (full), then the same token again (cached): same user */
	for (int round = 0; round < 3; round++) {
		CHECK_STR(verify(cfg, tok, now, &u, msg, sizeof(msg)), "");
		CHECK_STR(u.id, "ann");
		CHECK_STR(u.name, "Ann A.");
		CHECK(u.ngroups == 2 && u.groups && !strcmp(u.groups[0], "staff") &&
		      !strcmp(u.groups[1], "admin"));
		CHECK_STR(u.method, "session");
		CHECK_STR(verify(cfg, tok_bob, now, &u, msg, sizeof(msg)), "");
		CHECK_STR(u.id, "bob");
		CHECK(u.ngroups == 0);
	}

	/* expiry and nbf still apply to a cached token, with the leeway */
	CHECK_STR(verify(cfg, tok, now + 600 + RG_LEEWAY, &u, msg, sizeof(msg)), "");
	CHECK_STR(verify(cfg, tok, now + 600 + RG_LEEWAY + 2, &u, msg, sizeof(msg)),
		  "invalid_credentials");
	CHECK_STR(msg, "token has expired");
	CHECK(u.id == NULL);
	CHECK_STR(verify(cfg, tok, now - RG_LEEWAY - 2, &u, msg, sizeof(msg)), "invalid_credentials");
	CHECK_STR(msg, "token is not yet valid");
	/* and the token is still good afterwards */
	CHECK_STR(verify(cfg, tok, now, &u, msg, sizeof(msg)), "");

	/* other bytes: a changed signature or payload never matches the entry */
	bad = strdup(tok);
	bad[strlen(bad) - 2] = bad[strlen(bad) - 2] == 'A' ? 'B' : 'A';
	CHECK_STR(verify(cfg, bad, now, &u, msg, sizeof(msg)), "invalid_credentials");
	CHECK_STR(msg, "token signature is invalid");
	strcpy(bad, tok);
	bad[strlen(bad) - 1] = '\0'; /* a prefix of a cached token */
	CHECK_STR(verify(cfg, bad, now, &u, msg, sizeof(msg)), "invalid_credentials");
	free(bad);
	CHECK_STR(verify(cfg, "", now, &u, msg, sizeof(msg)), "invalid_credentials");

	/* a config with another session secret (a reload) rejects the cached token */
	other = config(cfg_b, sizeof(cfg_b) - 1, users);
	CHECK_STR(verify(other, tok, now, &u, msg, sizeof(msg)), "invalid_credentials");
	CHECK_STR(msg, "token signature is invalid");
	/* a reload with the same secret keeps it valid */
	reload = config(cfg_a, sizeof(cfg_a) - 1, users);
	CHECK_STR(verify(reload, tok, now, &u, msg, sizeof(msg)), "");
	CHECK_STR(u.id, "ann");
	CHECK_STR(verify(cfg, tok, now, &u, msg, sizeof(msg)), "");

	/* a user removed from the users file loses access at once, cached or not */
	rg_users_clear(&cfg->auth.users);
	CHECK(rg_users_parse("bob:" HASH ":Bob:\n", strlen("bob:" HASH ":Bob:\n"), &cfg->auth.users, &err) ==
	      RG_OK);
	CHECK_STR(verify(cfg, tok, now, &u, msg, sizeof(msg)), "invalid_credentials");
	CHECK_STR(msg, "user no longer exists");
	CHECK_STR(verify(cfg, tok_bob, now, &u, msg, sizeof(msg)), "");
	CHECK_STR(u.id, "bob");

	/* the current users record decides, cached or not: a group removed,
	 * a new display name, take effect on the next use of the same token */
	CHECK_STR(verify(reload, tok, now, &u, msg, sizeof(msg)), "");
	rg_users_clear(&reload->auth.users);
	set_users(reload, "ann:" HASH ":Ann B.:staff\nbob:" HASH ":Bob:\n");
	CHECK_STR(verify(reload, tok, now, &u, msg, sizeof(msg)), "");
	CHECK_STR(u.name, "Ann B.");
	CHECK(u.ngroups == 1 && !strcmp(u.groups[0], "staff"));
	/* a new password hash (same groups) ends the sessions of the old one */
	rg_users_clear(&reload->auth.users);
	set_users(reload, "ann:" HASH2 ":Ann B.:staff\nbob:" HASH ":Bob:\n");
	CHECK_STR(verify(reload, tok, now, &u, msg, sizeof(msg)), "invalid_credentials");
	CHECK_STR(msg, "the password has changed since this session began: sign in again");
	CHECK(u.id == NULL);
	CHECK_STR(verify(reload, tok_bob, now, &u, msg, sizeof(msg)), "");
	/* and the old hash back: the token is good again (its stamp matches) */
	rg_users_clear(&reload->auth.users);
	set_users(reload, "ann:" HASH ":Ann A.:staff,admin\nbob:" HASH ":Bob:\n");
	CHECK_STR(verify(reload, tok, now, &u, msg, sizeof(msg)), "");
	CHECK(u.ngroups == 2);

	/* more tokens than cache slots: each still verifies as its own user */
	{
		size_t cap = 128 * 700, len = 0;
		char *text = malloc(cap);
		CHECK(text != NULL);
		len += (size_t)snprintf(text + len, cap - len, "bob:" HASH ":Bob:\n");
		for (int i = 0; i < 600; i++)
			len += (size_t)snprintf(text + len, cap - len, "bob%d:" HASH "::\n", i);
		rg_users_clear(&cfg->auth.users);
		set_users(cfg, text);
		CHECK(rg_session_stamp_users(&cfg->auth) == RG_OK);
		free(text);
	}
	for (int i = 0; i < 600; i++) {
		rg_user_t x = {0};
		char name[32], *t = NULL;
		snprintf(name, sizeof(name), "bob%d", i);
		CHECK(rg_user_set(&x, name, "someone else", NULL, 0, "basic") == RG_OK);
		CHECK(rg_session_issue(&cfg->auth, &x, &t, NULL, &err) == RG_OK);
		CHECK_STR(verify(cfg, t, now, &u, msg, sizeof(msg)), "");
		CHECK_STR(u.id, name);
		CHECK_STR(u.name, name); /* the record's display name, not the caller's */
		CHECK_STR(verify(cfg, t, now, &u, msg, sizeof(msg)), "");
		CHECK_STR(u.id, name);
		rg_user_clear(&x);
		free(t);
	}
	CHECK_STR(verify(cfg, tok_bob, now, &u, msg, sizeof(msg)), "");
	CHECK_STR(u.name, "Bob");

	rg_user_clear(&u);
	rg_user_clear(&ann);
	rg_user_clear(&bob);
	free(tok);
	free(tok_bob);
	rg_config_free(cfg);
	rg_config_free(other);
	rg_config_free(reload);
	CHECK_DONE();
}
