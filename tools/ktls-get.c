/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ktls get URL: an HTTPS client on libktls.  The body goes to stdout or -o
 * FILE; -v shows the handshake as it happens (ktls_config_set_handshake_trace),
 * what was negotiated, and after each body where the record crypto ran.
 * Everything but the body goes to stderr, so `ktls get -v URL > file` works.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netdb.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "http-client.h"
#include "tool.h"

/* Exit statuses, one per kind of failure (also in --help). */
enum {
	GET_EXIT_OK = 0,
	GET_EXIT_LOCAL = 1,   /* output file, memory */
	GET_EXIT_USAGE = 2,
	GET_EXIT_CONNECT = 3, /* name resolution, TCP connect, timeout */
	GET_EXIT_TLS = 4,     /* handshake or record layer failure */
	GET_EXIT_AUTH = 5,    /* the server could not be authenticated */
	GET_EXIT_HTTP = 6,    /* malformed or truncated HTTP response */
	GET_EXIT_STATUS = 7,  /* HTTP status 400 or above */
};

#define GET_BUF_SIZE (256 * 1024)
#define GET_USER_AGENT "ktls-get/0.1"

struct get_opts {
	const char *url_text;
	struct http_url url;
	const char *output;
	const char *ca;
	bool insecure;
	const char *sni;
	char connect_host[256];
	char connect_port[6];
	const char *alpn;
	struct tool_psk psk; /* key_len 0: none */
	int version;
	const char *cipher;
	enum ktls_offload offload;
	unsigned long count;
	unsigned int timeout_ms;
	bool verbose;
	bool json;
	const char *session_file; /* resume from / store to this file */
	bool no_resume;
};

struct get_state {
	const struct get_opts *o;
	struct ktls_config *config;
	struct ktls_conn *conn;
	struct timespec t0;       /* connect() began: the -v times count from here */
	unsigned int connections; /* made so far */
	unsigned int conn_requests; /* requests on the current connection */
	int out_fd;
	char *buf;                /* received, not yet used */
	size_t buf_len;
	char err[300];
	/* for --json */
	struct ktls_info info; /* the last connection's, once it had one */
	bool have_info;
	struct get_result *results;
	size_t n_results;
};

/* One request, for --json. */
struct get_result {
	unsigned long number;
	unsigned int connection;
	bool reused;
	int status;
	uint64_t bytes;
	double ms;
};

static double get_ms_since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t0->tv_sec) * 1e3 + (double)(now.tv_nsec - t0->tv_nsec) / 1e6;
}

static void get_trace(const struct ktls_conn *conn, bool sent, unsigned int type, size_t length,
		      void *userdata)
{
	struct get_state *s = userdata;

	(void)conn;
	fprintf(stderr, "  %9.3f ms  %s %-20s %zu bytes\n", get_ms_since(&s->t0),
		sent ? "->" : "<-", ktls_handshake_type_name(type), length);
}

static void get_usage(FILE *out)
{
	fprintf(out,
		"Usage: ktls get [options] https://HOST[:PORT][/PATH]\n\n"
		"Fetches the URL over HTTP/1.1 with TLS from libktls (record crypto in the\n"
		"kernel where it can take the keys) and writes the body to stdout.\n\n"
		"  -o, --output FILE      write the body to FILE\n"
		"      --ca FILE          trust the CA certificates in FILE, not the system store\n"
		"      --insecure         do not verify the server's certificate (tests only)\n"
		"      --sni NAME         send NAME as SNI and verify the certificate against it\n"
		"      --connect HOST:PORT  connect there instead of the URL's host and port\n"
		"      --alpn LIST        ALPN protocols offered (default http/1.1; \"\" for none)\n"
		"      --psk ID:HEXKEY    authenticate with a TLS 1.3 external PSK (16..64 bytes)\n"
		"      --psk-file FILE    the same, read from FILE (keeps the key out of ps)\n"
		"      --tls 1.2|1.3      only this protocol version\n"
		"      --cipher NAME      only this cipher (GnuTLS name, e.g. AES-256-GCM)\n"
		"      --offload auto|require|off  kernel offload policy (default auto)\n"
		"      --count N          make N requests (1 to 1000000), on one connection while\n"
		"                         the server keeps it open (each body is written)\n"
		"      --timeout SECONDS  for connecting, the handshake and each read (default 30;\n"
		"                         0.001 to 86400)\n"
		"      --session-file FILE  resume with the session stored there by an earlier\n"
		"                         run, and store this run's (created 0600)\n"
		"      --no-resume        full handshakes only, even on reconnects\n"
		"  -v, --verbose          handshake trace, negotiated parameters, where the\n"
		"                         crypto ran, per-request status and timing (stderr)\n"
		"      --json             the same facts as JSON on stdout at the end: each\n"
		"                         request's status, size and time, what was negotiated\n"
		"                         and where the crypto ran (needs -o for the body)\n\n"
		"Exit status: 0 success, 1 local error (output file), 2 usage, 3 cannot\n"
		"connect, 4 TLS failure, 5 server authentication failed (certificate, name,\n"
		"PSK), 6 malformed or truncated HTTP response, 7 HTTP status 400 or above.\n");
}

/* "host:port", "[v6]:port" or "host" (port from the URL). */
static int get_parse_connect(const char *arg, struct get_opts *o)
{
	const char *colon, *host = arg;
	size_t host_len;

	if (arg[0] == '[') {
		const char *end = strchr(arg, ']');

		if (end == NULL)
			return -1;
		host = arg + 1;
		host_len = (size_t)(end - host);
		colon = end[1] == ':' ? end + 1 : NULL;
		if (end[1] != '\0' && colon == NULL)
			return -1;
	} else {
		colon = strrchr(arg, ':');
		host_len = colon != NULL ? (size_t)(colon - arg) : strlen(arg);
	}
	if (host_len == 0 || host_len >= sizeof(o->connect_host))
		return -1;
	memcpy(o->connect_host, host, host_len);
	o->connect_host[host_len] = '\0';
	if (colon != NULL) {
		char *end;
		unsigned long port = strtoul(colon + 1, &end, 10);

		if (*end != '\0' || colon[1] == '\0' || port == 0 || port > 65535)
			return -1;
		snprintf(o->connect_port, sizeof(o->connect_port), "%lu", port);
	}
	return 0;
}

static int get_parse_args(int argc, char **argv, struct get_opts *o)
{
	static const struct option options[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "ca", required_argument, NULL, 'C' },
		{ "insecure", no_argument, NULL, 'k' },
		{ "sni", required_argument, NULL, 'S' },
		{ "connect", required_argument, NULL, 'c' },
		{ "alpn", required_argument, NULL, 'a' },
		{ "psk", required_argument, NULL, 'p' },
		{ "psk-file", required_argument, NULL, 'P' },
		{ "tls", required_argument, NULL, 't' },
		{ "cipher", required_argument, NULL, 'x' },
		{ "offload", required_argument, NULL, 'O' },
		{ "count", required_argument, NULL, 'n' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "json", no_argument, NULL, 'j' },
		{ "session-file", required_argument, NULL, 'F' },
		{ "no-resume", no_argument, NULL, 'R' },
		TOOL_OPTIONS_COMMON,
		{ NULL, 0, NULL, 0 },
	};
	char err[300];
	uint64_t v;
	int opt;

	o->alpn = "http/1.1";
	o->count = 1;
	o->timeout_ms = 30000;
	o->offload = KTLS_OFFLOAD_AUTO;
	while ((opt = tool_getopt(argc, argv, "get", "o:vh", options)) != -1) {
		switch (opt) {
		case 'o':
			o->output = optarg;
			break;
		case 'C':
			o->ca = optarg;
			break;
		case 'k':
			o->insecure = true;
			break;
		case 'S':
			o->sni = optarg;
			break;
		case 'c':
			if (get_parse_connect(optarg, o) < 0)
				return tool_usage_error("get", "--connect: '%s' is not HOST:PORT, "
							"[IPv6]:PORT or HOST", optarg);
			break;
		case 'a':
			o->alpn = optarg;
			break;
		case 'p': {
			int r = tool_parse_psk(optarg, strlen(optarg), &o->psk, err, sizeof(err));

			/* Out of ps(1) as soon as we can. */
			explicit_bzero(optarg, strlen(optarg));
			if (r < 0)
				return tool_usage_error("get", "--psk: %s", err);
			break;
		}
		case 'P':
			if (tool_read_psk_file(optarg, &o->psk, err, sizeof(err)) < 0)
				return tool_usage_error("get", "--psk-file: %s", err);
			break;
		case 't':
			o->version = tool_parse_version(optarg);
			if (o->version < 0)
				return tool_usage_error("get", "--tls: '%s' is not 1.2 or 1.3", optarg);
			break;
		case 'x':
			o->cipher = optarg;
			break;
		case 'O':
			if (tool_parse_offload(optarg, &o->offload, err, sizeof(err)) < 0)
				return tool_usage_error("get", "--offload: %s", err);
			break;
		case 'n':
			if (tool_parse_uint(optarg, 1, 1000000, &v, err, sizeof(err)) < 0)
				return tool_usage_error("get", "--count: %s", err);
			o->count = (unsigned long)v;
			break;
		case 'T':
			if (tool_parse_seconds(optarg, 1, 86400000, &v, err, sizeof(err)) < 0)
				return tool_usage_error("get", "--timeout: %s", err);
			o->timeout_ms = (unsigned int)v;
			break;
		case 'v':
			o->verbose = true;
			break;
		case 'j':
			o->json = true;
			break;
		case 'F':
			o->session_file = optarg;
			break;
		case 'R':
			o->no_resume = true;
			break;
		case 'h':
			get_usage(stdout);
			exit(GET_EXIT_OK);
		case TOOL_OPT_VERSION:
			exit(tool_print_version());
		default:
			return GET_EXIT_USAGE;
		}
	}
	if (optind == argc)
		return tool_usage_error("get", "no URL given");
	if (optind < argc - 1)
		return tool_usage_error("get", "one URL at a time ('%s' is one too many)",
					argv[optind + 1]);
	o->url_text = argv[optind];
	if (http_url_parse(o->url_text, &o->url, err, sizeof(err)) < 0)
		return tool_usage_error("get", "%s: %s", o->url_text, err);
	if (o->json && o->output == NULL)
		return tool_usage_error("get", "--json writes to stdout: give -o FILE for the body "
				       "(-o /dev/null to drop it)");
	if (o->connect_host[0] == '\0')
		snprintf(o->connect_host, sizeof(o->connect_host), "%s", o->url.host);
	if (o->connect_port[0] == '\0')
		snprintf(o->connect_port, sizeof(o->connect_port), "%s", o->url.port);
	return 0;
}

static struct ktls_config *get_make_config(const struct get_opts *o, struct get_state *s)
{
	struct ktls_config *c = NULL;
	int ret;

	if (ktls_config_new(KTLS_ROLE_CLIENT, &c) < 0) {
		fprintf(stderr, "ktls get: out of memory\n");
		return NULL;
	}
	ret = ktls_config_set_offload(c, KTLS_DIR_BOTH, o->offload);
	ret = ret < 0 ? ret : ktls_config_set_handshake_timeout(c, o->timeout_ms);
	if (ret >= 0 && o->version != 0)
		ret = ktls_config_set_versions(c, o->version, o->version);
	if (ret >= 0 && o->ca != NULL)
		ret = ktls_config_set_ca_file(c, o->ca);
	if (ret >= 0 && o->insecure)
		ret = ktls_config_set_verify(c, false, false);
	if (ret >= 0 && o->alpn[0] != '\0')
		ret = ktls_config_set_alpn(c, o->alpn);
	if (ret >= 0 && o->psk.key_len > 0)
		ret = ktls_config_add_psk(c, o->psk.identity, o->psk.key, o->psk.key_len);
	if (ret >= 0 && o->cipher != NULL) {
		char prio[256];

		/* As the library builds it (lib/config.c), with one cipher. */
		snprintf(prio, sizeof(prio), "NORMAL:-CIPHER-ALL:+%s%s%s", o->cipher,
			 o->version == KTLS_VERSION_TLS12   ? ":-VERS-ALL:+VERS-TLS1.2"
			 : o->version == KTLS_VERSION_TLS13 ? ":-VERS-ALL:+VERS-TLS1.3"
							    : "",
			 o->psk.key_len > 0 ? ":+ECDHE-PSK:+DHE-PSK" : "");
		ret = ktls_config_set_priority(c, prio);
	}
	if (ret >= 0 && o->verbose)
		ret = ktls_config_set_handshake_trace(c, get_trace, s);
	if (ret >= 0 && o->no_resume)
		ret = ktls_config_set_resumption(c, 0, 0, 0);
	else if (ret >= 0 && o->session_file != NULL)
		ret = ktls_config_set_session_file(c, o->session_file);
	if (ret < 0) {
		fprintf(stderr, "ktls get: %s\n", ktls_config_error(c));
		ktls_config_unref(c);
		return NULL;
	}
	return c;
}

/* A TCP connection to the first address that answers within the timeout. */
static int get_tcp_connect(struct get_state *s)
{
	const struct get_opts *o = s->o;
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *res, *ai;
	int fd = -1, ret, err = 0;

	ret = getaddrinfo(o->connect_host, o->connect_port, &hints, &res);
	if (ret != 0) {
		fprintf(stderr, "ktls get: cannot resolve %s: %s\n", o->connect_host,
			gai_strerror(ret));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		char addr[NI_MAXHOST] = "?";
		struct pollfd pfd;
		socklen_t len = sizeof(err);
		struct timeval tv = { .tv_sec = o->timeout_ms / 1000,
				      .tv_usec = (suseconds_t)(o->timeout_ms % 1000) * 1000 };

		getnameinfo(ai->ai_addr, ai->ai_addrlen, addr, sizeof(addr), NULL, 0, NI_NUMERICHOST);
		if (o->verbose)
			fprintf(stderr, "* connecting to %s port %s%s%s\n", addr, o->connect_port,
				strcmp(addr, o->connect_host) != 0 ? " for " : "",
				strcmp(addr, o->connect_host) != 0 ? o->connect_host : "");
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
			    ai->ai_protocol);
		if (fd < 0) {
			err = errno;
			continue;
		}
		clock_gettime(CLOCK_MONOTONIC, &s->t0);
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 && errno != EINPROGRESS) {
			err = errno;
		} else {
			pfd = (struct pollfd){ .fd = fd, .events = POLLOUT };
			ret = poll(&pfd, 1, (int)o->timeout_ms);
			if (ret == 0)
				err = ETIMEDOUT;
			else if (ret < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
				err = errno;
		}
		/* Blocking from here on; every read and write is bounded by the timeout. */
		if (err == 0 && fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) == 0 &&
		    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == 0 &&
		    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) == 0)
			break;
		if (err == 0)
			err = errno;
		fprintf(stderr, "ktls get: cannot connect to %s port %s: %s\n", addr,
			o->connect_port, strerror(err));
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd >= 0 && o->verbose)
		fprintf(stderr, "  %9.3f ms  TCP connected\n", get_ms_since(&s->t0));
	return fd;
}

static void get_print_dir(const char *name, const struct ktls_dir_info *d)
{
	if (d->kernel)
		fprintf(stderr, "  %-9s kernel\n", name);
	else
		fprintf(stderr, "  %-9s userspace (%s)\n", name, d->reason);
}

static void get_print_summary(const struct get_state *s, const struct ktls_info *info)
{
	fprintf(stderr, "* handshake done in %.3f ms\n", get_ms_since(&s->t0));
	fprintf(stderr, "  %-9s %s\n", "version", info->version_name);
	fprintf(stderr, "  %-9s %s\n", "cipher", info->cipher_name);
	fprintf(stderr, "  %-9s %s\n", "group", info->group_name[0] ? info->group_name : "none");
	fprintf(stderr, "  %-9s %s\n", "ALPN", info->alpn[0] ? info->alpn : "none");
	fprintf(stderr, "  %-9s %s\n", "SNI", info->server_name[0] ? info->server_name : "none");
	fprintf(stderr, "  %-9s %s\n", "resumed", info->resumed ? "yes" : "no");
	fprintf(stderr, "  %-9s %s%s%s\n", "peer",
		info->peer_auth == KTLS_PEER_PSK	 ? "PSK identity "
		: info->peer_auth == KTLS_PEER_CERTIFICATE ? ""
							   : "not authenticated",
		info->peer_identity, s->o->insecure ? " (NOT verified: --insecure)" : "");
	get_print_dir("TX", &info->tx);
	get_print_dir("RX", &info->rx);
}

static void get_close(struct get_state *s, bool notify)
{
	if (s->conn == NULL)
		return;
	if (notify)
		ktls_conn_shutdown(s->conn);
	ktls_conn_free(s->conn);
	s->conn = NULL;
	s->buf_len = 0;
}

/* Connect, handshake, and check what was negotiated.  Returns 0 or an exit status. */
static int get_open(struct get_state *s)
{
	const struct get_opts *o = s->o;
	const char *name = o->sni != NULL ? o->sni : o->url.host;
	struct ktls_info info;
	int fd, ret;

	fd = get_tcp_connect(s);
	if (fd < 0)
		return GET_EXIT_CONNECT;
	if (ktls_conn_new(s->config, fd, KTLS_CONN_OWN_FD, &s->conn) < 0) {
		fprintf(stderr, "ktls get: %s\n", ktls_config_error(s->config));
		close(fd);
		return GET_EXIT_TLS;
	}
	/*
	 * SNI never carries an address (RFC 6066 section 3); GnuTLS leaves one
	 * out of the ClientHello but still checks it against the certificate's
	 * IP subjectAltName.
	 */
	if (ktls_conn_set_server_name(s->conn, name) < 0) {
		fprintf(stderr, "ktls get: %s\n", ktls_conn_error(s->conn));
		return GET_EXIT_USAGE;
	}
	s->connections++;
	s->conn_requests = 0;
	ret = ktls_conn_handshake(s->conn);
	if (ret < 0) {
		fprintf(stderr, "ktls get: TLS handshake with %s failed: %s\n", o->connect_host,
			ktls_conn_error(s->conn));
		if (ret == -ETIMEDOUT && o->verbose)
			fprintf(stderr, "ktls get: (--timeout is %g s)\n", o->timeout_ms / 1000.0);
		get_close(s, false);
		return ret == -EACCES ? GET_EXIT_AUTH : GET_EXIT_TLS;
	}
	if (ktls_conn_get_info(s->conn, &info) < 0) {
		fprintf(stderr, "ktls get: %s\n", ktls_conn_error(s->conn));
		get_close(s, true);
		return GET_EXIT_TLS;
	}
	s->info = info;
	s->have_info = true;
	if (o->verbose)
		get_print_summary(s, &info);
	if (info.alpn[0] != '\0' && strcmp(info.alpn, "http/1.1") != 0) {
		fprintf(stderr, "ktls get: the server chose ALPN \"%s\"; ktls get speaks only http/1.1\n",
			info.alpn);
		get_close(s, true);
		return GET_EXIT_HTTP;
	}
	return 0;
}

static int get_write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Read more into s->buf.  Returns bytes read, 0 at close_notify, or the
 * negative errno of ktls_conn_recv().
 */
static ssize_t get_fill(struct get_state *s)
{
	ssize_t n;

	if (s->buf_len == GET_BUF_SIZE)
		return -ENOBUFS;
	n = ktls_conn_recv(s->conn, s->buf + s->buf_len, GET_BUF_SIZE - s->buf_len);
	if (n > 0)
		s->buf_len += (size_t)n;
	return n;
}

/* Exit status for a failed read; prints why. */
static int get_recv_failed(struct get_state *s, ssize_t n, const char *during)
{
	if (n == -EAGAIN)
		fprintf(stderr, "ktls get: no data from the server for %g s %s (--timeout)\n",
			s->o->timeout_ms / 1000.0, during);
	else
		fprintf(stderr, "ktls get: receiving %s: %s\n", during, ktls_conn_error(s->conn));
	return n == -EAGAIN ? GET_EXIT_CONNECT : GET_EXIT_TLS;
}

/* After a body: consume its bytes from s->buf, keep what follows. */
static void get_consume(struct get_state *s, size_t used)
{
	memmove(s->buf, s->buf + used, s->buf_len - used);
	s->buf_len -= used;
}

/* Read the body framed by @resp, writing it out unless @discard. */
static int get_body(struct get_state *s, const struct http_response *resp, bool discard,
		    uint64_t *ret_bytes)
{
	struct http_body body;
	int ret;

	http_body_init(&body, resp);
	while (!body.done) {
		size_t used, off, data;

		if (s->buf_len == 0) {
			ssize_t n = get_fill(s);

			if (n == 0 || n == -ECONNRESET) {
				ret = http_body_eof(&body, n == 0, s->err, sizeof(s->err));
				if (ret < 0) {
					fprintf(stderr, "ktls get: %s\n", s->err);
					return GET_EXIT_HTTP;
				}
				break;
			}
			if (n < 0)
				return get_recv_failed(s, n, "the body");
		}
		ret = http_body_decode(&body, s->buf, s->buf_len, &used, &off, &data, s->err,
				       sizeof(s->err));
		if (ret < 0) {
			fprintf(stderr, "ktls get: malformed body: %s\n", s->err);
			return GET_EXIT_HTTP;
		}
		if (data > 0 && !discard) {
			ret = get_write_all(s->out_fd, s->buf + off, data);
			if (ret < 0) {
				fprintf(stderr, "ktls get: writing %s: %s\n",
					s->o->output ? s->o->output : "stdout", strerror(-ret));
				return GET_EXIT_LOCAL;
			}
		}
		get_consume(s, used);
	}
	*ret_bytes = body.received;
	return 0;
}

/*
 * Send the request and read the response head.  Returns 0, an exit status,
 * or -1 when a reused connection turned out to be closed before any byte of
 * the response (the caller reconnects once).
 */
static int get_request_head(struct get_state *s, struct http_response *resp)
{
	char req[4600];
	int len, ret;
	ssize_t n;

	len = http_request_format(&s->o->url, GET_USER_AGENT, req, sizeof(req));
	if (len < 0) {
		fprintf(stderr, "ktls get: request too long\n");
		return GET_EXIT_USAGE;
	}
	for (int off = 0; off < len; off += (int)n) {
		n = ktls_conn_send(s->conn, req + off, (size_t)(len - off));
		if (n < 0) {
			if (s->conn_requests > 0 && (n == -EPIPE || n == -ECONNRESET))
				return -1;
			fprintf(stderr, "ktls get: sending the request: %s\n",
				ktls_conn_error(s->conn));
			return n == -EAGAIN ? GET_EXIT_CONNECT : GET_EXIT_TLS;
		}
	}
	s->conn_requests++;
	for (;;) {
		ret = http_response_parse(s->buf, s->buf_len, resp, s->err, sizeof(s->err));
		if (ret < 0) {
			fprintf(stderr, "ktls get: bad response from the server: %s\n", s->err);
			return GET_EXIT_HTTP;
		}
		if (ret == 1 && resp->status >= 200)
			return 0;
		if (ret == 1 && resp->status == 101) {
			fprintf(stderr, "ktls get: the server switched protocols (101), unasked\n");
			return GET_EXIT_HTTP;
		}
		if (ret == 1) { /* 1xx: informational, the real response follows */
			get_consume(s, resp->head_len);
			continue;
		}
		n = get_fill(s);
		if (n > 0)
			continue;
		if ((n == 0 || n == -ECONNRESET) && s->buf_len == 0 && s->conn_requests > 1)
			return -1;
		if (n == 0 || n == -ECONNRESET) {
			fprintf(stderr, "ktls get: the server closed the connection %s\n",
				s->buf_len == 0 ? "without answering"
						: "in the middle of the response headers");
			return GET_EXIT_HTTP;
		}
		return get_recv_failed(s, n, "the response headers");
	}
}

static void get_print_crypto(const struct get_state *s)
{
	struct ktls_info info;

	if (ktls_conn_get_info(s->conn, &info) < 0)
		return;
	fprintf(stderr, "  crypto    TX %s%s%s%s, RX %s%s%s%s\n",
		info.tx.kernel ? "kernel" : "userspace", info.tx.kernel ? "" : " (",
		info.tx.kernel ? "" : info.tx.reason, info.tx.kernel ? "" : ")",
		info.rx.kernel ? "kernel" : "userspace", info.rx.kernel ? "" : " (",
		info.rx.kernel ? "" : info.rx.reason, info.rx.kernel ? "" : ")");
}

/* --json: keep what the summary needs of one request. */
static void get_record(struct get_state *s, unsigned long number, bool reused, int status,
		       uint64_t bytes, double ms)
{
	struct get_result *r;

	/* Where the crypto ran can change after the handshake (a refused key update). */
	if (ktls_conn_get_info(s->conn, &s->info) == 0)
		s->have_info = true;
	if ((s->n_results & (s->n_results - 1)) == 0) {
		size_t cap = s->n_results ? s->n_results * 2 : 1;

		r = realloc(s->results, cap * sizeof(*r));
		if (r == NULL)
			return; /* the summary lists fewer requests; the transfer goes on */
		s->results = r;
	}
	s->results[s->n_results++] = (struct get_result){
		.number = number, .connection = s->connections, .reused = reused,
		.status = status, .bytes = bytes, .ms = ms,
	};
}

static void get_json_dir(const char *name, const struct ktls_dir_info *d)
{
	printf("\"%s\": {\"kernel\": %s, \"reason\": ", name, d->kernel ? "true" : "false");
	if (d->kernel)
		printf("null");
	else
		json_string(stdout, d->reason);
	printf("}");
}

/* --json: one object on stdout, whatever the exit status. */
static void get_print_json(const struct get_state *s, int status)
{
	const struct ktls_info *i = &s->info;

	printf("{\n  \"url\": ");
	json_string(stdout, s->o->url_text);
	printf(",\n  \"exit_status\": %d,\n  \"connections\": %u,\n  \"requests\": [",
	       status, s->connections);
	for (size_t k = 0; k < s->n_results; k++) {
		const struct get_result *r = &s->results[k];

		printf("%s\n    {\"number\": %lu, \"connection\": %u, \"reused\": %s, "
		       "\"status\": %d, \"bytes\": %" PRIu64 ", \"ms\": %.3f}",
		       k ? "," : "", r->number, r->connection, r->reused ? "true" : "false",
		       r->status, r->bytes, r->ms);
	}
	printf("%s],\n  \"tls\": ", s->n_results ? "\n  " : "");
	if (!s->have_info) {
		printf("null\n}\n");
		return;
	}
	printf("{\"version\": ");
	json_string(stdout, i->version_name);
	printf(", \"cipher\": ");
	json_string(stdout, i->cipher_name);
	printf(", \"group\": ");
	json_string(stdout, i->group_name);
	printf(", \"alpn\": ");
	json_string(stdout, i->alpn);
	printf(", \"sni\": ");
	json_string(stdout, i->server_name);
	printf(", \"resumed\": %s, \"peer\": ", i->resumed ? "true" : "false");
	json_string(stdout, i->peer_identity);
	printf(", \"verified\": %s, ", s->o->insecure ? "false" : "true");
	get_json_dir("tx", &i->tx);
	printf(", ");
	get_json_dir("rx", &i->rx);
	printf("}\n}\n");
}

/* One request and its response.  Returns 0 or an exit status. */
static int get_one(struct get_state *s, unsigned long number)
{
	const struct get_opts *o = s->o;
	struct http_response resp;
	struct timespec start;
	uint64_t bytes = 0;
	bool reused;
	double ms;
	int ret;

	for (int attempt = 0;; attempt++) {
		if (s->conn == NULL) {
			ret = get_open(s);
			if (ret != 0)
				return ret;
		}
		reused = s->conn_requests > 0;
		clock_gettime(CLOCK_MONOTONIC, &start);
		ret = get_request_head(s, &resp);
		if (ret != -1)
			break;
		/* RFC 9112 section 9.3.1: a GET may be retried on a new connection. */
		get_close(s, false);
		if (attempt > 0)
			return GET_EXIT_HTTP;
		fprintf(stderr, "* the server closed idle connection %u; reconnecting\n",
			s->connections);
	}
	if (ret != 0)
		return ret;
	if (o->verbose)
		fprintf(stderr, "* request %lu on connection %u (%s): HTTP/1.%d %d %s\n", number,
			s->connections, reused ? "reused" : "new", resp.version_minor, resp.status,
			resp.reason);
	get_consume(s, resp.head_len);
	ret = get_body(s, &resp, resp.status >= 400, &bytes);
	if (ret != 0)
		return ret;
	ms = get_ms_since(&start);
	if (o->json)
		get_record(s, number, reused, resp.status, bytes, ms);
	if (o->verbose) {
		fprintf(stderr, "  %-9s %" PRIu64 " bytes in %.1f ms (%.1f MiB/s)\n", "body", bytes,
			ms, ms > 0 ? (double)bytes / 1048576.0 / (ms / 1e3) : 0.0);
		get_print_crypto(s);
	}
	if (!resp.keep_alive) {
		if (number < o->count)
			fprintf(stderr, "* the server closes connection %u after this response (%s); "
					"the next request reconnects\n",
				s->connections,
				resp.framing == HTTP_BODY_CLOSE ? "body ends with the connection"
								: "Connection: close");
		get_close(s, resp.framing != HTTP_BODY_CLOSE);
	}
	if (resp.status >= 400) {
		fprintf(stderr, "ktls get: %s: HTTP %d %s\n", o->url_text, resp.status, resp.reason);
		return GET_EXIT_STATUS;
	}
	return 0;
}

int cmd_get(int argc, char **argv)
{
	struct get_opts o;
	struct get_state s;
	int ret = GET_EXIT_OK;

	memset(&o, 0, sizeof(o));
	memset(&s, 0, sizeof(s));
	s.o = &o;
	s.out_fd = STDOUT_FILENO;
	ret = get_parse_args(argc, argv, &o);
	if (ret != 0) {
		tool_psk_wipe(&o.psk);
		return ret;
	}
	if (o.insecure)
		fprintf(stderr, "ktls get: WARNING: --insecure: the server's certificate is NOT "
				"verified; anyone on the path can read and change this connection\n");
	s.config = get_make_config(&o, &s);
	tool_psk_wipe(&o.psk);
	if (s.config == NULL)
		return GET_EXIT_USAGE;
	s.buf = malloc(GET_BUF_SIZE);
	if (s.buf == NULL) {
		ret = GET_EXIT_LOCAL;
		goto out;
	}
	if (o.output != NULL) {
		s.out_fd = open(o.output, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (s.out_fd < 0) {
			fprintf(stderr, "ktls get: cannot create %s: %s\n", o.output, strerror(errno));
			ret = GET_EXIT_LOCAL;
			goto out;
		}
	}
	for (unsigned long i = 1; i <= o.count && ret == GET_EXIT_OK; i++)
		ret = get_one(&s, i);
	if (o.verbose && ret == GET_EXIT_OK && o.count > 1)
		fprintf(stderr, "* %lu requests on %u connection%s\n", o.count, s.connections,
			s.connections == 1 ? "" : "s");
	get_close(&s, true);
	if (s.out_fd != STDOUT_FILENO && close(s.out_fd) < 0 && ret == GET_EXIT_OK) {
		fprintf(stderr, "ktls get: writing %s: %s\n", o.output, strerror(errno));
		ret = GET_EXIT_LOCAL;
	}
out:
	if (o.json)
		get_print_json(&s, ret);
	free(s.results);
	free(s.buf);
	ktls_config_unref(s.config);
	return ret;
}
