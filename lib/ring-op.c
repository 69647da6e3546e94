/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * An engine operation's life, whatever its kind: checks at the start, one
 * main SQE at a time (with a linked timeout for its deadline), exactly one
 * callback at the end and never from inside the call that started it,
 * cancellation; a connection's attachment to a ring and its release (its
 * memory lives until the last completion that points at it).  Also the steps
 * several kinds share: sending what GnuTLS wrote, sending what proto.c
 * queued, waiting for the socket.
 */
#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ring.h"

/* ---- memory transport buffers ---------------------------------------------- */

/* mem.in with room for @cap bytes in all, compacted. */
static int ring_in_reserve(struct transport_mem *mem, size_t cap)
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

void ring_mem_trim(struct transport_mem *mem)
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

static void ring_mem_free(struct transport_mem *mem)
{
	if (mem->in != NULL) {
		explicit_bzero(mem->in, mem->in_cap);
		free(mem->in);
	}
	free(mem->out);
	memset(mem, 0, sizeof(*mem));
}

/* ---- submitting -------------------------------------------------------------- */

/*
 * An operation's timeout goes to the kernel in one of two forms:
 *  - one that counts from the last progress (send, sendfile, shutdown) is
 *    relative: each SQE that makes progress is armed with the whole timeout
 *    again, and needs no clock read;
 *  - any other (receive, handshake) is a CLOCK_MONOTONIC instant, the
 *    clock io_uring's timeouts use, handed over as an absolute time
 *    (IORING_TIMEOUT_ABS): re-arming a receive for the same deadline needs
 *    no clock read, and a deadline already past expires at once.  It is
 *    fixed when the operation first arms a timeout (the engine's clock is
 *    per turn, so that is the time it started).
 * Returns the timeout flags, or -1 when the operation has no timeout.
 */
static int ring_op_timespec(struct ring_op *op, struct __kernel_timespec *ts)
{
	if (op->timeout_ms == 0)
		return -1;
	if (op->progress_resets) {
		ts->tv_sec = op->timeout_ms / 1000;
		ts->tv_nsec = (long long)(op->timeout_ms % 1000) * 1000000;
		return 0;
	}
	if (op->deadline_ns == 0)
		op->deadline_ns = ring_clock_ns(op->rc->ring) + (uint64_t)op->timeout_ms * 1000000u;
	ts->tv_sec = (long long)(op->deadline_ns / 1000000000u);
	ts->tv_nsec = (long long)(op->deadline_ns % 1000000000u);
	return IORING_TIMEOUT_ABS;
}

/*
 * The next SQE: a timeout of @ts linked to the SQE before it, tagged as
 * @op's; NULL if none.  Where the kernel can skip completions and @quiet
 * allows, the timeout posts none at all: when the SQE before it ends
 * first, the kernel drops the timeout with -ECANCELED, a success that
 * skips; when it fires, that SQE's own -ECANCELED says so.  Its
 * completion, posted as deferred task work, would otherwise be one more
 * CQE per step, and one that can end the next io_uring_enter() before a
 * chain submitted there has run (ring-switch.c).  Not behind a lead that
 * posts its completion: when such a lead fails, the kernel fails the rest
 * of its chain with completions, skipping or not (io_fail_links()).  The
 * timespec is copied at submission.
 */
static struct io_uring_sqe *ring_link_timeout(struct ring_op *op, struct __kernel_timespec *ts,
					      int flags, bool quiet)
{
	struct io_uring_sqe *tsqe = io_uring_get_sqe(op->rc->ring->uring);

	if (tsqe == NULL)
		return NULL;
	io_uring_prep_link_timeout(tsqe, ts, (unsigned int)flags);
	io_uring_sqe_set_data64(tsqe, ring_tag(op, RING_KIND_TIMEOUT));
	if (quiet && ring_skips_cqes(op->rc->ring))
		tsqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
	else
		op->rc->sqes++;
	return tsqe;
}

void ring_arm(struct ring_op *op, struct io_uring_sqe *sqe, bool timed)
{
	int flags;

	io_uring_sqe_set_data64(sqe, ring_tag(op, RING_KIND_MAIN));
	op->in_flight = true;
	op->rc->sqes++;
	if (!timed || (flags = ring_op_timespec(op, &op->ts)) < 0)
		return;
	/* The pair must be adjacent in the queue: ring_sqe2() made room for both. */
	sqe->flags |= IOSQE_IO_LINK;
	/* The main SQE of a pair follows its lead: quiet only if the lead is. */
	if (ring_link_timeout(op, &op->ts, flags, !op->lead_in_flight || op->lead_quiet) == NULL)
		sqe->flags &= (__u8)~IOSQE_IO_LINK;
}

void ring_arm_lead(struct ring_op *op, struct io_uring_sqe *sqe, bool timed, bool quiet)
{
	__u8 link = IOSQE_IO_LINK | (quiet ? IOSQE_CQE_SKIP_SUCCESS : 0);
	int before = op->rc->sqes;
	struct io_uring_sqe *tsqe;
	int flags;

	io_uring_sqe_set_data64(sqe, ring_tag(op, RING_KIND_LEAD));
	sqe->flags |= link;
	op->lead_in_flight = true;
	op->lead_short = false;
	op->lead_err = 0;
	op->lead_quiet = quiet;
	op->rc->sqes++;
	if (timed && (flags = ring_op_timespec(op, &op->lead_ts)) >= 0) {
		/*
		 * A linked timeout may sit inside a chain: it bounds the SQE
		 * before it, and the chain goes on to the main SQE when that
		 * one completes.
		 */
		/* Dropped before the lead's failure reaches the rest of the chain. */
		tsqe = ring_link_timeout(op, &op->lead_ts, flags, true);
		if (tsqe != NULL)
			tsqe->flags |= link;
	}
	op->quiet_lead_sqes = op->rc->sqes - before;
}

int ring_submit_poll(struct ring_op *op, unsigned int events)
{
	struct io_uring_sqe *sqe = ring_sqe2(op->rc->ring);

	if (sqe == NULL)
		return -EBUSY;
	io_uring_prep_poll_add(sqe, op->rc->conn->fd, events);
	op->stage = ST_POLL;
	ring_arm(op, sqe, true);
	return 0;
}

int ring_submit_nop(struct ring_op *op)
{
	struct ktls_ring *ring = op->rc->ring;
	struct io_uring_sqe *sqe;

	if (ring->run_depth > 0) {
		/*
		 * A kernel NOP would cost a turn of the ring of its own (one
		 * io_uring_enter() to collect it); the run that is going on
		 * takes this step before it returns.  Counted as an SQE in
		 * flight, so that a conn freed meanwhile waits for it as an
		 * orphan, as it would for the NOP.
		 */
		op->stage = ST_NOP;
		op->in_flight = true;
		op->rc->sqes++;
		op->next_ready = NULL;
		if (ring->ready_tail != NULL)
			ring->ready_tail->next_ready = op;
		else
			ring->ready = op;
		ring->ready_tail = op;
		return 0;
	}
	sqe = ring_sqe(ring);
	if (sqe == NULL)
		return -EBUSY;
	io_uring_prep_nop(sqe);
	op->stage = ST_NOP;
	ring_arm(op, sqe, false);
	return 0;
}

/* Room in mem.in for a RECV of @want bytes (0: as many as fit); what it may take in *@want. */
static int ring_recv_room(struct ring_op *op, size_t *want)
{
	struct transport_mem *mem = &op->rc->mem;
	size_t room;
	size_t cap = op->type == RING_OP_HANDSHAKE && !op->hs_done ? RING_HANDSHAKE_IN_SIZE
								   : RECORD_WIRE_MAX;
	int ret;

	/* The rest of a record after Finished must fit after what is there. */
	if (mem->in_len + *want > cap)
		cap = mem->in_len + *want;
	ret = ring_in_reserve(mem, cap);
	if (ret < 0)
		return ret;
	room = mem->in_cap - mem->in_len;
	if (*want == 0 || *want > room)
		*want = room;
	return *want == 0 ? -ENOBUFS : 0;
}

int ring_submit_recv(struct ring_op *op, size_t want)
{
	struct transport_mem *mem = &op->rc->mem;
	struct io_uring_sqe *sqe;
	int ret = ring_recv_room(op, &want);

	if (ret < 0)
		return ret;
	sqe = ring_sqe2(op->rc->ring);
	if (sqe == NULL)
		return -EBUSY;
	io_uring_prep_recv(sqe, op->rc->conn->fd, mem->in + mem->in_len, want, 0);
	op->stage = ST_RECV;
	ring_arm(op, sqe, true);
	return 0;
}

/*
 * A handshake's flight and the wait for the peer's answer: the SEND leads,
 * linked to the RECV, with IOSQE_CQE_SKIP_SUCCESS on it and on its timeout,
 * so that the io_uring_enter() that submits both waits for the answer, not
 * for the send's completion (a turn of the ring saved per flight).
 * MSG_WAITALL makes the kernel send the rest of a short send itself, so
 * that success means all of it.  A send that fails or is cut short (by its
 * timeout, a cancel or a socket error) posts its CQE, and the kernel posts
 * none for the rest of the chain (linked requests of a failed request that
 * skips its success CQE are skipped too): ring_op_cqe() takes that CQE as
 * the end of a plain ST_SEND and the step starts over from there.
 */
int ring_submit_send_recv(struct ring_op *op, size_t want)
{
	struct ring_conn *rc = op->rc;
	struct transport_mem *mem = &rc->mem;
	struct io_uring_sqe *lead, *sqe;
	int before, ret;

	/*
	 * Skipping completions came with Linux 5.17; a short MSG_WAITALL send
	 * counts as a failure (and posts) where the kernel has 5.18's
	 * features: without both, the flight goes first, as a step of its own.
	 */
	if (!ring_skips_cqes(rc->ring))
		return -ENOTSUP;
	ret = ring_recv_room(op, &want);
	if (ret < 0)
		return ret;
	lead = ring_sqe_n(rc->ring, 4);
	if (lead == NULL)
		return -EBUSY;
	io_uring_prep_send(lead, rc->conn->fd, mem->out + mem->out_off, mem->out_len,
			   MSG_NOSIGNAL | MSG_WAITALL);
	ring_arm_lead(op, lead, true, true);
	op->quiet_len = mem->out_len;
	before = rc->sqes;
	sqe = io_uring_get_sqe(rc->ring->uring);
	io_uring_prep_recv(sqe, rc->conn->fd, mem->in + mem->in_len, want, 0);
	op->stage = ST_RECV;
	ring_arm(op, sqe, true);
	op->quiet_rest_sqes = op->quiet_lead_sqes - 1 + (rc->sqes - before);
	return 0;
}

int ring_submit_send_mem(struct ring_op *op)
{
	struct transport_mem *mem = &op->rc->mem;
	struct io_uring_sqe *sqe = ring_sqe2(op->rc->ring);

	if (sqe == NULL)
		return -EBUSY;
	io_uring_prep_send(sqe, op->rc->conn->fd, mem->out + mem->out_off, mem->out_len,
			   MSG_NOSIGNAL);
	op->stage = ST_SEND;
	ring_arm(op, sqe, true);
	return 0;
}

int ring_submit_control(struct ring_op *op)
{
	struct ktls_conn *conn = op->rc->conn;
	const struct proto_out *o;
	struct io_uring_sqe *sqe;
	int ret;

	while ((o = proto_out_peek(conn)) != NULL) {
		if (o->kind == PROTO_OUT_RECORD) {
			/* The bytes are copied: the conn (and its queue) may go while it flies. */
			memcpy(op->ctl, o->data, o->len);
			kernel_msg_out(&op->kmsg, o->type, op->ctl, o->len);
			sqe = ring_sqe2(op->rc->ring);
			if (sqe == NULL)
				return -EBUSY;
			io_uring_prep_sendmsg(sqe, conn->fd, &op->kmsg.msg, MSG_NOSIGNAL);
			op->stage = ST_CONTROL;
			ring_arm(op, sqe, true);
			return 1;
		}
		/* GnuTLS's record layer holds TX: it writes into mem.out, sent below. */
		ret = transport_gnutls_out(conn, o);
		if (ret < 0 && ret != -EAGAIN)
			return error_conn(conn, ret, "sending a control record: %s", strerror(-ret));
		ret = proto_out_done(conn);
		if (ret < 0)
			return ret;
		if (op->rc->mem.out_len > 0) {
			ret = ring_submit_send_mem(op);
			return ret < 0 ? ret : 1;
		}
	}
	return 0;
}

/* ---- waiting for a record (kernel RX) ---------------------------------------------- */

static int ring_arm_rxpoll(struct ring_conn *rc)
{
	struct io_uring_sqe *sqe;

	if (rc->rxpoll_armed) {
		if (rc->rxpoll_cancelling)
			rc->rxpoll_rearm = true;
		return 0;
	}
	sqe = ring_sqe(rc->ring);
	if (sqe == NULL)
		return -EBUSY;
	io_uring_prep_poll_multishot(sqe, rc->conn->fd, POLLIN);
	io_uring_sqe_set_data64(sqe, ring_tag(rc, RING_KIND_RXPOLL));
	rc->rxpoll_armed = true;
	rc->sqes++;
	return 0;
}

int ring_wait_ready(struct ring_op *op)
{
	struct ring_conn *rc = op->rc;
	struct io_uring_sqe *sqe;
	struct ring_timer *t;
	int ret, flags;

	if (op->timer_fired)
		return -ETIMEDOUT;
	ret = ring_arm_rxpoll(rc);
	if (ret < 0)
		return ret;
	op->stage = ST_WAIT;
	if (op->timeout_ms == 0 || op->timer != NULL)
		return 0;
	t = calloc(1, sizeof(*t));
	sqe = t != NULL ? ring_sqe(rc->ring) : NULL;
	if (sqe == NULL) {
		free(t);
		return t == NULL ? -ENOMEM : -EBUSY;
	}
	t->rc = rc;
	t->op = op;
	t->next = rc->ring->timers;
	if (t->next != NULL)
		t->next->prev = t;
	rc->ring->timers = t;
	flags = ring_op_timespec(op, &t->ts);
	io_uring_prep_timeout(sqe, &t->ts, 0, (unsigned int)flags);
	io_uring_sqe_set_data64(sqe, ring_tag(t, RING_KIND_TIMER));
	op->timer = t;
	rc->sqes++;
	return 0;
}

void ring_stop_timer(struct ring_op *op)
{
	struct ring_timer *t = op->timer;
	struct io_uring_sqe *sqe;

	op->timer_fired = false;
	if (t == NULL)
		return;
	op->timer = NULL;
	t->op = NULL;
	/* Its completion (-ECANCELED, or -ETIME if it raced) frees it and touches no op. */
	sqe = ring_sqe(op->rc->ring);
	if (sqe != NULL) {
		io_uring_prep_timeout_remove(sqe, ring_tag(t, RING_KIND_TIMER), 0);
		io_uring_sqe_set_data64(sqe, ring_tag(NULL, RING_KIND_CANCEL));
	}
}

/* ---- completing ------------------------------------------------------------------- */

static void ring_op_cleanup(struct ring_op *op)
{
	struct ktls_ring *ring = op->rc->ring;

	ring_pipe_put(ring, op->pipe, op->in_pipe == 0 && op->pipe_cap == RING_PIPE_SIZE);
	op->in_pipe = 0;
	free(op->plain);
	op->plain = NULL;
	/* Data records were wiped when delivered, control records by proto.c. */
	ring_rbuf_put(ring, op->rbuf, 0);
	op->rbuf = NULL;
	explicit_bzero(op->ctl, sizeof(op->ctl));
	ring_stop_timer(op);
}

void ring_finish(struct ring_op *op, ssize_t result, const void *data, size_t len)
{
	struct ktls_conn *conn = op->rc->conn;
	ktls_ring_cb cb = op->cb;
	void *userdata = op->userdata;
	bool internal = op->internal;
	const struct ring_op_ops *ops = op->ops;

	/* The engine's own receive calls no one: it may end at once. */
	if ((op->starting && !internal) || op->zc_notifs > 0) {
		op->result = result;
		op->has_result = true;
		if (op->zc_notifs > 0)
			return; /* the buffer is libktls's until the kernel's notification */
		if (ring_submit_nop(op) == 0)
			return;
	}
	ring_op_cleanup(op);
	ring_mem_trim(&op->rc->mem);
	op->active = false;
	op->internal = false;
	op->has_result = false;
	op->type = RING_OP_NONE;
	if (result < 0 && op->cancelled)
		result = -ECANCELED;
	if (ops != NULL && ops->done != NULL)
		ops->done(op, result);
	if (cb != NULL && !internal)
		cb(conn, result, data, userdata);
}

void ring_fail(struct ring_op *op, int err, const char *what)
{
	struct ktls_conn *conn = op->rc->conn;

	if (err == -ETIMEDOUT)
		err = error_conn(conn, err, "%s: timed out", what);
	else if (err != -ECANCELED)
		err = error_conn(conn, err, "%s: %s", what, strerror(-err));
	ring_finish(op, err, NULL, 0);
}

void ring_check(struct ring_op *op, int ret)
{
	if (ret < 0)
		ring_fail(op, ret, op->ops->name);
}

bool ring_retry_or_fail(struct ring_op *op, int res, unsigned int events)
{
	if (res >= 0)
		return false;
	if (res == -EAGAIN)
		ring_check(op, ring_submit_poll(op, events));
	else if (events == POLLOUT && res != -ECANCELED)
		/* A write to the socket: named as the blocking calls name it. */
		ring_finish(op, error_conn_send(op->rc->conn, op->ops->name, -res), NULL, 0);
	else
		ring_fail(op, res, op->ops->name);
	return true;
}

void ring_out_sent(struct transport_mem *mem, size_t n)
{
	mem->out_off += n;
	mem->out_len -= n;
	if (mem->out_len == 0)
		mem->out_off = 0;
}

/* A send from mem.out or a receive into mem.in moved @res >= 0 bytes (0: EOF). */
static void ring_mem_moved(struct ring_op *op, int res)
{
	struct transport_mem *mem = &op->rc->mem;

	if (op->stage == ST_SEND) {
		ring_out_sent(mem, (size_t)res);
	} else if (op->stage == ST_RECV) {
		if (res == 0)
			mem->eof = true;
		mem->in_len += (size_t)res;
	}
}

/* The main SQE of @op completed with @res. */
static void ring_op_complete(struct ring_op *op, int res, unsigned int flags)
{
	int ret;

	if (op->stage == ST_NOP && op->has_result) {
		ring_finish(op, op->result, NULL, 0);
		return;
	}
	if (op->stage == ST_SWITCH) {
		/* Keys may be the kernel's now: its ops record that, cancelled or not. */
		op->ops->complete(op, res, flags);
		return;
	}
	if (op->cancelled) {
		/*
		 * Whatever it completed with, nothing more is started for it.
		 * Bytes it moved stay counted: a handshake's flight cut short is
		 * finished before the alert that a shutdown sends after it.
		 */
		if (res > 0)
			ring_mem_moved(op, res);
		/* A control record that went anyway is not sent again by a later shutdown. */
		if (op->stage == ST_CONTROL && res >= 0)
			proto_out_done(op->rc->conn);
		ring_fail(op, -ECANCELED, op->ops->name);
		return;
	}
	if (op->stage == ST_NOP || res == -EINTR) {
		op->ops->advance(op);
		return;
	}
	if (res == -ECANCELED && op->lead_short) {
		/* Not by a timeout: the pair's lead fell short and the link broke. */
		op->lead_short = false;
		op->ops->complete(op, res, flags);
		return;
	}
	if (res == -ECANCELED) {
		/* Not by the caller (above): by the linked timeout. */
		ring_fail(op, -ETIMEDOUT, op->ops->name);
		return;
	}
	switch (op->stage) {
	case ST_POLL:
		/* The socket is ready: redo the step that was waiting for it. */
		if (res < 0)
			ring_fail(op, res, op->ops->name);
		else
			op->ops->advance(op);
		return;
	case ST_CONTROL:
		if (op->closing && res < 0 && res != -EAGAIN) {
			/*
			 * KTLS_SEND_CLOSE: the data is the kernel's already, and
			 * the peer that refuses close_notify has gone.  The
			 * result stays the data's; the reason is recorded.
			 */
			error_conn_send(op->rc->conn, "close_notify", -res);
			ring_finish(op, (ssize_t)op->len, NULL, 0);
			return;
		}
		if (ring_retry_or_fail(op, res, POLLOUT))
			return;
		ret = proto_out_done(op->rc->conn);
		if (ret < 0)
			ring_finish(op, ret, NULL, 0);
		else
			op->ops->advance(op);
		return;
	case ST_SEND:
		if (ring_retry_or_fail(op, res, POLLOUT))
			return;
		ring_mem_moved(op, res);
		op->ops->advance(op);
		return;
	case ST_RECV:
		if (ring_retry_or_fail(op, res, POLLIN))
			return;
		ring_mem_moved(op, res);
		op->ops->advance(op);
		return;
	default:
		op->ops->complete(op, res, flags);
		return;
	}
}

/* ---- connections ------------------------------------------------------------------- */

/* What an engine connection holds, when no SQE of it can complete any more. */
static void ring_conn_free_memory(struct ring_conn *rc)
{
	for (struct ring_op *op = &rc->tx; op != NULL; op = op == &rc->tx ? &rc->rx : NULL) {
		if (op->pipe[0] >= 0 && rc->ring != NULL) {
			ring_pipe_put(rc->ring, op->pipe, false);
		} else if (op->pipe[0] >= 0) {
			close(op->pipe[0]);
			close(op->pipe[1]);
		}
		free(op->plain);
		if (op->rbuf != NULL) {
			explicit_bzero(op->rbuf, RECORD_WIRE_MAX);
			free(op->rbuf);
		}
	}
	ring_mem_free(&rc->mem);
	ring_switch_keys_free(rc);
	free(rc);
}

void ring_switch_keys_free(struct ring_conn *rc)
{
	if (rc->switch_keys == NULL)
		return;
	keys_wipe(&rc->switch_keys->rx);
	keys_wipe(&rc->switch_keys->tx);
	free(rc->switch_keys);
	rc->switch_keys = NULL;
}

static void ring_conn_settle(struct ring_conn *rc)
{
	struct ktls_ring *ring = rc->ring;
	struct ring_conn **pp;

	if (rc->conn != NULL || rc->sqes > 0)
		return;
	for (pp = &ring->orphans; *pp != NULL; pp = &(*pp)->next_orphan)
		if (*pp == rc) {
			*pp = rc->next_orphan;
			break;
		}
	ring_pipe_put(ring, rc->tx.pipe, false);
	ring_rbuf_put(ring, rc->rx.rbuf, RECORD_WIRE_MAX);
	rc->rx.rbuf = NULL;
	ring_conn_free_memory(rc);
}

void ring_orphans_free(struct ktls_ring *ring)
{
	while (ring->orphans != NULL) {
		struct ring_conn *rc = ring->orphans;

		ring->orphans = rc->next_orphan;
		ring_conn_free_memory(rc);
	}
}

/*
 * ktls_ring_free() with connections still attached: the ring's completions
 * will never be handled, so their operations end here without a callback.
 * Each connection keeps its engine part (its memory transport) until
 * ktls_conn_free(); ring calls on it fail from now on.
 */
void ring_conns_detach(struct ktls_ring *ring)
{
	while (ring->attached != NULL) {
		struct ring_conn *rc = ring->attached;

		ring->attached = rc->next_attached;
		for (struct ring_op *op = &rc->tx; op != NULL; op = op == &rc->tx ? &rc->rx : NULL) {
			if (op->timer != NULL)
				op->timer->op = NULL;
			op->timer = NULL;
			op->active = false;
			op->in_flight = false;
			op->internal = false;
		}
		rc->rxpoll_armed = false;
		rc->rxpoll_cancelling = rc->rxpoll_rearm = false;
		rc->sqes = 0;
		rc->ring = NULL;
		rc->next_attached = rc->prev_attached = NULL;
	}
}

/* Timers whose completion was never handled (the ring went first). */
void ring_timers_free(struct ktls_ring *ring)
{
	while (ring->timers != NULL) {
		struct ring_timer *t = ring->timers;

		ring->timers = t->next;
		free(t);
	}
}

static void ring_timer_unlink(struct ring_timer *t)
{
	if (t->prev != NULL)
		t->prev->next = t->next;
	else
		t->rc->ring->timers = t->next;
	if (t->next != NULL)
		t->next->prev = t->prev;
}

static bool ring_cancel_sqe(struct ktls_ring *ring, uint64_t target);

void ring_op_cqe(struct ring_op *op, enum ring_kind kind, const struct io_uring_cqe *cqe)
{
	struct ring_conn *rc = op->rc;

	/*
	 * Every SQE has one CQE, except a zero-copy send: its first completion
	 * has F_MORE, and a notification follows when the buffer is free.
	 */
	if (!(kind == RING_KIND_MAIN && (cqe->flags & IORING_CQE_F_MORE)))
		rc->sqes--;
	if (kind == RING_KIND_LEAD && op->lead_quiet) {
		/*
		 * A quiet lead that failed or fell short: nothing else of its
		 * chain will come, and its CQE ends the step as a plain send's.
		 */
		rc->sqes -= op->quiet_rest_sqes;
		op->lead_quiet = false;
		op->lead_in_flight = false;
		if (op->stage == ST_SWITCH) {
			/* A switch chain: the TX key's command never ran; its ops' lead() says what did. */
			op->in_flight = false;
		} else {
			op->stage = ST_SEND;
			kind = RING_KIND_MAIN;
		}
	} else if (kind == RING_KIND_MAIN && op->lead_quiet) {
		/* The chain went on: the quiet lead sent all it had, and its timeout was cancelled. */
		rc->sqes -= op->quiet_lead_sqes;
		op->lead_quiet = false;
		op->lead_in_flight = false;
		ring_out_sent(&rc->mem, op->quiet_len);
	}
	if (kind == RING_KIND_LEAD) {
		op->lead_in_flight = false;
		/*
		 * A cancel that found the lead already running missed the main
		 * SQE, which the kernel only now starts: cancel that one too.
		 */
		if ((rc->conn == NULL || op->cancelled) && rc->ring != NULL)
			ring_cancel_sqe(rc->ring, ring_tag(op, RING_KIND_MAIN));
	}
	if (rc->conn == NULL) {
		/* The conn was freed: settle what is left, call no one. */
		ring_conn_settle(rc);
		return;
	}
	error_conn_begin(rc->conn);
	/*
	 * From here a callback may free the conn and with it @rc: nothing below
	 * may touch either after the dispatch.  Linked timeouts and cancel
	 * requests carry nothing the op needs.
	 */
	if (cqe->flags & IORING_CQE_F_NOTIF) {
		if (--op->zc_notifs == 0 && op->has_result && op->active)
			ring_finish(op, op->result, NULL, 0);
	} else if (kind == RING_KIND_MAIN) {
		op->in_flight = false;
		if (op->active)
			ring_op_complete(op, cqe->res, cqe->flags);
	} else if (kind == RING_KIND_LEAD && op->active && op->ops->lead != NULL) {
		op->ops->lead(op, cqe->res);
	}
}

void ring_timer_cqe(struct ring_timer *t, const struct io_uring_cqe *cqe)
{
	struct ring_conn *rc = t->rc;
	struct ring_op *op = t->op;

	ring_timer_unlink(t);
	free(t);
	rc->sqes--;
	if (rc->conn == NULL) {
		ring_conn_settle(rc);
		return;
	}
	if (op == NULL || cqe->res != -ETIME)
		return;
	error_conn_begin(rc->conn);
	op->timer = NULL;
	op->timer_fired = true;
	/* A receive that waits fails now; one in the middle of a step, when it waits next. */
	if (op->active && op->stage == ST_WAIT)
		ring_fail(op, -ETIMEDOUT, op->ops->name);
}

void ring_conn_cqe(struct ring_conn *rc, const struct io_uring_cqe *cqe)
{
	if (!(cqe->flags & IORING_CQE_F_MORE)) {
		rc->rxpoll_armed = false;
		rc->rxpoll_cancelling = false;
		rc->sqes--;
	}
	if (rc->conn == NULL) {
		ring_conn_settle(rc);
		return;
	}
	error_conn_begin(rc->conn);
	if (!rc->rxpoll_armed && rc->rxpoll_rearm) {
		/* A receive began to wait while the poll was being cancelled: a new one. */
		int ret = ring_arm_rxpoll(rc);

		rc->rxpoll_rearm = false;
		if (ret < 0 && rc->rx.active && rc->rx.stage == ST_WAIT) {
			ring_fail(&rc->rx, ret, rc->rx.ops->name);
			return;
		}
	}
	if (cqe->res == -ECANCELED)
		return;
	rc->rx_maybe_ready = true;
	if (rc->rx.active && rc->rx.stage == ST_WAIT)
		rc->rx.ops->advance(&rc->rx);
}

static bool ring_cancel_sqe(struct ktls_ring *ring, uint64_t target)
{
	struct io_uring_sqe *sqe = ring_sqe(ring);

	if (sqe == NULL)
		return false;
	io_uring_prep_cancel64(sqe, target, 0);
	io_uring_sqe_set_data64(sqe, ring_tag(NULL, RING_KIND_CANCEL));
	return true;
}

void ring_rxpoll_cancel(struct ring_conn *rc)
{
	if (rc->rxpoll_armed && !rc->rxpoll_cancelling &&
	    ring_cancel_sqe(rc->ring, ring_tag(rc, RING_KIND_RXPOLL)))
		rc->rxpoll_cancelling = true;
}

static void ring_cancel_op(struct ring_op *op)
{
	if (!op->active)
		return;
	op->cancelled = true;
	if (op->stage == ST_WAIT) {
		/* Nothing of its own in flight: end it now (its callback comes later: ring_submit_nop). */
		op->starting = true;
		ring_fail(op, -ECANCELED, op->ops->name);
		op->starting = false;
		return;
	}
	if (!op->in_flight || op->stage == ST_NOP)
		return;
	/* Cancelling a pair's lead breaks the link: its main SQE ends -ECANCELED too. */
	if (op->lead_in_flight)
		ring_cancel_sqe(op->rc->ring, ring_tag(op, RING_KIND_LEAD));
	ring_cancel_sqe(op->rc->ring, ring_tag(op, RING_KIND_MAIN));
}

struct ktls_ring *ring_fd_owner(const struct ktls_conn *conn)
{
	const struct ring_conn *rc = conn->ring;

	return rc != NULL && rc->ring != NULL && rc->ring->owned ? rc->ring : NULL;
}

void ring_fd_settle(struct ktls_ring *ring)
{
	if (ring != NULL && io_uring_sq_ready(ring->uring) > 0)
		ring_submit(ring);
}

bool ring_fd_close(struct ktls_ring *ring, int fd)
{
	struct io_uring_sqe *sqe;

	/* Outside a run nothing follows soon: the caller submits what is queued and closes now. */
	if (ring == NULL || !ring_detached_ok(ring) || (sqe = ring_sqe(ring)) == NULL)
		return false;
	io_uring_prep_close(sqe, fd);
	ring_detach_sqe(sqe);
	return true;
}

void ring_conn_release(struct ktls_conn *conn)
{
	struct ring_conn *rc = conn->ring;

	if (rc == NULL)
		return;
	conn->ring = NULL;
	if (rc->ring == NULL) {
		/* Its ring was freed first (ring_conns_detach): nothing is in flight. */
		ring_conn_free_memory(rc);
		return;
	}
	if (rc->prev_attached != NULL)
		rc->prev_attached->next_attached = rc->next_attached;
	else
		rc->ring->attached = rc->next_attached;
	if (rc->next_attached != NULL)
		rc->next_attached->prev_attached = rc->prev_attached;
	ring_cancel_op(&rc->tx);
	ring_cancel_op(&rc->rx);
	ring_stop_timer(&rc->tx);
	ring_stop_timer(&rc->rx);
	if (rc->switch_keys != NULL)
		/*
		 * A switch chain's TX key may still wait as deferred task work
		 * behind a send that went: it looks the fd up only when it runs,
		 * so it runs now, on this socket, before the caller closes the fd
		 * and its number can name another one (no SQE is submitted).
		 */
		io_uring_get_events(rc->ring->uring);
	rc->rxpoll_rearm = false;
	ring_rxpoll_cancel(rc);
	rc->conn = NULL;
	if (rc->sqes > 0) {
		/* Completions still to come point at rc: it lives until they are in. */
		rc->next_orphan = rc->ring->orphans;
		rc->ring->orphans = rc;
		return;
	}
	ring_conn_settle(rc);
}

KTLS_EXPORT int ktls_conn_ring_attach(struct ktls_conn *conn, struct ktls_ring *ring)
{
	struct ring_conn *rc;
	int nonblocking = 1;

	if (conn == NULL || ring == NULL)
		return -EINVAL;
	error_conn_begin(conn);
	if (conn->ring != NULL || conn->hs.state != HANDSHAKE_NEW)
		return error_conn(conn, -EINVAL,
				  "attach a connection to one ring, before its handshake");
	rc = calloc(1, sizeof(*rc));
	if (rc == NULL)
		return error_conn(conn, -ENOMEM, "out of memory");
	/*
	 * Direct calls on the fd (ktls_conn_free's drain) must never block the
	 * ring's thread.  FIONBIO sets O_NONBLOCK alone, in one system call; a
	 * socket from the engine's own accept has it already.
	 */
	if (!conn->fd_nonblocking && ioctl(conn->fd, FIONBIO, &nonblocking) < 0) {
		free(rc);
		return error_conn(conn, -errno, "making the socket non-blocking: %s",
				  strerror(errno));
	}
	conn->fd_nonblocking = true;
	rc->ring = ring;
	rc->conn = conn;
	rc->tx.rc = rc;
	rc->rx.rc = rc;
	rc->tx.pipe[0] = rc->tx.pipe[1] = -1;
	rc->rx.pipe[0] = rc->rx.pipe[1] = -1;
	/* Bounds what GnuTLS may queue: a handshake flight, or one chunk of records. */
	rc->mem.out_max = 4 * KTLS_RING_TX_CHUNK;
	rc->next_attached = ring->attached;
	if (rc->next_attached != NULL)
		rc->next_attached->prev_attached = rc;
	ring->attached = rc;
	conn->ring = rc;
	transport_set_mem(conn, &rc->mem);
	return 0;
}

/* ---- starting ---------------------------------------------------------------------- */

int ring_op_start(struct ktls_conn *conn, struct ring_op **ret_op, bool rx, enum ring_op_type type,
		  const struct ring_op_ops *ops, unsigned int timeout_ms, ktls_ring_cb cb,
		  void *userdata)
{
	struct ring_conn *rc;
	struct ring_op *op;

	if (conn == NULL)
		return -EINVAL;
	error_conn_begin(conn);
	rc = conn->ring;
	if (rc == NULL)
		return error_conn(conn, -EINVAL, "the connection is not attached to a ring");
	if (rc->ring == NULL)
		return error_conn(conn, -EINVAL,
				  "the connection's ring was freed (ktls_ring_free) while it was attached");
	if (type == RING_OP_HANDSHAKE) {
		if (conn->hs.state != HANDSHAKE_NEW)
			return error_conn(conn, -EINVAL, "the handshake was started already");
	} else if (conn->hs.state != HANDSHAKE_DONE &&
		   !(type == RING_OP_SHUTDOWN && handshake_can_cancel(conn))) {
		return conn->hs.state == HANDSHAKE_FAILED
			       ? conn->hs.failure
			       : error_conn(conn, -EINVAL,
					    "no data can move before the handshake completes");
	}
	op = rx ? &rc->rx : &rc->tx;
	/* The engine's own receive (during a send) gives way to the application's. */
	if (rx && op->active && op->internal) {
		op->internal = false;
		op->cb = cb;
		op->userdata = userdata;
		op->timeout_ms = timeout_ms;
		op->deadline_ns = 0; /* fixed when it next arms a timeout */
		op->max = 0;
		*ret_op = op;
		return 1;
	}
	if (op->active || op->in_flight ||
	    (type == RING_OP_HANDSHAKE && (rc->rx.active || rc->rx.in_flight)))
		return -EBUSY;
	if (type != RING_OP_HANDSHAKE && rc->tx.type == RING_OP_HANDSHAKE && rc->tx.active)
		return -EBUSY;
	ring_stop_timer(op);
	memset(&op->ops, 0, sizeof(*op) - offsetof(struct ring_op, ops));
	op->ops = ops;
	op->pipe[0] = op->pipe[1] = -1;
	op->type = type;
	op->active = true;
	op->cb = cb;
	op->userdata = userdata;
	op->timeout_ms = timeout_ms;
	*ret_op = op;
	return 0;
}

void ring_op_kick(struct ring_op *op)
{
	op->starting = true;
	op->ops->advance(op);
	op->starting = false;
}

KTLS_EXPORT int ktls_conn_ring_cancel(struct ktls_conn *conn)
{
	int n = 0;

	if (conn == NULL || conn->ring == NULL)
		return 0;
	if (conn->ring->tx.active && !conn->ring->tx.cancelled) {
		ring_cancel_op(&conn->ring->tx);
		n++;
	}
	if (conn->ring->rx.active && !conn->ring->rx.cancelled && !conn->ring->rx.internal) {
		ring_cancel_op(&conn->ring->rx);
		n++;
	}
	return n;
}

KTLS_EXPORT int ktls_conn_ring_busy(const struct ktls_conn *conn)
{
	if (conn == NULL || conn->ring == NULL)
		return 0;
	return (conn->ring->tx.active ? 1 : 0) +
	       (conn->ring->rx.active && !conn->ring->rx.internal ? 1 : 0);
}
