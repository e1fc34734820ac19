/* An identity provider by its issuer alone (auth/oidc.h): where discovery
 * looks, which URLs may carry keys, which algorithms a document allows;
 * Cache-Control max-age (base/fetch.h); claim paths (auth/upstream.h). */
#include <jwt.h>
#include <string.h>

#include "check.h"
#include "auth/oidc.h"
#include "auth/upstream.h"
#include "base/fetch.h"

static void config_urls(void)
{
	static const char *const cases[][3] = {
		/* issuer, OpenID Connect Discovery, RFC 8414 */
		{"https://idp.example.com", "https://idp.example.com/.well-known/openid-configuration",
		 "https://idp.example.com/.well-known/oauth-authorization-server"},
		{"https://tenant.auth0.com/", "https://tenant.auth0.com/.well-known/openid-configuration",
		 "https://tenant.auth0.com/.well-known/oauth-authorization-server"},
		{"https://kc.example.com/realms/main",
		 "https://kc.example.com/realms/main/.well-known/openid-configuration",
		 "https://kc.example.com/.well-known/oauth-authorization-server/realms/main"},
		{"https://login.microsoftonline.com/TID/v2.0",
		 "https://login.microsoftonline.com/TID/v2.0/.well-known/openid-configuration",
		 "https://login.microsoftonline.com/.well-known/oauth-authorization-server/TID/v2.0"},
		{"http://127.0.0.1:9000/a/", "http://127.0.0.1:9000/a/.well-known/openid-configuration",
		 "http://127.0.0.1:9000/.well-known/oauth-authorization-server/a"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *oidc = rg_oidc_config_url(cases[i][0], false);
		char *rfc = rg_oidc_config_url(cases[i][0], true);
		CHECK_STR(oidc, cases[i][1]);
		CHECK_STR(rfc, cases[i][2]);
		free(oidc);
		free(rfc);
	}
}

static void secure_urls(void)
{
	static const char *const ok[] = {
		"https://idp.example.com", "https://idp.example.com/realms/x", "http://127.0.0.1:8080/",
		"http://127.3.4.5/x", "http://localhost:1234/idp", "http://LOCALHOST", "http://[::1]:9/x",
	};
	static const char *const refused[] = {
		"http://idp.example.com/", "http://128.0.0.1/", "http://127.0.0.1.evil.com/",
		"http://localhost.evil.com/", "http://127.0.0.1@evil.com/", "https://user@idp/",
		"http://[::2]/", "ftp://127.0.0.1/", "file:///etc/passwd", "https://", "http://:80/",
		"127.0.0.1", "",
	};

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		if (!rg_oidc_url_secure(ok[i]))
			fprintf(stderr, "refused: %s\n", ok[i]);
		CHECK(rg_oidc_url_secure(ok[i]));
	}
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		if (rg_oidc_url_secure(refused[i]))
			fprintf(stderr, "accepted: %s\n", refused[i]);
		CHECK(!rg_oidc_url_secure(refused[i]));
	}
	CHECK(!rg_oidc_url_secure(NULL));
}

static void algorithms(void)
{
	json_t *names = json_pack("[s,s,s,s,s,s,s,s]", "RS256", "none", "HS256", "PS256", "EdDSA",
				  "ES384", "rs512", "ES256");
	unsigned algs = rg_oidc_algs(names);
	char buf[128];

	/* only the RS and ES ones, spelled exactly */
	CHECK(algs == ((1u << JWT_ALG_RS256) | (1u << JWT_ALG_ES384) | (1u << JWT_ALG_ES256)));
	CHECK_STR(rg_oidc_alg_list(algs, buf, sizeof(buf)), "RS256, ES256, ES384");
	CHECK(rg_oidc_algs(NULL) == 0);
	CHECK_STR(rg_oidc_alg_list(0, buf, sizeof(buf)), "");
	json_decref(names);
}

static void max_age(void)
{
	CHECK(rg_cache_max_age(" public, max-age=3600") == 3600);
	CHECK(rg_cache_max_age("max-age=0") == 0);
	CHECK(rg_cache_max_age("no-cache,max-age=20, must-revalidate") == 20);
	CHECK(rg_cache_max_age("MAX-AGE=\"15\"") == 15);
	CHECK(rg_cache_max_age("s-maxage=60") == -1);
	CHECK(rg_cache_max_age("smax-age=60") == -1);
	CHECK(rg_cache_max_age("no-store") == -1);
	CHECK(rg_cache_max_age("max-age=") == -1);
	CHECK(rg_cache_max_age("max-age=99999999999999999999") > 0);
	CHECK(rg_cache_max_age("") == -1);
}

static void claim_paths(void)
{
	json_t *p = json_loads("{\"sub\":\"u\",\"realm_access\":{\"roles\":[\"staff\"]},"
			       "\"resource_access\":{\"roomgate\":{\"roles\":[\"admin\"]}},"
			       "\"https://roomgate.example.com/roles\":[\"ns\"],"
			       "\"https://x.example.com/app\":{\"roles\":\"deep\"},"
			       "\"a.b\":\"literal\",\"a\":{\"b\":\"nested\"}}",
			       0, NULL);

	CHECK_STR(json_string_value(rg_upstream_claim(p, "sub")), "u");
	CHECK_STR(json_string_value(json_array_get(rg_upstream_claim(p, "realm_access.roles"), 0)),
		  "staff");
	CHECK_STR(json_string_value(
			  json_array_get(rg_upstream_claim(p, "resource_access.roomgate.roles"), 0)),
		  "admin");
	/* Auth0-style namespaced claims hold dots: the whole name is a key */
	CHECK_STR(json_string_value(
			  json_array_get(rg_upstream_claim(p, "https://roomgate.example.com/roles"), 0)),
		  "ns");
	CHECK_STR(json_string_value(rg_upstream_claim(p, "https://x.example.com/app.roles")), "deep");
	CHECK_STR(json_string_value(rg_upstream_claim(p, "a.b")), "literal");
	CHECK(rg_upstream_claim(p, "realm_access.missing") == NULL);
	CHECK(rg_upstream_claim(p, "sub.x") == NULL);
	CHECK(rg_upstream_claim(p, "") == NULL);
	CHECK(rg_upstream_claim(p, NULL) == NULL);
	json_decref(p);
}

int main(void)
{
	config_urls();
	secure_urls();
	algorithms();
	max_age();
	claim_paths();
	CHECK_DONE();
}
