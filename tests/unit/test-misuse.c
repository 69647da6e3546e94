/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Black-box: what a new user of the library ran into, kept fixed.
 *
 *  1. The peer has gone: ktls_conn_send(), ktls_conn_sendfile() and the
 *     ring's send and sendfile fail with -EPIPE and a sentence that says so,
 *     the same with the kernel holding the key and through GnuTLS records,
 *     and never raise SIGPIPE (left at its default here, so one would kill
 *     this test).
 *  2. Each failing call on a connection leaves its own sentence.
 *  3. ktls_ring_free() with connections still attached, then
 *     ktls_conn_free(): the connections are detached, ring calls on them
 *     fail with a reason, nothing is used after it was freed (run it under
 *     AddressSanitizer or valgrind to see that).
 *  4. ktls_config_unref() once too often while a connection still uses the
 *     config: ignored and logged, the connection carries on, and the config
 *     is freed with the connection.
 *
 * Runs on the build host (GnuTLS records) and, as kernel-misuse, inside
 * user-mode Linux with kTLS, where both modes are tried.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <liburing.h>

#include "unit.h"

#define TIMEOUT_MS 10000
#define FILE_SIZE (1024 * 1024)

static struct unit_cert ca, leaf;
static struct ktls_caps caps;
static char file_path[4096];

static struct ktls_config *client_config(enum ktls_offload offload)
{
	struct ktls_config *c = NULL;

	if (ktls_config_new(KTLS_ROLE_CLIENT, &c) < 0 || ktls_config_set_ca_file(c, ca.cert_path) < 0 ||
	    ktls_config_set_offload(c, KTLS_DIR_BOTH, offload) < 0)
		tap_bail("client config: %s", c != NULL ? ktls_config_error(c) : "");
	return c;
}

static struct ktls_config *server_config(enum ktls_offload offload)
{
	struct ktls_config *c = NULL;

	if (ktls_config_new(KTLS_ROLE_SERVER, &c) < 0 ||
	    ktls_config_add_cert_file(c, leaf.cert_path, leaf.key_path) < 0 ||
	    ktls_config_set_offload(c, KTLS_DIR_BOTH, offload) < 0)
		tap_bail("server config: %s", c != NULL ? ktls_config_error(c) : "");
	return c;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Gone the hard way: a reset, which the next write meets at once. */
static void reset_fd(int fd)
{
	struct linger lg = { 1, 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
	sleep_ms(20); /* loopback delivers the RST well within this */
}

/* A handshaken pair; the server's fd stays the caller's (*ret_sfd). */
static void pair_make(enum ktls_offload offload, struct ktls_conn **ret_c, struct ktls_conn **ret_s,
		      int *ret_sfd)
{
	struct ktls_config *cc = client_config(offload), *sc = server_config(offload);
	int cfd, sfd, rc, rs;

	if (unit_tcp_pair(&cfd, &sfd, true) < 0)
		tap_bail("loopback TCP pair");
	if (ktls_conn_new(cc, cfd, KTLS_CONN_OWN_FD, ret_c) < 0 ||
	    ktls_conn_set_server_name(*ret_c, "localhost") < 0 ||
	    ktls_conn_new(sc, sfd, 0, ret_s) < 0)
		tap_bail("conn set-up: %s / %s", ktls_config_error(cc), ktls_config_error(sc));
	ktls_config_unref(cc);
	ktls_config_unref(sc);
	if (unit_handshake_pair(*ret_c, *ret_s, &rc, &rs, TIMEOUT_MS) < 0 || rc != 0 || rs != 0)
		tap_bail("handshake: %s / %s", ktls_conn_error(*ret_c), ktls_conn_error(*ret_s));
	*ret_sfd = sfd;
}

static const char *mode_name(enum ktls_offload offload)
{
	return offload == KTLS_OFFLOAD_OFF ? "GnuTLS records" : "kernel TLS";
}

/* ---- 1 and 2: the peer has gone ------------------------------------------------ */

/* Send until the failure (a write may still be taken before the reset is seen). */
static ssize_t send_until_failure(struct ktls_conn *conn, bool use_sendfile, int file)
{
	static const char chunk[4096];
	ssize_t n = 0;

	for (int i = 0; i < 200; i++) {
		off_t off = 0;

		n = use_sendfile ? ktls_conn_sendfile(conn, file, &off, FILE_SIZE)
				 : ktls_conn_send(conn, chunk, sizeof(chunk));
		if (n < 0 && n != -EAGAIN)
			return n;
		sleep_ms(5);
	}
	return n;
}

static void test_peer_gone(enum ktls_offload offload, bool use_sendfile)
{
	struct ktls_conn *c, *s;
	struct ktls_info info;
	char label[96];
	int sfd, file;
	ssize_t n;

	pair_make(offload, &c, &s, &sfd);
	ktls_conn_get_info(c, &info);
	if (offload != KTLS_OFFLOAD_OFF && !info.tx.kernel)
		tap_bail("kernel TLS mode without the TX key in the kernel: %s", info.tx.reason);
	ktls_conn_free(s);
	reset_fd(sfd);
	file = open(file_path, O_RDONLY | O_CLOEXEC);
	if (file < 0)
		tap_bail("open %s", file_path);
	n = send_until_failure(c, use_sendfile, file);
	snprintf(label, sizeof(label), "%s after the peer reset, %s",
		 use_sendfile ? "ktls_conn_sendfile" : "ktls_conn_send", mode_name(offload));
	tap_check_err(label, n, EPIPE, ktls_conn_error(c), use_sendfile ? "sendfile: " : "send: ",
		      "the peer has closed the connection", NULL);

	/* 2. Another call's failure gets its sentence, and the send's comes back with it. */
	tap_check_err("set_server_name after the handshake",
		      ktls_conn_set_server_name(c, "example.org"), EINVAL, ktls_conn_error(c),
		      "before the handshake", NULL);
	n = send_until_failure(c, use_sendfile, file);
	tap_check_err("the next send: its own sentence again", n, EPIPE, ktls_conn_error(c),
		      "the peer has closed the connection", NULL);
	close(file);
	ktls_conn_free(c);
}

/* ---- the ring ----------------------------------------------------------------- */

static bool ring_pair(struct ktls_ring *ring, enum ktls_offload offload, struct ktls_conn **ret_c,
		      struct ktls_conn **ret_s, int *ret_sfd)
{
	struct ktls_config *cc = client_config(offload), *sc = server_config(offload);
	struct unit_ring_result rc = { 0 }, rs = { 0 };
	int cfd, sfd;

	if (unit_tcp_pair(&cfd, &sfd, true) < 0)
		tap_bail("loopback TCP pair");
	if (ktls_conn_new(cc, cfd, KTLS_CONN_OWN_FD, ret_c) < 0 ||
	    ktls_conn_set_server_name(*ret_c, "localhost") < 0 ||
	    ktls_conn_new(sc, sfd, ret_sfd != NULL ? 0 : KTLS_CONN_OWN_FD, ret_s) < 0 ||
	    ktls_conn_ring_attach(*ret_c, ring) < 0 || ktls_conn_ring_attach(*ret_s, ring) < 0)
		tap_bail("ring conn set-up");
	ktls_config_unref(cc);
	ktls_config_unref(sc);
	if (ret_sfd != NULL)
		*ret_sfd = sfd;
	ktls_conn_ring_handshake(*ret_c, TIMEOUT_MS, unit_ring_done, &rc);
	ktls_conn_ring_handshake(*ret_s, TIMEOUT_MS, unit_ring_done, &rs);
	return unit_ring_wait(ring, &rc, &rs, TIMEOUT_MS) && rc.value == 0 && rs.value == 0;
}

static void test_ring_peer_gone(enum ktls_offload offload, bool use_sendfile)
{
	static unsigned char data[256 * 1024];
	struct ktls_ring *ring;
	struct ktls_conn *c, *s;
	struct unit_ring_result r = { 0 };
	char label[96];
	int sfd, file = -1;

	if (ktls_ring_new(NULL, 0, &ring) < 0) {
		tap_skip("io_uring is not available here");
		return;
	}
	if (!ring_pair(ring, offload, &c, &s, &sfd))
		tap_bail("ring handshake: %s / %s", ktls_conn_error(c), ktls_conn_error(s));
	ktls_conn_free(s);
	reset_fd(sfd);
	if (use_sendfile)
		file = open(file_path, O_RDONLY | O_CLOEXEC);
	/* What the socket still took before it saw the reset succeeds; the next one fails. */
	for (int i = 0; i < 20 && (i == 0 || (r.done && r.value >= 0)); i++) {
		r.done = false;
		if (use_sendfile)
			ktls_conn_ring_sendfile(c, file, 0, FILE_SIZE, TIMEOUT_MS, unit_ring_done, &r);
		else
			ktls_conn_ring_send(c, data, sizeof(data), TIMEOUT_MS, unit_ring_done, &r);
		unit_ring_wait(ring, &r, NULL, TIMEOUT_MS);
	}
	snprintf(label, sizeof(label), "ring %s after the peer reset, %s",
		 use_sendfile ? "sendfile" : "send", mode_name(offload));
	tap_check_err(label, r.done ? r.value : -ETIME, EPIPE, ktls_conn_error(c),
		      "the peer has closed the connection", NULL);
	if (file >= 0)
		close(file);
	ktls_conn_free(c);
	ktls_ring_free(ring);
}

/* ---- 3. the ring freed first ------------------------------------------------------ */

static void test_ring_freed_first(void)
{
	struct ktls_ring *ring;
	struct ktls_conn *c, *s;
	struct unit_ring_result r = { 0 };
	char buf[4];
	int ret;

	if (ktls_ring_new(NULL, 0, &ring) < 0) {
		tap_skip("io_uring is not available here");
		return;
	}
	if (!ring_pair(ring, KTLS_OFFLOAD_AUTO, &c, &s, NULL))
		tap_bail("ring handshake: %s / %s", ktls_conn_error(c), ktls_conn_error(s));
	/* A receive in flight (nothing will come), then the ring goes. */
	ret = ktls_conn_ring_recv(c, 100, 0, unit_ring_done, &r);
	ktls_ring_run(ring, 0);
	tap_check(ret == 0 && ktls_conn_ring_busy(c) == 1, "a receive in flight on the ring");
	ktls_ring_free(ring);
	tap_check(!r.done && ktls_conn_ring_busy(c) == 0,
		  "ktls_ring_free(): attached connections detached, no callback (busy %d)",
		  ktls_conn_ring_busy(c));
	tap_check_err("a ring call after ktls_ring_free()",
		      ktls_conn_ring_recv(c, 100, 0, unit_ring_done, &r), EINVAL, ktls_conn_error(c),
		      "ring was freed", NULL);
	tap_check_err("the blocking calls still refuse it", ktls_conn_recv(c, buf, sizeof(buf)),
		      EINVAL, ktls_conn_error(c), "io_uring", NULL);
	tap_check(ktls_conn_ring_cancel(c) == 0, "nothing to cancel");
	ktls_conn_free(c);
	ktls_conn_free(s);
	tap_check(true, "ktls_conn_free() after ktls_ring_free() (ASan: no use after free)");

	/* Attached, never started. */
	if (ktls_ring_new(NULL, 0, &ring) < 0)
		tap_bail("ring");
	{
		struct ktls_config *cc = client_config(KTLS_OFFLOAD_AUTO);
		int cfd, sfd;

		if (unit_tcp_pair(&cfd, &sfd, true) < 0 ||
		    ktls_conn_new(cc, cfd, KTLS_CONN_OWN_FD, &c) < 0 ||
		    ktls_conn_ring_attach(c, ring) < 0)
			tap_bail("attach");
		ktls_ring_free(ring);
		tap_check_err("handshake on a connection whose ring was freed",
			      ktls_conn_ring_handshake(c, 0, unit_ring_done, &r), EINVAL, ktls_conn_error(c),
			      "ring was freed", NULL);
		ktls_conn_free(c);
		close(sfd);
		ktls_config_unref(cc);
	}
}

/* ---- 4. one unref too many -------------------------------------------------------- */

static char logged[512];

static void capture_log(enum ktls_log_level level, const char *message, void *userdata)
{
	(void)userdata;
	if (level == KTLS_LOG_ERROR && strstr(message, "ktls_config_unref") != NULL)
		snprintf(logged, sizeof(logged), "%s", message);
}

static void test_unref_twice(void)
{
	struct ktls_config *cc = client_config(KTLS_OFFLOAD_AUTO), *sc = server_config(KTLS_OFFLOAD_AUTO);
	struct ktls_conn *c, *s;
	char buf[5] = "";
	int cfd, sfd, rc, rs;

	if (ktls_config_set_log(cc, capture_log, KTLS_LOG_ERROR, NULL) < 0)
		tap_bail("set_log");
	if (unit_tcp_pair(&cfd, &sfd, true) < 0 ||
	    ktls_conn_new(cc, cfd, KTLS_CONN_OWN_FD, &c) < 0 ||
	    ktls_conn_set_server_name(c, "localhost") < 0 ||
	    ktls_conn_new(sc, sfd, KTLS_CONN_OWN_FD, &s) < 0)
		tap_bail("conn set-up");
	ktls_config_unref(cc);
	ktls_config_unref(cc); /* one too many: the connection still holds the config */
	tap_check(strstr(logged, "more often") != NULL,
		  "a second ktls_config_unref() is refused and logged: \"%s\"", logged);
	tap_check(strstr(ktls_config_error(cc), "more often") != NULL,
		  "... and named by ktls_config_error(): \"%s\"", ktls_config_error(cc));
	ktls_config_unref(sc);
	if (unit_handshake_pair(c, s, &rc, &rs, TIMEOUT_MS) == 0 && rc == 0 && rs == 0 &&
	    unit_send_all(c, "ping", 4, TIMEOUT_MS) == 4)
		unit_recv_all(s, buf, 4, TIMEOUT_MS);
	tap_check(rc == 0 && rs == 0 && memcmp(buf, "ping", 4) == 0,
		  "the connection carries on with its config");
	ktls_conn_free(c); /* frees the config: ASan/valgrind see no leak and no use after free */
	ktls_conn_free(s);
}

int main(void)
{
	const char *dir = unit_tmpdir();
	unsigned char *data = malloc(FILE_SIZE);
	enum ktls_offload modes[2] = { KTLS_OFFLOAD_OFF, KTLS_OFFLOAD_REQUIRE };
	int n_modes = 1;

	/* A SIGPIPE from the library must be able to kill this test. */
	signal(SIGPIPE, SIG_DFL);
	if (unit_cert_make(&ca, dir, "ca", UNIT_CERT_CA, "misuse CA", NULL, NULL, false) < 0 ||
	    unit_cert_make(&leaf, dir, "server", UNIT_CERT_SERVER, "localhost", "localhost", &ca,
			   false) < 0)
		tap_bail("cannot make certificates");
	unit_fill(data, FILE_SIZE, 0, 7);
	if (unit_write_file(dir, "file.bin", data, FILE_SIZE, file_path) < 0)
		tap_bail("cannot write the test file");
	free(data);
	ktls_probe(&caps);
	if (caps.ulp_available)
		n_modes = 2;
	else
		tap_diag("no kTLS in this kernel: GnuTLS records only (%s)", caps.summary);

	for (int m = 0; m < n_modes; m++) {
		test_peer_gone(modes[m], false);
		test_peer_gone(modes[m], true);
		test_ring_peer_gone(modes[m], false);
		test_ring_peer_gone(modes[m], true);
	}
	test_ring_freed_first();
	test_unref_twice();
	return tap_done();
}
