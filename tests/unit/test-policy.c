/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * White-box: the offload policy shapes the cipher choice (lib/config.c,
 * config_build_priority) against a fake kernel that has kTLS but no
 * ChaCha20-Poly1305, as kernels before 5.11 or without the chacha modules.
 *
 * kernel_setsockopt is replaced: TCP_ULP and every SOL_TLS option succeed,
 * except a TLS_TX / TLS_RX key whose cipher_type is CHACHA20_POLY1305 (54),
 * refused with EINVAL as Linux refuses a cipher it does not know.  The probe
 * therefore reports AES-GCM/CCM both ways and no ChaCha.  Then, over
 * loopback TCP pairs with interleaved non-blocking handshakes:
 *  - a client whose own priority puts ChaCha first meets a default (AUTO)
 *    server: the server's precedence picks AES-128-GCM and both sides put
 *    their keys in the "kernel";
 *  - a server with REQUIRE meets a client offering only ChaCha: no common
 *    cipher, the handshake fails with -EPROTONOSUPPORT;
 *  - an AUTO server meets that client: ChaCha is agreed, and the keys stay
 *    with GnuTLS, info saying why (EOPNOTSUPP, "cannot offload").
 * The fake kernel does not encrypt, so data only moves where GnuTLS does.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "private.h"
#include "unit.h"

#define TIMEOUT_MS 10000

static unsigned int keys_accepted, chacha_refused;

static int fake_setsockopt(int fd, int level, int name, const void *value, socklen_t len)
{
	(void)fd;
	if (level == SOL_TCP && name == TCP_ULP) {
		if (len < 3 || memcmp(value, "tls", 3) != 0) {
			errno = ENOENT;
			return -1;
		}
		return 0;
	}
	if (level != SOL_TLS) {
		errno = ENOPROTOOPT;
		return -1;
	}
	if (name == TLS_TX || name == TLS_RX) {
		struct tls_crypto_info info;

		if (len < sizeof(info)) {
			errno = EINVAL;
			return -1;
		}
		memcpy(&info, value, sizeof(info));
		if (info.cipher_type == TLS_CIPHER_CHACHA20_POLY1305) {
			chacha_refused++;
			errno = EINVAL;
			return -1;
		}
		keys_accepted++;
	}
	return 0;
}

static struct unit_cert ca, leaf;

static struct ktls_config *client_config(const char *priority)
{
	struct ktls_config *c = NULL;

	if (ktls_config_new(KTLS_ROLE_CLIENT, &c) != 0 ||
	    ktls_config_set_ca_file(c, ca.cert_path) != 0 ||
	    (priority != NULL && ktls_config_set_priority(c, priority) != 0))
		tap_bail("client config: %s", c ? ktls_config_error(c) : "");
	return c;
}

static struct ktls_config *server_config(enum ktls_offload policy)
{
	struct ktls_config *c = NULL;

	if (ktls_config_new(KTLS_ROLE_SERVER, &c) != 0 ||
	    ktls_config_add_cert_file(c, leaf.cert_path, leaf.key_path) != 0 ||
	    (policy != KTLS_OFFLOAD_AUTO && ktls_config_set_offload(c, KTLS_DIR_BOTH, policy) != 0))
		tap_bail("server config: %s", c ? ktls_config_error(c) : "");
	return c;
}

struct pair {
	struct ktls_conn *c, *s;
	int rc, rs;
	bool stuck;
};

/* Takes the configs' references. */
static void pair_run(struct pair *p, struct ktls_config *cc, struct ktls_config *sc)
{
	int sv[2];

	memset(p, 0, sizeof(*p));
	if (unit_tcp_pair(&sv[0], &sv[1], true) < 0)
		tap_bail("loopback TCP pair");
	if (ktls_conn_new(cc, sv[0], KTLS_CONN_OWN_FD, &p->c) != 0)
		tap_bail("ktls_conn_new(client): %s", ktls_config_error(cc));
	if (ktls_conn_new(sc, sv[1], KTLS_CONN_OWN_FD, &p->s) != 0)
		tap_bail("ktls_conn_new(server): %s", ktls_config_error(sc));
	ktls_config_unref(cc);
	ktls_config_unref(sc);
	if (ktls_conn_set_server_name(p->c, "localhost") != 0)
		tap_bail("set_server_name: %s", ktls_conn_error(p->c));
	p->stuck = unit_handshake_pair(p->c, p->s, &p->rc, &p->rs, TIMEOUT_MS) != 0;
	if (p->stuck || p->rc != 0 || p->rs != 0) {
		tap_diag("  client %s: %s", unit_errno_name(p->rc), ktls_conn_error(p->c));
		tap_diag("  server %s: %s", unit_errno_name(p->rs), ktls_conn_error(p->s));
	}
}

static void pair_free(struct pair *p)
{
	ktls_conn_free(p->c);
	ktls_conn_free(p->s);
	memset(p, 0, sizeof(*p));
}

static const char *version_prio(int version)
{
	return version == KTLS_VERSION_TLS13 ? "NORMAL:-VERS-ALL:+VERS-TLS1.3"
					     : "NORMAL:-VERS-ALL:+VERS-TLS1.2";
}

/* Client prefers ChaCha, server AUTO: the kernel's cipher wins. */
static void test_auto_prefers_offloadable(int version)
{
	struct pair p;
	struct ktls_info ci, si;
	char label[64], prio[160];
	unsigned int accepted = keys_accepted;

	snprintf(label, sizeof(label), "TLS1.%d AUTO server, client prefers ChaCha",
		 version == KTLS_VERSION_TLS13 ? 3 : 2);
	snprintf(prio, sizeof(prio), "%s:-CIPHER-ALL:+CHACHA20-POLY1305:+AES-128-GCM",
		 version_prio(version));
	pair_run(&p, client_config(prio), server_config(KTLS_OFFLOAD_AUTO));
	if (!tap_check(!p.stuck && p.rc == 0 && p.rs == 0, "%s: handshake", label))
		goto out;
	if (ktls_conn_get_info(p.c, &ci) != 0 || ktls_conn_get_info(p.s, &si) != 0)
		tap_bail("get_info");
	tap_check(ci.version == version && si.version == version, "%s: %s", label, si.version_name);
	tap_check(si.cipher == KTLS_CIPHER_AES_128_GCM && ci.cipher == KTLS_CIPHER_AES_128_GCM,
		  "%s: server precedence picks AES-128-GCM (got \"%s\")", label, si.cipher_name);
	tap_check(si.tx.kernel && si.rx.kernel && ci.tx.kernel && ci.rx.kernel,
		  "%s: the kernel holds all four keys", label);
	if (!si.tx.kernel || !si.rx.kernel || !ci.tx.kernel || !ci.rx.kernel)
		tap_diag("  server tx \"%s\" rx \"%s\", client tx \"%s\" rx \"%s\"", si.tx.reason,
			 si.rx.reason, ci.tx.reason, ci.rx.reason);
	tap_check(keys_accepted - accepted == 4, "%s: four TLS_TX/TLS_RX keys set (%u)", label,
		  keys_accepted - accepted);
out:
	pair_free(&p);
}

/* Server REQUIRE, client offers only ChaCha: no common cipher. */
static void test_require_no_common_cipher(int version)
{
	struct pair p;
	char label[64], prio[160];
	unsigned int accepted = keys_accepted;

	snprintf(label, sizeof(label), "TLS1.%d REQUIRE server, ChaCha-only client",
		 version == KTLS_VERSION_TLS13 ? 3 : 2);
	snprintf(prio, sizeof(prio), "%s:-CIPHER-ALL:+CHACHA20-POLY1305", version_prio(version));
	pair_run(&p, client_config(prio), server_config(KTLS_OFFLOAD_REQUIRE));
	tap_check(!p.stuck, "%s: the handshake ends", label);
	tap_check_err(label, p.rs, EPROTONOSUPPORT, ktls_conn_error(p.s), "TLS handshake failed",
		      "cipher", NULL);
	tap_check(p.rc < 0 && p.rc != -EAGAIN, "%s: the client fails too (%s: %s)", label,
		  unit_errno_name(p.rc), ktls_conn_error(p.c));
	tap_check(keys_accepted == accepted, "%s: no key reached the kernel", label);
	pair_free(&p);
}

/* Server AUTO, client offers only ChaCha: agreed, kept in GnuTLS, and said why. */
static void test_auto_falls_back(int version)
{
	static const char ask[] = "over ChaCha20-Poly1305 in GnuTLS", answer[] = "and back";
	struct pair p;
	struct ktls_info ci, si;
	char label[64], prio[160], buf[64] = "";
	unsigned int refused = chacha_refused, accepted = keys_accepted;
	ssize_t n;

	snprintf(label, sizeof(label), "TLS1.%d AUTO server, ChaCha-only client",
		 version == KTLS_VERSION_TLS13 ? 3 : 2);
	snprintf(prio, sizeof(prio), "%s:-CIPHER-ALL:+CHACHA20-POLY1305", version_prio(version));
	pair_run(&p, client_config(prio), server_config(KTLS_OFFLOAD_AUTO));
	if (!tap_check(!p.stuck && p.rc == 0 && p.rs == 0, "%s: handshake", label))
		goto out;
	if (ktls_conn_get_info(p.c, &ci) != 0 || ktls_conn_get_info(p.s, &si) != 0)
		tap_bail("get_info");
	tap_check(si.cipher == KTLS_CIPHER_CHACHA20_POLY1305 &&
			  ci.cipher == KTLS_CIPHER_CHACHA20_POLY1305,
		  "%s: ChaCha20-Poly1305 agreed (\"%s\")", label, si.cipher_name);
	for (int i = 0; i < 4; i++) {
		const struct ktls_info *in = i < 2 ? &si : &ci;
		const struct ktls_dir_info *d = i % 2 == 0 ? &in->tx : &in->rx;
		const char *what = i % 2 == 0 ? "TX" : "RX";
		const char *side = i < 2 ? "server" : "client";

		tap_check(!d->kernel && d->reason_errno == EOPNOTSUPP &&
				  strstr(d->reason, "cannot offload") != NULL &&
				  strstr(d->reason, "CHACHA20-POLY1305") != NULL &&
				  strstr(d->reason, what) != NULL,
			  "%s: %s %s stays in GnuTLS: %s \"%s\"", label, side, what,
			  unit_errno_name(d->reason_errno), d->reason);
	}
	/* Planned from the probe's answer: the kernel is not even asked. */
	tap_check(chacha_refused == refused && keys_accepted == accepted,
		  "%s: no key was offered to the kernel", label);

	n = unit_send_all(p.c, ask, sizeof(ask), TIMEOUT_MS);
	if (n == (ssize_t)sizeof(ask))
		n = unit_recv_all(p.s, buf, sizeof(ask), TIMEOUT_MS);
	tap_check(n == (ssize_t)sizeof(ask) && memcmp(buf, ask, sizeof(ask)) == 0,
		  "%s: client -> server through GnuTLS", label);
	n = unit_send_all(p.s, answer, sizeof(answer), TIMEOUT_MS);
	if (n == (ssize_t)sizeof(answer))
		n = unit_recv_all(p.c, buf, sizeof(answer), TIMEOUT_MS);
	tap_check(n == (ssize_t)sizeof(answer) && memcmp(buf, answer, sizeof(answer)) == 0,
		  "%s: server -> client through GnuTLS", label);
out:
	pair_free(&p);
}

int main(void)
{
	const char *dir = unit_tmpdir();
	struct ktls_caps caps;
	uint32_t no_chacha = (1u << KTLS_CIPHER_AES_128_GCM) | (1u << KTLS_CIPHER_AES_256_GCM) |
			     (1u << KTLS_CIPHER_AES_128_CCM);

	kernel_setsockopt = fake_setsockopt;
	probe_reset();
	if (ktls_probe(&caps) != 0 || !caps.ulp_available)
		tap_bail("the probe does not see the fake kernel: %s", caps.summary);
	tap_check(caps.tx_ciphers[0] == no_chacha && caps.tx_ciphers[1] == no_chacha &&
			  caps.rx_ciphers[0] == no_chacha && caps.rx_ciphers[1] == no_chacha,
		  "the probe sees AES-GCM/CCM both ways and no ChaCha (tx %#x/%#x rx %#x/%#x)",
		  caps.tx_ciphers[0], caps.tx_ciphers[1], caps.rx_ciphers[0], caps.rx_ciphers[1]);
	tap_check(chacha_refused >= 4, "the probe tried ChaCha and was refused (%u times)",
		  chacha_refused);

	if (unit_cert_make(&ca, dir, "ca", UNIT_CERT_CA, "Test CA", NULL, NULL, false) < 0 ||
	    unit_cert_make(&leaf, dir, "server", UNIT_CERT_SERVER, "localhost", "localhost", &ca,
			   false) < 0)
		tap_bail("cannot make certificates");

	for (int v = 0; v < 2; v++) {
		int version = v == 0 ? KTLS_VERSION_TLS13 : KTLS_VERSION_TLS12;

		test_auto_prefers_offloadable(version);
		test_require_no_common_cipher(version);
		test_auto_falls_back(version);
	}

	unit_cert_free(&ca);
	unit_cert_free(&leaf);
	return tap_done();
}
