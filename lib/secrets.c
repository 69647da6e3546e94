/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libktls's own key schedule for after the handshake, so that a connection
 * whose keys both went to the kernel needs its GnuTLS session (about 10 KB)
 * no longer (summary.c lets it go):
 *  - the TLS 1.3 application traffic secrets, taken from GnuTLS's key log
 *    as the handshake derives them, and checked at the switch against the
 *    record keys GnuTLS holds then.  Anything unexpected (a secret missing,
 *    a KeyUpdate GnuTLS already followed, a hash we do not know) leaves the
 *    schedule with GnuTLS, as it was before this file;
 *  - KeyUpdate (RFC 8446 section 7.2): the next traffic secret, and its
 *    key and IV (section 7.3) in the kernel's layout (keys.c);
 *  - keying material exporters: RFC 8446 section 7.5, and for TLS 1.2
 *    RFC 5705 over the RFC 5246 section 5 PRF, from the master secret and
 *    the hello randoms.
 * GnuTLS's own key log function (SSLKEYLOGFILE) is still called.  Every
 * secret here is wiped when it is replaced and when the connection goes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/crypto.h>

#include "private.h"

/* SHA-384: the largest hash of a suite whose cipher the kernel has. */
#define SECRET_MAX 48
#define RANDOM_SIZE 32
/* TLS 1.3 AEAD nonces and IVs are 12 bytes (RFC 8446 section 5.3). */
#define TLS13_IV_SIZE 12
/* RFC 8446 section 7.1: HkdfLabel's label is "tls13 " + Label, at most 255 bytes. */
#define LABEL_PREFIX "tls13 "
#define LABEL_MAX (255 - (sizeof(LABEL_PREFIX) - 1))

/* What the key log delivered (TLS 1.3). */
#define TOOK_CLIENT 1u
#define TOOK_SERVER 2u
#define TOOK_EXPORTER 4u
#define TOOK_ALL (TOOK_CLIENT | TOOK_SERVER | TOOK_EXPORTER)

struct conn_secrets {
	int version; /* KTLS_VERSION_* */
	enum ktls_cipher cipher;
	gnutls_mac_algorithm_t mac;
	gnutls_digest_algorithm_t digest;
	size_t hash_len;
	unsigned int took;
	bool ready; /* the schedule is ours: both keys are in the kernel */
	/* TLS 1.3: the client's and the server's application traffic secrets. */
	unsigned char client[SECRET_MAX], server[SECRET_MAX];
	/* TLS 1.3 exporter_master_secret, or the TLS 1.2 master secret (48 bytes). */
	unsigned char exporter[SECRET_MAX];
	size_t exporter_len;
	unsigned char randoms[2 * RANDOM_SIZE]; /* TLS 1.2: client_random || server_random */
};

/* GnuTLS's own key log function (the same for every session), called after ours. */
static gnutls_keylog_func secrets_chained;

void secrets_free(struct ktls_conn *conn)
{
	if (conn->sc == NULL)
		return;
	explicit_bzero(conn->sc, sizeof(*conn->sc));
	free(conn->sc);
	conn->sc = NULL;
}

static int secrets_keylog(gnutls_session_t session, const char *label, const gnutls_datum_t *secret)
{
	struct ktls_conn *conn = gnutls_session_get_ptr(session);
	gnutls_keylog_func chained = __atomic_load_n(&secrets_chained, __ATOMIC_RELAXED);
	unsigned int bit = 0;
	unsigned char *slot;

	if (strcmp(label, "CLIENT_TRAFFIC_SECRET_0") == 0)
		bit = TOOK_CLIENT;
	else if (strcmp(label, "SERVER_TRAFFIC_SECRET_0") == 0)
		bit = TOOK_SERVER;
	else if (strcmp(label, "EXPORTER_SECRET") == 0)
		bit = TOOK_EXPORTER;
	if (bit != 0 && conn != NULL && secret->size <= SECRET_MAX) {
		/* Out of memory only leaves the schedule with GnuTLS. */
		if (conn->sc == NULL)
			conn->sc = calloc(1, sizeof(*conn->sc));
		if (conn->sc != NULL) {
			slot = bit == TOOK_CLIENT   ? conn->sc->client
			       : bit == TOOK_SERVER ? conn->sc->server
						    : conn->sc->exporter;
			memcpy(slot, secret->data, secret->size);
			if (bit == TOOK_EXPORTER)
				conn->sc->exporter_len = secret->size;
			conn->sc->took |= bit;
		}
	}
	return chained != NULL ? chained(session, label, secret) : 0;
}

void secrets_session_init(struct ktls_conn *conn)
{
	gnutls_keylog_func own = gnutls_session_get_keylog_function(conn->session);

	if (own != secrets_keylog)
		__atomic_store_n(&secrets_chained, own, __ATOMIC_RELAXED);
	gnutls_session_set_keylog_function(conn->session, secrets_keylog);
}

/* HKDF-Expand-Label (RFC 8446 section 7.1) over the suite's hash. */
static int secrets_expand_label(const struct conn_secrets *s, const unsigned char *secret,
				const char *label, const unsigned char *context, size_t context_len,
				unsigned char *out, size_t out_len)
{
	unsigned char info[2 + 1 + 255 + 1 + 255];
	size_t label_len = strlen(label), n = 0;
	gnutls_datum_t key = { (unsigned char *)secret, (unsigned int)s->hash_len };
	gnutls_datum_t in;

	if (label_len > LABEL_MAX || context_len > 255 || out_len > UINT16_MAX)
		return -EINVAL;
	info[n++] = (unsigned char)(out_len >> 8);
	info[n++] = (unsigned char)out_len;
	info[n++] = (unsigned char)(sizeof(LABEL_PREFIX) - 1 + label_len);
	memcpy(info + n, LABEL_PREFIX, sizeof(LABEL_PREFIX) - 1);
	n += sizeof(LABEL_PREFIX) - 1;
	memcpy(info + n, label, label_len);
	n += label_len;
	info[n++] = (unsigned char)context_len;
	if (context_len > 0)
		memcpy(info + n, context, context_len);
	n += context_len;
	in.data = info;
	in.size = (unsigned int)n;
	return gnutls_hkdf_expand(s->mac, &key, &in, out, out_len) < 0 ? -EPROTO : 0;
}

/* A traffic secret's key and IV (RFC 8446 section 7.3), laid out for the kernel. */
static int secrets_traffic_keys(const struct conn_secrets *s, const unsigned char *secret,
				union keys_crypto_info *ret_info, socklen_t *ret_len)
{
	const struct cipher_desc *c = cipher_get(s->cipher);
	unsigned char key[32], iv[TLS13_IV_SIZE];
	static const unsigned char seq[8]; /* a new key starts at record 0 */
	int ret;

	if (c == NULL || c->key_size > sizeof(key) || c->salt_size + c->iv_size != sizeof(iv))
		return -EOPNOTSUPP;
	ret = secrets_expand_label(s, secret, "key", NULL, 0, key, c->key_size);
	if (ret == 0)
		ret = secrets_expand_label(s, secret, "iv", NULL, 0, iv, sizeof(iv));
	if (ret == 0)
		*ret_len = keys_from_material(KTLS_VERSION_TLS13, s->cipher, key, iv, seq, ret_info);
	explicit_bzero(key, sizeof(key));
	explicit_bzero(iv, sizeof(iv));
	return ret;
}

/* Whether @secret's keys are the ones GnuTLS's record layer holds for @read. */
static bool secrets_match(gnutls_session_t session, const struct conn_secrets *s,
			  const unsigned char *secret, bool read)
{
	union keys_crypto_info ours, gnutls;
	socklen_t our_len = 0, gnutls_len = 0;
	char reason[8];
	bool same;

	if (secrets_traffic_keys(s, secret, &ours, &our_len) < 0 ||
	    keys_from_session(session, read ? KTLS_DIR_RX : KTLS_DIR_TX, &gnutls, &gnutls_len,
			      reason, sizeof(reason)) < 0) {
		keys_wipe(&ours);
		keys_wipe(&gnutls);
		return false;
	}
	/* Key, salt and IV; the sequence number moved on with the handshake's records. */
	memset((unsigned char *)&ours + cipher_get(s->cipher)->rec_seq_off, 0, 8);
	memset((unsigned char *)&gnutls + cipher_get(s->cipher)->rec_seq_off, 0, 8);
	same = our_len == gnutls_len && memcmp(&ours, &gnutls, our_len) == 0;
	keys_wipe(&ours);
	keys_wipe(&gnutls);
	return same;
}

static bool secrets_hash(struct conn_secrets *s, gnutls_session_t session)
{
	switch (gnutls_prf_hash_get(session)) {
	case GNUTLS_DIG_SHA256:
		s->mac = GNUTLS_MAC_SHA256;
		s->digest = GNUTLS_DIG_SHA256;
		s->hash_len = 32;
		return true;
	case GNUTLS_DIG_SHA384:
		s->mac = GNUTLS_MAC_SHA384;
		s->digest = GNUTLS_DIG_SHA384;
		s->hash_len = 48;
		return true;
	default:
		return false;
	}
}

static bool secrets_prepare_tls12(struct conn_secrets *s, gnutls_session_t session)
{
	gnutls_datum_t master = { NULL, 0 }, client = { NULL, 0 }, server = { NULL, 0 };

	gnutls_session_get_master_secret(session, &master);
	gnutls_session_get_random(session, &client, &server);
	if (master.size == 0 || master.size > sizeof(s->exporter) || client.size != RANDOM_SIZE ||
	    server.size != RANDOM_SIZE)
		return false;
	memcpy(s->exporter, master.data, master.size);
	s->exporter_len = master.size;
	memcpy(s->randoms, client.data, RANDOM_SIZE);
	memcpy(s->randoms + RANDOM_SIZE, server.data, RANDOM_SIZE);
	return true;
}

bool secrets_prepare(struct ktls_conn *conn, int version, enum ktls_cipher cipher)
{
	struct conn_secrets *s;
	bool client = conn->config->role == KTLS_ROLE_CLIENT;
	bool ok;

	if (version == KTLS_VERSION_TLS12 && conn->sc == NULL)
		conn->sc = calloc(1, sizeof(*conn->sc));
	s = conn->sc;
	if (s == NULL)
		return false;
	s->version = version;
	s->cipher = cipher;
	ok = cipher_get(cipher) != NULL && secrets_hash(s, conn->session);
	if (ok && version == KTLS_VERSION_TLS12)
		ok = secrets_prepare_tls12(s, conn->session);
	else if (ok)
		ok = version == KTLS_VERSION_TLS13 && s->took == TOOK_ALL &&
		     s->exporter_len == s->hash_len &&
		     secrets_match(conn->session, s, client ? s->client : s->server, false) &&
		     secrets_match(conn->session, s, client ? s->server : s->client, true);
	if (!ok) {
		error_log(conn->config, KTLS_LOG_DEBUG,
			  "key schedule stays with GnuTLS (its secrets were not all at hand)");
		secrets_free(conn);
	}
	return ok;
}

void secrets_start(struct ktls_conn *conn)
{
	if (conn->sc != NULL)
		conn->sc->ready = true;
}

bool secrets_ready(const struct ktls_conn *conn)
{
	return conn->sc != NULL && conn->sc->ready;
}

int secrets_next_key(struct ktls_conn *conn, enum ktls_dir dir, union keys_crypto_info *ret_info,
		     socklen_t *ret_len, char *reason, size_t reason_size)
{
	struct conn_secrets *s = conn->sc;
	bool client_side = (dir == KTLS_DIR_TX) == (conn->config->role == KTLS_ROLE_CLIENT);
	unsigned char *current = client_side ? s->client : s->server;
	unsigned char next[SECRET_MAX];
	int ret;

	keys_wipe(ret_info);
	if (s->version != KTLS_VERSION_TLS13) {
		snprintf(reason, reason_size, "TLS 1.2 has no KeyUpdate");
		return -EOPNOTSUPP;
	}
	/* RFC 8446 section 7.2: application_traffic_secret_N+1. */
	ret = secrets_expand_label(s, current, "traffic upd", NULL, 0, next, s->hash_len);
	if (ret == 0)
		ret = secrets_traffic_keys(s, next, ret_info, ret_len);
	if (ret == 0)
		memcpy(current, next, s->hash_len);
	else
		snprintf(reason, reason_size, "deriving the next %s traffic key failed",
			 dir == KTLS_DIR_TX ? "TX" : "RX");
	explicit_bzero(next, sizeof(next));
	return ret;
}

/* RFC 8446 section 7.5. */
static int secrets_export13(const struct conn_secrets *s, const char *label,
			    const void *context, size_t context_len, void *out, size_t out_len)
{
	unsigned char empty_hash[SECRET_MAX], context_hash[SECRET_MAX], derived[SECRET_MAX];
	int ret;

	if (gnutls_hash_fast(s->digest, "", 0, empty_hash) < 0 ||
	    gnutls_hash_fast(s->digest, context != NULL ? context : "", context_len,
			     context_hash) < 0)
		return -EPROTO;
	ret = secrets_expand_label(s, s->exporter, label, empty_hash, s->hash_len, derived,
				   s->hash_len);
	if (ret == 0)
		ret = secrets_expand_label(s, derived, "exporter", context_hash, s->hash_len, out,
					   out_len);
	explicit_bzero(derived, sizeof(derived));
	return ret;
}

/* label || client_random || server_random [|| uint16 length || context] into the HMAC. */
static int secrets_seed12(gnutls_hmac_hd_t h, const struct conn_secrets *s, const char *label,
			  const void *context, size_t context_len)
{
	unsigned char length[2] = { (unsigned char)(context_len >> 8), (unsigned char)context_len };

	if (gnutls_hmac(h, label, strlen(label)) < 0 ||
	    gnutls_hmac(h, s->randoms, sizeof(s->randoms)) < 0)
		return -EPROTO;
	if (context != NULL &&
	    (gnutls_hmac(h, length, sizeof(length)) < 0 ||
	     (context_len > 0 && gnutls_hmac(h, context, context_len) < 0)))
		return -EPROTO;
	return 0;
}

/*
 * RFC 5705 over the TLS 1.2 PRF (RFC 5246 section 5): P_hash(master,
 * label + seed), where A(0) is label + seed and A(i) = HMAC(A(i-1)).  A NULL
 * context is "no context" (no length either), as in GnuTLS.
 */
static int secrets_export12(const struct conn_secrets *s, const char *label,
			    const void *context, size_t context_len, unsigned char *out,
			    size_t out_len)
{
	unsigned char a[SECRET_MAX], block[SECRET_MAX];
	gnutls_hmac_hd_t h;
	size_t done = 0;
	int ret;

	if (context_len > UINT16_MAX)
		return -EINVAL;
	if (gnutls_hmac_init(&h, s->mac, s->exporter, s->exporter_len) < 0)
		return -EPROTO;
	ret = secrets_seed12(h, s, label, context, context_len);
	if (ret == 0)
		gnutls_hmac_output(h, a); /* A(1); output resets the HMAC, keeping its key */
	while (ret == 0 && done < out_len) {
		size_t n = out_len - done < s->hash_len ? out_len - done : s->hash_len;

		if (gnutls_hmac(h, a, s->hash_len) < 0 ||
		    secrets_seed12(h, s, label, context, context_len) < 0) {
			ret = -EPROTO;
			break;
		}
		gnutls_hmac_output(h, block);
		memcpy(out + done, block, n);
		done += n;
		if (done < out_len) {
			if (gnutls_hmac(h, a, s->hash_len) < 0)
				ret = -EPROTO;
			else
				gnutls_hmac_output(h, a);
		}
	}
	gnutls_hmac_deinit(h, NULL);
	explicit_bzero(a, sizeof(a));
	explicit_bzero(block, sizeof(block));
	return ret;
}

int secrets_export(const struct ktls_conn *conn, const char *label, const void *context,
		   size_t context_len, void *out, size_t out_len)
{
	const struct conn_secrets *s = conn->sc;
	int ret;

	ret = s->version == KTLS_VERSION_TLS13
		      ? secrets_export13(s, label, context, context_len, out, out_len)
		      : secrets_export12(s, label, context, context_len, out, out_len);
	if (ret < 0)
		explicit_bzero(out, out_len);
	return ret;
}
