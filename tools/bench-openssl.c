/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ktls bench's OpenSSL peer: an OpenSSL 3 TLS server with OpenSSL's own
 * kTLS (SSL_OP_ENABLE_KTLS) that sends with SSL_sendfile().  OpenSSL 3.0
 * puts a key in the kernel after the handshake only for ciphers its Linux
 * kTLS code knows (ssl/ktls.c, ktls_check_supported_cipher()) and, for TLS
 * 1.3, only for TX; whether it did is asked, never assumed:
 * BIO_get_ktls_send() on the socket BIO.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "bench-openssl.h"

struct bench_openssl {
	SSL_CTX *ctx;
	SSL *ssl;
};

/* GnuTLS cipher names (what ktls bench takes) in OpenSSL's names, per version. */
static const struct {
	const char *gnutls, *tls13, *tls12;
} cipher_map[] = {
	/* TLS 1.2 suites: ECDHE with the ECDSA P-256 certificate every mode uses */
	{ "AES-128-GCM", "TLS_AES_128_GCM_SHA256", "ECDHE-ECDSA-AES128-GCM-SHA256" },
	{ "AES-256-GCM", "TLS_AES_256_GCM_SHA384", "ECDHE-ECDSA-AES256-GCM-SHA384" },
	{ "AES-128-CCM", "TLS_AES_128_CCM_SHA256", "ECDHE-ECDSA-AES128-CCM" },
	{ "CHACHA20-POLY1305", "TLS_CHACHA20_POLY1305_SHA256", "ECDHE-ECDSA-CHACHA20-POLY1305" },
};

const char *bench_openssl_version(void)
{
	return OpenSSL_version(OPENSSL_VERSION);
}

/* @what, then OpenSSL's first queued error (or @fallback_errno's text); clears the queue. */
static void openssl_reason(char *why, size_t size, const char *what, int fallback_errno)
{
	unsigned long e = ERR_get_error();
	char text[256];

	if (e != 0)
		ERR_error_string_n(e, text, sizeof(text));
	else
		snprintf(text, sizeof(text), "%s", strerror(fallback_errno));
	snprintf(why, size, "OpenSSL %s: %s", what, text);
	ERR_clear_error();
}

static int openssl_configure(SSL_CTX *ctx, const char *cert, const char *key, const char *cipher,
			     const char *version, char *why, size_t why_size)
{
	bool tls13 = strcmp(version, "1.3") == 0;
	int v = tls13 ? TLS1_3_VERSION : TLS1_2_VERSION;
	const char *name = NULL;

	for (size_t i = 0; i < sizeof(cipher_map) / sizeof(cipher_map[0]); i++)
		if (strcmp(cipher, cipher_map[i].gnutls) == 0)
			name = tls13 ? cipher_map[i].tls13 : cipher_map[i].tls12;
	if (name == NULL) {
		snprintf(why, why_size, "OpenSSL mode: no OpenSSL name for cipher %s", cipher);
		return -EINVAL;
	}
	/* Each call below leaves its reason in OpenSSL's error queue. */
	if (SSL_CTX_set_min_proto_version(ctx, v) != 1 || SSL_CTX_set_max_proto_version(ctx, v) != 1) {
		openssl_reason(why, why_size, "TLS version", EINVAL);
		return -EINVAL;
	}
	if (tls13 ? SSL_CTX_set_ciphersuites(ctx, name) != 1
		  : SSL_CTX_set_cipher_list(ctx, name) != 1) {
		openssl_reason(why, why_size, name, EINVAL);
		return -EINVAL;
	}
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		openssl_reason(why, why_size, "certificate and key", EINVAL);
		return -EINVAL;
	}
	/* What `Options = KTLS` in an OPENSSL_CONF file would set, per context. */
	SSL_CTX_set_options(ctx, SSL_OP_ENABLE_KTLS);
	return 0;
}

int bench_openssl_accept(int fd, const char *cert, const char *key, const char *cipher,
			 const char *version, struct bench_openssl **ret_session, char *why,
			 size_t why_size)
{
	struct bench_openssl *o = calloc(1, sizeof(*o));
	int ret;

	ERR_clear_error();
	if (o == NULL || (o->ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
		snprintf(why, why_size, "OpenSSL: out of memory");
		bench_openssl_free(o);
		return -ENOMEM;
	}
	ret = openssl_configure(o->ctx, cert, key, cipher, version, why, why_size);
	if (ret < 0) {
		bench_openssl_free(o);
		return ret;
	}
	o->ssl = SSL_new(o->ctx);
	if (o->ssl == NULL || SSL_set_fd(o->ssl, fd) != 1) {
		openssl_reason(why, why_size, "SSL_new/SSL_set_fd", ENOMEM);
		bench_openssl_free(o);
		return -ENOMEM;
	}
	ret = SSL_accept(o->ssl);
	if (ret != 1) {
		int err = SSL_get_error(o->ssl, ret);

		openssl_reason(why, why_size, err == SSL_ERROR_SYSCALL ? "handshake (system call)"
							       : "handshake",
			       err == SSL_ERROR_SYSCALL && errno != 0 ? errno : EPROTO);
		bench_openssl_free(o);
		return -EPROTO;
	}
	*ret_session = o;
	if (BIO_get_ktls_send(SSL_get_wbio(o->ssl)) != 1) {
		/* seen with 3.0.22: its Linux kTLS code takes CCM for TLS 1.2 only */
		bool ccm13 = strcmp(cipher, "AES-128-CCM") == 0 && strcmp(version, "1.3") == 0;

		snprintf(why, why_size,
			 "%s kept TX in userspace for %s with TLS %s (BIO_get_ktls_send() is 0 after "
			 "the handshake)%s; SSL_sendfile needs kernel TX",
			 bench_openssl_version(), SSL_get_cipher_name(o->ssl), version,
			 ccm13 ? ": OpenSSL's kTLS declines AES-128-CCM with TLS 1.3" : "");
		return -EOPNOTSUPP;
	}
	return 0;
}

ssize_t bench_openssl_sendfile(struct bench_openssl *session, int file_fd, off_t *offset,
			       size_t size, char *why, size_t why_size)
{
	ossl_ssize_t n;

	errno = 0;
	n = SSL_sendfile(session->ssl, file_fd, *offset, size, 0);
	if (n < 0) {
		int err = errno != 0 ? errno : EIO;

		openssl_reason(why, why_size, "SSL_sendfile", err);
		return -err;
	}
	*offset += n;
	return n;
}

int bench_openssl_shutdown(struct bench_openssl *session, char *why, size_t why_size)
{
	/* 0: our close_notify is out, the peer's not yet read; the receiver sends none. */
	if (SSL_shutdown(session->ssl) < 0) {
		openssl_reason(why, why_size, "SSL_shutdown", EIO);
		return -EIO;
	}
	return 0;
}

void bench_openssl_free(struct bench_openssl *session)
{
	if (session == NULL)
		return;
	SSL_free(session->ssl); /* SSL_set_fd's BIO does not close the socket (BIO_NOCLOSE) */
	SSL_CTX_free(session->ctx);
	free(session);
}
