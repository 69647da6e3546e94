/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The peer's handshake messages in the clear, judged by their headers as
 * their bytes arrive: the first message's type, and every message's length
 * until the first record that is not a handshake record (a ChangeCipherSpec,
 * TLS 1.3's encrypted records).  GnuTLS looks at a handshake message only
 * once all of it is there, so a first message of the wrong type, or a
 * ClientHello (a TLS 1.2 ClientKeyExchange) claiming more bytes than any
 * handshake message may have, held the connection until the handshake
 * timeout, which then closed it without an alert.  OpenSSL answers at once,
 * and so does libktls now: unexpected_message for the wrong message (RFC
 * 8446 section 6.2), and decode_error for a length out of range, which is
 * what GnuTLS itself answers once that much is buffered.  Pure: transport.c
 * feeds it the bytes it hands GnuTLS during the handshake, and handshake.c
 * sends the alert.
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

/* A message header is whole: may the peer send it? */
static void hello_scan_judge(struct hello_scan *scan)
{
	unsigned int type = scan->msg[0];
	uint32_t length = (uint32_t)scan->msg[1] << 16 | (uint32_t)scan->msg[2] << 8 | scan->msg[3];
	bool first = !scan->judged_one;

	scan->judged_one = true;
	scan->msg_have = 0;
	scan->msg_left = length;
	if (first && (scan->server ? type != MSG_CLIENT_HELLO
				   : type != MSG_SERVER_HELLO && type != MSG_HELLO_REQUEST))
		scan->verdict = HELLO_WRONG_MESSAGE;
	else if (length > HELLO_MESSAGE_MAX)
		scan->verdict = HELLO_TOO_LONG;
	else
		return;
	scan->type = type;
	scan->length = length;
	scan->stage = HELLO_SCAN_DONE;
}

void hello_scan_feed(struct hello_scan *scan, const unsigned char *p, size_t n)
{
	while (n > 0 && scan->stage != HELLO_SCAN_DONE) {
		size_t take;

		if (scan->stage == HELLO_SCAN_RECORD_HEADER) {
			take = (size_t)(REC_HEADER - scan->rec_have);
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
			 * Another record type ends the clear part: a
			 * ChangeCipherSpec, TLS 1.3's encrypted records (outer type
			 * application_data), an alert.  An SSL 2 hello or an empty
			 * record GnuTLS judges itself, with the alert it calls for.
			 */
			if (scan->rec[0] != REC_HANDSHAKE || scan->body_left == 0) {
				scan->stage = HELLO_SCAN_DONE;
				return;
			}
			scan->stage = HELLO_SCAN_BODY;
			continue;
		}
		/* HELLO_SCAN_BODY: what is left of the current message, then the next header. */
		if (scan->msg_left > 0) {
			take = scan->msg_left < scan->body_left ? scan->msg_left : scan->body_left;
			if (take > n)
				take = n;
			scan->msg_left -= take;
		} else {
			/* A header may span records (RFC 8446 section 5.1). */
			take = (size_t)(MSG_HEADER - scan->msg_have);
			if (take > n)
				take = n;
			if (take > scan->body_left)
				take = scan->body_left;
			memcpy(scan->msg + scan->msg_have, p, take);
			scan->msg_have += (uint8_t)take;
		}
		scan->body_left -= take;
		p += take;
		n -= take;
		if (scan->msg_have == MSG_HEADER)
			hello_scan_judge(scan);
		if (scan->stage != HELLO_SCAN_DONE && scan->body_left == 0)
			scan->stage = HELLO_SCAN_RECORD_HEADER;
	}
}
