/* Unit tests: session tokens (/v1/login's bearer tokens) and the cache of
 * verified ones: a cached token must keep failing every check that an
 * uncached one fails (expiry, not-yet-valid, removed user, other secret,
 * other bytes), and follows the current users record (groups, display name,
 * password) and logouts (revoked.c). */
#include <stdlib.h>

#include "check.h"
#include "auth/revoked.h"
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

	/* two logins, two tokens (each has its own jti) */
	{
		char *t1 = NULL, *t2 = NULL;
		long retry = -1;
		CHECK(rg_session_issue(&reload->auth, &bob, &t1, NULL, &err) == RG_OK);
		CHECK(rg_session_issue(&reload->auth, &bob, &t2, NULL, &err) == RG_OK);
		CHECK(strcmp(t1, t2) != 0);
		CHECK_STR(verify(reload, t1, now, &u, msg, sizeof(msg)), ""); /* now cached */
		/* a token ended: refused at once, cached or not; others unaffected */
		CHECK(rg_session_end_at(&reload->auth, t1, now, &retry, &err) == RG_OK && retry == 0);
		CHECK_STR(verify(reload, t1, now, &u, msg, sizeof(msg)), "invalid_credentials");
		CHECK_STR(msg, "the session has ended (signed out): sign in again");
		CHECK(u.id == NULL);
		CHECK_STR(verify(other, t1, now, &u, msg, sizeof(msg)), "invalid_credentials");
		CHECK_STR(verify(reload, t2, now, &u, msg, sizeof(msg)), "");
		CHECK_STR(verify(reload, tok, now, &u, msg, sizeof(msg)), "");
		CHECK_STR(verify(reload, tok_bob, now, &u, msg, sizeof(msg)), "");
		/* ending it again: it is no longer a credential */
		CHECK(rg_session_end_at(&reload->auth, t1, now, &retry, &err) ==
		      RG_ERR_UNAUTHENTICATED);
		/* a config reloaded with the same secret still refuses it */
		CHECK_STR(verify(cfg, t1, now, &u, msg, sizeof(msg)), "invalid_credentials");
		/* not a token, or another kind: nothing ended */
		CHECK(rg_session_end_at(&reload->auth, "x.y.z", now, &retry, &err) ==
		      RG_ERR_UNAUTHENTICATED);
		free(t1);
		free(t2);
	}

	/* the list is bounded: at the cap a logout is refused (503 with a
	 * wait), not forgotten; an id goes when its token would have expired */
	{
		long retry = 0;
		char *t[3] = {NULL, NULL, NULL};
		rg_revoked_reset(2);
		for (int i = 0; i < 3; i++)
			CHECK(rg_session_issue(&reload->auth, &bob, &t[i], NULL, &err) == RG_OK);
		CHECK(rg_session_end_at(&reload->auth, t[0], now, &retry, &err) == RG_OK);
		CHECK(rg_session_end_at(&reload->auth, t[1], now, &retry, &err) == RG_OK);
		CHECK(rg_session_end_at(&reload->auth, t[2], now, &retry, &err) == RG_ERR_UNAVAILABLE);
		CHECK_STR(err.code, "unavailable");
		/* the tokens were made at the clock's time, up to some seconds after
		 * `now` on a slow (sanitizer) run: the wait counts from `now` */
		CHECK(retry > 0 && retry <= 600 + RG_LEEWAY + 1 + (long)(rg_now() - now));
		CHECK_STR(verify(reload, t[2], now, &u, msg, sizeof(msg)), "");
		CHECK_STR(verify(reload, t[0], now, &u, msg, sizeof(msg)), "invalid_credentials");
		/* the store itself: expired ids make room */
		rg_revoked_reset(2);
		CHECK(rg_revoked_add("a", now + 10, now, &retry) == RG_OK);
		CHECK(rg_revoked_add("b", now + 20, now, &retry) == RG_OK);
		CHECK(rg_revoked_add("a", now + 5, now, &retry) == RG_OK); /* again: kept */
		CHECK(rg_revoked_add("c", now + 30, now, &retry) == RG_ERR_UNAVAILABLE);
		CHECK(retry == 11);
		CHECK(rg_revoked_add("c", now + 30, now + 5, &retry) == RG_ERR_UNAVAILABLE);
		CHECK(rg_revoked_has("a", now + 10) && !rg_revoked_has("a", now + 11));
		CHECK(!rg_revoked_has("c", now));
		CHECK(rg_revoked_add("c", now + 30, now + 11, &retry) == RG_OK);
		CHECK(rg_revoked_has("b", now + 11) && rg_revoked_has("c", now + 11));
		CHECK(rg_revoked_add("123456789012345678901234", now + 30, now, &retry) ==
		      RG_ERR_INVALID);
		/* many ids: the table grows and finds each */
		rg_revoked_reset(0);
		for (int i = 0; i < 5000; i++) {
			char id[16];
			snprintf(id, sizeof(id), "id%d", i);
			CHECK(rg_revoked_add(id, now + 100 + i % 7, now, &retry) == RG_OK);
		}
		for (int i = 0; i < 5000; i++) {
			char id[16];
			snprintf(id, sizeof(id), "id%d", i);
			if (!rg_revoked_has(id, now + 100))
				CHECK(!"an id was lost");
		}
		CHECK(!rg_revoked_has("id5000", now));
		rg_revoked_reset(0);
		for (int i = 0; i < 3; i++)
			free(t[i]);
	}

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
