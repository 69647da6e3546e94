/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Helpers for the unit tests: TAP output, certificates made at run time,
 * socket pairs, and a one-thread driver for two non-blocking handshakes.
 * Only public libktls API is used here, so black-box tests can link it.
 */
#ifndef KTLS_UNIT_H
#define KTLS_UNIT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include <ktls.h>

/* Exit statuses of a test that does not speak TAP (as automake and meson read them). */
#define UNIT_PASS 0
#define UNIT_FAIL 1
#define UNIT_SKIP 77

/* ---- TAP ------------------------------------------------------------------ */

/* One test point: "ok N - ..." or "not ok N - ...".  Returns @ok. */
bool tap_check(bool ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/*
 * Mark the next test point as a known library bug (TAP "# TODO"): it is
 * reported as an expected failure while it fails, and fails the test once it
 * passes, so that the marker is removed together with the bug.
 */
void tap_todo_next(const char *bug);
/* A test point skipped for @why. */
void tap_skip(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "# ..." lines, shown by meson with --print-errorlogs / in the log. */
void tap_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Print the plan; return the exit status (0 when every point passed). */
int tap_done(void);
/* The whole file does not apply here: "1..0 # SKIP why", exit 0. */
__attribute__((noreturn)) void tap_skip_all(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
/* Stop now: the remaining points cannot run (a set-up step failed). */
__attribute__((noreturn)) void tap_bail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * One test point for a call that must fail: @got must be -@want_errno and
 * @text must contain every one of the NULL-terminated needles.
 */
bool tap_check_err(const char *what, long got, int want_errno, const char *text, ...)
	__attribute__((sentinel));

/* "EACCES" for 13, "0" for 0; for diagnostics. */
const char *unit_errno_name(int err);

/* ---- files ---------------------------------------------------------------- */

/* A fresh directory under $TMPDIR (or /tmp), removed with its files at exit. */
const char *unit_tmpdir(void);
/* Write @len bytes to @dir/@name; the path goes to @ret_path (PATH_MAX). */
int unit_write_file(const char *dir, const char *name, const void *data, size_t len,
		    char *ret_path);

/* ---- certificates --------------------------------------------------------- */

enum unit_cert_kind {
	UNIT_CERT_CA,
	UNIT_CERT_SERVER,
	UNIT_CERT_CLIENT,
};

/*
 * An ECDSA P-256 certificate and key, written as PEM to
 * @dir/@name.pem and @dir/@name-key.pem.
 */
struct unit_cert {
	gnutls_x509_crt_t crt;
	gnutls_x509_privkey_t key;
	char cert_path[4096];
	char key_path[4096];
	char dn[256]; /* as gnutls_x509_crt_get_dn3() prints it */
};

/*
 * @issuer: the CA that signs it; NULL for a self-signed one.
 * @dns_name: subjectAltName (and CN) for a server; may be NULL otherwise.
 * @expired: valid from two days ago until yesterday.
 * Returns 0 or a negative errno; the GnuTLS reason is printed as a TAP diag.
 */
int unit_cert_make(struct unit_cert *ret_cert, const char *dir, const char *name,
		   enum unit_cert_kind kind, const char *common_name, const char *dns_name,
		   const struct unit_cert *issuer, bool expired);
void unit_cert_free(struct unit_cert *cert);

/* ---- sockets -------------------------------------------------------------- */

/* A connected TCP pair on 127.0.0.1; @nonblock sets O_NONBLOCK on both. */
int unit_tcp_pair(int *ret_client, int *ret_server, bool nonblock);
/* A listening socket on 127.0.0.1, any port: the fd or a negative errno. */
int unit_tcp_listen(void);
/* A pair through @listener: every pair on one port (a client's session store needs that). */
int unit_tcp_pair_on(int listener, int *ret_client, int *ret_server, bool nonblock);
int unit_set_nonblock(int fd, bool on);

/* ---- handshakes ----------------------------------------------------------- */

/*
 * Drive the handshakes of two connections on non-blocking sockets from one
 * thread, in turn, until neither returns -EAGAIN.  @ret_a/@ret_b get each
 * side's final result.  Returns 0, or -ETIMEDOUT when both sides waited
 * @timeout_ms for the other (a stuck handshake is a failure, not a hang).
 */
int unit_handshake_pair(struct ktls_conn *a, struct ktls_conn *b, int *ret_a, int *ret_b,
			int timeout_ms);
/* The same for one connection whose peer is not a ktls_conn. */
int unit_handshake_one(struct ktls_conn *conn, int *ret, int timeout_ms);

/* Read exactly @len bytes from a blocking or non-blocking ktls_conn. */
ssize_t unit_recv_all(struct ktls_conn *conn, void *buf, size_t len, int timeout_ms);
/* Send all of @buf. */
ssize_t unit_send_all(struct ktls_conn *conn, const void *buf, size_t len, int timeout_ms);

/* ---- the io_uring engine -------------------------------------------------- */

/* What one ring operation ended with, filled by unit_ring_done(). */
struct unit_ring_result {
	bool done;
	ssize_t value;
};

/* A ktls_ring_cb whose userdata is a struct unit_ring_result. */
void unit_ring_done(struct ktls_conn *conn, ssize_t value, const void *data, void *userdata);
/* Run @ring until @a (and @b, if not NULL) are done, at most @timeout_ms. */
bool unit_ring_wait(struct ktls_ring *ring, struct unit_ring_result *a,
		    struct unit_ring_result *b, int timeout_ms);

/* Deterministic test data: byte @i of stream @seed. */
void unit_fill(unsigned char *buf, size_t len, size_t offset, unsigned int seed);

#endif
