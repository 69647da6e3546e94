/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the running kernel can offload, found by doing it: a loopback TCP
 * connection per (version, cipher), the ULP, then dummy keys for TX and RX.
 * Kernel versions say nothing reliable (backports, modules left out), so no
 * version is ever parsed.  The answer is cached for the life of the process.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "private.h"

static pthread_mutex_t probe_lock = PTHREAD_MUTEX_INITIALIZER;
static bool probe_done;
static int probe_result;
static struct ktls_caps probe_caps;

/* An established loopback TCP pair: the ULP refuses listening or closed sockets. */
int probe_pair(int *ret_a, int *ret_b)
{
	struct sockaddr_in addr = { .sin_family = AF_INET,
				    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(addr);
	int listener, a = -1, b = -1;

	listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (listener < 0)
		return -errno;
	if (bind(listener, (struct sockaddr *)&addr, sizeof(addr)) != 0 ||
	    listen(listener, 1) != 0 ||
	    getsockname(listener, (struct sockaddr *)&addr, &len) != 0)
		goto fail;
	a = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (a < 0 || connect(a, (struct sockaddr *)&addr, sizeof(addr)) != 0)
		goto fail;
	b = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
	if (b < 0)
		goto fail;
	close(listener);
	*ret_a = a;
	*ret_b = b;
	return 0;
fail:;
	int err = -errno;

	if (a >= 0)
		close(a);
	close(listener);
	return err;
}

static bool probe_key(int fd, int optname, int version, enum ktls_cipher cipher)
{
	union keys_crypto_info info;
	socklen_t len = keys_dummy(version, cipher, &info);
	bool ok = kernel_set_key(fd, optname == TLS_TX ? KTLS_DIR_TX : KTLS_DIR_RX, &info, len) == 0;

	keys_wipe(&info);
	return ok;
}

static bool probe_flag(int fd, int optname)
{
	int one = 1;

	return kernel_setsockopt(fd, SOL_TLS, optname, &one, sizeof(one)) == 0;
}

/*
 * TLS_TX_MAX_PAYLOAD_LEN is set the way switch_keys() sets it: on a
 * socket with the ULP and no key yet (nothing may fail once a key is in).
 */
static bool probe_payload_limit(void)
{
	uint16_t limit = 1024;
	int a, b;
	bool ok;

	if (probe_pair(&a, &b) < 0)
		return false;
	ok = kernel_attach(a) == 0 && kernel_set_tx_payload_limit(a, limit) == 0;
	close(a);
	close(b);
	return ok;
}

static int probe_run(struct ktls_caps *caps)
{
	int a, b, ret;

	memset(caps, 0, sizeof(*caps));
	ret = probe_pair(&a, &b);
	if (ret < 0) {
		snprintf(caps->summary, sizeof(caps->summary),
			 "cannot create loopback sockets to probe: %s", strerror(-ret));
		return ret;
	}
	ret = kernel_attach(a);
	if (ret < 0) {
		caps->ulp_errno = -ret;
		snprintf(caps->summary, sizeof(caps->summary),
			 "kernel TLS is not available: setsockopt(TCP_ULP, \"tls\"): %s%s",
			 strerror(-ret),
			 ret == -ENOENT ? " (kernel without CONFIG_TLS, or module tls not loaded)"
					: "");
		close(a);
		close(b);
		return 0;
	}
	close(a);
	close(b);
	caps->ulp_available = true;
	caps->tx_max_payload_len = probe_payload_limit();

	for (int v = 0; v < 2; v++) {
		int version = v == 0 ? KTLS_VERSION_TLS12 : KTLS_VERSION_TLS13;

		for (int c = 0; c < CIPHER_COUNT; c++) {
			if (probe_pair(&a, &b) < 0)
				continue;
			if (kernel_attach(a) == 0) {
				if (probe_key(a, TLS_TX, version, c)) {
					caps->tx_ciphers[v] |= 1u << c;
					if (c == KTLS_CIPHER_AES_128_GCM && !caps->tx_zerocopy_sendfile)
						caps->tx_zerocopy_sendfile =
							probe_flag(a, TLS_TX_ZEROCOPY_RO);
					/* Rekey: a second key on the same TLS 1.3 socket. */
					if (version == KTLS_VERSION_TLS13 &&
					    c == KTLS_CIPHER_AES_128_GCM)
						caps->tls13_rekey =
							probe_key(a, TLS_TX, version, c);
				}
				if (probe_key(a, TLS_RX, version, c)) {
					caps->rx_ciphers[v] |= 1u << c;
					if (version == KTLS_VERSION_TLS13 && !caps->rx_expect_no_pad)
						caps->rx_expect_no_pad =
							probe_flag(a, TLS_RX_EXPECT_NO_PAD);
				}
			}
			close(a);
			close(b);
		}
	}
	snprintf(caps->summary, sizeof(caps->summary), "kernel TLS available");
	return 0;
}

const struct ktls_caps *probe_get(void)
{
	pthread_mutex_lock(&probe_lock);
	if (!probe_done) {
		probe_result = probe_run(&probe_caps);
		probe_done = true;
	}
	pthread_mutex_unlock(&probe_lock);
	return &probe_caps;
}

void probe_reset(void)
{
	pthread_mutex_lock(&probe_lock);
	probe_done = false;
	pthread_mutex_unlock(&probe_lock);
}

bool probe_can_offload(const struct ktls_caps *caps, int version, enum ktls_cipher cipher,
		       enum ktls_dir dir)
{
	int v = version == KTLS_VERSION_TLS13 ? 1 : 0;
	uint32_t mask = dir == KTLS_DIR_TX ? caps->tx_ciphers[v] : caps->rx_ciphers[v];

	if (!caps->ulp_available || cipher < 0 || cipher >= CIPHER_COUNT)
		return false;
	return (mask & (1u << cipher)) != 0;
}

int probe_copy(struct ktls_caps *ret_caps)
{
	int ret;

	probe_get();
	pthread_mutex_lock(&probe_lock);
	ret = probe_result;
	if (ret == 0)
		*ret_caps = probe_caps;
	pthread_mutex_unlock(&probe_lock);
	return ret;
}
