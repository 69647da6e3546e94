/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Black-box: gather sends and KTLS_SEND_MORE, through the blocking calls and
 * the ring, with the kernel holding the TX key and through GnuTLS records.
 *
 * Record boundaries are what a reader cannot see, so this counts TCP bytes:
 * every record costs the same overhead on the wire (header, tag, and in
 * TLS 1.3 the content type), measured first with a one-byte record.  Then:
 *   - two sends are two records; a gather send of a header and a body is
 *     one; so is a KTLS_SEND_MORE header followed by a send, or by a
 *     sendfile;
 *   - what KTLS_SEND_MORE holds goes out with ktls_conn_flush(), before a
 *     receive waits, and before close_notify;
 *   - KTLS_SEND_CLOSE: the data's record, then close_notify's; a conn freed
 *     from its callback leaves nothing for a later turn of the ring; a
 *     receive started there still works; a conn freed after it, outside a
 *     run, is closed at once behind its close_notify;
 *   - the bytes arrive identical, and bad arguments are refused.
 *
 * Runs on the build host (GnuTLS records) and, as kernel-sendv, inside
 * user-mode Linux, in both modes there.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <linux/tcp.h> /* tcpi_bytes_received, which glibc's struct lacks */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "unit.h"

#define TIMEOUT_MS 10000

static struct ktls_caps caps;
static char file_path[4096];
static const unsigned char psk[32] = { 9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 9, 8, 7, 6, 5, 4,
				       3, 2, 1, 0, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 9, 8 };

struct pair {
	struct ktls_conn *c, *s;
	int sfd;
	long overhead; /* wire bytes per record beyond its plaintext */
};

static uint64_t wire_received(int fd)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	memset(&ti, 0, sizeof(ti));
	getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len);
	return ti.tcpi_bytes_received;
}

/* Wait until the receiver's TCP counter stops moving, and return it. */
static uint64_t wire_settled(int fd)
{
	struct timespec ts = { 0, 20 * 1000000L };
	uint64_t last = wire_received(fd), now;

	for (int i = 0; i < 100; i++) {
		nanosleep(&ts, NULL);
		now = wire_received(fd);
		if (now == last && i > 1)
			break;
		last = now;
	}
	return last;
}

static void pair_make(struct pair *p, enum ktls_offload offload, int version)
{
	struct ktls_config *cc = NULL, *sc = NULL;
	int cfd, rc, rs;

	memset(p, 0, sizeof(*p));
	if (ktls_config_new(KTLS_ROLE_CLIENT, &cc) < 0 || ktls_config_new(KTLS_ROLE_SERVER, &sc) < 0 ||
	    ktls_config_add_psk(cc, "sendv", psk, sizeof(psk)) < 0 ||
	    ktls_config_add_psk(sc, "sendv", psk, sizeof(psk)) < 0 ||
	    ktls_config_set_versions(cc, version, version) < 0 ||
	    ktls_config_set_offload(cc, KTLS_DIR_BOTH, offload) < 0 ||
	    ktls_config_set_offload(sc, KTLS_DIR_BOTH, offload) < 0 ||
	    ktls_config_set_resumption(sc, 0, 0, 0) < 0)
		tap_bail("configs");
	if (unit_tcp_pair(&cfd, &p->sfd, true) < 0 || ktls_conn_new(cc, cfd, KTLS_CONN_OWN_FD, &p->c) < 0 ||
	    ktls_conn_new(sc, p->sfd, KTLS_CONN_OWN_FD, &p->s) < 0)
		tap_bail("conns: %s / %s", ktls_config_error(cc), ktls_config_error(sc));
	ktls_config_unref(cc);
	ktls_config_unref(sc);
	if (unit_handshake_pair(p->c, p->s, &rc, &rs, TIMEOUT_MS) < 0 || rc != 0 || rs != 0)
		tap_bail("handshake: %s / %s", ktls_conn_error(p->c), ktls_conn_error(p->s));
}

/* Receive exactly @len bytes at the server; they must be @want. */
static bool receive(struct pair *p, const void *want, size_t len)
{
	unsigned char *buf = malloc(len + 1);
	bool ok = unit_recv_all(p->s, buf, len, TIMEOUT_MS) == (ssize_t)len &&
		  memcmp(buf, want, len) == 0;

	free(buf);
	return ok;
}

static const char *mode_name(enum ktls_offload offload)
{
	return offload == KTLS_OFFLOAD_OFF ? "GnuTLS" : "kernel";
}

static void test_blocking(enum ktls_offload offload, int version)
{
	static unsigned char body[3000], file_data[1000];
	const char head[] = "HEADER-0123456789";
	size_t hl = sizeof(head) - 1;
	struct iovec iov[3] = { { (void *)head, hl }, { NULL, 0 }, { body, sizeof(body) } };
	struct pair p;
	char label[96];
	uint64_t w0, w1;
	unsigned char all[sizeof(head) + sizeof(body) + sizeof(file_data)];
	ssize_t n;
	int file;
	off_t off = 0;

	unit_fill(body, sizeof(body), 0, 3);
	memcpy(all, head, hl);
	memcpy(all + hl, body, sizeof(body));
	pair_make(&p, offload, version);
	snprintf(label, sizeof(label), "%s TLS1.%d", mode_name(offload),
		 version == KTLS_VERSION_TLS13 ? 3 : 2);

	/* One byte, one record: the per-record overhead. */
	w0 = wire_settled(p.sfd);
	n = ktls_conn_send(p.c, "x", 1);
	w1 = wire_settled(p.sfd);
	p.overhead = (long)(w1 - w0) - 1;
	tap_check(n == 1 && receive(&p, "x", 1) && p.overhead > 0 && p.overhead < 64,
		  "%s: one byte costs %ld bytes of record overhead", label, p.overhead);

	/* Two sends: two records. */
	w0 = wire_settled(p.sfd);
	ktls_conn_send(p.c, head, hl);
	ktls_conn_send(p.c, body, sizeof(body));
	w1 = wire_settled(p.sfd);
	tap_check(w1 - w0 == hl + sizeof(body) + 2 * (uint64_t)p.overhead && receive(&p, all, hl + sizeof(body)),
		  "%s: a header and a body sent apart are two records (%llu wire bytes)", label,
		  (unsigned long long)(w1 - w0));

	/* One gather send: one record. */
	w0 = wire_settled(p.sfd);
	n = ktls_conn_sendv(p.c, iov, 3, 0);
	w1 = wire_settled(p.sfd);
	tap_check(n == (ssize_t)(hl + sizeof(body)) &&
			  w1 - w0 == hl + sizeof(body) + (uint64_t)p.overhead &&
			  receive(&p, all, hl + sizeof(body)),
		  "%s: ktls_conn_sendv of header, empty buffer and body: %zd bytes, one record", label,
		  n);

	/* KTLS_SEND_MORE, then a send: one record. */
	w0 = wire_settled(p.sfd);
	n = ktls_conn_sendv(p.c, iov, 1, KTLS_SEND_MORE);
	tap_check(n == (ssize_t)hl && wire_settled(p.sfd) == w0,
		  "%s: KTLS_SEND_MORE holds the header back (%zd accepted, nothing sent)", label, n);
	ktls_conn_send(p.c, body, sizeof(body));
	w1 = wire_settled(p.sfd);
	tap_check(w1 - w0 == hl + sizeof(body) + (uint64_t)p.overhead &&
			  receive(&p, all, hl + sizeof(body)),
		  "%s: ... and the next send shares its record", label);

	/* KTLS_SEND_MORE, then sendfile. */
	file = open(file_path, O_RDONLY | O_CLOEXEC);
	if (pread(file, file_data, sizeof(file_data), 0) != (ssize_t)sizeof(file_data))
		tap_bail("reading %s", file_path);
	memcpy(all + hl, file_data, sizeof(file_data));
	w0 = wire_settled(p.sfd);
	ktls_conn_sendv(p.c, iov, 1, KTLS_SEND_MORE);
	n = ktls_conn_sendfile(p.c, file, &off, sizeof(file_data));
	w1 = wire_settled(p.sfd);
	tap_check(n == (ssize_t)sizeof(file_data) &&
			  w1 - w0 == hl + sizeof(file_data) + (uint64_t)p.overhead &&
			  receive(&p, all, hl + sizeof(file_data)),
		  "%s: a KTLS_SEND_MORE header and a sendfile share one record", label);
	close(file);

	/* What is held goes with ktls_conn_flush(). */
	ktls_conn_sendv(p.c, iov, 1, KTLS_SEND_MORE);
	tap_check(ktls_conn_flush(p.c) == 0 && receive(&p, head, hl),
		  "%s: ktls_conn_flush() sends what KTLS_SEND_MORE held", label);

	/* A held record that is exactly full goes out with the flush too, at once. */
	{
		static unsigned char full[16384];
		struct iovec f = { full, sizeof(full) };

		unit_fill(full, sizeof(full), 0, 5);
		w0 = wire_settled(p.sfd);
		n = ktls_conn_sendv(p.c, &f, 1, KTLS_SEND_MORE);
		tap_check(n == (ssize_t)sizeof(full) && ktls_conn_flush(p.c) == 0,
			  "%s: KTLS_SEND_MORE of a full record, then ktls_conn_flush()", label);
		w1 = wire_settled(p.sfd);
		tap_check(w1 - w0 == sizeof(full) + (uint64_t)p.overhead &&
				  receive(&p, full, sizeof(full)),
			  "%s: ... is on the wire once it settles (%llu bytes)", label,
			  (unsigned long long)(w1 - w0));
	}

	/* ... and before a receive waits for the answer to it. */
	{
		char reply[6] = "";

		ktls_conn_sendv(p.c, iov, 1, KTLS_SEND_MORE);
		n = ktls_conn_recv(p.c, reply, sizeof(reply));
		tap_check(n == -EAGAIN && receive(&p, head, hl) &&
				  ktls_conn_send(p.s, "answer", 6) == 6 &&
				  unit_recv_all(p.c, reply, 6, TIMEOUT_MS) == 6 &&
				  memcmp(reply, "answer", 6) == 0,
			  "%s: a receive sends the held request first, and gets the answer", label);
	}

	/* ... and before close_notify. */
	{
		char end[4];

		ktls_conn_sendv(p.c, iov, 1, KTLS_SEND_MORE);
		n = ktls_conn_shutdown(p.c);
		tap_check(n == 0 && receive(&p, head, hl) &&
				  unit_recv_all(p.s, end, sizeof(end), TIMEOUT_MS) == 0,
			  "%s: ktls_conn_shutdown() sends the held bytes, then close_notify", label);
	}

	ktls_conn_free(p.c);
	ktls_conn_free(p.s);
}

static void test_errors(void)
{
	struct iovec bad = { NULL, 5 };
	struct pair p;

	pair_make(&p, KTLS_OFFLOAD_AUTO, KTLS_VERSION_TLS13);
	tap_check_err("sendv with flag 0x80", ktls_conn_sendv(p.c, NULL, 0, 0x80), EINVAL,
		      ktls_conn_error(p.c), "unknown flags", NULL);
	tap_check_err("sendv with KTLS_SEND_CLOSE", ktls_conn_sendv(p.c, NULL, 0, KTLS_SEND_CLOSE),
		      EINVAL, ktls_conn_error(p.c), "ktls_conn_ring_sendv", NULL);
	tap_check_err("sendv with -1 buffers", ktls_conn_sendv(p.c, NULL, -1, 0), EINVAL,
		      ktls_conn_error(p.c), "bad buffers", NULL);
	tap_check_err("sendv of a NULL buffer", ktls_conn_sendv(p.c, &bad, 1, 0), EINVAL,
		      ktls_conn_error(p.c), "bad buffers", NULL);
	tap_check(ktls_conn_sendv(p.c, NULL, 0, 0) == 0, "sendv of nothing: 0");
	ktls_conn_free(p.c);
	ktls_conn_free(p.s);
}

/* ---- the ring ----------------------------------------------------------------- */

/* The client on @ring (attached before its handshake), the server through the blocking calls. */
static void ring_pair_make(struct pair *p, struct ktls_ring *ring, enum ktls_offload offload)
{
	struct ktls_config *cc = NULL, *sc = NULL;
	struct unit_ring_result rc = { 0 };
	int cfd, rs = -EAGAIN;

	memset(p, 0, sizeof(*p));
	if (ktls_config_new(KTLS_ROLE_CLIENT, &cc) < 0 ||
	    ktls_config_new(KTLS_ROLE_SERVER, &sc) < 0 ||
	    ktls_config_add_psk(cc, "sendv", psk, sizeof(psk)) < 0 ||
	    ktls_config_add_psk(sc, "sendv", psk, sizeof(psk)) < 0 ||
	    ktls_config_set_offload(cc, KTLS_DIR_BOTH, offload) < 0 ||
	    ktls_config_set_offload(sc, KTLS_DIR_BOTH, offload) < 0 ||
	    unit_tcp_pair(&cfd, &p->sfd, true) < 0 ||
	    ktls_conn_new(cc, cfd, KTLS_CONN_OWN_FD, &p->c) < 0 ||
	    ktls_conn_new(sc, p->sfd, KTLS_CONN_OWN_FD, &p->s) < 0 ||
	    ktls_conn_ring_attach(p->c, ring) < 0)
		tap_bail("ring pair");
	ktls_config_unref(cc);
	ktls_config_unref(sc);
	ktls_conn_ring_handshake(p->c, TIMEOUT_MS, unit_ring_done, &rc);
	for (int i = 0; i < 1000 && (!rc.done || rs == -EAGAIN); i++) {
		if (rs == -EAGAIN)
			rs = ktls_conn_handshake(p->s);
		ktls_ring_run(ring, 5);
	}
	if (!rc.done || rc.value != 0 || rs != 0)
		tap_bail("ring handshake: %s / %s", ktls_conn_error(p->c), ktls_conn_error(p->s));
}

/* What follows a KTLS_SEND_CLOSE send, from its callback or after it. */
enum close_mode {
	CLOSE_FREE_IN_CALLBACK,
	CLOSE_RECV_AFTER, /* a receive from the callback */
	CLOSE_FREE_AFTER, /* ktls_conn_free() outside a run, close_notify still queued */
};

struct close_ctx {
	struct unit_ring_result r, rr;
	enum close_mode mode;
	int recv_ret, send_ret;
};

static void on_send_close(struct ktls_conn *conn, ssize_t value, const void *data, void *userdata)
{
	struct close_ctx *x = userdata;

	unit_ring_done(conn, value, data, &x->r);
	if (x->mode == CLOSE_FREE_IN_CALLBACK)
		ktls_conn_free(conn);
	if (x->mode != CLOSE_RECV_AFTER)
		return;
	x->send_ret = ktls_conn_ring_send(conn, "x", 1, TIMEOUT_MS, unit_ring_done, &x->rr);
	x->recv_ret = ktls_conn_ring_recv(conn, 100, TIMEOUT_MS, unit_ring_done, &x->rr);
}

/*
 * KTLS_SEND_CLOSE: the data, then close_notify, in one operation.  With
 * kernel RX the client's readiness poll is armed first (a receive that
 * waited), and the receive before the close timed out, so that the poll is
 * still armed and no record is thought to be waiting.
 */
static void test_ring_close(struct ktls_ring *ring, enum ktls_offload offload, long overhead,
			    enum close_mode mode)
{
	static unsigned char body[3000];
	const char head[] = "CLOSE-HEADER";
	size_t hl = sizeof(head) - 1, n = hl + sizeof(body);
	struct iovec iov[2] = { { (void *)head, hl }, { body, sizeof(body) } };
	unsigned char all[sizeof(head) + sizeof(body)];
	struct unit_ring_result r = { 0 };
	struct close_ctx x = { .mode = mode };
	bool recv_after = mode == CLOSE_RECV_AFTER;
	const char *label = mode_name(offload);
	uint64_t w0, w1;
	struct pair q;
	char end[4];
	int ran;

	unit_fill(body, sizeof(body), 0, 8);
	memcpy(all, head, hl);
	memcpy(all + hl, body, sizeof(body));
	ring_pair_make(&q, ring, offload);
	ktls_conn_ring_recv(q.c, 100, TIMEOUT_MS, unit_ring_done, &r);
	ktls_ring_run(ring, 0);
	ktls_conn_send(q.s, "ping", 4);
	unit_ring_wait(ring, &r, NULL, TIMEOUT_MS);
	memset(&r, 0, sizeof(r));
	ktls_conn_ring_recv(q.c, 100, 50, unit_ring_done, &r);
	unit_ring_wait(ring, &r, NULL, TIMEOUT_MS);
	if (r.value != -ETIMEDOUT)
		tap_bail("ring close set-up: %zd", r.value);

	tap_check_err("ring sendv with KTLS_SEND_MORE and KTLS_SEND_CLOSE",
		      ktls_conn_ring_sendv(q.c, iov, 2, KTLS_SEND_MORE | KTLS_SEND_CLOSE, TIMEOUT_MS,
					   unit_ring_done, &r),
		      EINVAL, ktls_conn_error(q.c), "together", NULL);
	w0 = wire_settled(q.sfd);
	ktls_conn_ring_sendv(q.c, iov, 2, KTLS_SEND_CLOSE, TIMEOUT_MS, on_send_close, &x);
	unit_ring_wait(ring, &x.r, NULL, TIMEOUT_MS);
	if (mode == CLOSE_FREE_AFTER) {
		/*
		 * Freed outside a run with close_notify still queued (kernel
		 * TX): the ring submits it first, then the fd is closed at once;
		 * the peer's checks below see the alert before the end.
		 */
		int fd = ktls_conn_fd(q.c);

		ktls_conn_free(q.c);
		tap_check(fcntl(fd, F_GETFD) == -1 && errno == EBADF,
			  "%s: freed outside a run, its descriptor is closed at once", label);
		ran = ktls_ring_run(ring, 0);
	} else {
		/*
		 * The callback may come before close_notify was submitted (with
		 * kernel TX it goes detached, in the next run's submission): an
		 * event loop runs the ring again, and so does this.
		 */
		ran = ktls_ring_run(ring, 0);
	}
	w1 = wire_settled(q.sfd);
	tap_check(x.r.value == (ssize_t)n && receive(&q, all, n) &&
			  unit_recv_all(q.s, end, sizeof(end), TIMEOUT_MS) == 0,
		  "%s: ring sendv with KTLS_SEND_CLOSE: the data, then close_notify (%zd%s%s)",
		  label, x.r.value, x.r.value < 0 ? ": " : "",
		  x.r.value < 0 && recv_after ? ktls_conn_error(q.c) : "");
	/* A freed conn closed its socket: TCP counts its FIN as a byte. */
	tap_check(w1 - w0 == n + 2 + 2 * (uint64_t)overhead + (recv_after ? 0 : 1),
		  "%s: ... two records: the data's and the alert's (%llu wire bytes)", label,
		  (unsigned long long)(w1 - w0));
	if (!recv_after) {
		tap_check(ran == 0,
			  "%s: the conn freed %s leaves no completion for a later turn (%d)", label,
			  mode == CLOSE_FREE_AFTER ? "after" : "from the callback", ran);
		ktls_conn_free(q.s);
		return;
	}
	tap_check(x.send_ret == -EPIPE, "%s: a send after it: EPIPE (%d)", label, x.send_ret);
	tap_check(x.recv_ret == 0, "%s: a receive started from its callback (%d)", label,
		  x.recv_ret);
	ktls_conn_send(q.s, "late", 4);
	ktls_conn_shutdown(q.s);
	unit_ring_wait(ring, &x.rr, NULL, TIMEOUT_MS);
	tap_check(x.rr.value == 4, "%s: ... gets what the peer sends after it (%zd)", label,
		  x.rr.value);
	memset(&x.rr, 0, sizeof(x.rr));
	ktls_conn_ring_recv(q.c, 100, TIMEOUT_MS, unit_ring_done, &x.rr);
	unit_ring_wait(ring, &x.rr, NULL, TIMEOUT_MS);
	tap_check(x.rr.value == 0, "%s: ... and then the peer's close_notify (%zd)", label,
		  x.rr.value);
	ktls_conn_free(q.c);
	ktls_conn_free(q.s);
}

static void test_ring(enum ktls_offload offload)
{
	static unsigned char body[5000];
	const char head[] = "RING-HEADER";
	size_t hl = sizeof(head) - 1;
	struct iovec iov[2] = { { (void *)head, hl }, { body, sizeof(body) } };
	unsigned char all[sizeof(head) + sizeof(body)];
	struct ktls_ring *ring;
	struct unit_ring_result r = { 0 };
	struct pair p;
	char label[64];
	uint64_t w0, w1;

	if (ktls_ring_new(NULL, 0, &ring) < 0) {
		tap_skip("io_uring is not available here");
		return;
	}
	unit_fill(body, sizeof(body), 0, 5);
	memcpy(all, head, hl);
	memcpy(all + hl, body, sizeof(body));
	ring_pair_make(&p, ring, offload);
	snprintf(label, sizeof(label), "ring, %s", mode_name(offload));

	/* Overhead: one byte. */
	w0 = wire_settled(p.sfd);
	ktls_conn_ring_send(p.c, "y", 1, TIMEOUT_MS, unit_ring_done, &r);
	unit_ring_wait(ring, &r, NULL, TIMEOUT_MS);
	w1 = wire_settled(p.sfd);
	p.overhead = (long)(w1 - w0) - 1;
	tap_check(r.value == 1 && receive(&p, "y", 1), "%s: one byte, %ld bytes of overhead", label,
		  p.overhead);

	memset(&r, 0, sizeof(r));
	w0 = wire_settled(p.sfd);
	ktls_conn_ring_sendv(p.c, iov, 2, 0, TIMEOUT_MS, unit_ring_done, &r);
	unit_ring_wait(ring, &r, NULL, TIMEOUT_MS);
	w1 = wire_settled(p.sfd);
	tap_check(r.value == (ssize_t)(hl + sizeof(body)) &&
			  w1 - w0 == hl + sizeof(body) + (uint64_t)p.overhead &&
			  receive(&p, all, hl + sizeof(body)),
		  "%s: ktls_conn_ring_sendv of header and body: one record (%llu wire bytes)", label,
		  (unsigned long long)(w1 - w0));

	memset(&r, 0, sizeof(r));
	w0 = wire_settled(p.sfd);
	ktls_conn_ring_sendv(p.c, iov, 1, KTLS_SEND_MORE, TIMEOUT_MS, unit_ring_done, &r);
	unit_ring_wait(ring, &r, NULL, TIMEOUT_MS);
	tap_check(r.value == (ssize_t)hl && wire_settled(p.sfd) == w0,
		  "%s: KTLS_SEND_MORE holds the header back", label);
	memset(&r, 0, sizeof(r));
	ktls_conn_ring_send(p.c, body, sizeof(body), TIMEOUT_MS, unit_ring_done, &r);
	unit_ring_wait(ring, &r, NULL, TIMEOUT_MS);
	w1 = wire_settled(p.sfd);
	tap_check(r.value == (ssize_t)sizeof(body) &&
			  w1 - w0 == hl + sizeof(body) + (uint64_t)p.overhead &&
			  receive(&p, all, hl + sizeof(body)),
		  "%s: ... and the next ring send shares its record", label);

	memset(&r, 0, sizeof(r));
	ktls_conn_ring_sendv(p.c, iov, 1, KTLS_SEND_MORE, TIMEOUT_MS, unit_ring_done, &r);
	unit_ring_wait(ring, &r, NULL, TIMEOUT_MS);
	memset(&r, 0, sizeof(r));
	ktls_conn_ring_sendv(p.c, NULL, 0, 0, TIMEOUT_MS, unit_ring_done, &r);
	unit_ring_wait(ring, &r, NULL, TIMEOUT_MS);
	tap_check(r.value == 0 && receive(&p, head, hl),
		  "%s: an empty ring sendv sends what was held", label);

	/* ... also a held record that is exactly full, at once. */
	{
		static unsigned char full[16384];
		struct iovec f = { full, sizeof(full) };

		unit_fill(full, sizeof(full), 0, 6);
		w0 = wire_settled(p.sfd);
		memset(&r, 0, sizeof(r));
		ktls_conn_ring_sendv(p.c, &f, 1, KTLS_SEND_MORE, TIMEOUT_MS, unit_ring_done, &r);
		unit_ring_wait(ring, &r, NULL, TIMEOUT_MS);
		memset(&r, 0, sizeof(r));
		ktls_conn_ring_sendv(p.c, NULL, 0, 0, TIMEOUT_MS, unit_ring_done, &r);
		unit_ring_wait(ring, &r, NULL, TIMEOUT_MS);
		w1 = wire_settled(p.sfd);
		tap_check(r.value == 0 && w1 - w0 == sizeof(full) + (uint64_t)p.overhead &&
				  receive(&p, full, sizeof(full)),
			  "%s: a full held record is on the wire after the empty sendv (%llu bytes)",
			  label, (unsigned long long)(w1 - w0));
	}

	memset(&r, 0, sizeof(r));
	ktls_conn_ring_sendv(p.c, iov, 1, KTLS_SEND_MORE, TIMEOUT_MS, unit_ring_done, &r);
	unit_ring_wait(ring, &r, NULL, TIMEOUT_MS);
	memset(&r, 0, sizeof(r));
	ktls_conn_ring_shutdown(p.c, TIMEOUT_MS, unit_ring_done, &r);
	unit_ring_wait(ring, &r, NULL, TIMEOUT_MS);
	{
		char end[4];

		tap_check(r.value == 0 && receive(&p, head, hl) &&
				  unit_recv_all(p.s, end, sizeof(end), TIMEOUT_MS) == 0,
			  "%s: ring shutdown sends the held bytes, then close_notify", label);
	}
	ktls_conn_free(p.c);
	ktls_conn_free(p.s);
	test_ring_close(ring, offload, p.overhead, CLOSE_FREE_IN_CALLBACK);
	test_ring_close(ring, offload, p.overhead, CLOSE_RECV_AFTER);
	test_ring_close(ring, offload, p.overhead, CLOSE_FREE_AFTER);
	ktls_ring_free(ring);
}

int main(void)
{
	const char *dir = unit_tmpdir();
	unsigned char data[4096];
	enum ktls_offload modes[2] = { KTLS_OFFLOAD_OFF, KTLS_OFFLOAD_REQUIRE };
	int n_modes;

	unit_fill(data, sizeof(data), 0, 9);
	if (unit_write_file(dir, "file.bin", data, sizeof(data), file_path) < 0)
		tap_bail("cannot write the test file");
	ktls_caps_get(&caps);
	n_modes = caps.ulp_available ? 2 : 1;
	for (int m = 0; m < n_modes; m++) {
		test_blocking(modes[m], KTLS_VERSION_TLS13);
		test_blocking(modes[m], KTLS_VERSION_TLS12);
		test_ring(modes[m]);
	}
	test_errors();
	return tap_done();
}
