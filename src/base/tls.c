/*
 * tls.c - loads a PEM certificate chain and its unencrypted key into an
 * OpenSSL context: one loader for `config check` and the server's TLS
 * setup, so both accept exactly the same files.
 */
#include <stdio.h>

#include <openssl/pem.h>
#include <openssl/ssl.h>

#include "base/error.h"
#include "base/tls.h"

/* Encrypted keys are refused rather than prompting on a terminal. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf, (void)size, (void)rwflag, (void)u;
	return 0;
}

rg_err rg_tls_use(void *ssl_ctx, const char *cert, const char *key, rg_error *err)
{
	SSL_CTX *ctx = ssl_ctx;
	EVP_PKEY *pkey = NULL;
	FILE *f = NULL;
	rg_err rc = RG_OK;

	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		rc = rg_fail(err, RG_ERR_CONFIG, "config_error",
			     "tls.certificate: cannot load a PEM certificate from %s", cert);
		goto out;
	}
	if (!(f = fopen(key, "r")) || !(pkey = PEM_read_PrivateKey(f, NULL, no_passphrase, NULL))) {
		rc = rg_fail(err, RG_ERR_CONFIG, "config_error",
			     "tls.key: cannot load an unencrypted PEM private key from %s", key);
		goto out;
	}
	if (SSL_CTX_use_PrivateKey(ctx, pkey) != 1 || SSL_CTX_check_private_key(ctx) != 1)
		rc = rg_fail(err, RG_ERR_CONFIG, "config_error",
			     "tls: the key %s does not match the certificate %s", key, cert);
out:
	if (f)
		fclose(f);
	EVP_PKEY_free(pkey);
	return rc;
}
