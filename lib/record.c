/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The blocking and non-blocking calls: send, recv, sendfile, shutdown,
 * rekey.  A driver: it moves bytes with the socket calls (the kernel's TLS
 * where it holds a direction's key, GnuTLS's record layer where it does
 * not) and leaves every protocol decision to proto.c.  Whatever proto.c
 * queued to send (alerts, KeyUpdate, close_notify) goes out before the
 * next application data.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

#include "private.h"

static int record_flush_held(struct ktls_conn *conn);

static int record_check_ready(struct ktls_conn *conn)
{
	if (conn->tp.mem != NULL)
		return error_conn(conn, -EINVAL,
				  "the connection is driven by an io_uring engine (ktls_conn_ring_*)");
	if (conn->hs.state == HANDSHAKE_DONE)
		return 0;
	if (conn->hs.state == HANDSHAKE_FAILED)
		return conn->hs.failure;
	return error_conn(conn, -EINVAL, "no data can move before the handshake completes");
}

static int record_wait_write(struct ktls_conn *conn)
{
	handshake_note_wants(conn, KTLS_WANT_WRITE);
	return -EAGAIN;
}

/* Send what proto.c queued, in order.  0, -EAGAIN (socket full), or the failure. */
static int record_flush_control(struct ktls_conn *conn)
{
	const struct proto_out *o;
	int ret;

	while ((o = proto_out_peek(conn)) != NULL) {
		if (o->kind == PROTO_OUT_RECORD)
			ret = kernel_send_record(conn->fd, o->type, o->data, o->len, 0);
		else
			ret = transport_gnutls_out(conn, o);
		if (ret == -EAGAIN)
			return record_wait_write(conn);
		if (ret < 0) {
			ret = error_conn_send(conn, "sending a control record", -ret);
			proto_out_failed(conn, ret);
			return ret;
		}
		ret = proto_out_done(conn);
		if (ret < 0)
			return ret;
	}
	return 0;
}

/*
 * A send's failure, named alike whichever path hit it: the socket's own
 * errno (EPIPE, ECONNRESET...), whether the kernel's send(2) or GnuTLS's
 * push met it.
 */
static ssize_t record_send_error(struct ktls_conn *conn, const char *what, int err)
{
	if (err == EAGAIN)
		return -EAGAIN;
	return error_conn_send(conn, what, err);
}

static ssize_t record_gnutls_send_error(struct ktls_conn *conn, const char *what, int ret)
{
	/*
	 * Once the socket refused a write, GnuTLS reports it in its own words
	 * (push error, premature termination, then an invalidated session);
	 * the socket's errno is what the kernel path reports for the same event.
	 */
	if (transport_push_errno(conn) != 0)
		return record_send_error(conn, what, transport_push_errno(conn));
	return error_conn(conn, error_from_gnutls(ret), "%s: %s", what, gnutls_strerror(ret));
}

/*
 * Push out a record GnuTLS encrypted but could not finish writing, then
 * anything queued by proto.c.  0 when nothing is left, -EAGAIN (and wants
 * WRITE) while the socket is full.
 */
static int record_flush(struct ktls_conn *conn)
{
	ssize_t ret;

	if (conn->tx_buffered > 0) {
		ret = gnutls_record_send(conn->session, NULL, 0);
		if (ret == GNUTLS_E_AGAIN || ret == GNUTLS_E_INTERRUPTED)
			return record_wait_write(conn);
		conn->tx_buffered = 0;
		if (ret < 0)
			return record_gnutls_send_error(conn, "send", (int)ret);
	}
	return record_flush_control(conn);
}

KTLS_EXPORT int ktls_conn_flush(struct ktls_conn *conn)
{
	int ret;

	if (conn == NULL)
		return -EINVAL;
	error_conn_begin(conn);
	ret = record_check_ready(conn);
	if (ret < 0)
		return ret;
	ret = record_flush(conn);
	if (ret == 0)
		ret = record_flush_held(conn);
	if (ret == 0)
		ret = record_flush(conn);
	if (ret == 0)
		handshake_note_wants(conn, 0);
	return ret;
}

/* ---- send -------------------------------------------------------------- */

/*
 * GnuTLS encrypts a record before it tries to write it; when the socket is
 * full it keeps the rest of that record and wants to be called again.  Those
 * bytes are reported as accepted, so callers get send(2)-like counts instead
 * of GnuTLS's "call again with the same data"; what is still queued goes out
 * with ktls_conn_flush() or the next send, recv or shutdown.
 *
 * Records are gathered from what an earlier KTLS_SEND_MORE send held back
 * (txbuf.c), then the caller's buffers; with @more the last record that
 * does not fill up is held back in turn.
 */
static ssize_t record_send_userspace(struct ktls_conn *conn, const char *what,
				     struct txbuf_cursor *cur, bool more)
{
	unsigned char rec[RECORD_MAX_PLAINTEXT];
	ssize_t ret = 0;

	for (;;) {
		size_t max = transport_max_payload(conn);
		size_t n = txbuf_fill(conn, rec, max < sizeof(rec) ? max : sizeof(rec), cur);

		if (n == 0)
			break;
		if (n < max && more) {
			ret = txbuf_hold(conn, rec, n);
			if (ret < 0)
				ret = error_conn(conn, (int)ret, "%s: out of memory", what);
			break;
		}
		ret = gnutls_record_send(conn->session, rec, n);
		if (ret == GNUTLS_E_AGAIN || ret == GNUTLS_E_INTERRUPTED) {
			/* GnuTLS holds the encrypted record now; ktls_conn_flush() finishes it. */
			txbuf_sent(conn);
			conn->tx_buffered = n;
			handshake_note_wants(conn, KTLS_WANT_WRITE);
			ret = 0;
			break;
		}
		if (ret < 0) {
			ret = record_gnutls_send_error(conn, what, (int)ret);
			break;
		}
		txbuf_sent(conn);
	}
	explicit_bzero(rec, sizeof(rec));
	return ret < 0 ? ret : (ssize_t)cur->taken;
}

/* send(2)/sendmsg(2) with the kernel holding the key; @more leaves the record open. */
static ssize_t record_send_kernel(struct ktls_conn *conn, const char *what,
				  const struct iovec *iov, int iovcnt, bool more)
{
	struct msghdr msg = { .msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)iovcnt };
	ssize_t n;

	do
		n = sendmsg(conn->fd, &msg, MSG_NOSIGNAL | (more ? MSG_MORE : 0));
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return record_send_error(conn, what, errno);
	conn->tx_more = more;
	/* A limit reached here queues a KeyUpdate, sent before the next data. */
	proto_tx_account(conn, 1, (uint64_t)n);
	return n;
}

/*
 * What KTLS_SEND_MORE left waiting goes out: the kernel's open record, or
 * the bytes txbuf.c held back, as a record of their own.  An empty send(2)
 * does not close a kTLS record; a record-type control message does, before
 * anything else (tls_handle_open_record): an empty application_data one
 * adds nothing to the stream.
 */
static int record_flush_held(struct ktls_conn *conn)
{
	struct txbuf_cursor none;
	ssize_t n;
	int ret;

	if (conn->sw.tx.kernel) {
		if (!conn->tx_more)
			return 0;
		ret = kernel_send_record(conn->fd, RECORD_APPLICATION_DATA, NULL, 0, 0);
		if (ret == -EAGAIN)
			return record_wait_write(conn);
		if (ret < 0)
			return (int)record_send_error(conn, "send", -ret);
		conn->tx_more = false;
		kernel_tcp_push(conn->fd);
		return 0;
	}
	if (txbuf_held(conn) == 0)
		return 0;
	txbuf_cursor_init(&none, NULL, 0);
	n = record_send_userspace(conn, "send", &none, false);
	return n < 0 ? (int)n : 0;
}

/* The checks every send makes, and what must go out before its data. */
static int record_send_prepare(struct ktls_conn *conn, const char *what)
{
	int ret = record_check_ready(conn);

	if (ret < 0)
		return ret;
	ret = proto_tx_check(conn, what);
	if (ret < 0)
		return ret;
	return record_flush(conn);
}

/* Bytes in @iov, or -EINVAL when they overflow. */
static ssize_t record_iov_total(const struct iovec *iov, int iovcnt)
{
	size_t total = 0;

	for (int i = 0; i < iovcnt; i++) {
		if (iov[i].iov_base == NULL && iov[i].iov_len > 0)
			return -EINVAL;
		if (iov[i].iov_len > (size_t)SSIZE_MAX - total)
			return -EINVAL;
		total += iov[i].iov_len;
	}
	return (ssize_t)total;
}

KTLS_EXPORT ssize_t ktls_conn_sendv(struct ktls_conn *conn, const struct iovec *iov, int iovcnt,
				    unsigned int flags)
{
	struct txbuf_cursor cur;
	bool more = (flags & KTLS_SEND_MORE) != 0;
	int ret;

	if (conn == NULL)
		return -EINVAL;
	error_conn_begin(conn);
	if (flags & KTLS_SEND_CLOSE)
		return error_conn(conn, -EINVAL,
				  "send: KTLS_SEND_CLOSE is for ktls_conn_ring_sendv(); "
				  "ktls_conn_shutdown() after the send does the same here");
	if ((flags & ~KTLS_SEND_MORE) != 0)
		return error_conn(conn, -EINVAL, "send: unknown flags 0x%x", flags & ~KTLS_SEND_MORE);
	if (iovcnt < 0 || iovcnt > IOV_MAX || (iov == NULL && iovcnt > 0) ||
	    record_iov_total(iov, iovcnt) < 0)
		return error_conn(conn, -EINVAL, "send: bad buffers (%d of them, at most %d)",
				  iovcnt, IOV_MAX);
	ret = record_send_prepare(conn, "send");
	if (ret < 0)
		return ret;
	if (conn->sw.tx.kernel)
		return record_send_kernel(conn, "send", iov, iovcnt, more);
	txbuf_cursor_init(&cur, iov, iovcnt);
	return record_send_userspace(conn, "send", &cur, more);
}

KTLS_EXPORT ssize_t ktls_conn_send(struct ktls_conn *conn, const void *buf, size_t len)
{
	struct iovec one = { (void *)buf, len };

	if (conn != NULL && buf == NULL && len > 0) {
		error_conn_begin(conn);
		return error_conn(conn, -EINVAL, "send: buffer is NULL");
	}
	return ktls_conn_sendv(conn, &one, 1, 0);
}

/* ---- sendfile ---------------------------------------------------------- */

/*
 * The kernel encrypts page-cache pages; nothing enters userspace.
 * sendfile(2) has no MSG_NOSIGNAL (kernel_sigpipe_block).
 */
static ssize_t record_sendfile_kernel(struct ktls_conn *conn, int file_fd, off_t *offset,
				      size_t count)
{
	struct kernel_sigpipe sp;
	ssize_t n;
	int err;

	kernel_sigpipe_block(&sp);
	do
		n = sendfile(conn->fd, file_fd, offset, count);
	while (n < 0 && errno == EINTR);
	err = errno;
	kernel_sigpipe_restore(&sp);

	if (n < 0)
		return record_send_error(conn, "sendfile", err);
	conn->tx_more = false; /* sendfile(2) ends its last record */
	proto_tx_account(conn, 1, (uint64_t)n);
	return n;
}

KTLS_EXPORT ssize_t ktls_conn_sendfile(struct ktls_conn *conn, int file_fd, off_t *offset,
				       size_t count)
{
	unsigned char buf[RECORD_MAX_PLAINTEXT];
	ssize_t n, sent;
	int ret;

	if (conn == NULL)
		return -EINVAL;
	error_conn_begin(conn);
	if (offset == NULL || file_fd < 0 || *offset < 0)
		return error_conn(conn, -EINVAL, "sendfile: needs a file descriptor and an offset >= 0");
	ret = record_send_prepare(conn, "sendfile");
	if (ret < 0)
		return ret;
	if (conn->sw.tx.kernel)
		return record_sendfile_kernel(conn, file_fd, offset, count);

	/* Userspace: one record's worth at a time, so a short send loses nothing. */
	if (count > sizeof(buf))
		count = sizeof(buf);
	do
		n = pread(file_fd, buf, count, *offset);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return error_conn(conn, -errno, "sendfile: reading the file: %s", strerror(errno));
	if (n == 0)
		return 0;
	{
		struct iovec v = { buf, (size_t)n };
		struct txbuf_cursor cur;

		txbuf_cursor_init(&cur, &v, 1);
		sent = record_send_userspace(conn, "sendfile", &cur, false);
	}
	explicit_bzero(buf, (size_t)n);
	if (sent > 0)
		*offset += sent;
	return sent;
}

/* ---- recv -------------------------------------------------------------- */

/* The application reached the end of the stream: the alert it calls for goes now. */
static ssize_t record_rx_end(struct ktls_conn *conn)
{
	int ret = proto_rx_end(conn);

	record_flush_control(conn);
	return ret;
}

/*
 * One recvmsg with room for the record-type control message.  A control
 * record must fit whole, so reads into a caller buffer smaller than a record
 * go through rxbuf (allocated on first need, so idle connections do not pay).
 */
static ssize_t record_recv_kernel(struct ktls_conn *conn, void *buf, size_t len)
{
	bool direct = len >= RECORD_MAX_PLAINTEXT;

	for (;;) {
		unsigned char *dst = buf, type;
		enum proto_verdict v;
		bool got;
		ssize_t n;

		/* Failing here loses nothing: the record stays queued in the kernel. */
		if (!direct) {
			if (rxbuf_reserve(conn, RECORD_MAX_PLAINTEXT) < 0)
				return error_conn(conn, -ENOMEM, "out of memory");
			dst = rxbuf_tail(conn);
		}
		n = kernel_recv(conn->fd, dst, direct ? len : RECORD_MAX_PLAINTEXT, 0, &type, &got);
		if (n == -EAGAIN) {
			rxbuf_trim(conn);
			handshake_note_wants(conn, KTLS_WANT_READ);
			return -EAGAIN;
		}
		if (n < 0)
			v = proto_rx_kernel_error(conn, (int)-n);
		else if (!got)
			v = proto_rx_fin(conn, kernel_rx_pending(conn->fd));
		else
			v = proto_rx_record(conn, type, dst, (size_t)n);
		if (v == PROTO_NEXT) {
			/* A no_renegotiation or our KeyUpdate answer goes now, not with the next send. */
			if (proto_out_peek(conn) != NULL && record_flush_control(conn) == -EAGAIN &&
			    conn->tp.nonblocking)
				return -EAGAIN;
			continue;
		}
		if (v != PROTO_DATA) {
			rxbuf_trim(conn);
			return record_rx_end(conn);
		}
		/* A bad record behind this data ends the stream after it (kernel_take_error). */
		int err = kernel_take_error(conn->fd);

		if (err != 0)
			proto_rx_kernel_error(conn, err);
		if (!direct) {
			rxbuf_commit(conn, (size_t)n);
			n = (ssize_t)rxbuf_take(conn, buf, len);
		}
		rxbuf_trim(conn);
		return n;
	}
}

static ssize_t record_recv_userspace(struct ktls_conn *conn, void *buf, size_t len)
{
	for (;;) {
		enum proto_verdict v;
		ssize_t ret;

		transport_clear_would_block(conn);
		ret = gnutls_record_recv(conn->session, buf, len);
		v = proto_rx_gnutls(conn, ret);
		switch (v) {
		case PROTO_DATA:
			if (proto_out_peek(conn) != NULL)
				record_flush_control(conn);
			return ret;
		case PROTO_NEXT:
			/* A blocking fd waits in the next call; a no_renegotiation goes first. */
			if (record_flush_control(conn) == -EAGAIN && conn->tp.nonblocking)
				return -EAGAIN;
			continue;
		case PROTO_WAIT:
			handshake_note_wants(conn, KTLS_WANT_READ);
			return -EAGAIN;
		default:
			return record_rx_end(conn);
		}
	}
}

KTLS_EXPORT ssize_t ktls_conn_recv(struct ktls_conn *conn, void *buf, size_t len)
{
	int ret;

	if (conn == NULL)
		return -EINVAL;
	error_conn_begin(conn);
	if (buf == NULL && len > 0)
		return error_conn(conn, -EINVAL, "recv: buffer is NULL");
	ret = record_check_ready(conn);
	if (ret < 0)
		return ret;
	if (len == 0)
		return 0;
	/*
	 * A request still queued from the last send must leave before we wait
	 * for its reply; if it cannot, what was received still comes first.
	 */
	ret = record_flush(conn);
	if (ret == 0)
		ret = record_flush_held(conn);
	if (ret == 0)
		ret = record_flush(conn);
	if (ret < 0 && ret != -EAGAIN && rxbuf_held(conn) == 0)
		return ret;
	if (rxbuf_held(conn) > 0) {
		size_t n = rxbuf_take(conn, buf, len);

		rxbuf_trim(conn);
		return (ssize_t)n;
	}
	if (proto_rx_ended(conn))
		return record_rx_end(conn);
	if (conn->sw.rx.kernel)
		return record_recv_kernel(conn, buf, len);
	return record_recv_userspace(conn, buf, len);
}

/* ---- shutdown and rekey ------------------------------------------------ */

KTLS_EXPORT int ktls_conn_shutdown(struct ktls_conn *conn)
{
	int ret;

	if (conn == NULL)
		return -EINVAL;
	error_conn_begin(conn);
	if (conn->tp.mem == NULL && handshake_can_cancel(conn)) {
		/* A handshake left unfinished: user_canceled and close_notify (proto.c). */
		ret = proto_shutdown(conn);
		return ret < 0 ? ret : record_flush_control(conn);
	}
	ret = record_check_ready(conn);
	if (ret < 0)
		return ret;
	/* What GnuTLS holds of the last send, and what KTLS_SEND_MORE held, go before close_notify. */
	if (conn->tx_buffered > 0 && (ret = record_flush(conn)) < 0)
		return ret;
	if ((ret = record_flush_held(conn)) < 0)
		return ret;
	if (conn->tx_buffered > 0 && (ret = record_flush(conn)) < 0)
		return ret;
	ret = proto_shutdown(conn);
	if (ret < 0)
		return ret;
	return record_flush_control(conn);
}

KTLS_EXPORT int ktls_conn_rekey(struct ktls_conn *conn, bool request_peer)
{
	int ret;

	if (conn == NULL)
		return -EINVAL;
	error_conn_begin(conn);
	if (conn->hs.state != HANDSHAKE_DONE)
		return error_conn(conn, -EINVAL, "KeyUpdate needs a finished handshake");
	if (conn->sw.version != KTLS_VERSION_TLS13)
		return error_conn(conn, -EOPNOTSUPP, "KeyUpdate exists only in TLS 1.3");
	ret = proto_tx_check(conn, "KeyUpdate");
	if (ret < 0)
		return ret;
	if (conn->sw.tx.kernel && !probe_get()->tls13_rekey)
		return error_conn(conn, -EOPNOTSUPP,
				  "this kernel cannot change the key of a kTLS socket "
				  "(TLS 1.3 rekey needs Linux 6.14 or later)");
	ret = proto_key_update(conn, request_peer);
	if (ret < 0)
		return ret;
	/* A blocking fd sends it now; a non-blocking one may leave it for the next call. */
	ret = record_flush(conn);
	return ret == -EAGAIN && conn->tp.nonblocking ? 0 : ret;
}

KTLS_EXPORT size_t ktls_conn_pending(const struct ktls_conn *conn)
{
	if (conn == NULL || conn->hs.state != HANDSHAKE_DONE)
		return 0;
	return rxbuf_held(conn) + (conn->sw.rx.kernel ? 0 : gnutls_record_check_pending(conn->session));
}
