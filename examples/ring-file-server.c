/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ring-file-server: a static file server on libktls's io_uring engine, one
 * thread for every connection.  A client sends one line, a path under ROOT;
 * the server answers "OK <size>\n" and the file's bytes, or "ERR <reason>\n",
 * then close_notify.  With the kernel holding the TX key the file goes
 * file -> pipe -> socket by splice and never enters this process.
 *
 *   ring-file-server CERT.pem KEY.pem ROOT [PORT]
 *
 * Paths are opened with openat2(RESOLVE_BENEATH) under ROOT, so "..",
 * absolute paths and symbolic links that leave ROOT are refused by the
 * kernel.  PORT 0 (the default) picks a free port, printed first.
 *
 * Build: cc ring-file-server.c $(pkg-config --cflags --libs libktls)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <ktls.h>

static struct ktls_config *cfg;
static int root_fd;

struct client {
	struct ktls_conn *conn;
	char req[1024]; /* the request line, as it arrives */
	size_t req_len;
	char head[300]; /* our answer's first line; libktls's until the send completes */
	int file_fd;
	off_t size;
};

static void on_closed(struct ktls_conn *conn, ssize_t res, const void *data, void *c_);

/* Every path ends here, from a callback: no other operation is in flight. */
static void finish(struct client *c, ssize_t res)
{
	if (res < 0)
		printf("connection failed: %s\n", *ktls_conn_error(c->conn) ? ktls_conn_error(c->conn) :
						     strerror((int)-res));
	if (c->file_fd >= 0)
		close(c->file_fd);
	ktls_conn_free(c->conn); /* KTLS_CONN_OWN_FD: closes the socket */
	free(c);
}

static void close_notify(struct client *c)
{
	if (ktls_conn_ring_shutdown(c->conn, 2000, on_closed, c) < 0)
		finish(c, -EIO);
}

static void on_closed(struct ktls_conn *conn, ssize_t res, const void *data, void *c_)
{
	finish(c_, res);
}

static void on_body(struct ktls_conn *conn, ssize_t res, const void *data, void *c_)
{
	struct client *c = c_;

	if (res < 0)
		finish(c, res);
	else
		close_notify(c);
}

static void on_head(struct ktls_conn *conn, ssize_t res, const void *data, void *c_)
{
	struct client *c = c_;

	if (res < 0)
		finish(c, res);
	else if (c->file_fd < 0 || c->size == 0)
		close_notify(c);
	/* With kernel TX: splice, no copy.  Without: GnuTLS records. */
	else if (ktls_conn_ring_sendfile(conn, c->file_fd, 0, c->size, 30000, on_body, c) < 0)
		finish(c, -EIO);
}

/* Open @path under ROOT only; the kernel enforces it, symbolic links included. */
static int open_beneath(const char *path)
{
	struct open_how how = { .flags = O_RDONLY | O_CLOEXEC, .resolve = RESOLVE_BENEATH };

	return syscall(SYS_openat2, root_fd, path, &how, sizeof(how));
}

static void on_request(struct ktls_conn *conn, ssize_t res, const void *data, void *c_)
{
	struct client *c = c_;
	struct ktls_info info;
	struct stat st;
	char *nl;

	if (res <= 0) { /* 0: the client's close_notify before a whole line */
		finish(c, res ? res : -ECONNRESET);
		return;
	}
	memcpy(c->req + c->req_len, data, res); /* at most what we asked for */
	c->req_len += res;
	c->req[c->req_len] = '\0';
	nl = strchr(c->req, '\n');
	if (nl == NULL) {
		if (c->req_len + 1 == sizeof(c->req) ||
		    ktls_conn_ring_recv(conn, sizeof(c->req) - 1 - c->req_len, 10000, on_request, c) < 0)
			finish(c, -EMSGSIZE);
		return;
	}
	*nl = '\0';
	c->file_fd = open_beneath(c->req);
	if (c->file_fd >= 0 && fstat(c->file_fd, &st) == 0 && S_ISREG(st.st_mode)) {
		c->size = st.st_size;
		snprintf(c->head, sizeof(c->head), "OK %lld\n", (long long)c->size);
	} else {
		/* RESOLVE_BENEATH answers EXDEV for a path that leaves ROOT. */
		snprintf(c->head, sizeof(c->head), "ERR %s\n",
			 c->file_fd >= 0 ? "not a regular file" :
			 errno == EXDEV ? "outside the root directory" : strerror(errno));
		if (c->file_fd >= 0)
			close(c->file_fd);
		c->file_fd = -1;
	}
	ktls_conn_get_info(conn, &info);
	printf("\"%s\" %.*s via %s\n", c->req, (int)strlen(c->head) - 1, c->head,
	       info.tx.kernel ? "kernel TLS" : "GnuTLS");
	if (ktls_conn_ring_send(conn, c->head, strlen(c->head), 30000, on_head, c) < 0)
		finish(c, -EIO);
}

static void on_handshake(struct ktls_conn *conn, ssize_t res, const void *data, void *c_)
{
	struct ktls_info info;

	if (res < 0) {
		finish(c_, res);
		return;
	}
	ktls_conn_get_info(conn, &info);
	printf("%s %s, TX key: %s, RX key: %s\n", info.version_name, info.cipher_name,
	       info.tx.kernel ? "kernel" : "userspace", info.rx.kernel ? "kernel" : "userspace");
	if (ktls_conn_ring_recv(conn, sizeof(((struct client *)c_)->req) - 1, 10000, on_request, c_) < 0)
		finish(c_, -EIO);
}

static void on_accept(struct ktls_ring *ring, int fd, void *userdata)
{
	struct client *c;

	if (fd < 0) /* an accept error; accepting goes on */
		return;
	c = calloc(1, sizeof(*c));
	if (c == NULL || ktls_conn_new(cfg, fd, KTLS_CONN_OWN_FD, &c->conn) < 0) {
		close(fd); /* on failure the fd is still ours */
		free(c);
		return;
	}
	c->file_fd = -1;
	if (ktls_conn_ring_attach(c->conn, ring) < 0 ||
	    ktls_conn_ring_handshake(c->conn, 10000, on_handshake, c) < 0)
		finish(c, -EIO);
}

int main(int argc, char **argv)
{
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(addr);
	struct ktls_ring *ring;
	int lfd;

	if (argc < 4 || argc > 5) {
		fprintf(stderr, "usage: ring-file-server CERT.pem KEY.pem ROOT [PORT]\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	root_fd = open(argv[3], O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root_fd < 0 || ktls_config_new(KTLS_ROLE_SERVER, &cfg) < 0 ||
	    ktls_config_add_cert_file(cfg, argv[1], argv[2]) < 0) {
		fprintf(stderr, "ring-file-server: %s\n", root_fd < 0 ? strerror(errno) :
			cfg ? ktls_config_error(cfg) : "out of memory");
		return 1;
	}
	addr.sin_port = htons(argc == 5 ? atoi(argv[4]) : 0);
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &(int){ 1 }, sizeof(int));
	if (bind(lfd, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(lfd, 128) < 0 ||
	    getsockname(lfd, (struct sockaddr *)&addr, &alen) < 0) {
		perror("ring-file-server: listen");
		return 1;
	}
	/* NULL: libktls owns the io_uring; ktls_ring_run() waits on it (and keeps
	 * the SIGPIPE a splice to a vanished peer raises from this process). */
	if (ktls_ring_new(NULL, 0, &ring) < 0 || ktls_ring_accept(ring, lfd, on_accept, NULL) < 0) {
		fprintf(stderr, "ring-file-server: cannot start the io_uring engine\n");
		return 1;
	}
	printf("listening on 127.0.0.1:%d, serving %s\n", ntohs(addr.sin_port), argv[3]);
	for (;;) { /* every callback above runs in here */
		int r = ktls_ring_run(ring, -1);

		if (r < 0 && r != -EINTR)
			return 1;
	}
}
