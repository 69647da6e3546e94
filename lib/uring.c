/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The io_uring engine: every byte of a connection moves through ring
 * completions.  During the handshake GnuTLS reads and writes memory
 * (record.c's memory transport) that ring RECV fills and ring SEND drains;
 * after it, each direction goes to the kernel's TLS (SEND, RECVMSG with the
 * record-type control message, SPLICE through a pipe for files) or stays in
 * GnuTLS over the same memory transport.
 *
 * Every SQE carries user_data = KTLS_RING_USER_DATA_TAG << 56 | pointer |
 * kind: the pointer is a struct uring_op (8-byte aligned) or a struct
 * uring_accept, the low three bits say which SQE of it completed.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <liburing.h>

#include "private.h"

#define TAG_SHIFT 56
#define KIND_MASK 7u
/* What completed: the op's main SQE, its linked timeout, or a cancel request. */
enum uring_kind {
	KIND_MAIN = 0,
	KIND_TIMEOUT = 1,
	KIND_CANCEL = 2,
	KIND_ACCEPT = 3,
	KIND_ACCEPT_WAIT = 4, /* a pause before accepting again, after EMFILE */
};

/* A TLS record on the wire: header plus the largest ciphertext (RFC 8446 section 5.2). */
#define RECORD_HEADER 5
#define RECORD_WIRE_MAX (RECORD_HEADER + RECORD_MAX_PLAINTEXT + 256)
/* Pipes for kernel sendfile: reused across operations, at most this many kept. */
#define PIPE_POOL_MAX 8
#define PIPE_SIZE (1024 * 1024)
/* Receive buffers kept for reuse by the ring (not per connection). */
#define RBUF_POOL_MAX 16

enum uring_type {
	OP_NONE = 0,
	OP_HANDSHAKE,
	OP_SEND,
	OP_SENDFILE,
	OP_SHUTDOWN,
	OP_RECV,
};

/* What the op's main SQE in flight is. */
enum uring_stage {
	ST_NOP,        /* deferred work or a deferred result */
	ST_POLL,       /* waiting for POLLIN / POLLOUT */
	ST_RECV,       /* RECV into mem.in */
	ST_SEND,       /* SEND of mem.out (GnuTLS records) */
	ST_SEND_USER,  /* SEND of the caller's buffer (kernel TX) */
	ST_RECVMSG,    /* RECVMSG with kernel RX */
	ST_SPLICE_IN,  /* file -> pipe */
	ST_SPLICE_OUT, /* pipe -> socket */
	ST_READ,       /* file -> plaintext buffer (no pipe, or userspace sendfile) */
	ST_SEND_PLAIN, /* plaintext buffer -> kernel TLS socket (no pipe) */
};

struct uring_conn;

struct uring_op {
	struct uring_conn *uc;
	enum uring_type type;
	enum uring_stage stage;
	bool active;    /* started, callback not yet called */
	bool in_flight; /* the main SQE has not completed */
	bool starting;  /* inside the call that started it: results are deferred */
	bool cancelled;
	bool hs_done;   /* handshake: GnuTLS finished */
	ssize_t result; /* ST_NOP with a deferred result */
	bool has_result;
	ktls_ring_cb cb;
	void *userdata;
	unsigned int timeout_ms;
	uint64_t deadline_ns; /* 0: none */
	bool progress_resets; /* send/sendfile: the timeout counts from the last progress */
	struct __kernel_timespec ts;
	int zc_notifs; /* zero-copy notifications still to come */

	/* send */
	const unsigned char *buf;
	size_t len, done;
	/* sendfile */
	int file_fd;
	off_t offset;
	int pipe[2];
	size_t in_pipe;       /* bytes read (into the pipe, or plain) but not sent */
	size_t asked;         /* bytes the last file read asked for */
	bool short_read;      /* ... and it returned fewer: the file may end there */
	unsigned char *plain; /* file bytes read to userspace: before GnuTLS, or without a pipe */
	size_t plain_off;
	/* recv */
	size_t max;
	unsigned char *rbuf;
	struct msghdr msg;
	struct iovec iov;
	char control[CMSG_SPACE(sizeof(unsigned char))];
};

struct uring_conn {
	struct ktls_ring *ring;
	struct ktls_conn *conn; /* NULL once the conn is freed (settling) */
	struct record_mem mem;
	struct uring_op tx, rx;
	int sqes; /* SQEs whose CQE has not come */
	struct uring_conn *next_orphan;
};

struct uring_accept {
	struct ktls_ring *ring;
	int fd;
	ktls_accept_cb cb;
	void *userdata;
	bool stopping;
	bool waiting;
	struct __kernel_timespec pause;
	struct uring_accept *next;
};

struct ktls_ring {
	struct io_uring *uring;
	struct io_uring own;
	bool owned;
	struct uring_accept *accepts;
	struct uring_conn *orphans;
	int pipes[PIPE_POOL_MAX][2];
	int n_pipes;
	unsigned char *rbufs[RBUF_POOL_MAX];
	int n_rbufs;
	unsigned char deliver[RECORD_MAX_PLAINTEXT]; /* plaintext handed to a recv callback */
};

static uint64_t uring_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t uring_tag(void *ptr, enum uring_kind kind)
{
	return (uint64_t)KTLS_RING_USER_DATA_TAG << TAG_SHIFT | (uint64_t)(uintptr_t)ptr | kind;
}

/* An SQE, submitting what is queued first when the queue is full. */
static struct io_uring_sqe *uring_sqe(struct ktls_ring *ring)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring->uring);

	if (sqe == NULL) {
		io_uring_submit(ring->uring);
		sqe = io_uring_get_sqe(ring->uring);
	}
	return sqe;
}

/* ---- receive buffers and pipes, pooled per ring ------------------------- */

static unsigned char *uring_rbuf_get(struct ktls_ring *ring)
{
	if (ring->n_rbufs > 0)
		return ring->rbufs[--ring->n_rbufs];
	return malloc(RECORD_WIRE_MAX);
}

static void uring_rbuf_put(struct ktls_ring *ring, unsigned char *buf, size_t used)
{
	if (buf == NULL)
		return;
	explicit_bzero(buf, used);
	if (ring->n_rbufs < RBUF_POOL_MAX)
		ring->rbufs[ring->n_rbufs++] = buf;
	else
		free(buf);
}

static int uring_pipe_get(struct ktls_ring *ring, int ret_pipe[2])
{
	if (ring->n_pipes > 0) {
		ring->n_pipes--;
		ret_pipe[0] = ring->pipes[ring->n_pipes][0];
		ret_pipe[1] = ring->pipes[ring->n_pipes][1];
		return 0;
	}
	if (pipe2(ret_pipe, O_CLOEXEC) != 0)
		return -errno;
	/* Larger pipes mean fewer splices; the default (64 KiB) still works. */
	(void)fcntl(ret_pipe[1], F_SETPIPE_SZ, PIPE_SIZE);
	return 0;
}

/* A pipe still holding bytes (an operation that failed half-way) is closed, not reused. */
static void uring_pipe_put(struct ktls_ring *ring, int p[2], bool empty)
{
	if (p[0] < 0)
		return;
	if (empty && ring->n_pipes < PIPE_POOL_MAX) {
		ring->pipes[ring->n_pipes][0] = p[0];
		ring->pipes[ring->n_pipes][1] = p[1];
		ring->n_pipes++;
	} else {
		close(p[0]);
		close(p[1]);
	}
	p[0] = p[1] = -1;
}

/* ---- memory transport buffers ------------------------------------------ */

/*
 * mem.in with at least @cap bytes, compacted.  GnuTLS takes partial records,
 * so a small buffer is enough for the handshake (HANDSHAKE_IN_SIZE: handshake
 * messages are mostly small, and many connections may be in their handshake
 * at once); data and the end of a record after Finished get a whole record.
 */
#define HANDSHAKE_IN_SIZE 4096
static int uring_in_reserve(struct record_mem *mem, size_t cap)
{
	if (mem->in_cap < cap) {
		unsigned char *grown = malloc(cap);

		if (grown == NULL)
			return -ENOMEM;
		if (mem->in != NULL) {
			memcpy(grown, mem->in + mem->in_off, mem->in_len);
			explicit_bzero(mem->in, mem->in_cap);
			free(mem->in);
		} else {
			mem->in_len = 0;
		}
		mem->in = grown;
		mem->in_cap = cap;
		mem->in_off = 0;
	}
	if (mem->in_off > 0) {
		memmove(mem->in, mem->in + mem->in_off, mem->in_len);
		mem->in_off = 0;
	}
	return 0;
}

/* An idle connection keeps no buffers: free the ones that are empty. */
static void uring_mem_trim(struct record_mem *mem)
{
	if (mem->in != NULL && mem->in_len == 0) {
		explicit_bzero(mem->in, mem->in_cap);
		free(mem->in);
		mem->in = NULL;
		mem->in_cap = mem->in_off = 0;
	}
	if (mem->out != NULL && mem->out_len == 0) {
		free(mem->out);
		mem->out = NULL;
		mem->out_cap = mem->out_off = 0;
	}
}

static void uring_mem_free(struct record_mem *mem)
{
	if (mem->in != NULL) {
		explicit_bzero(mem->in, mem->in_cap);
		free(mem->in);
	}
	free(mem->out);
	memset(mem, 0, sizeof(*mem));
}

/* ---- submitting --------------------------------------------------------- */

/*
 * Queue @sqe (already prepared) as @op's main SQE, with a linked timeout
 * when @op has a deadline.  Returns 0 or -ETIMEDOUT when the deadline has
 * passed already.
 */
static int uring_arm(struct uring_op *op, struct io_uring_sqe *sqe, bool timed)
{
	struct uring_conn *uc = op->uc;

	io_uring_sqe_set_data64(sqe, uring_tag(op, KIND_MAIN));
	op->in_flight = true;
	uc->sqes++;
	if (!timed || op->deadline_ns == 0)
		return 0;

	uint64_t now = uring_now_ns();
	uint64_t left = op->deadline_ns > now ? op->deadline_ns - now : 1;
	struct io_uring_sqe *tsqe;

	/* The pair must be adjacent in the queue: make room for both first. */
	sqe->flags |= IOSQE_IO_LINK;
	tsqe = io_uring_get_sqe(uc->ring->uring);
	if (tsqe == NULL) {
		/* Cannot happen after uring_sqe2(); fail safe by dropping the link. */
		sqe->flags &= (__u8)~IOSQE_IO_LINK;
		return 0;
	}
	op->ts.tv_sec = (long long)(left / 1000000000u);
	op->ts.tv_nsec = (long long)(left % 1000000000u);
	io_uring_prep_link_timeout(tsqe, &op->ts, 0);
	io_uring_sqe_set_data64(tsqe, uring_tag(op, KIND_TIMEOUT));
	uc->sqes++;
	return 0;
}

/* Two adjacent SQEs: the operation and its linked timeout. */
static struct io_uring_sqe *uring_sqe2(struct ktls_ring *ring)
{
	if (io_uring_sq_space_left(ring->uring) < 2)
		io_uring_submit(ring->uring);
	return io_uring_get_sqe(ring->uring);
}

static int uring_submit_poll(struct uring_op *op, unsigned int events)
{
	struct io_uring_sqe *sqe = uring_sqe2(op->uc->ring);

	if (sqe == NULL)
		return -EBUSY;
	io_uring_prep_poll_add(sqe, op->uc->conn->fd, events);
	op->stage = ST_POLL;
	return uring_arm(op, sqe, true);
}

static int uring_submit_nop(struct uring_op *op)
{
	struct io_uring_sqe *sqe = uring_sqe(op->uc->ring);

	if (sqe == NULL)
		return -EBUSY;
	io_uring_prep_nop(sqe);
	op->stage = ST_NOP;
	return uring_arm(op, sqe, false);
}

static int uring_submit_recv(struct uring_op *op, size_t want)
{
	struct record_mem *mem = &op->uc->mem;
	struct io_uring_sqe *sqe;
	size_t room;
	size_t cap = op->type == OP_HANDSHAKE && !op->hs_done ? HANDSHAKE_IN_SIZE : RECORD_WIRE_MAX;
	int ret;

	/* The rest of a record after Finished must fit after what is there. */
	if (mem->in_len + want > cap)
		cap = mem->in_len + want;
	ret = uring_in_reserve(mem, cap);

	if (ret < 0)
		return ret;
	room = mem->in_cap - mem->in_len;
	if (want == 0 || want > room)
		want = room;
	if (want == 0)
		return -ENOBUFS;
	sqe = uring_sqe2(op->uc->ring);
	if (sqe == NULL)
		return -EBUSY;
	io_uring_prep_recv(sqe, op->uc->conn->fd, mem->in + mem->in_len, want, 0);
	op->stage = ST_RECV;
	return uring_arm(op, sqe, true);
}

static int uring_submit_send_mem(struct uring_op *op)
{
	struct record_mem *mem = &op->uc->mem;
	struct io_uring_sqe *sqe = uring_sqe2(op->uc->ring);

	if (sqe == NULL)
		return -EBUSY;
	io_uring_prep_send(sqe, op->uc->conn->fd, mem->out + mem->out_off, mem->out_len,
			   MSG_NOSIGNAL);
	op->stage = ST_SEND;
	return uring_arm(op, sqe, true);
}

/* ---- completing --------------------------------------------------------- */

static void uring_op_cleanup(struct uring_op *op)
{
	struct ktls_ring *ring = op->uc->ring;

	uring_pipe_put(ring, op->pipe, op->in_pipe == 0);
	op->in_pipe = 0;
	free(op->plain);
	op->plain = NULL;
	/* Data records were wiped when delivered, control records by offload.c. */
	uring_rbuf_put(ring, op->rbuf, 0);
	op->rbuf = NULL;
}

/*
 * End @op with @result.  Inside the call that started it the callback is
 * deferred to a NOP completion, so callbacks never run re-entrantly.
 * After the callback the conn may be gone: nothing may touch it.
 */
static void uring_finish(struct uring_op *op, ssize_t result, const void *data, size_t len)
{
	struct ktls_conn *conn = op->uc->conn;
	ktls_ring_cb cb = op->cb;
	void *userdata = op->userdata;

	if (op->starting || op->zc_notifs > 0) {
		op->result = result;
		op->has_result = true;
		if (op->zc_notifs > 0)
			return; /* the buffer is libktls's until the kernel's notification */
		if (uring_submit_nop(op) == 0)
			return;
	}
	uring_op_cleanup(op);
	uring_mem_trim(&op->uc->mem);
	op->active = false;
	op->has_result = false;
	op->type = OP_NONE;
	if (result < 0 && op->cancelled)
		result = -ECANCELED;
	if (cb != NULL)
		cb(conn, result, data, userdata);
}

/* A failure of the ring itself (no SQE) or of the socket, recorded on the conn. */
static void uring_fail(struct uring_op *op, int err, const char *what)
{
	struct ktls_conn *conn = op->uc->conn;

	if (err == -ETIMEDOUT)
		err = error_conn(conn, err, "%s: timed out", what);
	else if (err == -ECANCELED)
		;
	else
		err = error_conn(conn, err, "%s: %s", what, strerror(-err));
	uring_finish(op, err, NULL, 0);
}

/* ---- the handshake ------------------------------------------------------ */

/* Bytes still missing from the record that @in ends in; 0 at a record boundary. */
static size_t uring_record_gap(const unsigned char *in, size_t len)
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

/*
 * The peer's first records may have arrived with its Finished (one ring
 * RECV took them): they are in mem.in, where the kernel cannot see them.
 * Once mem.in ends at a record boundary, GnuTLS decrypts them into rx_buf,
 * which every receive path returns first; then the kernel may take RX.
 * Return: 0 when done, 1 when more bytes of a record must be read first.
 */
static int uring_handshake_leftover(struct uring_op *op)
{
	struct ktls_conn *conn = op->uc->conn;
	struct record_mem *mem = &op->uc->mem;
	size_t gap;
	ssize_t n;
	int ret;

	if (mem->in_len == 0)
		return 0;
	gap = uring_record_gap(mem->in + mem->in_off, mem->in_len);
	if (gap > 0) {
		ret = uring_submit_recv(op, gap);
		return ret < 0 ? ret : 1;
	}
	while (mem->in_len > 0 && !conn->rx_eof) {
		size_t before = mem->in_len;

		ret = record_reserve(conn, conn->rx_len + RECORD_MAX_PLAINTEXT);
		if (ret < 0)
			return error_conn(conn, ret, "out of memory");
		n = gnutls_record_recv(conn->session, conn->rx_buf + conn->rx_off + conn->rx_len,
				       RECORD_MAX_PLAINTEXT);
		if (n > 0)
			conn->rx_len += (size_t)n;
		else if (n == 0)
			conn->rx_eof = true;
		else if (n == GNUTLS_E_AGAIN && mem->in_len == before)
			break;
		/*
		 * Otherwise AGAIN follows a post-handshake message (a TLS 1.3
		 * server's tickets come with its Finished): records remain.
		 */
		else if (n != GNUTLS_E_AGAIN && gnutls_error_is_fatal((int)n))
			return error_conn(conn, error_from_gnutls((int)n),
					  "data sent with the peer's Finished: %s",
					  gnutls_strerror((int)n));
	}
	mem->in_len = 0;
	mem->in_off = 0;
	return 0;
}

static void uring_handshake_advance(struct uring_op *op)
{
	struct ktls_conn *conn = op->uc->conn;
	struct record_mem *mem = &op->uc->mem;
	int ret;

	for (;;) {
		/* GnuTLS's output goes out before anything else, the last flight included. */
		if (mem->out_len > 0) {
			ret = uring_submit_send_mem(op);
			if (ret < 0)
				goto fail;
			return;
		}
		if (op->hs_done) {
			ret = uring_handshake_leftover(op);
			if (ret > 0)
				return;
			if (ret < 0)
				goto fail_conn;
			ret = handshake_finish(conn);
			if (ret < 0)
				goto fail_conn;
			uring_finish(op, 0, NULL, 0);
			return;
		}
		ret = handshake_step(conn);
		if (ret >= 0) {
			op->hs_done = true;
			continue;
		}
		if (ret != -EAGAIN)
			goto fail_conn;
		if (mem->out_len > 0)
			continue;
		ret = uring_submit_recv(op, 0);
		if (ret < 0)
			goto fail;
		return;
	}
fail:
	uring_fail(op, ret, "handshake");
	return;
fail_conn:
	if (conn->state != CONN_FAILED) {
		conn->state = CONN_FAILED;
		conn->failure = ret;
	}
	uring_finish(op, ret, NULL, 0);
}

/* ---- sending ------------------------------------------------------------ */

static int uring_zc_usable(void);

static int uring_submit_send_user(struct uring_op *op)
{
	struct io_uring_sqe *sqe = uring_sqe2(op->uc->ring);

	if (sqe == NULL)
		return -EBUSY;
	if (uring_zc_usable() == 1)
		io_uring_prep_send_zc(sqe, op->uc->conn->fd, op->buf + op->done, op->len - op->done,
				      MSG_NOSIGNAL, 0);
	else
		io_uring_prep_send(sqe, op->uc->conn->fd, op->buf + op->done, op->len - op->done,
				   MSG_NOSIGNAL);
	op->stage = ST_SEND_USER;
	return uring_arm(op, sqe, true);
}

/* Encrypt up to KTLS_RING_TX_CHUNK bytes of @data into mem.out. */
static ssize_t uring_encrypt(struct uring_op *op, const unsigned char *data, size_t len)
{
	struct ktls_conn *conn = op->uc->conn;
	size_t done = 0, max = record_max_payload(conn);

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

static void uring_send_advance(struct uring_op *op)
{
	struct ktls_conn *conn = op->uc->conn;
	int ret;

	if (conn->tx.kernel) {
		if (op->done == op->len) {
			uring_finish(op, (ssize_t)op->len, NULL, 0);
			return;
		}
		ret = uring_submit_send_user(op);
	} else {
		if (op->uc->mem.out_len == 0 && op->done < op->len) {
			ssize_t n = uring_encrypt(op, op->buf + op->done, op->len - op->done);

			if (n < 0) {
				uring_finish(op, n, NULL, 0);
				return;
			}
			op->done += (size_t)n;
		}
		if (op->uc->mem.out_len == 0) {
			uring_finish(op, (ssize_t)op->len, NULL, 0);
			return;
		}
		ret = uring_submit_send_mem(op);
	}
	if (ret < 0)
		uring_fail(op, ret, "send");
}

/*
 * Kernel TX: file -> pipe -> socket by splice; the pages never enter
 * userspace.  When no pipe could be had (out of descriptors), read and SEND
 * the plaintext: the kernel still encrypts.  GnuTLS: read a chunk, encrypt it
 * into mem.out, send that.
 */
static int uring_sendfile_step(struct uring_op *op)
{
	struct ktls_conn *conn = op->uc->conn;
	bool kernel = conn->tx.kernel, splice = kernel && op->pipe[0] >= 0;
	struct io_uring_sqe *sqe;
	size_t want = op->len - op->done, chunk = splice ? PIPE_SIZE : KTLS_RING_TX_CHUNK;
	off_t at = op->offset + (off_t)op->done;

	if (!kernel && op->uc->mem.out_len > 0)
		return uring_submit_send_mem(op);
	if (kernel && !splice && op->in_pipe > 0) {
		sqe = uring_sqe2(op->uc->ring);
		if (sqe == NULL)
			return -EBUSY;
		io_uring_prep_send(sqe, conn->fd, op->plain + op->plain_off, op->in_pipe,
				   MSG_NOSIGNAL);
		op->stage = ST_SEND_PLAIN;
		return uring_arm(op, sqe, true);
	}
	if (splice && op->in_pipe > 0) {
		sqe = uring_sqe2(op->uc->ring);
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
		op->stage = ST_SPLICE_OUT;
		return uring_arm(op, sqe, true);
	}
	if (want == 0) {
		uring_finish(op, (ssize_t)op->len, NULL, 0);
		return 0;
	}
	sqe = uring_sqe(op->uc->ring);
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
	return uring_arm(op, sqe, false);
}

static void uring_sendfile_advance(struct uring_op *op)
{
	int ret = uring_sendfile_step(op);

	if (ret < 0)
		uring_fail(op, ret, "sendfile");
}

static void uring_shutdown_advance(struct uring_op *op)
{
	struct ktls_conn *conn = op->uc->conn;
	int ret;

	if (conn->tx.kernel) {
		if (!conn->tx_closed) {
			ret = offload_send_alert(conn, GNUTLS_AL_WARNING, GNUTLS_A_CLOSE_NOTIFY);
			if (ret == -EAGAIN) {
				ret = uring_submit_poll(op, POLLOUT);
				if (ret < 0)
					uring_fail(op, ret, "close_notify");
				return;
			}
			if (ret < 0) {
				uring_finish(op, ret, NULL, 0);
				return;
			}
			conn->tx_closed = true;
		}
		uring_finish(op, 0, NULL, 0);
		return;
	}
	if (!conn->tx_closed) {
		ret = gnutls_bye(conn->session, GNUTLS_SHUT_WR);
		if (ret < 0 && ret != GNUTLS_E_AGAIN) {
			uring_finish(op, error_conn(conn, error_from_gnutls(ret), "close_notify: %s",
						    gnutls_strerror(ret)),
				     NULL, 0);
			return;
		}
		conn->tx_closed = true;
	}
	if (op->uc->mem.out_len > 0) {
		ret = uring_submit_send_mem(op);
		if (ret < 0)
			uring_fail(op, ret, "close_notify");
		return;
	}
	uring_finish(op, 0, NULL, 0);
}

/* ---- receiving ---------------------------------------------------------- */

/* Hand @len bytes to the callback from the ring's delivery buffer. */
static void uring_deliver(struct uring_op *op, const unsigned char *data, size_t len)
{
	struct ktls_ring *ring = op->uc->ring;
	struct ktls_conn *conn = op->uc->conn;
	size_t n = len < op->max ? len : op->max;

	unsigned char *rbuf = op->rbuf;

	if (data == NULL) {
		/* Plaintext held by the conn (rx_buf); an idle conn keeps no buffer. */
		n = record_take_buffered(conn, ring->deliver, n);
		if (conn->rx_len == 0) {
			explicit_bzero(conn->rx_buf, conn->rx_cap);
			free(conn->rx_buf);
			conn->rx_buf = NULL;
			conn->rx_cap = 0;
		}
		uring_finish(op, (ssize_t)n, ring->deliver, n);
		explicit_bzero(ring->deliver, n);
		return;
	}
	if (n < len) {
		/* The rest of a record waits in rx_buf for the next receive. */
		if (record_reserve(conn, len - n) < 0) {
			uring_finish(op, error_conn(conn, -ENOMEM, "out of memory"), NULL, 0);
			return;
		}
		memcpy(conn->rx_buf, data + n, len - n);
		conn->rx_off = 0;
		conn->rx_len = len - n;
	}
	/* @data is op->rbuf: it outlives the callback, which may free the conn. */
	op->rbuf = NULL;
	uring_finish(op, (ssize_t)n, rbuf, n);
	uring_rbuf_put(ring, rbuf, len);
}

static void uring_recv_advance(struct uring_op *op)
{
	struct ktls_conn *conn = op->uc->conn;
	struct record_mem *mem = &op->uc->mem;
	struct io_uring_sqe *sqe;
	ssize_t n;
	int ret;

	if (op->starting) {
		/* Nothing buffered: wait until the socket has data, holding no buffer. */
		if (conn->rx_len == 0 && conn->rx_error == 0 && !conn->rx_eof &&
		    (conn->rx.kernel ||
		     (mem->in_len == 0 && gnutls_record_check_pending(conn->session) == 0)))
			ret = uring_submit_poll(op, POLLIN);
		else
			ret = uring_submit_nop(op);
		goto out;
	}
	if (conn->rx_len > 0) {
		uring_deliver(op, NULL, conn->rx_len);
		return;
	}
	if (conn->rx_error < 0) {
		uring_finish(op, conn->rx_error, NULL, 0);
		return;
	}
	if (conn->rx_eof) {
		uring_finish(op, 0, NULL, 0);
		return;
	}
	if (conn->rx.kernel) {
		if (op->rbuf == NULL && (op->rbuf = uring_rbuf_get(op->uc->ring)) == NULL) {
			ret = -ENOMEM;
			goto out;
		}
		op->iov.iov_base = op->rbuf;
		op->iov.iov_len = RECORD_MAX_PLAINTEXT;
		memset(&op->msg, 0, sizeof(op->msg));
		op->msg.msg_iov = &op->iov;
		op->msg.msg_iovlen = 1;
		op->msg.msg_control = op->control;
		op->msg.msg_controllen = sizeof(op->control);
		sqe = uring_sqe2(op->uc->ring);
		if (sqe == NULL) {
			ret = -EBUSY;
			goto out;
		}
		io_uring_prep_recvmsg(sqe, conn->fd, &op->msg, 0);
		op->stage = ST_RECVMSG;
		ret = uring_arm(op, sqe, true);
		goto out;
	}
	/* GnuTLS: decrypt what mem.in holds; read more when it needs more. */
	n = record_recv_userspace(conn, op->uc->ring->deliver,
				  op->max < RECORD_MAX_PLAINTEXT ? op->max : RECORD_MAX_PLAINTEXT);
	if (n != -EAGAIN) {
		uring_finish(op, n, n > 0 ? op->uc->ring->deliver : NULL, n > 0 ? (size_t)n : 0);
		if (n > 0)
			explicit_bzero(op->uc->ring->deliver, (size_t)n);
		return;
	}
	ret = uring_submit_recv(op, 0);
out:
	if (ret < 0)
		uring_fail(op, ret, "recv");
}

static void uring_recvmsg_done(struct uring_op *op, int res)
{
	struct ktls_conn *conn = op->uc->conn;
	unsigned char type;
	int ret;

	if (res == -EAGAIN) {
		ret = uring_submit_poll(op, POLLIN);
		if (ret < 0)
			uring_fail(op, ret, "recv");
		return;
	}
	if (res < 0) {
		uring_finish(op, offload_recv_error(conn, -res), NULL, 0);
		return;
	}
	if (res == 0) {
		conn->rx_error = error_conn(conn, -ECONNRESET,
					    "peer closed the connection without close_notify");
		uring_finish(op, conn->rx_error, NULL, 0);
		return;
	}
	type = offload_record_type(&op->msg);
	if (type == RECORD_APPLICATION_DATA) {
		uring_deliver(op, op->rbuf, (size_t)res);
		return;
	}
	ret = offload_control_record(conn, type, op->rbuf, (size_t)res);
	if (ret <= 0) {
		uring_finish(op, ret, NULL, 0);
		return;
	}
	ret = uring_submit_poll(op, POLLIN);
	if (ret < 0)
		uring_fail(op, ret, "recv");
}

/* ---- dispatch ----------------------------------------------------------- */

static void uring_advance(struct uring_op *op)
{
	switch (op->type) {
	case OP_HANDSHAKE:
		uring_handshake_advance(op);
		break;
	case OP_SEND:
		uring_send_advance(op);
		break;
	case OP_SENDFILE:
		uring_sendfile_advance(op);
		break;
	case OP_SHUTDOWN:
		uring_shutdown_advance(op);
		break;
	case OP_RECV:
		uring_recv_advance(op);
		break;
	case OP_NONE:
		break;
	}
}

static const char *uring_op_name(const struct uring_op *op)
{
	switch (op->type) {
	case OP_HANDSHAKE:
		return "handshake";
	case OP_SEND:
		return "send";
	case OP_SENDFILE:
		return "sendfile";
	case OP_SHUTDOWN:
		return "close_notify";
	default:
		return "recv";
	}
}

/* A step's result: a failure to submit ends @op.  Always returns. */
static void uring_check(struct uring_op *op, int ret)
{
	if (ret < 0)
		uring_fail(op, ret, uring_op_name(op));
}

/*
 * A failed socket step: EAGAIN waits for @events and tries again, anything
 * else ends @op.  Returns false for a result >= 0, which the caller handles.
 */
static bool uring_retry_or_fail(struct uring_op *op, int res, unsigned int events)
{
	if (res >= 0)
		return false;
	if (res == -EAGAIN)
		uring_check(op, uring_submit_poll(op, events));
	else
		uring_fail(op, res, uring_op_name(op));
	return true;
}

/* A poll said the socket is ready: redo the step that was waiting for it. */
static void uring_poll_done(struct uring_op *op)
{
	struct ktls_conn *conn = op->uc->conn;

	if (op->type == OP_SEND && conn->tx.kernel)
		uring_check(op, uring_submit_send_user(op));
	else if (op->type == OP_RECV && !conn->rx.kernel)
		uring_check(op, uring_submit_recv(op, 0));
	else if (op->type != OP_RECV && op->uc->mem.out_len > 0 &&
		 !(op->type == OP_SENDFILE && conn->tx.kernel))
		uring_check(op, uring_submit_send_mem(op));
	else
		uring_advance(op);
}

/* The main SQE of @op completed with @res. */
static void uring_op_complete(struct uring_op *op, int res, unsigned int flags)
{
	struct ktls_conn *conn = op->uc->conn;
	struct record_mem *mem = &op->uc->mem;

	if (op->stage == ST_NOP && op->has_result) {
		uring_finish(op, op->result, NULL, 0);
		return;
	}
	if (op->cancelled) {
		/* Whatever it completed with, nothing more is started for it. */
		uring_fail(op, -ECANCELED, uring_op_name(op));
		return;
	}
	if (op->stage == ST_NOP || res == -EINTR) {
		uring_advance(op);
		return;
	}
	if (res == -ECANCELED) {
		/* Not by the caller (above): by the linked timeout. */
		uring_fail(op, -ETIMEDOUT, uring_op_name(op));
		return;
	}
	if (op->progress_resets && res > 0 && op->timeout_ms > 0)
		op->deadline_ns = uring_now_ns() + (uint64_t)op->timeout_ms * 1000000u;

	switch (op->stage) {
	case ST_POLL:
		if (res < 0)
			uring_fail(op, res, uring_op_name(op));
		else
			uring_poll_done(op);
		return;
	case ST_RECV:
		if (uring_retry_or_fail(op, res, POLLIN))
			return;
		if (res == 0 && op->type == OP_HANDSHAKE && op->hs_done) {
			uring_finish(op, error_conn(conn, -ECONNRESET,
						    "peer closed the connection in a record"),
				     NULL, 0);
			return;
		}
		if (res == 0)
			mem->eof = true;
		mem->in_len += (size_t)res;
		uring_advance(op);
		return;
	case ST_SEND:
		if (uring_retry_or_fail(op, res, POLLOUT))
			return;
		mem->out_off += (size_t)res;
		mem->out_len -= (size_t)res;
		if (mem->out_len == 0)
			mem->out_off = 0;
		uring_advance(op);
		return;
	case ST_SEND_USER:
		if (flags & IORING_CQE_F_MORE)
			op->zc_notifs++;
		if (uring_retry_or_fail(op, res, POLLOUT))
			return;
		op->done += (size_t)res;
		/* AEAD usage limit (rekey.c); a limit reached fails the next operation. */
		if (conn->tx.kernel)
			rekey_tx_account(conn, 1, (uint64_t)res);
		uring_advance(op);
		return;
	case ST_RECVMSG:
		uring_recvmsg_done(op, res);
		return;
	case ST_SPLICE_IN:
	case ST_READ:
		if (res <= 0) {
			uring_fail(op, res == 0 ? -ENODATA : res, "sendfile: reading the file");
			return;
		}
		op->short_read = (size_t)res < op->asked;
		if (op->stage == ST_SPLICE_IN || conn->tx.kernel) {
			op->in_pipe = (size_t)res;
			op->plain_off = 0;
		} else {
			ssize_t n = uring_encrypt(op, op->plain, (size_t)res);

			explicit_bzero(op->plain, (size_t)res);
			if (n < 0) {
				uring_finish(op, n, NULL, 0);
				return;
			}
			op->done += (size_t)n;
		}
		uring_sendfile_advance(op);
		return;
	case ST_SPLICE_OUT:
	case ST_SEND_PLAIN:
		if (uring_retry_or_fail(op, res, POLLOUT))
			return;
		op->in_pipe -= (size_t)res;
		op->plain_off += (size_t)res;
		op->done += (size_t)res;
		if (conn->tx.kernel)
			rekey_tx_account(conn, 1, (uint64_t)res);
		uring_sendfile_advance(op);
		return;
	case ST_NOP:
		break;
	}
}

static void uring_conn_settle(struct uring_conn *uc);

static void uring_accept_arm(struct uring_accept *acc)
{
	struct io_uring_sqe *sqe = uring_sqe(acc->ring);

	if (sqe == NULL)
		return;
	io_uring_prep_multishot_accept(sqe, acc->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	io_uring_sqe_set_data64(sqe, uring_tag(acc, KIND_ACCEPT));
}

/* The last word of a stopped accept: -ECANCELED, then it is gone. */
static void uring_accept_end(struct uring_accept *acc)
{
	struct ktls_ring *ring = acc->ring;
	struct uring_accept **pp;

	for (pp = &ring->accepts; *pp != acc; pp = &(*pp)->next)
		;
	*pp = acc->next;
	acc->cb(ring, -ECANCELED, acc->userdata);
	free(acc);
}

static void uring_accept_complete(struct uring_accept *acc, const struct io_uring_cqe *cqe,
				  enum uring_kind kind)
{
	bool more = (cqe->flags & IORING_CQE_F_MORE) != 0;
	int res = cqe->res;

	if (kind == KIND_ACCEPT_WAIT) {
		acc->waiting = false;
		if (acc->stopping)
			uring_accept_end(acc);
		else
			uring_accept_arm(acc);
		return;
	}
	if (!more && (acc->stopping || res == -ECANCELED)) {
		if (res >= 0)
			acc->cb(acc->ring, res, acc->userdata);
		uring_accept_end(acc);
		return;
	}
	/*
	 * A multishot accept ends on errors.  Out of descriptors or memory,
	 * accepting again at once would fail again at once: pause 100 ms.
	 */
	if (!more && (res == -EMFILE || res == -ENFILE || res == -ENOBUFS || res == -ENOMEM)) {
		struct io_uring_sqe *sqe = uring_sqe(acc->ring);

		if (sqe != NULL) {
			acc->pause.tv_sec = 0;
			acc->pause.tv_nsec = 100 * 1000000;
			io_uring_prep_timeout(sqe, &acc->pause, 0, 0);
			io_uring_sqe_set_data64(sqe, uring_tag(acc, KIND_ACCEPT_WAIT));
			acc->waiting = true;
		}
	} else if (!more) {
		uring_accept_arm(acc);
	}
	if (res >= 0 || !acc->stopping)
		acc->cb(acc->ring, res, acc->userdata);
}

KTLS_EXPORT int ktls_ring_process_cqe(struct ktls_ring *ring, const struct io_uring_cqe *cqe)
{
	uint64_t data;
	enum uring_kind kind;
	void *ptr;

	if (ring == NULL || cqe == NULL)
		return 0;
	data = io_uring_cqe_get_data64(cqe);
	if ((data >> TAG_SHIFT) != KTLS_RING_USER_DATA_TAG)
		return 0;
	kind = (enum uring_kind)(data & KIND_MASK);
	ptr = (void *)(uintptr_t)(data & ~((uint64_t)0xff << TAG_SHIFT) & ~(uint64_t)KIND_MASK);

	if (kind == KIND_ACCEPT || kind == KIND_ACCEPT_WAIT) {
		uring_accept_complete(ptr, cqe, kind);
		return 1;
	}
	if (ptr == NULL)
		return 1; /* ktls_ring_accept_stop()'s cancel request */

	struct uring_op *op = ptr;
	struct uring_conn *uc = op->uc;

	/*
	 * Every SQE has one CQE, except a zero-copy send: its first completion
	 * has F_MORE, and a notification follows when the buffer is free.
	 */
	if (!(kind == KIND_MAIN && (cqe->flags & IORING_CQE_F_MORE)))
		uc->sqes--;
	if (uc->conn == NULL) {
		/* The conn was freed: settle what is left, call no one. */
		uring_conn_settle(uc);
		return 1;
	}
	/*
	 * From here a callback may free the conn and with it @uc: nothing
	 * below may touch either after the dispatch.  Timeouts and cancel
	 * requests carry nothing the op needs.
	 */
	if (cqe->flags & IORING_CQE_F_NOTIF) {
		if (--op->zc_notifs == 0 && op->has_result && op->active)
			uring_finish(op, op->result, NULL, 0);
	} else if (kind == KIND_MAIN) {
		op->in_flight = false;
		if (op->active)
			uring_op_complete(op, cqe->res, cqe->flags);
	}
	return 1;
}

KTLS_EXPORT int ktls_ring_run(struct ktls_ring *ring, int timeout_ms)
{
	struct io_uring_cqe *cqe;
	unsigned int n = 0;
	int ret;

	if (ring == NULL)
		return -EINVAL;
	if (timeout_ms < 0) {
		ret = io_uring_submit_and_wait(ring->uring, 1);
	} else {
		struct __kernel_timespec ts = { .tv_sec = timeout_ms / 1000,
						.tv_nsec = (timeout_ms % 1000) * 1000000L };

		io_uring_submit(ring->uring);
		ret = io_uring_wait_cqe_timeout(ring->uring, &cqe, &ts);
		if (ret == -ETIME)
			return 0;
	}
	if (ret < 0 && ret != -EBUSY)
		return ret;
	/* Each CQE is copied and released first: its callback may submit and reap. */
	while (io_uring_peek_cqe(ring->uring, &cqe) == 0) {
		struct io_uring_cqe copy = *cqe;

		io_uring_cqe_seen(ring->uring, cqe);
		n += (unsigned int)ktls_ring_process_cqe(ring, &copy);
	}
	io_uring_submit(ring->uring);
	return (int)n;
}

/* ---- the ring ----------------------------------------------------------- */

KTLS_EXPORT int ktls_ring_new(struct io_uring *uring, unsigned int entries,
			      struct ktls_ring **ret_ring)
{
	struct ktls_ring *ring;
	int ret;

	if (ret_ring == NULL)
		return -EINVAL;
	ring = calloc(1, sizeof(*ring));
	if (ring == NULL)
		return -ENOMEM;
	if (uring != NULL) {
		ring->uring = uring;
	} else {
		ret = io_uring_queue_init(entries ? entries : 256, &ring->own, 0);
		if (ret < 0) {
			free(ring);
			return ret;
		}
		ring->uring = &ring->own;
		ring->owned = true;
	}
	*ret_ring = ring;
	return 0;
}

KTLS_EXPORT void ktls_ring_free(struct ktls_ring *ring)
{
	if (ring == NULL)
		return;
	/* Exiting the ring cancels everything; orphans' memory goes with it. */
	if (ring->owned)
		io_uring_queue_exit(&ring->own);
	while (ring->orphans != NULL) {
		struct uring_conn *uc = ring->orphans;

		ring->orphans = uc->next_orphan;
		uring_mem_free(&uc->mem);
		free(uc);
	}
	while (ring->accepts != NULL) {
		struct uring_accept *acc = ring->accepts;

		ring->accepts = acc->next;
		free(acc);
	}
	for (int i = 0; i < ring->n_pipes; i++) {
		close(ring->pipes[i][0]);
		close(ring->pipes[i][1]);
	}
	for (int i = 0; i < ring->n_rbufs; i++)
		free(ring->rbufs[i]);
	free(ring);
}

KTLS_EXPORT struct io_uring *ktls_ring_uring(struct ktls_ring *ring)
{
	return ring != NULL ? ring->uring : NULL;
}

KTLS_EXPORT int ktls_ring_accept(struct ktls_ring *ring, int listen_fd, ktls_accept_cb cb,
				 void *userdata)
{
	struct uring_accept *acc;
	struct io_uring_sqe *sqe;

	if (ring == NULL || listen_fd < 0 || cb == NULL)
		return -EINVAL;
	for (acc = ring->accepts; acc != NULL; acc = acc->next)
		if (acc->fd == listen_fd)
			return -EEXIST;
	acc = calloc(1, sizeof(*acc));
	if (acc == NULL)
		return -ENOMEM;
	sqe = uring_sqe(ring);
	if (sqe == NULL) {
		free(acc);
		return -EBUSY;
	}
	acc->ring = ring;
	acc->fd = listen_fd;
	acc->cb = cb;
	acc->userdata = userdata;
	acc->next = ring->accepts;
	ring->accepts = acc;
	io_uring_prep_multishot_accept(sqe, listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	io_uring_sqe_set_data64(sqe, uring_tag(acc, KIND_ACCEPT));
	return 0;
}

KTLS_EXPORT int ktls_ring_accept_stop(struct ktls_ring *ring, int listen_fd)
{
	struct uring_accept *acc;
	struct io_uring_sqe *sqe;

	if (ring == NULL)
		return -EINVAL;
	for (acc = ring->accepts; acc != NULL; acc = acc->next)
		if (acc->fd == listen_fd && !acc->stopping)
			break;
	if (acc == NULL)
		return -ENOENT;
	sqe = uring_sqe(ring);
	if (sqe == NULL)
		return -EBUSY;
	acc->stopping = true;
	io_uring_prep_cancel64(sqe, uring_tag(acc, acc->waiting ? KIND_ACCEPT_WAIT : KIND_ACCEPT), 0);
	/* The cancel request's own completion is not the accept's. */
	io_uring_sqe_set_data64(sqe, uring_tag(NULL, KIND_CANCEL));
	return 0;
}

/* ---- connections -------------------------------------------------------- */

static void uring_conn_settle(struct uring_conn *uc)
{
	struct ktls_ring *ring = uc->ring;
	struct uring_conn **pp;

	if (uc->conn != NULL || uc->sqes > 0)
		return;
	for (pp = &ring->orphans; *pp != NULL; pp = &(*pp)->next_orphan)
		if (*pp == uc) {
			*pp = uc->next_orphan;
			break;
		}
	uring_pipe_put(ring, uc->tx.pipe, false);
	uring_mem_free(&uc->mem);
	free(uc->tx.plain);
	uring_rbuf_put(ring, uc->rx.rbuf, RECORD_WIRE_MAX);
	free(uc);
}

static void uring_cancel_op(struct uring_op *op)
{
	struct io_uring_sqe *sqe;

	if (!op->active)
		return;
	op->cancelled = true;
	if (!op->in_flight || op->stage == ST_NOP)
		return;
	sqe = uring_sqe(op->uc->ring);
	if (sqe == NULL)
		return;
	io_uring_prep_cancel64(sqe, uring_tag(op, KIND_MAIN), 0);
	io_uring_sqe_set_data64(sqe, uring_tag(op, KIND_CANCEL));
	op->uc->sqes++;
}

void uring_conn_release(struct ktls_conn *conn)
{
	struct uring_conn *uc = conn->uring;

	if (uc == NULL)
		return;
	conn->uring = NULL;
	conn->mem = NULL;
	uring_cancel_op(&uc->tx);
	uring_cancel_op(&uc->rx);
	uc->conn = NULL;
	if (uc->sqes > 0) {
		/* Completions still to come point at uc: it lives until they are in. */
		uc->next_orphan = uc->ring->orphans;
		uc->ring->orphans = uc;
		return;
	}
	uring_conn_settle(uc);
}

KTLS_EXPORT int ktls_conn_ring_attach(struct ktls_conn *conn, struct ktls_ring *ring)
{
	struct uring_conn *uc;
	int flags;

	if (conn == NULL || ring == NULL)
		return -EINVAL;
	if (conn->uring != NULL || conn->state != CONN_NEW)
		return error_conn(conn, -EINVAL,
				  "attach a connection to one ring, before its handshake");
	uc = calloc(1, sizeof(*uc));
	if (uc == NULL)
		return error_conn(conn, -ENOMEM, "out of memory");
	flags = fcntl(conn->fd, F_GETFL);
	if (flags < 0 || fcntl(conn->fd, F_SETFL, flags | O_NONBLOCK) < 0) {
		free(uc);
		return error_conn(conn, -errno, "making the socket non-blocking: %s",
				  strerror(errno));
	}
	uc->ring = ring;
	uc->conn = conn;
	uc->tx.uc = uc;
	uc->rx.uc = uc;
	uc->tx.pipe[0] = uc->tx.pipe[1] = -1;
	uc->rx.pipe[0] = uc->rx.pipe[1] = -1;
	/* Bounds what GnuTLS may queue: a handshake flight, or one chunk of records. */
	uc->mem.out_max = 4 * KTLS_RING_TX_CHUNK;
	conn->uring = uc;
	record_set_transport_mem(conn, &uc->mem);
	return 0;
}

/* Common checks and set-up of an operation; @op is ready to advance. */
static int uring_op_start(struct ktls_conn *conn, struct uring_op **ret_op, bool rx,
			  enum uring_type type, unsigned int timeout_ms, ktls_ring_cb cb,
			  void *userdata)
{
	struct uring_conn *uc;
	struct uring_op *op;

	if (conn == NULL)
		return -EINVAL;
	uc = conn->uring;
	if (uc == NULL)
		return error_conn(conn, -EINVAL, "the connection is not attached to a ring");
	if (type == OP_HANDSHAKE) {
		if (conn->state != CONN_NEW)
			return error_conn(conn, -EINVAL, "the handshake was started already");
	} else if (conn->state != CONN_READY) {
		return conn->state == CONN_FAILED
			       ? conn->failure
			       : error_conn(conn, -EINVAL,
					    "no data can move before the handshake completes");
	}
	op = rx ? &uc->rx : &uc->tx;
	if (op->active || op->in_flight || (type == OP_HANDSHAKE && (uc->rx.active || uc->rx.in_flight)))
		return -EBUSY;
	if (type != OP_HANDSHAKE && uc->tx.type == OP_HANDSHAKE && uc->tx.active)
		return -EBUSY;
	memset(&op->type, 0, sizeof(*op) - offsetof(struct uring_op, type));
	op->pipe[0] = op->pipe[1] = -1;
	op->type = type;
	op->active = true;
	op->cb = cb;
	op->userdata = userdata;
	op->timeout_ms = timeout_ms;
	if (timeout_ms > 0)
		op->deadline_ns = uring_now_ns() + (uint64_t)timeout_ms * 1000000u;
	*ret_op = op;
	return 0;
}

/* Run the first step; any result it reaches is delivered later, never here. */
static void uring_op_kick(struct uring_op *op)
{
	op->starting = true;
	uring_advance(op);
	op->starting = false;
}

/* An operation with no arguments of its own (handshake, shutdown). */
static int uring_start_kick(struct ktls_conn *conn, enum uring_type type, unsigned int timeout_ms,
			    ktls_ring_cb cb, void *userdata)
{
	struct uring_op *op;
	int ret = uring_op_start(conn, &op, false, type, timeout_ms, cb, userdata);

	if (ret < 0)
		return ret;
	uring_op_kick(op);
	return 0;
}

KTLS_EXPORT int ktls_conn_ring_handshake(struct ktls_conn *conn, unsigned int timeout_ms,
					 ktls_ring_cb cb, void *userdata)
{
	return uring_start_kick(conn, OP_HANDSHAKE, timeout_ms, cb, userdata);
}

KTLS_EXPORT int ktls_conn_ring_send(struct ktls_conn *conn, const void *buf, size_t len,
				    unsigned int timeout_ms, ktls_ring_cb cb, void *userdata)
{
	struct uring_op *op;
	int ret;

	if (conn != NULL && buf == NULL && len > 0)
		return error_conn(conn, -EINVAL, "send: buffer is NULL");
	if (conn != NULL && conn->tx_error < 0)
		return conn->tx_error;
	if (conn != NULL && conn->tx_closed && conn->state == CONN_READY)
		return error_conn(conn, -EPIPE, "send after shutdown");
	ret = uring_op_start(conn, &op, false, OP_SEND, timeout_ms, cb, userdata);
	if (ret < 0)
		return ret;
	op->buf = buf;
	op->len = len;
	op->progress_resets = true;
	uring_op_kick(op);
	return 0;
}

KTLS_EXPORT int ktls_conn_ring_sendfile(struct ktls_conn *conn, int file_fd, off_t offset,
					size_t count, unsigned int timeout_ms, ktls_ring_cb cb,
					void *userdata)
{
	struct uring_op *op;
	int ret;

	if (conn != NULL && (file_fd < 0 || offset < 0))
		return error_conn(conn, -EINVAL, "sendfile: needs a file descriptor and an offset >= 0");
	if (conn != NULL && conn->tx_error < 0)
		return conn->tx_error;
	if (conn != NULL && conn->tx_closed && conn->state == CONN_READY)
		return error_conn(conn, -EPIPE, "sendfile after shutdown");
	ret = uring_op_start(conn, &op, false, OP_SENDFILE, timeout_ms, cb, userdata);
	if (ret < 0)
		return ret;
	op->file_fd = file_fd;
	op->offset = offset;
	op->len = count;
	op->progress_resets = true;
	/* Out of descriptors for a pipe, a kernel TX sendfile reads and sends instead. */
	if (conn->tx.kernel)
		ret = uring_pipe_get(conn->uring->ring, op->pipe);
	if (!conn->tx.kernel || ret == -EMFILE || ret == -ENFILE) {
		op->plain = malloc(KTLS_RING_TX_CHUNK);
		ret = op->plain != NULL ? 0 : -ENOMEM;
	}
	if (ret < 0) {
		op->active = false;
		op->type = OP_NONE;
		return error_conn(conn, ret, "sendfile: %s", strerror(-ret));
	}
	uring_op_kick(op);
	return 0;
}

KTLS_EXPORT int ktls_conn_ring_recv(struct ktls_conn *conn, size_t max, unsigned int timeout_ms,
				    ktls_ring_cb cb, void *userdata)
{
	struct uring_op *op;
	int ret;

	if (conn != NULL && max == 0)
		return error_conn(conn, -EINVAL, "recv: max is 0");
	ret = uring_op_start(conn, &op, true, OP_RECV, timeout_ms, cb, userdata);
	if (ret < 0)
		return ret;
	op->max = max < RECORD_MAX_PLAINTEXT ? max : RECORD_MAX_PLAINTEXT;
	uring_op_kick(op);
	return 0;
}

KTLS_EXPORT int ktls_conn_ring_shutdown(struct ktls_conn *conn, unsigned int timeout_ms,
					ktls_ring_cb cb, void *userdata)
{
	return uring_start_kick(conn, OP_SHUTDOWN, timeout_ms, cb, userdata);
}

KTLS_EXPORT int ktls_conn_ring_cancel(struct ktls_conn *conn)
{
	int n = 0;

	if (conn == NULL || conn->uring == NULL)
		return 0;
	if (conn->uring->tx.active && !conn->uring->tx.cancelled) {
		uring_cancel_op(&conn->uring->tx);
		n++;
	}
	if (conn->uring->rx.active && !conn->uring->rx.cancelled) {
		uring_cancel_op(&conn->uring->rx);
		n++;
	}
	return n;
}

KTLS_EXPORT int ktls_conn_ring_busy(const struct ktls_conn *conn)
{
	if (conn == NULL || conn->uring == NULL)
		return 0;
	return (conn->uring->tx.active ? 1 : 0) + (conn->uring->rx.active ? 1 : 0);
}

/* ---- zero-copy send probe ----------------------------------------------- */

static pthread_once_t zc_once = PTHREAD_ONCE_INIT;
static int zc_result;

/*
 * Whether IORING_OP_SEND_ZC works on a socket with a kernel TX key: kernels
 * refuse it on ULP sockets (the TLS ULP clears SOCK_SUPPORT_ZC), and this
 * asks the running one instead of assuming either way.
 */
static void uring_zc_probe(void)
{
	const struct ktls_caps *caps = probe_get();
	union keys_crypto_info info;
	struct io_uring r;
	struct io_uring_cqe *cqe;
	struct io_uring_sqe *sqe;
	socklen_t len;
	int a = -1, b = -1, ret;
	char byte = 0;

	if (!caps->ulp_available || !probe_can_offload(caps, KTLS_VERSION_TLS13,
						       KTLS_CIPHER_AES_128_GCM, KTLS_DIR_TX)) {
		zc_result = 0;
		return;
	}
	ret = probe_pair(&a, &b);
	if (ret < 0) {
		zc_result = ret;
		return;
	}
	len = keys_dummy(KTLS_VERSION_TLS13, KTLS_CIPHER_AES_128_GCM, &info);
	if (offload_setsockopt(a, SOL_TCP, TCP_ULP, "tls", sizeof("tls")) != 0 ||
	    offload_setsockopt(a, SOL_TLS, TLS_TX, &info, len) != 0) {
		zc_result = -errno;
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

static int uring_zc_usable(void)
{
	pthread_once(&zc_once, uring_zc_probe);
	return zc_result;
}

KTLS_EXPORT int ktls_ring_zerocopy_send(void)
{
	return uring_zc_usable();
}
