/*
 * hash.c - SipHash-2-4 for tables keyed by strings from outside.
 */
#include <openssl/rand.h>

#include "base/hash.h"

int rg_hash_key_new(rg_hash_key *key)
{
	uint64_t k[2];

	if (RAND_bytes((unsigned char *)k, sizeof(k)) != 1)
		return -1;
	key->k0 = k[0];
	key->k1 = k[1];
	return 0;
}

/* SipHash-2-4 (Aumasson and Bernstein), 64-bit output. */
#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                                                                                   \
	do {                                                                                       \
		v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32);                          \
		v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2;                                             \
		v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0;                                             \
		v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32);                          \
	} while (0)

uint64_t rg_siphash(const rg_hash_key *key, const void *data, size_t len)
{
	const unsigned char *in = data;
	uint64_t k0 = key->k0, k1 = key->k1;
	uint64_t v0 = k0 ^ 0x736f6d6570736575ULL, v1 = k1 ^ 0x646f72616e646f6dULL;
	uint64_t v2 = k0 ^ 0x6c7967656e657261ULL, v3 = k1 ^ 0x7465646279746573ULL;
	uint64_t b = (uint64_t)len << 56, m;
	size_t i, left = len & 7;

	for (i = 0; i + 8 <= len; i += 8) {
		m = 0;
		for (int j = 0; j < 8; j++)
			m |= (uint64_t)in[i + (size_t)j] << (8 * j);
		v3 ^= m;
		SIPROUND;
		SIPROUND;
		v0 ^= m;
	}
	for (size_t j = 0; j < left; j++)
		b |= (uint64_t)in[i + j] << (8 * j);
	v3 ^= b;
	SIPROUND;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}
