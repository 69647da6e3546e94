/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The first-message scan (lib/hello.c) on arbitrary bytes, as the peer's
 * opening bytes of a handshake.  The first input byte picks the role and how
 * the rest is cut into pieces; the verdict must not depend on the cutting
 * (TCP may deliver the same bytes in any pieces), so the same bytes are fed
 * whole to a second scan and both must agree.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "private.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hello_scan cut, whole;
	unsigned int seed;
	size_t off = 1;

	if (size == 0)
		return 0;
	seed = data[0];
	hello_scan_init(&cut, (seed & 1) != 0);
	hello_scan_init(&whole, (seed & 1) != 0);
	while (off < size) {
		/* Pieces of 1 to 8 bytes, from the seed and the position. */
		size_t n = 1 + ((seed >> 1) + off * 7) % 8;

		if (n > size - off)
			n = size - off;
		hello_scan_feed(&cut, data + off, n);
		off += n;
	}
	hello_scan_feed(&whole, data + 1, size - 1);
	if (cut.stage != whole.stage || cut.verdict != whole.verdict)
		abort();
	if (whole.stage == HELLO_SCAN_DONE && whole.verdict != HELLO_FINE &&
	    (cut.type != whole.type || cut.length != whole.length))
		abort();
	if (whole.verdict == HELLO_TOO_LONG && whole.length <= HELLO_MESSAGE_MAX)
		abort();
	return 0;
}
