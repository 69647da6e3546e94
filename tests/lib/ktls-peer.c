/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ktls-peer: the libktls side of the interop and kernel tests.
 *
 * A client or server on one TCP connection, driven by a non-blocking poll
 * loop so that it can send and receive at the same time (peers such as
 * gnutls-cli write and read concurrently).  It prints one summary line of
 * key=value pairs that the test scripts check:
 *
 *   version=TLS1.3 cipher=AES-128-GCM tx=kernel rx=kernel kernel_tx=ok
 *   kernel_rx=ok bytes_in=N sha256_in=HEX bytes_out=N end=close_notify
 *
 * kernel_tx/kernel_rx come from getsockopt(SOL_TLS), i.e. from the kernel
 * itself, not from the library's bookkeeping.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/crypto.h>
#include <linux/tls.h>

#include <ktls.h>

#ifndef SOL_TLS
#define SOL_TLS 282
#endif

struct opts {
	bool server;
	const char *host;
	int port;
	const char *cert, *key, *ca, *server_name, *priority, *psk, *alpn;
	int version;
	const char *send_path;
	bool use_sendfile;
	long long recv_bytes; /* -1: until the peer closes */
	const char *recv_out;
	const char *expect_kernel; /* "tx", "rx", "both" or NULL */
	const char *expect_error;  /* errno name a recv must end with */
	bool shutdown_when_done;
	bool recv_first; /* send only after everything expected has arrived */
	size_t chunk;    /* bytes per send call, so per record with kernel TX */
	bool strict_close; /* the peer must end with close_notify */
	int timeout_s;
	bool verbose;
	bool rx_no_pad; /* set TLS_RX_EXPECT_NO_PAD after the switch (ktls stat tests) */
	enum ktls_offload offload;
	enum ktls_client_auth client_auth;
	int accept_count;           /* server: connections to serve in turn */
	int resumption;             /* KTLS_RESUME_* bits, -1: the library's default */
	const char *session_file;   /* client: session store file */
	const char *ticket_key_file; /* server: 64-byte ticket key shared between runs */
	bool keyupdate_follow;      /* KTLS_KEYUPDATE_FOLLOW */
	bool no_hash;               /* benchmarks: do not hash what arrives (sha256_in is empty's) */
	int rekeys;                 /* ktls_conn_rekey() this many times, spread over the send */
};

static void log_cb(enum ktls_log_level level, const char *msg, void *ud)
{
	(void)level;
	(void)ud;
	fprintf(stderr, "libktls: %s\n", msg);
}

static int tcp_connect(const char *host, int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (inet_pton(AF_INET, host, &a.sin_addr) != 1)
		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	/* The peer may still be starting: retry for a few seconds. */
	for (int i = 0; i < 100; i++) {
		if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0)
			return fd;
		if (errno != ECONNREFUSED)
			break;
		close(fd);
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		usleep(50000);
	}
	perror("ktls-peer: connect");
	return -1;
}

static int tcp_listen(const char *host, int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int one = 1, l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	inet_pton(AF_INET, host, &a.sin_addr);
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(l, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(l, 8) != 0) {
		perror("ktls-peer: listen");
		close(l);
		return -1;
	}
	/* Tell the script we are listening. */
	printf("listening\n");
	fflush(stdout);
	return l;
}

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
					     : c >= 'A' && c <= 'F' ? c - 'A' + 10
								    : -1;
}

static int setup_config(const struct opts *o, struct ktls_config **ret)
{
	struct ktls_config *c;
	int r;

	r = ktls_config_new(o->server ? KTLS_ROLE_SERVER : KTLS_ROLE_CLIENT, &c);
	if (r < 0)
		return r;
	if (o->verbose)
		ktls_config_set_log(c, log_cb, KTLS_LOG_DEBUG, NULL);
	r = ktls_config_set_offload(c, KTLS_DIR_BOTH, o->offload);
	if (r == 0 && o->cert != NULL)
		r = ktls_config_add_cert_file(c, o->cert, o->key);
	if (r == 0 && o->ca != NULL)
		r = ktls_config_set_ca_file(c, o->ca);
	if (r == 0 && o->version != 0)
		r = ktls_config_set_versions(c, o->version, o->version);
	if (r == 0 && o->priority != NULL)
		r = ktls_config_set_priority(c, o->priority);
	if (r == 0 && o->alpn != NULL)
		r = ktls_config_set_alpn(c, o->alpn);
	if (r == 0 && o->resumption >= 0)
		r = ktls_config_set_resumption(c, (unsigned int)o->resumption, 0, 0);
	if (r == 0 && o->session_file != NULL)
		r = ktls_config_set_session_file(c, o->session_file);
	if (r == 0 && o->keyupdate_follow)
		r = ktls_config_set_keyupdate(c, KTLS_KEYUPDATE_FOLLOW);
	if (r == 0 && o->ticket_key_file != NULL) {
		unsigned char key[KTLS_TICKET_KEY_SIZE];
		FILE *f = fopen(o->ticket_key_file, "re");

		if (f == NULL || fread(key, 1, sizeof(key), f) != sizeof(key)) {
			fprintf(stderr, "ktls-peer: %s: need %d bytes\n", o->ticket_key_file,
				KTLS_TICKET_KEY_SIZE);
			r = -EINVAL;
		} else {
			r = ktls_config_set_ticket_key(c, key, sizeof(key));
		}
		if (f != NULL)
			fclose(f);
		explicit_bzero(key, sizeof(key));
	}
	if (r == 0 && o->server && o->client_auth != KTLS_CLIENT_AUTH_NONE)
		r = ktls_config_set_client_auth(c, o->client_auth);
	if (r == 0 && o->psk != NULL) {
		const char *colon = strchr(o->psk, ':');
		unsigned char key[64];
		size_t n = 0;
		char id[256];

		if (colon == NULL || (size_t)(colon - o->psk) >= sizeof(id))
			return -EINVAL;
		snprintf(id, sizeof(id), "%.*s", (int)(colon - o->psk), o->psk);
		for (const char *h = colon + 1; h[0] && h[1] && n < sizeof(key); h += 2)
			key[n++] = (unsigned char)(hexval(h[0]) << 4 | hexval(h[1]));
		r = ktls_config_add_psk(c, id, key, n);
		explicit_bzero(key, sizeof(key));
	}
	if (r < 0) {
		fprintf(stderr, "ktls-peer: config: %s\n", ktls_config_error(c));
		ktls_config_unref(c);
		return r;
	}
	*ret = c;
	return 0;
}

/*
 * Ask the kernel itself what it holds for one direction.  A buffer the size
 * of the header gets just version and cipher (tls_main.c), so no key bytes
 * are copied out.
 */
static const char *kernel_check(int fd, int optname, const struct ktls_info *info)
{
	static const unsigned short kernel_cipher[] = { 51, 52, 53, 54 };
	struct tls_crypto_info ci = { 0 };
	socklen_t len = sizeof(ci);

	if (getsockopt(fd, SOL_TLS, optname, &ci, &len) != 0)
		return "none";
	if (ci.version != (unsigned)info->version)
		return "version-mismatch";
	if (info->cipher < 0 || info->cipher >= (KTLS_CIPHER_LAST + 1) ||
	    ci.cipher_type != kernel_cipher[info->cipher])
		return "cipher-mismatch";
	return "ok";
}

static const char *errno_name(int e)
{
	switch (e) {
	case EKEYEXPIRED: return "EKEYEXPIRED";
	case ECONNABORTED: return "ECONNABORTED";
	case ECONNRESET: return "ECONNRESET";
	case EPROTO: return "EPROTO";
	case EBADMSG: return "EBADMSG";
	case EACCES: return "EACCES";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	case EPROTONOSUPPORT: return "EPROTONOSUPPORT";
	case ETIMEDOUT: return "ETIMEDOUT";
	case EPIPE: return "EPIPE";
	case EINVAL: return "EINVAL";
	default: return "E?";
	}
}

static void usage(void)
{
	fprintf(stderr,
		"usage: ktls-peer --server|--client --port P [--host A] [--cert F --key F] [--ca F]\n"
		"  [--server-name N] [--tls 1.2|1.3] [--priority S] [--psk ID:HEX] [--alpn L]\n"
		"  [--send FILE] [--sendfile] [--recv-bytes N] [--recv-out FILE]\n"
		"  [--expect-kernel tx|rx|both] [--expect-error ENAME] [--shutdown] [--strict-close]\n"
		"  [--recv-first] [--chunk BYTES]\n"
		"  [--offload auto|require|off] [--client-auth request|require] [--timeout S] [-v]\n"
		"  [--rx-no-pad] [--accept N] [--resumption off|tickets|session-id|both]\n"
		"  [--session-file F] [--ticket-key-file F] [--keyupdate-follow] [--no-hash]\n"
		"  [--rekey N]\n");
}

/* One connection: handshake, summary, transfer, final line.  Return: exit status. */
static int run_connection(const struct opts *opts, struct ktls_config *config, int fd, int sfd,
			  off_t send_size, int out_fd)
{
	const struct opts o = *opts;
	struct ktls_conn *conn = NULL;
	struct ktls_info info;
	gnutls_hash_hd_t hash;
	unsigned char digest[32], buf[65536];
	char hex[65];
	int r, status = 1;
	off_t send_off = 0;
	long long bytes_in = 0, bytes_out = 0;
	int rekeys_done = 0;
	const char *end = "none";
	bool send_done, recv_done, shut = false, readable = true, writable = true;
	int ep = -1;
	time_t deadline;
	struct timespec t_start, t_end;

	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	r = ktls_conn_new(config, fd, KTLS_CONN_OWN_FD, &conn);
	if (r < 0) {
		fprintf(stderr, "ktls-peer: %s\n", ktls_config_error(config));
		return 1;
	}
	if (!o.server && o.server_name != NULL)
		ktls_conn_set_server_name(conn, o.server_name);

	deadline = time(NULL) + o.timeout_s;
	while ((r = ktls_conn_handshake(conn)) == -EAGAIN) {
		struct pollfd p = { .fd = fd, .events = (short)ktls_conn_wants(conn) };

		if (time(NULL) > deadline) {
			r = -ETIMEDOUT;
			break;
		}
		poll(&p, 1, 1000);
	}
	if (r < 0) {
		printf("handshake=%s error=\"%s\"\n", errno_name(-r), ktls_conn_error(conn));
		if (o.expect_error != NULL && strcmp(o.expect_error, errno_name(-r)) == 0)
			status = 0;
		goto out;
	}
	if (o.rx_no_pad) {
		int one = 1;

		/* Before the summary line: a test that sees it can read the flag back. */
		if (setsockopt(fd, SOL_TLS, TLS_RX_EXPECT_NO_PAD, &one, sizeof(one)) < 0)
			fprintf(stderr, "ktls-peer: TLS_RX_EXPECT_NO_PAD: %s\n", strerror(errno));
	}
	ktls_conn_get_info(conn, &info);
	printf("version=%s cipher=%s tx=%s rx=%s kernel_tx=%s kernel_rx=%s peer=\"%s\"\n",
	       info.version_name, info.cipher_name, info.tx.kernel ? "kernel" : "user",
	       info.rx.kernel ? "kernel" : "user", kernel_check(fd, TLS_TX, &info),
	       kernel_check(fd, TLS_RX, &info), info.peer_identity);
	if (!info.tx.kernel)
		printf("tx_reason=\"%s\"\n", info.tx.reason);
	if (!info.rx.kernel)
		printf("rx_reason=\"%s\"\n", info.rx.reason);
	fflush(stdout);
	if (o.expect_kernel != NULL) {
		bool want_tx = strcmp(o.expect_kernel, "rx") != 0;
		bool want_rx = strcmp(o.expect_kernel, "tx") != 0;

		if ((want_tx && (!info.tx.kernel || strcmp(kernel_check(fd, TLS_TX, &info), "ok"))) ||
		    (want_rx && (!info.rx.kernel || strcmp(kernel_check(fd, TLS_RX, &info), "ok")))) {
			fprintf(stderr, "ktls-peer: expected the kernel to hold the %s key(s)\n",
				o.expect_kernel);
			goto out;
		}
	}

	clock_gettime(CLOCK_MONOTONIC, &t_start);
	gnutls_hash_init(&hash, GNUTLS_DIG_SHA256);
	send_done = sfd < 0 || send_size == 0;
	recv_done = o.recv_bytes == 0;
	/*
	 * Transfer until both directions are done; then, with --shutdown, send
	 * close_notify and read until the peer ends the connection.
	 *
	 * Readiness comes from edge-triggered epoll, tried until EAGAIN: a kTLS
	 * socket polls readable as soon as part of a record is in, so a
	 * level-triggered loop would spin until the rest comes, while kTLS
	 * wakes edge-triggered waiters only for a whole record (ktls.h).
	 */
	ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET };

	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
		perror("ktls-peer: epoll");
		end = "epoll-error";
		goto transfer_done;
	}
	for (;;) {
		struct pollfd p = { .fd = fd, .events = 0 };		bool want_recv;

		if (send_done && recv_done) {
			if (!o.shutdown_when_done) {
				end = "done";
				break;
			}
			if (!shut) {
				r = ktls_conn_shutdown(conn);
				if (r == 0)
					shut = true;
				else if (r != -EAGAIN) {
					fprintf(stderr, "ktls-peer: shutdown: %s\n", ktls_conn_error(conn));
					end = "send-error";
					break;
				}
			}
		}
		want_recv = !recv_done || shut;
		if (time(NULL) > deadline) {
			fprintf(stderr, "ktls-peer: timed out (sent %lld, received %lld)\n", bytes_out,
				bytes_in);
			end = "timeout";
			/* A server gives up with close_notify, as ktls serve does. */
			ktls_conn_shutdown(conn);
			break;
		}
		if (want_recv)
			p.events |= POLLIN;
		if (!send_done && (!o.recv_first || recv_done))
			p.events |= POLLOUT;
		if (ktls_conn_pending(conn) > 0)
			readable = true;
		if (!((p.events & POLLIN) && readable) && !((p.events & POLLOUT) && writable)) {
			struct epoll_event got;

			if (epoll_wait(ep, &got, 1, 1000) <= 0)
				continue;
			if (got.events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
				readable = true;
			if (got.events & (EPOLLOUT | EPOLLHUP | EPOLLERR))
				writable = true;
		}
		if ((p.events & POLLIN) && readable)
			p.revents |= POLLIN;
		if ((p.events & POLLOUT) && writable)
			p.revents |= POLLOUT;

		/* An error or hang-up is reported by whichever call is wanted next. */
		if ((p.revents & POLLIN) || (want_recv && (p.revents & (POLLHUP | POLLERR)))) {
			ssize_t n = ktls_conn_recv(conn, buf, sizeof(buf));

			if (n > 0) {
				if (!o.no_hash)
					gnutls_hash(hash, buf, (size_t)n);
				if (out_fd >= 0 && write(out_fd, buf, (size_t)n) != n)
					perror("write");
				bytes_in += n;
				if (o.recv_bytes >= 0 && bytes_in >= o.recv_bytes)
					recv_done = true;
			} else if (n == 0) {
				end = "close_notify";
				recv_done = true;
				if (o.shutdown_when_done && !shut && send_done)
					ktls_conn_shutdown(conn);
				break;
			} else if (n == -EAGAIN) {
				readable = false;
			} else {
				end = errno_name((int)-n);
				fprintf(stderr, "ktls-peer: recv: %s\n", ktls_conn_error(conn));
				break;
			}
		}
		if (!send_done && (p.revents & (POLLOUT | POLLHUP | POLLERR))) {
			ssize_t n;

			size_t want = (size_t)(send_size - send_off);

			if (want > o.chunk)
				want = o.chunk;
			/* sendfile needs no buffer here: --chunk alone bounds it */
			if (!o.use_sendfile && want > sizeof(buf))
				want = sizeof(buf);
			if (o.use_sendfile) {
				n = ktls_conn_sendfile(conn, sfd, &send_off, want);
			} else {
				ssize_t got = pread(sfd, buf, want, send_off);

				n = got > 0 ? ktls_conn_send(conn, buf, (size_t)got) : got;
				if (n > 0)
					send_off += n;
			}
			if (n > 0)
				bytes_out += n;
			else if (n == -EAGAIN)
				writable = false;
			else {
				fprintf(stderr, "ktls-peer: send: %s\n", ktls_conn_error(conn));
				end = "send-error";
				break;
			}
			/* --rekey N: KeyUpdates at even steps through the data. */
			while (n > 0 && rekeys_done < o.rekeys &&
			       send_off >= send_size / (o.rekeys + 1) * (rekeys_done + 1)) {
				if (ktls_conn_rekey(conn, false) < 0) {
					fprintf(stderr, "ktls-peer: rekey %d: %s\n", rekeys_done + 1,
						ktls_conn_error(conn));
					end = "rekey-error";
					goto transfer_done;
				}
				rekeys_done++;
			}
			if (send_off >= send_size)
				send_done = true;
		}
	}
transfer_done:
	if (ep >= 0)
		close(ep);
	gnutls_hash_deinit(hash, digest);
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", digest[i]);
	clock_gettime(CLOCK_MONOTONIC, &t_end);
	ktls_conn_get_info(conn, &info);
	printf("bytes_in=%lld sha256_in=%s bytes_out=%lld end=%s resumed=%d tickets=%u "
	       "tickets_after_switch=%u key_updates_in=%u key_updates_out=%u elapsed_ms=%lld "
	       "error=\"%s\"\n",
	       bytes_in, hex, bytes_out, end, info.resumed, info.tickets_received,
	       info.tickets_after_switch, info.key_updates_received, info.key_updates_sent,
	       (long long)(t_end.tv_sec - t_start.tv_sec) * 1000 +
		       (t_end.tv_nsec - t_start.tv_nsec) / 1000000,
	       ktls_conn_error(conn));

	status = 0;
	if (o.expect_error != NULL)
		status = strcmp(end, o.expect_error) == 0 ? 0 : 1;
	else if (strcmp(end, "done") != 0 && strcmp(end, "close_notify") != 0 &&
		 strcmp(end, "ECONNRESET") != 0)
		status = 1;
	else if (o.strict_close && strcmp(end, "close_notify") != 0)
		status = 1;
	else if (o.recv_bytes >= 0 && bytes_in != o.recv_bytes)
		status = 1;
	else if (!send_done)
		status = 1;
out:
	ktls_conn_free(conn);
	return status;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "server", no_argument, NULL, 'S' },       { "client", no_argument, NULL, 'C' },
		{ "host", required_argument, NULL, 'H' },   { "port", required_argument, NULL, 'p' },
		{ "cert", required_argument, NULL, 'c' },   { "key", required_argument, NULL, 'k' },
		{ "ca", required_argument, NULL, 'a' },     { "server-name", required_argument, NULL, 'n' },
		{ "tls", required_argument, NULL, 't' },    { "priority", required_argument, NULL, 'P' },
		{ "psk", required_argument, NULL, 'K' },    { "alpn", required_argument, NULL, 'A' },
		{ "send", required_argument, NULL, 's' },   { "sendfile", no_argument, NULL, 'F' },
		{ "recv-bytes", required_argument, NULL, 'r' },
		{ "recv-out", required_argument, NULL, 'o' },
		{ "expect-kernel", required_argument, NULL, 'e' },
		{ "expect-error", required_argument, NULL, 'E' },
		{ "shutdown", no_argument, NULL, 'D' },     { "recv-first", no_argument, NULL, 'Q' },
		{ "chunk", required_argument, NULL, 'Z' },     { "strict-close", no_argument, NULL, 'X' },
		{ "offload", required_argument, NULL, 'O' },
		{ "client-auth", required_argument, NULL, 'R' },
		{ "timeout", required_argument, NULL, 'T' }, { "verbose", no_argument, NULL, 'v' },
		{ "rx-no-pad", no_argument, NULL, 'N' },
		{ "accept", required_argument, NULL, 'M' },
		{ "resumption", required_argument, NULL, 'U' },
		{ "session-file", required_argument, NULL, 'W' },
		{ "ticket-key-file", required_argument, NULL, 'Y' },
		{ "keyupdate-follow", no_argument, NULL, 'J' },
		{ "no-hash", no_argument, NULL, 'G' },
		{ "rekey", required_argument, NULL, 'y' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o = { .host = "127.0.0.1", .recv_bytes = -1, .timeout_s = 120, .chunk = 65536,
			  .accept_count = 1, .resumption = -1 };
	struct ktls_config *config = NULL;
	int fd, sfd = -1, out_fd = -1, opt, status = 0;
	off_t send_size = 0;

	while ((opt = getopt_long(argc, argv, "v", lo, NULL)) != -1) {
		switch (opt) {
		case 'S': o.server = true; break;
		case 'C': o.server = false; break;
		case 'H': o.host = optarg; break;
		case 'p': o.port = atoi(optarg); break;
		case 'c': o.cert = optarg; break;
		case 'k': o.key = optarg; break;
		case 'a': o.ca = optarg; break;
		case 'n': o.server_name = optarg; break;
		case 't': o.version = strcmp(optarg, "1.2") == 0 ? KTLS_VERSION_TLS12 : KTLS_VERSION_TLS13; break;
		case 'P': o.priority = optarg; break;
		case 'K': o.psk = optarg; break;
		case 'A': o.alpn = optarg; break;
		case 's': o.send_path = optarg; break;
		case 'F': o.use_sendfile = true; break;
		case 'r': o.recv_bytes = atoll(optarg); break;
		case 'o': o.recv_out = optarg; break;
		case 'e': o.expect_kernel = optarg; break;
		case 'E': o.expect_error = optarg; break;
		case 'D': o.shutdown_when_done = true; break;
		case 'Q': o.recv_first = true; break;
		case 'Z': o.chunk = (size_t)atol(optarg); break;
		case 'X': o.strict_close = true; break;
		case 'O':
			o.offload = strcmp(optarg, "require") == 0 ? KTLS_OFFLOAD_REQUIRE
				    : strcmp(optarg, "off") == 0   ? KTLS_OFFLOAD_OFF
								   : KTLS_OFFLOAD_AUTO;
			break;
		case 'R':
			o.client_auth = strcmp(optarg, "require") == 0 ? KTLS_CLIENT_AUTH_REQUIRE
								       : KTLS_CLIENT_AUTH_REQUEST;
			break;
		case 'T': o.timeout_s = atoi(optarg); break;
		case 'v': o.verbose = true; break;
		case 'N': o.rx_no_pad = true; break;
		case 'M': o.accept_count = atoi(optarg); break;
		case 'U':
			o.resumption = strcmp(optarg, "off") == 0	 ? 0
				       : strcmp(optarg, "tickets") == 0	 ? KTLS_RESUME_TICKETS
				       : strcmp(optarg, "session-id") == 0 ? KTLS_RESUME_SESSION_ID
									 : KTLS_RESUME_TICKETS |
									   KTLS_RESUME_SESSION_ID;
			break;
		case 'W': o.session_file = optarg; break;
		case 'Y': o.ticket_key_file = optarg; break;
		case 'J': o.keyupdate_follow = true; break;
		case 'G': o.no_hash = true; break;
		case 'y': o.rekeys = atoi(optarg); break;
		default: usage(); return 2;
		}
	}
	if (o.port == 0) {
		usage();
		return 2;
	}
	if (setup_config(&o, &config) < 0)
		return 1;
	if (o.send_path != NULL) {
		struct stat st;

		sfd = open(o.send_path, O_RDONLY | O_CLOEXEC);
		if (sfd < 0 || fstat(sfd, &st) != 0) {
			perror(o.send_path);
			return 1;
		}
		send_size = st.st_size;
	}
	if (o.recv_out != NULL)
		out_fd = open(o.recv_out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (o.server) {
		int l = tcp_listen(o.host, o.port);

		if (l < 0)
			return 1;
		/* --accept N: connections in turn, e.g. a first and a resumed one. */
		for (int i = 0; i < o.accept_count; i++) {
			fd = accept4(l, NULL, NULL, SOCK_CLOEXEC);
			if (fd < 0) {
				perror("ktls-peer: accept");
				status = 1;
				break;
			}
			status |= run_connection(&o, config, fd, sfd, send_size, out_fd);
			fflush(stdout);
		}
		close(l);
	} else {
		fd = tcp_connect(o.host, o.port);
		status = fd < 0 ? 1 : run_connection(&o, config, fd, sfd, send_size, out_fd);
	}
	ktls_config_unref(config);
	if (sfd >= 0)
		close(sfd);
	if (out_fd >= 0)
		close(out_fd);
	return status;
}
