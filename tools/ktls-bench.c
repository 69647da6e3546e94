/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ktls bench: kTLS against userspace TLS over loopback: sender-side modes,
 * receive-side modes (one sender, different receivers) and full handshakes
 * per second (client and server processes).
 *
 * For each mode a loopback TCP pair is made and a receiver process forked.
 * The receiver is the same for every TLS mode: a libktls server that leaves
 * TX with GnuTLS and takes kernel RX where it can, receives into a buffer and
 * hashes every byte (SHA-256); for the OpenSSL mode, whose OpenSSL peer is
 * the server, the same receive loop runs as a libktls client.  The sender (this process) runs the mode for
 * the chosen duration, re-sending the payload file, then hashes the stream it
 * sent outside the measured interval.  Each process measures its own CPU with
 * getrusage(RUSAGE_SELF) and counts its own I/O calls; the receiver sends its
 * numbers back through a pipe.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/tls.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "bench-report.h"
#include "tool.h"
#ifdef KTLS_BENCH_OPENSSL
#include "bench-openssl.h"
#endif

#ifndef SOL_TLS
#define SOL_TLS 282
#endif

/* The largest TLS plaintext record (RFC 8446 section 5.1, RFC 5246 section 6.2.1). */
#define MAX_RECORD 16384u
#define RECV_BUF (256u * 1024u)
#define TIME_CHECK_BYTES (1u << 20)

enum mode_id {
	MODE_GNUTLS_SEND = 1,
	MODE_GNUTLS_SEND_FILE = 2,
	MODE_KTLS_SEND = 3,
	MODE_KTLS_SENDFILE = 4,
	MODE_KTLS_URING_SPLICE = 5,
	MODE_TCP_SENDFILE = 6,
	MODE_OPENSSL_SENDFILE = 7,
};

static const struct {
	const char *name, *title;
} mode_names[BENCH_MODE_COUNT] = {
	{ "gnutls-send", "userspace GnuTLS: pread + gnutls_record_send" },
	{ "gnutls-send-file",
	  "userspace GnuTLS: gnutls_record_send_file (GnuTLS reads the file, encrypts, writes)" },
	{ "ktls-send", "kTLS: pread + send(2) on the kTLS socket" },
	{ "ktls-sendfile", "kTLS: sendfile(2) on the kTLS socket" },
	{ "ktls-uring-splice", "kTLS: libktls io_uring engine, ring sendfile (splice file -> pipe -> socket)" },
	{ "tcp-sendfile", "cleartext TCP: sendfile(2), no crypto at all (the ceiling)" },
	{ "openssl-sendfile",
	  "OpenSSL 3 kTLS: OpenSSL server (SSL_OP_ENABLE_KTLS) SSL_sendfile; receiver: the same "
	  "libktls receive loop as a TLS client, kernel RX" },
};

/* Receive-side modes: one sender (kTLS sendfile where the kernel takes TX keys, else GnuTLS). */
enum recv_mode_id {
	RECV_GNUTLS = 1,
	RECV_KTLS = 2,
	RECV_SPLICE_NULL = 3,
	RECV_SPLICE_FILE = 4,
};

/* The spliced-to file lives in /dev/shm (memory): its mode stops at this many bytes. */
#define SPLICE_FILE_MAX (64ull << 20)

static const struct {
	const char *name, *title;
} recv_mode_names[BENCH_RECV_MODE_COUNT] = {
	{ "gnutls-recv",
	  "userspace GnuTLS decrypt: libktls receiver, RX offload OFF, ktls_conn_recv into a buffer" },
	{ "ktls-recv", "kTLS RX: libktls receiver, RX offload REQUIRE, ktls_conn_recv into a buffer" },
	{ "ktls-splice-null",
	  "kTLS RX: splice(2) socket -> pipe -> /dev/null (bytes counted, not hashed)" },
	{ "ktls-splice-file",
	  "kTLS RX: splice(2) socket -> pipe -> file in /dev/shm, hashed after the run (at most 64 MiB)" },
};

struct bench {
	struct bench_report *report;
	enum ktls_cipher cipher;
	struct ktls_caps caps;
	char priority[200];
	char cert[PATH_MAX], key[PATH_MAX];
	struct ktls_config *server, *client;
	struct ktls_config *server_rx_off, *server_rx_require; /* receive-side modes */
	struct ktls_config *client_rx; /* the OpenSSL mode's receiver: a client, kernel RX */
	gnutls_certificate_credentials_t xcred; /* for the userspace GnuTLS sender */
	int file_fd;
	uint64_t file_size;
	unsigned int record_size;
	double duration;
	uint64_t max_bytes;
};

/* What the receiver process sends back. */
struct recv_result {
	int status; /* 0 or a negative errno */
	char reason[300];
	uint64_t bytes;
	double t_last; /* CLOCK_MONOTONIC of the last byte */
	struct bench_side side;
	char sha256[65];
	bool kernel_rx;
	bool not_hashed;
};

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void rusage_now(double *user, double *sys)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	*user = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6;
	*sys = (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static void hex(const unsigned char *d, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
}

/*
 * Ask the kernel whether it holds the key for @optname (TLS_TX / TLS_RX).
 * Only the struct tls_crypto_info header is asked for, so no key material
 * comes back to userspace (net/tls/tls_main.c copies just the header when
 * optlen is its size).
 */
static bool kernel_holds_key(int fd, int optname)
{
	struct tls_crypto_info info = { 0 };
	socklen_t len = sizeof(info);

	return getsockopt(fd, SOL_TLS, optname, &info, &len) == 0 && info.cipher_type != 0;
}

/* ---- receiver (child process) ------------------------------------------ */

static void receive_all(struct bench *b, struct ktls_config *cfg, bool tls, int fd,
			struct recv_result *res)
{
	struct ktls_conn *conn = NULL;
	gnutls_hash_hd_t hash = NULL;
	unsigned char *buf = malloc(RECV_BUF), digest[32];
	double u0, s0, u1, s1;
	int ret;

	if (buf == NULL || gnutls_hash_init(&hash, GNUTLS_DIG_SHA256) < 0) {
		res->status = -ENOMEM;
		goto out;
	}
	if (tls) {
		ret = ktls_conn_new(cfg, fd, KTLS_CONN_OWN_FD, &conn);
		fd = -1;
		if (ret < 0 || (ret = ktls_conn_handshake(conn)) < 0) {
			res->status = ret;
			snprintf(res->reason, sizeof(res->reason), "receiver: %s",
				 conn != NULL ? ktls_conn_error(conn) : ktls_config_error(cfg));
			goto out;
		}
		res->kernel_rx = kernel_holds_key(ktls_conn_fd(conn), TLS_RX);
		snprintf(res->side.syscalls_note, sizeof(res->side.syscalls_note), "%s",
			 res->kernel_rx ? "ktls_conn_recv calls, one recvmsg each (kernel RX)"
					: "ktls_conn_recv calls (GnuTLS RX: its reads not counted)");
	} else {
		snprintf(res->side.syscalls_note, sizeof(res->side.syscalls_note), "recv calls");
	}
	rusage_now(&u0, &s0);
	for (;;) {
		ssize_t n = tls ? ktls_conn_recv(conn, buf, RECV_BUF) : recv(fd, buf, RECV_BUF, 0);

		res->side.syscalls++;
		if (n == 0)
			break;
		if (n < 0) {
			res->status = tls ? (int)n : -errno;
			snprintf(res->reason, sizeof(res->reason), "receiver: %s",
				 tls ? ktls_conn_error(conn) : strerror(errno));
			goto out;
		}
		res->t_last = now_seconds();
		res->bytes += (uint64_t)n;
		gnutls_hash(hash, buf, (size_t)n);
	}
	rusage_now(&u1, &s1);
	res->side.user_s = u1 - u0;
	res->side.sys_s = s1 - s0;
	gnutls_hash_output(hash, digest);
	hex(digest, sizeof(digest), res->sha256);
out:
	if (hash != NULL)
		gnutls_hash_deinit(hash, NULL);
	free(buf);
	ktls_conn_free(conn);
	if (fd >= 0)
		close(fd);
}

/* Move everything in the pipe to @out_fd; false with errno on failure. */
static bool drain_pipe(int pipe_rd, int out_fd, size_t n, uint64_t *calls)
{
	while (n > 0) {
		ssize_t w = splice(pipe_rd, NULL, out_fd, NULL, n, SPLICE_F_MOVE);

		(*calls)++;
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (w == 0)
				errno = EIO;
			return false;
		}
		n -= (size_t)w;
	}
	return true;
}

static bool write_all(int fd, const unsigned char *buf, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, buf, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		buf += w;
		n -= (size_t)w;
	}
	return true;
}

/* SHA-256 of an open file, from its start, into @out; bytes hashed in *@size. */
static int hash_fd(int fd, char *out, uint64_t *size)
{
	gnutls_hash_hd_t hash;
	unsigned char *buf = malloc(RECV_BUF), digest[32];
	off_t off = 0;
	ssize_t n;

	if (buf == NULL || gnutls_hash_init(&hash, GNUTLS_DIG_SHA256) < 0) {
		free(buf);
		return -ENOMEM;
	}
	while ((n = pread(fd, buf, RECV_BUF, off)) > 0) {
		gnutls_hash(hash, buf, (size_t)n);
		off += n;
	}
	gnutls_hash_deinit(hash, digest);
	free(buf);
	if (n < 0)
		return -errno;
	hex(digest, sizeof(digest), out);
	*size = (uint64_t)off;
	return 0;
}

/*
 * Receive-side splice modes: kernel RX required, then splice(2) from the kTLS
 * socket into a pipe and from the pipe to /dev/null or to a file in /dev/shm.
 * splice from a kTLS RX socket returns application data only: at a control
 * record (the sender's close_notify alert, a TLS 1.3 KeyUpdate) the kernel
 * answers EINVAL and keeps the record queued, so one ktls_conn_recv() call
 * handles it (0 at close_notify ends the stream).
 */
static void receive_splice(struct bench *b, int mode, int fd, struct recv_result *res)
{
	struct ktls_conn *conn = NULL;
	unsigned char *buf = malloc(RECV_BUF);
	int pipefd[2] = { -1, -1 }, out = -1, ret;
	uint64_t splices = 0, fallbacks = 0;
	double u0, s0, u1, s1;

	if (buf == NULL || pipe2(pipefd, O_CLOEXEC) < 0) {
		res->status = -ENOMEM;
		snprintf(res->reason, sizeof(res->reason), "receiver: buffer or pipe");
		close(fd);
		goto out;
	}
	if (mode == RECV_SPLICE_NULL) {
		out = open("/dev/null", O_WRONLY | O_CLOEXEC);
	} else {
		char path[] = "/dev/shm/ktls-bench-splice-XXXXXX";

		out = mkostemp(path, O_CLOEXEC);
		if (out >= 0)
			unlink(path);
	}
	if (out < 0) {
		res->status = -errno;
		snprintf(res->reason, sizeof(res->reason), "receiver: %s: %s",
			 mode == RECV_SPLICE_NULL ? "/dev/null" : "a file in /dev/shm", strerror(errno));
		close(fd);
		goto out;
	}
	ret = ktls_conn_new(b->server_rx_require, fd, KTLS_CONN_OWN_FD, &conn);
	if (ret < 0 || (ret = ktls_conn_handshake(conn)) < 0) {
		res->status = ret;
		snprintf(res->reason, sizeof(res->reason), "receiver: %s",
			 conn != NULL ? ktls_conn_error(conn) : ktls_config_error(b->server_rx_require));
		goto out;
	}
	res->kernel_rx = kernel_holds_key(ktls_conn_fd(conn), TLS_RX);
	if (!res->kernel_rx) {
		res->status = -EOPNOTSUPP;
		snprintf(res->reason, sizeof(res->reason), "receiver: no kernel RX key after the handshake");
		goto out;
	}
	fd = ktls_conn_fd(conn);
	rusage_now(&u0, &s0);
	for (;;) {
		ssize_t n;

		/* plaintext GnuTLS read before the kernel took over comes first */
		if (ktls_conn_pending(conn) == 0) {
			n = splice(fd, NULL, pipefd[1], NULL, RECV_BUF, SPLICE_F_MOVE);
			splices++;
			if (n < 0 && errno == EINTR)
				continue;
			if (n > 0) {
				if (!drain_pipe(pipefd[0], out, (size_t)n, &splices)) {
					res->status = -errno;
					snprintf(res->reason, sizeof(res->reason),
						 "receiver: splice from the pipe: %s", strerror(errno));
					goto out;
				}
				res->t_last = now_seconds();
				res->bytes += (uint64_t)n;
				continue;
			}
			if (n == 0)
				break; /* TCP FIN without close_notify: the check below fails it */
			if (errno != EINVAL && errno != EIO) {
				res->status = -errno;
				snprintf(res->reason, sizeof(res->reason), "receiver: splice: %s",
					 strerror(errno));
				goto out;
			}
		}
		/* a control record (or buffered plaintext): libktls reads it */
		n = ktls_conn_recv(conn, buf, RECV_BUF);
		fallbacks++;
		if (n == 0)
			break;
		if (n < 0) {
			res->status = (int)n;
			snprintf(res->reason, sizeof(res->reason), "receiver: %s", ktls_conn_error(conn));
			goto out;
		}
		if (!write_all(out, buf, (size_t)n)) {
			res->status = -errno;
			snprintf(res->reason, sizeof(res->reason), "receiver: write: %s", strerror(errno));
			goto out;
		}
		res->t_last = now_seconds();
		res->bytes += (uint64_t)n;
	}
	rusage_now(&u1, &s1);
	res->side.user_s = u1 - u0;
	res->side.sys_s = s1 - s0;
	res->side.syscalls = splices + fallbacks;
	snprintf(res->side.syscalls_note, sizeof(res->side.syscalls_note),
		 "splice calls (exact, both halves) + %llu ktls_conn_recv for control records",
		 (unsigned long long)fallbacks);
	if (mode == RECV_SPLICE_NULL) {
		res->not_hashed = true;
	} else {
		uint64_t size = 0;

		/* outside the measured interval */
		ret = hash_fd(out, res->sha256, &size);
		if (ret < 0 || size != res->bytes) {
			res->status = ret < 0 ? ret : -EIO;
			snprintf(res->reason, sizeof(res->reason),
				 "receiver: the spliced file holds %llu bytes of %llu",
				 (unsigned long long)size, (unsigned long long)res->bytes);
		}
	}
out:
	free(buf);
	ktls_conn_free(conn);
	if (out >= 0)
		close(out);
	if (pipefd[0] >= 0) {
		close(pipefd[0]);
		close(pipefd[1]);
	}
}

/* ---- sender ------------------------------------------------------------ */

struct sender {
	struct bench *b;
	double t_first, t_end; /* the measured interval starts after the handshake */
	double user0, sys0;
	uint64_t bytes, records, calls;
	uint64_t check_at; /* bytes at which to look at the clock next */
	uint64_t max_bytes; /* 0 = none */
	bool unavailable; /* the mode cannot run here: m->reason says why, no numbers */
};

/* How much to send next, 0 when the duration or the byte limit is reached. */
static size_t sender_next(struct sender *s, size_t want)
{
	if (s->bytes >= s->check_at) {
		if (now_seconds() >= s->t_end)
			return 0;
		s->check_at = s->bytes + TIME_CHECK_BYTES;
	}
	if (s->max_bytes > 0) {
		if (s->bytes >= s->max_bytes)
			return 0;
		if (want > s->max_bytes - s->bytes)
			want = (size_t)(s->max_bytes - s->bytes);
	}
	return want;
}

/* The handshake is done: start the clock and the CPU accounting. */
static void sender_start(struct sender *s)
{
	rusage_now(&s->user0, &s->sys0);
	s->t_first = now_seconds();
	s->t_end = s->t_first + s->b->duration;
	s->check_at = 0;
}

/*
 * The next @want bytes of the payload file at *@off, wrapping at its end,
 * counted as one call.  Returns the bytes read, or a negative errno with the
 * reason in @m.
 */
static ssize_t sender_read(struct sender *s, void *buf, size_t want, off_t *off,
			   struct bench_mode *m)
{
	struct bench *b = s->b;
	ssize_t n;

	if (*off >= (off_t)b->file_size)
		*off = 0;
	if (want > b->file_size - (uint64_t)*off)
		want = (size_t)(b->file_size - (uint64_t)*off);
	n = pread(b->file_fd, buf, want, *off);
	s->calls++;
	if (n <= 0) {
		int err = n < 0 ? -errno : -EIO;

		snprintf(m->reason, sizeof(m->reason), "pread: %s", strerror(-err));
		return err;
	}
	*off += n;
	return n;
}

static uint64_t records_for(uint64_t n)
{
	return (n + MAX_RECORD - 1) / MAX_RECORD;
}

/*
 * One sendfile-like call: @n bytes of the payload file from *@off, which
 * advances.  Returns the bytes sent or a negative errno, with the reason in
 * @m unless it is -EINTR.
 */
typedef ssize_t (*sendfile_fn)(void *ctx, int file_fd, off_t *off, size_t n, struct bench_mode *m);

/*
 * The loop of the sendfile modes: the rest of the payload file in one call,
 * wrapping at its end, every call counted; records too when @tls.  This is
 * all the user-space work these modes do per call.
 */
static int sender_sendfile_loop(struct sender *s, struct bench_mode *m, sendfile_fn fn, void *ctx,
				bool tls)
{
	struct bench *b = s->b;
	off_t off = 0;

	for (size_t want; (want = sender_next(s, b->file_size)) > 0;) {
		ssize_t n;

		if (off >= (off_t)b->file_size)
			off = 0;
		if (want > b->file_size - (uint64_t)off)
			want = (size_t)(b->file_size - (uint64_t)off);
		n = fn(ctx, b->file_fd, &off, want, m);
		s->calls++;
		if (n == -EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? (int)n : -EIO;
		s->bytes += (uint64_t)n;
		if (tls)
			s->records += records_for((uint64_t)n);
	}
	return 0;
}

/* sendfile(2) on the socket *@ctx. */
static ssize_t socket_sendfile(void *ctx, int file_fd, off_t *off, size_t n, struct bench_mode *m)
{
	ssize_t w = sendfile(*(int *)ctx, file_fd, off, n);
	int err = w < 0 ? errno : EIO;

	if (w > 0 || err == EINTR)
		return w < 0 ? -EINTR : w;
	snprintf(m->reason, sizeof(m->reason), "sendfile: %s", strerror(err));
	return -err;
}

/* GnuTLS transport that counts every call it makes into the kernel. */
struct counted_fd {
	int fd;
	uint64_t calls;
};

static ssize_t counted_push(gnutls_transport_ptr_t ptr, const giovec_t *iov, int iovcnt)
{
	struct counted_fd *c = ptr;
	struct msghdr msg = { .msg_iov = (struct iovec *)(void *)iov, .msg_iovlen = (size_t)iovcnt };

	c->calls++;
	return sendmsg(c->fd, &msg, MSG_NOSIGNAL);
}

static ssize_t counted_pull(gnutls_transport_ptr_t ptr, void *buf, size_t len)
{
	struct counted_fd *c = ptr;

	c->calls++;
	return recv(c->fd, buf, len, 0);
}

/* Modes 1 and 2: a plain GnuTLS client, no libktls, so nothing can reach the kernel's TLS. */
static int send_gnutls(struct sender *s, int mode, int fd, struct bench_mode *m)
{
	struct bench *b = s->b;
	gnutls_session_t session = NULL;
	struct counted_fd transport = { .fd = fd };
	unsigned char *buf = NULL;
	off_t off = 0;
	int ret;

	if ((ret = gnutls_init(&session, GNUTLS_CLIENT)) < 0 ||
	    (ret = gnutls_priority_set_direct(session, b->priority, NULL)) < 0 ||
	    (ret = gnutls_credentials_set(session, GNUTLS_CRD_CERTIFICATE, b->xcred)) < 0 ||
	    (ret = gnutls_server_name_set(session, GNUTLS_NAME_DNS, "localhost", 9)) < 0)
		goto gnutls_fail;
	gnutls_session_set_verify_cert(session, "localhost", 0);
	gnutls_transport_set_ptr(session, &transport);
	gnutls_transport_set_vec_push_function(session, counted_push);
	gnutls_transport_set_pull_function(session, counted_pull);
	do
		ret = gnutls_handshake(session);
	while (ret < 0 && gnutls_error_is_fatal(ret) == 0);
	if (ret < 0)
		goto gnutls_fail;
	transport.calls = 0;
	sender_start(s);
	buf = malloc(b->record_size);
	if (buf == NULL) {
		ret = -ENOMEM;
		goto out;
	}
	if (mode == MODE_GNUTLS_SEND) {
		snprintf(m->sender.syscalls_note, sizeof(m->sender.syscalls_note),
			 "pread + GnuTLS's socket writes through our push function (exact)");
		for (size_t want; (want = sender_next(s, b->record_size)) > 0;) {
			ssize_t n = sender_read(s, buf, want, &off, m);

			if (n < 0) {
				ret = (int)n;
				goto out;
			}
			for (ssize_t done = 0; done < n;) {
				ssize_t w = gnutls_record_send(session, buf + done, (size_t)(n - done));

				if (w == GNUTLS_E_AGAIN || w == GNUTLS_E_INTERRUPTED)
					continue;
				if (w < 0) {
					ret = (int)w;
					goto gnutls_fail;
				}
				done += w;
				s->records++;
				s->bytes += (uint64_t)w;
			}
		}
	} else {
		snprintf(m->sender.syscalls_note, sizeof(m->sender.syscalls_note),
			 "lseek + GnuTLS's socket writes through our push function; its own file reads are not seen");
		m->records_derived = true;
		for (size_t want; (want = sender_next(s, b->file_size)) > 0;) {
			ssize_t n;

			/*
			 * GnuTLS 3.7 applies a non-NULL offset with SEEK_CUR, so the file
			 * position is set here and NULL passed: it reads from there on.
			 */
			if (off >= (off_t)b->file_size || s->bytes == 0) {
				off = 0;
				s->calls++;
				if (lseek(b->file_fd, 0, SEEK_SET) != 0) {
					ret = -errno;
					snprintf(m->reason, sizeof(m->reason), "lseek: %s",
						 strerror(errno));
					goto out;
				}
			}
			if (want > b->file_size - (uint64_t)off)
				want = (size_t)(b->file_size - (uint64_t)off);
			n = gnutls_record_send_file(session, b->file_fd, NULL, want);
			if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
				continue;
			if (n <= 0) {
				ret = n < 0 ? (int)n : GNUTLS_E_PUSH_ERROR;
				goto gnutls_fail;
			}
			off += n;
			s->bytes += (uint64_t)n;
			/* GnuTLS 3.7 emulates it with full-size records; we cannot count them */
			s->records += records_for((uint64_t)n);
		}
	}
	do
		ret = gnutls_bye(session, GNUTLS_SHUT_WR);
	while (ret == GNUTLS_E_AGAIN || ret == GNUTLS_E_INTERRUPTED);
	if (ret < 0)
		goto gnutls_fail;
	s->calls += transport.calls;
	ret = 0;
	goto out;
gnutls_fail:
	snprintf(m->reason, sizeof(m->reason), "sender (GnuTLS): %s", gnutls_strerror(ret));
	ret = -EPROTO;
out:
	free(buf);
	if (session != NULL)
		gnutls_deinit(session);
	/*
	 * This sender never reads: the receiver's TLS 1.3 session tickets are
	 * still queued, and close(2) with unread input is a reset that makes
	 * the receiver's kernel drop its last records.  Discard them first, as
	 * ktls_conn_free() does for libktls connections.
	 */
	{
		char sink[4096];

		for (int i = 0; i < 64 && recv(fd, sink, sizeof(sink), MSG_DONTWAIT) > 0; i++)
			;
	}
	close(fd);
	return ret;
}

/* Modes 3 and 4: libktls with TX offload REQUIRE, then plain system calls on the socket. */
static int send_ktls(struct sender *s, int mode, int fd, struct bench_mode *m)
{
	struct bench *b = s->b;
	struct ktls_conn *conn = NULL;
	struct ktls_info info;
	unsigned char *buf = NULL;
	off_t off = 0;
	int ret;

	ret = ktls_conn_new(b->client, fd, KTLS_CONN_OWN_FD, &conn);
	if (ret < 0) {
		close(fd);
		snprintf(m->reason, sizeof(m->reason), "sender: %s", ktls_config_error(b->client));
		return ret;
	}
	ktls_conn_set_server_name(conn, "localhost");
	ret = ktls_conn_handshake(conn);
	if (ret == 0)
		ret = ktls_conn_get_info(conn, &info);
	if (ret == 0 && !info.tx.kernel) {
		ret = -EOPNOTSUPP;
		snprintf(m->reason, sizeof(m->reason), "kernel TX not in use: %s", info.tx.reason);
		goto out;
	}
	if (ret < 0) {
		snprintf(m->reason, sizeof(m->reason), "sender: %s", ktls_conn_error(conn));
		goto out;
	}
	fd = ktls_conn_fd(conn);
	m->kernel_tx = kernel_holds_key(fd, TLS_TX);
	sender_start(s);
	m->records_derived = true;
	if (mode == MODE_KTLS_SEND) {
		snprintf(m->sender.syscalls_note, sizeof(m->sender.syscalls_note),
			 "pread + send calls (exact)");
		buf = malloc(b->record_size);
		if (buf == NULL) {
			ret = -ENOMEM;
			goto out;
		}
		for (size_t want; (want = sender_next(s, b->record_size)) > 0;) {
			ssize_t n = sender_read(s, buf, want, &off, m);

			if (n < 0) {
				ret = (int)n;
				goto out;
			}
			for (ssize_t done = 0; done < n;) {
				/* no MSG_MORE: the kernel closes a record at the end of each call */
				ssize_t w = send(fd, buf + done, (size_t)(n - done), MSG_NOSIGNAL);

				s->calls++;
				if (w < 0 && errno == EINTR)
					continue;
				if (w < 0) {
					ret = -errno;
					snprintf(m->reason, sizeof(m->reason), "send: %s", strerror(errno));
					goto out;
				}
				done += w;
				s->bytes += (uint64_t)w;
				s->records += records_for((uint64_t)w);
			}
		}
	} else {
		snprintf(m->sender.syscalls_note, sizeof(m->sender.syscalls_note),
			 "sendfile calls (exact)");
		ret = sender_sendfile_loop(s, m, socket_sendfile, &fd, true);
		if (ret < 0)
			goto out;
	}
	ret = ktls_conn_shutdown(conn);
	if (ret < 0)
		snprintf(m->reason, sizeof(m->reason), "sender: %s", ktls_conn_error(conn));
out:
	free(buf);
	ktls_conn_free(conn);
	return ret;
}

/* ---- mode 5: the io_uring engine ------------------------------------------ */

/* One engine operation at a time: its callback's result, and whether it came. */
struct uring_wait {
	ssize_t result;
	bool done;
};

static void uring_done(struct ktls_conn *conn, ssize_t result, const void *data, void *userdata)
{
	struct uring_wait *w = userdata;

	(void)conn;
	(void)data;
	w->result = result;
	w->done = true;
}

/* Run the ring until the operation started with @w completes; each run is one io_uring_enter. */
static int uring_wait_for(struct ktls_ring *ring, struct uring_wait *w, uint64_t *calls)
{
	while (!w->done) {
		int r = ktls_ring_run(ring, -1);

		(*calls)++;
		if (r < 0 && r != -EINTR)
			return r;
	}
	return 0;
}

/* Mode 5's sendfile_fn: one ktls_conn_ring_sendfile, run to its completion. */
struct uring_sendfile {
	struct ktls_ring *ring;
	struct ktls_conn *conn;
	uint64_t enters;
};

static ssize_t uring_sendfile(void *ctx, int file_fd, off_t *off, size_t n, struct bench_mode *m)
{
	struct uring_sendfile *u = ctx;
	struct uring_wait w = { 0 };
	int ret = ktls_conn_ring_sendfile(u->conn, file_fd, *off, n, 30000, uring_done, &w);

	if (ret == 0)
		ret = uring_wait_for(u->ring, &w, &u->enters);
	if (ret == 0 && w.result < 0)
		ret = (int)w.result;
	if (ret < 0) {
		snprintf(m->reason, sizeof(m->reason), "ring sendfile: %s", ktls_conn_error(u->conn));
		return ret;
	}
	*off += (off_t)w.result;
	return w.result;
}

/*
 * Mode 5: libktls's io_uring engine end to end: the handshake by ring
 * completions, then ktls_conn_ring_sendfile() of the rest of the payload
 * file per operation, which the engine carries out as splice file -> pipe
 * -> kTLS socket, no byte entering userspace.
 */
static int send_uring(struct sender *s, int fd, struct bench_mode *m)
{
	struct bench *b = s->b;
	struct ktls_ring *ring = NULL;
	struct ktls_conn *conn = NULL;
	struct uring_sendfile ctx;
	struct uring_wait w = { 0 };
	struct ktls_info info;
	uint64_t enters = 0;
	int ret;

	/* splice(2) into a socket has no MSG_NOSIGNAL (see ktls.h). */
	signal(SIGPIPE, SIG_IGN);
	ret = ktls_ring_new(NULL, 64, &ring);
	if (ret < 0) {
		close(fd);
		s->unavailable = true;
		snprintf(m->reason, sizeof(m->reason), "io_uring unavailable here: %s",
			 strerror(-ret));
		return ret;
	}
	ret = ktls_conn_new(b->client, fd, KTLS_CONN_OWN_FD, &conn);
	if (ret < 0) {
		close(fd);
		snprintf(m->reason, sizeof(m->reason), "sender: %s", ktls_config_error(b->client));
		goto out;
	}
	ktls_conn_set_server_name(conn, "localhost");
	ret = ktls_conn_ring_attach(conn, ring);
	if (ret == 0)
		ret = ktls_conn_ring_handshake(conn, 30000, uring_done, &w);
	if (ret == 0)
		ret = uring_wait_for(ring, &w, &enters);
	if (ret == 0)
		ret = (int)w.result;
	if (ret == 0)
		ret = ktls_conn_get_info(conn, &info);
	if (ret == 0 && !info.tx.kernel) {
		ret = -EOPNOTSUPP;
		snprintf(m->reason, sizeof(m->reason), "kernel TX not in use: %s", info.tx.reason);
		goto out;
	}
	if (ret < 0) {
		snprintf(m->reason, sizeof(m->reason), "sender: %s", ktls_conn_error(conn));
		goto out;
	}
	m->kernel_tx = kernel_holds_key(ktls_conn_fd(conn), TLS_TX);
	sender_start(s);
	m->records_derived = true;
	snprintf(m->sender.syscalls_note, sizeof(m->sender.syscalls_note),
		 "io_uring_enter calls (exact; each waits for one ring sendfile)");
	ctx = (struct uring_sendfile){ .ring = ring, .conn = conn };
	ret = sender_sendfile_loop(s, m, uring_sendfile, &ctx, true);
	/* The loop counted operations; what enters the kernel is io_uring_enter. */
	s->calls = ctx.enters;
	if (ret < 0)
		goto out;
	w.done = false;
	ret = ktls_conn_ring_shutdown(conn, 30000, uring_done, &w);
	if (ret == 0)
		ret = uring_wait_for(ring, &w, &enters);
	if (ret == 0 && w.result < 0)
		ret = (int)w.result;
	if (ret < 0)
		snprintf(m->reason, sizeof(m->reason), "sender: %s", ktls_conn_error(conn));
out:
	ktls_conn_free(conn);
	ktls_ring_free(ring);
	return ret;
}

/* Mode 6: cleartext sendfile, the same loop as mode 4 without TLS. */
static int send_tcp(struct sender *s, int fd, struct bench_mode *m)
{
	int ret;

	snprintf(m->sender.syscalls_note, sizeof(m->sender.syscalls_note), "sendfile calls (exact)");
	sender_start(s);
	ret = sender_sendfile_loop(s, m, socket_sendfile, &fd, false);
	shutdown(fd, SHUT_WR);
	close(fd);
	return ret;
}

#ifdef KTLS_BENCH_OPENSSL
static ssize_t openssl_sendfile(void *ctx, int file_fd, off_t *off, size_t n, struct bench_mode *m)
{
	return bench_openssl_sendfile(ctx, file_fd, off, n, m->reason, sizeof(m->reason));
}

/*
 * Mode 7: OpenSSL's own kTLS, as the TLS server with the same certificate,
 * cipher and version, then the mode 4 loop through SSL_sendfile().  When
 * OpenSSL kept TX in userspace the mode cannot run (SSL_sendfile needs
 * kernel TX): the connection is ended cleanly and the row gives the reason.
 */
static int send_openssl(struct sender *s, int fd, struct bench_mode *m)
{
	struct bench *b = s->b;
	struct bench_openssl *session = NULL;
	int ret = bench_openssl_accept(fd, b->cert, b->key, b->report->cipher,
				       b->report->tls_version, &session, m->reason,
				       sizeof(m->reason));

	s->unavailable = ret == -EOPNOTSUPP;
	if (ret == 0) {
		m->kernel_tx = kernel_holds_key(fd, TLS_TX);
		m->records_derived = true;
		snprintf(m->sender.syscalls_note, sizeof(m->sender.syscalls_note),
			 "SSL_sendfile calls, one sendfile(2) each (exact)");
		sender_start(s);
		ret = sender_sendfile_loop(s, m, openssl_sendfile, session, true);
	}
	if (session != NULL) {
		char why[sizeof(m->reason)];
		int r = bench_openssl_shutdown(session, why, sizeof(why));

		if (ret == 0 && r < 0) {
			ret = r;
			snprintf(m->reason, sizeof(m->reason), "%s", why);
		}
	}
	bench_openssl_free(session);
	close(fd);
	return ret;
}
#endif

/* SHA-256 of the stream the sender sent: the file repeated, cut at @bytes. */
static int hash_sent(struct bench *b, uint64_t bytes, char *out)
{
	gnutls_hash_hd_t hash;
	unsigned char digest[32];
	void *map;

	if (gnutls_hash_init(&hash, GNUTLS_DIG_SHA256) < 0)
		return -ENOMEM;
	map = mmap(NULL, b->file_size, PROT_READ, MAP_SHARED, b->file_fd, 0);
	if (map == MAP_FAILED) {
		gnutls_hash_deinit(hash, NULL);
		return -errno;
	}
	while (bytes > 0) {
		size_t n = bytes < b->file_size ? (size_t)bytes : (size_t)b->file_size;

		gnutls_hash(hash, map, n);
		bytes -= n;
	}
	munmap(map, b->file_size);
	gnutls_hash_deinit(hash, digest);
	hex(digest, sizeof(digest), out);
	return 0;
}

static bool read_all(int fd, void *buf, size_t len)
{
	for (size_t done = 0; done < len;) {
		ssize_t n = read(fd, (char *)buf + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		done += (size_t)n;
	}
	return true;
}

static bool kernel_can(const struct bench *b, const uint32_t *ciphers)
{
	int v = strcmp(b->report->tls_version, "1.2") == 0 ? 0 : 1;

	return b->caps.ulp_available && (ciphers[v] & (1u << b->cipher)) != 0;
}

/*
 * One mode: a sender-side mode (@recv_mode 0; m->id is enum mode_id) or a
 * receive-side mode (@recv_mode is enum recv_mode_id).
 */
/* A mode that needs the kernel to take @dir keys: when it cannot, say why in the row. */
static bool kernel_unavailable(struct bench *b, struct bench_mode *m, const uint32_t *ciphers,
			       const char *dir)
{
	if (!b->caps.ulp_available)
		snprintf(m->reason, sizeof(m->reason), "no kernel TLS: %s", b->caps.summary);
	else if (!kernel_can(b, ciphers))
		snprintf(m->reason, sizeof(m->reason),
			 "this kernel cannot take %s %s keys for TLS %s (ktls probe)",
			 b->report->cipher, dir, b->report->tls_version);
	else
		return false;
	m->status = BENCH_UNAVAILABLE;
	return true;
}

static void run_mode(struct bench *b, struct bench_mode *m, int recv_mode)
{
	struct sender s = { .b = b, .max_bytes = b->max_bytes };
	bool ktls_sender = recv_mode != 0 && kernel_can(b, b->caps.tx_ciphers);
	struct recv_result res = { 0 };
	long long tx0, rx0, err0;
	double u1, s1;
	int cfd = -1, sfd = -1, pipefd[2], ret, status;
	pid_t pid;

	if (recv_mode != 0 && recv_mode != RECV_GNUTLS &&
	    kernel_unavailable(b, m, b->caps.rx_ciphers, "RX"))
		return;
	if (recv_mode == RECV_SPLICE_FILE && (s.max_bytes == 0 || s.max_bytes > SPLICE_FILE_MAX))
		s.max_bytes = SPLICE_FILE_MAX;
#ifndef KTLS_BENCH_OPENSSL
	if (recv_mode == 0 && m->id == MODE_OPENSSL_SENDFILE) {
		m->status = BENCH_UNAVAILABLE;
		snprintf(m->reason, sizeof(m->reason),
			 "not built: OpenSSL development files absent (OpenSSL >= 3.0, meson option "
			 "'openssl')");
		return;
	}
#endif
	if (recv_mode == 0 &&
	    (m->id == MODE_KTLS_SEND || m->id == MODE_KTLS_SENDFILE ||
	     m->id == MODE_KTLS_URING_SPLICE || m->id == MODE_OPENSSL_SENDFILE) &&
	    kernel_unavailable(b, m, b->caps.tx_ciphers, "TX"))
		return;
	if ((ret = tool_loopback_pair(&cfd, &sfd)) < 0) {
		m->status = BENCH_FAILED;
		snprintf(m->reason, sizeof(m->reason), "loopback connection: %s", strerror(-ret));
		return;
	}
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		m->status = BENCH_FAILED;
		snprintf(m->reason, sizeof(m->reason), "pipe: %s", strerror(errno));
		close(cfd);
		close(sfd);
		return;
	}
	tx0 = tool_tls_stat("TlsTxSw");
	rx0 = tool_tls_stat("TlsRxSw");
	err0 = tool_tls_stat("TlsDecryptError");
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		m->status = BENCH_FAILED;
		snprintf(m->reason, sizeof(m->reason), "fork: %s", strerror(errno));
		close(cfd);
		close(sfd);
		close(pipefd[0]);
		close(pipefd[1]);
		return;
	}
	if (pid == 0) {
		close(cfd);
		close(pipefd[0]);
		if (recv_mode == RECV_SPLICE_NULL || recv_mode == RECV_SPLICE_FILE)
			receive_splice(b, recv_mode, sfd, &res);
		else if (recv_mode != 0)
			receive_all(b, recv_mode == RECV_GNUTLS ? b->server_rx_off : b->server_rx_require,
				    true, sfd, &res);
		else
			receive_all(b, m->id == MODE_OPENSSL_SENDFILE ? b->client_rx : b->server,
				    m->id != MODE_TCP_SENDFILE, sfd, &res);
		_exit(write(pipefd[1], &res, sizeof(res)) == (ssize_t)sizeof(res) ? 0 : 1);
	}
	close(sfd);
	close(pipefd[1]);

	/* no deadline until the handshake is done (sender_start) */
	s.t_end = 1e300;
	s.check_at = UINT64_MAX;
	if (recv_mode != 0 && ktls_sender)
		ret = send_ktls(&s, MODE_KTLS_SENDFILE, cfd, m);
	else if (recv_mode != 0)
		ret = send_gnutls(&s, MODE_GNUTLS_SEND_FILE, cfd, m);
	else if (m->id == MODE_GNUTLS_SEND || m->id == MODE_GNUTLS_SEND_FILE)
		ret = send_gnutls(&s, m->id, cfd, m);
	else if (m->id == MODE_TCP_SENDFILE)
		ret = send_tcp(&s, cfd, m);
	else if (m->id == MODE_KTLS_URING_SPLICE)
		ret = send_uring(&s, cfd, m);
#ifdef KTLS_BENCH_OPENSSL
	else if (m->id == MODE_OPENSSL_SENDFILE)
		ret = send_openssl(&s, cfd, m);
#endif
	else
		ret = send_ktls(&s, m->id, cfd, m);
	rusage_now(&u1, &s1);

	bool got = read_all(pipefd[0], &res, sizeof(res));

	close(pipefd[0]);
	waitpid(pid, &status, 0);
	if (tx0 >= 0) {
		m->tls_stat = true;
		m->tx_sw = tool_tls_stat("TlsTxSw") - tx0;
		m->rx_sw = tool_tls_stat("TlsRxSw") - rx0;
		m->decrypt_error = tool_tls_stat("TlsDecryptError") - err0;
	}
	if (s.unavailable) {
		m->status = BENCH_UNAVAILABLE;
		return;
	}
	if (ret < 0 || !got || res.status < 0) {
		const char *theirs = !got ? "the receiver process reported nothing"
				     : res.status < 0 ? res.reason
						      : "";
		size_t len;

		m->status = BENCH_FAILED;
		if (m->reason[0] == '\0' && ret < 0)
			snprintf(m->reason, sizeof(m->reason), "sender: %s", strerror(-ret));
		len = strlen(m->reason);
		if (theirs[0] != '\0' && len + 3 < sizeof(m->reason))
			snprintf(m->reason + len, sizeof(m->reason) - len, "%s%.*s",
				 len > 0 ? "; " : "", (int)(sizeof(m->reason) - len - 3), theirs);
		return;
	}
	m->status = BENCH_OK;
	m->bytes = res.bytes;
	m->seconds = res.bytes > 0 ? res.t_last - s.t_first : 0;
	m->sender.user_s = u1 - s.user0;
	m->sender.sys_s = s1 - s.sys0;
	m->sender.syscalls = s.calls;
	m->receiver = res.side;
	m->records = s.records;
	m->kernel_rx = res.kernel_rx;
	m->not_hashed = res.not_hashed;
	snprintf(m->sha256_received, sizeof(m->sha256_received), "%s", res.sha256);
	if (hash_sent(b, s.bytes, m->sha256_sent) < 0)
		snprintf(m->sha256_sent, sizeof(m->sha256_sent), "unavailable");
	if (s.bytes != res.bytes ||
	    (!res.not_hashed && strcmp(m->sha256_sent, m->sha256_received) != 0)) {
		m->status = BENCH_FAILED;
		snprintf(m->reason, sizeof(m->reason),
			 "sent %llu bytes (SHA-256 %s), received %llu (SHA-256 %s)",
			 (unsigned long long)s.bytes, m->sha256_sent, (unsigned long long)res.bytes,
			 m->sha256_received);
	}
}

/* ---- handshakes --------------------------------------------------------- */

static const struct {
	const char *name, *title, *version;
	enum tool_key_type key;
	bool resume;
} hs_rows[BENCH_HANDSHAKE_COUNT] = {
	/*
	 * each connection: connect, handshake, 1 byte server to client,
	 * close_notify, close.  Full rows have resumption off; resumed rows
	 * keep the client's store and the server's ticket key in one config
	 * each, so every connection after the first resumes (TLS 1.3: with the
	 * ticket the previous connection read back from the kernel).
	 */
	{ "tls1.2-ecdsa-p256", "full TLS 1.2 handshake, ECDSA P-256 certificate", "1.2",
	  TOOL_KEY_ECDSA_P256, false },
	{ "tls1.2-rsa-2048", "full TLS 1.2 handshake, RSA-2048 certificate", "1.2", TOOL_KEY_RSA_2048,
	  false },
	{ "tls1.3-ecdsa-p256", "full TLS 1.3 handshake, ECDSA P-256 certificate", "1.3",
	  TOOL_KEY_ECDSA_P256, false },
	{ "tls1.3-rsa-2048", "full TLS 1.3 handshake, RSA-2048 certificate", "1.3", TOOL_KEY_RSA_2048,
	  false },
	{ "tls1.2-resumed", "resumed TLS 1.2 handshake (session ticket), ECDSA P-256 server", "1.2",
	  TOOL_KEY_ECDSA_P256, true },
	{ "tls1.3-resumed", "resumed TLS 1.3 handshake (PSK ticket with ECDHE), ECDSA P-256 server",
	  "1.3", TOOL_KEY_ECDSA_P256, true },
};

/*
 * Key install time without changing the library: libktls logs "handshake
 * done" (DEBUG) as soon as gnutls_handshake() succeeds and "kTLS: TX kernel,
 * RX kernel" (INFO) once both keys are in the kernel; this callback times
 * the gap.  Only connections where both keys went in are counted.
 */
struct key_timer {
	double t_done, sum;
	uint64_t n;
};

static void key_timer_log(enum ktls_log_level level, const char *message, void *userdata)
{
	struct key_timer *k = userdata;
	double t = now_seconds();

	(void)level;
	if (strncmp(message, "handshake done", 14) == 0) {
		k->t_done = t;
	} else if (strncmp(message, "kTLS: ", 6) == 0) {
		if (k->t_done > 0 && strncmp(message, "kTLS: TX kernel, RX kernel", 26) == 0) {
			k->sum += t - k->t_done;
			k->n++;
		}
		k->t_done = 0;
	}
}

static int hs_config(struct bench *b, enum ktls_role role, int row, const char *dir,
		     struct key_timer *kt, struct ktls_config **ret)
{
	char priority[200], cert[PATH_MAX], key[PATH_MAX];
	int r = ktls_config_new(role, ret);

	if (r < 0)
		return r;
	snprintf(priority, sizeof(priority), "NORMAL:-CIPHER-ALL:+%s:-VERS-ALL:+VERS-TLS%s",
		 b->report->cipher, hs_rows[row].version);
	snprintf(cert, sizeof(cert), "%s/cert.pem", dir);
	snprintf(key, sizeof(key), "%s/key.pem", dir);
	if (ktls_config_set_priority(*ret, priority) < 0 ||
	    (role == KTLS_ROLE_SERVER ? ktls_config_add_cert_file(*ret, cert, key)
				      : ktls_config_set_ca_file(*ret, cert)) < 0 ||
	    ktls_config_set_log(*ret, key_timer_log, KTLS_LOG_DEBUG, kt) < 0 ||
	    (!hs_rows[row].resume && ktls_config_set_resumption(*ret, 0, 0, 0) < 0))
		return -EINVAL;
	return 0;
}

/* What the server process sends back. */
struct hs_result {
	int status;
	char reason[300];
	uint64_t count;
	struct bench_side side;
	struct key_timer kt;
};

/*
 * The server: accept, full handshake, one byte to the client, read up to the
 * client's close_notify, close; until @ctl is readable.  Neither side closes
 * before both have their keys in the kernel: a socket the peer has already
 * closed is no longer ESTABLISHED, and the kernel refuses TCP_ULP on it.
 */
static void hs_server(struct ktls_config *cfg, struct key_timer *kt, int lfd, int ctl,
		      struct hs_result *res)
{
	double u0 = 0, s0 = 0, u1, s1;
	bool started = false;

	for (;;) {
		struct pollfd p[2] = { { .fd = lfd, .events = POLLIN }, { .fd = ctl, .events = POLLIN } };
		struct ktls_conn *conn = NULL;
		int fd, ret;

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			res->status = -errno;
			snprintf(res->reason, sizeof(res->reason), "server: poll: %s", strerror(errno));
			break;
		}
		if (p[1].revents != 0)
			break;
		fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0) {
			res->status = -errno;
			snprintf(res->reason, sizeof(res->reason), "server: accept: %s", strerror(errno));
			break;
		}
		/* TLS 1.3 flights are small writes: without this Nagle meets delayed ACKs (40 ms) */
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int){ 1 }, sizeof(int));
		if (!started) {
			rusage_now(&u0, &s0);
			started = true;
		}
		ret = ktls_conn_new(cfg, fd, KTLS_CONN_OWN_FD, &conn);
		if (ret == 0)
			ret = ktls_conn_handshake(conn);
		if (ret == 0 && (ret = (int)ktls_conn_send(conn, "x", 1)) == 1)
			ret = (int)ktls_conn_recv(conn, &(char){ 0 }, 1); /* 0: close_notify */
		if (ret != 0) {
			if (ret > 0)
				ret = -EPROTO;
			res->status = ret;
			snprintf(res->reason, sizeof(res->reason), "server: %s",
				 conn != NULL ? ktls_conn_error(conn) : ktls_config_error(cfg));
			ktls_conn_free(conn);
			break;
		}
		res->count++;
		ktls_conn_free(conn);
	}
	rusage_now(&u1, &s1);
	if (started) {
		res->side.user_s = u1 - u0;
		res->side.sys_s = s1 - s0;
	}
	res->kt = *kt;
}

static void run_handshakes(struct bench *b, struct bench_handshake *h, int row, const char *dir)
{
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(addr);
	struct key_timer server_kt = { 0 }, client_kt = { 0 };
	struct ktls_config *server = NULL, *client = NULL;
	struct hs_result res = { 0 };
	int lfd = -1, ctl[2] = { -1, -1 }, back[2] = { -1, -1 }, status, ret = 0;
	double t0, u0, s0, u1, s1;
	bool got;
	pid_t pid;

	h->status = BENCH_FAILED;
	if (hs_config(b, KTLS_ROLE_SERVER, row, dir, &server_kt, &server) < 0 ||
	    hs_config(b, KTLS_ROLE_CLIENT, row, dir, &client_kt, &client) < 0) {
		snprintf(h->reason, sizeof(h->reason), "configuration: %s",
			 client != NULL ? ktls_config_error(client)
			 : server != NULL ? ktls_config_error(server) : "out of memory");
		goto out;
	}
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(lfd, 64) < 0 ||
	    getsockname(lfd, (struct sockaddr *)&addr, &alen) < 0 || pipe2(ctl, O_CLOEXEC) < 0 ||
	    pipe2(back, O_CLOEXEC) < 0) {
		snprintf(h->reason, sizeof(h->reason), "listening socket or pipes: %s", strerror(errno));
		goto out;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		snprintf(h->reason, sizeof(h->reason), "fork: %s", strerror(errno));
		goto out;
	}
	if (pid == 0) {
		close(ctl[1]);
		close(back[0]);
		hs_server(server, &server_kt, lfd, ctl[0], &res);
		_exit(write(back[1], &res, sizeof(res)) == (ssize_t)sizeof(res) ? 0 : 1);
	}
	close(ctl[0]);
	close(back[1]);
	ctl[0] = back[1] = -1;
	rusage_now(&u0, &s0);
	t0 = now_seconds();
	h->kernel_keys = true;
	while (now_seconds() < t0 + b->report->handshake_duration_s) {
		struct ktls_conn *conn = NULL;
		unsigned char buf[64];
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
			ret = -errno;
			snprintf(h->reason, sizeof(h->reason), "client: connect: %s", strerror(errno));
			if (fd >= 0)
				close(fd);
			break;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int){ 1 }, sizeof(int));
		ret = ktls_conn_new(client, fd, KTLS_CONN_OWN_FD, &conn);
		if (ret == 0)
			ret = ktls_conn_set_server_name(conn, "localhost");
		if (ret == 0)
			ret = ktls_conn_handshake(conn);
		if (ret < 0) {
			snprintf(h->reason, sizeof(h->reason), "client: %s",
				 conn != NULL ? ktls_conn_error(conn) : ktls_config_error(client));
			ktls_conn_free(conn);
			break;
		}
		if (h->count == 0)
			h->kernel_keys = kernel_holds_key(ktls_conn_fd(conn), TLS_TX) &&
					 kernel_holds_key(ktls_conn_fd(conn), TLS_RX);
		{
			struct ktls_info info;

			/* The first connection of a resumed row is the full one that seeds it. */
			ktls_conn_get_info(conn, &info);
			if (info.resumed != (hs_rows[row].resume && h->count > 0)) {
				ret = -EPROTO;
				snprintf(h->reason, sizeof(h->reason),
					 "client: connection %llu was %s", (unsigned long long)h->count + 1,
					 info.resumed ? "resumed" : "not resumed");
				ktls_conn_free(conn);
				break;
			}
		}
		/* the server's byte (TLS 1.3 tickets are read on the way), then close_notify */
		if (ktls_conn_recv(conn, buf, sizeof(buf)) != 1 || ktls_conn_shutdown(conn) < 0) {
			ret = -EPROTO;
			snprintf(h->reason, sizeof(h->reason), "client: %s", ktls_conn_error(conn));
			ktls_conn_free(conn);
			break;
		}
		ktls_conn_free(conn);
		h->count++;
	}
	rusage_now(&u1, &s1);
	h->seconds = now_seconds() - t0;
	h->client.user_s = u1 - u0;
	h->client.sys_s = s1 - s0;
	got = write(ctl[1], "x", 1) == 1 && read_all(back[0], &res, sizeof(res));
	waitpid(pid, &status, 0);
	if (ret < 0 || !got || res.status < 0) {
		if (h->reason[0] == '\0')
			snprintf(h->reason, sizeof(h->reason), "%s",
				 !got ? "the server process reported nothing" : res.reason);
		goto out;
	}
	if (res.count != h->count) {
		snprintf(h->reason, sizeof(h->reason), "client completed %llu handshakes, server %llu",
			 (unsigned long long)h->count, (unsigned long long)res.count);
		goto out;
	}
	h->server = res.side;
	h->key_installs = client_kt.n + res.kt.n;
	if (h->key_installs > 0)
		h->key_install_us = (client_kt.sum + res.kt.sum) * 1e6 / (double)h->key_installs;
	h->status = BENCH_OK;
out:
	if (lfd >= 0)
		close(lfd);
	for (int i = 0; i < 2; i++) {
		if (ctl[i] >= 0)
			close(ctl[i]);
		if (back[i] >= 0)
			close(back[i]);
	}
	ktls_config_unref(server);
	ktls_config_unref(client);
}

/* ---- environment -------------------------------------------------------- */

static void environment(struct bench_report *r)
{
	struct utsname u;
	char line[4096];
	FILE *f;

	if (uname(&u) == 0)
		snprintf(r->kernel, sizeof(r->kernel), "Linux %.64s %.32s", u.release, u.machine);
	snprintf(r->cpu, sizeof(r->cpu), "unknown");
	r->cpu_aes = -1;
	f = fopen("/proc/cpuinfo", "r");
	while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
		char *colon = strchr(line, ':');

		if (colon == NULL)
			continue;
		line[strcspn(line, "\n")] = '\0';
		colon += strspn(colon, ": \t");
		if (strncmp(line, "model name", 10) == 0 && strcmp(r->cpu, "unknown") == 0) {
			snprintf(r->cpu, sizeof(r->cpu), "%s", colon);
		} else if (strncmp(line, "flags", 5) == 0 && r->cpu_aes < 0) {
			size_t len = strlen(colon), w = 3;
			const char *p = colon;

			/* the word "aes", not "vaes" or "aes_..." */
			r->cpu_aes = 0;
			while ((p = strstr(p, "aes")) != NULL) {
				if ((p == colon || p[-1] == ' ') && (p[w] == ' ' || p + w == colon + len))
					r->cpu_aes = 1;
				p += w;
			}
		}
	}
	if (f != NULL)
		fclose(f);
	snprintf(r->gnutls_version, sizeof(r->gnutls_version), "%s", gnutls_check_version(NULL));
}

/*
 * How this kernel books its own work in getrusage: read /dev/zero (work done
 * by the kernel only: it clears our buffer) until about 0.2 s of CPU time has
 * passed, at most 3 s of wall time, and see whether it came back as user or
 * system time.  User-mode Linux books it as user time, so there the "usr"
 * columns include the kernel's work (kTLS crypto, TCP).
 */
static void cpu_accounting_probe(struct bench_report *r)
{
	size_t size = 1u << 20;
	char *buf = malloc(size);
	int fd = open("/dev/zero", O_RDONLY | O_CLOEXEC);
	double u0, s0, u1, s1, t_end = now_seconds() + 3;
	bool ok = buf != NULL && fd >= 0;

	rusage_now(&u0, &s0);
	u1 = u0;
	s1 = s0;
	while (ok && u1 - u0 + s1 - s0 < 0.2 && now_seconds() < t_end) {
		for (int i = 0; ok && i < 16; i++)
			ok = read(fd, buf, size) == (ssize_t)size;
		rusage_now(&u1, &s1);
	}
	if (ok) {
		r->acct_measured = true;
		r->acct_user_s = u1 - u0;
		r->acct_sys_s = s1 - s0;
	}
	free(buf);
	if (fd >= 0)
		close(fd);
}

/* ---- options, payload, the run ----------------------------------------- */

static int make_payload(uint64_t size)
{
	const char *dirs[] = { "/dev/shm", getenv("TMPDIR"), "/tmp" };
	unsigned char *buf = malloc(1u << 20);
	int fd = -1;

	for (size_t i = 0; buf != NULL && fd < 0 && i < 3; i++) {
		char path[PATH_MAX];

		if (dirs[i] == NULL)
			continue;
		snprintf(path, sizeof(path), "%s/ktls-bench-XXXXXX", dirs[i]);
		fd = mkostemp(path, O_CLOEXEC);
		if (fd >= 0)
			unlink(path); /* the open file is all we need */
	}
	for (uint64_t done = 0; fd >= 0 && done < size;) {
		size_t n = size - done < (1u << 20) ? (size_t)(size - done) : (1u << 20);

		if (gnutls_rnd(GNUTLS_RND_NONCE, buf, n) < 0 || write(fd, buf, n) != (ssize_t)n) {
			close(fd);
			fd = -1;
			break;
		}
		done += n;
	}
	free(buf);
	return fd;
}

static int configure(struct bench *b, struct ktls_config **ret, enum ktls_role role,
		     enum ktls_offload rx)
{
	struct ktls_config *c;
	int ret_code = ktls_config_new(role, &c);

	if (ret_code < 0)
		return ret_code;
	*ret = c;
	if (ktls_config_set_priority(c, b->priority) < 0 ||
	    (role == KTLS_ROLE_SERVER ? ktls_config_add_cert_file(c, b->cert, b->key)
				      : ktls_config_set_ca_file(c, b->cert)) < 0) {
		fprintf(stderr, "ktls bench: %s\n", ktls_config_error(c));
		return -EINVAL;
	}
	/*
	 * The receiver takes kernel RX where it can and keeps TX in GnuTLS; the
	 * kTLS sender requires kernel TX and leaves RX alone.  So TlsTxSw counts
	 * the sender only and TlsRxSw the receiver only.
	 */
	if (role == KTLS_ROLE_SERVER) {
		ktls_config_set_offload(c, KTLS_DIR_TX, KTLS_OFFLOAD_OFF);
		ktls_config_set_offload(c, KTLS_DIR_RX, rx);
	} else {
		ktls_config_set_offload(c, KTLS_DIR_TX, KTLS_OFFLOAD_REQUIRE);
		ktls_config_set_offload(c, KTLS_DIR_RX, KTLS_OFFLOAD_OFF);
	}
	return 0;
}

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: ktls bench [--cipher NAME] [--tls 1.2|1.3] [--size SIZE] [--record-size BYTES]\n"
		"                  [--duration SECONDS] [--bytes SIZE] [--quick] [--json]\n"
		"                  [--json-file FILE] [--svg FILE] [--kernel uml]\n\n"
		"Compares, over loopback between a sender and a receiver process, for the same\n"
		"payload and cipher: 1 userspace GnuTLS pread + gnutls_record_send, 2 GnuTLS\n"
		"gnutls_record_send_file, 3 kTLS send, 4 kTLS sendfile, 5 kTLS splice by io_uring\n"
		"(libktls's engine: ring handshake, then file -> pipe -> socket splices), 6 cleartext TCP sendfile, 7 OpenSSL 3's own kTLS SSL_sendfile\n"
		"(an OpenSSL server; when built with OpenSSL).  Each mode re-sends a random payload\n"
		"file for the duration and reports throughput, user and system CPU seconds per GiB\n"
		"on each side, the tool's own I/O calls per GiB, and records per second; the receiver\n"
		"(the same libktls receiver, kernel RX where possible; a client for mode 7) checks\n"
		"every byte by SHA-256.\n"
		"Then receive-side modes with one kTLS sendfile sender: GnuTLS decrypt, kTLS RX into\n"
		"ktls_conn_recv, kTLS RX spliced to /dev/null (not hashed) or to a /dev/shm file\n"
		"(hashed after the run); and full TLS 1.2/1.3 handshakes per second with ECDSA P-256\n"
		"and RSA-2048 certificates (1 s per row with --quick, else 3 s), CPU per handshake on\n"
		"each side and the kernel key install time.\n\n"
		"  --cipher NAME       GnuTLS cipher name: AES-128-GCM (default), AES-256-GCM,\n"
		"                      AES-128-CCM, CHACHA20-POLY1305\n"
		"  --tls 1.2|1.3       protocol version (default 1.3)\n"
		"  --size SIZE         payload file size (default 64 MiB; a number of bytes, or\n"
		"                      with K, M, G or KiB, MiB, GiB, all 1024-based; up to 16 GiB)\n"
		"  --record-size BYTES bytes per gnutls_record_send / send call in modes 1 and 3\n"
		"                      (1..16384, default 16384); sendfile modes always fill records\n"
		"  --duration SECONDS  per mode (default 5; 0.1 to 86400)\n"
		"  --bytes SIZE        stop a mode after SIZE bytes even before the duration\n"
		"  --quick             about 30 seconds in all: 2 s and at most 256 MiB per mode,\n"
		"                      an 8 MiB payload\n"
		"  --json              the results as JSON on stdout instead of the table\n"
		"  --json-file FILE    also write the results as JSON to FILE\n"
		"  --svg FILE          write a bar chart of throughput and CPU per GiB\n"
		"  --kernel uml        run the same benchmark inside user-mode Linux (kernel with\n"
		"                      kTLS) through the source tree's tests/kernel/uml-run, found\n"
		"                      via the build-time KTLS_SOURCE_DIR (%s);\n"
		"                      so this works for the uninstalled tool only\n",
		KTLS_SOURCE_DIR);
}

/* --kernel uml: exec uml-run with this binary and the same options, minus --kernel. */
static int run_in_uml(int argc, char **argv)
{
	char self[PATH_MAX], runner[PATH_MAX];
	char **args = calloc((size_t)argc + 6, sizeof(*args));
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	int k = 0;

	if (args == NULL || n < 0) {
		fprintf(stderr, "ktls bench: cannot find this program: %s\n", strerror(errno));
		return 1;
	}
	self[n] = '\0';
	snprintf(runner, sizeof(runner), "%s/tests/kernel/uml-run", KTLS_SOURCE_DIR);
	if (access(runner, X_OK) != 0) {
		fprintf(stderr, "ktls bench: --kernel uml needs %s (the source tree this tool was "
				"built from): %s\n", runner, strerror(errno));
		return 1;
	}
	args[k++] = runner;
	args[k++] = "--timeout";
	args[k++] = "1200";
	args[k++] = self;
	args[k++] = "bench";
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--kernel") == 0) {
			i++;
			continue;
		}
		if (strncmp(argv[i], "--kernel=", 9) == 0)
			continue;
		args[k++] = argv[i];
	}
	args[k] = NULL;
	fflush(NULL);
	execv(runner, args);
	fprintf(stderr, "ktls bench: cannot run %s: %s\n", runner, strerror(errno));
	return 1;
}

static int write_file(const char *path, const struct bench_report *r,
		      void (*writer)(FILE *, const struct bench_report *))
{
	FILE *f = fopen(path, "w");

	if (f == NULL) {
		fprintf(stderr, "ktls bench: %s: %s\n", path, strerror(errno));
		return -1;
	}
	writer(f, r);
	if (fclose(f) != 0) {
		fprintf(stderr, "ktls bench: %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

int cmd_bench(int argc, char **argv)
{
	static const struct option options[] = {
		{ "cipher", required_argument, NULL, 'c' },
		{ "tls", required_argument, NULL, 't' },
		{ "size", required_argument, NULL, 's' },
		{ "record-size", required_argument, NULL, 'r' },
		{ "duration", required_argument, NULL, 'd' },
		{ "bytes", required_argument, NULL, 'b' },
		{ "quick", no_argument, NULL, 'q' },
		{ "json", no_argument, NULL, 'J' },
		{ "json-file", required_argument, NULL, 'j' },
		{ "svg", required_argument, NULL, 'g' },
		{ "kernel", required_argument, NULL, 'k' },
		TOOL_OPTIONS_COMMON,
		{ NULL, 0, NULL, 0 },
	};
	static struct bench_report report;
	struct bench b = { .report = &report, .file_fd = -1, .record_size = MAX_RECORD };
	const char *json = NULL, *svg = NULL, *kernel = NULL, *version = "1.3";
	const char *cipher = "AES-128-GCM";
	uint64_t size = 64u << 20;
	double duration = 5;
	bool quick = false, size_set = false, duration_set = false, bytes_set = false;
	char dir[] = "/tmp/ktls-bench-XXXXXX", rsa_dir[] = "/tmp/ktls-bench-rsa-XXXXXX";
	bool rsa_made = false, json_stdout = false;
	char err[200];
	int opt, ret = 1;

	while ((opt = tool_getopt(argc, argv, "bench", "h", options)) != -1) {
		uint64_t v;

		switch (opt) {
		case 'c':
			cipher = optarg;
			break;
		case 't':
			if (tool_parse_version(optarg) < 0)
				return tool_usage_error("bench", "--tls: '%s' is not 1.2 or 1.3", optarg);
			version = optarg;
			break;
		case 's':
			if (tool_parse_size(optarg, 1, 16ull << 30, &size, err, sizeof(err)) < 0)
				return tool_usage_error("bench", "--size: %s", err);
			size_set = true;
			break;
		case 'r':
			if (tool_parse_uint(optarg, 1, MAX_RECORD, &v, err, sizeof(err)) < 0)
				return tool_usage_error("bench", "--record-size: %s", err);
			b.record_size = (unsigned int)v;
			break;
		case 'd':
			if (tool_parse_seconds(optarg, 100, 86400000, &v, err, sizeof(err)) < 0)
				return tool_usage_error("bench", "--duration: %s", err);
			duration = (double)v / 1000;
			duration_set = true;
			break;
		case 'b':
			if (tool_parse_size(optarg, 1, UINT64_MAX, &b.max_bytes, err, sizeof(err)) < 0)
				return tool_usage_error("bench", "--bytes: %s", err);
			bytes_set = true;
			break;
		case 'q':
			quick = true;
			break;
		case 'J':
			json_stdout = true;
			break;
		case 'j':
			json = optarg;
			break;
		case 'g':
			svg = optarg;
			break;
		case 'k':
			kernel = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case TOOL_OPT_VERSION:
			return tool_print_version();
		default:
			return TOOL_EXIT_USAGE;
		}
	}
	if (optind < argc)
		return tool_usage_error("bench", "unexpected argument '%s'", argv[optind]);
	if (kernel != NULL) {
		if (strcmp(kernel, "uml") != 0)
			return tool_usage_error("bench", "--kernel: '%s' is not 'uml'", kernel);
		return run_in_uml(argc, argv);
	}
	if (quick) {
		size = size_set ? size : 8u << 20;
		duration = duration_set ? duration : 2;
		b.max_bytes = bytes_set ? b.max_bytes : 256u << 20;
	}
	b.cipher = KTLS_CIPHER_NONE;
	for (int i = 0; i < (KTLS_CIPHER_LAST + 1); i++)
		if (strcmp(cipher, ktls_cipher_name((enum ktls_cipher)i)) == 0)
			b.cipher = (enum ktls_cipher)i;
	if (b.cipher == KTLS_CIPHER_NONE)
		return tool_usage_error("bench", "--cipher: '%s' is not one the kernel can carry "
					"(AES-128-GCM, AES-256-GCM, AES-128-CCM, CHACHA20-POLY1305)",
					cipher);
	b.file_size = size;
	b.duration = duration;
	snprintf(b.priority, sizeof(b.priority), "NORMAL:-CIPHER-ALL:+%s:-VERS-ALL:+VERS-TLS%s",
		 cipher, version);
	signal(SIGPIPE, SIG_IGN);

	snprintf(report.cipher, sizeof(report.cipher), "%s", cipher);
	snprintf(report.tls_version, sizeof(report.tls_version), "%s", version);
	report.payload_bytes = size;
	report.record_size = b.record_size;
	report.duration_s = duration;
	report.max_bytes = b.max_bytes;
	environment(&report);
	cpu_accounting_probe(&report);
#ifdef KTLS_BENCH_OPENSSL
	snprintf(report.openssl_version, sizeof(report.openssl_version), "%s", bench_openssl_version());
#endif
	/* Probe first, once: the receiver processes inherit the answer, so no probe keys
	 * land in the counters measured around each mode. */
	ktls_probe(&b.caps);
	/*
	 * The engine probes zero-copy sends once per process with a dummy TX
	 * key, which TlsTxSw counts: have it done now, outside mode 5's deltas.
	 */
	ktls_ring_zerocopy_send();
	report.tls_ulp = b.caps.ulp_available;
	if (!b.caps.ulp_available)
		snprintf(report.tls_ulp_reason, sizeof(report.tls_ulp_reason), "%s", b.caps.summary);

	if (mkdtemp(dir) == NULL || tool_selfsigned(dir, "localhost", TOOL_KEY_ECDSA_P256, NULL, 0) < 0) {
		fprintf(stderr, "ktls bench: cannot create a temporary certificate\n");
		return 1;
	}
	snprintf(b.cert, sizeof(b.cert), "%s/cert.pem", dir);
	snprintf(b.key, sizeof(b.key), "%s/key.pem", dir);
	if (configure(&b, &b.server, KTLS_ROLE_SERVER, KTLS_OFFLOAD_AUTO) < 0 ||
	    configure(&b, &b.server_rx_off, KTLS_ROLE_SERVER, KTLS_OFFLOAD_OFF) < 0 ||
	    configure(&b, &b.server_rx_require, KTLS_ROLE_SERVER, KTLS_OFFLOAD_REQUIRE) < 0 ||
	    configure(&b, &b.client, KTLS_ROLE_CLIENT, KTLS_OFFLOAD_OFF) < 0)
		goto out;
	/*
	 * The OpenSSL mode's receiver is a client (OpenSSL is the server): kernel
	 * RX and GnuTLS TX like the server receiver, the chain checked against the
	 * self-signed certificate, no host name (nothing to compare it with).
	 */
	if (configure(&b, &b.client_rx, KTLS_ROLE_CLIENT, KTLS_OFFLOAD_AUTO) < 0)
		goto out;
	if (ktls_config_set_offload(b.client_rx, KTLS_DIR_TX, KTLS_OFFLOAD_OFF) < 0 ||
	    ktls_config_set_offload(b.client_rx, KTLS_DIR_RX, KTLS_OFFLOAD_AUTO) < 0 ||
	    ktls_config_set_verify(b.client_rx, true, false) < 0) {
		fprintf(stderr, "ktls bench: %s\n", ktls_config_error(b.client_rx));
		goto out;
	}
	if (gnutls_certificate_allocate_credentials(&b.xcred) < 0 ||
	    gnutls_certificate_set_x509_trust_file(b.xcred, b.cert, GNUTLS_X509_FMT_PEM) <= 0) {
		fprintf(stderr, "ktls bench: cannot load the temporary certificate into GnuTLS\n");
		goto out;
	}
	b.file_fd = make_payload(size);
	if (b.file_fd < 0) {
		fprintf(stderr, "ktls bench: cannot write the %llu-byte payload file\n",
			(unsigned long long)size);
		goto out;
	}

	ret = 0;
	for (int i = 0; i < BENCH_MODE_COUNT; i++) {
		struct bench_mode *m = &report.modes[i];

		m->id = i + 1;
		m->name = mode_names[i].name;
		m->title = mode_names[i].title;
		fprintf(stderr, "ktls bench: mode %d %s...\n", m->id, m->name);
		run_mode(&b, m, 0);
		if (m->status == BENCH_FAILED)
			ret = 1;
	}
	for (int i = 0; i < BENCH_RECV_MODE_COUNT; i++) {
		struct bench_mode *m = &report.recv_modes[i];

		m->id = i + 1;
		m->name = recv_mode_names[i].name;
		m->title = recv_mode_names[i].title;
		fprintf(stderr, "ktls bench: receive mode %d %s...\n", m->id, m->name);
		run_mode(&b, m, m->id);
		if (m->status == BENCH_FAILED)
			ret = 1;
	}
	report.handshake_duration_s = quick ? 1 : 3;
	rsa_made = mkdtemp(rsa_dir) != NULL;
	if (rsa_made && tool_selfsigned(rsa_dir, "localhost", TOOL_KEY_RSA_2048, NULL, 0) < 0)
		fprintf(stderr, "ktls bench: cannot create the RSA-2048 certificate\n");
	for (int i = 0; i < BENCH_HANDSHAKE_COUNT; i++) {
		struct bench_handshake *h = &report.handshakes[i];

		h->name = hs_rows[i].name;
		h->title = hs_rows[i].title;
		fprintf(stderr, "ktls bench: handshakes %d %s...\n", i + 1, h->name);
		run_handshakes(&b, h, i, hs_rows[i].key == TOOL_KEY_RSA_2048 ? rsa_dir : dir);
		if (h->status == BENCH_FAILED)
			ret = 1;
	}
	/* After the runs: /proc/crypto names the driver once the kernel instantiated the AEAD. */
	tool_kernel_aead_driver(b.cipher, report.kernel_aead, sizeof(report.kernel_aead));
	report.kernel_crypto_generic = tool_crypto_driver_portable(report.kernel_aead);

	if (json_stdout)
		bench_report_json(stdout, &report);
	else
		bench_report_table(stdout, &report);
	if (json != NULL && write_file(json, &report, bench_report_json) < 0)
		ret = 1;
	if (svg != NULL && write_file(svg, &report, bench_report_svg) < 0)
		ret = 1;
out:
	if (b.file_fd >= 0)
		close(b.file_fd);
	if (b.xcred != NULL)
		gnutls_certificate_free_credentials(b.xcred);
	ktls_config_unref(b.server);
	ktls_config_unref(b.server_rx_off);
	ktls_config_unref(b.server_rx_require);
	ktls_config_unref(b.client);
	ktls_config_unref(b.client_rx);
	unlink(b.cert);
	unlink(b.key);
	rmdir(dir);
	if (rsa_made) {
		char path[PATH_MAX];

		snprintf(path, sizeof(path), "%s/cert.pem", rsa_dir);
		unlink(path);
		snprintf(path, sizeof(path), "%s/key.pem", rsa_dir);
		unlink(path);
		rmdir(rsa_dir);
	}
	return ret;
}
