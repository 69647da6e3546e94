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

static int ring_submit_send_user(struct ring_op *op)
{
	struct io_uring_sqe *sqe = ring_sqe2(op->rc->ring);

	if (sqe == NULL)
		return -EBUSY;
	if (ring_zc_usable() == 1)
		io_uring_prep_send_zc(sqe, op->rc->conn->fd, op->buf + op->done, op->len - op->done,
				      MSG_NOSIGNAL, 0);
	else
		io_uring_prep_send(sqe, op->rc->conn->fd, op->buf + op->done, op->len - op->done,
				   MSG_NOSIGNAL);
	op->stage = ST_SEND_USER;
	ring_arm(op, sqe, true);
	return 0;
}

/* Encrypt up to KTLS_RING_TX_CHUNK bytes of @data into mem.out (TX in GnuTLS). */
static ssize_t ring_encrypt(struct ring_op *op, const unsigned char *data, size_t len)
{
	struct ktls_conn *conn = op->rc->conn;
	size_t done = 0, max = transport_max_payload(conn);

	if (len > KTLS_RING_TX_CHUNK)
		len = KTLS_RING_TX_CHUNK;
	while (done < len) {
		size_t chunk = len - done < max ? len - done : max;
		ssize_t n = gnutls_record_send(conn->session, data + done, chunk);

		if (n < 0)
			return error_conn(conn, error_from_gnutls((int)n), "send: %s",
					  gnutls_strerror((int)n));
		done += (size_t)n;
	}
	return (ssize_t)done;
}

static void ring_send_advance(struct ring_op *op)
{
	struct ktls_conn *conn = op->rc->conn;
	struct transport_mem *mem = &op->rc->mem;

	if (mem->out_len > 0) {
		ring_check(op, ring_submit_send_mem(op));
		return;
	}
	if (ring_tx_prelude(op))
		return;
	if (op->done == op->len) {
		ring_finish(op, (ssize_t)op->len, NULL, 0);
		return;
	}
	if (conn->sw.tx.kernel) {
		ring_check(op, ring_submit_send_user(op));
		return;
	}
	ssize_t n = ring_encrypt(op, op->buf + op->done, op->len - op->done);

	if (n < 0) {
		ring_finish(op, n, NULL, 0);
		return;
	}
	op->done += (size_t)n;
	ring_check(op, ring_submit_send_mem(op));
}

static void ring_send_complete(struct ring_op *op, int res, unsigned int flags)
{
	if (flags & IORING_CQE_F_MORE)
		op->zc_notifs++;
	if (ring_retry_or_fail(op, res, POLLOUT))
		return;
	op->done += (size_t)res;
	/* The AEAD usage limit may queue a KeyUpdate, sent before the next step. */
	proto_tx_account(op->rc->conn, 1, (uint64_t)res);
	op->ops->advance(op);
}

static const struct ring_op_ops ring_send_ops = {
	.name = "send",
	.advance = ring_send_advance,
	.complete = ring_send_complete,
};

KTLS_EXPORT int ktls_conn_ring_send(struct ktls_conn *conn, const void *buf, size_t len,
				    unsigned int timeout_ms, ktls_ring_cb cb, void *userdata)
{
	struct ring_op *op;
	int ret;

	if (conn != NULL && buf == NULL && len > 0)
		return error_conn(conn, -EINVAL, "send: buffer is NULL");
	ret = ring_op_start(conn, &op, false, RING_OP_SEND, &ring_send_ops, timeout_ms, cb,
			    userdata);
	if (ret < 0)
		return ret;
	ret = proto_tx_check(conn, "send");
	if (ret < 0) {
		op->active = false;
		op->type = RING_OP_NONE;
		return ret;
	}
	op->buf = buf;
	op->len = len;
	op->progress_resets = true;
	ring_op_kick(op);
	ring_rx_watch(conn->ring);
	return 0;
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
	size_t want = op->len - op->done, chunk = splice ? RING_PIPE_SIZE : KTLS_RING_TX_CHUNK;
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
	sqe = ring_sqe(op->rc->ring);
	if (sqe == NULL)
		return -EBUSY;
	if (want > chunk)
		want = chunk;
	op->asked = want;
	if (splice) {
		io_uring_prep_splice(sqe, op->file_fd, (int64_t)at, op->pipe[1], -1,
				     (unsigned int)want, SPLICE_F_MOVE);
		op->stage = ST_SPLICE_IN;
	} else {
		io_uring_prep_read(sqe, op->file_fd, op->plain, (unsigned int)want, (__u64)at);
		op->stage = ST_READ;
	}
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

static void ring_sendfile_complete(struct ring_op *op, int res, unsigned int flags)
{
	struct ktls_conn *conn = op->rc->conn;

	(void)flags;
	switch (op->stage) {
	case ST_SPLICE_IN:
	case ST_READ:
		if (res <= 0) {
			ring_fail(op, res == 0 ? -ENODATA : res, "sendfile: reading the file");
			return;
		}
		op->short_read = (size_t)res < op->asked;
		if (op->stage == ST_SPLICE_IN || conn->sw.tx.kernel) {
			op->in_pipe = (size_t)res;
			op->plain_off = 0;
		} else {
			ssize_t n = ring_encrypt(op, op->plain, (size_t)res);

			explicit_bzero(op->plain, (size_t)res);
			if (n < 0) {
				ring_finish(op, n, NULL, 0);
				return;
			}
			op->done += (size_t)n;
		}
		break;
	default: /* ST_SPLICE_OUT, ST_SEND_PLAIN */
		if (ring_retry_or_fail(op, res, POLLOUT))
			return;
		op->in_pipe -= (size_t)res;
		op->plain_off += (size_t)res;
		op->done += (size_t)res;
		if (conn->sw.tx.kernel)
			proto_tx_account(conn, 1, (uint64_t)res);
		break;
	}
	ring_sendfile_advance(op);
}

static const struct ring_op_ops ring_sendfile_ops = {
	.name = "sendfile",
	.advance = ring_sendfile_advance,
	.complete = ring_sendfile_complete,
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
		ret = ring_pipe_get(conn->ring->ring, op->pipe);
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
	if (!op->hs_done) {
		/* Queued once; what is queued before it goes first. */
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
