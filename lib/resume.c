/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Session resumption (RFC 8446 section 2.2, RFC 5246 section 7.3,
 * RFC 5077): the server's ticket key and TLS 1.2 session-ID cache, the
 * client's session store (memory, optionally a file), and saving tickets
 * that arrive after the kernel took the keys.
 *
 * Ticket keys rotate by themselves: GnuTLS derives the key in use from the
 * 64-byte master key and the time, changing it every 3 x the session
 * lifetime and still accepting the previous one.  Servers (threads or
 * processes) given the same master key therefore issue and accept the same
 * tickets, and rotate together, with no coordination.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/crypto.h>

#include "private.h"

#define SESSION_FILE_MAGIC "ktls-sessions 1"
/* Our prefix on a stored client session: which version it resumes. */
#define STORED_TLS12 0x03
#define STORED_TLS13 0x04

/* ---- server: TLS 1.2 session-ID cache, through GnuTLS's db hooks ---------- */

static int resume_db_store(void *ptr, gnutls_datum_t key, gnutls_datum_t data)
{
	struct ktls_config *config = ptr;

	return session_cache_put(&config->sessions, key.data, key.size, data.data, data.size,
				 time(NULL) + config->session_lifetime_s) < 0
		       ? -1
		       : 0;
}

static gnutls_datum_t resume_db_retrieve(void *ptr, gnutls_datum_t key)
{
	struct ktls_config *config = ptr;
	gnutls_datum_t out = { NULL, 0 };
	unsigned char *data;
	size_t len;

	if (session_cache_get(&config->sessions, key.data, key.size, false, &data, &len, NULL) < 0)
		return out;
	/* GnuTLS frees what it is given with gnutls_free. */
	out.data = gnutls_malloc(len);
	if (out.data != NULL) {
		memcpy(out.data, data, len);
		out.size = (unsigned int)len;
	}
	explicit_bzero(data, len);
	free(data);
	return out;
}

static int resume_db_remove(void *ptr, gnutls_datum_t key)
{
	struct ktls_config *config = ptr;

	return session_cache_remove(&config->sessions, key.data, key.size) < 0 ? -1 : 0;
}

/* ---- client: the session store file -------------------------------------- */

struct resume_file_writer {
	FILE *f;
	int error;
};

static int resume_write_entry(const struct session_entry *e, void *userdata)
{
	struct resume_file_writer *w = userdata;
	gnutls_datum_t raw = { e->data, (unsigned int)e->data_len };
	gnutls_datum_t b64 = { NULL, 0 };

	if (gnutls_base64_encode2(&raw, &b64) < 0) {
		w->error = -ENOMEM;
		return w->error;
	}
	if (fprintf(w->f, "%.*s %lld %.*s\n", (int)e->key_len, (const char *)e->key,
		    (long long)e->expires, (int)b64.size, (const char *)b64.data) < 0)
		w->error = -EIO;
	gnutls_free(b64.data);
	return w->error;
}

/*
 * Replace the file with the store's live entries: written to a temporary
 * file created 0600 (the entries are resumption secrets), then renamed, so
 * a reader never sees half a file.
 */
static int resume_file_save(struct ktls_config *config)
{
	const char *path = config->session_file;
	size_t n = strlen(path) + sizeof(".XXXXXX");
	struct resume_file_writer w = { NULL, 0 };
	char *tmp = malloc(n);
	int fd;

	if (tmp == NULL)
		return -ENOMEM;
	snprintf(tmp, n, "%s.XXXXXX", path);
	fd = mkstemp(tmp); /* mode 0600 */
	if (fd < 0) {
		int err = -errno;

		error_log(config, KTLS_LOG_ERROR, "session file %s: cannot write: %s", path,
			  strerror(errno));
		free(tmp);
		return err;
	}
	w.f = fdopen(fd, "w");
	if (w.f == NULL) {
		close(fd);
		w.error = -ENOMEM;
	} else {
		fprintf(w.f, "%s\n", SESSION_FILE_MAGIC);
		session_cache_walk(&config->sessions, resume_write_entry, &w);
		if (fclose(w.f) != 0 && w.error == 0)
			w.error = -EIO;
	}
	if (w.error == 0 && rename(tmp, path) < 0)
		w.error = -errno;
	if (w.error < 0) {
		unlink(tmp);
		error_log(config, KTLS_LOG_ERROR, "session file %s: not saved: %s", path,
			  strerror(-w.error));
	}
	free(tmp);
	return w.error;
}

/*
 * Load the entries of a session file.  A missing file is an empty store;
 * lines that do not parse (or have expired) are skipped, so a damaged file
 * costs a full handshake, never a failure.
 */
static int resume_file_load(struct ktls_config *config)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	FILE *f = fopen(config->session_file, "re");
	struct stat st;

	if (f == NULL)
		return errno == ENOENT ? 0
				       : error_config(config, -errno, "session file %s: %s",
						      config->session_file, strerror(errno));
	/* Someone else's readable copy of our secrets is not something to trust. */
	if (fstat(fileno(f), &st) == 0 && (st.st_mode & 077) != 0) {
		fclose(f);
		return error_config(config, -EPERM,
				    "session file %s is readable by others (mode %03o); it holds "
				    "resumption secrets and must be 0600",
				    config->session_file, st.st_mode & 0777);
	}
	len = getline(&line, &cap, f);
	if (len < 0 || strncmp(line, SESSION_FILE_MAGIC, strlen(SESSION_FILE_MAGIC)) != 0) {
		fclose(f);
		free(line);
		return len < 0 ? 0
			       : error_config(config, -EINVAL, "%s is not a libktls session file",
					      config->session_file);
	}
	while ((len = getline(&line, &cap, f)) > 0) {
		char key[SESSION_KEY_MAX + 1], *b64;
		long long expires;
		int key_len;
		gnutls_datum_t in, raw = { NULL, 0 };

		if (sscanf(line, "%272s %lld %n", key, &expires, &key_len) != 2)
			continue;
		b64 = line + key_len;
		b64[strcspn(b64, "\n")] = '\0';
		in.data = (unsigned char *)b64;
		in.size = (unsigned int)strlen(b64);
		if (gnutls_base64_decode2(&in, &raw) < 0)
			continue;
		session_cache_put(&config->sessions, key, strlen(key), raw.data, raw.size,
				  (time_t)expires);
		explicit_bzero(raw.data, raw.size);
		gnutls_free(raw.data);
	}
	if (line != NULL) {
		explicit_bzero(line, cap);
		free(line);
	}
	fclose(f);
	return 0;
}

/* ---- config ------------------------------------------------------------ */

int resume_config_freeze(struct ktls_config *config)
{
	int ret;

	if (config->resume_mechanisms == 0)
		return 0;
	if (config->role == KTLS_ROLE_SERVER && (config->resume_mechanisms & KTLS_RESUME_TICKETS) &&
	    !config->ticket_key_set) {
		/* Private to this config: share one with ktls_config_set_ticket_key. */
		ret = gnutls_rnd(GNUTLS_RND_KEY, config->ticket_key, sizeof(config->ticket_key));
		if (ret < 0)
			return error_config(config, -EIO, "ticket key: %s", gnutls_strerror(ret));
		config->ticket_key_set = true;
	}
	/* Servers cache TLS 1.2 session IDs; clients keep what they can resume. */
	if (config->role == KTLS_ROLE_CLIENT || (config->resume_mechanisms & KTLS_RESUME_SESSION_ID)) {
		ret = session_cache_init(&config->sessions, config->session_max_entries);
		if (ret < 0)
			return error_config(config, ret, "out of memory");
	}
	if (config->role == KTLS_ROLE_CLIENT && config->session_file != NULL)
		return resume_file_load(config);
	return 0;
}

void resume_config_free(struct ktls_config *config)
{
	session_cache_destroy(&config->sessions);
	explicit_bzero(config->ticket_key, sizeof(config->ticket_key));
	free(config->session_file);
}

unsigned int resume_init_flags(const struct ktls_config *config)
{
	if (!(config->resume_mechanisms & KTLS_RESUME_TICKETS))
		return GNUTLS_NO_TICKETS;
	/* A server's TLS 1.3 tickets wait for the client's Finished (resume_send_tickets). */
	return config->role == KTLS_ROLE_SERVER ? GNUTLS_NO_AUTO_SEND_TICKET : 0;
}

/*
 * GnuTLS would send a TLS 1.3 server's NewSessionTickets in its first
 * flight, right after its Finished.  A client that sends its request
 * without TCP_NODELAY then holds it (Nagle) until that flight's last
 * segment is acknowledged, and the server's TCP delays the ACK since it has
 * nothing to say: about 40 ms on every new connection.  Sent after the
 * client's Finished they also carry that ACK, as OpenSSL's server does, and
 * a client that fails the handshake gets no ticket.
 */
bool resume_wants_tickets(const struct ktls_conn *conn)
{
	return conn->config->role == KTLS_ROLE_CLIENT && conn->sw.version == KTLS_VERSION_TLS13 &&
	       (conn->config->resume_mechanisms & KTLS_RESUME_TICKETS) != 0;
}

int resume_send_tickets(struct ktls_conn *conn)
{
	int ret;

	if (conn->config->role != KTLS_ROLE_SERVER ||
	    !(conn->config->resume_mechanisms & KTLS_RESUME_TICKETS) || conn->rs.tickets_sent ||
	    gnutls_protocol_get_version(conn->session) != GNUTLS_TLS1_3)
		return 0;
	/* A resumed client used one ticket: one replaces it. */
	ret = gnutls_session_ticket_send(conn->session,
					 gnutls_session_is_resumed(conn->session) ? 1
										  : RESUME_TLS13_TICKETS,
					 0);
	if (ret == GNUTLS_E_AGAIN || ret == GNUTLS_E_INTERRUPTED)
		return -EAGAIN; /* called again with the same arguments, as GnuTLS wants */
	conn->rs.tickets_sent = true;
	if (ret < 0)
		return error_conn(conn, error_from_gnutls(ret), "session ticket: %s",
				  gnutls_strerror(ret));
	return 0;
}

/* ---- per session ------------------------------------------------------- */

int resume_session_init(struct ktls_conn *conn)
{
	struct ktls_config *config = conn->config;
	int ret;

	if (config->resume_mechanisms == 0)
		return 0;
	gnutls_db_set_cache_expiration(conn->session, (int)config->session_lifetime_s);
	if (config->role != KTLS_ROLE_SERVER)
		return 0;
	if (config->resume_mechanisms & KTLS_RESUME_TICKETS) {
		gnutls_datum_t key = { config->ticket_key, sizeof(config->ticket_key) };

		ret = gnutls_session_ticket_enable_server(conn->session, &key);
		if (ret < 0)
			return error_conn(conn, error_from_gnutls(ret), "session tickets: %s",
					  gnutls_strerror(ret));
	}
	if (config->resume_mechanisms & KTLS_RESUME_SESSION_ID) {
		gnutls_db_set_retrieve_function(conn->session, resume_db_retrieve);
		gnutls_db_set_remove_function(conn->session, resume_db_remove);
		gnutls_db_set_store_function(conn->session, resume_db_store);
		gnutls_db_set_ptr(conn->session, config);
	}
	return 0;
}

/*
 * The store's key for this connection: the server name (or the peer's
 * address when none was set) and the port, as "name/port".
 */
static int resume_client_key(struct ktls_conn *conn)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char addr[INET6_ADDRSTRLEN] = "?", key[SESSION_KEY_MAX + 1];
	unsigned int port = 0;

	if (getpeername(conn->fd, (struct sockaddr *)&ss, &sl) == 0) {
		if (ss.ss_family == AF_INET) {
			const struct sockaddr_in *sin = (const struct sockaddr_in *)&ss;

			inet_ntop(AF_INET, &sin->sin_addr, addr, sizeof(addr));
			port = ntohs(sin->sin_port);
		} else if (ss.ss_family == AF_INET6) {
			const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&ss;

			inet_ntop(AF_INET6, &sin6->sin6_addr, addr, sizeof(addr));
			port = ntohs(sin6->sin6_port);
		}
	}
	snprintf(key, sizeof(key), "%s/%u",
		 conn->hs.server_name != NULL ? conn->hs.server_name : addr, port);
	/* Clients only, so a server's connections do not carry the room for it. */
	free(conn->rs.key);
	conn->rs.key = strdup(key);
	return conn->rs.key != NULL ? 0 : -ENOMEM;
}

void resume_conn_free(struct ktls_conn *conn)
{
	free(conn->rs.key);
	conn->rs.key = NULL;
}

int resume_client_prepare(struct ktls_conn *conn)
{
	struct ktls_config *config = conn->config;
	unsigned char *data;
	size_t len;
	int ret;

	if (config->resume_mechanisms == 0)
		return 0;
	if (resume_client_key(conn) < 0)
		return 0; /* no memory for the key: a full handshake, nothing stored */
	if (session_cache_get(&config->sessions, conn->rs.key, strlen(conn->rs.key), false,
			      &data, &len, NULL) < 0)
		return 0;
	/*
	 * A TLS 1.3 ticket is used once (RFC 8446 section C.4: reuse would let
	 * observers link the connections); the server sends fresh ones.  A
	 * TLS 1.2 session stays until it expires.
	 */
	if (data[0] == STORED_TLS13)
		session_cache_remove(&config->sessions, conn->rs.key, strlen(conn->rs.key));
	gnutls_datum_t d = { data + 1, (unsigned int)(len - 1) };

	ret = gnutls_session_set_data(conn->session, d.data, d.size);
	explicit_bzero(data, len);
	free(data);
	/* A stale or foreign session only costs a full handshake. */
	if (ret < 0)
		error_log(config, KTLS_LOG_DEBUG, "stored session for %s not usable: %s",
			  conn->rs.key, gnutls_strerror(ret));
	else
		error_log(config, KTLS_LOG_DEBUG, "offering stored session for %s", conn->rs.key);
	return 0;
}

void resume_client_save(struct ktls_conn *conn)
{
	struct ktls_config *config = conn->config;
	gnutls_datum_t d = { NULL, 0 };
	unsigned char *blob;
	int ret;

	conn->rs.ticket_unsaved = false;
	if (config->role != KTLS_ROLE_CLIENT || config->resume_mechanisms == 0 ||
	    conn->rs.key == NULL)
		return;
	/*
	 * For TLS 1.3 only a received ticket resumes; without one GnuTLS
	 * would wait for it on the socket, which may belong to the kernel.
	 */
	if (conn->sw.version == KTLS_VERSION_TLS13 && !conn->rs.ticket_seen)
		return;
	ret = gnutls_session_get_data2(conn->session, &d);
	if (ret < 0 || d.size == 0) {
		error_log(config, KTLS_LOG_DEBUG, "no resumable session for %s: %s",
			  conn->rs.key, ret < 0 ? gnutls_strerror(ret) : "empty");
		return;
	}
	blob = malloc(d.size + 1);
	if (blob != NULL) {
		blob[0] = conn->sw.version == KTLS_VERSION_TLS13 ? STORED_TLS13 : STORED_TLS12;
		memcpy(blob + 1, d.data, d.size);
		if (session_cache_put(&config->sessions, conn->rs.key, strlen(conn->rs.key),
				      blob, d.size + 1,
				      time(NULL) + config->session_lifetime_s) == 0) {
			error_log(config, KTLS_LOG_DEBUG, "stored session for %s", conn->rs.key);
			if (config->session_file != NULL)
				resume_file_save(config);
		}
		explicit_bzero(blob, d.size + 1);
		free(blob);
	}
	explicit_bzero(d.data, d.size);
	gnutls_free(d.data);
}

/* ---- public ------------------------------------------------------------- */

KTLS_EXPORT int ktls_config_set_resumption(struct ktls_config *config, unsigned int mechanisms,
					   unsigned int lifetime_s, unsigned int max_entries)
{
	if (config == NULL)
		return -EINVAL;
	if (config->frozen)
		return error_config(config, -EBUSY, "config is in use: resumption is set before the "
						    "first connection");
	if (mechanisms & ~(KTLS_RESUME_TICKETS | KTLS_RESUME_SESSION_ID))
		return error_config(config, -EINVAL, "unknown resumption mechanism 0x%x", mechanisms);
	/* RFC 8446 section 4.6.1: a ticket lives at most seven days. */
	if (lifetime_s > 604800)
		return error_config(config, -EINVAL,
				    "session lifetime %u s is over the 7 days TLS 1.3 allows",
				    lifetime_s);
	if (max_entries > 1000000)
		return error_config(config, -EINVAL, "session cache of %u entries is too large",
				    max_entries);
	config->resume_mechanisms = mechanisms;
	if (lifetime_s > 0)
		config->session_lifetime_s = lifetime_s;
	if (max_entries > 0)
		config->session_max_entries = max_entries;
	return 0;
}

KTLS_EXPORT int ktls_config_set_ticket_key(struct ktls_config *config, const void *key, size_t len)
{
	if (config == NULL)
		return -EINVAL;
	if (config->frozen)
		return error_config(config, -EBUSY, "config is in use: the ticket key is set before "
						    "the first connection");
	if (config->role != KTLS_ROLE_SERVER)
		return error_config(config, -EINVAL, "only a server has a ticket key");
	if (key == NULL || len != KTLS_TICKET_KEY_SIZE)
		return error_config(config, -EINVAL, "a ticket key is %d bytes, not %zu",
				    KTLS_TICKET_KEY_SIZE, key == NULL ? 0 : len);
	memcpy(config->ticket_key, key, len);
	config->ticket_key_set = true;
	return 0;
}

KTLS_EXPORT int ktls_ticket_key_generate(void *buf, size_t len)
{
	if (buf == NULL || len != KTLS_TICKET_KEY_SIZE)
		return -EINVAL;
	return gnutls_rnd(GNUTLS_RND_KEY, buf, len) < 0 ? -EIO : 0;
}

KTLS_EXPORT int ktls_config_set_session_file(struct ktls_config *config, const char *path)
{
	char *copy;

	if (config == NULL)
		return -EINVAL;
	if (config->frozen)
		return error_config(config, -EBUSY, "config is in use: the session file is set "
						    "before the first connection");
	if (config->role != KTLS_ROLE_CLIENT)
		return error_config(config, -EINVAL, "the session file is a client's store");
	if (path == NULL || path[0] == '\0')
		return error_config(config, -EINVAL, "session file path is empty");
	copy = strdup(path);
	if (copy == NULL)
		return -ENOMEM;
	free(config->session_file);
	config->session_file = copy;
	return 0;
}

void resume_ticket_arrived(struct ktls_conn *conn, bool after_switch)
{
	conn->rs.ticket_seen = true;
	conn->rs.ticket_unsaved = true;
	conn->rs.tickets++;
	if (after_switch)
		conn->rs.tickets_after_switch++;
}

void resume_save_pending(struct ktls_conn *conn)
{
	if (conn->rs.ticket_unsaved)
		resume_client_save(conn);
}
