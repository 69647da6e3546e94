/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libktls for programs that already run their own GnuTLS handshakes.
 * Kept apart from ktls.h so that ordinary users need no GnuTLS headers.
 */
#ifndef KTLS_GNUTLS_H
#define KTLS_GNUTLS_H

#include <gnutls/gnutls.h>

#include <ktls.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * ktls_conn_adopt() - turn an application's established GnuTLS session into
 * a kTLS connection.
 * @config: supplies the offload policy and the log callback; its role must
 *          be the session's side (GnuTLS has no call to check it).  The
 *          connection holds a reference.
 * @session: a session whose handshake has completed.  On success the
 *           connection owns it and deinitialises it in ktls_conn_free(); the
 *           credentials attached to it stay the application's and must
 *           outlive the connection.
 * @fd: the connected socket the session runs on.
 * @flags: 0 or KTLS_CONN_OWN_FD.
 * @ret_conn: the new connection, ready for data.
 *
 * The kernel sends records of up to 16384 bytes; libktls cannot see after
 * the fact whether the peer negotiated a smaller record_size_limit or
 * max_fragment_length, so with such peers set the TX policy to OFF.
 *
 * libktls takes over the session's user pointer (gnutls_session_set_ptr)
 * and transport functions.  Application data GnuTLS has already decrypted is
 * kept and returned first by ktls_conn_recv().  The session's transport must not have read ahead of
 * the records GnuTLS processed (GnuTLS's own socket transport does not).
 *
 * On failure the caller still owns @session and @fd.  Only a REQUIRE policy
 * whose second key the kernel refuses can fail after the first key moved;
 * the session is then unusable and ktls_config_error() says so.
 * Return: 0, -EINVAL (handshake not complete, role mismatch), -EOPNOTSUPP
 *         (policy REQUIRE and the kernel cannot take the keys), -ENOMEM.
 */
int ktls_conn_adopt(struct ktls_config *config, gnutls_session_t session, int fd,
		    unsigned int flags, struct ktls_conn **ret_conn);

#ifdef __cplusplus
}
#endif

#endif /* KTLS_GNUTLS_H */
