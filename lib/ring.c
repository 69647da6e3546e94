/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The ring itself: one the application owns or one libktls makes, running
 * it, and routing each completion to what it belongs to (an operation, a
 * connection's readiness poll, a timer, an accept) by its tag.
 */
#include <errno.h>
#include <stdlib.h>

#include "ring.h"

KTLS_EXPORT int ktls_ring_process_cqe(struct ktls_ring *ring, const struct io_uring_cqe *cqe)
{
	uint64_t data;
	enum ring_kind kind;
	void *ptr;

	if (ring == NULL || cqe == NULL)
		return 0;
	data = io_uring_cqe_get_data64(cqe);
	if ((data >> RING_TAG_SHIFT) != KTLS_RING_USER_DATA_TAG)
		return 0;
	kind = (enum ring_kind)(data & RING_KIND_MASK);
	ptr = (void *)(uintptr_t)(data & ~((uint64_t)0xff << RING_TAG_SHIFT) &
				  ~(uint64_t)RING_KIND_MASK);
	if (ptr == NULL)
		return 1; /* a cancel request's own completion */
	switch (kind) {
	case RING_KIND_ACCEPT:
	case RING_KIND_ACCEPT_WAIT:
		ring_accept_cqe(ptr, cqe, kind);
		break;
	case RING_KIND_RXPOLL:
		ring_conn_cqe(ptr, cqe);
		break;
	case RING_KIND_TIMER:
		ring_timer_cqe(ptr, cqe);
		break;
	default:
		ring_op_cqe(ptr, kind, cqe);
		break;
	}
	return 1;
}

/*
 * Run the steps on the ready list (ring_submit_nop), as if their NOPs had
 * completed.  One batch: what they put on the list goes to the next pass.
 */
static unsigned int ring_run_ready(struct ktls_ring *ring)
{
	struct ring_op *op = ring->ready;
	unsigned int n = 0;

	ring->ready = ring->ready_tail = NULL;
	while (op != NULL) {
		struct ring_op *next = op->next_ready;
		/* What the NOP's completion would carry: the same path handles it. */
		struct io_uring_cqe cqe = { .user_data = ring_tag(op, RING_KIND_MAIN), .res = 0 };

		op->next_ready = NULL;
		n += (unsigned int)ktls_ring_process_cqe(ring, &cqe);
		op = next;
	}
	return n;
}

/*
 * splice(2) into a socket whose peer has gone raises SIGPIPE in the task
 * that runs it, and io_uring may run a ring sendfile's splice in the task
 * that enters the ring (or closes it): ktls_ring_run() and ktls_ring_free()
 * of its own ring keep it from the application (kernel_sigpipe_block).
 */
KTLS_EXPORT int ktls_ring_run(struct ktls_ring *ring, int timeout_ms)
{
	struct io_uring_cqe *cqe;
	unsigned int n = 0;
	int ret;

	if (ring == NULL)
		return -EINVAL;
	/*
	 * Only while a sendfile holds a pipe can a splice run (callbacks run
	 * inside too and may start one: ring_pipe_get() blocks SIGPIPE then).
	 * A keep-alive server's three runs per request otherwise cost twelve
	 * signal-mask system calls for nothing.
	 */
	ring->run_depth++;
	ring_sigpipe_guard(ring);
	if (ring->disabled)
		ring_submit(ring);
	/*
	 * What the callbacks of the last run queued goes to the kernel here,
	 * in the same io_uring_enter() as the wait: a keep-alive request
	 * (receive, then send) costs one system call per turn, not two.
	 */
	if (ring->ready != NULL) {
		/* Steps left from the last run (or a run inside a callback) wait for nothing. */
		ret = io_uring_submit(ring->uring);
	} else if (timeout_ms < 0) {
		ret = io_uring_submit_and_wait(ring->uring, 1);
	} else {
		struct __kernel_timespec ts = { .tv_sec = timeout_ms / 1000,
						.tv_nsec = (timeout_ms % 1000) * 1000000L };

		ret = io_uring_submit_and_wait_timeout(ring->uring, &cqe, 1, &ts, NULL);
		if (ret == -ETIME)
			ret = 0;
	}
	if (ret < 0 && ret != -EBUSY)
		goto out;
	/* Read when this turn first needs it (ring_clock_ns): many turns arm no deadline. */
	ring->turn_ns = 0;
	/*
	 * Each CQE is copied and released first: its callback may submit and
	 * reap.  Steps the callbacks left on the ready list run before the
	 * run returns, and may queue more of either; what is left after
	 * RING_READY_PASSES makes the next run return at once.
	 */
	for (unsigned int pass = 0;; pass++) {
		while (io_uring_peek_cqe(ring->uring, &cqe) == 0) {
			struct io_uring_cqe copy = *cqe;

			io_uring_cqe_seen(ring->uring, cqe);
			if (ktls_ring_process_cqe(ring, &copy) > 0) {
				n++;
			} else if (ring->app_cqe_cb != NULL) {
				ring->app_cqe_cb(ring, &copy, ring->app_cqe_userdata);
				n++;
			}
		}
		/*
		 * A bounded number of passes: a callback that keeps starting
		 * steps that wait for nothing (receiving again after the end of
		 * the stream) must not keep the run from returning.
		 */
		if (ring->ready == NULL || pass == RING_READY_PASSES)
			break;
		n += ring_run_ready(ring);
	}
	ret = (int)n;
out:
	if (--ring->run_depth == 0 && ring->sigpipe_blocked) {
		ring->sigpipe_blocked = false;
		kernel_sigpipe_restore(&ring->sigpipe);
	}
	return ret;
}

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
		/*
		 * io_uring completes a splice that had to wait for room in the
		 * socket as task work in this process's thread, which by default
		 * runs on that thread's next return from any system call or
		 * interrupt: a splice to a peer that has gone would raise its
		 * SIGPIPE anywhere in the application (seen on Linux 7.2).  With
		 * DEFER_TASKRUN it runs only inside io_uring_enter() waiting for
		 * completions, that is inside ktls_ring_run(), which blocks
		 * SIGPIPE.  DEFER_TASKRUN needs SINGLE_ISSUER; R_DISABLED makes
		 * the issuer the thread that first submits (ring_submit), not the
		 * one creating the ring.  Kernels before 6.1 refuse the flags.
		 */
		struct io_uring_params params = {
			.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN |
				 IORING_SETUP_R_DISABLED,
		};

		ret = io_uring_queue_init_params(entries ? entries : 256, &ring->own, &params);
		ring->disabled = ret == 0;
		if (ret == -EINVAL)
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

/*
 * Before an owned ring goes: cancel what is in flight and reap it here,
 * while SIGPIPE is blocked, so that no splice left over (one waiting for
 * room in a socket whose peer has gone) completes during the ring's
 * asynchronous teardown and raises SIGPIPE in the application later.  The
 * CQEs are dropped, not dispatched: ktls_ring_free() runs no callback.
 * Bounded: the completions of cancelled requests come at once.
 */
static void ring_cancel_all(struct ktls_ring *ring)
{
	struct io_uring_sqe *sqe = ring_sqe(ring);
	struct __kernel_timespec ts = { .tv_sec = 0, .tv_nsec = 20 * 1000000L };
	struct io_uring_cqe *cqe;

	if (sqe == NULL)
		return;
	io_uring_prep_cancel64(sqe, 0, IORING_ASYNC_CANCEL_ANY);
	io_uring_sqe_set_data64(sqe, 0);
	ring_submit(ring);
	for (int rounds = 0; rounds < 50; rounds++) {
		if (io_uring_wait_cqe_timeout(ring->uring, &cqe, &ts) != 0)
			break;
		io_uring_cqe_seen(ring->uring, cqe);
	}
}

KTLS_EXPORT void ktls_ring_free(struct ktls_ring *ring)
{
	if (ring == NULL)
		return;
	/*
	 * Exiting the ring cancels everything; orphans' memory goes with it.
	 * Connections still attached stay valid, detached: ktls_conn_free()
	 * frees their part later.
	 */
	if (ring->owned) {
		struct kernel_sigpipe sp;

		kernel_sigpipe_block(&sp);
		ring_cancel_all(ring);
		io_uring_queue_exit(&ring->own);
		kernel_sigpipe_restore(&sp);
	}
	ring_conns_detach(ring);
	ring_orphans_free(ring);
	ring_timers_free(ring);
	ring_accepts_free(ring);
	ring_pools_free(ring);
	free(ring->slot_ts);
	free(ring);
}

KTLS_EXPORT int ktls_ring_set_cqe_callback(struct ktls_ring *ring, ktls_ring_cqe_cb cb,
					   void *userdata)
{
	if (ring == NULL)
		return -EINVAL;
	ring->app_cqe_cb = cb;
	ring->app_cqe_userdata = cb != NULL ? userdata : NULL;
	return 0;
}

KTLS_EXPORT struct io_uring *ktls_ring_uring(struct ktls_ring *ring)
{
	return ring != NULL ? ring->uring : NULL;
}
