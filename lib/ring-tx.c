/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Sending on the engine: application data (SEND of the caller's buffer with
 * kernel TX; GnuTLS records written into memory and SENT otherwise), files
 * (SPLICE file -> pipe -> socket with kernel TX, so the pages never enter
 * userspace; read and encrypt otherwise) and close_notify.  Before each
 * step, whatever proto.c queued (an alert, our KeyUpdate and its key
 * change) goes out first, as in the blocking calls.  While a send runs with
 * RX in the kernel, the engine also reads (ring_rx_watch), so that a peer's
 * KeyUpdates are followed as they come instead of piling up.
 */
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ring.h"

static int ring_zc_usable(void);

/*
 * Before data: the control queue, and the checks a send makes.  Returns
 * true when @op has something in flight or has ended.
 */
static bool ring_tx_prelude(struct ring_op *op)
{
	struct ktls_conn *conn = op->rc->conn;
	int ret = ring_submit_control(op);

	if (ret != 0) {
		if (ret < 0)
			ring_finish(op, ret, NULL, 0);
		return true;
	}
	ret = proto_tx_check(conn, op->ops->name);
	if (ret < 0) {
		ring_finish(op, ret, NULL, 0);
		return true;
	}
	return false;
}

/* ---- send -------------------------------------------------------------------- */

/*
 * Kernel TX: one buffer goes by SEND (SEND_ZC where the kernel takes it),
 * several by SENDMSG over libktls's copy of the caller's iovec array, which
 * partial sends advance in place.  KTLS_SEND_MORE is MSG_MORE.
 */
/* @sqe: an empty application_data control message, which closes the open record. */
static void ring_prep_close_record(struct ring_op *op, struct io_uring_sqe *sqe)
{
	kernel_msg_out(&op->kmsg, RECORD_APPLICATION_DATA, NULL, 0);
	io_uring_prep_sendmsg(sqe, op->rc->conn->fd, &op->kmsg.msg, MSG_NOSIGNAL);
}

/*
 * Whether the rest of a kernel TX send goes as a pair: the data with
 * MSG_MORE, linked to an empty application_data control message that
 * closes the last record.  kTLS hands each record to TCP as it fills it;
 * without MSG_MORE each goes out at once, and a receiver reading as data
 * arrives wakes and reads once per record (strace of a `ktls get` client
 * fetching 64 KiB: 1.4 receives per response, 1.2 from nginx, whose
 * sendfile(2) marks all pages but the last).  With MSG_MORE TCP holds them
 * until the closing message pushes the lot.  The data must end inside a
 * record for that message to have a record to close (an empty one pushes
 * nothing): more than one record's worth, from a record boundary (nothing
 * left open by KTLS_SEND_MORE), not a multiple of the record size, which
 * is the kernel's default (no record_size_limit from the peer).  A lead
 * that sends only part (the socket full) still closes a record where it
 * stopped; the rest goes on as any send does.
 */
static bool ring_send_pairs(const struct ring_op *op)
{
	const struct ktls_conn *conn = op->rc->conn;
	size_t left = op->len - op->done;

	return !op->send_more && !conn->tx_more && conn->sw.tx_payload_max == 0 &&
	       left > RECORD_MAX_PLAINTEXT && left % RECORD_MAX_PLAINTEXT != 0 &&
	       (op->iovcnt > 1 || ring_zc_usable() != 1);
}

static int ring_submit_send_user(struct ring_op *op)
{
	bool pair = ring_send_pairs(op);
	struct io_uring_sqe *sqe = pair ? ring_sqe_n(op->rc->ring, 4) : ring_sqe2(op->rc->ring);
	int fd = op->rc->conn->fd, flags = MSG_NOSIGNAL | (op->send_more || pair ? MSG_MORE : 0);

	if (sqe == NULL)
		return -EBUSY;
	if (op->iovcnt > 1) {
		while (op->iov_at < op->iovcnt && op->iov[op->iov_at].iov_len == 0)
			op->iov_at++;
		memset(&op->umsg, 0, sizeof(op->umsg));
		op->umsg.msg_iov = op->iov + op->iov_at;
		op->umsg.msg_iovlen = (size_t)(op->iovcnt - op->iov_at);
		io_uring_prep_sendmsg(sqe, fd, &op->umsg, (unsigned int)flags);
	} else if (ring_zc_usable() == 1) {
		io_uring_prep_send_zc(sqe, fd, op->buf + op->done, op->len - op->done, flags, 0);
	} else {
		io_uring_prep_send(sqe, fd, op->buf + op->done, op->len - op->done, flags);
	}
	if (pair) {
		ring_arm_lead(op, sqe, true, false);
		sqe = io_uring_get_sqe(op->rc->ring->uring);
		ring_prep_close_record(op, sqe);
		op->stage = ST_SEND_PAIR;
		ring_arm(op, sqe, true);
		return 0;
	}
	op->stage = ST_SEND_USER;
	ring_arm(op, sqe, true);
	return 0;
}

/*
 * KTLS_SEND_CLOSE with kernel TX, inside a run of a ring libktls owns:
 * close_notify goes detached, from static memory, and the send ends now.
 * The alert is the kernel's from the next submission on, bounded by the
 * send's timeout, and posts nothing when it goes; the connection may be
 * freed from the callback, and its socket is then closed by the ring after
 * the alert (ring_fd_close()).  A connection's last response, its
 * close_notify and its close cost no turn of the ring and no system call
 * of their own.  Only where close_notify is all that is queued.
 */
static bool ring_close_notify_detached(struct ring_op *op)
{
	struct ring_conn *rc = op->rc;
	struct ktls_ring *ring = rc->ring;
	struct io_uring_sqe *sqe, *tsqe;
	struct __kernel_timespec *ts;

	/*
	 * Only with a timeout (a peer that never reads would otherwise hold
	 * a socket nobody can see any more), and only for a socket that
	 * ktls_conn_free() closes, which knows to close it behind the alert
	 * (an application closing its own fd would not).
	 */
	if (!ring_detached_ok(ring) || !rc->conn->sw.tx.kernel || op->timeout_ms == 0 ||
	    !(rc->conn->flags & KTLS_CONN_OWN_FD) || !proto_out_only_close_notify(rc->conn) ||
	    !ring_slot_ts_ready(ring))
		return false;
	sqe = ring_sqe_n(ring, 2);
	if (sqe == NULL)
		return false;
	io_uring_prep_sendmsg(sqe, rc->conn->fd, kernel_close_notify_msg(), MSG_NOSIGNAL);
	ring_detach_sqe(sqe);
	sqe->flags |= IOSQE_IO_LINK;
	tsqe = io_uring_get_sqe(ring->uring);
	ts = ring_slot_ts(ring, tsqe);
	ts->tv_sec = op->timeout_ms / 1000;
	ts->tv_nsec = (long long)(op->timeout_ms % 1000) * 1000000;
	io_uring_prep_link_timeout(tsqe, ts, 0);
	ring_detach_sqe(tsqe);
	proto_out_done(rc->conn); /* the kernel's now: not sent again */
	return true;
}

/*
 * KTLS_SEND_CLOSE once the data is out: close_notify, queued once, then
 * whatever is queued; the send ends when that is through.
 */
static void ring_send_close_step(struct ring_op *op)
{
	int ret = 0;

	if (!op->closing) {
		op->closing = true;
		ret = proto_shutdown(op->rc->conn);
		if (ret == 0 && ring_close_notify_detached(op)) {
			ring_finish(op, (ssize_t)op->len, NULL, 0);
			return;
		}
	}
	if (ret == 0)
		ret = ring_submit_control(op);
	if (ret < 0)
		ring_finish(op, ret, NULL, 0);
	else if (ret == 0)
		ring_finish(op, (ssize_t)op->len, NULL, 0);
}

static int ring_submit_close_record(struct ring_op *op)
{
	struct io_uring_sqe *sqe = ring_sqe2(op->rc->ring);

	if (sqe == NULL)
		return -EBUSY;
	ring_prep_close_record(op, sqe);
	op->stage = ST_SEND_USER;
	ring_arm(op, sqe, true);
	return 0;
}

/* SENDMSG sent @n bytes: move the iovec copy past them. */
static void ring_iov_consume(struct ring_op *op, size_t n)
{
	while (n > 0 && op->iov_at < op->iovcnt) {
		struct iovec *v = &op->iov[op->iov_at];
		size_t take = n < v->iov_len ? n : v->iov_len;

		v->iov_base = (unsigned char *)v->iov_base + take;
		v->iov_len -= take;
		n -= take;
		if (v->iov_len == 0)
			op->iov_at++;
	}
}

/*
 * TX in GnuTLS: encrypt up to KTLS_RING_TX_CHUNK bytes into mem.out, in
 * records gathered from what KTLS_SEND_MORE held back (txbuf.c) and then
 * @cur; with @more, a last record that does not fill up is held back in
 * turn.  Returns the bytes taken from @cur.
 */
static ssize_t ring_encrypt(struct ring_op *op, struct txbuf_cursor *cur, bool more)
{
	struct ktls_conn *conn = op->rc->conn;
	unsigned char rec[RECORD_MAX_PLAINTEXT];
	size_t start = cur->taken, max = transport_max_payload(conn);
	ssize_t ret = 0;

	if (max > sizeof(rec))
		max = sizeof(rec);
	while (cur->taken - start < KTLS_RING_TX_CHUNK) {
		size_t n = txbuf_fill(conn, rec, max, cur);

		if (n == 0)
			break;
		if (n < max && more) {
			ret = txbuf_hold(conn, rec, n);
			if (ret < 0)
				ret = error_conn(conn, (int)ret, "send: out of memory");
			break;
		}
		/* Memory never refuses a record (mem.out_max bounds a chunk's worth). */
		ret = gnutls_record_send(conn->session, rec, n);
		if (ret < 0) {
			ret = error_conn(conn, error_from_gnutls((int)ret), "send: %s",
					 gnutls_strerror((int)ret));
			break;
		}
		txbuf_sent(conn);
		ret = 0;
	}
	explicit_bzero(rec, sizeof(rec));
	return ret < 0 ? ret : (ssize_t)(cur->taken - start);
}

static void ring_send_advance(struct ring_op *op)
{
	struct ktls_conn *conn = op->rc->conn;
	struct transport_mem *mem = &op->rc->mem;

	if (mem->out_len > 0) {
		ring_check(op, ring_submit_send_mem(op));
		return;
	}
	if (op->closing) {
		/* The data is out; close_notify (and what was queued before it) is on its way. */
		ring_send_close_step(op);
		return;
	}
	if (ring_tx_prelude(op))
		return;
	if (op->done == op->len && (conn->sw.tx.kernel || !op->flush_held || txbuf_held(conn) == 0)) {
		if (conn->sw.tx.kernel && op->flush_held && !op->send_more && conn->tx_more) {
			/*
			 * The record an earlier KTLS_SEND_MORE left open: an empty
			 * application_data control message closes it (record.c).
			 */
			op->flush_held = false;
			op->record_closed = true;
			ring_check(op, ring_submit_close_record(op));
			return;
		}
		/* What MSG_MORE left in TCP goes now (kernel_tcp_push says why). */
		if (op->record_closed)
			kernel_tcp_push(conn->fd);
		if (conn->sw.tx.kernel)
			conn->tx_more = op->send_more;
		if (op->close_after)
			ring_send_close_step(op);
		else
			ring_finish(op, (ssize_t)op->len, NULL, 0);
		return;
	}
	if (conn->sw.tx.kernel) {
		ring_check(op, ring_submit_send_user(op));
		return;
	}
	ssize_t n = ring_encrypt(op, &op->cur, op->send_more);

	if (n < 0) {
		ring_finish(op, n, NULL, 0);
		return;
	}
	op->done += (size_t)n;
	if (op->close_after && op->done == op->len) {
		/* GnuTLS's close_notify joins the last records in mem.out: one send. */
		ring_send_close_step(op);
		return;
	}
	if (mem->out_len == 0) {
		/* All of it held back (KTLS_SEND_MORE): nothing to send yet. */
		op->flush_held = false;
		op->ops->advance(op);
		return;
	}
	ring_check(op, ring_submit_send_mem(op));
}

/* The data half of a pair (ring_send_pairs): what it sent, or why it failed. */
static void ring_send_lead(struct ring_op *op, int res)
{
	struct ktls_conn *conn = op->rc->conn;

	if (res < 0) {
		/* The kernel broke the link: the closing half ends -ECANCELED. */
		op->lead_short = true;
		op->lead_err = res;
		return;
	}
	op->done += (size_t)res;
	if (op->iovcnt > 1)
		ring_iov_consume(op, (size_t)res);
	/* Open until the closing half is through; advance() closes it otherwise. */
	conn->tx_more = true;
	op->flush_held = true;
	proto_tx_account(conn, 1, (uint64_t)res);
}

static void ring_send_complete(struct ring_op *op, int res, unsigned int flags)
{
	if (op->stage == ST_SEND_PAIR) {
		if (res == -ECANCELED && op->lead_err == -ECANCELED) {
			ring_fail(op, -ETIMEDOUT, op->ops->name); /* the lead's own timeout */
			return;
		}
		if (res == -ECANCELED)
			res = op->lead_err;
		if (ring_retry_or_fail(op, res, POLLOUT))
			return;
		/* The record is closed and TCP has it all. */
		op->rc->conn->tx_more = false;
		op->flush_held = false;
		op->ops->advance(op);
		return;
	}
	if (flags & IORING_CQE_F_MORE)
		op->zc_notifs++;
	if (ring_retry_or_fail(op, res, POLLOUT))
		return;
	op->done += (size_t)res;
	if (op->iovcnt > 1)
		ring_iov_consume(op, (size_t)res);
	/* Data sent without MSG_MORE closed whatever record was open. */
	if (res > 0 && !op->send_more)
		op->flush_held = false;
	/* The AEAD usage limit may queue a KeyUpdate, sent before the next step. */
	proto_tx_account(op->rc->conn, 1, (uint64_t)res);
	op->ops->advance(op);
}

static void ring_send_done(struct ring_op *op, ssize_t result)
{
	(void)result;
	if (op->iov != &op->iov_one)
		free(op->iov);
	op->iov = NULL;
	op->iovcnt = 0;
}

static const struct ring_op_ops ring_send_ops = {
	.name = "send",
	.advance = ring_send_advance,
	.complete = ring_send_complete,
	.done = ring_send_done,
	.lead = ring_send_lead,
};

KTLS_EXPORT int ktls_conn_ring_sendv(struct ktls_conn *conn, const struct iovec *iov, int iovcnt,
				     unsigned int flags, unsigned int timeout_ms, ktls_ring_cb cb,
				     void *userdata)
{
	struct iovec *copy = NULL;
	struct ring_op *op;
	size_t total = 0;
	int ret;

	if (conn != NULL) {
		error_conn_begin(conn);
		if ((flags & ~(KTLS_SEND_MORE | KTLS_SEND_CLOSE)) != 0)
			return error_conn(conn, -EINVAL, "send: unknown flags 0x%x",
					  flags & ~(KTLS_SEND_MORE | KTLS_SEND_CLOSE));
		if ((flags & KTLS_SEND_MORE) && (flags & KTLS_SEND_CLOSE))
			return error_conn(conn, -EINVAL,
					  "send: KTLS_SEND_MORE and KTLS_SEND_CLOSE together");
		if (iovcnt < 0 || iovcnt > IOV_MAX || (iov == NULL && iovcnt > 0))
			return error_conn(conn, -EINVAL, "send: bad buffers (%d of them, at most %d)",
					  iovcnt, IOV_MAX);
		for (int i = 0; i < iovcnt; i++) {
			if ((iov[i].iov_base == NULL && iov[i].iov_len > 0) ||
			    iov[i].iov_len > (size_t)SSIZE_MAX - total)
				return error_conn(conn, -EINVAL, "send: bad buffer %d", i);
			total += iov[i].iov_len;
		}
	}
	ret = ring_op_start(conn, &op, false, RING_OP_SEND, &ring_send_ops, timeout_ms, cb,
			    userdata);
	if (ret < 0)
		return ret;
	ret = proto_tx_check(conn, "send");
	if (ret == 0 && iovcnt > 1) {
		copy = malloc((size_t)iovcnt * sizeof(*copy));
		if (copy == NULL)
			ret = error_conn(conn, -ENOMEM, "send: out of memory");
	}
	if (ret < 0) {
		op->active = false;
		op->type = RING_OP_NONE;
		return ret;
	}
	if (iovcnt > 1) {
		memcpy(copy, iov, (size_t)iovcnt * sizeof(*copy));
		op->iov = copy;
	} else {
		op->iov_one = iovcnt == 1 ? iov[0] : (struct iovec){ NULL, 0 };
		op->iov = &op->iov_one;
	}
	op->iovcnt = iovcnt > 1 ? iovcnt : 1;
	op->buf = op->iov_one.iov_base;
	op->len = total;
	op->send_more = (flags & KTLS_SEND_MORE) != 0;
	op->close_after = (flags & KTLS_SEND_CLOSE) != 0;
	op->flush_held = true;
	txbuf_cursor_init(&op->cur, op->iov, op->iovcnt);
	op->progress_resets = true;
	ring_op_kick(op);
	if (!op->close_after) {
		ring_rx_watch(conn->ring);
	} else if (!conn->ring->rx.active) {
		/*
		 * Closing, with no receive waiting: the readiness poll goes in
		 * the same submission, so that freeing the conn from the
		 * callback waits for no cancel of its own (nor for a new poll
		 * that a receive gone since had asked for).
		 */
		conn->ring->rxpoll_rearm = false;
		ring_rxpoll_cancel(conn->ring);
	}
	return 0;
}

KTLS_EXPORT int ktls_conn_ring_send(struct ktls_conn *conn, const void *buf, size_t len,
				    unsigned int timeout_ms, ktls_ring_cb cb, void *userdata)
{
	struct iovec one = { (void *)buf, len };

	if (conn != NULL && buf == NULL && len > 0) {
		error_conn_begin(conn);
		return error_conn(conn, -EINVAL, "send: buffer is NULL");
	}
	return ktls_conn_ring_sendv(conn, &one, 1, 0, timeout_ms, cb, userdata);
}

/* ---- sendfile -------------------------------------------------------------------- */

/*
 * Kernel TX: file -> pipe -> socket by splice.  When no pipe could be had
 * (out of descriptors), read and SEND the plaintext: the kernel still
 * encrypts.  GnuTLS: read a chunk, encrypt it into mem.out, send that.
 */
static int ring_sendfile_step(struct ring_op *op)
{
	struct ktls_conn *conn = op->rc->conn;
	bool kernel = conn->sw.tx.kernel, splice = kernel && op->pipe[0] >= 0;
	struct io_uring_sqe *sqe;
	size_t want = op->len - op->done, chunk = splice ? op->pipe_cap : KTLS_RING_TX_CHUNK;
	off_t at = op->offset + (off_t)op->done;

	if (!kernel && op->rc->mem.out_len > 0)
		return ring_submit_send_mem(op);
	if (kernel && !splice && op->in_pipe > 0) {
		sqe = ring_sqe2(op->rc->ring);
		if (sqe == NULL)
			return -EBUSY;
		io_uring_prep_send(sqe, conn->fd, op->plain + op->plain_off, op->in_pipe,
				   MSG_NOSIGNAL);
		op->stage = ST_SEND_PLAIN;
		ring_arm(op, sqe, true);
		return 0;
	}
	if (splice && op->in_pipe > 0) {
		sqe = ring_sqe2(op->rc->ring);
		if (sqe == NULL)
			return -EBUSY;
		/*
		 * SPLICE_F_MORE keeps the kernel's record open for what follows;
		 * after a short file read nothing may follow (end of file), and an
		 * open record would wait for close_notify (Linux 7.x does so).
		 */
		io_uring_prep_splice(sqe, op->pipe[0], -1, conn->fd, -1, (unsigned int)op->in_pipe,
				     SPLICE_F_MOVE |
					     (op->in_pipe < want && !op->short_read ? SPLICE_F_MORE : 0));
		/* No MSG_NOSIGNAL for splice(2): see ring.c on SIGPIPE. */
		op->stage = ST_SPLICE_OUT;
		ring_arm(op, sqe, true);
		return 0;
	}
	if (want == 0) {
		ring_finish(op, (ssize_t)op->len, NULL, 0);
		return 0;
	}
	if (want > chunk)
		want = chunk;
	op->asked = want;
	if (splice) {
		/*
		 * file -> pipe linked to pipe -> socket: the second starts when
		 * the first is done, without a turn of the ring in between
		 * (nearer to one sendfile(2) per chunk).  Should the file give
		 * less than asked, the kernel breaks the link and the rest goes
		 * as a step of its own (ring_sendfile_complete).
		 */
		struct io_uring_sqe *lead = ring_sqe_n(op->rc->ring, 3);

		if (lead == NULL)
			return -EBUSY;
		io_uring_prep_splice(lead, op->file_fd, (int64_t)at, op->pipe[1], -1,
				     (unsigned int)want, SPLICE_F_MOVE);
		ring_arm_lead(op, lead, false, false); /* a file read: the socket half is timed */
		sqe = io_uring_get_sqe(op->rc->ring->uring);
		io_uring_prep_splice(sqe, op->pipe[0], -1, conn->fd, -1, (unsigned int)want,
				     SPLICE_F_MOVE | (want < op->len - op->done ? SPLICE_F_MORE : 0));
		/* No MSG_NOSIGNAL for splice(2): see ring.c on SIGPIPE. */
		op->stage = ST_SPLICE_PAIR;
		ring_arm(op, sqe, true);
		return 0;
	}
	sqe = ring_sqe(op->rc->ring);
	if (sqe == NULL)
		return -EBUSY;
	io_uring_prep_read(sqe, op->file_fd, op->plain, (unsigned int)want, (__u64)at);
	op->stage = ST_READ;
	ring_arm(op, sqe, false);
	return 0;
}

static void ring_sendfile_advance(struct ring_op *op)
{
	int ret;

	/* Control records only between whole chunks: never inside a record being spliced. */
	if (op->in_pipe == 0 && op->rc->mem.out_len == 0 && ring_tx_prelude(op))
		return;
	ret = ring_sendfile_step(op);
	if (ret < 0)
		ring_fail(op, ret, "sendfile");
}

/* The file -> pipe half of a pair: what is in the pipe now. */
static void ring_sendfile_lead(struct ring_op *op, int res)
{
	if (res > 0)
		op->in_pipe = (size_t)res;
	op->short_read = res >= 0 && (size_t)res < op->asked;
	op->lead_short = res != (int)op->asked;
	if (res <= 0)
		op->lead_err = res == 0 ? -ENODATA : res;
}

/* @res bytes left the pipe (or plain buffer) for the socket; false when @op ended or waits. */
static bool ring_sendfile_sent(struct ring_op *op, int res)
{
	struct ktls_conn *conn = op->rc->conn;

	if (ring_retry_or_fail(op, res, POLLOUT))
		return false;
	op->in_pipe -= (size_t)res;
	op->plain_off += (size_t)res;
	op->done += (size_t)res;
	if (conn->sw.tx.kernel) {
		conn->tx_more = false; /* the last splice closes the record */
		proto_tx_account(conn, 1, (uint64_t)res);
	}
	return true;
}

static void ring_sendfile_complete(struct ring_op *op, int res, unsigned int flags)
{
	struct ktls_conn *conn = op->rc->conn;

	(void)flags;
	switch (op->stage) {
	case ST_SPLICE_PAIR:
		if (res == -ECANCELED && op->lead_err < 0) {
			ring_fail(op, op->lead_err, "sendfile: reading the file");
			return;
		}
		/*
		 * -ECANCELED: the lead fell short, nothing left the pipe yet.
		 * Otherwise the splice out ran, as one alone would have.
		 */
		op->stage = ST_SPLICE_OUT;
		if (res != -ECANCELED && !ring_sendfile_sent(op, res))
			return;
		break;
	case ST_READ:
		if (res <= 0) {
			ring_fail(op, res == 0 ? -ENODATA : res, "sendfile: reading the file");
			return;
		}
		op->short_read = (size_t)res < op->asked;
		if (conn->sw.tx.kernel) {
			op->in_pipe = (size_t)res;
			op->plain_off = 0;
		} else {
			struct iovec v = { op->plain, (size_t)res };
			struct txbuf_cursor cur;
			ssize_t n;

			/*
			 * Records stay full across chunks: only the end (or a short
			 * read, where the file may end) closes one early.
			 */
			txbuf_cursor_init(&cur, &v, 1);
			n = ring_encrypt(op, &cur,
					 op->done + (size_t)res < op->len && !op->short_read);
			explicit_bzero(op->plain, (size_t)res);
			if (n < 0) {
				ring_finish(op, n, NULL, 0);
				return;
			}
			op->done += (size_t)n;
		}
		break;
	default: /* ST_SPLICE_OUT, ST_SEND_PLAIN */
		if (!ring_sendfile_sent(op, res))
			return;
		break;
	}
	ring_sendfile_advance(op);
}

static const struct ring_op_ops ring_sendfile_ops = {
	.name = "sendfile",
	.advance = ring_sendfile_advance,
	.complete = ring_sendfile_complete,
	.lead = ring_sendfile_lead,
};

KTLS_EXPORT int ktls_conn_ring_sendfile(struct ktls_conn *conn, int file_fd, off_t offset,
					size_t count, unsigned int timeout_ms, ktls_ring_cb cb,
					void *userdata)
{
	struct ring_op *op;
	int ret;

	if (conn != NULL && (file_fd < 0 || offset < 0))
		return error_conn(conn, -EINVAL, "sendfile: needs a file descriptor and an offset >= 0");
	ret = ring_op_start(conn, &op, false, RING_OP_SENDFILE, &ring_sendfile_ops, timeout_ms, cb,
			    userdata);
	if (ret < 0)
		return ret;
	ret = proto_tx_check(conn, "sendfile");
	/* Out of descriptors for a pipe, a kernel TX sendfile reads and sends instead. */
	if (ret == 0 && conn->sw.tx.kernel)
		ret = ring_pipe_get(conn->ring->ring, op->pipe, &op->pipe_cap);
	if ((ret == 0 && !conn->sw.tx.kernel) || ret == -EMFILE || ret == -ENFILE) {
		op->plain = malloc(KTLS_RING_TX_CHUNK);
		ret = op->plain != NULL ? 0 : -ENOMEM;
	}
	if (ret < 0) {
		op->active = false;
		op->type = RING_OP_NONE;
		return ret == -EPIPE || ret == conn->pr.tx_error
			       ? ret
			       : error_conn(conn, ret, "sendfile: %s", strerror(-ret));
	}
	op->file_fd = file_fd;
	op->offset = offset;
	op->len = count;
	op->progress_resets = true;
	ring_op_kick(op);
	ring_rx_watch(conn->ring);
	return 0;
}

/* ---- close_notify ------------------------------------------------------------------ */

static void ring_shutdown_advance(struct ring_op *op)
{
	struct ktls_conn *conn = op->rc->conn;
	int ret;

	if (op->rc->mem.out_len > 0) {
		ring_check(op, ring_submit_send_mem(op));
		return;
	}
	if (!op->hs_done && !conn->sw.tx.kernel && txbuf_held(conn) > 0) {
		/* What KTLS_SEND_MORE held back goes before close_notify. */
		struct txbuf_cursor none;
		ssize_t n;

		txbuf_cursor_init(&none, NULL, 0);
		n = ring_encrypt(op, &none, false);
		if (n < 0) {
			ring_finish(op, n, NULL, 0);
			return;
		}
		ring_check(op, ring_submit_send_mem(op));
		return;
	}
	if (!op->hs_done) {
		/* Queued once; what is queued before it goes first (a kernel's open record too). */
		op->hs_done = true;
		ret = proto_shutdown(conn);
		if (ret < 0) {
			ring_finish(op, ret, NULL, 0);
			return;
		}
	}
	ret = ring_submit_control(op);
	if (ret < 0)
		ring_finish(op, ret, NULL, 0);
	else if (ret == 0)
		ring_finish(op, 0, NULL, 0);
}

static void ring_shutdown_complete(struct ring_op *op, int res, unsigned int flags)
{
	(void)res;
	(void)flags;
	op->ops->advance(op);
}

static const struct ring_op_ops ring_shutdown_ops = {
	.name = "close_notify",
	.advance = ring_shutdown_advance,
	.complete = ring_shutdown_complete,
};

KTLS_EXPORT int ktls_conn_ring_shutdown(struct ktls_conn *conn, unsigned int timeout_ms,
					ktls_ring_cb cb, void *userdata)
{
	struct ring_op *op;
	int ret = ring_op_start(conn, &op, false, RING_OP_SHUTDOWN, &ring_shutdown_ops, timeout_ms,
				cb, userdata);

	if (ret < 0)
		return ret;
	/* Only sends: bounded like one, which needs no clock read per connection. */
	op->progress_resets = true;
	ring_op_kick(op);
	return 0;
}

/* ---- zero-copy send probe ------------------------------------------------------------ */

static pthread_once_t zc_once = PTHREAD_ONCE_INIT;
static int zc_result;

/*
 * Whether IORING_OP_SEND_ZC works on a socket with a kernel TX key: kernels
 * refuse it on ULP sockets (the TLS ULP clears SOCK_SUPPORT_ZC), and this
 * asks the running one instead of assuming either way.
 */
static void ring_zc_probe(void)
{
	const struct ktls_caps *caps = probe_get();
	union keys_crypto_info info;
	struct io_uring r;
	struct io_uring_cqe *cqe;
	struct io_uring_sqe *sqe;
	socklen_t len;
	int a = -1, b = -1, ret;
	char byte = 0;

	if (!caps->ulp_available ||
	    !probe_can_offload(caps, KTLS_VERSION_TLS13, KTLS_CIPHER_AES_128_GCM, KTLS_DIR_TX)) {
		zc_result = 0;
		return;
	}
	ret = probe_pair(&a, &b);
	if (ret < 0) {
		zc_result = ret;
		return;
	}
	len = keys_dummy(KTLS_VERSION_TLS13, KTLS_CIPHER_AES_128_GCM, &info);
	if ((ret = kernel_attach(a)) < 0 || (ret = kernel_set_key(a, KTLS_DIR_TX, &info, len)) < 0) {
		zc_result = ret;
		goto out;
	}
	ret = io_uring_queue_init(4, &r, 0);
	if (ret < 0) {
		zc_result = ret;
		goto out;
	}
	sqe = io_uring_get_sqe(&r);
	io_uring_prep_send_zc(sqe, a, &byte, 1, MSG_NOSIGNAL, 0);
	io_uring_submit(&r);
	zc_result = 0;
	if (io_uring_wait_cqe(&r, &cqe) == 0) {
		bool more = (cqe->flags & IORING_CQE_F_MORE) != 0;

		zc_result = cqe->res == 1 ? 1 : 0;
		io_uring_cqe_seen(&r, cqe);
		if (more && io_uring_wait_cqe(&r, &cqe) == 0)
			io_uring_cqe_seen(&r, cqe);
	}
	io_uring_queue_exit(&r);
out:
	keys_wipe(&info);
	close(a);
	close(b);
}

static int ring_zc_usable(void)
{
	pthread_once(&zc_once, ring_zc_probe);
	return zc_result;
}

KTLS_EXPORT int ktls_ring_zerocopy_send(void)
{
	return ring_zc_usable();
}
