/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * struct ktls_config: credentials and choices shared by many connections.
 * It is mutable until the first connection freezes it; after that it is
 * read-only and may be used from any thread.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gnutls/x509.h>

#include "private.h"


static void config_free_group_variants(struct ktls_config *config);

static int config_check_mutable(struct ktls_config *config)
{
	if (config == NULL)
		return -EINVAL;
	error_config_begin(config);
	if (config->frozen)
		return error_config(config, -EBUSY,
				    "config is in use by a connection and can no longer change");
	return 0;
}

KTLS_EXPORT int ktls_config_new(enum ktls_role role, struct ktls_config **ret_config)
{
	struct ktls_config *config;
	int ret;

	if (ret_config == NULL || (role != KTLS_ROLE_CLIENT && role != KTLS_ROLE_SERVER))
		return -EINVAL;

	config = calloc(1, sizeof(*config));
	if (config == NULL)
		return -ENOMEM;
	config->app_refs = 1;
	config->refs = 1;
	config->role = role;
	config->verify_chain = true;
	config->check_hostname = true;
	config->min_version = KTLS_VERSION_TLS12;
	config->max_version = KTLS_VERSION_TLS13;
	config->handshake_timeout_ms = 30000;
	config->resume_mechanisms = KTLS_RESUME_TICKETS | KTLS_RESUME_SESSION_ID;
	config->session_lifetime_s = 3600;
	config->session_max_entries = 4096;
	config->log_level = KTLS_LOG_INFO;
	pthread_mutex_init(&config->freeze_lock, NULL);

	ret = gnutls_certificate_allocate_credentials(&config->certs);
	if (ret < 0) {
		free(config);
		return -ENOMEM;
	}
	*ret_config = config;
	return 0;
}

/*
 * Two counts: the application's references, and all of them (the
 * application's plus one per connection).  Keeping the application's apart
 * lets an unref too many be caught and ignored while connections still use
 * the config, instead of freeing it under them.
 */
KTLS_EXPORT struct ktls_config *ktls_config_ref(struct ktls_config *config)
{
	if (config != NULL) {
		__atomic_add_fetch(&config->app_refs, 1, __ATOMIC_RELAXED);
		__atomic_add_fetch(&config->refs, 1, __ATOMIC_RELAXED);
	}
	return config;
}

struct ktls_config *config_hold(struct ktls_config *config)
{
	__atomic_add_fetch(&config->refs, 1, __ATOMIC_RELAXED);
	return config;
}

static void config_free(struct ktls_config *config)
{
	for (size_t i = 0; i < config->n_psks; i++) {
		explicit_bzero(config->psks[i].key, config->psks[i].key_len);
		free(config->psks[i].key);
		free(config->psks[i].identity);
	}
	free(config->psks);
	if (config->psk_client != NULL)
		gnutls_psk_free_client_credentials(config->psk_client);
	if (config->psk_server != NULL)
		gnutls_psk_free_server_credentials(config->psk_server);
	gnutls_certificate_free_credentials(config->certs);
	if (config->priority != NULL)
		gnutls_priority_deinit(config->priority);
	config_free_group_variants(config);
	free(config->alpn);
	free(config->alpn_storage);
	free(config->priority_override);
	resume_config_free(config);
	pthread_mutex_destroy(&config->freeze_lock);
	error_config_forget(config);
	free(config);
}

void config_release(struct ktls_config *config)
{
	if (__atomic_sub_fetch(&config->refs, 1, __ATOMIC_ACQ_REL) == 0)
		config_free(config);
}

KTLS_EXPORT void ktls_config_unref(struct ktls_config *config)
{
	int app;

	if (config == NULL)
		return;
	app = __atomic_load_n(&config->app_refs, __ATOMIC_RELAXED);
	do {
		if (app <= 0) {
			/* Only reachable while connections keep the config alive. */
			error_config_begin(config);
			error_config(config, -EINVAL,
				     "ktls_config_unref() called more often than ktls_config_new() "
				     "and ktls_config_ref(): ignored");
			error_log(config, KTLS_LOG_ERROR, "%s", error_config_text(config));
			return;
		}
	} while (!__atomic_compare_exchange_n(&config->app_refs, &app, app - 1, false,
					      __ATOMIC_ACQ_REL, __ATOMIC_RELAXED));
	config_release(config);
}

KTLS_EXPORT const char *ktls_config_error(const struct ktls_config *config)
{
	return config != NULL ? error_config_text(config) : "invalid argument: config is NULL";
}

KTLS_EXPORT int ktls_config_set_log(struct ktls_config *config, ktls_log_fn fn,
				    enum ktls_log_level max_level, void *userdata)
{
	int ret = config_check_mutable(config);

	if (ret < 0)
		return ret;
	config->log_fn = fn;
	config->log_level = max_level;
	config->log_userdata = userdata;
	return 0;
}

KTLS_EXPORT int ktls_config_set_handshake_trace(struct ktls_config *config,
						ktls_handshake_trace_fn fn, void *userdata)
{
	int ret = config_check_mutable(config);

	if (ret < 0)
		return ret;
	config->trace_fn = fn;
	config->trace_userdata = fn != NULL ? userdata : NULL;
	return 0;
}

/* GnuTLS load errors, in the errno vocabulary of the header. */
static int config_load_error(struct ktls_config *config, int gnutls_err, const char *what,
			     const char *path)
{
	int err;

	if (access(path, R_OK) != 0)
		err = -errno;
	else if (gnutls_err == GNUTLS_E_MEMORY_ERROR)
		err = -ENOMEM;
	else
		err = -EBADMSG;
	return error_config(config, err, "cannot load %s from %s: %s", what, path,
			    err == -EBADMSG ? gnutls_strerror(gnutls_err) : strerror(-err));
}

KTLS_EXPORT int ktls_config_add_cert_file(struct ktls_config *config, const char *cert_pem_path,
					  const char *key_pem_path)
{
	int ret = config_check_mutable(config);

	if (ret < 0)
		return ret;
	if (cert_pem_path == NULL || key_pem_path == NULL)
		return error_config(config, -EINVAL, "certificate and key paths are required");
	ret = gnutls_certificate_set_x509_key_file2(config->certs, cert_pem_path, key_pem_path,
						   GNUTLS_X509_FMT_PEM, NULL, 0);
	if (ret < 0) {
		if (access(key_pem_path, R_OK) != 0)
			return config_load_error(config, ret, "private key", key_pem_path);
		return config_load_error(config, ret, "certificate and key", cert_pem_path);
	}
	config->n_certs++;
	return 0;
}

KTLS_EXPORT int ktls_config_set_ca_file(struct ktls_config *config, const char *ca_pem_path)
{
	int ret = config_check_mutable(config);

	if (ret < 0)
		return ret;
	if (ca_pem_path == NULL)
		return error_config(config, -EINVAL, "CA file path is NULL");
	ret = gnutls_certificate_set_x509_trust_file(config->certs, ca_pem_path,
						     GNUTLS_X509_FMT_PEM);
	if (ret <= 0)
		return config_load_error(config, ret == 0 ? GNUTLS_E_BASE64_DECODING_ERROR : ret,
					 "CA certificates", ca_pem_path);
	config->trust_loaded = true;
	return 0;
}

/* PEM when it says so, otherwise one DER certificate (or key). */
static gnutls_x509_crt_fmt_t config_mem_format(const void *data, size_t len)
{
	return memmem(data, len, "-----BEGIN", 10) != NULL ? GNUTLS_X509_FMT_PEM
							    : GNUTLS_X509_FMT_DER;
}

static int config_mem_error(struct ktls_config *config, int gnutls_err, const char *what)
{
	return error_config(config, gnutls_err == GNUTLS_E_MEMORY_ERROR ? -ENOMEM : -EBADMSG,
			    "cannot load %s from memory: %s", what, gnutls_strerror(gnutls_err));
}

KTLS_EXPORT int ktls_config_add_cert_mem(struct ktls_config *config, const void *cert,
					 size_t cert_len, const void *key, size_t key_len)
{
	gnutls_datum_t c = { (unsigned char *)cert, (unsigned int)cert_len };
	gnutls_datum_t k = { (unsigned char *)key, (unsigned int)key_len };
	int ret = config_check_mutable(config);

	if (ret < 0)
		return ret;
	if (cert == NULL || key == NULL || cert_len == 0 || key_len == 0 || cert_len > UINT32_MAX ||
	    key_len > UINT32_MAX)
		return error_config(config, -EINVAL, "a certificate and a key are required");
	if (config_mem_format(cert, cert_len) != config_mem_format(key, key_len))
		return error_config(config, -EBADMSG,
				    "the certificate and the key are not both PEM or both DER");
	/*
	 * GnuTLS 3.7 leaks a certificate structure when set_x509_key_mem2()
	 * meets a PEM certificate it cannot decode: decode it here first.
	 */
	if (config_mem_format(cert, cert_len) == GNUTLS_X509_FMT_PEM) {
		gnutls_x509_crt_t *list;
		unsigned int n;

		ret = gnutls_x509_crt_list_import2(&list, &n, &c, GNUTLS_X509_FMT_PEM, 0);
		if (ret < 0)
			return config_mem_error(config, ret, "certificate and key");
		for (unsigned int i = 0; i < n; i++)
			gnutls_x509_crt_deinit(list[i]);
		gnutls_free(list);
	}
	ret = gnutls_certificate_set_x509_key_mem2(config->certs, &c, &k,
						  config_mem_format(cert, cert_len), NULL, 0);
	if (ret < 0)
		return config_mem_error(config, ret, "certificate and key");
	config->n_certs++;
	return 0;
}

KTLS_EXPORT int ktls_config_set_ca_mem(struct ktls_config *config, const void *ca, size_t ca_len)
{
	gnutls_datum_t d = { (unsigned char *)ca, (unsigned int)ca_len };
	int ret = config_check_mutable(config);

	if (ret < 0)
		return ret;
	if (ca == NULL || ca_len == 0 || ca_len > UINT32_MAX)
		return error_config(config, -EINVAL, "CA certificates are required");
	ret = gnutls_certificate_set_x509_trust_mem(config->certs, &d, config_mem_format(ca, ca_len));
	if (ret <= 0)
		return config_mem_error(config, ret == 0 ? GNUTLS_E_BASE64_DECODING_ERROR : ret,
					"CA certificates");
	config->trust_loaded = true;
	return 0;
}

KTLS_EXPORT int ktls_config_set_verify_callback(struct ktls_config *config, ktls_verify_fn fn,
						void *userdata)
{
	int ret = config_check_mutable(config);

	if (ret < 0)
		return ret;
	config->verify_fn = fn;
	config->verify_userdata = fn != NULL ? userdata : NULL;
	return 0;
}

KTLS_EXPORT int ktls_config_set_system_trust(struct ktls_config *config)
{
	int ret = config_check_mutable(config);

	if (ret < 0)
		return ret;
	ret = gnutls_certificate_set_x509_system_trust(config->certs);
	if (ret < 0)
		return error_config(config, -ENOENT, "cannot load the system trust store: %s",
				    gnutls_strerror(ret));
	config->trust_loaded = true;
	return 0;
}

KTLS_EXPORT int ktls_config_set_verify(struct ktls_config *config, bool verify_chain,
				       bool check_hostname)
{
	int ret = config_check_mutable(config);

	if (ret < 0)
		return ret;
	config->verify_chain = verify_chain;
	config->check_hostname = check_hostname;
	return 0;
}

KTLS_EXPORT int ktls_config_set_client_auth(struct ktls_config *config, enum ktls_client_auth mode)
{
	int ret = config_check_mutable(config);

	if (ret < 0)
		return ret;
	if (config->role != KTLS_ROLE_SERVER)
		return error_config(config, -EINVAL, "client authentication is a server setting");
	if (mode != KTLS_CLIENT_AUTH_NONE && mode != KTLS_CLIENT_AUTH_REQUEST &&
	    mode != KTLS_CLIENT_AUTH_REQUIRE)
		return error_config(config, -EINVAL, "unknown client authentication mode %d",
				    (int)mode);
	config->client_auth = mode;
	return 0;
}

const struct config_psk *config_find_psk(const struct ktls_config *config, const char *identity,
					 size_t identity_len)
{
	for (size_t i = 0; i < config->n_psks; i++) {
		const struct config_psk *psk = &config->psks[i];

		if (strlen(psk->identity) == identity_len &&
		    memcmp(psk->identity, identity, identity_len) == 0)
			return psk;
	}
	return NULL;
}

KTLS_EXPORT int ktls_config_add_psk(struct ktls_config *config, const char *identity,
				    const void *key, size_t key_len)
{
	struct config_psk *grown, *psk;
	int ret = config_check_mutable(config);

	if (ret < 0)
		return ret;
	if (identity == NULL || identity[0] == '\0' || strlen(identity) > PSK_IDENTITY_MAX)
		return error_config(config, -EINVAL, "PSK identity must be 1..%d bytes",
				    PSK_IDENTITY_MAX);
	if (key == NULL || key_len < PSK_KEY_MIN || key_len > PSK_KEY_MAX)
		return error_config(config, -EINVAL, "PSK key must be %d..%d bytes, got %zu",
				    PSK_KEY_MIN, PSK_KEY_MAX, key_len);
	if (config_find_psk(config, identity, strlen(identity)) != NULL)
		return error_config(config, -EEXIST, "PSK identity \"%s\" added twice", identity);

	grown = realloc(config->psks, (config->n_psks + 1) * sizeof(*grown));
	if (grown == NULL)
		return -ENOMEM;
	config->psks = grown;
	psk = &grown[config->n_psks];
	psk->identity = strdup(identity);
	psk->key = malloc(key_len);
	if (psk->identity == NULL || psk->key == NULL) {
		free(psk->identity);
		free(psk->key);
		return -ENOMEM;
	}
	memcpy(psk->key, key, key_len);
	psk->key_len = key_len;
	config->n_psks++;
	return 0;
}

KTLS_EXPORT int ktls_config_set_psk_lookup(struct ktls_config *config, ktls_psk_lookup_fn fn,
					   void *userdata)
{
	int ret = config_check_mutable(config);

	if (ret < 0)
		return ret;
	if (config->role != KTLS_ROLE_SERVER)
		return error_config(config, -EINVAL, "only a server looks PSK identities up");
	config->psk_lookup_fn = fn;
	config->psk_lookup_userdata = fn != NULL ? userdata : NULL;
	return 0;
}

KTLS_EXPORT int ktls_config_set_alpn(struct ktls_config *config, const char *protocols)
{
	gnutls_datum_t *list = NULL;
	char *storage = NULL, *save = NULL, *tok;
	unsigned int n = 0;
	int ret = config_check_mutable(config);

	if (ret < 0)
		return ret;
	if (protocols == NULL || protocols[0] == '\0')
		return error_config(config, -EINVAL, "ALPN list is empty");
	storage = strdup(protocols);
	list = calloc(strlen(protocols) / 2 + 1, sizeof(*list));
	if (storage == NULL || list == NULL) {
		ret = -ENOMEM;
		goto fail;
	}
	for (tok = strtok_r(storage, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		size_t len = strlen(tok);

		/* RFC 7301 section 3.1: each name is 1..255 bytes */
		if (len > 255) {
			ret = error_config(config, -EINVAL, "ALPN protocol name over 255 bytes");
			goto fail;
		}
		list[n].data = (unsigned char *)tok;
		list[n].size = len;
		n++;
	}
	if (n == 0) {
		ret = error_config(config, -EINVAL, "ALPN list has no protocol names");
		goto fail;
	}
	free(config->alpn);
	free(config->alpn_storage);
	config->alpn = list;
	config->alpn_storage = storage;
	config->n_alpn = n;
	return 0;
fail:
	free(list);
	free(storage);
	return ret;
}

KTLS_EXPORT int ktls_config_set_versions(struct ktls_config *config, int min_version,
					 int max_version)
{
	int ret = config_check_mutable(config);

	if (ret < 0)
		return ret;
	if ((min_version != KTLS_VERSION_TLS12 && min_version != KTLS_VERSION_TLS13) ||
	    (max_version != KTLS_VERSION_TLS12 && max_version != KTLS_VERSION_TLS13) ||
	    min_version > max_version)
		return error_config(config, -EINVAL,
				    "versions must be TLS 1.2 or 1.3 with min <= max (got 0x%04x..0x%04x)",
				    (unsigned int)min_version, (unsigned int)max_version);
	config->min_version = min_version;
	config->max_version = max_version;
	return 0;
}

KTLS_EXPORT int ktls_config_set_priority(struct ktls_config *config, const char *priority)
{
	gnutls_priority_t check;
	const char *where = NULL;
	char *copy;
	int ret = config_check_mutable(config);

	if (ret < 0)
		return ret;
	if (priority == NULL)
		return error_config(config, -EINVAL, "priority string is NULL");
	/* ":..." is appended to libktls's own: checked on top of GnuTLS's NORMAL. */
	ret = gnutls_priority_init2(&check, priority[0] == ':' ? priority + 1 : priority, &where,
				    priority[0] == ':' ? GNUTLS_PRIORITY_INIT_DEF_APPEND : 0);
	if (ret < 0)
		return error_config(config, -EINVAL, "bad GnuTLS priority string near \"%.40s\": %s",
				    where != NULL ? where : priority, gnutls_strerror(ret));
	gnutls_priority_deinit(check);
	copy = strdup(priority);
	if (copy == NULL)
		return -ENOMEM;
	free(config->priority_override);
	config->priority_override = copy;
	return 0;
}

KTLS_EXPORT int ktls_config_set_offload(struct ktls_config *config, enum ktls_dir dirs,
					enum ktls_offload policy)
{
	int ret = config_check_mutable(config);

	if (ret < 0)
		return ret;
	if ((dirs & ~KTLS_DIR_BOTH) != 0 || dirs == 0)
		return error_config(config, -EINVAL, "direction must be TX, RX or both");
	if (policy != KTLS_OFFLOAD_AUTO && policy != KTLS_OFFLOAD_REQUIRE &&
	    policy != KTLS_OFFLOAD_OFF)
		return error_config(config, -EINVAL, "unknown offload policy %d", (int)policy);
	if (dirs & KTLS_DIR_TX)
		config->offload_tx = policy;
	if (dirs & KTLS_DIR_RX)
		config->offload_rx = policy;
	return 0;
}

KTLS_EXPORT int ktls_config_set_keyupdate(struct ktls_config *config, enum ktls_keyupdate mode)
{
	if (config == NULL)
		return -EINVAL;
	if (config->frozen)
		return error_config(config, -EBUSY, "config is in use: the KeyUpdate mode is set "
						    "before the first connection");
	if (mode != KTLS_KEYUPDATE_OFFLOAD && mode != KTLS_KEYUPDATE_FOLLOW)
		return error_config(config, -EINVAL, "unknown KeyUpdate mode %d", (int)mode);
	config->keyupdate = mode;
	return 0;
}

KTLS_EXPORT int ktls_config_set_handshake_timeout(struct ktls_config *config, unsigned int ms)
{
	int ret = config_check_mutable(config);

	if (ret < 0)
		return ret;
	config->handshake_timeout_ms = ms;
	return 0;
}

/* GnuTLS priority names of the kernel-capable ciphers, in our preference order. */
static const char *const cipher_priority_names[CIPHER_COUNT] = {
	[KTLS_CIPHER_AES_128_GCM] = "AES-128-GCM",
	[KTLS_CIPHER_AES_256_GCM] = "AES-256-GCM",
	[KTLS_CIPHER_AES_128_CCM] = "AES-128-CCM",
	[KTLS_CIPHER_CHACHA20_POLY1305] = "CHACHA20-POLY1305",
};

/* A cipher is worth preferring when the kernel takes it for every direction
 * and version this config may need. */
static bool config_cipher_offloadable(const struct ktls_config *config,
				      const struct ktls_caps *caps, enum ktls_cipher cipher)
{
	for (int v = config->min_version; v <= config->max_version; v++) {
		if (config->offload_tx != KTLS_OFFLOAD_OFF &&
		    !probe_can_offload(caps, v, cipher, KTLS_DIR_TX))
			return false;
		if (config->offload_rx != KTLS_OFFLOAD_OFF &&
		    !probe_can_offload(caps, v, cipher, KTLS_DIR_RX))
			return false;
	}
	return true;
}

/*
 * The priority string decides whether offload is possible at all, so it is
 * built with the probe's answer: ciphers the kernel can carry come first (and
 * a server enforces its own order), so that a peer that has one gets one.
 * With REQUIRE, nothing else is offered, since it would fail after the
 * handshake anyway.
 */
static void config_build_priority(struct ktls_config *config, char *out, size_t size)
{
	const struct ktls_caps *caps = probe_get();
	bool any_offload = config->offload_tx != KTLS_OFFLOAD_OFF ||
			   config->offload_rx != KTLS_OFFLOAD_OFF;
	bool require = config->offload_tx == KTLS_OFFLOAD_REQUIRE ||
		       config->offload_rx == KTLS_OFFLOAD_REQUIRE;
	size_t len;

	len = (size_t)snprintf(out, size, "NORMAL:-VERS-ALL%s%s",
			       config->max_version >= KTLS_VERSION_TLS13 ? ":+VERS-TLS1.3" : "",
			       config->min_version <= KTLS_VERSION_TLS12 ? ":+VERS-TLS1.2" : "");
	if (any_offload && caps->ulp_available) {
		len += (size_t)snprintf(out + len, size - len, ":-CIPHER-ALL");
		for (int c = 0; c < CIPHER_COUNT; c++)
			if (config_cipher_offloadable(config, caps, c))
				len += (size_t)snprintf(out + len, size - len, ":+%s",
							cipher_priority_names[c]);
		if (!require) {
			for (int c = 0; c < CIPHER_COUNT; c++)
				if (!config_cipher_offloadable(config, caps, c))
					len += (size_t)snprintf(out + len, size - len, ":+%s",
								cipher_priority_names[c]);
			len += (size_t)snprintf(out + len, size - len,
						":+AES-256-CCM:+AES-256-CBC:+AES-128-CBC");
		}
	}
	/*
	 * TLS 1.2's static RSA key exchange has no forward secrecy: whoever gets
	 * the server's key later decrypts every recorded session.  Off unless
	 * asked for (ktls_config_set_priority(config, ":+RSA")).
	 */
	len += (size_t)snprintf(out + len, size - len, ":-RSA");
	/* Without certificates a server offers no certificate suite a TLS 1.2 client could pick. */
	if (config_has_psk(config) && config->role == KTLS_ROLE_SERVER && config->n_certs == 0)
		len += (size_t)snprintf(out + len, size - len, ":-KX-ALL:+ECDHE-PSK:+DHE-PSK");
	else if (config_has_psk(config))
		len += (size_t)snprintf(out + len, size - len, ":+ECDHE-PSK:+DHE-PSK");
	if (config->role == KTLS_ROLE_SERVER)
		snprintf(out + len, size - len, ":%%SERVER_PRECEDENCE");
}

static void config_free_group_variants(struct ktls_config *config)
{
	for (unsigned int i = 0; i < config->n_groups; i++)
		if (config->group_first[i] != NULL)
			gnutls_priority_deinit(config->group_first[i]);
	config->n_groups = 0;
}

/*
 * A server enforces its own order (%SERVER_PRECEDENCE), groups included, and
 * GnuTLS answers a TLS 1.3 ClientHello whose key shares miss its first
 * common group with a HelloRetryRequest: a round trip and a second key
 * exchange for a client (OpenSSL's default, curl, most browsers) that sent
 * an x25519 share when the order starts with P-256.  Any group in the
 * priority is acceptable, so handshake_choose_group() gives a session the
 * variant that starts with the best group the client already has a share
 * for.  Built once here, shared read-only by every session.
 */
static int config_build_group_variants(struct ktls_config *config)
{
	const unsigned int *list;
	int n = gnutls_priority_group_list(config->priority, &list);

	if (config->role != KTLS_ROLE_SERVER || n <= 1)
		return 0;
	if (n > CONFIG_GROUPS_MAX)
		n = CONFIG_GROUPS_MAX;
	for (int i = 0; i < n; i++)
		config->groups[i] = (gnutls_group_t)list[i];
	config->n_groups = (unsigned int)n;
	for (int i = 1; i < n; i++) {
		char text[sizeof(config->priority_text) + 16 * CONFIG_GROUPS_MAX + 16];
		size_t len = (size_t)snprintf(text, sizeof(text), "%s:-GROUP-ALL:+GROUP-%s",
					      config->priority_text,
					      gnutls_group_get_name(config->groups[i]));
		int ret;

		for (int j = 0; j < n; j++)
			if (j != i)
				len += (size_t)snprintf(text + len, sizeof(text) - len, ":+GROUP-%s",
							gnutls_group_get_name(config->groups[j]));
		ret = gnutls_priority_init2(&config->group_first[i], text, NULL, 0);
		if (ret < 0) {
			config->group_first[i] = NULL;
			config_free_group_variants(config);
			return error_config(config, -EINVAL, "priority \"%s\": %s", text,
					    gnutls_strerror(ret));
		}
	}
	return 0;
}

/* GnuTLS asks for the key of a PSK identity a client offered. */
static int config_psk_lookup(gnutls_session_t session, const gnutls_datum_t *identity,
			     gnutls_datum_t *key)
{
	struct ktls_conn *conn = gnutls_session_get_ptr(session);
	const struct config_psk *psk;

	psk = config_find_psk(conn->config, (const char *)identity->data, identity->size);
	if (psk == NULL && conn->config->psk_lookup_fn != NULL) {
		unsigned char found[PSK_KEY_MAX];
		int len = conn->config->psk_lookup_fn(conn, identity->data, identity->size, found,
						      conn->config->psk_lookup_userdata);

		if (len >= PSK_KEY_MIN && len <= PSK_KEY_MAX)
			key->data = gnutls_malloc((size_t)len);
		if (len >= PSK_KEY_MIN && len <= PSK_KEY_MAX && key->data != NULL) {
			memcpy(key->data, found, (size_t)len);
			key->size = (unsigned int)len;
		}
		explicit_bzero(found, sizeof(found));
		if (len >= 0 && (len < PSK_KEY_MIN || len > PSK_KEY_MAX))
			error_log(conn->config, KTLS_LOG_ERROR,
				  "the PSK lookup returned a %d-byte key (%d..%d allowed)", len,
				  PSK_KEY_MIN, PSK_KEY_MAX);
		if (len >= PSK_KEY_MIN && len <= PSK_KEY_MAX && key->data != NULL)
			return 0;
	}
	if (psk == NULL) {
		/* Kept so the handshake failure can name it. */
		handshake_note_unknown_psk(conn, identity->data, identity->size);
		return -1;
	}
	key->data = gnutls_malloc(psk->key_len);
	if (key->data == NULL)
		return -1;
	memcpy(key->data, psk->key, psk->key_len);
	key->size = psk->key_len;
	return 0;
}

static int config_build_psk(struct ktls_config *config)
{
	int ret;

	if (!config_has_psk(config))
		return 0;
	if (config->role == KTLS_ROLE_CLIENT) {
		gnutls_datum_t key = { config->psks[0].key, config->psks[0].key_len };

		ret = gnutls_psk_allocate_client_credentials(&config->psk_client);
		if (ret < 0)
			return -ENOMEM;
		ret = gnutls_psk_set_client_credentials(config->psk_client,
							config->psks[0].identity, &key,
							GNUTLS_PSK_KEY_RAW);
	} else {
		ret = gnutls_psk_allocate_server_credentials(&config->psk_server);
		if (ret < 0)
			return -ENOMEM;
		gnutls_psk_set_server_credentials_function2(config->psk_server, config_psk_lookup);
	}
	if (ret < 0)
		return error_config(config, error_from_gnutls(ret), "PSK credentials: %s",
				    gnutls_strerror(ret));
	return 0;
}

/*
 * What only a handshake of our own needs: an adopted session brings its own
 * credentials, so its config may have none.  Called with the lock held.
 */
static int config_ready_for_handshake(struct ktls_config *config)
{
	int ret;

	if (config->role == KTLS_ROLE_CLIENT && config->verify_chain && !config->trust_loaded &&
	    config->n_psks == 0) {
		ret = gnutls_certificate_set_x509_system_trust(config->certs);
		if (ret < 0)
			return error_config(config, -ENOENT, "cannot load the system trust store: %s",
					    gnutls_strerror(ret));
		config->trust_loaded = true;
	}
	if (config->role == KTLS_ROLE_SERVER && config->n_certs == 0 && !config_has_psk(config))
		return error_config(config, -EINVAL,
				    "a server needs a certificate or a PSK before its first connection");
	return 0;
}

int config_freeze(struct ktls_config *config, bool for_handshake)
{
	const char *where = NULL;
	int ret = 0;

	pthread_mutex_lock(&config->freeze_lock);
	if (for_handshake) {
		ret = config_ready_for_handshake(config);
		if (ret < 0)
			goto out;
	}
	if (config->frozen)
		goto out;

	ret = config_build_psk(config);
	if (ret < 0)
		goto out;

	if (config->priority_override != NULL && config->priority_override[0] != ':') {
		snprintf(config->priority_text, sizeof(config->priority_text), "%s",
			 config->priority_override);
	} else {
		config_build_priority(config, config->priority_text, sizeof(config->priority_text));
		if (config->priority_override != NULL &&
		    strlen(config->priority_text) + strlen(config->priority_override) >=
			    sizeof(config->priority_text)) {
			ret = error_config(config, -EINVAL, "priority string too long");
			goto out;
		}
		if (config->priority_override != NULL)
			strcat(config->priority_text, config->priority_override);
	}
	ret = gnutls_priority_init2(&config->priority, config->priority_text, &where, 0);
	if (ret < 0) {
		ret = error_config(config, -EINVAL, "priority \"%s\" rejected near \"%.40s\": %s",
				   config->priority_text, where != NULL ? where : "",
				   gnutls_strerror(ret));
		goto out;
	}
	error_log(config, KTLS_LOG_DEBUG, "priority: %s", config->priority_text);
	ret = config_build_group_variants(config);
	if (ret == 0)
		ret = resume_config_freeze(config);
	if (ret < 0) {
		config_free_group_variants(config);
		gnutls_priority_deinit(config->priority);
		config->priority = NULL;
		goto out;
	}
	config->frozen = true;
	ret = 0;
out:
	pthread_mutex_unlock(&config->freeze_lock);
	return ret;
}
