/*
 * tls.h - a certificate chain and key into an OpenSSL context (tls.c).
 */
#ifndef RG_BASE_TLS_H
#define RG_BASE_TLS_H

#include "roomgate.h"

/* Loads a PEM certificate chain and an unencrypted PEM key into an SSL_CTX
 * and checks that they match (config check and the server's TLS setup). */
rg_err rg_tls_use(void *ssl_ctx, const char *cert, const char *key, rg_error *err);

#endif
