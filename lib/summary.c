/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the handshake negotiated, kept by the connection itself, so that the
 * GnuTLS session (about 10 KB) can go once both keys are in the kernel and
 * libktls runs the key schedule (secrets.c).  An idle offloaded connection
 * then costs little more than struct ktls_conn.
 *
 * The summary is taken for every connection before its keys move (so that
 * a failed allocation fails the handshake, never a connection whose keys the
 * kernel holds), and ktls_conn_get_info() reads only it.  The session goes
 * when nothing after the switch needs it:
 *  - both directions are the kernel's and the key schedule is libktls's;
 *  - the session is ours, not one adopted from the application;
 *  - a TLS 1.3 client that keeps tickets for resumption still needs GnuTLS
 *    to take in the NewSessionTickets that arrive after the switch.
 * The peer's certificate chain, which GnuTLS kept, is copied first.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "private.h"

bool summary_keep_sessions;

static char *summary_strndup(const void *data, size_t len)
{
	char *copy = malloc(len + 1);

	if (copy != NULL) {
		if (len > 0)
			memcpy(copy, data, len);
		copy[len] = '\0';
	}
	return copy;
}

int summary_take(struct ktls_conn *conn)
{
	struct conn_summary *sum = &conn->sum;
	gnutls_session_t s = conn->session;
	gnutls_datum_t d = { NULL, 0 };
	char name[256];
	size_t name_len = sizeof(name);
	unsigned int type;

	summary_free(conn);
	sum->protocol = gnutls_protocol_get_version(s);
	sum->cipher = gnutls_cipher_get(s);
	sum->group = gnutls_group_get(s);
	sum->resumed = gnutls_session_is_resumed(s) != 0;
	sum->psk = gnutls_auth_get_type(s) == GNUTLS_CRD_PSK;
	if (gnutls_alpn_get_selected_protocol(s, &d) == 0 && d.size > 0 &&
	    (sum->alpn = summary_strndup(d.data, d.size)) == NULL)
		goto nomem;
	if (conn->config->role == KTLS_ROLE_SERVER &&
	    gnutls_server_name_get(s, name, &name_len, &type, 0) == 0 && type == GNUTLS_NAME_DNS &&
	    (sum->server_name = summary_strndup(name, strnlen(name, name_len))) == NULL)
		goto nomem;
	d.data = NULL;
	d.size = 0;
	if (sum->psk && conn->config->role == KTLS_ROLE_SERVER &&
	    gnutls_psk_server_get_username2(s, &d) == 0 && d.size > 0 &&
	    (sum->psk_identity = summary_strndup(d.data, d.size)) == NULL)
		goto nomem;
	return 0;

nomem:
	summary_free(conn);
	return error_conn(conn, -ENOMEM, "out of memory");
}

/* The peer's chain outlives the session: one allocation for the array and the certificates. */
static int summary_copy_chain(struct ktls_conn *conn)
{
	struct conn_summary *sum = &conn->sum;
	const gnutls_datum_t *chain = NULL;
	unsigned int n = 0;
	size_t total;
	unsigned char *p;

	if (gnutls_certificate_type_get(conn->session) == GNUTLS_CRT_X509)
		chain = gnutls_certificate_get_peers(conn->session, &n);
	if (chain == NULL || n == 0)
		return 0;
	total = n * sizeof(gnutls_datum_t);
	for (unsigned int i = 0; i < n; i++)
		total += chain[i].size;
	sum->chain = malloc(total);
	if (sum->chain == NULL)
		return -ENOMEM;
	p = (unsigned char *)(sum->chain + n);
	for (unsigned int i = 0; i < n; i++) {
		memcpy(p, chain[i].data, chain[i].size);
		sum->chain[i].data = p;
		sum->chain[i].size = chain[i].size;
		p += chain[i].size;
	}
	sum->chain_len = n;
	return 0;
}

void summary_release_session(struct ktls_conn *conn)
{
	if (conn->session == NULL || summary_keep_sessions || !secrets_ready(conn) ||
	    resume_wants_tickets(conn))
		return;
	if (summary_copy_chain(conn) < 0)
		return; /* out of memory: the session stays, and with it the chain */
	gnutls_deinit(conn->session);
	conn->session = NULL;
	error_log(conn->config, KTLS_LOG_DEBUG,
		  "GnuTLS session released: both keys are the kernel's");
}

const gnutls_datum_t *summary_peer_chain(const struct ktls_conn *conn, unsigned int *ret_n)
{
	*ret_n = 0;
	if (conn->session == NULL) {
		*ret_n = conn->sum.chain_len;
		return conn->sum.chain;
	}
	if (gnutls_certificate_type_get(conn->session) != GNUTLS_CRT_X509)
		return NULL;
	return gnutls_certificate_get_peers(conn->session, ret_n);
}

void summary_free(struct ktls_conn *conn)
{
	struct conn_summary *sum = &conn->sum;

	free(sum->alpn);
	free(sum->server_name);
	free(sum->psk_identity);
	free(sum->chain);
	memset(sum, 0, sizeof(*sum));
}
