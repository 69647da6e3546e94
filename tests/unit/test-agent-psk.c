/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * PSKs for the kernel's handshakes:
 *  - NVMe/TCP PSK identities parsed (ktls_agent_psk_identity_parse());
 *  - ktls_agent_psk_lookup() finding keys this test adds to a keyring of
 *    its own (a new session keyring, so nothing of the caller's is seen):
 *    SHA-256 and SHA-384 identities, a non-NVMe identity, nested keyrings,
 *    the wrong key length, unknown and revoked keys, a short buffer;
 *  - both sides of a PSK handshake through the agent's credentials
 *    (white-box: lib/agent-creds.c): the client reads its key by serial, as
 *    the kernel names it, the server finds the client's identity in the
 *    keyring the request names, and an unknown identity is marked for
 *    EKEYREJECTED with the unknown_psk_identity alert.  Where the kernel has
 *    no TLS ULP (this build host) the handshake completes in GnuTLS and the
 *    key switch then fails with -EOPNOTSUPP, as the agent's REQUIRE policy
 *    wants; inside a kernel with kTLS it succeeds.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/keyctl.h>

#include "agent.h"
#include "unit.h"

#define HOSTNQN "nqn.2014-08.org.nvmexpress:uuid:8ae2b12c-3d28-4458-83e3-658e571ed4b8"
#define SUBNQN "nqn.2024-01.org.example:nvme:ktls-test"
/* base64 of 32 and 48 bytes */
#define DIGEST256 "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
#define DIGEST384 "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4v"

static void test_identity(void)
{
	struct ktls_agent_psk_identity id;
	char long_nqn[300];
	int ret;

	ret = ktls_agent_psk_identity_parse("NVMe0R01 " HOSTNQN " " SUBNQN, &id);
	tap_check(ret == 0 && id.version == 0 && !id.generated &&
			  id.hash == KTLS_AGENT_PSK_HASH_SHA256 && strcmp(id.hostnqn, HOSTNQN) == 0 &&
			  strcmp(id.subnqn, SUBNQN) == 0 && id.digest[0] == '\0',
		  "NVMe0R01: version 0, retained, SHA-256, both NQNs");
	ret = ktls_agent_psk_identity_parse("NVMe1G02 " HOSTNQN " " SUBNQN " " DIGEST384, &id);
	tap_check(ret == 0 && id.version == 1 && id.generated &&
			  id.hash == KTLS_AGENT_PSK_HASH_SHA384 && strcmp(id.digest, DIGEST384) == 0,
		  "NVMe1G02: version 1, generated, SHA-384, its digest");
	ret = ktls_agent_psk_identity_parse("NVMe1R01 " HOSTNQN " " SUBNQN " " DIGEST256, &id);
	tap_check(ret == 0 && id.hash == KTLS_AGENT_PSK_HASH_SHA256 && strlen(id.digest) == 44,
		  "NVMe1R01 with a 44-character digest");

	static const char *const bad[] = {
		"",
		"NVMe2R01 h s",
		"NVMe0X01 h s",
		"NVMe0R03 h s",
		"NVMe0R00 h s",
		"nvme0R01 h s",
		"NVMe0R01h s",
		"NVMe0R01 h",
		"NVMe0R01  s",
		"NVMe0R01 h s extra",
		"NVMe1R01 h s",
		"NVMe1R02 h s " DIGEST256,
		"NVMe1R01 h s " DIGEST256 "x",
		"NVMe1R01 h s AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh*=",
	};
	unsigned int refused = 0;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (ktls_agent_psk_identity_parse(bad[i], &id) == -EINVAL)
			refused++;
		else
			tap_diag("accepted: \"%s\"", bad[i]);
	tap_check(refused == sizeof(bad) / sizeof(bad[0]),
		  "%u malformed identities refused with -EINVAL (version, type, hash, fields, "
		  "digest length and alphabet)", refused);
	snprintf(long_nqn, sizeof(long_nqn), "NVMe0R01 %0224d s", 0);
	tap_check(ktls_agent_psk_identity_parse(long_nqn, &id) == -EINVAL &&
			  ktls_agent_psk_identity_parse(NULL, &id) == -EINVAL,
		  "a 224-byte NQN and NULL: -EINVAL");
}

/* ---- keyrings -------------------------------------------------------------------- */

static long keyctl(int cmd, unsigned long a2, unsigned long a3, unsigned long a4, unsigned long a5)
{
	return syscall(SYS_keyctl, cmd, a2, a3, a4, a5);
}

static int32_t add_key(const char *type, const char *desc, const void *data, size_t len,
		       int32_t ring)
{
	long ret = syscall(SYS_add_key, type, desc, data, len, ring);

	if (ret < 0)
		tap_bail("add_key(%s, \"%s\"): %s", type, desc, strerror(errno));
	return (int32_t)ret;
}

static int32_t ring, k256, k384, kplain, kshort, knested, krevoked;
static unsigned char key256[32], key384[48], keyplain[20];

static bool keyrings_ready(void)
{
	unsigned char junk[20] = { 0 }, nested[32];
	int32_t child;

	/* A session keyring of our own: the caller's keys are out of sight. */
	if (keyctl(KEYCTL_JOIN_SESSION_KEYRING, 0, 0, 0, 0) < 0) {
		tap_skip("keyrings: KEYCTL_JOIN_SESSION_KEYRING failed: %s", strerror(errno));
		return false;
	}
	unit_fill(key256, sizeof(key256), 0, 1);
	unit_fill(key384, sizeof(key384), 0, 2);
	unit_fill(keyplain, sizeof(keyplain), 0, 3);
	unit_fill(nested, sizeof(nested), 0, 4);
	ring = add_key("keyring", "ktls-agent-test", NULL, 0, AGENT_KEY_SPEC_SESSION_KEYRING);
	k256 = add_key("user", "NVMe0R01 " HOSTNQN " " SUBNQN, key256, sizeof(key256), ring);
	k384 = add_key("user", "NVMe1R02 " HOSTNQN " " SUBNQN " " DIGEST384, key384,
		       sizeof(key384), ring);
	kplain = add_key("user", "nfs-client-1", keyplain, sizeof(keyplain), ring);
	kshort = add_key("user", "NVMe0R01 short " SUBNQN, junk, sizeof(junk), ring);
	child = add_key("keyring", "ktls-agent-test-child", NULL, 0, ring);
	knested = add_key("user", "NVMe0G01 nested " SUBNQN, nested, sizeof(nested), child);
	krevoked = add_key("user", "NVMe0R01 revoked " SUBNQN, key256, sizeof(key256), ring);
	keyctl(KEYCTL_REVOKE, (unsigned long)krevoked, 0, 0, 0);
	return true;
}

static void test_lookup(void)
{
	unsigned char buf[KTLS_AGENT_PSK_MAX];
	char err[256];
	size_t len = 0;
	int32_t serial = 0;
	int ret;

	ret = ktls_agent_psk_lookup(ring, "NVMe0R01 " HOSTNQN " " SUBNQN, buf, sizeof(buf), &len,
				    &serial, err, sizeof(err));
	tap_check(ret == 0 && len == 32 && serial == k256 && memcmp(buf, key256, 32) == 0,
		  "SHA-256 identity: its 32-byte key and serial (%s)", err);
	ret = ktls_agent_psk_lookup(AGENT_KEY_SPEC_SESSION_KEYRING,
				    "NVMe1R02 " HOSTNQN " " SUBNQN " " DIGEST384, buf, sizeof(buf),
				    &len, &serial, err, sizeof(err));
	tap_check(ret == 0 && len == 48 && serial == k384 && memcmp(buf, key384, 48) == 0,
		  "SHA-384 identity with digest, searched from the session keyring: 48 bytes");
	ret = ktls_agent_psk_lookup(ring, "nfs-client-1", buf, sizeof(buf), &len, NULL, err,
				    sizeof(err));
	tap_check(ret == 0 && len == 20 && memcmp(buf, keyplain, 20) == 0,
		  "a non-NVMe identity: any length from 16 to 64 bytes");
	ret = ktls_agent_psk_lookup(ring, "NVMe0G01 nested " SUBNQN, buf, sizeof(buf), &len,
				    &serial, err, sizeof(err));
	tap_check(ret == 0 && len == 32 && serial == knested,
		  "a key in a keyring inside the keyring");

	ret = ktls_agent_psk_lookup(ring, "NVMe0R01 short " SUBNQN, buf, sizeof(buf), &len, NULL,
				    err, sizeof(err));
	tap_check_err("a SHA-256 identity with a 20-byte key", ret, EKEYREJECTED, err, "20 bytes",
		      "its hash needs 32", NULL);
	ret = ktls_agent_psk_lookup(ring, "NVMe0R01 unknown " SUBNQN, buf, sizeof(buf), &len, NULL,
				    err, sizeof(err));
	tap_check_err("an unknown identity", ret, ENOKEY, err, "no PSK with identity", NULL);
	ret = ktls_agent_psk_lookup(ring, "NVMe0R01 revoked " SUBNQN, buf, sizeof(buf), &len, NULL,
				    err, sizeof(err));
	tap_check_err("a revoked key", ret, ENOKEY, err, NULL);
	memset(buf, 0xaa, sizeof(buf));
	ret = ktls_agent_psk_lookup(ring, "NVMe0R01 " HOSTNQN " " SUBNQN, buf, 16, &len, NULL, err,
				    sizeof(err));
	tap_check(ret == -ENOBUFS && buf[0] == 0xaa && buf[15] == 0xaa,
		  "a 16-byte buffer for a 32-byte key: -ENOBUFS, the buffer untouched");
	tap_check(ktls_agent_psk_lookup(ring, NULL, buf, sizeof(buf), &len, NULL, err,
					sizeof(err)) == -EINVAL,
		  "NULL identity: -EINVAL");
}

/* ---- a PSK handshake through the agent's credentials -------------------------------- */

static void base_log(enum ktls_log_level level, const char *message, void *userdata)
{
	(void)level;
	(void)userdata;
	tap_diag("agent: %s", message);
}

/* Both sides' results: 0, or the switch's -EOPNOTSUPP where the kernel has no TLS ULP. */
static bool handshake_ok(int ret, const struct ktls_caps *caps)
{
	return ret == 0 || (!caps->ulp_available && ret == -EOPNOTSUPP);
}

static void test_handshake(void)
{
	struct agent_base base = { .log_fn = base_log, .log_level = KTLS_LOG_INFO };
	struct agent_hs srv = { .base = &base }, cli = { .base = &base };
	struct ktls_config *scfg = NULL, *ccfg = NULL;
	struct ktls_conn *cconn = NULL;
	struct ktls_caps caps;
	char why[256] = "";
	int cfd, sfd, status = 0, rs = 1, rc = 1;

	ktls_probe(&caps);
	if (agent_creds_init(&base) < 0)
		tap_bail("agent_creds_init: %s", base.error);

	/* The kernel's requests: the server names the keyring, the client its key. */
	srv.req.msg_type = HANDSHAKE_MSG_TYPE_SERVERHELLO;
	srv.req.auth_mode = HANDSHAKE_AUTH_PSK;
	srv.req.keyring = ring;
	cli.req.msg_type = HANDSHAKE_MSG_TYPE_CLIENTHELLO;
	cli.req.auth_mode = HANDSHAKE_AUTH_PSK;
	cli.req.peerids[0] = k256;
	cli.req.n_peerids = 1;
	if (agent_creds_get(&srv, &scfg, &status, why, sizeof(why)) < 0 ||
	    agent_creds_get(&cli, &ccfg, &status, why, sizeof(why)) < 0)
		tap_bail("agent_creds_get: %s", why);
	tap_check(strcmp(cli.result.identity, "NVMe0R01 " HOSTNQN " " SUBNQN) == 0 &&
			  cli.psk_serial == k256,
		  "client: the identity read from key %d's description", k256);
	if (unit_tcp_pair(&cfd, &sfd, true) < 0 || ktls_conn_new(scfg, sfd, 0, &srv.conn) < 0 ||
	    ktls_conn_new(ccfg, cfd, 0, &cli.conn) < 0 || agent_creds_hook(&srv) < 0)
		tap_bail("connections: %s", ktls_config_error(scfg));
	unit_handshake_pair(cli.conn, srv.conn, &rc, &rs, 10000);
	tap_check(handshake_ok(rc, &caps) && handshake_ok(rs, &caps) && srv.psk_serial == k256 &&
			  !srv.psk_unknown,
		  "PSK handshake: the server found key %d by the client's identity in keyring %d "
		  "(client %s, server %s)", k256, ring, unit_errno_name(-rc), unit_errno_name(-rs));
	agent_creds_unhook(&srv);
	ktls_conn_free(srv.conn);
	ktls_conn_free(cli.conn);
	close(cfd);
	close(sfd);
	ktls_config_unref(ccfg);

	/* A client whose identity has no key on the server's side. */
	memset(&srv, 0, sizeof(srv));
	srv.base = &base;
	srv.req.msg_type = HANDSHAKE_MSG_TYPE_SERVERHELLO;
	srv.req.auth_mode = HANDSHAKE_AUTH_PSK;
	srv.req.keyring = ring;
	if (ktls_config_new(KTLS_ROLE_CLIENT, &ccfg) < 0 ||
	    ktls_config_set_versions(ccfg, KTLS_VERSION_TLS13, KTLS_VERSION_TLS13) < 0 ||
	    ktls_config_add_psk(ccfg, "NVMe0R01 stranger " SUBNQN, key256, sizeof(key256)) < 0 ||
	    unit_tcp_pair(&cfd, &sfd, true) < 0 || ktls_conn_new(scfg, sfd, 0, &srv.conn) < 0 ||
	    ktls_conn_new(ccfg, cfd, 0, &cconn) < 0 || agent_creds_hook(&srv) < 0)
		tap_bail("connections for the unknown identity");
	unit_handshake_pair(cconn, srv.conn, &rc, &rs, 10000);
	tap_check(rs == -EACCES && srv.psk_unknown && strstr(ktls_conn_error(srv.conn),
							      "unknown PSK identity") != NULL,
		  "unknown identity: the server marks it (the agent answers EKEYREJECTED): %s",
		  ktls_conn_error(srv.conn));
	tap_check(rc == -ECONNABORTED && strstr(ktls_conn_error(cconn), "unknown_psk_identity") != NULL,
		  "... and the client got the unknown_psk_identity alert: %s", ktls_conn_error(cconn));
	agent_creds_unhook(&srv);
	ktls_conn_free(srv.conn);
	ktls_conn_free(cconn);
	close(cfd);
	close(sfd);
	ktls_config_unref(ccfg);
	ktls_config_unref(scfg);

	/* A client whose key serial cannot be read. */
	memset(&cli, 0, sizeof(cli));
	cli.base = &base;
	cli.req.msg_type = HANDSHAKE_MSG_TYPE_CLIENTHELLO;
	cli.req.auth_mode = HANDSHAKE_AUTH_PSK;
	cli.req.peerids[0] = 0x7ffffff0;
	cli.req.n_peerids = 1;
	why[0] = '\0';
	ccfg = NULL;
	tap_check(agent_creds_get(&cli, &ccfg, &status, why, sizeof(why)) < 0 && status == ENOKEY &&
			  strstr(why, "PSK 2147483632") != NULL,
		  "client PSK with a key serial that does not exist: DONE status ENOKEY (%s)", why);
	agent_creds_free(&base);
	agent_conf_free(&base.conf);
}

int main(void)
{
	test_identity();
	if (keyrings_ready()) {
		test_lookup();
		test_handshake();
	}
	return tap_done();
}
