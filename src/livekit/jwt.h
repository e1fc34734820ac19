/*
 * jwt.h - the checks every JWT roomgate reads goes through (jwt.c).
 */
#ifndef RG_LIVEKIT_JWT_H
#define RG_LIVEKIT_JWT_H

#include <jansson.h>
#include <jwt.h>
#include <stddef.h>
#include <stdbool.h>
#include <time.h>

#include "roomgate.h"

#define RG_LEEWAY 60 /* seconds of clock skew allowed on exp and nbf */

/* One base64url part of a JWT as JSON (new reference), or NULL. */
json_t *rg_jwt_decode_part(const char *s, size_t n);
/* Both JSON parts of a JWT decode and are nested at most RG_MAX_JSON_DEPTH. */
bool rg_jwt_parts_ok(const char *jwt);
/* RFC 7515 4.1.11: a header that lists critical extensions ("crit") must be
 * refused by a recipient that does not understand them, and roomgate
 * understands none; "b64" (RFC 7797, an unencoded payload) is refused with
 * or without "crit". NULL on success, else why. */
const char *rg_jwt_header_refused(const json_t *header);
/* The signature of the compact JWS `token` under `alg` (HS*, RS*, ES*;
 * never none) with `key`: an HMAC secret of keylen bytes for HS*, a PEM
 * public key for RS* (PKCS#1 v1.5, an RSA key) and ES* (the JOSE r||s
 * signature, a key on the curve the alg names). OpenSSL's EVP verify, so
 * that the header's typ is the caller's to judge (libjwt 1.x refuses every
 * typ but JWT, RFC 9068's at+jwt too). */
bool rg_jwt_signature_ok(const char *token, jwt_alg_t alg, const char *key, size_t keylen);
/* A JWT payload's exp (required, integer) and nbf (optional, integer) at
 * `now`, with RG_LEEWAY: one check for every token roomgate signs. */
rg_err rg_jwt_check_times(const json_t *payload, time_t now, rg_error *err);
/* Verifies an HS256 JWT with `secret` (alg must be HS256, nbf/exp with leeway)
 * and returns the payload (new reference). */
rg_err rg_jwt_verify_hs256(const char *jwt, const char *secret, time_t now,
			   json_t **payload, rg_error *err);

#endif
