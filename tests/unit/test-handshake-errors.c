/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Black-box: handshakes that must fail, and how.  Each side's result must be
 * the errno ktls.h documents for the cause, and ktls_conn_error() must say
 * what happened in words a person can act on (GnuTLS's reason, the alert's
 * name, the name or identity involved).  None of this needs kernel TLS.
 *
 * Certificates (ECDSA P-256) are made at run time: a CA, a server leaf it
 * signed for "localhost", an expired leaf, a client leaf, and a second CA
 * that nobody trusts with its own server and client leaves.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "unit.h"

#define TIMEOUT_MS 10000

static const unsigned char key_a[32] = "0123456789abcdef0123456789abcdef";
static const unsigned char key_b[32] = "fedcba9876543210fedcba9876543210";

static struct unit_cert ca, server, expired, client, other_ca, other_server, other_client;

static struct ktls_config *client_config(const char *ca_path)
{
	struct ktls_config *c = NULL;

	if (ktls_config_new(KTLS_ROLE_CLIENT, &c) != 0 ||
	    (ca_path != NULL && ktls_config_set_ca_file(c, ca_path) != 0))
		tap_bail("client config: %s", c != NULL ? ktls_config_error(c) : "");
	return c;
}

static struct ktls_config *server_config(const struct unit_cert *cert)
{
	struct ktls_config *c = NULL;

	if (ktls_config_new(KTLS_ROLE_SERVER, &c) != 0 ||
	    (cert != NULL && ktls_config_add_cert_file(c, cert->cert_path, cert->key_path) != 0))
		tap_bail("server config: %s", c != NULL ? ktls_config_error(c) : "");
	return c;
}

static void must(int ret, struct ktls_config *c, const char *what)
{
	if (ret != 0)
		tap_bail("%s: %s: %s", what, unit_errno_name(ret), ktls_config_error(c));
}

struct pair {
	struct ktls_conn *c, *s;
	int rc, rs;
	bool stuck;
};

/* Handshake a client and a server made from these configs (their references are dropped). */
static void run_pair(struct pair *p, struct ktls_config *cc, struct ktls_config *sc,
		     const char *server_name)
{
	int cfd, sfd, ret;

	memset(p, 0, sizeof(*p));
	ret = unit_tcp_pair(&cfd, &sfd, true);
	if (ret < 0)
		tap_bail("loopback TCP: %s", strerror(-ret));
	must(ktls_conn_new(cc, cfd, KTLS_CONN_OWN_FD, &p->c), cc, "ktls_conn_new(client)");
	must(ktls_conn_new(sc, sfd, KTLS_CONN_OWN_FD, &p->s), sc, "ktls_conn_new(server)");
	ktls_config_unref(cc);
	ktls_config_unref(sc);
	if (server_name != NULL && ktls_conn_set_server_name(p->c, server_name) != 0)
		tap_bail("set_server_name: %s", ktls_conn_error(p->c));
	p->stuck = unit_handshake_pair(p->c, p->s, &p->rc, &p->rs, TIMEOUT_MS) != 0;
	if (p->stuck)
		tap_diag("handshake stuck: client %s \"%s\", server %s \"%s\"",
			 unit_errno_name(p->rc), ktls_conn_error(p->c), unit_errno_name(p->rs),
			 ktls_conn_error(p->s));
}

static void free_pair(struct pair *p)
{
	ktls_conn_free(p->c);
	ktls_conn_free(p->s);
}

/* After a failed handshake: the same failure again, no info, no data. */
static void check_stays_failed(const char *label, struct ktls_conn *conn, int err)
{
	struct ktls_info info;

	tap_check(ktls_conn_handshake(conn) == err && ktls_conn_get_info(conn, &info) == -EINVAL &&
			  ktls_conn_send(conn, "x", 1) == err,
		  "%s: the failure sticks (handshake again, get_info, send)", label);
}

/* A server conn whose peer is a raw socket the test writes to. */
static struct ktls_conn *raw_server(struct ktls_config *sc, int *ret_raw)
{
	struct ktls_conn *conn;
	int cfd, sfd, ret;

	ret = unit_tcp_pair(&cfd, &sfd, true);
	if (ret < 0)
		tap_bail("loopback TCP: %s", strerror(-ret));
	must(ktls_conn_new(sc, sfd, KTLS_CONN_OWN_FD, &conn), sc, "ktls_conn_new(server)");
	ktls_config_unref(sc);
	unit_set_nonblock(cfd, false);
	*ret_raw = cfd;
	return conn;
}

static int server_alone(struct ktls_conn *conn)
{
	int ret = 0;

	if (unit_handshake_one(conn, &ret, TIMEOUT_MS) != 0) {
		tap_diag("server handshake stuck");
		return -ETIMEDOUT;
	}
	return ret;
}

/* What a real client sends first: its ClientHello, taken from a loopback TCP pair. */
static size_t client_hello(unsigned char *buf, size_t size)
{
	struct ktls_config *c = client_config(ca.cert_path);
	struct ktls_conn *conn;
	int sv[2];
	ssize_t n;

	if (unit_tcp_pair(&sv[0], &sv[1], true) < 0)
		tap_bail("loopback TCP pair");
	must(ktls_conn_new(c, sv[0], KTLS_CONN_OWN_FD, &conn), c, "ktls_conn_new");
	ktls_conn_set_server_name(conn, "localhost");
	if (ktls_conn_handshake(conn) != -EAGAIN)
		tap_bail("client handshake did not wait for the server");
	n = read(sv[1], buf, size);
	if (n < 100 || buf[0] != 22)
		tap_bail("no ClientHello (%zd bytes)", n);
	ktls_conn_free(conn);
	ktls_config_unref(c);
	close(sv[1]);
	return (size_t)n;
}

static void test_not_tls(void)
{
	static const char http[] = "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";
	struct ktls_conn *conn;
	int raw, ret;

	conn = raw_server(server_config(&server), &raw);
	if (write(raw, http, sizeof(http) - 1) != (ssize_t)sizeof(http) - 1)
		tap_bail("write");
	ret = server_alone(conn);
	tap_check_err("server fed an HTTP request instead of a ClientHello", ret, EPROTO,
		      ktls_conn_error(conn), "TLS handshake failed: ", NULL);
	check_stays_failed("not TLS", conn, ret);
	ktls_conn_free(conn);
	close(raw);

	/* 512 bytes of 0xff: not a record type at all */
	conn = raw_server(server_config(&server), &raw);
	{
		unsigned char junk[512];

		memset(junk, 0xff, sizeof(junk));
		if (write(raw, junk, sizeof(junk)) != (ssize_t)sizeof(junk))
			tap_bail("write");
	}
	ret = server_alone(conn);
	tap_check_err("server fed 0xff bytes", ret, EPROTO, ktls_conn_error(conn),
		      "TLS handshake failed: ", NULL);
	ktls_conn_free(conn);
	close(raw);
}

static void test_peer_closes(void)
{
	unsigned char hello[2048];
	size_t len = client_hello(hello, sizeof(hello));
	struct ktls_conn *conn;
	int raw, ret;

	/* Half a ClientHello, then the peer is gone. */
	conn = raw_server(server_config(&server), &raw);
	if (write(raw, hello, len / 2) != (ssize_t)(len / 2))
		tap_bail("write");
	close(raw);
	ret = server_alone(conn);
	tap_check_err("peer sends half a ClientHello and closes", ret, ECONNRESET,
		      ktls_conn_error(conn), "peer closed the connection during the handshake",
		      NULL);
	ktls_conn_free(conn);

	/* Nothing at all, then the peer is gone. */
	conn = raw_server(server_config(&server), &raw);
	close(raw);
	ret = server_alone(conn);
	tap_check_err("peer connects and closes without a byte", ret, ECONNRESET,
		      ktls_conn_error(conn), "peer closed the connection during the handshake",
		      NULL);
	ktls_conn_free(conn);

	/* A whole ClientHello, then the peer is gone before the server's reply is read. */
	conn = raw_server(server_config(&server), &raw);
	if (write(raw, hello, len) != (ssize_t)len)
		tap_bail("write");
	shutdown(raw, SHUT_WR);
	ret = server_alone(conn);
	tap_check_err("peer sends a ClientHello and stops (FIN)", ret, ECONNRESET,
		      ktls_conn_error(conn), "peer closed the connection during the handshake",
		      NULL);
	ktls_conn_free(conn);
	close(raw);

	/*
	 * The ring: a whole ClientHello, then a reset.  The server's flight
	 * fails to go (its send and the wait for the answer go to the kernel
	 * together, ring_submit_send_recv), and says so; the ring goes on.
	 */
	{
		struct unit_ring_result hs = { 0 };
		struct linger reset = { .l_onoff = 1, .l_linger = 0 };
		struct ktls_ring *ring;
		const char *err;

		if (ktls_ring_new(NULL, 0, &ring) != 0) {
			tap_skip("no io_uring here: the ring's handshake with a peer that resets");
		} else {
			conn = raw_server(server_config(&server), &raw);
			if (write(raw, hello, len) != (ssize_t)len ||
			    setsockopt(raw, SOL_SOCKET, SO_LINGER, &reset, sizeof(reset)) != 0)
				tap_bail("write, SO_LINGER");
			close(raw);
			usleep(50000);
			ret = ktls_conn_ring_attach(conn, ring);
			if (ret == 0)
				ret = ktls_conn_ring_handshake(conn, TIMEOUT_MS, unit_ring_done, &hs);
			if (ret == 0)
				unit_ring_wait(ring, &hs, NULL, TIMEOUT_MS);
			err = ktls_conn_error(conn);
			tap_check(ret == 0 && hs.done &&
					  (hs.value == -ECONNRESET || hs.value == -EPIPE) &&
					  strstr(err, "handshake") != NULL,
				  "ring: peer sends a ClientHello and resets: %s (%s)",
				  unit_errno_name((int)-hs.value), err);
			ktls_conn_free(conn);
			ktls_ring_free(ring);
		}
	}

	/* The server side goes away: the client learns it from its handshake. */
	{
		struct ktls_config *c = client_config(ca.cert_path);
		struct ktls_conn *cl;
		int cfd, sfd;

		if (unit_tcp_pair(&cfd, &sfd, true) < 0)
			tap_bail("loopback TCP");
		must(ktls_conn_new(c, cfd, KTLS_CONN_OWN_FD, &cl), c, "ktls_conn_new");
		ktls_config_unref(c);
		ktls_conn_set_server_name(cl, "localhost");
		ret = ktls_conn_handshake(cl);
		close(sfd);
		if (ret == -EAGAIN)
			unit_handshake_one(cl, &ret, TIMEOUT_MS);
		tap_check_err("client whose server closes during the handshake", ret, ECONNRESET,
			      ktls_conn_error(cl),
			      "peer closed the connection during the handshake", NULL);
		ktls_conn_free(cl);
	}
}

static void test_timeout(void)
{
	struct ktls_config *sc = server_config(&server);
	struct ktls_conn *conn;
	int raw, ret;

	struct timeval guard = { .tv_sec = 3 };
	struct timespec t0, t1;
	long ms;

	ktls_config_set_handshake_timeout(sc, 200);
	conn = raw_server(sc, &raw);
	/* The timeout bounds blocking handshakes only. */
	unit_set_nonblock(ktls_conn_fd(conn), false);
	/* So that a timeout that does not fire fails the test instead of hanging it. */
	setsockopt(ktls_conn_fd(conn), SOL_SOCKET, SO_RCVTIMEO, &guard, sizeof(guard));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ret = ktls_conn_handshake(conn);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	tap_diag("blocking handshake returned %s after %ld ms", unit_errno_name(ret), ms);
	tap_check_err("blocking server handshake, silent peer, 200 ms timeout", ret, ETIMEDOUT,
		      ktls_conn_error(conn), "timed out", "200 ms", NULL);
	ktls_conn_free(conn);
	close(raw);
}

static void test_certificates(void)
{
	struct ktls_config *cc;
	struct pair p;

	/* Right CA, wrong name. */
	run_pair(&p, client_config(ca.cert_path), server_config(&server), "wrong.example");
	tap_check_err("client: certificate for localhost, asked for wrong.example", p.rc, EACCES,
		      ktls_conn_error(p.c), "peer certificate rejected", NULL);
	tap_check(strstr(ktls_conn_error(p.c), "wrong.example") != NULL,
		  "client: the text names wrong.example");
	tap_check_err("server: the client rejected its certificate", p.rs, ECONNABORTED,
		      ktls_conn_error(p.s), "peer sent fatal alert", NULL);
	check_stays_failed("wrong name", p.c, p.rc);
	free_pair(&p);

	/* Signed by a CA the client does not trust. */
	run_pair(&p, client_config(ca.cert_path), server_config(&other_server), "localhost");
	tap_check_err("client: server certificate from an untrusted CA", p.rc, EACCES,
		      ktls_conn_error(p.c), "peer certificate rejected", "issuer", NULL);
	tap_check_err("server: the client rejected its certificate", p.rs, ECONNABORTED,
		      ktls_conn_error(p.s), "peer sent fatal alert", NULL);
	free_pair(&p);

	/* Expired. */
	run_pair(&p, client_config(ca.cert_path), server_config(&expired), "localhost");
	tap_check_err("client: expired server certificate", p.rc, EACCES, ktls_conn_error(p.c),
		      "peer certificate rejected", "expired", NULL);
	free_pair(&p);

	/* Verification off (tests only): the same expired certificate is accepted. */
	cc = client_config(NULL);
	ktls_config_set_verify(cc, false, false);
	run_pair(&p, cc, server_config(&expired), "localhost");
	tap_check(p.rc == 0 && p.rs == 0, "verification off accepts the expired certificate");
	free_pair(&p);
}

static void test_negotiation(void)
{
	struct ktls_config *cc, *sc;
	struct pair p;
	char alert[64];

	/* No cipher in common. */
	cc = client_config(ca.cert_path);
	sc = server_config(&server);
	must(ktls_config_set_priority(cc, "NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+AES-128-CCM"),
	     cc, "priority");
	must(ktls_config_set_priority(sc, "NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+AES-256-GCM"),
	     sc, "priority");
	run_pair(&p, cc, sc, "localhost");
	tap_check_err("server: no cipher in common", p.rs, EPROTONOSUPPORT, ktls_conn_error(p.s),
		      "TLS handshake failed: ", NULL);
	/* RFC 8446 names the alert; the number is the one on the wire. */
	snprintf(alert, sizeof(alert), "handshake_failure (%d)", GNUTLS_A_HANDSHAKE_FAILURE);
	tap_check_err("client: no cipher in common", p.rc, ECONNABORTED, ktls_conn_error(p.c),
		      "peer sent fatal alert", alert, NULL);
	check_stays_failed("no common cipher", p.s, p.rs);
	free_pair(&p);

	/* No version in common. */
	cc = client_config(ca.cert_path);
	sc = server_config(&server);
	must(ktls_config_set_versions(cc, KTLS_VERSION_TLS13, KTLS_VERSION_TLS13), cc, "versions");
	must(ktls_config_set_versions(sc, KTLS_VERSION_TLS12, KTLS_VERSION_TLS12), sc, "versions");
	run_pair(&p, cc, sc, "localhost");
	tap_check_err("server: TLS 1.2 only, client TLS 1.3 only", p.rs, EPROTONOSUPPORT,
		      ktls_conn_error(p.s), "TLS handshake failed: ", NULL);
	/*
	 * A TLS 1.2 server ignores supported_versions, negotiates 1.2 from
	 * legacy_version and finds none of the client's (TLS 1.3) suites: so the
	 * alert is handshake_failure, not protocol_version.
	 */
	tap_check_err("client: TLS 1.3 only, server TLS 1.2 only", p.rc, ECONNABORTED,
		      ktls_conn_error(p.c), "peer sent fatal alert", NULL);
	free_pair(&p);
}

static void test_psk(void)
{
	struct ktls_config *cc, *sc;
	struct ktls_info ci, si;
	struct pair p;
	char alert[64];

	cc = client_config(NULL);
	sc = server_config(NULL);
	must(ktls_config_add_psk(cc, "alice", key_a, sizeof(key_a)), cc, "add_psk");
	must(ktls_config_add_psk(sc, "bob", key_b, sizeof(key_b)), sc, "add_psk");
	run_pair(&p, cc, sc, NULL);
	tap_check_err("server: unknown PSK identity", p.rs, EACCES, ktls_conn_error(p.s),
		      "unknown PSK identity", "\"alice\"", NULL);
	snprintf(alert, sizeof(alert), "unknown_psk_identity (%d)", GNUTLS_A_UNKNOWN_PSK_IDENTITY);
	tap_check_err("client: its PSK identity is unknown to the server", p.rc, ECONNABORTED,
		      ktls_conn_error(p.c), "peer sent fatal alert", alert, NULL);
	free_pair(&p);

	/* Same identity, different key: the binder does not verify. */
	cc = client_config(NULL);
	sc = server_config(NULL);
	must(ktls_config_add_psk(cc, "bob", key_a, sizeof(key_a)), cc, "add_psk");
	must(ktls_config_add_psk(sc, "bob", key_b, sizeof(key_b)), sc, "add_psk");
	run_pair(&p, cc, sc, NULL);
	tap_check(p.rs < 0 && p.rs != -EAGAIN && ktls_conn_error(p.s)[0] != '\0',
		  "server: PSK with the wrong key fails: %s \"%s\"", unit_errno_name(p.rs),
		  ktls_conn_error(p.s));
	tap_check(p.rc == -ECONNABORTED && strstr(ktls_conn_error(p.c), "peer sent fatal alert"),
		  "client: PSK with the wrong key: -ECONNABORTED \"%s\"", ktls_conn_error(p.c));
	free_pair(&p);

	/* And the right key works; both sides name the identity. */
	cc = client_config(NULL);
	sc = server_config(NULL);
	must(ktls_config_add_psk(cc, "bob", key_b, sizeof(key_b)), cc, "add_psk");
	must(ktls_config_add_psk(sc, "alice", key_a, sizeof(key_a)), sc, "add_psk");
	must(ktls_config_add_psk(sc, "bob", key_b, sizeof(key_b)), sc, "add_psk");
	run_pair(&p, cc, sc, NULL);
	if (tap_check(p.rc == 0 && p.rs == 0, "PSK bob, known to the server: handshake") &&
	    ktls_conn_get_info(p.c, &ci) == 0 && ktls_conn_get_info(p.s, &si) == 0)
		tap_check(ci.peer_auth == KTLS_PEER_PSK && si.peer_auth == KTLS_PEER_PSK &&
				  strcmp(si.peer_identity, "bob") == 0 &&
				  strcmp(ci.peer_identity, "bob") == 0,
			  "PSK: peer_auth PSK, identity \"%s\" / \"%s\"", ci.peer_identity,
			  si.peer_identity);
	else
		tap_diag("client \"%s\", server \"%s\"", ktls_conn_error(p.c),
			 ktls_conn_error(p.s));
	free_pair(&p);
}

static void test_mutual(int version)
{
	const char *vname = version == KTLS_VERSION_TLS13 ? "TLS1.3" : "TLS1.2";
	struct ktls_config *cc, *sc;
	struct ktls_info si;
	struct pair p;
	char label[96], buf[16];
	ssize_t n;

#define MTLS_CONFIGS(mode)                                                                         \
	do {                                                                                       \
		cc = client_config(ca.cert_path);                                                  \
		sc = server_config(&server);                                                       \
		must(ktls_config_set_versions(cc, version, version), cc, "versions");              \
		must(ktls_config_set_ca_file(sc, ca.cert_path), sc, "server CA");                  \
		must(ktls_config_set_client_auth(sc, mode), sc, "client auth");                    \
	} while (0)

	/* REQUIRE, and the client has no certificate. */
	MTLS_CONFIGS(KTLS_CLIENT_AUTH_REQUIRE);
	run_pair(&p, cc, sc, "localhost");
	snprintf(label, sizeof(label), "%s server REQUIRE, client without a certificate", vname);
	tap_check_err(label, p.rs, EACCES, ktls_conn_error(p.s), "sent no certificate",
		      version == KTLS_VERSION_TLS13 ? "certificate_required (116)"
						    : "handshake_failure (40)",
		      NULL);
	if (version == KTLS_VERSION_TLS13) {
		/*
		 * RFC 8446 section 4.4.2.4: the client's handshake is over when it
		 * sends Finished; the server's verdict comes after, as an alert,
		 * which the client reads as its first record.
		 */
		tap_check(p.rc == 0,
			  "%s: client handshake completes before the server decides (%s)", vname,
			  unit_errno_name(p.rc));
		n = unit_recv_all(p.c, buf, sizeof(buf), TIMEOUT_MS);
		tap_check_err("TLS1.3 client recv after the server refused it", n, ECONNABORTED,
			      ktls_conn_error(p.c), "peer sent fatal alert",
			      "certificate_required (116)", NULL);
	} else {
		/* RFC 5246 section 7.4.6: a server that requires one sends handshake_failure. */
		tap_check_err("TLS1.2 client without a certificate", p.rc, ECONNABORTED,
			      ktls_conn_error(p.c), "peer sent fatal alert", "handshake_failure (40)",
			      NULL);
	}
	free_pair(&p);

	/* REQUIRE, with a certificate from the right CA. */
	MTLS_CONFIGS(KTLS_CLIENT_AUTH_REQUIRE);
	must(ktls_config_add_cert_file(cc, client.cert_path, client.key_path), cc, "client cert");
	run_pair(&p, cc, sc, "localhost");
	if (tap_check(p.rc == 0 && p.rs == 0, "%s server REQUIRE, client with a certificate",
		      vname) &&
	    ktls_conn_get_info(p.s, &si) == 0)
		tap_check(si.peer_auth == KTLS_PEER_CERTIFICATE &&
				  strcmp(si.peer_identity, client.dn) == 0,
			  "%s server sees the client's DN \"%s\" (want \"%s\")", vname,
			  si.peer_identity, client.dn);
	else
		tap_diag("client \"%s\", server \"%s\"", ktls_conn_error(p.c),
			 ktls_conn_error(p.s));
	free_pair(&p);

	/* REQUIRE, with a certificate from a CA the server does not trust. */
	MTLS_CONFIGS(KTLS_CLIENT_AUTH_REQUIRE);
	must(ktls_config_add_cert_file(cc, other_client.cert_path, other_client.key_path), cc,
	     "client cert");
	run_pair(&p, cc, sc, "localhost");
	/*
	 * The server names its CA in the CertificateRequest (certificate_authorities,
	 * RFC 8446 section 4.2.4), so GnuTLS's client does not send a certificate
	 * from another CA at all: the server sees none.
	 */
	snprintf(label, sizeof(label), "%s server REQUIRE, client certificate from an untrusted CA",
		 vname);
	tap_check_err(label, p.rs, EACCES, ktls_conn_error(p.s), "sent no certificate", NULL);
	free_pair(&p);

	/* REQUEST: no certificate is fine ("ask; verify if one is sent", ktls.h). */
	MTLS_CONFIGS(KTLS_CLIENT_AUTH_REQUEST);
	run_pair(&p, cc, sc, "localhost");
	if (tap_check(p.rc == 0 && p.rs == 0, "%s server REQUEST, client without a certificate",
		      vname) &&
	    ktls_conn_get_info(p.s, &si) == 0)
		tap_check(si.peer_auth == KTLS_PEER_NONE && si.peer_identity[0] == '\0',
			  "%s REQUEST without a certificate: no peer identity", vname);
	else
		tap_diag("client %s \"%s\", server %s \"%s\"", unit_errno_name(p.rc),
			 ktls_conn_error(p.c), unit_errno_name(p.rs), ktls_conn_error(p.s));
	free_pair(&p);
#undef MTLS_CONFIGS
}

/*
 * Read @raw until EOF (or 2 s of silence, or @max alerts): the plaintext alerts'
 * (level, description) pairs into @alerts, other records only counted.
 */
static int read_plain_alerts(int raw, unsigned char alerts[][2], int max, int *ret_records)
{
	unsigned char buf[32768];
	size_t len = 0;
	int n_alerts = 0;

	*ret_records = 0;
	while (n_alerts < max) {
		struct pollfd pfd = { .fd = raw, .events = POLLIN };
		ssize_t n;

		if (poll(&pfd, 1, 2000) <= 0 || len == sizeof(buf))
			break;
		n = read(raw, buf + len, sizeof(buf) - len);
		if (n <= 0)
			break;
		len += (size_t)n;
		while (len >= 5 && len >= 5 + (size_t)(buf[3] << 8 | buf[4])) {
			size_t rec = 5 + (size_t)(buf[3] << 8 | buf[4]);

			if (buf[0] == 21 && rec == 7 && n_alerts < max) {
				alerts[n_alerts][0] = buf[5];
				alerts[n_alerts][1] = buf[6];
				n_alerts++;
			}
			(*ret_records)++;
			memmove(buf, buf + rec, len - rec);
			len -= rec;
		}
	}
	return n_alerts;
}

/* The two alerts a stopped handshake ends with: user_canceled, close_notify (RFC 8446 6.1). */
static void check_user_canceled(const char *label, int raw, int min_records)
{
	unsigned char alerts[4][2];
	int records, n = read_plain_alerts(raw, alerts, 4, &records);

	tap_check(n == 2 && alerts[0][0] == 1 && alerts[0][1] == 90 && alerts[1][0] == 1 &&
			  alerts[1][1] == 0 && records >= min_records,
		  "%s: the peer reads user_canceled, then close_notify (%d alerts; %d records "
		  "in all, the flight's included, want %d)",
		  label, n, records, min_records);
}

/* A TLS 1.2-only server conn that has read @hello from its raw peer (*@ret_raw). */
static struct ktls_conn *tls12_server_fed(const unsigned char *hello, size_t len, int *ret_raw)
{
	struct ktls_config *sc = server_config(&server);
	struct ktls_conn *conn;

	must(ktls_config_set_versions(sc, KTLS_VERSION_TLS12, KTLS_VERSION_TLS12), sc, "versions");
	conn = raw_server(sc, ret_raw);
	if (write(*ret_raw, hello, len) != (ssize_t)len)
		tap_bail("write");
	return conn;
}

/* ktls_conn_shutdown() @when, then free: the peer must read the two alerts. */
static void check_shutdown_cancels(const char *when, struct ktls_conn *conn, int raw,
				   int min_records)
{
	char label[96];
	int ret = ktls_conn_shutdown(conn);

	tap_check(ret == 0, "ktls_conn_shutdown() %s: %s%s%s", when, unit_errno_name(ret),
		  ret < 0 ? " " : "", ret < 0 ? ktls_conn_error(conn) : "");
	/* Freed first: the peer then reads to the end. */
	ktls_conn_free(conn);
	snprintf(label, sizeof(label), "shutdown %s", when);
	check_user_canceled(label, raw, min_records);
	close(raw);
}

/*
 * A handshake message in the clear refused by its header, before the rest
 * of it could come: the wrong first message (unexpected_message), or a
 * length no handshake message may have (decode_error).  GnuTLS alone waited for the
 * whole message, until the handshake timeout, and sent no alert.
 */
static void check_first_message(const char *label, struct ktls_conn *conn, int ret, int raw,
				unsigned char want_alert, const char *want_text)
{
	unsigned char alerts[2][2];
	int records, n;

	tap_check_err(label, ret, EPROTO, ktls_conn_error(conn), want_text, "alert sent", NULL);
	n = read_plain_alerts(raw, alerts, 2, &records);
	tap_check(n == 1 && alerts[0][0] == 2 && alerts[0][1] == want_alert,
		  "%s: the peer reads fatal alert %u (%d alerts: %u)", label, want_alert, n,
		  n > 0 ? alerts[0][1] : 0);
}

/* A server whose peer opens with @bytes. */
static void server_first_bytes(const char *label, const unsigned char *bytes, size_t len,
			       unsigned char want_alert, const char *want_text)
{
	struct ktls_conn *conn;
	int raw, ret;

	conn = raw_server(server_config(&server), &raw);
	if (write(raw, bytes, len) != (ssize_t)len)
		tap_bail("write");
	ret = server_alone(conn);
	check_first_message(label, conn, ret, raw, want_alert, want_text);
	ktls_conn_free(conn);
	close(raw);
}

static void test_first_message(void)
{
	/* A Finished header, its 12 bytes never sent. */
	static const unsigned char finished[] = { 22, 3, 1, 0, 4, 20, 0, 0, 12 };
	/* A ClientHello header split over two records: 8 MiB. */
	static const unsigned char split[] = { 22, 3, 1, 0, 2, 1, 0x7f, 22, 3, 1, 0, 2, 0xff, 0xff };
	static const unsigned char client_hello_header[] = { 22, 3, 3, 0, 4, 1, 0, 1, 0 };
	static const unsigned char huge_key_exchange[] = { 22, 3, 3, 0, 4, 16, 0xff, 0xff, 0xff };
	unsigned char hello[4096];
	struct ktls_conn *conn;
	size_t len;
	int ret, cfd, sfd;

	server_first_bytes("server: a Finished header first", finished, sizeof(finished), 10,
			   "first handshake message is Finished (type 20), not a ClientHello");
	len = client_hello(hello, sizeof(hello));
	hello[6] = hello[7] = hello[8] = 0xff; /* the message's length: 16 MiB - 1 */
	server_first_bytes("server: a ClientHello claiming 16 MiB", hello, len, 50,
			   "ClientHello claims 16777215 bytes");
	server_first_bytes("server: an 8 MiB ClientHello header over two records", split,
			   sizeof(split), 50, "ClientHello claims 8388607 bytes");

	/* A blocking fd: the server must not wait in recv() for the rest of it. */
	{
		struct ktls_config *sc = server_config(&server);

		must(ktls_config_set_handshake_timeout(sc, 5000), sc, "handshake timeout");
		if (unit_tcp_pair(&cfd, &sfd, false) < 0)
			tap_bail("loopback TCP pair");
		must(ktls_conn_new(sc, sfd, KTLS_CONN_OWN_FD, &conn), sc, "ktls_conn_new(server)");
		ktls_config_unref(sc);
		len = client_hello(hello, sizeof(hello));
		hello[6] = hello[7] = hello[8] = 0xff;
		if (write(cfd, hello, len) != (ssize_t)len)
			tap_bail("write");
		ret = ktls_conn_handshake(conn);
		check_first_message("blocking fd: a ClientHello claiming 16 MiB", conn, ret, cfd, 50,
				    "ClientHello claims 16777215 bytes");
		ktls_conn_free(conn);
		close(cfd);
	}

	/* TLS 1.2: the client's second flight is in the clear too. */
	conn = tls12_server_fed(hello, client_hello(hello, sizeof(hello)), &sfd);
	if (unit_handshake_one(conn, &ret, 300) == 0 || ret != -EAGAIN)
		tap_bail("the TLS 1.2 server did not wait for the second flight");
	if (write(sfd, huge_key_exchange, sizeof(huge_key_exchange)) !=
	    (ssize_t)sizeof(huge_key_exchange))
		tap_bail("write");
	ret = server_alone(conn);
	check_first_message("server: a TLS 1.2 ClientKeyExchange claiming 16 MiB", conn, ret, sfd,
			    50, "ClientKeyExchange claims 16777215 bytes");
	ktls_conn_free(conn);
	close(sfd);

	/* A client answered with (the start of) a ClientHello. */
	{
		struct ktls_config *cc = client_config(ca.cert_path);

		if (unit_tcp_pair(&cfd, &sfd, true) < 0)
			tap_bail("loopback TCP pair");
		must(ktls_conn_new(cc, cfd, KTLS_CONN_OWN_FD, &conn), cc, "ktls_conn_new(client)");
		ktls_config_unref(cc);
		ktls_conn_set_server_name(conn, "localhost");
		unit_set_nonblock(sfd, false);
		if (ktls_conn_handshake(conn) != -EAGAIN || read(sfd, hello, sizeof(hello)) < 100)
			tap_bail("no ClientHello from the client");
		/* A ClientHello header, 256 bytes claimed and none sent: GnuTLS would wait. */
		if (write(sfd, client_hello_header, sizeof(client_hello_header)) !=
		    (ssize_t)sizeof(client_hello_header))
			tap_bail("write");
		ret = 0;
		if (unit_handshake_one(conn, &ret, TIMEOUT_MS) != 0)
			ret = -ETIMEDOUT;
		check_first_message("client: a ClientHello from the server", conn, ret, sfd, 10,
				    "first handshake message is ClientHello (type 1), not a ServerHello");
		ktls_conn_free(conn);
		close(sfd);
	}
}

/*
 * A handshake this side stops, by leaving a non-blocking one unfinished or
 * by cancelling a ring one: shutting down tells the peer user_canceled,
 * then close_notify, after the rest of the server's flight.  TLS 1.2, so
 * that the alerts are plaintext here; the TLS 1.3 ones are opened by
 * hostile-peer in the serve tests.
 */
static void test_cancelled(void)
{
	unsigned char hello[2048];
	size_t len = client_hello(hello, sizeof(hello));
	struct ktls_conn *conn;
	int raw, ret;

	/* Blocking API, nothing from the peer yet. */
	conn = raw_server(server_config(&server), &raw);
	ret = ktls_conn_handshake(conn);
	tap_check(ret == -EAGAIN, "non-blocking server handshake waits for a ClientHello (%s)",
		  unit_errno_name(ret));
	check_shutdown_cancels("before the ClientHello", conn, raw, 2);

	/* Blocking API, the server's flight out, waiting for the client's. */
	conn = tls12_server_fed(hello, len, &raw);
	tap_check(unit_handshake_one(conn, &ret, 300) != 0 && ret == -EAGAIN,
		  "TLS 1.2 server waits for the client's second flight");
	/* ServerHello, Certificate, ServerKeyExchange, ServerHelloDone, then the two alerts */
	check_shutdown_cancels("after the server's flight", conn, raw, 6);

	/* The ring: ktls_conn_ring_cancel(), then ktls_conn_ring_shutdown(). */
	{
		struct unit_ring_result hs = { 0 }, down = { 0 };
		struct ktls_ring *ring;
		struct pollfd pfd;

		if (ktls_ring_new(NULL, 0, &ring) != 0) {
			tap_skip("no io_uring here: the ring's cancelled handshake");
			return;
		}
		conn = tls12_server_fed(hello, len, &raw);
		ret = ktls_conn_ring_attach(conn, ring);
		if (ret == 0)
			ret = ktls_conn_ring_handshake(conn, TIMEOUT_MS, unit_ring_done, &hs);
		if (ret != 0)
			tap_bail("ring handshake: %s", ktls_conn_error(conn));
		/* Until the server's flight is on its way: the handshake then waits. */
		pfd = (struct pollfd){ .fd = raw, .events = POLLIN };
		for (int i = 0; i < 200 && poll(&pfd, 1, 0) == 0; i++)
			ktls_ring_run(ring, 10);
		ktls_ring_run(ring, 10);
		ret = !hs.done ? ktls_conn_ring_cancel(conn) : 0;
		unit_ring_wait(ring, &hs, NULL, 2000);
		tap_check(ret == 1 && hs.done && hs.value == -ECANCELED,
			  "a waiting ring handshake, cancelled, ends -ECANCELED (%s)",
			  unit_errno_name((int)hs.value));
		ret = ktls_conn_ring_shutdown(conn, TIMEOUT_MS, unit_ring_done, &down);
		if (ret == 0)
			unit_ring_wait(ring, &down, NULL, 2000);
		tap_check(ret == 0 && down.done && down.value == 0,
			  "ktls_conn_ring_shutdown() after the cancel: %s, then %s",
			  unit_errno_name(ret), unit_errno_name((int)down.value));
		ktls_conn_free(conn);
		check_user_canceled("ring: cancel, then shutdown", raw, 6);
		close(raw);
		ktls_ring_free(ring);
	}

	/* A handshake GnuTLS failed already told the peer (its alert): nothing more. */
	conn = raw_server(server_config(&server), &raw);
	if (write(raw, "GET / HTTP/1.1\r\n\r\n", 18) != 18)
		tap_bail("write");
	ret = server_alone(conn);
	tap_check(ret == -EPROTO && ktls_conn_shutdown(conn) == ret,
		  "after a handshake that failed, ktls_conn_shutdown() returns that failure");
	ktls_conn_free(conn);
	close(raw);
}

int main(void)
{
	const char *dir = unit_tmpdir();

	if (unit_cert_make(&ca, dir, "ca", UNIT_CERT_CA, "Test CA", NULL, NULL, false) < 0 ||
	    unit_cert_make(&server, dir, "server", UNIT_CERT_SERVER, "localhost", "localhost", &ca,
			   false) < 0 ||
	    unit_cert_make(&expired, dir, "expired", UNIT_CERT_SERVER, "localhost", "localhost",
			   &ca, true) < 0 ||
	    unit_cert_make(&client, dir, "client", UNIT_CERT_CLIENT, "client one", NULL, &ca,
			   false) < 0 ||
	    unit_cert_make(&other_ca, dir, "other-ca", UNIT_CERT_CA, "some other CA", NULL, NULL,
			   false) < 0 ||
	    unit_cert_make(&other_server, dir, "other-server", UNIT_CERT_SERVER, "localhost",
			   "localhost", &other_ca, false) < 0 ||
	    unit_cert_make(&other_client, dir, "other-client", UNIT_CERT_CLIENT, "client two", NULL,
			   &other_ca, false) < 0)
		tap_bail("cannot make certificates");

	test_not_tls();
	test_first_message();
	test_peer_closes();
	test_timeout();
	test_cancelled();
	test_certificates();
	test_negotiation();
	test_psk();
	test_mutual(KTLS_VERSION_TLS13);
	test_mutual(KTLS_VERSION_TLS12);

	unit_cert_free(&ca);
	unit_cert_free(&server);
	unit_cert_free(&expired);
	unit_cert_free(&client);
	unit_cert_free(&other_ca);
	unit_cert_free(&other_server);
	unit_cert_free(&other_client);
	return tap_done();
}
