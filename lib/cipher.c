/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Everything per cipher, in one table: the name libktls shows, GnuTLS's id,
 * the kernel's id and the layout of its struct tls12_crypto_info_* (include/
 * uapi/linux/tls.h), and how many records one key may protect.
 */
#include <stddef.h>
#include <stdint.h>

#include "private.h"

#define LAYOUT(type)                                                                               \
	.info_size = sizeof(struct type), .key_size = sizeof(((struct type *)0)->key),             \
	.salt_size = sizeof(((struct type *)0)->salt), .iv_size = sizeof(((struct type *)0)->iv),  \
	.key_off = offsetof(struct type, key), .salt_off = offsetof(struct type, salt),            \
	.iv_off = offsetof(struct type, iv), .rec_seq_off = offsetof(struct type, rec_seq)

/*
 * Usage limits: AES-GCM, 2^24.5 full-size records keep an attacker's
 * advantage under 2^-60 (RFC 8446 section 5.5); AES-CCM, 2^23 (RFC 9147
 * section 4.5.3, the same analysis); ChaCha20-Poly1305 has no practical
 * limit: the sequence number wraps first.
 */
static const struct cipher_desc ciphers[CIPHER_COUNT] = {
	[KTLS_CIPHER_AES_128_GCM] = {
		.id = KTLS_CIPHER_AES_128_GCM,
		.name = "AES-128-GCM",
		.gnutls = GNUTLS_CIPHER_AES_128_GCM,
		.kernel_type = TLS_CIPHER_AES_GCM_128,
		LAYOUT(tls12_crypto_info_aes_gcm_128),
		.record_limit = 23726566, /* floor(2^24.5) */
	},
	[KTLS_CIPHER_AES_256_GCM] = {
		.id = KTLS_CIPHER_AES_256_GCM,
		.name = "AES-256-GCM",
		.gnutls = GNUTLS_CIPHER_AES_256_GCM,
		.kernel_type = TLS_CIPHER_AES_GCM_256,
		LAYOUT(tls12_crypto_info_aes_gcm_256),
		.record_limit = 23726566,
	},
	[KTLS_CIPHER_AES_128_CCM] = {
		.id = KTLS_CIPHER_AES_128_CCM,
		.name = "AES-128-CCM",
		.gnutls = GNUTLS_CIPHER_AES_128_CCM,
		.kernel_type = TLS_CIPHER_AES_CCM_128,
		LAYOUT(tls12_crypto_info_aes_ccm_128),
		.record_limit = (uint64_t)1 << 23,
	},
	[KTLS_CIPHER_CHACHA20_POLY1305] = {
		.id = KTLS_CIPHER_CHACHA20_POLY1305,
		.name = "CHACHA20-POLY1305",
		.gnutls = GNUTLS_CIPHER_CHACHA20_POLY1305,
		.kernel_type = TLS_CIPHER_CHACHA20_POLY1305,
		LAYOUT(tls12_crypto_info_chacha20_poly1305),
		.record_limit = UINT64_MAX,
	},
};

const struct cipher_desc *cipher_get(enum ktls_cipher cipher)
{
	return cipher >= 0 && cipher < CIPHER_COUNT ? &ciphers[cipher] : NULL;
}

enum ktls_cipher cipher_from_gnutls(gnutls_cipher_algorithm_t cipher)
{
	for (int c = 0; c < CIPHER_COUNT; c++)
		if (ciphers[c].gnutls == cipher)
			return c;
	return KTLS_CIPHER_NONE;
}

enum ktls_cipher cipher_from_kernel(uint16_t kernel_type)
{
	for (int c = 0; c < CIPHER_COUNT; c++)
		if (ciphers[c].kernel_type == kernel_type)
			return c;
	return KTLS_CIPHER_NONE;
}

KTLS_EXPORT const char *ktls_cipher_name(enum ktls_cipher cipher)
{
	const struct cipher_desc *c = cipher_get(cipher);

	return c != NULL ? c->name : "none";
}
