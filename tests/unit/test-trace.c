/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Black-box: the handshake trace (ktls_config_set_handshake_trace) reports
 * every handshake message of a full TLS 1.3 and TLS 1.2 handshake, and of one
 * with a HelloRetryRequest, between a libktls client and server over loopback
 * TCP, in order and in the right direction, on each side; and TLS 1.3
 * NewSessionTickets that arrive after the handshake (from a plain GnuTLS
 * server) are reported by ktls_conn_recv(), on blocking and non-blocking fds.
 * Runs on any kernel: with kTLS the post-handshake messages are read from the
 * kernel, without it GnuTLS reads them; the trace must be the same.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "unit.h"

#define TIMEOUT_MS 10000
#define MAX_EVENTS 32

struct event {
	const struct ktls_conn *conn;
	bool sent;
	unsigned int type;
	size_t length;
};

struct trace {
	struct event ev[MAX_EVENTS];
	size_t n;
	bool overflow;
};

static struct unit_cert ca, leaf;

static void trace_fn(const struct ktls_conn *conn, bool sent, unsigned int type, size_t length,
		     void *userdata)
{
	struct trace *t = userdata;

	if (t->n == MAX_EVENTS) {
		t->overflow = true;
		return;
	}
	t->ev[t->n++] = (struct event){ conn, sent, type, length };
}

/* "> ClientHello < ServerHello ..." for one connection's events. */
static void trace_text(const struct trace *t, const struct ktls_conn *conn, char *out, size_t size)
{
	size_t used = 0;

	out[0] = '\0';
	for (size_t i = 0; i < t->n && used < size; i++) {
		if (t->ev[i].conn != conn)
			continue;
		used += (size_t)snprintf(out + used, size - used, "%s%s %s", used ? " " : "",
					 t->ev[i].sent ? ">" : "<",
					 ktls_handshake_type_name(t->ev[i].type));
	}
}

/* Every event of @conn has a body length that fits its type. */
static bool trace_lengths_plausible(const struct trace *t, const struct ktls_conn *conn)
{
	for (size_t i = 0; i < t->n; i++) {
		const struct event *e = &t->ev[i];

		if (e->conn != conn)
			continue;
		if (e->type == KTLS_HANDSHAKE_CHANGE_CIPHER_SPEC || e->type == 14 /* ServerHelloDone */) {
			if (e->length != 0)
				return false;
		} else if (e->type == 4 /* NewSessionTicket: RFC 8446 section 4.6.1 */ &&
			   e->length < 13) {
			return false;
		} else if (e->length == 0 || e->length > 16384) {
			return false;
		}
	}
	return true;
}

static void check_sequence(const char *label, const struct trace *t, const struct ktls_conn *conn,
			   const char *want)
{
	char got[1024];

	trace_text(t, conn, got, sizeof(got));
	if (!tap_check(strcmp(got, want) == 0, "%s: messages in order", label)) {
		tap_diag("got:  %s", got);
		tap_diag("want: %s", want);
	}
	tap_check(trace_lengths_plausible(t, conn), "%s: every message has a body length", label);
}

/* @server_priority: NULL, or a GnuTLS priority string for the server. */
/* A connected pair through @listener (one port, so the client's session store applies). */
static void trace_pair(int listener, int *ret_c, int *ret_s)
{
	int ret = unit_tcp_pair_on(listener, ret_c, ret_s, true);

	if (ret < 0)
		tap_bail("loopback TCP: %s", strerror(-ret));
}

/*
 * A full handshake, then (with @want_resumed_client) a second connection
 * with the same configs, which resumes: the trace shows the shorter flow.
 */
static void test_full_handshake(int version, const char *server_priority, const char *want_client,
				const char *want_server, const char *want_resumed_client,
				const char *want_resumed_server)
{
	int listener;
	const char *vname = server_priority != NULL	  ? "HelloRetryRequest"
			    : version == KTLS_VERSION_TLS13 ? "TLS 1.3"
							    : "TLS 1.2";
	struct ktls_config *cc = NULL, *sc = NULL;
	struct ktls_conn *c = NULL, *s = NULL;
	struct trace t = { .n = 0 };
	char label[64];
	int cfd, sfd, rc, rs;

	if (ktls_config_new(KTLS_ROLE_CLIENT, &cc) != 0 ||
	    ktls_config_set_ca_file(cc, ca.cert_path) != 0 ||
	    ktls_config_set_versions(cc, version, version) != 0 ||
	    ktls_config_set_handshake_trace(cc, trace_fn, &t) != 0)
		tap_bail("client config: %s", cc ? ktls_config_error(cc) : "");
	if (ktls_config_new(KTLS_ROLE_SERVER, &sc) != 0 ||
	    ktls_config_add_cert_file(sc, leaf.cert_path, leaf.key_path) != 0 ||
	    (server_priority != NULL && ktls_config_set_priority(sc, server_priority) != 0) ||
	    ktls_config_set_handshake_trace(sc, trace_fn, &t) != 0)
		tap_bail("server config: %s", sc ? ktls_config_error(sc) : "");
	listener = unit_tcp_listen();
	if (listener < 0)
		tap_bail("listen: %s", strerror(-listener));
	trace_pair(listener, &cfd, &sfd);
	if (ktls_conn_new(cc, cfd, KTLS_CONN_OWN_FD, &c) != 0 ||
	    ktls_conn_new(sc, sfd, KTLS_CONN_OWN_FD, &s) != 0 ||
	    ktls_conn_set_server_name(c, "localhost") != 0)
		tap_bail("connections");

	tap_check(ktls_config_set_handshake_trace(cc, NULL, NULL) == -EBUSY,
		  "%s: the trace cannot change once the config is in use", vname);
	if (unit_handshake_pair(c, s, &rc, &rs, TIMEOUT_MS) != 0 || rc != 0 || rs != 0)
		tap_bail("%s handshake: client %s (%s), server %s (%s)", vname,
			 unit_errno_name(rc), ktls_conn_error(c), unit_errno_name(rs),
			 ktls_conn_error(s));
	tap_check(!t.overflow, "%s: fewer than %d messages", vname, MAX_EVENTS);
	snprintf(label, sizeof(label), "%s client", vname);
	check_sequence(label, &t, c, want_client);
	snprintf(label, sizeof(label), "%s server", vname);
	check_sequence(label, &t, s, want_server);

	/* Nothing more is traced for application data. */
	size_t before = t.n;
	char byte = 'x';

	if (unit_send_all(c, &byte, 1, TIMEOUT_MS) != 1 || unit_recv_all(s, &byte, 1, TIMEOUT_MS) != 1)
		tap_bail("%s: data after the handshake: %s / %s", vname, ktls_conn_error(c),
			 ktls_conn_error(s));
	tap_check(t.n == before, "%s: application data is not traced", vname);

	if (want_resumed_client != NULL) {
		/* The client reads a byte, and with it the TLS 1.3 tickets it will resume with. */
		if (unit_send_all(s, &byte, 1, TIMEOUT_MS) != 1 ||
		    unit_recv_all(c, &byte, 1, TIMEOUT_MS) != 1)
			tap_bail("%s: data to the client: %s", vname, ktls_conn_error(c));
		ktls_conn_free(c);
		ktls_conn_free(s);
		t.n = 0;
		trace_pair(listener, &cfd, &sfd);
		if (ktls_conn_new(cc, cfd, KTLS_CONN_OWN_FD, &c) != 0 ||
		    ktls_conn_new(sc, sfd, KTLS_CONN_OWN_FD, &s) != 0 ||
		    ktls_conn_set_server_name(c, "localhost") != 0)
			tap_bail("second connections");
		if (unit_handshake_pair(c, s, &rc, &rs, TIMEOUT_MS) != 0 || rc != 0 || rs != 0)
			tap_bail("%s resumed handshake: %s / %s", vname, ktls_conn_error(c),
				 ktls_conn_error(s));
		struct ktls_info info;

		ktls_conn_get_info(c, &info);
		tap_check(info.resumed, "%s: the second connection resumed", vname);
		snprintf(label, sizeof(label), "%s resumed, client", vname);
		check_sequence(label, &t, c, want_resumed_client);
		snprintf(label, sizeof(label), "%s resumed, server", vname);
		check_sequence(label, &t, s, want_resumed_server);
	}
	close(listener);
	ktls_conn_free(c);
	ktls_conn_free(s);
	ktls_config_unref(cc);
	ktls_config_unref(sc);
}

struct ticket_server {
	int fd;
	gnutls_certificate_credentials_t cred;
	gnutls_datum_t ticket_key;
	int result; /* GnuTLS error, 0 when the handshake and the send worked */
};

/* A plain GnuTLS TLS 1.3 server on a blocking fd: handshake, send "hello", wait for EOF. */
static void *ticket_server_main(void *arg)
{
	struct ticket_server *ts = arg;
	gnutls_session_t session;
	char byte;
	int ret;

	ret = gnutls_init(&session, GNUTLS_SERVER);
	if (ret == 0)
		ret = gnutls_priority_set_direct(session, "NORMAL:-VERS-ALL:+VERS-TLS1.3", NULL);
	if (ret == 0)
		ret = gnutls_credentials_set(session, GNUTLS_CRD_CERTIFICATE, ts->cred);
	if (ret == 0)
		ret = gnutls_session_ticket_enable_server(session, &ts->ticket_key);
	if (ret == 0) {
		gnutls_transport_set_int(session, ts->fd);
		gnutls_handshake_set_timeout(session, TIMEOUT_MS);
		do
			ret = gnutls_handshake(session);
		while (ret < 0 && !gnutls_error_is_fatal(ret));
	}
	if (ret == 0) {
		ret = (int)gnutls_record_send(session, "hello", 5);
		ret = ret == 5 ? 0 : ret;
	}
	/* Until the client is done: a close now would race its read. */
	if (ret == 0)
		while (gnutls_record_recv(session, &byte, 1) > 0)
			;
	ts->result = ret;
	gnutls_deinit(session);
	return NULL;
}

/*
 * A plain GnuTLS server with session tickets sends TLS 1.3 NewSessionTickets
 * right after the handshake: the libktls client reads them in
 * ktls_conn_recv() (from the kernel, or through GnuTLS), traces each once,
 * and goes on to the data; on a blocking fd without returning -EAGAIN.
 */
static void test_post_handshake_ticket(bool nonblocking)
{
	const char *mode = nonblocking ? "non-blocking" : "blocking";
	struct ticket_server ts = { .result = -1 };
	struct ktls_config *cc = NULL;
	struct ktls_conn *c = NULL;
	struct trace t = { .n = 0 };
	struct ktls_caps caps;
	struct ktls_info info;
	char got[1024], buf[6] = "";
	pthread_t thread;
	int cfd, rc;
	ssize_t n;

	if (gnutls_certificate_allocate_credentials(&ts.cred) < 0 ||
	    gnutls_certificate_set_x509_key_file(ts.cred, leaf.cert_path, leaf.key_path,
						 GNUTLS_X509_FMT_PEM) < 0 ||
	    gnutls_session_ticket_key_generate(&ts.ticket_key) < 0)
		tap_bail("plain GnuTLS server credentials");
	if (ktls_config_new(KTLS_ROLE_CLIENT, &cc) != 0 ||
	    ktls_config_set_ca_file(cc, ca.cert_path) != 0 ||
	    ktls_config_set_handshake_trace(cc, trace_fn, &t) != 0)
		tap_bail("client config: %s", cc ? ktls_config_error(cc) : "");
	if (unit_tcp_pair(&cfd, &ts.fd, false) < 0 || unit_set_nonblock(cfd, nonblocking) < 0 ||
	    ktls_conn_new(cc, cfd, KTLS_CONN_OWN_FD, &c) != 0 ||
	    ktls_conn_set_server_name(c, "localhost") != 0)
		tap_bail("connection");
	if (pthread_create(&thread, NULL, ticket_server_main, &ts) != 0)
		tap_bail("thread");

	if (nonblocking)
		unit_handshake_one(c, &rc, TIMEOUT_MS);
	else
		rc = ktls_conn_handshake(c);
	if (rc != 0)
		tap_bail("%s ticket handshake: %s (%s)", mode, unit_errno_name(rc),
			 ktls_conn_error(c));
	if (nonblocking)
		n = unit_recv_all(c, buf, 5, TIMEOUT_MS);
	else
		n = ktls_conn_recv(c, buf, 5);
	if (!tap_check(n == 5 && memcmp(buf, "hello", 5) == 0,
		       "%s: data after the NewSessionTickets arrives intact", mode))
		tap_diag("recv: %s (%s)", unit_errno_name((int)n), ktls_conn_error(c));

	/* Where the kernel can take the key, the tickets were read from it (lib/proto.c). */
	if (ktls_probe(&caps) == 0 && caps.ulp_available && ktls_conn_get_info(c, &info) == 0)
		tap_check(info.rx.kernel, "%s: the kernel holds the client's RX key (%s)", mode,
			  info.rx.reason);
	else
		tap_diag("no kTLS here: GnuTLS read the tickets");
	trace_text(&t, c, got, sizeof(got));
	/* A GnuTLS 3.7 server sends two tickets (TLS13_TICKETS_TO_SEND). */
	if (!tap_check(strcmp(got, "> ClientHello < ServerHello < EncryptedExtensions "
				   "< Certificate < CertificateVerify < Finished > Finished "
				   "< NewSessionTicket < NewSessionTicket") == 0,
		       "%s: the NewSessionTickets after the handshake are traced, once each",
		       mode))
		tap_diag("got: %s", got);
	tap_check(trace_lengths_plausible(&t, c), "%s: every message has a body length", mode);

	ktls_conn_shutdown(c);
	ktls_conn_free(c);
	pthread_join(thread, NULL);
	tap_check(ts.result == 0, "%s: the GnuTLS server finished", mode);
	close(ts.fd);
	ktls_config_unref(cc);
	gnutls_free(ts.ticket_key.data);
	gnutls_certificate_free_credentials(ts.cred);
}

static void test_names(void)
{
	tap_check(strcmp(ktls_handshake_type_name(1), "ClientHello") == 0 &&
			  strcmp(ktls_handshake_type_name(8), "EncryptedExtensions") == 0 &&
			  strcmp(ktls_handshake_type_name(24), "KeyUpdate") == 0 &&
			  strcmp(ktls_handshake_type_name(KTLS_HANDSHAKE_CHANGE_CIPHER_SPEC),
				 "ChangeCipherSpec") == 0 &&
			  strcmp(ktls_handshake_type_name(KTLS_HANDSHAKE_HELLO_RETRY_REQUEST),
				 "HelloRetryRequest") == 0,
		  "ktls_handshake_type_name names the messages");
	tap_check(strcmp(ktls_handshake_type_name(6), "unknown") == 0 &&
			  strcmp(ktls_handshake_type_name(255), "unknown") == 0 &&
			  strcmp(ktls_handshake_type_name(100000), "unknown") == 0,
		  "ktls_handshake_type_name: \"unknown\" for numbers that name no message");
	tap_check(ktls_config_set_handshake_trace(NULL, trace_fn, NULL) == -EINVAL,
		  "ktls_config_set_handshake_trace(NULL config) is -EINVAL");
}

int main(void)
{
	const char *dir = unit_tmpdir();

	if (unit_cert_make(&ca, dir, "ca", UNIT_CERT_CA, "Test CA", NULL, NULL, false) < 0 ||
	    unit_cert_make(&leaf, dir, "server", UNIT_CERT_SERVER, "localhost", "localhost", &ca,
			   false) < 0)
		tap_bail("cannot make certificates");

	test_names();
	/*
	 * RFC 8446 section 2 (figures 1 and 3) and RFC 5077 section 3.1
	 * (figures 1 and 2).  GnuTLS reports no ChangeCipherSpec records to
	 * its hook, so none shows here.  A libktls TLS 1.3 server sends its
	 * tickets after the client's Finished, never in its first flight (a
	 * client's request would wait for a delayed ACK: resume.c); the client
	 * reads them after the handshake.  Resumed: no Certificate,
	 * CertificateVerify or key exchange messages, one fresh TLS 1.3
	 * ticket for the one used, and no renewed TLS 1.2 ticket (RFC 5077
	 * section 3.1 leaves that to the server).
	 */
	test_full_handshake(KTLS_VERSION_TLS13, NULL,
			    "> ClientHello < ServerHello < EncryptedExtensions < Certificate "
			    "< CertificateVerify < Finished > Finished",
			    "< ClientHello > ServerHello > EncryptedExtensions > Certificate "
			    "> CertificateVerify > Finished < Finished > NewSessionTicket "
			    "> NewSessionTicket",
			    "> ClientHello < ServerHello < EncryptedExtensions < Finished > Finished",
			    "< ClientHello > ServerHello > EncryptedExtensions > Finished "
			    "< Finished > NewSessionTicket");
	test_full_handshake(KTLS_VERSION_TLS12, NULL,
			    "> ClientHello < ServerHello < Certificate < ServerKeyExchange "
			    "< ServerHelloDone > ClientKeyExchange > Finished < NewSessionTicket "
			    "< Finished",
			    "< ClientHello > ServerHello > Certificate > ServerKeyExchange "
			    "> ServerHelloDone < ClientKeyExchange < Finished > NewSessionTicket "
			    "> Finished",
			    "> ClientHello < ServerHello < Finished > Finished",
			    "< ClientHello > ServerHello > Finished < Finished");
	/*
	 * The client's first key share is not one the server accepts, so the
	 * server asks again (RFC 8446 section 4.1.4) and the client says hello twice.
	 */
	test_full_handshake(KTLS_VERSION_TLS13, "NORMAL:-VERS-ALL:+VERS-TLS1.3:-GROUP-ALL:+GROUP-SECP384R1",
			    "> ClientHello < HelloRetryRequest > ClientHello < ServerHello "
			    "< EncryptedExtensions < Certificate < CertificateVerify < Finished "
			    "> Finished",
			    "< ClientHello > HelloRetryRequest < ClientHello > ServerHello "
			    "> EncryptedExtensions > Certificate > CertificateVerify > Finished "
			    "< Finished > NewSessionTicket > NewSessionTicket",
			    NULL, NULL);
	test_post_handshake_ticket(true);
	test_post_handshake_ticket(false);

	unit_cert_free(&leaf);
	unit_cert_free(&ca);
	return tap_done();
}
