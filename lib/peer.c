/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The peer's certificate for the application: the chain as sent (DER), its
 * subject alternative names and its SHA-256 fingerprint.  GnuTLS keeps the
 * chain with the session, from the Certificate message on, and summary.c
 * copies it when the session goes: these work in the verify callback as
 * after the handshake.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include <gnutls/crypto.h>
#include <gnutls/x509.h>

#include "private.h"

KTLS_EXPORT int ktls_conn_get_peer_cert(const struct ktls_conn *conn, unsigned int index,
					const void **ret_der, size_t *ret_len)
{
	const gnutls_datum_t *chain;
	unsigned int n;

	if (conn == NULL || ret_der == NULL || ret_len == NULL)
		return -EINVAL;
	chain = summary_peer_chain(conn, &n);
	if (chain == NULL || index >= n)
		return -ENOENT;
	*ret_der = chain[index].data;
	*ret_len = chain[index].size;
	return 0;
}

/* One SAN as text; 0, or -EAGAIN for a kind not reported (skipped). */
static int peer_san_text(int type, const unsigned char *data, size_t len,
			 enum ktls_san_type *ret_type, char *out, size_t out_size)
{
	switch (type) {
	case GNUTLS_SAN_DNSNAME:
		*ret_type = KTLS_SAN_DNS;
		break;
	case GNUTLS_SAN_URI:
		*ret_type = KTLS_SAN_URI;
		break;
	case GNUTLS_SAN_RFC822NAME:
		*ret_type = KTLS_SAN_EMAIL;
		break;
	case GNUTLS_SAN_IPADDRESS:
		*ret_type = KTLS_SAN_IP;
		if ((len != 4 && len != 16) ||
		    inet_ntop(len == 4 ? AF_INET : AF_INET6, data, out, (socklen_t)out_size) == NULL)
			return len == 4 || len == 16 ? -ENOSPC : -EBADMSG;
		return (int)strlen(out);
	default:
		return -EAGAIN;
	}
	if (len + 1 > out_size)
		return -ENOSPC;
	memcpy(out, data, len);
	out[len] = '\0';
	return (int)len;
}

KTLS_EXPORT int ktls_conn_get_peer_san(const struct ktls_conn *conn, unsigned int index,
				       enum ktls_san_type *ret_type, char *buf, size_t size)
{
	const gnutls_datum_t *chain;
	gnutls_x509_crt_t crt;
	unsigned int n, seen = 0;
	int ret = -ENOENT;

	if (conn == NULL || ret_type == NULL || buf == NULL || size == 0)
		return -EINVAL;
	buf[0] = '\0';
	chain = summary_peer_chain(conn, &n);
	if (chain == NULL || n == 0)
		return -ENOENT;
	if (gnutls_x509_crt_init(&crt) < 0)
		return -ENOMEM;
	if (gnutls_x509_crt_import(crt, &chain[0], GNUTLS_X509_FMT_DER) < 0) {
		gnutls_x509_crt_deinit(crt);
		return -EBADMSG;
	}
	for (unsigned int i = 0;; i++) {
		unsigned char raw[1024];
		size_t raw_len = sizeof(raw);
		int type = gnutls_x509_crt_get_subject_alt_name(crt, i, raw, &raw_len, NULL);
		int r;

		if (type == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
			break;
		if (type == GNUTLS_E_SHORT_MEMORY_BUFFER) {
			/* Longer than any name this API hands out. */
			if (seen++ == index) {
				ret = -ENOSPC;
				break;
			}
			continue;
		}
		if (type < 0) {
			ret = -EBADMSG;
			break;
		}
		/* GnuTLS gives string kinds NUL-terminated, addresses as their 4 or 16 bytes. */
		if (type != GNUTLS_SAN_IPADDRESS)
			raw_len = strnlen((const char *)raw, raw_len);
		r = peer_san_text(type, raw, raw_len, ret_type, buf, size);
		explicit_bzero(raw, sizeof(raw));
		if (r == -EAGAIN)
			continue;
		if (seen++ == index) {
			ret = r;
			if (r < 0)
				buf[0] = '\0';
			break;
		}
	}
	gnutls_x509_crt_deinit(crt);
	return ret;
}

KTLS_EXPORT int ktls_conn_get_peer_fingerprint(const struct ktls_conn *conn,
					       unsigned char ret_sha256[KTLS_FINGERPRINT_SIZE])
{
	const gnutls_datum_t *chain;
	unsigned int n;

	if (conn == NULL || ret_sha256 == NULL)
		return -EINVAL;
	chain = summary_peer_chain(conn, &n);
	if (chain == NULL || n == 0)
		return -ENOENT;
	return gnutls_hash_fast(GNUTLS_DIG_SHA256, chain[0].data, chain[0].size, ret_sha256) == 0
		       ? 0
		       : -ENOMEM;
}
