/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Errors and logging: every failure gets a negative errno for code and one
 * sentence for people.
 *
 * A connection's sentence belongs to the last call that failed: each
 * exported call (and each completion the io_uring engine handles) starts
 * with error_conn_begin(), and within it the first failure is kept, because
 * later ones are usually its consequences.  A call that returns a failure
 * the connection already had (a receive after the stream ended) writes
 * nothing and leaves that failure's sentence.
 *
 * A config is shared by threads, so its sentence is kept per thread, as
 * dlerror(3) keeps its own: ktls_config_error() answers for the calling
 * thread's last failed call on that config, in one buffer per thread.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "private.h"

void error_conn_begin(struct ktls_conn *conn)
{
	conn->error_fresh = true;
}

int error_conn(struct ktls_conn *conn, int err, const char *fmt, ...)
{
	va_list ap;

	if (!conn->error_fresh && conn->error[0] != '\0')
		return err;
	conn->error_fresh = false;
	va_start(ap, fmt);
	vsnprintf(conn->error, sizeof(conn->error), fmt, ap);
	va_end(ap);
	error_log(conn->config, KTLS_LOG_ERROR, "%s", conn->error);
	return err;
}

int error_conn_send(struct ktls_conn *conn, const char *what, int err)
{
	/*
	 * A peer that has gone shows as ECONNRESET (its reset) or EPIPE (any
	 * later write), by timing and by path (the kernel's TLS layer or
	 * GnuTLS's writes): one errno for one event.
	 */
	if (err == EPIPE || err == ECONNRESET)
		return error_conn(conn, -EPIPE, "%s: the peer has closed the connection (%s)", what,
				  strerror(err));
	return error_conn(conn, -err, "%s: %s", what, strerror(err));
}

/* This thread's last failure on a config: which config, its sentence, and whether a call is under way. */
static __thread struct {
	const struct ktls_config *config;
	bool fresh;
	char text[ERROR_TEXT_MAX];
} error_config_last;

void error_config_begin(const struct ktls_config *config)
{
	if (error_config_last.config == config)
		error_config_last.fresh = true;
}

int error_config(struct ktls_config *config, int err, const char *fmt, ...)
{
	va_list ap;

	if (error_config_last.config == config && !error_config_last.fresh)
		return err;
	error_config_last.config = config;
	error_config_last.fresh = false;
	va_start(ap, fmt);
	vsnprintf(error_config_last.text, sizeof(error_config_last.text), fmt, ap);
	va_end(ap);
	return err;
}

const char *error_config_text(const struct ktls_config *config)
{
	/* One buffer per thread: asking about another config starts it afresh, empty. */
	if (error_config_last.config != config) {
		error_config_last.config = config;
		error_config_last.fresh = true;
		error_config_last.text[0] = '\0';
	}
	return error_config_last.text;
}

void error_config_forget(const struct ktls_config *config)
{
	if (error_config_last.config == config) {
		error_config_last.config = NULL;
		error_config_last.text[0] = '\0';
	}
}

void error_log(const struct ktls_config *config, enum ktls_log_level level, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	if (config == NULL || config->log_fn == NULL || level > config->log_level)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	config->log_fn(level, line, config->log_userdata);
}

const char *error_alert_text(gnutls_alert_description_t alert, char *buf, size_t size)
{
	const char *sym = gnutls_alert_get_strname(alert);
	const char *words = gnutls_alert_get_name(alert);
	char rfc[64] = "unknown_alert";
	size_t i;

	/* GnuTLS spells them GNUTLS_A_HANDSHAKE_FAILURE; RFC 8446 handshake_failure. */
	if (sym != NULL && strncmp(sym, "GNUTLS_A_", 9) == 0) {
		for (i = 0; sym[9 + i] != '\0' && i + 1 < sizeof(rfc); i++)
			rfc[i] = (char)tolower((unsigned char)sym[9 + i]);
		rfc[i] = '\0';
	}
	snprintf(buf, size, "%s (%d): %s", rfc, (int)alert, words != NULL ? words : "unknown");
	return buf;
}

int error_from_gnutls(int gnutls_err)
{
	switch (gnutls_err) {
	case GNUTLS_E_SUCCESS:
		return 0;
	case GNUTLS_E_AGAIN:
		return -EAGAIN;
	case GNUTLS_E_INTERRUPTED:
		return -EINTR;
	case GNUTLS_E_MEMORY_ERROR:
		return -ENOMEM;
	case GNUTLS_E_TIMEDOUT:
		return -ETIMEDOUT;
	case GNUTLS_E_PREMATURE_TERMINATION:
	case GNUTLS_E_PULL_ERROR:
	case GNUTLS_E_PUSH_ERROR:
		return -ECONNRESET;
	case GNUTLS_E_FATAL_ALERT_RECEIVED:
		return -ECONNABORTED;
	case GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR:
	case GNUTLS_E_CERTIFICATE_ERROR:
	case GNUTLS_E_NO_CERTIFICATE_FOUND:
	case GNUTLS_E_CERTIFICATE_REQUIRED:
	case GNUTLS_E_EXPIRED:
	case GNUTLS_E_PK_SIG_VERIFY_FAILED:
		return -EACCES;
	case GNUTLS_E_NO_CIPHER_SUITES:
	case GNUTLS_E_UNKNOWN_CIPHER_SUITE:
	case GNUTLS_E_UNSUPPORTED_VERSION_PACKET:
	case GNUTLS_E_NO_COMMON_KEY_SHARE:
	case GNUTLS_E_NO_PRIORITIES_WERE_SET:
	case GNUTLS_E_INSUFFICIENT_CREDENTIALS:
	case GNUTLS_E_UNWANTED_ALGORITHM:
	case GNUTLS_E_NO_APPLICATION_PROTOCOL:
		return -EPROTONOSUPPORT;
	case GNUTLS_E_DECRYPTION_FAILED:
		return -EBADMSG;
	default:
		return -EPROTO;
	}
}

int error_buf(char *errbuf, size_t errlen, int err, const char *fmt, ...)
{
	va_list ap;

	/* The first failure is the one kept: later ones are consequences. */
	if (errbuf == NULL || errlen == 0 || errbuf[0] != '\0')
		return err;
	va_start(ap, fmt);
	vsnprintf(errbuf, errlen, fmt, ap);
	va_end(ap);
	return err;
}
