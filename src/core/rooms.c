/*
 * rooms.c - unique room names: prefix + 128 bits from OpenSSL's CSPRNG.
 *
 * A token's roomConfig.agents only act when the connect creates the room,
 * so every session gets a room nobody has used: 128 random bits, base64url
 * (22 characters, URL-safe), never derived from time or a counter.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "base/util.h"
#include "livekit/token.h"

rg_err rg_room_new_name(const char *prefix, char *buf, size_t buflen)
{
	unsigned char raw[16];
	char *enc;
	size_t plen = prefix ? strlen(prefix) : 0;

	if (!buf || plen + 22 > RG_MAX_NAME || buflen < plen + 23)
		return RG_ERR_INVALID;
	if (RAND_bytes(raw, sizeof(raw)) != 1)
		return RG_ERR_CRYPTO;
	enc = rg_b64url_encode(raw, sizeof(raw));
	OPENSSL_cleanse(raw, sizeof(raw));
	if (!enc)
		return RG_ERR_NOMEM;
	snprintf(buf, buflen, "%s%s", prefix ? prefix : "", enc);
	free(enc);
	return RG_OK;
}
