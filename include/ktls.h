/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libktls - TLS handshakes in userspace (GnuTLS), record crypto in the kernel.
 *
 * Conventions for every function in this header:
 *  - An int or ssize_t result >= 0 is success; failure is a negative errno.
 *  - Every failure also leaves a readable sentence in ktls_config_error() or
 *    ktls_conn_error(): the failed call's own (within a call, the first
 *    failure is kept; GnuTLS's reason included).
 *    Calls that have no object to keep it (ktls_sock_*, ktls_stats_*,
 *    ktls_nic_*) take a caller's buffer instead: @errbuf, @errlen.  It is
 *    set to "" on entry and holds the sentence after a failure; NULL or 0
 *    means the caller does not want it.
 *  - Output parameters are named ret_* and are left untouched on failure.
 *  - *_free() accepts NULL.
 *  - The library never prints; see ktls_config_set_log().
 *  - No call raises SIGPIPE.
 *
 * ABI: structs the caller allocates (struct ktls_caps, ktls_info, ktls_sock,
 * ktls_stats, ktls_stats_delta, ktls_nic) only ever grow at their end.  The
 * calls that fill them are static inline wrappers here that pass the
 * caller's sizeof to a *_sized function, so a program built against an
 * older header gets exactly the fields it knows, and a library older than
 * the header leaves the newer fields zero.  Arrays inside them have a fixed
 * capacity (KTLS_STATS_MAX, KTLS_NIC_FEATURES_MAX) that never changes;
 * *_LAST macros name the last enum value this header knows.  The symbols
 * of LIBKTLS_0.1 keep their 0.1 layouts for programs built against 0.1.
 */
#ifndef KTLS_H
#define KTLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#ifdef __cplusplus
extern "C" {
#endif

struct ktls_config;
struct ktls_conn;

enum ktls_role {
	KTLS_ROLE_CLIENT = 0,
	KTLS_ROLE_SERVER = 1,
};

/* Protocol versions, as on the wire. */
#define KTLS_VERSION_TLS12 0x0303
#define KTLS_VERSION_TLS13 0x0304

/* The AEAD ciphers that Linux kernel TLS can carry. */
enum ktls_cipher {
	KTLS_CIPHER_AES_128_GCM = 0,
	KTLS_CIPHER_AES_256_GCM = 1,
	KTLS_CIPHER_AES_128_CCM = 2,
	KTLS_CIPHER_CHACHA20_POLY1305 = 3,
	KTLS_CIPHER_NONE = -1, /* negotiated cipher has no kernel equivalent */
};
/* The last cipher this header knows; a newer library may know more (up to 31). */
#define KTLS_CIPHER_LAST KTLS_CIPHER_CHACHA20_POLY1305

/* Directions, usable as a bit mask. */
enum ktls_dir {
	KTLS_DIR_TX = 1,
	KTLS_DIR_RX = 2,
	KTLS_DIR_BOTH = 3,
};

/*
 * Offload policy, set per direction:
 *  AUTO    - the kernel takes the keys when it can; otherwise the connection
 *            carries on through GnuTLS's record layer and ktls_conn_get_info()
 *            says why.  The handshake prefers ciphers the kernel can offload.
 *  REQUIRE - the handshake fails with -EOPNOTSUPP when the kernel cannot take
 *            the keys; only offloadable ciphers are offered.
 *  OFF     - records always go through GnuTLS.
 */
enum ktls_offload {
	KTLS_OFFLOAD_AUTO = 0,
	KTLS_OFFLOAD_REQUIRE = 1,
	KTLS_OFFLOAD_OFF = 2,
};

enum ktls_client_auth {
	KTLS_CLIENT_AUTH_NONE = 0,
	KTLS_CLIENT_AUTH_REQUEST = 1, /* ask; verify if one is sent */
	KTLS_CLIENT_AUTH_REQUIRE = 2, /* fail the handshake without a valid one */
};

enum ktls_log_level {
	KTLS_LOG_ERROR = 3,
	KTLS_LOG_INFO = 6,
	KTLS_LOG_DEBUG = 7,
};

typedef void (*ktls_log_fn)(enum ktls_log_level level, const char *message, void *userdata);

/* ------------------------------------------------------------------------ */
/* Kernel capabilities                                                       */

/*
 * struct ktls_caps - what the running kernel can offload.
 * Found by trying it on loopback sockets (never by reading the kernel
 * version), once per process.
 */
struct ktls_caps {
	bool ulp_available;     /* setsockopt(TCP_ULP, "tls") works */
	int ulp_errno;          /* its errno when it does not */
	/* bit (1 << enum ktls_cipher) set when offloadable, [0]=TLS 1.2 [1]=TLS 1.3 */
	uint32_t tx_ciphers[2];
	uint32_t rx_ciphers[2];
	bool tx_zerocopy_sendfile; /* TLS_TX_ZEROCOPY_RO */
	bool rx_expect_no_pad;     /* TLS_RX_EXPECT_NO_PAD */
	bool tls13_rekey;          /* a second TLS_TX/TLS_RX on a TLS 1.3 socket */
	char summary[160];         /* one line, e.g. why the ULP is missing */
	/* LIBKTLS_0.2 */
	bool tx_max_payload_len;   /* TLS_TX_MAX_PAYLOAD_LEN: records sized to the peer's
				    * record_size_limit (Linux 6.19) */
	int ring_zerocopy_send;    /* IORING_OP_SEND_ZC accepted on a kTLS socket: 1 or 0;
				    * a negative errno when io_uring is not available */
};

/**
 * ktls_caps_get_sized() - report the kernel's kTLS capabilities.
 * @ret_caps: filled with the cached result of the probe.
 * @caps_size: sizeof(*@ret_caps) as the caller knows it (see the ABI note
 *             at the top); ktls_caps_get() passes it.
 *
 * The first call runs the probe (a few loopback TCP connections, and one
 * io_uring); later calls return the cached answer.  Thread-safe.
 *
 * Return: 0; -EINVAL (NULL, or a size smaller than LIBKTLS_0.1's struct);
 *         or a negative errno when loopback sockets cannot be created.
 */
int ktls_caps_get_sized(struct ktls_caps *ret_caps, size_t caps_size);

/**
 * ktls_caps_get() - ktls_caps_get_sized() with this header's struct size.
 * Return: as ktls_caps_get_sized().
 */
static inline int ktls_caps_get(struct ktls_caps *ret_caps)
{
	return ktls_caps_get_sized(ret_caps, sizeof(*ret_caps));
}

/**
 * ktls_probe() - the name of ktls_caps_get() before LIBKTLS_0.2.
 * Return: as ktls_caps_get_sized().
 */
static inline int ktls_probe(struct ktls_caps *ret_caps)
{
	return ktls_caps_get(ret_caps);
}

/** ktls_cipher_name() - "AES-128-GCM" etc.; "none" for out-of-range values. */
const char *ktls_cipher_name(enum ktls_cipher cipher);

/* ------------------------------------------------------------------------ */
/* Configuration, shared by many connections                                 */

/**
 * ktls_config_new() - create a configuration for one role.
 * @role: KTLS_ROLE_CLIENT or KTLS_ROLE_SERVER.
 * @ret_config: the new config, with one reference.
 *
 * Defaults: TLS 1.2 and 1.3, system trust store (client), hostname
 * verification on (client), offload AUTO both ways, no log.
 *
 * Once a connection has been created from a config, the config must not be
 * changed any more: it may then be shared by connections on many threads.
 *
 * Return: 0, -EINVAL, -ENOMEM.
 */
int ktls_config_new(enum ktls_role role, struct ktls_config **ret_config);

/** ktls_config_ref() - take another reference; returns @config. */
struct ktls_config *ktls_config_ref(struct ktls_config *config);

/**
 * ktls_config_unref() - drop a reference; frees on the last.  NULL is
 * allowed.  Connections hold references of their own: a config is freed
 * after its last connection even when the application unrefs it first, and
 * an unref beyond the application's references is ignored (and logged) while
 * connections still keep the config alive.
 */
void ktls_config_unref(struct ktls_config *config);

/**
 * ktls_config_error() - the sentence of the calling thread's last failed call
 * on @config (setters, ktls_conn_new(), ktls_conn_adopt()), or "".  Kept per
 * thread, as dlerror(3) is, since a config is shared by threads: the string
 * stays valid until this thread's next call on a config fails or asks
 * another config for its error.
 */
const char *ktls_config_error(const struct ktls_config *config);

/**
 * ktls_config_set_log() - route the library's log messages to @fn.
 * @max_level: messages above this level are not formatted at all.
 * Return: 0 or -EINVAL.
 */
int ktls_config_set_log(struct ktls_config *config, ktls_log_fn fn, enum ktls_log_level max_level,
			void *userdata);

/**
 * ktls_config_add_cert_file() - add a certificate chain and its private key (PEM).
 *
 * A server may add several; the one matching the client's SNI is used.
 * A client adds one to present when the server asks for it.
 * Return: 0, -EINVAL, -ENOENT, -EACCES, -EBADMSG (unparsable PEM), -ENOMEM.
 */
int ktls_config_add_cert_file(struct ktls_config *config, const char *cert_pem_path,
			      const char *key_pem_path);

/**
 * ktls_config_set_ca_file() - trust the CA certificates in @ca_pem_path
 * instead of the system store.  Return: 0, -EINVAL, -ENOENT, -EBADMSG.
 */
int ktls_config_set_ca_file(struct ktls_config *config, const char *ca_pem_path);

/**
 * ktls_config_add_cert_mem() - ktls_config_add_cert_file() from memory, for
 * keys that never touch a file (a secrets store, a keyring).
 * @cert, @cert_len: the certificate chain: PEM (leaf first) or one DER
 *                   certificate.
 * @key, @key_len: its private key: PEM or DER.
 *
 * Both are parsed now and not kept; the caller wipes its copy of the key.
 * Return: 0, -EINVAL, -EBADMSG (does not parse, or the key is not the
 *         certificate's), -ENOMEM, -EBUSY.
 */
int ktls_config_add_cert_mem(struct ktls_config *config, const void *cert, size_t cert_len,
			     const void *key, size_t key_len);

/**
 * ktls_config_set_ca_mem() - ktls_config_set_ca_file() from memory: PEM with
 * any number of certificates, or one DER certificate.
 * Return: 0, -EINVAL, -EBADMSG, -ENOMEM, -EBUSY.
 */
int ktls_config_set_ca_mem(struct ktls_config *config, const void *ca, size_t ca_len);

/**
 * ktls_config_set_system_trust() - trust the system store (the default).
 * Return: 0, -EINVAL, -EBUSY, -ENOENT (no system store could be loaded).
 */
int ktls_config_set_system_trust(struct ktls_config *config);

/**
 * ktls_config_set_verify() - client: verify the server's certificate chain
 * and, when @check_hostname, its name against ktls_conn_set_server_name().
 * Defaults to true, true.  Turning verification off is for tests only.
 * Return: 0, -EINVAL, -EBUSY.
 */
int ktls_config_set_verify(struct ktls_config *config, bool verify_chain, bool check_hostname);

/**
 * ktls_config_set_client_auth() - server: ask for client certificates.
 * Return: 0, -EINVAL (an unknown mode), -EBUSY.
 */
int ktls_config_set_client_auth(struct ktls_config *config, enum ktls_client_auth mode);

/*
 * The application's say on the peer's certificate, called during the
 * handshake once the peer has sent its chain, after libktls's own checks:
 * a client's (chain and name, ktls_config_set_verify()), a server's of a
 * client certificate (ktls_config_set_client_auth()).
 * @verdict: 0 when those checks passed or are off; -EACCES when they failed,
 *           with the reason in ktls_conn_error(@conn).
 * The chain can be read with ktls_conn_get_peer_cert(), _san() and
 * _fingerprint() from inside the callback.
 * Return: 0 accepts the certificate, even after a failed verdict (pinning,
 * a private CA scheme: the application then decides alone); a negative
 * errno rejects it: the handshake fails with -EACCES and the peer gets
 * bad_certificate.
 */
typedef int (*ktls_verify_fn)(struct ktls_conn *conn, int verdict, void *userdata);

/**
 * ktls_config_set_verify_callback() - call @fn for every peer certificate
 * chain (see ktls_verify_fn); NULL removes it.
 * Return: 0, -EINVAL, -EBUSY.
 */
int ktls_config_set_verify_callback(struct ktls_config *config, ktls_verify_fn fn,
				    void *userdata);

/**
 * ktls_config_add_psk() - add a TLS 1.3 external pre-shared key.
 * @identity: NUL-terminated identity (at most 255 bytes).
 * @key, @key_len: raw key bytes (16..64); copied, and wiped on free.
 *
 * A client uses the first one added.  A server accepts any of them.
 * When a config has PSKs, the key exchange is (EC)DHE-PSK, as NVMe/TCP uses.
 * Return: 0, -EINVAL, -EEXIST (duplicate identity), -ENOMEM.
 */
int ktls_config_add_psk(struct ktls_config *config, const char *identity, const void *key,
			size_t key_len);

/* The largest external PSK, in bytes (the smallest is 16). */
#define KTLS_PSK_KEY_MAX 64

/*
 * Server: the key for a PSK identity that a client offers and the config's
 * own list (ktls_config_add_psk()) does not have: for many hosts with keys
 * in a keyring or a database, as NVMe/TCP targets have.
 * @identity, @identity_len: as the client sent it; not NUL-terminated, and
 *                           possibly binary.
 * @ret_key: room for KTLS_PSK_KEY_MAX bytes; libktls wipes it after use.
 * Called from the handshake, in the thread that drives it.
 * Return: the key's length (16..KTLS_PSK_KEY_MAX), or -ENOENT for an unknown
 * identity (the handshake fails with -EACCES and the client gets
 * unknown_psk_identity) or another negative errno.
 */
typedef int (*ktls_psk_lookup_fn)(struct ktls_conn *conn, const void *identity,
				  size_t identity_len, unsigned char *ret_key, void *userdata);

/**
 * ktls_config_set_psk_lookup() - server: ask @fn for the keys of identities
 * not added with ktls_config_add_psk().  A server with a lookup needs no
 * certificate; its key exchange is (EC)DHE-PSK.
 * Return: 0, -EINVAL (a client config), -EBUSY.
 */
int ktls_config_set_psk_lookup(struct ktls_config *config, ktls_psk_lookup_fn fn,
			       void *userdata);

/**
 * ktls_config_set_alpn() - ALPN protocols, in preference order.
 * @protocols: comma-separated list, e.g. "h2,http/1.1".
 * Return: 0, -EINVAL, -ENOMEM.
 */
int ktls_config_set_alpn(struct ktls_config *config, const char *protocols);

/**
 * ktls_config_set_versions() - allowed protocol versions.
 * @min_version, @max_version: KTLS_VERSION_TLS12 or KTLS_VERSION_TLS13.
 * Return: 0 or -EINVAL.
 */
int ktls_config_set_versions(struct ktls_config *config, int min_version, int max_version);

/**
 * ktls_config_set_priority() - replace the cipher/version choice with a
 * GnuTLS priority string (see gnutls_priority_init(3)).  When set, it is
 * used as given: versions and offload-aware cipher ordering are not applied.
 * A string that starts with ':' is appended to libktls's own instead, e.g.
 * ":+RSA" for TLS 1.2's static RSA key exchange, which libktls leaves out
 * (it has no forward secrecy), or ":-CHACHA20-POLY1305".
 * Return: 0, -EINVAL (the string is checked now), -ENOMEM.
 */
int ktls_config_set_priority(struct ktls_config *config, const char *priority);

/**
 * ktls_config_set_offload() - offload policy for the directions in @dirs.
 * Return: 0, -EINVAL (no direction, or an unknown policy), -EBUSY.
 */
int ktls_config_set_offload(struct ktls_config *config, enum ktls_dir dirs, enum ktls_offload policy);

/**
 * ktls_config_set_handshake_timeout() - bound a blocking handshake.
 * @ms: 0 for no limit.  The default is 30000.
 * Return: 0, -EINVAL, -EBUSY.
 */
int ktls_config_set_handshake_timeout(struct ktls_config *config, unsigned int ms);

/*
 * Handshake message types, numbered as on the wire (RFC 8446 section 4,
 * RFC 5246 section 7.4): 1 ClientHello, 2 ServerHello, 4 NewSessionTicket,
 * 8 EncryptedExtensions, 11 Certificate, 12 ServerKeyExchange,
 * 13 CertificateRequest, 14 ServerHelloDone, 15 CertificateVerify,
 * 16 ClientKeyExchange, 20 Finished, 24 KeyUpdate...  Two values above 255
 * name what a trace shows that is not a handshake message type of its own:
 */
/* the ChangeCipherSpec record (RFC 5246 7.1), when GnuTLS reports it (3.7 does not) */
#define KTLS_HANDSHAKE_CHANGE_CIPHER_SPEC 0x100
#define KTLS_HANDSHAKE_HELLO_RETRY_REQUEST 0x101 /* a ServerHello that is a HelloRetryRequest */

/**
 * ktls_handshake_type_name() - "ClientHello", "EncryptedExtensions",
 * "ChangeCipherSpec"...; "unknown" for a number that names no message.
 */
const char *ktls_handshake_type_name(unsigned int type);

/*
 * Called for each handshake message a connection sends or receives:
 * @sent: true for a message this side sent, false for one it received;
 * @type: the message type (see above);
 * @length: the message body's length in bytes (without the 4-byte
 *          handshake header); 0 for ChangeCipherSpec.
 * It runs on the thread that drives the connection, inside
 * ktls_conn_handshake() (and, for post-handshake messages such as a TLS 1.3
 * NewSessionTicket or KeyUpdate, inside ktls_conn_recv()), before the
 * connection has acted on what follows.  It must not call back into @conn.
 */
typedef void (*ktls_handshake_trace_fn)(const struct ktls_conn *conn, bool sent, unsigned int type,
					size_t length, void *userdata);

/**
 * ktls_config_set_handshake_trace() - observe every connection's handshake
 * messages, one call of @fn per message, in the order they were sent and
 * read.  A sent message is reported when GnuTLS hands it to the record
 * layer; a received one as soon as it has been read whole, before it is
 * acted on (so a Certificate that fails verification is still traced).
 * @fn NULL stops it.
 * Return: 0, -EINVAL, -EBUSY (the config is in use by a connection).
 */
int ktls_config_set_handshake_trace(struct ktls_config *config, ktls_handshake_trace_fn fn,
				    void *userdata);

/* ---- Resumption ----------------------------------------------------------- */

#define KTLS_RESUME_TICKETS 0x1u    /* TLS 1.3 PSK tickets and TLS 1.2 tickets (RFC 5077) */
#define KTLS_RESUME_SESSION_ID 0x2u /* TLS 1.2 session IDs (server: a session cache) */

/* Size of a ticket master key (ktls_config_set_ticket_key()). */
#define KTLS_TICKET_KEY_SIZE 64

/**
 * ktls_config_set_resumption() - which resumption mechanisms to use.
 * @mechanisms: KTLS_RESUME_* bits; 0 turns resumption off.  The default
 *	is both.
 * @lifetime_s: how long a session can be resumed, 0 for the default (3600);
 *	at most 604800 (RFC 8446).  Servers: a ticket's lifetime and the
 *	session-ID cache's expiry; the ticket key in use rotates every
 *	3 x @lifetime_s (the previous one is still accepted).  Clients: how
 *	long a stored session is kept.
 * @max_entries: bound of the server's TLS 1.2 session-ID cache and of the
 *	client's session store, 0 for the default (4096).  The least
 *	recently used entry makes room.
 *
 * Servers issue tickets under the config's ticket key (random per config
 * unless ktls_config_set_ticket_key() shares one) and cache TLS 1.2
 * sessions in memory shared by every connection of the config.  Clients
 * keep what resumes each server, keyed by server name (or address) and
 * port, in memory shared by the config's connections, and in a file with
 * ktls_config_set_session_file().  Tickets that arrive after the kernel
 * took the keys are read back from it and stored.  A TLS 1.3 ticket is used
 * once.  Resumed connections are offloaded like full ones;
 * ktls_info.resumed tells them apart.
 *
 * Return: 0, -EINVAL, -EBUSY (after the first connection).
 */
int ktls_config_set_resumption(struct ktls_config *config, unsigned int mechanisms,
			       unsigned int lifetime_s, unsigned int max_entries);

/**
 * ktls_config_set_ticket_key() - share a ticket master key (server).
 * @key: KTLS_TICKET_KEY_SIZE secret bytes, e.g. from ktls_ticket_key_generate(),
 *	copied (and wiped when the config goes).
 *
 * Servers, in one process or many, that hold the same key accept each
 * other's tickets and rotate the key in use together, from the time alone.
 * Keep the key as secret as a private key.
 *
 * Return: 0, -EINVAL (wrong size, not a server), -EBUSY.
 */
int ktls_config_set_ticket_key(struct ktls_config *config, const void *key, size_t len);

/**
 * ktls_ticket_key_generate() - fill @buf (KTLS_TICKET_KEY_SIZE bytes) with a new key.
 * Return: 0, -EINVAL (@len is not KTLS_TICKET_KEY_SIZE), -EIO (the random
 *         generator failed).
 */
int ktls_ticket_key_generate(void *buf, size_t len);

/**
 * ktls_config_set_session_file() - keep the client's sessions in a file too.
 * @path: loaded at the first connection and rewritten (0600, atomically by
 *	rename) whenever a session is stored, so separate runs resume.  A file
 *	readable by group or others is refused (-EPERM at the first connection):
 *	it holds resumption secrets.  Entries that do not parse are skipped.
 *
 * Return: 0, -EINVAL (not a client), -EBUSY, -ENOMEM.
 */
int ktls_config_set_session_file(struct ktls_config *config, const char *path);

/* ---- Key updates (TLS 1.3) --------------------------------------------------- */

/* What to do on a kernel that cannot change a kTLS socket's keys (before Linux 6.14). */
enum ktls_keyupdate {
	/*
	 * Default.  RX goes to the kernel; a peer's KeyUpdate then ends the
	 * connection with -EKEYEXPIRED and an internal_error alert, and the
	 * AEAD usage limit ends it too (with close_notify).
	 */
	KTLS_KEYUPDATE_OFFLOAD = 0,
	/*
	 * Keep TLS 1.3 RX in userspace (GnuTLS) so that the peer's KeyUpdate
	 * is followed and the connection lives on, at the cost of RX offload.
	 * TX stays in the kernel: a KeyUpdate that requests ours still ends the
	 * connection (-EKEYEXPIRED) unless TX offload is off too.
	 */
	KTLS_KEYUPDATE_FOLLOW = 1,
};

/** ktls_config_set_keyupdate() - see enum ktls_keyupdate.  Return: 0, -EINVAL, -EBUSY. */
int ktls_config_set_keyupdate(struct ktls_config *config, enum ktls_keyupdate mode);

/* ------------------------------------------------------------------------ */
/* Connections                                                               */

/* Flags for ktls_conn_new(). */
#define KTLS_CONN_OWN_FD 0x1u /* close the fd in ktls_conn_free() */

/**
 * ktls_conn_new() - wrap a connected TCP socket.
 * @config: configuration; the connection holds a reference.
 * @fd: a connected (or connecting: a non-blocking connect(2) under way)
 *      IPv4 or IPv6 TCP socket.  Blocking or O_NONBLOCK: the handshake
 *      follows the fd's mode.
 * @flags: 0 or KTLS_CONN_OWN_FD.
 * @ret_conn: the new connection.
 *
 * On failure the caller still owns @fd.
 * Return: 0; -EINVAL (not a TCP socket, e.g. UDP or AF_UNIX, or a listening
 *         one; a server config without certificate or PSK); -ENOTSOCK;
 *         -ENOTCONN (not connected, or already shut down); -ENOENT (a
 *         client that verifies, with no CA set and no system trust store);
 *         -ENOMEM; or a GnuTLS set-up failure.
 */
int ktls_conn_new(struct ktls_config *config, int fd, unsigned int flags,
		  struct ktls_conn **ret_conn);

/**
 * ktls_conn_free() - free the connection; the fd is closed only with
 * KTLS_CONN_OWN_FD, after input already queued on it is read and discarded,
 * so that the close is a FIN and not a reset (a reset makes the peer's
 * kernel drop data it has not read yet, such as the end of an upload; a
 * TLS 1.3 server's session tickets are what an upload-only client usually
 * leaves unread).  Does not send close_notify (use ktls_conn_shutdown()).
 * NULL is allowed.
 *
 * A connection on a ring libktls owns, freed inside ktls_ring_run() (from a
 * callback): its fd is closed by the ring, with the next run's submission
 * (IORING_OP_CLOSE, behind anything of the connection's still queued, such
 * as a KTLS_SEND_CLOSE's close_notify), not by a close(2) of its own; the
 * descriptor stays open until then, so a queued request can never reach
 * another socket that took its number.  ktls_ring_free() submits what is
 * still queued.  Freed outside a run, the ring first submits what it has
 * queued, and the fd is closed at once.
 */
void ktls_conn_free(struct ktls_conn *conn);

/**
 * ktls_conn_error() - the sentence of the last call on @conn that failed
 * ("" when none), for people; the errno the call returned is for code.
 * Each failing call writes its own; a call that fails again with a failure
 * the connection already had (a receive after the stream ended) leaves that
 * failure's sentence.  For the io_uring engine, the sentence is current
 * inside the callback that reports the failure.
 */
const char *ktls_conn_error(const struct ktls_conn *conn);

/** ktls_conn_fd() - the socket.  Return: the fd, or -EINVAL for NULL. */
int ktls_conn_fd(const struct ktls_conn *conn);

/**
 * ktls_conn_set_server_name() - client: the name sent as SNI and checked
 * against the certificate.  Must precede the handshake.
 * Return: 0, -EINVAL, -ENOMEM.
 */
int ktls_conn_set_server_name(struct ktls_conn *conn, const char *name);

/**
 * ktls_conn_set_psk() - client: this connection's external PSK, in place of
 * the config's (one key per target, as an NVMe/TCP host has).  Before the
 * handshake.  The key exchange is (EC)DHE-PSK, and no certificate is
 * checked.
 * @identity: NUL-terminated, at most 255 bytes.
 * @key, @key_len: 16..KTLS_PSK_KEY_MAX bytes; copied, and wiped on free.
 * Return: 0, -EINVAL (a server, a handshake begun, a bad size), -ENOMEM.
 */
int ktls_conn_set_psk(struct ktls_conn *conn, const char *identity, const void *key,
		      size_t key_len);

/**
 * ktls_conn_handshake() - run (or continue) the handshake, then move the
 * record keys into the kernel as the offload policy allows.
 *
 * On a blocking fd it returns when done.  On an O_NONBLOCK fd it returns
 * -EAGAIN; then wait for ktls_conn_wants() and call it again.
 *
 * A TLS 1.3 client's handshake is over when it has sent its Finished
 * (RFC 8446 section 4.4.4): a server that then rejects the client's
 * certificate (or its lack of one) answers with an alert the client only
 * reads afterwards, so this returns 0 and the first ktls_conn_recv() fails
 * with -ECONNABORTED naming the alert (certificate_required, bad_certificate,
 * unknown_ca...).  A client that must know first reads before it sends.  In
 * TLS 1.2 the server decides before its Finished, and this call fails with
 * -ECONNABORTED (handshake_failure for a missing certificate).  The server
 * sees -EACCES in both versions.
 *
 * Return: 0 when the connection is ready for data;
 *         -EAGAIN (non-blocking, call again);
 *         -EACCES (peer authentication failed: certificate, hostname, PSK identity);
 *         -EPROTO (the peer does not speak TLS, or broke the protocol);
 *         -EPROTONOSUPPORT (no common version, cipher or group);
 *         -ECONNABORTED (the peer sent a fatal alert; the text names it);
 *         -ECONNRESET (the peer closed during the handshake);
 *         -ETIMEDOUT (handshake timeout);
 *         -EOPNOTSUPP (offload policy REQUIRE and the kernel cannot take the keys);
 *         -EINVAL (misuse, e.g. after a failure).
 */
int ktls_conn_handshake(struct ktls_conn *conn);

/* Return values of ktls_conn_wants(), compatible with poll(2) events. */
#define KTLS_WANT_READ 0x001  /* == POLLIN */
#define KTLS_WANT_WRITE 0x004 /* == POLLOUT */

/**
 * ktls_conn_wants() - after -EAGAIN from the handshake: which readiness to
 * wait for.  After the handshake: KTLS_WANT_WRITE while a record is queued
 * (see ktls_conn_flush()), else 0.
 * Return: KTLS_WANT_READ, KTLS_WANT_WRITE or 0.
 */
int ktls_conn_wants(const struct ktls_conn *conn);

/**
 * ktls_conn_send() - send application data.
 *
 * With the kernel holding the TX key this is send(2).  Through GnuTLS on a
 * non-blocking fd, the last record may be accepted but only partly written
 * when the socket fills up: ktls_conn_wants() then returns KTLS_WANT_WRITE,
 * and the rest goes out with ktls_conn_flush() (or the next send, recv or
 * shutdown).  Accepted bytes are never to be passed again.
 *
 * No libktls call raises SIGPIPE: a peer that has gone (reset or closed)
 * is -EPIPE, whichever path (kernel or GnuTLS) met it.
 *
 * Return: bytes accepted (may be short on a non-blocking fd), -EAGAIN,
 *         -EPIPE (the peer has gone, or after ktls_conn_shutdown()),
 *         -EKEYEXPIRED (the key's usage limit, see ktls_conn_rekey()),
 *         -EINVAL (no handshake yet).
 */
ssize_t ktls_conn_send(struct ktls_conn *conn, const void *buf, size_t len);

/* Flags for ktls_conn_sendv() and ktls_conn_ring_sendv(). */
#define KTLS_SEND_MORE 0x1u /* more follows at once: let it share the last record */
/*
 * ktls_conn_ring_sendv() only: close_notify follows the data, in the same
 * operation (as ktls_conn_ring_shutdown() would send it next).
 */
#define KTLS_SEND_CLOSE 0x2u

/**
 * ktls_conn_sendv() - send the buffers of @iov, in order, as one stream (a
 * gather send): a header and its payload share records.
 * @iovcnt: 0..IOV_MAX.
 * @flags: 0 or KTLS_SEND_MORE: more data follows at once, so the last
 *         record stays open for it (MSG_MORE with kernel TX; libktls holds
 *         back at most one record's plaintext otherwise).  The next send or
 *         sendfile continues the record; ktls_conn_flush(), a receive and
 *         ktls_conn_shutdown() send it as it is.
 * Return: as ktls_conn_send(); the count covers @iov's bytes only, held
 *         ones included.
 */
ssize_t ktls_conn_sendv(struct ktls_conn *conn, const struct iovec *iov, int iovcnt,
			unsigned int flags);

/**
 * ktls_conn_flush() - write out a record still queued in the library.
 * Return: 0 when nothing is queued any more, -EAGAIN (wait for
 *         KTLS_WANT_WRITE), or a negative errno.
 */
int ktls_conn_flush(struct ktls_conn *conn);

/**
 * ktls_conn_recv() - receive application data.
 *
 * Data that GnuTLS had already read before the kernel took over is returned
 * first, in order.  Non-data records are handled here: a TLS 1.3
 * NewSessionTicket is given to GnuTLS and reading continues (or dropped,
 * for a client with resumption off), a KeyUpdate is checked (RFC 8446
 * section 4.6.3) and followed (at most 8 within a second, as GnuTLS allows;
 * more end the stream with unexpected_message), a TLS 1.2 renegotiation
 * request is declined.  A record that breaks the protocol ends the stream
 * with the alert the RFC names for it (bad_record_mac, record_overflow,
 * unexpected_message, decode_error, illegal_parameter), sent when the call
 * returns the failure; the sentence says what the peer did.
 *
 * Waiting on a non-blocking fd with the kernel holding RX: poll(2) and
 * level-triggered epoll report a kTLS socket readable as soon as the first
 * bytes of a record are in, and this call then answers -EAGAIN until the
 * rest comes, so a level-triggered loop spins while a slow or hostile peer
 * holds a partial record.  Wait with EPOLLET (kTLS wakes edge-triggered
 * waiters only for a whole record, an error or the end; read until
 * -EAGAIN), with a blocking fd, or with the io_uring engine, which does so.
 *
 * Return: bytes received; 0 at the peer's close_notify (clean end of stream);
 *         -EAGAIN; -ECONNABORTED (peer's fatal alert, named in the error text);
 *         -EKEYEXPIRED (the peer sent a TLS 1.3 KeyUpdate that this kernel
 *         cannot follow: an alert was sent and the connection is finished);
 *         -ECONNRESET (the peer closed without close_notify: truncation);
 *         -EBADMSG (record authentication failed); -EMSGSIZE (a record too
 *         long); -EPROTO (any other protocol violation).
 */
ssize_t ktls_conn_recv(struct ktls_conn *conn, void *buf, size_t len);

/**
 * ktls_conn_pending() - plaintext bytes ktls_conn_recv() can return without
 * reading the socket.  An event loop must drain these before it waits for the
 * fd to become readable, since they will never make it readable.
 */
size_t ktls_conn_pending(const struct ktls_conn *conn);

/**
 * ktls_conn_sendfile() - send @count bytes of @file_fd from *@offset.
 * With kernel TX this is sendfile(2) (no copy to userspace); otherwise
 * GnuTLS reads and encrypts.  *@offset advances by the bytes sent.
 * Return: bytes sent (may be short), -EAGAIN, -EPIPE (the peer has gone;
 *         never SIGPIPE), or a negative errno (a file read's, or as
 *         ktls_conn_send()).
 */
ssize_t ktls_conn_sendfile(struct ktls_conn *conn, int file_fd, off_t *offset, size_t count);

/**
 * ktls_conn_shutdown() - send close_notify (through the kernel when it holds
 * the TX key) and stop sending.  Reading may continue until the peer's.
 * On a non-blocking handshake that has not finished, it ends the handshake
 * instead: the peer gets user_canceled, then close_notify (RFC 8446
 * section 6.1), and the connection is left to be freed.
 * Return: 0, -EAGAIN, or a negative errno.
 */
int ktls_conn_shutdown(struct ktls_conn *conn);

/**
 * ktls_conn_rekey() - send a TLS 1.3 KeyUpdate and move to the next TX key.
 * @request_peer: ask the peer to update its key too (update_requested).
 *
 * With TX in the kernel this needs TLS 1.3 rekey (Linux 6.14 and later,
 * ktls_caps.tls13_rekey): the KeyUpdate goes out under the current key and
 * the kernel then takes the next one.  libktls also does this by itself
 * before a key reaches its AEAD usage limit (RFC 8446 section 5.5; AES-GCM
 * 2^24.5 records, AES-CCM 2^23), counting records by the kernel's sequence
 * number; where the kernel cannot rekey, the connection ends there with
 * -EKEYEXPIRED after close_notify.  With TX in GnuTLS, GnuTLS does it.
 *
 * Return: 0; -EOPNOTSUPP (TLS 1.2, or a kernel without rekey: nothing was
 * sent, the connection goes on); -EKEYEXPIRED (the KeyUpdate went out but
 * the kernel refused the next key: the connection cannot send any more);
 * -EAGAIN (non-blocking, GnuTLS TX); -EPIPE after shutdown.
 */
int ktls_conn_rekey(struct ktls_conn *conn, bool request_peer);

/* ------------------------------------------------------------------------ */
/* What was negotiated, and where the keys live                              */

enum ktls_peer_auth {
	KTLS_PEER_NONE = 0,
	KTLS_PEER_CERTIFICATE = 1,
	KTLS_PEER_PSK = 2,
};

struct ktls_dir_info {
	bool kernel;         /* the kernel holds this direction's key */
	int reason_errno;    /* when not: the errno of the reason, 0 for policy OFF */
	char reason[160];    /* when not: why, in words */
};

struct ktls_info {
	int version;                /* KTLS_VERSION_TLS12 / 13 */
	enum ktls_cipher cipher;    /* KTLS_CIPHER_NONE when not kernel-capable */
	char version_name[16];      /* "TLS1.3" */
	char cipher_name[32];       /* GnuTLS's name, e.g. "AES-128-GCM" */
	char group_name[32];        /* key exchange group, e.g. "X25519"; "" if none */
	char alpn[64];              /* selected ALPN protocol, "" if none */
	char server_name[256];      /* SNI sent (client; "" for an address) or received (server) */
	bool resumed;
	enum ktls_peer_auth peer_auth;
	char peer_identity[512];    /* certificate subject DN, or PSK identity */
	struct ktls_dir_info tx, rx;
	unsigned int tickets_received;     /* client: NewSessionTickets taken in so far */
	unsigned int tickets_after_switch; /* ... of which the kernel read back (RX offloaded) */
	unsigned int key_updates_sent;     /* TLS 1.3 KeyUpdates sent */
	unsigned int key_updates_received; /* ... and followed */
};

/**
 * ktls_conn_get_info_sized() - fill @ret_info after a successful handshake.
 * @info_size: sizeof(*@ret_info) as the caller knows it; ktls_conn_get_info()
 *             passes it.
 * Return: 0, or -EINVAL before the handshake has completed (or a size
 *         smaller than LIBKTLS_0.1's struct).
 */
int ktls_conn_get_info_sized(const struct ktls_conn *conn, struct ktls_info *ret_info,
			     size_t info_size);

/**
 * ktls_conn_get_info() - ktls_conn_get_info_sized() with this header's struct size.
 * Return: as ktls_conn_get_info_sized().
 */
static inline int ktls_conn_get_info(const struct ktls_conn *conn, struct ktls_info *ret_info)
{
	return ktls_conn_get_info_sized(conn, ret_info, sizeof(*ret_info));
}

/* ------------------------------------------------------------------------ */
/* The peer's certificate, and keys exported from the session                */

/*
 * These work once the handshake is done, and inside the verify callback
 * (ktls_config_set_verify_callback()) while it runs.
 */

/**
 * ktls_conn_get_peer_cert() - one certificate of the chain the peer sent,
 * in DER.
 * @index: 0 is the peer's own certificate, then its chain as sent.
 * @ret_der, @ret_len: libktls's copy, valid until ktls_conn_free().
 * Return: 0; -ENOENT (nothing there: no certificate was sent, a PSK
 *         handshake, or @index past the chain); -EINVAL.
 */
int ktls_conn_get_peer_cert(const struct ktls_conn *conn, unsigned int index,
			    const void **ret_der, size_t *ret_len);

/* Kinds of subject alternative name. */
enum ktls_san_type {
	KTLS_SAN_DNS = 1,   /* dNSName: "host.example" */
	KTLS_SAN_IP = 2,    /* iPAddress, as text: "192.0.2.1", "2001:db8::1" */
	KTLS_SAN_URI = 3,   /* uniformResourceIdentifier, e.g. a SPIFFE ID */
	KTLS_SAN_EMAIL = 4, /* rfc822Name */
};

/**
 * ktls_conn_get_peer_san() - the @index-th subject alternative name of the
 * peer's certificate that is of a kind above (others are skipped).
 * @ret_type: its kind.
 * @buf, @size: the name, NUL-terminated.
 * Return: the name's length; -ENOENT (no more names, or no certificate);
 *         -ENOSPC (@size must be larger than the length: @buf holds ""),
 *         -EBADMSG (the certificate does not parse); -EINVAL.
 */
int ktls_conn_get_peer_san(const struct ktls_conn *conn, unsigned int index,
			   enum ktls_san_type *ret_type, char *buf, size_t size);

/* SHA-256 */
#define KTLS_FINGERPRINT_SIZE 32

/**
 * ktls_conn_get_peer_fingerprint() - the SHA-256 of the peer's certificate
 * (DER), as `openssl x509 -fingerprint -sha256` and `ktls serve` print it.
 * Return: 0; -ENOENT (no certificate); -EINVAL.
 */
int ktls_conn_get_peer_fingerprint(const struct ktls_conn *conn,
				   unsigned char ret_sha256[KTLS_FINGERPRINT_SIZE]);

/**
 * ktls_conn_export_keying_material() - bytes derived from the session's
 * secrets (RFC 8446 section 7.5; RFC 5705 for TLS 1.2): both ends get the
 * same for the same label and context, and no one else can.  For binding
 * an application protocol to this TLS session.  Works wherever the record
 * keys went.
 * @label: e.g. "EXPERIMENTAL-my-protocol" (RFC 5705 section 4 registers them).
 * @context, @context_len: the context; a length of 0 means none (GnuTLS
 *                         does not tell RFC 5705's absent and empty contexts
 *                         apart).
 * @out, @out_len: filled.
 * Return: 0; -EINVAL (before the handshake, bad arguments); -EPROTO (GnuTLS
 *         refused).
 */
int ktls_conn_export_keying_material(const struct ktls_conn *conn, const char *label,
				     const void *context, size_t context_len, void *out,
				     size_t out_len);

/* ------------------------------------------------------------------------ */
/* Every kTLS socket on the machine (sock_diag)                              */

/*
 * How the kernel handles one direction of a socket with the TLS ULP, as
 * sock_diag reports it (TLS_CONF_* in linux/tls.h).
 */
enum ktls_sock_conf {
	KTLS_SOCK_CONF_UNKNOWN = 0,   /* the kernel did not say */
	KTLS_SOCK_CONF_BASE = 1,      /* no key: bytes pass through as they are */
	KTLS_SOCK_CONF_SW = 2,        /* the kernel's record crypto (CPU) */
	KTLS_SOCK_CONF_HW = 3,        /* the NIC encrypts/decrypts (tls-hw-tx/rx-offload) */
	KTLS_SOCK_CONF_HW_RECORD = 4, /* the NIC runs the whole record layer (tls-hw-record) */
};

/* Flags for ktls_sock_list(). */
#define KTLS_SOCK_LIST_OWNERS 0x1u /* find each socket's process in /proc */

/*
 * struct ktls_sock - one TCP socket that carries the TLS ULP, whichever
 * process owns it.  Addresses are in network byte order: 4 bytes used for
 * AF_INET, 16 for AF_INET6.
 */
struct ktls_sock {
	int family;                 /* AF_INET or AF_INET6 */
	uint8_t local_addr[16];
	uint8_t peer_addr[16];
	uint16_t local_port;        /* host byte order */
	uint16_t peer_port;
	int tcp_state;              /* TCP_ESTABLISHED, TCP_CLOSE_WAIT, ... (netinet/tcp.h) */
	uint32_t uid;               /* the socket's owner */
	uint64_t inode;             /* as in /proc/PID/fd: socket:[inode] */
	pid_t pid;                  /* 0: not asked for, or not found (no permission) */
	char comm[16];              /* that process's name, "" with pid 0 */
	bool tls_info;              /* false: ULP "tls" but no TLS state (closed, closing) */
	int version;                /* KTLS_VERSION_TLS12/13; 0 before a key is set */
	uint16_t cipher_type;       /* the kernel's TLS_CIPHER_*; 0 before a key is set */
	enum ktls_cipher cipher;    /* KTLS_CIPHER_NONE for others (SM4, ARIA) and none */
	char cipher_name[24];       /* "AES-128-GCM", "SM4-GCM", "cipher-99", "" */
	enum ktls_sock_conf tx, rx;
	bool tx_zerocopy_sendfile;  /* TLS_TX_ZEROCOPY_RO set; the kernel reports it for hw TX only */
	bool rx_no_pad;             /* TLS_RX_EXPECT_NO_PAD was set */
	uint64_t bytes_acked;       /* TCP payload bytes the peer acknowledged (tcp_info) */
	uint64_t bytes_received;    /* TCP payload bytes received (tcp_info) */
	/* LIBKTLS_0.2 */
	uint16_t tx_max_payload_len; /* largest TX record plaintext (TLS_TX_MAX_PAYLOAD_LEN,
				      * 16384 unless limited); 0: not reported (before 6.19) */
};

/**
 * ktls_sock_list_sized() - every IPv4/IPv6 TCP socket in this network
 * namespace that carries the TLS ULP, from sock_diag (INET_DIAG_ULP_INFO).
 * @flags: 0 or KTLS_SOCK_LIST_OWNERS: also find the owning process by
 *         scanning /proc/PID/fd for socket:[inode] (stops when all are found;
 *         other users' processes are only visible to root).
 * @sock_size: sizeof(struct ktls_sock) as the caller knows it: the array's
 *             stride.  ktls_sock_list() passes it.
 * @ret_socks: a malloc'ed array (NULL when empty), freed with
 *             ktls_sock_list_free().
 * @ret_count: its length.
 * @errbuf, @errlen: the reason on failure (see the top of this header).
 *
 * Some kernels (6.1) report a socket's ULP only to CAP_NET_ADMIN (7.x
 * reports it to everyone): when none is shown and the caller lacks that
 * capability, every TCP socket may just look like a plain one, so this
 * fails with -EPERM rather than pretend that there are no kTLS sockets.
 * (A kernel too old to report ULP info through sock_diag shows none
 * either; nothing tells the two apart.)
 *
 * Return: 0; -EPERM (no CAP_NET_ADMIN); -EPROTONOSUPPORT (no sock_diag in this
 *         kernel); -ENOMEM; -EBADMSG (a reply that does not parse).
 */
int ktls_sock_list_sized(unsigned int flags, size_t sock_size, struct ktls_sock **ret_socks,
			 size_t *ret_count, char *errbuf, size_t errlen);

/**
 * ktls_sock_list() - ktls_sock_list_sized() with this header's struct size.
 * Return: as ktls_sock_list_sized().
 */
static inline int ktls_sock_list(unsigned int flags, struct ktls_sock **ret_socks,
				 size_t *ret_count, char *errbuf, size_t errlen)
{
	return ktls_sock_list_sized(flags, sizeof(**ret_socks), ret_socks, ret_count, errbuf,
				    errlen);
}

/** ktls_sock_list_free() - free what ktls_sock_list() returned; NULL is allowed. */
void ktls_sock_list_free(struct ktls_sock *socks);

/** ktls_sock_conf_name() - "base", "sw", "hw", "hw-record"; "unknown" otherwise. */
const char *ktls_sock_conf_name(enum ktls_sock_conf conf);

/* ------------------------------------------------------------------------ */
/* The kernel's TLS counters (/proc/net/tls_stat)                            */

/*
 * Counters, named as in /proc/net/tls_stat.  Kernels add counters: a newer
 * library knows more (up to KTLS_STATS_MAX), and ktls_stats_name() names
 * them.
 */
enum ktls_stat {
	KTLS_STAT_CURR_TX_SW = 0,      /* TlsCurrTxSw: sockets with TX in software now */
	KTLS_STAT_CURR_RX_SW,          /* TlsCurrRxSw */
	KTLS_STAT_CURR_TX_DEVICE,      /* TlsCurrTxDevice: TX on a NIC now */
	KTLS_STAT_CURR_RX_DEVICE,      /* TlsCurrRxDevice */
	KTLS_STAT_TX_SW,               /* TlsTxSw: TX keys ever installed in software */
	KTLS_STAT_RX_SW,               /* TlsRxSw */
	KTLS_STAT_TX_DEVICE,           /* TlsTxDevice */
	KTLS_STAT_RX_DEVICE,           /* TlsRxDevice */
	KTLS_STAT_DECRYPT_ERROR,       /* TlsDecryptError: records that failed authentication */
	KTLS_STAT_RX_DEVICE_RESYNC,    /* TlsRxDeviceResync */
	KTLS_STAT_DECRYPT_RETRY,       /* TlsDecryptRetry (Linux 6.0) */
	KTLS_STAT_RX_NO_PAD_VIOLATION, /* TlsRxNoPadViolation (Linux 6.0) */
	KTLS_STAT_TX_REKEY_OK,         /* TlsTxRekeyOk (Linux 6.14) */
	KTLS_STAT_TX_REKEY_ERROR,      /* TlsTxRekeyError (Linux 6.14) */
	KTLS_STAT_RX_REKEY_OK,         /* TlsRxRekeyOk (Linux 6.14) */
	KTLS_STAT_RX_REKEY_ERROR,      /* TlsRxRekeyError (Linux 6.14) */
	KTLS_STAT_RX_REKEY_RECEIVED,   /* TlsRxRekeyReceived (Linux 6.14) */
};
/* The last counter this header knows. */
#define KTLS_STAT_LAST KTLS_STAT_RX_REKEY_RECEIVED
/* Room for counters in struct ktls_stats: fixed, whatever kernels add. */
#define KTLS_STATS_MAX 64

/*
 * struct ktls_stats - one reading of /proc/net/tls_stat.  Counters that
 * this kernel does not have are 0 with their bit clear in @present.
 * Counters this library does not know (newer kernels) are skipped.
 */
struct ktls_stats {
	uint64_t value[KTLS_STATS_MAX];
	uint64_t present;  /* bit (1ull << enum ktls_stat) */
	uint64_t taken_ns; /* CLOCK_MONOTONIC when read; 0 from ktls_stats_parse() */
};

/* struct ktls_stats_delta - @after minus @before, for counters in both. */
struct ktls_stats_delta {
	int64_t value[KTLS_STATS_MAX]; /* the Curr* gauges can go down */
	uint64_t present;
	double seconds;                /* between the readings; 0 when unknown */
};

/**
 * ktls_stats_read_sized() - read /proc/net/tls_stat (this network namespace).
 * @stats_size: sizeof(*@ret_stats) as the caller knows it; ktls_stats_read()
 *              passes it.
 * Return: 0; -ENOENT (the file is absent: no kTLS in this kernel, or the tls
 *         module is not loaded); -EBADMSG; -EINVAL (a size this library does
 *         not know); or the errno of open/read.
 */
int ktls_stats_read_sized(struct ktls_stats *ret_stats, size_t stats_size, char *errbuf,
			  size_t errlen);

/**
 * ktls_stats_read() - ktls_stats_read_sized() with this header's struct size.
 * Return: as ktls_stats_read_sized().
 */
static inline int ktls_stats_read(struct ktls_stats *ret_stats, char *errbuf, size_t errlen)
{
	return ktls_stats_read_sized(ret_stats, sizeof(*ret_stats), errbuf, errlen);
}

/**
 * ktls_stats_parse_sized() - parse text in the format of /proc/net/tls_stat
 * ("Name<whitespace>value" per line), e.g. a copy taken elsewhere.
 * @stats_size: as for ktls_stats_read_sized(); ktls_stats_parse() passes it.
 * Return: 0, -EINVAL (NULL text, or a size this library does not know),
 *         -EBADMSG (the line that does not parse is named in @errbuf).
 */
int ktls_stats_parse_sized(const char *text, size_t len, struct ktls_stats *ret_stats,
			   size_t stats_size, char *errbuf, size_t errlen);

/**
 * ktls_stats_parse() - ktls_stats_parse_sized() with this header's struct size.
 * Return: as ktls_stats_parse_sized().
 */
static inline int ktls_stats_parse(const char *text, size_t len, struct ktls_stats *ret_stats,
				   char *errbuf, size_t errlen)
{
	return ktls_stats_parse_sized(text, len, ret_stats, sizeof(*ret_stats), errbuf, errlen);
}

/**
 * ktls_stats_delta_sized() - what changed between two readings.
 * @stats_size: sizeof(struct ktls_stats) of @before and @after;
 * @delta_size: sizeof(*@ret_delta); ktls_stats_delta() passes both.
 * Return: 0, or -EINVAL for a NULL argument or a size this library does not
 *         know.
 */
int ktls_stats_delta_sized(const struct ktls_stats *before, const struct ktls_stats *after,
			   size_t stats_size, struct ktls_stats_delta *ret_delta,
			   size_t delta_size);

/**
 * ktls_stats_delta() - ktls_stats_delta_sized() with this header's struct sizes.
 * Return: as ktls_stats_delta_sized().
 */
static inline int ktls_stats_delta(const struct ktls_stats *before,
				   const struct ktls_stats *after,
				   struct ktls_stats_delta *ret_delta)
{
	return ktls_stats_delta_sized(before, after, sizeof(*before), ret_delta,
				      sizeof(*ret_delta));
}

/** ktls_stats_name() - "TlsCurrTxSw" etc.; NULL for values this library does not know. */
const char *ktls_stats_name(enum ktls_stat stat);

/* ------------------------------------------------------------------------ */
/* NIC TLS offload (ethtool netlink features)                                */

enum ktls_nic_feature {
	KTLS_NIC_TLS_TX = 0,     /* "tls-hw-tx-offload": the NIC encrypts TX records */
	KTLS_NIC_TLS_RX = 1,     /* "tls-hw-rx-offload": the NIC decrypts RX records */
	KTLS_NIC_TLS_RECORD = 2, /* "tls-hw-record": the NIC runs the record layer */
};
/* The last feature this header knows. */
#define KTLS_NIC_FEATURE_LAST KTLS_NIC_TLS_RECORD
/* Room for features in struct ktls_nic: fixed. */
#define KTLS_NIC_FEATURES_MAX 8

/* struct ktls_nic_state - one feature of one interface, as ethtool -k shows it. */
struct ktls_nic_state {
	bool available; /* the driver can switch it (ETHTOOL_A_FEATURES_HW) */
	bool wanted;    /* asked for (ETHTOOL_A_FEATURES_WANTED) */
	bool active;    /* on now (ETHTOOL_A_FEATURES_ACTIVE) */
	bool fixed;     /* can never change (ETHTOOL_A_FEATURES_NOCHANGE) */
};

struct ktls_nic {
	char name[16];          /* IFNAMSIZ */
	int ifindex;
	char driver[32];        /* "mlx5_core", "veth"; "" when the device names none (lo) */
	bool virtual_device;    /* no bus device behind it (lo, veth, bridges...) */
	bool tls_offload;       /* the driver can offload at least one of the features */
	/* [enum ktls_nic_feature]; those this library does not know are all false */
	struct ktls_nic_state feature[KTLS_NIC_FEATURES_MAX];
};

/**
 * ktls_nic_get_sized() - the TLS offload features of interface @ifname.
 * @nic_size: sizeof(*@ret_nic) as the caller knows it; ktls_nic_get() passes it.
 * Return: 0; -EINVAL (not a valid interface name: empty, too long, '/', ':'
 *         or whitespace; checked before any netlink; or a size this library
 *         does not know); -ENODEV (no such interface); -EOPNOTSUPP (no
 *         ethtool netlink in this kernel); -ENOMEM; -EBADMSG.
 */
int ktls_nic_get_sized(const char *ifname, struct ktls_nic *ret_nic, size_t nic_size,
		       char *errbuf, size_t errlen);

/**
 * ktls_nic_get() - ktls_nic_get_sized() with this header's struct size.
 * Return: as ktls_nic_get_sized().
 */
static inline int ktls_nic_get(const char *ifname, struct ktls_nic *ret_nic, char *errbuf,
			       size_t errlen)
{
	return ktls_nic_get_sized(ifname, ret_nic, sizeof(*ret_nic), errbuf, errlen);
}

/**
 * ktls_nic_list_sized() - the same for every interface in this network namespace.
 * @nic_size: the array's stride, sizeof(struct ktls_nic) as the caller knows it.
 * @ret_nics: a malloc'ed array (NULL when empty), freed with ktls_nic_list_free().
 * Return: as ktls_nic_get_sized(), without -ENODEV.
 */
int ktls_nic_list_sized(size_t nic_size, struct ktls_nic **ret_nics, size_t *ret_count,
			char *errbuf, size_t errlen);

/**
 * ktls_nic_list() - ktls_nic_list_sized() with this header's struct size.
 * Return: as ktls_nic_list_sized().
 */
static inline int ktls_nic_list(struct ktls_nic **ret_nics, size_t *ret_count, char *errbuf,
				size_t errlen)
{
	return ktls_nic_list_sized(sizeof(**ret_nics), ret_nics, ret_count, errbuf, errlen);
}

/** ktls_nic_list_free() - free what ktls_nic_list() returned; NULL is allowed. */
void ktls_nic_list_free(struct ktls_nic *nics);

/**
 * ktls_nic_set() - switch one TLS offload feature of @ifname on or off
 * (ETHTOOL_MSG_FEATURES_SET), then read it back.
 *
 * Switching a feature off that is already off succeeds on any interface.
 * Return: 0; -EINVAL (bad name or feature); -ENODEV (no such interface);
 *         -EPERM (changing NIC features needs CAP_NET_ADMIN);
 *         -EOPNOTSUPP (the driver has no such TLS offload; @errbuf names the
 *         driver, or says the device is virtual);
 *         -EIO (the driver accepted the request but the feature did not
 *         change, e.g. because it depends on another feature that is off).
 */
int ktls_nic_set(const char *ifname, enum ktls_nic_feature feature, bool enable, char *errbuf,
		 size_t errlen);

/** ktls_nic_feature_name() - "tls-hw-tx-offload" etc.; NULL for out-of-range values. */
const char *ktls_nic_feature_name(enum ktls_nic_feature feature);

/**
 * ktls_nic_feature_from_name() - the feature called @name (ethtool's names).
 * Return: an enum ktls_nic_feature value, or -EINVAL.
 */
int ktls_nic_feature_from_name(const char *name);


/* ------------------------------------------------------------------------ */
/* The io_uring engine                                                       */

/*
 * A struct ktls_ring drives connections through io_uring completions: the
 * handshake (GnuTLS works on memory buffers that ring RECV fills and ring
 * SEND drains), then data, file transmission and shutdown, each with a
 * timeout.  Nothing in it blocks and nothing waits in epoll.
 *
 * Threads: a ring and every connection attached to it belong to one thread
 * at a time (io_uring's submission queue is not thread-safe).  Servers scale
 * with one ring per thread, each with its own SO_REUSEPORT listener.
 *
 * The ring may be the application's (pass its struct io_uring): libktls then
 * takes SQEs from it and the application hands every CQE it reaps to
 * ktls_ring_process_cqe(), which picks out libktls's own by their user_data
 * (the top byte is KTLS_RING_USER_DATA_TAG: the application's user_data
 * must never have that top byte).  With a NULL ring, libktls owns one and
 * ktls_ring_run() waits on it.
 *
 * Operations and ownership:
 *  - At most one operation per direction per connection is in flight: one
 *    receive (ktls_conn_ring_recv) and one transmission (handshake, send,
 *    sendfile or shutdown).  A second one in the same direction gets
 *    -EBUSY.  The handshake uses both directions: nothing else may start
 *    before it completed (-EINVAL).
 *  - Each operation ends with exactly one call of its callback, from
 *    ktls_ring_run() or ktls_ring_process_cqe(), never from inside the call
 *    that started it.  A callback may start the next operation and may free
 *    the connection when no other operation of it is in flight
 *    (ktls_conn_ring_busy() says 0).
 *  - Buffers the application passes (ktls_conn_ring_send) belong to libktls
 *    until that operation's callback; files passed to
 *    ktls_conn_ring_sendfile() must stay open until then.
 *  - Received data lives in libktls's memory: the callback's @data is valid
 *    during the callback only.
 *  - A connection whose operations are in flight should not be freed: cancel
 *    them (ktls_conn_ring_cancel()) and free it from the last callback.
 *    libktls's own follow-up completions (linked timeouts, cancellations)
 *    are settled by the ring after the connection is gone.  Freed anyway,
 *    its operations are cancelled and their callbacks never come, but a
 *    send buffer may still be read until the ring has seen the cancellation.
 *
 * Memory, bounded per connection: an idle connection (a receive waiting for
 * data) holds no data buffer: a receive first waits for readiness with a
 * poll, and its buffer (one record, about 17 KiB, from a per-ring pool of
 * 16) exists only from the moment data is there until the callback returns.
 * During the handshake a connection holds a 4 KiB input buffer and GnuTLS's
 * flight.  A transmission through GnuTLS holds at most KTLS_RING_TX_CHUNK
 * bytes of plaintext plus their records.  A send through the kernel holds
 * nothing (it reads the caller's buffer); a sendfile through the kernel
 * splices through a pipe (two descriptors) taken from a per-ring pool while
 * it runs, or, when no descriptor is left for one, reads KTLS_RING_TX_CHUNK
 * bytes at a time and sends them (the kernel still encrypts).  What remains
 * per idle connection is struct ktls_conn and the engine's state: once both
 * keys are the kernel's, libktls releases the GnuTLS session (about 10 KB)
 * of a connection it created, keeping what KeyUpdate and the exporters
 * need.  ktls serve measures 2.8 KB of heap per idle TLS 1.3 connection
 * under Linux 6.1 and 7.2 kTLS (README.md).
 *
 * Signals: splice(2) into a socket cannot ask for MSG_NOSIGNAL, so a peer
 * that vanishes during a kernel sendfile raises SIGPIPE in the thread that
 * enters the ring.  On a ring libktls owns, ktls_ring_run() and
 * ktls_ring_free() block it and consume it, unless the process ignores
 * SIGPIPE (SIG_IGN), which a ring reads once, the first time a splice could
 * raise it: a server that ignores it saves four system calls per run.  An
 * application that enters its own ring must ignore or block SIGPIPE in
 * those threads.
 *
 * Counters: the first send through the kernel (or the ring zero-copy probe)
 * probes zero-copy sends with a dummy TX key on a loopback socket, which the
 * kernel counts in TlsTxSw once per process, as ktls_caps_get() does.
 */
struct io_uring;
struct io_uring_cqe;
struct ktls_ring;

/* The top byte of the user_data of every SQE libktls submits. */
#define KTLS_RING_USER_DATA_TAG 0x6bu
/* Plaintext GnuTLS encrypts per round of a userspace send or sendfile. */
#define KTLS_RING_TX_CHUNK 65536

/*
 * Completion of an operation on a connection.  @result: as each operation
 * says (bytes, 0, or a negative errno; -ETIMEDOUT when its timeout fired,
 * -ECANCELED after ktls_conn_ring_cancel()).  @data: for ktls_conn_ring_recv()
 * with @result > 0, the @result bytes received (valid during the call only);
 * NULL otherwise.
 */
typedef void (*ktls_ring_cb)(struct ktls_conn *conn, ssize_t result, const void *data,
			     void *userdata);

/*
 * A connection accepted by ktls_ring_accept(): @fd >= 0 is a new
 * non-blocking socket, now the application's; a negative @fd is an errno
 * (accepting continues, except after -ECANCELED, the last call).
 */
typedef void (*ktls_accept_cb)(struct ktls_ring *ring, int fd, void *userdata);

/**
 * ktls_ring_new() - create an engine.
 * @uring: the application's initialised ring, or NULL for libktls to create
 *         (and later free) its own.
 * @entries: size of an owned ring's submission queue (0: 256); ignored with
 *           @uring.
 * @ret_ring: the new engine.
 *
 * An owned ring is driven by one thread: the first that submits to it
 * (normally through ktls_ring_run()); it may be created in another.  On
 * Linux 6.1 and later it is set up so that io_uring's deferred work runs
 * only inside ktls_ring_run() (IORING_SETUP_DEFER_TASKRUN), which is what
 * keeps a splice's SIGPIPE from the application.
 *
 * Return: 0, -EINVAL, -ENOMEM, or io_uring_queue_init's errno (-ENOSYS,
 *         -EPERM when io_uring is disabled).
 */
int ktls_ring_new(struct io_uring *uring, unsigned int entries, struct ktls_ring **ret_ring);

/**
 * ktls_ring_free() - free the engine (and the ring it owns).  NULL is allowed.
 *
 * Call it from the thread that runs the ring (for an owned ring, the one
 * that first submitted to it): io_uring refuses the cancellation of what is
 * in flight from any other, and the ring is then only torn down
 * asynchronously, where a splice left over may still raise SIGPIPE.
 *
 * Connections still attached are detached: their operations end without a
 * callback, later ktls_conn_ring_*() calls on them fail with -EINVAL, and
 * ktls_conn_free() still frees them (they cannot move to the blocking
 * calls).  With an application's own ring, call it only when no libktls
 * operation is in flight (ktls_conn_ring_busy() 0 on each connection) or
 * after io_uring_queue_exit(): the kernel may otherwise still write into a
 * receive buffer that is gone.
 */
void ktls_ring_free(struct ktls_ring *ring);

/** ktls_ring_uring() - the struct io_uring that @ring submits to. */
struct io_uring *ktls_ring_uring(struct ktls_ring *ring);

/**
 * ktls_ring_run() - submit, wait up to @timeout_ms (-1: no limit) for
 * completions, and dispatch them all to their callbacks.  For an owned ring.
 * What the callbacks start (and what was started between two calls) goes to
 * the kernel with the next call's wait, in one system call: keep calling it
 * while operations are in flight.
 * Return: the number of completions handled (libktls's, and the
 *         application's when ktls_ring_set_cqe_callback() takes them; 0 when
 *         the wait timed out), -EINTR when a signal interrupted the wait, or
 *         a negative errno.
 */
int ktls_ring_run(struct ktls_ring *ring, int timeout_ms);

/**
 * ktls_ring_process_cqe() - for an application-owned ring: handle @cqe if it
 * is libktls's.  The application still marks it seen and submits.
 * Return: 1 when it was libktls's (callbacks may have run), 0 when not.
 */
int ktls_ring_process_cqe(struct ktls_ring *ring, const struct io_uring_cqe *cqe);

/*
 * A completion of the application's own on a ring libktls owns: an SQE it
 * took from ktls_ring_uring() itself, whose user_data's top byte is not
 * KTLS_RING_USER_DATA_TAG.  Called from ktls_ring_run(), like libktls's
 * callbacks; @cqe is valid during the call.
 */
typedef void (*ktls_ring_cqe_cb)(struct ktls_ring *ring, const struct io_uring_cqe *cqe,
				 void *userdata);

/**
 * ktls_ring_set_cqe_callback() - hand the application's own completions to
 * @cb, so that it can queue its own requests (a timer, a file read) on the
 * ring ktls_ring_run() waits on.  Without a callback ktls_ring_run() drops
 * them, and so does ktls_ring_free() with those still to come.  NULL @cb
 * removes it.
 * Return: 0, or -EINVAL for a NULL @ring.
 */
int ktls_ring_set_cqe_callback(struct ktls_ring *ring, ktls_ring_cqe_cb cb, void *userdata);

/**
 * ktls_ring_accept() - accept connections on @listen_fd with one multishot
 * accept, calling @cb for each.
 * Return: 0, -EINVAL, -EEXIST (already accepting on @listen_fd), -ENOMEM,
 *         -EBUSY (no SQE free).
 */
int ktls_ring_accept(struct ktls_ring *ring, int listen_fd, ktls_accept_cb cb, void *userdata);

/**
 * ktls_ring_accept_stop() - stop accepting on @listen_fd; its callback gets
 * -ECANCELED once, last.  The caller closes @listen_fd after that.
 * Return: 0, -ENOENT (not accepting there), -EBUSY.
 */
int ktls_ring_accept_stop(struct ktls_ring *ring, int listen_fd);

/**
 * ktls_ring_zerocopy_send() - whether this kernel accepts IORING_OP_SEND_ZC
 * on a socket with kernel TLS (probed once per process on loopback).  The
 * engine uses zero-copy sends only when it does.  Kept for LIBKTLS_0.1
 * programs: struct ktls_caps' ring_zerocopy_send (ktls_caps_get()) says the
 * same.
 * Return: 1, 0, or a negative errno when the probe could not run.
 */
int ktls_ring_zerocopy_send(void);

/**
 * ktls_conn_ring_attach() - drive @conn through @ring from now on.  Before
 * its handshake; the socket is made non-blocking.  After this only the
 * ktls_conn_ring_* calls move data (ktls_conn_send() & co. return -EINVAL).
 * Return: 0, -EINVAL (already attached, or the handshake has begun), -ENOMEM.
 */
int ktls_conn_ring_attach(struct ktls_conn *conn, struct ktls_ring *ring);

/**
 * ktls_conn_ring_handshake() - run the handshake through the ring, then move
 * the keys to the kernel as the offload policy allows (as
 * ktls_conn_handshake() does).  Data the peer sent right after its Finished
 * is kept and returned by the first receive.
 * @timeout_ms: limit for the whole handshake; 0 for none.
 * Result: 0 (ready), or the errors of ktls_conn_handshake().
 * Return: 0 when started, -EINVAL, -EBUSY.
 */
int ktls_conn_ring_handshake(struct ktls_conn *conn, unsigned int timeout_ms, ktls_ring_cb cb,
			     void *userdata);

/**
 * ktls_conn_ring_send() - send all @len bytes of @buf (IORING_OP_SEND with
 * kernel TX; GnuTLS records otherwise).  @buf is libktls's until the
 * callback.
 * @timeout_ms: how long the socket may stay full without progress; 0: none.
 * Result: @len, or -ETIMEDOUT, -EPIPE (the peer has gone), -ECANCELED...
 * Return: 0 when started, -EINVAL, -EBUSY, -EPIPE (after shutdown).
 */
int ktls_conn_ring_send(struct ktls_conn *conn, const void *buf, size_t len,
			unsigned int timeout_ms, ktls_ring_cb cb, void *userdata);

/**
 * ktls_conn_ring_sendv() - ktls_conn_ring_send() of several buffers, in
 * order (IORING_OP_SENDMSG with kernel TX), with ktls_conn_sendv()'s flags.
 * The iovec array is copied; the buffers are libktls's until the callback.
 * With KTLS_SEND_MORE the last record stays open for the next ring send or
 * sendfile; one without the flag (an empty one will do) or
 * ktls_conn_ring_shutdown() ends it.
 *
 * With KTLS_SEND_CLOSE close_notify follows the data in the same
 * operation: the end of a response and of the connection.  Through GnuTLS
 * both go in one send.  With kernel TX, on a ring libktls owns, for a
 * connection that owns its fd (KTLS_CONN_OWN_FD) and a @timeout_ms other
 * than 0, the callback comes once all of the data is the kernel's, and
 * close_notify is queued behind it, detached: it goes with the next
 * submission, bounded by @timeout_ms, and what becomes of it is not
 * reported (it fails only when the peer has gone or does not read;
 * ktls_ring_free() cancels one still waiting).  Elsewhere the callback
 * waits for the alert.  When no receive is waiting, the connection's readiness poll is
 * cancelled along with the data.  Freed from the callback, the connection
 * then costs no further turn of the ring, and with kernel TX no system call
 * (ktls_conn_free()).  The connection can still receive (the peer's
 * close_notify, say); nothing more can be sent.  Not with KTLS_SEND_MORE.
 *
 * Result: the bytes of @iov, or the errors of ktls_conn_ring_send().  With
 *         KTLS_SEND_CLOSE, once all of the data is the kernel's, a peer
 *         that has gone before close_notify could follow does not change
 *         the result (ktls_conn_error() says what happened to the alert);
 *         the alert's timeout, where the callback waits for it, still
 *         gives -ETIMEDOUT.
 * Return: 0 when started, -EINVAL, -EBUSY, -ENOMEM, -EPIPE.
 */
int ktls_conn_ring_sendv(struct ktls_conn *conn, const struct iovec *iov, int iovcnt,
			 unsigned int flags, unsigned int timeout_ms, ktls_ring_cb cb,
			 void *userdata);

/**
 * ktls_conn_ring_sendfile() - send @count bytes of @file_fd from @offset.
 * With kernel TX: splice file -> pipe -> socket (io_uring has no sendfile;
 * no byte enters userspace).  Otherwise read, GnuTLS encrypt, send, in
 * rounds of KTLS_RING_TX_CHUNK.
 * @timeout_ms: as for ktls_conn_ring_send().
 *
 * splice(2) has no MSG_NOSIGNAL, and io_uring may run it in the thread that
 * enters the ring: when the peer has gone, the kernel raises SIGPIPE there.
 * ktls_ring_run() and ktls_ring_free() block SIGPIPE while they run and
 * consume one raised meanwhile; an application that enters its own ring
 * must ignore or block SIGPIPE in the threads that do.
 *
 * Result: @count; -ENODATA when the file ended first; -EPIPE (the peer has
 * gone); or a negative errno.
 * Return: 0 when started, -EINVAL, -EBUSY, -EPIPE.
 */
int ktls_conn_ring_sendfile(struct ktls_conn *conn, int file_fd, off_t offset, size_t count,
			    unsigned int timeout_ms, ktls_ring_cb cb, void *userdata);

/**
 * ktls_conn_ring_recv() - receive application data: the callback gets at
 * most @max bytes (at least 1) in @data.  With kernel RX this is
 * IORING_OP_RECVMSG with the record-type control message; alerts and
 * post-handshake messages are handled as ktls_conn_recv() handles them.
 * @timeout_ms: how long to wait for data; 0 for no limit (idle timeouts).
 * Result: bytes; 0 at the peer's close_notify; the errors of ktls_conn_recv().
 * Return: 0 when started, -EINVAL, -EBUSY.
 */
int ktls_conn_ring_recv(struct ktls_conn *conn, size_t max, unsigned int timeout_ms,
			ktls_ring_cb cb, void *userdata);

/**
 * ktls_conn_ring_shutdown() - send close_notify (through the kernel when it
 * holds the TX key).  After a handshake that ktls_conn_ring_cancel() or its
 * timeout stopped (its callback had -ECANCELED or -ETIMEDOUT), it tells the
 * peer why the handshake ended: user_canceled, then close_notify (RFC 8446
 * section 6.1), after whatever of the last flight was still to go.
 * @timeout_ms: as for ktls_conn_ring_send().
 * Result: 0 or a negative errno.
 * Return: 0 when started, -EINVAL, -EBUSY.
 */
int ktls_conn_ring_shutdown(struct ktls_conn *conn, unsigned int timeout_ms, ktls_ring_cb cb,
			    void *userdata);

/**
 * ktls_conn_ring_cancel() - cancel the operations in flight; each callback
 * then comes with -ECANCELED (or its result, when it had already finished).
 * A cancelled send or sendfile may have sent part of its data.  A cancelled
 * handshake leaves the connection unusable, except for
 * ktls_conn_ring_shutdown(), which tells the peer.
 * Return: the number of operations being cancelled.
 */
int ktls_conn_ring_cancel(struct ktls_conn *conn);

/**
 * ktls_conn_ring_busy() - how many operations of @conn are in flight.
 * Return: 0, 1 or 2 (0 for NULL).
 */
int ktls_conn_ring_busy(const struct ktls_conn *conn);

#ifdef __cplusplus
}
#endif

#endif /* KTLS_H */
