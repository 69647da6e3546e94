/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The peer's first handshake message, judged by its header as its bytes
 * arrive.  GnuTLS looks at a handshake message only once all of it is
 * there, so a first message of the wrong type, or a ClientHello claiming
 * more bytes than any handshake message may have (8 MiB, say), held the
 * connection until the handshake timeout, which then closed it without an
 * alert.  OpenSSL answers both at once, and so does libktls now:
 * unexpected_message for the wrong message (RFC 8446 section 6.2), and
 * decode_error for a length out of range, which is what GnuTLS itself
 * answers once that much is buffered.  Pure: transport.c feeds it the bytes
 * it hands GnuTLS during the handshake, and handshake.c sends the alert.
 */
#include <string.h>

#include "private.h"

#define REC_HEADER 5
#define REC_HANDSHAKE 22
#define MSG_HEADER 4
#define MSG_HELLO_REQUEST 0
#define MSG_CLIENT_HELLO 1
#define MSG_SERVER_HELLO 2 /* a HelloRetryRequest too (RFC 8446 section 4.1.4) */

void hello_scan_init(struct hello_scan *scan, bool server)
{
	memset(scan, 0, sizeof(*scan));
	scan->server = server;
}

/* The first message's header is whole: is it one the peer may start with? */
static void hello_scan_judge(struct hello_scan *scan)
{
	scan->type = scan->msg[0];
	scan->length = (uint32_t)scan->msg[1] << 16 | (uint32_t)scan->msg[2] << 8 | scan->msg[3];
	scan->stage = HELLO_SCAN_DONE;
	if (scan->server ? scan->type != MSG_CLIENT_HELLO
			 : scan->type != MSG_SERVER_HELLO && scan->type != MSG_HELLO_REQUEST)
		scan->verdict = HELLO_WRONG_MESSAGE;
	else if (scan->length > HELLO_MESSAGE_MAX)
		scan->verdict = HELLO_TOO_LONG;
}

void hello_scan_feed(struct hello_scan *scan, const unsigned char *p, size_t n)
{
	while (n > 0 && scan->stage != HELLO_SCAN_DONE) {
		if (scan->stage == HELLO_SCAN_RECORD_HEADER) {
			size_t take = (size_t)(REC_HEADER - scan->rec_have);

			if (take > n)
				take = n;

			memcpy(scan->rec + scan->rec_have, p, take);
			scan->rec_have += (uint8_t)take;
			p += take;
			n -= take;
			if (scan->rec_have < REC_HEADER)
				return;
			scan->rec_have = 0;
			scan->body_left = (size_t)scan->rec[3] << 8 | scan->rec[4];
			/*
			 * Another record type, an SSL 2 hello, an empty record:
			 * GnuTLS judges those itself, with the alert they call for.
			 */
			if (scan->rec[0] != REC_HANDSHAKE || scan->body_left == 0) {
				scan->stage = HELLO_SCAN_DONE;
				return;
			}
			scan->stage = HELLO_SCAN_BODY;
			continue;
		}
		/* HELLO_SCAN_BODY: the message header may span records (RFC 8446 section 5.1). */
		size_t take = (size_t)(MSG_HEADER - scan->msg_have);

		if (take > n)
			take = n;
		if (take > scan->body_left)
			take = scan->body_left;
		memcpy(scan->msg + scan->msg_have, p, take);
		scan->msg_have += (uint8_t)take;
		scan->body_left -= take;
		p += take;
		n -= take;
		if (scan->msg_have == MSG_HEADER)
			hello_scan_judge(scan);
		else if (scan->body_left == 0)
			scan->stage = HELLO_SCAN_RECORD_HEADER;
	}
}
