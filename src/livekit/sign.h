/*
 * sign.h - HS256 with a keyed, reusable HMAC context (sign.c). The signer
 * type and rg_signer_new/free are public (roomgate.h).
 */
#ifndef RG_LIVEKIT_SIGN_H
#define RG_LIVEKIT_SIGN_H

#include <jansson.h>
#include <stdbool.h>
#include <time.h>

#include "roomgate.h"

rg_err rg_signer_sign(const rg_signer_t *s, const char *payload, size_t n, char **jwt);
/* Signs `claims` plus ("iss" when with_iss,) "nbf" and "exp". */
rg_err rg_signer_sign_json(const rg_signer_t *s, const json_t *claims, bool with_iss, time_t nbf,
			   time_t exp, char **jwt);
/* Differs between any two signers made by one process (never reused). */
unsigned long rg_signer_serial(const rg_signer_t *s);
/* Verifies a JWT this signer made (exact header, HMAC, nbf/exp with leeway). */
rg_err rg_signer_verify(const rg_signer_t *s, const char *jwt, time_t now, json_t **payload,
			rg_error *err);

#endif
