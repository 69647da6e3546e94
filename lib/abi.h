/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The ABI of the structs callers allocate (see "ABI" at the top of ktls.h).
 *
 * A program passes sizeof(struct) as its header knew it.  The library fills
 * that many bytes: the fields both know, zero for newer fields the program's
 * struct has room for (a library older than the program's header), nothing
 * beyond (a program older than the library).  That works only while every
 * struct grows at its end, so the layouts of LIBKTLS_0.1 are frozen here and
 * checked at compile time against the current ones: a field moved or
 * resized breaks the build.  tests/abi checks the same at run time against
 * the layouts recorded per version node.
 */
#ifndef KTLS_ABI_H
#define KTLS_ABI_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ktls.h"

/* ---- LIBKTLS_0.1, as released ------------------------------------------------ */

#define ABI_0_1_STAT_COUNT 17
#define ABI_0_1_NIC_FEATURE_COUNT 3

struct ktls_caps_0_1 {
	bool ulp_available;
	int ulp_errno;
	uint32_t tx_ciphers[2];
	uint32_t rx_ciphers[2];
	bool tx_zerocopy_sendfile;
	bool rx_expect_no_pad;
	bool tls13_rekey;
	char summary[160];
};

struct ktls_info_0_1 {
	int version;
	enum ktls_cipher cipher;
	char version_name[16];
	char cipher_name[32];
	char group_name[32];
	char alpn[64];
	char server_name[256];
	bool resumed;
	enum ktls_peer_auth peer_auth;
	char peer_identity[512];
	struct ktls_dir_info tx, rx;
	unsigned int tickets_received;
	unsigned int tickets_after_switch;
	unsigned int key_updates_sent;
	unsigned int key_updates_received;
};

struct ktls_sock_0_1 {
	int family;
	uint8_t local_addr[16];
	uint8_t peer_addr[16];
	uint16_t local_port;
	uint16_t peer_port;
	int tcp_state;
	uint32_t uid;
	uint64_t inode;
	pid_t pid;
	char comm[16];
	bool tls_info;
	int version;
	uint16_t cipher_type;
	enum ktls_cipher cipher;
	char cipher_name[24];
	enum ktls_sock_conf tx, rx;
	bool tx_zerocopy_sendfile;
	bool rx_no_pad;
	uint64_t bytes_acked;
	uint64_t bytes_received;
};

/* Not a prefix of today's struct (the array grew to KTLS_STATS_MAX): converted. */
struct ktls_stats_0_1 {
	uint64_t value[ABI_0_1_STAT_COUNT];
	uint32_t present;
	uint64_t taken_ns;
};

struct ktls_stats_delta_0_1 {
	int64_t value[ABI_0_1_STAT_COUNT];
	uint32_t present;
	double seconds;
};

struct ktls_nic_0_1 {
	char name[16];
	int ifindex;
	char driver[32];
	bool virtual_device;
	bool tls_offload;
	struct ktls_nic_state feature[ABI_0_1_NIC_FEATURE_COUNT];
};

/* Today's struct starts with 0.1's: same offset and size for every 0.1 field. */
#define ABI_SAME_FIELD(cur, old, field)                                                     \
	_Static_assert(offsetof(struct cur, field) == offsetof(struct old, field) &&         \
			       sizeof(((struct cur *)0)->field) ==                           \
				       sizeof(((struct old *)0)->field),                     \
		       #cur "." #field " moved or changed size since LIBKTLS_0.1")

ABI_SAME_FIELD(ktls_caps, ktls_caps_0_1, ulp_available);
ABI_SAME_FIELD(ktls_caps, ktls_caps_0_1, ulp_errno);
ABI_SAME_FIELD(ktls_caps, ktls_caps_0_1, tx_ciphers);
ABI_SAME_FIELD(ktls_caps, ktls_caps_0_1, rx_ciphers);
ABI_SAME_FIELD(ktls_caps, ktls_caps_0_1, tx_zerocopy_sendfile);
ABI_SAME_FIELD(ktls_caps, ktls_caps_0_1, rx_expect_no_pad);
ABI_SAME_FIELD(ktls_caps, ktls_caps_0_1, tls13_rekey);
ABI_SAME_FIELD(ktls_caps, ktls_caps_0_1, summary);

ABI_SAME_FIELD(ktls_info, ktls_info_0_1, version);
ABI_SAME_FIELD(ktls_info, ktls_info_0_1, cipher);
ABI_SAME_FIELD(ktls_info, ktls_info_0_1, version_name);
ABI_SAME_FIELD(ktls_info, ktls_info_0_1, cipher_name);
ABI_SAME_FIELD(ktls_info, ktls_info_0_1, group_name);
ABI_SAME_FIELD(ktls_info, ktls_info_0_1, alpn);
ABI_SAME_FIELD(ktls_info, ktls_info_0_1, server_name);
ABI_SAME_FIELD(ktls_info, ktls_info_0_1, resumed);
ABI_SAME_FIELD(ktls_info, ktls_info_0_1, peer_auth);
ABI_SAME_FIELD(ktls_info, ktls_info_0_1, peer_identity);
ABI_SAME_FIELD(ktls_info, ktls_info_0_1, tx);
ABI_SAME_FIELD(ktls_info, ktls_info_0_1, rx);
ABI_SAME_FIELD(ktls_info, ktls_info_0_1, tickets_received);
ABI_SAME_FIELD(ktls_info, ktls_info_0_1, tickets_after_switch);
ABI_SAME_FIELD(ktls_info, ktls_info_0_1, key_updates_sent);
ABI_SAME_FIELD(ktls_info, ktls_info_0_1, key_updates_received);

ABI_SAME_FIELD(ktls_sock, ktls_sock_0_1, family);
ABI_SAME_FIELD(ktls_sock, ktls_sock_0_1, local_addr);
ABI_SAME_FIELD(ktls_sock, ktls_sock_0_1, peer_addr);
ABI_SAME_FIELD(ktls_sock, ktls_sock_0_1, local_port);
ABI_SAME_FIELD(ktls_sock, ktls_sock_0_1, peer_port);
ABI_SAME_FIELD(ktls_sock, ktls_sock_0_1, tcp_state);
ABI_SAME_FIELD(ktls_sock, ktls_sock_0_1, uid);
ABI_SAME_FIELD(ktls_sock, ktls_sock_0_1, inode);
ABI_SAME_FIELD(ktls_sock, ktls_sock_0_1, pid);
ABI_SAME_FIELD(ktls_sock, ktls_sock_0_1, comm);
ABI_SAME_FIELD(ktls_sock, ktls_sock_0_1, tls_info);
ABI_SAME_FIELD(ktls_sock, ktls_sock_0_1, version);
ABI_SAME_FIELD(ktls_sock, ktls_sock_0_1, cipher_type);
ABI_SAME_FIELD(ktls_sock, ktls_sock_0_1, cipher);
ABI_SAME_FIELD(ktls_sock, ktls_sock_0_1, cipher_name);
ABI_SAME_FIELD(ktls_sock, ktls_sock_0_1, tx);
ABI_SAME_FIELD(ktls_sock, ktls_sock_0_1, rx);
ABI_SAME_FIELD(ktls_sock, ktls_sock_0_1, tx_zerocopy_sendfile);
ABI_SAME_FIELD(ktls_sock, ktls_sock_0_1, rx_no_pad);
ABI_SAME_FIELD(ktls_sock, ktls_sock_0_1, bytes_acked);
ABI_SAME_FIELD(ktls_sock, ktls_sock_0_1, bytes_received);

ABI_SAME_FIELD(ktls_nic, ktls_nic_0_1, name);
ABI_SAME_FIELD(ktls_nic, ktls_nic_0_1, ifindex);
ABI_SAME_FIELD(ktls_nic, ktls_nic_0_1, driver);
ABI_SAME_FIELD(ktls_nic, ktls_nic_0_1, virtual_device);
ABI_SAME_FIELD(ktls_nic, ktls_nic_0_1, tls_offload);
_Static_assert(offsetof(struct ktls_nic, feature) == offsetof(struct ktls_nic_0_1, feature),
	       "ktls_nic.feature moved since LIBKTLS_0.1");

/*
 * The smallest size a caller may pass: LIBKTLS_0.1's, or today's for a
 * struct whose 0.1 layout is not a prefix (those have their own 0.1 symbols).
 */
#define ABI_MIN_CAPS sizeof(struct ktls_caps_0_1)
#define ABI_MIN_INFO sizeof(struct ktls_info_0_1)
#define ABI_MIN_SOCK sizeof(struct ktls_sock_0_1)
#define ABI_MIN_NIC sizeof(struct ktls_nic_0_1)
#define ABI_MIN_STATS sizeof(struct ktls_stats)
#define ABI_MIN_STATS_DELTA sizeof(struct ktls_stats_delta)

/* Copy @src (the library's struct) into the caller's @dst of @dst_size bytes. */
static inline void abi_copy_out(void *dst, size_t dst_size, const void *src, size_t src_size)
{
	if (dst_size <= src_size) {
		memcpy(dst, src, dst_size);
	} else {
		memcpy(dst, src, src_size);
		memset((char *)dst + src_size, 0, dst_size - src_size);
	}
}

/* The caller's (older or newer) struct as ours: the fields it has, zero for the rest. */
static inline void abi_copy_in(void *dst, size_t dst_size, const void *src, size_t src_size)
{
	memset(dst, 0, dst_size);
	memcpy(dst, src, src_size < dst_size ? src_size : dst_size);
}

/*
 * An array of @n of our structs (@src, @src_size each) as the caller's
 * array of @dst_size strides, malloc'ed; NULL for none.  -ENOMEM.
 */
static inline int abi_array_out(void **ret, size_t dst_size, const void *src, size_t src_size,
				size_t n)
{
	char *dst;

	*ret = NULL;
	if (n == 0)
		return 0;
	if (n > SIZE_MAX / dst_size)
		return -ENOMEM;
	dst = malloc(n * dst_size);
	if (dst == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		abi_copy_out(dst + i * dst_size, dst_size, (const char *)src + i * src_size, src_size);
	*ret = dst;
	return 0;
}

#endif /* KTLS_ABI_H */
