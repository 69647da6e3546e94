/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libktls - TLS handshakes in userspace (GnuTLS), record crypto in the kernel.
 *
 * Conventions for every function in this header:
 *  - An int or ssize_t result >= 0 is success; failure is a negative errno.
 *  - Every failure also leaves a readable sentence in ktls_config_error() or
 *    ktls_conn_error() (the first failure is kept; GnuTLS's reason included).
 *  - Output parameters are named ret_* and are left untouched on failure.
 *  - *_free() accepts NULL.
 *  - The library never prints; see ktls_config_set_log().
 */
#ifndef KTLS_H
#define KTLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

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
	KTLS_CIPHER_COUNT,
	KTLS_CIPHER_NONE = -1, /* negotiated cipher has no kernel equivalent */
};

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
};

/**
 * ktls_probe() - report the kernel's kTLS capabilities.
 * @ret_caps: filled with the cached result of the probe.
 *
 * The first call runs the probe (a few loopback TCP connections); later calls
 * return the cached answer.  Thread-safe.
 *
 * Return: 0, or a negative errno when loopback sockets cannot be created.
 */
int ktls_probe(struct ktls_caps *ret_caps);

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

/** ktls_config_unref() - drop a reference; frees on the last.  NULL is allowed. */
void ktls_config_unref(struct ktls_config *config);

/** ktls_config_error() - the first failure recorded on @config, or "" */
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

/** ktls_config_set_system_trust() - trust the system store (the default). */
int ktls_config_set_system_trust(struct ktls_config *config);

/**
 * ktls_config_set_verify() - client: verify the server's certificate chain
 * and, when @check_hostname, its name against ktls_conn_set_server_name().
 * Defaults to true, true.  Turning verification off is for tests only.
 */
int ktls_config_set_verify(struct ktls_config *config, bool verify_chain, bool check_hostname);

/** ktls_config_set_client_auth() - server: ask for client certificates. */
int ktls_config_set_client_auth(struct ktls_config *config, enum ktls_client_auth mode);

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
 * Return: 0, -EINVAL (the string is checked now), -ENOMEM.
 */
int ktls_config_set_priority(struct ktls_config *config, const char *priority);

/** ktls_config_set_offload() - offload policy for the directions in @dirs. */
int ktls_config_set_offload(struct ktls_config *config, enum ktls_dir dirs, enum ktls_offload policy);

/**
 * ktls_config_set_handshake_timeout() - bound a blocking handshake.
 * @ms: 0 for no limit.  The default is 30000.
 */
int ktls_config_set_handshake_timeout(struct ktls_config *config, unsigned int ms);

/* ------------------------------------------------------------------------ */
/* Connections                                                               */

/* Flags for ktls_conn_new(). */
#define KTLS_CONN_OWN_FD 0x1u /* close the fd in ktls_conn_free() */

/**
 * ktls_conn_new() - wrap a connected TCP socket.
 * @config: configuration; the connection holds a reference.
 * @fd: a connected stream socket.  Blocking or O_NONBLOCK: the handshake
 *      follows the fd's mode.
 * @flags: 0 or KTLS_CONN_OWN_FD.
 * @ret_conn: the new connection.
 *
 * On failure the caller still owns @fd.
 * Return: 0, -EINVAL, -ENOTSOCK, -ENOMEM, or a GnuTLS set-up failure.
 */
int ktls_conn_new(struct ktls_config *config, int fd, unsigned int flags,
		  struct ktls_conn **ret_conn);

/**
 * ktls_conn_free() - free the connection; the fd is closed only with
 * KTLS_CONN_OWN_FD.  Does not send close_notify (use ktls_conn_shutdown()).
 * NULL is allowed.
 */
void ktls_conn_free(struct ktls_conn *conn);

/** ktls_conn_error() - the first failure on @conn, "" when none. */
const char *ktls_conn_error(const struct ktls_conn *conn);

/** ktls_conn_fd() - the socket. */
int ktls_conn_fd(const struct ktls_conn *conn);

/**
 * ktls_conn_set_server_name() - client: the name sent as SNI and checked
 * against the certificate.  Must precede the handshake.
 * Return: 0, -EINVAL, -ENOMEM.
 */
int ktls_conn_set_server_name(struct ktls_conn *conn, const char *name);

/**
 * ktls_conn_handshake() - run (or continue) the handshake, then move the
 * record keys into the kernel as the offload policy allows.
 *
 * On a blocking fd it returns when done.  On an O_NONBLOCK fd it returns
 * -EAGAIN; then wait for ktls_conn_wants() and call it again.
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
 * Return: bytes accepted (may be short on a non-blocking fd), -EAGAIN,
 *         -EPIPE, -ECONNRESET, -EINVAL (no handshake yet).
 */
ssize_t ktls_conn_send(struct ktls_conn *conn, const void *buf, size_t len);

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
 * NewSessionTicket is given to GnuTLS and reading continues.
 *
 * Return: bytes received; 0 at the peer's close_notify (clean end of stream);
 *         -EAGAIN; -ECONNABORTED (peer's fatal alert, named in the error text);
 *         -EKEYEXPIRED (the peer sent a TLS 1.3 KeyUpdate that this kernel
 *         cannot follow: an alert was sent and the connection is finished);
 *         -ECONNRESET (the peer closed without close_notify: truncation);
 *         -EBADMSG (record authentication failed); -EPROTO.
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
 * Return: bytes sent (may be short), -EAGAIN, or a negative errno.
 */
ssize_t ktls_conn_sendfile(struct ktls_conn *conn, int file_fd, off_t *offset, size_t count);

/**
 * ktls_conn_shutdown() - send close_notify (through the kernel when it holds
 * the TX key) and stop sending.  Reading may continue until the peer's.
 * Return: 0, -EAGAIN, or a negative errno.
 */
int ktls_conn_shutdown(struct ktls_conn *conn);

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
	char server_name[256];      /* SNI sent (client) or received (server) */
	bool resumed;
	enum ktls_peer_auth peer_auth;
	char peer_identity[512];    /* certificate subject DN, or PSK identity */
	struct ktls_dir_info tx, rx;
};

/**
 * ktls_conn_get_info() - fill @ret_info after a successful handshake.
 * Return: 0, or -EINVAL before the handshake has completed.
 */
int ktls_conn_get_info(const struct ktls_conn *conn, struct ktls_info *ret_info);

#ifdef __cplusplus
}
#endif

#endif /* KTLS_H */
