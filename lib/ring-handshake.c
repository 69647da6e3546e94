/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The handshake on the engine: GnuTLS reads memory that ring RECV fills and
 * writes memory that ring SEND drains (transport.c), handshake.c decides
 * everything, and switch.c moves the keys exactly as for the blocking call.
 * The engine's own work is the I/O: GnuTLS's output goes out before the
 * result is reported (its last flight, or the alert that says why it
 * failed), and input read past the peer's last flight is completed to a
 * record boundary so that GnuTLS can decrypt it before the kernel takes RX.
 * A connection whose socket another owner reads after the handshake (the
 * kernel, in ktls agent) reads record by record instead, and nothing more.
 */
#include <errno.h>

#include "ring.h"

/* Bytes still missing from the record that @in ends in; 0 at a record boundary. */
static size_t ring_record_gap(const unsigned char *in, size_t len)
{
	size_t off = 0;

	while (off < len) {
		size_t rec;

		if (len - off < RECORD_HEADER)
			return RECORD_HEADER - (len - off);
		rec = RECORD_HEADER + ((size_t)in[off + 3] << 8 | in[off + 4]);
		if (len - off < rec)
			return rec - (len - off);
		off += rec;
	}
	return 0;
}

/* Exact reads: walk the bytes that came in since the last walk. */
static void ring_exact_walk(struct ring_conn *rc)
{
	const struct transport_mem *mem = &rc->mem;
	const unsigned char *p = mem->in + mem->in_off + rc->exact_seen;
	size_t left = mem->in_len - rc->exact_seen;

	while (left > 0) {
		if (rc->exact_body > 0) {
			size_t take = left < rc->exact_body ? left : rc->exact_body;

			rc->exact_body -= take;
			p += take;
			left -= take;
			continue;
		}
		rc->exact_hdr[rc->exact_hdr_len++] = *p++;
		left--;
		if (rc->exact_hdr_len == RECORD_HEADER) {
			rc->exact_body = (size_t)rc->exact_hdr[3] << 8 | rc->exact_hdr[4];
			rc->exact_hdr_len = 0;
		}
	}
	rc->exact_seen = mem->in_len;
}

/*
 * How much to read: reading exactly, the rest of the record being read or
 * the next header; otherwise 0, as much as fits.
 */
static size_t ring_handshake_want(const struct ring_conn *rc)
{
	if (!rc->exact)
		return 0;
	return rc->exact_body > 0 ? rc->exact_body : RECORD_HEADER - rc->exact_hdr_len;
}

int ring_conn_exact_records(struct ktls_conn *conn)
{
	if (conn == NULL || conn->ring == NULL || conn->hs.state != HANDSHAKE_NEW)
		return -EINVAL;
	conn->ring->exact = true;
	return 0;
}

static void ring_handshake_advance(struct ring_op *op)
{
	struct ktls_conn *conn = op->rc->conn;
	struct transport_mem *mem = &op->rc->mem;
	size_t gap;
	int ret;

	for (;;) {
		/* GnuTLS's output goes out first: its last flight, or its alert. */
		if (mem->out_len > 0) {
			/* The last flight, with the keys behind it where the ring can. */
			if (op->hs_done && !op->failed && !conn->hs.settled &&
			    (mem->in_len == 0 ||
			     ring_record_gap(mem->in + mem->in_off, mem->in_len) == 0)) {
				ret = ring_switch_submit(op);
				if (ret > 0)
					return;
				/* A refusal at the switch: the flight still goes first. */
				if (ret < 0)
					op->failed = true;
			}
			ring_check(op, ring_submit_send_mem(op));
			return;
		}
		if (op->failed) {
			ring_finish(op, conn->hs.failure, NULL, 0);
			return;
		}
		if (op->hs_done) {
			/* What came with the peer's last flight must be whole records. */
			gap = mem->in_len > 0 ? ring_record_gap(mem->in + mem->in_off, mem->in_len) : 0;
			if (gap > 0 && !mem->eof) {
				ring_check(op, ring_submit_recv(op, gap));
				return;
			}
			ret = handshake_finish(conn);
			mem->in_len = mem->in_off = 0;
			ring_finish(op, ret, NULL, 0);
			return;
		}
		if (op->rc->exact)
			ring_exact_walk(op->rc);
		ret = handshake_step(conn);
		/* GnuTLS pulled from the front; all that is left was walked. */
		op->rc->exact_seen = mem->in_len;
		if (ret >= 0) {
			op->hs_done = true;
			continue;
		}
		if (ret != -EAGAIN) {
			/* GnuTLS may have written an alert into mem.out: it leaves first. */
			op->failed = true;
			continue;
		}
		if (mem->out_len > 0 && !mem->eof &&
		    gnutls_record_get_direction(conn->session) == 0) {
			/* A flight, and GnuTLS waits for the answer: both in one turn. */
			ret = ring_submit_send_recv(op, ring_handshake_want(op->rc));
			if (ret != -ENOTSUP) {
				ring_check(op, ret);
				return;
			}
		}
		if (mem->out_len > 0)
			continue;
		if (mem->eof) {
			/* GnuTLS wants more and the peer has gone. */
			handshake_fail_with(conn, error_conn(conn, -ECONNRESET,
							     "peer closed the connection during "
							     "the handshake"));
			op->failed = true;
			continue;
		}
		ring_check(op, ring_submit_recv(op, ring_handshake_want(op->rc)));
		return;
	}
}

static void ring_handshake_complete(struct ring_op *op, int res, unsigned int flags)
{
	(void)flags;
	if (op->stage == ST_SWITCH)
		ring_switch_done(op, res);
	else
		op->ops->advance(op);
}

/*
 * A step that failed on the engine's side ends the handshake too: a cancel
 * or the deadline stops it here (the peer can still be told, by
 * ktls_conn_ring_shutdown()), a socket error fails it.
 */
static void ring_handshake_done(struct ring_op *op, ssize_t result)
{
	if (result == -ECANCELED || result == -ETIMEDOUT)
		handshake_stop(op->rc->conn, (int)result);
	else if (result < 0)
		handshake_fail_with(op->rc->conn, (int)result);
}

static const struct ring_op_ops ring_handshake_ops = {
	.name = "handshake",
	.advance = ring_handshake_advance,
	.complete = ring_handshake_complete,
	.done = ring_handshake_done,
	/* Only ring-switch.c's chain has a lead that reports here: it broke. */
	.lead = ring_switch_broke,
};

KTLS_EXPORT int ktls_conn_ring_handshake(struct ktls_conn *conn, unsigned int timeout_ms,
					 ktls_ring_cb cb, void *userdata)
{
	struct ring_op *op;
	int ret = ring_op_start(conn, &op, false, RING_OP_HANDSHAKE, &ring_handshake_ops,
				timeout_ms, cb, userdata);

	if (ret < 0)
		return ret;
	/*
	 * The engine times the handshake itself (a linked timeout on each step);
	 * GnuTLS's own limit would only read the clock on every step again.
	 */
	if (timeout_ms > 0)
		gnutls_handshake_set_timeout(conn->session, 0);
	ring_op_kick(op);
	return 0;
}
