/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * GnuTLS's transport: the functions through which GnuTLS reads and writes
 * records, on the connection's fd (the blocking and non-blocking calls) or
 * on memory that the io_uring engine fills and drains.  GnuTLS writes the
 * handshake, and after it whatever direction the kernel did not take.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "private.h"

/*
 * Once a direction belongs to the kernel, GnuTLS must never touch it again:
 * its sequence numbers are stale and a record it wrote would break the
 * stream.  Failing here turns such a bug into a clear error instead.
 */
static bool transport_refuse(struct ktls_conn *conn, bool rx)
{
	if (!(rx ? conn->sw.rx.kernel : conn->sw.tx.kernel))
		return false;
	gnutls_transport_set_errno(conn->session, EIO);
	return true;
}

/* While the peer's handshake is in the clear, hello.c sees what GnuTLS reads. */
static void transport_scan_hello(struct ktls_conn *conn, const void *buf, size_t n)
{
	if (conn->hs.hello.stage != HELLO_SCAN_DONE && conn->hs.state == HANDSHAKE_RUNNING)
		hello_scan_feed(&conn->hs.hello, buf, n);
}

/*
 * A message hello.c refused is never read further: the pull says EAGAIN at
 * once, even on a blocking fd, and handshake_step() sends the alert.
 */
static bool transport_hello_refused(struct ktls_conn *conn)
{
	if (conn->hs.hello.verdict == HELLO_FINE || conn->hs.state != HANDSHAKE_RUNNING)
		return false;
	gnutls_transport_set_errno(conn->session, EAGAIN);
	return true;
}

/* ---- on the fd ------------------------------------------------------------- */

static ssize_t transport_pull(gnutls_transport_ptr_t ptr, void *buf, size_t len)
{
	struct ktls_conn *conn = ptr;
	ssize_t n;

	if (transport_refuse(conn, true) || transport_hello_refused(conn))
		return -1;
	n = recv(conn->fd, buf, len, 0);
	conn->tp.would_block = n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
	if (n > 0)
		transport_scan_hello(conn, buf, (size_t)n);
	if (n < 0) {
		conn->tp.pull_errno = errno;
		gnutls_transport_set_errno(conn->session, errno);
	} else if (n == 0 && len > 0) {
		conn->tp.peer_eof = true;
	}
	return n;
}

static ssize_t transport_push(gnutls_transport_ptr_t ptr, const giovec_t *iov, int iovcnt)
{
	struct ktls_conn *conn = ptr;
	struct msghdr msg = { .msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)iovcnt };
	ssize_t n;

	if (transport_refuse(conn, false))
		return -1;
	n = sendmsg(conn->fd, &msg, MSG_NOSIGNAL);
	if (n < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			conn->tp.push_errno = errno;
		gnutls_transport_set_errno(conn->session, errno);
	}
	return n;
}

static int transport_pull_timeout(gnutls_transport_ptr_t ptr, unsigned int ms)
{
	struct ktls_conn *conn = ptr;
	struct pollfd pfd = { .fd = conn->fd, .events = POLLIN };
	int ret;

	/* Never wait on a non-blocking fd: let the pull say EAGAIN instead. */
	if (conn->tp.nonblocking)
		return 1;
	do
		ret = poll(&pfd, 1, ms == GNUTLS_INDEFINITE_TIMEOUT ? -1 : (int)ms);
	while (ret < 0 && errno == EINTR);
	if (ret < 0)
		gnutls_transport_set_errno(conn->session, errno);
	return ret;
}

void transport_set_fd(struct ktls_conn *conn)
{
	conn->tp.mem = NULL;
	/* Custom functions also keep GnuTLS's own kTLS (if built in) off our socket. */
	gnutls_transport_set_ptr(conn->session, conn);
	gnutls_transport_set_pull_function(conn->session, transport_pull);
	gnutls_transport_set_vec_push_function(conn->session, transport_push);
	gnutls_transport_set_pull_timeout_function(conn->session, transport_pull_timeout);
}

void transport_check_blocking(struct ktls_conn *conn)
{
	conn->tp.nonblocking = conn->tp.mem != NULL || (fcntl(conn->fd, F_GETFL) & O_NONBLOCK) != 0;
}

void transport_clear_would_block(struct ktls_conn *conn)
{
	conn->tp.would_block = false;
}

/* ---- on memory (the io_uring engine) ---------------------------------------- */

static ssize_t transport_pull_mem(gnutls_transport_ptr_t ptr, void *buf, size_t len)
{
	struct ktls_conn *conn = ptr;
	struct transport_mem *mem = conn->tp.mem;
	size_t n = mem->in_len < len ? mem->in_len : len;

	if (transport_refuse(conn, true) || transport_hello_refused(conn))
		return -1;
	/* Empty memory is the engine's EAGAIN: callers must not spin on it. */
	conn->tp.would_block = n == 0 && !mem->eof;
	if (n == 0) {
		if (mem->eof) {
			conn->tp.peer_eof = true;
			return 0;
		}
		gnutls_transport_set_errno(conn->session, EAGAIN);
		return -1;
	}
	memcpy(buf, mem->in + mem->in_off, n);
	transport_scan_hello(conn, buf, n);
	mem->in_off += n;
	mem->in_len -= n;
	if (mem->in_len == 0)
		mem->in_off = 0;
	return (ssize_t)n;
}

static ssize_t transport_push_mem(gnutls_transport_ptr_t ptr, const giovec_t *iov, int iovcnt)
{
	struct ktls_conn *conn = ptr;
	struct transport_mem *mem = conn->tp.mem;
	size_t total = 0;

	if (transport_refuse(conn, false))
		return -1;
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

static int transport_pull_timeout_mem(gnutls_transport_ptr_t ptr, unsigned int ms)
{
	(void)ptr;
	(void)ms;
	return 1; /* the pull answers at once: data or EAGAIN */
}

void transport_set_mem(struct ktls_conn *conn, struct transport_mem *mem)
{
	conn->tp.mem = mem;
	conn->tp.nonblocking = true;
	gnutls_transport_set_ptr(conn->session, conn);
	gnutls_transport_set_pull_function(conn->session, transport_pull_mem);
	gnutls_transport_set_vec_push_function(conn->session, transport_push_mem);
	gnutls_transport_set_pull_timeout_function(conn->session, transport_pull_timeout_mem);
}

int transport_push_errno(const struct ktls_conn *conn)
{
	return conn->tp.push_errno;
}

size_t transport_buffered(const struct ktls_conn *conn)
{
	return conn->tp.mem != NULL ? conn->tp.mem->in_len : 0;
}

/* ---- what GnuTLS sends ---------------------------------------------------------- */

/*
 * Data bytes per record GnuTLS may send.  GnuTLS 3.7 fills TLS 1.3 records
 * to the peer's record_size_limit without counting the content-type byte
 * that RFC 8449 section 4 counts, one byte too many: the limit computed at
 * the switch caps it.
 */
size_t transport_max_payload(struct ktls_conn *conn)
{
	size_t max = gnutls_record_get_max_size(conn->session);

	return conn->sw.tx_payload_max > 0 && conn->sw.tx_payload_max < max ? conn->sw.tx_payload_max
									     : max;
}

int transport_gnutls_out(struct ktls_conn *conn, const struct proto_out *out)
{
	int ret;

	switch (out->type) {
	case PROTO_GNUTLS_ALERT:
		ret = gnutls_alert_send(conn->session, out->data[0], out->data[1]);
		break;
	case PROTO_GNUTLS_BYE:
		ret = gnutls_bye(conn->session, GNUTLS_SHUT_WR);
		break;
	default: /* PROTO_GNUTLS_KEY_UPDATE */
		ret = gnutls_session_key_update(conn->session, out->data[0]);
		break;
	}
	if (ret == GNUTLS_E_AGAIN || ret == GNUTLS_E_INTERRUPTED)
		return -EAGAIN;
	return ret < 0 ? error_from_gnutls(ret) : 0;
}
