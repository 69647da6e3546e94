/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * adopt-gnutls: a program that runs its own GnuTLS handshake (its own
 * credentials, priorities, verification) and then hands the established
 * session to libktls with ktls_conn_adopt(), which moves the record keys
 * into the kernel; the data then goes through libktls.
 *
 * It is a client of ring-file-server: it sends a path, reads "OK <size>"
 * and writes the file's bytes to standard output.
 *
 *   adopt-gnutls CA.pem HOST PORT PATH > file
 *
 * Build: cc adopt-gnutls.c $(pkg-config --cflags --libs libktls)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <ktls-gnutls.h>

static int tcp_connect(const char *host, const char *port)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *ai;
	int fd = -1;

	if (getaddrinfo(host, port, &hints, &res) != 0)
		return -1;
	for (ai = res; ai && fd < 0; ai = ai->ai_next) {
		fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
			close(fd);
			fd = -1;
		}
	}
	freeaddrinfo(res);
	return fd;
}

int main(int argc, char **argv)
{
	gnutls_certificate_credentials_t creds = NULL;
	gnutls_session_t session = NULL;
	struct ktls_config *cfg = NULL;
	struct ktls_conn *conn = NULL;
	struct ktls_info info;
	char buf[65536], head[64], request[1024];
	size_t head_len = 0, body = 0;
	long long size = -1;
	ssize_t n;
	int fd, r, status = 1;

	if (argc != 5) {
		fprintf(stderr, "usage: adopt-gnutls CA.pem HOST PORT PATH > file\n");
		return 2;
	}
	fd = tcp_connect(argv[2], argv[3]);
	if (fd < 0) {
		fprintf(stderr, "adopt-gnutls: cannot connect to %s port %s\n", argv[2], argv[3]);
		return 1;
	}

	/* ---- The application's own GnuTLS handshake, as it always was. ---- */
	gnutls_certificate_allocate_credentials(&creds);
	if (gnutls_certificate_set_x509_trust_file(creds, argv[1], GNUTLS_X509_FMT_PEM) <= 0) {
		fprintf(stderr, "adopt-gnutls: no CA certificate in %s\n", argv[1]);
		goto out;
	}
	gnutls_init(&session, GNUTLS_CLIENT);
	gnutls_set_default_priority(session);
	gnutls_credentials_set(session, GNUTLS_CRD_CERTIFICATE, creds);
	gnutls_server_name_set(session, GNUTLS_NAME_DNS, argv[2], strlen(argv[2]));
	gnutls_session_set_verify_cert(session, argv[2], 0);
	/* GnuTLS's own socket transport: it never reads past the records it
	 * processes, which ktls_conn_adopt() relies on. */
	gnutls_transport_set_int(session, fd);
	do
		r = gnutls_handshake(session);
	while (r < 0 && !gnutls_error_is_fatal(r));
	if (r < 0) {
		fprintf(stderr, "adopt-gnutls: handshake: %s\n", gnutls_strerror(r));
		goto out;
	}

	/* ---- Hand it over.  The config's role must be the session's. ---- */
	if (ktls_config_new(KTLS_ROLE_CLIENT, &cfg) < 0)
		goto out;
	r = ktls_conn_adopt(cfg, session, fd, KTLS_CONN_OWN_FD, &conn);
	if (r < 0) { /* the session and the fd are still ours */
		fprintf(stderr, "adopt-gnutls: ktls_conn_adopt: %s\n", ktls_config_error(cfg));
		goto out;
	}
	session = NULL; /* the connection owns it now, and the fd */
	fd = -1;
	ktls_conn_get_info(conn, &info);
	fprintf(stderr, "%s %s, server \"%s\"\nTX key: %s%s%s\nRX key: %s%s%s\n",
		info.version_name, info.cipher_name, info.peer_identity,
		info.tx.kernel ? "kernel" : "userspace - ", info.tx.kernel ? "" : info.tx.reason, "",
		info.rx.kernel ? "kernel" : "userspace - ", info.rx.kernel ? "" : info.rx.reason, "");

	/* ---- From here on, libktls: send(2)/recv(2) when the kernel has the keys. ---- */
	snprintf(request, sizeof(request), "%s\n", argv[4]);
	if (ktls_conn_send(conn, request, strlen(request)) != (ssize_t)strlen(request))
		goto out_conn;
	/* The answer's first line, "OK <size>" or "ERR <reason>", then the bytes. */
	while ((n = ktls_conn_recv(conn, buf, sizeof(buf))) > 0) {
		size_t off = 0;

		while (size < 0 && off < (size_t)n && head_len + 1 < sizeof(head))
			if ((head[head_len++] = buf[off++]) == '\n') {
				head[head_len] = '\0';
				if (sscanf(head, "OK %lld", &size) != 1) {
					fprintf(stderr, "adopt-gnutls: server: %s", head);
					goto out_conn;
				}
			}
		fwrite(buf + off, 1, n - off, stdout);
		body += n - off;
	}
	if (n < 0) /* 0 is the server's close_notify; anything else is not clean */
		goto out_conn;
	if (size < 0 || body != (size_t)size) {
		fprintf(stderr, "adopt-gnutls: got %zu bytes, the server announced %lld\n", body, size);
		goto out_conn;
	}
	ktls_conn_shutdown(conn); /* our close_notify */
	fprintf(stderr, "%zu bytes; closed with close_notify\n", body);
	status = 0;
out_conn:
	if (status != 0 && *ktls_conn_error(conn))
		fprintf(stderr, "adopt-gnutls: %s\n", ktls_conn_error(conn));
	ktls_conn_free(conn); /* deinitialises the session, closes the fd */
out:
	if (session)
		gnutls_deinit(session);
	if (fd >= 0)
		close(fd);
	/* The credentials stay the application's and must outlive the connection. */
	gnutls_certificate_free_credentials(creds);
	ktls_config_unref(cfg);
	return status;
}
