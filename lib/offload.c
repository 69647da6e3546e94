/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Handing a connection's keys to the kernel (TCP_ULP "tls", SOL_TLS
 * TLS_TX/TLS_RX), and the records that are not application data once the
 * kernel holds them: alerts and post-handshake messages travel as control
 * messages (Documentation/networking/tls.rst, "Send/receive TLS control
 * messages").
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "private.h"

int (*offload_setsockopt)(int fd, int level, int name, const void *value,
			  socklen_t len) = setsockopt;

/* TLS 1.3 handshake message types seen after the handshake (RFC 8446 section 4) */
#define HS_HELLO_REQUEST 0
#define HS_CLIENT_HELLO 1
#define HS_NEW_SESSION_TICKET 4
#define HS_KEY_UPDATE 24
#define HS_HEADER_SIZE 4
/* Bound for a post-handshake message reassembled across records. */
#define HS_MESSAGE_MAX 65536

__attribute__((format(printf, 3, 4)))
static void offload_set_reason(struct ktls_dir_info *dir, int err, const char *fmt, ...)
{
	va_list ap;

	dir->kernel = false;
	dir->reason_errno = err < 0 ? -err : err;
	va_start(ap, fmt);
	vsnprintf(dir->reason, sizeof(dir->reason), fmt, ap);
	va_end(ap);
}

/*
 * The plaintext bound the peer's record size limit puts on our records
 * (RFC 8449 section 4: TLS 1.3's limit counts the inner content type), or 0
 * when it is no smaller than what the kernel sends anyway.
 */
static uint16_t offload_tx_payload_limit(const struct ktls_conn *conn)
{
	size_t limit = conn->peer_record_limit;

	if (limit == 0)
		return 0;
	if (conn->version == KTLS_VERSION_TLS13)
		limit--;
	return limit < RECORD_MAX_PLAINTEXT ? (uint16_t)limit : 0;
}

/* Decide, without touching the socket, whether a direction can go to the kernel. */
static bool offload_plan(struct ktls_conn *conn, enum ktls_dir dir, enum ktls_offload policy,
			 const struct ktls_caps *caps)
{
	struct ktls_dir_info *info = dir == KTLS_DIR_TX ? &conn->tx : &conn->rx;
	const char *name = dir == KTLS_DIR_TX ? "TX" : "RX";

	if (policy == KTLS_OFFLOAD_OFF) {
		offload_set_reason(info, 0, "offload policy is off");
		return false;
	}
	if (!caps->ulp_available) {
		offload_set_reason(info, caps->ulp_errno, "%s", caps->summary);
		return false;
	}
	if (conn->version != KTLS_VERSION_TLS12 && conn->version != KTLS_VERSION_TLS13) {
		offload_set_reason(info, EOPNOTSUPP, "%s has no kernel offload",
				   gnutls_protocol_get_name(gnutls_protocol_get_version(conn->session)));
		return false;
	}
	if (conn->cipher == KTLS_CIPHER_NONE) {
		offload_set_reason(info, EOPNOTSUPP, "cipher %s has no kernel TLS equivalent",
				   gnutls_cipher_get_name(gnutls_cipher_get(conn->session)));
		return false;
	}
	/*
	 * The kernel fills records up to 16384 bytes unless told otherwise
	 * (TLS_TX_MAX_PAYLOAD_LEN, Linux 6.19).  A peer that asked for smaller
	 * ones (RFC 8449 record_size_limit, whose TLS 1.3 value counts the
	 * content-type byte, or RFC 6066 max_fragment_length) would reject
	 * them: the kernel takes TX with that limit where it can, and GnuTLS,
	 * which honours it, keeps TX elsewhere.
	 */
	if (dir == KTLS_DIR_TX && offload_tx_payload_limit(conn) > 0 && !caps->tx_max_payload_len) {
		offload_set_reason(info, EMSGSIZE,
				   "peer limits records to %zu bytes (record_size_limit); this "
				   "kernel sends records of up to %d (TLS_TX_MAX_PAYLOAD_LEN needs "
				   "Linux 6.19 or later)",
				   conn->peer_record_limit, RECORD_MAX_PLAINTEXT);
		return false;
	}
	/*
	 * A kernel that cannot rekey cannot follow the peer's KeyUpdate; the
	 * config may prefer GnuTLS's RX, which can, to kernel RX (ktls.h).
	 */
	if (dir == KTLS_DIR_RX && conn->version == KTLS_VERSION_TLS13 && !caps->tls13_rekey &&
	    conn->config->keyupdate == KTLS_KEYUPDATE_FOLLOW) {
		offload_set_reason(info, EOPNOTSUPP,
				   "kept in userspace to follow the peer's KeyUpdate "
				   "(KTLS_KEYUPDATE_FOLLOW; this kernel cannot rekey)");
		return false;
	}
	if (!probe_can_offload(caps, conn->version, conn->cipher, dir)) {
		offload_set_reason(info, EOPNOTSUPP, "this kernel cannot offload %s for TLS 1.%d %s",
				   ktls_cipher_name(conn->cipher),
				   conn->version == KTLS_VERSION_TLS13 ? 3 : 2, name);
		return false;
	}
	return true;
}

/* Pass one direction's key to the kernel.  The crypto_info never outlives this call. */
int offload_install(struct ktls_conn *conn, enum ktls_dir dir)
{
	struct ktls_dir_info *info = dir == KTLS_DIR_TX ? &conn->tx : &conn->rx;
	union keys_crypto_info crypto;
	socklen_t len = 0;
	char reason[sizeof(info->reason)];
	int ret;

	ret = keys_from_session(conn->session, dir, &crypto, &len, reason, sizeof(reason));
	if (ret == 0 && offload_setsockopt(conn->fd, SOL_TLS, dir == KTLS_DIR_TX ? TLS_TX : TLS_RX,
					   &crypto, len) != 0) {
		ret = -errno;
		snprintf(reason, sizeof(reason), "setsockopt(SOL_TLS, %s): %s",
			 dir == KTLS_DIR_TX ? "TLS_TX" : "TLS_RX", strerror(errno));
	}
	keys_wipe(&crypto);
	if (ret < 0) {
		offload_set_reason(info, ret, "%s", reason);
		return ret;
	}
	info->kernel = true;
	info->reason_errno = 0;
	info->reason[0] = '\0';
	return 0;
}

/*
 * Records GnuTLS decrypted while finishing the handshake (an HTTP request in
 * the same segment as the client's Finished, say) must reach the application
 * before anything the kernel decrypts.  GnuTLS never reads past the record it
 * needs on a stream transport, so decrypted data is the only thing that can be
 * left over; it moves into rx_buf here.
 */
static int offload_drain_gnutls(struct ktls_conn *conn)
{
	size_t pending;

	while ((pending = gnutls_record_check_pending(conn->session)) > 0) {
		ssize_t n;
		int ret = record_reserve(conn, conn->rx_len + pending);

		if (ret < 0)
			return error_conn(conn, ret, "out of memory");
		n = gnutls_record_recv(conn->session, conn->rx_buf + conn->rx_len, pending);
		if (n <= 0)
			return error_conn(conn, error_from_gnutls((int)n),
					  "reading data buffered by GnuTLS: %s",
					  gnutls_strerror((int)n));
		conn->rx_len += (size_t)n;
	}
	return 0;
}

int offload_switch(struct ktls_conn *conn)
{
	const struct ktls_config *config = conn->config;
	const struct ktls_caps *caps = probe_get();
	bool want_tx, want_rx;
	int ret;

	conn->version = gnutls_protocol_get_version(conn->session) == GNUTLS_TLS1_3
				? KTLS_VERSION_TLS13
				: gnutls_protocol_get_version(conn->session) == GNUTLS_TLS1_2
					  ? KTLS_VERSION_TLS12
					  : 0;
	conn->cipher = keys_cipher_from_gnutls(gnutls_cipher_get(conn->session));

	conn->tx_payload_max = offload_tx_payload_limit(conn);
	want_tx = offload_plan(conn, KTLS_DIR_TX, config->offload_tx, caps);
	want_rx = offload_plan(conn, KTLS_DIR_RX, config->offload_rx, caps);
	if (!want_tx && config->offload_tx == KTLS_OFFLOAD_REQUIRE)
		return error_conn(conn, -EOPNOTSUPP, "TX offload required: %s", conn->tx.reason);
	if (!want_rx && config->offload_rx == KTLS_OFFLOAD_REQUIRE)
		return error_conn(conn, -EOPNOTSUPP, "RX offload required: %s", conn->rx.reason);

	/* Anything that can fail happens before the first key moves. */
	if (want_rx) {
		ret = offload_drain_gnutls(conn);
		if (ret < 0)
			return ret;
	}
	/* A TLS 1.2 session resumes as soon as it is made; a TLS 1.3 one needs a ticket. */
	if (conn->version == KTLS_VERSION_TLS12 || conn->ticket_pending)
		resume_client_save(conn);
	if (!want_tx && !want_rx)
		return 0;

	if (offload_setsockopt(conn->fd, SOL_TCP, TCP_ULP, "tls", sizeof("tls")) != 0) {
		ret = -errno;
		/* The probe said yes, so this socket is special (not TCP, or not established). */
		offload_set_reason(&conn->tx, ret, "setsockopt(TCP_ULP, \"tls\"): %s",
				   strerror(-ret));
		conn->rx = conn->tx;
		if (config->offload_tx == KTLS_OFFLOAD_REQUIRE ||
		    config->offload_rx == KTLS_OFFLOAD_REQUIRE)
			return error_conn(conn, -EOPNOTSUPP, "offload required: %s",
					  conn->tx.reason);
		return 0;
	}

	/*
	 * The record size bound goes in before the TX key, so that its refusal
	 * (TLS 1.3's smallest value, 63, is only accepted after the key) keeps
	 * TX with GnuTLS instead of failing after the kernel took the key.
	 */
	if (want_tx && offload_tx_payload_limit(conn) > 0) {
		uint16_t limit = offload_tx_payload_limit(conn);

		if (offload_setsockopt(conn->fd, SOL_TLS, TLS_TX_MAX_PAYLOAD_LEN, &limit,
				       sizeof(limit)) != 0) {
			offload_set_reason(&conn->tx, -errno,
					   "peer limits records to %zu bytes (record_size_limit) "
					   "and the kernel refused TLS_TX_MAX_PAYLOAD_LEN %u: %s",
					   conn->peer_record_limit, (unsigned int)limit,
					   strerror(errno));
			want_tx = false;
			if (config->offload_tx == KTLS_OFFLOAD_REQUIRE)
				return error_conn(conn, -EOPNOTSUPP, "TX offload required: %s",
						  conn->tx.reason);
		}
	}

	/*
	 * A socket with the ULP but no keys passes data through unchanged, so a
	 * refused key below only means that direction stays with GnuTLS.
	 * From the first accepted key on, GnuTLS's state for that direction is
	 * dead: nothing after this point may fail except a REQUIRE policy
	 * refusal, which ends the connection anyway.
	 */
	if (want_tx && offload_install(conn, KTLS_DIR_TX) < 0 &&
	    config->offload_tx == KTLS_OFFLOAD_REQUIRE)
		return error_conn(conn, -EOPNOTSUPP, "TX offload required: %s", conn->tx.reason);
	if (want_rx && offload_install(conn, KTLS_DIR_RX) < 0 &&
	    config->offload_rx == KTLS_OFFLOAD_REQUIRE)
		return error_conn(conn, -EOPNOTSUPP, "RX offload required: %s", conn->rx.reason);

	if (conn->tx.kernel)
		rekey_budget_init(&conn->tx_budget, conn->cipher);
	error_log(config, KTLS_LOG_INFO, "kTLS: TX %s, RX %s",
		  conn->tx.kernel ? "kernel" : conn->tx.reason,
		  conn->rx.kernel ? "kernel" : conn->rx.reason);
	return 0;
}

/* ---- control records ---------------------------------------------------- */

int offload_send_record(struct ktls_conn *conn, unsigned char type, const void *data, size_t len)
{
	char control[CMSG_SPACE(sizeof(unsigned char))] = { 0 };
	struct iovec iov = { .iov_base = (void *)data, .iov_len = len };
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = control,
		.msg_controllen = sizeof(control),
	};
	struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
	ssize_t n;

	cmsg->cmsg_level = SOL_TLS;
	cmsg->cmsg_type = TLS_SET_RECORD_TYPE;
	cmsg->cmsg_len = CMSG_LEN(sizeof(unsigned char));
	*CMSG_DATA(cmsg) = type;

	do
		n = sendmsg(conn->fd, &msg, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EAGAIN ? -EAGAIN
				       : error_conn(conn, -errno, "sending a record of type %u: %s",
						    type, strerror(errno));
	/* A control record is written whole or not at all (tls_sw_sendmsg). */
	return 0;
}

int offload_send_alert(struct ktls_conn *conn, gnutls_alert_level_t level,
		       gnutls_alert_description_t alert)
{
	unsigned char body[2] = { (unsigned char)level, (unsigned char)alert };

	return offload_send_record(conn, RECORD_ALERT, body, sizeof(body));
}

/* End the receive side for good, telling the peer why when we still can. */
static int offload_fail_rx(struct ktls_conn *conn, int err, gnutls_alert_description_t alert)
{
	if (conn->tx.kernel && !conn->tx_closed)
		offload_send_alert(conn, GNUTLS_AL_FATAL, alert);
	else if (!conn->tx.kernel)
		gnutls_alert_send(conn->session, GNUTLS_AL_FATAL, alert);
	conn->tx_closed = true;
	conn->rx_error = err;
	return err;
}

/* GnuTLS hands us handshake messages it wants to send (see offload_post_handshake). */
static int offload_handshake_out(gnutls_session_t session, gnutls_record_encryption_level_t level,
				 gnutls_handshake_description_t htype, const void *data,
				 size_t len)
{
	struct ktls_conn *conn = gnutls_session_get_ptr(session);

	(void)level;
	(void)htype;
	if (!conn->tx.kernel)
		return GNUTLS_E_INVALID_REQUEST;
	return offload_send_record(conn, RECORD_HANDSHAKE, data, len) < 0 ? GNUTLS_E_PUSH_ERROR
									 : 0;
}

/*
 * Only while we feed GnuTLS a post-handshake message or ask it for a
 * KeyUpdate: the rest of the time a direction GnuTLS still owns sends its
 * own records.
 */
void offload_capture_handshake(struct ktls_conn *conn, bool on)
{
	gnutls_handshake_set_read_function(conn->session, on ? offload_handshake_out : NULL);
}

static int offload_alert(struct ktls_conn *conn, const unsigned char *body, size_t len)
{
	if (len < 2)
		return offload_fail_rx(conn,
				       error_conn(conn, -EPROTO, "peer sent a malformed alert"),
				       GNUTLS_A_DECODE_ERROR);
	if (body[1] == GNUTLS_A_CLOSE_NOTIFY) {
		conn->rx_eof = true;
		return 0;
	}
	/* TLS 1.2 warnings are informational; in TLS 1.3 every other alert is fatal. */
	if (body[0] == GNUTLS_AL_WARNING && conn->version == KTLS_VERSION_TLS12 &&
	    body[1] != GNUTLS_A_USER_CANCELED)
		return 1;
	char text[128];

	conn->tx_closed = true;
	conn->rx_error = error_conn(conn, -ECONNABORTED, "peer sent fatal alert %s",
				    error_alert_text(body[1], text, sizeof(text)));
	return conn->rx_error;
}

/*
 * A handshake record arrived after the switch.  Returns 1 to keep reading, or
 * a negative errno that ends reception.
 */
static int offload_post_handshake(struct ktls_conn *conn, const unsigned char *data, size_t len)
{
	unsigned char *msg;
	size_t msg_len;
	int ret;

	/* Messages may span records: gather until each one is whole. */
	if (conn->hs_len + len > HS_MESSAGE_MAX)
		return offload_fail_rx(conn,
				       error_conn(conn, -EPROTO,
						  "post-handshake message over %d bytes",
						  HS_MESSAGE_MAX),
				       GNUTLS_A_UNEXPECTED_MESSAGE);
	if (conn->hs_buf == NULL) {
		conn->hs_buf = malloc(HS_MESSAGE_MAX);
		if (conn->hs_buf == NULL)
			return offload_fail_rx(conn, error_conn(conn, -ENOMEM, "out of memory"),
					       GNUTLS_A_INTERNAL_ERROR);
	}
	memcpy(conn->hs_buf + conn->hs_len, data, len);
	conn->hs_len += len;

	while (conn->hs_len >= HS_HEADER_SIZE) {
		msg = conn->hs_buf;
		msg_len = HS_HEADER_SIZE + ((size_t)msg[1] << 16 | (size_t)msg[2] << 8 | msg[3]);
		if (msg_len > HS_MESSAGE_MAX)
			return offload_fail_rx(conn,
					       error_conn(conn, -EPROTO,
							  "post-handshake message of %zu bytes",
							  msg_len),
					       GNUTLS_A_UNEXPECTED_MESSAGE);
		if (conn->hs_len < msg_len)
			return 1;
		handshake_trace_message(conn, true, msg[0], msg_len - HS_HEADER_SIZE);

		if (conn->version == KTLS_VERSION_TLS12) {
			/* Renegotiation is refused (RFC 5746 makes it optional). */
			if ((msg[0] == HS_HELLO_REQUEST && conn->config->role == KTLS_ROLE_CLIENT) ||
			    (msg[0] == HS_CLIENT_HELLO && conn->config->role == KTLS_ROLE_SERVER)) {
				if (conn->tx.kernel)
					offload_send_alert(conn, GNUTLS_AL_WARNING,
							   GNUTLS_A_NO_RENEGOTIATION);
				else
					gnutls_alert_send(conn->session, GNUTLS_AL_WARNING,
							  GNUTLS_A_NO_RENEGOTIATION);
				error_log(conn->config, KTLS_LOG_INFO,
					  "declined a TLS 1.2 renegotiation request");
			} else {
				return offload_fail_rx(
					conn,
					error_conn(conn, -EPROTO,
						   "unexpected TLS 1.2 handshake message %u after the handshake",
						   msg[0]),
					GNUTLS_A_UNEXPECTED_MESSAGE);
			}
		} else if (msg[0] == HS_KEY_UPDATE) {
			/*
			 * Every record after this one is under the peer's next key.
			 * The kernel has paused RX (6.14+) and takes it; an older
			 * kernel cannot be given it, so the only honest outcomes are
			 * to stop here or to hand back records it cannot decrypt.
			 * Stop, and say so.
			 */
			if (probe_get()->tls13_rekey) {
				ret = rekey_rx(conn, msg, msg_len);
				if (ret < 0)
					return offload_fail_rx(conn, ret, GNUTLS_A_INTERNAL_ERROR);
			} else {
				return offload_fail_rx(
				conn,
				error_conn(conn, -EKEYEXPIRED,
					   "peer sent a TLS 1.3 KeyUpdate; this kernel cannot change "
					   "the key of a kTLS socket (needs TLS 1.3 rekey, Linux 6.14 "
					   "or later), so the connection was closed"),
				GNUTLS_A_INTERNAL_ERROR);
			}
		} else if (msg[0] == HS_NEW_SESSION_TICKET &&
			   conn->config->role == KTLS_ROLE_CLIENT) {
			/* GnuTLS stores the ticket (it can be used to resume later). */
			offload_capture_handshake(conn, true);
			ret = gnutls_handshake_write(conn->session,
						     GNUTLS_ENCRYPTION_LEVEL_APPLICATION, msg,
						     msg_len);
			offload_capture_handshake(conn, false);
			if (ret < 0)
				return offload_fail_rx(
					conn,
					error_conn(conn, error_from_gnutls(ret),
						   "NewSessionTicket rejected by GnuTLS: %s",
						   gnutls_strerror(ret)),
					GNUTLS_A_DECODE_ERROR);
			error_log(conn->config, KTLS_LOG_DEBUG,
				  "NewSessionTicket received after the switch");
			conn->ticket_received = true;
			conn->tickets_received++;
			conn->tickets_after_switch++;
			resume_client_save(conn);
		} else {
			return offload_fail_rx(
				conn,
				error_conn(conn, -EPROTO,
					   "unexpected TLS 1.3 handshake message %u after the handshake",
					   msg[0]),
				GNUTLS_A_UNEXPECTED_MESSAGE);
		}
		memmove(conn->hs_buf, conn->hs_buf + msg_len, conn->hs_len - msg_len);
		conn->hs_len -= msg_len;
	}
	return 1;
}

/*
 * What a failed recvmsg on a kernel-RX socket means for the connection;
 * @err is the positive errno.  Shared with the io_uring engine, whose
 * RECVMSG completions report the same errors.
 */
ssize_t offload_recv_error(struct ktls_conn *conn, int err)
{
	switch (err) {
	case EAGAIN:
		return -EAGAIN;
	case ECONNRESET:
		conn->rx_error = error_conn(
			conn, -ECONNRESET, "peer reset the connection without close_notify (ECONNRESET)");
		return conn->rx_error;
	case EBADMSG:
		conn->rx_error =
			error_conn(conn, -EBADMSG, "a record failed authentication in the kernel (EBADMSG)");
		return conn->rx_error;
	case EKEYEXPIRED:
		/* Linux >= 6.14 pauses RX after a KeyUpdate until a new key. */
		return offload_fail_rx(conn,
				       error_conn(conn, -EKEYEXPIRED,
						  "peer changed keys (KeyUpdate) "
						  "and no new key was installed"),
				       GNUTLS_A_INTERNAL_ERROR);
	default:
		conn->rx_error = error_conn(conn, -err, "recvmsg: %s", strerror(err));
		return conn->rx_error;
	}
}

/* The record type the kernel reported in a recvmsg's control data. */
unsigned char offload_record_type(struct msghdr *msg)
{
	unsigned char type = RECORD_APPLICATION_DATA;

	for (struct cmsghdr *cmsg = CMSG_FIRSTHDR(msg); cmsg != NULL; cmsg = CMSG_NXTHDR(msg, cmsg))
		if (cmsg->cmsg_level == SOL_TLS && cmsg->cmsg_type == TLS_GET_RECORD_TYPE)
			type = *CMSG_DATA(cmsg);
	return type;
}

/*
 * Act on one non-data record the kernel handed back (alert, post-handshake
 * message, anything else is a protocol error), then wipe it.  Return: 1 to
 * go on reading, 0 at close_notify, or a negative errno.
 */
int offload_control_record(struct ktls_conn *conn, unsigned char type, unsigned char *body,
			   size_t len)
{
	int ret;

	if (type == RECORD_ALERT)
		ret = offload_alert(conn, body, len);
	else if (type == RECORD_HANDSHAKE)
		ret = offload_post_handshake(conn, body, len);
	else
		ret = offload_fail_rx(conn,
				      error_conn(conn, -EPROTO,
						 "unexpected record type %u after the handshake", type),
				      GNUTLS_A_UNEXPECTED_MESSAGE);
	/* Control-record bytes never stay behind. */
	explicit_bzero(body, len);
	return ret;
}

/*
 * One recvmsg with room for the record-type control message.  The kernel
 * returns application data from one or more records, or exactly one
 * non-data record, never a mix (tls_sw_recvmsg).  A control record must fit
 * whole, so reads into a caller buffer smaller than a record go through
 * rx_buf (allocated on first need, so idle connections do not pay for it).
 */
ssize_t offload_recv(struct ktls_conn *conn, void *buf, size_t len)
{
	bool direct = len >= RECORD_MAX_PLAINTEXT;

	/* Failing here loses nothing: the record stays queued in the kernel. */
	if (!direct && record_reserve(conn, RECORD_MAX_PLAINTEXT) < 0)
		return error_conn(conn, -ENOMEM, "out of memory");
	for (;;) {
		char control[CMSG_SPACE(sizeof(unsigned char))];
		struct iovec iov = {
			.iov_base = direct ? buf : conn->rx_buf,
			.iov_len = direct ? len : RECORD_MAX_PLAINTEXT,
		};
		struct msghdr msg = {
			.msg_iov = &iov,
			.msg_iovlen = 1,
			.msg_control = control,
			.msg_controllen = sizeof(control),
		};
		unsigned char type;
		ssize_t n;
		int ret;

		n = recvmsg(conn->fd, &msg, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return offload_recv_error(conn, errno);
		}
		if (n == 0) {
			conn->rx_error = error_conn(conn, -ECONNRESET,
						    "peer closed the connection without close_notify");
			return conn->rx_error;
		}
		type = offload_record_type(&msg);
		if (type == RECORD_APPLICATION_DATA) {
			if (direct)
				return n;
			conn->rx_off = 0;
			conn->rx_len = (size_t)n;
			return (ssize_t)record_take_buffered(conn, buf, len);
		}
		ret = offload_control_record(conn, type, iov.iov_base, (size_t)n);
		if (ret <= 0)
			return ret;
	}
}
