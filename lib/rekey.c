/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * When a TLS 1.3 key must change: the AEAD usage limits of RFC 8446 section
 * 5.5 (cipher.c has them per cipher), counted for keys the kernel holds,
 * whose records libktls never sees.  Each send call writes at most one
 * record per 16384 bytes plus one for a partial tail, so the budget keeps an
 * upper bound from calls and bytes and reads the kernel's own sequence
 * number only when that bound could have crossed the threshold: rarely for
 * bulk transfers, and never needlessly early.  What to do then (update the
 * key, or end the connection where the kernel cannot) is proto.c's call.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "private.h"

/*
 * Tests only: KTLS_TEST_KEY_RECORD_LIMIT=N makes every key's usage limit N
 * records, so that a transfer of a few megabytes reaches it.  Read at each
 * key installation (cheap next to a setsockopt), so a test can change it
 * between connections.  Ignored in set-uid programs (secure_getenv).
 */
static uint64_t rekey_test_limit(void)
{
	const char *s = secure_getenv("KTLS_TEST_KEY_RECORD_LIMIT");
	char *end;
	unsigned long long v;

	if (s == NULL || *s == '\0')
		return 0;
	errno = 0;
	v = strtoull(s, &end, 10);
	return errno == 0 && *end == '\0' && v >= 16 ? v : 0;
}

void rekey_budget_init(struct rekey_budget *budget, enum ktls_cipher cipher)
{
	const struct cipher_desc *c = cipher_get(cipher);
	uint64_t limit = rekey_test_limit();

	if (limit == 0)
		limit = c != NULL ? c->record_limit : UINT64_MAX;
	memset(budget, 0, sizeof(*budget));
	/* Act with 1/16 of the budget to spare: the update itself takes records. */
	budget->threshold = limit == UINT64_MAX ? UINT64_MAX : limit - limit / 16;
}

bool rekey_budget_charge(struct rekey_budget *budget, uint64_t calls, uint64_t bytes)
{
	if (budget->threshold == UINT64_MAX)
		return false;
	budget->unchecked += calls + bytes / RECORD_MAX_PLAINTEXT;
	return budget->checked + budget->unchecked >= budget->threshold;
}

bool rekey_budget_settle(struct rekey_budget *budget, uint64_t kernel_seq)
{
	budget->checked = kernel_seq;
	budget->unchecked = 0;
	return kernel_seq >= budget->threshold;
}
