/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Internal declarations shared between lib/ files.  Every function here
 * carries the prefix of the file that defines it, and every part of
 * struct ktls_conn is written only by the file named above it.
 *
 * The files, from the bottom up (a file calls only files above it):
 *   clock.c                        the monotonic clock
 *   error.c session-cache.c       errors and log; the bounded secret cache
 *   cipher.c                       everything per cipher, in one table
 *   keys.c                         GnuTLS record state -> kernel crypto_info
 *   secrets.c                      the key schedule after the switch: KeyUpdate, exporters
 *   kernel.c                       the kTLS socket: ULP, keys, typed records
 *   probe.c                        what this kernel can do, found by trying
 *   trace.c                        the handshake trace callback
 *   transport.c                    GnuTLS's transport: the fd, or memory
 *   rxbuf.c                        plaintext held for the application
 *   txbuf.c                        plaintext held back for a record (KTLS_SEND_MORE)
 *   config.c resume.c              configuration; resumption
 *   rekey.c                        AEAD usage limits: when a key must change
 *   switch.c                       the switch policy: which key goes where
 *   proto.c                        the protocol core after the handshake
 *   summary.c                      what was negotiated, kept when the GnuTLS session goes
 *   handshake.c                    the GnuTLS handshake
 *   record.c                       the blocking / non-blocking calls (a driver)
 *   ring*.c (ring.h)               the io_uring engine (the other driver)
 *   conn.c                         struct ktls_conn: lifetime, adoption, info
 *   diag.c nic.c netlink.c tls-stat.c   kTLS sockets, NICs and counters
 */
#ifndef KTLS_PRIVATE_H
#define KTLS_PRIVATE_H

#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>

#include <gnutls/gnutls.h>

#include "ktls.h"
#include "uapi/linux/tls.h"

#ifndef SOL_TLS
#define SOL_TLS 282
#endif
#ifndef TCP_ULP
#define TCP_ULP 31
#endif

#define KTLS_EXPORT __attribute__((visibility("default")))

#define ERROR_TEXT_MAX 256

/* TLS content types (RFC 8446 section 5.1, RFC 5246 section 6.2.1) */
#define RECORD_CHANGE_CIPHER_SPEC 20
#define RECORD_ALERT 21
#define RECORD_HANDSHAKE 22
#define RECORD_APPLICATION_DATA 23

/* Largest plaintext a record can carry (RFC 8446 section 5.1). */
#define RECORD_MAX_PLAINTEXT 16384
/* A record on the wire: header plus the largest ciphertext (RFC 8446 section 5.2). */
#define RECORD_HEADER 5
#define RECORD_WIRE_MAX (RECORD_HEADER + RECORD_MAX_PLAINTEXT + 256)

/* The values of the public enums this library knows. */
#define CIPHER_COUNT (KTLS_CIPHER_LAST + 1)
#define STAT_COUNT (KTLS_STAT_LAST + 1)
#define NIC_FEATURE_COUNT (KTLS_NIC_FEATURE_LAST + 1)

struct ktls_conn;

/* ---- clock.c ----------------------------------------------------------- */

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t clock_now_ns(void);

/* ---- session-cache.c --------------------------------------------------- */

/* "server.example/443", or a TLS 1.2 session ID (at most 32 bytes) */
#define SESSION_KEY_MAX 272

struct session_entry {
	unsigned char key[SESSION_KEY_MAX];
	size_t key_len;
	unsigned char *data; /* NULL: free slot */
	size_t data_len;
	time_t expires;
	unsigned long last_used;
};

/* Bounded, expiring, thread-safe; every entry is wiped when it goes. */
struct session_cache {
	pthread_mutex_t lock;
	struct session_entry *entries;
	size_t max_entries;
	unsigned long clock; /* recency, for least-recently-used eviction */
};

/* Idempotent: a cache already set up is kept. */
int session_cache_init(struct session_cache *cache, size_t max_entries);
void session_cache_destroy(struct session_cache *cache);
/* Insert or replace; the least recently used entry makes room when full. */
int session_cache_put(struct session_cache *cache, const void *key, size_t key_len,
		      const void *data, size_t data_len, time_t expires);
/* A malloc'd copy of the entry (the caller wipes and frees it); @take removes it. */
int session_cache_get(struct session_cache *cache, const void *key, size_t key_len, bool take,
		      unsigned char **ret_data, size_t *ret_len, time_t *ret_expires);
int session_cache_remove(struct session_cache *cache, const void *key, size_t key_len);
/* Calls @fn for each live entry, under the lock; a negative return stops the walk. */
int session_cache_walk(struct session_cache *cache,
		       int (*fn)(const struct session_entry *entry, void *userdata), void *userdata);

/* ---- config.c ---------------------------------------------------------- */

/* External PSKs (RFC 8446 section 4.2.11): identity and key sizes we take. */
#define PSK_IDENTITY_MAX 255
#define PSK_KEY_MIN 16
#define PSK_KEY_MAX KTLS_PSK_KEY_MAX

struct config_psk {
	char *identity;
	unsigned char *key;
	size_t key_len;
};

/* Key-exchange groups a server config tracks (GnuTLS 3.7 knows ten). */
#define CONFIG_GROUPS_MAX 16

struct ktls_config {
	int app_refs; /* atomic: the application's references */
	int refs;     /* atomic: all references, the application's and one per connection */
	enum ktls_role role;
	pthread_mutex_t freeze_lock;
	bool frozen; /* set by the first connection: no more changes */

	gnutls_certificate_credentials_t certs;
	unsigned int n_certs;
	bool trust_loaded;
	bool verify_chain;
	bool check_hostname;
	enum ktls_client_auth client_auth;

	struct config_psk *psks;
	size_t n_psks;
	gnutls_psk_client_credentials_t psk_client;
	gnutls_psk_server_credentials_t psk_server;

	gnutls_datum_t *alpn;
	unsigned int n_alpn;
	char *alpn_storage;

	int min_version, max_version;
	char *priority_override;
	gnutls_priority_t priority; /* built when frozen */
	char priority_text[512];    /* what was built, for the debug log */
	/*
	 * Server: the priority's key-exchange groups in its order, and for each
	 * but the first the same priority with that group moved first, so that
	 * a TLS 1.3 client's key share for any group we accept is used
	 * (handshake_choose_group) instead of asking for another one.
	 */
	unsigned int n_groups;
	gnutls_group_t groups[CONFIG_GROUPS_MAX];
	gnutls_priority_t group_first[CONFIG_GROUPS_MAX];

	enum ktls_offload offload_tx, offload_rx;
	enum ktls_keyupdate keyupdate;
	unsigned int handshake_timeout_ms;

	ktls_log_fn log_fn;
	enum ktls_log_level log_level;
	void *log_userdata;

	/* Resumption (resume.c): server ticket key and session-ID cache, client store. */
	unsigned int resume_mechanisms; /* KTLS_RESUME_* */
	unsigned int session_lifetime_s;
	unsigned int session_max_entries;
	bool ticket_key_set;
	unsigned char ticket_key[KTLS_TICKET_KEY_SIZE];
	struct session_cache sessions;
	char *session_file;
	ktls_handshake_trace_fn trace_fn;
	void *trace_userdata;
	ktls_verify_fn verify_fn;
	void *verify_userdata;
	ktls_psk_lookup_fn psk_lookup_fn;
	void *psk_lookup_userdata;

};

/* A connection's reference to its config; config_release() drops it. */
struct ktls_config *config_hold(struct ktls_config *config);
void config_release(struct ktls_config *config);
/*
 * Build the priority and credentials once; later setters get -EBUSY.
 * @for_handshake: also what a handshake of our own needs (a server's
 * certificate or PSK, a client's trust store), which adoption does not.
 */
int config_freeze(struct ktls_config *config, bool for_handshake);
/* PSKs of its own, or (a server) a lookup for them. */
static inline bool config_has_psk(const struct ktls_config *config)
{
	return config->n_psks > 0 || config->psk_lookup_fn != NULL;
}
const struct config_psk *config_find_psk(const struct ktls_config *config, const char *identity,
					 size_t identity_len);

/* ---- error.c ----------------------------------------------------------- */

/*
 * A failing call's sentence.  Each exported call on a conn or config (and
 * each engine completion) begins with error_*_begin(); the first failure
 * within it is kept, later ones are its consequences.  Returns @err.
 */
void error_conn_begin(struct ktls_conn *conn);
int error_conn(struct ktls_conn *conn, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* A write to the socket failed with errno @err (positive); a peer gone is -EPIPE. */
int error_conn_send(struct ktls_conn *conn, const char *what, int err);
void error_config_begin(const struct ktls_config *config);
int error_config(struct ktls_config *config, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The calling thread's last failure on @config ("" when none); one buffer per thread. */
const char *error_config_text(const struct ktls_config *config);
/* @config is going away: a later one at the same address starts clean. */
void error_config_forget(const struct ktls_config *config);
/* Map a GnuTLS error code to the errno documented in ktls.h. */
int error_from_gnutls(int gnutls_err);
/* "handshake_failure (40): Handshake failed": RFC name, number, GnuTLS's words. */
const char *error_alert_text(gnutls_alert_description_t alert, char *buf, size_t size);
void error_log(const struct ktls_config *config, enum ktls_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * For calls without an object: write the first failure's sentence into the
 * caller's buffer (NULL/0 allowed; an earlier sentence is kept); returns @err.
 */
int error_buf(char *errbuf, size_t errlen, int err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* ---- cipher.c ---------------------------------------------------------- */

/* Everything libktls knows about one AEAD cipher. */
struct cipher_desc {
	enum ktls_cipher id;
	const char *name;                 /* "AES-128-GCM" */
	gnutls_cipher_algorithm_t gnutls; /* GnuTLS's id */
	uint16_t kernel_type;             /* TLS_CIPHER_* */
	/* struct tls12_crypto_info_*: size, and where each field sits */
	socklen_t info_size;
	size_t key_size, salt_size, iv_size;
	size_t key_off, salt_off, iv_off, rec_seq_off;
	/* records one key may protect (RFC 8446 section 5.5); UINT64_MAX: none */
	uint64_t record_limit;
};

/* The cipher's entry, or NULL for KTLS_CIPHER_NONE and out-of-range values. */
const struct cipher_desc *cipher_get(enum ktls_cipher cipher);
enum ktls_cipher cipher_from_gnutls(gnutls_cipher_algorithm_t cipher);
enum ktls_cipher cipher_from_kernel(uint16_t kernel_type);

/* ---- keys.c ------------------------------------------------------------ */

/* Big enough for every struct tls12_crypto_info_* */
union keys_crypto_info {
	struct tls_crypto_info info;
	struct tls12_crypto_info_aes_gcm_128 aes_gcm_128;
	struct tls12_crypto_info_aes_gcm_256 aes_gcm_256;
	struct tls12_crypto_info_aes_ccm_128 aes_ccm_128;
	struct tls12_crypto_info_chacha20_poly1305 chacha20_poly1305;
};

/*
 * Fill @ret_info (and its size) from GnuTLS's record state for one
 * direction.  @ret_info must be wiped with keys_wipe() on every path.
 */
int keys_from_session(gnutls_session_t session, enum ktls_dir dir, union keys_crypto_info *ret_info,
		      socklen_t *ret_len, char *reason, size_t reason_size);
/*
 * The same from the key material itself: @key, @iv (TLS 1.3 and
 * ChaCha20-Poly1305: salt and IV, 12 bytes; TLS 1.2 AES: the 4-byte salt)
 * and the next record's sequence number.  @version is KTLS_VERSION_*.
 * Returns the struct's size.
 */
socklen_t keys_from_material(int version, enum ktls_cipher cipher, const unsigned char *key,
			     const unsigned char *iv, const unsigned char seq[8],
			     union keys_crypto_info *ret_info);
/* Dummy (zero) keys of the right shape, for the capability probe. */
socklen_t keys_dummy(int version, enum ktls_cipher cipher, union keys_crypto_info *ret_info);
/* rec_seq of a crypto_info for @cipher (the next record's sequence number). */
uint64_t keys_rec_seq(const union keys_crypto_info *info, enum ktls_cipher cipher);
void keys_wipe(union keys_crypto_info *info);

/* ---- secrets.c --------------------------------------------------------- */

/*
 * The secrets libktls needs to run the key schedule itself once both keys
 * are in the kernel (so that the GnuTLS session can go): TLS 1.3 traffic
 * secrets and the exporter secret, or the TLS 1.2 master secret and randoms.
 * Written by secrets.c only; wiped when freed.
 */
struct conn_secrets;

/* Before the handshake: follow the secrets GnuTLS derives (its key log). */
void secrets_session_init(struct ktls_conn *conn);
/*
 * At the switch, before any key moves: check (TLS 1.3) or take (TLS 1.2)
 * what the schedule needs.  False (and nothing kept): GnuTLS keeps it.
 */
bool secrets_prepare(struct ktls_conn *conn, int version, enum ktls_cipher cipher);
/* Both keys went to the kernel: the schedule is libktls's from now on. */
void secrets_start(struct ktls_conn *conn);
bool secrets_ready(const struct ktls_conn *conn);
/*
 * A TLS 1.3 KeyUpdate of @dir (RFC 8446 section 7.2): move to the next
 * traffic secret and fill @ret_info with its key for the kernel (wipe it).
 */
int secrets_next_key(struct ktls_conn *conn, enum ktls_dir dir, union keys_crypto_info *ret_info,
		     socklen_t *ret_len, char *reason, size_t reason_size);
/* ktls_conn_export_keying_material() once the schedule is ours. */
int secrets_export(const struct ktls_conn *conn, const char *label, const void *context,
		   size_t context_len, void *out, size_t out_len);
void secrets_free(struct ktls_conn *conn);

/* ---- kernel.c ---------------------------------------------------------- */

/*
 * Every SOL_TLS / TCP_ULP setsockopt goes through this pointer, so that unit
 * tests can inspect the key structs on a kernel without kTLS.
 */
extern int (*kernel_setsockopt)(int fd, int level, int name, const void *value, socklen_t len);

/* setsockopt(TCP_ULP, "tls").  Return: 0 or a negative errno. */
int kernel_attach(int fd);

/*
 * What the kernel's TLS layer does without MSG_NOSIGNAL (sendfile(2),
 * splice(2), the record close(2) still pushes) raises SIGPIPE when the
 * peer has gone.  Around such calls SIGPIPE is blocked for the thread, and
 * one raised meanwhile is consumed: a library must not kill its caller.
 */
struct kernel_sigpipe {
	sigset_t pipe_set, old_set;
	bool was_pending;
};
void kernel_sigpipe_block(struct kernel_sigpipe *s);
/* The process ignores SIGPIPE (SIG_IGN), as servers do: nothing to block then. */
bool kernel_sigpipe_ignored(void);
void kernel_sigpipe_restore(struct kernel_sigpipe *s);
/* One direction's key (TLS_TX / TLS_RX; a second one is a rekey). */
int kernel_set_key(int fd, enum ktls_dir dir, const union keys_crypto_info *info, socklen_t len);
/* TLS_TX_MAX_PAYLOAD_LEN: the largest plaintext per TX record. */
int kernel_set_tx_payload_limit(int fd, uint16_t limit);
/* The kernel's next TX record sequence number (getsockopt(TLS_TX)). */
int kernel_tx_seq(int fd, enum ktls_cipher cipher, uint64_t *ret_seq);
/* Whether this socket's RX key of @cipher is set. */
bool kernel_rx_installed(int fd, enum ktls_cipher cipher);

/*
 * A typed record in or out: the msghdr, its one iovec and room for the
 * record-type control message (Documentation/networking/tls.rst, "Send/
 * receive TLS control messages").  The io_uring engine keeps one per
 * operation, the blocking calls one on the stack.
 */
struct kernel_msg {
	struct msghdr msg;
	struct iovec iov;
	union {
		char buf[CMSG_SPACE(sizeof(unsigned char))];
		size_t align; /* a cmsghdr's alignment (its first field) */
	} control;
};
/* Ready for recvmsg into @buf. */
void kernel_msg_in(struct kernel_msg *m, void *buf, size_t len);
/* Ready for sendmsg of @len bytes as one record of @type. */
void kernel_msg_out(struct kernel_msg *m, unsigned char type, const void *data, size_t len);
/* close_notify as a kTLS control record, in static memory (read-only). */
const struct msghdr *kernel_close_notify_msg(void);
/*
 * After a recvmsg that returned @n: whether a record came, and its type;
 * false when there was none (0 bytes without a record is the peer's FIN).
 */
bool kernel_msg_record(const struct kernel_msg *m, ssize_t n, unsigned char *ret_type);
/*
 * One recvmsg (EINTR retried) of data records, or of exactly one other
 * record (tls_sw_recvmsg never mixes them).  Return: bytes, 0 with
 * *@ret_type set for a record (possibly empty), 0 with *@ret_got false at
 * the peer's FIN, or the negative errno.
 */
ssize_t kernel_recv(int fd, void *buf, size_t len, int flags, unsigned char *ret_type,
		    bool *ret_got);
/*
 * The socket's pending error, taken (SO_ERROR): kTLS leaves a record it
 * could not decrypt there, even after a recvmsg that returned data.  0: none.
 */
int kernel_take_error(int fd);
/* Bytes the socket holds that no recvmsg has returned (part of a record). */
bool kernel_rx_pending(int fd);
/* One sendmsg (EINTR retried) of a whole control record.  0 or a negative errno. */
int kernel_send_record(int fd, unsigned char type, const void *data, size_t len, int flags);
/*
 * After closing a record KTLS_SEND_MORE left open: have TCP send what
 * MSG_MORE made it hold, unless the application corked the socket itself.
 */
void kernel_tcp_push(int fd);

/* ---- probe.c ----------------------------------------------------------- */

const struct ktls_caps *probe_get(void);
/* A copy of the probe's result; its failure (loopback sockets refused). */
int probe_copy(struct ktls_caps *ret_caps);
/* An established loopback TCP pair (close-on-exec); 0 or a negative errno. */
int probe_pair(int *ret_a, int *ret_b);
/* Unit tests only: forget the cached result so that the next call probes again. */
void probe_reset(void);
bool probe_can_offload(const struct ktls_caps *caps, int version, enum ktls_cipher cipher,
		       enum ktls_dir dir);

/* ---- trace.c ----------------------------------------------------------- */

/*
 * Report one handshake message to the config's trace callback, if any.
 * @type is the wire type (or KTLS_HANDSHAKE_*); @len the body length.
 */
void trace_message(struct ktls_conn *conn, bool incoming, unsigned int type, size_t len);

/* ---- transport.c ------------------------------------------------------- */

/*
 * The io_uring engine's transport: GnuTLS pulls from @in (ring RECV fills
 * it) and pushes to @out (ring SEND drains it).  An empty @in makes GnuTLS
 * see EAGAIN, or the end of the stream once @eof is set.
 */
struct transport_mem {
	unsigned char *in;
	size_t in_cap, in_off, in_len;
	unsigned char *out;
	size_t out_cap, out_off, out_len;
	size_t out_max; /* push fails beyond this: bounds a connection's memory */
	bool eof;
};

/* What GnuTLS's transport saw last; written by transport.c only. */
struct conn_transport {
	struct transport_mem *mem; /* the engine's memory, or NULL: the fd */
	bool nonblocking;          /* the fd was O_NONBLOCK (or memory) when the handshake began */
	bool peer_eof;             /* a pull saw the TCP connection end */
	bool would_block;          /* the last pull had nothing to give (EAGAIN) */
	int pull_errno;            /* the last pull's failure */
	int push_errno;            /* the socket's write failure (not EAGAIN), once one came */
};

/* GnuTLS reads and writes the fd. */
void transport_set_fd(struct ktls_conn *conn);
/* GnuTLS reads and writes @mem (owned by the caller). */
void transport_set_mem(struct ktls_conn *conn, struct transport_mem *mem);
/* Note whether the fd is non-blocking now (memory always is). */
void transport_check_blocking(struct ktls_conn *conn);
/* Before a GnuTLS call: forget the last pull's EAGAIN. */
void transport_clear_would_block(struct ktls_conn *conn);
/* Data bytes one GnuTLS record may carry to this peer (its record size limit). */
size_t transport_max_payload(struct ktls_conn *conn);
/* The errno with which a push on the fd failed (0: none): what GnuTLS's send errors were. */
int transport_push_errno(const struct ktls_conn *conn);
/* Bytes read from the peer that GnuTLS has not pulled yet (the engine's memory). */
size_t transport_buffered(const struct ktls_conn *conn);

/* ---- txbuf.c ----------------------------------------------------------- */

/* Written by txbuf.c only. */
struct conn_txbuf {
	unsigned char *buf; /* RECORD_MAX_PLAINTEXT, while something is held */
	size_t len;
};

/* Where a gather send stands in the caller's buffers. */
struct txbuf_cursor {
	const struct iovec *iov;
	int iovcnt;
	int at;       /* the buffer being read */
	size_t off;   /* ... from here */
	size_t taken; /* bytes of the caller's taken so far */
};

void txbuf_cursor_init(struct txbuf_cursor *c, const struct iovec *iov, int iovcnt);
bool txbuf_cursor_done(const struct txbuf_cursor *c);
/* Bytes held back from an earlier KTLS_SEND_MORE send. */
size_t txbuf_held(const struct ktls_conn *conn);
/*
 * Up to @max bytes of the next record into @out: what is held first, then
 * the caller's buffers (the cursor advances).  Returns the bytes written.
 */
size_t txbuf_fill(struct ktls_conn *conn, unsigned char *out, size_t max, struct txbuf_cursor *c);
/* The held bytes went out in the record just sent: drop (and wipe) them. */
void txbuf_sent(struct ktls_conn *conn);
/* Hold @len bytes (a record's start, @out of txbuf_fill()) for the next send. */
int txbuf_hold(struct ktls_conn *conn, const unsigned char *data, size_t len);

/* ---- rxbuf.c ----------------------------------------------------------- */

/*
 * Plaintext held for the application: records GnuTLS had decrypted before
 * the kernel took RX, and the rest of a kernel record that did not fit the
 * caller's buffer.  Handed out first, in order; wiped as it goes.
 */
struct conn_rxbuf {
	unsigned char *buf;
	size_t cap, off, len;
};

/* Room for @size more bytes after what is held (realloc would leave copies). */
int rxbuf_reserve(struct ktls_conn *conn, size_t size);
/* Where rxbuf_reserve() made room; rxbuf_commit() adds what was written there. */
unsigned char *rxbuf_tail(struct ktls_conn *conn);
void rxbuf_commit(struct ktls_conn *conn, size_t len);
/* Copy in @len bytes; 0 or -ENOMEM. */
int rxbuf_append(struct ktls_conn *conn, const void *data, size_t len);
/* Copy out up to @len bytes, wiping them. */
size_t rxbuf_take(struct ktls_conn *conn, void *buf, size_t len);
size_t rxbuf_held(const struct ktls_conn *conn);
/* Free the buffer when it holds nothing (idle connections keep none). */
void rxbuf_trim(struct ktls_conn *conn);
void rxbuf_free(struct ktls_conn *conn);

/* ---- resume.c ---------------------------------------------------------- */

struct conn_resume {
	char *key;                     /* client: "name/port" in the store */
	bool ticket_seen;              /* a TLS 1.3 NewSessionTicket was taken in */
	bool ticket_unsaved;           /* ... and not yet saved to the store */
	unsigned int tickets, tickets_after_switch;
	bool tickets_sent;             /* server: its TLS 1.3 tickets went to GnuTLS */
};

/* A server's TLS 1.3 tickets per full handshake, as GnuTLS and OpenSSL send. */
#define RESUME_TLS13_TICKETS 2

/* At config freeze: the server's ticket key, caches, the client's file. */
int resume_config_freeze(struct ktls_config *config);
void resume_config_free(struct ktls_config *config);
/* GNUTLS_NO_TICKETS when tickets are off; a server sends its own (below). */
unsigned int resume_init_flags(const struct ktls_config *config);
/* A TLS 1.3 client that keeps the tickets arriving after the switch (GnuTLS takes them in). */
bool resume_wants_tickets(const struct ktls_conn *conn);
/* Server, TLS 1.3: the tickets, once the client's Finished is in; 0, -EAGAIN or failure. */
int resume_send_tickets(struct ktls_conn *conn);
/* Server: tickets and the session-ID cache on a new session. */
int resume_session_init(struct ktls_conn *conn);
/* The connection's own memory (ktls_conn_free). */
void resume_conn_free(struct ktls_conn *conn);
/* Client: offer the stored session for this server, if any. */
int resume_client_prepare(struct ktls_conn *conn);
/* Client: store what resumes this connection (TLS 1.2 session, TLS 1.3 ticket). */
void resume_client_save(struct ktls_conn *conn);
/*
 * Client: GnuTLS took in a NewSessionTicket; saved at the next save.
 * @after_switch: read back from the kernel (ktls_info.tickets_after_switch).
 */
void resume_ticket_arrived(struct ktls_conn *conn, bool after_switch);
/* Client: save a ticket that arrived since the last save, if any. */
void resume_save_pending(struct ktls_conn *conn);

/* ---- rekey.c ----------------------------------------------------------- */

/*
 * Records sent under one TX key, counted cheaply: an upper bound from the
 * send calls, checked against the kernel's own count only near the limit.
 */
struct rekey_budget {
	uint64_t threshold; /* rekey at this many records; UINT64_MAX: never */
	uint64_t checked;   /* the kernel's count when last read */
	uint64_t unchecked; /* upper bound on records sent since */
};

void rekey_budget_init(struct rekey_budget *budget, enum ktls_cipher cipher);
/* Add a send's calls and bytes; true when the kernel's count must be read. */
bool rekey_budget_charge(struct rekey_budget *budget, uint64_t calls, uint64_t bytes);
/* Record the kernel's count; true when the key has reached its budget. */
bool rekey_budget_settle(struct rekey_budget *budget, uint64_t kernel_seq);

/* ---- switch.c ---------------------------------------------------------- */

/* Where each direction's key lives, and what was negotiated; written by switch.c. */
struct conn_switch {
	struct ktls_dir_info tx, rx;
	int version;                /* KTLS_VERSION_* (0 before the switch) */
	enum ktls_cipher cipher;
	size_t tx_payload_max;      /* data bytes per record the peer's limit allows, 0: none */
	/* switch_plan_keys(): what goes to the kernel, decided before anything moves */
	bool planned, want_tx, want_rx, own_schedule;
	/*
	 * What the io_uring engine moved ahead of switch_keys() (ring-switch.c):
	 * the ULP is on, a direction's outcome is recorded; or its chain broke
	 * where it cannot say (the ULP and RX key may be on).
	 */
	bool attached, tx_done, rx_done, moved_unknown;
};

/*
 * After a completed handshake: move keys to the kernel per policy.  What
 * the engine moved already (struct conn_switch) is not moved again.
 */
int switch_keys(struct ktls_conn *conn);
/*
 * The decision alone, made once: versions, ciphers and policy against what
 * the kernel can do, the REQUIRE refusals, resumption's bookkeeping.
 */
int switch_plan_keys(struct ktls_conn *conn);
/*
 * Whether the engine may move both keys itself, ahead of switch_keys():
 * planned, both directions to the kernel, nothing to set before the TX key
 * (no record size limit).
 */
bool switch_engine_may_move(const struct ktls_conn *conn);
/* The engine's results: the ULP and the RX key are on; the TX key's setsockopt gave @tx_err. */
void switch_engine_moved(struct ktls_conn *conn, bool rx, bool tx, int tx_err);
/*
 * Give the kernel this direction's current key from GnuTLS (a rekey after
 * a KeyUpdate).  On failure the direction is marked as no longer the
 * kernel's, with the reason.
 */
int switch_install(struct ktls_conn *conn, enum ktls_dir dir);

/* ---- proto.c ----------------------------------------------------------- */

/*
 * A control record (or a GnuTLS action) that must go out before any more
 * application data, oldest first.  Drivers see only PROTO_OUT_RECORD and
 * the GnuTLS kinds; a key change that must follow a record is made by
 * proto_out_done() itself.
 */
enum proto_out_kind {
	PROTO_OUT_RECORD,      /* kernel TX: one record of @type */
	PROTO_OUT_INSTALL_TX,  /* the next TX key, once the record before it is out */
	PROTO_OUT_GNUTLS,      /* userspace TX: transport_gnutls_out() does it */
};
enum proto_gnutls_op {
	PROTO_GNUTLS_ALERT,      /* gnutls_alert_send(data[0], data[1]) */
	PROTO_GNUTLS_BYE,        /* gnutls_bye(GNUTLS_SHUT_WR) */
	PROTO_GNUTLS_KEY_UPDATE, /* gnutls_session_key_update(data[0]) */
};
struct proto_out {
	uint8_t kind;
	uint8_t type;   /* PROTO_OUT_RECORD: content type; PROTO_OUT_GNUTLS: the op */
	uint8_t len;
	unsigned char data[8]; /* an alert (2 bytes) or a KeyUpdate (5) */
};
#define PROTO_OUT_MAX 6

/* The protocol state after the handshake; written by proto.c only. */
struct conn_proto {
	bool rx_eof;   /* close_notify received */
	int rx_error;  /* sticky receive failure, negative errno */
	bool tx_closed; /* close_notify or a fatal alert queued: no more data */
	int tx_error;  /* sticky send failure */
	bool peer_reset; /* a receive met the peer's reset: no send can reach it */
	/* A post-handshake message split across kernel records. */
	unsigned char *hs_buf;
	size_t hs_len;
	struct rekey_budget budget; /* records under the current kernel TX key */
	unsigned int tx_updates, rx_updates;
	uint64_t ku_window_start_ns;   /* the peer's KeyUpdates: the current window's start */
	unsigned int ku_window_count;  /* ... and how many came in it */
	bool answer_due; /* GnuTLS (RX) took a KeyUpdate asking for ours; TX is the kernel's */
	int pending_alert; /* for rx_error, sent once the application reads up to it; -1: none */
	struct proto_out out[PROTO_OUT_MAX];
	unsigned int out_head, out_count;
};

/* What one typed record, or a receive error, means for the stream. */
enum proto_verdict {
	PROTO_DATA, /* application data: hand the body to the application */
	PROTO_NEXT, /* consumed (ticket, KeyUpdate, warning): read on */
	PROTO_WAIT, /* GnuTLS needs more bytes from the peer */
	PROTO_END,  /* close_notify: the end of the stream */
	PROTO_FAIL, /* the stream is over: rx_error says why, an alert may be queued */
};

/* A new connection. */
void proto_init(struct ktls_conn *conn);
/* After the switch: start counting what the kernel sends under its key. */
void proto_start(struct ktls_conn *conn);
/*
 * One record the kernel handed back (RX in the kernel).  Control records
 * are acted on and wiped; application data is left in @body.  Records are
 * checked as RFC 8446 sections 5.1 and 4.6.3 require (RFC 5246 for TLS 1.2).
 */
enum proto_verdict proto_rx_record(struct ktls_conn *conn, unsigned char type,
				   unsigned char *body, size_t len);
/* A failed receive on a kernel-RX socket (@err a positive errno, not EAGAIN). */
enum proto_verdict proto_rx_kernel_error(struct ktls_conn *conn, int err);
/*
 * The peer's FIN with no close_notify (any RX path); @mid_record: bytes of
 * an unfinished record were left (decode_error, as GnuTLS answers).
 */
enum proto_verdict proto_rx_fin(struct ktls_conn *conn, bool mid_record);
/*
 * What gnutls_record_recv's result @ret means (RX in GnuTLS); for a
 * positive one the data is the caller's.  PROTO_NEXT: call it again at once.
 */
enum proto_verdict proto_rx_gnutls(struct ktls_conn *conn, ssize_t ret);
/* The stream is over: close_notify received, or a failure. */
bool proto_rx_ended(const struct ktls_conn *conn);
/*
 * The application reached the end of the stream: 0 (close_notify) or the
 * failure.  The alert a failure calls for is queued now (send it next).
 */
int proto_rx_end(struct ktls_conn *conn);

/* May application data be sent now?  0, -EPIPE after close_notify, or the sticky error. */
int proto_tx_check(struct ktls_conn *conn, const char *what);
/* @calls sends of @bytes went through the kernel's TX: maybe time for a KeyUpdate. */
void proto_tx_account(struct ktls_conn *conn, uint64_t calls, uint64_t bytes);
/* Queue our KeyUpdate (ktls_conn_rekey, a requested answer, the usage limit). */
int proto_key_update(struct ktls_conn *conn, bool request_peer);
/* Queue close_notify.  0, or -EPIPE if a fatal alert was queued instead. */
int proto_shutdown(struct ktls_conn *conn);
/* A failure of our own (out of memory) ends the connection: internal_error. */
void proto_local_failure(struct ktls_conn *conn, int err);

/* The next thing to send before anything else, or NULL. */
const struct proto_out *proto_out_peek(const struct ktls_conn *conn);
/* Whether all that is queued is the kernel's close_notify (after proto_shutdown()). */
bool proto_out_only_close_notify(const struct ktls_conn *conn);
/* The one proto_out_peek() returned went out: drop it, make the key changes behind it. */
int proto_out_done(struct ktls_conn *conn);
/* A send of it failed for good (not EAGAIN): nothing more can be sent. */
void proto_out_failed(struct ktls_conn *conn, int err);
/* Forget what is queued (the connection is being freed). */
void proto_free(struct ktls_conn *conn);

/* GnuTLS's part of the connection after the handshake (handshake.c's hook). */
/* A KeyUpdate went through GnuTLS's own record layer (@incoming: the peer's). */
void proto_note_gnutls_key_update(struct ktls_conn *conn, bool incoming, bool requested);

/*
 * The GnuTLS kinds of proto_out, run through the connection's transport
 * (GnuTLS writes the fd, or the engine's memory).  transport.c.
 * Return: 0, -EAGAIN (try again when writable), or a negative errno.
 */
int transport_gnutls_out(struct ktls_conn *conn, const struct proto_out *out);

/* ---- summary.c --------------------------------------------------------- */

/* What ktls_conn_get_info() reports, kept apart from GnuTLS; written by summary.c. */
struct conn_summary {
	gnutls_protocol_t protocol;
	gnutls_cipher_algorithm_t cipher;
	gnutls_group_t group;
	bool resumed;
	bool psk;                  /* a PSK handshake */
	char *alpn;                /* the selected protocol, NULL: none */
	char *server_name;         /* server: the SNI received, NULL: none */
	char *psk_identity;        /* server: the client's PSK identity */
	gnutls_datum_t *chain;     /* the peer's chain, copied when the session went */
	unsigned int chain_len;
};

/* Before the keys move; 0 or -ENOMEM (the handshake fails). */
int summary_take(struct ktls_conn *conn);
/* After the switch: free the GnuTLS session if nothing needs it any more. */
void summary_release_session(struct ktls_conn *conn);
/* The peer's certificate chain as sent (DER), from the session or the copy. */
const gnutls_datum_t *summary_peer_chain(const struct ktls_conn *conn, unsigned int *ret_n);
void summary_free(struct ktls_conn *conn);
/* Unit tests only: keep every session (white-box tests read GnuTLS's state after the switch). */
extern bool summary_keep_sessions;

/* ---- hello.c ----------------------------------------------------------- */

/*
 * What GnuTLS takes of a handshake's messages in all (set on every session:
 * gnutls_handshake_set_max_packet_length, also its default since 3.5.5), so
 * the most one message can have.
 */
#define HELLO_MESSAGE_MAX (128 * 1024)

enum hello_scan_stage { HELLO_SCAN_RECORD_HEADER, HELLO_SCAN_BODY, HELLO_SCAN_DONE };
enum hello_verdict {
	HELLO_FINE,          /* nothing refused (so far, or before the clear part ended) */
	HELLO_WRONG_MESSAGE, /* the peer began with another message: unexpected_message */
	HELLO_TOO_LONG,      /* a message's length is over HELLO_MESSAGE_MAX: decode_error */
};

/* The peer's handshake messages in the clear, by their headers; written by hello.c only. */
struct hello_scan {
	uint8_t stage;   /* enum hello_scan_stage */
	uint8_t verdict; /* enum hello_verdict, once DONE */
	bool server;     /* this side is the server: the peer must start with a ClientHello */
	uint8_t rec_have, msg_have;
	unsigned char rec[5], msg[4]; /* the record header, the message header */
	bool judged_one;              /* the first message's header was judged */
	size_t body_left;             /* of the record being read */
	size_t msg_left;              /* of the message being read, after its header */
	unsigned int type;            /* the refused message's type and length */
	uint32_t length;
};

void hello_scan_init(struct hello_scan *scan, bool server);
/* Bytes from the peer, in order, as GnuTLS is given them during the handshake. */
void hello_scan_feed(struct hello_scan *scan, const unsigned char *p, size_t n);

/* ---- handshake.c ------------------------------------------------------- */

enum handshake_state {
	HANDSHAKE_NEW,
	HANDSHAKE_RUNNING,
	HANDSHAKE_DONE,   /* keys switched: data may move */
	HANDSHAKE_FAILED,
};

/* The handshake's part of a connection; written by handshake.c only. */
struct conn_handshake {
	enum handshake_state state;
	int failure;                   /* negative errno that ended it in HANDSHAKE_FAILED */
	int wants;                     /* KTLS_WANT_* after -EAGAIN */
	char *server_name;
	char unknown_psk_identity[64]; /* set by the server PSK callback on a miss */
	unsigned int verify_status;    /* why the peer's certificate failed verification */
	bool verify_rejected;          /* the application's verify callback refused it */
	gnutls_psk_client_credentials_t psk; /* a client's own PSK (ktls_conn_set_psk) */
	char *psk_identity;
	size_t peer_record_limit;      /* record_size_limit / max_fragment_length asked, 0: none */
	bool gnutls_done;              /* gnutls_handshake() returned 0 (tickets may still be due) */
	bool settled;                  /* handshake_settle() ran */
	bool group_chosen;             /* server: the first ClientHello's key shares were looked at */
	bool stopped_here;             /* FAILED by this side (cancel, deadline), not by GnuTLS */
	struct hello_scan hello;       /* the peer's messages in the clear, judged before GnuTLS can */
};

int handshake_session_init(struct ktls_conn *conn);
/*
 * GnuTLS's part of the handshake: 1 when already done, 0 when GnuTLS is
 * done but the keys have not moved, -EAGAIN, or the failure.  Messages
 * already buffered are processed before it asks for more input.
 */
int handshake_step(struct ktls_conn *conn);
/*
 * After handshake_step() returned 0, and before any key moves: what came in
 * with the peer's last flight to rxbuf (handshake_drain), the summary, and
 * the switch's plan.  Once; handshake_finish() runs it where it has not.
 */
int handshake_settle(struct ktls_conn *conn);
/* After handshake_step() returned 0: handshake_settle(), switch_keys(), HANDSHAKE_DONE. */
int handshake_finish(struct ktls_conn *conn);
/* Records GnuTLS read with the last flight: decrypted into rxbuf before the switch. */
int handshake_drain(struct ktls_conn *conn);
/* End the handshake with @err (a driver's timeout or I/O failure). */
int handshake_fail_with(struct ktls_conn *conn, int err);
/*
 * End it because this side stopped it (a cancel, a deadline): GnuTLS's
 * session is still sound, so the peer can still be told (handshake_can_cancel).
 */
int handshake_stop(struct ktls_conn *conn, int err);
/*
 * A handshake under way, or one this side stopped: shutting down sends
 * user_canceled and close_notify (RFC 8446 section 6.1).
 */
bool handshake_can_cancel(const struct ktls_conn *conn);
/* A session adopted from the application: done, no GnuTLS handshake here. */
void handshake_adopted(struct ktls_conn *conn);
/* An IPv4 or IPv6 address, which SNI never carries (RFC 6066 section 3). */
bool handshake_name_is_address(const char *name);
/* After -EAGAIN from any call: what ktls_conn_wants() reports. */
void handshake_note_wants(struct ktls_conn *conn, int wants);
/* From config.c's GnuTLS callbacks: what the handshake's failure message needs. */
void handshake_note_unknown_psk(struct ktls_conn *conn, const void *identity, size_t len);
/* A PSK handshake: the config's PSKs, or the connection's own. */
bool handshake_uses_psk(const struct ktls_conn *conn);
/* ktls_conn_free(): the connection's own PSK credentials. */
void handshake_psk_free(struct ktls_conn *conn);

/* ---- ring-conn.c (the engine's part; lib/ring.h has the rest) ------------ */

struct ring_conn;
/* Called by ktls_conn_free(): detach from the engine (settles what is in flight). */
void ring_conn_release(struct ktls_conn *conn);
/*
 * ktls_conn_free() and the conn's socket, on a ring libktls owns: SQEs the
 * ring has queued but not submitted may name the socket (a detached
 * close_notify, a step of an operation), so nothing may close it, or shut
 * it down, before they went.  ring_fd_owner() (before ring_conn_release())
 * says which ring, or NULL; ring_fd_settle() submits what is queued, before
 * a shutdown(2) or close(2); ring_fd_close() has the ring close the socket
 * behind what is queued (a detached IORING_OP_CLOSE, no system call of its
 * own) inside ktls_ring_run(), whose next run submits it, and says false
 * where the caller closes it.  Both take NULL.
 */
struct ktls_ring *ring_fd_owner(const struct ktls_conn *conn);
void ring_fd_settle(struct ktls_ring *ring);
bool ring_fd_close(struct ktls_ring *ring, int fd);
/*
 * Before the handshake of an attached connection: read no byte past the
 * handshake's last record (each record's header, then its body), for a
 * socket that another owner reads after the handshake (the kernel's
 * handshake upcall, lib/agent.c).  Return: 0 or -EINVAL.
 */
int ring_conn_exact_records(struct ktls_conn *conn);

/* ---- ring-accept.c (the engine's part; lib/ring.h has the rest) ---------- */

/*
 * True while this thread is inside the accept callback of ktls_ring_accept()
 * that hands over @fd, from a TCP listener: the kernel made it a connected
 * TCP socket with O_NONBLOCK (accept4 flags), so ktls_conn_new() and
 * ktls_conn_ring_attach() need not ask or set either (two system calls per
 * connection).
 */
bool ring_accept_handing_over(int fd);

/* ---- conn.c ------------------------------------------------------------ */

struct ktls_conn {
	struct ktls_config *config;
	int fd;
	unsigned int flags;
	gnutls_session_t session;

	struct conn_handshake hs; /* handshake.c */
	struct conn_transport tp; /* transport.c */
	struct conn_switch sw;    /* switch.c */
	struct conn_proto pr;     /* proto.c */
	struct conn_rxbuf rxb;    /* rxbuf.c */
	struct conn_txbuf txb;    /* txbuf.c */
	struct conn_resume rs;    /* resume.c */
	struct conn_secrets *sc;  /* secrets.c: NULL while GnuTLS runs the key schedule */
	struct conn_summary sum;  /* summary.c */
	size_t tx_buffered;       /* record.c: bytes GnuTLS holds after returning AGAIN */
	bool tx_more;             /* record.c, ring-tx.c: the kernel's TX record left open (MSG_MORE) */
	struct ring_conn *ring;   /* ring-conn.c */
	bool fd_nonblocking;      /* conn.c: known O_NONBLOCK already (ring_accept_handing_over) */

	char error[ERROR_TEXT_MAX]; /* error.c: the last failed call's sentence */
	bool error_fresh;           /* error.c: a call began, its first failure not yet written */
};

int conn_create(struct ktls_config *config, int fd, unsigned int flags,
		struct ktls_conn **ret_conn);

/* ---- diag.c ------------------------------------------------------------ */

struct nlmsghdr;

/* Called for each TLS socket a reply describes; a negative errno stops the walk. */
typedef int (*diag_sock_fn)(const struct ktls_sock *sock, void *userdata);

/*
 * Parse one sock_diag reply message (SOCK_DIAG_BY_FAMILY, struct
 * inet_diag_msg and its attributes).  @nlh->nlmsg_len must lie within the
 * caller's buffer.  Return: 1 and @ret_sock filled for a socket with the TLS
 * ULP, 0 for any other socket, -EBADMSG for a malformed message.
 */
int diag_parse_msg(const struct nlmsghdr *nlh, struct ktls_sock *ret_sock);
/*
 * Parse a buffer of netlink messages as recv() returns them on a sock_diag
 * socket: each TLS socket goes to @fn.  Pure: no I/O, any bytes allowed.
 * Return: 0 (NLMSG_DONE or the end of the buffer), the kernel's negative
 * errno for NLMSG_ERROR, -EBADMSG, or what @fn returned.
 */
int diag_parse_buffer(const void *buf, size_t len, diag_sock_fn fn, void *userdata);

/* ---- nic.c ------------------------------------------------------------- */

/*
 * Parse one ETHTOOL_MSG_FEATURES_GET_REPLY (genetlink header, then
 * ETHTOOL_A_FEATURES_*; verbose bitsets with names).  @nlh->nlmsg_len must
 * lie within the caller's buffer.  Fills name, ifindex and the features.
 * Return: 0 or -EBADMSG.
 */
int nic_parse_features(const struct nlmsghdr *nlh, struct ktls_nic *ret_nic);
/* The same over a buffer of messages; each interface goes to @fn.  Pure. */
int nic_parse_buffer(const void *buf, size_t len,
		     int (*fn)(const struct ktls_nic *nic, void *userdata), void *userdata);

/* ---- netlink.c --------------------------------------------------------- */

struct nl_sock;
struct nl_msg;
struct nlattr;
struct nla_policy;

struct netlink_reply {
	int error;         /* the kernel's negative errno (NLMSG_ERROR), or a callback's */
	char extack[128];  /* the kernel's extended-ACK message, "" if none */
};

/* Called for each reply message of an exchange; a negative errno stops it. */
typedef int (*netlink_msg_fn)(struct nlmsghdr *nlh, void *arg);

/*
 * libnl's nla_parse() stops quietly at an attribute that runs past the end
 * of its stream; the kernel never sends one.  True when the attributes at
 * @head fill exactly @len bytes, so parsers can refuse the rest as malformed.
 */
bool netlink_attrs_exact(const struct nlattr *head, int len);
/*
 * nlmsg_parse() / nla_parse_nested() that also refuse attributes running
 * past their container.  Return: 0 or -EBADMSG.
 */
int netlink_parse_msg(const struct nlmsghdr *nlh, int hdrlen, struct nlattr **tb, int maxtype,
		      const struct nla_policy *policy);
int netlink_parse_nested(struct nlattr **tb, int maxtype, const struct nlattr *nest,
			 const struct nla_policy *policy);
/* libnl's -NLE_* -> negative errno. */
int netlink_errno(int nlerr);

/* What one message of a reply is; see netlink_msg_kind(). */
enum {
	NETLINK_MSG_DATA = 0, /* a message to parse */
	NETLINK_MSG_SKIP = 1, /* an ACK, NLMSG_NOOP or NLMSG_OVERRUN */
	NETLINK_MSG_DONE = 2, /* the end of a dump */
};
/* NETLINK_MSG_*, or the kernel's negative errno from NLMSG_ERROR (-EBADMSG if truncated). */
int netlink_msg_kind(const struct nlmsghdr *nlh);
/* nl_socket_alloc + nl_connect(@protocol), with extended ACKs and a receive timeout. */
int netlink_open(int protocol, struct nl_sock **ret_sk, char *errbuf, size_t errlen);
/*
 * Send @msg (with NLM_F_ACK) and receive until the kernel's ACK, NLMSG_DONE
 * or error.  Return: 0, the kernel's negative errno (@reply has its text),
 * or a negative errno of our own.
 */
int netlink_exchange(struct nl_sock *sk, struct nl_msg *msg, netlink_msg_fn fn, void *arg,
		     struct netlink_reply *reply);

#endif /* KTLS_PRIVATE_H */
