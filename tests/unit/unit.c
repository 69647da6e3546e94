/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Shared by the unit tests; see unit.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/crypto.h>

#include "unit.h"

/* ---- TAP ------------------------------------------------------------------ */

static unsigned int tap_count, tap_failed;
static const char *tap_todo;

__attribute__((format(printf, 2, 0)))
static void tap_line(const char *prefix, const char *fmt, va_list ap)
{
	fputs(prefix, stdout);
	vprintf(fmt, ap);
	putchar('\n');
	/* A crash must not eat the points already printed. */
	fflush(stdout);
}

void tap_todo_next(const char *bug)
{
	tap_todo = bug;
}

bool tap_check(bool ok, const char *fmt, ...)
{
	char prefix[32];
	const char *todo = tap_todo;
	va_list ap;

	tap_todo = NULL;
	tap_count++;
	/* A TODO point that passes is a bug fixed: the marker must go. */
	if (todo != NULL ? ok : !ok)
		tap_failed++;
	snprintf(prefix, sizeof(prefix), "%sok %u - ", ok ? "" : "not ", tap_count);
	fputs(prefix, stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	if (todo != NULL)
		printf(" # TODO %s", todo);
	putchar('\n');
	fflush(stdout);
	return ok;
}

void tap_skip(const char *fmt, ...)
{
	char prefix[32];
	va_list ap;

	tap_count++;
	snprintf(prefix, sizeof(prefix), "ok %u # SKIP ", tap_count);
	va_start(ap, fmt);
	tap_line(prefix, fmt, ap);
	va_end(ap);
}

void tap_diag(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	tap_line("# ", fmt, ap);
	va_end(ap);
}

int tap_done(void)
{
	printf("1..%u\n", tap_count);
	fflush(stdout);
	return tap_failed == 0 ? 0 : 1;
}

void tap_skip_all(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	tap_line("1..0 # SKIP ", fmt, ap);
	va_end(ap);
	exit(0);
}

void tap_bail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	tap_line("Bail out! ", fmt, ap);
	va_end(ap);
	exit(1);
}

const char *unit_errno_name(int err)
{
	/* A few at once, for several in one printf. */
	static __thread char bufs[4][32];
	static __thread unsigned int next;
	char *buf = bufs[next++ % 4];
	const char *name;

	if (err == 0)
		return "0";
	name = strerrorname_np(err < 0 ? -err : err);
	snprintf(buf, sizeof(bufs[0]), "%s%s", err < 0 ? "-" : "", name != NULL ? name : "E?");
	return buf;
}

bool tap_check_err(const char *what, long got, int want_errno, const char *text, ...)
{
	const char *needle, *missing = NULL;
	va_list ap;
	bool ok;

	if (text == NULL)
		text = "(null)";
	va_start(ap, text);
	while ((needle = va_arg(ap, const char *)) != NULL)
		if (missing == NULL && strstr(text, needle) == NULL)
			missing = needle;
	va_end(ap);
	ok = got == -(long)want_errno && missing == NULL;
	tap_check(ok, "%s: -%s", what, unit_errno_name(want_errno));
	if (ok)
		tap_diag("  \"%s\"", text);
	else {
		tap_diag("  returned %ld (%s), wanted -%s", got, unit_errno_name((int)got),
			 unit_errno_name(want_errno));
		tap_diag("  error text: \"%s\"", text);
		if (missing != NULL)
			tap_diag("  text lacks \"%s\"", missing);
	}
	return ok;
}

/* ---- files ---------------------------------------------------------------- */

static char tmpdir_path[PATH_MAX];

static int tmpdir_remove_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	remove(path);
	return 0;
}

static void tmpdir_cleanup(void)
{
	if (tmpdir_path[0] != '\0')
		nftw(tmpdir_path, tmpdir_remove_one, 8, FTW_DEPTH | FTW_PHYS);
}

const char *unit_tmpdir(void)
{
	const char *base = getenv("TMPDIR");

	if (tmpdir_path[0] != '\0')
		return tmpdir_path;
	snprintf(tmpdir_path, sizeof(tmpdir_path), "%s/ktls-unit-XXXXXX",
		 base != NULL && base[0] != '\0' ? base : "/tmp");
	if (mkdtemp(tmpdir_path) == NULL)
		tap_bail("mkdtemp(%s): %s", tmpdir_path, strerror(errno));
	atexit(tmpdir_cleanup);
	return tmpdir_path;
}

int unit_write_file(const char *dir, const char *name, const void *data, size_t len, char *ret_path)
{
	char path[PATH_MAX];
	const unsigned char *p = data;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int err = -errno;

			close(fd);
			return err;
		}
		p += n;
		len -= (size_t)n;
	}
	if (close(fd) != 0)
		return -errno;
	if (ret_path != NULL)
		snprintf(ret_path, PATH_MAX, "%s", path);
	return 0;
}

/* ---- certificates --------------------------------------------------------- */

static int cert_write(const char *dir, const char *name, const char *suffix,
		      const gnutls_datum_t *pem, char *ret_path)
{
	char file[256];

	snprintf(file, sizeof(file), "%s%s.pem", name, suffix);
	return unit_write_file(dir, file, pem->data, pem->size, ret_path);
}

int unit_cert_make(struct unit_cert *ret_cert, const char *dir, const char *name,
		   enum unit_cert_kind kind, const char *common_name, const char *dns_name,
		   const struct unit_cert *issuer, bool expired)
{
	struct unit_cert c;
	gnutls_datum_t crt_pem = { NULL, 0 }, key_pem = { NULL, 0 }, dn = { NULL, 0 };
	unsigned char serial[16];
	time_t now = time(NULL);
	time_t start = expired ? now - 2 * 86400 : now - 3600;
	time_t end = expired ? now - 86400 : now + 7 * 86400;
	const char *step = "";
	int ret;

	memset(&c, 0, sizeof(c));
	if (gnutls_x509_privkey_init(&c.key) < 0 || gnutls_x509_crt_init(&c.crt) < 0) {
		ret = GNUTLS_E_MEMORY_ERROR;
		step = "init";
		goto gnutls_fail;
	}
	gnutls_rnd(GNUTLS_RND_NONCE, serial, sizeof(serial));
	serial[0] &= 0x7f;

#define STEP(call)                                                                                 \
	do {                                                                                       \
		step = #call;                                                                      \
		ret = (call);                                                                      \
		if (ret < 0)                                                                       \
			goto gnutls_fail;                                                          \
	} while (0)

	STEP(gnutls_x509_privkey_generate(c.key, GNUTLS_PK_ECDSA,
					  GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0));
	STEP(gnutls_x509_crt_set_version(c.crt, 3));
	STEP(gnutls_x509_crt_set_serial(c.crt, serial, sizeof(serial)));
	STEP(gnutls_x509_crt_set_activation_time(c.crt, start));
	STEP(gnutls_x509_crt_set_expiration_time(c.crt, end));
	STEP(gnutls_x509_crt_set_dn_by_oid(c.crt, GNUTLS_OID_X520_ORGANIZATION_NAME, 0,
					   "libktls unit tests", strlen("libktls unit tests")));
	STEP(gnutls_x509_crt_set_dn_by_oid(c.crt, GNUTLS_OID_X520_COMMON_NAME, 0, common_name,
					   strlen(common_name)));
	STEP(gnutls_x509_crt_set_key(c.crt, c.key));
	if (kind == UNIT_CERT_CA) {
		STEP(gnutls_x509_crt_set_basic_constraints(c.crt, 1, -1));
		STEP(gnutls_x509_crt_set_key_usage(c.crt,
						   GNUTLS_KEY_KEY_CERT_SIGN | GNUTLS_KEY_CRL_SIGN));
	} else {
		STEP(gnutls_x509_crt_set_basic_constraints(c.crt, 0, -1));
		STEP(gnutls_x509_crt_set_key_usage(c.crt, GNUTLS_KEY_DIGITAL_SIGNATURE));
		STEP(gnutls_x509_crt_set_key_purpose_oid(c.crt,
							 kind == UNIT_CERT_SERVER
								 ? GNUTLS_KP_TLS_WWW_SERVER
								 : GNUTLS_KP_TLS_WWW_CLIENT,
							 0));
	}
	if (dns_name != NULL)
		STEP(gnutls_x509_crt_set_subject_alt_name(c.crt, GNUTLS_SAN_DNSNAME, dns_name,
							  strlen(dns_name), GNUTLS_FSAN_SET));
	if (issuer != NULL)
		STEP(gnutls_x509_crt_sign2(c.crt, issuer->crt, issuer->key, GNUTLS_DIG_SHA256, 0));
	else
		STEP(gnutls_x509_crt_sign2(c.crt, c.crt, c.key, GNUTLS_DIG_SHA256, 0));
	STEP(gnutls_x509_crt_export2(c.crt, GNUTLS_X509_FMT_PEM, &crt_pem));
	STEP(gnutls_x509_privkey_export2(c.key, GNUTLS_X509_FMT_PEM, &key_pem));
	STEP(gnutls_x509_crt_get_dn3(c.crt, &dn, 0));
#undef STEP

	snprintf(c.dn, sizeof(c.dn), "%.*s", (int)dn.size, (const char *)dn.data);
	ret = cert_write(dir, name, "", &crt_pem, c.cert_path);
	if (ret == 0)
		ret = cert_write(dir, name, "-key", &key_pem, c.key_path);
	if (ret < 0) {
		tap_diag("writing %s/%s: %s", dir, name, strerror(-ret));
		goto out;
	}
	*ret_cert = c;
	memset(&c, 0, sizeof(c));
	goto out;

gnutls_fail:
	tap_diag("certificate %s: %s: %s", name, step, gnutls_strerror(ret));
	ret = -EINVAL;
out:
	gnutls_free(dn.data);
	gnutls_free(crt_pem.data);
	if (key_pem.data != NULL) {
		explicit_bzero(key_pem.data, key_pem.size);
		gnutls_free(key_pem.data);
	}
	unit_cert_free(&c);
	return ret;
}

void unit_cert_free(struct unit_cert *cert)
{
	if (cert->crt != NULL)
		gnutls_x509_crt_deinit(cert->crt);
	if (cert->key != NULL)
		gnutls_x509_privkey_deinit(cert->key);
	cert->crt = NULL;
	cert->key = NULL;
}

/* ---- sockets -------------------------------------------------------------- */

int unit_set_nonblock(int fd, bool on)
{
	int flags = fcntl(fd, F_GETFL);

	if (flags < 0)
		return -errno;
	flags = on ? flags | O_NONBLOCK : flags & ~O_NONBLOCK;
	return fcntl(fd, F_SETFL, flags) == 0 ? 0 : -errno;
}

int unit_tcp_listen(void)
{
	struct sockaddr_in addr = { .sin_family = AF_INET,
				    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), err;

	if (listener < 0)
		return -errno;
	if (bind(listener, (struct sockaddr *)&addr, sizeof(addr)) != 0 || listen(listener, 8) != 0) {
		err = -errno;
		close(listener);
		return err;
	}
	return listener;
}

int unit_tcp_pair_on(int listener, int *ret_client, int *ret_server, bool nonblock)
{
	struct sockaddr_in addr;
	socklen_t len = sizeof(addr);
	int a, b = -1, err;

	if (getsockname(listener, (struct sockaddr *)&addr, &len) != 0)
		return -errno;
	a = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (a < 0 || connect(a, (struct sockaddr *)&addr, sizeof(addr)) != 0)
		goto fail;
	b = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
	if (b < 0)
		goto fail;
	if (nonblock && (unit_set_nonblock(a, true) < 0 || unit_set_nonblock(b, true) < 0))
		goto fail;
	*ret_client = a;
	*ret_server = b;
	return 0;
fail:
	err = -errno;
	if (a >= 0)
		close(a);
	if (b >= 0)
		close(b);
	return err;
}

int unit_tcp_pair(int *ret_client, int *ret_server, bool nonblock)
{
	int listener = unit_tcp_listen(), ret;

	if (listener < 0)
		return listener;
	ret = unit_tcp_pair_on(listener, ret_client, ret_server, nonblock);
	close(listener);
	return ret;
}

/* ---- handshakes ----------------------------------------------------------- */

int unit_handshake_pair(struct ktls_conn *a, struct ktls_conn *b, int *ret_a, int *ret_b,
			int timeout_ms)
{
	int ra = -EAGAIN, rb = -EAGAIN;

	for (;;) {
		struct pollfd pfd[2];
		nfds_t n = 0;
		int ret;

		if (ra == -EAGAIN)
			ra = ktls_conn_handshake(a);
		if (rb == -EAGAIN)
			rb = ktls_conn_handshake(b);
		if (ra != -EAGAIN && rb != -EAGAIN)
			break;
		/* Only wait when neither side can make progress without the other. */
		if (ra == -EAGAIN)
			pfd[n++] = (struct pollfd){ .fd = ktls_conn_fd(a),
						    .events = (short)ktls_conn_wants(a) };
		if (rb == -EAGAIN)
			pfd[n++] = (struct pollfd){ .fd = ktls_conn_fd(b),
						    .events = (short)ktls_conn_wants(b) };
		do
			ret = poll(pfd, n, timeout_ms);
		while (ret < 0 && errno == EINTR);
		if (ret == 0) {
			*ret_a = ra;
			*ret_b = rb;
			return -ETIMEDOUT;
		}
	}
	*ret_a = ra;
	*ret_b = rb;
	return 0;
}

int unit_handshake_one(struct ktls_conn *conn, int *ret, int timeout_ms)
{
	for (;;) {
		struct pollfd pfd;
		int r = ktls_conn_handshake(conn);

		*ret = r;
		if (r != -EAGAIN)
			return 0;
		pfd = (struct pollfd){ .fd = ktls_conn_fd(conn),
				       .events = (short)ktls_conn_wants(conn) };
		do
			r = poll(&pfd, 1, timeout_ms);
		while (r < 0 && errno == EINTR);
		if (r == 0)
			return -ETIMEDOUT;
	}
}

static int unit_wait(struct ktls_conn *conn, short events, int timeout_ms)
{
	struct pollfd pfd = { .fd = ktls_conn_fd(conn), .events = events };
	int r;

	do
		r = poll(&pfd, 1, timeout_ms);
	while (r < 0 && errno == EINTR);
	return r == 0 ? -ETIMEDOUT : 0;
}

ssize_t unit_recv_all(struct ktls_conn *conn, void *buf, size_t len, int timeout_ms)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = ktls_conn_recv(conn, (unsigned char *)buf + done, len - done);

		if (n == -EAGAIN) {
			if (unit_wait(conn, POLLIN, timeout_ms) < 0)
				return -ETIMEDOUT;
			continue;
		}
		if (n < 0)
			return n;
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

ssize_t unit_send_all(struct ktls_conn *conn, const void *buf, size_t len, int timeout_ms)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = ktls_conn_send(conn, (const unsigned char *)buf + done, len - done);

		if (n == -EAGAIN) {
			if (unit_wait(conn, POLLOUT, timeout_ms) < 0)
				return -ETIMEDOUT;
			continue;
		}
		if (n < 0)
			return n;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

void unit_fill(unsigned char *buf, size_t len, size_t offset, unsigned int seed)
{
	for (size_t i = 0; i < len; i++) {
		size_t x = offset + i;

		buf[i] = (unsigned char)(x * 131u + (x >> 11) + seed * 29u);
	}
}

/* ---- the io_uring engine -------------------------------------------------- */

void unit_ring_done(struct ktls_conn *conn, ssize_t value, const void *data, void *userdata)
{
	struct unit_ring_result *r = userdata;

	(void)conn;
	(void)data;
	r->done = true;
	r->value = value;
}

bool unit_ring_wait(struct ktls_ring *ring, struct unit_ring_result *a,
		    struct unit_ring_result *b, int timeout_ms)
{
	for (int i = 0; i < timeout_ms / 10; i++) {
		if (a->done && (b == NULL || b->done))
			return true;
		if (ktls_ring_run(ring, 10) < 0 && errno != EINTR)
			break;
	}
	return a->done && (b == NULL || b->done);
}
