/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Internal declarations shared between lib/ files.  Every function here
 * carries the prefix of the file that defines it.
 */
#ifndef KTLS_PRIVATE_H
#define KTLS_PRIVATE_H

#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <sys/socket.h>
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

struct config_psk {
	char *identity;
	unsigned char *key;
	size_t key_len;
};

struct ktls_config {
	int refcount; /* atomic */
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

	char error[ERROR_TEXT_MAX];
};

/* Build the priority and credentials once; later setters get -EBUSY. */
int config_freeze(struct ktls_config *config);
const struct config_psk *config_find_psk(const struct ktls_config *config, const char *identity,
					 size_t identity_len);

/* ---- rekey.c (budget) -------------------------------------------------- */

/* Records sent under one TX key, counted cheaply (see rekey_budget_charge). */
struct rekey_budget {
	uint64_t threshold; /* rekey at this many records; UINT64_MAX: never */
	uint64_t checked;   /* the kernel's count when last read */
	uint64_t unchecked; /* upper bound on records sent since */
};

/* ---- conn.c ------------------------------------------------------------ */

enum conn_state {
	CONN_NEW,
	CONN_HANDSHAKING,
	CONN_READY,
	CONN_FAILED,
};

struct ktls_conn {
	struct ktls_config *config;
	int fd;
	unsigned int flags;
	gnutls_session_t session;
	enum conn_state state;
	int failure; /* negative errno that put the conn in CONN_FAILED */
	int wants;
	char *server_name;
	char unknown_psk_identity[64]; /* set by the server PSK callback on a miss */
	unsigned int client_cert_status; /* why config_verify_optional() refused */
	bool peer_eof;                   /* recv() saw the TCP connection end */
	int pull_errno;                  /* the last recv() failure under GnuTLS */
	bool nonblocking;                /* the fd was O_NONBLOCK when the handshake began */
	bool pull_would_block;           /* the last recv() on the fd said EAGAIN */
	size_t peer_record_limit;        /* record_size_limit / max_fragment_length asked, 0: none */
	size_t tx_payload_max;           /* data bytes per record that limit allows, 0: no limit */

	/* Where each direction's key lives, and if not in the kernel, why. */
	struct ktls_dir_info tx, rx;
	int version;
	enum ktls_cipher cipher;

	/*
	 * Plaintext waiting to be handed to the application: records GnuTLS
	 * had decrypted before the kernel took over, and the rest of a kernel
	 * record read into this buffer because the caller's was small.
	 */
	unsigned char *rx_buf;
	size_t rx_cap, rx_off, rx_len;

	/* A handshake message split across kernel records (rare). */
	unsigned char *hs_buf;
	size_t hs_len;

	/* TLS 1.3 KeyUpdate (rekey.c) */
	int tx_error;                  /* sticky send failure (limit reached, rekey failed) */
	struct rekey_budget tx_budget; /* records under the current TX key */
	unsigned int tx_updates, rx_updates;
	bool peer_wants_update; /* GnuTLS took a KeyUpdate asking for ours; TX is the kernel's */

	bool rx_eof;        /* close_notify received */
	int rx_error;       /* sticky receive failure, negative errno */
	bool tx_closed;     /* close_notify sent */
	size_t tx_buffered; /* bytes GnuTLS holds after returning AGAIN */

	/* Client resumption: the store key, and whether a new ticket waits to be saved. */
	char resume_key[SESSION_KEY_MAX + 1];
	bool ticket_received; /* a TLS 1.3 NewSessionTicket was processed */
	unsigned int tickets_received, tickets_after_switch;
	bool ticket_pending;  /* ... and not yet saved to the store */
	/* The io_uring engine (uring.c): GnuTLS's transport is then memory. */
	struct record_mem *mem;
	struct uring_conn *uring;

	char error[ERROR_TEXT_MAX];
};

int conn_create(struct ktls_config *config, int fd, unsigned int flags,
		struct ktls_conn **ret_conn);

/* ---- resume.c ---------------------------------------------------------- */

/* At config freeze: the server's ticket key, caches, the client's file. */
int resume_config_freeze(struct ktls_config *config);
void resume_config_free(struct ktls_config *config);
/* GNUTLS_NO_TICKETS when tickets are off. */
unsigned int resume_init_flags(const struct ktls_config *config);
/* Server: tickets and the session-ID cache on a new session. */
int resume_session_init(struct ktls_conn *conn);
/* Client: offer the stored session for this server, if any. */
int resume_client_prepare(struct ktls_conn *conn);
/* Client: store what resumes this connection (TLS 1.2 session, TLS 1.3 ticket). */
void resume_client_save(struct ktls_conn *conn);

/* ---- error.c ----------------------------------------------------------- */

/* Record the first failure on a conn / config; returns @err for chaining. */
int error_conn(struct ktls_conn *conn, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int error_config(struct ktls_config *config, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
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

/* ---- handshake.c ------------------------------------------------------- */

int handshake_session_init(struct ktls_conn *conn);
/*
 * GnuTLS's part of the handshake: 1 when already ready, 0 when GnuTLS is
 * done but the keys have not moved, -EAGAIN, or the failure.
 */
int handshake_step(struct ktls_conn *conn);
/* After handshake_step() returned 0: offload_switch() and CONN_READY. */
int handshake_finish(struct ktls_conn *conn);
/* Human-readable reason for a failed handshake, GnuTLS's words included. */
int handshake_fail(struct ktls_conn *conn, int gnutls_err);
/*
 * Report one handshake message to the config's trace callback, if any.
 * @type is the wire type (or KTLS_HANDSHAKE_*); @len the body length.  For
 * messages read from a kernel-RX socket after the switch, which GnuTLS does
 * not see as it reads them.
 */
void handshake_trace_message(struct ktls_conn *conn, bool incoming, unsigned int type, size_t len);
/* An IPv4 or IPv6 address, which SNI never carries (RFC 6066 section 3). */
bool handshake_name_is_address(const char *name);

/* ---- keys.c ------------------------------------------------------------ */

/* Big enough for every struct tls12_crypto_info_* */
union keys_crypto_info {
	struct tls_crypto_info info;
	struct tls12_crypto_info_aes_gcm_128 aes_gcm_128;
	struct tls12_crypto_info_aes_gcm_256 aes_gcm_256;
	struct tls12_crypto_info_aes_ccm_128 aes_ccm_128;
	struct tls12_crypto_info_chacha20_poly1305 chacha20_poly1305;
};

enum ktls_cipher keys_cipher_from_gnutls(gnutls_cipher_algorithm_t cipher);
/*
 * Fill @ret_info (and its size) from GnuTLS's record state for one
 * direction.  @ret_info must be wiped with keys_wipe() on every path.
 */
int keys_from_session(gnutls_session_t session, enum ktls_dir dir, union keys_crypto_info *ret_info,
		      socklen_t *ret_len, char *reason, size_t reason_size);
/* Dummy (zero) keys of the right shape, for the capability probe. */
socklen_t keys_dummy(int version, enum ktls_cipher cipher, union keys_crypto_info *ret_info);
void keys_wipe(union keys_crypto_info *info);
/* The kernel's struct size for @cipher: getsockopt(SOL_TLS) wants it exactly. */
socklen_t keys_size(enum ktls_cipher cipher);
/* rec_seq of a crypto_info for @cipher (the next record's sequence number). */
uint64_t keys_rec_seq(const union keys_crypto_info *info, enum ktls_cipher cipher);

/* ---- offload.c --------------------------------------------------------- */

/*
 * All SOL_TLS / TCP_ULP setsockopt calls go through this pointer so that
 * unit tests can inspect the key structs on a kernel without kTLS.
 */
extern int (*offload_setsockopt)(int fd, int level, int name, const void *value, socklen_t len);

/* Move keys to the kernel per policy, after a completed handshake. */
int offload_switch(struct ktls_conn *conn);
/* Send one record of @type through the kernel's TX path. */
int offload_send_record(struct ktls_conn *conn, unsigned char type, const void *data, size_t len);
/* An alert record through the kernel's TX path (close_notify is a warning). */
int offload_send_alert(struct ktls_conn *conn, gnutls_alert_level_t level,
		       gnutls_alert_description_t alert);
/* Read from a socket whose RX key is in the kernel, handling control records. */
ssize_t offload_recv(struct ktls_conn *conn, void *buf, size_t len);
/* A failed recvmsg (positive errno) on a kernel-RX socket -> the conn's error. */
ssize_t offload_recv_error(struct ktls_conn *conn, int err);
/* The record type in a recvmsg's TLS_GET_RECORD_TYPE control message (23 if none). */
unsigned char offload_record_type(struct msghdr *msg);
/*
 * Act on one non-data record read from the kernel, then wipe it.
 * Return: 1 to read on, 0 at close_notify, or a negative errno.
 */
int offload_control_record(struct ktls_conn *conn, unsigned char type, unsigned char *body,
			   size_t len);

/* Give the kernel this direction's current key from GnuTLS (also a rekey). */
int offload_install(struct ktls_conn *conn, enum ktls_dir dir);
/* Route GnuTLS's outgoing post-handshake messages to the kernel (true) or back. */
void offload_capture_handshake(struct ktls_conn *conn, bool on);

/* ---- rekey.c ----------------------------------------------------------- */

/* Records one key may protect (RFC 8446 section 5.5); UINT64_MAX: no limit. */
uint64_t rekey_record_limit(enum ktls_cipher cipher);
void rekey_budget_init(struct rekey_budget *budget, enum ktls_cipher cipher);
/* Add a send's calls and bytes; true when the kernel's count must be read. */
bool rekey_budget_charge(struct rekey_budget *budget, uint64_t calls, uint64_t bytes);
/* Record the kernel's count; true when the key has reached its budget. */
bool rekey_budget_settle(struct rekey_budget *budget, uint64_t kernel_seq);
/*
 * After @calls sends of @bytes through the kernel's TX: at the usage limit,
 * update the key (kernels that can) or end the connection (-EKEYEXPIRED,
 * sticky in tx_error, close_notify sent).
 */
int rekey_tx_account(struct ktls_conn *conn, uint64_t calls, uint64_t bytes);
/* Send KeyUpdate under the kernel's current key, then install the next one. */
int rekey_tx(struct ktls_conn *conn, bool request_peer);
/* The peer's KeyUpdate read back from the kernel: follow it (kernel rekey). */
int rekey_rx(struct ktls_conn *conn, const unsigned char *msg, size_t len);
/* GnuTLS (RX) took a KeyUpdate that asks for ours while the kernel holds TX. */
int rekey_answer_in_kernel(struct ktls_conn *conn);
/* ---- uring.c ----------------------------------------------------------- */

/* Called by ktls_conn_free(): detach from the engine (settles what is in flight). */
void uring_conn_release(struct ktls_conn *conn);

/* ---- probe.c ----------------------------------------------------------- */

const struct ktls_caps *probe_get(void);
/* An established loopback TCP pair (close-on-exec); 0 or a negative errno. */
int probe_pair(int *ret_a, int *ret_b);
/* Unit tests only: forget the cached result so that the next call probes again. */
void probe_reset(void);
bool probe_can_offload(const struct ktls_caps *caps, int version, enum ktls_cipher cipher,
		       enum ktls_dir dir);

/* ---- record.c ---------------------------------------------------------- */

/* Transport callbacks GnuTLS uses on our fd. */
void record_set_transport(struct ktls_conn *conn);

/*
 * The io_uring engine's transport: GnuTLS pulls from @in (ring RECV fills
 * it) and pushes to @out (ring SEND drains it).  An empty @in makes GnuTLS
 * see EAGAIN, or the end of the stream once @eof is set.
 */
struct record_mem {
	unsigned char *in;
	size_t in_cap, in_off, in_len;
	unsigned char *out;
	size_t out_cap, out_off, out_len;
	size_t out_max; /* push fails beyond this: bounds a connection's memory */
	bool eof;
};
/* Switch @conn's GnuTLS transport to @mem (owned by the caller). */
void record_set_transport_mem(struct ktls_conn *conn, struct record_mem *mem);
/* Data bytes one GnuTLS record may carry to this peer (its record size limit). */
size_t record_max_payload(struct ktls_conn *conn);
/* Make rx_buf hold at least @size bytes; contents are kept. */
int record_reserve(struct ktls_conn *conn, size_t size);
/* gnutls_record_recv with libktls's handling of alerts and errors (userspace RX). */
ssize_t record_recv_userspace(struct ktls_conn *conn, void *buf, size_t len);
/* Copy out plaintext held in rx_buf, wiping what was copied. */
size_t record_take_buffered(struct ktls_conn *conn, void *buf, size_t len);

#endif /* KTLS_PRIVATE_H */
