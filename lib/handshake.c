/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The GnuTLS side of a connection: session set-up (credentials, priority,
 * verification, PSK, ALPN, SNI), the handshake itself, and turning its
 * failures into an errno and a sentence.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "private.h"

/* TLS extension numbers (RFC 6066 section 4, RFC 8449) */
#define EXT_MAX_FRAGMENT_LENGTH 1
#define EXT_RECORD_SIZE_LIMIT 28

static int handshake_note_extension(void *ctx, unsigned int tls_id, const unsigned char *data,
				    unsigned int size)
{
	struct ktls_conn *conn = ctx;
	size_t limit = 0;

	if (tls_id == EXT_RECORD_SIZE_LIMIT && size == 2)
		limit = (size_t)data[0] << 8 | data[1];
	else if (tls_id == EXT_MAX_FRAGMENT_LENGTH && size == 1 && data[0] >= 1 && data[0] <= 4)
		limit = (size_t)1 << (8 + data[0]);
	if (limit > 0 && (conn->hs.peer_record_limit == 0 || limit < conn->hs.peer_record_limit))
		conn->hs.peer_record_limit = limit;
	return 0;
}

/* TLS NamedGroup numbers (RFC 8446 section 4.2.7, RFC 7919) of the groups GnuTLS has. */
static unsigned int handshake_group_tls_id(gnutls_group_t group)
{
	switch (group) {
	case GNUTLS_GROUP_SECP256R1: return 23;
	case GNUTLS_GROUP_SECP384R1: return 24;
	case GNUTLS_GROUP_SECP521R1: return 25;
	case GNUTLS_GROUP_X25519: return 29;
	case GNUTLS_GROUP_X448: return 30;
	case GNUTLS_GROUP_FFDHE2048: return 256;
	case GNUTLS_GROUP_FFDHE3072: return 257;
	case GNUTLS_GROUP_FFDHE4096: return 258;
	case GNUTLS_GROUP_FFDHE6144: return 259;
	case GNUTLS_GROUP_FFDHE8192: return 260;
	default: return 0;
	}
}

#define EXT_KEY_SHARE 51
#define KEY_SHARES_MAX 8

struct handshake_key_shares {
	unsigned int n;
	unsigned int tls_id[KEY_SHARES_MAX];
};

/* The groups of a ClientHello's key_share (RFC 8446 section 4.2.8); GnuTLS checks the rest. */
static int handshake_note_key_shares(void *ctx, unsigned int tls_id, const unsigned char *data,
				     unsigned int size)
{
	struct handshake_key_shares *shares = ctx;
	size_t off = 2, end;

	if (tls_id != EXT_KEY_SHARE || size < 2)
		return 0;
	end = 2 + ((size_t)data[0] << 8 | data[1]);
	if (end > size)
		return 0;
	while (off + 4 <= end && shares->n < KEY_SHARES_MAX) {
		size_t len = (size_t)data[off + 2] << 8 | data[off + 3];

		shares->tls_id[shares->n++] = (unsigned int)data[off] << 8 | data[off + 1];
		off += 4 + len;
	}
	return 0;
}

/*
 * Server, first ClientHello: when the client sent a key share for a group we
 * accept but rank below our first, use the priority that ranks it first
 * (config_build_group_variants) so that GnuTLS answers with a ServerHello,
 * not a HelloRetryRequest.  Among several shares, ours decides.  A client
 * with no acceptable share still gets the retry for our first group.
 */
static void handshake_choose_group(struct ktls_conn *conn, const gnutls_datum_t *hello)
{
	const struct ktls_config *config = conn->config;
	struct handshake_key_shares shares = { 0 };

	if (config->n_groups <= 1 || conn->hs.group_chosen)
		return;
	conn->hs.group_chosen = true;
	if (gnutls_ext_raw_parse(&shares, handshake_note_key_shares, hello,
				 GNUTLS_EXT_RAW_FLAG_TLS_CLIENT_HELLO) < 0)
		return;
	for (unsigned int i = 0; i < config->n_groups; i++) {
		unsigned int id = handshake_group_tls_id(config->groups[i]);

		for (unsigned int k = 0; id != 0 && k < shares.n; k++) {
			if (shares.tls_id[k] != id)
				continue;
			if (i > 0 && config->group_first[i] != NULL)
				gnutls_priority_set(conn->session, config->group_first[i]);
			return;
		}
	}
}

/* GnuTLS's message description -> the wire type of ktls_handshake_type_name(). */
static unsigned int handshake_wire_type(unsigned int htype)
{
	switch (htype) {
	case GNUTLS_HANDSHAKE_CHANGE_CIPHER_SPEC:
		return KTLS_HANDSHAKE_CHANGE_CIPHER_SPEC;
	case GNUTLS_HANDSHAKE_HELLO_RETRY_REQUEST:
		return KTLS_HANDSHAKE_HELLO_RETRY_REQUEST;
	case GNUTLS_HANDSHAKE_CLIENT_HELLO_V2:
		return GNUTLS_HANDSHAKE_CLIENT_HELLO;
	default:
		return htype;
	}
}

/*
 * Every handshake message passes here (GnuTLS allows one hook per session):
 * it goes to the trace callback, and the hook notes the record size the peer
 * asks for (record_size_limit, RFC 8449, or
 * max_fragment_length): the kernel always fills records to 16384 bytes, so a
 * smaller limit keeps TX in userspace.  GnuTLS has no call that reports the
 * limit it sends with, hence reading the peer's hello messages here.
 */
static int handshake_hook(gnutls_session_t session, unsigned int htype, unsigned int when,
			  unsigned int incoming, const gnutls_datum_t *msg)
{
	struct ktls_conn *conn = gnutls_session_get_ptr(session);
	const unsigned char *p = msg->data;
	size_t len = msg->size, off;

	/* GnuTLS's record layer sent a KeyUpdate (its own answer, or ktls_conn_rekey). */
	if (when == GNUTLS_HOOK_POST && !incoming && htype == GNUTLS_HANDSHAKE_KEY_UPDATE &&
	    !conn->sw.tx.kernel)
		proto_note_gnutls_key_update(conn, false, false);
	/*
	 * Received messages are traced before GnuTLS parses them (after, a
	 * TLS 1.3 post-handshake message's datum holds only what its parser
	 * left over), sent ones once queued.  Messages read from a kernel-RX
	 * socket after the switch are traced by proto.c as it reads them;
	 * GnuTLS sees them again when it is handed a NewSessionTicket.
	 */
	if ((when == GNUTLS_HOOK_PRE) == (incoming != 0) &&
	    !(incoming && conn->hs.state == HANDSHAKE_DONE && conn->sw.rx.kernel))
		trace_message(conn, incoming != 0, handshake_wire_type(htype),
			      msg != NULL ? msg->size : 0);
	if (when == GNUTLS_HOOK_PRE && incoming && htype == GNUTLS_HANDSHAKE_CLIENT_HELLO &&
	    msg != NULL && msg->data != NULL && conn->config->role == KTLS_ROLE_SERVER)
		handshake_choose_group(conn, msg);
	if (when != GNUTLS_HOOK_POST || !incoming || msg == NULL || msg->data == NULL)
		return 0;
	switch (htype) {
	case GNUTLS_HANDSHAKE_KEY_UPDATE:
		/* GnuTLS's record layer (RX) took a KeyUpdate. */
		if (!conn->sw.rx.kernel)
			proto_note_gnutls_key_update(conn, true, len == 1 && p[0] == 1);
		break;
	case GNUTLS_HANDSHAKE_NEW_SESSION_TICKET:
		/* Saved once GnuTLS has taken it in (resume_save_pending). */
		if (conn->config->role == KTLS_ROLE_CLIENT && !conn->sw.rx.kernel)
			resume_ticket_arrived(conn, false);
		break;
	case GNUTLS_HANDSHAKE_CLIENT_HELLO:
		gnutls_ext_raw_parse(conn, handshake_note_extension, msg,
				     GNUTLS_EXT_RAW_FLAG_TLS_CLIENT_HELLO);
		break;
	case GNUTLS_HANDSHAKE_ENCRYPTED_EXTENSIONS:
		gnutls_ext_raw_parse(conn, handshake_note_extension, msg, 0);
		break;
	case GNUTLS_HANDSHAKE_SERVER_HELLO:
		/* version(2) random(32) session_id<1> cipher(2) compression(1) extensions */
		if (len < 35)
			break;
		off = 35 + p[34] + 3;
		if (off < len) {
			gnutls_datum_t ext = { (unsigned char *)p + off, (unsigned int)(len - off) };

			gnutls_ext_raw_parse(conn, handshake_note_extension, &ext, 0);
		}
		break;
	default:
		break;
	}
	return 0;
}

static int handshake_verify(gnutls_session_t session);

int handshake_session_init(struct ktls_conn *conn)
{
	const struct ktls_config *config = conn->config;
	unsigned int flags = config->role == KTLS_ROLE_SERVER ? GNUTLS_SERVER : GNUTLS_CLIENT;
	int ret;

	flags |= resume_init_flags(config);
	ret = gnutls_init(&conn->session, flags);
	if (ret < 0)
		return error_conn(conn, error_from_gnutls(ret), "gnutls_init: %s",
				  gnutls_strerror(ret));
	gnutls_session_set_ptr(conn->session, conn);
	secrets_session_init(conn);
	hello_scan_init(&conn->hs.hello, config->role == KTLS_ROLE_SERVER);
	gnutls_handshake_set_max_packet_length(conn->session, HELLO_MESSAGE_MAX);

	ret = gnutls_priority_set(conn->session, config->priority);
	if (ret < 0)
		goto gnutls_fail;

	if (config->n_certs > 0 || config->trust_loaded || !config_has_psk(config)) {
		ret = gnutls_credentials_set(conn->session, GNUTLS_CRD_CERTIFICATE, config->certs);
		if (ret < 0)
			goto gnutls_fail;
	}
	if (config->psk_client != NULL)
		ret = gnutls_credentials_set(conn->session, GNUTLS_CRD_PSK, config->psk_client);
	else if (config->psk_server != NULL)
		ret = gnutls_credentials_set(conn->session, GNUTLS_CRD_PSK, config->psk_server);
	if (ret < 0)
		goto gnutls_fail;

	if (config->role == KTLS_ROLE_SERVER && config->client_auth == KTLS_CLIENT_AUTH_REQUIRE)
		gnutls_certificate_server_set_request(conn->session, GNUTLS_CERT_REQUIRE);
	else if (config->role == KTLS_ROLE_SERVER && config->client_auth == KTLS_CLIENT_AUTH_REQUEST)
		gnutls_certificate_server_set_request(conn->session, GNUTLS_CERT_REQUEST);
	/* Every certificate the peer sends goes through handshake_verify(). */
	gnutls_session_set_verify_function(conn->session, handshake_verify);
	/*
	 * Bounds the whole handshake: a blocking fd waits in record_pull_timeout,
	 * a non-blocking one gets -ETIMEDOUT from the first call past the limit.
	 */
	if (config->handshake_timeout_ms > 0)
		gnutls_handshake_set_timeout(conn->session, config->handshake_timeout_ms);

	if (config->n_alpn > 0) {
		ret = gnutls_alpn_set_protocols(conn->session, config->alpn, config->n_alpn,
						config->role == KTLS_ROLE_SERVER
							? GNUTLS_ALPN_SERVER_PRECEDENCE
							: 0);
		if (ret < 0)
			goto gnutls_fail;
	}

	ret = resume_session_init(conn);
	if (ret < 0)
		return ret;

	gnutls_handshake_set_hook_function(conn->session, GNUTLS_HANDSHAKE_ANY, GNUTLS_HOOK_BOTH,
					   handshake_hook);
	transport_set_fd(conn);
	return 0;

gnutls_fail:
	return error_conn(conn, error_from_gnutls(ret), "GnuTLS session set-up: %s",
			  gnutls_strerror(ret));
}

bool handshake_name_is_address(const char *name)
{
	unsigned char addr[16];

	return inet_pton(AF_INET, name, addr) == 1 || inet_pton(AF_INET6, name, addr) == 1;
}

/* Client-side settings that need the server name, applied just before the
 * first flight. */
static int handshake_client_prepare(struct ktls_conn *conn)
{
	const struct ktls_config *config = conn->config;
	const char *name = conn->hs.server_name;
	int ret;

	/*
	 * An address is checked against the certificate's IP subjectAltName but
	 * never sent as SNI (RFC 6066 section 3); GnuTLS would send it.
	 */
	if (name != NULL && !handshake_name_is_address(name)) {
		ret = gnutls_server_name_set(conn->session, GNUTLS_NAME_DNS, name, strlen(name));
		if (ret < 0)
			return error_conn(conn, -EINVAL, "server name \"%s\": %s", name,
					  gnutls_strerror(ret));
	}
	if (config->verify_chain && config->check_hostname && !handshake_uses_psk(conn) &&
	    name == NULL)
		return error_conn(conn, -EINVAL,
				  "hostname verification is on but no server name was set "
				  "(ktls_conn_set_server_name)");
	return resume_client_prepare(conn);
}

/* GnuTLS's verification text, without its trailing blanks. */
static void handshake_verify_text(struct ktls_conn *conn, unsigned int status, char *out,
				  size_t size)
{
	gnutls_datum_t text = { NULL, 0 };
	size_t len;

	gnutls_certificate_verification_status_print(
		status, gnutls_certificate_type_get(conn->session), &text, 0);
	snprintf(out, size, "%s", text.data != NULL ? (const char *)text.data : "unknown reason");
	gnutls_free(text.data);
	len = strlen(out);
	while (len > 0 && (out[len - 1] == ' ' || out[len - 1] == '.'))
		out[--len] = '\0';
}

/* No alert chosen here: GnuTLS picks the one for its error. */
#define ALERT_NONE ((gnutls_alert_description_t)-1)

/* The alert RFC 8446 section 6.2 names for a certificate that failed verification. */
static gnutls_alert_description_t handshake_verify_alert(unsigned int status)
{
	if (status & GNUTLS_CERT_REVOKED)
		return GNUTLS_A_CERTIFICATE_REVOKED;
	if (status & (GNUTLS_CERT_EXPIRED | GNUTLS_CERT_NOT_ACTIVATED))
		return GNUTLS_A_CERTIFICATE_EXPIRED;
	if (status & (GNUTLS_CERT_SIGNER_NOT_FOUND | GNUTLS_CERT_SIGNER_NOT_CA))
		return GNUTLS_A_UNKNOWN_CA;
	return GNUTLS_A_BAD_CERTIFICATE;
}

/* The sentence for a peer certificate that failed libktls's checks. */
static int handshake_verify_failed(struct ktls_conn *conn, unsigned int status)
{
	char text[200];

	handshake_verify_text(conn, status, text, sizeof(text));
	if (conn->config->role == KTLS_ROLE_SERVER)
		return error_conn(conn, -EACCES, "client certificate rejected: %s", text);
	if ((status & GNUTLS_CERT_UNEXPECTED_OWNER) && conn->hs.server_name != NULL)
		return error_conn(conn, -EACCES, "peer certificate rejected: %s (expected \"%s\")",
				  text, conn->hs.server_name);
	return error_conn(conn, -EACCES, "peer certificate rejected: %s", text);
}

/*
 * GnuTLS calls this when the peer's certificate chain has arrived: a
 * client's verification of the server (chain, and name when asked), a
 * server's of a client certificate, then the application's verify callback
 * with that verdict.  A server under KTLS_CLIENT_AUTH_REQUEST accepts a
 * client without a certificate; GnuTLS fails REQUIRE on its own before this.
 */
static int handshake_verify(gnutls_session_t session)
{
	struct ktls_conn *conn = gnutls_session_get_ptr(session);
	const struct ktls_config *config = conn->config;
	unsigned int n = 0, status = 0;
	int verdict = 0;
	bool check;

	if (gnutls_certificate_get_peers(session, &n) == NULL || n == 0)
		return 0;
	check = config->role == KTLS_ROLE_CLIENT ? config->verify_chain
						 : config->client_auth != KTLS_CLIENT_AUTH_NONE;
	if (check) {
		const char *host = config->role == KTLS_ROLE_CLIENT && config->check_hostname
					   ? conn->hs.server_name
					   : NULL;

		if (gnutls_certificate_verify_peers3(session, host, &status) < 0)
			status = GNUTLS_CERT_INVALID;
		conn->hs.verify_status = status;
		/* Written now, so that the application's callback can read why. */
		if (status != 0)
			verdict = handshake_verify_failed(conn, status);
	}
	if (config->verify_fn != NULL) {
		int ret = config->verify_fn(conn, verdict, config->verify_userdata);

		if (ret >= 0) {
			conn->hs.verify_status = 0; /* the application decided */
			return 0;
		}
		conn->hs.verify_rejected = true;
		return GNUTLS_E_CERTIFICATE_ERROR;
	}
	return status == 0 ? 0 : GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR;
}

/* A message hello.c refused by its header: the sentence, and in @alert the alert. */
static int handshake_hello_error(struct ktls_conn *conn, gnutls_alert_description_t *alert)
{
	const struct hello_scan *scan = &conn->hs.hello;
	char text[200];

	if (scan->verdict == HELLO_WRONG_MESSAGE) {
		*alert = GNUTLS_A_UNEXPECTED_MESSAGE;
		return error_conn(conn, -EPROTO,
				  "the peer's first handshake message is %s (type %u), not a %s; "
				  "alert sent: %s",
				  ktls_handshake_type_name(scan->type), scan->type,
				  scan->server ? "ClientHello" : "ServerHello",
				  error_alert_text(*alert, text, sizeof(text)));
	}
	*alert = GNUTLS_A_DECODE_ERROR;
	return error_conn(conn, -EPROTO,
			  "the peer's %s claims %u bytes, more than the %u a handshake message "
			  "may have; alert sent: %s",
			  ktls_handshake_type_name(scan->type), (unsigned int)scan->length,
			  HELLO_MESSAGE_MAX, error_alert_text(*alert, text, sizeof(text)));
}

static int handshake_fail(struct ktls_conn *conn, int gnutls_err)
{
	gnutls_alert_description_t alert = ALERT_NONE;
	int err = error_from_gnutls(gnutls_err);
	char text[200];

	if (gnutls_err == GNUTLS_E_AGAIN) {
		/* GnuTLS waits for the rest of a message that hello.c refused. */
		err = handshake_hello_error(conn, &alert);
	} else if (conn->hs.unknown_psk_identity[0] != '\0') {
		/* RFC 8446 section 6.2 lets a server name the problem. */
		gnutls_alert_send(conn->session, GNUTLS_AL_FATAL, GNUTLS_A_UNKNOWN_PSK_IDENTITY);
		err = error_conn(conn, -EACCES, "unknown PSK identity \"%s\" (GnuTLS: %s)",
				 conn->hs.unknown_psk_identity, gnutls_strerror(gnutls_err));
	} else if (conn->hs.verify_rejected) {
		alert = GNUTLS_A_BAD_CERTIFICATE;
		err = error_conn(conn, -EACCES,
				 "the application's verify callback rejected the peer's certificate");
	} else if ((gnutls_err == GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR ||
		    gnutls_err == GNUTLS_E_CERTIFICATE_ERROR) &&
		   conn->hs.verify_status != 0) {
		alert = handshake_verify_alert(conn->hs.verify_status);
		err = handshake_verify_failed(conn, conn->hs.verify_status);
	} else if (conn->config->role == KTLS_ROLE_SERVER &&
		   (gnutls_err == GNUTLS_E_NO_CERTIFICATE_FOUND ||
		    gnutls_err == GNUTLS_E_CERTIFICATE_REQUIRED)) {
		/*
		 * RFC 8446 section 4.4.2.4 names certificate_required for this;
		 * TLS 1.2 has no such alert, and RFC 5246 section 7.4.6 says
		 * handshake_failure (GnuTLS would send decode_error).
		 */
		alert = gnutls_protocol_get_version(conn->session) == GNUTLS_TLS1_3
				? GNUTLS_A_CERTIFICATE_REQUIRED
				: GNUTLS_A_HANDSHAKE_FAILURE;
		err = error_conn(conn, -EACCES,
				 "the client sent no certificate and this server requires one; "
				 "alert sent: %s",
				 error_alert_text(alert, text, sizeof(text)));
	} else if (gnutls_err == GNUTLS_E_FATAL_ALERT_RECEIVED) {
		err = error_conn(conn, err, "peer sent fatal alert %s during the handshake",
				 error_alert_text(gnutls_alert_get(conn->session), text,
						  sizeof(text)));
	} else if (err == -ECONNRESET || conn->tp.peer_eof) {
		err = error_conn(conn, -ECONNRESET,
				 "peer closed the connection during the handshake (GnuTLS: %s)",
				 gnutls_strerror(gnutls_err));
	} else if (err == -ETIMEDOUT) {
		err = error_conn(conn, err, "handshake timed out after %u ms",
				 conn->config->handshake_timeout_ms);
	} else {
		err = error_conn(conn, err, "TLS handshake failed: %s", gnutls_strerror(gnutls_err));
	}

	/*
	 * Tell the peer why, unless the transport itself is gone.  GnuTLS
	 * writes the alert through the transport: on the fd now, into the
	 * engine's memory for the engine to send before it reports the failure.
	 */
	if (alert != ALERT_NONE)
		gnutls_alert_send(conn->session, GNUTLS_AL_FATAL, alert);
	else if (err != -ECONNRESET && err != -ETIMEDOUT &&
		 gnutls_err != GNUTLS_E_FATAL_ALERT_RECEIVED &&
		 conn->hs.unknown_psk_identity[0] == '\0')
		gnutls_alert_send_appropriate(conn->session, gnutls_err);
	conn->hs.state = HANDSHAKE_FAILED;
	conn->hs.failure = err;
	return err;
}

/*
 * Bounds the AGAIN loop below: GnuTLS consumes a record each round, so this
 * many rounds without the transport running dry means something else.
 */
#define HANDSHAKE_ROUNDS_MAX 256

int handshake_step(struct ktls_conn *conn)
{
	int ret, rounds = 0;

	switch (conn->hs.state) {
	case HANDSHAKE_DONE:
		return 1;
	case HANDSHAKE_FAILED:
		return conn->hs.failure;
	case HANDSHAKE_NEW:
		transport_check_blocking(conn);
		ret = conn->config->role == KTLS_ROLE_CLIENT ? handshake_client_prepare(conn) : 0;
		if (ret < 0)
			return handshake_fail_with(conn, ret);
		conn->hs.state = HANDSHAKE_RUNNING;
		break;
	case HANDSHAKE_RUNNING:
		break;
	}

	/*
	 * GnuTLS reads one record per call and says AGAIN when the message it
	 * waits for is not whole yet, even with more records already read from
	 * the peer behind it (a ClientHello split into ten records, a flight
	 * coalesced in one segment).  Only the transport running dry is a
	 * reason to wait for the peer: until then, go on.
	 */
	do {
		if (conn->hs.gnutls_done) {
			ret = 0;
			break;
		}
		transport_clear_would_block(conn);
		ret = gnutls_handshake(conn->session);
	} while ((ret < 0 && !gnutls_error_is_fatal(ret) && ret != GNUTLS_E_AGAIN) ||
		 (ret == GNUTLS_E_AGAIN && !conn->tp.would_block &&
		  gnutls_record_get_direction(conn->session) == 0 &&
		  conn->hs.hello.verdict == HELLO_FINE && ++rounds < HANDSHAKE_ROUNDS_MAX));

	/* An AGAIN for a message hello.c refused is a failure (handshake_fail). */
	if (ret == GNUTLS_E_AGAIN && conn->hs.hello.verdict == HELLO_FINE) {
		conn->hs.wants = gnutls_record_get_direction(conn->session) ? KTLS_WANT_WRITE
									     : KTLS_WANT_READ;
		return -EAGAIN;
	}
	if (ret < 0)
		return handshake_fail(conn, ret);
	/* GnuTLS is done; what it sends after the client's Finished goes now. */
	conn->hs.gnutls_done = true;
	ret = resume_send_tickets(conn);
	if (ret == -EAGAIN) {
		conn->hs.wants = KTLS_WANT_WRITE;
		return -EAGAIN;
	}
	if (ret < 0)
		return handshake_fail_with(conn, ret);
	return 0;
}

int handshake_fail_with(struct ktls_conn *conn, int err)
{
	if (conn->hs.state != HANDSHAKE_FAILED) {
		conn->hs.state = HANDSHAKE_FAILED;
		conn->hs.failure = err;
	}
	return conn->hs.failure;
}

int handshake_stop(struct ktls_conn *conn, int err)
{
	if (conn->hs.state != HANDSHAKE_FAILED)
		conn->hs.stopped_here = true;
	return handshake_fail_with(conn, err);
}

bool handshake_can_cancel(const struct ktls_conn *conn)
{
	return conn->hs.state == HANDSHAKE_RUNNING ||
	       (conn->hs.state == HANDSHAKE_FAILED && conn->hs.stopped_here);
}

/*
 * Records that arrived with the peer's last handshake flight (an HTTP
 * request in the same segment as the client's Finished, say) must reach the
 * application before anything the kernel decrypts, and the kernel never
 * sees them: GnuTLS decrypts them into rxbuf now.  On the fd, GnuTLS never
 * reads past the record it needs, so only plaintext it already decrypted can
 * be left; in the engine's memory whole records can wait (the engine reads
 * on to a record boundary first).  What they mean (data, tickets, an alert)
 * is proto.c's to say.
 */
int handshake_drain(struct ktls_conn *conn)
{
	for (int rounds = 0; rounds < HANDSHAKE_ROUNDS_MAX; rounds++) {
		size_t pending = gnutls_record_check_pending(conn->session);
		enum proto_verdict v;
		ssize_t n;
		int ret;

		if (pending == 0 && transport_buffered(conn) == 0)
			return 0;
		ret = rxbuf_reserve(conn, pending > 0 ? pending : RECORD_MAX_PLAINTEXT);
		if (ret < 0)
			return error_conn(conn, ret, "out of memory");
		transport_clear_would_block(conn);
		n = gnutls_record_recv(conn->session, rxbuf_tail(conn),
				       pending > 0 ? pending : RECORD_MAX_PLAINTEXT);
		v = proto_rx_gnutls(conn, n);
		if (v == PROTO_DATA)
			rxbuf_commit(conn, (size_t)n);
		else if (v != PROTO_NEXT)
			break; /* the end, or a failure: recv reports it after the data */
	}
	rxbuf_trim(conn);
	return 0;
}

int handshake_settle(struct ktls_conn *conn)
{
	int ret;

	if (conn->hs.settled)
		return conn->hs.state == HANDSHAKE_FAILED ? conn->hs.failure : 0;
	conn->hs.settled = true;
	error_log(conn->config, KTLS_LOG_DEBUG, "handshake done: %s %s",
		  gnutls_protocol_get_name(gnutls_protocol_get_version(conn->session)),
		  gnutls_cipher_get_name(gnutls_cipher_get(conn->session)));
	ret = handshake_drain(conn);
	if (ret == 0)
		ret = summary_take(conn);
	if (ret == 0)
		ret = switch_plan_keys(conn);
	return ret < 0 ? handshake_fail_with(conn, ret) : 0;
}

int handshake_finish(struct ktls_conn *conn)
{
	int ret = handshake_settle(conn);

	if (ret == 0)
		ret = switch_keys(conn);
	if (ret < 0)
		return handshake_fail_with(conn, ret);
	proto_start(conn);
	conn->hs.state = HANDSHAKE_DONE;
	summary_release_session(conn);
	return 0;
}

void handshake_note_wants(struct ktls_conn *conn, int wants)
{
	conn->hs.wants = wants;
}

void handshake_adopted(struct ktls_conn *conn)
{
	conn->hs.state = HANDSHAKE_DONE;
}

void handshake_note_unknown_psk(struct ktls_conn *conn, const void *identity, size_t len)
{
	/* Cut to fit: it only names the problem in the failure's sentence. */
	snprintf(conn->hs.unknown_psk_identity, sizeof(conn->hs.unknown_psk_identity), "%.*s",
		 (int)len, (const char *)identity);
}

bool handshake_uses_psk(const struct ktls_conn *conn)
{
	return conn->config->n_psks > 0 || conn->hs.psk != NULL;
}

KTLS_EXPORT int ktls_conn_handshake(struct ktls_conn *conn)
{
	int ret;

	if (conn == NULL)
		return -EINVAL;
	error_conn_begin(conn);
	if (conn->tp.mem != NULL)
		return error_conn(conn, -EINVAL,
				  "the connection is driven by an io_uring engine "
				  "(ktls_conn_ring_handshake)");
	ret = handshake_step(conn);
	if (ret != 0)
		return ret > 0 ? 0 : ret;
	return handshake_finish(conn);
}

KTLS_EXPORT int ktls_conn_wants(const struct ktls_conn *conn)
{
	return conn != NULL ? conn->hs.wants : 0;
}

KTLS_EXPORT int ktls_conn_set_psk(struct ktls_conn *conn, const char *identity, const void *key,
				  size_t key_len)
{
	gnutls_datum_t k = { (unsigned char *)key, (unsigned int)key_len };
	gnutls_psk_client_credentials_t cred;
	char *id;
	int ret;

	if (conn == NULL)
		return -EINVAL;
	error_conn_begin(conn);
	if (conn->config->role != KTLS_ROLE_CLIENT || conn->hs.state != HANDSHAKE_NEW ||
	    conn->session == NULL)
		return error_conn(conn, -EINVAL, "a client sets its PSK before the handshake");
	if (identity == NULL || identity[0] == '\0' || strlen(identity) > PSK_IDENTITY_MAX)
		return error_conn(conn, -EINVAL, "PSK identity must be 1..%d bytes",
				  PSK_IDENTITY_MAX);
	if (key == NULL || key_len < PSK_KEY_MIN || key_len > PSK_KEY_MAX)
		return error_conn(conn, -EINVAL, "PSK key must be %d..%d bytes, got %zu",
				  PSK_KEY_MIN, PSK_KEY_MAX, key_len);
	id = strdup(identity);
	if (id == NULL || gnutls_psk_allocate_client_credentials(&cred) < 0) {
		free(id);
		return error_conn(conn, -ENOMEM, "out of memory");
	}
	/*
	 * GnuTLS copies the key into the credentials and wipes it when they go.
	 * The connection is a PSK one only, as with PSKs in the config: no
	 * certificate credentials (a TLS 1.2 server would pick a certificate
	 * suite the client offered with them, and fail), and a priority with the
	 * PSK key exchanges alone.
	 */
	ret = gnutls_psk_set_client_credentials(cred, identity, &k, GNUTLS_PSK_KEY_RAW);
	if (ret == 0) {
		char priority[sizeof(conn->config->priority_text) + 40];

		gnutls_credentials_clear(conn->session);
		ret = gnutls_credentials_set(conn->session, GNUTLS_CRD_PSK, cred);
		snprintf(priority, sizeof(priority), "%s:-KX-ALL:+ECDHE-PSK:+DHE-PSK",
			 conn->config->priority_text);
		if (ret == 0)
			ret = gnutls_priority_set_direct(conn->session, priority, NULL);
	}
	if (ret < 0) {
		gnutls_psk_free_client_credentials(cred);
		free(id);
		return error_conn(conn, error_from_gnutls(ret), "PSK: %s", gnutls_strerror(ret));
	}
	handshake_psk_free(conn);
	conn->hs.psk = cred;
	conn->hs.psk_identity = id;
	return 0;
}

void handshake_psk_free(struct ktls_conn *conn)
{
	if (conn->hs.psk != NULL)
		gnutls_psk_free_client_credentials(conn->hs.psk);
	free(conn->hs.psk_identity);
	conn->hs.psk = NULL;
	conn->hs.psk_identity = NULL;
}

KTLS_EXPORT int ktls_conn_set_server_name(struct ktls_conn *conn, const char *name)
{
	char *copy;

	if (conn == NULL)
		return -EINVAL;
	error_conn_begin(conn);
	if (conn->config->role != KTLS_ROLE_CLIENT || conn->hs.state != HANDSHAKE_NEW)
		return error_conn(conn, -EINVAL,
				  "the server name is set by a client before the handshake");
	if (name == NULL || name[0] == '\0' || strlen(name) > 253)
		return error_conn(conn, -EINVAL, "server name must be 1..253 characters");
	copy = strdup(name);
	if (copy == NULL)
		return -ENOMEM;
	free(conn->hs.server_name);
	conn->hs.server_name = copy;
	return 0;
}
