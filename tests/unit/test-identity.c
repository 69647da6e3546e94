/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Black-box: who the peer is, and what a storage daemon needs to decide it.
 *
 *  1. Certificates, keys and CAs from memory (PEM and DER), and garbage
 *     refused.
 *  2. The peer's chain (DER, byte for byte what was issued), its subject
 *     alternative names (DNS, IP, URI, email) and SHA-256 fingerprint, on
 *     both sides of a mutual-TLS connection; -ENOENT after a PSK handshake.
 *  3. The verify callback: pinning a certificate no CA vouches for, refusing
 *     a valid one (the peer gets bad_certificate), a server refusing a
 *     client certificate; the chain readable inside the callback.
 *  4. PSKs: a server that looks identities up (a hundred hosts, none added
 *     to the config), a client with a PSK of its own per connection,
 *     unknown identities refused with unknown_psk_identity.
 *  5. Exported keying material: both ends agree, label and context matter,
 *     TLS 1.2 and 1.3, wherever the record keys went.
 *
 * Runs on the build host (GnuTLS records) and, as kernel-identity, inside
 * user-mode Linux where the keys go to the kernel.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gnutls/crypto.h>

#include "unit.h"

#define TIMEOUT_MS 10000

static struct unit_cert ca, other_ca, server, client, stranger;
static struct ktls_caps caps;
/* The server's certificate with every kind of SAN, PEM and DER, in memory. */
static gnutls_datum_t rich_pem, rich_key_pem, rich_der, rich_key_der, ca_pem, ca_der;

struct pair {
	struct ktls_conn *c, *s;
	int rc, rs;
};

static void pair_free(struct pair *p)
{
	ktls_conn_free(p->c);
	ktls_conn_free(p->s);
	memset(p, 0, sizeof(*p));
}

/* Takes the configs' references.  @psk_id: the client's own PSK, or NULL. */
static void pair_run(struct pair *p, struct ktls_config *cc, struct ktls_config *sc,
		     const char *psk_id, const unsigned char *psk_key)
{
	int cfd, sfd;

	memset(p, 0, sizeof(*p));
	if (unit_tcp_pair(&cfd, &sfd, true) < 0)
		tap_bail("loopback TCP pair");
	if (ktls_conn_new(cc, cfd, KTLS_CONN_OWN_FD, &p->c) < 0 ||
	    ktls_conn_new(sc, sfd, KTLS_CONN_OWN_FD, &p->s) < 0)
		tap_bail("ktls_conn_new: %s / %s", ktls_config_error(cc), ktls_config_error(sc));
	ktls_conn_set_server_name(p->c, "localhost");
	if (psk_id != NULL && ktls_conn_set_psk(p->c, psk_id, psk_key, 32) < 0)
		tap_bail("ktls_conn_set_psk: %s", ktls_conn_error(p->c));
	ktls_config_unref(cc);
	ktls_config_unref(sc);
	if (unit_handshake_pair(p->c, p->s, &p->rc, &p->rs, TIMEOUT_MS) < 0)
		tap_bail("handshake hung");
}

static void must(int ret, struct ktls_config *c, const char *what)
{
	if (ret < 0)
		tap_bail("%s: %s", what, ktls_config_error(c));
}

static struct ktls_config *client_config(int version)
{
	struct ktls_config *c = NULL;

	must(ktls_config_new(KTLS_ROLE_CLIENT, &c), c, "config");
	must(ktls_config_set_versions(c, version, version), c, "versions");
	return c;
}

static struct ktls_config *server_config(int version)
{
	struct ktls_config *c = NULL;

	must(ktls_config_new(KTLS_ROLE_SERVER, &c), c, "config");
	must(ktls_config_set_versions(c, version, version), c, "versions");
	return c;
}

static const char *vname(int version)
{
	return version == KTLS_VERSION_TLS13 ? "TLS1.3" : "TLS1.2";
}

/* The keys went where this kernel can take them. */
static void check_offload(const char *label, struct ktls_conn *conn)
{
	struct ktls_info info;

	if (ktls_conn_get_info(conn, &info) == 0)
		tap_check(info.tx.kernel == caps.ulp_available && info.rx.kernel == caps.ulp_available,
			  "%s: keys in the kernel exactly when it has kTLS (%s)", label,
			  caps.ulp_available ? "yes" : "no");
}

/* ---- 1. credentials from memory ---------------------------------------------------- */

static void make_rich_cert(void)
{
	static const unsigned char ip4[4] = { 127, 0, 0, 1 };
	static const unsigned char ip6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
	static const char uri[] = "spiffe://example.org/ns/storage/sa/nfsd";
	static const char mail[] = "ops@example.org";

	/* server already has DNS "localhost"; add the other kinds and sign again. */
	if (gnutls_x509_crt_set_subject_alt_name(server.crt, GNUTLS_SAN_IPADDRESS, ip4, 4,
						 GNUTLS_FSAN_APPEND) < 0 ||
	    gnutls_x509_crt_set_subject_alt_name(server.crt, GNUTLS_SAN_URI, uri, strlen(uri),
						 GNUTLS_FSAN_APPEND) < 0 ||
	    gnutls_x509_crt_set_subject_alt_name(server.crt, GNUTLS_SAN_IPADDRESS, ip6, 16,
						 GNUTLS_FSAN_APPEND) < 0 ||
	    gnutls_x509_crt_set_subject_alt_name(server.crt, GNUTLS_SAN_RFC822NAME, mail,
						 strlen(mail), GNUTLS_FSAN_APPEND) < 0 ||
	    gnutls_x509_crt_sign2(server.crt, ca.crt, ca.key, GNUTLS_DIG_SHA256, 0) < 0 ||
	    gnutls_x509_crt_export2(server.crt, GNUTLS_X509_FMT_PEM, &rich_pem) < 0 ||
	    gnutls_x509_crt_export2(server.crt, GNUTLS_X509_FMT_DER, &rich_der) < 0 ||
	    gnutls_x509_privkey_export2(server.key, GNUTLS_X509_FMT_PEM, &rich_key_pem) < 0 ||
	    gnutls_x509_privkey_export2(server.key, GNUTLS_X509_FMT_DER, &rich_key_der) < 0 ||
	    gnutls_x509_crt_export2(ca.crt, GNUTLS_X509_FMT_PEM, &ca_pem) < 0 ||
	    gnutls_x509_crt_export2(ca.crt, GNUTLS_X509_FMT_DER, &ca_der) < 0)
		tap_bail("cannot build the certificate with every kind of SAN");
}

/* A server with the rich certificate from memory, PEM or DER. */
static struct ktls_config *rich_server(int version, bool der)
{
	struct ktls_config *c = server_config(version);

	if (der)
		must(ktls_config_add_cert_mem(c, rich_der.data, rich_der.size, rich_key_der.data,
					      rich_key_der.size),
		     c, "add_cert_mem(DER)");
	else
		must(ktls_config_add_cert_mem(c, rich_pem.data, rich_pem.size, rich_key_pem.data,
					      rich_key_pem.size),
		     c, "add_cert_mem(PEM)");
	return c;
}

static struct ktls_config *trusting_client(int version, bool der)
{
	struct ktls_config *c = client_config(version);

	if (der)
		must(ktls_config_set_ca_mem(c, ca_der.data, ca_der.size), c, "set_ca_mem(DER)");
	else
		must(ktls_config_set_ca_mem(c, ca_pem.data, ca_pem.size), c, "set_ca_mem(PEM)");
	return c;
}

static void test_memory_credentials(void)
{
	static const char junk[] = "-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n";
	struct ktls_config *c = server_config(KTLS_VERSION_TLS13);
	struct pair p;

	tap_check_err("add_cert_mem(garbage PEM)",
		      ktls_config_add_cert_mem(c, junk, sizeof(junk) - 1, rich_key_pem.data,
					       rich_key_pem.size),
		      EBADMSG, ktls_config_error(c), "from memory", NULL);
	tap_check_err("add_cert_mem(PEM certificate, DER key)",
		      ktls_config_add_cert_mem(c, rich_pem.data, rich_pem.size, rich_key_der.data,
					       rich_key_der.size),
		      EBADMSG, ktls_config_error(c), "both PEM or both DER", NULL);
	tap_check_err("add_cert_mem(NULL)", ktls_config_add_cert_mem(c, NULL, 0, NULL, 0), EINVAL,
		      ktls_config_error(c), "required", NULL);
	tap_check_err("set_ca_mem(garbage)", ktls_config_set_ca_mem(c, "xyz", 3), EBADMSG,
		      ktls_config_error(c), "CA certificates", NULL);
	ktls_config_unref(c);

	for (int der = 0; der < 2; der++) {
		char label[64];

		snprintf(label, sizeof(label), "certificate, key and CA from memory (%s)",
			 der ? "DER" : "PEM");
		pair_run(&p, trusting_client(KTLS_VERSION_TLS13, der),
			 rich_server(KTLS_VERSION_TLS13, der), NULL, NULL);
		tap_check(p.rc == 0 && p.rs == 0, "%s: handshake verifies (%s)", label,
			  p.rc < 0 ? ktls_conn_error(p.c) : "ok");
		if (p.rc == 0)
			check_offload(label, p.c);
		pair_free(&p);
	}
}

/* ---- 2. the peer's certificate ----------------------------------------------------- */

static bool same_der(const void *der, size_t len, const gnutls_datum_t *want)
{
	return len == want->size && memcmp(der, want->data, len) == 0;
}

static void check_sans(const char *label, struct ktls_conn *conn)
{
	static const struct {
		enum ktls_san_type type;
		const char *name;
	} want[] = {
		{ KTLS_SAN_DNS, "localhost" },
		{ KTLS_SAN_IP, "127.0.0.1" },
		{ KTLS_SAN_URI, "spiffe://example.org/ns/storage/sa/nfsd" },
		{ KTLS_SAN_IP, "2001:db8::1" },
		{ KTLS_SAN_EMAIL, "ops@example.org" },
	};
	enum ktls_san_type type;
	char buf[128], small[4];
	bool all = true;
	int ret;

	for (unsigned int i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		ret = ktls_conn_get_peer_san(conn, i, &type, buf, sizeof(buf));
		if (ret != (int)strlen(want[i].name) || type != want[i].type ||
		    strcmp(buf, want[i].name) != 0) {
			tap_diag("SAN %u: %d type %d \"%s\", want type %d \"%s\"", i, ret, (int)type,
				 buf, (int)want[i].type, want[i].name);
			all = false;
		}
	}
	tap_check(all, "%s: the SANs in order: DNS, IPv4, URI, IPv6, email", label);
	ret = ktls_conn_get_peer_san(conn, 5, &type, buf, sizeof(buf));
	tap_check(ret == -ENOENT, "%s: past the last SAN: -ENOENT (%s)", label,
		  unit_errno_name(-ret));
	ret = ktls_conn_get_peer_san(conn, 2, &type, small, sizeof(small));
	tap_check(ret == -ENOSPC && small[0] == '\0', "%s: a name too long for the buffer: -ENOSPC",
		  label);
}

static void test_peer_certificate(int version)
{
	struct ktls_config *cc = trusting_client(version, false), *sc = rich_server(version, false);
	unsigned char fp[KTLS_FINGERPRINT_SIZE], want_fp[KTLS_FINGERPRINT_SIZE];
	gnutls_datum_t client_der = { NULL, 0 };
	const void *der = NULL;
	size_t len = 0;
	char label[64];
	struct pair p;
	int ret;

	must(ktls_config_add_cert_file(cc, client.cert_path, client.key_path), cc, "client cert");
	must(ktls_config_set_ca_mem(sc, ca_pem.data, ca_pem.size), sc, "server CA");
	must(ktls_config_set_client_auth(sc, KTLS_CLIENT_AUTH_REQUIRE), sc, "client auth");
	pair_run(&p, cc, sc, NULL, NULL);
	snprintf(label, sizeof(label), "%s mutual TLS", vname(version));
	if (!tap_check(p.rc == 0 && p.rs == 0, "%s: handshake", label)) {
		tap_diag("client %s, server %s", ktls_conn_error(p.c), ktls_conn_error(p.s));
		pair_free(&p);
		return;
	}
	check_offload(label, p.c);
	ret = ktls_conn_get_peer_cert(p.c, 0, &der, &len);
	tap_check(ret == 0 && same_der(der, len, &rich_der),
		  "%s: the client gets the server's certificate, DER as issued (%zu bytes)", label,
		  len);
	ret = ktls_conn_get_peer_cert(p.c, 1, &der, &len);
	tap_check(ret == -ENOENT, "%s: the chain ends there (the server sent its leaf only)", label);
	gnutls_hash_fast(GNUTLS_DIG_SHA256, rich_der.data, rich_der.size, want_fp);
	tap_check(ktls_conn_get_peer_fingerprint(p.c, fp) == 0 && memcmp(fp, want_fp, 32) == 0,
		  "%s: the fingerprint is the SHA-256 of that DER", label);
	check_sans(label, p.c);

	gnutls_x509_crt_export2(client.crt, GNUTLS_X509_FMT_DER, &client_der);
	ret = ktls_conn_get_peer_cert(p.s, 0, &der, &len);
	tap_check(ret == 0 && same_der(der, len, &client_der),
		  "%s: the server gets the client's certificate", label);
	gnutls_free(client_der.data);
	pair_free(&p);
}

static const unsigned char psk_a[32] = { 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88,
					 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x00,
					 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
					 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10 };

/* ---- 3. the verify callback -------------------------------------------------------- */

struct verify_seen {
	int calls;
	int verdict;
	char error[256];
	bool fingerprint_ok;
	bool chain_ok;
	int answer; /* what the callback returns */
	const unsigned char *pin; /* accept when the fingerprint is this */
};

static int on_verify(struct ktls_conn *conn, int verdict, void *userdata)
{
	struct verify_seen *v = userdata;
	unsigned char fp[KTLS_FINGERPRINT_SIZE];
	const void *der;
	size_t len;

	v->calls++;
	v->verdict = verdict;
	snprintf(v->error, sizeof(v->error), "%s", ktls_conn_error(conn));
	v->chain_ok = ktls_conn_get_peer_cert(conn, 0, &der, &len) == 0 && len > 100;
	v->fingerprint_ok = ktls_conn_get_peer_fingerprint(conn, fp) == 0;
	if (v->pin != NULL)
		return v->fingerprint_ok && memcmp(fp, v->pin, sizeof(fp)) == 0 ? 0 : -EACCES;
	return v->answer;
}

static void test_verify_callback(int version)
{
	struct verify_seen v;
	struct ktls_config *cc, *sc;
	unsigned char pin[KTLS_FINGERPRINT_SIZE];
	gnutls_datum_t stranger_der = { NULL, 0 };
	char label[96], buf[8];
	struct pair p;
	ssize_t n;

	/* A self-signed server no CA vouches for, pinned by its fingerprint. */
	gnutls_x509_crt_export2(stranger.crt, GNUTLS_X509_FMT_DER, &stranger_der);
	gnutls_hash_fast(GNUTLS_DIG_SHA256, stranger_der.data, stranger_der.size, pin);
	gnutls_free(stranger_der.data);
	memset(&v, 0, sizeof(v));
	v.pin = pin;
	cc = trusting_client(version, false);
	must(ktls_config_set_verify_callback(cc, on_verify, &v), cc, "verify callback");
	sc = server_config(version);
	must(ktls_config_add_cert_file(sc, stranger.cert_path, stranger.key_path), sc, "cert");
	pair_run(&p, cc, sc, NULL, NULL);
	snprintf(label, sizeof(label), "%s verify callback pins a self-signed server", vname(version));
	tap_check(p.rc == 0 && p.rs == 0 && v.calls == 1, "%s: accepted (%s)", label,
		  p.rc < 0 ? ktls_conn_error(p.c) : "ok");
	tap_check(v.verdict == -EACCES && strstr(v.error, "peer certificate rejected") != NULL &&
			  v.chain_ok && v.fingerprint_ok,
		  "%s: the callback saw libktls's verdict -EACCES and why (\"%s\"), and the chain",
		  label, v.error);
	if (p.rc == 0)
		check_offload(label, p.c);
	pair_free(&p);

	/* The same pin refuses another server, valid as it is. */
	memset(&v, 0, sizeof(v));
	v.pin = pin;
	cc = trusting_client(version, false);
	must(ktls_config_set_verify_callback(cc, on_verify, &v), cc, "verify callback");
	pair_run(&p, cc, rich_server(version, false), NULL, NULL);
	snprintf(label, sizeof(label), "%s verify callback refuses a valid certificate",
		 vname(version));
	tap_check(v.calls == 1 && v.verdict == 0, "%s: the verdict was 0", label);
	tap_check_err(label, p.rc, EACCES, ktls_conn_error(p.c), "verify callback rejected", NULL);
	/* The server hears why: before its Finished in TLS 1.2, at its first read in 1.3. */
	n = p.rs == 0 ? unit_recv_all(p.s, buf, sizeof(buf), TIMEOUT_MS) : p.rs;
	tap_check_err("... and the server gets bad_certificate", n, ECONNABORTED,
		      ktls_conn_error(p.s), "bad_certificate (42)", NULL);
	pair_free(&p);

	/* A server's callback on client certificates. */
	memset(&v, 0, sizeof(v));
	v.answer = -EPERM;
	cc = trusting_client(version, false);
	must(ktls_config_add_cert_file(cc, client.cert_path, client.key_path), cc, "client cert");
	sc = rich_server(version, false);
	must(ktls_config_set_ca_file(sc, ca.cert_path), sc, "server CA");
	must(ktls_config_set_client_auth(sc, KTLS_CLIENT_AUTH_REQUIRE), sc, "client auth");
	must(ktls_config_set_verify_callback(sc, on_verify, &v), sc, "verify callback");
	pair_run(&p, cc, sc, NULL, NULL);
	snprintf(label, sizeof(label), "%s server callback refuses a client certificate",
		 vname(version));
	tap_check(v.calls == 1 && v.verdict == 0 && v.chain_ok,
		  "%s: called with verdict 0 and the client's chain", label);
	tap_check_err(label, p.rs, EACCES, ktls_conn_error(p.s), "verify callback rejected", NULL);
	n = p.rc == 0 ? unit_recv_all(p.c, buf, sizeof(buf), TIMEOUT_MS) : p.rc;
	tap_check_err("... and the client gets bad_certificate", n, ECONNABORTED,
		      ktls_conn_error(p.c), "bad_certificate (42)", NULL);
	pair_free(&p);

	/* Without a callback, an unknown CA is refused with unknown_ca. */
	cc = client_config(version);
	must(ktls_config_set_ca_file(cc, other_ca.cert_path), cc, "other CA");
	pair_run(&p, cc, rich_server(version, false), NULL, NULL);
	snprintf(label, sizeof(label), "%s server from a CA the client does not trust",
		 vname(version));
	tap_check_err(label, p.rc, EACCES, ktls_conn_error(p.c), "peer certificate rejected", NULL);
	n = p.rs == 0 ? unit_recv_all(p.s, buf, sizeof(buf), TIMEOUT_MS) : p.rs;
	tap_check_err("... and the server gets unknown_ca", n, ECONNABORTED, ktls_conn_error(p.s),
		      "unknown_ca (48)", NULL);
	pair_free(&p);
}

/* ---- 4. PSK lookup and per-connection PSKs ----------------------------------------- */

#define HOSTS 100

struct lookup_seen {
	int calls;
	char last[64];
	int bad_length; /* > 0: answer with this length */
};

/* "nqn.2014-08.org.example:host-N" gets key N (32 bytes, each N). */
static int on_lookup(struct ktls_conn *conn, const void *identity, size_t identity_len,
		     unsigned char *ret_key, void *userdata)
{
	static const char prefix[] = "nqn.2014-08.org.example:host-";
	struct lookup_seen *l = userdata;
	char id[64];
	int host;

	(void)conn;
	l->calls++;
	snprintf(l->last, sizeof(l->last), "%.*s", (int)identity_len, (const char *)identity);
	if (identity_len >= sizeof(id) || identity_len <= strlen(prefix) ||
	    memcmp(identity, prefix, strlen(prefix)) != 0)
		return -ENOENT;
	memcpy(id, identity, identity_len);
	id[identity_len] = '\0';
	host = atoi(id + strlen(prefix));
	if (host < 0 || host >= HOSTS)
		return -ENOENT;
	memset(ret_key, host, 32);
	return l->bad_length > 0 ? l->bad_length : 32;
}

static void test_psk(int version)
{
	struct lookup_seen l;
	struct ktls_config *cc, *sc;
	struct ktls_info ci, si;
	unsigned char key[32];
	const void *der;
	size_t len;
	char label[96], id[64];
	struct pair p;

	memset(&l, 0, sizeof(l));
	memset(key, 57, sizeof(key));
	snprintf(id, sizeof(id), "nqn.2014-08.org.example:host-%d", 57);
	cc = client_config(version);
	sc = server_config(version);
	must(ktls_config_set_psk_lookup(sc, on_lookup, &l), sc, "psk lookup");
	pair_run(&p, cc, sc, id, key);
	snprintf(label, sizeof(label), "%s PSK: the server looks host 57 up", vname(version));
	tap_check(p.rc == 0 && p.rs == 0 && l.calls >= 1 && strcmp(l.last, id) == 0,
		  "%s, the client's own PSK (%s / %s)", label,
		  p.rc < 0 ? ktls_conn_error(p.c) : "ok", p.rs < 0 ? ktls_conn_error(p.s) : "ok");
	if (p.rc == 0 && p.rs == 0 && ktls_conn_get_info(p.c, &ci) == 0 &&
	    ktls_conn_get_info(p.s, &si) == 0) {
		tap_check(ci.peer_auth == KTLS_PEER_PSK && si.peer_auth == KTLS_PEER_PSK &&
				  strcmp(ci.peer_identity, id) == 0 && strcmp(si.peer_identity, id) == 0,
			  "%s: both name the identity", label);
		check_offload(label, p.c);
		tap_check(ktls_conn_get_peer_cert(p.c, 0, &der, &len) == -ENOENT,
			  "%s: no peer certificate (-ENOENT)", label);
	}
	pair_free(&p);

	/* The right identity with the wrong key: the handshake fails. */
	memset(key, 58, sizeof(key));
	cc = client_config(version);
	sc = server_config(version);
	must(ktls_config_set_psk_lookup(sc, on_lookup, &l), sc, "psk lookup");
	pair_run(&p, cc, sc, id, key);
	tap_check(p.rc < 0 && p.rs < 0, "%s PSK: host 57's identity with another key fails (%s)",
		  vname(version), ktls_conn_error(p.s));
	pair_free(&p);

	/* An identity the lookup does not know. */
	cc = client_config(version);
	sc = server_config(version);
	must(ktls_config_set_psk_lookup(sc, on_lookup, &l), sc, "psk lookup");
	pair_run(&p, cc, sc, "nqn.2014-08.org.example:host-500", key);
	snprintf(label, sizeof(label), "%s PSK: an identity the lookup does not know",
		 vname(version));
	tap_check_err(label, p.rs, EACCES, ktls_conn_error(p.s), "unknown PSK identity",
		      "host-500", NULL);
	tap_check_err("... and the client gets unknown_psk_identity", p.rc, ECONNABORTED,
		      ktls_conn_error(p.c), "unknown_psk_identity (115)", NULL);
	pair_free(&p);

	/* A lookup that answers with a key of a bad size refuses the handshake. */
	l.bad_length = 8;
	memset(key, 57, sizeof(key));
	cc = client_config(version);
	sc = server_config(version);
	must(ktls_config_set_psk_lookup(sc, on_lookup, &l), sc, "psk lookup");
	pair_run(&p, cc, sc, id, key);
	tap_check(p.rs == -EACCES, "%s PSK: a lookup answering 8 bytes is refused (%s)",
		  vname(version), ktls_conn_error(p.s));
	pair_free(&p);
	l.bad_length = 0;

	/* The connection's PSK replaces the config's. */
	cc = client_config(version);
	must(ktls_config_add_psk(cc, "config-psk", psk_a, sizeof(psk_a)), cc, "add_psk");
	sc = server_config(version);
	must(ktls_config_add_psk(sc, "config-psk", psk_a, sizeof(psk_a)), sc, "add_psk");
	must(ktls_config_set_psk_lookup(sc, on_lookup, &l), sc, "psk lookup");
	pair_run(&p, cc, sc, id, key);
	if (tap_check(p.rc == 0 && p.rs == 0 && ktls_conn_get_info(p.s, &si) == 0,
		      "%s PSK: a connection's own PSK over the config's", vname(version)))
		tap_check(strcmp(si.peer_identity, id) == 0, "... the server saw \"%s\"",
			  si.peer_identity);
	pair_free(&p);
}

static void test_psk_misuse(void)
{
	struct ktls_config *sc = server_config(KTLS_VERSION_TLS13), *cc;
	struct ktls_conn *conn;
	int cfd, sfd;

	cc = client_config(KTLS_VERSION_TLS13);
	tap_check_err("set_psk_lookup on a client config",
		      ktls_config_set_psk_lookup(cc, on_lookup, NULL), EINVAL,
		      ktls_config_error(cc), "only a server", NULL);
	ktls_config_unref(cc);
	must(ktls_config_add_cert_file(sc, server.cert_path, server.key_path), sc, "cert");
	if (unit_tcp_pair(&cfd, &sfd, true) < 0 || ktls_conn_new(sc, sfd, KTLS_CONN_OWN_FD, &conn) < 0)
		tap_bail("server conn");
	tap_check_err("ktls_conn_set_psk on a server", ktls_conn_set_psk(conn, "x", psk_a, 32),
		      EINVAL, ktls_conn_error(conn), "client", NULL);
	ktls_conn_free(conn);
	close(cfd);
	ktls_config_unref(sc);
	cc = client_config(KTLS_VERSION_TLS13);
	if (unit_tcp_pair(&cfd, &sfd, true) < 0 || ktls_conn_new(cc, cfd, KTLS_CONN_OWN_FD, &conn) < 0)
		tap_bail("client conn");
	tap_check_err("ktls_conn_set_psk with an 8-byte key", ktls_conn_set_psk(conn, "x", psk_a, 8),
		      EINVAL, ktls_conn_error(conn), "16..64", NULL);
	tap_check_err("ktls_conn_set_psk with an empty identity",
		      ktls_conn_set_psk(conn, "", psk_a, 32), EINVAL, ktls_conn_error(conn),
		      "identity", NULL);
	ktls_conn_free(conn);
	close(sfd);
	ktls_config_unref(cc);
}

/* ---- 5. exported keying material ---------------------------------------------------- */

static void test_exporter(int version)
{
	unsigned char a[32], b[32], c[32], d[32];
	struct ktls_config *cc = client_config(version), *sc = server_config(version);
	char label[64];
	struct pair p;

	must(ktls_config_add_psk(cc, "export", psk_a, sizeof(psk_a)), cc, "psk");
	must(ktls_config_add_psk(sc, "export", psk_a, sizeof(psk_a)), sc, "psk");
	pair_run(&p, cc, sc, NULL, NULL);
	snprintf(label, sizeof(label), "%s exporter", vname(version));
	if (!tap_check(p.rc == 0 && p.rs == 0, "%s: handshake", label)) {
		pair_free(&p);
		return;
	}
	check_offload(label, p.c);
	tap_check(ktls_conn_export_keying_material(p.c, "EXPERIMENTAL-libktls", "ctx", 3, a, 32) == 0 &&
			  ktls_conn_export_keying_material(p.s, "EXPERIMENTAL-libktls", "ctx", 3, b,
							   32) == 0 &&
			  memcmp(a, b, 32) == 0,
		  "%s: both ends export the same 32 bytes", label);
	tap_check(ktls_conn_export_keying_material(p.c, "EXPERIMENTAL-other", "ctx", 3, c, 32) == 0 &&
			  memcmp(a, c, 32) != 0,
		  "%s: another label, other bytes", label);
	tap_check(ktls_conn_export_keying_material(p.c, "EXPERIMENTAL-libktls", "xyz", 3, d, 32) ==
				  0 &&
			  memcmp(a, d, 32) != 0,
		  "%s: another context, other bytes", label);
	tap_check(ktls_conn_export_keying_material(p.c, NULL, NULL, 0, d, 32) == -EINVAL,
		  "%s: no label: -EINVAL", label);
	pair_free(&p);
}

int main(void)
{
	const char *dir = unit_tmpdir();

	if (unit_cert_make(&ca, dir, "ca", UNIT_CERT_CA, "Identity CA", NULL, NULL, false) < 0 ||
	    unit_cert_make(&other_ca, dir, "other-ca", UNIT_CERT_CA, "Other CA", NULL, NULL,
			   false) < 0 ||
	    unit_cert_make(&server, dir, "server", UNIT_CERT_SERVER, "localhost", "localhost", &ca,
			   false) < 0 ||
	    unit_cert_make(&client, dir, "client", UNIT_CERT_CLIENT, "host-7", NULL, &ca, false) < 0 ||
	    unit_cert_make(&stranger, dir, "stranger", UNIT_CERT_SERVER, "localhost", "localhost",
			   NULL, false) < 0)
		tap_bail("cannot make certificates");
	make_rich_cert();
	ktls_caps_get(&caps);

	test_memory_credentials();
	test_psk_misuse();
	for (int v = 0; v < 2; v++) {
		int version = v == 0 ? KTLS_VERSION_TLS13 : KTLS_VERSION_TLS12;

		test_peer_certificate(version);
		test_verify_callback(version);
		test_psk(version);
		test_exporter(version);
	}
	gnutls_free(rich_pem.data);
	gnutls_free(rich_der.data);
	gnutls_free(rich_key_pem.data);
	gnutls_free(rich_key_der.data);
	gnutls_free(ca_pem.data);
	gnutls_free(ca_der.data);
	return tap_done();
}
