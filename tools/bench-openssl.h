/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ktls bench's OpenSSL peer: a TLS server made with OpenSSL 3 and its own
 * kTLS (SSL_OP_ENABLE_KTLS), sending a file with SSL_sendfile().  It shares
 * nothing with libktls, so it is an independent kTLS implementation to
 * compare with.  Built only when OpenSSL's development files were found
 * (meson option "openssl"); ktls-bench.c then defines KTLS_BENCH_OPENSSL.
 */
#ifndef KTLS_BENCH_OPENSSL_H
#define KTLS_BENCH_OPENSSL_H

#include <stddef.h>
#include <sys/types.h>

struct bench_openssl;

/* OpenSSL's version text, e.g. "OpenSSL 3.0.22 1 Oct 2024". */
const char *bench_openssl_version(void);

/*
 * Accept a TLS connection on the connected socket @fd as the server, with
 * the certificate and key in PEM files @cert and @key, only the cipher
 * @cipher (GnuTLS's name, e.g. "AES-128-GCM") and only TLS @version ("1.2"
 * or "1.3"), asking OpenSSL to put the keys in the kernel.  After the
 * handshake, OpenSSL must have given the TX key to the kernel
 * (BIO_get_ktls_send()).  @fd stays the caller's.
 *
 * Returns 0 with the session in *@ret_session; -EOPNOTSUPP when OpenSSL did
 * not offload TX (the session is still returned, so the caller can end it
 * cleanly); another negative errno on failure.  Either way @why gets the
 * reason when not 0.
 */
int bench_openssl_accept(int fd, const char *cert, const char *key, const char *cipher,
			 const char *version, struct bench_openssl **ret_session, char *why,
			 size_t why_size);

/*
 * SSL_sendfile() of @size bytes of @file_fd from *@offset: one sendfile(2)
 * on the kTLS socket; *@offset advances by what was sent.  Returns the bytes
 * sent or a negative errno, with OpenSSL's reason in @why.
 */
ssize_t bench_openssl_sendfile(struct bench_openssl *session, int file_fd, off_t *offset,
			       size_t size, char *why, size_t why_size);

/* Send close_notify (through the kernel when it holds the TX key); 0 or a negative errno. */
int bench_openssl_shutdown(struct bench_openssl *session, char *why, size_t why_size);

/* Free the session; NULL is fine.  The socket stays open. */
void bench_openssl_free(struct bench_openssl *session);

#endif
