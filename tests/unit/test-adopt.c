/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Black-box: sessions and credentials the way applications use them.
 *
 *  1. ktls_conn_adopt(): an application's own GnuTLS session (its own
 *     gnutls_init, priority, credentials, gnutls_transport_set_int and
 *     handshake, over loopback TCP) is handed to libktls after it has already
 *     decrypted more application data than it read.  Those bytes come out of
 *     ktls_conn_recv() first; later data follows in order both ways; info
 *     says where the keys went (on a kTLS kernel the socket itself is asked);
 *     ktls_conn_shutdown() sends a close_notify GnuTLS sees.  Failures leave
 *     the session with the caller, who frees it (run under ASan / valgrind to
 *     see that nothing is freed twice).
 *  2. SNI: one server config with two certificates; each name gets its own.
 *  3. TLS 1.3 external PSK (ECDHE-PSK), no certificates anywhere.
 *
 * Runs on the build host (fallback to GnuTLS records) and, as kernel-adopt,
 * inside user-mode Linux with kTLS.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <ktls-gnutls.h>

#include "unit.h"

/* From linux/tls.h; a black-box test does not see the library's uapi copy. */
#ifndef SOL_TLS
#define SOL_TLS 282
#endif
#ifndef TLS_TX
#define TLS_TX 1
#endif
#ifndef TLS_RX
#define TLS_RX 2
#endif
#define UAPI_TLS_CIPHER_AES_GCM_128 51

#define TIMEOUT_MS 10000
#define BULK (48 * 1024)

static struct ktls_caps caps;
static struct unit_cert ca, leaf, alpha, beta;
static gnutls_certificate_credentials_t plain_client_cred, plain_server_cred;

static const char *const prio_tls13 = "NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+AES-128-GCM";
static const char *const prio_tls12 = "NORMAL:-VERS-ALL:+VERS-TLS1.2:-CIPHER-ALL:+AES-128-GCM";

/* ---- plain GnuTLS, as an application would use it ------------------------------ */

static gnutls_session_t plain_session(bool server, const char *priority, int fd)
{
	gnutls_session_t s;
	const char *where = NULL;

	if (gnutls_init(&s, server ? GNUTLS_SERVER : GNUTLS_CLIENT) < 0)
		tap_bail("gnutls_init");
	if (gnutls_priority_set_direct(s, priority, &where) < 0)
		tap_bail("gnutls_priority_set_direct(%s) near %s", priority, where ? where : "?");
	if (gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE,
				   server ? plain_server_cred : plain_client_cred) < 0)
		tap_bail("gnutls_credentials_set");
	if (!server) {
		gnutls_server_name_set(s, GNUTLS_NAME_DNS, "localhost", strlen("localhost"));
		gnutls_session_set_verify_cert(s, "localhost", 0);
	}
	/*
	 * No gnutls_handshake_set_timeout(): on a non-blocking socket GnuTLS then
	 * reports GNUTLS_E_TIMEDOUT as soon as nothing is there to read; the
	 * handshake loop below bounds the wait instead.
	 */
	gnutls_transport_set_int(s, fd);
	return s;
}

/*
 * Both handshakes from this thread on non-blocking sockets; either result may
 * be GNUTLS_E_AGAIN when the other side is stuck.  Returns true when both
 * completed.
 */
static bool plain_handshake_pair(gnutls_session_t a, int fa, gnutls_session_t b, int fb)
{
	int ra = GNUTLS_E_AGAIN, rb = GNUTLS_E_AGAIN;

	for (;;) {
		struct pollfd pfd[2];
		nfds_t n = 0;
		int r;

		if (ra == GNUTLS_E_AGAIN || ra == GNUTLS_E_INTERRUPTED)
			ra = gnutls_handshake(a);
		if (rb == GNUTLS_E_AGAIN || rb == GNUTLS_E_INTERRUPTED)
			rb = gnutls_handshake(b);
		if (ra != GNUTLS_E_AGAIN && rb != GNUTLS_E_AGAIN)
			break;
		if (ra == GNUTLS_E_AGAIN)
			pfd[n++] = (struct pollfd){ .fd = fa, .events = gnutls_record_get_direction(a)
									 ? POLLOUT
									 : POLLIN };
		if (rb == GNUTLS_E_AGAIN)
			pfd[n++] = (struct pollfd){ .fd = fb, .events = gnutls_record_get_direction(b)
									 ? POLLOUT
									 : POLLIN };
		do
			r = poll(pfd, n, TIMEOUT_MS);
		while (r < 0 && errno == EINTR);
		if (r == 0)
			break;
	}
	if (ra != 0 || rb != 0)
		tap_diag("plain GnuTLS handshake: %s / %s", gnutls_strerror(ra), gnutls_strerror(rb));
	return ra == 0 && rb == 0;
}

/* Blocking again, with timeouts so that a bug fails instead of hanging. */
static void set_blocking(int fd)
{
	struct timeval tv = { .tv_sec = TIMEOUT_MS / 1000 };

	unit_set_nonblock(fd, false);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

static ssize_t plain_send_all(gnutls_session_t s, const void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = gnutls_record_send(s, (const char *)buf + done, len - done);

		if (n == GNUTLS_E_INTERRUPTED)
			continue;
		if (n < 0)
			return n;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

/* Exactly @len bytes, or a GnuTLS error (GNUTLS_E_AGAIN: the socket timed out), or 0 at EOF. */
static ssize_t plain_recv_all(gnutls_session_t s, void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = gnutls_record_recv(s, (char *)buf + done, len - done);

		if (n == GNUTLS_E_INTERRUPTED)
			continue;
		if (n < 0)
			return n;
		if (n == 0)
			return (ssize_t)done;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

/* One gnutls_record_recv that tolerates the non-fatal codes a blocking socket can give. */
static ssize_t plain_recv_once(gnutls_session_t s, void *buf, size_t len)
{
	ssize_t n;
	int tries = 0;

	do
		n = gnutls_record_recv(s, buf, len);
	while ((n == GNUTLS_E_INTERRUPTED || (n < 0 && !gnutls_error_is_fatal((int)n) &&
					      n != GNUTLS_E_AGAIN)) &&
	       ++tries < 8);
	return n;
}

/* ---- a thread moving bulk data through a plain session ------------------------- */

struct bulk {
	gnutls_session_t session;
	bool send;
	unsigned char *buf;
	size_t len;
	ssize_t result;
};

static void *bulk_main(void *arg)
{
	struct bulk *b = arg;

	b->result = b->send ? plain_send_all(b->session, b->buf, b->len)
			    : plain_recv_all(b->session, b->buf, b->len);
	return NULL;
}

/* ---- 1. adoption ----------------------------------------------------------------- */

static struct ktls_config *adopt_config(enum ktls_role role)
{
	struct ktls_config *c = NULL;

	if (ktls_config_new(role, &c) != 0)
		tap_bail("ktls_config_new");
	/*
	 * Nothing else: an adopted session brings its own credentials, and the
	 * config only supplies policy and logging (ktls.h), so a server config
	 * without certificate or PSK and a client one without trust must do.
	 */
	return c;
}

static bool fd_is_open(int fd)
{
	return fcntl(fd, F_GETFD) != -1;
}

/* On a kTLS kernel, ask the socket itself what it holds for one direction. */
static void check_kernel_sockopt(const char *label, int fd, int optname, int want_version)
{
	struct {
		unsigned short version, cipher_type;
	} hdr = { 0, 0 };
	socklen_t len = sizeof(hdr);
	int ret = getsockopt(fd, SOL_TLS, optname, &hdr, &len);

	tap_check(ret == 0 && len == 4 && hdr.version == want_version &&
			  hdr.cipher_type == UAPI_TLS_CIPHER_AES_GCM_128,
		  "%s: getsockopt(SOL_TLS, %s): version 0x%04x, cipher_type %u", label,
		  optname == TLS_TX ? "TLS_TX" : "TLS_RX", hdr.version, hdr.cipher_type);
	if (ret != 0)
		tap_diag("  getsockopt: %s", strerror(errno));
}

/*
 * @adopter_role: the side whose session libktls adopts; the other side stays
 * plain GnuTLS throughout.
 */
static void test_adopt(int version, enum ktls_role adopter_role)
{
	static const char first[] = "0123456789";
	static const char msg[] = "hello from the adopted session";
	static const char later[] = "later data";
	bool adopter_server = adopter_role == KTLS_ROLE_SERVER;
	bool tls13 = version == KTLS_VERSION_TLS13;
	const char *prio = tls13 ? prio_tls13 : prio_tls12;
	char label[64], buf[64];
	struct ktls_config *config = adopt_config(adopter_role);
	struct ktls_conn *conn = NULL;
	struct ktls_info info;
	gnutls_session_t mine, peer;
	unsigned char *want_a = malloc(BULK), *got_a = malloc(BULK), *buf_b = malloc(BULK);
	int cfd, sfd, my_fd, peer_fd, ret;
	ssize_t n;
	pthread_t thread;
	struct bulk bulk;

	snprintf(label, sizeof(label), "adopt TLS1.%d %s", tls13 ? 3 : 2,
		 adopter_server ? "server" : "client");
	if (want_a == NULL || got_a == NULL || buf_b == NULL)
		tap_bail("out of memory");
	ret = unit_tcp_pair(&cfd, &sfd, true);
	if (ret < 0)
		tap_bail("loopback TCP: %s", strerror(-ret));
	my_fd = adopter_server ? sfd : cfd;
	peer_fd = adopter_server ? cfd : sfd;
	mine = plain_session(adopter_server, prio, my_fd);
	peer = plain_session(!adopter_server, prio, peer_fd);
	if (!tap_check(plain_handshake_pair(mine, my_fd, peer, peer_fd),
		       "%s: plain GnuTLS handshake over loopback TCP", label))
		goto out_plain;
	set_blocking(my_fd);
	set_blocking(peer_fd);

	/* The peer's application speaks first; ours reads only part of the record. */
	n = plain_send_all(peer, first, strlen(first));
	if (n != (ssize_t)strlen(first))
		tap_bail("%s: peer send: %s", label, gnutls_strerror((int)n));
	n = plain_recv_once(mine, buf, 4);
	tap_check(n == 4 && memcmp(buf, "0123", 4) == 0, "%s: GnuTLS read \"%.4s\" before adoption",
		  label, n == 4 ? buf : "????");
	tap_check(gnutls_record_check_pending(mine) == 6,
		  "%s: GnuTLS holds the other 6 bytes, decrypted (pending %zu)", label,
		  gnutls_record_check_pending(mine));

	ret = ktls_conn_adopt(config, mine, my_fd, 0, &conn);
	if (!tap_check(ret == 0 && conn != NULL, "%s: ktls_conn_adopt returns 0", label)) {
		tap_diag("  %s: %s", unit_errno_name(ret), ktls_config_error(config));
		goto out_plain;
	}
	mine = NULL; /* the connection's now */

	if (ktls_conn_get_info(conn, &info) != 0) {
		tap_check(false, "%s: ktls_conn_get_info after adoption", label);
		goto out;
	}
	tap_check(info.version == version && info.cipher == KTLS_CIPHER_AES_128_GCM &&
			  strcmp(info.cipher_name, "AES-128-GCM") == 0 &&
			  strcmp(info.version_name, tls13 ? "TLS1.3" : "TLS1.2") == 0,
		  "%s: info: version 0x%04x \"%s\", cipher %d \"%s\"", label, (unsigned int)info.version,
		  info.version_name, (int)info.cipher, info.cipher_name);
	tap_check(info.peer_auth == (adopter_server ? KTLS_PEER_NONE : KTLS_PEER_CERTIFICATE) &&
			  (adopter_server || strcmp(info.peer_identity, leaf.dn) == 0),
		  "%s: info: peer_auth %d, peer \"%s\"", label, (int)info.peer_auth,
		  info.peer_identity);
	if (caps.ulp_available) {
		tap_check(info.tx.kernel && info.rx.kernel, "%s: the kernel holds both keys", label);
		if (!info.tx.kernel || !info.rx.kernel)
			tap_diag("  tx \"%s\", rx \"%s\"", info.tx.reason, info.rx.reason);
		check_kernel_sockopt(label, my_fd, TLS_TX, version);
		check_kernel_sockopt(label, my_fd, TLS_RX, version);
	} else {
		tap_check(!info.tx.kernel && !info.rx.kernel &&
				  info.tx.reason_errno == caps.ulp_errno &&
				  info.rx.reason_errno == caps.ulp_errno &&
				  strcmp(info.tx.reason, caps.summary) == 0 &&
				  strcmp(info.rx.reason, caps.summary) == 0,
			  "%s: no kTLS here: both directions say why (%s)", label,
			  unit_errno_name(info.tx.reason_errno));
		tap_diag("  tx reason \"%s\"", info.tx.reason);
	}

	/* What GnuTLS had decrypted comes first, and only that. */
	tap_check(ktls_conn_pending(conn) == 6, "%s: ktls_conn_pending() == 6 (%zu)", label,
		  ktls_conn_pending(conn));
	memset(buf, 0, sizeof(buf));
	n = ktls_conn_recv(conn, buf, sizeof(buf));
	tap_check(n == 6 && memcmp(buf, "456789", 6) == 0,
		  "%s: first ktls_conn_recv returns the 6 pending bytes \"%.*s\"", label,
		  n > 0 ? (int)n : 0, buf);
	if (n < 0)
		tap_diag("  %s: %s", unit_errno_name((int)n), ktls_conn_error(conn));

	/* Keying material exported by libktls is what the plain GnuTLS peer derives (RFC 5705). */
	{
		unsigned char ours[32], theirs[32];

		tap_check(ktls_conn_export_keying_material(conn, "EXPERIMENTAL-adopt", "ctx", 3, ours,
							   sizeof(ours)) == 0 &&
				  gnutls_prf_rfc5705(peer, strlen("EXPERIMENTAL-adopt"),
						     "EXPERIMENTAL-adopt", 3, "ctx", sizeof(theirs),
						     (char *)theirs) == 0 &&
				  memcmp(ours, theirs, sizeof(ours)) == 0,
			  "%s: exported keying material equals the GnuTLS peer's", label);
	}

	/* Our side speaks; the plain peer reads it. */
	n = unit_send_all(conn, msg, strlen(msg), TIMEOUT_MS);
	tap_check(n == (ssize_t)strlen(msg), "%s: ktls_conn_send after adoption", label);
	memset(buf, 0, sizeof(buf));
	n = plain_recv_all(peer, buf, strlen(msg));
	tap_check(n == (ssize_t)strlen(msg) && memcmp(buf, msg, strlen(msg)) == 0,
		  "%s: the GnuTLS peer receives it intact", label);
	if (n < 0)
		tap_diag("  peer: %s", gnutls_strerror((int)n));

	/* Later records from the peer arrive after the pending ones, in order. */
	n = plain_send_all(peer, later, strlen(later));
	if (n != (ssize_t)strlen(later))
		tap_bail("%s: peer send: %s", label, gnutls_strerror((int)n));
	memset(buf, 0, sizeof(buf));
	n = unit_recv_all(conn, buf, strlen(later), TIMEOUT_MS);
	tap_check(n == (ssize_t)strlen(later) && memcmp(buf, later, strlen(later)) == 0,
		  "%s: later data from the peer follows: \"%s\"", label, buf);
	if (n < 0)
		tap_diag("  %s: %s", unit_errno_name((int)n), ktls_conn_error(conn));

	/* Several full records each way: sequence numbers carry on. */
	unit_fill(want_a, BULK, 0, 1);
	bulk = (struct bulk){ .session = peer, .send = true, .buf = want_a, .len = BULK };
	if (pthread_create(&thread, NULL, bulk_main, &bulk) != 0)
		tap_bail("pthread_create");
	n = unit_recv_all(conn, got_a, BULK, TIMEOUT_MS);
	pthread_join(thread, NULL);
	tap_check(bulk.result == BULK && n == BULK && memcmp(got_a, want_a, BULK) == 0,
		  "%s: %d KiB peer -> adopted, every byte", label, BULK / 1024);
	if (n != BULK)
		tap_diag("  recv %zd (%s): %s; peer send %zd", n, unit_errno_name((int)n),
			 ktls_conn_error(conn), bulk.result);

	bulk = (struct bulk){ .session = peer, .send = false, .buf = buf_b, .len = BULK };
	if (pthread_create(&thread, NULL, bulk_main, &bulk) != 0)
		tap_bail("pthread_create");
	unit_fill(want_a, BULK, 0, 2);
	n = unit_send_all(conn, want_a, BULK, TIMEOUT_MS);
	pthread_join(thread, NULL);
	tap_check(n == BULK && bulk.result == BULK && memcmp(buf_b, want_a, BULK) == 0,
		  "%s: %d KiB adopted -> peer, every byte", label, BULK / 1024);
	if (bulk.result != BULK)
		tap_diag("  send %zd (%s): %s; peer recv %zd (%s)", n, unit_errno_name((int)n),
			 ktls_conn_error(conn), bulk.result,
			 bulk.result < 0 ? gnutls_strerror((int)bulk.result) : "short");

	/* close_notify reaches GnuTLS as a clean end of stream. */
	ret = ktls_conn_shutdown(conn);
	tap_check(ret == 0, "%s: ktls_conn_shutdown returns 0 (%s)", label, unit_errno_name(ret));
	n = plain_recv_once(peer, buf, sizeof(buf));
	tap_check(n == 0, "%s: the GnuTLS peer's gnutls_record_recv returns 0 (close_notify)", label);
	if (n != 0)
		tap_diag("  peer recv: %zd %s", n, n < 0 ? gnutls_strerror((int)n) : "");
	n = ktls_conn_send(conn, "x", 1);
	tap_check_err("send after shutdown", n, EPIPE, ktls_conn_error(conn), "shutdown", NULL);

	/* And the peer's own close_notify ends our reading. */
	gnutls_bye(peer, GNUTLS_SHUT_WR);
	n = unit_recv_all(conn, buf, sizeof(buf), TIMEOUT_MS);
	tap_check(n == 0, "%s: the peer's close_notify: ktls_conn_recv returns 0", label);

out:
	ktls_conn_free(conn);
	tap_check(fd_is_open(my_fd), "%s: without KTLS_CONN_OWN_FD the fd stays open", label);
out_plain:
	if (mine != NULL)
		gnutls_deinit(mine);
	gnutls_deinit(peer);
	close(cfd);
	close(sfd);
	ktls_config_unref(config);
	free(want_a);
	free(got_a);
	free(buf_b);
}

static const char *or_none(const char *s)
{
	return s != NULL ? s : "(none)";
}

/* Copy exactly @len bytes from @from to @to (non-blocking sockets), waiting up to TIMEOUT_MS. */
static bool relay(int from, int to, size_t len)
{
	unsigned char buf[16384];

	while (len > 0) {
		struct pollfd pfd = { .fd = from, .events = POLLIN };
		ssize_t n;

		if (poll(&pfd, 1, TIMEOUT_MS) <= 0)
			return false;
		n = recv(from, buf, len < sizeof(buf) ? len : sizeof(buf), 0);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n <= 0)
			return false;
		if (send(to, buf, (size_t)n, MSG_NOSIGNAL) != n)
			return false;
		len -= (size_t)n;
	}
	return true;
}

/* Copy whatever is queued on @from to @to. */
static bool relay_available(int from, int to)
{
	unsigned char buf[16384];
	ssize_t n;

	while ((n = recv(from, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
		if (send(to, buf, (size_t)n, MSG_NOSIGNAL) != n)
			return false;
	return n < 0 && errno == EAGAIN;
}

/*
 * A client whose handshake is half done: it has the server's first record
 * (ServerHello) and waits for the rest.  In TLS 1.3 it has handshake keys
 * and a version then, but no application keys.  Adopting it must fail and
 * leave the session usable: the handshake is then finished and adopted.
 */
static void test_adopt_mid_handshake(int version)
{
	bool tls13 = version == KTLS_VERSION_TLS13;
	const char *prio = tls13 ? prio_tls13 : prio_tls12;
	struct ktls_config *config = adopt_config(KTLS_ROLE_CLIENT);
	struct ktls_conn *conn = (struct ktls_conn *)0x1;
	gnutls_session_t client, server;
	int cp[2], sp[2], ret, rc, rs;
	unsigned char hdr[5];
	char label[64];

	snprintf(label, sizeof(label), "adopt mid-handshake TLS1.%d", tls13 ? 3 : 2);
	/* client cp[0] <-> cp[1] relay; server sp[0] <-> sp[1] relay */
	if (unit_tcp_pair(&cp[0], &cp[1], true) < 0 ||
	    unit_tcp_pair(&sp[0], &sp[1], true) < 0)
		tap_bail("loopback TCP pair");
	client = plain_session(false, prio, cp[0]);
	server = plain_session(true, prio, sp[0]);

	rc = gnutls_handshake(client);
	if (rc != GNUTLS_E_AGAIN || !relay_available(cp[1], sp[1]))
		tap_bail("%s: ClientHello: %s", label, gnutls_strerror(rc));
	rs = gnutls_handshake(server);
	if (rs != GNUTLS_E_AGAIN)
		tap_bail("%s: server's first flight: %s", label, gnutls_strerror(rs));
	/* Only the first record (ServerHello) reaches the client. */
	if (recv(sp[1], hdr, sizeof(hdr), 0) != (ssize_t)sizeof(hdr) || hdr[0] != 22 ||
	    send(cp[1], hdr, sizeof(hdr), 0) != (ssize_t)sizeof(hdr) ||
	    !relay(sp[1], cp[1], (size_t)hdr[3] << 8 | hdr[4]))
		tap_bail("%s: relaying the ServerHello", label);
	rc = gnutls_handshake(client);
	tap_check(rc == GNUTLS_E_AGAIN, "%s: the client has the ServerHello and waits (%s)", label,
		  gnutls_strerror(rc));
	tap_diag("  the half-done session reports %s %s",
		 or_none(gnutls_protocol_get_name(gnutls_protocol_get_version(client))),
		 or_none(gnutls_cipher_get_name(gnutls_cipher_get(client))));

	ret = ktls_conn_adopt(config, client, cp[0], 0, &conn);
	if (tls13)
	tap_check_err(label, ret, EINVAL, ktls_config_error(config), "handshake", NULL);
	if (ret == 0) {
		/* The bug: the connection took the session, so it frees it. */
		ktls_conn_free(conn);
		client = NULL;
	} else {
		tap_check(conn == (struct ktls_conn *)0x1, "%s: *ret_conn untouched", label);
	}

	if (client != NULL) {
		/* Still the caller's, and still working: finish it and adopt it. */
		bool done = relay_available(sp[1], cp[1]);

		for (int i = 0; done && i < 100 && (rc != 0 || rs != 0); i++) {
			struct pollfd pfd[2] = { { .fd = cp[1], .events = POLLIN },
						 { .fd = sp[1], .events = POLLIN } };

			if (rc == GNUTLS_E_AGAIN)
				rc = gnutls_handshake(client);
			done = relay_available(cp[1], sp[1]);
			if (rs == GNUTLS_E_AGAIN)
				rs = gnutls_handshake(server);
			done = done && relay_available(sp[1], cp[1]);
			if (rc == GNUTLS_E_AGAIN || rs == GNUTLS_E_AGAIN)
				poll(pfd, 2, 100);
			if (rc != GNUTLS_E_AGAIN && rs != GNUTLS_E_AGAIN)
				break;
		}
		if (tap_check(rc == 0 && rs == 0,
			      "%s: after the failed adoption the caller finishes the handshake",
			      label)) {
			conn = NULL;
			ret = ktls_conn_adopt(config, client, cp[0], 0, &conn);
			tap_check(ret == 0, "%s: and then adopts it (%s)", label,
				  unit_errno_name(ret));
			if (ret == 0) {
				ktls_conn_free(conn);
				client = NULL;
			}
		} else {
			tap_diag("  client %s, server %s", gnutls_strerror(rc), gnutls_strerror(rs));
		}
	}
	if (client != NULL)
		gnutls_deinit(client);
	gnutls_deinit(server);
	close(cp[0]);
	close(cp[1]);
	close(sp[0]);
	close(sp[1]);
	ktls_config_unref(config);
}

static void test_adopt_errors(void)
{
	struct ktls_config *config = adopt_config(KTLS_ROLE_CLIENT);
	struct ktls_conn *conn = (struct ktls_conn *)0x1;
	gnutls_session_t session;
	int cfd, sfd, ret;

	ret = unit_tcp_pair(&cfd, &sfd, true);
	if (ret < 0)
		tap_bail("loopback TCP: %s", strerror(-ret));

	tap_check_err("adopt(NULL session)", ktls_conn_adopt(config, NULL, cfd, 0, &conn), EINVAL,
		      ktls_config_error(config), "session", NULL);
	tap_check(conn == (struct ktls_conn *)0x1 && fd_is_open(cfd),
		  "adopt(NULL session): *ret_conn untouched, fd open");
	ktls_config_unref(config);

	/* A config of the other role: refused, both sessions still the caller's and usable. */
	{
		gnutls_session_t client = plain_session(false, prio_tls13, cfd);
		gnutls_session_t server = plain_session(true, prio_tls13, sfd);
		struct ktls_config *client_config = adopt_config(KTLS_ROLE_CLIENT);
		struct ktls_config *server_config = adopt_config(KTLS_ROLE_SERVER);
		char buf[8] = "";
		ssize_t n;

		if (!plain_handshake_pair(client, cfd, server, sfd))
			tap_bail("plain handshake");
		tap_check_err("a client config adopting a server session",
			      ktls_conn_adopt(client_config, server, sfd, KTLS_CONN_OWN_FD, &conn),
			      EINVAL, ktls_config_error(client_config),
			      "client config cannot adopt a server's session", NULL);
		tap_check_err("a server config adopting a client session",
			      ktls_conn_adopt(server_config, client, cfd, KTLS_CONN_OWN_FD, &conn),
			      EINVAL, ktls_config_error(server_config),
			      "server config cannot adopt a client's session", NULL);
		tap_check(conn == (struct ktls_conn *)0x1 && fd_is_open(cfd) && fd_is_open(sfd),
			  "role mismatch: *ret_conn untouched, fds open");
		set_blocking(cfd);
		set_blocking(sfd);
		n = plain_send_all(client, "ping", 4);
		if (n == 4)
			n = plain_recv_all(server, buf, 4);
		tap_check(n == 4 && memcmp(buf, "ping", 4) == 0,
			  "role mismatch: the sessions still carry data (%zd)", n);
		gnutls_deinit(client);
		gnutls_deinit(server);
		ktls_config_unref(client_config);
		ktls_config_unref(server_config);
		close(cfd);
		close(sfd);
		ret = unit_tcp_pair(&cfd, &sfd, true);
		if (ret < 0)
			tap_bail("loopback TCP: %s", strerror(-ret));
	}

	/* A session that never started: refused, still the caller's. */
	config = adopt_config(KTLS_ROLE_CLIENT);
	session = plain_session(false, prio_tls13, cfd);
	tap_check_err("adopt(session before its handshake)",
		      ktls_conn_adopt(config, session, cfd, KTLS_CONN_OWN_FD, &conn), EINVAL,
		      ktls_config_error(config), "not completed its handshake", NULL);
	tap_check(conn == (struct ktls_conn *)0x1 && fd_is_open(cfd),
		  "adopt(session before its handshake): *ret_conn untouched, fd still open");

	/* ... and usable: handshake it now and adopt it. */
	{
		gnutls_session_t server = plain_session(true, prio_tls13, sfd);

		if (tap_check(plain_handshake_pair(session, cfd, server, sfd),
			      "the refused session still handshakes")) {
			ret = ktls_conn_adopt(config, session, cfd, 0, &conn);
			tap_check(ret == 0, "and is then adopted (%s: %s)", unit_errno_name(ret),
				  ret < 0 ? ktls_config_error(config) : "");
			if (ret == 0) {
				ktls_conn_free(conn);
				session = NULL;
			}
		}
		if (session != NULL)
			gnutls_deinit(session);
		gnutls_deinit(server);
	}
	ktls_config_unref(config);
	close(cfd);
	close(sfd);

	/*
	 * Policy REQUIRE where the kernel cannot take keys: adoption fails
	 * after the connection was built, so the session must come back intact.
	 */
	if (caps.ulp_available) {
		tap_skip("adopt with REQUIRE and no kTLS: this kernel has kTLS");
		return;
	}
	ret = unit_tcp_pair(&cfd, &sfd, true);
	if (ret < 0)
		tap_bail("loopback TCP: %s", strerror(-ret));
	config = adopt_config(KTLS_ROLE_CLIENT);
	if (ktls_config_set_offload(config, KTLS_DIR_BOTH, KTLS_OFFLOAD_REQUIRE) != 0)
		tap_bail("set_offload: %s", ktls_config_error(config));
	{
		gnutls_session_t client = plain_session(false, prio_tls13, cfd);
		gnutls_session_t server = plain_session(true, prio_tls13, sfd);
		char buf[16] = "";
		ssize_t n;

		if (!plain_handshake_pair(client, cfd, server, sfd))
			tap_bail("plain handshake");
		set_blocking(cfd);
		set_blocking(sfd);
		conn = (struct ktls_conn *)0x1;
		tap_check_err("adopt with REQUIRE on a kernel without kTLS",
			      ktls_conn_adopt(config, client, cfd, KTLS_CONN_OWN_FD, &conn),
			      EOPNOTSUPP, ktls_config_error(config), "offload required", NULL);
		tap_check(conn == (struct ktls_conn *)0x1 && fd_is_open(cfd),
			  "REQUIRE refused: *ret_conn untouched, fd still open");
		/* The application carries on with its session as before. */
		n = plain_send_all(client, "ping", 4);
		if (n == 4)
			n = plain_recv_all(server, buf, 4);
		tap_check(n == 4 && memcmp(buf, "ping", 4) == 0,
			  "the refused session still carries data (%zd)", n);
		gnutls_deinit(client);
		gnutls_deinit(server);
	}
	ktls_config_unref(config);
	close(cfd);
	close(sfd);
}

/* ---- libktls pairs over loopback TCP --------------------------------------------- */

struct pair {
	struct ktls_conn *c, *s;
	int rc, rs;
};

/* Takes the configs' references. */
static bool pair_run(struct pair *p, struct ktls_config *cc, struct ktls_config *sc,
		     const char *server_name)
{
	int cfd, sfd, ret;

	memset(p, 0, sizeof(*p));
	ret = unit_tcp_pair(&cfd, &sfd, true);
	if (ret < 0)
		tap_bail("loopback TCP: %s", strerror(-ret));
	if (ktls_conn_new(cc, cfd, KTLS_CONN_OWN_FD, &p->c) != 0)
		tap_bail("ktls_conn_new(client): %s", ktls_config_error(cc));
	if (ktls_conn_new(sc, sfd, KTLS_CONN_OWN_FD, &p->s) != 0)
		tap_bail("ktls_conn_new(server): %s", ktls_config_error(sc));
	ktls_config_unref(cc);
	ktls_config_unref(sc);
	if (server_name != NULL && ktls_conn_set_server_name(p->c, server_name) != 0)
		tap_bail("set_server_name: %s", ktls_conn_error(p->c));
	if (unit_handshake_pair(p->c, p->s, &p->rc, &p->rs, TIMEOUT_MS) != 0)
		tap_diag("handshake stuck");
	if (p->rc != 0 || p->rs != 0) {
		tap_diag("  client %s: %s", unit_errno_name(p->rc), ktls_conn_error(p->c));
		tap_diag("  server %s: %s", unit_errno_name(p->rs), ktls_conn_error(p->s));
	}
	return p->rc == 0 && p->rs == 0;
}

static void pair_free(struct pair *p)
{
	ktls_conn_free(p->c);
	ktls_conn_free(p->s);
	memset(p, 0, sizeof(*p));
}

/* A message each way. */
static void pair_exchange(const char *label, struct pair *p)
{
	static const char ask[] = "request from the client", answer[] = "server's reply";
	char buf[64] = "";
	ssize_t n;

	n = unit_send_all(p->c, ask, sizeof(ask), TIMEOUT_MS);
	if (n == (ssize_t)sizeof(ask))
		n = unit_recv_all(p->s, buf, sizeof(ask), TIMEOUT_MS);
	tap_check(n == (ssize_t)sizeof(ask) && memcmp(buf, ask, sizeof(ask)) == 0,
		  "%s: client -> server", label);
	if (n < 0)
		tap_diag("  %s: %s / %s", unit_errno_name((int)n), ktls_conn_error(p->c),
			 ktls_conn_error(p->s));
	memset(buf, 0, sizeof(buf));
	n = unit_send_all(p->s, answer, sizeof(answer), TIMEOUT_MS);
	if (n == (ssize_t)sizeof(answer))
		n = unit_recv_all(p->c, buf, sizeof(answer), TIMEOUT_MS);
	tap_check(n == (ssize_t)sizeof(answer) && memcmp(buf, answer, sizeof(answer)) == 0,
		  "%s: server -> client", label);
	if (n < 0)
		tap_diag("  %s: %s / %s", unit_errno_name((int)n), ktls_conn_error(p->s),
			 ktls_conn_error(p->c));
}

static void check_offload_info(const char *label, const struct ktls_info *ci,
			       const struct ktls_info *si)
{
	/* On a kTLS kernel every cipher this test negotiates can be offloaded. */
	if (caps.ulp_available)
		tap_check(ci->tx.kernel && ci->rx.kernel && si->tx.kernel && si->rx.kernel,
			  "%s: the kernel holds all four keys (client tx \"%s\", server tx \"%s\")",
			  label, ci->tx.reason, si->tx.reason);
	else
		tap_check(!ci->tx.kernel && !ci->rx.kernel && !si->tx.kernel && !si->rx.kernel &&
				  ci->tx.reason[0] != '\0' && si->rx.reason[0] != '\0',
			  "%s: no kTLS here, and info says why", label);
}

/* ---- 2. SNI ------------------------------------------------------------------------ */

static struct ktls_config *sni_server_config(void)
{
	struct ktls_config *c = NULL;

	if (ktls_config_new(KTLS_ROLE_SERVER, &c) != 0 ||
	    ktls_config_add_cert_file(c, alpha.cert_path, alpha.key_path) != 0 ||
	    ktls_config_add_cert_file(c, beta.cert_path, beta.key_path) != 0)
		tap_bail("SNI server config: %s", c ? ktls_config_error(c) : "");
	return c;
}

static struct ktls_config *sni_client_config(void)
{
	struct ktls_config *c = NULL;

	if (ktls_config_new(KTLS_ROLE_CLIENT, &c) != 0 ||
	    ktls_config_set_ca_file(c, ca.cert_path) != 0)
		tap_bail("SNI client config: %s", c ? ktls_config_error(c) : "");
	return c;
}

static void test_sni(const char *name, const struct unit_cert *want)
{
	struct pair p;
	struct ktls_info ci, si;
	char label[64];

	snprintf(label, sizeof(label), "SNI %s", name);
	if (!tap_check(pair_run(&p, sni_client_config(), sni_server_config(), name),
		       "%s: handshake with hostname verification", label))
		goto out;
	if (ktls_conn_get_info(p.c, &ci) != 0 || ktls_conn_get_info(p.s, &si) != 0)
		tap_bail("%s: get_info", label);
	tap_check(ci.peer_auth == KTLS_PEER_CERTIFICATE && strstr(ci.peer_identity, name) != NULL &&
			  strcmp(ci.peer_identity, want->dn) == 0,
		  "%s: the client saw the %s certificate (\"%s\")", label, name, ci.peer_identity);
	tap_check(strcmp(si.server_name, name) == 0 && strcmp(ci.server_name, name) == 0,
		  "%s: server_name on both sides (\"%s\", \"%s\")", label, ci.server_name,
		  si.server_name);
	check_offload_info(label, &ci, &si);
	pair_exchange(label, &p);
out:
	pair_free(&p);
}

static void test_sni_unknown(void)
{
	struct pair p;

	/* GnuTLS then serves its first certificate, which is not for this name. */
	pair_run(&p, sni_client_config(), sni_server_config(), "gamma.test");
	tap_check_err("SNI gamma.test (no such certificate): client", p.rc, EACCES,
		      ktls_conn_error(p.c), "gamma.test", NULL);
	pair_free(&p);
}

/* ---- 3. TLS 1.3 external PSK ------------------------------------------------------- */

static const unsigned char psk1[32] = { 0x6e, 0x76, 0x6d, 0x65, 0x01, 0x02, 0x03, 0x04,
					0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c,
					0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13, 0x14,
					0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c };
static const unsigned char psk2[32] = { 0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7,
					0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf,
					0xb0, 0xb1, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7,
					0xb8, 0xb9, 0xba, 0xbb, 0xbc, 0xbd, 0xbe, 0xbf };

static struct ktls_config *psk_config(enum ktls_role role, const char *id1,
				      const unsigned char *key1, const char *id2,
				      const unsigned char *key2)
{
	struct ktls_config *c = NULL;

	if (ktls_config_new(role, &c) != 0 || ktls_config_add_psk(c, id1, key1, 32) != 0 ||
	    (id2 != NULL && ktls_config_add_psk(c, id2, key2, 32) != 0))
		tap_bail("PSK config: %s", c ? ktls_config_error(c) : "");
	return c;
}

static void check_psk_pair(const char *label, struct pair *p, const char *identity)
{
	struct ktls_info ci, si;

	if (ktls_conn_get_info(p->c, &ci) != 0 || ktls_conn_get_info(p->s, &si) != 0)
		tap_bail("%s: get_info", label);
	tap_check(ci.version == KTLS_VERSION_TLS13 && si.version == KTLS_VERSION_TLS13,
		  "%s: TLS 1.3 (%s)", label, ci.version_name);
	tap_check(ci.peer_auth == KTLS_PEER_PSK && si.peer_auth == KTLS_PEER_PSK,
		  "%s: peer_auth is PSK on both sides (%d, %d)", label, (int)ci.peer_auth,
		  (int)si.peer_auth);
	tap_check(strcmp(ci.peer_identity, identity) == 0 &&
			  strcmp(si.peer_identity, identity) == 0,
		  "%s: peer_identity \"%s\" / \"%s\"", label, ci.peer_identity, si.peer_identity);
	tap_check(ci.group_name[0] != '\0' && strcmp(ci.group_name, si.group_name) == 0,
		  "%s: (EC)DHE-PSK: group \"%s\"", label, ci.group_name);
	check_offload_info(label, &ci, &si);
	pair_exchange(label, p);
}

static void test_psk(void)
{
	struct pair p;

	if (tap_check(pair_run(&p,
			       psk_config(KTLS_ROLE_CLIENT, "nvme-host-1", psk1, NULL, NULL),
			       psk_config(KTLS_ROLE_SERVER, "nvme-host-1", psk1, NULL, NULL),
			       NULL),
		      "PSK nvme-host-1, no certificates: handshake"))
		check_psk_pair("PSK nvme-host-1", &p, "nvme-host-1");
	pair_free(&p);

	if (tap_check(pair_run(&p,
			       psk_config(KTLS_ROLE_CLIENT, "nvme-host-2", psk2, NULL, NULL),
			       psk_config(KTLS_ROLE_SERVER, "nvme-host-1", psk1, "nvme-host-2",
					  psk2),
			       NULL),
		      "PSK: a server with two keys accepts the second"))
		check_psk_pair("PSK nvme-host-2 of two", &p, "nvme-host-2");
	pair_free(&p);
}

/* ---- main ---------------------------------------------------------------------------- */

int main(void)
{
	const char *dir = unit_tmpdir();
	int ret;

	ret = ktls_probe(&caps);
	if (ret != 0)
		tap_bail("ktls_probe: %s", unit_errno_name(ret));
	tap_diag("kernel: %s", caps.summary);

	if (unit_cert_make(&ca, dir, "ca", UNIT_CERT_CA, "Test CA", NULL, NULL, false) < 0 ||
	    unit_cert_make(&leaf, dir, "server", UNIT_CERT_SERVER, "localhost", "localhost", &ca,
			   false) < 0 ||
	    unit_cert_make(&alpha, dir, "alpha", UNIT_CERT_SERVER, "alpha.test", "alpha.test", &ca,
			   false) < 0 ||
	    unit_cert_make(&beta, dir, "beta", UNIT_CERT_SERVER, "beta.test", "beta.test", &ca,
			   false) < 0)
		tap_bail("cannot make certificates");

	if (gnutls_certificate_allocate_credentials(&plain_client_cred) < 0 ||
	    gnutls_certificate_allocate_credentials(&plain_server_cred) < 0 ||
	    gnutls_certificate_set_x509_trust_file(plain_client_cred, ca.cert_path,
						   GNUTLS_X509_FMT_PEM) <= 0 ||
	    gnutls_certificate_set_x509_key_file(plain_server_cred, leaf.cert_path, leaf.key_path,
						 GNUTLS_X509_FMT_PEM) < 0)
		tap_bail("plain GnuTLS credentials");

	test_adopt(KTLS_VERSION_TLS13, KTLS_ROLE_CLIENT);
	test_adopt(KTLS_VERSION_TLS12, KTLS_ROLE_CLIENT);
	test_adopt(KTLS_VERSION_TLS13, KTLS_ROLE_SERVER);
	test_adopt(KTLS_VERSION_TLS12, KTLS_ROLE_SERVER);
	test_adopt_errors();
	test_adopt_mid_handshake(KTLS_VERSION_TLS13);
	test_adopt_mid_handshake(KTLS_VERSION_TLS12);

	test_sni("alpha.test", &alpha);
	test_sni("beta.test", &beta);
	test_sni_unknown();

	test_psk();

	gnutls_certificate_free_credentials(plain_client_cred);
	gnutls_certificate_free_credentials(plain_server_cred);
	unit_cert_free(&ca);
	unit_cert_free(&leaf);
	unit_cert_free(&alpha);
	unit_cert_free(&beta);
	return tap_done();
}
