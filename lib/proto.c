/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The protocol core after the handshake.  It does no I/O: the blocking calls
 * (record.c) and the io_uring engine (ring-*.c) move the bytes, and this file
 * says what they mean and what must be sent next.
 *
 *  - Records the kernel hands back (RX in the kernel) come in typed: data,
 *    alerts, post-handshake messages.  They are checked as RFC 8446 sections
 *    5.1 and 4.6.3 (RFC 5246 for TLS 1.2) require: messages are gathered
 *    across records, no other record may come between the pieces of one, a
 *    KeyUpdate must end its record and be well formed, and each violation
 *    gets the alert the RFC names.
 *  - What gnutls_record_recv() returns (RX in GnuTLS) is mapped the same
 *    way; GnuTLS validates those records itself, and the alert it names
 *    (gnutls_error_to_alert) goes to the peer.
 *  - Whatever must go out before more application data (alerts, our
 *    KeyUpdate and the key change behind it, close_notify) waits in a small
 *    queue that the drivers empty first (proto_out_peek / proto_out_done).
 *  - Key changes in the kernel (a KeyUpdate either way, the AEAD usage
 *    limit) are decided here and made through switch_install().
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "private.h"

/* Handshake message types seen after the handshake (RFC 8446 section 4, RFC 5246 7.4) */
#define HS_HELLO_REQUEST 0
#define HS_CLIENT_HELLO 1
#define HS_NEW_SESSION_TICKET 4
#define HS_KEY_UPDATE 24
#define HS_HEADER 4
/* Bound for a post-handshake message gathered across records. */
#define HS_MESSAGE_MAX 65536

/* ---- the queue of things to send first --------------------------------------- */

static int proto_out_push(struct ktls_conn *conn, enum proto_out_kind kind, uint8_t type,
			  const void *data, size_t len)
{
	struct conn_proto *p = &conn->pr;
	struct proto_out *o;

	if (p->out_count == PROTO_OUT_MAX || len > sizeof(o->data))
		return -ENOBUFS;
	o = &p->out[(p->out_head + p->out_count) % PROTO_OUT_MAX];
	o->kind = (uint8_t)kind;
	o->type = type;
	o->len = (uint8_t)len;
	if (len > 0)
		memcpy(o->data, data, len);
	p->out_count++;
	return 0;
}

static struct proto_out *proto_out_find(struct ktls_conn *conn, enum proto_out_kind kind,
					uint8_t type)
{
	struct conn_proto *p = &conn->pr;

	for (unsigned int i = 0; i < p->out_count; i++) {
		struct proto_out *o = &p->out[(p->out_head + i) % PROTO_OUT_MAX];

		if (o->kind == kind && o->type == type)
			return o;
	}
	return NULL;
}

const struct proto_out *proto_out_peek(const struct ktls_conn *conn)
{
	return conn->pr.out_count > 0 ? &conn->pr.out[conn->pr.out_head] : NULL;
}

bool proto_out_only_close_notify(const struct ktls_conn *conn)
{
	const struct proto_out *o = proto_out_peek(conn);

	return conn->pr.out_count == 1 && o->kind == PROTO_OUT_RECORD && o->type == RECORD_ALERT &&
	       o->len == 2 && o->data[0] == GNUTLS_AL_WARNING && o->data[1] == GNUTLS_A_CLOSE_NOTIFY;
}

static void proto_out_pop(struct ktls_conn *conn)
{
	struct conn_proto *p = &conn->pr;

	explicit_bzero(&p->out[p->out_head], sizeof(p->out[0]));
	p->out_head = (p->out_head + 1) % PROTO_OUT_MAX;
	p->out_count--;
}

int proto_out_done(struct ktls_conn *conn)
{
	struct conn_proto *p = &conn->pr;
	const struct proto_out *o;

	if (p->out_count == 0)
		return 0;
	proto_out_pop(conn);
	/* Our KeyUpdate is out under the old key: from now on the kernel uses the next. */
	while ((o = proto_out_peek(conn)) != NULL && o->kind == PROTO_OUT_INSTALL_TX) {
		proto_out_pop(conn);
		if (switch_install(conn, KTLS_DIR_TX) < 0) {
			/* The peer reads under the new key from now on: nothing can be sent. */
			p->tx_closed = true;
			p->tx_error = error_conn(conn, -EKEYEXPIRED,
						 "KeyUpdate sent but the kernel refused the new TX "
						 "key: %s",
						 conn->sw.tx.reason);
			return p->tx_error;
		}
		rekey_budget_init(&p->budget, conn->sw.cipher);
		p->tx_updates++;
		error_log(conn->config, KTLS_LOG_DEBUG, "KeyUpdate sent, new TX key in the kernel");
	}
	return 0;
}

void proto_out_failed(struct ktls_conn *conn, int err)
{
	struct conn_proto *p = &conn->pr;

	while (p->out_count > 0)
		proto_out_pop(conn);
	p->tx_closed = true;
	if (p->tx_error == 0)
		p->tx_error = err;
}

/* An alert to the peer, by whichever path holds TX; a fatal one ends sending. */
static void proto_alert(struct ktls_conn *conn, gnutls_alert_level_t level,
			gnutls_alert_description_t alert)
{
	unsigned char body[2] = { (unsigned char)level, (unsigned char)alert };

	if (conn->pr.tx_closed)
		return;
	if (conn->sw.tx.kernel)
		proto_out_push(conn, PROTO_OUT_RECORD, RECORD_ALERT, body, sizeof(body));
	else
		proto_out_push(conn, PROTO_OUT_GNUTLS, PROTO_GNUTLS_ALERT, body, sizeof(body));
	if (level == GNUTLS_AL_FATAL)
		conn->pr.tx_closed = true;
}

void proto_local_failure(struct ktls_conn *conn, int err)
{
	proto_alert(conn, GNUTLS_AL_FATAL, GNUTLS_A_INTERNAL_ERROR);
	if (conn->pr.rx_error == 0)
		conn->pr.rx_error = err;
	if (conn->pr.tx_error == 0)
		conn->pr.tx_error = err;
}

#define NO_ALERT (-1)

/*
 * The receive side is over: @err (its sentence recorded by the caller) and,
 * when the peer broke a rule, the alert that names it.  The alert waits
 * until the application has read up to the failure (proto_rx_end): a
 * record found bad ahead of time (read with the peer's Finished, or while
 * a response was being sent) must not cut off the answer to the data in
 * front of it.
 */
static enum proto_verdict proto_rx_fail(struct ktls_conn *conn, int err, int alert)
{
	conn->pr.rx_error = err;
	conn->pr.pending_alert = alert;
	return PROTO_FAIL;
}

/* ---- our KeyUpdate --------------------------------------------------------------- */

/*
 * GnuTLS hands us the handshake messages it would send while the kernel holds
 * TX (with a handshake read function set): our KeyUpdate.  It goes into the
 * queue under the current kernel key, and the key change follows it.
 */
static int proto_capture(gnutls_session_t session, gnutls_record_encryption_level_t level,
			 gnutls_handshake_description_t htype, const void *data, size_t len)
{
	struct ktls_conn *conn = gnutls_session_get_ptr(session);

	(void)level;
	if (!conn->sw.tx.kernel || len > sizeof(conn->pr.out[0].data))
		return GNUTLS_E_INVALID_REQUEST;
	if (proto_out_push(conn, PROTO_OUT_RECORD, RECORD_HANDSHAKE, data, len) < 0)
		return GNUTLS_E_INTERNAL_ERROR;
	if (htype == GNUTLS_HANDSHAKE_KEY_UPDATE &&
	    proto_out_push(conn, PROTO_OUT_INSTALL_TX, 0, NULL, 0) < 0)
		return GNUTLS_E_INTERNAL_ERROR;
	return 0;
}

/*
 * On for each gnutls_handshake_write() too: GnuTLS refuses that call
 * without a read function (what it would send then is refused above when
 * GnuTLS's own record layer holds TX).
 */
static void proto_capture_on(struct ktls_conn *conn, bool on)
{
	gnutls_handshake_set_read_function(conn->session, on ? proto_capture : NULL);
}

int proto_key_update(struct ktls_conn *conn, bool request_peer)
{
	struct conn_proto *p = &conn->pr;
	struct proto_out *queued;
	int ret;

	if (p->tx_error < 0)
		return p->tx_error;
	if (p->tx_closed)
		return -EPIPE;
	if (conn->sw.version != KTLS_VERSION_TLS13)
		return -EOPNOTSUPP;
	if (!conn->sw.tx.kernel)
		return proto_out_push(conn, PROTO_OUT_GNUTLS, PROTO_GNUTLS_KEY_UPDATE,
				      (unsigned char[]){ request_peer ? GNUTLS_KU_PEER : 0 }, 1);
	if (!probe_get()->tls13_rekey)
		return -EOPNOTSUPP;
	/*
	 * One update at a time: the key installed after it is whatever GnuTLS
	 * holds then.  One not sent yet is ours to change (its last byte is
	 * request_update, RFC 8446 section 4.6.3).
	 */
	queued = proto_out_find(conn, PROTO_OUT_RECORD, RECORD_HANDSHAKE);
	if (queued != NULL && queued->data[0] == HS_KEY_UPDATE) {
		if (request_peer)
			queued->data[4] = 1;
		return 0;
	}
	if (secrets_ready(conn)) {
		/* Our own schedule (secrets.c): the message, then the key change behind it. */
		const unsigned char msg[HS_HEADER + 1] = { HS_KEY_UPDATE, 0, 0, 1, request_peer };

		if (p->out_count + 2 > PROTO_OUT_MAX) {
			p->tx_closed = true;
			p->tx_error = error_conn(conn, -ENOBUFS,
						 "KeyUpdate not sent: too much control traffic queued");
			return p->tx_error;
		}
		proto_out_push(conn, PROTO_OUT_RECORD, RECORD_HANDSHAKE, msg, sizeof(msg));
		proto_out_push(conn, PROTO_OUT_INSTALL_TX, 0, NULL, 0);
		trace_message(conn, false, HS_KEY_UPDATE, 1);
		return 0;
	}
	proto_capture_on(conn, true);
	ret = gnutls_session_key_update(conn->session, request_peer ? GNUTLS_KU_PEER : 0);
	proto_capture_on(conn, false);
	if (ret < 0) {
		p->tx_closed = true;
		p->tx_error = error_conn(conn, error_from_gnutls(ret), "KeyUpdate not sent: %s",
					 gnutls_strerror(ret));
		return p->tx_error;
	}
	return 0;
}

void proto_init(struct ktls_conn *conn)
{
	conn->pr.pending_alert = NO_ALERT;
}

void proto_start(struct ktls_conn *conn)
{
	if (conn->sw.tx.kernel)
		rekey_budget_init(&conn->pr.budget, conn->sw.cipher);
}

void proto_tx_account(struct ktls_conn *conn, uint64_t calls, uint64_t bytes)
{
	struct conn_proto *p = &conn->pr;
	uint64_t seq = 0;

	if (conn->sw.version != KTLS_VERSION_TLS13 || !conn->sw.tx.kernel ||
	    !rekey_budget_charge(&p->budget, calls, bytes))
		return;
	if (kernel_tx_seq(conn->fd, conn->sw.cipher, &seq) < 0 ||
	    !rekey_budget_settle(&p->budget, seq))
		return; /* unreadable: charged again on the next send */
	if (probe_get()->tls13_rekey) {
		proto_key_update(conn, false);
		return;
	}
	/* RFC 8446 section 5.5: stop rather than go past the limit. */
	p->tx_error = error_conn(conn, -EKEYEXPIRED,
				 "%llu records sent under one key, the AEAD usage limit for %s; "
				 "this kernel cannot change the key (TLS 1.3 rekey needs Linux "
				 "6.14 or later), so the connection was closed",
				 (unsigned long long)seq, ktls_cipher_name(conn->sw.cipher));
	proto_alert(conn, GNUTLS_AL_WARNING, GNUTLS_A_CLOSE_NOTIFY);
	p->tx_closed = true;
}

int proto_tx_check(struct ktls_conn *conn, const char *what)
{
	if (conn->pr.tx_error < 0)
		return conn->pr.tx_error;
	if (conn->pr.peer_reset)
		return error_conn_send(conn, what, ECONNRESET);
	if (conn->pr.tx_closed)
		return error_conn(conn, -EPIPE, "%s after shutdown (close_notify was sent)", what);
	return 0;
}

int proto_shutdown(struct ktls_conn *conn)
{
	if (conn->pr.tx_closed)
		return conn->pr.tx_error < 0 && proto_out_peek(conn) == NULL ? conn->pr.tx_error : 0;
	if (conn->hs.state != HANDSHAKE_DONE) {
		/*
		 * The handshake stopped on this side (the drivers checked
		 * handshake_can_cancel()): user_canceled says it was not a
		 * protocol failure, and close_notify follows it (RFC 8446
		 * section 6.1).  Both go through GnuTLS, which holds the keys.
		 */
		proto_alert(conn, GNUTLS_AL_WARNING, GNUTLS_A_USER_CANCELED);
		proto_alert(conn, GNUTLS_AL_WARNING, GNUTLS_A_CLOSE_NOTIFY);
	} else if (conn->sw.tx.kernel) {
		proto_alert(conn, GNUTLS_AL_WARNING, GNUTLS_A_CLOSE_NOTIFY);
	} else {
		proto_out_push(conn, PROTO_OUT_GNUTLS, PROTO_GNUTLS_BYE, NULL, 0);
	}
	conn->pr.tx_closed = true;
	return 0;
}

/* ---- what the kernel hands back ---------------------------------------------------- */

static enum proto_verdict proto_rx_alert(struct ktls_conn *conn, const unsigned char *body,
					 size_t len)
{
	char text[128];

	/* RFC 8446 section 5.1: one alert per record, never fragmented. */
	if (len != 2)
		return proto_rx_fail(conn,
				     error_conn(conn, -EPROTO,
						"peer sent a malformed alert record of %zu bytes", len),
				     GNUTLS_A_DECODE_ERROR);
	if (body[1] == GNUTLS_A_CLOSE_NOTIFY) {
		conn->pr.rx_eof = true;
		return PROTO_END;
	}
	/*
	 * user_canceled is a closure alert, followed by close_notify (RFC 8446
	 * section 6.1); TLS 1.2 warnings are informational.  In TLS 1.3 every
	 * other alert is an error whatever its level.
	 */
	if (body[1] == GNUTLS_A_USER_CANCELED ||
	    (body[0] == GNUTLS_AL_WARNING && conn->sw.version == KTLS_VERSION_TLS12)) {
		error_log(conn->config, KTLS_LOG_DEBUG, "peer sent warning alert %s",
			  error_alert_text(body[1], text, sizeof(text)));
		return PROTO_NEXT;
	}
	/* An error alert ends both directions, and gets no answer (section 6). */
	conn->pr.tx_closed = true;
	return proto_rx_fail(conn,
			     error_conn(conn, -ECONNABORTED, "peer sent fatal alert %s",
					error_alert_text(body[1], text, sizeof(text))),
			     NO_ALERT);
}

/* The alert GnuTLS names for its own error (RFC 8446 section 6.2 wording). */
static int proto_gnutls_alert(int gnutls_err)
{
	int level = 0;
	int alert = gnutls_error_to_alert(gnutls_err, &level);

	return alert < 0 ? GNUTLS_A_INTERNAL_ERROR : alert;
}

/*
 * Each KeyUpdate costs a key derivation and a kernel rekey, and each may
 * ask for ours: a peer gets as many as GnuTLS allows, 8 within any window
 * of a second (a legitimate one sends one every few gigabytes or minutes).
 * The clock is read only when a KeyUpdate comes.
 */
#define KEY_UPDATES_PER_WINDOW 8
#define KEY_UPDATES_WINDOW_NS 1000000000ull

static bool proto_key_update_rate_ok(struct ktls_conn *conn)
{
	struct conn_proto *p = &conn->pr;
	uint64_t now = clock_now_ns();

	if (p->ku_window_count == 0 || now - p->ku_window_start_ns > KEY_UPDATES_WINDOW_NS) {
		p->ku_window_start_ns = now;
		p->ku_window_count = 0;
	}
	return ++p->ku_window_count <= KEY_UPDATES_PER_WINDOW;
}

static enum proto_verdict proto_rx_key_update(struct ktls_conn *conn, const unsigned char *msg,
					      size_t len, bool ends_record)
{
	bool requested;
	int ret;

	/* RFC 8446 section 4.6.3: one byte, update_not_requested(0) or update_requested(1). */
	if (len != HS_HEADER + 1)
		return proto_rx_fail(conn,
				     error_conn(conn, -EPROTO,
						"peer sent a KeyUpdate of %zu bytes (it has one)",
						len - HS_HEADER),
				     GNUTLS_A_DECODE_ERROR);
	if (msg[HS_HEADER] > 1)
		return proto_rx_fail(conn,
				     error_conn(conn, -EPROTO,
						"peer sent a KeyUpdate with request_update %u "
						"(0 or 1 allowed)",
						msg[HS_HEADER]),
				     GNUTLS_A_ILLEGAL_PARAMETER);
	/* RFC 8446 section 5.1: what follows it in the record would be under the old key. */
	if (!ends_record)
		return proto_rx_fail(conn,
				     error_conn(conn, -EPROTO,
						"peer sent a KeyUpdate that does not end its record"),
				     GNUTLS_A_UNEXPECTED_MESSAGE);
	/*
	 * Every record after this one is under the peer's next key.  The kernel
	 * has paused RX (6.14+) and takes it; an older kernel cannot be given
	 * it, so the only honest outcomes are to stop here or to hand back
	 * records it cannot decrypt.  Stop, and say so.
	 */
	if (!probe_get()->tls13_rekey)
		return proto_rx_fail(conn,
				     error_conn(conn, -EKEYEXPIRED,
						"peer sent a TLS 1.3 KeyUpdate; this kernel cannot change "
						"the key of a kTLS socket (needs TLS 1.3 rekey, Linux 6.14 "
						"or later), so the connection was closed"),
				     GNUTLS_A_INTERNAL_ERROR);
	if (!proto_key_update_rate_ok(conn))
		return proto_rx_fail(conn,
				     error_conn(conn, -EPROTO,
						"peer sent more than %d KeyUpdates within a second "
						"(a flood)",
						KEY_UPDATES_PER_WINDOW),
				     GNUTLS_A_UNEXPECTED_MESSAGE);
	requested = msg[HS_HEADER] == 1;
	/* GnuTLS derives the next key, unless the schedule is ours (secrets.c). */
	ret = 0;
	if (!secrets_ready(conn)) {
		proto_capture_on(conn, true);
		ret = gnutls_handshake_write(conn->session, GNUTLS_ENCRYPTION_LEVEL_APPLICATION,
					     msg, len);
		proto_capture_on(conn, false);
	}
	if (ret < 0)
		return proto_rx_fail(conn,
				     error_conn(conn, error_from_gnutls(ret),
						"peer's KeyUpdate refused by GnuTLS: %s",
						gnutls_strerror(ret)),
				     proto_gnutls_alert(ret));
	if (switch_install(conn, KTLS_DIR_RX) < 0)
		return proto_rx_fail(conn,
				     error_conn(conn, -EKEYEXPIRED,
						"peer sent a KeyUpdate and the kernel refused the new RX "
						"key: %s",
						conn->sw.rx.reason),
				     GNUTLS_A_INTERNAL_ERROR);
	conn->pr.rx_updates++;
	error_log(conn->config, KTLS_LOG_DEBUG, "peer KeyUpdate followed, new RX key in the kernel");
	/*
	 * Ours answers it before any more data (section 4.6.3).  With TX in
	 * GnuTLS, GnuTLS sends it before its next record by itself.  After our
	 * close_notify nothing is owed.
	 */
	if (requested && conn->sw.tx.kernel && !conn->pr.tx_closed) {
		ret = proto_key_update(conn, false);
		if (ret < 0 && ret != -EPIPE)
			return proto_rx_fail(conn, ret, NO_ALERT);
	}
	return PROTO_NEXT;
}

/* One whole post-handshake message; @ends_record: nothing of this record follows it. */
static enum proto_verdict proto_rx_message(struct ktls_conn *conn, const unsigned char *msg,
					   size_t len, bool ends_record)
{
	bool client = conn->config->role == KTLS_ROLE_CLIENT;
	int ret;

	trace_message(conn, true, msg[0], len - HS_HEADER);
	if (conn->sw.version == KTLS_VERSION_TLS12) {
		/* Renegotiation is refused (RFC 5746 makes it optional). */
		if ((msg[0] == HS_HELLO_REQUEST && client) || (msg[0] == HS_CLIENT_HELLO && !client)) {
			proto_alert(conn, GNUTLS_AL_WARNING, GNUTLS_A_NO_RENEGOTIATION);
			error_log(conn->config, KTLS_LOG_INFO,
				  "declined a TLS 1.2 renegotiation request");
			return PROTO_NEXT;
		}
		return proto_rx_fail(conn,
				     error_conn(conn, -EPROTO,
						"unexpected TLS 1.2 handshake message %u after the "
						"handshake",
						msg[0]),
				     GNUTLS_A_UNEXPECTED_MESSAGE);
	}
	if (msg[0] == HS_KEY_UPDATE)
		return proto_rx_key_update(conn, msg, len, ends_record);
	if (msg[0] == HS_NEW_SESSION_TICKET && client && conn->session == NULL) {
		/* Resumption is off, so the session went at the switch (summary.c). */
		error_log(conn->config, KTLS_LOG_DEBUG,
			  "NewSessionTicket after the switch ignored: resumption is off");
		return PROTO_NEXT;
	}
	if (msg[0] == HS_NEW_SESSION_TICKET && client) {
		/* GnuTLS keeps the ticket; it resumes a later connection. */
		proto_capture_on(conn, true);
		ret = gnutls_handshake_write(conn->session, GNUTLS_ENCRYPTION_LEVEL_APPLICATION, msg,
					     len);
		proto_capture_on(conn, false);
		if (ret < 0)
			return proto_rx_fail(conn,
					     error_conn(conn, error_from_gnutls(ret),
							"NewSessionTicket rejected by GnuTLS: %s",
							gnutls_strerror(ret)),
					     proto_gnutls_alert(ret));
		error_log(conn->config, KTLS_LOG_DEBUG, "NewSessionTicket received after the switch");
		resume_ticket_arrived(conn, true);
		resume_client_save(conn);
		return PROTO_NEXT;
	}
	return proto_rx_fail(conn,
			     error_conn(conn, -EPROTO,
					"unexpected TLS 1.3 handshake message %u after the handshake",
					msg[0]),
			     GNUTLS_A_UNEXPECTED_MESSAGE);
}

static void proto_hs_release(struct ktls_conn *conn)
{
	if (conn->pr.hs_buf != NULL) {
		explicit_bzero(conn->pr.hs_buf, HS_MESSAGE_MAX);
		free(conn->pr.hs_buf);
	}
	conn->pr.hs_buf = NULL;
	conn->pr.hs_len = 0;
}

/* A handshake record: gather, then act on each message it completes, in order. */
static enum proto_verdict proto_rx_handshake(struct ktls_conn *conn, const unsigned char *data,
					     size_t len)
{
	struct conn_proto *p = &conn->pr;
	enum proto_verdict v = PROTO_NEXT;

	/* RFC 8446 section 5.1: no zero-length fragments of handshake messages. */
	if (len == 0)
		return proto_rx_fail(conn,
				     error_conn(conn, -EPROTO, "peer sent an empty handshake record"),
				     GNUTLS_A_UNEXPECTED_MESSAGE);
	if (p->hs_len + len > HS_MESSAGE_MAX)
		return proto_rx_fail(conn,
				     error_conn(conn, -EPROTO,
						"post-handshake message over %d bytes", HS_MESSAGE_MAX),
				     GNUTLS_A_UNEXPECTED_MESSAGE);
	if (p->hs_buf == NULL && (p->hs_buf = malloc(HS_MESSAGE_MAX)) == NULL)
		return proto_rx_fail(conn, error_conn(conn, -ENOMEM, "out of memory"),
				     GNUTLS_A_INTERNAL_ERROR);
	memcpy(p->hs_buf + p->hs_len, data, len);
	p->hs_len += len;

	while (p->hs_len >= HS_HEADER) {
		const unsigned char *msg = p->hs_buf;
		size_t msg_len = HS_HEADER + ((size_t)msg[1] << 16 | (size_t)msg[2] << 8 | msg[3]);

		if (msg_len > HS_MESSAGE_MAX)
			return proto_rx_fail(conn,
					     error_conn(conn, -EPROTO,
							"post-handshake message of %zu bytes", msg_len),
					     GNUTLS_A_UNEXPECTED_MESSAGE);
		if (p->hs_len < msg_len)
			break;
		/* The buffer holds this record's end: a message ends it when it ends the buffer. */
		v = proto_rx_message(conn, msg, msg_len, msg_len == p->hs_len);
		if (v == PROTO_FAIL)
			return v;
		explicit_bzero(p->hs_buf, msg_len);
		memmove(p->hs_buf, p->hs_buf + msg_len, p->hs_len - msg_len);
		p->hs_len -= msg_len;
	}
	/* An idle connection holds no reassembly buffer. */
	if (p->hs_len == 0)
		proto_hs_release(conn);
	return v;
}

enum proto_verdict proto_rx_record(struct ktls_conn *conn, unsigned char type,
				   unsigned char *body, size_t len)
{
	enum proto_verdict v;

	if (conn->pr.rx_error < 0)
		return PROTO_FAIL;
	/*
	 * RFC 8446 section 5.1: a handshake message split over records allows
	 * no other record between its pieces.
	 */
	if (conn->pr.hs_len > 0 && type != RECORD_HANDSHAKE) {
		v = proto_rx_fail(conn,
				  error_conn(conn, -EPROTO,
					     "peer sent a record of type %u inside a handshake "
					     "message split across records",
					     type),
				  GNUTLS_A_UNEXPECTED_MESSAGE);
	} else if (type == RECORD_APPLICATION_DATA) {
		/* A zero-length data record is allowed and carries nothing. */
		return len > 0 ? PROTO_DATA : PROTO_NEXT;
	} else if (type == RECORD_ALERT) {
		v = proto_rx_alert(conn, body, len);
	} else if (type == RECORD_HANDSHAKE) {
		v = proto_rx_handshake(conn, body, len);
	} else {
		v = proto_rx_fail(conn,
				  error_conn(conn, -EPROTO,
					     "unexpected record type %u after the handshake", type),
				  GNUTLS_A_UNEXPECTED_MESSAGE);
	}
	/* Control-record bytes never stay behind. */
	explicit_bzero(body, len);
	return v;
}

enum proto_verdict proto_rx_kernel_error(struct ktls_conn *conn, int err)
{
	switch (err) {
	case EBADMSG:
		/* Authentication failed, or (TLS 1.3) a record with no content type. */
		return proto_rx_fail(conn,
				     error_conn(conn, -EBADMSG,
						"a record failed authentication in the kernel (EBADMSG)"),
				     GNUTLS_A_BAD_RECORD_MAC);
	case EMSGSIZE:
		return proto_rx_fail(conn,
				     error_conn(conn, -EMSGSIZE,
						"peer sent a record longer than TLS allows (EMSGSIZE)"),
				     GNUTLS_A_RECORD_OVERFLOW);
	case EINVAL:
		/* tls_rx_msg_size(): a record header with another version. */
		return proto_rx_fail(conn,
				     error_conn(conn, -EPROTO,
						"peer sent a malformed record header (EINVAL from the "
						"kernel)"),
				     GNUTLS_A_DECODE_ERROR);
	case EKEYEXPIRED:
		/*
		 * Linux >= 6.14 pauses RX after a handshake record that starts
		 * with a KeyUpdate, until a new key.  RFC 8446 lets a KeyUpdate
		 * be split across records; the kernel then stops after the first
		 * piece, before the rest that the next key depends on: that one
		 * cannot be followed on a kTLS socket.
		 */
		if (conn->pr.hs_len > 0 && conn->pr.hs_buf[0] == HS_KEY_UPDATE)
			return proto_rx_fail(conn,
					     error_conn(conn, -EKEYEXPIRED,
							"peer sent a KeyUpdate split across records; "
							"the kernel stops reading after its first piece "
							"(a kTLS socket cannot follow it)"),
					     GNUTLS_A_INTERNAL_ERROR);
		return proto_rx_fail(conn,
				     error_conn(conn, -EKEYEXPIRED,
						"peer changed keys (KeyUpdate) and no new key was "
						"installed"),
				     GNUTLS_A_INTERNAL_ERROR);
	case ECONNRESET:
	case EPIPE:
		/* A reset ends both directions: sends fail from now on, whatever the socket still takes. */
		conn->pr.peer_reset = true;
		return proto_rx_fail(conn,
				     error_conn(conn, -ECONNRESET,
						"peer reset the connection without close_notify "
						"(ECONNRESET)"),
				     NO_ALERT);
	default:
		return proto_rx_fail(conn, error_conn(conn, -err, "recvmsg: %s", strerror(err)),
				     NO_ALERT);
	}
}

enum proto_verdict proto_rx_fin(struct ktls_conn *conn, bool mid_record)
{
	if (conn->pr.hs_len > 0 || mid_record)
		return proto_rx_fail(conn,
				     error_conn(conn, -ECONNRESET,
						"peer closed the connection in the middle of a %s",
						mid_record ? "record" : "handshake message"),
				     GNUTLS_A_DECODE_ERROR);
	return proto_rx_fail(conn,
			     error_conn(conn, -ECONNRESET,
					"peer closed the connection without close_notify"),
			     NO_ALERT);
}

/* ---- what GnuTLS's record layer returns ------------------------------------------- */

void proto_note_gnutls_key_update(struct ktls_conn *conn, bool incoming, bool requested)
{
	if (!incoming) {
		conn->pr.tx_updates++;
		return;
	}
	conn->pr.rx_updates++;
	/* GnuTLS (RX) cannot answer with TX in the kernel: proto_rx_gnutls() does. */
	if (requested && conn->sw.tx.kernel)
		conn->pr.answer_due = true;
}

enum proto_verdict proto_rx_gnutls(struct ktls_conn *conn, ssize_t ret)
{
	char text[128];

	resume_save_pending(conn);
	if (conn->pr.answer_due) {
		conn->pr.answer_due = false;
		if (!probe_get()->tls13_rekey)
			/*
			 * RFC 8446 section 4.6.3 wants our KeyUpdate before any more
			 * data, and this kernel cannot change the TX key: end here
			 * rather than ignore it.
			 */
			return proto_rx_fail(conn,
					     error_conn(conn, -EKEYEXPIRED,
							"peer sent a KeyUpdate requesting ours; its new key "
							"was followed (RX in userspace) but this kernel "
							"cannot change the TX key (TLS 1.3 rekey needs Linux "
							"6.14 or later), so the connection was closed"),
					     GNUTLS_A_INTERNAL_ERROR);
		proto_key_update(conn, false);
	}
	if (ret > 0)
		return PROTO_DATA;
	if (ret == 0) {
		conn->pr.rx_eof = true;
		return PROTO_END;
	}
	switch (ret) {
	case GNUTLS_E_AGAIN:
		/*
		 * GnuTLS also says AGAIN after a post-handshake message (a TLS 1.3
		 * NewSessionTicket) with no data behind it, and after a record
		 * that completes nothing: only the transport's own EAGAIN means
		 * waiting for the peer.
		 */
		return conn->tp.would_block ? PROTO_WAIT : PROTO_NEXT;
	case GNUTLS_E_INTERRUPTED:
	case GNUTLS_E_WARNING_ALERT_RECEIVED:
		return PROTO_NEXT;
	case GNUTLS_E_REHANDSHAKE:
		/* TLS 1.2 HelloRequest: decline (RFC 5246 section 7.2.2). */
		proto_alert(conn, GNUTLS_AL_WARNING, GNUTLS_A_NO_RENEGOTIATION);
		return PROTO_NEXT;
	case GNUTLS_E_FATAL_ALERT_RECEIVED:
		conn->pr.tx_closed = true;
		return proto_rx_fail(conn,
				     error_conn(conn, -ECONNABORTED, "peer sent fatal alert %s",
						error_alert_text(gnutls_alert_get(conn->session),
								 text, sizeof(text))),
				     NO_ALERT);
	case GNUTLS_E_PREMATURE_TERMINATION:
		return proto_rx_fin(conn, false);
	case GNUTLS_E_PULL_ERROR:
		if (conn->tp.pull_errno == ECONNRESET || conn->tp.pull_errno == EPIPE)
			return proto_rx_kernel_error(conn, ECONNRESET);
		if (conn->tp.pull_errno != 0)
			return proto_rx_fail(conn,
					     error_conn(conn, -conn->tp.pull_errno, "recv: %s",
							strerror(conn->tp.pull_errno)),
					     NO_ALERT);
		break;
	default:
		if (!gnutls_error_is_fatal((int)ret))
			return PROTO_NEXT;
		break;
	}
	/* GnuTLS refused what the peer sent: tell the peer what GnuTLS found. */
	return proto_rx_fail(conn,
			     error_conn(conn, error_from_gnutls((int)ret), "recv: %s",
					gnutls_strerror((int)ret)),
			     proto_gnutls_alert((int)ret));
}

bool proto_rx_ended(const struct ktls_conn *conn)
{
	return conn->pr.rx_eof || conn->pr.rx_error < 0;
}

int proto_rx_end(struct ktls_conn *conn)
{
	if (conn->pr.rx_error == 0)
		return 0;
	if (conn->pr.pending_alert != NO_ALERT) {
		proto_alert(conn, GNUTLS_AL_FATAL, (gnutls_alert_description_t)conn->pr.pending_alert);
		conn->pr.pending_alert = NO_ALERT;
		/* After a fatal alert nothing more is sent, and sends say why. */
		if (conn->pr.tx_error == 0)
			conn->pr.tx_error = conn->pr.rx_error;
	}
	return conn->pr.rx_error;
}

void proto_free(struct ktls_conn *conn)
{
	proto_hs_release(conn);
	while (conn->pr.out_count > 0)
		proto_out_pop(conn);
}
