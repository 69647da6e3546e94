/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The handshake agent's internals, shared by lib/agent*.c only.  From the
 * bottom up (a file calls only files above it, and the library below):
 *   agent-msg.c    the handshake family's messages: READY and ACCEPT parsed,
 *                  DONE built (pure: no I/O)
 *   agent-conf.c   tlshd's configuration file (pure parser, and loading it)
 *   agent-keys.c   kernel keyrings: keyctl, NVMe PSK identities, lookups
 *   agent-creds.c  a ktls_config for each kind of request; the server's PSK
 *                  lookup hooked into a connection
 *   agent.c        struct ktls_agent: netlink, the handshakes' lives, DONE
 */
#ifndef KTLS_AGENT_PRIVATE_H
#define KTLS_AGENT_PRIVATE_H

#include <stdbool.h>
#include <stdint.h>

#include "ktls-agent.h"
#include "private.h"
#include "uapi/linux/handshake.h"

struct nlmsghdr;
struct nl_msg;

/* ---- agent-msg.c ---------------------------------------------------------- */

/* Key serials the kernel may name for one request (it sends at most 5). */
#define AGENT_PEERIDS_MAX 8
#define AGENT_PEERNAME_MAX 256

/* One ACCEPT reply: what the kernel asks for.  Serials are 0 when absent. */
struct agent_request {
	int fd;                 /* -1: no HANDSHAKE_A_ACCEPT_SOCKFD */
	uint32_t msg_type;      /* HANDSHAKE_MSG_TYPE_* */
	uint32_t timeout_ms;    /* 0: none given */
	uint32_t auth_mode;     /* HANDSHAKE_AUTH_* */
	int32_t peerids[AGENT_PEERIDS_MAX];
	unsigned int n_peerids;
	int32_t cert, privkey;  /* the first HANDSHAKE_A_ACCEPT_CERTIFICATE */
	char peername[AGENT_PEERNAME_MAX]; /* "" when absent */
	int32_t keyring;
};

/*
 * Parse one ACCEPT reply (genetlink header, then HANDSHAKE_A_ACCEPT_*).
 * Attributes this file does not know are skipped; known ones of the wrong
 * size, a PEERNAME that is not a string, or attributes that overrun the
 * message are refused.  @nlh->nlmsg_len must lie within the caller's
 * buffer.  When SOCKFD was read, @ret->fd holds it even on -EBADMSG, so that
 * the caller can still answer DONE and close it.
 * Return: 0; -ENOMSG (a genetlink message of another command); -EBADMSG.
 */
int agent_msg_parse_accept(const struct nlmsghdr *nlh, struct agent_request *ret);
/*
 * Parse a buffer of notifications as recv() returns them on the multicast
 * socket.  Return: the number of READY messages for HANDSHAKE_HANDLER_CLASS_TLSHD
 * (READY without a class counts), or -EBADMSG.
 */
int agent_msg_count_ready(const void *buf, size_t len);
/* Add DONE's attributes to @msg (whose genetlink header is already there). */
int agent_msg_put_done(struct nl_msg *msg, uint32_t status, int fd, const uint32_t *remote_auth,
		       unsigned int n_remote_auth);

/* ---- agent-conf.c --------------------------------------------------------- */

struct agent_conf_side {
	char *truststore;
	char *certificate;
	char *private_key;
};

#define AGENT_CONF_NOTES_MAX 8

struct agent_conf {
	int debug, tls_debug, nl_debug;
	char **keyrings; /* names or serials, as written */
	size_t n_keyrings;
	struct agent_conf_side client, server;
	/* keys the agent does not act on, "[group] key", for the log */
	char *notes[AGENT_CONF_NOTES_MAX];
	size_t n_notes;
};

/*
 * Parse tlshd's configuration (a GLib key file: [groups], key=value, '#'
 * comments, escapes \s \n \t \r \\ and lists split on ';').  A line that is
 * none of these is an error, as for GLib.  Pure: no I/O.  @errbuf is set to
 * "" on entry.
 * Return: 0, -EBADMSG (@errbuf names the line), -ENOMEM.
 */
int agent_conf_parse(const char *text, size_t len, struct agent_conf *ret, char *errbuf,
		     size_t errlen);
/* Read and parse @path.  Return: as agent_conf_parse(), or the errno of reading. */
int agent_conf_load(const char *path, struct agent_conf *ret, char *errbuf, size_t errlen);
void agent_conf_free(struct agent_conf *conf);

/* ---- agent-keys.c --------------------------------------------------------- */

/* KEY_SPEC_* values (linux/keyctl.h) */
#define AGENT_KEY_SPEC_PROCESS_KEYRING -2
#define AGENT_KEY_SPEC_SESSION_KEYRING -3

/* KEYCTL_READ of @serial into a new buffer (wipe and free it).  0 or a negative errno. */
int agent_key_read(int32_t serial, unsigned char **ret_data, size_t *ret_len);
/* The description of @serial (after the last ';' of KEYCTL_DESCRIBE). */
int agent_key_description(int32_t serial, char *buf, size_t size);
/* Link @keyring into @into (KEYCTL_LINK). */
int agent_key_link(int32_t keyring, int32_t into);
/*
 * A keyring named in the configuration: a number is a serial; a name is
 * looked up in /proc/keys (@proc_keys: that file's text).  Pure.
 * Return: the serial, or -ENOENT.
 */
int32_t agent_keyring_find(const char *proc_keys, const char *name);

/* ---- agent-creds.c -------------------------------------------------------- */

/*
 * What every handshake of an agent shares, below struct ktls_agent so that
 * agent-creds.c needs nothing from agent.c: the log, the configuration,
 * the keyrings to search and the ktls_configs made from files.
 */
#define AGENT_KEYRINGS_MAX 16

struct agent_base {
	ktls_log_fn log_fn;
	enum ktls_log_level log_level;
	void *log_userdata;
	struct agent_conf conf;
	bool conf_loaded;
	int32_t keyrings[AGENT_KEYRINGS_MAX]; /* linked into the process keyring */
	unsigned int n_keyrings;
	/* one config per kind of request that files serve */
	struct ktls_config *client_unauth;
	struct ktls_config *client_x509;    /* NULL: no client certificate configured */
	struct ktls_config *server_x509;    /* NULL: no server certificate configured */
	struct ktls_config *server_psk;
	gnutls_psk_server_credentials_t psk_server;
	char error[ERROR_TEXT_MAX];
};

/* One handshake, from ACCEPT to DONE (agent.c's; agent-creds.c reads it). */
struct agent_hs {
	struct agent_base *base;
	struct ktls_agent *agent;
	struct agent_request req;
	struct ktls_conn *conn;
	int fd_flags;        /* the socket's file flags at ACCEPT, restored before DONE */
	uint64_t start_ns;
	bool psk_unknown;    /* server: the client's identity has no key (set by agent-creds.c) */
	int32_t psk_serial;  /* the PSK used, either side, 0: none (set by agent-creds.c) */
	struct ktls_agent_result result;
	struct agent_hs *prev, *next;
	struct agent_hs *hook_next; /* agent-creds.c's table of connections with the PSK hook */
	bool hooked;
};

void agent_log(const struct agent_base *base, enum ktls_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Record the first failure; returns @err. */
int agent_fail(struct agent_base *base, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/*
 * Build the configs the configuration allows and resolve and link its
 * keyrings.  0 or a negative errno (the reason in @base->error).
 */
int agent_creds_init(struct agent_base *base);
void agent_creds_free(struct agent_base *base);
/*
 * The config for one request (a reference for the caller).  Requests that
 * name key serials get a config of their own, made from the keys.  On
 * failure, @ret_status is the errno DONE must carry and @why says why.
 */
int agent_creds_get(struct agent_hs *hs, struct ktls_config **ret_config, int *ret_status,
		    char *why, size_t whylen);
/*
 * After ktls_conn_new() of a PSK server: hook the keyring lookup into the
 * connection; it finds the handshake by its connection until
 * agent_creds_unhook().
 */
int agent_creds_hook(struct agent_hs *hs);
void agent_creds_unhook(struct agent_hs *hs);

#endif /* KTLS_AGENT_PRIVATE_H */
