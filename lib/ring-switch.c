/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The switch on the engine, where io_uring passes socket options itself
 * (its socket commands).  The handshake's last flight (a server's
 * NewSessionTickets, a client's Finished) must reach the socket before the
 * TX key, and the keys after the records GnuTLS read; here the flight
 * goes in one chain with the ULP and both keys:
 *
 *   ULP -> RX key -> SEND(flight, MSG_WAITALL) [-> its timeout] -> TX key
 *
 * every link but the last quiet (IOSQE_CQE_SKIP_SUCCESS), so that the
 * chain posts one completion: the TX key's when all of it went, or else
 * the one of the link that broke it (a failed link that skips its success
 * completion takes those of the rest with it).  That is three setsockopt
 * calls a connection no longer makes, in the turn of the ring that sent
 * the flight anyway.
 *
 * switch.c still decides (switch_plan_keys) and records
 * (switch_engine_moved); where the chain broke without saying at which
 * link, switch_keys() asks the socket what is on it.  Nothing can fail
 * once a key is in: the TX key is the last link, and a refusal of it
 * leaves TX with GnuTLS exactly as switch_install() would.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "ring.h"

/* include/uapi/linux/io_uring.h (Linux 6.7); liburing 2.3's headers predate it */
#define RING_SOCKET_OP_SETSOCKOPT 3u
/* Linux 6.15: from there a linked command's SQE is copied when it is prepared */
#define RING_FEAT_NO_IOWAIT (1u << 17)

static const char ring_tls_ulp[] = "tls";

/*
 * Socket commands came with Linux 6.7, but a command that waits in a link
 * reads its SQE only when it runs, and kernels before 6.15 could let the
 * slot be reused by then: the chain is used where the ring says 6.15 or
 * later.  Skipped completions and MSG_WAITALL as a short send's failure
 * (5.17, 5.18) come with it.  Not for a connection whose socket goes to
 * another owner after the handshake (exact reads: the kernel's agent).
 */
static bool ring_switch_usable(const struct ring_op *op)
{
	const struct ktls_ring *ring = op->rc->ring;

	return ring_skips_cqes(ring) && (ring->uring->features & RING_FEAT_NO_IOWAIT) &&
	       !ring->no_socket_commands && !op->rc->exact;
}

/* @sqe as setsockopt(@fd, @level, @name, @val, @len) (the kernel's struct io_uring_sqe). */
static void ring_prep_setsockopt(struct io_uring_sqe *sqe, int fd, int level, int name,
				 const void *val, unsigned int len)
{
	struct {
		__u32 level, optname; /* where the kernel's SQE has addr */
	} opt = { (__u32)level, (__u32)name };

	io_uring_prep_rw(IORING_OP_URING_CMD, sqe, fd, NULL, 0, 0);
	sqe->cmd_op = RING_SOCKET_OP_SETSOCKOPT;
	memcpy(&sqe->addr, &opt, sizeof(opt));
	sqe->file_index = len; /* optlen */
	sqe->addr3 = (__u64)(uintptr_t)val;
}

/* A quiet link of @op's chain, before its lead. */
static void ring_chain_quiet(struct ring_op *op, struct io_uring_sqe *sqe)
{
	io_uring_sqe_set_data64(sqe, ring_tag(op, RING_KIND_LEAD));
	sqe->flags |= IOSQE_IO_LINK | IOSQE_CQE_SKIP_SUCCESS;
	op->rc->sqes++;
}

int ring_switch_submit(struct ring_op *op)
{
	struct ring_conn *rc = op->rc;
	struct ktls_conn *conn = rc->conn;
	struct transport_mem *mem = &rc->mem;
	struct ring_switch_keys *keys;
	struct io_uring_sqe *sqe;
	char reason[sizeof(conn->sw.tx.reason)];
	int before, ret;

	if (!ring_switch_usable(op))
		return 0;
	/* What came with the last flight goes to rxbuf before the RX key does. */
	ret = handshake_settle(conn);
	if (ret < 0)
		return ret;
	mem->in_len = mem->in_off = 0;
	if (!switch_engine_may_move(conn))
		return 0;
	keys = rc->switch_keys = calloc(1, sizeof(*keys));
	if (keys == NULL)
		return 0;
	/* GnuTLS wrote the flight: its TX sequence number counts those records. */
	if (keys_from_session(conn->session, KTLS_DIR_RX, &keys->rx, &keys->rx_len, reason,
			      sizeof(reason)) < 0 ||
	    keys_from_session(conn->session, KTLS_DIR_TX, &keys->tx, &keys->tx_len, reason,
			      sizeof(reason)) < 0 ||
	    (sqe = ring_sqe_n(rc->ring, 5)) == NULL) {
		/* switch_keys() says why, when it meets the same refusal. */
		ring_switch_keys_free(rc);
		return 0;
	}
	before = rc->sqes;
	ring_prep_setsockopt(sqe, conn->fd, SOL_TCP, TCP_ULP, ring_tls_ulp, sizeof(ring_tls_ulp));
	ring_chain_quiet(op, sqe);
	sqe = io_uring_get_sqe(rc->ring->uring);
	ring_prep_setsockopt(sqe, conn->fd, SOL_TLS, TLS_RX, &keys->rx, keys->rx_len);
	ring_chain_quiet(op, sqe);
	sqe = io_uring_get_sqe(rc->ring->uring);
	io_uring_prep_send(sqe, conn->fd, mem->out + mem->out_off, mem->out_len,
			   MSG_NOSIGNAL | MSG_WAITALL);
	ring_arm_lead(op, sqe, true, true);
	op->quiet_len = mem->out_len;
	sqe = io_uring_get_sqe(rc->ring->uring);
	ring_prep_setsockopt(sqe, conn->fd, SOL_TLS, TLS_TX, &keys->tx, keys->tx_len);
	op->stage = ST_SWITCH;
	ring_arm(op, sqe, false);
	/* One completion comes whatever happens: the others are skipped. */
	op->quiet_lead_sqes = op->quiet_rest_sqes = rc->sqes - before - 1;
	return 1;
}

void ring_switch_broke(struct ring_op *op, int res)
{
	struct ring_conn *rc = op->rc;
	struct ktls_conn *conn = rc->conn;

	ring_switch_keys_free(rc);
	op->stage = ST_SEND;
	if (res >= 0 || res == -ECANCELED) {
		/*
		 * The send ran, so the ULP and the RX key are on: it fell short
		 * (a signal, a socket error after some bytes), or its timeout
		 * or a cancel stopped it.
		 */
		switch_engine_moved(conn, true, false, 0);
		/* What went stays counted: a shutdown after a cancel sends only the rest. */
		if (res > 0)
			ring_out_sent(&rc->mem, (size_t)res);
		if (res == -ECANCELED || op->cancelled) {
			ring_fail(op, op->cancelled ? -ECANCELED : -ETIMEDOUT, op->ops->name);
			return;
		}
	} else {
		/*
		 * A link refused, sending nothing: the ULP's or the RX key's
		 * command (a kernel without socket commands: EOPNOTSUPP), or
		 * the send on a broken socket.  switch_keys() finds out which.
		 * A ring whose kernel refused the command passes socket options
		 * by system call from now on.
		 */
		conn->sw.moved_unknown = true;
		if (res == -EOPNOTSUPP)
			rc->ring->no_socket_commands = true;
		if (op->cancelled) {
			ring_fail(op, -ECANCELED, op->ops->name);
			return;
		}
	}
	op->ops->advance(op);
}

void ring_switch_done(struct ring_op *op, int res)
{
	struct ring_conn *rc = op->rc;

	ring_switch_keys_free(rc);
	op->stage = ST_SEND;
	/* Everything before ran; the TX key went in, or was refused (TX stays with GnuTLS). */
	if (res == -ECANCELED)
		switch_engine_moved(rc->conn, true, false, 0);
	else
		switch_engine_moved(rc->conn, true, true, res);
	if (op->cancelled || res == -ECANCELED) {
		ring_fail(op, -ECANCELED, op->ops->name);
		return;
	}
	op->ops->advance(op);
}
