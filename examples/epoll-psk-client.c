/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * epoll-psk-client: the client of epoll-psk-server.  It connects, runs a
 * TLS 1.3 handshake with an external pre-shared key, sends a message, reads
 * the echo back, and ends with close_notify both ways, all on a
 * non-blocking socket and its own epoll loop.
 *
 *   epoll-psk-client (-k IDENTITY:HEXKEY | -f FILE) HOST PORT MESSAGE
 *
 * MESSAGE "-" sends standard input.  The echoed bytes go to standard
 * output; where each direction's record key went ("kernel", or "userspace"
 * and why) goes to standard error.
 *
 * Build: cc epoll-psk-client.c $(pkg-config --cflags --libs libktls)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netdb.h>
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
	colon[strcspn(colon + 1, "\r\n") + 1] = '\0';
	hex_len = strlen(colon + 1);
	if (hex_len % 2 || hex_len / 2 > 64)
		return -1;
	for (i = 0; i < hex_len / 2; i++)
		if (sscanf(colon + 1 + 2 * i, "%2hhx", &key[i]) != 1)
			return -1;
	*key_len = hex_len / 2;
	return 0;
}

/* The whole of standard input. */
static char *read_stdin(size_t *len)
{
	size_t cap = 65536, n = 0;
	char *buf = malloc(cap);
	ssize_t r;

	while (buf && (r = read(0, buf + n, cap - n)) > 0)
		if ((n += r) == cap)
			buf = realloc(buf, cap *= 2);
	*len = n;
	return buf;
}

static int connect_nonblocking(const char *host, const char *port)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *ai;
	int fd = -1;

	if (getaddrinfo(host, port, &hints, &res) != 0)
		return -1;
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd >= 0 && (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 || errno == EINPROGRESS))
			break;
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

static void print_keys(struct ktls_conn *conn)
{
	struct ktls_info info;

	ktls_conn_get_info(conn, &info);
	fprintf(stderr, "%s %s, PSK identity \"%s\"\n", info.version_name, info.cipher_name,
		info.peer_identity);
	fprintf(stderr, "TX key: %s%s%s\n", info.tx.kernel ? "kernel" : "userspace",
		info.tx.kernel ? "" : " - ", info.tx.kernel ? "" : info.tx.reason);
	fprintf(stderr, "RX key: %s%s%s\n", info.rx.kernel ? "kernel" : "userspace",
		info.rx.kernel ? "" : " - ", info.rx.kernel ? "" : info.rx.reason);
}

int main(int argc, char **argv)
{
	char psk_text[512] = "", *psk_file = NULL;
	const char *identity;
	unsigned char key[64];
	size_t key_len, msg_len, sent = 0, echoed = 0;
	char *msg, buf[16384];
	struct ktls_config *cfg;
	struct ktls_conn *conn;
	enum { HANDSHAKE, ECHO, CLOSE_NOTIFY, WAIT_PEER_CLOSE, DONE } state = HANDSHAKE;
	int opt, fd, ep, r;

	while ((opt = getopt(argc, argv, "k:f:")) != -1) {
		if (opt == 'k')
			snprintf(psk_text, sizeof(psk_text), "%s", optarg);
		else if (opt == 'f')
			psk_file = optarg;
		else
			optind = argc + 1;
	}
	if (optind + 3 != argc || (!*psk_text && !psk_file)) {
		fprintf(stderr, "usage: epoll-psk-client (-k IDENTITY:HEXKEY | -f FILE) HOST PORT MESSAGE\n");
		return 2;
	}
	if (psk_file) {
		FILE *f = fopen(psk_file, "r");

		if (f == NULL || fgets(psk_text, sizeof(psk_text), f) == NULL) {
			perror(psk_file);
			return 1;
		}
		fclose(f);
	}
	if (parse_psk(psk_text, &identity, key, &key_len) < 0) {
		fprintf(stderr, "epoll-psk-client: the PSK must be IDENTITY:HEXKEY (16..64 bytes)\n");
		return 2;
	}
	if (strcmp(argv[optind + 2], "-") == 0) {
		msg = read_stdin(&msg_len);
	} else {
		msg = strdup(argv[optind + 2]);
		msg_len = strlen(msg);
	}

	/* A client config: it offers the first (here the only) PSK added. */
	if (ktls_config_new(KTLS_ROLE_CLIENT, &cfg) < 0)
		return 1;
	r = ktls_config_add_psk(cfg, identity, key, key_len);
	explicit_bzero(key, sizeof(key));
	explicit_bzero(psk_text, sizeof(psk_text));
	if (r < 0) {
		fprintf(stderr, "epoll-psk-client: %s\n", ktls_config_error(cfg));
		return 1;
	}

	fd = connect_nonblocking(argv[optind], argv[optind + 1]);
	if (fd < 0) {
		fprintf(stderr, "epoll-psk-client: cannot connect to %s port %s\n", argv[optind],
			argv[optind + 1]);
		return 1;
	}
	/* The handshake follows the fd: non-blocking, it returns -EAGAIN. */
	if (ktls_conn_new(cfg, fd, KTLS_CONN_OWN_FD, &conn) < 0) {
		close(fd);
		return 1;
	}
	/*
	 * Edge-triggered for both directions, registered once: each pass of the
	 * loop below goes on until a call answers -EAGAIN, and only then waits.
	 * (With the kernel holding RX, level-triggered readiness would report
	 * half a record as readable; see ktls_conn_recv() in ktls.h.)
	 * A connect still in progress ends with EPOLLOUT; the handshake's first
	 * send reports a failed one.
	 */
	ep = epoll_create1(EPOLL_CLOEXEC);
	epoll_ctl(ep, EPOLL_CTL_ADD, fd,
		  &(struct epoll_event){ .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET });

	while (state != DONE) {
		ssize_t n = 0;

		switch (state) {
		case HANDSHAKE:
			n = ktls_conn_handshake(conn);
			if (n == 0) {
				print_keys(conn);
				state = ECHO;
			}
			break;
		case ECHO: {
			/* Send and read in turn: the server echoes as it reads, so a
			 * client that only sent would fill both directions and stall. */
			ssize_t s = 0, got;

			if (ktls_conn_wants(conn) & KTLS_WANT_WRITE) {
				s = ktls_conn_flush(conn); /* a record GnuTLS half wrote */
			} else if (sent < msg_len) {
				s = ktls_conn_send(conn, msg + sent, msg_len - sent);
				if (s > 0)
					sent += s, s = 0;
			}
			if (s < 0 && s != -EAGAIN) {
				n = s;
				break;
			}
			got = ktls_conn_recv(conn, buf, sizeof(buf));
			if (got > 0) {
				fwrite(buf, 1, got, stdout);
				echoed += got;
			} else if (got == 0) {
				n = -EPIPE; /* close_notify before the whole echo */
				break;
			} else if (got != -EAGAIN) {
				n = got;
				break;
			}
			if (echoed == msg_len)
				state = CLOSE_NOTIFY;
			else if (got == -EAGAIN && (s == -EAGAIN || sent == msg_len))
				n = -EAGAIN; /* both directions wait: sleep */
			break;
		}
		case CLOSE_NOTIFY:
			n = ktls_conn_shutdown(conn);
			if (n == 0)
				state = WAIT_PEER_CLOSE;
			break;
		case WAIT_PEER_CLOSE:
			/* Anything more than the echo is an error; 0 is the server's
			 * close_notify. */
			n = ktls_conn_recv(conn, buf, sizeof(buf));
			if (n == 0)
				state = DONE;
			else if (n > 0)
				n = -EPROTO;
			break;
		case DONE:
			break;
		}
		if (n == -EAGAIN) {
			struct epoll_event ev;

			if (epoll_wait(ep, &ev, 1, 30000) <= 0) {
				fprintf(stderr, "epoll-psk-client: timed out\n");
				return 1;
			}
		} else if (n < 0) {
			fprintf(stderr, "epoll-psk-client: %s\n", *ktls_conn_error(conn) ?
				ktls_conn_error(conn) : strerror((int)-n));
			return 1;
		}
	}
	fflush(stdout);
	fprintf(stderr, "%zu bytes echoed; closed with close_notify both ways\n", echoed);
	ktls_conn_free(conn);
	ktls_config_unref(cfg);
	close(ep);
	free(msg);
	return 0;
}
