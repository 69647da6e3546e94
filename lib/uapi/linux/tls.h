/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * The subset of the kernel's TLS UAPI (include/uapi/linux/tls.h, as of Linux
 * 6.14) that libktls uses.  It is on the include path ahead of the system
 * headers so that the build does not depend on how new the build host's
 * kernel headers are; whether the running kernel supports an option is found
 * out at run time (lib/probe.c).  Values are kernel ABI and never change.
 */
#ifndef _UAPI_LINUX_TLS_H
#define _UAPI_LINUX_TLS_H

#include <linux/types.h>

/* setsockopt(SOL_TLS, ...) option names */
#define TLS_TX 1
#define TLS_RX 2
#define TLS_TX_ZEROCOPY_RO 3   /* Linux 6.0: sendfile without copying the file's pages */
#define TLS_RX_EXPECT_NO_PAD 4 /* Linux 6.0: TLS 1.3 peer promises no record padding */
/*
 * Linux 6.19: largest plaintext per TX record, u16.  TLS 1.2: 64..16384;
 * TLS 1.3: 63..16384 once the TX key is set (the peer's record_size_limit
 * minus the content-type byte), 64..16384 before.
 */
#define TLS_TX_MAX_PAYLOAD_LEN 5

#define TLS_1_2_VERSION 0x0303
#define TLS_1_3_VERSION 0x0304

#define TLS_CIPHER_AES_GCM_128 51
#define TLS_CIPHER_AES_GCM_128_IV_SIZE 8
#define TLS_CIPHER_AES_GCM_128_KEY_SIZE 16
#define TLS_CIPHER_AES_GCM_128_SALT_SIZE 4
#define TLS_CIPHER_AES_GCM_128_REC_SEQ_SIZE 8

#define TLS_CIPHER_AES_GCM_256 52
#define TLS_CIPHER_AES_GCM_256_IV_SIZE 8
#define TLS_CIPHER_AES_GCM_256_KEY_SIZE 32
#define TLS_CIPHER_AES_GCM_256_SALT_SIZE 4
#define TLS_CIPHER_AES_GCM_256_REC_SEQ_SIZE 8

#define TLS_CIPHER_AES_CCM_128 53
#define TLS_CIPHER_AES_CCM_128_IV_SIZE 8
#define TLS_CIPHER_AES_CCM_128_KEY_SIZE 16
#define TLS_CIPHER_AES_CCM_128_SALT_SIZE 4
#define TLS_CIPHER_AES_CCM_128_REC_SEQ_SIZE 8

#define TLS_CIPHER_CHACHA20_POLY1305 54
#define TLS_CIPHER_CHACHA20_POLY1305_IV_SIZE 12
#define TLS_CIPHER_CHACHA20_POLY1305_KEY_SIZE 32
#define TLS_CIPHER_CHACHA20_POLY1305_SALT_SIZE 0
#define TLS_CIPHER_CHACHA20_POLY1305_REC_SEQ_SIZE 8

/* Ciphers the kernel may report for sockets set up by other programs (names only) */
#define TLS_CIPHER_SM4_GCM 55
#define TLS_CIPHER_SM4_CCM 56
#define TLS_CIPHER_ARIA_GCM_128 57
#define TLS_CIPHER_ARIA_GCM_256 58

/* sock_diag: attributes inside INET_DIAG_ULP_INFO / INET_ULP_INFO_TLS (Linux 5.10) */
enum {
	TLS_INFO_UNSPEC,
	TLS_INFO_VERSION,   /* u16 */
	TLS_INFO_CIPHER,    /* u16 */
	TLS_INFO_TXCONF,    /* u16, TLS_CONF_* */
	TLS_INFO_RXCONF,    /* u16, TLS_CONF_* */
	TLS_INFO_ZC_RO_TX,  /* flag (Linux 6.0) */
	TLS_INFO_RX_NO_PAD, /* flag (Linux 6.0) */
	TLS_INFO_TX_MAX_PAYLOAD_LEN, /* u16 (Linux 6.19) */
	__TLS_INFO_MAX,
};
#define TLS_INFO_MAX (__TLS_INFO_MAX - 1)

#define TLS_CONF_BASE 1
#define TLS_CONF_SW 2
#define TLS_CONF_HW 3
#define TLS_CONF_HW_RECORD 4

/* cmsg types at level SOL_TLS */
#define TLS_SET_RECORD_TYPE 1
#define TLS_GET_RECORD_TYPE 2

struct tls_crypto_info {
	__u16 version;
	__u16 cipher_type;
};

struct tls12_crypto_info_aes_gcm_128 {
	struct tls_crypto_info info;
	unsigned char iv[TLS_CIPHER_AES_GCM_128_IV_SIZE];
	unsigned char key[TLS_CIPHER_AES_GCM_128_KEY_SIZE];
	unsigned char salt[TLS_CIPHER_AES_GCM_128_SALT_SIZE];
	unsigned char rec_seq[TLS_CIPHER_AES_GCM_128_REC_SEQ_SIZE];
};

struct tls12_crypto_info_aes_gcm_256 {
	struct tls_crypto_info info;
	unsigned char iv[TLS_CIPHER_AES_GCM_256_IV_SIZE];
	unsigned char key[TLS_CIPHER_AES_GCM_256_KEY_SIZE];
	unsigned char salt[TLS_CIPHER_AES_GCM_256_SALT_SIZE];
	unsigned char rec_seq[TLS_CIPHER_AES_GCM_256_REC_SEQ_SIZE];
};

struct tls12_crypto_info_aes_ccm_128 {
	struct tls_crypto_info info;
	unsigned char iv[TLS_CIPHER_AES_CCM_128_IV_SIZE];
	unsigned char key[TLS_CIPHER_AES_CCM_128_KEY_SIZE];
	unsigned char salt[TLS_CIPHER_AES_CCM_128_SALT_SIZE];
	unsigned char rec_seq[TLS_CIPHER_AES_CCM_128_REC_SEQ_SIZE];
};

struct tls12_crypto_info_chacha20_poly1305 {
	struct tls_crypto_info info;
	unsigned char iv[TLS_CIPHER_CHACHA20_POLY1305_IV_SIZE];
	unsigned char key[TLS_CIPHER_CHACHA20_POLY1305_KEY_SIZE];
	unsigned char salt[TLS_CIPHER_CHACHA20_POLY1305_SALT_SIZE];
	unsigned char rec_seq[TLS_CIPHER_CHACHA20_POLY1305_REC_SEQ_SIZE];
};

#endif /* _UAPI_LINUX_TLS_H */
