/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Black-box: misuse of the public API.  Every failure must come back as the
 * documented negative errno and, wherever there is an object to carry it, a
 * sentence in ktls_config_error() / ktls_conn_error() that tells the caller
 * what was wrong.  Output parameters stay untouched on failure, and the
 * caller keeps its fd when ktls_conn_new() fails.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ktls-gnutls.h>

#include "unit.h"

static const unsigned char psk_key[32] = { 1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11,
					   12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22,
					   23, 24, 25, 26, 27, 28, 29, 30, 31, 32 };

/* Configs and conns made here, freed at the end (failures are sticky, so most
 * cases get a fresh object). */
static struct ktls_config *configs[128];
static size_t n_configs;
static struct ktls_conn *conns[32];
static size_t n_conns;
static int fds[64];
static size_t n_fds;

static struct ktls_config *fresh(enum ktls_role role)
{
	struct ktls_config *config = NULL;

	if (ktls_config_new(role, &config) != 0 ||
	    n_configs == sizeof(configs) / sizeof(configs[0]))
		tap_bail("ktls_config_new");
	configs[n_configs++] = config;
	return config;
}

static int keep_fd(int fd)
{
	if (n_fds < sizeof(fds) / sizeof(fds[0]))
		fds[n_fds++] = fd;
	return fd;
}

/* One end of a fresh loopback TCP pair (the other end is kept open, and closed at the end). */
static int stream_fd(void)
{
	int sv[2];

	if (unit_tcp_pair(&sv[0], &sv[1], false) < 0)
		tap_bail("loopback TCP pair");
	keep_fd(sv[1]);
	return keep_fd(sv[0]);
}

/* A connection on a fresh loopback TCP pair, before its handshake. */
static struct ktls_conn *fresh_conn(struct ktls_config *config)
{
	struct ktls_conn *conn = NULL;
	int ret = ktls_conn_new(config, stream_fd(), 0, &conn);

	if (ret != 0)
		tap_bail("ktls_conn_new: %s: %s", unit_errno_name(ret), ktls_config_error(config));
	conns[n_conns++] = conn;
	return conn;
}

/* A client that needs nothing from the system (no trust store). */
static struct ktls_config *fresh_client(void)
{
	struct ktls_config *config = fresh(KTLS_ROLE_CLIENT);

	ktls_config_set_verify(config, false, false);
	return config;
}

static struct ktls_config *fresh_psk_server(void)
{
	struct ktls_config *config = fresh(KTLS_ROLE_SERVER);

	if (ktls_config_add_psk(config, "bob", psk_key, sizeof(psk_key)) != 0)
		tap_bail("add_psk: %s", ktls_config_error(config));
	return config;
}

static bool fd_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

static void test_null_arguments(const char *cert, const char *key)
{
	struct ktls_config *config = (struct ktls_config *)0x1;
	off_t off = 0;

	/* Nothing to hang a message on: the errno is all there is. */
	tap_check(ktls_probe(NULL) == -EINVAL, "ktls_probe(NULL)");
	tap_check(ktls_config_new(KTLS_ROLE_CLIENT, NULL) == -EINVAL, "ktls_config_new(.., NULL)");
	tap_check(ktls_config_new((enum ktls_role)7, &config) == -EINVAL &&
			  config == (struct ktls_config *)0x1,
		  "ktls_config_new(role 7): -EINVAL, *ret_config untouched");
	tap_check(ktls_config_ref(NULL) == NULL, "ktls_config_ref(NULL) is NULL");
	tap_check(strstr(ktls_config_error(NULL), "NULL") != NULL,
		  "ktls_config_error(NULL) says NULL: \"%s\"", ktls_config_error(NULL));
	tap_check(strstr(ktls_conn_error(NULL), "NULL") != NULL,
		  "ktls_conn_error(NULL) says NULL: \"%s\"", ktls_conn_error(NULL));

	tap_check(ktls_config_set_log(NULL, NULL, KTLS_LOG_DEBUG, NULL) == -EINVAL,
		  "ktls_config_set_log(NULL)");
	tap_check(ktls_config_add_cert_file(NULL, cert, key) == -EINVAL,
		  "ktls_config_add_cert_file(NULL, ..)");
	tap_check(ktls_config_set_ca_file(NULL, cert) == -EINVAL,
		  "ktls_config_set_ca_file(NULL, ..)");
	tap_check(ktls_config_set_system_trust(NULL) == -EINVAL,
		  "ktls_config_set_system_trust(NULL)");
	tap_check(ktls_config_set_verify(NULL, true, true) == -EINVAL,
		  "ktls_config_set_verify(NULL)");
	tap_check(ktls_config_set_client_auth(NULL, KTLS_CLIENT_AUTH_REQUIRE) == -EINVAL,
		  "ktls_config_set_client_auth(NULL)");
	tap_check(ktls_config_add_psk(NULL, "id", psk_key, sizeof(psk_key)) == -EINVAL,
		  "ktls_config_add_psk(NULL, ..)");
	tap_check(ktls_config_set_alpn(NULL, "h2") == -EINVAL, "ktls_config_set_alpn(NULL, ..)");
	tap_check(ktls_config_set_versions(NULL, KTLS_VERSION_TLS12, KTLS_VERSION_TLS13) == -EINVAL,
		  "ktls_config_set_versions(NULL, ..)");
	tap_check(ktls_config_set_priority(NULL, "NORMAL") == -EINVAL,
		  "ktls_config_set_priority(NULL, ..)");
	tap_check(ktls_config_set_offload(NULL, KTLS_DIR_BOTH, KTLS_OFFLOAD_OFF) == -EINVAL,
		  "ktls_config_set_offload(NULL, ..)");
	tap_check(ktls_config_set_handshake_timeout(NULL, 1) == -EINVAL,
		  "ktls_config_set_handshake_timeout(NULL, ..)");

	tap_check(ktls_conn_new(NULL, stream_fd(), 0, &(struct ktls_conn *){ NULL }) == -EINVAL,
		  "ktls_conn_new(NULL config)");
	tap_check(ktls_conn_adopt(NULL, NULL, -1, 0, &(struct ktls_conn *){ NULL }) == -EINVAL,
		  "ktls_conn_adopt(NULL, NULL, ..)");
	tap_check(ktls_conn_fd(NULL) == -EINVAL, "ktls_conn_fd(NULL)");
	tap_check(ktls_conn_set_server_name(NULL, "x") == -EINVAL,
		  "ktls_conn_set_server_name(NULL)");
	tap_check(ktls_conn_handshake(NULL) == -EINVAL, "ktls_conn_handshake(NULL)");
	tap_check(ktls_conn_wants(NULL) == 0, "ktls_conn_wants(NULL) is 0");
	tap_check(ktls_conn_send(NULL, "x", 1) == -EINVAL, "ktls_conn_send(NULL, ..)");
	tap_check(ktls_conn_recv(NULL, (char[1]){ 0 }, 1) == -EINVAL, "ktls_conn_recv(NULL, ..)");
	tap_check(ktls_conn_pending(NULL) == 0, "ktls_conn_pending(NULL) is 0");
	tap_check(ktls_conn_sendfile(NULL, 0, &off, 1) == -EINVAL, "ktls_conn_sendfile(NULL, ..)");
	tap_check(ktls_conn_shutdown(NULL) == -EINVAL, "ktls_conn_shutdown(NULL)");
	tap_check(ktls_conn_get_info(NULL, &(struct ktls_info){ 0 }) == -EINVAL,
		  "ktls_conn_get_info(NULL, ..)");

	/* These must not crash. */
	ktls_conn_free(NULL);
	ktls_config_unref(NULL);
	tap_check(true, "ktls_conn_free(NULL) and ktls_config_unref(NULL) are no-ops");
}

/* A NULL pointer argument beside a valid object: the object says which. */
static void test_null_beside_object(const char *cert, const char *key)
{
	struct ktls_config *c;
	struct ktls_conn *conn;
	off_t off = 0;
	int file_fd;

	c = fresh(KTLS_ROLE_SERVER);
	tap_check_err("add_cert_file(cfg, NULL, key)", ktls_config_add_cert_file(c, NULL, key),
		      EINVAL, ktls_config_error(c), "certificate", NULL);
	c = fresh(KTLS_ROLE_SERVER);
	tap_check_err("add_cert_file(cfg, cert, NULL)", ktls_config_add_cert_file(c, cert, NULL),
		      EINVAL, ktls_config_error(c), "key", NULL);
	c = fresh(KTLS_ROLE_CLIENT);
	tap_check_err("set_ca_file(cfg, NULL)", ktls_config_set_ca_file(c, NULL), EINVAL,
		      ktls_config_error(c), "CA", NULL);
	c = fresh(KTLS_ROLE_CLIENT);
	tap_check_err("add_psk(cfg, NULL identity)", ktls_config_add_psk(c, NULL, psk_key, 32),
		      EINVAL, ktls_config_error(c), "PSK identity", NULL);
	c = fresh(KTLS_ROLE_CLIENT);
	tap_check_err("add_psk(cfg, \"id\", NULL key)", ktls_config_add_psk(c, "id", NULL, 32),
		      EINVAL, ktls_config_error(c), "PSK key", NULL);
	c = fresh(KTLS_ROLE_CLIENT);
	tap_check_err("set_alpn(cfg, NULL)", ktls_config_set_alpn(c, NULL), EINVAL,
		      ktls_config_error(c), "ALPN", NULL);
	c = fresh(KTLS_ROLE_CLIENT);
	tap_check_err("set_priority(cfg, NULL)", ktls_config_set_priority(c, NULL), EINVAL,
		      ktls_config_error(c), "priority", NULL);

	c = fresh_client();
	tap_check_err("ktls_conn_new(cfg, fd, 0, NULL)", ktls_conn_new(c, stream_fd(), 0, NULL),
		      EINVAL, ktls_config_error(c), "NULL", NULL);

	conn = fresh_conn(fresh_client());
	tap_check_err("set_server_name(conn, NULL)", ktls_conn_set_server_name(conn, NULL), EINVAL,
		      ktls_conn_error(conn), "server name", NULL);

	conn = fresh_conn(fresh_client());
	tap_check_err("send(conn, NULL, 5)", ktls_conn_send(conn, NULL, 5), EINVAL,
		      ktls_conn_error(conn), "NULL", NULL);
	conn = fresh_conn(fresh_client());
	tap_check_err("recv(conn, NULL, 5)", ktls_conn_recv(conn, NULL, 5), EINVAL,
		      ktls_conn_error(conn), "NULL", NULL);
	conn = fresh_conn(fresh_client());
	file_fd = keep_fd(open("/dev/null", O_RDONLY | O_CLOEXEC));
	tap_check_err("sendfile(conn, fd, NULL offset, 1)",
		      ktls_conn_sendfile(conn, file_fd, NULL, 1), EINVAL, ktls_conn_error(conn),
		      "offset", NULL);
	conn = fresh_conn(fresh_client());
	tap_check_err("sendfile(conn, -1, &off, 1)", ktls_conn_sendfile(conn, -1, &off, 1), EINVAL,
		      ktls_conn_error(conn), "file", NULL);
	conn = fresh_conn(fresh_client());
	tap_check(ktls_conn_get_info(conn, NULL) == -EINVAL, "get_info(conn, NULL): -EINVAL");
}

static void test_config_values(void)
{
	struct ktls_config *c;
	char long_name[300];

	c = fresh(KTLS_ROLE_CLIENT);
	tap_check_err("set_versions(0x0301, 0x0304)",
		      ktls_config_set_versions(c, 0x0301, KTLS_VERSION_TLS13), EINVAL,
		      ktls_config_error(c), "TLS 1.2 or 1.3", "0x0301", NULL);
	c = fresh(KTLS_ROLE_CLIENT);
	tap_check_err("set_versions(1.3, 1.2): min > max",
		      ktls_config_set_versions(c, KTLS_VERSION_TLS13, KTLS_VERSION_TLS12), EINVAL,
		      ktls_config_error(c), "min <= max", NULL);
	c = fresh(KTLS_ROLE_CLIENT);
	tap_check_err("set_versions(1.2, 0x0305)",
		      ktls_config_set_versions(c, KTLS_VERSION_TLS12, 0x0305), EINVAL,
		      ktls_config_error(c), "0x0305", NULL);

	c = fresh(KTLS_ROLE_CLIENT);
	tap_check_err("add_psk with an 8-byte key", ktls_config_add_psk(c, "alice", psk_key, 8),
		      EINVAL, ktls_config_error(c), "PSK key", "16..64", "got 8", NULL);
	c = fresh(KTLS_ROLE_CLIENT);
	tap_check_err("add_psk with a 15-byte key", ktls_config_add_psk(c, "alice", psk_key, 15),
		      EINVAL, ktls_config_error(c), "got 15", NULL);
	c = fresh(KTLS_ROLE_CLIENT);
	tap_check_err("add_psk with a 65-byte key",
		      ktls_config_add_psk(c, "alice", (unsigned char[65]){ 0 }, 65), EINVAL,
		      ktls_config_error(c), "got 65", NULL);
	c = fresh(KTLS_ROLE_CLIENT);
	tap_check(ktls_config_add_psk(c, "alice", psk_key, 16) == 0 &&
			  ktls_config_add_psk(c, "bob", (unsigned char[64]){ 0 }, 64) == 0,
		  "add_psk accepts 16- and 64-byte keys");
	c = fresh(KTLS_ROLE_CLIENT);
	tap_check_err("add_psk with an empty identity", ktls_config_add_psk(c, "", psk_key, 32),
		      EINVAL, ktls_config_error(c), "PSK identity", "1..255", NULL);
	memset(long_name, 'a', 256);
	long_name[256] = '\0';
	c = fresh(KTLS_ROLE_CLIENT);
	tap_check_err("add_psk with a 256-byte identity",
		      ktls_config_add_psk(c, long_name, psk_key, 32), EINVAL, ktls_config_error(c),
		      "PSK identity", NULL);
	c = fresh(KTLS_ROLE_SERVER);
	ktls_config_add_psk(c, "alice", psk_key, 32);
	tap_check_err("add_psk with a duplicate identity",
		      ktls_config_add_psk(c, "alice", psk_key, 20), EEXIST, ktls_config_error(c),
		      "\"alice\"", "twice", NULL);

	c = fresh(KTLS_ROLE_CLIENT);
	tap_check_err("set_alpn(\"\")", ktls_config_set_alpn(c, ""), EINVAL, ktls_config_error(c),
		      "ALPN", "empty", NULL);
	c = fresh(KTLS_ROLE_CLIENT);
	tap_check_err("set_alpn(\",,\")", ktls_config_set_alpn(c, ",,"), EINVAL,
		      ktls_config_error(c), "ALPN", NULL);
	c = fresh(KTLS_ROLE_CLIENT);
	tap_check_err("set_alpn(256-byte name)", ktls_config_set_alpn(c, long_name), EINVAL,
		      ktls_config_error(c), "ALPN", "255", NULL);
	c = fresh(KTLS_ROLE_CLIENT);
	tap_check(ktls_config_set_alpn(c, "h2,http/1.1") == 0, "set_alpn(\"h2,http/1.1\") is fine");

	c = fresh(KTLS_ROLE_CLIENT);
	tap_check_err("set_priority(\"BOGUS\")", ktls_config_set_priority(c, "BOGUS"), EINVAL,
		      ktls_config_error(c), "priority", "BOGUS", NULL);
	c = fresh(KTLS_ROLE_CLIENT);
	tap_check_err("set_priority(\"NORMAL:+NOT-A-CIPHER\")",
		      ktls_config_set_priority(c, "NORMAL:+NOT-A-CIPHER"), EINVAL,
		      ktls_config_error(c), "priority", "NOT-A-CIPHER", NULL);

	c = fresh(KTLS_ROLE_CLIENT);
	tap_check_err("set_client_auth on a client config",
		      ktls_config_set_client_auth(c, KTLS_CLIENT_AUTH_REQUIRE), EINVAL,
		      ktls_config_error(c), "server setting", NULL);
	c = fresh(KTLS_ROLE_SERVER);
	tap_check_err("set_client_auth(mode 9)", ktls_config_set_client_auth(c, 9), EINVAL,
		      ktls_config_error(c), "client authentication mode 9", NULL);
	c = fresh(KTLS_ROLE_CLIENT);
	tap_check_err("set_offload(no direction)", ktls_config_set_offload(c, 0, KTLS_OFFLOAD_OFF),
		      EINVAL, ktls_config_error(c), "direction", NULL);
	c = fresh(KTLS_ROLE_CLIENT);
	tap_check_err("set_offload(policy 7)", ktls_config_set_offload(c, KTLS_DIR_TX, 7), EINVAL,
		      ktls_config_error(c), "offload policy 7", NULL);

	/* Each failing call leaves its own sentence; a call that succeeds leaves it alone. */
	c = fresh(KTLS_ROLE_CLIENT);
	ktls_config_set_alpn(c, "");
	ktls_config_set_priority(c, "BOGUS");
	tap_check(strstr(ktls_config_error(c), "BOGUS") != NULL,
		  "the config's error is the last failed call's: \"%s\"", ktls_config_error(c));
	ktls_config_set_versions(c, KTLS_VERSION_TLS12, KTLS_VERSION_TLS13);
	tap_check(strstr(ktls_config_error(c), "BOGUS") != NULL,
		  "... and a successful call leaves it: \"%s\"", ktls_config_error(c));
	c = fresh(KTLS_ROLE_CLIENT);
	tap_check(strcmp(ktls_config_error(c), "") == 0, "a new config's error is \"\"");
}

static void test_files(const char *dir, const char *cert, const char *key, const char *garbage)
{
	struct ktls_config *c;
	char missing[PATH_MAX];

	snprintf(missing, sizeof(missing), "%s/no-such-file.pem", dir);

	c = fresh(KTLS_ROLE_SERVER);
	tap_check_err("add_cert_file(missing cert, good key)",
		      ktls_config_add_cert_file(c, missing, key), ENOENT, ktls_config_error(c),
		      missing, NULL);
	c = fresh(KTLS_ROLE_SERVER);
	tap_check_err("add_cert_file(good cert, missing key)",
		      ktls_config_add_cert_file(c, cert, missing), ENOENT, ktls_config_error(c),
		      missing, "private key", NULL);
	c = fresh(KTLS_ROLE_SERVER);
	tap_check_err("add_cert_file(garbage PEM, garbage PEM)",
		      ktls_config_add_cert_file(c, garbage, garbage), EBADMSG, ktls_config_error(c),
		      garbage, NULL);
	c = fresh(KTLS_ROLE_SERVER);
	tap_check_err("add_cert_file(good cert, garbage key)",
		      ktls_config_add_cert_file(c, cert, garbage), EBADMSG, ktls_config_error(c),
		      NULL);
	c = fresh(KTLS_ROLE_SERVER);
	tap_check(ktls_config_add_cert_file(c, cert, key) == 0, "add_cert_file(good, good)");

	c = fresh(KTLS_ROLE_CLIENT);
	tap_check_err("set_ca_file(missing)", ktls_config_set_ca_file(c, missing), ENOENT,
		      ktls_config_error(c), missing, NULL);
	c = fresh(KTLS_ROLE_CLIENT);
	tap_check_err("set_ca_file(garbage PEM)", ktls_config_set_ca_file(c, garbage), EBADMSG,
		      ktls_config_error(c), garbage, NULL);
	c = fresh(KTLS_ROLE_CLIENT);
	tap_check(ktls_config_set_ca_file(c, cert) == 0, "set_ca_file(good)");
}

static void test_frozen(const char *cert, const char *key)
{
	struct ktls_config *c = fresh_client();
	struct ktls_conn *conn = fresh_conn(c);
	const char *text = "in use by a connection";

	(void)conn;
#define BUSY(call)                                                                                 \
	tap_check_err(#call " after ktls_conn_new", call, EBUSY, ktls_config_error(c), text, NULL)
	BUSY(ktls_config_set_log(c, NULL, KTLS_LOG_DEBUG, NULL));
	BUSY(ktls_config_add_cert_file(c, cert, key));
	BUSY(ktls_config_set_ca_file(c, cert));
	BUSY(ktls_config_set_system_trust(c));
	BUSY(ktls_config_set_verify(c, true, true));
	BUSY(ktls_config_set_client_auth(c, KTLS_CLIENT_AUTH_NONE));
	BUSY(ktls_config_add_psk(c, "carol", psk_key, sizeof(psk_key)));
	BUSY(ktls_config_set_alpn(c, "h2"));
	BUSY(ktls_config_set_versions(c, KTLS_VERSION_TLS13, KTLS_VERSION_TLS13));
	BUSY(ktls_config_set_priority(c, "NORMAL"));
	BUSY(ktls_config_set_offload(c, KTLS_DIR_BOTH, KTLS_OFFLOAD_OFF));
	BUSY(ktls_config_set_handshake_timeout(c, 5));
#undef BUSY
	/* A second connection from a frozen config is what freezing is for. */
	tap_check(fresh_conn(c) != NULL, "a frozen config still makes connections");
}

static void test_conn_new(void)
{
	struct ktls_config *c;
	struct ktls_conn *conn = (struct ktls_conn *)0x1;
	int pfd[2], udp, fd, ret;

	if (pipe2(pfd, O_CLOEXEC) != 0)
		tap_bail("pipe: %s", strerror(errno));
	keep_fd(pfd[0]);
	keep_fd(pfd[1]);
	c = fresh_client();
	ret = ktls_conn_new(c, pfd[0], KTLS_CONN_OWN_FD, &conn);
	tap_check_err("ktls_conn_new(pipe)", ret, ENOTSOCK, ktls_config_error(c),
		      "non-socket", NULL);
	tap_check(conn == (struct ktls_conn *)0x1, "ktls_conn_new(pipe): *ret_conn untouched");
	tap_check(fd_open(pfd[0]),
		  "ktls_conn_new(pipe, OWN_FD) failed: the caller still owns the fd");

	udp = keep_fd(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
	c = fresh_client();
	tap_check_err("ktls_conn_new(UDP socket)", ktls_conn_new(c, udp, KTLS_CONN_OWN_FD, &conn),
		      EINVAL, ktls_config_error(c), "not a TCP socket", NULL);
	tap_check(fd_open(udp), "ktls_conn_new(UDP, OWN_FD) failed: the caller still owns the fd");

	/* Sockets that cannot carry kernel TLS, refused up front rather than failing the handshake. */
	{
		int sv[2], unconnected, listening;

		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
			tap_bail("socketpair: %s", strerror(errno));
		keep_fd(sv[0]);
		keep_fd(sv[1]);
		c = fresh_client();
		tap_check_err("ktls_conn_new(AF_UNIX stream)", ktls_conn_new(c, sv[0], 0, &conn),
			      EINVAL, ktls_config_error(c), "not a TCP socket", NULL);
		unconnected = keep_fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
		c = fresh_client();
		tap_check_err("ktls_conn_new(unconnected TCP)", ktls_conn_new(c, unconnected, 0, &conn),
			      ENOTCONN, ktls_config_error(c), "not connected", NULL);
		listening = keep_fd(unit_tcp_listen());
		c = fresh_client();
		tap_check_err("ktls_conn_new(listening TCP)", ktls_conn_new(c, listening, 0, &conn),
			      EINVAL, ktls_config_error(c), "listening socket", NULL);
		fd = stream_fd();
		shutdown(fd, SHUT_WR);
		c = fresh_client();
		tap_check_err("ktls_conn_new(TCP shut down for writing)", ktls_conn_new(c, fd, 0, &conn),
			      ENOTCONN, ktls_config_error(c), "closing", NULL);
		tap_check(conn == (struct ktls_conn *)0x1, "refused sockets: *ret_conn untouched");
	}

	c = fresh_client();
	tap_check_err("ktls_conn_new(fd -1)", ktls_conn_new(c, -1, 0, &conn), EINVAL,
		      ktls_config_error(c), "-1", NULL);

	c = fresh_client();
	fd = stream_fd();
	tap_check_err("ktls_conn_new(flags 0x80)", ktls_conn_new(c, fd, 0x80, &conn), EINVAL,
		      ktls_config_error(c), "flags", NULL);

	/* A server with nothing to authenticate with fails at its first connection. */
	c = fresh(KTLS_ROLE_SERVER);
	fd = stream_fd();
	tap_check_err("ktls_conn_new(server config without certificate or PSK)",
		      ktls_conn_new(c, fd, KTLS_CONN_OWN_FD, &conn), EINVAL, ktls_config_error(c),
		      "certificate or a PSK", NULL);
	tap_check(fd_open(fd), "... and the caller still owns the fd");
	tap_check(conn == (struct ktls_conn *)0x1, "... and *ret_conn is untouched");

	/* KTLS_CONN_OWN_FD: ktls_conn_free() closes it. */
	c = fresh_client();
	fd = stream_fd();
	ret = ktls_conn_new(c, fd, KTLS_CONN_OWN_FD, &conn);
	tap_check(ret == 0 && ktls_conn_fd(conn) == fd, "ktls_conn_new(OWN_FD); ktls_conn_fd()");
	if (ret == 0) {
		ktls_conn_free(conn);
		tap_check(!fd_open(fd), "ktls_conn_free() closed the OWN_FD fd");
		/* keep_fd() would close it again at the end; a new fd may have this number. */
		for (size_t i = 0; i < n_fds; i++)
			if (fds[i] == fd)
				fds[i] = -1;
	}
	c = fresh_client();
	fd = stream_fd();
	ret = ktls_conn_new(c, fd, 0, &conn);
	if (ret == 0) {
		ktls_conn_free(conn);
		tap_check(fd_open(fd), "ktls_conn_free() without OWN_FD leaves the fd open");
	} else {
		tap_check(false, "ktls_conn_new(flags 0)");
	}
}

static void test_before_handshake(void)
{
	struct ktls_conn *conn;
	struct ktls_info info;
	char buf[16];
	off_t off = 0;
	int file_fd = keep_fd(open("/dev/null", O_RDONLY | O_CLOEXEC));

	conn = fresh_conn(fresh_client());
	tap_check_err("send before the handshake", ktls_conn_send(conn, "x", 1), EINVAL,
		      ktls_conn_error(conn), "handshake", NULL);
	conn = fresh_conn(fresh_client());
	tap_check_err("recv before the handshake", ktls_conn_recv(conn, buf, sizeof(buf)), EINVAL,
		      ktls_conn_error(conn), "handshake", NULL);
	conn = fresh_conn(fresh_client());
	tap_check_err("sendfile before the handshake", ktls_conn_sendfile(conn, file_fd, &off, 1),
		      EINVAL, ktls_conn_error(conn), "handshake", NULL);
	tap_check(off == 0, "sendfile before the handshake: *offset untouched");
	conn = fresh_conn(fresh_client());
	tap_check_err("shutdown before the handshake", ktls_conn_shutdown(conn), EINVAL,
		      ktls_conn_error(conn), "handshake", NULL);
	conn = fresh_conn(fresh_client());
	memset(&info, 0x5a, sizeof(info));
	/* get_info takes a const conn (it is a read-only query), so errno only. */
	tap_check(ktls_conn_get_info(conn, &info) == -EINVAL, "get_info before the handshake: -EINVAL");
	tap_check(((unsigned char *)&info)[0] == 0x5a && info.version_name[3] == 0x5a,
		  "get_info before the handshake: *ret_info untouched");
	conn = fresh_conn(fresh_client());
	tap_check(ktls_conn_pending(conn) == 0, "pending before the handshake is 0");
}

static void test_server_name(const char *ca)
{
	struct ktls_config *c;
	struct ktls_conn *conn;
	char long_name[300];
	int ret;

	conn = fresh_conn(fresh_psk_server());
	tap_check_err("set_server_name on a server", ktls_conn_set_server_name(conn, "example.com"),
		      EINVAL, ktls_conn_error(conn), "client", NULL);

	conn = fresh_conn(fresh_client());
	tap_check_err("set_server_name(\"\")", ktls_conn_set_server_name(conn, ""), EINVAL,
		      ktls_conn_error(conn), "server name", NULL);
	memset(long_name, 'a', 254);
	long_name[254] = '\0';
	conn = fresh_conn(fresh_client());
	tap_check_err("set_server_name(254 characters)", ktls_conn_set_server_name(conn, long_name),
		      EINVAL, ktls_conn_error(conn), "253", NULL);

	/* Verification on (the default) and no name to verify against. */
	c = fresh(KTLS_ROLE_CLIENT);
	if (ktls_config_set_ca_file(c, ca) != 0)
		tap_bail("set_ca_file: %s", ktls_config_error(c));
	conn = fresh_conn(c);
	ret = ktls_conn_handshake(conn);
	tap_check_err("client handshake with hostname checks and no server name", ret, EINVAL,
		      ktls_conn_error(conn), "ktls_conn_set_server_name", NULL);
	tap_check(ktls_conn_handshake(conn) == ret, "a failed handshake fails the same way again");
	tap_check(ktls_conn_send(conn, "x", 1) == ret,
		  "send after a failed handshake returns the handshake's failure");

	/* Hostname checks off: no name needed, the handshake starts (-EAGAIN or waits). */
	c = fresh(KTLS_ROLE_CLIENT);
	ktls_config_set_ca_file(c, ca);
	ktls_config_set_verify(c, true, false);
	conn = fresh_conn(c);
	unit_set_nonblock(ktls_conn_fd(conn), true);
	ret = ktls_conn_handshake(conn);
	tap_check(ret == -EAGAIN && ktls_conn_wants(conn) == KTLS_WANT_READ,
		  "without hostname checks the handshake starts (%s, wants %d)",
		  unit_errno_name(ret), ktls_conn_wants(conn));
	tap_check_err("set_server_name after the handshake began",
		      ktls_conn_set_server_name(conn, "example.com"), EINVAL, ktls_conn_error(conn),
		      "before the handshake", NULL);
}

static void test_adopt(void)
{
	gnutls_session_t session;
	struct ktls_config *c = fresh_client();
	struct ktls_conn *conn = (struct ktls_conn *)0x1;
	int fd = stream_fd();

	if (gnutls_init(&session, GNUTLS_CLIENT) < 0)
		tap_bail("gnutls_init");
	tap_check_err("ktls_conn_adopt(session before its handshake)",
		      ktls_conn_adopt(c, session, fd, KTLS_CONN_OWN_FD, &conn), EINVAL,
		      ktls_config_error(c), "handshake", NULL);
	tap_check(conn == (struct ktls_conn *)0x1 && fd_open(fd),
		  "ktls_conn_adopt failed: *ret_conn untouched, the caller still owns the fd");
	c = fresh_client();
	tap_check(ktls_conn_adopt(c, session, fd, 0, NULL) == -EINVAL,
		  "ktls_conn_adopt(.., NULL ret_conn)");
	gnutls_deinit(session);
}

static void test_cipher_names(void)
{
	tap_check(strcmp(ktls_cipher_name(KTLS_CIPHER_AES_128_GCM), "AES-128-GCM") == 0 &&
			  strcmp(ktls_cipher_name(KTLS_CIPHER_AES_256_GCM), "AES-256-GCM") == 0 &&
			  strcmp(ktls_cipher_name(KTLS_CIPHER_AES_128_CCM), "AES-128-CCM") == 0 &&
			  strcmp(ktls_cipher_name(KTLS_CIPHER_CHACHA20_POLY1305),
				 "CHACHA20-POLY1305") == 0,
		  "ktls_cipher_name() of the four ciphers");
	tap_check(strcmp(ktls_cipher_name(KTLS_CIPHER_NONE), "none") == 0,
		  "ktls_cipher_name(-1) is \"none\"");
	tap_check(strcmp(ktls_cipher_name((enum ktls_cipher)99), "none") == 0,
		  "ktls_cipher_name(99) is \"none\"");
	tap_check(strcmp(ktls_cipher_name((KTLS_CIPHER_LAST + 1)), "none") == 0,
		  "ktls_cipher_name((KTLS_CIPHER_LAST + 1)) is \"none\"");
}

/*
 * The *_sized calls behind the header's wrappers: a caller's struct larger
 * than the library's (a newer header) gets zeros past what the library
 * knows; one smaller than LIBKTLS_0.1's is refused.
 */
static void test_sized_structs(void)
{
	struct {
		struct ktls_caps caps;
		unsigned char newer[64];
	} big;
	struct {
		struct ktls_stats stats;
		unsigned char newer[64];
	} sbig;
	bool zero = true;
	struct ktls_caps caps;

	memset(&big, 0xff, sizeof(big));
	tap_check(ktls_caps_get_sized(&big.caps, sizeof(big)) == 0 && big.caps.summary[0] != '\0',
		  "ktls_caps_get_sized with a newer, larger struct");
	for (size_t i = 0; i < sizeof(big.newer); i++)
		zero &= big.newer[i] == 0;
	tap_check(zero, "... the fields this library does not know are zero");
	tap_check(ktls_caps_get_sized(&caps, 8) == -EINVAL, "ktls_caps_get_sized(8 bytes): -EINVAL");
	tap_check(ktls_caps_get(&caps) == 0 && ktls_probe(&caps) == 0,
		  "ktls_caps_get(), and ktls_probe() by its old name");
	memset(&sbig, 0xff, sizeof(sbig));
	zero = true;
	tap_check(ktls_stats_parse_sized("TlsTxSw 3\n", 10, &sbig.stats, sizeof(sbig), NULL, 0) == 0 &&
			  sbig.stats.value[KTLS_STAT_TX_SW] == 3,
		  "ktls_stats_parse_sized with a larger struct");
	for (size_t i = 0; i < sizeof(sbig.newer); i++)
		zero &= sbig.newer[i] == 0;
	tap_check(zero, "... zero past this library's struct");
	tap_check(ktls_stats_parse_sized("TlsTxSw 3\n", 10, &sbig.stats, 16, NULL, 0) == -EINVAL,
		  "ktls_stats_parse_sized(16 bytes): -EINVAL");
}

int main(void)
{
	const char *dir = unit_tmpdir();
	static const char junk[] = "-----BEGIN CERTIFICATE-----\nnot base64 at all!\n"
				   "-----END CERTIFICATE-----\n";
	char garbage[PATH_MAX];
	struct unit_cert ca;

	if (unit_cert_make(&ca, dir, "ca", UNIT_CERT_CA, "Test CA", NULL, NULL, false) < 0 ||
	    unit_write_file(dir, "garbage.pem", junk, sizeof(junk) - 1, garbage) < 0)
		tap_bail("cannot write test files in %s", dir);

	test_null_arguments(ca.cert_path, ca.key_path);
	test_null_beside_object(ca.cert_path, ca.key_path);
	test_config_values();
	test_files(dir, ca.cert_path, ca.key_path, garbage);
	test_frozen(ca.cert_path, ca.key_path);
	test_conn_new();
	test_before_handshake();
	test_server_name(ca.cert_path);
	test_adopt();
	test_cipher_names();
	test_sized_structs();

	for (size_t i = 0; i < n_conns; i++)
		ktls_conn_free(conns[i]);
	for (size_t i = 0; i < n_configs; i++)
		ktls_config_unref(configs[i]);
	for (size_t i = 0; i < n_fds; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	unit_cert_free(&ca);
	return tap_done();
}
