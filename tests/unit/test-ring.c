/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The io_uring engine through the public API, on one thread: a client on a
 * ring libktls owns and a server on the application's own struct io_uring
 * (CQEs handed over with ktls_ring_process_cqe()).  Handshake, send, recv,
 * sendfile, close_notify, timeouts, cancellation, one operation per
 * direction, misuse.  On a kernel with kTLS the same program checks that the
 * keys went to the kernel (the kernel suite runs it too).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <liburing.h>

#include "unit.h"

#define TIMEOUT_MS 10000

static struct unit_cert ca, leaf;

struct result {
	bool done;
	ssize_t value;
	unsigned char *data; /* received bytes, appended */
	size_t len, cap;
};

static void on_done(struct ktls_conn *conn, ssize_t value, const void *data, void *userdata)
{
	struct result *r = userdata;

	(void)conn;
	r->done = true;
	r->value = value;
	if (data != NULL && value > 0) {
		if (r->len + (size_t)value > r->cap) {
			r->cap = (r->len + (size_t)value) * 2;
			r->data = realloc(r->data, r->cap);
		}
		memcpy(r->data + r->len, data, (size_t)value);
		r->len += (size_t)value;
	}
}

/*
 * Every setsockopt() of this process, counted where it hands the kernel
 * TLS state (the ULP, a key), then made: libktls, a shared library, calls
 * it through the dynamic linker, which finds this definition first.
 */
static int tls_setsockopts;

int setsockopt(int fd, int level, int name, const void *val, socklen_t len)
{
	if ((level == SOL_TCP && name == TCP_ULP) || level == SOL_TLS)
		tls_setsockopts++;
	return (int)syscall(SYS_setsockopt, fd, level, name, val, len);
}

static struct io_uring app_uring;
static struct ktls_ring *client_ring, *server_ring;
static int foreign_cqes;

/* Drive both rings until @a (and @b, if given) are done, or fail after a while. */
static bool drive(struct result *a, struct result *b)
{
	for (int i = 0; i < TIMEOUT_MS / 10; i++) {
		struct io_uring_cqe *cqe;

		if (a->done && (b == NULL || b->done))
			return true;
		ktls_ring_run(client_ring, 0);
		io_uring_submit(&app_uring);
		while (io_uring_peek_cqe(&app_uring, &cqe) == 0) {
			struct io_uring_cqe copy = *cqe;

			io_uring_cqe_seen(&app_uring, cqe);
			if (ktls_ring_process_cqe(server_ring, &copy) == 0)
				foreign_cqes++;
		}
		usleep(2000);
		if (a->done && (b == NULL || b->done))
			return true;
		usleep(8000);
	}
	return false;
}

static void reset(struct result *r)
{
	free(r->data);
	memset(r, 0, sizeof(*r));
}

/* Receive on @conn until @want bytes are in @r (or a receive fails). */
static void recv_into(struct ktls_conn *conn, struct result *r, size_t want)
{
	while (r->len < want) {
		struct result chunk = { 0 };

		if (ktls_conn_ring_recv(conn, 65536, TIMEOUT_MS, on_done, &chunk) < 0 ||
		    !drive(&chunk, NULL) || chunk.value <= 0) {
			tap_diag("recv: %zd %s", chunk.value, ktls_conn_error(conn));
			free(chunk.data);
			return;
		}
		r->data = realloc(r->data, r->len + chunk.len);
		memcpy(r->data + r->len, chunk.data, chunk.len);
		r->len += chunk.len;
		free(chunk.data);
	}
}

/* sendfile @count bytes of @file from @offset; the peer gets exactly @data + @offset. */
static bool sendfile_case(struct ktls_conn *from, struct ktls_conn *to, int file, off_t offset,
			  size_t count, const unsigned char *data)
{
	struct result rs = { 0 }, rc = { 0 };
	bool ok;

	ktls_conn_ring_sendfile(from, file, offset, count, TIMEOUT_MS, on_done, &rs);
	recv_into(to, &rc, count);
	drive(&rs, NULL);
	ok = rs.value == (ssize_t)count && rc.len == count &&
	     memcmp(rc.data, data + offset, count) == 0;
	if (!ok)
		tap_diag("sendfile: %zd (%s), received %zu", rs.value, ktls_conn_error(from), rc.len);
	reset(&rs);
	reset(&rc);
	return ok;
}

/*
 * ktls_ring_accept() hands over sockets that ktls_conn_new() and
 * ktls_conn_ring_attach() take without asking the kernel what they are
 * (a TCP listener's, already O_NONBLOCK); a Unix listener's are still
 * refused by name.
 */
struct accepted {
	struct ktls_config *config;
	int fd;
	int new_ret;
	int attach_ret;
	bool nonblocking;
	char error[256];
	struct ktls_conn *conn;
};

/*
 * Receives each started from the callback of the one before: a result at
 * hand (the rest of a record already read) comes in the same
 * ktls_ring_run() as the receive that left it, never from the call that
 * starts it.
 */
struct chain {
	unsigned char got[1000];
	size_t len;
	int first_run, last_run; /* client_runs when the first and the last chunk came */
	bool starting, from_start, done;
	ssize_t err;
};
static int client_runs;

static void on_chain(struct ktls_conn *conn, ssize_t value, const void *data, void *userdata)
{
	struct chain *c = userdata;

	if (c->starting)
		c->from_start = true;
	if (value <= 0 || c->len + (size_t)value > sizeof(c->got)) {
		c->err = value <= 0 ? value : -EMSGSIZE;
		c->done = true;
		return;
	}
	memcpy(c->got + c->len, data, (size_t)value);
	if (c->len == 0)
		c->first_run = client_runs;
	c->len += (size_t)value;
	c->last_run = client_runs;
	if (c->len == sizeof(c->got)) {
		c->done = true;
		return;
	}
	c->starting = true;
	c->err = ktls_conn_ring_recv(conn, 100, TIMEOUT_MS, on_chain, c);
	c->starting = false;
	if (c->err < 0)
		c->done = true;
}

/* Receives again from its callback after the end of the stream, @left times. */
struct eof_loop {
	int calls, left;
	ssize_t last;
};

static void on_eof_again(struct ktls_conn *conn, ssize_t value, const void *data, void *userdata)
{
	struct eof_loop *el = userdata;

	(void)data;
	el->calls++;
	el->last = value;
	if (value == 0 && el->left-- > 0)
		ktls_conn_ring_recv(conn, 100, TIMEOUT_MS, on_eof_again, el);
}

/* The application's own completions on a ring libktls runs (ktls_ring_set_cqe_callback). */
static uint64_t own_cqe_data[4];
static int own_cqes;

static void on_own_cqe(struct ktls_ring *ring, const struct io_uring_cqe *cqe, void *userdata)
{
	if (ring == client_ring && userdata == &own_cqes && own_cqes < 4)
		own_cqe_data[own_cqes++] = io_uring_cqe_get_data64(cqe);
}

/* Queue a NOP of the application's own on the ring libktls owns. */
static bool own_nop(uint64_t data)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ktls_ring_uring(client_ring));

	if (sqe == NULL)
		return false;
	io_uring_prep_nop(sqe);
	io_uring_sqe_set_data64(sqe, data);
	return true;
}

static void on_accept(struct ktls_ring *ring, int fd, void *userdata)
{
	struct accepted *a = userdata;

	if (fd < 0 || a->fd >= 0) {
		if (fd >= 0)
			close(fd);
		return;
	}
	a->fd = fd;
	a->new_ret = ktls_conn_new(a->config, fd, KTLS_CONN_OWN_FD, &a->conn);
	snprintf(a->error, sizeof(a->error), "%s", ktls_config_error(a->config));
	if (a->new_ret == 0) {
		a->attach_ret = ktls_conn_ring_attach(a->conn, ring);
		a->nonblocking = (fcntl(fd, F_GETFL) & O_NONBLOCK) != 0;
	} else {
		close(fd);
	}
}

static void accept_case(struct ktls_config *scfg, int family)
{
	struct accepted a = { .config = scfg, .fd = -1, .new_ret = 1, .attach_ret = 1 };
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int lfd = socket(family, SOCK_STREAM, 0), cfd;

	memset(&ss, 0, sizeof(ss));
	ss.ss_family = (sa_family_t)family;
	if (family == AF_INET) {
		((struct sockaddr_in *)&ss)->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sl = sizeof(struct sockaddr_in);
	} else {
		snprintf(((struct sockaddr_un *)&ss)->sun_path, sizeof(((struct sockaddr_un *)0)->sun_path),
			 "%s/accept.sock", unit_tmpdir());
		unlink(((struct sockaddr_un *)&ss)->sun_path);
		sl = sizeof(struct sockaddr_un);
	}
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&ss, sl) < 0 || listen(lfd, 4) < 0 ||
	    getsockname(lfd, (struct sockaddr *)&ss, &sl) < 0)
		tap_bail("no listener");
	tap_check(ktls_ring_accept(client_ring, lfd, on_accept, &a) == 0, "ring accept on a %s listener",
		  family == AF_INET ? "TCP" : "Unix");
	cfd = socket(family, SOCK_STREAM, 0);
	if (cfd < 0 || connect(cfd, (struct sockaddr *)&ss, sl) < 0)
		tap_bail("cannot connect");
	for (int i = 0; i < 100 && a.fd < 0; i++)
		ktls_ring_run(client_ring, 100);
	if (family == AF_INET)
		tap_check(a.new_ret == 0 && a.attach_ret == 0 && a.nonblocking,
			  "an accepted TCP socket: new %d, attach %d, O_NONBLOCK %d", a.new_ret,
			  a.attach_ret, a.nonblocking);
	else
		tap_check_err("an accepted Unix socket", a.new_ret, EINVAL, a.error,
			      "not a TCP socket", NULL);
	ktls_ring_accept_stop(client_ring, lfd);
	for (int i = 0; i < 20; i++)
		ktls_ring_run(client_ring, 10);
	ktls_conn_free(a.conn);
	close(cfd);
	close(lfd);
}

int main(void)
{
	const char *dir = unit_tmpdir();
	struct ktls_config *ccfg, *scfg;
	struct ktls_conn *client, *server;
	struct result rc = { 0 }, rs = { 0 };
	struct ktls_info info;
	struct io_uring_sqe *sqe;
	int cfd, sfd, ret;

	if (io_uring_queue_init(64, &app_uring, 0) < 0)
		tap_skip_all("io_uring is not available here");
	if (unit_cert_make(&ca, dir, "ca", UNIT_CERT_CA, "ring CA", NULL, NULL, false) < 0 ||
	    unit_cert_make(&leaf, dir, "server", UNIT_CERT_SERVER, "localhost", "localhost", &ca,
			   false) < 0)
		tap_bail("cannot make certificates");
	if (ktls_config_new(KTLS_ROLE_CLIENT, &ccfg) < 0 ||
	    ktls_config_set_ca_file(ccfg, ca.cert_path) < 0 ||
	    ktls_config_new(KTLS_ROLE_SERVER, &scfg) < 0 ||
	    ktls_config_add_cert_file(scfg, leaf.cert_path, leaf.key_path) < 0)
		tap_bail("config set-up failed");
	tap_check(ktls_ring_new(NULL, 0, &client_ring) == 0, "a ring libktls owns");
	tap_check(ktls_ring_new(&app_uring, 0, &server_ring) == 0 &&
			  ktls_ring_uring(server_ring) == &app_uring,
		  "an engine on the application's ring");
	{
		bool queued = own_nop(0x42);
		int ret1 = ktls_ring_set_cqe_callback(client_ring, on_own_cqe, &own_cqes);
		int n1 = ktls_ring_run(client_ring, 1000);

		tap_check(queued && ret1 == 0 && n1 == 1 && own_cqes == 1 && own_cqe_data[0] == 0x42,
			  "an application's own SQE on a ring libktls runs: its completion goes to its "
			  "callback (%d, %d)",
			  n1, own_cqes);
		queued = own_nop(0x43);
		ret1 = ktls_ring_set_cqe_callback(client_ring, NULL, NULL);
		n1 = ktls_ring_run(client_ring, 1000);
		tap_check(queued && ret1 == 0 && n1 == 0 && own_cqes == 1,
			  "without a callback it is dropped (%d, %d)", n1, own_cqes);
		tap_check(ktls_ring_set_cqe_callback(NULL, on_own_cqe, NULL) == -EINVAL,
			  "ktls_ring_set_cqe_callback(NULL): EINVAL");
	}
	if (unit_tcp_pair(&cfd, &sfd, false) < 0)
		tap_bail("no TCP pair");
	if (ktls_conn_new(ccfg, cfd, KTLS_CONN_OWN_FD, &client) < 0 ||
	    ktls_conn_set_server_name(client, "localhost") < 0 ||
	    ktls_conn_new(scfg, sfd, KTLS_CONN_OWN_FD, &server) < 0)
		tap_bail("conn set-up failed");

	/* misuse before attaching and before the handshake */
	tap_check_err("handshake without a ring", ktls_conn_ring_handshake(client, 0, on_done, &rc),
		      EINVAL, "not attached", NULL);
	tap_check(ktls_conn_ring_attach(client, client_ring) == 0 &&
			  ktls_conn_ring_attach(server, server_ring) == 0,
		  "attach both connections");
	tap_check_err("attach twice", ktls_conn_ring_attach(client, client_ring), EINVAL,
		      "one ring", NULL);
	tap_check_err("recv before the handshake", ktls_conn_ring_recv(client, 100, 0, on_done, &rc),
		      EINVAL, "before the handshake", NULL);
	tap_check_err("blocking API on a ring connection", ktls_conn_handshake(client), EINVAL,
		      "io_uring", NULL);

	/* an SQE of the application's own shares the ring */
	sqe = io_uring_get_sqe(&app_uring);
	io_uring_prep_nop(sqe);
	io_uring_sqe_set_data64(sqe, 42);

	{
		struct ktls_caps caps;

		ktls_caps_get(&caps); /* the probe's own setsockopt calls come first */
	}
	tls_setsockopts = 0;
	ktls_conn_ring_handshake(client, TIMEOUT_MS, on_done, &rc);
	ret = ktls_conn_ring_handshake(server, TIMEOUT_MS, on_done, &rs);
	tap_check(ret == 0 && ktls_conn_ring_busy(server) == 1, "handshake started (busy 1)");
	tap_check_err("a second operation beside the handshake",
		      ktls_conn_ring_send(server, "x", 1, 0, on_done, &rs), EINVAL,
		      "before the handshake", NULL);
	tap_check(drive(&rc, &rs) && rc.value == 0 && rs.value == 0,
		  "handshake through the rings: client %zd, server %zd", rc.value, rs.value);
	if (rc.value != 0 || rs.value != 0)
		tap_bail("client: %s; server: %s", ktls_conn_error(client), ktls_conn_error(server));
	tap_check(foreign_cqes == 1, "the application's own CQE was left to it (%d)", foreign_cqes);
	ktls_conn_get_info(server, &info);
	tap_diag("server TX %s, RX %s", info.tx.kernel ? "kernel" : info.tx.reason,
		 info.rx.kernel ? "kernel" : info.rx.reason);
	{
		struct ktls_caps caps;

		unsigned int f = ktls_ring_uring(client_ring)->features;

		ktls_probe(&caps);
		tap_check(info.tx.kernel == caps.ulp_available && info.rx.kernel == caps.ulp_available,
			  "the keys went to the kernel exactly when it has kTLS (%s)",
			  caps.ulp_available ? "yes" : "no");
		/*
		 * Where io_uring takes socket options in a chain (the engine
		 * uses it from the kernel that reports IORING_FEAT_NO_IOWAIT,
		 * 1 << 17: Linux 6.15), each side's ULP and keys ride with its
		 * last flight (the server's tickets, the client's Finished).
		 */
		if (!caps.ulp_available)
			tap_check(tls_setsockopts == 0, "no kTLS: no TLS socket option set (%d)",
				  tls_setsockopts);
		else if ((f & IORING_FEAT_CQE_SKIP) && (f & IORING_FEAT_LINKED_FILE) && (f & (1u << 17)))
			tap_check(tls_setsockopts == 0,
				  "the ULP and both keys went to the kernel as io_uring socket "
				  "commands, no setsockopt call (%d)",
				  tls_setsockopts);
		else
			tap_check(tls_setsockopts > 0,
				  "without io_uring socket commands for them, by setsockopt (%d calls)",
				  tls_setsockopts);
	}

	/* send and receive, both ways */
	size_t total = 300000;
	unsigned char *data = malloc(total);

	unit_fill(data, total, 0, 11);
	reset(&rc);
	reset(&rs);
	ktls_conn_ring_send(client, data, total, TIMEOUT_MS, on_done, &rc);
	recv_into(server, &rs, total);
	drive(&rc, NULL);
	tap_check(rc.value == (ssize_t)total && rs.len == total && memcmp(rs.data, data, total) == 0,
		  "%zu bytes client -> server, identical", total);

	/*
	 * More than the socket holds, from two buffers and not a whole number
	 * of records: kernel TX sends it with MSG_MORE and closes the last
	 * record after it (ring-tx.c), in several rounds as the peer reads.
	 * Then exactly three records' worth, which goes without that.
	 */
	{
		size_t big = (4u << 20) + 5;
		unsigned char *bytes = malloc(big);
		struct iovec two[2] = { { bytes, 1000 }, { bytes + 1000, big - 1000 } };

		unit_fill(bytes, big, 0, 13);
		for (int round = 0; round < 2; round++) {
			size_t n = round == 0 ? big : 3 * 16384;

			two[1].iov_len = n - 1000;
			reset(&rc);
			reset(&rs);
			ktls_conn_ring_sendv(client, two, 2, 0, TIMEOUT_MS, on_done, &rc);
			recv_into(server, &rs, n);
			drive(&rc, NULL);
			tap_check(rc.value == (ssize_t)n && rs.len == n &&
					  memcmp(rs.data, bytes, n) == 0,
				  "%zu bytes from two buffers client -> server, identical", n);
		}
		free(bytes);
	}

	/* one record read in ten receives chained from their callbacks */
	{
		struct chain ch = { 0 };

		reset(&rs);
		ktls_conn_ring_send(server, data, sizeof(ch.got), TIMEOUT_MS, on_done, &rs);
		drive(&rs, NULL);
		ch.err = ktls_conn_ring_recv(client, 100, TIMEOUT_MS, on_chain, &ch);
		for (int i = 0; i < TIMEOUT_MS / 10 && !ch.done && ch.err == 0; i++) {
			client_runs++;
			ktls_ring_run(client_ring, 10);
		}
		tap_check(rs.value == (ssize_t)sizeof(ch.got) && ch.len == sizeof(ch.got) &&
				  memcmp(ch.got, data, ch.len) == 0 && !ch.from_start,
			  "one record of %zu bytes in receives of 100 chained from their callbacks, "
			  "identical (%zu bytes, %s)",
			  sizeof(ch.got), ch.len, unit_errno_name((int)-ch.err));
		tap_check(ch.len == sizeof(ch.got) && ch.last_run == ch.first_run,
			  "the nine receives the record's rest answers come in the run of the first "
			  "(runs %d..%d)",
			  ch.first_run, ch.last_run);
	}

	/* one receive at a time; a receive times out; a cancelled one says so */
	struct result r1 = { 0 }, r2 = { 0 };

	tap_check(ktls_conn_ring_recv(client, 100, 200, on_done, &r1) == 0 &&
			  ktls_conn_ring_recv(client, 100, 0, on_done, &r2) == -EBUSY,
		  "a second receive while one is in flight: EBUSY");
	drive(&r1, NULL);
	tap_check(r1.done && r1.value == -ETIMEDOUT,
		  "a receive with nothing to read times out: %s", unit_errno_name((int)-r1.value));
	reset(&r1);
	ret = ktls_conn_ring_recv(client, 100, 0, on_done, &r1);
	ret = ret == 0 ? ktls_conn_ring_cancel(client) : ret;
	drive(&r1, NULL);
	tap_check(ret == 1 && r1.done && r1.value == -ECANCELED && ktls_conn_ring_busy(client) == 0,
		  "a cancelled receive ends with ECANCELED: %s", unit_errno_name((int)-r1.value));

	/* sendfile server -> client, from an offset */
	char path[4096];
	int file;

	unit_write_file(dir, "file.bin", data, total, path);
	file = open(path, O_RDONLY);
	{
		/* No descriptor left for a pipe: kernel TX reads and sends instead. */
		struct rlimit rl, low;
		int next = dup(0);

		close(next);
		getrlimit(RLIMIT_NOFILE, &rl);
		low = rl;
		low.rlim_cur = (rlim_t)next;
		setrlimit(RLIMIT_NOFILE, &low);
		tap_check(sendfile_case(server, client, file, 0, total, data),
			  "sendfile of %zu bytes with no descriptor left (%s), identical", total,
			  info.tx.kernel ? "read + kernel TLS send" : "GnuTLS");
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	tap_check(sendfile_case(server, client, file, 1000, total - 1000, data),
		  "sendfile of %zu bytes from offset 1000 (%s), identical", total - 1000,
		  info.tx.kernel ? "splice" : "GnuTLS");
	reset(&rs);
	ktls_conn_ring_sendfile(server, file, total - 10, 100, TIMEOUT_MS, on_done, &rs);
	drive(&rs, NULL);
	tap_check(rs.done && rs.value == -ENODATA, "sendfile past the end of the file: %s",
		  unit_errno_name((int)-rs.value));
	close(file);
	/* the 10 bytes it could send are in the stream: read them away */
	reset(&rc);
	ktls_conn_ring_recv(client, 16384, TIMEOUT_MS, on_done, &rc);
	drive(&rc, NULL);

	/* close_notify: the peer's receive ends with 0 */
	reset(&rs);
	reset(&rc);
	ktls_conn_ring_shutdown(server, TIMEOUT_MS, on_done, &rs);
	ktls_conn_ring_recv(client, 100, TIMEOUT_MS, on_done, &rc);
	tap_check(drive(&rs, &rc) && rs.value == 0 && rc.value == 0,
		  "close_notify sent (%zd) and seen as the end of the stream (%zd)", rs.value,
		  rc.value);
	tap_check_err("send after close_notify", ktls_conn_ring_send(server, "x", 1, 0, on_done, &rs),
		      EPIPE, "after shutdown", NULL);

	/*
	 * A callback that receives again after the end of the stream gets 0
	 * again, each without the kernel: ktls_ring_run() still returns, after
	 * a bounded number of them, and the next run goes on with the rest.
	 */
	{
		struct eof_loop el = { .left = 100000 };
		int first, second;

		ktls_conn_ring_recv(client, 100, TIMEOUT_MS, on_eof_again, &el);
		struct timespec t0, t1;
		long waited_ms;

		ktls_ring_run(client_ring, 0);
		first = el.calls;
		/* Steps are left over: this run must not wait for a completion. */
		clock_gettime(CLOCK_MONOTONIC, &t0);
		ktls_ring_run(client_ring, 5000);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		waited_ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
		second = el.calls;
		el.left = 0;
		for (int i = 0; i < 1000 && ktls_conn_ring_busy(client) > 0; i++)
			ktls_ring_run(client_ring, 10);
		tap_check(first >= 2 && first < 1000 && second > first && waited_ms < 2500 &&
				  el.last == 0 && ktls_conn_ring_busy(client) == 0,
			  "receiving again after the end from the callback: each run returns, the "
			  "second without waiting (%d, then %d callbacks; %ld ms)",
			  first, second, waited_ms);
	}

	accept_case(scfg, AF_INET);
	accept_case(scfg, AF_UNIX);

	/* freeing with nothing in flight, then the rings */
	ktls_conn_free(client);
	ktls_conn_free(server);
	ktls_ring_free(client_ring);
	ktls_ring_free(server_ring);
	io_uring_queue_exit(&app_uring);
	reset(&rc);
	reset(&rs);
	free(data);
	ktls_config_unref(ccfg);
	ktls_config_unref(scfg);
	unit_cert_free(&ca);
	unit_cert_free(&leaf);
	tap_check(ktls_ring_zerocopy_send() >= 0, "zero-copy send probe: %d",
		  ktls_ring_zerocopy_send());
	return tap_done();
}
