/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * struct ktls_conn: lifetime, adoption of an application's GnuTLS session,
 * and the report of what was negotiated.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gnutls/x509.h>

#include "ktls-gnutls.h"
#include "private.h"

static int conn_check_socket(int fd)
{
	int type;
	socklen_t len = sizeof(type);

	if (fd < 0)
		return -EINVAL;
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0)
		return -errno;
	return type == SOCK_STREAM ? 0 : -EINVAL;
}

int conn_create(struct ktls_config *config, int fd, unsigned int flags,
		struct ktls_conn **ret_conn)
{
	struct ktls_conn *conn;
	int ret;

	if ((flags & ~KTLS_CONN_OWN_FD) != 0)
		return error_config(config, -EINVAL, "unknown connection flags 0x%x",
				    flags & ~KTLS_CONN_OWN_FD);
	ret = conn_check_socket(fd);
	if (ret < 0)
		return error_config(config, ret, "fd %d is not a stream socket: %s", fd,
				    strerror(-ret));
	conn = calloc(1, sizeof(*conn));
	if (conn == NULL)
		return -ENOMEM;
	conn->config = ktls_config_ref(config);
	conn->fd = fd;
	conn->flags = flags;
	conn->cipher = KTLS_CIPHER_NONE;
	*ret_conn = conn;
	return 0;
}

KTLS_EXPORT int ktls_conn_new(struct ktls_config *config, int fd, unsigned int flags,
			      struct ktls_conn **ret_conn)
{
	struct ktls_conn *conn;
	int ret;

	if (config == NULL)
		return -EINVAL;
	if (ret_conn == NULL)
		return error_config(config, -EINVAL, "ret_conn is NULL");
	ret = config_freeze(config);
	if (ret < 0)
		return ret;
	ret = conn_create(config, fd, flags, &conn);
	if (ret < 0)
		return ret;
	ret = handshake_session_init(conn);
	if (ret < 0) {
		snprintf(config->error, sizeof(config->error), "%s", conn->error);
		conn->flags &= ~KTLS_CONN_OWN_FD; /* the caller keeps the fd on failure */
		ktls_conn_free(conn);
		return ret;
	}
	*ret_conn = conn;
	return 0;
}

/*
 * close(2) on a socket with unread input sends a reset instead of a FIN,
 * and a reset makes the peer's kernel drop what it has not yet read: the
 * end of an upload, our close_notify.  A TLS 1.3 client that only sends
 * typically leaves the server's NewSessionTickets unread, so what is
 * already queued is read and discarded first (bounded; recvmsg with room
 * for the record-type message, which a kTLS socket needs for non-data
 * records).
 */
static void conn_discard_input(int fd)
{
	unsigned char buf[RECORD_MAX_PLAINTEXT];
	char control[CMSG_SPACE(sizeof(unsigned char))];

	for (int i = 0; i < 16; i++) {
		struct iovec iov = { buf, sizeof(buf) };
		struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control,
				      .msg_controllen = sizeof(control) };
		ssize_t n = recvmsg(fd, &msg, MSG_DONTWAIT);

		if (n <= 0)
			break;
		explicit_bzero(buf, (size_t)n);
	}
}

KTLS_EXPORT void ktls_conn_free(struct ktls_conn *conn)
{
	if (conn == NULL)
		return;
	uring_conn_release(conn);
	if (conn->session != NULL)
		gnutls_deinit(conn->session);
	if (conn->rx_buf != NULL) {
		explicit_bzero(conn->rx_buf, conn->rx_cap);
		free(conn->rx_buf);
	}
	if (conn->hs_buf != NULL) {
		explicit_bzero(conn->hs_buf, conn->hs_len);
		free(conn->hs_buf);
	}
	if (conn->flags & KTLS_CONN_OWN_FD) {
		conn_discard_input(conn->fd);
		close(conn->fd);
	}
	free(conn->server_name);
	ktls_config_unref(conn->config);
	free(conn);
}

KTLS_EXPORT const char *ktls_conn_error(const struct ktls_conn *conn)
{
	return conn != NULL ? conn->error : "invalid argument: conn is NULL";
}

KTLS_EXPORT int ktls_conn_fd(const struct ktls_conn *conn)
{
	return conn != NULL ? conn->fd : -EINVAL;
}

KTLS_EXPORT int ktls_conn_set_server_name(struct ktls_conn *conn, const char *name)
{
	char *copy;

	if (conn == NULL)
		return -EINVAL;
	if (conn->config->role != KTLS_ROLE_CLIENT || conn->state != CONN_NEW)
		return error_conn(conn, -EINVAL,
				  "the server name is set by a client before the handshake");
	if (name == NULL || name[0] == '\0' || strlen(name) > 253)
		return error_conn(conn, -EINVAL, "server name must be 1..253 characters");
	copy = strdup(name);
	if (copy == NULL)
		return -ENOMEM;
	free(conn->server_name);
	conn->server_name = copy;
	return 0;
}

/*
 * GnuTLS has no "handshake finished" query.  A TLS 1.2 session has a cipher
 * only after ChangeCipherSpec; a TLS 1.3 one has it from the ServerHello on,
 * while its record state still holds handshake-traffic keys, so TLS 1.3 also
 * needs the exporter secret (RFC 9266 tls-exporter), which exists only once
 * the application traffic secrets do.
 */
static bool conn_handshake_complete(gnutls_session_t session)
{
	gnutls_protocol_t proto = gnutls_protocol_get_version(session);
	gnutls_datum_t binding = { NULL, 0 };

	if (gnutls_cipher_get(session) == GNUTLS_CIPHER_NULL)
		return false;
	if (proto == GNUTLS_TLS1_2)
		return true;
	if (proto != GNUTLS_TLS1_3 ||
	    gnutls_session_channel_binding(session, GNUTLS_CB_TLS_EXPORTER, &binding) < 0)
		return false;
	explicit_bzero(binding.data, binding.size);
	gnutls_free(binding.data);
	return true;
}

KTLS_EXPORT int ktls_conn_adopt(struct ktls_config *config, gnutls_session_t session, int fd,
				unsigned int flags, struct ktls_conn **ret_conn)
{
	struct ktls_conn *conn;
	int ret;

	if (config == NULL)
		return -EINVAL;
	if (session == NULL || ret_conn == NULL)
		return error_config(config, -EINVAL, "session and ret_conn are required");
	if (!conn_handshake_complete(session))
		return error_config(config, -EINVAL, "the GnuTLS session has not completed its handshake");
	ret = config_freeze(config);
	if (ret < 0)
		return ret;
	ret = conn_create(config, fd, flags, &conn);
	if (ret < 0)
		return ret;
	conn->session = session;
	conn->state = CONN_HANDSHAKING;
	/* The application's transport stays in place until each direction moves. */
	ret = offload_switch(conn);
	if (ret < 0) {
		snprintf(config->error, sizeof(config->error), "%s", conn->error);
		conn->session = NULL; /* still the caller's */
		conn->flags &= ~KTLS_CONN_OWN_FD;
		ktls_conn_free(conn);
		return ret;
	}
	gnutls_session_set_ptr(session, conn);
	record_set_transport(conn);
	conn->state = CONN_READY;
	*ret_conn = conn;
	return 0;
}

static void conn_copy(char *dst, size_t size, const void *src, size_t len)
{
	if (src == NULL)
		len = 0;
	if (len >= size)
		len = size - 1;
	if (len > 0)
		memcpy(dst, src, len);
	dst[len] = '\0';
}

static void conn_peer_identity(const struct ktls_conn *conn, struct ktls_info *info)
{
	gnutls_session_t s = conn->session;

	if (gnutls_auth_get_type(s) == GNUTLS_CRD_PSK) {
		gnutls_datum_t id = { NULL, 0 };

		info->peer_auth = KTLS_PEER_PSK;
		if (conn->config->role == KTLS_ROLE_SERVER &&
		    gnutls_psk_server_get_username2(s, &id) == 0)
			conn_copy(info->peer_identity, sizeof(info->peer_identity), id.data,
				  id.size);
		else if (conn->config->role == KTLS_ROLE_CLIENT && conn->config->n_psks > 0)
			conn_copy(info->peer_identity, sizeof(info->peer_identity),
				  conn->config->psks[0].identity,
				  strlen(conn->config->psks[0].identity));
		return;
	}

	unsigned int n = 0;
	const gnutls_datum_t *certs = gnutls_certificate_get_peers(s, &n);
	gnutls_x509_crt_t crt;
	gnutls_datum_t dn = { NULL, 0 };

	if (certs == NULL || n == 0 || gnutls_x509_crt_init(&crt) < 0)
		return;
	if (gnutls_x509_crt_import(crt, &certs[0], GNUTLS_X509_FMT_DER) == 0 &&
	    gnutls_x509_crt_get_dn3(crt, &dn, 0) == 0) {
		info->peer_auth = KTLS_PEER_CERTIFICATE;
		conn_copy(info->peer_identity, sizeof(info->peer_identity), dn.data, dn.size);
		gnutls_free(dn.data);
	}
	gnutls_x509_crt_deinit(crt);
}

KTLS_EXPORT int ktls_conn_get_info(const struct ktls_conn *conn, struct ktls_info *ret_info)
{
	struct ktls_info info;
	gnutls_session_t s;
	gnutls_datum_t alpn;
	const char *name;

	if (conn == NULL || ret_info == NULL || conn->state != CONN_READY)
		return -EINVAL;
	s = conn->session;
	memset(&info, 0, sizeof(info));
	info.version = conn->version;
	info.cipher = conn->cipher;
	conn_copy(info.version_name, sizeof(info.version_name),
		  gnutls_protocol_get_name(gnutls_protocol_get_version(s)),
		  strlen(gnutls_protocol_get_name(gnutls_protocol_get_version(s))));
	name = gnutls_cipher_get_name(gnutls_cipher_get(s));
	conn_copy(info.cipher_name, sizeof(info.cipher_name), name, name ? strlen(name) : 0);
	name = gnutls_group_get_name(gnutls_group_get(s));
	conn_copy(info.group_name, sizeof(info.group_name), name, name ? strlen(name) : 0);
	if (gnutls_alpn_get_selected_protocol(s, &alpn) == 0)
		conn_copy(info.alpn, sizeof(info.alpn), alpn.data, alpn.size);
	if (conn->config->role == KTLS_ROLE_CLIENT) {
		if (conn->server_name != NULL && !handshake_name_is_address(conn->server_name))
			conn_copy(info.server_name, sizeof(info.server_name), conn->server_name,
				  strlen(conn->server_name));
	} else {
		size_t len = sizeof(info.server_name) - 1;
		unsigned int type;

		if (gnutls_server_name_get(s, info.server_name, &len, &type, 0) < 0)
			info.server_name[0] = '\0';
	}
	info.resumed = gnutls_session_is_resumed(s) != 0;
	conn_peer_identity(conn, &info);
	info.tx = conn->tx;
	info.rx = conn->rx;
	info.tickets_received = conn->tickets_received;
	info.tickets_after_switch = conn->tickets_after_switch;
	info.key_updates_sent = conn->tx_updates;
	info.key_updates_received = conn->rx_updates;
	*ret_info = info;
	return 0;
}
