/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * coalesce-peer: a plain GnuTLS peer (no libktls) that writes its last
 * handshake flight and its first application data in ONE send(), so that
 * they reach the other side in the same TCP segment.  That is the situation
 * in which a kTLS switch can lose data: the receiver's TLS library may have
 * read the application record while finishing the handshake.
 *
 * The last flight is the client's Finished in TLS 1.3 and the server's
 * Finished in a TLS 1.2 full handshake, so this peer plays whichever role
 * sends it.  A handshake hook notices our Finished going out and from then on
 * the push function only collects bytes; after gnutls_handshake() returns,
 * the application data is added and everything goes out at once.
 *
 *   coalesce-peer --tls 1.3 --port P --ca CA            (client, TLS 1.3)
 *   coalesce-peer --tls 1.2 --port P --cert C --key K   (server, TLS 1.2)
 *
 * It sends MESSAGE (default "hello after Finished\n"), then echoes nothing,
 * waits for the other side's close and exits 0 if the handshake worked.
 * With --output FILE, what it received is written there.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <gnutls/gnutls.h>

struct hold {
	int fd;
	bool holding;
	unsigned char buf[65536];
	size_t len;
};

static ssize_t push(gnutls_transport_ptr_t p, const giovec_t *iov, int n)
{
	struct hold *h = p;
	ssize_t total = 0;

	if (!h->holding)
		return writev(h->fd, (const struct iovec *)iov, n);
	for (int i = 0; i < n; i++) {
		if (h->len + iov[i].iov_len > sizeof(h->buf)) {
			errno = ENOBUFS;
			return -1;
		}
		memcpy(h->buf + h->len, iov[i].iov_base, iov[i].iov_len);
		h->len += iov[i].iov_len;
		total += (ssize_t)iov[i].iov_len;
	}
	return total;
}

static ssize_t pull(gnutls_transport_ptr_t p, void *buf, size_t len)
{
	return recv(((struct hold *)p)->fd, buf, len, 0);
}

static int finished_hook(gnutls_session_t s, unsigned int htype, unsigned when,
			 unsigned int incoming, const gnutls_datum_t *msg)
{
	struct hold *h = gnutls_session_get_ptr(s);

	(void)when;
	(void)msg;
	if (htype == GNUTLS_HANDSHAKE_FINISHED && !incoming)
		h->holding = true;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "tls", required_argument, NULL, 't' },  { "port", required_argument, NULL, 'p' },
		{ "ca", required_argument, NULL, 'a' },   { "cert", required_argument, NULL, 'c' },
		{ "key", required_argument, NULL, 'k' },  { "message", required_argument, NULL, 'm' },
		{ "priority", required_argument, NULL, 'P' }, { "output", required_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 },
	};
	const char *ca = NULL, *cert = NULL, *key = NULL, *prio = NULL, *output = NULL;
	FILE *out = NULL;
	const char *message = "hello after Finished\n";
	bool tls13 = true;
	int port = 0, opt, ret;
	struct hold h = { .fd = -1 };
	gnutls_certificate_credentials_t cred;
	gnutls_session_t s;
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	char buf[4096];
	char prio_buf[256];

	while ((opt = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (opt) {
		case 't': tls13 = strcmp(optarg, "1.2") != 0; break;
		case 'p': port = atoi(optarg); break;
		case 'o': output = optarg; break;
		case 'a': ca = optarg; break;
		case 'c': cert = optarg; break;
		case 'k': key = optarg; break;
		case 'm': message = optarg; break;
		case 'P': prio = optarg; break;
		default: return 2;
		}
	}
	a.sin_port = htons((uint16_t)port);
	gnutls_certificate_allocate_credentials(&cred);

	if (tls13) {
		/* Client: our Finished is the last flight. */
		gnutls_certificate_set_x509_trust_file(cred, ca, GNUTLS_X509_FMT_PEM);
		h.fd = socket(AF_INET, SOCK_STREAM, 0);
		for (int i = 0; i < 100 && connect(h.fd, (struct sockaddr *)&a, sizeof(a)) != 0; i++) {
			close(h.fd);
			h.fd = socket(AF_INET, SOCK_STREAM, 0);
			usleep(50000);
		}
		gnutls_init(&s, GNUTLS_CLIENT);
		gnutls_server_name_set(s, GNUTLS_NAME_DNS, "localhost", 9);
		gnutls_session_set_verify_cert(s, "localhost", 0);
	} else {
		/* Server: in a TLS 1.2 full handshake our Finished is the last flight. */
		int one = 1, l = socket(AF_INET, SOCK_STREAM, 0);

		gnutls_certificate_set_x509_key_file(cred, cert, key, GNUTLS_X509_FMT_PEM);
		setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(l, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(l, 1) != 0) {
			perror("coalesce-peer: listen");
			return 1;
		}
		printf("listening\n");
		fflush(stdout);
		h.fd = accept(l, NULL, NULL);
		close(l);
		gnutls_init(&s, GNUTLS_SERVER | GNUTLS_NO_TICKETS);
	}
	snprintf(prio_buf, sizeof(prio_buf), "%s", prio != NULL ? prio
				: tls13 ? "NORMAL:-VERS-ALL:+VERS-TLS1.3"
					: "NORMAL:-VERS-ALL:+VERS-TLS1.2");
	gnutls_priority_set_direct(s, prio_buf, NULL);
	gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, cred);
	gnutls_session_set_ptr(s, &h);
	gnutls_transport_set_ptr(s, &h);
	gnutls_transport_set_vec_push_function(s, push);
	gnutls_transport_set_pull_function(s, pull);
	gnutls_handshake_set_hook_function(s, GNUTLS_HANDSHAKE_FINISHED, GNUTLS_HOOK_PRE,
					   finished_hook);

	do
		ret = gnutls_handshake(s);
	while (ret < 0 && !gnutls_error_is_fatal(ret));
	if (ret < 0) {
		fprintf(stderr, "coalesce-peer: handshake: %s\n", gnutls_strerror(ret));
		return 1;
	}
	ret = (int)gnutls_record_send(s, message, strlen(message));
	h.holding = false;
	if (ret < 0 || send(h.fd, h.buf, h.len, 0) != (ssize_t)h.len) {
		fprintf(stderr, "coalesce-peer: send failed\n");
		return 1;
	}
	fprintf(stderr, "coalesce-peer: sent %zu bytes (Finished + data) in one write\n", h.len);

	/* Wait for the other side to finish (its close_notify or EOF). */
	if (output != NULL && (out = fopen(output, "w")) == NULL) {
		perror("coalesce-peer: --output");
		return 1;
	}
	/* GnuTLS says AGAIN after a post-handshake message (a TLS 1.3 ticket): read on. */
	while ((ret = (int)gnutls_record_recv(s, buf, sizeof(buf))) > 0 ||
	       (ret < 0 && !gnutls_error_is_fatal(ret)))
		if (ret > 0 && out != NULL)
			fwrite(buf, 1, (size_t)ret, out);
	if (out != NULL)
		fclose(out);
	gnutls_bye(s, GNUTLS_SHUT_WR);
	close(h.fd);
	gnutls_deinit(s);
	gnutls_certificate_free_credentials(cred);
	return 0;
}
