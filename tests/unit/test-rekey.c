/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * White-box: the AEAD usage-limit accounting of lib/rekey.c (limits from
 * lib/cipher.c) against a fake sequence counter.  A simulated sender writes records (as the kernel
 * would) while the budget is charged with what the library sees: calls and
 * bytes.  The budget must ask for the kernel's count rarely, never let the
 * key reach its limit, and act only near it.
 */
#include <stdio.h>
#include <string.h>

#include "private.h"
#include "unit.h"

struct sim {
	uint64_t kernel_seq; /* what getsockopt(TLS_TX) would report */
	uint64_t reads;      /* how often the library would have asked */
	bool rekeyed;
	uint64_t rekey_at;
};

/* One send call of @bytes: the kernel cuts it into records of up to 16384 bytes. */
static void sim_send(struct sim *s, struct rekey_budget *b, uint64_t bytes)
{
	s->kernel_seq += bytes == 0 ? 0 : (bytes + RECORD_MAX_PLAINTEXT - 1) / RECORD_MAX_PLAINTEXT;
	if (rekey_budget_charge(b, 1, bytes)) {
		s->reads++;
		if (rekey_budget_settle(b, s->kernel_seq) && !s->rekeyed) {
			s->rekeyed = true;
			s->rekey_at = s->kernel_seq;
		}
	}
}

static void run(const char *label, enum ktls_cipher cipher, uint64_t bytes_per_call)
{
	struct rekey_budget b;
	struct sim s = { 0 };
	uint64_t limit = cipher_get(cipher)->record_limit;

	rekey_budget_init(&b, cipher);
	while (!s.rekeyed && s.kernel_seq < limit + 1000)
		sim_send(&s, &b, bytes_per_call);
	tap_check(s.rekeyed && s.rekey_at < limit && s.rekey_at >= limit - limit / 16 - 2,
		  "%s: rekey at record %llu, inside the last 1/16 before the limit %llu", label,
		  (unsigned long long)s.rekey_at, (unsigned long long)limit);
	tap_check(s.reads <= 64, "%s: the kernel's count was read %llu times for %llu records",
		  label, (unsigned long long)s.reads, (unsigned long long)s.kernel_seq);
}

int main(void)
{
	struct rekey_budget b;

	tap_check(cipher_get(KTLS_CIPHER_AES_128_GCM)->record_limit == 23726566 &&
			  cipher_get(KTLS_CIPHER_AES_256_GCM)->record_limit == 23726566,
		  "AES-GCM: 2^24.5 records (RFC 8446 section 5.5)");
	tap_check(cipher_get(KTLS_CIPHER_AES_128_CCM)->record_limit == 1u << 23,
		  "AES-CCM: 2^23 records (RFC 9147 section 4.5.3)");
	tap_check(cipher_get(KTLS_CIPHER_CHACHA20_POLY1305)->record_limit == UINT64_MAX,
		  "ChaCha20-Poly1305: no practical limit");

	run("AES-128-GCM, full records", KTLS_CIPHER_AES_128_GCM, 16384);
	run("AES-128-GCM, 64 KiB sends", KTLS_CIPHER_AES_128_GCM, 65536);
	run("AES-256-GCM, 100-byte sends", KTLS_CIPHER_AES_256_GCM, 100);
	run("AES-128-CCM, 16385-byte sends", KTLS_CIPHER_AES_128_CCM, 16385);

	/* ChaCha20: charging never asks for the kernel's count. */
	rekey_budget_init(&b, KTLS_CIPHER_CHACHA20_POLY1305);
	tap_check(!rekey_budget_charge(&b, 1000000000, (uint64_t)1 << 50),
		  "ChaCha20-Poly1305: the budget never asks");

	/* A read below the threshold resets the estimate: no second read right after. */
	rekey_budget_init(&b, KTLS_CIPHER_AES_128_GCM);
	tap_check(rekey_budget_charge(&b, 23000000, 0), "overestimated calls ask for a read");
	tap_check(!rekey_budget_settle(&b, 1000), "the kernel's real count (1000) is far below");
	tap_check(!rekey_budget_charge(&b, 1, 16384), "so the next send does not ask again");
	return tap_done();
}
