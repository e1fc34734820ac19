/*
 * apikey.c - API keys for backends (Authorization: Bearer rk_...).
 *
 * Keys are 256 random bits, so a SHA-256 digest is a safe stored form (no
 * slow hash needed); the config holds only "sha256:<hex>". Every configured
 * digest is compared in constant time. A key's scopes say what more it may
 * do: "act_as" lets it set participant_identity for the user it serves.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "auth/apikey.h"
#include "base/error.h"
#include "base/util.h"

rg_err rg_apikey_digest(const char *key, unsigned char out[32])
{
	unsigned int len = 0;

	return EVP_Digest(key, strlen(key), out, &len, EVP_sha256(), NULL) == 1 && len == 32
		       ? RG_OK
		       : RG_ERR_CRYPTO;
}

rg_err rg_apikey_new(char **key, char **hash)
{
	unsigned char raw[32], digest[32];
	char *b64 = NULL, hex[65];
	rg_err rc = RG_ERR_CRYPTO;

	*key = *hash = NULL;
	if (RAND_bytes(raw, sizeof(raw)) != 1 || !(b64 = rg_b64url_encode(raw, sizeof(raw))))
		goto out;
	if (!(*key = malloc(strlen(b64) + 4)))
		goto out;
	snprintf(*key, strlen(b64) + 4, "rk_%s", b64);
	if (rg_apikey_digest(*key, digest))
		goto out;
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", digest[i]);
	if (!(*hash = malloc(72)))
		goto out;
	snprintf(*hash, 72, "sha256:%s", hex);
	rc = RG_OK;
out:
	OPENSSL_cleanse(raw, sizeof(raw));
	rg_free_secret(b64);
	if (rc) {
		rg_free_secret(*key);
		free(*hash);
		*key = *hash = NULL;
	}
	return rc;
}

rg_err rg_apikey_parse_hash(const char *s, unsigned char out[32])
{
	if (!s || strncmp(s, "sha256:", 7) || strlen(s) != 7 + 64)
		return RG_ERR_INVALID;
	for (int i = 0; i < 32; i++) {
		unsigned v;
		if (sscanf(s + 7 + 2 * i, "%2x", &v) != 1)
			return RG_ERR_INVALID;
		out[i] = (unsigned char)v;
	}
	return RG_OK;
}

rg_err rg_apikey_authenticate(const rg_apikey *keys, size_t n, const char *key, rg_user_t *user,
			      rg_error *err)
{
	unsigned char digest[32];
	const rg_apikey *found = NULL;

	if (rg_apikey_digest(key, digest))
		return rg_fail(err, RG_ERR_CRYPTO, NULL, "cannot hash the API key");
	for (size_t i = 0; i < n; i++)
		if (CRYPTO_memcmp(digest, keys[i].hash, 32) == 0)
			found = &keys[i];
	if (!found)
		return rg_fail(err, RG_ERR_UNAUTHENTICATED, "invalid_credentials", "unknown API key");
	if (rg_user_set(user, found->name, found->name, found->groups, found->ngroups, "api_key"))
		return rg_fail(err, RG_ERR_NOMEM, NULL, "out of memory");
	user->may_act_for_others = found->act_as;
	return RG_OK;
}
