/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libktls as the kernel's TLS handshake agent.
 *
 * The kernel's own TLS users (the NFS client and server, NVMe/TCP) do not
 * run handshakes themselves: they ask userspace through the "handshake"
 * generic netlink family (Linux 6.5 and later).  A READY notification on
 * the family's "tlshd" multicast group says a socket waits; the agent takes
 * it with ACCEPT, which installs the socket as a new file descriptor in the
 * agent's process together with what the kernel wants (client or server
 * side, authentication mode, key serials, the peer's name, a timeout); the
 * agent runs the TLS 1.3 handshake on it, gives the record keys to the
 * kernel on that same socket, and answers DONE with a status and the key
 * serials that identify the peer.  Then it closes its descriptor: the
 * socket stays the kernel's.
 *
 * struct ktls_agent does all of that for many sockets at once on one
 * io_uring engine (struct ktls_ring), without a process or thread per
 * handshake.  It reads keys and trust from tlshd's configuration file
 * (the same format, so that it can take tlshd's place) and from the kernel
 * keyrings the kernel names.
 *
 * Conventions are those of ktls.h: negative errno results, ret_* outputs
 * untouched on failure, *_free() accepts NULL, the library never prints
 * (set a log function).  ACCEPT needs CAP_NET_ADMIN.
 */
#ifndef KTLS_AGENT_H
#define KTLS_AGENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ktls.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* The kernel's TLS handshake agent                                         */

struct ktls_agent;

/* How the kernel wants the peer authenticated (enum handshake_auth). */
enum ktls_agent_auth {
	KTLS_AGENT_AUTH_UNSPEC = 0,
	KTLS_AGENT_AUTH_UNAUTH = 1, /* the server's certificate only (xprtsec=tls) */
	KTLS_AGENT_AUTH_PSK = 2,    /* TLS 1.3 external pre-shared key (NVMe/TCP) */
	KTLS_AGENT_AUTH_X509 = 3,   /* certificates both ways (xprtsec=mtls) */
};

/* At most this many key serials name the peer in a DONE answer. */
#define KTLS_AGENT_REMOTE_AUTH_MAX 4

/*
 * Key serial given as the peer's identity when it proved a certificate (the
 * kernel only tells "authenticated" from TLS_NO_PEERID, 0; tlshd sends the
 * same value).
 */
#define KTLS_AGENT_PEERID_X509 UINT32_MAX

/*
 * struct ktls_agent_result - one handshake, as the agent answered it.
 * Passed to the function set with ktls_agent_set_done_callback() after the
 * DONE answer went to the kernel.
 */
struct ktls_agent_result {
	enum ktls_role role;        /* KTLS_ROLE_CLIENT: the kernel asked for a ClientHello */
	enum ktls_agent_auth auth;
	char peer[64];              /* the socket's peer, "192.0.2.1:2049" or "[2001:db8::1]:2049" */
	char peer_name[256];        /* the name the kernel gave to check the peer against, or "" */
	char identity[512];         /* the peer's certificate subject or PSK identity, or "" */
	char version[16];           /* "TLS1.3"; "" when the handshake did not complete */
	char cipher[32];            /* "AES-256-GCM"; "" likewise */
	int status;                 /* what DONE carried: 0, or a positive errno */
	uint32_t remote_auth[KTLS_AGENT_REMOTE_AUTH_MAX]; /* key serials DONE carried */
	unsigned int n_remote_auth;
	unsigned int timeout_ms;    /* the limit applied (the kernel's, or the default) */
	double ms;                  /* from ACCEPT to DONE */
	char error[256];            /* why it failed, "" on success */
};

/* Called once per handshake, on the thread that drives the agent. */
typedef void (*ktls_agent_done_fn)(const struct ktls_agent_result *result, void *userdata);

/* struct ktls_agent_stats - counters since ktls_agent_start(). */
struct ktls_agent_stats {
	uint64_t notifications; /* READY messages read (the kernel may merge or drop some) */
	uint64_t accepted;      /* sockets taken with ACCEPT */
	uint64_t succeeded;     /* DONE with status 0 */
	uint64_t failed;        /* DONE with an error status */
	uint64_t done_errors;   /* DONE messages the kernel refused */
	unsigned int in_flight; /* handshakes running now */
};

/**
 * ktls_agent_probe() - whether this kernel has the handshake netlink family
 * and its "tlshd" multicast group.
 * @errbuf, @errlen: the reason when it does not (see ktls.h).
 *
 * Return: 0; -EPROTONOSUPPORT (no "handshake" family: a kernel before 6.5,
 *         or CONFIG_NET_HANDSHAKE off); -ENOENT (no "tlshd" group); or the
 *         errno of the netlink socket.
 */
int ktls_agent_probe(char *errbuf, size_t errlen);

/**
 * ktls_agent_new() - create an agent.
 * @ring: the engine that runs the handshakes, driven by the caller
 *        (ktls_ring_run() or ktls_ring_process_cqe()); the caller also
 *        calls ktls_agent_dispatch() whenever ktls_agent_fd() is readable.
 *        NULL: the agent makes its own io_uring and engine, and
 *        ktls_agent_run() drives both.
 * @ret_agent: the new agent, not yet listening (see ktls_agent_start()).
 *
 * Return: 0, -EINVAL, -ENOMEM, or the errno of io_uring set-up.
 */
int ktls_agent_new(struct ktls_ring *ring, struct ktls_agent **ret_agent);

/**
 * ktls_agent_free() - stop and free the agent.  Handshakes still running
 * are cancelled and answered with EIO, and their descriptors closed, so
 * the kernel's waiters are not left to their timeouts.  NULL is allowed.
 */
void ktls_agent_free(struct ktls_agent *agent);

/** ktls_agent_error() - the first failure recorded on @agent, or "". */
const char *ktls_agent_error(const struct ktls_agent *agent);

/**
 * ktls_agent_set_log() - where the agent's messages go: one line per
 * handshake at KTLS_LOG_INFO (peer, role, authentication, version,
 * cipher, result, milliseconds), set-up at KTLS_LOG_INFO, each step at
 * KTLS_LOG_DEBUG (with libktls's own messages).
 * Return: 0 or -EINVAL.
 */
int ktls_agent_set_log(struct ktls_agent *agent, ktls_log_fn fn, enum ktls_log_level max_level,
		       void *userdata);

/**
 * ktls_agent_set_default_timeout() - the limit for a handshake whose
 * request carries no timeout (the NFS client and server send none: they
 * wait on their own and cancel).  The default is 40000 ms, GnuTLS's and
 * tlshd's.  A timed-out handshake is answered with ETIMEDOUT.
 * Return: 0 or -EINVAL (0 ms, or more than an hour).
 */
int ktls_agent_set_default_timeout(struct ktls_agent *agent, unsigned int ms);

/**
 * ktls_agent_set_done_callback() - have @fn called once per handshake, after
 * the DONE answer went to the kernel, with what the agent answered (struct
 * ktls_agent_result), on the thread that drives the agent.
 * @fn: NULL to call nothing
 * @userdata: passed to @fn
 * Return: 0 or -EINVAL (@agent NULL).
 */
int ktls_agent_set_done_callback(struct ktls_agent *agent, ktls_agent_done_fn fn, void *userdata);

/**
 * ktls_agent_load_conf() - read keys and trust from a tlshd configuration
 * file (tlshd.conf(5), a GLib key file):
 *   [authenticate]         keyrings = a;b  (names from /proc/keys, or serials)
 *   [authenticate.client]  x509.truststore, x509.certificate, x509.private_key
 *   [authenticate.server]  the same
 *   [debug]                loglevel, tls, nl  ([main] debug, tlsdebug, nl_debug too)
 * Keys the agent does not act on (x509.crl, x509.pq.*) are reported in the
 * log at ktls_agent_start(), never silently ignored.  Without a truststore
 * the system's is used.  A [debug] loglevel above 0 raises the log level
 * set with ktls_agent_set_log() to KTLS_LOG_DEBUG.
 * @path: NULL for tlshd's default: /etc/tlshd/config, or /etc/tlshd.conf
 *        when that does not exist.
 *
 * Before ktls_agent_start().  Without a call, no file is read: system trust,
 * no certificates of our own (enough for xprtsec=tls clients and PSK).
 * Return: 0; -ENOENT; -EBADMSG (the line that does not parse is named in
 *         ktls_agent_error()); -ENOMEM; -EBUSY (after start).
 */
int ktls_agent_load_conf(struct ktls_agent *agent, const char *path);

/**
 * ktls_agent_start() - join the family's "tlshd" multicast group and take
 * the handshakes already waiting.  Loads the credentials the configuration
 * names (a certificate that does not load fails here, not at the first
 * handshake) and links the keyrings it names, and the kernel's ".nvme",
 * ".nfs" and ".nfsd" where they exist, into the process keyring, so that
 * keys in them can be read.
 *
 * Return: 0; -EPROTONOSUPPORT (no handshake family); -EPERM (no
 *         CAP_NET_ADMIN); -ENOENT, -EBADMSG, -EACCES (a file the
 *         configuration names); -EBUSY (started already).
 */
int ktls_agent_start(struct ktls_agent *agent);

/**
 * ktls_agent_fd() - the netlink socket to wait on for readability; when it
 * is readable, call ktls_agent_dispatch().
 * Return: the descriptor, or -EINVAL before ktls_agent_start().
 */
int ktls_agent_fd(const struct ktls_agent *agent);

/**
 * ktls_agent_dispatch() - read the kernel's notifications and ACCEPT every
 * waiting handshake, starting each on the engine.  Never blocks.
 * Return: the number of handshakes started, or a negative errno.
 */
int ktls_agent_dispatch(struct ktls_agent *agent);

/**
 * ktls_agent_run() - for an agent with its own engine: wait up to
 * @timeout_ms (-1: no limit) for notifications and completions, and handle
 * them all.
 * Return: the number of events handled (0 when the wait timed out); -EINTR
 *         when a signal interrupted the wait; -EINVAL for an agent on the
 *         caller's engine.
 */
int ktls_agent_run(struct ktls_agent *agent, int timeout_ms);

/**
 * ktls_agent_stop() - take no more handshakes (leave the multicast group);
 * those running go on to their end.  Wait until ktls_agent_get_stats()
 * shows none in flight, then free.  Return: 0 or -EINVAL.
 */
int ktls_agent_stop(struct ktls_agent *agent);

/** ktls_agent_get_stats() - the counters.  Return: 0 or -EINVAL. */
int ktls_agent_get_stats(const struct ktls_agent *agent, struct ktls_agent_stats *ret_stats);

/** ktls_agent_auth_name() - "unauth", "psk", "x509"; "unspec" otherwise. */
const char *ktls_agent_auth_name(enum ktls_agent_auth auth);

/* ---- Pre-shared keys ---------------------------------------------------- */

/* The hash a TLS 1.3 PSK is bound to (RFC 8446 section 4.2.11). */
enum ktls_agent_psk_hash {
	KTLS_AGENT_PSK_HASH_NONE = 0,   /* not an NVMe identity: the hash is not named */
	KTLS_AGENT_PSK_HASH_SHA256 = 1, /* "01": 32-byte key */
	KTLS_AGENT_PSK_HASH_SHA384 = 2, /* "02": 48-byte key */
};

/* The longest PSK the agent handles, in bytes. */
#define KTLS_AGENT_PSK_MAX 64

/*
 * struct ktls_agent_psk_identity - an NVMe/TCP PSK identity, as the NVMe
 * TCP transport specification defines it and Linux's nvme-keyring names
 * its keys: "NVMe<v><R|G><hh> <hostnqn> <subnqn>[ <digest>]".  Version 0
 * has no digest, version 1 has one (base64 of a hash-sized value).
 */
struct ktls_agent_psk_identity {
	int version;                    /* 0 or 1 */
	bool generated;                 /* 'G': derived by DH-HMAC-CHAP; 'R': retained */
	enum ktls_agent_psk_hash hash;
	char hostnqn[224];              /* NVMe NQNs are at most 223 bytes */
	char subnqn[224];
	char digest[72];                /* base64 PSK digest (version 1), "" for version 0 */
};

/**
 * ktls_agent_psk_identity_parse() - parse an NVMe/TCP PSK identity.
 * Return: 0; -EINVAL (not of that form: wrong prefix, version, type, hash,
 *         missing or extra fields, an NQN too long or with a space, a
 *         digest of the wrong length for the hash).
 */
int ktls_agent_psk_identity_parse(const char *identity, struct ktls_agent_psk_identity *ret_id);

/**
 * ktls_agent_psk_lookup() - the pre-shared key of @identity, from a kernel
 * keyring: what a TLS server does with the identity a client offers.
 * @keyring: the keyring to search, recursively (a serial, or a
 *           KEY_SPEC_* value such as -3 for the session keyring).
 * @identity: the key's description: a key of type "psk" (the kernel's
 *            nvme-keyring) or "user", searched in that order.
 * @key, @size: where the key goes (KTLS_AGENT_PSK_MAX is enough).
 * @ret_len: the key's length.
 * @ret_serial: the key's serial (may be NULL): what DONE reports as the
 *              peer's identity.
 * @errbuf, @errlen: the reason on failure (see ktls.h).
 *
 * An NVMe identity's key must have its hash's length (32 or 48 bytes);
 * any other identity's key must be 16 to 64 bytes.  @key is written only
 * on success; the copies the library made are wiped.
 *
 * Return: 0; -ENOKEY (no such key, or it was revoked or expired: an unknown
 *         identity); -EKEYREJECTED (the key has the wrong length for its
 *         identity); -EACCES (not readable by this process); -ENOBUFS
 *         (@size too small); -EINVAL.
 */
int ktls_agent_psk_lookup(int32_t keyring, const char *identity, void *key, size_t size,
			  size_t *ret_len, int32_t *ret_serial, char *errbuf, size_t errlen);

#ifdef __cplusplus
}
#endif

#endif /* KTLS_AGENT_H */
