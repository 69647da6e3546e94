/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * GnuTLS record state -> the kernel's struct tls12_crypto_info_*.
 *
 * The nonce of every AEAD record is built from a secret IV and the record
 * sequence number, and the kernel splits that IV differently per cipher
 * (Documentation/networking/tls.rst):
 *  - AES-GCM/CCM: a 4-byte "salt" (the implicit part) plus an 8-byte "iv".
 *    TLS 1.3 (RFC 8446 section 5.3): the 12-byte IV is salt || iv, and the
 *    nonce is that IV XOR the sequence number.
 *    TLS 1.2 (RFC 5288 section 3): only the 4-byte salt is secret; the other 8
 *    bytes are the explicit nonce sent in each record.  GnuTLS uses the
 *    sequence number for it, and so does the kernel once it takes over, so
 *    the starting "iv" is the current sequence number.
 *  - ChaCha20-Poly1305 (RFC 7905): a 12-byte IV, no salt, in both versions.
 * rec_seq is the sequence number of the next record, big-endian, which is
 * what gnutls_record_get_state() returns.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "private.h"

uint64_t keys_rec_seq(const union keys_crypto_info *info, enum ktls_cipher cipher)
{
	const unsigned char *seq = (const unsigned char *)info + cipher_get(cipher)->rec_seq_off;
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | seq[i];
	return v;
}

void keys_wipe(union keys_crypto_info *info)
{
	explicit_bzero(info, sizeof(*info));
}

socklen_t keys_dummy(int version, enum ktls_cipher cipher, union keys_crypto_info *ret_info)
{
	const struct cipher_desc *c = cipher_get(cipher);

	memset(ret_info, 0, sizeof(*ret_info));
	ret_info->info.version = (unsigned short)version;
	ret_info->info.cipher_type = c->kernel_type;
	return c->info_size;
}

socklen_t keys_from_material(int version, enum ktls_cipher cipher, const unsigned char *key,
			     const unsigned char *iv, const unsigned char seq[8],
			     union keys_crypto_info *ret_info)
{
	const struct cipher_desc *l = cipher_get(cipher);
	unsigned char *base = (unsigned char *)ret_info;
	bool tls13 = version == KTLS_VERSION_TLS13;

	keys_wipe(ret_info);
	ret_info->info.version = tls13 ? TLS_1_3_VERSION : TLS_1_2_VERSION;
	ret_info->info.cipher_type = l->kernel_type;
	memcpy(base + l->key_off, key, l->key_size);
	memcpy(base + l->salt_off, iv, l->salt_size);
	if (tls13 || cipher == KTLS_CIPHER_CHACHA20_POLY1305)
		memcpy(base + l->iv_off, iv + l->salt_size, l->iv_size);
	else
		memcpy(base + l->iv_off, seq, l->iv_size);
	memcpy(base + l->rec_seq_off, seq, 8);
	return l->info_size;
}

int keys_from_session(gnutls_session_t session, enum ktls_dir dir, union keys_crypto_info *ret_info,
		      socklen_t *ret_len, char *reason, size_t reason_size)
{
	gnutls_datum_t mac_key, iv, key;
	unsigned char seq[8];
	const struct cipher_desc *l;
	gnutls_protocol_t proto = gnutls_protocol_get_version(session);
	enum ktls_cipher cipher = cipher_from_gnutls(gnutls_cipher_get(session));
	bool tls13 = proto == GNUTLS_TLS1_3;
	int ret;

	keys_wipe(ret_info);
	if (proto != GNUTLS_TLS1_2 && proto != GNUTLS_TLS1_3) {
		snprintf(reason, reason_size, "%s has no kernel offload",
			 gnutls_protocol_get_name(proto));
		return -EOPNOTSUPP;
	}
	if (cipher == KTLS_CIPHER_NONE) {
		snprintf(reason, reason_size, "cipher %s has no kernel equivalent",
			 gnutls_cipher_get_name(gnutls_cipher_get(session)));
		return -EOPNOTSUPP;
	}
	l = cipher_get(cipher);

	/* The datums point into GnuTLS's session; nothing to free. */
	ret = gnutls_record_get_state(session, dir == KTLS_DIR_RX, &mac_key, &iv, &key, seq);
	if (ret < 0) {
		snprintf(reason, reason_size, "gnutls_record_get_state: %s", gnutls_strerror(ret));
		return -EPROTO;
	}

	/* Refuse anything whose shape we do not expect rather than guess. */
	bool whole_iv = tls13 || cipher == KTLS_CIPHER_CHACHA20_POLY1305;
	size_t want_iv = whole_iv ? l->salt_size + l->iv_size : l->salt_size;

	if (key.size != l->key_size || iv.size != want_iv) {
		snprintf(reason, reason_size,
			 "unexpected key material sizes from GnuTLS (key %u, iv %u) for %s",
			 key.size, iv.size, ktls_cipher_name(cipher));
		explicit_bzero(seq, sizeof(seq));
		return -EPROTO;
	}
	*ret_len = keys_from_material(tls13 ? KTLS_VERSION_TLS13 : KTLS_VERSION_TLS12, cipher,
				      key.data, iv.data, seq, ret_info);
	explicit_bzero(seq, sizeof(seq));
	return 0;
}
