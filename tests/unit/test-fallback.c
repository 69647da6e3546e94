/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Black-box, on a kernel without kTLS: everything must still work through
 * GnuTLS's userspace records, over real loopback TCP, and say why the
 * kernel was not used.  (Skipped where the kernel has the TLS ULP: the
 * kernel suite covers that.)
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <gnutls/crypto.h>

#include "unit.h"

#define TIMEOUT_MS 10000
#define MiB (1024 * 1024)

static struct ktls_caps caps;
static struct unit_cert ca, leaf;

/* ---- set-up ---------------------------------------------------------------- */

static struct ktls_config *client_config(int min_version, int max_version)
{
	struct ktls_config *c = NULL;

	if (ktls_config_new(KTLS_ROLE_CLIENT, &c) != 0 ||
	    ktls_config_set_ca_file(c, ca.cert_path) != 0 ||
	    ktls_config_set_versions(c, min_version, max_version) != 0)
		tap_bail("client config: %s", c ? ktls_config_error(c) : "");
	return c;
}

static struct ktls_config *server_config(void)
{
	struct ktls_config *c = NULL;

	if (ktls_config_new(KTLS_ROLE_SERVER, &c) != 0 ||
	    ktls_config_add_cert_file(c, leaf.cert_path, leaf.key_path) != 0)
		tap_bail("server config: %s", c ? ktls_config_error(c) : "");
	return c;
}

struct pair {
	struct ktls_config *cc, *sc;
	struct ktls_conn *c, *s;
	int rc, rs;
	/* what the non-blocking handshake asked for */
	int client_first_ret, client_first_wants;
	unsigned int eagains, bad_wants;
};

/* Takes the configs' references. */
static void pair_open(struct pair *p, struct ktls_config *cc, struct ktls_config *sc)
{
	int cfd, sfd, ret;

	memset(p, 0, sizeof(*p));
	p->cc = cc;
	p->sc = sc;
	ret = unit_tcp_pair(&cfd, &sfd, true);
	if (ret < 0)
		tap_bail("loopback TCP: %s", strerror(-ret));
	if (ktls_conn_new(cc, cfd, KTLS_CONN_OWN_FD, &p->c) != 0)
		tap_bail("ktls_conn_new(client): %s", ktls_config_error(cc));
	if (ktls_conn_new(sc, sfd, KTLS_CONN_OWN_FD, &p->s) != 0)
		tap_bail("ktls_conn_new(server): %s", ktls_config_error(sc));
	if (ktls_conn_set_server_name(p->c, "localhost") != 0)
		tap_bail("set_server_name: %s", ktls_conn_error(p->c));
}

static void pair_close(struct pair *p)
{
	ktls_conn_free(p->c);
	ktls_conn_free(p->s);
	ktls_config_unref(p->cc);
	ktls_config_unref(p->sc);
	memset(p, 0, sizeof(*p));
}

/*
 * Both handshakes from this thread on non-blocking sockets.  @send_first,
 * when set, is sent by whichever side finishes first, the moment its
 * handshake returns 0, while the other side is still in its handshake.
 * Returns true when both handshakes returned 0.
 */
static bool pair_handshake(struct pair *p, const void *send_first, size_t send_len,
			   struct ktls_conn **ret_first)
{
	struct ktls_conn *side[2] = { p->c, p->s };
	int *ret[2] = { &p->rc, &p->rs };
	bool sent = send_first == NULL;

	p->rc = p->rs = -EAGAIN;
	p->client_first_ret = 1;
	for (;;) {
		struct pollfd pfd[2];
		nfds_t n = 0;
		int r;

		for (int i = 0; i < 2; i++) {
			if (*ret[i] != -EAGAIN)
				continue;
			*ret[i] = ktls_conn_handshake(side[i]);
			if (i == 0 && p->client_first_ret == 1) {
				p->client_first_ret = *ret[i];
				p->client_first_wants = ktls_conn_wants(side[i]);
			}
			if (*ret[i] == -EAGAIN) {
				int w = ktls_conn_wants(side[i]);

				p->eagains++;
				if (w != KTLS_WANT_READ && w != KTLS_WANT_WRITE)
					p->bad_wants++;
			}
			if (*ret[i] == 0 && !sent) {
				ssize_t s = ktls_conn_send(side[i], send_first, send_len);

				if (s != (ssize_t)send_len)
					tap_diag("early send: %zd: %s", s,
						 ktls_conn_error(side[i]));
				sent = true;
				*ret_first = side[i];
			}
		}
		if (p->rc != -EAGAIN && p->rs != -EAGAIN)
			break;
		for (int i = 0; i < 2; i++)
			if (*ret[i] == -EAGAIN)
				pfd[n++] = (struct pollfd){ .fd = ktls_conn_fd(side[i]),
							    .events = (short)ktls_conn_wants(
								    side[i]) };
		do
			r = poll(pfd, n, TIMEOUT_MS);
		while (r < 0 && errno == EINTR);
		if (r == 0) {
			tap_diag("handshake stuck: client %s, server %s", unit_errno_name(p->rc),
				 unit_errno_name(p->rs));
			return false;
		}
	}
	if (p->rc != 0 || p->rs != 0) {
		tap_diag("client %s: %s", unit_errno_name(p->rc), ktls_conn_error(p->c));
		tap_diag("server %s: %s", unit_errno_name(p->rs), ktls_conn_error(p->s));
	}
	return p->rc == 0 && p->rs == 0;
}

/* Back to blocking sockets, with timeouts so that a bug fails instead of hanging. */
static void pair_blocking(struct pair *p)
{
	struct timeval tv = { .tv_sec = TIMEOUT_MS / 1000 };

	for (int i = 0; i < 2; i++) {
		int fd = ktls_conn_fd(i == 0 ? p->c : p->s);

		unit_set_nonblock(fd, false);
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	}
}

/* ---- bulk data ---------------------------------------------------------------- */

struct sender {
	struct ktls_conn *conn;
	size_t total;
	unsigned int seed;
	int file_fd; /* >= 0: ktls_conn_sendfile() from it instead */
	off_t offset;
	ssize_t result;
	char error[256];
};

static void *sender_main(void *arg)
{
	struct sender *s = arg;
	unsigned char *buf;
	size_t done = 0;

	if (s->file_fd >= 0) {
		while ((size_t)s->offset < s->total) {
			ssize_t n = ktls_conn_sendfile(s->conn, s->file_fd, &s->offset,
						       s->total - (size_t)s->offset);

			if (n <= 0) {
				s->result = n == 0 ? -EIO : n;
				snprintf(s->error, sizeof(s->error), "%s",
					 ktls_conn_error(s->conn));
				return NULL;
			}
		}
		s->result = (ssize_t)s->offset;
		return NULL;
	}
	buf = malloc(256 * 1024);
	if (buf == NULL) {
		s->result = -ENOMEM;
		return NULL;
	}
	while (done < s->total) {
		size_t chunk = s->total - done < 256 * 1024 ? s->total - done : 256 * 1024;
		ssize_t n;

		unit_fill(buf, chunk, done, s->seed);
		n = unit_send_all(s->conn, buf, chunk, TIMEOUT_MS);
		if (n < 0) {
			s->result = n;
			snprintf(s->error, sizeof(s->error), "%s", ktls_conn_error(s->conn));
			free(buf);
			return NULL;
		}
		done += chunk;
	}
	free(buf);
	s->result = (ssize_t)done;
	return NULL;
}

/* Receive @total bytes on @to while a thread sends them on @from; compare every byte. */
static bool transfer(const char *label, struct ktls_conn *from, struct ktls_conn *to, size_t total,
		     unsigned int seed, int file_fd)
{
	struct sender s = { .conn = from, .total = total, .seed = seed, .file_fd = file_fd };
	unsigned char *got = malloc(total), *want = malloc(total);
	unsigned char hash_got[32], hash_want[32];
	pthread_t thread;
	ssize_t n;
	size_t first_diff = total;
	bool ok;

	if (got == NULL || want == NULL || pthread_create(&thread, NULL, sender_main, &s) != 0)
		tap_bail("transfer set-up");
	n = unit_recv_all(to, got, total, TIMEOUT_MS);
	pthread_join(thread, NULL);

	tap_check(s.result == (ssize_t)total, "%s: sender sent %zu bytes", label, total);
	if (s.result != (ssize_t)total)
		tap_diag("  sender: %s: %s", unit_errno_name((int)s.result), s.error);
	if (!tap_check(n == (ssize_t)total, "%s: receiver got %zu bytes", label, total)) {
		tap_diag("  receiver: %zd (%s): %s", n, unit_errno_name((int)n),
			 ktls_conn_error(to));
		free(got);
		free(want);
		return false;
	}
	unit_fill(want, total, 0, seed);
	for (size_t i = 0; i < total; i++)
		if (got[i] != want[i]) {
			first_diff = i;
			break;
		}
	gnutls_hash_fast(GNUTLS_DIG_SHA256, got, total, hash_got);
	gnutls_hash_fast(GNUTLS_DIG_SHA256, want, total, hash_want);
	ok = first_diff == total && memcmp(hash_got, hash_want, 32) == 0;
	tap_check(ok, "%s: content identical (SHA-256 and byte for byte)", label);
	if (!ok)
		tap_diag("  first difference at byte %zu", first_diff);
	free(got);
	free(want);
	return ok;
}

/* ---- the tests ---------------------------------------------------------------- */

static void check_fallback_info(const char *label, struct ktls_conn *conn, int version)
{
	struct ktls_info info;
	int ret = ktls_conn_get_info(conn, &info);

	if (!tap_check(ret == 0, "%s: ktls_conn_get_info", label))
		return;
	tap_check(info.version == version, "%s: version %s", label, info.version_name);
	tap_check(!info.tx.kernel && !info.rx.kernel, "%s: both directions in userspace", label);
	for (int d = 0; d < 2; d++) {
		const struct ktls_dir_info *di = d == 0 ? &info.tx : &info.rx;
		const char *dn = d == 0 ? "TX" : "RX";

		tap_check(di->reason_errno != 0 && di->reason_errno == caps.ulp_errno,
			  "%s: %s reason_errno %s is the probe's TCP_ULP errno", label, dn,
			  unit_errno_name(di->reason_errno));
		if (caps.ulp_errno == ENOENT)
			tap_check(di->reason_errno == ENOENT, "%s: %s reason_errno is ENOENT",
				  label, dn);
		else
			tap_skip("%s: the TCP_ULP errno here is %s, not ENOENT", label,
				 unit_errno_name(caps.ulp_errno));
		tap_check(strstr(di->reason, "TCP_ULP") != NULL &&
				  strstr(di->reason, strerror(caps.ulp_errno)) != NULL,
			  "%s: %s reason names TCP_ULP and its error: \"%s\"", label, dn,
			  di->reason);
	}
}

static void test_auto(int version)
{
	const char *vname = version == KTLS_VERSION_TLS13 ? "TLS1.3" : "TLS1.2";
	unsigned char small[1000], got[1000];
	char label[64];
	struct pair p;
	ssize_t n;

	snprintf(label, sizeof(label), "AUTO %s", vname);
	pair_open(&p, client_config(version, version), server_config());
	if (!tap_check(pair_handshake(&p, NULL, 0, NULL), "%s: handshake", label))
		goto out;
	tap_check(
		p.client_first_ret == -EAGAIN && p.client_first_wants == KTLS_WANT_READ,
		"%s: non-blocking client's first call: -EAGAIN, wants KTLS_WANT_READ (got %s, %d)",
		label, unit_errno_name(p.client_first_ret), p.client_first_wants);
	tap_check(p.eagains > 0 && p.bad_wants == 0,
		  "%s: every -EAGAIN (%u) came with KTLS_WANT_READ or KTLS_WANT_WRITE", label,
		  p.eagains);
	tap_check(ktls_conn_handshake(p.c) == 0 && ktls_conn_handshake(p.s) == 0,
		  "%s: handshake again after success returns 0", label);
	snprintf(label, sizeof(label), "AUTO %s client", vname);
	check_fallback_info(label, p.c, version);
	snprintf(label, sizeof(label), "AUTO %s server", vname);
	check_fallback_info(label, p.s, version);
	snprintf(label, sizeof(label), "AUTO %s", vname);

	/* pending: plaintext GnuTLS decrypted and still holds */
	unit_fill(small, sizeof(small), 0, 3);
	n = ktls_conn_send(p.s, small, sizeof(small));
	tap_check(n == (ssize_t)sizeof(small), "%s: server sends 1000 bytes in one call", label);
	tap_check(ktls_conn_pending(p.c) == 0, "%s: pending is 0 before reading", label);
	n = unit_recv_all(p.c, got, 100, TIMEOUT_MS);
	tap_check(n == 100 && ktls_conn_pending(p.c) == 900,
		  "%s: after reading 100 of a 1000-byte record, pending is 900 (%zu)", label,
		  ktls_conn_pending(p.c));
	n = ktls_conn_recv(p.c, got + 100, 900); /* no socket read needed: must not -EAGAIN */
	tap_check(n == 900 && memcmp(got, small, sizeof(small)) == 0 && ktls_conn_pending(p.c) == 0,
		  "%s: the pending 900 bytes come without waiting, intact; pending is 0", label);
	n = ktls_conn_recv(p.c, got, sizeof(got));
	tap_check(n == -EAGAIN, "%s: then recv on the empty non-blocking socket: -EAGAIN (%s)",
		  label, unit_errno_name((int)n));

	pair_blocking(&p);
	snprintf(label, sizeof(label), "%s 4 MiB client->server", vname);
	transfer(label, p.c, p.s, 4 * MiB, 1, -1);
	snprintf(label, sizeof(label), "%s 4 MiB server->client", vname);
	transfer(label, p.s, p.c, 4 * MiB, 2, -1);
out:
	pair_close(&p);
}

static void test_sendfile(const char *dir)
{
	const size_t size = 3 * MiB;
	unsigned char *data = malloc(size);
	char path[PATH_MAX];
	struct pair p;
	off_t off;
	ssize_t n;
	int fd;

	if (data == NULL)
		tap_bail("malloc");
	unit_fill(data, size, 0, 7);
	if (unit_write_file(dir, "sendfile.bin", data, size, path) < 0)
		tap_bail("cannot write %s/sendfile.bin", dir);
	free(data);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		tap_bail("open %s: %s", path, strerror(errno));

	pair_open(&p, client_config(KTLS_VERSION_TLS12, KTLS_VERSION_TLS13), server_config());
	if (!tap_check(pair_handshake(&p, NULL, 0, NULL), "sendfile: handshake"))
		goto out;
	pair_blocking(&p);
	transfer("sendfile 3 MiB file client->server", p.c, p.s, size, 7, fd);
	tap_check(lseek(fd, 0, SEEK_CUR) == 0, "sendfile with an offset leaves the file position");
	off = (off_t)size;
	n = ktls_conn_sendfile(p.c, fd, &off, 100);
	tap_check(n == 0 && off == (off_t)size, "sendfile at the end of the file returns 0 (%zd)",
		  n);
	off = 10;
	n = ktls_conn_sendfile(p.c, fd, &off, 0);
	tap_check(n == 0 && off == 10, "sendfile of 0 bytes returns 0 (%zd)", n);
out:
	pair_close(&p);
	close(fd);
}

static void test_close_notify(void)
{
	struct pair p;
	char buf[64];
	ssize_t n;

	pair_open(&p, client_config(KTLS_VERSION_TLS12, KTLS_VERSION_TLS13), server_config());
	if (!tap_check(pair_handshake(&p, NULL, 0, NULL), "close_notify: handshake"))
		goto out;
	pair_blocking(&p);
	tap_check(ktls_conn_shutdown(p.c) == 0, "client ktls_conn_shutdown");
	tap_check(ktls_conn_shutdown(p.c) == 0, "a second shutdown is a no-op");
	n = ktls_conn_recv(p.s, buf, sizeof(buf));
	tap_check(n == 0, "server recv after the client's close_notify returns 0 (%zd: %s)", n,
		  ktls_conn_error(p.s));
	tap_check(ktls_conn_recv(p.s, buf, sizeof(buf)) == 0, "... and 0 again");
	tap_check_err("client send after its shutdown", ktls_conn_send(p.c, "x", 1), EPIPE,
		      ktls_conn_error(p.c), "shutdown", NULL);

	/* Half-close: the server can still talk, and the client still listens. */
	n = ktls_conn_send(p.s, "still here", 10);
	tap_check(n == 10, "server sends after the client's close_notify");
	n = unit_recv_all(p.c, buf, 10, TIMEOUT_MS);
	tap_check(n == 10 && memcmp(buf, "still here", 10) == 0,
		  "client receives after its own shutdown");
	tap_check(ktls_conn_shutdown(p.s) == 0, "server ktls_conn_shutdown");
	n = ktls_conn_recv(p.c, buf, sizeof(buf));
	tap_check(n == 0, "client recv after the server's close_notify returns 0 (%zd)", n);
out:
	pair_close(&p);
}

static void test_truncation(void)
{
	struct pair p;
	char buf[64];
	ssize_t n;

	pair_open(&p, client_config(KTLS_VERSION_TLS12, KTLS_VERSION_TLS13), server_config());
	if (!tap_check(pair_handshake(&p, NULL, 0, NULL), "truncation: handshake"))
		goto out;
	pair_blocking(&p);
	/* The client goes away without close_notify (OWN_FD: the socket closes). */
	ktls_conn_free(p.c);
	p.c = NULL;
	n = ktls_conn_recv(p.s, buf, sizeof(buf));
	tap_check_err("server recv when the peer closed without close_notify", n, ECONNRESET,
		      ktls_conn_error(p.s), "close_notify", NULL);
out:
	pair_close(&p);
}

static void test_require(void)
{
	struct ktls_config *cc, *sc;
	struct ktls_info info;
	struct pair p;

	/* Client requires TX offload; the server is AUTO. */
	cc = client_config(KTLS_VERSION_TLS12, KTLS_VERSION_TLS13);
	ktls_config_set_offload(cc, KTLS_DIR_TX, KTLS_OFFLOAD_REQUIRE);
	pair_open(&p, cc, server_config());
	pair_handshake(&p, NULL, 0, NULL);
	tap_check_err("client handshake with TX offload REQUIRE", p.rc, EOPNOTSUPP,
		      ktls_conn_error(p.c), "TX offload required", "TCP_ULP", NULL);
	tap_check(ktls_conn_get_info(p.c, &info) == -EINVAL, "no info after a REQUIRE failure");
	tap_check(ktls_conn_send(p.c, "x", 1) == -EOPNOTSUPP,
		  "send after a REQUIRE failure returns -EOPNOTSUPP");
	pair_close(&p);

	/* Server requires RX offload. */
	sc = server_config();
	ktls_config_set_offload(sc, KTLS_DIR_RX, KTLS_OFFLOAD_REQUIRE);
	pair_open(&p, client_config(KTLS_VERSION_TLS12, KTLS_VERSION_TLS13), sc);
	pair_handshake(&p, NULL, 0, NULL);
	tap_check_err("server handshake with RX offload REQUIRE", p.rs, EOPNOTSUPP,
		      ktls_conn_error(p.s), "RX offload required", "TCP_ULP", NULL);
	pair_close(&p);
}

static void test_off(void)
{
	struct ktls_config *cc, *sc;
	struct pair p;

	cc = client_config(KTLS_VERSION_TLS12, KTLS_VERSION_TLS13);
	sc = server_config();
	ktls_config_set_offload(cc, KTLS_DIR_BOTH, KTLS_OFFLOAD_OFF);
	ktls_config_set_offload(sc, KTLS_DIR_TX, KTLS_OFFLOAD_OFF);
	ktls_config_set_offload(sc, KTLS_DIR_RX, KTLS_OFFLOAD_OFF);
	pair_open(&p, cc, sc);
	if (!tap_check(pair_handshake(&p, NULL, 0, NULL), "OFF: handshake"))
		goto out;
	for (int i = 0; i < 2; i++) {
		struct ktls_info info;
		const char *who = i == 0 ? "client" : "server";

		if (ktls_conn_get_info(i == 0 ? p.c : p.s, &info) != 0) {
			tap_check(false, "OFF: %s get_info", who);
			continue;
		}
		tap_check(!info.tx.kernel && !info.rx.kernel &&
				  strcmp(info.tx.reason, "offload policy is off") == 0 &&
				  strcmp(info.rx.reason, "offload policy is off") == 0,
			  "OFF: %s: both reasons are \"offload policy is off\" (\"%s\", \"%s\")",
			  who, info.tx.reason, info.rx.reason);
		tap_check(info.tx.reason_errno == 0 && info.rx.reason_errno == 0,
			  "OFF: %s: reason_errno is 0", who);
	}
	pair_blocking(&p);
	transfer("OFF 64 KiB client->server", p.c, p.s, 64 * 1024, 5, -1);
out:
	pair_close(&p);
}

/* Data the peer sends the moment its handshake is done, before we read. */
static void test_early_data(int version)
{
	const char *vname = version == KTLS_VERSION_TLS13 ? "TLS1.3" : "TLS1.2";
	unsigned char msg[3000], got[3000];
	struct ktls_conn *first = NULL, *other;
	struct pair p;
	ssize_t n;

	unit_fill(msg, sizeof(msg), 0, 11);

	/* Whoever finishes first sends while the other is still in its handshake. */
	pair_open(&p, client_config(version, version), server_config());
	if (!tap_check(pair_handshake(&p, msg, sizeof(msg), &first), "%s early data: handshake",
		       vname))
		goto out;
	tap_check(first == (version == KTLS_VERSION_TLS13 ? p.c : p.s), "%s: the %s finishes first",
		  vname, version == KTLS_VERSION_TLS13 ? "client" : "server");
	other = first == p.c ? p.s : p.c;
	n = unit_recv_all(other, got, sizeof(got), TIMEOUT_MS);
	tap_check(
		n == (ssize_t)sizeof(msg) && memcmp(got, msg, sizeof(msg)) == 0,
		"%s: data sent by the %s while the peer was still in its handshake arrives intact",
		vname, first == p.c ? "client" : "server");
	pair_close(&p);

	/* The server sends in one call right after its handshake, before the client reads. */
	pair_open(&p, client_config(version, version), server_config());
	if (!tap_check(pair_handshake(&p, NULL, 0, NULL), "%s server-first data: handshake", vname))
		goto out;
	n = ktls_conn_send(p.s, msg, sizeof(msg));
	tap_check(n == (ssize_t)sizeof(msg),
		  "%s: server sends 3000 bytes right after its handshake", vname);
	/* Let it all arrive before the client reads anything. */
	poll(&(struct pollfd){ .fd = ktls_conn_fd(p.c), .events = POLLIN }, 1, TIMEOUT_MS);
	usleep(10000);
	n = unit_recv_all(p.c, got, sizeof(got), TIMEOUT_MS);
	tap_check(n == (ssize_t)sizeof(msg) && memcmp(got, msg, sizeof(msg)) == 0,
		  "%s: the client gets them intact", vname);
out:
	pair_close(&p);
}

/*
 * On a non-blocking socket, ktls_conn_send() may report bytes as sent that
 * GnuTLS still holds (an encrypted record the socket had no room for).
 * send(2)-like counts, which record.c promises, mean they reach the peer
 * once the sender flushes whenever ktls_conn_wants() asks for it (the one
 * record GnuTLS had encrypted when the socket filled up); the peer reads
 * until everything reported arrived.
 */
static void test_nonblocking_send(void)
{
	unsigned char *buf = malloc(64 * 1024), *got = malloc(64 * MiB);
	size_t accepted = 0, received;
	struct pair p;
	ssize_t n;

	if (buf == NULL || got == NULL)
		tap_bail("malloc");
	pair_open(&p, client_config(KTLS_VERSION_TLS13, KTLS_VERSION_TLS13), server_config());
	if (!tap_check(pair_handshake(&p, NULL, 0, NULL), "non-blocking send: handshake"))
		goto out;
	/* Fill the socket until the library says -EAGAIN; the peer does not read yet. */
	for (;;) {
		unit_fill(buf, 64 * 1024, accepted, 13);
		n = ktls_conn_send(p.c, buf, 64 * 1024);
		if (n == -EAGAIN || accepted > 48 * MiB)
			break;
		if (n < 0) {
			tap_check(false, "non-blocking send: %s: %s", unit_errno_name((int)n),
				  ktls_conn_error(p.c));
			goto out;
		}
		/* The caller moves on by what was accepted, as with send(2). */
		accepted += (size_t)n;
	}
	tap_check(n == -EAGAIN,
		  "non-blocking send fills the socket and returns -EAGAIN after %zu bytes",
		  accepted);
	tap_check(ktls_conn_wants(p.c) == KTLS_WANT_WRITE,
		  "a partly written record makes ktls_conn_wants() ask for KTLS_WANT_WRITE");
	/* The sender only flushes when asked: all it was told was sent must arrive. */
	received = 0;
	while (received < accepted) {
		if (ktls_conn_wants(p.c) & KTLS_WANT_WRITE) {
			int f = ktls_conn_flush(p.c);

			if (f < 0 && f != -EAGAIN)
				break;
		}
		n = unit_recv_all(p.s, got + received, 1, 3000);
		if (n != 1)
			break;
		n = ktls_conn_recv(p.s, got + received + 1, accepted - received - 1);
		received += 1 + (n > 0 ? (size_t)n : 0);
	}
	n = (ssize_t)received;
	tap_check(
		n == (ssize_t)accepted,
		"every byte a non-blocking ktls_conn_send() accepted arrives, flushed on "
		"KTLS_WANT_WRITE (%zd of %zu)",
		n, accepted);
	if (n == (ssize_t)accepted) {
		unsigned char *want = malloc(accepted);

		unit_fill(want, accepted, 0, 13);
		tap_check(memcmp(want, got, accepted) == 0, "... intact");
		free(want);
	}
out:
	free(buf);
	free(got);
	pair_close(&p);
}

static void test_info_extras(void)
{
	struct ktls_config *cc = client_config(KTLS_VERSION_TLS12, KTLS_VERSION_TLS13);
	struct ktls_config *sc = server_config();
	struct ktls_info ci, si;
	struct pair p;

	ktls_config_set_alpn(cc, "h2,http/1.1");
	ktls_config_set_alpn(sc, "http/1.1,h2");
	pair_open(&p, cc, sc);
	if (!tap_check(pair_handshake(&p, NULL, 0, NULL), "info: handshake"))
		goto out;
	if (ktls_conn_get_info(p.c, &ci) != 0 || ktls_conn_get_info(p.s, &si) != 0) {
		tap_check(false, "info: get_info");
		goto out;
	}
	tap_check(strcmp(ci.alpn, "http/1.1") == 0 && strcmp(si.alpn, "http/1.1") == 0,
		  "ALPN: the server's preference wins (\"%s\", \"%s\")", ci.alpn, si.alpn);
	tap_check(strcmp(ci.server_name, "localhost") == 0 &&
			  strcmp(si.server_name, "localhost") == 0,
		  "server_name on both sides (\"%s\", \"%s\")", ci.server_name, si.server_name);
	tap_check(ci.peer_auth == KTLS_PEER_CERTIFICATE && strcmp(ci.peer_identity, leaf.dn) == 0,
		  "client sees the server certificate's DN \"%s\"", ci.peer_identity);
	tap_check(si.peer_auth == KTLS_PEER_NONE, "server: no client certificate");
	tap_check(ci.cipher == si.cipher && ci.cipher != KTLS_CIPHER_NONE &&
			  strcmp(ci.cipher_name, ktls_cipher_name(ci.cipher)) == 0,
		  "cipher %s, named the same by GnuTLS and libktls", ci.cipher_name);
	tap_check(!ci.resumed && !si.resumed, "not resumed");
out:
	pair_close(&p);
}

/* RFC 6066 section 3: an address set as the server name is never sent as SNI. */
static void test_sni_address(const char *address)
{
	struct ktls_config *cc = client_config(KTLS_VERSION_TLS12, KTLS_VERSION_TLS13);
	struct ktls_info ci, si;
	struct pair p;

	/* The test certificate names localhost only: check the chain, not the name. */
	ktls_config_set_verify(cc, true, false);
	pair_open(&p, cc, server_config());
	if (ktls_conn_set_server_name(p.c, address) != 0 ||
	    !tap_check(pair_handshake(&p, NULL, 0, NULL), "SNI %s: handshake", address) ||
	    ktls_conn_get_info(p.c, &ci) != 0 || ktls_conn_get_info(p.s, &si) != 0)
		goto out;
	tap_check(si.server_name[0] == '\0' && ci.server_name[0] == '\0',
		  "server name %s is not sent as SNI (server got \"%s\", client reports \"%s\")",
		  address, si.server_name, ci.server_name);
out:
	pair_close(&p);
}

int main(void)
{
	const char *dir;
	int ret = ktls_probe(&caps);

	if (ret < 0)
		tap_bail("ktls_probe: %s", strerror(-ret));
	if (caps.ulp_available)
		tap_skip_all(
			"this kernel has the TLS ULP; the fallback is tested where it has not");
	tap_diag("probe: %s", caps.summary);

	dir = unit_tmpdir();
	if (unit_cert_make(&ca, dir, "ca", UNIT_CERT_CA, "Test CA", NULL, NULL, false) < 0 ||
	    unit_cert_make(&leaf, dir, "server", UNIT_CERT_SERVER, "localhost", "localhost", &ca,
			   false) < 0)
		tap_bail("cannot make certificates");

	test_auto(KTLS_VERSION_TLS13);
	test_auto(KTLS_VERSION_TLS12);
	test_sendfile(dir);
	test_close_notify();
	test_truncation();
	test_require();
	test_off();
	test_early_data(KTLS_VERSION_TLS13);
	test_early_data(KTLS_VERSION_TLS12);
	test_nonblocking_send();
	test_info_extras();
	test_sni_address("127.0.0.1");
	test_sni_address("::1");

	unit_cert_free(&ca);
	unit_cert_free(&leaf);
	return tap_done();
}
