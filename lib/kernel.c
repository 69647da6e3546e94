/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The kTLS socket itself (Documentation/networking/tls.rst): the TLS ULP,
 * keys in (TLS_TX/TLS_RX), the TX record size bound, the kernel's sequence
 * number, and records that are not application data, which travel with a
 * record-type control message.  Mechanics only: what a record means and
 * when a key changes is proto.c's business, where keys go is switch.c's.
 */
#include <errno.h>
#include <time.h>
#include <signal.h>
#include <pthread.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <linux/sockios.h>

#include "private.h"

int (*kernel_setsockopt)(int fd, int level, int name, const void *value,
			 socklen_t len) = setsockopt;

void kernel_sigpipe_block(struct kernel_sigpipe *s)
{
	sigset_t pending;

	sigemptyset(&s->pipe_set);
	sigaddset(&s->pipe_set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &s->pipe_set, &s->old_set);
	sigpending(&pending);
	s->was_pending = sigismember(&pending, SIGPIPE) == 1;
}

bool kernel_sigpipe_ignored(void)
{
	struct sigaction sa;

	return sigaction(SIGPIPE, NULL, &sa) == 0 && !(sa.sa_flags & SA_SIGINFO) &&
	       sa.sa_handler == SIG_IGN;
}

void kernel_sigpipe_restore(struct kernel_sigpipe *s)
{
	static const struct timespec no_wait = { 0, 0 };
	sigset_t pending;

	sigpending(&pending);
	if (!s->was_pending && sigismember(&pending, SIGPIPE) == 1)
		sigtimedwait(&s->pipe_set, NULL, &no_wait);
	pthread_sigmask(SIG_SETMASK, &s->old_set, NULL);
}

int kernel_attach(int fd)
{
	return kernel_setsockopt(fd, SOL_TCP, TCP_ULP, "tls", sizeof("tls")) == 0 ? 0 : -errno;
}

int kernel_set_key(int fd, enum ktls_dir dir, const union keys_crypto_info *info, socklen_t len)
{
	return kernel_setsockopt(fd, SOL_TLS, dir == KTLS_DIR_TX ? TLS_TX : TLS_RX, info, len) == 0
		       ? 0
		       : -errno;
}

int kernel_set_tx_payload_limit(int fd, uint16_t limit)
{
	return kernel_setsockopt(fd, SOL_TLS, TLS_TX_MAX_PAYLOAD_LEN, &limit, sizeof(limit)) == 0
		       ? 0
		       : -errno;
}

/*
 * Read back one direction's crypto_info (set: 0; not yet: EBUSY).  The
 * kernel wants the exact struct size of the cipher it holds
 * (do_tls_getsockopt_conf).  The reply carries the key: the caller wipes
 * @info on every path.
 */
static int kernel_get_key(int fd, enum ktls_dir dir, enum ktls_cipher cipher,
			  union keys_crypto_info *info)
{
	const struct cipher_desc *c = cipher_get(cipher);
	socklen_t len;

	memset(info, 0, sizeof(*info));
	if (c == NULL)
		return -EINVAL;
	len = c->info_size;
	if (getsockopt(fd, SOL_TLS, dir == KTLS_DIR_TX ? TLS_TX : TLS_RX, info, &len) != 0)
		return -errno;
	return len == c->info_size && info->info.cipher_type == c->kernel_type ? 0 : -EPROTO;
}

int kernel_tx_seq(int fd, enum ktls_cipher cipher, uint64_t *ret_seq)
{
	union keys_crypto_info info;
	int ret = kernel_get_key(fd, KTLS_DIR_TX, cipher, &info);

	if (ret == 0)
		*ret_seq = keys_rec_seq(&info, cipher);
	keys_wipe(&info);
	return ret;
}

bool kernel_rx_installed(int fd, enum ktls_cipher cipher)
{
	union keys_crypto_info info;
	bool ret = kernel_get_key(fd, KTLS_DIR_RX, cipher, &info) == 0;

	keys_wipe(&info);
	return ret;
}

/* ---- typed records -------------------------------------------------------- */

void kernel_msg_in(struct kernel_msg *m, void *buf, size_t len)
{
	memset(m, 0, sizeof(*m));
	m->iov.iov_base = buf;
	m->iov.iov_len = len;
	m->msg.msg_iov = &m->iov;
	m->msg.msg_iovlen = 1;
	m->msg.msg_control = m->control.buf;
	m->msg.msg_controllen = sizeof(m->control.buf);
}

void kernel_msg_out(struct kernel_msg *m, unsigned char type, const void *data, size_t len)
{
	struct cmsghdr *cmsg;

	kernel_msg_in(m, (void *)data, len);
	cmsg = CMSG_FIRSTHDR(&m->msg);
	cmsg->cmsg_level = SOL_TLS;
	cmsg->cmsg_type = TLS_SET_RECORD_TYPE;
	cmsg->cmsg_len = CMSG_LEN(sizeof(unsigned char));
	*CMSG_DATA(cmsg) = type;
}

/*
 * close_notify as one message in static memory: a send of it that nobody
 * waits for (ring-tx.c) may be read by the kernel after its connection,
 * and all of the connection's memory, is gone.  Never written.
 */
static unsigned char close_notify_body[2] = { 1 /* warning */, 0 /* close_notify */ };
static struct iovec close_notify_iov = { close_notify_body, sizeof(close_notify_body) };
/* struct cmsghdr's fields, spelled out: its flexible tail cannot be followed by a field. */
static struct {
	size_t len;
	int level, type;
	unsigned char record_type; /* CMSG_DATA() */
} close_notify_control = {
	.len = CMSG_LEN(1),
	.level = SOL_TLS,
	.type = TLS_SET_RECORD_TYPE,
	.record_type = RECORD_ALERT,
};
_Static_assert(offsetof(struct cmsghdr, cmsg_len) == offsetof(__typeof__(close_notify_control), len) &&
		       offsetof(struct cmsghdr, cmsg_level) ==
			       offsetof(__typeof__(close_notify_control), level) &&
		       offsetof(struct cmsghdr, cmsg_type) ==
			       offsetof(__typeof__(close_notify_control), type) &&
		       offsetof(__typeof__(close_notify_control), record_type) == CMSG_LEN(0) &&
		       sizeof(close_notify_control) == CMSG_SPACE(1),
	       "the control message is a cmsghdr followed by its one byte of data");
static struct msghdr close_notify_msg = {
	.msg_iov = &close_notify_iov,
	.msg_iovlen = 1,
	.msg_control = &close_notify_control,
	.msg_controllen = sizeof(close_notify_control),
};

const struct msghdr *kernel_close_notify_msg(void)
{
	return &close_notify_msg;
}

bool kernel_msg_record(const struct kernel_msg *m, ssize_t n, unsigned char *ret_type)
{
	const struct msghdr *msg = &m->msg;

	for (struct cmsghdr *cmsg = CMSG_FIRSTHDR(msg); cmsg != NULL;
	     cmsg = CMSG_NXTHDR((struct msghdr *)msg, cmsg)) {
		if (cmsg->cmsg_level == SOL_TLS && cmsg->cmsg_type == TLS_GET_RECORD_TYPE) {
			*ret_type = *CMSG_DATA(cmsg);
			return true;
		}
	}
	/* Data records come without the control message on some kernels. */
	*ret_type = RECORD_APPLICATION_DATA;
	return n > 0;
}

ssize_t kernel_recv(int fd, void *buf, size_t len, int flags, unsigned char *ret_type,
		    bool *ret_got)
{
	struct kernel_msg m;
	ssize_t n;

	kernel_msg_in(&m, buf, len);
	do
		n = recvmsg(fd, &m.msg, flags);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		int err = errno;

		if (err != EAGAIN)
			kernel_take_error(fd);
		return -err;
	}
	*ret_got = kernel_msg_record(&m, n, ret_type);
	return n;
}

/*
 * kTLS reports a record it could not decrypt or parse through the socket's
 * error (tls_err_abort), also from a recvmsg that returned the data before
 * it: the error then waits for the next call on the socket, and a send
 * would fail with it instead of carrying our response or alert.
 */
int kernel_take_error(int fd)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
		return 0;
	return err;
}

bool kernel_rx_pending(int fd)
{
	int n = 0;

	return ioctl(fd, SIOCINQ, &n) == 0 && n > 0;
}

/*
 * kTLS hands every record it fills to TCP with the sender's flags, so the
 * full records of a MSG_MORE send wait in TCP (tcp_push: MSG_MORE corks
 * that push).  When such a send ended exactly on a record boundary there
 * is no open record, and the empty control message that closes one pushes
 * nothing: the data stayed unsent until the peer's next ACK or TCP's probe
 * timer (test-sendv: 0 bytes on the wire after the flush).  Clearing
 * TCP_CORK pushes pending frames (__tcp_sock_set_cork); an application
 * that set it keeps control of its pushes.
 */
void kernel_tcp_push(int fd)
{
	int cork = 0;
	socklen_t len = sizeof(cork);

	if (getsockopt(fd, IPPROTO_TCP, TCP_CORK, &cork, &len) == 0 && cork == 0)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_CORK, &cork, sizeof(cork));
}

int kernel_send_record(int fd, unsigned char type, const void *data, size_t len, int flags)
{
	struct kernel_msg m;
	ssize_t n;

	kernel_msg_out(&m, type, data, len);
	do
		n = sendmsg(fd, &m.msg, flags | MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	/* A control record is written whole or not at all (tls_sw_sendmsg). */
	return n < 0 ? -errno : 0;
}
