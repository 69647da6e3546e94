/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * many-get: N HTTPS connections at once, driven by libktls's io_uring engine
 * on one thread (so the engine's client side is exercised too).
 *
 *   many-get --port P --ca CA --count N --path /file --sha256 HEX [--hold-ms MS]
 *
 * 1. N TCP connections are opened and every TLS handshake completes, so the
 *    server holds N connections at the same time.  "handshaken N" is printed.
 * 2. With --hold-ms, they stay idle that long (the server's memory per idle
 *    connection can be read meanwhile; "holding" is printed when it starts).
 * 3. Each sends "GET /file" (Connection: close) and reads the response to the
 *    server's close_notify; the body's SHA-256 must be HEX.
 * Prints "ok=K failed=F" and exits 0 when all N were ok.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include <ktls.h>

struct client {
	struct ktls_conn *conn;
	int index;
	bool handshaken, done, ok;
	char head[1024];
	size_t head_len;
	bool in_body;
	int status;
	gnutls_hash_hd_t hash;
	char request[256];
};

static int n_handshaken, n_done, n_failed_hs;
static const char *want_sha;

static void on_closed(struct ktls_conn *conn, ssize_t result, const void *data, void *userdata)
{
	struct client *c = userdata;
	unsigned char digest[32];
	char hex[65];

	(void)conn;
	(void)data;
	(void)result;
	gnutls_hash_deinit(c->hash, digest);
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", digest[i]);
	c->ok = c->status == 200 && strcmp(hex, want_sha) == 0;
	if (!c->ok)
		fprintf(stderr, "many-get: connection %d: status %d, sha256 %s\n", c->index,
			c->status, hex);
	c->done = true;
	n_done++;
}

static void on_recv(struct ktls_conn *conn, ssize_t result, const void *data, void *userdata)
{
	struct client *c = userdata;
	const char *p = data;
	size_t len = result > 0 ? (size_t)result : 0;

	if (result <= 0) {
		if (result < 0)
			fprintf(stderr, "many-get: connection %d: recv: %s\n", c->index,
				ktls_conn_error(conn));
		on_closed(conn, result, NULL, c);
		return;
	}
	if (!c->in_body) {
		size_t take = len < sizeof(c->head) - 1 - c->head_len ? len
								       : sizeof(c->head) - 1 - c->head_len;
		char *end;

		memcpy(c->head + c->head_len, p, take);
		c->head_len += take;
		c->head[c->head_len] = '\0';
		end = strstr(c->head, "\r\n\r\n");
		if (end != NULL) {
			size_t head = (size_t)(end + 4 - c->head);
			size_t before = c->head_len - take;

			c->in_body = true;
			sscanf(c->head, "HTTP/1.1 %d", &c->status);
			/* the body starts after the head, within this chunk */
			gnutls_hash(c->hash, p + (head - before), len - (head - before));
		}
	} else {
		gnutls_hash(c->hash, p, len);
	}
	if (ktls_conn_ring_recv(conn, 16384, 60000, on_recv, c) < 0)
		on_closed(conn, -1, NULL, c);
}

static void on_sent(struct ktls_conn *conn, ssize_t result, const void *data, void *userdata)
{
	struct client *c = userdata;

	(void)data;
	if (result < 0 || ktls_conn_ring_recv(conn, 16384, 60000, on_recv, c) < 0) {
		fprintf(stderr, "many-get: connection %d: send: %s\n", c->index, ktls_conn_error(conn));
		on_closed(conn, -1, NULL, c);
	}
}

static void on_handshake(struct ktls_conn *conn, ssize_t result, const void *data, void *userdata)
{
	struct client *c = userdata;

	(void)data;
	if (result < 0) {
		fprintf(stderr, "many-get: connection %d: handshake: %s\n", c->index,
			ktls_conn_error(conn));
		n_failed_hs++;
		c->done = true;
		n_done++;
		return;
	}
	c->handshaken = true;
	n_handshaken++;
}

static void run_until(struct ktls_ring *ring, int *counter, int target)
{
	while (*counter < target)
		if (ktls_ring_run(ring, 1000) < 0)
			break;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "port", required_argument, NULL, 'p' },   { "ca", required_argument, NULL, 'a' },
		{ "count", required_argument, NULL, 'n' },  { "path", required_argument, NULL, 'P' },
		{ "sha256", required_argument, NULL, 's' }, { "hold-ms", required_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *ca = NULL, *path = "/";
	int port = 0, count = 1, hold_ms = 0, opt, ok = 0;
	struct ktls_config *config;
	struct ktls_ring *ring;
	struct client *clients;
	struct rlimit rl;

	while ((opt = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (opt) {
		case 'p': port = atoi(optarg); break;
		case 'a': ca = optarg; break;
		case 'n': count = atoi(optarg); break;
		case 'P': path = optarg; break;
		case 's': want_sha = optarg; break;
		case 'h': hold_ms = atoi(optarg); break;
		default: return 2;
		}
	}
	if (port <= 0 || ca == NULL || want_sha == NULL || count < 1) {
		fprintf(stderr, "usage: many-get --port P --ca CA --count N --path /f --sha256 HEX\n");
		return 2;
	}
	/* One descriptor per connection: raise the soft limit as far as allowed. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (ktls_config_new(KTLS_ROLE_CLIENT, &config) < 0 || ktls_config_set_ca_file(config, ca) < 0 ||
	    ktls_config_set_alpn(config, "http/1.1") < 0 || ktls_ring_new(NULL, 4096, &ring) < 0) {
		fprintf(stderr, "many-get: set-up failed\n");
		return 1;
	}
	clients = calloc((size_t)count, sizeof(*clients));
	for (int i = 0; i < count; i++) {
		struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
					 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		struct client *c = &clients[i];
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

		c->index = i;
		if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
		    ktls_conn_new(config, fd, KTLS_CONN_OWN_FD, &c->conn) < 0 ||
		    ktls_conn_set_server_name(c->conn, "localhost") < 0 ||
		    ktls_conn_ring_attach(c->conn, ring) < 0 ||
		    ktls_conn_ring_handshake(c->conn, 120000, on_handshake, c) < 0) {
			fprintf(stderr, "many-get: connection %d: %s\n", i,
				c->conn ? ktls_conn_error(c->conn) : strerror(errno));
			return 1;
		}
		/* Let handshakes progress while the rest connect (the backlog is finite). */
		if (i % 64 == 63)
			ktls_ring_run(ring, 0);
	}
	while (n_handshaken + n_failed_hs < count)
		if (ktls_ring_run(ring, 1000) < 0)
			break;
	printf("handshaken %d\n", n_handshaken);
	fflush(stdout);
	if (hold_ms > 0) {
		struct timespec ts = { hold_ms / 1000, (hold_ms % 1000) * 1000000L };

		printf("holding\n");
		fflush(stdout);
		nanosleep(&ts, NULL);
	}
	for (int i = 0; i < count; i++) {
		struct client *c = &clients[i];
		int len;

		if (!c->handshaken)
			continue;
		gnutls_hash_init(&c->hash, GNUTLS_DIG_SHA256);
		len = snprintf(c->request, sizeof(c->request),
			       "GET %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", path);
		if (ktls_conn_ring_send(c->conn, c->request, (size_t)len, 60000, on_sent, c) < 0)
			on_closed(c->conn, -1, NULL, c);
	}
	run_until(ring, &n_done, count);
	for (int i = 0; i < count; i++) {
		ok += clients[i].ok;
		ktls_conn_free(clients[i].conn);
	}
	printf("ok=%d failed=%d\n", ok, count - ok);
	ktls_ring_free(ring);
	ktls_config_unref(config);
	free(clients);
	return ok == count ? 0 : 1;
}
