/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Accepting on the engine: one multishot accept per listening socket, each
 * new connection handed to the application's callback.
 */
#include <errno.h>
#include <stdlib.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "ring.h"

/* The socket this thread's accept callback is being handed (-1: none). */
static __thread int ring_accept_fd = -1;

bool ring_accept_handing_over(int fd)
{
	return fd >= 0 && fd == ring_accept_fd;
}

/*
 * A new connection to the application.  While its callback runs, the
 * library knows what @fd is (ring_accept_handing_over); an application
 * that closed it there and made another socket with the same number would
 * fool it, which no server does.
 */
static void ring_accept_hand_over(struct ring_accept *acc, int fd)
{
	int outer = ring_accept_fd;

	ring_accept_fd = acc->tcp ? fd : -1;
	acc->cb(acc->ring, fd, acc->userdata);
	ring_accept_fd = outer;
}

static void ring_accept_arm(struct ring_accept *acc)
{
	struct io_uring_sqe *sqe = ring_sqe(acc->ring);

	if (sqe == NULL)
		return;
	io_uring_prep_multishot_accept(sqe, acc->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	io_uring_sqe_set_data64(sqe, ring_tag(acc, RING_KIND_ACCEPT));
}

/* The last word of a stopped accept: -ECANCELED, then it is gone. */
static void ring_accept_end(struct ring_accept *acc)
{
	struct ktls_ring *ring = acc->ring;
	struct ring_accept **pp;

	for (pp = &ring->accepts; *pp != acc; pp = &(*pp)->next)
		;
	*pp = acc->next;
	acc->cb(ring, -ECANCELED, acc->userdata);
	free(acc);
}

void ring_accept_cqe(struct ring_accept *acc, const struct io_uring_cqe *cqe, enum ring_kind kind)
{
	bool more = (cqe->flags & IORING_CQE_F_MORE) != 0;
	int res = cqe->res;

	if (kind == RING_KIND_ACCEPT_WAIT) {
		acc->waiting = false;
		if (acc->stopping)
			ring_accept_end(acc);
		else
			ring_accept_arm(acc);
		return;
	}
	if (!more && (acc->stopping || res == -ECANCELED)) {
		if (res >= 0)
			ring_accept_hand_over(acc, res);
		ring_accept_end(acc);
		return;
	}
	/*
	 * A multishot accept ends on errors.  Out of descriptors or memory,
	 * accepting again at once would fail again at once: pause 100 ms.
	 */
	if (!more && (res == -EMFILE || res == -ENFILE || res == -ENOBUFS || res == -ENOMEM)) {
		struct io_uring_sqe *sqe = ring_sqe(acc->ring);

		if (sqe != NULL) {
			acc->pause.tv_sec = 0;
			acc->pause.tv_nsec = 100 * 1000000;
			io_uring_prep_timeout(sqe, &acc->pause, 0, 0);
			io_uring_sqe_set_data64(sqe, ring_tag(acc, RING_KIND_ACCEPT_WAIT));
			acc->waiting = true;
		}
	} else if (!more) {
		ring_accept_arm(acc);
	}
	if (res >= 0)
		ring_accept_hand_over(acc, res);
	else if (!acc->stopping)
		acc->cb(acc->ring, res, acc->userdata);
}

void ring_accepts_free(struct ktls_ring *ring)
{
	while (ring->accepts != NULL) {
		struct ring_accept *acc = ring->accepts;

		ring->accepts = acc->next;
		free(acc);
	}
}

KTLS_EXPORT int ktls_ring_accept(struct ktls_ring *ring, int listen_fd, ktls_accept_cb cb,
				 void *userdata)
{
	struct ring_accept *acc;
	struct io_uring_sqe *sqe;
	int protocol = 0;
	socklen_t len = sizeof(protocol);

	if (ring == NULL || listen_fd < 0 || cb == NULL)
		return -EINVAL;
	for (acc = ring->accepts; acc != NULL; acc = acc->next)
		if (acc->fd == listen_fd)
			return -EEXIST;
	acc = calloc(1, sizeof(*acc));
	if (acc == NULL)
		return -ENOMEM;
	sqe = ring_sqe(ring);
	if (sqe == NULL) {
		free(acc);
		return -EBUSY;
	}
	acc->ring = ring;
	acc->fd = listen_fd;
	acc->cb = cb;
	acc->userdata = userdata;
	/* Once per listener, so that no accepted socket needs asking (conn.c). */
	acc->tcp = getsockopt(listen_fd, SOL_SOCKET, SO_PROTOCOL, &protocol, &len) == 0 &&
		   protocol == IPPROTO_TCP;
	acc->next = ring->accepts;
	ring->accepts = acc;
	io_uring_prep_multishot_accept(sqe, listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	io_uring_sqe_set_data64(sqe, ring_tag(acc, RING_KIND_ACCEPT));
	return 0;
}

KTLS_EXPORT int ktls_ring_accept_stop(struct ktls_ring *ring, int listen_fd)
{
	struct ring_accept *acc;
	struct io_uring_sqe *sqe;

	if (ring == NULL)
		return -EINVAL;
	for (acc = ring->accepts; acc != NULL; acc = acc->next)
		if (acc->fd == listen_fd && !acc->stopping)
			break;
	if (acc == NULL)
		return -ENOENT;
	sqe = ring_sqe(ring);
	if (sqe == NULL)
		return -EBUSY;
	acc->stopping = true;
	io_uring_prep_cancel64(sqe,
			       ring_tag(acc, acc->waiting ? RING_KIND_ACCEPT_WAIT : RING_KIND_ACCEPT),
			       0);
	/* The cancel request's own completion is not the accept's. */
	io_uring_sqe_set_data64(sqe, ring_tag(NULL, RING_KIND_CANCEL));
	return 0;
}
