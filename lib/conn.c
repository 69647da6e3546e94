/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * struct ktls_conn: lifetime, adoption of an application's GnuTLS session,
 * and the report of what was negotiated.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gnutls/x509.h>

#include "abi.h"
#include "ktls-gnutls.h"
#include "private.h"

/* The TCP state of a socket that answered TCP_INFO. */
static int conn_check_tcp_state(struct ktls_config *config, int fd, const struct tcp_info *ti)
{
	switch (ti->tcpi_state) {
	case TCP_ESTABLISHED:
	case TCP_SYN_SENT: /* a non-blocking connect(2) under way: the handshake waits for it */
	case TCP_SYN_RECV:
	case TCP_CLOSE_WAIT: /* the peer already sent its FIN: what it sent before is still there */
		return 0;
	case TCP_LISTEN:
		return error_config(config, -EINVAL,
				    "fd %d is a listening socket: pass the sockets accept(2) returns",
				    fd);
	case TCP_CLOSE:
		return error_config(config, -ENOTCONN, "fd %d is not connected", fd);
	default:
		return error_config(config, -ENOTCONN,
				    "fd %d is closing (shut down for writing, or closed by both ends)",
				    fd);
	}
}

/*
 * Only a TCP socket that is connected (or connecting) can carry TLS and the
 * kernel's TLS ULP.  Anything else is refused here with its own reason,
 * rather than failing the handshake later as if the peer had gone.
 */
static int conn_check_socket(struct ktls_config *config, int fd)
{
	int domain, type, protocol, info_errno;
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	if (fd < 0)
		return error_config(config, -EINVAL, "fd %d is not a file descriptor", fd);
	/*
	 * Only a TCP socket answers TCP_INFO: one system call for the usual
	 * case (a server calls this once per connection).  Anything else gets
	 * the questions that name what it is instead.
	 */
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == 0)
		return conn_check_tcp_state(config, fd, &ti);
	info_errno = errno;
	len = sizeof(int);
	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) != 0)
		return error_config(config, -errno, "fd %d: %s", fd, strerror(errno));
	len = sizeof(int);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 ||
	    getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &protocol, &len) != 0)
		return error_config(config, -errno, "fd %d: %s", fd, strerror(errno));
	if ((domain != AF_INET && domain != AF_INET6) || type != SOCK_STREAM ||
	    protocol != IPPROTO_TCP)
		return error_config(config, -EINVAL,
				    "fd %d is not a TCP socket (kernel TLS runs over TCP only)", fd);
	return error_config(config, -info_errno, "fd %d: TCP_INFO: %s", fd, strerror(info_errno));
}

int conn_create(struct ktls_config *config, int fd, unsigned int flags,
		struct ktls_conn **ret_conn)
{
	struct ktls_conn *conn;
	int ret;

	if ((flags & ~KTLS_CONN_OWN_FD) != 0)
		return error_config(config, -EINVAL, "unknown connection flags 0x%x",
				    flags & ~KTLS_CONN_OWN_FD);
	bool accepted = ring_accept_handing_over(fd);

	if (!accepted) {
		ret = conn_check_socket(config, fd);
		if (ret < 0)
			return ret;
	}
	conn = calloc(1, sizeof(*conn));
	if (conn == NULL)
		return error_config(config, -ENOMEM, "out of memory");
	conn->config = config_hold(config);
	conn->fd = fd;
	conn->fd_nonblocking = accepted;
	conn->flags = flags;
	proto_init(conn);
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
	error_config_begin(config);
	if (ret_conn == NULL)
		return error_config(config, -EINVAL, "ret_conn is NULL");
	ret = config_freeze(config, true);
	if (ret < 0)
		return ret;
	ret = conn_create(config, fd, flags, &conn);
	if (ret < 0)
		return ret;
	ret = handshake_session_init(conn);
	if (ret < 0) {
		error_config(config, ret, "%s", conn->error);
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
 * end of an upload, our close_notify or alert.  A TLS 1.3 client that only
 * sends typically leaves the server's NewSessionTickets unread, so what is
 * already queued is read and discarded first, bounded.  With RX in the
 * kernel the records go through proto.c: a KeyUpdate among them must be
 * followed, or the kernel would hold everything behind it unreadable.
 */
#define CONN_DRAIN_RECORDS 64

static void conn_drain(struct ktls_conn *conn)
{
	unsigned char buf[RECORD_MAX_PLAINTEXT];

	for (int i = 0; i < CONN_DRAIN_RECORDS; i++) {
		unsigned char type;
		bool got;
		ssize_t n;

		if (conn->hs.state == HANDSHAKE_DONE && conn->sw.rx.kernel) {
			n = kernel_recv(conn->fd, buf, sizeof(buf), MSG_DONTWAIT, &type, &got);
			if (n < 0 || !got)
				break;
			if (type != RECORD_APPLICATION_DATA &&
			    proto_rx_record(conn, type, buf, (size_t)n) == PROTO_FAIL)
				break;
		} else {
			n = recv(conn->fd, buf, sizeof(buf), MSG_DONTWAIT);
			if (n <= 0)
				break;
		}
		explicit_bzero(buf, (size_t)n);
	}
}

/* What proto.c queued and nothing sent yet (an alert), if the socket takes it now. */
static void conn_flush_control(struct ktls_conn *conn)
{
	const struct proto_out *o;

	while ((o = proto_out_peek(conn)) != NULL && o->kind == PROTO_OUT_RECORD &&
	       kernel_send_record(conn->fd, o->type, o->data, o->len, MSG_DONTWAIT) == 0)
		proto_out_done(conn);
}

static bool conn_may_push_on_close(struct ktls_conn *conn)
{
	if (!conn->sw.tx.kernel)
		return false;
	return !(conn->pr.tx_closed && conn->pr.tx_error == 0 && proto_out_peek(conn) == NULL);
}

KTLS_EXPORT void ktls_conn_free(struct ktls_conn *conn)
{
	struct ktls_ring *ring;
	struct kernel_sigpipe sp;
	bool may_push;

	if (conn == NULL)
		return;
	ring = ring_fd_owner(conn);
	ring_conn_release(conn);
	if (!(conn->flags & KTLS_CONN_OWN_FD)) {
		ring_fd_settle(ring); /* the application may close the fd as soon as this returns */
	} else {
		if (conn->hs.state == HANDSHAKE_DONE && conn->sw.tx.kernel && proto_out_peek(conn)) {
			ring_fd_settle(ring); /* in order after what the ring queued */
			conn_flush_control(conn);
		}
		/*
		 * Only what is still in TCP's queue turns close(2) into a reset
		 * (a record kTLS already took off it does not), so an empty queue
		 * needs no draining.  What could not be drained (a partial record,
		 * or records behind one kTLS could not decrypt) makes close(2) a
		 * reset, which drops what we sent but TCP has not transmitted yet
		 * (Nagle holds a small alert while data is unacknowledged).  A FIN
		 * first pushes it all out.
		 */
		if (kernel_rx_pending(conn->fd)) {
			conn_drain(conn);
			if (kernel_rx_pending(conn->fd)) {
				ring_fd_settle(ring); /* a close_notify still queued goes before the FIN */
				shutdown(conn->fd, SHUT_WR);
			}
		}
		/*
		 * The kernel pushes an open record on close, and may meet a peer
		 * gone.  None is open after a closing alert went out whole (it
		 * closed the record before it), nor without a kernel TX key.
		 */
		may_push = conn_may_push_on_close(conn);
		if (!may_push && ring_fd_close(ring, conn->fd)) {
			/*
			 * The ring closes it with its next submission (no system
			 * call of its own), behind what it has queued for it.
			 */
		} else {
			ring_fd_settle(ring); /* what the ring queued names the socket: it goes first */
			if (!may_push || kernel_sigpipe_ignored()) {
				close(conn->fd);
			} else {
				kernel_sigpipe_block(&sp);
				close(conn->fd);
				kernel_sigpipe_restore(&sp);
			}
		}
	}
	proto_free(conn);
	rxbuf_free(conn);
	txbuf_sent(conn);
	secrets_free(conn);
	summary_free(conn);
	resume_conn_free(conn);
	if (conn->session != NULL)
		gnutls_deinit(conn->session);
	free(conn->hs.server_name);
	handshake_psk_free(conn);
	config_release(conn->config);
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

/*
 * GnuTLS has no getter for a session's side.  Setting a server's early-data
 * limit to the value it already has changes nothing, and a client session
 * refuses the call outright.
 */
static enum ktls_role conn_session_role(gnutls_session_t session)
{
	size_t limit = gnutls_record_get_max_early_data_size(session);

	return gnutls_record_set_max_early_data_size(session, limit) == 0 ? KTLS_ROLE_SERVER
									   : KTLS_ROLE_CLIENT;
}

KTLS_EXPORT int ktls_conn_adopt(struct ktls_config *config, gnutls_session_t session, int fd,
				unsigned int flags, struct ktls_conn **ret_conn)
{
	struct ktls_conn *conn;
	enum ktls_role role;
	int ret;

	if (config == NULL)
		return -EINVAL;
	error_config_begin(config);
	if (session == NULL || ret_conn == NULL)
		return error_config(config, -EINVAL, "session and ret_conn are required");
	if (!conn_handshake_complete(session))
		return error_config(config, -EINVAL, "the GnuTLS session has not completed its handshake");
	role = conn_session_role(session);
	if (role != config->role)
		return error_config(config, -EINVAL, "a %s config cannot adopt a %s's session",
				    config->role == KTLS_ROLE_SERVER ? "server" : "client",
				    role == KTLS_ROLE_SERVER ? "server" : "client");
	ret = config_freeze(config, false);
	if (ret < 0)
		return ret;
	ret = conn_create(config, fd, flags, &conn);
	if (ret < 0)
		return ret;
	conn->session = session;
	/* The application's transport stays in place until each direction moves. */
	ret = handshake_drain(conn);
	if (ret == 0)
		ret = summary_take(conn);
	if (ret == 0)
		ret = switch_keys(conn);
	if (ret < 0) {
		error_config(config, ret, "%s", conn->error);
		conn->session = NULL; /* still the caller's */
		conn->flags &= ~KTLS_CONN_OWN_FD;
		ktls_conn_free(conn);
		return ret;
	}
	gnutls_session_set_ptr(session, conn);
	transport_set_fd(conn);
	transport_check_blocking(conn);
	proto_start(conn);
	handshake_adopted(conn);
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
	const struct conn_summary *sum = &conn->sum;
	const char *id = NULL;

	if (sum->psk) {
		info->peer_auth = KTLS_PEER_PSK;
		if (conn->config->role == KTLS_ROLE_SERVER)
			id = sum->psk_identity;
		else if (conn->hs.psk_identity != NULL)
			id = conn->hs.psk_identity;
		else if (conn->config->n_psks > 0)
			id = conn->config->psks[0].identity;
		if (id != NULL)
			conn_copy(info->peer_identity, sizeof(info->peer_identity), id, strlen(id));
		return;
	}

	unsigned int n = 0;
	const gnutls_datum_t *certs = summary_peer_chain(conn, &n);
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

static void conn_copy_name(char *dst, size_t size, const char *name)
{
	conn_copy(dst, size, name, name != NULL ? strlen(name) : 0);
}

KTLS_EXPORT int ktls_conn_get_info_sized(const struct ktls_conn *conn, struct ktls_info *ret_info,
					 size_t info_size)
{
	const struct conn_summary *sum;
	struct ktls_info info;

	if (conn == NULL || ret_info == NULL || conn->hs.state != HANDSHAKE_DONE ||
	    info_size < ABI_MIN_INFO)
		return -EINVAL;
	/* From the summary only: the GnuTLS session may be gone (summary.c). */
	sum = &conn->sum;
	memset(&info, 0, sizeof(info));
	info.version = conn->sw.version;
	info.cipher = conn->sw.cipher;
	conn_copy_name(info.version_name, sizeof(info.version_name),
		       gnutls_protocol_get_name(sum->protocol));
	conn_copy_name(info.cipher_name, sizeof(info.cipher_name),
		       gnutls_cipher_get_name(sum->cipher));
	conn_copy_name(info.group_name, sizeof(info.group_name), gnutls_group_get_name(sum->group));
	conn_copy_name(info.alpn, sizeof(info.alpn), sum->alpn);
	if (conn->config->role == KTLS_ROLE_CLIENT) {
		if (conn->hs.server_name != NULL && !handshake_name_is_address(conn->hs.server_name))
			conn_copy_name(info.server_name, sizeof(info.server_name),
				       conn->hs.server_name);
	} else {
		conn_copy_name(info.server_name, sizeof(info.server_name), sum->server_name);
	}
	info.resumed = sum->resumed;
	conn_peer_identity(conn, &info);
	info.tx = conn->sw.tx;
	info.rx = conn->sw.rx;
	info.tickets_received = conn->rs.tickets;
	info.tickets_after_switch = conn->rs.tickets_after_switch;
	info.key_updates_sent = conn->pr.tx_updates;
	info.key_updates_received = conn->pr.rx_updates;
	abi_copy_out(ret_info, info_size, &info, sizeof(info));
	return 0;
}

KTLS_EXPORT int ktls_conn_export_keying_material(const struct ktls_conn *conn, const char *label,
						 const void *context, size_t context_len,
						 void *out, size_t out_len)
{
	int ret;

	if (conn == NULL || label == NULL || out == NULL || out_len == 0 ||
	    (context == NULL && context_len > 0) || conn->hs.state != HANDSHAKE_DONE)
		return -EINVAL;
	/* Whoever runs the key schedule after the switch has the exporter's secret. */
	if (secrets_ready(conn))
		return secrets_export(conn, label, context, context_len, out, out_len);
	ret = gnutls_prf_rfc5705(conn->session, strlen(label), label,
				 context != NULL ? context_len : 0, context, out_len, out);
	if (ret < 0) {
		explicit_bzero(out, out_len);
		return -EPROTO;
	}
	return 0;
}
