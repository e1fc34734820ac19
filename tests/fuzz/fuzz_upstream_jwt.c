/* Fuzz target: upstream JWT verification (HS256 secret, EC key from a JWKS
 * file), alg selection and claim extraction. */
#include <unistd.h>

#include "auth/upstream.h"
#include "core/config.h"
#include "fuzz_common.h"

static const char jwks[] =
	"{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\"k1\",\"use\":\"sig\","
	"\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\","
	"\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\"}]}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static rg_config_t *cfg;
	rg_user_t user = {0};
	rg_error err;
	char *tok;

	if (!cfg) {
		char dir[] = "/tmp/rg-fuzz-XXXXXX", path[64], text[2048];
		FILE *f;
		if (!mkdtemp(dir))
			abort();
		snprintf(path, sizeof(path), "%s/jwks.json", dir);
		if (!(f = fopen(path, "w")) || fputs(jwks, f) < 0 || fclose(f))
			abort();
		snprintf(text, sizeof(text),
			 "{\"livekit\":{\"url\":\"ws://127.0.0.1:9\",\"api_key\":\"k\",\"api_secret\":\"s\"},"
			 "\"upstream_jwt\":{\"issuer\":\"https://idp\",\"audience\":[\"a\",\"b\"],"
			 "\"algorithms\":[\"HS256\",\"ES256\",\"RS256\"],\"secret\":\"upstream-secret\","
			 "\"jwks_file\":\"%s\",\"claims\":{\"groups\":\"realm.roles\"}}}",
			 path);
		if (rg_config_parse(text, strlen(text), NULL, &cfg, &err)) {
			fprintf(stderr, "fuzz config: %s\n", err.message);
			abort();
		}
		unlink(path);
		rmdir(dir);
	}
	if (size > 20000)
		return 0;
	tok = strndup((const char *)data, size);
	if (!tok)
		return 0;
	if (!rg_upstream_verify(cfg->auth.upstream, cfg->auth.n_upstream, tok, &user, &err))
		rg_user_clear(&user);
	free(tok);
	return 0;
}
