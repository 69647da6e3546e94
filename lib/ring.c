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
 * splice(2) into a socket whose peer has gone raises SIGPIPE in the task
 * that runs it, and io_uring may run a ring sendfile's splice in the task
 * that enters the ring (or closes it): ktls_ring_run() and ktls_ring_free()
 * of its own ring keep it from the application (kernel_sigpipe_block).
 */
KTLS_EXPORT int ktls_ring_run(struct ktls_ring *ring, int timeout_ms)
{
	struct io_uring_cqe *cqe;
	struct kernel_sigpipe sp;
	unsigned int n = 0;
	int ret;

	if (ring == NULL)
		return -EINVAL;
	/* Callbacks run inside too: the engine submits from them. */
	kernel_sigpipe_block(&sp);
	if (timeout_ms < 0) {
		ret = io_uring_submit_and_wait(ring->uring, 1);
	} else {
		struct __kernel_timespec ts = { .tv_sec = timeout_ms / 1000,
						.tv_nsec = (timeout_ms % 1000) * 1000000L };

		io_uring_submit(ring->uring);
		ret = io_uring_wait_cqe_timeout(ring->uring, &cqe, &ts);
		if (ret == -ETIME)
			ret = 0;
	}
	if (ret < 0 && ret != -EBUSY)
		goto out;
	/* Each CQE is copied and released first: its callback may submit and reap. */
	while (io_uring_peek_cqe(ring->uring, &cqe) == 0) {
		struct io_uring_cqe copy = *cqe;

		io_uring_cqe_seen(ring->uring, cqe);
		n += (unsigned int)ktls_ring_process_cqe(ring, &copy);
	}
	io_uring_submit(ring->uring);
	ret = (int)n;
out:
	kernel_sigpipe_restore(&sp);
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
	/*
	 * Exiting the ring cancels everything; orphans' memory goes with it.
	 * Connections still attached stay valid, detached: ktls_conn_free()
	 * frees their part later.
	 */
	if (ring->owned) {
		struct kernel_sigpipe sp;

		kernel_sigpipe_block(&sp);
		io_uring_queue_exit(&ring->own);
		kernel_sigpipe_restore(&sp);
	}
	ring_conns_detach(ring);
	ring_orphans_free(ring);
	ring_timers_free(ring);
	ring_accepts_free(ring);
	ring_pools_free(ring);
	free(ring);
}

KTLS_EXPORT struct io_uring *ktls_ring_uring(struct ktls_ring *ring)
{
	return ring != NULL ? ring->uring : NULL;
}
