/*
 * hash.h - SipHash-2-4 (hash.c): the keyed hash of every table whose keys
 * come from outside (failed-login keys, room names, webhook ids), so that
 * nobody can choose keys that collide. Each table draws its own key.
 */
#ifndef RG_BASE_HASH_H
#define RG_BASE_HASH_H

#include <stddef.h>
#include <stdint.h>

typedef struct rg_hash_key {
	uint64_t k0, k1;
} rg_hash_key;

/* A fresh random key (OpenSSL's CSPRNG); 0 on success, -1 if it failed. */
int rg_hash_key_new(rg_hash_key *key);
/* SipHash-2-4 (Aumasson and Bernstein) of `len` bytes, 64-bit output. */
uint64_t rg_siphash(const rg_hash_key *key, const void *in, size_t len);

#endif
