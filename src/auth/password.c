/*
 * password.c - password hashing with PBKDF2-HMAC-SHA256 (OpenSSL).
 *
 * Encoded form: $pbkdf2-sha256$<iterations>$<salt>$<hash>, salt and hash in
 * base64url without padding (no ':' so it fits the users file). Comparison
 * is constant-time (CRYPTO_memcmp).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "base/util.h"

#define PREFIX "$pbkdf2-sha256$"
#define SALT_LEN 16
#define HASH_LEN 32
#define MAX_ITERATIONS 10000000u

static int derive(const char *password, const unsigned char *salt, size_t salt_len,
		  unsigned iterations, unsigned char *out)
{
	return PKCS5_PBKDF2_HMAC(password, (int)strlen(password), salt, (int)salt_len,
				 (int)iterations, EVP_sha256(), HASH_LEN, out);
}

rg_err rg_password_hash(const char *password, unsigned iterations, char **out)
{
	unsigned char salt[SALT_LEN], hash[HASH_LEN];
	char *s = NULL, *h = NULL, *buf = NULL;
	size_t n;
	rg_err rc = RG_OK;

	*out = NULL;
	if (!password)
		return RG_ERR_INVALID;
	if (!iterations)
		iterations = RG_PBKDF2_ITERATIONS;
	if (iterations > MAX_ITERATIONS)
		return RG_ERR_INVALID;
	if (RAND_bytes(salt, sizeof(salt)) != 1 || derive(password, salt, sizeof(salt), iterations, hash) != 1) {
		rc = RG_ERR_CRYPTO;
		goto out;
	}
	s = rg_b64url_encode(salt, sizeof(salt));
	h = rg_b64url_encode(hash, sizeof(hash));
	if (!s || !h) {
		rc = RG_ERR_NOMEM;
		goto out;
	}
	n = strlen(PREFIX) + 12 + strlen(s) + strlen(h) + 3;
	if (!(buf = malloc(n))) {
		rc = RG_ERR_NOMEM;
		goto out;
	}
	snprintf(buf, n, PREFIX "%u$%s$%s", iterations, s, h);
	*out = buf;
out:
	OPENSSL_cleanse(hash, sizeof(hash));
	free(s);
	free(h);
	return rc;
}

int rg_password_verify(const char *password, const char *encoded)
{
	unsigned char computed[HASH_LEN], *salt = NULL, *hash = NULL;
	size_t salt_len = 0, hash_len = 0;
	const char *p, *d1, *d2;
	char *end;
	unsigned long iterations;
	int ok = 0;

	if (!password || !encoded || strncmp(encoded, PREFIX, strlen(PREFIX)))
		return 0;
	p = encoded + strlen(PREFIX);
	iterations = strtoul(p, &end, 10);
	if (end == p || *end != '$' || iterations < 1 || iterations > MAX_ITERATIONS)
		return 0;
	d1 = end + 1;
	if (!(d2 = strchr(d1, '$')))
		return 0;
	salt = rg_b64_decode(d1, (size_t)(d2 - d1), &salt_len);
	hash = rg_b64_decode(d2 + 1, strlen(d2 + 1), &hash_len);
	if (!salt || !hash || salt_len < 8 || hash_len != HASH_LEN)
		goto out;
	if (derive(password, salt, salt_len, (unsigned)iterations, computed) != 1)
		goto out;
	ok = CRYPTO_memcmp(computed, hash, HASH_LEN) == 0;
out:
	OPENSSL_cleanse(computed, sizeof(computed));
	free(salt);
	free(hash);
	return ok;
}
