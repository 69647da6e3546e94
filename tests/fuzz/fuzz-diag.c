/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The sock_diag reply parser (lib/diag.c) on arbitrary bytes, as if one
 * recv() on a NETLINK_SOCK_DIAG socket had returned them.  Every field of
 * every socket it reports is read, so that a value built from bytes outside
 * the input shows up under the sanitizers.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "private.h"

/* Where the sums go, so that the reads are not optimised away. */
static volatile unsigned long fuzz_sink;

static int fuzz_on_sock(const struct ktls_sock *s, void *userdata)
{
	unsigned long *sum = userdata;

	*sum += (unsigned long)s->family + s->local_port + s->peer_port + (unsigned long)s->tcp_state +
		s->uid + s->inode + (unsigned long)s->version + s->cipher_type +
		(unsigned long)s->tx + (unsigned long)s->rx + s->tx_zerocopy_sendfile +
		s->rx_no_pad + s->bytes_acked + s->bytes_received + s->local_addr[15] +
		s->peer_addr[15] + strlen(s->cipher_name) + strlen(s->comm);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A copy of exactly @size bytes, aligned as a receive buffer is. */
	unsigned char *buf = malloc(size > 0 ? size : 1);
	unsigned long sum = 0;

	if (buf == NULL)
		return 0;
	if (size > 0)
		memcpy(buf, data, size);
	(void)diag_parse_buffer(buf, size, fuzz_on_sock, &sum);
	free(buf);
	fuzz_sink = sum;
	return 0;
}
