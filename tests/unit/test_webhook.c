/* Webhook verification (livekit/webhook.c), as LiveKit's WebhookReceiver:
 * signed with the secret of its iss, exp, the body's SHA-256, constant-time. */
#include <jwt.h>
#include <openssl/sha.h>
#include <stdlib.h>

#include "base/util.h"
#include "check.h"
#include "livekit/webhook.h"

static const char body[] = "{\"event\":\"room_started\",\"id\":\"EV_1\",\"room\":{\"name\":\"r\"}}";

/* A JWT as LiveKit signs one: iss, nbf, exp, sha256 = base64(SHA-256(b)). */
static char *sign(const char *key, const char *secret, const char *b, long ttl, bool with_hash)
{
	unsigned char d[SHA256_DIGEST_LENGTH];
	jwt_t *jwt = NULL;
	char *hash, *out;
	time_t now = time(NULL);

	SHA256((const unsigned char *)b, strlen(b), d);
	hash = rg_b64_encode(d, sizeof(d));
	jwt_new(&jwt);
	jwt_add_grant(jwt, "iss", key);
	jwt_add_grant_int(jwt, "nbf", now);
	jwt_add_grant_int(jwt, "exp", now + ttl);
	if (with_hash)
		jwt_add_grant(jwt, "sha256", hash);
	jwt_set_alg(jwt, JWT_ALG_HS256, (const unsigned char *)secret, (int)strlen(secret));
	out = jwt_encode_str(jwt);
	jwt_free(jwt);
	free(hash);
	return out;
}

static rg_err verify(const char *authz, const char *b)
{
	json_t *ev = NULL;
	rg_error err = {0};
	rg_err rc = rg_webhook_verify(authz, b, strlen(b), "APIkey", "the-secret", time(NULL), &ev,
				      &err);

	CHECK((rc == RG_OK) == (ev != NULL));
	if (rc)
		printf("  refused: %s\n", err.message);
	json_decref(ev);
	return rc;
}

int main(void)
{
	char *good = sign("APIkey", "the-secret", body, 300, true);
	char *bearer = malloc(strlen(good) + 8);
	char *other_secret = sign("APIkey", "not-the-secret", body, 300, true);
	char *other_key = sign("APIother", "the-secret", body, 300, true);
	char *expired = sign("APIkey", "the-secret", body, -600, true);
	char *no_hash = sign("APIkey", "the-secret", body, 300, false);
	char *not_event = sign("APIkey", "the-secret", "{\"x\":1}", 300, true);
	char none[512];

	snprintf(bearer, strlen(good) + 8, "Bearer %s", good);
	CHECK(verify(good, body) == RG_OK);
	CHECK(verify(bearer, body) == RG_OK);
	CHECK(verify(NULL, body) == RG_ERR_UNAUTHENTICATED);
	CHECK(verify("", body) == RG_ERR_UNAUTHENTICATED);
	CHECK(verify("not.a.jwt", body) == RG_ERR_UNAUTHENTICATED);
	CHECK(verify(other_secret, body) == RG_ERR_UNAUTHENTICATED);
	CHECK(verify(other_key, body) == RG_ERR_UNAUTHENTICATED);
	CHECK(verify(expired, body) == RG_ERR_UNAUTHENTICATED);
	CHECK(verify(no_hash, body) == RG_ERR_UNAUTHENTICATED);
	/* one byte of the body changed, or a byte added */
	{
		char altered[sizeof(body)];
		memcpy(altered, body, sizeof(body));
		altered[12] = 'X';
		CHECK(verify(good, altered) == RG_ERR_UNAUTHENTICATED);
		CHECK(verify(good, "{\"event\":\"room_started\",\"id\":\"EV_1\",\"room\":{\"name\":\"r\"}} ") ==
		      RG_ERR_UNAUTHENTICATED);
	}
	/* alg none: the same claims unsigned */
	{
		const char *dot = strchr(good, '.');
		size_t plen = strcspn(dot + 1, ".");
		snprintf(none, sizeof(none), "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.%.*s.", (int)plen,
			 dot + 1);
		CHECK(verify(none, body) == RG_ERR_UNAUTHENTICATED);
	}
	/* signed, but no LiveKit event: 400, not applied */
	CHECK(verify(not_event, "{\"x\":1}") == RG_ERR_INVALID);
	free(good);
	free(bearer);
	free(other_secret);
	free(other_key);
	free(expired);
	free(no_hash);
	free(not_event);
	CHECK_DONE();
}
