/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Plaintext held back for a record: with KTLS_SEND_MORE, what does not fill
 * a record through GnuTLS waits for the next send (the kernel's TLS layer
 * does the same itself with MSG_MORE), so that a header and the payload
 * after it share records.  At most one record's worth; wiped as it leaves,
 * and freed when empty.  Both drivers gather records through here: the held
 * bytes first, then the caller's buffers.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "private.h"

size_t txbuf_held(const struct ktls_conn *conn)
{
	return conn->txb.len;
}

void txbuf_cursor_init(struct txbuf_cursor *c, const struct iovec *iov, int iovcnt)
{
	memset(c, 0, sizeof(*c));
	c->iov = iov;
	c->iovcnt = iovcnt;
	/* Empty buffers count for nothing: skip them now. */
	while (c->at < c->iovcnt && c->iov[c->at].iov_len == 0)
		c->at++;
}

bool txbuf_cursor_done(const struct txbuf_cursor *c)
{
	return c->at >= c->iovcnt;
}

size_t txbuf_fill(struct ktls_conn *conn, unsigned char *out, size_t max, struct txbuf_cursor *c)
{
	size_t n = conn->txb.len < max ? conn->txb.len : max;

	if (n > 0) /* nothing held: the buffer may not exist */
		memcpy(out, conn->txb.buf, n);
	while (n < max && c->at < c->iovcnt) {
		const struct iovec *v = &c->iov[c->at];
		size_t take = v->iov_len - c->off;

		if (take > max - n)
			take = max - n;
		if (take > 0)
			memcpy(out + n, (const unsigned char *)v->iov_base + c->off, take);
		n += take;
		c->off += take;
		c->taken += take;
		if (c->off == v->iov_len) {
			c->off = 0;
			do
				c->at++;
			while (c->at < c->iovcnt && c->iov[c->at].iov_len == 0);
		}
	}
	return n;
}

void txbuf_sent(struct ktls_conn *conn)
{
	if (conn->txb.buf != NULL) {
		explicit_bzero(conn->txb.buf, conn->txb.len);
		free(conn->txb.buf);
	}
	conn->txb.buf = NULL;
	conn->txb.len = 0;
}

int txbuf_hold(struct ktls_conn *conn, const unsigned char *data, size_t len)
{
	if (len > RECORD_MAX_PLAINTEXT)
		return -EINVAL;
	if (conn->txb.buf == NULL) {
		conn->txb.buf = malloc(RECORD_MAX_PLAINTEXT);
		if (conn->txb.buf == NULL)
			return -ENOMEM;
	}
	/* @data may be what txbuf_fill() copied from here: memmove. */
	if (len > 0)
		memmove(conn->txb.buf, data, len);
	conn->txb.len = len;
	return 0;
}
