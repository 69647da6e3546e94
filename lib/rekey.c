/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * TLS 1.3 KeyUpdate (RFC 8446 section 4.6.3) on kTLS sockets, and the AEAD
 * usage limits that make it necessary (section 5.5).
 *
 * Linux 6.14 and later accept a second TLS_TX / TLS_RX on a TLS 1.3 socket:
 * the new key.  After a KeyUpdate record the kernel's RX stops (recvmsg
 * fails with EKEYEXPIRED) until the new RX key is installed, so no record
 * under the new key is ever decrypted with the old one.  Older kernels
 * cannot change keys at all (probe.c's tls13_rekey says which), and there
 * a KeyUpdate ends the connection, or, with KTLS_KEYUPDATE_FOLLOW, RX
 * stays in GnuTLS so that the peer's updates are followed.
 *
 * GnuTLS derives every next key.  With a handshake read function set
 * (gnutls_handshake_set_read_function), gnutls_session_key_update() hands
 * us the KeyUpdate message instead of writing a record, then moves its own
 * write key on; gnutls_handshake_write() takes the peer's KeyUpdate and
 * moves its read key on.  We carry the message through the kernel under
 * the old key and then give the kernel the new one.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "private.h"

/*
 * Records one key may protect.  AES-GCM: 2^24.5 full-size records keep the
 * attacker's advantage under 2^-60 (RFC 8446 section 5.5).  AES-CCM: 2^23
 * (RFC 9147 section 4.5.3, the same analysis).  ChaCha20-Poly1305 has no
 * practical limit: the sequence number wraps first.
 */
uint64_t rekey_record_limit(enum ktls_cipher cipher)
{
	switch (cipher) {
	case KTLS_CIPHER_AES_128_GCM:
	case KTLS_CIPHER_AES_256_GCM:
		return 23726566; /* floor(2^24.5) */
	case KTLS_CIPHER_AES_128_CCM:
		return (uint64_t)1 << 23;
	default:
		return UINT64_MAX;
	}
}

/*
 * Tests only: KTLS_TEST_KEY_RECORD_LIMIT=N makes every key's usage limit N
 * records, so that a transfer of a few megabytes reaches it.  Read at each
 * key installation (cheap next to a setsockopt), so a test can change it
 * between connections.  Ignored in set-uid programs (secure_getenv).
 */
static uint64_t rekey_test_limit(void)
{
	const char *s = secure_getenv("KTLS_TEST_KEY_RECORD_LIMIT");
	char *end;
	unsigned long long v;

	if (s == NULL || *s == '\0')
		return 0;
	errno = 0;
	v = strtoull(s, &end, 10);
	return errno == 0 && *end == '\0' && v >= 16 ? v : 0;
}

void rekey_budget_init(struct rekey_budget *budget, enum ktls_cipher cipher)
{
	uint64_t limit = rekey_test_limit();

	if (limit == 0)
		limit = rekey_record_limit(cipher);

	memset(budget, 0, sizeof(*budget));
	/* Act with 1/16 of the budget to spare: the update itself takes records. */
	budget->threshold = limit == UINT64_MAX ? UINT64_MAX : limit - limit / 16;
}

/*
 * Each send call writes at most one record per 16384 bytes plus one for a
 * partial tail, so @calls + @bytes / 16384 bounds the records it added.
 * The kernel's own count is read only when that bound could have crossed
 * the threshold: rarely for bulk transfers, and never needlessly early.
 */
bool rekey_budget_charge(struct rekey_budget *budget, uint64_t calls, uint64_t bytes)
{
	if (budget->threshold == UINT64_MAX)
		return false;
	budget->unchecked += calls + bytes / RECORD_MAX_PLAINTEXT;
	return budget->checked + budget->unchecked >= budget->threshold;
}

bool rekey_budget_settle(struct rekey_budget *budget, uint64_t kernel_seq)
{
	budget->checked = kernel_seq;
	budget->unchecked = 0;
	return kernel_seq >= budget->threshold;
}

/*
 * The kernel's next TX sequence number: its rec_seq, big-endian (tls.rst).
 * The kernel wants the exact struct size of the cipher it holds.
 */
static int rekey_kernel_tx_seq(struct ktls_conn *conn, uint64_t *ret_seq)
{
	union keys_crypto_info info;
	socklen_t len = keys_size(conn->cipher);
	int ret = 0;

	/* The reply carries the key too: wiped below, like every crypto_info. */
	if (getsockopt(conn->fd, SOL_TLS, TLS_TX, &info, &len) != 0)
		ret = -errno;
	else if (len != keys_size(conn->cipher))
		ret = -EPROTO;
	else
		*ret_seq = keys_rec_seq(&info, conn->cipher);
	keys_wipe(&info);
	return ret;
}

/* The kernel holds TX and the connection cannot go on: tell the peer, fail. */
static int rekey_fail_tx(struct ktls_conn *conn, int err)
{
	if (!conn->tx_closed && conn->tx.kernel) {
		offload_send_alert(conn, GNUTLS_AL_FATAL, GNUTLS_A_INTERNAL_ERROR);
		conn->tx_closed = true;
	}
	conn->tx_error = err;
	return err;
}

int rekey_tx(struct ktls_conn *conn, bool request_peer)
{
	int ret;

	if (conn->tx_error < 0)
		return conn->tx_error;
	/* GnuTLS hands the KeyUpdate to offload_handshake_out (kernel, old key)... */
	offload_capture_handshake(conn, true);
	ret = gnutls_session_key_update(conn->session, request_peer ? GNUTLS_KU_PEER : 0);
	offload_capture_handshake(conn, false);
	if (ret < 0)
		return rekey_fail_tx(conn, error_conn(conn, error_from_gnutls(ret),
						      "KeyUpdate not sent: %s",
						      gnutls_strerror(ret)));
	/* ...and has moved to the next write key, which the kernel now takes. */
	ret = offload_install(conn, KTLS_DIR_TX);
	if (ret < 0) {
		/* The peer reads under the new key from now on; nothing can be sent. */
		conn->tx_closed = true;
		conn->tx_error = error_conn(conn, -EKEYEXPIRED,
					    "KeyUpdate sent but the kernel refused the new TX key: %s",
					    conn->tx.reason);
		return conn->tx_error;
	}
	rekey_budget_init(&conn->tx_budget, conn->cipher);
	conn->tx_updates++;
	error_log(conn->config, KTLS_LOG_DEBUG, "KeyUpdate sent%s, new TX key in the kernel",
		  request_peer ? " (update requested)" : "");
	return 0;
}

int rekey_rx(struct ktls_conn *conn, const unsigned char *msg, size_t len)
{
	bool requested = len == 5 && msg[4] == 1;
	int ret;

	offload_capture_handshake(conn, true);
	ret = gnutls_handshake_write(conn->session, GNUTLS_ENCRYPTION_LEVEL_APPLICATION, msg, len);
	offload_capture_handshake(conn, false);
	if (ret < 0)
		return error_conn(conn, error_from_gnutls(ret), "KeyUpdate rejected: %s",
				  gnutls_strerror(ret));
	ret = offload_install(conn, KTLS_DIR_RX);
	if (ret < 0)
		return error_conn(conn, -EKEYEXPIRED,
				  "peer sent a KeyUpdate and the kernel refused the new RX key: %s",
				  conn->rx.reason);
	conn->rx_updates++;
	error_log(conn->config, KTLS_LOG_DEBUG, "peer KeyUpdate followed, new RX key in the kernel");
	/* RFC 8446 section 4.6.3: answer before sending any more data. */
	if (requested && conn->tx.kernel)
		return rekey_tx(conn, false);
	return 0;
}

int rekey_tx_account(struct ktls_conn *conn, uint64_t calls, uint64_t bytes)
{
	uint64_t seq = 0;
	int ret;

	if (conn->version != KTLS_VERSION_TLS13 || !conn->tx.kernel ||
	    !rekey_budget_charge(&conn->tx_budget, calls, bytes))
		return 0;
	ret = rekey_kernel_tx_seq(conn, &seq);
	if (ret < 0 || !rekey_budget_settle(&conn->tx_budget, seq))
		return 0; /* unreadable: charged again on the next send */
	if (probe_get()->tls13_rekey)
		return rekey_tx(conn, false);
	/* RFC 8446 section 5.5: stop rather than go past the limit. */
	conn->tx_error = error_conn(conn, -EKEYEXPIRED,
				    "%llu records sent under one key, the AEAD usage limit for %s; "
				    "this kernel cannot change the key (TLS 1.3 rekey needs Linux "
				    "6.14 or later), so the connection was closed",
				    (unsigned long long)seq, ktls_cipher_name(conn->cipher));
	if (!conn->tx_closed) {
		offload_send_alert(conn, GNUTLS_AL_WARNING, GNUTLS_A_CLOSE_NOTIFY);
		conn->tx_closed = true;
	}
	return conn->tx_error;
}

KTLS_EXPORT int ktls_conn_rekey(struct ktls_conn *conn, bool request_peer)
{
	int ret;

	if (conn == NULL)
		return -EINVAL;
	if (conn->state != CONN_READY)
		return error_conn(conn, -EINVAL, "KeyUpdate needs a finished handshake");
	if (conn->version != KTLS_VERSION_TLS13)
		return error_conn(conn, -EOPNOTSUPP, "KeyUpdate exists only in TLS 1.3");
	if (conn->tx_closed)
		return error_conn(conn, -EPIPE, "close_notify was already sent");
	if (conn->tx.kernel) {
		if (!probe_get()->tls13_rekey)
			return error_conn(conn, -EOPNOTSUPP,
					  "this kernel cannot change the key of a kTLS socket "
					  "(TLS 1.3 rekey needs Linux 6.14 or later)");
		return rekey_tx(conn, request_peer);
	}
	/* GnuTLS's own record layer: it sends and switches by itself. */
	do
		ret = gnutls_session_key_update(conn->session, request_peer ? GNUTLS_KU_PEER : 0);
	while (ret == GNUTLS_E_INTERRUPTED || (ret == GNUTLS_E_AGAIN && !conn->nonblocking));
	if (ret == GNUTLS_E_AGAIN)
		return -EAGAIN;
	if (ret < 0)
		return error_conn(conn, error_from_gnutls(ret), "KeyUpdate: %s",
				  gnutls_strerror(ret));
	return 0;
}

int rekey_answer_in_kernel(struct ktls_conn *conn)
{
	conn->peer_wants_update = false;
	if (probe_get()->tls13_rekey)
		return rekey_tx(conn, false);
	/*
	 * RFC 8446 section 4.6.3 wants our KeyUpdate before any more data, and
	 * this kernel cannot change the TX key: end here rather than ignore it.
	 */
	return rekey_fail_tx(conn, error_conn(conn, -EKEYEXPIRED,
					      "peer sent a KeyUpdate requesting ours; its new key "
					      "was followed (RX in userspace) but this kernel cannot "
					      "change the TX key (TLS 1.3 rekey needs Linux 6.14 or "
					      "later), so the connection was closed"));
}
