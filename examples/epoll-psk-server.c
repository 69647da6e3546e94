/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * epoll-psk-server: a TLS 1.3 echo server with an external pre-shared key
 * (the way NVMe/TCP and many storage protocols authenticate), on its own
 * epoll loop with non-blocking sockets.
 *
 *   epoll-psk-server [-n COUNT] (-k IDENTITY:HEXKEY | -f FILE) PORT
 *
 * It echoes whatever a client sends until the client's close_notify, then
 * sends its own close_notify.  For each connection it prints where each
 * direction's record key went: "kernel", or "userspace" and why (a kernel
 * without kTLS; the connection carries on through GnuTLS either way).
 * PORT 0 picks a free port; the first line printed says which.  -n stops
 * after COUNT connections.  -f reads "IDENTITY:HEXKEY" from FILE, which
 * keeps the key out of ps(1).
 *
 * Build: cc epoll-psk-server.c $(pkg-config --cflags --libs libktls)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ktls.h>

/* "identity:hexkey" -> identity (NUL-terminated in place) and key bytes. */
static int parse_psk(char *text, const char **identity, unsigned char *key, size_t *key_len)
{
	char *colon = strrchr(text, ':');
	size_t hex_len, i;

	if (colon == NULL)
		return -1;
	*colon = '\0';
	*identity = text;
	colon[strcspn(colon + 1, "\r\n") + 1] = '\0'; /* a file's line ends */
	hex_len = strlen(colon + 1);
	if (hex_len % 2 || hex_len / 2 > 64)
		return -1;
	for (i = 0; i < hex_len / 2; i++)
		if (sscanf(colon + 1 + 2 * i, "%2hhx", &key[i]) != 1)
			return -1;
	*key_len = hex_len / 2;
	return 0;
}

/* One client.  The echo buffer doubles as the output queue. */
struct client {
	struct ktls_conn *conn;
	char peer[64];
	bool handshake_done;
	bool closing;          /* the peer's close_notify came; ours is going out */
	char buf[16384];
	size_t out_off, out_len; /* bytes of buf still to send */
};

static void print_keys(struct client *c)
{
	struct ktls_info info;

	if (ktls_conn_get_info(c->conn, &info) < 0)
		return;
	printf("%s: %s %s, PSK identity \"%s\"\n", c->peer, info.version_name, info.cipher_name,
	       info.peer_identity);
	printf("%s: TX key: %s%s%s\n", c->peer, info.tx.kernel ? "kernel" : "userspace",
	       info.tx.kernel ? "" : " - ", info.tx.kernel ? "" : info.tx.reason);
	printf("%s: RX key: %s%s%s\n", c->peer, info.rx.kernel ? "kernel" : "userspace",
	       info.rx.kernel ? "" : " - ", info.rx.kernel ? "" : info.rx.reason);
}

/*
 * Move the connection on as far as it goes without blocking.  The socket is
 * registered edge-triggered, so every path must end on -EAGAIN (or finish):
 * an edge that was not consumed never comes again.  Edge-triggered matters
 * most after the handshake: with the kernel holding RX, a level-triggered
 * poll reports the socket readable as soon as the first bytes of a record
 * are in, and ktls_conn_recv() would answer -EAGAIN until the rest comes,
 * over and over.  kTLS wakes edge-triggered waiters for whole records only.
 *
 * Returns 1 while the connection goes on, 0 when it is done, -1 on failure.
 */
static int pump(struct client *c)
{
	ssize_t n;
	int r;

	if (!c->handshake_done) {
		r = ktls_conn_handshake(c->conn);
		if (r == -EAGAIN)
			return 1; /* ktls_conn_wants() says which; we wait for both */
		if (r < 0)
			return -1;
		c->handshake_done = true;
		print_keys(c);
	}
	for (;;) {
		/* What is queued goes out before more is read (back-pressure). */
		while (c->out_len > 0) {
			n = ktls_conn_send(c->conn, c->buf + c->out_off, c->out_len);
			if (n == -EAGAIN)
				return 1;
			if (n < 0)
				return -1;
			c->out_off += n;
			c->out_len -= n;
		}
		/* Through GnuTLS, the last record may be only partly written. */
		if (ktls_conn_wants(c->conn) & KTLS_WANT_WRITE) {
			r = ktls_conn_flush(c->conn);
			if (r == -EAGAIN)
				return 1;
			if (r < 0)
				return -1;
		}
		if (c->closing) {
			r = ktls_conn_shutdown(c->conn); /* our close_notify */
			if (r == -EAGAIN)
				return 1;
			return r < 0 ? -1 : 0;
		}
		n = ktls_conn_recv(c->conn, c->buf, sizeof(c->buf));
		if (n == -EAGAIN)
			return 1;
		if (n < 0)
			return -1;
		if (n == 0) {
			c->closing = true; /* the peer's close_notify: a clean end */
			continue;
		}
		c->out_off = 0;
		c->out_len = n;
	}
}

static void usage(void)
{
	fprintf(stderr, "usage: epoll-psk-server [-n COUNT] (-k IDENTITY:HEXKEY | -f FILE) PORT\n");
	exit(2);
}

int main(int argc, char **argv)
{
	char psk_text[512] = "", *psk_file = NULL;
	const char *identity;
	unsigned char key[64];
	size_t key_len;
	long count = -1;
	struct ktls_config *cfg;
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(addr);
	int opt, lfd, ep, r;

	while ((opt = getopt(argc, argv, "n:k:f:")) != -1) {
		if (opt == 'n')
			count = atol(optarg);
		else if (opt == 'k')
			snprintf(psk_text, sizeof(psk_text), "%s", optarg);
		else if (opt == 'f')
			psk_file = optarg;
		else
			usage();
	}
	if (optind + 1 != argc || (!*psk_text && !psk_file))
		usage();
	if (psk_file) {
		FILE *f = fopen(psk_file, "r");

		if (f == NULL || fgets(psk_text, sizeof(psk_text), f) == NULL) {
			perror(psk_file);
			return 1;
		}
		fclose(f);
	}
	if (parse_psk(psk_text, &identity, key, &key_len) < 0) {
		fprintf(stderr, "epoll-psk-server: the PSK must be IDENTITY:HEXKEY (16..64 bytes)\n");
		return 2;
	}

	/* One config for every connection: a server that knows this PSK.
	 * With a PSK and no certificate, the handshake is TLS 1.3 (EC)DHE-PSK. */
	if (ktls_config_new(KTLS_ROLE_SERVER, &cfg) < 0)
		return 1;
	r = ktls_config_add_psk(cfg, identity, key, key_len);
	explicit_bzero(key, sizeof(key));
	explicit_bzero(psk_text, sizeof(psk_text));
	if (r < 0) {
		fprintf(stderr, "epoll-psk-server: %s\n", ktls_config_error(cfg));
		return 1;
	}

	addr.sin_port = htons(atoi(argv[optind]));
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &(int){ 1 }, sizeof(int));
	if (bind(lfd, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(lfd, 128) < 0 ||
	    getsockname(lfd, (struct sockaddr *)&addr, &alen) < 0) {
		perror("epoll-psk-server: listen");
		return 1;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("listening on 127.0.0.1:%d\n", ntohs(addr.sin_port));

	ep = epoll_create1(EPOLL_CLOEXEC);
	/* The listener may be level-triggered: accept() never sees half a record.
	 * data.ptr NULL marks it. */
	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &(struct epoll_event){ .events = EPOLLIN });

	while (count != 0) {
		struct epoll_event ev[32];
		int n = epoll_wait(ep, ev, 32, -1);

		for (int i = 0; i < n; i++) {
			struct client *c = ev[i].data.ptr;

			if (c == NULL) {
				struct sockaddr_in peer;
				socklen_t plen = sizeof(peer);
				int fd = accept4(lfd, (struct sockaddr *)&peer, &plen,
						 SOCK_NONBLOCK | SOCK_CLOEXEC);

				if (fd < 0)
					continue;
				c = calloc(1, sizeof(*c));
				snprintf(c->peer, sizeof(c->peer), "%s:%d", inet_ntoa(peer.sin_addr),
					 ntohs(peer.sin_port));
				/* KTLS_CONN_OWN_FD: ktls_conn_free() closes the socket. */
				if (ktls_conn_new(cfg, fd, KTLS_CONN_OWN_FD, &c->conn) < 0) {
					close(fd);
					free(c);
					continue;
				}
				/* Edge-triggered, both directions, registered once. */
				epoll_ctl(ep, EPOLL_CTL_ADD, fd,
					  &(struct epoll_event){ .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP |
									   EPOLLET,
								 .data.ptr = c });
			}
			r = pump(c);
			if (r == 1)
				continue;
			if (r < 0)
				printf("%s: failed: %s\n", c->peer, ktls_conn_error(c->conn));
			else
				printf("%s: closed with close_notify both ways\n", c->peer);
			ktls_conn_free(c->conn); /* closing the fd also leaves the epoll set */
			free(c);
			if (count > 0)
				count--;
		}
	}
	close(ep);
	close(lfd);
	ktls_config_unref(cfg);
	return 0;
}
