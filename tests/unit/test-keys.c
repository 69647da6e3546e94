/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * White-box: the key structs handed to the kernel, on a host without kTLS.
 *
 * kernel_setsockopt is replaced by a fake kernel that accepts TCP_ULP and
 * every SOL_TLS option and records each TLS_TX / TLS_RX struct.  A client
 * and a server then handshake over loopback TCP for each (version, cipher)
 * the kernel can carry, and the test checks the recorded structs:
 *  - the ULP came first, then TX, then RX, once each;
 *  - version and cipher_type are the uapi values;
 *  - key, salt, iv and rec_seq follow the rules at the top of lib/keys.c,
 *    compared against gnutls_record_get_state() taken when TCP_ULP was set
 *    (before any key moved);
 *  - what one side transmits with is what the other receives with;
 *  - and, independently of lib/keys.c, the structs really work: records
 *    GnuTLS encrypts next are decrypted here with nothing but the receiver's
 *    struct and the kernel's nonce and AAD rules (RFC 8446 section 5.2-5.3,
 *    RFC 5246 section 6.2.3.3 with RFC 5288 / RFC 6655 / RFC 7905);
 *  - with both keys in the kernel, libktls runs the key schedule itself
 *    (lib/secrets.c): its KeyUpdate keys open what GnuTLS encrypts after its
 *    own update, and its exporters give what GnuTLS's give;
 *  - where nothing after the switch needs it, the GnuTLS session goes and
 *    the connection still reports what was negotiated (lib/summary.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <gnutls/crypto.h>

#include "private.h"
#include "unit.h"

#define HANDSHAKE_TIMEOUT_MS 10000

/* ---- the fake kernel -------------------------------------------------------- */

struct gnutls_state {
	bool ok;
	unsigned char key[32], iv[12], seq[8];
	unsigned int key_size, iv_size;
};

struct fake_socket {
	int fd;
	struct ktls_conn *conn;
	char events[8]; /* 'U' TCP_ULP, 'T' TLS_TX, 'R' TLS_RX, in order */
	size_t n_events;
	bool ulp;
	_Alignas(8) unsigned char tx[64];
	_Alignas(8) unsigned char rx[64];
	socklen_t tx_len, rx_len;
	/* GnuTLS's record state at the moment TCP_ULP was set: [0] write, [1] read */
	struct gnutls_state before[2];
};

static struct fake_socket fake[2]; /* client, server */
static unsigned int fake_other_calls;

static void snapshot(struct ktls_conn *conn, int read, struct gnutls_state *st)
{
	gnutls_datum_t mac, iv, key;
	unsigned char seq[8];

	memset(st, 0, sizeof(*st));
	if (gnutls_record_get_state(conn->session, (unsigned int)read, &mac, &iv, &key, seq) < 0 ||
	    key.size > sizeof(st->key) || iv.size > sizeof(st->iv))
		return;
	memcpy(st->key, key.data, key.size);
	memcpy(st->iv, iv.data, iv.size);
	memcpy(st->seq, seq, sizeof(seq));
	st->key_size = key.size;
	st->iv_size = iv.size;
	st->ok = true;
}

static int fake_setsockopt(int fd, int level, int name, const void *value, socklen_t len)
{
	struct fake_socket *s = NULL;

	for (int i = 0; i < 2; i++)
		if (fake[i].conn != NULL && fake[i].fd == fd)
			s = &fake[i];

	if (level == SOL_TCP && name == TCP_ULP) {
		/* The kernel takes the name with or without its NUL. */
		if (len < 3 || len > 4 || memcmp(value, "tls", 3) != 0) {
			errno = ENOENT;
			return -1;
		}
		if (s == NULL) {
			fake_other_calls++; /* the capability probe's own sockets */
			return 0;
		}
		if (s->ulp) {
			errno = EEXIST;
			return -1;
		}
		s->ulp = true;
		if (s->n_events < sizeof(s->events) - 1)
			s->events[s->n_events++] = 'U';
		snapshot(s->conn, 0, &s->before[0]);
		snapshot(s->conn, 1, &s->before[1]);
		return 0;
	}
	if (level != SOL_TLS) {
		errno = ENOPROTOOPT;
		return -1;
	}
	if (s == NULL) {
		fake_other_calls++;
		return 0;
	}
	if (!s->ulp) {
		/* As Linux: SOL_TLS options need the ULP first. */
		errno = ENOPROTOOPT;
		return -1;
	}
	if (name == TLS_TX || name == TLS_RX) {
		unsigned char *dst = name == TLS_TX ? s->tx : s->rx;
		socklen_t *dst_len = name == TLS_TX ? &s->tx_len : &s->rx_len;

		if (len > sizeof(s->tx)) {
			errno = EINVAL;
			return -1;
		}
		memcpy(dst, value, len);
		*dst_len = len;
		if (s->n_events < sizeof(s->events) - 1)
			s->events[s->n_events++] = name == TLS_TX ? 'T' : 'R';
	}
	return 0;
}

/* ---- the uapi structs, read without lib/keys.c's layout table ---------------- */

struct view {
	unsigned int version, cipher_type;
	const unsigned char *key, *salt, *iv, *rec_seq;
	size_t size, key_len, salt_len, iv_len;
};

#define VIEW(v, buf, type)                                                                         \
	do {                                                                                       \
		const struct type *p_ = (const void *)(buf);                                       \
		(v)->size = sizeof(struct type);                                                   \
		(v)->key = p_->key;                                                                \
		(v)->key_len = sizeof(p_->key);                                                    \
		(v)->salt = p_->salt;                                                              \
		(v)->salt_len = sizeof(p_->salt);                                                  \
		(v)->iv = p_->iv;                                                                  \
		(v)->iv_len = sizeof(p_->iv);                                                      \
		(v)->rec_seq = p_->rec_seq;                                                        \
	} while (0)

static void view_of(const unsigned char *buf, enum ktls_cipher cipher, struct view *v)
{
	const struct tls_crypto_info *info = (const void *)buf;

	memset(v, 0, sizeof(*v));
	v->version = info->version;
	v->cipher_type = info->cipher_type;
	switch (cipher) {
	case KTLS_CIPHER_AES_128_GCM:
		VIEW(v, buf, tls12_crypto_info_aes_gcm_128);
		break;
	case KTLS_CIPHER_AES_256_GCM:
		VIEW(v, buf, tls12_crypto_info_aes_gcm_256);
		break;
	case KTLS_CIPHER_AES_128_CCM:
		VIEW(v, buf, tls12_crypto_info_aes_ccm_128);
		break;
	case KTLS_CIPHER_CHACHA20_POLY1305:
		VIEW(v, buf, tls12_crypto_info_chacha20_poly1305);
		break;
	default:
		break;
	}
}

static const char *hex(const unsigned char *p, size_t n)
{
	static char buf[4][132];
	static int which;
	char *out = buf[which++ & 3];

	for (size_t i = 0; i < n && i < 64; i++)
		snprintf(out + 2 * i, 3, "%02x", p[i]);
	if (n == 0)
		out[0] = '\0';
	return out;
}

static bool check_bytes(const char *label, const char *field, const unsigned char *got,
			const unsigned char *want, size_t n)
{
	bool ok = memcmp(got, want, n) == 0;

	tap_check(ok, "%s: %s matches GnuTLS", label, field);
	if (!ok)
		tap_diag("  got %s, want %s", hex(got, n), hex(want, n));
	return ok;
}

/* ---- the cases ---------------------------------------------------------------- */

struct kcase {
	int version;
	enum ktls_cipher cipher;
	const char *priority_name;
	unsigned int uapi_cipher; /* the number, as a user reads it in linux/tls.h */
	size_t struct_size;
	gnutls_cipher_algorithm_t gnutls_cipher;
};

static const struct kcase cases[] = {
	{ 0x0303, KTLS_CIPHER_AES_128_GCM, "AES-128-GCM", 51, 40, GNUTLS_CIPHER_AES_128_GCM },
	{ 0x0303, KTLS_CIPHER_AES_256_GCM, "AES-256-GCM", 52, 56, GNUTLS_CIPHER_AES_256_GCM },
	{ 0x0303, KTLS_CIPHER_AES_128_CCM, "AES-128-CCM", 53, 40, GNUTLS_CIPHER_AES_128_CCM },
	{ 0x0303, KTLS_CIPHER_CHACHA20_POLY1305, "CHACHA20-POLY1305", 54, 56,
	  GNUTLS_CIPHER_CHACHA20_POLY1305 },
	{ 0x0304, KTLS_CIPHER_AES_128_GCM, "AES-128-GCM", 51, 40, GNUTLS_CIPHER_AES_128_GCM },
	{ 0x0304, KTLS_CIPHER_AES_256_GCM, "AES-256-GCM", 52, 56, GNUTLS_CIPHER_AES_256_GCM },
	{ 0x0304, KTLS_CIPHER_AES_128_CCM, "AES-128-CCM", 53, 40, GNUTLS_CIPHER_AES_128_CCM },
	{ 0x0304, KTLS_CIPHER_CHACHA20_POLY1305, "CHACHA20-POLY1305", 54, 56,
	  GNUTLS_CIPHER_CHACHA20_POLY1305 },
};

/*
 * One recorded struct against GnuTLS's state for that direction, following
 * the rules at the top of lib/keys.c (Documentation/networking/tls.rst).
 */
static void check_struct(const char *label, const struct kcase *kc, const unsigned char *buf,
			 socklen_t len, const struct gnutls_state *st)
{
	struct view v;
	bool tls13 = kc->version == 0x0304;
	bool whole_iv = tls13 || kc->cipher == KTLS_CIPHER_CHACHA20_POLY1305;

	view_of(buf, kc->cipher, &v);
	tap_check(len == kc->struct_size && v.size == kc->struct_size,
		  "%s: optlen %u is sizeof the uapi struct (%zu)", label, (unsigned int)len,
		  kc->struct_size);
	tap_check(v.version == (unsigned int)kc->version, "%s: version 0x%04x", label, v.version);
	tap_check(v.cipher_type == kc->uapi_cipher, "%s: cipher_type %u (want %u)", label,
		  v.cipher_type, kc->uapi_cipher);
	if (!tap_check(st->ok, "%s: gnutls_record_get_state() before the switch", label))
		return;
	if (!tap_check(st->key_size == v.key_len, "%s: key size %u (want %zu)", label, st->key_size,
		       v.key_len))
		return;
	check_bytes(label, "key", v.key, st->key, v.key_len);

	if (whole_iv) {
		/* RFC 8446 section 5.3 / RFC 7905: one 12-byte IV, split salt || iv. */
		if (!tap_check(st->iv_size == v.salt_len + v.iv_len, "%s: GnuTLS IV is %u bytes",
			       label, st->iv_size))
			return;
		check_bytes(label, "salt (IV head)", v.salt, st->iv, v.salt_len);
		check_bytes(label, "iv (IV tail)", v.iv, st->iv + v.salt_len, v.iv_len);
	} else {
		/*
		 * RFC 5288 section 3: only the 4-byte salt is secret; "iv" is the
		 * first explicit nonce, which the kernel advances per record and
		 * GnuTLS takes from the sequence number.
		 */
		if (!tap_check(st->iv_size == v.salt_len, "%s: GnuTLS IV is the %zu-byte salt",
			       label, v.salt_len))
			return;
		check_bytes(label, "salt", v.salt, st->iv, v.salt_len);
		check_bytes(label, "iv (explicit nonce = sequence number)", v.iv, st->seq, 8);
	}
	check_bytes(label, "rec_seq", v.rec_seq, st->seq, 8);
}

/* ---- records GnuTLS would send, decrypted with the peer's RX struct ---------- */

static unsigned char wire[4096];
static size_t wire_len;

static ssize_t capture_push(gnutls_transport_ptr_t ptr, const giovec_t *iov, int iovcnt)
{
	size_t total = 0;

	(void)ptr;
	for (int i = 0; i < iovcnt; i++) {
		if (wire_len + iov[i].iov_len > sizeof(wire)) {
			errno = ENOBUFS;
			return -1;
		}
		memcpy(wire + wire_len, iov[i].iov_base, iov[i].iov_len);
		wire_len += iov[i].iov_len;
		total += iov[i].iov_len;
	}
	return (ssize_t)total;
}

static void be64_add(unsigned char seq[8], unsigned int add)
{
	for (int i = 7; i >= 0 && add > 0; i--) {
		unsigned int sum = seq[i] + (add & 0xff);

		seq[i] = (unsigned char)sum;
		add = (add >> 8) + (sum >> 8);
	}
}

/*
 * Decrypt one record at @rec as the kernel would with @v (the receiver's
 * struct) and sequence number @seq.  Returns the plaintext length or -1.
 */
static ssize_t kernel_open(const struct kcase *kc, const struct view *v, const unsigned char seq[8],
			   const unsigned char *rec, size_t rec_len, unsigned char *out,
			   size_t out_size, unsigned char *ret_type)
{
	gnutls_aead_cipher_hd_t h;
	gnutls_datum_t key = { (unsigned char *)v->key, (unsigned int)v->key_len };
	unsigned char nonce[12], aad[13];
	size_t aad_len, nonce_len = 12, body_off = 5, len;
	bool tls13 = kc->version == 0x0304;
	bool explicit_nonce = !tls13 && kc->cipher != KTLS_CIPHER_CHACHA20_POLY1305;
	size_t payload;

	if (rec_len < 5 + 16)
		return -1;
	payload = (size_t)rec[3] << 8 | rec[4];
	if (payload + 5 != rec_len)
		return -1;
	if (explicit_nonce) {
		/* salt || the record's 8-byte explicit nonce */
		memcpy(nonce, v->salt, 4);
		memcpy(nonce + 4, rec + 5, 8);
		body_off += 8;
	} else {
		/* the 12-byte IV XOR the sequence number, left-padded */
		memcpy(nonce, v->salt, v->salt_len);
		memcpy(nonce + v->salt_len, v->iv, v->iv_len);
		for (int i = 0; i < 8; i++)
			nonce[4 + i] ^= seq[i];
	}
	if (tls13) {
		memcpy(aad, rec, 5);
		aad_len = 5;
	} else {
		size_t plain = rec_len - body_off - 16;

		memcpy(aad, seq, 8);
		aad[8] = rec[0];
		aad[9] = rec[1];
		aad[10] = rec[2];
		aad[11] = (unsigned char)(plain >> 8);
		aad[12] = (unsigned char)plain;
		aad_len = 13;
	}
	if (gnutls_aead_cipher_init(&h, kc->gnutls_cipher, &key) < 0)
		return -1;
	len = out_size;
	if (gnutls_aead_cipher_decrypt(h, nonce, nonce_len, aad, aad_len, 16, rec + body_off,
				       rec_len - body_off, out, &len) < 0) {
		gnutls_aead_cipher_deinit(h);
		return -1;
	}
	gnutls_aead_cipher_deinit(h);
	*ret_type = rec[0];
	if (tls13) {
		/* TLSInnerPlaintext: content || type || zeros (RFC 8446 section 5.2) */
		while (len > 0 && out[len - 1] == 0)
			len--;
		if (len == 0)
			return -1;
		*ret_type = out[--len];
	}
	return (ssize_t)len;
}

/* The sender's next two records, opened with the receiver's recorded RX struct. */
static void check_records(const char *label, const struct kcase *kc, struct fake_socket *sender,
			  const struct fake_socket *receiver)
{
	static const char *const msgs[2] = { "first record after the switch",
					     "second record, next sequence number" };
	struct view rx, tx;
	unsigned char seq[8], plain[256];
	size_t off = 0;

	view_of(receiver->rx, kc->cipher, &rx);
	view_of(sender->tx, kc->cipher, &tx);
	memcpy(seq, rx.rec_seq, 8);

	/* GnuTLS's write state is exactly what was handed over; let it write once more. */
	gnutls_transport_set_vec_push_function(sender->conn->session, capture_push);
	wire_len = 0;
	for (int i = 0; i < 2; i++) {
		ssize_t n = gnutls_record_send(sender->conn->session, msgs[i], strlen(msgs[i]));

		if (!tap_check(n == (ssize_t)strlen(msgs[i]), "%s: GnuTLS encrypts record %d",
			       label, i + 1)) {
			tap_diag("  gnutls_record_send: %s", gnutls_strerror((int)n));
			return;
		}
	}
	for (int i = 0; i < 2; i++) {
		unsigned char type = 0;
		size_t rec_len =
			off + 5 <= wire_len ? 5 + ((size_t)wire[off + 3] << 8 | wire[off + 4]) : 0;
		ssize_t n = -1;

		if (rec_len > 0 && off + rec_len <= wire_len)
			n = kernel_open(kc, &rx, seq, wire + off, rec_len, plain, sizeof(plain),
					&type);
		tap_check(n == (ssize_t)strlen(msgs[i]) && memcmp(plain, msgs[i], (size_t)n) == 0 &&
				  type == RECORD_APPLICATION_DATA,
			  "%s: record %d decrypts with the receiver's struct, rec_seq+%d", label,
			  i + 1, i);
		if (i == 0 && kc->version == 0x0303 &&
		    kc->cipher != KTLS_CIPHER_CHACHA20_POLY1305 && rec_len > 13) {
			/* The kernel would have written tx.iv here (tls_advance_record_sn). */
			bool same = memcmp(wire + off + 5, tx.iv, 8) == 0;

			tap_check(same, "%s: explicit nonce of record 1 is the sender's TX iv",
				  label);
			if (!same)
				tap_diag("  record %s, tx.iv %s", hex(wire + off + 5, 8),
					 hex(tx.iv, 8));
		}
		off += rec_len;
		be64_add(seq, 1);
	}
}

/* Read the raw bytes of a control record sent "through the kernel" (the fake does not encrypt). */
static bool read_control(int fd, unsigned char *buf, size_t len)
{
	size_t got = 0;

	for (int tries = 0; got < len && tries < 1000; tries++) {
		ssize_t n = recv(fd, buf + got, len - got, 0);

		if (n > 0)
			got += (size_t)n;
		else
			usleep(1000);
	}
	return got == len;
}

/*
 * TLS 1.3 KeyUpdate on a kernel that can rekey (the fake one can): the
 * client asks for a rekey with update_requested; the server, given the
 * message the kernel would hand back, installs its next RX key and answers
 * with its own KeyUpdate; the client follows that.  Each new struct must
 * equal the peer's counterpart, start at sequence 0, differ from the old
 * key, and decrypt what GnuTLS now encrypts.
 */
static void run_rekey(const char *label, const struct kcase *kc, int sv[2])
{
	static const unsigned char ku_requested[5] = { 24, 0, 0, 1, 1 };
	static const unsigned char ku_answer[5] = { 24, 0, 0, 1, 0 };
	unsigned char old_tx[64], msg[5];
	struct ktls_info ci, si;
	char what[96];
	int ret;

	memcpy(old_tx, fake[0].tx, sizeof(old_tx));
	ret = ktls_conn_rekey(fake[0].conn, true);
	if (!tap_check(ret == 0, "%s: ktls_conn_rekey(update_requested) on a rekey kernel", label)) {
		tap_diag("  %s", ktls_conn_error(fake[0].conn));
		return;
	}
	tap_check(read_control(sv[1], msg, sizeof(msg)) &&
			  memcmp(msg, ku_requested, sizeof(msg)) == 0,
		  "%s: the client's KeyUpdate(update_requested) went to the kernel as a handshake record",
		  label);
	ret = proto_rx_record(fake[1].conn, RECORD_HANDSHAKE, msg, sizeof(msg)) == PROTO_NEXT &&
	      ktls_conn_flush(fake[1].conn) == 0;
	tap_check(ret, "%s: the server follows it (%s)", label, ktls_conn_error(fake[1].conn));
	tap_check(read_control(sv[0], msg, sizeof(msg)) && memcmp(msg, ku_answer, sizeof(msg)) == 0,
		  "%s: the server answers with KeyUpdate(update_not_requested)", label);
	ret = proto_rx_record(fake[0].conn, RECORD_HANDSHAKE, msg, sizeof(msg)) == PROTO_NEXT;
	tap_check(ret, "%s: the client follows the answer (%s)", label, ktls_conn_error(fake[0].conn));

	tap_check(strcmp(fake[0].events, "UTRTR") == 0 && strcmp(fake[1].events, "UTRRT") == 0,
		  "%s: new keys installed: client \"%s\", server \"%s\"", label, fake[0].events,
		  fake[1].events);
	tap_check(memcmp(old_tx, fake[0].tx, fake[0].tx_len) != 0,
		  "%s: the client's TX key changed", label);
	tap_check(fake[0].tx_len == fake[1].rx_len &&
			  memcmp(fake[0].tx, fake[1].rx, fake[0].tx_len) == 0 &&
			  fake[1].tx_len == fake[0].rx_len &&
			  memcmp(fake[1].tx, fake[0].rx, fake[1].tx_len) == 0,
		  "%s: after the update, each TX struct == the peer's RX struct", label);
	{
		static const unsigned char zero[8] = { 0 };
		struct view v[4];

		view_of(fake[0].tx, kc->cipher, &v[0]);
		view_of(fake[0].rx, kc->cipher, &v[1]);
		view_of(fake[1].tx, kc->cipher, &v[2]);
		view_of(fake[1].rx, kc->cipher, &v[3]);
		tap_check(memcmp(v[0].rec_seq, zero, 8) == 0 && memcmp(v[1].rec_seq, zero, 8) == 0 &&
				  memcmp(v[2].rec_seq, zero, 8) == 0 &&
				  memcmp(v[3].rec_seq, zero, 8) == 0,
			  "%s: every new key starts at sequence 0 (RFC 8446 section 5.3)", label);
	}
	ktls_conn_get_info(fake[0].conn, &ci);
	ktls_conn_get_info(fake[1].conn, &si);
	tap_check(ci.key_updates_sent == 1 && ci.key_updates_received == 1 &&
			  si.key_updates_sent == 1 && si.key_updates_received == 1,
		  "%s: info counts one KeyUpdate each way", label);
	/*
	 * The new keys came from libktls's own key schedule (lib/secrets.c);
	 * GnuTLS, which kept the sessions here, has not seen the updates.  Let
	 * each GnuTLS session make its own KeyUpdate now: the records it then
	 * encrypts must open with the peer's new RX struct, in both directions.
	 */
	for (int i = 0; i < 2; i++) {
		gnutls_session_t gs = fake[i].conn->session;

		gnutls_transport_set_vec_push_function(gs, capture_push);
		wire_len = 0;
		ret = gnutls_session_key_update(gs, 0);
		if (!tap_check(ret == 0, "%s: GnuTLS's %s derives its next key on its own", label,
			       i == 0 ? "client" : "server"))
			tap_diag("  gnutls_session_key_update: %s", gnutls_strerror(ret));
		snprintf(what, sizeof(what), "%s after KeyUpdate, %s", label,
			 i == 0 ? "client->server" : "server->client");
		check_records(what, kc, &fake[i], &fake[1 - i]);
	}
}

/*
 * Keying material exporters from libktls's own schedule (both keys in the
 * kernel), against GnuTLS's from the peer's session: RFC 8446 section 7.5,
 * or RFC 5705 over the TLS 1.2 PRF, where a NULL context differs from an
 * empty one.  100 bytes takes more than one HKDF / PRF block.
 */
static void run_exporters(const char *label)
{
	static const struct {
		const char *label, *context;
		size_t context_len, out_len;
	} ex[] = {
		{ "EXPERIMENTAL-libktls", "context", 7, 32 },
		{ "EXPERIMENTAL-libktls", NULL, 0, 32 },
		{ "EXPERIMENTAL-libktls", "", 0, 32 },
		{ "EXPERIMENTAL-long", "x", 1, 100 },
	};

	tap_check(secrets_ready(fake[0].conn) && secrets_ready(fake[1].conn),
		  "%s: both sides run the key schedule themselves (both keys in the kernel)", label);
	for (size_t i = 0; i < sizeof(ex) / sizeof(ex[0]); i++) {
		unsigned char ours[100], theirs[100];
		int a = ktls_conn_export_keying_material(fake[0].conn, ex[i].label, ex[i].context,
							 ex[i].context_len, ours, ex[i].out_len);
		int b = gnutls_prf_rfc5705(fake[1].conn->session, strlen(ex[i].label), ex[i].label,
					   ex[i].context_len, ex[i].context, ex[i].out_len,
					   (char *)theirs);

		tap_check(a == 0 && b == 0 && memcmp(ours, theirs, ex[i].out_len) == 0,
			  "%s: exporter \"%s\", %s context, %zu bytes: libktls == the peer's GnuTLS",
			  label, ex[i].label,
			  ex[i].context == NULL ? "no" : ex[i].context_len == 0 ? "empty" : "a",
			  ex[i].out_len);
	}
}

static void run_case(const struct kcase *kc, const struct unit_cert *ca,
		     const struct unit_cert *leaf)
{
	struct ktls_config *cc = NULL, *sc = NULL;
	struct ktls_conn *client = NULL, *server = NULL;
	struct ktls_info ci, si;
	char label[64], priority[160];
	int sv[2] = { -1, -1 }, rc, rs, ret;
	bool tls13 = kc->version == 0x0304;

	snprintf(label, sizeof(label), "TLS1.%d %s", tls13 ? 3 : 2, kc->priority_name);
	snprintf(priority, sizeof(priority), "NORMAL:-VERS-ALL:+VERS-TLS1.%d:-CIPHER-ALL:+%s",
		 tls13 ? 3 : 2, kc->priority_name);
	memset(fake, 0, sizeof(fake));

	if (unit_tcp_pair(&sv[0], &sv[1], true) < 0)
		tap_bail("loopback TCP pair");
	if (ktls_config_new(KTLS_ROLE_CLIENT, &cc) < 0 ||
	    ktls_config_new(KTLS_ROLE_SERVER, &sc) < 0 ||
	    ktls_config_set_priority(cc, priority) < 0 ||
	    ktls_config_set_priority(sc, priority) < 0 ||
	    /* No tickets: the wire between the switch and the records below stays empty. */
	    ktls_config_set_resumption(sc, 0, 0, 0) < 0 ||
	    ktls_config_set_ca_file(cc, ca->cert_path) < 0 ||
	    ktls_config_add_cert_file(sc, leaf->cert_path, leaf->key_path) < 0)
		tap_bail("%s: config: %s / %s", label, cc ? ktls_config_error(cc) : "",
			 sc ? ktls_config_error(sc) : "");
	ret = ktls_conn_new(cc, sv[0], KTLS_CONN_OWN_FD, &client);
	if (ret < 0)
		tap_bail("%s: ktls_conn_new(client): %s", label, ktls_config_error(cc));
	ret = ktls_conn_new(sc, sv[1], KTLS_CONN_OWN_FD, &server);
	if (ret < 0)
		tap_bail("%s: ktls_conn_new(server): %s", label, ktls_config_error(sc));
	ktls_conn_set_server_name(client, "localhost");
	fake[0] = (struct fake_socket){ .fd = sv[0], .conn = client };
	fake[1] = (struct fake_socket){ .fd = sv[1], .conn = server };

	ret = unit_handshake_pair(client, server, &rc, &rs, HANDSHAKE_TIMEOUT_MS);
	if (!tap_check(ret == 0 && rc == 0 && rs == 0, "%s: handshake", label)) {
		tap_diag("  client %s: %s", unit_errno_name(rc), ktls_conn_error(client));
		tap_diag("  server %s: %s", unit_errno_name(rs), ktls_conn_error(server));
		goto out;
	}

	if (ktls_conn_get_info(client, &ci) != 0 || ktls_conn_get_info(server, &si) != 0)
		tap_bail("%s: ktls_conn_get_info", label);
	tap_check(ci.version == kc->version && si.version == kc->version &&
			  ci.cipher == kc->cipher && si.cipher == kc->cipher,
		  "%s: negotiated as asked (client %s %s)", label, ci.version_name, ci.cipher_name);
	tap_check(ci.tx.kernel && ci.rx.kernel && si.tx.kernel && si.rx.kernel,
		  "%s: info says the kernel holds both directions on both sides", label);
	if (!ci.tx.kernel || !ci.rx.kernel || !si.tx.kernel || !si.rx.kernel)
		tap_diag("  client tx \"%s\" rx \"%s\"; server tx \"%s\" rx \"%s\"", ci.tx.reason,
			 ci.rx.reason, si.tx.reason, si.rx.reason);

	for (int i = 0; i < 2; i++) {
		bool ok = strcmp(fake[i].events, "UTR") == 0;

		tap_check(ok, "%s: %s: TCP_ULP \"tls\", then TLS_TX, then TLS_RX, once each", label,
			  i == 0 ? "client" : "server");
		if (!ok)
			tap_diag("  setsockopt sequence \"%s\"", fake[i].events);
	}
	if (fake[0].tx_len == 0 || fake[0].rx_len == 0 || fake[1].tx_len == 0 ||
	    fake[1].rx_len == 0) {
		tap_check(false, "%s: all four key structs recorded", label);
		goto out;
	}

	/*
	 * What the client sends with is what the server receives with, byte for
	 * byte, and the other way round.  That holds even for TLS 1.2 GCM/CCM,
	 * whose 8-byte "iv" the kernel's RX path ignores (each record carries its
	 * explicit nonce): libktls fills it with the sequence number on both
	 * sides, and both sides have seen the same records.
	 */
	tap_check(fake[0].tx_len == fake[1].rx_len &&
			  memcmp(fake[0].tx, fake[1].rx, fake[0].tx_len) == 0,
		  "%s: client TLS_TX struct == server TLS_RX struct", label);
	tap_check(fake[1].tx_len == fake[0].rx_len &&
			  memcmp(fake[1].tx, fake[0].rx, fake[1].tx_len) == 0,
		  "%s: server TLS_TX struct == client TLS_RX struct", label);

	for (int i = 0; i < 4; i++) {
		struct fake_socket *s = &fake[i / 2];
		bool rx = i % 2 == 1;
		char what[96];

		snprintf(what, sizeof(what), "%s %s %s", label, i / 2 == 0 ? "client" : "server",
			 rx ? "RX" : "TX");
		check_struct(what, kc, rx ? s->rx : s->tx, rx ? s->rx_len : s->tx_len,
			     &s->before[rx ? 1 : 0]);
	}

	/*
	 * The first application record: TLS 1.3 starts the application traffic
	 * keys at sequence 0 (RFC 8446 section 5.3; tickets are off here).
	 * TLS 1.2's Finished was record 0 under the new keys (RFC 5246 section
	 * 7.4.9), so application data starts at 1.
	 */
	{
		static const unsigned char zero[8] = { 0 }, one[8] = { 0, 0, 0, 0, 0, 0, 0, 1 };
		const unsigned char *want = tls13 ? zero : one;
		struct view v[4];

		view_of(fake[0].tx, kc->cipher, &v[0]);
		view_of(fake[0].rx, kc->cipher, &v[1]);
		view_of(fake[1].tx, kc->cipher, &v[2]);
		view_of(fake[1].rx, kc->cipher, &v[3]);
		bool ok = true;

		for (int i = 0; i < 4; i++)
			ok = ok && memcmp(v[i].rec_seq, want, 8) == 0;
		tap_check(ok, "%s: every rec_seq is %d", label, tls13 ? 0 : 1);
		if (!ok)
			tap_diag("  client tx %s rx %s, server tx %s", hex(v[0].rec_seq, 8),
				 hex(v[1].rec_seq, 8), hex(v[2].rec_seq, 8));
	}

	{
		char what[96];

		snprintf(what, sizeof(what), "%s client->server", label);
		check_records(what, kc, &fake[0], &fake[1]);
		snprintf(what, sizeof(what), "%s server->client", label);
		check_records(what, kc, &fake[1], &fake[0]);
	}
	run_exporters(label);
	if (tls13)
		run_rekey(label, kc, sv);
out:
	memset(fake, 0, sizeof(fake));
	ktls_conn_free(client);
	ktls_conn_free(server);
	ktls_config_unref(cc);
	ktls_config_unref(sc);
}

/*
 * With both keys in the kernel and nothing after the switch that needs it,
 * the GnuTLS session goes (lib/summary.c): what the application can still
 * ask for comes from the connection's own copies, and freeing is clean.
 */
static void run_released(const struct unit_cert *ca, const struct unit_cert *leaf)
{
	struct ktls_config *cc = NULL, *sc = NULL;
	struct ktls_conn *client = NULL, *server = NULL;
	struct ktls_info ci, si;
	gnutls_datum_t der = { NULL, 0 };
	const void *peer = NULL;
	size_t peer_len = 0;
	unsigned char a[48], b[48];
	int sv[2] = { -1, -1 }, rc, rs;

	summary_keep_sessions = false;
	if (unit_tcp_pair(&sv[0], &sv[1], true) < 0 || ktls_config_new(KTLS_ROLE_CLIENT, &cc) < 0 ||
	    ktls_config_new(KTLS_ROLE_SERVER, &sc) < 0 ||
	    /* A client that keeps no tickets needs no GnuTLS after the switch. */
	    ktls_config_set_resumption(cc, 0, 0, 0) < 0 ||
	    ktls_config_set_ca_file(cc, ca->cert_path) < 0 ||
	    ktls_config_add_cert_file(sc, leaf->cert_path, leaf->key_path) < 0 ||
	    ktls_conn_new(cc, sv[0], KTLS_CONN_OWN_FD, &client) < 0 ||
	    ktls_conn_new(sc, sv[1], KTLS_CONN_OWN_FD, &server) < 0)
		tap_bail("released: set-up");
	ktls_conn_set_server_name(client, "localhost");
	if (!tap_check(unit_handshake_pair(client, server, &rc, &rs, HANDSHAKE_TIMEOUT_MS) == 0 &&
			       rc == 0 && rs == 0,
		       "released: handshake"))
		goto out;
	tap_check(client->session == NULL && server->session == NULL && secrets_ready(client) &&
			  secrets_ready(server),
		  "released: both GnuTLS sessions went at the switch, the key schedule is libktls's");
	tap_check(ktls_conn_get_info(client, &ci) == 0 && ktls_conn_get_info(server, &si) == 0 &&
			  strcmp(ci.version_name, "TLS1.3") == 0 &&
			  strcmp(ci.cipher_name, si.cipher_name) == 0 && ci.cipher_name[0] != '\0' &&
			  strcmp(ci.group_name, si.group_name) == 0 && ci.group_name[0] != '\0' &&
			  strcmp(si.server_name, "localhost") == 0 &&
			  ci.peer_auth == KTLS_PEER_CERTIFICATE &&
			  strcmp(ci.peer_identity, leaf->dn) == 0 && si.peer_auth == KTLS_PEER_NONE &&
			  ci.tx.kernel && ci.rx.kernel && si.tx.kernel && si.rx.kernel,
		  "released: ktls_conn_get_info() still reports version, cipher, group, SNI and the "
		  "server's subject (%s %s %s \"%s\")",
		  ci.version_name, ci.cipher_name, ci.group_name, ci.peer_identity);
	tap_check(gnutls_x509_crt_export2(leaf->crt, GNUTLS_X509_FMT_DER, &der) == 0 &&
			  ktls_conn_get_peer_cert(client, 0, &peer, &peer_len) == 0 &&
			  peer_len == der.size && memcmp(peer, der.data, der.size) == 0 &&
			  ktls_conn_get_peer_cert(client, 1, &peer, &peer_len) == -ENOENT &&
			  ktls_conn_get_peer_cert(server, 0, &peer, &peer_len) == -ENOENT,
		  "released: the server's certificate is still there, byte for byte");
	tap_check(ktls_conn_export_keying_material(client, "EXPERIMENTAL-x", "c", 1, a, sizeof(a)) ==
				  0 &&
			  ktls_conn_export_keying_material(server, "EXPERIMENTAL-x", "c", 1, b,
							   sizeof(b)) == 0 &&
			  memcmp(a, b, sizeof(a)) == 0,
		  "released: both sides export the same keying material");
	gnutls_free(der.data);
out:
	ktls_conn_free(client);
	ktls_conn_free(server);
	ktls_config_unref(cc);
	ktls_config_unref(sc);
	summary_keep_sessions = true;
}

int main(void)
{
	struct unit_cert ca, leaf;
	struct ktls_caps caps;
	const char *dir = unit_tmpdir();

	kernel_setsockopt = fake_setsockopt;
	/* The GnuTLS sessions stay: the checks below encrypt with them after the switch. */
	summary_keep_sessions = true;
	probe_reset();
	if (ktls_probe(&caps) != 0 || !caps.ulp_available)
		tap_bail("the probe does not see the fake kernel: %s", caps.summary);
	tap_check(caps.tx_ciphers[0] == 0xf && caps.tx_ciphers[1] == 0xf &&
			  caps.rx_ciphers[0] == 0xf && caps.rx_ciphers[1] == 0xf,
		  "the probe sees the fake kernel take every cipher both ways");
	tap_check(fake_other_calls > 0, "the probe went through kernel_setsockopt");

	/* ECDSA, so that TLS 1.2 has AES-128-CCM (ECDHE-ECDSA only, RFC 7251). */
	if (unit_cert_make(&ca, dir, "ca", UNIT_CERT_CA, "Test CA", NULL, NULL, false) < 0 ||
	    unit_cert_make(&leaf, dir, "server", UNIT_CERT_SERVER, "localhost", "localhost", &ca,
			   false) < 0)
		tap_bail("cannot make certificates");

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run_case(&cases[i], &ca, &leaf);
	run_released(&ca, &leaf);

	unit_cert_free(&ca);
	unit_cert_free(&leaf);
	return tap_done();
}
