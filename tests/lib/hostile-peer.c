/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * hostile-peer: a TLS client that plays exactly one misbehaviour ("case")
 * against any TLS server and reports, on one line, how the server answered.
 * The serve tests use it to check that a server sends the alert the RFCs
 * require, does not hang, sleeps while a partial record waits, and keeps
 * serving the next client.  It uses GnuTLS only (no libktls), so the same
 * runs can be made against reference servers (gnutls-serv, openssl s_server).
 *
 *   hostile-peer --connect HOST:PORT --case NAME [--tls 1.2|1.3] [--cipher C]
 *                [--ca FILE | --insecure] [--server-name NAME] [--psk ID:HEXKEY]
 *                [--cert FILE --key FILE] [--request STRING] [--wait-ms N]
 *                [--server-pid PID] [--fragments N]
 *   hostile-peer --list
 *
 * How the cases are played:
 *  - Cases on the plaintext handshake let GnuTLS build the real ClientHello
 *    (and, for coalesced-flight, the second flight) and damage it in the push
 *    function, which sees whole records.  GnuTLS then goes on reading, so the
 *    server's answer - a plaintext alert, an encrypted TLS 1.3 alert after a
 *    ServerHello, or a completed handshake from a lenient server - is read
 *    the same way in every case.
 *  - Cases after the handshake build protected records here, from the write
 *    key, IV and sequence number GnuTLS reports (gnutls_record_get_state),
 *    with the record protection of RFC 8446 section 5.2-5.3 and of RFC 5246
 *    section 6.2.3.3 with RFC 5288 / RFC 6655 / RFC 7905.  From then on
 *    GnuTLS's write state is out of step and only built records are sent;
 *    GnuTLS keeps reading, since the server's records are untouched.  The
 *    positive case crafted-valid proves the record code against a server.
 *  - Valid KeyUpdates are sent by GnuTLS itself, which then keeps writing
 *    under the next key; keyupdate-split replaces GnuTLS's KeyUpdate record
 *    by two built ones under the old key (same sequence numbers), so
 *    GnuTLS's next-key state stays right for the request after it.
 *
 * --fragments N: ch-fragmented: records (default 10); ch-half-record: bytes
 * of the first record sent (default header + half the body); short-record:
 * body bytes (default 3); keyupdate-many / keyupdate-flood /
 * keyupdate-while-reading: KeyUpdates (default 20 / 50 / 12).  --cert/--key: a client certificate, for servers that
 * ask (coalesced-flight then coalesces Certificate, ClientKeyExchange and
 * CertificateVerify).
 *
 * Output: one line on stdout, tokens without spaces:
 *   case=NAME version=TLS1.3|TLS1.2 cipher=C|any result=R
 *   [alert=N alert_name=NAME level=N [alert_record=plaintext]] ms=N
 *   [server_cpu_ms=N] [reply_bytes=N first_line=TEXT] [updates_sent=N]
 *   [detail=GNUTLS_E_...] [then=close_notify|close|timeout|other]
 * R: alert (the level is the one the server sent: plaintext alerts are read
 * from the wire, protected ones opened here), close (FIN, no alert), reset,
 * timeout (nothing within --wait-ms), ok (a served request: some reply, then
 * the server's close or 2 s of silence), invalid (the server sent something
 * GnuTLS could not take; detail= says what), error (local failure before
 * the case was played).  ms runs from the misbehaviour to the result.
 * server_cpu_ms (with --server-pid) is the server's CPU time over the silent
 * wait for partial-record, else from the misbehaviour to the result; it
 * counts all threads of that process, not its children.  then: what came
 * after a user_canceled alert, which RFC 8446 section 6.1 wants followed by
 * close_notify.
 * Exit 0 when the case was played, whatever the server did; 1 for a local
 * failure before that (result=error, the reason on stderr); 2 for usage.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#define REC_HDR 5
#define TAG_LEN 16
#define MAX_PLAIN 16384 /* 2^14, RFC 8446 section 5.1, RFC 5246 section 6.2.1 */
#define HANDSHAKE_IDLE_MS 10000 /* per read, until the case is played */
#define REPLY_SILENCE_MS 2000	/* a positive case's reply ends after this much silence */
#define BIG_EXT_TYPE 0xff77	/* private-use range; servers ignore unknown extensions */
#define BIG_EXT_LEN 17000	/* pushes the ClientHello above 2^14 */
#define POST_SETTLE_MS 100	/* after the handshake, before a case is played */

enum content_type {
	CT_CHANGE_CIPHER_SPEC = 20,
	CT_ALERT = 21,
	CT_HANDSHAKE = 22,
	CT_APPLICATION_DATA = 23,
};

enum { HS_CLIENT_HELLO = 1, HS_CLIENT_KEY_EXCHANGE = 16, HS_KEY_UPDATE = 24 };

/* ---- the cases ----------------------------------------------------------------------------- */

enum case_id {
	CH_GARBAGE,
	CH_TRUNCATED_MSG,
	CH_WRONG_MESSAGE,
	CH_CLAIMS_HUGE,
	CKX_CLAIMS_HUGE,
	CH_HALF_RECORD,
	CH_FRAGMENTED,
	CH_FRAGMENTED_BIG,
	COALESCED_FLIGHT,
	ZERO_LENGTH_HANDSHAKE,
	WRONG_TYPE_FIRST,
	OVERSIZED_PLAINTEXT,
	CRAFTED_VALID,
	BAD_MAC,
	BAD_MAC_AFTER_DATA,
	WRONG_INNER_TYPE,
	ZERO_LENGTH_APPDATA,
	ZERO_LENGTH_HANDSHAKE_POST,
	OVERSIZED_RECORD,
	SHORT_RECORD,
	PARTIAL_RECORD,
	PARTIAL_RECORD_CLOSE,
	KEYUPDATE_VALID,
	KEYUPDATE_MANY,
	KEYUPDATE_FLOOD,
	KEYUPDATE_BAD_VALUE,
	KEYUPDATE_EMPTY,
	KEYUPDATE_LONG,
	KEYUPDATE_NOT_LAST,
	KEYUPDATE_SPLIT,
	APPDATA_IN_HANDSHAKE,
	KEYUPDATE_WHILE_READING,
	PARTIAL_RECORD_QUEUED,
	WITHHOLD_FLIGHT,
};

#define CF_PRE 0x01     /* played on the plaintext handshake, in the push function */
#define CF_OK 0x02      /* positive: the request is expected to be served */
#define CF_TLS12 0x04   /* TLS 1.2 only */
#define CF_TLS13 0x08   /* TLS 1.3 only */
#define CF_PARTIAL 0x10 /* server CPU is measured over the silent wait */

struct case_def {
	const char *name;
	enum case_id id;
	unsigned int flags;
	long fragments; /* default for --fragments, where the case uses it */
	const char *desc;
};

static const struct case_def cases[] = {
	{ "ch-garbage", CH_GARBAGE, CF_PRE, 0,
	  "a 200-byte ClientHello: header, version 3.3, then fixed pseudo-random bytes" },
	{ "ch-truncated-msg", CH_TRUNCATED_MSG, CF_PRE, 0,
	  "the ClientHello's handshake length claims 64 bytes more than its record holds" },
	{ "ch-wrong-message", CH_WRONG_MESSAGE, CF_PRE, 0,
	  "the ClientHello's bytes as handshake type 20 (Finished), claiming 64 bytes more" },
	{ "ch-claims-huge", CH_CLAIMS_HUGE, CF_PRE, 0,
	  "the ClientHello's handshake length claims 16 MiB - 1 bytes" },
	{ "ckx-claims-huge", CKX_CLAIMS_HUGE, CF_PRE | CF_TLS12, 0,
	  "TLS 1.2: the ClientKeyExchange's handshake length claims 16 MiB - 1 bytes" },
	{ "ch-half-record", CH_HALF_RECORD, CF_PRE | CF_PARTIAL, 0,
	  "first half of the ClientHello record (--fragments N: first N bytes), then silence" },
	{ "ch-fragmented", CH_FRAGMENTED, CF_PRE | CF_OK, 10,
	  "the ClientHello split over --fragments N records (default 10), then a request" },
	{ "ch-fragmented-big", CH_FRAGMENTED_BIG, CF_PRE | CF_OK, 0,
	  "a ClientHello above 16 KiB (17000-byte private extension 0xff77), then a request" },
	{ "coalesced-flight", COALESCED_FLIGHT, CF_PRE | CF_OK | CF_TLS12, 0,
	  "TLS 1.2: the second flight's handshake messages in one record, then a request" },
	{ "zero-length-handshake", ZERO_LENGTH_HANDSHAKE, CF_PRE, 0,
	  "a zero-length handshake record before the ClientHello" },
	{ "wrong-type-first", WRONG_TYPE_FIRST, CF_PRE, 0,
	  "an application_data record (20 bytes) instead of the ClientHello" },
	{ "oversized-plaintext", OVERSIZED_PLAINTEXT, CF_PRE, 0,
	  "a handshake record of 16384+256+1 bytes carrying the ClientHello" },
	{ "crafted-valid", CRAFTED_VALID, CF_OK, 0,
	  "one valid built application_data record carrying the request" },
	{ "bad-mac", BAD_MAC, 0, 0, "an application_data record with one ciphertext bit flipped" },
	{ "bad-mac-after-data", BAD_MAC_AFTER_DATA, 0, 0,
	  "a valid request record and a record with a flipped bit, in one write" },
	{ "wrong-inner-type", WRONG_INNER_TYPE, 0, 0,
	  "content type 99 (TLS 1.3: inner type, TLS 1.2: record type)" },
	{ "zero-length-appdata", ZERO_LENGTH_APPDATA, CF_OK, 0,
	  "a valid zero-length application_data record, then the request" },
	{ "zero-length-handshake-post", ZERO_LENGTH_HANDSHAKE_POST, 0, 0,
	  "an encrypted zero-length handshake record" },
	{ "oversized-record", OVERSIZED_RECORD, 0, 0,
	  "an encrypted record with 16385 bytes of plaintext content" },
	{ "short-record", SHORT_RECORD, 0, 3,
	  "an application_data record whose body is --fragments N bytes (default 3)" },
	{ "partial-record", PARTIAL_RECORD, CF_OK | CF_PARTIAL, 0,
	  "first half of a request record, silence for --wait-ms, then the rest" },
	{ "partial-record-close", PARTIAL_RECORD_CLOSE, 0, 0,
	  "first half of a request record, then shutdown(SHUT_WR)" },
	{ "keyupdate-valid", KEYUPDATE_VALID, CF_OK | CF_TLS13, 0,
	  "TLS 1.3: KeyUpdate(update_requested), then the request under the next key" },
	{ "keyupdate-many", KEYUPDATE_MANY, CF_OK | CF_TLS13, 20,
	  "TLS 1.3: --fragments N KeyUpdates (default 20) 50 ms apart, then the request" },
	{ "keyupdate-flood", KEYUPDATE_FLOOD, CF_OK | CF_TLS13, 50,
	  "TLS 1.3: --fragments N KeyUpdates (default 50) and the request in one write" },
	{ "keyupdate-bad-value", KEYUPDATE_BAD_VALUE, CF_TLS13, 0,
	  "TLS 1.3: KeyUpdate with request_update 2" },
	{ "keyupdate-empty", KEYUPDATE_EMPTY, CF_TLS13, 0,
	  "TLS 1.3: KeyUpdate with a 0-byte body" },
	{ "keyupdate-long", KEYUPDATE_LONG, CF_TLS13, 0, "TLS 1.3: KeyUpdate with a 2-byte body" },
	{ "keyupdate-not-last", KEYUPDATE_NOT_LAST, CF_TLS13, 0,
	  "TLS 1.3: a KeyUpdate followed by a second one in the same record" },
	{ "keyupdate-split", KEYUPDATE_SPLIT, CF_OK | CF_TLS13, 0,
	  "TLS 1.3: a KeyUpdate split over two records, then the request" },
	{ "appdata-in-handshake", APPDATA_IN_HANDSHAKE, CF_TLS13, 0,
	  "TLS 1.3: 2 bytes of a KeyUpdate, then an application_data record" },
	{ "partial-record-queued", PARTIAL_RECORD_QUEUED, CF_OK | CF_PARTIAL, 0,
	  "the request and the first half of a second one in one write: the half waits "
	  "while the server answers the first and then wants the next (keep-alive); "
	  "silence for --wait-ms, then the rest" },
	{ "keyupdate-while-reading", KEYUPDATE_WHILE_READING, CF_OK | CF_TLS13, 12,
	  "TLS 1.3: the request, then --fragments N KeyUpdates (default 12) 200 ms apart "
	  "while the reply streams in (an honest peer; a server that read them only after "
	  "its reply would meet them as a flood)" },
	{ "withhold-flight", WITHHOLD_FLIGHT, CF_PRE, 0,
	  "the client's second flight (up to its Finished) is never sent: the server waits "
	  "mid-handshake, after its own flight, for --wait-ms (stopping it must say "
	  "user_canceled)" },
};

/* ---- small helpers ------------------------------------------------------------------------- */

struct buf {
	unsigned char *p;
	size_t len, cap;
};

static void buf_reserve(struct buf *b, size_t more)
{
	if (b->len + more <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 4096;

	while (cap < b->len + more)
		cap *= 2;
	unsigned char *p = realloc(b->p, cap);

	if (p == NULL) {
		fprintf(stderr, "hostile-peer: out of memory\n");
		exit(1);
	}
	b->p = p;
	b->cap = cap;
}

static void buf_add(struct buf *b, const void *data, size_t n)
{
	buf_reserve(b, n);
	if (n > 0)
		memcpy(b->p + b->len, data, n);
	b->len += n;
}

static void buf_byte(struct buf *b, unsigned char c)
{
	buf_add(b, &c, 1);
}

static void buf_consume(struct buf *b, size_t n)
{
	memmove(b->p, b->p + n, b->len - n);
	b->len -= n;
}

/* A record header: type, legacy version, 16-bit length (RFC 8446 section 5.1). */
static void put_header(struct buf *b, unsigned char type, const unsigned char ver[2], size_t len)
{
	unsigned char h[REC_HDR] = { type, ver[0], ver[1], (unsigned char)(len >> 8),
				     (unsigned char)len };

	buf_add(b, h, sizeof(h));
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * "Random" bytes come from a fixed-seed generator: every run sends the same
 * bytes, so a test's expected alert does not depend on luck (a random first
 * byte of garbage could otherwise read as a plausible length one time in N).
 */
static void fill_pseudo_random(unsigned char *p, size_t n)
{
	static uint64_t x = 0x9e3779b97f4a7c15ULL;

	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		p[i] = (unsigned char)(x >> 24);
	}
}

/* Linux: utime + stime of all the process's threads, in clock ticks, or -1. */
static long long proc_cpu_ticks(pid_t pid)
{
	char path[64], line[1024];
	unsigned long long ut, st;
	FILE *f;
	char *p;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (f == NULL)
		return -1;
	p = fgets(line, sizeof(line), f);
	fclose(f);
	/* comm may hold spaces and ')': the fields start after the last ')'. */
	if (p == NULL || (p = strrchr(line, ')')) == NULL)
		return -1;
	/* state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt utime stime */
	if (sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		return -1;
	return (long long)(ut + st);
}

static const char *alert_name(int desc)
{
	/* RFC 8446 section 6, plus the RFC 5246 ones a TLS 1.2 server may send. */
	switch (desc) {
	case 0: return "close_notify";
	case 10: return "unexpected_message";
	case 20: return "bad_record_mac";
	case 21: return "decryption_failed";
	case 22: return "record_overflow";
	case 30: return "decompression_failure";
	case 40: return "handshake_failure";
	case 41: return "no_certificate";
	case 42: return "bad_certificate";
	case 43: return "unsupported_certificate";
	case 44: return "certificate_revoked";
	case 45: return "certificate_expired";
	case 46: return "certificate_unknown";
	case 47: return "illegal_parameter";
	case 48: return "unknown_ca";
	case 49: return "access_denied";
	case 50: return "decode_error";
	case 51: return "decrypt_error";
	case 60: return "export_restriction";
	case 70: return "protocol_version";
	case 71: return "insufficient_security";
	case 80: return "internal_error";
	case 86: return "inappropriate_fallback";
	case 90: return "user_canceled";
	case 100: return "no_renegotiation";
	case 109: return "missing_extension";
	case 110: return "unsupported_extension";
	case 111: return "certificate_unobtainable";
	case 112: return "unrecognized_name";
	case 113: return "bad_certificate_status_response";
	case 114: return "bad_certificate_hash_value";
	case 115: return "unknown_psk_identity";
	case 116: return "certificate_required";
	case 120: return "no_application_protocol";
	default: return "unknown";
	}
}

static const struct {
	const char *name;
	gnutls_cipher_algorithm_t alg;
} ciphers[] = {
	{ "AES-128-GCM", GNUTLS_CIPHER_AES_128_GCM },
	{ "AES-256-GCM", GNUTLS_CIPHER_AES_256_GCM },
	{ "AES-128-CCM", GNUTLS_CIPHER_AES_128_CCM },
	{ "CHACHA20-POLY1305", GNUTLS_CIPHER_CHACHA20_POLY1305 },
};

/* ---- options ------------------------------------------------------------------------------- */

struct opts {
	const char *host, *port;
	const struct case_def *c;
	bool tls12;
	int cipher; /* index into ciphers[], -1: any of them */
	const char *ca, *server_name, *psk, *cert, *key;
	bool insecure;
	struct buf request;
	int wait_ms;
	pid_t server_pid;
	long fragments;
};

/* --request takes \r \n \t \\ and \xHH, so an HTTP request fits on a command line. */
static bool unescape(const char *s, struct buf *out)
{
	out->len = 0;
	for (; *s != '\0'; s++) {
		if (*s != '\\') {
			buf_byte(out, (unsigned char)*s);
			continue;
		}
		switch (*++s) {
		case 'r': buf_byte(out, '\r'); break;
		case 'n': buf_byte(out, '\n'); break;
		case 't': buf_byte(out, '\t'); break;
		case '\\': buf_byte(out, '\\'); break;
		case 'x': {
			unsigned int v;

			if (sscanf(s + 1, "%2x", &v) != 1)
				return false;
			buf_byte(out, (unsigned char)v);
			s += s[2] != '\0' && strchr("0123456789abcdefABCDEF", s[2]) ? 2 : 1;
			break;
		}
		default: return false;
		}
	}
	return true;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: hostile-peer --connect HOST:PORT --case NAME [--tls 1.2|1.3]\n"
		"         [--cipher AES-128-GCM|AES-256-GCM|AES-128-CCM|CHACHA20-POLY1305]\n"
		"         [--ca FILE | --insecure] [--server-name NAME] [--psk ID:HEXKEY]\n"
		"         [--cert FILE --key FILE] [--request STRING] [--wait-ms N]\n"
		"         [--server-pid PID] [--fragments N]\n"
		"       hostile-peer --list\n");
}

static long parse_long(const char *s, long min, long max, bool *ok)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
		*ok = false;
	return v;
}

/* Returns 0, or the exit code (2 for usage, 0 after --list). */
static int parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "connect", required_argument, NULL, 'C' },
		{ "case", required_argument, NULL, 'x' },
		{ "tls", required_argument, NULL, 't' },
		{ "cipher", required_argument, NULL, 'c' },
		{ "ca", required_argument, NULL, 'a' },
		{ "insecure", no_argument, NULL, 'I' },
		{ "server-name", required_argument, NULL, 'n' },
		{ "psk", required_argument, NULL, 'P' },
		{ "cert", required_argument, NULL, 'e' },
		{ "key", required_argument, NULL, 'k' },
		{ "request", required_argument, NULL, 'r' },
		{ "wait-ms", required_argument, NULL, 'w' },
		{ "server-pid", required_argument, NULL, 'p' },
		{ "fragments", required_argument, NULL, 'f' },
		{ "list", no_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *connect_to = NULL, *case_name = NULL, *fragments = NULL;
	bool ok = true;
	int opt;

	o->cipher = -1;
	o->wait_ms = 3000;
	unescape("GET / HTTP/1.1\\r\\nHost: localhost\\r\\nConnection: close\\r\\n\\r\\n",
		 &o->request);
	while ((opt = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (opt) {
		case 'C': connect_to = optarg; break;
		case 'x': case_name = optarg; break;
		case 't':
			if (strcmp(optarg, "1.2") != 0 && strcmp(optarg, "1.3") != 0)
				ok = false;
			o->tls12 = strcmp(optarg, "1.2") == 0;
			break;
		case 'c':
			o->cipher = -2;
			for (size_t i = 0; i < sizeof(ciphers) / sizeof(ciphers[0]); i++)
				if (strcasecmp(optarg, ciphers[i].name) == 0)
					o->cipher = (int)i;
			ok = ok && o->cipher >= 0;
			break;
		case 'a': o->ca = optarg; break;
		case 'I': o->insecure = true; break;
		case 'n': o->server_name = optarg; break;
		case 'P': o->psk = optarg; break;
		case 'e': o->cert = optarg; break;
		case 'k': o->key = optarg; break;
		case 'r': ok = ok && unescape(optarg, &o->request); break;
		case 'w': o->wait_ms = (int)parse_long(optarg, 0, 3600000, &ok); break;
		case 'p': o->server_pid = (pid_t)parse_long(optarg, 1, 1L << 30, &ok); break;
		case 'f': fragments = optarg; break;
		case 'l':
			for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
				printf("%s\t%s\n", cases[i].name, cases[i].desc);
			return -1;
		case 'h': usage(stdout); return -1;
		default: ok = false; break;
		}
	}
	if (!ok || optind != argc || connect_to == NULL || case_name == NULL) {
		usage(stderr);
		return 2;
	}
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (strcmp(case_name, cases[i].name) == 0)
			o->c = &cases[i];
	if (o->c == NULL) {
		fprintf(stderr, "hostile-peer: unknown case '%s' (see --list)\n", case_name);
		return 2;
	}
	o->fragments = o->c->fragments;
	if (fragments != NULL)
		o->fragments = parse_long(fragments, o->c->id == SHORT_RECORD ? 0 : 1, 100000, &ok);
	if ((o->ca != NULL) == o->insecure && o->psk == NULL) {
		fprintf(stderr, "hostile-peer: give one of --ca FILE and --insecure\n");
		ok = false;
	}
	if ((o->cert != NULL) != (o->key != NULL)) {
		fprintf(stderr, "hostile-peer: --cert and --key go together\n");
		ok = false;
	}
	/* HOST:PORT, or [V6]:PORT */
	static char host[256];
	const char *colon = strrchr(connect_to, ':');

	if (colon == NULL || colon == connect_to || colon[1] == '\0' ||
	    (size_t)(colon - connect_to) >= sizeof(host))
		ok = false;
	else {
		size_t hl = (size_t)(colon - connect_to);

		memcpy(host, connect_to, hl);
		host[hl] = '\0';
		if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') {
			memmove(host, host + 1, hl - 2);
			host[hl - 2] = '\0';
		}
		o->host = host;
		o->port = colon + 1;
	}
	if (!ok) {
		usage(stderr);
		return 2;
	}
	return 0;
}

/* ---- the connection ------------------------------------------------------------------------ */

enum push_mode {
	PUSH_PASS,    /* records go out (through the case's rewriting while it is active) */
	PUSH_HOLD,    /* records are kept in p->hold, to go out later in one write */
	PUSH_DISCARD, /* records are dropped: built ones take their place */
};

/*
 * Incoming records, followed header by header.  A 2-byte alert record is
 * plaintext; the last whole record is kept so that a protected alert can be
 * opened here too (GnuTLS tells the description but not the level as sent).
 */
struct tap {
	struct buf cur, last;
	size_t body_left;
	unsigned long records; /* whole records seen */
	bool alert_seen;
	unsigned char level, desc;
};

struct peer {
	const struct opts *o;
	const struct case_def *c;
	int fd;
	gnutls_session_t s;
	bool tls13;

	/* push */
	enum push_mode mode;
	bool rewrite;	       /* the case's handshake rewriting is active */
	bool ccs_sent;	       /* TLS 1.2: records after our ChangeCipherSpec are protected */
	unsigned int hellos;   /* ClientHellos seen (a HelloRetryRequest makes two) */
	struct buf pending;    /* pushed bytes not yet a whole record */
	struct buf out;	       /* what this push call writes */
	struct buf hold;       /* PUSH_HOLD */
	struct buf coalesce;   /* coalesced-flight: handshake bodies waiting for the CCS */
	unsigned int coalesced;
	bool send_failed;

	/* pull */
	int64_t deadline; /* absolute, 0: none */
	int idle_ms;	  /* per read, 0: none */
	bool eof, reset, timed_out;
	bool timeout_is_again; /* a timeout leaves GnuTLS's session usable (EAGAIN) */
	int read_errno;
	int64_t t_last_rx, t_end;
	struct tap tap;

	/* the case */
	bool misbehaved;
	int64_t t_mis;
	long long cpu0, cpu1;
	bool cpu1_taken;

	/* keyupdate-while-reading: KeyUpdates still to send, and when the next is due */
	long updates_left;
	int64_t next_update;
	long updates_sent;

	/* reply */
	size_t reply_bytes;
	char first_line[256];
	size_t first_line_len;
	bool first_line_done;
	bool write_in_step; /* GnuTLS's write state is still the one the server expects */
};

struct result {
	const char *what;
	int alert, level;
	bool plaintext_alert;
	const char *detail;
	const char *then; /* after user_canceled */
};

static void mark_misbehaved(struct peer *p)
{
	if (p->misbehaved)
		return;
	p->misbehaved = true;
	p->t_mis = now_ms();
	if (p->o->server_pid > 0)
		p->cpu0 = proc_cpu_ticks(p->o->server_pid);
}

static void take_cpu1(struct peer *p)
{
	if (!p->cpu1_taken && p->o->server_pid > 0) {
		p->cpu1 = proc_cpu_ticks(p->o->server_pid);
		p->cpu1_taken = true;
	}
}

/*
 * Writes everything; a server that already gave up (EPIPE, ECONNRESET) is
 * part of the answer, not a local failure, so that is only noted: what it
 * said before going is still in our receive buffer, and the read reports it.
 */
static void write_all(struct peer *p, const unsigned char *data, size_t len)
{
	while (len > 0 && !p->send_failed) {
		ssize_t n = send(p->fd, data, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			fprintf(stderr, "hostile-peer: send: %s (%zu bytes not sent)\n",
				n < 0 ? strerror(errno) : "0", len);
			p->send_failed = true;
			return;
		}
		data += n;
		len -= (size_t)n;
	}
}

static bool is_plaintext_handshake(const struct peer *p, unsigned char type)
{
	/* TLS 1.3 protects handshake records as type 23; TLS 1.2 after the CCS. */
	return type == CT_HANDSHAKE && (p->tls13 || !p->ccs_sent);
}

static void flush_coalesced(struct peer *p)
{
	static const unsigned char v12[2] = { 3, 3 };

	if (p->coalesce.len == 0)
		return;
	mark_misbehaved(p);
	fprintf(stderr, "hostile-peer: %u handshake records coalesced into one of %zu bytes\n",
		p->coalesced, p->coalesce.len);
	put_header(&p->out, CT_HANDSHAKE, v12, p->coalesce.len);
	buf_add(&p->out, p->coalesce.p, p->coalesce.len);
	p->coalesce.len = 0;
}

/* After a misbehaviour, the server has --wait-ms to answer. */
static void start_waiting(struct peer *p)
{
	mark_misbehaved(p);
	p->deadline = p->t_mis + p->o->wait_ms;
	p->idle_ms = 0;
}

/*
 * The handshake cases: one whole record GnuTLS wrote, rewritten into p->out.
 * Only the first ClientHello is damaged; a second one (after a
 * HelloRetryRequest) goes out as GnuTLS made it, except for ch-fragmented,
 * whose point is that every ClientHello arrives in pieces.
 */
static void rewrite_record(struct peer *p, const unsigned char *rec, size_t len)
{
	const unsigned char type = rec[0], *ver = rec + 1, *body = rec + REC_HDR;
	const size_t body_len = len - REC_HDR;
	bool hello = is_plaintext_handshake(p, type) && body_len >= 4 &&
		     body[0] == HS_CLIENT_HELLO;
	bool first_hello = hello && p->hellos == 0;

	if (type == CT_CHANGE_CIPHER_SPEC)
		p->ccs_sent = true;
	if (hello)
		p->hellos++;

	switch (p->c->id) {
	case CH_GARBAGE:
		if (first_hello) {
			/* A consistent handshake header, so the server must parse the body. */
			unsigned char garbage[4 + 196] = { HS_CLIENT_HELLO, 0, 0, 196, 3, 3 };

			fill_pseudo_random(garbage + 6, sizeof(garbage) - 6);
			put_header(&p->out, CT_HANDSHAKE, ver, sizeof(garbage));
			buf_add(&p->out, garbage, sizeof(garbage));
			start_waiting(p);
			return;
		}
		break;
	case CH_TRUNCATED_MSG:
	case CH_WRONG_MESSAGE:
	case CH_CLAIMS_HUGE:
		if (first_hello) {
			size_t claim = (size_t)body[1] << 16 | (size_t)body[2] << 8 | body[3];

			claim = p->c->id == CH_CLAIMS_HUGE ? 0xffffff : claim + 64;

			buf_add(&p->out, rec, len);
			p->out.p[p->out.len - body_len + 1] = (unsigned char)(claim >> 16);
			p->out.p[p->out.len - body_len + 2] = (unsigned char)(claim >> 8);
			p->out.p[p->out.len - body_len + 3] = (unsigned char)claim;
			if (p->c->id == CH_WRONG_MESSAGE)
				p->out.p[p->out.len - body_len] = 20; /* Finished */
			start_waiting(p);
			return;
		}
		break;
	case CKX_CLAIMS_HUGE:
		if (is_plaintext_handshake(p, type) && body_len >= 4 &&
		    body[0] == HS_CLIENT_KEY_EXCHANGE) {
			buf_add(&p->out, rec, len);
			memset(p->out.p + p->out.len - body_len + 1, 0xff, 3);
			start_waiting(p);
			return;
		}
		break;
	case CH_HALF_RECORD:
		if (first_hello) {
			size_t n = p->o->fragments > 0 ? (size_t)p->o->fragments
						       : REC_HDR + body_len / 2;

			if (n >= len)
				n = len - 1;
			fprintf(stderr, "hostile-peer: sending %zu of the ClientHello record's"
					" %zu bytes\n", n, len);
			buf_add(&p->out, rec, n);
			start_waiting(p);
			return;
		}
		break;
	case CH_FRAGMENTED:
		if (hello) {
			/* Handshake messages may span records (RFC 8446 section 5.1). */
			size_t n = (size_t)p->o->fragments, off = 0;

			if (n > body_len)
				n = body_len;
			for (size_t i = 0; i < n; i++) {
				size_t piece = body_len / n + (i < body_len % n ? 1 : 0);

				put_header(&p->out, CT_HANDSHAKE, ver, piece);
				buf_add(&p->out, body + off, piece);
				off += piece;
			}
			fprintf(stderr, "hostile-peer: ClientHello of %zu bytes sent as %zu"
					" records\n", body_len, n);
			start_waiting(p);
			return;
		}
		break;
	case CH_FRAGMENTED_BIG:
		if (is_plaintext_handshake(p, type)) {
			/* GnuTLS fragments at 2^14 itself; this only makes sure. */
			for (size_t off = 0; off < body_len; off += MAX_PLAIN) {
				size_t piece = body_len - off;

				if (piece > MAX_PLAIN)
					piece = MAX_PLAIN;

				put_header(&p->out, CT_HANDSHAKE, ver, piece);
				buf_add(&p->out, body + off, piece);
			}
			if (hello)
				fprintf(stderr, "hostile-peer: ClientHello claims %u bytes\n",
					(unsigned int)(body[1] << 16 | body[2] << 8 | body[3]));
			start_waiting(p);
			return;
		}
		break;
	case COALESCED_FLIGHT:
		/*
		 * Certificate, ClientKeyExchange and CertificateVerify go into one
		 * record (RFC 5246 section 6.2.1 lets messages share records);
		 * the ChangeCipherSpec that follows them ends the collection.
		 */
		if (is_plaintext_handshake(p, type) && !hello && p->hellos > 0) {
			buf_add(&p->coalesce, body, body_len);
			p->coalesced++;
			return;
		}
		if (type == CT_CHANGE_CIPHER_SPEC) {
			flush_coalesced(p);
			start_waiting(p);
		}
		break;
	case ZERO_LENGTH_HANDSHAKE:
		if (first_hello) {
			/* RFC 8446 section 5.1: no zero-length handshake fragments. */
			put_header(&p->out, CT_HANDSHAKE, ver, 0);
			buf_add(&p->out, rec, len);
			start_waiting(p);
			return;
		}
		break;
	case WRONG_TYPE_FIRST:
		if (first_hello) {
			static const unsigned char v12[2] = { 3, 3 };
			unsigned char junk[20];

			fill_pseudo_random(junk, sizeof(junk));
			put_header(&p->out, CT_APPLICATION_DATA, v12, sizeof(junk));
			buf_add(&p->out, junk, sizeof(junk));
			start_waiting(p);
			return;
		}
		break;
	case WITHHOLD_FLIGHT:
		if (!hello && p->hellos > 0) {
			/* Everything after the ClientHello: the server's flight was read. */
			if (!p->misbehaved)
				fprintf(stderr, "hostile-peer: withholding the client's second flight\n");
			start_waiting(p);
			return;
		}
		break;
	case OVERSIZED_PLAINTEXT:
		if (first_hello) {
			/* Above even TLS 1.3's ciphertext limit 2^14 + 256 (section 5.2). */
			const size_t big = MAX_PLAIN + 256 + 1;

			put_header(&p->out, CT_HANDSHAKE, ver, big);
			buf_add(&p->out, body, body_len);
			buf_reserve(&p->out, big - body_len);
			memset(p->out.p + p->out.len, 0, big - body_len);
			p->out.len += big - body_len;
			start_waiting(p);
			return;
		}
		break;
	default:
		break;
	}
	buf_add(&p->out, rec, len);
}

static ssize_t push(gnutls_transport_ptr_t ptr, const giovec_t *iov, int iovcnt)
{
	struct peer *p = ptr;
	size_t total = 0, off = 0;

	for (int i = 0; i < iovcnt; i++) {
		buf_add(&p->pending, iov[i].iov_base, iov[i].iov_len);
		total += iov[i].iov_len;
	}
	if (p->mode == PUSH_DISCARD) {
		p->pending.len = 0;
		return (ssize_t)total;
	}
	/* GnuTLS writes whole records; take them one by one. */
	while (p->pending.len - off >= REC_HDR) {
		const unsigned char *rec = p->pending.p + off;
		size_t len = REC_HDR + ((size_t)rec[3] << 8 | rec[4]);

		if (p->pending.len - off < len)
			break;
		if (p->rewrite)
			rewrite_record(p, rec, len);
		else
			buf_add(&p->out, rec, len);
		off += len;
	}
	buf_consume(&p->pending, off);
	if (p->mode == PUSH_HOLD)
		buf_add(&p->hold, p->out.p, p->out.len);
	else
		write_all(p, p->out.p, p->out.len);
	p->out.len = 0;
	return (ssize_t)total;
}

static void tap_bytes(struct tap *t, const unsigned char *data, size_t n)
{
	while (n > 0) {
		size_t take;

		if (t->cur.len < REC_HDR) {
			buf_byte(&t->cur, *data++);
			n--;
			if (t->cur.len == REC_HDR)
				t->body_left = (size_t)t->cur.p[3] << 8 | t->cur.p[4];
		} else {
			take = n < t->body_left ? n : t->body_left;
			buf_add(&t->cur, data, take);
			data += take;
			n -= take;
			t->body_left -= take;
		}
		if (t->cur.len < REC_HDR || t->body_left > 0)
			continue;
		/* A protected alert is at least 16 bytes of tag: 2 bytes is plaintext. */
		if (t->cur.p[0] == CT_ALERT && t->cur.len == REC_HDR + 2) {
			t->alert_seen = true;
			t->level = t->cur.p[REC_HDR];
			t->desc = t->cur.p[REC_HDR + 1];
		}
		t->records++;
		t->last.len = 0;
		buf_add(&t->last, t->cur.p, t->cur.len);
		t->cur.len = 0;
	}
}

static ssize_t pull(gnutls_transport_ptr_t ptr, void *data, size_t len)
{
	struct peer *p = ptr;

	/* coalesced-flight: never wait for an answer with our flight still held. */
	if (p->coalesce.len > 0) {
		flush_coalesced(p);
		write_all(p, p->out.p, p->out.len);
		p->out.len = 0;
	}
	for (;;) {
		int64_t now = now_ms();
		int wait = -1;
		struct pollfd pfd = { .fd = p->fd, .events = POLLIN };
		ssize_t n;
		int r;

		if (p->deadline > 0)
			wait = p->deadline > now ? (int)(p->deadline - now) : 0;
		if (p->idle_ms > 0 && (wait < 0 || wait > p->idle_ms))
			wait = p->idle_ms;
		r = poll(&pfd, 1, wait);
		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0) {
			p->timed_out = true;
			p->t_end = now_ms();
			errno = p->timeout_is_again ? EAGAIN : ETIMEDOUT;
			return -1;
		}
		n = recv(p->fd, data, len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n > 0) {
			p->t_last_rx = now_ms();
			tap_bytes(&p->tap, data, (size_t)n);
			return n;
		}
		p->t_end = now_ms();
		if (n == 0) {
			p->eof = true;
			return 0;
		}
		p->read_errno = errno;
		if (errno == ECONNRESET)
			p->reset = true;
		return -1;
	}
}

/* The private ClientHello extension that makes ch-fragmented-big big. */
static int big_ext_send(gnutls_session_t s, gnutls_buffer_t ext)
{
	static const unsigned char zeros[BIG_EXT_LEN];
	int ret;

	(void)s;
	ret = gnutls_buffer_append_data(ext, zeros, sizeof(zeros));
	return ret < 0 ? ret : (int)sizeof(zeros);
}

static int big_ext_recv(gnutls_session_t s, const unsigned char *data, size_t len)
{
	(void)s;
	(void)data;
	(void)len;
	return 0;
}

/* ---- protected records -------------------------------------------------------------------- */

struct sealer {
	gnutls_aead_cipher_hd_t h;
	unsigned char iv[12];
	uint64_t seq;
	bool tls13, explicit_nonce;
};

/* GnuTLS's current key, IV and next sequence number for one direction (read: the server's). */
static bool sealer_init(struct sealer *w, struct peer *p, unsigned int read, bool quiet)
{
	gnutls_datum_t mac, iv, key;
	unsigned char seq[8];
	gnutls_cipher_algorithm_t alg = gnutls_cipher_get(p->s);
	int ret = gnutls_record_get_state(p->s, read, &mac, &iv, &key, seq);
	size_t want_iv;

	memset(w, 0, sizeof(*w));
	if (ret < 0) {
		if (!quiet)
			fprintf(stderr, "hostile-peer: gnutls_record_get_state: %s\n",
				gnutls_strerror(ret));
		return false;
	}
	w->tls13 = p->tls13;
	/* TLS 1.2 GCM and CCM carry an 8-byte explicit nonce; GnuTLS's IV is the salt. */
	w->explicit_nonce = !w->tls13 && alg != GNUTLS_CIPHER_CHACHA20_POLY1305;
	want_iv = w->explicit_nonce ? 4 : 12;
	if (iv.size != want_iv) {
		if (!quiet)
			fprintf(stderr, "hostile-peer: IV is %u bytes, expected %zu\n", iv.size,
				want_iv);
		return false;
	}
	memcpy(w->iv, iv.data, iv.size);
	for (int i = 0; i < 8; i++)
		w->seq = w->seq << 8 | seq[i];
	ret = gnutls_aead_cipher_init(&w->h, alg, &key);
	if (ret < 0) {
		w->h = NULL;
		if (!quiet)
			fprintf(stderr, "hostile-peer: gnutls_aead_cipher_init: %s\n",
				gnutls_strerror(ret));
		return false;
	}
	return true;
}

static void sealer_deinit(struct sealer *w)
{
	if (w->h != NULL)
		gnutls_aead_cipher_deinit(w->h);
	w->h = NULL;
}

/*
 * The per-record nonce and additional data.
 *  TLS 1.3 (RFC 8446 section 5.2-5.3): nonce = IV XOR seq (left-padded to
 *    12 bytes); AAD = the record header.
 *  TLS 1.2 (RFC 5246 section 6.2.3.3): AAD = seq || type || version ||
 *    plaintext length; GCM and CCM (RFC 5288, RFC 6655): nonce = 4-byte
 *    salt || the record's 8-byte explicit nonce; ChaCha20-Poly1305
 *    (RFC 7905): nonce = IV XOR seq as in TLS 1.3, no explicit nonce.
 */
static size_t nonce_and_aad(const struct sealer *w, const unsigned char hdr[REC_HDR],
			    const unsigned char *explicit_nonce, size_t plain_len,
			    unsigned char nonce[12], unsigned char aad[13])
{
	unsigned char seqb[8];

	for (int i = 0; i < 8; i++)
		seqb[i] = (unsigned char)(w->seq >> (56 - 8 * i));
	if (w->explicit_nonce) {
		memcpy(nonce, w->iv, 4);
		memcpy(nonce + 4, explicit_nonce, 8);
	} else {
		memcpy(nonce, w->iv, 12);
		for (int i = 0; i < 8; i++)
			nonce[4 + i] ^= seqb[i];
	}
	if (w->tls13) {
		memcpy(aad, hdr, REC_HDR);
		return REC_HDR;
	}
	memcpy(aad, seqb, 8);
	memcpy(aad + 8, hdr, 3); /* type, version */
	aad[11] = (unsigned char)(plain_len >> 8);
	aad[12] = (unsigned char)plain_len;
	return 13;
}

/*
 * Appends one protected record of content type @type carrying @data to @b:
 * in TLS 1.3 a type-23 record holding TLSInnerPlaintext = content || type
 * (RFC 8446 section 5.2), in TLS 1.2 a record of @type itself, preceded by
 * the explicit nonce (the sequence number) for GCM and CCM.  @flip flips
 * one bit of the ciphertext, so that the tag no longer matches.
 */
static void seal(struct sealer *w, struct buf *b, unsigned char type, const void *data,
		 size_t len, bool flip)
{
	static const unsigned char v12[2] = { 3, 3 };
	unsigned char seqb[8], nonce[12], aad[13];
	size_t plain_len = len + (w->tls13 ? 1 : 0), aad_len, ct_len, body_len;
	unsigned char *plain = malloc(plain_len + 1);
	int ret;

	if (plain == NULL) {
		fprintf(stderr, "hostile-peer: out of memory\n");
		exit(1);
	}
	if (len > 0)
		memcpy(plain, data, len);
	if (w->tls13)
		plain[len] = type;
	for (int i = 0; i < 8; i++)
		seqb[i] = (unsigned char)(w->seq >> (56 - 8 * i));
	body_len = (w->explicit_nonce ? 8 : 0) + plain_len + TAG_LEN;
	put_header(b, w->tls13 ? CT_APPLICATION_DATA : type, v12, body_len);
	aad_len = nonce_and_aad(w, b->p + b->len - REC_HDR, seqb, plain_len, nonce, aad);
	if (w->explicit_nonce)
		buf_add(b, seqb, 8);
	buf_reserve(b, plain_len + TAG_LEN);
	ct_len = plain_len + TAG_LEN;
	ret = gnutls_aead_cipher_encrypt(w->h, nonce, sizeof(nonce), aad, aad_len, TAG_LEN, plain,
					 plain_len, b->p + b->len, &ct_len);
	free(plain);
	if (ret < 0 || ct_len != plain_len + TAG_LEN) {
		fprintf(stderr, "hostile-peer: gnutls_aead_cipher_encrypt: %s\n",
			gnutls_strerror(ret));
		exit(1);
	}
	if (flip)
		b->p[b->len] ^= 0x01;
	b->len += ct_len;
	w->seq++;
}

/*
 * GnuTLS reports an alert's description but not the level the server put
 * in it (in TLS 1.3 it calls every alert but close_notify and
 * user_canceled fatal).  The alert was the last record the tap saw: opened
 * here with the read state GnuTLS reports.  @back: how many records
 * GnuTLS's read sequence number is past it (1: GnuTLS read it too, 0: the
 * tap alone did).
 */
static bool open_last_alert(struct peer *p, unsigned int back, int *level, int *desc)
{
	const struct buf *rec = &p->tap.last;
	struct sealer w;
	unsigned char nonce[12], aad[13], *plain;
	size_t off, ct_len, plain_len, aad_len;
	bool ok = false;

	if (rec->len < REC_HDR + TAG_LEN ||
	    rec->p[0] != (p->tls13 ? CT_APPLICATION_DATA : CT_ALERT) ||
	    !sealer_init(&w, p, 1, true))
		return false;
	w.seq -= back;
	off = REC_HDR + (w.explicit_nonce ? 8 : 0);
	if (rec->len >= off + TAG_LEN && (plain = malloc(rec->len)) != NULL) {
		ct_len = rec->len - off;
		plain_len = ct_len - TAG_LEN;
		aad_len = nonce_and_aad(&w, rec->p, rec->p + REC_HDR, plain_len, nonce, aad);
		if (gnutls_aead_cipher_decrypt(w.h, nonce, sizeof(nonce), aad, aad_len, TAG_LEN,
					       rec->p + off, ct_len, plain, &plain_len) == 0) {
			if (p->tls13) {
				/* TLSInnerPlaintext: content || type || zero padding */
				while (plain_len > 0 && plain[plain_len - 1] == 0)
					plain_len--;
				ok = plain_len == 3 && plain[2] == CT_ALERT;
			} else {
				ok = plain_len == 2;
			}
			if (ok) {
				*level = plain[0];
				*desc = plain[1];
			}
		}
		free(plain);
	}
	sealer_deinit(&w);
	return ok;
}

/* ---- outcomes ------------------------------------------------------------------------------ */

static void set_level_as_sent(struct peer *p, struct result *r)
{
	int level, desc;

	if (open_last_alert(p, 1, &level, &desc) && desc == r->alert)
		r->level = level;
	else
		fprintf(stderr, "hostile-peer: alert level as GnuTLS judged it\n");
}

/* A failed GnuTLS call after the case was played: what did the server do? */
static void classify(struct peer *p, int ret, struct result *r)
{
	if (ret == GNUTLS_E_FATAL_ALERT_RECEIVED || ret == GNUTLS_E_WARNING_ALERT_RECEIVED) {
		r->what = "alert";
		r->alert = (int)gnutls_alert_get(p->s);
		r->level = ret == GNUTLS_E_FATAL_ALERT_RECEIVED ? 2 : 1;
		if (p->tap.alert_seen && p->tap.desc == r->alert) {
			r->level = p->tap.level;
			r->plaintext_alert = true;
		} else {
			set_level_as_sent(p, r);
		}
		p->t_end = p->t_last_rx;
	} else if (p->tap.alert_seen) {
		/* A plaintext alert GnuTLS did not take as one (e.g. after ServerHello). */
		r->what = "alert";
		r->alert = p->tap.desc;
		r->level = p->tap.level;
		r->plaintext_alert = true;
		r->detail = gnutls_strerror_name(ret);
	} else if (p->timed_out) {
		r->what = "timeout";
	} else if (p->reset) {
		r->what = "reset";
	} else if (p->eof || ret == GNUTLS_E_PREMATURE_TERMINATION) {
		r->what = "close";
	} else {
		/* The server sent something GnuTLS could not accept, or a local read error. */
		r->what = "invalid";
		r->detail = gnutls_strerror_name(ret);
		if (p->read_errno != 0)
			fprintf(stderr, "hostile-peer: recv: %s\n", strerror(p->read_errno));
		fprintf(stderr, "hostile-peer: GnuTLS: %s\n", gnutls_strerror(ret));
		p->t_end = now_ms();
	}
}

static void note_reply(struct peer *p, const char *data, size_t n)
{
	p->reply_bytes += n;
	for (size_t i = 0; i < n && !p->first_line_done; i++) {
		if (data[i] == '\r' || data[i] == '\n' ||
		    p->first_line_len == sizeof(p->first_line) - 1) {
			p->first_line_done = true;
			break;
		}
		/* one token on the output line: no spaces, nothing unprintable, no '=' */
		p->first_line[p->first_line_len++] =
			data[i] > ' ' && data[i] < 127 && data[i] != '=' ? data[i] : '_';
	}
}

static int key_update(struct peer *p, unsigned int flags)
{
	int ret = gnutls_session_key_update(p->s, flags);

	if (ret < 0)
		fprintf(stderr, "hostile-peer: gnutls_session_key_update: %s\n",
			gnutls_strerror(ret));
	return ret;
}

/*
 * Reads the server's answer until something ends it.  A positive read
 * waits --wait-ms from @start for the first reply byte, then ends the
 * reply at REPLY_SILENCE_MS of silence or at the server's close; a
 * negative one waits until --wait-ms after the misbehaviour for an
 * alert, a close or a reset, reading (and counting) any data before it.
 */
static void read_answer(struct peer *p, bool positive, int64_t start, struct result *r)
{
	char data[16384];

	for (;;) {
		ssize_t n;
		bool tick;

		if (positive && p->reply_bytes > 0) {
			p->deadline = 0;
			p->idle_ms = REPLY_SILENCE_MS;
		} else {
			p->deadline = (positive ? start : p->t_mis) + p->o->wait_ms;
			p->idle_ms = 0;
		}
		/*
		 * keyupdate-while-reading: the read returns (EAGAIN) when the next
		 * KeyUpdate is due; it is sent here, outside GnuTLS's read.
		 */
		tick = p->updates_left > 0;
		if (tick) {
			if (now_ms() >= p->next_update) {
				if (key_update(p, 0) < 0)
					p->updates_left = 0;
				else
					p->updates_sent++;
				p->updates_left--;
				p->next_update = now_ms() + 200;
				continue;
			}
			if (p->deadline == 0 || p->deadline > p->next_update)
				p->deadline = p->next_update;
			p->timeout_is_again = true;
		}
		n = gnutls_record_recv(p->s, data, sizeof(data));
		if (tick) {
			p->timeout_is_again = false;
			if (n == GNUTLS_E_AGAIN && p->timed_out && now_ms() >= p->next_update) {
				p->timed_out = false;
				continue;
			}
		}
		if (n > 0) {
			note_reply(p, data, (size_t)n);
			continue;
		}
		if (n == 0) {
			/* close_notify (GnuTLS reports a bare EOF as PREMATURE_TERMINATION) */
			r->what = "alert";
			r->alert = 0;
			r->level = 1;
			set_level_as_sent(p, r);
			p->t_end = p->t_last_rx;
			break;
		}
		/* A post-handshake message (ticket, the server's KeyUpdate) was taken in. */
		if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
			continue;
		if (n == GNUTLS_E_REHANDSHAKE) {
			fprintf(stderr, "hostile-peer: server sent HelloRequest; ignored\n");
			continue;
		}
		classify(p, (int)n, r);
		break;
	}
	if (positive && p->reply_bytes > 0 &&
	    (strcmp(r->what, "timeout") == 0 || strcmp(r->what, "close") == 0 ||
	     (strcmp(r->what, "alert") == 0 && r->alert == 0))) {
		r->what = "ok";
		if (p->timed_out)
			p->t_end = p->t_last_rx;
	}
}

/* ---- the cases after the handshake --------------------------------------------------------- */


static int send_request_gnutls(struct peer *p)
{
	ssize_t n;

	do
		n = gnutls_record_send(p->s, p->o->request.p, p->o->request.len);
	while (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED);
	if (n < 0 && !p->send_failed) {
		fprintf(stderr, "hostile-peer: gnutls_record_send: %s\n", gnutls_strerror((int)n));
		return -1;
	}
	return 0;
}

/* Plays a case after the handshake.  Returns false for a local failure. */
static bool play_post(struct peer *p, struct result *r)
{
	const struct buf *req = &p->o->request;
	struct sealer w = { 0 };
	struct buf b = { 0 };
	const bool positive = (p->c->flags & CF_OK) != 0;
	int64_t start;

	switch (p->c->id) {
	case KEYUPDATE_VALID:
		/* update_requested: the server must answer with its own KeyUpdate (4.6.3). */
		mark_misbehaved(p);
		if (key_update(p, GNUTLS_KU_PEER) < 0 || send_request_gnutls(p) < 0)
			return false;
		break;
	case KEYUPDATE_WHILE_READING:
		mark_misbehaved(p);
		if (send_request_gnutls(p) < 0)
			return false;
		p->updates_left = p->o->fragments;
		p->next_update = now_ms() + 200;
		break;
	case KEYUPDATE_MANY:
		for (long i = 0; i < p->o->fragments && !p->send_failed; i++) {
			if (i > 0)
				usleep(50000);
			mark_misbehaved(p);
			if (key_update(p, 0) < 0)
				return false;
		}
		if (send_request_gnutls(p) < 0)
			return false;
		break;
	case KEYUPDATE_FLOOD:
		p->mode = PUSH_HOLD;
		for (long i = 0; i < p->o->fragments; i++)
			if (key_update(p, 0) < 0)
				return false;
		if (send_request_gnutls(p) < 0)
			return false;
		p->mode = PUSH_PASS;
		fprintf(stderr, "hostile-peer: %ld KeyUpdates and the request: %zu bytes,"
				" one write\n", p->o->fragments, p->hold.len);
		mark_misbehaved(p);
		write_all(p, p->hold.p, p->hold.len);
		break;
	case KEYUPDATE_SPLIT: {
		/*
		 * GnuTLS makes the KeyUpdate and moves its write state to the next
		 * key; its record is dropped and the same message goes out as two
		 * records under the old key, with the sequence numbers it would
		 * have had.  The server then expects the next key at sequence 0,
		 * which is where GnuTLS now stands: it writes the request.
		 */
		static const unsigned char ku_head[4] = { HS_KEY_UPDATE, 0, 0, 1 };
		static const unsigned char ku_body[1] = { 0 }; /* update_not_requested */

		if (!sealer_init(&w, p, 0, false))
			return false;
		p->mode = PUSH_DISCARD;
		if (key_update(p, 0) < 0)
			return false;
		p->mode = PUSH_PASS;
		seal(&w, &b, CT_HANDSHAKE, ku_head, sizeof(ku_head), false);
		seal(&w, &b, CT_HANDSHAKE, ku_body, sizeof(ku_body), false);
		mark_misbehaved(p);
		write_all(p, b.p, b.len);
		if (send_request_gnutls(p) < 0)
			return false;
		break;
	}
	case PARTIAL_RECORD_QUEUED: {
		size_t first, half;
		char data[16384];

		/*
		 * The half record is already queued when the server, its first
		 * answer sent, waits for the next request: the state a poll-driven
		 * server spins in.  Its CPU is measured from the first answer's end.
		 */
		if (!sealer_init(&w, p, 0, false))
			return false;
		p->write_in_step = false;
		seal(&w, &b, CT_APPLICATION_DATA, req->p, req->len, false);
		first = b.len;
		seal(&w, &b, CT_APPLICATION_DATA, req->p, req->len, false);
		half = first + (b.len - first) / 2;
		write_all(p, b.p, half);
		p->deadline = now_ms() + p->o->wait_ms;
		p->idle_ms = 300; /* the first answer is over after this much silence */
		p->timeout_is_again = true;
		for (;;) {
			ssize_t n = gnutls_record_recv(p->s, data, sizeof(data));

			if (n > 0) {
				note_reply(p, data, (size_t)n);
				continue;
			}
			if (n == GNUTLS_E_INTERRUPTED || (n == GNUTLS_E_AGAIN && !p->timed_out))
				continue;
			break;
		}
		p->timeout_is_again = false;
		if (!p->timed_out || p->reply_bytes == 0) {
			fprintf(stderr, "hostile-peer: no first answer\n");
			read_answer(p, false, 0, r);
			break;
		}
		p->timed_out = false;
		p->reply_bytes = 0;
		p->first_line_done = false;
		p->first_line_len = 0;
		mark_misbehaved(p);
		usleep((useconds_t)p->o->wait_ms * 1000);
		take_cpu1(p);
		write_all(p, b.p + half, b.len - half);
		read_answer(p, true, now_ms(), r);
		free(b.p);
		sealer_deinit(&w);
		return true;
	}
	case PARTIAL_RECORD:
	case PARTIAL_RECORD_CLOSE: {
		size_t half;

		if (!sealer_init(&w, p, 0, false))
			return false;
		p->write_in_step = false;
		seal(&w, &b, CT_APPLICATION_DATA, req->p, req->len, false);
		half = b.len / 2;
		mark_misbehaved(p);
		write_all(p, b.p, half);
		if (p->c->id == PARTIAL_RECORD_CLOSE) {
			/* Our FIN in the middle of a record: the server has to end it. */
			if (shutdown(p->fd, SHUT_WR) != 0)
				perror("hostile-peer: shutdown");
			break;
		}
		/*
		 * The server should sleep now.  TLS 1.3 tickets may still come in
		 * and are taken; anything else ends the wait as the answer.
		 */
		p->deadline = p->t_mis + p->o->wait_ms;
		p->idle_ms = 0;
		p->timeout_is_again = true;
		for (;;) {
			char data[512];
			ssize_t n = gnutls_record_recv(p->s, data, sizeof(data));

			if (n == GNUTLS_E_AGAIN && p->timed_out)
				break;
			if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
				continue;
			p->timeout_is_again = false;
			take_cpu1(p);
			fprintf(stderr, "hostile-peer: server reacted to the half record\n");
			if (n > 0) {
				/* data before the request was whole: read on for the rest */
				note_reply(p, data, (size_t)n);
				read_answer(p, false, 0, r);
			} else if (n == 0) {
				*r = (struct result){ .what = "alert", .alert = 0, .level = 1 };
				set_level_as_sent(p, r);
				p->t_end = p->t_last_rx;
			} else {
				classify(p, (int)n, r);
			}
			free(b.p);
			sealer_deinit(&w);
			return true;
		}
		p->timeout_is_again = false;
		p->timed_out = false;
		take_cpu1(p);
		write_all(p, b.p + half, b.len - half);
		read_answer(p, true, now_ms(), r);
		free(b.p);
		sealer_deinit(&w);
		return true;
	}
	default: {
		static const unsigned char ku_bad[5] = { HS_KEY_UPDATE, 0, 0, 1, 2 };
		static const unsigned char ku_empty[4] = { HS_KEY_UPDATE, 0, 0, 0 };
		static const unsigned char ku_long[6] = { HS_KEY_UPDATE, 0, 0, 2, 0, 0 };
		static const unsigned char ku_two[10] = { HS_KEY_UPDATE, 0, 0, 1, 0,
							  HS_KEY_UPDATE, 0, 0, 1, 0 };
		static const unsigned char ku_part[2] = { HS_KEY_UPDATE, 0 };

		if (!sealer_init(&w, p, 0, false))
			return false;
		p->write_in_step = false;
		switch (p->c->id) {
		case CRAFTED_VALID:
			seal(&w, &b, CT_APPLICATION_DATA, req->p, req->len, false);
			break;
		case BAD_MAC:
			seal(&w, &b, CT_APPLICATION_DATA, req->p, req->len, true);
			break;
		case BAD_MAC_AFTER_DATA:
			seal(&w, &b, CT_APPLICATION_DATA, req->p, req->len, false);
			seal(&w, &b, CT_APPLICATION_DATA, req->p, req->len, true);
			break;
		case WRONG_INNER_TYPE:
			seal(&w, &b, 99, req->p, req->len, false);
			break;
		case ZERO_LENGTH_APPDATA:
			/* RFC 8446 section 5.1: zero-length application data MAY be sent. */
			seal(&w, &b, CT_APPLICATION_DATA, "", 0, false);
			seal(&w, &b, CT_APPLICATION_DATA, req->p, req->len, false);
			break;
		case ZERO_LENGTH_HANDSHAKE_POST:
			seal(&w, &b, CT_HANDSHAKE, "", 0, false);
			break;
		case OVERSIZED_RECORD: {
			/* Within the ciphertext limit, so only the decrypted length is wrong. */
			unsigned char *big = malloc(MAX_PLAIN + 1);

			if (big == NULL)
				return false;
			memset(big, 'A', MAX_PLAIN + 1);
			seal(&w, &b, CT_APPLICATION_DATA, big, MAX_PLAIN + 1, false);
			free(big);
			break;
		}
		case SHORT_RECORD: {
			/* Shorter than any tag: nothing to decrypt, nothing to wait for. */
			static const unsigned char v12[2] = { 3, 3 };
			unsigned char junk[64];
			size_t n = p->o->fragments < 64 ? (size_t)p->o->fragments : 64;

			fill_pseudo_random(junk, n);
			put_header(&b, CT_APPLICATION_DATA, v12, n);
			buf_add(&b, junk, n);
			break;
		}
		case KEYUPDATE_BAD_VALUE:
			seal(&w, &b, CT_HANDSHAKE, ku_bad, sizeof(ku_bad), false);
			break;
		case KEYUPDATE_EMPTY:
			seal(&w, &b, CT_HANDSHAKE, ku_empty, sizeof(ku_empty), false);
			break;
		case KEYUPDATE_LONG:
			seal(&w, &b, CT_HANDSHAKE, ku_long, sizeof(ku_long), false);
			break;
		case KEYUPDATE_NOT_LAST:
			seal(&w, &b, CT_HANDSHAKE, ku_two, sizeof(ku_two), false);
			break;
		case APPDATA_IN_HANDSHAKE:
			/* The rest of the KeyUpdate never comes; data arrives in between. */
			seal(&w, &b, CT_HANDSHAKE, ku_part, sizeof(ku_part), false);
			seal(&w, &b, CT_APPLICATION_DATA, req->p, req->len, false);
			break;
		default:
			fprintf(stderr, "hostile-peer: case not played after the handshake\n");
			return false;
		}
		mark_misbehaved(p);
		write_all(p, b.p, b.len);
		break;
	}
	}
	free(b.p);
	sealer_deinit(&w);
	start = p->t_mis;
	if (p->c->id == KEYUPDATE_MANY)
		start = now_ms(); /* the first reply byte is due after the request */
	read_answer(p, positive, start, r);
	return true;
}

/* ---- setup and report ---------------------------------------------------------------------- */

static int tcp_connect(const char *host, const char *port)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *ai;
	int fd = -1, one = 1, ret;

	ret = getaddrinfo(host, port, &hints, &res);
	if (ret != 0) {
		fprintf(stderr, "hostile-peer: %s:%s: %s\n", host, port, gai_strerror(ret));
		return -1;
	}
	for (ai = res; ai != NULL && fd < 0; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
			fprintf(stderr, "hostile-peer: connect %s:%s: %s\n", host, port,
				strerror(errno));
			close(fd);
			fd = -1;
		}
	}
	freeaddrinfo(res);
	/* Every write is meant to leave at once, as its own segment(s). */
	if (fd >= 0)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

static bool is_ip_literal(const char *s)
{
	unsigned char a[16];

	return inet_pton(AF_INET, s, a) == 1 || inet_pton(AF_INET6, s, a) == 1;
}

static bool setup_session(struct peer *p, gnutls_certificate_credentials_t *cert,
			  gnutls_psk_client_credentials_t *psk)
{
	const struct opts *o = p->o;
	const char *name = o->server_name != NULL ? o->server_name : o->host;
	const char *err = NULL;
	char prio[512];
	int ret;

	gnutls_init(&p->s, GNUTLS_CLIENT);
	/*
	 * Only the chosen version, only the four AEADs a kernel can carry (or
	 * the one asked for), only ECDHE (RFC 8446 groups / TLS 1.2 ECDHE kx).
	 */
	snprintf(prio, sizeof(prio),
		 "NORMAL:-VERS-ALL:+VERS-TLS%s:-CIPHER-ALL:%s:-MAC-ALL:+AEAD:-KX-ALL:"
		 "+ECDHE-ECDSA:+ECDHE-RSA%s:-GROUP-ALL:+GROUP-X25519:+GROUP-SECP256R1:"
		 "+GROUP-SECP384R1:+GROUP-SECP521R1",
		 o->tls12 ? "1.2" : "1.3",
		 o->cipher >= 0 ? (o->cipher == 0   ? "+AES-128-GCM"
				   : o->cipher == 1 ? "+AES-256-GCM"
				   : o->cipher == 2 ? "+AES-128-CCM"
						    : "+CHACHA20-POLY1305")
				: "+AES-128-GCM:+AES-256-GCM:+AES-128-CCM:+CHACHA20-POLY1305",
		 o->psk != NULL ? ":+ECDHE-PSK" : "");
	ret = gnutls_priority_set_direct(p->s, prio, &err);
	if (ret < 0) {
		fprintf(stderr, "hostile-peer: priority '%s' at '%s': %s\n", prio,
			err != NULL ? err : "", gnutls_strerror(ret));
		return false;
	}

	gnutls_certificate_allocate_credentials(cert);
	if (o->ca != NULL && (ret = gnutls_certificate_set_x509_trust_file(
				      *cert, o->ca, GNUTLS_X509_FMT_PEM)) <= 0) {
		fprintf(stderr, "hostile-peer: --ca %s: %s\n", o->ca,
			ret < 0 ? gnutls_strerror(ret) : "no certificates");
		return false;
	}
	if (o->cert != NULL && (ret = gnutls_certificate_set_x509_key_file(
					*cert, o->cert, o->key, GNUTLS_X509_FMT_PEM)) < 0) {
		fprintf(stderr, "hostile-peer: --cert/--key: %s\n", gnutls_strerror(ret));
		return false;
	}
	gnutls_credentials_set(p->s, GNUTLS_CRD_CERTIFICATE, *cert);
	if (o->ca != NULL)
		gnutls_session_set_verify_cert(p->s, name, 0);
	if (!is_ip_literal(name)) /* RFC 6066 section 3: no literal addresses in SNI */
		gnutls_server_name_set(p->s, GNUTLS_NAME_DNS, name, strlen(name));

	if (o->psk != NULL) {
		const char *colon = strchr(o->psk, ':');
		char id[256];
		gnutls_datum_t key;

		if (colon == NULL || (size_t)(colon - o->psk) >= sizeof(id)) {
			fprintf(stderr, "hostile-peer: --psk wants ID:HEXKEY\n");
			return false;
		}
		memcpy(id, o->psk, (size_t)(colon - o->psk));
		id[colon - o->psk] = '\0';
		key.data = (unsigned char *)(uintptr_t)(colon + 1);
		key.size = (unsigned int)strlen(colon + 1);
		gnutls_psk_allocate_client_credentials(psk);
		ret = gnutls_psk_set_client_credentials(*psk, id, &key, GNUTLS_PSK_KEY_HEX);
		if (ret < 0) {
			fprintf(stderr, "hostile-peer: --psk: %s\n", gnutls_strerror(ret));
			return false;
		}
		gnutls_credentials_set(p->s, GNUTLS_CRD_PSK, *psk);
	}

	if (p->c->id == CH_FRAGMENTED_BIG) {
		ret = gnutls_session_ext_register(p->s, "hostile-padding", BIG_EXT_TYPE,
						  GNUTLS_EXT_TLS, big_ext_recv, big_ext_send, NULL,
						  NULL, NULL, GNUTLS_EXT_FLAG_CLIENT_HELLO |
								      GNUTLS_EXT_FLAG_TLS);
		if (ret < 0) {
			fprintf(stderr, "hostile-peer: gnutls_session_ext_register: %s\n",
				gnutls_strerror(ret));
			return false;
		}
	}
	gnutls_session_set_ptr(p->s, p);
	gnutls_transport_set_ptr(p->s, p);
	gnutls_transport_set_vec_push_function(p->s, push);
	gnutls_transport_set_pull_function(p->s, pull);
	return true;
}

static void print_result(const struct peer *p, const struct result *r, bool handshake_done)
{
	const struct opts *o = p->o;
	const char *version = o->tls12 ? "TLS1.2" : "TLS1.3";
	const char *cipher = o->cipher >= 0 ? ciphers[o->cipher].name : "any";
	char line[1024];
	size_t n = 0;

	if (handshake_done) {
		gnutls_cipher_algorithm_t alg = gnutls_cipher_get(p->s);

		version = gnutls_protocol_get_version(p->s) == GNUTLS_TLS1_3 ? "TLS1.3" : "TLS1.2";
		for (size_t i = 0; i < sizeof(ciphers) / sizeof(ciphers[0]); i++)
			if (ciphers[i].alg == alg)
				cipher = ciphers[i].name;
	}
#define ADD(...) \
	(n += (size_t)snprintf(line + n, n < sizeof(line) ? sizeof(line) - n : 0, __VA_ARGS__))
	ADD("case=%s version=%s cipher=%s result=%s", p->c->name, version, cipher, r->what);
	if (strcmp(r->what, "alert") == 0)
		ADD(" alert=%d alert_name=%s level=%d", r->alert, alert_name(r->alert), r->level);
	/* A plaintext alert once the records are protected is itself a finding. */
	if (r->plaintext_alert && handshake_done)
		ADD(" alert_record=plaintext");
	ADD(" ms=%lld", p->misbehaved && p->t_end >= p->t_mis ? (long long)(p->t_end - p->t_mis)
							      : 0LL);
	if (o->server_pid > 0 && p->misbehaved) {
		long tck = sysconf(_SC_CLK_TCK);

		if (p->cpu0 >= 0 && p->cpu1 >= 0 && tck > 0)
			ADD(" server_cpu_ms=%lld", (p->cpu1 - p->cpu0) * 1000 / tck);
		else
			ADD(" server_cpu_ms=unknown");
	}
	if (p->reply_bytes > 0)
		ADD(" reply_bytes=%zu first_line=%s", p->reply_bytes,
		    p->first_line_len > 0 ? p->first_line : "_");
	if (p->c->id == KEYUPDATE_WHILE_READING)
		ADD(" updates_sent=%ld", p->updates_sent);
	if (r->detail != NULL)
		ADD(" detail=%s", r->detail);
	if (r->then != NULL)
		ADD(" then=%s", r->then);
#undef ADD
	puts(line);
	fflush(stdout);
}

/*
 * After a user_canceled alert (a closure alert, RFC 8446 section 6.1): read
 * on, for at most 2 s, and say what follows it.  GnuTLS takes the next
 * record in the handshake or as data, whichever the session is in; a
 * plaintext close_notify shows in the tap.
 */
static const char *read_after_user_canceled(struct peer *p, bool handshake_done)
{
	char data[256];
	int ret;

	p->tap.alert_seen = false;
	p->deadline = now_ms() + 2000;
	p->idle_ms = 0;
	p->timed_out = p->eof = false;
	do
		ret = handshake_done ? (int)gnutls_record_recv(p->s, data, sizeof(data))
				     : gnutls_handshake(p->s);
	while (ret == GNUTLS_E_AGAIN || ret == GNUTLS_E_INTERRUPTED);
	if ((handshake_done && ret == 0) ||
	    ((ret == GNUTLS_E_WARNING_ALERT_RECEIVED || ret == GNUTLS_E_FATAL_ALERT_RECEIVED) &&
	     gnutls_alert_get(p->s) == GNUTLS_A_CLOSE_NOTIFY) ||
	    (p->tap.alert_seen && p->tap.desc == GNUTLS_A_CLOSE_NOTIFY))
		return "close_notify";
	if (p->timed_out)
		return "timeout";
	if (p->eof || ret == GNUTLS_E_PREMATURE_TERMINATION)
		return "close";
	if (ret == GNUTLS_E_INVALID_SESSION && handshake_done && p->tls13) {
		/*
		 * GnuTLS 3.7 takes no record after a TLS 1.3 user_canceled (the
		 * session is invalid from then on): the next one is read past it
		 * and opened here.
		 */
		unsigned long seen = p->tap.records;
		int level, desc;

		if (!open_last_alert(p, 0, &level, &desc)) {
			while (p->tap.records == seen && pull(p, data, 1) == 1)
				;
			if (p->tap.records == seen)
				return p->timed_out ? "timeout" : "close";
			if (!open_last_alert(p, 0, &level, &desc))
				return "other";
		}
		return desc == GNUTLS_A_CLOSE_NOTIFY ? "close_notify" : "other";
	}
	fprintf(stderr, "hostile-peer: after user_canceled: %s\n", gnutls_strerror_name(ret));
	return "other";
}

int main(int argc, char **argv)
{
	static struct opts o;
	static struct peer p;
	struct result r = { .what = "error" };
	gnutls_certificate_credentials_t cert = NULL;
	gnutls_psk_client_credentials_t psk = NULL;
	bool handshake_done = false, played = false;
	int ret;

	ret = parse_opts(argc, argv, &o);
	if (ret != 0)
		return ret < 0 ? 0 : ret;
	signal(SIGPIPE, SIG_IGN);
	p.o = &o;
	p.c = o.c;
	p.tls13 = !o.tls12;
	p.fd = -1;
	p.write_in_step = true;
	p.cpu0 = p.cpu1 = -1;

	if ((o.c->flags & CF_TLS12) && !o.tls12) {
		fprintf(stderr, "hostile-peer: %s is a TLS 1.2 case\n", o.c->name);
		goto report;
	}
	if ((o.c->flags & CF_TLS13) && o.tls12) {
		fprintf(stderr, "hostile-peer: %s is a TLS 1.3 case\n", o.c->name);
		goto report;
	}
	if (gnutls_global_init() < 0 || !setup_session(&p, &cert, &psk))
		goto report;
	p.fd = tcp_connect(o.host, o.port);
	if (p.fd < 0)
		goto report;

	p.rewrite = (o.c->flags & CF_PRE) != 0;
	p.idle_ms = HANDSHAKE_IDLE_MS;
	do
		ret = gnutls_handshake(p.s);
	while (ret == GNUTLS_E_AGAIN || ret == GNUTLS_E_INTERRUPTED);
	p.rewrite = false;
	handshake_done = ret == 0;

	if (o.c->flags & CF_PRE) {
		if (!p.misbehaved) {
			fprintf(stderr, "hostile-peer: handshake ended before the case was played:"
					" %s\n",
				ret < 0 ? gnutls_strerror(ret) : "no such record sent");
			goto report;
		}
		played = true;
		if (ret < 0) {
			classify(&p, ret, &r);
		} else if (o.c->id == WITHHOLD_FLIGHT) {
			/* TLS 1.3: done on this side, while the server waits for our Finished. */
			read_answer(&p, false, p.t_mis, &r);
		} else {
			/* Served (as a positive case should be, or a lenient server): ask. */
			if (!(o.c->flags & CF_OK))
				fprintf(stderr, "hostile-peer: server completed the handshake\n");
			if (send_request_gnutls(&p) == 0)
				read_answer(&p, true, now_ms(), &r);
			else
				classify(&p, GNUTLS_E_PUSH_ERROR, &r);
		}
	} else {
		if (ret < 0) {
			fprintf(stderr, "hostile-peer: handshake: %s%s\n", gnutls_strerror(ret),
				p.timed_out ? " (no answer within 10 s)"
				: p.reset   ? " (connection reset)"
				: p.eof	    ? " (connection closed)"
					    : "");
			if (p.tap.alert_seen)
				fprintf(stderr, "hostile-peer: server alert %d (%s)\n", p.tap.desc,
					alert_name(p.tap.desc));
			goto report;
		}
		/*
		 * Records sent with our Finished reach a server before it hands its
		 * keys to the kernel (its TLS library reads them); a pause makes
		 * the server meet the misbehaviour in its steady state instead.
		 */
		usleep(POST_SETTLE_MS * 1000);
		played = play_post(&p, &r);
		if (!played)
			r = (struct result){ .what = "error" };
	}
	if (played) {
		if (p.t_end == 0)
			p.t_end = now_ms();
		take_cpu1(&p);
		if (strcmp(r.what, "alert") == 0 && r.alert == GNUTLS_A_USER_CANCELED)
			r.then = read_after_user_canceled(&p, handshake_done);
	}

report:
	print_result(&p, &r, handshake_done);
	if (p.fd >= 0) {
		/* A polite end only where GnuTLS's write state still matches the server's. */
		if (played && p.write_in_step && strcmp(r.what, "ok") == 0 && !p.send_failed) {
			p.deadline = now_ms() + 500;
			gnutls_bye(p.s, GNUTLS_SHUT_WR);
		}
		close(p.fd);
	}
	if (p.s != NULL)
		gnutls_deinit(p.s);
	if (cert != NULL)
		gnutls_certificate_free_credentials(cert);
	if (psk != NULL)
		gnutls_psk_free_client_credentials(psk);
	free(p.pending.p);
	free(p.out.p);
	free(p.hold.p);
	free(p.coalesce.p);
	free(p.tap.cur.p);
	free(p.tap.last.p);
	free(o.request.p);
	return played ? 0 : 1;
}
