/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ktls serve: an HTTPS/1.1 static file server on the io_uring engine.
 *
 * One thread per --threads, each with its own ring and SO_REUSEPORT
 * listener.  A connection: multishot accept -> ring handshake -> read a
 * request head (idle timeout for its first byte, header timeout for the
 * rest) -> response head by send, body by sendfile (kernel splice when the
 * kernel holds the TX key, GnuTLS otherwise) -> the next request, or
 * close_notify.  Files are opened with openat2(RESOLVE_BENEATH) under the
 * root, so nothing outside it can be reached by "..", symlinks or absolute
 * paths, and with O_NONBLOCK, so that a FIFO cannot hold the thread.  Small
 * files stay in a per-thread cache revalidated by stat (file-cache.c).
 *
 * SIGTERM: the listeners close at once (new connections are refused),
 * handshakes in progress end with user_canceled and close_notify,
 * connections waiting for a request with close_notify, and responses get
 * --drain-timeout to finish; then every connection still there is cut with
 * close_notify.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <linux/tcp.h> /* struct tcp_info with tcpi_bytes_acked (glibc's has none) */
#include <malloc.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <liburing.h>

#include "file-cache.h"
#include "http.h"
#include "tool.h"

struct serve_opts {
	const char *root;
	const char *bind;
	uint16_t port;
	const char *cert, *key, *ca;
	struct tool_psk psk;    /* key_len 0: none; wiped once in the config */
	const char *ticket_key; /* file with the shared session-ticket key */
	enum ktls_offload offload;
	int threads;
	int max_conns;
	unsigned int handshake_ms, idle_ms, header_ms, send_ms;
	unsigned int drain_ms; /* after SIGTERM, for responses to finish */
	bool allow_static_rsa;
	bool quiet;
	bool json; /* the access log as JSON lines */
};

struct server {
	struct serve_opts o;
	struct ktls_config *config;
	int root_fd;
	bool made_cert; /* a self-signed one, in a temporary directory */
	pthread_mutex_t log_lock;
};

struct worker {
	struct server *srv;
	pthread_t thread;
	struct ktls_ring *ring;
	struct file_cache *cache; /* small files, this thread's own */
	int index;
	int listen_fd;
	bool accepting;
	bool accept_stopping; /* its -ECANCELED is on its way */
	bool stopping;
	bool cutting; /* the drain time is over: responses end with close_notify */
	int n_conns;
	int n_handshaking; /* of them, those whose handshake has not ended */
	int peak_conns; /* the most connections at once */
	struct sconn *conns;
	int ret;
};

enum sconn_state {
	SC_HANDSHAKE,
	SC_READ,     /* waiting for (the rest of) a request head */
	SC_RESPOND,  /* sending a response */
	SC_CLOSING,  /* close_notify on its way */
};

struct sconn {
	struct worker *w;
	struct ktls_conn *conn;
	enum sconn_state state;
	char peer[64];
	bool tx_kernel;
	bool handshaking; /* counted in w->n_handshaking */
	unsigned int record_overhead; /* bytes a TLS record adds to its plaintext */
	/*
	 * From a request's first byte to its response's log line: the request
	 * bytes, the response head and the logged request line.  An idle
	 * connection holds none.
	 */
	struct sreq *rq;
	size_t req_len;
	uint64_t head_deadline_ms;
	/* the response in progress */
	size_t head_len;
	int file_fd;
	off_t body_off;
	size_t body_len;
	uint64_t body_base; /* bytes written to the TCP stream before the body */
	struct file_blob *blob; /* a small file read whole (or cached): the body goes with the head */
	bool keep_alive;
	bool http10;
	bool closed; /* close_notify went with the response (KTLS_SEND_CLOSE) */
	int status;
	struct sconn *prev, *next;
};

struct sreq {
	char data[HTTP_HEADER_MAX]; /* request bytes (pipelined ones too) */
	char head[1024];            /* the response head, with an error's body */
	char log_req[400];          /* escaped: what the client sent is not printed raw */
};

/* How long close_notify may wait for room in the socket. */
#define SERVE_SHUTDOWN_MS 2000

static volatile sig_atomic_t serve_stop, serve_report;

static void serve_on_signal(int sig)
{
	if (sig == SIGUSR1)
		serve_report = 1;
	else
		serve_stop = 1;
}

/*
 * SIGUSR1: connections (and how many of them are still in their
 * handshake), the heap in use (malloc's own count, which unlike the RSS does
 * not include memory freed but kept by malloc) and the requests the file
 * caches answered.
 */
static void serve_print_report(struct server *srv, struct worker *workers, int n)
{
	struct mallinfo2 mi = mallinfo2();
	unsigned long hits = 0;
	int total = 0, handshaking = 0;

	for (int i = 0; i < n; i++) {
		total += workers[i].n_conns;
		handshaking += workers[i].n_handshaking;
		hits += file_cache_hits(workers[i].cache);
	}
	pthread_mutex_lock(&srv->log_lock);
	fprintf(stderr,
		"ktls serve: %d connections (%d in their handshake), heap in use %zu bytes, %lu file "
		"cache hits\n",
		total, handshaking, mi.uordblks + mi.hblkhd, hits);
	pthread_mutex_unlock(&srv->log_lock);
}

/*
 * The wall clock, read at most once a second on a worker's thread.  GnuTLS
 * reads it with time(2) about fifteen times per handshake (ticket ages and
 * lifetimes, certificate validity), and each response's Date needs it;
 * where time(2) is a real system call (user-mode Linux has no vDSO: about
 * 50 us each) that was a tenth of a new connection's cost, and once per
 * turn of the ring still three calls per connection.  A reading holds
 * until its second ends: a timeout on the worker's ring for what is left
 * of that second clears it (serve_clock_cqe), so what is returned is never
 * behind by more than the turn that is running.  Relative, on io_uring's
 * monotonic clock: a wall clock set back would hold an absolute one back
 * as long.  Threads without a ring (set-up) read the clock every time.
 */
#define SERVE_CLOCK_TAG 0x5eu /* the timeout's user_data (not libktls's tag) */

static __thread struct ktls_ring *clock_ring; /* the worker's, once it runs */
static __thread time_t clock_now;             /* this second; 0: read the clock */
static __thread struct __kernel_timespec clock_left; /* what is left of the second */
static __thread bool clock_timer_armed;

static time_t serve_time(time_t *t)
{
	time_t now = clock_now;

	if (now == 0) {
		struct timespec ts;
		struct io_uring_sqe *sqe;

		clock_gettime(CLOCK_REALTIME, &ts);
		now = ts.tv_sec;
		if (clock_ring != NULL && !clock_timer_armed &&
		    (sqe = io_uring_get_sqe(ktls_ring_uring(clock_ring))) != NULL) {
			/* Copied when the worker's next ktls_ring_run() submits it. */
			clock_left.tv_sec = 0;
			clock_left.tv_nsec = 1000000000L - ts.tv_nsec;
			io_uring_prep_timeout(sqe, &clock_left, 0, 0);
			io_uring_sqe_set_data64(sqe, SERVE_CLOCK_TAG);
			clock_timer_armed = true;
		}
		if (clock_timer_armed)
			clock_now = now;
	}
	if (t != NULL)
		*t = now;
	return now;
}

/* The worker's own completions on its ring: the clock's second is over. */
static void serve_clock_cqe(struct ktls_ring *ring, const struct io_uring_cqe *cqe,
			    void *userdata)
{
	(void)ring;
	(void)userdata;
	if (io_uring_cqe_get_data64(cqe) != SERVE_CLOCK_TAG)
		return;
	clock_timer_armed = false;
	clock_now = 0;
	if (cqe->res != -ETIME)
		clock_ring = NULL; /* refused: read the clock every time */
}

/* This thread runs @ring: serve_time() caches its readings from now on. */
static void serve_clock_start(struct ktls_ring *ring)
{
	clock_ring = ring;
	ktls_ring_set_cqe_callback(ring, serve_clock_cqe, NULL);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void serve_conn_read(struct sconn *c);
static void serve_conn_close(struct sconn *c, bool notify);

/* ---- access log --------------------------------------------------------- */

/*
 * The peer's address for the log lines, read at accept (a peer that has
 * gone can no longer be asked); --quiet logs nothing and saves the call.
 */
static void serve_note_peer(struct sconn *c, int fd)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char host[INET6_ADDRSTRLEN] = "?", port[8] = "?";

	if (getpeername(fd, (struct sockaddr *)&ss, &sl) == 0)
		getnameinfo((struct sockaddr *)&ss, sl, host, sizeof(host), port, sizeof(port),
			    NI_NUMERICHOST | NI_NUMERICSERV);
	snprintf(c->peer, sizeof(c->peer), "%s:%s", host, port);
}

static void serve_log_request(struct sconn *c, size_t body, const char *via)
{
	struct server *srv = c->w->srv;
	char date[32];

	if (srv->o.quiet)
		return;
	http_date_format(serve_time(NULL), date, sizeof(date));
	pthread_mutex_lock(&srv->log_lock);
	if (srv->o.json) {
		printf("{\"peer\": \"%s\", \"date\": \"%s\", \"request\": ", c->peer, date);
		json_string(stdout, c->rq->log_req);
		printf(", \"status\": %d, \"bytes\": %zu, \"via\": \"%s\"}\n", c->status, body, via);
	} else {
		printf("%s [%s] \"%s\" %d %zu via=%s\n", c->peer, date, c->rq->log_req, c->status,
		       body, via);
	}
	fflush(stdout);
	pthread_mutex_unlock(&srv->log_lock);
}

static void serve_log_error(struct sconn *c, const char *what, ssize_t err)
{
	struct server *srv = c->w->srv;

	if (srv->o.quiet)
		return;
	const char *msg = c->conn && ktls_conn_error(c->conn)[0] ? ktls_conn_error(c->conn)
								 : strerror((int)-err);
	size_t what_len = strlen(what);
	char text[600];

	/* The library's sentence may name the step already ("handshake: ..."). */
	if (strncmp(msg, what, what_len) == 0 && strncmp(msg + what_len, ": ", 2) == 0)
		msg += what_len + 2;

	/* A reason can quote the peer (a name it sent): escaped like the access log. */
	tool_escape(msg, strlen(msg), text, sizeof(text));
	pthread_mutex_lock(&srv->log_lock);
	fprintf(stderr, "ktls serve: %s: %s: %s\n", c->peer, what, text);
	pthread_mutex_unlock(&srv->log_lock);
}

/* ---- connection lifetime ------------------------------------------------ */

static void serve_conn_free(struct sconn *c)
{
	struct worker *w = c->w;

	if (c->file_fd >= 0)
		close(c->file_fd);
	ktls_conn_free(c->conn);
	free(c->rq);
	file_blob_unref(c->blob);
	if (c->prev)
		c->prev->next = c->next;
	else
		w->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	w->n_conns--;
	if (c->handshaking)
		w->n_handshaking--;
	free(c);
}

static void serve_on_shutdown(struct ktls_conn *conn, ssize_t result, const void *data,
			      void *userdata)
{
	(void)conn;
	(void)result;
	(void)data;
	serve_conn_free(userdata);
}

/* End the connection, with close_notify when the TLS session is sound. */
static void serve_conn_close(struct sconn *c, bool notify)
{
	c->state = SC_CLOSING;
	if (!notify || ktls_conn_ring_shutdown(c->conn, SERVE_SHUTDOWN_MS, serve_on_shutdown, c) < 0)
		serve_conn_free(c);
}

/* ---- responses ---------------------------------------------------------- */

/*
 * Bytes of the TCP stream so far: those the peer acknowledged, and with
 * @queued_too all that was written (sent once, plus not sent yet): one
 * TCP_INFO either way.
 */
static uint64_t serve_tcp_bytes(struct sconn *c, bool queued_too)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	memset(&ti, 0, sizeof(ti));
	if (getsockopt(ktls_conn_fd(c->conn), IPPROTO_TCP, TCP_INFO, &ti, &len) != 0 ||
	    len < offsetof(struct tcp_info, tcpi_bytes_retrans) + sizeof(ti.tcpi_bytes_retrans))
		return 0;
	if (!queued_too)
		return ti.tcpi_bytes_acked;
	return ti.tcpi_bytes_sent - ti.tcpi_bytes_retrans + ti.tcpi_notsent_bytes;
}

/*
 * How much of a body cut short goes to the client: the whole records since
 * the head that its TCP acknowledged (@queued_too false: the connection is
 * broken), or that are in the stream at all (true: close_notify follows them).
 * Full 16 KiB records, as the kernel and GnuTLS fill them.  An estimate, as a
 * failed sendfile does not say how far it got; never more than the body.
 */
static size_t serve_body_sent(struct sconn *c, bool queued_too)
{
	uint64_t now = serve_tcp_bytes(c, queued_too), records;

	records = (now > c->body_base ? now - c->body_base : 0) / (16384 + c->record_overhead);
	return records * 16384 < c->body_len ? (size_t)(records * 16384) : c->body_len;
}

/* A response went out whole: the next request, or close_notify (unless it went along). */
static void serve_response_done(struct sconn *c)
{
	if (c->closed)
		serve_conn_free(c);
	else if (c->keep_alive && !c->w->stopping)
		serve_conn_read(c);
	else
		serve_conn_close(c, true);
}

static void serve_on_body(struct ktls_conn *conn, ssize_t result, const void *data,
			  void *userdata)
{
	struct sconn *c = userdata;
	const char *via = c->tx_kernel ? "kernel-splice" : "userspace";

	(void)conn;
	(void)data;
	close(c->file_fd);
	c->file_fd = -1;
	if (result == -ECANCELED && c->w->cutting) {
		/* Past the drain time: what is in the stream goes, close_notify after it. */
		serve_log_request(c, serve_body_sent(c, true), via);
		serve_conn_close(c, true);
		return;
	}
	if (result < 0) {
		/* The client vanished or stalled mid-body: the stream is broken. */
		serve_log_request(c, serve_body_sent(c, false), via);
		serve_log_error(c, "sending the file", result);
		serve_conn_close(c, false);
		return;
	}
	serve_log_request(c, (size_t)result, via);
	serve_response_done(c);
}

static void serve_on_head(struct ktls_conn *conn, ssize_t result, const void *data,
			  void *userdata)
{
	struct sconn *c = userdata;
	int ret;

	(void)data;
	if (result < 0) {
		serve_log_request(c, 0, "none");
		if (result == -ECANCELED && c->w->cutting) {
			serve_conn_close(c, true);
			return;
		}
		serve_log_error(c, "sending the response head", result);
		serve_conn_close(c, false);
		return;
	}
	if (c->blob != NULL) {
		/* The body went with the head. */
		file_blob_unref(c->blob);
		c->blob = NULL;
		serve_log_request(c, (size_t)result - c->head_len,
				  c->tx_kernel ? "kernel-send" : "userspace");
		serve_response_done(c);
		return;
	}
	if (c->file_fd >= 0 && c->body_len > 0) {
		/* The head waits in the open record (KTLS_SEND_MORE): not in the stream yet. */
		c->body_base = serve_tcp_bytes(c, true) + c->head_len;
		ret = ktls_conn_ring_sendfile(conn, c->file_fd, c->body_off, c->body_len,
					      c->w->srv->o.send_ms, serve_on_body, c);
		if (ret < 0) {
			serve_log_error(c, "sendfile", ret);
			serve_conn_close(c, false);
		}
		return;
	}
	if (c->file_fd >= 0) {
		close(c->file_fd);
		c->file_fd = -1;
	}
	/* Error bodies are part of the head buffer. */
	serve_log_request(c, c->status >= 400 ? strlen(http_status_text(c->status)) + 1 : 0,
			  "none");
	serve_response_done(c);
}

/*
 * A file this small is read into memory (and kept in the thread's file
 * cache) and goes out with its head in one gather send, where a splice
 * would cost a pipe and two ring operations (file to pipe, pipe to socket)
 * per piece: on Linux 7.2, 64 KiB keep-alive requests went from 0.85x
 * nginx's rate to 1.13x.  The kernel copies the bytes once more than a
 * splice, which next to AES-GCM is noise.  Larger bodies are spliced, the
 * head waiting in the open record (KTLS_SEND_MORE) so that it shares the
 * first one with the body.
 */
#define SERVE_INLINE_BODY_MAX 65536
/* Bodies each thread keeps in its file cache. */
#define SERVE_FILE_CACHE_BYTES (4u << 20)

/*
 * The whole small file in c->blob, offered to the cache, and its descriptor
 * closed; where it cannot be read whole, the body is spliced like a big one.
 */
static void serve_read_small_file(struct sconn *c, const char *path, bool index,
				  const struct stat *st, time_t now)
{
	struct file_blob *b = file_blob_new((size_t)st->st_size);
	struct stat after;
	size_t got = 0;

	while (b != NULL && got < b->len) {
		ssize_t n = pread(c->file_fd, b->data + got, b->len - got, (off_t)got);

		if (n <= 0 && !(n < 0 && errno == EINTR)) {
			file_blob_unref(b);
			b = NULL;
		} else if (n > 0) {
			got += (size_t)n;
		}
	}
	if (b == NULL)
		return;
	if (fstat(c->file_fd, &after) == 0)
		file_cache_put(c->w->cache, path, index, st, &after, now, b);
	close(c->file_fd);
	c->file_fd = -1;
	c->blob = b;
}

static void serve_send_head(struct sconn *c)
{
	bool body = c->body_len > 0 && (c->blob != NULL || c->file_fd >= 0);
	struct iovec iov[2] = { { c->rq->head, c->head_len }, { NULL, 0 } };
	unsigned int flags = 0;
	int ret;

	c->state = SC_RESPOND;
	if (body && c->blob != NULL) {
		iov[1].iov_base = c->blob->data + c->body_off;
		iov[1].iov_len = c->body_len;
	} else if (body && fcntl(c->file_fd, F_SETFL, 0) != 0) {
		/* O_NONBLOCK off (the only status flag the file has). */
		serve_log_error(c, "fcntl", -errno);
		serve_conn_close(c, false);
		return;
	}
	/*
	 * A file to splice follows the head in its record; a response that is
	 * the connection's last takes close_notify along (no turn of its own).
	 */
	if (body && c->blob == NULL)
		flags = KTLS_SEND_MORE;
	else if (!c->keep_alive)
		flags = KTLS_SEND_CLOSE;
	ret = ktls_conn_ring_sendv(c->conn, iov, iov[1].iov_len > 0 ? 2 : 1, flags,
				   c->w->srv->o.send_ms, serve_on_head, c);
	c->closed = ret == 0 && flags == KTLS_SEND_CLOSE;
	if (ret < 0) {
		serve_log_error(c, "send", ret);
		serve_conn_close(c, false);
	}
}

/*
 * HTTP/1.1 stays open unless it says otherwise; an HTTP/1.0 client asked for
 * keep-alive and must be told it got it (RFC 9112 section 9.3, appendix C.2.2).
 */
static const char *serve_connection_header(const struct sconn *c)
{
	if (!c->keep_alive)
		return "Connection: close\r\n";
	return c->http10 ? "Connection: keep-alive\r\n" : "";
}

/* A response without a file: an error, or 304. */
/* @extra: more header lines ("" for none). */
static void serve_respond_status(struct sconn *c, int status, bool head_only, const char *extra)
{
	const char *text = http_status_text(status);
	char date[32];
	size_t n;

	c->status = status;
	if (status >= 400 && status != 404 && status != 403 && status != 416 && status != 503)
		c->keep_alive = false;
	http_date_format(serve_time(NULL), date, sizeof(date));
	n = (size_t)snprintf(c->rq->head, sizeof(c->rq->head),
			     "HTTP/1.1 %d %s\r\nServer: ktls\r\nDate: %s\r\n%s%s%s", status, text,
			     date, status == 405 ? "Allow: GET, HEAD\r\n" : "", extra,
			     serve_connection_header(c));
	if (status == 304) {
		n += (size_t)snprintf(c->rq->head + n, sizeof(c->rq->head) - n, "\r\n");
	} else {
		n += (size_t)snprintf(c->rq->head + n, sizeof(c->rq->head) - n,
				      "Content-Type: text/plain; charset=utf-8\r\n"
				      "Content-Length: %zu\r\n\r\n%s",
				      strlen(text) + 1, head_only ? "" : text);
		if (!head_only)
			n += (size_t)snprintf(c->rq->head + n, sizeof(c->rq->head) - n, "\n");
	}
	c->head_len = n < sizeof(c->rq->head) ? n : sizeof(c->rq->head) - 1;
	serve_send_head(c);
}

/* Why a file could not be opened, as a status: a missing file, a refused one, or us. */
static int serve_open_status(int err)
{
	switch (err) {
	case ENOENT:
	case ENOTDIR:
	case ENAMETOOLONG:
		return -404;
	case EMFILE:
	case ENFILE:
	case ENOMEM:
		return -503; /* out of descriptors or memory: try again later */
	default:
		return -403; /* EXDEV (out of the root), ELOOP, EACCES... */
	}
}

/* @index: @path was a directory, and the file is its index.html. */
static int serve_open(struct server *srv, const char *path, int *ret_fd, struct stat *st,
		      bool *index)
{
	/*
	 * O_NONBLOCK: opening a FIFO for reading waits for a writer, and would
	 * hold this thread and every connection on it.  Only regular files are
	 * served; they are read blocking again (an io_uring read of an O_NONBLOCK
	 * file returns -EAGAIN where the page cache misses).
	 */
	struct open_how how = {
		.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
	};
	int fd = (int)syscall(SYS_openat2, srv->root_fd, path[0] ? path : ".", &how, sizeof(how));

	if (fd < 0)
		return serve_open_status(errno);
	if (fstat(fd, st) != 0) {
		close(fd);
		return -403;
	}
	if (S_ISDIR(st->st_mode)) {
		int index_fd = (int)syscall(SYS_openat2, fd, "index.html", &how, sizeof(how));

		close(fd);
		if (index_fd < 0)
			return serve_open_status(errno);
		fd = index_fd;
		*index = true;
		if (fstat(fd, st) != 0) {
			close(fd);
			return -403;
		}
	}
	if (!S_ISREG(st->st_mode)) {
		close(fd);
		return -403;
	}
	/* Still O_NONBLOCK: a small body is read with pread(2), on which it has no
	 * effect; serve_send_head() clears it before a splice, which honours it. */
	*ret_fd = fd;
	return 0;
}

/* A file opened or cached for a response that does not send it. */
static void serve_file_drop(int fd, struct file_blob *cached)
{
	if (fd >= 0)
		close(fd);
	file_blob_unref(cached);
}

static void serve_handle(struct sconn *c, const struct http_request *req)
{
	char path[HTTP_URI_MAX + 1], date[32], mtime[32], range[96] = "";
	bool head_only = req->method == HTTP_METHOD_HEAD, index = false;
	struct file_blob *cached = NULL;
	uint64_t first = 0, last = 0;
	time_t now;
	struct stat st;
	int ret, fd = -1, status = 200;

	c->keep_alive = req->keep_alive;
	c->http10 = req->minor == 0;
	if (req->method == HTTP_METHOD_OTHER) {
		serve_respond_status(c, 405, false, "");
		return;
	}
	ret = http_target_path(req->target, path, sizeof(path));
	if (ret == 0 && (cached = file_cache_get(c->w->cache, path, &st)) == NULL)
		ret = serve_open(c->w->srv, path, &fd, &st, &index);
	if (ret < 0) {
		serve_respond_status(c, -ret, head_only, "");
		return;
	}
	if (req->has_if_modified_since && !req->has_range && st.st_mtime <= req->if_modified_since) {
		serve_file_drop(fd, cached);
		serve_respond_status(c, 304, true, "");
		return;
	}
	if (req->has_range) {
		ret = http_parse_range(req->range, (uint64_t)st.st_size, &first, &last);
		if (ret < 0) {
			serve_file_drop(fd, cached);
			snprintf(range, sizeof(range), "Content-Range: bytes */%llu\r\n",
				 (unsigned long long)st.st_size);
			serve_respond_status(c, 416, head_only, range);
			return;
		}
		if (ret > 0) {
			status = 206;
			snprintf(range, sizeof(range), "Content-Range: bytes %llu-%llu/%llu\r\n",
				 (unsigned long long)first, (unsigned long long)last,
				 (unsigned long long)st.st_size);
		}
	}
	if (status == 200) {
		first = 0;
		last = st.st_size > 0 ? (uint64_t)st.st_size - 1 : 0;
	}
	now = serve_time(NULL);
	c->status = status;
	c->file_fd = fd;
	c->blob = cached;
	c->body_off = (off_t)first;
	c->body_len = st.st_size > 0 ? (size_t)(last - first + 1) : 0;
	if (c->blob == NULL && !head_only && st.st_size > 0 && st.st_size <= SERVE_INLINE_BODY_MAX)
		serve_read_small_file(c, path, index, &st, now);
	http_date_format(now, date, sizeof(date));
	http_date_format(st.st_mtime, mtime, sizeof(mtime));
	c->head_len = (size_t)snprintf(
		c->rq->head, sizeof(c->rq->head),
		"HTTP/1.1 %d %s\r\nServer: ktls\r\nDate: %s\r\nLast-Modified: %s\r\n"
		"Content-Type: %s\r\nContent-Length: %zu\r\nAccept-Ranges: bytes\r\n%s%s\r\n",
		status, http_status_text(status), date, mtime, http_mime_type(path), c->body_len,
		range, serve_connection_header(c));
	if (head_only)
		c->body_len = 0;
	serve_send_head(c);
}

/* ---- requests ----------------------------------------------------------- */

/* The request for the log, with everything a terminal could act on escaped. */
static void serve_log_target(struct sconn *c, const struct http_request *req)
{
	char raw[300];
	int n = snprintf(raw, sizeof(raw), req->target[0] ? "%s %.256s" : "%s", req->method_name,
			 req->target);

	tool_escape(raw, n > 0 && (size_t)n < sizeof(raw) ? (size_t)n : sizeof(raw) - 1, c->rq->log_req,
		    sizeof(c->rq->log_req));
}

/* Try to answer a request from what has arrived; returns true when one was handled. */
static bool serve_try_request(struct sconn *c)
{
	struct http_request req;
	int ret;

	if (c->req_len == 0)
		return false;
	ret = http_parse_request(c->rq->data, c->req_len, &req);
	if (ret == 0)
		return false;
	serve_log_target(c, &req);
	if (ret < 0) {
		c->keep_alive = false;
		c->req_len = 0;
		serve_respond_status(c, -ret, false, "");
		return true;
	}
	/* Pipelined bytes after this head stay for the next request. */
	memmove(c->rq->data, c->rq->data + ret, c->req_len - (size_t)ret);
	c->req_len -= (size_t)ret;
	c->head_deadline_ms = c->req_len > 0 ? now_ms() + c->w->srv->o.header_ms : 0;
	serve_handle(c, &req);
	return true;
}

static void serve_on_recv(struct ktls_conn *conn, ssize_t result, const void *data,
			  void *userdata)
{
	struct sconn *c = userdata;

	(void)conn;
	if (result == -ETIMEDOUT) {
		if (c->req_len > 0) {
			/* Slowloris: a head that does not finish in time. */
			snprintf(c->rq->log_req, sizeof(c->rq->log_req), "-");
			c->keep_alive = false;
			c->req_len = 0;
			serve_respond_status(c, 408, false, "");
		} else {
			serve_conn_close(c, true); /* idle keep-alive connection */
		}
		return;
	}
	if (result == -ECANCELED) {
		serve_conn_close(c, true); /* the server is stopping */
		return;
	}
	if (result <= 0) {
		/* close_notify (0), or the peer went away */
		if (result < 0 && result != -ECONNRESET)
			serve_log_error(c, "receive", result);
		serve_conn_close(c, result == 0);
		return;
	}
	if (c->rq == NULL) {
		c->rq = malloc(sizeof(*c->rq));
		if (c->rq == NULL) {
			serve_conn_close(c, true);
			return;
		}
	}
	bool first_bytes = c->req_len == 0;

	memcpy(c->rq->data + c->req_len, data, (size_t)result);
	c->req_len += (size_t)result;
	if (serve_try_request(c))
		return;
	/* The header timeout runs from a head's first bytes (read only when the
	 * head is not whole: most arrive in one piece). */
	if (first_bytes)
		c->head_deadline_ms = now_ms() + c->w->srv->o.header_ms;
	serve_conn_read(c);
}

static void serve_conn_read(struct sconn *c)
{
	unsigned int timeout;
	int ret;

	c->state = SC_READ;
	c->status = 0;
	if (serve_try_request(c))
		return;
	if (c->req_len == 0) {
		/* An idle connection holds no request buffer. */
		free(c->rq);
		c->rq = NULL;
		timeout = c->w->srv->o.idle_ms;
	} else {
		uint64_t now = now_ms();

		timeout = c->head_deadline_ms > now ? (unsigned int)(c->head_deadline_ms - now) : 1;
	}
	ret = ktls_conn_ring_recv(c->conn, HTTP_HEADER_MAX - c->req_len, timeout, serve_on_recv, c);
	if (ret < 0) {
		serve_log_error(c, "recv", ret);
		serve_conn_close(c, false);
	}
}

static void serve_on_handshake(struct ktls_conn *conn, ssize_t result, const void *data,
			       void *userdata)
{
	struct sconn *c = userdata;
	struct ktls_info info;

	(void)data;
	c->handshaking = false;
	c->w->n_handshaking--;
	if (result < 0) {
		if (result == -ECANCELED && c->w->stopping) {
			/* Stopped by SIGTERM: the client gets user_canceled and close_notify. */
			serve_conn_close(c, true);
			return;
		}
		if (result != -ECANCELED)
			serve_log_error(c, "handshake", result);
		serve_conn_free(c);
		return;
	}
	if (ktls_conn_get_info(conn, &info) == 0) {
		c->tx_kernel = info.tx.kernel;
		/* header 5, AEAD tag 16; TLS 1.3 the content type, TLS 1.2 GCM/CCM an explicit nonce */
		c->record_overhead = info.version == KTLS_VERSION_TLS13 ? 22
				     : info.cipher == KTLS_CIPHER_CHACHA20_POLY1305 ? 21 : 29;
	}
	if (c->w->stopping) {
		serve_conn_close(c, true);
		return;
	}
	serve_conn_read(c);
}

static void serve_on_accept(struct ktls_ring *ring, int fd, void *userdata)
{
	struct worker *w = userdata;
	struct sconn *c;
	int ret;

	(void)ring;
	if (fd < 0) {
		if (fd == -ECANCELED) {
			/* Stopping: without a listener, new connections are refused, not left queued. */
			w->accepting = false;
			close(w->listen_fd);
			w->listen_fd = -1;
		} else if (!w->srv->o.quiet)
			fprintf(stderr, "ktls serve: accept: %s\n", strerror(-fd));
		return;
	}
	if (w->stopping || w->n_conns >= w->srv->o.max_conns) {
		close(fd);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		close(fd);
		return;
	}
	c->w = w;
	c->file_fd = -1;
	if (!w->srv->o.quiet)
		serve_note_peer(c, fd);
	c->next = w->conns;
	if (w->conns)
		w->conns->prev = c;
	w->conns = c;
	if (++w->n_conns > w->peak_conns)
		w->peak_conns = w->n_conns;
	ret = ktls_conn_new(w->srv->config, fd, KTLS_CONN_OWN_FD, &c->conn);
	if (ret < 0) {
		close(fd);
		serve_conn_free(c);
		return;
	}
	c->state = SC_HANDSHAKE;
	c->handshaking = true;
	w->n_handshaking++;
	ret = ktls_conn_ring_attach(c->conn, w->ring);
	if (ret == 0)
		ret = ktls_conn_ring_handshake(c->conn, w->srv->o.handshake_ms, serve_on_handshake, c);
	if (ret < 0) {
		serve_log_error(c, "handshake", ret);
		serve_conn_free(c);
	}
}

/* ---- threads ------------------------------------------------------------ */

static int serve_listen(const struct serve_opts *o)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE | AI_NUMERICHOST };
	struct addrinfo *ai;
	char port[8];
	int fd, one = 1, ret;

	snprintf(port, sizeof(port), "%u", o->port);
	ret = getaddrinfo(o->bind, port, &hints, &ai);
	if (ret != 0) {
		fprintf(stderr, "ktls serve: bind address %s: %s\n", o->bind, gai_strerror(ret));
		return -EINVAL;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0 ||
	    /*
	     * A response is a head and a body: with Nagle the body's first short
	     * segment waits for the ACK of the head, which the client delays
	     * (40 ms), and small keep-alive requests crawl at 25/s.  Accepted
	     * sockets inherit TCP_NODELAY from the listener: no call per
	     * connection.
	     */
	    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0 ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 4096) != 0) {
		ret = -errno;
		fprintf(stderr, "ktls serve: listening on %s port %u: %s\n", o->bind, o->port,
			strerror(errno));
		if (fd >= 0)
			close(fd);
		freeaddrinfo(ai);
		return ret;
	}
	freeaddrinfo(ai);
	return fd;
}

static void serve_worker_stop_accepting(struct worker *w)
{
	int ret;

	if (!w->accepting || w->accept_stopping)
		return;
	ret = ktls_ring_accept_stop(w->ring, w->listen_fd);
	if (ret == 0) {
		w->accept_stopping = true;
	} else if (ret != -EBUSY) { /* -EBUSY: no SQE free now, the worker loop tries again */
		w->accepting = false;
		close(w->listen_fd);
		w->listen_fd = -1;
	}
}

/*
 * Stop accepting (the listener closes once the accept is cancelled); end the
 * handshakes in progress (user_canceled, close_notify) and the connections
 * waiting for a request (close_notify); let responses finish.
 */
static void serve_worker_stop(struct worker *w)
{
	w->stopping = true;
	serve_worker_stop_accepting(w);
	for (struct sconn *c = w->conns; c != NULL; c = c->next)
		if (c->state == SC_READ || c->state == SC_HANDSHAKE)
			ktls_conn_ring_cancel(c->conn);
}

/* The drain time is over: cut the responses still running, with close_notify. */
static void serve_worker_cut(struct worker *w)
{
	w->cutting = true;
	for (struct sconn *c = w->conns; c != NULL; c = c->next)
		if (c->state != SC_CLOSING)
			ktls_conn_ring_cancel(c->conn);
}

static void *serve_worker(void *arg)
{
	struct worker *w = arg;
	uint64_t cut_at = 0, give_up = 0;
	int ret;

	serve_clock_start(w->ring);
	while (w->accepting || w->n_conns > 0) {
		if (serve_stop && !w->stopping) {
			serve_worker_stop(w);
			cut_at = now_ms() + w->srv->o.drain_ms;
		}
		if (w->stopping)
			serve_worker_stop_accepting(w);
		if (cut_at && !w->cutting && now_ms() >= cut_at) {
			serve_worker_cut(w);
			/* close_notify gets SERVE_SHUTDOWN_MS; a connection still there after is dropped */
			give_up = now_ms() + SERVE_SHUTDOWN_MS + 1000;
		}
		if (give_up && now_ms() > give_up)
			break;
		if (serve_report && w->index == 0) {
			serve_report = 0;
			serve_print_report(w->srv, w - w->index, w->srv->o.threads);
		}
		ret = ktls_ring_run(w->ring, 200);
		if (ret < 0 && ret != -EINTR) {
			fprintf(stderr, "ktls serve: io_uring: %s\n", strerror(-ret));
			w->ret = 1;
			break;
		}
	}
	while (w->conns != NULL)
		serve_conn_free(w->conns);
	/*
	 * The ring goes with the thread that ran it: io_uring takes its
	 * cancel-and-reap only from that thread (SINGLE_ISSUER).
	 */
	ktls_ring_free(w->ring);
	w->ring = NULL;
	return NULL;
}

/* ---- set-up ------------------------------------------------------------- */

static int serve_config(struct server *srv, char *tmpdir)
{
	struct serve_opts *o = &srv->o;
	const char *cert = o->cert, *key = o->key;
	char cert_path[512], key_path[512], fp[128];
	int ret;

	ret = ktls_config_new(KTLS_ROLE_SERVER, &srv->config);
	if (ret < 0)
		return ret;
	if (cert == NULL && o->psk.key_len == 0) {
		if (mkdtemp(tmpdir) == NULL)
			return -errno;
		srv->made_cert = true;
		ret = tool_selfsigned(tmpdir, "localhost", TOOL_KEY_ECDSA_P256, fp, sizeof(fp));
		if (ret < 0) {
			fprintf(stderr, "ktls serve: generating a certificate: %s\n", strerror(-ret));
			return ret;
		}
		snprintf(cert_path, sizeof(cert_path), "%s/cert.pem", tmpdir);
		snprintf(key_path, sizeof(key_path), "%s/key.pem", tmpdir);
		cert = cert_path;
		key = key_path;
		fprintf(stderr, "ktls serve: self-signed certificate for localhost, SHA-256 %s\n", fp);
	}
	if (cert != NULL && (ret = ktls_config_add_cert_file(srv->config, cert, key ? key : cert)) < 0)
		goto fail;
	if (o->ca != NULL &&
	    ((ret = ktls_config_set_ca_file(srv->config, o->ca)) < 0 ||
	     (ret = ktls_config_set_client_auth(srv->config, KTLS_CLIENT_AUTH_REQUIRE)) < 0))
		goto fail;
	if (o->psk.key_len > 0) {
		ret = ktls_config_add_psk(srv->config, o->psk.identity, o->psk.key, o->psk.key_len);
		tool_psk_wipe(&o->psk);
		if (ret < 0)
			goto fail;
	}
	if (o->ticket_key != NULL) {
		unsigned char k[KTLS_TICKET_KEY_SIZE + 1];
		FILE *f = fopen(o->ticket_key, "re");
		size_t n = f != NULL ? fread(k, 1, sizeof(k), f) : 0;

		if (f != NULL)
			fclose(f);
		/* Exactly the key: a longer file is probably not one. */
		ret = n == KTLS_TICKET_KEY_SIZE ? ktls_config_set_ticket_key(srv->config, k, n) : -EINVAL;
		explicit_bzero(k, sizeof(k));
		if (ret < 0) {
			fprintf(stderr, "ktls serve: --ticket-key %s: %s\n", o->ticket_key,
				f == NULL ? strerror(errno)
					  : "need a file of exactly 64 bytes (head -c 64 /dev/urandom)");
			return -EINVAL;
		}
	}
	if ((ret = ktls_config_set_alpn(srv->config, "http/1.1")) < 0 ||
	    (ret = ktls_config_set_offload(srv->config, KTLS_DIR_BOTH, o->offload)) < 0)
		goto fail;
	/* The library leaves static RSA (no forward secrecy) out unless asked. */
	if (o->allow_static_rsa && (ret = ktls_config_set_priority(srv->config, ":+RSA")) < 0)
		goto fail;
	return 0;
fail:
	fprintf(stderr, "ktls serve: %s\n", ktls_config_error(srv->config));
	return ret;
}

static void serve_usage(FILE *out)
{
	fprintf(out,
		"Usage: ktls serve [options] [DIR]\n\n"
		"HTTPS/1.1 static file server on libktls's io_uring engine (GET, HEAD, ranges,\n"
		"keep-alive).  Files are sent by kernel TLS splice when the kernel holds the key.\n\n"
		"  DIR, -r, --root DIR       directory to serve (default: .)\n"
		"  -p, --port PORT           TCP port, 1 to 65535 (default: 8443)\n"
		"  -b, --bind ADDR           address to listen on (default: 0.0.0.0)\n"
		"      --cert FILE           certificate chain (PEM); without one a self-signed\n"
		"      --key FILE            certificate for localhost is made at start\n"
		"      --ca FILE             require client certificates issued by these CAs\n"
		"      --psk ID:HEXKEY       accept this TLS 1.3 external PSK (16 to 64 key bytes;\n"
		"                            the identity ends at the last ':')\n"
		"      --psk-file FILE       the same from FILE, one line (keeps the key out of ps)\n"
		"      --ticket-key FILE     session-ticket key (64 bytes) shared with other\n"
		"                            servers, so they resume each other's sessions\n"
		"      --offload MODE        auto (default), require, off\n"
		"  -t, --threads N           threads, each with its own ring and listener (1..256;\n"
		"                            default 1)\n"
		"      --max-conns N         connections per thread (default 10000)\n"
		"      --handshake-timeout S handshake limit (10)\n"
		"      --idle-timeout S      keep-alive connection without a request (30)\n"
		"      --header-timeout S    limit for a request head once it began (10)\n"
		"      --send-timeout S      a response that makes no progress (30)\n"
		"      --drain-timeout S     after SIGTERM, for responses to finish (10)\n"
		"      --allow-static-rsa    also offer TLS 1.2 static RSA key exchange, which\n"
		"                            has no forward secrecy (off: ECDHE and DHE only)\n"
		"  -j, --json                the access log as JSON, one object per line\n"
		"  -q, --quiet               no access log\n\n"
		"Seconds may have a fraction (0.5).  Access log on stdout, one line per request:\n"
		"peer [date] \"request\" status bytes via=kernel-splice|kernel-send|userspace|none.\n"
		"SIGINT/SIGTERM: close the listener (new connections are refused), end handshakes\n"
		"(user_canceled) and idle connections, give responses --drain-timeout, then\n"
		"close every connection with close_notify.\n"
		"SIGUSR1: print connections, heap use and file cache hits.  Files of up to\n"
		"64 KiB are kept in memory per thread while a stat of their path shows them\n"
		"unchanged.\n");
}

/* Returns 0, -1 after --help or --version, or the usage error's exit status. */
static int serve_parse_args(int argc, char **argv, struct serve_opts *o)
{
	static const struct option options[] = {
		{ "root", required_argument, NULL, 'r' },
		{ "port", required_argument, NULL, 'p' },
		{ "bind", required_argument, NULL, 'b' },
		{ "cert", required_argument, NULL, 'C' },
		{ "key", required_argument, NULL, 'K' },
		{ "ca", required_argument, NULL, 'A' },
		{ "psk", required_argument, NULL, 'P' },
		{ "psk-file", required_argument, NULL, 'F' },
		{ "ticket-key", required_argument, NULL, 'T' },
		{ "offload", required_argument, NULL, 'O' },
		{ "threads", required_argument, NULL, 't' },
		{ "max-conns", required_argument, NULL, 'M' },
		{ "handshake-timeout", required_argument, NULL, 'H' },
		{ "idle-timeout", required_argument, NULL, 'I' },
		{ "header-timeout", required_argument, NULL, 'R' },
		{ "send-timeout", required_argument, NULL, 'S' },
		{ "drain-timeout", required_argument, NULL, 'D' },
		{ "allow-static-rsa", no_argument, NULL, 'W' },
		{ "json", no_argument, NULL, 'j' },
		{ "quiet", no_argument, NULL, 'q' },
		TOOL_OPTIONS_COMMON,
		{ NULL, 0, NULL, 0 },
	};
	const char *root = NULL;
	char err[300];
	int opt;

	while ((opt = tool_getopt(argc, argv, "serve", "r:p:b:t:jqh", options)) != -1) {
		unsigned int *ms = NULL;
		const char *name = NULL;
		uint64_t v;

		switch (opt) {
		case 'r':
			if (root != NULL)
				return tool_usage_error("serve", "one root directory");
			root = optarg;
			break;
		case 'p':
			if (tool_parse_port(optarg, &o->port, err, sizeof(err)) < 0)
				return tool_usage_error("serve", "--port: %s", err);
			break;
		case 'b': o->bind = optarg; break;
		case 'C': o->cert = optarg; break;
		case 'K': o->key = optarg; break;
		case 'A': o->ca = optarg; break;
		case 'P': {
			int r;

			if (o->psk.key_len > 0)
				return tool_usage_error("serve", "one --psk or --psk-file");
			r = tool_parse_psk(optarg, strlen(optarg), &o->psk, err, sizeof(err));
			explicit_bzero(optarg, strlen(optarg)); /* out of ps(1) */
			if (r < 0)
				return tool_usage_error("serve", "--psk: %s", err);
			break;
		}
		case 'F':
			if (o->psk.key_len > 0)
				return tool_usage_error("serve", "one --psk or --psk-file");
			if (tool_read_psk_file(optarg, &o->psk, err, sizeof(err)) < 0)
				return tool_usage_error("serve", "--psk-file: %s", err);
			break;
		case 'T': o->ticket_key = optarg; break;
		case 'O':
			if (tool_parse_offload(optarg, &o->offload, err, sizeof(err)) < 0)
				return tool_usage_error("serve", "--offload: %s", err);
			break;
		case 't':
			if (tool_parse_uint(optarg, 1, 256, &v, err, sizeof(err)) < 0)
				return tool_usage_error("serve", "--threads: %s", err);
			o->threads = (int)v;
			break;
		case 'M':
			if (tool_parse_uint(optarg, 1, 1000000, &v, err, sizeof(err)) < 0)
				return tool_usage_error("serve", "--max-conns: %s", err);
			o->max_conns = (int)v;
			break;
		case 'H': ms = &o->handshake_ms; name = "--handshake-timeout"; break;
		case 'I': ms = &o->idle_ms; name = "--idle-timeout"; break;
		case 'R': ms = &o->header_ms; name = "--header-timeout"; break;
		case 'S': ms = &o->send_ms; name = "--send-timeout"; break;
		case 'D': ms = &o->drain_ms; name = "--drain-timeout"; break;
		case 'W': o->allow_static_rsa = true; break;
		case 'j': o->json = true; break;
		case 'q': o->quiet = true; break;
		case 'h': serve_usage(stdout); return -1;
		case TOOL_OPT_VERSION: tool_print_version(); return -1;
		default: return TOOL_EXIT_USAGE;
		}
		/* 0 would mean "no limit" to the engine: the smallest is 1 ms (the drain may be 0). */
		if (ms != NULL) {
			if (tool_parse_seconds(optarg, opt == 'D' ? 0 : 1, 86400000, &v, err,
					       sizeof(err)) < 0)
				return tool_usage_error("serve", "%s: %s", name, err);
			*ms = (unsigned int)v;
		}
	}
	/* The root as the last argument too, as other static file servers take it. */
	if (optind < argc) {
		if (root != NULL)
			return tool_usage_error("serve", "one root directory: '%s' and '%s'", root,
						argv[optind]);
		root = argv[optind++];
	}
	if (optind < argc)
		return tool_usage_error("serve", "unexpected argument '%s'", argv[optind]);
	if (root != NULL)
		o->root = root;
	return 0;
}

int cmd_serve(int argc, char **argv)
{
	struct server srv = {
		.o = { .root = ".", .bind = "0.0.0.0", .port = 8443, .offload = KTLS_OFFLOAD_AUTO,
		       .threads = 1, .max_conns = 10000, .handshake_ms = 10000, .idle_ms = 30000,
		       .header_ms = 10000, .send_ms = 30000, .drain_ms = 10000 },
		.root_fd = -1,
		.log_lock = PTHREAD_MUTEX_INITIALIZER,
	};
	char tmpdir[] = "/tmp/ktls-serve.XXXXXX";
	struct worker *workers = NULL;
	struct sigaction sa;
	int ret, started = 0;

	ret = serve_parse_args(argc, argv, &srv.o);
	if (ret != 0) {
		tool_psk_wipe(&srv.o.psk);
		return ret == -1 ? 0 : ret;
	}
	ret = 1;
	/* This program owns its process: GnuTLS's clock is ours (serve_time). */
	gnutls_global_set_time_function(serve_time);
	srv.root_fd = open(srv.o.root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (srv.root_fd < 0) {
		fprintf(stderr, "ktls serve: root %s: %s\n", srv.o.root, strerror(errno));
		return 1;
	}
	/* One descriptor per connection (and a file while it is sent). */
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	/* splice into a socket cannot ask for MSG_NOSIGNAL: a vanished client must not kill us */
	signal(SIGPIPE, SIG_IGN);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = serve_on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	if (serve_config(&srv, tmpdir) < 0)
		goto out;

	workers = calloc((size_t)srv.o.threads, sizeof(*workers));
	if (workers == NULL)
		goto out;
	for (int i = 0; i < srv.o.threads; i++) {
		struct worker *w = &workers[i];

		w->srv = &srv;
		w->index = i;
		/* Without one (out of memory) every file is opened each time. */
		w->cache = file_cache_new(srv.root_fd, SERVE_FILE_CACHE_BYTES);
		w->listen_fd = serve_listen(&srv.o);
		if (w->listen_fd < 0)
			goto stop;
		ret = ktls_ring_new(NULL, 1024, &w->ring);
		if (ret == 0)
			ret = ktls_ring_accept(w->ring, w->listen_fd, serve_on_accept, w);
		if (ret < 0) {
			fprintf(stderr, "ktls serve: io_uring: %s\n", strerror(-ret));
			close(w->listen_fd);
			ktls_ring_free(w->ring);
			ret = 1;
			goto stop;
		}
		w->accepting = true;
		if (pthread_create(&w->thread, NULL, serve_worker, w) != 0) {
			close(w->listen_fd);
			ktls_ring_free(w->ring);
			goto stop;
		}
		started++;
	}
	fprintf(stderr, "ktls serve: https://%s:%u/ serving %s, %d thread%s, offload %s%s\n",
		srv.o.bind, srv.o.port, srv.o.root, srv.o.threads, srv.o.threads > 1 ? "s" : "",
		tool_offload_name(srv.o.offload),
		ktls_ring_zerocopy_send() == 1 ? ", zero-copy sends" : "");
	ret = 0;
stop:
	if (started < srv.o.threads) {
		serve_stop = 1;
		ret = 1;
	}
	for (int i = 0; i < started; i++) {
		pthread_join(workers[i].thread, NULL);
		fprintf(stderr, "ktls serve: thread %d: at most %d connections at once\n", i,
			workers[i].peak_conns);
		if (workers[i].listen_fd >= 0)
			close(workers[i].listen_fd);
		ktls_ring_free(workers[i].ring);
		if (workers[i].ret)
			ret = 1;
	}
	fprintf(stderr, "ktls serve: stopped\n");
out:
	for (int i = 0; workers != NULL && i < srv.o.threads; i++)
		file_cache_free(workers[i].cache);
	free(workers);
	ktls_config_unref(srv.config);
	close(srv.root_fd);
	if (srv.made_cert) {
		char p[sizeof(tmpdir) + 16];

		snprintf(p, sizeof(p), "%s/cert.pem", tmpdir);
		unlink(p);
		snprintf(p, sizeof(p), "%s/key.pem", tmpdir);
		unlink(p);
		rmdir(tmpdir);
	}
	return ret;
}
