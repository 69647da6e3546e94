/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Plaintext that libktls holds for the application: records GnuTLS had
 * decrypted before the kernel took RX (a request sent with the client's
 * Finished), and the rest of a kernel record that did not fit the caller's
 * buffer.  Every receive path hands it out first, in order.  Plaintext is
 * wiped as it leaves, and the buffer goes when empty so that an idle
 * connection holds none.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "private.h"

int rxbuf_reserve(struct ktls_conn *conn, size_t size)
{
	struct conn_rxbuf *b = &conn->rxb;
	unsigned char *grown;

	if (b->len + size <= b->cap - b->off)
		return 0;
	if (b->len + size <= b->cap) {
		memmove(b->buf, b->buf + b->off, b->len);
		explicit_bzero(b->buf + b->len, b->off);
		b->off = 0;
		return 0;
	}
	/* realloc could leave a copy of plaintext behind: move it by hand. */
	grown = malloc(b->len + size);
	if (grown == NULL)
		return -ENOMEM;
	if (b->buf != NULL) {
		memcpy(grown, b->buf + b->off, b->len);
		explicit_bzero(b->buf, b->cap);
		free(b->buf);
	}
	b->buf = grown;
	b->cap = b->len + size;
	b->off = 0;
	return 0;
}

unsigned char *rxbuf_tail(struct ktls_conn *conn)
{
	return conn->rxb.buf + conn->rxb.off + conn->rxb.len;
}

void rxbuf_commit(struct ktls_conn *conn, size_t len)
{
	conn->rxb.len += len;
}

int rxbuf_append(struct ktls_conn *conn, const void *data, size_t len)
{
	int ret = rxbuf_reserve(conn, len);

	if (ret < 0)
		return ret;
	memcpy(rxbuf_tail(conn), data, len);
	rxbuf_commit(conn, len);
	return 0;
}

size_t rxbuf_take(struct ktls_conn *conn, void *buf, size_t len)
{
	struct conn_rxbuf *b = &conn->rxb;
	size_t n = b->len < len ? b->len : len;

	if (n == 0)
		return 0;
	memcpy(buf, b->buf + b->off, n);
	explicit_bzero(b->buf + b->off, n);
	b->off += n;
	b->len -= n;
	if (b->len == 0)
		b->off = 0;
	return n;
}

size_t rxbuf_held(const struct ktls_conn *conn)
{
	return conn->rxb.len;
}

void rxbuf_trim(struct ktls_conn *conn)
{
	if (conn->rxb.len == 0)
		rxbuf_free(conn);
}

void rxbuf_free(struct ktls_conn *conn)
{
	struct conn_rxbuf *b = &conn->rxb;

	if (b->buf != NULL) {
		explicit_bzero(b->buf, b->cap);
		free(b->buf);
	}
	memset(b, 0, sizeof(*b));
}
