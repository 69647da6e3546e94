/* SPDX-License-Identifier: ((GPL-2.0 WITH Linux-syscall-note) OR BSD-3-Clause) */
/*
 * The kernel's handshake upcall, generic netlink family "handshake"
 * (Documentation/netlink/specs/handshake.yaml, include/uapi/linux/handshake.h;
 * Linux 6.5; PEERNAME and KEYRING were added later): what ktls agent uses.  On
 * the include path ahead of the system headers, since Debian 12's (Linux
 * 6.1) have none.  Values are kernel ABI and never change.
 */
#ifndef _UAPI_LINUX_HANDSHAKE_H
#define _UAPI_LINUX_HANDSHAKE_H

#define HANDSHAKE_FAMILY_NAME "handshake"
#define HANDSHAKE_FAMILY_VERSION 1

/* Handler classes; also the multicast group a READY goes to. */
enum handshake_handler_class {
	HANDSHAKE_HANDLER_CLASS_NONE,
	HANDSHAKE_HANDLER_CLASS_TLSHD,
	HANDSHAKE_HANDLER_CLASS_MAX,
};

/* Which side of the TLS handshake the kernel asks for. */
enum handshake_msg_type {
	HANDSHAKE_MSG_TYPE_UNSPEC,
	HANDSHAKE_MSG_TYPE_CLIENTHELLO,
	HANDSHAKE_MSG_TYPE_SERVERHELLO,
};

enum handshake_auth {
	HANDSHAKE_AUTH_UNSPEC,
	HANDSHAKE_AUTH_UNAUTH,
	HANDSHAKE_AUTH_PSK,
	HANDSHAKE_AUTH_X509,
};

/* Nested in HANDSHAKE_A_ACCEPT_CERTIFICATE: key serials (s32). */
enum {
	HANDSHAKE_A_X509_CERT = 1,
	HANDSHAKE_A_X509_PRIVKEY,

	__HANDSHAKE_A_X509_MAX,
	HANDSHAKE_A_X509_MAX = (__HANDSHAKE_A_X509_MAX - 1)
};

enum {
	HANDSHAKE_A_ACCEPT_SOCKFD = 1,     /* s32: the socket, a new fd in the accepting process */
	HANDSHAKE_A_ACCEPT_HANDLER_CLASS,  /* u32 (ACCEPT request, READY) */
	HANDSHAKE_A_ACCEPT_MESSAGE_TYPE,   /* u32, enum handshake_msg_type */
	HANDSHAKE_A_ACCEPT_TIMEOUT,        /* u32 milliseconds; absent: none given */
	HANDSHAKE_A_ACCEPT_AUTH_MODE,      /* u32, enum handshake_auth */
	HANDSHAKE_A_ACCEPT_PEER_IDENTITY,  /* u32 key serial, repeated (PSK) */
	HANDSHAKE_A_ACCEPT_CERTIFICATE,    /* nest of HANDSHAKE_A_X509_*, repeated */
	HANDSHAKE_A_ACCEPT_PEERNAME,       /* string: the name to check the peer against */
	HANDSHAKE_A_ACCEPT_KEYRING,        /* u32 key serial of the keyring to search */

	__HANDSHAKE_A_ACCEPT_MAX,
	HANDSHAKE_A_ACCEPT_MAX = (__HANDSHAKE_A_ACCEPT_MAX - 1)
};

enum {
	HANDSHAKE_A_DONE_STATUS = 1,       /* u32: 0, or a positive errno */
	HANDSHAKE_A_DONE_SOCKFD,           /* s32: the fd ACCEPT gave */
	HANDSHAKE_A_DONE_REMOTE_AUTH,      /* u32 key serial, repeated: who the peer proved to be */

	__HANDSHAKE_A_DONE_MAX,
	HANDSHAKE_A_DONE_MAX = (__HANDSHAKE_A_DONE_MAX - 1)
};

enum {
	HANDSHAKE_CMD_READY = 1,
	HANDSHAKE_CMD_ACCEPT,
	HANDSHAKE_CMD_DONE,

	__HANDSHAKE_CMD_MAX,
	HANDSHAKE_CMD_MAX = (__HANDSHAKE_CMD_MAX - 1)
};

#define HANDSHAKE_MCGRP_NONE "none"
#define HANDSHAKE_MCGRP_TLSHD "tlshd"

/* include/net/handshake.h: "none given" for serials. */
#define TLS_NO_KEYRING 0
#define TLS_NO_PEERID 0
#define TLS_NO_CERT 0
#define TLS_NO_PRIVKEY 0

#endif /* _UAPI_LINUX_HANDSHAKE_H */
