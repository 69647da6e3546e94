/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Credentials for the kernel's handshakes: a ktls_config for each kind of
 * request, built once from tlshd's configuration file, or for one request
 * from the keys whose serials the kernel sent; and the server's PSK lookup
 * in the kernel keyrings.
 *
 * Every config is TLS 1.3 only (RFC 9289 requires it for RPC-with-TLS, and
 * NVMe/TCP's TLS is 1.3) and REQUIREs both keys in the kernel: the socket
 * goes back to a kernel user that has no userspace record layer to fall back
 * on.  Resumption is off: a ticket would arrive after the socket left us.
 *
 * libktls's public API has PSKs only as a fixed list in the config; a
 * server looks them up by identity in the kernel's keyrings, so the agent
 * replaces the connection's GnuTLS PSK credentials with its own, whose
 * callback searches the keyrings (agent_creds_hook()).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <gnutls/crypto.h>
#include <gnutls/x509.h>

#include "agent.h"

void agent_log(const struct agent_base *base, enum ktls_log_level level, const char *fmt, ...)
{
	char line[768];
	va_list ap;

	if (base->log_fn == NULL || level > base->log_level)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	base->log_fn(level, line, base->log_userdata);
}

int agent_fail(struct agent_base *base, int err, const char *fmt, ...)
{
	va_list ap;

	if (base->error[0] != '\0')
		return err;
	va_start(ap, fmt);
	vsnprintf(base->error, sizeof(base->error), fmt, ap);
	va_end(ap);
	agent_log(base, KTLS_LOG_ERROR, "%s", base->error);
	return err;
}

/* libktls's own messages about the agent's connections, at debug level. */
static void creds_lib_log(enum ktls_log_level level, const char *message, void *userdata)
{
	agent_log(userdata, KTLS_LOG_DEBUG, "libktls: %s", message);
	(void)level;
}

static int creds_config_new(struct agent_base *base, enum ktls_role role,
			    struct ktls_config **ret, char *why, size_t whylen)
{
	struct ktls_config *cfg;
	int ret2;

	ret2 = ktls_config_new(role, &cfg);
	if (ret2 < 0) {
		snprintf(why, whylen, "ktls_config_new: %s", strerror(-ret2));
		return ret2;
	}
	if ((ret2 = ktls_config_set_versions(cfg, KTLS_VERSION_TLS13, KTLS_VERSION_TLS13)) < 0 ||
	    (ret2 = ktls_config_set_offload(cfg, KTLS_DIR_BOTH, KTLS_OFFLOAD_REQUIRE)) < 0 ||
	    (ret2 = ktls_config_set_resumption(cfg, 0, 0, 0)) < 0 ||
	    /* The engine bounds each handshake with the kernel's own timeout. */
	    (ret2 = ktls_config_set_handshake_timeout(cfg, 0)) < 0 ||
	    (base->log_level >= KTLS_LOG_DEBUG &&
	     (ret2 = ktls_config_set_log(cfg, creds_lib_log, KTLS_LOG_DEBUG, base)) < 0)) {
		snprintf(why, whylen, "%s", ktls_config_error(cfg));
		ktls_config_unref(cfg);
		return ret2;
	}
	*ret = cfg;
	return 0;
}

/* Trust for verifying the peer: the configured store, or the system's. */
static int creds_trust(struct ktls_config *cfg, const struct agent_conf_side *side, char *why,
		       size_t whylen)
{
	int ret = side->truststore != NULL ? ktls_config_set_ca_file(cfg, side->truststore)
					   : ktls_config_set_system_trust(cfg);

	if (ret < 0)
		snprintf(why, whylen, "x509.truststore: %s", ktls_config_error(cfg));
	return ret;
}

/* A config for x509 handshakes from the files of one side; NULL in *@ret without a certificate. */
static int creds_x509_from_files(struct agent_base *base, enum ktls_role role,
				 const struct agent_conf_side *side, bool need_cert,
				 struct ktls_config **ret, char *why, size_t whylen)
{
	struct ktls_config *cfg = NULL;
	int err;

	*ret = NULL;
	if (need_cert && (side->certificate == NULL || side->private_key == NULL))
		return 0;
	err = creds_config_new(base, role, &cfg, why, whylen);
	if (err < 0)
		return err;
	err = creds_trust(cfg, side, why, whylen);
	if (err == 0 && need_cert) {
		err = ktls_config_add_cert_file(cfg, side->certificate, side->private_key);
		if (err < 0)
			snprintf(why, whylen, "x509.certificate: %s", ktls_config_error(cfg));
	}
	/* tlshd asks for a client certificate and checks one that comes (GNUTLS_CERT_REQUEST). */
	if (err == 0 && role == KTLS_ROLE_SERVER)
		err = ktls_config_set_client_auth(cfg, KTLS_CLIENT_AUTH_REQUEST);
	if (err < 0) {
		ktls_config_unref(cfg);
		return err;
	}
	*ret = cfg;
	return 0;
}

/* The keyring PSK lookup finds its handshake by connection, here. */
static pthread_mutex_t hook_lock = PTHREAD_MUTEX_INITIALIZER;
static struct agent_hs *hook_list;

static struct agent_hs *creds_hooked(const struct ktls_conn *conn)
{
	struct agent_hs *hs;

	pthread_mutex_lock(&hook_lock);
	for (hs = hook_list; hs != NULL && hs->conn != conn; hs = hs->hook_next)
		;
	pthread_mutex_unlock(&hook_lock);
	return hs;
}

/*
 * GnuTLS asks for the key of the identity a client offered: the request's
 * keyring first, then the process keyring (where agent_creds_init() linked
 * the configured and the kernel's keyrings), then the session keyring.
 */
static int creds_psk_lookup(gnutls_session_t session, const gnutls_datum_t *username,
			    gnutls_datum_t *key)
{
	struct agent_hs *hs = creds_hooked(gnutls_session_get_ptr(session));
	unsigned char buf[KTLS_AGENT_PSK_MAX];
	int32_t rings[3], serial = 0;
	unsigned int n = 0;
	char identity[256], err[ERROR_TEXT_MAX] = "";
	size_t len = 0;
	int ret = -ENOKEY;

	if (hs == NULL)
		return -1;
	if (username->size == 0 || username->size >= sizeof(identity) ||
	    memchr(username->data, '\0', username->size) != NULL) {
		snprintf(hs->result.error, sizeof(hs->result.error),
			 "the client offered an unusable PSK identity (%u bytes)", username->size);
		hs->psk_unknown = true;
		handshake_note_unknown_psk(hs->conn, username->data, username->size);
		return -1;
	}
	memcpy(identity, username->data, username->size);
	identity[username->size] = '\0';
	if (hs->req.keyring != TLS_NO_KEYRING)
		rings[n++] = hs->req.keyring;
	rings[n++] = AGENT_KEY_SPEC_PROCESS_KEYRING;
	rings[n++] = AGENT_KEY_SPEC_SESSION_KEYRING;
	for (unsigned int i = 0; i < n && ret == -ENOKEY; i++)
		ret = ktls_agent_psk_lookup(rings[i], identity, buf, sizeof(buf), &len, &serial, err,
					    sizeof(err));
	if (ret < 0) {
		agent_log(hs->base, KTLS_LOG_DEBUG, "PSK lookup: %s", err);
		snprintf(hs->result.error, sizeof(hs->result.error), "%s", err);
		hs->psk_unknown = true;
		handshake_note_unknown_psk(hs->conn, identity, strlen(identity));
		return -1;
	}
	key->data = gnutls_malloc(len);
	if (key->data == NULL) {
		explicit_bzero(buf, sizeof(buf));
		return -1;
	}
	memcpy(key->data, buf, len);
	key->size = (unsigned int)len;
	explicit_bzero(buf, sizeof(buf));
	hs->psk_serial = serial;
	return 0;
}

int agent_creds_hook(struct agent_hs *hs)
{
	int ret = gnutls_credentials_set(hs->conn->session, GNUTLS_CRD_PSK, hs->base->psk_server);

	if (ret < 0)
		return -ENOMEM;
	pthread_mutex_lock(&hook_lock);
	hs->hook_next = hook_list;
	hook_list = hs;
	hs->hooked = true;
	pthread_mutex_unlock(&hook_lock);
	return 0;
}

void agent_creds_unhook(struct agent_hs *hs)
{
	struct agent_hs **p;

	if (!hs->hooked)
		return;
	pthread_mutex_lock(&hook_lock);
	for (p = &hook_list; *p != NULL; p = &(*p)->hook_next)
		if (*p == hs) {
			*p = hs->hook_next;
			break;
		}
	hs->hooked = false;
	pthread_mutex_unlock(&hook_lock);
}

/* Keys of the kernel's keyrings as PEM files the config can load: memfds, closed after. */
static int creds_memfd(const char *name, const void *data, size_t len, char *path, size_t size)
{
	int fd = memfd_create(name, MFD_CLOEXEC);
	size_t off = 0;

	if (fd < 0)
		return -errno;
	while (off < len) {
		ssize_t n = write(fd, (const char *)data + off, len - off);

		if (n < 0) {
			int err = -errno;

			close(fd);
			return err;
		}
		off += (size_t)n;
	}
	snprintf(path, size, "/proc/self/fd/%d", fd);
	return fd;
}

/*
 * Certificate and key by serial (HANDSHAKE_A_ACCEPT_CERTIFICATE): DER, as
 * net/handshake's users and tlshd store them.  The key may be PKCS#8 or
 * the algorithm's own form.
 */
static int creds_add_keyring_cert(struct ktls_config *cfg, int32_t cert_serial,
				  int32_t key_serial, char *why, size_t whylen)
{
	unsigned char *cert_der = NULL, *key_der = NULL;
	size_t cert_len = 0, key_len = 0;
	gnutls_datum_t cert_pem = { NULL, 0 }, key_pem = { NULL, 0 }, der;
	gnutls_x509_privkey_t pk = NULL;
	char cert_path[64], key_path[64];
	int cert_fd = -1, key_fd = -1, ret;

	ret = agent_key_read(cert_serial, &cert_der, &cert_len);
	if (ret < 0) {
		snprintf(why, whylen, "cannot read certificate key %d: %s", cert_serial,
			 strerror(-ret));
		goto out;
	}
	ret = agent_key_read(key_serial, &key_der, &key_len);
	if (ret < 0) {
		snprintf(why, whylen, "cannot read private key %d: %s", key_serial, strerror(-ret));
		goto out;
	}
	der = (gnutls_datum_t){ cert_der, (unsigned int)cert_len };
	ret = -EBADMSG;
	if (gnutls_pem_base64_encode2("CERTIFICATE", &der, &cert_pem) < 0) {
		snprintf(why, whylen, "certificate key %d is not a DER certificate", cert_serial);
		goto out;
	}
	der = (gnutls_datum_t){ key_der, (unsigned int)key_len };
	if (gnutls_x509_privkey_init(&pk) < 0 ||
	    (gnutls_x509_privkey_import(pk, &der, GNUTLS_X509_FMT_DER) < 0 &&
	     gnutls_x509_privkey_import_pkcs8(pk, &der, GNUTLS_X509_FMT_DER, NULL,
					      GNUTLS_PKCS_PLAIN) < 0) ||
	    gnutls_x509_privkey_export2_pkcs8(pk, GNUTLS_X509_FMT_PEM, NULL, GNUTLS_PKCS_PLAIN,
					      &key_pem) < 0) {
		snprintf(why, whylen, "private key %d is not a DER private key", key_serial);
		goto out;
	}
	cert_fd = creds_memfd("ktls-agent-cert", cert_pem.data, cert_pem.size, cert_path,
			      sizeof(cert_path));
	key_fd = creds_memfd("ktls-agent-key", key_pem.data, key_pem.size, key_path,
			     sizeof(key_path));
	if (cert_fd < 0 || key_fd < 0) {
		ret = cert_fd < 0 ? cert_fd : key_fd;
		snprintf(why, whylen, "memfd_create: %s", strerror(-ret));
		goto out;
	}
	ret = ktls_config_add_cert_file(cfg, cert_path, key_path);
	if (ret < 0)
		snprintf(why, whylen, "keys %d/%d: %s", cert_serial, key_serial,
			 ktls_config_error(cfg));
out:
	if (cert_fd >= 0)
		close(cert_fd);
	if (key_fd >= 0)
		close(key_fd); /* a memfd's pages go with its last reference */
	if (pk != NULL)
		gnutls_x509_privkey_deinit(pk);
	if (key_pem.data != NULL) {
		explicit_bzero(key_pem.data, key_pem.size);
		gnutls_free(key_pem.data);
	}
	gnutls_free(cert_pem.data);
	if (key_der != NULL) {
		explicit_bzero(key_der, key_len);
		free(key_der);
	}
	free(cert_der);
	return ret;
}

/* Client PSK: the first identity the kernel named whose key can be read and used. */
static int creds_client_psk(struct agent_hs *hs, struct ktls_config *cfg, char *why, size_t whylen)
{
	struct ktls_agent_psk_identity id;
	char identity[256];
	int ret = -ENOKEY;

	if (hs->req.n_peerids == 0) {
		snprintf(why, whylen, "a PSK handshake without a key serial");
		return -ENOKEY;
	}
	for (unsigned int i = 0; i < hs->req.n_peerids; i++) {
		int32_t serial = hs->req.peerids[i];
		unsigned char *key = NULL;
		size_t len = 0;

		ret = agent_key_description(serial, identity, sizeof(identity));
		if (ret == 0)
			ret = agent_key_read(serial, &key, &len);
		if (ret < 0) {
			snprintf(why, whylen, "PSK %d: %s", serial, strerror(-ret));
			continue;
		}
		/*
		 * GnuTLS 3.7 binds every external PSK to SHA-256: an identity
		 * bound to SHA-384 would fail the server's binder check.
		 */
		if (ktls_agent_psk_identity_parse(identity, &id) == 0 &&
		    id.hash != KTLS_AGENT_PSK_HASH_SHA256) {
			snprintf(why, whylen, "PSK %d \"%s\" is bound to SHA-384, which this GnuTLS "
				 "cannot use for an external PSK", serial, identity);
			ret = -EOPNOTSUPP;
		} else {
			ret = ktls_config_add_psk(cfg, identity, key, len);
			if (ret < 0)
				snprintf(why, whylen, "PSK %d \"%s\": %s", serial, identity,
					 ktls_config_error(cfg));
		}
		explicit_bzero(key, len);
		free(key);
		if (ret == 0) {
			hs->psk_serial = serial;
			snprintf(hs->result.identity, sizeof(hs->result.identity), "%s", identity);
			return 0;
		}
	}
	return ret;
}

int agent_creds_get(struct agent_hs *hs, struct ktls_config **ret_config, int *ret_status,
		    char *why, size_t whylen)
{
	struct agent_base *base = hs->base;
	const struct agent_request *req = &hs->req;
	bool server = req->msg_type == HANDSHAKE_MSG_TYPE_SERVERHELLO;
	const struct agent_conf_side *side = server ? &base->conf.server : &base->conf.client;
	enum ktls_role role = server ? KTLS_ROLE_SERVER : KTLS_ROLE_CLIENT;
	struct ktls_config *cfg = NULL;
	int ret;

	if (req->auth_mode == HANDSHAKE_AUTH_PSK) {
		if (server) {
			*ret_config = ktls_config_ref(base->server_psk);
			return 0;
		}
		ret = creds_config_new(base, role, &cfg, why, whylen);
		if (ret == 0)
			ret = creds_client_psk(hs, cfg, why, whylen);
		if (ret < 0) {
			ktls_config_unref(cfg);
			*ret_status = ret == -EOPNOTSUPP ? EOPNOTSUPP : ENOKEY;
			return ret;
		}
		*ret_config = cfg;
		return 0;
	}
	if (req->auth_mode != HANDSHAKE_AUTH_X509 && req->auth_mode != HANDSHAKE_AUTH_UNAUTH) {
		snprintf(why, whylen, "unknown authentication mode %u", req->auth_mode);
		*ret_status = EINVAL;
		return -EINVAL;
	}
	/* The kernel's own keys first (e.g. mount -o cert_serial=,privkey_serial=). */
	if (req->auth_mode == HANDSHAKE_AUTH_X509 && req->cert != TLS_NO_CERT &&
	    req->privkey != TLS_NO_PRIVKEY) {
		ret = creds_config_new(base, role, &cfg, why, whylen);
		if (ret == 0)
			ret = creds_trust(cfg, side, why, whylen);
		if (ret == 0)
			ret = creds_add_keyring_cert(cfg, req->cert, req->privkey, why, whylen);
		if (ret == 0 && server)
			ret = ktls_config_set_client_auth(cfg, KTLS_CLIENT_AUTH_REQUEST);
		if (ret < 0) {
			ktls_config_unref(cfg);
			*ret_status = ENOKEY;
			return ret;
		}
		*ret_config = cfg;
		return 0;
	}
	if (server)
		cfg = base->server_x509;
	else if (req->auth_mode == HANDSHAKE_AUTH_X509)
		cfg = base->client_x509;
	else
		cfg = base->client_unauth;
	if (cfg == NULL) {
		snprintf(why, whylen, "no %s certificate: the kernel asked for %s authentication and "
			 "[authenticate.%s] x509.certificate / x509.private_key are not set",
			 server ? "server" : "client", server ? "x509" : "mutual x509",
			 server ? "server" : "client");
		*ret_status = ENOKEY;
		return -ENOKEY;
	}
	*ret_config = ktls_config_ref(cfg);
	return 0;
}

/* Link the keyrings the configuration names, and the kernel's, into the process keyring. */
static void creds_keyrings(struct agent_base *base)
{
	static const char *const standard[] = { ".nvme", ".nfs", ".nfsd" };
	char *text = NULL;
	size_t cap = 0, len = 0;
	FILE *f = fopen("/proc/keys", "re");

	if (f != NULL) {
		/* /proc/keys is a seq file: its size is not known before. */
		for (;;) {
			char *grown;
			size_t n;

			if (cap - len < 4096) {
				grown = realloc(text, cap + 65536);
				if (grown == NULL)
					break;
				text = grown;
				cap += 65536;
			}
			n = fread(text + len, 1, cap - len - 1, f);
			len += n;
			if (n == 0)
				break;
		}
		fclose(f);
	}
	if (text != NULL)
		text[len] = '\0';
	for (size_t i = 0; i < base->conf.n_keyrings + 3; i++) {
		const char *name = i < base->conf.n_keyrings ? base->conf.keyrings[i]
							     : standard[i - base->conf.n_keyrings];
		bool configured = i < base->conf.n_keyrings;
		int32_t serial = agent_keyring_find(text != NULL ? text : "", name);
		int ret;

		if (serial < 0) {
			agent_log(base, configured ? KTLS_LOG_INFO : KTLS_LOG_DEBUG,
				  "keyring %s: not found%s", name,
				  text == NULL ? " (/proc/keys unreadable)" : "");
			continue;
		}
		ret = agent_key_link(serial, AGENT_KEY_SPEC_PROCESS_KEYRING);
		if (ret < 0) {
			agent_log(base, KTLS_LOG_INFO, "keyring %s (%d): cannot link it: %s", name,
				  serial, strerror(-ret));
			continue;
		}
		if (base->n_keyrings < AGENT_KEYRINGS_MAX)
			base->keyrings[base->n_keyrings++] = serial;
		agent_log(base, KTLS_LOG_DEBUG, "keyring %s (%d) linked", name, serial);
	}
	free(text);
}

int agent_creds_init(struct agent_base *base)
{
	unsigned char placeholder[32];
	char why[ERROR_TEXT_MAX] = "", id[64];
	int ret;

	for (size_t i = 0; i < base->conf.n_notes; i++)
		agent_log(base, KTLS_LOG_INFO, "configuration: %s is not supported, ignored",
			  base->conf.notes[i]);
	creds_keyrings(base);

	ret = creds_x509_from_files(base, KTLS_ROLE_CLIENT, &base->conf.client, false,
				    &base->client_unauth, why, sizeof(why));
	if (ret < 0)
		return agent_fail(base, ret, "[authenticate.client] %s", why);
	ret = creds_x509_from_files(base, KTLS_ROLE_CLIENT, &base->conf.client, true,
				    &base->client_x509, why, sizeof(why));
	if (ret < 0)
		return agent_fail(base, ret, "[authenticate.client] %s", why);
	ret = creds_x509_from_files(base, KTLS_ROLE_SERVER, &base->conf.server, true,
				    &base->server_x509, why, sizeof(why));
	if (ret < 0)
		return agent_fail(base, ret, "[authenticate.server] %s", why);

	/*
	 * The PSK server's config needs one PSK to be a PSK server (priority,
	 * credentials); connections get the keyring lookup instead of it, so
	 * this random one can never match.
	 */
	ret = creds_config_new(base, KTLS_ROLE_SERVER, &base->server_psk, why, sizeof(why));
	if (ret < 0)
		return agent_fail(base, ret, "PSK server: %s", why);
	if (gnutls_rnd(GNUTLS_RND_KEY, placeholder, sizeof(placeholder)) < 0)
		return agent_fail(base, -EIO, "no random bytes for the PSK placeholder");
	snprintf(id, sizeof(id), "ktls-agent-placeholder-%02x%02x%02x%02x", placeholder[0],
		 placeholder[1], placeholder[2], placeholder[3]);
	ret = ktls_config_add_psk(base->server_psk, id, placeholder, sizeof(placeholder));
	explicit_bzero(placeholder, sizeof(placeholder));
	if (ret < 0)
		return agent_fail(base, ret, "PSK server: %s", ktls_config_error(base->server_psk));
	if (gnutls_psk_allocate_server_credentials(&base->psk_server) < 0)
		return agent_fail(base, -ENOMEM, "out of memory for PSK credentials");
	gnutls_psk_set_server_credentials_function2(base->psk_server, creds_psk_lookup);

	agent_log(base, KTLS_LOG_INFO, "credentials: client %s%s, server %s; %u keyring%s",
		  base->conf.client.truststore != NULL ? "trusts " : "trusts the system store",
		  base->conf.client.truststore != NULL ? base->conf.client.truststore : "",
		  base->server_x509 != NULL ? "has a certificate" : "has no certificate (PSK only)",
		  base->n_keyrings, base->n_keyrings == 1 ? "" : "s");
	return 0;
}

void agent_creds_free(struct agent_base *base)
{
	ktls_config_unref(base->client_unauth);
	ktls_config_unref(base->client_x509);
	ktls_config_unref(base->server_x509);
	ktls_config_unref(base->server_psk);
	if (base->psk_server != NULL)
		gnutls_psk_free_server_credentials(base->psk_server);
	base->client_unauth = base->client_x509 = base->server_x509 = base->server_psk = NULL;
	base->psk_server = NULL;
}
