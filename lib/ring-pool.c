/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What every part of the engine takes from the ring: SQEs and the tags that
 * route their completions, and the ring's pools of record buffers and pipes
 * (per ring, not per connection, so that idle connections hold none).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "ring.h"

uint64_t ring_clock_ns(struct ktls_ring *ring)
{
	if (ring == NULL || ring->run_depth == 0)
		return clock_now_ns();
	if (ring->turn_ns == 0)
		ring->turn_ns = clock_now_ns();
	return ring->turn_ns;
}

bool ring_skips_cqes(const struct ktls_ring *ring)
{
	const unsigned int need = IORING_FEAT_CQE_SKIP | IORING_FEAT_LINKED_FILE;

	return (ring->uring->features & need) == need;
}

uint64_t ring_tag(void *ptr, enum ring_kind kind)
{
	return (uint64_t)KTLS_RING_USER_DATA_TAG << RING_TAG_SHIFT | (uint64_t)(uintptr_t)ptr | kind;
}

void ring_submit(struct ktls_ring *ring)
{
	if (ring->disabled) {
		/*
		 * SINGLE_ISSUER's one task is the one that enables the ring.
		 * (Debian 12's liburing declares io_uring_enable_rings() but
		 * does not export it.)
		 */
		syscall(__NR_io_uring_register, ring->uring->ring_fd, IORING_REGISTER_ENABLE_RINGS,
			NULL, 0);
		ring->disabled = false;
	}
	io_uring_submit(ring->uring);
}

bool ring_detached_ok(const struct ktls_ring *ring)
{
	return ring->owned && ring->run_depth > 0 && (ring->uring->features & IORING_FEAT_CQE_SKIP);
}

void ring_detach_sqe(struct io_uring_sqe *sqe)
{
	io_uring_sqe_set_data64(sqe, ring_tag(NULL, RING_KIND_CANCEL));
	sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
}

bool ring_slot_ts_ready(struct ktls_ring *ring)
{
	if (ring->slot_ts == NULL)
		ring->slot_ts = calloc(ring->uring->sq.ring_entries, sizeof(*ring->slot_ts));
	return ring->slot_ts != NULL;
}

struct __kernel_timespec *ring_slot_ts(struct ktls_ring *ring, const struct io_uring_sqe *sqe)
{
	/* An SQE's slot is not taken again before it was submitted. */
	return &ring->slot_ts[(size_t)(sqe - ring->uring->sq.sqes) & ring->uring->sq.ring_mask];
}

struct io_uring_sqe *ring_sqe(struct ktls_ring *ring)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring->uring);

	if (sqe == NULL) {
		ring_submit(ring);
		sqe = io_uring_get_sqe(ring->uring);
	}
	return sqe;
}

struct io_uring_sqe *ring_sqe_n(struct ktls_ring *ring, unsigned int n)
{
	if (io_uring_sq_space_left(ring->uring) < n)
		ring_submit(ring);
	/* All @n or none: the caller takes the rest without asking again. */
	if (io_uring_sq_space_left(ring->uring) < n)
		return NULL;
	return io_uring_get_sqe(ring->uring);
}

struct io_uring_sqe *ring_sqe2(struct ktls_ring *ring)
{
	return ring_sqe_n(ring, 2);
}

/* ---- record buffers ----------------------------------------------------- */

unsigned char *ring_rbuf_get(struct ktls_ring *ring)
{
	if (ring->n_rbufs > 0)
		return ring->rbufs[--ring->n_rbufs];
	return malloc(RECORD_WIRE_MAX);
}

void ring_rbuf_put(struct ktls_ring *ring, unsigned char *buf, size_t used)
{
	if (buf == NULL)
		return;
	explicit_bzero(buf, used);
	if (ring->n_rbufs < RING_RBUF_POOL_MAX)
		ring->rbufs[ring->n_rbufs++] = buf;
	else
		free(buf);
}

/* ---- pipes for kernel sendfile --------------------------------------------- */

void ring_sigpipe_guard(struct ktls_ring *ring)
{
	if (ring->run_depth > 0 && ring->pipes_out > 0 && !ring->sigpipe_blocked) {
		if (ring->sigpipe_ignored == 0)
			ring->sigpipe_ignored = kernel_sigpipe_ignored() ? 1 : -1;
		if (ring->sigpipe_ignored > 0)
			return; /* four signal-mask calls per run saved, for nothing to block */
		kernel_sigpipe_block(&ring->sigpipe);
		ring->sigpipe_blocked = true;
	}
}

int ring_pipe_get(struct ktls_ring *ring, int ret_pipe[2], size_t *ret_cap)
{
	int cap = RING_PIPE_SIZE;

	if (ring->n_pipes > 0) {
		ring->n_pipes--;
		ret_pipe[0] = ring->pipes[ring->n_pipes][0];
		ret_pipe[1] = ring->pipes[ring->n_pipes][1];
	} else if (pipe2(ret_pipe, O_CLOEXEC) != 0) {
		return -errno;
	} else if (fcntl(ret_pipe[1], F_SETPIPE_SZ, RING_PIPE_SIZE) < 0) {
		/*
		 * Larger pipes mean fewer splices; a smaller one (pipe-max-size,
		 * or a user over pipe-user-pages-soft) still works, in pieces of
		 * its size.
		 */
		cap = fcntl(ret_pipe[1], F_GETPIPE_SZ);
		if (cap <= 0)
			cap = 4096;
	}
	*ret_cap = (size_t)cap;
	ring->pipes_out++;
	ring_sigpipe_guard(ring);
	return 0;
}

void ring_pipe_put(struct ktls_ring *ring, int p[2], bool reuse)
{
	if (p[0] < 0)
		return;
	if (ring->pipes_out > 0)
		ring->pipes_out--;
	if (reuse && ring->n_pipes < RING_PIPE_POOL_MAX) {
		ring->pipes[ring->n_pipes][0] = p[0];
		ring->pipes[ring->n_pipes][1] = p[1];
		ring->n_pipes++;
	} else {
		close(p[0]);
		close(p[1]);
	}
	p[0] = p[1] = -1;
}

void ring_pools_free(struct ktls_ring *ring)
{
	for (int i = 0; i < ring->n_pipes; i++) {
		close(ring->pipes[i][0]);
		close(ring->pipes[i][1]);
	}
	ring->n_pipes = 0;
	for (int i = 0; i < ring->n_rbufs; i++)
		free(ring->rbufs[i]);
	ring->n_rbufs = 0;
}
