/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Application data: send, recv, sendfile, shutdown.  Each direction goes
 * straight to the socket when the kernel holds its key, and through GnuTLS's
 * record layer otherwise, behind the same calls.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "private.h"

/* ---- GnuTLS transport on our fd ---------------------------------------- */

/*
 * Once a direction belongs to the kernel, GnuTLS must never touch it again:
 * its sequence numbers are stale and a record it wrote would break the
 * stream.  Failing here turns such a bug into a clear error instead.
 */
static ssize_t record_pull(gnutls_transport_ptr_t ptr, void *buf, size_t len)
{
	struct ktls_conn *conn = ptr;
	ssize_t n;

	if (conn->rx.kernel) {
		gnutls_transport_set_errno(conn->session, EIO);
		return -1;
	}
	n = recv(conn->fd, buf, len, 0);
	conn->pull_would_block = n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
	if (n < 0) {
		conn->pull_errno = errno;
		gnutls_transport_set_errno(conn->session, errno);
	} else if (n == 0 && len > 0) {
		conn->peer_eof = true;
	}
	return n;
}

static ssize_t record_push(gnutls_transport_ptr_t ptr, const giovec_t *iov, int iovcnt)
{
	struct ktls_conn *conn = ptr;
	struct msghdr msg = { .msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)iovcnt };
	ssize_t n;

	if (conn->tx.kernel) {
		gnutls_transport_set_errno(conn->session, EIO);
		return -1;
	}
	n = sendmsg(conn->fd, &msg, MSG_NOSIGNAL);
	if (n < 0)
		gnutls_transport_set_errno(conn->session, errno);
	return n;
}

static int record_pull_timeout(gnutls_transport_ptr_t ptr, unsigned int ms)
{
	struct ktls_conn *conn = ptr;
	struct pollfd pfd = { .fd = conn->fd, .events = POLLIN };
	int ret;

	/* Never wait on a non-blocking fd: let the pull say EAGAIN instead. */
	if (conn->nonblocking)
		return 1;
	do
		ret = poll(&pfd, 1, ms == GNUTLS_INDEFINITE_TIMEOUT ? -1 : (int)ms);
	while (ret < 0 && errno == EINTR);
	if (ret < 0)
		gnutls_transport_set_errno(conn->session, errno);
	return ret;
}

/* ---- GnuTLS transport on memory (the io_uring engine) -------------------- */

static ssize_t record_pull_mem(gnutls_transport_ptr_t ptr, void *buf, size_t len)
{
	struct ktls_conn *conn = ptr;
	struct record_mem *mem = conn->mem;
	size_t n = mem->in_len < len ? mem->in_len : len;

	if (conn->rx.kernel) {
		gnutls_transport_set_errno(conn->session, EIO);
		return -1;
	}
	/* Empty memory is the engine's EAGAIN: record_recv_userspace must not spin on it. */
	conn->pull_would_block = n == 0 && !mem->eof;
	if (n == 0) {
		if (mem->eof) {
			conn->peer_eof = true;
			return 0;
		}
		gnutls_transport_set_errno(conn->session, EAGAIN);
		return -1;
	}
	memcpy(buf, mem->in + mem->in_off, n);
	mem->in_off += n;
	mem->in_len -= n;
	if (mem->in_len == 0)
		mem->in_off = 0;
	return (ssize_t)n;
}

static ssize_t record_push_mem(gnutls_transport_ptr_t ptr, const giovec_t *iov, int iovcnt)
{
	struct ktls_conn *conn = ptr;
	struct record_mem *mem = conn->mem;
	size_t total = 0;

	if (conn->tx.kernel) {
		gnutls_transport_set_errno(conn->session, EIO);
		return -1;
	}
	for (int i = 0; i < iovcnt; i++)
		total += iov[i].iov_len;
	if (mem->out_off + mem->out_len + total > mem->out_cap) {
		size_t need = mem->out_len + total, cap = mem->out_cap ? mem->out_cap : 4096;
		unsigned char *grown;

		while (cap < need)
			cap *= 2;
		if (need > mem->out_max || (grown = malloc(cap)) == NULL) {
			gnutls_transport_set_errno(conn->session, ENOBUFS);
			return -1;
		}
		if (mem->out_len > 0)
			memcpy(grown, mem->out + mem->out_off, mem->out_len);
		free(mem->out);
		mem->out = grown;
		mem->out_cap = cap;
		mem->out_off = 0;
	}
	for (int i = 0; i < iovcnt; i++) {
		memcpy(mem->out + mem->out_off + mem->out_len, iov[i].iov_base, iov[i].iov_len);
		mem->out_len += iov[i].iov_len;
	}
	return (ssize_t)total;
}

void record_set_transport_mem(struct ktls_conn *conn, struct record_mem *mem)
{
	conn->mem = mem;
	conn->nonblocking = true;
	gnutls_transport_set_ptr(conn->session, conn);
	gnutls_transport_set_pull_function(conn->session, record_pull_mem);
	gnutls_transport_set_vec_push_function(conn->session, record_push_mem);
}

void record_set_transport(struct ktls_conn *conn)
{
	/* Custom functions also keep GnuTLS's own kTLS (if built in) off our socket. */
	gnutls_transport_set_ptr(conn->session, conn);
	gnutls_transport_set_pull_function(conn->session, record_pull);
	gnutls_transport_set_vec_push_function(conn->session, record_push);
	gnutls_transport_set_pull_timeout_function(conn->session, record_pull_timeout);
}

/* ---- send -------------------------------------------------------------- */

/*
 * Data bytes per record GnuTLS may send.  GnuTLS 3.7 fills TLS 1.3 records
 * to the peer's record_size_limit without counting the content-type byte
 * that RFC 8449 section 4 counts, one byte too many: the limit computed at
 * the switch caps it.
 */
size_t record_max_payload(struct ktls_conn *conn)
{
	size_t max = gnutls_record_get_max_size(conn->session);

	return conn->tx_payload_max > 0 && conn->tx_payload_max < max ? conn->tx_payload_max : max;
}

static int record_check_ready(struct ktls_conn *conn)
{
	if (conn->mem != NULL)
		return error_conn(conn, -EINVAL,
				  "the connection is driven by an io_uring engine (ktls_conn_ring_*)");
	if (conn->state == CONN_READY)
		return 0;
	if (conn->state == CONN_FAILED)
		return conn->failure;
	return error_conn(conn, -EINVAL, "no data can move before the handshake completes");
}

/*
 * Push out a record GnuTLS encrypted but could not finish writing.  Returns
 * 0 when nothing is left, -EAGAIN (and wants WRITE) while the socket is full.
 */
static int record_flush(struct ktls_conn *conn)
{
	ssize_t ret;

	if (conn->tx_buffered == 0)
		return 0;
	ret = gnutls_record_send(conn->session, NULL, 0);
	if (ret == GNUTLS_E_AGAIN || ret == GNUTLS_E_INTERRUPTED) {
		conn->wants = KTLS_WANT_WRITE;
		return error_from_gnutls((int)ret);
	}
	conn->tx_buffered = 0;
	conn->wants = 0;
	if (ret < 0)
		return error_conn(conn, error_from_gnutls((int)ret), "send: %s",
				  gnutls_strerror((int)ret));
	return 0;
}

/*
 * GnuTLS encrypts a record before it tries to write it; when the socket is
 * full it keeps the rest of that record and wants to be called again.  Those
 * bytes are reported as accepted, so callers get send(2)-like counts instead
 * of GnuTLS's "call again with the same data"; what is still queued goes out
 * with ktls_conn_flush() or the next send, recv or shutdown.
 */
static ssize_t record_send_userspace(struct ktls_conn *conn, const void *buf, size_t len)
{
	size_t done = 0;
	ssize_t ret;

	ret = record_flush(conn);
	if (ret < 0)
		return ret;
	while (done < len) {
		size_t chunk = len - done;
		size_t max = record_max_payload(conn);

		if (chunk > max)
			chunk = max;
		ret = gnutls_record_send(conn->session, (const char *)buf + done, chunk);
		if (ret == GNUTLS_E_AGAIN || ret == GNUTLS_E_INTERRUPTED) {
			conn->tx_buffered = chunk;
			conn->wants = KTLS_WANT_WRITE;
			return (ssize_t)(done + chunk);
		}
		if (ret < 0)
			return error_conn(conn, error_from_gnutls((int)ret), "send: %s",
					  gnutls_strerror((int)ret));
		done += (size_t)ret;
	}
	return (ssize_t)done;
}

KTLS_EXPORT int ktls_conn_flush(struct ktls_conn *conn)
{
	int ret;

	if (conn == NULL)
		return -EINVAL;
	ret = record_check_ready(conn);
	if (ret < 0)
		return ret;
	return record_flush(conn);
}

static ssize_t record_send_kernel(struct ktls_conn *conn, const void *buf, size_t len)
{
	ssize_t n;

	do
		n = send(conn->fd, buf, len, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n >= 0) {
		/* A limit reached here fails the next call; these bytes are sent. */
		rekey_tx_account(conn, 1, (uint64_t)n);
		return n;
	}
	if (errno == EAGAIN)
		return -EAGAIN;
	return error_conn(conn, -errno, "send: %s", strerror(errno));
}

KTLS_EXPORT ssize_t ktls_conn_send(struct ktls_conn *conn, const void *buf, size_t len)
{
	int ret;

	if (conn == NULL)
		return -EINVAL;
	if (buf == NULL && len > 0)
		return error_conn(conn, -EINVAL, "send: buffer is NULL");
	ret = record_check_ready(conn);
	if (ret < 0)
		return ret;
	if (conn->tx_error < 0)
		return conn->tx_error;
	if (conn->tx_closed)
		return error_conn(conn, -EPIPE, "send after shutdown");
	if (conn->tx.kernel)
		return record_send_kernel(conn, buf, len);
	return record_send_userspace(conn, buf, len);
}

/* ---- sendfile ---------------------------------------------------------- */

/*
 * The kernel encrypts page-cache pages; nothing enters userspace.
 * sendfile(2) has no MSG_NOSIGNAL, and a library must not kill its caller
 * when the peer has gone: SIGPIPE is blocked for this thread during the call
 * and a SIGPIPE it raised is consumed before the mask is restored.
 */
static ssize_t record_sendfile_kernel(struct ktls_conn *conn, int file_fd, off_t *offset,
				      size_t count)
{
	static const struct timespec no_wait = { 0, 0 };
	sigset_t pipe_set, old_set, pending;
	bool was_pending;
	ssize_t n;
	int err;

	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, &old_set);
	sigpending(&pending);
	was_pending = sigismember(&pending, SIGPIPE) == 1;
	do
		n = sendfile(conn->fd, file_fd, offset, count);
	while (n < 0 && errno == EINTR);
	err = errno;
	if (n < 0 && err == EPIPE && !was_pending)
		sigtimedwait(&pipe_set, NULL, &no_wait);
	pthread_sigmask(SIG_SETMASK, &old_set, NULL);

	if (n >= 0) {
		rekey_tx_account(conn, 1, (uint64_t)n);
		return n;
	}
	if (err == EAGAIN)
		return -EAGAIN;
	return error_conn(conn, -err, "sendfile: %s", strerror(err));
}

KTLS_EXPORT ssize_t ktls_conn_sendfile(struct ktls_conn *conn, int file_fd, off_t *offset,
				       size_t count)
{
	unsigned char buf[RECORD_MAX_PLAINTEXT];
	ssize_t n, sent;
	int ret;

	if (conn == NULL)
		return -EINVAL;
	if (offset == NULL || file_fd < 0 || *offset < 0)
		return error_conn(conn, -EINVAL, "sendfile: needs a file descriptor and an offset >= 0");
	ret = record_check_ready(conn);
	if (ret < 0)
		return ret;
	if (conn->tx_error < 0)
		return conn->tx_error;
	if (conn->tx_closed)
		return error_conn(conn, -EPIPE, "sendfile after shutdown");

	if (conn->tx.kernel)
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
	sent = record_send_userspace(conn, buf, (size_t)n);
	explicit_bzero(buf, (size_t)n);
	if (sent > 0)
		*offset += sent;
	return sent;
}

/* ---- recv -------------------------------------------------------------- */

int record_reserve(struct ktls_conn *conn, size_t size)
{
	unsigned char *grown;

	if (conn->rx_cap >= size)
		return 0;
	/* realloc could leave a copy of plaintext behind: move it by hand. */
	grown = malloc(size);
	if (grown == NULL)
		return -ENOMEM;
	if (conn->rx_buf != NULL) {
		memcpy(grown, conn->rx_buf + conn->rx_off, conn->rx_len);
		explicit_bzero(conn->rx_buf, conn->rx_cap);
		free(conn->rx_buf);
	}
	conn->rx_buf = grown;
	conn->rx_cap = size;
	conn->rx_off = 0;
	return 0;
}

/* Plaintext already held in userspace goes out first, in order. */
size_t record_take_buffered(struct ktls_conn *conn, void *buf, size_t len)
{
	size_t n = conn->rx_len < len ? conn->rx_len : len;

	memcpy(buf, conn->rx_buf + conn->rx_off, n);
	explicit_bzero(conn->rx_buf + conn->rx_off, n);
	conn->rx_off += n;
	conn->rx_len -= n;
	if (conn->rx_len == 0)
		conn->rx_off = 0;
	return n;
}

ssize_t record_recv_userspace(struct ktls_conn *conn, void *buf, size_t len)
{
	ssize_t ret;

	for (;;) {
		conn->pull_would_block = false;
		ret = gnutls_record_recv(conn->session, buf, len);
		if (conn->ticket_pending)
			resume_client_save(conn);
		if (conn->peer_wants_update) {
			/* GnuTLS followed the peer's KeyUpdate; ours goes by the kernel. */
			int err = rekey_answer_in_kernel(conn);

			if (err < 0) {
				conn->rx_error = err;
				return err;
			}
		}
		if (ret >= 0) {
			if (ret == 0)
				conn->rx_eof = true;
			return ret;
		}
		switch (ret) {
		case GNUTLS_E_AGAIN:
			/*
			 * GnuTLS also says AGAIN after a post-handshake message
			 * (a TLS 1.3 NewSessionTicket) with no data behind it; on
			 * a blocking fd only the socket's own EAGAIN (SO_RCVTIMEO)
			 * is the caller's to see.
			 */
			if (!conn->nonblocking && !conn->pull_would_block)
				continue;
			return -EAGAIN;
		case GNUTLS_E_INTERRUPTED:
			return -EINTR;
		case GNUTLS_E_WARNING_ALERT_RECEIVED:
			continue;
		case GNUTLS_E_REHANDSHAKE:
			/* TLS 1.2 HelloRequest: decline (RFC 5246 section 7.2.2). */
			gnutls_alert_send(conn->session, GNUTLS_AL_WARNING,
					  GNUTLS_A_NO_RENEGOTIATION);
			continue;
		case GNUTLS_E_FATAL_ALERT_RECEIVED: {
			char text[128];

			conn->rx_error = error_conn(
				conn, -ECONNABORTED, "peer sent fatal alert %s",
				error_alert_text(gnutls_alert_get(conn->session), text, sizeof(text)));
			return conn->rx_error;
		}
		case GNUTLS_E_PREMATURE_TERMINATION:
			conn->rx_error = error_conn(conn, -ECONNRESET,
						    "peer closed the connection without close_notify");
			return conn->rx_error;
		default:
			if (gnutls_error_is_fatal((int)ret) == 0)
				continue;
			if (ret == GNUTLS_E_PULL_ERROR && conn->pull_errno == ECONNRESET)
				conn->rx_error = error_conn(
					conn, -ECONNRESET,
					"peer reset the connection without close_notify (ECONNRESET)");
			else if (ret == GNUTLS_E_PULL_ERROR && conn->pull_errno != 0)
				conn->rx_error = error_conn(conn, -conn->pull_errno, "recv: %s",
							    strerror(conn->pull_errno));
			else
				conn->rx_error = error_conn(conn, error_from_gnutls((int)ret),
							    "recv: %s", gnutls_strerror((int)ret));
			return conn->rx_error;
		}
	}
}

KTLS_EXPORT ssize_t ktls_conn_recv(struct ktls_conn *conn, void *buf, size_t len)
{
	int ret;

	if (conn == NULL)
		return -EINVAL;
	if (buf == NULL && len > 0)
		return error_conn(conn, -EINVAL, "recv: buffer is NULL");
	ret = record_check_ready(conn);
	if (ret < 0)
		return ret;
	if (len == 0)
		return 0;
	/* A request still queued from the last send must leave before we wait for its reply. */
	if (conn->tx_buffered > 0) {
		ret = record_flush(conn);
		if (ret < 0 && ret != -EAGAIN && ret != -EINTR)
			return ret;
	}
	if (conn->rx_len > 0)
		return (ssize_t)record_take_buffered(conn, buf, len);
	if (conn->rx_error < 0)
		return conn->rx_error;
	if (conn->rx_eof)
		return 0;
	if (conn->rx.kernel)
		return offload_recv(conn, buf, len);
	return record_recv_userspace(conn, buf, len);
}

/* ---- shutdown ---------------------------------------------------------- */

KTLS_EXPORT int ktls_conn_shutdown(struct ktls_conn *conn)
{
	int ret;

	if (conn == NULL)
		return -EINVAL;
	ret = record_check_ready(conn);
	if (ret < 0)
		return ret;
	if (conn->tx_closed)
		return 0;
	ret = record_flush(conn);
	if (ret < 0)
		return ret;

	if (conn->tx.kernel) {
		ret = offload_send_alert(conn, GNUTLS_AL_WARNING, GNUTLS_A_CLOSE_NOTIFY);
	} else {
		ret = gnutls_bye(conn->session, GNUTLS_SHUT_WR);
		if (ret < 0 && ret != GNUTLS_E_AGAIN && ret != GNUTLS_E_INTERRUPTED)
			ret = error_conn(conn, error_from_gnutls(ret), "close_notify: %s",
					 gnutls_strerror(ret));
		else
			ret = error_from_gnutls(ret);
	}
	if (ret == 0)
		conn->tx_closed = true;
	return ret;
}

KTLS_EXPORT size_t ktls_conn_pending(const struct ktls_conn *conn)
{
	if (conn == NULL || conn->state != CONN_READY)
		return 0;
	return conn->rx_len + (conn->rx.kernel ? 0 : gnutls_record_check_pending(conn->session));
}
