/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * White-box: the engine's handshake reads no byte past the handshake when
 * asked (ring_conn_exact_records(), what ktls agent uses: the socket goes
 * back to a kernel user that reads it next).  A GnuTLS client writes its
 * Finished and its first application record in ONE send(), the way a
 * kernel NFS client's first RPC can land right behind the handshake; the
 * server's handshake runs on the io_uring engine.  With exact reads the
 * record is still in the socket afterwards, whole; without, the engine has
 * taken it (and hands it out in its first receive, which is right for its
 * own connections and would lose the RPC for the kernel's).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <gnutls/gnutls.h>

#include "private.h"
#include "unit.h"

#define MESSAGE "the first RPC, right behind Finished"

struct client {
	int fd;
	bool holding;
	unsigned char held[65536];
	size_t len;
	size_t record_len; /* the application record's bytes on the wire */
	int ret;
};

static ssize_t client_push(gnutls_transport_ptr_t p, const giovec_t *iov, int n)
{
	struct client *c = p;
	ssize_t total = 0;

	if (!c->holding)
		return writev(c->fd, (const struct iovec *)iov, n);
	for (int i = 0; i < n; i++) {
		if (c->len + iov[i].iov_len > sizeof(c->held)) {
			errno = ENOBUFS;
			return -1;
		}
		memcpy(c->held + c->len, iov[i].iov_base, iov[i].iov_len);
		c->len += iov[i].iov_len;
		total += (ssize_t)iov[i].iov_len;
	}
	return total;
}

static ssize_t client_pull(gnutls_transport_ptr_t p, void *buf, size_t len)
{
	return recv(((struct client *)p)->fd, buf, len, 0);
}

static int client_hook(gnutls_session_t s, unsigned int htype, unsigned when, unsigned int incoming,
		       const gnutls_datum_t *msg)
{
	struct client *c = gnutls_session_get_ptr(s);

	(void)when;
	(void)msg;
	if (htype == GNUTLS_HANDSHAKE_FINISHED && !incoming)
		c->holding = true;
	return 0;
}

static void *client_run(void *arg)
{
	struct client *c = arg;
	gnutls_certificate_credentials_t cred;
	gnutls_session_t s;
	unsigned char buf[256];
	size_t before;
	int ret;

	gnutls_certificate_allocate_credentials(&cred);
	gnutls_init(&s, GNUTLS_CLIENT);
	gnutls_priority_set_direct(s, "NORMAL:-VERS-ALL:+VERS-TLS1.3", NULL);
	gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, cred);
	gnutls_session_set_ptr(s, c);
	gnutls_transport_set_ptr(s, c);
	gnutls_transport_set_vec_push_function(s, client_push);
	gnutls_transport_set_pull_function(s, client_pull);
	gnutls_handshake_set_hook_function(s, GNUTLS_HANDSHAKE_FINISHED, GNUTLS_HOOK_PRE,
					   client_hook);
	do
		ret = gnutls_handshake(s);
	while (ret < 0 && !gnutls_error_is_fatal(ret));
	if (ret == 0) {
		before = c->len;
		ret = (int)gnutls_record_send(s, MESSAGE, strlen(MESSAGE));
		c->record_len = c->len - before;
		c->holding = false;
		if (ret > 0 && send(c->fd, c->held, c->len, 0) != (ssize_t)c->len)
			ret = -1;
	}
	c->ret = ret < 0 ? ret : 0;
	/* Until the server closes. */
	while (recv(c->fd, buf, sizeof(buf), 0) > 0)
		;
	gnutls_deinit(s);
	gnutls_certificate_free_credentials(cred);
	return NULL;
}

struct server_done {
	bool done;
	ssize_t result;
};

static void server_cb(struct ktls_conn *conn, ssize_t result, const void *data, void *userdata)
{
	struct server_done *d = userdata;

	(void)conn;
	(void)data;
	d->done = true;
	d->result = result;
}

static void run(struct ktls_config *cfg, bool exact)
{
	struct client c = { .fd = -1 };
	struct server_done d = { false, 0 };
	struct ktls_ring *ring;
	struct ktls_conn *conn;
	pthread_t thread;
	unsigned char buf[512];
	int sfd, left = -1;
	ssize_t got = -1;

	if (unit_tcp_pair(&c.fd, &sfd, false) < 0 || ktls_ring_new(NULL, 0, &ring) < 0 ||
	    ktls_conn_new(cfg, sfd, 0, &conn) < 0 || ktls_conn_ring_attach(conn, ring) < 0)
		tap_bail("set-up");
	if (exact && ring_conn_exact_records(conn) < 0)
		tap_bail("ring_conn_exact_records");
	pthread_create(&thread, NULL, client_run, &c);
	if (ktls_conn_ring_handshake(conn, 10000, server_cb, &d) < 0)
		tap_bail("ktls_conn_ring_handshake: %s", ktls_conn_error(conn));
	while (!d.done)
		if (ktls_ring_run(ring, 1000) < 0)
			break;
	/* The client sends in one write before it waits: all of it has arrived. */
	usleep(100000);
	ioctl(sfd, FIONREAD, &left);
	if (exact) {
		/* What the kernel user would read: the whole record, as sent. */
		got = recv(sfd, buf, sizeof(buf), MSG_DONTWAIT);
		tap_check(d.result == 0 || d.result == -EOPNOTSUPP, "exact reads: handshake %s",
			  unit_errno_name((int)-d.result));
		tap_check(c.ret == 0 && c.record_len > strlen(MESSAGE) && left == (int)c.record_len &&
				  got == (ssize_t)c.record_len,
			  "exact reads: the %zu-byte record behind Finished is still in the socket "
			  "(%d bytes unread)", c.record_len, left);
	} else {
		tap_check(c.ret == 0 && left == 0,
			  "without exact reads the engine took the record behind Finished (%d bytes "
			  "left in the socket)", left);
	}
	ktls_conn_free(conn);
	shutdown(sfd, SHUT_RDWR);
	pthread_join(thread, NULL);
	close(sfd);
	close(c.fd);
	ktls_ring_free(ring);
}

int main(void)
{
	struct unit_cert cert;
	struct ktls_config *cfg;

	if (unit_cert_make(&cert, unit_tmpdir(), "server", UNIT_CERT_SERVER, "localhost",
			   "localhost", NULL, false) < 0)
		tap_bail("certificate");
	if (ktls_config_new(KTLS_ROLE_SERVER, &cfg) < 0 ||
	    ktls_config_add_cert_file(cfg, cert.cert_path, cert.key_path) < 0 ||
	    ktls_config_set_versions(cfg, KTLS_VERSION_TLS13, KTLS_VERSION_TLS13) < 0 ||
	    ktls_config_set_resumption(cfg, 0, 0, 0) < 0)
		tap_bail("config");
	run(cfg, true);
	run(cfg, false);
	ktls_config_unref(cfg);
	unit_cert_free(&cert);
	return tap_done();
}
