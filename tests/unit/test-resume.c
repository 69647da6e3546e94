/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Session resumption and TLS 1.3 KeyUpdate through the public API, libktls
 * on both sides over loopback TCP.
 *
 * On the build host (no kTLS) this covers GnuTLS's record layer; the kernel
 * suite runs the same binary inside user-mode Linux, where resumed
 * connections must be offloaded exactly like full ones and the 6.1 kernel's
 * lack of rekey shows in KeyUpdate's outcomes.
 *
 * Every connection to one server goes to the same listening port: the
 * client's store is keyed by server name and port.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unit.h"

#define TIMEOUT_MS 10000

static struct ktls_caps caps;
static struct unit_cert ca, leaf;
static const char *dir;
static int listener = -1;

static struct ktls_config *client_config(int version, const char *session_file)
{
	struct ktls_config *c = NULL;

	if (ktls_config_new(KTLS_ROLE_CLIENT, &c) != 0 ||
	    ktls_config_set_ca_file(c, ca.cert_path) != 0 ||
	    ktls_config_set_versions(c, version, version) != 0 ||
	    (session_file != NULL && ktls_config_set_session_file(c, session_file) != 0))
		tap_bail("client config: %s", c ? ktls_config_error(c) : "");
	return c;
}

static struct ktls_config *server_config(unsigned int mechanisms, const unsigned char *ticket_key)
{
	struct ktls_config *c = NULL;

	if (ktls_config_new(KTLS_ROLE_SERVER, &c) != 0 ||
	    ktls_config_add_cert_file(c, leaf.cert_path, leaf.key_path) != 0 ||
	    ktls_config_set_resumption(c, mechanisms, 0, 0) != 0 ||
	    (ticket_key != NULL && ktls_config_set_ticket_key(c, ticket_key, KTLS_TICKET_KEY_SIZE) != 0))
		tap_bail("server config: %s", c ? ktls_config_error(c) : "");
	return c;
}

struct session {
	struct ktls_conn *c, *s;
	struct ktls_info ci, si;
	int rc, rs;
};

/* One connection to the listener; the handshake result is in rc/rs. */
static bool session_open(struct session *x, struct ktls_config *cc, struct ktls_config *sc)
{
	int cfd, sfd, ret;

	memset(x, 0, sizeof(*x));
	ret = unit_tcp_pair_on(listener, &cfd, &sfd, true);
	if (ret < 0)
		tap_bail("loopback TCP: %s", strerror(-ret));
	if (ktls_conn_new(cc, cfd, KTLS_CONN_OWN_FD, &x->c) != 0 ||
	    ktls_conn_new(sc, sfd, KTLS_CONN_OWN_FD, &x->s) != 0 ||
	    ktls_conn_set_server_name(x->c, "localhost") != 0)
		tap_bail("ktls_conn_new: %s / %s", ktls_config_error(cc), ktls_config_error(sc));
	if (unit_handshake_pair(x->c, x->s, &x->rc, &x->rs, TIMEOUT_MS) != 0 || x->rc != 0 ||
	    x->rs != 0) {
		tap_diag("  client %s: %s", unit_errno_name(x->rc), ktls_conn_error(x->c));
		tap_diag("  server %s: %s", unit_errno_name(x->rs), ktls_conn_error(x->s));
		return false;
	}
	return true;
}

/* Data both ways (which also carries TLS 1.3 tickets to the client), then info. */
static bool session_exchange(struct session *x, const char *label)
{
	unsigned char out[3000], in[sizeof(out)];
	bool ok;

	unit_fill(out, sizeof(out), 0, 7);
	ok = unit_send_all(x->s, out, sizeof(out), TIMEOUT_MS) == (ssize_t)sizeof(out) &&
	     unit_recv_all(x->c, in, sizeof(in), TIMEOUT_MS) == (ssize_t)sizeof(in) &&
	     memcmp(in, out, sizeof(in)) == 0 &&
	     unit_send_all(x->c, out, sizeof(out), TIMEOUT_MS) == (ssize_t)sizeof(out) &&
	     unit_recv_all(x->s, in, sizeof(in), TIMEOUT_MS) == (ssize_t)sizeof(in) &&
	     memcmp(in, out, sizeof(in)) == 0;
	if (!tap_check(ok, "%s: 3000 bytes each way, identical", label))
		tap_diag("  client: %s; server: %s", ktls_conn_error(x->c), ktls_conn_error(x->s));
	ktls_conn_get_info(x->c, &x->ci);
	ktls_conn_get_info(x->s, &x->si);
	return ok;
}

static void session_close(struct session *x)
{
	ktls_conn_free(x->c);
	ktls_conn_free(x->s);
	x->c = x->s = NULL;
}

/* Where the kernel can carry this cipher, a resumed connection must be offloaded too. */
static void check_offload(const char *label, const struct session *x)
{
	bool tls13 = x->ci.version == KTLS_VERSION_TLS13;
	bool can = caps.ulp_available && (caps.tx_ciphers[tls13] & (1u << x->ci.cipher)) &&
		   (caps.rx_ciphers[tls13] & (1u << x->ci.cipher));

	if (!can) {
		tap_check(!x->ci.tx.kernel && x->ci.tx.reason[0] != '\0',
			  "%s: no kTLS here, and the reason is given (\"%s\")", label, x->ci.tx.reason);
		return;
	}
	tap_check(x->ci.tx.kernel && x->ci.rx.kernel && x->si.tx.kernel && x->si.rx.kernel,
		  "%s: both sides offloaded both directions", label);
}

/* Two connections with the same configs: the second must (or must not) resume. */
static void resume_case(const char *label, int version, unsigned int mechanisms, bool want)
{
	struct ktls_config *cc = client_config(version, NULL), *sc = server_config(mechanisms, NULL);
	struct session x;
	char what[96];

	snprintf(what, sizeof(what), "%s, first", label);
	if (!tap_check(session_open(&x, cc, sc), "%s: full handshake", what))
		goto out;
	session_exchange(&x, what);
	tap_check(!x.ci.resumed && !x.si.resumed, "%s: not resumed", what);
	if (version == KTLS_VERSION_TLS13 && mechanisms & KTLS_RESUME_TICKETS)
	{
		tap_check(x.ci.tickets_received > 0, "%s: client took %u ticket(s)", what,
			  x.ci.tickets_received);
		/* With kernel RX the tickets come after the switch, read back from the kernel. */
		tap_check(x.ci.rx.kernel == (x.ci.tickets_after_switch == x.ci.tickets_received),
			  "%s: %u of them read back from the kernel (RX %s)", what,
			  x.ci.tickets_after_switch, x.ci.rx.kernel ? "kernel" : "userspace");
	}
	session_close(&x);

	snprintf(what, sizeof(what), "%s, second", label);
	if (!tap_check(session_open(&x, cc, sc), "%s: handshake", what))
		goto out;
	session_exchange(&x, what);
	tap_check(x.ci.resumed == want && x.si.resumed == want, "%s: %s (client %d, server %d)",
		  what, want ? "resumed" : "full handshake", x.ci.resumed, x.si.resumed);
	check_offload(what, &x);
	session_close(&x);
out:
	ktls_config_unref(cc);
	ktls_config_unref(sc);
}

/* Two servers (say, two processes) with one ticket key accept each other's tickets. */
static void test_shared_ticket_key(void)
{
	unsigned char key[KTLS_TICKET_KEY_SIZE], other[KTLS_TICKET_KEY_SIZE];
	struct ktls_config *cc = client_config(KTLS_VERSION_TLS13, NULL);
	struct ktls_config *a, *b, *c;
	struct session x;

	if (ktls_ticket_key_generate(key, sizeof(key)) != 0 ||
	    ktls_ticket_key_generate(other, sizeof(other)) != 0)
		tap_bail("ktls_ticket_key_generate");
	tap_check(ktls_ticket_key_generate(key, 32) == -EINVAL, "a 32-byte ticket key: -EINVAL");
	a = server_config(KTLS_RESUME_TICKETS, key);
	b = server_config(KTLS_RESUME_TICKETS, key);
	c = server_config(KTLS_RESUME_TICKETS, other);

	if (session_open(&x, cc, a)) {
		session_exchange(&x, "shared key: server A");
		session_close(&x);
	}
	if (session_open(&x, cc, b)) {
		session_exchange(&x, "shared key: server B");
		tap_check(x.ci.resumed && x.si.resumed,
			  "shared key: server B resumes server A's ticket");
		session_close(&x);
	}
	if (session_open(&x, cc, c)) {
		session_exchange(&x, "other key: server C");
		tap_check(!x.ci.resumed && !x.si.resumed,
			  "other key: server C falls back to a full handshake");
		session_close(&x);
	}
	ktls_config_unref(a);
	ktls_config_unref(b);
	ktls_config_unref(c);
	ktls_config_unref(cc);
	explicit_bzero(key, sizeof(key));
	explicit_bzero(other, sizeof(other));
}

/* A client store in a file: a second "run" (a new config) resumes. */
static void test_session_file(int version)
{
	char path[512], label[64];
	struct ktls_config *sc = server_config(KTLS_RESUME_TICKETS | KTLS_RESUME_SESSION_ID, NULL);
	struct ktls_config *cc;
	struct session x;
	struct stat st;

	snprintf(label, sizeof(label), "session file TLS1.%d", version == KTLS_VERSION_TLS13 ? 3 : 2);
	snprintf(path, sizeof(path), "%s/sessions-%x", dir, version);
	unlink(path);

	cc = client_config(version, path);
	if (session_open(&x, cc, sc)) {
		session_exchange(&x, label);
		session_close(&x);
	}
	ktls_config_unref(cc);
	tap_check(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600,
		  "%s: written, mode 0600 (%03o)", label, st.st_mode & 0777);

	cc = client_config(version, path);
	if (session_open(&x, cc, sc)) {
		session_exchange(&x, label);
		tap_check(x.ci.resumed && x.si.resumed, "%s: a new client config resumes from it",
			  label);
		check_offload(label, &x);
		session_close(&x);
	}
	ktls_config_unref(cc);

	/* Readable by others: refused, with the reason. */
	chmod(path, 0644);
	cc = client_config(version, path);
	{
		int cfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		struct ktls_conn *c = NULL;
		int ret = ktls_conn_new(cc, cfd, KTLS_CONN_OWN_FD, &c);

		tap_check_err("session file mode 0644", ret, EPERM, ktls_config_error(cc), "0600",
			      NULL);
		if (ret == 0)
			ktls_conn_free(c);
		else
			close(cfd);
	}
	ktls_config_unref(cc);

	/* Damaged: its entries are skipped, the handshake is a full one. */
	{
		int fd = open(path, O_WRONLY | O_TRUNC);

		if (fd >= 0) {
			static const char junk[] = "ktls-sessions 1\nlocalhost/1 9999999999 !!!notbase64\n"
						   "garbage\n";

			if (write(fd, junk, sizeof(junk) - 1) < 0)
				tap_bail("write: %s", strerror(errno));
			fchmod(fd, 0600);
			close(fd);
		}
	}
	cc = client_config(version, path);
	if (tap_check(session_open(&x, cc, sc), "%s: damaged file: handshake works", label)) {
		tap_check(!x.ci.resumed, "%s: damaged file: full handshake", label);
		session_close(&x);
	}
	ktls_config_unref(cc);
	ktls_config_unref(sc);
}

/* Each check on a fresh config: a config's error text is its first failure's. */
static struct ktls_config *fresh(enum ktls_role role)
{
	static struct ktls_config *last;
	struct ktls_config *c = NULL;

	ktls_config_unref(last);
	if (ktls_config_new(role, &c) != 0)
		tap_bail("ktls_config_new");
	last = c;
	return c;
}

static void test_setters(void)
{
	unsigned char key[KTLS_TICKET_KEY_SIZE] = { 0 };
	struct ktls_config *c;

	c = fresh(KTLS_ROLE_SERVER);
	tap_check_err("resumption: unknown mechanism", ktls_config_set_resumption(c, 0x80, 0, 0),
		      EINVAL, ktls_config_error(c), "mechanism", NULL);
	c = fresh(KTLS_ROLE_SERVER);
	tap_check_err("resumption: lifetime of 8 days", ktls_config_set_resumption(c, 1, 691200, 0),
		      EINVAL, ktls_config_error(c), "7 days", NULL);
	c = fresh(KTLS_ROLE_CLIENT);
	tap_check_err("ticket key on a client", ktls_config_set_ticket_key(c, key, sizeof(key)),
		      EINVAL, ktls_config_error(c), "server", NULL);
	c = fresh(KTLS_ROLE_SERVER);
	tap_check_err("ticket key of 16 bytes", ktls_config_set_ticket_key(c, key, 16), EINVAL,
		      ktls_config_error(c), "64 bytes", NULL);
	c = fresh(KTLS_ROLE_SERVER);
	tap_check_err("session file on a server", ktls_config_set_session_file(c, "/tmp/x"),
		      EINVAL, ktls_config_error(c), "client", NULL);
	c = fresh(KTLS_ROLE_SERVER);
	tap_check_err("keyupdate mode 7", ktls_config_set_keyupdate(c, 7), EINVAL,
		      ktls_config_error(c), "mode", NULL);
	c = fresh(KTLS_ROLE_SERVER);
	tap_check(ktls_config_set_resumption(c, KTLS_RESUME_TICKETS, 600, 16) == 0,
		  "resumption: tickets, 600 s, 16 entries");
}

/*
 * An upload-only TLS 1.3 client never reads the server's tickets; closing
 * a socket with unread input is a reset, which would make the server's
 * kernel drop the end of the upload.  ktls_conn_free() discards that input
 * first: the server gets every byte and the close_notify.
 */
static void test_upload_only_close(void)
{
	struct ktls_config *cc = client_config(KTLS_VERSION_TLS13, NULL);
	struct ktls_config *sc = server_config(KTLS_RESUME_TICKETS, NULL);
	static unsigned char out[128 << 10], in[sizeof(out)];
	struct session x;
	ssize_t n;
	char end;

	if (!tap_check(session_open(&x, cc, sc), "upload-only: handshake"))
		goto out;
	unit_fill(out, sizeof(out), 0, 3);
	/*
	 * Most of the upload waits in the client's send queue when it closes
	 * (small receive buffer at the server, large send buffer here): a
	 * reset would discard it.  The tickets are on the client's socket
	 * before it is done sending.
	 */
	setsockopt(ktls_conn_fd(x.s), SOL_SOCKET, SO_RCVBUF, &(int){ 16384 }, sizeof(int));
	setsockopt(ktls_conn_fd(x.c), SOL_SOCKET, SO_SNDBUF, &(int){ 4 << 20 }, sizeof(int));
	usleep(100000);
	n = unit_send_all(x.c, out, sizeof(out), TIMEOUT_MS);
	if (n == (ssize_t)sizeof(out))
		n = ktls_conn_shutdown(x.c) == 0 ? n : -1;
	ktls_conn_free(x.c);
	x.c = NULL;
	tap_check(n == (ssize_t)sizeof(out), "upload-only: 128 KiB sent, close_notify, freed");
	n = unit_recv_all(x.s, in, sizeof(in), TIMEOUT_MS);
	tap_check(n == (ssize_t)sizeof(in) && memcmp(in, out, sizeof(in)) == 0,
		  "upload-only: the server received all of it (%zd)", n);
	n = ktls_conn_recv(x.s, &end, 1);
	tap_check(n == 0, "upload-only: then the close_notify, not a reset (%zd %s)", n,
		  n < 0 ? ktls_conn_error(x.s) : "");
	session_close(&x);
out:
	ktls_config_unref(cc);
	ktls_config_unref(sc);
}

/* ---- KeyUpdate ------------------------------------------------------------- */

static bool tx_in_kernel(const struct session *x)
{
	return x->ci.tx.kernel;
}

static void test_keyupdate(void)
{
	struct ktls_config *cc = client_config(KTLS_VERSION_TLS13, NULL);
	struct ktls_config *sc = server_config(0, NULL);
	struct session x;
	int ret;

	if (!tap_check(session_open(&x, cc, sc), "KeyUpdate: handshake"))
		goto out;
	session_exchange(&x, "KeyUpdate: before");
	ret = ktls_conn_rekey(x.c, true);
	if (tx_in_kernel(&x) && !caps.tls13_rekey) {
		/* This kernel cannot: refused before anything is sent, and the connection lives. */
		tap_check_err("KeyUpdate on a kernel without rekey", ret, EOPNOTSUPP,
			      ktls_conn_error(x.c), "6.14", NULL);
		session_exchange(&x, "KeyUpdate refused: the connection goes on");
		goto close;
	}
	tap_check(ret == 0, "KeyUpdate (update_requested) sent: %d %s", ret, ktls_conn_error(x.c));
	/*
	 * The server follows it when it reads it (end of the first exchange)
	 * and answers with its own before its next data (the second one).
	 */
	session_exchange(&x, "after KeyUpdate");
	session_exchange(&x, "after the answer");
	tap_check(x.ci.key_updates_sent == 1 && x.si.key_updates_received == 1,
		  "client sent 1 KeyUpdate, server followed 1 (%u, %u)", x.ci.key_updates_sent,
		  x.si.key_updates_received);
	tap_check(x.si.key_updates_sent == 1 && x.ci.key_updates_received == 1,
		  "server answered with 1, client followed it (%u, %u)", x.si.key_updates_sent,
		  x.ci.key_updates_received);
	ret = ktls_conn_rekey(x.s, false);
	tap_check(ret == 0, "server KeyUpdate (not requested): %d", ret);
	session_exchange(&x, "after the server's KeyUpdate");
	tap_check(x.si.key_updates_sent == 2 && x.ci.key_updates_received == 2 &&
			  x.ci.key_updates_sent == 1,
		  "no answer to an update that did not ask for one (%u, %u, %u)",
		  x.si.key_updates_sent, x.ci.key_updates_received, x.ci.key_updates_sent);
close:
	session_close(&x);
out:
	ktls_config_unref(cc);
	ktls_config_unref(sc);

	/* TLS 1.2 has no KeyUpdate. */
	cc = client_config(KTLS_VERSION_TLS12, NULL);
	sc = server_config(0, NULL);
	if (session_open(&x, cc, sc)) {
		tap_check_err("KeyUpdate on TLS 1.2", ktls_conn_rekey(x.c, false), EOPNOTSUPP,
			      ktls_conn_error(x.c), "TLS 1.3", NULL);
		session_close(&x);
	}
	ktls_config_unref(cc);
	ktls_config_unref(sc);
}

/*
 * KTLS_KEYUPDATE_FOLLOW: on a kernel that cannot rekey, the client keeps
 * TLS 1.3 RX in GnuTLS and follows the server's KeyUpdate; a KeyUpdate that
 * asks for the client's own (its TX is the kernel's) ends the connection.
 * The server's TX stays in GnuTLS so that it can send KeyUpdates at all.
 */
static void test_follow(void)
{
	struct ktls_config *cc, *sc;
	struct session x;
	unsigned char buf[16];
	ssize_t n;

	if (!caps.ulp_available || caps.tls13_rekey) {
		tap_skip("KTLS_KEYUPDATE_FOLLOW: needs a kernel with kTLS and without rekey");
		return;
	}
	for (int requested = 0; requested < 2; requested++) {
		const char *label = requested ? "FOLLOW, update_requested" : "FOLLOW";

		cc = client_config(KTLS_VERSION_TLS13, NULL);
		sc = server_config(0, NULL);
		ktls_config_set_keyupdate(cc, KTLS_KEYUPDATE_FOLLOW);
		ktls_config_set_offload(sc, KTLS_DIR_TX, KTLS_OFFLOAD_OFF);
		if (!session_open(&x, cc, sc))
			tap_bail("%s: handshake", label);
		session_exchange(&x, label);
		tap_check(x.ci.tx.kernel && !x.ci.rx.kernel && strstr(x.ci.rx.reason, "KeyUpdate"),
			  "%s: client TX kernel, RX userspace: \"%s\"", label, x.ci.rx.reason);
		tap_check(ktls_conn_rekey(x.s, requested) == 0, "%s: server sends KeyUpdate", label);
		if (!requested) {
			session_exchange(&x, "FOLLOW: after the server's KeyUpdate");
			tap_check(x.ci.key_updates_received == 1, "FOLLOW: client followed it");
		} else {
			unit_send_all(x.s, "after", 5, TIMEOUT_MS);
			n = unit_recv_all(x.c, buf, 5, TIMEOUT_MS);
			tap_check_err("FOLLOW: a KeyUpdate asking for the client's", n, EKEYEXPIRED,
				      ktls_conn_error(x.c), "6.14", NULL);
		}
		session_close(&x);
		ktls_config_unref(cc);
		ktls_config_unref(sc);
	}
}

int main(void)
{
	dir = unit_tmpdir();
	if (ktls_probe(&caps) != 0)
		tap_bail("ktls_probe");
	tap_diag("kernel: %s", caps.summary);
	if (unit_cert_make(&ca, dir, "ca", UNIT_CERT_CA, "Test CA", NULL, NULL, false) < 0 ||
	    unit_cert_make(&leaf, dir, "server", UNIT_CERT_SERVER, "localhost", "localhost", &ca,
			   false) < 0)
		tap_bail("cannot make certificates");
	listener = unit_tcp_listen();
	if (listener < 0)
		tap_bail("listen: %s", strerror(-listener));

	test_setters();
	ktls_config_unref(fresh(KTLS_ROLE_SERVER));
	resume_case("TLS1.3 ticket", KTLS_VERSION_TLS13, KTLS_RESUME_TICKETS, true);
	resume_case("TLS1.2 ticket", KTLS_VERSION_TLS12, KTLS_RESUME_TICKETS, true);
	resume_case("TLS1.2 session ID", KTLS_VERSION_TLS12, KTLS_RESUME_SESSION_ID, true);
	resume_case("TLS1.3, resumption off", KTLS_VERSION_TLS13, 0, false);
	resume_case("TLS1.2, resumption off", KTLS_VERSION_TLS12, 0, false);
	resume_case("TLS1.3, session IDs only", KTLS_VERSION_TLS13, KTLS_RESUME_SESSION_ID, false);
	test_shared_ticket_key();
	test_session_file(KTLS_VERSION_TLS13);
	test_session_file(KTLS_VERSION_TLS12);
	test_upload_only_close();
	test_keyupdate();
	test_follow();

	close(listener);
	unit_cert_free(&ca);
	unit_cert_free(&leaf);
	return tap_done();
}
