/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Receiving on the engine.  With RX in the kernel: RECVMSG with the
 * record-type control message, each record handed to proto.c.  A kTLS
 * socket is not waited on with a plain poll, which reports readable as soon
 * as the first bytes of a record are in and would be asked again and again
 * until the rest comes: a RECVMSG that must not wait (MSG_DONTWAIT) is tried
 * while a record may be there, and otherwise the connection's multishot
 * POLLIN (edge-triggered; kTLS wakes it only for a whole record, an error or
 * the end) says when to try again.  An idle connection holds no buffer.
 * With RX in GnuTLS: RECV into memory, GnuTLS decrypts, proto.c judges.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>

#include "ring.h"

/* Hand data to the callback (or, for the engine's own receive, keep it). */
static void ring_rx_deliver(struct ring_op *op, unsigned char *data, size_t len)
{
	struct ktls_ring *ring = op->rc->ring;
	struct ktls_conn *conn = op->rc->conn;
	unsigned char *rbuf = op->rbuf;
	size_t n;

	if (op->internal) {
		if (rxbuf_append(conn, data, len) < 0)
			proto_local_failure(conn, error_conn(conn, -ENOMEM, "out of memory"));
		explicit_bzero(data, len);
		ring_finish(op, 0, NULL, 0);
		return;
	}
	n = len < op->max ? len : op->max;
	/* The rest of a record waits in rxbuf for the next receive. */
	if (n < len && rxbuf_append(conn, data + n, len - n) < 0) {
		explicit_bzero(data, len);
		ring_finish(op, error_conn(conn, -ENOMEM, "out of memory"), NULL, 0);
		return;
	}
	if (data == rbuf) {
		/* It outlives the callback, which may free the conn (and the op). */
		op->rbuf = NULL;
		ring_finish(op, (ssize_t)n, rbuf, n);
		ring_rbuf_put(ring, rbuf, len);
	} else {
		ring_finish(op, (ssize_t)n, data, n);
		explicit_bzero(data, len);
	}
}

static void ring_rx_deliver_held(struct ring_op *op)
{
	struct ktls_ring *ring = op->rc->ring;
	struct ktls_conn *conn = op->rc->conn;
	size_t n = rxbuf_take(conn, ring->deliver, op->max);

	rxbuf_trim(conn);
	ring_finish(op, (ssize_t)n, ring->deliver, n);
	explicit_bzero(ring->deliver, n);
}

/* The stream is over (close_notify, or a failure): what proto.c queued goes first. */
static void ring_rx_end(struct ring_op *op)
{
	struct ktls_conn *conn = op->rc->conn;
	int ret;

	/* The engine's own receive leaves the end for the application to reach. */
	if (op->internal) {
		ring_finish(op, 0, NULL, 0);
		return;
	}
	ret = proto_rx_end(conn);
	/* A send in progress sends the alert itself, in its order. */
	if (!op->rc->tx.active && ring_submit_control(op) > 0)
		return;
	ring_finish(op, ret, NULL, 0);
}

static void ring_rx_submit_recvmsg(struct ring_op *op)
{
	struct io_uring_sqe *sqe;

	if (op->rbuf == NULL && (op->rbuf = ring_rbuf_get(op->rc->ring)) == NULL) {
		ring_fail(op, -ENOMEM, "recv");
		return;
	}
	kernel_msg_in(&op->kmsg, op->rbuf, RECORD_MAX_PLAINTEXT);
	sqe = ring_sqe(op->rc->ring);
	if (sqe == NULL) {
		ring_fail(op, -EBUSY, "recv");
		return;
	}
	/* Never waits in the kernel: an empty socket answers EAGAIN at once. */
	io_uring_prep_recvmsg(sqe, op->rc->conn->fd, &op->kmsg.msg, MSG_DONTWAIT);
	op->stage = ST_RECVMSG;
	ring_arm(op, sqe, false);
}

/* GnuTLS decrypts what mem.in holds; more is read when it needs more. */
static void ring_rx_gnutls(struct ring_op *op)
{
	struct ktls_conn *conn = op->rc->conn;
	struct transport_mem *mem = &op->rc->mem;
	unsigned char *out = op->rc->ring->deliver;
	size_t max = op->internal || op->max > RECORD_MAX_PLAINTEXT ? RECORD_MAX_PLAINTEXT : op->max;

	for (;;) {
		ssize_t n;

		transport_clear_would_block(conn);
		n = gnutls_record_recv(conn->session, out, max);
		switch (proto_rx_gnutls(conn, n)) {
		case PROTO_DATA:
			ring_rx_deliver(op, out, (size_t)n);
			return;
		case PROTO_NEXT:
			continue;
		case PROTO_WAIT:
			/* An idle connection waits with a poll, holding no buffer. */
			if (mem->in_len == 0 && op->stage != ST_POLL)
				ring_check(op, ring_submit_poll(op, POLLIN));
			else
				ring_check(op, ring_submit_recv(op, 0));
			return;
		default:
			ring_rx_end(op);
			return;
		}
	}
}

static void ring_rx_advance(struct ring_op *op)
{
	struct ring_conn *rc = op->rc;
	struct ktls_conn *conn = rc->conn;
	bool ended = proto_rx_ended(conn);
	int ret;

	if (op->starting) {
		/* A result at hand is delivered later (ring_submit_nop), never from the starting call. */
		if (rxbuf_held(conn) > 0 || ended ||
		    (!conn->sw.rx.kernel &&
		     (rc->mem.in_len > 0 || gnutls_record_check_pending(conn->session) > 0))) {
			ring_check(op, ring_submit_nop(op));
			return;
		}
	}
	if (rxbuf_held(conn) > 0) {
		if (op->internal)
			ring_finish(op, 0, NULL, 0); /* kept for the application's receive */
		else
			ring_rx_deliver_held(op);
		return;
	}
	if (ended) {
		ring_rx_end(op);
		return;
	}
	if (!conn->sw.rx.kernel) {
		ring_rx_gnutls(op);
		return;
	}
	if (rc->rx_maybe_ready) {
		ring_rx_submit_recvmsg(op);
		return;
	}
	/* The engine's own receive watches only while a send runs. */
	if (op->internal && !rc->tx.active) {
		ring_finish(op, 0, NULL, 0);
		return;
	}
	ring_rbuf_put(rc->ring, op->rbuf, 0);
	op->rbuf = NULL;
	ret = ring_wait_ready(op);
	if (ret < 0)
		ring_fail(op, ret, "recv");
}

static void ring_rx_complete(struct ring_op *op, int res, unsigned int flags)
{
	struct ktls_conn *conn = op->rc->conn;
	enum proto_verdict v;
	unsigned char type;
	int err;

	(void)flags;
	if (res == -EAGAIN) {
		/* Nothing whole yet: wait for the readiness poll. */
		op->rc->rx_maybe_ready = false;
		ring_rx_advance(op);
		return;
	}
	if (res < 0) {
		kernel_take_error(conn->fd);
		v = proto_rx_kernel_error(conn, -res);
	} else if (!kernel_msg_record(&op->kmsg, res, &type)) {
		v = proto_rx_fin(conn, kernel_rx_pending(conn->fd));
	} else {
		v = proto_rx_record(conn, type, op->rbuf, (size_t)res);
	}
	if (v == PROTO_DATA) {
		/* A bad record behind this data ends the stream after it (kernel_take_error). */
		err = kernel_take_error(conn->fd);
		if (err != 0)
			proto_rx_kernel_error(conn, err);
		ring_rx_deliver(op, op->rbuf, (size_t)res);
		return;
	}
	ring_rx_advance(op);
}

static const struct ring_op_ops ring_rx_ops = {
	.name = "recv",
	.advance = ring_rx_advance,
	.complete = ring_rx_complete,
};

void ring_rx_watch(struct ring_conn *rc)
{
	struct ktls_conn *conn = rc->conn;
	struct ring_op *op = &rc->rx;

	if (!conn->sw.rx.kernel || conn->sw.version != KTLS_VERSION_TLS13 || op->active ||
	    op->in_flight || rxbuf_held(conn) > 0 || proto_rx_ended(conn))
		return;
	ring_stop_timer(op);
	memset(&op->ops, 0, sizeof(*op) - offsetof(struct ring_op, ops));
	op->ops = &ring_rx_ops;
	op->pipe[0] = op->pipe[1] = -1;
	op->type = RING_OP_RECV;
	op->active = true;
	op->internal = true;
	ring_op_kick(op);
}

KTLS_EXPORT int ktls_conn_ring_recv(struct ktls_conn *conn, size_t max, unsigned int timeout_ms,
				    ktls_ring_cb cb, void *userdata)
{
	struct ring_op *op;
	int ret;

	if (conn != NULL && max == 0)
		return error_conn(conn, -EINVAL, "recv: max is 0");
	ret = ring_op_start(conn, &op, true, RING_OP_RECV, &ring_rx_ops, timeout_ms, cb, userdata);
	if (ret < 0)
		return ret;
	op->max = max < RECORD_MAX_PLAINTEXT ? max : RECORD_MAX_PLAINTEXT;
	if (ret == 1) {
		/* The engine's own receive became this one: it waits with this deadline now. */
		if (op->stage == ST_WAIT) {
			ret = ring_wait_ready(op);
			if (ret < 0) {
				op->starting = true;
				ring_fail(op, ret, "recv");
				op->starting = false;
			}
		}
		return 0;
	}
	ring_op_kick(op);
	return 0;
}
