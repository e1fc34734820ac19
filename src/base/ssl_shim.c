/*
 * ssl_shim.c - the OpenSSL 1.1 name Debian 12's civetweb looks for.
 *
 * Debian builds civetweb 1.15 to load OpenSSL at run time: it dlopen()s
 * "libssl.so" and "libcrypto.so" (the unversioned names, which only the -dev
 * packages provide) and looks each function up by name. One of those names,
 * SSL_get_peer_certificate, is only a macro in OpenSSL 3, so civetweb gets
 * a NULL pointer and calls it after every TLS handshake.
 *
 * This file is built twice as tiny shared objects whose SONAMEs are
 * "libssl.so" and "libcrypto.so", linked to OpenSSL 3's real libraries.
 * roomgate loads them (src/http/civetweb.c) before civetweb starts TLS; the
 * dynamic linker then answers civetweb's dlopen("libssl.so") with the shim,
 * and civetweb's lookups find OpenSSL 3's functions through the shim's
 * dependencies, plus this one function with the old name. Nothing else in
 * the process is affected. Remove it once civetweb is built for OpenSSL 3.
 */

/* not <openssl/ssl.h>: it defines the old name as a macro */
typedef struct ssl_st SSL;
typedef struct x509_st X509;
X509 *SSL_get1_peer_certificate(const SSL *s);

#ifdef RG_SHIM_LIBSSL
X509 *SSL_get_peer_certificate(const SSL *s);

/* Same meaning: civetweb frees the certificate it is given. */
X509 *SSL_get_peer_certificate(const SSL *s)
{
	return SSL_get1_peer_certificate(s);
}
#else
/* The libcrypto shim only carries the dependency on libcrypto.so.3. */
int rg_crypto_shim(void);
int rg_crypto_shim(void)
{
	return 0;
}
#endif
